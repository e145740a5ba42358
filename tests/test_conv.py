"""Convolution (strided.nn.functional.conv1d/conv2d) against a direct-loop NumPy reference,
and its gradients by finite differences (float64).

Inputs come in several memory layouts (channels-last through a permute, transposed H/W,
stepped, negative strides, N/C swapped), so every value test also checks that no kernel
assumes contiguity.  Every test runs on every GEMM kernel table this CPU has (the
convolution takes its tile from the table: NOTE [ Convolution on the GEMM's tile ]).
"""

import numpy as np
import pytest

import strided
import strided.nn.functional as F
from strided._C.kernels import gemm as _gemm
from strided.autograd import gradcheck

TABLES = _gemm._kernel_tables()


@pytest.fixture(autouse=True, params=TABLES)
def kernel_table(request):
    """Every test of this module on every GEMM kernel table (NOTE [ GEMM kernel tables ]):
    the 6 x 16 / 6 x 8 tiles of reference and avx2, the 12 x 32 / 12 x 16 ones of avx512
    and of avx512_on_avx2 (the same code on AVX2 registers, so any AVX2 CPU runs it)."""
    old = _gemm._kernel_name()
    assert _gemm._set_kernel(request.param) == request.param
    assert _gemm._panel_kernel_name() == request.param     # the convolution's table too
    yield request.param
    _gemm._set_kernel(old)

# --------------------------------------------------------------------------------------
# Reference
# --------------------------------------------------------------------------------------


def same_padding(k, d):
    total = d * (k - 1)
    return total // 2, total - total // 2


def ref_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Direct sum over the taps: out[n, k, oh, ow] = b[k] + sum_{c, r, s} w[k, c, r, s] *
    xpad[n, g*Cg + c, oh*sH + r*dH, ow*sW + s*dW].  padding: pairs, ints, "same" or
    "valid" (then per-dim (before, after))."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    if padding == "same":
        pads = [same_padding(R, dilation[0]), same_padding(S, dilation[1])]
    elif padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        pads = [(padding[0], padding[0]), (padding[1], padding[1])]
    xp = np.pad(x, [(0, 0), (0, 0), pads[0], pads[1]])
    (sH, sW), (dH, dW) = stride, dilation
    OH = (xp.shape[2] - dH * (R - 1) - 1) // sH + 1
    OW = (xp.shape[3] - dW * (S - 1) - 1) // sW + 1
    Kg = K // groups
    out = np.zeros((N, K, OH, OW), np.float64)
    for g in range(groups):
        for r in range(R):
            for s in range(S):
                win = xp[:, g * Cg:(g + 1) * Cg,
                         r * dH: r * dH + sH * (OH - 1) + 1: sH,
                         s * dW: s * dW + sW * (OW - 1) + 1: sW].astype(np.float64)
                out[:, g * Kg:(g + 1) * Kg] += np.einsum(
                    "nchw,kc->nkhw", win, w[g * Kg:(g + 1) * Kg, :, r, s].astype(np.float64))
    if b is not None:
        out += b.astype(np.float64)[None, :, None, None]
    return out.astype(x.dtype)


def ref_conv2d_grads(go, x, w, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1),
                     groups=1):
    """(grad_input, grad_weight) of ref_conv2d by the same tap loop: each tap's window of
    the padded input receives go @ w[:, :, r, s] and gives go . window to w[:, :, r, s]."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    (sH, sW), (dH, dW), Kg = stride, dilation, K // groups
    OH, OW = go.shape[2:]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), pads[0], pads[1]])
    gxp = np.zeros_like(xp)
    gw = np.zeros(w.shape, np.float64)
    for g in range(groups):
        gog = go[:, g * Kg:(g + 1) * Kg].astype(np.float64)
        for r in range(R):
            for s in range(S):
                win = (slice(None), slice(g * Cg, (g + 1) * Cg),
                       slice(r * dH, r * dH + sH * (OH - 1) + 1, sH),
                       slice(s * dW, s * dW + sW * (OW - 1) + 1, sW))
                gxp[win] += np.einsum("nkhw,kc->nchw", gog, w[g * Kg:(g + 1) * Kg, :, r, s])
                gw[g * Kg:(g + 1) * Kg, :, r, s] = np.einsum("nkhw,nchw->kc", gog, xp[win])
    gx = gxp[:, :, pads[0][0]:pads[0][0] + H, pads[1][0]:pads[1][0] + W]
    return gx.astype(x.dtype), gw.astype(w.dtype)


# --------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------

LAYOUTS = ("contiguous", "channels_last", "hw_transposed", "stepped", "negative",
           "nc_swapped")


def layout(a, kind):
    """A strided tensor holding a's values (N, C, H, W) in the given memory layout."""
    if kind == "contiguous":
        v = np.ascontiguousarray(a)
    elif kind == "channels_last":
        t = strided.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 3, 1)))
        return t.permute(0, 3, 1, 2)
    elif kind == "hw_transposed":
        v = np.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    elif kind == "stepped":
        N, C, H, W = a.shape
        big = np.zeros((N + 1, 2 * C, 2 * H + 1, 3 * W), a.dtype)
        big[1:, ::2, 1::2, ::3] = a
        v = big[1:, ::2, 1::2, ::3]
    elif kind == "negative":
        v = np.ascontiguousarray(a[:, ::-1, ::-1, ::-1])[:, ::-1, ::-1, ::-1]
    elif kind == "nc_swapped":
        v = np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    else:
        raise ValueError(kind)
    return strided.from_numpy(v)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def T(a, requires_grad=False):
    t = strided.from_numpy(np.ascontiguousarray(a))
    if requires_grad:
        t.requires_grad_(True)
    return t


rng = np.random.default_rng(1234)

# (N, C, H, W, K, R, S, stride, padding, dilation, groups)
CASES = [
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 9, 8, 6, 3, 2, (2, 1), (0, 2), (2, 1), 2),
    (2, 4, 5, 5, 4, 1, 1, (1, 1), (0, 0), (1, 1), 1),      # pointwise: straight to GEMM
    (2, 4, 6, 7, 6, 1, 1, (2, 2), (0, 0), (1, 1), 2),      # 1x1 strided, grouped
    (3, 6, 8, 8, 6, 3, 3, (2, 2), (1, 1), (1, 1), 6),      # depthwise
    (2, 4, 8, 8, 8, 3, 3, (1, 1), (1, 1), (1, 1), 4),      # depthwise, multiplier 2
    (2, 3, 10, 11, 5, 5, 5, (3, 2), (2, 1), (1, 2), 1),
    (1, 2, 5, 13, 3, 2, 4, (1, 3), (1, 0), (3, 2), 1),     # odd sizes, dilation
    (2, 3, 4, 4, 2, 4, 4, (1, 1), (0, 0), (1, 1), 1),      # kernel = input
    (1, 1, 28, 28, 6, 5, 5, (1, 1), (0, 0), (1, 1), 1),    # LeNet conv1
]


