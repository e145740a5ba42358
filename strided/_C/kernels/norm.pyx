# Layer: kernels, mixed: the Tensor-level entry points (batch_norm_*) are at the end of
# this file, next to the kernels they drive (strided/_C/README.md).
"""Batch and layer normalisation kernels: per-channel statistics, the normalising pass and
the fused backward, over (N, C, *) inputs of any strides; and layer norm's fused forward and
backward over rows (NOTE [ Layer-norm kernels ]).

NOTE [ Batch-norm kernels ]
The input is seen as (N, C, S) with the spatial dims merged into S (when their strides
chain; otherwise a contiguous copy is normalised).  Every pass runs channel by channel, one
channel per OpenMP iteration, so a channel's sums are always added in the same order and
the results do not depend on the thread count.  Sums run in eight independent lanes
(vectorizable without -ffast-math), in the input's type over blocks of 128 elements whose
sums are added in double -- the accuracy of a pairwise sum at the speed of a float one.  With n = N*S values a channel:
    forward    mean = sum(x) / n,  var = sum((x - mean)^2) / n         (two passes)
               y = x * scale + shift,  scale = invstd * w,  shift = b - mean * scale
    backward   sum_dy = sum(dy),  sum_dy_xhat = sum(dy * (x - mean)) * invstd
               dx = scale * (dy - sum_dy / n - xhat * sum_dy_xhat / n)    (training)
               dx = scale * dy                                             (evaluation)
The backward recomputes xhat from x, mean and invstd instead of saving it.
"""
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.core.threads cimport num_threads_for
from strided._C.kernels.blocked_sum cimport blocked_sum

ctypedef fused floating:
    float
    double

cdef enum:
    GRAIN = 32768
    LANES = 8               # independent partial sums (the blocks below spell out 8 and 128)


cdef extern from *:
    """
    #include <string.h>
    /* a[j] = sum_k g[8k+j], b[j] = sum_k g[8k+j] * (x[8k+j] - m) over 128 elements, in
       GCC vector types: the compiler's own vectorization of this two-sum loop spilled
       registers (3x slower).  Eight lanes per sum in the input's type. */
    typedef float bn_f4 __attribute__((vector_size(16)));
    typedef double bn_d2 __attribute__((vector_size(16)));
    static inline void bn_dot_block_f(const float* g, const float* x, float m, float* a,
                                      float* b) {
        bn_f4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, g0, g1, x0, x1;
        bn_f4 mv = {m, m, m, m};
        for (int k = 0; k < 128; k += 8) {
            memcpy(&g0, g + k, 16); memcpy(&g1, g + k + 4, 16);
            memcpy(&x0, x + k, 16); memcpy(&x1, x + k + 4, 16);
            a0 += g0; a1 += g1;
            b0 += g0 * (x0 - mv); b1 += g1 * (x1 - mv);
        }
        memcpy(a, &a0, 16); memcpy(a + 4, &a1, 16);
        memcpy(b, &b0, 16); memcpy(b + 4, &b1, 16);
    }
    static inline void bn_dot_block_d(const double* g, const double* x, double m, double* a,
                                      double* b) {
        bn_d2 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        bn_d2 g0, g1, g2, g3, x0, x1, x2, x3, mv = {m, m};
        for (int k = 0; k < 128; k += 8) {
            memcpy(&g0, g + k, 16); memcpy(&g1, g + k + 2, 16);
            memcpy(&g2, g + k + 4, 16); memcpy(&g3, g + k + 6, 16);
            memcpy(&x0, x + k, 16); memcpy(&x1, x + k + 2, 16);
            memcpy(&x2, x + k + 4, 16); memcpy(&x3, x + k + 6, 16);
            a0 += g0; a1 += g1; a2 += g2; a3 += g3;
            b0 += g0 * (x0 - mv); b1 += g1 * (x1 - mv);
            b2 += g2 * (x2 - mv); b3 += g3 * (x3 - mv);
        }
        memcpy(a, &a0, 16); memcpy(a + 2, &a1, 16); memcpy(a + 4, &a2, 16);
        memcpy(a + 6, &a3, 16);
        memcpy(b, &b0, 16); memcpy(b + 2, &b1, 16); memcpy(b + 4, &b2, 16);
        memcpy(b + 6, &b3, 16);
    }
    """
    void bn_dot_block_f(const float* g, const float* x, float m, float* a, float* b) noexcept nogil
    void bn_dot_block_d(const double* g, const double* x, double m, double* a,
                        double* b) noexcept nogil


