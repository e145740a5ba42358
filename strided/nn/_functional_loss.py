"""Loss functions (PyTorch names, arguments and reduction semantics).

cross_entropy (class-index or class-probability targets) and nll_loss run the fused kernels
of strided/_C/kernels/loss.pyx, their backward rows registered in the derivative table (NOTE
[ Derivative table ] in strided/autograd/record.py); the others are compositions of
differentiable strided ops.
"""
from __future__ import annotations
import math

from strided._C.kernels import loss as _k
from strided._C.core.dtypes import int64
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided._C.core.tensor import Tensor


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


def _class_last(t, shape):
    """t of shape (N, C, d1..) as (N, d1*..*dk, C) (a view when d1..dk merge)."""
    if len(shape) == 1:
        return t.unsqueeze(0).unsqueeze(0)
    if len(shape) == 2:
        return t.unsqueeze(1)
    return t.movedim(1, -1).reshape(shape[0], math.prod(shape[2:]), shape[1])


def _rows(input, target, op, probs=False):
    """(x3, t2, out_shape): input (N, C, d1..) or (C,) as the (A, B, C) rows view and target
    (N, d1..) or () as the (A, B) int64 targets the kernels take (NOTE [ Loss rows ] in
    strided/_C/kernels/loss.pyx) -- or, for probability targets, target viewed (A, B, C) like the
    input -- and the shape of the unreduced loss.  Views, no copies, unless the spatial dims
    of a non-contiguous input do not merge."""
    shape = tuple(input.shape)
    if probs:
        if len(shape) == 0:
            raise ValueError(f"{op}: expected an input of 1 or more dims, got a 0-d tensor")
        return (_class_last(input, shape), _class_last(target, shape),
                shape[:1] + shape[2:] if len(shape) > 1 else ())
    if len(shape) == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: expected a 0-d target for 1-d input, got shape "
                             f"{tuple(target.shape)}")
        x3, t2, out_shape = _class_last(input, shape), target.reshape(1, 1), ()
    else:
        out_shape = shape[:1] + shape[2:]
        if len(shape) < 1 or tuple(target.shape) != out_shape:
            raise ValueError(f"{op}: expected target of shape {out_shape} for input of shape "
                             f"{shape}, got {tuple(target.shape)}")
        x3 = _class_last(input, shape)
        t2 = target.unsqueeze(1) if len(shape) == 2 else target.reshape(x3.shape[:2])
    if t2.dtype != int64:
        t2 = t2.long()
    return x3, t2, out_shape


@derivative("cross_entropy", "NllLossBackward0")         # NOTE [ Derivative table ]
def _cross_entropy_grads(ctx, grad):
    """Fused log-softmax + NLL over class-index targets: the kernels of
    strided/_C/kernels/loss.pyx (NOTE [ Cross-entropy formulas ] there); forward keeps each
    row's (max, log-sum-exp) so backward is one pass over the logits."""
    gx = _k.cross_entropy_backward(grad, ctx.x3, ctx.t2, ctx.weight, ctx.ignore_index,
                                   ctx.label_smoothing, ctx.red, ctx.stats, ctx.denom)
    return gx.view(ctx.shapes[0])


@derivative("cross_entropy_probs", "CrossEntropyBackward0")
def _cross_entropy_probs_grads(ctx, grad):
    """Cross entropy against class probabilities t (same shape as input), smoothed as torch
    does (t' = (1 - eps) t + eps / C):  loss_i = -sum_c w_c t'_c log p_c,
    dloss_i/dx_i = p sum_c(w t') - w t'; 'mean' divides by the number of rows.  The kernels
    of strided/_C/kernels/loss.pyx, over the same rows view as class-index targets."""
    gx = _k.cross_entropy_probs_backward(grad, ctx.x3, ctx.p3, ctx.weight, ctx.label_smoothing,
                                         ctx.red, ctx.stats)
    return gx.view(ctx.shapes[0])


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits input (N, C, d1..) or (C,) and class-index target
    (N, d1..) or (), or class-probability target shaped like input."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point:
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"cross_entropy: probability target of shape "
                             f"{tuple(target.shape)} does not match input {tuple(input.shape)}")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    red = _REDUCTION_CODES[reduction]
    eps = float(label_smoothing)
    with no_grad():
        x3, t2, out_shape = _rows(input, target, "cross_entropy")
        out, stats, denom = _k.cross_entropy_forward(x3, t2, weight, ignore_index, eps, red)
        out = out.view(out_shape) if red == 0 else out
    if not requires_record(input):
        return out
    return record("cross_entropy", (input,), out,
                  {"x3": x3, "t2": t2, "weight": weight, "stats": stats, "denom": denom},
                  ignore_index=ignore_index, label_smoothing=eps, red=red)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    red = _REDUCTION_CODES[reduction]
    with no_grad():
        x3, p3, out_shape = _rows(input, target, "cross_entropy", probs=True)
        out, stats = _k.cross_entropy_probs_forward(x3, p3, weight, label_smoothing, red)
        out = out.view(out_shape) if red == 0 else out
    if not requires_record(input):
        return out
    return record("cross_entropy_probs", (input,), out,
                  {"x3": x3, "p3": p3, "weight": weight, "stats": stats},
                  label_smoothing=label_smoothing, red=red)


