"""The derivative table's rows for view ops (NOTE [ Derivative table ] in record.py), recorded
from _view() in strided/_C/core/tensor.pyx.

NOTE [ View backward ]
Each view op records its own Node, as PyTorch does (ExpandBackward0, SelectBackward0, ...),
whose formula works on the *elements* of the view's source, never on its storage: the source
may itself reach one memory location through several elements (an expanded or unfolded
tensor, or a leaf made from one), and each of those elements has its own gradient.
- Index-preserving ops map the gradient back with the inverse op: view/reshape/squeeze/
  unsqueeze reshape it, permute/transpose permute it back, flip flips it again.
- Ops that pick elements (select, slice, diagonal, basic indexing) write the gradient into
  the picked part of a zero gradient of the source's shape.
- Ops that reach one source element through several view elements add their gradients:
  expand sums over the expanded dims, unfold replays itself on a zero gradient of the
  source's shape and accumulates the windows into it (accumulate_into adds element by
  element, so overlapping windows sum).
- as_strided is defined on storage, so its formula is too (PyTorch's as_strided_backward,
  _as_strided_scatter).  Views re-recorded from their base after an in-place op
  (NOTE [ In-place ops on views ] in dispatch.py) use it as well, with the base as source.
split/chunk/unbind record one Node with one output per piece (the "pieces" row), so backward
builds the source's gradient once instead of once per piece.
"""
import builtins

from strided._C.core import tensor as _core
from strided.autograd.broadcast import sum_to
from strided.autograd.record import DERIVATIVES, derivative, node, record


def _geometry(t):
    return (tuple(t.shape), tuple(t.stride()), t.storage_offset())


def _zeros(shape, dtype):
    from strided.creation import zeros
    return zeros(shape, dtype=dtype)


def _to_src_dtype(ctx, g):
    return g if g.dtype is ctx.dtypes[0] else g.to(ctx.dtypes[0])


def view_row(op, node):
    """Register the decorated `grad(ctx, g) -> source's gradient` as view op op's row; g
    arrives in the source's dtype, ctx.args holds the op's arguments."""
    def register(grad):
        derivative(op, node, view=True)(lambda ctx, g: grad(ctx, _to_src_dtype(ctx, g)))
        return grad
    return register


def _reshape_back(ctx, g):
    """view, reshape (as a view), unsqueeze, squeeze: elements keep their row-major order."""
    return g.reshape(ctx.shapes[0])


view_row("view", "ViewBackward0")(_reshape_back)
view_row("unsafe_view", "UnsafeViewBackward0")(_reshape_back)   # reshape that had to copy
view_row("unsqueeze", "UnsqueezeBackward0")(_reshape_back)
view_row("squeeze", lambda ctx: "SqueezeBackward0" if ctx.args is None else
         "SqueezeBackward2" if isinstance(ctx.args, (tuple, list)) else
         "SqueezeBackward1")(_reshape_back)


@view_row("expand", "ExpandBackward0")
def _expand(ctx, g):
    """Every expanded element aliases one source element: sum over the expanded dims."""
    return sum_to(g, ctx.shapes[0])


@view_row("permute", "PermuteBackward0")
def _permute(ctx, g):
    inverse = [0] * len(ctx.args)
    for i, p in enumerate(ctx.args):
        inverse[p] = i
    return g.permute(inverse)


@view_row("transpose", "TransposeBackward0")
def _transpose(ctx, g):
    a, b = ctx.args
    return g.transpose(a, b) if g.ndim else g


@view_row("t", "TBackward0")
def _t(ctx, g):
    return g.t()


# In-place view ops (t_, transpose_, ...; NOTE [ In-place metadata changes ] in views.pxi):
# the out-of-place op's formula under PyTorch's name for the in-place form.
view_row("t_", "TBackward1")(_t)
view_row("transpose_", "TransposeBackward1")(_transpose)
view_row("unsqueeze_", "UnsqueezeBackward1")(_reshape_back)
view_row("squeeze_", lambda ctx: "SqueezeBackward3" if ctx.args is None else
         "SqueezeBackward5" if isinstance(ctx.args, (tuple, list)) else
         "SqueezeBackward4")(_reshape_back)


@view_row("flip", "FlipBackward0")
def _flip(ctx, g):
    return g.flip(ctx.args) if ctx.args else g


def _picked(pick):
    """Ops that pick some of the source's elements, each at most once: their gradient is
    written into the same pick of a zero gradient of the source's shape."""
    def grad(ctx, g):
        out = _zeros(ctx.shapes[0], ctx.dtypes[0])
        pick(out, ctx.args).copy_(g)
        return out
    return grad


def _slice_pick(t, args):
    d, start, length, step = args
    if step == 1 or length == 0:
        return t.narrow(d, start, length)
    return t[(slice(None),) * d + (slice(start, start + (length - 1) * step + 1, step),)]


