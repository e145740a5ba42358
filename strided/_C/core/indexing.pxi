# t[index] and t[index] = value (included into tensor.pyx).
#
# Basic indexing -- ints (0-d int32/int64 tensors among them, as in PyTorch), slices (any
# nonzero step; negative steps give negative-stride views, as in NumPy), None and Ellipsis
# -- is parsed here in C and yields a view.
# Advanced indexing -- lists, integer tensors/arrays, bool masks (uint8 tensors and arrays
# are masks too: PyTorch's deprecated but supported byte masks) -- copies, as in PyTorch
# and NumPy; NumPy computes it on a zero-copy array of this tensor, after the masks'
# shapes are checked with PyTorch's error (_numpy_index).

cdef type _NP_INTEGER = np.integer
import re
import warnings


cdef inline bint _is_int_index(object x):
    if PyLong_Check(x):
        return not isinstance(x, bool)
    if isinstance(x, Tensor):               # a 0-d integer tensor indexes like an int
        return (<Tensor>x)._ndim == 0 and ((<Tensor>x)._dtype.num == INT64 or
                                           (<Tensor>x)._dtype.num == INT32)
    return PyObject_TypeCheck(x, <PyTypeObject*>_NP_INTEGER)


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
        if t._ndim == 0 and not PyTuple_Check(index):
            _refuse_0d_index(index)
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


cdef str _torch_index_message(str numpy_message):
    """NumPy's out-of-range message for an index array in PyTorch's words ("dimension" for
    "axis"; an index into a size-0 dim names no index or dim, as PyTorch's)."""
    m = re.match(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)$", numpy_message)
    if m is None:
        return numpy_message
    if m.group(3) == "0":
        return "index is out of bounds for dimension with size 0"
    return f"index {m.group(1)} is out of bounds for dimension {m.group(2)} with size {m.group(3)}"


cdef int _refuse_0d_index(object x) except -1:
    """PyTorch's errors for an int or a slice (not in a tuple) indexing a 0-d tensor."""
    if PySlice_Check(x):
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if _is_int_index(x) and not isinstance(x, Tensor):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    return 0


