"""DistributedDataParallel: every rank holds the whole model and a slice of the batch;
gradients are averaged across ranks during backward.

NOTE [ Gradient buckets ]
Parameters that require grad are split, in reverse order of module.parameters() (roughly
the order backward produces their gradients, as PyTorch's reducer does), into buckets of
one dtype: the first holds at most 1 MB (or bucket_cap_mb when smaller), the others at
most bucket_cap_mb (25 MB by default), PyTorch's limits.  Each bucket is one flat
contiguous tensor with a slot per parameter (NOTE [ Buckets share one storage ]).  A
post-accumulate-grad hook on every parameter (NOTE [ Post-accumulate-grad hooks ]) writes
the parameter's fresh .grad divided by the world size into its slot (one pass: the copy
and PyTorch's pre-division fused); when the last slot of a bucket is filled the bucket's
all-reduce (in place on the flat tensor's memory) starts (NOTE [ One all-reduce in
flight ]), so communication runs while backward computes the earlier layers' gradients.

Buckets are started strictly in index order on every rank (a bucket that fills early waits
for the ones before it): MPI matches non-blocking collectives by the order they are issued,
so every rank must issue them in the same order, whatever order its gradients arrive in.

When the last bucket has started, the hook waits for all of them and copies the averages
into each parameter's .grad (with gradient_as_bucket_view, .grad becomes the slot itself:
no copy, and the next backward accumulates straight into the bucket).

NOTE [ One all-reduce in flight ]
A started bucket's all-reduce is issued to MPI only when the one before it has completed
(as PyTorch's MPI backend runs its collectives one after another on a worker thread):
several large non-blocking all-reduces in flight at once ran at the speed of one large
all-reduce, and MPICH's drops from ~4 GB/s to ~1.7 GB/s above ~30 MB.  Measured with
benchmarks/bench_distributed.py (2 ranks, the 2-core AVX-512 Xeon, 100 MB in 5 buckets of
up to 28 MB): the buckets issued together took 55-57 ms, one at a time 31-36 ms, one
100 MB MPI_Allreduce on NumPy 47-58 ms.  The last bucket of a step is waited for as soon
as it starts, so it runs as a blocking MPI_Allreduce once the ones before it are done
(MPICH's blocking algorithm, without a non-blocking schedule's overhead: a lone 1 MB
bucket went from 0.91-0.98x to 0.99-1.07x the speed of MPI_Allreduce on NumPy).  Every
rank makes the same choice (a blocking collective never matches a non-blocking one).

NOTE [ MPI progress ]
MPI moves a non-blocking collective's data only while the process is inside an MPI call
(MPICH, like most MPIs, runs no progress thread by default).  Every gradient hook therefore
tests the running all-reduce (MPI_Test), which advances it between the backward kernels
and issues the next bucket's when it is done; what is left is finished by the wait after
the last gradient.  benchmarks/bench_distributed.py (ResNet-18, 2 ranks, the 2-core
AVX-512 Xeon): the last rank to finish backward then waits 0.010 s against 0.029 s for
the all-reduces alone.  A helper thread testing every 0.1 ms
(MPI_THREAD_MULTIPLE) was tried and dropped: with every core busy computing it slowed
backward by more than it hid.  Buckets run on a duplicate of the group's communicator, so
they never interleave with the program's other collectives (or SyncBatchNorm's).
"""
from __future__ import annotations
import contextlib
import time
import weakref
from typing import Any, Iterator

import numpy as np

from strided._C.core.tensor import Tensor, is_grad_enabled
from strided._C.core.tensor import div as _div
from strided.creation import zeros
from strided.distributed.collectives import _as_array
from strided.distributed.process_group import _group
from strided.nn.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024
_MB = 1024 * 1024


class _Bucket:
    def __init__(self, index: int, params: list[int], shapes: list[tuple[int, ...]],
                 flat: Tensor) -> None:
        self.index = index
        self.params = params
        self.offsets = []
        total = 0
        for shape in shapes:
            self.offsets.append(total)
            total += int(np.prod(shape, dtype=np.int64))
        self.flat = flat
        self.array = _as_array(self.flat)
        self.slots = [self.flat[o:o + int(np.prod(s, dtype=np.int64))].view(s)
                      for o, s in zip(self.offsets, shapes)]
        self.pending = len(params)
        self.request = None
        self.done = self.blocking = False


