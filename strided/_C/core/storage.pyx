"""Storage: one flat, 64-byte-aligned block of `size` elements of one dtype.

Tensors are metadata over a Storage; every tensor viewing the same memory holds the same
Storage object, so `untyped_storage().data_ptr()` identifies the memory.
"""
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_WRITABLE
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

import os

import numpy as np

from strided._C.core.arith cimport index_int64
from strided._C.core.dtypes cimport DType, as_dtype, dtype_from_num, BOOL, UINT8

cdef enum:
    ALIGNMENT = 64
    HUGE_PAGE = 2 * 1024 * 1024       # blocks this large get 2 MiB-aligned, hugepage-backed memory

cdef extern from "sys/mman.h":
    int madvise(void* addr, size_t length, int advice) nogil
    int MADV_HUGEPAGE


cdef class Storage:
    """Storage(size, dtype=strided.float32): `size` zero-initialised elements of `dtype`.

    Attributes (read-only): dtype; owner (the object whose memory a wrapping storage
    uses, kept alive with it, or None); read_only (True for memory from a read-only
    producer: every write is refused).
    """

    def __init__(self, size, dtype=None):
        cdef DType dt = as_dtype(dtype) if dtype is not None else as_dtype(np.float32)
        cdef int64_t n = index_int64(int(size), "Storage(): argument 'size'")
        if n < 0:
            raise ValueError(f"Storage size must be non-negative, but got {n}")
        _allocate(self, n, dt, True)

    def __dealloc__(self):
        if self._raw != NULL:
            _release(self._raw, <size_t>self._size * self.dtype.itemsize)

    def size(self):
        """Number of elements."""
        return self._size

    def __len__(self):
        return self._size

    def nbytes(self):
        """The size of the storage in bytes (size() * element_size())."""
        return self._size * self.dtype.itemsize

    def element_size(self):
        """The size of one element in bytes."""
        return self.dtype.itemsize

    def data_ptr(self):
        """The address of the first element, an int."""
        return <uintptr_t>self.data

    def __getitem__(self, i):
        if isinstance(i, slice):
            raise TypeError("Storage indices must be integers; slice a Tensor instead")
        cdef int64_t k = _check_index(self, i)
        return self._numpy()[k].item()

    def __setitem__(self, i, value):
        if self.read_only:
            raise ValueError("cannot write into a read-only storage (it wraps the memory of a "
                             "read-only producer); clone a tensor over it for a writable copy")
        cdef int64_t k = _check_index(self, i)
        self._numpy()[k] = value
        self._version += 1

    def tolist(self):
        """The elements as a list of Python numbers."""
        return self._numpy().tolist()

    @property
    def device(self):
        """device(type='cpu')."""
        from strided._C.core.device import CPU
        return CPU

    def untyped(self):
        """The same memory as bytes: a uint8 Storage of nbytes() elements sharing it (and
        keeping this storage alive), as PyTorch's TypedStorage.untyped()."""
        if self.dtype.num == UINT8:
            return self
        return wrap_memory(self.data, self._size * self.dtype.itemsize, dtype_from_num(UINT8),
                           self, self.read_only)

    def _numpy(self):
        """A 1-D numpy array over the whole storage (shares memory, keeps self alive)."""
        return np.asarray(memoryview(self))

    def __repr__(self):
        items = " ".join(str(x) for x in self._numpy()[:20].tolist())
        more = " ..." if self._size > 20 else ""
        return f"strided.Storage(size={self._size}, dtype={self.dtype!r}) [{items}{more}]"

    def __getbuffer__(self, Py_buffer* buf, int flags):
        if flags & PyBUF_WRITABLE and self.read_only:
            raise BufferError("this storage is read-only (it wraps the memory of a read-only "
                              "producer), so it cannot be exported writable")
        buf.buf = self.data
        buf.obj = self
        buf.len = self._size * self.dtype.itemsize
        buf.readonly = self.read_only
        buf.itemsize = self.dtype.itemsize
        buf.format = NULL
        if flags & PyBUF_FORMAT:
            buf.format = <char*>_FORMATS[self.dtype.num]
        buf.ndim = 1
        buf.shape = <Py_ssize_t*>&self._size
        buf.strides = &buf.itemsize
        buf.suboffsets = NULL
        buf.internal = NULL

    def __releasebuffer__(self, Py_buffer* buf):
        pass

    def __reduce__(self):
        return (_storage_from_bytes, (bytes(memoryview(self)), self.dtype.name, self._size))


cdef int64_t _check_index(Storage s, object i) except -1:
    if isinstance(i, float) or not hasattr(i, "__index__"):
        raise TypeError(f"storage indices must be integers, not {type(i).__name__}")
    cdef int64_t k = i.__index__()
    if k < 0:
        k += s._size
    if k < 0 or k >= s._size:
        raise IndexError(f"storage index {i} is out of range for a storage of size {s._size}")
    return k


cdef const char* _FORMATS[6]
_FORMATS[:] = [b"?", b"B", b"i", b"q", b"f", b"d"]


def _storage_from_bytes(data, dtype, size):
    cdef Storage s = Storage(size, dtype)
    memcpy(s.data, <const char*>data, s._size * s.dtype.itemsize)
    return s


