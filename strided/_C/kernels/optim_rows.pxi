# The fused optimizer row kernels (NOTE [ Fused optimizer updates ] in kernels/optim.pyx),
# included by optim.pyx (baseline ISA) and optim_avx2.pyx (AVX2 + FMA).
from libc.math cimport sqrt, sqrtf
from libc.stdint cimport int64_t

# The including module provides SGDHyper, AdamHyper and SGDCtx (optim.pxd).

ctypedef fused floating:
    float
    double

# ---- SGD --------------------------------------------------------------------------------

cdef inline void _sgd_loop(floating* p, const floating* g, floating* b,
                           int64_t ps, int64_t gs, int64_t bs, int64_t n,
                           const SGDHyper* h, bint has_buf) noexcept nogil:
    """The SGD rule on n elements p[i*ps], g[i*gs], b[i*bs] (strides in elements)."""
    cdef floating neg_lr = <floating>(-h.lr)
    cdef floating mom = <floating>h.momentum
    cdef floating damp1 = <floating>(1.0 - h.dampening)
    cdef floating wd = <floating>h.weight_decay
    cdef floating sign = <floating>(-1.0 if h.maximize else 1.0)
    cdef bint has_wd = h.weight_decay != 0, first = h.first_step, nesterov = h.nesterov
    cdef floating gi, bi
    cdef int64_t i
    for i in range(n):
        gi = sign * g[i * gs]                   # -g exactly when maximizing
        if has_wd:
            gi = gi + wd * p[i * ps]
        if has_buf:
            if first:
                bi = gi
            else:
                bi = b[i * bs] * mom + damp1 * gi
            b[i * bs] = bi
            if nesterov:
                gi = gi + mom * bi
            else:
                gi = bi
        p[i * ps] = p[i * ps] + neg_lr * gi


cdef inline void _sgd_row_t(floating* p, const floating* g, floating* b,
                            const int64_t* strides, int64_t n, const SGDCtx* c) noexcept nogil:
    cdef int64_t size = sizeof(floating)
    if strides[0] == size and strides[1] == size and (not c.has_buf or strides[2] == size):
        _sgd_loop(p, g, b, 1, 1, 1, n, c.h, c.has_buf)       # contiguous: vectorized
    else:
        _sgd_loop(p, g, b, strides[0] // size, strides[1] // size,
                  strides[2] // size if c.has_buf else 0, n, c.h, c.has_buf)


cdef void _sgd_row_f32(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil:
    cdef SGDCtx* c = <SGDCtx*>ctx
    _sgd_row_t(<float*>ptrs[0], <const float*>ptrs[1], <float*>(ptrs[2] if c.has_buf else NULL),
               strides, n, c)


cdef void _sgd_row_f64(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil:
    cdef SGDCtx* c = <SGDCtx*>ctx
    _sgd_row_t(<double*>ptrs[0], <const double*>ptrs[1], <double*>(ptrs[2] if c.has_buf else NULL),
               strides, n, c)


# ---- Adam / AdamW -----------------------------------------------------------------------

cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline void _adam_loop(floating* p, const floating* g, floating* m, floating* v,
                            floating* vmax, int64_t ps, int64_t gs, int64_t ms, int64_t vs,
                            int64_t xs, int64_t n, const AdamHyper* h, bint has_wd,
                            bint amsgrad) noexcept nogil:
    """The Adam rule on n elements (strides in elements); vmax only read when amsgrad.
    The flags are arguments so that the contiguous call sites, passing constants, get
    branch-free loop bodies that gcc vectorizes (a conditional store, as amsgrad's,
    keeps it from if-converting the loop otherwise)."""
    cdef floating sign = <floating>(-1.0 if h.maximize else 1.0)
    cdef floating wd = <floating>h.weight_decay
    cdef floating decay = <floating>h.decay
    # torch's lerp: self + w (end - self) for |w| < 0.5, else end - (end - self) (1 - w)
    cdef floating w = <floating>(1.0 - h.beta1)
    cdef floating one_minus_w = <floating>1 - w
    cdef bint small = (w if w >= 0 else -w) < <floating>0.5
    cdef floating beta2 = <floating>h.beta2
    cdef floating one_minus_beta2 = <floating>(1.0 - h.beta2)
    cdef floating bc2_sqrt = <floating>h.bias_correction2_sqrt
    cdef floating eps = <floating>h.eps
    cdef floating neg_step = <floating>h.neg_step_size
    cdef floating gi, pi, mi, vi, xi, denom
    cdef int64_t i
    for i in range(n):
        gi = sign * g[i * gs]
        pi = p[i * ps] * decay                  # exactly p when decay == 1
        if has_wd:
            gi = gi + wd * pi
        mi = m[i * ms]
        mi = mi + w * (gi - mi) if small else gi - (gi - mi) * one_minus_w
        m[i * ms] = mi
        vi = v[i * vs] * beta2 + one_minus_beta2 * gi * gi
        v[i * vs] = vi
        if amsgrad:
            xi = vmax[i * xs]
            xi = vi if (vi > xi) | (vi != vi) else xi       # torch.maximum: NaN propagates
            vmax[i * xs] = xi
            denom = _sqrt(xi) / bc2_sqrt + eps
        else:
            denom = _sqrt(vi) / bc2_sqrt + eps
        p[i * ps] = pi + neg_step * mi / denom


cdef inline void _adam_row_t(floating* p, const floating* g, floating* m, floating* v,
                             floating* vmax, const int64_t* strides, int64_t n,
                             const AdamHyper* h) noexcept nogil:
    cdef int64_t size = sizeof(floating)
    cdef bint has_wd = h.weight_decay != 0
    if (strides[0] == size and strides[1] == size and strides[2] == size and
            strides[3] == size and (not h.amsgrad or strides[4] == size)):
        if h.amsgrad:
            if has_wd:
                _adam_loop(p, g, m, v, vmax, 1, 1, 1, 1, 1, n, h, True, True)
            else:
                _adam_loop(p, g, m, v, vmax, 1, 1, 1, 1, 1, n, h, False, True)
        elif has_wd:
            _adam_loop(p, g, m, v, vmax, 1, 1, 1, 1, 1, n, h, True, False)
        else:
            _adam_loop(p, g, m, v, vmax, 1, 1, 1, 1, 1, n, h, False, False)
    else:
        _adam_loop(p, g, m, v, vmax, strides[0] // size, strides[1] // size,
                   strides[2] // size, strides[3] // size,
                   strides[4] // size if h.amsgrad else 0, n, h, has_wd, h.amsgrad)


cdef void _adam_row_f32(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil:
    cdef AdamHyper* h = <AdamHyper*>ctx
    _adam_row_t(<float*>ptrs[0], <const float*>ptrs[1], <float*>ptrs[2], <float*>ptrs[3],
                <float*>(ptrs[4] if h.amsgrad else NULL), strides, n, h)


cdef void _adam_row_f64(char** ptrs, const int64_t* strides, int64_t n, void* ctx) noexcept nogil:
    cdef AdamHyper* h = <AdamHyper*>ctx
    _adam_row_t(<double*>ptrs[0], <const double*>ptrs[1], <double*>ptrs[2], <double*>ptrs[3],
                <double*>(ptrs[4] if h.amsgrad else NULL), strides, n, h)
