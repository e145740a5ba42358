"""The autograd hook's recording functions (NOTE [ Autograd hook ] in strided/_C/core/tensor.pyx).

The core calls these when grad mode is on and an input requires grad.  The record_*
functions receive the result the core computed and record it with one call,
record(op, inputs, outputs, saved, **attrs), whose backward formula is the op's row of the
derivative table (NOTE [ Derivative table ] in record.py; the rows are in derivatives.py and
views.py).  In-place and out= forms (binary, unary, clamp, lerp, copy_, setitem, index_add_)
run the op here, through `_inplace`, which checks leaves and views and saves the inputs the
write destroys (NOTE [ In-place ops on views ]).
"""
import math

from strided._C.core import tensor as _core
from strided._C.core.tensor import Tensor, _set_grad_enabled
from strided.autograd.graph import Node, AccumulateGrad                # noqa: F401 (the hook's)
from strided.autograd.graph import register_hook, register_post_accumulate_grad_hook  # noqa: F401 (the hook's)
from strided.autograd.engine import backward                          # noqa: F401 (the hook's)
from strided.autograd.record import record, node, is_view_node
from strided.autograd.derivatives import UNARY_FORMULAS, BINARY_FORMULAS
from strided.autograd import derivatives_index  # noqa: F401 (its rows)
from strided.autograd.views import (record_view, record_pieces, view_node,  # noqa: F401
                                    _geometry, _extent)


class _NoGrad:
    def __enter__(self):
        self.prev = _set_grad_enabled(False)

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


_no_grad = _NoGrad


def _is_tensor(x):
    return isinstance(x, Tensor)


def _no_out(name, out, x):
    if out is not None and out is not x:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")


# ---- element-wise ops (their rows: the op table's formulas) ---------------------------------

_BINARY_NAMES = {v: k for k, v in _core.BINARY_OPS.items()}
_UNARY_NAMES = {v: k for k, v in _core.UNARY_OPS.items()}


def _binary_node(name, x, y, alpha, out):
    """The node of binary op `name`, saving the operands its wanted gradients read."""
    formulas = BINARY_FORMULAS.get(name) or ()
    wanted = [f for f, t in zip(formulas, (x, y)) if _is_tensor(t) and t.requires_grad]
    saved = {}
    for key, t, need in (("x", x, any(f.needs_x for f in wanted)),
                         ("y", y, any(f.needs_y for f in wanted))):
        saved[key] = (t if need else None) if _is_tensor(t) else t
    return node(name, (x, y), out, saved, alpha=1 if alpha is None else alpha)


def binary(op, x, y, out, alpha):
    """x (op)= y: out is x (any other out= raises)."""
    name = _BINARY_NAMES.get(op, "op")
    _no_out(name, out, x)
    return _inplace(lambda: _core.binary_op(op, x, y, x, alpha),
                    lambda xin: _binary_node(name, xin, y, alpha, x), x)


def record_binary(op, x, y, alpha, result):
    if result.dtype.is_floating_point:
        result._set_grad_fn(_binary_node(_BINARY_NAMES.get(op, "op"), x, y, alpha, result), 0)
    return result


def _unary_node(name, x, out, p0, p1):
    f = UNARY_FORMULAS.get(name)
    saved = {"x": x if f is not None and f.needs_x else None,
             "result": out if f is not None and f.needs_result else None}
    return node(name, (x,), out, saved, p0=p0, p1=p1)


def unary(op, a, out, name, p0=0.0, p1=0.0):
    """op_(a): out is a (any other out= raises)."""
    op_name = _UNARY_NAMES.get(op, name)          # leaky_relu / softplus come by name
    _no_out(name, out, a)
    f = UNARY_FORMULAS.get(op_name)
    # the formula may read the input (the pre-op clone xin) or the output (a, after)
    run = ((lambda: _core.leaky_relu(a, p0, True)) if name == "leaky_relu" else
           (lambda: _core.unary_op(op, a, a, name)))
    return _inplace(run, lambda xin: _unary_node(op_name, xin, a, p0, p1), a,
                    node_after=f is not None and f.needs_result)


def record_unary(op, a, result, name, p0=0.0, p1=0.0):
    if result.dtype.is_floating_point:
        result._set_grad_fn(_unary_node(_UNARY_NAMES.get(op, name), a, result, p0, p1), 0)
    return result


