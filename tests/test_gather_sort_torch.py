"""Gathering, scattering, masked ops, nonzero, index_put, sorting and topk against PyTorch:
values, dtypes, errors and gradients, over every layout of helpers.LAYOUTS (negative
strides included: torch gets the operands' contiguous copies)."""
import numpy as np
import pytest

import strided
from helpers import LAYOUTS
from op_helpers import operand, rand

torch = pytest.importorskip("torch")

DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
WRITABLE = tuple(lay for lay in LAYOUTS if lay != "expanded")


def pair(shape, dtype, layout, seed=0, vals=None):
    """(strided tensor in layout, torch tensor with the same values)."""
    if vals is None:
        vals = rand(shape, dtype, np.random.default_rng(seed))
    t, expected = operand(np.asarray(vals, dtype=dtype), layout)
    return t, torch.from_numpy(np.array(expected, order="C"))


def index_pair(shape, high, layout, seed=0):
    vals = np.random.default_rng(seed).integers(0, high, size=shape)
    return pair(shape, "int64", layout, vals=vals)


def same(s, tt):
    assert tuple(s.shape) == tuple(tt.shape)
    assert s.dtype.name == str(tt.dtype).replace("torch.", "")
    np.testing.assert_array_equal(s.numpy(), tt.numpy())


def errors_alike(fs, ft, case=None):
    """fs (strided) raises the exception type ft (torch) raises."""
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value)):
        fs()
    return case


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(layout, dtype):
    x, tx = pair((3, 4, 5), dtype, layout, 1)
    for dim in (0, 1, 2, -1):
        n = x.shape[dim]
        for ishape in ((3, 4, 5), (2, 3, 4), (1, 1, 1), (3, 0, 2), (2, 4, 7 if dim in (2, -1) else 5)):
            if any(ishape[k] > x.shape[k] for k in range(3) if k != dim % 3):
                continue
            for ilayout in ("contiguous", "transposed", "negative", "expanded"):
                i, ti = index_pair(ishape, n, ilayout, 2)
                same(x.gather(dim, i), tx.gather(dim, ti))
                same(strided.gather(x, dim, i), torch.gather(tx, dim, ti))
    i32, ti32 = index_pair((2, 4, 5), 3, "contiguous")
    same(x.gather(0, i32.int()), tx.gather(0, ti32.int()))
    s, ts = pair((), dtype, "contiguous")
    same(s.gather(0, strided.tensor(0)), ts.gather(0, torch.tensor(0)))


@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_family(layout, dtype):
    for dim in (0, 1, -1):
        x, tx = pair((4, 5), dtype, layout, 3)
        n = x.shape[dim]
        src, tsrc = pair((3, 6), dtype, "stepped", 4)
        # distinct indices per "column" for plain scatter (duplicates are unspecified in torch)
        perm = np.stack([np.random.default_rng(k).permutation(n)[:3 if dim == 0 else 4]
                         for k in range(4 if dim == 0 else 3)])
        iv = perm.T if dim == 0 else perm
        i, ti = pair(iv.shape, "int64", "contiguous", vals=iv)
        same(x.scatter(dim, i, src), tx.scatter(dim, ti, tsrc))
        same(strided.scatter(x, dim, i, src), torch.scatter(tx, dim, ti, tsrc))
        val = True if dtype == "bool" else 7
        same(x.scatter(dim, i, val), tx.scatter(dim, ti, val))
        same(x.scatter(dim, i, value=val), tx.scatter(dim, ti, value=val))
        # duplicates: add / multiply / scatter_add accumulate
        d, td = index_pair((3, 4), n, "transposed", 5)
        same(x.scatter_add(dim, d, src), tx.scatter_add(dim, td, tsrc))
        same(strided.scatter_add(x, dim, d, src), torch.scatter_add(tx, dim, td, tsrc))
        if dtype != "bool":
            same(x.scatter(dim, d, src, reduce="add"), tx.scatter(dim, td, tsrc, reduce="add"))
            same(x.scatter(dim, d, src, reduce="multiply"),
                 tx.scatter(dim, td, tsrc, reduce="multiply"))
        # in place, through a view
        y, ty = pair((4, 5), dtype, layout, 6)
        r = y.scatter_(dim, i, src)
        assert r is y
        ty.scatter_(dim, ti, tsrc)
        same(y, ty)
        y.scatter_add_(dim, d, src)
        ty.scatter_add_(dim, td, tsrc)
        same(y, ty)


