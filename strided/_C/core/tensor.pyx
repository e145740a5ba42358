"""Tensor: sizes, strides and a storage offset over a shared Storage, and every view op.

View ops are pure functions of metadata: each computes new sizes/strides/offset on the C
stack and hands them to make_tensor(), which checks them against the storage.  Nothing
here loops over elements in Python; copies go to the strided copy kernel.
"""
cimport cython
from cpython.long cimport PyLong_Check
from cpython.object cimport PyObject
from cpython.slice cimport PySlice_Check
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM, PyTuple_Check, PyTuple_New, PyTuple_SET_ITEM
from cpython.long cimport PyLong_FromLongLong
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, uint8_t, int32_t, uintptr_t, INT64_MAX
from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memcpy, memcmp, memset
from libc.math cimport INFINITY

import numpy as np
cimport numpy as cnp
from weakref import ref as weakref_ref
from operator import index as _index

from strided._C.core.arith cimport (mul_overflow, add_overflow, index_int64,
                               PyLong_AsLongLongAndOverflow)
from strided._C.core.dtypes cimport (DType, as_dtype, dtype_from_num,
                                BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64)
from strided._C.core.storage cimport Storage, new_storage, wrap_memory
from strided._C.core.iterator cimport MAX_DIMS
from strided._C.core.copy cimport copy_strided

cnp.import_array()

cdef extern from "Python.h":
    int PySlice_Unpack(object slice, Py_ssize_t* start, Py_ssize_t* stop, Py_ssize_t* step) except -1
    Py_ssize_t PySlice_AdjustIndices(Py_ssize_t length, Py_ssize_t* start, Py_ssize_t* stop,
                                     Py_ssize_t step) noexcept

cdef Storage _EMPTY_STORAGE = new_storage(0, dtype_from_num(FLOAT32), True)


# --------------------------------------------------------------------------------------
# Construction: the one checked constructor
# --------------------------------------------------------------------------------------

cdef inline char* data_of(Tensor t) noexcept nogil:
    return t._storage.data + t._offset * t._dtype.itemsize


cdef Tensor make_tensor(Storage storage, int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t offset, object base):
    # NOTE [ Bounds ]
    # Every tensor is built here, views included.  For numel > 0 the lowest and highest
    # element it can address,
    #     lo = offset + sum(min(0, (size[d]-1) * stride[d])),
    #     hi = offset + sum(max(0, (size[d]-1) * stride[d])),
    # must lie in [0, storage size).  An empty tensor addresses nothing, so its offset is
    # not checked against the storage: it keeps the offset its view arithmetic gives, as
    # PyTorch's does (arange(10)[5:5].storage_offset() == 5, and zeros(0, 5)[:, 3:] has
    # offset 3 in an empty storage), and a later non-empty as_strided of it is checked
    # here like any other view.  Two limits keep data_ptr() computable: a negative offset
    # (only reachable through flip's negative strides, which PyTorch lacks) becomes 0, and
    # offset * itemsize must not overflow int64.  All products and sums are
    # overflow-checked, so hostile sizes, strides and offsets (as_strided, from_numpy,
    # DLPack) raise instead of addressing stray memory.
    cdef int d
    cdef int64_t numel = 1, lo, hi, expected
    cdef bint contiguous = True
    cdef Tensor t
    if ndim < 0 or ndim > MAX_DIMS:
        raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions, but got {ndim}")
    for d in range(ndim):
        if sizes[d] < 0:
            raise ValueError(f"negative dimension {sizes[d]} in size {_shape_str(ndim, sizes)}")
        if sizes[d] == 0:
            numel = 0
    if numel:
        for d in range(ndim):
            if mul_overflow(numel, sizes[d], &numel):
                raise ValueError(f"the number of elements of a tensor of size "
                                 f"{_shape_str(ndim, sizes)} overflows int64")
    if numel == 0:
        if offset < 0:
            offset = 0
        elif offset > INT64_MAX // storage.dtype.itemsize:
            raise RuntimeError(f"storage_offset {offset} times the element size "
                               f"{storage.dtype.itemsize} overflows int64")
    else:
        element_extent(ndim, sizes, strides, &lo, &hi)
        if add_overflow(lo, offset, &lo) or add_overflow(hi, offset, &hi):
            raise RuntimeError(f"storage_offset {offset} plus the extent of a tensor with size "
                               f"{_shape_str(ndim, sizes)} and stride {_shape_str(ndim, strides)} "
                               f"overflows int64")
        if lo < 0 or hi >= storage._size:
            raise RuntimeError(
                f"a tensor with size {_shape_str(ndim, sizes)}, stride {_shape_str(ndim, strides)} "
                f"and storage_offset {offset} would address storage elements [{lo}, {hi}], "
                f"outside a storage of size {storage._size} (valid: [0, {storage._size - 1}]): "
                f"out of bounds")
        # NOTE [ Contiguity ]: row-major strides, ignoring size-1 dims; empty is contiguous.
        expected = 1
        for d in range(ndim - 1, -1, -1):
            if sizes[d] != 1:
                if strides[d] != expected:
                    contiguous = False
                    break
                expected *= sizes[d]
    t = Tensor.__new__(Tensor)
    t._storage = storage
    t._dtype = storage.dtype
    t._offset = offset
    t._numel = numel
    t._contiguous = contiguous
    if ndim > INLINE_DIMS:
        # a bytearray owns the out-of-line dims, so Tensor needs no __dealloc__ (which
        # would cost every tensor an exception save/restore when it dies)
        t._dims_buffer = bytearray(2 * ndim * sizeof(int64_t))
        t._sizes = <int64_t*><char*>t._dims_buffer
        t._strides = t._sizes + ndim
    t._ndim = ndim
    memcpy(t._sizes, sizes, ndim * sizeof(int64_t))
    memcpy(t._strides, strides, ndim * sizeof(int64_t))
    if base is not None:
        t._base_tensor = (<Tensor>base)._base_tensor if (<Tensor>base)._base_tensor is not None else base
    return t


cdef int element_extent(int ndim, const int64_t* sizes, const int64_t* strides,
                        int64_t* lo, int64_t* hi) except -1:
    """The lowest and highest element offset, relative to element 0, that a non-empty
    layout reaches: sum(min(0, (size-1)*stride)) and sum(max(0, ...)), overflow-checked."""
    cdef int d
    cdef int64_t ext
    lo[0] = 0
    hi[0] = 0
    for d in range(ndim):
        if mul_overflow(sizes[d] - 1, strides[d], &ext):
            raise RuntimeError(f"size {sizes[d]} times stride {strides[d]} at dimension {d} "
                               f"overflows int64")
        if add_overflow(lo[0], ext, lo) if ext < 0 else add_overflow(hi[0], ext, hi):
            raise RuntimeError(f"the extent of a tensor with size {_shape_str(ndim, sizes)} and "
                               f"stride {_shape_str(ndim, strides)} overflows int64")
    return 0


cdef inline int _advance(int64_t* offset, int64_t index, int64_t stride) except -1:
    """offset += index * stride, overflow-checked.  View ops find their new offset this way;
    it can only overflow for empty tensors (a non-empty view's offset addresses an element
    of its checked base), whose sizes and strides as_strided leaves unconstrained."""
    cdef int64_t step
    if mul_overflow(index, stride, &step) or add_overflow(offset[0], step, offset):
        raise RuntimeError(f"the storage offset of a view (index {index} times stride {stride} "
                           f"plus offset {offset[0]}) overflows int64")
    return 0


cdef inline Tensor _view(Tensor src, int ndim, const int64_t* sizes, const int64_t* strides,
                         int64_t offset, str op=None, object args=None):
    """The view of src with this layout; under grad mode it records the view op `op` with
    its arguments `args` (NOTE [ View backward ] in strided/autograd/views.py).  op None
    records a bare as_strided; callers build args only when _recording(src)."""
    cdef Tensor v = make_tensor(src._storage, ndim, sizes, strides, offset, src)
    if grad_mode_enabled() and needs_grad(src):
        _autograd().record_view(src, v, op, args)
    if _view_observer is not None:
        _view_observer(src, v, op)          # NOTE [ Display hooks ]
    return v


cdef inline bint _recording(Tensor t) noexcept:
    """Whether an op on t records history now (so view ops build their backward's args)."""
    return grad_mode_enabled() and needs_grad(t)


# ---- autograd hooks -----------------------------------------------------------------------
# Ops check needs_grad() on their inputs; when history must be recorded they compute the
# result with recording off (recording_off/recording_on) and hand it to the hook's record_*
# function (NOTE [ Autograd hook ]).

# NOTE [ Grad mode is per thread ]
# Whether ops record history is a property of the calling thread, as in PyTorch: two
# threads training separate models, or one building a layer (nn.init runs under no_grad)
# while another trains, never see each other's mode.  It is a C thread-local variable, so
# the check every op makes stays one load; a new thread starts with recording on.
cdef extern from *:
    """
    static _Thread_local int strided_grad_disabled = 0;   /* 0: a new thread records */
    """
    int strided_grad_disabled

cdef object _autograd_module = None


cdef bint grad_mode_enabled() noexcept:
    return not strided_grad_disabled


cdef object autograd_dispatch():
    return _autograd()


cdef void recording_off() noexcept:
    """Turn this thread's recording off while an op that will be recorded computes its
    result (its inner ops must not record too); recording_on() turns it back on."""
    global strided_grad_disabled
    strided_grad_disabled = 1


cdef void recording_on() noexcept:
    global strided_grad_disabled
    strided_grad_disabled = 0


cdef inline bint needs_grad(Tensor t) noexcept:
    return t._requires_grad or t._grad_fn is not None


cdef inline bint _obj_needs_grad(object x) noexcept:
    return isinstance(x, Tensor) and needs_grad(<Tensor>x)


# NOTE [ Autograd hook ]
# The core never imports autograd (which sits above it): strided.autograd installs its
# dispatch module here when it is imported (install_autograd), and every op that must
# record history calls into what was installed -- the op's recording function, the
# backward engine (`backward`) and the leaf's gradient sink (`AccumulateGrad`).  Importing
# strided always installs it; the core alone records nothing and says so.
#
# An op computes its own result, once: when an input needs grad it runs its body with
# recording off and passes inputs and result to a record_* function, which records one
# node (strided/autograd/dispatch.py).  In-place and out= forms are the exception: the hook
# must check leaves and views and save the inputs before the write, so they go to the
# hook's function of the op's name, which runs the op there (NOTE [ In-place ops on views ]).

def install_autograd(module):
    """Install strided.autograd.dispatch as the core's autograd hook (strided.autograd
    does this at import; NOTE [ Autograd hook ])."""
    global _autograd_module
    for name in ("backward", "AccumulateGrad", "record", "record_view", "record_unary",
                 "record_binary"):
        if not hasattr(module, name):
            raise TypeError(f"install_autograd: {module!r} has no {name!r}")
    _autograd_module = module


cdef object _autograd():
    """The installed autograd module (NOTE [ Autograd hook ])."""
    if _autograd_module is None:
        raise RuntimeError("strided.autograd is not loaded: import strided (or "
                           "strided.autograd) before recording history")
    return _autograd_module


# NOTE [ Display hooks ]
# Pictures of tensors live in strided.viz, above the core, which never imports it.  As with
# the autograd hook, strided.viz fills two slots here at import: the function that draws
# Tensor._repr_html_ (notebooks), and -- only inside strided.viz.record_views() -- an
# observer that _view() calls with (source, view, op name) for every view it makes, so the
# chain of views leading to a tensor can be drawn.  Outside record_views() the observer is
# None and a view op pays one pointer test.

cdef object _repr_html_hook = None
cdef object _view_observer = None


def install_repr_html(fn):
    """Install fn(tensor) -> str as Tensor._repr_html_ (strided.viz does this at import;
    NOTE [ Display hooks ])."""
    global _repr_html_hook
    if fn is not None and not callable(fn):
        raise TypeError(f"install_repr_html: expected a callable or None, got {fn!r}")
    _repr_html_hook = fn


def set_view_observer(fn):
    """Call fn(source, view, op) for every view made from now on (None: stop); returns the
    previous observer (strided.viz.record_views uses this; NOTE [ Display hooks ])."""
    global _view_observer
    if fn is not None and not callable(fn):
        raise TypeError(f"set_view_observer: expected a callable or None, got {fn!r}")
    prev = _view_observer
    _view_observer = fn
    return prev


# NOTE [ Linear algebra hook ]
# The Tensor methods of the matrix functions (det, inverse, svd, qr, trace, diag, ...) are
# the functions of strided._matrix, above the core, which never imports it: that module
# installs itself here at import (install_linalg) and the methods call into it.

cdef object _linalg_module = None


def install_linalg(module):
    """Install strided._matrix as the module the Tensor methods det, inverse, svd, ... call
    (strided does this at import; NOTE [ Linear algebra hook ])."""
    global _linalg_module
    _linalg_module = module


cdef object _linalg():
    if _linalg_module is None:
        raise RuntimeError("strided.linalg is not loaded: import strided before calling the "
                           "matrix methods")
    return _linalg_module


def is_grad_enabled():
    """True when ops record history for autograd in this thread (see strided.no_grad)."""
    return not strided_grad_disabled


def _set_grad_enabled(bint mode):
    """Set this thread's grad mode; returns the previous one (NOTE [ Grad mode is per
    thread ]; strided.autograd.grad_mode uses this)."""
    global strided_grad_disabled
    cdef bint prev = not strided_grad_disabled
    strided_grad_disabled = not mode
    return prev


cdef void _contiguous_strides(int ndim, const int64_t* sizes, int64_t* strides) noexcept:
    cdef int64_t s = 1
    cdef int d
    for d in range(ndim - 1, -1, -1):
        strides[d] = s
        if sizes[d] > 1:
            s *= sizes[d]


