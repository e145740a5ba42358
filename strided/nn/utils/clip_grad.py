"""clip_grad_norm_ and clip_grad_value_ (torch.nn.utils.clip_grad)."""
from __future__ import annotations
import math
import warnings
from typing import Iterable

from strided._C.core.tensor import Tensor, tensor
from strided.autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients of `parameters` (a Tensor or an iterable of them) in place so
    that their total norm -- the norm_type-norm of the vector of every gradient element,
    i.e. the norm of the per-tensor norms -- is at most max_norm:

        total = ||(||g_1||_p, ..., ||g_k||_p)||_p     (p = inf: the largest |element|)
        g_i *= min(1, max_norm / (total + 1e-6))

    Returns total (a 0-d tensor of the first gradient's dtype, before clipping); 0 when no
    parameter has a gradient.  error_if_nonfinite=True raises RuntimeError when total is
    nan or inf (else the gradients are scaled by it anyway, as in torch).

    >>> model = nn.Linear(3, 1)
    >>> model.weight.grad = strided.full((1, 3), 4.0); model.bias.grad = strided.full((1,), 4.0)
    >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)      # the norm before
    tensor(8.)
    >>> strided.cat([model.weight.grad.flatten(), model.bias.grad]).norm()
    tensor(1.0000)
    """
    grads = _grads(parameters)
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    dtype = grads[0].dtype
    with no_grad():
        norms = [g.detach().norm(norm_type) for g in grads]
        if len(norms) == 1:
            total = norms[0].to(dtype)
        else:
            total = tensor([n.item() for n in norms], dtype=dtype).norm(norm_type)
        t = total.item()
        if error_if_nonfinite and not math.isfinite(t):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               f"`parameters` is non-finite, so it cannot be clipped. To "
                               f"disable this error and scale the gradients by the non-finite "
                               f"norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated spelling of clip_grad_norm_ (as in torch)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element of `parameters` into [-clip_value, clip_value], in
    place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
