"""The op table (NOTE [ Op table ] in strided/op_table.py): the generated regions are fresh,
and every row is tested against PyTorch -- its values over dtypes and layouts (broadcasting
for binary rows), its derivatives, its in-place form -- so a row added to the table is tested without another
edit (and a row whose PyTorch counterpart is unknown fails here until it gets one)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import strided
import strided.nn.functional as F
from strided.op_table import UNARY, BINARY

torch = pytest.importorskip("torch")
TF = torch.nn.functional
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# How to call a row that is not a plain Tensor method of the same name in both libraries:
# (strided call, torch call) on one tensor.
CALLS = {
    "round": (lambda t: t.round(), torch.round),
    "clamp": (lambda t: t.clamp(-0.5, 0.75), lambda t: t.clamp(-0.5, 0.75)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    "fill": (lambda t: t.clone().fill_(2.5), lambda t: t.clone().fill_(2.5)),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                  lambda t: TF.gelu(t, approximate="tanh")),
    "silu": (F.silu, TF.silu),
    "softplus": (lambda t: F.softplus(t, 2.0, 1.5), lambda t: TF.softplus(t, 2.0, 1.5)),
}
def calls(row):
    if row.name in CALLS:
        return CALLS[row.name]
    if row.forms != "method":
        pytest.fail(f"op table row {row.name!r} has no entry in tests/test_op_table.py CALLS")
    return (lambda t: getattr(t, row.name)()), (lambda t: getattr(t, row.name)())


def sample(dtype, rs):
    if dtype == "bool":
        return rs.rand(4, 6) > 0.5
    if dtype in ("uint8", "int32", "int64"):
        lo = 0 if dtype == "uint8" else -20
        return rs.randint(lo, 20, (4, 6)).astype(dtype)
    x = rs.standard_normal((4, 6)) * 2
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    x[1, 0] = 0.5                                   # round: half to even
    return x.astype(dtype)


LAYOUTS = {"contiguous": lambda t: t, "transposed": lambda t: t.t(),
           # a negative step in strided; the same elements through flip in PyTorch
           "stepped": lambda t: t[::2, ::-3] if isinstance(t, strided.Tensor)
           else t[::2].flip(1)[:, ::3]}


def assert_same(got, want):
    """A strided result equals PyTorch's: shape, dtype and values (NaN where it has NaN)."""
    assert got.shape == tuple(want.shape)
    assert str(got.dtype).replace("strided.", "") == str(want.dtype).replace("torch.", "")
    rtol = 2e-6 if want.dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               want.numpy().astype(np.float64), rtol=rtol, atol=rtol,
                               equal_nan=True)


def refusal(e):
    """What strided must raise where PyTorch raised e: NotImplementedError where PyTorch has
    no kernel for the dtype (a program may catch it), else any clear error."""
    return NotImplementedError if isinstance(e, NotImplementedError) else (
        RuntimeError, TypeError, ValueError)


def test_generated_regions_are_fresh():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_ops.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, "run python tools/gen_ops.py:\n" + proc.stdout


def test_rows_are_well_formed():
    names = [r.name for r in UNARY]
    assert len(names) == len(set(names))
    for r in UNARY:
        assert r.kind in ("any", "float", "bool") and r.forms in ("method", "functional",
                                                                   "internal")
        assert (r.grad is None) == (r.kind == "bool" or r.name in ("bitwise_not", "clamp",
                                                                  "fill")), r.name
    assert set(strided._C.core.tensor.UNARY_OPS) == {r.name for r in UNARY
                                                if r.forms in ("method", "functional")}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("row", UNARY, ids=lambda r: r.name)
def test_row_matches_torch(row, dtype, layout):
    ours, theirs = calls(row)
    rs = np.random.RandomState(0)
    x = sample(dtype, rs)
    a = LAYOUTS[layout](strided.tensor(x))
    b = LAYOUTS[layout](torch.tensor(x))
    try:
        want = theirs(b)
    except (RuntimeError, TypeError) as e:
        with pytest.raises(refusal(e)):
            ours(a)
        return
    if want.dtype == torch.float32:
        # PyTorch's float32 kernels differ by CPU: its AVX-512 gelu gives NaN at +inf (its
        # AVX2 one and its float64 one give inf).  Where only float32 says NaN, the float64
        # answer is the reference.
        want64 = theirs(b.double()).float()
        want = torch.where(want.isnan() & ~want64.isnan(), want64, want)
    assert_same(ours(a), want)


@pytest.mark.parametrize("row", [r for r in UNARY if r.grad is not None], ids=lambda r: r.name)
def test_row_derivative_matches_torch(row):
    ours, theirs = calls(row)
    rs = np.random.RandomState(1)
    x = rs.uniform(-0.9, 0.9, (3, 5))
    x[x == 0] = 0.3
    if row.name in ("log", "log2", "log10", "sqrt", "rsqrt"):
        x = np.abs(x) + 0.1
    w = rs.standard_normal((3, 5))
    a = strided.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    (ours(a) * strided.tensor(w)).sum().backward()
    (theirs(b) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row", [r for r in UNARY if r.forms == "method"
                                 and (r.kind != "bool" or r.name == "logical_not")],
                         ids=lambda r: r.name)
