"""Adadelta (torch.optim.Adadelta: lr, rho, eps, weight_decay, maximize)."""
from __future__ import annotations
from typing import Any, Callable

from strided.autograd.grad_mode import no_grad, enable_grad
from strided.creation import zeros_like
from strided._C.core.tensor import tensor
from strided._C.core.dtypes import float32
from strided.optim.optimizer import Optimizer, ParamsT


class Adadelta(Optimizer):
    """For each parameter p with gradient g (negated if maximize):
        g = g + weight_decay p
        v = rho v + (1 - rho) g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho u + (1 - rho) delta^2
        p -= lr delta
    in place, under no_grad.  State per parameter: step, square_avg (v), acc_delta (u)."""

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable,
                                      foreach=foreach, differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; closure (re-evaluating the loss)
        is called first under enable_grad and its result returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
                for p in self._params_with_grad(group):
                    g = -p.grad if group["maximize"] else p.grad
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = tensor(0.0, dtype=float32)
                        state["square_avg"] = zeros_like(p)
                        state["acc_delta"] = zeros_like(p)
                    state["step"].add_(1)
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    square_avg.mul_(rho).add_((g * (1 - rho)).mul_(g))
                    std = square_avg.add(eps).sqrt_()
                    delta = acc_delta.add(eps).sqrt_().div_(std).mul_(g)
                    acc_delta.mul_(rho).add_((delta * (1 - rho)).mul_(delta))
                    p.add_(delta, alpha=-lr)
        return loss
