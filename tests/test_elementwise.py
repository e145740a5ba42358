"""Element-wise ops against NumPy: every binary and unary op x every dtype it is defined
for x every layout of helpers.LAYOUTS (plus 0-d, empty, broadcast and >8-dim shapes).

NumPy is the reference with the semantics PyTorch documents: floor division and Python-style
remainder, NaN-propagating maximum/minimum, round half to even, integer wrap-around.  Result
dtypes follow PyTorch's promotion (checked against torch itself in test_promotion_torch.py);
here the values are computed by NumPy in the dtype strided chose, and a few dtypes are pinned.

Also: scalars on either side and the Python operators, alpha, out= (wider dtypes and
non-contiguous views), in-place ops writing through views (base and version see it),
in-place errors (dtype changes, zero-stride outputs), partial overlap giving NumPy's answer,
integer division by zero, wrap-around, float32 special values and exp accuracy, error
messages, and thread counts 1 vs 2 giving identical results.
"""
import math
import operator

import numpy as np
import pytest

import strided
from helpers import (DTYPE_NAMES, LAYOUTS, STRIDED_DTYPES, WRITABLE_LAYOUTS, assert_same,
                     make_case, writable_twin)
from op_helpers import BITS, operand, rand

FLOATS = ("float32", "float64")
INTS = ("uint8", "int32", "int64")
NUMERIC = INTS + FLOATS
INTEGRAL = ("bool",) + INTS

# shapes rotated through by the layout tests (the layouts need at least one dim)
SHAPES = ((3, 4), (2, 3, 4), (7,), (2, 1, 3), (4, 1))
# 0-d, empty, size-1 and more than 8 dims
SPECIAL_SHAPES = ((), (0,), (3, 0), (0, 1, 2), (1,), (1, 1), (2, 1, 2, 1, 2, 1, 2, 1, 3))
SPECIAL_LAYOUTS = ("contiguous", "transposed", "negative", "expanded", "permuted")


def sd(name):
    return STRIDED_DTYPES[name]


def dtype_name(t):
    return t.dtype.numpy_dtype.name


def assert_result(t, expected, *, rtol=0.0, atol=0.0, dtype=None):
    """t has expected's shape, dtype (or `dtype`) and values: exactly, or within
    |t - expected| <= atol + rtol * |expected|; NaNs must match NaNs."""
    expected = np.asarray(expected)
    assert isinstance(t, strided.Tensor), type(t)
    assert t.shape == expected.shape, (t.shape, expected.shape)
    want = np.dtype(dtype) if dtype is not None else expected.dtype
    assert dtype_name(t) == want.name, (t.dtype, want)
    got = t.numpy()
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(got, expected.astype(want))
    else:
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)


def float_tol(dtype):
    return (2e-6, 1e-6) if np.dtype(dtype) == np.float32 else (1e-13, 1e-15)


# --------------------------------------------------------------------------------------
# Binary ops
# --------------------------------------------------------------------------------------

def np_floatify(x, y):
    """The float type PyTorch computes true division / atan2 in: the floating operand's, or
    the default float32 for integer and bool operands."""
    dt = np.result_type(x, y)
    return dt if dt.kind == "f" else np.dtype(np.float32)


def ref_div(x, y):
    ft = np_floatify(x, y)
    return np.true_divide(x.astype(ft), y.astype(ft))


def ref_atan2(x, y):
    ft = np_floatify(x, y)
    return np.arctan2(x.astype(ft), y.astype(ft))


def ref_lerp(s, e, w):
    w = s.dtype.type(w)
    return np.where(w < 0.5, s + w * (e - s), e - (e - s) * (s.dtype.type(1) - w)).astype(s.dtype)


# name: (strided call, NumPy reference, dtypes, kind of y values, inexact?)
BINARY = {
    "add": (lambda x, y: x.add(y), np.add, DTYPE_NAMES, "any", False),
    "sub": (lambda x, y: x.sub(y), np.subtract, NUMERIC, "any", False),
    "mul": (lambda x, y: x.mul(y), np.multiply, DTYPE_NAMES, "any", False),
    "div": (lambda x, y: x.div(y), ref_div, DTYPE_NAMES, "nonzero", False),
    "floor_divide": (lambda x, y: x.floor_divide(y), np.floor_divide, NUMERIC, "nonzero", False),
    "remainder": (lambda x, y: x.remainder(y), np.remainder, NUMERIC, "nonzero", False),
    "fmod": (lambda x, y: x.fmod(y), np.fmod, NUMERIC, "nonzero", False),
    "pow": (lambda x, y: x.pow(y), np.power, NUMERIC, "exponent", True),
    "maximum": (lambda x, y: x.maximum(y), np.maximum, DTYPE_NAMES, "nan", False),
    "minimum": (lambda x, y: x.minimum(y), np.minimum, DTYPE_NAMES, "nan", False),
    "atan2": (lambda x, y: x.atan2(y), ref_atan2, DTYPE_NAMES, "any", True),
    "eq": (lambda x, y: x.eq(y), np.equal, DTYPE_NAMES, "same", False),
    "ne": (lambda x, y: x.ne(y), np.not_equal, DTYPE_NAMES, "same", False),
    "lt": (lambda x, y: x.lt(y), np.less, DTYPE_NAMES, "same", False),
    "le": (lambda x, y: x.le(y), np.less_equal, DTYPE_NAMES, "same", False),
    "gt": (lambda x, y: x.gt(y), np.greater, DTYPE_NAMES, "same", False),
    "ge": (lambda x, y: x.ge(y), np.greater_equal, DTYPE_NAMES, "same", False),
    "logical_and": (lambda x, y: x.logical_and(y), np.logical_and, DTYPE_NAMES, "any", False),
    "logical_or": (lambda x, y: x.logical_or(y), np.logical_or, DTYPE_NAMES, "any", False),
    "logical_xor": (lambda x, y: x.logical_xor(y), np.logical_xor, DTYPE_NAMES, "any", False),
    "bitwise_and": (lambda x, y: x.bitwise_and(y), np.bitwise_and, INTEGRAL, "any", False),
    "bitwise_or": (lambda x, y: x.bitwise_or(y), np.bitwise_or, INTEGRAL, "any", False),
    "bitwise_xor": (lambda x, y: x.bitwise_xor(y), np.bitwise_xor, INTEGRAL, "any", False),
    "bitwise_left_shift": (lambda x, y: x.bitwise_left_shift(y), np.left_shift, INTS, "shift",
                           False),
    "bitwise_right_shift": (lambda x, y: x.bitwise_right_shift(y), np.right_shift, INTS,
                            "shift", False),
    "clamp_tensor": (lambda x, y: x.clamp(min=y), np.maximum, NUMERIC, "any", False),
    "clamp_max_tensor": (lambda x, y: x.clamp(max=y), np.minimum, NUMERIC, "any", False),
    "lerp": (lambda x, y: x.lerp(y, 0.3), lambda x, y: ref_lerp(x, y, 0.3), FLOATS, "any", True),
    "lerp_hi": (lambda x, y: x.lerp(y, 0.8), lambda x, y: ref_lerp(x, y, 0.8), FLOATS, "any",
                True),
}


def x_values(name, shape, dtype, rng):
    kind = {"pow": "small", "maximum": "nan", "minimum": "nan"}.get(name, "any")
    return rand(shape, dtype, rng, kind)


def y_values(name, x, rng):
    kind = BINARY[name][3]
    if kind == "same":          # comparisons: half the elements equal to x's
        y = rand(x.shape, x.dtype, rng)
        pick = rng.random(x.shape) < 0.5
        return np.where(pick, x, y).astype(x.dtype)
    return rand(x.shape, x.dtype, rng, kind)


def check_binary(name, x, y, ax, ay):
    fn, ref, _, _, inexact = BINARY[name]
    with np.errstate(all="ignore"):
        expected = np.asarray(ref(ax, ay))
    got = fn(x, y)
    if inexact and expected.dtype.kind == "f":
        rtol, atol = float_tol(expected.dtype)
        assert_result(got, expected, rtol=rtol, atol=atol)
    else:
        assert_result(got, expected)


def binary_params():
    return [pytest.param(name, dtype, id=f"{name}-{dtype}")
            for name, (_, _, dtypes, _, _) in BINARY.items() for dtype in dtypes]


@pytest.mark.parametrize("name,dtype", binary_params())
def test_binary_layouts(name, dtype):
    """op(x, y) for x and y of one dtype against NumPy: x in every layout, y in another
    layout and in x's own layout; shapes rotate with the layout."""
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    for k, xlayout in enumerate(LAYOUTS):
        shape = SHAPES[k % len(SHAPES)]
        x, ax = operand(x_values(name, shape, dtype, rng), xlayout)
        for ylayout in (LAYOUTS[(k + 3) % len(LAYOUTS)], xlayout):
            y, ay = operand(y_values(name, ax, rng), ylayout)
            try:
                check_binary(name, x, y, ax, ay)
            except AssertionError as e:
                raise AssertionError(f"x {xlayout}, y {ylayout}, shape {shape}: {e}") from None


@pytest.mark.parametrize("shape", SPECIAL_SHAPES, ids=lambda s: "x".join(map(str, s)) or "0d")
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_special_shapes(name, shape):
    """0-d, empty, size-1 and 9-d operands, in several layouts, int64 and float64."""
    dtypes = BINARY[name][2]
    rng = np.random.default_rng(7)
    for dtype in [d for d in ("int64", "float64", "bool") if d in dtypes][:2]:
        for k, layout in enumerate(SPECIAL_LAYOUTS):
            x, ax = operand(x_values(name, shape, dtype, rng), layout)
            y, ay = operand(y_values(name, ax, rng),
                            SPECIAL_LAYOUTS[(k + 1) % len(SPECIAL_LAYOUTS)])
            check_binary(name, x, y, ax, ay)


