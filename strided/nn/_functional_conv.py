"""Convolution in strided.nn.functional: conv1d, conv2d and their backward functions.

PyTorch's names, argument forms, output-shape formula and error messages.  Arguments are
normalised and checked here; the work is done by strided._C.kernels.conv (NOTE [ Convolution as
GEMM ]), which reads any strided input.  Results are contiguous (NCHW order).

conv1d is conv2d of an (N, C, 1, L) view with a (K, C/groups, 1, S) weight; unbatched
inputs ((C, H, W), (C, L)) run as a batch of one.  padding="same" pads d*(k-1) in total,
the smaller half before and the larger after (PyTorch's asymmetric rule); "valid" is 0.
"""
from __future__ import annotations
from operator import index as _index
from typing import Sequence

from strided._C.kernels import conv as _k
from strided._C.core.tensor import Tensor
from strided.autograd.record import derivative, record
from strided.autograd.grad_mode import no_grad, is_grad_enabled
from strided.nn.common_types import _size_1_t, _size_2_t

__all__ = ["conv1d", "conv2d", "conv1d_backward", "conv2d_backward", "conv_output_size",
           "conv_transpose1d", "conv_transpose2d"]

_FLOAT = ("float32", "float64")
_INT64 = 2**63
# NOTE [ Convolution geometry fits in int64 ] in strided/_C/kernels/conv.pyx
_INDEX_MAX = 2**62
# NOTE [ Integer convolution ] in strided/_C/kernels/conv_paths/integer.pxi: PyTorch's CPU
# conv2d also takes these
_FORWARD_DTYPES = _FLOAT + ("uint8", "int32", "int64")


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                     dilation: int) -> int:
    """Outputs along one dim: (size + pads - dilation*(kernel-1) - 1) // stride + 1."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def _ints(value, n, what):
    """value as a tuple of n ints: an int, or a sequence of 1 or n ints (PyTorch's forms)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    try:
        items = tuple(_index(v) for v in items)
    except TypeError:
        bad = next(v for v in items if not _is_int(v))
        raise TypeError(f"conv(): argument '{what}' must be an int or a tuple of ints, "
                        f"not {type(bad).__name__}") from None
    for v in items:
        if not -_INT64 <= v < _INT64:
            raise RuntimeError(f"conv(): {what}={v} does not fit in int64")
    if len(items) == 1:
        return items * n
    if len(items) != n:
        raise RuntimeError(f"expected {what} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got "
                           f"{what}={list(items)}")
    return items


def _is_int(v):
    try:
        _index(v)
        return True
    except TypeError:
        return False


def _shape(t):
    return list(t.shape)


def _resolve(op, input, weight, bias, stride, padding, dilation, groups, one_d):
    """Check the arguments as PyTorch does; returns (x4, w4, batched, geometry) where
    geometry = (sH, sW, pH, pW, dH, dW, groups, pH_end, pW_end) for the kernels."""
    n = 1 if one_d else 2
    dim = n + 2
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): input and weight must be Tensors")
    s = _ints(stride, n, "stride")
    d = _ints(dilation, n, "dilation")
    groups = _index(groups)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        pad = padding
    else:
        pad = _ints(padding, n, "padding")
    wshape = _shape(weight)
    ishape = _shape(input)
    if len(wshape) != dim:
        raise RuntimeError("weight should have at least three dimensions" if len(wshape) < 3
                           else f"Expected {len(wshape)}-dimensional input for "
                                f"{len(wshape)}-dimensional weight {wshape}, but got "
                                f"{len(ishape)}-dimensional input of size {ishape} instead")
    if len(ishape) not in (dim - 1, dim):
        kind = "2D (unbatched) or 3D (batched)" if one_d else "3D (unbatched) or 4D (batched)"
        raise RuntimeError(f"Expected {kind} input to {op}, but got input of size: {ishape}")
    if any(v <= 0 for v in s):
        raise RuntimeError("non-positive stride is not supported")
    if pad not in ("same", "valid") and any(v < 0 for v in pad):
        raise RuntimeError("negative padding is not supported")
    if any(v <= 0 for v in d):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    dtypes = _FLOAT if op.endswith("_backward") else _FORWARD_DTYPES
    if input.dtype.name not in dtypes or weight.dtype.name not in dtypes:
        bad = input.dtype.name if input.dtype.name not in dtypes else weight.dtype.name
        raise TypeError(f'"{op}" not implemented for \'{_torch_name(bad)}\' (supported: '
                        f'{", ".join(dtypes)})')
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {_torch_name(input.dtype.name)} but found "
                           f"{_torch_name(weight.dtype.name)}")
    batched = len(ishape) == dim
    x = input if batched else input.unsqueeze(0)
    w = weight
    if one_d:
        x = x.unsqueeze(2)
        w = w.unsqueeze(2)
        s, d = (1,) + s, (1,) + d
        if pad not in ("same", "valid"):
            pad = (0,) + pad
    C = x.shape[1]
    K = w.shape[0]
    if K == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least 1 at "
                           f"dimension 0, but got weight of size {wshape} instead")
    if K < groups or K % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size [{wshape}] instead")
    if K == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least 1 at "
                           f"dimension 0, but got weight of size {wshape} instead")
    if w.shape[1] * groups != C:
        xs = _shape(input) if batched else [1] + _shape(input)
        raise RuntimeError(f"Given groups={groups}, weight of size {wshape}, expected "
                           f"input{xs} to have {w.shape[1] * groups} channels, but got {C} "
                           f"channels instead")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}(): bias must be a Tensor or None")
        if len(bias.shape) != 1 or bias.shape[0] != K:
            raise RuntimeError(f"Given weight of size {wshape}, expected bias to be "
                               f"1-dimensional with {K} elements, but got bias of size "
                               f"{_shape(bias)} instead")
        if bias.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {_torch_name(input.dtype.name)} but "
                               f"found {_torch_name(bias.dtype.name)}")
    kernel = tuple(w.shape[2:])
    if pad == "same":
        if any(v != 1 for v in s):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        before, after = [], []
        for k_, d_ in zip(kernel, d):
            total = d_ * (k_ - 1)
            before.append(total // 2)
            after.append(total - total // 2)
    elif pad == "valid":
        before, after = [0, 0], [0, 0]
    else:
        before, after = list(pad), list(pad)
    H, W = x.shape[2:]
    padded = (H + before[0] + after[0], W + before[1] + after[1])
    eff = tuple(d_ * (k_ - 1) + 1 for k_, d_ in zip(kernel, d))
    if max(padded + eff) > _INDEX_MAX:
        what = (f"padding={[before[i] + after[i] for i in range(2 - n, 2)]} in all"
                if max(padded) > _INDEX_MAX
                else f"dilation={list(d[-n:])} with kernel size {list(kernel[-n:])}")
        raise RuntimeError(f"{op}(): {what} gives a padded input or dilated kernel size "
                           f"past {_INDEX_MAX} (at most 2**62 per dim is supported)")
    if padded[0] < eff[0] or padded[1] < eff[1]:
        if one_d:
            raise RuntimeError(f"Calculated padded input size per channel: ({padded[1]}). "
                               f"Kernel size: ({eff[1]}). Kernel size can't be greater than "
                               f"actual input size")
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x "
                           f"{padded[1]}). Kernel size: ({eff[0]} x {eff[1]}). Kernel size "
                           f"can't be greater than actual input size")
    geometry = (s[0], s[1], before[0], before[1], d[0], d[1], groups, after[0], after[1])
    return x, w, batched, geometry


# NOTE [ Convolution argument cache ]
# Checking and normalising conv2d's arguments in Python costs ~10 us a call, more than the
# kernel for a small layer.  Everything _resolve decides depends only on the shapes and
# dtypes of input, weight and bias and on the (hashable) stride, padding, dilation and
# groups, so a successful resolution is remembered under exactly that key; a repeated
# call (every training step) only rebuilds the views.  Calls that raise are not cached.
_resolved = {}
_RESOLVED_MAX = 512


def _resolve_cached(op, input, weight, bias, stride, padding, dilation, groups, one_d):
    """_resolve through NOTE [ Convolution argument cache ]."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        return _resolve(op, input, weight, bias, stride, padding, dilation, groups, one_d)
    try:
        key = (op, input.shape, input.dtype, weight.shape, weight.dtype,
               None if bias is None else (bias.shape, bias.dtype) if isinstance(bias, Tensor)
               else type(bias), stride, padding, dilation, groups)
        hit = _resolved.get(key)
    except TypeError:                               # unhashable arguments (lists)
        return _resolve(op, input, weight, bias, stride, padding, dilation, groups, one_d)
    if hit is None:
        x, w, batched, geometry = _resolve(op, input, weight, bias, stride, padding, dilation,
                                           groups, one_d)
        if len(_resolved) >= _RESOLVED_MAX:
            _resolved.clear()
        _resolved[key] = (batched, geometry)
        return x, w, batched, geometry
    batched, geometry = hit
    x = input if batched else input.unsqueeze(0)
    w = weight
    if one_d:
        x = x.unsqueeze(2)
        w = w.unsqueeze(2)
    return x, w, batched, geometry


def _torch_name(name):
    return {"float32": "Float", "float64": "Double", "uint8": "Byte", "int32": "Int",
            "int64": "Long", "bool": "Bool"}.get(name, name)


def _records(input, weight, bias):
    return is_grad_enabled() and (
        (isinstance(input, Tensor) and input.requires_grad)
        or (isinstance(weight, Tensor) and weight.requires_grad)
        or (isinstance(bias, Tensor) and bias.requires_grad))


def _subsampled_pointwise(input, weight, stride, padding, one_d):
    """(sH, sW) when conv2d is 1x1 with stride > 1 and no padding, else None.  Such a
    convolution (ResNet's projection shortcuts) is a stride-1 1x1 convolution of the view
    input[..., ::sH, ::sW], which skips the 3/4 of the input that is never read."""
    if one_d or not isinstance(weight, Tensor) or not isinstance(input, Tensor) \
            or weight.ndim != 4 or weight.shape[2] != 1 or weight.shape[3] != 1 \
            or input.ndim not in (3, 4) or padding not in (0, (0, 0), [0, 0], "valid"):
        return None
    s = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if len(s) != 2 or not all(isinstance(v, int) and v >= 1 for v in s) or s == (1, 1):
        return None
    return s


def _conv(op, input, weight, bias, stride, padding, dilation, groups, one_d):
    sub = _subsampled_pointwise(input, weight, stride, padding, one_d)
    if sub is not None:
        return _conv(op, input[..., ::sub[0], ::sub[1]].contiguous(), weight, bias, 1, 0,
                     dilation, groups, one_d)
    if _records(input, weight, bias):
        with no_grad():
            out = _conv(op, input, weight, bias, stride, padding, dilation, groups, one_d)
        # like PyTorch, backward checks input and weight (not bias) for in-place changes
        return record("convolution", (input, weight, bias), out,
                      {"input": input, "weight": weight}, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, one_d=one_d)
    x, w, batched, (sH, sW, pH, pW, dH, dW, groups, pHe, pWe) = _resolve_cached(
        op, input, weight, bias, stride, padding, dilation, groups, one_d)
    out = _k.conv2d_forward(x, w.contiguous(), None if bias is None else bias.contiguous(),
                            sH, sW, pH, pW, dH, dW, groups, pHe, pWe)
    if one_d:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_2_t = 1,
           padding: _size_2_t | str = 0, dilation: _size_2_t = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation), as torch.nn.functional.conv2d.

    input (N, C, H, W) or (C, H, W); weight (K, C/groups, R, S); bias (K,) or None.
        out[n, k, oh, ow] = bias[k] + sum over c < C/groups, r < R, s < S of
            weight[k, c, r, s] * input[n, g*C/groups + c, oh*sH - pH + r*dH, ow*sW - pW + s*dW]
    with g = k // (K/groups) and input 0 outside its bounds.  stride, padding, dilation: an
    int or a pair; padding also "valid" (0) or "same" (output size = input size; stride 1;
    an odd total padding puts the extra row/column after).  OH = (H + 2*pH - dH*(R-1) - 1)
    // sH + 1.  dtypes float32, float64, and (forward only, as PyTorch on CPU) uint8,
    int32, int64, computed in the input's type with wrap-around; bool is refused.
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, False)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _size_1_t = 1,
           padding: _size_1_t | str = 0, dilation: _size_1_t = 1, groups: int = 1) -> Tensor:
    """1-D convolution of input (N, C, L) or (C, L) with weight (K, C/groups, S), as
    torch.nn.functional.conv1d (conv2d with H = 1)."""
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, True)


def _backward(op, grad_output, input, weight, stride, padding, dilation, groups, output_mask,
              one_d):
    x, w, batched, (sH, sW, pH, pW, dH, dW, groups, pHe, pWe) = _resolve_cached(
        op, input, weight, None, stride, padding, dilation, groups, one_d)
    mask = tuple(bool(m) for m in output_mask)
    if len(mask) != 3:
        raise RuntimeError(f"{op}: output_mask must have 3 entries, got {len(mask)}")
    g = grad_output
    if not batched:
        g = g.unsqueeze(0)
    if one_d:
        g = g.unsqueeze(2)
    if g.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {_torch_name(x.dtype.name)} but found "
                           f"{_torch_name(g.dtype.name)} for grad_output")
    gi, gw, gb = _k.conv2d_backward(g.contiguous(), x, w.contiguous(), sH, sW, pH, pW, dH, dW,
                                    groups, mask[0], mask[1], mask[2], pHe, pWe)
    if gi is not None:
        if one_d:
            gi = gi.squeeze(2)
        if not batched:
            gi = gi.squeeze(0)
    if gw is not None and one_d:
        gw = gw.squeeze(2)
    return gi, gw, gb


def conv2d_backward(grad_output: Tensor, input: Tensor, weight: Tensor, stride: _size_2_t = 1,
                    padding: _size_2_t | str = 0, dilation: _size_2_t = 1, groups: int = 1,
                    output_mask: Sequence[bool] = (True, True, True)
                    ) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """(grad_input, grad_weight, grad_bias) of conv2d(input, weight, bias, stride, padding,
    dilation, groups) for the output gradient grad_output; an entry is None when its
    output_mask entry is False.
        grad_input  = col2im(W^T @ grad_output)      (an accumulating scatter); for stride 1,
                      the convolution of grad_output with the flipped, transposed weight
        grad_weight = sum over n of grad_output[n] @ im2col(input[n])^T
        grad_bias   = grad_output summed over N, OH, OW
    """
    return _backward("conv2d_backward", grad_output, input, weight, stride, padding, dilation,
                     groups, output_mask, False)


def conv1d_backward(grad_output: Tensor, input: Tensor, weight: Tensor, stride: _size_1_t = 1,
                    padding: _size_1_t | str = 0, dilation: _size_1_t = 1, groups: int = 1,
                    output_mask: Sequence[bool] = (True, True, True)
                    ) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """conv2d_backward for conv1d."""
    return _backward("conv1d_backward", grad_output, input, weight, stride, padding, dilation,
                     groups, output_mask, True)


@derivative("convolution", "ConvolutionBackward0")      # NOTE [ Derivative table ]
def _convolution_grads(ctx, g):
    back = conv1d_backward if ctx.one_d else conv2d_backward
    return back(g, ctx.input, ctx.weight, ctx.stride, ctx.padding, ctx.dilation, ctx.groups,
                ctx.needs)


# ---- transposed convolution ----------------------------------------------------------------
#
# NOTE [ Transposed convolution ]
# conv_transpose2d(x, w) with w of shape (Cin, Cout/groups, R, S) is the gradient of a
# convolution with respect to its input: take conv2d(y, w) for y of shape (N, Cout, OH, OW)
# -- w read as a convolution weight with K = Cin output channels -- whose output has x's
# shape (N, Cin, H, W); then conv_transpose2d(x, w) = d<conv2d(y, w), x>/dy, which is what
# strided's conv2d_backward computes for grad_output = x.  Hence, with the same stride,
# padding, dilation and groups:
#     forward      out = conv2d_backward(grad_output=x, input shape (N, Cout, OH, OW), w)[0]
#     d/dx         conv2d(dout, w)                      (the forward convolution)
#     d/dw         conv2d_backward(grad_output=x, input=dout, w)[1]   (roles swapped)
#     d/dbias      dout summed over N, OH, OW
# OH = (H - 1) sH - 2 pH + dH (R - 1) + output_padding + 1.  The convolution of an OH-row
# input has floor(((H - 1) sH + output_padding) / sH) + 1 rows: H, or more when
# output_padding >= stride (allowed when dilation > stride); x is then padded with zero rows
# at the end to that count (they add nothing) and d/dx is cropped back to H.

def _conv_transpose_args(input, weight, bias, stride, padding, output_padding, groups,
                         dilation, one_d, op):
    n = 1 if one_d else 2
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): input and weight must be Tensors")
    s = _ints(stride, n, "stride")
    p = _ints(padding, n, "padding")
    op_ = _ints(output_padding, n, "output_padding")
    d = _ints(dilation, n, "dilation")
    groups = _index(groups)
    dim = n + 2
    if weight.ndim != dim:
        raise RuntimeError(f"{op}(): expected {dim}-D weight (in_channels, out_channels/groups, "
                           f"kernel...), got shape {list(weight.shape)}")
    if input.ndim not in (dim - 1, dim):
        kind = "2D (unbatched) or 3D (batched)" if one_d else "3D (unbatched) or 4D (batched)"
        raise RuntimeError(f"Expected {kind} input to {op}, but got input of size: "
                           f"{list(input.shape)}")
    if any(v <= 0 for v in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    if any(v < 0 for v in op_):
        raise RuntimeError("negative output_padding is not supported")
    if any(v <= 0 for v in d):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(o >= st and o >= dl for o, st, dl in zip(op_, s, d)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, "
                           f"but got output_padding={list(op_)} stride={list(s)} "
                           f"dilation={list(d)}")
    if input.dtype.name not in _FLOAT or weight.dtype != input.dtype:
        raise TypeError(f"{op}(): input and weight must both be float32 or float64, got "
                        f"{input.dtype.name} and {weight.dtype.name}")
    batched = input.ndim == dim
    x = input if batched else input.unsqueeze(0)
    w = weight
    if one_d:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        s, p, op_, d = (1,) + s, (0,) + p, (0,) + op_, (1,) + d
    Cin = x.shape[1]
    if w.shape[0] != Cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {w.shape[0]} channels, but got "
                           f"{Cin} channels instead")
    if Cin % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size "
                           f"{list(weight.shape)} instead")
    Cout = w.shape[1] * groups
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.ndim != 1 or bias.shape[0] != Cout:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, "
                               f"expected bias to be 1-dimensional with {Cout} elements, but "
                               f"got bias of size {list(getattr(bias, 'shape', ()))} instead")
        if bias.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {_torch_name(input.dtype.name)} but found "
                               f"{_torch_name(bias.dtype.name)}")
    H, W = x.shape[2:]
    R, Sk = w.shape[2:]
    out_hw = tuple((i - 1) * st - 2 * pd + dl * (k - 1) + o + 1
                   for i, st, pd, dl, k, o in zip((H, W), s, p, d, (R, Sk), op_))
    if min(out_hw) <= 0:
        raise RuntimeError(f"Given input size per channel: ({H} x {W}). Calculated output "
                           f"size per channel: ({out_hw[0]} x {out_hw[1]}). Output size is "
                           f"too small")
    conv_hw = tuple(conv_output_size(o, k, st, pd, pd, dl)
                    for o, k, st, pd, dl in zip(out_hw, (R, Sk), s, p, d))
    geometry = (s[0], s[1], p[0], p[1], d[0], d[1], groups)
    return x, w, batched, (x.shape[0], Cout) + out_hw, conv_hw, geometry


def _pad_rows(x, conv_hw):
    """x (N, C, H, W) zero-padded at the end to conv_hw rows/columns, contiguous."""
    H, W = x.shape[2:]
    if (H, W) == tuple(conv_hw):
        return x.contiguous()
    from strided.creation import zeros
    out = zeros(x.shape[0], x.shape[1], conv_hw[0], conv_hw[1], dtype=x.dtype)
    out[:, :, :H, :W] = x
    return out


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups,
                    dilation, one_d):
    x, w, batched, out_shape, conv_hw, (sH, sW, pH, pW, dH, dW, g) = _conv_transpose_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation, one_d, op)
    if _records(input, weight, bias):
        with no_grad():
            out = _conv_transpose(op, input, weight, bias, stride, padding, output_padding,
                                  groups, dilation, one_d)
        return record("conv_transpose", (input, weight, bias), out,
                      {"input": input, "weight": weight}, stride=stride, padding=padding,
                      output_padding=output_padding, groups=groups, dilation=dilation,
                      one_d=one_d, name=op)
    from strided.creation import zeros
    # the convolution's input, for its shape only (the input-gradient kernels never read
    # it; zeros, lazily mapped, keep that harmless even if a path did)
    shape_only = zeros(*out_shape, dtype=x.dtype)
    gx = _pad_rows(x, conv_hw)
    out, _, _ = _k.conv2d_backward(gx, shape_only, w.contiguous(), sH, sW, pH, pW, dH, dW, g,
                                   True, False, False)
    if bias is not None:
        out.add_(bias.view(1, -1, 1, 1))
    if one_d:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


@derivative("conv_transpose", "ConvolutionBackward0")      # NOTE [ Transposed convolution ]
def _conv_transpose_grads(ctx, grad):
    x, w, batched, out_shape, conv_hw, (sH, sW, pH, pW, dH, dW, g) = _conv_transpose_args(
        ctx.input, ctx.weight, None, ctx.stride, ctx.padding, ctx.output_padding, ctx.groups,
        ctx.dilation, ctx.one_d, ctx.name)
    gy = grad if batched else grad.unsqueeze(0)
    if ctx.one_d:
        gy = gy.unsqueeze(2)
    gy = gy.contiguous()
    gi = gw = gb = None
    if ctx.needs[0]:
        gi = _k.conv2d_forward(gy, w.contiguous(), None, sH, sW, pH, pW, dH, dW, g, -1, -1)
        H, W = x.shape[2:]
        if tuple(gi.shape[2:]) != (H, W):
            gi = gi[:, :, :H, :W].contiguous()
        if ctx.one_d:
            gi = gi.squeeze(2)
        if not batched:
            gi = gi.squeeze(0)
    if ctx.needs[1]:
        _, gw, _ = _k.conv2d_backward(_pad_rows(x, conv_hw), gy, w.contiguous(), sH, sW, pH, pW,
                                      dH, dW, g, False, True, False)
        if ctx.one_d:
            gw = gw.squeeze(2)
    if ctx.needs[2]:
        gb = gy.sum((0, 2, 3))
    return gi, gw, gb


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: _size_2_t = 1, padding: _size_2_t = 0, output_padding: _size_2_t = 0,
                     groups: int = 1, dilation: _size_2_t = 1) -> Tensor:
    """2-D transposed convolution ("deconvolution"), as torch.nn.functional.conv_transpose2d.

    input (N, Cin, H, W) or (Cin, H, W); weight (Cin, Cout/groups, R, S); bias (Cout,) or
    None.  Each input element scatters weight-scaled copies into the output:
        out[n, g*Cout/groups + k, h*sH - pH + r*dH, w*sW - pW + s*dW] +=
            input[n, c, h, w] * weight[c, k, r, s]        (c in group g)
    OH = (H - 1) sH - 2 pH + dH (R - 1) + output_padding_h + 1 (likewise OW); output_padding
    must be smaller than the stride or the dilation.  It is the input gradient of conv2d
    with the same arguments (NOTE [ Transposed convolution ]); float32 and float64, with
    gradients for input, weight and bias.
    """
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, False)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: _size_1_t = 1, padding: _size_1_t = 0, output_padding: _size_1_t = 0,
                     groups: int = 1, dilation: _size_1_t = 1) -> Tensor:
    """1-D transposed convolution of input (N, Cin, L) or (Cin, L) with weight
    (Cin, Cout/groups, S), as torch.nn.functional.conv_transpose1d (conv_transpose2d with
    H = 1)."""
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, True)
