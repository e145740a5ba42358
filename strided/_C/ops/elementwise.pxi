# Element-wise ops on tensors: argument checks, type promotion, broadcasting and output
# allocation, then one call into the kernels of elementwise.pyx (included into tensor.pyx).
#
# NOTE [ Type promotion ]
# PyTorch's rules (c10 ResultTypeState): operands fall in three priority groups -- tensors
# with dims, 0-d tensors, Python numbers ("wrapped numbers": bool -> bool, int -> int64,
# float -> the default float32).  Within a group dtypes promote along
# bool < uint8 < int32 < int64 < float32 < float64 (the ScalarType order); a lower group
# only matters when it is of a higher category (bool < integer < floating).  So
# int32_tensor + 5 stays int32, int32_tensor + 2.5 is float32, float32_tensor +
# float64_0d_tensor stays float32, and bool_tensor + 1 is int64.

from cpython.float cimport PyFloat_Check, PyFloat_AS_DOUBLE
from cpython.bool cimport PyBool_Check
from cpython.long cimport PyLong_AsLongLong
from libc.math cimport isfinite as _c_isfinite

from strided._C.core.iterator cimport (StridedLoop, loop_init, loop_set_operand, loop_prepare,
                                  loop_run_range, loop_numel)
from strided._C.kernels.elementwise cimport (
    OpArgs, run_binary, run_unary, run_where, ARGS_HAS_LO, ARGS_HAS_HI, ERR_ZERO_DIVISION)
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

cdef enum:
    UNDEFINED = -1

cdef const char* _DTYPE_TITLE[6]
_DTYPE_TITLE[:] = [b"Bool", b"Byte", b"Int", b"Long", b"Float", b"Double"]

# BEGIN GENERATED: binary dtype rules (tools/gen_ops.py from strided/op_table.py)
cdef frozenset _FLOAT_RESULT = frozenset({   # integer operands compute in float32
    B_DIV, B_ATAN2})
cdef dict _NO_KERNEL = {   # op: (PyTorch's kernel name, refused classes: 1 float, 2 int, 4 bool)
    B_HYPOT: ("hypot_cpu", 6), B_BITWISE_AND: ("bitwise_and_cpu", 1),
    B_BITWISE_OR: ("bitwise_or_cpu", 1), B_BITWISE_XOR: ("bitwise_xor_cpu", 1),
    B_LSHIFT: ("lshift_cpu", 5), B_RSHIFT: ("rshift_cpu", 5),
    B_GELU_BACKWARD: ("GeluBackwardKernelImpl", 6),
    B_GELU_TANH_BACKWARD: ("GeluBackwardKernelImpl", 6)}
# END GENERATED: binary dtype rules

# BEGIN GENERATED: binary messages (tools/gen_ops.py from strided/op_table.py)
cdef object _BINARY_NAMES = {
    B_ADD: "add", B_SUB: "sub", B_MUL: "mul", B_DIV: "div", B_FLOOR_DIVIDE: "floor_divide",
    B_REMAINDER: "remainder", B_FMOD: "fmod", B_POW: "pow", B_MAXIMUM: "maximum",
    B_MINIMUM: "minimum", B_ATAN2: "atan2", B_HYPOT: "hypot", B_BITWISE_AND: "bitwise_and",
    B_BITWISE_OR: "bitwise_or", B_BITWISE_XOR: "bitwise_xor",
    B_LSHIFT: "bitwise_left_shift", B_RSHIFT: "bitwise_right_shift", B_ADD_ALPHA: "add",
    B_SUB_ALPHA: "sub", B_LERP_SCALAR: "lerp", B_GELU_BACKWARD: "gelu_backward",
    B_GELU_TANH_BACKWARD: "gelu_tanh_backward", B_EQ: "eq", B_NE: "ne", B_LT: "lt",
    B_LE: "le", B_GT: "gt", B_GE: "ge", B_LOGICAL_AND: "logical_and",
    B_LOGICAL_OR: "logical_or", B_LOGICAL_XOR: "logical_xor"}
# END GENERATED: binary messages


cdef inline bint _is_float_type(int t) noexcept:
    return t == FLOAT32 or t == FLOAT64


cdef inline int _promote(int a, int b) noexcept:
    if a == UNDEFINED:
        return b
    if b == UNDEFINED:
        return a
    return a if a > b else b


cdef inline int _combine_categories(int higher, int lower) noexcept:
    if _is_float_type(higher):
        return higher
    if higher == BOOL or _is_float_type(lower):
        return _promote(higher, lower)
    if higher != UNDEFINED:
        return higher
    return lower


cdef inline bint _is_number(object x) noexcept:
    return PyFloat_Check(x) or PyLong_Check(x)      # bool is an int


cdef inline int _number_type(object x) noexcept:
    if PyBool_Check(x):
        return BOOL
    if PyLong_Check(x):
        return INT64
    return FLOAT32                                  # the default dtype


cdef struct TypeState:
    int dim_result
    int zero_result
    int wrapped_result


cdef inline void _type_state_update(TypeState* s, object x) noexcept:
    cdef Tensor t
    if isinstance(x, Tensor):
        t = <Tensor>x
        if t._ndim > 0:
            s.dim_result = _promote(s.dim_result, t._dtype.num)
        else:
            s.zero_result = _promote(s.zero_result, t._dtype.num)
    elif x is not None:
        s.wrapped_result = _promote(s.wrapped_result, _number_type(x))


cdef inline int _type_state_result(TypeState* s) noexcept:
    return _combine_categories(s.dim_result,
                               _combine_categories(s.zero_result, s.wrapped_result))


cdef int _result_type3(object a, object b, object c) noexcept:
    cdef TypeState s
    s.dim_result = s.zero_result = s.wrapped_result = UNDEFINED
    _type_state_update(&s, a)
    _type_state_update(&s, b)
    _type_state_update(&s, c)
    return _type_state_result(&s)


cdef inline bint _can_cast(int src, int dst) noexcept:
    """PyTorch's canCast: no float -> integer, no non-bool -> bool."""
    if _is_float_type(src) and not _is_float_type(dst):
        return False
    if src != BOOL and dst == BOOL:
        return False
    return True


