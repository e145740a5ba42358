"""Pooling in strided.nn.functional: max, average and adaptive pooling, 1-D and 2-D, and the
backward functions autograd calls.

PyTorch's names, argument forms, output-shape formulas and error messages.  Arguments are
normalised and checked here; the work is done by strided._C.ops.pool (Tensor level) on the
kernels of strided._C.kernels.pool, which read any strided input.  Results are always contiguous
(PyTorch keeps a channels-last input's memory format; strided returns NCHW order).

1-D pooling is 2-D pooling of an (N, C, 1, L) view; unbatched inputs ((C, H, W), (C, L)) are
pooled as a batch of one.
"""
from __future__ import annotations
from operator import index as _index

from strided._C.ops import pool as _k
from strided._C.core.tensor import Tensor
from strided.autograd.record import derivative, record
from strided.autograd.grad_mode import no_grad, is_grad_enabled
from strided.nn.common_types import _size_1_t, _size_2_t, _size_any_opt_t

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d",
           "max_pool1d_backward", "max_pool2d_backward", "avg_pool1d_backward",
           "avg_pool2d_backward", "adaptive_max_pool1d_backward", "adaptive_max_pool2d_backward",
           "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d_backward",
           "pool_output_size"]


# --------------------------------------------------------------------------------------
# Argument normalisation
# --------------------------------------------------------------------------------------

def _ints(value, n, op, what, allow_none=False):
    """value as a tuple of n ints: an int, or a sequence of 1 or n ints (PyTorch's forms)."""
    if isinstance(value, (tuple, list)):
        if allow_none and len(value) == 0:
            return None
        if len(value) not in (1, n):
            if n == 1:
                raise RuntimeError(f"{op}() argument '{what}' should contain one int "
                                   f"(got {len(value)})")
            omitted = "be omitted, " if allow_none else "be "
            raise RuntimeError(f"{op}: {what} must either {omitted}a single int, or a tuple "
                               f"of two ints")
        items = tuple(value)
    else:
        items = (value,)
    try:
        items = tuple(_index(v) for v in items)
    except TypeError:
        bad = next(v for v in items if not _is_int(v))
        raise TypeError(f"{op}(): argument '{what}' must be an int or a tuple of ints, "
                        f"not {type(bad).__name__}") from None
    _check_int64(op, what, items)
    return items * n if len(items) == 1 else items


def _check_int64(op, what, items):
    """Arguments reach the kernels as int64: a larger one is an argument error, as in
    PyTorch (NOTE [ Convolution geometry fits in int64 ] in strided/_C/kernels/conv.pyx)."""
    for v in items:
        if not -2**63 <= v < 2**63:
            raise RuntimeError(f"{op}(): {what}={v} does not fit in int64")


def _is_int(v):
    try:
        _index(v)
        return True
    except TypeError:
        return False


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: windows that fit (with padding), plus with ceil_mode a
    partial last window as long as it starts inside the input or the left padding."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) \
        // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _shape_str(xs):
    return "x".join(str(x) for x in xs)


def _as_4d(input, op, batched_ndim, one_d):
    """(4-D view of input, batched?).  2-D ops: (N,C,H,W) or (C,H,W); 1-D ops: (N,C,L) or
    (C,L) as (N,C,1,L).  Only the batch dim may be empty (PyTorch's rule)."""
    shape = input.shape
    nd = len(shape)
    if nd not in (batched_ndim - 1, batched_ndim) or 0 in shape[nd - batched_ndim + 1:]:
        kind = "2D or 3D" if one_d else "3D or 4D"
        raise RuntimeError(f"{op}: Expected {kind} (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got: {list(shape)}")
    x = input if nd == batched_ndim else input.unsqueeze(0)
    if one_d:
        x = x.unsqueeze(2)
    return x, nd == batched_ndim


def _unview(t, batched, one_d):
    """Undo _as_4d on a result."""
    if t is None:
        return None
    if one_d:
        t = t.squeeze(2)
    return t if batched else t.squeeze(0)


