# The element-wise row kernels (NOTE [ Element-wise kernels ] in elementwise.pyx), included
# by elementwise_baseline.pyx: one generated C file compiled for each instruction set
# (elementwise_baseline, _avx2, _avx512), which elementwise.pyx selects at import
# (NOTE [ Kernel dispatch ]).
cimport cython
from libc.math cimport *          # any C math function can appear in an op-table formula
from libc.stdint cimport int64_t, int32_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

from strided._C.core.dtypes cimport BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.kernels.fastmath cimport expf_fast as _expf, logf_fast as _logf, tanhf_fast as _tanhf
from strided._C.kernels.fastmath cimport (strided_tanhf_row, strided_expf_row, STRIDED_EXPF_ROW,
                                          strided_logf_row, STRIDED_LOGF_ROW)
from strided._C.kernels.fastmath cimport (erff_fast, gelu_f, gelu_backward_f, gelu_tanh_f,
                                          gelu_tanh_backward_f)

cdef enum:
    BLOCK = 256             # elements per gathered block in the strided paths

ctypedef fused scalar_t:
    uint8_t
    int32_t
    int64_t
    float
    double


# ---- op tags ------------------------------------------------------------------------------

# BEGIN GENERATED: binary tags (tools/gen_ops.py from strided/op_table.py)
cdef struct BAdd:
    char unused
cdef struct BSub:
    char unused
cdef struct BMul:
    char unused
cdef struct BDiv:
    char unused
cdef struct BFloorDivide:
    char unused
cdef struct BRemainder:
    char unused
cdef struct BFmod:
    char unused
cdef struct BPow:
    char unused
cdef struct BMaximum:
    char unused
cdef struct BMinimum:
    char unused
cdef struct BAtan2:
    char unused
cdef struct BHypot:
    char unused
cdef struct BBitwiseAnd:
    char unused
cdef struct BBitwiseOr:
    char unused
cdef struct BBitwiseXor:
    char unused
cdef struct BLshift:
    char unused
cdef struct BRshift:
    char unused
cdef struct BAddAlpha:
    char unused
cdef struct BSubAlpha:
    char unused
cdef struct BLerpScalar:
    char unused
cdef struct BGeluBackward:
    char unused
cdef struct BGeluTanhBackward:
    char unused
cdef struct CEq:
    char unused
cdef struct CNe:
    char unused
cdef struct CLt:
    char unused
cdef struct CLe:
    char unused
cdef struct CGt:
    char unused
cdef struct CGe:
    char unused
cdef struct CLogicalAnd:
    char unused
cdef struct CLogicalOr:
    char unused
cdef struct CLogicalXor:
    char unused

ctypedef fused binop_t:
    BAdd
    BSub
    BMul
    BDiv
    BFloorDivide
    BRemainder
    BFmod
    BPow
    BMaximum
    BMinimum
    BAtan2
    BHypot
    BBitwiseAnd
    BBitwiseOr
    BBitwiseXor
    BLshift
    BRshift
    BAddAlpha
    BSubAlpha
    BLerpScalar
    BGeluBackward
    BGeluTanhBackward

ctypedef fused cmpop_t:
    CEq
    CNe
    CLt
    CLe
    CGt
    CGe
    CLogicalAnd
    CLogicalOr
    CLogicalXor
# END GENERATED: binary tags

# BEGIN GENERATED: unary tags (tools/gen_ops.py from strided/op_table.py)
cdef struct UNeg:
    char unused
cdef struct UAbs:
    char unused
cdef struct USign:
    char unused
cdef struct USquare:
    char unused
cdef struct URelu:
    char unused
cdef struct UFloor:
    char unused
cdef struct UCeil:
    char unused
cdef struct URound:
    char unused
cdef struct UTrunc:
    char unused
cdef struct UFrac:
    char unused
cdef struct UBitwiseNot:
    char unused
cdef struct UClamp:
    char unused
cdef struct ULeakyRelu:
    char unused
cdef struct UFill:
    char unused
cdef struct UExp:
    char unused
cdef struct UExp2:
    char unused
cdef struct UExpm1:
    char unused
cdef struct ULog:
    char unused
cdef struct ULog2:
    char unused
cdef struct ULog10:
    char unused
cdef struct ULog1p:
    char unused
cdef struct USqrt:
    char unused
cdef struct URsqrt:
    char unused
cdef struct USin:
    char unused
cdef struct UCos:
    char unused
cdef struct UTan:
    char unused
cdef struct UAsin:
    char unused
cdef struct UAcos:
    char unused
cdef struct UAtan:
    char unused
cdef struct USinh:
    char unused
cdef struct UCosh:
    char unused
cdef struct UTanh:
    char unused
cdef struct USigmoid:
    char unused
cdef struct UReciprocal:
    char unused
cdef struct UErf:
    char unused
cdef struct UErfc:
    char unused
cdef struct UGelu:
    char unused
cdef struct UGeluTanh:
    char unused
cdef struct USilu:
    char unused
cdef struct USoftplus:
    char unused
cdef struct URad2deg:
    char unused
cdef struct UDeg2rad:
    char unused
cdef struct PIsnan:
    char unused
cdef struct PIsinf:
    char unused
cdef struct PIsfinite:
    char unused
cdef struct PIsposinf:
    char unused
cdef struct PIsneginf:
    char unused
cdef struct PSignbit:
    char unused
cdef struct PLogicalNot:
    char unused

ctypedef fused unop_t:
    UNeg
    UAbs
    USign
    USquare
    URelu
    UFloor
    UCeil
    URound
    UTrunc
    UFrac
    UBitwiseNot
    UClamp
    ULeakyRelu
    UFill
    UExp
    UExp2
    UExpm1
    ULog
    ULog2
    ULog10
    ULog1p
    USqrt
    URsqrt
    USin
    UCos
    UTan
    UAsin
    UAcos
    UAtan
    USinh
    UCosh
    UTanh
    USigmoid
    UReciprocal
    UErf
    UErfc
    UGelu
    UGeluTanh
    USilu
    USoftplus
    URad2deg
    UDeg2rad

