"""Type promotion and edge-case values against PyTorch itself (skipped without torch).

For each binary op: every pair of operand kinds -- a tensor with dims, a 0-d tensor (each of
the six dtypes) or a Python bool/int/float -- on both sides; the result dtype, the values
and whether an error is raised must match torch.  Then in-place cast rules, unary and
reduction result dtypes, and values at the edges (NaN, infinities, zero divisors, negative
exponents, shift counts past the bit width, clamp with min > max, half-way rounding,
softmax/logsumexp of huge and infinite inputs, var with corrections).
"""
import itertools
import math
import operator

import numpy as np
import pytest

import strided

torch = pytest.importorskip("torch")

DTYPES = ("bool", "uint8", "int32", "int64", "float32", "float64")
FLOATS = ("float32", "float64")


def sd(name):
    return getattr(strided, name)


def td(name):
    return getattr(torch, name)


def dname(dtype):
    """'float32' for strided.float32 and torch.float32."""
    return str(dtype).split(".")[-1]


def outcome(call):
    """(result, None) or (None, exception) of call()."""
    try:
        return call(), None
    except Exception as e:      # noqa: BLE001 -- any error is an outcome to compare
        return None, e


def as_numpy(r):
    if isinstance(r, (tuple, list)):
        r = r[0]
    return r.numpy() if hasattr(r, "numpy") else np.asarray(r)


