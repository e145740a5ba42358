"""Autograd (issue 6) against NumPy and finite differences: no torch here.

Gradients are checked as vector-Jacobian products: every leaf's .grad after
`backward(gradient=w)` (w random) must equal the central finite difference of
sum(fn(inputs) * w) with respect to each input element, in float64.  Inputs are built in
several layouts (contiguous, transposed, sliced with steps, negative strides) because many
kernels take a different path for non-contiguous operands.  Where the function is not
differentiable at the chosen points (ties of max/min, clamp bounds) the reference is the
subgradient PyTorch defines, written out in NumPy.
"""
import gc
import math
import weakref

import numpy as np
import pytest

import strided as S
import strided.nn.functional as F
from strided.autograd import Function, gradcheck

F64 = S.float64
F32 = S.float32

LAYOUTS = ("contiguous", "transposed", "sliced", "negative")


# ---- helpers -------------------------------------------------------------------------------

def make(arr, layout="contiguous", requires_grad=True, dtype=None):
    """A leaf holding arr's values (float64 unless dtype) laid out as `layout`."""
    arr = np.asarray(arr, dtype=np.float64 if dtype is None else dtype)
    nd = arr.ndim
    if nd == 0 or layout == "contiguous":
        t = S.tensor(arr.copy())
    elif layout == "transposed":             # all dims reversed: strides increase
        t = S.tensor(np.ascontiguousarray(arr.T)).permute(*reversed(range(nd)))
    elif layout == "sliced":                 # every dim [1::2] of a larger buffer
        big = np.full([2 * n + 1 for n in arr.shape], 1e6, dtype=arr.dtype)
        big[(slice(1, None, 2),) * nd] = arr
        t = S.tensor(big)[(slice(1, None, 2),) * nd]
    elif layout == "negative":               # every stride negative
        flipped = np.ascontiguousarray(arr[(slice(None, None, -1),) * nd])
        t = S.tensor(flipped)[(slice(None, None, -1),) * nd]
    else:
        raise ValueError(layout)
    assert t.shape == arr.shape
    np.testing.assert_array_equal(t.numpy(), arr)
    if requires_grad:
        t.requires_grad_()
        assert t.is_leaf
    return t


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def check_grad(fn, arrays, layouts=None, needs_grad=None, eps=1e-6, rtol=1e-6, atol=1e-7,
               seed=0, allow_unused=False):
    """Assert that backward through fn matches finite differences (see module docstring).

    fn takes strided tensors and returns a tensor or a tuple of tensors (all differentiable).
    Returns the leaves so callers can inspect them further."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    layouts = list(layouts or ["contiguous"] * len(arrays))
    needs_grad = list(needs_grad or [True] * len(arrays))
    leaves = [make(a, lay, req) for a, lay, req in zip(arrays, layouts, needs_grad)]
    outs = _outs(fn(*leaves))
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(tuple(o.shape)) for o in outs]
    for o in outs:
        assert o.requires_grad and o.dtype is F64, (o.requires_grad, o.dtype)
    S.autograd.backward(outs, [S.tensor(w) for w in ws])

    def objective(arrs):
        ts = [make(a, lay, False) for a, lay in zip(arrs, layouts)]
        return sum(float((o.numpy().astype(np.float64) * w).sum())
                   for o, w in zip(_outs(fn(*ts)), ws))

    for i, (arr, leaf) in enumerate(zip(arrays, leaves)):
        if not needs_grad[i]:
            assert leaf.grad is None
            continue
        numeric = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            numeric[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        if leaf.grad is None and allow_unused:
            np.testing.assert_array_equal(numeric, 0.0)
            continue
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert leaf.grad.shape == leaf.shape and leaf.grad.dtype is F64
        np.testing.assert_allclose(leaf.grad.numpy(), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return leaves


def rand(*shape, seed=0, lo=None, hi=None, away=None):
    """Random float64 values: standard normal, or uniform in [lo, hi]; `away` keeps them at
    least that far from the integers (for floor/round/remainder-like ops)."""
    rng = np.random.default_rng(seed)
    if lo is None:
        a = rng.standard_normal(shape)
    else:
        a = rng.uniform(lo, hi, shape)
    if away is not None:
        frac = a - np.floor(a)
        a = np.floor(a) + np.clip(frac, away, 1 - away)
        a = np.where(np.abs(frac - 0.5) < 1e-9, a + 0.1, a)
    return a


def nonzero(*shape, seed=0, margin=0.2):
    a = rand(*shape, seed=seed)
    return np.sign(a) * (np.abs(a) + margin) + (a == 0) * margin


# ---- element-wise unary ops ----------------------------------------------------------------

def _softplus_np(x, beta, threshold):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


UNARY = {
    # name: (fn, input generator)
    "neg": (lambda t: t.neg(), lambda: rand(3, 4)),
    "neg_op": (lambda t: -t, lambda: rand(3, 4)),
    "abs": (lambda t: t.abs(), lambda: nonzero(3, 4)),
    "abs_builtin": (lambda t: abs(t), lambda: nonzero(3, 4)),
    "sign": (lambda t: t.sign() + t, lambda: nonzero(3, 4)),
    "square": (lambda t: t.square(), lambda: rand(3, 4)),
    "relu": (lambda t: t.relu(), lambda: nonzero(3, 4)),
    "floor": (lambda t: t.floor() + t * 0.5, lambda: rand(3, 4, away=0.1) * 1.0),
    "ceil": (lambda t: t.ceil() * t, lambda: rand(3, 4, away=0.1)),
    "round": (lambda t: t.round() * t, lambda: rand(3, 4, away=0.1) * 3),
    "trunc": (lambda t: t.trunc() + t, lambda: rand(3, 4, away=0.1) * 3),
    "frac": (lambda t: t.frac(), lambda: rand(3, 4, away=0.1) * 3),
    "exp": (lambda t: t.exp(), lambda: rand(3, 4)),
    "exp2": (lambda t: S.exp2(t), lambda: rand(3, 4)),
    "expm1": (lambda t: t.expm1() if hasattr(t, "expm1") else S.expm1(t), lambda: rand(3, 4)),
    "log": (lambda t: t.log(), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "log2": (lambda t: S.log2(t), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "log10": (lambda t: S.log10(t), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "log1p": (lambda t: S.log1p(t), lambda: rand(3, 4, lo=-0.5, hi=3.0)),
    "sqrt": (lambda t: t.sqrt(), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "rsqrt": (lambda t: t.rsqrt(), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "sin": (lambda t: t.sin(), lambda: rand(3, 4)),
    "cos": (lambda t: t.cos(), lambda: rand(3, 4)),
    "tan": (lambda t: t.tan(), lambda: rand(3, 4, lo=-1.2, hi=1.2)),
    "asin": (lambda t: t.asin(), lambda: rand(3, 4, lo=-0.9, hi=0.9)),
    "acos": (lambda t: t.acos(), lambda: rand(3, 4, lo=-0.9, hi=0.9)),
    "atan": (lambda t: t.atan(), lambda: rand(3, 4)),
    "sinh": (lambda t: t.sinh(), lambda: rand(3, 4)),
    "cosh": (lambda t: t.cosh(), lambda: rand(3, 4)),
    "tanh": (lambda t: t.tanh(), lambda: rand(3, 4)),
    "sigmoid": (lambda t: t.sigmoid(), lambda: rand(3, 4)),
    "reciprocal": (lambda t: t.reciprocal(), lambda: nonzero(3, 4, margin=0.3)),
    "erf": (lambda t: t.erf(), lambda: rand(3, 4)),
    "erfc": (lambda t: t.erfc(), lambda: rand(3, 4)),
    "gelu": (lambda t: F.gelu(t), lambda: rand(3, 4) * 2),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda: rand(3, 4) * 2),
    "silu": (lambda t: F.silu(t), lambda: rand(3, 4) * 2),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda: nonzero(3, 4)),
    "softplus": (lambda t: F.softplus(t), lambda: rand(3, 4) * 3),
    "softplus_beta_threshold": (lambda t: F.softplus(t, 2.0, 1.5), lambda: rand(3, 4) * 2),
    "nan_to_num": (lambda t: (t.log()).nan_to_num(), lambda: rand(3, 4, lo=0.3, hi=3.0)),
    "pos": (lambda t: (+t) * 1.0, lambda: rand(3, 4)),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "negative"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_grad(name, layout):
    fn, gen = UNARY[name]
    check_grad(fn, [gen()], [layout])


def test_softplus_values_and_threshold_branch():
    x = np.array([-3.0, -0.2, 0.4, 0.9, 2.0, 5.0])
    t = make(x)
    y = F.softplus(t, 2.0, 1.5)
    np.testing.assert_allclose(y.detach().numpy(), _softplus_np(x, 2.0, 1.5), rtol=1e-12)
    y.sum().backward()
    sig = 1 / (1 + np.exp(-2.0 * x))
    np.testing.assert_allclose(t.grad.numpy(), np.where(2.0 * x > 1.5, 1.0, sig), rtol=1e-12)


def test_relu_abs_zero_subgradient():
    x = make([-1.0, 0.0, 2.0])
    (x.relu() + x.abs()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 2.0])


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "sqrt", "neg", "abs", "relu", "sin",
                                  "reciprocal", "square", "floor", "clamp", "log"])
def test_unary_inplace_on_nonleaf(name):
    """x.op_() on a non-leaf: same gradient as the out-of-place op."""
    def inplace(t):
        x = t * 1.0
        if name == "clamp":
            x.clamp_(0.5, 1.5)
        else:
            getattr(x, name + "_")()
        return x * t
    def outplace(t):
        x = t * 1.0
        x = x.clamp(0.5, 1.5) if name == "clamp" else getattr(x, name)()
        return x * t
    a = rand(2, 3, lo=0.3, hi=2.0, away=0.1) if name == "floor" else rand(2, 3, lo=0.3, hi=2.0)
    l1 = check_grad(inplace, [a])[0]
    l2 = check_grad(outplace, [a])[0]
    np.testing.assert_allclose(l1.grad.numpy(), l2.grad.numpy(), rtol=1e-12)


# ---- element-wise binary ops ---------------------------------------------------------------

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((4,), (2, 3, 4)),
                 ((3, 4), ()), ((), (3, 4)), ((2, 1, 4), (3, 1))]

BINARY = {
    "add": (lambda x, y: x + y, None),
    "add_alpha": (lambda x, y: x.add(y, alpha=2.5), None),
    "S.add_alpha": (lambda x, y: S.add(x, y, alpha=-0.5), None),
    "sub": (lambda x, y: x - y, None),
    "sub_alpha": (lambda x, y: x.sub(y, alpha=3), None),
    "mul": (lambda x, y: x * y, None),
    "div": (lambda x, y: x / y, "y_nonzero"),
    "true_divide": (lambda x, y: S.true_divide(x, y), "y_nonzero"),
    "pow": (lambda x, y: x ** y, "x_pos"),
    "pow_method": (lambda x, y: x.pow(y), "x_pos"),
    "maximum": (lambda x, y: S.maximum(x, y), None),
    "minimum": (lambda x, y: x.minimum(y), None),
    "atan2": (lambda x, y: S.atan2(x, y), None),
    "remainder": (lambda x, y: x % y, "mod"),
    "fmod": (lambda x, y: S.fmod(x, y), "mod"),
}


def _binary_inputs(kind, sx, sy):
    x, y = rand(*sx, seed=1), rand(*sy, seed=2)
    if kind == "y_nonzero":
        y = nonzero(*sy, seed=2, margin=0.5)
    elif kind == "x_pos":
        x = rand(*sx, seed=1, lo=0.4, hi=2.0)
    elif kind == "mod":
        x = rand(*sx, seed=1, lo=-3.0, hi=3.0)
        y = rand(*sy, seed=2, lo=0.7, hi=1.6) * np.where(rand(*sy, seed=3) > 0, 1, -1)
        q = x[...] / np.broadcast_to(y, np.broadcast_shapes(x.shape, y.shape)) if y.ndim else x / y
        assert np.min(np.abs(q - np.round(q))) > 1e-3      # away from the jumps
    return x, y


WHERE_BUG = "BUG: where(cond, ...) fails to broadcast when cond has fewer dims than the " \
            "result (pow's backward uses where(y == 0, 0, gx))"


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_grad_broadcast(name, shapes):
    fn, kind = BINARY[name]
    x, y = _binary_inputs(kind, *shapes)
    check_grad(fn, [x, y])


@pytest.mark.parametrize("layouts", [("transposed", "sliced"), ("negative", "contiguous"),
                                     ("sliced", "negative")])
@pytest.mark.parametrize("name", ["add", "mul", "div", "pow", "maximum", "atan2", "sub_alpha"])
def test_binary_grad_layouts(name, layouts):
    fn, kind = BINARY[name]
    x, y = _binary_inputs(kind, (3, 4), (3, 4))
    check_grad(fn, [x, y], layouts)


@pytest.mark.parametrize("which", [(True, False), (False, True)])
@pytest.mark.parametrize("name", ["mul", "div", "pow", "maximum", "atan2", "sub"])
def test_binary_grad_one_input_requires_grad(name, which):
    fn, kind = BINARY[name]
    x, y = _binary_inputs(kind, (3, 1), (3, 4))
    check_grad(fn, [x, y], needs_grad=list(which))


SCALAR_OPS = {
    "add_r": lambda t: t + 2.5, "add_l": lambda t: 2.5 + t,
    "sub_r": lambda t: t - 1.5, "sub_l": lambda t: 1.5 - t,
    "mul_r": lambda t: t * -3.0, "mul_l": lambda t: 3 * t,
    "div_r": lambda t: t / 4.0, "div_l": lambda t: 2.0 / t,
    "pow_2": lambda t: t ** 2, "pow_3": lambda t: t ** 3, "pow_0": lambda t: t ** 0 + t,
    "pow_half": lambda t: t.abs() ** 0.5, "pow_neg": lambda t: t.abs() ** -1.5,
    "pow_1": lambda t: t ** 1,
    "rpow": lambda t: 2.0 ** t, "rpow_half": lambda t: 0.5 ** t,
    "maximum_0d": lambda t: S.maximum(t, S.tensor(0.1, dtype=F64)),
    "remainder_r": lambda t: t % 0.7, "fmod_r": lambda t: S.fmod(t, 0.7),
    "atan2_r": lambda t: S.atan2(t, S.tensor(0.5, dtype=F64)),
}


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_binary_scalar_operand(name):
    x = nonzero(3, 4, margin=0.3) * 1.3
    if name.startswith(("remainder", "fmod")):
        x = rand(3, 4, lo=0.05, hi=0.65) + np.arange(12).reshape(3, 4) * 0.7 - 4.2
    check_grad(SCALAR_OPS[name], [x], ["transposed"])


def test_pow_zero_base_and_zero_exponent():
    """PyTorch's masks: d(x**0)/dx = 0 (also at x = 0); d(0**y)/dy = 0 for y >= 0."""
    x = make([0.0, 0.0, 2.0])
    y = make([0.0, 2.0, 0.0])
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.0, math.log(2.0)])
    z = make([0.0, 1.0])
    (z ** 0).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_gradient(op):
    xv = np.array([[1.0, 2.0, 3.0], [4.0, -1.0, 0.5]])
    yv = np.array([[1.0, 3.0, 2.0], [4.0, -1.0, 0.7]])
    x, y = make(xv), make(yv)
    gv = np.arange(1.0, 7.0).reshape(2, 3)
    out = getattr(S, op)(x, y)
    np.testing.assert_array_equal(out.detach().numpy(), getattr(np, op)(xv, yv))
    out.backward(S.tensor(gv))
    pick_x = xv > yv if op == "maximum" else xv < yv
    tie = xv == yv
    np.testing.assert_array_equal(x.grad.numpy(), np.where(tie, gv / 2, np.where(pick_x, gv, 0)))
    np.testing.assert_array_equal(y.grad.numpy(), np.where(tie, gv / 2, np.where(pick_x, 0, gv)))


