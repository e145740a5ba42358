"""DataLoader (torch.utils.data.DataLoader's API): batches from a dataset, in the main
process or in worker processes.

NOTE [ DataLoader workers ]
With num_workers = N > 0 the loader starts N processes (multiprocessing, the platform's
default start method unless multiprocessing_context says otherwise), each with its own Unix
socket to the main process.  The main process draws batches of indices from the sampler
and deals them round-robin: batch k goes to worker k mod N (skipping workers whose
iterable dataset has ended), with prefetch_factor batches per worker in flight.  A worker
answers its tasks in the order it got them, so the main process reads batch k from worker
k mod N's socket and batches come out in the sampler's order -- the order num_workers=0
gives for the same generator seed (both draw the epoch's base seed, then the sampler's
indices, from `generator`).  Batches cross in shared memory (NOTE [ DataLoader shared
memory ] in _shared.py).

Waiting for a batch watches the worker's socket and its process sentinel together: a
worker that dies (os._exit, a signal, a segfault) is reported at once as a RuntimeError
naming the worker, its pid and exit code; `timeout` > 0 bounds the wait.  An exception in
the dataset or collate_fn is sent back with its traceback and re-raised in the main
process (same type), and iteration can go on after it.  Workers stop when the epoch ends
(unless persistent_workers), when the iterator is garbage collected, at interpreter exit,
or when the main process dies (they check their parent every second); shutdown sends each
worker a stop message, closes the sockets (discarding undelivered batches and their
shared memory), joins, and terminates a worker that does not exit within 5 s.
"""
from __future__ import annotations
import itertools
import multiprocessing
import multiprocessing.connection
from multiprocessing.context import BaseContext
import os
import signal
import socket
import time
import weakref
from typing import Any, Callable, Iterable, Iterator

from strided.random import Generator, randint
from strided.utils.data import _shared
from strided.utils.data._collate import default_collate, default_convert
from strided.utils.data._worker import _Fetcher, worker_loop
from strided.utils.data.dataset import Dataset, IterableDataset
from strided.utils.data.sampler import (BatchSampler, RandomSampler, Sampler,
                                        SequentialSampler, _InfiniteConstantSampler)

__all__ = ["DataLoader"]

_JOIN_TIMEOUT = 5.0


