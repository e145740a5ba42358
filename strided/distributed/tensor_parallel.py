"""Megatron-style tensor parallelism: one Linear layer's weight split across the ranks.

NOTE [ Tensor-parallel linear layers ]
ColumnParallelLinear splits W (out, in) by rows -- output features: rank r holds rows
[r * out/N, (r + 1) * out/N) and computes that slice of y = x W^T + b from the whole input
x.  Backward: each rank's x gradient is only its slice's contribution, so the x gradients
are summed by an all-reduce (copy_to_parallel_region: identity forward, all-reduce
backward).  With gather_output the slices are all-gathered into the whole y (backward: each
rank keeps its slice of the gradient).
RowParallelLinear splits W by columns -- input features: rank r holds columns
[r * in/N, (r + 1) * in/N) and computes the partial product x_r W_r^T from its slice of x;
an all-reduce sums the partials into y (reduce_from_parallel_region: all-reduce forward,
identity backward) and the bias, kept whole on every rank, is added once after it.  With
input_is_parallel=False the input is the whole x and each rank takes its slice (backward:
the slices' gradients are all-gathered).
A Column layer without gather_output feeding a Row layer with input_is_parallel=True is
Megatron's MLP: one all-reduce forward and one backward for the pair.
"""
from __future__ import annotations
from typing import Any

from strided._C.core.tensor import Tensor
from strided.autograd.function import Function
from strided.distributed import collectives as C
from strided.distributed.process_group import _group
from strided.nn.module import Module
from strided.nn.parameter import Parameter


def _all_gather_last_dim(x: Tensor, g) -> Tensor:
    from strided.creation import empty
    x = x.contiguous()
    stacked = empty((g.size,) + tuple(x.shape), dtype=x.dtype)
    C.all_gather_into_tensor(stacked, x)
    lead, k = tuple(x.shape[:-1]), x.shape[-1]
    return stacked.movedim(0, -2).reshape(lead + (g.size * k,))


def _my_slice_last_dim(x: Tensor, g) -> Tensor:
    k = x.shape[-1]
    if k % g.size:
        raise ValueError(f"the last dim ({k}) must be divisible by the world size ({g.size})")
    part = k // g.size
    return x[..., g.rank * part:(g.rank + 1) * part].contiguous()


class _CopyToParallelRegion(Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        C.all_reduce(grad)
        return grad


class _ReduceFromParallelRegion(Function):
    @staticmethod
    def forward(ctx, x):
        out = x.contiguous().clone()
        C.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad


class _GatherFromParallelRegion(Function):
    @staticmethod
    def forward(ctx, x):
        return _all_gather_last_dim(x, _group())

    @staticmethod
    def backward(ctx, grad):
        return _my_slice_last_dim(grad, _group())


class _ScatterToParallelRegion(Function):
    @staticmethod
    def forward(ctx, x):
        return _my_slice_last_dim(x, _group())

    @staticmethod
    def backward(ctx, grad):
        return _all_gather_last_dim(grad, _group())


def _shard_count(n: int, size: int, what: str) -> int:
    if n % size:
        raise ValueError(f"{what} ({n}) must be divisible by the world size ({size})")
    return n // size


class ColumnParallelLinear(Module):
    """Linear(in_features, out_features) with the weight split by output features across
    the ranks (NOTE [ Tensor-parallel linear layers ]): rank r holds weight rows and bias
    entries [r * out/N, (r + 1) * out/N).  Input (*, in_features), the same on every rank;
    output (*, out_features) with gather_output, else this rank's (*, out_features / N).
    The full layer is initialised as nn.Linear on rank 0 and broadcast, so the shards are
    those of one Linear; from_linear shards a given one.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 gather_output: bool = True, dtype: Any = None) -> None:
        super().__init__()
        from strided.nn import Linear
        g = _group()
        self.in_features, self.out_features = in_features, out_features
        self.gather_output = gather_output
        self.out_per_rank = _shard_count(out_features, g.size, "out_features")
        self._load_shards(Linear(in_features, out_features, bias, dtype=dtype), broadcast=True)

    def _load_shards(self, full: Module, broadcast: bool) -> None:
        from strided.distributed.ddp import _broadcast_raw
        g = _group()
        lo, hi = g.rank * self.out_per_rank, (g.rank + 1) * self.out_per_rank
        w, b = full.weight.detach(), full.bias.detach() if full.bias is not None else None
        if broadcast:
            for t in (w, b):
                if t is not None:
                    _broadcast_raw(g, t)
        self.weight = Parameter(w[lo:hi].clone())
        if b is not None:
            self.bias = Parameter(b[lo:hi].clone())
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_linear(cls, linear: Module, gather_output: bool = True) -> ColumnParallelLinear:
        """This rank's shard of an nn.Linear that is the same on every rank (copied)."""
        self = cls.__new__(cls)
        Module.__init__(self)
        g = _group()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.gather_output = gather_output
        self.out_per_rank = _shard_count(linear.out_features, g.size, "out_features")
        self._load_shards(linear, broadcast=False)
        return self

    def forward(self, input: Tensor) -> Tensor:
        from strided.nn import functional as F
        x = _CopyToParallelRegion.apply(input)
        y = F.linear(x, self.weight, self.bias)
        return _GatherFromParallelRegion.apply(y) if self.gather_output else y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"out_per_rank={self.out_per_rank}, bias={self.bias is not None}, "
                f"gather_output={self.gather_output}")


