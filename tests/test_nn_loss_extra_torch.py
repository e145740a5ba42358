"""MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss, TripletMarginLoss,
SoftMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss and
GaussianNLLLoss against torch: values and gradients (every differentiable input, weights
included) for every reduction, float32 and float64, contiguous and non-contiguous inputs,
edge values, modules and their reprs, errors, gradcheck."""
import numpy as np
import pytest

import strided as S
import strided.nn as nn
import strided.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _make(name, rng, transposed):
    """(float arrays that get gradients, other arrays (targets), strided fn, torch fn) for
    one loss; transposed: the float inputs are given as transposed views."""
    n, d = 6, 5
    if name == "margin_ranking":
        return ([rng.standard_normal(n), rng.standard_normal(n)], [_signs(rng, n)],
                F.margin_ranking_loss, TF.margin_ranking_loss, dict(margin=0.3))
    if name == "hinge_embedding":
        return ([np.abs(rng.standard_normal((n, d))) * 1.5], [_signs(rng, (n, d))],
                F.hinge_embedding_loss, TF.hinge_embedding_loss, dict(margin=1.2))
    if name == "cosine_embedding":
        return ([rng.standard_normal((n, d)), rng.standard_normal((n, d))], [_signs(rng, n)],
                F.cosine_embedding_loss, TF.cosine_embedding_loss, dict(margin=0.1))
    if name == "triplet":
        return ([rng.standard_normal((n, d)) for _ in range(3)], [], F.triplet_margin_loss,
                TF.triplet_margin_loss, dict(margin=1.5))
    if name == "triplet_swap_p1":
        return ([rng.standard_normal((n, d)) for _ in range(3)], [], F.triplet_margin_loss,
                TF.triplet_margin_loss, dict(margin=1.0, p=1.0, swap=True))
    if name == "soft_margin":
        return ([rng.standard_normal((n, d)) * 3], [_signs(rng, (n, d))], F.soft_margin_loss,
                TF.soft_margin_loss, {})
    if name == "multilabel_soft_margin":
        return ([rng.standard_normal((n, d)) * 3, rng.random(d) + 0.5],
                [(rng.random((n, d)) < 0.5).astype(float)],
                lambda x, w, t, **k: F.multilabel_soft_margin_loss(x, t, w, **k),
                lambda x, w, t, **k: TF.multilabel_soft_margin_loss(x, t, w, **k), {})
    if name in ("multi_margin", "multi_margin_p2"):
        p = 2 if name.endswith("p2") else 1
        # torch's weight takes no gradient here
        return ([rng.standard_normal((n, d))], [rng.random(d) + 0.5, rng.integers(0, d, n)],
                lambda x, w, t, **k: F.multi_margin_loss(x, t, p, 0.8, w, **k),
                lambda x, w, t, **k: TF.multi_margin_loss(x, t, p, 0.8, w, **k), {})
    if name == "poisson_log":
        return ([rng.standard_normal((n, d))], [rng.poisson(2.0, (n, d)).astype(float)],
                F.poisson_nll_loss, TF.poisson_nll_loss, dict(full=True))
    if name == "poisson_rate":
        return ([rng.random((n, d)) * 3 + 0.1], [rng.poisson(2.0, (n, d)).astype(float)],
                F.poisson_nll_loss, TF.poisson_nll_loss, dict(log_input=False))
    if name == "gaussian":
        return ([rng.standard_normal((n, d)), rng.random((n, d)) + 0.1],
                [rng.standard_normal((n, d))],
                lambda x, v, t, **k: F.gaussian_nll_loss(x, t, v, **k),
                lambda x, v, t, **k: TF.gaussian_nll_loss(x, t, v, **k), dict(full=True))
    if name == "gaussian_per_sample_var":
        return ([rng.standard_normal((n, d)), rng.random((n, 1)) + 0.1],
                [rng.standard_normal((n, d))],
                lambda x, v, t, **k: F.gaussian_nll_loss(x, t, v, **k),
                lambda x, v, t, **k: TF.gaussian_nll_loss(x, t, v, **k), {})
    if name == "gaussian_clamped_var":
        v = rng.random((n, d)) + 0.1
        v[0, :3] = [0.0, 1e-8, 1e-7]                 # below eps: clamped, gradient kept
        return ([rng.standard_normal((n, d)), v], [rng.standard_normal((n, d))],
                lambda x, v, t, **k: F.gaussian_nll_loss(x, t, v, **k),
                lambda x, v, t, **k: TF.gaussian_nll_loss(x, t, v, **k), {})
    raise KeyError(name)


