"""The op table: one row per element-wise op, with its kernel formula and its derivative.

NOTE [ Op table ]
Like PyTorch's native_functions.yaml + derivatives.yaml, this file is the one place an op is
described.  `tools/gen_ops.py` (run by setup.py before Cython, and checked fresh by
tests/test_op_table.py) writes from it the regions marked "GENERATED" in the Cython core:
the op enum, the kernel's tag structs, fused types, per-dtype formulas and dispatch switch,
the name table, the Tensor methods and their stubs.  Autograd reads the derivative formulas
from it at import (strided/autograd/formulas.py).  This module imports nothing of strided.

A unary row:
  name      the op's PyTorch name (the Tensor method, the strided.* function, the code U_NAME)
  kernel    the value out[i] of one element x, as C (Cython) source: one expression for
            every dtype, or a dict by dtype -- "float", "double", "uint8_t", "int" (int32 and
            int64), "floating" (float and double) and "integer" (the three integer types),
            the more specific key winning.  A value with a newline is a block of statements
            that returns the value.  p0, p1 are the op's scalar parameters (OpArgs), flags
            its flag bits.
  kind      "any": every dtype, the result in the input's dtype; "float": integer inputs
            compute in float32 (PyTorch's rule for exp, log, ...), the kernel is built for
            float and double only; "bool": the result is bool (a predicate)
  grad      the derivative as a Python expression in g (the output's gradient), x (the
            input), result (the output), p0, p1 and the names of autograd/formulas.py;
            None: not differentiable (integer or bool results only)
  forms     "method": Tensor.name and Tensor.name_ (in place; predicates have no in-place
            form but logical_not_) and the function strided.name; "functional": the name
            in UNARY_OPS, for strided.nn.functional.name (which has its own signature);
            "internal": the op code only (its callers have their own API)
  note      a comment for the generated kernel code
  no_ints   the name of PyTorch's kernel when, like PyTorch's nn.functional activations,
            the op refuses integer and bool inputs (NotImplementedError naming that kernel)
            rather than computing them in float32

Adding a unary element-wise op is one row here (and, when its derivative needs a helper,
one function in autograd/formulas.py); then rebuild (`pip install -e .` regenerates).
Binary rows (class Binary below) work the same way; CONTRIBUTING.md has the recipe.
"""


class Unary:
    def __init__(self, name, kernel, kind="any", grad=None, forms="method", note=None,
                 no_ints=None):
        self.name, self.kernel, self.kind, self.grad = name, kernel, kind, grad
        self.forms, self.note, self.no_ints = forms, note, no_ints

    @property
    def code(self):
        return "U_" + self.name.upper()

    @property
    def tag(self):
        prefix = "P" if self.kind == "bool" else "U"
        return prefix + "".join(w.capitalize() for w in self.name.split("_"))

    def __repr__(self):
        return f"Unary({self.name!r})"


_FLOOR = {"float": "floorf(x)", "double": "floor(x)", "integer": "x"}