def test_gather_scatter_errors():
    x, tx = pair((3, 4), "float32", "contiguous")
    i, ti = index_pair((2, 4), 3, "contiguous")
    bad, tbad = pair((2, 4), "int64", "contiguous", vals=np.full((2, 4), 3))
    neg, tneg = pair((1, 1), "int64", "contiguous", vals=[[-1]])
    big, tbig = index_pair((2, 5), 3, "contiguous")
    src64, tsrc64 = pair((3, 4), "float64", "contiguous")
    cases = [
        (lambda: x.gather(0, bad), lambda: tx.gather(0, tbad)),
        (lambda: x.gather(0, neg), lambda: tx.gather(0, tneg)),
        (lambda: x.gather(0, big), lambda: tx.gather(0, tbig)),
        (lambda: x.gather(2, i), lambda: tx.gather(2, ti)),
        (lambda: x.gather(0, i.float()), lambda: tx.gather(0, ti.float())),
        (lambda: x.gather(0, i[0]), lambda: tx.gather(0, ti[0])),
        (lambda: x.gather(0, [0]), lambda: tx.gather(0, [0])),
        (lambda: x.scatter(0, bad, 1.0), lambda: tx.scatter(0, tbad, 1.0)),
        (lambda: x.scatter(0, i, src64), lambda: tx.scatter(0, ti, tsrc64)),
        (lambda: x.scatter(0, big, x), lambda: tx.scatter(0, tbig, tx)),
        (lambda: x.scatter(0, i, x, reduce="max"), lambda: tx.scatter(0, ti, tx, reduce="max")),
        (lambda: x.scatter_add(0, bad, x), lambda: tx.scatter_add(0, tbad, tx)),
        (lambda: x.scatter_add_(0, i, src64), lambda: tx.scatter_add_(0, ti, tsrc64)),
        (lambda: x.masked_fill(x.int(), 1), lambda: tx.masked_fill(tx.int(), 1)),
        (lambda: x.masked_fill(strided.zeros(2, dtype=strided.bool), 1),
         lambda: tx.masked_fill(torch.zeros(2, dtype=torch.bool), 1)),
        (lambda: x.masked_fill(x > 0, strided.zeros(2)),
         lambda: tx.masked_fill(tx > 0, torch.zeros(2))),
        (lambda: x.masked_fill_(strided.zeros(2, 3, 4, dtype=strided.bool), 1),
         lambda: tx.masked_fill_(torch.zeros(2, 3, 4, dtype=torch.bool), 1)),
        (lambda: x.masked_select(strided.zeros(2, dtype=strided.bool)),
         lambda: tx.masked_select(torch.zeros(2, dtype=torch.bool))),
        (lambda: x.masked_scatter(x > -100, strided.zeros(3)),
         lambda: tx.masked_scatter(tx > -100, torch.zeros(3))),
        (lambda: x.index_put((bad,), strided.tensor(1.0)),
         lambda: tx.index_put((tbad,), torch.tensor(1.0))),
        (lambda: x.index_put((i[0],), strided.tensor(1.0, dtype=strided.float64)),
         lambda: tx.index_put((ti[0],), torch.tensor(1.0, dtype=torch.float64))),
        (lambda: x.index_put((i[0], i[0], i[0]), strided.tensor(1.0)),
         lambda: tx.index_put((ti[0], ti[0], ti[0]), torch.tensor(1.0))),
    ]
    for k, (fs, ft) in enumerate(cases):
        errors_alike(fs, ft, k)
    # a failed scatter wrote nothing
    y = strided.zeros(3)
    with pytest.raises(RuntimeError):
        y.scatter_(0, strided.tensor([0, 1, 5]), strided.ones(3))
    assert y.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_ops(layout, dtype):
    x, tx = pair((3, 4, 2), dtype, layout, 7)
    for mshape in ((3, 4, 2), (4, 1), (2,), (), (3, 1, 1)):
        for mlayout in ("contiguous", "negative", "expanded"):
            m, tm = pair(mshape, "bool", mlayout, 8)
            val = False if dtype == "bool" else 5
            same(x.masked_fill(m, val), tx.masked_fill(tm, val))
            same(strided.masked_fill(x, m, strided.tensor(val)),
                 torch.masked_fill(tx, tm, torch.tensor(val)))
            same(x.masked_select(m), tx.masked_select(tm))
            same(strided.masked_select(x, m), torch.masked_select(tx, tm))
            src, tsrc = pair((30,), dtype, "stepped", 9)
            same(x.masked_scatter(m, src), tx.masked_scatter(tm, tsrc))
    m, tm = pair((5, 3, 4, 2), "bool", "contiguous", 10)
    same(x.masked_fill(m, 1), tx.masked_fill(tm, 1))        # self broadcasts too
    same(x.masked_select(m), tx.masked_select(tm))


