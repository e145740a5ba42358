"""The derivative table's rows for the built-in ops of strided._C (NOTE [ Derivative table ]
in record.py): element-wise ops from the op table's formulas, then clamp/where/lerp,
reductions, copies, indexing and matrix products.  View ops' rows are in views.py.

Each row is `grads(ctx, g) -> one gradient per input` (ctx: what the op recorded).
"""
import builtins
import math

from strided._C.core import tensor as _core
from strided.autograd.broadcast import sum_to
from strided.autograd.record import derivative, DERIVATIVES, Derivative
from strided.autograd import formulas as _formulas
from strided import op_table as _op_table


def _is_tensor(x):
    return isinstance(x, _core.Tensor)


def _linalg():
    from strided._C.ops import gemm as linalg
    return linalg


# ---- element-wise ops: one row per op-table row (NOTE [ Op table ]) ---------------------------

UNARY_FORMULAS = _formulas.unary_formulas(_op_table.UNARY)
BINARY_FORMULAS = _formulas.binary_formulas(_op_table.BINARY)


def _unary_row(name, formula):
    def grads(ctx, g):
        if formula is None:
            raise RuntimeError(f"the derivative for '{name}' is not implemented")
        r = formula.fn(g, ctx.x, ctx.result, ctx.p0, ctx.p1)
        return r if r.dtype is ctx.dtypes[0] else r.to(ctx.dtypes[0])
    return grads


def _binary_finish(g, shape, dtype):
    """A binary op's gradient for an operand of this shape and dtype (None: no operand)."""
    if shape is None or g is None:
        return None
    if not _is_tensor(g):
        g = _core.tensor(g)
    g = sum_to(g, shape)
    if tuple(g.shape) != tuple(shape):
        g = g.expand(shape).contiguous()
    return g.to(dtype) if g.dtype is not dtype else g


def _binary_row(name, formulas):
    def grads(ctx, g):
        if formulas is None:
            raise RuntimeError(f"the derivative for '{name}' is not implemented")
        fx, fy = formulas
        gx = fx.fn(g, ctx.x, ctx.y, ctx.alpha) if ctx.needs[0] else None
        gy = fy.fn(g, ctx.x, ctx.y, ctx.alpha) if ctx.needs[1] else None
        return (_binary_finish(gx, ctx.shapes[0], ctx.dtypes[0]),
                _binary_finish(gy, ctx.shapes[1], ctx.dtypes[1]))
    return grads


def _camel(name):
    return "".join(w.capitalize() for w in name.split("_")) + "Backward0"


def _table_rows():
    """The rows of the op table's ops (those without a formula raise when differentiated);
    clamp and lerp, whose bounds and weight are further inputs, have rows of their own."""
    for row in _op_table.UNARY:
        if row.name not in DERIVATIVES:
            DERIVATIVES[row.name] = Derivative(row.name, _camel(row.name),
                                               _unary_row(row.name, UNARY_FORMULAS.get(row.name)))
    for row in _op_table.BINARY:
        if row.name not in DERIVATIVES:
            DERIVATIVES[row.name] = Derivative(
                row.name, row.node, _binary_row(row.name, BINARY_FORMULAS.get(row.name)))


def _clamp_name(ctx):
    if ctx.name in ("clamp_min", "clamp_max") and ctx.tensor_bounds is False:
        return "ClampMinBackward0" if ctx.name == "clamp_min" else "ClampMaxBackward0"
    return "ClampBackward0" if ctx.tensor_bounds else "ClampBackward1"


@derivative("clamp", _clamp_name)
def _clamp(ctx, g):
    x, lo, hi = ctx.x, ctx.lo, ctx.hi
    keep = None
    if lo is not None:
        keep = x >= lo
    if hi is not None:
        keep = (x <= hi) if keep is None else keep & (x <= hi)
    gx = _core.where(keep, g, 0.0)
    glo = sum_to(_core.where(x < lo, g, 0.0), lo.shape) if _is_tensor(lo) else None
    ghi = sum_to(_core.where(x > hi, g, 0.0), hi.shape) if _is_tensor(hi) else None
    return sum_to(gx, x.shape), glo, ghi


@derivative("where", "WhereBackward0")
def _where(ctx, g):
    c = ctx.condition
    sx, sy = ctx.shapes
    gx = sum_to(_core.where(c, g, 0.0), sx) if sx is not None else None
    gy = sum_to(_core.where(c, 0.0, g), sy) if sy is not None else None
    return gx, gy


@derivative("lerp", lambda ctx: "LerpBackward1" if ctx.shapes[2] is not None else "LerpBackward0")
def _lerp(ctx, g):
    w = ctx.weight
    gs = sum_to(g * (1.0 - w), ctx.shapes[0])
    ge = sum_to(g * w, ctx.shapes[1])
    gw = sum_to(g * (ctx.end - ctx.start), ctx.shapes[2]) if ctx.shapes[2] is not None else None
    return gs, ge, gw


# ---- reductions -------------------------------------------------------------------------------

