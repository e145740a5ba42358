"""gather, scatter (set, add, multiply), scatter_add, scatter_reduce, the masked ops
(masked_fill, masked_select, masked_scatter), nonzero / argwhere and index_put: argument
checks with PyTorch's rules and messages, then kernels/gather.pyx.

Every index is checked against the size of its dim before anything is written; a read
operand that shares memory with the written one is copied first.  The forward records
nothing; the op is recorded once afterwards (NOTE [ Derivative table ]).
"""
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy

from strided._C.core.dtypes cimport DType, dtype_from_num, BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.tensor cimport wrap_dim as _wrap
from strided._C.core.tensor cimport (Tensor, new_tensor, data_of, check_writable, mark_written,
                                     _memory_overlaps, grad_mode_enabled, needs_grad,
                                     autograd_dispatch, _write_out)
from strided._C.core.iterator cimport MAX_DIMS
from strided._C.core.arith cimport index_int64
from strided._C.kernels.gather cimport (index_out_of_range, gather_kernel, scatter_kernel,
                                        masked_fill_kernel, count_nonzero, masked_select_kernel,
                                        masked_scatter_kernel, nonzero_kernel, SCATTER_SET,
                                        SCATTER_ADD, SCATTER_MUL, SCATTER_AMAX, SCATTER_AMIN)

import warnings

import numpy as np

from strided._C.core.tensor import Tensor as _Tensor, tensor as _tensor, broadcast_shapes

cdef str _TORCH_NAMES = "Bool Byte Int Long Float Double"


cdef str _torch_name(DType dt):
    return _TORCH_NAMES.split()[dt.num]


cdef Tensor _as_tensor_arg(object x, str op, str what):
    if not isinstance(x, _Tensor):
        raise TypeError(f"{op}(): argument '{what}' must be Tensor, not {type(x).__name__}")
    return <Tensor>x


cdef Tensor _value_tensor(object value, Tensor like):
    """A number as a 0-d tensor of like's dtype.  As in PyTorch, a negative int down to -255
    wraps into uint8 (two's complement); other out-of-range values raise."""
    if like._dtype.num == UINT8 and isinstance(value, int) and not isinstance(value, bool) \
            and -255 <= value < 0:
        value += 256
    return _tensor(value, dtype=like.dtype)


cdef Tensor _index_arg(object index, str op):
    cdef Tensor ix = _as_tensor_arg(index, op, "index")
    if ix._dtype.num == INT32:
        return ix.long()
    if ix._dtype.num != INT64:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    return ix


cdef struct Geometry:
    # one operand as the kernels see it: 0-d tensors as 1-d of size 1
    int ndim
    int64_t sizes[MAX_DIMS]
    int64_t strides[MAX_DIMS]


cdef void _geom(Geometry* G, Tensor t) noexcept:
    cdef int d
    if t._ndim == 0:
        G.ndim, G.sizes[0], G.strides[0] = 1, 1, 0
        return
    G.ndim = t._ndim
    for d in range(t._ndim):
        G.sizes[d], G.strides[d] = t._sizes[d], t._strides[d]


cdef int _check_index_shape(Tensor self, int d, Tensor ix, Tensor src, str op) except -1:
    """PyTorch's scatter/gather shape rules: same number of dims, index no larger than self
    apart from dim (and no larger than src)."""
    cdef int sd = self._ndim if self._ndim else 1, idim = ix._ndim if ix._ndim else 1
    cdef int k
    cdef Geometry S, I, R
    if ix._numel == 0:
        return 0
    if sd != idim:
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if op == 'gather' else 'self'} tensor")
    if src is not None and (src._ndim if src._ndim else 1) != idim:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    _geom(&S, self)
    _geom(&I, ix)
    if src is not None:
        _geom(&R, src)
    for k in range(idim):
        if (k != d and I.sizes[k] > S.sizes[k]) or (src is not None and I.sizes[k] > R.sizes[k]):
            if src is None:
                raise RuntimeError(f"Size does not match at dimension {k} expected index "
                                   f"{list(ix.shape)} to be no larger than self "
                                   f"{list(self.shape)} apart from dimension {d}")
            raise RuntimeError(f"Expected index {list(ix.shape)} to be no larger than self "
                               f"{list(self.shape)} apart from dimension {d} and to be no "
                               f"larger size than src {list(src.shape)}")
    return 0


cdef int _check_range(Tensor ix, int d, int64_t size) except -1:
    cdef Geometry I
    cdef int64_t bad = 0
    cdef bint found
    _geom(&I, ix)
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    with nogil:
        found = index_out_of_range(I.ndim, I.sizes, ip, I.strides, size, &bad)
    if found:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    return 0


cdef Tensor _gather(Tensor self, int d, Tensor ix):
    cdef Geometry S, I
    cdef Tensor out = new_tensor(ix._ndim, ix._sizes, self._dtype, False)
    cdef int64_t src_strides[MAX_DIMS]
    cdef int64_t out_strides[MAX_DIMS]
    cdef int k
    if out._numel == 0:
        return out
    _geom(&S, self)
    _geom(&I, ix)
    _check_range(ix, d, S.sizes[d])
    for k in range(I.ndim):
        src_strides[k] = 0 if k == d else S.strides[k]
        out_strides[k] = out._strides[k] if out._ndim else 0
    cdef char* op = data_of(out)
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    cdef const char* sp = data_of(self)
    cdef int64_t dstride = S.strides[d]
    cdef int isz = self._dtype.itemsize
    with nogil:
        gather_kernel(I.ndim, I.sizes, op, out_strides, ip, I.strides, sp, src_strides, dstride,
                      isz)
    return out