# NOTE [ Block cache ]
# A training loop frees and allocates the same large blocks every step (activations and
# their gradients).  glibc gives big blocks back to the OS (an mmap'd block on free, the
# heap's top by trimming), so each step faulted those pages in again and the kernel zeroed
# them: on the GPT example's training step that was a quarter of the step, as system time
# (benchmarks/bench_seq.py --cases gpt prints the step; `time` shows the system share).  So
# a block of at least CACHE_MIN bytes is kept when its storage dies, under its size class
# (the block rounded up to whole 2 MiB), while the cache holds at most STRIDED_CACHE_BYTES
# in all (default 1 GiB; 0 turns the cache off, e.g. under valgrind, so every free is
# seen), and the next storage of the same class takes it.  A reused block's old contents
# never show: zeros() clears it and empty() is uninitialised by contract, as PyTorch's.
# Storages are made and freed with the GIL held, which guards the cache.
# _empty_cache() frees every cached block; _cache_info() reports (blocks, bytes).

cdef enum:
    CACHE_MIN = 1024 * 1024


cdef size_t _cache_limit_from_env() except? 0:
    v = os.environ.get("STRIDED_CACHE_BYTES")
    if v is None or v == "":
        return <size_t>1 << 30
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 0:
        raise ValueError(f"STRIDED_CACHE_BYTES={v!r}: expected a number of bytes >= 0 "
                         f"(0 turns the block cache off)")
    return n


cdef size_t _cache_limit = _cache_limit_from_env()
cdef size_t _cache_bytes = 0
cdef dict _cache = {}                 # block size -> [addresses of free blocks]


cdef inline size_t _block_bytes(size_t nbytes) noexcept:
    """The bytes malloc'd for a storage of nbytes: room to align it (NOTE [ Block cache ]
    rounds large blocks up to a size class)."""
    cdef size_t align = HUGE_PAGE if nbytes >= 2 * HUGE_PAGE else ALIGNMENT
    cdef size_t total = nbytes + align
    if nbytes >= CACHE_MIN:
        total = (total + HUGE_PAGE - 1) & ~(<size_t>HUGE_PAGE - 1)
    return total


cdef void _release(void* raw, size_t nbytes):
    global _cache_bytes
    cdef size_t total
    if nbytes >= CACHE_MIN:
        total = _block_bytes(nbytes)
        if _cache_bytes + total <= _cache_limit:
            _cache.setdefault(total, []).append(<uintptr_t>raw)
            _cache_bytes += total
            return
    free(raw)


def _empty_cache():
    """Free every block the cache holds (NOTE [ Block cache ]); returns the bytes freed."""
    global _cache_bytes
    freed = _cache_bytes
    for blocks in _cache.values():
        for addr in blocks:
            free(<void*><uintptr_t>addr)
    _cache.clear()
    _cache_bytes = 0
    return freed


def _cache_info():
    """(blocks, bytes) held by the block cache now."""
    return (sum(len(b) for b in _cache.values()), _cache_bytes)


cdef int _allocate(Storage s, int64_t size, DType dtype, bint zero) except -1:
    global _cache_bytes
    if size > (<int64_t>1 << 62) // dtype.itemsize:
        raise MemoryError(f"cannot allocate a storage of {size} {dtype.name} elements: too large")
    cdef size_t nbytes = <size_t>size * dtype.itemsize
    # Over-allocate and round up: aligned_alloc has no calloc twin, and calloc lets the OS
    # hand out pre-zeroed pages lazily for large zeros().  Large blocks are aligned to
    # 2 MiB and advised to use transparent huge pages, as NumPy does: touching fresh memory
    # otherwise costs one page fault per 4 KiB, which dominates copies into new tensors.
    cdef size_t align = HUGE_PAGE if nbytes >= 2 * HUGE_PAGE else ALIGNMENT
    cdef size_t total = _block_bytes(nbytes)
    cdef list blocks = _cache.get(total) if nbytes >= CACHE_MIN else None
    cdef bint reused = False
    if blocks:
        s._raw = <void*><uintptr_t>blocks.pop()
        _cache_bytes -= total
        reused = True
    else:
        s._raw = calloc(total, 1) if zero else malloc(total)
    if s._raw == NULL:
        raise MemoryError(f"cannot allocate a storage of {size} {dtype.name} elements ({nbytes} bytes)")
    s.data = <char*>((<uintptr_t>s._raw + align - 1) & ~(<uintptr_t>align - 1))
    if reused:
        if zero:
            memset(s.data, 0, nbytes)
    elif align == HUGE_PAGE:
        madvise(s.data, nbytes & ~(<size_t>HUGE_PAGE - 1), MADV_HUGEPAGE)
    s._size = size
    s.dtype = dtype
    return 0


cdef Storage new_storage(int64_t size, DType dtype, bint zero):
    cdef Storage s = Storage.__new__(Storage)
    _allocate(s, size, dtype, zero)
    return s


cdef Storage wrap_memory(char* data, int64_t size, DType dtype, object owner, bint read_only):
    """A Storage over memory someone else owns; `owner` is kept alive until the Storage dies.
    read_only: the owner forbids writes (NOTE [ Read-only storage ])."""
    cdef Storage s = Storage.__new__(Storage)
    s.data = data
    s._raw = NULL
    s._size = size
    s.dtype = dtype
    s.owner = owner
    s.read_only = read_only
    return s