cdef object _operand(object x):
    """x as an element-wise operand: a Tensor, a Python number, or None if neither."""
    if isinstance(x, Tensor) or _is_number(x):
        return x
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return x.item()
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return _tensor_from_numpy_copy(x, None)
    return None


cdef int _store_scalar(object v, int kd, char* buf) except -1:
    """Write the Python number v into buf as kernel type kd, with PyTorch's overflow checks."""
    cdef double d
    cdef int64_t i
    if kd == FLOAT32 or kd == FLOAT64:
        d = PyFloat_AS_DOUBLE(v) if PyFloat_Check(v) else float(v)
        if kd == FLOAT32:
            (<float*>buf)[0] = <float>d         # beyond float32's range: +-inf, as PyTorch
        else:
            (<double*>buf)[0] = d
        return 0
    if PyFloat_Check(v):
        d = PyFloat_AS_DOUBLE(v)
        if not _c_isfinite(d) or d >= 9.2233720368547758e18 or d < -9.2233720368547758e18:
            raise RuntimeError(f"value cannot be converted to type {_DTYPE_NAMES[kd]} "
                               f"without overflow")
        i = <int64_t>d
    else:
        try:
            i = PyLong_AsLongLong(v)
        except OverflowError:
            raise RuntimeError(f"value cannot be converted to type {_DTYPE_NAMES[kd]} "
                               f"without overflow") from None
    if kd == INT64:
        (<int64_t*>buf)[0] = i
    elif kd == INT32:
        if i < -2147483648 or i > 2147483647:
            raise RuntimeError("value cannot be converted to type int32 without overflow")
        (<int32_t*>buf)[0] = <int32_t>i
    else:
        if i < -255 or i > 255:     # negative values wrap, as PyTorch allows for uint8
            raise RuntimeError("value cannot be converted to type uint8 without overflow")
        (<uint8_t*>buf)[0] = <uint8_t>i
    return 0


cdef object _DTYPE_NAMES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


cdef int _scalar_param(object v, int kd, double* f, int64_t* i, str what) except -1:
    """A scalar parameter (alpha, clamp bounds, ...) for kernel type kd."""
    cdef int64_t buf
    if _is_float_type(kd):
        f[0] = float(v)
    else:
        if PyFloat_Check(v) and v != <int64_t>v:
            raise RuntimeError(f"{what} must be an integer for integral inputs, but got {v}")
        _store_scalar(v, INT64, <char*>&buf)
        i[0] = buf
    return 0


# ---- shapes -------------------------------------------------------------------------------

cdef int _broadcast_pair(int na, const int64_t* sa, int nb, const int64_t* sb,
                         int64_t* out) except -1:
    """out = broadcast shape of (sa, sb); returns its ndim.  out may alias sa or sb."""
    cdef int n = na if na > nb else nb, d
    cdef int64_t x, y
    cdef int64_t result[MAX_DIMS]
    for d in range(n):
        x = sa[na - n + d] if d >= n - na else 1
        y = sb[nb - n + d] if d >= n - nb else 1
        if x == y or y == 1:
            result[d] = x
        elif x == 1:
            result[d] = y
        else:
            raise RuntimeError(
                f"shapes {_shape_str(na, sa)} and {_shape_str(nb, sb)} cannot be broadcast "
                f"together: the size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {d}")
    memcpy(out, result, n * sizeof(int64_t))
    return n


cdef void _broadcast_strides(Tensor t, int ndim, const int64_t* shape, int64_t* strides) noexcept:
    """t's strides aligned to the right of an ndim-d broadcast shape (0 where t is broadcast)."""
    cdef int d, k = ndim - t._ndim
    for d in range(ndim):
        if d < k or t._sizes[d - k] != shape[d]:
            strides[d] = 0
        else:
            strides[d] = t._strides[d - k]


