# Copies, Python scalars, numpy and the buffer protocol (included into tensor.pyx).

from cpython.buffer cimport (PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES,
                             PyBUF_C_CONTIGUOUS, PyBUF_F_CONTIGUOUS, PyBUF_ANY_CONTIGUOUS)
from cpython.ref cimport Py_INCREF

from cpython.object cimport PyTypeObject, PyObject_TypeCheck

cdef extern from "numpy/arrayobject.h":
    ctypedef struct _NpyDescr "PyArray_Descr"
    object _PyArray_NewFromDescr "PyArray_NewFromDescr"(
        PyTypeObject* subtype, _NpyDescr* descr, int nd, cnp.npy_intp* dims,
        cnp.npy_intp* strides, void* data, int flags, PyObject* obj)

import math

cdef double _FLOAT32_MAX = 3.4028234663852886e38

cdef const char* _BUFFER_FORMATS[6]
_BUFFER_FORMATS[:] = [b"?", b"B", b"i", b"q", b"f", b"d"]


cdef object _read_scalar(const char* p, int num):
    if num == FLOAT32:
        return (<const float*>p)[0]
    if num == FLOAT64:
        return (<const double*>p)[0]
    if num == INT64:
        return (<const int64_t*>p)[0]
    if num == INT32:
        return (<const int32_t*>p)[0]
    if num == UINT8:
        return (<const uint8_t*>p)[0]
    return (<const uint8_t*>p)[0] != 0


cdef bint _has_zero_stride(Tensor t) noexcept:
    """True when two elements of t share memory through a zero stride."""
    cdef int d
    if t._numel == 0:
        return False
    for d in range(t._ndim):
        if t._strides[d] == 0 and t._sizes[d] > 1:
            return True
    return False


cdef int check_writable(Tensor t) except -1:
    # NOTE [ Read-only storage ]
    # Memory from a read-only producer -- a NumPy array with writeable=False (a read-only
    # memmap among them) or a DLPack tensor flagged DLPACK_FLAG_BITMASK_READ_ONLY -- is
    # wrapped in a Storage with read_only set; views share their Storage, so they are
    # read-only too.  Writing there would fault or corrupt the producer's data, so every
    # write path calls this on the tensor it writes before it takes data_of() for output:
    # copy_into (copy_, fill_, zero_, __setitem__), _check_out (in-place ops and out=),
    # index_add_, ops/gemm's out, the optimizer updates and autograd's accumulation.  The
    # flag test is the only cost.  Exports keep the promise: .numpy(), __array__ and the
    # buffer protocol give read-only arrays, and DLPack flags it (versioned capsules) or
    # refuses (legacy ones cannot say it), as NumPy does.  Copies (clone(), tensor(),
    # from_dlpack(x, copy=True)) are writable.
    refuse_read_only(t)
    return check_no_internal_overlap(t)


cdef inline int refuse_read_only(Tensor t) except -1:
    if t._storage.read_only:
        raise ValueError(_read_only_message(t._storage))
    return 0


cdef void mark_written(Tensor t) noexcept:
    # NOTE [ Version counter ]
    # A Storage counts the writes into it (_version).  A tensor saved for backward records
    # the count when saved (SavedTensor in strided/autograd/graph.py) and backward refuses
    # one whose storage was written since, as PyTorch does; views share the counter, so a
    # write through any view of the memory counts.  Every write path calls this once,
    # after it wrote: copy_into, in-place ops and out= (ops/elementwise.pxi, ops/reduce.pxi),
    # __setitem__ through NumPy, index_add_, ops/gemm's C, the optimizer updates and
    # autograd's accumulation -- the counterpart of check_writable before the write.
    t._storage._version += 1


cdef str _read_only_message(Storage s):
    source = ("a NumPy array that is not writeable (from_numpy)" if isinstance(s.owner, np.ndarray)
              else "a DLPack producer that marked it read-only (from_dlpack)")
    return (f"cannot write into a read-only tensor: its memory belongs to {source}; "
            f"clone() it (or use strided.tensor(...) / from_dlpack(..., copy=True)) for a "
            f"writable copy")


cdef int check_no_internal_overlap(Tensor t) except -1:
    # NOTE [ Writes into overlapping tensors ]
    # An in-place write into a tensor two of whose elements share memory (an expanded
    # tensor, some as_strided views) would depend on the write order, so it is refused,
    # with PyTorch's message.  The quick test sorts dims by |stride| and checks that each
    # stride jumps past everything the smaller dims can reach; when that fails the
    # layout may still be overlap-free (e.g. sizes (3, 2), strides (2, 3)), so the exact
    # answer comes from marking every addressed element in a bitmap.
    if t._numel <= 1 or not _may_overlap_internally(t):
        return 0
    if _overlaps_exactly(t):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    return 0