def test_maximum_broadcast_ties():
    x, y = make([[1.0], [2.0]]), make([1.0, 2.0, 3.0])
    S.maximum(x, y).sum().backward()
    # row 0: x ties y[0], loses to y[1], y[2]; row 1: x beats y[0], ties y[1], loses to y[2]
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5], [1.5]])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 1.5, 2.0])


def test_mixed_precision_binary_grad_dtypes():
    a32 = S.tensor([1.0, 2.0, 3.0], dtype=F32, requires_grad=True)
    b64 = S.tensor([0.5, -1.0, 2.0], dtype=F64, requires_grad=True)
    out = a32 * b64
    assert out.dtype is F64
    out.sum().backward()
    assert a32.grad.dtype is F32 and b64.grad.dtype is F64
    np.testing.assert_allclose(a32.grad.numpy(), [0.5, -1.0, 2.0])
    np.testing.assert_allclose(b64.grad.numpy(), [1.0, 2.0, 3.0])


def test_integer_operand_gets_no_grad():
    x = make([1.0, 2.0, 3.0])
    i = S.tensor([2, 3, 4])
    out = x * i + x / i
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.5, 1 / 3 + 3, 4.25])
    assert i.grad is None and not i.requires_grad


def test_comparisons_do_not_require_grad():
    x = make([1.0, 2.0])
    for r in (x > 1, x == x, x.isnan(), x.signbit() if hasattr(x, "signbit") else x < 0):
        assert not r.requires_grad and r.grad_fn is None


# ---- clamp, where, lerp --------------------------------------------------------------------

CLAMPS = {
    "min_max": lambda t: t.clamp(-0.5, 0.7),
    "min": lambda t: t.clamp(min=-0.2),
    "max": lambda t: t.clamp(max=0.3),
    "clamp_min": lambda t: t.clamp_min(0.1),
    "clamp_max": lambda t: t.clamp_max(-0.1),
    "clip": lambda t: S.clip(t, -1.0, 1.0),
}


@pytest.mark.parametrize("layout", ["contiguous", "negative"])
@pytest.mark.parametrize("name", sorted(CLAMPS))
def test_clamp_scalar_bounds(name, layout):
    x = rand(4, 5) + 0.013          # keeps every element away from the bounds
    check_grad(CLAMPS[name], [x], [layout])


def test_clamp_tensor_bounds_broadcast():
    x = rand(3, 4, seed=4)
    lo = rand(3, 1, seed=5) * 0.5 - 0.4
    hi = rand(1, 4, seed=6) * 0.5 + 0.6
    assert np.min(np.abs(x - lo)) > 1e-3 and np.min(np.abs(x - hi)) > 1e-3
    check_grad(lambda t, a, b: t.clamp(a, b), [x, lo, hi])
    check_grad(lambda t, a: S.clamp(t, min=a), [x, lo], layouts=["transposed", "contiguous"])
    check_grad(lambda t, b: t.clamp(max=b), [x, hi], needs_grad=[False, True])


def test_clamp_at_bounds_routes_to_input():
    """PyTorch: an element equal to a bound passes its gradient to the input."""
    x = make([-1.0, 0.0, 1.0, 2.0])
    x.clamp(0.0, 1.0).backward(S.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 3.0, 0.0])


@pytest.mark.parametrize("cshape", [(4,), (3, 4), (1, 4)])
def test_where_condition_with_fewer_dims_broadcasts(cshape):
    c = rand(*cshape, seed=3) > 0
    y = rand(2, 3, 4)
    out = S.where(S.tensor(c), 0.0, S.tensor(y))
    np.testing.assert_array_equal(out.numpy(), np.where(c, 0.0, y))


def test_where_grad():
    c = rand(3, 4, seed=7) > 0
    cond = S.tensor(c)
    check_grad(lambda x, y: S.where(cond, x, y), [rand(3, 4), rand(3, 4, seed=1)],
               ["transposed", "negative"])
    check_grad(lambda x, y: S.where(cond, x, y), [rand(3, 1), rand(4, seed=1)])
    check_grad(lambda x: S.where(cond, x, 0.5), [rand(3, 4)])
    check_grad(lambda y: S.where(cond, -1.0, y), [rand(1, 4)])
    check_grad(lambda x: x.where(cond, x * 2), [rand(3, 4)])
    leaves = check_grad(lambda x, y: S.where(cond, x, y), [rand(3, 4), rand(3, 4, seed=1)])
    w = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(leaves[0].grad.numpy(), np.where(c, w, 0.0))


