# Layer: kernels.  The one blocked float sum, inlined where it is used (reduce, loss).
#
# NOTE [ Blocked float sum ]
# A float sum in a fixed order that vectorizes without -ffast-math and stays accurate on
# long rows: each block of `block` elements is summed by eight independent partial sums in
# the input's type (eight vector lanes stay busy; no -ffast-math reassociation needed), and
# the block totals are added in float64.  The error stays below NumPy's pairwise summation's
# on long rows.  The order depends only on n and block, never on the thread count, so a
# result is the same bits every run.  (Batch norm's statistics, kernels/norm.pyx, keep
# eight float64 lanes across the rows of a whole channel instead: a different order.)
from libc.stdint cimport int64_t

ctypedef fused sum_t:
    float
    double


cdef inline double blocked_sum(const sum_t* x, int64_t stride, int64_t n,
                               int64_t block) noexcept nogil:
    """sum(x[i * stride] for i < n); block: a multiple of 8 (64 or 128 at the call sites)."""
    cdef double total = 0
    cdef sum_t s0, s1, s2, s3, s4, s5, s6, s7
    cdef int64_t i = 0, j
    cdef const sum_t* b
    while i + block <= n:
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        b = x + i * stride
        if stride == 1:
            for j in range(0, block, 8):
                s0 += b[j]
                s1 += b[j + 1]
                s2 += b[j + 2]
                s3 += b[j + 3]
                s4 += b[j + 4]
                s5 += b[j + 5]
                s6 += b[j + 6]
                s7 += b[j + 7]
        else:
            for j in range(0, block, 8):
                s0 += b[j * stride]
                s1 += b[(j + 1) * stride]
                s2 += b[(j + 2) * stride]
                s3 += b[(j + 3) * stride]
                s4 += b[(j + 4) * stride]
                s5 += b[(j + 5) * stride]
                s6 += b[(j + 6) * stride]
                s7 += b[(j + 7) * stride]
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        i += block
    while i < n:
        total += x[i * stride]
        i += 1
    return total
