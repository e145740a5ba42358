"""Gathers and scatters along one dim and the masked ops, on pointers, sizes and strides.

NOTE [ Gather and scatter walks ]
Order-free kernels (gather, masked_fill, the index check, count_nonzero) run on the strided
iterator (NOTE [ Strided iteration ]): dims reordered and merged, a flat inner loop, threads
above a grain size for gather and masked_fill.  The coordinate along `dim` comes from the
index, so the indexed operand's stride along dim is set to 0 in the loop and added per
element as index * dim_stride.  Kernels whose result depends on order -- scatter (the last
of duplicate indices wins; sums and products combine in one fixed order), masked_select,
masked_scatter and nonzero (row-major numbering) -- walk the shape row-major with an
odometer over the outer dims and a flat innermost loop, on one thread.  Nothing is assumed
contiguous; read operands may have zero or negative strides.
"""
from libc.stdint cimport int64_t, int32_t, uint8_t
from libc.string cimport memcpy

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.types cimport num_t
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, loop_init, loop_set_operand,
                                       loop_prepare, loop_run_range, loop_run_parallel,
                                       loop_numel)

cdef enum:
    GRAIN = 1 << 15


# ---- order-free kernels on the strided iterator ----------------------------------------------

cdef struct CheckCtx:
    int64_t size
    int64_t bad
    bint found


cdef void _check_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef CheckCtx* c = <CheckCtx*>ctx
    cdef int64_t j, v
    if c.found:
        return
    for j in range(n):
        v = (<const int64_t*>(p[0] + j * s[0]))[0]
        if v < 0 or v >= c.size:
            c.found = True
            c.bad = v
            return


cdef bint index_out_of_range(int ndim, const int64_t* sizes, const int64_t* index,
                             const int64_t* index_strides, int64_t size,
                             int64_t* bad) noexcept nogil:
    cdef StridedLoop L
    cdef CheckCtx c
    cdef char* base[1]
    c.size, c.bad, c.found = size, 0, False
    loop_init(&L, 1, ndim, sizes)
    loop_set_operand(&L, 0, index_strides, 8)
    loop_prepare(&L)
    base[0] = <char*>index
    loop_run_range(&L, base, _check_row, &c, 0, loop_numel(&L))
    bad[0] = c.bad
    return c.found


cdef struct DimCtx:
    int64_t dim_stride          # bytes
    const char* value           # masked_fill's value


