"""strided.linalg and the top-level matrix functions against torch.linalg / torch: values
and gradients over square sizes 1..8, batches, broadcasting, tall and wide matrices, float32
and float64, contiguous / transposed / sliced inputs; gradcheck; errors with torch's
messages; grad_fn names."""
import math

import numpy as np
import pytest

import strided
import strided.linalg as LA

torch = pytest.importorskip("torch")

DTYPES = [("float32", strided.float32, torch.float32), ("float64", strided.float64, torch.float64)]
LAYOUTS = ["contiguous", "transposed", "sliced"]
TOL = {"float32": dict(rtol=2e-4, atol=2e-4), "float64": dict(rtol=1e-9, atol=1e-9)}


def _layout(a, layout, sdtype):
    """A strided tensor with a's values in the given layout (a leaf that requires grad)."""
    if layout == "contiguous":
        base = strided.tensor(a, dtype=sdtype)
        return base.requires_grad_(), base
    if layout == "transposed":
        base = strided.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), dtype=sdtype)
        base.requires_grad_()
        return base.transpose(-2, -1), base
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
    big[..., ::2] = a
    base = strided.tensor(big, dtype=sdtype).requires_grad_()
    return base[..., ::2], base


def _grad_of(x, base):
    """The gradient with respect to x's elements, read from its base's .grad."""
    g = base.grad.numpy()
    if x is base:
        return g
    if tuple(x.stride()) != tuple(base.stride()) and x.shape[-1] * 2 == base.shape[-1]:
        return g[..., ::2]
    return np.swapaxes(g, -1, -2)


def _close(s, t, dname, scale=1.0):
    tol = TOL[dname]
    s = s.detach().numpy() if isinstance(s, strided.Tensor) else np.asarray(s)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert s.shape == t.shape, (s.shape, t.shape)
    np.testing.assert_allclose(s, t, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale)


def _weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _run(fn_s, fn_t, a, dname, sdt, tdt, layout, pick=lambda r: r, scale=1.0, grad=True):
    """fn on a (strided in layout, torch contiguous): values of pick(result) and the gradient
    of sum(pick(result) * w) agree."""
    x, base = _layout(a, layout, sdt)
    xt = torch.tensor(a, dtype=tdt, requires_grad=True)
    rs, rt = pick(fn_s(x)), pick(fn_t(xt))
    _close(rs, rt, dname, scale)
    if grad:
        w = _weights(tuple(rt.shape))
        (rs * strided.tensor(w, dtype=sdt)).sum().backward()
        (rt * torch.tensor(w, dtype=tdt)).sum().backward()
        _close(_grad_of(x, base), xt.grad, dname, 10 * scale)


def _well_conditioned(shape, seed=0):
    rng = np.random.default_rng(seed)
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


def _spd(shape, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


SQUARE = [(n,) * 2 for n in range(1, 9)] + [(2, 3, 4, 4), (2, 1, 3, 3)]


# ---------------------------------------------------------------- norms

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (-1, False), ((0, 1), True), (0, True)])
def test_vector_norm(dname, sdt, tdt, layout, ord, dim, keepdim):
    a = np.random.default_rng(3).standard_normal((3, 4, 5))
    _run(lambda x: LA.vector_norm(x, ord, dim, keepdim),
         lambda x: torch.linalg.vector_norm(x, ord, dim, keepdim), a, dname, sdt, tdt, layout,
         grad=ord != 0)


@pytest.mark.parametrize("f", [LA.vector_norm, LA.norm, lambda x: LA.matrix_norm(x.view(1, 3))])
def test_two_norm_gradient_at_zero_is_zero(f):
    x = strided.zeros(3, dtype=strided.float64, requires_grad=True)
    f(x).backward()
    xt = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(xt).backward()
    assert x.grad.tolist() == xt.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("shape, dim, keepdim", [((4, 3), (-2, -1), False),
                                                 ((2, 3, 5), (-2, -1), True),
                                                 ((3, 2, 4), (0, 2), False),
                                                 ((3, 2, 4), (-1, 0), True)])
def test_matrix_norm(dname, sdt, tdt, layout, ord, shape, dim, keepdim):
    a = np.random.default_rng(4).standard_normal(shape)
    _run(lambda x: LA.matrix_norm(x, ord, dim, keepdim),
         lambda x: torch.linalg.matrix_norm(x, ord, dim, keepdim), a, dname, sdt, tdt, layout)


