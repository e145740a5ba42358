"""The backward graph: Nodes, the edges between them, saved tensors.

NOTE [ The backward graph ]
Every differentiable op run under grad mode on inputs that require grad creates one Node and
records it as its outputs' grad_fn.  A Node's next_functions hold one edge per input: the
(Node, input_nr) that produced the input -- its grad_fn, or the AccumulateGrad node of a
leaf -- or None for inputs that need no gradient.  The graph holds no cycles: outputs point
to their Node, Nodes to their inputs' Nodes, and tensors a Node saves are saved either as
the input tensor itself (which points upstream only) or, for the Node's own outputs, as a
detached alias sharing the output's storage.  A graph is freed as soon as its outputs are.
"""
from __future__ import annotations
import weakref
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from strided._C.core.dtypes import DType
    from strided._C.core.tensor import Tensor


def gradient_edge(t: Tensor) -> tuple[Node, int] | None:
    """The edge a gradient for tensor t flows along, or None when t needs no gradient."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t.output_nr)
    if t._requires_grad_flag():
        return (t._grad_accumulator_node(), 0)
    return None


class SavedTensor:
    """A tensor saved for backward, with the version it had then (NOTE [ Version counter ])."""
    __slots__ = ("tensor", "version", "_output_of")

    def __init__(self, t: Tensor, is_output: bool = False) -> None:
        # outputs of the saving node are stored detached, so no cycle runs through the graph
        self.tensor = t.detach() if is_output else t
        self.version = t._version
        self._output_of = is_output

    def unpack(self, node: Node | None) -> Tensor:
        t = self.tensor
        name = node.name() if node is not None else "a backward function"
        if t is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        if t._version != self.version:
            kind = ("an output of " if self._output_of else "an input of ") + name
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t.dtype.name} {list(t.shape)}], which is {kind}, is at "
                f"version {t._version}; expected version {self.version} instead. Hint: the "
                f"operation that failed was {name}; clone() the tensor before modifying "
                f"it in place, or modify a copy.")
        return t


class Node:
    """A backward function: gradients of its outputs -> gradients of its inputs.

    Subclasses implement backward(*grad_outputs) returning one gradient (or None) per entry
    of next_functions.  Saved tensors go through save()/saved(), which check versions and
    are released after backward unless the graph is retained.
    """
    _hooks = None   # {output_nr: {id: hook}} once a hook is registered (NOTE [ Tensor hooks ])

    def __init__(self, inputs: Sequence[Tensor | None] = (),
                 outputs_meta: Sequence[tuple[Sequence[int], DType | None]] = ()) -> None:
        self.next_functions = tuple(gradient_edge(t) if t is not None else None for t in inputs)
        self._saved = []
        self._released = False
        self._retained = None
        self._outputs_meta = list(outputs_meta)     # (shape, dtype) of each output

    def name(self) -> str:
        """The node's name, as PyTorch's grad_fn.name() ("MulBackward0", ...)."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def save(self, t: Tensor, is_output: bool = False) -> SavedTensor:
        """Save tensor t for backward; returns the handle to unpack it with."""
        s = SavedTensor(t, is_output)
        self._saved.append(s)
        return s

    def release(self) -> None:
        """Free saved tensors (after a backward that doesn't retain the graph)."""
        for s in self._saved:
            s.tensor = None
        self._released = True

    def _retain_output(self, output_nr, tensor):
        if self._retained is None:
            self._retained = {}
        self._retained[output_nr] = weakref.ref(tensor)

    def _hooks_for(self, output_nr: int) -> dict[int, Any]:
        if self._hooks is None:
            self._hooks = {}
        return self._hooks.setdefault(output_nr, {})

    def backward(self, *grad_outputs: Tensor | None) -> Any:
        """Gradients of the inputs (one per entry of next_functions, or None) from those of
        the outputs; each node type defines it.
        """
        raise NotImplementedError(f"{self.name()}.backward")

    def _check_alive(self):
        if self._released and self._saved:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")

    def apply(self, grad_outputs: Sequence[Tensor | None]) -> tuple[Tensor | None, ...]:
        """Run backward on the gradients of this node's outputs (None where none flowed)."""
        self._check_alive()
        grads = list(grad_outputs)
        for i, g in enumerate(grads):
            if g is None and i < len(self._outputs_meta) and self._outputs_meta[i][1] is not None:
                from strided.creation import zeros
                shape, dtype = self._outputs_meta[i]
                grads[i] = zeros(shape, dtype=dtype)
        result = self.backward(*grads)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != len(self.next_functions):
            raise RuntimeError(f"{self.name()} returned {len(result)} gradients, expected "
                               f"{len(self.next_functions)}")
        return result


class AccumulateGrad(Node):
    """The sink for a leaf that requires grad: adds the incoming gradient into leaf.grad."""

    def __init__(self, leaf: Tensor) -> None:
        super().__init__((), ((leaf.shape, leaf.dtype),))
        self.variable = leaf

    def backward(self, grad: Tensor | None) -> tuple[()]:
        return ()

    def accumulate(self, grad: Tensor) -> None:
        leaf = self.variable
        if grad.dtype is not leaf.dtype:
            grad = grad.to(leaf.dtype)
        if leaf.grad is None:
            leaf.grad = grad.detach().clone()      # the caller may still hold `grad`
        else:
            leaf.grad.add_(grad)
        run_post_accumulate_grad_hooks(leaf)


