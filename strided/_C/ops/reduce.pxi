# Reductions and per-dim scans on tensors (included into tensor.pyx); the kernels are in
# reduce.pyx (NOTE [ Reductions on the strided iterator ]).

from collections import namedtuple
from strided._C.kernels.reduce cimport (run_reduce, run_lanes, R_SUM, R_PROD, R_MAX, R_MIN,
                                LANE_ARGMAX, LANE_ARGMIN, LANE_CUMSUM, LANE_CUMPROD,
                                LANE_SOFTMAX, LANE_LOG_SOFTMAX, LANE_LOGSUMEXP)

# PyTorch returns these from max/min(dim) and friends: a tuple with named fields
values_indices = namedtuple("values_indices", ["values", "indices"])
cdef object _REDUCE_NAMES = {R_SUM: "sum", R_PROD: "prod", R_MAX: "max", R_MIN: "min"}


cdef int _reduce_mask(Tensor t, object dim, bint* reduced, str name) except -1:
    """Mark the dims to reduce; returns how many.  dim None (or ()) means all of them."""
    cdef int d, k, n = 0
    cdef int ndim = t._ndim
    for d in range(ndim if ndim > 0 else 1):
        reduced[d] = False
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        for d in range(ndim):
            reduced[d] = True
        return ndim
    if isinstance(dim, (tuple, list)):
        for i, x in enumerate(dim):     # PyTorch's int-list form: out of range is a TypeError
            if PyLong_Check(x):
                _int64_element(x, f"{name}(): argument 'dim'", i)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    for x in dims:
        d = _wrap_dim(x, ndim)
        k = d if ndim > 0 else 0
        if reduced[k]:
            raise RuntimeError(f"{name}(): dim {d} appears multiple times in the list of dims")
        reduced[k] = True
        n += 1
    if ndim == 0:
        reduced[0] = False
        return 0
    return n


