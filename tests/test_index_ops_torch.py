"""index_copy(_), index_fill(_) and index_reduce(_) against PyTorch: values over every dtype,
dim (negative ones too) and layout of helpers.LAYOUTS for self, source and index (torch gets
contiguous copies), duplicate and empty indices, 0-d and 1-d operands, errors (type and
message), gradients; then use_deterministic_algorithms, Tensor.uniform_ / normal_ /
random_, the uint8-mask warning of index_put_ and unravel_index's errors."""
import warnings

import numpy as np
import pytest

import strided
from helpers import LAYOUTS
from op_helpers import operand, rand

torch = pytest.importorskip("torch")

DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
WRITABLE = tuple(lay for lay in LAYOUTS if lay != "expanded")
INDEX_LAYOUTS = ("contiguous", "negative", "stepped", "expanded")


def pair(shape, dtype, layout, seed=0, vals=None):
    """(strided tensor in layout, torch tensor with the same values)."""
    if vals is None:
        vals = rand(shape, dtype, np.random.default_rng(seed))
    t, expected = operand(np.asarray(vals, dtype=dtype), layout)
    return t, torch.from_numpy(np.array(expected, order="C"))


def index_pair(vals, layout):
    vals = np.asarray(vals, dtype=np.int64)
    if layout == "expanded":        # a 1-d index with stride 0: one value repeated
        vals = np.full(vals.shape, vals[0] if vals.size else 0)
    return pair(vals.shape, "int64", layout, vals=vals)


def same(s, tt):
    assert tuple(s.shape) == tuple(tt.shape)
    assert s.dtype.name == str(tt.dtype).replace("torch.", "")
    np.testing.assert_array_equal(s.numpy(), tt.numpy())


def index_values(n, k, rng, dup):
    """k indices into a dim of size n: distinct unless dup (then repeats are likely)."""
    if dup or k > n:
        return rng.integers(0, n, size=k)
    return rng.permutation(n)[:k]


SHAPE = (4, 5, 3)


@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_copy(layout, dtype):
    rng = np.random.default_rng(1)
    for dim in (0, 1, 2, -1, -3):
        n = SHAPE[dim]
        for k, dup, ilay, slay in ((3, False, "contiguous", "contiguous"),
                                   (3, True, "negative", "transposed"),
                                   (5, True, "stepped", "negative"),
                                   (2, False, "expanded", "neg_stepped"),
                                   (0, False, "contiguous", "contiguous")):
            sshape = list(SHAPE)
            sshape[dim] = k
            x, tx = pair(SHAPE, dtype, layout, 3)
            src, tsrc = pair(tuple(sshape), dtype, slay, 4)
            i, ti = index_pair(index_values(n, k, rng, dup), ilay)
            same(x.index_copy(dim, i, src), tx.index_copy(dim, ti, tsrc))
            same(strided.index_copy(x, dim, i, src), torch.index_copy(tx, dim, ti, tsrc))
            assert x.index_copy_(dim, i, src) is x
            tx.index_copy_(dim, ti, tsrc)
            same(x, tx)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_copy_scalars_and_1d(dtype):
    for sshape, ishape, srcshape in (((), (), ()), ((), (1,), ()), ((), (1,), (1,)),
                                     ((1,), (), ()), ((1,), (1,), (1,)), ((5,), (2,), (2,)),
                                     ((5,), (), ())):
        x, tx = pair(sshape, dtype, "contiguous", 1)
        src, tsrc = pair(srcshape, dtype, "contiguous", 2)
        iv = np.array([min(1, (sshape or (1,))[0] - 1)] * (1 if not ishape else ishape[0]))
        iv = iv[0] if not ishape else np.arange(ishape[0])[::-1] * 2 % (sshape or (1,))[0]
        ti = torch.tensor(iv)
        i = strided.tensor(iv)
        same(x.index_copy(0, i, src), tx.index_copy(0, ti, tsrc))
        same(x.index_copy(-1, i, src), tx.index_copy(-1, ti, tsrc))
    # 0-d self, repeated index: the last source element wins
    same(strided.zeros(()).index_copy(0, strided.tensor([0, 0]), strided.tensor([3.0, 4.0])),
         torch.zeros(()).index_copy(0, torch.tensor([0, 0]), torch.tensor([3.0, 4.0])))