def test_row_in_place_form(row):
    """name_ writes into the tensor (and, through it, into its base's storage)."""
    rs = np.random.RandomState(2)
    x = rs.uniform(0.1, 0.9, (4, 6))
    if row.name == "bitwise_not":
        x = rs.randint(0, 50, (4, 6))
    base = strided.tensor(x)
    view = base[1:, ::2]
    want = getattr(torch.tensor(x)[1:, ::2], row.name)()
    out = getattr(view, row.name + "_")()
    assert out is view
    np.testing.assert_allclose(base.numpy()[1:, ::2], want.numpy().astype(x.dtype),
                               rtol=1e-12)


@pytest.mark.parametrize("row", [r for r in UNARY if r.grad is not None
                                 and r.forms == "method"], ids=lambda r: r.name)
def test_row_in_place_derivative(row):
    """The in-place form differentiates like the out-of-place one (through a clone)."""
    rs = np.random.RandomState(3)
    x = rs.uniform(0.1, 0.9, (3, 4))
    a = strided.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    getattr(a.clone(), row.name + "_")().sum().backward()
    getattr(b.clone(), row.name + "_")().sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- binary rows ------------------------------------------------------------------------

BINARY_CALLS = {
    "add_alpha": (lambda a, b: strided.add(a, b, alpha=2), lambda a, b: torch.add(a, b, alpha=2)),
    "sub_alpha": (lambda a, b: strided.sub(a, b, alpha=2), lambda a, b: torch.sub(a, b, alpha=2)),
    "lerp": (lambda a, b: strided.lerp(a, b, 0.25), lambda a, b: torch.lerp(a, b, 0.25)),
    # gelu's backward kernels: (grad, input), as aten's gelu_backward takes them
    "gelu_backward": (lambda a, b: _internal("gelu_backward", a, b),
                      lambda a, b: torch.ops.aten.gelu_backward(a, b.expand_as(a).contiguous())),
    "gelu_tanh_backward": (lambda a, b: _internal("gelu_tanh_backward", a, b),
                           lambda a, b: torch.ops.aten.gelu_backward(
                               a, b.expand_as(a).contiguous(), approximate="tanh")),
}


def _internal(name, a, b):
    core = strided._C.core.tensor
    return core.binary_op(core.INTERNAL_BINARY_OPS[name], a, b)


def binary_calls(row):
    if row.name in BINARY_CALLS:
        return BINARY_CALLS[row.name]
    if row.forms != "function":
        pytest.fail(f"op table row {row.name!r} has no entry in tests/test_op_table.py "
                    f"BINARY_CALLS")
    return getattr(strided, row.name), getattr(torch, row.name)


