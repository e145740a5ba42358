# Layer: kernels, mixed: the Tensor-level entry points (batch_norm_*) are at the end of
# this file, next to the kernels they drive (strided/_C/README.md).
"""Batch normalisation kernels: per-channel statistics, the normalising pass and the fused
backward, over (N, C, *) inputs of any strides.

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
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.core.threads cimport num_threads_for

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
