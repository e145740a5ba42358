"""Element types of strided tensors.

A DType is a small immutable object; the six instances live in this module and are exported
as strided.bool, strided.uint8, strided.int32, strided.int64, strided.float32, strided.float64
(with PyTorch's aliases float/double/int/long).
"""
import numpy as np


cdef class DType:
    """An element type: one of the six instances strided.bool, uint8, int32, int64, float32
    (strided.float) and float64 (strided.double); compare them with `is` or ==.

    Attributes (read-only): name ("float32"), itemsize (bytes per element), num (the
    promotion order, bool < uint8 < int32 < int64 < float32 < float64), is_floating_point,
    is_signed, numpy_dtype (the numpy.dtype with the same layout) and format (the PEP 3118
    buffer format character).

    >>> strided.float32.itemsize, strided.int64.is_floating_point
    (4, False)
    """
    def __init__(self, *args, **kwargs):
        raise TypeError("strided dtypes are fixed; use strided.float32, strided.int64, ...")

    def __repr__(self):
        return "strided." + self.name

    def __reduce__(self):
        return (_dtype_by_num, (self.num,))         # unpickles to the one instance

    @property
    def is_complex(self):
        """False: strided has no complex dtypes."""
        return False


cdef list _DTYPES = []


cdef DType _make(int num, str name, str np_name, str fmt, bint floating, bint signed):
    cdef DType d = DType.__new__(DType)
    d.num = num
    d.name = name
    d.numpy_dtype = np.dtype(np_name)
    d.itemsize = d.numpy_dtype.itemsize
    d.format = fmt
    d.is_floating_point = floating
    d.is_signed = signed
    return d


_DTYPES.append(_make(BOOL, "bool", "bool", "?", False, False))
_DTYPES.append(_make(UINT8, "uint8", "uint8", "B", False, False))
_DTYPES.append(_make(INT32, "int32", "int32", "i", False, True))
_DTYPES.append(_make(INT64, "int64", "int64", "q", False, True))
_DTYPES.append(_make(FLOAT32, "float32", "float32", "f", True, True))
_DTYPES.append(_make(FLOAT64, "float64", "float64", "d", True, True))

bool_ = _DTYPES[BOOL]
uint8 = _DTYPES[UINT8]
int32 = _DTYPES[INT32]
int64 = _DTYPES[INT64]
float32 = _DTYPES[FLOAT32]
float64 = _DTYPES[FLOAT64]
all_dtypes = tuple(_DTYPES)

cdef dict _BY_NUMPY = {d.numpy_dtype: d for d in _DTYPES}
# Python's own types as dtypes mean what they mean in PyTorch: float is double precision
# (dtype=float gives float64, not the default float32), int is int64, bool is bool.
cdef dict _BY_PYTYPE = {float: float64, int: int64, bool: bool_}


cdef DType dtype_from_num(int num):
    return <DType>_DTYPES[num]


def _dtype_by_num(int num):
    """The dtype of code num (what a pickled dtype stores)."""
    if not 0 <= num < len(_DTYPES):
        raise ValueError(f"no strided dtype has code {num}")
    return _DTYPES[num]


cdef DType as_dtype(object obj):
    if isinstance(obj, DType):
        return <DType>obj
    d = _BY_PYTYPE.get(obj) if isinstance(obj, type) else None
    if d is not None:
        return d
    try:
        d = _BY_NUMPY.get(np.dtype(obj))
    except TypeError:
        d = None
    if d is None:
        raise TypeError(
            f"unsupported dtype {obj!r}: strided supports "
            + ", ".join(x.name for x in _DTYPES))
    return d


def to_dtype(obj):
    """Python access to as_dtype: a strided DType from a DType, numpy dtype or Python type."""
    return as_dtype(obj)
