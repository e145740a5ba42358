"""Activation functions beyond the op table's rows (relu, silu, gelu, leaky_relu, softplus):
compositions of differentiable element-wise ops, PyTorch's names, arguments and numerics.

Branches that `where` does not select still receive a zero gradient, so a branch that can
overflow (exp of a large positive input) is computed on a clamped argument: 0 * inf would
otherwise put nan into the gradient.  hardtanh and hardswish record their own backward rows
(NOTE [ Derivative table ]): PyTorch's gradients there are not those of the composition at
the kinks (hardtanh's is 0 at min_val and max_val, clamp's 1; hardswish's is 0 at -3 and 1 at 3).
"""
from __future__ import annotations
from typing import TYPE_CHECKING

from strided._C.core.tensor import Tensor, leaky_relu, softplus, where
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided.random import rand

if TYPE_CHECKING:
    from strided.random import Generator
    from strided.types import _DTypeLike

# SELU's constants (Klambauer et al. 2017), as PyTorch's
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _source(input: Tensor, inplace: bool) -> Tensor:
    """The tensor an in-place form computes from: a copy of input when autograd records
    (the backward reads it after input is overwritten), input itself otherwise."""
    return input.clone() if inplace and requires_record(input) else input


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """out, or input overwritten with out (recorded as an in-place copy) when inplace."""
    return input.copy_(out) if inplace else out


_TORCH_DTYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int32": "Int", "int64": "Long"}