def compare(s_call, t_call, *, rtol=1e-6, atol=0.0, check_values=True):
    """Run the strided and torch versions; None when they agree (both raise, or same dtype,
    shape and values), else a description of the difference.  A TypeError from torch means
    torch has no such signature: nothing to compare (returns None)."""
    tr, te = outcome(t_call)
    if isinstance(te, TypeError):
        return None
    sr, se = outcome(s_call)
    if (se is None) != (te is None):
        return f"strided {'raised ' + repr(se) if se else 'did not raise'}, " \
               f"torch {'raised ' + repr(te) if te else 'did not raise'}"
    if se is not None:
        return None
    if isinstance(tr, (tuple, list)) and not isinstance(sr, (tuple, list)):
        return f"torch returned a tuple, strided {type(sr)}"
    t0 = tr[0] if isinstance(tr, (tuple, list)) else tr
    s0 = sr[0] if isinstance(sr, (tuple, list)) else sr
    if not isinstance(t0, torch.Tensor):
        return None if s0 == t0 else f"values {s0!r} vs {t0!r}"
    if dname(s0.dtype) != dname(t0.dtype):
        return f"dtype {dname(s0.dtype)} vs torch {dname(t0.dtype)}"
    sv, tv = as_numpy(s0), as_numpy(t0)
    if sv.shape != tv.shape:
        return f"shape {sv.shape} vs torch {tv.shape}"
    if check_values:
        if sv.dtype.kind == "f":
            ok = np.allclose(sv, tv, rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = np.array_equal(sv, tv)
        if not ok:
            return f"values {sv.tolist()} vs torch {tv.tolist()}"
    return None


# --------------------------------------------------------------------------------------
# Binary promotion table
# --------------------------------------------------------------------------------------

LHS_VALUES = [3, 1, 2, 5]
RHS_VALUES = [1, 2, 1, 2]          # no zero divisors, no negative exponents

# kind: ("t", dtype) a 1-d tensor, ("0d", dtype) a 0-d tensor, ("py", value) a Python number
KINDS = ([("t", d) for d in DTYPES] + [("0d", d) for d in DTYPES] +
         [("py", True), ("py", 2), ("py", 2.5)])


def kind_id(k):
    return f"{k[0]}-{k[1]}" if k[0] != "py" else f"py-{type(k[1]).__name__}"


def make_operand(kind, lib, vals):
    """The operand of `kind` for strided (lib = strided) or torch."""
    if kind[0] == "py":
        return kind[1]
    a = np.array(vals if kind[0] == "t" else vals[0]).astype(kind[1])
    if lib is strided:
        return strided.from_numpy(a.copy())
    return torch.from_numpy(a.copy())


# op: (strided function, torch function, Python operator or None)
BINARY_OPS = {
    "add": (strided.add, torch.add, operator.add),
    "sub": (strided.sub, torch.sub, operator.sub),
    "mul": (strided.mul, torch.mul, operator.mul),
    "div": (strided.div, torch.div, operator.truediv),
    "floor_divide": (strided.floor_divide, torch.floor_divide, operator.floordiv),
    "remainder": (strided.remainder, torch.remainder, operator.mod),
    "fmod": (strided.fmod, torch.fmod, None),
    "pow": (strided.pow, torch.pow, operator.pow),
    "maximum": (strided.maximum, torch.maximum, None),
    "minimum": (strided.minimum, torch.minimum, None),
    "atan2": (strided.atan2, torch.atan2, None),
    "eq": (strided.eq, torch.eq, operator.eq),
    "lt": (strided.lt, torch.lt, operator.lt),
    "logical_and": (strided.logical_and, torch.logical_and, None),
    "logical_xor": (strided.logical_xor, torch.logical_xor, None),
    "bitwise_and": (strided.bitwise_and, torch.bitwise_and, operator.and_),
    "bitwise_xor": (strided.bitwise_xor, torch.bitwise_xor, operator.xor),
    "bitwise_left_shift": (strided.bitwise_left_shift, torch.bitwise_left_shift,
                           operator.lshift),
}


def is_bool_kind(k):
    return k[1] == "bool" or (k[0] == "py" and isinstance(k[1], bool))


def known_binary_bug(op, ka, kb):
    """The reason string of a known strided bug for this combination, or None (none left:
    bool subtraction, bool shifts and bool ** True now match PyTorch)."""
    return None


def binary_diffs(op, ka, kb):
    """Differences between strided and torch for op(a, b) (function and operator forms)."""
    sfn, tfn, pyop = BINARY_OPS[op]
    sa, sb = make_operand(ka, strided, LHS_VALUES), make_operand(kb, strided, RHS_VALUES)
    ta, tb = make_operand(ka, torch, LHS_VALUES), make_operand(kb, torch, RHS_VALUES)
    diffs = []
    if ka[0] != "py":
        diffs.append(("function", compare(lambda: sfn(sa, sb), lambda: tfn(ta, tb))))
    if pyop is not None:
        diffs.append(("operator", compare(lambda: pyop(sa, sb), lambda: pyop(ta, tb))))
    return [(how, d) for how, d in diffs if d is not None]


@pytest.mark.parametrize("ka", KINDS, ids=kind_id)
@pytest.mark.parametrize("op", list(BINARY_OPS))
def test_binary_promotion_table(op, ka):
    """op(a, b) for a of kind ka and b of every kind (tensor with dims / 0-d tensor of each
    dtype, Python bool / int / float): same dtype, values and errors as torch.  Known bugs
    would be skipped here (known_binary_bug; none are left)."""
    failures = []
    for kb in KINDS:
        if (ka[0] == "py" and kb[0] == "py") or known_binary_bug(op, ka, kb):
            continue
        d = binary_diffs(op, ka, kb)
        if d:
            failures.append((kind_id(kb), d))
    assert not failures, failures


def test_promotion_table_is_really_exercised():
    """Sanity: the comparison sees dtype differences (it is not vacuous)."""
    assert compare(lambda: strided.tensor([1], dtype=strided.int32) + 1.5,
                   lambda: torch.tensor([1], dtype=torch.int32) + 1) is not None
    assert compare(lambda: strided.tensor([1]) + 1, lambda: torch.tensor([1]) + 2) is not None
    assert compare(lambda: strided.tensor([1]) + 1, lambda: torch.tensor([1]) + 1) is None


# --------------------------------------------------------------------------------------
# In-place cast rules
# --------------------------------------------------------------------------------------

INPLACE_OPS = ("add_", "sub_", "mul_", "div_", "floor_divide_", "remainder_", "pow_",
               "bitwise_and_", "clamp_", "maximum_out")


def inplace_call(lib, name, a, b):
    if name == "maximum_out":
        return lib.maximum(a, b, out=a)
    if name == "clamp_":
        return a.clamp_(min=b)
    return getattr(a, name)(b)


def known_inplace_bug(name, da, kb):
    """The reason string of a known strided bug, or None (none left)."""
    return None


def inplace_diff(name, da, kb):
    sa = make_operand(("t", da), strided, LHS_VALUES)
    ta = make_operand(("t", da), torch, LHS_VALUES)
    sb, tb = make_operand(kb, strided, RHS_VALUES), make_operand(kb, torch, RHS_VALUES)
    d = compare(lambda: inplace_call(strided, name, sa, sb),
                lambda: inplace_call(torch, name, ta, tb))
    if d is None and not np.array_equal(sa.numpy(), ta.numpy()):
        d = f"self afterwards {sa.numpy().tolist()} vs torch {ta.numpy().tolist()}"
    return d


@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("name", INPLACE_OPS)
def test_inplace_cast_rules(name, da):
    """a.op_(b) for b of every kind: raises exactly when torch does (the result type can't
    be cast to a's dtype), else a keeps its dtype and gets torch's values; either way a
    holds the same values as torch's afterwards."""
    failures = []
    for kb in KINDS:
        if known_inplace_bug(name, da, kb):
            continue
        d = inplace_diff(name, da, kb)
        if d is not None:
            failures.append((kind_id(kb), d))
    assert not failures, failures


@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("sym", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=",
                                 "<<="])
