"""Type aliases of the public annotations (torch.types' names): what an argument taking a
size, a dtype, a device or a number accepts.

Aliases only: nothing here runs a computation, and it imports nothing above the core, so
every layer may import it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from strided._C.core.device import device as _device_type
from strided._C.core.dtypes import DType
from strided._C.core.size import Size

# A Python number where a tensor op takes a scalar.
Number = int | float | bool
# A shape given as one sequence: (2, 3), [2, 3] or a Size.
_size = Size | Sequence[int]
# A shape given either as one sequence or as separate ints: zeros((2, 3)) or zeros(2, 3).
_ShapeArg = int | Sequence[int]
# What a dtype argument accepts: a DType, a numpy dtype (or anything np.dtype() takes), or one
# of the Python types float, int, bool (strided._C.core.dtypes.to_dtype).
_dtype = DType
_DTypeLike = DType | np.dtype[Any] | type | str
# What a device argument accepts (only the CPU is available): a device, "cpu", or None.
Device = _device_type | str | int | None

__all__ = ["Number", "Device"]
