"""Hostile files: strided.load and strided.data.read_idx refuse them quickly, in bounded memory,
with one documented error naming the file; save's atomic write leaves no debris, honours the
umask and writes through symlinks.  The last test runs benchmarks/fuzz_files.py."""
import gzip
import json
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import strided as S
from strided.data import IDXError, read_idx
from strided.serialization import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import fuzz_files as F  # noqa: E402  (its builders of crafted zips, .npy headers, bombs)

MiB = 1 << 20
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices, fork, umask")


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def _checkpoint(meta_root, arrays, method=0):
    return F.checkpoint_bytes(F.meta_of(meta_root), arrays, method)


def test_error_types_keep_their_old_bases_and_pickle():
    assert issubclass(CheckpointError, RuntimeError)
    assert issubclass(IDXError, ValueError)
    for e in (CheckpointError("a.npz", "bad"), IDXError("a.idx", "bad")):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e) and back.path == e.path


# ---- files that are not regular files --------------------------------------------------------

def _returns_within(fn, seconds, fifo=None):
    """fn() in a thread; (finished, exception).  A FIFO left blocking is released by opening
    its write end, so a failure does not hang the test run."""
    box = {}

    def run():
        try:
            fn()
        except BaseException as e:
            box["exc"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    finished = not t.is_alive()
    if not finished and fifo:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(5)
    return finished, box.get("exc")


@posix_only
@pytest.mark.parametrize("reader,error", [(S.load, CheckpointError), (read_idx, IDXError)])
def test_fifo_is_refused_without_blocking(tmp_path, reader, error):
    fifo = str(tmp_path / "pipe.npz")
    os.mkfifo(fifo)
    finished, exc = _returns_within(lambda: reader(fifo), 10, fifo)
    assert finished, "reading a FIFO blocked"
    assert isinstance(exc, error) and "pipe.npz" in str(exc) and "FIFO" in str(exc)


@posix_only
@pytest.mark.parametrize("reader,error", [(S.load, CheckpointError), (read_idx, IDXError)])
def test_devices_and_directories_are_refused(tmp_path, reader, error):
    for target in ("/dev/zero", "/dev/null"):
        if os.path.exists(target):
            link = tmp_path / ("link" + target.replace("/", "-"))
            link.symlink_to(target)
            with pytest.raises(error, match="character device"):
                reader(link)
    with pytest.raises(error, match="directory"):
        reader(tmp_path)


def test_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        S.load(tmp_path / "nope.npz")


# ---- crafted checkpoints ---------------------------------------------------------------------

def test_repeated_reference_is_refused(tmp_path):
    # 8 KB on disk, 200 references to one 8 MiB array: 1.6 GB if each were materialised
    arr = F.npy_bytes(np.zeros(MiB, np.float64))
    root = {"T": "list", "v": [F.tnode(0) for _ in range(200)]}
    path = _write(tmp_path / "repeat.npz", _checkpoint(root, {"t0": arr}, method=8))
    assert os.path.getsize(path) < 20000
    with pytest.raises(CheckpointError, match=r"repeat\.npz.*t0 is referenced more than once"):
        S.load(path)


def test_unreferenced_and_duplicate_members_are_refused(tmp_path):
    a = F.npy_bytes(np.arange(3.0))
    extra = _write(tmp_path / "extra.npz", _checkpoint(F.tnode(0), {"t0": a, "t1": a}))
    with pytest.raises(CheckpointError, match=r"extra\.npz.*t1\.npy.*not referenced"):
        S.load(extra)
    meta = F.npy_bytes(np.frombuffer(json.dumps(F.meta_of(F.tnode(0))).encode(), np.uint8))
    dup = F.zip_bytes([dict(name="__strided__.npy", data=meta), dict(name="t0.npy", data=a),
                       dict(name="t0.npy", data=F.npy_bytes(np.zeros(5)))])
    with pytest.raises(CheckpointError, match=r"dup\.npz.*appears twice"):
        S.load(_write(tmp_path / "dup.npz", dup))
    odd = F.zip_bytes([dict(name="__strided__.npy", data=meta),
                       dict(name="t0.npy\x00evil", data=a)])
    with pytest.raises(CheckpointError, match=r"odd\.npz.*unexpected archive member"):
        S.load(_write(tmp_path / "odd.npz", odd))


def _bomb_checkpoint(n, declared_shape=None):
    """A checkpoint whose t0 is n zero bytes, deflated (~1000:1)."""
    header = F.npy_header("|u1", declared_shape or (n,))
    raw, crc = F.zero_bomb(header, n)
    meta = F.npy_bytes(np.frombuffer(json.dumps(F.meta_of(F.tnode(0))).encode(), np.uint8))
    return F.zip_bytes([dict(name="__strided__.npy", data=meta),
                        dict(name="t0.npy", data=raw, method=8, crc=crc,
                             size=len(header) + n)])


def _peak_rss_of(code):
    """Run code in a fresh interpreter; (its stdout, growth of peak RSS in bytes past the
    imports).  ru_maxrss is KiB on Linux."""
    script = ("import resource, strided, strided.data\n"
              "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n" + code +
              "\nprint('GROWTH', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)"
              " * 1024)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out, growth = proc.stdout.rsplit("GROWTH", 1)
    return out, int(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units")
def test_bombs_fail_early_in_bounded_memory(tmp_path):
    # 1 GiB of zeros in ~1 MB: refused by max_bytes before anything is inflated
    big = _write(tmp_path / "bomb.npz", _bomb_checkpoint(1024 * MiB))
    # 1 GiB inflating behind a header that declares 1000 elements: the sizes disagree
    liar = _write(tmp_path / "liar.npz", _bomb_checkpoint(1024 * MiB, (1000,)))
    # gzip IDX whose header declares 1000 bytes but which inflates to 1 GiB
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 1000)
    raw, crc = F.zero_bomb(header, 1024 * MiB)
    gz = _write(tmp_path / "bomb-idx1-ubyte.gz",
                F.gzip_member(raw, crc, len(header) + 1024 * MiB))
    code = f"""
import time
for path, fn, kw in [({str(big)!r}, strided.load, dict(max_bytes=64 << 20)),
                     ({str(liar)!r}, strided.load, dict()),
                     ({str(gz)!r}, strided.data.read_idx, dict())]:
    t0 = time.perf_counter()
    try:
        fn(path, **kw)
        print('LOADED', path)
    except (strided.serialization.CheckpointError, strided.data.IDXError) as e:
        print('REFUSED', round(time.perf_counter() - t0, 3), e)
"""
    out, growth = _peak_rss_of(code)
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("REFUSED") for line in lines), out
    assert "bomb.npz" in lines[0] and "max_bytes" in lines[0]
    assert "liar.npz" in lines[1] and "header declares shape (1000,)" in lines[1]
    assert "bomb-idx1-ubyte.gz" in lines[2] and "more than the 1008 bytes" in lines[2]
    assert all(float(line.split()[1]) < 2.0 for line in lines), out
    assert growth < 64 * MiB, f"peak RSS grew by {growth / MiB:.0f} MiB"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units")
def test_loading_takes_about_the_tensor_bytes(tmp_path):
    # a deflated 128 MiB tensor: peak memory at most 2x (here ~1x: read in place, shared)
    path = _write(tmp_path / "zeros.npz", _bomb_checkpoint(128 * MiB))
    out, growth = _peak_rss_of(f"t = strided.load({str(path)!r}); print(tuple(t.shape))")
    assert out.strip() == "(134217728,)"
    assert growth < 2 * 128 * MiB, f"peak RSS grew by {growth / MiB:.0f} MiB for 128 MiB"


@pytest.mark.parametrize("shape", [(1 << 20, 1 << 20, 8), (1 << 40, 1 << 40), (5,), (0,)])
def test_lying_npy_header_is_refused(tmp_path, shape):
    real = np.arange(3.0)
    data = F.npy_header("<f8", shape) + real.tobytes()
    path = _write(tmp_path / "lies.npz", _checkpoint(F.tnode(0), {"t0": data}))
    with pytest.raises(CheckpointError, match=r"lies\.npz.*header declares shape"):
        S.load(path)


@pytest.mark.parametrize("depth", [300, 200000])
def test_deep_json_is_refused_without_recursion_error(tmp_path, depth):
    text = ('{"format": "strided-checkpoint", "version": 1, "root": %s}'
            % ('{"T": "list", "v": [' * depth + "]}" * depth)).encode()
    path = _write(tmp_path / "deep.npz", F.checkpoint_bytes(text, {}, method=8))
    with pytest.raises(CheckpointError, match=r"deep\.npz.*nested \d+ levels deep") as info:
        S.load(path)
    assert not isinstance(info.value.__cause__, RecursionError)


def test_brackets_inside_strings_are_not_nesting(tmp_path):
    path = tmp_path / "brackets.npz"
    obj = {"s": "[" * 100000, "t": "{]" * 1000}
    S.save(obj, path)
    assert S.load(path) == obj


def test_nesting_round_trips_up_to_the_limit_and_save_refuses_beyond(tmp_path):
    obj = S.arange(3)
    for _ in range(100):
        obj = [obj]
    S.save(obj, tmp_path / "nested.npz")
    back = S.load(tmp_path / "nested.npz")
    for _ in range(100):
        back = back[0]
    np.testing.assert_array_equal(back.numpy(), np.arange(3))
    for _ in range(100):
        obj = [obj]
    with pytest.raises(ValueError, match="nested too deeply"):
        S.save(obj, tmp_path / "too_deep.npz")
    assert not os.path.exists(tmp_path / "too_deep.npz")


def test_max_bytes(tmp_path):
    path = tmp_path / "w.npz"
    w = np.random.default_rng(0).standard_normal((256, 256))       # 512 KiB
    S.save({"w": S.from_numpy(w)}, path)
    with pytest.raises(CheckpointError, match=r"w\.npz.*tensor t0 \(256, 256\) float64 would "
                                              r"take 524,288 bytes.*max_bytes=100,000"):
        S.load(path, max_bytes=100_000)
    np.testing.assert_array_equal(S.load(path, max_bytes=1 << 20)["w"].numpy(), w)
    np.testing.assert_array_equal(S.load(path)["w"].numpy(), w)
    with pytest.raises(ValueError, match="max_bytes"):
        S.load(path, max_bytes=-1)


@pytest.mark.parametrize("name,make", [
    ("empty.npz", lambda: b""),
    ("text.npz", lambda: b"hello"),
    ("badversion.npz", lambda: F.checkpoint_bytes(
        dict(F.meta_of(None), version=True), {})),
    ("list_node.npz", lambda: F.checkpoint_bytes(F.meta_of({"T": "list", "v": "abc"}), {})),
    ("tensor_key.npz", lambda: F.checkpoint_bytes(
        F.meta_of({"T": "dict", "k": [F.tnode(0)], "v": [1]}),
        {"t0": F.npy_bytes(np.zeros(1))})),
    ("float16.npz", lambda: F.checkpoint_bytes(F.meta_of(F.tnode(0)),
                                               {"t0": F.npy_bytes(np.zeros(2, np.float16))})),
    ("pickle.npz", lambda: F.checkpoint_bytes(F.meta_of(F.tnode(0)), {"t0": (
        F.npy_header("|O", (1,)) + b"\x80\x04N.")})),
    ("bad_bool.npz", lambda: F.checkpoint_bytes(F.meta_of(F.tnode(0)), {"t0": (
        F.npy_header("|b1", (2,)) + b"\x01\x07")})),
    ("lzma.npz", lambda: F.zip_bytes([dict(name="__strided__.npy", data=b"x", method=14)])),
    ("bracket_header.npz", lambda: F.checkpoint_bytes(F.meta_of(F.tnode(0)), {"t0": (
        F.npy_header("<f8", None, text="[" * 5000) + bytes(8))})),
])
def test_every_refusal_names_the_file(tmp_path, name, make):
    path = _write(tmp_path / name, make())
    with pytest.raises(CheckpointError) as info:
        S.load(path)
    assert name in str(info.value) and info.value.path == str(path)


def test_big_endian_members_load_in_native_order(tmp_path):
    a = np.arange(5, dtype=">i4")
    path = _write(tmp_path / "be.npz", _checkpoint(F.tnode(0), {"t0": F.npy_bytes(a)}))
    t = S.load(path)
    assert t.dtype == S.int32
    np.testing.assert_array_equal(t.numpy(), a.astype(np.int32))


# ---- save ----------------------------------------------------------------------------------

def _dead_pid():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@posix_only
def test_save_removes_temporaries_of_killed_saves_only(tmp_path):
    path = tmp_path / "ck.npz"
    dead = tmp_path / f".ck.npz.strided-{_dead_pid()}-abc_123.tmp"
    live = tmp_path / f".ck.npz.strided-{os.getppid()}-xyz789.tmp"     # our parent: alive
    mine = tmp_path / f".ck.npz.strided-{os.getpid()}-mine00.tmp"      # maybe another thread
    other = tmp_path / f".other.npz.strided-{_dead_pid()}-abc123.tmp"  # another file's
    for p in (dead, live, mine, other):
        p.write_bytes(b"partial")
    S.save({"w": S.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ck.npz", live.name, mine.name, other.name])
    assert S.load(path)["w"].tolist() == [1.0, 1.0]


@posix_only
def test_killed_save_leaves_old_or_new_and_next_save_cleans_up(tmp_path):
    path = tmp_path / "ck.npz"
    S.save({"v": S.zeros(1)}, path)
    script = f"""
import strided as S, itertools
big = S.ones(4 << 20)
for i in itertools.count(1):
    S.save({{"v": S.full((1,), float(i)), "big": big}}, {str(path)!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                n.endswith(".tmp") for n in os.listdir(tmp_path)):
            time.sleep(0.001)                   # kill it mid-write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    back = S.load(path)                         # old or new, never a torn file
    assert back["v"].tolist()[0] >= 0.0
    S.save({"v": S.zeros(1)}, path)
    assert os.listdir(tmp_path) == ["ck.npz"]


@posix_only
def test_save_honours_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o027)
    try:
        S.save({"a": 1}, tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
    os.chmod(tmp_path / "new.npz", 0o604)
    S.save({"a": 2}, tmp_path / "new.npz")
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o604
    assert S.load(tmp_path / "new.npz") == {"a": 2}


@posix_only
def test_save_writes_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ck.npz"
    S.save({"a": 1}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    S.save({"a": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert S.load(target) == {"a": 2}
    assert sorted(os.listdir(tmp_path / "real")) == ["ck.npz"]


# ---- read_idx ------------------------------------------------------------------------------

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def _idx(arr):
    arr = np.asarray(arr)
    return (bytes([0, 0, _CODES[arr.dtype.type], arr.ndim])
            + b"".join(struct.pack(">I", d) for d in arr.shape)
            + arr.astype(arr.dtype.newbyteorder(">")).tobytes())


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("suffix", [".idx", ".gz"])
def test_read_idx_zero_dim(tmp_path, dtype, suffix):
    arr = np.array(-7.25 if np.dtype(dtype).kind == "f" else 7).astype(dtype)
    data = _idx(arr)
    assert len(data) == 4 + arr.itemsize
    path = _write(tmp_path / ("scalar" + suffix),
                  gzip.compress(data) if suffix == ".gz" else data)
    t = read_idx(path)
    want = arr.astype(np.int32 if dtype in (np.int8, np.int16) else dtype)
    assert t.shape == () and t.numpy().shape == want.shape
    assert t.numpy().dtype == want.dtype
    np.testing.assert_array_equal(t.numpy(), want)


def test_read_idx_dims_whose_int64_product_wraps(tmp_path):
    # 3340214413 * 2761311370 * 2 == 2**64 + 4: an int64 product would see 4 elements
    dims = (3340214413, 2761311370, 2)
    path = _write(tmp_path / "wrap.idx", bytes([0, 0, 0x08, 3]) +
                  b"".join(struct.pack(">I", d) for d in dims) + bytes(4))
    with pytest.raises(IDXError, match=r"wrap\.idx.*needs 18446744073709551636"):
        read_idx(path)


def test_read_idx_gzip_declaring_more_than_it_can_hold(tmp_path):
    data = bytes([0, 0, 0x08, 2]) + struct.pack(">II", 60000, 60000) + bytes(100)
    path = _write(tmp_path / "huge.gz", gzip.compress(data))
    with pytest.raises(IDXError, match=r"huge\.gz.*more than \d+ gzip-compressed bytes"):
        read_idx(path)


def test_read_idx_max_bytes(tmp_path):
    arr = np.arange(1000, dtype=np.int16)
    path = _write(tmp_path / "a.idx", _idx(arr))
    with pytest.raises(IDXError, match=r"a\.idx.*4,000 bytes.*max_bytes=3,999"):
        read_idx(path, max_bytes=3999)                 # int16 widens to int32: 4000 bytes
    np.testing.assert_array_equal(read_idx(path, max_bytes=4000).numpy(), arr)


def test_read_idx_damaged_gzip_names_file(tmp_path):
    data = bytearray(gzip.compress(_idx(np.arange(1000, dtype=np.uint8))))
    data[-6] ^= 0xFF                                   # the CRC
    with pytest.raises(IDXError, match=r"crc\.gz: cannot read IDX file"):
        read_idx(_write(tmp_path / "crc.gz", bytes(data)))


# ---- the fuzzer ------------------------------------------------------------------------------

@posix_only
def test_fuzz_files_finds_nothing(tmp_path):
    out = tmp_path / "fuzz.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "fuzz_files.py"),
                           "--cases", "150", "--seed", "7", "--max-bomb-mib", "300",
                           "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    summary = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    o = summary["outcomes"]
    assert summary["cases"] == 150 and o["ok"] + o["rejected"] == 150, o
    assert o["ok"] > 10 and o["rejected"] > 50, o                   # both paths exercised
    assert summary["unnamed"] == 0
    assert set(summary["error_types"]) <= {"CheckpointError", "IDXError", "OSError"}
    assert summary["peak_rss_rejected_mib"] < 300
