"""Adam and AdamW (torch.optim.Adam / AdamW, incl. amsgrad and maximize)."""
from __future__ import annotations
import math
from typing import Any, Callable

from strided.autograd.grad_mode import no_grad, enable_grad
from strided.creation import zeros_like
from strided._C.core.tensor import tensor
from strided._C.core.dtypes import float32
from strided._C.ops.optim import adam_step
from strided.optim.optimizer import Optimizer, ParamsT


class Adam(Optimizer):
    """For each parameter p with gradient g (negated if maximize), at step t:
        g = g + weight_decay p              (Adam; AdamW instead does p *= 1 - lr wd)
        m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
        vmax = max(vmax, v) if amsgrad
        p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
    in place, under no_grad, one fused kernel per parameter (NOTE [ Fused optimizer
    updates ] in strided/_C/kernels/optim.pyx)."""

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter that has a gradient (bias-corrected moments,
        amsgrad, maximize as PyTorch); closure is called first under enable_grad and its loss
        returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
                amsgrad, maximize = group["amsgrad"], group["maximize"]
                for p in self._params_with_grad(group):
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = tensor(0.0, dtype=float32)
                        state["exp_avg"] = zeros_like(p)
                        state["exp_avg_sq"] = zeros_like(p)
                        if amsgrad:
                            state["max_exp_avg_sq"] = zeros_like(p)
                    state["step"].add_(1)
                    step = state["step"].item()
                    adam_step(p, p.grad, state["exp_avg"], state["exp_avg_sq"],
                              state.get("max_exp_avg_sq"), lr, beta1, beta2, eps, wd,
                              self._decoupled, amsgrad, maximize, 1 - beta1 ** step,
                              math.sqrt(1 - beta2 ** step))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (p *= 1 - lr weight_decay before the update)."""

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