def usable_paths(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """conv._usable_paths for what conv2d / conv2d_backward run: conv2d runs a strided 1x1
    convolution without padding as a pointwise one on the subsampled input.  padding as
    the kernel takes it: (pH, pW) or (top, left, bottom, right)."""
    from strided._C.kernels import conv as K
    usable = K._usable_paths(x, w, stride, padding, dilation, groups)
    if w.shape[2:] == (1, 1) and not any(padding) and tuple(stride) != (1, 1):
        usable["forward"] = K._usable_paths(x[..., ::stride[0], ::stride[1]].contiguous(),
                                            w, groups=groups)["forward"]
    return usable


def force_where_usable(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                       forward=None, input_grad=None, weight_grad=None, split=None):
    """conv._force_path forcing each named path where this geometry can use it, leaving
    the automatic choice elsewhere (NOTE [ Choosing a convolution path ]); a context
    manager."""
    from strided._C.kernels import conv as K
    usable = usable_paths(x, w, stride, padding, dilation, groups)
    return K._force_path(forward=forward if forward in usable["forward"] else None,
                         input_grad=input_grad if input_grad in usable["input_grad"] else None,
                         weight_grad=weight_grad if weight_grad in usable["weight_grad"] else None,
                         split=split)


@pytest.fixture(params=["auto", "image", "blocks", "offset", "taps", "batched", "winograd"])
def conv_path(request):
    """Run a test on the automatic choice, then forced onto each forward path (NOTE
    [ Choosing a convolution path ]): B packed from the windows image by image, or over
    blocks of images, the padded image's row offsets (NOTE [ Convolution over the padded
    image ]), its column taps in small bands and chunks (NOTE [ Column taps for strided
    convolutions ]), batch-innermost (NOTE [ Batch-innermost convolution ]) and in
    Winograd tiles (NOTE [ Winograd convolution ]).  A
    geometry the forced path cannot run must raise."""
    from strided._C.kernels import conv as K
    forward = None if request.param == "auto" else request.param
    # several bands and chunks even on these small maps
    old = K._set_thresholds(band_positions=8, chunk_taps=10) if forward == "taps" else None
    try:
        with K._force_path(forward=forward):
            yield request.param
    finally:
        if old is not None:
            K._set_thresholds(**old)


@pytest.mark.parametrize("case", CASES + [
    (8, 16, 4, 4, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1),    # digits CNN conv2
    (16, 3, 8, 8, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1),     # batch a multiple of NR
    (9, 2, 7, 5, 3, 3, 2, (2, 1), (2, 1), (1, 2), 1),      # odd batch, stride, dilation
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_values(case, dtype, conv_path):
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C // g, R, S)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    if conv_path != "auto":
        if conv_path not in usable_paths(T(x), T(w), s, p, d, g)["forward"]:
            with pytest.raises(RuntimeError, match=f"forced forward path '{conv_path}'"):
                F.conv2d(T(x), T(w), stride=s, padding=p, dilation=d, groups=g)
            return
        if R * S > 1 or s == (1, 1):
            assert Kc._select_forward(T(x), T(w), s, p, d, g) == conv_path
    for bias in (None, b):
        ref = ref_conv2d(x, w, bias, s, p, d, g)
        for kind in LAYOUTS:
            out = F.conv2d(layout(x, kind), T(w), None if bias is None else T(bias),
                           stride=s, padding=p, dilation=d, groups=g)
            assert out.shape == ref.shape
            np.testing.assert_allclose(out.numpy(), ref, **tol(dtype), err_msg=kind)


@pytest.mark.parametrize("R,S,d", [(3, 3, (1, 1)), (4, 2, (1, 1)), (2, 3, (2, 1)),
                                   (4, 4, (3, 2)), (1, 1, (1, 1))])
def test_conv2d_padding_strings(R, S, d):
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, R, S))
    same = F.conv2d(T(x), T(w), padding="same", dilation=d)
    assert same.shape == (2, 4, 7, 6)
    np.testing.assert_allclose(same.numpy(), ref_conv2d(x, w, None, (1, 1), "same", d),
                               rtol=1e-10, atol=1e-10)
    if d[0] * (R - 1) >= 7 or d[1] * (S - 1) >= 6:
        return
    valid = F.conv2d(T(x), T(w), padding="valid", dilation=d)
    np.testing.assert_allclose(valid.numpy(), ref_conv2d(x, w, None, (1, 1), "valid", d),
                               rtol=1e-10, atol=1e-10)


def test_conv2d_unbatched_and_int_args():
    x = rng.standard_normal((3, 6, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    out = F.conv2d(T(x), T(w), stride=2, padding=1, dilation=1)
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out.numpy(), ref_conv2d(x[None], w, None, (2, 2), (1, 1))[0],
                               rtol=1e-10, atol=1e-10)


def test_conv2d_channels_last_weight_and_bias_views():
    x = rng.standard_normal((2, 4, 6, 6))
    w = rng.standard_normal((6, 4, 3, 3))
    b = rng.standard_normal(12)
    wt = strided.from_numpy(np.ascontiguousarray(w.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2)
    bt = T(b)[::2]
    out = F.conv2d(layout(x, "stepped"), wt, bt, padding=1)
    np.testing.assert_allclose(out.numpy(), ref_conv2d(x, w, b[::2], (1, 1), (1, 1)),
                               rtol=1e-10, atol=1e-10)


def test_conv2d_empty_batch_and_channels():
    out = F.conv2d(T(np.zeros((0, 3, 5, 5))), T(np.ones((2, 3, 3, 3))))
    assert out.shape == (0, 2, 3, 3)
    out = F.conv2d(T(np.zeros((2, 0, 5, 5))), T(np.ones((2, 0, 3, 3))), T(np.array([1., 2.])))
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(
        np.array([1., 2.])[None, :, None, None], (2, 2, 3, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_values(dtype):
    x = rng.standard_normal((3, 4, 17)).astype(dtype)
    w = rng.standard_normal((6, 2, 3)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    for s, p, d in [(1, 0, 1), (2, 1, 1), (1, "same", 2), (1, "valid", 1), (3, 2, 3)]:
        out = F.conv1d(T(x), T(w), T(b), stride=s, padding=p, dilation=d, groups=2)
        pad = p if isinstance(p, str) else (0, p)
        ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, s), pad, (1, d), 2)[:, :, 0]
        np.testing.assert_allclose(out.numpy(), ref, **tol(dtype))
    out = F.conv1d(T(x[0]), T(w), groups=2)      # unbatched
    assert out.shape == (6, 15)


def test_backward_functions_match_autograd_and_mask():
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((6, 2, 3, 3))
    go = rng.standard_normal((2, 6, 3, 5))
    gi, gw, gb = F.conv2d_backward(T(go), T(x), T(w), stride=(2, 1), padding=1, groups=2)
    assert gi.shape == (2, 4, 6, 5) and gw.shape == (6, 2, 3, 3) and gb.shape == (6,)
    np.testing.assert_allclose(gb.numpy(), go.sum(axis=(0, 2, 3)), rtol=1e-12)
    # <go, conv(x, w)> is linear in x and w: its gradients are gi and gw
    f = np.sum(go * ref_conv2d(x, w, None, (2, 1), (1, 1), (1, 1), 2))
    assert np.isclose(np.sum(gi.numpy() * x), f) and np.isclose(np.sum(gw.numpy() * w), f)
    none = F.conv2d_backward(T(go), T(x), T(w), stride=(2, 1), padding=1, groups=2,
                             output_mask=(False, True, False))
    assert none[0] is None and none[2] is None
    np.testing.assert_allclose(none[1].numpy(), gw.numpy(), rtol=1e-12)


GRAD_CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), dict(padding=1)),
    ((1, 4, 6, 7), (4, 2, 2, 3), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ((2, 4, 5, 5), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4)),       # depthwise
    ((2, 3, 4, 4), (5, 3, 1, 1), dict()),                                    # pointwise
    ((2, 2, 5, 6), (3, 2, 2, 3), dict(padding="same", dilation=(1, 2))),      # asymmetric
    ((3, 5, 6), (2, 3, 2, 2), dict(padding=1)),                               # unbatched
]


@pytest.mark.parametrize("xs,ws,kw", GRAD_CASES)
def test_conv2d_gradcheck(xs, ws, kw):
    x = T(rng.standard_normal(xs), True)
    w = T(rng.standard_normal(ws), True)
    b = T(rng.standard_normal(ws[0]), True)
    assert gradcheck(lambda a, c, e: F.conv2d(a, c, e, **kw), (x, w, b))
    out = F.conv2d(x, w, b, **kw)
    assert out.grad_fn.name() == "ConvolutionBackward0"


def test_conv2d_gradcheck_channels_last_input():
    a = rng.standard_normal((2, 3, 5, 4))
    x = layout(a, "channels_last")
    x.requires_grad_(True)
    w = T(rng.standard_normal((2, 3, 3, 3)), True)
    assert gradcheck(lambda u, v: F.conv2d(u, v, padding=1, stride=(1, 2)), (x, w))


def test_conv1d_gradcheck():
    x = T(rng.standard_normal((2, 4, 9)), True)
    w = T(rng.standard_normal((6, 2, 3)), True)
    assert gradcheck(lambda a, c: F.conv1d(a, c, stride=2, padding=2, dilation=2, groups=2),
                     (x, w))
    w2 = T(rng.standard_normal((3, 4, 4)), True)
    assert gradcheck(lambda a, c: F.conv1d(a, c, padding="same"), (x, w2))


def test_grad_only_for_inputs_that_require_it():
    x = T(rng.standard_normal((1, 2, 4, 4)))
    w = T(rng.standard_normal((3, 2, 3, 3)), True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


@pytest.mark.parametrize("call,match", [
    (lambda x, w: F.conv2d(x, T(np.ones((6, 1, 3, 3))), groups=4),
     r"Given groups=4, expected weight to be divisible by 4 at dimension 0, but got weight of "
     r"size \[\[6, 1, 3, 3\]\] instead"),
    (lambda x, w: F.conv2d(x, w, groups=3),
     r"Given groups=3, weight of size \[6, 4, 3, 3\], expected input\[2, 4, 5, 5\] to have 12 "
     r"channels, but got 4 channels instead"),
    (lambda x, w: F.conv2d(x, T(np.ones((6, 3, 3, 3)))),
     r"Given groups=1, weight of size \[6, 3, 3, 3\], expected input\[2, 4, 5, 5\] to have 3 "
     r"channels, but got 4 channels instead"),
    (lambda x, w: F.conv2d(x, T(np.ones((6, 4, 7, 3)))),
     r"Calculated padded input size per channel: \(5 x 5\). Kernel size: \(7 x 3\)"),
    (lambda x, w: F.conv2d(x, w, stride=0), "non-positive stride is not supported"),
    (lambda x, w: F.conv2d(x, w, padding=-1), "negative padding is not supported"),
    (lambda x, w: F.conv2d(x, w, dilation=0), "non-positive dilation is not supported"),
    (lambda x, w: F.conv2d(x, w, groups=0), "non-positive groups is not supported"),
    (lambda x, w: F.conv2d(x, w, stride=2, padding="same"),
     "padding='same' is not supported for strided convolutions"),
    (lambda x, w: F.conv2d(x, w, padding="full"), "Invalid padding string: 'full'"),
    (lambda x, w: F.conv2d(x, w, T(np.ones(5))),
     r"expected bias to be 1-dimensional with 6 elements, but got bias of size \[5\]"),
    (lambda x, w: F.conv2d(x, w, stride=(1, 2, 3)),
     r"expected stride to be a single integer value or a list of 2 values"),
    (lambda x, w: F.conv2d(T(np.ones((5, 5))), w),
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[5, 5\]"),
    (lambda x, w: F.conv2d(x, T(np.ones((6, 4, 3, 3), np.float32))),
     "expected scalar type Double but found Float"),
])
def test_errors(call, match):
    x = T(np.ones((2, 4, 5, 5)))
    w = T(np.ones((6, 4, 3, 3)))
    with pytest.raises(RuntimeError, match=match):
        call(x, w)


def ref_conv2d_exact(x, w, b, stride, padding, dilation, groups):
    """ref_conv2d in Python ints (exact): (N, K, OH, OW) object array."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    xp = np.zeros((N, C, H + 2 * padding[0], W + 2 * padding[1]), object)  # Python 0s
    xp[:, :, padding[0]:padding[0] + H, padding[1]:padding[1] + W] = x.astype(object)
    (sH, sW), (dH, dW) = stride, dilation
    OH = (xp.shape[2] - dH * (R - 1) - 1) // sH + 1
    OW = (xp.shape[3] - dW * (S - 1) - 1) // sW + 1
    Kg = K // groups
    out = np.zeros((N, K, OH, OW), object) + b.astype(object)[None, :, None, None]
    for gr in range(groups):
        for r in range(R):
            for s in range(S):
                win = xp[:, gr * Cg:(gr + 1) * Cg, r * dH: r * dH + sH * (OH - 1) + 1: sH,
                         s * dW: s * dW + sW * (OW - 1) + 1: sW]
                wk = w[gr * Kg:(gr + 1) * Kg, :, r, s].astype(object)      # (Kg, Cg)
                out[:, gr * Kg:(gr + 1) * Kg] += np.tensordot(win, wk, ([1], [1])).transpose(
                    0, 3, 1, 2)
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64])
@pytest.mark.parametrize("case", CASES[:8])
def test_integer_conv_wraps_like_the_dtype(dtype, case):
    """NOTE [ Integer convolution ]: integer inputs convolve in their own type, wrapping
    on overflow (full-range values), in any layout, unbatched and 1-D too."""
    N, C, H, W, K, R, S, s, p, d, g = case
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (N, C, H, W), dtype=dtype, endpoint=True)
    w = rng.integers(info.min, info.max, (K, C // g, R, S), dtype=dtype, endpoint=True)
    b = rng.integers(info.min, info.max, K, dtype=dtype, endpoint=True)
    # the reference in Python ints, reduced modulo 2**bits into the dtype
    wide = ref_conv2d_exact(x, w, b, s, p, d, g)
    m = 1 << (8 * x.itemsize)
    wide = wide % m
    if info.min < 0:
        wide = np.where(wide > info.max, wide - m, wide)
    want = wide.astype(dtype)
    for kind in ("contiguous", "channels_last", "negative"):
        out = F.conv2d(layout(x, kind), T(w), T(b), s, p, d, g)
        assert out.dtype.name == np.dtype(dtype).name
        np.testing.assert_array_equal(out.numpy(), want, err_msg=kind)
    np.testing.assert_array_equal(F.conv2d(T(x[0]), T(w), T(b), s, p, d, g).numpy(), want[0])
    if H == 1 or case == CASES[0]:
        x1 = x[:, :, 0]
        np.testing.assert_array_equal(F.conv1d(T(x1), T(w[:, :, 0]), None, s[1], p[1], d[1],
                                               g).numpy(),
                                      F.conv2d(T(x1[:, :, None]), T(w[:, :, :1]), None,
                                               (1, s[1]), (0, p[1]), (1, d[1]), g).numpy()[:, :, 0])


def test_dtypes_refused():
    """bool convolutions (PyTorch refuses them too), mixed dtypes, integer backward."""
    xb = T(np.ones((1, 1, 3, 3), bool))
    with pytest.raises(TypeError, match=r"\"conv2d\" not implemented for 'Bool'"):
        F.conv2d(xb, T(np.ones((1, 1, 2, 2), bool)))
    x = T(np.ones((1, 1, 3, 3), np.int64))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Int"):
        F.conv2d(x, T(np.ones((1, 1, 2, 2), np.int32)))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        F.conv2d(x, T(np.ones((1, 1, 2, 2), np.float32)))
    with pytest.raises(TypeError, match="conv2d_backward\" not implemented for 'Long'"):
        F.conv2d_backward(T(np.ones((1, 1, 2, 2), np.int64)), x, T(np.ones((1, 1, 2, 2),
                                                                            np.int64)))


@pytest.mark.parametrize("mode", [0, 1])
def test_both_thread_splits(mode):
    """Batch split (per-thread weight-gradient partials, summed) and GEMM threading give
    the single-threaded values on inputs too small to choose them by themselves."""
    from strided._C.kernels import conv as K
    x = rng.standard_normal((5, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 3))
    go = rng.standard_normal((5, 6, 4, 6))
    gp = rng.standard_normal((5, 6, 7, 6))

    def run():
        out = F.conv2d(layout(x, "channels_last"), T(w), stride=(2, 1), padding=1, groups=2)
        grads = F.conv2d_backward(T(go), layout(x, "stepped"), T(w), (2, 1), 1, 1, 2)
        pointwise = F.conv2d_backward(T(gp), T(x), T(w[:, :, :1, :1]), 1, 0, 1, 2)
        return [out] + list(grads) + list(pointwise)

    old = strided.get_num_threads()
    strided.set_num_threads(1)
    want = run()
    try:
        with K._force_path(forward="batched"):
            with pytest.raises(RuntimeError, match="forced forward path 'batched'"):
                run()                                               # groups=2: not batched
        # two chunks of output positions (51 + 5, the second starting mid-row), one per thread
        x2 = rng.standard_normal((10, 3, 8, 7))
        w2 = rng.standard_normal((64, 3, 3, 3))
        strided.set_num_threads(2)
        with K._force_path(forward="batched", split="batch"):
            np.testing.assert_allclose(
                F.conv2d(layout(x2, "negative"), T(w2), padding=1).numpy(),
                ref_conv2d(x2, w2, None, (1, 1), (1, 1)), rtol=1e-10, atol=1e-10)
    finally:
        strided.set_num_threads(1)
    strided.set_num_threads(2)
    try:
        with K._force_path(split=("gemm", "batch")[mode]):
            got = run()
    finally:
        strided.set_num_threads(old)
    np.testing.assert_allclose(want[0].numpy(),
                               ref_conv2d(x, w, None, (2, 1), (1, 1), (1, 1), 2),
                               rtol=1e-10, atol=1e-10)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-10)


def test_argument_cache_keys_on_everything_checked():
    """NOTE [ Convolution argument cache ]: a repeated call reuses the resolution; any
    change to a shape, dtype or argument is resolved (and checked) afresh."""
    x = rng.standard_normal((2, 4, 6, 6))
    w = rng.standard_normal((3, 4, 3, 3))
    for _ in range(2):
        for s, p in (((1, 1), (1, 1)), (2, (0, 1)), ([1, 2], [1, 0])):    # lists: not cached
            st = (s, s) if isinstance(s, int) else tuple(s)
            pd = (p, p) if isinstance(p, int) else tuple(p)
            np.testing.assert_allclose(F.conv2d(T(x), T(w), stride=s, padding=p).numpy(),
                                       ref_conv2d(x, w, None, st, pd), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(F.conv2d(T(x[0]), T(w), padding=1).numpy(),      # unbatched
                                   ref_conv2d(x[:1], w, None, (1, 1), (1, 1))[0],
                                   rtol=1e-10, atol=1e-10)
        with pytest.raises(RuntimeError, match="expected input"):
            F.conv2d(T(x[:, :3]), T(w))
        with pytest.raises(RuntimeError, match="expected bias"):
            F.conv2d(T(x), T(w), T(np.ones(2)))
        with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
            F.conv2d(T(x), T(w.astype(np.float32)))


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] == 1] + [
    (8, 16, 4, 4, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (10, 3, 8, 7, 64, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (10, 32, 6, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),     # two backward chunks (22 + 14)
    (9, 2, 7, 5, 3, 3, 2, (2, 1), (2, 1), (1, 2), 1),
])
@pytest.mark.parametrize("threads", [1, 2])
def test_backward_batched_path_matches_per_image(case, threads):
    """NOTE [ Batch-innermost convolution ]: both gradients through the batched backward
    equal the per-image backward's (itself checked against PyTorch and finite
    differences), on one thread and on chunks split over two."""
    from strided._C.kernels import conv as K
    N, C, H, W, Kc, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Kc, C, R, S))
    OH = (H + 2 * p[0] - d[0] * (R - 1) - 1) // s[0] + 1
    OW = (W + 2 * p[1] - d[1] * (S - 1) - 1) // s[1] + 1
    go = rng.standard_normal((N, Kc, OH, OW))
    old = strided.get_num_threads()
    strided.set_num_threads(threads)
    try:
        got = {}
        for mode, path in enumerate(("image", "batched")):
            with K._force_path(input_grad=path, weight_grad=path,
                               split="batch" if threads > 1 else None):
                assert K._select_backward(T(x), T(w), s, p, d) == (path, path)
                got[mode] = [F.conv2d_backward(T(go), layout(x, kind), T(w), s, p, d, 1,
                                               (True, True, True))
                             for kind in ("contiguous", "channels_last")]
    finally:
        strided.set_num_threads(old)
    for per_image, batched in zip(got[0], got[1]):
        for a, b in zip(per_image, batched):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-10)


def _ref_weight_grad(go, x, R, S, stride, padding, dilation):
    """gw[k, c, r, s] = sum over n, oh, ow of go[n, k, oh, ow] * xpad[n, c, tap]."""
    (sH, sW), (pH, pW), (dH, dW) = stride, padding, dilation
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pH, pH), (pW, pW)))
    OH, OW = go.shape[2:]
    gw = np.zeros((go.shape[1], x.shape[1], R, S))
    for r in range(R):
        for s in range(S):
            win = xp[:, :, r * dH:r * dH + sH * (OH - 1) + 1:sH,
                     s * dW:s * dW + sW * (OW - 1) + 1:sW]
            gw[:, :, r, s] = np.einsum("nkhw,nchw->kc", go.astype(np.float64), win)
    return gw


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,C,K,H,W,kern,stride,padding,dilation", [
    (5, 64, 64, 4, 5, (3, 3), (1, 1), (1, 1), (1, 1)),      # one block of 5 images
    (20, 48, 40, 4, 4, (3, 3), (1, 1), (1, 1), (1, 1)),     # blocks of 16 + 4
    (9, 40, 72, 7, 6, (3, 2), (2, 1), (1, 0), (1, 2)),
    (33, 130, 130, 2, 3, (1, 3), (1, 2), (0, 1), (1, 1)),
])
@pytest.mark.parametrize("kind", ["contiguous", "channels_last", "stepped"])
def test_weight_grad_over_image_blocks(N, C, K, H, W, kern, stride, padding, dilation, kind,
                                       dtype):
    """Layers with C*R*S*K > 16K and outputs of < 256 positions take the image-block weight
    gradient (NOTE [ Weight gradient over image blocks ])."""
    rng = np.random.default_rng(N + C)
    a = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C) + kern).astype(dtype)
    out = F.conv2d(layout(a, kind), strided.from_numpy(w), None, stride, padding, dilation)
    go = rng.standard_normal(tuple(out.shape)).astype(dtype)
    gx, gw, gb = F.conv2d_backward(strided.from_numpy(go), layout(a, kind),
                                   strided.from_numpy(w), stride, padding, dilation)
    want = _ref_weight_grad(go, a, kern[0], kern[1], stride, padding, dilation)
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(gw.numpy() / scale, want / scale, **tol(dtype))
    gx_only, gw_none, _ = F.conv2d_backward(strided.from_numpy(go), layout(a, kind),
                                            strided.from_numpy(w), stride, padding, dilation,
                                            output_mask=(True, False, False))
    assert gw_none is None
    np.testing.assert_array_equal(gx_only.numpy(), gx.numpy())


# (N, C, H, W, K, R, S, padding ((top, bottom), (left, right)), dilation, groups): stride 1,
# the offset path's territory, and its grad_input's (NOTE [ Convolution over the padded
# image ])
OFFSET_CASES = [
    (2, 3, 7, 6, 4, 3, 3, ((1, 1), (1, 1)), (1, 1), 1),
    (3, 4, 9, 7, 6, 3, 2, ((2, 2), (1, 1)), (2, 3), 2),        # dilation, groups
    (2, 4, 8, 8, 8, 3, 3, ((1, 1), (1, 1)), (1, 1), 4),        # depthwise, multiplier 2
    (2, 5, 6, 9, 7, 4, 2, ((1, 2), (0, 1)), (1, 1), 1),        # "same" with even kernels
    (2, 3, 7, 5, 4, 3, 1, ((1, 1), (0, 0)), (1, 1), 1),        # no extra columns (Wp == OW)
    (1, 2, 5, 5, 3, 3, 3, ((3, 3), (2, 2)), (1, 1), 1),        # padding past the reach
    (2, 3, 4, 4, 2, 4, 4, ((0, 0), (0, 0)), (1, 1), 1),        # kernel = input
    (1, 1, 28, 28, 6, 5, 5, ((0, 0), (0, 0)), (1, 1), 1),      # LeNet conv1
    (2, 20, 9, 11, 19, 3, 3, ((1, 1), (1, 1)), (1, 1), 1),     # partial MR / NR tiles
]


@pytest.mark.parametrize("case", OFFSET_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", ["image", "blocks", "offset", "winograd"])
def test_stride1_paths_forward_and_gradients(case, dtype, path):
    """Forward, grad_input and grad_weight of stride-1 convolutions on the offset path
    (grad_input there is the convolution of grad_output with the flipped, transposed
    weight) and on the packed paths (image by image, over image blocks) wherever the
    geometry can use them, against the tap-loop reference, in every layout."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, pads, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C // g, R, S)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    OH = H + sum(pads[0]) - d[0] * (R - 1)
    OW = W + sum(pads[1]) - d[1] * (S - 1)
    go = rng.standard_normal((N, K, OH, OW)).astype(dtype)
    symmetric = pads[0][0] == pads[0][1] and pads[1][0] == pads[1][1]
    padding = (pads[0][0], pads[1][0]) if symmetric else "same"
    ref = ref_conv2d(x, w, b, (1, 1), padding, d, g)
    ref_gx, ref_gw = ref_conv2d_grads(go, x, w, (1, 1), pads, d, g)
    kernel_pads = (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
    with force_where_usable(T(x), T(w), (1, 1), kernel_pads, d, g, forward=path,
                            input_grad=path, weight_grad=path):
        for kind in ("contiguous", "channels_last", "stepped", "negative"):
            out = F.conv2d(layout(x, kind), T(w), T(b), padding=padding, dilation=d, groups=g)
            np.testing.assert_allclose(out.numpy(), ref, **tol(dtype), err_msg=kind)
            gx, gw, gb = F.conv2d_backward(T(go), layout(x, kind), T(w), 1, padding, d, g)
            np.testing.assert_allclose(gx.numpy(), ref_gx, **tol(dtype), err_msg=kind)
            np.testing.assert_allclose(gw.numpy(), ref_gw, **tol(dtype), err_msg=kind)
            np.testing.assert_allclose(gb.numpy(), go.sum(axis=(0, 2, 3)), **tol(dtype))


@pytest.mark.parametrize("split", [0, 1])
def test_offset_path_threads_change_no_bit(split):
    """The offset path on two threads -- whole images per thread (split 1) or every GEMM
    split between them (0) -- gives the one-thread values bit for bit, forward and
    grad_input (its GEMM blocks never depend on the split)."""
    from strided._C.kernels import conv as Kc
    x = rng.standard_normal((3, 6, 13, 11)).astype(np.float32)
    w = rng.standard_normal((20, 6, 3, 3)).astype(np.float32)
    go = rng.standard_normal((3, 20, 13, 11)).astype(np.float32)

    def run():
        out = F.conv2d(layout(x, "channels_last"), T(w), padding=1)
        gx = F.conv2d_backward(T(go), T(x), T(w), 1, 1, 1, 1, (True, False, False))[0]
        return out.numpy(), gx.numpy()

    old = strided.get_num_threads()
    try:
        strided.set_num_threads(1)
        with Kc._force_path(forward="offset", input_grad="offset"):
            want = run()
        strided.set_num_threads(2)
        with Kc._force_path(forward="offset", input_grad="offset",
                            split=("gemm", "batch")[split]):
            got = run()
    finally:
        strided.set_num_threads(old)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    np.testing.assert_allclose(want[0], ref_conv2d(x, w, None, (1, 1), (1, 1)), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("split", [-1, 0, 1])
@pytest.mark.parametrize("kind", ["contiguous", "channels_last"])
def test_weight_gradient_over_the_padded_image_on_threads(split, kind):
    """NOTE [ Weight gradient over the padded image ] on one thread, with whole images
    per thread (per-thread gw^T partials, added and transposed) and with each GEMM split
    between two threads, grouped, against the reference."""
    from strided._C.kernels import conv as Kc
    x = rng.standard_normal((5, 6, 13, 11))
    w = rng.standard_normal((8, 3, 3, 3))
    go = rng.standard_normal((5, 8, 13, 11))
    _, ref_gw = ref_conv2d_grads(go, x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 2)
    old = strided.get_num_threads()
    strided.set_num_threads(1 if split < 0 else 2)
    try:
        with Kc._force_path(weight_grad="offset",
                            split=None if split < 0 else ("gemm", "batch")[split]):
            gw = F.conv2d_backward(T(go), layout(x, kind), T(w), 1, 1, 1, 2,
                                   (False, True, False))[1]
    finally:
        strided.set_num_threads(old)
    np.testing.assert_allclose(gw.numpy(), ref_gw, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES + [
    (11, 5, 4, 3, 7, 3, 2, (1, 1), (1, 0), (1, 1), 1),     # blocks of images cut mid-batch
])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_path_over_image_blocks(case, threads, dtype):
    """The packed path runs several images per GEMM (NOTE [ Forward over image blocks ],
    NOTE [ Input gradient over image blocks ]): forward and grad_input alone (the
    weight gradient off, so the input gradient takes its block path) against the
    reference, whole images per thread or GEMMs split between threads."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C // g, R, S)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    ref = ref_conv2d(x, w, b, s, p, d, g)
    go = rng.standard_normal(ref.shape).astype(dtype)
    ref_gx, _ = ref_conv2d_grads(go, x, w, s, ((p[0], p[0]), (p[1], p[1])), d, g)
    old = strided.get_num_threads()
    strided.set_num_threads(threads)
    usable = usable_paths(T(x), T(w), s, p, d, g)
    # pointwise convolutions have no blocks: image by image
    fwd, bwd = ("blocks" if "blocks" in usable[k] else "image"
                for k in ("forward", "input_grad"))
    try:
        for split in (("gemm", "batch") if threads > 1 else (None,)):
            with Kc._force_path(forward=fwd, input_grad=bwd, split=split):
                outs = [(F.conv2d(layout(x, kind), T(w), T(b), stride=s, padding=p,
                                  dilation=d, groups=g),
                         F.conv2d_backward(T(go), layout(x, kind), T(w), s, p, d, g,
                                           (True, False, False))[0])
                        for kind in ("contiguous", "channels_last")]
            for kind, (out, gx) in zip(("contiguous", "channels_last"), outs):
                np.testing.assert_allclose(out.numpy(), ref, **tol(dtype), err_msg=kind)
                np.testing.assert_allclose(gx.numpy(), ref_gx, **tol(dtype), err_msg=kind)
    finally:
        strided.set_num_threads(old)


@pytest.mark.parametrize("offset", [0, 1])
@pytest.mark.parametrize("threads", [1, 2])
def test_all_gradients_when_weight_gradient_runs_over_image_blocks(offset, threads):
    """All three gradients of a layer whose weight gradient takes NOTE [ Weight gradient
    over image blocks ] (C*R*S*K > 16K on a small output) while its input gradient takes
    the offset path or the blocks of the packed one: each path must find the other's
    result already done."""
    from strided._C.kernels import conv as Kc
    x = rng.standard_normal((5, 64, 8, 7)).astype(np.float32)
    w = rng.standard_normal((32, 64, 3, 3)).astype(np.float32)
    go = rng.standard_normal((5, 32, 8, 7)).astype(np.float32)
    ref_gx, ref_gw = ref_conv2d_grads(go, x, w, (1, 1), ((1, 1), (1, 1)))
    old = strided.get_num_threads()
    strided.set_num_threads(threads)
    path = ("blocks", "offset")[offset]
    try:
        with Kc._force_path(input_grad=path):
            assert Kc._select_backward(T(x), T(w), padding=(1, 1)) == (path, "blocks")
            gx, gw, gb = F.conv2d_backward(T(go), T(x), T(w), 1, 1, 1, 1)
    finally:
        strided.set_num_threads(old)
    np.testing.assert_allclose(gx.numpy(), ref_gx, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(gw.numpy(), ref_gw, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(gb.numpy(), go.sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("path", ["image", "blocks", "offset", "batched", "winograd"])
def test_weight_and_input_gradients_on_every_path(case, path):
    """Every geometry of CASES (strides, dilations, groups) with each backward path forced
    wherever the geometry can use it (the weight gradient over the padded image's phases,
    over image blocks, batch-innermost, image by image), against the reference, in four
    layouts."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C // g, R, S))
    out = ref_conv2d(x, w, None, s, p, d, g)
    go = rng.standard_normal(out.shape)
    ref_gx, ref_gw = ref_conv2d_grads(go, x, w, s, ((p[0], p[0]), (p[1], p[1])), d, g)
    with force_where_usable(T(x), T(w), s, p, d, g, input_grad=path, weight_grad=path):
        for kind in ("contiguous", "channels_last", "stepped", "negative"):
            gx, gw, _ = F.conv2d_backward(T(go), layout(x, kind), T(w), s, p, d, g)
            np.testing.assert_allclose(gx.numpy(), ref_gx, rtol=1e-10, atol=1e-10, err_msg=kind)
            np.testing.assert_allclose(gw.numpy(), ref_gw, rtol=1e-10, atol=1e-10, err_msg=kind)


# (N, C, H, W, K, R, S, stride, padding, dilation, groups): strided convolutions for the
# column taps (NOTE [ Column taps for strided convolutions ])
TAP_CASES = [
    (2, 20, 14, 14, 70, 3, 3, (2, 2), (1, 1), (1, 1), 1),    # ResNet's downsampling 3x3
    (3, 18, 15, 13, 64, 3, 3, (2, 2), (1, 1), (1, 1), 1),    # odd sizes, last band short
    (2, 32, 12, 16, 66, 3, 3, (1, 2), (0, 1), (1, 1), 2),    # row stride 1, groups
    (2, 16, 13, 17, 64, 3, 2, (2, 3), (2, 1), (2, 2), 1),    # stride 3, dilation
    # 1x1 stride 2 (padded: without padding conv2d subsamples the input, a pointwise
    # convolution the column taps cannot run)
    (2, 16, 11, 10, 64, 1, 1, (2, 2), (1, 0), (1, 1), 1),
    (1, 16, 9, 9, 64, 5, 5, (2, 2), (3, 3), (1, 1), 1),      # padding past the kernel's reach
    (1, 16, 3, 41, 64, 1, 17, (1, 2), (0, 3), (1, 1), 1),    # more taps than precomputed
]


@pytest.mark.parametrize("case", TAP_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blocks", [(), (1, 10), (50, 40)])
def test_column_taps(case, dtype, blocks):
    """The column-tap forward, with the default bands and chunks and with others (one
    output row, one channel, partial last chunk), in every layout, against the reference;
    one thread and two give the same bits (a band's sums never depend on the split)."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C // g, R, S)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    ref = ref_conv2d(x, w, b, s, p, d, g)
    old = strided.get_num_threads()
    # blocks (): the default bands and chunks
    old_blocks = Kc._set_thresholds(**dict(zip(("band_positions", "chunk_taps"), blocks)))
    try:
        with Kc._force_path(forward="taps"):
            assert Kc._select_forward(T(x), T(w), s, p, d, g) == "taps"
            for kind in LAYOUTS:
                out = F.conv2d(layout(x, kind), T(w), T(b), stride=s, padding=p, dilation=d,
                               groups=g).numpy()
                np.testing.assert_allclose(out, ref, **tol(dtype), err_msg=kind)
                strided.set_num_threads(1)
                one = F.conv2d(layout(x, kind), T(w), T(b), stride=s, padding=p, dilation=d,
                               groups=g).numpy()
                strided.set_num_threads(old)
                assert np.array_equal(one, out), kind
    finally:
        strided.set_num_threads(old)
        Kc._set_thresholds(**old_blocks)


@pytest.mark.parametrize("C, K, stride", [(64, 128, 2), (32, 128, 1)])
def test_column_taps_are_chosen_for_resnet_layers(C, K, stride):
    """The automatic choice takes column taps for ResNet's 3x3 stride-2 layers and its wide
    stride-1 ones: same values as forcing them, and not those of the phase layout (the
    sums run in another order)."""
    from strided._C.kernels import conv as Kc
    x = rng.standard_normal((2, C, 16, 16)).astype(np.float32)
    w = rng.standard_normal((K, C, 3, 3)).astype(np.float32)
    outs = {}
    assert Kc._select_forward(T(x), T(w), (stride, stride), (1, 1)) == "taps"
    for path in (None, "taps", "offset"):
        with Kc._force_path(forward=path):
            outs[path] = F.conv2d(T(x), T(w), stride=stride, padding=1).numpy()
    assert np.array_equal(outs[None], outs["taps"])
    assert not np.array_equal(outs["taps"], outs["offset"])
    np.testing.assert_allclose(outs["taps"], ref_conv2d(x, w, None, (stride, stride), (1, 1)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_offset_path_on_the_reference_kernels(dtype):
    """The portable micro-kernels (no AVX2) run the offset paths too: row-offset B, its
    half-slivers on two rows, A packed from row offsets, and the column taps."""
    from strided._C.kernels import conv as Kc
    from strided._C.kernels import gemm
    x = rng.standard_normal((3, 5, 9, 8)).astype(dtype)
    w = rng.standard_normal((7, 5, 3, 3)).astype(dtype)
    old = gemm._kernel_name()
    gemm._set_kernel("reference")
    try:
        for s, p, forward in (((1, 1), (1, 1), "offset"), ((2, 2), (1, 0), "offset"),
                              ((2, 2), (1, 0), "taps")):
            ref = ref_conv2d(x, w, None, s, p)
            go = rng.standard_normal(ref.shape).astype(dtype)
            ref_gx, ref_gw = ref_conv2d_grads(go, x, w, s, ((p[0], p[0]), (p[1], p[1])))
            # the input gradient's offset path needs stride 1
            with Kc._force_path(forward=forward, input_grad="offset" if s == (1, 1) else None,
                                weight_grad="offset"):
                out = F.conv2d(T(x), T(w), stride=s, padding=p)
                gx, gw, _ = F.conv2d_backward(T(go), T(x), T(w), s, p)
            np.testing.assert_allclose(out.numpy(), ref, **tol(dtype))
            np.testing.assert_allclose(gx.numpy(), ref_gx, **tol(dtype))
            np.testing.assert_allclose(gw.numpy(), ref_gw, **tol(dtype))
    finally:
        gemm._set_kernel(old)


# (N, C, H, W, K, R, S, stride, padding, dilation, groups) -> the automatic choice:
# forward, (input gradient, weight gradient)
# (the same on every kernel table)
SELECTIONS = [
    ((64, 1, 28, 28, 6, 5, 5, (1, 1), (0, 0), (1, 1), 1), "offset", ("image", "batched")),
    ((2, 64, 16, 16, 128, 3, 3, (2, 2), (1, 1), (1, 1), 1), "taps", ("blocks", "blocks")),
    ((2, 16, 16, 16, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1), "offset", ("offset", "offset")),
    ((64, 16, 4, 4, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1), "batched", ("batched", "batched")),
    ((4, 64, 6, 6, 64, 3, 3, (1, 1), (0, 0), (2, 2), 1), "blocks", ("blocks", "blocks")),
    ((2, 4, 5, 5, 4, 1, 1, (1, 1), (0, 0), (1, 1), 1), "image", ("image", "image")),
    ((3, 6, 8, 8, 6, 3, 3, (2, 2), (1, 1), (1, 1), 6), "offset", ("image", "image")),
]


@pytest.mark.parametrize("case, forward, backward", SELECTIONS)
def test_select_reports_the_path_that_runs(case, forward, backward):
    """NOTE [ Choosing a convolution path ]: _select_forward / _select_backward name the
    automatic choice; forcing that path gives the same bits, and so does each other usable
    path (to the reference's tolerance)."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, R, S, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C // g, R, S))
    assert Kc._select_forward(T(x), T(w), s, p, d, g) == forward
    assert Kc._select_backward(T(x), T(w), s, p, d, g) == backward
    assert Kc._select_backward(T(x), T(w), s, p, d, g, (False, False, True)) == ("none", "none")
    auto = F.conv2d(T(x), T(w), stride=s, padding=p, dilation=d, groups=g).numpy()
    with Kc._force_path(forward=forward):
        assert np.array_equal(F.conv2d(T(x), T(w), stride=s, padding=p, dilation=d,
                                       groups=g).numpy(), auto)
    ref = ref_conv2d(x, w, None, s, p, d, g)
    for path in Kc._usable_paths(T(x), T(w), s, p, d, g)["forward"]:
        with Kc._force_path(forward=path):
            assert Kc._select_forward(T(x), T(w), s, p, d, g) == path
            np.testing.assert_allclose(F.conv2d(T(x), T(w), stride=s, padding=p, dilation=d,
                                                groups=g).numpy(), ref, rtol=1e-10,
                                       atol=1e-10, err_msg=path)


def test_forced_paths_that_cannot_run_raise_and_forcing_is_undone():
    """A forced path the geometry cannot use raises RuntimeError naming it (never another
    path silently); _force_path as a context manager restores the previous forcing even
    when the block raises; bad names raise ValueError."""
    from strided._C.kernels import conv as Kc
    x = T(rng.standard_normal((2, 4, 6, 6)))
    w1 = T(rng.standard_normal((4, 2, 1, 1)))          # pointwise, groups 2
    go = T(rng.standard_normal((2, 4, 6, 6)))
    assert Kc._usable_paths(x, w1, groups=2) == {"forward": ["image"],
                                                 "input_grad": ["image"],
                                                 "weight_grad": ["image"]}
    for kw, what in ((dict(forward="offset"), "forward path 'offset'"),
                     (dict(forward="batched"), "forward path 'batched'"),
                     (dict(input_grad="blocks"), "input_grad path 'blocks'"),
                     (dict(weight_grad="blocks"), "weight_grad path 'blocks'")):
        with pytest.raises(RuntimeError, match=what):
            with Kc._force_path(**kw):
                assert Kc._forced_paths()[next(iter(kw))] == next(iter(kw.values()))
                if "forward" in kw:
                    F.conv2d(x, w1, groups=2)
                else:
                    F.conv2d_backward(go, x, w1, 1, 0, 1, 2)
        assert Kc._forced_paths() == {"forward": None, "input_grad": None,
                                      "weight_grad": None, "split": None}
    x3 = T(rng.standard_normal((2, 4, 6, 6)))
    w3 = T(rng.standard_normal((4, 4, 3, 3)))
    with Kc._force_path(input_grad="offset"):
        with pytest.raises(RuntimeError, match="needs stride 1"):
            Kc._select_backward(x3, w3, (2, 2), (1, 1))
        assert Kc._select_backward(x3, w3, (1, 1), (1, 1))[0] == "offset"
    for kw in (dict(forward="fast"), dict(input_grad="taps"), dict(split="threads")):
        with pytest.raises(ValueError, match="_force_path"):
            Kc._force_path(**kw)
    assert Kc._forced_paths()["forward"] is None


def test_thresholds_table():
    """NOTE [ Convolution thresholds ]: one table, changed by _set_thresholds (which returns
    the previous values, restoring them), checked by name and value; the choice follows
    it."""
    from strided._C.kernels import conv as Kc
    table = Kc._thresholds()
    assert table["band_positions"] == 336 and table["chunk_taps"] == 108
    x = T(rng.standard_normal((64, 16, 4, 4)))             # the digits CNN's conv2
    w = T(rng.standard_normal((32, 16, 3, 3)))
    assert Kc._select_forward(x, w, padding=(1, 1)) == "batched"
    old = Kc._set_thresholds(batched_min_n=128)
    try:
        assert Kc._thresholds()["batched_min_n"] == 128
        assert Kc._select_forward(x, w, padding=(1, 1)) != "batched"
    finally:
        Kc._set_thresholds(**old)
    assert Kc._thresholds() == table
    with pytest.raises(ValueError, match="no threshold named 'bands'"):
        Kc._set_thresholds(bands=3)
    with pytest.raises(ValueError, match="at least 1"):
        Kc._set_thresholds(chunk_taps=0)
    assert Kc._thresholds() == table


# --------------------------------------------------------------------------------------
# NOTE [ Winograd convolution ]
# --------------------------------------------------------------------------------------

# (N, C, H, W, K, padding (top, left, bottom, right)): odd and even outputs (a last tile
# row or column cut in half), one-pixel outputs, a padding past the kernel's reach
# (tiles wholly in the padding), asymmetric paddings, many channels (several K blocks of
# U when winograd_a_elems is small)
WINOGRAD_CASES = [
    (2, 5, 7, 9, 6, (1, 1, 1, 1)),
    (3, 4, 6, 6, 3, (0, 0, 0, 0)),
    (1, 3, 1, 1, 4, (1, 1, 1, 1)),
    (2, 2, 3, 2, 5, (3, 2, 3, 2)),
    (2, 6, 8, 5, 7, (0, 2, 1, 0)),
    (1, 70, 5, 6, 33, (1, 1, 1, 1)),
    (4, 16, 11, 13, 24, (1, 1, 1, 1)),
]


@pytest.mark.parametrize("case", WINOGRAD_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blocking", ["default", "small"])
def test_winograd_forward_and_gradients(case, dtype, blocking):
    """The Winograd paths -- the forward, the input gradient as the convolution of
    grad_output with the flipped weight, the weight gradient as the gradient of the
    Winograd form (NOTE [ Winograd weight gradient ]) -- against the float64 tap-loop
    reference, in every layout, with bias; "small" blocking cuts the tiles into one-row
    blocks and chunks and U into K blocks of 16 channels, so blocks end mid-image, the
    GEMMs accumulate over K blocks and the weight gradient over chunks."""
    from strided._C.kernels import conv as Kc
    N, C, H, W, K, (pt, pl, pb, pr) = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ref = ref_conv2d(xp, w, b)
    go = rng.standard_normal(ref.shape).astype(dtype)
    pads = (pt, pl, pb, pr)
    ref_gx, ref_gw = ref_conv2d_grads(go, x, w, (1, 1), ((pt, pb), (pl, pr)))
    old = (Kc._set_thresholds(winograd_tiles=1, winograd_a_elems=1, winograd_wgrad_chunk=1)
           if blocking == "small" else None)
    try:
        usable = Kc._usable_paths(T(x), T(w), padding=pads)
        assert "winograd" in usable["forward"] and "winograd" in usable["weight_grad"]
        # the input gradient's geometry needs the padding within the kernel's reach
        grad_input = max(pads) <= 2
        assert ("winograd" in usable["input_grad"]) == grad_input
        with Kc._force_path(forward="winograd", weight_grad="winograd",
                            input_grad="winograd" if grad_input else None):
            assert Kc._select_forward(T(x), T(w), padding=pads) == "winograd"
            for kind in ("contiguous", "channels_last", "stepped", "negative"):
                out = Kc.conv2d_forward(layout(x, kind), T(w), T(b), 1, 1, pt, pl, 1, 1, 1,
                                        pb, pr)
                np.testing.assert_allclose(out.numpy(), ref, **tol(dtype), err_msg=kind)
                gx, gw, _ = Kc.conv2d_backward(T(go), layout(x, kind), T(w), 1, 1, pt, pl,
                                               1, 1, 1, True, True, False, pb, pr)
                np.testing.assert_allclose(gx.numpy(), ref_gx, **tol(dtype), err_msg=kind)
                np.testing.assert_allclose(gw.numpy(), ref_gw, **tol(dtype), err_msg=kind)
    finally:
        if old is not None:
            Kc._set_thresholds(**old)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_rounding_and_threads(dtype):
    """Within a few times the direct GEMM's rounding error of a float64 reference (the
    output is a sum of up to 9 transformed values, NOTE [ Winograd convolution ]), and the
    same bits on one and two threads and under any blocking of the tiles (the K blocks of
    U, which round the sums differently, depend on the layer alone) for the forward and
    the input gradient; the weight gradient's per-thread sums agree within rounding."""
    from strided._C.kernels import conv as Kc
    x = rng.standard_normal((3, 64, 14, 15)).astype(dtype)
    w = (rng.standard_normal((72, 64, 3, 3)) / 24).astype(dtype)
    go = rng.standard_normal((3, 72, 14, 15)).astype(dtype)
    ref = ref_conv2d(x.astype(np.float64), w.astype(np.float64), None, (1, 1), (1, 1))
    ref_gx, ref_gw = ref_conv2d_grads(go.astype(np.float64), x.astype(np.float64),
                                      w.astype(np.float64), (1, 1), ((1, 1), (1, 1)))

    def run():
        return (F.conv2d(T(x), T(w), padding=1).numpy(),
                *(t.numpy() for t in F.conv2d_backward(T(go), T(x), T(w), 1, 1, 1, 1,
                                                       (True, True, False))[:2]))
    outs = {}
    eps = np.finfo(dtype).eps
    old_threads = strided.get_num_threads()
    try:
        for path in ("winograd", "image"):
            for threads in (1, 2):
                strided.set_num_threads(threads)
                with Kc._force_path(forward=path, input_grad=path, weight_grad=path):
                    outs[path, threads] = run()
        with Kc._force_path(forward="winograd", input_grad="winograd", weight_grad="winograd"):
            old = Kc._set_thresholds(winograd_tiles=9)
            try:
                outs["blocked"] = run()
            finally:
                Kc._set_thresholds(**old)
    finally:
        strided.set_num_threads(old_threads)
    for i, r in enumerate((ref, ref_gx, ref_gw)):
        # the weight gradient sums per-thread partials (NOTE [ Winograd weight gradient ])
        # over chunks that follow winograd_tiles: equal within rounding only
        same = np.array_equal if i < 2 else (
            lambda a, b: np.allclose(a, b, rtol=0, atol=64 * eps * np.abs(b).max()))
        assert same(outs["winograd", 1][i], outs["winograd", 2][i])
        assert same(outs["winograd", 1][i], outs["blocked"][i])
        err_w = np.abs(outs["winograd", 1][i] - r).max()
        err_d = np.abs(outs["image", 1][i] - r).max()
        assert err_w <= max(8 * err_d, 64 * eps * np.abs(r).max()), (i, err_w, err_d)


WINO_TRANSFORM_CASES = [     # N, C, K, H, W, padding
    (2, 3, 4, 8, 8, (1, 1)),
    (1, 2, 3, 7, 9, (1, 1)),                # odd sizes: the last tile half outside
    (2, 3, 2, 5, 6, (0, 2)),
    (1, 2, 2, 3, 3, (2, 1, 0, 3)),          # asymmetric, padding past the kernel's reach
    (3, 2, 3, 1, 4, (1, 1)),                # one input row
    (2, 1, 2, 36, 34, (1, 1)),              # rows long enough for every vector width
]


def _winograd_reference(x, pads, m, go):
    """(V, out, Z) of NOTE [ Winograd convolution ] by their definitions, in float64."""
    Bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    At = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
    N, C, H, W = x.shape
    K, OH, OW = go.shape[1:]
    pH, pW = pads[0], pads[1]
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    xp = np.zeros((N, C, 2 * TH + 2, 2 * TW + 2))
    h, w = max(0, min(H, 2 * TH + 2 - pH)), max(0, min(W, 2 * TW + 2 - pW))
    xp[:, :, pH:pH + h, pW:pW + w] = x[:, :, :h, :w]
    gp = np.zeros((N, K, 2 * TH, 2 * TW))
    gp[:, :, :OH, :OW] = go
    V = np.zeros((16, C, N * TH * TW))
    Z = np.zeros((16, K, N * TH * TW))
    out = np.zeros((N, K, 2 * TH, 2 * TW))
    for n in range(N):
        for th in range(TH):
            for tw in range(TW):
                j = (n * TH + th) * TW + tw
                for c in range(C):
                    d = xp[n, c, 2 * th:2 * th + 4, 2 * tw:2 * tw + 4]
                    V[:, c, j] = (Bt @ d @ Bt.T).reshape(16)
                for k in range(K):
                    dy = gp[n, k, 2 * th:2 * th + 2, 2 * tw:2 * tw + 2]
                    Z[:, k, j] = (At.T @ dy @ At).reshape(16)
                    y = At @ m[:, k, j].reshape(4, 4).astype(float) @ At.T
                    out[n, k, 2 * th:2 * th + 2, 2 * tw:2 * tw + 2] = y
    return V, out[:, :, :OH, :OW], Z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", WINO_TRANSFORM_CASES)
def test_winograd_transform_builds(case, dtype, kernel_table):
    """The Winograd transforms (NOTE [ Winograd input transform ] and the output and
    output-gradient ones in kernels/conv_kernels.h) against their definitions, for x in
    several layouts, and every instruction-set build this CPU runs giving the same bits
    (NOTE [ Convolution transforms per instruction set ])."""
    from strided._C.core import cpu
    from strided._C.kernels import conv as Kc
    if kernel_table != TABLES[0]:
        pytest.skip("independent of the GEMM table: run once")
    N, C, K, H, W, pads = case
    rng = np.random.default_rng(sum(case[:5]))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    pe = pads if len(pads) == 4 else pads + pads
    OH, OW = H + pe[0] + pe[2] - 2, W + pe[1] + pe[3] - 2
    P = N * ((OH + 1) // 2) * ((OW + 1) // 2)
    m = rng.standard_normal((16, K, P)).astype(dtype)
    go = rng.standard_normal((N, K, OH, OW)).astype(dtype)
    w = T(np.zeros((K, C, 3, 3), dtype))
    ref = _winograd_reference(x.astype(float), pads, m, go)
    layouts = {
        "contiguous": T(x),
        "reversed rows": T(x[:, :, ::-1].copy()).flip(2),
        "stepped columns": T(np.repeat(x, 2, axis=3))[:, :, :, ::2],
        "channels last": T(x.transpose(0, 2, 3, 1)).permute(0, 3, 1, 2),
    }
    levels = range(("baseline", "avx2", "avx512").index(cpu.isa()) + 1)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    first = None
    for name, xt in layouts.items():
        for isa in levels:
            got = [t.numpy() for t in Kc._winograd_transforms(xt, w, pads, T(m), T(go), isa)]
            for a, b, what in zip(got, ref, ("V", "out", "Z")):
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 8,
                                           err_msg=f"{what}, {name}, isa {isa}")
            if first is None:
                first = got
            for a, b in zip(got, first):
                assert a.tobytes() == b.tobytes(), (name, isa)
    with pytest.raises(ValueError, match="isa must be"):
        Kc._winograd_transforms(T(x), w, pads, T(m), T(go), len(levels))


def test_winograd_choice():
    """Chosen for ResNet's 3x3 stride-1 layers (the forward and both gradients), not for
    few channels, few tiles, strides, dilation, groups or other kernel sizes; forcing it
    where it cannot run raises."""
    from strided._C.kernels import conv as Kc
    x = T(np.zeros((8, 64, 16, 16), np.float32))
    w = T(np.zeros((64, 64, 3, 3), np.float32))
    assert Kc._select_forward(x, w, padding=(1, 1)) == "winograd"
    assert Kc._select_backward(x, w, padding=(1, 1)) == ("winograd", "winograd")
    assert Kc._select_forward(T(np.zeros((8, 16, 16, 16), np.float32)),
                              T(np.zeros((64, 16, 3, 3), np.float32)), padding=(1, 1)) != "winograd"
    assert Kc._select_forward(T(np.zeros((1, 64, 4, 4), np.float32)), w,
                              padding=(1, 1)) != "winograd"
    for args in (dict(stride=(2, 2)), dict(dilation=(2, 1))):
        assert Kc._select_forward(x, w, padding=(1, 1), **args) != "winograd"
    assert "winograd" not in Kc._usable_paths(x, T(np.zeros((64, 32, 3, 3), np.float32)),
                                              padding=(1, 1), groups=2)["forward"]
    assert "winograd" not in Kc._usable_paths(x, T(np.zeros((64, 64, 5, 5), np.float32)),
                                              padding=(2, 2))["forward"]
    with Kc._force_path(forward="winograd"):
        with pytest.raises(RuntimeError, match="3x3 kernel, stride 1"):
            F.conv2d(x, w, stride=2, padding=1)
    with Kc._force_path(weight_grad="winograd"):
        with pytest.raises(RuntimeError, match="weight_grad path 'winograd'"):
            F.conv2d_backward(T(np.zeros((8, 64, 8, 8), np.float32)), x, w, 2, 1, 1, 1)
