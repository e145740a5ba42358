"""Recording built-in ops in the backward graph.

The Cython ops call into this module when grad mode is on and an input requires grad
(the hooks in strided/_C/core/tensor.pyx, ops.pxi and reductions.pxi).  Each function here runs
the op again under no_grad, creates the op's Node (its backward formula), and records it
as the output's grad_fn.  In-place ops also go through `_rebase`, which handles leaves
and views (NOTE [ In-place ops on views ]).
"""
import builtins
import math

from strided._C.core import tensor as _core
from strided._C.core.tensor import Tensor, _set_grad_enabled
from strided.autograd.graph import Node, gradient_edge, AccumulateGrad
from strided.autograd.engine import backward                  # noqa: F401 (the core's hook)
from strided.autograd.broadcast import sum_to
from strided.autograd import formulas as _formulas
from strided import op_table as _op_table

B = _core.BINARY_OPS
U = _core.UNARY_OPS


class _NoGrad:
    def __enter__(self):
        self.prev = _set_grad_enabled(False)

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


_no_grad = _NoGrad


def _meta(t):
    return (t.shape, t.dtype)


def _record(node, *outputs):
    for i, out in enumerate(outputs):
        out._set_grad_fn(node, i)
    return outputs[0] if len(outputs) == 1 else outputs


def _is_tensor(x):
    return isinstance(x, Tensor)


# ---- element-wise binary ops ------------------------------------------------------------------

_BINARY_NAMES = {v: k for k, v in B.items()}


_BINARY_FORMULAS = _formulas.binary_formulas(_op_table.BINARY)   # NOTE [ Op table ]


class BinaryBackward(Node):
    """Backward of a broadcasting binary op: its op-table formulas for d/dx and d/dy, with
    the operands saved as the formulas of the wanted gradients read them."""

    def __init__(self, op, x, y, alpha, out_dtype):
        super().__init__((x if _is_tensor(x) else None, y if _is_tensor(y) else None))
        self.op = _BINARY_NAMES.get(op, "op")
        self.formulas = _BINARY_FORMULAS.get(self.op)
        self.alpha = 1 if alpha is None else alpha
        self.x_shape = x.shape if _is_tensor(x) else None
        self.y_shape = y.shape if _is_tensor(y) else None
        self.x_dtype = x.dtype if _is_tensor(x) else None
        self.y_dtype = y.dtype if _is_tensor(y) else None
        gx = _is_tensor(x) and x.requires_grad
        gy = _is_tensor(y) and y.requires_grad
        wanted = [f for f, w in zip(self.formulas or (), (gx, gy)) if w]
        need_x = any(f.needs_x for f in wanted)
        need_y = any(f.needs_y for f in wanted)
        # an operand not saved is kept as None; numbers are kept as they are
        self.sx = (self.save(x) if need_x else None) if _is_tensor(x) else x
        self.sy = (self.save(y) if need_y else None) if _is_tensor(y) else y
        self.want_x, self.want_y = gx, gy

    def name(self):
        row = _op_table.BINARY_BY_NAME.get(self.op)
        return row.node if row is not None else self.op.capitalize() + "Backward0"

    def _value(self, s):
        return s.unpack(self) if hasattr(s, "unpack") else s

    def backward(self, g):
        if self.formulas is None:
            raise RuntimeError(f"the derivative for '{self.op}' is not implemented")
        x, y = self._value(self.sx), self._value(self.sy)
        fx, fy = self.formulas
        gx = fx.fn(g, x, y, self.alpha) if self.want_x else None
        gy = fy.fn(g, x, y, self.alpha) if self.want_y else None
        return (self._finish(gx, self.x_shape, self.x_dtype),
                self._finish(gy, self.y_shape, self.y_dtype))

    @staticmethod
    def _finish(g, shape, dtype):
        if shape is None or g is None:
            return None
        if not _is_tensor(g):
            g = _core.tensor(g)
        g = sum_to(g, shape)
        if tuple(g.shape) != tuple(shape):
            g = g.expand(shape).contiguous()
        return g.to(dtype) if g.dtype is not dtype else g


