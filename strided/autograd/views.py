"""The backward formulas of view ops (hooked from _view() in strided/_C/core/tensor.pyx).

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
split/chunk/unbind record one Node with one output per piece (PiecesBackward), so backward
builds the source's gradient once instead of once per piece.
"""
import builtins

from strided._C.core import tensor as _core
from strided.autograd.graph import Node
from strided.autograd.broadcast import sum_to


def _geometry(t):
    return (tuple(t.shape), tuple(t.stride()), t.storage_offset())


def _zeros(shape, dtype):
    from strided.creation import zeros
    return zeros(shape, dtype=dtype)


class ViewNode(Node):
    """Base of the view ops' Nodes: one input (the view's source), one output."""
    _name = "ViewBackward0"

    def __init__(self, src, view, args=None):
        super().__init__((src,), ((view.shape, view.dtype),))
        self.src_shape = tuple(src.shape)
        self.dtype = src.dtype
        self.args = args

    def name(self):
        return self._name

    def backward(self, g):
        if g.dtype is not self.dtype:
            g = g.to(self.dtype)
        return self.grad(g)

    def grad(self, g):
        """The source's gradient given the view's, g (already of the source's dtype)."""
        raise NotImplementedError


class ReshapeBackward(ViewNode):
    """view, reshape (as a view), unsqueeze, squeeze: elements keep their row-major order."""

    def grad(self, g):
        return g.reshape(self.src_shape)


class ViewBackward0(ReshapeBackward):
    _name = "ViewBackward0"


class UnsafeViewBackward0(ReshapeBackward):
    _name = "UnsafeViewBackward0"          # reshape that had to copy: a view of the copy


class UnsqueezeBackward0(ReshapeBackward):
    _name = "UnsqueezeBackward0"


class SqueezeBackward(ReshapeBackward):
    def name(self):
        dim = self.args
        if dim is None:
            return "SqueezeBackward0"
        return "SqueezeBackward2" if isinstance(dim, (tuple, list)) else "SqueezeBackward1"


class ExpandBackward0(ViewNode):
    """Every expanded element aliases one source element: sum over the expanded dims."""
    _name = "ExpandBackward0"

    def grad(self, g):
        return sum_to(g, self.src_shape)


class PermuteBackward0(ViewNode):
    _name = "PermuteBackward0"

    def grad(self, g):
        perm = self.args
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        return g.permute(inverse)


class TransposeBackward0(ViewNode):
    _name = "TransposeBackward0"

    def grad(self, g):
        a, b = self.args
        return g.transpose(a, b) if g.ndim else g


class TBackward0(ViewNode):
    _name = "TBackward0"

    def grad(self, g):
        return g.t()


class FlipBackward0(ViewNode):
    _name = "FlipBackward0"

    def grad(self, g):
        return g.flip(self.args) if self.args else g


class PickBackward(ViewNode):
    """Ops that pick some of the source's elements, each at most once: their gradient is
    written into the same pick of a zero gradient of the source's shape."""

    def grad(self, g):
        out = _zeros(self.src_shape, self.dtype)
        self.pick(out).copy_(g)
        return out

    def pick(self, t):
        raise NotImplementedError


class SelectBackward0(PickBackward):
    _name = "SelectBackward0"

    def pick(self, t):
        d, index = self.args
        return t.select(d, index)


class SliceBackward0(PickBackward):
    _name = "SliceBackward0"

    def pick(self, t):
        d, start, length, step = self.args
        if step == 1 or length == 0:
            return t.narrow(d, start, length)
        return t[(slice(None),) * d + (slice(start, start + (length - 1) * step + 1, step),)]


class DiagonalBackward0(PickBackward):
    _name = "DiagonalBackward0"

    def pick(self, t):
        offset, a, b = self.args
        return t.diagonal(offset, a, b)


class BasicIndexBackward(PickBackward):
    """t[index] for ints, slices, None and Ellipsis: named, as PyTorch names the chain of
    ops it runs, after the last op that changes anything."""

    def name(self):
        items = self.args if isinstance(self.args, tuple) else (self.args,)
        for x in reversed(items):
            if x is None:
                return "UnsqueezeBackward0"
            if isinstance(x, slice):
                if x != slice(None) or len(items) == 1:
                    return "SliceBackward0"
            elif x is not Ellipsis:
                return "SelectBackward0"
        return "AliasBackward0"

    def pick(self, t):
        return t[self.args]


class UnfoldBackward0(ViewNode):
    """Windows may overlap: replay unfold on a zero gradient of the source's shape and add
    the windows' gradients into it (element by element, so shared elements sum)."""
    _name = "UnfoldBackward0"

    def grad(self, g):
        d, size, step = self.args
        out = _zeros(self.src_shape, self.dtype)
        _core.accumulate_into(out.unfold(d, size, step), g)
        return out


class AsStridedBackward0(ViewNode):
    """as_strided (and any view re-recorded from its base): defined on storage."""
    _name = "AsStridedBackward0"

    def __init__(self, src, view, args=None):
        super().__init__(src, view)
        self.src = _geometry(src)
        self.view = _geometry(view)

    def grad(self, g):
        return _as_strided_scatter(g, self.src, self.view, self.dtype)


_VIEW_NODES = {
    "view": ViewBackward0, "unsafe_view": UnsafeViewBackward0, "unsqueeze": UnsqueezeBackward0,
    "squeeze": SqueezeBackward, "expand": ExpandBackward0, "permute": PermuteBackward0,
    "transpose": TransposeBackward0, "t": TBackward0, "flip": FlipBackward0,
    "select": SelectBackward0, "slice": SliceBackward0, "diagonal": DiagonalBackward0,
    "index": BasicIndexBackward, "unfold": UnfoldBackward0, "as_strided": AsStridedBackward0,
}


def record_view(src, view, op=None, args=None):
    """Record view (made from src by view op `op` with arguments `args`) in the graph; op None
    records it as an as_strided of src (NOTE [ View backward ])."""
    view._set_grad_fn(_VIEW_NODES.get(op, AsStridedBackward0)(src, view, args), 0)


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


class PiecesBackward(ViewNode):
    """split/chunk/unbind: one Node, one output per piece.  Pieces no gradient reached are
    left as zeros; the others are written into one zero gradient of the source's shape."""

    def __init__(self, src, pieces, d, op):
        Node.__init__(self, (src,), [(p.shape, p.dtype) for p in pieces])
        self.src_shape = tuple(src.shape)
        self.dtype = src.dtype
        self.d = d
        self.op = op
        if op != "unbind":
            self.lengths = [p.shape[d] for p in pieces]

    def name(self):
        return {"split": "SplitBackward0", "split_with_sizes": "SplitWithSizesBackward0",
                "unbind": "UnbindBackward0"}[self.op]

    def apply(self, grad_outputs):
        # no zeros materialised for pieces without a gradient (Node.apply would)
        return (self.backward(*grad_outputs),)

    def backward(self, *grads):
        out = _zeros(self.src_shape, self.dtype)
        d = self.d
        if self.op == "unbind":
            for i, g in enumerate(grads):
                if g is not None:
                    out.select(d, i).copy_(g)
            return out
        start = 0
        for length, g in zip(self.lengths, grads):
            if g is not None:
                out.narrow(d, start, length).copy_(g)
            start += length
        return out


def record_pieces(src, pieces, d, op):
    """Record the pieces of src along dim d (op: split, split_with_sizes or unbind)."""
    node = PiecesBackward(src, pieces, d, op)
    for i, p in enumerate(pieces):
        p._set_grad_fn(node, i)
