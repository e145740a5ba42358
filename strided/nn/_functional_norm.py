"""batch_norm and layer_norm (fused kernels), dropout, embedding."""
from __future__ import annotations
from typing import Sequence

from strided._C.kernels import norm as _norm
from strided._C.core.dtypes import int32, int64
from strided._C.core.tensor import Tensor, where
from strided.creation import zeros
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided.random import Generator, rand


@derivative("batch_norm", "NativeBatchNormBackward0")     # NOTE [ Derivative table ]
def _batch_norm_grads(ctx, dy):
    """y = (x - mean) * invstd * weight + bias per channel (dim 1), with the fused kernels of
    strided._C.kernels.norm (NOTE [ Batch-norm kernels ]).

    Training: mean/var are the batch's (biased var), and with n values per channel
        dx = weight * invstd / n * (n dy - sum(dy) - xhat sum(dy xhat))
    Evaluation: mean/var are the running estimates, so dx = dy * weight * invstd.
    In both, dweight = sum(dy xhat), dbias = sum(dy) over every dim but 1.
    """
    dx, sum_dy, sum_dy_xhat = _norm.batch_norm_backward(
        dy, ctx.input, ctx.mean, ctx.invstd, ctx.weight, ctx.training, ctx.needs[0])
    return dx, sum_dy_xhat if ctx.needs[1] else None, sum_dy if ctx.needs[2] else None


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over dim 1 of an (N, C, ...) input.  In training the batch
    statistics normalise, and the running ones (if given) are updated in place:
    running = (1 - momentum) running + momentum stat, with the unbiased variance."""
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    n = input.numel() // input.shape[1] if input.shape[1] else 0
    if training:
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {list(input.shape)}")
        with no_grad():
            mean, var = _norm.batch_norm_stats(input.detach())
            invstd = (var + eps).rsqrt()
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var * (n / (n - 1)), alpha=momentum)
    else:
        with no_grad():
            mean = running_mean.detach().to(input.dtype)
            invstd = (running_var.detach() + eps).rsqrt().to(input.dtype)
    with no_grad():
        out = _norm.batch_norm_forward(input, mean, invstd, weight, bias)
    if not requires_record(input, weight, bias):
        return out
    return record("batch_norm", (input, weight, bias), out,
                  {"input": input, "weight": weight, "mean": mean, "invstd": invstd},
                  training=bool(training))


@derivative("layer_norm", "NativeLayerNormBackward0")
def _layer_norm_grads(ctx, dy):
    """The fused backward of strided._C.kernels.norm (NOTE [ Layer-norm kernels ])."""
    x, k = ctx.input, ctx.k
    dx, dw, db = _norm.layer_norm_backward(dy, x, ctx.mean, ctx.rstd, ctx.weight, *ctx.needs)
    shape = x.shape[x.ndim - k:]
    return (dx.view(x.shape) if dx is not None else None,
            dw.view(shape) if dw is not None else None,
            db.view(shape) if db is not None else None)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) dims (biased variance), then scale by
    weight and shift by bias (each of normalized_shape), with one fused kernel each way
    (NOTE [ Layer-norm kernels ] in strided/_C/kernels/norm.pyx)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != tuple(normalized_shape):
        raise ValueError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                         f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                         f"input of size{list(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != tuple(normalized_shape):
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(p.shape)} and normalized_shape = "
                               f"{list(normalized_shape)}")
    d = 1
    for n in normalized_shape:
        d *= n
    if d == 0 or input.numel() == 0:
        return (input * 1.0) if weight is None and bias is None else \
            input * (weight if weight is not None else 1.0) + (bias if bias is not None else 0.0)
    with no_grad():
        out, mean, rstd = _norm.layer_norm_forward(input.detach(), d, weight, bias, eps)
    if not requires_record(input, weight, bias):
        return out
    return record("layer_norm", (input, weight, bias), out,
                  {"input": input, "weight": weight, "mean": mean, "rstd": rstd}, k=k)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p); the mask is
    drawn from strided's generator.  Identity when not training."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = rand(*input.shape, generator=generator, dtype=input.dtype) >= p
        out = where(keep, input * (1.0 / (1.0 - p)), 0.0)
    if inplace:
        with no_grad():
            input.copy_(out)
        return input
    return out


@derivative("embedding", "EmbeddingBackward0")
def _embedding_grads(ctx, grad):
    """out[..., :] = weight[index[...], :] (index_select); dweight[i] = sum of the dout rows
    whose index is i (index_add_), none for padding_idx."""
    wshape = ctx.shapes[1]
    gw = zeros(wshape, dtype=ctx.dtypes[1]).index_add_(0, ctx.flat, grad.reshape(-1, wshape[1]))
    if ctx.padding_idx is not None:
        gw[ctx.padding_idx].zero_()
    return None, gw


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of weight (num_embeddings, embedding_dim) picked by the integer tensor input: the
    result has shape input.shape + (embedding_dim,).  padding_idx's row gets no gradient;
    max_norm, scale_grad_by_freq and sparse are not supported.
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    flat = input.reshape(-1)
    if flat.dtype not in (int64, int32):
        flat = flat.long()
    with no_grad():
        out = weight.index_select(0, flat).view(tuple(input.shape) + (weight.shape[1],))
    if not requires_record(weight):
        return out
    return record("embedding", (None, weight), out, flat=flat, padding_idx=padding_idx)


def _feature_dropout(input, p, training, inplace, generator, channel_dims):
    """Zero whole channels -- every element of input[n, c] (channel_dims = 2) or of
    input[c] (channel_dims = 1) -- with probability p, scaling the kept ones by 1 / (1 - p)
    (torch's feature_dropout)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    nd = input.ndim
    mask_shape = tuple(input.shape[:channel_dims]) + (1,) * (nd - channel_dims)
    if p == 1.0:
        noise = zeros(mask_shape, dtype=input.dtype)
    else:
        keep = rand(*mask_shape, generator=generator, dtype=input.dtype) >= p
        noise = keep.to(input.dtype) * (1.0 / (1.0 - p))
    if inplace:
        return input.mul_(noise)
    return input * noise


def _channel_dims(input, name, batched_ndim):
    nd = input.ndim
    if nd not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, "
                           f"but received a {nd}D input. Note that {name} exists to provide "
                           f"channel-wise dropout on inputs with {batched_ndim - 2} spatial "
                           f"dimension{'s' if batched_ndim > 3 else ''}, a channel dimension, "
                           f"and an optional batch dimension (i.e. {batched_ndim - 1}D or "
                           f"{batched_ndim}D inputs).")
    return 2 if nd == batched_ndim else 1


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L) inputs (torch.nn.functional.dropout1d):
    each channel is zeroed with probability p, the others scaled by 1 / (1 - p)."""
    return _feature_dropout(input, p, training, inplace, generator,
                            _channel_dims(input, "dropout1d", 3))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Channel-wise dropout of (N, C, H, W) inputs: each channel input[n, c] is zeroed with
    probability p, the rest scaled by 1 / (1 - p) (torch.nn.functional.dropout2d).  As in
    torch, dims 0 and 1 are always read as (N, C): a 3-D input gets 1-D channel-wise
    dropout (with a warning), other sizes a deprecation warning."""
    import warnings
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. "
                      f"Note that dropout2d exists to provide channel-wise dropout on inputs "
                      f"with 2 spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _feature_dropout(input, p, training, inplace, generator, min(2, input.ndim))


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Channel-wise dropout of (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _feature_dropout(input, p, training, inplace, generator,
                            _channel_dims(input, "dropout3d", 5))