cdef Tensor new_tensor(int ndim, const int64_t* sizes, DType dtype, bint zero):
    """A fresh contiguous tensor in new 64-byte-aligned storage."""
    cdef int64_t strides[MAX_DIMS]
    cdef int d
    if ndim > MAX_DIMS:
        raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions, but got {ndim}")
    for d in range(ndim):
        if sizes[d] < 0:
            raise ValueError(f"negative dimension {sizes[d]} in size {_shape_str(ndim, sizes)}")
    cdef int64_t numel = _numel_of(ndim, sizes), span = 1
    if numel == 0:
        _check_empty_sizes(ndim, sizes)
    _contiguous_strides(ndim, sizes, strides)
    return make_tensor(new_storage(numel, dtype, zero), ndim, sizes, strides, 0, None)


cdef int _check_empty_sizes(int ndim, const int64_t* sizes) except -1:
    """An empty tensor's sizes must still multiply out as PyTorch's do: its row-major
    strides (products of the sizes after dim 0, sizes 0 and 1 counting as 1: "Stride
    calculation overflowed") fit in int64, and the running product of its sizes, left to
    right, in uint64 ("Storage size calculation overflowed")."""
    cdef object running = 1, span = 1
    cdef int d
    for d in range(ndim):
        running *= sizes[d]
        if d > 0 and sizes[d] > 1:
            span *= sizes[d]
        if running >= 2**64 or span >= 2**63:
            raise ValueError(f"a tensor of size {_shape_str(ndim, sizes)} has strides or a "
                             f"size beyond int64 (its sizes multiply past int64)")
    return 0


cdef int64_t _numel_of(int ndim, const int64_t* sizes) except -1:
    """The product of sizes[:ndim]: 0 when any size is 0 (even if the others overflow)."""
    cdef int64_t n = 1
    cdef int d
    if _has_zero(ndim, sizes):
        return 0
    for d in range(ndim):
        if mul_overflow(n, sizes[d], &n):
            raise ValueError(f"the number of elements of a tensor of size "
                             f"{_shape_str(ndim, sizes)} overflows int64")
    return n


cdef bint _has_zero(int ndim, const int64_t* sizes) noexcept:
    cdef int d
    for d in range(ndim):
        if sizes[d] == 0:
            return True
    return False


cdef tuple _int_tuple(int ndim, const int64_t* xs):
    cdef tuple out = PyTuple_New(ndim)
    cdef int d
    for d in range(ndim):
        v = PyLong_FromLongLong(xs[d])
        Py_INCREF(v)                        # PyTuple_SET_ITEM steals a reference
        PyTuple_SET_ITEM(out, d, v)
    return out


cdef str _shape_str(int ndim, const int64_t* xs):
    return "[" + ", ".join([str(xs[d]) for d in range(ndim)]) + "]"


# --------------------------------------------------------------------------------------
# Argument parsing
# --------------------------------------------------------------------------------------

cdef inline int _wrap_dim(object dim, int ndim) except -1:
    """Normalise a dim to [0, ndim); 0-d tensors accept -1 and 0 like PyTorch.  A
    one-element integer tensor is an int here, as in PyTorch (NOTE [ Tensors as ints ])."""
    if not PyLong_Check(dim):
        if isinstance(dim, Tensor):
            return _wrap_dim_c(index_int64(dim, "dim"), ndim)
        raise TypeError(f"dim must be an int, but got {type(dim).__name__}")
    return _wrap_dim_c(index_int64(dim, "dim"), ndim)


cdef inline int _wrap_dim_c(int64_t d, int ndim) except -1:
    cdef int64_t n = ndim if ndim > 0 else 1
    if d < -n or d >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {d})")
    return <int>(d + n if d < 0 else d)


cdef int wrap_dim(object dim, int ndim) except -1:
    """_wrap_dim for the ops modules (tensor.pxd)."""
    return _wrap_dim(dim, ndim)


cdef inline int64_t _int64_element(object x, str what, Py_ssize_t pos) except? -1:
    """Element `pos` of an int-sequence argument (a Python int) as int64; TypeError when out
    of range, as PyTorch's int-list arguments (NOTE [ Integer arguments beyond int64 ])."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(x, &overflow)
    if overflow:
        raise TypeError(f"{what} must hold ints in the int64 range [-2**63, 2**63 - 1], but "
                        f"the element at pos {pos} is {x}")
    return v


cdef int _parse_ints(object seq, int64_t* out, str what) except -1:
    """Copy a sequence of Python ints into out; returns the length."""
    cdef Py_ssize_t n, i
    if PyLong_Check(seq):
        seq = (seq,)
    elif isinstance(seq, Tensor):
        # NOTE [ Tensors as ints ]
        # Where PyTorch takes an int (a size, a dim, an index, narrow's start), a tensor of
        # one element and an integer (or bool) dtype is that int: ones(tensor(27)),
        # view(tensor(2), -1), select(tensor(0), tensor(1)).  Others (a float tensor, a
        # tensor of several sizes) raise TypeError, as PyTorch's argument parser does.
        if (<Tensor>seq)._numel != 1 or (<Tensor>seq)._dtype.is_floating_point:
            raise TypeError(f"{what} must be tuple of ints, not Tensor")
        seq = (index_int64(seq, what),)
    if PyTuple_Check(seq):                  # the common case: read the items directly
        n = PyTuple_GET_SIZE(seq)
        if n <= MAX_DIMS:
            for i in range(n):
                x = <object>PyTuple_GET_ITEM(seq, i)
                if not PyLong_Check(x):
                    break
                out[i] = _int64_element(x, what, i)
            else:
                return <int>n
    try:
        n = len(seq)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of ints, but got {type(seq).__name__}") from None
    if n > MAX_DIMS:
        raise ValueError(f"{what} has {n} entries, but a tensor can have at most {MAX_DIMS} dimensions")
    for i in range(n):
        x = seq[i]
        if not PyLong_Check(x):
            try:
                x = _index(x)
            except TypeError:
                raise TypeError(f"{what} must be a sequence of ints, but found element of type "
                                f"{type(x).__name__} at pos {i}") from None
        out[i] = _int64_element(x, what, i)
    return <int>n


cdef int _parse_varargs(object first, tuple rest, int64_t* out, str what) except -1:
    """Ints given as f(2, 3) or as f((2, 3)): `first` and `rest` are f's (first, *rest).

    Methods take (first, *rest) rather than (*args) because Cython then uses the fast
    calling convention: the parse costs less than the tuple the slow one would build."""
    cdef Py_ssize_t n = PyTuple_GET_SIZE(rest)
    if n == 0:
        return _parse_ints(first, out, what)
    if n >= MAX_DIMS:
        raise ValueError(f"{what} has {n + 1} entries, but a tensor can have at most {MAX_DIMS} dimensions")
    if PyLong_Check(first):
        out[0] = _int64_element(first, what, 0)
    else:
        _parse_ints((first,), out, what)
    return 1 + _parse_ints(rest, out + 1, what)


cdef int _infer_size(int64_t* shape, int ndim, int64_t numel) except -1:
    """Replace a single -1 in shape by what numel implies; raise if shape can't hold numel."""
    cdef int d, infer = -1
    cdef int64_t known = 1
    for d in range(ndim):
        if shape[d] == -1:
            if infer >= 0:
                raise RuntimeError("only one dimension can be inferred")
            infer = d
        elif shape[d] < 0:
            raise RuntimeError(f"invalid shape dimension {shape[d]}")
        elif mul_overflow(known, shape[d], &known):
            raise RuntimeError(f"shape '{_shape_str(ndim, shape)}' is invalid: its number of elements overflows int64")
    if infer >= 0:
        if known == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape "
                               f"{_shape_str(ndim, shape)} because the unspecified dimension "
                               f"size -1 can be any value and is ambiguous")
        if numel % known == 0:
            shape[infer] = numel // known
            return 0
    elif known == numel:
        return 0
    raise RuntimeError(f"shape '{_shape_str(ndim, shape)}' is invalid for input of size {numel}")