@pytest.mark.parametrize("case", ["scalar_w", "tensor_w", "broadcast", "w_only"])
def test_lerp_grad(case):
    if case == "scalar_w":
        check_grad(lambda s, e: s.lerp(e, 0.3), [rand(3, 4), rand(3, 4, seed=1)],
                   ["transposed", "contiguous"])
    elif case == "tensor_w":
        check_grad(lambda s, e, w: S.lerp(s, e, w), [rand(3, 4), rand(3, 4, seed=1),
                                                      rand(3, 4, seed=2)])
    elif case == "broadcast":
        check_grad(lambda s, e, w: s.lerp(e, w), [rand(3, 4), rand(4, seed=1),
                                                   rand(3, 1, seed=2)])
    else:
        check_grad(lambda s, e, w: s.lerp(e, w), [rand(3, 4), rand(3, 4, seed=1),
                                                   rand(3, 4, seed=2)],
                   needs_grad=[False, False, True])


# ---- reductions ------------------------------------------------------------------------------

DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), ()]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "logsumexp"])
def test_reduction_grad(op, dim, keepdim):
    if op == "prod" and isinstance(dim, tuple):
        pytest.skip("prod takes one dim")
    if op == "logsumexp" and dim in (None, ()):
        pytest.skip("logsumexp needs dims")
    dim_arg = dim
    x = rand(2, 3, 4) + 0.1 * np.arange(24).reshape(2, 3, 4)     # no ties
    if op == "prod":
        x = rand(2, 3, 4, lo=0.5, hi=1.5) * np.where(rand(2, 3, 4, seed=3) > 0, 1, -1)

    def fn(t):
        if dim_arg is None:
            if op in ("amax", "amin"):
                return getattr(t, op)((), keepdim)
            return getattr(t, op)(None, keepdim)
        return getattr(t, op)(dim_arg, keepdim)
    leaf = check_grad(fn, [x], ["transposed"])[0]
    out = fn(make(x, requires_grad=False))
    ref_dim = None if dim in (None, ()) else dim
    np_ops = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "amax": np.amax, "amin": np.amin,
              "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis,
                                                                   keepdims=keepdims))}
    ref = np_ops[op](x, axis=ref_dim, keepdims=keepdim)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    assert leaf.grad.shape == (2, 3, 4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_full_reductions_layouts(layout):
    x = rand(3, 4) + 0.05 * np.arange(12).reshape(3, 4)
    check_grad(lambda t: (t.sum(), t.mean(), t.max(), t.min(), t.prod()), [x], [layout])


def test_reduction_of_0d_and_size1():
    check_grad(lambda t: (t.sum(), t.mean(0), t.amax(), t.prod(), t.logsumexp(0),
                          t.max(0)[0], t.cumsum(0), t.softmax(0) * t), [np.array(0.7)])
    check_grad(lambda t: (t.sum(1), t.mean((0, 1), keepdim=True), t.max(1)[0],
                          t.softmax(1) * t), [rand(3, 1)])


def test_mean_sum_dtype_argument():
    x = S.tensor([1.0, 2.0, 3.0], dtype=F32, requires_grad=True)
    y = x.sum(dtype=F64) + x.mean(dtype=F64) * 3
    assert y.dtype is F64
    y.backward()
    assert x.grad.dtype is F32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


CUMPROD_ZEROS = "BUG/gap: cumprod backward raises for inputs containing zeros (PyTorch " \
                "supports them)"


@pytest.mark.parametrize("nzeros", [1, 2])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_with_zeros(dim, nzeros):
    x = rand(3, 4, lo=0.5, hi=2.0)
    x[1, 2] = 0.0
    if nzeros == 2:
        x[1, 0] = 0.0
    leaf = check_grad(lambda t: t.prod() if dim is None else t.prod(dim), [x])[0]
    assert np.all(np.isfinite(leaf.grad.numpy()))


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_grad(op, dim, keepdim):
    x = rand(3, 4, 2, seed=9)
    check_grad(lambda t: getattr(t, op)(dim, keepdim)[0], [x], ["negative"])
    check_grad(lambda t: getattr(t, op)(dim, keepdim).values, [x], ["sliced"])
    res = getattr(make(x), op)(dim, keepdim)
    assert not res.indices.requires_grad


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_ties_route_to_index(op):
    """max/min(dim): the whole gradient goes to the element at the returned index."""
    xv = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, -1.0]])
    x = make(xv)
    vals, idx = getattr(x, op)(1)
    g = np.array([5.0, 7.0])
    vals.backward(S.tensor(g))
    expected = np.zeros_like(xv)
    expected[np.arange(2), idx.numpy()] = g
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert expected.sum() == g.sum()


@pytest.mark.parametrize("dim", [None, 1, (0, 1)], ids=str)
@pytest.mark.parametrize("op", ["amax", "amin", "max", "min"])
def test_amax_ties_split_evenly(op, dim):
    xv = np.array([[3.0, 3.0, 1.0], [3.0, 0.0, 0.0]])
    if op in ("amin", "min"):
        xv = -xv
    if op in ("max", "min") and dim is not None:
        pytest.skip("max(dim) routes to one index (other test)")
    x = make(xv)
    out = getattr(x, op)() if dim is None else getattr(x, op)(dim)
    gout = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))
    out.backward(S.tensor(gout))
    axis = None if dim is None else dim
    extreme = (np.amax if op in ("amax", "max") else np.amin)(xv, axis=axis, keepdims=True)
    mask = (xv == extreme).astype(float)
    expected = mask * np.reshape(gout, extreme.shape) / mask.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative_grad(op, dim):
    x = rand(2, 3, 4, seed=3)
    if op == "cumprod":
        x = rand(2, 3, 4, lo=0.5, hi=1.5) * np.where(rand(2, 3, 4, seed=4) > 0, 1, -1)
    for layout in ("transposed", "negative"):
        check_grad(lambda t: getattr(t, op)(dim), [x], [layout])
    out = getattr(make(x, requires_grad=False), op)(dim)
    np.testing.assert_allclose(out.numpy(), getattr(np, op)(x, axis=dim), rtol=1e-12)


def test_cumsum_dtype_argument():
    x = S.tensor([1.0, 2.0, 3.0], dtype=F32, requires_grad=True)
    y = x.cumsum(0, dtype=F64)
    y.backward(S.tensor([1.0, 10.0, 100.0], dtype=F64))
    assert x.grad.dtype is F32
    np.testing.assert_allclose(x.grad.numpy(), [111.0, 110.0, 100.0])


@pytest.mark.parametrize("zeros", [[1], [0, 2], [3]])
def test_cumprod_with_zeros(zeros):
    x = rand(5, lo=0.5, hi=2.0)
    x[zeros] = 0.0
    check_grad(lambda t: t.cumprod(0), [x])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_grad(op, dim, layout):
    x = rand(2, 3, 4, seed=5) * 2
    check_grad(lambda t: getattr(t, op)(dim), [x], [layout])


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dim", [(0,), 1, (0, 2), -1])
def test_logsumexp_grad(dim, layout):
    check_grad(lambda t: t.logsumexp(dim), [rand(2, 3, 4, seed=6) * 3], [layout])
    check_grad(lambda t: t.logsumexp(dim, keepdim=True), [rand(2, 3, 4, seed=6)], [layout])


def _softmax_np(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_large_noncontiguous_path(op, dim):
    """>= 4096 elements with a strided softmax dim take the whole-tensor path."""
    xv = rand(80, 96, seed=11) * 5
    x = make(xv, "transposed" if dim == 1 else "contiguous")
    out = getattr(x, op)(dim)
    y = _softmax_np(xv, dim)
    ref = y if op == "softmax" else np.log(y)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10, atol=1e-13)
    g = rand(80, 96, seed=12)
    out.backward(S.tensor(g))
    if op == "softmax":
        expected = y * (g - (g * y).sum(axis=dim, keepdims=True))
    else:
        expected = g - y * g.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_extreme_inputs_stay_finite(op):
    xv = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4, -1e4]])
    x = make(xv)
    out = x.logsumexp(1) if op == "logsumexp" else getattr(x, op)(1)
    g = np.ones(tuple(out.shape))
    out.backward(S.tensor(g))
    y = _softmax_np(xv, 1)
    if op == "softmax":
        expected = y * (g - (g * y).sum(1, keepdims=True))
    elif op == "log_softmax":
        expected = g - y * g.sum(1, keepdims=True)
    else:
        expected = y
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("layout", ["contiguous", "negative"])
def test_softmax_dtype_argument(layout):
    x = make(rand(2, 3), layout, dtype=np.float32)
    y = x.softmax(1, dtype=F64)
    assert y.dtype is F64
    g = rand(2, 3, seed=1)
    y.backward(S.tensor(g))
    assert x.grad.dtype is F32
    yv = _softmax_np(rand(2, 3).astype(np.float32).astype(np.float64), 1)
    np.testing.assert_allclose(x.grad.numpy(), yv * (g - (g * yv).sum(1, keepdims=True)),
                               rtol=1e-5)


VAR_CASES = {
    "var": lambda t: t.var(),
    "var_dim": lambda t: t.var(1),
    "var_dims_keep": lambda t: t.var((0, 2), keepdim=True),
    "var_biased": lambda t: t.var(0, unbiased=False),
    "var_correction": lambda t: S.var(t, -1, correction=2),
    "std": lambda t: t.std(),
    "std_dim": lambda t: t.std(2, keepdim=True),
    "std_biased": lambda t: t.std((0, 1), unbiased=False),
    "norm": lambda t: t.norm(),
    "norm_fro_dim": lambda t: t.norm("fro", 1),
    "norm_1": lambda t: t.norm(1, (0, 2)),
    "norm_3": lambda t: t.norm(3, -1, keepdim=True),
    "norm_half": lambda t: S.norm(t, 0.5, 0),
    "norm_inf": lambda t: t.norm(float("inf"), 1),
    "norm_neginf": lambda t: t.norm(-float("inf")),
}


@pytest.mark.parametrize("layout", ["contiguous", "sliced"])
@pytest.mark.parametrize("name", sorted(VAR_CASES))
def test_var_std_norm_grad(name, layout):
    x = nonzero(2, 3, 4, seed=8) + 0.01 * np.arange(24).reshape(2, 3, 4)
    check_grad(VAR_CASES[name], [x], [layout])


def test_norm_of_zero_vector_has_zero_gradient():
    """PyTorch defines d||x||/dx at x = 0 as 0 (a subgradient), not NaN."""
    x = make(np.zeros(3))
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_var_of_constant_has_zero_gradient():
    x = make(np.ones((2, 2)))
    x.var().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