BROADCAST_PAIRS = (
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (3, 1)),
    ((), (3, 2)),
    ((3, 2), ()),
    ((5, 1, 3), (4, 1)),
    ((0, 3), (1, 3)),
    ((1, 0), (4, 1)),
    ((2, 1, 1, 1, 1, 1, 1, 1, 3), (1, 2, 1, 1, 1, 1, 1, 2, 1)),
    ((1,), (2, 2, 2, 2, 2, 2, 2, 2, 2, 2)),
)


@pytest.mark.parametrize("xshape,yshape", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "floor_divide", "remainder",
                                  "pow", "maximum", "atan2", "lt", "logical_xor",
                                  "bitwise_or", "lerp", "clamp_tensor"])
def test_binary_broadcasting(name, xshape, yshape):
    dtype = [d for d in ("float64", "int64", "bool") if d in BINARY[name][2]][0]
    rng = np.random.default_rng(3)
    for xlayout, ylayout in (("contiguous", "contiguous"), ("negative", "transposed"),
                             ("expanded", "permuted")):
        if not xshape and xlayout != "contiguous":
            continue
        x, ax = operand(x_values(name, xshape, dtype, rng), xlayout)
        y, ay = operand(rand(yshape, dtype, rng, BINARY[name][3]
                             if BINARY[name][3] != "same" else "any"), ylayout)
        check_binary(name, x, y, ax, ay)
        check_binary(name, y, x, ay, ax)


def test_broadcast_result_layout_follows_input():
    """exp(a.T) and a.T + 1 are laid out like a.T (NumPy's K order): values are what matter,
    but a transposed input must not give a wrong-order result."""
    a = np.arange(12.0).reshape(3, 4)
    t = strided.tensor(a).T
    assert_result(t + 1, a.T + 1)
    assert_result(t.exp(), np.exp(a.T))
    assert_result(t * strided.tensor(a.T.copy()), a.T * a.T)


# --------------------------------------------------------------------------------------
# where, clamp with scalar bounds, lerp with a tensor weight
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("k,layout", list(enumerate(LAYOUTS)))
def test_where_layouts(dtype, k, layout):
    rng = np.random.default_rng(k)
    shape = SHAPES[k % len(SHAPES)]
    c, ac = operand(rng.random(shape) < 0.5, layout)
    x, ax = operand(rand(shape, dtype, rng), LAYOUTS[(k + 1) % len(LAYOUTS)])
    y, ay = operand(rand(shape, dtype, rng), LAYOUTS[(k + 2) % len(LAYOUTS)])
    assert_result(strided.where(c, x, y), np.where(ac, ax, ay))
    assert_result(x.where(c, y), np.where(ac, ax, ay))
    # broadcast condition / operands
    assert_result(strided.where(c[..., :1], x, y), np.where(ac[..., :1], ax, ay))
    assert_result(strided.where(c, x[..., :1], y), np.where(ac, ax[..., :1], ay))


def test_where_result_follows_the_operands_memory_order():
    """where's result is laid out like its first full-shape operand (x, then y, then the
    condition), as binary ops' are, so where over transposed operands reads and writes
    memory in order; the values are NumPy's in every case."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((40, 30, 6))
    base = strided.tensor(a)
    x = base.permute(2, 0, 1)                       # strides (1, 180, 6)
    m = x > 0
    want = np.where(a.transpose(2, 0, 1) > 0, a.transpose(2, 0, 1), -1.0)
    for args, like in [((m, x, x), x), ((m, x, -1.0), x), ((m, -1.0, x), x),
                       ((m, 1.0, 0.0), m), ((m[:1], x, x), x)]:
        r = strided.where(*args)
        order = np.argsort([-abs(s) for s in like.stride()], kind="stable")
        got_order = np.argsort([-abs(s) for s in r.stride()], kind="stable")
        np.testing.assert_array_equal(got_order, order)
        if args[1] is x and args[2] is not x:
            assert_result(r, want)
    c = strided.tensor(rng.random((5, 7)) < 0.5)
    r = strided.where(c, strided.tensor(rng.standard_normal((7, 5))).t(), 0.0)
    assert r.stride() == (1, 5)


def test_where_scalars_and_promotion():
    c = strided.tensor([True, False, True])
    i32 = strided.tensor([1, 2, 3], dtype=strided.int32)
    assert_result(strided.where(c, i32, 0), np.array([1, 0, 3], np.int32))
    assert_result(strided.where(c, i32, 2.5), np.array([1, 2.5, 3], np.float32))
    assert_result(strided.where(c, 1.0, 0.0), np.array([1, 0, 1], np.float32))
    f64 = strided.tensor([1.0, 2.0, 3.0], dtype=strided.float64)
    assert_result(strided.where(c, i32, f64), np.array([1, 2, 3], np.float64))
    # a 0-d operand of a higher category decides the dtype (float64 here)
    assert_result(strided.where(c, i32, strided.tensor(2.5, dtype=strided.float64)),
                  np.array([1, 2.5, 3], np.float64))
    assert_result(strided.where(strided.tensor(True), f64, 0.0), np.array([1, 2, 3.0]))
    assert_result(strided.where(c[:0], f64[:0], 1.0), np.zeros(0))
    with pytest.raises(RuntimeError, match="condition to be a boolean tensor"):
        strided.where(i32, i32, i32)
    with pytest.raises(RuntimeError, match=r"\[3\].*\[2\]"):
        strided.where(c, f64, strided.tensor([1.0, 2.0]))


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_clamp_scalar_bounds(dtype, layout):
    rng = np.random.default_rng(5)
    x, ax = operand(rand((4, 5), dtype, rng, "nan"), layout)
    lo, hi = (-3, 17) if dtype != "uint8" else (40, 200)
    if dtype in FLOATS:
        lo, hi = -2.5, 3.25
    t = np.dtype(dtype).type
    assert_result(x.clamp(lo, hi), np.minimum(np.maximum(ax, t(lo)), t(hi)))
    assert_result(x.clamp(min=lo), np.maximum(ax, t(lo)))
    assert_result(x.clamp(max=hi), np.minimum(ax, t(hi)))
    assert_result(x.clamp_min(lo), np.maximum(ax, t(lo)))
    assert_result(x.clamp_max(hi), np.minimum(ax, t(hi)))
    assert_result(strided.clamp(x, lo, hi), np.minimum(np.maximum(ax, t(lo)), t(hi)))
    assert_result(x.clip(lo, hi), np.minimum(np.maximum(ax, t(lo)), t(hi)))
    # min > max: every element becomes max (PyTorch and np.minimum(np.maximum()))
    assert_result(x.clamp(hi, lo), np.minimum(np.maximum(ax, t(hi)), t(lo)))


@pytest.mark.parametrize("dtype,kw", [("int32", {"max": 2 ** 40}), ("int32", {"min": 2 ** 31}),
                                      ("uint8", {"max": 256}), ("uint8", {"min": 300})],
                         ids=str)
def test_clamp_out_of_range_integer_bound_raises(dtype, kw):
    t = strided.tensor(np.array([1, 5], dtype=dtype))
    with pytest.raises(RuntimeError, match="without overflow"):
        t.clamp(**kw)


def test_clamp_nan_scalar_bound_propagates():
    t = strided.tensor(np.array([1.0, 5.0]))
    assert_result(t.clamp(float("nan"), 2.0), np.array([np.nan, np.nan]))


def test_clamp_tensor_bounds_broadcast_and_promotion():
    a = np.array([[1.0, 5.0, -3.0], [np.nan, 0.5, 9.0]])
    lo = np.array([0.0, 1.0, 2.0])
    hi = np.array([[4.0], [3.0]])
    t = strided.tensor(a)
    assert_result(t.clamp(strided.tensor(lo), strided.tensor(hi)),
                  np.minimum(np.maximum(a, lo), hi))
    assert_result(t.clamp(min=strided.tensor(lo)), np.maximum(a, lo))
    assert_result(t.clamp(strided.tensor(lo), 2.0), np.minimum(np.maximum(a, lo), 2.0))
    i = strided.tensor([1, 5, -3], dtype=strided.int32)
    assert_result(i.clamp(strided.tensor([0.5, 0.5, 0.5], dtype=strided.float32)),
                  np.array([1, 5, 0.5], np.float32))
    assert_result(i.clamp(0.5, 2), np.array([1, 2, 0.5], np.float32))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        t.clamp()


def test_lerp_tensor_weight_and_errors():
    s = np.array([1.0, 2.0, -3.0, 4.0])
    e = np.array([3.0, 5.0, 7.0, -1.0])
    w = np.array([0.25, 0.75, 0.0, 1.0])
    got = strided.tensor(s).lerp(strided.tensor(e), strided.tensor(w))
    np.testing.assert_allclose(got.numpy(), s + w * (e - s), rtol=1e-15)
    r = strided.lerp(strided.tensor(s), strided.tensor(e), 1.0)
    assert_result(r, e)                               # exact at the ends
    assert_result(strided.tensor(s).lerp(strided.tensor(e), 0.0), s)
    with pytest.raises(RuntimeError):
        strided.tensor([1, 2]).lerp(strided.tensor([3, 4]), 0.5)


# --------------------------------------------------------------------------------------
# Unary ops
# --------------------------------------------------------------------------------------

def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def same_dtype(f):
    """A reference computed in float64 (or any type) cast back to the input's dtype."""
    return lambda x: np.asarray(f(x)).astype(x.dtype)


