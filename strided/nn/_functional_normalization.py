"""group_norm, instance_norm, rms_norm, local_response_norm and normalize.

group_norm and instance_norm normalise rows of a reshaped input with layer_norm's fused
kernels (NOTE [ Layer-norm kernels ] in strided/_C/kernels/norm.pyx): the (N, C, *) input
viewed as (N * G, C / G * prod(*)) rows for groups, (N * C, prod(*)) for instances, so the
statistics are per group / per instance with the biased variance, as PyTorch's; the
per-channel affine follows as a broadcast multiply-add.  The others are compositions of
differentiable ops.
"""
from __future__ import annotations
from typing import Sequence

from strided._C.core.tensor import Tensor, div
from strided.autograd.grad_mode import no_grad
from strided.nn._functional_norm import batch_norm, layer_norm
from strided.nn._functional_pad import pad
from strided.typeinfo import finfo


def _per_channel(t: Tensor, ndim: int) -> Tensor:
    """A (C,) tensor viewed (C, 1, ..., 1) to broadcast over dim 1 of an ndim-D input."""
    return t.view((t.shape[0],) + (1,) * (ndim - 2))


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        out = out * _per_channel(weight, out.ndim)
    if bias is not None:
        out = out + _per_channel(bias, out.ndim)
    return out


def _normalize_rows(input: Tensor, rows: int, eps: float) -> Tensor:
    """input normalised over each of `rows` equal runs of its elements (in index order)."""
    x2 = input.reshape(rows, input.numel() // rows if rows else 0)
    return layer_norm(x2, (x2.shape[1],), None, None, eps).view(input.shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of C / num_groups channels of a (N, C, *) input over its
    channels and spatial positions (biased variance), then scale and shift per channel by
    weight and bias (C,).

    >>> y = F.group_norm(strided.arange(8.).view(1, 4, 2), 2)
    >>> y[0, :2]
    tensor([[-1.3416, -0.4472],
            [ 0.4472,  1.3416]])
    """
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (p.ndim != 1 or p.shape[0] != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number "
                               f"of channels in input, but got {name} of shape "
                               f"{list(p.shape)} and input of shape {list(input.shape)}")
    if input.numel() == 0:
        return _affine(input * 1.0, weight, bias)
    return _affine(_normalize_rows(input, n * num_groups, eps), weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample of a (N, C, *) input over its spatial positions
    (biased variance), then scale and shift per channel.  With use_input_stats and running
    statistics given, these are updated in place with the batch averages of the instances'
    means and unbiased variances; use_input_stats=False normalises with the running ones.

    >>> F.instance_norm(strided.tensor([[[1., 3.], [0., 4.]]]))
    tensor([[[-1.0000,  1.0000],
             [-1.0000,  1.0000]]])
    """
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("Expected running_mean and running_var to be defined when "
                             "use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[0], input.shape[1]
    spatial = input.numel() // (n * c) if n * c else 0
    if spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {list(input.shape)}")
    if running_mean is not None or running_var is not None:
        with no_grad():
            x = input.detach().reshape(n, c, spatial)
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(x.mean(2).mean(0).to(running_mean.dtype),
                                                     alpha=momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(
                    x.var(2, unbiased=True).mean(0).to(running_var.dtype), alpha=momentum)
    return _affine(_normalize_rows(input, n * c, eps), weight, bias)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x ** 2) + eps) over the last len(normalized_shape) dims, times weight
    (of normalized_shape); eps=None uses finfo(input.dtype).eps, as PyTorch.

    >>> F.rms_norm(strided.tensor([[3., 4.]]), (2,))
    tensor([[0.8485, 1.1314]])
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != tuple(normalized_shape) or \
            k > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != tuple(normalized_shape):
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(normalized_shape)}")
    if eps is None:
        eps = finfo(input.dtype).eps
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """x / (k + alpha / size * sum of x ** 2 over a window of `size` neighbouring
    channels) ** beta, over dim 1 of a (N, C, *) input; the window runs from c - size // 2
    to c + (size - 1) // 2, zero beyond the channels (PyTorch's).

    >>> F.local_response_norm(strided.ones(1, 3, 1), 2, alpha=1.0, k=1.0, beta=1.0)
    tensor([[[0.6667],
             [0.5000],
             [0.5000]]])
    """
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = input * input
    before, after = size // 2, (size - 1) // 2
    # sum over the window: a sum of shifted slices of the zero-padded squares
    padded = pad(sq.movedim(1, -1), (before, after)).movedim(-1, 1)
    acc = padded.narrow(1, 0, c)
    for i in range(1, size):
        acc = acc + padded.narrow(1, i, c)
    div = (acc * (alpha / size) + k).pow(beta)
    return input / div


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p, eps) along dim (the norm broadcast back).

    >>> F.normalize(strided.tensor([[3., 4.]]))
    tensor([[0.6000, 0.8000]])
    """
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    if out is not None:
        return div(input, denom, out=out)
    return input / denom