@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_fill(layout, dtype):
    rng = np.random.default_rng(2)
    value = True if dtype == "bool" else (2.5 if dtype.startswith("float") else 7)
    for dim in (0, 1, 2, -1, -2):
        n = SHAPE[dim]
        for k, dup, ilay in ((2, False, "contiguous"), (4, True, "negative"),
                             (3, True, "stepped"), (2, False, "expanded"), (0, False, "contiguous")):
            iv = index_values(n, k, rng, dup)
            iv = np.where(rng.random(k) < 0.5, iv - n, iv)      # negative positions too
            i, ti = index_pair(iv, ilay)
            x, tx = pair(SHAPE, dtype, layout, 5)
            same(x.index_fill(dim, i, value), tx.index_fill(dim, ti, value))
            same(strided.index_fill(x, dim, i, value), torch.index_fill(tx, dim, ti, value))
            v, tv = pair((), dtype, "contiguous", 6)
            same(x.index_fill(dim, i, v), tx.index_fill(dim, ti, tv))
            assert x.index_fill_(dim, i, value) is x
            tx.index_fill_(dim, ti, value)
            same(x, tx)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_fill_scalars_and_casts(dtype):
    for iv in (0, -1, [0], [-1, 0]):
        x, tx = pair((), dtype, "contiguous", 1)
        same(x.index_fill(0, strided.tensor(iv), 1), tx.index_fill(0, torch.tensor(iv), 1))
        assert x.index_fill_(-1, strided.tensor(iv), 0) is x
        same(x, tx.index_fill_(-1, torch.tensor(iv), 0))
    # numbers are cast as fill_ casts them (floats truncate into integers, -1 wraps in uint8)
    for value in (2.7, -1, True):
        if dtype in ("uint8", "bool") and value == 2.7:
            continue
        x, tx = pair((3, 2), dtype, "contiguous", 2)
        same(x.index_fill(1, strided.tensor([1]), value), tx.index_fill(1, torch.tensor([1]), value))


@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", DTYPES[:-1])
def test_index_reduce(layout, dtype):
    rng = np.random.default_rng(3)
    for reduce in ("prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            for dim in (0, 2, -2):
                n = SHAPE[dim]
                for k, dup, ilay, slay in ((3, False, "contiguous", "contiguous"),
                                           (6, True, "negative", "transposed"),
                                           (4, True, "stepped", "neg_stepped"),
                                           (2, True, "expanded", "negative"),
                                           (0, False, "contiguous", "contiguous")):
                    sshape = list(SHAPE)
                    sshape[dim] = k
                    vals = rand(SHAPE, dtype, rng) if reduce != "prod" else \
                        rng.integers(-2, 3, size=SHAPE)
                    svals = rand(tuple(sshape), dtype, rng) if reduce != "prod" else \
                        rng.integers(-2, 3, size=tuple(sshape))
                    if dtype == "uint8" and reduce == "prod":
                        vals, svals = np.abs(vals), np.abs(svals)
                    x, tx = pair(SHAPE, dtype, layout, vals=vals)
                    src, tsrc = pair(tuple(sshape), dtype, slay, vals=svals)
                    iv = index_values(n, k, rng, dup)
                    for idt in ("int64", "int32"):
                        i, ti = index_pair(iv, ilay)
                        if idt == "int32":
                            i, ti = i.int(), ti.int()
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")     # torch: "index_reduce() is in beta"
                            want = tx.index_reduce(dim, ti, tsrc, reduce, include_self=include_self)
                        got = x.index_reduce(dim, i, src, reduce, include_self=include_self)
                        if dtype.startswith("float") and reduce in ("prod", "mean"):
                            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
                            assert got.dtype.name == dtype
                        else:
                            same(got, want)
                    y = x.clone()
                    assert y.index_reduce_(dim, i, src, reduce, include_self=include_self) is y
                    np.testing.assert_array_equal(y.numpy(), got.numpy())


def test_index_reduce_nan_scalars_and_bool():
    nan = float("nan")
    for reduce in ("amax", "amin"):
        x, tx = strided.tensor([1.0, nan, 3.0]), torch.tensor([1.0, nan, 3.0])
        i, ti = strided.tensor([0, 1, 2]), torch.tensor([0, 1, 2])
        s, ts = strided.tensor([nan, 2.0, 1.0]), torch.tensor([nan, 2.0, 1.0])
        same(x.index_reduce(0, i, s, reduce), tx.index_reduce(0, ti, ts, reduce))
    for reduce in ("prod", "mean", "amax", "amin"):
        same(strided.tensor(3.0).index_reduce(0, strided.tensor([0]), strided.tensor(2.0), reduce),
             torch.tensor(3.0).index_reduce(0, torch.tensor([0]), torch.tensor(2.0), reduce))
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        strided.ones(3, dtype=strided.bool).index_reduce(
            0, strided.tensor([1]), strided.ones(1, dtype=strided.bool), "amax")


def messages_alike(fs, ft):
    """fs raises what ft raises: the same exception type and message (torch. -> strided.)."""
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value)) as es:
        fs()
    want = str(et.value).splitlines()[0].replace("torch.", "strided.")
    assert str(es.value).splitlines()[0] == want