def _clamp_node(x, lo, hi, name, out):
    return node("clamp", (x, lo if _is_tensor(lo) else None, hi if _is_tensor(hi) else None),
                out, {"x": x, "lo": lo, "hi": hi}, name=name,
                tensor_bounds=_is_tensor(lo) or _is_tensor(hi))


def clamp(a, lo, hi, out, name):
    """clamp_(a, lo, hi): out is a (any other out= raises)."""
    _no_out(name, out, a)
    return _inplace(lambda: _core.clamp(a, lo, hi, out=a),
                    lambda xin: _clamp_node(xin, lo, hi, name, a), a)


def record_clamp(a, lo, hi, name, result):
    result._set_grad_fn(_clamp_node(a, lo, hi, name, result), 0)
    return result


def _lerp_node(start, end, weight, out):
    w = _is_tensor(weight)
    return node("lerp", (start, end, weight if w else None), out,
                {"weight": weight, "start": start if w else None, "end": end if w else None})


def lerp(start, end, weight, out):
    """start.lerp_(end, weight): out is start (any other out= raises)."""
    _no_out("lerp", out, start)
    return _inplace(lambda: _core.lerp(start, end, weight, out=start),
                    lambda xin: _lerp_node(xin, end, weight, start), start)


def record_lerp(start, end, weight, result):
    result._set_grad_fn(_lerp_node(start, end, weight, result), 0)
    return result


# ---- reductions (the core computed `result`; these record it) ---------------------------------

def record_sum(t, result, dim, keepdim):
    if not result.dtype.is_floating_point:
        return result
    return record("sum", (t,), result, dim=dim, keepdim=keepdim, scale=None)


def record_mean(t, result, dim, keepdim):
    count = t.numel() // max(1, result.numel()) if t.numel() else 0
    return record("mean", (t,), result, dim=dim, keepdim=keepdim,
                  scale=1.0 / count if count else float("nan"))


def record_prod(t, result, dim, keepdim):
    if not result.dtype.is_floating_point:
        return result
    return record("prod", (t,), result, {"x": t, "result": result}, dim=dim, keepdim=keepdim)


def record_amax(t, result, dim, keepdim, name):
    if not result.dtype.is_floating_point:
        return result
    return record("amax", (t,), result, {"x": t, "result": result}, dim=dim, keepdim=keepdim,
                  name=name)


def record_max_dim(t, result, dim, keepdim, name):
    """result: the (values, indices) pair of max/min along dim."""
    vals, idx = result
    if vals.dtype.is_floating_point:
        record("max_dim", (t,), vals, {"indices": idx}, dim=dim, keepdim=keepdim, name=name)
    return result


def record_cumulative(t, result, dim, is_sum):
    if not result.dtype.is_floating_point:
        return result
    if is_sum:
        return record("cumsum", (t,), result, dim=dim)
    return record("cumprod", (t,), result, {"x": t, "result": result}, dim=dim)


def record_softmax(t, result, dim, take_log):
    return record("log_softmax" if take_log else "softmax", (t,), result, {"result": result},
                  dim=dim if t.ndim else 0)


def record_logsumexp(t, result, dim, keepdim):
    return record("logsumexp", (t,), result, {"x": t, "result": result}, dim=dim,
                  keepdim=keepdim)


def record_norm(t, result, p, dim, keepdim, dtype):
    if p == "fro" or p is None:
        p = 2
    x = t if dtype is None else t.to(dtype)
    return record("norm", (x,), result, {"x": x, "result": result}, p=p, dim=dim,
                  keepdim=keepdim)


# ---- copies and indexing ----------------------------------------------------------------------

def record_copy(src, out):
    """out is a fresh copy (clone, contiguous, to(dtype), reshape's copy) of src."""
    record("to_copy", (src,), out)


def record_index(src, np_index, out):
    import numpy as np
    # index arrays may view the caller's index tensors: keep copies
    index = tuple(np.array(i) if isinstance(i, np.ndarray) else i for i in np_index)
    record("index", (src,), out, index=index)


def index_add_(x, dim, index, source, alpha):
    index = index.clone()

    def run():
        x.index_add_(dim, index, source, alpha=alpha)

    return _inplace(run, lambda old: node("index_add_", (old, source), x, dim=dim, index=index,
                                          alpha=alpha), x)