@pytest.mark.parametrize("layout", WRITABLE)
def test_masked_in_place(layout):
    for dtype in ("float32", "int64", "uint8"):
        x, tx = pair((3, 4), dtype, layout, 11)
        m, tm = pair((4,), "bool", "negative", 12)
        assert x.masked_fill_(m, 3) is x
        tx.masked_fill_(tm, 3)
        same(x, tx)
        src, tsrc = pair((12,), dtype, "contiguous", 13)
        assert x.masked_scatter_(m, src) is x
        tx.masked_scatter_(tm, tsrc)
        same(x, tx)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nonzero_argwhere(layout, dtype):
    for shape in ((3, 4, 2), (5,), (), (0, 3), (2, 1, 3, 1)):
        x, tx = pair(shape, dtype, layout, 14)
        same(x.nonzero(), tx.nonzero())
        same(strided.nonzero(x), torch.nonzero(tx))
        same(strided.argwhere(x), torch.argwhere(tx))
        same(x.argwhere(), tx.argwhere())
        got, want = x.nonzero(as_tuple=True), tx.nonzero(as_tuple=True)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
    z, tz = pair((), "float32", "contiguous", vals=0.0)
    for g, w in zip(strided.nonzero(z, as_tuple=True), torch.nonzero(tz, as_tuple=True)):
        same(g, w)


@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "int64", "uint8"))
def test_index_put(layout, dtype):
    x, tx = pair((4, 3), dtype, layout, 15)
    i, ti = pair((5,), "int64", "negative", vals=[0, 3, 0, -1, 2])
    j, tj = pair((5,), "int64", "contiguous", vals=[1, 2, 1, 0, 2])
    m, tm = pair((4,), "bool", "contiguous", 16)
    v, tv = pair((5,), dtype, "stepped", 17)
    v3, tv3 = pair((3,), dtype, "contiguous", 18)
    same(x.index_put((i, j), v, accumulate=True), tx.index_put((ti, tj), tv, accumulate=True))
    same(strided.index_put(x, (i, j), v, True), torch.index_put(tx, (ti, tj), tv, True))
    u, tu = pair((2,), "int64", "contiguous", vals=[2, 0])
    same(x.index_put((u,), v3), tx.index_put((tu,), tv3))
    same(x.index_put((m,), v3[0]), tx.index_put((tm,), tv3[0]))
    same(x.index_put((i,), v3, accumulate=True), tx.index_put((ti,), tv3, accumulate=True))
    assert x.index_put_((i, j), v, True) is x
    tx.index_put_((ti, tj), tv, True)
    same(x, tx)