@derivative("nll_loss", "NllLossBackward0")
def _nll_loss_grads(ctx, grad):
    """loss_i = -w[y_i] input[i, y_i] (a gather); the gradient is -w[y_i] at (i, y_i), 0
    elsewhere (a scatter) -- the kernels of strided/_C/kernels/loss.pyx."""
    gx = _k.nll_loss_backward(grad, ctx.x3, ctx.t2, ctx.weight, ctx.ignore_index, ctx.red,
                              ctx.denom)
    return gx.view(ctx.shapes[0])


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -weight[t] * input[n, t] for t = target[n], given
    log-probabilities input (N, C), (C) or (N, C, d1, ...) and class indices target (N),
    () or (N, d1, ...); targets equal to ignore_index are skipped.  reduction "mean"
    divides by the summed weights of the counted targets, as PyTorch.
    """
    _check_reduction(reduction)
    red = _REDUCTION_CODES[reduction]
    with no_grad():
        x3, t2, out_shape = _rows(input, target, "nll_loss")
        out, denom = _k.nll_loss_forward(x3, t2, weight, ignore_index, red)
        out = out.view(out_shape) if red == 0 else out
    if not requires_record(input):
        return out
    return record("nll_loss", (input,), out,
                  {"x3": x3, "t2": t2, "weight": weight, "denom": denom},
                  ignore_index=ignore_index, red=red)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """(input - target)**2, reduced by reduction ("mean", "sum" or "none")."""
    _check_reduction(reduction)
    with no_grad():                     # one recorded op (MseLossBackward0)
        d = input - target
        out = _reduce(d * d, reduction)
    if not requires_record(input, target):
        return out
    return record("mse_loss", (input, target), out, {"d": d}, reduction=reduction)


@derivative("mse_loss", "MseLossBackward0")
def _mse_grads(ctx, grad):
    """2 (input - target) times the output's gradient (divided by the element count for
    "mean"), summed back to each input's shape; target's is its negative."""
    from strided.autograd.broadcast import sum_to
    d = ctx.d
    g = d * ((2.0 / max(d.numel(), 1)) * grad if ctx.reduction == "mean" else 2.0 * grad)
    return (sum_to(g, ctx.shapes[0]) if ctx.needs[0] else None,
            sum_to(-g, ctx.shapes[1]) if ctx.needs[1] else None)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced by reduction ("mean", "sum" or "none")."""
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
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


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x): stable for any logit."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    from strided._C.core.tensor import softplus
    sp = softplus(-input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _check_beta(name, value, what):
    if value < 0:
        raise RuntimeError(f"{name} does not support negative values for {what}.")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Smooth L1: with z = |input - target|, 0.5 z^2 / beta where z < beta, z - 0.5 beta
    elsewhere (beta = 0: plain L1).  reduction "mean", "sum" or "none"; broadcasts."""
    _check_reduction(reduction)
    _check_beta("smooth_l1_loss", beta, "beta")
    if beta == 0:
        return _reduce((input - target).abs(), reduction)
    from strided._C.core.tensor import where
    with no_grad():                     # one recorded op, not eight (SmoothL1LossBackward0)
        d = input - target
        z = d.abs()
        out = _reduce(where(z < beta, d * d * (0.5 / beta), z - 0.5 * beta), reduction)
    if not requires_record(input, target):
        return out
    return record("smooth_l1_loss", (input, target), out, {"d": d}, beta=beta,
                  reduction=reduction)


@derivative("smooth_l1_loss", "SmoothL1LossBackward0")
def _smooth_l1_grads(ctx, grad):
    """d = input - target: d / beta where |d| < beta, sign(d) elsewhere -- clamp(d / beta,
    -1, 1) -- times the output's gradient (divided by the element count for "mean"), summed
    back to each input's shape; target's is its negative."""
    from strided.autograd.broadcast import sum_to
    d = ctx.d
    g = (d / ctx.beta).clamp(-1.0, 1.0)
    if ctx.reduction == "mean":
        g = g * (grad / max(d.numel(), 1))
    else:
        g = g * grad
    return (sum_to(g, ctx.shapes[0]) if ctx.needs[0] else None,
            sum_to(-g, ctx.shapes[1]) if ctx.needs[1] else None)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Huber: with z = |input - target|, 0.5 z^2 where z < delta, delta (z - 0.5 delta)
    elsewhere (= delta * smooth_l1 with beta = delta).  weight (broadcastable) scales each
    element's loss before the reduction."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    from strided._C.core.tensor import where
    d = input - target
    z = d.abs()
    loss = where(z < delta, d * d * 0.5, (z - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with input given as log-probabilities:
        loss = target (log target - input)              (0 where target = 0)
        loss = exp(target) (target - input)            (log_target=True)
    reduction "mean" (over all elements, as torch), "batchmean" (sum / input.size(0): the
    mathematical KL divergence), "sum" or "none".  Where target is 0 its gradient with
    respect to target is -input (the 0 log 0 term contributes 0), where torch's is nan."""
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        from strided._C.core.tensor import where
        safe = where(target > 0, target, 1.0)           # xlogy: 0 log 0 = 0, no nan gradient
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        if input.ndim == 0:
            return loss.sum()
        return loss.sum() / input.shape[0]
    return _reduce(loss, reduction)
