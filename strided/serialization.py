"""strided.save / strided.load: checkpoints that never execute code on load.

NOTE [ Checkpoint format ]
A checkpoint is a NumPy .npz archive (a zip of .npy files) read with allow_pickle=False:
  "__strided__"  a uint8 array holding UTF-8 JSON {"format": "strided-checkpoint",
                 "version": 1, "root": node}
  "t0", "t1"...  one array per tensor, C-contiguous, in its own dtype
A node is null/true/false/number/string as itself (a JSON number for int/float; floats keep
inf/nan as JSON's Infinity/NaN), or an object {"T": kind, ...}:
  {"T": "tensor", "i": k, "rg": requires_grad}   -> array "t<k>"
  {"T": "list"|"tuple", "v": [node...]}
  {"T": "dict"|"odict", "k": [key node...], "v": [node...]}   (keys: str, int, float, bool,
                                                               None, tuple)
Anything else is refused at save time, and so is nesting deeper than load accepts
(_MAX_JSON_DEPTH = 256 levels of JSON: about 127 levels of Python containers).

The write is atomic: the archive goes to a temporary file ".<name>.strided-<pid>-<random>.tmp"
next to the target, is fsynced, then renamed over the target (and the directory fsynced), so
a crash or a failing write leaves the previous file intact.  A save removes the temporary
files of earlier saves of the same name whose writing process is gone (killed mid-write).
When the target is a symlink, the file it points to is replaced, not the link.  The new file
gets the mode open() would give it: the old file's mode when there was one, else
0o666 & ~umask.

load trusts nothing in the file.  It refuses, with CheckpointError (a RuntimeError) naming the
file and what was wrong in it:
  - anything but a regular file (a FIFO is never opened for a blocking read, /dev/zero never
    read, a directory never listed);
  - archives with members other than __strided__.npy and t<k>.npy, duplicate or overlapping
    members, compression other than stored/deflate, sizes that contradict each other (the
    zip directory's declared size against the .npy header's shape and dtype, a deflated size
    beyond deflate's 1032:1 ratio);
  - dtypes strided lacks, Fortran order, JSON nested deeper than _MAX_JSON_DEPTH (checked by a
    scan before parsing, so no RecursionError), nodes of the wrong shape, a tensor referenced
    twice or not at all, dict keys that are not hashable or repeat;
  - files whose declared contents need more memory than max_bytes: the tensors' bytes, plus
    64 bytes per byte of metadata JSON (parsed JSON costs up to ~50 bytes of Python objects per
    byte of text), plus 16 per byte of the zip directory (one ZipInfo object per entry).
Every size is checked before anything is allocated, and data is read in 1 MiB chunks into
the final arrays, which the tensors then share: loading needs about the tensors' bytes plus a
chunk, so a deflate bomb or a lying header fails before it costs memory.  Access errors
(FileNotFoundError, PermissionError) propagate as themselves.
"""
from __future__ import annotations
from collections import OrderedDict
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np

from strided._C.core.device import check_device as _check_device
from strided._C.core.tensor import Tensor, from_numpy
from strided.types import Device

_FORMAT = "strided-checkpoint"
_VERSION = 1
_META = "__strided__"

DEFAULT_MAX_BYTES = 4 << 30
_MAX_JSON_DEPTH = 256             # each container node is two JSON levels (object + array)
_META_COST = 64                   # bytes of memory charged per byte of metadata JSON
_DIRECTORY_COST = 16              # ... and per byte of the zip central directory
_DEFLATE_MAX_RATIO = 1032         # deflate can't expand 1 byte into more than ~1032
_CHUNK = 1 << 20
_MEMBER = re.compile(r"t(0|[1-9][0-9]*)\.npy\Z")
_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.uint8,
                                 np.bool_)}


