"""The strided copy kernel: any shape, any strides, any pair of dtypes.

Every copy in the library comes here: contiguous(), clone(), reshape()'s copy, .to(dtype),
copy_(src), fill_ (a zero-stride source) and element writes through __setitem__.
"""
cimport cython
from cython.parallel cimport prange
from libc.stdint cimport int64_t, int32_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.iterator cimport (StridedLoop, loop_init, loop_set_operand, loop_prepare,
                                  loop_rows, loop_run_rows)
from strided._C.core.threads cimport num_threads_for

cdef int _ITEMSIZE[6]
_ITEMSIZE[:] = [1, 1, 4, 8, 4, 8]

ctypedef fused dst_t:
    uint8_t
    int32_t
    int64_t
    float
    double

ctypedef fused src_t:
    uint8_t
    int32_t
    int64_t
    float
    double


cdef struct CopyCtx:
    int dst_type
    int src_type


cdef inline void _cast_row(dst_t* d, int64_t ds, const src_t* s, int64_t ss, int64_t n,
                           bint to_bool) noexcept nogil:
    """d[i*ds] = s[i*ss] for i < n (strides in elements); to_bool stores s != 0."""
    cdef int64_t i
    cdef src_t v
    if to_bool:
        for i in range(n):
            d[i * ds] = <dst_t>(s[i * ss] != 0)
    elif ds == 1 and ss == 1:
        for i in range(n):
            d[i] = <dst_t>s[i]
    elif ds == 1 and ss == 0:
        v = s[0]
        for i in range(n):
            d[i] = <dst_t>v
    elif ds == 1:                   # gathering into a contiguous row (e.g. a transpose)
        for i in range(n):
            d[i] = <dst_t>s[i * ss]
    else:
        for i in range(n):
            d[i * ds] = <dst_t>s[i * ss]


