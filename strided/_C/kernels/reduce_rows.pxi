# The reduction row kernels and per-lane scans (contracts in reduce.pxd).  Included twice,
# like elementwise_rows.pxi: by reduce.pyx (portable) and reduce_avx2.pyx (AVX2 + FMA);
# NOTE [ Kernel dispatch ] in elementwise.pyx.
cimport cython
from libc.math cimport exp, log, NAN, INFINITY
from libc.stdint cimport int64_t, int32_t, uint8_t
from libc.stdlib cimport malloc, free

from strided._C.core.dtypes cimport UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.blocked_sum cimport blocked_sum
from strided._C.kernels.fastmath cimport expf_fast

ctypedef fused in_t:
    uint8_t
    int32_t
    int64_t
    float
    double

ctypedef fused acc_t:          # sums and products accumulate in one of these
    int64_t
    double

ctypedef fused num_t:
    uint8_t
    int32_t
    int64_t
    float
    double

ctypedef fused real_t:
    float
    double


cdef inline num_t _combine(int op, num_t a, num_t b) noexcept nogil:
    if op == R_SUM:
        return a + b
    elif op == R_PROD:
        return a * b
    elif op == R_MAX:
        return b if (b > a or b != b) else a        # NaN, once seen, stays
    else:
        return b if (b < a or b != b) else a


# ---- rows ------------------------------------------------------------------------------------
# p[0]/s[0]: input row, p[1]/s[1]: accumulator (s[1] == 0: the whole row folds into p[1][0]).