@pytest.mark.parametrize("shape, ord, dim", [
    ((5,), None, None), ((5,), 1, None), ((5,), math.inf, None), ((3, 4), None, None),
    ((3, 4), "fro", None), ((3, 4), "nuc", None), ((3, 4), 2, None), ((3, 4), -1, None),
    ((2, 3, 4), None, None), ((2, 3, 4), 3, 1), ((2, 3, 4), None, (0,)),
    ((2, 3, 4), 2, (1, 2)), ((2, 3, 4), "nuc", (0, 2)), ((2, 3, 4), None, (2, 0))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_dispatch(shape, ord, dim, keepdim):
    a = np.random.default_rng(5).standard_normal(shape)
    _run(lambda x: LA.norm(x, ord, dim, keepdim), lambda x: torch.linalg.norm(x, ord, dim, keepdim),
         a, "float64", strided.float64, torch.float64, "contiguous")


def test_norm_dtype_argument_and_tensor_norm_agree():
    a = np.random.default_rng(6).standard_normal((3, 4))
    x, xt = strided.tensor(a, dtype=strided.float32), torch.tensor(a, dtype=torch.float32)
    r = LA.vector_norm(x, dtype=strided.float64)
    assert r.dtype == strided.float64
    _close(r, torch.linalg.vector_norm(xt, dtype=torch.float64), "float32")
    _close(LA.norm(x), x.norm(), "float32")
    _close(strided.norm(x, 1, 0), torch.norm(xt, 1, 0), "float32")


# ---------------------------------------------------------------- square-matrix functions

SQUARE_FNS = {
    "det": (LA.det, torch.linalg.det, lambda r: r),
    "slogdet": (LA.slogdet, torch.linalg.slogdet, lambda r: r[1]),
    "slogdet_sign": (LA.slogdet, torch.linalg.slogdet, lambda r: r[0]),
    "inv": (LA.inv, torch.linalg.inv, lambda r: r),
    "inv_ex": (LA.inv_ex, torch.linalg.inv_ex, lambda r: r[0]),
    "strided.det": (strided.det, torch.det, lambda r: r),
    "strided.logdet": (lambda x: strided.logdet(x @ x.mT), lambda x: torch.logdet(x @ x.mT),
                       lambda r: r),
    "strided.inverse": (strided.inverse, torch.inverse, lambda r: r),
    "matrix_power3": (lambda x: LA.matrix_power(x, 3), lambda x: torch.linalg.matrix_power(x, 3),
                      lambda r: r),
    "matrix_power-2": (lambda x: strided.matrix_power(x, -2),
                       lambda x: torch.matrix_power(x, -2), lambda r: r),
    "matrix_power0": (lambda x: LA.matrix_power(x, 0), lambda x: torch.linalg.matrix_power(x, 0),
                      lambda r: r),
    "matrix_exp": (LA.matrix_exp, torch.linalg.matrix_exp, lambda r: r),
    "matrix_exp_large": (lambda x: LA.matrix_exp(x * 20), lambda x: torch.linalg.matrix_exp(x * 20),
                         lambda r: r),
}


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SQUARE, ids=str)
@pytest.mark.parametrize("name", list(SQUARE_FNS))
def test_square_functions(name, shape, dname, sdt, tdt, layout):
    fs, ft, pick = SQUARE_FNS[name]
    a = _well_conditioned(shape) / shape[-1]
    scale = 10.0 if name in ("matrix_power-2", "matrix_exp_large") else 1.0
    _run(fs, ft, a, dname, sdt, tdt, layout, pick, scale=scale,
         grad=name not in ("slogdet_sign", "matrix_power0"))


def test_matrix_power_of_integers_and_zero_gradient():
    a = strided.tensor([[1, 1], [0, 1]])
    assert LA.matrix_power(a, 5).tolist() == torch.linalg.matrix_power(
        torch.tensor([[1, 1], [0, 1]]), 5).tolist()
    x = strided.randn(3, 3, dtype=strided.float64, requires_grad=True)
    LA.matrix_power(x, 0).sum().backward()
    assert x.grad is None or x.grad.abs().sum().item() == 0
    y = LA.matrix_power(x, 1)
    y.add_(1)                                    # a new tensor, not x itself
    assert x.grad is None or x.grad.abs().sum().item() == 0


@pytest.mark.parametrize("a", [[[1., 2.], [2., 4.]], [[1., 2., 3.], [2., 4., 6.], [1., 0., 1.]],
                               [[0., 0.], [0., 0.]]])
def test_det_of_singular_matrices(a):
    x = strided.tensor(a, dtype=strided.float64, requires_grad=True)
    d = LA.det(x)
    assert d.item() == pytest.approx(0.0, abs=1e-12)
    d.backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(np.array(a), i, 0), j, 1)) * (-1) ** (i + j)
                     for j in range(len(a))] for i in range(len(a))])
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-12)
    xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    torch.linalg.det(xt).backward()
    # torch's gradient at a singular matrix depends on the LU it gets: the cofactors, or
    # 0 from its SVD-free path (the 2x2 cases everywhere, the 3x3 one on an AMD EPYC with
    # torch 2.13); strided's is the cofactor matrix, checked above
    if xt.grad.abs().sum().item() != 0:
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-6)