def reduced_dims(ndim, dim):
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return list(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return sorted(d % ndim if ndim else 0 for d in dims)


def unsqueeze_back(g, in_shape, dim, keepdim):
    """g (a reduction's gradient) with the reduced dims restored as size 1."""
    if keepdim or len(in_shape) == 0:
        return g
    for d in reduced_dims(len(in_shape), dim):
        g = g.unsqueeze(d)
    return g


def _sum_grads(ctx, g):
    shape = ctx.shapes[0]
    g = unsqueeze_back(g, shape, ctx.dim, ctx.keepdim)
    if ctx.scale is not None:
        g = g * ctx.scale
    return g.expand(shape).to(ctx.dtypes[0]).contiguous()


# PyTorch's names: SumBackward0 over everything, SumBackward1 over dims (mean likewise)
derivative("sum", lambda ctx: "SumBackward0" if ctx.dim is None else "SumBackward1")(_sum_grads)
derivative("mean", lambda ctx: "MeanBackward0" if ctx.dim is None else "MeanBackward1")(_sum_grads)


@derivative("prod", lambda ctx: "ProdBackward0" if ctx.dim is None else "ProdBackward1")
def _prod(ctx, g):
    import numpy as np
    x = ctx.x
    g = unsqueeze_back(g, x.shape, ctx.dim, ctx.keepdim)
    out = unsqueeze_back(ctx.result, x.shape, ctx.dim, ctx.keepdim)
    if not bool((x == 0).any()):
        return g * out / x
    # zeros: the product of the other elements, by exclusive cumulative products
    xs = x.detach().numpy()
    axis = None if ctx.dim is None else ctx.dim % builtins.max(1, x.ndim)
    flat = xs.reshape(-1) if axis is None else np.moveaxis(xs, axis, -1)
    left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
    right = np.flip(np.cumprod(np.concatenate(
        [np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = left * right
    others = others.reshape(xs.shape) if axis is None else np.moveaxis(others, -1, axis)
    return g * _core.from_numpy(np.ascontiguousarray(others))


def _amax_grads(ctx, g):
    """max/min over dims without indices: the gradient split evenly over tied elements."""
    x = ctx.x
    dim = None if ctx.dim == () else ctx.dim
    out = unsqueeze_back(ctx.result, x.shape, dim, ctx.keepdim)
    g = unsqueeze_back(g, x.shape, dim, ctx.keepdim)
    mask = ((x == out) | (x.isnan() & out.isnan())).to(x.dtype)   # NaN wins, as in torch
    count = mask.sum(dim, keepdim=True)
    return mask * (g / count)


# max() and min() over everything are MaxBackward1 / MinBackward1 in PyTorch; amax AmaxBackward0
derivative("amax", lambda ctx: ctx.name.capitalize()
           + ("Backward1" if ctx.name in ("max", "min") else "Backward0"))(_amax_grads)


def _max_dim_grads(ctx, g):
    """max/min(dim): the gradient goes to the index each value came from."""
    import numpy as np
    shape, idx = ctx.shapes[0], ctx.indices
    if len(shape) == 0:
        return g.reshape(())
    d = ctx.dim % len(shape)
    if not ctx.keepdim:
        g, idx = g.unsqueeze(d), idx.unsqueeze(d)
    out = np.zeros(shape, dtype=ctx.dtypes[0].numpy_dtype)
    np.put_along_axis(out, idx.numpy(), g.numpy(), axis=d)
    return _core.from_numpy(out)


derivative("max_dim", lambda ctx: ctx.name.capitalize() + "Backward0")(_max_dim_grads)


@derivative("cumsum", "CumsumBackward0")
def _cumsum(ctx, g):
    if g.ndim == 0:
        return g
    return g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim).to(ctx.dtypes[0])


@derivative("cumprod", "CumprodBackward0")
def _cumprod(ctx, g):
    x, out, d = ctx.x, ctx.result, ctx.dim
    if g.ndim == 0:
        return g
    if not bool((x == 0).any()):
        return (g * out).flip(d).cumsum(d).flip(d) / x
    # zeros: grad_i = sum_{j >= i} g_j * prod_{k <= j, k != i} x_k, lane by lane
    import numpy as np
    xs = np.moveaxis(x.detach().numpy(), d, -1)
    gs = np.moveaxis(g.detach().numpy(), d, -1)
    res = np.zeros_like(xs)
    for i in range(xs.shape[-1]):
        others = xs.copy()
        others[..., i] = 1
        prefix = np.cumprod(others, axis=-1)
        res[..., i] = (gs[..., i:] * prefix[..., i:]).sum(-1)
    return _core.from_numpy(np.ascontiguousarray(np.moveaxis(res, -1, d)))


@derivative("softmax", "SoftmaxBackward0")
def _softmax(ctx, g):
    y = ctx.result
    return (y * (g - (g * y).sum(ctx.dim, keepdim=True))).to(ctx.dtypes[0])


@derivative("log_softmax", "LogSoftmaxBackward0")
def _log_softmax(ctx, g):
    y = ctx.result
    return (g - y.exp() * g.sum(ctx.dim, keepdim=True)).to(ctx.dtypes[0])


@derivative("logsumexp", "LogsumexpBackward0")
def _logsumexp(ctx, g):
    x = ctx.x
    out = unsqueeze_back(ctx.result, x.shape, ctx.dim, ctx.keepdim)
    g = unsqueeze_back(g, x.shape, ctx.dim, ctx.keepdim)
    return g * (x - out).exp()


@derivative("norm", "LinalgVectorNormBackward0")
def _norm(ctx, g):
    """Vector norms: d||x||_p/dx = x |x|^(p-2) / ||x||^(p-1) (0 where the norm is 0, as
    PyTorch's subgradient); inf-norms send the gradient to the largest |x| (split on ties)."""
    x, p = ctx.x, ctx.p
    norm = unsqueeze_back(ctx.result, x.shape, ctx.dim, ctx.keepdim)
    g = unsqueeze_back(g, x.shape, ctx.dim, ctx.keepdim)
    if p == 0:
        return x * 0.0
    if p == 1:
        return g * x.sign()
    if p in (math.inf, -math.inf):
        a = x.abs()
        mask = ((a == norm) | (a.isnan() & norm.isnan())).to(x.dtype)
        count = mask.sum(ctx.dim, keepdim=True)
        return x.sign() * mask * (g / count)
    if p == 2:
        return x * _core.where(norm == 0, 0.0, g / norm)
    return x * x.abs() ** (p - 2) * _core.where(norm == 0, 0.0, g / norm ** (p - 1))


# ---- copies and indexing ----------------------------------------------------------------------

@derivative("to_copy", "ToCopyBackward0")
def _to_copy(ctx, g):
    return g.to(ctx.dtypes[0]) if g.dtype is not ctx.dtypes[0] else g


@derivative("copy_", "CopyBackwards")
def _copy_(ctx, g):
    g_src = None
    if ctx.shapes[1] is not None:
        g_src = sum_to(g, ctx.shapes[1]).to(ctx.dtypes[1])
    return g * 0.0, g_src


@derivative("index", "IndexBackward0")
def _index(ctx, g):
    """Advanced indexing (a gather): the gradient is scattered back with accumulation, so
    an element picked twice receives both contributions."""
    import numpy as np
    gi = np.zeros(ctx.shapes[0], dtype=ctx.dtypes[0].numpy_dtype)
    np.add.at(gi, ctx.index, g.detach().numpy())
    return _core.from_numpy(gi)


@derivative("index_select", "IndexSelectBackward0")
def _index_select(ctx, g):
    """The gradient goes back with index_add (duplicate indices accumulate)."""
    from strided.creation import zeros
    dtype = ctx.dtypes[0]
    g = g if g.dtype == dtype else g.to(dtype)
    return zeros(ctx.shapes[0], dtype=dtype).index_add_(ctx.dim, ctx.index, g)


@derivative("index_add_", "IndexAddBackward0")
def _index_add_(ctx, g):
    """x.index_add_(dim, index, source, alpha): x's gradient passes through; source's is
    alpha * g.index_select(dim, index)."""
    gs = None
    if ctx.needs[1]:
        gs = g.index_select(ctx.dim, ctx.index).reshape(ctx.shapes[1])
        if ctx.alpha != 1:
            gs = gs * ctx.alpha
    return g, gs


# ---- matrix products --------------------------------------------------------------------------

def _mm_grads(ctx, g):
    """out = alpha * a @ b (+ beta * addend): 2-D operands."""
    L = _linalg()
    ga = gb = gc = None
    if ctx.needs[0]:
        ga = L.mm(g, ctx.b.T)
        if ctx.alpha != 1:
            ga = ga * ctx.alpha
    if ctx.needs[1]:
        gb = L.mm(ctx.a.T, g)
        if ctx.alpha != 1:
            gb = gb * ctx.alpha
    if ctx.shapes[2] is not None:
        gc = sum_to(g * ctx.beta if ctx.beta != 1 else g, ctx.shapes[2])
    return ga, gb, gc


derivative("mm", "MmBackward0")(_mm_grads)
derivative("addmm", "AddmmBackward0")(_mm_grads)


@derivative("bmm", "BmmBackward0")
def _bmm(ctx, g):
    L = _linalg()
    ga = L.bmm(g, ctx.b.transpose(1, 2)) if ctx.needs[0] else None
    gb = L.bmm(ctx.a.transpose(1, 2), g) if ctx.needs[1] else None
    return ga, gb


@derivative("linear", "LinearBackward0")
def _linear(ctx, g):
    """y = x @ W.T + b for x of shape (..., in): the gradients as two GEMMs and a sum."""
    L = _linalg()
    x_shape = ctx.shapes[0]
    g2 = g.reshape(-1, g.shape[-1] if g.ndim else 1)
    gx = gw = gb = None
    if ctx.needs[0]:
        gx = L.mm(g2, ctx.weight).reshape(x_shape)
    if ctx.needs[1]:
        gw = L.mm(g2.T, ctx.x.reshape(-1, x_shape[-1]))
    if ctx.shapes[2] is not None:
        gb = g2.sum(0)
    return gx, gw, gb


_table_rows()
