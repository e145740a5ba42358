"""RMSprop (torch.optim.RMSprop: alpha, eps, weight_decay, momentum, centered, maximize)."""
from __future__ import annotations
from typing import Any, Callable

from strided.autograd.grad_mode import no_grad, enable_grad
from strided.creation import zeros_like
from strided._C.core.tensor import tensor
from strided._C.core.dtypes import float32
from strided.optim.optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    """For each parameter p with gradient g (negated if maximize):
        g = g + weight_decay p
        v = alpha v + (1 - alpha) g^2
        avg = sqrt(v - m^2) with m = lerp(m, g, 1 - alpha) if centered, else sqrt(v)
        b = momentum b + g / (avg + eps);  p -= lr b      (momentum > 0)
        p -= lr g / (avg + eps)                          (otherwise)
    in place, under no_grad.  State per parameter: step, square_avg, momentum_buffer
    (momentum > 0), grad_avg (centered), as torch names them."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; closure (re-evaluating the loss)
        is called first under enable_grad and its result returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
                wd, momentum, centered = (group["weight_decay"], group["momentum"],
                                          group["centered"])
                for p in self._params_with_grad(group):
                    g = -p.grad if group["maximize"] else p.grad
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = tensor(0.0, dtype=float32)
                        state["square_avg"] = zeros_like(p)
                        if momentum > 0:
                            state["momentum_buffer"] = zeros_like(p)
                        if centered:
                            state["grad_avg"] = zeros_like(p)
                    state["step"].add_(1)
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).add_((g * (1 - alpha)).mul_(g))
                    if centered:
                        grad_avg = state["grad_avg"]
                        grad_avg.lerp_(g, 1 - alpha)
                        avg = square_avg.sub(grad_avg * grad_avg).sqrt_()
                    else:
                        avg = square_avg.sqrt()
                    avg.add_(eps)
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(g / avg)
                        p.add_(buf, alpha=-lr)
                    else:
                        p.add_((g / avg).mul_(-lr))
        return loss
