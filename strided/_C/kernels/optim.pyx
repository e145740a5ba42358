"""Fused optimizer update kernels (contract in optim.pxd).

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

The row kernels (optim_rows.pxi) are also built for AVX2 + FMA in optim_avx2 and
used whenever the element-wise kernels use their AVX2 build (NOTE [ Kernel dispatch ] in
elementwise.pyx; STRIDED_ISA=baseline keeps the portable ones): twice as wide a
square root and division.  That build keeps FP contraction off, so both round alike.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport FLOAT32
from strided._C.core.iterator cimport (StridedLoop, inner_loop_fn, loop_init, loop_set_operand,
                                  loop_prepare, loop_run_parallel)

include "optim_rows.pxi"

cdef enum:
    SGD_GRAIN = 32768       # elements per thread below which the loop stays on one thread
    ADAM_GRAIN = 8192       # a sqrt and a division per element: split sooner

cdef OptimRowKernels _kernels
_kernels.sgd_f32 = _sgd_row_f32
_kernels.sgd_f64 = _sgd_row_f64
_kernels.adam_f32 = _adam_row_f32
_kernels.adam_f64 = _adam_row_f64
_isa = "baseline"


def _select_kernels():
    """Take the optim_avx2 or optim_avx512 row kernels when elementwise runs that
    build (NOTE [ Kernel dispatch ])."""
    global _kernels, _isa
    from strided._C.kernels.elementwise import isa_row_kernels
    capsule, _isa = isa_row_kernels("optim")
    if capsule is not None:
        _kernels = (<OptimRowKernels*>PyCapsule_GetPointer(capsule, b"strided.OptimRowKernels"))[0]


_select_kernels()


def kernel_isa():
    """Which build of the optimizer row kernels runs: "avx512", "avx2" or "baseline"."""
    return _isa


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
    loop_run_parallel(&L, ptrs, _kernels.sgd_f32 if dtype == FLOAT32 else _kernels.sgd_f64, &c,
                      SGD_GRAIN)


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
    loop_run_parallel(&L, ptrs, _kernels.adam_f32 if dtype == FLOAT32 else _kernels.adam_f64,
                      <void*>h, ADAM_GRAIN)
