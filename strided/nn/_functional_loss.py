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


# ---- margin, embedding and likelihood losses: compositions of differentiable ops -------------

def _check_same_ndim(op, **tensors):
    dims = {k: v.ndim for k, v in tensors.items()}
    if len(set(dims.values())) != 1:
        raise RuntimeError(f"{op} : All input tensors should have same dimension but got sizes: "
                           + ", ".join(f"{k}: {list(v.shape)}" for k, v in tensors.items())
                           + " ")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin), target holding 1 or -1 (input1 should
    rank higher, or lower).

    >>> F.margin_ranking_loss(strided.tensor([1., 0.]), strided.tensor([0., 1.]),
    ...                       strided.tensor([1., 1.]), margin=0.5)
    tensor(0.7500)
    """
    _check_reduction(reduction)
    _check_same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (input: distances).

    >>> F.hinge_embedding_loss(strided.tensor([0.3, 0.3]), strided.tensor([1., -1.]))
    tensor(0.5000)
    """
    _check_reduction(reduction)
    from strided._C.core.tensor import where
    margin_part = where(target != 1, (margin - input).clamp(min=0), 0.0)
    self_part = where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1; the
    cosine over the last dim of (N, D) or (D,) inputs, each squared norm plus 1e-12 (as
    PyTorch).

    >>> F.cosine_embedding_loss(strided.tensor([[1., 0.]]), strided.tensor([[0., 1.]]),
    ...                         strided.tensor([1.]))
    tensor(1.)
    """
    _check_reduction(reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.ndim == 1 and (input1.ndim != 2 or input2.ndim != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim == 0 and (input1.ndim != 1 or input2.ndim != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    from strided._C.core.tensor import where
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + 1e-12
    mag2 = (input2 * input2).sum(d) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0),
                                                   0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the pairwise p-norm
    distance (F.pairwise_distance with eps); swap=True uses min(d(a, n), d(p, n)).

    >>> F.triplet_margin_loss(strided.tensor([[0., 0.]]), strided.tensor([[3., 4.]]),
    ...                       strided.tensor([[0., 1.]]), eps=0.0)
    tensor(5.)
    """
    _check_reduction(reduction)
    a, pos, neg = anchor.ndim, positive.ndim, negative.ndim
    if not (a == pos == neg):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {pos}D, "
                           f"and negative {neg}D inputs")
    from strided.nn._functional_distance import pairwise_distance
    from strided.ops import minimum
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) (targets 1 or -1), as a softplus: finite for any
    logit, where PyTorch's log1p(exp(.)) overflows past about 88 (float32) / 709 (float64).

    >>> F.soft_margin_loss(strided.tensor([0.]), strided.tensor([1.]))
    tensor(0.6931)
    """
    _check_reduction(reduction)
    from strided._C.core.tensor import softplus
    return _reduce(softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)) averaged over the classes (the last
    dim), weight (C) scaling each class; input and target (N, C) or (C,).

    >>> F.multilabel_soft_margin_loss(strided.zeros(1, 2), strided.tensor([[1., 0.]]))
    tensor(0.6931)
    """
    _check_reduction(reduction)
    from strided._C.core.tensor import softplus
    # log sigmoid(x) = -softplus(-x)
    loss = target * softplus(-input) + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1] if input.ndim else 1
    loss = loss.sum(input.ndim - 1) / c if input.ndim else loss
    return _reduce(loss, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge: for each sample, sum over classes i != y of
    max(0, margin - x[y] + x[i]) ** p (p 1 or 2), times weight[y], divided by C; input
    (N, C) or (C,), target class indices (N,) or ().

    >>> F.multi_margin_loss(strided.tensor([[0.1, 0.2, 0.4, 0.8]]), strided.tensor([3]))
    tensor(0.3250)
    """
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    unbatched = input.ndim <= 1
    x = input.reshape(1, -1) if unbatched else input
    t = target.reshape(1) if unbatched else target
    n, c = x.shape
    if tuple(t.shape) != (n,):
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{list(target.shape)}")
    t = t.long()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= c):
        raise RuntimeError("target out of range")
    from strided._C.core.tensor import where
    from strided._C.core.dtypes import bool_
    from strided.nn._functional_encoding import one_hot
    xy = x.gather(1, t.unsqueeze(1))
    z = (x - xy + margin).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, t).unsqueeze(1)
    z = where(one_hot(t, c).to(bool_), 0.0, z)
    loss = z.sum(1) / c
    if unbatched:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(input) - target * input (log_input=True) or
    input - target * log(input + eps); full=True adds Stirling's approximation of
    log(target!) where target > 1.

    >>> F.poisson_nll_loss(strided.tensor([0.]), strided.tensor([2.]))
    tensor(1.)
    """
    _check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        from strided._C.core.tensor import where
        safe = where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood 0.5 * (log(var) + (input - target) ** 2 / var)
    (+ 0.5 log(2 pi) when full); var of input's shape, or one fewer trailing dim, or a last
    dim of 1 (one variance per sample), or a number; var is clamped at eps without the clamp
    reaching its gradient, as PyTorch.

    >>> F.gaussian_nll_loss(strided.tensor([1.]), strided.tensor([1.]), strided.tensor([1.]))
    tensor(0.)
    """
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from strided.creation import full as _full
        var = _full(tuple(input.shape), float(var), dtype=input.dtype)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    with no_grad():
        if bool((var < 0).any()):
            raise ValueError("var has negative entry/entries")
        clamp_shift = var.clamp(min=eps) - var
    var = var + clamp_shift
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
