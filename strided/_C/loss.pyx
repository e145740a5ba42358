"""Fused classification losses: cross-entropy (log-softmax + NLL in one pass per row, with a
one-pass backward) and NLL over log-probabilities, for class-index targets.

NOTE [ Loss rows ]
The logits reach the kernels as a 3-D view (A, B, C): row r = (a, b), r = a*B + b, holds
the C class scores x[a, b, :], and the target of row r is t[a, b].  An (N, C) input is
(N, 1, C); an (N, C, d1, .., dk) input is its view moved to (N, d1..dk, C) and flattened to
(N, d1*..*dk, C) (a view whenever d1..dk merge, which they do for contiguous inputs), so the
rows are in the order of the unreduced loss (N, d1, .., dk).  Strides are in elements, any
sign, zero allowed; nothing is assumed contiguous.  Rows whose target is ignore_index
contribute 0 to the loss and get a zero gradient; any other target outside [0, C) is an
error found before any memory is read through it.

NOTE [ Cross-entropy formulas ]
With m = max_c x[r, c], sh_c = x[r, c] - m, ls = log(sum_c exp(sh_c)) (so log p_c = sh_c - ls),
w the class weights (ones when None), t the target, eps the label smoothing and C classes,
as torch.nn.functional.cross_entropy defines them:
    wrow[r] = w[t]                       (0 for an ignored row)
    loss[r] = (1 - eps) w[t] (ls - sh_t) + eps / C * (sum_c w_c (-sh_c) + ls * sum_c w_c)
    'sum'  = sum_r loss[r];   'mean' = sum_r loss[r] / sum_r wrow[r]    (0/0 = nan, as torch)
The smoothing term sums non-negative values -sh_c, so large logits (1e4) lose nothing to
cancellation.  The gradient, for row r with scale s (grad_output[r] for 'none', g for
'sum', g / sum(wrow) for 'mean'):
    dx[r, c] = s * (p_c * ((1 - eps) w[t] + eps / C * sum(w)) - eps / C * w_c)
               - s * (1 - eps) w[t] * [c == t]
computed from the saved (m, ls) of each row, so backward reads x once and never repeats
the forward's reductions.

NOTE [ Deterministic loss reductions ]
Each row is computed by one thread start to end; per-row losses land in a buffer which one
thread sums in a fixed order (blocks of 64 by eight lanes, block sums in float64).  The
result therefore has the same bits for any number of threads.
"""
cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport log, exp, INFINITY
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

from strided._C.dtypes cimport DType, dtype_from_num, INT64, FLOAT32, FLOAT64
from strided._C.tensor cimport Tensor, new_tensor, data_of
from strided._C.threads cimport num_threads_for
from strided._C.fastmath cimport expf_fast

ctypedef fused real_t:
    float
    double

cdef enum:
    GRAIN = 1 << 14          # logits per thread below which another thread is not worth it
    ALIGN = 64

# torch's Reduction enum
REDUCTION_NONE = 0
REDUCTION_MEAN = 1
REDUCTION_SUM = 2


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


cdef inline double _sum(const real_t* x, int64_t n) noexcept nogil:
    """sum of a contiguous buffer in a fixed order: blocks of 64 by eight lanes, block sums
    in float64."""
    cdef double total = 0
    cdef real_t s0, s1, s2, s3, s4, s5, s6, s7
    cdef int64_t k = 0, j
    while k + 64 <= n:
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        for j in range(k, k + 64, 8):
            s0 += x[j]
            s1 += x[j + 1]
            s2 += x[j + 2]
            s3 += x[j + 3]
            s4 += x[j + 4]
            s5 += x[j + 5]
            s6 += x[j + 6]
            s7 += x[j + 7]
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        k += 64
    while k < n:
        total += x[k]
        k += 1
    return total


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
    return _sum(scratch, n)


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
    return _sum(scratch, n)


# --------------------------------------------------------------------------------------
# Kernels (pointer level, GIL released)
# --------------------------------------------------------------------------------------

cdef struct Rows:
    # NOTE [ Loss rows ]: logits x (A, B, C) and targets t (A, B), strides in elements
    int64_t A, B, C
    int64_t xa, xb, xc
    int64_t ta, tb, tc       # tc: class stride of probability targets (A, B, C)


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


