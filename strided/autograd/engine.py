"""The backward engine: strided.autograd.backward and strided.autograd.grad.

NOTE [ Backward engine ]
1. Walk the graph from the roots with an explicit stack (no recursion, so a 10,000-op chain
   is fine) and count, for every Node, how many edges lead into it.
2. Run Nodes from a ready list: a Node is ready once every Node that feeds it a gradient has
   run, so it runs exactly once, on the sum of its incoming gradients.
3. A node's summed gradients first go through its tensors' hooks (NOTE [ Tensor hooks ]).
   AccumulateGrad nodes add into their leaf's .grad (backward), or their gradient is handed
   back to the caller (grad); non-leaf tensors that retain_grad() receive theirs on the way.
4. Unless retain_graph, each Node frees its saved tensors after running.
"""
from __future__ import annotations
from typing import Sequence

from strided._C.core.tensor import Tensor, _set_grad_enabled
from strided.autograd.graph import (AccumulateGrad, Node, gradient_edge,
                                    run_post_accumulate_grad_hooks, run_tensor_hooks)


_NO_CREATE_GRAPH = ("create_graph=True (higher-order gradients, double backward) is not "
                    "supported: backward formulas run under no_grad, so the gradients they "
                    "return have no history to differentiate")


def _tensors(x, what):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        for t in x:
            if not isinstance(t, Tensor):
                raise TypeError(f"{what} must be Tensors, but got {type(t).__name__}")
        return list(x)
    raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, not {type(x).__name__}")


def _root_grads(outputs, grad_outputs):
    from strided.creation import ones_like
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    roots = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(out)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {list(g.shape)} "
                               f"and output has a shape of {list(out.shape)}.")
        roots.append((gradient_edge(out), g))
    return roots


def _dependencies(roots):
    deps = {}
    stack = list(dict.fromkeys(edge[0] for edge, _ in roots))    # each root node once
    seen = set(stack)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            nxt = edge[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _accumulate(buffers, node, nr, grad):
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = {}
    prev = slots.get(nr)
    slots[nr] = grad if prev is None else prev + grad


def run_backward(roots: Sequence[tuple[tuple[Node, int], Tensor]], retain_graph: bool,
                 capture: dict[tuple[Node, int], int] | None = None) -> list[Tensor | None]:
    """Propagate the root gradients.  capture: {(node, nr): index} of gradients to return
    instead of accumulating into leaves (autograd.grad); returns the captured list."""
    captured = [None] * (len(capture) if capture else 0)
    buffers = {}
    deps = _dependencies(roots)
    for edge, g in roots:
        _accumulate(buffers, edge[0], edge[1], g)
    ready = [edge[0] for edge, _ in roots if deps.get(edge[0], 0) == 0]
    ready = list(dict.fromkeys(ready))
    prev_mode = _set_grad_enabled(False)
    try:
        while ready:
            node = ready.pop()
            slots = buffers.pop(node, {})
            run_tensor_hooks(node, slots)       # NOTE [ Tensor hooks ]
            if capture:
                for nr, g in slots.items():
                    idx = capture.get((node, nr))
                    if idx is not None:
                        captured[idx] = g
            if isinstance(node, AccumulateGrad):
                if capture is None:
                    g = slots.get(0)
                    if g is not None:
                        node.accumulate(g)
                continue
            if node._retained:
                for nr, ref in node._retained.items():
                    t, g = ref(), slots.get(nr)
                    if t is not None and g is not None:
                        t.grad = g.detach().clone() if t.grad is None else t.grad + g
            if slots:
                n_out = max(len(node._outputs_meta), max(slots) + 1)
                grads_in = node.apply([slots.get(i) for i in range(n_out)])
            else:                       # no gradient reached this node: nothing flows on
                grads_in = [None] * len(node.next_functions)
            if not retain_graph:
                node.release()
            for edge, g in zip(node.next_functions, grads_in):
                if edge is None:
                    continue
                nxt = edge[0]
                if g is not None:
                    _accumulate(buffers, nxt, edge[1], g)
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    finally:
        _set_grad_enabled(prev_mode)
    return captured


def backward(tensors: Tensor | Sequence[Tensor],
             grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Accumulate the gradients of tensors (w.r.t. the graph's leaves) into the leaves' .grad.

    grad_tensors: the gradient of each tensor (may be omitted for single-element tensors).
    inputs: only these leaves receive gradients (default: every leaf in the graph).
    """
    if create_graph:
        raise NotImplementedError(_NO_CREATE_GRAPH)
    outputs = _tensors(tensors, "tensors")
    roots = _root_grads(outputs, grad_tensors)
    if inputs is None:
        run_backward(roots, bool(retain_graph))
        return
    leaves = _tensors(inputs, "inputs")
    capture = {}
    for i, t in enumerate(leaves):
        edge = gradient_edge(t)
        if edge is None:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        capture[edge] = i
    grads = run_backward(roots, bool(retain_graph), capture)
    for t, g in zip(leaves, grads):
        if g is not None:
            t.grad = g.detach().clone() if t.grad is None else t.grad + g
            if t.grad_fn is None:
                run_post_accumulate_grad_hooks(t)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of outputs with respect to inputs, returned (not accumulated in .grad)."""
    if create_graph:
        raise NotImplementedError(_NO_CREATE_GRAPH)
    outs = _tensors(outputs, "outputs")
    ins = _tensors(inputs, "inputs")
    roots = _root_grads(outs, grad_outputs)
    capture = {}
    for i, t in enumerate(ins):
        edge = gradient_edge(t)
        if edge is None:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        capture.setdefault(edge, i)
    got = run_backward(roots, bool(retain_graph), capture)
    result = []
    for i, t in enumerate(ins):
        g = got[capture[gradient_edge(t)]]
        if g is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been used "
                               "in the graph. Set allow_unused=True if this is the desired "
                               "behavior.")
        result.append(g)
    return tuple(result)