def test_errors():
    S, T = strided, torch
    cases = [
        # index_copy_
        lambda m: m.zeros(3, 5).index_copy_(1, m.full((8,), 5), m.zeros(3, 8)),
        lambda m: m.zeros(3, 5).index_copy_(1, m.full((8,), -1), m.zeros(3, 8)),
        lambda m: m.zeros(3, 5).index_copy_(1, m.full((8,), -6), m.zeros(3, 8)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([1, 2]), m.ones(3)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([1, 2]), m.ones(2, dtype=m.float64)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([1, 2], dtype=m.int32), m.ones(2)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([1.0]), m.ones(1)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([[1, 2]]), m.ones(2)),
        lambda m: m.zeros(5, 3).index_copy_(0, m.tensor([1, 2]), m.ones(2, 4)),
        lambda m: m.zeros(5, 3).index_copy_(0, m.tensor([1, 2]), m.ones(2)),
        lambda m: m.zeros(5, 3).index_copy_(2, m.tensor([1, 2]), m.ones(2, 3)),
        lambda m: m.zeros(()).index_copy_(0, m.tensor([1]), m.tensor(3.0)),
        lambda m: m.zeros(5).index_copy_(0, m.tensor([1]), 3.0),
        lambda m: m.zeros(5).expand(2, 5).index_copy_(0, m.tensor([1]), m.ones(1, 5)),
        # index_fill_
        lambda m: m.zeros(5).index_fill_(0, m.tensor([-6]), 2),
        lambda m: m.zeros(5).index_fill_(0, m.tensor([5]), 2),
        lambda m: m.zeros(5).index_fill_(0, m.tensor([1], dtype=m.int32), 2),
        lambda m: m.zeros(5).index_fill_(0, m.tensor([[1]]), 2),
        lambda m: m.zeros(5).index_fill_(0, m.tensor([1]), 1 + 1j),
        lambda m: m.zeros(5).index_fill_(0, m.tensor([1]), m.tensor([1.0, 2.0])),
        lambda m: m.zeros(5).index_fill_(1, m.tensor([1]), 2),
        lambda m: m.tensor(1).index_fill_(0, m.tensor([1]), -1),
        # index_reduce_
        lambda m: m.ones(5).index_reduce_(0, m.tensor([-1]), m.ones(1), "prod"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([5]), m.ones(1), "prod"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([1.0]), m.ones(1), "prod"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([1]), m.ones(1), "sum"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([1]), m.ones(1, dtype=m.float64), "prod"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([1, 2]), m.ones(1), "prod"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([[1]]), m.ones(1), "prod"),
        lambda m: m.ones(5, 3).index_reduce_(0, m.tensor([1]), m.ones(1, 4), "prod"),
        lambda m: m.ones(5, 3).index_reduce_(0, m.tensor([1]), m.ones(3), "prod"),
        lambda m: m.ones(()).index_reduce_(0, m.tensor([0, 0]), m.ones(2), "mean"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor(1), m.ones(()), "mean"),
        lambda m: m.ones(5).index_reduce_(0, m.tensor([1]), 2.0, "prod"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases:
            if "expand" in case.__code__.co_names:     # a write into overlapping memory
                with pytest.raises(RuntimeError):
                    case(S)
                continue
            messages_alike(lambda: case(S), lambda: case(T))


def test_index_copy_overlapping_source():
    x = strided.arange(12.0).reshape(4, 3)
    tx = torch.arange(12.0).reshape(4, 3)
    same(x.index_copy_(0, strided.tensor([1, 2]), x[:2]), tx.index_copy_(0, torch.tensor([1, 2]), tx[:2].clone()))


# ---- gradients -------------------------------------------------------------------------------

def grads_alike(fs, ft, vals, rtol=1e-10):
    """fs on strided leaves and ft on torch leaves of the same float64 values: same output,
    grad_fn name and gradients for a random upstream gradient."""
    xs = [strided.tensor(v).requires_grad_() for v in vals]
    txs = [torch.tensor(v, requires_grad=True) for v in vals]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, tout = fs(*xs), ft(*txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol)
    assert out.grad_fn.name() == tout.grad_fn.name()
    g = np.random.default_rng(9).standard_normal(tuple(tout.shape))
    out.backward(strided.tensor(g))
    tout.backward(torch.tensor(g))
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-12)


def test_index_copy_and_fill_gradients():
    rng = np.random.default_rng(4)
    x, src = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    for iv in ([2, 0], [1, 1], []):
        i, ti = strided.tensor(iv, dtype=strided.int64), torch.tensor(iv, dtype=torch.int64)
        s = src[:, :len(iv)]
        grads_alike(lambda a, b: a.index_copy(1, i, b), lambda a, b: a.index_copy(1, ti, b),
                    [x[:, :3], s])
        grads_alike(lambda a, b: (a * 1).index_copy_(-1, i, b),
                    lambda a, b: (a * 1).index_copy_(-1, ti, b), [x[:, :3], s])
        grads_alike(lambda a: a.index_fill(1, i, 2.0), lambda a: a.index_fill(1, ti, 2.0), [x])
        grads_alike(lambda a, v: a.index_fill(0, i, v), lambda a, v: a.index_fill(0, ti, v),
                    [x, np.array(1.5)])
        grads_alike(lambda a, v: (a * 1).index_fill_(0, i, v),
                    lambda a, v: (a * 1).index_fill_(0, ti, v), [x, np.array(1.5)])
    # negative and repeated positions: the value's gradient counts each slice once (torch's
    # backward fails on a negative index, so it gets the wrapped ones)
    i, ti = strided.tensor([-1, 3, 0]), torch.tensor([3, 3, 0])
    grads_alike(lambda a, v: a.index_fill(0, i, v), lambda a, v: a.index_fill(0, ti, v),
                [x, np.array(1.5)])
    grads_alike(lambda a, b: a.index_copy(0, strided.tensor(1), b),
                lambda a, b: a.index_copy(0, torch.tensor(1), b), [x[0], np.array(2.0)])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_gradients(reduce, include_self):
    x = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 4.0], [2.0, 2.0, 2.0], [5.0, 1.0, 3.0]])
    src = np.array([[2.0, 0.0, 2.0], [2.0, 3.0, 0.0], [1.0, 2.0, 5.0], [0.0, 0.0, 1.0],
                    [2.0, 7.0, 0.5]])
    for iv in ([0, 0, 2, 0, 3], [3, 1, 1, 1, 0]):
        i, ti = strided.tensor(iv), torch.tensor(iv)
        grads_alike(lambda a, b: a.index_reduce(0, i, b, reduce, include_self=include_self),
                    lambda a, b: a.index_reduce(0, ti, b, reduce, include_self=include_self),
                    [x, src])
        grads_alike(lambda a, b: (a * 1).index_reduce_(0, i, b, reduce, include_self=include_self),
                    lambda a, b: (a * 1).index_reduce_(0, ti, b, reduce, include_self=include_self),
                    [x, src])
    # along the last dim, with random values (no ties)
    rng = np.random.default_rng(5)
    i, ti = strided.tensor([1, 0, 1]), torch.tensor([1, 0, 1])
    grads_alike(lambda a, b: a.index_reduce(-1, i, b, reduce, include_self=include_self),
                lambda a, b: a.index_reduce(-1, ti, b, reduce, include_self=include_self),
                [rng.standard_normal((3, 2)), rng.standard_normal((3, 3))])