def _tensors_in(obj: Any, out: list[Tensor]) -> list[Tensor]:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _tensors_in(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _tensors_in(x, out)
    return out


def _reachable_leaves(outputs: list[Tensor]) -> set[int]:
    """ids of the leaves whose AccumulateGrad nodes the outputs' graphs reach."""
    from strided.autograd.graph import AccumulateGrad
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    seen, leaves = set(map(id, stack)), set()
    for t in outputs:
        if t.grad_fn is None and t.requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node.variable))
            continue
        for edge in node.next_functions:
            if edge is not None and id(edge[0]) not in seen:
                seen.add(id(edge[0]))
                stack.append(edge[0])
    return leaves


class _Progress:
    """Runs the buckets' all-reduces one at a time, in order (NOTE [ One all-reduce in
    flight ]), lets MPI move the running one at every hook (poke) and completes them."""

    def __init__(self, MPI: Any, comm: Any) -> None:
        self.MPI, self.comm = MPI, comm
        self.queue: list[_Bucket] = []          # started, not yet issued to MPI
        self.running: _Bucket | None = None     # issued, not yet complete

    def start(self, bucket: _Bucket, last: bool = False) -> None:
        """Queue bucket's all-reduce, issued at once when nothing runs.  The last bucket
        of a step (the same one on every rank: a blocking collective never matches a
        non-blocking one) is left for wait() to run blocking."""
        bucket.request, bucket.done, bucket.blocking = None, False, last
        self.queue.append(bucket)
        if self.running is None:
            self._issue_next()

    def _issue_next(self) -> None:
        if self.queue and not self.queue[0].blocking:
            b = self.running = self.queue.pop(0)
            b.request = self.comm.Iallreduce(self.MPI.IN_PLACE, b.array, self.MPI.SUM)

    def _retire(self) -> None:
        self.running.done, self.running = True, None
        self._issue_next()

    def poke(self) -> None:
        if self.running is not None and self.running.request.Test():
            self._retire()

    def wait(self, bucket: _Bucket) -> None:
        while not bucket.done:
            if self.running is not None:
                self.running.request.Wait()
                self._retire()
            else:                               # the blocking last bucket heads the queue
                b = self.queue.pop(0)
                self.comm.Allreduce(self.MPI.IN_PLACE, b.array, self.MPI.SUM)
                b.done = True