UNARY = [
    # ---- every dtype, result in the input's dtype ----
    Unary("neg", "-x", grad="-g"),
    Unary("abs", {"float": "fabsf(x)", "double": "fabs(x)", "uint8_t": "x",
                  "int": "-x if x < 0 else x"}, grad="g * x.sign()"),
    Unary("sign", "(0 < x) - (x < 0)", grad="g * 0.0"),
    Unary("square", "x * x", grad="g * x * 2.0"),
    Unary("relu", "0 if x < 0 else x", grad="where(x > 0, g, 0.0)",
          note="NaN stays NaN, as in PyTorch"),
    Unary("floor", _FLOOR, grad="g * 0.0"),
    Unary("ceil", {"float": "ceilf(x)", "double": "ceil(x)", "integer": "x"}, grad="g * 0.0"),
    Unary("round", {"float": "rintf(x)", "double": "rint(x)", "integer": "x"},
          grad="g * 0.0", forms="internal",
          note="half to even, like torch.round and np.round (Tensor.round takes decimals)"),
    Unary("trunc", {"float": "truncf(x)", "double": "trunc(x)", "integer": "x"},
          grad="g * 0.0"),
    Unary("frac", {"float": "x - truncf(x)", "double": "x - trunc(x)", "integer": "0"},
          grad="g"),
    Unary("bitwise_not", {"floating": "0", "integer": "~x"}),
    Unary("clamp", "if flags & ARGS_HAS_LO:\n"
                   "    x = p0 if (x < p0) | (p0 != p0) else x\n"
                   "if flags & ARGS_HAS_HI:\n"
                   "    x = p1 if (x > p1) | (p1 != p1) else x\n"
                   "return x",
          forms="internal", note="bounds in p0/p1, flags say which apply; a NaN bound gives "
                                 "NaN, as in PyTorch (p != p is false for integers); `|`, "
                                 "not `or`: a short-circuit branch per element kept the "
                                 "loop scalar (float32 clamp of 2M elements 20 -> 0.63 ms, "
                                 "benchmarks/bench_trees.py)"),
    Unary("leaky_relu", "x if x > 0 else x * p0", grad="where(x > 0, g, g * p0)",
          forms="internal", note="the slope in p0", no_ints="leaky_relu_cpu"),
    Unary("fill", "p0", forms="internal", note="out = p0; the input is ignored"),
    # ---- floating point: integer inputs compute in float32 ----
    Unary("exp", {"float": "_expf(x)", "double": "exp(x)"}, "float", grad="g * result"),
    Unary("exp2", {"float": "exp2f(x)", "double": "exp2(x)"}, "float",
          grad="g * result * LN2"),
    Unary("expm1", {"float": "expm1f(x)", "double": "expm1(x)"}, "float",
          grad="g * (result + 1.0)"),
    Unary("log", {"float": "_logf(x)", "double": "log(x)"}, "float", grad="g / x"),
    Unary("log2", {"float": "log2f(x)", "double": "log2(x)"}, "float", grad="g / (x * LN2)"),
    Unary("log10", {"float": "log10f(x)", "double": "log10(x)"}, "float",
          grad="g / (x * LN10)"),
    Unary("log1p", {"float": "log1pf(x)", "double": "log1p(x)"}, "float",
          grad="g / (x + 1.0)"),
    Unary("sqrt", {"float": "sqrtf(x)", "double": "sqrt(x)"}, "float",
          grad="g / (result * 2.0)"),
    Unary("rsqrt", {"float": "<float>1.0 / sqrtf(x)", "double": "1.0 / sqrt(x)"}, "float",
          grad="g * result * result * result * -0.5"),
    Unary("sin", {"float": "sinf(x)", "double": "sin(x)"}, "float", grad="g * x.cos()"),
    Unary("cos", {"float": "cosf(x)", "double": "cos(x)"}, "float", grad="-g * x.sin()"),
    Unary("tan", {"float": "tanf(x)", "double": "tan(x)"}, "float",
          grad="g * (result * result + 1.0)"),
    Unary("asin", {"float": "asinf(x)", "double": "asin(x)"}, "float",
          grad="g * (1.0 - x * x).rsqrt()"),
    Unary("acos", {"float": "acosf(x)", "double": "acos(x)"}, "float",
          grad="-g * (1.0 - x * x).rsqrt()"),
    Unary("atan", {"float": "atanf(x)", "double": "atan(x)"}, "float",
          grad="g / (x * x + 1.0)"),
    Unary("sinh", {"float": "sinhf(x)", "double": "sinh(x)"}, "float", grad="g * x.cosh()"),
    Unary("cosh", {"float": "coshf(x)", "double": "cosh(x)"}, "float", grad="g * x.sinh()"),
    Unary("tanh", {"float": "_tanhf(x)", "double": "tanh(x)"}, "float",
          grad="g * (1.0 - result * result)"),
    Unary("sigmoid", {"float": "_sigmoid_f(x)", "double": "_sigmoid_d(x)"}, "float",
          grad="g * result * (1.0 - result)"),
    Unary("reciprocal", {"float": "<float>1.0 / x", "double": "1.0 / x"}, "float",
          grad="-g * result * result"),
    Unary("erf", {"float": "erff_fast(x)", "double": "erf(x)"}, "float",
          grad="g * (x * x).neg().exp() * TWO_OVER_SQRT_PI"),
    Unary("erfc", {"float": "erfcf(x)", "double": "erfc(x)"}, "float",
          grad="g * (x * x).neg().exp() * -TWO_OVER_SQRT_PI"),
    Unary("gelu", {"float": "gelu_f(x)",
                   "double": "0.5 * x * (1.0 + erf(x * 0.70710678118654752))"}, "float",
          grad="gelu_backward(g, x)", forms="functional", no_ints="GeluKernelImpl"),
    Unary("gelu_tanh", {"float": "gelu_tanh_f(x)", "double": "_gelu_tanh_d(x)"},
          "float", grad="gelu_tanh_backward(g, x)", forms="functional",
          no_ints="GeluKernelImpl"),
    Unary("silu", {"float": "x * _sigmoid_f(x)", "double": "x * _sigmoid_d(x)"}, "float",
          grad="silu_backward(g, x)", forms="functional", no_ints="silu_cpu"),
    Unary("softplus", {"float": "<float>_softplus_d(x, p0, p1)",
                       "double": "_softplus_d(x, p0, p1)"}, "float",
          grad="where(x * p0 > p1, g, g * (x * p0).sigmoid())", forms="internal",
          note="beta in p0, threshold in p1", no_ints="softplus_cpu"),
    Unary("rad2deg", {"float": "x * <float>57.295779513082320876798",
                      "double": "x * 57.295779513082320876798"}, "float",
          grad="g * 57.295779513082320876798"),
    Unary("deg2rad", {"float": "x * <float>0.017453292519943295769237",
                      "double": "x * 0.017453292519943295769237"}, "float",
          grad="g * 0.017453292519943295769237"),
    # ---- predicates: bool results ----
    Unary("isnan", {"floating": "x != x", "integer": "0"}, "bool"),
    Unary("isinf", {"floating": "isinf(x) != 0", "integer": "0"}, "bool"),
    Unary("isfinite", {"floating": "isfinite(x) != 0", "integer": "1"}, "bool"),
    Unary("isposinf", {"floating": "x == INFINITY", "integer": "0"}, "bool"),
    Unary("isneginf", {"floating": "x == -INFINITY", "integer": "0"}, "bool"),
    Unary("signbit", {"floating": "signbit(x) != 0", "uint8_t": "0", "int": "x < 0"}, "bool"),
    Unary("logical_not", "x == 0", "bool"),
]

