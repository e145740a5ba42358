"""strided.finfo and strided.iinfo: the numerical properties of a dtype, as torch.finfo and
torch.iinfo give them (their values are NumPy's for the same type)."""
from __future__ import annotations
import numpy as np

from strided._C.core.dtypes import to_dtype, float32
from strided.types import _DTypeLike


class finfo:
    """finfo(dtype=strided.float32): properties of a floating-point dtype.

    bits, eps (smallest x with 1 + x != 1), max, min (= -max), tiny and smallest_normal
    (the smallest positive normal number), resolution (10 ** -precision decimal digits) and
    dtype (its name, as 'float32').
    """

    def __init__(self, type: _DTypeLike | None = None) -> None:
        dt = float32 if type is None else to_dtype(type)
        if not dt.is_floating_point:
            raise TypeError("strided.finfo() requires a floating point input type. Use "
                            "strided.iinfo to handle 'strided.finfo'")
        info = np.finfo(dt.numpy_dtype)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = float(info.smallest_normal)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dt.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """iinfo(dtype): properties of an integer dtype (uint8, int32, int64): bits, min, max
    and dtype (its name, as 'int32').  bool is refused, as in PyTorch."""

    def __init__(self, type: _DTypeLike) -> None:
        dt = to_dtype(type)
        if dt.is_floating_point:
            raise TypeError("strided.iinfo() requires an integer input type. Use strided.finfo "
                            "to handle 'strided.iinfo'")
        if dt.name == "bool":
            raise TypeError("strided.bool is not supported by strided.iinfo")
        info = np.iinfo(dt.numpy_dtype)
        self.bits = int(info.bits)
        self.min = int(info.min)
        self.max = int(info.max)
        self.dtype = dt.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
