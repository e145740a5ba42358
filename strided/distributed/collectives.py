"""Collectives on strided Tensors, named and shaped as torch.distributed's.

NOTE [ Tensors to MPI buffers ]
MPI reads and writes plain memory.  A contiguous tensor is handed to MPI as a NumPy array
over its own storage (Tensor.numpy() shares memory), so nothing is copied: MPI reduces into
the tensor's memory in place.  A non-contiguous tensor (a transposed, sliced, negatively
strided or expanded view) is packed into a contiguous copy with strided's copy kernel
(.contiguous()), and results are unpacked back through copy_, so every layout works and the
written tensor's other views see the result.  Tensors that are written (all_reduce's tensor,
broadcast on the receivers, the outputs of all_gather, reduce_scatter and recv) must not be
views in which two elements share memory (an expand), nor read-only: both are refused with
the core's messages before any rank communicates.

NOTE [ Collectives agree before they run ]
MPI itself does not check that ranks pass matching buffers: a wrong dtype or shape on one
rank reads garbage or truncates.  Each collective here first all-reduces two integers, the
largest and the smallest hash of every rank's (dtype, shape); when they differ, every rank
gathers the (dtype, shape) list and raises the same RuntimeError naming two ranks that
differ, and the tensors are never sent.  Because all ranks see the same result, they all
raise together and none is left waiting.  The data-parallel wrapper's bucket all-reduces
skip this (it checks its parameters once, at construction).
"""
from __future__ import annotations
import hashlib
from typing import Any, Sequence

import numpy as np

from strided._C.core.tensor import Tensor
from strided.distributed.process_group import ReduceOp, Work, _group


# ---- checks --------------------------------------------------------------------------------

def _check_tensor(t: Any, param: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type "
                        f"strided.Tensor but got {type(t)} instead.")
    return t


def _describe(meta: tuple[str, tuple[int, ...]]) -> str:
    return f"{meta[0]} {list(meta[1])}"


def _meta(t: Tensor) -> tuple[str, tuple[int, ...]]:
    return (t.dtype.name, tuple(t.shape))


def _check_writable(t: Tensor, fn: str) -> None:
    """Refuse outputs that are read-only or have internally overlapping elements
    (NOTE [ Tensors to MPI buffers ]), before anything is sent."""
    if t.is_contiguous() or t.numel() <= 1:
        if t.numel() > 0 and not t.detach().numpy().flags.writeable:
            t.detach().copy_(t.detach())         # raises the core's read-only message
        return
    sizes, strides = tuple(t.shape), t.stride()
    if any(st == 0 and sz > 1 for sz, st in zip(sizes, strides)) or _overlaps(sizes, strides):
        raise RuntimeError(f"{fn}: unsupported operation: more than one element of the "
                           f"written-to tensor refers to a single memory location. Please "
                           f"clone() the tensor before performing the operation.")
    if not t.detach().numpy().flags.writeable:
        t.detach().copy_(t.detach())