cdef Tensor _drop_dims(Tensor r, const bint* reduced, bint keepdim):
    """r (contiguous, keepdim shape) viewed without the reduced dims unless keepdim."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int d, n = 0
    if keepdim:
        return r
    for d in range(r._ndim):
        if not reduced[d]:
            sizes[n] = r._sizes[d]
            strides[n] = r._strides[d]
            n += 1
    return make_tensor(r._storage, n, sizes, strides, r._offset, None)


cdef Tensor _reduce(int op, Tensor t, object dim, bint keepdim, int acc_type, str name):
    """Reduce t over dim into a fresh contiguous tensor of acc_type (keepdim shape) and
    return it (with the reduced dims dropped unless keepdim)."""
    cdef bint reduced[MAX_DIMS]
    cdef int64_t shape[MAX_DIMS]
    cdef int64_t acc_strides[MAX_DIMS]
    cdef int64_t rcount = 1
    cdef int d, ndim = t._ndim, in_type = _kernel_type(t._dtype.num), rc
    cdef Tensor acc
    cdef StridedLoop L
    cdef char* in_ptr
    _reduce_mask(t, dim, reduced, name)
    for d in range(ndim):
        shape[d] = 1 if reduced[d] else t._sizes[d]
        if reduced[d]:
            rcount *= t._sizes[d]
    acc = new_tensor(ndim, shape, dtype_from_num(acc_type), False)
    if ((op == R_MAX or op == R_MIN) and name != "any" and name != "all" and rcount == 0 and
            acc._numel > 0):
        if dim is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        for d in range(ndim):
            if reduced[d] and t._sizes[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    _fill_identity(acc, op)
    if t._numel > 0:
        for d in range(ndim):
            acc_strides[d] = 0 if reduced[d] else acc._strides[d]
        loop_init(&L, 2, ndim, t._sizes)
        loop_set_operand(&L, 0, t._strides, t._dtype.itemsize)
        loop_set_operand(&L, 1, acc_strides, acc._dtype.itemsize)
        loop_prepare(&L)
        in_ptr = data_of(t)
        if t._numel < NOGIL_MIN_ELEMENTS:
            rc = run_reduce(op, in_type, _kernel_type(acc_type), &L, in_ptr, data_of(acc),
                            acc._numel)
        else:
            with nogil:
                rc = run_reduce(op, in_type, _kernel_type(acc_type), &L, in_ptr, data_of(acc),
                                acc._numel)
        if rc != 0:
            raise MemoryError(f"{name}(): out of memory for per-thread accumulators")
    return _drop_dims(acc, reduced, keepdim)


cdef int _fill_identity(Tensor acc, int op) except -1:
    cdef int dt = acc._dtype.num
    cdef double v
    if op == R_SUM:
        v = 0
    elif op == R_PROD:
        v = 1
    elif _is_float_type(dt):
        v = -INFINITY if op == R_MAX else INFINITY
    else:
        _fill_int_extreme(acc, op == R_MAX)
        return 0
    copy_into(acc, _scalar_tensor(v, acc._dtype))
    acc._storage._version = 0
    return 0


cdef int _fill_int_extreme(Tensor acc, bint lowest) except -1:
    cdef int dt = acc._dtype.num
    if dt == INT64:
        v = -9223372036854775808 if lowest else 9223372036854775807
    elif dt == INT32:
        v = -2147483648 if lowest else 2147483647
    elif dt == UINT8:
        v = 0 if lowest else 255
    else:
        v = False if lowest else True
    copy_into(acc, _scalar_tensor(v, acc._dtype))
    acc._storage._version = 0
    return 0


cdef int _sum_acc_type(int dt) noexcept:
    return FLOAT64 if _is_float_type(dt) else INT64


cdef object _sum(Tensor t, object dim, bint keepdim, object dtype):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _sum(t, dim, keepdim, dtype)
        finally:
            recording_on()
        return _autograd().record_sum(t, res, dim, keepdim)
    cdef int dt
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    dt = t._dtype.num
    cdef Tensor r = _reduce(R_SUM, t, dim, keepdim, _sum_acc_type(dt), "sum")
    return _cast(r, dt) if _is_float_type(dt) or dtype is not None else r


cdef object _prod(Tensor t, object dim, bint keepdim, object dtype):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _prod(t, dim, keepdim, dtype)
        finally:
            recording_on()
        return _autograd().record_prod(t, res, dim, keepdim)
    cdef int dt
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    dt = t._dtype.num
    cdef Tensor r = _reduce(R_PROD, t, dim, keepdim, _sum_acc_type(dt), "prod")
    return _cast(r, dt) if _is_float_type(dt) or dtype is not None else r


cdef object _mean(Tensor t, object dim, bint keepdim, object dtype):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _mean(t, dim, keepdim, dtype)
        finally:
            recording_on()
        return _autograd().record_mean(t, res, dim, keepdim)
    cdef bint reduced[MAX_DIMS]
    cdef int d, dt
    cdef int64_t count = 1
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    dt = t._dtype.num
    if not _is_float_type(dt):
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: "
                           f"{_DTYPE_TITLE[dt].decode()}")
    _reduce_mask(t, dim, reduced, "mean")
    for d in range(t._ndim):
        if reduced[d]:
            count *= t._sizes[d]
    cdef Tensor r = _reduce(R_SUM, t, dim, keepdim, FLOAT64, "mean")
    r = _binary(B_DIV, r, float(count) if count > 0 else math.nan, r, None, False)
    return _cast(r, dt)


cdef object _amax(Tensor t, object dim, bint keepdim, bint is_max, str name):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _amax(t, dim, keepdim, is_max, name)
        finally:
            recording_on()
        return _autograd().record_amax(t, res, dim, keepdim, name)
    return _reduce(R_MAX if is_max else R_MIN, t, dim, keepdim, t._dtype.num, name)


cdef Tensor _cast(Tensor t, int dtype):
    return t if t._dtype.num == dtype else _clone(t, dtype_from_num(dtype))


# ---- per-dim scans: arg max/min, cumulative ops, softmax, logsumexp ---------------------------

cdef int _lanes(int op, Tensor t, int d, Tensor out, Tensor idx) except -1:
    """Run a lane op along dim d of t: out/idx have t's shape with dim d of size 1 (one
    result per lane) or t's full shape (cumulative ops, softmax)."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t idx_strides[MAX_DIMS]
    cdef StridedLoop L
    cdef char* ptrs[3]
    cdef int64_t length = t._sizes[d]
    cdef int64_t in_stride = t._strides[d] * t._dtype.itemsize
    cdef int64_t out_stride = out._strides[d] * out._dtype.itemsize
    cdef int ndim = t._ndim
    cdef int kd = _kernel_type(t._dtype.num)
    memcpy(sizes, t._sizes, ndim * sizeof(int64_t))
    sizes[d] = 1
    if idx is not None:
        memcpy(idx_strides, idx._strides, ndim * sizeof(int64_t))
    else:
        memset(idx_strides, 0, ndim * sizeof(int64_t))
    loop_init(&L, 3, ndim, sizes)
    loop_set_operand(&L, 0, t._strides, t._dtype.itemsize)
    loop_set_operand(&L, 1, out._strides, out._dtype.itemsize)
    loop_set_operand(&L, 2, idx_strides, 8)
    loop_prepare(&L)
    ptrs[0] = data_of(t)
    ptrs[1] = data_of(out)
    ptrs[2] = data_of(idx) if idx is not None else data_of(out)
    if t._numel < NOGIL_MIN_ELEMENTS:
        run_lanes(op, kd, &L, ptrs, length, in_stride, out_stride)
    else:
        with nogil:
            run_lanes(op, kd, &L, ptrs, length, in_stride, out_stride)
    return 0


