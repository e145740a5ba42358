"""Run under mpiexec by tests/test_distributed.py: every collective against NumPy references
over dtypes, layouts (contiguous, transposed, sliced, negative strides, expanded inputs) and
zero-size tensors, blocking and async; then the errors.  Exits nonzero on the first failure."""
import sys

import numpy as np

import strided
import strided.distributed as dist

DTYPES = ["float32", "float64", "int32", "int64", "uint8", "bool"]
SHAPES = [(5,), (3, 4), (2, 3, 4), (0,), (0, 3), ()]


def data(rank, dtype, shape, salt):
    rng = np.random.default_rng([rank, salt, len(shape)] + list(shape))
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "uint8":
        return rng.integers(0, 4, shape).astype(np.uint8)      # small: sums stay in range
    if dtype in ("int32", "int64"):
        return rng.integers(-3, 4, shape).astype(dtype)
    return (rng.random(shape) * 2 + 0.5).astype(dtype)


def layout_names(a):
    """The layouts a's values can be given in; "expanded" only when its rows are equal."""
    names = ["contiguous"]
    if a.ndim >= 2:
        names.append("transposed")
    if a.ndim >= 1 and a.size:
        names += ["sliced", "flipped"]
    if a.ndim >= 1 and a.size and (a == a[:1]).all():
        names.append("expanded")
    return names


def build(a, name):
    """A fresh tensor holding a's values in the named layout."""
    if name == "contiguous":
        return strided.tensor(a.copy())
    if name == "transposed":
        return strided.tensor(np.ascontiguousarray(a.swapaxes(-1, -2))).transpose(-1, -2)
    if name == "sliced":
        pad = np.zeros((a.shape[0] * 2,) + a.shape[1:], dtype=a.dtype)
        pad[::2] = a
        return strided.tensor(pad)[::2]
    if name == "flipped":
        return strided.tensor(np.ascontiguousarray(a[::-1])).flip(0)
    return strided.tensor(a[:1].copy()).expand(*a.shape)


def layouts(a):
    """(name, tensor, writable?) for every layout of a."""
    for name in layout_names(a):
        yield name, build(a, name), name != "expanded"


def reference(op, arrays):
    stack = np.stack(arrays)
    if stack.dtype == np.bool_:
        return stack.any(0) if op in ("SUM", "MAX") else stack.all(0)
    if op == "SUM":
        return stack.sum(0, dtype=stack.dtype)
    if op == "AVG":
        return stack.sum(0) / len(arrays)
    if op == "PRODUCT":
        return stack.prod(0, dtype=stack.dtype)
    return stack.min(0) if op == "MIN" else stack.max(0)


def close(got, want, what):
    got = np.asarray(got)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape} != {want.shape}")
    if got.dtype.kind == "f":
        ok = np.allclose(got, want, rtol=1e-6, atol=0)
    else:
        ok = np.array_equal(got, want)
    if not ok:
        raise AssertionError(f"{what}: got {got} want {want}")


def expect_error(exc, fragment, fn, what):
    try:
        fn()
    except exc as e:
        if fragment not in str(e):
            raise AssertionError(f"{what}: message {e!r} lacks {fragment!r}")
        return
    raise AssertionError(f"{what}: no {exc.__name__}")


