"""Row sorts: a stable merge sort of each row's positions by value.

NOTE [ Row sort ]
Each row is read once (through its stride) into a contiguous key buffer; an index buffer
0..n-1 is sorted by key with a bottom-up merge sort (runs of 16 by insertion sort first),
which is stable: equal keys keep their order, ascending or descending, so the indices
agree with PyTorch's stable sort.  NaN orders after every number (ascending) and before
(descending), as in PyTorch.  The first k positions are then written out as values and
indices through their strides.  For a small k (topk, kthvalue) the first k are selected
in one pass instead (_select_first), with the same order and ties.  The rows are the
elements of the strided iterator over the other dims (NOTE [ Strided iteration ]).  One
thread; scratch is allocated once per call.
"""
from libc.stdint cimport int64_t, int32_t, uint8_t
from libc.stdlib cimport malloc, free

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.types cimport num_t
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, loop_init, loop_set_operand,
                                       loop_prepare, loop_run_range, loop_numel)

cdef enum:
    RUN = 16
    SELECT_MAX_K = 64    # topk / kthvalue with k up to this (and k < n / 8) select, not sort



cdef inline bint _before(num_t a, num_t b, bint desc) noexcept nogil:
    """a strictly before b in the sorted order (NaN is the largest value)."""
    if desc:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


cdef void _sort_index(const num_t* key, int64_t* idx, int64_t* tmp, int64_t n,
                      bint desc) noexcept nogil:
    """idx[0..n) = the stable order of key[0..n)."""
    cdef int64_t i, j, lo, mid, hi, a, b, o, width, x
    cdef int64_t* src = idx
    cdef int64_t* dst = tmp
    cdef int64_t* sw
    for i in range(n):
        idx[i] = i
    lo = 0
    while lo < n:                                   # insertion sort of each run
        hi = lo + RUN if lo + RUN < n else n
        for i in range(lo + 1, hi):
            x = idx[i]
            j = i - 1
            while j >= lo and _before(key[x], key[idx[j]], desc):
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = x
        lo = hi
    width = RUN
    while width < n:                                # merge runs pairwise
        lo = 0
        while lo < n:
            mid = lo + width if lo + width < n else n
            hi = lo + 2 * width if lo + 2 * width < n else n
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                if _before(key[src[b]], key[src[a]], desc):
                    dst[o] = src[b]
                    b += 1
                else:
                    dst[o] = src[a]
                    a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
            lo = hi
        sw = src
        src = dst
        dst = sw
        width *= 2
    if src != idx:
        for i in range(n):
            idx[i] = src[i]


cdef void _select_first(const num_t* src, int64_t ss, int64_t n, int64_t k, num_t* key,
                        int64_t* idx, bint desc) noexcept nogil:
    """key[0..k), idx[0..k) = the first k of the stable order of src's row, by keeping the
    best k seen so far in order (an element enters only when strictly before the current
    k-th, and goes after the equal ones: the stable sort's tie order).  O(n) when most
    elements are rejected, O(n k) at worst; used for small k."""
    cdef int64_t i, j, m = 0
    cdef num_t v
    for i in range(n):
        v = src[i * ss]
        if m == k:
            if not _before(v, key[k - 1], desc):
                continue
            j = k - 1
        else:
            j = m
            m += 1
        while j > 0 and _before(v, key[j - 1], desc):
            key[j] = key[j - 1]
            idx[j] = idx[j - 1]
            j -= 1
        key[j] = v
        idx[j] = i


cdef struct SortCtx:
    void* key                   # scratch: n values, n positions, n positions
    int64_t* idx
    int64_t* tmp
    int64_t n, k
    int64_t ss, vs, is_         # strides along the sorted dim, elements
    bint desc, select, has_values, has_indices
    int dtype