def test_slogdet_and_logdet_of_singular_and_negative():
    a = strided.tensor([[1., 2.], [2., 4.]], dtype=strided.float64)
    s, l = LA.slogdet(a)
    assert s.item() == 0 and l.item() == -math.inf
    assert strided.logdet(strided.tensor([[0., 1.], [1., 0.]])).isnan().item()
    assert torch.logdet(torch.tensor([[0., 1.], [1., 0.]])).isnan().item()
    assert not s.requires_grad


# ---------------------------------------------------------------- solve

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("ashape, bshape, left", [
    ((3, 3), (3, 2), True), ((3, 3), (3,), True), ((1, 1), (1, 4), True),
    ((2, 3, 4, 4), (2, 3, 4, 1), True), ((2, 3, 4, 4), (2, 3, 4), True),
    ((2, 1, 4, 4), (3, 4, 2), True), ((4, 4), (2, 3, 4, 5), True), ((3, 3), (4, 3), False),
    ((3, 3), (2, 3), False), ((2, 3, 3), (1, 4, 3), False), ((8, 8), (8, 8), True)])
def test_solve(dname, sdt, tdt, layout, ashape, bshape, left):
    a = _well_conditioned(ashape) / ashape[-1]
    b = np.random.default_rng(7).standard_normal(bshape)
    x, xbase = _layout(a, layout, sdt)
    bs = strided.tensor(b, dtype=sdt, requires_grad=True)
    xt = torch.tensor(a, dtype=tdt, requires_grad=True)
    bt = torch.tensor(b, dtype=tdt, requires_grad=True)
    rs, rt = LA.solve(x, bs, left=left), torch.linalg.solve(xt, bt, left=left)
    _close(rs, rt, dname)
    w = _weights(tuple(rt.shape))
    (rs * strided.tensor(w, dtype=sdt)).sum().backward()
    (rt * torch.tensor(w, dtype=tdt)).sum().backward()
    _close(_grad_of(x, xbase), xt.grad, dname, 10)
    _close(bs.grad, bt.grad, dname, 10)


# ---------------------------------------------------------------- cholesky

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SQUARE, ids=str)
@pytest.mark.parametrize("form", ["lower", "upper", "ex", "strided.cholesky_upper"])
def test_cholesky(form, shape, dname, sdt, tdt, layout):
    fs, ft = {
        "lower": (LA.cholesky, torch.linalg.cholesky),
        "upper": (lambda x: LA.cholesky(x, upper=True),
                  lambda x: torch.linalg.cholesky(x, upper=True)),
        "ex": (lambda x: LA.cholesky_ex(x).L, lambda x: torch.linalg.cholesky_ex(x).L),
        "strided.cholesky_upper": (lambda x: strided.cholesky(x, True),
                                   lambda x: torch.cholesky(x, True)),
    }[form]
    _run(fs, ft, _spd(shape) / shape[-1], dname, sdt, tdt, layout)


def test_cholesky_ex_info_and_lower_triangle_only():
    a = np.stack([np.eye(3), -np.eye(3), np.diag([1., 1., -1.])])
    r, rt = LA.cholesky_ex(strided.tensor(a)), torch.linalg.cholesky_ex(torch.tensor(a))
    assert r.info.tolist() == rt.info.tolist() == [0, 1, 3]
    assert r.info.dtype == strided.int32
    _close(r.L[0], rt.L[0], "float64")
    m = _spd((4, 4)) + np.triu(np.full((4, 4), 100.0), 1)     # garbage above the diagonal
    _close(LA.cholesky(strided.tensor(m)), torch.linalg.cholesky(torch.tensor(m)), "float64")


