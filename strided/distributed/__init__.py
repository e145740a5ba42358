"""strided.distributed: data-parallel and tensor-parallel training over MPI.

The names follow torch.distributed (process group and collectives),
torch.nn.parallel.DistributedDataParallel, torch.nn.SyncBatchNorm,
torch.utils.data.distributed.DistributedSampler and Megatron-LM's parallel linear layers.
The engine is MPI through mpi4py (pip install strided[distributed] installs mpi4py and
MPICH), imported only by init_process_group (NOTE [ MPI engine ]).  Start one process per
rank with the MPI launcher::

    mpiexec -n 2 python examples/train_ddp.py

How a failure surfaces: an exception that nothing catches on any rank prints its traceback
and aborts the whole MPI job (MPI_Abort), so the other ranks never wait forever in a
collective (NOTE [ Failures abort the job ]).
"""
from strided.distributed.process_group import (ReduceOp, barrier, destroy_process_group,
                                               get_rank, get_world_size, init_process_group,
                                               is_available, is_initialized)
from strided.distributed.collectives import (Work, all_gather, all_gather_into_tensor,
                                             all_gather_object, all_reduce, broadcast,
                                             broadcast_object_list, recv, reduce_scatter,
                                             reduce_scatter_tensor, send)
from strided.distributed.ddp import DistributedDataParallel
from strided.distributed.sync_batchnorm import SyncBatchNorm
from strided.distributed.sampler import DistributedSampler
from strided.distributed.tensor_parallel import ColumnParallelLinear, RowParallelLinear
from strided.distributed.checkpoint import load, save

__all__ = ["ReduceOp", "Work", "init_process_group", "destroy_process_group", "is_available",
           "is_initialized", "get_rank", "get_world_size", "barrier", "all_reduce",
           "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "send", "recv", "broadcast_object_list",
           "all_gather_object", "DistributedDataParallel", "SyncBatchNorm",
           "DistributedSampler", "ColumnParallelLinear", "RowParallelLinear", "save", "load"]
