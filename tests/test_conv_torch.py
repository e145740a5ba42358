"""Convolution against PyTorch (skipped when torch is absent): values and all three
gradients (torch autograd vs strided autograd and conv2d_backward) over a combination grid,
in several input layouts, on every GEMM kernel table this CPU has, and every forward and
backward strategy forced on each table; error messages word for word."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import strided  # noqa: E402
import strided.nn.functional as F  # noqa: E402
from strided._C.kernels import gemm as _gemm  # noqa: E402

from test_conv import force_where_usable, layout  # noqa: E402

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")

KERNELS = ((1, 1), (3, 3), (2, 3))
STRIDES = (1, 2, (1, 3))
PADDINGS = (0, 1, (2, 0), "same", "valid")
DILATIONS = (1, 2, (2, 1))
GROUPS = ((4, 4, 1), (4, 6, 2), (4, 4, 4), (4, 8, 4))     # (C, K, groups); depthwise x2
SHAPES = ((2, 9, 10), (1, 5, 7))                         # (N, H, W): odd sizes, batch 1


TABLES = _gemm._kernel_tables()


@pytest.fixture(autouse=True, params=TABLES)
def kernel_table(request):
    """Every test of this module on every GEMM kernel table (the convolution's tile is the
    table's: NOTE [ Convolution on the GEMM's tile ]); avx512_on_avx2 runs the 12 x 32 /
    12 x 16 tile of the avx512 table on any AVX2 CPU."""
    old = _gemm._kernel_name()
    _gemm._set_kernel(request.param)
    yield request.param
    _gemm._set_kernel(old)


def torch_ok(x, w, s, p, d, g):
    try:
        with torch.no_grad():
            TF.conv2d(x, w, None, s, p, d, g)
        return True
    except RuntimeError:
        return False


def t_of(a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_grid_vs_torch(dtype):
    rng = np.random.default_rng(7)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)
    n = 0
    for (N, H, W), (C, K, g), kern in itertools.product(SHAPES, GROUPS, KERNELS):
        a = rng.standard_normal((N, C, H, W)).astype(dtype)
        wa = rng.standard_normal((K, C // g) + kern).astype(dtype)
        ba = rng.standard_normal(K).astype(dtype)
        xs = {kind: layout(a, kind) for kind in ("contiguous", "channels_last", "stepped")}
        for s, p, d in itertools.product(STRIDES, PADDINGS, DILATIONS):
            tx, tw, tb = (t_of(v).requires_grad_() for v in (a, wa, ba))
            if not torch_ok(tx, tw, s, p, d, g):
                continue
            n += 1
            want = TF.conv2d(tx, tw, tb, s, p, d, g)
            go = rng.standard_normal(tuple(want.shape)).astype(dtype)
            want.backward(t_of(go))
            ctx = str((N, H, W, C, K, g, kern, s, p, d))
            for kind, x in xs.items():
                out = F.conv2d(x, strided.from_numpy(wa), strided.from_numpy(ba), s, p, d, g)
                np.testing.assert_allclose(out.numpy(), want.detach().numpy(), **tol,
                                           err_msg=ctx + kind)
            gi, gw, gb = F.conv2d_backward(strided.from_numpy(go), xs["channels_last"],
                                           strided.from_numpy(wa), s, p, d, g)
            for got, ref in ((gi, tx.grad), (gw, tw.grad), (gb, tb.grad)):
                np.testing.assert_allclose(got.numpy(), ref.numpy(), **tol, err_msg=ctx)
    assert n > 300


def test_autograd_gradients_vs_torch():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 4, 7, 6))
    wa = rng.standard_normal((6, 2, 3, 2))
    ba = rng.standard_normal(6)
    x, w, b = (strided.from_numpy(v).requires_grad_(True) for v in (a, wa, ba))
    tx, tw, tb = (t_of(v).requires_grad_() for v in (a, wa, ba))
    out = F.conv2d(x, w, b, stride=(2, 1), padding="valid", dilation=(1, 2), groups=2)
    (out * out).sum().backward()
    want = TF.conv2d(tx, tw, tb, stride=(2, 1), padding="valid", dilation=(1, 2), groups=2)
    (want * want).sum().backward()
    for got, ref in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(got.grad.numpy(), ref.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert out.grad_fn.name() == want.grad_fn.name()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv1d_vs_torch(dtype):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((3, 4, 13)).astype(dtype)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)
    for k, s, p, d, g in itertools.product((1, 2, 3), (1, 2), (0, 1, "same", "valid"),
                                           (1, 3), (1, 2)):
        if p == "same" and s != 1:
            continue
        wa = rng.standard_normal((4, 4 // g, k)).astype(dtype)
        tx, tw = t_of(a).requires_grad_(), t_of(wa).requires_grad_()
        want = TF.conv1d(tx, tw, None, s, p, d, g)
        want.sum().backward()
        x, w = (strided.from_numpy(v).requires_grad_(True) for v in (a, wa))
        out = F.conv1d(x, w, None, s, p, d, g)
        out.sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), **tol)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), **tol)


ERROR_CASES = [
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(groups=3)),
    ((2, 4, 5, 5), (6, 1, 3, 3), dict(groups=4)),
    ((2, 4, 5, 5), (6, 3, 3, 3), dict()),
    ((2, 4, 5, 5), (6, 4, 7, 3), dict()),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(dilation=3)),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(stride=0)),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(stride=(1, -1))),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(padding=-1)),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(dilation=0)),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(groups=0)),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(stride=2, padding="same")),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(padding="foo")),
    ((2, 4, 5, 5), (6, 4, 3, 3), dict(stride=(1, 2, 3))),
    ((5, 5), (6, 4, 3, 3), dict()),
    ((2, 4, 5, 5), (0, 4, 3, 3), dict()),
]


@pytest.mark.parametrize("i", range(len(ERROR_CASES)))
def test_error_messages_match_torch(i):
    xs, ws, kw = ERROR_CASES[i]
    with pytest.raises(RuntimeError) as want:
        TF.conv2d(torch.zeros(xs), torch.zeros(ws), **kw)
    with pytest.raises(RuntimeError) as got:
        F.conv2d(strided.zeros(*xs), strided.zeros(*ws), **kw)
    assert str(got.value) == str(want.value).split("\n")[0]


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64"])
def test_integer_conv_vs_torch(dtype):
    """Integer convolution equals PyTorch's (which computes in the dtype and wraps), with
    full-range values; dilation only for int64 (PyTorch refuses dilated uint8/int32)."""
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    for (C, K, g), kern, s, p in itertools.product(GROUPS, KERNELS, STRIDES, (0, 1, "same")):
        if p == "same" and s != 1:
            continue
        d = (2, 1) if dtype == "int64" else 1
        a = rng.integers(info.min, info.max, (2, C, 7, 6), dtype=dtype, endpoint=True)
        wa = rng.integers(info.min, info.max, (K, C // g) + kern, dtype=dtype, endpoint=True)
        ba = rng.integers(info.min, info.max, K, dtype=dtype, endpoint=True)
        want = TF.conv2d(t_of(a), t_of(wa), t_of(ba), s, p, d, g).numpy()
        got = F.conv2d(layout(a, "channels_last"), strided.from_numpy(wa),
                       strided.from_numpy(ba), s, p, d, g).numpy()
        np.testing.assert_array_equal(got, want, err_msg=str((C, K, g, kern, s, p)))


# Strategies as _force_path forces them (NOTE [ Choosing a convolution path ]): the forward
# path, and the backward paths of the same family -- the offset ones (grad_input as a
# convolution over the padded gradient, grad_weight as an offset-A GEMM over the padded
# image) with the column-tap forward -- each wherever the geometry can use it.
STRATEGIES = {"auto": (None, None), "image": ("image", "image"),
              "blocks": ("blocks", "blocks"), "offset": ("offset", "offset"),
              "taps": ("taps", "offset"), "batched": ("batched", "batched")}

# (N, C, H, W, K, kernel, stride, padding, groups): outputs wider than the widest tile
# (32 float32 columns) with ragged edges, channels past two MR = 12 row tiles, and small
# outputs (8x8) with C*R*S*K > 16K, where both gradients run over blocks of images
STRATEGY_SHAPES = [
    (3, 20, 37, 35, 26, 3, 1, 1, 1),
    (3, 20, 37, 35, 26, 3, 2, 1, 1),
    (2, 12, 19, 21, 18, 3, 1, 1, 3),
    (4, 48, 8, 8, 40, 3, 1, 1, 1),
    (4, 48, 9, 9, 40, 3, 2, 1, 1),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("shape", STRATEGY_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strategies_on_every_table_vs_torch(kernel_table, strategy, shape, dtype):
    """Each forward strategy (and the backward ones the same switches select) on each
    kernel table: output and the three gradients against PyTorch's."""
    N, C, H, W, K, k, s, p, g = shape
    rng = np.random.default_rng(11)
    a = rng.standard_normal((N, C, H, W)).astype(dtype)
    wa = rng.standard_normal((K, C // g, k, k)).astype(dtype)
    ba = rng.standard_normal(K).astype(dtype)
    tx, tw, tb = (t_of(v).requires_grad_() for v in (a, wa, ba))
    want = TF.conv2d(tx, tw, tb, s, p, 1, g)
    go = rng.standard_normal(tuple(want.shape)).astype(dtype)
    want.backward(t_of(go))
    eps = 1e-5 if dtype == "float32" else 1e-12

    def close(got, ref, what):
        ref = ref.detach().numpy()
        np.testing.assert_allclose(got.numpy(), ref, rtol=10 * eps,
                                   atol=eps * float(np.abs(ref).max()), err_msg=what)

    forward, backward = STRATEGIES[strategy]
    with force_where_usable(strided.from_numpy(a), strided.from_numpy(wa), (s, s), (p, p),
                            (1, 1), g, forward=forward, input_grad=backward,
                            weight_grad=backward):
        for kind in ("contiguous", "channels_last"):
            out = F.conv2d(layout(a, kind), strided.from_numpy(wa), strided.from_numpy(ba),
                           s, p, 1, g)
            close(out, want, "output " + kind)
        gi, gw, gb = F.conv2d_backward(strided.from_numpy(go), layout(a, "channels_last"),
                                       strided.from_numpy(wa), s, p, 1, g)
    close(gi, tx.grad, "grad_input")
    close(gw, tw.grad, "grad_weight")
    close(gb, tb.grad, "grad_bias")