UNARY_BY_NAME = {row.name: row for row in UNARY}


class Binary:
    """A binary element-wise row: like Unary, with

      kernel    out[i] of x[i] and y[i] (both in the computation dtype); p0 is the op's
                scalar parameter (alpha, weight), err an int* a kernel sets on a bad
                element (integer division by zero)
      kind      "any": the result in the promoted dtype; "bool": a comparison, bool result
      grad      (d/dx, d/dy) as Python expressions in g, x, y, alpha (each operand may be a
                number as well as a tensor); None: not differentiable
      code      the op code's suffix when it is not the name's (B_DIV for true_divide)
      message   the name errors give (PyTorch's kernel name), when it is not `name`
      node      the backward Node's name, when it is not Name + "Backward0"
      forms     "function": in BINARY_OPS (strided.name(input, other, out=...)); "internal":
                the op code only (add with alpha, lerp with a scalar weight)
      methods   which Tensor methods are generated: "both" (Tensor.name(other) and the
                in-place Tensor.name_(other)), "out-of-place" (PyTorch has no name_), or
                "manual" (written by hand in core/tensor.pyx: add/sub take alpha)
      other     the second operand's keyword name in the methods (pow: "exponent")
      ints      "compute": integer and bool operands compute in their promoted type;
                "float": they compute in float32, PyTorch's default float (true_divide)
      no_kernel (kernel name, dtype classes): the classes ("float", "int", "bool") PyTorch
                has no kernel for, refused with NotImplementedError naming the kernel, as
                PyTorch does (bitwise ops on floats, hypot on integers)
      branch_free  the formula has no branches: strided rows run it in a plain strided loop
                rather than gathering blocks (a measured speed choice, not a semantic one)
    """

    def __init__(self, name, kernel, kind="any", grad=None, code=None, message=None,
                 node=None, forms="function", note=None, branch_free=False, methods="both",
                 other="other", ints="compute", no_kernel=None):
        self.name, self.kernel, self.kind, self.grad = name, kernel, kind, grad
        self.methods = methods if forms == "function" else "manual"
        self.other, self.ints, self.no_kernel = other, ints, no_kernel
        self.branch_free = branch_free
        self.code = "B_" + (code or name.upper())
        self.message = message or name
        self.node = node or "".join(w.capitalize() for w in name.split("_")) + "Backward0"
        self.forms, self.note = forms, note

    @property
    def tag(self):
        prefix = "C" if self.kind == "bool" else "B"
        return prefix + "".join(w.capitalize() for w in self.code[2:].lower().split("_"))

    def __repr__(self):
        return f"Binary({self.name!r})"


_NAN_FIRST = ("if x != x:\n    return x\nif y != y:\n    return y\n")
_INT_ONLY = {"floating": "0"}