cdef inline void _sort_lane(const num_t* src, num_t* values, int64_t* indices,
                            const SortCtx* c) noexcept nogil:
    cdef num_t* key = <num_t*>c.key
    cdef int64_t* idx = c.idx
    cdef int64_t j, n = c.n, k = c.k
    if c.select:
        _select_first(src, c.ss, n, k, key, idx, c.desc)
        if c.has_values:
            for j in range(k):
                values[j * c.vs] = key[j]
    else:
        for j in range(n):
            key[j] = src[j * c.ss]
        _sort_index(key, idx, c.tmp, n, c.desc)
        if c.has_values:
            for j in range(k):
                values[j * c.vs] = key[idx[j]]
    if c.has_indices:
        for j in range(k):
            indices[j * c.is_] = idx[j]


cdef void _sort_row(char** p, const int64_t* s, int64_t count, void* ctx) noexcept nogil:
    """`count` lanes of the iterator over the batch dims; operands 0 src, 1 values,
    2 indices (the last two at stride 0 when not wanted)."""
    cdef const SortCtx* c = <const SortCtx*>ctx
    cdef int64_t j
    cdef int64_t* ip
    for j in range(count):
        ip = <int64_t*>(p[2] + j * s[2])
        if c.dtype == FLOAT32:
            _sort_lane(<const float*>(p[0] + j * s[0]), <float*>(p[1] + j * s[1]), ip, c)
        elif c.dtype == FLOAT64:
            _sort_lane(<const double*>(p[0] + j * s[0]), <double*>(p[1] + j * s[1]), ip, c)
        elif c.dtype == INT64:
            _sort_lane(<const int64_t*>(p[0] + j * s[0]), <int64_t*>(p[1] + j * s[1]), ip, c)
        elif c.dtype == INT32:
            _sort_lane(<const int32_t*>(p[0] + j * s[0]), <int32_t*>(p[1] + j * s[1]), ip, c)
        else:
            _sort_lane(<const uint8_t*>(p[0] + j * s[0]), <uint8_t*>(p[1] + j * s[1]), ip, c)


cdef int sort_kernel(int nb, const int64_t* bsizes, const int64_t* src_bstrides,
                     const int64_t* val_bstrides, const int64_t* idx_bstrides,
                     int64_t n, int64_t k, const char* src, int64_t src_stride,
                     char* values, int64_t val_stride, int64_t* indices, int64_t idx_stride,
                     int dtype, bint descending) noexcept nogil:
    cdef StridedLoop L
    cdef SortCtx c
    cdef char* base[3]
    cdef int64_t unused[MAX_DIMS]
    cdef int d, itemsize = 1
    if dtype == INT32 or dtype == FLOAT32:
        itemsize = 4
    elif dtype == INT64 or dtype == FLOAT64:
        itemsize = 8
    for d in range(nb):
        unused[d] = 0
    loop_init(&L, 3, nb, bsizes)
    loop_set_operand(&L, 0, src_bstrides, itemsize)
    loop_set_operand(&L, 1, val_bstrides if values != NULL else unused, itemsize)
    loop_set_operand(&L, 2, idx_bstrides if indices != NULL else unused, 8)
    loop_prepare(&L)                # the lanes are independent: any order
    if L.empty:
        return 0
    c.n, c.k, c.desc, c.dtype = n, k, descending, dtype
    c.ss, c.vs, c.is_ = src_stride, val_stride, idx_stride
    c.has_values, c.has_indices = values != NULL, indices != NULL
    c.select = k <= SELECT_MAX_K and k * 8 < n
    c.key = malloc((n if n else 1) * itemsize)
    c.idx = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    c.tmp = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    if c.key == NULL or c.idx == NULL or c.tmp == NULL:
        free(c.key)
        free(c.idx)
        free(c.tmp)
        return -1
    base[0], base[1], base[2] = <char*>src, values, <char*>indices
    loop_run_range(&L, base, _sort_row, &c, 0, loop_numel(&L))
    free(c.key)
    free(c.idx)
    free(c.tmp)
    return 0