# ---- in-place ops ---------------------------------------------------------------------------
#
# NOTE [ In-place ops on views ]
# An in-place op on a tensor x that requires grad replaces x's history: the op's Node takes
# x's old history as its first input and becomes x's grad_fn.  Saved inputs are cloned first
# (the op overwrites them).  Leaves that require grad refuse in-place ops.  When x is a view
# of a base that requires grad, the base's history must change too (PyTorch's CopySlices):
# the base gets a CopySlicesBackward node whose gradient is the incoming one with x's region
# replaced by what the op's Node sends to x's old value, and x's grad_fn becomes a fresh view
# of the base's new history.

class CopySlicesBackward(Node):
    def __init__(self, base, view_geometry, fn):
        super().__init__((base,), ((base.shape, base.dtype),))
        self.base_geometry = _geometry(base)
        self.view_geometry = view_geometry
        self.fn = fn
        self.dtype = base.dtype
        # inputs: the base's old history, then the op's other inputs
        self.next_functions = self.next_functions + fn.next_functions[1:]

    def name(self):
        return "CopySlices"

    def backward(self, g):
        g = g.contiguous()
        s_lo, _ = _extent(self.base_geometry)
        base_geom = self.base_geometry
        # g laid out in the base's geometry: take the view's region through the same storage
        buf = _geometry_buffer(g, base_geom)
        v = self.view_geometry
        region = buf[0].as_strided(v[0], v[1], v[2] - buf[1]).contiguous()
        grads = self.fn.apply([region])
        gbase_buf = _geometry_buffer(g, base_geom)
        target = gbase_buf[0].as_strided(v[0], v[1], v[2] - gbase_buf[1])
        target.copy_(grads[0] if grads[0] is not None else target * 0.0)
        gb = gbase_buf[0].as_strided(base_geom[0], base_geom[1], base_geom[2] - gbase_buf[1])
        return (gb.contiguous(),) + tuple(grads[1:])

    def release(self):
        super().release()
        self.fn.release()


def _geometry_buffer(g, geom):
    """A fresh storage-shaped buffer holding g at geometry geom: (buffer, storage index 0)."""
    from strided.creation import zeros
    lo, hi = _extent(geom)
    buf = zeros(hi - lo + 1, dtype=g.dtype)
    buf.as_strided(geom[0], geom[1], geom[2] - lo).copy_(g)
    return buf, lo


def _inplace(run, make_node, x, node_after=False):
    """Run the in-place op `run` on x and record it (NOTE [ In-place ops on views ]).

    make_node(old) builds the op's Node with `old` (a clone of x's value, carrying x's
    history) as its first input.  It is built before the write, so other operands that alias
    x are saved with their old version and backward refuses them -- unless node_after (the
    op saves its own output, e.g. exp_).
    """
    base = x._base
    if x.is_leaf and x._requires_grad_flag():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if base is not None and base.is_leaf and base._requires_grad_flag():
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    fn = x.grad_fn
    if is_view_node(fn) and fn.next_functions and fn.next_functions[0] is not None \
            and isinstance(fn.next_functions[0][0], AccumulateGrad):
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    with _no_grad():
        old = x.clone()                         # the op's formula may need x's old value
    old_nr = x.output_nr
    if fn is not None:                          # old stands in for x: same history
        old._set_grad_fn(fn, old_nr)
    fn_node = None if node_after else make_node(old)
    with _no_grad():
        run()
    if fn_node is None:
        fn_node = make_node(old)
    if not x.dtype.is_floating_point:
        return x
    if base is not None:
        copy = CopySlicesBackward(base, _geometry(x), fn_node)
        base._set_grad_fn(copy, 0)
        new_fn = view_node(base, x)
    else:
        new_fn = fn_node
    x._set_grad_fn(new_fn, 0)
    if x.retains_grad:                          # the retained gradient is the new value's
        if fn is not None and fn._retained:
            fn._retained.pop(old_nr, None)
        new_fn._retain_output(0, x)
    return x


def copy_(dst, src):
    """dst.copy_(src) / dst.fill_(value) under grad mode."""
    src_t = src if _is_tensor(src) else None

    def run():
        if src_t is None:
            dst.fill_(src)
        else:
            dst.copy_(src_t)

    return _inplace(run, lambda xin: node("copy_", (xin, src_t), dst), dst)


def setitem(t, index, value):
    """t[index] = value under grad mode: basic indexing makes t[index] a view, and the write
    is an in-place copy_ into it (NOTE [ In-place ops on views ])."""
    if not _is_view_index(index):
        raise RuntimeError("assigning through advanced (tensor or list) indexing into a tensor "
                           "that takes part in autograd is not supported; index with ints and "
                           "slices, or build the result with where()")
    view = t[index]
    if _is_tensor(value):
        view.copy_(value)
    else:
        view.fill_(value)


