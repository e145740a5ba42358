"""Tensor-level entry points of the fused optimizer kernels (strided._C.kernels.optim).

strided.optim's SGD, Adam and AdamW call these once per parameter.  Each checks what
memory safety and the update rule need -- float32/float64, one dtype and one shape for all
operands, written tensors without self-overlap and sharing no memory (the gradient may be
the parameter itself, element for element) -- runs the kernel with the GIL released, and
bumps the storage version of every tensor it wrote, as add_ does, so autograd's
saved-tensor checks see the update.
"""
from libc.stdint cimport int64_t
from libc.string cimport memcmp

from strided._C.core.dtypes cimport FLOAT32, FLOAT64
from strided._C.core.tensor cimport (Tensor, mark_written, data_of, check_writable, _memory_overlaps,
                                grad_mode_enabled, needs_grad)
from strided._C.kernels.optim cimport SGDHyper, AdamHyper, sgd_update, adam_update


cdef int _check_param(Tensor param, str op) except -1:
    if param._dtype.num != FLOAT32 and param._dtype.num != FLOAT64:
        raise TypeError(f"{op}: parameters must be float32 or float64, but got "
                        f"{param._dtype.name}")
    return 0


cdef int _check_like(Tensor t, Tensor param, str op, str name) except -1:
    """t has param's dtype and shape."""
    if t._dtype is not param._dtype:
        raise TypeError(f"{op}: {name} has dtype {t._dtype.name}, but the parameter has "
                        f"{param._dtype.name}")
    if t._ndim != param._ndim or memcmp(t._sizes, param._sizes, t._ndim * sizeof(int64_t)) != 0:
        raise RuntimeError(f"{op}: {name} has shape {list(t.shape)}, but the parameter has "
                           f"shape {list(param.shape)}")
    return 0


cdef bint _same_elements(Tensor a, Tensor b) noexcept:
    return (data_of(a) == data_of(b) and
            memcmp(a._strides, b._strides, a._ndim * sizeof(int64_t)) == 0)


cdef int _check_writes(list written, list names, Tensor grad, str op) except -1:
    """NOTE [ Writes into overlapping tensors ]: every written tensor is writable (NOTE
    [ Read-only storage ]), free of self-overlap and of memory shared with the other
    operands, except a gradient that is the parameter element for element (each element
    is read before it is written)."""
    cdef Tensor t, u
    cdef int i, j
    for i in range(len(written)):
        t = <Tensor>written[i]
        check_writable(t)
        if grad_mode_enabled() and needs_grad(t):
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                               f"in-place operation (run the update under no_grad)")
        if _memory_overlaps(t, grad) and not (i == 0 and _same_elements(t, grad)):
            raise RuntimeError(f"{op}: the {names[i]} shares memory with the gradient")
        for j in range(i):
            u = <Tensor>written[j]
            if _memory_overlaps(t, u):
                raise RuntimeError(f"{op}: the {names[i]} shares memory with the {names[j]}")
    return 0


cdef void _bump_versions(list written):
    cdef Tensor t
    for t in written:
        mark_written(t)


def sgd_step(Tensor param not None, Tensor grad not None, Tensor momentum_buffer,
             double lr, double momentum, double dampening, double weight_decay,
             bint nesterov, bint maximize, bint first_step):
    """One torch.optim.SGD update of param, in place (NOTE [ Fused optimizer updates ]).

    momentum_buffer is needed when momentum != 0 (and ignored otherwise); with first_step
    it is only written (b = g), as torch clones the gradient into a new buffer."""
    cdef SGDHyper h
    cdef list written
    cdef char* bp = NULL
    cdef const int64_t* bs = NULL
    _check_param(param, "sgd_step")
    _check_like(grad, param, "sgd_step", "grad")
    if momentum != 0:
        if momentum_buffer is None:
            raise ValueError("sgd_step: momentum != 0 needs a momentum_buffer")
        _check_like(momentum_buffer, param, "sgd_step", "momentum_buffer")
        written = [param, momentum_buffer]
        _check_writes(written, ["parameter", "momentum_buffer"], grad, "sgd_step")
        bp = data_of(momentum_buffer)
        bs = momentum_buffer._strides
    else:
        written = [param]
        _check_writes(written, ["parameter"], grad, "sgd_step")
    h.lr, h.momentum, h.dampening, h.weight_decay = lr, momentum, dampening, weight_decay
    h.nesterov, h.maximize, h.first_step = nesterov, maximize, first_step
    cdef int ndim = param._ndim, dtype = param._dtype.num
    cdef const int64_t* sizes = param._sizes
    cdef char* pp = data_of(param)
    cdef const int64_t* ps = param._strides
    cdef const char* gp = data_of(grad)
    cdef const int64_t* gs = grad._strides
    with nogil:
        sgd_update(ndim, sizes, dtype, pp, ps, gp, gs, bp, bs, &h)
    _bump_versions(written)


def adam_step(Tensor param not None, Tensor grad not None, Tensor exp_avg not None,
              Tensor exp_avg_sq not None, Tensor max_exp_avg_sq,
              double lr, double beta1, double beta2, double eps, double weight_decay,
              bint decoupled, bint amsgrad, bint maximize,
              double bias_correction1, double bias_correction2_sqrt):
    """One torch.optim.Adam (decoupled=False) or AdamW (decoupled=True) update of param
    and its state, in place (NOTE [ Fused optimizer updates ]).  The step's bias
    corrections 1 - beta1**t and sqrt(1 - beta2**t) come from the caller;
    max_exp_avg_sq is needed when amsgrad (and ignored otherwise)."""
    cdef AdamHyper h
    cdef list written
    cdef char* xp = NULL
    cdef const int64_t* xs = NULL
    _check_param(param, "adam_step")
    _check_like(grad, param, "adam_step", "grad")
    _check_like(exp_avg, param, "adam_step", "exp_avg")
    _check_like(exp_avg_sq, param, "adam_step", "exp_avg_sq")
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("adam_step: amsgrad needs a max_exp_avg_sq")
        _check_like(max_exp_avg_sq, param, "adam_step", "max_exp_avg_sq")
        written = [param, exp_avg, exp_avg_sq, max_exp_avg_sq]
        _check_writes(written, ["parameter", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"], grad,
                      "adam_step")
        xp = data_of(max_exp_avg_sq)
        xs = max_exp_avg_sq._strides
    else:
        written = [param, exp_avg, exp_avg_sq]
        _check_writes(written, ["parameter", "exp_avg", "exp_avg_sq"], grad, "adam_step")
    h.beta1, h.beta2, h.eps = beta1, beta2, eps
    h.weight_decay = 0.0 if decoupled else weight_decay
    h.decay = 1.0 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    h.neg_step_size = -(lr / bias_correction1)
    h.bias_correction2_sqrt = bias_correction2_sqrt
    h.amsgrad, h.maximize = amsgrad, maximize
    cdef int ndim = param._ndim, dtype = param._dtype.num
    cdef const int64_t* sizes = param._sizes
    cdef char* pp = data_of(param)
    cdef char* mp = data_of(exp_avg)
    cdef char* vp = data_of(exp_avg_sq)
    cdef const char* gp = data_of(grad)
    cdef const int64_t* ps = param._strides
    cdef const int64_t* gs = grad._strides
    cdef const int64_t* ms = exp_avg._strides
    cdef const int64_t* vs = exp_avg_sq._strides
    with nogil:
        adam_update(ndim, sizes, dtype, pp, ps, gp, gs, mp, ms, vp, vs, xp, xs, &h)
    _bump_versions(written)
