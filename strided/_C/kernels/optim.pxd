# Fused optimizer updates (torch.optim's single-tensor SGD and Adam/AdamW rules) in one
# pass over the elements: every operand is read once and the parameter and the optimizer
# state are written once, in place, through any strides.
#
# Assumptions (checked by the caller, strided._C.ops.optim):
#   - all operands share `sizes` and the element type `dtype` (FLOAT32 or FLOAT64);
#   - strides are in elements; the read-only grad may have zero strides (an expanded
#     gradient), the written operands (param and state) overlap neither themselves nor
#     each other;
#   - the grad may alias the param only element for element (same address and strides).
from libc.stdint cimport int64_t

from strided._C.core.iterator cimport inner_loop_fn


cdef struct SGDHyper:
    double lr
    double momentum
    double dampening
    double weight_decay
    bint nesterov
    bint maximize
    bint first_step         # the momentum buffer is written, not read (b = g)


cdef struct AdamHyper:
    double beta1
    double beta2
    double eps
    double weight_decay     # L2 term added to the gradient (Adam); 0 for AdamW
    double decay            # the param is first scaled by this (AdamW: 1 - lr wd), else 1
    double neg_step_size    # -lr / (1 - beta1**t)
    double bias_correction2_sqrt   # sqrt(1 - beta2**t)
    bint amsgrad
    bint maximize


# One SGD step.  buf is NULL when momentum == 0 (there is no buffer then).
cdef void sgd_update(int ndim, const int64_t* sizes, int dtype,
                     char* param, const int64_t* param_strides,          # IN/OUT
                     const char* grad, const int64_t* grad_strides,      # IN
                     char* buf, const int64_t* buf_strides,              # IN/OUT (or NULL)
                     const SGDHyper* h) noexcept nogil

# One Adam/AdamW step.  max_exp_avg_sq is used (and may be non-NULL) only when h.amsgrad.
cdef void adam_update(int ndim, const int64_t* sizes, int dtype,
                      char* param, const int64_t* param_strides,                  # IN/OUT
                      const char* grad, const int64_t* grad_strides,              # IN
                      char* exp_avg, const int64_t* exp_avg_strides,              # IN/OUT
                      char* exp_avg_sq, const int64_t* exp_avg_sq_strides,        # IN/OUT
                      char* max_exp_avg_sq, const int64_t* max_exp_avg_sq_strides,  # IN/OUT
                      const AdamHyper* h) noexcept nogil


# ---- shared with the row kernels' builds (optim_rows.pxi) -------------------------------

cdef struct SGDCtx:
    const SGDHyper* h
    bint has_buf            # momentum != 0: operand 2 is the momentum buffer


# The row functions of one build (baseline or AVX2; NOTE [ Kernel dispatch ]): sgd rows take
# an SGDCtx, adam rows the AdamHyper itself.
cdef struct OptimRowKernels:
    inner_loop_fn sgd_f32
    inner_loop_fn sgd_f64
    inner_loop_fn adam_f32
    inner_loop_fn adam_f64