def _window_2d(op, x4, k, s, p, d, ceil_mode, one_d):
    """Check a fixed window against the (N,C,H,W) input x4; returns (OH, OW).  The order and
    wording of the checks follow PyTorch's pool2d_shape_check / pooling_output_shape, except
    that a zero kernel is reported as such (PyTorch says "stride should not be zero")."""
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = k, s, p, d
    if one_d:
        if kW <= 0:
            raise RuntimeError(f"{op}() kernel_size must be greater than zero, but got {kW}")
        if sW <= 0:
            raise RuntimeError(f"{op}() stride must be greater than zero, but got {sW}")
        if pW < 0:
            raise RuntimeError(f"{op}() padding must be non-negative, but got {pW}")
        if dW <= 0:
            raise RuntimeError(f"{op}() dilation must be greater than zero, but got {dW}")
        if pW > kW // 2:
            raise RuntimeError(f"{op}() padding should be at most half of kernel size, but got "
                               f"padding={pW} and kernel_size={kW}")
    else:
        if kH <= 0 or kW <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kH} "
                               f"kW: {kW}")
        if sH <= 0 or sW <= 0:
            raise RuntimeError(f"stride should be greater than zero, but got dH: {sH} dW: {sW}")
        if dH <= 0 or dW <= 0:
            raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dH} "
                               f"dilationW: {dW}")
        for pad, kern, dil in ((pH, kH, dH), (pW, kW, dW)):
            if pad < 0:
                raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
            if pad > ((kern - 1) * dil + 1) // 2:
                raise RuntimeError(f"pad should be at most half of effective kernel size, but "
                                   f"got pad={pad}, kernel_size={kern} and dilation={dil}")
        if pW > kW // 2 or pH > kH // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, "
                               f"but got padW = {pW}, padH = {pH}, kW = {kW}, kH = {kH}")
    N, C, H, W = x4.shape
    OH = pool_output_size(H, kH, sH, pH, dH, ceil_mode)
    OW = pool_output_size(W, kW, sW, pW, dW, ceil_mode)
    if OH < 1 or OW < 1:
        if one_d and op == "max_pool1d":
            raise RuntimeError(f"{op}() Invalid computed output size: {OW}")
        raise RuntimeError(f"Given input size: ({_shape_str((C, H, W))}). Calculated output "
                           f"size: ({_shape_str((C, OH, OW))}). Output size is too small")
    return OH, OW


def _max_args(op, kernel_size, stride, padding, dilation, one_d):
    n = 1 if one_d else 2
    k = _ints(kernel_size, n, op, "kernel_size")
    s = _ints(stride, n, op, "stride", allow_none=True) if stride is not None else None
    s = k if s is None else s
    p = _ints(padding, n, op, "padding")
    d = _ints(dilation, n, op, "dilation")
    if one_d:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    return k, s, p, d


def _adaptive_size(op, output_size, x4, one_d):
    n = 1 if one_d else 2
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != n:
            raise RuntimeError(f"{op}: output_size must be {n}")
        sizes = tuple(output_size)
    else:
        sizes = (output_size,) * n
    ins = x4.shape[3:] if one_d else x4.shape[2:]
    sizes = tuple(i if o is None else _index(o) for o, i in zip(sizes, ins))
    _check_int64(op, "output_size", sizes)
    if any(o < 0 for o in sizes):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(map(str, sizes))}}}")
    return (1,) + sizes if one_d else sizes


def _adaptive_input(op, input, one_d):
    shape = input.shape
    want = 3 if one_d else 4
    if len(shape) not in (want - 1, want):
        kind = "2D or 3D" if one_d else "3D or 4D"
        raise RuntimeError(f"{op}(): Expected {kind} tensor, but got {list(shape)}")
    for d in range(len(shape) - want + 1, len(shape)):
        if shape[d] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(shape)} with dimension "
                               f"{d} being empty")
    x = input if len(shape) == want else input.unsqueeze(0)
    return (x.unsqueeze(2) if one_d else x), len(shape) == want


# --------------------------------------------------------------------------------------
# Forward
# --------------------------------------------------------------------------------------

def _records(input):
    """True when this call must be recorded for autograd."""
    return is_grad_enabled() and isinstance(input, Tensor) and input.requires_grad


# NOTE [ Pooling argument cache ]
# Normalising and checking a pooling call's arguments costs several microseconds of Python,
# as much as the kernel on a small input.  What they resolve to (the window and the output
# size) depends only on the op, the input's shape and the (hashable) window arguments, so a
# successful resolution is remembered under exactly that key; calls that raise are not
# cached, and unhashable arguments (lists) are resolved every time.
_resolved = {}
_RESOLVED_MAX = 512