def _basic_index_name(ctx):
    """t[index] for ints, slices, None and Ellipsis: named, as PyTorch names the chain of
    ops it runs, after the last op that changes anything."""
    items = ctx.args if isinstance(ctx.args, tuple) else (ctx.args,)
    for x in reversed(items):
        if x is None:
            return "UnsqueezeBackward0"
        if isinstance(x, slice):
            if x != slice(None) or len(items) == 1:
                return "SliceBackward0"
        elif x is not Ellipsis:
            return "SelectBackward0"
    return "AliasBackward0"


view_row("select", "SelectBackward0")(_picked(lambda t, a: t.select(a[0], a[1])))
view_row("slice", "SliceBackward0")(_picked(_slice_pick))
view_row("diagonal", "DiagonalBackward0")(_picked(lambda t, a: t.diagonal(a[0], a[1], a[2])))
view_row("basic_index", _basic_index_name)(_picked(lambda t, a: t[a]))


@view_row("unfold", "UnfoldBackward0")
def _unfold(ctx, g):
    """Windows may overlap: replay unfold on a zero gradient of the source's shape and add
    the windows' gradients into it (element by element, so shared elements sum)."""
    d, size, step = ctx.args
    out = _zeros(ctx.shapes[0], ctx.dtypes[0])
    _core.accumulate_into(out.unfold(d, size, step), g)
    return out


@view_row("as_strided", "AsStridedBackward0")
def _as_strided(ctx, g):
    """as_strided (and any view re-recorded from its base): defined on storage."""
    return _as_strided_scatter(g, ctx.src, ctx.view, ctx.dtypes[0])


view_row("as_strided_", "AsStridedBackward1")(_as_strided)


def view_node(src, view, op=None, args=None):
    """The Node of view (made from src by view op `op` with arguments `args`); op None (or
    an op without a row) records it as an as_strided of src (NOTE [ View backward ])."""
    if op == "index":
        op = "basic_index"
    row = DERIVATIVES.get(op)
    if row is None or not row.view or op == "as_strided" or op == "as_strided_":
        return node("as_strided_" if op == "as_strided_" else "as_strided", (src,), view,
                    src=_geometry(src), view=_geometry(view))
    return node(op, (src,), view, args=args)


def record_view(src, view, op=None, args=None):
    """Record view (made from src by view op `op` with arguments `args`) in the graph."""
    view._set_grad_fn(view_node(src, view, op, args), 0)


def _extent(geometry):
    sizes, strides, offset = geometry
    if builtins.any(n == 0 for n in sizes):
        return offset, offset
    lo = offset + builtins.sum((n - 1) * s for n, s in zip(sizes, strides) if s < 0)
    hi = offset + builtins.sum((n - 1) * s for n, s in zip(sizes, strides) if s > 0)
    return lo, hi


def _as_strided_scatter(g, src, view, dtype):
    """The gradient w.r.t. a tensor of geometry `src`, given gradient g of its view `view`
    (both geometries over one storage): g is added into a zero buffer spanning both through
    the view's geometry (view elements sharing a location sum), then read back through the
    source's.  As in PyTorch, a location the source reaches through several elements gives
    each of them an equal share."""
    s_lo, s_hi = _extent(src)
    v_lo, v_hi = _extent(view)
    lo, hi = builtins.min(s_lo, v_lo), builtins.max(s_hi, v_hi)
    buf = _zeros(hi - lo + 1, dtype)
    gv = buf.as_strided(view[0], view[1], view[2] - lo)
    _core.accumulate_into(gv, g.to(dtype))
    gs = buf.as_strided(src[0], src[1], src[2] - lo)
    if _core.has_internal_overlap(gs):
        count = _zeros(hi - lo + 1, dtype)
        _core.accumulate_into(count.as_strided(src[0], src[1], src[2] - lo),
                              _core.tensor(1.0, dtype=dtype).expand(src[0]))
        buf = buf / count.clamp(min=1.0)
        gs = buf.as_strided(src[0], src[1], src[2] - lo)
    return gs.contiguous()


def _pieces_name(ctx):
    return {"split": "SplitBackward0", "split_with_sizes": "SplitWithSizesBackward0",
            "unbind": "UnbindBackward0"}[ctx.kind]


@derivative("pieces", _pieces_name, view=True, sparse_grads=True)
def _pieces(ctx, *grads):
    """split/chunk/unbind: one Node, one output per piece.  Pieces no gradient reached are
    left as zeros; the others are written into one zero gradient of the source's shape."""
    out = _zeros(ctx.shapes[0], ctx.dtypes[0])
    d = ctx.dim
    if ctx.kind == "unbind":
        for i, g in enumerate(grads):
            if g is not None:
                out.select(d, i).copy_(g)
        return out
    start = 0
    for length, g in zip(ctx.lengths, grads):
        if g is not None:
            out.narrow(d, start, length).copy_(g)
        start += length
    return out


def record_pieces(src, pieces, d, op):
    """Record the pieces of src along dim d (op: split, split_with_sizes or unbind)."""
    lengths = None if op == "unbind" else [p.shape[d] for p in pieces]
    record("pieces", (src,), tuple(pieces), dim=d, kind=op, lengths=lengths)