# ---- dtype conversions -----------------------------------------------------------------------

@pytest.mark.parametrize("conv", ["to", "float", "type_as"])
def test_dtype_conversion_grad(conv):
    x64 = make([0.5, -1.25, 2.0])
    f = {"to": lambda t: t.to(F32), "float": lambda t: t.float(),
         "type_as": lambda t: t.type_as(S.zeros(1))}[conv]
    y = f(x64)
    assert y.dtype is F32 and y.grad_fn is not None
    w = np.array([1.5, 2.0, -3.0], dtype=np.float32)
    y.backward(S.tensor(w))
    assert x64.grad.dtype is F64
    np.testing.assert_array_equal(x64.grad.numpy(), w.astype(np.float64))

    x32 = S.tensor([0.5, -1.25, 2.0], dtype=F32, requires_grad=True)
    z = x32.double().exp()
    assert z.dtype is F64
    z.sum().backward()
    assert x32.grad.dtype is F32
    np.testing.assert_allclose(x32.grad.numpy(), np.exp([0.5, -1.25, 2.0]), rtol=1e-6)


def test_same_dtype_to_is_identity_for_grad():
    x = make([1.0, 2.0])
    (x.to(F64) * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_clone_contiguous_grad():
    check_grad(lambda t: (t.clone() * t, t.contiguous() * 2, S.clone(t)), [rand(3, 4)],
               ["transposed"])
    check_grad(lambda t: t.T.contiguous().view(-1), [rand(3, 4)], ["sliced"])


# ---- view ops --------------------------------------------------------------------------------

VIEWS = {
    "view_split": lambda t: t.view(2, 3, 2, 2),
    "view_merge": lambda t: t[:, 1:].contiguous().view(4, 4),
    "view_flat": lambda t: t.contiguous().view(-1),
    "view_as": lambda t: t.contiguous().view_as(S.zeros(4, 6)),
    "reshape_view": lambda t: t.reshape(2, 12),
    "reshape_copy": lambda t: t.transpose(0, 2).reshape(-1),
    "reshape_as": lambda t: t.permute(1, 0, 2).reshape_as(S.zeros(6, 4)),
    "flatten": lambda t: t.flatten(1),
    "unflatten": lambda t: t.unflatten(2, (2, 2)),
    "transpose": lambda t: t.transpose(0, 2),
    "transpose_neg": lambda t: S.transpose(t, -1, 1),
    "swapaxes": lambda t: S.swapaxes(t, 0, 1),
    "permute": lambda t: t.permute(2, 0, 1),
    "permute_fn": lambda t: S.permute(t, (1, 2, 0)),
    "T": lambda t: t[0].T,
    "t": lambda t: S.t(t[1]),
    "mT": lambda t: t.mT,
    "expand": lambda t: t[:, :1].expand(2, 5, 4),
    "expand_new_dims": lambda t: t[0, 0].expand(3, 2, 4),
    "expand_as": lambda t: t[:1].expand_as(S.zeros(3, 3, 4)),
    "broadcast_to": lambda t: t[:, 1:2, :].broadcast_to((2, 2, 3, 4)),
    "squeeze_all": lambda t: t[:1, 1:2].squeeze(),
    "squeeze_dim": lambda t: t[:, :1].squeeze(1),
    "unsqueeze": lambda t: t.unsqueeze(0).unsqueeze(-1),
    "select": lambda t: t.select(1, -1),
    "select_fn": lambda t: S.select(t, 2, 0),
    "narrow": lambda t: t.narrow(2, 1, 2),
    "narrow_fn": lambda t: S.narrow(t, 0, 1, 1),
    "slice_steps": lambda t: t[::2, 1:, ::3],
    "slice_neg_steps": lambda t: t[:, ::-2, 3:0:-1],
    "slice_neg_index": lambda t: t[-1, -2:, -3::-1],
    "flip": lambda t: t.flip(0, 2),
    "flip_fn": lambda t: S.flip(t, (1,)),
    "fliplr": lambda t: t[0].fliplr(),
    "flipud": lambda t: t[1].flipud(),
    "unfold_overlap": lambda t: t.unfold(2, 2, 1),
    "unfold_step": lambda t: t.unfold(1, 2, 1).unfold(2, 3, 1),
    "unfold_gap": lambda t: t.unfold(2, 1, 2),
    "diagonal": lambda t: t.diagonal(),
    "diagonal_offset": lambda t: t.diagonal(1, 1, 2),
    "diagonal_neg": lambda t: S.diagonal(t, -1, 2, 1),
    "as_strided": lambda t: t.contiguous().as_strided((3, 3), (2, 1), 1),
    "as_strided_overlap": lambda t: t.contiguous().as_strided((4, 3), (1, 2), 0),
    "split": lambda t: t.split(2, 2),
    "split_sizes": lambda t: t.split([1, 2], 1),
    "chunk": lambda t: t.chunk(2, 2),
    "unbind": lambda t: t.unbind(1),
    "tensor_split": lambda t: t.tensor_split(3, 2),
    "movedim": lambda t: t.movedim(0, -1),
    "movedim_multi": lambda t: S.movedim(t, (0, 1), (2, 0)),
    "getitem_int": lambda t: t[1],
    "getitem_mixed": lambda t: t[1, ..., None, ::2],
    "getitem_none": lambda t: t[None, :, None, 1:],
    "getitem_ellipsis": lambda t: t[..., -1],
    "iter": lambda t: tuple(t),
    "broadcast_tensors": lambda t: S.broadcast_tensors(t[:, :1], t[0]),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_grad(name, layout):
    x = rand(2, 3, 4, seed=13)
    check_grad(VIEWS[name], [x], [layout])


def test_view_values_match_numpy():
    xv = rand(2, 3, 4, seed=13)
    x = make(xv, requires_grad=True)
    pairs = [(x.transpose(0, 2), xv.transpose(2, 1, 0)), (x[:, ::-2, 3:0:-1], xv[:, ::-2, 3:0:-1]),
             (x.unfold(2, 2, 1), np.lib.stride_tricks.sliding_window_view(xv, 2, axis=2)),
             (x.diagonal(1, 1, 2), np.diagonal(xv, 1, 1, 2)), (x.flip(0, 2), xv[::-1, :, ::-1])]
    for t, a in pairs:
        assert t.requires_grad and not t.is_leaf
        np.testing.assert_array_equal(t.detach().numpy(), a)


def test_view_chains():
    chains = [
        lambda t: t.permute(2, 1, 0)[1:].unsqueeze(0).expand(2, 3, 3, 2).flip(1)[..., ::-1]
        .reshape(6, 6),
        lambda t: t.permute(2, 0, 1)[::2].unfold(2, 2, 1).diagonal(0, 0, 2).squeeze(),
        lambda t: t.reshape(6, 4)[1:5].t().narrow(1, 1, 3).select(0, 2),
        lambda t: t.flatten()[::5].unsqueeze(1).expand(5, 3).T.contiguous().view(-1),
        lambda t: t[1].T.chunk(2, 0)[1].unbind(1)[0].flip(0),
        lambda t: t.movedim(2, 0).reshape(4, 6)[:, ::-1].as_strided((2, 2), (1, 1)),
    ]
    for i, fn in enumerate(chains):
        for layout in LAYOUTS:
            check_grad(fn, [rand(2, 3, 4, seed=i)], [layout], seed=i)


def test_views_mixed_with_ops():
    def fn(t):
        a = t.transpose(0, 1).exp()
        b = t[:, ::-1].sin() * a.transpose(0, 1)
        return (b.unsqueeze(0).expand(3, 2, 3, 4) * t).sum(0).softmax(-1)
    for layout in LAYOUTS:
        check_grad(fn, [rand(2, 3, 4) * 0.5], [layout])


def test_same_tensor_used_many_times_accumulates():
    check_grad(lambda t: t * t + t.T.T * 3 + t[0].unsqueeze(0) * t + t.exp().sum(0), [rand(2, 3)])


@pytest.mark.parametrize("case", ["select_of_expanded_leaf", "grad_wrt_unfolded"])
def test_view_of_overlapping_tensor_grad_is_per_element(case):
    if case == "select_of_expanded_leaf":
        leaf = S.tensor(np.array([1.0, 2.0, 3.0])).expand(2, 3).requires_grad_()
        (leaf[0] * S.tensor([1.0, 2.0, 3.0], dtype=F64)).sum().backward()
        np.testing.assert_array_equal(leaf.grad.numpy(), [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    else:
        x = make([1.0, 2.0, 3.0, 4.0])
        u = x.unfold(0, 2, 1)
        (g,) = S.autograd.grad((u[0] * S.tensor([10.0, 20.0], dtype=F64)).sum(), u)
        np.testing.assert_array_equal(g.numpy(), [[10.0, 20.0], [0.0, 0.0], [0.0, 0.0]])


# views whose elements share memory (expand, unfold, as_strided), then views of those: each
# op's own backward (NOTE [ View backward ]) sums what reaches one source element
OVERLAP_CHAINS = {
    "expand_select": lambda t: t[:1].expand(3, 2, 4).select(0, 1) * t[1:],
    "expand_diagonal": lambda t: t[:, 1:2].expand(3, 3).diagonal(1),
    "unfold_diagonal": lambda t: t.unfold(1, 3, 1).diagonal(0, 0, 2),
    "unfold_unfold": lambda t: t.unfold(0, 2, 1).unfold(1, 3, 1)[:, ::-1].transpose(0, 3),
    "unfold_expand_index": lambda t: t.unfold(1, 2, 1).expand(2, 3, 3, 2)[1].flip(0)[None, ..., 1],
    "unfold_permute_view": lambda t: t.unfold(1, 3, 1).permute(2, 0, 1).reshape(3, 6)[1:],
    "as_strided_overlap": lambda t: t.as_strided((3, 3), (1, 1)).unfold(0, 2, 1)[:, 1],
    "as_strided_of_unfold": lambda t: t.unfold(1, 2, 1).as_strided((2, 2, 2), (2, 1, 1)).exp(),
}


@pytest.mark.parametrize("chain", sorted(OVERLAP_CHAINS))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_views_through_overlapping_tensors(chain, layout):
    if chain.startswith("as_strided") and layout in ("negative", "sliced"):
        pytest.skip("as_strided is relative to storage: from an all-negative layout it leaves "
                    "the storage, in a sliced one it reads the 1e6 padding, which swamps the "
                    "finite differences (test_views_of_overlapping_tensors_against_torch "
                    "covers sliced bases)")
    check_grad(OVERLAP_CHAINS[chain], [rand(3, 4)], [layout])


@pytest.mark.parametrize("call", ["Tensor.backward", "autograd.backward", "autograd.grad"])
def test_create_graph_is_refused(call):
    """Higher-order gradients are not supported: asking for them raises, before any
    gradient is computed, rather than returning a gradient that has no history."""
    x = make(rand(3))
    y = (x * x).sum()
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        if call == "Tensor.backward":
            y.backward(create_graph=True)
        elif call == "autograd.backward":
            S.autograd.backward([y], create_graph=True)
        else:
            S.autograd.grad(y, x, create_graph=True)
    assert x.grad is None
    y.backward()                                # the graph is intact
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())


# ---- split / chunk / unbind: one node, one output per piece --------------------------------

@pytest.mark.parametrize("op", ["split", "split_with_sizes", "chunk", "unbind", "iter"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_pieces_gradcheck(op, layout):
    pieces = {"split": lambda t: t.split(2, 1), "split_with_sizes": lambda t: t.split([1, 3], 1),
              "chunk": lambda t: t.chunk(2, 0), "unbind": lambda t: t.unbind(1),
              "iter": lambda t: list(t)}[op]
    # some pieces unused, one used twice, one through a view
    check_grad(lambda t: (pieces(t)[-1] * 3 + pieces(t)[-1].exp(), pieces(t)[0].flip(0)),
               [rand(3, 4)], [layout])


def test_pieces_share_one_node():
    x = make(rand(4, 3))
    y = x * 2
    for pieces, name in [(y.split(1), "SplitBackward0"), (y.chunk(2), "SplitBackward0"),
                         (y.split([1, 3]), "SplitWithSizesBackward0"),
                         (y.unbind(1), "UnbindBackward0")]:
        fns = {id(p.grad_fn) for p in pieces}
        assert len(fns) == 1 and pieces[0].grad_fn.name() == name
        assert [p.output_nr for p in pieces] == list(range(len(pieces)))
        assert pieces[0].grad_fn.next_functions == ((y.grad_fn, 0),)


def test_thousand_pieces_fast_and_right():
    """Backward through 1,000 pieces builds the source's gradient once (it used to build a
    full-size gradient per piece: 1,000 x the work)."""
    import time
    rows = np.random.default_rng(0).standard_normal((1000, 64))
    for op in ("unbind", "split"):
        x = make(rows)
        pieces = (x * 1).unbind(0) if op == "unbind" else (x * 1).split(1)
        used = range(0, 1000, 3)
        loss = pieces[0].sum() * 0.0
        for i in used:
            loss = loss + pieces[i].sum() * float(i + 1)
        start = time.perf_counter()
        loss.backward()
        elapsed = time.perf_counter() - start
        expected = np.zeros((1000, 64))
        expected[0:1000:3] = (np.arange(0, 1000, 3) + 1.0)[:, None]
        np.testing.assert_array_equal(x.grad.numpy(), expected)
        assert elapsed < 2.0, f"{op}: backward through 1,000 pieces took {elapsed:.2f}s"
    # the pieces' node itself: one zero gradient, 1,000 small copies
    y = make(rows) * 1
    pieces = y.unbind(0)
    start = time.perf_counter()
    (g,) = pieces[0].grad_fn.apply([S.tensor(rows[i]) for i in range(1000)])
    assert time.perf_counter() - start < 0.5
    np.testing.assert_array_equal(g.numpy(), rows)


def test_inplace_on_a_piece_and_retained_piece_grad():
    x = make(np.arange(6.0).reshape(3, 2))
    y = x * 1
    a, b, c = y.unbind(0)
    b.mul_(2)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 2], [16, 24], [8, 10]])
    x.grad = None
    a, b, c = (x * 1).split(1)
    b.retain_grad()
    (b * 5 + c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [5, 5], [1, 1]])
    np.testing.assert_array_equal(b.grad.numpy(), [[5, 5]])


def test_expanded_and_overlapping_leaves():
    """A leaf that is itself an expanded view: its grad is per element of the leaf."""
    base = S.tensor(np.array([1.0, 2.0, 3.0]))
    leaf = base.expand(2, 3).requires_grad_()
    assert leaf.is_leaf
    (leaf * S.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64)).sum().backward()
    assert leaf.grad.shape == (2, 3)
    np.testing.assert_array_equal(leaf.grad.numpy(), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


# ---- in-place ops on non-leaves and views ------------------------------------------------

IN_PLACE_PROGRAMS = {
    # name: (in-place version, out-of-place equivalent); inputs a (3, 4), y (4,), z (3, 2)
    "row_mul": (
        lambda a, y, z: _setrow_mul(a),
        lambda a, y, z: S.where(S.tensor([[True], [False], [False]]), a * 2, a)),
    "assign_row": (
        lambda a, y, z: _assign_row(a, y),
        lambda a, y, z: S.where(S.tensor([[False], [True], [False]]), y.unsqueeze(0), a)),
    "add_strided_cols": (
        lambda a, y, z: _add_cols(a, z),
        lambda a, y, z: a + _scatter_cols(z)),
    "all_three": (
        lambda a, y, z: _add_cols(_assign_row(_setrow_mul(a), y), z),
        lambda a, y, z: S.where(S.tensor([[False], [True], [False]]), y.unsqueeze(0),
                                S.where(S.tensor([[True], [False], [False]]), a * 2, a))
        + _scatter_cols(z)),
    "exp_on_negative_view": (
        lambda a, y, z: _exp_rev(a),
        lambda a, y, z: S.where(_mask_rev(), a.exp(), a)),
    "chain_of_inplace_on_view": (
        lambda a, y, z: _chain(a, y),
        lambda a, y, z: S.where(S.tensor([[False, True, False, True]] * 3),
                                ((a * 3) + y) ** 2, a)),
    "copy_into_transposed_view": (
        lambda a, y, z: _copy_T(a, z),
        lambda a, y, z: S.where(S.tensor([[True, True, False, False]] * 3), _pad_cols(z), a)),
    "fill_view": (
        lambda a, y, z: _fill(a),
        lambda a, y, z: S.where(S.tensor([[False] * 4, [True, False, True, False], [False] * 4]),
                                0.5, a)),
    "setitem_scalar_and_ellipsis": (
        lambda a, y, z: _setitem_misc(a, y),
        lambda a, y, z: S.where(S.tensor([[False, False, False, True]] * 3), 7.0,
                                S.where(S.tensor([[True], [False], [False]]), y * y, a))),
}


def _setrow_mul(a):
    x = a * 1
    x[0].mul_(2)
    return x


def _assign_row(x, y):
    x = x * 1
    x[1] = y
    return x


def _add_cols(x, z):
    x = x * 1
    x[:, ::2] += z
    return x


def _scatter_cols(z):
    # z (3, 2) placed into columns 0 and 2 of a (3, 4) zero tensor, out of place
    zero = S.zeros(3, 1, dtype=F64)
    return S.where(S.tensor([[True, False, False, False]]), z[:, 0:1], 0.0) + \
        S.where(S.tensor([[False, False, True, False]]), z[:, 1:2], 0.0) + zero


def _mask_rev():
    m = np.zeros((3, 4), dtype=bool)
    m[::-1, ::-2] = True
    return S.tensor(m)


def _exp_rev(a):
    x = a * 1
    x[::-1, ::-2].exp_()
    return x


def _chain(a, y):
    x = a * 1
    v = x[:, 1::2]
    v.mul_(3)
    v.add_(y[1::2])
    v.pow_(2)
    return x


def _pad_cols(z):
    return S.where(S.tensor([[True, False, False, False]]), z[:, 0:1], z[:, 1:2])


def _copy_T(a, z):
    x = a * 1
    x.T[:2].copy_(z.T)
    return x


def _fill(a):
    x = a * 1
    x[1, ::2].fill_(0.5)
    return x


def _setitem_misc(a, y):
    x = a * 1
    x[0] = y * y
    x[..., -1] = 7.0
    return x


@pytest.mark.parametrize("name", sorted(IN_PLACE_PROGRAMS))
def test_inplace_on_views_of_nonleaf(name):
    inplace, outplace = IN_PLACE_PROGRAMS[name]
    arrays = [rand(3, 4, seed=1), rand(4, seed=2), rand(3, 2, seed=3)]
    ref = [make(a) for a in arrays]
    o_ref = outplace(*ref)
    got = check_grad(inplace, arrays, allow_unused=True)
    o_got = inplace(*[make(a, requires_grad=False) for a in arrays])
    np.testing.assert_allclose(o_got.numpy(), o_ref.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(0).standard_normal((3, 4))
    o_ref.backward(S.tensor(w))
    for g, r in zip(got, ref):
        rg = r.grad.numpy() if r.grad is not None else np.zeros(tuple(r.shape))
        gg = g.grad.numpy() if g.grad is not None else np.zeros(tuple(g.shape))
        np.testing.assert_allclose(gg, rg, rtol=1e-10, atol=1e-12)


STALE_VIEW = "BUG: a view taken before an in-place op on its base (or on another view of " \
             "the base) keeps the base's old history: backward through it gives a wrong " \
             "gradient (PyTorch regenerates the view's grad_fn)"


@pytest.mark.parametrize("case", ["base_inplace", "sibling_view_inplace", "subview_inplace"])
def test_view_taken_before_inplace_sees_new_history(case):
    def fn(a):
        x = a * 1
        v = x[1:]
        if case == "base_inplace":
            x.mul_(2)
        elif case == "sibling_view_inplace":
            x[2].mul_(3)
        else:
            v[:, 2].mul_(3)
        return v * v
    check_grad(fn, [rand(3, 4)])


@pytest.mark.parametrize("op", ["mul", "div", "pow", "mul_by_own_element"])
def test_inplace_with_aliased_operand(op):
    av = np.array([2.0, 3.0, 4.0])
    a = make(av)
    x = a * 1
    try:
        if op == "mul_by_own_element":
            x.mul_(x[0])
        else:
            getattr(x, op + "_")(x)
        x.sum().backward()
    except RuntimeError as e:
        assert MODIFIED_MSG in str(e) or "refer to a single memory location" in str(e)
        return
    expected = {"mul": 2 * av, "div": np.zeros(3),
                "pow": av ** av * (np.log(av) + 1),
                "mul_by_own_element": np.array([2 * av[0] + av[1] + av[2], av[0], av[0]])}[op]
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("case", ["assign_own_element", "add_own_element", "copy_own_flip"])
def test_inplace_reading_another_part_of_itself(case):
    def fn(a):
        x = a * 1
        if case == "assign_own_element":
            x[0] = x[1]
        elif case == "add_own_element":
            x[0] += x[2] + 2
        else:
            x.copy_(x.flip(0) + x)
        return x * x
    check_grad(fn, [rand(4)])


def test_inplace_on_view_then_use_base_with_saved_values():
    """The in-place result feeds an op that saves it (x * x) after the view write."""
    def fn(a, y):
        x = a.exp() * 1
        x[1:, 2] = y * 3
        x[0].sigmoid_()
        return (x * x).sum(1)
    check_grad(fn, [rand(3, 4), rand(2, seed=1)])


def test_inplace_on_nonleaf_binary_scalar_and_tensor():
    def fn(a, b):
        x = a * 1
        x += b
        x *= 2
        x -= a
        x /= (b.abs() + 1)
        x **= 2
        x.add_(b, alpha=0.5)
        x.clamp_(-3.0, 3.0)
        return x
    check_grad(fn, [rand(3, 4), rand(4, seed=1)])


def test_inplace_into_tensor_that_does_not_require_grad():
    """x.add_(y) / x[...] = y where only y requires grad: x joins the graph."""
    def fn(y):
        x = S.zeros(3, 4, dtype=F64)
        x.add_(y)
        x[1] = y[0] * 2
        buf = S.ones(3, 4, dtype=F64)
        v = buf[:, 1:3]
        v.mul_(y[:, :2])
        return x + buf
    check_grad(fn, [rand(3, 4)])


def test_lerp_inplace_and_copy_broadcast():
    def fn(a, e, s):
        x = a * 1
        x.lerp_(e, 0.25)
        x[0].copy_(s)                  # broadcast copy from a 0-d tensor
        return x
    check_grad(fn, [rand(2, 3), rand(2, 3, seed=1), np.array(0.5)])


# ---- in-place safety ---------------------------------------------------------------------------

MODIFIED_MSG = "one of the variables needed for gradient computation has been modified by an " \
               "inplace operation"


@pytest.mark.parametrize("case", ["saved_input", "saved_output", "through_view", "via_detach",
                                  "base_of_saved_view", "setitem"])
def test_modified_saved_tensor_raises(case):
    a = make(rand(3, 4) + 3)
    x = a * 1
    if case == "saved_input":
        y = x.sin()
        x.add_(1)
    elif case == "saved_output":
        y = x.exp()
        y.mul_(2)
    elif case == "through_view":
        y = x.log()
        x[1, ::2].add_(1)
    elif case == "via_detach":
        y = x.sin()
        x.detach().zero_()
    elif case == "base_of_saved_view":
        v = x[1]
        y = v * v
        x.mul_(2)
    else:
        y = x * x
        x[0, 0] = 5.0
    with pytest.raises(RuntimeError, match=MODIFIED_MSG):
        y.sum().backward()


@pytest.mark.parametrize("op", ["mul_scalar", "div_scalar", "mul_const_tensor",
                                "div_const_tensor", "rmul_scalar"])
def test_operand_not_needed_for_backward_may_be_modified(op):
    a = make([1.0, 2.0, 3.0])
    c = S.tensor([2.0, 4.0, 8.0], dtype=F64)
    x = a * 1
    y = {"mul_scalar": lambda: x * 2, "div_scalar": lambda: x / 2,
         "mul_const_tensor": lambda: x * c, "div_const_tensor": lambda: x / c,
         "rmul_scalar": lambda: 3 * x}[op]()
    x.add_(1)
    y.sum().backward()
    expected = {"mul_scalar": 2.0, "div_scalar": 0.5, "mul_const_tensor": c.numpy(),
                "div_const_tensor": 1 / c.numpy(), "rmul_scalar": 3.0}[op]
    np.testing.assert_array_equal(a.grad.numpy(), np.broadcast_to(expected, (3,)))


def test_modified_but_not_saved_is_fine():
    a = make(rand(3))
    x = a * 1
    y = x + 2                       # add saves nothing
    x.mul_(3)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("op", ["add_", "mul_", "exp_", "zero_", "fill_", "copy_", "setitem",
                                "iadd", "clamp_", "relu_"])
def test_inplace_on_leaf_requiring_grad_raises(op):
    a = make(rand(3))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        _apply_inplace(a, op)
    np.testing.assert_array_equal(a.detach().numpy(), rand(3))


@pytest.mark.parametrize("op", ["add_", "mul_", "exp_", "zero_", "fill_", "copy_", "setitem"])
@pytest.mark.parametrize("view", ["row", "slice", "transpose"])
def test_inplace_on_view_of_leaf_raises(op, view):
    a = make(rand(3, 4))
    v = {"row": lambda: a[1], "slice": lambda: a[:, ::2],
         "transpose": lambda: a.T}[view]()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                           "being used in an in-place operation"):
        _apply_inplace(v, op)


def test_inplace_on_view_of_view_leaf_raises():
    base = S.zeros(5, dtype=F64)
    leaf = base[1:4].requires_grad_()
    assert leaf.is_leaf
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf[0].mul_(2)


def _apply_inplace(t, op):
    if op == "setitem":
        t[0] = 1.0
    elif op == "iadd":
        t += 1
    elif op == "copy_":
        t.copy_(S.zeros(tuple(t.shape), dtype=F64))
    elif op == "fill_":
        t.fill_(2.0)
    elif op in ("add_", "mul_"):
        getattr(t, op)(2.0)
    elif op == "clamp_":
        t.clamp_(0, 1)
    else:
        getattr(t, op)()


def test_inplace_on_leaf_allowed_under_no_grad():
    a = make([1.0, 2.0])
    v0 = a._version
    with S.no_grad():
        a.mul_(2)
        a[0] = 5.0
    assert a.is_leaf and a.grad_fn is None and a._version > v0
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [10.0, 8.0])


