"""Derivative formulas of the op table (NOTE [ Op table ] in strided/op_table.py).

A unary row's `grad` is a Python expression in g (the output's gradient), x (the input),
result (the output), p0 and p1 (the op's scalar parameters); a binary row's two are in g,
x, y (either may be a number) and alpha; both may use the names defined here.  Each is
compiled once into a function, and what it reads decides what the Node saves.
"""
import math

from strided._C.core import tensor as _core

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
where = _core.where


def hypot(x, y):
    """hypot of two operands, either a number (the binary op's function form)."""
    return _core.binary_op(_core.BINARY_OPS["hypot"], x, y)


def gelu_backward(g, x):
    """g * d/dx of x * Phi(x) = g * (Phi(x) + x * phi(x)), one fused pass (op table row
    gelu_backward)."""
    return _core.binary_op(_core.INTERNAL_BINARY_OPS["gelu_backward"], g, x)


def gelu_tanh_backward(g, x):
    """g * d/dx of the tanh approximation 0.5 x (1 + tanh(k (x + 0.044715 x^3))), one fused
    pass (op table row gelu_tanh_backward)."""
    return _core.binary_op(_core.INTERNAL_BINARY_OPS["gelu_tanh_backward"], g, x)


def silu_backward(g, x):
    """d/dx of x * sigmoid(x): s * (1 + x * (1 - s))."""
    s = x.sigmoid()
    return g * s * (x * (1.0 - s) + 1.0)


def scale(g, alpha):
    """g * alpha, skipping the multiply for alpha 1 (add and sub without alpha)."""
    return g if alpha == 1 else g * alpha


def floor_div(x, y):
    return _core.div(x, y, rounding_mode="floor")


def trunc_div(x, y):
    return _core.div(x, y, rounding_mode="trunc")


def pow_grad_base(g, x, y):
    """d/dx x**y = y * x**(y-1), 0 where y == 0 (also at x == 0)."""
    if isinstance(y, _core.Tensor):
        return where(y == 0, 0.0, g * y * x ** (y - 1))
    return g * 0.0 if y == 0 else g * y * x ** (y - 1)


def pow_grad_exponent(g, x, y):
    """d/dy x**y = x**y * log(x), 0 where x == 0 and y >= 0 (PyTorch's convention)."""
    out = x ** y
    if isinstance(x, _core.Tensor):
        return where((x == 0) & (y >= 0), 0.0, g * out * x.log())
    gy = g * out * (math.log(x) if x > 0 else float("nan"))
    return where(y >= 0, 0.0, gy) if x == 0 else gy


_NAMESPACE = {k: v for k, v in globals().items() if not k.startswith("_")}


class Formula:
    """A compiled derivative: fn(*args) over the argument names `args`, and which of them
    it reads (so a Node saves only those)."""

    def __init__(self, name, source, args):
        self.name, self.source = name, source
        code = compile(source, f"<derivative of {name}>", "eval")
        self.reads = set(code.co_names) & set(args)
        self.needs_x = "x" in self.reads
        self.needs_y = "y" in self.reads
        self.needs_result = "result" in self.reads
        self.fn = eval(f"lambda {', '.join(args)}: ({source})", dict(_NAMESPACE))


UNARY_ARGS = ("g", "x", "result", "p0", "p1")
BINARY_ARGS = ("g", "x", "y", "alpha")


def unary_formulas(rows):
    """{op name: Formula} for the unary rows that have a derivative."""
    return {r.name: Formula(r.name, r.grad, UNARY_ARGS) for r in rows if r.grad is not None}


def binary_formulas(rows):
    """{op name: (Formula for d/dx, Formula for d/dy)} for the binary rows with one."""
    return {r.name: (Formula(r.name, r.grad[0], BINARY_ARGS),
                     Formula(r.name, r.grad[1], BINARY_ARGS))
            for r in rows if r.grad is not None}
