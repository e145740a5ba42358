"""strided.utils.data: datasets, samplers and the DataLoader, as torch.utils.data has them.

`from strided.utils.data import DataLoader, Dataset, TensorDataset, random_split` works as
its torch counterpart; DataLoader(num_workers=N) loads in N worker processes and hands
batches over in shared memory (NOTE [ DataLoader workers ] in dataloader.py).
strided.data is the same module's names plus read_idx.
"""
from strided.utils.data.dataset import (Dataset, IterableDataset, TensorDataset, StackDataset,
                                        ConcatDataset, ChainDataset, Subset, random_split)
from strided.utils.data.sampler import (Sampler, SequentialSampler, RandomSampler,
                                        SubsetRandomSampler, WeightedRandomSampler,
                                        BatchSampler)
from strided.utils.data._collate import default_collate, default_convert
from strided.utils.data._worker import WorkerInfo, get_worker_info
from strided.utils.data.dataloader import DataLoader

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "default_collate", "default_convert", "WorkerInfo", "get_worker_info", "DataLoader"]