cdef object _numpy_index(Tensor t, object index):
    """The index with tensors replaced by numpy arrays, checked for index dtypes; uint8
    tensors and arrays become bool masks (PyTorch's byte masks), and every mask's shape is
    checked against the dims it indexes, with PyTorch's IndexError."""
    items = index if PyTuple_Check(index) else (index,)
    out = []
    cdef int sd = 0, consumed = 0, j
    if sum(1 for x in items if x is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    cdef list indexed = []          # the shape after basic indexing, as PyTorch reports it
    for x in items:
        if isinstance(x, Tensor):
            consumed += (<Tensor>x)._ndim if (<Tensor>x)._dtype.num in (BOOL, UINT8) else 1
        elif isinstance(x, (list, np.ndarray)):
            a = np.asarray(x)
            consumed += a.ndim if a.dtype.kind == "b" or a.dtype == np.uint8 else 1
        elif x is not None and x is not Ellipsis:
            consumed += 1
    for x in items:
        if isinstance(x, Tensor):
            if (<Tensor>x)._dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if (<Tensor>x)._dtype.num == UINT8:
                warnings.warn("indexing with dtype strided.uint8 is now deprecated, please use a "
                              "dtype strided.bool instead.", UserWarning, stacklevel=3)
            x = _to_numpy(<Tensor>x)
        elif isinstance(x, (list, np.ndarray)):
            a = np.asarray(x) if not isinstance(x, list) or len(x) else np.asarray(x, dtype=np.int64)
            if a.dtype.kind not in "iub":
                raise IndexError(f"index arrays must be integer or bool, but got dtype {a.dtype}")
            x = a
        elif isinstance(x, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte or bool tensors are valid indices (got float)")
        if isinstance(x, np.ndarray):
            if x.dtype == np.uint8:
                x = x != 0
            if x.dtype.kind == "b":
                if sd + x.ndim > t._ndim:
                    raise IndexError(f"too many indices for tensor of dimension {t._ndim}")
                for j in range(x.ndim):
                    if x.shape[j] != t._sizes[sd + j]:
                        shape = indexed + [t._sizes[k] for k in range(sd, t._ndim)]
                        raise IndexError(
                            f"The shape of the mask {list(x.shape)} at index {j} does not match "
                            f"the shape of the indexed tensor {shape} at index {len(indexed) + j}")
                indexed.extend([t._sizes[sd + j] for j in range(x.ndim)])
                sd += x.ndim
            else:
                if sd < t._ndim:
                    indexed.append(t._sizes[sd])
                sd += 1
        elif x is None:
            indexed.append(1)
        elif x is Ellipsis:
            for j in range(sd, sd + max(t._ndim - consumed, 0)):
                indexed.append(t._sizes[j])
            sd += max(t._ndim - consumed, 0)
            # spelled out as slices: NumPy counts an Ellipsis between two advanced indices
            # as separating them even when it covers no dim; PyTorch does not
            out.extend([slice(None)] * max(t._ndim - consumed, 0))
            continue
        elif PySlice_Check(x):
            if sd < t._ndim:
                indexed.append(len(range(*x.indices(t._sizes[sd]))))
            sd += 1
        else:
            sd += 1
        out.append(x)
    return tuple(out)


cdef object _sequence_as_tuple(object index):
    """PyTorch's reading of a list index: fewer than 32 items of which one is a sequence, a
    tensor, a slice, None or Ellipsis index as the tuple of them (x[[[0, 1], [1, 2]]] is
    x[[0, 1], [1, 2]]), with PyTorch's deprecation warning; other lists are one index array."""
    if type(index) is not list or len(index) >= 32:
        return index
    for x in index:
        if (x is None or x is Ellipsis or PySlice_Check(x) or
                isinstance(x, (Tensor, list, tuple, range, np.ndarray))):
            warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated; "
                          "use x[tuple(seq)] instead of x[seq] (PyTorch reads it as a tuple, and "
                          "so does strided)", UserWarning, stacklevel=3)
            return tuple(index)
    return index


cdef object _split_ints(object index):
    """PyTorch applies ints (and 0-d integer tensors) as selects before advanced indexing,
    so they never take part in NumPy's rule that moves the advanced dims to the front when
    advanced indices are not adjacent: x[0, :, [0, 1]] is x[0][:, [0, 1]], whose dims keep
    their order.  Returns (the ints as a basic index, the rest of the index), or None when
    the index has no int or no advanced entry."""
    cdef bint has_int = False, has_adv = False
    cdef int n
    if not PyTuple_Check(index):
        return None
    for x in index:
        if isinstance(x, bool) or (isinstance(x, Tensor) and (<Tensor>x)._ndim == 0 and
                                   not _is_int_index(x)):
            return None                     # True/False and 0-d masks: NumPy's reading
        if _is_int_index(x):
            has_int = True
        elif not (x is None or x is Ellipsis or PySlice_Check(x)):
            has_adv = True
    if not (has_int and has_adv):
        return None
    first, rest = [], []
    for x in index:
        if _is_int_index(x):
            first.append(x)
        elif x is None:
            first.append(None)
            rest.append(slice(None))        # the dim first inserted
        elif x is Ellipsis:
            first.append(Ellipsis)
            rest.append(Ellipsis)
        elif PySlice_Check(x):
            first.append(slice(None))
            rest.append(x)
        else:                               # advanced: a mask covers as many dims as it has
            if isinstance(x, Tensor):
                n = (<Tensor>x)._ndim if (<Tensor>x)._dtype.num in (BOOL, UINT8) else 1
            else:
                a = np.asarray(x)
                n = a.ndim if a.dtype.kind == "b" or a.dtype == np.uint8 else 1
            first.extend([slice(None)] * n)
            rest.append(x)
    return tuple(first), tuple(rest)


cdef object _getitem(Tensor t, object index):
    cdef Tensor v
    if PyLong_Check(index) and not isinstance(index, bool):
        return _select(t, 0, index_int64(index, "index")) if t._ndim else _basic_index(t, index)
    index = _sequence_as_tuple(index)
    v = _basic_index(t, index)
    if v is not None:
        return v
    split = _split_ints(index)
    if split is not None:
        return _getitem(_basic_index(t, split[0]), split[1])
    np_index = _numpy_index(t, index)
    try:
        picked = _to_numpy(t)[np_index]
    except IndexError as e:
        raise IndexError(_torch_index_message(str(e))) from None
    v = _tensor_from_numpy_copy(np.asarray(picked), t._dtype)
    if grad_mode_enabled() and needs_grad(t):
        _autograd().record_index(t, np_index, v)
    return v


cdef int _setitem(Tensor t, object index, object value) except -1:
    index = _sequence_as_tuple(index)
    cdef Tensor v = _basic_index(t, index)
    cdef Tensor src
    if v is None:
        split = _split_ints(index)          # the ints first, as PyTorch (_split_ints)
        if split is not None:
            return _setitem(_basic_index(t, split[0]), split[1], value)
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
    np_index = _numpy_index(t, index)
    try:
        arr[np_index] = value
    except IndexError as e:
        raise IndexError(_torch_index_message(str(e))) from None
    except (ValueError, TypeError):
        # as PyTorch: the value's leading size-1 dims are dropped, and a value that still
        # does not broadcast to the indexing result is a RuntimeError with PyTorch's words
        val = np.asarray(value)
        while val.ndim and val.shape[0] == 1:
            val = val[0]
            try:
                arr[np_index] = val
                break
            except (ValueError, TypeError):
                pass
        else:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(value))} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{list(arr[np_index].shape)}") from None
    mark_written(t)
    return 0
