"""Joining and reshaping (cat, stack and their variants, splits, repeat, tile, roll,
tril / triu, atleast_nd, ravel, meshgrid) against PyTorch: values, dtypes, errors and
gradients, over every layout of helpers.LAYOUTS (negative strides included: the operands'
values are compared through their contiguous copies, which is what torch gets)."""
import numpy as np
import pytest

import strided
from helpers import LAYOUTS
from op_helpers import operand, rand

torch = pytest.importorskip("torch")

DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32,
                "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool}


def pair(shape, dtype, layout, seed=0, vals=None):
    """(strided tensor in layout, torch tensor with the same values)."""
    if vals is None:
        vals = rand(shape, dtype, np.random.default_rng(seed))
    t, expected = operand(np.asarray(vals, dtype=dtype), layout)
    return t, torch.from_numpy(np.array(expected, order="C"))


def same(s, tt):
    """s (strided) equals tt (torch) in shape, dtype and values."""
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
def test_cat_and_stack_every_layout(layout, dtype):
    a, ta = pair((3, 4), dtype, layout, 1)
    b, tb = pair((3, 4), dtype, "contiguous", 2)
    c, tc = pair((2, 4), dtype, layout, 3)
    for dim in (0, 1, -1, -2):
        same(strided.cat([a, b], dim), torch.cat([ta, tb], dim))
        same(strided.stack([a, b], dim), torch.stack([ta, tb], dim))
    same(strided.stack([a, b], 2), torch.stack([ta, tb], 2))
    same(strided.cat((a, c, b)), torch.cat((ta, tc, tb)))
    same(strided.concat([a, c]), torch.concat([ta, tc]))
    same(strided.concatenate([a, b], axis=1), torch.concatenate([ta, tb], axis=1))
    for fn in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        same(getattr(strided, fn)([a, b]), getattr(torch, fn)([ta, tb]))


@pytest.mark.parametrize("shapes,dim", [
    ([(0,), (2, 3)], 0), ([(2, 0), (2, 3)], 1), ([(0, 3), (0, 3)], 0), ([(1,), (0,), (4,)], 0),
    ([(2, 3, 4), (2, 1, 4)], 1), ([(0,), (0,)], 0), ([(5,)], 0), ([(2, 2, 0)], -1)])
def test_cat_shapes_and_legacy_empties(shapes, dim):
    ts, tts = zip(*(pair(s, "float32", "contiguous", i) for i, s in enumerate(shapes)))
    same(strided.cat(ts, dim), torch.cat(tts, dim))


@pytest.mark.parametrize("d1,d2", [("int32", "float32"), ("uint8", "int64"), ("bool", "uint8"),
                                   ("float32", "float64"), ("int64", "float32"),
                                   ("bool", "int32")])
def test_cat_and_stack_promote(d1, d2):
    a, ta = pair((2, 3), d1, "contiguous", 1)
    b, tb = pair((2, 3), d2, "transposed", 2)
    same(strided.cat([a, b]), torch.cat([ta, tb]))
    same(strided.stack([a, b]), torch.stack([ta, tb]))


