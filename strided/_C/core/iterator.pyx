"""The strided iterator (see NOTE [ Strided iteration ] in iterator.pxd)."""
from cython.parallel cimport prange
from libc.stdint cimport int64_t

from strided._C.core.threads cimport num_threads_for


cdef void loop_init(StridedLoop* L, int nops, int ndim, const int64_t* sizes) noexcept nogil:
    # Stored innermost-first: tensor dim ndim-1 becomes loop dim 0.
    cdef int d
    L.nops = nops
    L.ndim = ndim
    L.empty = False
    for d in range(ndim):
        L.sizes[d] = sizes[ndim - 1 - d]
        if sizes[ndim - 1 - d] == 0:
            L.empty = True


cdef void loop_set_operand(StridedLoop* L, int op, const int64_t* strides, int64_t itemsize) noexcept nogil:
    cdef int d
    for d in range(L.ndim):
        L.strides[d][op] = strides[L.ndim - 1 - d] * itemsize


cdef inline int64_t _abs(int64_t x) noexcept nogil:
    return -x if x < 0 else x


cdef bint _outer_first(const StridedLoop* L, int a, int b) noexcept nogil:
    """True when dim a (currently inside dim b) should move outside it."""
    cdef int op
    cdef int64_t sa, sb
    for op in range(L.nops):
        sa = _abs(L.strides[a][op])
        sb = _abs(L.strides[b][op])
        if sa == 0 or sb == 0:
            continue            # a broadcast dim says nothing about the memory order
        if sa != sb:
            return sa > sb
    return False


cdef void _swap_dims(StridedLoop* L, int a, int b) noexcept nogil:
    cdef int op
    cdef int64_t tmp = L.sizes[a]
    L.sizes[a] = L.sizes[b]
    L.sizes[b] = tmp
    for op in range(L.nops):
        tmp = L.strides[a][op]
        L.strides[a][op] = L.strides[b][op]
        L.strides[b][op] = tmp


cdef bint _drop_unit_dims(StridedLoop* L) noexcept nogil:
    """Drop size-1 dims (they never move a pointer); False when none is left (one element:
    the loop becomes a single row of one)."""
    cdef int d, op, n = 0
    for d in range(L.ndim):
        if L.sizes[d] != 1:
            if n != d:
                L.sizes[n] = L.sizes[d]
                for op in range(L.nops):
                    L.strides[n][op] = L.strides[d][op]
            n += 1
    L.ndim = n
    if n == 0:
        L.ndim = 1
        L.sizes[0] = 1
        for op in range(L.nops):
            L.strides[0][op] = 0
        return False
    return True


cdef void _coalesce(StridedLoop* L) noexcept nogil:
    """Merge neighbours whose strides chain for every operand."""
    cdef int d, op, k = 0
    cdef bint chain
    for d in range(1, L.ndim):
        chain = True
        for op in range(L.nops):
            if L.strides[k][op] * L.sizes[k] != L.strides[d][op]:
                chain = False
                break
        if chain:
            L.sizes[k] *= L.sizes[d]
        else:
            k += 1
            L.sizes[k] = L.sizes[d]
            for op in range(L.nops):
                L.strides[k][op] = L.strides[d][op]
    L.ndim = k + 1


cdef void loop_prepare(StridedLoop* L) noexcept nogil:
    cdef int d, k
    if not _drop_unit_dims(L):
        return
    # insertion sort, innermost = smallest stride (stable: keeps row-major order on ties)
    for d in range(1, L.ndim):
        k = d
        while k > 0 and _outer_first(L, k - 1, k):
            _swap_dims(L, k - 1, k)
            k -= 1
    _coalesce(L)


cdef void loop_prepare_ordered(StridedLoop* L) noexcept nogil:
    if _drop_unit_dims(L):
        _coalesce(L)


cdef int64_t loop_rows(const StridedLoop* L) noexcept nogil:
    """Number of inner rows (product of the outer sizes); 0 when the loop is empty."""
    cdef int64_t rows = 1
    cdef int d
    if L.empty:
        return 0
    for d in range(1, L.ndim):
        rows *= L.sizes[d]
    return rows


cdef void loop_run_rows(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                        int64_t row_begin, int64_t row_end) noexcept nogil:
    """Call fn on rows [row_begin, row_end) of the prepared loop: whole rows of
    loop_run_range, the one odometer."""
    loop_run_range(L, base, fn, ctx, row_begin * L.sizes[0], row_end * L.sizes[0])


cdef int64_t loop_numel(const StridedLoop* L) noexcept nogil:
    return loop_rows(L) * L.sizes[0]


cdef void loop_run_range(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                         int64_t begin, int64_t end) noexcept nogil:
    cdef char* ptrs[MAX_OPERANDS]
    cdef int64_t counter[MAX_DIMS]
    cdef int64_t n0 = L.sizes[0], col, rem, count
    cdef int d, op
    if L.empty or begin >= end:
        return
    col = begin % n0
    rem = begin // n0
    for op in range(L.nops):
        ptrs[op] = base[op] + col * L.strides[0][op]
    for d in range(1, L.ndim):
        counter[d] = rem % L.sizes[d]
        rem = rem // L.sizes[d]
        for op in range(L.nops):
            ptrs[op] += counter[d] * L.strides[d][op]
    while True:
        count = n0 - col
        if count > end - begin:
            count = end - begin
        fn(ptrs, &L.strides[0][0], count, ctx)
        begin += count
        if begin >= end:
            return
        for op in range(L.nops):            # back to the start of this row
            ptrs[op] -= col * L.strides[0][op]
        col = 0
        d = 1
        while d < L.ndim:
            counter[d] += 1
            for op in range(L.nops):
                ptrs[op] += L.strides[d][op]
            if counter[d] < L.sizes[d]:
                break
            for op in range(L.nops):
                ptrs[op] -= L.strides[d][op] * L.sizes[d]
            counter[d] = 0
            d += 1


cdef void loop_run_parallel(const StridedLoop* L, char** base, inner_loop_fn fn, void* ctx,
                            int64_t grain) noexcept nogil:
    cdef int64_t n = loop_numel(L), chunk, t
    cdef int nthreads = num_threads_for(n, grain)
    if n == 0:
        return
    if nthreads <= 1:
        loop_run_range(L, base, fn, ctx, 0, n)
        return
    # pieces start on multiples of 64 elements so threads do not share output cache lines
    chunk = ((n + nthreads - 1) // nthreads + 63) // 64 * 64
    for t in prange(nthreads, num_threads=nthreads, schedule="static"):
        loop_run_range(L, base, fn, ctx, t * chunk, min(n, (t + 1) * chunk))
