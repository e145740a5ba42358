"""DataLoader(num_workers=N): batches loaded in worker processes and handed over in shared
memory (NOTE [ DataLoader workers ], NOTE [ DataLoader shared memory ]).

Every test here is bounded in time by SIGALRM (a hang fails the test instead of CI), and
checks afterwards that its workers are gone (no zombies) and /dev/shm holds nothing new.
"""
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import strided as S
from strided.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                                BatchSampler, SequentialSampler, get_worker_info)
from strided.utils.data import _shared

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM") or sys.platform != "linux",
                                reason="worker tests use SIGALRM, /proc and memfd (Linux)")
LIMIT = 60                             # seconds per test


def _shm_names():
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def _segments_mapped():
    with open("/proc/self/maps") as f:
        return f.read().count("memfd:strided-dataloader")


def _open_fds(kind):
    """This process's descriptors whose target starts with `kind` ("socket:", "/memfd:")."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(kind):
                out.append(int(fd))
        except OSError:
            pass
    return set(out)


@pytest.fixture(autouse=True)
def bounded_and_clean():
    """Fail (not hang) after LIMIT seconds; afterwards none of the test's workers is left
    running or unreaped, no shared memory of a batch is still mapped or open, no socket is
    left open and no shared-memory name is left behind."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"test took more than {LIMIT} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(LIMIT)
    shm_before = {n for n in _shm_names() if n.startswith(("strided", "psm_"))}
    children_before = set(multiprocessing.active_children())
    zombies_before = set(_zombies())
    sockets_before = _open_fds("socket:")
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    gc.collect()
    assert set(multiprocessing.active_children()) - children_before == set()
    assert set(_zombies()) - zombies_before == set()
    assert _segments_mapped() == 0 and _open_fds("/memfd:strided") == set()
    assert _open_fds("socket:") - sockets_before == set()
    assert {n for n in _shm_names() if n.startswith(("strided", "psm_"))} - shm_before == set()


def _zombies():
    me = os.getpid()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            out.append(int(pid))
    return out


def _plain(obj):
    """Tensors as (dtype, nested lists), recursively: comparable with ==."""
    if isinstance(obj, S.Tensor):
        return obj.dtype.name, tuple(obj.shape), obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


def _flat(loader):
    return [_plain(b) for b in loader]


def _dataset(n=37):
    return TensorDataset(S.arange(n * 3, dtype=S.float32).reshape(n, 3), S.arange(n))


