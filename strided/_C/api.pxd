# strided's kernel-writer's API: what a user's Cython extension cimports to work on Tensors.
#
#     from strided._C.api cimport Tensor, data_ptr, ndim, sizes, strides, empty_like, ...
#
# NOTE [ Kernel-writer's API ]
# A small, stable contract (docs/api/utils.extension.rst has the guide).  Everything here is
# an inline wrapper over the core's own functions (strided/_C/core/*.pxd), so an extension
# runs the library's own code paths at the library's speed; the core's .pxd files behind it
# may change, these names and meanings do not (API_VERSION counts incompatible changes).
#
#   metadata     ndim, sizes, strides (in elements), storage_offset (in elements), numel,
#                dtype (a ScalarType below), itemsize, is_contiguous
#   memory       data_ptr: the address of element [0, ..., 0], i.e. the storage's data plus
#                storage_offset * itemsize (strides may be negative or 0: index from here)
#   outputs      empty(ndim, sizes, dtype), empty_like(t): new contiguous tensors;
#                check_writable(t) before writing into an existing tensor (read-only memory,
#                self-overlapping layouts such as expanded views are refused);
#                mark_written(t) after writing into one (bumps the storage's version
#                counter, so autograd refuses stale saved tensors)
#   iteration    for_each(operands, fn, ctx, grain): the strided iterator over up to
#                MAX_OPERANDS tensors of one shape (expand() broadcast operands first): it
#                reorders and merges dims and calls the C row callback
#                fn(ptrs, byte_strides, n, ctx) on flat rows, with the GIL released, over
#                the library's threads when the work exceeds `grain` elements per thread
#   math         expf_fast, tanhf_fast: the library's float32 exp and tanh (within 2 and 3
#                ulp), branch-free inline code, so loops calling them vectorize
#   threads      num_threads(work, grain): the threads a kernel should use for `work`
#                elements (set_num_threads() governs it); max_threads()
#
# None: the metadata getters run without the GIL and cannot check their argument, so type
# tensor arguments `Tensor x not None` (Cython's `Tensor x` also accepts None); the
# functions that hold the GIL (dtype, itemsize, empty_like, check_writable, mark_written,
# for_each) raise TypeError for None.
# Rules for kernels: never hold the GIL in a loop (`with nogil:`), never assume contiguity
# (read sizes/strides, or ask is_contiguous for a fast path), check_writable before writing
# into an input and mark_written after, and never keep a pointer after the tensor is gone.
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport (DType, ScalarType, dtype_from_num, BOOL, UINT8, INT32,
                                     INT64, FLOAT32, FLOAT64, NUM_DTYPES)
from strided._C.core.tensor cimport Tensor
from strided._C.core.tensor cimport new_tensor as _new_tensor, data_of as _data_of
from strided._C.core.tensor cimport check_writable as _check_writable
from strided._C.core.tensor cimport mark_written as _mark_written
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, MAX_OPERANDS, loop_init,
                                       loop_set_operand, loop_prepare, loop_run_parallel)
from strided._C.core.threads cimport num_threads_for, get_max_threads
from strided._C.kernels.fastmath cimport expf_fast, tanhf_fast

cdef enum:
    API_VERSION = 1

# The row callback of for_each: n elements of one row; operand k's element i is at
# ptrs[k] + i * byte_strides[k].  It runs without the GIL, possibly on several threads at
# once (each on its own rows), and must not raise.
ctypedef void (*row_fn)(char** ptrs, const int64_t* byte_strides, int64_t n,
                        void* ctx) noexcept nogil


# ---------------------------------------------------------------- metadata (no GIL needed)

cdef inline int ndim(Tensor t) noexcept nogil:
    return t._ndim

cdef inline const int64_t* sizes(Tensor t) noexcept nogil:
    """ndim sizes, outermost first."""
    return t._sizes

cdef inline const int64_t* strides(Tensor t) noexcept nogil:
    """ndim strides in elements (not bytes); may be negative or 0."""
    return t._strides

cdef inline int64_t storage_offset(Tensor t) noexcept nogil:
    return t._offset

cdef inline int64_t numel(Tensor t) noexcept nogil:
    return t._numel

cdef inline bint is_contiguous(Tensor t) noexcept nogil:
    """Row-major strides (dims of size 1 ignored): the elements are data_ptr()[0:numel]."""
    return t._contiguous

cdef inline char* data_ptr(Tensor t) noexcept nogil:
    """The address of element [0, ..., 0]."""
    return _data_of(t)


