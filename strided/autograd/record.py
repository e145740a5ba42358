"""Recording an op in the backward graph: one table of derivatives, one Node, one `record`.

NOTE [ Derivative table ]
Every differentiable built-in op has one row in DERIVATIVES, keyed by the op's name: the
name its grad_fn reports (PyTorch's, e.g. "SumBackward0") and its backward formula, a
function

    grads(ctx, *grad_outputs) -> one gradient (or None) per input

where ctx carries what the op recorded: its keyword attributes (ctx.dim, ctx.keepdim, ...),
the tensors it saved, unpacked (ctx.x, ctx.result, ...), and per input its shape, dtype and
whether it needs a gradient (ctx.shapes[i], ctx.dtypes[i], ctx.needs[i]).  Rows are written
with the `derivative` decorator next to the code they belong to:
  - element-wise ops: generated from the op table's formulas (strided/op_table.py, dispatch.py)
  - reductions, matrix products, indexing, copies: derivatives.py
  - view ops: views.py (rows flagged view=True: their Node stands for a view of its input)
  - convolution and pooling: strided/nn/_functional_conv.py and _functional_pool.py, whose
    backward kernels live at that layer (registering into this table is how a layer above
    adds ops without autograd importing it)
An op is recorded by one call,

    record(op, inputs, outputs, saved={"x": x, "result": out}, dim=dim, keepdim=keepdim)

inputs: the op's differentiable inputs in order (tensors, or None / numbers for operands that
have no gradient); outputs: a tensor or a tuple; saved: the tensors (or values) the formula
reads.  Saved tensors are checked for in-place changes before the formula runs (NOTE
[ Version counter ]); one that is an output of the op itself is saved detached, so the graph
keeps no cycle (NOTE [ The backward graph ]).
"""
from types import SimpleNamespace

from strided._C.core.tensor import Tensor, is_grad_enabled
from strided.autograd.graph import Node, SavedTensor, gradient_edge


class Derivative:
    """One row of the table: op name, grad_fn name (a string, or a function of ctx for ops
    whose PyTorch name depends on their arguments) and the backward formula."""
    __slots__ = ("op", "node", "grads", "view", "sparse_grads")

    def __init__(self, op, node, grads, view=False, sparse_grads=False):
        self.op, self.node, self.grads, self.view = op, node, grads, view
        # sparse_grads: the formula takes None for outputs no gradient reached, instead of
        # zeros (split/unbind build the source's gradient once from the pieces that have one)
        self.sparse_grads = sparse_grads


DERIVATIVES = {}


def derivative(op, node, view=False, sparse_grads=False):
    """Register the decorated function as op's backward formula (NOTE [ Derivative table ])."""
    def register(grads):
        if op in DERIVATIVES:
            raise ValueError(f"derivative of {op!r} registered twice")
        DERIVATIVES[op] = Derivative(op, node, grads, view, sparse_grads)
        return grads
    return register


class OpBackward(Node):
    """The Node of a recorded op: its row of the table and what it recorded."""

    def __init__(self, row, inputs, outputs, saved, attrs):
        # Node.__init__, unrolled: one pass over the inputs (this runs once per recorded op)
        edges, shapes, dtypes = [], [], []
        for t in inputs:
            if isinstance(t, Tensor):
                edges.append(gradient_edge(t))
                shapes.append(t.shape)
                dtypes.append(t.dtype)
            else:
                edges.append(None)
                shapes.append(None)
                dtypes.append(None)
        self.next_functions = tuple(edges)
        self.needs = tuple(e is not None for e in edges)
        self.shapes, self.dtypes = tuple(shapes), tuple(dtypes)
        self._saved = []
        self._released = False
        self._retained = None
        self._outputs_meta = [(o.shape, o.dtype) for o in outputs]
        self.row = row
        self.attrs = attrs
        values = {}
        for name, v in saved.items():
            if isinstance(v, Tensor):
                is_output = False
                for o in outputs:
                    if v is o:
                        is_output = True
                v = self.save(v, is_output)
            values[name] = v
        self.values = values

    def name(self):
        node = self.row.node
        return node if isinstance(node, str) else node(self._context())

    def _context(self, unpack=False):
        ctx = SimpleNamespace(**self.attrs)
        ctx.shapes, ctx.dtypes, ctx.needs = self.shapes, self.dtypes, self.needs
        for name, v in self.values.items():
            if isinstance(v, SavedTensor):
                v = v.unpack(self) if unpack else None
            setattr(ctx, name, v)
        return ctx

    def apply(self, grad_outputs):
        if self.row.sparse_grads:
            self._check_alive()
            return self.backward(*grad_outputs)
        return super().apply(grad_outputs)

    def release(self):
        super().release()
        # tensors recorded as attributes (index copies) go too
        self.attrs = {k: None if isinstance(v, Tensor) else v for k, v in self.attrs.items()}

    def backward(self, *grads):
        r = self.row.grads(self._context(unpack=True), *grads)
        return r if isinstance(r, tuple) else (r,)


def node(op, inputs, outputs, saved=None, **attrs):
    """The Node recording op (NOTE [ Derivative table ]), not yet attached to its outputs
    (in-place ops build it before they write)."""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return OpBackward(DERIVATIVES[op], inputs, outputs, saved or {}, attrs)


def record(op, inputs, outputs, saved=None, **attrs):
    """Record outputs as produced by op from inputs; returns outputs."""
    outs = outputs if isinstance(outputs, tuple) else (outputs,)
    fn = OpBackward(DERIVATIVES[op], inputs, outs, saved or {}, attrs)
    for i, out in enumerate(outs):
        out._set_grad_fn(fn, i)
    return outputs


def requires_record(*inputs):
    """True when an op on these inputs must be recorded: grad mode is on and one of them
    requires grad."""
    return is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in inputs)


def is_view_node(fn):
    """True when fn records a view of its input (NOTE [ In-place ops on views ])."""
    return isinstance(fn, OpBackward) and fn.row.view