def _overlaps(sizes: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether two elements of the layout share an address: a quick sorted-stride test, then
    the exact answer from the addresses themselves when the quick test cannot tell."""
    dims = sorted((abs(st), sz) for sz, st in zip(sizes, strides) if sz > 1)
    reach = 0
    for st, sz in dims:
        if st <= reach:
            break
        reach += (sz - 1) * st
    else:
        return False
    offsets = np.zeros(1, dtype=np.int64)
    for sz, st in zip(sizes, strides):
        offsets = (offsets[:, None] + np.arange(sz, dtype=np.int64)[None, :] * st).ravel()
    return np.unique(offsets).size != offsets.size


def _agree(g, fn: str, local: Any, expect: Any = None, root: int | None = None) -> None:
    """Gather every rank's metadata and raise (on every rank) unless they agree
    (NOTE [ Collectives agree before they run ])."""
    digest = int.from_bytes(hashlib.blake2b(repr(local).encode(), digest_size=7).digest(),
                            "little")
    both = np.array([digest, -digest], dtype=np.int64)
    g.comm.Allreduce(g.MPI.IN_PLACE, both, g.MPI.MAX)      # the largest and the smallest
    if both[0] == digest and -both[1] == digest:
        return
    everyone = g.comm.allgather(local)                     # they differ: say how
    want = everyone[root] if root is not None else everyone[0]
    bad = [r for r, m in enumerate(everyone) if m != want]
    if bad:
        ref = root if root is not None else 0
        what = expect or "a tensor of the same dtype and shape"
        raise RuntimeError(
            f"{fn}: every rank must pass {what}, but rank {ref} has "
            f"{_describe_any(want)} and rank {bad[0]} has {_describe_any(everyone[bad[0]])}")


def _describe_any(m: Any) -> str:
    if isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], str):
        return _describe(m)
    return repr(m)


def _check_rank(r: Any, size: int, what: str) -> int:
    if not isinstance(r, int) or isinstance(r, bool) or not 0 <= r < size:
        raise ValueError(f"Invalid {what} rank {r!r}: expected an int in [0, {size})")
    return r


# ---- buffers -------------------------------------------------------------------------------

def _as_array(t: Tensor) -> np.ndarray:
    """A NumPy array over a contiguous tensor's memory (no copy), flattened."""
    return t.detach().numpy().reshape(-1)


def _packed(t: Tensor) -> tuple[np.ndarray, Tensor | None]:
    """(array, staging): the tensor's own memory when contiguous (staging None), else a
    contiguous copy through strided's copy kernel (NOTE [ Tensors to MPI buffers ])."""
    if t.is_contiguous():
        return _as_array(t), None
    staging = t.detach().contiguous()
    return _as_array(staging), staging


def _mpi_op(g, op: Any, dtype_name: str, fn: str):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{fn}: op must be a strided.distributed.ReduceOp, got {op!r}")
    MPI = g.MPI
    if dtype_name == "bool":
        if op is ReduceOp.AVG:
            raise ValueError(f"{fn}: ReduceOp.AVG needs a floating point tensor, got bool")
        return MPI.LOR if op in (ReduceOp.SUM, ReduceOp.MAX) else MPI.LAND
    if op is ReduceOp.AVG and dtype_name not in ("float32", "float64"):
        raise ValueError(f"{fn}: ReduceOp.AVG needs a floating point tensor, got {dtype_name}")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


def _run(start_async, start_blocking, finish, async_op: bool):
    if async_op:
        return Work(start_async(), finish)
    start_blocking()
    if finish is not None:
        finish()
    return None


# ---- collectives ---------------------------------------------------------------------------

def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Reduce tensor across all ranks in place: afterwards every rank holds the elementwise
    sum (or AVG, PRODUCT, MIN, MAX) of all ranks' tensors.  Every rank passes the same dtype
    and shape (checked).  async_op=True returns a Work; the result is there after wait().
    """
    g = _group(group)
    _check_tensor(tensor)
    mpi_op = _mpi_op(g, op, tensor.dtype.name, "all_reduce")
    _check_writable(tensor, "all_reduce")
    _agree(g, "all_reduce", _meta(tensor))
    buf, staging = _packed(tensor)
    size = g.size

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf, size, out=buf)
        if staging is not None:
            tensor.detach().copy_(staging)
    IN_PLACE = g.MPI.IN_PLACE
    return _run(lambda: g.comm.Iallreduce(IN_PLACE, buf, mpi_op),
                lambda: g.comm.Allreduce(IN_PLACE, buf, mpi_op), finish, async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None,
              async_op: bool = False) -> Work | None:
    """Copy rank src's tensor into tensor on every other rank (all ranks pass the dtype and
    shape src has; checked)."""
    g = _group(group)
    _check_tensor(tensor)
    _check_rank(src, g.size, "src")
    if g.rank != src:
        _check_writable(tensor, "broadcast")
    _agree(g, "broadcast", _meta(tensor), "the dtype and shape of the source rank's tensor",
           root=src)
    buf, staging = _packed(tensor)
    finish = None
    if staging is not None and g.rank != src:
        def finish():
            tensor.detach().copy_(staging)
    return _run(lambda: g.comm.Ibcast(buf, root=src), lambda: g.comm.Bcast(buf, root=src),
                finish, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Fill tensor_list[r] with rank r's tensor, on every rank.  tensor_list has world size
    tensors of tensor's dtype and shape; all ranks pass the same dtype and shape."""
    g = _group(group)
    _check_tensor(tensor)
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must be a list of world_size ({g.size}) "
                         f"tensors, got {_len_of(tensor_list)}")
    for i, out in enumerate(tensor_list):
        _check_tensor(out, "tensor_list")
        if _meta(out) != _meta(tensor):
            raise ValueError(f"all_gather: tensor_list[{i}] is {_describe(_meta(out))} but the "
                             f"input tensor is {_describe(_meta(tensor))}; they must match")
        _check_writable(out, "all_gather")
    _agree(g, "all_gather", _meta(tensor))
    send, _ = _packed(tensor)
    recv = np.empty((g.size, send.size), dtype=send.dtype)

    def finish():
        from strided._C.core.tensor import from_numpy
        for r, out in enumerate(tensor_list):
            out.detach().copy_(from_numpy(recv[r]).view(tuple(out.shape)))
    return _run(lambda: g.comm.Iallgather(send, recv), lambda: g.comm.Allgather(send, recv),
                finish, async_op)