class DataLoader:
    """Iterate over `dataset` in batches, optionally loading them in worker processes.

    Arguments (torch.utils.data.DataLoader's):
      batch_size (1; None: no automatic batching), shuffle (a fresh permutation each epoch
      drawn from `generator`, the default generator if None), sampler / batch_sampler (an
      iterable of indices / of lists of indices; exclusive with shuffle and with batch_size,
      shuffle, sampler and drop_last respectively), drop_last, collate_fn
      (default_collate; default_convert without batching), num_workers (0: load in this
      process), worker_init_fn(worker_id) (called in each worker after seeding),
      prefetch_factor (batches in flight per worker, 2), persistent_workers (keep the
      workers between epochs), timeout (seconds to wait for a batch, 0 = forever),
      multiprocessing_context ("fork", "spawn", "forkserver" or a context), pin_memory
      and pin_memory_device (accepted; CPU memory needs no pinning), in_order (batches
      always come in order).

    Workers get strided's, Python's and NumPy's global generators seeded with base_seed +
    worker_id, base_seed drawn from `generator` once per iterator; get_worker_info() tells
    a worker its id.  See NOTE [ DataLoader workers ].

    >>> from strided.utils.data import TensorDataset
    >>> x, y = strided.arange(10.).view(5, 2), strided.arange(5)
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=2)
    >>> [tuple(xb.shape) for xb, yb in loader]
    [(2, 2), (2, 2), (1, 2)]
    """

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[Any] | None = None,
                 batch_sampler: Sampler | Iterable[list[Any]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: str | BaseContext | None = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.in_order = in_order
        self.multiprocessing_context = multiprocessing_context
        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = "map"
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._initialized = True

    def __setattr__(self, attr, value):
        if getattr(self, "_initialized", False) and attr in self._FROZEN:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def multiprocessing_context(self) -> BaseContext | None:
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx: str | BaseContext | None) -> None:
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with "
                                 f"multi-process loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = multiprocessing.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={ctx!r}")
                ctx = multiprocessing.get_context(ctx)
            elif not hasattr(ctx, "Process"):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        self._mp_context = ctx

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        return _MultiProcessIter(self)

    def __iter__(self) -> Iterator[Any]:
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._closed:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._dataset_kind == "iterable":
            length = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else -(-length // self.batch_size))
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Accepted for torch compatibility; strided does not warn about worker counts."""


def _draw_base_seed(generator):
    return int(randint(0, 1 << 62, (1,), generator=generator).tolist()[0])


class _BaseIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _draw_base_seed(loader.generator)
        self._num_yielded = 0
        self._closed = False

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def _next_index(self):
        return next(self._sampler_iter)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _Fetcher(self._dataset, self._dataset_kind, self._auto_collation,
                                 self._collate_fn, self._drop_last)

    def __next__(self):
        index = self._next_index()          # StopIteration ends the epoch
        data = self._fetcher.fetch(index)   # so does an iterable dataset's end
        self._num_yielded += 1
        return data


class _Worker:
    __slots__ = ("id", "proc", "sock")

    def __init__(self, id, proc, sock):
        self.id, self.proc, self.sock = id, proc, sock


def _shutdown_workers(workers, join_timeout=_JOIN_TIMEOUT):
    """Stop, close and reap the workers (NOTE [ DataLoader workers ]); safe to call twice.
    A worker still running join_timeout seconds after its stop message is terminated."""
    for w in workers:
        try:
            w.sock.setblocking(False)
            _shared.send_message(w.sock, None)
        except OSError:
            pass
    for w in workers:
        try:
            w.sock.close()                 # drops undelivered batches and their segments
        except OSError:
            pass
    deadline = time.monotonic() + join_timeout
    for w in workers:
        if w.proc.pid is None:
            continue
        w.proc.join(max(0.0, deadline - time.monotonic()))
        if w.proc.exitcode is None:
            w.proc.terminate()
            w.proc.join(1.0)
            if w.proc.exitcode is None:
                w.proc.kill()
                w.proc.join()
    workers.clear()


def _exit_description(code):
    if code is None:
        return "is still running but closed its connection"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"exited unexpectedly with exit code {code} (killed by {name})"
    return f"exited unexpectedly with exit code {code}"


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        n = loader.num_workers
        self._num_workers = n
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        forked = ctx.get_start_method() == "fork"
        self._workers = []
        self._finalizer = weakref.finalize(self, _shutdown_workers, self._workers)
        parent_pid = os.getpid()
        try:
            for i in range(n):
                main_end, child_end = socket.socketpair()
                # the worker closes its inherited copies of the main process's ends, so
                # closing one here is an end of stream for its worker
                close_fds = ([w.sock.fileno() for w in self._workers] + [main_end.fileno()]
                             if forked else [])
                proc = ctx.Process(
                    target=worker_loop,
                    args=(child_end, close_fds, self._dataset_kind, self._dataset,
                          self._auto_collation, self._collate_fn, self._drop_last,
                          self._base_seed, loader.worker_init_fn, i, n, parent_pid),
                    daemon=True)
                try:
                    proc.start()
                finally:
                    child_end.close()
                self._workers.append(_Worker(i, proc, main_end))
        except BaseException:
            self._finalizer()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        if not first_iter:
            self._sampler_iter = iter(self._index_sampler)
            _draw_base_seed(loader.generator)   # as a fresh iterator would (same order)
            self._drain()
            for w in self._workers:
                self._send(w, ("reset",))
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker = {}
        self._outstanding = [0] * self._num_workers
        self._active = [True] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        self._sampler_done = False
        self._num_yielded = 0
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _send(self, worker, msg):
        try:
            _shared.send_message(worker.sock, msg)
        except OSError:
            # a dead worker: reported by _receive when its next batch is due, so the
            # batches it sent before dying are still delivered first
            pass

    def _try_put_index(self):
        if self._sampler_done or not any(self._active):
            return
        try:
            index = self._next_index()
        except StopIteration:
            self._sampler_done = True
            return
        for _ in range(self._num_workers):
            w = next(self._cycle)
            if self._active[w]:
                break
        else:
            return
        self._send(self._workers[w], ("task", self._send_idx, index))
        self._task_worker[self._send_idx] = w
        self._outstanding[w] += 1
        self._send_idx += 1

    def _receive(self, w):
        """The next reply of worker w, watching for its death and for the timeout."""
        worker = self._workers[w]
        deadline = None if self._timeout <= 0 else time.monotonic() + self._timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self._close(join_timeout=0.5)       # the late worker may be stuck
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds "
                                   f"waiting for a batch from worker {w}")
            ready = multiprocessing.connection.wait([worker.sock, worker.proc.sentinel],
                                                    remaining)
            if worker.sock in ready:
                try:
                    msg, fds = _shared.recv_message(worker.sock)
                except (_shared.PeerClosed, ConnectionError):
                    self._worker_died(worker)
                self._outstanding[w] -= 1
                return msg, fds
            if worker.proc.sentinel in ready:
                self._worker_died(worker)

    def _worker_died(self, worker):
        worker.proc.join(1.0)
        code = worker.proc.exitcode
        pid = worker.proc.pid
        self._close()
        raise RuntimeError(f"DataLoader worker {worker.id} (pid {pid}) "
                           f"{_exit_description(code)}. The dataset, collate_fn or "
                           f"worker_init_fn may have crashed the process (a segfault, "
                           f"os._exit, running out of memory); run with num_workers=0 to "
                           f"see the error in the main process.")

    def _drain(self):
        """Receive and drop the replies still in flight from an unfinished epoch."""
        for w in range(self._num_workers):
            while self._outstanding[w] > 0:
                _msg, fds = self._receive(w)
                for fd in fds:
                    os.close(fd)

    def __next__(self):
        while True:
            if self._closed or self._rcvd_idx >= self._send_idx:
                if not self._persistent:
                    self._close()
                raise StopIteration
            idx = self._rcvd_idx
            w = self._task_worker.pop(idx)
            msg, fds = self._receive(w)
            if msg[1] != idx:                   # cannot happen: each worker answers in order
                for fd in fds:
                    os.close(fd)
                self._close()
                raise RuntimeError(f"DataLoader: worker {w} answered batch {msg[1]} when "
                                   f"batch {idx} was expected")
            self._rcvd_idx += 1
            kind = msg[0]
            if kind == "end":
                self._active[w] = False
                self._try_put_index()
                continue
            self._try_put_index()
            if kind == "error":
                msg[2].reraise()
            data = _shared.unpack(msg[2], msg[3], fds)
            self._num_yielded += 1
            return data

    def _close(self, join_timeout=_JOIN_TIMEOUT):
        self._closed = True
        if self._finalizer.detach() is not None:
            _shutdown_workers(self._workers, join_timeout)

    def _shutdown_workers(self):
        self._close()