class DistributedDataParallel(Module):
    """Data parallelism over the process group: wraps module so that after backward every
    rank's parameters hold the gradient averaged over all ranks (NOTE [ Gradient buckets ]).

    At construction the ranks' parameters are checked to have the same shapes and dtypes,
    and parameters and buffers are broadcast from rank 0, so all replicas start equal.  With
    broadcast_buffers (the default) buffers (e.g. BatchNorm's running statistics) are
    broadcast from rank 0 before each forward, as in PyTorch.  Use no_sync() around
    backward passes whose gradients should only accumulate locally.  bucket_cap_mb: the
    bucket size (25 MB); find_unused_parameters: see NOTE [ Unused parameters ];
    gradient_as_bucket_view: .grad becomes a view of the bucket (one copy less per step).
    device_ids, output_device, dim, check_reduction and static_graph are accepted for
    PyTorch's signature; they change nothing on the CPU.
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a strided.nn.Module, got "
                            f"{type(module).__name__}")
        g = _group(process_group)
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.require_backward_grad_sync = True
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not cap > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.bucket_cap_mb = cap
        object.__setattr__(self, "_g", g)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self._verify_same_model(g, module)
        self._sync_state(g, module)
        object.__setattr__(self, "_params", [p for _, p in named])
        object.__setattr__(self, "_param_names", [n for n, _ in named])
        object.__setattr__(self, "_buckets", self._make_buckets(cap))
        where = {}
        for b in self._buckets:
            for k, i in enumerate(b.params):
                where[i] = (b, k)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_handles", [
            p.register_post_accumulate_grad_hook(self._hook_for(i))
            for i, p in enumerate(self._params)])
        # a communicator of its own, so bucket all-reduces never interleave with the
        # program's collectives (or SyncBatchNorm's during backward) on the same one
        object.__setattr__(self, "_progress", _Progress(g.MPI, g.comm.Dup()))
        object.__setattr__(self, "_finish_seconds", 0.0)
        object.__setattr__(self, "_armed", False)
        object.__setattr__(self, "_ready", set())
        object.__setattr__(self, "_next_bucket", 0)
        object.__setattr__(self, "_used", None)

    # ---- construction ----------------------------------------------------------------------

    @staticmethod
    def _verify_same_model(g, module: Module) -> None:
        mine = [(n, p.dtype.name, tuple(p.shape)) for n, p in module.named_parameters()]
        everyone = g.comm.allgather(mine)
        for r, theirs in enumerate(everyone):
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                                   f"{g.rank} has {len(mine)} params, while rank {r} has "
                                   f"inconsistent {len(theirs)} params.")
            for (n, dt, s), (n2, dt2, s2) in zip(mine, theirs):
                if (dt, s) != (dt2, s2):
                    raise RuntimeError(f"DDP expects same model across all ranks, but rank "
                                       f"{g.rank}'s parameter {n} is {dt} {list(s)} and rank "
                                       f"{r}'s {n2} is {dt2} {list(s2)}")

    @staticmethod
    def _sync_state(g, module: Module) -> None:
        """Broadcast parameters and buffers from rank 0 (in place, through their memory)."""
        from strided.autograd.grad_mode import no_grad
        with no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                _broadcast_raw(g, t)

    def _make_buckets(self, cap_mb: float) -> list[_Bucket]:
        order = list(range(len(self._params)))[::-1]
        groups, open_ = [], {}               # dtype name -> (indices, bytes)
        buckets: list[_Bucket] = []
        cap = int(cap_mb * _MB)
        limit = lambda: min(_FIRST_BUCKET_BYTES, cap) if not groups else cap  # noqa: E731

        def close(key):
            idx, _ = open_.pop(key)
            groups.append(idx)
        for i in order:
            p = self._params[i]
            key = p.dtype.name
            idx, nbytes = open_.get(key, ([], 0))
            idx.append(i)
            nbytes += p.numel() * p.element_size()
            open_[key] = (idx, nbytes)
            if nbytes >= limit():
                close(key)
        for key in list(open_):
            close(key)
        # NOTE [ Buckets share one storage ]: the buckets of a dtype are consecutive
        # 64-byte-aligned pieces of one storage, so that together they pass the size above
        # which storages get transparent huge pages (storage.pyx, _allocate), as a NumPy
        # buffer of the same total does: MPI's shared-memory copies of 4 KiB pages ran at
        # ~0.85x the speed of a huge-page buffer's (bench_distributed.py, 4 MB in 2 buckets).
        numels = [sum(self._params[i].numel() for i in idx) for idx in groups]
        starts, total = {}, {}
        for g, idx in enumerate(groups):
            key = self._params[idx[0]].dtype
            step = 64 // self._params[idx[0]].element_size()
            starts[g] = total.get(key, 0)
            total[key] = starts[g] + (numels[g] + step - 1) // step * step
        storage = {key: zeros(n, dtype=key) for key, n in total.items()}
        for g, idx in enumerate(groups):
            ps = [self._params[i] for i in idx]
            flat = storage[ps[0].dtype][starts[g]:starts[g] + numels[g]]
            buckets.append(_Bucket(g, idx, [tuple(p.shape) for p in ps], flat))
        return buckets

    # ---- forward and the hooks -------------------------------------------------------------

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """Run the wrapped module (after broadcasting buffers from rank 0) and arm the
        gradient hooks for the backward pass that follows, unless in no_sync() or no_grad."""
        if self._armed:
            missing = [self._param_names[i] for i in range(len(self._params))
                       if i not in self._ready]
            object.__setattr__(self, "_armed", False)
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`strided.distributed.DistributedDataParallel`, and by making sure all "
                "`forward` function outputs participate in calculating loss.\n"
                f"Parameters which did not receive grad for rank {self._g.rank}: "
                f"{', '.join(missing)}")
        if self.broadcast_buffers and self._g.size > 1:
            from strided.autograd.grad_mode import no_grad
            with no_grad():
                for b in self.module.buffers():
                    _broadcast_raw(self._g, b)
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._arm(out)
        return out

    def _arm(self, out: Any) -> None:
        for b in self._buckets:
            b.pending = len(b.params)
            b.request = None
        object.__setattr__(self, "_ready", set())
        object.__setattr__(self, "_next_bucket", 0)
        object.__setattr__(self, "_armed", True)
        if not self.find_unused_parameters:
            object.__setattr__(self, "_used", None)
            return
        reached = _reachable_leaves(_tensors_in(out, []))
        used = np.zeros(len(self._params), dtype=np.int32)
        object.__setattr__(self, "_used", used)
        for i, p in enumerate(self._params):
            if id(p) in reached:
                used[i] = 1
        for i in range(len(self._params)):
            if not used[i]:
                b, k = self._where[i]
                b.slots[k].zero_()
                self._mark_ready(i)

    def _hook_for(self, i: int):
        ref = weakref.ref(self)             # the parameters' hooks must not keep self alive

        def hook(p: Tensor) -> None:
            self = ref()
            if self is None or not self._armed:
                return
            if i in self._ready:
                raise RuntimeError(
                    f"Expected to mark a variable ready only once. This error is caused by "
                    f"a parameter ({self._param_names[i]}) receiving its gradient twice in "
                    f"one synchronised iteration (a second backward through the same "
                    f"forward, or a parameter marked unused that was used after all). Use "
                    f"no_sync() for backward passes that should not all-reduce.")
            b, k = self._where[i]
            slot, grad = b.slots[k], p.grad
            if grad.data_ptr() == slot.data_ptr() and grad.stride() == slot.stride():
                slot.div_(self._g.size)         # .grad is the bucket's view already
            else:
                _div(grad, self._g.size, out=slot)
            self._mark_ready(i)
        return hook

    def _mark_ready(self, i: int) -> None:
        self._ready.add(i)
        b, _ = self._where[i]
        b.pending -= 1
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            self._progress.start(buckets[self._next_bucket],
                                 last=self._next_bucket == len(buckets) - 1)
            object.__setattr__(self, "_next_bucket", self._next_bucket + 1)
        self._progress.poke()
        if self._next_bucket == len(buckets):
            self._finish()

    def _finish(self) -> None:
        start = time.perf_counter()        # _finish_seconds: the wait backward could not hide
        g = self._g
        object.__setattr__(self, "_armed", False)
        used = self._used
        if used is not None:
            g.comm.Allreduce(g.MPI.IN_PLACE, used, g.MPI.SUM)
        for b in self._buckets:           # copy a bucket out while later ones still reduce
            self._progress.wait(b)
            for k, i in enumerate(b.params):
                if used is not None and used[i] == 0:
                    continue                      # unused on every rank: .grad untouched
                p, slot = self._params[i], b.slots[k]
                if self.gradient_as_bucket_view:
                    if p.grad is None or p.grad.data_ptr() != slot.data_ptr():
                        p.grad = slot
                elif p.grad is None:
                    p.grad = slot.clone()
                else:
                    p.grad.copy_(slot)
        object.__setattr__(self, "_finish_seconds", time.perf_counter() - start)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this context, backward passes accumulate gradients locally without
        all-reducing them; the first synchronised backward after it averages the
        accumulated gradients (gradient accumulation over several micro-batches)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _broadcast_raw(g, t: Tensor) -> None:
    """Bcast t from rank 0 through its memory (packed when not contiguous); no checks."""
    if t.numel() == 0:
        return
    if t.is_contiguous():
        g.comm.Bcast(_as_array(t), root=0)
    else:
        staging = t.detach().contiguous()
        g.comm.Bcast(_as_array(staging), root=0)
        t.detach().copy_(staging)
