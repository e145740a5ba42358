"""Rearranging layouts: pixel_shuffle / pixel_unshuffle / channel_shuffle (a view then one
copy) and unfold / fold (im2col and its adjoint col2im).

unfold is views: the padded input's sliding windows are Tensor.unfold along H and W (a view
of shape (N, C, oh, ow, ekh, ekw), ek = dilation * (k - 1) + 1), stepped by the dilation,
permuted to (N, C, kh, kw, oh, ow) and copied once by reshape into (N, C * kh * kw, oh * ow);
its gradient follows from the views'.  fold is the adjoint: each of the kh * kw kernel
offsets adds its (oh, ow) plane into a strided slice of the padded output (kh * kw
strided adds), and its backward row (Col2ImBackward0) is unfold of the gradient.
"""
from __future__ import annotations

from strided._C.core.tensor import Tensor
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided.creation import zeros
from strided.nn._functional_pad import pad
from strided.nn.common_types import _size_2_t


def _check_factor(name: str, what: str, r: int) -> None:
    if r <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {r}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r), r = upscale_factor: each channel group of
    r * r becomes an r x r block of pixels.

    >>> F.pixel_shuffle(strided.arange(8.).view(1, 4, 1, 2), 2)
    tensor([[[[0., 2., 1., 3.],
              [4., 6., 5., 7.]]]])
    """
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    _check_factor("pixel_shuffle", "upscale_factor", r)
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of pixel_shuffle.

    >>> F.pixel_unshuffle(strided.arange(4.).view(1, 1, 2, 2), 2).flatten()
    tensor([0., 1., 2., 3.])
    """
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    _check_factor("pixel_unshuffle", "downscale_factor", r)
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with C = g * k: channel i * k + j moves to j * g + i (ShuffleNet's).

    >>> F.channel_shuffle(strided.arange(4.).view(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value "
                           f"of groups:{groups}")
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(input.shape)


def _pair(v, name):
    t = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(t) != 2:
        raise ValueError(f"{name} must be an int or a tuple of two ints, got {v!r}")
    return t


def _fold_args(kernel_size, dilation, padding, stride):
    k, d, p, s = (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"),
                  _pair(padding, "padding"), _pair(stride, "stride"))
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{k[0]} kernel_width: {k[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{d[0]} dilation_width: {d[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{s[0]} stride_width: {s[1]}")
    return k, d, p, s


def _blocks(size, k, d, p, s):
    return (size + 2 * p - (d * (k - 1) + 1)) // s + 1


def unfold(input: Tensor, kernel_size: _size_2_t, dilation: _size_2_t = 1,
           padding: _size_2_t = 0, stride: _size_2_t = 1) -> Tensor:
    """im2col: the sliding (kh, kw) blocks of a (N, C, H, W) (or unbatched (C, H, W)) input as
    columns, (N, C * kh * kw, L), L the number of block positions.

    >>> F.unfold(strided.arange(9.).view(1, 1, 3, 3), 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D)")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride)
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    oh, ow = _blocks(h, kh, dh, ph, sh), _blocks(w, kw, dw, pw, sw)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({kh}, "
                           f"{kw}), dilation=({dh}, {dw}), padding=({ph}, {pw}), calculated "
                           f"shape of the array of sliding blocks as ({oh}, {ow}), but its "
                           f"components must be at least one.")
    if ph or pw:
        x = pad(x, (pw, pw, ph, ph))
    ekh, ekw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # windows: (N, C, oh, ow, ekh, ekw) views; only the first oh/ow windows are used
    win = x.unfold(2, ekh, sh).unfold(3, ekw, sw)[:, :, :oh, :ow, ::dh, ::dw]
    cols = win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)
    return cols.squeeze(0) if unbatched else cols


@derivative("col2im", "Col2ImBackward0")          # NOTE [ Derivative table ]
def _fold_grads(ctx, grad):
    """fold's adjoint: unfold of the gradient with the same arguments."""
    return unfold(grad, ctx.kernel_size, ctx.dilation, ctx.padding, ctx.stride)


def fold(input: Tensor, output_size: _size_2_t, kernel_size: _size_2_t, dilation: _size_2_t = 1,
         padding: _size_2_t = 0, stride: _size_2_t = 1) -> Tensor:
    """col2im: columns (N, C * kh * kw, L) (or unbatched (C * kh * kw, L)) summed back into a
    (N, C, H, W) image, (H, W) = output_size; overlapping blocks add up.  The adjoint of
    unfold.

    >>> F.fold(strided.ones(1, 4, 4), (3, 3), 2)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {input.ndim}D)")
    (h, w) = _pair(output_size, "output_size")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride)
    unbatched = input.ndim == 2
    cols = input.unsqueeze(0) if unbatched else input
    n, ck, length = cols.shape
    if ck % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={ck} and "
                           f"kernel_size=({kh}, {kw})")
    oh, ow = _blocks(h, kh, dh, ph, sh), _blocks(w, kw, dw, pw, sw)
    if oh * ow != length:
        raise RuntimeError(f"Given output_size=({h}, {w}), kernel_size=({kh}, {kw}), "
                           f"dilation=({dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), "
                           f"expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {oh} * {ow} = {oh * ow}, but got "
                           f"input.size(2)={length}.")
    c = ck // (kh * kw)
    with no_grad():
        blocks = cols.detach().view(n, c, kh, kw, oh, ow) if cols.is_contiguous() else \
            cols.detach().reshape(n, c, kh, kw, oh, ow)
        out = zeros(n, c, h + 2 * ph, w + 2 * pw, dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                dst = out[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                          j * dw: j * dw + sw * (ow - 1) + 1: sw]
                dst.add_(blocks[:, :, i, j])
        if ph or pw:
            out = out[:, :, ph: ph + h, pw: pw + w].contiguous()
    if unbatched:
        out = out.squeeze(0)
    if not requires_record(input):
        return out
    return record("col2im", (input,), out, {}, kernel_size=(kh, kw), dilation=(dh, dw),
                  padding=(ph, pw), stride=(sh, sw))