class RowParallelLinear(Module):
    """Linear(in_features, out_features) with the weight split by input features across the
    ranks (NOTE [ Tensor-parallel linear layers ]): rank r holds weight columns
    [r * in/N, (r + 1) * in/N) and the whole bias.  Input: this rank's slice
    (*, in_features / N) with input_is_parallel, else the whole (*, in_features); output
    (*, out_features), the same on every rank (partial products summed by an all-reduce).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 input_is_parallel: bool = False, dtype: Any = None) -> None:
        super().__init__()
        from strided.nn import Linear
        g = _group()
        self.in_features, self.out_features = in_features, out_features
        self.input_is_parallel = input_is_parallel
        self.in_per_rank = _shard_count(in_features, g.size, "in_features")
        self._load_shards(Linear(in_features, out_features, bias, dtype=dtype), broadcast=True)

    def _load_shards(self, full: Module, broadcast: bool) -> None:
        from strided.distributed.ddp import _broadcast_raw
        g = _group()
        lo, hi = g.rank * self.in_per_rank, (g.rank + 1) * self.in_per_rank
        w, b = full.weight.detach(), full.bias.detach() if full.bias is not None else None
        if broadcast:
            for t in (w, b):
                if t is not None:
                    _broadcast_raw(g, t)
        self.weight = Parameter(w[:, lo:hi].clone())
        if b is not None:
            self.bias = Parameter(b.clone())
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_linear(cls, linear: Module, input_is_parallel: bool = False) -> RowParallelLinear:
        """This rank's shard of an nn.Linear that is the same on every rank (copied)."""
        self = cls.__new__(cls)
        Module.__init__(self)
        g = _group()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.input_is_parallel = input_is_parallel
        self.in_per_rank = _shard_count(linear.in_features, g.size, "in_features")
        self._load_shards(linear, broadcast=False)
        return self

    def forward(self, input: Tensor) -> Tensor:
        from strided.nn import functional as F
        x = input if self.input_is_parallel else _ScatterToParallelRegion.apply(input)
        if x.shape[-1] != self.in_per_rank:
            raise ValueError(f"RowParallelLinear expected input (*, {self.in_per_rank}) (this "
                             f"rank's slice of {self.in_features} features), got "
                             f"{list(input.shape)}")
        y = _ReduceFromParallelRegion.apply(F.linear(x, self.weight))
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"in_per_rank={self.in_per_rank}, bias={self.bias is not None}, "
                f"input_is_parallel={self.input_is_parallel}")