def test_augmented_assignment_cast_rules(sym, da):
    for kb in (("t", "int64"), ("t", "float64"), ("py", 2), ("py", 2.5), ("t", da)):
        if sym == "-=" and da != "bool" and is_bool_kind(kb):
            continue                                 # the bool-subtraction bug, above
        if sym == "<<=" and da == "bool" and is_bool_kind(kb):
            continue                                 # the bool-shift bug, above
        code = f"a {sym} b"
        sa = make_operand(("t", da), strided, LHS_VALUES)
        ta = make_operand(("t", da), torch, LHS_VALUES)
        sb, tb = make_operand(kb, strided, RHS_VALUES), make_operand(kb, torch, RHS_VALUES)

        def run(a, b):
            ns = {"a": a, "b": b}
            exec(code, {}, ns)
            return ns["a"]
        d = compare(lambda: run(sa, sb), lambda: run(ta, tb))
        assert d is None, (code, da, kb, d)


# --------------------------------------------------------------------------------------
# Unary ops: result dtypes and errors on every input dtype
# --------------------------------------------------------------------------------------

UNARY = ["neg", "abs", "sign", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
         "sqrt", "rsqrt", "square", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
         "cosh", "tanh", "sigmoid", "relu", "floor", "ceil", "round", "trunc", "frac",
         "reciprocal", "erf", "erfc", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
         "signbit", "logical_not", "bitwise_not", "nan_to_num"]

UNARY_PERMISSIVE = set()  # (op, dtype) that strided accepts but PyTorch rejects: none left


def unary_params():
    out = []
    for name in UNARY:
        for dt in DTYPES:
            marks = []
            if (name, dt) in UNARY_PERMISSIVE:
                marks.append(pytest.mark.xfail(
                    strict=True, reason=f"BUG (minor): {name} of a {dt} tensor is accepted; "
                                        f"PyTorch raises 'not implemented for'"))
            out.append(pytest.param(name, dt, marks=marks, id=f"{name}-{dt}"))
    return out


@pytest.mark.parametrize("name,dt", unary_params())
def test_unary_result_dtype(name, dt):
    vals = np.array([3, 1, 0, 2]).astype(dt)
    d = compare(lambda: getattr(strided.from_numpy(vals.copy()), name)(),
                lambda: getattr(torch.from_numpy(vals.copy()), name)(), rtol=2e-6)
    assert d is None, d
    if hasattr(torch.Tensor, name + "_") and hasattr(strided.Tensor, name + "_"):
        d = compare(lambda: getattr(strided.from_numpy(vals.copy()), name + "_")(),
                    lambda: getattr(torch.from_numpy(vals.copy()), name + "_")(), rtol=2e-6)
        assert d is None, ("in-place", d)


# --------------------------------------------------------------------------------------
# Reductions: result dtypes
# --------------------------------------------------------------------------------------

