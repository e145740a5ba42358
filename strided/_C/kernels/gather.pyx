"""Gathers and scatters along one dim and the masked ops, on pointers, sizes and strides.

NOTE [ Gather and scatter walks ]
Order-free kernels (gather, masked_fill, the index check, count_nonzero) run on the strided
iterator (NOTE [ Strided iteration ]): dims reordered and merged, a flat inner loop, threads
above a grain size for gather and masked_fill.  The coordinate along `dim` comes from the
index, so the indexed operand's stride along dim is set to 0 in the loop and added per
element as index * dim_stride.  Kernels whose result depends on order -- scatter (the last
of duplicate indices wins; sums and products combine in one fixed order), masked_select,
masked_scatter and nonzero (row-major numbering) -- run on the same iterator prepared to keep
the tensor's row-major order (loop_prepare_ordered: unit dims dropped, chained dims merged,
none reordered), on one thread.  Nothing is assumed
contiguous; read operands may have zero or negative strides.
"""
from libc.stdint cimport int64_t, int32_t, uint8_t
from libc.string cimport memcpy

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.types cimport num_t
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, inner_loop_fn, loop_init,
                                       loop_set_operand, loop_prepare, loop_prepare_ordered,
                                       loop_run_range, loop_run_parallel, loop_numel)

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
    int itemsize


ctypedef fused word_t:          # elements are moved as words of their size
    uint8_t
    int32_t
    int64_t


cdef inline void _gather_span(word_t* tag, char** p, const int64_t* s, int64_t n,
                              int64_t ds) noexcept nogil:
    """Operands: 0 out, 1 index, 2 src (stride 0 along dim, `ds` bytes per index step)."""
    cdef int64_t j, k
    for j in range(n):
        k = (<const int64_t*>(p[1] + j * s[1]))[0]
        (<word_t*>(p[0] + j * s[0]))[0] = (<const word_t*>(p[2] + j * s[2] + k * ds))[0]


cdef void _gather_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef const DimCtx* c = <const DimCtx*>ctx
    if c.itemsize == 1:
        _gather_span(<uint8_t*>NULL, p, s, n, c.dim_stride)
    elif c.itemsize == 4:
        _gather_span(<int32_t*>NULL, p, s, n, c.dim_stride)
    else:
        _gather_span(<int64_t*>NULL, p, s, n, c.dim_stride)


cdef void gather_kernel(int ndim, const int64_t* sizes, char* out, const int64_t* out_strides,
                        const int64_t* index, const int64_t* index_strides,
                        const char* src, const int64_t* src_strides, int64_t src_dim_stride,
                        int itemsize) noexcept nogil:
    cdef StridedLoop L
    cdef DimCtx c
    cdef char* base[3]
    c.dim_stride, c.itemsize = src_dim_stride * itemsize, itemsize
    loop_init(&L, 3, ndim, sizes)
    loop_set_operand(&L, 0, out_strides, itemsize)
    loop_set_operand(&L, 1, index_strides, 8)
    loop_set_operand(&L, 2, src_strides, itemsize)
    loop_prepare(&L)
    base[0], base[1], base[2] = out, <char*>index, <char*>src
    loop_run_parallel(&L, base, _gather_row, &c, GRAIN)


cdef inline void _fill_span(word_t* tag, char** p, const int64_t* s, int64_t n,
                            const char* value) noexcept nogil:
    """Operands: 0 self, 1 mask."""
    cdef word_t v = (<const word_t*>value)[0]
    cdef int64_t j
    for j in range(n):
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            (<word_t*>(p[0] + j * s[0]))[0] = v


cdef void _fill_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef const DimCtx* c = <const DimCtx*>ctx
    if c.itemsize == 1:
        _fill_span(<uint8_t*>NULL, p, s, n, c.value)
    elif c.itemsize == 4:
        _fill_span(<int32_t*>NULL, p, s, n, c.value)
    else:
        _fill_span(<int64_t*>NULL, p, s, n, c.value)