ctypedef fused predop_t:
    PIsnan
    PIsinf
    PIsfinite
    PIsposinf
    PIsneginf
    PSignbit
    PLogicalNot
# END GENERATED: unary tags


# ---- element formulas ---------------------------------------------------------------------
# Integer semantics follow PyTorch: wrap-around arithmetic (built with -fwrapv), floor
# division and Python-style remainder, division by zero reported through *err.

cdef inline scalar_t _int_pow(scalar_t base, scalar_t e) noexcept nogil:
    cdef scalar_t result = 1
    if scalar_t is float or scalar_t is double:
        return 0
    elif scalar_t is not uint8_t:
        if e < 0:
            if base == 1:
                return 1
            if base == -1:
                return 1 if (e & 1) == 0 else -1
            return 0
    while e != 0:
        if e & 1:
            result = result * base
        base = base * base
        e = e >> 1
    return result


cdef inline scalar_t _floor_divide(scalar_t x, scalar_t y, int* err) noexcept nogil:
    cdef scalar_t q, m, d, fd
    if scalar_t is float or scalar_t is double:
        # NumPy's and PyTorch's divmod-based floor division (exact for huge quotients)
        if y == 0:
            return x / y
        m = fmod(x, y)
        d = (x - m) / y
        if m != 0 and ((y < 0) != (m < 0)):
            d = d - 1
        if d != 0:
            fd = floor(d)
            if d - fd > 0.5:
                fd = fd + 1
            return fd
        return 0.0 * (x / y)          # a signed zero, like x / y
    else:
        if y == 0:
            err[0] = ERR_ZERO_DIVISION
            return 0
        if scalar_t is uint8_t:
            return x // y
        else:
            if y == -1:
                return -x
            q = x // y
            if (x % y != 0) and ((x < 0) != (y < 0)):
                q = q - 1
            return q


cdef inline scalar_t _remainder(scalar_t x, scalar_t y, int* err) noexcept nogil:
    cdef scalar_t m
    if scalar_t is float or scalar_t is double:
        m = fmod(x, y)
        if m != 0 and ((y < 0) != (m < 0)):
            m = m + y
        return m
    else:
        if y == 0:
            err[0] = ERR_ZERO_DIVISION
            return 0
        if scalar_t is uint8_t:
            return x % y
        else:
            if y == -1:
                return 0
            m = x % y
            if m != 0 and ((m < 0) != (y < 0)):
                m = m + y
            return m


cdef inline scalar_t _fmod(scalar_t x, scalar_t y, int* err) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return fmod(x, y)
    else:
        if y == 0:
            err[0] = ERR_ZERO_DIVISION
            return 0
        if scalar_t is uint8_t:
            return x % y
        else:
            if y == -1:
                return 0
            return x % y


cdef inline scalar_t _shift(bint left, scalar_t x, scalar_t y) noexcept nogil:
    cdef int bits = 8 * sizeof(scalar_t)
    if scalar_t is float or scalar_t is double:
        return 0
    elif scalar_t is uint8_t:
        if y >= bits:
            return 0
        return <uint8_t>(x << y) if left else x >> y
    elif scalar_t is int32_t:
        if y < 0 or y >= bits:
            return 0 if left or x >= 0 else -1
        return <int32_t>(<uint32_t>x << y) if left else x >> y
    else:
        if y < 0 or y >= bits:
            return 0 if left or x >= 0 else -1
        return <int64_t>(<uint64_t>x << y) if left else x >> y