cdef void _gather_row1(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t ds = (<DimCtx*>ctx).dim_stride, j, k
    for j in range(n):
        k = (<const int64_t*>(p[1] + j * s[1]))[0]
        (<uint8_t*>(p[0] + j * s[0]))[0] = (<const uint8_t*>(p[2] + j * s[2] + k * ds))[0]


cdef void _gather_row4(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t ds = (<DimCtx*>ctx).dim_stride, j, k
    for j in range(n):
        k = (<const int64_t*>(p[1] + j * s[1]))[0]
        (<int32_t*>(p[0] + j * s[0]))[0] = (<const int32_t*>(p[2] + j * s[2] + k * ds))[0]


cdef void _gather_row8(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t ds = (<DimCtx*>ctx).dim_stride, j, k
    for j in range(n):
        k = (<const int64_t*>(p[1] + j * s[1]))[0]
        (<int64_t*>(p[0] + j * s[0]))[0] = (<const int64_t*>(p[2] + j * s[2] + k * ds))[0]


cdef void gather_kernel(int ndim, const int64_t* sizes, char* out, const int64_t* out_strides,
                        const int64_t* index, const int64_t* index_strides,
                        const char* src, const int64_t* src_strides, int64_t src_dim_stride,
                        int itemsize) noexcept nogil:
    cdef StridedLoop L
    cdef DimCtx c
    cdef char* base[3]
    c.dim_stride = src_dim_stride * itemsize
    loop_init(&L, 3, ndim, sizes)
    loop_set_operand(&L, 0, out_strides, itemsize)
    loop_set_operand(&L, 1, index_strides, 8)
    loop_set_operand(&L, 2, src_strides, itemsize)
    loop_prepare(&L)
    base[0], base[1], base[2] = out, <char*>index, <char*>src
    if itemsize == 1:
        loop_run_parallel(&L, base, _gather_row1, &c, GRAIN)
    elif itemsize == 4:
        loop_run_parallel(&L, base, _gather_row4, &c, GRAIN)
    else:
        loop_run_parallel(&L, base, _gather_row8, &c, GRAIN)


cdef void _fill_row1(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef uint8_t v = (<const uint8_t*>(<DimCtx*>ctx).value)[0]
    cdef int64_t j
    for j in range(n):
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            (<uint8_t*>(p[0] + j * s[0]))[0] = v


cdef void _fill_row4(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int32_t v = (<const int32_t*>(<DimCtx*>ctx).value)[0]
    cdef int64_t j
    for j in range(n):
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            (<int32_t*>(p[0] + j * s[0]))[0] = v


cdef void _fill_row8(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t v = (<const int64_t*>(<DimCtx*>ctx).value)[0]
    cdef int64_t j
    for j in range(n):
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            (<int64_t*>(p[0] + j * s[0]))[0] = v


cdef void masked_fill_kernel(int ndim, const int64_t* sizes, char* self,
                             const int64_t* self_strides, const uint8_t* mask,
                             const int64_t* mask_strides, const char* value,
                             int itemsize) noexcept nogil:
    cdef StridedLoop L
    cdef DimCtx c
    cdef char* base[2]
    c.value = value
    loop_init(&L, 2, ndim, sizes)
    loop_set_operand(&L, 0, self_strides, itemsize)
    loop_set_operand(&L, 1, mask_strides, 1)
    loop_prepare(&L)
    base[0], base[1] = self, <char*>mask
    if itemsize == 1:
        loop_run_parallel(&L, base, _fill_row1, &c, GRAIN)
    elif itemsize == 4:
        loop_run_parallel(&L, base, _fill_row4, &c, GRAIN)
    else:
        loop_run_parallel(&L, base, _fill_row8, &c, GRAIN)


cdef void _count_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t j, c = 0
    for j in range(n):
        c += (<const uint8_t*>(p[0] + j * s[0]))[0] != 0
    (<int64_t*>ctx)[0] += c


cdef int64_t count_nonzero(int ndim, const int64_t* sizes, const uint8_t* mask,
                           const int64_t* mask_strides) noexcept nogil:
    cdef StridedLoop L
    cdef int64_t count = 0
    cdef char* base[1]
    loop_init(&L, 1, ndim, sizes)
    loop_set_operand(&L, 0, mask_strides, 1)
    loop_prepare(&L)
    base[0] = <char*>mask
    loop_run_range(&L, base, _count_row, &count, 0, loop_numel(&L))
    return count


# ---- row-major walks -------------------------------------------------------------------------

cdef struct Walk:
    # a row-major odometer over ndim dims (>= 1) for up to three operands
    int ndim
    int64_t sizes[MAX_DIMS]
    int64_t idx[MAX_DIMS]
    int64_t strides[3][MAX_DIMS]   # bytes
    char* p[3]


cdef bint _walk_init(Walk* W, int ndim, const int64_t* sizes, int nops,
                     char** ptrs, const int64_t** strides, const int* itemsizes) noexcept nogil:
    """False when the shape is empty.  A 0-d shape walks one element."""
    cdef int d, op
    W.ndim = ndim if ndim > 0 else 1
    for d in range(W.ndim):
        W.sizes[d] = sizes[d] if ndim > 0 else 1
        W.idx[d] = 0
        if W.sizes[d] == 0:
            return False
        for op in range(nops):
            W.strides[op][d] = (strides[op][d] if ndim > 0 else 0) * itemsizes[op]
    for op in range(nops):
        W.p[op] = ptrs[op]
    return True


cdef bint _walk_next_row(Walk* W, int nops) noexcept nogil:
    """Advance the outer dims (all but the last) by one; False when done."""
    cdef int d = W.ndim - 2, op
    while d >= 0:
        W.idx[d] += 1
        for op in range(nops):
            W.p[op] += W.strides[op][d]
        if W.idx[d] < W.sizes[d]:
            return True
        for op in range(nops):
            W.p[op] -= W.strides[op][d] * W.sizes[d]
        W.idx[d] = 0
        d -= 1
    return False




cdef inline void _scatter_rows(Walk* W, num_t* tag, int64_t ds, int mode,
                               bint as_bool) noexcept nogil:
    """W's operands: 0 self (dim stride 0), 1 index, 2 src."""
    cdef int64_t n = W.sizes[W.ndim - 1], j, k
    cdef int64_t s0 = W.strides[0][W.ndim - 1], s1 = W.strides[1][W.ndim - 1]
    cdef int64_t s2 = W.strides[2][W.ndim - 1]
    cdef num_t* d
    cdef num_t v
    while True:
        for j in range(n):
            k = (<const int64_t*>(W.p[1] + j * s1))[0]
            d = <num_t*>(W.p[0] + j * s0 + k * ds)
            v = (<const num_t*>(W.p[2] + j * s2))[0]
            if mode == SCATTER_SET:
                d[0] = v
            elif mode == SCATTER_ADD:
                if as_bool:
                    d[0] = (d[0] != 0) | (v != 0)
                else:
                    d[0] = d[0] + v
            elif mode == SCATTER_MUL:
                if as_bool:
                    d[0] = (d[0] != 0) & (v != 0)
                else:
                    d[0] = d[0] * v
            elif mode == SCATTER_AMAX:
                if v > d[0] or v != v:
                    d[0] = v
            else:
                if v < d[0] or v != v:
                    d[0] = v
        if not _walk_next_row(W, 3):
            return


cdef void scatter_kernel(int ndim, const int64_t* sizes, char* self,
                         const int64_t* self_strides, int64_t self_dim_stride,
                         const int64_t* index, const int64_t* index_strides,
                         const char* src, const int64_t* src_strides, int dtype,
                         int mode) noexcept nogil:
    cdef Walk W
    cdef char* ptrs[3]
    cdef const int64_t* strides[3]
    cdef int isz[3]
    cdef int itemsize = 1
    if dtype == INT32 or dtype == FLOAT32:
        itemsize = 4
    elif dtype == INT64 or dtype == FLOAT64:
        itemsize = 8
    ptrs[0], ptrs[1], ptrs[2] = self, <char*>index, <char*>src
    strides[0], strides[1], strides[2] = self_strides, index_strides, src_strides
    isz[0], isz[1], isz[2] = itemsize, 8, itemsize
    if not _walk_init(&W, ndim, sizes, 3, ptrs, strides, isz):
        return
    cdef int64_t ds = self_dim_stride * itemsize
    if dtype == FLOAT32:
        _scatter_rows(&W, <float*>NULL, ds, mode, False)
    elif dtype == FLOAT64:
        _scatter_rows(&W, <double*>NULL, ds, mode, False)
    elif dtype == INT64:
        _scatter_rows(&W, <int64_t*>NULL, ds, mode, False)
    elif dtype == INT32:
        _scatter_rows(&W, <int32_t*>NULL, ds, mode, False)
    else:
        _scatter_rows(&W, <uint8_t*>NULL, ds, mode, dtype == BOOL)


cdef void masked_select_kernel(int ndim, const int64_t* sizes, const char* src,
                               const int64_t* src_strides, const uint8_t* mask,
                               const int64_t* mask_strides, char* out, int64_t limit,
                               int itemsize) noexcept nogil:
    cdef Walk W
    cdef char* ptrs[2]
    cdef const int64_t* strides[2]
    cdef int isz[2]
    ptrs[0], ptrs[1] = <char*>src, <char*>mask
    strides[0], strides[1] = src_strides, mask_strides
    isz[0], isz[1] = itemsize, 1
    if not _walk_init(&W, ndim, sizes, 2, ptrs, strides, isz):
        return
    cdef int64_t n = W.sizes[W.ndim - 1], j
    cdef int64_t s0 = W.strides[0][W.ndim - 1], s1 = W.strides[1][W.ndim - 1]
    while True:
        for j in range(n):
            if (<const uint8_t*>(W.p[1] + j * s1))[0]:
                if limit == 0:
                    return
                memcpy(out, W.p[0] + j * s0, itemsize)
                out += itemsize
                limit -= 1
        if not _walk_next_row(&W, 2):
            return


cdef void masked_scatter_kernel(int ndim, const int64_t* sizes, char* self,
                                const int64_t* self_strides, const uint8_t* mask,
                                const int64_t* mask_strides, const char* src,
                                int64_t limit, int itemsize) noexcept nogil:
    cdef Walk W
    cdef char* ptrs[2]
    cdef const int64_t* strides[2]
    cdef int isz[2]
    ptrs[0], ptrs[1] = self, <char*>mask
    strides[0], strides[1] = self_strides, mask_strides
    isz[0], isz[1] = itemsize, 1
    if not _walk_init(&W, ndim, sizes, 2, ptrs, strides, isz):
        return
    cdef int64_t n = W.sizes[W.ndim - 1], j
    cdef int64_t s0 = W.strides[0][W.ndim - 1], s1 = W.strides[1][W.ndim - 1]
    while True:
        for j in range(n):
            if (<const uint8_t*>(W.p[1] + j * s1))[0]:
                if limit == 0:
                    return
                memcpy(W.p[0] + j * s0, src, itemsize)
                src += itemsize
                limit -= 1
        if not _walk_next_row(&W, 2):
            return


cdef void nonzero_kernel(int ndim, const int64_t* sizes, const uint8_t* mask,
                         const int64_t* mask_strides, int64_t* out,
                         int64_t limit) noexcept nogil:
    cdef Walk W
    cdef char* ptrs[1]
    cdef const int64_t* strides[1]
    cdef int isz[1]
    ptrs[0] = <char*>mask
    strides[0] = mask_strides
    isz[0] = 1
    if not _walk_init(&W, ndim, sizes, 1, ptrs, strides, isz):
        return
    cdef int64_t n = W.sizes[W.ndim - 1], j, s0 = W.strides[0][W.ndim - 1]
    cdef int d
    while True:
        for j in range(n):
            if (<const uint8_t*>(W.p[0] + j * s0))[0]:
                if limit == 0:
                    return
                limit -= 1
                for d in range(ndim - 1):
                    out[d] = W.idx[d]
                if ndim > 0:
                    out[ndim - 1] = j
                out += ndim
        if not _walk_next_row(&W, 1):
            return