def _check_float(input: Tensor, name: str) -> None:
    """PyTorch's error for an activation without integer kernels (name is its kernel's)."""
    if not input.is_floating_point():
        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{_TORCH_DTYPE_NAMES[input.dtype.name]}'")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (floating-point input).

    >>> F.elu(strided.tensor([-1.0, 0.0, 2.0]))
    tensor([-0.6321,  0.0000,  2.0000])
    """
    _check_float(input, "elu")
    x = _source(input, inplace)
    out = where(x > 0, x, x.clamp(max=0.0).expm1() * alpha)
    return _inplace(input, out, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place elu: overwrites input and returns it."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's constants alpha = 1.6732632423543772,
    scale = 1.0507009873554805.

    >>> F.selu(strided.tensor([0.0, 1.0]))
    tensor([0.0000, 1.0507])
    """
    _check_float(input, "elu")
    x = _source(input, inplace)
    out = where(x > 0, x * _SELU_SCALE, x.clamp(max=0.0).expm1() * (_SELU_ALPHA * _SELU_SCALE))
    return _inplace(input, out, inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place selu: overwrites input and returns it."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (floating-point input).

    >>> F.celu(strided.tensor([-2.0, 3.0]), alpha=2.0)
    tensor([-1.2642,  3.0000])
    """
    _check_float(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    x = _source(input, inplace)
    out = where(x > 0, x, (x.clamp(max=0.0) * (1.0 / alpha)).expm1() * alpha)
    return _inplace(input, out, inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place celu: overwrites input and returns it."""
    return celu(input, alpha, inplace=True)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|).

    >>> F.softsign(strided.tensor([-3.0, 1.0]))
    tensor([-0.7500,  0.5000])
    """
    return input / (input.abs() + 1)


@derivative("hardtanh", "HardtanhBackward0")     # NOTE [ Derivative table ]
def _hardtanh_grads(ctx, grad):
    """PyTorch's: the gradient passes where min_val < x < max_val (ends excluded)."""
    x = ctx.input
    return where((x > ctx.min_val) & (x < ctx.max_val), grad, 0.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at the ends, as PyTorch's.

    >>> F.hardtanh(strided.tensor([-2.0, 0.5, 2.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    x = _source(input, inplace)
    with no_grad():
        out = x.clamp(min_val, max_val)
    if requires_record(x):
        out = record("hardtanh", (x,), out, {"input": x}, min_val=min_val, max_val=max_val)
    return _inplace(input, out, inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place hardtanh: overwrites input and returns it."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6) (hardtanh(x, 0, 6)).

    >>> F.relu6(strided.tensor([-1.0, 3.0, 7.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between (floating-point input).

    >>> F.hardsigmoid(strided.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    _check_float(input, "hardsigmoid_cpu")
    out = hardtanh(input + 3.0, 0.0, 6.0) * (1.0 / 6.0)     # input + 3 is a new tensor
    return _inplace(input, out, inplace)


@derivative("hardswish", "HardswishBackward0")
def _hardswish_grads(ctx, grad):
    """PyTorch's: 0 up to -3, x / 3 + 0.5 on (-3, 3), 1 from 3 on."""
    x = ctx.input
    return where(x <= -3.0, 0.0, where(x < 3.0, grad * (x * (1.0 / 3.0) + 0.5), grad))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (floating-point input); the gradient is PyTorch's.

    >>> F.hardswish(strided.tensor([-4.0, 1.0, 4.0]))
    tensor([-0.0000,  0.6667,  4.0000])
    """
    _check_float(input, "hardswish_cpu")
    x = _source(input, inplace)
    with no_grad():
        out = x * (x + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0)
    if requires_record(x):
        out = record("hardswish", (x,), out, {"input": x})
    return _inplace(input, out, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (floating-point input).

    >>> F.mish(strided.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8651])
    """
    _check_float(input, "mish_cpu")
    x = _source(input, inplace)
    return _inplace(input, x * softplus(x).tanh(), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for any x.

    >>> F.logsigmoid(strided.tensor([0.0, -100.0]))
    tensor([  -0.6931, -100.0000])
    """
    _check_float(input, "log_sigmoid_forward_cpu")
    return -softplus(-input)


def _check_lambd(lambd):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd where x > lambd, x + lambd where x < -lambd, 0 between (lambd >= 0).

    >>> F.softshrink(strided.tensor([-1.0, 0.2, 2.0]))
    tensor([-0.5000,  0.0000,  1.5000])
    """
    _check_lambd(lambd)
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 elsewhere.

    >>> F.hardshrink(strided.tensor([-1.0, 0.2, 2.0]))
    tensor([-1.,  0.,  2.])
    """
    return where((input > lambd) | (input < -lambd), input, 0.0)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x).

    >>> F.tanhshrink(strided.tensor([0.0, 1.0]))
    tensor([0.0000, 0.2384])
    """
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, value elsewhere.

    >>> F.threshold(strided.tensor([0.5, 2.0]), 1.0, -1.0)
    tensor([-1.,  2.])
    """
    return _inplace(input, where(input > threshold, input, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place threshold: overwrites input and returns it."""
    return _inplace(input, where(input > threshold, input, value), True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere; weight has one element or one per channel
    (dim 1 of input).

    >>> F.prelu(strided.tensor([[-2.0, 1.0]]), strided.tensor([0.25]))
    tensor([[-0.5000,  1.0000]])
    """
    n = weight.numel()
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if channels != n:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        w = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        w = weight.reshape(())
    return where(input > 0, input, w * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, generator: Generator | None = None) -> Tensor:
    """Randomized leaky ReLU: x where x >= 0, a * x below.  In training each element's slope
    a ~ U(lower, upper) is drawn from strided's generator (so values differ from PyTorch's
    stream); otherwise a = (lower + upper) / 2.  generator= is a strided extension.

    >>> F.rrelu(strided.tensor([-3.0, 1.0]))
    tensor([-0.6875,  1.0000])
    """
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    _check_float(input, "rrelu_with_noise_cpu")
    slope = rand(*input.shape, generator=generator, dtype=input.dtype) * (upper - lower) + lower
    x = _source(input, inplace)
    return _inplace(input, where(x >= 0, x, x * slope), inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, generator: Generator | None = None) -> Tensor:
    """In-place rrelu: overwrites input and returns it."""
    return rrelu(input, lower, upper, training, True, generator)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of input along dim.

    >>> F.glu(strided.tensor([1.0, 2.0, 0.0, 0.0]))
    tensor([0.5000, 1.0000])
    """
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + input.ndim if dim < 0 else dim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d)
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int, dtype: _DTypeLike | None = None) -> Tensor:
    """softmax(-input) along dim.

    >>> F.softmin(strided.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    if dtype is not None:
        input = input.to(dtype)
    return (-input).softmax(dim)
