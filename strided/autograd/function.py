"""User-defined differentiable ops: subclass Function, write forward(ctx, ...) and
backward(ctx, *grad_outputs), call YourFunction.apply(...) -- as in PyTorch."""
from __future__ import annotations
import weakref
from typing import Any, Sequence

from strided._C.core.tensor import Tensor, is_grad_enabled
from strided.autograd.graph import Node
from strided.autograd.grad_mode import no_grad
from strided._C.core.dtypes import DType


class FunctionCtx:
    """The `ctx` of forward/backward: saved tensors and flags shared between the two."""

    def __init__(self, node: Node) -> None:
        self._node = weakref.ref(node)          # a weak link: no ctx <-> node cycle
        self._to_save = ()
        self._saved = None
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_differentiable = set()
        self._dirty = set()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (inputs or outputs of forward, or None) for backward, which reads them
        from ctx.saved_tensors; call it at most once, in forward.  Saved tensors are checked
        for in-place changes before backward uses them.
        """
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors, but got "
                                f"{type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to save_for_backward, in order (() before forward has finished)."""
        if self._saved is None:
            return ()
        node = self._node()
        return tuple(s.unpack(node) if s is not None else None for s in self._saved)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs of forward that get no gradient (indices, masks): they are returned
        without a grad_fn and backward receives no gradient for them.
        """
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that forward modified in place (and returns); they become outputs of
        this op in the graph.  A leaf that requires grad cannot be dirtied.
        """
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """True (the default): outputs that received no gradient reach backward as zero
        tensors of their shape; False: as None (backward must handle them).
        """
        self.materialize_grads = bool(value)


class BackwardCFunction(Node):
    """The Node of one Function.apply call."""

    def __init__(self, cls: type[Function], inputs: Sequence[Tensor | None],
                 outputs_meta: Sequence[tuple[Sequence[int], DType | None]]) -> None:
        super().__init__(inputs, outputs_meta)
        self._input_shapes = tuple(tuple(t.shape) if t is not None else None for t in inputs)
        self._cls = cls
        self.ctx = FunctionCtx(self)

    def name(self) -> str:
        return self._cls.__name__ + "Backward"

    def apply(self, grad_outputs: Sequence[Tensor | None]) -> tuple[Tensor | None, ...]:
        if not self.ctx.materialize_grads:
            return self._call(grad_outputs)
        return super().apply(grad_outputs)

    def backward(self, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        return self._call(grads)

    def _call(self, grads):
        result = self._cls.backward(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) < n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        result = tuple(result[:n])
        for i, (g, shape) in enumerate(zip(result, self._input_shapes)):
            if isinstance(g, Tensor) and shape is not None and tuple(g.shape) != shape:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index "
                                   f"{i} - got {list(g.shape)} but expected shape compatible "
                                   f"with {list(shape)}")
        return result

    def release(self) -> None:
        super().release()
        self.ctx._saved = None


class Function:
    """Base class of user-defined autograd ops (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        """Compute the op's output(s) from args (a staticmethod, run under no_grad); save what
        backward needs with ctx.save_for_backward.  Subclasses define it.
        """
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        """Given one gradient per output of forward, return one gradient (or None) per argument
        of forward (a staticmethod; ctx.needs_input_grad says which are wanted).  Subclasses
        define it.
        """
        raise NotImplementedError("You must implement the backward function for custom "
                                  "autograd.Function.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward(ctx, *args) and, when a tensor argument requires grad, record the call so
        that backward() reaches backward(ctx, *grads).

        >>> class Square(strided.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         x, = ctx.saved_tensors
        ...         return 2 * x * g
        >>> x = strided.tensor([3.], requires_grad=True)
        >>> Square.apply(x).sum().backward()
        >>> x.grad
        tensor([6.])
        """
        tensor_args = [a if isinstance(a, Tensor) else None for a in args]
        record = is_grad_enabled() and any(a is not None and a.requires_grad for a in tensor_args)
        node = BackwardCFunction(cls, tensor_args if record else (), ())
        ctx = node.ctx
        ctx.needs_input_grad = tuple(a is not None and a.requires_grad for a in tensor_args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not record:
            return outputs
        for t in outs:
            if isinstance(t, Tensor) and id(t) in ctx._dirty and t.is_leaf and t.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
        wrapped = []
        for t in outs:
            if isinstance(t, Tensor) and id(t) in ctx._non_differentiable:
                wrapped.append(t)
            elif isinstance(t, Tensor):
                if any(t is a for a in tensor_args) and id(t) not in ctx._dirty:
                    t = t.detach()              # an input returned as-is becomes a new node output
                wrapped.append(t)
            else:
                wrapped.append(t)
        node._outputs_meta = [(t.shape, t.dtype) if isinstance(t, Tensor) else ((), None)
                              for t in wrapped]
        out_ids = {id(t) for t in wrapped if isinstance(t, Tensor)}
        ctx._saved = [node.save(t, is_output=id(t) in out_ids) if t is not None else None
                      for t in ctx._to_save]
        ctx._to_save = ()
        for i, t in enumerate(wrapped):
            if isinstance(t, Tensor) and id(t) not in ctx._non_differentiable and \
                    t.dtype.is_floating_point:
                t._set_grad_fn(node, i)
        return wrapped[0] if single else tuple(wrapped)