def test_version_counter_shared_by_views_and_detach():
    t = S.zeros(3, 4, dtype=F64)
    v, w, d = t[1], t.T[::2], t.detach()
    v0 = t._version
    assert v._version == w._version == d._version == v0
    v.add_(1)
    assert t._version == v._version == w._version == d._version == v0 + 1
    d[0, 0] = 3.0
    assert t._version == w._version == v0 + 2
    t.mul_(2)
    assert v._version == v0 + 3
    c = t.clone()
    assert c._version == 0
    c.add_(1)
    assert t._version == v0 + 3


def test_version_counter_bumped_by_every_inplace_kind():
    t = S.zeros(4, dtype=F64)
    ops = [lambda: t.add_(1), lambda: t.copy_(S.ones(4, dtype=F64)), lambda: t.fill_(2.0),
           lambda: t.zero_(), lambda: t.__setitem__(0, 1.0), lambda: t.exp_(),
           lambda: t.clamp_(0, 1), lambda: t[1:].mul_(2)]
    for op in ops:
        before = t._version
        op()
        assert t._version > before


# ---- engine --------------------------------------------------------------------------------------

def test_grad_accumulates_across_backward_calls():
    a = make([1.0, 2.0, 3.0])
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 4.0, 6.0])
    g = a.grad
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 7.0, 9.0])
    a.grad = None
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(g.numpy(), [5.0, 7.0, 9.0])


