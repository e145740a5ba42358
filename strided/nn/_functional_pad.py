"""F.pad (torch.nn.functional.pad): constant, reflect, replicate and circular modes.

pad = (before_last, after_last, before_2nd_last, after_2nd_last, ...) pads the last
len(pad) // 2 dims.  Constant padding writes the input into a filled tensor (autograd's
CopySlices carries the gradient back); a negative amount crops.  The other modes gather:
each padded dim is one index_select with the source index of every output position, so
the gradient is index_select's (index_add_ of the output gradient, which sums the
reflected/replicated/wrapped copies back onto their source).
"""
from __future__ import annotations
from typing import Sequence

import numpy as np

from strided._C.core.tensor import Tensor, from_numpy
from strided.creation import full

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(size, before, after, mode):
    """The input position each output position reads along one dim (NumPy int64)."""
    pos = np.arange(-before, size + after, dtype=np.int64)
    if mode == "reflect":
        period = 2 * (size - 1)
        pos = np.abs(pos)
        if period > 0:
            pos = pos % period
        pos = np.where(pos >= size, period - pos, pos)
    elif mode == "replicate":
        pos = np.clip(pos, 0, size - 1)
    else:                 # circular: torch crops the negative amounts first, then wraps
        lo = max(0, -before)
        kept = size - lo - max(0, -after)
        pos = np.arange(-max(0, before), kept + max(0, after), dtype=np.int64) % kept + lo
    return pos


def _check_non_constant(input, pad, mode):
    k = len(pad) // 2
    nd = input.ndim
    # torch: reflect/replicate/circular pad the last 1, 2 or 3 dims of an input with one
    # or two more dims (unbatched or batched)
    if k > 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n"
            f"Supported combinations for non-constant padding:\n"
            f"  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            f"  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            f"  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    for i in range(k):
        dim = nd - 1 - i
        size = input.shape[dim]
        before, after = pad[2 * i], pad[2 * i + 1]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding "
                               f"({before}, {after}) at dimension {dim} of input "
                               f"{list(input.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size == 0 and (before > 0 or after > 0):
            raise RuntimeError(f"{mode} padding of an empty dimension (dim {dim} of "
                               f"{list(input.shape)}) is not possible")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dims of input.

    pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on.
    mode: "constant" (fill with value, default 0; any number of dims), "reflect" (mirror
    without repeating the edge: pad < size), "replicate" (repeat the edge), "circular"
    (wrap around: pad <= size); the last three pad the last 1-3 dims of a batched or
    unbatched input, as in torch.  Differentiable with respect to input.

    >>> F.pad(strided.arange(3.).view(1, 3), (2, 1), mode="reflect")
    tensor([[2., 1., 0., 1., 2., 1.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be Tensor, not {type(input).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
        _check_non_constant(input, pad, mode)
        out = input
        for i in range(len(pad) // 2):
            dim = input.ndim - 1 - i
            idx = _source_index(input.shape[dim], pad[2 * i], pad[2 * i + 1], mode)
            if len(idx) != input.shape[dim] or (idx != np.arange(len(idx))).any():
                out = out.index_select(dim, from_numpy(idx))
        return out
    nd = input.ndim
    cropped = input
    shape = list(input.shape)
    dest = []                                    # (dim, start) of the input in the output
    for i in range(len(pad) // 2):
        dim = nd - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        size = shape[dim]
        new = size + before + after
        if new < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {before} and "
                               f"{after} resulted in a negative output size, which is "
                               f"invalid. Check dimension {dim} of your input.")
        lo, hi = max(0, -before), size - max(0, -after)     # the input range kept
        if hi < lo:
            lo = hi = max(0, min(lo, size))
        cropped = cropped.narrow(dim, lo, hi - lo)
        dest.append((dim, max(0, before), hi - lo))
        shape[dim] = new
    fill = 0 if value is None else value
    out = full(tuple(shape), fill, dtype=input.dtype)
    region = out
    for dim, start, length in dest:
        region = region.narrow(dim, start, length)
    if region.numel():
        region.copy_(cropped)
    return out
