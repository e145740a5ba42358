"""Shared-memory transport of DataLoader batches between worker processes and the main
process.

NOTE [ DataLoader shared memory ]
A worker sends each batch as one message on its own Unix socket to the main process: a
pickle of the batch in which every Tensor is replaced by a reference (pickle's
persistent_id), a table describing those tensors (segment, byte offset, dtype, shape), and
the segments themselves as file descriptors attached to the message (SCM_RIGHTS).  A
segment is anonymous shared memory (memfd_create; elsewhere a temporary file unlinked at
once), so it has no name that could leak: the kernel frees it when the last descriptor is
closed and the last mapping unmapped.

- In the worker, default_collate stacks straight into a fresh segment (worker_allocator()),
  and a TensorDataset batch is gathered straight into one, so those tensors are written
  once.  Any other tensor in the batch is copied into one more segment per batch.  The
  worker closes its descriptors right after sending: the message holds its own references.
- The main process maps each segment once and builds its tensors with from_numpy over the
  mapping: no copy.  The mapping belongs to those tensors' storages, so the memory is
  unmapped (and, all descriptors closed, freed) when the last tensor over it dies.
- Messages still in a socket when the loader shuts down are discarded with the socket, and
  the kernel drops their descriptors with them; a worker that dies mid-batch leaves only
  descriptors its death closes.  Nothing needs cleaning up by name.

Wire format: an 8-byte little-endian length, then that many bytes of pickle; the
descriptors ride with the first byte of the length (one sendmsg).
"""
import io
import mmap
import os
import pickle
import socket
import struct
import tempfile

import numpy as np

from strided._C.core.tensor import Tensor, from_numpy

_ALIGN = 64
# Map every page at once (one call instead of a page fault per 4 KiB: ~20% off a batch's
# hand-over), where the platform has it.
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
_MAX_FDS = 200                 # descriptors per message (Linux allows 253 per SCM_RIGHTS)
_HEADER = struct.Struct("<Q")


def new_segment(nbytes):
    """(fd, mmap) of `nbytes` (>= 1) of anonymous, zero-filled shared memory."""
    nbytes = max(int(nbytes), 1)
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("strided-dataloader", os.MFD_CLOEXEC)
    else:                                                       # pragma: no cover
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="strided-dataloader-", dir=shm)
        os.unlink(path)
    try:
        os.ftruncate(fd, nbytes)
        return fd, mmap.mmap(fd, nbytes, flags=_MAP_FLAGS)
    except BaseException:
        os.close(fd)
        raise


def _round_up(n):
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


class WorkerAllocator:
    """A worker's shared-memory allocations for the batch it is building: empty(shape,
    dtype) gives a Tensor over a fresh segment; take() hands the segments over to a
    message (see NOTE [ DataLoader shared memory ])."""

    def __init__(self):
        self._segments = []            # [(fd, base address, nbytes)]

    def empty(self, shape, np_dtype):
        np_dtype = np.dtype(np_dtype)
        count = int(np.prod(shape, dtype=np.int64))
        nbytes = count * np_dtype.itemsize
        if nbytes == 0 or len(self._segments) >= _MAX_FDS - 1:
            return from_numpy(np.empty(shape, np_dtype))
        fd, mm = new_segment(nbytes)
        arr = np.frombuffer(mm, np_dtype, count).reshape(shape)
        self._segments.append((fd, arr.ctypes.data, nbytes))
        return from_numpy(arr)

    def find(self, t):
        """(segment number, byte offset) when tensor t is a contiguous view inside one of
        this batch's segments, else None."""
        if not t.is_contiguous():
            return None
        start = t.data_ptr()
        end = start + t.numel() * t.element_size()
        for k, (_, base, nbytes) in enumerate(self._segments):
            if base <= start and end <= base + nbytes:
                return k, start - base
        return None

    def fds(self):
        return [fd for fd, _, _ in self._segments]

    def close(self):
        for fd, _, _ in self._segments:
            os.close(fd)
        self._segments = []


_allocator = None


def worker_allocator():
    """The allocator of the batch being built in this worker process, or None (in the main
    process, or while not building a batch)."""
    return _allocator


def set_worker_allocator(alloc):
    global _allocator
    _allocator = alloc