def test_cat_stack_errors():
    a, ta = pair((2, 3), "float32", "contiguous")
    b, tb = pair((3, 2), "float32", "contiguous")
    s0, t0 = pair((), "float32", "contiguous")
    c, tc = pair((2, 3, 1), "float32", "contiguous")
    cases = [
        (lambda: strided.cat([a, b]), lambda: torch.cat([ta, tb])),
        (lambda: strided.cat([a, a], 2), lambda: torch.cat([ta, ta], 2)),
        (lambda: strided.cat([a, a], -3), lambda: torch.cat([ta, ta], -3)),
        (lambda: strided.cat([]), lambda: torch.cat([])),
        (lambda: strided.cat([s0, s0]), lambda: torch.cat([t0, t0])),
        (lambda: strided.cat([a, c]), lambda: torch.cat([ta, tc])),
        (lambda: strided.cat(a), lambda: torch.cat(ta)),
        (lambda: strided.cat([a, 1]), lambda: torch.cat([ta, 1])),
        (lambda: strided.stack([a, b]), lambda: torch.stack([ta, tb])),
        (lambda: strided.stack([a, a], 3), lambda: torch.stack([ta, ta], 3)),
        (lambda: strided.stack([]), lambda: torch.stack([])),
        (lambda: strided.hsplit(s0, 1), lambda: torch.hsplit(t0, 1)),
        (lambda: strided.vsplit(strided.zeros(3), 1),
         lambda: torch.vsplit(torch.zeros(3), 1)),
        (lambda: strided.hsplit(a, 2), lambda: torch.hsplit(ta, 2)),
        (lambda: strided.dsplit(a, 1), lambda: torch.dsplit(ta, 1)),
        (lambda: a.repeat(2), lambda: ta.repeat(2)),
        (lambda: a.repeat(2, -1), lambda: ta.repeat(2, -1)),
        (lambda: a.roll((1, 2), 0), lambda: ta.roll((1, 2), 0)),
        (lambda: a.roll(1, 2), lambda: ta.roll(1, 2)),
        (lambda: strided.zeros(3).tril(), lambda: torch.zeros(3).tril()),
        (lambda: strided.zeros(3).triu_(), lambda: torch.zeros(3).triu_()),
        (lambda: strided.meshgrid(a, a), lambda: torch.meshgrid(ta, ta, indexing="ij")),
        (lambda: strided.meshgrid(strided.zeros(2), strided.zeros(2), indexing="ab"),
         lambda: torch.meshgrid(torch.zeros(2), torch.zeros(2), indexing="ab")),
    ]
    for i, (fs, ft) in enumerate(cases):
        errors_alike(fs, ft, i)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_splits(layout):
    a, ta = pair((4, 6, 2), "int64", layout)
    for fn, arg in (("hsplit", 2), ("hsplit", [1, 4]), ("vsplit", 4), ("vsplit", [3]),
                    ("dsplit", 2), ("dsplit", [1])):
        got, want = getattr(strided, fn)(a, arg), getattr(torch, fn)(ta, arg)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
        for g, w in zip(getattr(a, fn)(arg), want):
            same(g, w)
    v, tv = pair((6,), "float32", layout)
    for g, w in zip(strided.hsplit(v, 3), torch.hsplit(tv, 3)):
        same(g, w)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_tile_roll_ravel(layout, dtype):
    for shape in ((3, 4), (2, 1, 3), (5,), (), (0, 3)):
        a, ta = pair(shape, dtype, layout, 4)
        nd = len(shape)
        for reps in ((2,) * nd + (1,), (1,) * (nd or 1), (3,) + (2,) * nd, (0,) * nd + (2,)):
            same(a.repeat(*reps), ta.repeat(*reps))
            same(a.repeat(reps), ta.repeat(reps))
        for dims in ((2,), (1, 2), (2, 1, 3), ()):
            same(strided.tile(a, dims), torch.tile(ta, dims))
            if dims:
                same(a.tile(*dims), ta.tile(*dims))
        same(a.ravel(), ta.ravel())
        same(strided.ravel(a), torch.ravel(ta))
        for shifts, dims in ((1, None), (-7, None), (2, 0), ((1, -2), (0, -1)), ((5, 5), (0, 0))):
            if nd == 0 and dims is not None:
                continue
            if dims is not None and max(d if d >= 0 else d + nd for d in
                                        (dims if isinstance(dims, tuple) else (dims,))) >= nd:
                continue
            same(strided.roll(a, shifts, dims), torch.roll(ta, shifts, dims))
            same(a.roll(shifts, dims), ta.roll(shifts, dims))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_tril_triu(layout, dtype):
    for shape in ((4, 4), (3, 5), (5, 3), (2, 3, 4), (2, 1, 3, 3), (0, 3), (3, 0)):
        a, ta = pair(shape, dtype, layout, 5)
        for k in (0, 1, -1, 2, -3, 10, -10):
            same(strided.tril(a, k), torch.tril(ta, k))
            same(a.triu(diagonal=k), ta.triu(diagonal=k))


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if lay != "expanded"])
def test_tril_triu_in_place_write_through_views(layout):
    for k in (0, 1, -2):
        for name in ("tril_", "triu_"):
            a, ta = pair((2, 4, 5), "float64", layout, 6)
            r = getattr(a, name)(k)
            assert r is a
            getattr(ta, name)(k)
            same(a, ta)
    e = strided.zeros(1, 3).expand(3, 3)
    with pytest.raises(RuntimeError):
        e.tril_()