# ---- use_deterministic_algorithms -------------------------------------------------------------

def test_deterministic_flags():
    assert not strided.are_deterministic_algorithms_enabled()
    try:
        strided.use_deterministic_algorithms(True, warn_only=True)
        assert strided.are_deterministic_algorithms_enabled()
        assert strided.is_deterministic_algorithms_warn_only_enabled()
        strided.use_deterministic_algorithms(True)
        assert not strided.is_deterministic_algorithms_warn_only_enabled()
    finally:
        strided.use_deterministic_algorithms(False)
    assert not strided.are_deterministic_algorithms_enabled()
    messages_alike(lambda: strided.use_deterministic_algorithms("x"),
                   lambda: torch.use_deterministic_algorithms("x"))
    messages_alike(lambda: strided.use_deterministic_algorithms(True, warn_only=1),
                   lambda: torch.use_deterministic_algorithms(True, warn_only=1))


# ---- Tensor.uniform_, normal_, random_ ----------------------------------------------------------

@pytest.mark.parametrize("layout", WRITABLE)
@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_random_fills(layout, dtype):
    x, _ = pair((3, 4), dtype, layout, 1)
    strided.manual_seed(5)
    a = x.uniform_(-2, 3).clone()
    assert ((a >= -2) & (a < 3)).all() and a.dtype.name == dtype
    strided.manual_seed(5)
    assert strided.equal(x.uniform_(-2, 3), a)
    g = strided.Generator(3)
    b = x.normal_(1.0, 0.5, generator=g).clone()
    assert strided.equal(x.normal_(1.0, 0.5, generator=strided.Generator(3)), b)
    assert strided.equal(x.random_(2, 6), x) and ((x >= 2) & (x < 6)).all()
    assert ((x.random_(4) >= 0) & (x < 4)).all() and strided.equal(x, x.round())


