"""Function forms of the element-wise ops and reductions: strided.add(a, b), strided.sum(t, 0), ...

Each is the Tensor method of the same name (PyTorch's names and arguments); the element-wise
ones also take `out=`, a tensor of the broadcast shape that receives the result.
"""
from strided._C.core import tensor as _core
from strided._C.core.tensor import Tensor, where, clamp, div, lerp
from strided.op_table import UNARY

_BINARY = _core.BINARY_OPS
_UNARY = _core.UNARY_OPS


def _binary_function(name):
    op = _BINARY[name]

    def fn(input, other, *, out=None):
        return _core.binary_op(op, input, other, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Element-wise {name}(input, other), broadcasting; see Tensor.{name}."
    return fn


def _unary_function(name):
    op = _UNARY[name]

    def fn(input, *, out=None):
        return _core.unary_op(op, input, out, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Element-wise {name}(input); see Tensor.{name}."
    return fn


for _name in _BINARY:
    globals()[_name] = _binary_function(_name)
for _row in UNARY:                          # NOTE [ Op table ] in strided/op_table.py
    if _row.forms == "method":
        globals()[_row.name] = _unary_function(_row.name)


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting."""
    return _core.binary_op(_BINARY["add"], input, other, out, alpha)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other, broadcasting."""
    return _core.binary_op(_BINARY["sub"], input, other, out, alpha)


subtract = sub
multiply = mul                      # noqa: F821 (defined by the loop above)
divide = div
true_divide = true_divide           # noqa: F821
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne   # noqa: F821
absolute, negative, fix, clip = abs, neg, trunc, clamp                      # noqa: F821
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2                   # noqa: F821


def round(input, *, decimals=0, out=None):
    r = input.round(decimals=decimals)
    return r if out is None else out.copy_(r)


def square(input):
    return input.square()


def relu(input):
    return input.relu()


def sigmoid(input):
    return input.sigmoid()


def equal(input, other):
    return input.equal(other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return input.allclose(other, rtol, atol, equal_nan)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return input.isclose(other, rtol, atol, equal_nan)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return input.nan_to_num(nan, posinf, neginf)


# ---- reductions -------------------------------------------------------------------------------

def sum(input, dim=None, keepdim=False, *, dtype=None):
    return input.sum(dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    return input.prod(dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    return input.mean(dim, keepdim, dtype=dtype)


def max(input, dim=None, keepdim=False):
    return input.max(dim, keepdim)


def min(input, dim=None, keepdim=False):
    return input.min(dim, keepdim)


def amax(input, dim=(), keepdim=False):
    return input.amax(dim, keepdim)


def amin(input, dim=(), keepdim=False):
    return input.amin(dim, keepdim)


def argmax(input, dim=None, keepdim=False):
    return input.argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return input.argmin(dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return input.var(dim, unbiased, keepdim, correction=correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return input.std(dim, unbiased, keepdim, correction=correction)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    return input.norm(p, dim, keepdim, dtype)


def any(input, dim=None, keepdim=False):
    return input.any(dim, keepdim)


def all(input, dim=None, keepdim=False):
    return input.all(dim, keepdim)


def logsumexp(input, dim, keepdim=False):
    return input.logsumexp(dim, keepdim)


def cumsum(input, dim, *, dtype=None):
    return input.cumsum(dim, dtype=dtype)


def cumprod(input, dim, *, dtype=None):
    return input.cumprod(dim, dtype=dtype)


def softmax(input, dim, dtype=None):
    return input.softmax(dim, dtype)


def log_softmax(input, dim, dtype=None):
    return input.log_softmax(dim, dtype)


def index_select(input, dim, index):
    return input.index_select(dim, index)


def index_add(input, dim, index, source, *, alpha=1):
    return input.index_add(dim, index, source, alpha=alpha)


__all__ = sorted(n for n in dir() if not n.startswith("_") and n not in ("Tensor",))