def test_atleast_and_meshgrid():
    for shape in ((), (3,), (2, 3), (2, 3, 4)):
        a, ta = pair(shape, "float32", "stepped")
        for fn in ("atleast_1d", "atleast_2d", "atleast_3d"):
            same(getattr(strided, fn)(a), getattr(torch, fn)(ta))
            for g, w in zip(getattr(strided, fn)(a, a), getattr(torch, fn)(ta, ta)):
                same(g, w)
            for g, w in zip(getattr(strided, fn)([a]), getattr(torch, fn)([ta])):
                same(g, w)
    x, tx = pair((3,), "int64", "negative")
    y, ty = pair((4,), "int64", "stepped")
    z, tz = pair((), "int64", "contiguous")
    for indexing in ("ij", "xy"):
        for args, targs in (((x, y), (tx, ty)), ((x, y, z), (tx, ty, tz)), ((x,), (tx,))):
            got = strided.meshgrid(*args, indexing=indexing)
            want = torch.meshgrid(*targs, indexing=indexing)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                same(g, w)
        for g, w in zip(strided.meshgrid([x, y], indexing=indexing),
                        torch.meshgrid([tx, ty], indexing=indexing)):
            same(g, w)


def grads_alike(fs, ft, shapes, seed=0):
    """fs on strided leaves and ft on torch leaves of the same values: same output, same
    gradients for a random upstream gradient."""
    rng = np.random.default_rng(seed)
    vals = [rng.standard_normal(s) for s in shapes]
    xs = [strided.tensor(v).requires_grad_() for v in vals]
    txs = [torch.tensor(v, requires_grad=True) for v in vals]
    out, tout = fs(*xs), ft(*txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    assert out.grad_fn.name() == tout.grad_fn.name()
    g = rng.standard_normal(tuple(tout.shape))
    out.backward(strided.tensor(g))
    tout.backward(torch.tensor(g))
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_gradients():
    grads_alike(lambda a, b: strided.cat([a, b * 2], 1), lambda a, b: torch.cat([a, b * 2], 1),
                [(2, 3), (2, 4)])
    grads_alike(lambda a, b: strided.cat([a.T, b]), lambda a, b: torch.cat([a.T, b]),
                [(3, 2), (1, 3)])
    grads_alike(lambda a, b: strided.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1),
                [(2, 3), (2, 3)])
    grads_alike(lambda a, b: strided.hstack([a, b]), lambda a, b: torch.hstack([a, b]),
                [(3,), (2,)])
    grads_alike(lambda a, b: strided.dstack([a, b]), lambda a, b: torch.dstack([a, b]),
                [(3, 2), (3, 2)])
    grads_alike(lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [(2, 3)])
    grads_alike(lambda a: a.tile((2,)), lambda a: a.tile((2,)), [(2, 3)])
    grads_alike(lambda a: a.roll((1, -1), (0, 1)), lambda a: a.roll((1, -1), (0, 1)), [(3, 4)])
    grads_alike(lambda a: a.roll(5), lambda a: a.roll(5), [(3, 4)])
    grads_alike(lambda a: a.tril(1), lambda a: a.tril(1), [(2, 4, 4)])
    grads_alike(lambda a: strided.triu(a[::-1], -1), lambda a: torch.triu(a.flip(0), -1),
                [(4, 3)])
    grads_alike(lambda a: (a * 1).tril_(), lambda a: (a * 1).tril_(), [(3, 3)])
    grads_alike(lambda a: (a * 1)[1:].triu_(1) * 2, lambda a: (a * 1)[1:].triu_(1) * 2,
                [(4, 3)])


def test_gradient_of_promoted_cat_has_input_dtype():
    a = strided.zeros(2, dtype=strided.float32).requires_grad_()
    b = strided.zeros(2, dtype=strided.float64).requires_grad_()
    ta = torch.zeros(2, dtype=torch.float32, requires_grad=True)
    tb = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    strided.cat([a, b]).sum().backward()
    torch.cat([ta, tb]).sum().backward()
    assert a.grad.dtype.name == "float32" and b.grad.dtype.name == "float64"
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


def test_in_place_tril_on_leaf_refused():
    a = strided.zeros(3, 3).requires_grad_()
    ta = torch.zeros(3, 3, requires_grad=True)
    errors_alike(lambda: a.tril_(), lambda: ta.tril_())


