"""Grad mode: whether ops record history (strided.no_grad, enable_grad, set_grad_enabled).

The mode belongs to the calling thread, as in PyTorch (NOTE [ Grad mode is per thread ] in
strided/_C/core/tensor.pyx): a no_grad in one thread never changes what another records, and a
new thread starts with recording on.  Every context restores the previous mode on exit,
exceptions included."""
from __future__ import annotations
import functools
import threading
from typing import Any, Callable, Literal, TypeVar

from strided._C.core.tensor import _set_grad_enabled, is_grad_enabled

F = TypeVar("F", bound=Callable[..., Any])


class _GradModeContext:
    """A context manager that also works as a function decorator, with or without
    parentheses (@no_grad() and @no_grad)."""
    mode = True

    def __new__(cls, *args: Any) -> Any:
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])               # used as a bare decorator
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = _set_grad_enabled(self.mode)
        return None

    def __exit__(self, *exc: object) -> Literal[False]:
        _set_grad_enabled(self._prev)
        return False

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record no history: results don't require grad.  A context manager and
    a decorator, as PyTorch's; use it for evaluation and for updating parameters by hand.

    >>> w = strided.ones(2, requires_grad=True)
    >>> with strided.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    mode = False


class enable_grad(_GradModeContext):
    """Turn history recording back on (e.g. inside no_grad)."""
    mode = True


class set_grad_enabled(_GradModeContext):
    """set_grad_enabled(mode): as a context manager or decorator, or called on its own to set
    the mode until changed again."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = _set_grad_enabled(self.mode)      # takes effect right away, like PyTorch

    def __enter__(self) -> None:
        return None

    def __call__(self, fn: F) -> F:
        _set_grad_enabled(self._prev)
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _set_grad_enabled(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set_grad_enabled(prev)
        return wrapper


__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


_inference = threading.local()


def is_inference_mode_enabled() -> bool:
    """True inside strided.inference_mode() (in this thread)."""
    return getattr(_inference, "enabled", False)


class inference_mode:
    """inference_mode(mode=True): as a context manager or decorator (with or without
    parentheses), like no_grad -- ops record no history -- and is_inference_mode_enabled()
    is True inside; inference_mode(False) turns both back on.  Unlike PyTorch, tensors made inside
    are ordinary tensors (PyTorch marks them as inference tensors that autograd refuses later)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        if len(args) == 1 and callable(args[0]) and not kwargs:
            self.__init__()
            return self(args[0])                      # used as a bare decorator
        return self

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        # as PyTorch's InferenceMode guard: grad mode off inside inference_mode(True), on
        # inside inference_mode(False)
        self._prev = (is_inference_mode_enabled(), _set_grad_enabled(not self.mode))
        _inference.enabled = self.mode
        return None

    def __exit__(self, *exc: object) -> Literal[False]:
        enabled, grad = self._prev
        _inference.enabled = enabled
        _set_grad_enabled(grad)
        return False

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


__all__ += ["inference_mode", "is_inference_mode_enabled"]