REDUCTIONS = {
    "sum": lambda t: t.sum(), "sum_dim": lambda t: t.sum(1), "prod": lambda t: t.prod(),
    "prod_dim": lambda t: t.prod(0), "mean": lambda t: t.mean(), "mean_dim": lambda t: t.mean(1),
    "max": lambda t: t.max(), "max_dim": lambda t: t.max(1), "min_dim": lambda t: t.min(0),
    "amax": lambda t: t.amax(), "amin_dim": lambda t: t.amin(1),
    "argmax": lambda t: t.argmax(), "argmin_dim": lambda t: t.argmin(1),
    "any": lambda t: t.any(), "all_dim": lambda t: t.all(1),
    "var": lambda t: t.var(), "std_dim": lambda t: t.std(1), "norm": lambda t: t.norm(),
    "logsumexp": lambda t: t.logsumexp(1), "cumsum": lambda t: t.cumsum(1),
    "cumprod": lambda t: t.cumprod(0), "softmax": lambda t: t.softmax(1),
    "log_softmax": lambda t: t.log_softmax(0),
    "cumsum_f64": lambda t: t.cumsum(0, dtype=(strided.float64 if isinstance(t, strided.Tensor)
                                               else torch.float64)),
}

REDUCTION_KNOWN = {}  # (reduction, dtype) known to differ from PyTorch: none left


def reduction_params():
    out = []
    for name in REDUCTIONS:
        for dt in DTYPES:
            marks = []
            if (name, dt) in REDUCTION_KNOWN:
                marks.append(pytest.mark.xfail(strict=True, reason=REDUCTION_KNOWN[(name, dt)]))
            out.append(pytest.param(name, dt, marks=marks, id=f"{name}-{dt}"))
    return out


@pytest.mark.parametrize("name,dt", reduction_params())
def test_reduction_result_dtype(name, dt):
    vals = np.array([[3, 1, 0], [2, 5, 1]]).astype(dt)
    f = REDUCTIONS[name]
    d = compare(lambda: f(strided.from_numpy(vals.copy())),
                lambda: f(torch.from_numpy(vals.copy())), rtol=2e-6, atol=2e-7)
    assert d is None, d


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod"])
@pytest.mark.parametrize("dt", ["int32", "uint8", "float64", "int64"])
def test_reduction_dtype_argument(name, dt, request):
    vals = np.array([[3, 1, 7], [2, 5, 1]], np.int64)

    def run(lib, t):
        kw = {"dtype": getattr(lib, dt)}
        return getattr(t, name)(**kw) if name in ("sum", "prod") else getattr(t, name)(1, **kw)
    d = compare(lambda: run(strided, strided.from_numpy(vals.copy())),
                lambda: run(torch, torch.from_numpy(vals.copy())))
    assert d is None, d


# --------------------------------------------------------------------------------------
# Values at the edges
# --------------------------------------------------------------------------------------

def both(expr, **extra):
    """Evaluate expr with T = tensor constructor and L = the library, for strided and torch;
    returns (strided call, torch call) for compare()."""
    def make(lib):
        def T(data, dtype=None):
            a = np.array(data, dtype=dtype)
            return strided.from_numpy(a) if lib is strided else torch.from_numpy(a)
        env = {"T": T, "L": lib, "inf": math.inf, "nan": math.nan, **extra}
        return lambda: eval(expr, env)
    return make(strided), make(torch)