def main():
    dist.init_process_group()
    rank, n = dist.get_rank(), dist.get_world_size()
    checks = 0
    for dtype in DTYPES:
        for shape in SHAPES:
            ops = ["SUM", "PRODUCT", "MIN", "MAX"] + (["AVG"] if dtype.startswith("float") else [])
            for op in ops:
                arrays = [data(r, dtype, shape, sum(map(ord, op))) for r in range(n)]
                want = reference(op, arrays)
                for name, t, writable in layouts(arrays[rank]):
                    if not writable:
                        continue
                    for async_op in (False, True):
                        x = build(arrays[rank], name)
                        w = dist.all_reduce(x, getattr(dist.ReduceOp, op), async_op=async_op)
                        if async_op:
                            w.wait()
                            assert w.is_completed()
                        close(x.numpy(), want.astype(x.numpy().dtype) if op != "AVG" else want,
                              f"all_reduce {op} {dtype} {shape} {name} async={async_op}")
                        checks += 1
            # broadcast from each source
            for src in range(n):
                arrays = [data(r, dtype, shape, 7) for r in range(n)]
                for name, t, writable in layouts(arrays[rank]):
                    if not writable and rank != src:
                        continue
                    work = dist.broadcast(t, src=src, async_op=(src % 2 == 1))
                    if work is not None:
                        work.wait()
                    close(t.numpy(), arrays[src], f"broadcast src={src} {dtype} {shape} {name}")
                    checks += 1
            # all_gather: list and into one tensor (stacked and concatenated)
            arrays = [data(r, dtype, shape, 11) for r in range(n)]
            for name, t, _ in layouts(arrays[rank]):
                outs = [strided.zeros(*shape, dtype=getattr(strided, dtype)) for _ in range(n)]
                if len(shape) >= 2:                         # outputs in a transposed layout
                    outs = [strided.zeros(*shape[:-2], shape[-1], shape[-2],
                                          dtype=getattr(strided, dtype)).transpose(-1, -2)
                            for _ in range(n)]
                work = dist.all_gather(outs, t, async_op=True)
                work.wait()
                for r in range(n):
                    close(outs[r].numpy(), arrays[r], f"all_gather {dtype} {shape} {name} [{r}]")
                stacked = strided.zeros(n, *shape, dtype=getattr(strided, dtype))
                dist.all_gather_into_tensor(stacked, t)
                close(stacked.numpy(), np.stack(arrays), f"all_gather_into_tensor {dtype} {shape}")
                if len(shape) >= 1:
                    cat = strided.zeros(n * shape[0], *shape[1:], dtype=getattr(strided, dtype))
                    dist.all_gather_into_tensor(cat, t)
                    close(cat.numpy(), np.concatenate(arrays), f"all_gather cat {dtype} {shape}")
                    if len(shape) >= 2:                     # a non-contiguous output
                        catT = strided.zeros(*shape[1:][::-1], n * shape[0],
                                             dtype=getattr(strided, dtype)).permute(
                                                 *range(len(shape) - 1, -1, -1))
                        dist.all_gather_into_tensor(catT, t)
                        close(catT.numpy(), np.concatenate(arrays), f"all_gather catT {dtype}")
                checks += 3
            # reduce_scatter: list and tensor forms
            for op in (["SUM", "MAX"] + (["AVG"] if dtype.startswith("float") else [])):
                per_rank = [[data(r, dtype, shape, 100 + k) for k in range(n)] for r in range(n)]
                want = reference(op, [per_rank[r][rank] for r in range(n)])
                inputs = [build(a, layout_names(a)[-1]) for a in per_rank[rank]]
                out = strided.zeros(*shape, dtype=getattr(strided, dtype))
                dist.reduce_scatter(out, inputs, getattr(dist.ReduceOp, op))
                close(out.numpy(), want.astype(out.numpy().dtype) if op != "AVG" else want,
                      f"reduce_scatter {op} {dtype} {shape}")
                big = strided.tensor(np.stack(per_rank[rank]))
                out2 = strided.zeros(*shape, dtype=getattr(strided, dtype))
                w = dist.reduce_scatter_tensor(out2, big, getattr(dist.ReduceOp, op), async_op=True)
                w.wait()
                close(out2.numpy(), want.astype(out2.numpy().dtype) if op != "AVG" else want,
                      f"reduce_scatter_tensor {op} {dtype} {shape}")
                checks += 2
            # send / recv around a ring, into a strided receiver
            if n > 1:
                arrays = [data(r, dtype, shape, 13) for r in range(n)]
                nxt, prv = (rank + 1) % n, (rank - 1) % n
                zero = np.zeros_like(arrays[rank])
                out = build(zero, [m for m in layout_names(zero) if m != "expanded"][-1])
                if rank % 2 == 0:
                    dist.send(strided.tensor(arrays[rank]), nxt)
                    got = dist.recv(out, prv)
                else:
                    got = dist.recv(out, None)
                    dist.send(strided.tensor(arrays[rank]), nxt)
                assert got == prv, (got, prv)
                close(out.numpy(), arrays[prv], f"send/recv {dtype} {shape}")
                checks += 1
    # ---- expanded (zero-stride) inputs are read through their strides --------------------
    for dtype in DTYPES:
        rows = [data(r, dtype, (1, 4), 17) for r in range(n)]
        x = strided.tensor(rows[rank]).expand(3, 4)
        outs = [strided.zeros(3, 4, dtype=getattr(strided, dtype)) for _ in range(n)]
        dist.all_gather(outs, x)
        for r in range(n):
            close(outs[r].numpy(), np.broadcast_to(rows[r], (3, 4)), f"expanded gather {dtype}")
        big = strided.tensor(rows[rank]).expand(3 * n, 4)
        out = strided.zeros(3, 4, dtype=getattr(strided, dtype))
        dist.reduce_scatter_tensor(out, big, dist.ReduceOp.MAX)
        close(out.numpy(), np.broadcast_to(reference("MAX", rows), (3, 4)),
              f"expanded reduce_scatter {dtype}")
        if n > 1:
            got = strided.zeros(3, 4, dtype=getattr(strided, dtype))
            if rank == 0:
                dist.send(x, 1)
            elif rank == 1:
                dist.recv(got, 0)
                close(got.numpy(), np.broadcast_to(rows[0], (3, 4)), f"expanded send {dtype}")
        checks += 3
    # ---- errors: every rank raises, none hangs -------------------------------------------
    f32 = strided.float32
    expect_error(RuntimeError, "rank 0 has float32 [3] and rank 1 has float64 [3]",
                 lambda: dist.all_reduce(strided.zeros(3, dtype=f32 if rank == 0 else strided.float64)),
                 "dtype mismatch")
    expect_error(RuntimeError, "rank 0 has float32 [3] and rank 1 has float32 [4]",
                 lambda: dist.all_reduce(strided.zeros(3 if rank == 0 else 4)), "shape mismatch")
    expect_error(RuntimeError, "the dtype and shape of the source rank's tensor",
                 lambda: dist.broadcast(strided.zeros(2 + (rank == n - 1)), src=0),
                 "broadcast mismatch")
    expect_error(RuntimeError, "refers to a single memory location",
                 lambda: dist.all_reduce(strided.zeros(1, 3).expand(4, 3)), "overlap output")
    expect_error(RuntimeError, "refers to a single memory location",
                 lambda: dist.all_gather_into_tensor(strided.zeros(1, 3).expand(n, 3),
                                                     strided.zeros(3)), "overlap gather")
    expect_error(ValueError, "ReduceOp.AVG needs a floating point tensor",
                 lambda: dist.all_reduce(strided.zeros(3, dtype=strided.int64), dist.ReduceOp.AVG),
                 "avg int")
    expect_error(ValueError, "tensor_list must be a list of world_size",
                 lambda: dist.all_gather([strided.zeros(2)], strided.zeros(2)), "gather list")
    expect_error(ValueError, "world_size", lambda: dist.all_gather_into_tensor(
        strided.zeros(n + 1, 2), strided.zeros(2)), "gather size")
    expect_error(ValueError, "Invalid src rank", lambda: dist.broadcast(strided.zeros(2), src=n),
                 "bad src")
    expect_error(TypeError, "Expected parameter `tensor` of type strided.Tensor",
                 lambda: dist.all_reduce(np.zeros(3)), "not a tensor")
    expect_error(RuntimeError, "twice", lambda: dist.init_process_group(), "init twice")
    expect_error(ValueError, "Invalid destination rank: should not be the same",
                 lambda: dist.send(strided.zeros(1), rank), "send to self")
    ro_arr = np.zeros(3, dtype=np.float32)
    ro_arr.flags.writeable = False
    expect_error(ValueError, "read-only", lambda: dist.all_reduce(strided.from_numpy(ro_arr)),
                 "read-only output")
    if n > 1:                       # a recv whose tensor does not match what was sent
        if rank == 0:
            dist.send(strided.ones(4), 1)
        elif rank == 1:
            expect_error(RuntimeError, "rank 0 sent float32 [4] but the receiving tensor is "
                         "float32 [3]", lambda: dist.recv(strided.zeros(3), 0), "recv mismatch")
    # a collective still works after the errors
    t = strided.ones(2)
    dist.all_reduce(t)
    close(t.numpy(), np.full(2, float(n), np.float32), "after errors")
    dist.barrier()
    dist.barrier(async_op=True).wait()
    objs = [{"a": 1}] if rank == 0 else [None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{"a": 1}], objs
    gathered = [None] * n
    dist.all_gather_object(gathered, rank * 10)
    assert gathered == [r * 10 for r in range(n)], gathered
    dist.destroy_process_group()
    assert not dist.is_initialized()
    # a group over a sub-communicator: even and odd ranks reduce separately
    from mpi4py import MPI
    dist.init_process_group(comm=MPI.COMM_WORLD.Split(rank % 2, rank))
    members = [r for r in range(n) if r % 2 == rank % 2]
    assert dist.get_world_size() == len(members) and dist.get_rank() == members.index(rank)
    t = strided.tensor([float(rank)])
    dist.all_reduce(t)
    close(t.numpy(), np.array([sum(members)], np.float32), "sub-communicator all_reduce")
    dist.destroy_process_group()
    expect_error(ValueError, "world_size=99 but the MPI communicator has",
                 lambda: dist.init_process_group(world_size=99), "world_size check")
    expect_error(TypeError, "intracommunicator", lambda: dist.init_process_group(comm=3),
                 "bad comm")
    print(f"rank {rank}: {checks} collective checks passed", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