cdef int xent_backward(const Rows* L, const real_t* x, const int64_t* t, const real_t* w,
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
    return 0


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
    wt = <real_t>_sum(scratch, C)
    for k in range(C):
        scratch[k] = scratch[k] * (ls - (xr[k * xc] - m))
    loss[r] = <real_t>_sum(scratch, C)
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
# Tensor entry points
# --------------------------------------------------------------------------------------

cdef int _rows_of(Rows* L, Tensor x3, Tensor t2, str op) except -1:
    """L from logits x3 (A, B, C) and class-index targets t2 (A, B), or t2 None (probability
    targets: the caller sets the target strides)."""
    if x3._ndim != 3:
        raise RuntimeError(f"{op}: expected logits (A, B, C), got {tuple(x3.shape)}")
    if t2 is not None and (t2._ndim != 2 or t2._sizes[0] != x3._sizes[0] or
                           t2._sizes[1] != x3._sizes[1]):
        raise RuntimeError(f"{op}: expected logits (A, B, C) and targets (A, B), got "
                           f"{tuple(x3.shape)} and {tuple(t2.shape)}")
    if x3._dtype.num != FLOAT32 and x3._dtype.num != FLOAT64:
        raise TypeError(f'"{op}" not implemented for \'{x3._dtype.name}\' '
                        f"(supported: float32, float64)")
    L.A, L.B, L.C = x3._sizes[0], x3._sizes[1], x3._sizes[2]
    L.xa, L.xb, L.xc = x3._strides[0], x3._strides[1], x3._strides[2]
    L.ta = L.tb = L.tc = 0
    if t2 is not None:
        if t2._dtype.num != INT64:
            raise TypeError(f"{op}: expected scalar type int64 for the target but found "
                            f"{t2._dtype.name}")
        L.ta, L.tb = t2._strides[0], t2._strides[1]
    return 0


cdef Tensor _weight_of(object weight, Tensor x3, str op):
    """weight as a contiguous (C,) tensor of the logits' dtype, or None."""
    cdef Tensor w
    if weight is None:
        return None
    w = <Tensor?>weight
    if w._ndim != 1 or w._sizes[0] != x3._sizes[2]:
        raise RuntimeError(f"{op}: weight tensor should be defined either for all "
                           f"{x3._sizes[2]} classes or no classes but got weight tensor of "
                           f"shape: {list(w.shape)}")
    if w._dtype is not x3._dtype:
        w = w.to(x3._dtype)
    if not w._contiguous:
        w = w.contiguous()
    return w


cdef int _check_targets(const Rows* L, Tensor t2, int64_t ignore_index, str op) except -1:
    cdef int64_t bad
    cdef const int64_t* tp = <const int64_t*>data_of(t2)
    with nogil:
        bad = check_targets(L, tp, ignore_index)
    if bad >= 0:
        raise IndexError(f"{op}: Target {_target(L, tp, bad)} is out of bounds.")
    return 0


cdef object _reduce(Tensor loss, Tensor wrow, int reduction):
    """(out, denom): for 'mean' and 'sum' the reduced loss as a 0-d tensor (NOTE
    [ Deterministic loss reductions ]) and, for 'mean', sum(wrow) (0/0 gives nan, as
    torch); for 'none', (loss, None)."""
    cdef double total, denom = 0
    cdef int64_t M = loss._numel
    cdef Tensor out
    cdef char* lp = data_of(loss)
    cdef char* wp = data_of(wrow)
    if reduction == REDUCTION_NONE:
        return loss, None
    with nogil:
        if loss._dtype.num == FLOAT32:
            total = _sum(<const float*>lp, M)
            denom = _sum(<const float*>wp, M)
        else:
            total = _sum(<const double*>lp, M)
            denom = _sum(<const double*>wp, M)
    if reduction == REDUCTION_MEAN:
        total = total / denom
    out = new_tensor(0, NULL, loss._dtype, False)
    if loss._dtype.num == FLOAT32:
        (<float*>data_of(out))[0] = <float>total
    else:
        (<double*>data_of(out))[0] = total
    return out, (denom if reduction == REDUCTION_MEAN else None)


cdef Tensor _rows_buffer(Rows* L, DType dtype, int64_t width):
    cdef int64_t sizes[3]
    sizes[0], sizes[1], sizes[2] = L.A, L.B, width
    return new_tensor(3 if width > 1 else 2, sizes, dtype, False)


def cross_entropy_forward(Tensor x3, Tensor t2, weight, int64_t ignore_index,
                          double label_smoothing, int reduction):
    """(out, stats, denom) for logits x3 (A, B, C) and class-index targets t2 (A, B)
    (NOTE [ Loss rows ], NOTE [ Cross-entropy formulas ]).

    out is the 0-d loss ('mean' = 1, 'sum' = 2) or the contiguous (A, B) per-row losses
    ('none' = 0); stats the contiguous (A, B, 2) per-row (max, log-sum-exp of the shifted
    row) that cross_entropy_backward takes; denom sum(w[t]) over kept rows for 'mean'.
    Raises IndexError for a target outside [0, C) other than ignore_index."""
    cdef Rows L
    cdef Tensor w, loss, wrow, stats
    cdef int status
    _rows_of(&L, x3, t2, "cross_entropy")
    w = _weight_of(weight, x3, "cross_entropy")
    _check_targets(&L, t2, ignore_index, "cross_entropy")
    loss = _rows_buffer(&L, x3._dtype, 1)
    wrow = _rows_buffer(&L, x3._dtype, 1)
    stats = _rows_buffer(&L, x3._dtype, 2)
    cdef char* xp = data_of(x3)
    cdef const int64_t* tp = <const int64_t*>data_of(t2)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* lp = data_of(loss)
    cdef char* rp = data_of(wrow)
    cdef char* sp = data_of(stats)
    with nogil:
        if x3._dtype.num == FLOAT32:
            status = xent_forward(&L, <const float*>xp, tp, <const float*>wp, ignore_index,
                                  label_smoothing, <float*>lp, <float*>rp, <float*>sp)
        else:
            status = xent_forward(&L, <const double*>xp, tp, <const double*>wp, ignore_index,
                                  label_smoothing, <double*>lp, <double*>rp, <double*>sp)
    if status != 0:
        raise MemoryError("cross_entropy: out of memory for the kernel's scratch buffers")
    out, denom = _reduce(loss, wrow, reduction)
    return out, stats, denom


cdef Tensor _grad_buffer(Rows* L, DType dtype, bint zero, int64_t* ga, int64_t* gb,
                         int64_t* gc):
    """A new contiguous (A, C, B) gradient -- the input's own (N, C, d1..dk) layout -- and the
    strides of its rows (a, b) and classes."""
    cdef int64_t sizes[3]
    cdef Tensor gx
    sizes[0], sizes[1], sizes[2] = L.A, L.C, L.B
    gx = new_tensor(3, sizes, dtype, zero)
    ga[0], gc[0], gb[0] = gx._strides[0], gx._strides[1], gx._strides[2]
    return gx


cdef Tensor _row_grad(object grad, int reduction, object denom, DType dtype, double* scale,
                      Rows* L, str op):
    """For 'none', grad viewed (A, B) in dtype; otherwise None, with grad's value (divided by
    denom for 'mean') in scale."""
    cdef Tensor g = <Tensor?>grad
    scale[0] = 0
    if reduction == REDUCTION_NONE:
        if g._numel != L.A * L.B:
            raise RuntimeError(f"{op}: expected a grad_output of {L.A * L.B} elements, got "
                               f"{tuple(g.shape)}")
        g = g.reshape(L.A, L.B)
        return g if g._dtype is dtype else g.to(dtype)
    scale[0] = float(g.item())
    if reduction == REDUCTION_MEAN:
        scale[0] = scale[0] / <double>denom
    return None


def cross_entropy_backward(grad, Tensor x3, Tensor t2, weight, int64_t ignore_index,
                           double label_smoothing, int reduction, Tensor stats, denom):
    """The gradient of cross_entropy_forward's loss with respect to x3, given grad_output
    (0-d, or one value per row for 'none') and forward's stats and denom, as a new
    contiguous (A, C, B) tensor: the layout of a contiguous (N, C, d1..dk) input (NOTE
    [ Loss rows ])."""
    cdef Rows L
    cdef Tensor w, gx, g2 = None
    cdef int64_t ga, gb, gc, g_a = 0, g_b = 0
    cdef double scale
    _rows_of(&L, x3, t2, "cross_entropy_backward")
    w = _weight_of(weight, x3, "cross_entropy_backward")
    if stats._dtype is not x3._dtype or stats._numel != 2 * L.A * L.B or not stats._contiguous:
        raise RuntimeError("cross_entropy_backward: stats do not match the logits")
    _check_targets(&L, t2, ignore_index, "cross_entropy_backward")
    g2 = _row_grad(grad, reduction, denom, x3._dtype, &scale, &L, "cross_entropy_backward")
    if g2 is not None:
        g_a, g_b = g2._strides[0], g2._strides[1]
    gx = _grad_buffer(&L, x3._dtype, False, &ga, &gb, &gc)
    cdef char* xp = data_of(x3)
    cdef const int64_t* tp = <const int64_t*>data_of(t2)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* sp = data_of(stats)
    cdef char* gp = data_of(g2) if g2 is not None else NULL
    cdef char* dp = data_of(gx)
    with nogil:
        if x3._dtype.num == FLOAT32:
            xent_backward(&L, <const float*>xp, tp, <const float*>wp, ignore_index,
                          label_smoothing, <const float*>sp, <const float*>gp, g_a, g_b, scale,
                          <float*>dp, ga, gb, gc)
        else:
            xent_backward(&L, <const double*>xp, tp, <const double*>wp, ignore_index,
                          label_smoothing, <const double*>sp, <const double*>gp, g_a, g_b,
                          scale, <double*>dp, ga, gb, gc)
    return gx


def nll_loss_forward(Tensor x3, Tensor t2, weight, int64_t ignore_index, int reduction):
    """(out, denom) for log-probabilities x3 (A, B, C) and targets t2 (A, B):
    loss[r] = -w[t] x3[r, t], reduced as cross_entropy_forward reduces."""
    cdef Rows L
    cdef Tensor w, loss, wrow
    _rows_of(&L, x3, t2, "nll_loss")
    w = _weight_of(weight, x3, "nll_loss")
    _check_targets(&L, t2, ignore_index, "nll_loss")
    loss = _rows_buffer(&L, x3._dtype, 1)
    wrow = _rows_buffer(&L, x3._dtype, 1)
    cdef char* xp = data_of(x3)
    cdef const int64_t* tp = <const int64_t*>data_of(t2)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* lp = data_of(loss)
    cdef char* rp = data_of(wrow)
    with nogil:
        if x3._dtype.num == FLOAT32:
            nll_forward(&L, <const float*>xp, tp, <const float*>wp, ignore_index,
                        <float*>lp, <float*>rp)
        else:
            nll_forward(&L, <const double*>xp, tp, <const double*>wp, ignore_index,
                        <double*>lp, <double*>rp)
    return _reduce(loss, wrow, reduction)


def nll_loss_backward(grad, Tensor x3, Tensor t2, weight, int64_t ignore_index, int reduction,
                      denom):
    """The gradient of nll_loss_forward with respect to x3 as a new contiguous (A, C, B)
    tensor (zero but at each kept row's target)."""
    cdef Rows L
    cdef Tensor w, gx, g2 = None
    cdef int64_t ga, gb, gc, g_a = 0, g_b = 0
    cdef double scale
    _rows_of(&L, x3, t2, "nll_loss_backward")
    w = _weight_of(weight, x3, "nll_loss_backward")
    _check_targets(&L, t2, ignore_index, "nll_loss_backward")
    g2 = _row_grad(grad, reduction, denom, x3._dtype, &scale, &L, "nll_loss_backward")
    if g2 is not None:
        g_a, g_b = g2._strides[0], g2._strides[1]
    gx = _grad_buffer(&L, x3._dtype, True, &ga, &gb, &gc)
    cdef const int64_t* tp = <const int64_t*>data_of(t2)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* gp = data_of(g2) if g2 is not None else NULL
    cdef char* dp = data_of(gx)
    with nogil:
        if x3._dtype.num == FLOAT32:
            nll_backward(&L, tp, <const float*>wp, ignore_index, <const float*>gp, g_a, g_b,
                         scale, <float*>dp, ga, gb, gc)
        else:
            nll_backward(&L, tp, <const double*>wp, ignore_index, <const double*>gp, g_a, g_b,
                         scale, <double*>dp, ga, gb, gc)
    return gx


cdef double _sum_value(Tensor v, int64_t M):
    """sum of the first M elements of a contiguous float tensor, in _sum's fixed order."""
    if v._dtype.num == FLOAT32:
        return _sum(<const float*>data_of(v), M)
    return _sum(<const double*>data_of(v), M)


cdef Tensor _probs_of(Rows* L, Tensor x3, Tensor p3, str op):
    """p3 (A, B, C) in x3's dtype; sets L's target strides."""
    if p3._ndim != 3 or any([p3._sizes[i] != x3._sizes[i] for i in range(3)]):
        raise RuntimeError(f"{op}: probability targets {tuple(p3.shape)} do not match the "
                           f"logits {tuple(x3.shape)}")
    if p3._dtype is not x3._dtype:
        p3 = p3.to(x3._dtype)
    L.ta, L.tb, L.tc = p3._strides[0], p3._strides[1], p3._strides[2]
    return p3


def cross_entropy_probs_forward(Tensor x3, Tensor p3, weight, double label_smoothing,
                                int reduction):
    """(out, stats) for logits x3 (A, B, C) and class probabilities p3 (A, B, C) (see
    xent_probs_forward); 'mean' divides by the number of rows, as torch does."""
    cdef Rows L
    cdef Tensor w, loss, stats, out
    cdef int status
    cdef int64_t M
    _rows_of(&L, x3, None, "cross_entropy")
    p3 = _probs_of(&L, x3, p3, "cross_entropy")
    w = _weight_of(weight, x3, "cross_entropy")
    loss = _rows_buffer(&L, x3._dtype, 1)
    stats = _rows_buffer(&L, x3._dtype, 3)
    cdef char* xp = data_of(x3)
    cdef char* tp = data_of(p3)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* lp = data_of(loss)
    cdef char* sp = data_of(stats)
    with nogil:
        if x3._dtype.num == FLOAT32:
            status = xent_probs_forward(&L, <const float*>xp, <const float*>tp, <const float*>wp,
                                        label_smoothing, <float*>lp, <float*>sp)
        else:
            status = xent_probs_forward(&L, <const double*>xp, <const double*>tp,
                                        <const double*>wp, label_smoothing, <double*>lp,
                                        <double*>sp)
    if status != 0:
        raise MemoryError("cross_entropy: out of memory for the kernel's scratch buffers")
    if reduction == REDUCTION_NONE:
        return loss, stats
    M = L.A * L.B
    cdef double total = _sum_value(loss, M)
    if reduction == REDUCTION_MEAN:
        total = total / M if M else float("nan")
    out = new_tensor(0, NULL, x3._dtype, False)
    if x3._dtype.num == FLOAT32:
        (<float*>data_of(out))[0] = <float>total
    else:
        (<double*>data_of(out))[0] = total
    return out, stats


def cross_entropy_probs_backward(grad, Tensor x3, Tensor p3, weight, double label_smoothing,
                                 int reduction, Tensor stats):
    """The gradient of cross_entropy_probs_forward with respect to x3, a new contiguous
    (A, C, B) tensor as cross_entropy_backward's."""
    cdef Rows L
    cdef Tensor w, gx, g2 = None
    cdef int64_t ga, gb, gc, g_a = 0, g_b = 0
    cdef double scale
    _rows_of(&L, x3, None, "cross_entropy_backward")
    p3 = _probs_of(&L, x3, p3, "cross_entropy_backward")
    w = _weight_of(weight, x3, "cross_entropy_backward")
    if stats._dtype is not x3._dtype or stats._numel != 3 * L.A * L.B or not stats._contiguous:
        raise RuntimeError("cross_entropy_backward: stats do not match the logits")
    g2 = _row_grad(grad, reduction, L.A * L.B, x3._dtype, &scale, &L, "cross_entropy_backward")
    if g2 is not None:
        g_a, g_b = g2._strides[0], g2._strides[1]
    gx = _grad_buffer(&L, x3._dtype, False, &ga, &gb, &gc)
    cdef char* xp = data_of(x3)
    cdef char* tp = data_of(p3)
    cdef char* wp = data_of(w) if w is not None else NULL
    cdef char* sp = data_of(stats)
    cdef char* gp = data_of(g2) if g2 is not None else NULL
    cdef char* dp = data_of(gx)
    with nogil:
        if x3._dtype.num == FLOAT32:
            xent_probs_backward(&L, <const float*>xp, <const float*>tp, <const float*>wp,
                                label_smoothing, <const float*>sp, <const float*>gp, g_a, g_b,
                                scale, <float*>dp, ga, gb, gc)
        else:
            xent_probs_backward(&L, <const double*>xp, <const double*>tp, <const double*>wp,
                                label_smoothing, <const double*>sp, <const double*>gp, g_a, g_b,
                                scale, <double*>dp, ga, gb, gc)
    return gx