cdef Tensor _new_output(int ndim, const int64_t* shape, int dtype, Tensor like):
    """A fresh tensor for an op's result.  When `like` has the full shape and is not
    contiguous, the result's dims are laid out in like's memory order (PyTorch's and
    NumPy's `K` order), so exp(a.T) walks both tensors sequentially."""
    cdef int64_t perm[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int64_t s = 1, numel = 1, key
    cdef int d, k, j
    if (like is None or like._contiguous or ndim < 2 or like._ndim != ndim or
            memcmp(like._sizes, shape, ndim * sizeof(int64_t)) != 0):
        return new_tensor(ndim, shape, dtype_from_num(dtype), False)
    # perm: dims from outermost to innermost in like's memory (insertion sort by |stride|)
    for d in range(ndim):
        perm[d] = d
    for d in range(1, ndim):
        k = d
        while k > 0 and _abs64(like._strides[perm[k - 1]]) < _abs64(like._strides[perm[k]]):
            j = perm[k]
            perm[k] = perm[k - 1]
            perm[k - 1] = j
            k -= 1
    for d in range(ndim - 1, -1, -1):
        strides[perm[d]] = s
        s *= shape[perm[d]]
    numel = s
    return make_tensor(new_storage(numel, dtype_from_num(dtype), False), ndim, shape, strides,
                       0, None)


cdef inline int64_t _abs64(int64_t x) noexcept:
    return -x if x < 0 else x


cdef inline int _check_out(Tensor out, int ndim, const int64_t* shape, int result_type,
                           str name) except -1:
    """Element-wise ops take any out dtype the result can be cast to (NOTE [ out= arguments ])."""
    return check_out(out, ndim, shape, result_type, name, "cast")


cdef Tensor _unalias(Tensor t, Tensor out, const int64_t* bstrides):
    """t, or a copy of it when it shares memory with out other than element for element
    (a[1:] += a[:-1] must read the old values: NumPy's answer, not an order-dependent one).
    Compared by address, not by Storage: two Storages can share memory (view(dtype) with
    another element size, from_numpy of one array twice)."""
    if t._numel == 0:
        return t
    if (data_of(t) == data_of(out) and t._dtype.itemsize == out._dtype.itemsize and
            memcmp(bstrides, out._strides, out._ndim * sizeof(int64_t)) == 0):
        return t
    if _memory_overlaps(out, t):
        return _clone(t, t._dtype)
    return t


# ---- the element-wise driver ----------------------------------------------------------------

cdef inline int _kernel_type(int t) noexcept nogil:
    return UINT8 if t == BOOL else t


cdef dict _POW_AS_UNARY = {2: U_SQUARE, 0.5: U_SQRT, -0.5: U_RSQRT, -1: U_RECIPROCAL}


cdef object _binary(int op, object x, object y, Tensor out, object alpha, bint operator):
    """out = x (op) y.  x and y are Tensors or Python numbers; out None for a new tensor.
    operator: called from a Python operator, so unsupported operands give NotImplemented."""
    cdef object xo = _operand(x), yo = _operand(y)
    cdef Tensor a, b, result
    cdef int ct, kd, od, ndim, nops = 3, err
    cdef int64_t shape[MAX_DIMS]
    cdef int64_t sa[MAX_DIMS]
    cdef int64_t sb[MAX_DIMS]
    cdef int64_t xbuf = 0, ybuf = 0
    cdef char* ptrs[4]
    cdef StridedLoop L
    cdef OpArgs args
    if xo is None or yo is None:
        if operator:
            return NotImplemented
        bad = x if xo is None else y
        raise TypeError(f"{_BINARY_NAMES.get(op, 'op')}(): expected Tensor or number operands, "
                        f"but got {type(bad).__name__}")
    if grad_mode_enabled() and op < B_BOOL_FIRST and (_obj_needs_grad(xo) or _obj_needs_grad(yo) or
                                       (out is not None and needs_grad(out))):
        if out is not None:                         # NOTE [ Autograd hook ]: in-place, out=
            return _autograd().binary(op, xo, yo, out, alpha)
        recording_off()
        try:
            result = _binary(op, xo, yo, None, alpha, operator)
        finally:
            recording_on()
        return _autograd().record_binary(op, xo, yo, alpha, result)
    a = <Tensor>xo if isinstance(xo, Tensor) else None
    b = <Tensor>yo if isinstance(yo, Tensor) else None
    if a is None and b is None:
        raise TypeError(f"{_BINARY_NAMES.get(op, 'op')}(): expected at least one Tensor operand")
    # dtypes: ct the common (computation) type, od the result's
    if a is not None and b is not None and a._dtype is b._dtype:
        ct = a._dtype.num
    else:
        ct = _result_type3(xo, yo, None)
    if alpha is not None and not (PyLong_Check(alpha) and alpha == 1):
        if op == B_ADD:
            op = B_ADD_ALPHA
        elif op == B_SUB:
            op = B_SUB_ALPHA
        if PyFloat_Check(alpha) and not _is_float_type(ct):
            raise RuntimeError("For integral input tensors, argument alpha must not be a "
                               "floating point number.")
    op, ct = _adjust_binary(op, ct, xo, yo)
    if (op == B_POW and a is not None and b is None and a._dtype.num == ct
            and _is_float_type(ct) and type(yo) in (int, float) and yo in _POW_AS_UNARY):
        # as PyTorch's pow(tensor, scalar): these exponents run as their own kernels (a
        # vectorized row, not a pow call per element), so pow(x, 0.5) is sqrt(x) also at -0
        # and -inf, and pow(x, -0.5) rsqrt(x)
        return _unary(_POW_AS_UNARY[yo], a, out, "pow")
    od = BOOL if op >= B_BOOL_FIRST else ct
    kd = _kernel_type(ct)
    # shapes
    if a is not None and b is not None:
        if a._ndim == b._ndim and memcmp(a._sizes, b._sizes, a._ndim * sizeof(int64_t)) == 0:
            ndim = a._ndim
            memcpy(shape, a._sizes, ndim * sizeof(int64_t))
        else:
            ndim = _broadcast_pair(a._ndim, a._sizes, b._ndim, b._sizes, shape)
    else:
        ndim = a._ndim if a is not None else b._ndim
        memcpy(shape, a._sizes if a is not None else b._sizes, ndim * sizeof(int64_t))
    # operands in the kernel type
    if a is not None and a._dtype.num != ct:
        a = _clone(a, dtype_from_num(ct))
    if b is not None and b._dtype.num != ct:
        b = _clone(b, dtype_from_num(ct))
    if a is None:
        _store_scalar(xo, kd, <char*>&xbuf)
    if b is None:
        _store_scalar(yo, kd, <char*>&ybuf)
    if a is not None:
        _broadcast_strides(a, ndim, shape, sa)
    if b is not None:
        _broadcast_strides(b, ndim, shape, sb)
    # the output
    if out is not None:
        _check_out(out, ndim, shape, od, _BINARY_NAMES.get(op, "op"))
        if a is not None:
            a = _unalias(a, out, sa)
            _broadcast_strides(a, ndim, shape, sa)
        if b is not None:
            b = _unalias(b, out, sb)
            _broadcast_strides(b, ndim, shape, sb)
        result = out if out._dtype.num == od else _new_output(ndim, shape, od, out)
    else:
        result = _new_output(ndim, shape, od, a if a is not None else b)
    if result._numel == 0:
        return out if out is not None else result
    args.op = op
    args.dtype = kd
    args.flags = 0
    if op == B_ADD_ALPHA or op == B_SUB_ALPHA:
        _scalar_param(alpha, kd, &args.f[0], &args.i[0], "alpha")
    loop_init(&L, nops, ndim, shape)
    loop_set_operand(&L, 0, result._strides, result._dtype.itemsize)
    if a is None:
        memset(sa, 0, ndim * sizeof(int64_t))
    if b is None:
        memset(sb, 0, ndim * sizeof(int64_t))
    loop_set_operand(&L, 1, sa, _ITEMSIZES[kd])
    loop_set_operand(&L, 2, sb, _ITEMSIZES[kd])
    loop_prepare(&L)
    ptrs[0] = data_of(result)
    ptrs[1] = data_of(a) if a is not None else <char*>&xbuf
    ptrs[2] = data_of(b) if b is not None else <char*>&ybuf
    if result._numel < NOGIL_MIN_ELEMENTS:
        err = run_binary(&L, ptrs, &args)
    else:
        with nogil:
            err = run_binary(&L, ptrs, &args)
    if err == ERR_ZERO_DIVISION:
        raise RuntimeError("ZeroDivisionError")
    if out is None:
        return result
    if result is not out:
        copy_into(out, result)
    else:
        mark_written(out)
    return out


cdef int _ITEMSIZES[6]
_ITEMSIZES[:] = [1, 1, 4, 8, 4, 8]


cdef inline bint _is_bool_operand(object x):
    return PyBool_Check(x) or (isinstance(x, Tensor) and (<Tensor>x)._dtype.num == BOOL)


cdef tuple _adjust_binary(int op, int ct, object x, object y):
    """Per-op dtype rules on top of promotion (the op table's ints and no_kernel columns,
    then the bool rules): returns (kernel op, computation dtype)."""
    rule = _NO_KERNEL.get(op)
    if op in _FLOAT_RESULT:
        if not _is_float_type(ct):
            ct = FLOAT32
    elif rule is not None:
        if rule[1] & (1 if _is_float_type(ct) else 4 if ct == BOOL else 2):
            raise NotImplementedError(f'"{rule[0]}" not implemented for '
                                      f"'{_DTYPE_TITLE[ct].decode()}'")
    elif (op == B_SUB or op == B_SUB_ALPHA) and (_is_bool_operand(x) or _is_bool_operand(y)):
        if _is_bool_operand(x) and _is_bool_operand(y):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    elif op == B_POW and ct == BOOL and not PyBool_Check(y):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    elif ct == BOOL:
        if op == B_ADD or op == B_ADD_ALPHA:
            op = B_BITWISE_OR                       # True + True is True
        elif op == B_MUL:
            op = B_BITWISE_AND
        elif op == B_FLOOR_DIVIDE or op == B_REMAINDER or op == B_FMOD:
            raise NotImplementedError(f'"{_BINARY_NAMES[op]}_cpu" not implemented for \'Bool\'')
    if op == B_POW and not _is_float_type(ct) and not isinstance(y, Tensor) and y < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return op, ct


cdef object _unary(int op, Tensor a, Tensor out, str name, double p0=0, double p1=0):
    """out = op(a) element-wise (a new tensor when out is None)."""
    cdef int dt = a._dtype.num, ct, od, kd, err
    cdef Tensor result
    cdef char* ptrs[2]
    cdef StridedLoop L
    cdef OpArgs args
    if grad_mode_enabled() and op < U_BOOL_FIRST and (needs_grad(a) or (out is not None and needs_grad(out))):
        if out is not None:                         # NOTE [ Autograd hook ]: in-place, out=
            return _autograd().unary(op, a, out, name, p0, p1)
        recording_off()
        try:
            result = _unary(op, a, None, name, p0, p1)
        finally:
            recording_on()
        return _autograd().record_unary(op, a, result, name, p0, p1)
    ct = dt
    if not _is_float_type(dt) and op in _NO_INTEGER_KERNEL:
        raise NotImplementedError(f'"{_NO_INTEGER_KERNEL[op]}" not implemented for '
                                  f"'{_DTYPE_TITLE[dt].decode()}'")
    if op >= U_FLOAT_FIRST and op < U_BOOL_FIRST:
        if not _is_float_type(dt):
            ct = FLOAT32                            # int -> the default float, like PyTorch
    elif dt == BOOL and (op == U_ABS or op == U_RELU or op == U_FLOOR or op == U_CEIL or
                         op == U_ROUND or op == U_TRUNC or op == U_FRAC):
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    elif op == U_FRAC and not _is_float_type(dt):
        raise NotImplementedError(f'"frac_cpu" not implemented for \'{_DTYPE_TITLE[dt].decode()}\'')
    elif dt == BOOL:
        if op == U_NEG:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        if op == U_BITWISE_NOT:
            op = U_LOGICAL_NOT
        elif op == U_SQUARE:
            ct = INT64                              # PyTorch: square(bool) is pow(bool, 2) -> int64
    elif op == U_BITWISE_NOT and _is_float_type(dt):
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{_DTYPE_TITLE[dt].decode()}'")
    od = BOOL if op >= U_BOOL_FIRST else ct
    kd = _kernel_type(ct)
    if dt != ct:
        a = _clone(a, dtype_from_num(ct))
    if out is not None:
        _check_out(out, a._ndim, a._sizes, od, name)
        a = _unalias(a, out, a._strides)
        result = out if out._dtype.num == od else _new_output(a._ndim, a._sizes, od, out)
    else:
        result = _new_output(a._ndim, a._sizes, od, a)
    if result._numel == 0:
        return out if out is not None else result
    args.op = op
    args.dtype = kd
    args.flags = ARGS_HAS_LO | ARGS_HAS_HI
    args.f[0] = p0
    args.f[1] = p1
    args.i[0] = <int64_t>p0
    args.i[1] = <int64_t>p1
    loop_init(&L, 2, a._ndim, a._sizes)
    loop_set_operand(&L, 0, result._strides, result._dtype.itemsize)
    loop_set_operand(&L, 1, a._strides, a._dtype.itemsize)
    loop_prepare(&L)
    ptrs[0] = data_of(result)
    ptrs[1] = data_of(a)
    if result._numel < NOGIL_MIN_ELEMENTS:
        err = run_unary(&L, ptrs, &args)
    else:
        with nogil:
            err = run_unary(&L, ptrs, &args)
    if out is None:
        return result
    if result is not out:
        copy_into(out, result)
    else:
        mark_written(out)
    return out


cdef object _clamp(Tensor a, object lo, object hi, Tensor out, str name):
    """clamp(a, lo, hi): bounds that are numbers run in one kernel pass; tensor bounds go
    through maximum/minimum (broadcasting, NaN-propagating)."""
    cdef int ct, kd, err, flags = 0
    cdef Tensor result
    cdef char* ptrs[2]
    cdef StridedLoop L
    cdef OpArgs args
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None"
                           .replace("torch.", ""))
    if grad_mode_enabled() and (needs_grad(a) or _obj_needs_grad(lo) or _obj_needs_grad(hi) or
                         (out is not None and needs_grad(out))):
        if out is not None:                         # NOTE [ Autograd hook ]: in-place, out=
            return _autograd().clamp(a, lo, hi, out, name)
        recording_off()
        try:
            r = _clamp(a, lo, hi, None, name)
        finally:
            recording_on()
        return _autograd().record_clamp(a, lo, hi, name, r)
    lo_o = _operand(lo) if lo is not None else None
    hi_o = _operand(hi) if hi is not None else None
    if (lo is not None and lo_o is None) or (hi is not None and hi_o is None):
        raise TypeError(f"{name}(): min and max must be numbers or Tensors")
    if isinstance(lo_o, Tensor) or isinstance(hi_o, Tensor):
        r = a
        if lo_o is not None:
            r = _binary(B_MAXIMUM, r, lo_o, None, None, False)
        if hi_o is not None:
            r = _binary(B_MINIMUM, r, hi_o, None, None, False)
        if out is None:
            return r
        _check_out(out, (<Tensor>r)._ndim, (<Tensor>r)._sizes, (<Tensor>r)._dtype.num, name)
        copy_into(out, r)
        return out
    ct = _result_type3(a, lo_o, hi_o)
    if ct == BOOL:
        raise RuntimeError("clamp is not supported for boolean tensors")
    kd = ct
    if a._dtype.num != ct:
        a = _clone(a, dtype_from_num(ct))
    args.op = U_CLAMP
    args.dtype = kd
    cdef int64_t check
    if lo_o is not None:
        flags |= ARGS_HAS_LO
        _scalar_param(lo_o, kd, &args.f[0], &args.i[0], "min")
        if not _is_float_type(kd):
            _store_scalar(lo_o, kd, <char*>&check)       # out of the dtype's range: raises
    if hi_o is not None:
        flags |= ARGS_HAS_HI
        _scalar_param(hi_o, kd, &args.f[1], &args.i[1], "max")
        if not _is_float_type(kd):
            _store_scalar(hi_o, kd, <char*>&check)
    args.flags = flags
    if out is not None:
        _check_out(out, a._ndim, a._sizes, ct, name)
        a = _unalias(a, out, a._strides)
        result = out if out._dtype.num == ct else _new_output(a._ndim, a._sizes, ct, out)
    else:
        result = _new_output(a._ndim, a._sizes, ct, a)
    if result._numel == 0:
        return out if out is not None else result
    loop_init(&L, 2, a._ndim, a._sizes)
    loop_set_operand(&L, 0, result._strides, result._dtype.itemsize)
    loop_set_operand(&L, 1, a._strides, a._dtype.itemsize)
    loop_prepare(&L)
    ptrs[0] = data_of(result)
    ptrs[1] = data_of(a)
    if result._numel < NOGIL_MIN_ELEMENTS:
        run_unary(&L, ptrs, &args)
    else:
        with nogil:
            run_unary(&L, ptrs, &args)
    if out is None:
        return result
    if result is not out:
        copy_into(out, result)
    else:
        mark_written(out)
    return out


