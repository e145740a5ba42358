"""F.one_hot (torch.nn.functional.one_hot)."""
from __future__ import annotations
import numpy as np

from strided._C.core.tensor import Tensor, from_numpy
from strided._C.core.dtypes import int64

__all__ = ["one_hot"]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """The int64 tensor of shape tensor.shape + (num_classes,) with out[..., i] = 1 where
    i = tensor[...], 0 elsewhere; num_classes=-1 takes max(tensor) + 1.  tensor must be
    int64 (class indices), every value in [0, num_classes).

    >>> F.one_hot(strided.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    if tensor.dtype != int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor.detach().numpy()
    num_classes = int(num_classes)
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    elif num_classes < -1:
        raise RuntimeError("num_classes should be positive")
    if idx.size:
        if idx.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if idx.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    if idx.size:
        np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return from_numpy(out)
