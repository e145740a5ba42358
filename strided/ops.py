"""Function forms of the element-wise ops and reductions: strided.add(a, b), strided.sum(t, 0), ...

Each is the Tensor method of the same name (PyTorch's names and arguments) and, where PyTorch's
takes `out=`, also takes `out=None`: a tensor of the result's shape that receives the result
and is returned (NOTE [ out= arguments ] in strided/_C/core/out.pxi).
"""
from __future__ import annotations
import typing as _typing

from strided._C.core import tensor as _core
from strided._C.core.tensor import Tensor, where, clamp, div, lerp, values_indices
from strided._C.core.tensor import _write_out, _write_outs, _check_out_grad
from strided._C.core.dtypes import bool_ as _bool

if _typing.TYPE_CHECKING:
    from typing import Sequence

    from strided.types import Number, _DTypeLike

_BINARY = _core.BINARY_OPS
_UNARY = _core.UNARY_OPS


# BEGIN GENERATED: functions (tools/gen_ops.py from strided/op_table.py)
def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise neg(input), into out when given.

    Tensor.neg is the method form."""
    return _core.unary_op(_UNARY["neg"], input, out, "neg")


def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise abs(input), into out when given.

    Tensor.abs is the method form."""
    return _core.unary_op(_UNARY["abs"], input, out, "abs")


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise sign(input), into out when given.

    Tensor.sign is the method form."""
    return _core.unary_op(_UNARY["sign"], input, out, "sign")


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise square(input), into out when given.

    Tensor.square is the method form."""
    return _core.unary_op(_UNARY["square"], input, out, "square")


