"""Factory functions: empty, zeros, ones, full, arange, linspace, eye and the *_like forms.

Sizes may be given as varargs (zeros(2, 3)) or as one sequence (zeros((2, 3))), as in PyTorch.
Each factory but the *_like forms takes out=None, as PyTorch's: the values are written into
out (of the right shape; made in out's dtype unless dtype= is given) and out is returned.
"""
from __future__ import annotations
import math
from typing import Any

import numpy as np

from strided._C.core.device import check_device
from strided._C.core import tensor as _t
from strided._C.core.dtypes import float32, float64, int32, int64, uint8, bool_, to_dtype
from strided._C.core.tensor import Tensor
from strided.types import Device, Number, _DTypeLike, _ShapeArg, _size


def _shape(size):
    """Sizes given as f(2, 3) or f((2, 3)); a one-element integer tensor is an int, as in
    PyTorch (NOTE [ Tensors as ints ] in tensor.pyx: the core parses what comes back)."""
    if len(size) == 1 and not isinstance(size[0], (int, _t.Tensor)):
        return tuple(size[0])
    if len(size) == 1:
        return size[0]
    return size


def _grad(t, requires_grad):
    return t.requires_grad_() if requires_grad else t


def _into(out, t, name):
    """t, or t written into out: the factories' out= (NOTE [ out= arguments ] in
    strided/_C/core/out.pxi).  Without dtype=, the values are made in out's dtype."""
    return t if out is None else _t._write_out(out, t, name, (), "same")


def _dtype(dtype, out, default):
    return dtype if dtype is not None else out.dtype if isinstance(out, Tensor) else default


def _sizes(args, size, name):
    """The sizes of empty/zeros/ones: given as f(2, 3), f((2, 3)) or f(size=(2, 3))."""
    if size is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        return _shape((size,))
    return _shape(args)


def empty(*args: _ShapeArg, size: _size | None = None, out: Tensor | None = None,
          dtype: _DTypeLike | None = None,
          device: Device = None, requires_grad: bool = False) -> Tensor:
    """empty(*size, dtype=float32): an uninitialised contiguous tensor (sizes as ints, one
    sequence, or size=).

    Its values are whatever the memory held: fill it before reading.  dtype=float gives
    float64 and dtype=int int64, as PyTorch; requires_grad=True makes it a leaf that
    records operations; device must be None or the CPU.
    """
    check_device(device, "empty()")
    dtype = _dtype(dtype, out, float32)
    t = _t._empty(_sizes(args, size, "empty"), dtype or float32, False)
    return _into(out, _grad(t, requires_grad), "empty")


def zeros(*args: _ShapeArg, size: _size | None = None, out: Tensor | None = None,
          dtype: _DTypeLike | None = None,
          device: Device = None, requires_grad: bool = False) -> Tensor:
    """zeros(*size, dtype=float32): a tensor of zeros (sizes as ints, one sequence, or size=).

    A fresh contiguous tensor.  dtype=float gives float64 and dtype=int int64, as PyTorch;
    requires_grad=True makes it a leaf that records operations; device must be None or the
    CPU.

    >>> strided.zeros(2, 3)
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
    >>> strided.zeros((2,), dtype=strided.int64)
    tensor([0, 0])
    """
    check_device(device, "zeros()")
    dtype = _dtype(dtype, out, float32)
    t = _t._empty(_sizes(args, size, "zeros"), dtype or float32, True)
    return _into(out, _grad(t, requires_grad), "zeros")


def ones(*args: _ShapeArg, size: _size | None = None, out: Tensor | None = None,
         dtype: _DTypeLike | None = None,
         device: Device = None, requires_grad: bool = False) -> Tensor:
    """ones(*size, dtype=float32): a tensor of ones (sizes as ints, one sequence, or size=).

    A fresh contiguous tensor; dtype, requires_grad and device as zeros.

    >>> strided.ones(2, dtype=strided.bool)
    tensor([ True,  True])
    """
    check_device(device, "ones()")
    dtype = _dtype(dtype, out, float32)
    t = _t._full(_sizes(args, size, "ones"), 1, dtype or float32)
    return _into(out, _grad(t, requires_grad), "ones")


