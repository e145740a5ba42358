# ---- out= arguments ---------------------------------------------------------------------------
#
# NOTE [ out= arguments ]
# A function called with out= writes its result into out and returns out itself; the
# (values, indices) forms (max/min over a dim, sort, topk, kthvalue) take a tuple of two
# tensors and return them as the function's named tuple.  The rules are PyTorch's, checked
# here once for every function (element-wise ops, reductions, products, joins, creation):
# - shape: out has the result's shape.  strided never resizes out: PyTorch resizes an out
#   with zero elements (and one of any other shape, with a deprecation warning); here any
#   mismatch raises, so an out= never reallocates behind its views.
# - dtype, by the function's rule: "same" -- exactly the result's dtype (PyTorch's
#   "Expected out tensor to have dtype float, but got double instead": matmul, argmax,
#   sort, ...); "cast" -- any dtype the result's can be cast to (canCast: no float into an
#   integer, nothing but bool into bool: element-wise ops, mean, var, outer); "any" -- any
#   dtype (functions that compute in out's dtype, as sum(x, out=long_tensor) or the
#   factories, pass dtype=out.dtype to the computation and write its result).
# - autograd: with grad mode on, an input or out that requires grad raises PyTorch's error
#   (out= forms do not record history); the write itself is an in-place write, so out's
#   version counter moves and a saved copy of out fails its check at backward.
# - overlap: functions compute into a fresh result and copy it into out (copy_into copies
#   through a temporary when the two share memory), so out may be an input:
#   mm(a, b, out=a) gives a @ b, never a half-overwritten mix.

cdef dict _C_TYPE_NAMES = {BOOL: "bool", UINT8: "unsigned char", INT32: "int",
                           INT64: "long int", FLOAT32: "float", FLOAT64: "double"}


cdef Tensor _out_tensor(object out, str name):
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    return <Tensor>out


cpdef int _check_out_grad(object out, str name, tuple inputs) except -1:
    """PyTorch's error when an out= call would need history: grad mode on and an input (or
    out, a Tensor or a tuple of them) requires grad."""
    if not grad_mode_enabled():
        return 0
    for t in inputs:
        if isinstance(t, Tensor) and needs_grad(<Tensor>t):
            break
    else:
        for t in (out if isinstance(out, tuple) else (out,)):
            if isinstance(t, Tensor) and needs_grad(<Tensor>t):
                break
        else:
            return 0
    raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                       f"differentiation, but one of the arguments requires grad.")


cdef int check_out(Tensor out, int ndim, const int64_t* shape, int result_type, str name,
                   str rule) except -1:
    """out can receive a result of this shape and dtype under `rule` ("same", "cast" or
    "any", NOTE [ out= arguments ]) and is writable."""
    if out._ndim != ndim or memcmp(out._sizes, shape, ndim * sizeof(int64_t)) != 0:
        raise RuntimeError(f"{name}(): output with shape {list(out.shape)} doesn't match the "
                           f"result's shape {[shape[d] for d in range(ndim)]} (strided does "
                           f"not resize out=)")
    if rule == "same":
        if out._dtype.num != result_type:
            raise RuntimeError(f"Expected out tensor to have dtype "
                               f"{_C_TYPE_NAMES[result_type]}, but got "
                               f"{_C_TYPE_NAMES[out._dtype.num]} instead")
    elif rule == "cast":
        if not _can_cast(result_type, out._dtype.num):
            raise RuntimeError(f"result type {_DTYPE_TITLE[result_type].decode()} can't be "
                               f"cast to the desired output type "
                               f"{_DTYPE_TITLE[out._dtype.num].decode()}")
    elif rule != "any":
        raise ValueError(f"unknown out= dtype rule {rule!r}")
    check_writable(out)
    return 0


cpdef object _write_out(object out, Tensor result, str name, tuple inputs=(), str rule="same"):
    """out[...] = result after the checks of NOTE [ out= arguments ]; returns out.

    inputs: the call's tensor arguments (for the autograd check)."""
    cdef Tensor o = _out_tensor(out, name)
    _check_out_grad(o, name, inputs)
    check_out(o, result._ndim, result._sizes, result._dtype.num, name, rule)
    copy_into(o, result)
    return o


cpdef tuple _write_outs(object out, tuple results, str name, tuple inputs=(), str rule="same"):
    """The tuple form of _write_out: out a tuple (or list) of len(results) tensors, all
    checked before any is written; returns them as a tuple."""
    cdef Py_ssize_t i, n = len(results)
    cdef bint ok = isinstance(out, (tuple, list)) and len(out) == n
    if ok:
        for t in out:
            ok = ok and isinstance(t, Tensor)
    if not ok:
        raise TypeError(f"{name}(): argument 'out' must be tuple of {n} Tensors, not "
                        f"{type(out).__name__}")
    outs = tuple(out)
    _check_out_grad(outs, name, inputs)
    for i in range(n):
        check_out(<Tensor>outs[i], (<Tensor>results[i])._ndim, (<Tensor>results[i])._sizes,
                  (<Tensor>results[i])._dtype.num, name, rule)
    if n == 2 and _memory_overlaps(<Tensor>outs[0], <Tensor>outs[1]):
        raise RuntimeError(f"{name}(): the outputs must not share memory")
    for i in range(n):
        copy_into(<Tensor>outs[i], <Tensor>results[i])
    return outs