cdef Tensor _keepdim_shape_tensor(Tensor t, int d, int dtype):
    cdef int64_t sizes[MAX_DIMS]
    memcpy(sizes, t._sizes, t._ndim * sizeof(int64_t))
    sizes[d] = 1
    return new_tensor(t._ndim, sizes, dtype_from_num(dtype), False)


cdef object _arg_reduce(Tensor t, object dim, bint keepdim, bint is_max, bint with_values,
                        str name):
    """(values, indices) of the max/min along dim, or indices only; dim None flattens."""
    if grad_mode_enabled() and with_values and needs_grad(t):
        recording_off()
        try:
            res = _arg_reduce(t, dim, keepdim, is_max, with_values, name)
        finally:
            recording_on()
        return _autograd().record_max_dim(t, res, dim, keepdim, name)
    cdef bint reduced[MAX_DIMS]
    cdef Tensor vals, idx
    cdef int d
    if t._dtype.num == BOOL and not with_values:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    if dim is None:
        if t._numel == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0.")
        flat = t.reshape(-1)
        r = _arg_reduce(flat, 0, False, is_max, with_values, name)
        if keepdim and t._ndim > 0:
            return r.reshape([1] * t._ndim)
        return r
    if t._ndim == 0:
        _wrap_dim(dim, 0)
        t = t.reshape(1)
        vals_i = _arg_reduce(t, 0, False, is_max, with_values, name)
        return vals_i
    d = _wrap_dim(dim, t._ndim)
    if t._sizes[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    vals = _keepdim_shape_tensor(t, d, t._dtype.num)
    idx = _keepdim_shape_tensor(t, d, INT64)
    if vals._numel > 0:
        _lanes(LANE_ARGMAX if is_max else LANE_ARGMIN, t, d, vals, idx)
    for k in range(t._ndim):
        reduced[k] = k == d
    vals = _drop_dims(vals, reduced, keepdim)
    idx = _drop_dims(idx, reduced, keepdim)
    if with_values:
        return values_indices(vals, idx)
    return idx


cdef Tensor _cumulative(Tensor t, object dim, object dtype, bint is_sum, str name):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _cumulative(t, dim, dtype, is_sum, name)
        finally:
            recording_on()
        return _autograd().record_cumulative(t, res, dim, is_sum)
    cdef int dt, d
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    elif not _is_float_type(t._dtype.num):
        t = _cast(t, INT64)                         # PyTorch: integer cumsum/cumprod -> int64
    if t._ndim == 0:
        _wrap_dim(dim, 0)
        return _clone(t, t._dtype)
    d = _wrap_dim(dim, t._ndim)
    cdef Tensor out = _new_output(t._ndim, t._sizes, t._dtype.num, t)
    if out._numel > 0:
        _lanes(LANE_CUMSUM if is_sum else LANE_CUMPROD, t, d, out, None)
    return out


cdef Tensor _softmax(Tensor t, object dim, object dtype, bint take_log):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _softmax(t, dim, dtype, take_log)
        finally:
            recording_on()
        return _autograd().record_softmax(t, res, dim, take_log)
    cdef int d
    cdef str name = "log_softmax" if take_log else "softmax"
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    if not _is_float_type(t._dtype.num):
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for '
                           f"'{_DTYPE_TITLE[t._dtype.num].decode()}'")
    if t._ndim == 0:
        _wrap_dim(dim, 0)
        t = t.reshape(1)
        return _softmax(t, 0, None, take_log).reshape(())
    d = _wrap_dim(dim, t._ndim)
    if t._strides[d] == 1 or t._sizes[d] <= 1 or t._numel < 4096:
        # one fused pass per lane: the lane is contiguous (or the tensor small)
        out = _new_output(t._ndim, t._sizes, t._dtype.num, t)
        if (<Tensor>out)._numel > 0:
            _lanes(LANE_LOG_SOFTMAX if take_log else LANE_SOFTMAX, t, d, out, None)
        return out
    # the dim is not the densest one: whole-tensor passes vectorize across lanes instead
    m = _amax(t, d, True, True, name)
    shifted = _binary(B_SUB, t, m, None, None, False)
    if take_log:
        e = _unary(U_EXP, shifted, None, name)
        lse = _unary(U_LOG, _sum(e, d, True, None), None, name)
        return _binary(B_SUB, shifted, lse, shifted, None, False)
    e = _unary(U_EXP, shifted, shifted, name)
    return _binary(B_DIV, e, _sum(e, d, True, None), e, None, False)


