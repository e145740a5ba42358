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
Anything else is refused at save time.  The write is atomic: the archive goes to a
temporary file in the target's directory, is fsynced, then renamed over the target, so a
crash or a failing write leaves any previous file intact.  A truncated, corrupted or
foreign file raises RuntimeError naming the file.
"""
from collections import OrderedDict
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from strided._C.tensor import Tensor, from_numpy

_FORMAT = "strided-checkpoint"
_VERSION = 1
_META = "__strided__"


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


def _decode(node, arrays):
    if not isinstance(node, dict):
        return node
    kind = node["T"]
    if kind == "tensor":
        t = from_numpy(np.array(arrays[f"t{node['i']}"], order="C", copy=True))
        if node.get("rg"):
            t.requires_grad_(True)
        return t
    if kind in ("list", "tuple"):
        v = [_decode(x, arrays) for x in node["v"]]
        return tuple(v) if kind == "tuple" else v
    if kind in ("dict", "odict"):
        items = [(_hashable(_decode(k, arrays)), _decode(v, arrays))
                 for k, v in zip(node["k"], node["v"])]
        return OrderedDict(items) if kind == "odict" else dict(items)
    raise ValueError(f"unknown node kind {kind!r}")


def _hashable(k):
    return tuple(_hashable(x) for x in k) if isinstance(k, (list, tuple)) else k


def save(obj, f):
    """Write obj (tensors and nested dicts/lists/tuples of tensors and Python scalars) to the
    path f atomically, in the format of NOTE [ Checkpoint format ]."""
    arrays = []
    meta = {"format": _FORMAT, "version": _VERSION, "root": _encode(obj, arrays)}
    payload = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    payload.update({f"t{i}": a for i, a in enumerate(arrays)})
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".strided-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
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


def load(f):
    """Read a checkpoint written by save().  Never unpickles: anything but the documented
    format raises RuntimeError naming the file."""
    path = os.fspath(f)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if _META not in archive.files:
                raise ValueError("no strided metadata record")
            meta = json.loads(bytes(archive[_META]).decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise ValueError("metadata does not describe a strided checkpoint")
            if meta.get("version") != _VERSION:
                raise ValueError(f"unsupported checkpoint version {meta.get('version')!r}")
            return _decode(meta["root"], archive)
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError,
            json.JSONDecodeError, TypeError) as ex:
        raise RuntimeError(f"strided.load: {path!r} is not a valid strided checkpoint "
                           f"(truncated, corrupted or another format): {ex}") from ex