cdef inline void _row_from(dst_t* d, int64_t ds, const char* s, int64_t ss_bytes, int src_type,
                           int64_t n, bint to_bool) noexcept nogil:
    # bool and uint8 share a representation (one byte, 0 or 1 for bool)
    if src_type == BOOL or src_type == UINT8:
        _cast_row(d, ds, <const uint8_t*>s, ss_bytes, n, to_bool)
    elif src_type == INT32:
        _cast_row(d, ds, <const int32_t*>s, ss_bytes // 4, n, to_bool)
    elif src_type == INT64:
        _cast_row(d, ds, <const int64_t*>s, ss_bytes // 8, n, to_bool)
    elif src_type == FLOAT32:
        _cast_row(d, ds, <const float*>s, ss_bytes // 4, n, to_bool)
    else:
        _cast_row(d, ds, <const double*>s, ss_bytes // 8, n, to_bool)


cdef void _copy_row(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil:
    cdef CopyCtx* c = <CopyCtx*>ctx
    cdef int dt = c.dst_type, st = c.src_type
    cdef int64_t ds = strides[0], ss = strides[1]
    if dt == st and ds == _ITEMSIZE[dt] and ss == ds:
        memcpy(ptrs[0], ptrs[1], n * ds)
    elif dt == BOOL or dt == UINT8:
        _row_from(<uint8_t*>ptrs[0], ds, ptrs[1], ss, st, n, dt == BOOL and st != BOOL)
    elif dt == INT32:
        _row_from(<int32_t*>ptrs[0], ds // 4, ptrs[1], ss, st, n, False)
    elif dt == INT64:
        _row_from(<int64_t*>ptrs[0], ds // 8, ptrs[1], ss, st, n, False)
    elif dt == FLOAT32:
        _row_from(<float*>ptrs[0], ds // 4, ptrs[1], ss, st, n, False)
    else:
        _row_from(<double*>ptrs[0], ds // 8, ptrs[1], ss, st, n, False)


cdef enum:
    GRAIN = 32768     # elements per thread below which threads cost more than they save
    TILE = 16         # tile edge for copies whose two operands disagree on the fastest dim
    TILE_MIN_BYTES = 1 << 20


cdef inline int64_t _iabs(int64_t x) noexcept nogil:
    return -x if x < 0 else x


cdef bint _wants_tiles(const StridedLoop* L, int64_t nbytes) noexcept nogil:
    """True when dst walks dim 0 fastest but src walks dim 1 fastest (a transpose-like
    copy) and the data outgrows the L2 cache: a plain row loop would then fetch a new src
    cache line for every element.  Smaller copies run faster as plain rows.  A src that
    does not move along dim 1 (stride 0: a row broadcast down the rows, as the bias a
    linear layer's output starts from) is no transpose: its one row stays in cache, and
    plain rows copy it 3-6x faster than staged blocks (benchmarks/bench_views.py's
    "expanded row, contiguous", float32 2048 x 2048 on 2 threads of the AVX-512 Xeon:
    2.71 -> 0.46 ms, NumPy 0.78-1.08 ms; a (4096, 1536) output from its bias on one
    thread: 5.1 -> 1.5 ms)."""
    return (2 <= L.ndim <= 3 and L.sizes[0] >= TILE and L.sizes[1] >= TILE and
            nbytes >= TILE_MIN_BYTES and L.strides[1][1] != 0 and
            _iabs(L.strides[1][1]) < _iabs(L.strides[0][1]))


ctypedef fused word_t:
    uint8_t
    uint32_t
    uint64_t


cdef enum:
    BLOCK = 32        # edge of the staged blocks in same-dtype transpose-like copies


cdef inline void _stage_block(word_t* d, int64_t d0, int64_t d1, const word_t* s, int64_t s0,
                              int64_t s1, int64_t n0, int64_t n1) noexcept nogil:
    """d[i*d0 + j*d1] = s[i*s0 + j*s1] for i < n0, j < n1 (strides in elements), staged
    through an L1-resident buffer: src is read along j and dst written along i, each in
    whole cache lines, whatever power-of-two strides would make the lines collide."""
    cdef word_t buf[BLOCK * BLOCK]
    cdef int64_t i, j
    if s1 == 1 and d0 == 1:         # the usual case (contiguous() of a transpose): unit strides
        for i in range(n0):
            for j in range(n1):
                buf[j * BLOCK + i] = s[i * s0 + j]
        for j in range(n1):
            for i in range(n0):
                d[i + j * d1] = buf[j * BLOCK + i]
        return
    for i in range(n0):
        for j in range(n1):
            buf[j * BLOCK + i] = s[i * s0 + j * s1]
    for j in range(n1):
        for i in range(n0):
            d[i * d0 + j * d1] = buf[j * BLOCK + i]


cdef void _copy_blocks_same(const StridedLoop* L, char* dst, const char* src, int itemsize,
                            int64_t block_begin, int64_t block_end) noexcept nogil:
    """Same-dtype transpose-like copy: a bitwise copy, so only the element size matters."""
    cdef int64_t n0 = L.sizes[0], n1 = L.sizes[1]
    cdef int64_t b0 = (n0 + BLOCK - 1) // BLOCK, b1 = (n1 + BLOCK - 1) // BLOCK
    cdef int64_t blk, i0, j0, b
    cdef char* d
    cdef char* s
    for blk in range(block_begin, block_end):
        i0 = (blk % b0) * BLOCK
        j0 = ((blk // b0) % b1) * BLOCK
        b = blk // (b0 * b1)
        d = dst + i0 * L.strides[0][0] + j0 * L.strides[1][0]
        s = <char*>src + i0 * L.strides[0][1] + j0 * L.strides[1][1]
        if L.ndim == 3:
            d += b * L.strides[2][0]
            s += b * L.strides[2][1]
        if itemsize == 4:
            _stage_block(<uint32_t*>d, L.strides[0][0] // 4, L.strides[1][0] // 4,
                         <uint32_t*>s, L.strides[0][1] // 4, L.strides[1][1] // 4,
                         min(BLOCK, n0 - i0), min(BLOCK, n1 - j0))
        elif itemsize == 8:
            _stage_block(<uint64_t*>d, L.strides[0][0] // 8, L.strides[1][0] // 8,
                         <uint64_t*>s, L.strides[0][1] // 8, L.strides[1][1] // 8,
                         min(BLOCK, n0 - i0), min(BLOCK, n1 - j0))
        else:
            _stage_block(<uint8_t*>d, L.strides[0][0], L.strides[1][0],
                         <uint8_t*>s, L.strides[0][1], L.strides[1][1],
                         min(BLOCK, n0 - i0), min(BLOCK, n1 - j0))


cdef void _copy_tiles(const StridedLoop* L, char* dst, const char* src, CopyCtx* ctx,
                      int64_t tile_begin, int64_t tile_end) noexcept nogil:
    """Copy TILE x TILE blocks (dims 0 and 1) with flat index in [tile_begin, tile_end) of the
    (batch, dim-1 tile, dim-0 tile) grid, so each block's src lines stay in L1."""
    cdef char* ptrs[2]
    cdef int64_t n0 = L.sizes[0], n1 = L.sizes[1]
    cdef int64_t t0 = (n0 + TILE - 1) // TILE, t1 = (n1 + TILE - 1) // TILE
    cdef int64_t tile, b, i0, j0, j, len0
    for tile in range(tile_begin, tile_end):
        i0 = (tile % t0) * TILE
        j0 = ((tile // t0) % t1) * TILE
        b = tile // (t0 * t1)
        len0 = min(TILE, n0 - i0)
        for j in range(j0, min(j0 + TILE, n1)):
            ptrs[0] = dst + i0 * L.strides[0][0] + j * L.strides[1][0]
            ptrs[1] = <char*>src + i0 * L.strides[0][1] + j * L.strides[1][1]
            if L.ndim == 3:
                ptrs[0] += b * L.strides[2][0]
                ptrs[1] += b * L.strides[2][1]
            _copy_row(ptrs, &L.strides[0][0], len0, ctx)


cdef void copy_strided(int ndim, const int64_t* sizes,
                       char* dst, const int64_t* dst_strides, int dst_type,
                       const char* src, const int64_t* src_strides, int src_type) noexcept nogil:
    cdef StridedLoop L
    cdef CopyCtx ctx
    cdef char* base[2]
    cdef int64_t rows, n, chunk, t, b, e, tiles
    cdef int nthreads
    cdef bint tiled
    ctx.dst_type = dst_type
    ctx.src_type = src_type
    loop_init(&L, 2, ndim, sizes)
    loop_set_operand(&L, 0, dst_strides, _ITEMSIZE[dst_type])
    loop_set_operand(&L, 1, src_strides, _ITEMSIZE[src_type])
    loop_prepare(&L)
    rows = loop_rows(&L)
    if rows == 0:
        return
    base[0] = dst
    base[1] = <char*>src
    n = rows * L.sizes[0]
    nthreads = num_threads_for(n, GRAIN)
    tiled = _wants_tiles(&L, n * _ITEMSIZE[src_type])
    if tiled and dst_type == src_type:
        tiles = ((L.sizes[0] + BLOCK - 1) // BLOCK) * ((L.sizes[1] + BLOCK - 1) // BLOCK)
        if L.ndim == 3:
            tiles *= L.sizes[2]
        if nthreads <= 1:
            _copy_blocks_same(&L, dst, src, _ITEMSIZE[dst_type], 0, tiles)
        else:
            chunk = (tiles + nthreads - 1) // nthreads
            for t in prange(nthreads, num_threads=nthreads, schedule="static"):
                _copy_blocks_same(&L, dst, src, _ITEMSIZE[dst_type], t * chunk,
                                  min(tiles, (t + 1) * chunk))
    elif tiled:
        tiles = ((L.sizes[0] + TILE - 1) // TILE) * ((L.sizes[1] + TILE - 1) // TILE)
        if L.ndim == 3:
            tiles *= L.sizes[2]
        if nthreads <= 1:
            _copy_tiles(&L, dst, src, &ctx, 0, tiles)
        else:
            chunk = (tiles + nthreads - 1) // nthreads
            for t in prange(nthreads, num_threads=nthreads, schedule="static"):
                _copy_tiles(&L, dst, src, &ctx, t * chunk, min(tiles, (t + 1) * chunk))
    elif nthreads <= 1:
        loop_run_rows(&L, base, _copy_row, &ctx, 0, rows)
    elif rows == 1:
        # one flat row: split it into per-thread pieces
        chunk = (n + nthreads - 1) // nthreads
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            _copy_piece(&L, dst, src, &ctx, t * chunk, min(n, (t + 1) * chunk))
    else:
        chunk = (rows + nthreads - 1) // nthreads
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            b = t * chunk
            e = min(rows, b + chunk)
            loop_run_rows(&L, base, _copy_row, &ctx, b, e)


cdef void _copy_piece(const StridedLoop* L, char* dst, const char* src, CopyCtx* ctx,
                      int64_t begin, int64_t end) noexcept nogil:
    cdef char* ptrs[2]
    if begin >= end:
        return
    ptrs[0] = dst + begin * L.strides[0][0]
    ptrs[1] = <char*>src + begin * L.strides[0][1]
    _copy_row(ptrs, &L.strides[0][0], end - begin, ctx)