def binary(op, x, y, out, alpha):
    if out is not None and out is not x:
        raise RuntimeError(f"{_BINARY_NAMES.get(op, 'op')}(): functions with out=... arguments "
                           f"don't support automatic differentiation, but one of the arguments "
                           f"requires grad.")
    if out is x:
        return _inplace(lambda: _core.binary_op(op, x, y, x, alpha),
                        lambda xin: BinaryBackward(op, xin, y, alpha, x.dtype), x)
    with _no_grad():
        result = _core.binary_op(op, x, y, None, alpha)
    if not result.dtype.is_floating_point:
        return result
    return _record(BinaryBackward(op, x, y, alpha, result.dtype), result)


# ---- element-wise unary ops -------------------------------------------------------------------

_UNARY_NAMES = {v: k for k, v in U.items()}
# NOTE [ Op table ]: the derivative of each unary op is its row's formula
_UNARY_FORMULAS = _formulas.unary_formulas(_op_table.UNARY)


class UnaryBackward(Node):
    """Backward of a unary element-wise op: its op-table formula, with the input and/or
    the output saved as the formula reads them."""

    def __init__(self, op_name, x, out, p0, p1):
        super().__init__((x,), (_meta(out),))
        self.op = op_name
        self.formula = _UNARY_FORMULAS.get(op_name)
        self.p0, self.p1 = p0, p1
        self.dtype = x.dtype
        f = self.formula
        self.sx = self.save(x) if f is not None and f.needs_x else None
        self.sout = self.save(out, is_output=True) if f is not None and f.needs_result else None

    def name(self):
        return "".join(w.capitalize() for w in self.op.split("_")) + "Backward0"

    def backward(self, g):
        if self.formula is None:
            raise RuntimeError(f"the derivative for '{self.op}' is not implemented")
        x = self.sx.unpack(self) if self.sx is not None else None
        y = self.sout.unpack(self) if self.sout is not None else None
        r = self.formula.fn(g, x, y, self.p0, self.p1)
        return r if r.dtype is self.dtype else r.to(self.dtype)


_UNARY_BY_CODE = dict(_UNARY_NAMES)


def unary(op, a, out, name, p0=0.0, p1=0.0):
    op_name = _UNARY_BY_CODE.get(op)
    if op_name is None:                                 # leaky_relu / softplus have no entry
        op_name = {"leaky_relu": "leaky_relu", "softplus": "softplus"}.get(name, name)
    if out is not None and out is not a:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    run = (lambda target: _core_unary(op, a, target, name, p0, p1))
    if out is a:
        return _inplace(lambda: run(a), lambda xin: _UnaryInplace(op_name, xin, a, p0, p1), a,
                        node_after=_needs_result(op_name))
    with _no_grad():
        result = run(None)
    if not result.dtype.is_floating_point:
        return result
    return _record(UnaryBackward(op_name, a, result, p0, p1), result)


def _needs_result(op_name):
    f = _UNARY_FORMULAS.get(op_name)
    return f is not None and f.needs_result


def _UnaryInplace(op_name, xin, a, p0, p1):
    # the formula may need the input (saved as the pre-op clone xin) or the output (a, after)
    return UnaryBackward(op_name, xin, a, p0, p1)


def _core_unary(op, a, out, name, p0, p1):
    if name == "leaky_relu":
        return _core.leaky_relu(a, p0, out is a)
    if name == "softplus":
        return _core.softplus(a, p0, p1)
    return _core.unary_op(op, a, out, name)