# ---------------------------------------------------------------- qr

RECT = [(5, 3), (3, 5), (4, 4), (1, 1), (6, 1), (1, 6), (2, 3, 6, 4), (2, 4, 6)]


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", RECT, ids=str)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr(mode, shape, dname, sdt, tdt, layout):
    a = np.random.default_rng(8).standard_normal(shape)
    m, n = shape[-2:]
    grad = mode == "reduced" or (mode == "complete" and m <= n)
    _run(lambda x: LA.qr(x, mode).R, lambda x: torch.linalg.qr(x, mode).R, a, dname, sdt,
         tdt, layout, grad=grad)
    if mode != "r":
        _run(lambda x: LA.qr(x, mode).Q, lambda x: torch.linalg.qr(x, mode).Q, a, dname, sdt,
             tdt, layout, grad=grad)
    else:
        assert LA.qr(strided.tensor(a), "r").Q.shape == torch.linalg.qr(torch.tensor(a), "r").Q.shape


@pytest.mark.parametrize("some", [True, False])
def test_strided_qr_some(some):
    a = np.random.default_rng(9).standard_normal((5, 3))
    q, r = strided.qr(strided.tensor(a), some)
    qt, rt = torch.qr(torch.tensor(a), some)
    _close(q, qt, "float64")
    _close(r, rt, "float64")


# ---------------------------------------------------------------- eigh

def _sym(shape, seed=10):
    a = np.random.default_rng(seed).standard_normal(shape)
    return a


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SQUARE, ids=str)
@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh(UPLO, shape, dname, sdt, tdt, layout):
    a = _sym(shape)                   # not symmetric: only the UPLO triangle is read
    _run(lambda x: LA.eigh(x, UPLO).eigenvalues, lambda x: torch.linalg.eigh(x, UPLO).eigenvalues,
         a, dname, sdt, tdt, layout)
    _run(lambda x: LA.eigvalsh(x, UPLO), lambda x: torch.linalg.eigvalsh(x, UPLO),
         a, dname, sdt, tdt, layout)
    # eigenvectors are defined up to sign: |V| and functions of V V^T-like products
    _run(lambda x: LA.eigh(x, UPLO).eigenvectors.abs(),
         lambda x: torch.linalg.eigh(x, UPLO).eigenvectors.abs(), a, dname, sdt, tdt, layout,
         scale=10)

    def recon(r):
        L, V = r
        return (V * L.unsqueeze(-2)) @ V.mT
    _run(lambda x: recon(LA.eigh(x, UPLO)), lambda x: recon(torch.linalg.eigh(x, UPLO)),
         a, dname, sdt, tdt, layout, scale=10)


# ---------------------------------------------------------------- svd

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", RECT + [(n, n) for n in (2, 3, 5, 8)], ids=str)
def test_svd(shape, dname, sdt, tdt, layout):
    a = np.random.default_rng(11).standard_normal(shape)
    k = min(shape[-2:])
    _run(lambda x: LA.svd(x, full_matrices=False).S,
         lambda x: torch.linalg.svd(x, full_matrices=False).S, a, dname, sdt, tdt, layout)
    _run(LA.svdvals, torch.linalg.svdvals, a, dname, sdt, tdt, layout)
    for part in (0, 2):
        _run(lambda x: LA.svd(x, full_matrices=False)[part].abs(),
             lambda x: torch.linalg.svd(x, full_matrices=False)[part].abs(), a, dname, sdt,
             tdt, layout, scale=10)

    def gauge_invariant(r):
        U, S, Vh = r
        return (U * S.unsqueeze(-2)) @ Vh + U[..., :, :k] @ Vh[..., :k, :]
    _run(lambda x: gauge_invariant(LA.svd(x, full_matrices=False)),
         lambda x: gauge_invariant(torch.linalg.svd(x, full_matrices=False)), a, dname, sdt,
         tdt, layout, scale=10)
    # full_matrices: shapes and values of the first k vectors
    U, S, Vh = LA.svd(strided.tensor(a, dtype=sdt))
    Ut, St, Vht = torch.linalg.svd(torch.tensor(a, dtype=tdt))
    assert U.shape == Ut.shape and Vh.shape == Vht.shape
    _close(U[..., :, :k].abs(), Ut[..., :, :k].abs(), dname, 10)