cdef Tensor _logsumexp(Tensor t, object dim, bint keepdim):
    if grad_mode_enabled() and needs_grad(t):
        recording_off()
        try:
            res = _logsumexp(t, dim, keepdim)
        finally:
            recording_on()
        return _autograd().record_logsumexp(t, res, dim, keepdim)
    cdef bint reduced[MAX_DIMS]
    cdef int d
    if not _is_float_type(t._dtype.num):
        t = _cast(t, FLOAT32)
    if isinstance(dim, (tuple, list)) and len(dim) == 1:
        dim = dim[0]
    if isinstance(dim, (tuple, list)) or t._ndim == 0:
        # several dims: the stable formula on whole tensors
        if t._numel == 0:
            return _unary(U_LOG, _sum(_unary(U_EXP, t, None, "logsumexp"), dim, keepdim, None),
                          None, "logsumexp")
        m = _amax(t, dim, True, True, "logsumexp")
        m = _where(_unary(U_ISINF, m, None, "logsumexp"), 0.0, m)    # +-inf rows: shift by 0
        s = _sum(_unary(U_EXP, _binary(B_SUB, t, m, None, None, False), None, "logsumexp"),
                 dim, True, None)
        r = _binary(B_ADD, _unary(U_LOG, s, None, "logsumexp"), m, None, None, False)
        _reduce_mask(t, dim, reduced, "logsumexp")
        return _drop_dims(r.contiguous(), reduced, keepdim)
    d = _wrap_dim(dim, t._ndim)
    cdef Tensor out = _keepdim_shape_tensor(t, d, t._dtype.num)
    if t._sizes[d] == 0:
        out.fill_(-math.inf)
    elif out._numel > 0:
        _lanes(LANE_LOGSUMEXP, t, d, out, None)
    for k in range(t._ndim):
        reduced[k] = k == d
    return _drop_dims(out, reduced, keepdim)