cdef Tensor _where(object condition, object x, object y):
    """where(condition, x, y): x where condition is true, else y, all three broadcast."""
    cdef Tensor c, a, b, result, like, t
    cdef int ct, kd, ndim
    cdef int64_t shape[MAX_DIMS]
    cdef int64_t sc[MAX_DIMS]
    cdef int64_t sa[MAX_DIMS]
    cdef int64_t sb[MAX_DIMS]
    cdef int64_t xbuf = 0, ybuf = 0
    cdef char* ptrs[4]
    cdef StridedLoop L
    cdef OpArgs args
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not "
                        f"{type(condition).__name__}")
    c = <Tensor>condition
    if c._dtype.num != BOOL:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_DTYPE_TITLE[c._dtype.num].decode()}")
    xo = _operand(x)
    yo = _operand(y)
    if xo is None or yo is None:
        raise TypeError("where(): x and y must be Tensors or numbers")
    if grad_mode_enabled() and (_obj_needs_grad(xo) or _obj_needs_grad(yo)):
        recording_off()
        try:
            r = _where(c, xo, yo)
        finally:
            recording_on()
        return _autograd().record("where", (xo, yo), r, {"condition": c})
    ct = _result_type3(xo, yo, None)
    kd = _kernel_type(ct)
    a = <Tensor>xo if isinstance(xo, Tensor) else None
    b = <Tensor>yo if isinstance(yo, Tensor) else None
    ndim = c._ndim
    memcpy(shape, c._sizes, ndim * sizeof(int64_t))
    if a is not None:
        ndim = _broadcast_pair(ndim, shape, a._ndim, a._sizes, shape)
        if a._dtype.num != ct:
            a = _clone(a, dtype_from_num(ct))
    else:
        _store_scalar(xo, kd, <char*>&xbuf)
    if b is not None:
        ndim = _broadcast_pair(ndim, shape, b._ndim, b._sizes, shape)
        if b._dtype.num != ct:
            b = _clone(b, dtype_from_num(ct))
    else:
        _store_scalar(yo, kd, <char*>&ybuf)
    _broadcast_strides(c, ndim, shape, sc)
    if a is not None:
        _broadcast_strides(a, ndim, shape, sa)
    else:
        memset(sa, 0, ndim * sizeof(int64_t))
    if b is not None:
        _broadcast_strides(b, ndim, shape, sb)
    else:
        memset(sb, 0, ndim * sizeof(int64_t))
    # the result in the memory order of the first full-shape operand (as binary ops do)
    like = c
    for t in (a, b):
        if (t is not None and t._ndim == ndim
                and memcmp(t._sizes, shape, ndim * sizeof(int64_t)) == 0):
            like = t
            break
    result = _new_output(ndim, shape, ct, like)
    if result._numel == 0:
        return result
    args.op = 0
    args.dtype = kd
    loop_init(&L, 4, ndim, shape)
    loop_set_operand(&L, 0, result._strides, _ITEMSIZES[kd])
    loop_set_operand(&L, 1, sc, 1)
    loop_set_operand(&L, 2, sa, _ITEMSIZES[kd])
    loop_set_operand(&L, 3, sb, _ITEMSIZES[kd])
    loop_prepare(&L)
    ptrs[0] = data_of(result)
    ptrs[1] = data_of(c)
    ptrs[2] = data_of(a) if a is not None else <char*>&xbuf
    ptrs[3] = data_of(b) if b is not None else <char*>&ybuf
    if result._numel < NOGIL_MIN_ELEMENTS:
        run_where(&L, ptrs, &args)
    else:
        with nogil:
            run_where(&L, ptrs, &args)
    return result