cdef struct Layout:         # x seen as (N, C, S), strides in elements
    int64_t N, C, S, sn, sc, ss


# ---- kernels ----------------------------------------------------------------------------

cdef inline double _sum(const floating* x, const Layout* L) noexcept nogil:
    """sum over (n, s) of x."""
    cdef floating acc[LANES]
    cdef double wide[LANES]
    cdef int64_t n, s, j, k, S = L.S, ss = L.ss
    cdef const floating* row
    cdef double total = 0.0
    for j in range(LANES):
        wide[j] = 0.0
    for n in range(L.N):
        row = x + n * L.sn
        s = 0
        if ss == 1:
            while s + 128 <= S:         # blocks in the input's type, then double
                for j in range(8):
                    acc[j] = 0
                for k in range(0, 128, 8):
                    for j in range(8):
                        acc[j] += row[s + k + j]
                for j in range(8):
                    wide[j] += acc[j]
                s += 128
        while s < S:
            wide[0] += row[s * ss]
            s += 1
    for j in range(LANES):
        total += wide[j]
    return total


cdef inline double _sumsq(const floating* x, const Layout* L, double mean) noexcept nogil:
    """sum over (n, s) of (x - mean)^2."""
    cdef floating acc[LANES]
    cdef double wide[LANES]
    cdef floating d, m = <floating>mean
    cdef double dd
    cdef int64_t n, s, j, k, S = L.S, ss = L.ss
    cdef const floating* row
    cdef double total = 0.0
    for j in range(LANES):
        wide[j] = 0.0
    for n in range(L.N):
        row = x + n * L.sn
        s = 0
        if ss == 1:
            while s + 128 <= S:
                for j in range(8):
                    acc[j] = 0
                for k in range(0, 128, 8):
                    for j in range(8):
                        d = row[s + k + j] - m
                        acc[j] += d * d
                for j in range(8):
                    wide[j] += acc[j]
                s += 128
        while s < S:
            dd = row[s * ss] - mean
            wide[0] += dd * dd
            s += 1
    for j in range(LANES):
        total += wide[j]
    return total


cdef inline void _sums_dy(const floating* dy, const Layout* D, const floating* x,
                          const Layout* L, double mean, double* sum_dy,
                          double* sum_dy_xc) noexcept nogil:
    """sum(dy) and sum(dy * (x - mean)) over (n, s)."""
    cdef floating a[8]
    cdef floating b[8]
    cdef double wa = 0.0, wb = 0.0, gd
    cdef floating m = <floating>mean
    cdef int64_t n, s, j, k, S = L.S
    cdef const floating* xr
    cdef const floating* gr
    for n in range(L.N):
        xr = x + n * L.sn
        gr = dy + n * D.sn
        s = 0
        if L.ss == 1 and D.ss == 1:
            while s + 128 <= S:
                if floating is float:
                    bn_dot_block_f(gr + s, xr + s, m, a, b)
                else:
                    bn_dot_block_d(gr + s, xr + s, m, a, b)
                wa += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
                wb += ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))
                s += 128
        while s < S:
            gd = gr[s * D.ss]
            wa += gd
            wb += gd * (xr[s * L.ss] - mean)
            s += 1
    sum_dy[0] = wa
    sum_dy_xc[0] = wb