def _len_of(x: Any) -> str:
    return f"{len(x)} of them" if isinstance(x, (list, tuple)) else type(x).__name__


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """Gather every rank's input_tensor into output_tensor, rank r's in the r-th block:
    output_tensor is the inputs concatenated along dim 0 (shape (world * d0, ...)) or stacked
    (shape (world, *input.shape)).  Zero-copy into a contiguous output."""
    g = _group(group)
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    _check_blocks(output_tensor, input_tensor, g.size, "all_gather_into_tensor", "output")
    _check_writable(output_tensor, "all_gather_into_tensor")
    _agree(g, "all_gather_into_tensor", _meta(input_tensor))
    send, _ = _packed(input_tensor)
    recv, staging = _packed(output_tensor)
    finish = None
    if staging is not None:
        def finish():
            output_tensor.detach().copy_(staging)
    return _run(lambda: g.comm.Iallgather(send, recv), lambda: g.comm.Allgather(send, recv),
                finish, async_op)


def _check_blocks(big: Tensor, small: Tensor, size: int, fn: str, which: str) -> None:
    if big.dtype is not small.dtype:
        raise TypeError(f"{fn}: input and output tensors must have the same dtype, got "
                        f"{big.dtype.name} and {small.dtype.name}")
    shape, block = tuple(big.shape), tuple(small.shape)
    stacked = shape == (size,) + block
    concatenated = (len(shape) == len(block) >= 1 and shape[1:] == block[1:]
                    and shape[0] == size * block[0])
    if not (stacked or concatenated):
        raise ValueError(f"{fn}: the {which} tensor must be world_size ({size}) times the "
                         f"size of the other: shape {[size * block[0]] + list(block[1:]) if block else [size]}"
                         f" or {[size] + list(block)}, got {list(shape)}")


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """Reduce input_list elementwise across ranks and give rank r the reduction of every
    rank's input_list[r], in output.  input_list has world size tensors of output's dtype
    and shape."""
    g = _group(group)
    _check_tensor(output, "output")
    if not isinstance(input_list, (list, tuple)) or len(input_list) != g.size:
        raise ValueError(f"reduce_scatter: input_list must be a list of world_size ({g.size}) "
                         f"tensors, got {_len_of(input_list)}")
    for i, t in enumerate(input_list):
        _check_tensor(t, "input_list")
        if _meta(t) != _meta(output):
            raise ValueError(f"reduce_scatter: input_list[{i}] is {_describe(_meta(t))} but "
                             f"output is {_describe(_meta(output))}; they must match")
    from strided import stack
    staged = stack([t.detach() for t in input_list]) if input_list else None
    return _reduce_scatter(g, output, staged, op, async_op, "reduce_scatter")


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group: Any = None, async_op: bool = False) -> Work | None:
    """reduce_scatter with the inputs as one tensor: input is world size blocks of output's
    shape, concatenated along dim 0 or stacked; rank r receives the reduction of block r."""
    g = _group(group)
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_blocks(input, output, g.size, "reduce_scatter_tensor", "input")
    return _reduce_scatter(g, output, input, op, async_op, "reduce_scatter_tensor")


