"""Pooling against PyTorch (skipped when torch is absent): values, argmax indices and
gradients (torch autograd) over the full combination grid, in several input layouts.

Values with many exact ties and with NaN/inf are used on purpose: the indices must be
PyTorch's to the element, not merely some argmax.
"""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import strided  # noqa: E402
import strided.nn.functional as F  # noqa: E402

from test_pool import LAYOUTS, layout, pair, sample  # noqa: E402

# torch's thread pool and strided's OpenMP threads, spinning in one process on a small
# machine, turn each tiny torch call into milliseconds; the oracle needs no threads.
torch.set_num_threads(1)

KERNELS = (1, 2, 3, (3, 2), 4)
STRIDES = (None, 1, 2, (2, 3))
PADDINGS = (0, 1, (0, 2))
DILATIONS = (1, 2, (1, 3))
SHAPES = ((2, 3, 9, 10), (1, 2, 5, 7))           # odd sizes, batch 1


def valid(k, p):
    kp, pp = pair(k), pair(p)
    return pp[0] <= kp[0] // 2 and pp[1] <= kp[1] // 2


def torch_out_ok(shape, k, s, p, d, ceil):
    """Whether torch accepts the combination (output size >= 1)."""
    try:
        TF.max_pool2d(torch.zeros(shape), k, s, p, d, ceil)
        return True
    except RuntimeError:
        return False


def t_of(a, channels_last=False):
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_vs_torch(shape, dtype):
    rng = np.random.default_rng(100)
    a = sample(shape, dtype, rng)
    a[rng.random(shape) < 0.03] = np.nan
    xs = {kind: layout(a, kind) for kind in LAYOUTS}
    ta = t_of(a).requires_grad_()
    n = 0
    for k, s, p, d, ceil in itertools.product(KERNELS, STRIDES, PADDINGS, DILATIONS,
                                              (False, True)):
        if not valid(k, p) or not torch_out_ok(shape, k, s, p, d, ceil):
            continue
        n += 1
        want, want_i = TF.max_pool2d(ta, k, s, p, d, ceil, return_indices=True)
        g = rng.standard_normal(want.shape).astype(dtype)
        (want_g,) = torch.autograd.grad(want, ta, torch.from_numpy(g))
        for kind, x in xs.items():
            out, ind = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
            ctx = (k, s, p, d, ceil, kind)
            np.testing.assert_array_equal(out.numpy(), want.detach().numpy(), err_msg=str(ctx))
            np.testing.assert_array_equal(ind.numpy(), want_i.numpy(), err_msg=str(ctx))
            if kind in ("contiguous", "channels_last"):
                gi = F.max_pool2d_backward(strided.from_numpy(g), x, ind)
                np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=1e-6, atol=1e-6,
                                           err_msg=str(ctx))
    assert n > 100


def test_max_pool2d_channels_last_torch_agrees():
    """torch's channels-last kernel makes the same choices as its NCHW one, and as ours."""
    rng = np.random.default_rng(101)
    a = sample((2, 16, 7, 6), "float32", rng)
    a[rng.random(a.shape) < 0.1] = np.nan
    out, ind = F.max_pool2d(layout(a, "channels_last"), 3, 2, 1, return_indices=True)
    want, want_i = TF.max_pool2d(t_of(a, channels_last=True), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    np.testing.assert_array_equal(ind.numpy(), want_i.numpy())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avg_pool2d_vs_torch(shape, dtype):
    rng = np.random.default_rng(102)
    a = rng.standard_normal(shape).astype(dtype)
    xs = {kind: layout(a, kind) for kind in ("contiguous", "channels_last", "negative")}
    ta = t_of(a).requires_grad_()
    tol = 2e-6 if dtype == "float32" else 1e-12
    n = 0
    for k, s, p, ceil, cip, div in itertools.product(KERNELS, STRIDES, PADDINGS, (False, True),
                                                     (True, False), (None, 5, -3)):
        if not valid(k, p) or not torch_out_ok(shape, k, s, p, 1, ceil):
            continue
        n += 1
        want = TF.avg_pool2d(ta, k, s, p, ceil, cip, div)
        g = rng.standard_normal(want.shape).astype(dtype)
        (want_g,) = torch.autograd.grad(want, ta, torch.from_numpy(g))
        for kind, x in xs.items():
            ctx = str((k, s, p, ceil, cip, div, kind))
            out = F.avg_pool2d(x, k, s, p, ceil, cip, div)
            # summed in PyTorch's order (NOTE [ Average pooling order ]): the same bits
            np.testing.assert_array_equal(out.numpy(), want.detach().numpy(), err_msg=ctx)
        gi = F.avg_pool2d_backward(strided.from_numpy(g), shape, k, s, p, ceil, cip, div)
        np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=tol, atol=tol, err_msg=ctx)
    assert n > 200


