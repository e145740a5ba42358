# The loss row kernels (included twice: loss.pyx builds them for the baseline ISA,
# loss_avx2.pyx for AVX2 + FMA; NOTE [ Kernel dispatch ] in elementwise.pyx).  Pointer level,
# GIL released; the formulas are NOTE [ Cross-entropy formulas ] in loss.pyx, the row layout
# NOTE [ Loss rows ] (the Rows struct is in loss.pxd).
from cython.parallel cimport prange, threadid
from libc.math cimport log, exp, INFINITY
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

from strided._C.core.dtypes cimport FLOAT32
from strided._C.core.threads cimport num_threads_for
from strided._C.kernels.blocked_sum cimport blocked_sum
from strided._C.kernels.fastmath cimport expf_fast

ctypedef fused real_t:
    float
    double

cdef enum:
    GRAIN = 1 << 14          # logits per thread below which another thread is not worth it
    ALIGN = 64


# --------------------------------------------------------------------------------------
# Row helpers (one row of C classes at stride xs)
# --------------------------------------------------------------------------------------

cdef inline real_t _exp(real_t x) noexcept nogil:
    if real_t is float:
        return expf_fast(x)
    else:
        return exp(x)


cdef inline real_t _row_max(const real_t* x, int64_t n, int64_t xs) noexcept nogil:
    """max over the row, NaNs skipped (they reach the loss through exp); -inf for n == 0.
    Eight running maxima, so the contiguous loop vectorizes."""
    cdef real_t m0, m1, m2, m3, m4, m5, m6, m7, v
    cdef int64_t k = 0
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = -INFINITY
    if xs == 1:
        while k + 8 <= n:
            m0 = x[k] if x[k] > m0 else m0
            m1 = x[k + 1] if x[k + 1] > m1 else m1
            m2 = x[k + 2] if x[k + 2] > m2 else m2
            m3 = x[k + 3] if x[k + 3] > m3 else m3
            m4 = x[k + 4] if x[k + 4] > m4 else m4
            m5 = x[k + 5] if x[k + 5] > m5 else m5
            m6 = x[k + 6] if x[k + 6] > m6 else m6
            m7 = x[k + 7] if x[k + 7] > m7 else m7
            k += 8
    while k < n:
        v = x[k * xs]
        m0 = v if v > m0 else m0
        k += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m4 = m5 if m5 > m4 else m4
    m6 = m7 if m7 > m6 else m6
    m0 = m2 if m2 > m0 else m0
    m4 = m6 if m6 > m4 else m4
    return m4 if m4 > m0 else m0


cdef inline double _sum_exp(const real_t* x, int64_t n, int64_t xs, real_t m,
                            real_t* scratch) noexcept nogil:
    """sum_c exp(x_c - m), the exponentials staged in scratch (n elements)."""
    cdef int64_t k
    if xs == 1:
        for k in range(n):
            scratch[k] = _exp(x[k] - m)
    else:
        for k in range(n):
            scratch[k] = _exp(x[k * xs] - m)
    return blocked_sum(scratch, 1, n, 64)


cdef inline double _sum_shift(const real_t* x, int64_t n, int64_t xs, real_t m,
                              const real_t* w, real_t* scratch) noexcept nogil:
    """sum_c w_c (m - x_c) (w_c = 1 when w is NULL): the smoothing term, all terms >= 0."""
    cdef int64_t k
    if w == NULL:
        for k in range(n):
            scratch[k] = m - x[k * xs]
    else:
        for k in range(n):
            scratch[k] = w[k] * (m - x[k * xs])
    return blocked_sum(scratch, 1, n, 64)


# --------------------------------------------------------------------------------------
# Kernels (pointer level, GIL released)
# --------------------------------------------------------------------------------------