def _reduce_scatter(g, output, input, op, async_op, fn):
    mpi_op = _mpi_op(g, op, output.dtype.name, fn)
    _check_writable(output, fn)
    _agree(g, fn, _meta(output))
    send, _ = _packed(input)
    recv, staging = _packed(output)
    size = g.size

    def finish():
        if op is ReduceOp.AVG:
            np.divide(recv, size, out=recv)
        if staging is not None:
            output.detach().copy_(staging)
    return _run(lambda: g.comm.Ireduce_scatter_block(send, recv, mpi_op),
                lambda: g.comm.Reduce_scatter_block(send, recv, mpi_op), finish, async_op)


def send(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> None:
    """Send tensor to rank dst, which receives it with recv (blocking until MPI has taken
    the data).  A header with the dtype and shape goes first, so recv can check them."""
    g = _group(group)
    _check_tensor(tensor)
    _check_rank(dst, g.size, "destination")
    if dst == g.rank:
        raise ValueError("Invalid destination rank: should not be the same as the rank of "
                         "the current process.")
    buf, _ = _packed(tensor)
    g.comm.send(_meta(tensor), dest=dst, tag=tag)
    g.comm.Send(buf, dest=dst, tag=tag)


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> int:
    """Receive into tensor what rank src (None: any rank) sends with send; returns the
    sender's rank.  The sent tensor's dtype and shape must equal tensor's: otherwise the data
    is still received (so the sender is not left blocked) and a RuntimeError names both."""
    g = _group(group)
    _check_tensor(tensor)
    if src is not None:
        _check_rank(src, g.size, "source")
        if src == g.rank:
            raise ValueError("Invalid source rank: should not be the same as the rank of the "
                             "current process.")
    _check_writable(tensor, "recv")
    status = g.MPI.Status()
    source = g.MPI.ANY_SOURCE if src is None else src
    header = g.comm.recv(source=source, tag=tag, status=status)
    sender = status.Get_source()
    if header != _meta(tensor):
        scratch = np.empty(int(np.prod(header[1], dtype=np.int64)),
                           dtype=np.dtype(_NUMPY_NAMES.get(header[0], header[0])))
        g.comm.Recv(scratch, source=sender, tag=tag)
        raise RuntimeError(f"recv: rank {sender} sent {_describe(header)} but the receiving "
                           f"tensor is {_describe(_meta(tensor))}")
    buf, staging = _packed(tensor)
    g.comm.Recv(buf, source=sender, tag=tag)
    if staging is not None:
        tensor.detach().copy_(staging)
    return sender


_NUMPY_NAMES = {"bool": "bool", "uint8": "uint8", "int32": "int32", "int64": "int64",
                "float32": "float32", "float64": "float64"}


def broadcast_object_list(object_list: list[Any], src: int = 0, group: Any = None) -> None:
    """Replace object_list's items on every rank by rank src's (pickled by MPI); the lists
    have the same length on every rank."""
    g = _group(group)
    _check_rank(src, g.size, "src")
    if not isinstance(object_list, list):
        raise TypeError(f"object_list must be a list, got {type(object_list).__name__}")
    got = g.comm.bcast(object_list if g.rank == src else None, root=src)
    if len(got) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(got)} objects but this "
                         f"rank's list has {len(object_list)}")
    object_list[:] = got


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    """object_list[r] = rank r's obj, on every rank (pickled by MPI); object_list has world
    size items."""
    g = _group(group)
    if not isinstance(object_list, list) or len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list must be a list of world_size "
                         f"({g.size}) items, got {_len_of(object_list)}")
    object_list[:] = g.comm.allgather(obj)
