"""The LLTM cell's fused kernels: its whole element-wise forward (gates -> new h, new cell)
in one pass, and its element-wise backward in another, over strided's kernel-writer's API
(strided/_C/api.pxd).  The matrix products stay strided's own GEMM (strided.addmm/mm).

    X            = cat([old_h, input], 1)                      (B, S + F)
    gate_weights = bias + X @ weights.T                        (B, 3S): gi | go | gc
    input_gate   = sigmoid(gi),  output_gate = sigmoid(go),  candidate = elu(gc)
    new_cell     = old_cell + candidate * input_gate
    new_h        = tanh(new_cell) * output_gate

Each kernel reads and writes through sizes and strides (any layout of old_cell and of
the incoming gradients), runs without the GIL and splits the batch over strided's threads.
"""
from cython.parallel cimport prange
from libc.math cimport exp, expm1, tanh
from libc.stdint cimport int64_t

from strided._C.api cimport (Tensor, data_ptr, ndim, sizes, strides, dtype, empty,
                             FLOAT32, FLOAT64, num_threads, expf_fast, tanhf_fast)
import strided

ctypedef fused real:
    float
    double

cdef enum:
    GRAIN = 16384          # elements per thread below which one thread is faster


cdef inline real _sigmoid(real x) noexcept nogil:
    if real is float:
        return (<float>1) / (1 + expf_fast(-x))        # a float division, not a double one
    else:
        return 1.0 / (1 + exp(-x))


cdef inline real _elu(real x) noexcept nogil:
    if real is float:
        return x if x > 0 else expf_fast(x) - 1
    else:
        return x if x > 0 else expm1(x)


cdef inline real _tanh(real x) noexcept nogil:
    if real is float:
        return tanhf_fast(x)
    else:
        return tanh(x)


cdef struct Mat:           # a 2-D operand: element [b, s] at data[b * rs + s * cs]
    char* data
    int64_t rs             # row and column strides, in elements
    int64_t cs


cdef Mat _mat(Tensor t):
    cdef Mat m
    m.data = data_ptr(t)
    m.rs = strides(t)[0]
    m.cs = strides(t)[1]
    return m


cdef inline void _forward_at(const real* g, real c, real* h_out, real* c_out, real* gates,
                             int64_t S, int64_t s) noexcept nogil:
    """Column s of one batch row: g the row's gate pre-activations (3S), c its old cell."""
    cdef real ig = _sigmoid(g[s])
    cdef real og = _sigmoid(g[S + s])
    cdef real cc = _elu(g[2 * S + s])
    cdef real nc = c + cc * ig
    c_out[s] = nc
    h_out[s] = _tanh(nc) * og
    gates[s] = ig
    gates[S + s] = og
    gates[2 * S + s] = cc


cdef void _forward_row(const real* g, const real* c, int64_t c_cs, real* h_out, real* c_out,
                       real* gates, int64_t S) noexcept nogil:
    """One batch row; the old cell c has column stride c_cs (in elements), the others are
    contiguous rows.  The loop is written twice so the common case, a contiguous old
    cell, vectorizes."""
    cdef int64_t s
    if c_cs == 1:
        for s in range(S):
            _forward_at(g, c[s], h_out, c_out, gates, S, s)
    else:
        for s in range(S):
            _forward_at(g, c[s * c_cs], h_out, c_out, gates, S, s)


cdef void _forward(real dummy, Mat g, Mat c, Mat h_out, Mat c_out, Mat gates,
                   int64_t B, int64_t S, int nthreads) noexcept nogil:
    """_forward_row over the batch, rows split over strided's threads."""
    cdef int64_t b
    for b in prange(B, num_threads=nthreads, schedule="static"):
        _forward_row(<real*>g.data + b * g.rs, <real*>c.data + b * c.rs, c.cs,
                     <real*>h_out.data + b * h_out.rs, <real*>c_out.data + b * c_out.rs,
                     <real*>gates.data + b * gates.rs, S)


cdef inline void _backward_at(real dh, real dc, const real* new_cell, const real* gates,
                              real* d_gates, real* d_cell, int64_t S, int64_t s) noexcept nogil:
    """Column s of one batch row, from the gradients dh of new_h and dc of new_cell."""
    cdef real ig = gates[s]
    cdef real og = gates[S + s]
    cdef real cc = gates[2 * S + s]
    cdef real t = _tanh(new_cell[s])
    cdef real d_nc = (1 - t * t) * og * dh + dc
    cdef real d_elu = 1 if cc > 0 else cc + 1          # elu'(x) = exp(x) = elu(x) + 1, x <= 0
    d_cell[s] = d_nc
    d_gates[s] = cc * d_nc * ig * (1 - ig)
    d_gates[S + s] = t * dh * og * (1 - og)
    d_gates[2 * S + s] = ig * d_nc * d_elu


cdef void _backward_row(const real* gh, int64_t gh_cs, const real* gc, int64_t gc_cs,
                        const real* new_cell, const real* gates, real* d_gates,
                        real* d_cell, int64_t S) noexcept nogil:
    """One batch row; the incoming gradients gh, gc have column strides gh_cs, gc_cs."""
    cdef int64_t s
    if gh_cs == 1 and gc_cs == 1:
        for s in range(S):
            _backward_at(gh[s], gc[s], new_cell, gates, d_gates, d_cell, S, s)
    else:
        for s in range(S):
            _backward_at(gh[s * gh_cs], gc[s * gc_cs], new_cell, gates, d_gates, d_cell, S, s)


