"""The DataLoader's worker processes: their loop, get_worker_info, and the wrapper that
carries an exception with its traceback back to the main process."""
from __future__ import annotations
import os
import pickle
import random
import sys
import traceback
from typing import TYPE_CHECKING

import numpy as np

from strided.utils.data import _shared

if TYPE_CHECKING:
    from strided.utils.data.dataset import Dataset

__all__ = ["WorkerInfo", "get_worker_info"]

# How often (seconds) an idle worker checks that its parent is still alive.
_PARENT_CHECK_INTERVAL = 1.0


class WorkerInfo:
    """What get_worker_info() returns in a worker: id (0 .. num_workers - 1), num_workers,
    seed (the base seed of this epoch plus id; strided's, Python's and NumPy's global
    generators are seeded from it) and dataset (this worker's copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id: int, num_workers: int, seed: int, dataset: Dataset) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __setattr__(self, key, value):
        if hasattr(self, key):
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        object.__setattr__(self, key, value)

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


_worker_info = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its WorkerInfo (id, num_workers, seed, dataset);
    None in the main process.  An IterableDataset's __iter__ uses it to give each worker
    its own share of the data:

    >>> info = get_worker_info()
    >>> start = 0 if info is None else info.id      # then step by info.num_workers
    """
    return _worker_info


class KeyErrorMessage(str):
    """A KeyError's message shown as it is (KeyError quotes its argument otherwise)."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback as
    text; reraise() raises the same type there (RuntimeError when the type cannot be built
    from one message)."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def __reduce__(self):
        try:                        # a class defined in a function cannot be pickled
            pickle.dumps(self.exc_type)
            exc_type = self.exc_type
        except Exception:
            exc_type = RuntimeError
        return _rebuild_wrapper, (exc_type, self.exc_msg, self.where)

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


def _rebuild_wrapper(exc_type, exc_msg, where):
    w = ExceptionWrapper.__new__(ExceptionWrapper)
    w.exc_type, w.exc_msg, w.where = exc_type, exc_msg, where
    return w


def seed_worker(seed, worker_id):
    """Seed strided's default generator and Python's `random` with `seed`, and NumPy's
    global generator from (seed, worker_id), as torch's workers do."""
    from strided.random import manual_seed
    manual_seed(seed % (1 << 63))
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, seed]).generate_state(4))


class _Fetcher:
    """Gets one batch (or sample) of the dataset: map-style by index, iterable by next()."""

    def __init__(self, dataset, kind, auto_collation, collate_fn, drop_last):
        self.dataset, self.kind = dataset, kind
        self.auto_collation, self.collate_fn, self.drop_last = (auto_collation, collate_fn,
                                                                drop_last)
        self.iterator = iter(dataset) if kind == "iterable" else None
        self.ended = False

    def fetch(self, index):
        """The collated batch for `index` (a list of indices, or one index without automatic
        batching); StopIteration when an iterable dataset has no (full) batch left."""
        if self.kind == "iterable":
            if self.ended:
                raise StopIteration
            if self.auto_collation:
                data = []
                for _ in index:
                    try:
                        data.append(next(self.iterator))
                    except StopIteration:
                        self.ended = True
                        break
                if not data or (self.drop_last and len(data) < len(index)):
                    raise StopIteration
            else:
                data = next(self.iterator)
            return self.collate_fn(data)
        if self.auto_collation:
            from strided.utils.data.dataset import _is_tensor_dataset
            from strided.utils.data._collate import default_collate
            if self.collate_fn is default_collate and _is_tensor_dataset(self.dataset):
                return _gather_rows(self.dataset.tensors, index)
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


def _gather_rows(tensors, index):
    """[t[index] for t in tensors]: the batch of a TensorDataset, one gather per tensor (in
    a worker, straight into shared memory)."""
    from strided._C.core.tensor import tensor
    alloc = _shared.worker_allocator()
    idx = np.asarray(index, dtype=np.int64)
    if alloc is None:
        it = tensor(idx)
        return [t[it] for t in tensors]
    n = len(tensors[0])
    if len(idx) and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of bounds for dimension 0 with size {n}")
    out = []
    for t in tensors:
        src = t.detach().numpy()
        dst = alloc.empty((len(idx),) + src.shape[1:], src.dtype)
        np.take(src, idx, axis=0, out=dst.numpy())
        out.append(dst)
    return out


def worker_loop(sock, close_fds, dataset_kind, dataset, auto_collation, collate_fn, drop_last,
                base_seed, init_fn, worker_id, num_workers, parent_pid):
    """Run in each worker process until told to stop (None), its socket closes or its parent
    dies.  Messages in: ("task", idx, index) -> one reply ("data", idx, payload, table) with
    the segments' descriptors attached, ("error", idx, ExceptionWrapper) or ("end", idx) for
    an exhausted iterable dataset; ("reset",) starts a new epoch (persistent workers)."""
    global _worker_info
    import select
    for fd in close_fds:                 # the parent's ends of the sockets (fork only)
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        from strided._C.core.threads import set_num_threads
        # NOTE: OpenMP (libgomp) cannot run a thread team in a forked child of a process
        # that already ran one; one thread per worker is what torch's workers use too.
        set_num_threads(1)
        seed = base_seed + worker_id
        seed_worker(seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _Fetcher(dataset, dataset_kind, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        while True:
            ready, _, _ = select.select([sock], [], [], _PARENT_CHECK_INTERVAL)
            if not ready:
                if os.getppid() != parent_pid:
                    break
                continue
            try:
                msg, fds = _shared.recv_message(sock)
            except (_shared.PeerClosed, ConnectionError, OSError):
                break
            for fd in fds:
                os.close(fd)
            if msg is None:
                break
            if msg[0] == "reset":
                if init_error is None:
                    try:
                        fetcher = _Fetcher(dataset, dataset_kind, auto_collation, collate_fn,
                                           drop_last)
                    except Exception:
                        init_error = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
                continue
            _, idx, index = msg
            if init_error is not None:
                reply, init_error = ("error", idx, init_error), None
                _shared.send_message(sock, reply)
                continue
            alloc = _shared.WorkerAllocator()
            _shared.set_worker_allocator(alloc)
            try:
                try:
                    batch = fetcher.fetch(index)
                    payload, table, fds = _shared.pack(batch, alloc)
                    del batch
                    reply = ("data", idx, payload, table)
                except StopIteration:
                    reply, fds = ("end", idx), []
                except Exception:
                    reply = ("error", idx, ExceptionWrapper(
                        where=f"in DataLoader worker process {worker_id}"))
                    fds = []
                finally:
                    _shared.set_worker_allocator(None)
                _shared.send_message(sock, reply, fds)
            except (ConnectionError, OSError):
                break
            finally:
                alloc.close()
    except KeyboardInterrupt:
        pass                             # the main process handles the interrupt
    finally:
        try:
            sock.close()
        except OSError:
            pass