cdef inline Tensor _out_arg(object out):
    if out is None or isinstance(out, Tensor):
        return out
    raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")


cdef object _div(Tensor a, object other, object rounding_mode, Tensor out):
    """div with PyTorch's rounding_mode: None (true division), "trunc" or "floor"."""
    if rounding_mode is None:
        return _binary(B_DIV, a, other, out, None, False)
    if rounding_mode == "floor":
        return _binary(B_FLOOR_DIVIDE, a, other, out, None, False)
    if rounding_mode == "trunc":
        if _is_float_type(_result_type3(a, _operand(other), None)):
            q = _binary(B_DIV, a, other, None, None, False)
            return _unary(U_TRUNC, q, out if out is not None else q, "div")
        # integer truncation: floor division, plus one where the signs differ and it's inexact
        q = _binary(B_FLOOR_DIVIDE, a, other, None, None, False)
        r = _binary(B_REMAINDER, a, other, None, None, False)
        fix = _binary(B_LOGICAL_AND, _binary(B_NE, r, 0, None, None, False),
                      _binary(B_LOGICAL_XOR, _binary(B_LT, a, 0, None, None, False),
                              _binary(B_LT, other, 0, None, None, False) if isinstance(other, Tensor)
                              else (other < 0), None, None, False), None, None, False)
        q = _binary(B_ADD, q, fix, q, None, False)
        if out is None:
            return q
        copy_into(out, q)
        return out
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