def test_cat_out():
    a, ta = pair((2, 3), "float32", "contiguous")
    out = strided.empty(4, 3)
    r = strided.cat([a, a], out=out)
    assert r is out
    same(out, torch.cat([ta, ta]))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_interleave(layout, dtype):
    x, tx = pair((3, 4), dtype, layout, 30)
    for dim in (None, 0, 1, -1):
        same(x.repeat_interleave(2, dim), tx.repeat_interleave(2, dim))
        same(strided.repeat_interleave(x, 0, dim=dim), torch.repeat_interleave(tx, 0, dim=dim))
        same(strided.repeat_interleave(x, strided.tensor(3), dim=dim),
             torch.repeat_interleave(tx, torch.tensor(3), dim=dim))
    r, tr = pair((3,), "int64", "negative", vals=[2, 0, 1])
    same(x.repeat_interleave(r, 0), tx.repeat_interleave(tr, 0))
    r4, tr4 = pair((4,), "int64", "stepped", vals=[1, 3, 0, 2])
    same(x.repeat_interleave(r4, dim=1), tx.repeat_interleave(tr4, dim=1))
    same(strided.repeat_interleave(r4), torch.repeat_interleave(tr4))
    errors_alike(lambda: x.repeat_interleave(r4, 0), lambda: tx.repeat_interleave(tr4, 0))
    errors_alike(lambda: x.repeat_interleave(-1), lambda: tx.repeat_interleave(-1))
    errors_alike(lambda: x.repeat_interleave(2, 2), lambda: tx.repeat_interleave(2, 2))


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]),
    ("ijk->kji", [(2, 3, 4)]), ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij,j->i", [(2, 3), (3,)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
    ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij->ij", [(2, 3, 4)]), ("i...->...", [(3, 2, 2)]), ("ij,kl->ijkl", [(2, 3), (1, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("iij->j", [(3, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,i,i->i", [(4,), (4,), (4,)]),
    ("ab,ab", [(2, 3), (2, 3)]), ("ij, jk -> ik", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", EQUATIONS)
def test_einsum_values_and_gradients(equation, shapes):
    rng = np.random.default_rng(60)
    vals = [rng.standard_normal(s) for s in shapes]
    ts = [operand(v, "negative" if k % 2 else "transposed")[0] for k, v in enumerate(vals)]
    got = strided.einsum(equation, *ts)
    want = torch.einsum(equation, *[torch.tensor(v) for v in vals])
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(strided.einsum(equation, ts).numpy(), want.numpy(),
                               rtol=1e-10, atol=1e-12)
    grads_alike(lambda *xs: strided.einsum(equation, *xs) * 1.0,
                lambda *xs: torch.einsum(equation, *xs) * 1.0, shapes)


def test_einsum_errors():
    a, ta = pair((2, 3), "float64", "contiguous")
    cases = [
        (lambda: strided.einsum("ijk->i", a), lambda: torch.einsum("ijk->i", ta)),
        (lambda: strided.einsum("ij,jk->ik", a), lambda: torch.einsum("ij,jk->ik", ta)),
        (lambda: strided.einsum("ij->ii", a), lambda: torch.einsum("ij->ii", ta)),
        (lambda: strided.einsum("ij->k", a), lambda: torch.einsum("ij->k", ta)),
        (lambda: strided.einsum("ij,ij->i", a, a.T), lambda: torch.einsum("ij,ij->i", ta, ta.T)),
        (lambda: strided.einsum("i1", a), lambda: torch.einsum("i1", ta)),
    ]
    for k, (fs, ft) in enumerate(cases):
        errors_alike(fs, ft, k)


def test_ravel_is_contiguous_like_torch():
    """ravel: a view of a contiguous tensor, a contiguous copy of any other (a 1-d stepped
    view included), as PyTorch's."""
    import numpy as np
    for make in (lambda m: m.ones(10)[::2], lambda m: m.arange(12.).reshape(3, 4).t(),
                 lambda m: m.arange(12.).reshape(3, 4), lambda m: m.arange(6.)):
        s, t = make(strided), make(torch)
        rs, rt = s.ravel(), t.ravel()
        assert rs.is_contiguous() and rs.ndim == 1
        assert (rs.data_ptr() == s.data_ptr()) == (rt.data_ptr() == t.data_ptr())
        np.testing.assert_array_equal(rs.numpy(), rt.numpy())
        np.testing.assert_array_equal(strided.ravel(s).numpy(), rt.numpy())