def gather(Tensor input, dim, index, *, sparse_grad=False, out=None):
    """gather(input, dim, index, *, sparse_grad=False, out=None) -> Tensor

    out[i][j][k] = input[index[i][j][k]][j][k] (dim=0; likewise for other dims).  index is
    int64 (or int32) with input's number of dims and sizes no larger than input's apart
    from dim; the result has index's shape and input's dtype.

    >>> strided.gather(strided.tensor([[1, 2], [3, 4]]), 1, strided.tensor([[0, 0], [1, 0]])).tolist()
    [[1, 1], [4, 3]]
    """
    cdef Tensor ix = _index_arg(index, "gather")
    cdef int d = _wrap(dim, input._ndim)
    _check_index_shape(input, d, ix, None, "gather")
    cdef Tensor r = _gather(input, d, ix)
    if out is not None:
        return _write_out(out, r, "gather", (input,))
    if grad_mode_enabled() and needs_grad(input):
        autograd_dispatch().record("gather", (input,), r, {"index": ix}, dim=d)
    return r


cdef int _scatter_into(Tensor self, int d, Tensor ix, Tensor src, object value, int mode,
                       str op) except -1:
    """self[...index...] (mode)= src or value, no history; the checks included."""
    cdef Geometry S, I, R
    cdef int64_t self_strides[MAX_DIMS]
    cdef int k
    cdef Tensor vt
    _check_index_shape(self, d, ix, src, op)
    check_writable(self)
    if ix._numel == 0:
        return 0
    _geom(&S, self)
    _geom(&I, ix)
    _check_range(ix, d, S.sizes[d])
    if src is None:
        vt = _value_tensor(value, self)
        if vt._ndim != 0:
            raise RuntimeError(f"{op}(): Expected a scalar value")
        R.ndim = I.ndim
        for k in range(I.ndim):
            R.sizes[k], R.strides[k] = I.sizes[k], 0
        src = vt
    else:
        if _memory_overlaps(self, src):
            src = src.clone()
        _geom(&R, src)
    if _memory_overlaps(self, ix):
        ix = ix.clone()
    for k in range(I.ndim):
        self_strides[k] = 0 if k == d else S.strides[k]
    cdef char* sp = data_of(self)
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    cdef const char* rp = data_of(src)
    cdef int64_t dstride = S.strides[d]
    cdef int dt = self._dtype.num
    with nogil:
        scatter_kernel(I.ndim, I.sizes, sp, self_strides, dstride, ip, I.strides, rp, R.strides,
                       dt, mode)
    mark_written(self)
    return 0


cdef int _reduce_mode(object reduce, str op) except -1:
    if reduce is None:
        return SCATTER_SET
    if reduce == "add":
        return SCATTER_ADD
    if reduce == "multiply":
        return SCATTER_MUL
    raise RuntimeError("reduce argument must be either add or multiply.")


cdef tuple _scatter_args(Tensor self, object dim, object index, object src, object value,
                         str op):
    cdef Tensor ix = _index_arg(index, op)
    cdef int d = _wrap(dim, self._ndim)
    cdef Tensor st = None
    if src is not None and value is not None:
        raise TypeError(f"{op}() received both 'src' and 'value'")
    if src is None and value is None:
        raise TypeError(f"{op}() missing required argument 'src' or 'value'")
    if isinstance(src, _Tensor):
        st = <Tensor>src
        if st._dtype is not self._dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    elif src is not None:
        value = src
    return d, ix, st, value


def scatter(Tensor input, dim, index, src=None, value=None, *, reduce=None, out=None):
    """scatter(input, dim, index, src=None, value=None, *, reduce=None, out=None) -> Tensor

    A copy of input with input[index[i][j]][j] = src[i][j] (dim=0; likewise for other
    dims) for every element of index; src may be a number (the value).  reduce='add' or
    'multiply' combines instead of writing.  Of duplicate indices the last (row-major)
    write wins.  out=: a tensor of input's shape and dtype.

    >>> strided.zeros(2, 3).scatter(0, strided.tensor([[1, 0, 1]]), 5.0).tolist()
    [[0.0, 5.0, 0.0], [5.0, 0.0, 5.0]]
    """
    d, ix, st, value = _scatter_args(input, dim, index, src, value, "scatter")
    cdef int mode = _reduce_mode(reduce, "scatter")
    cdef Tensor r = input.detach().clone()
    _scatter_into(r, d, ix, st, value, mode, "scatter")
    if grad_mode_enabled() and (needs_grad(input) or (st is not None and needs_grad(st))):
        if mode != SCATTER_SET:
            raise RuntimeError("the derivative of scatter with reduce is not implemented "
                               "(use scatter_reduce)")
        autograd_dispatch().record("scatter" if st is not None else "scatter_value",
                                   (input, st) if st is not None else (input,), r,
                                   {"index": ix}, dim=d)
    return r if out is None else _write_out(out, r, "scatter", (input, st))


def scatter_(Tensor self, dim, index, src=None, value=None, *, reduce=None):
    """self.scatter_(dim, index, src=None, value=None, *, reduce=None): scatter in place."""
    d, ix, st, value = _scatter_args(self, dim, index, src, value, "scatter_")
    cdef int mode = _reduce_mode(reduce, "scatter_")

    def run():
        _scatter_into(self, d, ix, st, value, mode, "scatter_")

    if grad_mode_enabled() and (needs_grad(self) or (st is not None and needs_grad(st))):
        if mode != SCATTER_SET:
            raise RuntimeError("the derivative of scatter with reduce is not implemented "
                               "(use scatter_reduce)")
        _check_index_shape(self, d, ix, st, "scatter_")
        return autograd_dispatch().record_inplace(
            "scatter" if st is not None else "scatter_value", run, self,
            (st,) if st is not None else (), {"index": ix.clone()}, dim=d)
    run()
    return self


