"""DistributedSampler: each rank draws its own equal share of a dataset's indices."""
from __future__ import annotations
import math
from typing import Iterator, Sized

from strided.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of dataset for one of num_replicas ranks (torch.utils.data.distributed's
    DistributedSampler): with shuffle, every rank draws the same permutation from
    seed + epoch (so call set_epoch(epoch) at the start of each epoch for a new order) and
    takes every num_replicas-th index starting at its rank.  Without drop_last the
    indices are padded by repeating the first ones so every rank gets
    ceil(len / num_replicas); with drop_last the tail is cut to a multiple of num_replicas.
    num_replicas and rank default to the process group's.  The permutation comes from
    strided's generator, so it is not the one torch draws for the same seed.

    >>> s = strided.distributed.DistributedSampler(range(10), num_replicas=4, rank=1,
    ...                                            shuffle=False)
    >>> list(s), len(s)
    ([1, 5, 9], 3)
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from strided.distributed.process_group import get_rank, get_world_size
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            from strided.random import Generator, randperm
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            elif indices:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch (with seed) for the next shuffle; the same on every rank."""
        self.epoch = epoch