cdef inline void _affine(floating* out, const Layout* O, const floating* x, const Layout* L,
                         floating scale, floating shift) noexcept nogil:
    """out = x * scale + shift over (n, s)."""
    cdef int64_t n, s, S = L.S
    cdef floating* orow
    cdef const floating* xr
    for n in range(L.N):
        orow = out + n * O.sn
        xr = x + n * L.sn
        if L.ss == 1 and O.ss == 1:
            for s in range(S):
                orow[s] = xr[s] * scale + shift
        else:
            for s in range(S):
                orow[s * O.ss] = xr[s * L.ss] * scale + shift


cdef inline void _affine2(floating* out, const Layout* O, const floating* dy, const Layout* D,
                          const floating* x, const Layout* L, floating a, floating b,
                          floating c) noexcept nogil:
    """out = dy * a + x * b + c over (n, s)."""
    cdef int64_t n, s, S = L.S
    cdef floating* orow
    cdef const floating* xr
    cdef const floating* gr
    for n in range(L.N):
        orow = out + n * O.sn
        xr = x + n * L.sn
        gr = dy + n * D.sn
        if L.ss == 1 and O.ss == 1 and D.ss == 1:
            for s in range(S):
                orow[s] = gr[s] * a + xr[s] * b + c
        else:
            for s in range(S):
                orow[s * O.ss] = gr[s * D.ss] * a + xr[s * L.ss] * b + c


cdef void _stats(const floating* x, const Layout* L, floating* mean, floating* var,
                 int nt) noexcept nogil:
    cdef int64_t c
    cdef double m, count = <double>(L.N * L.S)
    for c in prange(L.C, num_threads=nt, schedule="static"):
        m = _sum(x + c * L.sc, L) / count
        mean[c] = <floating>m
        var[c] = <floating>(_sumsq(x + c * L.sc, L, m) / count)


cdef void _forward(floating* out, const Layout* O, const floating* x, const Layout* L,
                   const floating* mean, const floating* invstd, const floating* w,
                   const floating* b, int nt) noexcept nogil:
    cdef int64_t c
    cdef double scale, shift
    for c in prange(L.C, num_threads=nt, schedule="static"):
        scale = invstd[c] * (<double>w[c] if w != NULL else 1.0)
        shift = (<double>b[c] if b != NULL else 0.0) - mean[c] * scale
        _affine(out + c * O.sc, O, x + c * L.sc, L, <floating>scale, <floating>shift)


cdef void _backward(floating* dx, const Layout* O, const floating* dy, const Layout* D,
                    const floating* x, const Layout* L, const floating* mean,
                    const floating* invstd, const floating* w, bint training,
                    floating* sum_dy, floating* sum_dy_xhat, int nt) noexcept nogil:
    cdef int64_t c
    cdef double sdy, sdxc, istd, scale, k, mdy, count = <double>(L.N * L.S)
    for c in prange(L.C, num_threads=nt, schedule="static"):
        istd = invstd[c]
        sdy = 0             # assigned, so private to each thread (see _ln_backward_dx)
        sdxc = 0
        _sums_dy(dy + c * D.sc, D, x + c * L.sc, L, mean[c], &sdy, &sdxc)
        sum_dy[c] = <floating>sdy
        sum_dy_xhat[c] = <floating>(sdxc * istd)
        if dx == NULL:
            continue
        scale = istd * (<double>w[c] if w != NULL else 1.0)
        if training:        # dx = scale * (dy - mdy - (x - mean) * istd^2 * sdxc / count)
            mdy = sdy / count
            k = istd * istd * sdxc / count
            _affine2(dx + c * O.sc, O, dy + c * D.sc, D, x + c * L.sc, L,
                     <floating>scale, <floating>(-scale * k),
                     <floating>(scale * (k * mean[c] - mdy)))
        else:
            _affine2(dx + c * O.sc, O, dy + c * D.sc, D, x + c * L.sc, L,
                     <floating>scale, <floating>0.0, <floating>0.0)


# ---- Tensor entry points ----------------------------------------------------------------