def full(size: _size, fill_value: Number, *, out: Tensor | None = None,
         dtype: _DTypeLike | None = None, device: Device = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape size (a sequence of ints) filled with fill_value; without dtype,
    the dtype follows the value (bool, int64 or float32), as PyTorch.

    >>> strided.full((2,), 7)
    tensor([7, 7])
    >>> strided.full((2,), 1.5)
    tensor([1.5000, 1.5000])
    """
    check_device(device, "full()")
    if isinstance(fill_value, _t.Tensor):
        fill_value = fill_value.item()
    dtype = _dtype(dtype, out, None)
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = bool_ if kind == "b" else int64 if kind in "iu" else float32
    return _into(out, _grad(_t._full(_shape((size,)), fill_value, dtype), requires_grad), "full")


def empty_like(t: Tensor, *, dtype: _DTypeLike | None = None, device: Device = None,
               requires_grad: bool = False) -> Tensor:
    """An uninitialised contiguous tensor of t's shape, with t's dtype unless dtype is given
    (the layout is always contiguous, whatever t's strides).
    """
    check_device(device, "empty_like()")
    return empty(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def zeros_like(t: Tensor, *, dtype: _DTypeLike | None = None, device: Device = None,
               requires_grad: bool = False) -> Tensor:
    """A contiguous tensor of zeros with t's shape, and t's dtype unless dtype is given.

    >>> strided.zeros_like(strided.arange(3))
    tensor([0, 0, 0])
    """
    check_device(device, "zeros_like()")
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: _DTypeLike | None = None, device: Device = None,
              requires_grad: bool = False) -> Tensor:
    """A contiguous tensor of ones with t's shape, and t's dtype unless dtype is given."""
    check_device(device, "ones_like()")
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Number, *, dtype: _DTypeLike | None = None,
              device: Device = None, requires_grad: bool = False) -> Tensor:
    """A contiguous tensor of t's shape filled with fill_value, in t's dtype unless dtype is
    given (the value is cast to it: full_like of an int tensor with 2.7 holds 2).
    """
    check_device(device, "full_like()")
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(start: Number, end: Number | None = None, step: Number = 1, *,
           out: Tensor | None = None, dtype: _DTypeLike | None = None, device: Device = None,
           requires_grad: bool = False) -> Tensor:
    """Values start, start+step, ... below end (above it for a negative step); arange(n)
    is 0 .. n-1.

    int64 when start, end and step are all ints, else float32, as in PyTorch (dtype=
    overrides).  Computed in float64 and rounded once, so float32 values are correctly
    rounded.

    >>> strided.arange(5)
    tensor([0, 1, 2, 3, 4])
    >>> strided.arange(1, 2, 0.25)
    tensor([1.0000, 1.2500, 1.5000, 1.7500])
    """
    check_device(device, "arange()")
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not isinstance(v, (int, float, np.number)) or isinstance(v, bool) and name == "step":
            raise TypeError(f"arange(): {name} must be a number, but got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise RuntimeError(f"arange(): {name} must be finite, but got {v}")
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(f"arange(): upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    dtype = _dtype(dtype, out, None)
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if integral else float32
    dtype = to_dtype(dtype)
    if dtype == bool_:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    n = math.ceil((end - start) / step)
    # computed in float64 (or exact int64) and then cast, so float32 results are correctly rounded
    work = np.int64 if not dtype.is_floating_point and all(
        isinstance(v, (int, np.integer)) for v in (start, end, step)) else np.float64
    values = start + np.arange(n, dtype=work) * np.asarray(step, dtype=work)
    return _into(out, _grad(_t.tensor(values, dtype), requires_grad), "arange")


def linspace(start: Number, end: Number, steps: int, *, out: Tensor | None = None,
             dtype: _DTypeLike | None = None, device: Device = None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive (float32 unless dtype is
    given).

    >>> strided.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    check_device(device, "linspace()")
    steps = int(steps)
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, but got {steps}")
    dtype = to_dtype(_dtype(dtype, out, float32))
    if dtype == bool_:
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    return _into(out, _grad(_t.tensor(np.linspace(start, end, steps), dtype), requires_grad),
                 "linspace")


def eye(n: int, m: int | None = None, *, out: Tensor | None = None,
        dtype: _DTypeLike | None = None, device: Device = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m defaults to n), float32 unless dtype is given.

    >>> strided.eye(2, 3)
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    check_device(device, "eye()")
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"eye(): n and m must be non-negative, but got n={n}, m={m}")
    r = zeros(n, m, dtype=_dtype(dtype, out, float32))
    r.diagonal().fill_(1)
    return _into(out, _grad(r, requires_grad), "eye")


def _legacy(name, dtype):
    def constructor(*args: Any, device: Device = None) -> Tensor:
        check_device(device, name + "()")
        return _t._legacy_tensor(args, dtype, name)
    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (
        f"{name}(*sizes) / {name}(data) / {name}(): PyTorch's legacy constructor of "
        f"{dtype.name} tensors: an uninitialised tensor of these sizes, a copy of data, or an "
        f"empty tensor.  A function here, not a class: isinstance(x, strided.{name}) does not "
        f"hold (test x.dtype instead).")
    return constructor


BoolTensor = _legacy("BoolTensor", bool_)
ByteTensor = _legacy("ByteTensor", uint8)
IntTensor = _legacy("IntTensor", int32)
LongTensor = _legacy("LongTensor", int64)
FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
