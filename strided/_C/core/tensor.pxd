from libc.stdint cimport int64_t
from strided._C.core.dtypes cimport DType
from strided._C.core.storage cimport Storage

cdef enum:
    INLINE_DIMS = 8     # tensors with up to this many dims keep sizes/strides inside the object

cdef class Tensor:
    # NOTE [ Tensor metadata ]
    # A tensor is (storage, sizes, strides, storage_offset, dtype); strides and offset are
    # in elements.  data_ptr() == storage.data + storage_offset * itemsize.
    # INVARIANT: every element the tensor can address lies in [0, storage size) -- checked
    #            in make_tensor(), the only place tensors are built (NOTE [ Bounds ]).
    # INVARIANT: _numel and _contiguous are derived from sizes/strides; make_tensor()
    #            computes them.  Metadata changes after construction (t_(), resize_(),
    #            set_(), .data = ...) copy a layout make_tensor() built (_set_layout,
    #            NOTE [ In-place metadata changes ] in views.pxi); nothing else writes it.
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
    # NOTE [ Autograd metadata ]
    # A tensor produced by a differentiable op under grad mode records the Node that made
    # it (_grad_fn, with _output_nr its position among that node's outputs).  Leaves have no
    # _grad_fn; a leaf with _requires_grad accumulates into _grad through an AccumulateGrad
    # node that it references weakly (_grad_accumulator), the node referencing the leaf.
    cdef object _grad
    cdef object _grad_fn
    cdef object _grad_accumulator
    cdef int _output_nr
    cdef int64_t _view_version       # storage version when a view's _grad_fn was set
    cdef bint _requires_grad
    cdef bint _retains_grad

cdef Tensor make_tensor(Storage storage, int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t offset, object base)
cdef Tensor new_tensor(int ndim, const int64_t* sizes, DType dtype, bint zero)
cdef int copy_into(Tensor dst, Tensor src) except -1
cdef int check_writable(Tensor t) except -1   # NOTE [ Read-only storage ], [ Writes into overlapping tensors ]
cdef void mark_written(Tensor t) noexcept     # NOTE [ Version counter ]
cdef bint _memory_overlaps(Tensor a, Tensor b) except -1   # byte extents intersect
cdef int element_extent(int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t* lo, int64_t* hi) except -1
cdef char* data_of(Tensor t) noexcept nogil

# Grad mode (strided.no_grad & co.) and the test every op makes before recording history:
# an op on tensors records a backward Node when grad_mode_enabled() and an input needs_grad().
cdef bint grad_mode_enabled() noexcept
cdef bint needs_grad(Tensor t) noexcept
cdef object autograd_dispatch()         # the strided.autograd.dispatch module
# A dim argument wrapped into [0, ndim) (a 0-d tensor takes -1 and 0), PyTorch's IndexError when
# out of range; a one-element integer tensor counts as an int.
cdef int wrap_dim(object dim, int ndim) except -1
cdef void recording_off() noexcept       # around an op's body when it will be recorded
cdef void recording_on() noexcept

# NOTE [ out= arguments ] (out.pxi): the checks and the write of every function's out=.
cdef int check_out(Tensor out, int ndim, const int64_t* shape, int result_type, str name,
                   str rule) except -1
cpdef int _check_out_grad(object out, str name, tuple inputs) except -1
cpdef object _write_out(object out, Tensor result, str name, tuple inputs=*, str rule=*)
cpdef tuple _write_outs(object out, tuple results, str name, tuple inputs=*, str rule=*)