@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("compute_uv", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_strided_svd_returns_v(shape, some, compute_uv):
    a = np.random.default_rng(12).standard_normal(shape)
    r = strided.svd(strided.tensor(a), some, compute_uv)
    rt = torch.svd(torch.tensor(a), some, compute_uv)
    k = min(shape)
    _close(r.S, rt.S, "float64")
    for s, t in ((r.U, rt.U), (r.V, rt.V)):
        assert s.shape == t.shape
        _close(s[:, :k].abs(), t[:, :k].abs(), "float64", 10)


# ---------------------------------------------------------------- pinv, rank, lstsq

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", RECT, ids=str)
def test_pinv(shape, dname, sdt, tdt, layout):
    a = np.random.default_rng(13).standard_normal(shape)
    _run(LA.pinv, torch.linalg.pinv, a, dname, sdt, tdt, layout, scale=10)
    _run(strided.pinverse, torch.pinverse, a, dname, sdt, tdt, layout, scale=10)


@pytest.mark.parametrize("shape", [(4, 4), (2, 5, 5)])
def test_pinv_hermitian_and_rank_deficient(shape):
    a = _spd(shape)
    _run(lambda x: LA.pinv(x, hermitian=True), lambda x: torch.linalg.pinv(x, hermitian=True),
         a, "float64", strided.float64, torch.float64, "contiguous")
    u = np.random.default_rng(14).standard_normal(shape[:-1] + (2,))
    low = u @ np.swapaxes(u, -1, -2)                          # rank 2
    _close(LA.pinv(strided.tensor(low)), torch.linalg.pinv(torch.tensor(low)), "float64", 1e4)
    _close(LA.pinv(strided.tensor(low), atol=1e-3, rtol=0.1),
           torch.linalg.pinv(torch.tensor(low), atol=1e-3, rtol=0.1), "float64", 1e4)


@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("rank", [0, 1, 2, 4])
@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
def test_matrix_rank(rank, hermitian, dname, sdt, tdt):
    u = np.random.default_rng(15).standard_normal((3, 4, rank))
    a = u @ np.swapaxes(u, -1, -2)
    for kw in ({}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 1e-3, "rtol": 1e-2}):
        r = LA.matrix_rank(strided.tensor(a, dtype=sdt), hermitian=hermitian, **kw)
        rt = torch.linalg.matrix_rank(torch.tensor(a, dtype=tdt), hermitian=hermitian, **kw)
        assert r.dtype == strided.int64 and r.tolist() == rt.tolist()


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("ashape, bshape", [((5, 3), (5, 2)), ((5, 3), (5,)), ((4, 4), (4, 1)),
                                            ((2, 6, 3), (2, 6, 4)), ((2, 6, 3), (2, 6)),
                                            ((2, 1, 6, 3), (1, 3, 6, 2))])
def test_lstsq_solution(ashape, bshape, dname, sdt, tdt):
    a = np.random.default_rng(16).standard_normal(ashape)
    b = np.random.default_rng(17).standard_normal(bshape)
    xs, bs = strided.tensor(a, dtype=sdt, requires_grad=True), strided.tensor(b, dtype=sdt,
                                                                              requires_grad=True)
    xt, bt = torch.tensor(a, dtype=tdt, requires_grad=True), torch.tensor(b, dtype=tdt,
                                                                          requires_grad=True)
    rs, rt = LA.lstsq(xs, bs).solution, torch.linalg.lstsq(xt, bt).solution
    _close(rs, rt, dname, 10)
    w = _weights(tuple(rt.shape))
    (rs * strided.tensor(w, dtype=sdt)).sum().backward()
    (rt * torch.tensor(w, dtype=tdt)).sum().backward()
    _close(xs.grad, xt.grad, dname, 100)
    _close(bs.grad, bt.grad, dname, 100)


# ---------------------------------------------------------------- compositions and views

@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("shapes", [[(3, 4), (4, 2)], [(4,), (4, 3), (3, 2), (2,)],
                                    [(2, 3), (3,)], [(3,), (3,)], [(5,), (5, 2), (2, 3)]])
def test_multi_dot(shapes, dname, sdt, tdt):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    ts = [strided.tensor(a, dtype=sdt, requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, dtype=tdt, requires_grad=True) for a in arrays]
    rs, rt = LA.multi_dot(ts), torch.linalg.multi_dot(tt)
    _close(rs, rt, dname)
    rs.sum().backward()
    rt.sum().backward()
    for s, t in zip(ts, tt):
        _close(s.grad, t.grad, dname)


