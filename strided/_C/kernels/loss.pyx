# Layer: kernels, mixed: this file is loss's Tensor-level entry points, and compiles the
# baseline build of the row kernels (loss_rows.pxi) whose fused functions they call directly
# (strided/_C/README.md).
"""Fused classification losses: cross-entropy (log-softmax + NLL in one pass per row, with a
one-pass backward) for class-index or class-probability targets, and NLL over
log-probabilities.  This file is the Tensor-facing layer (checks, buffers, reductions); the
row kernels are in loss_rows.pxi, built here for the baseline ISA and in loss_avx2.pyx for
AVX2 + FMA (NOTE [ Kernel dispatch ] in elementwise.pyx), called through a LossKernels table.

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
thread sums in a fixed order (NOTE [ Blocked float sum ] in blocked_sum.pxd).  The
result therefore has the same bits for any number of threads.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport DType, INT64, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of

include "loss_rows.pxi"

cdef LossKernels _kernels = _table


_isa = "baseline"


def _select_kernels():
    """Take the loss_avx2 or loss_avx512 row kernels when elementwise runs that
    build (NOTE [ Kernel dispatch ])."""
    global _kernels, _isa
    from strided._C.kernels.elementwise import isa_row_kernels
    capsule, _isa = isa_row_kernels("loss")
    if capsule is not None:
        _kernels = (<LossKernels*>PyCapsule_GetPointer(capsule, b"strided.LossKernels"))[0]


_select_kernels()


def kernel_isa():
    """Which build of the loss row kernels runs: "avx512", "avx2" or "baseline"."""
    return _isa

# torch's Reduction enum
REDUCTION_NONE = 0
REDUCTION_MEAN = 1
REDUCTION_SUM = 2


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
            total = blocked_sum(<const float*>lp, 1, M, 64)
            denom = blocked_sum(<const float*>wp, 1, M, 64)
        else:
            total = blocked_sum(<const double*>lp, 1, M, 64)
            denom = blocked_sum(<const double*>wp, 1, M, 64)
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
        status = _kernels.xent_forward(x3._dtype.num, &L, xp, tp, wp, ignore_index,
                                       label_smoothing, lp, rp, sp)
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
        _kernels.xent_backward(x3._dtype.num, &L, xp, tp, wp, ignore_index, label_smoothing, sp,
                               gp, g_a, g_b, scale, dp, ga, gb, gc)
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
        return blocked_sum(<const float*>data_of(v), 1, M, 64)
    return blocked_sum(<const double*>data_of(v), 1, M, 64)


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
        status = _kernels.probs_forward(x3._dtype.num, &L, xp, tp, wp, label_smoothing, lp, sp)
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
        _kernels.probs_backward(x3._dtype.num, &L, xp, tp, wp, label_smoothing, sp, gp, g_a,
                                g_b, scale, dp, ga, gb, gc)
    return gx