NAMES = ["margin_ranking", "hinge_embedding", "cosine_embedding", "triplet", "triplet_swap_p1",
         "soft_margin", "multilabel_soft_margin", "multi_margin", "multi_margin_p2",
         "poisson_log", "poisson_rate", "gaussian", "gaussian_per_sample_var",
         "gaussian_clamped_var"]


def _leaf(lib, a, dtype, transposed):
    if transposed and a.ndim == 2:
        t = lib.tensor(np.ascontiguousarray(a.T.astype(dtype)))
        t = t.t()
    else:
        t = lib.tensor(a.astype(dtype))
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_loss_matches_torch(name, transposed, reduction, dtype):
    rng = np.random.default_rng(NAMES.index(name))
    floats, others, fs, ft, kw = _make(name, rng, transposed)
    ls = [_leaf(S, a, dtype, transposed).requires_grad_() for a in floats]
    lt = [_leaf(torch, a, dtype, transposed).requires_grad_() for a in floats]
    os_ = [S.tensor(o) if o.dtype.kind == "i" else S.tensor(o.astype(dtype)) for o in others]
    ot = [torch.tensor(o) if o.dtype.kind == "i" else torch.tensor(o.astype(dtype))
          for o in others]
    ys = fs(*ls, *os_, reduction=reduction, **kw)
    yt = ft(*lt, *ot, reduction=reduction, **kw)
    assert tuple(ys.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ys.backward(S.tensor(g))
    yt.backward(torch.tensor(g))
    for i, (s, t) in enumerate(zip(ls, lt)):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), err_msg=f"grad {i}",
                                   **TOL[dtype])


def test_unbatched_and_edge_cases_match_torch():
    cases = [
        (lambda L, x, t: L.cosine_embedding_loss(x, x * 2, t), [np.array([1.0, 2.0, 3.0])],
         [np.array(-1.0)]),
        (lambda L, x, t: L.multi_margin_loss(x, t), [np.array([0.1, 0.9, -0.3])],
         [np.array(1)]),
        (lambda L, x, t: L.multilabel_soft_margin_loss(x, t), [np.array([20.0, -30.0, 0.0])],
         [np.array([1.0, 0.0, 1.0])]),
        (lambda L, x, t: L.soft_margin_loss(x, t), [np.array([30.0, -30.0, 0.0])],
         [np.array([1.0, 1.0, -1.0])]),
        (lambda L, x, t: L.hinge_embedding_loss(x, t), [np.array([0.0, 1.0, 2.0])],
         [np.array([-1.0, -1.0, 1.0])]),
        (lambda L, x, t: L.margin_ranking_loss(x, x * 0, t), [np.array([0.0, 1.0, -1.0])],
         [np.array([1.0, -1.0, 1.0])]),
        (lambda L, x, t: L.cosine_embedding_loss(x, x, t), [np.zeros((2, 3))],
         [np.array([1.0, -1.0])]),
    ]
    for f, floats, others in cases:
        xs = [S.tensor(a).requires_grad_() for a in floats]
        xt = [torch.tensor(a, requires_grad=True) for a in floats]
        ys = f(F, *xs, *[S.tensor(o) for o in others])
        yt = f(TF, *xt, *[torch.tensor(o) for o in others])
        np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)
        ys.backward()
        yt.backward()
        np.testing.assert_allclose(xs[0].grad.numpy(), xt[0].grad.numpy(), rtol=1e-9,
                                   atol=1e-12)