def grads_alike(fs, ft, shapes, seed=0):
    """fs on strided leaves and ft on torch leaves of the same values: same output, same
    grad_fn name, same gradients for a random upstream gradient."""
    rng = np.random.default_rng(seed)
    vals = [rng.standard_normal(s) for s in shapes]
    xs = [strided.tensor(v).requires_grad_() for v in vals]
    txs = [torch.tensor(v, requires_grad=True) for v in vals]
    out, tout = fs(*xs), ft(*txs)
    if isinstance(out, tuple):
        out, tout = out[0], tout[0]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    assert out.grad_fn.name() == tout.grad_fn.name()
    g = rng.standard_normal(tuple(tout.shape))
    out.backward(strided.tensor(g))
    tout.backward(torch.tensor(g))
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_gather_scatter_masked_gradients():
    i = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
    si, ti = strided.tensor(i), torch.tensor(i)
    p = np.array([[0, 2, 1, 0], [2, 1, 0, 1]])          # distinct per column
    sp, tp = strided.tensor(p), torch.tensor(p)
    grads_alike(lambda x: x.gather(0, si), lambda x: x.gather(0, ti), [(3, 4)])
    grads_alike(lambda x: x.T.gather(1, si.T), lambda x: x.T.gather(1, ti.T), [(3, 4)])
    grads_alike(lambda x, s: x.scatter(0, sp, s), lambda x, s: x.scatter(0, tp, s),
                [(3, 4), (2, 4)])
    # src larger than index: torch's backward raises (its gradient has index's shape);
    # strided gives src's shape, 0 where src was not read
    src = strided.ones(2, 5).requires_grad_()
    g = np.arange(12.0).reshape(3, 4)
    strided.zeros(3, 4).scatter(0, sp, src).backward(strided.tensor(g))
    want = np.zeros((2, 5))
    want[:, :4] = np.take_along_axis(g, p, 0)
    np.testing.assert_array_equal(src.grad.numpy(), want)
    grads_alike(lambda x: x.scatter(0, sp, 2.0), lambda x: x.scatter(0, tp, 2.0), [(3, 4)])
    grads_alike(lambda x, s: x.scatter_add(0, si, s), lambda x, s: x.scatter_add(0, ti, s),
                [(3, 4), (2, 4)])
    grads_alike(lambda x, s: (x * 1).scatter_(0, sp, s), lambda x, s: (x * 1).scatter_(0, tp, s),
                [(3, 4), (2, 4)])
    grads_alike(lambda x, s: (x * 1).scatter_add_(1, si, s),
                lambda x, s: (x * 1).scatter_add_(1, ti, s), [(3, 4), (2, 4)])
    m = np.array([True, False, True, True])
    sm, tm = strided.tensor(m), torch.tensor(m)
    grads_alike(lambda x: x.masked_fill(sm, 0.5), lambda x: x.masked_fill(tm, 0.5), [(3, 4)])
    grads_alike(lambda x, v: x.masked_fill(sm, v), lambda x, v: x.masked_fill(tm, v), [(3, 4), ()])
    grads_alike(lambda x: (x * 1).masked_fill_(sm, 0.5), lambda x: (x * 1).masked_fill_(tm, 0.5),
                [(3, 4)])
    grads_alike(lambda x: x.masked_fill(sm, 0.5), lambda x: x.masked_fill(tm, 0.5), [(4,)])
    grads_alike(lambda x: x.masked_select(sm), lambda x: x.masked_select(tm), [(3, 4)])
    grads_alike(lambda x: x.masked_select(sm), lambda x: x.masked_select(tm), [(4,)])
    grads_alike(lambda x, s: x.masked_scatter(sm, s), lambda x, s: x.masked_scatter(tm, s),
                [(3, 4), (4, 5)])
    ii, tii = strided.tensor([0, 2, 0]), torch.tensor([0, 2, 0])
    grads_alike(lambda x, v: x.index_put((ii,), v, accumulate=True),
                lambda x, v: x.index_put((tii,), v, accumulate=True), [(3, 4), (3, 4)])
    jj, tjj = strided.tensor([1, 2]), torch.tensor([1, 2])
    grads_alike(lambda x, v: x.index_put((jj,), v), lambda x, v: x.index_put((tjj,), v),
                [(3, 4), (4,)])
    grads_alike(lambda x, v: (x * 1).index_put_((jj, jj), v),
                lambda x, v: (x * 1).index_put_((tjj, tjj), v), [(3, 4), (2,)])


# ---- sorting ---------------------------------------------------------------------------------

def sort_values(dtype, shape, seed, ties):
    rng = np.random.default_rng(seed)
    if ties:                                    # few distinct values: stability matters
        return rng.integers(0, 3, size=shape).astype(dtype)
    vals = rand(shape, dtype, rng)
    if np.dtype(dtype).kind == "f" and vals.size > 3:
        vals.flat[1] = np.nan
        vals.flat[2] = -np.inf
    return vals


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_argsort_stable(layout, dtype):
    for shape in ((5, 40), (3, 4, 5), (70,), (), (0, 3), (4, 1)):
        for ties in (False, True):
            vals = sort_values(dtype, shape, 20, ties)
            x, tx = pair(shape, dtype, layout, vals=vals)
            for dim in range(-len(shape), len(shape)) if shape else (0, -1):
                for desc in (False, True):
                    got = x.sort(dim, desc, stable=True)
                    want = tx.sort(dim=dim, descending=desc, stable=True)
                    same(got.values, want.values)
                    same(got.indices, want.indices)
                    g2 = strided.sort(x, dim, descending=desc)
                    same(g2[0], want.values)
                    same(g2[1], want.indices)
                    same(x.argsort(dim, desc), torch.argsort(tx, dim=dim, descending=desc, stable=True))
                    same(strided.argsort(x, dim, descending=desc, stable=True),
                         torch.argsort(tx, dim=dim, descending=desc, stable=True))
    x, tx = pair((6, 3), dtype, layout, 21)
    same(strided.msort(x), torch.msort(tx))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "int64", "uint8"))