# ------------------------------------------------------------------- dtype (GIL needed)

cdef inline int _not_none(Tensor t, str what) except -1:
    if t is None:
        raise TypeError(f"{what}: expected a Tensor, but got None")
    return 0

cdef inline int dtype(Tensor t) except -1:
    """The tensor's ScalarType (BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64)."""
    _not_none(t, "dtype")
    return t._dtype.num

cdef inline int itemsize(Tensor t) except -1:
    """Bytes per element."""
    _not_none(t, "itemsize")
    return t._dtype.itemsize


# ------------------------------------------------------------------------------ outputs

cdef inline Tensor empty(int n, const int64_t* size, int scalar_type):
    """A new contiguous tensor of the given sizes and ScalarType, uninitialised."""
    if scalar_type < 0 or scalar_type >= <int>NUM_DTYPES:
        raise ValueError(f"empty: unknown ScalarType {scalar_type}")
    return _new_tensor(n, size, dtype_from_num(scalar_type), False)

cdef inline Tensor zeros(int n, const int64_t* size, int scalar_type):
    """A new contiguous tensor of the given sizes and ScalarType, filled with zeros."""
    if scalar_type < 0 or scalar_type >= <int>NUM_DTYPES:
        raise ValueError(f"zeros: unknown ScalarType {scalar_type}")
    return _new_tensor(n, size, dtype_from_num(scalar_type), True)

cdef inline Tensor empty_like(Tensor t):
    """A new contiguous tensor with t's sizes and dtype, uninitialised."""
    _not_none(t, "empty_like")
    return _new_tensor(t._ndim, t._sizes, t._dtype, False)

cdef inline int check_writable(Tensor t) except -1:
    """Raise unless a kernel may write into t (writable memory, no self-overlap)."""
    _not_none(t, "check_writable")
    return _check_writable(t)

cdef inline int mark_written(Tensor t) except -1:
    """Bump the version counter of t's storage: call once after writing into t."""
    _not_none(t, "mark_written")
    _mark_written(t)
    return 0


# ---------------------------------------------------------------------------- iteration

cdef inline int for_each(tuple operands, row_fn fn, void* ctx, int64_t grain) except -1:
    """Run fn over every element of the tensors in `operands` (1 to MAX_OPERANDS, one
    shape; broadcast by expand() first), row by row, GIL released, split over the
    library's threads when the work is more than `grain` elements per thread (grain <= 0:
    one thread).  The order of the rows is unspecified.  The caller checks dtypes,
    calls check_writable on outputs before and mark_written after."""
    cdef StridedLoop loop
    cdef char* base[MAX_OPERANDS]
    cdef Tensor first, t
    cdef int nops = len(operands), k, d
    cdef bint same
    if nops < 1 or nops > MAX_OPERANDS:
        raise ValueError(f"for_each: expected 1 to {<int>MAX_OPERANDS} tensors, but got {nops}")
    for k in range(nops):
        if not isinstance(operands[k], Tensor):
            raise TypeError(f"for_each: operand {k} is {type(operands[k]).__name__}, "
                            f"not a Tensor")
    first = <Tensor>operands[0]
    for k in range(1, nops):
        t = <Tensor>operands[k]
        same = t._ndim == first._ndim
        for d in range(first._ndim if same else 0):
            same = same and t._sizes[d] == first._sizes[d]
        if not same:
            raise RuntimeError(f"for_each: operand {k} has shape {list(t.shape)}, but operand "
                               f"0 has shape {list(first.shape)} (expand it first)")
    if first._numel == 0:
        return 0
    loop_init(&loop, nops, first._ndim, first._sizes)
    for k in range(nops):
        t = <Tensor>operands[k]
        loop_set_operand(&loop, k, t._strides, t._dtype.itemsize)
        base[k] = _data_of(t)
    loop_prepare(&loop)
    if grain <= 0:
        grain = first._numel + 1
    with nogil:
        loop_run_parallel(&loop, base, fn, ctx, grain)
    return 0


# ------------------------------------------------------------------------------ threads

cdef inline int num_threads(int64_t work, int64_t grain) noexcept nogil:
    """Threads a kernel should use for `work` elements at >= `grain` per thread (>= 1)."""
    return num_threads_for(work, grain)

cdef inline int max_threads() noexcept nogil:
    """The library's thread count (strided.set_num_threads / get_num_threads)."""
    return get_max_threads()