def test_random_fill_errors_and_ranges():
    for f in (lambda m: m.zeros(5).uniform_(2, 1), lambda m: m.zeros(5, dtype=m.int64).uniform_(),
              lambda m: m.zeros(5, dtype=m.int64).normal_(),
              lambda m: m.zeros(5).normal_(0, -1), lambda m: m.zeros(5, dtype=m.int64).random_(3, 3)):
        messages_alike(lambda: f(strided), lambda: f(torch))
    with pytest.raises(RuntimeError):
        strided.zeros(5, dtype=strided.uint8).random_(0, 300)
    for dtype, hi in ((strided.bool, 1), (strided.uint8, 255), (strided.int32, 2**31 - 1)):
        v = strided.zeros(2000, dtype=dtype).random_()
        assert int(v.long().min()) >= 0 and int(v.long().max()) <= hi
    leaf = strided.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        leaf.uniform_()


def test_out_arguments():
    i, ti = strided.tensor([2, 0]), torch.tensor([2, 0])
    src, tsrc = strided.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out, tout = strided.empty(3, 2), torch.empty(3, 2)
    assert strided.index_copy(strided.zeros(3, 2), 0, i, src, out=out) is out
    torch.index_copy(torch.zeros(3, 2), 0, ti, tsrc, out=tout)
    same(out, tout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.index_reduce(torch.ones(3, 2), 0, ti, tsrc, "amin", include_self=False, out=tout)
    assert strided.index_reduce(strided.ones(3, 2), 0, i, src, "amin", include_self=False,
                                out=out) is out
    same(out, tout)


# ---- the uint8-mask warning of index_put_, unravel_index's argument errors ----------------------

def test_uint8_mask_warns_in_index_put():
    mask = strided.zeros(10, dtype=strided.uint8)
    y = strided.ones(10, 10)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y.index_put_((mask,), y[mask], accumulate=True)
    assert [str(x.message) for x in w] == [
        "indexing with dtype strided.uint8 is now deprecated, please use a dtype strided.bool "
        "instead."] * 2
    assert all(x.category is UserWarning for x in w)


def test_unravel_index_errors():
    for shape in (torch.tensor([1, 2, 3]), (1, 2, 2.0), 2.0, (2, -3), -3, (np.int64(2), 3)):
        s_shape = strided.tensor([1, 2, 3]) if isinstance(shape, torch.Tensor) else shape
        messages_alike(lambda: strided.unravel_index(strided.tensor([1]), s_shape),
                       lambda: torch.unravel_index(torch.tensor([1]), shape))
    for shape in ((True, 2), [2, 3], strided.Size([2, 3])):
        got = strided.unravel_index(strided.tensor([4]), shape)
        want = torch.unravel_index(torch.tensor([4]), tuple(shape))
        for g, t in zip(got, want):
            same(g, t)
