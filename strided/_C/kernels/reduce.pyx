"""Reduction and per-lane scan kernels (contracts in reduce.pxd); the row kernels are in
reduce_rows.pxi, built for the baseline ISA here and for AVX2 + FMA in reduce_avx2."""
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython.parallel cimport prange
from libc.string cimport memcpy

from strided._C.core.iterator cimport (StridedLoop, MAX_OPERANDS, loop_numel, loop_run_range,
                                  loop_run_parallel)
from strided._C.core.threads cimport num_threads_for

include "reduce_rows.pxi"

cdef enum:
    GRAIN = 32768
    MAX_CHUNKS = 16                     # private accumulators of a chunked reduction
    CHUNK_BUDGET = 64 * 1024 * 1024     # bytes of private accumulators at most

cdef int _ITEMSIZE[6]
_ITEMSIZE[:] = [1, 1, 4, 8, 4, 8]

cdef ReduceKernels _kernels
_kernels.reduce = _reduce_rows
_kernels.lanes = _lane_rows


_isa = "baseline"


def _select_kernels():
    """Take the reduce_avx2 or reduce_avx512 row kernels when elementwise runs that
    build (NOTE [ Kernel dispatch ])."""
    global _kernels, _isa
    from strided._C.kernels.elementwise import isa_row_kernels
    capsule, _isa = isa_row_kernels("reduce")
    if capsule is not None:
        _kernels = (<ReduceKernels*>PyCapsule_GetPointer(capsule, b"strided.ReduceKernels"))[0]


_select_kernels()


def kernel_isa():
    """Which build of the reduction row kernels runs: "avx512", "avx2" or "baseline"."""
    return _isa


cdef void _merge_into(int op, int acc_type, char* dst, const char* src, int64_t count) noexcept nogil:
    """dst[j] = combine(dst[j], src[j]) for j < count."""
    cdef int64_t j
    if acc_type == FLOAT64:
        for j in range(count):
            (<double*>dst)[j] = _combine(op, (<double*>dst)[j], (<double*>src)[j])
    elif acc_type == FLOAT32:
        for j in range(count):
            (<float*>dst)[j] = _combine(op, (<float*>dst)[j], (<float*>src)[j])
    elif acc_type == INT64:
        for j in range(count):
            (<int64_t*>dst)[j] = _combine(op, (<int64_t*>dst)[j], (<int64_t*>src)[j])
    elif acc_type == INT32:
        for j in range(count):
            (<int32_t*>dst)[j] = _combine(op, (<int32_t*>dst)[j], (<int32_t*>src)[j])
    else:
        for j in range(count):
            (<uint8_t*>dst)[j] = _combine(op, (<uint8_t*>dst)[j], (<uint8_t*>src)[j])


cdef int run_reduce(int op, int in_type, int acc_type, StridedLoop* L, char* in_ptr,
                    char* acc_base, int64_t acc_numel) noexcept nogil:
    # NOTE [ Deterministic reductions ]
    # The answer must not depend on the thread count.  When the outermost loop dim is kept,
    # every output is reduced by one thread in loop order, however the slices are dealt
    # out.  Otherwise the elements are cut into a number of chunks that depends only on the
    # sizes, each chunk folds into its own copy of the accumulator, and the copies are
    # merged in chunk order; threads just take chunks.
    cdef ReduceCtx ctx
    cdef char* base[2]
    cdef int64_t n = loop_numel(L), block, chunk, t, nchunks
    cdef int64_t acc_bytes = acc_numel * _ITEMSIZE[acc_type]
    cdef int nthreads = num_threads_for(n, GRAIN)
    cdef int top = L.ndim - 1
    cdef char* private
    ctx.op = op
    ctx.in_type = in_type
    ctx.acc_type = acc_type
    base[0] = in_ptr
    base[1] = acc_base
    if n == 0:
        return 0
    if top > 0 and L.strides[top][1] != 0:
        # the outermost dim is kept: threads take whole slices of it, outputs are disjoint
        if nthreads <= 1 or L.sizes[top] < 2:
            loop_run_range(L, base, _kernels.reduce, &ctx, 0, n)
            return 0
        if nthreads > L.sizes[top]:
            nthreads = <int>L.sizes[top]
        block = n // L.sizes[top]
        chunk = (L.sizes[top] + nthreads - 1) // nthreads * block
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            loop_run_range(L, base, _kernels.reduce, &ctx, t * chunk, min(n, (t + 1) * chunk))
        return 0
    nchunks = min(n // GRAIN, <int64_t>MAX_CHUNKS)
    if acc_bytes > 0:
        nchunks = min(nchunks, max(1, CHUNK_BUDGET // acc_bytes))
    if nchunks <= 1:
        loop_run_range(L, base, _kernels.reduce, &ctx, 0, n)
        return 0
    private = <char*>malloc((nchunks - 1) * acc_bytes)
    if private == NULL:
        return -1
    for t in range(nchunks - 1):
        memcpy(private + t * acc_bytes, acc_base, acc_bytes)     # the identity, as filled
    chunk = ((n + nchunks - 1) // nchunks + 63) // 64 * 64
    if nthreads <= 1:
        for t in range(nchunks):
            _run_private(L, in_ptr, acc_base if t == 0 else private + (t - 1) * acc_bytes,
                         &ctx, t * chunk, min(n, (t + 1) * chunk))
    else:
        for t in prange(nchunks, num_threads=nthreads, schedule="static"):
            _run_private(L, in_ptr, acc_base if t == 0 else private + (t - 1) * acc_bytes,
                         &ctx, t * chunk, min(n, (t + 1) * chunk))
    for t in range(nchunks - 1):
        _merge_into(op, acc_type, acc_base, private + t * acc_bytes, acc_numel)
    free(private)
    return 0


cdef void _run_private(StridedLoop* L, char* in_ptr, char* acc, ReduceCtx* ctx,
                       int64_t begin, int64_t end) noexcept nogil:
    cdef char* base[2]
    base[0] = in_ptr
    base[1] = acc
    loop_run_range(L, base, _kernels.reduce, ctx, begin, end)


# ---- per-lane scans --------------------------------------------------------------------------


cdef void run_lanes(int op, int dtype, StridedLoop* L, char** ptrs, int64_t length,
                    int64_t in_stride, int64_t out_stride) noexcept nogil:
    cdef LaneCtx c
    c.op = op
    c.dtype = dtype
    c.length = length
    c.in_stride = in_stride
    c.out_stride = out_stride
    if length <= 0:
        return
    loop_run_parallel(L, ptrs, _kernels.lanes, &c, max(1, GRAIN // length))