cdef Tensor _as_ncs(Tensor x, Layout* L):
    """x itself (or a contiguous copy when its spatial dims don't merge), with L describing
    it as (N, C, S)."""
    cdef int d
    cdef int64_t S = 1, ss = 1
    cdef bint merged = True
    for d in range(x._ndim - 1, 1, -1):     # innermost first: each outer dim must chain
        if x._sizes[d] == 1:
            continue
        if S == 1:
            ss = x._strides[d]
        elif x._strides[d] != ss * S:
            merged = False
            break
        S *= x._sizes[d]
    if not merged:
        x = x.contiguous()
        return _as_ncs(x, L)
    L.N, L.C, L.S = x._sizes[0], x._sizes[1], S
    L.sn, L.sc, L.ss = x._strides[0], x._strides[1], ss
    return x


cdef int _check(Tensor x, str op) except -1:
    if x._ndim < 2:
        raise ValueError(f"{op}: expected 2D or more input (got {x._ndim}D input)")
    if x._dtype.num != FLOAT32 and x._dtype.num != FLOAT64:
        raise TypeError(f"{op}: expected a float32 or float64 input, but got {x._dtype.name}")
    return 0


cdef Tensor _channel_vector(object t, Tensor x, str op, str name):
    """t as a contiguous (C,) tensor of x's dtype, or None."""
    cdef Tensor v
    if t is None:
        return None
    v = <Tensor>t
    if v._ndim != 1 or v._sizes[0] != x._sizes[1]:
        raise ValueError(f"{op}: {name} must have shape ({x._sizes[1]},) (one value per "
                         f"channel), but got {tuple(v.shape)}")
    if v._dtype is not x._dtype:
        raise TypeError(f"{op}: {name} is {v._dtype.name} but the input is {x._dtype.name}")
    return v.contiguous()


cdef void* _ptr(Tensor t) noexcept:
    return <void*>data_of(t) if t is not None else NULL


def batch_norm_stats(Tensor x):
    """(mean, var): per-channel (dim 1) mean and biased variance of x, each (C,)."""
    cdef Layout L
    cdef int64_t c_size[1]
    _check(x, "batch_norm")
    x = _as_ncs(x, &L)
    c_size[0] = L.C
    cdef Tensor mean = new_tensor(1, c_size, x._dtype, True)
    cdef Tensor var = new_tensor(1, c_size, x._dtype, True)
    cdef int nt = num_threads_for(L.N * L.C * L.S, GRAIN)
    if L.N * L.S == 0:
        return mean, var
    if x._dtype.num == FLOAT32:
        with nogil:
            _stats(<float*>data_of(x), &L, <float*>data_of(mean), <float*>data_of(var), nt)
    else:
        with nogil:
            _stats(<double*>data_of(x), &L, <double*>data_of(mean), <double*>data_of(var), nt)
    return mean, var


def batch_norm_forward(Tensor x, Tensor mean, Tensor invstd, weight=None, bias=None):
    """y = (x - mean) * invstd * weight + bias per channel; y is contiguous, x's shape."""
    cdef Layout L, O
    _check(x, "batch_norm")
    mean = _channel_vector(mean, x, "batch_norm", "mean")
    invstd = _channel_vector(invstd, x, "batch_norm", "invstd")
    cdef Tensor w = _channel_vector(weight, x, "batch_norm", "weight")
    cdef Tensor b = _channel_vector(bias, x, "batch_norm", "bias")
    x = _as_ncs(x, &L)
    cdef Tensor out = new_tensor(x._ndim, x._sizes, x._dtype, False)
    _as_ncs(out, &O)
    cdef int nt = num_threads_for(L.N * L.C * L.S, GRAIN)
    cdef void* pw = _ptr(w)
    cdef void* pb = _ptr(b)
    if out._numel == 0:
        return out
    if x._dtype.num == FLOAT32:
        with nogil:
            _forward(<float*>data_of(out), &O, <float*>data_of(x), &L, <float*>data_of(mean),
                     <float*>data_of(invstd), <float*>pw, <float*>pb, nt)
    else:
        with nogil:
            _forward(<double*>data_of(out), &O, <double*>data_of(x), &L,
                     <double*>data_of(mean), <double*>data_of(invstd), <double*>pw,
                     <double*>pb, nt)
    return out


