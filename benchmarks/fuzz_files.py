"""Fuzz strided.load and strided.data.read_idx with corrupt and crafted files.

    python benchmarks/fuzz_files.py --cases 3000 --seed 0 --json out/fuzz_files.json
    python benchmarks/fuzz_files.py --cases 200 --max-bomb-mib 300      # quick run
    python benchmarks/fuzz_files.py --impl /some/dir    # serialization.py + data.py from dir

Each case builds one hostile file from (seed, case number) alone, so any case can be replayed
with --start N --cases 1: byte flips, truncations and splices of real checkpoints; crafted
archives (a tensor referenced many times, deflate bombs, .npy headers and zip directories
lying about sizes, JSON nested 200,000 deep, oddly named or duplicated members, dtypes
strided lacks, huge metadata); malformed IDX files (truncated, bad magic, dims whose product
overflows, gzip bombs, 0-d); and files that are not regular files (FIFO, /dev/zero, a
directory).  Valid files are mixed in and must load to exactly what was written.

Cases run in batches inside child processes whose address space is capped (RLIMIT_AS,
--rlimit-mib) so a loader that tries to allocate without bound shows up as a MemoryError
instead of taking the machine down; a per-case timer (SIGALRM, --timeout) and a watchdog in
the parent catch hangs; a child that dies mid-case is a crash.  Every case ends as one of:
  ok          loaded, and equal to what was written (valid files only)
  rejected    raised the documented error (strided.serialization.CheckpointError or
              strided.data.IDXError when the code defines them; else RuntimeError/ValueError)
  unexpected  raised some other exception type
  accepted    loaded a file the format forbids (say, a tensor referenced twice)
  wrong       loaded, but differs from what was written
  memory      MemoryError            hang   timed out            crash   the child died
`unnamed` counts rejections whose message does not name the file.  Peak memory is the
resident high-water mark (VmHWM, reset before each case) minus the resident size before
the load: the largest over rejected files, and over loaded files the largest ratio to the
bytes of the tensors they hold.  The exit status is 1 when any case is unexpected, accepted,
wrong, memory, hang or crash.
"""
import argparse
import gzip
import importlib.util
import inspect
import io
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20
BAD = ("unexpected", "accepted", "wrong", "memory", "hang", "crash")


# ---- building files ----------------------------------------------------------------------

def npy_header(descr, shape, fortran=False, text=None):
    """A .npy version 1.0 (2.0 if long) header; `text` replaces the dict literal to lie."""
    body = text if text is not None else \
        "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran, tuple(shape))
    body = body.encode("latin1")
    if len(body) < 65000:
        pad = 64 - (10 + len(body) + 1) % 64
        body += b" " * (pad % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body
    pad = 64 - (12 + len(body) + 1) % 64          # version 2.0: a 4-byte header length
    body += b" " * (pad % 64) + b"\n"
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(body)) + body


def npy_bytes(arr):
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def zip_bytes(members, entries=None, cd_size=None, cd_offset=None):
    """A zip archive; each member is a dict with name, data (as stored), and optionally
    method (0 stored, 8 deflate), crc, size (declared uncompressed), csize (declared
    compressed), local_name, offset (where the central directory says it starts: several
    entries may point at one local header).  The end record may lie via entries, cd_size
    and cd_offset."""
    out, central = bytearray(), bytearray()
    for m in members:
        name = m["name"].encode("utf-8", "surrogatepass") if isinstance(m["name"], str) \
            else m["name"]
        local = m.get("local_name", name)
        data = m.get("data", b"")
        method = m.get("method", 0)
        crc = m.get("crc", zlib.crc32(data) if method == 0 else 0)
        size = m.get("size", len(data))
        csize = m.get("csize", len(data))
        offset = m.get("offset", len(out))
        if "offset" not in m:
            out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                               csize, size, len(local), 0) + local + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               csize, size, len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central
    n = len(members) if entries is None else entries
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n & 0xFFFF, n & 0xFFFF,
                       len(central) if cd_size is None else cd_size,
                       start if cd_offset is None else cd_offset, 0)
    return bytes(out)