cdef inline void _sum_row(in_t* ti, acc_t* ta, char** p, const int64_t* s, int64_t n) noexcept nogil:
    cdef in_t* x = <in_t*>p[0]
    cdef acc_t* o = <acc_t*>p[1]
    cdef int64_t i = 0, k = sizeof(in_t)
    cdef acc_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0
    if in_t is float:
        if s[1] == 0 and s[0] % 4 == 0:
            o[0] += <acc_t>blocked_sum(<const float*>x, s[0] // 4, n, 128)
            return
    if s[1] == 0:
        if s[0] == k:
            # eight partial sums: vectorizes, and splits the rounding error eight ways
            while i + 8 <= n:
                a0 += <acc_t>x[i]
                a1 += <acc_t>x[i + 1]
                a2 += <acc_t>x[i + 2]
                a3 += <acc_t>x[i + 3]
                a4 += <acc_t>x[i + 4]
                a5 += <acc_t>x[i + 5]
                a6 += <acc_t>x[i + 6]
                a7 += <acc_t>x[i + 7]
                i += 8
            while i < n:
                a0 += <acc_t>x[i]
                i += 1
        else:
            while i + 4 <= n:
                a0 += <acc_t>(<in_t*>(p[0] + i * s[0]))[0]
                a1 += <acc_t>(<in_t*>(p[0] + (i + 1) * s[0]))[0]
                a2 += <acc_t>(<in_t*>(p[0] + (i + 2) * s[0]))[0]
                a3 += <acc_t>(<in_t*>(p[0] + (i + 3) * s[0]))[0]
                i += 4
            while i < n:
                a0 += <acc_t>(<in_t*>(p[0] + i * s[0]))[0]
                i += 1
        o[0] += ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    elif s[0] == k and s[1] == sizeof(acc_t):
        for i in range(n):
            o[i] += <acc_t>x[i]
    else:
        for i in range(n):
            (<acc_t*>(p[1] + i * s[1]))[0] += <acc_t>(<in_t*>(p[0] + i * s[0]))[0]


cdef inline void _prod_row(in_t* ti, acc_t* ta, char** p, const int64_t* s, int64_t n) noexcept nogil:
    cdef in_t* x = <in_t*>p[0]
    cdef acc_t* o = <acc_t*>p[1]
    cdef int64_t i, k = sizeof(in_t)
    cdef acc_t a = 1
    if s[1] == 0:
        for i in range(n):
            a *= <acc_t>(<in_t*>(p[0] + i * s[0]))[0]
        o[0] *= a
    elif s[0] == k and s[1] == sizeof(acc_t):
        for i in range(n):
            o[i] *= <acc_t>x[i]
    else:
        for i in range(n):
            (<acc_t*>(p[1] + i * s[1]))[0] *= <acc_t>(<in_t*>(p[0] + i * s[0]))[0]


cdef inline void _minmax_row(bint is_max, in_t* ti, char** p, const int64_t* s,
                             int64_t n) noexcept nogil:
    cdef in_t* x = <in_t*>p[0]
    cdef in_t* o = <in_t*>p[1]
    cdef int64_t i, k = sizeof(in_t)
    cdef in_t m, v
    cdef bint nan = False
    if s[1] == 0:
        m = o[0]
        if s[0] == k:
            for i in range(n):
                v = x[i]
                if is_max:
                    m = v if v > m else m
                else:
                    m = v if v < m else m
                if in_t is float or in_t is double:
                    nan |= v != v
        else:
            for i in range(n):
                v = (<in_t*>(p[0] + i * s[0]))[0]
                if is_max:
                    m = v if v > m else m
                else:
                    m = v if v < m else m
                if in_t is float or in_t is double:
                    nan |= v != v
        if in_t is float or in_t is double:
            if nan:
                m = NAN
            if o[0] != o[0]:
                m = o[0]
        o[0] = m
    elif s[0] == k and s[1] == k:
        for i in range(n):
            o[i] = _combine(R_MAX if is_max else R_MIN, o[i], x[i])
    else:
        for i in range(n):
            (<in_t*>(p[1] + i * s[1]))[0] = _combine(
                R_MAX if is_max else R_MIN, (<in_t*>(p[1] + i * s[1]))[0],
                (<in_t*>(p[0] + i * s[0]))[0])


cdef void _reduce_rows(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef ReduceCtx* c = <ReduceCtx*>ctx
    cdef int op = c.op, it = c.in_type, at = c.acc_type
    if op == R_SUM or op == R_PROD:
        if it == FLOAT32:
            if op == R_SUM:
                _sum_row(<float*>NULL, <double*>NULL, p, s, n)
            else:
                _prod_row(<float*>NULL, <double*>NULL, p, s, n)
        elif it == FLOAT64:
            if op == R_SUM:
                _sum_row(<double*>NULL, <double*>NULL, p, s, n)
            else:
                _prod_row(<double*>NULL, <double*>NULL, p, s, n)
        elif it == INT64:
            if op == R_SUM:
                _sum_row(<int64_t*>NULL, <int64_t*>NULL, p, s, n)
            else:
                _prod_row(<int64_t*>NULL, <int64_t*>NULL, p, s, n)
        elif it == INT32:
            if op == R_SUM:
                _sum_row(<int32_t*>NULL, <int64_t*>NULL, p, s, n)
            else:
                _prod_row(<int32_t*>NULL, <int64_t*>NULL, p, s, n)
        else:
            if op == R_SUM:
                _sum_row(<uint8_t*>NULL, <int64_t*>NULL, p, s, n)
            else:
                _prod_row(<uint8_t*>NULL, <int64_t*>NULL, p, s, n)
    else:
        if it == FLOAT32:
            _minmax_row(op == R_MAX, <float*>NULL, p, s, n)
        elif it == FLOAT64:
            _minmax_row(op == R_MAX, <double*>NULL, p, s, n)
        elif it == INT64:
            _minmax_row(op == R_MAX, <int64_t*>NULL, p, s, n)
        elif it == INT32:
            _minmax_row(op == R_MAX, <int32_t*>NULL, p, s, n)
        else:
            _minmax_row(op == R_MAX, <uint8_t*>NULL, p, s, n)


# ---- per-lane scans --------------------------------------------------------------------------

cdef inline void _lane_arg(bint is_max, in_t* ti, const char* x, int64_t xs, int64_t length,
                           char* out, char* idx) noexcept nogil:
    cdef in_t best = (<in_t*>x)[0], v
    cdef int64_t k, where = 0
    for k in range(1, length):
        if in_t is float or in_t is double:
            if best != best:
                break
        v = (<in_t*>(x + k * xs))[0]
        if (v > best if is_max else v < best) or v != v:
            best = v
            where = k
    (<in_t*>out)[0] = best
    (<int64_t*>idx)[0] = where


cdef inline void _lane_scan(bint is_sum, in_t* ti, const char* x, int64_t xs, int64_t length,
                            char* out, int64_t os) noexcept nogil:
    cdef int64_t k
    cdef double facc = 0.0 if is_sum else 1.0
    cdef int64_t iacc = 0 if is_sum else 1
    for k in range(length):
        if in_t is float or in_t is double:
            if is_sum:
                facc = facc + (<in_t*>(x + k * xs))[0]
            else:
                facc = facc * (<in_t*>(x + k * xs))[0]
            (<in_t*>(out + k * os))[0] = <in_t>facc
        else:
            if is_sum:
                iacc = iacc + (<in_t*>(x + k * xs))[0]
            else:
                iacc = iacc * (<in_t*>(x + k * xs))[0]
            (<in_t*>(out + k * os))[0] = <in_t>iacc


cdef inline real_t _lane_max(const real_t* x, int64_t xs, int64_t length) noexcept nogil:
    """max over a lane (xs in elements); NaN if any element is NaN.  Eight running maxima
    and a NaN flag, so the contiguous loop vectorizes."""
    cdef real_t m0 = x[0], m1 = x[0], m2 = x[0], m3 = x[0]
    cdef real_t m4 = x[0], m5 = x[0], m6 = x[0], m7 = x[0], v
    cdef int64_t k = 0
    cdef int nan = 0
    if xs == 1:
        while k + 8 <= length:
            m0 = x[k] if x[k] > m0 else m0
            m1 = x[k + 1] if x[k + 1] > m1 else m1
            m2 = x[k + 2] if x[k + 2] > m2 else m2
            m3 = x[k + 3] if x[k + 3] > m3 else m3
            m4 = x[k + 4] if x[k + 4] > m4 else m4
            m5 = x[k + 5] if x[k + 5] > m5 else m5
            m6 = x[k + 6] if x[k + 6] > m6 else m6
            m7 = x[k + 7] if x[k + 7] > m7 else m7
            nan |= ((x[k] != x[k]) | (x[k + 1] != x[k + 1]) | (x[k + 2] != x[k + 2]) |
                    (x[k + 3] != x[k + 3]) | (x[k + 4] != x[k + 4]) | (x[k + 5] != x[k + 5]) |
                    (x[k + 6] != x[k + 6]) | (x[k + 7] != x[k + 7]))
            k += 8
    while k < length:
        v = x[k * xs]
        m0 = v if v > m0 else m0
        nan |= v != v
        k += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m4 = m5 if m5 > m4 else m4
    m6 = m7 if m7 > m6 else m6
    m0 = m2 if m2 > m0 else m0
    m4 = m6 if m6 > m4 else m4
    m0 = m4 if m4 > m0 else m0
    return <real_t>NAN if nan else m0


cdef inline real_t _exp_r(real_t x) noexcept nogil:
    if real_t is float:
        return expf_fast(x)
    else:
        return exp(x)


cdef inline double _lane_sum_exp(const real_t* x, int64_t xs, int64_t length, real_t m,
                                 real_t* scratch) noexcept nogil:
    """sum(exp(x - m)) over a lane, through `scratch` (length elements, contiguous)."""
    cdef int64_t k
    if xs == 1:
        for k in range(length):
            scratch[k] = _exp_r(x[k] - m)
    else:
        for k in range(length):
            scratch[k] = _exp_r(x[k * xs] - m)
    return blocked_sum(<const real_t*>scratch, 1, length, 64)


cdef inline void _lane_softmax(bint take_log, real_t* tr, const char* xp, int64_t xs_b,
                               int64_t length, char* op, int64_t os_b) noexcept nogil:
    cdef const real_t* x = <const real_t*>xp
    cdef real_t* o = <real_t*>op
    cdef int64_t xs = xs_b // <int64_t>sizeof(real_t), os = os_b // <int64_t>sizeof(real_t), k
    cdef real_t m = _lane_max(x, xs, length)
    cdef real_t shift, scale
    cdef real_t* scratch
    if os == 1:
        scratch = o                 # the exponentials land where softmax wants them
    else:
        scratch = <real_t*>malloc(length * sizeof(real_t))
        if scratch == NULL:         # no memory: fall back to a second exp pass
            scratch = o
    if take_log:
        # (x - max) - log(sum): rounding relative to the shifted values, as PyTorch
        shift = <real_t>log(_lane_sum_exp(x, xs, length, m, scratch) if scratch != o or os == 1
                            else _lane_sum_exp_strided(x, xs, length, m))
        if xs == 1 and os == 1:
            for k in range(length):
                o[k] = (x[k] - m) - shift
        else:
            for k in range(length):
                o[k * os] = (x[k * xs] - m) - shift
    else:
        if scratch == o and os != 1:
            scale = <real_t>(1.0 / _lane_sum_exp_strided(x, xs, length, m))
            for k in range(length):
                o[k * os] = _exp_r(x[k * xs] - m) * scale
        else:
            scale = <real_t>(1.0 / _lane_sum_exp(x, xs, length, m, scratch))
            if os == 1:
                for k in range(length):
                    o[k] = o[k] * scale
            else:
                for k in range(length):
                    o[k * os] = scratch[k] * scale
    if scratch != o:
        free(scratch)


cdef inline double _lane_sum_exp_strided(const real_t* x, int64_t xs, int64_t length,
                                         real_t m) noexcept nogil:
    cdef double total = 0
    cdef int64_t k
    for k in range(length):
        total += _exp_r(x[k * xs] - m)
    return total


cdef inline void _lane_logsumexp(real_t* tr, const char* xp, int64_t xs_b, int64_t length,
                                 char* op) noexcept nogil:
    cdef const real_t* x = <const real_t*>xp
    cdef int64_t xs = xs_b // <int64_t>sizeof(real_t)
    cdef real_t m = _lane_max(x, xs, length)
    if m == INFINITY or m == -INFINITY:
        (<real_t*>op)[0] = m
        return
    cdef real_t* scratch = <real_t*>malloc(length * sizeof(real_t))
    if scratch == NULL:
        (<real_t*>op)[0] = m + <real_t>log(_lane_sum_exp_strided(x, xs, length, m))
        return
    (<real_t*>op)[0] = m + <real_t>log(_lane_sum_exp(x, xs, length, m, scratch))
    free(scratch)


cdef inline void _lane_dispatch_t(in_t* ti, LaneCtx* c, char* x, char* out, char* idx) noexcept nogil:
    cdef int op = c.op
    if op == LANE_ARGMAX or op == LANE_ARGMIN:
        _lane_arg(op == LANE_ARGMAX, ti, x, c.in_stride, c.length, out, idx)
    elif op == LANE_CUMSUM or op == LANE_CUMPROD:
        _lane_scan(op == LANE_CUMSUM, ti, x, c.in_stride, c.length, out, c.out_stride)
    elif in_t is float or in_t is double:
        if op == LANE_SOFTMAX or op == LANE_LOG_SOFTMAX:
            _lane_softmax(op == LANE_LOG_SOFTMAX, ti, x, c.in_stride, c.length, out, c.out_stride)
        elif op == LANE_LOGSUMEXP:
            _lane_logsumexp(ti, x, c.in_stride, c.length, out)


cdef void _lane_rows(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef LaneCtx* c = <LaneCtx*>ctx
    cdef int64_t j
    cdef int dt = c.dtype
    for j in range(n):
        if dt == FLOAT32:
            _lane_dispatch_t(<float*>NULL, c, p[0] + j * s[0], p[1] + j * s[1], p[2] + j * s[2])
        elif dt == FLOAT64:
            _lane_dispatch_t(<double*>NULL, c, p[0] + j * s[0], p[1] + j * s[1], p[2] + j * s[2])
        elif dt == INT64:
            _lane_dispatch_t(<int64_t*>NULL, c, p[0] + j * s[0], p[1] + j * s[1], p[2] + j * s[2])
        elif dt == INT32:
            _lane_dispatch_t(<int32_t*>NULL, c, p[0] + j * s[0], p[1] + j * s[1], p[2] + j * s[2])
        else:
            _lane_dispatch_t(<uint8_t*>NULL, c, p[0] + j * s[0], p[1] + j * s[1], p[2] + j * s[2])