EDGE_CASES = [
    # sign / relu / maximum with NaN and signed zeros
    "L.sign(T([nan, -0.0, 0.0, -2.0, 3.0, inf, -inf], 'float32'))",
    "L.sign(T([-3, 0, 4], 'int32'))",
    "L.relu(T([nan, -1.0, -0.0, 2.0], 'float64'))",
    "L.maximum(T([nan, 1.0, 2.0, -inf]), T([0.0, nan, 1.0, nan]))",
    "L.minimum(T([nan, 1.0, 2.0, inf], 'float32'), T([0.0, nan, 1.0, nan], 'float32'))",
    "L.maximum(T([-0.0, 0.0]), T([0.0, -0.0]))",
    # floor division and remainder: negative operands, zero divisors (floats)
    "L.floor_divide(T([-7., 7., -7., 7., 1., -1., 0., -0.5], 'float32'), "
    "T([2., -2., -2., 2., 0., 0., 0., 0.25], 'float32'))",
    "L.remainder(T([-7., 7., -7., 7., 1., -1., 0., -2., 5.5], 'float64'), "
    "T([2., -2., -2., 2., 0., 0., 0., 1., -inf]))",
    "L.fmod(T([-7., 7., -7., 7., 1., inf], 'float32'), T([2., -2., -2., 2., 0., 2.], 'float32'))",
    "L.floor_divide(T([-7, 7, -7, 7, -8, 0], 'int64'), T([2, -2, -2, 2, 3, -5], 'int64'))",
    "L.remainder(T([-7, 7, -7, 7, -8, 0], 'int32'), T([2, -2, -2, 2, 3, -5], 'int32'))",
    "L.fmod(T([-7, 7, -7, 7, -8], 'int64'), T([2, -2, -2, 2, 3], 'int64'))",
    "L.remainder(T([5, -5], 'int32'), 2.5)",
    "L.floor_divide(T([5, -5], 'int64'), -2)",
    "T([-7, 7], 'int64') // T([2, -2], 'int64')",
    "T([-7.5, 7.5], 'float32') % -2",
    "-7 % T([2, -2, 3], 'int32')",
    "L.floor_divide(T([1, 2], 'int64'), T([0, 1], 'int64'))",
    "L.remainder(T([1, 2], 'int32'), 0)",
    "L.div(T([1, 2, 0], 'int64'), 0)",
    "L.div(T([-7, 7, -1], 'int64'), 2, rounding_mode='trunc')",
    "L.div(T([-7, 7, -1], 'int32'), T([2, -2, 3], 'int32'), rounding_mode='floor')",
    "L.div(T([-7., 7.5, -1.], 'float32'), 2, rounding_mode='trunc')",
    # integer powers with negative exponents
    "L.pow(T([2, -2, 1, -1, 0, 3], 'int64'), T([-1, -1, -3, -3, 0, -2], 'int64'))",
    "L.pow(T([2, -2, 1, -1], 'int32'), T([-1, -1, -4, -5], 'int32'))",
    "L.pow(2, T([-1, 0, 3], 'int64'))",
    "L.pow(T([2, 3], 'int64'), -1)",
    "L.pow(T([2, 3], 'int32'), 31)",
    "L.pow(T([2, 3], 'uint8'), 9)",
    "L.pow(T([0., -8., 2., -2.]), T([-1., 1 / 3, 0.5, 3.]))",
    "L.pow(T([0, 2], 'int64'), 0.5)",
    # shifts by >= the bit width
    "L.bitwise_left_shift(T([1, -1, 5, 3], 'int32'), T([31, 32, 33, 100], 'int32'))",
    "L.bitwise_right_shift(T([-8, 8, -1, 7], 'int32'), T([31, 32, 100, 0], 'int32'))",
    "L.bitwise_left_shift(T([1, 3], 'int64'), T([63, 64], 'int64'))",
    "L.bitwise_right_shift(T([-8, 8], 'int64'), T([64, 70], 'int64'))",
    "L.bitwise_left_shift(T([1, 3], 'uint8'), T([7, 8], 'uint8'))",
    "L.bitwise_right_shift(T([255, 128], 'uint8'), T([7, 9], 'uint8'))",
    "L.bitwise_left_shift(T([1, 3], 'int64'), T([-1, -2], 'int64'))",
    "L.bitwise_right_shift(T([-8, 8], 'int64'), T([-1, -2], 'int64'))",
    "T([1, 3], 'int32') << 40",
    "T([-5, 5], 'int64') >> 64",
    # clamp: min > max, NaN inputs, mixed types
    "L.clamp(T([1., 5., nan, 3.]), 4, 2)",
    "L.clamp(T([1., 5., nan]), T([4., 4., 4.]), T([2., 2., 2.]))",
    "L.clamp(T([1, 5, 3], 'int32'), 4, 2)",
    "L.clamp(T([1, 5], 'int64'), 0.5, 2)",
    "L.clamp(T([1, 5], 'int32'), T([2., 2.], 'float32'))",
    "L.clamp(T([1, 5, 200], 'uint8'), -1, 3)",
    "L.clamp(T([True, False]), 0, 1)",
    "T([1., 5., nan]).clamp(max=2.)",
    # round half to even
    "L.round(T([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.675, 1e16 + 1]))",
    "L.round(T([0.5, 1.5, 2.5, -0.5, 4.5], 'float32'))",
    "L.round(T([0.125, 1.25, 2.675, 12345.5]), decimals=2)",
    "L.round(T([1250., 1350., -1250.]), decimals=-2)",
    "L.round(T([0.125, 1.25, 2.675], 'float32'), decimals=2)",
    # softmax / log_softmax / logsumexp with huge and infinite inputs
    "L.softmax(T([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 - 2]]), 1)",
    "L.softmax(T([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 - 2]], 'float32'), 0)",
    "L.log_softmax(T([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 - 2]]), 0)",
    "L.softmax(T([[-inf, 0., 1.], [-inf, -inf, -inf], [-inf, -inf, 3.]]), 1)",
    "L.log_softmax(T([[-inf, 0., 1.], [-inf, -inf, 3.]], 'float32'), 1)",
    "L.softmax(T([[nan, 1.0], [1.0, 2.0]]), 1)",
    "L.logsumexp(T([[inf, 1.0], [-inf, -inf], [inf, inf], [nan, 1.0], [1e4, 1e4], "
    "[-inf, 0.]]), 1)",
    "L.logsumexp(T([[1e4, 1e4], [-1e4, -1e4]], 'float32'), (0, 1))",
    "L.logsumexp(T([[1e4, 1e4], [-1e4, -1e4]], 'float32'), 0)",
    "L.logsumexp(T([[-inf], [-inf]]), 0)",
    "L.logsumexp(T([[1, 2], [3, 4]], 'int64'), 1)",
    # var / std with corrections, N = 1 and small N
    "L.var(T([1.0]))",
    "L.var(T([1.0]), correction=0)",
    "L.var(T([1.0, 2.0]), correction=2)",
    "L.var(T([1.0, 2.0, 4.0]), correction=2)",
    "L.var(T([[1.0, 2.], [3., 5.]]), 0, correction=0)",
    "L.var(T([[1.0, 2.], [3., 5.]], 'float32'), 1, correction=1, keepdim=True)",
    "L.std(T([1.0]))",
    "L.std(T([[1.0, 2., 4.], [3., 5., 9.]]), (0, 1), correction=2)",
    "L.var(T([[1.0], [2.]]), 1)",
    "L.var(T([1.0, 2., 4.]), correction=5)",
    # NaN in reductions
    "T([1., nan, 3., nan]).max()",
    "T([1., nan, 3., nan]).argmax()",
    "T([1., nan, 3., nan]).argmin()",
    "T([[1., nan, 3., nan], [5., 2., 2., 1.]]).max(1)",
    "T([[1., nan, 3., nan], [5., 2., 2., 1.]]).min(1)",
    "T([[1., 5., 3., 5.]]).max(1)",
    "T([1., nan]).sum()",
    "T([-inf, -inf]).amax()",
    "T([nan, 1.0]).amin()",
    "T([3.0, -1.0]).norm(0)",
    "T([3.0, -4.0]).norm(float('inf'))",
    "T([3.0, -4.0]).norm(-float('inf'))",
    "T([3.0, -4.0, 1.0]).norm(3)",
    "T([[3.0, -4.0], [1.0, 2.0]]).norm('fro')",
    "T([[3.0, -4.0], [1.0, 2.0]]).norm(1, 1)",
    # scalars on the left with promotion
    "2 - T([1, 2], 'uint8')",
    "2.5 / T([1, 2], 'int32')",
    "2 ** T([1, 2], 'int32')",
    "2.0 ** T([1, 2], 'int32')",
    "True + T([1, 2], 'uint8')",
    "T([3, 4], 'uint8') - 5",
    "T([3, 4], 'uint8') * -1",
    "-T([3, 4], 'uint8')",
    "T([3, 4], 'uint8') < -1",
    "T([1, 2], 'int64') == 1.5",
    "T([2**53 + 1], 'int64') == 2**53",
]


