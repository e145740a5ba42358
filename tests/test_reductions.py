"""Reductions and scans against NumPy over every layout of helpers.LAYOUTS, every dtype,
dim = None / int / negative int / tuple, keepdim True and False, 0-d and empty tensors.

sum, mean, prod, max/min (values and indices), amax/amin, argmax/argmin, var/std, norm,
any/all, logsumexp, cumsum/cumprod, softmax/log_softmax.  Integer sums and products give
int64 as in PyTorch; float results are compared with the float64 truth (strided accumulates
float32 in double, so it is closer to the truth than NumPy's float32 pairwise sum).
Also: NaN propagation and first-index ties, numerically stable softmax/logsumexp for
+-1e4 and -inf, float32 accuracy on 10M elements, and thread counts 1 vs 2.
"""
import itertools
import math

import numpy as np
import pytest

import strided
from helpers import STRIDED_DTYPES, case_id, case_params, make_case
from op_helpers import operand

FLOATS = ("float32", "float64")
INTS = ("uint8", "int32", "int64")

# every shape x layout of helpers (0-d, empty, size-1 dims, up to 5 dims), dtypes rotated
CASES = case_params()


def cases(params=CASES):
    return pytest.mark.parametrize("shape,layout,dtype", params,
                                   ids=[case_id(p) for p in params])


def with_dtypes(dtypes, params=CASES):
    """The same shapes and layouts with the dtype rotated through `dtypes` only."""
    return [(shape, layout, dtypes[k % len(dtypes)]) for k, (shape, layout, _) in
            enumerate(params)]


def dim_specs(ndim):
    """dim arguments to try: None, every int (and its negative), pairs as tuples, all dims
    as a tuple and (), in a fixed order."""
    specs = [None]
    if ndim == 0:
        return specs + [0, -1, (0,), ()]
    specs += list(range(ndim)) + [-1, -ndim]
    specs += [tuple(p) for p in itertools.combinations(range(ndim), 2)][:4]
    specs += [tuple(range(ndim)), (-1, 0) if ndim > 1 else (-1,), ()]
    return specs


def np_axis(a, dim):
    """NumPy's axis for a PyTorch dim argument (() and None: every dim)."""
    if dim is None or dim == () or a.ndim == 0:
        return None
    if isinstance(dim, tuple):
        return tuple(d % a.ndim for d in dim)
    return dim % a.ndim


def reduced_count(a, dim):
    ax = np_axis(a, dim)
    if ax is None:
        return a.size
    axes = ax if isinstance(ax, tuple) else (ax,)
    return math.prod(a.shape[d] for d in axes)


def assert_result(t, expected, dtype, *, rtol=0.0, atol=0.0):
    """t: a strided tensor with expected's shape, dtype `dtype`, expected's values (exact or
    within tolerance; NaNs where expected has NaNs)."""
    expected = np.asarray(expected)
    assert isinstance(t, strided.Tensor), type(t)
    assert t.shape == expected.shape, (t.shape, expected.shape)
    assert t.dtype is STRIDED_DTYPES[dtype], (t.dtype, dtype)
    got = t.numpy()
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(got, expected.astype(dtype))
    else:
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)


def tol(dtype):
    return (2e-6, 1e-6) if dtype == "float32" else (1e-12, 1e-12)


def f64(a):
    return a.astype(np.float64)


# --------------------------------------------------------------------------------------
# sum, prod, mean
# --------------------------------------------------------------------------------------