class Squares(Dataset):
    """A map-style dataset whose samples are built in __getitem__ (collated sample by
    sample, not gathered)."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return S.tensor([float(i), float(i * i)]), i, {"name": f"s{i}", "half": i / 2}


# ---- order, batching, options --------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 7])
def test_order_matches_single_process(workers, seed):
    for ds in (_dataset(), Squares()):
        for kw in (dict(batch_size=4, shuffle=True), dict(batch_size=5, drop_last=True),
                   dict(batch_size=1), dict(batch_size=6, shuffle=True, drop_last=True)):
            ref = _flat(DataLoader(ds, generator=S.Generator(seed), **kw))
            got = _flat(DataLoader(ds, generator=S.Generator(seed), num_workers=workers,
                                   **kw))
            assert got == ref, kw


def test_order_matches_with_default_generator_and_samplers():
    ds = Squares(17)
    S.manual_seed(3)
    ref = _flat(DataLoader(ds, batch_size=3, shuffle=True))
    S.manual_seed(3)
    assert _flat(DataLoader(ds, batch_size=3, shuffle=True, num_workers=2)) == ref
    bs = BatchSampler(SequentialSampler(range(17)), 4, False)
    assert (_flat(DataLoader(ds, batch_sampler=bs, num_workers=2))
            == _flat(DataLoader(ds, batch_sampler=bs)))
    sampler = [5, 3, 1, 16, 0]
    assert (_flat(DataLoader(ds, sampler=sampler, batch_size=2, num_workers=2))
            == _flat(DataLoader(ds, sampler=sampler, batch_size=2)))


def test_no_batching_custom_collate_prefetch_pin_memory():
    ds = Squares(9)
    ref = [s[1] for s in DataLoader(ds, batch_size=None)]
    got = [s[1] for s in DataLoader(ds, batch_size=None, num_workers=2, prefetch_factor=1)]
    assert got == ref == list(range(9))

    def collate(batch):
        return S.stack([b[0] for b in batch]).sum(0) if hasattr(S, "stack") else \
            sum(b[0] for b in batch)
    a = _flat(DataLoader(ds, batch_size=4, collate_fn=collate))
    b = _flat(DataLoader(ds, batch_size=4, collate_fn=collate, num_workers=3,
                         prefetch_factor=4, pin_memory=True))
    assert a == b
    assert len(DataLoader(ds, batch_size=4, num_workers=2)) == 3


def test_epochs_reshuffle_like_single_process():
    ds = _dataset(20)
    g0, g2 = S.Generator(5), S.Generator(5)
    single = DataLoader(ds, batch_size=6, shuffle=True, generator=g0)
    multi = DataLoader(ds, batch_size=6, shuffle=True, generator=g2, num_workers=2)
    epochs = [(_flat(single), _flat(multi)) for _ in range(3)]
    assert all(a == b for a, b in epochs)
    assert epochs[0][0] != epochs[1][0]


def test_persistent_workers_keep_processes_and_order():
    ds = _dataset(20)
    ref_loader = DataLoader(ds, batch_size=6, shuffle=True, generator=S.Generator(9))
    loader = DataLoader(ds, batch_size=6, shuffle=True, generator=S.Generator(9),
                        num_workers=2, persistent_workers=True)
    pids = None
    for epoch in range(3):
        assert _flat(loader) == _flat(ref_loader)
        now = [w.proc.pid for w in loader._iterator._workers]
        assert len(now) == 2 and all(w.proc.is_alive() for w in loader._iterator._workers)
        assert pids is None or now == pids
        pids = now
    # an epoch abandoned half-way: the next one still starts from its beginning
    it = iter(loader)
    next(it)
    assert _flat(loader) == (_flat(ref_loader), _flat(ref_loader))[1]
    del loader, it
    gc.collect()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie_free(pid)


def _is_zombie_free(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class WhoAmI(Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, info.id, info.num_workers, info.seed, float(S.rand(1).item()),
                float(np.random.rand()), getattr(info.dataset, "tag", None))


def test_worker_info_init_fn_and_seeds():
    def init(worker_id):
        get_worker_info().dataset.tag = f"w{worker_id}"

    def run(seed):
        ds = WhoAmI()
        return [tuple(b) for b in DataLoader(ds, batch_size=None, num_workers=3,
                                             worker_init_fn=init,
                                             generator=S.Generator(seed))]
    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c
    assert [r[1] for r in a] == [i % 3 for i in range(12)]
    assert {r[2] for r in a} == {3}
    assert [r[6] for r in a] == [f"w{i % 3}" for i in range(12)]
    seeds = {r[1]: r[3] for r in a}
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] + 2
    assert len({r[4] for r in a}) == 12 and len({r[5] for r in a}) == 12  # per-worker streams
    assert get_worker_info() is None


class Shards(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset_sharded_by_worker_info():
    for workers in (1, 2, 3):
        for bs, drop in ((4, False), (4, True), (None, False)):
            kw = dict(batch_size=bs, drop_last=drop) if bs else dict(batch_size=None)
            items = []
            for b in DataLoader(Shards(22), num_workers=workers, **kw):
                items += b.tolist() if isinstance(b, S.Tensor) else [b]
            if drop:
                per = [len(range(w, 22, workers)) for w in range(workers)]
                assert len(items) == sum(p // 4 * 4 for p in per)
            else:
                assert sorted(items) == list(range(22))
    loader = DataLoader(Shards(10), batch_size=3, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(v for b in loader for v in b.tolist()) == list(range(10))
    it = iter(loader)
    next(it)                                   # abandoned: the next epoch starts afresh
    assert sorted(v for b in loader for v in b.tolist()) == list(range(10))


# ---- shared memory -------------------------------------------------------------------------

def test_batches_arrive_in_shared_memory_freed_with_last_tensor():
    ds = _dataset(64)
    loader = DataLoader(ds, batch_size=16, num_workers=2)
    batches = list(loader)
    assert _segments_mapped() >= 1
    x, y = batches[0]
    owner = x.untyped_storage().owner
    assert isinstance(owner, np.ndarray)
    base = owner
    while getattr(base, "base", None) is not None and not isinstance(base, memoryview):
        base = base.base
    assert "mmap" in type(base.obj if isinstance(base, memoryview) else base).__name__
    x += 1                                          # writable, and private to this process
    assert x[0].tolist() == [1.0, 2.0, 3.0]
    del batches, x, y, owner, base
    gc.collect()
    assert _segments_mapped() == 0


def test_pack_sends_tensor_bytes_out_of_band():
    alloc = _shared.WorkerAllocator()
    big = S.randn(256, 1024)                        # 1 MiB
    stacked = alloc.empty((4, 8), np.float64)
    stacked.fill_(2.0)
    payload, table, fds = _shared.pack({"big": big, "s": stacked, "k": [big, 3]}, alloc)
    try:
        assert len(payload) < 1000                  # the data is not in the pickle
        assert len(table) == 2 and len(fds) == 2    # the collate segment + one for copies
        assert table[1][:2] == (0, 0)               # stacked: sent in place, no copy
    finally:
        dup = [os.dup(fd) for fd in fds]
        alloc.close()
    out = _shared.unpack(payload, table, dup)
    assert out["k"][0] is out["big"] and out["k"][1] == 3
    assert np.array_equal(out["big"].numpy(), big.numpy())
    assert out["s"].tolist() == [[2.0] * 8] * 4
    del out, stacked
    gc.collect()
    assert _segments_mapped() == 0


def test_non_contiguous_and_odd_dtypes_cross():
    class Odd(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            base = S.arange(12).reshape(3, 4)
            return base.t()[::2], S.tensor([i % 2 == 0]), S.tensor([i], dtype=S.uint8), \
                S.zeros(0, 3), np.full((2,), i, np.int32)
    ref = _flat(DataLoader(Odd(), batch_size=4))
    got = list(DataLoader(Odd(), batch_size=4, num_workers=2))
    assert _flat(got) == ref
    assert got[0][1].dtype == S.bool and got[0][2].dtype == S.uint8
    assert got[0][3].shape == (4, 0, 3) and got[0][4].dtype == S.int32


# ---- failures ------------------------------------------------------------------------------

class Failing(Dataset):
    def __init__(self, bad, how):
        self.bad, self.how = bad, how

    def __len__(self):
        return 16

    def __getitem__(self, i):
        if i == self.bad:
            if self.how == "exit":
                os._exit(3)
            if self.how == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if self.how == "value":
                raise ValueError(f"sample {i} is broken")
            if self.how == "key":
                raise KeyError("missing")
            if self.how == "custom":
                raise TwoArgError(1, 2)
            if self.how == "sleep":
                time.sleep(30)
        return S.tensor([float(i)])


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


@pytest.mark.parametrize("how,code", [("exit", r"exit code 3\b"),
                                      ("segfault", r"exit code -11 \(killed by SIGSEGV\)")])
def test_dead_worker_is_reported_not_hung(how, code):
    loader = DataLoader(Failing(9, how), batch_size=2, num_workers=3)
    t0 = time.monotonic()
    seen = []
    with pytest.raises(RuntimeError, match=rf"DataLoader worker 1 \(pid \d+\) exited "
                                           rf"unexpectedly with {code}"):
        for b in loader:
            seen.append(b)
    assert time.monotonic() - t0 < 20
    assert len(seen) == 4, seen                     # the batches before batch 4 ([8, 9])


def test_worker_exception_reraised_with_its_traceback():
    loader = DataLoader(Failing(5, "value"), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [[0.0], [1.0]]
    next(it)
    with pytest.raises(ValueError) as err:
        next(it)
    text = str(err.value)
    assert "Caught ValueError in DataLoader worker process 0" in text
    assert "Original Traceback" in text and "in __getitem__" in text
    assert "sample 5 is broken" in text
    assert next(it).tolist() == [[6.0], [7.0]]      # the loader goes on after the error
    del it
    with pytest.raises(KeyError, match="missing"):
        list(DataLoader(Failing(0, "key"), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="(?s)Caught TwoArgError.*1 and 2"):
        list(DataLoader(Failing(0, "custom"), batch_size=2, num_workers=2))


def test_worker_init_fn_error_and_collate_error():
    def bad_init(worker_id):
        raise OSError(f"no device for worker {worker_id}")
    with pytest.raises(OSError, match="no device for worker"):
        list(DataLoader(Squares(8), batch_size=2, num_workers=2, worker_init_fn=bad_init))

    def bad_collate(batch):
        raise TypeError("cannot collate this")
    with pytest.raises(TypeError, match="cannot collate this"):
        list(DataLoader(Squares(8), batch_size=2, num_workers=2, collate_fn=bad_collate))


def test_timeout():
    loader = DataLoader(Failing(2, "sleep"), batch_size=2, num_workers=2, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(loader)
    assert time.monotonic() - t0 < 10


def test_early_break_and_garbage_collection_stop_workers():
    loader = DataLoader(_dataset(200), batch_size=4, num_workers=2)
    it = iter(loader)
    next(it)
    procs = [w.proc for w in it._workers]
    del it
    gc.collect()
    assert all(p.exitcode is not None for p in procs)


def test_workers_exit_when_the_main_process_dies(tmp_path):
    script = textwrap.dedent("""
        import os, sys, strided as S
        from strided.utils.data import DataLoader, TensorDataset
        it = iter(DataLoader(TensorDataset(S.arange(100)), batch_size=2, num_workers=2))
        next(it)
        print(" ".join(str(w.proc.pid) for w in it._workers), flush=True)
        os._exit(0)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(S.__file__)))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=LIMIT, env=env)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_spawn_context():
    ds = _dataset(10)
    ref = _flat(DataLoader(ds, batch_size=3, shuffle=True, generator=S.Generator(2)))
    got = _flat(DataLoader(ds, batch_size=3, shuffle=True, generator=S.Generator(2),
                           num_workers=2, multiprocessing_context="spawn"))
    assert got == ref


def test_argument_checks():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(ds, timeout=-1)
    with pytest.raises(ValueError, match="multiprocessing_context option should specify"):
        DataLoader(ds, num_workers=1, multiprocessing_context="nope")


def test_bench_dataloader_quick(tmp_path):
    """benchmarks/bench_dataloader.py runs (a smoke run) and reports every case."""
    import json
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "dl.json"
    proc = subprocess.run([sys.executable, os.path.join(root, "benchmarks",
                                                        "bench_dataloader.py"),
                           "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=root, timeout=LIMIT)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["case"] for r in rows} == {f"{d} workers={w}" for d in ("decode", "tensor")
                                         for w in (0, 1, 2)}
    assert all(r["strided_ms"] > 0 for r in rows)
