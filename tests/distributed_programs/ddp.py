"""Run under mpiexec by tests/test_distributed.py: DistributedDataParallel with N ranks and
per-rank batch B ends with the same parameters after k steps as one process training on the
global batch of N * B (float64 to 1e-10, float32 to 1e-5): SGD with momentum, Adam,
gradient accumulation with no_sync, SyncBatchNorm against BatchNorm on the global batch,
unused parameters (the default error, find_unused_parameters), gradient_as_bucket_view, one
and many buckets.  Every rank computes the single-process reference itself."""
import copy
import sys

import numpy as np

import strided
import strided.distributed as dist
import strided.nn as nn
import strided.nn.functional as F
from strided.distributed import DistributedDataParallel as DDP

B, STEPS = 4, 3


def mlp(dtype):
    return nn.Sequential(nn.Linear(6, 16, dtype=dtype), nn.Tanh(), nn.Linear(16, 8, dtype=dtype),
                         nn.ReLU(), nn.Linear(8, 3, dtype=dtype))


def convnet(dtype):
    # no conv bias before BatchNorm: its true gradient is 0, and Adam would amplify rounding
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype),
                         nn.ReLU(), nn.Conv2d(4, 3, 3, bias=False, dtype=dtype), nn.BatchNorm2d(3, dtype=dtype),
                         nn.Flatten(), nn.Linear(3 * 4 * 4, 3, dtype=dtype))


class Branchy(nn.Module):
    """A model whose `extra` branch is used only when asked (an unused parameter)."""

    def __init__(self, dtype):
        super().__init__()
        self.body = nn.Linear(6, 3, dtype=dtype)
        self.extra = nn.Linear(6, 3, dtype=dtype)

    def forward(self, x, use_extra=False):
        y = self.body(x)
        return y + self.extra(x) if use_extra else y


class Mixed(nn.Module):
    """float64 and float32 parameters in one model: one bucket storage per dtype."""

    def __init__(self, dtype):
        super().__init__()
        self.wide = nn.Linear(6, 5, dtype=strided.float64)
        self.narrow = nn.Linear(6, 5, dtype=strided.float32)
        self.head = nn.Linear(5, 3, dtype=strided.float32)

    def forward(self, x):
        return self.head(self.wide(x.double()).float() + self.narrow(x.float()))