def batch_norm_backward(Tensor dy, Tensor x, Tensor mean, Tensor invstd, weight, bint training,
                        bint need_dx=True):
    """(dx or None, sum_dy, sum_dy_xhat): see NOTE [ Batch-norm kernels ].  sum_dy is the
    bias gradient and sum_dy_xhat the weight gradient."""
    cdef Layout L, D, O
    _check(x, "batch_norm_backward")
    if tuple(dy.shape) != tuple(x.shape) or dy._dtype is not x._dtype:
        raise ValueError(f"batch_norm_backward: grad_output {tuple(dy.shape)} "
                         f"{dy._dtype.name} doesn't match the input {tuple(x.shape)} "
                         f"{x._dtype.name}")
    mean = _channel_vector(mean, x, "batch_norm_backward", "mean")
    invstd = _channel_vector(invstd, x, "batch_norm_backward", "invstd")
    cdef Tensor w = _channel_vector(weight, x, "batch_norm_backward", "weight")
    x = _as_ncs(x, &L)
    dy = _as_ncs(dy, &D)
    cdef int64_t c_size[1]
    c_size[0] = L.C
    cdef Tensor sum_dy = new_tensor(1, c_size, x._dtype, True)
    cdef Tensor sum_dy_xhat = new_tensor(1, c_size, x._dtype, True)
    cdef Tensor dx = new_tensor(x._ndim, x._sizes, x._dtype, False) if need_dx else None
    if dx is not None:
        _as_ncs(dx, &O)
    cdef int nt = num_threads_for(L.N * L.C * L.S, GRAIN)
    cdef void* pw = _ptr(w)
    cdef void* pdx = _ptr(dx)
    if L.N * L.S == 0:
        return dx, sum_dy, sum_dy_xhat
    if x._dtype.num == FLOAT32:
        with nogil:
            _backward(<float*>pdx, &O, <float*>data_of(dy), &D, <float*>data_of(x), &L,
                      <float*>data_of(mean), <float*>data_of(invstd), <float*>pw,
                      training, <float*>data_of(sum_dy), <float*>data_of(sum_dy_xhat), nt)
    else:
        with nogil:
            _backward(<double*>pdx, &O, <double*>data_of(dy), &D, <double*>data_of(x),
                      &L, <double*>data_of(mean), <double*>data_of(invstd), <double*>pw,
                      training, <double*>data_of(sum_dy), <double*>data_of(sum_dy_xhat), nt)
    return dx, sum_dy, sum_dy_xhat


# ---- layer norm -------------------------------------------------------------------------
#
# NOTE [ Layer-norm kernels ]
# layer_norm normalises each row of D = prod(normalized_shape) values (the input's last
# dims, made contiguous) to mean 0 and variance 1, then applies weight and bias per column.
# One row per OpenMP iteration, so a row's sums are added in the same order whatever the
# thread count.  Row sums use the blocked float sum (NOTE [ Blocked float sum ]): eight
# partial sums in the input's type over blocks of 64, block totals in double.
#     forward    mean = sum(x) / D,  var = sum((x - mean)^2) / D   (two passes; biased)
#                rstd = 1 / sqrt(var + eps),  y = (x - mean) * rstd * w + b
#     backward   g = dy * w,  xhat = (x - mean) * rstd
#                dx = rstd * (g - sum(g) / D - xhat * sum(g * xhat) / D)
#                dw = sum over rows of dy * xhat,  db = sum over rows of dy
# The forward saves mean and rstd per row (the input's dtype); the backward recomputes xhat.
# dw and db are column sums: blocks of 64 columns, one block per OpenMP iteration, each
# walking all rows in order with float64 accumulators -- deterministic, and each row's 64
# values are one contiguous read.

cdef enum:
    LN_BLOCK = 64


