"""F.interpolate / upsample (torch.nn.functional.interpolate) for 1-D and 2-D inputs: modes
"nearest", "nearest-exact", "linear" and "bilinear", with autograd.

Both modes are separable, so each spatial dim is resampled on its own with index_select:
nearest reads one source index per output position, (bi)linear two, blended by weights
w0 = 1 - l and w1 = l.  The indices and weights follow torch's CPU kernels
(area_pixel_compute_source_index, nearest_idx): the scale is in / out, or 1 / scale_factor
when one is given (and recompute_scale_factor is not set); with align_corners the corner
pixels' centres line up, scale = (in - 1) / (out - 1).  Gradients are index_select's
(index_add_), so they sum over every output position an input element feeds.
"""
from __future__ import annotations
import math

import numpy as np

from strided._C.core.tensor import Tensor, from_numpy
from strided.nn.common_types import _ratio_any_t, _size_any_t

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_LINEAR = {"linear": 1, "bilinear": 2}
_NEAREST = ("nearest", "nearest-exact")


def _scale(in_size, out_size, align_corners, scale, ftype=np.float32):
    """torch's area_pixel_compute_scale, in the kernel's arithmetic type `ftype` (float32
    for nearest and float32 inputs, float64 for float64 inputs)."""
    if align_corners:
        return ftype((in_size - 1) / (out_size - 1)) if out_size > 1 else ftype(0)
    if scale is not None and scale > 0:
        return ftype(1.0 / scale)
    return ftype(in_size / out_size)


def _nearest_index(in_size, out_size, scale, exact):
    dst = np.arange(out_size, dtype=np.float32)
    if out_size == in_size:
        return np.arange(out_size, dtype=np.int64)
    if not exact and out_size == 2 * in_size:
        return np.arange(out_size, dtype=np.int64) >> 1
    s = _scale(in_size, out_size, False, scale)
    src = np.floor((dst + np.float32(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _linear_weights(in_size, out_size, align_corners, scale, np_dtype):
    """(i0, i1, w0, w1): out[j] = w0[j] in[i0[j]] + w1[j] in[i1[j]]."""
    ftype = np.float64 if np_dtype == np.float64 else np.float32
    s = _scale(in_size, out_size, align_corners, scale, ftype)
    dst = np.arange(out_size, dtype=ftype)
    if align_corners:
        src = s * dst
    else:
        src = np.maximum(s * (dst + ftype(0.5)) - ftype(0.5), ftype(0))
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    i1 = i0 + (i0 < in_size - 1)
    lam1 = (src - i0.astype(ftype)).astype(np_dtype)
    lam0 = (1 - lam1).astype(np_dtype)
    return i0, i1, lam0, lam1


def _resample_dim(x, dim, out_size, mode, align_corners, scale):
    in_size = x.shape[dim]
    if mode in _NEAREST:
        idx = _nearest_index(in_size, out_size, scale, mode == "nearest-exact")
        if out_size == in_size and (idx == np.arange(in_size)).all():
            return x
        return x.index_select(dim, from_numpy(idx))
    np_dtype = np.float64 if x.dtype.name == "float64" else np.float32
    i0, i1, w0, w1 = _linear_weights(in_size, out_size, align_corners, scale, np_dtype)
    view = [1] * x.ndim
    view[dim] = out_size
    a = x.index_select(dim, from_numpy(i0))
    b = x.index_select(dim, from_numpy(i1))
    return a * from_numpy(w0).view(*view) + b * from_numpy(w1).view(*view)


def interpolate(input: Tensor, size: _size_any_t | None = None,
                scale_factor: _ratio_any_t | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample the spatial dims of input (N, C, L) or (N, C, H, W), as torch does.

    size: the output's spatial size (an int or one per dim) or scale_factor: a float (or one
    per dim), output = floor(input size * scale_factor) -- exactly one of the two.  mode:
    "nearest" (torch's legacy nearest: src = floor(dst * in / out)), "nearest-exact"
    (src = floor((dst + 0.5) * in / out)), "linear" (3-D input) or "bilinear" (4-D input),
    the last two with align_corners (default False).  Float inputs (nearest also takes
    integer ones); differentiable with respect to input.

    >>> x = strided.tensor([[[[1., 2.], [3., 4.]]]])
    >>> F.interpolate(x, scale_factor=2)
    tensor([[[[1., 1., 2., 2.],
              [1., 1., 2., 2.],
              [3., 3., 4., 4.],
              [3., 3., 4., 4.]]]])
    >>> F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False).shape
    strided.Size([1, 1, 4, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): input must be a Tensor, not {type(input).__name__}")
    if antialias:
        raise NotImplementedError("interpolate(): antialias=True is not supported")
    spatial = input.ndim - 2
    if mode in ("trilinear", "bicubic", "area"):
        raise NotImplementedError(f"interpolate(): mode {mode!r} is not supported (nearest, "
                                  f"nearest-exact, linear, bilinear are)")
    if mode not in _NEAREST and mode not in _LINEAR:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    if mode in _NEAREST:
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if spatial not in (1, 2):
        raise NotImplementedError(f"interpolate(): {input.ndim}-D input: strided resamples "
                                  f"3-D (N, C, L) and 4-D (N, C, H, W) inputs")
    if mode in _LINEAR and _LINEAR[mode] != spatial:
        want = {1: "3D", 2: "4D"}[_LINEAR[mode]]
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want} "
                                  f"input")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * spatial
        if len(sizes) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and output size of {sizes}. Please provide "
                             f"input tensor in (N, C, d1, d2, ...,dK) format and output size "
                             f"in (o1, o2, ...,oK) format.")
        out_sizes = [int(v) for v in sizes]
        scales = [None] * spatial
    else:
        factors = (list(scale_factor) if isinstance(scale_factor, (list, tuple))
                   else [scale_factor] * spatial)
        if len(factors) != spatial:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and scale_factor of shape {factors}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             f"scale_factor in (s1, s2, ...,sK) format.")
        out_sizes = [int(math.floor(float(n) * float(f))) for n, f in zip(in_sizes, factors)]
        scales = [None] * spatial if recompute_scale_factor else [float(f) for f in factors]
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(map(str, in_sizes))}) and output "
                           f"({', '.join(map(str, out_sizes))})")
    if mode in _LINEAR and not input.dtype.is_floating_point:
        raise RuntimeError(f'"upsample_{mode}" not implemented for '
                           f"'{input.dtype.name}'")
    out = input
    for i, (o, s) in enumerate(zip(out_sizes, scales)):
        out = _resample_dim(out, 2 + i, o, mode, align_corners, s)
    return out if out is not input else input.clone()


def upsample(input: Tensor, size: _size_any_t | None = None,
             scale_factor: _ratio_any_t | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of interpolate (as in torch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: _size_any_t | None = None,
                     scale_factor: _ratio_any_t | None = None) -> Tensor:
    """Deprecated: interpolate(input, size, scale_factor, mode="nearest")."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: _size_any_t | None = None,
                      scale_factor: _ratio_any_t | None = None) -> Tensor:
    """Deprecated: interpolate(..., mode="bilinear", align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
