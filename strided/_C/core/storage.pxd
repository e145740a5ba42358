from libc.stdint cimport int64_t
from strided._C.core.dtypes cimport DType

cdef class Storage:
    # INVARIANT: data points to `size` elements of `dtype`, readable, and writable unless
    # read_only (NOTE [ Read-only storage ] in convert.pxi), for as long as this object lives.  Memory we allocated (owner is None) is 64-byte aligned and freed
    # in __dealloc__; foreign memory (numpy arrays, DLPack capsules) is kept alive by `owner`.
    cdef char* data
    cdef void* _raw                 # what free() takes back; NULL for foreign memory
    cdef readonly int64_t _size
    cdef readonly DType dtype
    cdef readonly object owner
    cdef readonly bint read_only     # memory from a read-only producer: every write is refused
    # Shared by every tensor viewing this storage; bumped by every in-place write
    # (autograd compares it against the value saved at forward time).
    cdef public int64_t _version

cdef Storage new_storage(int64_t size, DType dtype, bint zero)
cdef Storage wrap_memory(char* data, int64_t size, DType dtype, object owner, bint read_only)