def scatter_add(Tensor input, dim, index, src, *, out=None):
    """scatter_add(input, dim, index, src, *, out=None) -> Tensor

    A copy of input with input[index[i][j]][j] += src[i][j] (dim=0; likewise for other
    dims); duplicate indices accumulate.  out=: a tensor of input's shape and dtype.

    >>> strided.zeros(3).scatter_add(0, strided.tensor([0, 2, 0]), strided.ones(3)).tolist()
    [2.0, 0.0, 1.0]
    """
    cdef Tensor r = input.detach().clone()
    d, ix, st = _scatter_add_args(input, dim, index, src, "scatter_add")
    _scatter_into(r, d, ix, st, None, SCATTER_ADD, "scatter_add")
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(st)):
        autograd_dispatch().record("scatter_add", (input, st), r, {"index": ix}, dim=d)
    return r if out is None else _write_out(out, r, "scatter_add", (input, st))


cdef tuple _scatter_add_args(Tensor self, object dim, object index, object src, str op):
    cdef Tensor ix = _index_arg(index, op)
    cdef Tensor st = _as_tensor_arg(src, op, "src")
    if st._dtype is not self._dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    return _wrap(dim, self._ndim), ix, st


def scatter_add_(Tensor self, dim, index, src):
    """self.scatter_add_(dim, index, src): scatter_add in place."""
    d, ix, st = _scatter_add_args(self, dim, index, src, "scatter_add_")

    def run():
        _scatter_into(self, d, ix, st, None, SCATTER_ADD, "scatter_add_")

    if grad_mode_enabled() and (needs_grad(self) or needs_grad(st)):
        _check_index_shape(self, d, ix, st, "scatter_add_")
        return autograd_dispatch().record_inplace("scatter_add", run, self, (st,),
                                                  {"index": ix.clone()}, dim=d)
    run()
    return self


# ---- masked ops -------------------------------------------------------------------------------

cdef Tensor _mask_arg(object mask, str op):
    cdef Tensor m = _as_tensor_arg(mask, op, "mask")
    if m._dtype.num != BOOL:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{m._dtype.name}")
    return m


cdef Tensor _expand_to(Tensor t, tuple shape, str op, str what):
    if tuple(t.shape) == shape:
        return t
    try:
        return t.detach().expand(shape)
    except RuntimeError:
        raise RuntimeError(f"The size of tensor a ({shape}) must match the size of tensor b "
                           f"({tuple(t.shape)}) for {what} of {op}") from None


cdef int _fill(Tensor self, Tensor mask, object value, str op) except -1:
    cdef Tensor m = _expand_to(mask, tuple(self.shape), op, "the mask")
    cdef Tensor vt = _value_tensor(value, self)
    cdef Geometry S, M
    check_writable(self)
    if self._numel == 0:
        return 0
    if _memory_overlaps(self, m):
        m = m.clone()
    _geom(&S, self)
    _geom(&M, m)
    cdef char* sp = data_of(self)
    cdef const uint8_t* mp = <const uint8_t*>data_of(m)
    cdef const char* vp = data_of(vt)
    cdef int isz = self._dtype.itemsize
    with nogil:
        masked_fill_kernel(S.ndim, S.sizes, sp, S.strides, mp, M.strides, vp, isz)
    mark_written(self)
    return 0


cdef tuple _fill_value(object value, str op):
    """(the value as a Python number, the value tensor when it needs grad else None)."""
    cdef Tensor vt
    if isinstance(value, _Tensor):
        vt = <Tensor>value
        if vt._ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {vt._ndim} dimension(s).")
        return vt.item(), (vt if needs_grad(vt) else None)
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"{op}(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    return value, None


def masked_fill(Tensor input, mask, value):
    """masked_fill(input, mask, value) -> Tensor

    A copy of input (broadcast with the bool mask) with value where mask is True; value is
    a number or a 0-d tensor.

    >>> x = strided.tensor([1.0, -2.0, 3.0])
    >>> x.masked_fill(x < 0, 0.0).tolist()
    [1.0, 0.0, 3.0]
    """
    cdef Tensor m = _mask_arg(mask, "masked_fill_")
    v, vt = _fill_value(value, "masked_fill_")
    shape = tuple(broadcast_shapes(tuple(input.shape), tuple(m.shape)))
    cdef Tensor r = _expand_to(input, shape, "masked_fill", "self").clone()
    _fill(r, m, v, "masked_fill")
    if grad_mode_enabled() and (needs_grad(input) or vt is not None):
        autograd_dispatch().record("masked_fill", (input, vt), r, {"mask": m},
                                   tensor_value=isinstance(value, _Tensor))
    return r


def masked_fill_(Tensor self, mask, value):
    """self.masked_fill_(mask, value): masked_fill in place (mask broadcasts to self)."""
    cdef Tensor m = _mask_arg(mask, "masked_fill_")
    v, vt = _fill_value(value, "masked_fill_")
    _expand_to(m, tuple(self.shape), "masked_fill_", "the mask")

    def run():
        _fill(self, m, v, "masked_fill_")

    if grad_mode_enabled() and (needs_grad(self) or vt is not None):
        return autograd_dispatch().record_inplace("masked_fill", run, self, (vt,),
                                                  {"mask": m.clone()},
                                                  tensor_value=isinstance(value, _Tensor))
    run()
    return self


cdef tuple _broadcast_pair(Tensor a, Tensor m, str op):
    try:
        shape = tuple(broadcast_shapes(tuple(a.shape), tuple(m.shape)))
    except RuntimeError:
        raise RuntimeError(f"The size of tensor a ({a.shape}) must match the size of tensor b "
                           f"({m.shape}) in {op}") from None
    return _expand_to(a, shape, op, "self"), _expand_to(m, shape, op, "the mask")


