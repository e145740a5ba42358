"""Adagrad (torch.optim.Adagrad: lr_decay, weight_decay, initial_accumulator_value, eps,
maximize)."""
from __future__ import annotations
from typing import Any, Callable

from strided.autograd.grad_mode import no_grad, enable_grad
from strided.creation import full_like
from strided._C.core.tensor import tensor
from strided._C.core.dtypes import float32
from strided.optim.optimizer import Optimizer, ParamsT


class Adagrad(Optimizer):
    """For each parameter p with gradient g (negated if maximize), at step t:
        g = g + weight_decay p
        clr = lr / (1 + (t - 1) lr_decay)
        s = s + g^2                   (s starts at initial_accumulator_value)
        p -= clr g / (sqrt(s) + eps)
    in place, under no_grad.  As in torch, the state (step, sum) of every parameter is
    created with the optimizer, so state_dict() holds it before the first step."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = tensor(0.0, dtype=float32)
            state["sum"] = full_like(p, float(group["initial_accumulator_value"]))
        return state

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (a dict with "params"), creating its parameters' state as torch does."""
        super().add_param_group(param_group)
        if hasattr(self, "state") and len(self.param_groups) > 1:
            group = self.param_groups[-1]
            for p in group["params"]:
                self._init_state(p, group)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; closure (re-evaluating the loss)
        is called first under enable_grad and its result returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                lr, lr_decay, eps, wd = (group["lr"], group["lr_decay"], group["eps"],
                                         group["weight_decay"])
                for p in self._params_with_grad(group):
                    g = -p.grad if group["maximize"] else p.grad
                    state = self._init_state(p, group)
                    state["step"].add_(1)
                    step = state["step"].item()
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    clr = lr / (1 + (step - 1) * lr_decay)
                    state["sum"].add_(g * g)
                    std = state["sum"].sqrt().add_(eps)
                    p.add_((g / std).mul_(-clr))
        return loss