def test_topk_kthvalue(layout, dtype):
    for shape in ((5, 40), (3, 4, 5), (9,), ()):
        vals = rand(shape, dtype, np.random.default_rng(22))
        if np.dtype(dtype).kind in "iu":        # distinct values: torch's tie order is unspecified
            vals = np.random.default_rng(23).permutation(max(int(np.prod(shape)), 1))
            vals = (vals % 250 if dtype == "uint8" and vals.size <= 250 else vals)
            vals = vals.reshape(shape).astype(dtype)
            if dtype == "uint8" and vals.size > 250:
                continue
        x, tx = pair(shape, dtype, layout, vals=vals)
        for dim in range(-len(shape), len(shape)) if shape else (0,):
            n = shape[dim] if shape else 1
            for k in {0, 1, n // 2, n}:
                for largest in (True, False):
                    got, want = x.topk(k, dim, largest), tx.topk(k, dim, largest)
                    same(got.values, want.values)
                    picked_right(x, dim, got)
                    if layout != "expanded":    # ties: which index torch picks is unspecified
                        same(got.indices, want.indices)
                    same(strided.topk(x, k, dim=dim, largest=largest).values, want.values)
            for k in {1, (n + 1) // 2, n}:
                for keepdim in (False, True):
                    got, want = x.kthvalue(k, dim, keepdim), tx.kthvalue(k, dim, keepdim)
                    same(got.values, want.values)
                    if not keepdim and shape:
                        picked_right(x, dim, (got.values.unsqueeze(dim),
                                              got.indices.unsqueeze(dim)))
                    if layout != "expanded":
                        same(got.indices, want.indices)
                        same(strided.kthvalue(x, k, dim, keepdim).indices, want.indices)


def picked_right(x, dim, result):
    """The indices point at the values."""
    values, indices = result
    if x.ndim:
        np.testing.assert_array_equal(x.gather(dim, indices).numpy(), values.numpy())


def test_sort_errors():
    x, tx = pair((3, 4), "float32", "contiguous")
    cases = [
        (lambda: x.sort(2), lambda: tx.sort(2)),
        (lambda: x.argsort(-3), lambda: tx.argsort(-3)),
        (lambda: x.topk(5), lambda: tx.topk(5)),
        (lambda: x.topk(-1), lambda: tx.topk(-1)),
        (lambda: x.topk(1, 2), lambda: tx.topk(1, 2)),
        (lambda: x.kthvalue(0), lambda: tx.kthvalue(0)),
        (lambda: x.kthvalue(5), lambda: tx.kthvalue(5)),
        (lambda: (x > 0).topk(1), lambda: (tx > 0).topk(1)),      # no bool topk on CPU
    ]
    for k, (fs, ft) in enumerate(cases):
        errors_alike(fs, ft, k)


def test_sort_gradients():
    grads_alike(lambda x: x.sort(1)[0], lambda x: x.sort(1)[0], [(3, 5)])
    grads_alike(lambda x: x.T.sort(0, descending=True).values,
                lambda x: x.T.sort(0, descending=True).values, [(3, 5)])
    grads_alike(lambda x: x.topk(2, 0).values, lambda x: x.topk(2, 0).values, [(4, 3)])
    grads_alike(lambda x: x.topk(3, largest=False)[0], lambda x: x.topk(3, largest=False)[0],
                [(2, 6)])
    grads_alike(lambda x: x.kthvalue(2, 1).values, lambda x: x.kthvalue(2, 1).values, [(3, 4)])
    grads_alike(lambda x: x.kthvalue(2, 0, True).values, lambda x: x.kthvalue(2, 0, True).values,
                [(3, 4)])
    x = strided.tensor([3.0, 1.0]).requires_grad_()
    r = x.sort()
    assert not r.indices.requires_grad and r.values.requires_grad


# ---- scatter_reduce, unique, bincount, searchsorted, unravel_index, multinomial -------------

@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "int64"))
def test_scatter_reduce(layout, dtype):
    x, tx = pair((4, 5), dtype, layout, 30)
    src, tsrc = pair((3, 6), dtype, "negative", 31)
    i, ti = index_pair((3, 5), 4, "transposed", 32)
    for reduce in ("sum", "prod", "mean", "amax", "amin", "max", "min"):
        for include_self in (True, False):
            same(x.scatter_reduce(0, i, src, reduce, include_self=include_self),
                 tx.scatter_reduce(0, ti, tsrc, reduce, include_self=include_self))
            same(strided.scatter_reduce(x, 1, i[:, :4], src, reduce, include_self=include_self),
                 torch.scatter_reduce(tx, 1, ti[:, :4], tsrc, reduce,
                                      include_self=include_self))
    y, ty = pair((4, 5), dtype, layout, 33)
    assert y.scatter_reduce_(0, i, src, "amax") is y
    ty.scatter_reduce_(0, ti, tsrc, "amax")
    same(y, ty)
    errors_alike(lambda: x.scatter_reduce(0, i, src, "foo"),
                 lambda: tx.scatter_reduce(0, ti, tsrc, "foo"))