cdef object _lerp(Tensor start, object end, object weight, Tensor out):
    """start + weight * (end - start); a number weight runs as one fused kernel pass."""
    cdef int ct, kd
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' must be Tensor, not {type(end).__name__}")
    if grad_mode_enabled() and (needs_grad(start) or needs_grad(<Tensor>end) or _obj_needs_grad(weight)
                         or (out is not None and needs_grad(out))):
        if out is not None:                         # NOTE [ Autograd hook ]: in-place, out=
            return _autograd().lerp(start, end, weight, out)
        recording_off()
        try:
            r = _lerp(start, end, weight, None)
        finally:
            recording_on()
        return _autograd().record_lerp(start, end, weight, r)
    if isinstance(weight, Tensor):
        if (<Tensor>weight)._dtype is not start._dtype:
            raise RuntimeError(f"expected dtype {start._dtype.name} for `weight` but got dtype "
                               f"{(<Tensor>weight)._dtype.name}")
        # PyTorch's formula, exact at both ends: start + w*(end-start) below 0.5, else from end
        diff = _binary(B_SUB, end, start, None, None, False)
        low = _binary(B_ADD, start, _binary(B_MUL, weight, diff, None, None, False),
                      None, None, False)
        high = _binary(B_SUB, end, _binary(B_MUL, diff,
                                           _binary(B_SUB, 1, weight, None, None, False),
                                           None, None, False), None, None, False)
        r = _where(_binary(B_LT, weight, 0.5, None, None, False), low, high)
        if out is None:
            return r
        _check_out(out, (<Tensor>r)._ndim, (<Tensor>r)._sizes, (<Tensor>r)._dtype.num, "lerp")
        copy_into(out, r)
        return out
    if start._dtype is not (<Tensor>end)._dtype:
        raise RuntimeError(f"lerp(): expected dtype {start._dtype.name} for `end` but got dtype "
                           f"{(<Tensor>end)._dtype.name}")
    if not _is_float_type(start._dtype.num):
        raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for '
                                  f"'{_DTYPE_TITLE[start._dtype.num].decode()}'")
    return _binary_scalar_param(B_LERP_SCALAR, start, end, out, weight)


cdef object _binary_scalar_param(int op, Tensor a, Tensor b, Tensor out, object p0):
    """A binary op with one scalar parameter in args.f[0]/i[0] (lerp's weight)."""
    cdef int ct = a._dtype.num, kd = _kernel_type(ct), ndim, err
    cdef int64_t shape[MAX_DIMS]
    cdef int64_t sa[MAX_DIMS]
    cdef int64_t sb[MAX_DIMS]
    cdef char* ptrs[3]
    cdef StridedLoop L
    cdef OpArgs args
    cdef Tensor result
    ndim = _broadcast_pair(a._ndim, a._sizes, b._ndim, b._sizes, shape)
    _broadcast_strides(a, ndim, shape, sa)
    _broadcast_strides(b, ndim, shape, sb)
    if out is not None:
        _check_out(out, ndim, shape, ct, _BINARY_NAMES.get(op, "op"))
        a = _unalias(a, out, sa)
        b = _unalias(b, out, sb)
        _broadcast_strides(a, ndim, shape, sa)
        _broadcast_strides(b, ndim, shape, sb)
        result = out if out._dtype.num == ct else _new_output(ndim, shape, ct, out)
    else:
        result = _new_output(ndim, shape, ct, a)
    if result._numel > 0:
        args.op = op
        args.dtype = kd
        args.flags = 0
        _scalar_param(p0, kd, &args.f[0], &args.i[0], "weight")
        loop_init(&L, 3, ndim, shape)
        loop_set_operand(&L, 0, result._strides, result._dtype.itemsize)
        loop_set_operand(&L, 1, sa, _ITEMSIZES[kd])
        loop_set_operand(&L, 2, sb, _ITEMSIZES[kd])
        loop_prepare(&L)
        ptrs[0] = data_of(result)
        ptrs[1] = data_of(a)
        ptrs[2] = data_of(b)
        with nogil:
            err = run_binary(&L, ptrs, &args)
    if out is None:
        return result
    if result is not out:
        copy_into(out, result)
    else:
        mark_written(out)
    return out


