"""The LLTM cell (PyTorch's C++ extension tutorial) three ways, on strided:

- ``LLTMPython``: a composition of strided ops, differentiated by autograd;
- ``LLTM(kernel)``: one ``strided.autograd.Function`` whose forward and backward call a
  fused Cython kernel (lltm_kernel.pyx), built either ahead of time (``setup.py`` in this
  folder: ``python setup.py build_ext --inplace`` makes the module ``lltm_cython``) or
  just in time (``load_kernel("jit")``, through ``strided.utils.extension.load``; this
  build adds ``-march=native``, as its cache key includes the CPU's instruction sets).

``load_kernel("prebuilt")`` imports the prebuilt module, ``load_kernel("jit")`` compiles
(first time) or fetches from the cache (later) the same source.
"""
import math
import os
import sys

import strided
import strided.nn as nn
from strided.autograd import Function

HERE = os.path.dirname(os.path.abspath(__file__))
# The kernel's row loop reads 4 and writes 5 arrays: let gcc check that many pairs for
# overlap at run time (its default, 10 pairs, leaves the loop scalar)
COMPILE_ARGS = ["--param=vect-max-version-for-alias-checks=64"]
# A JIT build may use every instruction set of this CPU: the build cache is keyed by it
JIT_COMPILE_ARGS = COMPILE_ARGS + ["-march=native"]


def lltm_python(input, weights, bias, old_h, old_cell):
    """One LLTM step as a composition of strided ops: returns (new_h, new_cell)."""
    X = strided.cat([old_h, input], 1)
    gate_weights = strided.addmm(bias, X, weights.t())
    gi, go, gc = gate_weights.chunk(3, 1)
    input_gate = gi.sigmoid()
    output_gate = go.sigmoid()
    candidate_cell = gc.relu() + gc.clamp(max=0).expm1()       # elu with alpha 1
    new_cell = old_cell + candidate_cell * input_gate
    new_h = new_cell.tanh() * output_gate
    return new_h, new_cell


def load_kernel(how="jit", verbose=False, build_directory=None):
    """The compiled kernel module: "prebuilt" imports lltm_cython (built by this folder's
    setup.py), "jit" builds or loads the cached build of lltm_kernel.pyx."""
    if how == "prebuilt":
        if HERE not in sys.path:
            sys.path.insert(0, HERE)
        import lltm_cython
        return lltm_cython
    if how == "jit":
        from strided.utils.extension import load
        return load("lltm_cython_jit", [os.path.join(HERE, "lltm_kernel.pyx")],
                    extra_compile_args=JIT_COMPILE_ARGS, verbose=verbose,
                    build_directory=build_directory)
    raise ValueError(f"load_kernel: how must be 'prebuilt' or 'jit', but got {how!r}")


def lltm_function(kernel):
    """A strided.autograd.Function running `kernel`'s fused forward and backward."""

    class LLTMFunction(Function):
        @staticmethod
        def forward(ctx, input, weights, bias, old_h, old_cell):
            new_h, new_cell, gates, X = kernel.forward(input, weights, bias, old_h, old_cell)
            ctx.save_for_backward(new_cell, gates, X, weights)
            return new_h, new_cell

        @staticmethod
        def backward(ctx, grad_h, grad_cell):
            return kernel.backward(grad_h, grad_cell, *ctx.saved_tensors)

    LLTMFunction.__name__ = LLTMFunction.__qualname__ = "LLTMFunction"
    return LLTMFunction


class _LLTMBase(nn.Module):
    def __init__(self, input_features, state_size, dtype=None):
        super().__init__()
        self.input_features = input_features
        self.state_size = state_size
        self.weights = nn.Parameter(strided.empty(3 * state_size, input_features + state_size,
                                                  dtype=dtype))
        self.bias = nn.Parameter(strided.empty(3 * state_size, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.state_size)
        with strided.no_grad():
            for p in self.parameters():
                p.uniform_(-stdv, stdv)


class LLTMPython(_LLTMBase):
    """The LLTM cell as strided ops (autograd differentiates the composition)."""

    def forward(self, input, state):
        return lltm_python(input, self.weights, self.bias, *state)


class LLTM(_LLTMBase):
    """The LLTM cell on a compiled kernel module (see load_kernel)."""

    def __init__(self, input_features, state_size, kernel, dtype=None):
        super().__init__(input_features, state_size, dtype)
        self.function = lltm_function(kernel)

    def forward(self, input, state):
        return self.function.apply(input, self.weights, self.bias, *state)