cdef bint _view_strides(Tensor t, int ndim, const int64_t* shape, int64_t* out):
    """Strides for viewing t with `shape` without copying; False when no view exists.

    PyTorch's rule (computeStride in ATen): walk t's dims from the innermost, grouping
    them into chunks that are contiguous among themselves (stride[d-1] == size[d] *
    stride[d] within a chunk); each chunk can be re-split into any new dims whose product
    equals the chunk's numel.  Works unchanged for negative strides.
    """
    cdef int d, view_d, tensor_d
    cdef int64_t chunk_base_stride, tensor_numel, view_numel
    if t._ndim == 0:
        for d in range(ndim):
            out[d] = 1
        return True
    if t._numel == 0:
        if ndim == t._ndim and memcmp(shape, t._sizes, ndim * sizeof(int64_t)) == 0:
            memcpy(out, t._strides, ndim * sizeof(int64_t))
        else:
            _contiguous_strides(ndim, shape, out)
        return True
    view_d = ndim - 1
    chunk_base_stride = t._strides[t._ndim - 1]
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(t._ndim - 1, -1, -1):
        tensor_numel *= t._sizes[tensor_d]
        if tensor_d == 0 or (t._sizes[tensor_d - 1] != 1 and
                             t._strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                out[view_d] = view_numel * chunk_base_stride
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if tensor_d > 0:
                chunk_base_stride = t._strides[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    return view_d == -1


# --------------------------------------------------------------------------------------
# Tensor
# --------------------------------------------------------------------------------------

@cython.freelist(64)
cdef class Tensor:
    """A strided view over a Storage: sizes, strides (in elements) and a storage offset.

    Build tensors with strided.tensor, zeros, empty, arange, from_numpy, ...; every view
    op (slicing, view, transpose, expand, unfold, flip, ...) returns a Tensor over the same
    Storage without copying, so writes through a view reach its base.

    >>> base = strided.arange(6).view(2, 3)
    >>> column = base[:, 1]
    >>> column[0] = 9
    >>> base
    tensor([[0, 9, 2],
            [3, 4, 5]])
    >>> base.stride(), base.t().stride()
    ((3, 1), (1, 3))
    """

    def __cinit__(self):
        # A valid (empty, 1-d) tensor from the first instruction on: make_tensor overwrites it.
        self._sizes = self._inline
        self._strides = self._inline + INLINE_DIMS
        self._storage = _EMPTY_STORAGE
        self._dtype = _EMPTY_STORAGE.dtype
        self._ndim = 1
        self._sizes[0] = 0
        self._strides[0] = 1
        self._contiguous = True

    def __init__(self, *args, device=None):
        """Tensor() / Tensor(*sizes) / Tensor(data) / Tensor(tensor): PyTorch's legacy
        constructor, float32 (an empty tensor, an uninitialised one, a copy of data, or an
        alias of a float32 tensor).  strided.tensor, zeros, empty, ... are the usual way."""
        check_device(device, "Tensor()")
        _set_layout(self, _legacy_new(args, dtype_from_num(FLOAT32), "Tensor"))

    # ---- metadata ---------------------------------------------------------------------

    @property
    def shape(self):
        """The sizes, a strided.Size (a tuple of ints)."""
        return _size_of(self._ndim, self._sizes)

    def size(self, dim=None):
        """The sizes (a strided.Size), or the size of dim."""
        if dim is None:
            return _size_of(self._ndim, self._sizes)
        if self._ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._sizes[_wrap_dim(dim, self._ndim)]

    def stride(self, dim=None):
        """Strides in elements (not bytes)."""
        if dim is None:
            return _int_tuple(self._ndim, self._strides)
        if self._ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._strides[_wrap_dim(dim, self._ndim)]

    def storage_offset(self):
        """The index (in elements, not bytes) of this tensor's first element in its Storage."""
        return self._offset

    def data_ptr(self):
        """The address of this tensor's first element, an int (the storage's address plus
        storage_offset() * element_size()).
        """
        return <uintptr_t>data_of(self)

    def untyped_storage(self):
        """The Storage this tensor views (shared by the tensor, its base and all its views)."""
        return self._storage

    @property
    def dtype(self):
        """The element type, a strided.dtype (strided.float32, strided.int64, ...)."""
        return self._dtype

    @property
    def device(self):
        """device(type='cpu'): strided tensors live on the CPU."""
        return _CPU

    @property
    def is_cpu(self):
        """True: strided tensors always live on the CPU."""
        return True

    @property
    def is_cuda(self):
        """False: strided has no CUDA device."""
        return False

    def cpu(self, memory_format=None):
        """self: the tensor is on the CPU already (as PyTorch, no copy)."""
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """Raises: strided has no CUDA device (the error says what is available: the CPU).

        Programs written for both can test strided.cuda.is_available() first.
        """
        check_device("cuda" if device is None else device, "Tensor.cuda()")
        return self

    @property
    def ndim(self):
        """The number of dims (0 for a scalar tensor); the same as dim()."""
        return self._ndim

    def dim(self):
        """The number of dims (0 for a scalar tensor)."""
        return self._ndim

    def ndimension(self):
        """The number of dims; the same as dim()."""
        return self._ndim

    def numel(self):
        """The number of elements, the product of the sizes (1 for a 0-d tensor)."""
        return self._numel

    def nelement(self):
        """The number of elements; the same as numel()."""
        return self._numel

    def element_size(self):
        """The size of one element in bytes (4 for float32, 8 for int64, ...)."""
        return self._dtype.itemsize

    @property
    def itemsize(self):
        """The size of one element in bytes; the same as element_size()."""
        return self._dtype.itemsize

    @property
    def nbytes(self):
        """numel() * element_size(): the bytes this tensor's elements would take if contiguous
        (not the size of the storage it views).
        """
        return self._numel * self._dtype.itemsize

    def is_contiguous(self):
        """True when the elements are laid out in row-major order with no gaps (strides
        are those of a fresh tensor of this shape; size-1 dims' strides do not matter).
        """
        return self._contiguous

    def is_floating_point(self):
        """True when the dtype is a floating-point type (float32, float64)."""
        return self._dtype.is_floating_point

    @property
    def _base(self):
        """The tensor this one is a view of (the root of a chain of views), or None."""
        return self._base_tensor

    def _is_view(self):
        return self._base_tensor is not None

    @property
    def _version(self):
        return self._storage._version

    def __len__(self):
        if self._ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._sizes[0]

    def __iter__(self):
        if self._ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        if _recording(self):
            return iter(_record_pieces(self, 0, "unbind", None))
        return iter([_select(self, 0, i) for i in range(self._sizes[0])])

    # ---- scalars and Python values ----------------------------------------------------

    def item(self):
        """The value of a one-element tensor (of any shape) as a Python number (bool, int or
        float); raises for any other number of elements.

        >>> strided.tensor([[2.5]]).item()
        2.5
        """
        if self._numel != 1:
            raise RuntimeError(f"a Tensor with {self._numel} elements cannot be converted to Scalar")
        return _read_scalar(data_of(self), self._dtype.num)

    def tolist(self):
        """The elements as nested Python lists of numbers (a number for a 0-d tensor).

        >>> strided.arange(4).reshape(2, 2).tolist()
        [[0, 1], [2, 3]]
        """
        return _to_numpy(self).tolist()

    def __bool__(self):
        if self._numel != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'no' if self._numel == 0 else 'more than one'} "
                               f"value{'s' if self._numel else ''} is ambiguous")
        return bool(self.item())

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __index__(self):
        if self._dtype.is_floating_point or self._numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __repr__(self):
        from strided._C.core._format import format_tensor
        return format_tensor(self)

    def _repr_html_(self):
        """The values and, for small tensors, a storage map, as HTML for notebooks (drawn by
        strided.viz; None, i.e. plain repr, when it is not loaded; NOTE [ Display hooks ])."""
        return None if _repr_html_hook is None else _repr_html_hook(self)

    # ---- copies -----------------------------------------------------------------------

    def contiguous(self):
        """self if already contiguous, else a contiguous copy in fresh storage."""
        return self if self._contiguous else _clone(self, self._dtype)

    def clone(self):
        """A contiguous copy in fresh storage."""
        return _clone(self, self._dtype)

    def copy_(self, src):
        """Copy src (broadcast to self's shape, cast to self's dtype) into self; returns self."""
        if grad_mode_enabled() and (needs_grad(self) or _obj_needs_grad(src)):
            return _autograd().copy_(self, src)
        copy_into(self, _as_tensor(src, self._dtype))
        return self

    def fill_(self, value):
        """Set every element to value (cast to self's dtype), in place; returns self."""
        if grad_mode_enabled() and (needs_grad(self) or _obj_needs_grad(value)):
            return _autograd().copy_(self, value)
        copy_into(self, _scalar_tensor(value, self._dtype))
        return self

    def zero_(self):
        """Set every element to zero, in place; returns self."""
        return self.fill_(0)

    def to(self, *args, dtype=None, copy=False, device=None, non_blocking=False):
        """to(dtype) / to("cpu") / to(other_tensor): self when nothing changes, else a copy."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = (<Tensor>a)._dtype
            elif isinstance(a, _Device) or (isinstance(a, str) and
                                            a.split(":")[0] in _DEVICE_TYPES):
                device = a
            else:
                dtype = a
        check_device(device, "Tensor.to()")
        cdef DType dt = self._dtype if dtype is None else as_dtype(dtype)
        if dt is self._dtype and not copy:
            return self
        return _clone(self, dt)

    def type_as(self, Tensor other):
        """self converted to other's dtype: self when it has it already, else a copy."""
        return self.to(other._dtype)

    def float(self):
        """self as float32: self when it is float32 already, else a copy (to(strided.float32))."""
        return self.to(dtype_from_num(FLOAT32))

    def double(self):
        """self as float64: self when it is float64 already, else a copy."""
        return self.to(dtype_from_num(FLOAT64))

    def long(self):
        """self as int64: self when it is int64 already, else a copy (floats truncated)."""
        return self.to(dtype_from_num(INT64))

    def int(self):
        """self as int32: self when it is int32 already, else a copy (floats truncated)."""
        return self.to(dtype_from_num(INT32))

    def bool(self):
        """self as bool (nonzero is True): self when it is bool already, else a copy."""
        return self.to(dtype_from_num(BOOL))

    def byte(self):
        """self as uint8: self when it is uint8 already, else a copy."""
        return self.to(dtype_from_num(UINT8))

    # ---- interop ----------------------------------------------------------------------

    def numpy(self):
        """A numpy array sharing this tensor's memory and strides (writes show both ways)."""
        if needs_grad(self):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return _to_numpy(self)

    def __array__(self, dtype=None, copy=None):
        if needs_grad(self):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        arr = _to_numpy(self)
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError(f"converting a {self._dtype.name} tensor to {np.dtype(dtype)} needs a copy")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __getbuffer__(self, Py_buffer* buf, int flags):
        _fill_buffer(self, buf, flags)

    def __releasebuffer__(self, Py_buffer* buf):
        free(buf.internal)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        from strided._C.core.dlpack import to_dlpack
        return to_dlpack(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self):
        return (1, 0)    # (kDLCPU, device 0)

    def __reduce__(self):
        return (_rebuild_tensor, (np.array(_to_numpy(self), order="C", copy=True),
                                  self._requires_grad))

    def __deepcopy__(self, memo):
        """A copy in fresh storage; a leaf keeps requires_grad and a copy of .grad."""
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        cdef Tensor c = _clone(self, self._dtype)
        c._requires_grad = self._requires_grad
        if self._grad is not None:
            c._grad = _clone(<Tensor>self._grad, (<Tensor>self._grad)._dtype)
        memo[id(self)] = c
        return c

    # ---- view ops ---------------------------------------------------------------------

    def view(self, shape=(), *rest):
        """view(*shape): a view with a new shape (one -1 is inferred); raises when no view exists.
        view(dtype): the same memory read as another dtype (PyTorch's rules).

        A view exists when each group of merged or split dims is contiguous within itself
        (PyTorch's rule); reshape copies instead when it does not.

        >>> strided.arange(6).view(2, -1)
        tensor([[0, 1, 2],
                [3, 4, 5]])
        >>> strided.tensor([1.0]).view(strided.int32)
        tensor([1065353216], dtype=strided.int32)
        """
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        if not rest and (isinstance(shape, DType) or isinstance(shape, type)):
            return _view_dtype(self, as_dtype(shape))
        cdef int n = _parse_varargs(shape, rest, sizes, "view(): argument 'size'")
        _infer_size(sizes, n, self._numel)
        if not _view_strides(self, n, sizes, strides):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return _view(self, n, sizes, strides, self._offset, "view")

    def view_as(self, Tensor other):
        """self.view(other.shape): a view with other's shape; raises when no view exists."""
        return self.view(other.shape)

    def reshape(self, shape=(), *rest):
        """reshape(*shape): a view when one exists (see view), else a contiguous copy.

        >>> t = strided.arange(6).view(2, 3).t()                # not contiguous
        >>> t.reshape(6).untyped_storage() is t.untyped_storage()   # so a copy
        False
        """
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        cdef int n = _parse_varargs(shape, rest, sizes, "reshape(): argument 'shape'")
        _infer_size(sizes, n, self._numel)
        if _view_strides(self, n, sizes, strides):
            return _view(self, n, sizes, strides, self._offset, "view")
        cdef Tensor c = _clone(self, self._dtype)
        _contiguous_strides(n, sizes, strides)
        cdef Tensor r = make_tensor(c._storage, n, sizes, strides, 0, None)   # fresh, no base
        if grad_mode_enabled() and needs_grad(c):
            _autograd().record_view(c, r, "unsafe_view")
        return r

    def reshape_as(self, Tensor other):
        """self.reshape(other.shape): a view when one exists, else a contiguous copy."""
        return self.reshape(other.shape)

    def as_strided(self, size, stride, storage_offset=None):
        """A view with explicit size, stride and offset, relative to the storage (checked
        against it; negative strides are allowed)."""
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        cdef int n = _parse_ints(size, sizes, "as_strided(): argument 'size'")
        cdef int m = _parse_ints(stride, strides, "as_strided(): argument 'stride'")
        if n != m:
            raise RuntimeError(f"mismatch in length of strides and shape: size has {n} entries, "
                               f"stride has {m}")
        cdef int64_t off = self._offset if storage_offset is None else \
            index_int64(storage_offset, "as_strided(): argument 'storage_offset'")
        if off < 0:
            raise RuntimeError(f"as_strided: storage_offset must be non-negative, but got {off}")
        return _view(self, n, sizes, strides, off, "as_strided")

    def expand(self, size=(), *rest):
        """expand(*sizes): size-1 dims broadcast to larger sizes with stride 0 (-1 keeps a size).

        A view: no memory is copied, and the expanded elements alias each other.

        >>> e = strided.tensor([[1], [2]]).expand(-1, 3)
        >>> e
        tensor([[1, 1, 1],
                [2, 2, 2]])
        >>> e.stride()
        (1, 0)
        """
        cdef int64_t sizes[MAX_DIMS]
        cdef int n = _parse_varargs(size, rest, sizes, "expand(): argument 'size'")
        return _expand_c(self, n, sizes)

    def expand_as(self, Tensor other):
        """self.expand(other.shape): a view broadcast to other's shape (stride 0 along
        expanded dims; write to it with care, its elements alias).
        """
        return _expand_c(self, other._ndim, other._sizes)

    def broadcast_to(self, shape):
        """A view of self broadcast to shape (size-1 and missing leading dims get stride 0);
        the same as expand(shape).
        """
        return _expand(self, shape)

    def transpose(self, dim0, dim1):
        """A view with dims dim0 and dim1 swapped (sizes and strides exchanged, no copy).

        >>> strided.zeros(2, 3, 4).transpose(0, 2).shape
        strided.Size([4, 3, 2])
        """
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        cdef int a = _wrap_dim(dim0, self._ndim), b = _wrap_dim(dim1, self._ndim)
        if self._ndim == 0:
            return _view(self, 0, sizes, strides, self._offset, "transpose",
                         (a, b) if _recording(self) else None)
        memcpy(sizes, self._sizes, self._ndim * sizeof(int64_t))
        memcpy(strides, self._strides, self._ndim * sizeof(int64_t))
        sizes[a], sizes[b] = sizes[b], sizes[a]
        strides[a], strides[b] = strides[b], strides[a]
        return _view(self, self._ndim, sizes, strides, self._offset, "transpose",
                     (a, b) if _recording(self) else None)

    def swapaxes(self, axis0, axis1):
        """The same as transpose(axis0, axis1): a view with the two dims swapped."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0, dim1):
        """The same as transpose(dim0, dim1): a view with the two dims swapped."""
        return self.transpose(dim0, dim1)

    def t(self):
        """Transpose of a tensor with at most 2 dims (0-d and 1-d come back as views of self)."""
        if self._ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._ndim}D")
        cdef int64_t sizes[2]
        cdef int64_t strides[2]
        if self._ndim < 2:
            return _view(self, self._ndim, self._sizes, self._strides, self._offset, "t")
        sizes[0], sizes[1] = self._sizes[1], self._sizes[0]
        strides[0], strides[1] = self._strides[1], self._strides[0]
        return _view(self, 2, sizes, strides, self._offset, "t")

    @property
    def T(self):
        """All dims reversed."""
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        cdef int d, n = self._ndim
        for d in range(n):
            sizes[d] = self._sizes[n - 1 - d]
            strides[d] = self._strides[n - 1 - d]
        return _view(self, n, sizes, strides, self._offset, "permute",
                     tuple(range(n - 1, -1, -1)) if _recording(self) else None)

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed); 0-d: self."""
        if self._ndim == 0:
            return _view(self, 0, self._sizes, self._strides, self._offset, "view")
        if self._ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self._ndim}-D tensor.")
        return self.transpose(-2, -1)

    def permute(self, dims=(), *rest):
        """permute(*dims): a view with the dims reordered (dim i of the result is dim
        dims[i] of self).

        >>> strided.zeros(2, 3, 4).permute(2, 0, 1).shape
        strided.Size([4, 2, 3])
        """
        cdef int64_t perm[MAX_DIMS]
        cdef int n = _parse_varargs(dims, rest, perm, "permute(): argument 'dims'")
        return _permute_c(self, n, perm)

    def movedim(self, source, destination):
        """A view with the dims in source (an int or a sequence) moved to the positions in
        destination; the other dims keep their order.

        >>> strided.zeros(2, 3, 4).movedim(0, -1).shape
        strided.Size([3, 4, 2])
        """
        return _movedim(self, source, destination)

    def moveaxis(self, source, destination):
        """The same as movedim(source, destination)."""
        return _movedim(self, source, destination)

    def squeeze(self, dim=None):
        """Remove dims of size 1 (all, or those in dim; a dim whose size isn't 1 stays)."""
        return _squeeze(self, dim)

    def unsqueeze(self, dim):
        """A view with a dim of size 1 inserted at position dim (-ndim-1 <= dim <= ndim).

        >>> strided.zeros(2, 3).unsqueeze(1).shape
        strided.Size([2, 1, 3])
        """
        cdef int64_t sizes[MAX_DIMS]
        cdef int64_t strides[MAX_DIMS]
        cdef int d = _wrap_dim(dim, self._ndim + 1), i, j = 0
        if self._ndim + 1 > MAX_DIMS:
            raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions")
        for i in range(self._ndim + 1):
            if i == d:
                sizes[i] = 1
                strides[i] = self._sizes[j] * self._strides[j] if j < self._ndim else 1
            else:
                sizes[i] = self._sizes[j]
                strides[i] = self._strides[j]
                j += 1
        return _view(self, self._ndim + 1, sizes, strides, self._offset, "unsqueeze")

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dims start_dim..end_dim into one (a view when possible, like reshape)."""
        cdef int s, e, d
        if self._ndim == 0:
            _wrap_dim(start_dim, 0)
            _wrap_dim(end_dim, 0)
            return self.reshape(1)
        s = _wrap_dim(start_dim, self._ndim)
        e = _wrap_dim(end_dim, self._ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self
        shape = self.shape
        return self.reshape(shape[:s] + (_numel_of(e + 1 - s, self._sizes + s),) + shape[e + 1:])

    def unflatten(self, dim, sizes):
        """Split dim into `sizes` (one -1 inferred)."""
        cdef int d = _wrap_dim(dim, self._ndim)
        cdef int64_t new[MAX_DIMS]
        cdef int n = _parse_ints(sizes, new, "unflatten(): argument 'sizes'")
        if n == 0:
            raise RuntimeError("unflatten: sizes must be non-empty")
        _infer_size(new, n, self._sizes[d])
        shape = self.shape
        return self.view(shape[:d] + tuple([new[i] for i in range(n)]) + shape[d + 1:])

    def narrow(self, dim, start, length):
        """Elements start .. start+length-1 along dim, as a view."""
        cdef int d = _wrap_dim(dim, self._ndim)
        if self._ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        cdef int64_t size = self._sizes[d]
        if isinstance(start, Tensor) and ((<Tensor>start)._ndim != 0 or
                                          (<Tensor>start)._dtype.is_floating_point):
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        cdef int64_t st = index_int64(start, "narrow(): argument 'start'")
        cdef int64_t ln = index_int64(length, "narrow(): argument 'length'")
        if st < -size or st > size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                             f"but got {st})")
        if st < 0:
            st += size
        if ln < 0:
            raise RuntimeError(f"narrow(): length must be non-negative, but got {ln}")
        if st + ln > size:
            raise RuntimeError(f"start ({st}) + length ({ln}) exceeds dimension size ({size}).")
        return _slice_dim(self, d, st, ln, 1)

    def select(self, dim, index):
        """The sub-tensor at `index` along dim (that dim removed), as a view."""
        return _select(self, _wrap_dim(dim, self._ndim),
                       index_int64(index, "select(): argument 'index'"))

    def unfold(self, dimension, size, step):
        """All windows of `size` elements, `step` apart, along dimension, as a new last dim
        (a view: windows that overlap share memory).

        >>> strided.arange(5).unfold(0, 2, 1)
        tensor([[0, 1],
                [1, 2],
                [2, 3],
                [3, 4]])
        """
        return _unfold(self, dimension, index_int64(size, "unfold(): argument 'size'"),
                       index_int64(step, "unfold(): argument 'step'"))

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """A view of the diagonal of the (dim1, dim2) planes, as a new last dim; offset > 0
        takes a diagonal above the main one, offset < 0 one below.

        >>> strided.arange(9).reshape(3, 3).diagonal(1)
        tensor([1, 5])
        """
        return _diagonal(self, index_int64(offset, "diagonal(): argument 'offset'"), dim1, dim2)

    def split(self, split_size_or_sections, dim=0):
        """Views of consecutive pieces along dim: of split_size elements each (the last may be
        smaller) for an int, of the given sizes for a list (which must add up to the size).

        >>> [p.shape[0] for p in strided.arange(5).split(2)]
        [2, 2, 1]
        """
        return _split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        """At most `chunks` views along dim, each ceil(size / chunks) long (the last may be
        smaller, and there may be fewer than chunks, as PyTorch's).
        """
        cdef int d = _wrap_dim(dim, self._ndim)
        cdef int64_t n = index_int64(chunks, "chunk(): argument 'chunks'")
        if n <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {n}")
        if self._ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if self._sizes[d] == 0:
            return tuple([_slice_dim(self, d, 0, 0, 1) for _ in range(n)])
        return _split(self, (self._sizes[d] + n - 1) // n, d)

    def unbind(self, dim=0):
        """A tuple of views, one per index along dim, each with that dim removed."""
        if self._ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        cdef int d = _wrap_dim(dim, self._ndim)
        if _recording(self):
            return _record_pieces(self, d, "unbind", None)
        return tuple([_select(self, d, i) for i in range(self._sizes[d])])

    def tensor_split(self, indices_or_sections, dim=0):
        """Views along dim, as NumPy's array_split: an int n gives n pieces whose sizes differ
        by at most one (the first ones larger); a sequence gives the split indices.

        >>> [p.tolist() for p in strided.arange(5).tensor_split(2)]
        [[0, 1, 2], [3, 4]]
        """
        return _tensor_split(self, indices_or_sections, dim)

    def flip(self, dims, *rest):
        """Reverse the order of elements along dims -- a view with negative strides.

        PyTorch copies here; strided, like NumPy, returns a view (writes go to the base).
        """
        cdef int64_t which[MAX_DIMS]
        cdef int n = _parse_varargs(dims, rest, which, "flip(): argument 'dims'")
        return _flip_c(self, n, which)

    def fliplr(self):
        """flip(1): the columns reversed (at least 2 dims); a view, as flip."""
        if self._ndim < 2:
            raise RuntimeError("fliplr expects a tensor with at least 2 dimensions")
        return self.flip(1)

    def flipud(self):
        """flip(0): the rows reversed (at least 1 dim); a view, as flip."""
        if self._ndim < 1:
            raise RuntimeError("flipud expects a tensor with at least 1 dimension")
        return self.flip(0)

    # ---- views and conveniences (issue 17) ----
    # (the helpers are in views.pxi: NOTE [ In-place metadata changes ])

    @property
    def data(self):
        """A detached alias: this tensor's storage and layout, without history, so writes
        through it (p.data.mul_(0.9)) are not recorded by autograd.  Assigning p.data = t
        makes p view t's storage with t's layout (and dtype), as in PyTorch; p keeps its
        requires_grad and grad.  Unlike PyTorch, the alias shares p's version counter."""
        return make_tensor(self._storage, self._ndim, self._sizes, self._strides, self._offset,
                           None)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        _set_layout(self, <Tensor>value)
        self._base_tensor = None

    @property
    def H(self):
        """The conjugate transpose of a matrix (strided's dtypes are real: t()); 0-d: self."""
        if self._ndim == 0:
            return _view(self, 0, self._sizes, self._strides, self._offset, "view")
        if self._ndim != 2:
            raise RuntimeError(
                f"tensor.H is only supported on matrices (2-D tensors). Got {self._ndim}-D "
                f"tensor." + (" For batches of matrices, consider using tensor.mH"
                              if self._ndim > 2 else ""))
        return self.t()

    @property
    def mH(self):
        """The last two dims swapped (the conjugate transpose of a batch of real matrices);
        0-d: self."""
        if self._ndim == 0:
            return _view(self, 0, self._sizes, self._strides, self._offset, "view")
        if self._ndim < 2:
            raise RuntimeError(f"tensor.mH is only supported on matrices or batches of "
                               f"matrices. Got {self._ndim}-D tensor.")
        return self.transpose(-2, -1)

    def adjoint(self):
        """The last two dims swapped (the conjugate transpose; strided's dtypes are real);
        0-d: self."""
        if self._ndim == 0:
            return _view(self, 0, self._sizes, self._strides, self._offset, "view")
        if self._ndim < 2:
            raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches "
                               f"of matrices. Got {self._ndim}-D tensor.")
        return self.transpose(-2, -1)

    def storage(self):
        """The typed storage this tensor views (the whole of it, as PyTorch's
        TypedStorage): len, indexing, data_ptr, tolist, dtype, size(), element_size(),
        untyped()."""
        return self._storage

    def t_(self):
        """t(), in place: this tensor's own sizes and strides are swapped; returns self."""
        return _inplace_view(self, lambda x: x.t(), "t_", None)

    def transpose_(self, dim0, dim1):
        """transpose(dim0, dim1), in place; returns self."""
        return _inplace_view(self, lambda x: x.transpose(dim0, dim1), "transpose_",
                             (_wrap_dim(dim0, self._ndim), _wrap_dim(dim1, self._ndim)))

    def swapdims_(self, dim0, dim1):
        """transpose_(dim0, dim1)."""
        return _inplace_view(self, lambda x: x.transpose(dim0, dim1), "transpose_",
                             (_wrap_dim(dim0, self._ndim), _wrap_dim(dim1, self._ndim)))

    def swapaxes_(self, axis0, axis1):
        """transpose_(axis0, axis1)."""
        return _inplace_view(self, lambda x: x.transpose(axis0, axis1), "transpose_",
                             (_wrap_dim(axis0, self._ndim), _wrap_dim(axis1, self._ndim)))

    def squeeze_(self, dim=None):
        """squeeze(dim), in place; returns self."""
        return _inplace_view(self, lambda x: x.squeeze(dim), "squeeze_", dim)

    def unsqueeze_(self, dim):
        """unsqueeze(dim), in place; returns self."""
        return _inplace_view(self, lambda x: x.unsqueeze(dim), "unsqueeze_", None)

    def as_strided_(self, size, stride, storage_offset=None):
        """as_strided(size, stride, storage_offset), in place (checked against the
        storage like every view); returns self."""
        return _inplace_view(self, lambda x: x.as_strided(size, stride, storage_offset),
                             "as_strided_", None)

    def resize_(self, size=(), *rest, memory_format=None):
        """resize_(*sizes): contiguous with these sizes from the same storage offset; the
        storage is kept when big enough (elements keep their flat order), else replaced by
        a larger one holding the old elements first.  Refused for tensors that require grad."""
        cdef int64_t sizes[MAX_DIMS]
        cdef int n = _parse_varargs(size, rest, sizes, "resize_(): argument 'size'")
        return _resize(self, n, sizes)

    def resize_as_(self, Tensor the_template, *, memory_format=None):
        """resize_(the_template.shape)."""
        return _resize(self, the_template._ndim, the_template._sizes)

    def set_(self, source=None, storage_offset=None, size=None, stride=None):
        """set_() / set_(tensor) / set_(storage, storage_offset=0, size=None, stride=None):
        view another storage (a tensor's with its layout, or a Storage with the layout
        given; contiguous by default), or a new empty one; returns self."""
        return _set_(self, source, storage_offset, size, stride)

    def __delitem__(self, index):
        """Raises TypeError: elements of a tensor cannot be deleted (as in PyTorch)."""
        raise TypeError("Tensor does not support deleting items")

    def new(self, *args, device=None):
        """PyTorch's legacy x.new(...): x.new(*sizes) an uninitialised tensor, x.new(data) a
        copy of data, x.new() an empty tensor -- all of x's dtype."""
        check_device(device, "Tensor.new()")
        return _legacy_new(args, self._dtype, "new")

    def new_empty(self, size=(), *rest, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of these sizes, with self's dtype unless given."""
        check_device(device, "new_empty()")
        cdef int64_t sizes[MAX_DIMS]
        cdef int n = _parse_varargs(size, rest, sizes, "new_empty(): argument 'size'")
        return _maybe_requires_grad(new_tensor(n, sizes, self._dtype if dtype is None else
                                               as_dtype(dtype), False), requires_grad)

    def new_zeros(self, size=(), *rest, dtype=None, device=None, requires_grad=False):
        """A tensor of zeros of these sizes, with self's dtype unless given."""
        check_device(device, "new_zeros()")
        cdef int64_t sizes[MAX_DIMS]
        cdef int n = _parse_varargs(size, rest, sizes, "new_zeros(): argument 'size'")
        return _maybe_requires_grad(new_tensor(n, sizes, self._dtype if dtype is None else
                                               as_dtype(dtype), True), requires_grad)

    def new_ones(self, size=(), *rest, dtype=None, device=None, requires_grad=False):
        """A tensor of ones of these sizes, with self's dtype unless given."""
        check_device(device, "new_ones()")
        cdef int64_t sizes[MAX_DIMS]
        cdef int n = _parse_varargs(size, rest, sizes, "new_ones(): argument 'size'")
        return _maybe_requires_grad(_full(_int_tuple(n, sizes), 1, self._dtype if dtype is None
                                          else as_dtype(dtype)), requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """A tensor of these sizes filled with fill_value, with self's dtype unless given."""
        check_device(device, "new_full()")
        return _maybe_requires_grad(_full(size, fill_value, self._dtype if dtype is None
                                          else as_dtype(dtype)), requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        """A copy of data (as strided.tensor) with self's dtype unless given."""
        check_device(device, "new_tensor()")
        if isinstance(data, Tensor):
            data = (<Tensor>data).detach()
        return _maybe_requires_grad(_tensor_from_data(data, self._dtype if dtype is None
                                                      else as_dtype(dtype)), requires_grad)

    def type(self, dtype=None, non_blocking=False):
        """type(): PyTorch's type name ('strided.FloatTensor', 'strided.LongTensor', ...);
        type(dtype) / type('strided.FloatTensor') (or 'torch.FloatTensor'): to(dtype)."""
        if dtype is None:
            return "strided." + _LEGACY_TYPE_NAMES[self._dtype.num]
        if isinstance(dtype, str):
            return self.to(_legacy_type(dtype))
        if callable(dtype) and getattr(dtype, "__name__", None) in _LEGACY_TYPE_NAMES:
            return self.to(_legacy_type(dtype.__name__))        # type(strided.LongTensor)
        return self.to(dtype)

    def count_nonzero(self, dim=None):
        """The number of nonzero elements over dim (an int, a tuple of ints, or all), int64."""
        return _sum(_binary(B_NE, self, 0, None, None, False), dim, False, None)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        """sum() with NaN counted as zero (its gradient is 0 there)."""
        if not self._dtype.is_floating_point:
            return _sum(self, dim, keepdim, dtype)
        return _sum(_where(_unary(U_ISNAN, self, None, "isnan"), 0.0, self), dim, keepdim, dtype)

    def __format__(self, format_spec):
        """A 0-d tensor formats as its value (f"{loss:.3f}"); other tensors only with an
        empty spec (their str), as in PyTorch."""
        if self._ndim == 0:
            return format(self.item(), format_spec)
        if format_spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    # ---- element-wise ops (ops/elementwise.pxi) ------------------------------------------
    # Operators return NotImplemented for operands they don't know, so Python can try the
    # other side; in-place forms write into self's storage (NOTE [ Type promotion ]).

    def __add__(self, other):
        return _binary(B_ADD, self, other, None, None, True)

    def __radd__(self, other):
        return _binary(B_ADD, other, self, None, None, True)

    def __iadd__(self, other):
        return _binary(B_ADD, self, other, self, None, True)

    def __sub__(self, other):
        return _binary(B_SUB, self, other, None, None, True)

    def __rsub__(self, other):
        return _binary(B_SUB, other, self, None, None, True)

    def __isub__(self, other):
        return _binary(B_SUB, self, other, self, None, True)

    def __mul__(self, other):
        return _binary(B_MUL, self, other, None, None, True)

    def __rmul__(self, other):
        return _binary(B_MUL, other, self, None, None, True)

    def __imul__(self, other):
        return _binary(B_MUL, self, other, self, None, True)

    def __truediv__(self, other):
        return _binary(B_DIV, self, other, None, None, True)

    def __rtruediv__(self, other):
        return _binary(B_DIV, other, self, None, None, True)

    def __itruediv__(self, other):
        return _binary(B_DIV, self, other, self, None, True)

    def __floordiv__(self, other):
        return _binary(B_FLOOR_DIVIDE, self, other, None, None, True)

    def __rfloordiv__(self, other):
        return _binary(B_FLOOR_DIVIDE, other, self, None, None, True)

    def __ifloordiv__(self, other):
        return _binary(B_FLOOR_DIVIDE, self, other, self, None, True)

    def __mod__(self, other):
        return _binary(B_REMAINDER, self, other, None, None, True)

    def __rmod__(self, other):
        return _binary(B_REMAINDER, other, self, None, None, True)

    def __imod__(self, other):
        return _binary(B_REMAINDER, self, other, self, None, True)

    def __pow__(self, other, modulo=None):
        return _binary(B_POW, self, other, None, None, True)

    def __rpow__(self, other, modulo=None):
        return _binary(B_POW, other, self, None, None, True)

    def __ipow__(self, other):
        return _binary(B_POW, self, other, self, None, True)

    def __and__(self, other):
        return _binary(B_BITWISE_AND, self, other, None, None, True)

    def __rand__(self, other):
        return _binary(B_BITWISE_AND, other, self, None, None, True)

    def __iand__(self, other):
        return _binary(B_BITWISE_AND, self, other, self, None, True)

    def __or__(self, other):
        return _binary(B_BITWISE_OR, self, other, None, None, True)

    def __ror__(self, other):
        return _binary(B_BITWISE_OR, other, self, None, None, True)

    def __ior__(self, other):
        return _binary(B_BITWISE_OR, self, other, self, None, True)

    def __xor__(self, other):
        return _binary(B_BITWISE_XOR, self, other, None, None, True)

    def __rxor__(self, other):
        return _binary(B_BITWISE_XOR, other, self, None, None, True)

    def __ixor__(self, other):
        return _binary(B_BITWISE_XOR, self, other, self, None, True)

    def __lshift__(self, other):
        return _binary(B_LSHIFT, self, other, None, None, True)

    def __rlshift__(self, other):
        return _binary(B_LSHIFT, other, self, None, None, True)

    def __ilshift__(self, other):
        return _binary(B_LSHIFT, self, other, self, None, True)

    def __rshift__(self, other):
        return _binary(B_RSHIFT, self, other, None, None, True)

    def __rrshift__(self, other):
        return _binary(B_RSHIFT, other, self, None, None, True)

    def __irshift__(self, other):
        return _binary(B_RSHIFT, self, other, self, None, True)

    def __eq__(self, other):
        return _binary(B_EQ, self, other, None, None, True)

    def __ne__(self, other):
        return _binary(B_NE, self, other, None, None, True)

    def __lt__(self, other):
        return _binary(B_LT, self, other, None, None, True)

    def __le__(self, other):
        return _binary(B_LE, self, other, None, None, True)

    def __gt__(self, other):
        return _binary(B_GT, self, other, None, None, True)

    def __ge__(self, other):
        return _binary(B_GE, self, other, None, None, True)

    def __hash__(self):
        return id(self)

    # NumPy defers `ndarray (op) tensor` and `numpy scalar (op) tensor` to the reflected
    # Tensor operators, so the result is a Tensor (as with PyTorch)
    __array_priority__ = 1000

    def __neg__(self):
        return _unary(U_NEG, self, None, "neg")

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(U_ABS, self, None, "abs")

    def __invert__(self):
        return _unary(U_BITWISE_NOT, self, None, "bitwise_not")

    def add(self, other, *, alpha=None):
        """self + alpha * other, broadcasting, in a new tensor (other a tensor or a number;
        the result dtype follows PyTorch's promotion rules).  Also self.__add__.

        >>> strided.tensor([1, 2, 3]).add(strided.tensor([1, 1, 1]), alpha=10)
        tensor([11, 12, 13])
        """
        return _binary(B_ADD, self, other, None, alpha, False)

    def add_(self, other, *, alpha=None):
        """self += alpha * other, in place (other broadcast to self's shape); returns self.
        Raises when the promoted result dtype cannot be cast to self's (an int tensor plus a float).
        """
        return _binary(B_ADD, self, other, self, alpha, False)

    def sub(self, other, *, alpha=None):
        """self - alpha * other, broadcasting, in a new tensor (PyTorch's promotion rules)."""
        return _binary(B_SUB, self, other, None, alpha, False)

    def sub_(self, other, *, alpha=None):
        """self -= alpha * other, in place; returns self."""
        return _binary(B_SUB, self, other, self, alpha, False)

    subtract = sub
    subtract_ = sub_

    def div(self, other, *, rounding_mode=None):
        """self / other, broadcasting.  rounding_mode None is true division (integer inputs give
        float32); "trunc" rounds the quotient toward zero and "floor" toward -inf, keeping
        integer dtypes.

        >>> strided.tensor([7, -7]).div(2, rounding_mode="floor")
        tensor([ 3, -4])
        """
        return _div(self, other, rounding_mode, None)

    def div_(self, other, *, rounding_mode=None):
        """self /= other in place (rounding_mode as div); returns self.  True division into an
        integer tensor raises: its float result cannot be cast back.
        """
        return _div(self, other, rounding_mode, self)

    def lerp(self, end, weight):
        """Linear interpolation self + weight * (end - self) (computed from end when weight >= 0.5,
        exact at both ends).  end is a tensor of self's dtype; weight a number or a tensor
        of that dtype; all broadcast.  Floating-point dtypes only.

        >>> strided.tensor([1., 2.]).lerp(strided.tensor([3., 6.]), 0.5)
        tensor([2., 4.])
        """
        return _lerp(self, end, weight, None)

    def lerp_(self, end, weight):
        """lerp in place: self = self + weight * (end - self); returns self."""
        return _lerp(self, end, weight, self)

    def equal(self, other):
        """True when other has self's shape and the same values (a Python bool)."""
        return _equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True (a Python bool) when isclose(other, rtol, atol, equal_nan) holds for every
        element (after broadcasting).
        """
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """A bool tensor: |self - other| <= atol + rtol * |other| element-wise (broadcasting);
        infinities are close only to themselves, NaN to nothing unless equal_nan.  Integer
        operands compare exactly.
        """
        return _isclose(self, other, rtol, atol, equal_nan)

    # BEGIN GENERATED: binary methods (tools/gen_ops.py from strided/op_table.py)
    def mul(self, other):
        """Element-wise mul(self, other), broadcasting (a new tensor).

        The op table's row 'mul'."""
        return _binary(B_MUL, self, other, None, None, False)

    def mul_(self, other):
        """mul, in place; returns self."""
        return _binary(B_MUL, self, other, self, None, False)

    def true_divide(self, other):
        """Element-wise true_divide(self, other), broadcasting (a new tensor).

        The op table's row 'true_divide'."""
        return _binary(B_DIV, self, other, None, None, False)

    def true_divide_(self, other):
        """true_divide, in place; returns self."""
        return _binary(B_DIV, self, other, self, None, False)

    def floor_divide(self, other):
        """Element-wise floor_divide(self, other), broadcasting (a new tensor).

        The op table's row 'floor_divide'."""
        return _binary(B_FLOOR_DIVIDE, self, other, None, None, False)

    def floor_divide_(self, other):
        """floor_divide, in place; returns self."""
        return _binary(B_FLOOR_DIVIDE, self, other, self, None, False)

    def remainder(self, other):
        """Element-wise remainder(self, other), broadcasting (a new tensor).

        The op table's row 'remainder'."""
        return _binary(B_REMAINDER, self, other, None, None, False)

    def remainder_(self, other):
        """remainder, in place; returns self."""
        return _binary(B_REMAINDER, self, other, self, None, False)

    def fmod(self, other):
        """Element-wise fmod(self, other), broadcasting (a new tensor).

        The op table's row 'fmod'."""
        return _binary(B_FMOD, self, other, None, None, False)

    def fmod_(self, other):
        """fmod, in place; returns self."""
        return _binary(B_FMOD, self, other, self, None, False)

    def pow(self, exponent):
        """Element-wise pow(self, exponent), broadcasting (a new tensor).

        The op table's row 'pow'."""
        return _binary(B_POW, self, exponent, None, None, False)

    def pow_(self, exponent):
        """pow, in place; returns self."""
        return _binary(B_POW, self, exponent, self, None, False)

    def maximum(self, other):
        """Element-wise maximum(self, other), broadcasting (a new tensor).

        The op table's row 'maximum'."""
        return _binary(B_MAXIMUM, self, other, None, None, False)

    def minimum(self, other):
        """Element-wise minimum(self, other), broadcasting (a new tensor).

        The op table's row 'minimum'."""
        return _binary(B_MINIMUM, self, other, None, None, False)

    def atan2(self, other):
        """Element-wise atan2(self, other), broadcasting (a new tensor).

        The op table's row 'atan2'."""
        return _binary(B_ATAN2, self, other, None, None, False)

    def atan2_(self, other):
        """atan2, in place; returns self."""
        return _binary(B_ATAN2, self, other, self, None, False)

    def hypot(self, other):
        """Element-wise hypot(self, other), broadcasting (a new tensor).

        The op table's row 'hypot'."""
        return _binary(B_HYPOT, self, other, None, None, False)

    def hypot_(self, other):
        """hypot, in place; returns self."""
        return _binary(B_HYPOT, self, other, self, None, False)

    def bitwise_and(self, other):
        """Element-wise bitwise_and(self, other), broadcasting (a new tensor).

        The op table's row 'bitwise_and'."""
        return _binary(B_BITWISE_AND, self, other, None, None, False)

    def bitwise_and_(self, other):
        """bitwise_and, in place; returns self."""
        return _binary(B_BITWISE_AND, self, other, self, None, False)

    def bitwise_or(self, other):
        """Element-wise bitwise_or(self, other), broadcasting (a new tensor).

        The op table's row 'bitwise_or'."""
        return _binary(B_BITWISE_OR, self, other, None, None, False)

    def bitwise_or_(self, other):
        """bitwise_or, in place; returns self."""
        return _binary(B_BITWISE_OR, self, other, self, None, False)

    def bitwise_xor(self, other):
        """Element-wise bitwise_xor(self, other), broadcasting (a new tensor).

        The op table's row 'bitwise_xor'."""
        return _binary(B_BITWISE_XOR, self, other, None, None, False)

    def bitwise_xor_(self, other):
        """bitwise_xor, in place; returns self."""
        return _binary(B_BITWISE_XOR, self, other, self, None, False)

    def bitwise_left_shift(self, other):
        """Element-wise bitwise_left_shift(self, other), broadcasting (a new tensor).

        The op table's row 'bitwise_left_shift'."""
        return _binary(B_LSHIFT, self, other, None, None, False)

    def bitwise_left_shift_(self, other):
        """bitwise_left_shift, in place; returns self."""
        return _binary(B_LSHIFT, self, other, self, None, False)

    def bitwise_right_shift(self, other):
        """Element-wise bitwise_right_shift(self, other), broadcasting (a new tensor).

        The op table's row 'bitwise_right_shift'."""
        return _binary(B_RSHIFT, self, other, None, None, False)

    def bitwise_right_shift_(self, other):
        """bitwise_right_shift, in place; returns self."""
        return _binary(B_RSHIFT, self, other, self, None, False)

    def eq(self, other):
        """Element-wise eq(self, other), broadcasting (a bool tensor).

        The op table's row 'eq'."""
        return _binary(B_EQ, self, other, None, None, False)

    def eq_(self, other):
        """eq, in place; returns self."""
        return _binary(B_EQ, self, other, self, None, False)

    def ne(self, other):
        """Element-wise ne(self, other), broadcasting (a bool tensor).

        The op table's row 'ne'."""
        return _binary(B_NE, self, other, None, None, False)

    def ne_(self, other):
        """ne, in place; returns self."""
        return _binary(B_NE, self, other, self, None, False)

    def lt(self, other):
        """Element-wise lt(self, other), broadcasting (a bool tensor).

        The op table's row 'lt'."""
        return _binary(B_LT, self, other, None, None, False)

    def lt_(self, other):
        """lt, in place; returns self."""
        return _binary(B_LT, self, other, self, None, False)

    def le(self, other):
        """Element-wise le(self, other), broadcasting (a bool tensor).

        The op table's row 'le'."""
        return _binary(B_LE, self, other, None, None, False)

    def le_(self, other):
        """le, in place; returns self."""
        return _binary(B_LE, self, other, self, None, False)

    def gt(self, other):
        """Element-wise gt(self, other), broadcasting (a bool tensor).

        The op table's row 'gt'."""
        return _binary(B_GT, self, other, None, None, False)

    def gt_(self, other):
        """gt, in place; returns self."""
        return _binary(B_GT, self, other, self, None, False)

    def ge(self, other):
        """Element-wise ge(self, other), broadcasting (a bool tensor).

        The op table's row 'ge'."""
        return _binary(B_GE, self, other, None, None, False)

    def ge_(self, other):
        """ge, in place; returns self."""
        return _binary(B_GE, self, other, self, None, False)

    def logical_and(self, other):
        """Element-wise logical_and(self, other), broadcasting (a bool tensor).

        The op table's row 'logical_and'."""
        return _binary(B_LOGICAL_AND, self, other, None, None, False)

    def logical_and_(self, other):
        """logical_and, in place; returns self."""
        return _binary(B_LOGICAL_AND, self, other, self, None, False)

    def logical_or(self, other):
        """Element-wise logical_or(self, other), broadcasting (a bool tensor).

        The op table's row 'logical_or'."""
        return _binary(B_LOGICAL_OR, self, other, None, None, False)

    def logical_or_(self, other):
        """logical_or, in place; returns self."""
        return _binary(B_LOGICAL_OR, self, other, self, None, False)

    def logical_xor(self, other):
        """Element-wise logical_xor(self, other), broadcasting (a bool tensor).

        The op table's row 'logical_xor'."""
        return _binary(B_LOGICAL_XOR, self, other, None, None, False)

    def logical_xor_(self, other):
        """logical_xor, in place; returns self."""
        return _binary(B_LOGICAL_XOR, self, other, self, None, False)
    # END GENERATED: binary methods

    multiply = mul
    multiply_ = mul_
    divide = div
    divide_ = div_
    arctan2 = atan2
    greater = gt
    greater_equal = ge
    less = lt
    less_equal = le
    not_equal = ne

    def where(self, condition, other):
        """strided.where(condition, self, other): self's elements where the bool tensor
        condition is true, other's elsewhere (all three broadcast; other may be a number).
        """
        return _where(condition, self, other)

    def clamp(self, min=None, max=None):
        """Each element limited to [min, max] (either may be None, not both; numbers or
        broadcasting tensors), in a new tensor.  NaN stays NaN.  Also clip.

        >>> strided.arange(6.).clamp(1, 4)
        tensor([1., 1., 2., 3., 4., 4.])
        """
        return _clamp(self, min, max, None, "clamp")

    def clamp_(self, min=None, max=None):
        """clamp in place; returns self.  Also clip_."""
        return _clamp(self, min, max, self, "clamp_")

    clip = clamp
    clip_ = clamp_

    def clamp_min(self, min):
        """clamp(min=min): each element at least min."""
        return _clamp(self, min, None, None, "clamp_min")

    def clamp_min_(self, min):
        """clamp_min in place; returns self."""
        return _clamp(self, min, None, self, "clamp_min_")

    def clamp_max(self, max):
        """clamp(max=max): each element at most max."""
        return _clamp(self, None, max, None, "clamp_max")

    def clamp_max_(self, max):
        """clamp_max in place; returns self."""
        return _clamp(self, None, max, self, "clamp_max_")

    # BEGIN GENERATED: unary methods (tools/gen_ops.py from strided/op_table.py)
    def neg(self):
        """Neg of each element (a new tensor).  The op table's row 'neg'."""
        return _unary(U_NEG, self, None, "neg")

    def neg_(self):
        """neg, in place; returns self."""
        return _unary(U_NEG, self, self, "neg_")

    def abs(self):
        """Abs of each element (a new tensor).  The op table's row 'abs'."""
        return _unary(U_ABS, self, None, "abs")

    def abs_(self):
        """abs, in place; returns self."""
        return _unary(U_ABS, self, self, "abs_")

    def sign(self):
        """Sign of each element (a new tensor).  The op table's row 'sign'."""
        return _unary(U_SIGN, self, None, "sign")

    def sign_(self):
        """sign, in place; returns self."""
        return _unary(U_SIGN, self, self, "sign_")

    def square(self):
        """Square of each element (a new tensor).  The op table's row 'square'."""
        return _unary(U_SQUARE, self, None, "square")

    def square_(self):
        """square, in place; returns self."""
        return _unary(U_SQUARE, self, self, "square_")

    def relu(self):
        """Relu of each element (a new tensor).  The op table's row 'relu'."""
        return _unary(U_RELU, self, None, "relu")

    def relu_(self):
        """relu, in place; returns self."""
        return _unary(U_RELU, self, self, "relu_")

    def floor(self):
        """Floor of each element (a new tensor).  The op table's row 'floor'."""
        return _unary(U_FLOOR, self, None, "floor")

    def floor_(self):
        """floor, in place; returns self."""
        return _unary(U_FLOOR, self, self, "floor_")

    def ceil(self):
        """Ceil of each element (a new tensor).  The op table's row 'ceil'."""
        return _unary(U_CEIL, self, None, "ceil")

    def ceil_(self):
        """ceil, in place; returns self."""
        return _unary(U_CEIL, self, self, "ceil_")

    def trunc(self):
        """Trunc of each element (a new tensor).  The op table's row 'trunc'."""
        return _unary(U_TRUNC, self, None, "trunc")

    def trunc_(self):
        """trunc, in place; returns self."""
        return _unary(U_TRUNC, self, self, "trunc_")

    def frac(self):
        """Frac of each element (a new tensor).  The op table's row 'frac'."""
        return _unary(U_FRAC, self, None, "frac")

    def frac_(self):
        """frac, in place; returns self."""
        return _unary(U_FRAC, self, self, "frac_")

    def bitwise_not(self):
        """Bitwise_not of each element (a new tensor).  The op table's row 'bitwise_not'."""
        return _unary(U_BITWISE_NOT, self, None, "bitwise_not")

    def bitwise_not_(self):
        """bitwise_not, in place; returns self."""
        return _unary(U_BITWISE_NOT, self, self, "bitwise_not_")

    def exp(self):
        """Exp of each element (a new tensor).  The op table's row 'exp'."""
        return _unary(U_EXP, self, None, "exp")

    def exp_(self):
        """exp, in place; returns self."""
        return _unary(U_EXP, self, self, "exp_")

    def exp2(self):
        """Exp2 of each element (a new tensor).  The op table's row 'exp2'."""
        return _unary(U_EXP2, self, None, "exp2")

    def exp2_(self):
        """exp2, in place; returns self."""
        return _unary(U_EXP2, self, self, "exp2_")

    def expm1(self):
        """Expm1 of each element (a new tensor).  The op table's row 'expm1'."""
        return _unary(U_EXPM1, self, None, "expm1")

    def expm1_(self):
        """expm1, in place; returns self."""
        return _unary(U_EXPM1, self, self, "expm1_")

    def log(self):
        """Log of each element (a new tensor).  The op table's row 'log'."""
        return _unary(U_LOG, self, None, "log")

    def log_(self):
        """log, in place; returns self."""
        return _unary(U_LOG, self, self, "log_")

    def log2(self):
        """Log2 of each element (a new tensor).  The op table's row 'log2'."""
        return _unary(U_LOG2, self, None, "log2")

    def log2_(self):
        """log2, in place; returns self."""
        return _unary(U_LOG2, self, self, "log2_")

    def log10(self):
        """Log10 of each element (a new tensor).  The op table's row 'log10'."""
        return _unary(U_LOG10, self, None, "log10")

    def log10_(self):
        """log10, in place; returns self."""
        return _unary(U_LOG10, self, self, "log10_")

    def log1p(self):
        """Log1p of each element (a new tensor).  The op table's row 'log1p'."""
        return _unary(U_LOG1P, self, None, "log1p")

    def log1p_(self):
        """log1p, in place; returns self."""
        return _unary(U_LOG1P, self, self, "log1p_")

    def sqrt(self):
        """Sqrt of each element (a new tensor).  The op table's row 'sqrt'."""
        return _unary(U_SQRT, self, None, "sqrt")

    def sqrt_(self):
        """sqrt, in place; returns self."""
        return _unary(U_SQRT, self, self, "sqrt_")

    def rsqrt(self):
        """Rsqrt of each element (a new tensor).  The op table's row 'rsqrt'."""
        return _unary(U_RSQRT, self, None, "rsqrt")

    def rsqrt_(self):
        """rsqrt, in place; returns self."""
        return _unary(U_RSQRT, self, self, "rsqrt_")

    def sin(self):
        """Sin of each element (a new tensor).  The op table's row 'sin'."""
        return _unary(U_SIN, self, None, "sin")

    def sin_(self):
        """sin, in place; returns self."""
        return _unary(U_SIN, self, self, "sin_")

    def cos(self):
        """Cos of each element (a new tensor).  The op table's row 'cos'."""
        return _unary(U_COS, self, None, "cos")

    def cos_(self):
        """cos, in place; returns self."""
        return _unary(U_COS, self, self, "cos_")

    def tan(self):
        """Tan of each element (a new tensor).  The op table's row 'tan'."""
        return _unary(U_TAN, self, None, "tan")

    def tan_(self):
        """tan, in place; returns self."""
        return _unary(U_TAN, self, self, "tan_")

    def asin(self):
        """Asin of each element (a new tensor).  The op table's row 'asin'."""
        return _unary(U_ASIN, self, None, "asin")

    def asin_(self):
        """asin, in place; returns self."""
        return _unary(U_ASIN, self, self, "asin_")

    def acos(self):
        """Acos of each element (a new tensor).  The op table's row 'acos'."""
        return _unary(U_ACOS, self, None, "acos")

    def acos_(self):
        """acos, in place; returns self."""
        return _unary(U_ACOS, self, self, "acos_")

    def atan(self):
        """Atan of each element (a new tensor).  The op table's row 'atan'."""
        return _unary(U_ATAN, self, None, "atan")

    def atan_(self):
        """atan, in place; returns self."""
        return _unary(U_ATAN, self, self, "atan_")

    def sinh(self):
        """Sinh of each element (a new tensor).  The op table's row 'sinh'."""
        return _unary(U_SINH, self, None, "sinh")

    def sinh_(self):
        """sinh, in place; returns self."""
        return _unary(U_SINH, self, self, "sinh_")

    def cosh(self):
        """Cosh of each element (a new tensor).  The op table's row 'cosh'."""
        return _unary(U_COSH, self, None, "cosh")

    def cosh_(self):
        """cosh, in place; returns self."""
        return _unary(U_COSH, self, self, "cosh_")

    def tanh(self):
        """Tanh of each element (a new tensor).  The op table's row 'tanh'."""
        return _unary(U_TANH, self, None, "tanh")

    def tanh_(self):
        """tanh, in place; returns self."""
        return _unary(U_TANH, self, self, "tanh_")

    def sigmoid(self):
        """Sigmoid of each element (a new tensor).  The op table's row 'sigmoid'."""
        return _unary(U_SIGMOID, self, None, "sigmoid")

    def sigmoid_(self):
        """sigmoid, in place; returns self."""
        return _unary(U_SIGMOID, self, self, "sigmoid_")

    def reciprocal(self):
        """Reciprocal of each element (a new tensor).  The op table's row 'reciprocal'."""
        return _unary(U_RECIPROCAL, self, None, "reciprocal")

    def reciprocal_(self):
        """reciprocal, in place; returns self."""
        return _unary(U_RECIPROCAL, self, self, "reciprocal_")

    def erf(self):
        """Erf of each element (a new tensor).  The op table's row 'erf'."""
        return _unary(U_ERF, self, None, "erf")

    def erf_(self):
        """erf, in place; returns self."""
        return _unary(U_ERF, self, self, "erf_")

    def erfc(self):
        """Erfc of each element (a new tensor).  The op table's row 'erfc'."""
        return _unary(U_ERFC, self, None, "erfc")

    def erfc_(self):
        """erfc, in place; returns self."""
        return _unary(U_ERFC, self, self, "erfc_")

    def rad2deg(self):
        """Rad2deg of each element (a new tensor).  The op table's row 'rad2deg'."""
        return _unary(U_RAD2DEG, self, None, "rad2deg")

    def rad2deg_(self):
        """rad2deg, in place; returns self."""
        return _unary(U_RAD2DEG, self, self, "rad2deg_")

    def deg2rad(self):
        """Deg2rad of each element (a new tensor).  The op table's row 'deg2rad'."""
        return _unary(U_DEG2RAD, self, None, "deg2rad")

    def deg2rad_(self):
        """deg2rad, in place; returns self."""
        return _unary(U_DEG2RAD, self, self, "deg2rad_")

    def isnan(self):
        """Whether each element is nan (a new tensor).  The op table's row 'isnan'."""
        return _unary(U_ISNAN, self, None, "isnan")

    def isinf(self):
        """Whether each element is inf (a new tensor).  The op table's row 'isinf'."""
        return _unary(U_ISINF, self, None, "isinf")

    def isfinite(self):
        """Whether each element is finite (a new tensor).  The op table's row 'isfinite'."""
        return _unary(U_ISFINITE, self, None, "isfinite")

    def isposinf(self):
        """Whether each element is posinf (a new tensor).  The op table's row 'isposinf'."""
        return _unary(U_ISPOSINF, self, None, "isposinf")

    def isneginf(self):
        """Whether each element is neginf (a new tensor).  The op table's row 'isneginf'."""
        return _unary(U_ISNEGINF, self, None, "isneginf")

    def signbit(self):
        """Signbit of each element (a new tensor).  The op table's row 'signbit'."""
        return _unary(U_SIGNBIT, self, None, "signbit")

    def logical_not(self):
        """Logical_not of each element (a new tensor).  The op table's row 'logical_not'."""
        return _unary(U_LOGICAL_NOT, self, None, "logical_not")

    def logical_not_(self):
        """logical_not, in place; returns self."""
        return _unary(U_LOGICAL_NOT, self, self, "logical_not_")
    # END GENERATED: unary methods

    negative, negative_, absolute, absolute_ = neg, neg_, abs, abs_
    fix, fix_, arcsin, arccos, arctan = trunc, trunc_, asin, acos, atan

    def round(self, *, decimals=0):
        """Each element rounded to the nearest integer, halves to even (as PyTorch and NumPy),
        or to `decimals` decimal places (floating-point dtypes only; negative decimals round
        to tens, hundreds, ...).

        >>> strided.tensor([0.5, 1.5, 2.5]).round()
        tensor([0., 2., 2.])
        """
        return _round(self, decimals, None)

    def round_(self, *, decimals=0):
        """round in place; returns self."""
        return _round(self, decimals, self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """A copy with NaN replaced by nan, +inf by posinf and -inf by neginf (by default the
        greatest and the lowest finite value of the dtype).  Integer tensors: a plain copy.
        """
        return _nan_to_num(self, nan, posinf, neginf)

    # ---- reductions (ops/reduce.pxi) -----------------------------------------------------

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        """The sum over dim (an int, a tuple of ints, or None / () for all dims); keepdim keeps
        the reduced dims with size 1.  Floating-point input keeps its dtype (accumulated in
        float64); integer and bool input gives int64, as PyTorch; dtype= casts the input first.

        >>> strided.arange(6.).reshape(2, 3).sum(0)
        tensor([3., 5., 7.])
        """
        return _sum(self, dim, keepdim, dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product of all elements, or over one dim (an int; a tuple is a TypeError, as in
        PyTorch).  dtype rules as sum: integer and bool input gives int64.
        """
        if isinstance(dim, (tuple, list)):
            raise TypeError("prod(): argument 'dim' must be int, not tuple")
        return _prod(self, dim, keepdim, dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        """The mean over dim (an int, a tuple, or None for all dims).  Floating-point input (or
        dtype=) only, as PyTorch: an integer tensor raises.  The mean of no elements is NaN.
        """
        return _mean(self, dim, keepdim, dtype)

    def max(self, dim=None, keepdim=False):
        """max() -> 0-d tensor; max(dim, keepdim) -> (values, indices); max(other) -> maximum."""
        if isinstance(dim, Tensor):
            return _binary(B_MAXIMUM, self, dim, None, None, False)
        if dim is None:
            return _amax(self, None, False, True, "max")
        return _arg_reduce(self, dim, keepdim, True, True, "max")

    def min(self, dim=None, keepdim=False):
        """min() -> 0-d tensor; min(dim, keepdim) -> (values, indices); min(other) -> minimum."""
        if isinstance(dim, Tensor):
            return _binary(B_MINIMUM, self, dim, None, None, False)
        if dim is None:
            return _amax(self, None, False, False, "min")
        return _arg_reduce(self, dim, keepdim, False, True, "min")

    def amax(self, dim=(), keepdim=False):
        """The maximum over dim (an int, a tuple, or () for all dims), in self's dtype; NaN
        propagates.  Unlike max(dim) it returns no indices; its gradient is shared evenly
        among equal maxima.
        """
        return _amax(self, dim, keepdim, True, "amax")

    def amin(self, dim=(), keepdim=False):
        """The minimum over dim (an int, a tuple, or () for all dims); see amax."""
        return _amax(self, dim, keepdim, False, "amin")

    def argmax(self, dim=None, keepdim=False):
        """int64 indices of the maximum along dim (the first one on ties); dim None gives the
        index into the flattened tensor.

        >>> strided.tensor([[1, 5], [7, 2]]).argmax(1)
        tensor([1, 0])
        """
        return _arg_reduce(self, dim, keepdim, True, False, "argmax")

    def argmin(self, dim=None, keepdim=False):
        """int64 indices of the minimum along dim (the first one on ties); dim None gives the
        index into the flattened tensor.
        """
        return _arg_reduce(self, dim, keepdim, False, False, "argmin")

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance over dim (an int, a tuple, or None for all dims): sum((x - mean)**2) /
        (N - correction), correction 1 by default (Bessel's), 0 for unbiased=False.
        Floating-point dtypes only.
        """
        if isinstance(dim, bool):           # var(unbiased) positional form
            dim, unbiased = None, dim
        return _var(self, dim, unbiased, correction, keepdim, False)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The standard deviation, sqrt(var(...)) with the same arguments (correction 1 by
        default).  Floating-point dtypes only.
        """
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        return _var(self, dim, unbiased, correction, keepdim, True)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over dim (all dims by default): p "fro" or 2 is sqrt(sum(x**2)),
        1 sum(|x|), inf max(|x|), -inf min(|x|), 0 the count of nonzeros, other numbers
        sum(|x|**p)**(1/p).  Floating-point dtypes only (or dtype=).

        >>> strided.tensor([3., 4.]).norm()
        tensor(5.)
        """
        return _norm(self, p, dim, keepdim, dtype)

    def any(self, dim=None, keepdim=False):
        """True where any element over dim is nonzero: a bool tensor (uint8 for uint8 input,
        as PyTorch).  dim is an int, a tuple, or None for all dims; dim=() reduces nothing.
        """
        return _any_all(self, dim, keepdim, True)

    def all(self, dim=None, keepdim=False):
        """True where every element over dim is nonzero: a bool tensor (uint8 for uint8 input,
        as PyTorch).  dim is an int, a tuple, or None for all dims; dim=() reduces nothing.
        """
        return _any_all(self, dim, keepdim, False)

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(self), dim)) computed stably (the maximum is subtracted first); dim is an
        int or a tuple.  Integer input is computed in float32.
        """
        return _logsumexp(self, dim, keepdim)

    def cumsum(self, dim, *, dtype=None):
        """The running sum along dim, same shape as self.  Integer and bool input gives int64
        (as PyTorch); dtype= casts the input first.

        >>> strided.tensor([1, 2, 3]).cumsum(0)
        tensor([1, 3, 6])
        """
        return _cumulative(self, dim, dtype, True, "cumsum")

    def cumprod(self, dim, *, dtype=None):
        """The running product along dim, same shape as self (integer and bool input gives
        int64, as cumsum).
        """
        return _cumulative(self, dim, dtype, False, "cumprod")

    def softmax(self, dim, dtype=None):
        """exp(x) / sum(exp(x)) along dim, computed stably; same shape and dtype as self.
        Floating-point dtypes only (dtype= casts the input first).
        """
        return _softmax(self, dim, dtype, False)

    def log_softmax(self, dim, dtype=None):
        """log(softmax(x)) along dim, computed stably (x - logsumexp(x)); floating-point only."""
        return _softmax(self, dim, dtype, True)

    # ---- matrix products (implemented in strided._C.ops.gemm) ---------------------------

    def __matmul__(self, other):
        return _gemm_ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _gemm_ops().matmul(other, self)

    def matmul(self, other):
        """self @ other with PyTorch's rules (strided.matmul): 1-D @ 1-D is a dot product, 2-D
        operands multiply as matrices, more dims are batches of matrices whose batch dims
        broadcast.

        >>> (strided.ones(5, 2, 3) @ strided.ones(3, 4)).shape
        strided.Size([5, 2, 4])
        """
        return _gemm_ops().matmul(self, other)

    def mm(self, mat2):
        """The matrix product of self (n x m) and mat2 (m x p), (n x p); no broadcasting."""
        return _gemm_ops().mm(self, mat2)

    def bmm(self, mat2):
        """Batched matrix products self[i] @ mat2[i] for (b x n x m) and (b x m x p) tensors;
        no broadcasting.
        """
        return _gemm_ops().bmm(self, mat2)

    def mv(self, vec):
        """The product of the matrix self (n x m) and the vector vec (m), a vector (n)."""
        return _gemm_ops().mv(self, vec)

    def dot(self, other):
        """The dot product of two 1-D tensors of the same size and dtype, a 0-d tensor."""
        return _gemm_ops().dot(self, other)

    def outer(self, vec2):
        """The outer product out[i, j] = self[i] * vec2[j] of two 1-D tensors."""
        return _gemm_ops().outer(self, vec2)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """beta * self + alpha * (mat1 @ mat2), self broadcast to the product's shape; beta=0
        ignores self (NaN in it does not propagate).
        """
        return _gemm_ops().addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    # ---- indexing ---------------------------------------------------------------------

    def index_select(self, dim, index):
        """A new tensor of the entries at the positions in the 1-D integer tensor index along
        dim (a copy; index may repeat).

        >>> strided.arange(6).reshape(2, 3).index_select(1, strided.tensor([2, 0]))
        tensor([[2, 0],
                [5, 3]])
        """
        return _index_ops().index_select(self, dim, index)

    def index_add_(self, dim, index, source, *, alpha=1):
        """For each i, add alpha * source's i-th slice along dim to self's index[i]-th slice, in
        place (repeated indices accumulate); returns self.
        """
        return _index_ops().index_add_(self, dim, index, source, alpha)

    def index_add(self, dim, index, source, *, alpha=1):
        """index_add_ on a copy of self."""
        return _index_ops().index_add_(self.clone(), dim, index, source, alpha)

    def index_copy_(self, dim, index, source):
        """Copy source's slice k along dim into self's slice index[k] for every k, in place;
        returns self.  index: 0-d or 1-d int64 with source.size(dim) values in
        [0, self.size(dim)); source has self's dtype and sizes apart from dim.  Of repeated
        indices the last one's slice is kept.

        >>> x = strided.zeros(3, 2)
        >>> x.index_copy_(0, strided.tensor([2]), strided.tensor([[1.0, 2.0]])).tolist()
        [[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]]
        """
        return _ops17("gather").index_copy_(self, dim, index, source)

    def index_copy(self, dim, index, source):
        """strided.index_copy(self, dim, index, source): index_copy_ on a copy of self.

        >>> strided.zeros(3).index_copy(0, strided.tensor([1]), strided.tensor([7.0])).tolist()
        [0.0, 7.0, 0.0]
        """
        return _ops17("gather").index_copy(self, dim, index, source)

    def index_fill_(self, dim, index, value):
        """Fill self's slices along dim at the positions in index (0-d or 1-d int64; negative
        positions count from the end) with value (a number or a 0-d tensor), in place;
        returns self.

        >>> strided.zeros(2, 3).index_fill_(1, strided.tensor([0, 2]), 1.0).tolist()
        [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
        """
        return _ops17("gather").index_fill_(self, dim, index, value)

    def index_fill(self, dim, index, value):
        """strided.index_fill(self, dim, index, value): index_fill_ on a copy of self.

        >>> strided.zeros(3).index_fill(0, strided.tensor([-1]), 2.0).tolist()
        [0.0, 0.0, 2.0]
        """
        return _ops17("gather").index_fill(self, dim, index, value)

    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        """Reduce source's slice k along dim into self's slice index[k] for every k, in
        place: reduce is "prod", "mean", "amax" or "amin"; include_self=False leaves self's
        own values out of the slices written to.  Returns self (strided.index_reduce).

        >>> x = strided.tensor([1.0, 5.0, 2.0])
        >>> x.index_reduce_(0, strided.tensor([0, 0]), strided.tensor([4.0, 3.0]), "amax").tolist()
        [4.0, 5.0, 2.0]
        """
        return _ops17("gather").index_reduce_(self, dim, index, source, reduce,
                                              include_self=include_self)

    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        """strided.index_reduce(self, dim, index, source, reduce, include_self=...): on a copy.

        >>> strided.ones(2).index_reduce(0, strided.tensor([1, 1]), strided.tensor([2.0, 4.0]),
        ...                              "mean", include_self=False).tolist()
        [1.0, 3.0]
        """
        return _ops17("gather").index_reduce(self, dim, index, source, reduce,
                                             include_self=include_self)

    def uniform_(self, from_=0, to=1, *, generator=None):
        """Fill self in place with samples uniform in [from_, to) (floating-point dtypes),
        drawn from generator or the default one (strided.manual_seed makes them
        reproducible); returns self.

        >>> _ = strided.manual_seed(0)
        >>> a = strided.empty(3).uniform_(-1, 1)
        >>> _ = strided.manual_seed(0)
        >>> strided.equal(a, strided.empty(3).uniform_(-1, 1)), (a.abs() <= 1).all().item()
        (True, True)
        """
        return _ops17("compose").fill_random("uniform_", self, from_, to, generator=generator)

    def normal_(self, mean=0, std=1, *, generator=None):
        """Fill self in place with samples from N(mean, std**2) (floating-point dtypes),
        drawn from generator or the default one; returns self.

        >>> strided.empty(2, 3).normal_(0.0, 0.5).shape
        strided.Size([2, 3])
        """
        return _ops17("compose").fill_random("normal_", self, mean, std, generator=generator)

    def random_(self, from_=None, to=None, *, generator=None):
        """Fill self in place with integers uniform in [from_, to): random_(to) means
        from_=0, and random_() draws from [0, 2**mantissa] for floating point (PyTorch's
        rule: every value exactly representable) or over the dtype's non-negative range for
        integers; returns self.

        >>> x = strided.empty(100).random_(3, 5)
        >>> ((x == 3) | (x == 4)).all().item()
        True
        """
        return _ops17("compose").fill_random("random_", self, from_, to, generator=generator)

    def __getitem__(self, index):
        return _getitem(self, index)

    def __setitem__(self, index, value):
        if grad_mode_enabled() and (needs_grad(self) or _obj_needs_grad(value)):
            _autograd().setitem(self, index, value)
            return
        _setitem(self, index, value)

    # ---- autograd (NOTE [ Autograd metadata ]; the engine is strided.autograd) ------------

    @property
    def requires_grad(self):
        """Whether autograd records operations on this tensor: set on leaves by the user (only
        floating-point tensors may require gradients), True for results computed from one.
        """
        return self._requires_grad or self._grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, bint value):
        if self._grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return
        if value and not self._dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad (leaves only; floating-point dtypes only) in place; returns self."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        """The gradient accumulated by backward() (leaves, and tensors that retain_grad())."""
        return self._grad

    @grad.setter
    def grad(self, value):
        cdef Tensor g
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            g = <Tensor>value
            if g._dtype is not self._dtype:
                raise RuntimeError(f"assigned grad has data of type {g._dtype.name} that differs "
                                   f"from the tensor's {self._dtype.name}")
            if g._ndim != self._ndim or memcmp(g._sizes, self._sizes,
                                               self._ndim * sizeof(int64_t)) != 0:
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(g.shape)} for a tensor of size {list(self.shape)}")
        self._grad = value

    @property
    def grad_fn(self):
        """The backward Node that produced this tensor (None for leaves).

        A view whose storage was written since its history was recorded (an in-place op on
        its base or on another view) gets a fresh history: a view of the base's current one.
        """
        if (self._grad_fn is not None and self._base_tensor is not None and
                self._view_version != self._storage._version and
                needs_grad(<Tensor>self._base_tensor)):
            _autograd().record_view(self._base_tensor, self)
        return self._grad_fn

    @property
    def is_leaf(self):
        """True when the tensor was not produced by a recorded operation (grad_fn is None):
        tensors the user made, and every tensor that does not require grad.
        """
        return self._grad_fn is None

    @property
    def output_nr(self):
        """Which output of its grad_fn this tensor is (0 for ops with one output)."""
        return self._output_nr

    @property
    def retains_grad(self):
        """True after retain_grad() on a non-leaf tensor: backward() then fills its .grad."""
        return self._retains_grad

    def retain_grad(self):
        """Keep .grad for this non-leaf tensor after backward (leaves always keep it)."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains_grad:
            self._grad_fn._retain_output(self._output_nr, self)
            self._retains_grad = True

    def register_hook(self, hook):
        """Run hook(grad) on each gradient computed for this tensor, before backward uses
        it; a hook that returns a tensor (of the same shape) replaces the gradient.  On a
        leaf the hooks run before the gradient is accumulated into .grad (or returned by
        autograd.grad); on a non-leaf, before it flows on (and before retain_grad() keeps
        it).  Returns a handle whose remove() unregisters the hook.

        >>> x = strided.ones(2, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 2)
        >>> (x * 3).sum().backward()
        >>> x.grad
        tensor([6., 6.])
        >>> h.remove()
        """
        if not self._requires_grad and self._grad_fn is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        return _autograd().register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Run hook(self) each time backward has accumulated a gradient into this leaf's
        .grad (the hook may read or change self.grad; its return value is ignored).  Returns
        a handle whose remove() unregisters the hook.  Only leaves that require grad take
        one (PyTorch's errors otherwise); strided.distributed's data-parallel wrapper starts
        its gradient all-reduces from these hooks.

        >>> w = strided.ones(2, requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda p: print("grad", p.grad))
        >>> (w * 3).sum().backward()
        grad tensor([3., 3.])
        >>> h.remove()
        """
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        return _autograd().register_post_accumulate_grad_hook(self, hook)

    def detach(self):
        """A tensor sharing self's storage and layout, cut off from the graph."""
        return make_tensor(self._storage, self._ndim, self._sizes, self._strides, self._offset,
                           None)

    def detach_(self):
        """Cut self off from the autograd graph in place (grad_fn None, requires_grad False);
        returns self.
        """
        self._grad_fn = None
        self._requires_grad = False
        return self

    # ---- joining, gathering and sorting (issue 17) ----
    # Entry points in strided/_C/ops/join.pyx, gather.pyx and sort.pyx.

    def repeat(self, *sizes):
        """self tiled sizes[k] times along dim k (see strided/_C/ops/join.pyx repeat)."""
        return _ops17("join").repeat(self, *sizes)

    def tile(self, *dims):
        """strided.tile(self, dims)."""
        return _ops17("join").tile(self, dims)

    def roll(self, shifts, dims=None):
        """strided.roll(self, shifts, dims)."""
        return _ops17("join").roll(self, shifts, dims)

    def ravel(self):
        """self flattened to a contiguous 1-d tensor: a view when self is contiguous, else a
        contiguous copy (as PyTorch's)."""
        return self.contiguous().view(-1)

    def tril(self, diagonal=0):
        """strided.tril(self, diagonal)."""
        return _ops17("join").tril(self, diagonal)

    def triu(self, diagonal=0):
        """strided.triu(self, diagonal)."""
        return _ops17("join").triu(self, diagonal)

    def tril_(self, diagonal=0):
        """tril in place."""
        return _ops17("join").tril_(self, diagonal)

    def triu_(self, diagonal=0):
        """triu in place."""
        return _ops17("join").triu_(self, diagonal)

    def hsplit(self, indices_or_sections):
        """strided.hsplit(self, indices_or_sections)."""
        return _ops17("join").hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections):
        """strided.vsplit(self, indices_or_sections)."""
        return _ops17("join").vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections):
        """strided.dsplit(self, indices_or_sections)."""
        return _ops17("join").dsplit(self, indices_or_sections)

    def gather(self, dim, index, *, sparse_grad=False):
        """strided.gather(self, dim, index)."""
        return _ops17("gather").gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        """strided.scatter(self, dim, index, src or value, reduce=reduce)."""
        return _ops17("gather").scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        """scatter in place."""
        return _ops17("gather").scatter_(self, dim, index, src, value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        """strided.scatter_add(self, dim, index, src)."""
        return _ops17("gather").scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        """scatter_add in place."""
        return _ops17("gather").scatter_add_(self, dim, index, src)

    def masked_fill(self, mask, value):
        """strided.masked_fill(self, mask, value)."""
        return _ops17("gather").masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        """masked_fill in place."""
        return _ops17("gather").masked_fill_(self, mask, value)

    def masked_select(self, mask):
        """strided.masked_select(self, mask)."""
        return _ops17("gather").masked_select(self, mask)

    def masked_scatter(self, mask, source):
        """strided.masked_scatter(self, mask, source)."""
        return _ops17("gather").masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        """masked_scatter in place."""
        return _ops17("gather").masked_scatter_(self, mask, source)

    def nonzero(self, *, as_tuple=False):
        """strided.nonzero(self, as_tuple=as_tuple)."""
        return _ops17("gather").nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        """strided.argwhere(self)."""
        return _ops17("gather").argwhere(self)

    def index_put(self, indices, values, accumulate=False):
        """strided.index_put(self, indices, values, accumulate)."""
        return _ops17("gather").index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        """index_put in place."""
        return _ops17("gather").index_put_(self, indices, values, accumulate)

    def sort(self, dim=-1, descending=False, *, stable=False):
        """strided.sort(self, dim, descending): (values, indices)."""
        return _ops17("sort").sort(self, dim, descending, stable=stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        """strided.argsort(self, dim, descending)."""
        return _ops17("sort").argsort(self, dim, descending, stable)

    def msort(self):
        """strided.msort(self)."""
        return _ops17("sort").msort(self)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """strided.topk(self, k, dim, largest, sorted): (values, indices)."""
        return _ops17("sort").topk(self, k, dim, largest, sorted)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """strided.kthvalue(self, k, dim, keepdim): (values, indices)."""
        return _ops17("sort").kthvalue(self, k, dim, keepdim)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """strided.scatter_reduce(self, dim, index, src, reduce, include_self=...)."""
        return _ops17("gather").scatter_reduce(self, dim, index, src, reduce,
                                               include_self=include_self)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        """scatter_reduce in place."""
        return _ops17("gather").scatter_reduce_(self, dim, index, src, reduce,
                                                include_self=include_self)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        """strided.repeat_interleave(self, repeats, dim)."""
        return _ops17("compose").repeat_interleave(self, repeats, dim, output_size=output_size)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """strided.unique(self, ...)."""
        return _ops17("compose").unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        """strided.bincount(self, weights, minlength)."""
        return _ops17("compose").bincount(self, weights, minlength)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """strided.multinomial(self, num_samples, replacement, generator=generator)."""
        return _ops17("compose").multinomial(self, num_samples, replacement,
                                             generator=generator)

    # ---- end of joining, gathering and sorting (issue 17) ----

    # ---- matrix functions (strided.linalg; NOTE [ Linear algebra hook ]) ----

    def det(self):
        """strided.linalg.det(self): the determinant of each square matrix."""
        return _linalg().det(self)

    def logdet(self):
        """strided.logdet(self): log(det) of each square matrix (nan where det < 0)."""
        return _linalg().logdet(self)

    def slogdet(self):
        """strided.linalg.slogdet(self): (sign, logabsdet) of each square matrix."""
        return _linalg().slogdet(self)

    def inverse(self):
        """strided.linalg.inv(self): the inverse of each square matrix."""
        return _linalg().inverse(self)

    def cholesky(self, upper=False):
        """strided.cholesky(self, upper): the Cholesky factor of each positive-definite
        matrix."""
        return _linalg().cholesky(self, upper)

    def pinverse(self, rcond=1e-15):
        """strided.pinverse(self, rcond): the pseudo-inverse of each matrix."""
        return _linalg().pinverse(self, rcond)

    def matrix_power(self, n):
        """strided.linalg.matrix_power(self, n): self @ self @ ... (n factors)."""
        return _linalg().matrix_power(self, n)

    def svd(self, some=True, compute_uv=True):
        """strided.svd(self, some, compute_uv): (U, S, V) with self = U diag(S) V.mT."""
        return _linalg().svd(self, some, compute_uv)

    def qr(self, some=True):
        """strided.qr(self, some): (Q, R) with self = Q @ R."""
        return _linalg().qr(self, some)

    def trace(self):
        """strided.trace(self): the sum of the main diagonal of a 2-D tensor.

        >>> strided.eye(3).trace()
        tensor(3.)
        """
        return _linalg().trace(self)

    def diag(self, diagonal=0):
        """strided.diag(self, diagonal): a matrix with 1-D self on a diagonal, or a copy of
        a 2-D self's diagonal."""
        return _linalg().diag(self, diagonal)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """strided.diag_embed(self, offset, dim1, dim2): self's last dim on diagonals of new
        matrices."""
        return _linalg().diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset=0):
        """strided.diagflat(self, offset): a matrix with self's elements on a diagonal."""
        return _linalg().diagflat(self, offset)


    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's .grad (see strided.autograd.backward).

        self must be a single element unless gradient (d(loss)/d(self), self's shape) is
        given; the graph is freed unless retain_graph=True.

        >>> x = strided.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
        """
        _autograd().backward(self, gradient, retain_graph, create_graph, inputs)

    def _requires_grad_flag(self):
        """The leaf flag set by requires_grad_() (False for non-leaves)."""
        return self._requires_grad

    def _set_grad_fn(self, node, int output_nr):
        """Record node as the producer of this tensor (for strided.autograd only)."""
        self._grad_fn = node
        self._output_nr = output_nr
        self._view_version = self._storage._version

    def _grad_accumulator_node(self):
        """This leaf's AccumulateGrad node, created on first use and kept weakly."""
        node = self._grad_accumulator() if self._grad_accumulator is not None else None
        if node is None:
            node = _autograd().AccumulateGrad(self)
            self._grad_accumulator = weakref_ref(node)
        return node


cdef object _gemm_ops_module = None

cdef object _gemm_ops():
    """strided._C.ops.gemm, imported on first use (it cimports this module)."""
    global _gemm_ops_module
    if _gemm_ops_module is None:
        import strided._C.ops.gemm
        _gemm_ops_module = strided._C.ops.gemm
    return _gemm_ops_module


cdef object _index_module = None

cdef object _index_ops():
    """strided._C.ops.index, imported on first use (it cimports this module)."""
    global _index_module
    if _index_module is None:
        import strided._C.ops.index
        _index_module = strided._C.ops.index
    return _index_module


# ---- joining, gathering and sorting (issue 17): their ops modules, imported on first use ----
cdef dict _ops17_modules = {}

cdef object _ops17(str stem):
    """strided._C.ops.<stem> (join, gather, sort), imported on first use (they cimport this
    module)."""
    m = _ops17_modules.get(stem)
    if m is None:
        import importlib
        m = _ops17_modules[stem] = importlib.import_module("strided._C.ops." + stem)
    return m


from strided._C.core.size import Size as _Size

from strided._C.core.device import (device as _Device, CPU as _CPU, check_device,
                                    DEVICE_TYPES as _DEVICE_TYPES)


def _rebuild_tensor(array, requires_grad=False):
    cdef Tensor t = _tensor_from_numpy_copy(array, None)
    t._requires_grad = requires_grad
    return t


include "views.pxi"
include "indexing.pxi"
include "convert.pxi"
include "out.pxi"
# The Tensor methods of the element-wise ops and reductions are entry points of the ops layer
# (strided/_C/ops/README.md), compiled into this module because a cdef class's methods live in
# the module that defines it.
include "../ops/elementwise.pxi"
include "../ops/reduce.pxi"
