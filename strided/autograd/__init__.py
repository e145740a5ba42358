"""strided.autograd: reverse-mode differentiation (PyTorch's API).

Tensors that require grad record, for every differentiable op run on them under grad mode,
a backward Node (graph.py, NOTE [ The backward graph ]); backward() and grad() run those
Nodes in reverse (engine.py).  Function lets users add ops; gradcheck compares a function's
analytic gradient with finite differences.
"""
from strided.autograd.grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from strided.autograd.engine import backward, grad
from strided.autograd.function import Function, FunctionCtx
from strided.autograd.gradcheck import gradcheck
from strided.autograd import dispatch as _dispatch
from strided._C.core.tensor import install_autograd as _install_autograd

_install_autograd(_dispatch)        # NOTE [ Autograd hook ] in strided/_C/core/tensor.pyx

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "backward", "grad",
           "Function", "FunctionCtx", "gradcheck"]