@pytest.mark.parametrize("dname, sdt, tdt", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape, dim", [((4, 3), -1), ((3, 5), 0), ((2, 3, 3), 1)])
def test_cross_vecdot_diagonal(shape, dim, dname, sdt, tdt, layout):
    a = np.random.default_rng(18).standard_normal(shape)
    b = np.random.default_rng(19).standard_normal(shape)
    bs, bt = strided.tensor(b, dtype=sdt), torch.tensor(b, dtype=tdt)
    _run(lambda x: LA.cross(x, bs, dim=dim), lambda x: torch.linalg.cross(x, bt, dim=dim), a,
         dname, sdt, tdt, layout)
    _run(lambda x: LA.vecdot(x, bs, dim=dim), lambda x: torch.linalg.vecdot(x, bt, dim=dim), a,
         dname, sdt, tdt, layout)
    _run(lambda x: LA.diagonal(x, offset=1), lambda x: torch.linalg.diagonal(x, offset=1), a,
         dname, sdt, tdt, layout)


@pytest.mark.parametrize("shape, offset", [((4,), 0), ((4,), 2), ((4,), -1), ((3, 4), 0),
                                           ((3, 4), 1), ((3, 4), -2)])
def test_trace_diag_diagflat(shape, offset):
    a = np.random.default_rng(20).standard_normal(shape)
    f64 = (strided.float64, torch.float64)
    _run(lambda x: strided.diag(x, offset), lambda x: torch.diag(x, offset), a, "float64", *f64,
         "contiguous")
    _run(lambda x: strided.diagflat(x, offset), lambda x: torch.diagflat(x, offset), a,
         "float64", *f64, "contiguous")
    if len(shape) == 2:
        _run(strided.trace, torch.trace, a, "float64", *f64, "contiguous")
        _run(strided.trace, torch.trace, a, "float64", *f64, "transposed")
    assert strided.trace(strided.arange(9).view(3, 3)).dtype == strided.int64


@pytest.mark.parametrize("shape, offset, dim1, dim2", [((3,), 0, -2, -1), ((2, 3), 1, -2, -1),
                                                       ((2, 3), -1, 0, 2), ((2, 3), 0, -1, 0),
                                                       ((2, 2, 3), 2, 1, 3)])
def test_diag_embed(shape, offset, dim1, dim2):
    a = np.random.default_rng(21).standard_normal(shape)
    for layout in ("contiguous", "sliced"):
        _run(lambda x: strided.diag_embed(x, offset, dim1, dim2),
             lambda x: torch.diag_embed(x, offset, dim1, dim2), a, "float64", strided.float64,
             torch.float64, layout)


# ---------------------------------------------------------------- gradcheck

GRADCHECK = {
    "det": (LA.det, (3, 3)),
    "slogdet": (lambda x: LA.slogdet(x)[1], (2, 3, 3)),
    "inv": (LA.inv, (2, 3, 3)),
    "solve": (lambda x: LA.solve(x, x[..., :1] * 2 + 1), (2, 3, 3)),
    "cholesky": (lambda x: LA.cholesky(x @ x.mT + strided.eye(3, dtype=strided.float64)),
                 (3, 3)),
    "qr_tall": (lambda x: LA.qr(x), (4, 3)),
    "qr_wide": (lambda x: LA.qr(x), (2, 4)),
    "eigh": (lambda x: (lambda r: (r[0], r[1].abs()))(LA.eigh(x + x.mT)), (3, 3)),
    "svd": (lambda x: (lambda r: (r[1], r[0].abs(), r[2].abs()))(LA.svd(x, False)), (4, 3)),
    "svd_wide": (lambda x: (lambda r: (r[0] @ r[2], r[1]))(LA.svd(x, False)), (2, 4)),
    "pinv": (LA.pinv, (4, 2)),
    "matrix_norm_nuc": (lambda x: LA.matrix_norm(x, "nuc"), (3, 4)),
    "matrix_norm_2": (lambda x: LA.matrix_norm(x, 2), (3, 4)),
    "lstsq": (lambda x: LA.lstsq(x, x[..., :1].exp()).solution, (4, 2)),
    "logdet": (lambda x: strided.logdet(x @ x.mT), (3, 3)),
    "matrix_exp": (LA.matrix_exp, (2, 3, 3)),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, shape = GRADCHECK[name]
    a = _well_conditioned(shape, seed=22) if shape[-1] == shape[-2] else \
        np.random.default_rng(22).standard_normal(shape)
    x = strided.tensor(a, dtype=strided.float64, requires_grad=True)
    assert strided.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)


# ---------------------------------------------------------------- grad_fn names

@pytest.mark.parametrize("name, fs, ft", [
    ("det", LA.det, torch.linalg.det),
    ("slogdet", lambda x: LA.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1]),
    ("inv", LA.inv, torch.linalg.inv),
    ("solve", lambda x: LA.solve(x, x), lambda x: torch.linalg.solve(x, x)),
    ("cholesky", lambda x: LA.cholesky(x), lambda x: torch.linalg.cholesky(x)),
    ("qr", lambda x: LA.qr(x)[0], lambda x: torch.linalg.qr(x)[0]),
    ("eigh", lambda x: LA.eigh(x)[1], lambda x: torch.linalg.eigh(x)[1]),
    ("eigvalsh", LA.eigvalsh, torch.linalg.eigvalsh),
    ("svd", lambda x: LA.svd(x)[0], lambda x: torch.linalg.svd(x)[0]),
    ("svdvals", LA.svdvals, torch.linalg.svdvals),
    ("pinv", LA.pinv, torch.linalg.pinv),
    ("matrix_exp", LA.matrix_exp, torch.linalg.matrix_exp)])