def masked_select(Tensor input, mask, *, out=None):
    """masked_select(input, mask, *, out=None) -> Tensor

    The 1-d tensor of input's elements where the bool mask is True (both broadcast to one
    shape), in row-major order.

    >>> x = strided.tensor([[1, 2], [3, 4]])
    >>> strided.masked_select(x, x > 1).tolist()
    [2, 3, 4]
    """
    cdef Tensor m = _mask_arg(mask, "masked_select")
    cdef Tensor a, mb
    a, mb = _broadcast_pair(input, m, "masked_select")
    cdef Geometry A, M
    _geom(&A, a)
    _geom(&M, mb)
    cdef const uint8_t* mp = <const uint8_t*>data_of(mb)
    cdef int64_t count
    with nogil:
        count = count_nonzero(M.ndim, M.sizes, mp, M.strides)
    cdef Tensor r = new_tensor(1, &count, input._dtype, False)
    cdef const char* ap = data_of(a)
    cdef char* rp = data_of(r)
    cdef int isz = input._dtype.itemsize
    if count:
        with nogil:
            masked_select_kernel(A.ndim, A.sizes, ap, A.strides, mp, M.strides, rp, count, isz)
    if out is not None:
        return _write_out(out, r, "masked_select", (input,))
    if grad_mode_enabled() and needs_grad(input):
        autograd_dispatch().record("masked_select", (input,), r, {"mask": m})
    return r


cdef int _masked_scatter_into(Tensor self, Tensor m, Tensor source) except -1:
    cdef Tensor mb = _expand_to(m, tuple(self.shape), "masked_scatter_", "the mask")
    cdef Geometry S, M
    check_writable(self)
    _geom(&S, self)
    _geom(&M, mb)
    cdef const uint8_t* mp = <const uint8_t*>data_of(mb)
    cdef int64_t count
    with nogil:
        count = count_nonzero(M.ndim, M.sizes, mp, M.strides)
    if count > source._numel:
        raise RuntimeError("masked_scatter_: expected source to have at least as many elements "
                           "as ones in mask")
    if count == 0:
        return 0
    cdef Tensor src = source.detach().contiguous()
    if _memory_overlaps(self, src):
        src = src.clone()
    if _memory_overlaps(self, mb):
        mb = mb.clone()
        mp = <const uint8_t*>data_of(mb)
    cdef char* sp = data_of(self)
    cdef const char* rp = data_of(src)
    cdef int isz = self._dtype.itemsize
    with nogil:
        masked_scatter_kernel(S.ndim, S.sizes, sp, S.strides, mp, M.strides, rp, count, isz)
    mark_written(self)
    return 0


cdef Tensor _masked_scatter_args(Tensor self, object mask, object source, str op):
    cdef Tensor m = _mask_arg(mask, op)
    cdef Tensor src = _as_tensor_arg(source, op, "source")
    if src._dtype is not self._dtype:
        raise RuntimeError(f"{op}: expected self and source to have same dtypes but got "
                           f"{_torch_name(self._dtype)} and {_torch_name(src._dtype)}")
    return m


def masked_scatter(Tensor input, mask, source):
    """masked_scatter(input, mask, source) -> Tensor

    A copy of input (broadcast with mask) whose elements where mask is True are source's
    first elements, in row-major order (source has at least that many elements).

    >>> strided.zeros(4).masked_scatter(strided.tensor([True, False, True, False]),
    ...                                 strided.tensor([1.0, 2.0])).tolist()
    [1.0, 0.0, 2.0, 0.0]
    """
    cdef Tensor m = _masked_scatter_args(input, mask, source, "masked_scatter_")
    shape = tuple(broadcast_shapes(tuple(input.shape), tuple(m.shape)))
    cdef Tensor r = _expand_to(input, shape, "masked_scatter", "self").clone()
    _masked_scatter_into(r, m, <Tensor>source)
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(<Tensor>source)):
        autograd_dispatch().record("masked_scatter", (input, source), r, {"mask": m})
    return r


def masked_scatter_(Tensor self, mask, source):
    """self.masked_scatter_(mask, source): masked_scatter in place."""
    cdef Tensor m = _masked_scatter_args(self, mask, source, "masked_scatter_")

    def run():
        _masked_scatter_into(self, m, <Tensor>source)

    if grad_mode_enabled() and (needs_grad(self) or needs_grad(<Tensor>source)):
        _expand_to(m, tuple(self.shape), "masked_scatter_", "the mask")
        return autograd_dispatch().record_inplace("masked_scatter", run, self, (source,),
                                                  {"mask": m.clone()})
    run()
    return self


# ---- nonzero, argwhere ------------------------------------------------------------------------

cdef Tensor _nonzero(Tensor input):
    """(count, ndim) int64: the row-major coordinates of input's nonzero elements."""
    cdef Tensor m = input if input._dtype.num == BOOL else input.detach().bool()
    cdef Geometry M
    _geom(&M, m)
    cdef const uint8_t* mp = <const uint8_t*>data_of(m)
    cdef int64_t count
    cdef int64_t sizes[2]
    with nogil:
        count = count_nonzero(M.ndim, M.sizes, mp, M.strides)
    sizes[0], sizes[1] = count, input._ndim
    cdef Tensor r = new_tensor(2, sizes, dtype_from_num(INT64), False)
    cdef int64_t* rp = <int64_t*>data_of(r)
    cdef int nd = input._ndim
    if count and nd:
        with nogil:
            nonzero_kernel(nd, M.sizes, mp, M.strides, rp, count)
    return r


def nonzero(Tensor input, *, out=None, as_tuple=False):
    """nonzero(input, *, out=None, as_tuple=False)

    The coordinates of input's nonzero elements in row-major order: an int64 tensor of
    shape (count, input.ndim), or with as_tuple=True one 1-d tensor per dim (a 0-d input
    counts as 1-d).

    >>> strided.nonzero(strided.tensor([[0, 1], [2, 0]])).tolist()
    [[0, 1], [1, 0]]
    """
    cdef Tensor r = _nonzero(input)
    if as_tuple:
        if input._ndim == 0:                # one dim of size 1: index 0 when nonzero
            return (new_tensor(1, r._sizes, r._dtype, True),)
        return tuple(r.select(1, k).contiguous() for k in range(input._ndim))
    if out is not None:
        return _write_out(out, r, "nonzero", (input,))
    return r