class ClampBackward(Node):
    def __init__(self, x, lo, hi):
        super().__init__((x, lo if _is_tensor(lo) else None, hi if _is_tensor(hi) else None))
        self.sx = self.save(x)
        self.lo = self.save(lo) if _is_tensor(lo) else lo
        self.hi = self.save(hi) if _is_tensor(hi) else hi
        self.dtype = x.dtype

    def backward(self, g):
        x = self.sx.unpack(self)
        lo = self.lo.unpack(self) if hasattr(self.lo, "unpack") else self.lo
        hi = self.hi.unpack(self) if hasattr(self.hi, "unpack") else self.hi
        keep = None
        if lo is not None:
            keep = x >= lo
        if hi is not None:
            keep = (x <= hi) if keep is None else keep & (x <= hi)
        gx = _core.where(keep, g, 0.0)
        glo = ghi = None
        if _is_tensor(lo):
            glo = sum_to(_core.where(x < lo, g, 0.0), lo.shape)
        if _is_tensor(hi):
            ghi = sum_to(_core.where(x > hi, g, 0.0), hi.shape)
        return sum_to(gx, x.shape), glo, ghi


def clamp(a, lo, hi, out, name):
    if out is not None and out is not a:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    if out is a:
        return _inplace(lambda: _core.clamp(a, lo, hi, out=a),
                        lambda xin: ClampBackward(xin, lo, hi), a)
    with _no_grad():
        result = _core.clamp(a, lo, hi)
    return _record(ClampBackward(a, lo, hi), result)


class WhereBackward(Node):
    def __init__(self, cond, x, y):
        super().__init__((x if _is_tensor(x) else None, y if _is_tensor(y) else None))
        self.cond = self.save(cond)
        self.shapes = (x.shape if _is_tensor(x) else None, y.shape if _is_tensor(y) else None)

    def backward(self, g):
        c = self.cond.unpack(self)
        gx = sum_to(_core.where(c, g, 0.0), self.shapes[0]) if self.shapes[0] is not None else None
        gy = sum_to(_core.where(c, 0.0, g), self.shapes[1]) if self.shapes[1] is not None else None
        return gx, gy


def where(cond, x, y):
    with _no_grad():
        result = _core.where(cond, x, y)
    return _record(WhereBackward(cond, x, y), result)


class LerpBackward(Node):
    def __init__(self, start, end, weight):
        super().__init__((start, end, weight if _is_tensor(weight) else None))
        self.shapes = (start.shape, end.shape)
        self.w = self.save(weight) if _is_tensor(weight) else weight
        self.s = self.save(start) if _is_tensor(weight) else None
        self.e = self.save(end) if _is_tensor(weight) else None
        self.w_shape = weight.shape if _is_tensor(weight) else None

    def backward(self, g):
        w = self.w.unpack(self) if hasattr(self.w, "unpack") else self.w
        gs = sum_to(g * (1.0 - w), self.shapes[0])
        ge = sum_to(g * w, self.shapes[1])
        gw = None
        if self.w_shape is not None:
            gw = sum_to(g * (self.e.unpack(self) - self.s.unpack(self)), self.w_shape)
        return gs, ge, gw


def lerp(start, end, weight, out):
    if out is start:
        return _inplace(lambda: _core.lerp(start, end, weight, out=start),
                        lambda xin: LerpBackward(xin, end, weight), start)
    with _no_grad():
        result = _core.lerp(start, end, weight)
    return _record(LerpBackward(start, end, weight), result)


# ---- reductions -------------------------------------------------------------------------------

