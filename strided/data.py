"""strided.data: the names of strided.utils.data (datasets, samplers, DataLoader with worker
processes; torch.utils.data's API) and read_idx for the IDX files MNIST ships as.
"""
from __future__ import annotations
import gzip
import os
import struct
import zlib

import numpy as np

from strided._C.core.tensor import Tensor, from_numpy
from strided.serialization import _limit_for, _open_regular, _read_chunks
from strided.utils.data import *  # noqa: F401,F403  (one implementation: strided.utils.data)
from strided.utils.data import __all__ as _data_all

__all__ = list(_data_all) + ["read_idx", "IDXError"]


# NOTE [ IDX format ]
# MNIST's files: a 4-byte magic (0, 0, type code, ndim), ndim big-endian uint32 sizes, then
# the elements in row-major order, big-endian.  Files may be gzip-compressed (".gz").  ndim 0
# is a scalar: one element, shape ().
#
# read_idx trusts no size in the file: it refuses anything but a regular file before opening
# it for reading (a FIFO or /dev/zero would hang or never end), computes the element count
# in Python ints (an int64 product of four dims can wrap around to a small number), checks it
# against the file's size (plain files) or deflate's 1032:1 ratio (gzip) and against max_bytes
# before allocating, then reads into the final array in 1 MiB chunks, so a gzip bomb stops as
# soon as it inflates past what the header declares.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NATIVE = {0x08: np.uint8, 0x09: np.int32, 0x0B: np.int32, 0x0C: np.int32,
               0x0D: np.float32, 0x0E: np.float64}      # int8/int16 widen to int32


class IDXError(ValueError):
    """read_idx refused a file: not a regular file, not IDX, damaged, or needing more memory
    than max_bytes.  The message starts with the file's path; `path` holds it."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self.path, self.what = path, what
        super().__init__(f"{path}: {what}")

    def __reduce__(self):                   # picklable, e.g. from a worker process
        return type(self), (self.path, self.what)


def _read_exact(f, n):
    out = f.read(n)
    while len(out) < n:
        more = f.read(n - len(out))
        if not more:
            break
        out += more
    return out


def read_idx(path: str | os.PathLike[str], max_bytes: int | None = None) -> Tensor:
    """Read an IDX file (optionally gzip-compressed, by a ".gz" name) into a Tensor.

    uint8 data (MNIST images and labels) becomes a uint8 tensor; int8/int16 are widened to
    int32 (strided has no narrower signed dtypes), int32/float32/float64 keep their type; a
    0-dim file gives a 0-dim tensor.  Raises IDXError (a ValueError) naming the file when it
    is not a regular file, when the magic number, the type code or the length does not match
    the IDX format, or when the tensor would take more than max_bytes (default
    strided.serialization.DEFAULT_MAX_BYTES = 4 GiB, or the file's size if larger); see NOTE
    [ IDX format ].  A missing or unreadable file raises FileNotFoundError/PermissionError.
    """
    path = os.fspath(path)
    fh, size = _open_regular(path, IDXError)
    limit = _limit_for(max_bytes, size)
    gz = path.endswith(".gz")
    with fh:
        f = gzip.GzipFile(fileobj=fh, mode="rb") if gz else fh
        try:
            arr, code = _read_idx_array(f, path, size, gz, limit)
        except (OSError, EOFError, zlib.error) as e:   # gzip raises these on a damaged stream
            raise IDXError(path, f"cannot read IDX file ({e})") from e
    arr = arr.byteswap(inplace=True).view(arr.dtype.newbyteorder("="))   # in place
    if arr.dtype != _IDX_NATIVE[code]:
        arr = arr.astype(_IDX_NATIVE[code])
    return from_numpy(arr)


def _read_idx_array(f, path, size, gz, limit):
    raw = _read_exact(f, 4)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise IDXError(path, f"not an IDX file (magic {raw[:4].hex() or 'missing'}; "
                             f"expected 0x0000TTNN with type code TT in "
                             f"{sorted(hex(t) for t in _IDX_TYPES)})")
    code, ndim = raw[2], raw[3]
    header = 4 + 4 * ndim
    dims = _read_exact(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(path, f"truncated IDX header ({4 + len(dims)} bytes, expected "
                             f"{header} for {ndim} dims)")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(_IDX_TYPES[code])
    count = 1
    for d in shape:
        count *= d                          # Python ints: no wrap-around
    nbytes = count * dtype.itemsize
    expected = header + nbytes
    if not gz and size != expected:
        raise IDXError(path, f"IDX file is {size} bytes but its header (shape {shape}, "
                             f"{dtype.name}) needs {expected}"
                       + (" (truncated)" if size < expected else ""))
    if gz and expected > size * 1032 + 1024:
        raise IDXError(path, f"header (shape {shape}, {dtype.name}) needs {expected:,} bytes, "
                             f"more than {size:,} gzip-compressed bytes can hold")
    if ndim > 64:
        raise IDXError(path, f"has {ndim} dims; strided and NumPy hold at most 64")
    out_bytes = count * np.dtype(_IDX_NATIVE[code]).itemsize
    if out_bytes > limit:
        raise IDXError(path, f"header (shape {shape}, {dtype.name}) asks for {out_bytes:,} "
                             f"bytes of memory, more than max_bytes={limit:,} allows (pass a "
                             f"larger max_bytes to read a file you trust)")
    arr, pos = _read_chunks(f, shape, dtype, nbytes)
    if pos < nbytes:
        raise IDXError(path, f"IDX data is truncated ({header + pos} bytes, but its "
                             f"header (shape {shape}, {dtype.name}) needs {expected})")
    if gz and f.read(1):                    # reading on to the end also checks the gzip CRC
        raise IDXError(path, f"IDX file decompresses to more than the {expected} bytes its "
                             f"header (shape {shape}, {dtype.name}) needs")
    return arr, code
