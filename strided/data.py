"""strided.data: datasets and a DataLoader (torch.utils.data's API, single process).

read_idx (MNIST's IDX format) is issue 8's.
"""
import numbers

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