cdef bint _may_overlap_internally(Tensor t) noexcept:
    cdef int64_t s[MAX_DIMS]
    cdef int64_t n[MAX_DIMS]
    cdef int i, j, k = 0
    cdef int64_t reach = 0, a
    for i in range(t._ndim):
        if t._sizes[i] > 1:
            a = t._strides[i] if t._strides[i] >= 0 else -t._strides[i]
            j = k
            while j > 0 and s[j - 1] > a:
                s[j] = s[j - 1]
                n[j] = n[j - 1]
                j -= 1
            s[j] = a
            n[j] = t._sizes[i]
            k += 1
    for i in range(k):
        if s[i] <= reach:
            return True
        reach += (n[i] - 1) * s[i]
    return False


cdef bint _overlaps_exactly(Tensor t):
    cdef int64_t lo, hi, i, pos, rem
    cdef int d
    cdef uint8_t* seen
    element_extent(t._ndim, t._sizes, t._strides, &lo, &hi)
    if hi - lo + 1 < t._numel:
        return True
    seen = <uint8_t*>calloc(hi - lo + 1, 1)
    if seen == NULL:
        raise MemoryError()
    try:
        for i in range(t._numel):
            rem = i
            pos = -lo
            for d in range(t._ndim - 1, -1, -1):
                pos += (rem % t._sizes[d]) * t._strides[d]
                rem //= t._sizes[d]
            if seen[pos]:
                return True
            seen[pos] = 1
        return False
    finally:
        free(seen)


cdef bint _memory_overlaps(Tensor a, Tensor b) except -1:
    """True when a and b may share memory: their byte extents intersect.  Compared by
    address, not by Storage, since two Storages can wrap one buffer (from_numpy, DLPack)."""
    cdef uintptr_t alo, ahi, blo, bhi
    if a._numel == 0 or b._numel == 0:
        return False
    _byte_extent(a, &alo, &ahi)
    _byte_extent(b, &blo, &bhi)
    return alo < bhi and blo < ahi


cdef int _byte_extent(Tensor t, uintptr_t* lo, uintptr_t* hi) except -1:
    """[lo, hi): the bytes t's elements occupy (t non-empty)."""
    cdef int64_t first, last
    element_extent(t._ndim, t._sizes, t._strides, &first, &last)
    lo[0] = <uintptr_t>data_of(t) + first * t._dtype.itemsize
    hi[0] = <uintptr_t>data_of(t) + (last + 1) * t._dtype.itemsize
    return 0


cdef int copy_into(Tensor dst, Tensor src) except -1:
    """dst[...] = src, broadcasting src to dst's shape and casting to dst's dtype.

    When src shares memory with dst other than element for element (a[1:] = a[:-1]),
    src is copied to a temporary first, so the result is NumPy's, not order-dependent.
    """
    if src._ndim != dst._ndim or memcmp(src._sizes, dst._sizes, dst._ndim * sizeof(int64_t)) != 0:
        try:
            src = _expand(src, dst.shape)
        except RuntimeError:
            raise RuntimeError(f"cannot copy a tensor of shape {list(src.shape)} into a tensor of "
                               f"shape {list(dst.shape)}: the shapes do not broadcast") from None
    check_writable(dst)
    if _memory_overlaps(dst, src) and not _same_layout(dst, src):
        src = _clone(src, src._dtype)
    _copy(dst, src)
    mark_written(dst)
    return 0


cdef enum:
    NOGIL_MIN_ELEMENTS = 16384   # below this, releasing the GIL costs more than the copy


cdef inline void _copy(Tensor dst, Tensor src) noexcept:
    """The copy kernel on same-shape tensors, GIL released for large copies."""
    cdef int ndim = dst._ndim, dt = dst._dtype.num, st = src._dtype.num
    cdef int64_t* sizes = dst._sizes
    cdef int64_t* dstrides = dst._strides
    cdef int64_t* sstrides = src._strides
    cdef char* d = data_of(dst)
    cdef char* s = data_of(src)
    if dst._numel < NOGIL_MIN_ELEMENTS:
        copy_strided(ndim, sizes, d, dstrides, dt, s, sstrides, st)
    else:
        with nogil:
            copy_strided(ndim, sizes, d, dstrides, dt, s, sstrides, st)


