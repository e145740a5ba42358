"""nn.MultiheadAttention: projections, heads as views, the fused attention, out projection."""
from __future__ import annotations

import math

from strided import creation as _creation
from strided._C.core import dtypes as _dtypes
from strided._C.core.device import check_device
from strided._C.core.tensor import Tensor
from strided._C.ops.join import cat
from strided.nn import functional as F
from strided.nn import init
from strided.nn.layers import Linear
from strided.nn.module import Module
from strided.nn.parameter import Parameter
from strided.types import _DTypeLike


def _float_mask(mask, name, dtype):
    """PyTorch's canonical form of a mask: a bool mask (True = masked out) becomes 0 / -inf
    in dtype; a float mask must have dtype."""
    if mask is None:
        return None
    if mask.dtype == _dtypes.bool_:
        return _creation.zeros(*mask.shape, dtype=dtype).masked_fill(mask, -math.inf)
    if mask.dtype != dtype:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


class MultiheadAttention(Module):
    """Attention over num_heads heads of embed_dim // num_heads features, as PyTorch's.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None).
    Inputs are (L, N, E) -- (N, L, E) with batch_first=True -- or unbatched (L, E); key
    and value have kdim / vdim features (embed_dim by default).  key_padding_mask (N, S):
    True (or -inf) marks keys to ignore; attn_mask (L, S) or (N * num_heads, L, S): True
    (bool) masks a position out, floats are added to the scores.  With need_weights=True
    the weights (N, L, S) -- averaged over heads, or (N, num_heads, L, S) -- are computed
    explicitly, as PyTorch does; with need_weights=False the fused
    scaled_dot_product_attention runs and no L x S matrix is made unless two masks have to
    be added.  is_causal is a hint that attn_mask is the causal mask (which must be given).
    Dropout (on the attention weights) applies in training mode only.

    Parameters: in_proj_weight (3E, E) and in_proj_bias (3E,) -- or q_proj_weight,
    k_proj_weight, v_proj_weight when kdim or vdim differ from E --, out_proj (a Linear),
    and with add_bias_kv bias_k, bias_v (1, 1, E) appended to the keys and values;
    add_zero_attn appends a zero key and value per head.

    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = strided.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    (strided.Size([3, 5, 8]), strided.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device: object = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, "MultiheadAttention()")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        dtype = dtype or _dtypes.float32
        empty = _creation.empty
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _project(self, query, key, value):
        """The three input projections, (N, *, E) each."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:         # self-attention: one product
                qkv = F.linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(attn_output, attn_weights or None): see the class docstring."""
        batched = query.ndim == 3
        if query.ndim not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.ndim}-D query tensor")
        kind = "batched (3-D)" if batched else "unbatched (2-D)"     # PyTorch's checks
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be "
                                 f"{query.ndim}-D but found {key.ndim}-D and {value.ndim}-D "
                                 f"tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
            raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be "
                                 f"`None` or {query.ndim - 1}-D but found "
                                 f"{key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
        same = query is key and key is value
        if batched and not self.batch_first:            # (L, N, E) -> (N, L, E): views
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        elif not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if same:                                        # keep self-attention recognisable
            key = value = query
        N, L, E = query.shape
        S = key.shape[1]
        H, D = self.num_heads, self.head_dim
        if E != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, "
                                 f"but got {E}")
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` "
                               "to create this mask.")
        dtype = query.dtype
        if key_padding_mask is not None:                # PyTorch's messages, typo included
            for d, size in enumerate((N, S)):
                if key_padding_mask.shape[d] != size:
                    raise AssertionError(f"Expected key_padded_mask.shape[{d}] to be {size}, "
                                         f"but got {key_padding_mask.shape[d]}")
        kpm = _float_mask(key_padding_mask, "key_padding_mask", dtype)
        use_causal = is_causal and kpm is None and not need_weights
        am = None if use_causal else _float_mask(attn_mask, "attn_mask", dtype)
        if am is not None:
            if am.ndim == 2:
                if tuple(am.shape) != (L, S):
                    raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(am.shape)}, "
                                       f"but should be {(L, S)}.")
                am = am.view(1, 1, L, S)
            elif am.ndim == 3:
                if tuple(am.shape) != (N * H, L, S):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(am.shape)}, "
                                       f"but should be {(N * H, L, S)}.")
                am = am.view(N, H, L, S)

        q, k, v = self._project(query, key, value)          # (N, L|S, E)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(N, 1, E)], 1)
            v = cat([v, self.bias_v.expand(N, 1, E)], 1)
            am = None if am is None else F.pad(am, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        q = q.view(N, L, H, D).transpose(1, 2)              # heads: views, no copy
        k = k.reshape(N, k.shape[1], H, D).transpose(1, 2)
        v = v.reshape(N, v.shape[1], H, D).transpose(1, 2)
        if self.add_zero_attn:
            k = cat([k, _creation.zeros(N, H, 1, D, dtype=dtype)], 2)
            v = cat([v, _creation.zeros(N, H, 1, D, dtype=dtype)], 2)
            am = None if am is None else F.pad(am, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        mask = am
        if kpm is not None:
            kpm = kpm.view(N, 1, 1, kpm.shape[1])
            mask = kpm if mask is None else mask + kpm
        p = self.dropout if self.training else 0.0

        weights = None
        if need_weights:
            scores = (q * (1.0 / math.sqrt(D))) @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, dim=-1)
            if p > 0.0:
                weights = F.dropout(weights, p=p)
            out = weights @ v                               # (N, H, L, D)
            if average_attn_weights:
                weights = weights.mean(1)
        else:
            out = F.scaled_dot_product_attention(q, k, v, mask, p, use_causal)
        out = F.linear(out.transpose(1, 2).reshape(N, L, E), self.out_proj.weight,
                       self.out_proj.bias)
        if batched:
            if not self.batch_first:
                out = out.transpose(0, 1)
        else:
            out = out.squeeze(0)
            if weights is not None:
                weights = weights.squeeze(0)
        return out, weights
