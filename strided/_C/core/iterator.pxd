# The strided iterator: one N-d loop nest shared by copy, element-wise ops and reductions.
#
# NOTE [ Strided iteration ]
# A loop over `nops` operands that share one shape (broadcast dims carry stride 0) is
# prepared once:
#   1. dims of size 1 are dropped (they never move a pointer);
#   2. dims are sorted so dim 0 is the innermost: the one with the smallest |stride| of
#      operand 0 (the output), ties broken by the next operands, as TensorIterator does;
#   3. neighbouring dims whose strides chain for every operand
#      (size[i] * stride[op][i] == stride[op][i+1]) are merged into one.
# A contiguous or coalescible operand set becomes a single flat loop.  The kernel then
# receives rows: `inner(ptrs, inner_strides, n, ctx)` walks n elements of dim 0, and
# loop_run_rows() steps the pointers over the outer dims like an odometer.
from libc.stdint cimport int64_t

cdef enum:
    MAX_DIMS = 64
    MAX_OPERANDS = 5     # the fused amsgrad update: param, grad and three state tensors

cdef struct StridedLoop:
    int ndim                                  # after preparation; >= 1
    int nops
    bint empty                                # some size is 0: nothing to do
    int64_t sizes[MAX_DIMS]                   # sizes[0] is the innermost dim once prepared
    int64_t strides[MAX_DIMS][MAX_OPERANDS]   # byte strides, strides[dim][op]

ctypedef void (*inner_loop_fn)(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil

# sizes/strides in tensor order (outermost first); strides in elements of `itemsize` bytes.
cdef void loop_init(StridedLoop* L, int nops, int ndim, const int64_t* sizes) noexcept nogil
cdef void loop_set_operand(StridedLoop* L, int op, const int64_t* strides, int64_t itemsize) noexcept nogil
cdef void loop_prepare(StridedLoop* L) noexcept nogil
# Steps 1 and 3 only: the loop visits the elements in row-major order of the tensor (for
# kernels whose result depends on the order: scatter, masked_select, nonzero, ...).
cdef void loop_prepare_ordered(StridedLoop* L) noexcept nogil
cdef int64_t loop_rows(const StridedLoop* L) noexcept nogil
cdef void loop_run_rows(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                        int64_t row_begin, int64_t row_end) noexcept nogil
# Call fn on the flat elements [begin, end) of the prepared loop (row-major, dim 0 fastest),
# a piece of a row at a time: the unit threads split work by.
cdef void loop_run_range(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                         int64_t begin, int64_t end) noexcept nogil
# The whole loop, split into equal element ranges over num_threads_for(numel, grain)
# threads (OpenMP when built with it).
cdef void loop_run_parallel(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                            int64_t grain) noexcept nogil
cdef int64_t loop_numel(const StridedLoop* L) noexcept nogil
