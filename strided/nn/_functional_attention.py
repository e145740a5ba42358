"""scaled_dot_product_attention on the fused kernel of strided._C.kernels.attention, and
multi_head_attention_forward on top of it."""
from __future__ import annotations

import math

import numpy as np

from strided._C.kernels import attention as _attn
from strided._C.core.dtypes import bool_ as _bool, float32, float64
from strided._C.core.tensor import Tensor
from strided.autograd.broadcast import sum_to
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided import random as _random


def _unit_last(t):
    """t, or a contiguous copy when its last dim is not unit-strided (the kernel's one
    layout requirement; the copy is O(L x E))."""
    if t.ndim and t.shape[-1] > 1 and t.stride(-1) != 1:
        return t.contiguous()
    return t


def _broadcast(shapes):
    """The broadcast of batch shapes, with PyTorch's message when they don't broadcast."""
    n = max(len(s) for s in shapes)
    out = [1] * n
    for s in shapes:
        s = (1,) * (n - len(s)) + tuple(s)
        for d, size in enumerate(s):
            if size != 1:
                if out[d] != 1 and out[d] != size:
                    raise RuntimeError(f"The size of tensor a ({out[d]}) must match the size "
                                       f"of tensor b ({size}) at non-singleton dimension {d}")
                out[d] = size
    return tuple(out)


def _offsets(t, batch, groups=1):
    """Element offset of each of t's (L, E) matrices over the broadcast batch shape, in
    row-major order of `batch`; groups > 1 maps query head h to t's head h // groups
    (grouped-query attention)."""
    nb = len(batch)
    bshape = (1,) * (nb - (t.ndim - 2)) + tuple(t.shape[:-2])
    strides = (0,) * (nb - (t.ndim - 2)) + tuple(t.stride()[:-2])
    off = np.zeros(batch, dtype=np.int64)
    for d in range(nb):
        if bshape[d] == 1 and not (groups > 1 and d == nb - 1):
            continue
        idx = np.arange(batch[d], dtype=np.int64)
        if groups > 1 and d == nb - 1:
            idx = idx // groups
        shape = [1] * nb
        shape[d] = batch[d]
        off = off + (idx * strides[d]).reshape(shape)
    return off.reshape(-1)


class _Plan:
    """The kernel's view of one call: batch shape, per-matrix offsets, mask strides."""

    def __init__(self, q, k, v, mask, enable_gqa):
        nb = max(q.ndim, k.ndim, v.ndim) - 2
        gk = gv = 1
        kb, vb = tuple(k.shape[:-2]), tuple(v.shape[:-2])
        if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and v.ndim >= 3:
            hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
            if hq % hk != 0 or hq % hv != 0:
                raise RuntimeError("Number of heads in key and value must divide the number "
                                   f"of heads in query (query {hq}, key {hk}, value {hv} heads)")
            gk, gv = hq // hk, hq // hv
            kb = kb[:-1] + (hq,)
            vb = vb[:-1] + (hq,)
        self.batch = _broadcast([q.shape[:-2], kb, vb, (1,) * nb])
        self.gk, self.gv = gk, gv
        self.qoff = _offsets(q, self.batch)
        self.koff = _offsets(k, self.batch, gk)
        self.voff = _offsets(v, self.batch, gv)
        self.moff, self.smi, self.smj = None, 0, 0
        if mask is not None:
            Lq, Lk = q.shape[-2], k.shape[-2]
            if mask.ndim > len(self.batch) + 2:
                raise RuntimeError(f"attn_mask of shape {tuple(mask.shape)} does not broadcast "
                                   f"to the attention's shape {self.batch + (Lq, Lk)}")
            try:
                mask = mask.expand(*self.batch, Lq, Lk)
            except (RuntimeError, ValueError) as e:
                raise RuntimeError(f"attn_mask of shape {tuple(mask.shape)} does not broadcast "
                                   f"to the attention's shape {self.batch + (Lq, Lk)}") from e
            self.moff = _offsets(mask, self.batch)
            self.smi = mask.stride(-2) if Lq > 1 else 0
            self.smj = mask.stride(-1) if Lk > 1 else 0
        self.mask = mask


def _check(q, k, v, attn_mask, dropout_p, is_causal):
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be "
                            f"Tensor, not {type(t).__name__}")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: "
                           f"{v.ndim} instead.")
    if not (q.dtype == k.dtype == v.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {q.dtype} key.dtype: {k.dtype} and value.dtype: "
                           f"{v.dtype} instead.")
    if q.dtype not in (float32, float64):
        raise RuntimeError("scaled_dot_product_attention: expected query, key and value to "
                           f"be float32 or float64, but got {q.dtype}")
    if k.shape[-1] != q.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: key's last dim ({k.shape[-1]}) "
                           f"must equal query's ({q.shape[-1]})")
    if v.shape[-2] != k.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: value's sequence length "
                           f"({v.shape[-2]}) must equal key's ({k.shape[-2]})")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError("scaled_dot_product_attention(): argument 'attn_mask' must be "
                            f"Tensor, not {type(attn_mask).__name__}")
        if attn_mask.dtype != _bool and attn_mask.dtype != q.dtype:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query "
                               f"dtype, but got attn_mask.dtype: {attn_mask.dtype} and  "
                               f"query.dtype: {q.dtype} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