def argwhere(Tensor input):
    """argwhere(input) -> Tensor: nonzero(input), the (count, ndim) int64 coordinates.

    >>> strided.argwhere(strided.tensor([0, 3, 0, 4])).tolist()
    [[1], [3]]
    """
    return _nonzero(input)


# ---- index_put --------------------------------------------------------------------------------

cdef tuple _np_indices(Tensor self, object indices, str op):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    if len(indices) > max(self._ndim, 1):
        raise IndexError(f"too many indices for tensor of dimension {self._ndim} (got "
                         f"{len(indices)})")
    out = []
    for i in indices:
        if i is None:
            out.append(slice(None))
            continue
        if not isinstance(i, _Tensor):
            raise TypeError(f"{op}(): argument 'indices' must be tuple of Tensors")
        if (<Tensor>i)._dtype.num in (FLOAT32, FLOAT64):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        a = np.array((<Tensor>i).detach().numpy())
        if (<Tensor>i)._dtype.num == UINT8:
            warnings.warn("indexing with dtype strided.uint8 is now deprecated, please use a "
                          "dtype strided.bool instead.", UserWarning, stacklevel=3)
            a = a.astype(bool)
        out.append(a)
    return tuple(out)


cdef int _index_put_into(Tensor self, tuple np_idx, Tensor values, bint accumulate) except -1:
    check_writable(self)
    arr = self.detach().numpy()
    vals = values.detach().numpy()
    if np.shares_memory(arr, vals):
        vals = vals.copy()
    try:
        if accumulate:
            np.add.at(arr, np_idx, vals) if self._dtype.num != BOOL else \
                np.logical_or.at(arr, np_idx, vals)
        else:
            arr[np_idx] = vals
    except IndexError as e:
        raise IndexError(str(e)) from None
    except ValueError as e:
        raise RuntimeError(f"shape mismatch: {e}") from None
    mark_written(self)
    return 0


cdef Tensor _values_arg(Tensor self, object values, str op):
    cdef Tensor v = _as_tensor_arg(values, op, "values")
    if v._dtype is not self._dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_torch_name(self._dtype)} for the destination and "
                           f"{_torch_name(v._dtype)} for the source.")
    return v


def index_put(Tensor input, indices, values, accumulate=False):
    """index_put(input, indices, values, accumulate=False) -> Tensor

    A copy of input with input[indices] = values (indices: a tuple of int64/int32 or bool
    tensors, None for a whole dim; values broadcast), or += values with accumulate=True
    (duplicate indices then add up).

    >>> strided.zeros(3).index_put((strided.tensor([0, 0, 2]),), strided.tensor(1.0),
    ...                            accumulate=True).tolist()
    [2.0, 0.0, 1.0]
    """
    cdef Tensor v = _values_arg(input, values, "index_put")
    np_idx = _np_indices(input, indices, "index_put")
    cdef Tensor r = input.detach().clone()
    _index_put_into(r, np_idx, v, accumulate)
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(v)):
        autograd_dispatch().record("index_put", (input, v), r, None, index=np_idx,
                                   accumulate=bool(accumulate))
    return r


def index_put_(Tensor self, indices, values, accumulate=False):
    """self.index_put_(indices, values, accumulate=False): index_put in place."""
    cdef Tensor v = _values_arg(self, values, "index_put_")
    np_idx = _np_indices(self, indices, "index_put_")

    def run():
        _index_put_into(self, np_idx, v, accumulate)

    if grad_mode_enabled() and (needs_grad(self) or needs_grad(v)):
        return autograd_dispatch().record_inplace("index_put", run, self, (v,), None,
                                                  index=np_idx, accumulate=bool(accumulate))
    run()
    return self


# ---- scatter_reduce ---------------------------------------------------------------------------

_REDUCE_MODES = {"sum": SCATTER_ADD, "prod": SCATTER_MUL, "mean": SCATTER_ADD,
                 "amax": SCATTER_AMAX, "amin": SCATTER_AMIN}


