"""strided.nn.Parameter.

NOTE [ Parameters are marked leaves, not a subclass ]
Tensor is a Cython cdef class whose instances are only ever built by make_tensor(), so a
Python subclass could not carry storage.  Parameter(data) therefore returns an ordinary leaf
Tensor (sharing data's storage, like torch's Parameter) with requires_grad set, and records
it in a weak registry; ``isinstance(t, Parameter)`` consults that registry through the
metaclass.  Module.__setattr__ registers exactly those marked tensors as parameters, as torch
does with Parameter instances; plain tensors assigned to a module stay plain attributes.
"""
from __future__ import annotations
import weakref

from strided._C.core.tensor import Tensor

_MARKED = weakref.WeakValueDictionary()     # id(tensor) -> tensor, for Parameter() results


class _ParameterMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and _MARKED.get(id(obj)) is obj


class Parameter(metaclass=_ParameterMeta):
    """Parameter(data=None, requires_grad=True) -> a leaf Tensor marked as a parameter.

    The result shares data's storage (no copy) and is cut off from data's graph.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Tensor:
        if data is None:
            from strided.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor, got {type(data).__name__}")
        p = data.detach()
        p.requires_grad_(requires_grad)
        _MARKED[id(p)] = p
        return p