# name: (NumPy reference on the input's values, dtypes, exact?, float op?)
#   float ops promote integer and bool inputs to float32 (PyTorch's default float) and are
#   compared in float64 with a tolerance; the others keep the dtype and are exact.
UNARY = {
    "neg": (np.negative, NUMERIC, True, False),
    "abs": (np.abs, NUMERIC, True, False),
    "sign": (np.sign, NUMERIC, True, False),
    "square": (np.square, NUMERIC, True, False),
    "relu": (same_dtype(lambda x: np.where(x < 0, 0, x)), NUMERIC, True, False),
    "floor": (same_dtype(np.floor), NUMERIC, True, False),
    "ceil": (same_dtype(np.ceil), NUMERIC, True, False),
    "round": (same_dtype(np.round), NUMERIC, True, False),
    "trunc": (same_dtype(np.trunc), NUMERIC, True, False),
    "frac": (lambda x: x - np.trunc(x), FLOATS, True, False),
    "bitwise_not": (np.invert, INTEGRAL, True, False),
    "logical_not": (np.logical_not, DTYPE_NAMES, True, False),
    "isnan": (np.isnan, DTYPE_NAMES, True, False),
    "isinf": (np.isinf, DTYPE_NAMES, True, False),
    "isfinite": (np.isfinite, DTYPE_NAMES, True, False),
    "isposinf": (np.isposinf, NUMERIC, True, False),
    "isneginf": (np.isneginf, NUMERIC, True, False),
    "signbit": (np.signbit, NUMERIC, True, False),
    "exp": (np.exp, DTYPE_NAMES, False, True),
    "exp2": (np.exp2, DTYPE_NAMES, False, True),
    "expm1": (np.expm1, DTYPE_NAMES, False, True),
    "log": (np.log, DTYPE_NAMES, False, True),
    "log2": (np.log2, DTYPE_NAMES, False, True),
    "log10": (np.log10, DTYPE_NAMES, False, True),
    "log1p": (np.log1p, DTYPE_NAMES, False, True),
    "sqrt": (np.sqrt, DTYPE_NAMES, False, True),
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), DTYPE_NAMES, False, True),
    "reciprocal": (lambda x: 1.0 / x, DTYPE_NAMES, False, True),
    "sin": (np.sin, DTYPE_NAMES, False, True),
    "cos": (np.cos, DTYPE_NAMES, False, True),
    "tan": (np.tan, DTYPE_NAMES, False, True),
    "asin": (np.arcsin, DTYPE_NAMES, False, True),
    "acos": (np.arccos, DTYPE_NAMES, False, True),
    "atan": (np.arctan, DTYPE_NAMES, False, True),
    "sinh": (np.sinh, DTYPE_NAMES, False, True),
    "cosh": (np.cosh, DTYPE_NAMES, False, True),
    "tanh": (np.tanh, DTYPE_NAMES, False, True),
    "sigmoid": (np_sigmoid, DTYPE_NAMES, False, True),
    "erf": (_erf, DTYPE_NAMES, False, True),
    "erfc": (_erfc, DTYPE_NAMES, False, True),
}


def unary_expected(name, a):
    ref, _, exact, is_float = UNARY[name]
    if is_float:
        ft = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
        x = a.astype(ft)
        with np.errstate(all="ignore"):
            # the float64 truth for x's float32 values (a tolerance absorbs the rounding)
            return np.asarray(ref(x.astype(np.float64))), ft
    with np.errstate(all="ignore"):
        e = np.asarray(ref(a))
    return e, e.dtype


def check_unary(name, t, a, result):
    expected, dt = unary_expected(name, a)
    if UNARY[name][2]:
        assert_result(result, expected.astype(dt))
    else:
        rtol, atol = float_tol(dt)
        if name in ("tan", "cosh", "sinh", "exp", "exp2", "expm1") and dt == np.float32:
            rtol = 4e-6
        with np.errstate(all="ignore"):
            rounded = expected.astype(dt)      # overflows to inf where the dtype does
        assert_result(result, np.where(np.isinf(rounded), rounded, expected), rtol=rtol,
                      atol=atol, dtype=dt)


def unary_params():
    return [pytest.param(name, dtype, id=f"{name}-{dtype}")
            for name, (_, dtypes, _, _) in UNARY.items() for dtype in dtypes]


@pytest.mark.parametrize("name,dtype", unary_params())
def test_unary_layouts(name, dtype):
    """op(t) (method and function) against NumPy for t in every layout; the input's storage
    is left untouched."""
    for k, layout in enumerate(LAYOUTS):
        shape = SHAPES[k % len(SHAPES)]
        c = make_case(shape, layout, dtype)
        before = c.buf.copy()
        try:
            check_unary(name, c.t, c.a, getattr(c.t, name)())
            check_unary(name, c.t, c.a, getattr(strided, name)(c.t))
        except AssertionError as e:
            raise AssertionError(f"layout {layout}, shape {shape}: {e}") from None
        np.testing.assert_array_equal(np.asarray(c.t.untyped_storage()._numpy()), before)


@pytest.mark.parametrize("shape", SPECIAL_SHAPES, ids=lambda s: "x".join(map(str, s)) or "0d")
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_special_shapes(name, shape):
    for k, layout in enumerate(SPECIAL_LAYOUTS):
        dtype = UNARY[name][1][-1 - k % 2]
        c = make_case(shape, layout, dtype)
        check_unary(name, c.t, c.a, getattr(c.t, name)())


def test_unary_dtypes_pinned():
    """A few result dtypes pinned here (the full table is in test_promotion_torch)."""
    i32 = strided.tensor([1, -2], dtype=strided.int32)
    b = strided.tensor([True, False])
    assert i32.exp().dtype is strided.float32
    assert i32.sqrt().dtype is strided.float32
    assert i32.abs().dtype is strided.int32
    assert i32.neg().dtype is strided.int32
    assert i32.floor().dtype is strided.int32
    assert b.sign().dtype is strided.bool
    assert b.square().dtype is strided.int64
    assert b.exp().dtype is strided.float32
    assert i32.isnan().dtype is strided.bool
    assert_result(b.square(), np.array([1, 0]))


def test_round_half_to_even_and_decimals():
    a = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 1e16 + 2, 0.49999999999999994])
    assert_result(strided.tensor(a).round(), np.round(a))
    f = a.astype(np.float32)
    assert_result(strided.tensor(f).round(), np.round(f))
    d = np.array([0.125, 1.25, 2.675, -0.375, 12345.678])
    for decimals in (1, 2, 3):
        np.testing.assert_allclose(strided.tensor(d).round(decimals=decimals).numpy(),
                                   np.round(d, decimals), rtol=1e-15, atol=0)
        assert_result(strided.round(strided.tensor(d), decimals=decimals),
                      strided.tensor(d).round(decimals=decimals).numpy())
    big = np.array([1250.0, 1350.0, -1250.0, 49.0, 151.0])
    assert_result(strided.tensor(big).round(decimals=-2), np.round(big, -2))
    i = strided.tensor([1, 2, 3])
    assert_result(i.round(), np.array([1, 2, 3]))
    with pytest.raises(RuntimeError):
        i.round(decimals=1)


def test_unary_errors_for_undefined_dtypes():
    with pytest.raises(RuntimeError, match="bitwise_not"):
        strided.tensor([1.0]).bitwise_not()
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        -strided.tensor([True])
    with pytest.raises(RuntimeError, match="Negation"):
        strided.tensor([True]).neg()


def test_nan_to_num_isclose_equal():
    a = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0], np.float32)
    t = strided.tensor(a)
    assert_result(t.nan_to_num(), np.nan_to_num(a))
    assert_result(strided.nan_to_num(t, 1.0, 2.0, -2.0),
                  np.nan_to_num(a, nan=1.0, posinf=2.0, neginf=-2.0))
    assert_result(strided.tensor([1, 2]).nan_to_num(), np.array([1, 2]))
    x = np.array([1.0, np.nan, np.inf, 1.0, -np.inf, 0.0, 1e-9])
    y = np.array([1.0 + 1e-9, np.nan, np.inf, 1.1, np.inf, 1e-9, 0.0])
    tx, ty = strided.tensor(x), strided.tensor(y)
    assert_result(tx.isclose(ty), np.isclose(x, y))
    assert_result(strided.isclose(tx, ty, equal_nan=True), np.isclose(x, y, equal_nan=True))
    assert_result(tx.isclose(ty, rtol=0.2, atol=0.0), np.isclose(x, y, rtol=0.2, atol=0.0))
    assert tx[:1].allclose(ty[:1]) is True
    assert strided.allclose(tx[3:4], ty[3:4]) is False
    assert tx.equal(tx.clone()) is False                 # NaN != NaN
    assert tx[3:].equal(strided.tensor(x[3:])) is True
    assert tx.equal(tx[:2]) is False                     # different shapes
    assert strided.equal(strided.tensor([1, 2]), strided.tensor([1, 2])) is True