@pytest.mark.parametrize("expr", EDGE_CASES)
def test_edge_values_match_torch(expr):
    s, t = both(expr)
    d = compare(s, t, rtol=1e-6, atol=1e-12)
    assert d is None, d


EDGE_BUGS = {
    "L.clamp(T([1., 5.]), nan, 2.)":
        "BUG: clamp with a NaN scalar bound ignores it (PyTorch: NaN)",
    "L.softmax(T([[inf, 1.0], [1.0, 2.0]]), 1)":
        "BUG: softmax of a row with +inf gives [nan, 0] (PyTorch: all NaN)",
    "L.log_softmax(T([[inf, 1.0], [1.0, 2.0]]), 1)":
        "BUG: log_softmax of a row with +inf gives [nan, -inf] (PyTorch: all NaN)",
    "L.logsumexp(T([[-inf, -inf]]), (0, 1))":
        "BUG: logsumexp over several dims of all -inf gives NaN (PyTorch: -inf)",
    "L.logsumexp(T([[inf, 1.]]), (0, 1))":
        "BUG: logsumexp over several dims with +inf gives NaN (PyTorch: inf)",
    "L.logsumexp(T(-inf), 0)":
        "BUG: logsumexp of a 0-d -inf gives NaN (PyTorch: -inf)",
    "T([1., 2.], 'float32') + 1e300":
        "BUG: float32 tensor op a Python float beyond float32's range raises (PyTorch: inf)",
    "T([1., 2.], 'float32') < 1e300":
        "BUG: comparing a float32 tensor with a Python float beyond float32's range raises",
    "T([1., 2.], 'float32') == 1e39":
        "BUG: comparing a float32 tensor with a Python float beyond float32's range raises",
    "L.zeros(0).any()": "BUG: any() of an empty tensor raises (PyTorch: False)",
    "L.zeros(0, 3).all(0)": "BUG: all() over an empty dim raises (PyTorch: True)",
    "L.log_softmax(T([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 - 2]], 'float32'), 1)":
        "BUG: log_softmax along a contiguous dim computes x - (max + log(sum)) in float32: "
        "off by up to ulp(max) (2e-4 at 1e4); PyTorch computes (x - max) - log(sum)",
    "L.div(7, T([2, -2], 'int64'), rounding_mode='floor')":
        "BUG: div(number, int tensor, rounding_mode=...) gives float32 (PyTorch: int64)",
    "T([1., 2.], 'float32').lerp(T([3., 4.], 'float32'), T([0.5, 0.5], 'float64'))":
        "BUG: lerp with a weight of another dtype promotes instead of raising",
    "T([1e16, 3.0]).lerp(T([1.0, 1e-17]), T([1.0, 1.0]))":
        "BUG: lerp with a tensor weight is not exact at weight 1 (gives 0, PyTorch: end)",
}