def test_grad_fn_names(name, fs, ft):
    a = _spd((3, 3))
    rs = fs(strided.tensor(a, requires_grad=True))
    rt = ft(torch.tensor(a, requires_grad=True))
    assert rs.grad_fn.name() == rt.grad_fn.name()


# ---------------------------------------------------------------- errors

def _same_error(fs, ft, exc=RuntimeError):
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(exc) as es:
        fs()
    assert str(es.value) == str(et.value)
    return es.value


I22 = np.arange(4).reshape(2, 2)
R23 = np.zeros((2, 3))
SING = np.array([[1., 2.], [2., 4.]])


@pytest.mark.parametrize("fname, args", [
    ("inv", (I22,)), ("det", (I22,)), ("slogdet", (I22,)), ("cholesky", (I22,)), ("qr", (I22,)),
    ("eigh", (I22,)), ("svd", (I22,)), ("svdvals", (I22,)), ("pinv", (I22,)), ("inv_ex", (I22,)),
    ("eigvalsh", (I22,)), ("matrix_rank", (I22,)), ("matrix_exp", (I22,)),
    ("matrix_exp", (R23,)), ("matrix_exp", (np.zeros(3),)), ("vector_norm", (np.arange(3),)),
    ("inv", (R23,)), ("det", (R23,)), ("slogdet", (R23,)), ("cholesky", (R23,)),
    ("eigh", (R23,)), ("matrix_power", (R23, 2)), ("inv", (np.zeros(3),)),
    ("qr", (np.zeros(3),)), ("svd", (np.zeros(3),)), ("matrix_norm", (np.zeros(3),)),
    ("solve", (R23, np.zeros(2))), ("solve", (np.eye(2), np.ones(3))),
    ("solve", (np.eye(2), np.ones((3, 2)))),
    ("cross", (np.zeros(2), np.zeros(2))), ("norm", (np.zeros((2, 2, 2)), 2)),
    ("norm", (np.zeros(3), "fro")), ("matrix_norm", (np.zeros((2, 2)), 3))])
