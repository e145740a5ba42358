"""The process group: which MPI communicator the collectives run on, and the ranks in it.

NOTE [ MPI engine ]
strided.distributed runs on MPI through mpi4py, imported only when init_process_group is
called (importing strided or strided.distributed never imports it; mpi4py initialises MPI
at its import).  One process group exists per process, as torch.distributed's default group:
it wraps MPI.COMM_WORLD or a communicator the caller passes (a sub-communicator from
Split, so a job can run several independent groups).  Processes are started by the MPI
launcher (`mpiexec -n 4 python train.py`, with a hostfile for several machines); ranks and
world size come from MPI, not from environment variables or a rendezvous store.

NOTE [ Failures abort the job ]
MPI has no way to cancel a collective another rank will never join, so a rank that raises
while the others wait in a collective would hang them forever.  init_process_group therefore
installs a sys.excepthook: an exception that nothing catches prints its traceback on that
rank and then calls MPI_Abort on the communicator, which makes mpiexec kill every rank of the
job (exit code 1).  Exceptions caught by the program do not abort.  The hook is only installed
for groups of more than one process and is removed by destroy_process_group.
"""
from __future__ import annotations
import enum
import sys
import time
import traceback
from typing import Any


class ReduceOp(enum.Enum):
    """The reduction of all_reduce and reduce_scatter (torch.distributed.ReduceOp's names).

    AVG is the sum divided by the world size (floating point tensors only); on bool tensors
    SUM and MAX are a logical or, MIN and PRODUCT a logical and.

    >>> strided.distributed.ReduceOp.SUM
    <ReduceOp.SUM: 'sum'>
    """
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """A collective started with async_op=True: wait() blocks until it has finished on this
    rank (and its result is in the output tensors); is_completed() tests without blocking.
    """

    def __init__(self, request: Any, finish: Any = None) -> None:
        self._request = request
        self._finish = finish
        self._done = False

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def wait(self, timeout: Any = None) -> bool:
        """Block until the operation has finished here; returns True (as torch's Work)."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether the operation has finished (then its outputs hold the result)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done


class _Group:
    """The initialised group: an mpi4py communicator and the mpi4py module."""

    def __init__(self, mpi: Any, comm: Any) -> None:
        self.MPI = mpi
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.previous_excepthook = None


_GROUP: _Group | None = None


def is_available() -> bool:
    """True when mpi4py can be imported (strided.distributed's engine), without importing it.

    >>> isinstance(strided.distributed.is_available(), bool)
    True
    """
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True between init_process_group() and destroy_process_group().

    >>> strided.distributed.is_initialized()
    False
    """
    return _GROUP is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("strided.distributed needs mpi4py and an MPI library: pip install "
                           "mpi4py mpich (or pip install strided[distributed])") from e
    return MPI


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       *, comm: Any = None, abort_on_exception: bool = True) -> None:
    """Initialise the process group over MPI (NOTE [ MPI engine ]).

    backend: None or "mpi" (the only engine).  comm: an mpi4py communicator to run on
    (default MPI.COMM_WORLD; a communicator from Split gives a sub-group).  world_size and
    rank, when given, must equal MPI's (they are checked, not chosen: the MPI launcher
    decides them); init_method and timeout are accepted for torch's signature and ignored.
    abort_on_exception: install the excepthook that turns an uncaught exception on any rank
    into MPI_Abort of the whole job (NOTE [ Failures abort the job ]).
    Raises RuntimeError when called twice or when mpi4py is missing.
    """
    global _GROUP
    if _GROUP is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"strided.distributed runs on MPI only: backend must be None or 'mpi', "
                         f"got {backend!r}")
    MPI = _mpi()
    if comm is None:
        comm = MPI.COMM_WORLD
    elif not isinstance(comm, MPI.Intracomm):
        raise TypeError(f"comm must be an mpi4py intracommunicator, got {type(comm).__name__}")
    group = _Group(MPI, comm)
    if world_size not in (-1, None) and world_size != group.size:
        raise ValueError(f"world_size={world_size} but the MPI communicator has {group.size} "
                         f"processes (the MPI launcher decides it: mpiexec -n {world_size})")
    if rank not in (-1, None) and rank != group.rank:
        raise ValueError(f"rank={rank} but MPI gave this process rank {group.rank}")
    if abort_on_exception and group.size > 1:
        group.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_hook
    _GROUP = group


def _abort_hook(exc_type, exc, tb) -> None:
    group = _GROUP
    traceback.print_exception(exc_type, exc, tb)
    sys.stderr.flush()
    if group is None:
        return
    sys.stderr.write(f"strided.distributed: rank {group.rank} raised an uncaught exception; "
                     f"calling MPI_Abort so that the other {group.size - 1} ranks do not "
                     f"wait for it forever\n")
    sys.stderr.flush()
    # mpiexec forwards a rank's output through a pipe and stops reading it when the abort
    # ends the job: a moment's wait lets it forward the traceback first
    time.sleep(0.25)
    group.comm.Abort(1)


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group (the communicator stays valid for mpi4py; MPI itself is
    finalised by mpi4py at exit) and remove the abort-on-exception hook.

    >>> strided.distributed.destroy_process_group()
    Traceback (most recent call last):
      ...
    ValueError: Default process group has not been initialized, please make sure to call init_process_group.
    """
    global _GROUP
    g = _group(group)
    if g.previous_excepthook is not None and sys.excepthook is _abort_hook:
        sys.excepthook = g.previous_excepthook
    _GROUP = None


def _group(group: Any = None) -> _Group:
    if group is not None and group is not _GROUP:
        raise ValueError("strided.distributed has one process group per process: pass "
                         "group=None (a sub-group is made by giving init_process_group a "
                         "communicator from MPI's Split)")
    if _GROUP is None:
        raise ValueError("Default process group has not been initialized, please make sure "
                         "to call init_process_group.")
    return _GROUP


def get_rank(group: Any = None) -> int:
    """This process's rank in the group (0 .. world size - 1).  Raises before
    init_process_group, as torch does."""
    return _group(group).rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the group.  Raises before init_process_group."""
    return _group(group).size


def barrier(group: Any = None, async_op: bool = False) -> Any:
    """Wait until every rank of the group has called barrier (MPI_Barrier); with async_op,
    return a Work whose wait() does (MPI_Ibarrier)."""
    g = _group(group)
    if async_op:
        return Work(g.comm.Ibarrier())
    g.comm.Barrier()
    return None
