"""strided.distributed: the per-rank programs in tests/distributed_programs run under
`mpiexec -n 2` and `-n 3` (each asserts and exits nonzero on failure; every run is bounded by
a timeout), plus the parts that need no MPI (DistributedSampler, argument errors, importing
strided without mpi4py).  Skipped with the reason when mpi4py or mpiexec is missing."""
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import time

import pytest

import strided
import strided.distributed as dist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(strided.__file__)))
PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_programs")
TIMEOUT = 120


def _mpiexec():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install -e '.[distributed]' installs mpi4py "
                    "and mpich)")
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install mpich provides one)")
    return exe


def run_mpi(n, args, timeout=TIMEOUT):
    """mpiexec -n n python args..., with this tree's strided first on the path and one thread
    per rank; returns the CompletedProcess (the test fails on a timeout)."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in
                                                    os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    cmd = [_mpiexec(), "-n", str(n), sys.executable] + list(args)
    try:
        return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s (a rank hangs?)\n"
                    f"{e.stdout}\n{e.stderr}")


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("program", ["collectives", "ddp", "tensor_parallel"])
def test_program(program, n):
    proc = run_mpi(n, [os.path.join(PROGRAMS, program + ".py")])
    assert proc.returncode == 0, f"{program} on {n} ranks failed:\n{proc.stdout}\n{proc.stderr}"
    for r in range(n):
        assert f"rank {r}: " in proc.stdout, proc.stdout


@pytest.mark.parametrize("n", [2, 3])
def test_a_failing_rank_aborts_the_job_instead_of_hanging(n):
    start = time.monotonic()
    proc = run_mpi(n, [os.path.join(PROGRAMS, "failure.py")], timeout=60)
    took = time.monotonic() - start
    assert proc.returncode != 0
    assert "unreachable" not in proc.stdout
    # the failing rank's traceback reaches stderr (its source line at least: mpiexec may drop
    # the last lines a rank writes when MPI_Abort ends the job, despite the hook's pause)
    assert "Traceback" in proc.stderr and "fails on purpose" in proc.stderr, proc.stderr
    assert took < 60


def test_example_trains_data_parallel(tmp_path):
    proc = run_mpi(2, [os.path.join(ROOT, "examples", "train_ddp.py"), "--epochs", "2",
                       "--sync-bn", "--checkpoint", str(tmp_path / "ddp.ckpt")], timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("epoch")]
    assert len(lines) == 2, proc.stdout              # printed by rank 0 only
    accuracy = float(lines[-1].split("test accuracy")[1].split()[0].rstrip("%"))
    assert accuracy > 80.0, proc.stdout
    assert (tmp_path / "ddp.ckpt").exists()


# ---- without MPI ---------------------------------------------------------------------------

def test_importing_strided_does_not_import_mpi4py():
    code = ("import sys, strided, strided.distributed, strided.nn; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60,
                   env=dict(os.environ, PYTHONPATH=ROOT))


def test_calls_before_init_raise_torchs_error():
    assert not dist.is_initialized()
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, dist.destroy_process_group,
               lambda: dist.all_reduce(strided.ones(2))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    with pytest.raises(ValueError, match="MPI only"):
        dist.init_process_group("gloo")


@pytest.mark.parametrize("length", [0, 1, 7, 10, 12, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_partitions_pads_and_drops(length, replicas, drop_last, shuffle):
    data = list(range(length))
    parts = [list(dist.DistributedSampler(data, replicas, r, shuffle=shuffle, seed=3,
                                          drop_last=drop_last)) for r in range(replicas)]
    if drop_last and length % replicas:
        per = math.ceil((length - replicas) / replicas)
    else:
        per = math.ceil(length / replicas)
    assert all(len(p) == per for p in parts)                    # equal shares
    assert all(len(dist.DistributedSampler(data, replicas, r, drop_last=drop_last)) == per
               for r in range(replicas))
    flat = [i for p in parts for i in p]
    assert all(0 <= i < length for i in flat)
    if drop_last:
        assert len(set(flat)) == len(flat) == per * replicas     # disjoint, the tail dropped
    elif length:
        assert set(flat) == set(data)                            # every index, padded by repeats
        assert len(flat) - len(set(flat)) == per * replicas - length
    if not shuffle:
        assert parts[0] == list(range(0, per * replicas, replicas))[:per] or \
            not drop_last and length < replicas


def test_sampler_shuffles_by_seed_and_epoch():
    data = range(50)
    s = [dist.DistributedSampler(data, 2, r, seed=1) for r in range(2)]
    first = [list(x) for x in s]
    assert first == [list(x) for x in s]                         # same epoch: same order
    assert sorted(first[0] + first[1]) == list(range(50))
    assert first[0] != list(range(0, 50, 2))
    for x in s:
        x.set_epoch(1)
    second = [list(x) for x in s]
    assert second != first and sorted(second[0] + second[1]) == list(range(50))
    other_seed = list(dist.DistributedSampler(data, 2, 0, seed=2))
    assert other_seed != first[0]


def test_sampler_drives_a_dataloader():
    ds = strided.data.TensorDataset(strided.arange(10))
    seen = []
    for r in range(3):
        loader = strided.data.DataLoader(ds, batch_size=2, sampler=dist.DistributedSampler(
            ds, 3, r, shuffle=False))
        seen.append([int(v) for (b,) in loader for v in b.tolist()])
    assert seen == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]


def test_sampler_argument_errors_match_torch():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        dist.DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        dist.DistributedSampler(range(4), 2, -1)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.DistributedSampler(range(4))