def test_grad_is_not_aliased_to_incoming_gradient():
    a = make([1.0, 2.0])
    gout = S.tensor([1.0, 1.0], dtype=F64)
    (a * 1).backward(gout)
    a.grad.mul_(10)
    np.testing.assert_array_equal(gout.numpy(), [1.0, 1.0])
    b = make([1.0, 2.0])
    b.backward(gout)                   # backward on a leaf itself
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    b.grad.zero_()
    np.testing.assert_array_equal(gout.numpy(), [1.0, 1.0])


def test_backward_non_scalar_requires_gradient():
    a = make([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (a * 2).backward()
    (a * 2)[0:1].backward()            # one element: allowed
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 0.0])


@pytest.mark.parametrize("gshape", [(3,), (1, 2), (2, 1), ()])
def test_backward_gradient_shape_mismatch_raises(gshape):
    a = make([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (a * 2).backward(S.zeros(gshape, dtype=F64))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        S.ones(2).sum().backward()
    a = make([1.0])
    with S.no_grad():
        y = a * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_second_backward_through_freed_graph_raises():
    a = make([1.0, 2.0])
    y = (a.exp() * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_retain_graph_allows_second_backward():
    a = make([1.0, 2.0])
    y = (a.exp() * a).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(),
                               3 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_partial_graph_reuse_after_free_raises():
    a = make([1.0, 2.0])
    h = a.tanh()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (h * 2).sum().backward()


def test_deep_chain_10000_ops_no_recursion():
    a = make([0.5])
    x = a
    for _ in range(5000):
        x = x * 1.0001
        x = x + 0.0
    x.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0001 ** 5000], rtol=1e-10)
    # a deep chain of views and in-place updates, too
    b = make(np.ones(4))
    y = b * 1
    for _ in range(3000):
        y = y.view(2, 2).T.reshape(4)
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(4))


def test_wide_diamond_each_node_runs_once():
    """Many paths into one node: its gradient is the sum, and it runs once (checked by a
    counting Function)."""
    calls = []

    class Count(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g

    a = make([1.0, 2.0])
    h = Count.apply(a)
    total = h * 0
    for k in range(200):
        total = total + h * float(k)
    total.sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(a.grad.numpy(), [sum(range(200))] * 2)


def test_backward_multiple_roots_and_inputs_argument():
    a, b = make([1.0, 2.0]), make([3.0])
    y1 = (a * b).sum()
    y2 = (a * a).sum()
    S.autograd.backward([y1, y2])
    np.testing.assert_array_equal(a.grad.numpy(), [3 + 2, 3 + 4])
    np.testing.assert_array_equal(b.grad.numpy(), [3.0])
    a2, b2 = make([1.0, 2.0]), make([3.0])
    (a2 * b2).sum().backward(inputs=[b2])
    assert a2.grad is None
    np.testing.assert_array_equal(b2.grad.numpy(), [3.0])


@pytest.mark.parametrize("case", ["same_tensor_twice", "two_function_outputs"])
def test_backward_roots_sharing_a_node(case):
    x, y = make([1.0, 2.0]), make([3.0, 4.0])
    if case == "same_tensor_twice":
        s = (x * y).sum()
        S.autograd.backward([s, s])
        np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0])
    else:
        o1, o2 = MulAdd.apply(x, y, 2.0, S.zeros(2, dtype=F64))
        S.autograd.backward([o1, o2], [S.ones(2, dtype=F64), S.ones(2, dtype=F64)])
        np.testing.assert_array_equal(x.grad.numpy(), [7.0, 9.0])
        np.testing.assert_array_equal(y.grad.numpy(), [1.0, 3.0])