class _TensorPickler(pickle.Pickler):
    def __init__(self, file, refs):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._refs = refs
        self._ids = {}

    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            k = self._ids.get(id(obj))
            if k is None:
                k = self._ids[id(obj)] = len(self._refs)
                self._refs.append(obj)
            return k
        return None


def pack(obj, alloc):
    """(payload bytes, table, fds) for sending `obj`: its tensors by reference into shared
    segments -- the allocator's own, plus one more holding copies of any other tensors."""
    tensors = []
    buf = io.BytesIO()
    _TensorPickler(buf, tensors).dump(obj)
    table, extra = [], []
    extra_bytes = 0
    for t in tensors:
        found = alloc.find(t)
        if found is not None:
            table.append((found[0], found[1], t.dtype.name, tuple(t.shape), t.requires_grad))
        else:
            table.append(None)
            extra.append(len(table) - 1)
            extra_bytes = _round_up(extra_bytes) + t.numel() * t.element_size()
    fds = alloc.fds()
    if extra:
        fd, mm = new_segment(extra_bytes)
        seg = len(fds)
        fds = fds + [fd]
        alloc._segments.append((fd, 0, 0))          # closed with the others after sending
        offset = 0
        with mm:
            for k in extra:
                t = tensors[k]
                offset = _round_up(offset)
                src = t.detach().numpy()
                dst = np.frombuffer(mm, src.dtype, src.size, offset).reshape(src.shape)
                np.copyto(dst, src)
                del dst
                table[k] = (seg, offset, t.dtype.name, tuple(t.shape), t.requires_grad)
                offset += src.nbytes
    return buf.getvalue(), table, fds


class _TensorUnpickler(pickle.Unpickler):
    def __init__(self, file, tensors):
        super().__init__(file)
        self._tensors = tensors

    def persistent_load(self, pid):
        return self._tensors[pid]


def unpack(payload, table, fds):
    """The object pack() sent: its tensors are views over the mapped segments (no copy);
    the descriptors are closed here (the mappings stay until their tensors die)."""
    maps = []
    try:
        for fd in fds:
            maps.append(mmap.mmap(fd, os.fstat(fd).st_size, flags=_MAP_FLAGS))
    finally:
        for fd in fds:
            os.close(fd)
    tensors = []
    for seg, offset, dtype, shape, requires_grad in table:
        np_dtype = np.dtype("bool" if dtype == "bool" else dtype)
        count = int(np.prod(shape, dtype=np.int64))
        arr = np.frombuffer(maps[seg], np_dtype, count, offset).reshape(shape)
        t = from_numpy(arr)
        if requires_grad:
            t.requires_grad_()
        tensors.append(t)
    del maps
    return _TensorUnpickler(io.BytesIO(payload), tensors).load()


# ---- messages on a Unix stream socket ---------------------------------------------------

def send_message(sock, obj, fds=()):
    """Send a picklable object, with file descriptors attached (see the wire format in NOTE
    [ DataLoader shared memory ])."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    head = _HEADER.pack(len(data))
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, np.array(fds, np.int32).tobytes())]
        sent = sock.sendmsg([head + data], anc)
    else:
        sent = sock.send(head + data)
    if sent < len(head) + len(data):
        sock.sendall(memoryview(head + data)[sent:])


class PeerClosed(EOFError):
    """The other end of the socket closed (or its process died) mid-conversation."""


def _recv_exact(sock, n, into=None):
    buf = bytearray(n) if into is None else into
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise PeerClosed("connection closed")
        got += k
    return buf


def recv_message(sock):
    """(object, [fds]) of the next message; raises PeerClosed at end of stream."""
    fd_size = np.dtype(np.int32).itemsize
    msg, anc, _flags, _addr = sock.recvmsg(_HEADER.size, socket.CMSG_SPACE(_MAX_FDS * fd_size))
    if not msg:
        raise PeerClosed("connection closed")
    fds = []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(np.frombuffer(data[:len(data) - len(data) % fd_size], np.int32).tolist())
    try:
        if len(msg) < _HEADER.size:
            msg = bytes(msg) + bytes(_recv_exact(sock, _HEADER.size - len(msg)))
        (length,) = _HEADER.unpack(msg)
        return pickle.loads(_recv_exact(sock, length)), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
