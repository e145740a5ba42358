"""Derivative formulas of the op table (NOTE [ Op table ] in strided/op_table.py).

Each row's `grad` is a Python expression in g (the output's gradient), x (the input),
result (the output), p0 and p1 (the op's scalar parameters) and the names defined here.
`unary_formula(row)` compiles it once into a function and says which of x and result the
backward needs saved, so a Node keeps only those.
"""
import math

from strided._C import tensor as _core

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
where = _core.where


def gelu_backward(g, x):
    """d/dx of x * Phi(x): Phi(x) + x * phi(x)."""
    cdf = ((x * (1.0 / math.sqrt(2.0))).erf() + 1.0) * 0.5
    pdf = (x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
    return g * (cdf + x * pdf)


def gelu_tanh_backward(g, x):
    """d/dx of the tanh approximation 0.5 * x * (1 + tanh(k * (x + 0.044715 x^3)))."""
    k = math.sqrt(2.0 / math.pi)
    t = ((x + x * x * x * 0.044715) * k).tanh()
    dinner = (x * x * (3 * 0.044715) + 1.0) * k
    return g * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * dinner)


def silu_backward(g, x):
    """d/dx of x * sigmoid(x): s * (1 + x * (1 - s))."""
    s = x.sigmoid()
    return g * s * (x * (1.0 - s) + 1.0)


_NAMESPACE = {k: v for k, v in globals().items() if not k.startswith("_")}


class Formula:
    """A compiled derivative: fn(g, x, result, p0, p1) and what it reads."""

    def __init__(self, name, source):
        self.name, self.source = name, source
        code = compile(source, f"<derivative of {name}>", "eval")
        self.needs_x = "x" in code.co_names
        self.needs_result = "result" in code.co_names
        self.fn = eval(f"lambda g, x, result, p0, p1: ({source})", dict(_NAMESPACE))


def unary_formulas(rows):
    """{op name: Formula} for the rows that have a derivative."""
    return {r.name: Formula(r.name, r.grad) for r in rows if r.grad is not None}
