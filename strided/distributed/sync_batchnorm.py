"""SyncBatchNorm: batch normalisation with the statistics of the global batch (all ranks).

NOTE [ Synchronised batch statistics ]
Forward: each rank computes its per-channel mean and sum of squared deviations over its own
batch; one all-gather of (count, mean, M2) per layer combines them exactly (Chan's parallel
variance, in float64), so every rank normalises with the global batch's mean and biased
variance, and the running statistics get the unbiased global variance, as BatchNorm on the
whole batch would.  Backward: the input gradient needs the global sums of dy and dy * xhat
(each rank's output depends on every rank's input through the statistics); one all-reduce of
the two per-channel sums gives them.  The weight and bias gradients stay local sums, as in
PyTorch: DistributedDataParallel averages them across ranks like every other gradient.
"""
from __future__ import annotations
from typing import Any

import numpy as np

from strided._C.core.tensor import Tensor
from strided.autograd.function import Function
from strided.distributed.collectives import _as_array
from strided.distributed.process_group import _group, is_initialized
from strided.nn.layers import _BatchNorm
from strided.nn.module import Module


def _channel_shape(x: Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _reduce_dims(x: Tensor) -> list[int]:
    return [0] + list(range(2, x.ndim))


class _SyncBatchNormFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, momentum, g):
        from strided import tensor as _tensor
        dims, cshape = _reduce_dims(x), _channel_shape(x)
        c = x.shape[1]
        n_local = x.numel() // c if c else 0
        if n_local:
            mean_l = x.mean(dims)
            m2_l = ((x - mean_l.view(cshape)) ** 2).sum(dims)
            local = np.concatenate([[n_local], mean_l.numpy().astype(np.float64),
                                    m2_l.numpy().astype(np.float64)])
        else:
            local = np.zeros(1 + 2 * c)
        everyone = np.empty((g.size, 1 + 2 * c))
        g.comm.Allgather(local, everyone)
        counts, means, m2s = everyone[:, 0], everyone[:, 1:1 + c], everyone[:, 1 + c:]
        n = counts.sum()
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {list(x.shape)} on this rank and {int(n)} values per "
                             f"channel over all ranks")
        mean = (counts[:, None] * means).sum(0) / n
        m2 = (m2s + counts[:, None] * (means - mean) ** 2).sum(0)
        var = m2 / n
        invstd = 1.0 / np.sqrt(var + eps)
        mean_t = _tensor(mean, dtype=x.dtype)
        invstd_t = _tensor(invstd, dtype=x.dtype)
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(_tensor(mean, dtype=running_mean.dtype),
                                                 alpha=momentum)
            running_var.mul_(1 - momentum).add_(_tensor(m2 / (n - 1), dtype=running_var.dtype),
                                                alpha=momentum)
        y = (x - mean_t.view(cshape)) * invstd_t.view(cshape)
        if weight is not None:
            y = y * weight.view(cshape)
        if bias is not None:
            y = y + bias.view(cshape)
        ctx.save_for_backward(x, weight, mean_t, invstd_t)
        ctx.g, ctx.n = g, n
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, mean, invstd = ctx.saved_tensors
        g, n = ctx.g, ctx.n
        dims, cshape = _reduce_dims(x), _channel_shape(x)
        xhat = (x - mean.view(cshape)) * invstd.view(cshape)
        sum_dy = dy.sum(dims)
        sum_dy_xhat = (dy * xhat).sum(dims)
        grad_w = sum_dy_xhat.clone() if weight is not None and ctx.needs_input_grad[1] else None
        grad_b = sum_dy.clone() if ctx.has_bias and ctx.needs_input_grad[2] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            both = np.concatenate([sum_dy.numpy(), sum_dy_xhat.numpy()]).astype(np.float64)
            g.comm.Allreduce(g.MPI.IN_PLACE, both, g.MPI.SUM)
            from strided import tensor as _tensor
            c = x.shape[1]
            mean_dy = _tensor(both[:c] / n, dtype=x.dtype).view(cshape)
            mean_dy_xhat = _tensor(both[c:] / n, dtype=x.dtype).view(cshape)
            scale = invstd.view(cshape)
            if weight is not None:
                scale = scale * weight.view(cshape)
            grad_x = (dy - mean_dy - xhat * mean_dy_xhat) * scale
        return grad_x, grad_w, grad_b, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over (N, C, *) input whose training statistics are those of the
    global batch, all ranks' inputs together (NOTE [ Synchronised batch statistics ]); with
    DistributedDataParallel, N processes with batch B train as BatchNorm on one batch of
    N * B.  In eval mode, or before init_process_group, it is BatchNorm with the running
    statistics (eval) or the local batch (training).  Arguments as BatchNorm1d's;
    process_group must be None (the one group).

    >>> strided.distributed.SyncBatchNorm(3)
    SyncBatchNorm(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, device: Any = None, dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         dtype=dtype)
        if process_group is not None:
            _group(process_group)
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels, got input of shape "
                             f"{list(input.shape)}")
        if not self.training or not is_initialized():
            return self._local_forward(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        running = self.track_running_stats and self.running_mean is not None
        if running and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        return _SyncBatchNormFunction.apply(
            input, self.weight, self.bias, self.running_mean if running else None,
            self.running_var if running else None, self.eps, momentum, _group())

    def _local_forward(self, input: Tensor) -> Tensor:
        from strided.nn import functional as F
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if running else None,
                            self.running_var if running else None, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """module with every BatchNorm1d/2d (at any depth) replaced by a SyncBatchNorm holding
        the same parameters and buffers (shared, not copied); module itself when it is one.

        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        >>> strided.distributed.SyncBatchNorm.convert_sync_batchnorm(net)[1]
        SyncBatchNorm(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
        """
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            out.use_bias = module.use_bias
            for name in ("weight", "bias"):
                p = module._parameters.get(name)
                if name in module._parameters:
                    out._parameters[name] = p
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if name in module._buffers:
                    out._buffers[name] = module._buffers[name]
            out.train(module.training)
            return out
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child, process_group)
                if new is not child:
                    module._modules[name] = new
        return module