cdef bint _same_layout(Tensor a, Tensor b) noexcept:
    return (data_of(a) == data_of(b) and a._dtype is b._dtype and
            memcmp(a._strides, b._strides, a._ndim * sizeof(int64_t)) == 0)


cdef Tensor _clone(Tensor t, DType dtype):
    """A contiguous copy of t in fresh storage, cast to dtype."""
    cdef Tensor out = new_tensor(t._ndim, t._sizes, dtype, False)
    _copy(out, t)
    if grad_mode_enabled() and needs_grad(t) and dtype.is_floating_point:
        _autograd().record_copy(t, out)
    return out


cdef Tensor _scalar_tensor(object value, DType dtype):
    """A 0-d tensor holding value converted to dtype, with PyTorch's overflow checks."""
    cdef Tensor out = new_tensor(0, NULL, dtype, False)
    cdef char* p = data_of(out)
    cdef int num = dtype.num
    if isinstance(value, Tensor):
        if (<Tensor>value)._numel != 1:
            raise RuntimeError(f"a Tensor with {(<Tensor>value)._numel} elements cannot be "
                               f"converted to Scalar")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float)):   # bool is an int
        raise TypeError(f"expected a number (bool, int or float), but got {type(value).__name__}")
    if num == BOOL:
        (<uint8_t*>p)[0] = value != 0
    elif num == FLOAT32 or num == FLOAT64:
        if isinstance(value, float) and (value != value or math.isinf(value)):
            f = value               # nan and +-inf convert to every float type
        else:
            try:
                f = float(value)
            except OverflowError:
                f = math.inf
            if math.isinf(f) or (num == FLOAT32 and abs(f) > _FLOAT32_MAX):
                raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
        if num == FLOAT32:
            (<float*>p)[0] = f
        else:
            (<double*>p)[0] = f
    else:
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
            value = int(value)
        info = np.iinfo(dtype.numpy_dtype)
        if value < info.min or value > info.max:
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
        if num == UINT8:
            (<uint8_t*>p)[0] = value
        elif num == INT32:
            (<int32_t*>p)[0] = value
        else:
            (<int64_t*>p)[0] = value
    return out


cdef Tensor _as_tensor(object value, DType dtype_for_scalars):
    """value as a Tensor: tensors pass through, numbers become 0-d, the rest via numpy."""
    if isinstance(value, Tensor):
        return <Tensor>value
    if isinstance(value, (int, float, np.generic)):
        return _scalar_tensor(value, dtype_for_scalars)
    return _tensor_from_data(value, None)


cdef object _to_numpy(Tensor t):
    """A numpy array over t's memory with t's strides; the array keeps the storage alive."""
    cdef cnp.npy_intp dims[MAX_DIMS]
    cdef cnp.npy_intp strides[MAX_DIMS]
    cdef int d, itemsize = t._dtype.itemsize
    cdef int flags = 0 if t._storage.read_only or _has_zero_stride(t) else cnp.NPY_ARRAY_WRITEABLE
    _export_layout(t, dims, strides)
    descr = t._dtype.numpy_dtype
    Py_INCREF(descr)      # PyArray_NewFromDescr steals a reference
    arr = _PyArray_NewFromDescr(<PyTypeObject*>cnp.ndarray, <_NpyDescr*>descr, t._ndim, dims,
                                strides, data_of(t), flags, NULL)
    cnp.set_array_base(arr, t._storage)
    return arr


cdef void _export_layout(Tensor t, cnp.npy_intp* dims, cnp.npy_intp* strides) noexcept:
    # Strides in bytes.  A size-1 dim may have any stride; exporters normalise it to the
    # contiguous value so consumers that test contiguity by strides don't trip on it.
    cdef int d, itemsize = t._dtype.itemsize
    cdef Py_ssize_t inner = itemsize
    for d in range(t._ndim - 1, -1, -1):
        dims[d] = t._sizes[d]
        strides[d] = inner if t._sizes[d] == 1 else t._strides[d] * itemsize
        inner = strides[d] * dims[d] if dims[d] > 0 else strides[d]