MODULES = [
    (lambda N: N.MarginRankingLoss(0.2), 3),
    (lambda N: N.HingeEmbeddingLoss(0.5, reduction="sum"), 2),
    (lambda N: N.CosineEmbeddingLoss(0.1), 3),
    (lambda N: N.TripletMarginLoss(margin=0.5, p=1.0, swap=True), 3),
    (lambda N: N.SoftMarginLoss(reduction="none"), 2),
    (lambda N: N.MultiLabelSoftMarginLoss(), 2),
    (lambda N: N.MultiMarginLoss(p=2, margin=0.5), 2),
    (lambda N: N.PoissonNLLLoss(log_input=False, full=True), 2),
    (lambda N: N.GaussianNLLLoss(full=True, eps=1e-3), 3),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_modules_match_torch(i):
    make, nargs = MODULES[i]
    ms, mt = make(nn), make(torch.nn)
    assert repr(ms) == repr(mt)
    rng = np.random.default_rng(i)
    x = rng.standard_normal((4, 5))
    if i == 7:
        x = np.abs(x) + 0.1
    if i in (0, 2):
        args = [x[:, 0] if i == 0 else x, rng.standard_normal(x[:, 0].shape if i == 0 else
                                                               x.shape),
                _signs(rng, 4)]
    elif i == 3:
        args = [x, rng.standard_normal((4, 5)), rng.standard_normal((4, 5))]
    elif i == 1 or i == 4:
        args = [x, _signs(rng, (4, 5))]
    elif i == 5:
        args = [x, (rng.random((4, 5)) < 0.5).astype(float)]
    elif i == 6:
        args = [x, rng.integers(0, 5, 4)]
    elif i == 7:
        args = [x, rng.poisson(2.0, (4, 5)).astype(float)]
    else:
        args = [x, rng.standard_normal((4, 5)), rng.random((4, 5)) + 0.01]
    ys = ms(*[S.tensor(a) for a in args])
    yt = mt(*[torch.tensor(a) for a in args])
    np.testing.assert_allclose(ys.numpy(), yt.numpy(), rtol=1e-9, atol=1e-12)


def test_module_weights_are_buffers():
    w = S.tensor([1.0, 2.0, 3.0])
    for ms, mt in [(nn.MultiMarginLoss(weight=w), torch.nn.MultiMarginLoss(
            weight=torch.tensor([1.0, 2.0, 3.0]))),
            (nn.MultiLabelSoftMarginLoss(weight=w), torch.nn.MultiLabelSoftMarginLoss(
                weight=torch.tensor([1.0, 2.0, 3.0])))]:
        assert list(ms.state_dict()) == list(mt.state_dict()) == ["weight"]


def test_errors_match_torch():
    cases = [
        (lambda: F.margin_ranking_loss(S.zeros(3), S.zeros(3), S.zeros(3), reduction="avg"),
         ValueError, "avg is not a valid value for reduction"),
        (lambda: F.margin_ranking_loss(S.zeros(3), S.zeros(3, 1), S.zeros(3)), RuntimeError,
         "All input tensors should have same dimension"),
        (lambda: F.cosine_embedding_loss(S.zeros(2, 3), S.zeros(2, 3), S.zeros(2, 1)),
         RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
        (lambda: F.cosine_embedding_loss(S.zeros(3), S.zeros(3), S.zeros(2)), RuntimeError,
         "1D target tensor expects 2D input tensors"),
        (lambda: F.triplet_margin_loss(S.zeros(2, 3), S.zeros(3), S.zeros(2, 3)), RuntimeError,
         "anchor 2D, positive 1D, and negative 2D inputs"),
        (lambda: F.multi_margin_loss(S.zeros(2, 3), S.tensor([0, 1]), p=3), ValueError,
         "only p == 1 and p == 2 supported"),
        (lambda: F.multi_margin_loss(S.zeros(2, 3), S.tensor([0, 3])), RuntimeError,
         "target out of range"),
        (lambda: F.gaussian_nll_loss(S.zeros(2, 3), S.zeros(2, 3), S.ones(3, 2)), ValueError,
         "var is of incorrect size"),
        (lambda: F.gaussian_nll_loss(S.zeros(2, 3), S.zeros(2, 3), -S.ones(2, 3)), ValueError,
         "var has negative entry/entries"),
        (lambda: nn.TripletMarginLoss(margin=0.0), ValueError,
         "expected margin to be greater than 0"),
        (lambda: nn.MultiMarginLoss(p=3), ValueError, "only p == 1 and p == 2 supported"),
    ]
    for f, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            f()


GRADCHECK = [
    lambda x, y, t: F.margin_ranking_loss(x[:, 0], y[:, 0], t[:, 0].sign(), margin=0.01),
    lambda x, y, t: F.cosine_embedding_loss(x, y, t[:, 0].sign(), margin=-0.9),
    lambda x, y, t: F.triplet_margin_loss(x, y, t, margin=5.0),
    lambda x, y, t: F.soft_margin_loss(x, t.sign(), reduction="sum"),
    lambda x, y, t: F.multilabel_soft_margin_loss(x, (t > 0).double(), y[0].abs() + 0.1),
    lambda x, y, t: F.multi_margin_loss(x, S.tensor([0, 2, 1, 3]), 2, 5.0),
    lambda x, y, t: F.poisson_nll_loss(x, t.abs() * 3, full=True),
    lambda x, y, t: F.gaussian_nll_loss(x, t, y.abs() + 0.1, reduction="none"),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    rng = np.random.default_rng(i)
    x = S.tensor(rng.standard_normal((5, 4))).t().requires_grad_()
    y = S.tensor(rng.standard_normal((4, 5))).requires_grad_()
    t = S.tensor(rng.standard_normal((4, 5)))
    assert S.autograd.gradcheck(GRADCHECK[i], (x, y, t))
