"""strided: a tensor library built around strided views."""
from strided._C.dtypes import (bool_ as bool, uint8, int32, int64, float32, float64, DType)
from strided._C.storage import Storage
from strided._C.tensor import Tensor, from_numpy, tensor, broadcast_shapes
