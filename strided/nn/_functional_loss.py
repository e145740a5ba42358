"""Loss functions (PyTorch names, arguments and reduction semantics).

cross_entropy (class-index targets) and nll_loss are autograd Functions over the fused
kernels of strided/_C/loss.pyx; cross_entropy against class probabilities is a fused NumPy
computation; the others are compositions of differentiable strided ops.
"""
import math

import numpy as np

from strided._C import loss as _k
from strided._C.dtypes import int64
from strided._C.tensor import Tensor, from_numpy
from strided.autograd.function import Function


_REDUCTIONS = ("none", "mean", "sum")
_REDUCTION_CODES = {"none": 0, "mean": 1, "sum": 2}     # torch's Reduction enum


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _t(arr):
    """A tensor over a NumPy result (0-d stays 0-d, unlike np.ascontiguousarray)."""
    arr = np.asarray(arr)
    return from_numpy(arr if arr.flags.c_contiguous else arr.copy())


def _rows(input, target, op):
    """(x3, t2, out_shape): input (N, C, d1..) or (C,) as the (A, B, C) rows view and target
    (N, d1..) or () as the (A, B) int64 targets the kernels take (NOTE [ Loss rows ] in
    strided/_C/loss.pyx), and the shape of the unreduced loss.  Views, no copies, unless
    the spatial dims of a non-contiguous input do not merge."""
    shape = tuple(input.shape)
    if len(shape) == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: expected a 0-d target for 1-d input, got shape "
                             f"{tuple(target.shape)}")
        x3, t2, out_shape = input.unsqueeze(0).unsqueeze(0), target.reshape(1, 1), ()
    else:
        out_shape = shape[:1] + shape[2:]
        if len(shape) < 1 or tuple(target.shape) != out_shape:
            raise ValueError(f"{op}: expected target of shape {out_shape} for input of shape "
                             f"{shape}, got {tuple(target.shape)}")
        if len(shape) == 2:
            x3, t2 = input.unsqueeze(1), target.unsqueeze(1)
        else:
            N, C = shape[0], shape[1]
            B = math.prod(shape[2:])
            x3, t2 = input.movedim(1, -1).reshape(N, B, C), target.reshape(N, B)
    if t2.dtype != int64:
        t2 = t2.long()
    return x3, t2, out_shape


def _unrows(grad_rows, shape_in):
    """(M, C) NumPy rows -> the input's layout (N, C, d1..) or (C,)."""
    if len(shape_in) == 1:
        return grad_rows[0]
    N, C = shape_in[0], shape_in[1]
    g = grad_rows.reshape((N,) + tuple(shape_in[2:]) + (C,))
    return np.moveaxis(g, -1, 1)


class _CrossEntropy(Function):
    """Fused log-softmax + NLL over class-index targets: the kernels of strided/_C/loss.pyx
    (NOTE [ Cross-entropy formulas ] there); forward keeps each row's (max, log-sum-exp) so
    backward is one pass over the logits."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction, label_smoothing):
        x3, t2, out_shape = _rows(input, target, "cross_entropy")
        red = _REDUCTION_CODES[reduction]
        out, stats, denom = _k.cross_entropy_forward(x3, t2, weight, ignore_index,
                                                     label_smoothing, red)
        ctx.stash = (x3, t2, weight, ignore_index, label_smoothing, red, stats, denom,
                     tuple(input.shape))
        return out.view(out_shape) if red == 0 else out

    @staticmethod
    def backward(ctx, grad):
        x3, t2, weight, ignore_index, eps, red, stats, denom, shape_in = ctx.stash
        gx = _k.cross_entropy_backward(grad, x3, t2, weight, ignore_index, eps, red, stats,
                                       denom)
        return gx.view(shape_in), None, None, None, None, None


class _CrossEntropyProbs(Function):
    """Cross entropy against class probabilities t (same shape as input):
        loss_i = -sum_c w[c] t[c] log p[c];  dloss_i/dx_i = p sum_c(w t) - w t
    'mean' divides by the number of rows (torch's rule for probability targets)."""

    @staticmethod
    def forward(ctx, input, target, weight, reduction, label_smoothing):
        x = input.detach().numpy()
        t = target.detach().numpy().astype(x.dtype)
        if x.ndim == 1:
            xr, tr, out_shape = x[None], t[None], ()
        else:
            C = x.shape[1]
            xr = np.moveaxis(x, 1, -1).reshape(-1, C)
            tr = np.moveaxis(t, 1, -1).reshape(-1, C)
            out_shape = x.shape[:1] + x.shape[2:]
        dt = x.dtype
        C = xr.shape[1]
        if label_smoothing > 0:
            tr = tr * (1 - label_smoothing) + label_smoothing / C
        w = (weight.detach().numpy().astype(dt) if weight is not None else np.ones(C, dt))
        shifted = xr - xr.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        wt = (w * tr).astype(dt)
        loss = -(wt * logp).sum(axis=1)
        M = xr.shape[0]
        if reduction == "mean":
            out = np.asarray(loss.sum(dtype=dt) / dt.type(M), dtype=dt)
        elif reduction == "sum":
            out = np.asarray(loss.sum(dtype=dt), dtype=dt)
        else:
            out = loss.reshape(out_shape)
        ctx.stash = (logp, wt, reduction, tuple(x.shape))
        return _t(out)

    @staticmethod
    def backward(ctx, grad):
        logp, wt, reduction, shape_in = ctx.stash
        g = grad.detach().numpy().astype(logp.dtype)
        gx = np.exp(logp) * wt.sum(axis=1, keepdims=True) - wt
        if reduction == "none":
            gx *= g.reshape(-1)[:, None]
        elif reduction == "mean":
            gx *= g.reshape(()) / logp.shape[0]
        else:
            gx *= g.reshape(())
        return _t(_unrows(gx.astype(logp.dtype), shape_in)), None, None, None, None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross entropy between logits input (N, C, d1..) or (C,) and class-index target
    (N, d1..) or (), or class-probability target shaped like input."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point:
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"cross_entropy: probability target of shape "
                             f"{tuple(target.shape)} does not match input {tuple(input.shape)}")
        return _CrossEntropyProbs.apply(input, target, weight, reduction, label_smoothing)
    return _CrossEntropy.apply(input, target, weight, ignore_index, reduction,
                               float(label_smoothing))


class _NLL(Function):
    """loss_i = -w[y_i] input[i, y_i] (a gather); the gradient is -w[y_i] at (i, y_i), 0
    elsewhere (a scatter) -- the kernels of strided/_C/loss.pyx."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        x3, t2, out_shape = _rows(input, target, "nll_loss")
        red = _REDUCTION_CODES[reduction]
        out, denom = _k.nll_loss_forward(x3, t2, weight, ignore_index, red)
        ctx.stash = (x3, t2, weight, ignore_index, red, denom, tuple(input.shape))
        return out.view(out_shape) if red == 0 else out

    @staticmethod
    def backward(ctx, grad):
        x3, t2, weight, ignore_index, red, denom, shape_in = ctx.stash
        gx = _k.nll_loss_backward(grad, x3, t2, weight, ignore_index, red, denom)
        return gx.view(shape_in), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    _check_reduction(reduction)
    return _NLL.apply(input, target, weight, ignore_index, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)), the logs clamped at -100 as in torch."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the "
                         f"input size ({list(input.shape)}) is deprecated. Please ensure they "
                         f"have the same size.")
    log_x = input.log().clamp(min=-100)
    log_1mx = (1 - input).log().clamp(min=-100)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x): stable for any logit."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    from strided._C.tensor import softplus
    sp = softplus(-input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