cdef void masked_fill_kernel(int ndim, const int64_t* sizes, char* self,
                             const int64_t* self_strides, const uint8_t* mask,
                             const int64_t* mask_strides, const char* value,
                             int itemsize) noexcept nogil:
    cdef StridedLoop L
    cdef DimCtx c
    cdef char* base[2]
    c.value, c.itemsize = value, itemsize
    loop_init(&L, 2, ndim, sizes)
    loop_set_operand(&L, 0, self_strides, itemsize)
    loop_set_operand(&L, 1, mask_strides, 1)
    loop_prepare(&L)
    base[0], base[1] = self, <char*>mask
    loop_run_parallel(&L, base, _fill_row, &c, GRAIN)


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


# ---- row-major kernels: the iterator in the tensor's order -----------------------------------

cdef void _ordered_loop(StridedLoop* L, int ndim, const int64_t* sizes, int nops,
                        const int64_t** strides, const int* itemsizes) noexcept nogil:
    """A loop over `sizes` that keeps row-major order (loop_prepare_ordered)."""
    cdef int op
    loop_init(L, nops, ndim, sizes)
    for op in range(nops):
        loop_set_operand(L, op, strides[op], itemsizes[op])
    loop_prepare_ordered(L)


cdef struct ScatterCtx:
    int64_t dim_stride          # self's stride along dim, bytes
    int mode
    int dtype


cdef inline void _scatter_span(num_t* tag, char** p, const int64_t* s, int64_t n,
                               const ScatterCtx* c, bint as_bool) noexcept nogil:
    """Operands: 0 self (stride 0 along dim), 1 index, 2 src."""
    cdef int64_t j, k
    cdef num_t* d
    cdef num_t v
    cdef int mode = c.mode
    for j in range(n):
        k = (<const int64_t*>(p[1] + j * s[1]))[0]
        d = <num_t*>(p[0] + j * s[0] + k * c.dim_stride)
        v = (<const num_t*>(p[2] + j * s[2]))[0]
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


cdef void _scatter_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef const ScatterCtx* c = <const ScatterCtx*>ctx
    if c.dtype == FLOAT32:
        _scatter_span(<float*>NULL, p, s, n, c, False)
    elif c.dtype == FLOAT64:
        _scatter_span(<double*>NULL, p, s, n, c, False)
    elif c.dtype == INT64:
        _scatter_span(<int64_t*>NULL, p, s, n, c, False)
    elif c.dtype == INT32:
        _scatter_span(<int32_t*>NULL, p, s, n, c, False)
    else:
        _scatter_span(<uint8_t*>NULL, p, s, n, c, c.dtype == BOOL)


cdef void scatter_kernel(int ndim, const int64_t* sizes, char* self,
                         const int64_t* self_strides, int64_t self_dim_stride,
                         const int64_t* index, const int64_t* index_strides,
                         const char* src, const int64_t* src_strides, int dtype,
                         int mode) noexcept nogil:
    cdef StridedLoop L
    cdef ScatterCtx c
    cdef char* base[3]
    cdef const int64_t* strides[3]
    cdef int isz[3]
    cdef int itemsize = 1
    if dtype == INT32 or dtype == FLOAT32:
        itemsize = 4
    elif dtype == INT64 or dtype == FLOAT64:
        itemsize = 8
    base[0], base[1], base[2] = self, <char*>index, <char*>src
    strides[0], strides[1], strides[2] = self_strides, index_strides, src_strides
    isz[0], isz[1], isz[2] = itemsize, 8, itemsize
    _ordered_loop(&L, ndim, sizes, 3, strides, isz)
    c.dim_stride, c.mode, c.dtype = self_dim_stride * itemsize, mode, dtype
    loop_run_range(&L, base, _scatter_row, &c, 0, loop_numel(&L))


cdef struct MaskedCtx:
    char* flat                  # masked_select's out / masked_scatter's src, advancing
    int64_t limit               # elements left to move
    int itemsize


cdef void _masked_select_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    """Operands: 0 src, 1 mask."""
    cdef MaskedCtx* c = <MaskedCtx*>ctx
    cdef int64_t j
    for j in range(n):
        if c.limit == 0:
            return
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            memcpy(c.flat, p[0] + j * s[0], c.itemsize)
            c.flat += c.itemsize
            c.limit -= 1