cdef inline double _dev_sumsq(const floating* x, int64_t n, floating m) noexcept nogil:
    """sum((x[i] - m)^2) for i < n, summed like blocked_sum."""
    cdef double total = 0
    cdef floating s0, s1, s2, s3, s4, s5, s6, s7, d
    cdef int64_t i = 0, j
    cdef const floating* b
    while i + LN_BLOCK <= n:
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        b = x + i
        for j in range(0, LN_BLOCK, 8):
            s0 += (b[j] - m) * (b[j] - m)
            s1 += (b[j + 1] - m) * (b[j + 1] - m)
            s2 += (b[j + 2] - m) * (b[j + 2] - m)
            s3 += (b[j + 3] - m) * (b[j + 3] - m)
            s4 += (b[j + 4] - m) * (b[j + 4] - m)
            s5 += (b[j + 5] - m) * (b[j + 5] - m)
            s6 += (b[j + 6] - m) * (b[j + 6] - m)
            s7 += (b[j + 7] - m) * (b[j + 7] - m)
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        i += LN_BLOCK
    while i < n:
        d = x[i] - m
        total += d * d
        i += 1
    return total


cdef inline void _dual_sums(const floating* dy, const floating* w, const floating* x,
                            int64_t n, floating m, double* sum_g,
                            double* sum_gxc) noexcept nogil:
    """sum(g) and sum(g * (x - m)) with g = dy * w (w NULL: g = dy), eight lanes each in the
    input's type per block of 64, block totals in double."""
    cdef floating a[8]
    cdef floating c[8]
    cdef floating g
    cdef double ta = 0, tc = 0
    cdef int64_t i = 0, j, k
    while i + LN_BLOCK <= n:
        for k in range(8):
            a[k] = 0
            c[k] = 0
        for j in range(i, i + LN_BLOCK, 8):
            for k in range(8):
                g = dy[j + k] * w[j + k] if w != NULL else dy[j + k]
                a[k] += g
                c[k] += g * (x[j + k] - m)
        ta += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
        tc += ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]))
        i += LN_BLOCK
    while i < n:
        g = dy[i] * w[i] if w != NULL else dy[i]
        ta += g
        tc += g * (x[i] - m)
        i += 1
    sum_g[0] = ta
    sum_gxc[0] = tc


cdef void _ln_forward(floating* y, const floating* x, int64_t R, int64_t D,
                      const floating* w, const floating* b, double eps, floating* mean,
                      floating* rstd, int nt) noexcept nogil:
    cdef int64_t r, j
    cdef double m, v
    cdef floating fm, fs
    cdef const floating* xr
    cdef floating* yr
    for r in prange(R, num_threads=nt, schedule="static"):
        xr = x + r * D
        yr = y + r * D
        m = blocked_sum(xr, 1, D, LN_BLOCK) / <double>D
        fm = <floating>m
        v = _dev_sumsq(xr, D, fm) / <double>D
        fs = <floating>(1.0 / sqrt(v + eps))
        mean[r] = fm
        rstd[r] = fs
        if w != NULL and b != NULL:
            for j in range(D):
                yr[j] = (xr[j] - fm) * fs * w[j] + b[j]
        elif w != NULL:
            for j in range(D):
                yr[j] = (xr[j] - fm) * fs * w[j]
        elif b != NULL:
            for j in range(D):
                yr[j] = (xr[j] - fm) * fs + b[j]
        else:
            for j in range(D):
                yr[j] = (xr[j] - fm) * fs


cdef void _ln_backward_dx(floating* dx, const floating* dy, const floating* x, int64_t R,
                          int64_t D, const floating* mean, const floating* rstd,
                          const floating* w, int nt) noexcept nogil:
    cdef int64_t r, j
    cdef double sg, sgxc
    cdef floating fm, fs, c1, c0
    cdef const floating* xr
    cdef const floating* dyr
    cdef floating* dxr
    for r in prange(R, num_threads=nt, schedule="static"):
        xr = x + r * D
        dyr = dy + r * D
        dxr = dx + r * D
        fm = mean[r]
        fs = rstd[r]
        # assigned here, so the prange makes them private to each thread: written only
        # through their addresses, Cython would leave them shared (a race)
        sg = 0
        sgxc = 0
        _dual_sums(dyr, w, xr, D, fm, &sg, &sgxc)
        # dx = rstd * g + c1 * (x - mean) + c0: c1 = -rstd^3 sum(g xc) / D, c0 = -rstd sum(g) / D
        c1 = <floating>(-(<double>fs) * fs * fs * sgxc / D)
        c0 = <floating>(-(<double>fs) * sg / D)
        if w != NULL:
            for j in range(D):
                dxr[j] = fs * dyr[j] * w[j] + c1 * (xr[j] - fm) + c0
        else:
            for j in range(D):
                dxr[j] = fs * dyr[j] + c1 * (xr[j] - fm) + c0


