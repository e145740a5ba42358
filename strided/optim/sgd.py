"""SGD with momentum, dampening, weight decay, Nesterov and maximize (torch.optim.SGD)."""
from __future__ import annotations
from typing import Any, Callable

from strided.autograd.grad_mode import no_grad, enable_grad
from strided.creation import empty
from strided.optim.optimizer import Optimizer, ParamsT, required
from strided._C.ops.optim import sgd_step


class SGD(Optimizer):
    """For each parameter p with gradient g (negated if maximize):
        g = g + weight_decay p
        b = g (first step), else b = momentum b + (1 - dampening) g
        g = g + momentum b if nesterov else b              (when momentum != 0)
        p = p - lr g
    in place, under no_grad, one fused kernel per parameter (NOTE [ Fused optimizer
    updates ] in strided/_C/kernels/optim.pyx)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD update of every parameter that has a gradient (weight decay, momentum,
        dampening and Nesterov as PyTorch); closure is called first under enable_grad and
        its loss returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
                wd, nesterov, maximize = (group["weight_decay"], group["nesterov"],
                                          group["maximize"])
                for p in self._params_with_grad(group):
                    buf, first = None, False
                    if mom != 0:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:     # torch clones g: the kernel writes b = g
                            buf = state["momentum_buffer"] = empty(p.shape, dtype=p.dtype)
                            first = True
                    sgd_step(p, p.grad, buf, lr, mom, damp, wd, nesterov, maximize, first)
        return loss
