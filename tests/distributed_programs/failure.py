"""Run under mpiexec by tests/test_distributed.py: the last rank raises while the others wait
in an all-reduce it never joins.  The exception is uncaught, so init_process_group's hook
aborts the job (NOTE [ Failures abort the job ]): mpiexec exits nonzero at once instead of
the other ranks waiting forever."""
import strided
import strided.distributed as dist

dist.init_process_group()
rank, n = dist.get_rank(), dist.get_world_size()
dist.barrier()
if rank == n - 1:
    raise ValueError(f"rank {rank} fails on purpose")
dist.all_reduce(strided.ones(3))          # never completes: the last rank is gone
print("unreachable: the all-reduce returned", flush=True)