cdef inline void _ln_param_block(const floating* dy, const floating* x, int64_t R,
                                 int64_t D, int64_t j0, int64_t j1, const floating* mean,
                                 const floating* rstd, floating* dw,
                                 floating* db) noexcept nogil:
    """Columns [j0, j1) of dw and db (j1 - j0 <= LN_BLOCK), all rows in order."""
    cdef double aw[LN_BLOCK]
    cdef double ab[LN_BLOCK]
    cdef int64_t j, r, n = j1 - j0
    cdef floating fm, fs
    cdef const floating* xr
    cdef const floating* dyr
    for j in range(n):
        aw[j] = 0
        ab[j] = 0
    for r in range(R):
        xr = x + r * D + j0
        dyr = dy + r * D + j0
        fm = mean[r]
        fs = rstd[r]
        for j in range(n):
            aw[j] += dyr[j] * ((xr[j] - fm) * fs)
            ab[j] += dyr[j]
    for j in range(n):
        if dw != NULL:
            dw[j0 + j] = <floating>aw[j]
        if db != NULL:
            db[j0 + j] = <floating>ab[j]


cdef void _ln_param_grads(const floating* dy, const floating* x, int64_t R, int64_t D,
                          const floating* mean, const floating* rstd, floating* dw,
                          floating* db, int nt) noexcept nogil:
    """dw[j] = sum_r dy[r, j] * xhat[r, j], db[j] = sum_r dy[r, j] (either may be NULL)."""
    cdef int64_t blk, nblk = (D + LN_BLOCK - 1) // LN_BLOCK
    for blk in prange(nblk, num_threads=nt, schedule="static"):
        _ln_param_block(dy, x, R, D, blk * LN_BLOCK,
                        blk * LN_BLOCK + LN_BLOCK if blk * LN_BLOCK + LN_BLOCK < D else D,
                        mean, rstd, dw, db)


cdef Tensor _rows_of(object t, int64_t numel, DType dtype, str op, str name):
    """t as a contiguous tensor of dtype with numel elements (checked), or None."""
    cdef Tensor v
    if t is None:
        return None
    v = <Tensor>t
    if v._dtype is not dtype:
        raise TypeError(f"{op}: {name} is {v._dtype.name} but the input is {dtype.name}")
    if v._numel != numel:
        raise ValueError(f"{op}: {name} has {v._numel} elements, expected {numel}")
    return v.contiguous()


