"""default_collate and default_convert (torch.utils.data's collation rules).

In a DataLoader worker process default_collate stacks tensors straight into shared memory
(NOTE [ DataLoader shared memory ] in strided/utils/data/_shared.py), so a batch crosses to
the main process without another copy.
"""
from __future__ import annotations
import collections.abc
import copy
import numbers
from typing import Any, Sequence

import numpy as np

from strided._C.core.tensor import Tensor, from_numpy, tensor
from strided._C.core.dtypes import float64, int64
from strided.utils.data import _shared

__all__ = ["default_collate", "default_convert"]

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")
_STRING_KINDS = "SaUO"


def _stack(tensors):
    """Stack equal-shaped tensors along a new dim 0 (into shared memory in a worker)."""
    shape = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    dtype = tensors[0].dtype
    if any(t.dtype != dtype for t in tensors):
        dtype = None                       # mixed dtypes: NumPy's promotion (as torch.stack)
    arrays = [t.detach().numpy() for t in tensors]
    alloc = _shared.worker_allocator()
    if alloc is None:
        return from_numpy(np.stack(arrays))
    out_dtype = arrays[0].dtype if dtype is not None else np.result_type(*arrays)
    out = alloc.empty((len(arrays),) + shape, out_dtype)
    np.stack(arrays, out=out.numpy())
    return out


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, as torch.utils.data.default_collate does:

    - Tensors (and NumPy arrays) of equal shape are stacked along a new dim 0;
    - Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor,
      NumPy scalars a tensor of their dtype; strings and bytes stay a list;
    - dicts (Mappings) collate per key, namedtuples per field, and other sequences per
      position, returned as a list (tuples too, as torch does) or the sequence's type.

    >>> default_collate([(strided.zeros(2), 0), (strided.ones(2), 1)])
    [tensor([[0., 0.],
            [1., 1.]]), tensor([0, 1])]
    """
    elem = batch[0]
    elem_type = type(elem)
    if isinstance(elem, Tensor):
        return _stack(batch)
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ in ("ndarray", "memmap"):
            if elem.dtype.kind in _STRING_KINDS:
                raise TypeError(_ERR.format(elem.dtype))
            return _stack([from_numpy(np.ascontiguousarray(b)) for b in batch])
        if elem.shape == ():                 # NumPy scalars
            return tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch, dtype=int64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, numbers.Number):
        return tensor(np.array(batch))
    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: default_collate([d[key] for d in batch]) for key in elem})
                return clone
            return elem_type({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):        # namedtuple
        return elem_type(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))         # tuples, as torch passes them
        if isinstance(elem, tuple):
            return [default_collate(s) for s in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, s in enumerate(transposed):
                    clone[i] = default_collate(s)
                return clone
            return elem_type([default_collate(s) for s in transposed])
        except TypeError:
            return [default_collate(s) for s in transposed]
    raise TypeError(_ERR.format(elem_type))


def default_convert(data: Any) -> Any:
    """What a DataLoader without automatic batching (batch_size=None) applies to each
    sample: NumPy arrays (not of strings) become tensors, recursively through dicts,
    namedtuples and sequences; everything else is returned as it is."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and data.dtype.kind in _STRING_KINDS:
            return data
        return tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