def test_errors_match_torch(fname, args):
    s_args = [strided.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    t_args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    _same_error(lambda: getattr(LA, fname)(*s_args), lambda: getattr(torch.linalg, fname)(*t_args))


@pytest.mark.parametrize("fname", ["inv", "solve", "cholesky"])
@pytest.mark.parametrize("batched", [False, True])
def test_singular_and_not_positive_definite(fname, batched):
    a = np.stack([np.eye(2), SING]) if batched else SING
    if fname == "cholesky":
        a = np.stack([np.eye(3), -np.eye(3)]) if batched else np.diag([1., -1., 1.])
    args = (a,) if fname != "solve" else (a, np.ones(a.shape[:-1]))
    err = _same_error(lambda: getattr(LA, fname)(*map(strided.tensor, args)),
                      lambda: getattr(torch.linalg, fname)(*map(torch.tensor, args)),
                      LA.LinAlgError)
    assert isinstance(err, RuntimeError)
    with pytest.raises(RuntimeError):
        getattr(LA, fname)(*map(strided.tensor, args))


def test_inv_ex_info_matches_torch():
    a = np.stack([np.eye(3), np.diag([1., 0., 1.]), np.zeros((3, 3))])
    r, rt = LA.inv_ex(strided.tensor(a)), torch.linalg.inv_ex(torch.tensor(a))
    assert r.info.tolist() == rt.info.tolist() == [0, 2, 1]
    _close(r.inverse[0], rt.inverse[0], "float64")
    with pytest.raises(LA.LinAlgError):
        LA.inv_ex(strided.tensor(a), check_errors=True)


@pytest.mark.parametrize("call, tcall", [
    (lambda: LA.qr(strided.eye(2), "x"), lambda: torch.linalg.qr(torch.eye(2), "x")),
    (lambda: LA.eigh(strided.eye(2), "X"), lambda: torch.linalg.eigh(torch.eye(2), "X")),
    (lambda: LA.multi_dot([strided.eye(2)]), lambda: torch.linalg.multi_dot([torch.eye(2)])),
    (lambda: strided.trace(strided.zeros(2, 2, 2)), lambda: torch.trace(torch.zeros(2, 2, 2))),
    (lambda: strided.diag(strided.zeros(2, 2, 2)), lambda: torch.diag(torch.zeros(2, 2, 2))),
    (lambda: LA.solve(strided.eye(1), strided.ones(1), left=False),
     lambda: torch.linalg.solve(torch.eye(1), torch.ones(1), left=False)),
    (lambda: LA.solve(strided.eye(5), strided.ones(5), left=False),
     lambda: torch.linalg.solve(torch.eye(5), torch.ones(5), left=False)),
    (lambda: LA.solve(strided.eye(2), strided.ones(2, dtype=strided.float64)),
     lambda: torch.linalg.solve(torch.eye(2), torch.ones(2, dtype=torch.float64))),
])
def test_argument_errors_match_torch(call, tcall):
    _same_error(call, tcall)


def test_qr_mode_r_and_complete_tall_are_not_differentiable():
    x = strided.randn(4, 2, dtype=strided.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(x, "r").R.sum().backward()
    Q, R = LA.qr(x, "complete")
    with pytest.raises(RuntimeError, match="not differentiable"):
        Q.sum().backward()


def test_inputs_are_not_modified_and_results_are_new_tensors():
    a = _spd((2, 4, 4))
    x = strided.tensor(a)
    before = x.numpy().copy()
    outs = [LA.inv(x), LA.cholesky(x), *LA.qr(x), *LA.eigh(x), *LA.svd(x), LA.pinv(x), LA.det(x)]
    assert np.array_equal(x.numpy(), before)
    for o in outs:
        assert o.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
        assert o.is_contiguous()
    assert LA.inv(strided.tensor(a, dtype=strided.float32)).dtype == strided.float32


# ---------------------------------------------------------------- Tensor methods

@pytest.mark.parametrize("method, args", [
    ("det", ()), ("logdet", ()), ("slogdet", ()), ("inverse", ()), ("cholesky", ()),
    ("cholesky", (True,)), ("pinverse", ()), ("pinverse", (1e-3,)), ("matrix_power", (3,)),
    ("matrix_power", (-1,)), ("svd", ()), ("svd", (False,)), ("qr", ()), ("qr", (False,)),
    ("trace", ()), ("diag", ()), ("diag", (1,)), ("diag_embed", ()), ("diag_embed", (1, 0, 2)),
    ("diagflat", (-1,))])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_tensor_methods(method, args, layout):
    a = _spd((4, 4)) / 4
    x, base = _layout(a, layout, strided.float64)
    xt = torch.tensor(a, requires_grad=True)
    rs, rt = getattr(x, method)(*args), getattr(xt, method)(*args)
    if isinstance(rt, tuple):
        rs, rt = (rs[-1], rt[-1]) if method != "slogdet" else (rs[1], rt[1])
        rs, rt = rs.abs(), rt.abs()              # singular / Q vectors: up to sign
    _close(rs, rt, "float64")
    w = _weights(tuple(rt.shape))
    (rs * strided.tensor(w)).sum().backward()
    (rt * torch.tensor(w)).sum().backward()
    _close(_grad_of(x, base), xt.grad, "float64", 100)
