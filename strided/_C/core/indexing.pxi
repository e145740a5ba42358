# t[index] and t[index] = value (included into tensor.pyx).
#
# Basic indexing -- ints, slices (any nonzero step; negative steps give negative-stride
# views, as in NumPy), None and Ellipsis -- is parsed here in C and yields a view.
# Advanced indexing -- lists, integer tensors/arrays, bool masks -- copies, as in PyTorch
# and NumPy; NumPy computes it on a zero-copy array of this tensor, so its rules (and its
# out-of-range errors) are exactly NumPy's.

cdef type _NP_INTEGER = np.integer


cdef inline bint _is_int_index(object x):
    return ((PyLong_Check(x) and not isinstance(x, bool)) or
            PyObject_TypeCheck(x, <PyTypeObject*>_NP_INTEGER))


cdef Tensor _basic_index(Tensor t, object index):
    """The view t[index] for a basic index, or None when the index needs advanced indexing."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef Py_ssize_t start, stop, step, length
    cdef int64_t offset = t._offset, k
    cdef int consumed = 0, n_out = 0, sd = 0, i, j, n_items
    cdef bint seen_ellipsis = False
    cdef tuple items = index if PyTuple_Check(index) else (index,)
    n_items = <int>PyTuple_GET_SIZE(items)
    for i in range(n_items):
        x = <object>PyTuple_GET_ITEM(items, i)
        if PySlice_Check(x) or _is_int_index(x):
            consumed += 1
        elif x is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
        elif x is not None:
            if isinstance(x, float):
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                                 "byte or bool tensors are valid indices (got float)")
            return None
    if consumed > t._ndim:
        raise IndexError(f"too many indices for tensor of dimension {t._ndim}")
    for i in range(n_items):
        x = <object>PyTuple_GET_ITEM(items, i)
        if n_out >= MAX_DIMS:
            raise IndexError(f"the index would give a tensor of more than {MAX_DIMS} dimensions")
        if x is None:
            sizes[n_out] = 1
            strides[n_out] = t._sizes[sd] * t._strides[sd] if sd < t._ndim else 1
            n_out += 1
        elif x is Ellipsis:
            for j in range(t._ndim - consumed):
                if n_out >= MAX_DIMS:
                    raise IndexError(f"the index would give a tensor of more than {MAX_DIMS} dimensions")
                sizes[n_out] = t._sizes[sd]
                strides[n_out] = t._strides[sd]
                n_out += 1
                sd += 1
        elif PySlice_Check(x):
            PySlice_Unpack(x, &start, &stop, &step)
            length = PySlice_AdjustIndices(t._sizes[sd], &start, &stop, step)
            sizes[n_out] = length
            if mul_overflow(t._strides[sd], step, &strides[n_out]):
                if length > 1:
                    raise IndexError(f"slice step {step} is too large for dimension {sd}")
                strides[n_out] = t._strides[sd]
            _advance(&offset, start, t._strides[sd])     # empty slices too, like PyTorch
            n_out += 1
            sd += 1
        else:
            k = index_int64(x, "index")
            if k < -t._sizes[sd] or k >= t._sizes[sd]:
                raise IndexError(f"index {k} is out of bounds for dimension {sd} with size {t._sizes[sd]}")
            _advance(&offset, k + t._sizes[sd] if k < 0 else k, t._strides[sd])
            sd += 1
    while sd < t._ndim:
        if n_out >= MAX_DIMS:
            raise IndexError(f"the index would give a tensor of more than {MAX_DIMS} dimensions")
        sizes[n_out] = t._sizes[sd]
        strides[n_out] = t._strides[sd]
        n_out += 1
        sd += 1
    return _view(t, n_out, sizes, strides, offset, "index", index)


cdef object _numpy_index(object index):
    """The index with tensors replaced by numpy arrays, checked for index dtypes."""
    items = index if PyTuple_Check(index) else (index,)
    out = []
    for x in items:
        if isinstance(x, Tensor):
            if (<Tensor>x)._dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            x = _to_numpy(<Tensor>x)
        elif isinstance(x, (list, np.ndarray)):
            a = np.asarray(x) if not isinstance(x, list) or len(x) else np.asarray(x, dtype=np.int64)
            if a.dtype.kind not in "iub":
                raise IndexError(f"index arrays must be integer or bool, but got dtype {a.dtype}")
            x = a
        elif isinstance(x, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte or bool tensors are valid indices (got float)")
        out.append(x)
    return tuple(out)


cdef object _getitem(Tensor t, object index):
    cdef Tensor v
    if PyLong_Check(index) and not isinstance(index, bool):
        return _select(t, 0, index_int64(index, "index")) if t._ndim else _basic_index(t, index)
    v = _basic_index(t, index)
    if v is not None:
        return v
    np_index = _numpy_index(index)
    v = _tensor_from_numpy_copy(np.asarray(_to_numpy(t)[np_index]), t._dtype)
    if grad_mode_enabled() and needs_grad(t):
        _autograd().record_index(t, np_index, v)
    return v


cdef int _setitem(Tensor t, object index, object value) except -1:
    cdef Tensor v = _basic_index(t, index)
    cdef Tensor src
    if v is not None:
        src = _as_tensor(value, t._dtype)
        while src._ndim > v._ndim and src._sizes[0] == 1:
            src = _select(src, 0, 0)       # like NumPy and PyTorch: drop leading 1s of the value
        copy_into(v, src)
        return 0
    check_writable(t)
    arr = _to_numpy(t)
    if isinstance(value, Tensor):
        value = _to_numpy(<Tensor>value)
    arr[_numpy_index(index)] = value
    mark_written(t)
    return 0