def _cached(key, resolve):
    """resolve() through NOTE [ Pooling argument cache ]."""
    try:
        hit = _resolved.get(key)
    except TypeError:
        return resolve()
    if hit is None:
        hit = resolve()
        if len(_resolved) >= _RESOLVED_MAX:
            _resolved.clear()
        _resolved[key] = hit
    return hit


def _view_4d(input, batched, one_d):
    """The (N, C, H, W) view _as_4d gives, for an input already checked."""
    x = input if batched else input.unsqueeze(0)
    return x.unsqueeze(2) if one_d else x


def _max_window(op, input, kernel_size, stride, padding, dilation, ceil_mode, one_d):
    """(k, s, p, d, OH, OW, batched) of a max-pooling call, checked."""
    k, s, p, d = _max_args(op, kernel_size, stride, padding, dilation, one_d)
    x4, batched = _as_4d(input, op, 3 if one_d else 4, one_d)
    OH, OW = _window_2d(op, x4, k, s, p, d, ceil_mode, one_d)
    return k, s, p, d, OH, OW, batched


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              one_d):
    if _records(input):
        with no_grad():
            out, ind = _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode,
                                 True, one_d)
        record("max_pool", (input,), out, {"input": input, "indices": ind}, one_d=one_d)
        return (out, ind) if return_indices else out
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    k, s, p, d, OH, OW, batched = _cached(
        (op, input.shape, kernel_size, stride, padding, dilation, ceil_mode),
        lambda: _max_window(op, input, kernel_size, stride, padding, dilation, ceil_mode,
                            one_d))
    x4 = _view_4d(input, batched, one_d)
    out, ind = _k.max_pool(x4, OH, OW, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1],
                           False, return_indices, op)
    out = _unview(out, batched, one_d)
    return (out, _unview(ind, batched, one_d)) if return_indices else out


def max_pool2d(input: Tensor, kernel_size: _size_2_t, stride: _size_2_t | None = None,
               padding: _size_2_t = 0, dilation: _size_2_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling of input (N, C, H, W) or (C, H, W), as torch.nn.functional.max_pool2d.

    out[n, c, oh, ow] = max of input[n, c, oh*sH - pH + i*dH, ow*sW - pW + j*dW] over the
    taps i < kH, j < kW inside the input.  A NaN in a window is its maximum; the indices
    (int64, flat h*W + w within the plane, returned when return_indices) name the last NaN in
    row-major window order, else the first maximum -- PyTorch's choice on ties.
    stride defaults to kernel_size; the output size follows pool_output_size().
    dtypes: float32, float64, uint8, int32, int64.
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, False)


def max_pool1d(input: Tensor, kernel_size: _size_1_t, stride: _size_1_t | None = None,
               padding: _size_1_t = 0, dilation: _size_1_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """1-D max pooling of input (N, C, L) or (C, L), as torch.nn.functional.max_pool1d;
    indices are positions along L.  (PyTorch refuses integer inputs without return_indices;
    strided takes them either way.)"""
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, True)


def _avg_args(op, kernel_size, stride, padding, divisor_override, one_d):
    n = 1 if one_d else 2
    k = _ints(kernel_size, n, op, "kernel_size")
    s = _ints(stride, n, op, "stride", allow_none=True) if stride is not None else None
    s = k if s is None else s
    p = _ints(padding, n, op, "padding")
    if divisor_override is not None:
        divisor_override = _index(divisor_override)
        _check_int64(op, "divisor_override", (divisor_override,))
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    if one_d:
        k, s, p = (1,) + k, (1,) + s, (0,) + p
    return k, s, p, divisor_override or 0


def _avg_window(op, input, kernel_size, stride, padding, ceil_mode, divisor_override, one_d):
    """(k, s, p, divisor, OH, OW, batched) of an average-pooling call, checked."""
    k, s, p, div = _avg_args(op, kernel_size, stride, padding, divisor_override, one_d)
    x4, batched = _as_4d(input, op, 3 if one_d else 4, one_d)
    # avg_pool1d reports through avg_pool2d's checks in PyTorch too
    OH, OW = _window_2d(op, x4, k, s, p, (1, 1), ceil_mode, False)
    return k, s, p, div, OH, OW, batched


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, one_d):
    if _records(input):
        with no_grad():
            out = _avg_pool(op, input, kernel_size, stride, padding, ceil_mode,
                            count_include_pad, divisor_override, one_d)
        return record("avg_pool", (input,), out, {"input": input}, kernel_size=kernel_size,
                      stride=stride, padding=padding, ceil_mode=ceil_mode,
                      count_include_pad=count_include_pad, divisor_override=divisor_override,
                      one_d=one_d)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    k, s, p, div, OH, OW, batched = _cached(
        (op, input.shape, kernel_size, stride, padding, ceil_mode, divisor_override),
        lambda: _avg_window(op, input, kernel_size, stride, padding, ceil_mode,
                            divisor_override, one_d))
    x4 = _view_4d(input, batched, one_d)
    out = _k.avg_pool(x4, OH, OW, k[0], k[1], s[0], s[1], p[0], p[1], False,
                      count_include_pad, div, op)
    return _unview(out, batched, one_d)


