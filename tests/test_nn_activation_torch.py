"""Activation functions and layers against torch: values and gradients (input and PReLU's
weight) in float32 and float64, over contiguous, transposed and sliced inputs, edge values
(zeros, kinks, large magnitudes), in-place forms, reprs, errors, and gradcheck."""
import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]

# (name, strided function, torch function)
CASES = [
    ("elu", lambda x: F.elu(x), lambda x: TF.elu(x)),
    ("elu_alpha", lambda x: F.elu(x, 0.3), lambda x: TF.elu(x, 0.3)),
    ("selu", F.selu, TF.selu),
    ("celu", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5)),  # torch's backward rounds 1 / alpha to float32: a dyadic alpha
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
    ("softsign", F.softsign, TF.softsign),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("hardtanh_range", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
    ("relu6", F.relu6, TF.relu6),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("hardswish", F.hardswish, TF.hardswish),
    ("mish", F.mish, TF.mish),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("softshrink", F.softshrink, TF.softshrink),
    ("softshrink_1", lambda x: F.softshrink(x, 1.0), lambda x: TF.softshrink(x, 1.0)),
    ("hardshrink", F.hardshrink, TF.hardshrink),
    ("hardshrink_1", lambda x: F.hardshrink(x, 1.0), lambda x: TF.hardshrink(x, 1.0)),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink),
    ("threshold", lambda x: F.threshold(x, 0.5, -3.0), lambda x: TF.threshold(x, 0.5, -3.0)),
    ("rrelu_eval", F.rrelu, TF.rrelu),
    ("glu", F.glu, TF.glu),
    ("glu0", lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0)),
    ("softmin", lambda x: F.softmin(x, 1), lambda x: TF.softmin(x, 1)),
    ("softmin0", lambda x: F.softmin(x, 0), lambda x: TF.softmin(x, 0)),
]

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 5.0, 20.0, -20.0, 25.0,
                  -25.0, 60.0, -60.0, 100.0, -100.0, 1e4, -1e4, 1e-8, -1e-8, 2.5, 10.0])


def _layouts(a):
    """(name, maker): the same values as contiguous, transposed and sliced views."""
    yield "contiguous", lambda lib, t: t
    if a.ndim >= 2:
        yield "transposed", lambda lib, t: t.transpose(0, 1)
    yield "sliced", lambda lib, t: t[..., ::2] if t.shape[-1] > 2 else t.flip(-1)


def _run(fs, ft, a, dtype, layout, what):
    s = S.tensor(a.astype(dtype)).requires_grad_()
    t = torch.tensor(a.astype(dtype), requires_grad=True)
    ys, yt = fs(layout(S, s)), ft(layout(torch, t))
    assert tuple(ys.shape) == tuple(yt.shape), what
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), err_msg=what,
                               **TOL[dtype])
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    tol = TOL[dtype]
    if what.startswith("hardsigmoid") and dtype == np.float64:
        tol = dict(rtol=1e-7)           # torch's backward multiplies by 1/6 rounded to float32
    np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), err_msg=what + " grad", **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,fs,ft", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_torch(name, fs, ft, dtype):
    rng = np.random.default_rng(0)
    shapes = [(6, 8), (4, 6, 12), (2, 2, 4, 8)]
    for shape in shapes:
        a = rng.standard_normal(shape) * 4
        for lname, layout in _layouts(a):
            _run(fs, ft, a, dtype, layout, f"{name} {shape} {lname}")
    edges = EDGES.reshape(4, 6)
    if name.startswith("glu"):
        edges = EDGES.reshape(6, 4)
    _run(fs, ft, edges, dtype, lambda lib, t: t, f"{name} edges")
    _run(fs, ft, edges[::-1].copy(), dtype, lambda lib, t: t.flip(0), f"{name} flipped edges")