def layer_norm_forward(Tensor x, int64_t D, weight=None, bias=None, double eps=1e-5):
    """(y, mean, rstd) of layer norm over rows of the last D elements of x (NOTE [ Layer-norm
    kernels ]): y contiguous with x's shape, mean and rstd (x.numel() // D,) in x's dtype.
    weight and bias have D elements each, or are None."""
    if x._dtype.num != FLOAT32 and x._dtype.num != FLOAT64:
        raise TypeError(f"layer_norm: expected a float32 or float64 input, but got "
                        f"{x._dtype.name}")
    if D <= 0 or x._numel % D:
        raise ValueError(f"layer_norm: rows of {D} elements don't tile an input of "
                         f"{x._numel} elements")
    cdef Tensor w = _rows_of(weight, D, x._dtype, "layer_norm", "weight")
    cdef Tensor b = _rows_of(bias, D, x._dtype, "layer_norm", "bias")
    x = x.contiguous()
    cdef int64_t R = x._numel // D
    cdef int64_t r_size[1]
    r_size[0] = R
    cdef Tensor y = new_tensor(x._ndim, x._sizes, x._dtype, False)
    cdef Tensor mean = new_tensor(1, r_size, x._dtype, False)
    cdef Tensor rstd = new_tensor(1, r_size, x._dtype, False)
    cdef int nt = num_threads_for(x._numel, GRAIN)
    cdef void* pw = _ptr(w)
    cdef void* pb = _ptr(b)
    if R == 0:
        return y, mean, rstd
    if x._dtype.num == FLOAT32:
        with nogil:
            _ln_forward(<float*>data_of(y), <float*>data_of(x), R, D, <float*>pw, <float*>pb,
                        eps, <float*>data_of(mean), <float*>data_of(rstd), nt)
    else:
        with nogil:
            _ln_forward(<double*>data_of(y), <double*>data_of(x), R, D, <double*>pw,
                        <double*>pb, eps, <double*>data_of(mean), <double*>data_of(rstd), nt)
    return y, mean, rstd


def layer_norm_backward(Tensor dy, Tensor x, Tensor mean, Tensor rstd, weight, bint need_dx,
                        bint need_weight, bint need_bias):
    """(dx, dweight, dbias) of layer norm (NOTE [ Layer-norm kernels ]), None where not
    needed; dweight and dbias are flat (D,) tensors."""
    if dy._numel != x._numel or dy._dtype is not x._dtype:
        raise ValueError(f"layer_norm_backward: grad_output {tuple(dy.shape)} "
                         f"{dy._dtype.name} doesn't match the input {tuple(x.shape)} "
                         f"{x._dtype.name}")
    cdef int64_t R = mean._numel
    if R == 0 or x._numel % R or rstd._numel != R:
        raise ValueError("layer_norm_backward: mean and rstd must have one value per row")
    cdef int64_t D = x._numel // R
    cdef Tensor w = _rows_of(weight, D, x._dtype, "layer_norm_backward", "weight")
    x = x.contiguous()
    dy = dy.contiguous()
    mean = _rows_of(mean, R, x._dtype, "layer_norm_backward", "mean")
    rstd = _rows_of(rstd, R, x._dtype, "layer_norm_backward", "rstd")
    cdef int64_t d_size[1]
    d_size[0] = D
    cdef Tensor dx = new_tensor(x._ndim, x._sizes, x._dtype, False) if need_dx else None
    cdef Tensor dw = new_tensor(1, d_size, x._dtype, False) if need_weight else None
    cdef Tensor db = new_tensor(1, d_size, x._dtype, False) if need_bias else None
    cdef int nt = num_threads_for(x._numel, GRAIN)
    cdef void* pw = _ptr(w)
    cdef void* pdx = _ptr(dx)
    cdef void* pdw = _ptr(dw)
    cdef void* pdb = _ptr(db)
    if x._dtype.num == FLOAT32:
        with nogil:
            if pdx != NULL:
                _ln_backward_dx(<float*>pdx, <float*>data_of(dy), <float*>data_of(x), R, D,
                                <float*>data_of(mean), <float*>data_of(rstd), <float*>pw, nt)
            if pdw != NULL or pdb != NULL:
                _ln_param_grads(<float*>data_of(dy), <float*>data_of(x), R, D,
                                <float*>data_of(mean), <float*>data_of(rstd), <float*>pdw,
                                <float*>pdb, nt)
    else:
        with nogil:
            if pdx != NULL:
                _ln_backward_dx(<double*>pdx, <double*>data_of(dy), <double*>data_of(x), R,
                                D, <double*>data_of(mean), <double*>data_of(rstd),
                                <double*>pw, nt)
            if pdw != NULL or pdb != NULL:
                _ln_param_grads(<double*>data_of(dy), <double*>data_of(x), R, D,
                                <double*>data_of(mean), <double*>data_of(rstd), <double*>pdw,
                                <double*>pdb, nt)
    return dx, dw, db