def test_avg_pool2d_int64_vs_torch():
    rng = np.random.default_rng(103)
    a = rng.integers(-50, 50, size=(2, 3, 7, 8))
    for k, s, p, ceil, cip, div in ((3, 2, 1, True, True, None), (2, 1, 1, False, False, None),
                                    ((3, 2), 2, (1, 0), True, True, 4), (3, 1, 1, False, True, -2)):
        want = TF.avg_pool2d(torch.from_numpy(a), k, s, p, ceil, cip, div)
        got = F.avg_pool2d(strided.from_numpy(a), k, s, p, ceil, cip, div)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64"])
def test_max_pool2d_integers_vs_torch(dtype):
    rng = np.random.default_rng(104)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=(2, 3, 8, 7), dtype=dtype, endpoint=True)
    a[:, 0] = rng.integers(0, 3, size=(2, 8, 7)).astype(dtype)       # ties
    a[1, 1] = info.min
    for k, s, p, d, ceil in ((3, 2, 1, 1, False), (2, 2, 0, 1, True), (3, 1, 1, 2, True)):
        want, want_i = TF.max_pool2d(torch.from_numpy(a), k, s, p, d, ceil, return_indices=True)
        out, ind = F.max_pool2d(layout(a, "channels_last"), k, s, p, d, ceil,
                                return_indices=True)
        np.testing.assert_array_equal(out.numpy(), want.numpy())
        np.testing.assert_array_equal(ind.numpy(), want_i.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adaptive_vs_torch(dtype):
    rng = np.random.default_rng(105)
    for shape in ((2, 3, 9, 10), (1, 2, 5, 3), (3, 13, 1)):
        a = sample(shape, dtype, rng)
        a[rng.random(shape) < 0.03] = np.nan
        ta = t_of(a).requires_grad_()
        x = strided.from_numpy(a)
        H, W = shape[-2:]
        for osize in (1, 2, (3, 4), (H, W), (H + 3, W + 1), (None, 2), (5, 7)):
            want, want_i = TF.adaptive_max_pool2d(ta, osize, return_indices=True)
            out, ind = F.adaptive_max_pool2d(x, osize, return_indices=True)
            np.testing.assert_array_equal(out.numpy(), want.detach().numpy())
            np.testing.assert_array_equal(ind.numpy(), want_i.numpy())
            g = rng.standard_normal(want.shape).astype(dtype)
            (want_g,) = torch.autograd.grad(want, ta, torch.from_numpy(g))
            gi = F.adaptive_max_pool2d_backward(strided.from_numpy(g), shape, ind)
            np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=1e-6, atol=1e-6)

            b = np.nan_to_num(a)
            tb = t_of(b).requires_grad_()
            want = TF.adaptive_avg_pool2d(tb, osize)
            out = F.adaptive_avg_pool2d(layout(b[None], "channels_last")[0] if len(shape) == 3
                                        else layout(b, "channels_last"), osize)
            if osize == 1:      # torch takes a mean() here, with its own summation order
                np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=2e-6,
                                           atol=2e-6)
            else:
                np.testing.assert_array_equal(out.numpy(), want.detach().numpy())
            (want_g,) = torch.autograd.grad(want, tb, torch.from_numpy(g))
            gi = F.adaptive_avg_pool2d_backward(strided.from_numpy(g), shape)
            np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pool1d_vs_torch(dtype):
    rng = np.random.default_rng(106)
    for shape in ((2, 3, 13), (4, 9)):
        a = sample(shape, dtype, rng)
        a[rng.random(shape) < 0.05] = np.nan
        ta = t_of(a).requires_grad_()
        x = strided.from_numpy(a)
        for k, s, p, d, ceil in itertools.product((1, 2, 3, 5), (None, 1, 2, 3), (0, 1, 2),
                                                  (1, 2), (False, True)):
            if p > k // 2:
                continue
            try:
                want, want_i = TF.max_pool1d(ta, k, s, p, d, ceil, return_indices=True)
            except RuntimeError:
                continue
            out, ind = F.max_pool1d(x, k, s, p, d, ceil, return_indices=True)
            np.testing.assert_array_equal(out.numpy(), want.detach().numpy())
            np.testing.assert_array_equal(ind.numpy(), want_i.numpy())
            g = rng.standard_normal(want.shape).astype(dtype)
            (want_g,) = torch.autograd.grad(want, ta, torch.from_numpy(g))
            gi = F.max_pool1d_backward(strided.from_numpy(g), shape, ind)
            np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=1e-6, atol=1e-6)
            if d == 1:
                b = np.nan_to_num(a)
                tb = t_of(b).requires_grad_()
                for cip in (True, False):
                    want = TF.avg_pool1d(tb, k, s, p, ceil, cip)
                    out = F.avg_pool1d(strided.from_numpy(b), k, s, p, ceil, cip)
                    np.testing.assert_array_equal(out.numpy(), want.detach().numpy())
                    (want_g,) = torch.autograd.grad(want, tb, torch.from_numpy(g))
                    gi = F.avg_pool1d_backward(strided.from_numpy(g), shape, k, s, p, ceil, cip)
                    np.testing.assert_allclose(gi.numpy(), want_g.numpy(), rtol=2e-6, atol=2e-6)
        for osize in (1, 4, 20):
            want, want_i = TF.adaptive_max_pool1d(ta, osize, return_indices=True)
            out, ind = F.adaptive_max_pool1d(x, osize, return_indices=True)
            np.testing.assert_array_equal(out.numpy(), want.detach().numpy())
            np.testing.assert_array_equal(ind.numpy(), want_i.numpy())
            b = np.nan_to_num(a)
            np.testing.assert_allclose(F.adaptive_avg_pool1d(strided.from_numpy(b), osize).numpy(),
                                       TF.adaptive_avg_pool1d(t_of(b), osize).numpy(),
                                       rtol=2e-6, atol=2e-6)