def test_scatter_reduce_gradients():
    i = np.array([[0, 2, 1, 0], [2, 2, 0, 1], [0, 0, 0, 0]])
    si, ti = strided.tensor(i), torch.tensor(i)
    for reduce in ("sum", "mean", "prod", "amax", "amin"):
        for include_self in (True, False):
            grads_alike(lambda x, s: x.scatter_reduce(0, si, s, reduce, include_self=include_self),
                        lambda x, s: x.scatter_reduce(0, ti, s, reduce, include_self=include_self),
                        [(3, 4), (3, 4)])
    # ties in amax share the gradient
    x = strided.tensor([1.0, 1.0]).requires_grad_()
    s = strided.tensor([1.0, 0.0]).requires_grad_()
    tx, ts = torch.tensor([1.0, 1.0], requires_grad=True), torch.tensor([1.0, 0.0], requires_grad=True)
    x.scatter_reduce(0, strided.tensor([0, 0]), s, "amax").sum().backward()
    tx.scatter_reduce(0, torch.tensor([0, 0]), ts, "amax").sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unique(layout, dtype):
    vals = np.random.default_rng(40).integers(0, 4, size=(5, 6)).astype(dtype)
    x, tx = pair((5, 6), dtype, layout, vals=vals)
    for inv in (False, True):
        for cnt in (False, True):
            got = strided.unique(x, return_inverse=inv, return_counts=cnt)
            want = torch.unique(tx, return_inverse=inv, return_counts=cnt)
            got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
            for g, w in zip(got, want):
                same(g, w)
            for dim in (0, 1):
                got = x.unique(return_inverse=inv, return_counts=cnt, dim=dim)
                want = tx.unique(return_inverse=inv, return_counts=cnt, dim=dim)
                got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
                for g, w in zip(got, want):
                    same(g, w)
    f, tf = pair((4,), "float32", "contiguous", vals=[1.0, np.nan, np.nan, 1.0])
    same(strided.unique(f), torch.unique(tf))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bincount(layout):
    for dtype in ("uint8", "int32", "int64"):
        vals = np.random.default_rng(41).integers(0, 7, size=20).astype(dtype)
        x, tx = pair((20,), dtype, layout, vals=vals)
        w, tw = pair((20,), "float32", layout, 42)
        w64, tw64 = pair((20,), "float64", "negative", 43)
        wi, twi = pair((20,), "int32", "stepped", 44)
        same(strided.bincount(x), torch.bincount(tx))
        same(x.bincount(minlength=10), tx.bincount(minlength=10))
        np.testing.assert_allclose(x.bincount(w).numpy(), tx.bincount(tw).numpy(), rtol=1e-6)
        assert x.bincount(w).dtype.name == "float32"
        same(x.bincount(w64), tx.bincount(tw64))
        same(x.bincount(wi), tx.bincount(twi))
    e, te = pair((0,), "int64", "contiguous")
    same(strided.bincount(e), torch.bincount(te))
    same(strided.bincount(e, minlength=3), torch.bincount(te, minlength=3))
    n, tn = pair((2,), "int64", "contiguous", vals=[1, -1])
    f, tf = pair((2,), "float32", "contiguous")
    m, tm = pair((2, 2), "int64", "contiguous", vals=[[0, 1], [1, 2]])
    for fs, ft in ((lambda: strided.bincount(n), lambda: torch.bincount(tn)),
                   (lambda: strided.bincount(f), lambda: torch.bincount(tf)),
                   (lambda: strided.bincount(m), lambda: torch.bincount(tm)),
                   (lambda: strided.bincount(n.abs(), minlength=-1),
                    lambda: torch.bincount(tn.abs(), minlength=-1)),
                   (lambda: strided.bincount(n.abs(), f[:1]),
                    lambda: torch.bincount(tn.abs(), tf[:1]))):
        errors_alike(fs, ft)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "int64", "uint8"))
