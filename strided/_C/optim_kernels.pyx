"""Fused optimizer update kernels (contract in optim_kernels.pxd).

NOTE [ Fused optimizer updates ]
torch.optim's single-tensor rules, written as a chain of tensor ops, read and write every
parameter-sized tensor several times and allocate temporaries (-g, g + wd p, g^2, the
denominator).  Here one strided loop (NOTE [ Strided iteration ]) walks the parameter,
its gradient and the optimizer state together, and each element runs the whole rule:

    SGD:   g = +-grad (+ wd p);  b = g (first step) or momentum b + (1 - dampening) g;
           g = g + momentum b (nesterov) or b;  p = p + (-lr) g
    Adam:  g = +-grad (+ wd p, Adam);  p = decay p (AdamW: decay = 1 - lr wd);
           m = lerp(m, g, 1 - beta1);  v = beta2 v + ((1 - beta2) g) g;
           vmax = maximum(vmax, v) (amsgrad);
           p = p + (neg_step_size m) / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)

Every operation is torch's, in torch's order, in the parameter's dtype with the scalars
cast to it, so a float32 trajectory follows torch's to rounding (torch's vectorized
kernels may fuse a multiply-add where these round twice).  Hyper-parameter flags are
loop-invariant: the row loops are inlined with constant strides for the contiguous case,
and gcc unswitches the flag tests out of the vectorized loop.
"""
from libc.math cimport sqrt, sqrtf
from libc.stdint cimport int64_t

from strided._C.dtypes cimport FLOAT32
from strided._C.iterator cimport (StridedLoop, inner_loop_fn, loop_init, loop_set_operand,
                                  loop_prepare, loop_run_parallel)

ctypedef fused floating:
    float
    double

cdef enum:
    SGD_GRAIN = 32768       # elements per thread below which the loop stays on one thread
    ADAM_GRAIN = 8192       # a sqrt and a division per element: split sooner


cdef struct SGDCtx:
    const SGDHyper* h
    bint has_buf


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


cdef void sgd_update(int ndim, const int64_t* sizes, int dtype,
                     char* param, const int64_t* param_strides,
                     const char* grad, const int64_t* grad_strides,
                     char* buf, const int64_t* buf_strides,
                     const SGDHyper* h) noexcept nogil:
    cdef StridedLoop L
    cdef char* ptrs[3]
    cdef SGDCtx c
    cdef int64_t itemsize = 4 if dtype == FLOAT32 else 8
    c.h = h
    c.has_buf = buf != NULL
    loop_init(&L, 3 if c.has_buf else 2, ndim, sizes)
    loop_set_operand(&L, 0, param_strides, itemsize)
    loop_set_operand(&L, 1, grad_strides, itemsize)
    if c.has_buf:
        loop_set_operand(&L, 2, buf_strides, itemsize)
    loop_prepare(&L)
    ptrs[0] = param
    ptrs[1] = <char*>grad
    ptrs[2] = buf
    loop_run_parallel(&L, ptrs, _sgd_row_f32 if dtype == FLOAT32 else _sgd_row_f64, &c,
                      SGD_GRAIN)


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


cdef void adam_update(int ndim, const int64_t* sizes, int dtype,
                      char* param, const int64_t* param_strides,
                      const char* grad, const int64_t* grad_strides,
                      char* exp_avg, const int64_t* exp_avg_strides,
                      char* exp_avg_sq, const int64_t* exp_avg_sq_strides,
                      char* max_exp_avg_sq, const int64_t* max_exp_avg_sq_strides,
                      const AdamHyper* h) noexcept nogil:
    cdef StridedLoop L
    cdef char* ptrs[5]
    cdef int64_t itemsize = 4 if dtype == FLOAT32 else 8
    loop_init(&L, 5 if h.amsgrad else 4, ndim, sizes)
    loop_set_operand(&L, 0, param_strides, itemsize)
    loop_set_operand(&L, 1, grad_strides, itemsize)
    loop_set_operand(&L, 2, exp_avg_strides, itemsize)
    loop_set_operand(&L, 3, exp_avg_sq_strides, itemsize)
    if h.amsgrad:
        loop_set_operand(&L, 4, max_exp_avg_sq_strides, itemsize)
    loop_prepare(&L)
    ptrs[0] = param
    ptrs[1] = <char*>grad
    ptrs[2] = exp_avg
    ptrs[3] = exp_avg_sq
    ptrs[4] = max_exp_avg_sq
    loop_run_parallel(&L, ptrs, _adam_row_f32 if dtype == FLOAT32 else _adam_row_f64,
                      <void*>h, ADAM_GRAIN)
