"""Pooling (strided.nn.functional) against direct-loop NumPy references.

The references below scan every window in row-major order exactly as PyTorch's CPU kernels
do (start from (-inf, first tap), take a tap when `v > max or isnan(v)`), so ties and NaN
are checked to the index.  Inputs come in several layouts (channels-last, transposed H/W,
stepped, negative strides, N/C swapped, broadcast) built from NumPy arrays, so every test
also checks that no kernel assumes contiguity.
"""
import itertools

import numpy as np
import pytest

import strided
import strided.nn.functional as F

# --------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------


def ref_out_size(L, k, s, p, d, ceil):
    o = (L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= L + p:
        o -= 1
    return o


def lowest(dtype):
    dtype = np.dtype(dtype)
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def ref_max_pool2d(a, k, s, p, d, ceil):
    """(out, indices): PyTorch's scan over each window; empty windows give (lowest, -1)."""
    N, C, H, W = a.shape
    OH, OW = (ref_out_size(H, k[0], s[0], p[0], d[0], ceil),
              ref_out_size(W, k[1], s[1], p[1], d[1], ceil))
    out = np.empty((N, C, OH, OW), a.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    floating = a.dtype.kind == "f"
    for oh in range(OH):
        hs = [oh * s[0] - p[0] + i * d[0] for i in range(k[0])]
        hs = [h for h in hs if 0 <= h < H]
        for ow in range(OW):
            ws = [ow * s[1] - p[1] + j * d[1] for j in range(k[1])]
            ws = [w for w in ws if 0 <= w < W]
            best = np.full((N, C), lowest(a.dtype), a.dtype)
            bi = np.full((N, C), hs[0] * W + ws[0] if hs and ws else -1, np.int64)
            for h in hs:
                for w in ws:
                    v = a[:, :, h, w]
                    take = v > best
                    if floating:
                        take |= np.isnan(v)
                    best = np.where(take, v, best)
                    bi = np.where(take, h * W + w, bi)
            out[:, :, oh, ow] = best
            idx[:, :, oh, ow] = bi
    return out, idx


def avg_windows(L, k, s, p, ceil, count_include_pad, O=None):
    """[(start, stop, divisor factor)] per output along one axis (PyTorch's avg_pool2d)."""
    O = ref_out_size(L, k, s, p, 1, ceil) if O is None else O
    res = []
    for o in range(O):
        lo = o * s - p
        hi = min(lo + k, L + p)
        span = hi - lo
        a, b = max(lo, 0), min(hi, L)
        res.append((a, b, span if count_include_pad else b - a))
    return res


def adaptive_windows(L, O):
    return [(o * L // O, -(-(o + 1) * L // O), -(-(o + 1) * L // O) - o * L // O)
            for o in range(O)]


def ref_avg_pool2d(a, k, s, p, ceil, cip, div, windows=None):
    """Average pooling in float64 (int64 inputs: integer sums, truncated quotient)."""
    N, C, H, W = a.shape
    if windows is None:
        wh = avg_windows(H, k[0], s[0], p[0], ceil, cip)
        ww = avg_windows(W, k[1], s[1], p[1], ceil, cip)
    else:
        wh, ww = windows
    integer = a.dtype.kind in "iu"
    out = np.zeros((N, C, len(wh), len(ww)), np.int64 if integer else np.float64)
    for oh, (h0, h1, fh) in enumerate(wh):
        for ow, (w0, w1, fw) in enumerate(ww):
            if h0 >= h1 or w0 >= w1:
                continue
            q = div if div else fh * fw
            if integer:
                tot = a[:, :, h0:h1, w0:w1].astype(np.int64).sum(axis=(2, 3))
                out[:, :, oh, ow] = np.trunc(tot / q) if abs(tot).max() < 2**50 else tot // q
            else:
                with np.errstate(invalid="ignore"):        # inf - inf in NaN tests
                    out[:, :, oh, ow] = a[:, :, h0:h1, w0:w1].astype(np.float64).sum(axis=(2, 3)) / q
    return out


def ref_avg_backward(g, H, W, wh, ww, div):
    N, C = g.shape[:2]
    gi = np.zeros((N, C, H, W))
    for oh, (h0, h1, fh) in enumerate(wh):
        for ow, (w0, w1, fw) in enumerate(ww):
            q = div if div else fh * fw
            gi[:, :, h0:h1, w0:w1] += (g[:, :, oh, ow] / q)[:, :, None, None]
    return gi


def ref_max_backward(g, idx, H, W):
    N, C = g.shape[:2]
    gi = np.zeros((N, C, H * W))
    for n in range(N):
        for c in range(C):
            for o, i in zip(g[n, c].ravel(), idx[n, c].ravel()):
                if i >= 0:
                    gi[n, c, i] += o
    return gi.reshape(N, C, H, W)


# --------------------------------------------------------------------------------------
# Inputs in every layout
# --------------------------------------------------------------------------------------

LAYOUTS = ("contiguous", "channels_last", "hw_transposed", "stepped", "negative",
           "nc_swapped")


def layout(a, kind):
    """A strided tensor holding a's values (N, C, H, W) in the given memory layout."""
    if kind == "contiguous":
        v = np.ascontiguousarray(a)
    elif kind == "channels_last":       # NHWC memory, seen as NCHW through a permute
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


def test_layouts_are_what_they_claim():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    for kind in LAYOUTS:
        t = layout(a, kind)
        assert np.array_equal(t.numpy(), a), kind
        assert t.is_contiguous() == (kind == "contiguous"), kind
    assert layout(a, "channels_last").stride() == (60, 1, 15, 3)
    assert min(layout(a, "negative").stride()) < 0


def sample(shape, dtype, rng, ties=True):
    """Values with many exact ties (small integers) or distinct floats."""
    if ties:
        a = rng.integers(-3, 4, size=shape)
    else:
        a = rng.standard_normal(shape)
    return a.astype(dtype)


# --------------------------------------------------------------------------------------
# Parameter grids
# --------------------------------------------------------------------------------------

KERNELS = (1, 2, 3, (2, 3), (3, 1))
STRIDES = (None, 1, 2, (1, 3))
PADDINGS = (0, 1, (1, 0))
DILATIONS = (1, 2, (2, 1))


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def max_grid():
    for k, s, p, d, ceil in itertools.product(KERNELS, STRIDES, PADDINGS, DILATIONS,
                                              (False, True)):
        kp, pp = pair(k), pair(p)
        if pp[0] > kp[0] // 2 or pp[1] > kp[1] // 2:
            continue
        yield k, s, p, d, ceil


def avg_grid():
    for k, s, p, ceil, cip, div in itertools.product(KERNELS, STRIDES, PADDINGS,
                                                     (False, True), (True, False),
                                                     (None, 3, -2)):
        kp, pp = pair(k), pair(p)
        if pp[0] > kp[0] // 2 or pp[1] > kp[1] // 2:
            continue
        if div is not None and not cip:
            continue          # the divisor replaces the count: one of the two is enough
        yield k, s, p, ceil, cip, div


# --------------------------------------------------------------------------------------
# Forward against the references
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_grid(dtype):
    rng = np.random.default_rng(0)
    a = sample((2, 3, 7, 8), dtype, rng)
    tensors = {kind: layout(a, kind) for kind in LAYOUTS}
    n = 0
    for k, s, p, d, ceil in max_grid():
        s_ = pair(k) if s is None else pair(s)
        want, want_i = ref_max_pool2d(a, pair(k), s_, pair(p), pair(d), ceil)
        for kind, t in tensors.items():
            out, ind = F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)
            assert out.dtype == t.dtype and ind.dtype == strided.int64
            assert np.array_equal(out.numpy(), want), (k, s, p, d, ceil, kind)
            assert np.array_equal(ind.numpy(), want_i), (k, s, p, d, ceil, kind)
            assert np.array_equal(F.max_pool2d(t, k, s, p, d, ceil).numpy(), want)
        n += 1
    assert n > 150


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_avg_pool2d_grid(dtype):
    rng = np.random.default_rng(1)
    a = sample((2, 3, 7, 8), dtype, rng, ties=dtype == "int64")
    tensors = {kind: layout(a, kind) for kind in LAYOUTS}
    tol = 1e-6 if dtype == "float32" else 1e-12
    n = 0
    for k, s, p, ceil, cip, div in avg_grid():
        s_ = pair(k) if s is None else pair(s)
        want = ref_avg_pool2d(a, pair(k), s_, pair(p), ceil, cip, div)
        for kind, t in tensors.items():
            out = F.avg_pool2d(t, k, s, p, ceil, cip, div)
            assert out.dtype == t.dtype
            if dtype == "int64":
                assert np.array_equal(out.numpy(), want), (k, s, p, ceil, cip, div, kind)
            else:
                np.testing.assert_allclose(out.numpy(), want, rtol=tol, atol=tol,
                                           err_msg=str((k, s, p, ceil, cip, div, kind)))
        n += 1
    assert n > 100


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adaptive_pools_grid(dtype):
    rng = np.random.default_rng(2)
    for H, W in ((7, 8), (5, 3), (1, 6)):
        a = sample((2, 3, H, W), dtype, rng)
        tensors = {kind: layout(a, kind) for kind in LAYOUTS}
        for OH, OW in ((1, 1), (2, 3), (3, 2), (H, W), (H + 2, W + 3), (4, 5)):
            wh, ww = adaptive_windows(H, OH), adaptive_windows(W, OW)
            want_avg = ref_avg_pool2d(a, None, None, None, None, None, None, (wh, ww))
            want, want_i = ref_adaptive_max(a, OH, OW)
            for kind, t in tensors.items():
                got = F.adaptive_avg_pool2d(t, (OH, OW))
                np.testing.assert_allclose(got.numpy(), want_avg, rtol=1e-6, atol=1e-6)
                out, ind = F.adaptive_max_pool2d(t, (OH, OW), return_indices=True)
                assert np.array_equal(out.numpy(), want), (H, W, OH, OW, kind)
                assert np.array_equal(ind.numpy(), want_i), (H, W, OH, OW, kind)


def ref_adaptive_max(a, OH, OW):
    N, C, H, W = a.shape
    out = np.empty((N, C, OH, OW), a.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    for oh, (h0, h1, _) in enumerate(adaptive_windows(H, OH)):
        for ow, (w0, w1, _) in enumerate(adaptive_windows(W, OW)):
            best = np.full((N, C), -np.inf, a.dtype)
            bi = np.full((N, C), h0 * W + w0)
            for h in range(h0, h1):
                for w in range(w0, w1):
                    v = a[:, :, h, w]
                    take = (v > best) | np.isnan(v)
                    best, bi = np.where(take, v, best), np.where(take, h * W + w, bi)
            out[:, :, oh, ow], idx[:, :, oh, ow] = best, bi
    return out, idx


def test_adaptive_output_size_forms():
    a = np.random.default_rng(3).standard_normal((2, 3, 6, 5)).astype(np.float32)
    t = strided.from_numpy(a)
    assert F.adaptive_avg_pool2d(t, (None, 2)).shape == (2, 3, 6, 2)
    assert F.adaptive_avg_pool2d(t, (3, None)).shape == (2, 3, 3, 5)
    assert F.adaptive_max_pool2d(t, 4).shape == (2, 3, 4, 4)
    assert F.adaptive_avg_pool2d(t, [2, 2]).shape == (2, 3, 2, 2)
    assert F.adaptive_avg_pool2d(t, 0).shape == (2, 3, 0, 0)
    out, ind = F.adaptive_max_pool2d(t, (0, 3), return_indices=True)
    assert out.shape == ind.shape == (2, 3, 0, 3)
    # global pooling
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t, 1).numpy()[..., 0, 0],
                               a.mean(axis=(2, 3)), rtol=1e-6)
    assert np.array_equal(F.adaptive_max_pool2d(t, 1).numpy()[..., 0, 0], a.max(axis=(2, 3)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pool1d(dtype):
    rng = np.random.default_rng(4)
    a = sample((2, 3, 11), dtype, rng)
    variants = {"contiguous": strided.from_numpy(a),
                "transposed": strided.from_numpy(np.ascontiguousarray(a.transpose(2, 1, 0)))
                .permute(2, 1, 0),
                "negative": strided.from_numpy(np.ascontiguousarray(a[:, :, ::-1])).flip(2)}
    for k, s, p, d, ceil in itertools.product((1, 2, 3, 4), (None, 1, 2, 3), (0, 1, 2),
                                              (1, 2), (False, True)):
        if p > k // 2:
            continue
        s_ = k if s is None else s
        if ref_out_size(11, k, s_, p, d, ceil) < 1:
            continue
        want, want_i = ref_max_pool2d(a[:, :, None], (1, k), (1, s_), (0, p), (1, d), ceil)
        want_avg = {cip: ref_avg_pool2d(a[:, :, None], (1, k), (1, s_), (0, p), ceil, cip, None)
                    for cip in (True, False)}
        for kind, t in variants.items():
            out, ind = F.max_pool1d(t, k, s, p, d, ceil, return_indices=True)
            assert np.array_equal(out.numpy(), want[:, :, 0]), (k, s, p, d, ceil, kind)
            assert np.array_equal(ind.numpy(), want_i[:, :, 0]), (k, s, p, d, ceil, kind)
            if d == 1:
                for cip in (True, False):
                    got = F.avg_pool1d(t, k, s, p, ceil, cip)
                    np.testing.assert_allclose(got.numpy(), want_avg[cip][:, :, 0], rtol=1e-6,
                                               atol=1e-6)
    t = variants["transposed"]
    got = F.adaptive_avg_pool1d(t, 4).numpy()
    want = ref_avg_pool2d(a[:, :, None], None, None, None, None, None, None,
                          ([(0, 1, 1)], adaptive_windows(11, 4)))[:, :, 0]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    out, ind = F.adaptive_max_pool1d(t, 4, return_indices=True)
    want, want_i = ref_adaptive_max(a[:, :, None], 1, 4)
    assert np.array_equal(out.numpy(), want[:, :, 0])
    assert np.array_equal(ind.numpy(), want_i[:, :, 0])


def test_unbatched_batch_one_and_empty_batch():
    rng = np.random.default_rng(5)
    a = sample((1, 3, 6, 7), "float32", rng)
    t = strided.from_numpy(a)
    u = strided.from_numpy(a[0])
    for f in (lambda x, **kw: F.max_pool2d(x, 3, 2, 1, **kw),
              lambda x, **kw: F.avg_pool2d(x, 2, 2, **kw),
              lambda x, **kw: F.adaptive_avg_pool2d(x, (2, 3), **kw),
              lambda x, **kw: F.adaptive_max_pool2d(x, (2, 3), **kw)):
        batched, single = f(t), f(u)
        assert single.shape == batched.shape[1:]
        assert np.array_equal(single.numpy(), batched.numpy()[0])
    out, ind = F.max_pool2d(u, 3, 2, 1, return_indices=True)
    assert out.shape == ind.shape == (3, 3, 4)
    out, ind = F.max_pool1d(strided.from_numpy(a[0, :, 0]), 2, return_indices=True)
    assert out.shape == ind.shape == (3, 3)
    empty = strided.zeros(0, 3, 6, 7)
    assert F.max_pool2d(empty, 2).shape == (0, 3, 3, 3)
    assert F.avg_pool2d(empty, 2).shape == (0, 3, 3, 3)
    assert F.adaptive_max_pool2d(empty, 2).shape == (0, 3, 2, 2)
    out, ind = F.max_pool2d(empty, 2, return_indices=True)
    assert ind.shape == (0, 3, 3, 3)
    g = F.max_pool2d_backward(out, empty, ind)
    assert g.shape == (0, 3, 6, 7)


def test_results_are_fresh_contiguous_tensors():
    a = np.random.default_rng(6).standard_normal((2, 3, 6, 6)).astype(np.float32)
    t = layout(a, "channels_last")
    for r in (F.max_pool2d(t, 2), F.avg_pool2d(t, 2), F.max_pool2d(t, 2, return_indices=True)[1],
              F.max_pool2d_backward(F.max_pool2d(t, 2), t, F.max_pool2d(t, 2,
                                                                       return_indices=True)[1])):
        assert r.is_contiguous()
    assert np.array_equal(t.numpy(), a)         # the input is untouched


def test_broadcast_input():
    """A zero-stride (expanded) input: every column of a row holds the same value."""
    col = np.random.default_rng(7).standard_normal((2, 3, 5, 1)).astype(np.float32)
    t = strided.from_numpy(col).expand(2, 3, 5, 6)
    assert t.stride()[3] == 0
    a = np.broadcast_to(col, (2, 3, 5, 6)).copy()
    out, ind = F.max_pool2d(t, 3, 1, 1, return_indices=True)
    want, want_i = ref_max_pool2d(a, (3, 3), (1, 1), (1, 1), (1, 1), False)
    assert np.array_equal(out.numpy(), want) and np.array_equal(ind.numpy(), want_i)
    np.testing.assert_allclose(F.avg_pool2d(t, 2, 1).numpy(),
                               ref_avg_pool2d(a, (2, 2), (1, 1), (0, 0), False, True, None),
                               rtol=1e-6)


# --------------------------------------------------------------------------------------
# NaN, infinities, ties, integer dtypes
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_propagation_and_index(dtype):
    rng = np.random.default_rng(8)
    for trial in range(6):
        a = sample((2, 2, 9, 10), dtype, rng)
        a[rng.random(a.shape) < (0.05, 0.2, 0.5, 0.9, 1.0, 0.02)[trial]] = np.nan
        a[rng.random(a.shape) < 0.05] = np.inf
        a[rng.random(a.shape) < 0.05] = -np.inf
        for kind in ("contiguous", "channels_last", "negative"):
            t = layout(a, kind)
            for k, s, p, d in ((3, 2, 1, 1), (2, 2, 0, 1), (3, 1, 1, 2), ((2, 4), (1, 3), 1, 1)):
                out, ind = F.max_pool2d(t, k, s, p, d, return_indices=True)
                want, want_i = ref_max_pool2d(a, pair(k), pair(s), pair(p), pair(d), False)
                np.testing.assert_array_equal(out.numpy(), want)   # NaN == NaN here
                np.testing.assert_array_equal(ind.numpy(), want_i)
            out, ind = F.adaptive_max_pool2d(t, (4, 3), return_indices=True)
            want, want_i = ref_adaptive_max(a, 4, 3)
            np.testing.assert_array_equal(out.numpy(), want)
            np.testing.assert_array_equal(ind.numpy(), want_i)
            # average pooling propagates NaN through its sums
            got = F.avg_pool2d(t, 2).numpy()
            want = ref_avg_pool2d(a, (2, 2), (2, 2), (0, 0), False, True, None)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_nan_rules_by_hand():
    nan = float("nan")
    # last NaN in row-major order wins, even when an earlier column holds a later-row NaN
    a = np.zeros((1, 1, 3, 3), np.float32)
    a[0, 0, 0, 2] = nan
    a[0, 0, 1, 0] = nan
    out, ind = F.max_pool2d(strided.from_numpy(a), 3, return_indices=True)
    assert np.isnan(out.item()) and ind.item() == 3
    # ties: the first maximum in row-major order, though a later column's is in an earlier row
    a = np.zeros((1, 1, 3, 3), np.float32)
    a[0, 0, 1, 0] = 1
    a[0, 0, 0, 2] = 1
    assert F.max_pool2d(strided.from_numpy(a), 3, return_indices=True)[1].item() == 2
    # all -inf: the first tap inside the input
    a = np.full((1, 1, 3, 3), -np.inf, np.float32)
    out, ind = F.max_pool2d(strided.from_numpy(a), 3, 1, 1, return_indices=True)
    assert np.array_equal(ind.numpy()[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])
    # signed zeros tie: the first one is returned, with its sign
    a = np.array([[[[-0.0, 0.0]]]], np.float32)
    out, ind = F.max_pool2d(strided.from_numpy(a), (1, 2), return_indices=True)
    assert ind.item() == 0 and np.signbit(out.item())


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64"])
def test_max_pool_integers(dtype):
    rng = np.random.default_rng(9)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=(2, 3, 7, 6), dtype=dtype, endpoint=True)
    a[0, 0] = info.min          # a plane of the lowest value: ties everywhere
    a[0, 1, ::2] = info.max
    for kind in ("contiguous", "channels_last", "stepped"):
        t = layout(a, kind)
        for k, s, p, d, ceil in ((3, 2, 1, 1, False), (2, 1, 0, 2, True), ((3, 2), 1, 1, 1, True)):
            out, ind = F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)
            want, want_i = ref_max_pool2d(a, pair(k), pair(s), pair(p), pair(d), ceil)
            assert out.dtype.name == dtype
            assert np.array_equal(out.numpy(), want) and np.array_equal(ind.numpy(), want_i)
        out, ind = F.max_pool1d(t[:, :, 0], 3, 2, 1, return_indices=True)
        want, want_i = ref_max_pool2d(a[:, :, :1], (1, 3), (1, 2), (0, 1), (1, 1), False)
        assert np.array_equal(out.numpy(), want[:, :, 0])
        assert np.array_equal(F.max_pool1d(t[:, :, 0], 3, 2, 1).numpy(), want[:, :, 0])


def test_avg_pool_int64_truncates_toward_zero():
    a = np.array([[[[-7, -3, 5], [-1, -9, 4], [2, 2, 2]]]], np.int64)
    t = strided.from_numpy(a)
    assert F.avg_pool2d(t, 2, stride=1).numpy().tolist() == [[[[-5, 0], [-1, 0]]]]
    assert F.avg_pool2d(t, 2, 1, divisor_override=3).numpy().tolist() == [[[[-6, -1], [-2, 0]]]]
    assert F.avg_pool2d(t, 2, 1, 1).numpy()[0, 0, 0].tolist() == [-1, -2, 0, 1]


@pytest.mark.parametrize("f", ["avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "bool"])
def test_unsupported_dtypes(f, dtype):
    t = strided.zeros(1, 1, 4, 4, dtype=getattr(strided, "bool" if dtype == "bool" else dtype))
    args = (2,)
    with pytest.raises(TypeError, match=f'"{f}" not implemented for \'{dtype}\''):
        getattr(F, f)(t, *args)


def test_max_pool_bool_refused():
    with pytest.raises(TypeError, match="not implemented for 'bool'"):
        F.max_pool2d(strided.zeros(1, 1, 4, 4, dtype=strided.bool), 2)
    with pytest.raises(TypeError, match="not implemented for 'int64'"):
        F.adaptive_avg_pool2d(strided.zeros(1, 1, 4, 4, dtype=strided.int64), 2)


def test_empty_windows_from_dilation():
    """A window whose taps all fall outside the input (dilation > input): lowest value and
    index -1; its gradient is dropped."""
    a = np.array([[[[5.0]]]], np.float32)
    out, ind = F.max_pool2d(strided.from_numpy(a), (1, 2), 1, (0, 1), (1, 2),
                            return_indices=True)
    assert out.numpy().tolist() == [[[[-np.inf]]]] and ind.numpy().tolist() == [[[[-1]]]]
    g = F.max_pool2d_backward(strided.ones(1, 1, 1, 1), a.shape, ind)
    assert g.numpy().tolist() == [[[[0.0]]]]
    out = F.max_pool2d(strided.from_numpy(np.array([[[[5]]]], np.int32)), (2, 1), 1, (1, 0),
                       (2, 1))
    assert out.item() == np.iinfo(np.int32).min


# --------------------------------------------------------------------------------------
# Backward
# --------------------------------------------------------------------------------------

def test_max_pool2d_backward_routes_to_indices():
    rng = np.random.default_rng(10)
    a = sample((2, 3, 7, 8), "float64", rng)           # ties: routing must follow indices
    n = 0
    for k, s, p, d, ceil in max_grid():
        if n % 3:                                      # a third of the grid is plenty here
            n += 1
            continue
        n += 1
        for kind in ("contiguous", "channels_last"):
            t = layout(a, kind)
            out, ind = F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)
            g = rng.standard_normal(out.shape)
            for gkind in ("contiguous", "negative"):
                gt = layout(g, gkind)
                got = F.max_pool2d_backward(gt, t, ind)
                want = ref_max_backward(g, ind.numpy(), 7, 8)
                assert got.shape == t.shape and got.dtype == strided.float64
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def numeric_grad(f, a, g, eps):
    """d/da of sum(f(a) * g) by central differences."""
    flat = a.reshape(-1)
    grad = np.zeros_like(flat)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = (f(a) * g).sum()
        flat[i] = old - eps
        lo = (f(a) * g).sum()
        flat[i] = old
        grad[i] = (hi - lo) / (2 * eps)
    return grad.reshape(a.shape)


def test_avg_pool2d_backward_finite_differences():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((1, 2, 5, 6))
    cases = [(3, 2, 1, False, True, None), (3, 2, 1, True, False, None), (2, 1, 0, False, True, 3),
             ((3, 2), (2, 1), (1, 1), True, True, None), (2, None, 1, True, False, None),
             (1, 2, 0, True, True, None)]
    for k, s, p, ceil, cip, div in cases:
        def f(x):
            return F.avg_pool2d(strided.from_numpy(x), k, s, p, ceil, cip, div).numpy()
        out = f(a)
        g = rng.standard_normal(out.shape)
        got = F.avg_pool2d_backward(strided.from_numpy(g), a.shape, k, s, p, ceil, cip, div)
        np.testing.assert_allclose(got.numpy(), numeric_grad(f, a.copy(), g, 1e-3),
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avg_pool2d_backward_grid(dtype):
    rng = np.random.default_rng(12)
    H, W = 7, 8
    for k, s, p, ceil, cip, div in avg_grid():
        s_ = pair(k) if s is None else pair(s)
        wh = avg_windows(H, pair(k)[0], s_[0], pair(p)[0], ceil, cip)
        ww = avg_windows(W, pair(k)[1], s_[1], pair(p)[1], ceil, cip)
        g = rng.standard_normal((2, 3, len(wh), len(ww))).astype(dtype)
        want = ref_avg_backward(g.astype(np.float64), H, W, wh, ww, div)
        for gkind in ("contiguous", "channels_last", "stepped"):
            got = F.avg_pool2d_backward(layout(g, gkind), (2, 3, H, W), k, s, p, ceil, cip, div)
            assert got.dtype.name == dtype
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5,
                                       err_msg=str((k, s, p, ceil, cip, div, gkind)))


def test_max_pool_backward_finite_differences():
    rng = np.random.default_rng(13)
    a = rng.standard_normal((1, 2, 6, 5))           # distinct values: no near-ties
    for k, s, p, d in ((3, 2, 1, 1), (2, 1, 0, 2), ((3, 2), 1, (1, 0), 1)):
        def f(x):
            return F.max_pool2d(strided.from_numpy(x), k, s, p, d).numpy()
        out, ind = F.max_pool2d(strided.from_numpy(a), k, s, p, d, return_indices=True)
        g = rng.standard_normal(out.shape)
        got = F.max_pool2d_backward(strided.from_numpy(g), a.shape, ind)
        np.testing.assert_allclose(got.numpy(), numeric_grad(f, a.copy(), g, 1e-6),
                                   rtol=1e-6, atol=1e-8)


def test_adaptive_backward():
    rng = np.random.default_rng(14)
    a = rng.standard_normal((2, 3, 7, 5))
    for OH, OW in ((1, 1), (3, 2), (4, 4), (9, 7)):
        g = rng.standard_normal((2, 3, OH, OW))
        got = F.adaptive_avg_pool2d_backward(layout(g, "negative"), a.shape)
        want = ref_avg_backward(g, 7, 5, adaptive_windows(7, OH), adaptive_windows(5, OW), None)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
        out, ind = F.adaptive_max_pool2d(strided.from_numpy(a), (OH, OW), return_indices=True)
        got = F.adaptive_max_pool2d_backward(strided.from_numpy(g), a.shape, ind)
        np.testing.assert_allclose(got.numpy(), ref_max_backward(g, ind.numpy(), 7, 5),
                                   rtol=1e-12, atol=1e-12)

    def f(x):
        return F.adaptive_avg_pool2d(strided.from_numpy(x), (3, 2)).numpy()
    b = a[:1, :2].copy()
    g = rng.standard_normal((1, 2, 3, 2))
    got = F.adaptive_avg_pool2d_backward(strided.from_numpy(g), b.shape)
    np.testing.assert_allclose(got.numpy(), numeric_grad(f, b, g, 1e-3), rtol=1e-7, atol=1e-9)


def test_backward_1d_and_unbatched():
    rng = np.random.default_rng(15)
    a = rng.standard_normal((3, 10))                  # unbatched (C, L)
    t = strided.from_numpy(a)
    out, ind = F.max_pool1d(t, 3, 2, 1, return_indices=True)
    g = rng.standard_normal(out.shape)
    got = F.max_pool1d_backward(strided.from_numpy(g), t, ind)
    want = ref_max_backward(g[None, :, None], ind.numpy()[None, :, None], 1, 10)[0, :, 0]
    np.testing.assert_allclose(got.numpy(), want)
    out = F.avg_pool1d(t, 3, 2, 1, count_include_pad=False)
    g = rng.standard_normal(out.shape)
    got = F.avg_pool1d_backward(strided.from_numpy(g), a.shape, 3, 2, 1,
                                count_include_pad=False)
    want = ref_avg_backward(g[None, :, None], 1, 10, [(0, 1, 1)],
                            avg_windows(10, 3, 2, 1, False, False), None)[0, :, 0]
    np.testing.assert_allclose(got.numpy(), want)
    got = F.adaptive_avg_pool1d_backward(strided.from_numpy(g), a.shape)
    want = ref_avg_backward(g[None, :, None], 1, 10, [(0, 1, 1)],
                            adaptive_windows(10, g.shape[1]), None)[0, :, 0]
    np.testing.assert_allclose(got.numpy(), want)
    b = rng.standard_normal((2, 4, 6))                # unbatched (C, H, W)
    out, ind = F.adaptive_max_pool2d(strided.from_numpy(b), 3, return_indices=True)
    g = rng.standard_normal(out.shape)
    got = F.adaptive_max_pool2d_backward(strided.from_numpy(g), b.shape, ind)
    want = ref_max_backward(g[None], ind.numpy()[None], 4, 6)[0]
    np.testing.assert_allclose(got.numpy(), want)
    out, ind = F.adaptive_max_pool1d(t, 4, return_indices=True)
    g = rng.standard_normal(out.shape)
    got = F.adaptive_max_pool1d_backward(strided.from_numpy(g), a.shape, ind)
    assert got.shape == a.shape and np.isclose(got.numpy().sum(), g.sum())


def test_backward_argument_errors():
    t = strided.zeros(2, 3, 6, 6)
    out, ind = F.max_pool2d(t, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="indices of size"):
        F.max_pool2d_backward(out, t, ind[:, :, :2])
    with pytest.raises(RuntimeError, match="does not fit"):
        F.max_pool2d_backward(out, (2, 4, 6, 6), ind)
    with pytest.raises(TypeError, match="indices must be int64"):
        F.max_pool2d_backward(out, t, out)
    bad = strided.full((2, 3, 3, 3), 36, dtype=strided.int64)
    with pytest.raises(RuntimeError, match="54 invalid max"):
        F.max_pool2d_backward(out, t, bad)
    with pytest.raises(RuntimeError, match=r"not the output size .*expected spatial size \[3, 3\]"):
        F.avg_pool2d_backward(strided.zeros(2, 3, 2, 3), t, 2)
    with pytest.raises(RuntimeError, match=r"expected spatial size \[5\]"):
        F.avg_pool1d_backward(strided.zeros(3, 4), (3, 10), 2)
    with pytest.raises(TypeError, match="not implemented for 'int64'"):
        F.avg_pool2d_backward(strided.zeros(2, 3, 3, 3, dtype=strided.int64), t, 2)


# --------------------------------------------------------------------------------------
# Argument errors (PyTorch's wording, with the offending values)
# --------------------------------------------------------------------------------------

ERRORS = [
    (lambda x: F.max_pool2d(x, 0), "kernel size should be greater than zero, but got kH: 0 kW: 0"),
    (lambda x: F.max_pool2d(x, (2, 0)), "kernel size should be greater than zero, but got kH: 2 kW: 0"),
    (lambda x: F.max_pool2d(x, 2, stride=0), "stride should be greater than zero, but got dH: 0 dW: 0"),
    (lambda x: F.max_pool2d(x, 2, stride=(1, -1)), "stride should be greater than zero, but got dH: 1 dW: -1"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda x: F.max_pool2d(x, 3, padding=2), "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda x: F.max_pool2d(x, 3, padding=3, dilation=2), "pad should be at most half of effective kernel size, but got pad=3, kernel_size=3 and dilation=2"),
    (lambda x: F.max_pool2d(x, 2, padding=(0, 2), dilation=3), "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 0, kW = 2, kH = 2"),
    (lambda x: F.max_pool2d(x, 3, padding=-1), "pad must be non-negative, but got pad: -1"),
    (lambda x: F.max_pool2d(x, 5), r"Given input size: \(3x4x4\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda x: F.max_pool2d(x[0], 5), r"Given input size: \(3x4x4\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda x: F.max_pool2d(x[0, 0], 2), r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but got: \[4, 4\]"),
    (lambda x: F.max_pool2d(x.unsqueeze(0), 2), r"Expected 3D or 4D .* but got: \[1, 2, 3, 4, 4\]"),
    (lambda x: F.max_pool2d(x[:, :0], 2), r"Expected 3D or 4D .* but got: \[2, 0, 4, 4\]"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)), "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda x: F.max_pool2d(x, 2, stride=(1, 1, 1)), "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    (lambda x: F.avg_pool2d(x, 0), "kernel size should be greater than zero, but got kH: 0 kW: 0"),
    (lambda x: F.avg_pool2d(x, 2, stride=0), "stride should be greater than zero"),
    (lambda x: F.avg_pool2d(x, 3, padding=2), "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda x: F.avg_pool2d(x, 5), r"Given input size: \(3x4x4\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), "divisor must be not zero"),
    (lambda x: F.avg_pool2d(x[0, 0], 2), r"avg_pool2d: Expected 3D or 4D"),
    (lambda x: F.adaptive_avg_pool2d(x[0, 0], 2), r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[4, 4\]"),
    (lambda x: F.adaptive_avg_pool2d(x, -1), r"adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received \{-1, -1\}"),
    (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), "adaptive_avg_pool2d: output_size must be 2"),
    (lambda x: F.adaptive_avg_pool2d(x[:, :, :0], 2), r"non-zero size for non-batch dimensions, but input has sizes \[2, 3, 0, 4\] with dimension 2 being empty"),
    (lambda x: F.adaptive_max_pool2d(x[0, 0], 2), r"adaptive_max_pool2d\(\): Expected 3D or 4D tensor, but got \[4, 4\]"),
    (lambda x: F.max_pool1d(x[0], 5), r"max_pool1d\(\) Invalid computed output size: 0"),
    (lambda x: F.max_pool1d(x[0, 0, 0], 2), r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch size for input, but got: \[4\]"),
    (lambda x: F.max_pool1d(x[0], 2, padding=2), r"max_pool1d\(\) padding should be at most half of kernel size, but got padding=2 and kernel_size=2"),
    (lambda x: F.max_pool1d(x[0], 0), r"max_pool1d\(\) kernel_size must be greater than zero, but got 0"),
    (lambda x: F.max_pool1d(x[0], 2, stride=0), r"max_pool1d\(\) stride must be greater than zero, but got 0"),
    (lambda x: F.max_pool1d(x[0], 2, dilation=0), r"max_pool1d\(\) dilation must be greater than zero, but got 0"),
    (lambda x: F.avg_pool1d(x[0], 5), r"Given input size: \(4x1x4\). Calculated output size: \(4x1x0\). Output size is too small"),
    (lambda x: F.avg_pool1d(x[0], 2, padding=2), "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1"),
    (lambda x: F.avg_pool1d(x[0], (2, 2)), r"avg_pool1d\(\) argument 'kernel_size' should contain one int \(got 2\)"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_argument_errors(i):
    f, msg = ERRORS[i]
    x = strided.zeros(2, 3, 4, 4)
    with pytest.raises(RuntimeError, match=msg):
        f(x)


def test_argument_types():
    x = strided.zeros(2, 3, 4, 4)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(x, 2.0)
    with pytest.raises(TypeError, match="stride"):
        F.avg_pool2d(x, 2, stride=(1.5, 1))
    assert F.max_pool2d(x, np.int64(2), stride=[]).shape == (2, 3, 2, 2)
    assert F.max_pool2d(x, (2,)).shape == (2, 3, 2, 2)
    assert F.pool_output_size(112, 3, 2, 1, 1, False) == 56
    assert F.pool_output_size(5, 2, 2, 0, 1, True) == 3
    # without the rule a 4th window would start in the right padding
    assert F.pool_output_size(5, 2, 2, 1, 1, True) == 3


# --------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------

def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(16)
    a = sample((4, 5, 33, 31), "float32", rng)
    a[rng.random(a.shape) < 0.01] = np.nan
    t = layout(a, "channels_last")
    before = strided.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            strided.set_num_threads(n)
            out, ind = F.max_pool2d(t, 3, 2, 1, return_indices=True)
            g = F.max_pool2d_backward(out, t, ind)
            results.append([out.numpy(), ind.numpy(), g.numpy(),
                            F.avg_pool2d(t, 3, 2, 1).numpy(),
                            F.avg_pool2d_backward(out, t, 3, 2, 1).numpy()])
    finally:
        strided.set_num_threads(before)
    for r in results[1:]:
        for x, y in zip(results[0], r):
            np.testing.assert_array_equal(x, y)


def test_argument_cache_keys_on_everything_checked():
    """NOTE [ Pooling argument cache ]: repeated calls reuse the resolution, any change of
    shape or window argument is checked afresh, and failing calls are never cached."""
    a = np.arange(2 * 3 * 6 * 6, dtype=np.float64).reshape(2, 3, 6, 6)
    x = strided.from_numpy(a)
    for _ in range(2):
        assert F.max_pool2d(x, 2).shape == (2, 3, 3, 3)
        assert F.max_pool2d(x[0], 2).shape == (3, 3, 3)                 # unbatched
        assert F.max_pool2d(x, [3, 2], [3, 2]).shape == (2, 3, 2, 3)   # lists: not cached
        assert F.avg_pool2d(x, 2, ceil_mode=True, padding=1).shape == (2, 3, 4, 4)
        np.testing.assert_array_equal(F.avg_pool2d(x, 3).numpy(),
                                      a.reshape(2, 3, 2, 3, 2, 3).mean(axis=(3, 5)))
        with pytest.raises(RuntimeError, match="pad should be"):
            F.max_pool2d(x, 2, padding=2)
        with pytest.raises(RuntimeError, match="Output size is too small"):
            F.avg_pool2d(x[:, :, :1], 2)
        with pytest.raises(TypeError, match="must be Tensor"):
            F.max_pool2d(a, 2)


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "int32", "int64"])
def test_max_pool_2x2_direct_path_matches_general(dtype):
    """NOTE [ Max pooling 2x2 ]: values-only 2x2/s2 pooling of short rows (direct loop)
    equals the general kernel's values (taken with indices), with NaN, ties and odd sizes,
    and equals a NumPy reference where there is no NaN."""
    r = np.random.default_rng(5)
    for shape in ((3, 4, 8, 8), (2, 3, 5, 7), (1, 2, 4, 16), (2, 2, 9, 17)):
        a = r.integers(0, 4, shape).astype(dtype)          # many ties
        if dtype.startswith("float"):
            a[r.random(shape) < 0.1] = np.nan
        for kind in ("contiguous", "stepped"):
            x = layout(a, kind) if kind != "contiguous" else strided.from_numpy(a)
            fast = F.max_pool2d(x, 2).numpy()
            general, _ = F.max_pool2d(x, 2, return_indices=True)
            np.testing.assert_array_equal(fast, general.numpy(), err_msg=str((shape, kind)))
        if not dtype.startswith("float"):
            H, W = shape[2] // 2 * 2, shape[3] // 2 * 2
            want = a[:, :, :H, :W].reshape(shape[0], shape[1], H // 2, 2, W // 2, 2).max((3, 5))
            np.testing.assert_array_equal(F.max_pool2d(strided.from_numpy(a), 2).numpy(), want)