# --------------------------------------------------------------------------------------
# nn.functional activations
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped", "negative"])
def test_functional_activations(dtype, layout):
    import strided.nn.functional as F
    c = make_case((4, 6), layout, dtype)
    x = c.a.astype(np.float64)
    rtol, atol = float_tol(dtype)
    cases = {
        "relu": (F.relu(c.t), np.maximum(x, 0)),
        "sigmoid": (F.sigmoid(c.t), np_sigmoid(x)),
        "tanh": (F.tanh(c.t), np.tanh(x)),
        "silu": (F.silu(c.t), x * np_sigmoid(x)),
        "gelu": (F.gelu(c.t), 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
        "gelu_tanh": (F.gelu(c.t, approximate="tanh"),
                      0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
        "leaky_relu": (F.leaky_relu(c.t, 0.1), np.where(x > 0, x, 0.1 * x)),
        "softplus": (F.softplus(c.t), np.where(x > 20, x, np.log1p(np.exp(x)))),
        "softplus_beta": (F.softplus(c.t, beta=2.0, threshold=5.0),
                          np.where(2 * x > 5, x, np.log1p(np.exp(2 * x)) / 2)),
    }
    for name, (got, want) in cases.items():
        assert got.dtype is sd(dtype), name
        np.testing.assert_allclose(got.numpy().astype(np.float64), want, rtol=rtol * 2,
                                   atol=atol * 2, err_msg=name)
    # inplace forms write through the view
    case = make_case((4, 6), layout, dtype)
    r = F.relu(case.t, inplace=True)
    assert r is case.t or r.data_ptr() == case.t.data_ptr()
    writable_twin(case.a, case.buf)[...] = np.maximum(case.a, 0)
    assert_same(case.t, case.a, case.buf)


# --------------------------------------------------------------------------------------
# Scalars on either side, Python operators, alpha
# --------------------------------------------------------------------------------------

OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
NP_OPERATORS = dict(OPERATORS, **{"/": lambda x, y: ref_div(np.asarray(x), np.asarray(y))})


def scalar_result_dtype(dtype, scalar):
    """PyTorch's rule for a tensor of `dtype` and a Python scalar: the scalar only matters
    when it is of a higher category (bool < int < float); floats give float32."""
    cat = {"bool": 0, "uint8": 1, "int32": 1, "int64": 1, "float32": 2, "float64": 2}[dtype]
    scat = 0 if isinstance(scalar, bool) else 1 if isinstance(scalar, int) else 2
    if scat <= cat:
        return dtype
    return "int64" if scat == 1 else "float32"


def op_defined(sym, dtype, scalar):
    rd = scalar_result_dtype(dtype, scalar)
    if sym in ("&", "|", "^", "<<", ">>") and rd in FLOATS:
        return False
    if sym in ("<<", ">>") and rd == "bool":
        return False
    if sym in ("-",) and (dtype == "bool" or isinstance(scalar, bool)):
        return False
    if sym in ("//", "%", "**") and rd == "bool":
        return False
    return True


@pytest.mark.parametrize("scalar", [True, 3, -2, 2.5, -0.75], ids=repr)
@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("sym", list(OPERATORS))
def test_tensor_scalar_operators(sym, dtype, scalar):
    """t op s and s op t (the reflected operators) against NumPy in PyTorch's result dtype."""
    if not op_defined(sym, dtype, scalar):
        return
    if dtype == "uint8" and isinstance(scalar, int) and not isinstance(scalar, bool) and \
            scalar < 0:
        scalar = 250 + scalar          # keep uint8 arithmetic inside the dtype
    rng = np.random.default_rng(11)
    kind = "shift" if sym in ("<<", ">>") else "exponent" if sym == "**" else "nonzero"
    x, ax = operand(rand((3, 4), dtype, rng, kind), "stepped")
    rd = scalar_result_dtype(dtype, scalar)
    fn, npfn = OPERATORS[sym], NP_OPERATORS[sym]
    s_np = np.array(scalar, dtype=rd)
    comparison = sym in ("==", "!=", "<", "<=", ">", ">=")
    for left in (False, True):
        if left and sym in ("<<", ">>", "**") and rd not in FLOATS:
            a_np, b_np = s_np, ax.astype(rd)
            if sym in ("<<", ">>"):
                b_np = np.minimum(b_np, BITS.get(rd, 8) - 1)
                x_use = strided.tensor(b_np)
            else:
                x_use = x
        else:
            a_np, b_np = (s_np, ax.astype(rd)) if left else (ax.astype(rd), s_np)
            x_use = x
        if left and sym == "**" and rd not in FLOATS:
            b_np = ax.astype(rd)       # exponents are >= 0
        if not left and sym == "**" and rd not in FLOATS and scalar < 0:
            continue                   # int ** negative int raises (test_pow_negative_int)
        if ((left and sym in ("/", "//", "%") and rd not in FLOATS and not comparison
             and np.any(b_np == 0))):
            continue
        if not left and sym in ("//", "%") and rd not in FLOATS and scalar == 0:
            continue
        with np.errstate(all="ignore"):
            expected = np.asarray(npfn(a_np, b_np))
        got = fn(scalar, x_use) if left else fn(x_use, scalar)
        if comparison:
            assert_result(got, expected.astype(bool))
        elif sym == "**" and expected.dtype.kind == "f":
            rtol, atol = float_tol(expected.dtype)
            assert_result(got, expected, rtol=rtol, atol=atol)
        else:
            want = expected.dtype if sym == "/" else np.dtype(rd)
            assert_result(got, expected.astype(want), dtype=want)


def test_scalar_dtypes_pinned():
    i32 = strided.tensor([1, 2], dtype=strided.int32)
    u8 = strided.tensor([1, 2], dtype=strided.uint8)
    b = strided.tensor([True, False])
    f64 = strided.tensor([1.0, 2.0], dtype=strided.float64)
    assert strided.tensor([1.0, 2.0]).dtype is strided.float32        # the default dtype
    assert (i32 + 5).dtype is strided.int32
    assert (5 + i32).dtype is strided.int32
    assert (i32 + 2.5).dtype is strided.float32
    assert (i32 / 2).dtype is strided.float32
    assert (i32 / i32).dtype is strided.float32
    assert (u8 + True).dtype is strided.uint8
    assert (b + 1).dtype is strided.int64
    assert (b + 1.5).dtype is strided.float32
    assert (b & True).dtype is strided.bool
    assert (f64 * 2).dtype is strided.float64
    assert (i32 * strided.tensor(2.5)).dtype is strided.float32       # 0-d float: default
    assert (i32 + strided.tensor(7)).dtype is strided.int32           # 0-d int: same category
    assert (i32 + strided.tensor([7])).dtype is strided.int64         # a dim: full promotion
    assert (f64.float() + strided.tensor(1.0, dtype=strided.float64)).dtype is strided.float32
    assert (i32 == 1.5).dtype is strided.bool
    assert_result(u8 + (-1), np.array([0, 1], np.uint8))              # negative scalars wrap


def test_numpy_scalars_as_operands():
    t = strided.tensor([1.0, 2.0], dtype=strided.float32)
    i = strided.tensor([1, 2], dtype=strided.int32)
    assert_result(t + np.float64(2.0), np.array([3.0, 4.0], np.float32))
    assert_result(i * np.int64(3), np.array([3, 6], np.int32))
    assert_result(i + np.float32(0.5), np.array([1.5, 2.5], np.float32))
    assert_result(strided.add(t, np.float64(1.0)), np.array([2.0, 3.0], np.float32))


def test_numpy_scalar_on_the_left_gives_tensor():
    t = strided.tensor([1.0, 2.0], dtype=strided.float32)
    r = np.float64(2.0) * t
    assert isinstance(r, strided.Tensor)
    assert_result(r, np.array([2.0, 4.0], np.float32))


@pytest.mark.parametrize("dtype", NUMERIC)
def test_alpha(dtype):
    rng = np.random.default_rng(2)
    x, ax = operand(rand((3, 5), dtype, rng), "transposed")
    y, ay = operand(rand((5,), dtype, rng), "negative")
    alpha = 2.5 if dtype in FLOATS else 3
    t = np.dtype(dtype).type
    with np.errstate(all="ignore"):
        assert_result(x.add(y, alpha=alpha), ax + t(alpha) * ay)
        assert_result(x.sub(y, alpha=alpha), ax - t(alpha) * ay)
        assert_result(strided.add(x, y, alpha=alpha), ax + t(alpha) * ay)
        assert_result(strided.sub(x, y, alpha=alpha), ax - t(alpha) * ay)
        assert_result(x.add(2, alpha=alpha), ax + t(alpha) * t(2))
        assert_result(strided.sub(2, x, alpha=alpha), t(2) - t(alpha) * ax)
        assert_result(x.add(y, alpha=1), ax + ay)
        assert_result(x.sub(y, alpha=0), ax)
    z = x.clone()
    z.add_(y, alpha=alpha)
    with np.errstate(all="ignore"):
        assert_result(z, ax + t(alpha) * ay)
    if dtype not in FLOATS:
        with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
            x.add(y, alpha=0.5)


# --------------------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------------------

def test_out_same_and_wider_dtype():
    a = np.array([[1, -2, 3], [4, 5, -6]], np.int32)
    x = strided.tensor(a)
    out = strided.zeros(2, 3, dtype=strided.int32)
    r = strided.add(x, 1, out=out)
    assert r is out
    assert_result(out, a + 1)
    wide = strided.zeros(2, 3, dtype=strided.float64)
    assert strided.mul(x, x, out=wide) is wide
    assert_result(wide, (a * a).astype(np.float64))
    wide_i = strided.zeros(2, 3, dtype=strided.int64)
    strided.sub(x, 10, out=wide_i)
    assert_result(wide_i, (a - 10).astype(np.int64))
    f = strided.zeros(2, 3, dtype=strided.float32)
    strided.lt(x, 2, out=f)                     # bool results cast into a float out
    assert_result(f, (a < 2).astype(np.float32))
    e = strided.zeros(2, 3, dtype=strided.float64)
    strided.exp(x, out=e)                       # float32 result cast into float64
    np.testing.assert_allclose(e.numpy(), np.exp(a.astype(np.float32)), rtol=2e-6)
    strided.neg(x, out=wide_i)
    assert_result(wide_i, (-a).astype(np.int64))
    strided.clamp(x, 0, 4, out=wide_i)
    assert_result(wide_i, np.clip(a, 0, 4).astype(np.int64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        strided.div(x, 2, out=strided.zeros(2, 3, dtype=strided.int32))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        strided.add(x, 1.5, out=strided.zeros(2, 3, dtype=strided.int64))
    with pytest.raises(RuntimeError, match="can't be cast"):
        strided.add(x, 1, out=strided.zeros(2, 3, dtype=strided.bool))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\]"):
        strided.add(x, 1, out=strided.zeros(3, dtype=strided.int32))
    with pytest.raises(TypeError, match="out"):
        strided.add(x, 1, out=np.zeros((2, 3)))


@pytest.mark.parametrize("layout", ["transposed", "stepped", "negative", "neg_stepped",
                                    "permuted", "offset"])
def test_out_non_contiguous_view(layout):
    """out= a view into a bigger storage: exactly its elements change, the base sees it,
    and the storage version is bumped."""
    rng = np.random.default_rng(4)
    c = make_case((3, 4), layout, "float64")
    x, ax = operand(rand((3, 4), "float64", rng), "transposed")
    y, ay = operand(rand((4,), "float64", rng), "negative")
    v0 = c.t._version
    r = strided.mul(x, y, out=c.t)
    assert r is c.t
    writable_twin(c.a, c.buf)[...] = ax * ay
    assert_same(c.t, c.a, c.buf)
    assert c.t._version > v0
    np.testing.assert_array_equal(c.root.numpy(), c.buf)
    v1 = c.t._version
    strided.sqrt(x.abs(), out=c.t)
    writable_twin(c.a, c.buf)[...] = np.sqrt(np.abs(ax))
    assert_same(c.t, c.a, c.buf)
    assert c.t._version > v1
    # out of a wider dtype, non-contiguous
    ci = make_case((3, 4), layout, "int64")
    xi, axi = operand(rand((3, 4), "int32", rng), "stepped")
    strided.add(xi, 7, out=ci.t)
    writable_twin(ci.a, ci.buf)[...] = axi.astype(np.int64) + 7
    assert_same(ci.t, ci.a, ci.buf)


def test_out_expanded_raises():
    e = strided.zeros(4)[None].expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        strided.add(strided.ones(3, 4), 1, out=e)
    with pytest.raises(RuntimeError, match="more than one element"):
        strided.exp(strided.ones(3, 4), out=e)


# --------------------------------------------------------------------------------------
# In-place ops through views
# --------------------------------------------------------------------------------------

# name: (call on the strided view, NumPy update of the values, dtypes)
INPLACE = {
    "add_": (lambda t: t.add_(3), lambda a: a + a.dtype.type(3), NUMERIC),
    "add_tensor_alpha": (lambda t: t.add_(t.clone(), alpha=2), lambda a: a + 2 * a, NUMERIC),
    "sub_": (lambda t: t.sub_(2), lambda a: a - a.dtype.type(2), NUMERIC),
    "mul_": (lambda t: t.mul_(3), lambda a: a * a.dtype.type(3), NUMERIC),
    "mul_bool": (lambda t: t.mul_(t.clone()), lambda a: a & a, ("bool",)),
    "div_": (lambda t: t.div_(4), lambda a: a / a.dtype.type(4), FLOATS),
    "div_floor": (lambda t: t.div_(4, rounding_mode="floor"),
                  lambda a: np.floor_divide(a, a.dtype.type(4)), NUMERIC),
    "div_trunc": (lambda t: t.div_(-4, rounding_mode="trunc"),
                  lambda a: np.trunc(a / -4.0).astype(a.dtype), ("int32", "int64") + FLOATS),
    "floor_divide_": (lambda t: t.floor_divide_(3), lambda a: a // a.dtype.type(3), NUMERIC),
    "remainder_": (lambda t: t.remainder_(3), lambda a: a % a.dtype.type(3), NUMERIC),
    "fmod_": (lambda t: t.fmod_(3), lambda a: np.fmod(a, a.dtype.type(3)), NUMERIC),
    "pow_": (lambda t: t.pow_(2), lambda a: a ** a.dtype.type(2), NUMERIC),
    "iadd": (lambda t: t.__iadd__(5), lambda a: a + a.dtype.type(5), NUMERIC),
    "isub": (lambda t: t.__isub__(5), lambda a: a - a.dtype.type(5), NUMERIC),
    "imul": (lambda t: t.__imul__(2), lambda a: a * a.dtype.type(2), NUMERIC),
    "itruediv": (lambda t: t.__itruediv__(2), lambda a: a / a.dtype.type(2), FLOATS),
    "ifloordiv": (lambda t: t.__ifloordiv__(2), lambda a: a // a.dtype.type(2), NUMERIC),
    "imod": (lambda t: t.__imod__(5), lambda a: a % a.dtype.type(5), NUMERIC),
    "iand": (lambda t: t.__iand__(t.clone()), lambda a: a & a, INTEGRAL),
    "ior": (lambda t: t.__ior__(1), lambda a: a | a.dtype.type(1), INTS),
    "ixor": (lambda t: t.__ixor__(True), lambda a: a ^ True, ("bool",)),
    "ilshift": (lambda t: t.__ilshift__(1), lambda a: np.left_shift(a, a.dtype.type(1)), INTS),
    "irshift": (lambda t: t.__irshift__(1), lambda a: np.right_shift(a, a.dtype.type(1)), INTS),
    "clamp_": (lambda t: t.clamp_(-3, 5), lambda a: np.minimum(np.maximum(a, -3), 5)
               .astype(a.dtype), ("int32", "int64") + FLOATS),
    "clamp_min_": (lambda t: t.clamp_min_(2), lambda a: np.maximum(a, a.dtype.type(2)), NUMERIC),
    "clamp_max_": (lambda t: t.clamp_max_(2), lambda a: np.minimum(a, a.dtype.type(2)), NUMERIC),
    "clamp_tensor_": (lambda t: t.clamp_(t.clone()[..., :1]),
                      lambda a: np.maximum(a, a[..., :1]), NUMERIC),
    "relu_": (lambda t: t.relu_(), lambda a: np.where(a < 0, 0, a).astype(a.dtype),
              ("int32", "int64") + FLOATS),
    "neg_": (lambda t: t.neg_(), np.negative, NUMERIC),
    "abs_": (lambda t: t.abs_(), np.abs, NUMERIC),
    "sign_": (lambda t: t.sign_(), np.sign, NUMERIC),
    "square_": (lambda t: t.square_(), np.square, NUMERIC),
    "floor_": (lambda t: t.floor_(), np.floor, FLOATS),
    "ceil_": (lambda t: t.ceil_(), np.ceil, FLOATS),
    "round_": (lambda t: t.round_(), np.round, FLOATS),
    "round_decimals_": (lambda t: t.round_(decimals=1), lambda a: np.round(a * a.dtype.type(10))
                        / a.dtype.type(10), FLOATS),
    "trunc_": (lambda t: t.trunc_(), np.trunc, FLOATS),
    "frac_": (lambda t: t.frac_(), lambda a: a - np.trunc(a), FLOATS),
    "exp_": (lambda t: t.exp_(), np.exp, ("float64",)),
    "sqrt_": (lambda t: t.sqrt_(), np.sqrt, ("float64",)),
    "tanh_": (lambda t: t.tanh_(), np.tanh, ("float64",)),
    "sigmoid_": (lambda t: t.sigmoid_(), np_sigmoid, ("float64",)),
    "reciprocal_": (lambda t: t.reciprocal_(), lambda a: 1 / a, ("float64",)),
    "bitwise_not_": (lambda t: t.bitwise_not_(), np.invert, INTEGRAL),
    "logical_not_": (lambda t: t.logical_not_(), lambda a: np.logical_not(a).astype(a.dtype),
                     DTYPE_NAMES),
    "logical_and_": (lambda t: t.logical_and_(t.clone()[..., :1]),
                     lambda a: np.logical_and(a, a[..., :1]).astype(a.dtype), DTYPE_NAMES),
    "eq_": (lambda t: t.eq_(t.clone()[..., :1]), lambda a: (a == a[..., :1]).astype(a.dtype),
            DTYPE_NAMES),
    "lt_": (lambda t: t.lt_(1), lambda a: (a < 1).astype(a.dtype), NUMERIC),
    "lerp_": (lambda t: t.lerp_(t.clone() * 2, 0.25),
              lambda a: ref_lerp(a, a * 2, 0.25), FLOATS),
    "copy_where": (lambda t: t.copy_(strided.where(t > 1, t, 1)),
                   lambda a: np.where(a > 1, a, 1).astype(a.dtype), NUMERIC),
}


def inplace_params():
    return [pytest.param(name, dtype, id=f"{name}-{dtype}")
            for name, (_, _, dtypes) in INPLACE.items() for dtype in dtypes]


@pytest.mark.parametrize("name,dtype", inplace_params())
def test_inplace_through_views(name, dtype):
    """The in-place op on a view (every writable layout) writes exactly NumPy's values into
    the shared storage: the view, the root tensor and the raw storage all see them, and the
    version is bumped."""
    fn, ref, _ = INPLACE[name]
    for k, layout in enumerate(WRITABLE_LAYOUTS):
        shape = SHAPES[k % len(SHAPES)]
        c = make_case(shape, layout, dtype)
        if dtype in INTS and name in ("pow_",):
            writable_twin(c.a, c.buf)[...] = c.a % 7       # keep the powers small
            c.root.copy_(strided.tensor(c.buf))
        v0 = c.t._version
        with np.errstate(all="ignore"):
            expected = np.asarray(ref(c.a.copy())).astype(c.a.dtype)
        r = fn(c.t)
        assert r is c.t, layout
        writable_twin(c.a, c.buf)[...] = expected
        try:
            if dtype in FLOATS and name in ("exp_", "sqrt_", "tanh_", "sigmoid_", "lerp_",
                                            "pow_"):
                np.testing.assert_allclose(c.t.numpy(), c.a, rtol=1e-13, equal_nan=True)
                np.testing.assert_allclose(c.root.numpy(), c.buf, rtol=1e-13, equal_nan=True)
            else:
                assert_same(c.t, c.a, c.buf)
                np.testing.assert_array_equal(c.root.numpy(), c.buf)
        except AssertionError as e:
            raise AssertionError(f"layout {layout}, shape {shape}: {e}") from None
        assert c.t._version > v0, layout
        assert c.root._version == c.t._version


def test_inplace_on_view_of_view_updates_root():
    base = strided.tensor(np.arange(24.0).reshape(4, 6))
    v = base[1:, ::2].T[::-1]          # a view of a view
    v0 = base._version
    v.mul_(-1)
    v += 0.5
    a = np.arange(24.0).reshape(4, 6)
    av = a[1:, ::2].T[::-1]
    av *= -1
    av += 0.5
    assert_result(base, a)
    assert base._version >= v0 + 2


def test_inplace_on_0d_and_empty():
    t = strided.tensor(np.array(3.0))
    v0 = t._version
    t += 1
    t.mul_(2).exp_()
    assert_result(t, np.exp(np.array(8.0)))
    assert t._version == v0 + 3
    u = strided.tensor(np.array(5, np.int32))
    u //= 2
    u.clamp_(0, 1)
    assert_result(u, np.array(1, np.int32))
    e = strided.zeros(0, 3)
    assert e.add_(1) is e and e.shape == (0, 3)
    assert strided.exp(e, out=e) is e
    with pytest.raises(RuntimeError, match="can't be cast"):
        strided.zeros(0, dtype=strided.int64).add_(0.5)


def test_inplace_returns_self_and_keeps_identity():
    t = strided.tensor([1.0, 2.0])
    for call in (lambda: t.add_(1), lambda: t.mul_(2), lambda: t.clamp_(0, 10),
                 lambda: t.relu_(), lambda: t.exp_(), lambda: t.abs_()):
        assert call() is t
    u = t
    u += 1
    assert u is t


INPLACE_DTYPE_ERRORS = [
    ("int add_ float", lambda: strided.tensor([1, 2]).add_(0.5)),
    ("int itruediv", lambda: operator.itruediv(strided.tensor([1, 2]), 2)),
    ("int div_", lambda: strided.tensor([1, 2]).div_(2)),
    ("int32 mul_ float tensor", lambda: strided.tensor([1, 2], dtype=strided.int32)
     .mul_(strided.tensor([1.0, 2.0]))),
    ("int exp_", lambda: strided.tensor([1, 2]).exp_()),
    ("int sqrt_", lambda: strided.tensor([1, 2]).sqrt_()),
    ("int clamp_ float", lambda: strided.tensor([1, 2]).clamp_(0.5)),
    ("int clamp_ float tensor", lambda: strided.tensor([1, 2]).clamp_(strided.tensor([0.5]))),
    ("uint8 add_ int64 tensor? no: int64 fits", None),
    ("bool add_ 1", lambda: strided.tensor([True]).add_(1)),
    ("bool iadd int tensor", lambda: operator.iadd(strided.tensor([True]), strided.tensor([1]))),
    ("float32 add_ ok / float-> int out", lambda: strided.tensor([1], dtype=strided.uint8)
     .add_(strided.tensor([0.5], dtype=strided.float32))),
    ("int atan2_", lambda: strided.tensor([1, 2]).atan2_(strided.tensor([1, 2]))),
    ("int sigmoid_", lambda: strided.tensor([1, 2]).sigmoid_()),
    ("int pow_ float", lambda: strided.tensor([1, 2]).pow_(0.5)),
]


@pytest.mark.parametrize("desc,call", [p for p in INPLACE_DTYPE_ERRORS if p[1] is not None],
                         ids=[p[0] for p in INPLACE_DTYPE_ERRORS if p[1] is not None])
def test_inplace_dtype_change_raises(desc, call):
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        call()


def test_inplace_dtype_change_leaves_tensor_untouched():
    t = strided.tensor([1, 2, 3])
    v0 = t._version
    with pytest.raises(RuntimeError):
        t.add_(0.5)
    assert_result(t, np.array([1, 2, 3]))
    assert t._version == v0
    # int64 += int32 tensor and float32 += float64 tensor keep self's dtype (no raise)
    u = strided.tensor([1, 2], dtype=strided.int32)
    u += strided.tensor([10, 20], dtype=strided.int64)
    assert_result(u, np.array([11, 22], np.int32))
    f = strided.tensor([1.0, 2.0], dtype=strided.float32)
    f *= strided.tensor([0.5, 0.25], dtype=strided.float64)
    assert_result(f, np.array([0.5, 0.5], np.float32))
    f /= 2
    assert_result(f, np.array([0.25, 0.25], np.float32))


EXPANDED_WRITES = {
    "add_": lambda e: e.add_(1),
    "iadd": lambda e: operator.iadd(e, 1),
    "imul": lambda e: operator.imul(e, 2),
    "mul_tensor": lambda e: e.mul_(strided.ones(3, 4)),
    "clamp_": lambda e: e.clamp_(0, 1),
    "clamp_tensor_": lambda e: e.clamp_(strided.zeros(4)),
    "relu_": lambda e: e.relu_(),
    "exp_": lambda e: e.exp_(),
    "neg_": lambda e: e.neg_(),
    "round_decimals": lambda e: e.round_(decimals=1),
    "div_trunc": lambda e: e.div_(2, rounding_mode="trunc"),
    "lerp_": lambda e: e.lerp_(strided.ones(3, 4), 0.5),
    "eq_": lambda e: e.eq_(1),
    "add_out": lambda e: strided.add(strided.ones(3, 4), 1, out=e),
}


@pytest.mark.parametrize("name", list(EXPANDED_WRITES))
@pytest.mark.parametrize("how", ["expand", "as_strided"])
def test_inplace_on_overlapping_output_raises(name, how):
    base = strided.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    if how == "expand":
        e = base[:4][None].expand(3, 4)
    else:
        e = base.as_strided((3, 4), (1, 1))        # sliding windows: overlapping rows
    before = base.numpy().copy()
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        EXPANDED_WRITES[name](e)
    np.testing.assert_array_equal(base.numpy(), before)


# --------------------------------------------------------------------------------------
# Partial overlap between the output and an input: NumPy's answer
# --------------------------------------------------------------------------------------

OVERLAPS = {
    "a[1:] += a[:-1]": (lambda a: a[1:].__iadd__(a[:-1]), None),
    "a[:-1] += a[1:]": (lambda a: a[:-1].__iadd__(a[1:]), None),
    "a[2:] *= a[:-2]": (lambda a: a[2:].__imul__(a[:-2]), None),
    "a += a[::-1]": (lambda a: a.__iadd__(a[::-1]), None),
    "a[:-1:2] -= a[1::2]": (lambda a: a[:-1:2].__isub__(a[1::2]), None),  # no overlap
    "a[1:].add_(a[:-1], alpha=2)": (lambda a: a[1:].add_(a[:-1], alpha=2),
                                    lambda n: n[1:].__iadd__(2 * n[:-1].copy())),
    "a[1:].clamp_(a[:-1])": (lambda a: a[1:].clamp_(a[:-1]),
                             lambda n: np.maximum(n[1:], n[:-1].copy(), out=n[1:])),
    "exp(a[2:], out=a[:-2])": (lambda a: strided.exp(a[2:], out=a[:-2]),
                               lambda n: np.exp(n[2:], out=n[:-2])),
    "neg(a[::-1], out=a)": (lambda a: strided.neg(a[::-1], out=a),
                            lambda n: np.negative(n[::-1], out=n)),
    "mul(a[1:], a[:-1], out=a[:-1])": (lambda a: strided.mul(a[1:], a[:-1], out=a[:-1]),
                                       lambda n: np.multiply(n[1:], n[:-1], out=n[:-1])),
    "maximum(a[:-3], 2, out=a[3:])": (lambda a: strided.maximum(a[:-3], strided.tensor(2.0),
                                                                out=a[3:]),
                                      lambda n: np.maximum(n[:-3], 2.0, out=n[3:])),
    "where into overlap via copy_": (lambda a: a[1:].copy_(strided.where(a[:-1] > 3, a[:-1],
                                                                         -1.0)),
                                     lambda n: n[1:].__setitem__(
                                         Ellipsis, np.where(n[:-1] > 3, n[:-1], -1.0))),
    "lerp_(a[:-1] end)": (lambda a: a[1:].lerp_(a[:-1], 0.5),
                          lambda n: n[1:].__setitem__(Ellipsis, ref_lerp(n[1:], n[:-1], 0.5))),
}


def _numpy_overlap(name, n):
    ref = OVERLAPS[name][1]
    if ref is not None:
        ref(n)
        return
    # the same Python expression on the NumPy array (NumPy copies overlapping inputs)
    OVERLAPS[name][0](n)


@pytest.mark.parametrize("name", list(OVERLAPS))
@pytest.mark.parametrize("n", [9, 70000], ids=["small", "large"])
def test_partial_overlap_matches_numpy(name, n):
    rng = np.random.default_rng(n)
    vals = np.round(rng.standard_normal(n) * 4, 2)
    a = strided.tensor(vals.copy())
    ref = vals.copy()
    OVERLAPS[name][0](a)
    _numpy_overlap(name, ref)
    np.testing.assert_allclose(a.numpy(), ref, rtol=1e-15)


def test_partial_overlap_2d():
    vals = np.arange(30.0).reshape(5, 6)
    for expr in ("a[1:, :] += a[:-1, :]", "a += a[::-1]", "a += a[0]", "a[1:] *= a[0]",
                 "a[:, 1:] *= a[:, :-1]", "a[1:, 1:] -= a[:-1, :-1]", "a[:, 2:] -= a[:, :1]"):
        a = strided.tensor(vals.copy())
        n = vals.copy()
        exec(expr, {}, {"a": a})
        exec(expr, {}, {"a": n})
        np.testing.assert_array_equal(a.numpy(), n, err_msg=expr)
    # a += a.T on a square matrix (full overlap, different strides)
    sq = np.arange(16.0).reshape(4, 4)
    a = strided.tensor(sq.copy())
    a += a.T
    assert_result(a, sq + sq.T)


# --------------------------------------------------------------------------------------
# Integer division by zero, wrap-around, special float values
# --------------------------------------------------------------------------------------

ZERO_DIVISIONS = {
    "floor_divide": lambda x, z: x.floor_divide(z),
    "remainder": lambda x, z: x.remainder(z),
    "fmod": lambda x, z: x.fmod(z),
    "//": lambda x, z: x // z,
    "%": lambda x, z: x % z,
    "div floor": lambda x, z: x.div(z, rounding_mode="floor"),
    "div trunc": lambda x, z: x.div(z, rounding_mode="trunc"),
    "floor_divide_": lambda x, z: x.floor_divide_(z),
    "remainder_": lambda x, z: x.remainder_(z),
    "ifloordiv": lambda x, z: operator.ifloordiv(x, z),
    "strided.remainder": lambda x, z: strided.remainder(x, z),
    "rfloordiv": lambda x, z: 7 // (x * 0 + z if isinstance(z, int) else z),
}


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", list(ZERO_DIVISIONS))
def test_integer_division_by_zero_raises(name, dtype):
    x = strided.tensor(np.array([5, 7, 9], dtype=dtype))
    zero_t = strided.tensor(np.array([1, 0, 2], dtype=dtype))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ZERO_DIVISIONS[name](x.clone(), 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ZERO_DIVISIONS[name](x.clone(), zero_t)
    big = strided.tensor(np.ones(100_000, dtype=dtype))
    zb = big.clone()
    zb[77_777] = 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ZERO_DIVISIONS[name](big.clone(), zb)


def test_float_division_by_zero_is_ieee():
    x = np.array([1.0, -1.0, 0.0, 3.0], np.float32)
    z = np.zeros(4, np.float32)
    t = strided.tensor(x)
    with np.errstate(all="ignore"):
        assert_result(t / 0, x / z)
        assert_result(t.floor_divide(0.0), np.floor_divide(x, z))
        assert_result(t.remainder(0.0), np.remainder(x, z))
        assert_result(t.fmod(0.0), np.fmod(x, z))
        assert_result(strided.tensor([1, 0, -1]) / 0, np.array([np.inf, np.nan, -np.inf],
                                                                np.float32))


@pytest.mark.parametrize("dtype", INTS)
def test_integer_wraparound(dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, info.max - 1, 0, 1], dtype=dtype)
    t = strided.tensor(a)
    with np.errstate(all="ignore"):
        assert_result(t + t, a + a)
        assert_result(t + 1, a + a.dtype.type(1))
        assert_result(t - 2, a - a.dtype.type(2))
        assert_result(t * t, a * a)
        assert_result(t * 3, a * a.dtype.type(3))
        assert_result(-t, -a)
        assert_result(t.abs(), np.abs(a))
        assert_result(t.square(), np.square(a))
        assert_result(t ** 3, a ** a.dtype.type(3))
        assert_result(t.sum(), np.array(a.astype(np.int64).sum()))
    if dtype != "uint8":
        m = strided.tensor(np.array([info.min, info.min + 1], dtype=dtype))
        assert_result(m // -1, np.array([info.min, info.max], dtype=dtype))
        assert_result(m % -1, np.zeros(2, dtype=dtype))
        assert_result(m.fmod(-1), np.zeros(2, dtype=dtype))


def test_int64_sum_wraps():
    a = np.array([2 ** 62, 2 ** 62, 2 ** 62], np.int64)
    with np.errstate(all="ignore"):
        assert_result(strided.tensor(a).sum(), np.array(a.sum()))


SPECIALS32 = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40,
                       1.1754944e-38, 1.0, -1.0, 88.7, 88.73, -87.3, -103.9, -104.0, 20.0,
                       -20.0, 3.4028235e38, -3.4028235e38, 9.0, -9.0, 0.5],
                      np.float32)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "expm1", "log1p",
                                  "rsqrt", "log2", "exp2", "sin", "abs", "neg", "floor",
                                  "ceil", "round", "trunc", "sign", "relu", "reciprocal",
                                  "square", "erf"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_float_special_values(name, dtype):
    """inf, -inf, nan, +-0, subnormals, huge values: NumPy's values (float64 truth within 2
    ulp for the transcendental ones), and the sign of zero results."""
    x = SPECIALS32.astype(dtype)
    got = getattr(strided.tensor(x), name)().numpy()
    ref = {"sigmoid": np_sigmoid, "rsqrt": lambda v: 1.0 / np.sqrt(v),
           "reciprocal": lambda v: 1.0 / v, "relu": lambda v: np.where(v < 0, 0, v),
           "erf": _erf, "sign": np.sign, "abs": np.abs, "neg": np.negative}.get(
        name, getattr(np, name, None))
    with np.errstate(all="ignore"):
        truth = np.asarray(ref(x.astype(np.float64))).astype(np.float64)
        rounded = truth.astype(dtype)
    assert got.dtype == np.dtype(dtype)
    nan = np.isnan(rounded)
    if name == "sign":
        # np.sign(nan) is nan; PyTorch's sign(nan) is 0 (checked against torch elsewhere)
        nan = np.isnan(x)
        np.testing.assert_array_equal(got[~nan], rounded[~nan])
        return
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{name} NaN pattern")
    ok = ~nan
    g, r, tr = got[ok].astype(np.float64), rounded[ok], truth[ok]
    same_inf = np.isinf(r)
    np.testing.assert_array_equal(g[same_inf], r[same_inf], err_msg=f"{name} infinities")
    fin = ~same_inf
    ulp = np.spacing(np.abs(r[fin])).astype(np.float64)
    err = np.abs(g[fin] - tr[fin]) / ulp
    assert err.max(initial=0) <= 2.0, (name, x[ok][fin][err.argmax()], err.max())
    # signed zeros: where the reference is an exact zero, the sign matches
    zero = r == 0
    if name not in ("sigmoid",):
        np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(r[zero]),
                                      err_msg=f"{name} sign of zero")


def test_exp_float32_accuracy_wide_range():
    """exp over [-103.9, 88.7] (into the subnormals): within 2 ulp of the float64 truth."""
    x = np.linspace(-103.9, 88.72, 400_001).astype(np.float32)
    got = strided.tensor(x).exp().numpy().astype(np.float64)
    truth = np.exp(x.astype(np.float64))
    ulp = np.spacing(truth.astype(np.float32)).astype(np.float64)
    err = np.abs(got - truth) / ulp
    assert err.max() <= 2.0, (x[err.argmax()], err.max())
    assert np.mean(err <= 1.0) > 0.99


def test_tanh_float32_accuracy_wide_range():
    """tanh (NOTE [ Fast tanh ]: a degree-5 polynomial per slot of |x|): within 1.2 ulp of
    the float64 truth, odd, and exactly +-1 from |x| = 9.4 on."""
    x = np.concatenate([np.linspace(-12.0, 12.0, 400_001), np.geomspace(1e-30, 0.7, 20_001)])
    x = np.concatenate([x, -x]).astype(np.float32)
    got = strided.tensor(x).tanh().numpy()
    truth = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    err = np.abs(got.astype(np.float64) - truth) / ulp
    assert err.max() <= 1.2, (x[err.argmax()], err.max())
    assert np.mean(err <= 1.0) > 0.99
    np.testing.assert_array_equal(got[: len(x) // 2], -got[len(x) // 2:])
    big = np.abs(x) >= 9.4
    np.testing.assert_array_equal(got[big], np.sign(x[big]))


def test_erf_gelu_float32_accuracy_wide_range():
    """erf (fastmath.pxd's NOTE [ Fast erf ]) within 2.5 ulp of the float64 truth over
    [-12, 12] and tiny arguments; gelu, gelu_tanh and their backward kernels within 6e-7
    absolute of the float64 formulas, and gelu's lower tail (from erfc, not 1 + erf) within
    1e-5 relative down to 1e-30."""
    x = np.concatenate([np.linspace(-12.0, 12.0, 200_001), np.geomspace(1e-30, 1.2, 10_001)])
    x = np.concatenate([x, -x]).astype(np.float32)
    truth = _erf(x.astype(np.float64))
    got = strided.tensor(x).erf().numpy().astype(np.float64)
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    err = np.abs(got - truth) / ulp
    assert err.max() <= 2.5, (x[err.argmax()], err.max())
    assert np.mean(err <= 1.0) > 0.95

    import strided.nn.functional as F
    core = strided._C.core.tensor
    xs = np.linspace(-15.0, 15.0, 150_001).astype(np.float32)
    xd = xs.astype(np.float64)
    t = strided.tensor(xs)
    ones = strided.ones(len(xs))
    cdf = 0.5 * _erfc(-xd / math.sqrt(2))
    pdf = np.exp(-0.5 * xd * xd) / math.sqrt(2 * math.pi)
    k = math.sqrt(2 / math.pi)
    th = np.tanh(k * (xd + 0.044715 * xd ** 3))
    cases = {
        "gelu": (F.gelu(t), xd * cdf),
        "gelu_backward": (core.binary_op(core.INTERNAL_BINARY_OPS["gelu_backward"], ones, t),
                          cdf + xd * pdf),
        "gelu_tanh": (F.gelu(t, approximate="tanh"), 0.5 * xd * (1 + th)),
        "gelu_tanh_backward": (
            core.binary_op(core.INTERNAL_BINARY_OPS["gelu_tanh_backward"], ones, t),
            0.5 * (1 + th) + 0.5 * xd * (1 - th * th) * k * (1 + 3 * 0.044715 * xd * xd)),
    }
    for name, (got, want) in cases.items():
        assert got.dtype is strided.float32
        err = np.abs(got.numpy().astype(np.float64) - want)
        assert err.max() <= 6e-7, (name, xs[err.argmax()], err.max())
    tail = -np.geomspace(3.0, 15.0, 2001)
    want = tail * 0.5 * _erfc(-tail / math.sqrt(2))
    keep = np.abs(want) > 1e-30
    got = F.gelu(strided.tensor(tail.astype(np.float32))).numpy().astype(np.float64)
    rel = np.abs(got[keep] - want[keep]) / np.abs(want[keep])
    assert rel.max() <= 1e-5, rel.max()


def test_log_float32_accuracy_wide_range():
    """log over every binade (subnormals included) and across 1: within 2 ulp of the float64
    truth; the special inputs as NumPy's."""
    x = np.concatenate([np.geomspace(1e-45, 3.4e38, 400_001), np.linspace(0.5, 2.0, 100_001)])
    x = x.astype(np.float32)
    x = x[x > 0]
    got = strided.tensor(x).log().numpy().astype(np.float64)
    truth = np.log(x.astype(np.float64))
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    err = np.abs(got - truth) / ulp
    assert err.max() <= 2.0, (x[err.argmax()], err.max())
    special = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 1.0], np.float32)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(strided.tensor(special).log().numpy(), np.log(special))


def test_sigmoid_tanh_saturate_without_nan():
    x = np.array([-1e4, -200.0, -90.0, -50.0, 50.0, 90.0, 200.0, 1e4, np.inf, -np.inf],
                 np.float32)
    s = strided.tensor(x).sigmoid().numpy()
    assert not np.isnan(s).any()
    with np.errstate(all="ignore"):
        # results below float32's normal range may flush to 0 (PyTorch's do too)
        np.testing.assert_allclose(s, np_sigmoid(x.astype(np.float64)), rtol=1e-6, atol=1.2e-38)
    t = strided.tensor(x).tanh().numpy()
    np.testing.assert_array_equal(t, np.tanh(x))


# --------------------------------------------------------------------------------------
# Errors: shapes, operand types, bool semantics
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("xshape,yshape", [((2, 3), (4,)), ((2, 3, 5), (3, 4, 5)),
                                           ((3,), (0,)), ((2, 1, 3), (2, 4, 2))], ids=str)
def test_broadcast_error_names_both_shapes(xshape, yshape):
    x, y = strided.ones(*xshape), strided.ones(*yshape)
    pat = (r"\[" + ", ".join(map(str, xshape)) + r"\].*\[" + ", ".join(map(str, yshape)) + r"\]")
    for call in (lambda: x + y, lambda: x * y, lambda: strided.maximum(x, y),
                 lambda: x.lt(y), lambda: strided.atan2(x, y), lambda: x.clone().add_(y)):
        with pytest.raises(RuntimeError, match=pat):
            call()
    with pytest.raises(RuntimeError, match="broadcast"):
        strided.where(strided.ones(*xshape) > 0, x, y)


def test_inplace_cannot_broadcast_self():
    x = strided.ones(3)
    with pytest.raises(RuntimeError):
        x.add_(strided.ones(2, 3))          # the result would have shape (2, 3)


# (not bytes: b"1" + t concatenates t's buffer, as it does for a NumPy array)
BAD_OPERANDS = ["a", [1, 2], (1,), None, object(), 1j, {"x": 1}]


@pytest.mark.parametrize("bad", BAD_OPERANDS, ids=lambda b: type(b).__name__)
def test_bad_operands_raise_type_error(bad):
    t = strided.tensor([1.0, 2.0])
    for call in (lambda: t + bad, lambda: bad + t, lambda: t * bad, lambda: t - bad,
                 lambda: t / bad, lambda: t ** bad, lambda: t < bad, lambda: t & bad,
                 lambda: strided.add(t, bad), lambda: t.add(bad), lambda: t.mul_(bad),
                 lambda: strided.maximum(t, bad), lambda: strided.where(t > 0, t, bad)):
        with pytest.raises(TypeError):
            call()
    u = t
    with pytest.raises(TypeError):
        u += bad
    assert u is t
    assert (t == bad) is False               # Python's fallback for == and !=
    assert (t != bad) is True
    with pytest.raises(TypeError):
        strided.add(1, 2)


def test_bool_semantics():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    ta, tb = strided.tensor(a), strided.tensor(b)
    assert_result(ta + tb, a | b)                      # logical or, stays bool
    assert_result(ta * tb, a & b)
    assert_result(ta & tb, a & b)
    assert_result(ta | tb, a | b)
    assert_result(ta ^ tb, a ^ b)
    assert_result(~ta, ~a)                             # logical not, not -2/-1
    assert_result(ta.bitwise_not(), ~a)
    assert_result(ta + True, np.ones(4, bool))
    assert_result(ta * False, np.zeros(4, bool))
    assert_result(ta.maximum(tb), a | b)
    assert_result(ta.minimum(tb), a & b)
    assert_result(ta < tb, a < b)
    assert_result(ta + 1, a.astype(np.int64) + 1)
    assert_result(ta / tb, np.true_divide(a.astype(np.float32), b.astype(np.float32)))
    assert_result(ta.sum(), np.array(2))
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool"):
        ta - tb
    with pytest.raises(RuntimeError, match="Subtraction"):
        ta.sub(tb)
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        -ta
    t2 = ta.clone()
    t2 += tb
    assert_result(t2, a | b)
    t3 = ta.clone()
    t3 &= tb
    assert_result(t3, a & b)


def test_bool_subtraction_with_mixed_operands_raises():
    i = strided.tensor([1, 2])
    b = strided.tensor([True, False])
    for call in (lambda: i - b, lambda: b - i, lambda: b - 1, lambda: 1 - b, lambda: i - True,
                 lambda: b - 0.5, lambda: i.clone().sub_(b)):
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            call()


def test_pow_negative_int_exponent():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        strided.tensor([2, 3]) ** -1
    assert_result(strided.tensor([2, -2, 1, -1]) ** strided.tensor([-1, -1, -3, -3]),
                  np.array([0, 0, 1, -1]))
    assert_result(strided.tensor([2.0, 4.0], dtype=strided.float64) ** -1, np.array([0.5, 0.25]))
    assert_result(strided.tensor([2, 4]) ** -1.0, np.array([0.5, 0.25], np.float32))


# --------------------------------------------------------------------------------------
# Thread counts
# --------------------------------------------------------------------------------------

@pytest.fixture
def restore_threads():
    n = strided.get_num_threads()
    yield
    strided.set_num_threads(n)


THREAD_OPS = {
    "add": lambda x, y: x + y,
    "mul_bcast": lambda x, y: x * y[:1],
    "div": lambda x, y: x / (y.abs() + 1),
    "exp": lambda x, y: x.exp(),
    "sigmoid": lambda x, y: x.sigmoid(),
    "tanh": lambda x, y: x.tanh(),
    "pow": lambda x, y: x.abs() ** y,
    "lt": lambda x, y: x < y,
    "where": lambda x, y: strided.where(x > y, x, y),
    "clamp": lambda x, y: x.clamp(-0.5, 0.5),
    "maximum": lambda x, y: strided.maximum(x, y),
    "inplace": lambda x, y: x.clone().mul_(y).add_(1),
    "floor_divide": lambda x, y: x // (y.abs() + 0.5),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped", "negative"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_thread_counts_identical(dtype, layout, restore_threads):
    """set_num_threads(1) and (2) give bitwise identical results on >= 100k elements."""
    rng = np.random.default_rng(0)
    shape = (320, 400)
    x, _ = operand(rand(shape, dtype, rng), layout)
    y, _ = operand(rand(shape, dtype, rng), "transposed")
    results = {}
    for n in (1, 2):
        strided.set_num_threads(n)
        assert strided.get_num_threads() == n
        results[n] = {k: f(x, y).numpy() for k, f in THREAD_OPS.items()}
    for k in THREAD_OPS:
        np.testing.assert_array_equal(results[1][k], results[2][k], err_msg=k)


def test_thread_counts_integer_ops(restore_threads):
    rng = np.random.default_rng(1)
    a = rng.integers(-1000, 1000, size=(500, 300)).astype(np.int32)
    b = rng.integers(1, 50, size=(500, 300)).astype(np.int32)
    x, y = strided.tensor(a).T, strided.tensor(b).T
    outs = {}
    for n in (1, 2):
        strided.set_num_threads(n)
        outs[n] = [(x // y).numpy(), (x % y).numpy(), (x * y).numpy(), (x << 3).numpy()]
    for r1, r2 in zip(outs[1], outs[2]):
        np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(outs[2][0], (a // b).T)
    np.testing.assert_array_equal(outs[2][1], (a % b).T)
