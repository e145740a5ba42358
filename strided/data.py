"""strided.data: datasets and a DataLoader (torch.utils.data's API, single process), and
read_idx for the IDX files MNIST ships as.
"""
import gzip
import numbers
import os

import numpy as np

from strided._C.tensor import Tensor, from_numpy, tensor
from strided.random import randperm


class Dataset:
    """Map-style dataset: __getitem__(index) and __len__."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are tuple(t[i] for t in tensors); all tensors share their first dim."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


def default_collate(batch):
    """Stack a list of samples: tensors along a new dim 0, numbers into a tensor, and
    tuples/lists/dicts element-wise."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return from_numpy(np.stack([b.detach().numpy() for b in batch]))
    if isinstance(elem, (bool, numbers.Number, np.number)):
        return tensor(np.array(batch))
    if isinstance(elem, dict):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, (tuple, list)):
        return type(elem)(default_collate(list(col)) for col in zip(*batch)) \
            if isinstance(elem, tuple) else [default_collate(list(c)) for c in zip(*batch)]
    return batch


class DataLoader:
    """Iterate over a dataset in batches.

    shuffle draws a fresh permutation each epoch from `generator` (strided.Generator; the
    default generator if None), so strided.manual_seed(s) or Generator(s) makes the order
    reproducible.  A TensorDataset is batched by indexing its tensors with the batch's
    indices (one gather per tensor) instead of collating samples one by one.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn or default_collate

    def _order(self):
        n = len(self.dataset)
        if self.shuffle:
            return randperm(n, generator=self.generator).numpy()
        return np.arange(n)

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        bs = self.batch_size
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            if len(idx) < bs and self.drop_last:
                return
            if fast:
                index = tensor(np.ascontiguousarray(idx, dtype=np.int64))
                yield tuple(t[index] for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])


# NOTE [ IDX format ]
# MNIST's files: a 4-byte magic (0, 0, type code, ndim), ndim big-endian uint32 sizes, then
# the elements in row-major order, big-endian.  Files may be gzip-compressed (".gz").
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NATIVE = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32,
               0x0D: np.float32, 0x0E: np.float64}


def read_idx(path):
    """Read an IDX file (optionally gzip-compressed) into a Tensor.

    uint8 data (MNIST images and labels) becomes a uint8 tensor; int8/int16 are widened to
    int32 (strided has no narrower signed dtypes), int32/float32/float64 keep their type.
    Raises ValueError naming the file when the magic number, the type code or the length
    does not match the IDX format.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:        # gzip raises these on a damaged stream
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read IDX file ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex() or 'missing'}; "
                         f"expected 0x0000TTNN with type code TT in "
                         f"{sorted(hex(t) for t in _IDX_TYPES)})")
    code, ndim = raw[2], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected "
                         f"{header} for {ndim} dims)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX file is {len(raw)} bytes but its header "
                         f"(shape {shape}, {dtype.name}) needs {expected}"
                         + (" (truncated)" if len(raw) < expected else ""))
    arr = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    arr = arr.astype(_IDX_NATIVE[code])
    if arr.dtype in (np.int8, np.int16):
        arr = arr.astype(np.int32)
    return from_numpy(np.ascontiguousarray(arr))
