"""Row sorts: a stable merge sort of each row's positions by value.

NOTE [ Row sort ]
Each row is read once (through its stride) into a contiguous key buffer; an index buffer
0..n-1 is sorted by key with a bottom-up merge sort (runs of 16 by insertion sort first),
which is stable: equal keys keep their order, ascending or descending, so the indices
agree with PyTorch's stable sort.  NaN orders after every number (ascending) and before
(descending), as in PyTorch.  The first k positions are then written out as values and
indices through their strides.  For a small k (topk, kthvalue) the first k are selected
in one pass instead (_select_first), with the same order and ties.  One thread; scratch is
allocated once per call.
"""
from libc.stdint cimport int64_t, int32_t, uint8_t
from libc.stdlib cimport malloc, free

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.types cimport num_t
from strided._C.core.iterator cimport MAX_DIMS

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


cdef int _sort_rows(num_t* tag, int nb, const int64_t* bsizes, const int64_t* sbs,
                    const int64_t* vbs, const int64_t* ibs, int64_t n, int64_t k,
                    const num_t* src, int64_t ss, num_t* values, int64_t vs,
                    int64_t* indices, int64_t is_, bint desc) noexcept nogil:
    cdef num_t* key = <num_t*>malloc((n if n else 1) * sizeof(num_t))
    cdef int64_t* idx = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    cdef int64_t* tmp = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    cdef int64_t pos[MAX_DIMS]
    cdef int64_t j
    cdef int d
    if key == NULL or idx == NULL or tmp == NULL:
        free(key)
        free(idx)
        free(tmp)
        return -1
    for d in range(nb):
        pos[d] = 0
    cdef bint select = k <= SELECT_MAX_K and k * 8 < n
    while True:
        if select:
            _select_first(src, ss, n, k, key, idx, desc)
            if values != NULL:
                for j in range(k):
                    values[j * vs] = key[j]
        else:
            for j in range(n):
                key[j] = src[j * ss]
            _sort_index(key, idx, tmp, n, desc)
            if values != NULL:
                for j in range(k):
                    values[j * vs] = key[idx[j]]
        if indices != NULL:
            for j in range(k):
                indices[j * is_] = idx[j]
        d = nb - 1
        while d >= 0:                               # odometer over the batch dims
            pos[d] += 1
            src += sbs[d]
            if values != NULL:
                values += vbs[d]
            if indices != NULL:
                indices += ibs[d]
            if pos[d] < bsizes[d]:
                break
            src -= sbs[d] * bsizes[d]
            if values != NULL:
                values -= vbs[d] * bsizes[d]
            if indices != NULL:
                indices -= ibs[d] * bsizes[d]
            pos[d] = 0
            d -= 1
        if d < 0:
            break
    free(key)
    free(idx)
    free(tmp)
    return 0


cdef int sort_kernel(int nb, const int64_t* bsizes, const int64_t* src_bstrides,
                     const int64_t* val_bstrides, const int64_t* idx_bstrides,
                     int64_t n, int64_t k, const char* src, int64_t src_stride,
                     char* values, int64_t val_stride, int64_t* indices, int64_t idx_stride,
                     int dtype, bint descending) noexcept nogil:
    cdef int d
    for d in range(nb):
        if bsizes[d] == 0:
            return 0
    if dtype == FLOAT32:
        return _sort_rows(<float*>NULL, nb, bsizes, src_bstrides, val_bstrides, idx_bstrides,
                          n, k, <const float*>src, src_stride, <float*>values, val_stride,
                          indices, idx_stride, descending)
    if dtype == FLOAT64:
        return _sort_rows(<double*>NULL, nb, bsizes, src_bstrides, val_bstrides, idx_bstrides,
                          n, k, <const double*>src, src_stride, <double*>values, val_stride,
                          indices, idx_stride, descending)
    if dtype == INT64:
        return _sort_rows(<int64_t*>NULL, nb, bsizes, src_bstrides, val_bstrides,
                          idx_bstrides, n, k, <const int64_t*>src, src_stride,
                          <int64_t*>values, val_stride, indices, idx_stride, descending)
    if dtype == INT32:
        return _sort_rows(<int32_t*>NULL, nb, bsizes, src_bstrides, val_bstrides,
                          idx_bstrides, n, k, <const int32_t*>src, src_stride,
                          <int32_t*>values, val_stride, indices, idx_stride, descending)
    return _sort_rows(<uint8_t*>NULL, nb, bsizes, src_bstrides, val_bstrides, idx_bstrides,
                      n, k, <const uint8_t*>src, src_stride, <uint8_t*>values, val_stride,
                      indices, idx_stride, descending)