def relu(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise relu(input), into out when given.

    Tensor.relu is the method form."""
    return _core.unary_op(_UNARY["relu"], input, out, "relu")


def floor(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise floor(input), into out when given.

    Tensor.floor is the method form."""
    return _core.unary_op(_UNARY["floor"], input, out, "floor")


def ceil(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise ceil(input), into out when given.

    Tensor.ceil is the method form."""
    return _core.unary_op(_UNARY["ceil"], input, out, "ceil")


def trunc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise trunc(input), into out when given.

    Tensor.trunc is the method form."""
    return _core.unary_op(_UNARY["trunc"], input, out, "trunc")


def frac(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise frac(input), into out when given.

    Tensor.frac is the method form."""
    return _core.unary_op(_UNARY["frac"], input, out, "frac")


def bitwise_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_not(input), into out when given.

    Tensor.bitwise_not is the method form."""
    return _core.unary_op(_UNARY["bitwise_not"], input, out, "bitwise_not")


def exp(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise exp(input), into out when given.

    Tensor.exp is the method form."""
    return _core.unary_op(_UNARY["exp"], input, out, "exp")


def exp2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise exp2(input), into out when given.

    Tensor.exp2 is the method form."""
    return _core.unary_op(_UNARY["exp2"], input, out, "exp2")


def expm1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise expm1(input), into out when given.

    Tensor.expm1 is the method form."""
    return _core.unary_op(_UNARY["expm1"], input, out, "expm1")


def log(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise log(input), into out when given.

    Tensor.log is the method form."""
    return _core.unary_op(_UNARY["log"], input, out, "log")


def log2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise log2(input), into out when given.

    Tensor.log2 is the method form."""
    return _core.unary_op(_UNARY["log2"], input, out, "log2")


def log10(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise log10(input), into out when given.

    Tensor.log10 is the method form."""
    return _core.unary_op(_UNARY["log10"], input, out, "log10")


def log1p(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise log1p(input), into out when given.

    Tensor.log1p is the method form."""
    return _core.unary_op(_UNARY["log1p"], input, out, "log1p")


def sqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise sqrt(input), into out when given.

    Tensor.sqrt is the method form."""
    return _core.unary_op(_UNARY["sqrt"], input, out, "sqrt")


def rsqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise rsqrt(input), into out when given.

    Tensor.rsqrt is the method form."""
    return _core.unary_op(_UNARY["rsqrt"], input, out, "rsqrt")


def sin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise sin(input), into out when given.

    Tensor.sin is the method form."""
    return _core.unary_op(_UNARY["sin"], input, out, "sin")


def cos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise cos(input), into out when given.

    Tensor.cos is the method form."""
    return _core.unary_op(_UNARY["cos"], input, out, "cos")


def tan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise tan(input), into out when given.

    Tensor.tan is the method form."""
    return _core.unary_op(_UNARY["tan"], input, out, "tan")


def asin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise asin(input), into out when given.

    Tensor.asin is the method form."""
    return _core.unary_op(_UNARY["asin"], input, out, "asin")


def acos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise acos(input), into out when given.

    Tensor.acos is the method form."""
    return _core.unary_op(_UNARY["acos"], input, out, "acos")


def atan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise atan(input), into out when given.

    Tensor.atan is the method form."""
    return _core.unary_op(_UNARY["atan"], input, out, "atan")


def sinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise sinh(input), into out when given.

    Tensor.sinh is the method form."""
    return _core.unary_op(_UNARY["sinh"], input, out, "sinh")


def cosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise cosh(input), into out when given.

    Tensor.cosh is the method form."""
    return _core.unary_op(_UNARY["cosh"], input, out, "cosh")


def tanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise tanh(input), into out when given.

    Tensor.tanh is the method form."""
    return _core.unary_op(_UNARY["tanh"], input, out, "tanh")


def sigmoid(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise sigmoid(input), into out when given.

    Tensor.sigmoid is the method form."""
    return _core.unary_op(_UNARY["sigmoid"], input, out, "sigmoid")


def reciprocal(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise reciprocal(input), into out when given.

    Tensor.reciprocal is the method form."""
    return _core.unary_op(_UNARY["reciprocal"], input, out, "reciprocal")


def erf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise erf(input), into out when given.

    Tensor.erf is the method form."""
    return _core.unary_op(_UNARY["erf"], input, out, "erf")


def erfc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise erfc(input), into out when given.

    Tensor.erfc is the method form."""
    return _core.unary_op(_UNARY["erfc"], input, out, "erfc")


def rad2deg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise rad2deg(input), into out when given.

    Tensor.rad2deg is the method form."""
    return _core.unary_op(_UNARY["rad2deg"], input, out, "rad2deg")


def deg2rad(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise deg2rad(input), into out when given.

    Tensor.deg2rad is the method form."""
    return _core.unary_op(_UNARY["deg2rad"], input, out, "deg2rad")


def isnan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise isnan(input), into out when given.

    Tensor.isnan is the method form."""
    return _core.unary_op(_UNARY["isnan"], input, out, "isnan")


def isinf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise isinf(input), into out when given.

    Tensor.isinf is the method form."""
    return _core.unary_op(_UNARY["isinf"], input, out, "isinf")


def isfinite(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise isfinite(input), into out when given.

    Tensor.isfinite is the method form."""
    return _core.unary_op(_UNARY["isfinite"], input, out, "isfinite")


def isposinf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise isposinf(input), into out when given.

    Tensor.isposinf is the method form."""
    return _core.unary_op(_UNARY["isposinf"], input, out, "isposinf")


def isneginf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise isneginf(input), into out when given.

    Tensor.isneginf is the method form."""
    return _core.unary_op(_UNARY["isneginf"], input, out, "isneginf")


def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise signbit(input), into out when given.

    Tensor.signbit is the method form."""
    return _core.unary_op(_UNARY["signbit"], input, out, "signbit")


def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Element-wise logical_not(input), into out when given.

    Tensor.logical_not is the method form."""
    return _core.unary_op(_UNARY["logical_not"], input, out, "logical_not")


def mul(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise mul(input, other), broadcasting, into out when given.

    Tensor.mul is the method form."""
    return _core.binary_op(_BINARY["mul"], input, other, out)


def true_divide(input: Tensor | Number, other: Tensor | Number, *,
                out: Tensor | None = None) -> Tensor:
    """Element-wise true_divide(input, other), broadcasting, into out when given.

    Tensor.true_divide is the method form."""
    return _core.binary_op(_BINARY["true_divide"], input, other, out)


def floor_divide(input: Tensor | Number, other: Tensor | Number, *,
                 out: Tensor | None = None) -> Tensor:
    """Element-wise floor_divide(input, other), broadcasting, into out when given.

    Tensor.floor_divide is the method form."""
    return _core.binary_op(_BINARY["floor_divide"], input, other, out)


def remainder(input: Tensor | Number, other: Tensor | Number, *,
              out: Tensor | None = None) -> Tensor:
    """Element-wise remainder(input, other), broadcasting, into out when given.

    Tensor.remainder is the method form."""
    return _core.binary_op(_BINARY["remainder"], input, other, out)


def fmod(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise fmod(input, other), broadcasting, into out when given.

    Tensor.fmod is the method form."""
    return _core.binary_op(_BINARY["fmod"], input, other, out)


def pow(input: Tensor | Number, exponent: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise pow(input, exponent), broadcasting, into out when given.

    Tensor.pow is the method form."""
    return _core.binary_op(_BINARY["pow"], input, exponent, out)


def maximum(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise maximum(input, other), broadcasting, into out when given.

    Tensor.maximum is the method form."""
    return _core.binary_op(_BINARY["maximum"], input, other, out)


def minimum(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise minimum(input, other), broadcasting, into out when given.

    Tensor.minimum is the method form."""
    return _core.binary_op(_BINARY["minimum"], input, other, out)


def atan2(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise atan2(input, other), broadcasting, into out when given.

    Tensor.atan2 is the method form."""
    return _core.binary_op(_BINARY["atan2"], input, other, out)


def hypot(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise hypot(input, other), broadcasting, into out when given.

    Tensor.hypot is the method form."""
    return _core.binary_op(_BINARY["hypot"], input, other, out)


def bitwise_and(input: Tensor | Number, other: Tensor | Number, *,
                out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_and(input, other), broadcasting, into out when given.

    Tensor.bitwise_and is the method form."""
    return _core.binary_op(_BINARY["bitwise_and"], input, other, out)


def bitwise_or(input: Tensor | Number, other: Tensor | Number, *,
               out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_or(input, other), broadcasting, into out when given.

    Tensor.bitwise_or is the method form."""
    return _core.binary_op(_BINARY["bitwise_or"], input, other, out)


def bitwise_xor(input: Tensor | Number, other: Tensor | Number, *,
                out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_xor(input, other), broadcasting, into out when given.

    Tensor.bitwise_xor is the method form."""
    return _core.binary_op(_BINARY["bitwise_xor"], input, other, out)


def bitwise_left_shift(input: Tensor | Number, other: Tensor | Number, *,
                       out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_left_shift(input, other), broadcasting, into out when given.

    Tensor.bitwise_left_shift is the method form."""
    return _core.binary_op(_BINARY["bitwise_left_shift"], input, other, out)


def bitwise_right_shift(input: Tensor | Number, other: Tensor | Number, *,
                        out: Tensor | None = None) -> Tensor:
    """Element-wise bitwise_right_shift(input, other), broadcasting, into out when given.

    Tensor.bitwise_right_shift is the method form."""
    return _core.binary_op(_BINARY["bitwise_right_shift"], input, other, out)


def eq(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise eq(input, other), broadcasting, into out when given.

    Tensor.eq is the method form."""
    return _core.binary_op(_BINARY["eq"], input, other, out)


def ne(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise ne(input, other), broadcasting, into out when given.

    Tensor.ne is the method form."""
    return _core.binary_op(_BINARY["ne"], input, other, out)


def lt(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise lt(input, other), broadcasting, into out when given.

    Tensor.lt is the method form."""
    return _core.binary_op(_BINARY["lt"], input, other, out)


def le(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise le(input, other), broadcasting, into out when given.

    Tensor.le is the method form."""
    return _core.binary_op(_BINARY["le"], input, other, out)


def gt(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise gt(input, other), broadcasting, into out when given.

    Tensor.gt is the method form."""
    return _core.binary_op(_BINARY["gt"], input, other, out)


def ge(input: Tensor | Number, other: Tensor | Number, *, out: Tensor | None = None) -> Tensor:
    """Element-wise ge(input, other), broadcasting, into out when given.

    Tensor.ge is the method form."""
    return _core.binary_op(_BINARY["ge"], input, other, out)


def logical_and(input: Tensor | Number, other: Tensor | Number, *,
                out: Tensor | None = None) -> Tensor:
    """Element-wise logical_and(input, other), broadcasting, into out when given.

    Tensor.logical_and is the method form."""
    return _core.binary_op(_BINARY["logical_and"], input, other, out)


def logical_or(input: Tensor | Number, other: Tensor | Number, *,
               out: Tensor | None = None) -> Tensor:
    """Element-wise logical_or(input, other), broadcasting, into out when given.

    Tensor.logical_or is the method form."""
    return _core.binary_op(_BINARY["logical_or"], input, other, out)


def logical_xor(input: Tensor | Number, other: Tensor | Number, *,
                out: Tensor | None = None) -> Tensor:
    """Element-wise logical_xor(input, other), broadcasting, into out when given.

    Tensor.logical_xor is the method form."""
    return _core.binary_op(_BINARY["logical_xor"], input, other, out)
# END GENERATED: functions


def add(input: Tensor | Number, other: Tensor | Number, *, alpha: Number = 1,
        out: Tensor | None = None) -> Tensor:
    """input + alpha * other, broadcasting."""
    return _core.binary_op(_BINARY["add"], input, other, out, alpha)


def sub(input: Tensor | Number, other: Tensor | Number, *, alpha: Number = 1,
        out: Tensor | None = None) -> Tensor:
    """input - alpha * other, broadcasting."""
    return _core.binary_op(_BINARY["sub"], input, other, out, alpha)


subtract = sub
multiply = mul
divide = div
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
absolute, negative, fix, clip = abs, neg, trunc, clamp
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    """Each element rounded to the nearest integer, halves to even, or to `decimals` decimal
    places (floating-point only); into out when given.  Tensor.round is the method form.

    >>> strided.round(strided.tensor([0.5, 1.5, 1.25]))
    tensor([0., 2., 1.])
    """
    r = input.round(decimals=decimals)
    return r if out is None else out.copy_(r)


def equal(input: Tensor, other: Tensor) -> bool:
    """True (a Python bool) when other has input's shape and equal values."""
    return input.equal(other)


def allclose(input: Tensor, other: Tensor | Number, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True (a Python bool) when |input - other| <= atol + rtol * |other| for every element
    (broadcasting; NaN equal to NaN only with equal_nan).
    """
    return input.allclose(other, rtol, atol, equal_nan)


def isclose(input: Tensor, other: Tensor | Number, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """A bool tensor: |input - other| <= atol + rtol * |other| element-wise (broadcasting);
    infinities are close only to themselves, NaN to nothing unless equal_nan.
    """
    return input.isclose(other, rtol, atol, equal_nan)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """A copy with NaN replaced by nan, +inf by posinf and -inf by neginf (by default the
    greatest and the lowest finite value of input's dtype); out=: a tensor of input's shape
    and dtype.
    """
    return _out(out, input.nan_to_num(nan, posinf, neginf), "nan_to_num", (input,))


def _out(out: Tensor | None, result: Tensor, name: str, inputs: tuple,
         rule: str = "same") -> Tensor:
    """result, or result written into out (NOTE [ out= arguments ] in strided/_C/core/out.pxi)."""
    return result if out is None else _write_out(out, result, name, inputs, rule)


def _out_dtype(out: Tensor | None, dtype: _DTypeLike | None,
               kernel: str | None = None) -> _DTypeLike | None:
    """The dtype a reduction that computes in out's dtype (sum, prod, cumsum) runs in;
    `kernel`: PyTorch's kernel name, which has no bool form (cumsum_out_cpu, ...)."""
    if dtype is not None or not isinstance(out, Tensor):
        return dtype
    if kernel is not None and out.dtype == _bool:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    return out.dtype


# ---- reductions -------------------------------------------------------------------------------

def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
        dtype: _DTypeLike | None = None, out: Tensor | None = None) -> Tensor:
    """The sum over dim (an int, a tuple, or None for all dims), keepdim keeping reduced dims
    as size 1.  Floating-point input keeps its dtype (accumulated in float64); integer and
    bool input gives int64; dtype= casts the input first.  out=: a tensor of the result's
    shape, of any dtype (the sum is computed in out's dtype, as PyTorch).

    >>> strided.sum(strided.tensor([[1, 2], [3, 4]]), 1)
    tensor([3, 7])
    """
    return _out(out, input.sum(dim, keepdim, dtype=_out_dtype(out, dtype)), "sum", (input,))


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: _DTypeLike | None = None, out: Tensor | None = None) -> Tensor:
    """The product of all elements, or over one dim (an int); dtype and out= rules as sum."""
    return _out(out, input.prod(dim, keepdim, dtype=_out_dtype(out, dtype)), "prod", (input,))


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: _DTypeLike | None = None, out: Tensor | None = None) -> Tensor:
    """The mean over dim (an int, a tuple, or None for all dims); floating-point input (or
    dtype=) only, as PyTorch.  out=: any dtype the result casts to.
    """
    return _out(out, input.mean(dim, keepdim, dtype=dtype), "mean", (input,), "cast")


def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False, *,
        out: Tensor | tuple[Tensor, Tensor] | None = None) -> Tensor | values_indices:
    """max(input): the largest element (a 0-d tensor); max(input, dim, keepdim=False): a
    named tuple (values, indices) along dim; max(input, other): strided.maximum.  out=: a
    0-d tensor, a (values, indices) tuple, or maximum's out, for the three forms.

    >>> strided.max(strided.tensor([[1, 5], [7, 2]]), 1).indices
    tensor([1, 0])
    """
    return _max_min(input, dim, keepdim, out, "max")


def _max_min(input, dim, keepdim, out, name):
    if out is None:
        return getattr(input, name)(dim, keepdim)
    if isinstance(dim, Tensor):
        return (maximum if name == "max" else minimum)(input, dim, out=out)
    _check_out_grad(out, name, (input,))
    r = getattr(input, name)(dim, keepdim)
    if dim is None:
        return _write_out(out, r, name, (input,), "cast")
    return values_indices(*_write_outs(out, tuple(r), name, (input,)))


def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False, *,
        out: Tensor | tuple[Tensor, Tensor] | None = None) -> Tensor | values_indices:
    """min(input): the smallest element (a 0-d tensor); min(input, dim, keepdim=False): a
    named tuple (values, indices) along dim; min(input, other): strided.minimum.  out= as
    max's.
    """
    return _max_min(input, dim, keepdim, out, "min")


def amax(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False, *,
         out: Tensor | None = None) -> Tensor:
    """The maximum over dim (an int, a tuple, or () for all dims), without indices; the
    gradient is shared evenly among equal maxima.
    """
    return _out(out, input.amax(dim, keepdim), "amax", (input,))


def amin(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False, *,
         out: Tensor | None = None) -> Tensor:
    """The minimum over dim (an int, a tuple, or () for all dims), without indices."""
    return _out(out, input.amin(dim, keepdim), "amin", (input,))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
           out: Tensor | None = None) -> Tensor:
    """int64 indices of the maximum along dim (the first on ties); dim None: the index into
    the flattened input.
    """
    return _out(out, input.argmax(dim, keepdim), "argmax", (input,))


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
           out: Tensor | None = None) -> Tensor:
    """int64 indices of the minimum along dim (the first on ties); dim None: the index into
    the flattened input.
    """
    return _out(out, input.argmin(dim, keepdim), "argmin", (input,))


def var(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
        keepdim: bool = False, *, correction: float | None = None,
        out: Tensor | None = None) -> Tensor:
    """The variance over dim: sum((x - mean)**2) / (N - correction), correction 1 by default
    (unbiased=False: 0).  Floating-point only.
    """
    return _out(out, input.var(dim, unbiased, keepdim, correction=correction), "var",
                (input,), "cast")


def std(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
        keepdim: bool = False, *, correction: float | None = None,
        out: Tensor | None = None) -> Tensor:
    """The standard deviation over dim, sqrt(var(...)) with the same arguments."""
    return _out(out, input.std(dim, unbiased, keepdim, correction=correction), "std",
                (input,), "cast")


def norm(input: Tensor, p: float | str | None = "fro", dim: int | Sequence[int] | None = None,
         keepdim: bool = False, out: Tensor | None = None,
         dtype: _DTypeLike | None = None) -> Tensor:
    """The vector p-norm over dim (all dims by default): p "fro" or 2, 1, inf, -inf, 0 (the
    count of nonzeros) or any number.  Floating-point only.
    """
    return _out(out, input.norm(p, dim, keepdim, dtype), "norm", (input,))


def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
        out: Tensor | None = None) -> Tensor:
    """Whether any element over dim is nonzero (a bool tensor; uint8 for uint8 input)."""
    return _out(out, input.any(dim, keepdim), "any", (input,))


def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
        out: Tensor | None = None) -> Tensor:
    """Whether every element over dim is nonzero (a bool tensor; uint8 for uint8 input)."""
    return _out(out, input.all(dim, keepdim), "all", (input,))


def logsumexp(input: Tensor, dim: int | Sequence[int], keepdim: bool = False, *,
              out: Tensor | None = None) -> Tensor:
    """log(sum(exp(input), dim)), computed stably; dim an int or a tuple."""
    return _out(out, input.logsumexp(dim, keepdim), "logsumexp", (input,), "cast")


def cumsum(input: Tensor, dim: int, *, dtype: _DTypeLike | None = None,
           out: Tensor | None = None) -> Tensor:
    """The running sum along dim (integer and bool input gives int64).

    >>> strided.cumsum(strided.tensor([1, 2, 3]), 0)
    tensor([1, 3, 6])
    """
    return _out(out, input.cumsum(dim, dtype=_out_dtype(out, dtype, "cumsum_out_cpu")),
                "cumsum", (input,))


def cumprod(input: Tensor, dim: int, *, dtype: _DTypeLike | None = None,
            out: Tensor | None = None) -> Tensor:
    """The running product along dim (integer and bool input gives int64); out= as sum's."""
    return _out(out, input.cumprod(dim, dtype=_out_dtype(out, dtype, "cumprod_out_cpu")),
                "cumprod", (input,))


def softmax(input: Tensor, dim: int, dtype: _DTypeLike | None = None, *,
            out: Tensor | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, computed stably (floating-point only).

    >>> strided.softmax(strided.tensor([0., 0.]), 0)
    tensor([0.5000, 0.5000])
    """
    return _out(out, input.softmax(dim, dtype), "softmax", (input,))


def log_softmax(input: Tensor, dim: int, dtype: _DTypeLike | None = None, *,
                out: Tensor | None = None) -> Tensor:
    """log(softmax(x)) along dim, computed stably (floating-point only)."""
    return _out(out, input.log_softmax(dim, dtype), "log_softmax", (input,))


def index_select(input: Tensor, dim: int, index: Tensor, *,
                 out: Tensor | None = None) -> Tensor:
    """A copy of the entries of input at the positions in the 1-D integer tensor index along
    dim; out=: a tensor of the result's shape and input's dtype.
    """
    return _out(out, input.index_select(dim, index), "index_select", (input,))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Number = 1, out: Tensor | None = None) -> Tensor:
    """A copy of input with alpha * source's i-th slice along dim added to its index[i]-th
    slice (repeated indices accumulate); Tensor.index_add_ works in place.
    """
    return _out(out, input.index_add(dim, index, source, alpha=alpha), "index_add",
                (input, source))


__all__ = sorted(n for n in dir() if not n.startswith("_") and n not in ("Tensor", "annotations"))
