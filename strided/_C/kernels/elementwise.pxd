# Element-wise kernels: out[i] = f(a[i], b[i], ...) over a prepared StridedLoop.
#
# Contract shared by every kernel here:
#   - operand 0 is the output, operands 1.. the inputs, as set up with loop_set_operand();
#     strides may be zero (broadcast) or negative; the output has no internal overlap and
#     does not partially overlap an input (the Tensor layer copies such inputs first);
#   - every operand has the element type `dtype` (a ScalarType other than BOOL: the Tensor
#     layer runs bool tensors through the UINT8 kernels of ops where that is exact), except
#     the outputs of ops in the BOOL_OUT ranges below, which are bool (one byte, 0 or 1),
#     and the condition operand of where(), which is bool;
#   - kernels release nothing and take no Python objects: call them without the GIL; large
#     loops are split over threads (threads.num_threads_for).
from libc.stdint cimport int64_t
from strided._C.core.iterator cimport StridedLoop, inner_loop_fn

# BEGIN GENERATED: binary enum (tools/gen_ops.py from strided/op_table.py)
cdef enum BinaryOp:
    # result in the promoted dtype
    B_ADD, B_SUB, B_MUL, B_DIV, B_FLOOR_DIVIDE, B_REMAINDER, B_FMOD, B_POW, B_MAXIMUM,
    B_MINIMUM, B_ATAN2, B_HYPOT, B_BITWISE_AND, B_BITWISE_OR, B_BITWISE_XOR, B_LSHIFT,
    B_RSHIFT, B_ADD_ALPHA, B_SUB_ALPHA, B_LERP_SCALAR, B_GELU_BACKWARD,
    B_GELU_TANH_BACKWARD,
    # bool result
    B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_LOGICAL_AND, B_LOGICAL_OR, B_LOGICAL_XOR,
    NUM_BINARY_OPS

cdef enum:
    B_BOOL_FIRST = B_EQ      # the first op with a bool result
# END GENERATED: binary enum

# BEGIN GENERATED: unary enum (tools/gen_ops.py from strided/op_table.py)
cdef enum UnaryOp:
    # every dtype, result in the input's dtype
    U_NEG, U_ABS, U_SIGN, U_SQUARE, U_RELU, U_FLOOR, U_CEIL, U_ROUND, U_TRUNC, U_FRAC,
    U_BITWISE_NOT, U_CLAMP, U_LEAKY_RELU, U_FILL,
    # floating point only (the Tensor layer promotes integer inputs first)
    U_EXP, U_EXP2, U_EXPM1, U_LOG, U_LOG2, U_LOG10, U_LOG1P, U_SQRT, U_RSQRT, U_SIN, U_COS,
    U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH, U_TANH, U_SIGMOID, U_RECIPROCAL, U_ERF,
    U_ERFC, U_GELU, U_GELU_TANH, U_SILU, U_SOFTPLUS, U_RAD2DEG, U_DEG2RAD,
    # bool result
    U_ISNAN, U_ISINF, U_ISFINITE, U_ISPOSINF, U_ISNEGINF, U_SIGNBIT, U_LOGICAL_NOT,
    NUM_UNARY_OPS

cdef enum:
    U_FLOAT_FIRST = U_EXP    # the first floating-point-only op
    U_BOOL_FIRST = U_ISNAN      # the first op with a bool result
# END GENERATED: unary enum

cdef enum:
    ARGS_HAS_LO = 1
    ARGS_HAS_HI = 2
    ERR_ZERO_DIVISION = 1

cdef struct OpArgs:
    int op
    int dtype
    int flags
    int error           # OUT: set to ERR_* by a kernel that met a bad element
    double f[2]         # scalar parameters for floating dtypes
    int64_t i[2]        # the same parameters for integer dtypes

# ptrs: base pointers of the operands (output first).  Return args.error (0 when fine).
cdef int run_binary(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil
cdef int run_unary(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil
# out[i] = a[i] if cond[i] else b[i]; operands (out, cond, a, b), cond is bool.
cdef int run_where(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil

# The row functions of one build of the kernels (NOTE [ Kernel dispatch ]).
cdef struct RowKernels:
    inner_loop_fn binary
    inner_loop_fn unary
    inner_loop_fn where