@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_matches_torch_input_and_weight_gradients(dtype):
    rng = np.random.default_rng(2)
    for shape, n in [((5, 3), 3), ((2, 4, 7), 4), ((2, 3, 5, 5), 3), ((2, 3, 5, 5), 1),
                     ((7,), 1), ((), 1)]:
        a = (rng.standard_normal(shape) * 3).astype(dtype)
        w = rng.uniform(-0.5, 0.8, n).astype(dtype)
        for transpose in (False, True):
            xs, xt = S.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)
            ws, wt = S.tensor(w).requires_grad_(), torch.tensor(w, requires_grad=True)
            ins, int_ = xs, xt
            if transpose and len(shape) == 4:
                ins, int_ = xs.transpose(-1, -2), xt.transpose(-1, -2)
            ys, yt = F.prelu(ins, ws), TF.prelu(int_, wt)
            np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
            g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
            ys.backward(S.tensor(g))
            yt.backward(torch.tensor(g))
            np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
            np.testing.assert_allclose(ws.grad.numpy(), wt.grad.numpy(), rtol=1e-4 if
                                       dtype == np.float32 else 1e-10, atol=1e-5)


def test_prelu_module_same_weights_as_torch():
    m, tm = nn.PReLU(3), torch.nn.PReLU(3)
    assert repr(m) == repr(tm) == "PReLU(num_parameters=3)"
    np.testing.assert_array_equal(m.weight.detach().numpy(), tm.weight.detach().numpy())
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    x = np.random.default_rng(3).standard_normal((4, 3, 5)).astype(np.float32)
    ys, yt = m(S.tensor(x)), tm(torch.tensor(x))
    ys.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5)
    m2 = nn.PReLU(init=0.1, dtype=S.float64)
    assert m2.weight.dtype == S.float64 and m2.weight.tolist() == [0.1]


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel "
                                           "size. Found parameter numbers = 3 and channel "
                                           "size = 4"):
        F.prelu(S.zeros(2, 4), S.zeros(3))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        F.prelu(S.zeros(3), S.zeros(3))


INPLACE = [
    ("elu", lambda x: F.elu(x, inplace=True), lambda x: TF.elu(x, inplace=True)),
    ("elu_", F.elu_, TF.elu_),
    ("selu", lambda x: F.selu(x, True), lambda x: TF.selu(x, True)),
    ("celu_", F.celu_, TF.celu_),
    ("hardtanh_", F.hardtanh_, TF.hardtanh_),
    ("relu6", lambda x: F.relu6(x, True), lambda x: TF.relu6(x, True)),
    ("hardsigmoid", lambda x: F.hardsigmoid(x, True), lambda x: TF.hardsigmoid(x, True)),
    ("hardswish", lambda x: F.hardswish(x, True), lambda x: TF.hardswish(x, True)),
    ("mish", lambda x: F.mish(x, True), lambda x: TF.mish(x, True)),
    ("threshold_", lambda x: F.threshold_(x, 0.2, 9.0), lambda x: TF.threshold_(x, 0.2, 9.0)),
    ("rrelu_", F.rrelu_, TF.rrelu_),
]


@pytest.mark.parametrize("name,fs,ft", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_forms_overwrite_the_input_and_keep_gradients(name, fs, ft):
    a = np.random.default_rng(4).standard_normal((5, 6)) * 4
    s, t = S.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)
    bs, bt = s * 1.0, t * 1.0
    rs, rt = fs(bs), ft(bt)
    assert rs is bs
    np.testing.assert_allclose(bs.detach().numpy(), bt.detach().numpy(), rtol=1e-12)
    (rs * rs).sum().backward()
    (rt * rt).sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), atol=1e-12,
                               rtol=1e-7 if name == "hardsigmoid" else 1e-10)
    # without autograd, on a transposed view
    v = S.tensor(a).t()
    out = fs(v)
    assert out is v
    np.testing.assert_allclose(v.numpy(), ft(torch.tensor(a).t()).numpy(), rtol=1e-12)