def batches(n, shape, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    xs = [strided.tensor(rng.standard_normal((n * B,) + shape), dtype=dtype) for _ in range(steps)]
    ys = [strided.tensor(rng.integers(0, 3, n * B)) for _ in range(steps)]
    return xs, ys


def make_opt(kind, params):
    if kind == "sgd":
        return strided.optim.SGD(params, lr=0.1, momentum=0.9)
    return strided.optim.Adam(params, lr=0.01)


def assert_close(a, b, tol, what):
    a, b = a.detach().numpy(), b.detach().numpy()
    err = np.max(np.abs(a - b)) if a.size else 0.0
    if not err <= tol * max(1.0, float(np.max(np.abs(b))) if b.size else 1.0):
        raise AssertionError(f"{what}: max difference {err:.3e} > {tol}")


def compare_models(ddp_model, ref, tol, what):
    for (name, p), (_, q) in zip(ddp_model.named_parameters(), ref.named_parameters()):
        assert_close(p, q, tol, f"{what}: parameter {name}")
    for (name, p), (_, q) in zip(ddp_model.named_buffers(), ref.named_buffers()):
        if p.dtype.is_floating_point:
            assert_close(p, q, tol, f"{what}: buffer {name}")


def train_case(make, shape, dtype, opt_kind, tol, what, accumulate=1, sync_bn=False, **ddp_kw):
    rank, n = dist.get_rank(), dist.get_world_size()
    strided.manual_seed(1234)
    ref = make(dtype)
    local = copy.deepcopy(ref)
    if sync_bn:
        local = dist.SyncBatchNorm.convert_sync_batchnorm(local)
    model = DDP(local, **ddp_kw)
    opt, ref_opt = make_opt(opt_kind, model.parameters()), make_opt(opt_kind, ref.parameters())
    xs, ys = batches(n, shape, dtype, STEPS * accumulate)
    for step in range(STEPS):
        opt.zero_grad()
        ref_opt.zero_grad()
        for m in range(accumulate):
            x, y = xs[step * accumulate + m], ys[step * accumulate + m]
            F.cross_entropy(ref(x), y).backward()
            mine = slice(rank * B, (rank + 1) * B)
            if m < accumulate - 1:
                with model.no_sync():
                    F.cross_entropy(model(x[mine]), y[mine]).backward()
            else:
                F.cross_entropy(model(x[mine]), y[mine]).backward()
        opt.step()
        ref_opt.step()
    compare_models(model.module, ref, tol, what)
    return model


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
    f64, f32 = strided.float64, strided.float32
    cases = 0
    for dtype, tol in ((f64, 1e-10), (f32, 1e-5)):
        for opt_kind in ("sgd", "adam"):
            for cap in (None, 1e-4):           # one bucket; a bucket per parameter or two
                m = train_case(mlp, (6,), dtype, opt_kind, tol,
                               f"mlp {dtype} {opt_kind} cap={cap}", bucket_cap_mb=cap)
                if cap is not None:
                    assert len(m._buckets) > 2, len(m._buckets)
                cases += 1
        train_case(mlp, (6,), dtype, "sgd", tol, f"no_sync accumulation {dtype}", accumulate=3)
        for cap in (None, 1e-4):
            m = train_case(Mixed, (6,), dtype, "adam", 1e-5, f"mixed dtypes cap={cap}",
                           bucket_cap_mb=cap)
            assert {b.flat.dtype for b in m._buckets} == {f32, f64}
        train_case(mlp, (6,), dtype, "adam", tol, f"bucket view {dtype}",
                   gradient_as_bucket_view=True, bucket_cap_mb=1e-4)
        train_case(convnet, (2, 6, 6), dtype, "sgd", tol, f"SyncBatchNorm {dtype}",
                   sync_bn=True)
        train_case(convnet, (2, 6, 6), dtype, "adam", tol, f"SyncBatchNorm adam {dtype}",
                   sync_bn=True, accumulate=2)
        cases += 3
    # parameters and buffers come from rank 0 at construction
    strided.manual_seed(rank)
    net = convnet(f32)
    net[1].running_mean.fill_(float(rank))
    DDP(net)
    everyone = [None] * n
    dist.all_gather_object(everyone, [p.detach().numpy().tolist() for p in net.parameters()]
                           + [net[1].running_mean.numpy().tolist()])
    assert all(e == everyone[0] for e in everyone), "construction did not broadcast the state"
    # an unused parameter: PyTorch's error at the next forward by default
    strided.manual_seed(0)
    model = DDP(Branchy(f64))
    x = strided.randn(B, 6, dtype=f64)
    model(x).sum().backward()
    expect_error(RuntimeError, "Expected to have finished reduction in the prior iteration",
                 lambda: model(x), "unused parameter error")
    # ... and with find_unused_parameters: used on rank 0 only -> averaged; unused -> None
    strided.manual_seed(0)
    ref = Branchy(f64)
    model = DDP(copy.deepcopy(ref), find_unused_parameters=True)
    xs, _ = batches(n, (6,), f64, 2, seed=5)
    for step, x in enumerate(xs):
        model.zero_grad()
        use = step == 1 and rank == 0
        model(x[rank * B:(rank + 1) * B], use_extra=use).sum().backward()
        if step == 0:
            assert model.module.extra.weight.grad is None, "globally unused got a gradient"
        else:
            ref.zero_grad()
            (ref(x[:B], use_extra=True).sum() + sum(ref(x[r * B:(r + 1) * B]).sum()
                                                      for r in range(1, n))).backward()
            for (name, p), (_, q) in zip(model.module.named_parameters(), ref.named_parameters()):
                assert_close(p.grad, q.grad / n, 1e-12, f"find_unused grad {name}")
    cases += 2
    # different models on different ranks: a clear error at construction
    expect_error(RuntimeError, "DDP expects same model across all ranks",
                 lambda: DDP(nn.Linear(3, 2 + (rank == n - 1))), "model mismatch")
    dist.destroy_process_group()
    print(f"rank {rank}: {cases} DDP cases passed", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