cdef object _round(Tensor a, object decimals, Tensor out):
    if decimals == 0:
        return _unary(U_ROUND, a, out, "round")
    if not _is_float_type(a._dtype.num):
        raise RuntimeError("round_cpu(): decimals argument is not supported for integral inputs")
    scale = 10.0 ** decimals if decimals > 0 else 10.0 ** -decimals
    if decimals > 0:
        r = _unary(U_ROUND, _binary(B_MUL, a, scale, None, None, False), None, "round")
        return _binary(B_DIV, r, scale, out if out is not None else r, None, False)
    r = _unary(U_ROUND, _binary(B_DIV, a, scale, None, None, False), None, "round")
    return _binary(B_MUL, r, scale, out if out is not None else r, None, False)


cdef bint _equal(Tensor a, object other) except -1:
    if not isinstance(other, Tensor):
        raise TypeError(f"equal(): argument 'other' must be Tensor, not {type(other).__name__}")
    cdef Tensor b = <Tensor>other
    if a._ndim != b._ndim or memcmp(a._sizes, b._sizes, a._ndim * sizeof(int64_t)) != 0:
        return False
    return bool(_any_all(_binary(B_EQ, a, b, None, None, False), None, False, False))


cdef object _isclose(Tensor a, object other, double rtol, double atol, bint equal_nan):
    """|a - b| <= atol + rtol * |b|, with infinities equal to themselves (PyTorch's isclose)."""
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    exact = _binary(B_EQ, a, other, None, None, False)
    if not _is_float_type(_result_type3(a, _operand(other), None)):
        return exact
    diff = _unary(U_ABS, _binary(B_SUB, a, other, None, None, False), None, "isclose")
    bound = _binary(B_ADD, _binary(B_MUL, _unary(U_ABS, _as_operand_tensor(other, a), None,
                                                    "isclose"), rtol, None, None, False),
                    atol, None, None, False)
    close = _binary(B_LOGICAL_AND, _binary(B_LE, diff, bound, None, None, False),
                    _unary(U_ISFINITE, diff, None, "isclose"), None, None, False)
    close = _binary(B_LOGICAL_OR, close, exact, close, None, False)
    if equal_nan:
        both_nan = _binary(B_LOGICAL_AND, _unary(U_ISNAN, a, None, "isclose"),
                           _unary(U_ISNAN, _as_operand_tensor(other, a), None, "isclose"),
                           None, None, False)
        close = _binary(B_LOGICAL_OR, close, both_nan, close, None, False)
    return close


cdef Tensor _as_operand_tensor(object x, Tensor like):
    if isinstance(x, Tensor):
        return <Tensor>x
    return _scalar_tensor(x, like._dtype if _is_float_type(like._dtype.num)
                          else dtype_from_num(FLOAT32))


cdef object _nan_to_num(Tensor a, object nan, object posinf, object neginf):
    if not _is_float_type(a._dtype.num):
        return _clone(a, a._dtype)
    big = 3.4028234663852886e38 if a._dtype.num == FLOAT32 else 1.7976931348623157e308
    r = _where(_unary(U_ISNAN, a, None, "nan_to_num"), nan, a)
    r = _where(_unary(U_ISPOSINF, a, None, "nan_to_num"), big if posinf is None else posinf, r)
    r = _where(_unary(U_ISNEGINF, a, None, "nan_to_num"), -big if neginf is None else neginf, r)
    return _cast(r, a._dtype.num)


# ---- entry points for strided.ops (the function forms) ----------------------------------------

# BEGIN GENERATED: binary names (tools/gen_ops.py from strided/op_table.py)
BINARY_OPS = {
    "add": B_ADD, "sub": B_SUB, "mul": B_MUL, "true_divide": B_DIV,
    "floor_divide": B_FLOOR_DIVIDE, "remainder": B_REMAINDER, "fmod": B_FMOD, "pow": B_POW,
    "maximum": B_MAXIMUM, "minimum": B_MINIMUM, "atan2": B_ATAN2, "hypot": B_HYPOT,
    "bitwise_and": B_BITWISE_AND, "bitwise_or": B_BITWISE_OR, "bitwise_xor": B_BITWISE_XOR,
    "bitwise_left_shift": B_LSHIFT, "bitwise_right_shift": B_RSHIFT, "eq": B_EQ,
    "ne": B_NE, "lt": B_LT, "le": B_LE, "gt": B_GT, "ge": B_GE,
    "logical_and": B_LOGICAL_AND, "logical_or": B_LOGICAL_OR, "logical_xor": B_LOGICAL_XOR}
INTERNAL_BINARY_OPS = {   # op codes with no public form (backward kernels)
    "add_alpha": B_ADD_ALPHA, "sub_alpha": B_SUB_ALPHA, "lerp": B_LERP_SCALAR,
    "gelu_backward": B_GELU_BACKWARD, "gelu_tanh_backward": B_GELU_TANH_BACKWARD}
# END GENERATED: binary names

# BEGIN GENERATED: unary names (tools/gen_ops.py from strided/op_table.py)
UNARY_OPS = {
    "neg": U_NEG, "abs": U_ABS, "sign": U_SIGN, "square": U_SQUARE, "relu": U_RELU,
    "floor": U_FLOOR, "ceil": U_CEIL, "trunc": U_TRUNC, "frac": U_FRAC,
    "bitwise_not": U_BITWISE_NOT, "exp": U_EXP, "exp2": U_EXP2, "expm1": U_EXPM1,
    "log": U_LOG, "log2": U_LOG2, "log10": U_LOG10, "log1p": U_LOG1P, "sqrt": U_SQRT,
    "rsqrt": U_RSQRT, "sin": U_SIN, "cos": U_COS, "tan": U_TAN, "asin": U_ASIN,
    "acos": U_ACOS, "atan": U_ATAN, "sinh": U_SINH, "cosh": U_COSH, "tanh": U_TANH,
    "sigmoid": U_SIGMOID, "reciprocal": U_RECIPROCAL, "erf": U_ERF, "erfc": U_ERFC,
    "gelu": U_GELU, "gelu_tanh": U_GELU_TANH, "silu": U_SILU, "rad2deg": U_RAD2DEG,
    "deg2rad": U_DEG2RAD, "isnan": U_ISNAN, "isinf": U_ISINF, "isfinite": U_ISFINITE,
    "isposinf": U_ISPOSINF, "isneginf": U_ISNEGINF, "signbit": U_SIGNBIT,
    "logical_not": U_LOGICAL_NOT}