@cases()
def test_sum(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    out_dtype = dtype if dtype in FLOATS else "int64"
    for dim in dim_specs(len(shape)):
        for keepdim in (False, True):
            ax = np_axis(c.a, dim)
            if dtype in FLOATS:
                want = np.sum(f64(c.a), axis=ax, keepdims=keepdim)
                got = c.t.sum(dim, keepdim) if dim is not None else c.t.sum(keepdim=keepdim)
                assert_result(got, want, out_dtype, rtol=tol(dtype)[0], atol=tol(dtype)[1])
            else:
                want = np.sum(c.a.astype(np.int64), axis=ax, keepdims=keepdim)
                got = c.t.sum(dim, keepdim) if dim is not None else c.t.sum(keepdim=keepdim)
                assert_result(got, want, out_dtype)
    assert_result(strided.sum(c.t), np.sum(c.a.astype(out_dtype) if dtype in FLOATS
                                           else c.a.astype(np.int64)), out_dtype,
                  rtol=1e-5 if dtype in FLOATS else 0, atol=1e-5 if dtype in FLOATS else 0)


@cases(with_dtypes(("float64", "int32", "bool", "float32", "uint8", "int64")))
def test_sum_dtype_argument(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    assert_result(c.t.sum(dtype=strided.float64), np.sum(f64(c.a)), "float64", rtol=1e-12,
                  atol=1e-12)
    if c.a.ndim:
        assert_result(strided.sum(c.t, 0, dtype=strided.float64), np.sum(f64(c.a), axis=0),
                      "float64", rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", ["sum", "prod"])
@pytest.mark.parametrize("dt", ["int32", "uint8"])
def test_sum_prod_integer_dtype_argument(op, dt):
    t = strided.tensor(np.array([100, 100, 7], np.int32))
    r = getattr(t, op)(dtype=STRIDED_DTYPES[dt])
    assert r.dtype is STRIDED_DTYPES[dt]
    want = getattr(np, op)(np.array([100, 100, 7]).astype(dt), dtype=dt)
    assert r.item() == want


@cases()
def test_prod(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    if dtype in FLOATS:                                   # keep products finite
        c.t, c.a = operand(np.clip(c.a, -1.5, 1.5).astype(dtype), layout)
    a = c.a
    out_dtype = dtype if dtype in FLOATS else "int64"
    specs = [d for d in dim_specs(len(shape)) if not isinstance(d, tuple)]
    for dim in specs:
        for keepdim in (False, True):
            ax = np_axis(a, dim)
            got = c.t.prod(dim, keepdim) if dim is not None else c.t.prod()
            with np.errstate(all="ignore"):
                if dtype in FLOATS:
                    want = np.prod(f64(a), axis=ax, keepdims=keepdim and dim is not None)
                    assert_result(got, want, out_dtype, rtol=tol(dtype)[0], atol=1e-30)
                else:
                    want = np.prod(a.astype(np.int64), axis=ax,
                                   keepdims=keepdim and dim is not None)
                    assert_result(got, want, out_dtype)


def test_prod_rejects_tuple_dims():
    with pytest.raises(TypeError):
        strided.ones(2, 3).prod((0, 1))


@cases(with_dtypes(FLOATS))
def test_mean(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    for dim in dim_specs(len(shape)):
        for keepdim in (False, True):
            with np.errstate(all="ignore"):
                want = np.mean(f64(c.a), axis=np_axis(c.a, dim), keepdims=keepdim)
            got = c.t.mean(dim, keepdim) if dim is not None else c.t.mean(keepdim=keepdim)
            assert_result(got, want, dtype, rtol=tol(dtype)[0], atol=tol(dtype)[1])
    if c.a.ndim:
        assert_result(strided.mean(c.t, -1, True), np.mean(f64(c.a), -1, keepdims=True)
                      if c.a.shape[-1] else np.full(c.a.shape[:-1] + (1,), np.nan), dtype,
                      rtol=tol(dtype)[0], atol=tol(dtype)[1])


@pytest.mark.parametrize("dtype", ("bool",) + INTS)
def test_mean_of_integers_raises(dtype):
    t = strided.tensor(np.array([1, 0, 1], dtype=dtype))
    with pytest.raises(RuntimeError, match="mean"):
        t.mean()
    with pytest.raises(RuntimeError, match="mean"):
        t.mean(0)
    # with a floating dtype argument it works
    assert_result(t.mean(dtype=strided.float64), np.mean(np.array([1, 0, 1.0])), "float64",
                  rtol=1e-15)


def test_empty_sum_prod_mean():
    e = strided.zeros(0, 3)
    assert_result(e.sum(), np.array(0.0), "float32")
    assert_result(e.sum(0), np.zeros(3), "float32")
    assert_result(e.sum(1), np.zeros(0), "float32")
    assert_result(e.prod(), np.array(1.0), "float32")
    assert_result(e.prod(0), np.ones(3), "float32")
    assert_result(strided.zeros(0, dtype=strided.int32).sum(), np.array(0), "int64")
    assert np.isnan(e.mean().item())
    assert_result(e.mean(0), np.full(3, np.nan), "float32", rtol=1e-7)
    assert_result(e.sum((0, 1), keepdim=True), np.zeros((1, 1)), "float32")


# --------------------------------------------------------------------------------------
# max/min, amax/amin, argmax/argmin
# --------------------------------------------------------------------------------------

def np_argext(a, axis, is_max, keepdims=False):
    """First index of the max (min); NaN counts as the extreme (PyTorch and NumPy agree)."""
    f = np.argmax if is_max else np.argmin
    r = f(a, axis=axis)
    if keepdims:
        r = np.expand_dims(r, axis)
    return r.astype(np.int64)


@cases()
def test_max_min_with_dim(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    a = c.a
    nd = len(shape)
    dims = [0, -1] + list(range(nd)) if nd else [0, -1]
    for dim in dims:
        for keepdim in (False, True):
            for is_max in (True, False):
                fn = c.t.max if is_max else c.t.min
                ax = None if nd == 0 else dim % nd
                if a.size == 0 and (nd == 0 or a.shape[ax] == 0):
                    with pytest.raises((IndexError, RuntimeError)):
                        fn(dim, keepdim)
                    continue
                r = fn(dim, keepdim)
                assert isinstance(r, tuple) and len(r) == 2
                values, indices = r
                assert r.values is values and r.indices is indices
                if nd == 0:
                    want_v, want_i = a, np.array(0)
                elif a.size == 0:
                    oshape = list(a.shape)
                    oshape[ax] = 1
                    if not keepdim:
                        del oshape[ax]
                    want_v = np.zeros(oshape, a.dtype)
                    want_i = np.zeros(oshape, np.int64)
                else:
                    ext = np.max if is_max else np.min
                    want_v = ext(a, axis=ax, keepdims=keepdim)
                    want_i = np_argext(a, ax, is_max, keepdim)
                assert_result(values, want_v, dtype)
                assert_result(indices, want_i, "int64")
                # the same through the strided.max/min functions
                f = strided.max if is_max else strided.min
                assert_result(f(c.t, dim, keepdim)[1], want_i, "int64")


@cases()
def test_max_min_without_dim(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    for name, ref in (("max", np.max), ("min", np.min), ("amax", np.max), ("amin", np.min)):
        if c.a.size == 0:
            with pytest.raises((RuntimeError, IndexError)):
                getattr(c.t, name)()
            continue
        r = getattr(c.t, name)()
        assert_result(r, ref(c.a), dtype)
        assert r.shape == ()
        assert_result(getattr(strided, name)(c.t), ref(c.a), dtype)


@cases()
def test_amax_amin_dims(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    a = c.a
    for dim in dim_specs(len(shape)):
        if dim is None:
            continue
        for keepdim in (False, True):
            for name, ref in (("amax", np.max), ("amin", np.min)):
                ax = np_axis(a, dim)
                axes = range(a.ndim) if ax is None else (ax if isinstance(ax, tuple) else (ax,))
                if any(a.shape[d] == 0 for d in axes):
                    with pytest.raises((IndexError, RuntimeError)):
                        getattr(c.t, name)(dim, keepdim)
                    continue
                want = ref(a, axis=ax, keepdims=keepdim) if a.ndim else a
                if a.ndim == 0 and keepdim:
                    want = a
                assert_result(getattr(c.t, name)(dim, keepdim), want, dtype)


@cases(with_dtypes(("float32", "int32", "uint8", "float64", "int64")))
def test_argmax_argmin(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    a = c.a
    nd = len(shape)
    for is_max in (True, False):
        name = "argmax" if is_max else "argmin"
        fn = getattr(c.t, name)
        # dim None: index into the flattened tensor
        if a.size == 0:
            with pytest.raises((RuntimeError, IndexError)):
                fn()
        else:
            assert_result(fn(), np_argext(a.reshape(-1), 0, is_max), "int64")
            want = np_argext(a.reshape(-1), 0, is_max).reshape([1] * nd)
            assert_result(fn(None, True), want, "int64")
            assert_result(getattr(strided, name)(c.t), np_argext(a.reshape(-1), 0, is_max),
                          "int64")
        for dim in (list(range(nd)) + [-1]) if nd else [0, -1]:
            for keepdim in (False, True):
                if nd == 0:
                    assert_result(fn(dim, keepdim), np.array(0), "int64")
                    continue
                ax = dim % nd
                if a.shape[ax] == 0:
                    with pytest.raises((IndexError, RuntimeError)):
                        fn(dim, keepdim)
                    continue
                if a.size == 0:
                    r = fn(dim, keepdim)
                    assert r.numel() == 0 and r.dtype is strided.int64
                    continue
                assert_result(fn(dim, keepdim), np_argext(a, ax, is_max, keepdim), "int64")


def test_nan_propagation_and_first_nan_index():
    a = np.array([[1.0, np.nan, 3.0, np.nan, 9.0],
                  [4.0, 2.0, 8.0, 8.0, 1.0],
                  [np.nan, 5.0, -1.0, 0.0, np.nan]])
    for dtype in FLOATS:
        x = a.astype(dtype)
        for layout_t in (strided.tensor(x), strided.tensor(np.ascontiguousarray(x.T)).T,
                         strided.tensor(np.ascontiguousarray(x[:, ::-1]))[:, ::-1]):
            t = layout_t
            assert np.isnan(t.max().item()) and np.isnan(t.min().item())
            assert np.isnan(t.amax().item()) and np.isnan(t.amin().item())
            assert t.argmax().item() == 1 and t.argmin().item() == 1
            v, i = t.max(1)
            np.testing.assert_array_equal(v.numpy(), np.max(x, 1))
            np.testing.assert_array_equal(i.numpy(), [1, 2, 0])
            v, i = t.min(1)
            np.testing.assert_array_equal(v.numpy(), np.min(x, 1))
            np.testing.assert_array_equal(i.numpy(), [1, 4, 0])
            v, i = t.max(0)
            np.testing.assert_array_equal(v.numpy(), np.max(x, 0))
            np.testing.assert_array_equal(i.numpy(), np.argmax(x, 0))
            np.testing.assert_array_equal(t.amax(0).numpy(), np.max(x, 0))
            np.testing.assert_array_equal(t.amin((0, 1)).numpy(), np.min(x))
            np.testing.assert_array_equal(t.argmin(0).numpy(), np.argmin(x, 0))
            s = t.sum(1).numpy()
            assert np.isnan(s[0]) and np.isnan(s[2]) and s[1] == 23.0


def test_ties_give_first_index():
    a = np.array([[5, 1, 5, 5], [0, 0, -3, -3], [7, 7, 7, 7]], np.int32)
    for t in (strided.tensor(a), strided.tensor(np.ascontiguousarray(a.T)).T):
        np.testing.assert_array_equal(t.argmax(1).numpy(), [0, 0, 0])
        np.testing.assert_array_equal(t.argmin(1).numpy(), [1, 2, 0])
        np.testing.assert_array_equal(t.max(1).indices.numpy(), [0, 0, 0])
        np.testing.assert_array_equal(t.min(1).indices.numpy(), [1, 2, 0])
        assert t.argmax().item() == 8
        assert t.argmin().item() == 6
        np.testing.assert_array_equal(t.argmax(0).numpy(), np.argmax(a, 0))
    f = np.array([-0.0, 0.0, 0.0, -0.0])
    assert strided.tensor(f).argmax().item() == 0
    b = np.array([False, True, True, False])
    assert strided.tensor(b).max(0).indices.item() == 1
    assert strided.tensor(b).min(0).indices.item() == 0


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "negative", "expanded"])
def test_reductions_over_many_dims(layout):
    """A 10-d tensor: reductions over single dims, tuples and everything."""
    shape = (2, 1, 3, 1, 2, 2, 1, 3, 2, 2)
    c = make_case(shape, layout, "float64")
    a = c.a
    for dim in (None, 0, 4, -1, (0, 2, 9), (1, 3, 6), tuple(range(10)), (-2, 5)):
        ax = np_axis(a, dim)
        assert_result(c.t.sum(dim) if dim is not None else c.t.sum(), np.sum(a, axis=ax),
                      "float64", rtol=1e-12, atol=1e-12)
        assert_result(c.t.amax(dim if dim is not None else ()), np.max(a, axis=ax), "float64")
        assert_result(c.t.mean(dim, True) if dim is not None else c.t.mean(),
                      np.mean(a, axis=ax, keepdims=dim is not None), "float64", rtol=1e-12,
                      atol=1e-12)
    for d in (0, 5, -1):
        assert_result(c.t.argmin(d), np.argmin(a, d), "int64")
        assert_result(c.t.cumsum(d), np.cumsum(a, d), "float64", rtol=1e-12, atol=1e-12)
        assert_result(c.t.softmax(d), np_softmax(a, d), "float64", rtol=1e-12, atol=1e-15)


def test_max_with_tensor_argument_is_maximum():
    x = strided.tensor(np.array([1.0, 5.0, np.nan]))
    y = strided.tensor(np.array([3.0, 2.0, 0.0]))
    np.testing.assert_array_equal(x.max(y).numpy(), np.maximum(x.numpy(), y.numpy()))
    np.testing.assert_array_equal(x.min(y).numpy(), np.minimum(x.numpy(), y.numpy()))


def test_empty_max_raises_and_dim_errors():
    e = strided.zeros(0, 3)
    for call in (lambda: e.max(), lambda: e.min(), lambda: e.amax(), lambda: e.argmax(),
                 lambda: e.max(0), lambda: e.amax(0), lambda: e.argmin(0)):
        with pytest.raises((RuntimeError, IndexError)):
            call()
    assert e.amax(1).shape == (0,)
    assert e.max(1).values.shape == (0,)
    t = strided.ones(2, 3)
    for call in (lambda: t.sum(2), lambda: t.sum(-3), lambda: t.max(5), lambda: t.amax((0, 0)),
                 lambda: t.sum((1, -1)), lambda: t.argmax(2), lambda: t.cumsum(2),
                 lambda: t.softmax(2), lambda: t.logsumexp(3), lambda: t.var(4)):
        with pytest.raises((IndexError, RuntimeError)):
            call()


# --------------------------------------------------------------------------------------
# var, std, norm
# --------------------------------------------------------------------------------------

@cases(with_dtypes(FLOATS))
def test_var_std(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    a = f64(c.a)
    rtol, atol = (1e-5, 1e-5) if dtype == "float32" else (1e-11, 1e-11)
    for dim in dim_specs(len(shape)):
        for keepdim in (False, True):
            for corr_kw, ddof in (({}, 1), ({"unbiased": True}, 1), ({"unbiased": False}, 0),
                                  ({"correction": 0}, 0), ({"correction": 1}, 1),
                                  ({"correction": 2}, 2)):
                n = reduced_count(c.a, dim)
                with np.errstate(all="ignore"):
                    ax = np_axis(c.a, dim)
                    m = np.mean(a, axis=ax, keepdims=True)
                    ss = np.sum((a - m) ** 2, axis=ax, keepdims=keepdim)
                    want = ss / max(n - ddof, 0)
                for name, post in (("var", lambda v: v), ("std", np.sqrt)):
                    fn = getattr(c.t, name)
                    got = fn(dim, keepdim=keepdim, **corr_kw)
                    with np.errstate(all="ignore"):
                        assert_result(got, post(want), dtype, rtol=rtol, atol=atol)
    if len(shape):
        np.testing.assert_allclose(strided.var(c.t, 0).numpy(),
                                   np.var(a, 0, ddof=1) if shape[0] > 1 else
                                   np.full(np.var(a, 0).shape, np.nan), rtol=rtol, atol=atol)


def test_var_positional_unbiased_and_errors():
    a = np.array([1.0, 2.0, 4.0, 7.0])
    t = strided.tensor(a)
    assert math.isclose(t.var(False).item(), np.var(a), rel_tol=1e-6)
    assert math.isclose(t.std(True).item(), np.std(a, ddof=1), rel_tol=1e-6)
    assert math.isclose(strided.std(t, correction=0).item(), np.std(a), rel_tol=1e-6)
    with pytest.raises(RuntimeError):
        t.var(0, unbiased=True, correction=1)
    with pytest.raises(RuntimeError, match="floating point"):
        strided.tensor([1, 2]).var()


def test_var_numerically_stable_offset():
    """A large common offset must not destroy the variance (two-pass, not E[x^2]-E[x]^2)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(10_000) + 1e4
    got = strided.tensor(a).var().item()
    assert math.isclose(got, np.var(a, ddof=1), rel_tol=1e-9)
    a32 = a.astype(np.float32)
    got32 = strided.tensor(a32).var().item()
    assert math.isclose(got32, np.var(a32.astype(np.float64), ddof=1), rel_tol=1e-3)


NORMS = (1, 2, math.inf, -math.inf, 0, 3, "fro", 0.5, -1)


def np_norm(a, p, axis, keepdims):
    x = np.abs(a.astype(np.float64))
    with np.errstate(all="ignore"):
        if p in ("fro", 2):
            return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        if p == math.inf:
            return np.max(x, axis=axis, keepdims=keepdims)
        if p == -math.inf:
            return np.min(x, axis=axis, keepdims=keepdims)
        if p == 0:
            return np.sum(x != 0, axis=axis, keepdims=keepdims).astype(np.float64)
        return np.sum(x ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


@cases(with_dtypes(FLOATS))
def test_norm(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-12)
    for p in NORMS:
        for dim in dim_specs(len(shape))[:6]:
            for keepdim in (False, True):
                ax = np_axis(c.a, dim)
                axes = range(c.a.ndim) if ax is None else (ax if isinstance(ax, tuple)
                                                           else (ax,))
                empty_red = any(c.a.shape[d] == 0 for d in axes)
                if empty_red and p in (math.inf, -math.inf):
                    continue               # see test_norm_inf_of_empty_raises
                if empty_red and isinstance(p, (int, float)) and p < 0:
                    continue
                got = c.t.norm(p, dim, keepdim)
                want = np_norm(c.a, p, ax, keepdim) if c.a.ndim else np_norm(c.a, p, None,
                                                                             False)
                assert_result(got, want, dtype, rtol=rtol, atol=atol)
    assert_result(strided.norm(c.t), np_norm(c.a, 2, None, False), dtype, rtol=rtol, atol=atol)


def test_norm_inf_of_empty_raises():
    with pytest.raises(RuntimeError):
        strided.zeros(0, 3).norm(math.inf)


def test_norm_of_integers_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        strided.tensor([3, 4]).norm()
    assert_result(strided.tensor([3, 4]).norm(dtype=strided.float64), np.array(5.0), "float64",
                  rtol=1e-15)


# --------------------------------------------------------------------------------------
# any / all
# --------------------------------------------------------------------------------------

@cases()
def test_any_all(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    if dtype in FLOATS:                                   # plenty of zeros
        c.t, c.a = operand(np.where(np.abs(c.a) < 2, 0, c.a).astype(dtype), layout)
    a = c.a
    if a.size == 0:
        return                                   # see test_any_all_empty
    out = "uint8" if dtype == "uint8" else "bool"
    for dim in dim_specs(len(shape)):
        for keepdim in (False, True):
            # PyTorch's any/all over dim=() reduce over no dim (sum and mean: over all of them)
            ax = np_axis(a, dim) if dim != () or a.ndim == 0 else ()
            if isinstance(dim, tuple) and len(dim) > 1:
                continue
            for name, ref in (("any", np.any), ("all", np.all)):
                got = getattr(c.t, name)(dim, keepdim) if dim is not None else \
                    getattr(c.t, name)()
                want = ref(a, axis=ax, keepdims=keepdim and dim is not None)
                # (uint8 inputs give uint8 in PyTorch: test_promotion_torch; values here)
                np.testing.assert_array_equal(got.numpy().astype(bool), want)
                assert got.shape == want.shape
    nan = strided.tensor(np.array([0.0, np.nan]))
    assert nan.any().item() and not nan.all().item()


@pytest.mark.parametrize("call,want", [
    (lambda: strided.zeros(0).any(), False),
    (lambda: strided.zeros(0).all(), True),
    (lambda: strided.zeros(0, 3).any(0), [False] * 3),
    (lambda: strided.zeros(0, 3).all(0), [True] * 3),
    (lambda: strided.zeros(3, 0, dtype=strided.bool).any(1), [False] * 3),
], ids=["any", "all", "any0", "all0", "any1"])
def test_any_all_empty(call, want):
    np.testing.assert_array_equal(call().numpy(), np.array(want))


# --------------------------------------------------------------------------------------
# logsumexp, softmax, log_softmax
# --------------------------------------------------------------------------------------

def np_logsumexp(a, axis, keepdims=False):
    a = f64(a)
    if a.size == 0:
        with np.errstate(all="ignore"):
            return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(all="ignore"):
        r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        r = np.squeeze(r, axis=axis) if axis is not None else r.reshape(())
    return r


def np_softmax(a, axis):
    a = f64(a)
    m = np.max(a, axis=axis, keepdims=True) if a.size else a
    e = np.exp(a - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(a, axis):
    a = f64(a)
    if a.size == 0:
        return a
    m = np.max(a, axis=axis, keepdims=True)
    s = a - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


@cases(with_dtypes(FLOATS))
def test_logsumexp(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    rtol, atol = (2e-6, 2e-6) if dtype == "float32" else (1e-12, 1e-12)
    nd = len(shape)
    dims = (list(range(nd)) + [-1] + ([(0, nd - 1)] if nd > 1 else []) + [tuple(range(nd))]
            if nd else [0, -1])
    for dim in dims:
        for keepdim in (False, True):
            ax = np_axis(c.a, dim)
            want = np_logsumexp(c.a, ax, keepdim and nd > 0) if nd else f64(c.a)
            assert_result(c.t.logsumexp(dim, keepdim), want, dtype, rtol=rtol, atol=atol)
            assert_result(strided.logsumexp(c.t, dim, keepdim), want, dtype, rtol=rtol,
                          atol=atol)


def test_logsumexp_int_input_gives_float32():
    t = strided.tensor(np.array([[1, 2], [3, 4]], np.int32))
    assert_result(t.logsumexp(1), np_logsumexp(np.array([[1, 2], [3, 4.0]]), 1), "float32",
                  rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp_huge_and_infinite_rows(dtype):
    a = np.array([[1e4, 1e4, 1e4 - 1], [-1e4, -1e4, -1e4], [-np.inf, -np.inf, -np.inf],
                  [-np.inf, 0.0, 1.0], [np.inf, 1.0, 2.0], [1e4, -1e4, 0.0]]).astype(dtype)
    want = np.array([1e4 + np.log(2 + np.exp(-1.0)), -1e4 + np.log(3.0), -np.inf,
                     np.log(np.exp(0.0) + np.exp(1.0)), np.inf, 1e4])
    rtol = 2e-6 if dtype == "float32" else 1e-14
    for t in (strided.tensor(a), strided.tensor(np.ascontiguousarray(a.T)).T):
        np.testing.assert_allclose(t.logsumexp(1).numpy(), want, rtol=rtol)
        np.testing.assert_allclose(t.logsumexp(-1, keepdim=True).numpy(), want[:, None],
                                   rtol=rtol)
        np.testing.assert_allclose(t.T.logsumexp(0).numpy(), want, rtol=rtol)
    # over several dims of huge inputs
    big = strided.tensor(a[:2])
    np.testing.assert_allclose(big.logsumexp((0, 1)).item(), 1e4 + np.log(2 + np.exp(-1.0)),
                               rtol=rtol)


@pytest.mark.parametrize("vals,dim,want", [
    ([[-np.inf, -np.inf]], (0, 1), -np.inf),
    ([[np.inf, 1.0]], (0, 1), np.inf),
    (-np.inf, 0, -np.inf),
    ([[-np.inf], [-np.inf]], (0, 1), -np.inf),
], ids=["all-ninf", "pinf", "0d-ninf", "col-ninf"])
def test_logsumexp_infinities_over_several_dims(vals, dim, want):
    r = strided.tensor(np.array(vals)).logsumexp(dim).item()
    assert r == want


@cases(with_dtypes(FLOATS))
def test_softmax_log_softmax(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    rtol, atol = (2e-6, 1e-7) if dtype == "float32" else (1e-12, 1e-15)
    nd = len(shape)
    for dim in (list(range(nd)) + [-1]) if nd else [0, -1]:
        ax = dim % nd if nd else None
        want = np_softmax(c.a, ax) if nd else np.array(1.0)
        assert_result(c.t.softmax(dim), want, dtype, rtol=rtol, atol=atol)
        assert_result(strided.softmax(c.t, dim), want, dtype, rtol=rtol, atol=atol)
        want_l = np_log_softmax(c.a, ax) if nd else np.array(0.0)
        # log_softmax is x - shift: absolute error scales with |x|
        la = atol + 4 * np.finfo(dtype).eps * (np.abs(f64(c.a)).max(initial=1))
        assert_result(c.t.log_softmax(dim), want_l, dtype, rtol=rtol, atol=la)
        assert_result(strided.log_softmax(c.t, dim), want_l, dtype, rtol=rtol, atol=la)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 5), (70, 80), (4, 30, 50)], ids=str)
def test_softmax_every_dim_every_layout(dtype, shape):
    """Big enough (>= 4096 elements) for the whole-tensor path on non-contiguous dims, and
    stable for +-1e4 inputs."""
    rng = np.random.default_rng(2)
    base = rng.standard_normal(shape) * 3
    base.reshape(-1)[::7] += 1e4
    base.reshape(-1)[3::11] -= 1e4
    import strided.nn.functional as F
    for layout in ("contiguous", "transposed", "stepped", "negative", "permuted"):
        t, a = operand(base.astype(dtype), layout)
        for dim in range(-len(shape), len(shape)):
            want = np_softmax(a, dim)
            got = t.softmax(dim)
            assert got.dtype is STRIDED_DTYPES[dtype]
            assert not np.isnan(got.numpy()).any()
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5 if dtype == "float32"
                                       else 1e-12, atol=1e-7 if dtype == "float32" else 1e-15)
            np.testing.assert_allclose(F.softmax(t, dim).numpy(), got.numpy(), rtol=0, atol=0)
            lw = np_log_softmax(a, dim)
            gl = t.log_softmax(dim).numpy()
            assert np.isfinite(gl).all()
            np.testing.assert_allclose(gl, lw, rtol=1e-5 if dtype == "float32" else 1e-12,
                                       atol=2e-3 if dtype == "float32" else 1e-9)
            np.testing.assert_allclose(F.log_softmax(t, dim).numpy(), gl)
            np.testing.assert_allclose(got.numpy().sum(axis=dim), 1.0,
                                       rtol=1e-5 if dtype == "float32" else 1e-12)


def test_softmax_of_ints_raises_and_dtype_argument():
    t = strided.tensor([[1, 2], [3, 4]])
    with pytest.raises(RuntimeError):
        t.softmax(1)
    got = t.softmax(1, dtype=strided.float64)
    assert_result(got, np_softmax(np.array([[1, 2], [3, 4.0]]), 1), "float64", rtol=1e-15)
    got = strided.tensor(np.array([[1.0, 2.0]], np.float32)).log_softmax(1, strided.float64)
    assert got.dtype is strided.float64


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_minus_inf_rows(dtype):
    a = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, 2.0],
                  [-np.inf, -np.inf, -np.inf]]).astype(dtype)
    want = np.array([[0.0, 1 / (1 + np.e), np.e / (1 + np.e)], [0.0, 0.0, 1.0],
                     [np.nan, np.nan, np.nan]])
    for t in (strided.tensor(a), strided.tensor(np.ascontiguousarray(a.T)).T):
        np.testing.assert_allclose(t.softmax(1).numpy(), want, rtol=1e-6)
        lw = np.log(want)
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(t.log_softmax(1).numpy(), lw, rtol=1e-6)


@pytest.mark.parametrize("dtype,offset", [("float32", 1e4), ("float64", 1e12)])
def test_log_softmax_precision_near_the_max(dtype, offset):
    a = np.array([[offset, offset - 1, -offset], [3.0, 1.0, 0.0]]).astype(dtype)
    want = np_log_softmax(a, 1)
    got = strided.tensor(a).log_softmax(1).numpy()
    # entries near the max are O(1): a few ulp of the result, not of the max
    np.testing.assert_allclose(got, want, rtol=8 * np.finfo(dtype).eps,
                               atol=8 * np.finfo(dtype).eps)


# --------------------------------------------------------------------------------------
# cumsum, cumprod
# --------------------------------------------------------------------------------------

@cases()
def test_cumsum_cumprod(shape, layout, dtype):
    c = make_case(shape, layout, dtype)
    nd = len(shape)
    a = c.a
    out_dtype = dtype if dtype in FLOATS else "int64"
    for dim in (list(range(nd)) + [-1]) if nd else [0, -1]:
        ax = dim % nd if nd else None
        for name, ref in (("cumsum", np.cumsum), ("cumprod", np.cumprod)):
            got = getattr(c.t, name)(dim)
            if dtype in FLOATS:
                with np.errstate(all="ignore"):
                    want = ref(f64(a), axis=ax).reshape(a.shape)
                assert_result(got, want, out_dtype, rtol=tol(dtype)[0], atol=1e-30)
            else:
                with np.errstate(all="ignore"):
                    want = ref(a.astype(np.int64), axis=ax).reshape(a.shape)
                assert_result(got, want, out_dtype)
            assert_result(getattr(strided, name)(c.t, dim), want, out_dtype,
                          rtol=tol(dtype)[0] if dtype in FLOATS else 0,
                          atol=1e-30 if dtype in FLOATS else 0)
        got = c.t.cumsum(dim, dtype=strided.float64)
        assert_result(got, np.cumsum(f64(a), axis=ax).reshape(a.shape), "float64",
                      rtol=1e-12, atol=1e-12)


def test_cumsum_writes_nothing_into_the_input():
    base = strided.tensor(np.arange(12.0))
    v = base[::2]
    r = v.cumsum(0)
    np.testing.assert_array_equal(base.numpy(), np.arange(12.0))
    np.testing.assert_array_equal(r.numpy(), np.cumsum(np.arange(12.0)[::2]))


# --------------------------------------------------------------------------------------
# Accuracy and threads
# --------------------------------------------------------------------------------------

def test_float32_sum_10M_accuracy():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10_000_000) + 0.1).astype(np.float32)
    ref = x.astype(np.float64).sum()
    got = strided.tensor(x).sum().item()
    assert abs(got - ref) / abs(ref) < 1e-6
    assert abs(got - ref) <= abs(float(x.sum()) - ref) + abs(ref) * 1e-7   # as good as NumPy
    const = np.full(10_000_000, 0.1, np.float32)
    assert abs(strided.tensor(const).sum().item() - const.astype(np.float64).sum()) \
        / const.astype(np.float64).sum() < 1e-6
    # strided views: stepped and reduced over each dim
    m = x.reshape(2000, 5000)
    t = strided.tensor(x).view(2000, 5000)
    np.testing.assert_allclose(t.sum(0).numpy(), m.astype(np.float64).sum(0), rtol=1e-6)
    np.testing.assert_allclose(t.sum(1).numpy(), m.astype(np.float64).sum(1), rtol=1e-6)
    np.testing.assert_allclose(t.T.sum(1).numpy(), m.astype(np.float64).sum(0), rtol=1e-6)
    np.testing.assert_allclose(t[::3, ::-1].sum().item(), m[::3, ::-1].astype(np.float64)
                               .sum(), rtol=1e-6)
    np.testing.assert_allclose(t.mean().item(), ref / x.size, rtol=1e-6)


@pytest.fixture
def restore_threads():
    n = strided.get_num_threads()
    yield
    strided.set_num_threads(n)


REDUCTIONS = {
    "sum": lambda t, d: t.sum(d),
    "prod": lambda t, d: ((t * 1e-4 + 1) if t.is_floating_point() else t).prod(d),
    "mean": lambda t, d: t.mean(d) if t.is_floating_point() else t.sum(d),
    "amax": lambda t, d: t.amax(d if d is not None else ()),
    "amin": lambda t, d: t.amin(d if d is not None else ()),
    "max": lambda t, d: t.max(d)[0] if d is not None else t.max(),
    "argmax": lambda t, d: t.argmax(d),
    "argmin": lambda t, d: t.argmin(d),
    "any": lambda t, d: t.any(d),
    "all": lambda t, d: (t > -1e9).all(d),
    "cumsum": lambda t, d: t.cumsum(d if d is not None else 0),
    "var": lambda t, d: t.var(d) if t.is_floating_point() else None,
    "norm": lambda t, d: t.norm(2, d) if t.is_floating_point() else None,
    "logsumexp": lambda t, d: t.logsumexp(d if d is not None else (0, 1))
    if t.is_floating_point() else None,
    "softmax": lambda t, d: t.softmax(d if d is not None else 0)
    if t.is_floating_point() else None,
}
# float64 results that are rounded differently when the reduced dim is split over threads
FLOAT64_THREAD_DEPENDENT = {"sum", "mean", "var", "norm", "softmax", "prod", "logsumexp"}


def thread_results(t, name, n):
    strided.set_num_threads(n)
    out = []
    for d in (None, 0, -1):
        r = REDUCTIONS[name](t, d)
        out.append(None if r is None else r.numpy())
    return out


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "int32", "float64"])
def test_reduction_thread_counts_identical(name, dtype, restore_threads, request):
    """set_num_threads(1) vs (2): bitwise identical on >= 100k elements, over each dim, for a
    contiguous and a transposed tensor (and of the right values)."""
    rng = np.random.default_rng(5)
    big = rng.standard_normal((800, 260)) * 3
    if dtype not in FLOATS:
        big = np.round(big * 10)
    big = big.astype(dtype)
    a = big[:400]                                 # 104k elements
    for t, ref in ((strided.tensor(a), a), (strided.tensor(np.ascontiguousarray(a.T)).T, a),
                   (strided.tensor(big)[::2, ::-1], big[::2, ::-1])):
        r1 = thread_results(t, name, 1)
        r2 = thread_results(t, name, 2)
        for d, x, y in zip((None, 0, -1), r1, r2):
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{name} dim={d}")
    if name == "sum":
        want = ref.astype(np.float64).sum(0)
        np.testing.assert_allclose(r2[1].astype(np.float64), want, rtol=1e-6, atol=1e-6)
    if name == "argmax":
        np.testing.assert_array_equal(r2[1], np.argmax(ref, 0))


@pytest.mark.skipif(not strided._C.core.threads.has_openmp(), reason="no OpenMP in this build")
def test_thread_count_reaches_kernels(restore_threads):
    strided.set_num_threads(1)
    assert strided.get_num_threads() == 1
    strided.set_num_threads(2)
    assert strided.get_num_threads() == 2
    with pytest.raises(ValueError):
        strided.set_num_threads(0)