cdef object _identity(DType dt, str reduce):
    """The value a scattered-to position starts from when include_self=False."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dt.is_floating_point:
        return float("-inf") if reduce == "amax" else float("inf")
    info = np.iinfo(dt.numpy_dtype) if dt.num != BOOL else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


cdef int _scatter_reduce_into(Tensor self, int d, Tensor ix, Tensor src, str reduce,
                              bint include_self) except -1:
    """self (reduce)= src at the indices, no history (the checks included)."""
    cdef Tensor counts
    if not include_self:
        _scatter_into(self, d, ix, None, _identity(self._dtype, reduce), SCATTER_SET,
                      "scatter_reduce_")
    _scatter_into(self, d, ix, src, None, _REDUCE_MODES[reduce], "scatter_reduce_")
    if reduce == "mean" and ix._numel:
        counts = _tensor(1 if include_self else 0, dtype=self.dtype).expand(self.shape).clone()
        _scatter_into(counts, d, ix, None, 1, SCATTER_ADD, "scatter_reduce_")
        counts = counts.masked_fill(counts == 0, 1)
        if self._dtype.is_floating_point:
            r = self.div(counts)
        else:
            r = self.div(counts, rounding_mode="floor")
        self.copy_(r)
    return 0


def scatter_reduce(Tensor input, dim, index, src, reduce, *, include_self=True, out=None):
    """scatter_reduce(input, dim, index, src, reduce, *, include_self=True, out=None) -> Tensor

    A copy of input with the src values at index[i][j] (dim=0; likewise for other dims)
    reduced into each position: reduce is "sum", "prod", "mean", "amax" or "amin";
    include_self=False leaves input's own value out of the positions written to.  Integer
    means round down.  out=: a tensor of input's shape and dtype.

    >>> strided.zeros(3).scatter_reduce(0, strided.tensor([0, 0, 2]),
    ...                                 strided.tensor([1.0, 3.0, 5.0]), "amax").tolist()
    [3.0, 0.0, 5.0]
    """
    d, ix, st, reduce = _scatter_reduce_args(input, dim, index, src, reduce, "scatter_reduce")
    cdef Tensor r = input.detach().clone()
    _scatter_reduce_into(r, d, ix, st.detach(), reduce, include_self)
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(st)):
        autograd_dispatch().record("scatter_reduce", (input, st), r,
                                   {"index": ix, "self": input, "src": st, "result": r},
                                   dim=d, reduce=reduce, include_self=bool(include_self))
    return r if out is None else _write_out(out, r, "scatter_reduce", (input, st))


cdef tuple _scatter_reduce_args(Tensor self, object dim, object index, object src,
                                object reduce, str op):
    cdef Tensor ix = _index_arg(index, op)
    cdef Tensor st = _as_tensor_arg(src, op, "src")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)   # PyTorch's aliases
    if reduce not in _REDUCE_MODES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if st._dtype is not self._dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    return _wrap(dim, self._ndim), ix, st, reduce


def scatter_reduce_(Tensor self, dim, index, src, reduce, *, include_self=True):
    """self.scatter_reduce_(dim, index, src, reduce, *, include_self=True): in place."""
    d, ix, st, reduce = _scatter_reduce_args(self, dim, index, src, reduce, "scatter_reduce_")
    if grad_mode_enabled() and (needs_grad(self) or needs_grad(st)):
        _check_index_shape(self, d, ix, st, "scatter_reduce_")
        old = self.detach().clone()
        r = scatter_reduce(old, d, ix, st.detach(), reduce, include_self=include_self)

        def run():
            self.copy_(r)

        return autograd_dispatch().record_inplace(
            "scatter_reduce", run, self, (st,),
            {"index": ix.clone(), "self": old, "src": st, "result": r}, dim=d, reduce=reduce,
            include_self=bool(include_self))
    _scatter_reduce_into(self, d, ix, st, reduce, include_self)
    return self


def take_along_dim(input, indices, dim=None, *, out=None):
    """take_along_dim(input, indices, dim=None, *, out=None) -> Tensor

    NumPy's take_along_axis: gather(input, dim, indices) after broadcasting input and
    indices (int64) against each other in every dim but dim; without dim, the flattened
    input gathered at the flattened indices.

    >>> x = strided.tensor([[10, 30, 20], [60, 40, 50]])
    >>> strided.take_along_dim(x, x.argsort(1), 1).tolist()
    [[10, 20, 30], [40, 50, 60]]
    """
    cdef Tensor x = _as_tensor_arg(input, "take_along_dim", "input")
    cdef Tensor ix = _as_tensor_arg(indices, "take_along_dim", "indices")
    if ix._dtype.num != INT64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_torch_name(ix._dtype)}")
    if dim is None:
        r = gather(x.reshape(-1), 0, ix.reshape(-1))
    else:
        d = _wrap(dim, x._ndim)
        if x._ndim != ix._ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                               f"number of dimensions, but got {x._ndim} dimensions for input, "
                               f"and {ix._ndim} dimensions for indices")
        xs, ixs = list(x.shape), list(ix.shape)
        for k in range(x._ndim):
            if k == d:
                continue
            if xs[k] != ixs[k] and xs[k] != 1 and ixs[k] != 1:
                raise RuntimeError(f"The size of tensor a ({xs[k]}) must match the size of "
                                   f"tensor b ({ixs[k]}) at non-singleton dimension {k}")
            xs[k] = ixs[k] = xs[k] if ixs[k] == 1 else ixs[k]
        r = gather(x.expand(xs), d, ix.expand(ixs))
    return r if out is None else _write_out(out, r, "take_along_dim", (input,))


# ---- index_copy_, index_fill_, index_reduce_ ---------------------------------------------------
#
# NOTE [ Slice scatters ]
# x.index_copy_(dim, index, source), x.index_fill_(dim, index, value) and
# x.index_reduce_(dim, index, source, reduce) write whole slices along dim: slice k of source
# (or the value) goes into slice index[k] of x.  Each is a scatter along dim whose index is
# `index` broadcast over the other dims (a view, stride 0 there: nothing is copied), so they
# run on scatter's kernel, index_reduce_ through scatter_reduce's, in the same row-major order
# of the source: of duplicate indices the last one's slice wins (index_copy_) and reductions
# combine in index order, the same bits every run.  Every index is checked against the size
# of dim before anything is written.

cdef Tensor _slice_index(Tensor ix, int d, Tensor like):
    """ix (0-d or 1-d, K values) as a scatter index of like's shape (0-d: (1,)) with size K
    along d: index[..., k, ...] = ix[k], a stride-0 view."""
    cdef int64_t K = ix._numel
    shape = list(like.shape) if like._ndim else [1]
    view_shape = [1] * len(shape)
    view_shape[d] = K
    shape[d] = K
    return ix.detach().reshape(K).view(view_shape).expand(shape)


cdef int _check_slice_range(Tensor ix, int d, int64_t size, str prefix) except -1:
    """IndexError unless every index is in [0, size)."""
    cdef Geometry I
    cdef int64_t bad = 0
    cdef bint found
    if ix._numel == 0:
        return 0
    _geom(&I, ix)
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    with nogil:
        found = index_out_of_range(I.ndim, I.sizes, ip, I.strides, size, &bad)
    if found:
        if prefix is None:
            raise IndexError("index out of range in self")
        raise IndexError(f"{prefix}index {bad} is out of bounds for dimension {d} with size "
                         f"{size}")
    return 0


cdef Tensor _tensor_arg(object x, str op, str what, int position):
    if not isinstance(x, _Tensor):
        raise TypeError(f"{op}(): argument '{what}' (position {position}) must be Tensor, not "
                        f"{type(x).__name__}")
    return <Tensor>x


cdef tuple _index_copy_args(Tensor self, object dim, object index, object source, str op):
    cdef Tensor ix = _tensor_arg(index, op, "index", 2)
    cdef Tensor src = _tensor_arg(source, op, "source", 3)
    cdef int d = _wrap(dim, self._ndim), k, j
    if ix._ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {ix._ndim})")
    if ix._dtype.num != INT64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{_torch_name(ix._dtype)}")
    if src._dtype is not self._dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_torch_name(self._dtype)} and (source) "
                           f"{_torch_name(src._dtype)}")
    if self._ndim and src._ndim and self._ndim != src._ndim:
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({src._ndim}), "
                         f"destination dimensionality ({self._ndim})")
    if self._ndim > 1 or src._ndim > 1:
        j = 0
        for k in range(max(self._ndim, src._ndim)):
            if k == d:
                continue
            if self._ndim != src._ndim or self._sizes[k] != src._sizes[k]:
                dst_s = self._sizes[k] if self._ndim > 1 else ""
                src_s = src._sizes[k] if src._ndim > 1 else ""
                raise RuntimeError(f"index_copy_(): Source/destination tensor must have same "
                                   f"slice shapes. Destination slice shape: {dst_s} at "
                                   f"dimension {j} and source slice shape: {src_s} at "
                                   f"dimension {j}.")
            j += 1
    cdef int64_t n = src._sizes[d] if src._ndim else 1
    if ix._numel != n:
        raise IndexError(f"index_copy_(): Number of indices ({ix._numel}) should be equal to "
                         f"source.size(dim) ({n})")
    return d, ix, src


cdef int _index_copy_into(Tensor self, int d, Tensor ix, Tensor src) except -1:
    check_writable(self)
    if ix._numel == 0 or src._numel == 0:       # nothing written: no index is read (PyTorch)
        return 0
    _check_slice_range(ix, d, self._sizes[d] if self._ndim else 1, "index_copy_(): ")
    _scatter_into(self, d, _slice_index(ix, d, src), src.detach(), None, SCATTER_SET,
                  "index_copy_")
    return 0


def index_copy(Tensor input, dim, index, source, *, out=None):
    """index_copy(input, dim, index, source, *, out=None) -> Tensor

    A copy of input whose slice index[k] along dim is source's slice k, for every k (index:
    0-d or 1-d int64 with source.size(dim) values in [0, input.size(dim)); source: input's
    dtype and sizes apart from dim).  Of repeated indices the last one's slice is kept.

    >>> strided.zeros(4, 2).index_copy(0, strided.tensor([3, 0]),
    ...                                strided.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0, 4.0], [0.0, 0.0], [0.0, 0.0], [1.0, 2.0]]
    """
    d, ix, src = _index_copy_args(input, dim, index, source, "index_copy")
    cdef Tensor r = input.detach().clone()
    _index_copy_into(r, d, ix, src)
    if out is not None:
        return _write_out(out, r, "index_copy", (input, source))
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(src)):
        autograd_dispatch().record("index_copy", (input, src), r, {"index": ix.clone()}, dim=d)
    return r


def index_copy_(Tensor self, dim, index, source):
    """self.index_copy_(dim, index, source): index_copy in place; returns self."""
    d, ix, src = _index_copy_args(self, dim, index, source, "index_copy_")

    def run():
        _index_copy_into(self, d, ix, src)

    if grad_mode_enabled() and (needs_grad(self) or needs_grad(src)):
        _check_slice_range(ix, d, self._sizes[d] if self._ndim else 1, "index_copy_(): ")
        return autograd_dispatch().record_inplace("index_copy", run, self, (src,),
                                                  {"index": ix.clone()}, dim=d)
    run()
    return self


cdef tuple _index_fill_args(Tensor self, object dim, object index, object value, str op):
    """(dim, index with negative entries wrapped, the value as a number, the value tensor
    when it needs grad)."""
    cdef Tensor ix = _tensor_arg(index, op, "index", 2)
    if ix._dtype.num != INT64:
        raise IndexError(f"{op}(): Expected dtype int64 for index.")
    if ix._ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    cdef int d = _wrap(dim, self._ndim)
    if isinstance(value, complex):              # strided has no complex dtypes
        raise RuntimeError(f"{op}(): Converting complex Scalar to non-complex type is not "
                           f"supported")
    v, vt = _fill_value(value, op)
    cdef int64_t size = self._sizes[d] if self._ndim else 1
    if ix._numel:
        a = np.asarray(ix.detach().numpy())
        bad = (a < -size) | (a >= size)
        if bad.any():
            raise IndexError(f"index {int(a[bad].reshape(-1)[0])} is out of bounds for "
                             f"dimension {d} with size {size}")
        if (a < 0).any():       # PyTorch wraps negative indices here (not in index_copy_)
            ix = _tensor(np.where(a < 0, a + size, a), dtype=ix.dtype)
    return d, ix, v, vt


cdef int _index_fill_into(Tensor self, int d, Tensor ix, object value, str op) except -1:
    cdef Tensor vt = _value_tensor(value, self)
    check_writable(self)
    if ix._numel == 0 or self._numel == 0:
        return 0
    _scatter_into(self, d, _slice_index(ix, d, self), None, vt.item(), SCATTER_SET, op)
    return 0


def index_fill(Tensor input, dim, index, value):
    """index_fill(input, dim, index, value) -> Tensor

    A copy of input with value in every slice along dim whose position is in index (0-d or
    1-d int64, values in [-input.size(dim), input.size(dim)): negative ones count from the
    end).  value is a number (cast to input's dtype as fill_ does) or a 0-d tensor.

    >>> strided.zeros(2, 3).index_fill(1, strided.tensor([0, -1]), 5.0).tolist()
    [[5.0, 0.0, 5.0], [5.0, 0.0, 5.0]]
    """
    d, ix, v, vt = _index_fill_args(input, dim, index, value, "index_fill_")
    cdef Tensor r = input.detach().clone()
    _index_fill_into(r, d, ix, v, "index_fill")
    if grad_mode_enabled() and (needs_grad(input) or vt is not None):
        autograd_dispatch().record("index_fill", (input, vt), r, {"index": ix.clone()}, dim=d,
                                   tensor_value=isinstance(value, _Tensor))
    return r


def index_fill_(Tensor self, dim, index, value):
    """self.index_fill_(dim, index, value): index_fill in place; returns self."""
    d, ix, v, vt = _index_fill_args(self, dim, index, value, "index_fill_")
    _value_tensor(v, self)

    def run():
        _index_fill_into(self, d, ix, v, "index_fill_")

    if grad_mode_enabled() and (needs_grad(self) or vt is not None):
        return autograd_dispatch().record_inplace("index_fill", run, self, (vt,),
                                                  {"index": ix.clone()}, dim=d,
                                                  tensor_value=isinstance(value, _Tensor))
    run()
    return self


_INDEX_REDUCE = ("prod", "mean", "amax", "amin")


cdef tuple _index_reduce_args(Tensor self, object dim, object index, object source,
                              object reduce, str op):
    cdef Tensor ix = _tensor_arg(index, op, "index", 2)
    cdef Tensor src = _tensor_arg(source, op, "source", 3)
    cdef int d = _wrap(dim, self._ndim), k
    if ix._dtype.num not in (INT32, INT64):
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index but got: "
                           f"{_torch_name(ix._dtype)}")
    if reduce not in _INDEX_REDUCE:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if ix._ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, but got dim: {ix._ndim} "
                         f"with type: {_torch_name(ix._dtype)} and size: {list(ix.shape)}")
    if src._dtype is not self._dtype:
        raise RuntimeError(f"{op}(): self ({_torch_name(self._dtype)}) and source "
                           f"({_torch_name(src._dtype)}) must have the same scalar type")
    cdef int64_t n = src._sizes[d] if d < src._ndim else 1
    if ix._numel != n and (d < src._ndim or src._ndim == 0):
        raise RuntimeError(f"{op}(): Number of indices ({ix._numel}) should be equal to "
                           f"source.size(dim): ({n}), for dim: {d}")
    cdef bint same = src._ndim == self._ndim
    if same:
        for k in range(self._ndim):
            same = same and (k == d or src._sizes[k] == self._sizes[k])
    if not same:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(self.shape)} "
                           f"source.shape = {list(src.shape)}")
    if self._dtype.num == BOOL:
        raise NotImplementedError("\"index_func_\" not implemented for 'Bool'")
    if ix._dtype.num == INT32:
        ix = ix.long()
    _check_slice_range(ix, d, self._sizes[d] if self._ndim else 1, None)
    return d, ix, src


def index_reduce(Tensor input, dim, index, source, reduce, *, include_self=True, out=None):
    """index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None) -> Tensor

    A copy of input with source's slice k along dim reduced into its slice index[k], for
    every k: reduce is "prod", "mean", "amax" or "amin" (NaN propagates through amax and
    amin); include_self=False leaves input's own values out of the slices written to.
    index: 0-d or 1-d int64 or int32 with source.size(dim) values in [0, input.size(dim));
    source: input's dtype and sizes apart from dim.  Integer means round down; bool is not
    supported (as in PyTorch).

    >>> strided.ones(3).index_reduce(0, strided.tensor([0, 0, 2]),
    ...                              strided.tensor([2.0, 3.0, 5.0]), "prod").tolist()
    [6.0, 1.0, 5.0]
    """
    cdef Tensor ix, src
    d, ix, src = _index_reduce_args(input, dim, index, source, reduce, "index_reduce_")
    cdef Tensor r = input.detach().clone()
    if ix._numel and src._numel:
        _scatter_reduce_into(r, d, _slice_index(ix, d, src), src.detach(), reduce,
                             include_self)
    if out is not None:
        return _write_out(out, r, "index_reduce", (input, source))
    if grad_mode_enabled() and (needs_grad(input) or needs_grad(src)):
        autograd_dispatch().record("index_reduce", (input, src), r,
                                   {"index": ix.clone(), "self": input, "source": src,
                                    "result": r},
                                   dim=d, reduce=reduce, include_self=bool(include_self))
    return r


def index_reduce_(Tensor self, dim, index, source, reduce, *, include_self=True):
    """self.index_reduce_(dim, index, source, reduce, *, include_self=True): index_reduce in
    place; returns self."""
    cdef Tensor ix, src
    d, ix, src = _index_reduce_args(self, dim, index, source, reduce, "index_reduce_")
    check_writable(self)
    if grad_mode_enabled() and (needs_grad(self) or needs_grad(src)):
        old = self.detach().clone()
        r = index_reduce(old, d, ix, src.detach(), reduce, include_self=include_self)

        def run():
            self.copy_(r)

        return autograd_dispatch().record_inplace(
            "index_reduce", run, self, (src,),
            {"index": ix.clone(), "self": old, "source": src, "result": r}, dim=d,
            reduce=reduce, include_self=bool(include_self))
    if ix._numel and src._numel:
        _scatter_reduce_into(self, d, _slice_index(ix, d, src), src, reduce, include_self)
    return self