MODULES = [
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(0.5, True), lambda: torch.nn.ELU(0.5, True)),
    (lambda: nn.CELU(2.0), lambda: torch.nn.CELU(2.0)),
    (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.SELU(True), lambda: torch.nn.SELU(True)),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(2.0, 10.0), lambda: torch.nn.Softplus(2.0, 10.0)),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh()),
    (lambda: nn.Hardtanh(-2.0, 2.0, True), lambda: torch.nn.Hardtanh(-2.0, 2.0, True)),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.ReLU6(True), lambda: torch.nn.ReLU6(True)),
    (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Softshrink(), lambda: torch.nn.Softshrink()),
    (lambda: nn.Hardshrink(0.7), lambda: torch.nn.Hardshrink(0.7)),
    (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink()),
    (lambda: nn.Threshold(0.1, 20.0), lambda: torch.nn.Threshold(0.1, 20.0)),
    (lambda: nn.Threshold(0.1, 20.0, True), lambda: torch.nn.Threshold(0.1, 20.0, True)),
    (lambda: nn.RReLU(), lambda: torch.nn.RReLU()),
    (lambda: nn.RReLU(0.1, 0.3, True), lambda: torch.nn.RReLU(0.1, 0.3, True)),
    (lambda: nn.GLU(), lambda: torch.nn.GLU()),
    (lambda: nn.GLU(1), lambda: torch.nn.GLU(1)),
    (lambda: nn.Softmin(1), lambda: torch.nn.Softmin(1)),
    (lambda: nn.Softmax2d(), lambda: torch.nn.Softmax2d()),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_module_repr_and_forward_match_torch(i):
    ms, mt = MODULES[i][0]().eval(), MODULES[i][1]().eval()
    assert repr(ms) == repr(mt)
    a = np.random.default_rng(i).standard_normal((2, 4, 3, 6)) * 3
    ys, yt = ms(S.tensor(a)), mt(torch.tensor(a))
    np.testing.assert_allclose(ys.numpy(), yt.numpy(), rtol=1e-12, atol=1e-14)


def test_rrelu_training_draws_slopes_in_range():
    S.manual_seed(0)
    a = -np.abs(np.random.default_rng(5).standard_normal((200, 50))) - 0.1
    x = S.tensor(a).requires_grad_()
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slope = y.detach().numpy() / a
    assert slope.min() >= 0.1 and slope.max() <= 0.3
    assert slope.std() > 0.04                      # random, not one slope
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slope, rtol=1e-12)
    pos = S.tensor(np.abs(a))
    assert S.equal(F.rrelu(pos, training=True), pos)
    m = nn.RReLU(0.1, 0.3)
    S.manual_seed(1)
    y1 = m(S.tensor(a))
    S.manual_seed(1)
    assert S.equal(m(S.tensor(a)), y1)             # reproducible from the seed
    m.eval()
    np.testing.assert_allclose(m(S.tensor(a)).numpy(), a * 0.2, rtol=1e-12)


def test_softmax2d_and_glu_errors():
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(S.zeros(2, 3))
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 "
                                           "is size 3"):
        F.glu(S.zeros(2, 3))
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(S.zeros(2), -1.0)


def test_integer_input_is_refused_where_torch_refuses():
    for f in (F.elu, F.selu, F.hardswish, F.hardsigmoid, F.mish, F.logsigmoid):
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            f(S.tensor([1, 2]))


GRADCHECK = [F.elu, F.selu, lambda x: F.celu(x, 0.7), F.softsign, F.mish, F.logsigmoid,
             F.tanhshrink, F.glu, lambda x: F.softmin(x, 1), lambda x: F.softplus(x, 2.0),
             lambda x: F.hardswish(x * 0.3), lambda x: F.prelu(x, S.tensor([0.2, 0.4, -0.1]))]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    x = S.tensor(np.random.default_rng(i).standard_normal((3, 2, 4)) * 2).requires_grad_()
    assert S.autograd.gradcheck(GRADCHECK[i], (x.transpose(0, 1).detach().requires_grad_(),))


def test_prelu_weight_gradcheck():
    x = S.tensor(np.random.default_rng(9).standard_normal((3, 2, 4)))
    w = S.tensor([0.2, -0.4], dtype=S.float64).requires_grad_()
    assert S.autograd.gradcheck(lambda w: F.prelu(x, w), (w,))
