"""batch_norm (fused kernels), layer_norm, dropout, embedding."""
from strided._C.kernels import norm as _norm
from strided._C.core.dtypes import int32, int64
from strided._C.core.tensor import where
from strided.creation import zeros
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided.random import rand


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


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
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


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims (biased variance)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != tuple(normalized_shape):
        raise ValueError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                         f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                         f"input of size{list(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    xc = input - mean
    var = (xc * xc).mean(dims, keepdim=True)
    out = xc * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
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


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
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