@pytest.mark.parametrize("expr", list(EDGE_BUGS))
def test_edge_values_fixed_bugs(expr, request):
    """Cases that once differed from PyTorch (EDGE_BUGS says how); now they must match."""
    s, t = both(expr)
    d = compare(s, t, rtol=1e-6, atol=1e-12)
    assert d is None, d


def test_integer_scalar_out_of_dtype_range():
    """PyTorch wraps an int scalar that doesn't fit the tensor's dtype (int32_t + 2**40);
    strided refuses it with PyTorch's own overflow message (as NumPy 2 does).  Pin both so a
    change is deliberate."""
    with pytest.raises(RuntimeError, match="without overflow"):
        strided.tensor([1, 2], dtype=strided.int32) + 2 ** 40
    with pytest.raises(RuntimeError, match="without overflow"):
        strided.tensor([1, 2], dtype=strided.uint8) + 300
    assert torch.equal(torch.tensor([1, 2], dtype=torch.int32) + 2 ** 40,
                       torch.tensor([1, 2], dtype=torch.int32))


def test_random_binary_values_match_torch():
    """Random operands (negatives, zeros for floats) through the arithmetic ops."""
    rng = np.random.default_rng(0)
    for dt in ("int32", "int64", "float32", "float64", "uint8"):
        a = (rng.integers(-50, 50, 200) if dt != "uint8" else rng.integers(0, 255, 200))
        b = (rng.integers(-9, 10, 200) if dt != "uint8" else rng.integers(0, 12, 200))
        if dt in FLOATS:
            a = a * 0.37
            b = b * 0.5
        else:
            b[b == 0] = 1
        a, b = a.astype(dt), b.astype(dt)
        for op in ("add", "sub", "mul", "div", "floor_divide", "remainder", "fmod",
                   "maximum", "minimum", "atan2", "eq", "lt"):
            sfn, tfn, _ = BINARY_OPS[op]
            d = compare(lambda: sfn(strided.from_numpy(a.copy()), strided.from_numpy(b.copy())),
                        lambda: tfn(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())),
                        rtol=2e-6, atol=1e-6)
            assert d is None, (op, dt, d)
