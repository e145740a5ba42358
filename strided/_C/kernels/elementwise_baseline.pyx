"""The element-wise row kernels (elementwise_rows.pxi), built once per instruction set:
as elementwise_baseline for the portable ISA and, from the same generated C under other
names, as elementwise_avx2 (AVX2 + FMA) and elementwise_avx512 (AVX-512 F/DQ/BW/VL):
setup.py's ISA_COPIES, so Cython runs once for all three.  elementwise.pyx imports the best
one the instruction-set level allows (NOTE [ Kernel dispatch ] in elementwise.pyx)."""
from cpython.pycapsule cimport PyCapsule_New

from strided._C.kernels.elementwise cimport (
    OpArgs, RowKernels, ARGS_HAS_LO, ARGS_HAS_HI, ERR_ZERO_DIVISION)
# BEGIN GENERATED: binary codes (tools/gen_ops.py from strided/op_table.py)
from strided._C.kernels.elementwise cimport (
    B_ADD, B_SUB, B_MUL, B_DIV, B_FLOOR_DIVIDE, B_REMAINDER, B_FMOD, B_POW, B_MAXIMUM,
    B_MINIMUM, B_ATAN2, B_HYPOT, B_BITWISE_AND, B_BITWISE_OR, B_BITWISE_XOR, B_LSHIFT,
    B_RSHIFT, B_ADD_ALPHA, B_SUB_ALPHA, B_LERP_SCALAR, B_GELU_BACKWARD,
    B_GELU_TANH_BACKWARD, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_LOGICAL_AND, B_LOGICAL_OR,
    B_LOGICAL_XOR, B_BOOL_FIRST)
# END GENERATED: binary codes
# BEGIN GENERATED: unary codes (tools/gen_ops.py from strided/op_table.py)
from strided._C.kernels.elementwise cimport (
    U_NEG, U_ABS, U_SIGN, U_SQUARE, U_RELU, U_FLOOR, U_CEIL, U_ROUND, U_TRUNC, U_FRAC,
    U_BITWISE_NOT, U_CLAMP, U_LEAKY_RELU, U_FILL, U_EXP, U_EXP2, U_EXPM1, U_LOG, U_LOG2,
    U_LOG10, U_LOG1P, U_SQRT, U_RSQRT, U_SIN, U_COS, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH,
    U_COSH, U_TANH, U_SIGMOID, U_RECIPROCAL, U_ERF, U_ERFC, U_GELU, U_GELU_TANH, U_SILU,
    U_SOFTPLUS, U_RAD2DEG, U_DEG2RAD, U_ISNAN, U_ISINF, U_ISFINITE, U_ISPOSINF, U_ISNEGINF,
    U_SIGNBIT, U_LOGICAL_NOT, U_FLOAT_FIRST, U_BOOL_FIRST)
# END GENERATED: unary codes

include "elementwise_rows.pxi"

cdef RowKernels _table
_table.binary = _binary_rows
_table.unary = _unary_rows
_table.where = _where_rows


def row_kernels():
    """A capsule holding this build's RowKernels (for elementwise._select_kernels)."""
    return PyCapsule_New(&_table, b"strided.RowKernels", NULL)