cdef void _masked_scatter_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    """Operands: 0 self, 1 mask."""
    cdef MaskedCtx* c = <MaskedCtx*>ctx
    cdef int64_t j
    for j in range(n):
        if c.limit == 0:
            return
        if (<const uint8_t*>(p[1] + j * s[1]))[0]:
            memcpy(p[0] + j * s[0], c.flat, c.itemsize)
            c.flat += c.itemsize
            c.limit -= 1


cdef void _masked_walk(int ndim, const int64_t* sizes, char* data, const int64_t* data_strides,
                       const uint8_t* mask, const int64_t* mask_strides, char* flat,
                       int64_t limit, int itemsize, inner_loop_fn row) noexcept nogil:
    cdef StridedLoop L
    cdef MaskedCtx c
    cdef char* base[2]
    cdef const int64_t* strides[2]
    cdef int isz[2]
    base[0], base[1] = data, <char*>mask
    strides[0], strides[1] = data_strides, mask_strides
    isz[0], isz[1] = itemsize, 1
    _ordered_loop(&L, ndim, sizes, 2, strides, isz)
    c.flat, c.limit, c.itemsize = flat, limit, itemsize
    loop_run_range(&L, base, row, &c, 0, loop_numel(&L))


cdef void masked_select_kernel(int ndim, const int64_t* sizes, const char* src,
                               const int64_t* src_strides, const uint8_t* mask,
                               const int64_t* mask_strides, char* out, int64_t limit,
                               int itemsize) noexcept nogil:
    _masked_walk(ndim, sizes, <char*>src, src_strides, mask, mask_strides, out, limit,
                 itemsize, _masked_select_row)


cdef void masked_scatter_kernel(int ndim, const int64_t* sizes, char* self,
                                const int64_t* self_strides, const uint8_t* mask,
                                const int64_t* mask_strides, const char* src,
                                int64_t limit, int itemsize) noexcept nogil:
    _masked_walk(ndim, sizes, self, self_strides, mask, mask_strides, <char*>src, limit,
                 itemsize, _masked_scatter_row)


cdef struct NonzeroCtx:
    int64_t* out                # the next (ndim,) row of coordinates
    int64_t limit
    int ndim
    const int64_t* sizes
    int64_t idx[MAX_DIMS]       # coordinates of the element the row starts at


cdef void _nonzero_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    """Operand 0: the mask.  The rows arrive in row-major order, so each element's
    coordinates are the previous element's plus one in the last dim, carried into the
    others when it wraps (a row may span several dims)."""
    cdef NonzeroCtx* c = <NonzeroCtx*>ctx
    cdef int64_t j, limit = c.limit
    cdef int64_t* out = c.out
    cdef int d, nd = c.ndim, last = c.ndim - 1
    if nd == 0:                     # one element, no coordinates
        if limit > 0 and (<const uint8_t*>p[0])[0]:
            c.limit -= 1
        return
    cdef int64_t i = c.idx[last], size = c.sizes[last]
    for j in range(n):
        if (<const uint8_t*>(p[0] + j * s[0]))[0]:
            if limit == 0:
                break
            for d in range(last):
                out[d] = c.idx[d]
            out[last] = i
            out += nd
            limit -= 1
        i += 1
        if i == size:
            i = 0
            d = last - 1
            while d >= 0:
                c.idx[d] += 1
                if c.idx[d] < c.sizes[d]:
                    break
                c.idx[d] = 0
                d -= 1
    c.idx[last] = i
    c.out = out
    c.limit = limit


cdef void nonzero_kernel(int ndim, const int64_t* sizes, const uint8_t* mask,
                         const int64_t* mask_strides, int64_t* out,
                         int64_t limit) noexcept nogil:
    cdef StridedLoop L
    cdef NonzeroCtx c
    cdef char* base[1]
    cdef const int64_t* strides[1]
    cdef int isz[1]
    cdef int d
    base[0] = <char*>mask
    strides[0] = mask_strides
    isz[0] = 1
    _ordered_loop(&L, ndim, sizes, 1, strides, isz)
    c.out, c.limit, c.ndim, c.sizes = out, limit, ndim, sizes
    for d in range(ndim):
        c.idx[d] = 0
    loop_run_range(&L, base, _nonzero_row, &c, 0, loop_numel(&L))