def test_output_shapes_match_torch_everywhere():
    """pool_output_size (ceil_mode rule included) against torch over many sizes."""
    for L, k, s, p, d, ceil in itertools.product(range(1, 12), (1, 2, 3, 5), (1, 2, 3),
                                                 (0, 1, 2), (1, 2, 3), (False, True)):
        if p > k // 2:
            continue
        try:
            want = TF.max_pool1d(torch.zeros(1, 1, L), k, s, p, d, ceil).shape[-1]
        except RuntimeError:
            with pytest.raises(RuntimeError):
                F.max_pool1d(strided.zeros(1, 1, L), k, s, p, d, ceil)
            continue
        assert F.max_pool1d(strided.zeros(1, 1, L), k, s, p, d, ceil).shape[-1] == want


ERROR_CASES = [
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 2, stride=(1, -1))),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 2, dilation=0)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 3, padding=2)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 3, padding=3, dilation=2)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 2, padding=(0, 2), dilation=3)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 3, padding=-1)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 5)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x[:, :0], 2)),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, (2, 2, 2))),
    ("avg_pool2d", lambda m, x: m.avg_pool2d(x, 3, padding=2)),
    ("avg_pool2d", lambda m, x: m.avg_pool2d(x, 5)),
    ("avg_pool2d", lambda m, x: m.avg_pool2d(x, 2, divisor_override=0)),
    ("adaptive", lambda m, x: m.adaptive_avg_pool2d(x[0, 0], 2)),
    ("adaptive", lambda m, x: m.adaptive_avg_pool2d(x, -1)),
    ("adaptive", lambda m, x: m.adaptive_avg_pool2d(x, (1, 2, 3))),
    ("adaptive", lambda m, x: m.adaptive_max_pool2d(x[:, :, :0], 2)),
    ("max_pool1d", lambda m, x: m.max_pool1d(x[0], 5)),
    ("max_pool1d", lambda m, x: m.max_pool1d(x[0], 2, padding=2)),
    ("max_pool1d", lambda m, x: m.max_pool1d(x[0], 0)),
    ("max_pool1d", lambda m, x: m.max_pool1d(x[0], 2, stride=0)),
    ("avg_pool1d", lambda m, x: m.avg_pool1d(x[0], 5)),
    ("avg_pool1d", lambda m, x: m.avg_pool1d(x[0], 2, padding=2)),
    ("avg_pool1d", lambda m, x: m.avg_pool1d(x[0], (2, 2))),
]


