"""parameters_to_vector and vector_to_parameters (torch.nn.utils.convert_parameters)."""
from __future__ import annotations
from typing import Iterable

from strided._C.core.tensor import Tensor
from strided._C.ops.join import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-D tensor holding every parameter's elements, flattened and concatenated in
    order: cat([p.reshape(-1) for p in parameters]), differentiable (CatBackward0)."""
    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D tensor `vec` into the parameters (their .data, as
    torch does: no autograd history is recorded)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector, got shape "
                           f"{tuple(vec.shape)}")
    from strided.autograd.grad_mode import no_grad
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            if offset + n > vec.shape[0]:
                raise RuntimeError(f"vector_to_parameters: the vector has {vec.shape[0]} "
                                   f"elements, fewer than the parameters need")
            p.copy_(vec.narrow(0, offset, n).view(tuple(p.shape)))
            offset += n