def _is_view_index(index):
    import numbers
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or (isinstance(i, (slice, numbers.Integral)) and
                                              not isinstance(i, bool)) for i in items)




# ---- matrix products (hooked from strided._C's linalg entry points) --------------------------

def _linalg():
    from strided._C.ops import gemm as linalg
    return linalg


def _mm_saved(a, b):
    # each operand is saved only when the other one's gradient reads it
    return {"a": a if b.requires_grad else None, "b": b if a.requires_grad else None}


def mm(a, b):
    with _no_grad():
        out = _linalg().mm(a, b)
    if not out.dtype.is_floating_point:
        return out
    return record("mm", (a, b, None), out, _mm_saved(a, b), alpha=1.0, beta=1.0)


def addmm(c, a, b, beta, alpha):
    with _no_grad():
        out = _linalg().addmm(c, a, b, beta=beta, alpha=alpha)
    return record("addmm", (a, b, c if _is_tensor(c) else None), out, _mm_saved(a, b),
                  alpha=alpha, beta=beta)


def bmm(a, b):
    with _no_grad():
        out = _linalg().bmm(a, b)
    return record("bmm", (a, b), out, _mm_saved(a, b))


def linear(x, w, bias):
    with _no_grad():
        out = _linalg().linear(x, w, bias)
    return record("linear", (x, w, bias), out,
                  {"x": x if w.requires_grad else None, "weight": w if x.requires_grad else None})


def matmul(a, b):
    """matmul under grad mode, composed of mm/bmm and views so every case differentiates."""
    if a.ndim == 0 or b.ndim == 0 or (a.ndim == 1 and b.ndim == 1 and a.shape != b.shape):
        with _no_grad():
            return _linalg().matmul(a, b)       # raises torch's error
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 2 and b.ndim == 2:
        return mm(a, b)
    if a.ndim == 1 and b.ndim == 2:
        return mm(a.unsqueeze(0), b).squeeze(0)
    if a.ndim == 2 and b.ndim == 1:
        return mm(a, b.unsqueeze(1)).squeeze(1)
    if b.ndim <= 2 and a.ndim >= 3:
        # fold a's batch dims into its rows: one mm
        b2 = b.unsqueeze(1) if b.ndim == 1 else b
        out = mm(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), b2)
        shape = tuple(a.shape[:-1]) + (() if b.ndim == 1 else (b2.shape[-1],))
        return out.reshape(shape)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    batch = _core.broadcast_shapes(tuple(a2.shape[:-2]), tuple(b2.shape[:-2]))
    m, k = a2.shape[-2:]
    n = b2.shape[-1]
    nb = math.prod(batch)                       # not -1: empty batches are ambiguous
    A = a2.expand(batch + (m, k)).reshape(nb, m, k)
    Bm = b2.expand(batch + (b2.shape[-2], n)).reshape(nb, b2.shape[-2], n)
    out = bmm(A, Bm).reshape(batch + (m, n))
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out


def gemm(A, B, C, trans_a, trans_b, alpha, beta):
    """gemm under grad mode: alpha * op(A) @ op(B) + beta * C, written into C when given."""
    a = A.T if trans_a else A
    b = B.T if trans_b else B
    if C is None:
        out = mm(a, b)
        return out * alpha if alpha != 1 else out
    out = addmm(C, a, b, beta, alpha)
    return C.copy_(out)


def outer(a, b):
    return a.unsqueeze(1) * b.unsqueeze(0)


def gemv(A, x, y, trans, alpha, beta):
    """gemv under grad mode: alpha * op(A) @ x + beta * y, written into y when given."""
    r = matmul(A.T if trans else A, x)
    if alpha != 1:
        r = r * alpha
    if y is None:
        return r
    if beta != 0:
        r = r + y * beta
    return y.copy_(r)


# ---- joining, gathering and sorting (issue 17) ----

def record_inplace(op, run, x, others, saved, **attrs):
    """x changed in place by run() (which records nothing), recorded as op with x's old
    value as its first input and `others` after it (NOTE [ In-place ops on views ])."""
    _inplace(run, lambda old: node(op, (old,) + tuple(others), x, saved, **attrs), x)
    return x