# BEGIN GENERATED: binary kernels (tools/gen_ops.py from strided/op_table.py)
cdef inline scalar_t _b_add(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return x + y


cdef inline scalar_t _b_sub(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return x - y


cdef inline scalar_t _b_mul(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return x * y


cdef inline scalar_t _b_true_divide(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # integer inputs are promoted to float first
    if scalar_t is float or scalar_t is double:
        return x / y
    else:
        return 0


cdef inline scalar_t _b_floor_divide(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return _floor_divide(x, y, err)


cdef inline scalar_t _b_remainder(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return _remainder(x, y, err)


cdef inline scalar_t _b_fmod(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return _fmod(x, y, err)


cdef inline scalar_t _b_pow(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float:
        return powf(x, y)
    elif scalar_t is double:
        return pow(x, y)
    else:
        return _int_pow(x, y)


cdef inline scalar_t _b_maximum(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # NaN wins, as in PyTorch
    if scalar_t is float or scalar_t is double:
        if x != x:
            return x
        if y != y:
            return y
        return x if x > y else y
    else:
        return x if x > y else y


cdef inline scalar_t _b_minimum(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # NaN wins, as in PyTorch
    if scalar_t is float or scalar_t is double:
        if x != x:
            return x
        if y != y:
            return y
        return x if x < y else y
    else:
        return x if x < y else y


cdef inline scalar_t _b_atan2(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float:
        return atan2f(x, y)
    elif scalar_t is double:
        return atan2(x, y)
    else:
        return 0


cdef inline scalar_t _b_hypot(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float:
        return hypotf(x, y)
    elif scalar_t is double:
        return hypot(x, y)
    else:
        return 0


cdef inline scalar_t _b_bitwise_and(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return 0
    else:
        return x & y


cdef inline scalar_t _b_bitwise_or(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return 0
    else:
        return x | y


cdef inline scalar_t _b_bitwise_xor(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return 0
    else:
        return x ^ y


cdef inline scalar_t _b_bitwise_left_shift(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return _shift(True, x, y)


cdef inline scalar_t _b_bitwise_right_shift(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    return _shift(False, x, y)


cdef inline scalar_t _b_add_alpha(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # add(x, y, alpha=p0)
    return x + p0 * y


cdef inline scalar_t _b_sub_alpha(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # sub(x, y, alpha=p0)
    return x - p0 * y


cdef inline scalar_t _b_lerp(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # PyTorch's lerp with a scalar weight p0: exact at both ends
    if p0 < 0.5:
        return x + p0 * (y - x)
    return y - (y - x) * (1 - p0)


cdef inline scalar_t _b_gelu_backward(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # g * gelu'(x) for g in x and the input in y, one pass (NOTE [ Fast erf ])
    if scalar_t is float:
        return gelu_backward_f(x, y)
    elif scalar_t is double:
        return _gelu_backward_d(x, y)
    else:
        return 0


cdef inline scalar_t _b_gelu_tanh_backward(scalar_t x, scalar_t y, scalar_t p0, int* err) noexcept nogil:
    # g * gelu_tanh'(x), g in x, the input in y
    if scalar_t is float:
        return gelu_tanh_backward_f(x, y)
    elif scalar_t is double:
        return _gelu_tanh_backward_d(x, y)
    else:
        return 0


cdef inline scalar_t _binary(binop_t* op, scalar_t x, scalar_t y, scalar_t p0,
                             int* err) noexcept nogil:
    if binop_t is BAdd:
        return _b_add(x, y, p0, err)
    elif binop_t is BSub:
        return _b_sub(x, y, p0, err)
    elif binop_t is BMul:
        return _b_mul(x, y, p0, err)
    elif binop_t is BDiv:
        return _b_true_divide(x, y, p0, err)
    elif binop_t is BFloorDivide:
        return _b_floor_divide(x, y, p0, err)
    elif binop_t is BRemainder:
        return _b_remainder(x, y, p0, err)
    elif binop_t is BFmod:
        return _b_fmod(x, y, p0, err)
    elif binop_t is BPow:
        return _b_pow(x, y, p0, err)
    elif binop_t is BMaximum:
        return _b_maximum(x, y, p0, err)
    elif binop_t is BMinimum:
        return _b_minimum(x, y, p0, err)
    elif binop_t is BAtan2:
        return _b_atan2(x, y, p0, err)
    elif binop_t is BHypot:
        return _b_hypot(x, y, p0, err)
    elif binop_t is BBitwiseAnd:
        return _b_bitwise_and(x, y, p0, err)
    elif binop_t is BBitwiseOr:
        return _b_bitwise_or(x, y, p0, err)
    elif binop_t is BBitwiseXor:
        return _b_bitwise_xor(x, y, p0, err)
    elif binop_t is BLshift:
        return _b_bitwise_left_shift(x, y, p0, err)
    elif binop_t is BRshift:
        return _b_bitwise_right_shift(x, y, p0, err)
    elif binop_t is BAddAlpha:
        return _b_add_alpha(x, y, p0, err)
    elif binop_t is BSubAlpha:
        return _b_sub_alpha(x, y, p0, err)
    elif binop_t is BLerpScalar:
        return _b_lerp(x, y, p0, err)
    elif binop_t is BGeluBackward:
        return _b_gelu_backward(x, y, p0, err)
    elif binop_t is BGeluTanhBackward:
        return _b_gelu_tanh_backward(x, y, p0, err)
    return 0


cdef inline bint _branch_free(binop_t* op) noexcept nogil:
    """A formula without branches: a plain strided loop beats gathering."""
    return (binop_t is BAdd or binop_t is BSub or binop_t is BMul or binop_t is BBitwiseAnd
            or binop_t is BBitwiseOr or binop_t is BBitwiseXor or binop_t is BAddAlpha or
            binop_t is BSubAlpha or binop_t is BGeluBackward or binop_t is
            BGeluTanhBackward)


cdef inline uint8_t _compare(cmpop_t* op, scalar_t x, scalar_t y) noexcept nogil:
    if cmpop_t is CEq:
        return x == y
    elif cmpop_t is CNe:
        return x != y
    elif cmpop_t is CLt:
        return x < y
    elif cmpop_t is CLe:
        return x <= y
    elif cmpop_t is CGt:
        return x > y
    elif cmpop_t is CGe:
        return x >= y
    elif cmpop_t is CLogicalAnd:
        return (x != 0) & (y != 0)
    elif cmpop_t is CLogicalOr:
        return (x != 0) | (y != 0)
    elif cmpop_t is CLogicalXor:
        return (x != 0) ^ (y != 0)
    return 0
# END GENERATED: binary kernels


cdef inline double _sigmoid_d(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef inline float _sigmoid_f(float x) noexcept nogil:
    return <float>1.0 / (<float>1.0 + _expf(-x))


cdef inline double _gelu_tanh_d(double x) noexcept nogil:
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


cdef inline double _gelu_backward_d(double g, double x) noexcept nogil:
    """g * (Phi(x) + x * phi(x)), the float64 twin of fastmath's gelu_backward_f."""
    return g * (0.5 * erfc(-x * 0.70710678118654752)
                + x * exp(-0.5 * x * x) * 0.39894228040143268)


cdef inline double _gelu_tanh_backward_d(double g, double x) noexcept nogil:
    cdef double t = tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))
    return g * (0.5 * (1.0 + t)
                + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x))


cdef inline double _softplus_d(double x, double beta, double threshold) noexcept nogil:
    if x * beta > threshold:
        return x
    return log1p(exp(x * beta)) / beta


# BEGIN GENERATED: unary kernels (tools/gen_ops.py from strided/op_table.py)
cdef inline scalar_t _u_neg(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    return -x


cdef inline scalar_t _u_abs(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return fabsf(x)
    elif scalar_t is double:
        return fabs(x)
    elif scalar_t is uint8_t:
        return x
    else:
        return -x if x < 0 else x


cdef inline scalar_t _u_sign(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    return (0 < x) - (x < 0)


cdef inline scalar_t _u_square(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    return x * x


cdef inline scalar_t _u_relu(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # NaN stays NaN, as in PyTorch
    return 0 if x < 0 else x


cdef inline scalar_t _u_floor(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return floorf(x)
    elif scalar_t is double:
        return floor(x)
    else:
        return x


cdef inline scalar_t _u_ceil(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return ceilf(x)
    elif scalar_t is double:
        return ceil(x)
    else:
        return x


cdef inline scalar_t _u_round(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # half to even, like torch.round and np.round (Tensor.round takes decimals)
    if scalar_t is float:
        return rintf(x)
    elif scalar_t is double:
        return rint(x)
    else:
        return x


cdef inline scalar_t _u_trunc(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return truncf(x)
    elif scalar_t is double:
        return trunc(x)
    else:
        return x


cdef inline scalar_t _u_frac(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return x - truncf(x)
    elif scalar_t is double:
        return x - trunc(x)
    else:
        return 0


cdef inline scalar_t _u_bitwise_not(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return 0
    else:
        return ~x


cdef inline scalar_t _u_clamp(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # bounds in p0/p1, flags say which apply; a NaN bound gives NaN, as in PyTorch (p != p
    # is false for integers); `|`, not `or`: a short-circuit branch per element kept the
    # loop scalar (float32 clamp of 2M elements 20 -> 0.63 ms, benchmarks/bench_trees.py)
    if flags & ARGS_HAS_LO:
        x = p0 if (x < p0) | (p0 != p0) else x
    if flags & ARGS_HAS_HI:
        x = p1 if (x > p1) | (p1 != p1) else x
    return x


cdef inline scalar_t _u_leaky_relu(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # the slope in p0
    return x if x > 0 else x * p0


cdef inline scalar_t _u_fill(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # out = p0; the input is ignored
    return p0


cdef inline scalar_t _u_exp(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return _expf(x)
    elif scalar_t is double:
        return exp(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_exp2(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return exp2f(x)
    elif scalar_t is double:
        return exp2(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_expm1(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return expm1f(x)
    elif scalar_t is double:
        return expm1(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_log(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return _logf(x)
    elif scalar_t is double:
        return log(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_log2(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return log2f(x)
    elif scalar_t is double:
        return log2(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_log10(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return log10f(x)
    elif scalar_t is double:
        return log10(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_log1p(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return log1pf(x)
    elif scalar_t is double:
        return log1p(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_sqrt(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return sqrtf(x)
    elif scalar_t is double:
        return sqrt(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_rsqrt(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return <float>1.0 / sqrtf(x)
    elif scalar_t is double:
        return 1.0 / sqrt(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_sin(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return sinf(x)
    elif scalar_t is double:
        return sin(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_cos(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return cosf(x)
    elif scalar_t is double:
        return cos(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_tan(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return tanf(x)
    elif scalar_t is double:
        return tan(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_asin(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return asinf(x)
    elif scalar_t is double:
        return asin(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_acos(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return acosf(x)
    elif scalar_t is double:
        return acos(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_atan(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return atanf(x)
    elif scalar_t is double:
        return atan(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_sinh(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return sinhf(x)
    elif scalar_t is double:
        return sinh(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_cosh(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return coshf(x)
    elif scalar_t is double:
        return cosh(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_tanh(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return _tanhf(x)
    elif scalar_t is double:
        return tanh(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_sigmoid(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return _sigmoid_f(x)
    elif scalar_t is double:
        return _sigmoid_d(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_reciprocal(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return <float>1.0 / x
    elif scalar_t is double:
        return 1.0 / x
    return 0             # never called for these dtypes


cdef inline scalar_t _u_erf(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return erff_fast(x)
    elif scalar_t is double:
        return erf(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_erfc(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return erfcf(x)
    elif scalar_t is double:
        return erfc(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_gelu(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return gelu_f(x)
    elif scalar_t is double:
        return 0.5 * x * (1.0 + erf(x * 0.70710678118654752))
    return 0             # never called for these dtypes


cdef inline scalar_t _u_gelu_tanh(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return gelu_tanh_f(x)
    elif scalar_t is double:
        return _gelu_tanh_d(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_silu(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return x * _sigmoid_f(x)
    elif scalar_t is double:
        return x * _sigmoid_d(x)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_softplus(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # beta in p0, threshold in p1
    if scalar_t is float:
        return <float>_softplus_d(x, p0, p1)
    elif scalar_t is double:
        return _softplus_d(x, p0, p1)
    return 0             # never called for these dtypes


cdef inline scalar_t _u_rad2deg(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return x * <float>57.295779513082320876798
    elif scalar_t is double:
        return x * 57.295779513082320876798
    return 0             # never called for these dtypes


cdef inline scalar_t _u_deg2rad(scalar_t x, scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    if scalar_t is float:
        return x * <float>0.017453292519943295769237
    elif scalar_t is double:
        return x * 0.017453292519943295769237
    return 0             # never called for these dtypes


cdef inline scalar_t _unary(unop_t* op, scalar_t x, scalar_t p0, scalar_t p1,
                            int flags) noexcept nogil:
    if unop_t is UNeg:
        return _u_neg(x, p0, p1, flags)
    elif unop_t is UAbs:
        return _u_abs(x, p0, p1, flags)
    elif unop_t is USign:
        return _u_sign(x, p0, p1, flags)
    elif unop_t is USquare:
        return _u_square(x, p0, p1, flags)
    elif unop_t is URelu:
        return _u_relu(x, p0, p1, flags)
    elif unop_t is UFloor:
        return _u_floor(x, p0, p1, flags)
    elif unop_t is UCeil:
        return _u_ceil(x, p0, p1, flags)
    elif unop_t is URound:
        return _u_round(x, p0, p1, flags)
    elif unop_t is UTrunc:
        return _u_trunc(x, p0, p1, flags)
    elif unop_t is UFrac:
        return _u_frac(x, p0, p1, flags)
    elif unop_t is UBitwiseNot:
        return _u_bitwise_not(x, p0, p1, flags)
    elif unop_t is UClamp:
        return _u_clamp(x, p0, p1, flags)
    elif unop_t is ULeakyRelu:
        return _u_leaky_relu(x, p0, p1, flags)
    elif unop_t is UFill:
        return _u_fill(x, p0, p1, flags)
    elif unop_t is UExp:
        return _u_exp(x, p0, p1, flags)
    elif unop_t is UExp2:
        return _u_exp2(x, p0, p1, flags)
    elif unop_t is UExpm1:
        return _u_expm1(x, p0, p1, flags)
    elif unop_t is ULog:
        return _u_log(x, p0, p1, flags)
    elif unop_t is ULog2:
        return _u_log2(x, p0, p1, flags)
    elif unop_t is ULog10:
        return _u_log10(x, p0, p1, flags)
    elif unop_t is ULog1p:
        return _u_log1p(x, p0, p1, flags)
    elif unop_t is USqrt:
        return _u_sqrt(x, p0, p1, flags)
    elif unop_t is URsqrt:
        return _u_rsqrt(x, p0, p1, flags)
    elif unop_t is USin:
        return _u_sin(x, p0, p1, flags)
    elif unop_t is UCos:
        return _u_cos(x, p0, p1, flags)
    elif unop_t is UTan:
        return _u_tan(x, p0, p1, flags)
    elif unop_t is UAsin:
        return _u_asin(x, p0, p1, flags)
    elif unop_t is UAcos:
        return _u_acos(x, p0, p1, flags)
    elif unop_t is UAtan:
        return _u_atan(x, p0, p1, flags)
    elif unop_t is USinh:
        return _u_sinh(x, p0, p1, flags)
    elif unop_t is UCosh:
        return _u_cosh(x, p0, p1, flags)
    elif unop_t is UTanh:
        return _u_tanh(x, p0, p1, flags)
    elif unop_t is USigmoid:
        return _u_sigmoid(x, p0, p1, flags)
    elif unop_t is UReciprocal:
        return _u_reciprocal(x, p0, p1, flags)
    elif unop_t is UErf:
        return _u_erf(x, p0, p1, flags)
    elif unop_t is UErfc:
        return _u_erfc(x, p0, p1, flags)
    elif unop_t is UGelu:
        return _u_gelu(x, p0, p1, flags)
    elif unop_t is UGeluTanh:
        return _u_gelu_tanh(x, p0, p1, flags)
    elif unop_t is USilu:
        return _u_silu(x, p0, p1, flags)
    elif unop_t is USoftplus:
        return _u_softplus(x, p0, p1, flags)
    elif unop_t is URad2deg:
        return _u_rad2deg(x, p0, p1, flags)
    elif unop_t is UDeg2rad:
        return _u_deg2rad(x, p0, p1, flags)
    return 0


cdef inline uint8_t _predicate(predop_t* op, scalar_t x) noexcept nogil:
    if predop_t is PIsnan:
        if scalar_t is float or scalar_t is double:
            return x != x
        else:
            return 0
    elif predop_t is PIsinf:
        if scalar_t is float or scalar_t is double:
            return isinf(x) != 0
        else:
            return 0
    elif predop_t is PIsfinite:
        if scalar_t is float or scalar_t is double:
            return isfinite(x) != 0
        else:
            return 1
    elif predop_t is PIsposinf:
        if scalar_t is float or scalar_t is double:
            return x == INFINITY
        else:
            return 0
    elif predop_t is PIsneginf:
        if scalar_t is float or scalar_t is double:
            return x == -INFINITY
        else:
            return 0
    elif predop_t is PSignbit:
        if scalar_t is float or scalar_t is double:
            return signbit(x) != 0
        elif scalar_t is uint8_t:
            return 0
        else:
            return x < 0
    elif predop_t is PLogicalNot:
        return x == 0
    return 0
# END GENERATED: unary kernels


# ---- row loops ----------------------------------------------------------------------------
# p: operand pointers (output first), s: their byte strides along the row, n: row length.

cdef inline void _binary_row(binop_t* op, scalar_t* ty, char** p, const int64_t* s,
                             int64_t n, OpArgs* a) noexcept nogil:
    cdef scalar_t* o = <scalar_t*>p[0]
    cdef scalar_t* x = <scalar_t*>p[1]
    cdef scalar_t* y = <scalar_t*>p[2]
    cdef int64_t i, k = sizeof(scalar_t)
    cdef scalar_t c, p0
    cdef int err = 0
    if scalar_t is float or scalar_t is double:
        p0 = <scalar_t>a.f[0]
    else:
        p0 = <scalar_t>a.i[0]
    if s[0] == k and s[1] == k and s[2] == k:
        for i in range(n):
            o[i] = _binary(op, x[i], y[i], p0, &err)
    elif s[0] == k and s[1] == k and s[2] == 0:
        c = y[0]
        for i in range(n):
            o[i] = _binary(op, x[i], c, p0, &err)
    elif s[0] == k and s[1] == 0 and s[2] == k:
        c = x[0]
        for i in range(n):
            o[i] = _binary(op, c, y[i], p0, &err)
    elif _branch_free(op):
        # branch-free formulas: a plain strided loop beats gathering into buffers
        for i in range(n):
            (<scalar_t*>(p[0] + i * s[0]))[0] = _binary(
                op, (<scalar_t*>(p[1] + i * s[1]))[0], (<scalar_t*>(p[2] + i * s[2]))[0],
                p0, &err)
    else:
        _binary_buffered(op, p, s, n, p0, &err)
    if err:
        a.error = err


cdef void _binary_buffered(binop_t* op, char** p, const int64_t* s, int64_t n, scalar_t p0,
                           int* err) noexcept nogil:
    """The strided case: gather a block of each input into L1-resident buffers, run the
    (vectorizable, branch-free) contiguous formula on them, scatter the results."""
    cdef scalar_t xb[BLOCK]
    cdef scalar_t yb[BLOCK]
    cdef scalar_t ob[BLOCK]
    cdef int64_t start, i, m
    cdef int64_t k = sizeof(scalar_t)
    cdef scalar_t* o
    start = 0
    while start < n:
        m = min(<int64_t>BLOCK, n - start)
        _gather(xb, p[1] + start * s[1], s[1], m)
        _gather(yb, p[2] + start * s[2], s[2], m)
        if s[0] == k:
            o = <scalar_t*>(p[0] + start * k)
            for i in range(m):
                o[i] = _binary(op, xb[i], yb[i], p0, err)
        else:
            for i in range(m):
                ob[i] = _binary(op, xb[i], yb[i], p0, err)
            _scatter(p[0] + start * s[0], s[0], ob, m)
        start += m


cdef inline void _gather(scalar_t* buf, const char* src, int64_t stride, int64_t m) noexcept nogil:
    cdef int64_t i
    cdef scalar_t v
    if stride == 0:
        v = (<const scalar_t*>src)[0]
        for i in range(m):
            buf[i] = v
    else:
        for i in range(m):
            buf[i] = (<const scalar_t*>(src + i * stride))[0]


cdef inline void _scatter(char* dst, int64_t stride, const scalar_t* buf, int64_t m) noexcept nogil:
    cdef int64_t i
    for i in range(m):
        (<scalar_t*>(dst + i * stride))[0] = buf[i]


cdef inline void _compare_row(cmpop_t* op, scalar_t* ty, char** p, const int64_t* s,
                              int64_t n) noexcept nogil:
    cdef uint8_t* o = <uint8_t*>p[0]
    cdef scalar_t* x = <scalar_t*>p[1]
    cdef scalar_t* y = <scalar_t*>p[2]
    cdef int64_t i, k = sizeof(scalar_t)
    cdef scalar_t c
    if s[0] == 1 and s[1] == k and s[2] == k:
        for i in range(n):
            o[i] = _compare(op, x[i], y[i])
    elif s[0] == 1 and s[1] == k and s[2] == 0:
        c = y[0]
        for i in range(n):
            o[i] = _compare(op, x[i], c)
    elif s[0] == 1 and s[1] == 0 and s[2] == k:
        c = x[0]
        for i in range(n):
            o[i] = _compare(op, c, y[i])
    else:
        for i in range(n):
            (<uint8_t*>(p[0] + i * s[0]))[0] = _compare(
                op, (<scalar_t*>(p[1] + i * s[1]))[0], (<scalar_t*>(p[2] + i * s[2]))[0])


cdef inline void _unary_row(unop_t* op, scalar_t* ty, char** p, const int64_t* s,
                            int64_t n, OpArgs* a) noexcept nogil:
    cdef scalar_t* o = <scalar_t*>p[0]
    cdef scalar_t* x = <scalar_t*>p[1]
    cdef int64_t i, k = sizeof(scalar_t)
    cdef scalar_t p0, p1
    cdef int flags = a.flags
    if scalar_t is float or scalar_t is double:
        p0 = <scalar_t>a.f[0]
        p1 = <scalar_t>a.f[1]
    else:
        p0 = <scalar_t>a.i[0]
        p1 = <scalar_t>a.i[1]
    cdef scalar_t xb[BLOCK]
    cdef scalar_t ob[BLOCK]
    cdef int64_t start, m
    if s[0] == k and s[1] == k:
        _unary_contiguous(op, o, x, n, p0, p1, flags)
        return
    # strided: run the contiguous formula on L1-resident blocks (see _binary_buffered)
    start = 0
    while start < n:
        m = min(<int64_t>BLOCK, n - start)
        _gather(xb, p[1] + start * s[1], s[1], m)
        if s[0] == k:
            _unary_contiguous(op, <scalar_t*>(p[0] + start * k), xb, m, p0, p1, flags)
        else:
            _unary_contiguous(op, ob, xb, m, p0, p1, flags)
            _scatter(p[0] + start * s[0], s[0], ob, m)
        start += m


cdef inline void _unary_contiguous(unop_t* op, scalar_t* o, scalar_t* x, int64_t n,
                                   scalar_t p0, scalar_t p1, int flags) noexcept nogil:
    # float32 tanh has a row form (NOTE [ Fast tanh ] in fastmath.pxd: table lookups by
    # register permutes in the AVX-512 build), and so have float32 exp and log in the
    # AVX-512 build (NOTE [ AVX-512 exp row ]); every other op is the loop over _unary
    cdef int64_t i
    if unop_t is UTanh and scalar_t is float:
        strided_tanhf_row(o, x, n)
    elif unop_t is UExp and scalar_t is float:
        if STRIDED_EXPF_ROW:
            strided_expf_row(o, x, n)
        else:
            for i in range(n):
                o[i] = _expf(x[i])
    elif unop_t is ULog and scalar_t is float:
        if STRIDED_LOGF_ROW:
            strided_logf_row(o, x, n)
        else:
            for i in range(n):
                o[i] = _logf(x[i])
    else:
        for i in range(n):
            o[i] = _unary(op, x[i], p0, p1, flags)


cdef inline void _predicate_row(predop_t* op, scalar_t* ty, char** p, const int64_t* s,
                                int64_t n) noexcept nogil:
    cdef uint8_t* o = <uint8_t*>p[0]
    cdef scalar_t* x = <scalar_t*>p[1]
    cdef int64_t i, k = sizeof(scalar_t)
    if s[0] == 1 and s[1] == k:
        for i in range(n):
            o[i] = _predicate(op, x[i])
    else:
        for i in range(n):
            (<uint8_t*>(p[0] + i * s[0]))[0] = _predicate(op, (<scalar_t*>(p[1] + i * s[1]))[0])


cdef inline void _where_row(scalar_t* ty, char** p, const int64_t* s, int64_t n) noexcept nogil:
    # Both values are loaded before the select so the compiler emits a blend, not a branch:
    # a condition like `x > 0` on random data mispredicts half the time otherwise.  A
    # scalar (stride-0) x or y is hoisted out of the loop.
    cdef scalar_t* o = <scalar_t*>p[0]
    cdef uint8_t* c = <uint8_t*>p[1]
    cdef scalar_t* x = <scalar_t*>p[2]
    cdef scalar_t* y = <scalar_t*>p[3]
    cdef int64_t i, k = sizeof(scalar_t)
    cdef scalar_t xv, yv
    cdef scalar_t pick[2]
    if s[0] == k and s[1] == 1 and s[2] == k and s[3] == k:
        for i in range(n):
            xv = x[i]
            yv = y[i]
            o[i] = xv if c[i] else yv
    elif s[0] == k and s[1] == 1 and s[2] == k and s[3] == 0:
        yv = y[0]
        for i in range(n):
            xv = x[i]
            o[i] = xv if c[i] else yv
    elif s[0] == k and s[1] == 1 and s[2] == 0 and s[3] == k:
        xv = x[0]
        for i in range(n):
            yv = y[i]
            o[i] = xv if c[i] else yv
    elif s[0] == k and s[1] == 1 and s[2] == 0 and s[3] == 0:
        xv = x[0]
        yv = y[0]
        for i in range(n):
            o[i] = xv if c[i] else yv
    else:                       # select through a two-slot table: no data-dependent branch
        for i in range(n):
            pick[0] = (<scalar_t*>(p[3] + i * s[3]))[0]
            pick[1] = (<scalar_t*>(p[2] + i * s[2]))[0]
            (<scalar_t*>(p[0] + i * s[0]))[0] = pick[(<uint8_t*>(p[1] + i * s[1]))[0] != 0]


# ---- dispatch: one switch per row ---------------------------------------------------------

# BEGIN GENERATED: binary dispatch (tools/gen_ops.py from strided/op_table.py)
cdef inline void _binary_dispatch(scalar_t* ty, char** p, const int64_t* s, int64_t n,
                                  OpArgs* a) noexcept nogil:
    cdef int op = a.op
    if op == B_ADD:
        _binary_row(<BAdd*>NULL, ty, p, s, n, a)
    elif op == B_SUB:
        _binary_row(<BSub*>NULL, ty, p, s, n, a)
    elif op == B_MUL:
        _binary_row(<BMul*>NULL, ty, p, s, n, a)
    elif op == B_DIV:
        _binary_row(<BDiv*>NULL, ty, p, s, n, a)
    elif op == B_FLOOR_DIVIDE:
        _binary_row(<BFloorDivide*>NULL, ty, p, s, n, a)
    elif op == B_REMAINDER:
        _binary_row(<BRemainder*>NULL, ty, p, s, n, a)
    elif op == B_FMOD:
        _binary_row(<BFmod*>NULL, ty, p, s, n, a)
    elif op == B_POW:
        _binary_row(<BPow*>NULL, ty, p, s, n, a)
    elif op == B_MAXIMUM:
        _binary_row(<BMaximum*>NULL, ty, p, s, n, a)
    elif op == B_MINIMUM:
        _binary_row(<BMinimum*>NULL, ty, p, s, n, a)
    elif op == B_ATAN2:
        _binary_row(<BAtan2*>NULL, ty, p, s, n, a)
    elif op == B_HYPOT:
        _binary_row(<BHypot*>NULL, ty, p, s, n, a)
    elif op == B_BITWISE_AND:
        _binary_row(<BBitwiseAnd*>NULL, ty, p, s, n, a)
    elif op == B_BITWISE_OR:
        _binary_row(<BBitwiseOr*>NULL, ty, p, s, n, a)
    elif op == B_BITWISE_XOR:
        _binary_row(<BBitwiseXor*>NULL, ty, p, s, n, a)
    elif op == B_LSHIFT:
        _binary_row(<BLshift*>NULL, ty, p, s, n, a)
    elif op == B_RSHIFT:
        _binary_row(<BRshift*>NULL, ty, p, s, n, a)
    elif op == B_ADD_ALPHA:
        _binary_row(<BAddAlpha*>NULL, ty, p, s, n, a)
    elif op == B_SUB_ALPHA:
        _binary_row(<BSubAlpha*>NULL, ty, p, s, n, a)
    elif op == B_LERP_SCALAR:
        _binary_row(<BLerpScalar*>NULL, ty, p, s, n, a)
    elif op == B_GELU_BACKWARD:
        _binary_row(<BGeluBackward*>NULL, ty, p, s, n, a)
    elif op == B_GELU_TANH_BACKWARD:
        _binary_row(<BGeluTanhBackward*>NULL, ty, p, s, n, a)
    elif op == B_EQ:
        _compare_row(<CEq*>NULL, ty, p, s, n)
    elif op == B_NE:
        _compare_row(<CNe*>NULL, ty, p, s, n)
    elif op == B_LT:
        _compare_row(<CLt*>NULL, ty, p, s, n)
    elif op == B_LE:
        _compare_row(<CLe*>NULL, ty, p, s, n)
    elif op == B_GT:
        _compare_row(<CGt*>NULL, ty, p, s, n)
    elif op == B_GE:
        _compare_row(<CGe*>NULL, ty, p, s, n)
    elif op == B_LOGICAL_AND:
        _compare_row(<CLogicalAnd*>NULL, ty, p, s, n)
    elif op == B_LOGICAL_OR:
        _compare_row(<CLogicalOr*>NULL, ty, p, s, n)
    elif op == B_LOGICAL_XOR:
        _compare_row(<CLogicalXor*>NULL, ty, p, s, n)
# END GENERATED: binary dispatch


# BEGIN GENERATED: unary dispatch (tools/gen_ops.py from strided/op_table.py)
cdef inline void _unary_dispatch(scalar_t* ty, char** p, const int64_t* s, int64_t n,
                                 OpArgs* a) noexcept nogil:
    cdef int op = a.op
    if op == U_NEG:
        _unary_row(<UNeg*>NULL, ty, p, s, n, a)
    elif op == U_ABS:
        _unary_row(<UAbs*>NULL, ty, p, s, n, a)
    elif op == U_SIGN:
        _unary_row(<USign*>NULL, ty, p, s, n, a)
    elif op == U_SQUARE:
        _unary_row(<USquare*>NULL, ty, p, s, n, a)
    elif op == U_RELU:
        _unary_row(<URelu*>NULL, ty, p, s, n, a)
    elif op == U_FLOOR:
        _unary_row(<UFloor*>NULL, ty, p, s, n, a)
    elif op == U_CEIL:
        _unary_row(<UCeil*>NULL, ty, p, s, n, a)
    elif op == U_ROUND:
        _unary_row(<URound*>NULL, ty, p, s, n, a)
    elif op == U_TRUNC:
        _unary_row(<UTrunc*>NULL, ty, p, s, n, a)
    elif op == U_FRAC:
        _unary_row(<UFrac*>NULL, ty, p, s, n, a)
    elif op == U_BITWISE_NOT:
        _unary_row(<UBitwiseNot*>NULL, ty, p, s, n, a)
    elif op == U_CLAMP:
        _unary_row(<UClamp*>NULL, ty, p, s, n, a)
    elif op == U_LEAKY_RELU:
        _unary_row(<ULeakyRelu*>NULL, ty, p, s, n, a)
    elif op == U_FILL:
        _unary_row(<UFill*>NULL, ty, p, s, n, a)
    elif op < U_BOOL_FIRST:
        # floating-point-only ops: built for float and double only
        if scalar_t is float or scalar_t is double:
            if op == U_EXP:
                _unary_row(<UExp*>NULL, ty, p, s, n, a)
            elif op == U_EXP2:
                _unary_row(<UExp2*>NULL, ty, p, s, n, a)
            elif op == U_EXPM1:
                _unary_row(<UExpm1*>NULL, ty, p, s, n, a)
            elif op == U_LOG:
                _unary_row(<ULog*>NULL, ty, p, s, n, a)
            elif op == U_LOG2:
                _unary_row(<ULog2*>NULL, ty, p, s, n, a)
            elif op == U_LOG10:
                _unary_row(<ULog10*>NULL, ty, p, s, n, a)
            elif op == U_LOG1P:
                _unary_row(<ULog1p*>NULL, ty, p, s, n, a)
            elif op == U_SQRT:
                _unary_row(<USqrt*>NULL, ty, p, s, n, a)
            elif op == U_RSQRT:
                _unary_row(<URsqrt*>NULL, ty, p, s, n, a)
            elif op == U_SIN:
                _unary_row(<USin*>NULL, ty, p, s, n, a)
            elif op == U_COS:
                _unary_row(<UCos*>NULL, ty, p, s, n, a)
            elif op == U_TAN:
                _unary_row(<UTan*>NULL, ty, p, s, n, a)
            elif op == U_ASIN:
                _unary_row(<UAsin*>NULL, ty, p, s, n, a)
            elif op == U_ACOS:
                _unary_row(<UAcos*>NULL, ty, p, s, n, a)
            elif op == U_ATAN:
                _unary_row(<UAtan*>NULL, ty, p, s, n, a)
            elif op == U_SINH:
                _unary_row(<USinh*>NULL, ty, p, s, n, a)
            elif op == U_COSH:
                _unary_row(<UCosh*>NULL, ty, p, s, n, a)
            elif op == U_TANH:
                _unary_row(<UTanh*>NULL, ty, p, s, n, a)
            elif op == U_SIGMOID:
                _unary_row(<USigmoid*>NULL, ty, p, s, n, a)
            elif op == U_RECIPROCAL:
                _unary_row(<UReciprocal*>NULL, ty, p, s, n, a)
            elif op == U_ERF:
                _unary_row(<UErf*>NULL, ty, p, s, n, a)
            elif op == U_ERFC:
                _unary_row(<UErfc*>NULL, ty, p, s, n, a)
            elif op == U_GELU:
                _unary_row(<UGelu*>NULL, ty, p, s, n, a)
            elif op == U_GELU_TANH:
                _unary_row(<UGeluTanh*>NULL, ty, p, s, n, a)
            elif op == U_SILU:
                _unary_row(<USilu*>NULL, ty, p, s, n, a)
            elif op == U_SOFTPLUS:
                _unary_row(<USoftplus*>NULL, ty, p, s, n, a)
            elif op == U_RAD2DEG:
                _unary_row(<URad2deg*>NULL, ty, p, s, n, a)
            elif op == U_DEG2RAD:
                _unary_row(<UDeg2rad*>NULL, ty, p, s, n, a)
    elif op == U_ISNAN:
        _predicate_row(<PIsnan*>NULL, ty, p, s, n)
    elif op == U_ISINF:
        _predicate_row(<PIsinf*>NULL, ty, p, s, n)
    elif op == U_ISFINITE:
        _predicate_row(<PIsfinite*>NULL, ty, p, s, n)
    elif op == U_ISPOSINF:
        _predicate_row(<PIsposinf*>NULL, ty, p, s, n)
    elif op == U_ISNEGINF:
        _predicate_row(<PIsneginf*>NULL, ty, p, s, n)
    elif op == U_SIGNBIT:
        _predicate_row(<PSignbit*>NULL, ty, p, s, n)
    elif op == U_LOGICAL_NOT:
        _predicate_row(<PLogicalNot*>NULL, ty, p, s, n)
# END GENERATED: unary dispatch


cdef void _binary_rows(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef OpArgs* a = <OpArgs*>ctx
    cdef int dt = a.dtype
    if dt == FLOAT32:
        _binary_dispatch(<float*>NULL, p, s, n, a)
    elif dt == FLOAT64:
        _binary_dispatch(<double*>NULL, p, s, n, a)
    elif dt == INT64:
        _binary_dispatch(<int64_t*>NULL, p, s, n, a)
    elif dt == INT32:
        _binary_dispatch(<int32_t*>NULL, p, s, n, a)
    else:
        _binary_dispatch(<uint8_t*>NULL, p, s, n, a)


cdef void _unary_rows(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef OpArgs* a = <OpArgs*>ctx
    cdef int dt = a.dtype
    if dt == FLOAT32:
        _unary_dispatch(<float*>NULL, p, s, n, a)
    elif dt == FLOAT64:
        _unary_dispatch(<double*>NULL, p, s, n, a)
    elif dt == INT64:
        _unary_dispatch(<int64_t*>NULL, p, s, n, a)
    elif dt == INT32:
        _unary_dispatch(<int32_t*>NULL, p, s, n, a)
    else:
        _unary_dispatch(<uint8_t*>NULL, p, s, n, a)


cdef void _where_rows(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef OpArgs* a = <OpArgs*>ctx
    cdef int dt = a.dtype
    if dt == FLOAT32:
        _where_row(<float*>NULL, p, s, n)
    elif dt == FLOAT64:
        _where_row(<double*>NULL, p, s, n)
    elif dt == INT64:
        _where_row(<int64_t*>NULL, p, s, n)
    elif dt == INT32:
        _where_row(<int32_t*>NULL, p, s, n)
    else:
        _where_row(<uint8_t*>NULL, p, s, n)