BINARY = [
    Binary("add", "x + y", branch_free=True, grad=("g", "scale(g, alpha)"), methods="manual"),
    Binary("sub", "x - y", branch_free=True, grad=("g", "scale(-g, alpha)"), methods="manual"),
    Binary("mul", "x * y", branch_free=True, grad=("g * y", "g * x")),
    Binary("true_divide", {"floating": "x / y", "integer": "0"}, code="DIV", message="div",
           node="DivBackward0", grad=("g / y", "-g * x / (y * y)"), ints="float",
           note="integer inputs are promoted to float first"),
    Binary("floor_divide", "_floor_divide(x, y, err)", grad=("g * 0.0", "g * 0.0")),
    Binary("remainder", "_remainder(x, y, err)",
           grad=("g", "-g * floor_div(x, y)")),
    Binary("fmod", "_fmod(x, y, err)", grad=("g", "-g * trunc_div(x, y)")),
    Binary("pow", {"float": "powf(x, y)", "double": "pow(x, y)", "integer": "_int_pow(x, y)"},
           node="PowBackward1", grad=("pow_grad_base(g, x, y)", "pow_grad_exponent(g, x, y)"),
           other="exponent"),
    Binary("maximum", {"floating": _NAN_FIRST + "return x if x > y else y",
                       "integer": "x if x > y else y"},
           grad=("where(x == y, g * 0.5, where(x > y, g, 0.0))",
                 "where(x == y, g * 0.5, where(x > y, 0.0, g))"),
           note="NaN wins, as in PyTorch", methods="out-of-place"),
    Binary("minimum", {"floating": _NAN_FIRST + "return x if x < y else y",
                       "integer": "x if x < y else y"},
           grad=("where(x == y, g * 0.5, where(x < y, g, 0.0))",
                 "where(x == y, g * 0.5, where(x < y, 0.0, g))"),
           note="NaN wins, as in PyTorch", methods="out-of-place"),
    Binary("atan2", {"float": "atan2f(x, y)", "double": "atan2(x, y)", "integer": "0"},
           grad=("g * y / (x * x + y * y)", "-g * x / (x * x + y * y)"), ints="float"),
    Binary("hypot", {"float": "hypotf(x, y)", "double": "hypot(x, y)", "integer": "0"},
           grad=("g * x / hypot(x, y)", "g * y / hypot(x, y)"),
           no_kernel=("hypot_cpu", ("int", "bool"))),
    Binary("bitwise_and", dict(_INT_ONLY, integer="x & y"), code="BITWISE_AND",
           branch_free=True, no_kernel=("bitwise_and_cpu", ("float",))),
    Binary("bitwise_or", dict(_INT_ONLY, integer="x | y"), code="BITWISE_OR", branch_free=True,
           no_kernel=("bitwise_or_cpu", ("float",))),
    Binary("bitwise_xor", dict(_INT_ONLY, integer="x ^ y"), code="BITWISE_XOR",
           branch_free=True, no_kernel=("bitwise_xor_cpu", ("float",))),
    Binary("bitwise_left_shift", "_shift(True, x, y)", code="LSHIFT",
           no_kernel=("lshift_cpu", ("float", "bool"))),
    Binary("bitwise_right_shift", "_shift(False, x, y)", code="RSHIFT",
           no_kernel=("rshift_cpu", ("float", "bool"))),
    Binary("add_alpha", "x + p0 * y", forms="internal", branch_free=True, message="add",
           note="add(x, y, alpha=p0)"),
    Binary("sub_alpha", "x - p0 * y", forms="internal", branch_free=True, message="sub",
           note="sub(x, y, alpha=p0)"),
    Binary("lerp", "if p0 < 0.5:\n    return x + p0 * (y - x)\nreturn y - (y - x) * (1 - p0)",
           code="LERP_SCALAR", forms="internal",
           note="PyTorch's lerp with a scalar weight p0: exact at both ends"),
    Binary("gelu_backward", {"float": "gelu_backward_f(x, y)", "double": "_gelu_backward_d(x, y)",
                             "integer": "0"}, forms="internal", branch_free=True,
           no_kernel=("GeluBackwardKernelImpl", ("int", "bool")),
           note="g * gelu'(x) for g in x and the input in y, one pass (NOTE [ Fast erf ])"),
    Binary("gelu_tanh_backward", {"float": "gelu_tanh_backward_f(x, y)",
                                  "double": "_gelu_tanh_backward_d(x, y)", "integer": "0"},
           forms="internal", branch_free=True, note="g * gelu_tanh'(x), g in x, the input in y",
           no_kernel=("GeluBackwardKernelImpl", ("int", "bool"))),
    # ---- comparisons and logical ops: bool results ----
    Binary("eq", "x == y", "bool"),
    Binary("ne", "x != y", "bool"),
    Binary("lt", "x < y", "bool"),
    Binary("le", "x <= y", "bool"),
    Binary("gt", "x > y", "bool"),
    Binary("ge", "x >= y", "bool"),
    Binary("logical_and", "(x != 0) & (y != 0)", "bool"),
    Binary("logical_or", "(x != 0) | (y != 0)", "bool"),
    Binary("logical_xor", "(x != 0) ^ (y != 0)", "bool"),
]

BINARY_BY_NAME = {row.name: row for row in BINARY}