def test_searchsorted(layout, dtype):
    rng = np.random.default_rng(50)
    seq = np.sort(rng.integers(0, 20, size=(3, 8)), axis=1).astype(dtype)
    s, ts = pair((3, 8), dtype, "contiguous" if layout == "expanded" else layout, vals=seq)
    v, tv = pair((3, 5), dtype, layout, vals=rng.integers(0, 22, size=(3, 5)).astype(dtype))
    for kw in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        same(strided.searchsorted(s, v, **kw), torch.searchsorted(ts, tv, **kw))
        same(strided.searchsorted(s[0], v, **kw), torch.searchsorted(ts[0], tv, **kw))
        same(strided.searchsorted(s[1], 7, **kw), torch.searchsorted(ts[1], 7, **kw))
    order = np.argsort(rng.random((3, 8)), axis=1)
    unsorted = np.take_along_axis(seq, np.argsort(order, axis=1), 1)
    u, tu = pair((3, 8), dtype, "contiguous", vals=unsorted)
    o, to = pair((3, 8), "int64", "contiguous", vals=order)
    same(strided.searchsorted(u, v, sorter=o), torch.searchsorted(tu, tv, sorter=to))
    errors_alike(lambda: strided.searchsorted(s, v[:2]), lambda: torch.searchsorted(ts, tv[:2]))
    errors_alike(lambda: strided.searchsorted(s, v, side="left", right=True),
                 lambda: torch.searchsorted(ts, tv, side="left", right=True))


def test_unravel_index():
    for shape in ((2, 3), (4,), (2, 1, 5), 7):
        size = int(np.prod(shape))
        for idx in (np.arange(size), np.array([[0, size - 1], [1, 2 % size]]), np.array(3 % size),
                    np.array([-1, size, size + 3])):
            i, ti = pair(idx.shape, "int64", "contiguous", vals=idx)
            got, want = strided.unravel_index(i, shape), torch.unravel_index(ti, shape)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                same(g, w)
    errors_alike(lambda: strided.unravel_index(strided.tensor([1.5]), (2, 3)),
                 lambda: torch.unravel_index(torch.tensor([1.5]), (2, 3)))
    errors_alike(lambda: strided.unravel_index(strided.tensor([1]), (2, -3)),
                 lambda: torch.unravel_index(torch.tensor([1]), (2, -3)))