cdef void _backward(real dummy, Mat gh, Mat gc, Mat new_cell, Mat gates, Mat d_gates,
                    Mat d_cell, int64_t B, int64_t S, int nthreads) noexcept nogil:
    """_backward_row over the batch, rows split over strided's threads."""
    cdef int64_t b
    for b in prange(B, num_threads=nthreads, schedule="static"):
        _backward_row(<real*>gh.data + b * gh.rs, gh.cs, <real*>gc.data + b * gc.rs, gc.cs,
                      <real*>new_cell.data + b * new_cell.rs, <real*>gates.data + b * gates.rs,
                      <real*>d_gates.data + b * d_gates.rs, <real*>d_cell.data + b * d_cell.rs,
                      S)


cdef int _check(str op, tuple names, tuple tensors, tuple shapes) except -1:
    cdef int k
    cdef Tensor t
    for k in range(len(tensors)):
        if not isinstance(tensors[k], Tensor):
            raise TypeError(f"{op}: {names[k]} must be a Tensor, but got "
                            f"{type(tensors[k]).__name__}")
    kind = dtype(<Tensor>tensors[0])
    for k in range(len(tensors)):
        t = <Tensor>tensors[k]
        if dtype(t) != FLOAT32 and dtype(t) != FLOAT64:
            raise TypeError(f"{op}: {names[k]} must be float32 or float64, but got {t.dtype}")
        if dtype(t) != kind:
            raise TypeError(f"{op}: {names[k]} has dtype {t.dtype}, but {names[0]} has "
                            f"{(<Tensor>tensors[0]).dtype}")
        if tuple(t.shape) != shapes[k]:
            raise RuntimeError(f"{op}: {names[k]} has shape {list(t.shape)}, expected "
                               f"{list(shapes[k])}")
    return 0


def forward(input, weights, bias, old_h, old_cell):
    """LLTM forward: returns (new_h, new_cell, gates, X); gates (B, 3S) holds the input
    gate, output gate and candidate cell, X = cat([old_h, input], 1) (both for backward).
    input (B, F), weights (3S, S + F), bias (3S,), old_h and old_cell (B, S); one dtype,
    float32 or float64, any strides."""
    if not isinstance(input, Tensor) or not isinstance(old_h, Tensor):
        raise TypeError("lltm forward: input and old_h must be Tensors")
    if input.ndim != 2 or old_h.ndim != 2:
        raise RuntimeError(f"lltm forward: input and old_h must be 2-D, but got shapes "
                           f"{list(input.shape)} and {list(old_h.shape)}")
    cdef int64_t B = input.shape[0], S = old_h.shape[1]
    cdef int64_t F = input.shape[1]
    _check("lltm forward", ("input", "weights", "bias", "old_h", "old_cell"),
           (input, weights, bias, old_h, old_cell),
           ((B, F), (3 * S, S + F), (3 * S,), (B, S), (B, S)))
    X = strided.cat([old_h, input], 1)
    gate_weights = strided.addmm(bias, X, weights.t()).contiguous()    # a new tensor: no copy
    cdef int64_t size[2]
    size[0] = B
    size[1] = S
    cdef int kind = dtype(<Tensor>input)
    cdef Tensor new_h = empty(2, size, kind), new_cell = empty(2, size, kind)
    size[1] = 3 * S
    cdef Tensor gates = empty(2, size, kind)
    cdef Mat g = _mat(gate_weights), c = _mat(old_cell)
    cdef Mat h_out = _mat(new_h), c_out = _mat(new_cell), gm = _mat(gates)
    cdef int nthreads = num_threads(B * S, GRAIN)
    with nogil:
        if kind == FLOAT32:
            _forward(<float>0, g, c, h_out, c_out, gm, B, S, nthreads)
        else:
            _forward(<double>0, g, c, h_out, c_out, gm, B, S, nthreads)
    return new_h, new_cell, gates, X


def backward(grad_h, grad_cell, new_cell, gates, X, weights):
    """LLTM backward: returns (d_input, d_weights, d_bias, d_old_h, d_old_cell) from the
    gradients of new_h and new_cell and what forward returned."""
    if not isinstance(new_cell, Tensor) or not isinstance(X, Tensor):
        raise TypeError("lltm backward: new_cell and X must be Tensors")
    if new_cell.ndim != 2 or X.ndim != 2:
        raise RuntimeError("lltm backward: new_cell and X must be 2-D")
    cdef int64_t B = new_cell.shape[0], S = new_cell.shape[1]
    cdef int64_t F = X.shape[1] - S
    _check("lltm backward", ("grad_h", "grad_cell", "new_cell", "gates", "X", "weights"),
           (grad_h, grad_cell, new_cell, gates, X, weights),
           ((B, S), (B, S), (B, S), (B, 3 * S), (B, S + F), (3 * S, S + F)))
    new_cell = new_cell.contiguous()        # forward made both: no copy
    gates = gates.contiguous()
    cdef int64_t size[2]
    cdef int kind = dtype(<Tensor>new_cell)
    size[0] = B
    size[1] = 3 * S
    cdef Tensor d_gates = empty(2, size, kind)
    size[1] = S
    cdef Tensor d_old_cell = empty(2, size, kind)
    cdef Mat gh = _mat(grad_h), gc = _mat(grad_cell)
    cdef Mat nc = _mat(new_cell), gm = _mat(gates)
    cdef Mat dg = _mat(d_gates), dc = _mat(d_old_cell)
    cdef int nthreads = num_threads(B * S, GRAIN)
    with nogil:
        if kind == FLOAT32:
            _backward(<float>0, gh, gc, nc, gm, dg, dc, B, S, nthreads)
        else:
            _backward(<double>0, gh, gc, nc, gm, dg, dc, B, S, nthreads)
    d_weights = d_gates.t().mm(X)
    d_bias = d_gates.sum(0)
    d_X = d_gates.mm(weights)
    return d_X[:, S:], d_weights, d_bias, d_X[:, :S], d_old_cell