@derivative("scaled_dot_product_attention",                 # NOTE [ Derivative table ]
            "ScaledDotProductFlashAttentionForCpuBackward0")
def _sdpa_grads(ctx, grad):
    """The fused backward (NOTE [ Fused attention ]): recomputes the score tiles from q, k
    and the saved logsumexp, regenerates the dropout mask from the saved seed; gradients
    of broadcast or grouped operands are summed back to their shapes."""
    q, k, v = _unit_last(ctx.query), _unit_last(ctx.key), _unit_last(ctx.value)
    plan = ctx.plan
    B = len(plan.qoff)
    Lq, Lk, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    with no_grad():
        dq, dk, dv, dm = _attn.attention_backward(
            grad.reshape(B, Lq, Ev), q, k, v, ctx.result.reshape(B, Lq, Ev), ctx.lse,
            plan.qoff, plan.koff, plan.voff, plan.mask, plan.moff, plan.smi, plan.smj,
            ctx.is_causal, ctx.scale, ctx.dropout_p, ctx.seed,
            need_mask_grad=ctx.needs[3])
        batch = plan.batch
        gq = sum_to(dq.view(*batch, Lq, E), q.shape) if ctx.needs[0] else None
        gk = gv = None
        if ctx.needs[1]:
            dk = dk.view(*batch, Lk, E)
            if plan.gk > 1:
                dk = dk.view(*batch[:-1], batch[-1] // plan.gk, plan.gk, Lk, E).sum(-3)
            gk = sum_to(dk, k.shape)
        if ctx.needs[2]:
            dv = dv.view(*batch, Lk, Ev)
            if plan.gv > 1:
                dv = dv.view(*batch[:-1], batch[-1] // plan.gv, plan.gv, Lk, Ev).sum(-3)
            gv = sum_to(dv, v.shape)
        gm = sum_to(dm.view(*batch, Lq, Lk), ctx.shapes[3]) if ctx.needs[3] else None
    return gq, gk, gv, gm


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, as PyTorch's, in one fused kernel.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the leading
    dims broadcast.  attn_mask broadcasts to (..., L, S): a bool mask keeps the scores
    where it is True, a float mask (the query's dtype) is added to them.  is_causal hides
    key j from query i when j > i (upper-left aligned, tril(ones(L, S))); it excludes
    attn_mask.  scale defaults to 1 / sqrt(E).  dropout_p > 0 drops attention weights with
    that probability (from strided's generator).  enable_gqa lets key and value have fewer
    heads (dim -3) than query, each dividing its count: query head h reads key head
    h // (Hq // Hk).  A query row with every key masked gives zeros.

    The kernel (NOTE [ Fused attention ]) streams over blocks of keys with an online
    softmax and never allocates an L x S matrix; heads made by view + transpose are read
    in place.  One backward node computes the gradients of query, key, value and a float
    mask that requires grad (that one gradient is L x S by nature).

    >>> q = strided.randn(2, 4, 5, 8)
    >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
    strided.Size([2, 4, 5, 8])
    """
    _check(query, key, value, attn_mask, dropout_p, is_causal)
    q, k, v = _unit_last(query), _unit_last(key), _unit_last(value)
    plan = _Plan(q, k, v, attn_mask, enable_gqa)
    E = q.shape[-1]
    scale = (1.0 / math.sqrt(E) if E > 0 else 1.0) if scale is None else float(scale)
    seed = int(_random._rng(None).integers(0, 1 << 63)) if dropout_p > 0 else 0
    with no_grad():
        out, lse = _attn.attention_forward(q, k, v, plan.qoff, plan.koff, plan.voff,
                                           plan.mask, plan.moff, plan.smi, plan.smj,
                                           bool(is_causal), scale, float(dropout_p), seed)
    out = out.view(*plan.batch, q.shape[-2], v.shape[-1])
    grad_mask = attn_mask if attn_mask is not None and attn_mask.dtype != _bool else None
    if not requires_record(query, key, value, grad_mask):
        return out
    return record("scaled_dot_product_attention", (query, key, value, grad_mask), out,
                  {"query": query, "key": key, "value": value, "result": out, "lse": lse,
                   "attn_mask": attn_mask},             # version-checked, read via plan.mask
                  plan=plan, is_causal=bool(is_causal), scale=scale,
                  dropout_p=float(dropout_p), seed=seed)