def _normalise(msg):
    # torch prints lists without the space strided's f-strings put after "got:"
    return msg.splitlines()[0].replace("got: [", "got:[")


@pytest.mark.parametrize("i", range(len(ERROR_CASES)))
def test_error_messages_match_torch(i):
    _, f = ERROR_CASES[i]
    with pytest.raises(RuntimeError) as want:
        f(TF, torch.zeros(2, 3, 4, 4))
    with pytest.raises(RuntimeError) as got:
        f(F, strided.zeros(2, 3, 4, 4))
    assert _normalise(str(want.value)) in _normalise(str(got.value))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_pool_2x2_small_planes_vs_torch(dtype):
    """NOTE [ Max pooling 2x2 ]: the direct 2x2/s2 loops for short rows give PyTorch's
    values and average-pooling gradients bit for bit (averages summed from 0 in row-major
    order: -0.0 windows give +0.0; int64 quotients truncate), with divisor_override and odd
    sizes too."""
    r = np.random.default_rng(11)
    for shape in ((4, 3, 8, 8), (2, 5, 7, 9), (3, 2, 4, 16), (1, 1, 2, 2)):
        if dtype == "int64":
            a = r.integers(-50, 50, shape)
        else:
            a = r.standard_normal(shape).astype(dtype)
            a[r.random(shape) < 0.2] = -0.0
            a[0, 0] = -0.0
            a[r.random(shape) < 0.05] = np.nan
        t = torch.from_numpy(a)
        x = strided.from_numpy(a)
        for kw in ({}, {"divisor_override": 3}, {"ceil_mode": True}):
            want = torch.nn.functional.avg_pool2d(t, 2, **kw).numpy()
            got = F.avg_pool2d(x, 2, **kw).numpy()
            np.testing.assert_array_equal(got, want, err_msg=str((shape, kw)))
            if dtype != "int64":
                assert np.array_equal(np.signbit(got), np.signbit(want))
                go = r.standard_normal(want.shape).astype(dtype)
                go[r.random(go.shape) < 0.2] = -0.0
                tg = t.clone().requires_grad_()
                torch.nn.functional.avg_pool2d(tg, 2, **kw).backward(torch.from_numpy(go))
                gi = F.avg_pool2d_backward(layout(go, "stepped"), x, 2,
                                           **kw).numpy()
                np.testing.assert_array_equal(gi, tg.grad.numpy(), err_msg=str((shape, kw)))
                assert np.array_equal(np.signbit(gi), np.signbit(tg.grad.numpy()))
        np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(),
                                      torch.nn.functional.max_pool2d(t, 2).numpy())
