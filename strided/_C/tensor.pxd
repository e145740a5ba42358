from libc.stdint cimport int64_t
from strided._C.dtypes cimport DType
from strided._C.storage cimport Storage

cdef enum:
    INLINE_DIMS = 8     # tensors with up to this many dims keep sizes/strides inside the object

cdef class Tensor:
    # NOTE [ Tensor metadata ]
    # A tensor is (storage, sizes, strides, storage_offset, dtype); strides and offset are
    # in elements.  data_ptr() == storage.data + storage_offset * itemsize.
    # INVARIANT: every element the tensor can address lies in [0, storage size) -- checked
    #            in make_tensor(), the only place tensors are built (NOTE [ Bounds ]).
    # INVARIANT: _numel and _contiguous are derived from sizes/strides; make_tensor()
    #            computes them, and no code changes metadata after construction.
    cdef Storage _storage
    cdef DType _dtype
    cdef int64_t* _sizes
    cdef int64_t* _strides
    cdef int64_t _offset
    cdef int64_t _numel
    cdef int _ndim
    cdef bint _contiguous
    cdef object _base_tensor          # the root tensor this one views, or None
    cdef int64_t _inline[2 * INLINE_DIMS]
    cdef bytearray _dims_buffer       # owns sizes/strides when ndim > INLINE_DIMS
    cdef object __weakref__

cdef Tensor make_tensor(Storage storage, int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t offset, object base)
cdef Tensor new_tensor(int ndim, const int64_t* sizes, DType dtype, bint zero)
cdef int copy_into(Tensor dst, Tensor src) except -1
cdef int check_no_internal_overlap(Tensor t) except -1     # NOTE [ Writes into overlapping tensors ]
cdef bint _memory_overlaps(Tensor a, Tensor b) except -1   # byte extents intersect
cdef int element_extent(int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t* lo, int64_t* hi) except -1
cdef char* data_of(Tensor t) noexcept nogil