def avg_pool2d(input: Tensor, kernel_size: _size_2_t, stride: _size_2_t | None = None,
               padding: _size_2_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling of input (N, C, H, W) or (C, H, W), as
    torch.nn.functional.avg_pool2d.

    out[n, c, oh, ow] = (sum of the window's taps inside the input) / divisor, where the
    divisor is divisor_override when given; else with count_include_pad the window's size
    clipped to the padded input (padding counts, ceil_mode's overhang does not); else the
    number of taps inside the input.  dtypes: float32, float64, int64 (integer sums, quotient
    truncated toward zero, as PyTorch).
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, False)


def avg_pool1d(input: Tensor, kernel_size: _size_1_t, stride: _size_1_t | None = None,
               padding: _size_1_t = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling of input (N, C, L) or (C, L), as torch.nn.functional.avg_pool1d."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, True)


def _adaptive(op, input, output_size, return_indices, is_max, one_d):
    if _records(input):
        with no_grad():
            r = _adaptive(op, input, output_size, True if is_max else False, is_max, one_d)
        if is_max:
            out, ind = r
            record("adaptive_max_pool", (input,), out, {"input": input, "indices": ind},
                   one_d=one_d)
            return (out, ind) if return_indices else out
        return record("adaptive_avg_pool", (input,), r, {"input": input}, one_d=one_d)
    x4, batched = _adaptive_input(op, input, one_d)
    OH, OW = _adaptive_size(op, output_size, x4, one_d)
    if is_max:
        out, ind = _k.max_pool(x4, OH, OW, 1, 1, 1, 1, 0, 0, 1, 1, True, return_indices, op)
        out = _unview(out, batched, one_d)
        return (out, _unview(ind, batched, one_d)) if return_indices else out
    return _unview(_k.avg_pool(x4, OH, OW, 1, 1, 1, 1, 0, 0, True, False, 0, op),
                   batched, one_d)


def adaptive_max_pool2d(input: Tensor, output_size: _size_any_opt_t,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive 2-D max pooling to output_size (int, or pair whose None entries keep the
    input's size), as torch.nn.functional.adaptive_max_pool2d: window (oh, ow) covers rows
    [floor(oh*H/OH), ceil((oh+1)*H/OH)) and the columns likewise.  NaN and ties as
    max_pool2d.  dtypes: float32, float64."""
    return _adaptive("adaptive_max_pool2d", input, output_size, return_indices, True, False)


def adaptive_avg_pool2d(input: Tensor, output_size: _size_any_opt_t) -> Tensor:
    """Adaptive 2-D average pooling, as torch.nn.functional.adaptive_avg_pool2d (windows as
    adaptive_max_pool2d, each averaged over its own size).  dtypes: float32, float64."""
    return _adaptive("adaptive_avg_pool2d", input, output_size, False, False, False)


def adaptive_max_pool1d(input: Tensor, output_size: _size_1_t,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive 1-D max pooling of (N, C, L) or (C, L), as
    torch.nn.functional.adaptive_max_pool1d."""
    return _adaptive("adaptive_max_pool1d", input, output_size, return_indices, True, True)


def adaptive_avg_pool1d(input: Tensor, output_size: _size_1_t) -> Tensor:
    """Adaptive 1-D average pooling of (N, C, L) or (C, L), as
    torch.nn.functional.adaptive_avg_pool1d."""
    return _adaptive("adaptive_avg_pool1d", input, output_size, False, False, True)


# --------------------------------------------------------------------------------------
# Backward (called by autograd; each returns grad_input, contiguous, with the input's
# shape and grad_output's dtype)
# --------------------------------------------------------------------------------------

def _shape_of(input):
    return tuple(input.shape) if hasattr(input, "shape") else tuple(_index(s) for s in input)


def _grad_4d(op, grad_output, input_shape, one_d):
    """(grad_output as 4-D, input (N, C, H, W), batched?) with the leading dims checked."""
    want = 3 if one_d else 4
    nd = len(input_shape)
    if nd not in (want - 1, want) or len(grad_output.shape) != nd:
        raise RuntimeError(f"{op}: grad_output of size {list(grad_output.shape)} does not fit "
                           f"an input of size {list(input_shape)}")
    batched = nd == want
    g = grad_output if batched else grad_output.unsqueeze(0)
    shape = input_shape if batched else (1,) + input_shape
    if one_d:
        g = g.unsqueeze(2)
        shape = shape[:2] + (1,) + shape[2:]
    if tuple(g.shape[:2]) != tuple(shape[:2]):
        raise RuntimeError(f"{op}: grad_output of size {list(grad_output.shape)} does not fit "
                           f"an input of size {list(input_shape)}")
    return g, shape, batched


def _check_out_size(op, g4, OH, OW, grad_output, input_shape, one_d):
    if tuple(g4.shape[2:]) != (OH, OW):
        raise RuntimeError(f"{op}: grad_output of size {list(grad_output.shape)} is not the "
                           f"output size of the forward pass on an input of size "
                           f"{list(input_shape)} (expected spatial size "
                           f"{[OW] if one_d else [OH, OW]})")


def _max_backward(op, grad_output, input, indices, one_d):
    shape = _shape_of(input)
    g4, shape4, batched = _grad_4d(op, grad_output, shape, one_d)
    if tuple(indices.shape) != tuple(grad_output.shape):
        raise RuntimeError(f"{op}: indices of size {list(indices.shape)} do not match "
                           f"grad_output of size {list(grad_output.shape)}")
    i4 = indices if batched else indices.unsqueeze(0)
    if one_d:
        i4 = i4.unsqueeze(2)
    gi = _k.max_pool_backward(g4, i4, shape4[2], shape4[3], op)
    return _unview(gi, batched, one_d)


def max_pool2d_backward(grad_output: Tensor, input: Tensor, indices: Tensor) -> Tensor:
    """Gradient of max_pool2d (and adaptive_max_pool2d) with respect to its input.

    grad_output and indices have the forward output's shape (indices as returned with
    return_indices=True); input is the forward input or its shape.  Each output's gradient
    goes to the input position its index names, and positions picked by several windows
    sum their gradients:  grad_input.flat_plane[indices[o]] += grad_output[o].  Index -1
    (an empty window, NOTE [ Pooling windows ]) drops its gradient; any other index outside
    the plane raises.  The window parameters are not needed: the indices route everything.
    """
    return _max_backward("max_pool2d_backward", grad_output, input, indices, False)


def max_pool1d_backward(grad_output: Tensor, input: Tensor, indices: Tensor) -> Tensor:
    """Gradient of max_pool1d (and adaptive_max_pool1d): as max_pool2d_backward along L."""
    return _max_backward("max_pool1d_backward", grad_output, input, indices, True)


def adaptive_max_pool2d_backward(grad_output: Tensor, input: Tensor, indices: Tensor) -> Tensor:
    """Gradient of adaptive_max_pool2d: the same index routing as max_pool2d_backward."""
    return _max_backward("adaptive_max_pool2d_backward", grad_output, input, indices, False)


def adaptive_max_pool1d_backward(grad_output: Tensor, input: Tensor, indices: Tensor) -> Tensor:
    """Gradient of adaptive_max_pool1d: the same index routing as max_pool1d_backward."""
    return _max_backward("adaptive_max_pool1d_backward", grad_output, input, indices, True)


def _avg_backward(op, grad_output, input, kernel_size, stride, padding, ceil_mode,
                  count_include_pad, divisor_override, one_d):
    k, s, p, div = _avg_args(op, kernel_size, stride, padding, divisor_override, one_d)
    shape = _shape_of(input)
    g4, shape4, batched = _grad_4d(op, grad_output, shape, one_d)
    N, C, H, W = shape4
    if H < 1 or W < 1:
        raise RuntimeError(f"{op}: input of size {list(shape)} has an empty spatial dim")
    OH = pool_output_size(H, k[0], s[0], p[0], 1, ceil_mode)
    OW = pool_output_size(W, k[1], s[1], p[1], 1, ceil_mode)
    _check_out_size(op, g4, OH, OW, grad_output, shape, one_d)
    gi = _k.avg_pool_backward(g4, H, W, k[0], k[1], s[0], s[1], p[0], p[1], False,
                              count_include_pad, div, op)
    return _unview(gi, batched, one_d)


def avg_pool2d_backward(grad_output: Tensor, input: Tensor, kernel_size: _size_2_t,
                        stride: _size_2_t | None = None, padding: _size_2_t = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: int | None = None) -> Tensor:
    """Gradient of avg_pool2d with respect to its input; the arguments after input are the
    forward call's.  Each output's gradient, divided by that window's divisor, is added to
    every tap of its window inside the input:
        grad_input[h, w] = sum over windows (oh, ow) containing (h, w) of
                           grad_output[oh, ow] / divisor(oh, ow).
    grad_output must have the forward output's shape; input is the forward input or its
    shape."""
    return _avg_backward("avg_pool2d_backward", grad_output, input, kernel_size, stride,
                         padding, ceil_mode, count_include_pad, divisor_override, False)


def avg_pool1d_backward(grad_output: Tensor, input: Tensor, kernel_size: _size_1_t,
                        stride: _size_1_t | None = None, padding: _size_1_t = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Gradient of avg_pool1d: as avg_pool2d_backward along L."""
    return _avg_backward("avg_pool1d_backward", grad_output, input, kernel_size, stride,
                         padding, ceil_mode, count_include_pad, None, True)


def _adaptive_avg_backward(op, grad_output, input, one_d):
    shape = _shape_of(input)
    g4, shape4, batched = _grad_4d(op, grad_output, shape, one_d)
    gi = _k.avg_pool_backward(g4, shape4[2], shape4[3], 1, 1, 1, 1, 0, 0, True, False, 0, op)
    return _unview(gi, batched, one_d)


def adaptive_avg_pool2d_backward(grad_output: Tensor, input: Tensor) -> Tensor:
    """Gradient of adaptive_avg_pool2d: each output's gradient divided by its window's size
    and added over the window.  The output size is read from grad_output."""
    return _adaptive_avg_backward("adaptive_avg_pool2d_backward", grad_output, input, False)


def adaptive_avg_pool1d_backward(grad_output: Tensor, input: Tensor) -> Tensor:
    """Gradient of adaptive_avg_pool1d (output size read from grad_output)."""
    return _adaptive_avg_backward("adaptive_avg_pool1d_backward", grad_output, input, True)


# ---- the derivative table's rows (NOTE [ Derivative table ] in strided/autograd/record.py) ----

def _dims(ctx):
    return "1" if ctx.one_d else "2"


@derivative("max_pool", lambda ctx: f"MaxPool{_dims(ctx)}DWithIndicesBackward0")
def _max_pool_grads(ctx, g):
    back = max_pool1d_backward if ctx.one_d else max_pool2d_backward
    return back(g, tuple(ctx.shapes[0]), ctx.indices)


@derivative("adaptive_max_pool", lambda ctx: f"AdaptiveMaxPool{_dims(ctx)}DBackward0")
def _adaptive_max_pool_grads(ctx, g):
    back = adaptive_max_pool1d_backward if ctx.one_d else adaptive_max_pool2d_backward
    return back(g, tuple(ctx.shapes[0]), ctx.indices)


@derivative("avg_pool", lambda ctx: f"AvgPool{_dims(ctx)}DBackward0")
def _avg_pool_grads(ctx, g):
    shape = tuple(ctx.shapes[0])
    if ctx.one_d:
        return avg_pool1d_backward(g, shape, ctx.kernel_size, ctx.stride, ctx.padding,
                                   ctx.ceil_mode, ctx.count_include_pad)
    return avg_pool2d_backward(g, shape, ctx.kernel_size, ctx.stride, ctx.padding,
                               ctx.ceil_mode, ctx.count_include_pad, ctx.divisor_override)


@derivative("adaptive_avg_pool", lambda ctx: f"AdaptiveAvgPool{_dims(ctx)}DBackward0")
def _adaptive_avg_pool_grads(ctx, g):
    back = adaptive_avg_pool1d_backward if ctx.one_d else adaptive_avg_pool2d_backward
    return back(g, tuple(ctx.shapes[0]))