def _reduced_dims(ndim, dim):
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return list(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return sorted(d % ndim if ndim else 0 for d in dims)


def _unsqueeze_back(g, in_shape, dim, keepdim):
    """g (a reduction's gradient) with the reduced dims restored as size 1."""
    if keepdim or len(in_shape) == 0:
        return g
    for d in _reduced_dims(len(in_shape), dim):
        g = g.unsqueeze(d)
    return g


class SumBackward(Node):
    def __init__(self, x, dim, keepdim, scale=None):
        super().__init__((x,))
        self.shape, self.dtype = x.shape, x.dtype
        self.dim, self.keepdim, self.scale = dim, keepdim, scale

    def name(self):
        return "MeanBackward0" if self.scale is not None else "SumBackward0"

    def backward(self, g):
        g = _unsqueeze_back(g, self.shape, self.dim, self.keepdim)
        if self.scale is not None:
            g = g * self.scale
        return g.expand(self.shape).to(self.dtype).contiguous()


def sum(t, dim, keepdim, dtype):
    with _no_grad():
        result = t.sum(dim, keepdim, dtype=dtype)
    if not result.dtype.is_floating_point:
        return result
    return _record(SumBackward(t, dim, keepdim), result)


def mean(t, dim, keepdim, dtype):
    with _no_grad():
        result = t.mean(dim, keepdim, dtype=dtype)
    count = t.numel() // builtins.max(1, result.numel()) if t.numel() else 0
    return _record(SumBackward(t, dim, keepdim, 1.0 / count if count else float("nan")), result)


class ProdBackward(Node):
    def __init__(self, x, out, dim, keepdim):
        super().__init__((x,))
        self.sx = self.save(x)
        self.sout = self.save(out, is_output=True)
        self.dim, self.keepdim = dim, keepdim

    def backward(self, g):
        import numpy as np
        x = self.sx.unpack(self)
        out = self.sout.unpack(self)
        g = _unsqueeze_back(g, x.shape, self.dim, self.keepdim)
        out = _unsqueeze_back(out, x.shape, self.dim, self.keepdim)
        if not bool((x == 0).any()):
            return g * out / x
        # zeros: the product of the other elements, by exclusive cumulative products
        xs = x.detach().numpy()
        axis = None if self.dim is None else self.dim % builtins.max(1, x.ndim)
        flat = xs.reshape(-1) if axis is None else np.moveaxis(xs, axis, -1)
        left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
        right = np.flip(np.cumprod(np.concatenate(
            [np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
        others = left * right
        others = others.reshape(xs.shape) if axis is None else np.moveaxis(others, -1, axis)
        return g * _core.from_numpy(np.ascontiguousarray(others))


def prod(t, dim, keepdim, dtype):
    with _no_grad():
        result = t.prod(dim, keepdim, dtype=dtype)
    if not result.dtype.is_floating_point:
        return result
    return _record(ProdBackward(t, result, dim, keepdim), result)


class AmaxBackward(Node):
    """max/min over dims without indices: the gradient split evenly over tied elements."""

    def __init__(self, x, out, dim, keepdim, name):
        super().__init__((x,))
        self.sx = self.save(x)
        self.sout = self.save(out, is_output=True)
        self.dim, self.keepdim, self._name = dim, keepdim, name

    def name(self):
        return self._name.capitalize() + "Backward1"

    def backward(self, g):
        x = self.sx.unpack(self)
        dim = None if self.dim == () else self.dim
        out = _unsqueeze_back(self.sout.unpack(self), x.shape, dim, self.keepdim)
        g = _unsqueeze_back(g, x.shape, dim, self.keepdim)
        mask = ((x == out) | (x.isnan() & out.isnan())).to(x.dtype)   # NaN wins, as in torch
        count = mask.sum(dim, keepdim=True)
        return mask * (g / count)


def amax(t, dim, keepdim, is_max, name):
    with _no_grad():
        result = t.amax(dim, keepdim) if is_max else t.amin(dim, keepdim)
    if not result.dtype.is_floating_point:
        return result
    return _record(AmaxBackward(t, result, dim, keepdim, name), result)


class MaxDimBackward(Node):
    """max/min(dim): the gradient goes to the index each value came from."""

    def __init__(self, x, indices, dim, keepdim, name):
        super().__init__((x,))
        self.shape, self.dtype = x.shape, x.dtype
        self.idx = self.save(indices)
        self.dim, self.keepdim, self._name = dim, keepdim, name

    def name(self):
        return self._name.capitalize() + "Backward0"

    def backward(self, g):
        import numpy as np
        idx = self.idx.unpack(self)
        if len(self.shape) == 0:
            return g.reshape(())
        d = self.dim % len(self.shape)
        if not self.keepdim:
            g, idx = g.unsqueeze(d), idx.unsqueeze(d)
        out = np.zeros(self.shape, dtype=self.dtype.numpy_dtype)
        np.put_along_axis(out, idx.numpy(), g.numpy(), axis=d)
        return _core.from_numpy(out)


def max_dim(t, dim, keepdim, is_max, name):
    with _no_grad():
        vals, idx = t.max(dim, keepdim) if is_max else t.min(dim, keepdim)
    if not vals.dtype.is_floating_point:
        return type(_core.values_indices(vals, idx))(vals, idx)
    _record(MaxDimBackward(t, idx, dim, keepdim, name), vals)
    return _core.values_indices(vals, idx)


class CumsumBackward(Node):
    def __init__(self, x, dim):
        super().__init__((x,))
        self.dim, self.dtype = dim, x.dtype

    def backward(self, g):
        if g.ndim == 0:
            return g
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim).to(self.dtype)


class CumprodBackward(Node):
    def __init__(self, x, out, dim):
        super().__init__((x,))
        self.sx = self.save(x)
        self.sout = self.save(out, is_output=True)
        self.dim = dim

    def backward(self, g):
        x, out = self.sx.unpack(self), self.sout.unpack(self)
        if g.ndim == 0:
            return g
        d = self.dim
        if not bool((x == 0).any()):
            return (g * out).flip(d).cumsum(d).flip(d) / x
        # zeros: grad_i = sum_{j >= i} g_j * prod_{k <= j, k != i} x_k, lane by lane
        import numpy as np
        xs = np.moveaxis(x.detach().numpy(), d, -1)
        gs = np.moveaxis(g.detach().numpy(), d, -1)
        res = np.zeros_like(xs)
        n = xs.shape[-1]
        for i in range(n):
            others = xs.copy()
            others[..., i] = 1
            prefix = np.cumprod(others, axis=-1)
            res[..., i] = (gs[..., i:] * prefix[..., i:]).sum(-1)
        return _core.from_numpy(np.ascontiguousarray(np.moveaxis(res, -1, d)))


def cumulative(t, dim, dtype, is_sum, name):
    with _no_grad():
        result = t.cumsum(dim, dtype=dtype) if is_sum else t.cumprod(dim, dtype=dtype)
    if not result.dtype.is_floating_point:
        return result
    node = CumsumBackward(t, dim) if is_sum else CumprodBackward(t, result, dim)
    return _record(node, result)


class SoftmaxBackward(Node):
    def __init__(self, x, out, dim, take_log):
        super().__init__((x,))
        self.sout = self.save(out, is_output=True)
        self.dim, self.take_log, self.dtype = dim, take_log, x.dtype

    def name(self):
        return "LogSoftmaxBackward0" if self.take_log else "SoftmaxBackward0"

    def backward(self, g):
        y = self.sout.unpack(self)
        if self.take_log:
            r = g - y.exp() * g.sum(self.dim, keepdim=True)
        else:
            r = y * (g - (g * y).sum(self.dim, keepdim=True))
        return r.to(self.dtype)


def softmax(t, dim, dtype, take_log):
    with _no_grad():
        result = t.log_softmax(dim, dtype) if take_log else t.softmax(dim, dtype)
    return _record(SoftmaxBackward(t, result, dim if t.ndim else 0, take_log), result)


class LogsumexpBackward(Node):
    def __init__(self, x, out, dim, keepdim):
        super().__init__((x,))
        self.sx = self.save(x)
        self.sout = self.save(out, is_output=True)
        self.dim, self.keepdim = dim, keepdim

    def backward(self, g):
        x = self.sx.unpack(self)
        out = _unsqueeze_back(self.sout.unpack(self), x.shape, self.dim, self.keepdim)
        g = _unsqueeze_back(g, x.shape, self.dim, self.keepdim)
        return g * (x - out).exp()


def logsumexp(t, dim, keepdim):
    with _no_grad():
        result = t.logsumexp(dim, keepdim)
    return _record(LogsumexpBackward(t, result, dim, keepdim), result)


class NormBackward(Node):
    """Vector norms: d||x||_p/dx = x |x|^(p-2) / ||x||^(p-1) (0 where the norm is 0, as
    PyTorch's subgradient); inf-norms send the gradient to the largest |x| (split on ties)."""

    def __init__(self, x, out, p, dim, keepdim):
        super().__init__((x,))
        self.sx = self.save(x)
        self.sout = self.save(out, is_output=True)
        self.p, self.dim, self.keepdim = p, dim, keepdim

    def name(self):
        return "LinalgVectorNormBackward0"

    def backward(self, g):
        x = self.sx.unpack(self)
        norm = _unsqueeze_back(self.sout.unpack(self), x.shape, self.dim, self.keepdim)
        g = _unsqueeze_back(g, x.shape, self.dim, self.keepdim)
        p = self.p
        if p == 0:
            return x * 0.0
        if p == 1:
            return g * x.sign()
        if p in (math.inf, -math.inf):
            a = x.abs()
            mask = ((a == norm) | (a.isnan() & norm.isnan())).to(x.dtype)
            count = mask.sum(self.dim, keepdim=True)
            return x.sign() * mask * (g / count)
        if p == 2:
            scale = _core.where(norm == 0, 0.0, g / norm)
            return x * scale
        scale = _core.where(norm == 0, 0.0, g / norm ** (p - 1))
        return x * x.abs() ** (p - 2) * scale


def norm(t, p, dim, keepdim, dtype):
    if p == "fro" or p is None:
        p = 2
    with _no_grad():
        result = t.norm(p, dim, keepdim, dtype)
    return _record(NormBackward(t if dtype is None else t.to(dtype), result, p, dim, keepdim),
                   result)


# ---- copies, dtype conversions, views -------------------------------------------------------

class ToCopyBackward(Node):
    def __init__(self, x, out):
        super().__init__((x,), (_meta(out),))
        self.dtype = x.dtype

    def name(self):
        return "ToCopyBackward0"

    def backward(self, g):
        return g.to(self.dtype) if g.dtype is not self.dtype else g


def record_copy(src, out):
    """out is a fresh copy (clone, contiguous, to(dtype), reshape's copy) of src."""
    out._set_grad_fn(ToCopyBackward(src, out), 0)


# views: NOTE [ View backward ] in views.py
from strided.autograd.views import (record_view, record_pieces, ViewNode, AsStridedBackward0,
                                    _geometry, _extent)


class IndexBackward(Node):
    """Advanced indexing (a gather): the gradient is scattered back with accumulation, so
    an element picked twice receives both contributions."""

    def __init__(self, src, np_index, out):
        super().__init__((src,), (_meta(out),))
        import numpy as np
        self.shape, self.dtype = src.shape, src.dtype
        # index arrays may view the caller's index tensors: keep copies
        self.index = tuple(np.array(i) if isinstance(i, np.ndarray) else i for i in np_index)

    def name(self):
        return "IndexBackward0"

    def backward(self, g):
        import numpy as np
        gi = np.zeros(self.shape, dtype=self.dtype.numpy_dtype)
        np.add.at(gi, self.index, g.detach().numpy())
        return _core.from_numpy(gi)


def record_index(src, np_index, out):
    out._set_grad_fn(IndexBackward(src, np_index, out), 0)


class IndexSelectBackward(Node):
    """out = src.index_select(dim, index): the gradient goes back with index_add (duplicate
    indices accumulate)."""

    def __init__(self, src, dim, index, out):
        super().__init__((src,), (_meta(out),))
        self.shape, self.dtype, self.dim = src.shape, src.dtype, dim
        self.index = index.clone()              # the caller may change its index tensor

    def name(self):
        return "IndexSelectBackward0"

    def backward(self, g):
        from strided.creation import zeros
        g = g if g.dtype == self.dtype else g.to(self.dtype)
        return zeros(self.shape, dtype=self.dtype).index_add_(self.dim, self.index, g)


def index_select(t, dim, index):
    with _no_grad():
        out = t.index_select(dim, index)
    return _record(IndexSelectBackward(t, dim, index, out), out)


class IndexAddBackward(Node):
    """x.index_add_(dim, index, source, alpha): x's gradient passes through; source's is
    alpha * g.index_select(dim, index)."""

    def __init__(self, old, source, dim, index, alpha):
        super().__init__((old, source))
        self.dim, self.index, self.alpha = dim, index, alpha
        self.source_shape = source.shape

    def name(self):
        return "IndexAddBackward0"

    def backward(self, g):
        gs = None
        if self.next_functions[1] is not None:
            gs = g.index_select(self.dim, self.index).reshape(self.source_shape)
            if self.alpha != 1:
                gs = gs * self.alpha
        return g, gs


def index_add_(x, dim, index, source, alpha):
    index = index.clone()

    def run():
        x.index_add_(dim, index, source, alpha=alpha)

    return _inplace(run, lambda old: IndexAddBackward(old, source, dim, index, alpha), x)


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
        super().__init__((base,), (_meta(base),))
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
    if isinstance(fn, ViewNode) and fn.next_functions and fn.next_functions[0] is not None \
            and isinstance(fn.next_functions[0][0], AccumulateGrad):
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    with _no_grad():
        old = x.clone()                         # the op's formula may need x's old value
    old_nr = x.output_nr
    if fn is not None:                          # old stands in for x: same history
        old._set_grad_fn(fn, old_nr)
    node = None if node_after else make_node(old)
    with _no_grad():
        run()
    if node is None:
        node = make_node(old)
    if not x.dtype.is_floating_point:
        return x
    if base is not None:
        copy = CopySlicesBackward(base, _geometry(x), node)
        base._set_grad_fn(copy, 0)
        new_fn = AsStridedBackward0(base, x)
    else:
        new_fn = node
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

    return _inplace(run, lambda xin: CopyBackward(xin, src_t, dst.shape), dst)


class CopyBackward(Node):
    def __init__(self, old, src, shape):
        super().__init__((old, src))
        self.old_meta = (old.shape, old.dtype)
        self.src_meta = (src.shape, src.dtype) if src is not None else None

    def name(self):
        return "CopyBackwards"

    def backward(self, g):
        g_old = g * 0.0
        g_src = None
        if self.src_meta is not None:
            g_src = sum_to(g, self.src_meta[0]).to(self.src_meta[1])
        return g_old, g_src


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
    return builtins.all(i is None or i is Ellipsis or (isinstance(i, (slice, numbers.Integral)) and
                                              not isinstance(i, bool)) for i in items)


# ---- matrix products (hooked from strided._C.ops.gemm) -----------------------------------------

def _linalg():
    from strided._C.ops import gemm as linalg
    return linalg


class MmBackward(Node):
    """out = alpha * a @ b (+ beta * addend): 2-D operands."""

    def __init__(self, a, b, alpha=1.0, addend=None, beta=1.0):
        super().__init__((a, b, addend))
        self.sa = self.save(a) if b.requires_grad else None
        self.sb = self.save(b) if a.requires_grad else None
        self.alpha, self.beta = alpha, beta
        self.addend_meta = _meta(addend) if addend is not None else None

    def name(self):
        return "AddmmBackward0" if self.addend_meta is not None else "MmBackward0"

    def backward(self, g):
        L = _linalg()
        ga = gb = gc = None
        if self.sb is not None:
            ga = L.mm(g, self.sb.unpack(self).T)
            if self.alpha != 1:
                ga = ga * self.alpha
        if self.sa is not None:
            gb = L.mm(self.sa.unpack(self).T, g)
            if self.alpha != 1:
                gb = gb * self.alpha
        if self.addend_meta is not None:
            gc = sum_to(g * self.beta if self.beta != 1 else g, self.addend_meta[0])
        return ga, gb, gc


class BmmBackward(Node):
    def __init__(self, a, b):
        super().__init__((a, b))
        self.sa = self.save(a) if b.requires_grad else None
        self.sb = self.save(b) if a.requires_grad else None

    def name(self):
        return "BmmBackward0"

    def backward(self, g):
        L = _linalg()
        ga = L.bmm(g, self.sb.unpack(self).transpose(1, 2)) if self.sb is not None else None
        gb = L.bmm(self.sa.unpack(self).transpose(1, 2), g) if self.sa is not None else None
        return ga, gb


class LinearBackward(Node):
    """y = x @ W.T + b for x of shape (..., in): the gradients as two GEMMs and a sum."""

    def __init__(self, x, w, bias):
        super().__init__((x, w, bias))
        self.sx = self.save(x) if w.requires_grad else None
        self.sw = self.save(w) if x.requires_grad else None
        self.x_shape = x.shape
        self.has_bias = bias is not None

    def name(self):
        return "LinearBackward0"

    def backward(self, g):
        L = _linalg()
        out_features = g.shape[-1] if g.ndim else 1
        g2 = g.reshape(-1, out_features)
        gx = gw = gb = None
        if self.sw is not None:
            gx = L.mm(g2, self.sw.unpack(self)).reshape(self.x_shape)
        if self.sx is not None:
            x2 = self.sx.unpack(self).reshape(-1, self.x_shape[-1])
            gw = L.mm(g2.T, x2)
        if self.has_bias:
            gb = g2.sum(0)
        return gx, gw, gb


def mm(a, b):
    with _no_grad():
        out = _linalg().mm(a, b)
    if not out.dtype.is_floating_point:
        return out
    return _record(MmBackward(a, b), out)


def addmm(c, a, b, beta, alpha):
    with _no_grad():
        out = _linalg().addmm(c, a, b, beta=beta, alpha=alpha)
    return _record(MmBackward(a, b, alpha, c if _is_tensor(c) else None, beta), out)


def bmm(a, b):
    with _no_grad():
        out = _linalg().bmm(a, b)
    return _record(BmmBackward(a, b), out)


def linear(x, w, bias):
    with _no_grad():
        out = _linalg().linear(x, w, bias)
    return _record(LinearBackward(x, w, bias), out)


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


class KernelBackward(Node):
    """The Node of an op whose backward is a kernel call (pooling, convolution): `backward`
    maps the output's gradient to a tuple of input gradients and must not hold the output
    (so the graph has no cycle).

    The tensors the backward reads (by default the inputs; also outputs such as max
    pooling's indices) are saved as SavedTensors, so an in-place change to one of them
    after the forward makes backward raise (NOTE [ Version counter ]), and releasing the
    graph drops the closure that holds them."""

    def __init__(self, name, inputs, out, backward, saved=None, saved_outputs=()):
        super().__init__(inputs, (_meta(out),))
        self._name = name
        self._backward = backward
        for t in (inputs if saved is None else saved):
            if _is_tensor(t):
                self.save(t)
        for t in saved_outputs:
            self.save(t, is_output=True)

    def name(self):
        return self._name

    def backward(self, g):
        for s in self._saved:
            s.unpack(self)                      # raises if modified in place since
        return self._backward(g)

    def release(self):
        super().release()
        self._backward = None


def record_kernel_op(name, inputs, out, backward, saved=None, saved_outputs=()):
    """Record out as produced by inputs, differentiated by backward(grad_out) -> grads.

    saved: the tensors backward reads, checked for in-place changes (default: the inputs);
    saved_outputs: outputs it reads (e.g. max pooling's indices)."""
    out._set_grad_fn(KernelBackward(name, inputs, out, backward, saved, saved_outputs), 0)
    return out