def test_multinomial():
    strided.manual_seed(3)
    p = strided.tensor([[0.1, 0.0, 0.6, 0.3], [0.0, 0.0, 1.0, 0.0]])
    draws = strided.multinomial(p, 20000, replacement=True)
    assert draws.shape == (2, 20000) and draws.dtype.name == "int64"
    freq = np.bincount(draws[0].numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.02)
    assert (draws[1].numpy() == 2).all()
    no_rep = strided.multinomial(p[0], 3)
    assert sorted(no_rep.tolist()) == [0, 2, 3]
    strided.manual_seed(5)
    a = strided.multinomial(p, 4, replacement=True)
    strided.manual_seed(5)
    assert strided.multinomial(p, 4, replacement=True).tolist() == a.tolist()
    strided.manual_seed(5)
    assert p.multinomial(4, True).tolist() == a.tolist()
    g = strided.Generator(7)
    b = strided.multinomial(p[0], 2, generator=g)
    assert p[0].multinomial(2, generator=strided.Generator(7)).tolist() == b.tolist()
    assert strided.multinomial(p[0], 2, generator=strided.Generator(7)).tolist() == b.tolist()
    tp = torch.tensor(p.numpy())
    for fs, ft in ((lambda: strided.multinomial(p, 5), lambda: torch.multinomial(tp, 5)),
                   (lambda: strided.multinomial(-p, 1), lambda: torch.multinomial(-tp, 1)),
                   (lambda: strided.multinomial(p * 0, 1), lambda: torch.multinomial(tp * 0, 1)),
                   (lambda: strided.multinomial(p.long(), 1), lambda: torch.multinomial(tp.long(), 1)),
                   (lambda: strided.multinomial(p, 0), lambda: torch.multinomial(tp, 0)),
                   (lambda: strided.multinomial(p[None], 1), lambda: torch.multinomial(tp[None], 1))):
        errors_alike(fs, ft)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_topk_select_and_sort_paths_agree(layout):
    """Small k selects in one pass, larger k sorts: both give the stable order's first k
    (ties, NaN included), values equal to torch's."""
    rng = np.random.default_rng(70)
    for dtype in ("float32", "int64", "uint8"):
        vals = rng.integers(0, 4, size=(6, 200)).astype(dtype)
        if dtype == "float32":
            vals[0, ::17] = np.nan
        x, tx = pair((6, 200), dtype, layout, vals=vals)
        for largest in (True, False):
            full = x.sort(1, descending=largest, stable=True)
            for k in (1, 3, 24, 25, 64, 65, 200):
                got = x.topk(k, 1, largest)
                same(got.indices, torch.from_numpy(full.indices.numpy()[:, :k].copy()))
                same(got.values, tx.topk(k, 1, largest).values)
        for k in (1, 5, 30, 200):
            same(x.kthvalue(k, 1).values, tx.kthvalue(k, 1).values)


def test_numbers_written_into_uint8_wrap_as_in_pytorch():
    m, tm = strided.tensor([True, False]), torch.tensor([True, False])
    i, ti = strided.tensor([0]), torch.tensor([0])
    for v in (-1, -128, -255, 255):
        same(strided.zeros(2, dtype=strided.uint8).masked_fill(m, v),
             torch.zeros(2, dtype=torch.uint8).masked_fill(tm, v))
        same(strided.zeros(2, dtype=strided.uint8).scatter(0, i, v),
             torch.zeros(2, dtype=torch.uint8).scatter(0, ti, v))
    for v in (-256, 256):
        errors_alike(lambda: strided.zeros(2, dtype=strided.uint8).masked_fill(m, v),
                     lambda: torch.zeros(2, dtype=torch.uint8).masked_fill(tm, v))
        errors_alike(lambda: strided.zeros(2, dtype=strided.uint8).scatter(0, i, v),
                     lambda: torch.zeros(2, dtype=torch.uint8).scatter(0, ti, v))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ("float32", "int64", "bool"))
def test_take_along_dim(layout, dtype):
    x, tx = pair((3, 4, 5), dtype, layout, 80)
    for dim in (0, 1, 2, -1, None):
        ishape = (60,) if dim is None else tuple(2 if k == dim % 3 else 1 if k == 0 else s
                                                 for k, s in enumerate((3, 4, 5)))
        i, ti = index_pair(ishape, 60 if dim is None else x.shape[dim], "negative", 81)
        same(strided.take_along_dim(x, i, dim), torch.take_along_dim(tx, ti, dim))
    i, ti = index_pair((3, 4, 5), 3, "contiguous", 82)
    errors_alike(lambda: strided.take_along_dim(x, i.int(), 0),
                 lambda: torch.take_along_dim(tx, ti.int(), 0))
    errors_alike(lambda: strided.take_along_dim(x, i[0], 0),
                 lambda: torch.take_along_dim(tx, ti[0], 0))
    errors_alike(lambda: strided.take_along_dim(x, i, 3), lambda: torch.take_along_dim(tx, ti, 3))
    grads_alike(lambda a: strided.take_along_dim(a, strided.tensor([[0], [2]]), 1),
                lambda a: torch.take_along_dim(a, torch.tensor([[0], [2]]), 1), [(2, 4)])


def test_index_put_function_form():
    x, tx = pair((4, 4), "float32", "contiguous", 83)
    i, ti = pair((3,), "int64", "contiguous", vals=[0, 2, 0])
    v, tv = pair((3,), "float32", "contiguous", 84)
    assert strided.index_put_(x, (i, i), v, True) is x
    torch.index_put_(tx, (ti, ti), tv, True)
    same(x, tx)