def binary_sample(dtype, rs, shape):
    x = sample(dtype, rs)[:shape[0], :shape[1]]
    if dtype in ("int32", "int64"):
        x = np.where(x == 0, 3, x)                  # no integer division by zero
    if dtype == "uint8":
        x = x % 7 + 1
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("row", BINARY, ids=lambda r: r.name)
def test_binary_row_matches_torch(row, dtype):
    ours, theirs = binary_calls(row)
    rs = np.random.RandomState(4)
    x = binary_sample(dtype, rs, (4, 6))
    y = binary_sample(dtype, rs, (1, 6))            # broadcast along rows
    if row.name in ("bitwise_left_shift", "bitwise_right_shift") and dtype != "bool":
        y = np.abs(y) % 5
    a, b = strided.tensor(x), strided.tensor(y)
    ta, tb = torch.tensor(x), torch.tensor(y)
    try:
        want = theirs(ta, tb)
    except (RuntimeError, TypeError) as e:
        with pytest.raises(refusal(e)):
            ours(a, b)
        return
    assert_same(ours(a, b), want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("row", [r for r in BINARY if r.methods != "manual"],
                         ids=lambda r: r.name)
def test_binary_row_methods(row, dtype):
    """The generated Tensor methods: name(other) and, where the row has it, name_(other)
    writing into self, as PyTorch's methods of the same names (keyword `row.other`)."""
    rs = np.random.RandomState(6)
    x = binary_sample(dtype, rs, (3, 5))
    y = binary_sample(dtype, rs, (1, 5))
    if row.name in ("bitwise_left_shift", "bitwise_right_shift") and dtype != "bool":
        y = np.abs(y) % 5
    forms = [row.name] + ([row.name + "_"] if row.methods == "both" else [])
    # a row has an in-place method exactly when PyTorch has one
    assert hasattr(torch.Tensor, row.name + "_") == (row.methods == "both")
    assert hasattr(strided.Tensor, row.name + "_") == (row.methods == "both")
    for name in forms:
        a, ta = strided.tensor(x), torch.tensor(x)
        try:
            want = getattr(ta, name)(**{row.other: torch.tensor(y)})
        except (RuntimeError, TypeError):
            with pytest.raises((RuntimeError, TypeError, ValueError)):
                getattr(a, name)(**{row.other: strided.tensor(y)})
            continue
        got = getattr(a, name)(**{row.other: strided.tensor(y)})
        assert_same(got, want)
        if name.endswith("_"):
            assert got is a


@pytest.mark.parametrize("number", ["left", "right", None])
@pytest.mark.parametrize("row", [r for r in BINARY if r.grad is not None],
                         ids=lambda r: r.name)
def test_binary_row_derivative_matches_torch(row, number):
    """d/dx and d/dy through broadcasting, and with a Python number on either side."""
    ours, theirs = binary_calls(row)
    rs = np.random.RandomState(5)
    x = rs.uniform(0.5, 2.0, (3, 4))
    y = rs.uniform(0.5, 2.0, (1, 4))
    if row.name in ("maximum", "minimum"):
        y[0, 0] = x[0, 0]                            # a tie: the gradient is split
    if number == "left":
        a, ta = 1.5, 1.5
        b, tb = strided.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    elif number == "right":
        a, ta = strided.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        b, tb = 1.5, 1.5
    else:
        a, ta = strided.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        b, tb = strided.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    try:
        want = theirs(ta, tb)
    except (RuntimeError, TypeError):
        pytest.skip("PyTorch has no such form")
    w = rs.standard_normal(tuple(want.shape))
    (ours(a, b) * strided.tensor(w)).sum().backward()
    try:
        (want * torch.tensor(w)).sum().backward()
    except RuntimeError:
        # PyTorch has no derivative here (floor_divide; remainder/fmod of a number by a
        # tensor): check strided's against central differences of its own forward
        for i, s_ in enumerate((a, b)):
            if isinstance(s_, strided.Tensor) and row.name == "floor_divide":
                assert not s_.grad.numpy().any()     # zero almost everywhere, like floor
            elif isinstance(s_, strided.Tensor):
                base = s_.detach().numpy()
                num = np.zeros_like(base)
                for idx in np.ndindex(*base.shape):
                    hi, lo = base.copy(), base.copy()
                    hi[idx] += 1e-6
                    lo[idx] -= 1e-6
                    args = [a, b]
                    args[i] = strided.tensor(hi)
                    f_hi = (ours(*args) * strided.tensor(w)).sum().item()
                    args[i] = strided.tensor(lo)
                    f_lo = (ours(*args) * strided.tensor(w)).sum().item()
                    num[idx] = (f_hi - f_lo) / 2e-6
                np.testing.assert_allclose(s_.grad.numpy(), num, rtol=1e-5, atol=1e-5)
        return
    for s_, t_ in ((a, ta), (b, tb)):
        if isinstance(t_, torch.Tensor):
            np.testing.assert_allclose(s_.grad.numpy(), t_.grad.numpy(), rtol=1e-10,
                                       atol=1e-12)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("exponent", [2, 2.0, 3, 0.5, -0.5, -1, -1.0, -2, 1.5, True])
def test_pow_scalar_exponents_match_torch(exponent, dtype, layout):
    """pow(tensor, number): the exponents PyTorch runs as their own kernels (2 as square,
    0.5 as sqrt, -0.5 as rsqrt, -1 as reciprocal) give its values, signed zeros and
    infinities included, through the function, the operator, out= and the in-place form;
    the gradient is pow's."""
    rs = np.random.RandomState(9)
    x = sample(dtype, rs)
    if dtype != "int64":
        x[0, :4] = [-np.inf, -0.0, 0.0, np.inf]
    a, b = LAYOUTS[layout](strided.tensor(x)), LAYOUTS[layout](torch.tensor(x))
    try:
        want = torch.pow(b, exponent)
    except RuntimeError as e:            # integers to negative powers
        with pytest.raises(RuntimeError):
            strided.pow(a, exponent)
        assert "negative" in str(e)
        return
    got = strided.pow(a, exponent)
    assert_same(got, want)
    real = ~np.isnan(want.numpy())                 # a NaN's sign bit means nothing
    np.testing.assert_array_equal(np.signbit(got.numpy())[real], np.signbit(want.numpy())[real])
    assert_same(a ** exponent, want)
    out = strided.empty(tuple(want.shape), dtype=got.dtype)
    assert strided.pow(a, exponent, out=out) is out
    assert_same(out, want)
    if got.dtype == a.dtype:
        c = strided.tensor(x)
        c.pow_(exponent)
        assert_same(c, torch.tensor(x).pow_(exponent))
    if dtype == "float64" and layout == "contiguous":
        p = np.abs(x[1:]) + 0.5
        s, t = strided.tensor(p, requires_grad=True), torch.tensor(p, requires_grad=True)
        (s ** exponent).sum().backward()
        (t ** exponent).sum().backward()
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-12)