# END GENERATED: unary names

# BEGIN GENERATED: unary integer refusals (tools/gen_ops.py from strided/op_table.py)
cdef dict _NO_INTEGER_KERNEL = {   # ops that refuse integer and bool inputs
    U_LEAKY_RELU: "leaky_relu_cpu", U_GELU: "GeluKernelImpl",
    U_GELU_TANH: "GeluKernelImpl", U_SILU: "silu_cpu", U_SOFTPLUS: "softplus_cpu"}
# END GENERATED: unary integer refusals


def binary_op(int op, input, other, out=None, alpha=None):
    """out = input (op) other for an op code of BINARY_OPS."""
    return _binary(op, input, other, _out_arg(out), alpha, False)


def unary_op(int op, Tensor input, out=None, str name="op"):
    """out = op(input) for an op code of UNARY_OPS."""
    return _unary(op, input, _out_arg(out), name)


def where(condition, input, other, *, out=None):
    """Elements of input where condition is true, else of other (all broadcast together);
    out=: a tensor of the broadcast shape and the result's dtype."""
    if out is not None:
        _check_out_grad(out, "where", (condition, input, other))
        return _write_out(out, _where(condition, input, other), "where",
                          (condition, input, other))
    return _where(condition, input, other)


def clamp(Tensor input, min=None, max=None, *, out=None):
    """Each element of input limited to [min, max] (either may be None, not both; numbers or
    broadcasting tensors); NaN stays NaN.  Also strided.clip; Tensor.clamp is the method form.

    >>> strided.clamp(strided.tensor([-2, 0, 5]), min=-1, max=3)
    tensor([-1,  0,  3])
    """
    return _clamp(input, min, max, _out_arg(out), "clamp")


def div(input, other, *, rounding_mode=None, out=None):
    """input / other, broadcasting.  rounding_mode None: true division (integers give
    float32); "trunc": rounded toward zero; "floor": rounded toward -inf (both keep integer
    dtypes).  Also strided.divide.

    >>> strided.div(strided.tensor([7, -7]), 2, rounding_mode="trunc")
    tensor([ 3, -3])
    """
    if not isinstance(input, Tensor):
        if _operand(input) is None:
            raise TypeError(f"div(): expected Tensor or number operands, but got "
                            f"{type(input).__name__}")
        # a number on the left: a 0-d tensor of its wrapped dtype (bool, int64 or float32)
        input = _scalar_tensor(input, dtype_from_num(_number_type(_operand(input))))
    return _div(input, other, rounding_mode, _out_arg(out))


def leaky_relu(Tensor input, double negative_slope=0.01, bint inplace=False):
    """input where input >= 0, negative_slope * input below (floating-point only);
    inplace=True overwrites input.
    """
    return _unary(U_LEAKY_RELU, input, input if inplace else None, "leaky_relu",
                  negative_slope)


def softplus(Tensor input, double beta=1.0, double threshold=20.0):
    """log(1 + exp(beta * x)) / beta element-wise, and x itself where beta * x > threshold
    (floating-point only).
    """
    return _unary(U_SOFTPLUS, input, None, "softplus", beta, threshold)


def lerp(Tensor input, end, weight, *, out=None):
    """input + weight * (end - input), broadcasting: end a tensor of input's dtype, weight a
    number or a tensor of that dtype; floating-point only.  Tensor.lerp is the method form.
    """
    return _lerp(input, end, weight, _out_arg(out))


# ---- accumulation for autograd -----------------------------------------------------------------

def accumulate_into(Tensor dst, Tensor src):
    """dst += src (src broadcast to dst's shape), element by element on one thread, so dst
    may reach one memory location through several elements (an expanded or unfolded view):
    each such location receives the sum of their contributions.  Floating dtypes only."""
    cdef StridedLoop L
    cdef char* ptrs[2]
    cdef int64_t ss[MAX_DIMS]
    if dst._dtype is not src._dtype or not dst._dtype.is_floating_point:
        raise TypeError("accumulate_into expects two floating tensors of one dtype")
    refuse_read_only(dst)        # (dst may overlap itself: see above)
    _broadcast_pair(dst._ndim, dst._sizes, src._ndim, src._sizes, ss)
    _broadcast_strides(src, dst._ndim, dst._sizes, ss)
    if dst._numel == 0:
        return dst
    loop_init(&L, 2, dst._ndim, dst._sizes)
    loop_set_operand(&L, 0, dst._strides, dst._dtype.itemsize)
    loop_set_operand(&L, 1, ss, src._dtype.itemsize)
    loop_prepare(&L)
    ptrs[0] = data_of(dst)
    ptrs[1] = data_of(src)
    with nogil:
        if dst._dtype.num == FLOAT32:
            loop_run_range(&L, ptrs, _accumulate_row_f32, NULL, 0, loop_numel(&L))
        else:
            loop_run_range(&L, ptrs, _accumulate_row_f64, NULL, 0, loop_numel(&L))
    mark_written(dst)
    return dst


cdef void _accumulate_row_f32(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        (<float*>(p[0] + i * s[0]))[0] += (<float*>(p[1] + i * s[1]))[0]


cdef void _accumulate_row_f64(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        (<double*>(p[0] + i * s[0]))[0] += (<double*>(p[1] + i * s[1]))[0]


def has_internal_overlap(Tensor t):
    """True when two elements of t share one memory location."""
    if t._numel <= 1 or not _may_overlap_internally(t):
        return False
    return bool(_overlaps_exactly(t))