cdef int _fill_buffer(Tensor t, Py_buffer* buf, int flags) except -1:
    cdef bint readonly = t._storage.read_only or _has_zero_stride(t)
    if flags & PyBUF_WRITABLE and t._storage.read_only:
        raise BufferError(_read_only_message(t._storage))
    if flags & PyBUF_WRITABLE and readonly:
        raise BufferError("this tensor has zero strides (e.g. from expand): several elements share "
                          "memory, so it is exported read-only")
    if (flags & PyBUF_STRIDES) != PyBUF_STRIDES and not t._contiguous:
        raise BufferError("the consumer asked for a contiguous buffer, but this tensor is not "
                          "contiguous; call .contiguous() first")
    if ((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS or (flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS
            or (flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS) and not t._contiguous:
        raise BufferError("the consumer asked for a contiguous buffer, but this tensor is not "
                          "contiguous; call .contiguous() first")
    cdef Py_ssize_t* layout = <Py_ssize_t*>malloc(2 * (t._ndim + 1) * sizeof(Py_ssize_t))
    if layout == NULL:
        raise MemoryError()
    _export_layout(t, <cnp.npy_intp*>layout, <cnp.npy_intp*>(layout + t._ndim))
    buf.buf = data_of(t)
    buf.obj = t
    buf.len = t._numel * t._dtype.itemsize
    buf.readonly = readonly
    buf.itemsize = t._dtype.itemsize
    buf.format = <char*>_BUFFER_FORMATS[t._dtype.num] if flags & PyBUF_FORMAT else NULL
    buf.ndim = t._ndim
    buf.shape = layout if (flags & PyBUF_ND) == PyBUF_ND else NULL
    buf.strides = layout + t._ndim if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
    buf.suboffsets = NULL
    buf.internal = layout
    return 0


# ---- from numpy and Python data ---------------------------------------------------------

cdef Tensor _from_numpy(object a):
    """A tensor sharing memory with the numpy array a (any strides); a stays alive.  A
    non-writeable array gives a read-only tensor (NOTE [ Read-only storage ])."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    cdef DType dt
    if not a.dtype.isnative:
        raise TypeError(f"can't convert np.ndarray with non-native byte order ({a.dtype.str}); "
                        f"use a.astype(a.dtype.newbyteorder('='))")
    try:
        dt = as_dtype(a.dtype)
    except TypeError:
        raise TypeError(f"can't convert np.ndarray of type {a.dtype}. The only supported types "
                        f"are: float64, float32, int64, int32, uint8, and bool.") from None
    if a.ndim > MAX_DIMS:
        raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions, but got {a.ndim}")
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    cdef int d, nd = a.ndim
    cdef int64_t itemsize = dt.itemsize, lo = 0, hi = 0, numel = a.size
    cdef uintptr_t data = a.__array_interface__["data"][0]
    for d in range(nd):
        sizes[d] = a.shape[d]
        bs = a.strides[d]
        if bs % itemsize:
            raise ValueError(f"given numpy array strides not a multiple of the element byte size "
                             f"(stride {bs} bytes at dim {d}, element size {itemsize}); copy the "
                             f"numpy array to reallocate the memory")
        strides[d] = bs // itemsize
    if numel:
        element_extent(nd, sizes, strides, &lo, &hi)
    storage = wrap_memory(<char*>(data + lo * itemsize), hi - lo + 1 if numel else 0, dt, a,
                          not a.flags.writeable)
    return make_tensor(storage, nd, sizes, strides, -lo if numel else 0, None)


cdef Tensor _tensor_from_numpy_copy(object a, DType dtype):
    """A new contiguous tensor holding a copy of array a (cast to dtype if given)."""
    cdef Tensor src = _from_numpy(a)
    return _clone(src, dtype if dtype is not None else src._dtype)


cdef Tensor _tensor_from_data(object data, object dtype):
    """strided.tensor(data, dtype): always a copy, in fresh storage."""
    cdef DType dt = as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        return _clone(<Tensor>data, dt if dt is not None else (<Tensor>data)._dtype)
    from_python = not isinstance(data, (np.ndarray, np.generic))
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"could not build a tensor from this data: {e}") from None
    if from_python and (arr.dtype.kind == "O" and _has_int_beyond_int64(arr) or
                        arr.dtype == np.uint64 and arr.size and arr.max() >= 2 ** 63):
        raise ValueError(f"could not build a tensor from {type(data).__name__} data: an int is "
                         f"outside the int64 range [-2**63, 2**63 - 1]")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"could not build a tensor from {type(data).__name__} data of numpy dtype "
                        f"{arr.dtype}: expected numbers (bool, int or float)")
    if dt is None:
        if from_python and arr.dtype.kind == "f" and not isinstance(_first_leaf(data), np.floating):
            dt = dtype_from_num(FLOAT32)            # Python floats default to float32
        else:
            try:
                dt = as_dtype(arr.dtype)
            except TypeError:
                raise TypeError(f"unsupported numpy dtype {arr.dtype}: strided supports bool, "
                                f"uint8, int32, int64, float32 and float64 (pass dtype= to "
                                f"convert)") from None
    if from_python and not dt.is_floating_point and dt.num != BOOL and arr.size:
        _check_int_range(arr, dt)
    if arr.dtype != dt.numpy_dtype:
        arr = arr.astype(dt.numpy_dtype)
    return _tensor_from_numpy_copy(arr, dt)


cdef bint _has_int_beyond_int64(object arr):
    """NumPy keeps Python ints beyond int64 (or uint64) as objects (NOTE [ Integer
    arguments beyond int64 ]: out-of-range ints are a ValueError, as in PyTorch)."""
    for x in arr.flat:
        if PyLong_Check(x) and not -2 ** 63 <= x < 2 ** 63:
            return True
    return False


cdef object _first_leaf(object data):
    while isinstance(data, (list, tuple)) and len(data):
        data = data[0]
    return data


cdef int _check_int_range(object arr, DType dt) except -1:
    """Python values given an explicit integer dtype must fit it (as in PyTorch)."""
    info = np.iinfo(dt.numpy_dtype)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
    if arr.min() < info.min or arr.max() > info.max:
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
    return 0


# ---- public constructors (strided.creation wraps them) ----------------------------------

def from_numpy(a):
    """A tensor sharing memory with numpy array a: any strides, negative ones too.  A
    non-writeable array (a read-only memmap, np.broadcast_to's result) gives a read-only
    tensor: writes raise ValueError; strided.tensor(a) copies instead.

    >>> import numpy as np
    >>> a = np.arange(3.0)
    >>> t = strided.from_numpy(a)
    >>> a[0] = 7
    >>> t
    tensor([7., 1., 2.], dtype=strided.float64)
    """
    return _from_numpy(a)


def tensor(data, dtype=None, *, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of data (nested lists, scalars, numpy arrays, tensors).

    Python floats give float32, ints int64, bools bool; numpy arrays keep their dtype.
    device: None or the CPU (strided.device).  requires_grad=True makes the result a leaf
    that records operations; a tensor given as data is copied and detached.

    >>> strided.tensor([[1, 2], [3, 4]])
    tensor([[1, 2],
            [3, 4]])
    >>> strided.tensor([1, 2.5])
    tensor([1.0000, 2.5000])
    """
    cdef Tensor t
    check_device(device, "tensor()")
    if isinstance(data, Tensor):
        data = (<Tensor>data).detach()
    t = _tensor_from_data(data, dtype)
    if requires_grad:
        t.requires_grad_()
    return t


def _empty(shape, dtype, bint zero):
    """A new contiguous tensor of the given shape (uninitialised unless zero)."""
    cdef int64_t sizes[MAX_DIMS]
    cdef int n = _parse_ints(shape, sizes, "size")
    return new_tensor(n, sizes, as_dtype(dtype), zero)


def _full(shape, fill_value, dtype):
    cdef int64_t sizes[MAX_DIMS]
    cdef int n = _parse_ints(shape, sizes, "size")
    cdef DType dt = as_dtype(dtype)
    cdef Tensor out = new_tensor(n, sizes, dt, False)
    copy_into(out, _scalar_tensor(fill_value, dt))
    return out


def broadcast_shapes(*shapes):
    """The shape (a strided.Size) that all `shapes` broadcast to (NumPy/PyTorch rules); an
    int is the shape (int,).  PyTorch's errors: ValueError for a negative size,
    RuntimeError for shapes that do not broadcast or are not ints."""
    cdef int64_t out[MAX_DIMS]
    cdef int64_t cur[MAX_DIMS]
    cdef int n = 0, m, i, j, k
    for k, shape in enumerate(shapes):
        if not (PyLong_Check(shape) or isinstance(shape, (tuple, list))):
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list "
                               f"of ints, got {shape}")
        m = _parse_ints(shape, cur, "broadcast_shapes(): shape")
        for i in range(m):
            if cur[i] < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
        if m > n:
            for i in range(m - 1, -1, -1):
                out[i] = out[i - (m - n)] if i - (m - n) >= 0 else 1
            n = m
        for i in range(m):
            j = n - m + i
            if out[j] == 1:
                out[j] = cur[i]
            elif cur[i] != 1 and cur[i] != out[j]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {cur[i]} at {j - n}! "
                    f"Mismatching argument at index {k} had {tuple(shape) if not PyLong_Check(shape) else (shape,)}; "
                    f"but expected shape should be broadcastable to {_shape_str(n, out)}")
    return _size_of(n, out)