def test_root_depends_on_other_root():
    a = make([2.0])
    y = a * 3
    z = y * y
    S.autograd.backward([z, y], [S.ones(1, dtype=F64), S.ones(1, dtype=F64)])
    np.testing.assert_array_equal(a.grad.numpy(), [2 * 6 * 3 + 3])


# ---- autograd.grad -----------------------------------------------------------------------------

def test_autograd_grad_basic_and_does_not_touch_grad():
    a, b = make([1.0, 2.0]), make([3.0, 4.0])
    y = (a * b + a.exp()).sum()
    ga, gb = S.autograd.grad(y, [a, b])
    np.testing.assert_allclose(ga.numpy(), [3 + math.e, 4 + math.exp(2)])
    np.testing.assert_allclose(gb.numpy(), [1.0, 2.0])
    assert a.grad is None and b.grad is None


def test_autograd_grad_allow_unused():
    a, b = make([1.0]), make([2.0])
    y = (a * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        S.autograd.grad(y, [a, b], retain_graph=True)
    ga, gb = S.autograd.grad(y, [a, b], allow_unused=True)
    np.testing.assert_array_equal(ga.numpy(), [2.0])
    assert gb is None


def test_autograd_grad_non_leaf_inputs():
    a = make([1.0, 2.0])
    h = a * 3
    v = h[1:]
    y = (h.exp() * 2).sum() + (v * v).sum()
    gh, gv, ga = S.autograd.grad(y, [h, v, a])
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp([3.0, 6.0]) + [0, 12.0])
    np.testing.assert_allclose(gv.numpy(), [12.0])
    np.testing.assert_allclose(ga.numpy(), 3 * (2 * np.exp([3.0, 6.0]) + [0, 12.0]))
    assert a.grad is None and h.grad is None


def test_autograd_grad_outputs_and_grad_outputs():
    a = make([1.0, 2.0, 3.0])
    y1, y2 = a * 2, a.sum()
    (g,) = S.autograd.grad([y1, y2], a, grad_outputs=[S.tensor([1.0, 0.0, -1.0], dtype=F64),
                                                     S.tensor(5.0, dtype=F64)])
    np.testing.assert_array_equal(g.numpy(), [7.0, 5.0, 3.0])


def test_autograd_grad_input_not_requiring_grad_raises():
    a = make([1.0])
    c = S.tensor([1.0], dtype=F64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        S.autograd.grad((a * c).sum(), [c])


def test_autograd_grad_frees_graph_unless_retained():
    a = make([1.0, 2.0])
    y = a.exp().sum()
    S.autograd.grad(y, a, retain_graph=True)
    S.autograd.grad(y, a)
    with pytest.raises(RuntimeError, match="second time"):
        S.autograd.grad(y, a)


# ---- retain_grad, detach, leaves -----------------------------------------------------------------

def test_retain_grad_non_leaf():
    a = make([1.0, 2.0])
    h = a * 3
    h.retain_grad()
    assert h.retains_grad and not a.retains_grad
    v = h[0]
    v.retain_grad()
    u = h[1]                                  # not used: its grad stays None
    u.retain_grad()
    y = (h * h).sum() + v * 5
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(h.grad.numpy(), [11.0, 12.0])
    np.testing.assert_array_equal(v.grad.numpy(), 5.0)
    assert u.grad is None
    y.backward()
    np.testing.assert_array_equal(h.grad.numpy(), [22.0, 24.0])
    np.testing.assert_array_equal(v.grad.numpy(), 10.0)
    np.testing.assert_array_equal(a.grad.numpy(), [66.0, 72.0])


def test_non_leaf_grad_is_none_without_retain_grad():
    a = make([1.0])
    h = a * 2
    (h * 1).sum().backward()
    assert h.grad is None and a.grad is not None


def test_retain_grad_errors_and_leaf_noop():
    a = make([1.0])
    a.retain_grad()                          # a leaf: no-op
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        S.ones(1).retain_grad()


def test_is_leaf_and_requires_grad_flags():
    a = make([1.0])
    c = S.tensor([1.0])
    assert a.is_leaf and a.requires_grad and a.grad_fn is None
    assert c.is_leaf and not c.requires_grad
    h = a * c
    assert not h.is_leaf and h.requires_grad and h.grad_fn is not None
    k = c * 2
    assert k.is_leaf and not k.requires_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        h.requires_grad = False
    a.requires_grad_(False)
    assert not a.requires_grad and not (a * 2).requires_grad
    assert S.tensor([1.0], requires_grad=True).requires_grad
    assert S.zeros(2, requires_grad=True).requires_grad
    assert S.ones(2, 2, dtype=F64, requires_grad=True).requires_grad
    assert S.randn(3, requires_grad=True).requires_grad
    assert S.full((2,), 1.5, requires_grad=True).requires_grad


@pytest.mark.parametrize("factory", [
    "tensor", "zeros", "ones", "full", "empty", "rand", "randn", "zeros_like", "ones_like",
    "full_like", "from_numpy",
    "arange", "linspace", "eye", "rand_like", "randn_like"])
def test_factories_take_requires_grad(factory):
    f = {"tensor": lambda: S.tensor([1.0, 2.0], requires_grad=True),
         "zeros": lambda: S.zeros(2, requires_grad=True),
         "ones": lambda: S.ones(2, requires_grad=True),
         "full": lambda: S.full((2,), 3.0, requires_grad=True),
         "empty": lambda: S.empty(2, requires_grad=True),
         "rand": lambda: S.rand(2, requires_grad=True),
         "randn": lambda: S.randn(2, requires_grad=True),
         "zeros_like": lambda: S.zeros_like(S.ones(2), requires_grad=True),
         "ones_like": lambda: S.ones_like(S.ones(2), requires_grad=True),
         "full_like": lambda: S.full_like(S.ones(2), 2.0, requires_grad=True),
         "from_numpy": lambda: S.from_numpy(np.ones(2)).requires_grad_(),
         "arange": lambda: S.arange(2.0, requires_grad=True),
         "linspace": lambda: S.linspace(0, 1, 2, requires_grad=True),
         "eye": lambda: S.eye(2, requires_grad=True),
         "rand_like": lambda: S.rand_like(S.ones(2), requires_grad=True),
         "randn_like": lambda: S.randn_like(S.ones(2), requires_grad=True)}[factory]
    t = f()
    assert t.requires_grad and t.is_leaf
    (t * 2).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.full(tuple(t.shape), 2.0))


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_requires_grad_on_integer_tensor_raises(dtype):
    dt = getattr(S, dtype)
    t = S.zeros(3, dtype=dt)
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="floating point"):
        S.tensor([1, 0, 1], dtype=dt, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        S.zeros(2, dtype=dt, requires_grad=True)
    assert not t.requires_grad


def test_grad_setter_checks():
    a = make([1.0, 2.0])
    with pytest.raises(RuntimeError, match="different size"):
        a.grad = S.zeros(3, dtype=F64)
    with pytest.raises(RuntimeError):
        a.grad = S.zeros(2, dtype=F32)
    with pytest.raises(TypeError):
        a.grad = [1.0, 2.0]
    a.grad = S.ones(2, dtype=F64)
    (a * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_detach():
    a = make([1.0, 2.0])
    h = a * 2
    d = h.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    y = (h * d).sum() + (h.detach() * h).sum()
    y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [8.0, 16.0])
    dv = h.unsqueeze(1).expand(2, 3).T.detach()
    assert dv.stride() == (0, 1) and dv.shape == (3, 2)
    b = make([1.0, 2.0])
    d2 = b.detach()
    d2[0] = 10.0                                # shares storage (and the version counter)
    assert float(b[0]) == 10.0 and b._version == d2._version


def test_detach_():
    a = make([1.0, 2.0])
    h = a * 2
    h.detach_()
    assert h.is_leaf and not h.requires_grad and h.grad_fn is None
    (h * a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 4.0])


def test_grad_fn_next_functions_structure():
    a, b = make([1.0]), make([2.0])
    c = S.tensor([3.0], dtype=F64)
    y = a * b + c
    fn = y.grad_fn
    assert fn.name() == "AddBackward0"
    (mul_edge, c_edge) = fn.next_functions
    assert c_edge is None or c_edge[0] is None
    mul = mul_edge[0]
    assert mul.name() == "MulBackward0"
    accs = [e[0] for e in mul.next_functions]
    assert all(type(n).__name__ == "AccumulateGrad" for n in accs)
    assert accs[0].variable is a and accs[1].variable is b
    # one AccumulateGrad per leaf, shared by every use
    assert (a * 2).grad_fn.next_functions[0][0] is accs[0]


# ---- grad mode -----------------------------------------------------------------------------------

def test_no_grad_context_and_nesting():
    a = make([1.0])
    assert S.is_grad_enabled()
    with S.no_grad():
        assert not S.is_grad_enabled()
        y = a * 2
        assert not y.requires_grad and y.grad_fn is None
        with S.enable_grad():
            assert S.is_grad_enabled()
            z = a * 2
            assert z.requires_grad
            with S.no_grad():
                assert not (a.exp()).requires_grad
            assert S.is_grad_enabled()
        with S.set_grad_enabled(True):
            assert (a * 1).requires_grad
        assert not S.is_grad_enabled()
    assert S.is_grad_enabled()
    with S.set_grad_enabled(False):
        assert not (a * 1).requires_grad
    assert S.is_grad_enabled()
    z.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with S.no_grad():
            raise ValueError
    assert S.is_grad_enabled()
    with pytest.raises(ValueError):
        with S.no_grad():
            with S.enable_grad():
                raise ValueError
    assert S.is_grad_enabled()


