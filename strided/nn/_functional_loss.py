"""Loss functions (PyTorch names, arguments and reduction semantics).

cross_entropy and nll_loss are autograd Functions whose forward and backward are fused
NumPy computations over the (rows, classes) matrix; the others are compositions of
differentiable strided ops.
"""
import numpy as np

from strided._C.tensor import Tensor, from_numpy
from strided.autograd.function import Function


_REDUCTIONS = ("none", "mean", "sum")


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
    """input (N, C, d1..) or (C,) -> (M, C) array; target (N, d1..) or () -> (M,) int64
    array; plus the shape of the unreduced loss."""
    x = input.detach().numpy()
    y = target.detach().numpy()
    if x.ndim == 1:
        if y.ndim != 0:
            raise ValueError(f"{op}: expected a 0-d target for 1-d input, got shape "
                             f"{tuple(y.shape)}")
        return x[None, :], y.reshape(1).astype(np.int64), ()
    if x.ndim < 1 or y.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(f"{op}: expected target of shape {tuple(x.shape[:1] + x.shape[2:])} "
                         f"for input of shape {tuple(x.shape)}, got {tuple(y.shape)}")
    C = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, C)
    return rows, y.reshape(-1).astype(np.int64), y.shape


def _check_targets(y, C, ignore_index, op):
    valid = y != ignore_index
    bad = valid & ((y < 0) | (y >= C))
    if bad.any():
        raise IndexError(f"{op}: Target {int(y[bad][0])} is out of bounds.")
    return valid


def _unrows(grad_rows, shape_in):
    """Inverse of _rows on the input: (M, C) -> input's layout."""
    if len(shape_in) == 1:
        return grad_rows[0]
    N, C = shape_in[0], shape_in[1]
    g = grad_rows.reshape((N,) + tuple(shape_in[2:]) + (C,))
    return np.moveaxis(g, -1, 1)


class _CrossEntropy(Function):
    """Fused log-softmax + NLL.  With p = softmax(x_i), w the class weights (ones if None),
    eps the label smoothing, C classes and y_i the target:
        loss_i = (1 - eps) w[y_i] (-log p[y_i]) + eps / C * sum_c w[c] (-log p[c])
        dloss_i/dx_i = p ((1 - eps) w[y_i] + eps / C * sum(w)) - ((1 - eps) w[y_i] onehot(y_i)
                                                                  + eps / C * w)
    rows whose target is ignore_index contribute 0; 'mean' divides by sum of w[y_i] over the
    rows kept (torch's weighted mean, used for the smoothing term too)."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction, label_smoothing):
        x, y, out_shape = _rows(input, target, "cross_entropy")
        dt = x.dtype
        M, C = x.shape
        valid = _check_targets(y, C, ignore_index, "cross_entropy")
        w = (weight.detach().numpy().astype(dt) if weight is not None else np.ones(C, dt))
        shifted = x - x.max(axis=1, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logp = shifted - lse
        ys = np.where(valid, y, 0)
        wy = np.where(valid, w[ys], 0).astype(dt)
        nll = -logp[np.arange(M), ys] * wy
        eps = label_smoothing
        loss = (1 - eps) * nll
        if eps > 0:
            smooth = -(logp * w).sum(axis=1) * valid
            loss = loss + (eps / C) * smooth
        loss = loss.astype(dt)
        if reduction == "mean":
            denom = wy.sum(dtype=dt)
            with np.errstate(invalid="ignore", divide="ignore"):   # all ignored: nan, as torch
                out = np.asarray(loss.sum(dtype=dt) / denom, dtype=dt)
        elif reduction == "sum":
            denom = None
            out = np.asarray(loss.sum(dtype=dt), dtype=dt)
        else:
            denom = None
            out = loss.reshape(out_shape)
        ctx.stash = (logp, ys, valid, wy, w, eps, denom, reduction, tuple(input.shape))
        return _t(out)

    @staticmethod
    def backward(ctx, grad):
        logp, ys, valid, wy, w, eps, denom, reduction, shape_in = ctx.stash
        M, C = logp.shape
        g = grad.detach().numpy().astype(logp.dtype)
        p = np.exp(logp)
        a = (1 - eps) * wy                                   # weight of the one-hot term
        coef = a + (eps / C) * w.sum() * valid
        gx = p * coef[:, None]
        gx[np.arange(M), ys] -= a
        if eps > 0:
            gx -= (eps / C) * w[None, :] * valid[:, None]
        if reduction == "none":
            gx *= g.reshape(-1)[:, None]
        else:
            if reduction == "mean":     # every row ignored: the rows are 0, so is the grad
                scale = g.reshape(()) / denom if denom != 0 else 0
            else:
                scale = g.reshape(())
            gx *= scale
        return _t(_unrows(gx.astype(logp.dtype), shape_in)), None, None, None, None, None


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
    """loss_i = -w[y_i] input[i, y_i]; the gradient is -w[y_i] at (i, y_i), 0 elsewhere."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        x, y, out_shape = _rows(input, target, "nll_loss")
        dt = x.dtype
        M, C = x.shape
        valid = _check_targets(y, C, ignore_index, "nll_loss")
        w = (weight.detach().numpy().astype(dt) if weight is not None else np.ones(C, dt))
        ys = np.where(valid, y, 0)
        wy = np.where(valid, w[ys], 0).astype(dt)
        loss = (-x[np.arange(M), ys] * wy).astype(dt)
        denom = wy.sum(dtype=dt)
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.asarray(loss.sum(dtype=dt) / denom, dtype=dt)
        elif reduction == "sum":
            out = np.asarray(loss.sum(dtype=dt), dtype=dt)
        else:
            out = loss.reshape(out_shape)
        ctx.stash = (ys, wy, denom, reduction, tuple(input.shape), dt, M, C)
        return _t(out)

    @staticmethod
    def backward(ctx, grad):
        ys, wy, denom, reduction, shape_in, dt, M, C = ctx.stash
        g = grad.detach().numpy().astype(dt)
        gx = np.zeros((M, C), dt)
        if reduction == "none":
            vals = -wy * g.reshape(-1)
        elif reduction == "mean":
            vals = -wy * (g.reshape(()) / denom if denom != 0 else 0)
        else:
            vals = -wy * g.reshape(())
        gx[np.arange(M), ys] = vals
        return _t(_unrows(gx, shape_in)), None, None, None, None


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