class CheckpointError(RuntimeError):
    """strided.load refused a file: not a regular file, not a strided checkpoint, damaged, or
    needing more memory than max_bytes.  The message names the file and what was wrong;
    `path` holds the file's path."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self.path, self.what = path, what
        super().__init__(f"strided.load: {path!r}: {what}")

    def __reduce__(self):                   # picklable, e.g. from a worker process
        return type(self), (self.path, self.what)


class _Refused(Exception):
    """Raised inside load with what is wrong; load adds the file name."""


# ---- opening files (shared with strided.data.read_idx) ------------------------------------

def _file_kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _open_regular(path, error):
    """(binary file object, size) for a regular file; error(path, what) otherwise.  The stat
    comes first so devices are never opened; O_NONBLOCK makes the open itself return at once
    should the path have become a FIFO since (a FIFO's open waits for a writer)."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise error(path, f"is {_file_kind(st.st_mode)}, not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(path, f"is {_file_kind(st.st_mode)}, not a regular file")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


class _Budget:
    """Memory load may still allocate; every allocation is charged before it happens."""

    def __init__(self, limit):
        self.limit = limit
        self.left = limit

    def charge(self, nbytes, what):
        if nbytes > self.left:
            raise _Refused(f"{what} would take {nbytes:,} bytes of memory, more than "
                           f"max_bytes={self.limit:,} allows (pass a larger max_bytes to "
                           f"load a file you trust)")
        self.left -= nbytes


def _read_chunks(f, shape, dtype, nbytes):
    """A new array of shape and dtype filled from f in _CHUNK reads (no second copy of the
    data in memory); returns (array, bytes read), fewer than nbytes when f ends early."""
    arr = np.empty(shape, dtype)
    view = memoryview(arr.reshape(-1).view(np.uint8))
    pos = 0
    while pos < nbytes:
        n = f.readinto(view[pos:pos + _CHUNK])
        if not n:
            break
        pos += n
    return arr, pos


def _limit_for(max_bytes, size):
    """An explicit max_bytes, else DEFAULT_MAX_BYTES or the file's size if larger: an
    uncompressed file never holds more than itself, so the default only stops expansion."""
    if max_bytes is None:
        return max(DEFAULT_MAX_BYTES, size)
    if not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be a non-negative int, got {max_bytes!r}")
    return max_bytes


# ---- JSON depth -----------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _json_depth(text):
    """The deepest bracket nesting of a JSON text, outside strings, without recursion (json
    and _decode recurse once per level, so depth must be known before parsing)."""
    code = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8"), np.uint8)
    if code.size == 0:
        return 0
    step = ((code == ord("[")) | (code == ord("{"))).astype(np.int32) - \
        ((code == ord("]")) | (code == ord("}"))).astype(np.int32)
    return int(np.cumsum(step).max())


# ---- save ---------------------------------------------------------------------------------

def _encode(obj, arrays):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Tensor):
        arrays.append(np.array(obj.detach().numpy(), order="C", copy=True))
        return {"T": "tensor", "i": len(arrays) - 1, "rg": bool(obj.requires_grad)}
    if isinstance(obj, (list, tuple)):
        return {"T": "tuple" if isinstance(obj, tuple) else "list",
                "v": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        keys = list(obj.keys())
        for k in keys:
            if not (k is None or isinstance(k, (str, int, float, bool, tuple))):
                raise TypeError(f"strided.save: dict key {k!r} of type {type(k).__name__} "
                                f"can't be saved")
        return {"T": "odict" if isinstance(obj, OrderedDict) else "dict",
                "k": [_encode(k, arrays) for k in keys],
                "v": [_encode(obj[k], arrays) for k in keys]}
    raise TypeError(f"strided.save: objects of type {type(obj).__name__} can't be saved "
                    f"(tensors, numbers, strings, None and lists/tuples/dicts of them can)")


def _umask():
    try:                                   # Linux reports it without changing it
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(directory, prefix):
    """Delete temporary files of earlier saves to this name whose writer is gone (a save
    killed mid-write).  A writer still running, or one we can't tell about, keeps its file."""
    if os.name != "posix":                 # os.kill(pid, 0) would terminate it on Windows
        return
    pattern = re.compile(re.escape(prefix) + r"([0-9]+)-[A-Za-z0-9_]+\.tmp\Z")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
        except (OSError, OverflowError):   # alive under another user, or not a pid
            pass


def save(obj: Any, f: str | os.PathLike[str]) -> None:
    """Write obj (tensors and nested dicts/lists/tuples of tensors and Python scalars) to the
    path f atomically, in the format of NOTE [ Checkpoint format ]: f is either the old file
    or the new one, whatever happens.  A symlink f is written through to its target; the
    file keeps the mode of the one it replaces (else 0o666 & ~umask, like open()); temporary
    files left by earlier, killed saves to f are removed."""
    arrays = []
    meta = {"format": _FORMAT, "version": _VERSION, "root": _encode(obj, arrays)}
    text = json.dumps(meta)
    if _json_depth(text) > _MAX_JSON_DEPTH:
        raise ValueError(f"strided.save: obj is nested too deeply (its JSON is "
                         f"{_json_depth(text)} levels deep; load accepts {_MAX_JSON_DEPTH})")
    payload = {_META: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    payload.update({f"t{i}": a for i, a in enumerate(arrays)})
    target = os.path.realpath(os.fspath(f))
    directory, base = os.path.split(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    prefix = f".{base[:200]}.strided-"
    _remove_stale_temporaries(directory, prefix)
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            else:
                os.chmod(tmp, mode)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:                                   # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---- load ---------------------------------------------------------------------------------

def _directory_size(fh, size):
    """Bytes of the zip central directory, from the end record (zip64 too).  zipfile reads
    the whole directory and makes an object per entry, so it is charged before zipfile runs."""
    tail_len = min(size, 22 + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Refused("not a strided checkpoint: not a zip (.npz) archive")
    count, cd_size = struct.unpack("<10xHL", tail[at:at + 16])
    if count == 0xFFFF or cd_size == 0xFFFFFFFF:          # zip64: the real record is earlier
        where = size - tail_len + at - 20
        if where < 0:
            raise _Refused("damaged zip64 end record")
        fh.seek(where)
        sig, _, record_at, _ = struct.unpack("<4sLQL", fh.read(20))
        if sig != b"PK\x06\x07" or record_at + 56 > size:
            raise _Refused("damaged zip64 end record")
        fh.seek(record_at)
        cd_size = struct.unpack("<40xQ", fh.read(48))[0]
    fh.seek(0)
    return min(cd_size, size)


def _members(zf, size):
    """{name: ZipInfo}, after checking names, methods, sizes and that no two members share
    bytes: each array is stored once, and so can be charged once."""
    infos = zf.infolist()
    found = {}
    for info in infos:
        name = info.filename
        if info.orig_filename != name or not (name == _META + ".npy" or _MEMBER.match(name)):
            raise _Refused(f"unexpected archive member {info.orig_filename!r} (a checkpoint "
                           f"holds only {_META}.npy and t<k>.npy)")
        if name in found:
            raise _Refused(f"archive member {name!r} appears twice")
        found[name] = info
        if info.flag_bits & 0x1:
            raise _Refused(f"archive member {name!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise _Refused(f"archive member {name!r} is stored uncompressed but declares "
                               f"{info.compress_size} stored and {info.file_size} real bytes")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > info.compress_size * _DEFLATE_MAX_RATIO + 1024:
                raise _Refused(f"archive member {name!r} declares {info.file_size:,} bytes "
                               f"from {info.compress_size:,} deflated ones, more than deflate "
                               f"can produce")
        else:
            raise _Refused(f"archive member {name!r} uses compression method "
                           f"{info.compress_type} (checkpoints are stored or deflated)")
        if info.header_offset + 30 + len(name) + info.compress_size > size:
            raise _Refused(f"archive member {name!r} extends past the end of the file "
                           f"(truncated?)")
    spans = sorted((i.header_offset, i.header_offset + 30 + len(i.filename) + i.compress_size,
                    i.filename) for i in infos)
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        if end > start:
            raise _Refused(f"archive members {a!r} and {b!r} overlap")
    if _META + ".npy" not in found:
        raise _Refused(f"not a strided checkpoint: no {_META} metadata record")
    return found


def _read_array(zf, info, budget, what):
    """The .npy member as a new array, read in chunks after its sizes add up."""
    name = info.filename
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except Exception as ex:     # NumPy tokenizes the header text: any of its errors
            raise _Refused(f"member {name!r} has an unreadable .npy header "
                           f"({type(ex).__name__}: {ex})") from ex
        native = dtype.newbyteorder("=")
        if native not in _DTYPES:
            raise _Refused(f"member {name!r} has dtype {dtype} (strided holds float32, "
                           f"float64, int32, int64, uint8 and bool)")
        if fortran and len(shape) > 1:
            raise _Refused(f"member {name!r} is in Fortran order (checkpoints store C order)")
        if len(shape) > 64:
            raise _Refused(f"member {name!r} has {len(shape)} dims (at most 64)")
        count = 1
        for d in shape:
            count *= d                      # Python ints: no overflow
        nbytes = count * dtype.itemsize
        header = f.tell()
        if header + nbytes != info.file_size:
            raise _Refused(f"member {name!r}: its header declares shape {shape} of {dtype} "
                           f"({nbytes:,} bytes) but it holds {info.file_size - header:,}")
        budget.charge(nbytes, f"{what} {shape} {dtype}")
        arr, pos = _read_chunks(f, shape, dtype, nbytes)
        if pos < nbytes:
            raise _Refused(f"member {name!r} is truncated ({pos:,} of {nbytes:,} bytes)")
        if f.read(1):                       # also makes zipfile check the CRC
            raise _Refused(f"member {name!r} is longer than its header says")
    if dtype.byteorder not in "=|" and dtype != native:
        arr = arr.byteswap(inplace=True).view(native)   # in place: no second copy
    if arr.dtype == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
        raise _Refused(f"member {name!r} holds bool values other than 0 and 1")
    return arr


class _Tensors:
    """The t<k> members, each read when the metadata first refers to it; a second reference
    is refused (save writes one array per tensor, and repeats would let a small file ask for
    its largest array many times)."""

    def __init__(self, zf, members, budget):
        self.zf, self.members, self.budget = zf, members, budget
        self.used = set()

    def take(self, node):
        i, rg = node.get("i"), node.get("rg", False)
        if type(i) is not int or f"t{i}.npy" not in self.members:
            raise _Refused(f"tensor reference {i!r} names no t<k> member")
        if i in self.used:
            raise _Refused(f"tensor t{i} is referenced more than once")
        if type(rg) is not bool:
            raise _Refused(f"tensor t{i} has requires_grad {rg!r} (expected true or false)")
        self.used.add(i)
        arr = _read_array(self.zf, self.members[f"t{i}.npy"], self.budget, f"tensor t{i}")
        if rg and arr.dtype.kind != "f":
            raise _Refused(f"tensor t{i} of dtype {arr.dtype} can't require grad")
        t = from_numpy(arr)                 # shares arr's memory: no copy
        if rg:
            t.requires_grad_(True)
        return t

    def check_all_used(self):
        unused = sorted(set(self.members) - {f"t{i}.npy" for i in self.used} - {_META + ".npy"})
        if unused:
            raise _Refused(f"archive members {unused[:5]} are not referenced by the metadata")


def _key(k):
    if isinstance(k, tuple):
        for x in k:
            _key(x)
    elif not (k is None or isinstance(k, (str, int, float, bool))):
        raise _Refused(f"dict key of type {type(k).__name__} (keys are str, int, float, bool, "
                       f"None or tuples of them)")
    return k


def _decode(node, tensors):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict):
        raise _Refused(f"metadata holds a JSON {type(node).__name__} where a node belongs")
    kind = node.get("T")
    if kind == "tensor":
        return tensors.take(node)
    v = node.get("v")
    if kind in ("list", "tuple") and isinstance(v, list):
        items = [_decode(x, tensors) for x in v]
        return tuple(items) if kind == "tuple" else items
    k = node.get("k")
    if kind in ("dict", "odict") and isinstance(k, list) and isinstance(v, list) \
            and len(k) == len(v):
        keys = [_key(_decode(x, tensors)) for x in k]
        out = (OrderedDict if kind == "odict" else dict)(zip(keys, (_decode(x, tensors)
                                                                    for x in v)))
        if len(out) != len(keys):
            raise _Refused("a dict node repeats a key")
        return out
    raise _Refused(f"malformed metadata node (kind {kind!r}, keys {sorted(node)[:5]})")


def load(f: str | os.PathLike[str], max_bytes: int | None = None, *, map_location: Device = None,
         weights_only: bool | None = None) -> Any:
    """Read a checkpoint written by save().  Never unpickles and trusts no size in the file:
    anything but the documented format, or a file needing more than max_bytes of memory
    (default: DEFAULT_MAX_BYTES = 4 GiB, or the file's size if larger), raises CheckpointError
    (a RuntimeError) naming the file and saying what was wrong.  See NOTE [ Checkpoint
    format ] for the checks and how memory is counted.

    torch.load's keywords are accepted: map_location may name the CPU (None, "cpu",
    strided.device("cpu")), the only device, and any other device raises RuntimeError;
    weights_only (True, False or None) changes nothing, since load only ever reads tensors,
    Python scalars and containers of them, as torch.load(weights_only=True) does."""
    if map_location is not None:
        _check_device(map_location, "strided.load(map_location=...)")
    if weights_only not in (None, True, False):
        raise TypeError(f"strided.load: weights_only must be a bool or None, got "
                        f"{type(weights_only).__name__}")
    path = os.fspath(f)
    fh, size = _open_regular(path, CheckpointError)
    budget = _Budget(_limit_for(max_bytes, size))
    try:
        with fh:
            budget.charge(_DIRECTORY_COST * _directory_size(fh, size), "the zip directory")
            with zipfile.ZipFile(fh) as zf:
                members = _members(zf, size)
                meta_info = members[_META + ".npy"]
                budget.charge(_META_COST * meta_info.file_size, "the metadata record")
                raw = _read_array(zf, meta_info, _Budget(meta_info.file_size), "the metadata")
                if raw.dtype != np.uint8 or raw.ndim != 1:
                    raise _Refused(f"metadata record is {raw.dtype} {raw.shape}, not uint8 "
                                   f"bytes")
                text = raw.tobytes().decode("utf-8")
                del raw
                depth = _json_depth(text)
                if depth > _MAX_JSON_DEPTH:
                    raise _Refused(f"metadata JSON is nested {depth} levels deep (at most "
                                   f"{_MAX_JSON_DEPTH})")
                meta = json.loads(text)
                del text
                if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                    raise _Refused("not a strided checkpoint: the metadata does not say "
                                   f"format {_FORMAT!r}")
                version = meta.get("version")
                if type(version) is not int or version != _VERSION:
                    raise _Refused(f"unsupported checkpoint version {version!r} (this strided "
                                   f"reads version {_VERSION})")
                if "root" not in meta:
                    raise _Refused("metadata has no root node")
                tensors = _Tensors(zf, members, budget)
                obj = _decode(meta["root"], tensors)
                tensors.check_all_used()
                return obj
    except _Refused as ex:
        raise CheckpointError(path, str(ex)) from None
    except (zipfile.BadZipFile, ValueError, KeyError, IndexError, TypeError, EOFError, OSError,
            RuntimeError, NotImplementedError, OverflowError, struct.error, zlib.error) as ex:
        raise CheckpointError(path, f"not a valid strided checkpoint (truncated, corrupted or "
                                    f"another format): {type(ex).__name__}: {ex}") from ex