def deflate(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


_BOMB_CACHE = {}


def zero_bomb(prefix, n_zeros):
    """(raw deflate stream of prefix + n_zeros zero bytes, its crc32), in a few ms: after a
    full flush the compressor forgets its history, so every 1 MiB of zeros compresses to the
    same bytes and the stream is that block repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(n_zeros, MiB)
    stream = head + block * whole + c.compress(bytes(rest)) + c.flush()
    key = (zlib.crc32(prefix), whole)
    if key not in _BOMB_CACHE:
        crc, zeros = key[0], bytes(MiB)
        for _ in range(whole):
            crc = zlib.crc32(zeros, crc)
        _BOMB_CACHE[key] = crc
    return stream, zlib.crc32(bytes(rest), _BOMB_CACHE[key])


def gzip_member(raw, crc, size):
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + raw + struct.pack("<LL", crc,
                                                                           size & 0xFFFFFFFF)


def checkpoint_bytes(meta, arrays, method=0):
    """A checkpoint from parts: meta (JSON-able or bytes) and {name: .npy bytes}."""
    import numpy as np
    text = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    members = [("__strided__.npy", npy_bytes(np.frombuffer(text, np.uint8)))]
    members += [(k if k.endswith(".npy") else k + ".npy", v) for k, v in arrays.items()]
    out = []
    for name, data in members:
        if method == 8:
            out.append(dict(name=name, data=deflate(data), method=8, crc=zlib.crc32(data),
                            size=len(data)))
        else:
            out.append(dict(name=name, data=data))
    return zip_bytes(out)


def meta_of(root):
    return {"format": "strided-checkpoint", "version": 1, "root": root}


def tnode(i, rg=False):
    return {"T": "tensor", "i": i, "rg": rg}


# ---- random objects ------------------------------------------------------------------------

DTYPES = ["float32", "float64", "int32", "int64", "uint8", "bool"]


def random_array(rng, max_elems=2000):
    import numpy as np
    ndim = rng.choice([0, 1, 1, 2, 2, 3, 4])
    shape = []
    for _ in range(ndim):
        shape.append(rng.choice([0, 1, 2, 3, 5, 8, 13]) if rng.random() < 0.2
                     else rng.randint(1, 12))
    while np.prod(shape, dtype=np.int64) > max_elems:
        shape[rng.randrange(len(shape))] //= 2
    dtype = rng.choice(DTYPES)
    g = np.random.default_rng(rng.getrandbits(32))
    if dtype == "bool":
        return np.asarray(g.random(shape) < 0.5)
    if dtype.startswith("float"):
        a = np.asarray(g.standard_normal(shape)).astype(dtype)
        if a.size and rng.random() < 0.2:
            a.reshape(-1)[0] = rng.choice([float("nan"), float("inf"), -0.0])
        return a
    info = np.iinfo(dtype)
    return np.asarray(g.integers(max(info.min, -1000), min(info.max, 1000), shape,
                                 dtype=dtype, endpoint=True))


def random_object(rng, S, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.35:
        choice = rng.randrange(7)
        if choice < 3:
            t = S.from_numpy(random_array(rng))
            if t.is_floating_point():
                t.requires_grad_(rng.random() < 0.3)
            return t
        return [None, True, 3, -2.5, "text", float("inf")][rng.randrange(6)] if choice < 6 \
            else rng.randint(-10 ** 12, 10 ** 12)
    n = rng.randint(0, 4)
    if r < 0.6:
        keys = ["w", "b", "state", 1, 2.5, None, ("a", 1), True]
        return {rng.choice(keys) if rng.random() < 0.3 else f"k{i}":
                random_object(rng, S, depth + 1) for i in range(n)}
    items = [random_object(rng, S, depth + 1) for _ in range(n)]
    return tuple(items) if r < 0.8 else items


def same(a, b):
    import numpy as np
    from strided._C.core.tensor import Tensor
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return False
        x, y = a.detach().numpy(), b.detach().numpy()
        return (x.dtype == y.dtype and x.shape == y.shape and a.requires_grad == b.requires_grad
                and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


# ---- case generators: each returns (target, expected) after writing `path` -----------------
# target is "load" or "idx"; expected is the object a correct loader returns, REFUSE when the
# file must be refused, Maybe(obj) when refusing is fine too, ANY when any result is, Big(n)
# for a valid file that may be refused for its size, OSERROR when an OSError (an access error
# such as a symlink loop) is right.  note() records what a case did.

class Maybe:
    def __init__(self, value):
        self.value = value


class Big:
    def __init__(self, n):
        self.n = n


REFUSE, ANY, OSERROR = object(), object(), object()
NOTES = []


def note(text):
    NOTES.append(str(text))

def _valid_checkpoint(rng, S, path):
    obj = random_object(rng, S)
    S.save(obj, path)
    return obj


def gen_valid(rng, S, path):
    return "load", _valid_checkpoint(rng, S, path)


def gen_mutate(rng, S, path):
    obj = _valid_checkpoint(rng, S, path)
    data = bytearray(open(path, "rb").read())
    mode = rng.choice(["flip", "flip", "flip", "truncate", "splice", "zero", "dup"])
    note(mode)
    if mode == "flip":
        for _ in range(rng.choice([1, 1, 2, 4, 16])):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif mode == "truncate":
        del data[rng.randrange(len(data)):]
    elif mode == "splice":
        i = rng.randrange(len(data))
        if rng.random() < 0.5:
            del data[i:i + rng.randint(1, 64)]
        else:
            data[i:i] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    elif mode == "zero":
        i = rng.randrange(len(data))
        j = min(len(data), i + rng.randint(1, 200))
        data[i:j] = bytes(j - i)
    else:
        i, j = sorted(rng.randrange(len(data)) for _ in range(2))
        data[j:j] = data[i:j][:4096]
    with open(path, "wb") as f:
        f.write(data)
    return "load", Maybe(obj)       # a flip in a timestamp may leave the content intact


def gen_repeat_refs(rng, S, path):
    import numpy as np
    n = rng.choice([2, 10, 200, 1000])
    elems = rng.choice([1, 1000, MiB, 4 * MiB])
    note(f"{n} refs to {elems} float64")
    arr = npy_bytes(np.zeros(elems, np.float64))
    root = {"T": "list", "v": [tnode(0) for _ in range(n)]}
    if rng.random() < 0.3:                           # the same index under another spelling
        root["v"][-1] = {"T": "tensor", "i": 0.0, "rg": False}
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta_of(root), {"t0": arr}, method=8))
    return "load", REFUSE


def gen_deflate_bomb(rng, S, path, max_bomb):
    import numpy as np
    n = min(rng.choice([64 * MiB, 300 * MiB, 1024 * MiB, 1536 * MiB]), max_bomb)
    header = npy_header("|u1", (n,))
    raw, crc = zero_bomb(header, n)
    lie = rng.choice(["honest", "honest", "small_size", "big_size", "bad_crc", "short_header",
                      "stored_size"])
    size = len(header) + n
    note(f"{lie} {n >> 20} MiB")
    member = dict(name="t0.npy", data=raw, method=8, crc=crc, size=size)
    expected = REFUSE
    if lie == "honest":
        expected = {"w": S.from_numpy(np.zeros(n, np.uint8))} if n <= 64 * MiB else "big"
    elif lie == "small_size":
        member["size"] = rng.choice([len(header) + 10, 1000, 0])
    elif lie == "big_size":
        member["size"] = min(size * rng.choice([2, 1000]), 0xFFFFFFFE)
    elif lie == "bad_crc":
        member["crc"] = crc ^ 1
    elif lie == "short_header":                      # header says far fewer elements
        raw, crc = zero_bomb(npy_header("|u1", (10,)), n)
        member.update(data=raw, crc=crc)
    else:                                            # claims stored, sizes differ
        member.update(method=0, size=size)
    meta = json.dumps(meta_of({"T": "dict", "k": ["w"], "v": [tnode(0)]})).encode()
    metam = npy_bytes(np.frombuffer(meta, np.uint8))
    with open(path, "wb") as f:
        f.write(zip_bytes([dict(name="__strided__.npy", data=metam), member]))
    if expected == "big":                            # valid; may be refused for its size
        return "load", Big(n)
    return "load", expected


def gen_lying_header(rng, S, path):
    import numpy as np
    real = np.arange(rng.choice([0, 1, 16, 1000]), dtype=np.float64)
    kind = rng.choice(["huge", "overflow", "bigger", "smaller", "negative", "garbage", "dtype",
                       "fortran_huge", "long_header", "ndim"])
    note(kind)
    if kind == "huge":
        header = npy_header("<f8", (1 << 20, 1 << 20, 8))
    elif kind == "overflow":
        header = npy_header("<f8", (1 << 32, 1 << 32, 1 << 32))
    elif kind == "bigger":
        header = npy_header("<f8", (real.size + rng.randint(1, 10 ** 6),))
    elif kind == "smaller":
        header = npy_header("<f8", (max(real.size - 1, 0),))
    elif kind == "negative":
        header = npy_header("<f8", None, text="{'descr': '<f8', 'fortran_order': False, "
                                              "'shape': (-1, %d), }" % real.size)
    elif kind == "garbage":
        header = npy_header("<f8", None, text=rng.choice(
            ["{'descr': '<f8'", "__import__('os')", "{'descr': 5, 'shape': (1,), "
             "'fortran_order': 0}", "[" * 5000, "{'descr': '<f8', 'fortran_order': False, "
             "'shape': (1,), 'extra': 1}"]))
    elif kind == "dtype":
        descr = rng.choice(["<f8", "|u1", "<i2", "<c16", "<U10"])
        header = npy_header(descr, (real.size,))
    elif kind == "fortran_huge":
        header = npy_header("<f8", (1 << 40, 1 << 10), fortran=True)
    elif kind == "long_header":
        header = npy_header("<f8", None, text="{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (%d,), }" % real.size + " " * 200000)
    else:                                            # 64 dims is NumPy's most, 65 too many
        header = npy_header("<f8", tuple([1] * rng.choice([63, 64]) + [real.size]))
    data = header + real.tobytes()
    root = tnode(0)
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta_of(root), {"t0": data},
                                 method=rng.choice([0, 8])))
    if kind == "ndim" and len(header) < 400 and b"1, " * 64 not in header:
        return "load", Maybe(S.from_numpy(real.reshape([1] * 63 + [real.size])))
    if kind == "long_header":                        # valid, if unusual: load or refuse
        return "load", Maybe(S.from_numpy(real))
    if kind == "dtype" and descr == "<f8":
        return "load", S.from_numpy(real)
    if kind == "dtype" and descr == "|u1" and real.size == 0:
        return "load", S.from_numpy(np.zeros(0, np.uint8))
    if kind == "smaller" and real.size == 0:
        return "load", S.from_numpy(real)
    return "load", REFUSE


def gen_deep_json(rng, S, path):
    depth = rng.choice([50, 300, 1000, 20000, 200000])
    style = rng.choice(["list", "dict", "node", "string"])
    note(f"{style} {depth}")
    if style == "list":
        text = "[" * depth + "]" * depth
    elif style == "dict":
        text = '{"a":' * depth + "1" + "}" * depth
    elif style == "string":           # brackets inside a string are not nesting
        text = json.dumps("[" * depth)
    else:
        text = '{"T": "list", "v": [' * depth + "]}" * depth
    meta = ('{"format": "strided-checkpoint", "version": 1, "root": %s}' % text).encode()
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta, {}, method=8))
    if style == "string":
        return "load", "[" * depth
    if style in ("list", "node") and depth <= 1000:   # loading or refusing are both fine
        expected = []
        for _ in range(depth - 1):
            expected = [expected]
        return "load", Maybe(expected)
    return "load", REFUSE


def gen_bad_meta(rng, S, path):
    import numpy as np
    arr = npy_bytes(np.arange(4, dtype=np.float32))
    good = {"T": "dict", "k": ["w"], "v": [tnode(0)]}
    choice = rng.randrange(16)
    note(choice)
    meta = meta_of(good)
    arrays = {"t0": arr}
    if choice == 0:
        meta = [1, 2, 3]
    elif choice == 1:
        meta["format"] = "pytorch"
    elif choice == 2:
        meta["version"] = rng.choice([2, "1", None, 1.0000001])
    elif choice == 3:
        meta["root"] = {"T": "lambda", "v": []}
    elif choice == 4:
        meta["root"] = {"T": "list", "v": "abc"}
    elif choice == 5:
        meta["root"] = {"T": "dict", "k": ["a", "b"], "v": [1]}
    elif choice == 6:
        meta["root"] = tnode(rng.choice([True, -1, 1.5, "0", 10 ** 30, 7, None]))
    elif choice == 7:
        meta["root"] = {"T": "dict", "k": [{"T": "dict", "k": [], "v": []}], "v": [1]}
    elif choice == 8:
        meta = b'{"format": "strided-checkpoint", "version": 1, "root": \xff\xfe}'
    elif choice == 9:
        meta = b'{"format": "strided-checkpoint", "version": 1, "root": [1, 2'
    elif choice == 10:
        meta["root"] = {"T": "tensor"}
    elif choice == 11:
        meta = b'{"format": "strided-checkpoint", "version": 1, "root": ' + \
            b"9" * 100000 + b"}"
    elif choice == 12:
        meta["root"] = {"T": "dict", "k": [tnode(0)], "v": [1]}
    elif choice == 13:
        arrays = {}                                  # referenced tensor missing
    elif choice == 14:
        arrays["t1"] = arr                           # unreferenced member
    else:
        meta["root"] = {"T": "tuple", "v": {"a": 1}}
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta, arrays))
    return "load", REFUSE


def gen_odd_members(rng, S, path):
    import numpy as np
    arr = npy_bytes(np.arange(3, dtype=np.int64))
    metam = npy_bytes(np.frombuffer(json.dumps(meta_of(tnode(0))).encode(), np.uint8))
    choice = rng.randrange(10)
    note(choice)
    members = [dict(name="__strided__.npy", data=metam), dict(name="t0.npy", data=arr)]
    expected = REFUSE
    if choice == 0:
        members[1]["name"] = rng.choice(["../../t0.npy", "/t0.npy", "t0", "t00.npy",
                                         "t+0.npy", "t0.npy\x00x", "T0.npy", "t٠.npy"])
        if members[1]["name"] == "t0":
            expected = Maybe(S.from_numpy(np.arange(3, dtype=np.int64)))
    elif choice == 1:
        members.append(dict(name="t0.npy", data=npy_bytes(np.zeros(10 ** 5))))
    elif choice == 2:                                # identical duplicate: may load
        members.insert(0, dict(name="__strided__.npy", data=metam))
        expected = Maybe(S.from_numpy(np.arange(3, dtype=np.int64)))
    elif choice == 3:
        members.append(dict(name="t0/", data=b""))
    elif choice == 4:
        members = members[1:]
    elif choice == 5:
        members[1]["name"] = "t0.npy" + "x" * 60000
    elif choice == 6:                                # two directory entries, one local file
        members.append(dict(name="t0.npy", data=arr, offset=len(zip_bytes(members[:1])) -
                            22 - 46 - len("__strided__.npy")))
    elif choice == 7:
        members[1]["local_name"] = b"t9.npy"
    elif choice == 8:
        members[1]["method"] = rng.choice([12, 14, 99])
    else:
        members = members + [dict(name=f"x{i}.npy", data=b"") for i in range(2000)]
    with open(path, "wb") as f:
        f.write(zip_bytes(members))
    return "load", expected


def gen_bad_dtype(rng, S, path):
    import numpy as np
    choice = rng.choice(["f16", "c16", "struct", "object", "fortran", "bigendian", "u16",
                         "str"])
    note(choice)
    if choice == "f16":
        data, ok = npy_bytes(np.ones(3, np.float16)), REFUSE
    elif choice == "c16":
        data, ok = npy_bytes(np.ones(3, np.complex128)), REFUSE
    elif choice == "struct":
        data, ok = npy_bytes(np.zeros(3, [("a", "<f4"), ("b", "<i4")])), REFUSE
    elif choice == "object":
        buf = io.BytesIO()
        np.save(buf, np.array([None, 1], dtype=object), allow_pickle=True)
        data, ok = buf.getvalue(), REFUSE
    elif choice == "fortran":
        a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
        data, ok = npy_bytes(a), Maybe(S.from_numpy(np.ascontiguousarray(a)))
    elif choice == "bigendian":
        a = np.arange(5, dtype=">i4")
        data, ok = npy_bytes(a), Maybe(S.from_numpy(a.astype(np.int32)))
    elif choice == "u16":
        data, ok = npy_bytes(np.ones(3, np.uint16)), REFUSE
    else:
        data, ok = npy_bytes(np.array(["ab", "c"])), REFUSE
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta_of(tnode(0)), {"t0": data}))
    return "load", ok


def gen_big_meta(rng, S, path):
    mib = rng.choice([8, 16, 32])
    item = rng.choice(["{},", "[],", "0,", '"x",'])
    note(f"{mib} MiB of {item}")
    body = item * (mib * MiB // len(item))
    meta = ('{"format": "strided-checkpoint", "version": 1, "root": [%s0]}' % body).encode()
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(meta, {}, method=8))
    return "load", Big(len(meta))


def gen_zip_lies(rng, S, path):
    import numpy as np
    arr = npy_bytes(np.arange(3, dtype=np.int64))
    metam = npy_bytes(np.frombuffer(json.dumps(meta_of(tnode(0))).encode(), np.uint8))
    members = [dict(name="__strided__.npy", data=metam), dict(name="t0.npy", data=arr)]
    choice = rng.randrange(5)
    note(choice)
    expected = REFUSE
    if choice in (0, 2):             # zipfile reads the directory by size and finds it by
        expected = Maybe(S.from_numpy(np.arange(3, dtype=np.int64)))   # position: harmless
    if choice == 0:
        data = zip_bytes(members, entries=rng.choice([0, 65535, 3]))
    elif choice == 1:
        data = zip_bytes(members, cd_size=rng.choice([0, 10, 1 << 31, 0xFFFFFFFF]))
    elif choice == 2:
        data = zip_bytes(members, cd_offset=rng.choice([0, 1, 1 << 31, 0xFFFFFFFF]))
    elif choice == 3:
        members[1]["csize"] = rng.choice([0, 1, 1 << 30, 0xFFFFFFFE])
        data = zip_bytes(members)
    else:
        members[1]["size"] = rng.choice([0, 1, 1 << 30, 0xFFFFFFFE])
        data = zip_bytes(members)
    with open(path, "wb") as f:
        f.write(data)
    return "load", expected


def gen_junk(rng, S, path):
    choice = rng.randrange(5)
    data = [b"", b"PK\x05\x06" + bytes(18), bytes(rng.getrandbits(8) for _ in range(500)),
            b"PK\x03\x04" + bytes(100), b"\x93NUMPY\x01\x00" + bytes(60)][choice]
    with open(path, "wb") as f:
        f.write(data)
    return "load", REFUSE


def make_nonregular(rng, path):
    choice = rng.choice(["fifo", "zero", "null", "dir", "symlink_zero", "loop"])
    note(choice)
    if choice == "fifo":
        os.mkfifo(path)
    elif choice == "dir":
        os.mkdir(path)
    elif choice == "loop":
        os.symlink(os.path.basename(path), path)
    else:
        os.symlink({"zero": "/dev/zero", "null": "/dev/null",
                    "symlink_zero": "/dev/zero"}[choice], path)
    return choice


def gen_nonregular(rng, S, path):
    kind = make_nonregular(rng, path)
    return "load", OSERROR if kind == "loop" else REFUSE


# ---- IDX ------------------------------------------------------------------------------------

IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
             "float64": 0x0E}


def idx_bytes(arr):
    header = bytes([0, 0, IDX_CODES[arr.dtype.name], arr.ndim])
    header += b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def random_idx_array(rng):
    import numpy as np
    ndim = rng.choice([0, 0, 1, 1, 2, 3, 4])
    shape = [rng.choice([0, 1, 2, 3, 7, 28]) for _ in range(ndim)]
    dtype = rng.choice(list(IDX_CODES))
    g = np.random.default_rng(rng.getrandbits(32))
    return np.asarray(g.standard_normal(shape) * 100).astype(dtype)   # 0-d: an array too


def idx_expected(S, arr):
    import numpy as np
    wide = np.int32 if arr.dtype in (np.int8, np.int16) else arr.dtype
    return S.from_numpy(np.array(arr.astype(wide), copy=True))


def write_idx(path, data, gz):
    if gz:
        data = gzip.compress(data, 6)
    with open(path, "wb") as f:
        f.write(data)


def gen_idx_valid(rng, S, path):
    arr = random_idx_array(rng)
    write_idx(path, idx_bytes(arr), path.endswith(".gz"))
    return "idx", idx_expected(S, arr)


def gen_idx_mutate(rng, S, path):
    arr = random_idx_array(rng)
    data = bytearray(idx_bytes(arr))
    mode = rng.choice(["truncate", "extra", "magic", "type", "ndim", "flip_header"])
    note(f"{mode} {arr.shape} {arr.dtype}")
    if mode == "truncate" and len(data) > 1:
        del data[rng.randrange(len(data)):]
    elif mode == "extra":
        data += bytes(rng.randint(1, 9))
    elif mode == "magic":
        data[rng.randrange(2)] = rng.randint(1, 255)
    elif mode == "type":
        data[2] = rng.choice([0, 7, 0x0A, 0x0F, 0xFF])
    elif mode == "ndim":
        data[3] = rng.choice([d for d in (0, 1, 2, 5, 255) if d != arr.ndim])
    else:
        if arr.ndim:
            data[4 + rng.randrange(4 * arr.ndim)] ^= 1 << rng.randrange(8)
        else:
            data[3] = 1
    gz = path.endswith(".gz")
    if gz and rng.random() < 0.5:                 # damage the gzip stream instead
        comp = bytearray(gzip.compress(idx_bytes(arr)))
        i = rng.randrange(len(comp))
        comp[i] ^= 1 << rng.randrange(8)
        if rng.random() < 0.5:
            del comp[rng.randrange(len(comp)):]
        with open(path, "wb") as f:
            f.write(comp)
        return "idx", Maybe(idx_expected(S, arr))
    write_idx(path, bytes(data), gz)
    if arr.size == 0 and mode in ("ndim", "flip_header"):
        return "idx", ANY                   # may still be a valid (empty) file
    return "idx", REFUSE


def gen_idx_huge(rng, S, path):
    kind = rng.choice(["wrap0", "wrap_match", "huge", "many_dims"])
    note(kind)
    if kind == "wrap0":              # 2**64 elements: the int64 product wraps to 0
        dims = [1 << 16] * 4
        body = b""
    elif kind == "wrap_match":       # product is 2**64 + 4: wraps to the 4 bytes present
        dims = [3340214413, 2761311370, 2]
        body = bytes(4)
    elif kind == "huge":
        dims = [rng.randint(1 << 20, (1 << 32) - 1) for _ in range(3)]
        body = bytes(rng.choice([0, 100]))
    else:
        dims = [1] * 255
        body = bytes(1)
    data = bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body
    write_idx(path, data, path.endswith(".gz"))
    return "idx", REFUSE                   # 255 dims: more than NumPy (64) can hold


def gen_idx_bomb(rng, S, path, max_bomb):
    import numpy as np
    n = min(rng.choice([64 * MiB, 300 * MiB, 1024 * MiB, 1900 * MiB]), max_bomb)
    lie = rng.choice(["small_header", "honest", "short_stream", "bad_crc"])
    declared = n if lie in ("honest", "bad_crc") else rng.choice([10, 1000])
    note(f"{lie} {n >> 20} MiB")
    if lie == "short_stream":
        declared = n * 2
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", declared)
    raw, crc = zero_bomb(header, n)
    if lie == "bad_crc":
        crc ^= 1
    with open(path, "wb") as f:
        f.write(gzip_member(raw, crc, len(header) + n))
    if lie == "honest":
        return "idx", Big(n) if n > 64 * MiB else idx_expected(S, np.zeros(n, np.uint8))
    return "idx", REFUSE


def gen_idx_nonregular(rng, S, path):
    kind = make_nonregular(rng, path)
    return "idx", OSERROR if kind == "loop" else REFUSE


GENERATORS = [  # (weight, name, function, suffix)
    (5, "valid", gen_valid, ".npz"),
    (23, "mutate", gen_mutate, ".npz"),
    (6, "repeat_refs", gen_repeat_refs, ".npz"),
    (6, "deflate_bomb", gen_deflate_bomb, ".npz"),
    (6, "lying_header", gen_lying_header, ".npz"),
    (5, "deep_json", gen_deep_json, ".npz"),
    (8, "bad_meta", gen_bad_meta, ".npz"),
    (6, "odd_members", gen_odd_members, ".npz"),
    (4, "bad_dtype", gen_bad_dtype, ".npz"),
    (1, "big_meta", gen_big_meta, ".npz"),
    (3, "zip_lies", gen_zip_lies, ".npz"),
    (2, "junk", gen_junk, ".npz"),
    (3, "nonregular", gen_nonregular, ".npz"),
    (5, "idx_valid", gen_idx_valid, None),
    (9, "idx_mutate", gen_idx_mutate, None),
    (3, "idx_huge", gen_idx_huge, None),
    (3, "idx_bomb", gen_idx_bomb, ".gz"),
    (2, "idx_nonregular", gen_idx_nonregular, None),
]


def make_case(seed, i, S, workdir, max_bomb):
    rng = random.Random(f"{seed}:{i}")
    del NOTES[:]
    total = sum(w for w, *_ in GENERATORS)
    pick = rng.uniform(0, total)
    for weight, name, fn, suffix in GENERATORS:
        pick -= weight
        if pick <= 0:
            break
    suffix = suffix or rng.choice(["-idx3-ubyte", ".idx", ".gz"])
    path = os.path.join(workdir, f"case{i}{suffix}")
    kwargs = {"max_bomb": max_bomb} if "max_bomb" in inspect.signature(fn).parameters else {}
    target, expected = fn(rng, S, path, **kwargs)
    return name, target, expected, path


# ---- child: run cases in-process ----------------------------------------------------------

class Hang(BaseException):
    pass


def _on_alarm(signum, frame):
    raise Hang()


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def load_impl(impl):
    """(load, read_idx, checkpoint error type, idx error type)."""
    import strided
    if impl:
        mods = []
        for name in ("serialization", "data"):
            spec = importlib.util.spec_from_file_location(f"_fuzz_{name}",
                                                          os.path.join(impl, name + ".py"))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mods.append(mod)
        ser, data = mods
    else:
        import strided.data as data
        import strided.serialization as ser
    return (ser.load, data.read_idx, getattr(ser, "CheckpointError", RuntimeError),
            getattr(data, "IDXError", ValueError))


def tensor_bytes(obj):
    from strided._C.core.tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(x) for x in obj)
    if isinstance(obj, dict):
        return sum(tensor_bytes(x) for x in obj.values())
    return 0


def run_case(i, args, S, impl, workdir):
    load, read_idx, ckpt_error, idx_error = impl
    casedir = tempfile.mkdtemp(dir=workdir)
    try:
        name, target, expected, path = make_case(args.seed, i, S, casedir,
                                                 args.max_bomb_mib * MiB)
        fn, error = (load, ckpt_error) if target == "load" else (read_idx, idx_error)
        kwargs = {}
        if args.max_bytes and "max_bytes" in inspect.signature(fn).parameters:
            kwargs["max_bytes"] = args.max_bytes * MiB
        print(json.dumps({"case": i, "event": "start", "kind": name}), flush=True)
        import gc
        gc.collect()
        rss0 = _status("VmRSS:")
        _reset_peak()
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        t0 = time.perf_counter()
        result, exc = None, None
        try:
            try:
                result = fn(path, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hang:                # also when a late alarm lands in the finally above
            exc = "hang"
        except Exception as e:      # MemoryError included
            exc = e
        seconds = time.perf_counter() - t0
        peak = max(_status("VmHWM:") - rss0, 0)
        row = {"case": i, "kind": name, "target": target, "seconds": round(seconds, 4),
               "peak_bytes": peak}
        row["note"] = " ".join(NOTES)
        row.update(classify(expected, result, exc, error, path))
        del result, exc
        return row
    finally:
        _rmtree(casedir)


def classify(expected, result, exc, error, path):
    """The outcome of one case (see the module docstring) as a dict."""
    maybe_refused = expected is REFUSE or expected is ANY or isinstance(expected, (Maybe, Big))
    if exc == "hang":
        return {"outcome": "hang"}
    if isinstance(exc, MemoryError):
        return {"outcome": "memory"}
    if exc is not None:
        if isinstance(exc, error) and (maybe_refused or expected is OSERROR):
            return {"outcome": "rejected", "named": os.path.basename(path) in str(exc),
                    "error": type(exc).__name__}
        if isinstance(exc, OSError) and expected is OSERROR:
            return {"outcome": "rejected", "error": type(exc).__name__}
        return {"outcome": "unexpected", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    if expected is REFUSE or expected is OSERROR:
        return {"outcome": "accepted", "error": f"loaded {type(result).__name__}"}
    want = expected.value if isinstance(expected, Maybe) else expected
    if expected is ANY or isinstance(expected, Big) or same(result, want):
        return {"outcome": "ok", "tensor_bytes": tensor_bytes(result)}
    return {"outcome": "wrong", "error": f"loaded {type(result).__name__}"}


def _rmtree(d):
    for root, dirs, files in os.walk(d, topdown=False):
        for f in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            os.unlink(os.path.join(root, f))
        for x in dirs:
            p = os.path.join(root, x)
            if not os.path.islink(p):
                os.rmdir(p)
    os.rmdir(d)


def child(args):
    if args.rlimit_mib:
        lim = args.rlimit_mib * MiB
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.path.insert(0, ROOT)
    import strided as S
    impl = load_impl(args.impl)
    for i in range(args.start, args.start + args.cases):
        print(json.dumps(run_case(i, args, S, impl, args.workdir)), flush=True)


# ---- parent: batches, watchdog, summary ---------------------------------------------------

def run_batches(args):
    workdir = tempfile.mkdtemp(prefix="fuzz-files-")
    rows, i, end = [], args.start, args.start + args.cases
    try:
        while i < end:
            n = min(args.batch, end - i)
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--start", str(i),
                   "--cases", str(n), "--seed", str(args.seed), "--workdir", workdir,
                   "--timeout", str(args.timeout), "--rlimit-mib", str(args.rlimit_mib),
                   "--max-bytes", str(args.max_bytes), "--max-bomb-mib", str(args.max_bomb_mib)]
            if args.impl:
                cmd += ["--impl", args.impl]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    cwd=ROOT)
            current, done, buf = None, set(), b""
            deadline = time.monotonic() + args.timeout + 60   # generation + import + case
            while True:
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        msg = json.loads(line)
                        if msg.get("event") == "start":
                            current = msg
                            deadline = time.monotonic() + args.timeout + 10
                        else:
                            rows.append(msg)
                            done.add(msg["case"])
                            current = None
                            deadline = time.monotonic() + args.timeout + 60
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    if current is not None:
                        rows.append({"case": current["case"], "kind": current["kind"],
                                     "outcome": "hang", "error": "watchdog"})
                        done.add(current["case"])
                    break
            proc.wait()
            err = proc.stderr.read().decode(errors="replace")
            if current is not None and current["case"] not in done:
                rows.append({"case": current["case"], "kind": current["kind"],
                             "outcome": "crash",
                             "error": f"exit {proc.returncode}: {err[-300:]}"})
                done.add(current["case"])
            elif proc.returncode and current is None:
                raise SystemExit(f"fuzz child failed outside a case:\n{err}")
            i = max(done | {i - 1}) + 1 if done else i + 1
    finally:
        _rmtree(workdir)
    return rows


def summarise(rows, args, seconds):
    outcomes = {}
    for r in rows:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    rejected = [r for r in rows if r["outcome"] == "rejected" and "named" in r]
    loaded = [r for r in rows if r["outcome"] == "ok" and r.get("tensor_bytes", 0) >= 4 * MiB]
    peak_rejected = max((r.get("peak_bytes", 0) for r in rows if r["outcome"] == "rejected"),
                        default=0)
    ratio = max((r["peak_bytes"] / r["tensor_bytes"] for r in loaded), default=None)
    kinds = {}
    for r in rows:
        k = kinds.setdefault(r["kind"], {})
        k[r["outcome"]] = k.get(r["outcome"], 0) + 1
    errors = {}
    for r in rows:
        if r["outcome"] in ("rejected", "unexpected") and "error" in r:
            key = r["error"].split(":")[0]
            errors[key] = errors.get(key, 0) + 1
    return {
        "cases": len(rows), "seed": args.seed, "impl": args.impl or "strided",
        "max_bytes_mib": args.max_bytes, "rlimit_mib": args.rlimit_mib,
        "seconds": round(seconds, 1),
        "outcomes": {k: outcomes.get(k, 0) for k in ("ok", "rejected") + BAD},
        "unnamed": sum(1 for r in rejected if not r["named"]),
        "error_types": errors,
        "peak_rss_rejected_mib": round(peak_rejected / MiB, 1),
        "peak_rss_over_tensor_bytes": None if ratio is None else round(ratio, 3),
        "loaded_4mib_plus": len(loaded),
        "by_kind": kinds,
        "bad_cases": [r for r in rows if r["outcome"] in BAD],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="first case number (to replay one)")
    p.add_argument("--json", help="write the summary and every bad case here")
    p.add_argument("--batch", type=int, default=100, help="cases per child process")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    p.add_argument("--rlimit-mib", type=int, default=2048, help="child address-space cap")
    p.add_argument("--max-bytes", type=int, default=256,
                   help="max_bytes passed to load/read_idx, MiB (when they accept it)")
    p.add_argument("--max-bomb-mib", type=int, default=1900,
                   help="largest inflated size of a crafted bomb")
    p.add_argument("--impl", help="directory with serialization.py and data.py to fuzz "
                                  "instead of strided's")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0
    t0 = time.perf_counter()
    rows = run_batches(args)
    summary = summarise(rows, args, time.perf_counter() - t0)
    o = summary["outcomes"]
    print(f"fuzz_files: {summary['cases']} cases (seed {args.seed}, {summary['impl']}) in "
          f"{summary['seconds']} s")
    print("  " + "  ".join(f"{k} {v}" for k, v in o.items())
          + f"  unnamed {summary['unnamed']}")
    print(f"  peak RSS on rejected files {summary['peak_rss_rejected_mib']} MiB; on loaded "
          f"files (>= 4 MiB of tensors, {summary['loaded_4mib_plus']}) at most "
          f"{summary['peak_rss_over_tensor_bytes']} x their tensor bytes")
    for kind, counts in sorted(summary["by_kind"].items()):
        print(f"  {kind:16s} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for r in summary["bad_cases"][:20]:
        print(f"  BAD case {r['case']} {r['kind']}: {r['outcome']} {r.get('error', '')[:160]}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if any(o[k] for k in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