cdef object _var(Tensor t, object dim, object unbiased, object correction, bint keepdim,
                 bint take_sqrt):
    cdef bint reduced[MAX_DIMS]
    cdef int64_t count = 1
    cdef int d
    cdef str name = "std" if take_sqrt else "var"
    if not _is_float_type(t._dtype.num):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise RuntimeError(f"{name}(): cannot specify both unbiased and correction")
    _reduce_mask(t, dim, reduced, name)
    for d in range(t._ndim):
        if reduced[d]:
            count *= t._sizes[d]
    mean = _mean(t, dim, True, None)
    dev = _binary(B_SUB, t, mean, None, None, False)
    sq = _unary(U_SQUARE, dev, None, name)
    denom = count - correction
    s = _sum(sq, dim, keepdim, None)
    s = _binary(B_DIV, s, float(denom) if denom > 0 else 0.0, None, None, False)
    if take_sqrt:
        s = _unary(U_SQRT, s, None, name)
    return s


cdef object _norm(Tensor t, object p, object dim, bint keepdim, object dtype):
    if grad_mode_enabled() and needs_grad(t) and (p in ("fro", None) or _is_number(p)):
        recording_off()
        try:
            res = _norm(t, p, dim, keepdim, dtype)
        finally:
            recording_on()
        return _autograd().record_norm(t, res, p, dim, keepdim, dtype)
    if dtype is not None:
        t = _cast(t, as_dtype(dtype).num)
    if not _is_float_type(t._dtype.num):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {_DTYPE_TITLE[t._dtype.num].decode()}")
    if p == "fro" or p is None:
        p = 2
    if not _is_number(p):
        raise ValueError(f"norm(): p must be a number, 'fro' or None, but got {p!r}")
    a = _unary(U_ABS, t, None, "norm")
    cdef bint reduced[MAX_DIMS]
    cdef int64_t rcount = 1, kept = 1
    _reduce_mask(t, dim, reduced, "norm")
    for d in range(t._ndim):
        if reduced[d]:
            rcount *= t._sizes[d]
        else:
            kept *= t._sizes[d]
    if (p == math.inf or p == -math.inf) and rcount == 0 and kept > 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty tensor "
                           f"because the operation does not have an identity")
    if p == math.inf:
        return _amax(a, dim, keepdim, True, "norm")
    if p == -math.inf:
        return _amax(a, dim, keepdim, False, "norm")
    if p == 0:
        return _sum(_cast(_binary(B_NE, a, 0, None, None, False), t._dtype.num), dim, keepdim,
                    None)
    if p == 1:
        return _sum(a, dim, keepdim, None)
    if p == 2:
        return _unary(U_SQRT, _sum(_unary(U_SQUARE, a, None, "norm"), dim, keepdim, None),
                      None, "norm")
    s = _sum(_binary(B_POW, a, p, None, None, False), dim, keepdim, None)
    return _binary(B_POW, s, 1.0 / p, None, None, False)


cdef object _any_all(Tensor t, object dim, bint keepdim, bint is_any):
    cdef int dt = t._dtype.num
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        # PyTorch's any/all over dim=() reduce over no dim (sum and mean: over all of them)
        r = _binary(B_NE, t, 0, None, None, False) if dt != BOOL else _clone(t, t._dtype)
        return _cast(r, UINT8) if dt == UINT8 else r
    if dt != BOOL:
        t = _binary(B_NE, t, 0, None, None, False)
    r = _reduce(R_MAX if is_any else R_MIN, t, dim, keepdim, BOOL, "any" if is_any else "all")
    return _cast(r, UINT8) if dt == UINT8 else r    # PyTorch keeps uint8 for uint8 input
