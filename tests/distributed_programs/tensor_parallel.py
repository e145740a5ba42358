"""Run under mpiexec by tests/test_distributed.py: a Megatron MLP (ColumnParallelLinear ->
GELU -> RowParallelLinear) split across the ranks gives the unsplit MLP's outputs, input
gradients and weight gradients (this rank's shards of them), and the same weights after a
few SGD steps; the gathered-output and scattered-input forms of each layer alone too; then
the rank-0 checkpoint save and load+broadcast."""
import os
import sys
import tempfile

import numpy as np

import strided
import strided.distributed as dist
import strided.nn as nn
import strided.nn.functional as F


def close(a, b, tol, what):
    a, b = a.detach().numpy(), b.detach().numpy()
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes {a.shape} != {b.shape}")
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    if err > tol:
        raise AssertionError(f"{what}: max difference {err:.3e} > {tol}")


def expect_error(exc, fragment, fn, what):
    try:
        fn()
    except exc as e:
        if fragment not in str(e):
            raise AssertionError(f"{what}: message {e!r} lacks {fragment!r}")
        return
    raise AssertionError(f"{what}: no {exc.__name__}")


def megatron_mlp(dtype, tol, rank, n):
    strided.manual_seed(7)                   # the same full layers on every rank
    fc1, fc2 = nn.Linear(6, 4 * n, dtype=dtype), nn.Linear(4 * n, 5, dtype=dtype)
    col = dist.ColumnParallelLinear.from_linear(fc1, gather_output=False)
    row = dist.RowParallelLinear.from_linear(fc2, input_is_parallel=True)
    assert tuple(col.weight.shape) == (4, 6) and tuple(row.weight.shape) == (5, 4)
    lo, hi = rank * 4, (rank + 1) * 4
    opt = strided.optim.SGD(list(col.parameters()) + list(row.parameters()), lr=0.1)
    ref_opt = strided.optim.SGD(list(fc1.parameters()) + list(fc2.parameters()), lr=0.1)
    rng = np.random.default_rng(3)
    for step in range(3):
        x = strided.tensor(rng.standard_normal((3, 2, 6)), dtype=dtype, requires_grad=True)
        x_ref = x.detach().clone().requires_grad_()
        y = row(F.gelu(col(x)))
        y_ref = fc2(F.gelu(fc1(x_ref)))
        close(y, y_ref, tol, f"forward step {step}")
        target = strided.tensor(rng.standard_normal((3, 2, 5)), dtype=dtype)
        opt.zero_grad()
        ref_opt.zero_grad()
        F.mse_loss(y, target).backward()
        F.mse_loss(y_ref, target).backward()
        close(x.grad, x_ref.grad, tol, f"input grad step {step}")
        close(col.weight.grad, fc1.weight.grad[lo:hi], tol, "column weight grad")
        close(col.bias.grad, fc1.bias.grad[lo:hi], tol, "column bias grad")
        close(row.weight.grad, fc2.weight.grad[:, lo:hi], tol, "row weight grad")
        close(row.bias.grad, fc2.bias.grad, tol, "row bias grad")
        opt.step()
        ref_opt.step()
    close(col.weight, fc1.weight[lo:hi], tol, "column weight after SGD")
    close(row.weight, fc2.weight[:, lo:hi], tol, "row weight after SGD")
    close(row.bias, fc2.bias, tol, "row bias after SGD")


def single_layers(dtype, tol, rank, n):
    strided.manual_seed(11)
    full = nn.Linear(5, 2 * n, dtype=dtype)
    col = dist.ColumnParallelLinear.from_linear(full, gather_output=True)
    x = strided.randn(4, 5, dtype=dtype, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = col(x), full(x_ref)
    close(y, y_ref, tol, "column gather_output forward")
    w = strided.randn(4, 2 * n, dtype=dtype)
    (y * w).sum().backward()
    (y_ref * w).sum().backward()
    close(x.grad, x_ref.grad, tol, "column gather_output input grad")
    close(col.weight.grad, full.weight.grad[2 * rank:2 * rank + 2], tol, "column gather wgrad")
    full = nn.Linear(3 * n, 4, bias=False, dtype=dtype)
    row = dist.RowParallelLinear.from_linear(full)
    x = strided.randn(2, 3 * n, dtype=dtype, requires_grad=True).t().contiguous().t()
    x = x.detach().requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = row(x), full(x_ref)
    close(y, y_ref, tol, "row scatter forward")
    y.sum().backward()
    y_ref.sum().backward()
    close(x.grad, x_ref.grad, tol, "row scatter input grad")
    close(row.weight.grad, full.weight.grad[:, 3 * rank:3 * rank + 3], tol, "row wgrad")
    # constructed layers: the shards of one Linear, whatever each rank's generator holds
    strided.manual_seed(100 + rank)
    col = dist.ColumnParallelLinear(4, 2 * n, dtype=dtype)
    gathered = [strided.zeros(2, 4, dtype=dtype) for _ in range(n)]
    dist.all_gather(gathered, col.weight.detach())
    assert not all(np.array_equal(gathered[0].numpy(), g.numpy()) for g in gathered[1:]), \
        "every rank holds the same shard"
    expect_error(ValueError, "must be divisible by the world size",
                 lambda: dist.ColumnParallelLinear(4, 2 * n + 1), "uneven split")
    expect_error(ValueError, "must be divisible by the world size",
                 lambda: dist.RowParallelLinear(2 * n + 1, 4), "uneven split rows")


def checkpoint(rank, n):
    strided.manual_seed(rank)                # different weights per rank
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = os.path.join(tempfile.gettempdir(), f"strided_dist_ckpt_{os.getppid()}.pt")
    if rank == 0 and os.path.exists(path):
        os.remove(path)
    state = {"model": model.state_dict(), "step": 5, "lrs": [0.1, 0.01]}
    dist.save(state, path)
    assert os.path.exists(path)
    loaded = dist.load(path)
    assert loaded["step"] == 5 and loaded["lrs"] == [0.1, 0.01]
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(loaded["model"])
    everyone = [None] * n
    dist.all_gather_object(everyone, [t.numpy().tolist() for t in other.state_dict().values()])
    mine0 = [t.numpy().tolist() for t in model.state_dict().values()]
    if rank == 0:
        assert everyone == [mine0] * n, "load did not give rank 0's checkpoint everywhere"
    assert all(e == everyone[0] for e in everyone)
    expect_error(FileNotFoundError, "No such file", lambda: dist.load(path + ".missing"),
                 "missing file")
    dist.barrier()
    if rank == 0:
        os.remove(path)


def main():
    dist.init_process_group()
    rank, n = dist.get_rank(), dist.get_world_size()
    megatron_mlp(strided.float64, 1e-12, rank, n)
    megatron_mlp(strided.float32, 1e-5, rank, n)
    single_layers(strided.float64, 1e-12, rank, n)
    checkpoint(rank, n)
    dist.destroy_process_group()
    print(f"rank {rank}: tensor parallel and checkpoint checks passed", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
