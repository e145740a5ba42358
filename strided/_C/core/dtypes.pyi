"""Type stubs for strided._C.core.dtypes (a Cython module): the six element types."""
from typing import Any, Final

import numpy as np

class DType:
    """An element type; one instance per type, compared by identity."""
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not for users: the six DTypes are module constants (strided.float32, ...)."""
    @property
    def name(self) -> str: ...
    @property
    def itemsize(self) -> int: ...
    @property
    def num(self) -> int: ...
    @property
    def is_floating_point(self) -> bool: ...
    @property
    def is_signed(self) -> bool: ...
    @property
    def is_complex(self) -> bool: ...
    @property
    def numpy_dtype(self) -> np.dtype[Any]: ...
    @property
    def format(self) -> str: ...

# What a dtype argument accepts: a DType, a numpy dtype (or anything np.dtype() takes),
# or one of the Python types float, int, bool.
_DTypeLike = DType | np.dtype[Any] | type | str

bool_: Final[DType]
uint8: Final[DType]
int32: Final[DType]
int64: Final[DType]
float32: Final[DType]
float64: Final[DType]
all_dtypes: Final[tuple[DType, ...]]

def to_dtype(obj: _DTypeLike) -> DType: ...