cdef inline int64_t _target(const Rows* L, const int64_t* t, int64_t r) noexcept nogil:
    return t[(r // L.B) * L.ta + (r % L.B) * L.tb]


cdef inline int64_t _x_offset(const Rows* L, int64_t r) noexcept nogil:
    return (r // L.B) * L.xa + (r % L.B) * L.xb


cdef int64_t check_targets(const Rows* L, const int64_t* t, int64_t ignore_index) noexcept nogil:
    """-1 when every target is ignore_index or in [0, C); else the first bad row."""
    cdef int64_t r, v
    for r in range(L.A * L.B):
        v = _target(L, t, r)
        if v != ignore_index and (v < 0 or v >= L.C):
            return r
    return -1


cdef inline void _xent_row(const Rows* L, const real_t* x, const int64_t* t, const real_t* w,
                           double wsum, int64_t ignore_index, double eps, int64_t r,
                           real_t* loss, real_t* wrow, real_t* stats,
                           real_t* scratch) noexcept nogil:
    cdef int64_t C = L.C, y = _target(L, t, r)
    cdef const real_t* xr = x + _x_offset(L, r)
    cdef real_t m, ls, wy, nll
    cdef double smooth
    if y == ignore_index:
        loss[r] = 0
        wrow[r] = 0
        stats[2 * r] = 0
        stats[2 * r + 1] = 0
        return
    m = _row_max(xr, C, L.xc)
    ls = <real_t>log(_sum_exp(xr, C, L.xc, m, scratch))
    wy = w[y] if w != NULL else 1
    nll = ls - (xr[y * L.xc] - m)
    if eps == 0:
        loss[r] = wy * nll
    else:
        smooth = _sum_shift(xr, C, L.xc, m, w, scratch) + ls * wsum
        loss[r] = <real_t>((1 - eps) * wy * nll + eps / C * smooth)
    wrow[r] = wy
    stats[2 * r] = m
    stats[2 * r + 1] = ls


cdef int xent_forward(const Rows* L, const real_t* x, const int64_t* t, const real_t* w,
                      int64_t ignore_index, double eps,
                      real_t* loss, real_t* wrow, real_t* stats) noexcept nogil:
    """Per-row loss[r], wrow[r] and stats[r] = (m, ls) (NOTE [ Cross-entropy formulas ]), all
    contiguous OUT buffers of A*B rows.  Targets must have passed check_targets.
    Returns 0, or -1 when scratch memory could not be allocated."""
    cdef int64_t M = L.A * L.B, C = L.C, r, k
    cdef int64_t per_thread = (C * sizeof(real_t) + ALIGN - 1) // ALIGN * ALIGN
    cdef double wsum = C
    cdef int nt = num_threads_for(M * C, GRAIN)
    cdef char* scratch
    if M == 0:
        return 0
    if w != NULL:
        wsum = 0
        for k in range(C):
            wsum += w[k]
    if nt > M:
        nt = <int>M
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if scratch == NULL:
        return -1
    cdef char* base = <char*>((<size_t>scratch + ALIGN - 1) // ALIGN * ALIGN)
    if nt == 1:
        for r in range(M):
            _xent_row(L, x, t, w, wsum, ignore_index, eps, r, loss, wrow, stats, <real_t*>base)
    else:
        for r in prange(M, num_threads=nt, schedule="static"):
            _xent_row(L, x, t, w, wsum, ignore_index, eps, r, loss, wrow, stats,
                      <real_t*>(base + threadid() * per_thread))
    free(scratch)
    return 0


cdef inline void _xent_grad_row(const Rows* L, const real_t* x, const int64_t* t,
                                const real_t* w, double wsum, int64_t ignore_index, double eps,
                                const real_t* stats, double s, int64_t r,
                                real_t* gx, int64_t ga, int64_t gb, int64_t gc) noexcept nogil:
    cdef int64_t C = L.C, xc = L.xc, k, y = _target(L, t, r)
    cdef const real_t* xr = x + _x_offset(L, r)
    cdef real_t* gr = gx + (r // L.B) * ga + (r % L.B) * gb
    cdef real_t m, ls, a, coef, b
    if y == ignore_index:
        for k in range(C):
            gr[k * gc] = 0
        return
    m = stats[2 * r]
    ls = stats[2 * r + 1]
    a = <real_t>(s * (1 - eps) * (w[y] if w != NULL else 1))
    b = <real_t>(s * eps / C)
    coef = <real_t>(a + b * wsum)
    if w == NULL:
        if xc == 1 and gc == 1:
            for k in range(C):
                gr[k] = _exp((xr[k] - m) - ls) * coef - b
        else:
            for k in range(C):
                gr[k * gc] = _exp((xr[k * xc] - m) - ls) * coef - b
    else:
        if xc == 1 and gc == 1:
            for k in range(C):
                gr[k] = _exp((xr[k] - m) - ls) * coef - b * w[k]
        else:
            for k in range(C):
                gr[k * gc] = _exp((xr[k * xc] - m) - ls) * coef - b * w[k]
    gr[y * gc] -= a


cdef void xent_backward(const Rows* L, const real_t* x, const int64_t* t, const real_t* w,
                       int64_t ignore_index, double eps, const real_t* stats,
                       const real_t* g, int64_t g_a, int64_t g_b, double scale,
                       real_t* gx, int64_t ga, int64_t gb, int64_t gc) noexcept nogil:
    """gx[r, :] (strides ga, gb for the row, gc for the class) = the gradient of NOTE
    [ Cross-entropy formulas ] with s = g[r] (g not NULL: 'none', strides g_a, g_b) or
    s = scale.  Every element of gx's rows is written."""
    cdef int64_t M = L.A * L.B, C = L.C, r, k
    cdef double wsum = C, s
    cdef int nt = num_threads_for(M * C, GRAIN)
    if w != NULL:
        wsum = 0
        for k in range(C):
            wsum += w[k]
    if nt > M:
        nt = <int>M
    if nt <= 1:
        for r in range(M):
            s = g[(r // L.B) * g_a + (r % L.B) * g_b] if g != NULL else scale
            _xent_grad_row(L, x, t, w, wsum, ignore_index, eps, stats, s, r, gx, ga, gb, gc)
    else:
        for r in prange(M, num_threads=nt, schedule="static"):
            s = g[(r // L.B) * g_a + (r % L.B) * g_b] if g != NULL else scale
            _xent_grad_row(L, x, t, w, wsum, ignore_index, eps, stats, s, r, gx, ga, gb, gc)


cdef void nll_forward(const Rows* L, const real_t* x, const int64_t* t, const real_t* w,
                      int64_t ignore_index, real_t* loss, real_t* wrow) noexcept nogil:
    """loss[r] = -w[t] x[r, t], wrow[r] = w[t] (both 0 for ignored rows): a gather, one
    element per row, so one thread."""
    cdef int64_t r, y
    cdef real_t wy
    for r in range(L.A * L.B):
        y = _target(L, t, r)
        if y == ignore_index:
            loss[r] = 0
            wrow[r] = 0
        else:
            wy = w[y] if w != NULL else 1
            loss[r] = -wy * x[_x_offset(L, r) + y * L.xc]
            wrow[r] = wy
    return


cdef void nll_backward(const Rows* L, const int64_t* t, const real_t* w, int64_t ignore_index,
                       const real_t* g, int64_t g_a, int64_t g_b, double scale,
                       real_t* gx, int64_t ga, int64_t gb, int64_t gc) noexcept nogil:
    """gx[r, t] = -w[t] s (s as in xent_backward), a scatter into a zeroed gx."""
    cdef int64_t r, y
    cdef double s
    for r in range(L.A * L.B):
        y = _target(L, t, r)
        if y == ignore_index:
            continue
        s = g[(r // L.B) * g_a + (r % L.B) * g_b] if g != NULL else scale
        gx[(r // L.B) * ga + (r % L.B) * gb + y * gc] = <real_t>(-(w[y] if w != NULL else 1) * s)


cdef inline void _probs_row(const Rows* L, const real_t* x, const real_t* t, const real_t* w,
                            double eps, int64_t r, real_t* loss, real_t* stats,
                            real_t* scratch) noexcept nogil:
    cdef int64_t C = L.C, xc = L.xc, tc = L.tc, k
    cdef const real_t* xr = x + _x_offset(L, r)
    cdef const real_t* tr = t + (r // L.B) * L.ta + (r % L.B) * L.tb
    cdef real_t m = _row_max(xr, C, xc)
    cdef real_t ls = <real_t>log(_sum_exp(xr, C, xc, m, scratch))
    cdef real_t keep = <real_t>(1 - eps), spread = <real_t>(eps / C)
    cdef real_t wt
    if w == NULL:
        for k in range(C):
            scratch[k] = tr[k * tc] * keep + spread
    else:
        for k in range(C):
            scratch[k] = w[k] * (tr[k * tc] * keep + spread)
    wt = <real_t>blocked_sum(scratch, 1, C, 64)
    for k in range(C):
        scratch[k] = scratch[k] * (ls - (xr[k * xc] - m))
    loss[r] = <real_t>blocked_sum(scratch, 1, C, 64)
    stats[3 * r] = m
    stats[3 * r + 1] = ls
    stats[3 * r + 2] = wt


cdef int xent_probs_forward(const Rows* L, const real_t* x, const real_t* t, const real_t* w,
                            double eps, real_t* loss, real_t* stats) noexcept nogil:
    """Cross entropy against class probabilities t (A, B, C), smoothed as torch does
    (t' = (1 - eps) t + eps / C):  loss[r] = sum_c w_c t'_c (ls - sh_c);  stats[r] =
    (m, ls, sum_c w_c t'_c).  Returns 0, or -1 when scratch memory could not be allocated."""
    cdef int64_t M = L.A * L.B, C = L.C, r
    cdef int64_t per_thread = (C * sizeof(real_t) + ALIGN - 1) // ALIGN * ALIGN
    cdef int nt = num_threads_for(M * C, GRAIN)
    cdef char* scratch
    if M == 0:
        return 0
    if nt > M:
        nt = <int>M
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if scratch == NULL:
        return -1
    cdef char* base = <char*>((<size_t>scratch + ALIGN - 1) // ALIGN * ALIGN)
    if nt == 1:
        for r in range(M):
            _probs_row(L, x, t, w, eps, r, loss, stats, <real_t*>base)
    else:
        for r in prange(M, num_threads=nt, schedule="static"):
            _probs_row(L, x, t, w, eps, r, loss, stats, <real_t*>(base + threadid() * per_thread))
    free(scratch)
    return 0


cdef inline void _probs_grad_row(const Rows* L, const real_t* x, const real_t* t,
                                 const real_t* w, double eps, const real_t* stats, double s,
                                 int64_t r, real_t* gx, int64_t ga, int64_t gb,
                                 int64_t gc) noexcept nogil:
    cdef int64_t C = L.C, xc = L.xc, tc = L.tc, k
    cdef const real_t* xr = x + _x_offset(L, r)
    cdef const real_t* tr = t + (r // L.B) * L.ta + (r % L.B) * L.tb
    cdef real_t* gr = gx + (r // L.B) * ga + (r % L.B) * gb
    cdef real_t m = stats[3 * r], ls = stats[3 * r + 1]
    cdef real_t a = <real_t>(s * stats[3 * r + 2]), keep = <real_t>(s * (1 - eps))
    cdef real_t spread = <real_t>(s * eps / C)
    if w == NULL:
        for k in range(C):
            gr[k * gc] = _exp((xr[k * xc] - m) - ls) * a - (tr[k * tc] * keep + spread)
    else:
        for k in range(C):
            gr[k * gc] = _exp((xr[k * xc] - m) - ls) * a - w[k] * (tr[k * tc] * keep + spread)


cdef void xent_probs_backward(const Rows* L, const real_t* x, const real_t* t, const real_t* w,
                              double eps, const real_t* stats, const real_t* g, int64_t g_a,
                              int64_t g_b, double scale, real_t* gx, int64_t ga, int64_t gb,
                              int64_t gc) noexcept nogil:
    """gx[r, c] = s (p_c sum_k w_k t'_k - w_c t'_c), s as in xent_backward."""
    cdef int64_t M = L.A * L.B, r
    cdef double s
    cdef int nt = num_threads_for(M * L.C, GRAIN)
    if nt > M:
        nt = <int>M
    if nt <= 1:
        for r in range(M):
            s = g[(r // L.B) * g_a + (r % L.B) * g_b] if g != NULL else scale
            _probs_grad_row(L, x, t, w, eps, stats, s, r, gx, ga, gb, gc)
    else:
        for r in prange(M, num_threads=nt, schedule="static"):
            s = g[(r // L.B) * g_a + (r % L.B) * g_b] if g != NULL else scale
            _probs_grad_row(L, x, t, w, eps, stats, s, r, gx, ga, gb, gc)


# --------------------------------------------------------------------------------------
# Entry points of the dispatch table (LossKernels in loss.pxd): dtype FLOAT32 or FLOAT64
# --------------------------------------------------------------------------------------

cdef int _xent_forward(int dt, const Rows* L, const void* x, const int64_t* t, const void* w,
                       int64_t ignore_index, double eps, void* loss, void* wrow,
                       void* stats) noexcept nogil:
    if dt == FLOAT32:
        return xent_forward(L, <const float*>x, t, <const float*>w, ignore_index, eps,
                            <float*>loss, <float*>wrow, <float*>stats)
    return xent_forward(L, <const double*>x, t, <const double*>w, ignore_index, eps,
                        <double*>loss, <double*>wrow, <double*>stats)


cdef void _xent_backward(int dt, const Rows* L, const void* x, const int64_t* t, const void* w,
                         int64_t ignore_index, double eps, const void* stats, const void* g,
                         int64_t g_a, int64_t g_b, double scale, void* gx, int64_t ga,
                         int64_t gb, int64_t gc) noexcept nogil:
    if dt == FLOAT32:
        xent_backward(L, <const float*>x, t, <const float*>w, ignore_index, eps,
                      <const float*>stats, <const float*>g, g_a, g_b, scale, <float*>gx,
                      ga, gb, gc)
    else:
        xent_backward(L, <const double*>x, t, <const double*>w, ignore_index, eps,
                      <const double*>stats, <const double*>g, g_a, g_b, scale, <double*>gx,
                      ga, gb, gc)


cdef int _probs_forward(int dt, const Rows* L, const void* x, const void* t, const void* w,
                        double eps, void* loss, void* stats) noexcept nogil:
    if dt == FLOAT32:
        return xent_probs_forward(L, <const float*>x, <const float*>t, <const float*>w, eps,
                                  <float*>loss, <float*>stats)
    return xent_probs_forward(L, <const double*>x, <const double*>t, <const double*>w, eps,
                              <double*>loss, <double*>stats)


cdef void _probs_backward(int dt, const Rows* L, const void* x, const void* t, const void* w,
                          double eps, const void* stats, const void* g, int64_t g_a,
                          int64_t g_b, double scale, void* gx, int64_t ga, int64_t gb,
                          int64_t gc) noexcept nogil:
    if dt == FLOAT32:
        xent_probs_backward(L, <const float*>x, <const float*>t, <const float*>w, eps,
                            <const float*>stats, <const float*>g, g_a, g_b, scale, <float*>gx,
                            ga, gb, gc)
    else:
        xent_probs_backward(L, <const double*>x, <const double*>t, <const double*>w, eps,
                            <const double*>stats, <const double*>g, g_a, g_b, scale,
                            <double*>gx, ga, gb, gc)


cdef LossKernels _table
_table.xent_forward = _xent_forward
_table.xent_backward = _xent_backward
_table.probs_forward = _probs_forward
_table.probs_backward = _probs_backward