def test_grad_mode_decorators():
    a = make([1.0])

    @S.no_grad()
    def f(x):
        assert not S.is_grad_enabled()
        return x * 2

    @S.enable_grad()
    def g(x):
        return x * 2

    @S.set_grad_enabled(False)
    def h(x):
        return x * 2

    assert S.is_grad_enabled()                # the decorator doesn't leak its mode
    assert not f(a).requires_grad
    assert S.is_grad_enabled()
    with S.no_grad():
        assert g(a).requires_grad
        assert not S.is_grad_enabled()
    assert not h(a).requires_grad
    assert S.is_grad_enabled()
    assert f.__name__ == "f"


def test_set_grad_enabled_as_function():
    try:
        S.set_grad_enabled(False)
        assert not S.is_grad_enabled()
        assert not (make([1.0]) * 2).requires_grad
        S.set_grad_enabled(True)
        assert S.is_grad_enabled()
    finally:
        S.autograd.grad_mode._set_grad_enabled(True)


def test_no_grad_bare_decorator():
    @S.no_grad
    def f(x):
        return x * 2
    assert not f(make([1.0])).requires_grad


def test_backward_runs_without_recording():
    a = make([1.0, 2.0])
    y = (a * a).sum()
    y.backward()
    assert not a.grad.requires_grad and a.grad.grad_fn is None


# ---- Function ------------------------------------------------------------------------------------

class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class MulAdd(Function):
    """(x * y * k + z, x - y): two inputs that need grad, one that may not, a non-tensor."""
    seen = []

    @staticmethod
    def forward(ctx, x, y, k, z):
        ctx.k = k
        ctx.save_for_backward(x, y)
        MulAdd.seen.append(tuple(ctx.needs_input_grad))
        return x * y * k + z, x - y

    @staticmethod
    def backward(ctx, g1, g2):
        x, y = ctx.saved_tensors
        gx = g1 * y * ctx.k + g2 if ctx.needs_input_grad[0] else None
        gy = g1 * x * ctx.k - g2 if ctx.needs_input_grad[1] else None
        gz = g1 if ctx.needs_input_grad[3] else None
        return gx, gy, None, gz


def test_function_single_input():
    leaf = check_grad(lambda t: Cube.apply(t), [rand(3, 4)], ["transposed"])[0]
    y = Cube.apply(leaf)
    assert y.grad_fn.name() == "CubeBackward"
    assert not y.is_leaf


def _muladd_combined(x, y, z):
    o1, o2 = MulAdd.apply(x, y, 2.5, z)
    return o1 * 1.5 + o2.exp()


def test_function_multiple_inputs_outputs_non_tensor_args():
    check_grad(_muladd_combined, [rand(3), rand(3, seed=1), rand(3, seed=2)])
    x, y = make(rand(3)), make(rand(3, seed=1))
    z = S.tensor(rand(3, seed=2))
    o1, o2 = MulAdd.apply(x, y, -1.0, z)
    assert o1.grad_fn is o2.grad_fn and (o1.output_nr, o2.output_nr) == (0, 1)
    assert MulAdd.seen[-1] == (True, True, False, False)
    (o1 * 2 + o2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -2 * rand(3, seed=1) + 1)
    np.testing.assert_allclose(y.grad.numpy(), -2 * rand(3) - 1)


def test_function_only_one_output_used():
    x, y = make(rand(3)), make(rand(3, seed=1))
    o1, o2 = MulAdd.apply(x, y, 1.0, S.zeros(3, dtype=F64))
    o2.sum().backward()                        # g1 is materialized as zeros
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
    np.testing.assert_array_equal(y.grad.numpy(), -np.ones(3))


def test_function_mark_non_differentiable():
    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            vals, idx = x.max(0)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            ctx.n = x.shape[0]
            return vals, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            (idx,) = ctx.saved_tensors
            out = S.zeros(ctx.n, dtype=g.dtype)
            out[int(idx)] = g
            return out

    x = make([1.0, 5.0, 2.0])
    v, i = SortLike.apply(x)
    assert v.requires_grad and not i.requires_grad and i.grad_fn is None
    (v * 3).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 3.0, 0.0])


def test_function_no_grad_inside_forward_and_without_grad_inputs():
    modes = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            modes.append(S.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Probe.apply(S.tensor([1.0]))
    assert not y.requires_grad
    x = make([1.0])
    y = Probe.apply(x)
    assert y.requires_grad and modes == [False, False]
    with S.no_grad():
        assert not Probe.apply(x).requires_grad


def test_function_saved_tensor_version_check():
    a = make(rand(3))
    x = a * 1
    y = Cube.apply(x)
    x.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED_MSG):
        y.sum().backward()


def test_function_saved_tensors_freed_after_backward():
    a = make(rand(3))
    y = Cube.apply(a * 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_function_returning_input_unchanged():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    a = make([1.0, 2.0])
    y = Ident.apply(a)
    assert y is not a and not y.is_leaf
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 5.0])


def test_function_mark_dirty_on_non_leaf():
    class AddOne(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    a = make([1.0, 2.0])
    x = a * 1
    y = AddOne.apply(x)
    assert y is x and y.grad_fn.name() == "AddOneBackward"
    np.testing.assert_array_equal(x.detach().numpy(), [2.0, 3.0])
    (y * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, 6.0])


def test_function_mark_dirty_on_leaf_raises():
    class AddOne(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    a = make([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOne.apply(a)


def test_function_gradient_of_wrong_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    a, b = make([1.0, -2.0]), make([3.0, 4.0])
    with pytest.raises(RuntimeError, match="invalid gradient"):
        (Bad.apply(a * b) * 1).sum().backward()


def test_function_wrong_number_of_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = make([1.0]), make([2.0])
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


def test_function_backward_returning_none_is_zero():
    class Stop(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return None

    a, b = make([1.0, 2.0]), make([1.0, 2.0])
    (Stop.apply(a * 3) + b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    assert a.grad is None


# ---- gradcheck -----------------------------------------------------------------------------------

def test_gradcheck_passes_on_correct_gradients():
    x = make(rand(2, 3))
    y = make(rand(3, seed=1))
    assert gradcheck(lambda a, b: (a + b).exp().sum(0), (x, y))
    assert gradcheck(lambda a: a.softmax(1), (make(rand(2, 3)),))
    assert gradcheck(lambda a: (a.T[::-1] + 2, a.sum()), [x])
    assert gradcheck(lambda a: (a * 2).sum(), (make(rand(2, 3), "negative"),))
    assert gradcheck(lambda a: a.sin().sum(), x, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("op", ["sin", "mul", "cube_function"])
def test_gradcheck_ops_that_save_inputs(op):
    x = make(rand(2, 3))
    fn = {"sin": lambda a: a.sin(), "mul": lambda a: a * a,
          "cube_function": lambda a: Cube.apply(a)}[op]
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_gradcheck_non_contiguous_inputs(layout):
    assert gradcheck(lambda a: (a * 3).sum(), (make(rand(2, 3), layout),))


def test_gradcheck_detects_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2.01

    x = make([0.5, 1.0, -2.0])
    with pytest.raises(RuntimeError, match="Jacobian mismatch.*input 0"):
        gradcheck(lambda a: Wrong.apply(a), (x,))
    assert gradcheck(lambda a: Wrong.apply(a), (x,), raise_exception=False) is False
    with pytest.raises(ValueError):
        gradcheck(lambda a: a * 2, (S.tensor([1.0], dtype=F64),))


def test_gradcheck_leaves_inputs_unchanged():
    xv = rand(2, 2)
    x = make(xv)
    gradcheck(lambda a: a.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), xv)
    assert x.grad is None


# ---- memory: graphs freed without the cyclic GC --------------------------------------------------

@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


GRAPHS = {
    "elementwise": lambda a: (a.exp() * a + a.sin()).sum(),
    "reductions": lambda a: a.softmax(1).log_softmax(0).amax(1).logsumexp(0) + a.max(1)[0].sum(),
    "views": lambda a: a.T[::-1].unsqueeze(0).expand(2, 4, 3).unfold(2, 2, 1).sum(),
    "inplace_on_views": lambda a: _ip_graph(a),
    "function": lambda a: Cube.apply(a * 2).sum(),
    "multi_output_function": lambda a: MulAdd.apply(a, a * 2, 1.5, a)[1].sum(),
}


def _ip_graph(a):
    x = a * 1
    x[0].mul_(2)
    x[:, ::2] += a[:, :2]
    x.T[1] = a[0, :3]
    return (x * x).sum()


FUNCTION_CYCLE = "BUG: a Function's Node and its ctx reference each other (node.ctx, " \
                 "ctx._node): its graph is freed only by the cyclic GC"


@pytest.mark.parametrize("name", [
    n for n in sorted(GRAPHS)])
def test_graph_freed_when_output_deleted(name, no_gc):
    a = make(rand(3, 4))
    y = GRAPHS[name](a)
    refs = []
    stack = [y.grad_fn]
    while stack:
        n = stack.pop()
        refs.append(weakref.ref(n))
        stack.extend(e[0] for e in n.next_functions if e is not None and e[0] is not None
                     and type(e[0]).__name__ != "AccumulateGrad")
    assert len(refs) >= 2
    del y, stack, n
    alive = [r().name() for r in refs if r() is not None]
    assert alive == []


def test_graph_freed_after_backward_and_saved_released(no_gc):
    a = make(rand(3, 4))
    h = a.exp()
    h.retain_grad()
    y = (h * h).sum()
    r = weakref.ref(y.grad_fn)
    rh = weakref.ref(h.grad_fn)
    y.backward()
    del y
    assert r() is None
    assert rh() is not None            # h still holds its grad_fn
    del h
    assert rh() is None


def test_saved_tensors_released_by_backward_unless_retained(no_gc):
    a = make(rand(3))
    h = a * 2
    rh = weakref.ref(h)
    y = h.sin().sum()                  # SinBackward saves h
    del h
    assert rh() is not None
    y.backward(retain_graph=True)
    assert rh() is not None
    y.backward()
    assert rh() is None                # released although y (and its graph) is alive
    assert y.grad_fn is not None


def test_leaf_not_kept_alive_by_its_grad_accumulator(no_gc):
    a = make(rand(3))
    ra = weakref.ref(a)
    y = (a * 2).sum()
    y.backward()
    del y
    del a
    assert ra() is None


def test_saved_output_does_not_keep_output_alive(no_gc):
    a = make(rand(3))
    y = a.exp()                          # ExpBackward saves its output
    ry = weakref.ref(y)
    z = y.sum()
    del y
    assert ry() is None                  # only a detached alias is saved
    z.backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(rand(3)))