# NOTE [ Post-accumulate-grad hooks ]
# Tensor.register_post_accumulate_grad_hook(hook) keeps hook here, keyed by the leaf's id
# (Tensor is a cdef class with no __dict__, and a WeakKeyDictionary would compare tensors
# with their element-wise ==); a weak reference's callback drops the entry with the leaf.
# Hooks live with the tensor, not with its AccumulateGrad node, which is freed with each
# graph.  They run after every accumulation into the leaf's .grad, in registration order.
_POST_ACCUMULATE_HOOKS: dict[int, tuple[weakref.ref, dict[int, Any]]] = {}
_next_hook_id = 0


class RemovableHandle:
    """What register_hook and register_post_accumulate_grad_hook return: remove()
    unregisters the hook."""

    def __init__(self, hooks: dict[int, Any], hook_id: int) -> None:
        self._hooks = hooks
        self.id = hook_id

    def remove(self) -> None:
        """Unregister the hook (again: no effect)."""
        self._hooks.pop(self.id, None)


def register_post_accumulate_grad_hook(leaf: Tensor, hook: Any) -> RemovableHandle:
    """Keep hook(leaf) to run after each accumulation into leaf.grad (NOTE above)."""
    global _next_hook_id
    hooks = _leaf_hooks(_POST_ACCUMULATE_HOOKS, leaf)
    _next_hook_id += 1
    hooks[_next_hook_id] = hook
    return RemovableHandle(hooks, _next_hook_id)


def _leaf_hooks(table: dict, leaf: Tensor) -> dict[int, Any]:
    key = id(leaf)
    entry = table.get(key)
    if entry is None or entry[0]() is not leaf:
        ref = weakref.ref(leaf, lambda _r, key=key: _drop_hooks(table, key, _r))
        entry = table[key] = (ref, {})
    return entry[1]


def _drop_hooks(table: dict, key: int, ref: weakref.ref) -> None:
    entry = table.get(key)
    if entry is not None and entry[0] is ref:
        del table[key]


# NOTE [ Tensor hooks ]
# Tensor.register_hook(hook) runs hook(grad) on every gradient computed for the tensor,
# before anything uses it; a hook that returns a tensor replaces the gradient (for the
# hooks after it too), as in PyTorch.  A non-leaf's hooks live on its grad_fn, keyed by
# output_nr (they go with the graph); a leaf's live here keyed by its id, as post-
# accumulate hooks do, and run before the gradient is accumulated into .grad (or returned
# by autograd.grad).  The engine runs them on the summed gradient of each of a node's
# outputs before retain_grad() stores it, so .grad shows what the hooks made of it.
_LEAF_HOOKS: dict[int, tuple[weakref.ref, dict[int, Any]]] = {}


def register_hook(t: Tensor, hook: Any) -> RemovableHandle:
    """Keep hook(grad) to run on each gradient computed for t (NOTE [ Tensor hooks ])."""
    global _next_hook_id
    fn = t.grad_fn
    hooks = _leaf_hooks(_LEAF_HOOKS, t) if fn is None else fn._hooks_for(t.output_nr)
    _next_hook_id += 1
    hooks[_next_hook_id] = hook
    return RemovableHandle(hooks, _next_hook_id)


def _run_hooks(hooks: dict[int, Any], grad: Tensor) -> Tensor:
    from strided._C.core.tensor import Tensor
    for hook in list(hooks.values()):
        r = hook(grad)
        if r is None:
            continue
        if not isinstance(r, Tensor):
            raise TypeError(f"expected Tensor, but hook returned '{type(r).__name__}'")
        if tuple(r.shape) != tuple(grad.shape):
            raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has "
                               f"changed the size of value")
        grad = r
    return grad


def run_tensor_hooks(node: Node, slots: dict[int, Tensor]) -> None:
    """Apply the tensor hooks of node's outputs (or of its leaf) to their gradients in
    slots, in place of the dict's values."""
    if isinstance(node, AccumulateGrad):
        entry = _LEAF_HOOKS.get(id(node.variable))
        if entry is None or entry[0]() is not node.variable or 0 not in slots:
            return
        slots[0] = _run_hooks(entry[1], slots[0])
        return
    if node._hooks:
        for nr, hooks in node._hooks.items():
            g = slots.get(nr)
            if g is not None and hooks:
                slots[nr] = _run_hooks(hooks, g)


def run_post_accumulate_grad_hooks(leaf: Tensor) -> None:
    """Run leaf's post-accumulate-grad hooks (after backward wrote into leaf.grad)."""
    entry = _POST_ACCUMULATE_HOOKS.get(id(leaf))
    if entry is not None and entry[0]() is leaf:
        for hook in list(entry[1].values()):
            hook(leaf)
