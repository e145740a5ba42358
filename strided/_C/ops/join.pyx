# Layer: ops, mixed: joining and reshaping copies (cat, stack, repeat, roll) go through the
# strided copy kernel; tril / triu carry their small zeroing kernel, which only they use
# (strided/_C/README.md).
"""Joining and reshaping: cat, stack and their variants, repeat, tile, roll, tril / triu,
the splits, atleast_nd, ravel and meshgrid.

NOTE [ Joining by copies ]
cat copies each input into its slice of the output with copy_strided (one strided copy per
input, casting to the promoted dtype, GIL released for large inputs); stack does the same
with a size-1 dim inserted into each input's geometry, repeat copies one expanded view
(sizes (r0, s0, r1, s1, ...), stride 0 along the repeats) into the output viewed as that
shape, roll copies two blocks per rolled dim.  The forward is computed on the inputs'
metadata only -- nothing here makes a view of an input that could record history -- and the
op is recorded once afterwards (NOTE [ Derivative table ]).
"""
from libc.stdint cimport int64_t, int32_t, uint8_t

from strided._C.core.arith cimport mul_overflow, index_int64
from strided._C.core.dtypes cimport DType, dtype_from_num
from strided._C.core.tensor cimport wrap_dim as _wrap
from strided._C.core.tensor cimport (Tensor, new_tensor, data_of, check_writable, mark_written,
                                     grad_mode_enabled, needs_grad, autograd_dispatch,
                                     _write_out)
from strided._C.core.iterator cimport (StridedLoop, MAX_DIMS, loop_init, loop_set_operand,
                                       loop_prepare, loop_run_range, loop_numel)
from strided._C.core.copy cimport copy_strided

from strided._C.core.tensor import Tensor as _Tensor

cdef enum:
    NOGIL_MIN_ELEMENTS = 16384   # below this, releasing the GIL costs more than the copy


cdef list _tensor_list(object tensors, str op):
    """tensors as a list of Tensors (PyTorch's TypeError for anything else)."""
    if isinstance(tensors, _Tensor):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not Tensor")
    try:
        seq = list(tensors)
    except TypeError:
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}") from None
    for i, t in enumerate(seq):
        if not isinstance(t, _Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return seq


cdef void _place(Tensor out, int64_t offset, int ndim, const int64_t* sizes, Tensor src,
                 const int64_t* src_strides) noexcept:
    """out's elements from element `offset` on, seen with out's strides restricted to `sizes`
    (a block of out), = src read with src_strides; casting to out's dtype."""
    cdef char* dst = data_of(out) + offset * out._dtype.itemsize
    cdef const char* sp = data_of(src)
    cdef int dt = out._dtype.num, st = src._dtype.num
    cdef int64_t n = 1
    cdef int d
    for d in range(ndim):
        n *= sizes[d]
    if n == 0:
        return
    if n < NOGIL_MIN_ELEMENTS:
        copy_strided(ndim, sizes, dst, out._strides, dt, sp, src_strides, st)
    else:
        with nogil:
            copy_strided(ndim, sizes, dst, out._strides, dt, sp, src_strides, st)


cdef bint _legacy_empty(Tensor t) noexcept:
    """PyTorch's cat skips 1-d tensors of size 0 whatever the other inputs' shapes."""
    return t._ndim == 1 and t._sizes[0] == 0


cdef DType _promoted(list tensors):
    cdef int num = 0
    cdef Tensor t
    for t in tensors:
        if t._dtype.num > num:          # the enum order is the promotion order (dtypes.pxd)
            num = t._dtype.num
    return dtype_from_num(num)


cdef Tensor _cat(list tensors, object dim, str op):
    """The concatenation, no history recorded."""
    cdef Tensor t, first = None, out
    cdef int i, d, k, ndim
    cdef int64_t total = 0, offset = 0
    cdef int64_t sizes[MAX_DIMS]
    if not tensors:
        raise ValueError(f"torch.{op}(): expected a non-empty list of Tensors")
    for i in range(len(tensors)):
        t = <Tensor>tensors[i]
        if t._ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    for t in tensors:
        if not _legacy_empty(t):
            first = t
            break
    if first is None:                   # only 1-d empties
        first = <Tensor>tensors[0]
    ndim = first._ndim
    d = _wrap(dim, ndim)
    for i in range(len(tensors)):
        t = <Tensor>tensors[i]
        if t is not first and _legacy_empty(t):
            continue
        if t._ndim != ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ndim} and "
                               f"{t._ndim}")
        for k in range(ndim):
            if k != d and t._sizes[k] != first._sizes[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {first._sizes[k]} but got size "
                                   f"{t._sizes[k]} for tensor number {i} in the list.")
        total += t._sizes[d]
    for k in range(ndim):
        sizes[k] = first._sizes[k]
    sizes[d] = total
    out = new_tensor(ndim, sizes, _promoted(tensors), False)
    for t in tensors:
        if t is not first and _legacy_empty(t):
            continue
        _place(out, offset, ndim, t._sizes, t, t._strides)
        offset += t._sizes[d] * out._strides[d]
    return out


def cat(tensors, dim=0, *, out=None):
    """cat(tensors, dim=0, *, out=None) -> Tensor

    The tensors joined along an existing dim `dim`.  All must have the same number of dims
    and the same sizes except along `dim` (1-d tensors of size 0 are skipped, as in
    PyTorch); the result has the promoted dtype of all inputs.  Also strided.concat and
    strided.concatenate.

    >>> tuple(strided.cat([strided.zeros(2, 3), strided.ones(1, 3)]).shape)
    (3, 3)
    """
    cdef list ts = _tensor_list(tensors, "cat")
    cdef Tensor r = _cat(ts, dim, "cat")
    if out is not None:
        return _into_out(out, r, "cat", tuple(ts))
    _record_cat(ts, r, dim)
    return r


cdef object _into_out(object out, Tensor r, str op, tuple inputs):
    """cat's and stack's out=: any dtype the promoted one casts to (NOTE [ out= arguments ])."""
    return _write_out(out, r, op, inputs, "cast")


cdef void _record_cat(list ts, Tensor r, object dim) except *:
    cdef Tensor t
    if not grad_mode_enabled():
        return
    for t in ts:
        if needs_grad(t):
            break
    else:
        return
    d = _wrap(dim, r._ndim)
    lengths = [None if (_legacy_empty(t) and r._ndim != 1) else t._sizes[d] for t in ts]
    autograd_dispatch().record("cat", tuple(ts), r, None, dim=d, lengths=lengths)


def concat(tensors, dim=0, *, out=None):
    """concat(tensors, dim=0, *, out=None) -> Tensor: strided.cat's other name.

    >>> strided.concat([strided.zeros(2), strided.ones(2)]).tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    return cat(tensors, dim, out=out)


def concatenate(tensors, axis=0, out=None):
    """concatenate(tensors, axis=0, out=None) -> Tensor: strided.cat with NumPy's `axis`.

    >>> tuple(strided.concatenate([strided.zeros(1, 2), strided.ones(1, 2)], axis=1).shape)
    (1, 4)
    """
    return cat(tensors, axis, out=out)


def stack(tensors, dim=0, *, out=None):
    """stack(tensors, dim=0, *, out=None) -> Tensor

    The tensors (all of one shape) joined along a new dim inserted at `dim`, in
    [-(ndim + 1), ndim]; the result has the promoted dtype.

    >>> tuple(strided.stack([strided.zeros(2, 3), strided.ones(2, 3)], dim=1).shape)
    (2, 2, 3)
    """
    cdef list ts = _tensor_list(tensors, "stack")
    cdef Tensor t, first, r
    cdef int i, k, d, ndim
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t block[MAX_DIMS]
    cdef int64_t strides[MAX_DIMS]
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = <Tensor>ts[0]
    ndim = first._ndim
    d = _wrap(dim, ndim + 1)
    for i in range(1, len(ts)):
        t = <Tensor>ts[i]
        if t._ndim != ndim or any(t._sizes[k] != first._sizes[k] for k in range(ndim)):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first.shape)} at entry 0 and {list(t.shape)} at entry "
                               f"{i}")
    if ndim + 1 > MAX_DIMS:
        raise ValueError(f"a tensor can have at most {MAX_DIMS} dimensions")
    for k in range(ndim + 1):
        if k < d:
            sizes[k] = first._sizes[k]
        elif k > d:
            sizes[k] = first._sizes[k - 1]
    sizes[d] = len(ts)
    r = new_tensor(ndim + 1, sizes, _promoted(ts), False)
    for i in range(len(ts)):
        t = <Tensor>ts[i]
        for k in range(ndim + 1):
            if k < d:
                block[k], strides[k] = t._sizes[k], t._strides[k]
            elif k > d:
                block[k], strides[k] = t._sizes[k - 1], t._strides[k - 1]
        block[d], strides[d] = 1, 0
        _place(r, i * r._strides[d], ndim + 1, block, t, strides)
    if out is not None:
        return _into_out(out, r, "stack", tuple(ts))
    if grad_mode_enabled() and any(needs_grad(<Tensor>t) for t in ts):
        autograd_dispatch().record("stack", tuple(ts), r, None, dim=d)
    return r


# ---- compositions of cat and views (their history is cat's and the views') -------------------

cdef tuple _atleast(object tensors, int n, str op):
    if len(tensors) == 1 and not isinstance(tensors[0], _Tensor):
        seq = tensors[0]
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"{op}(): argument 'tensors' must be Tensor or a sequence of "
                            f"Tensors, not {type(seq).__name__}")
        return tuple(_atleast_one(t, n, op) for t in _tensor_list(seq, op))
    return tuple(_atleast_one(t, n, op) for t in _tensor_list(tensors, op))


cdef object _atleast_one(object t, int n, str op):
    cdef int nd = t.ndim
    if nd >= n:
        return t
    if n == 1:
        return t.reshape(1)
    if n == 2:
        return t.reshape(1, 1) if nd == 0 else t.unsqueeze(0)
    if nd == 0:
        return t.reshape(1, 1, 1)
    if nd == 1:
        return t.unsqueeze(0).unsqueeze(-1)
    return t.unsqueeze(-1)


def atleast_1d(*tensors):
    """atleast_1d(*tensors): each tensor as a view with at least 1 dim (0-d become (1,)).
    One tensor gives a tensor; several (or one sequence) give a tuple.

    >>> tuple(strided.atleast_1d(strided.tensor(3.0)).shape)
    (1,)
    """
    r = _atleast(tensors, 1, "atleast_1d")
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], _Tensor) else r


def atleast_2d(*tensors):
    """atleast_2d(*tensors): each tensor with at least 2 dims (0-d -> (1, 1), (n,) -> (1, n)).

    >>> tuple(strided.atleast_2d(strided.zeros(3)).shape)
    (1, 3)
    """
    r = _atleast(tensors, 2, "atleast_2d")
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], _Tensor) else r


def atleast_3d(*tensors):
    """atleast_3d(*tensors): each tensor with at least 3 dims (0-d -> (1, 1, 1), (n,) ->
    (1, n, 1), (m, n) -> (m, n, 1)).

    >>> tuple(strided.atleast_3d(strided.zeros(2, 3)).shape)
    (2, 3, 1)
    """
    r = _atleast(tensors, 3, "atleast_3d")
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], _Tensor) else r


def hstack(tensors, *, out=None):
    """hstack(tensors, *, out=None): cat along dim 1, or dim 0 when all are 1-d (0-d count as 1-d).

    >>> tuple(strided.hstack([strided.zeros(2), strided.ones(3)]).shape)
    (5,)
    """
    ts = _atleast(tuple(_tensor_list(tensors, "hstack")), 1, "hstack")
    if not ts:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return cat(ts, 0 if ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """vstack(tensors, *, out=None): cat along dim 0 after atleast_2d (also row_stack).

    >>> tuple(strided.vstack([strided.zeros(3), strided.ones(3)]).shape)
    (2, 3)
    """
    ts = _atleast(tuple(_tensor_list(tensors, "vstack")), 2, "vstack")
    if not ts:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat(ts, 0, out=out)


def row_stack(tensors, *, out=None):
    """row_stack(tensors, *, out=None): strided.vstack's other name.

    >>> tuple(strided.row_stack([strided.zeros(3), strided.ones(3)]).shape)
    (2, 3)
    """
    return vstack(tensors, out=out)


def dstack(tensors, *, out=None):
    """dstack(tensors, *, out=None): cat along dim 2 after atleast_3d.

    >>> tuple(strided.dstack([strided.zeros(2, 3), strided.ones(2, 3)]).shape)
    (2, 3, 2)
    """
    ts = _atleast(tuple(_tensor_list(tensors, "dstack")), 3, "dstack")
    if not ts:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat(ts, 2, out=out)


def column_stack(tensors, *, out=None):
    """column_stack(tensors, *, out=None): 0-d and 1-d tensors as columns (n, 1), then cat
    along dim 1.

    >>> tuple(strided.column_stack([strided.zeros(3), strided.ones(3)]).shape)
    (3, 2)
    """
    ts = _tensor_list(tensors, "column_stack")
    if not ts:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    ts = [t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in ts]
    return cat(ts, 1, out=out)


cdef tuple _split_nd(object input, object sections, int dim, int need, str op):
    cdef int nd = input.ndim
    if nd < need:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {need} dimension"
                           f"{'s' if need > 1 else ''}, but got a tensor with {nd} dimensions!")
    if isinstance(sections, int) and not isinstance(sections, bool):
        size = input.shape[dim]
        if sections == 0 or size % sections != 0:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {sections}!")
    return tuple(input.tensor_split(sections, dim))


def hsplit(input, indices_or_sections):
    """hsplit(input, indices_or_sections): tensor_split along dim 1 (dim 0 for 1-d); an int
    must divide that dim's size.

    >>> [tuple(p.shape) for p in strided.hsplit(strided.zeros(2, 4), 2)]
    [(2, 2), (2, 2)]
    """
    return _split_nd(input, indices_or_sections, 0 if input.ndim == 1 else 1, 1, "hsplit")


def vsplit(input, indices_or_sections):
    """vsplit(input, indices_or_sections): tensor_split along dim 0 of a tensor of >= 2 dims.

    >>> [tuple(p.shape) for p in strided.vsplit(strided.zeros(4, 2), [1])]
    [(1, 2), (3, 2)]
    """
    return _split_nd(input, indices_or_sections, 0, 2, "vsplit")


def dsplit(input, indices_or_sections):
    """dsplit(input, indices_or_sections): tensor_split along dim 2 of a tensor of >= 3 dims.

    >>> [tuple(p.shape) for p in strided.dsplit(strided.zeros(1, 2, 4), 2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    return _split_nd(input, indices_or_sections, 2, 3, "dsplit")


def ravel(input):
    """ravel(input): input flattened to a contiguous 1-d tensor: a view of a contiguous
    input, else a contiguous copy (as PyTorch's; reshape(-1) would keep a 1-d stepped view).

    >>> tuple(strided.ravel(strided.zeros(2, 3)).shape)
    (6,)
    """
    return input.contiguous().view(-1)


def meshgrid(*tensors, indexing=None):
    """meshgrid(*tensors, indexing=None): coordinate grids (expanded views) of 0-d/1-d
    tensors.  indexing='ij' (the default) gives grids of shape (len(t0), len(t1), ...);
    'xy' swaps the first two dims (NumPy's default).

    >>> gx, gy = strided.meshgrid(strided.arange(3), strided.arange(2), indexing="ij")
    >>> tuple(gx.shape)
    (3, 2)
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = _tensor_list(tensors, "meshgrid")
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    if not ts:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    for i, t in enumerate(ts):
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t!r}")
        if t.dtype != ts[0].dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to "
                               "have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    n = len(ts)
    grids = []
    for i, t in enumerate(ts):
        view = [1] * n
        view[i] = -1
        grids.append(t.reshape(view).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# ---- repeat, tile, roll -----------------------------------------------------------------------

cdef Tensor _repeat(Tensor self, list reps):
    """self repeated reps[k] times along dim k (self's dims aligned to the right)."""
    cdef int n = len(reps), lead = n - self._ndim, k
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t view_sizes[MAX_DIMS]
    cdef int64_t view_strides[MAX_DIMS]
    cdef int64_t dst_strides[MAX_DIMS]
    cdef int64_t r, s, stride
    cdef Tensor out
    if 2 * n > MAX_DIMS:
        raise ValueError(f"repeat: at most {MAX_DIMS // 2} repeat dims are supported")
    for k in range(n):
        r = reps[k]
        if r < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {r}: "
                               f"{[reps[j] * (self.shape[j - lead] if j >= lead else 1) for j in range(n)]}")
        s = self._sizes[k - lead] if k >= lead else 1
        if mul_overflow(r, s, &sizes[k]):
            raise RuntimeError("repeat: the result's size overflows int64")
        view_sizes[2 * k], view_strides[2 * k] = r, 0
        view_sizes[2 * k + 1] = s
        view_strides[2 * k + 1] = self._strides[k - lead] if k >= lead else 0
    out = new_tensor(n, sizes, self._dtype, False)
    if out._numel == 0:
        return out
    stride = 1                          # out seen as (r0, s0, r1, s1, ...), row-major
    for k in range(2 * n - 1, -1, -1):
        dst_strides[k] = stride
        stride *= view_sizes[k]
    _copy_view(out, 2 * n, view_sizes, dst_strides, self, view_strides)
    return out


cdef void _copy_view(Tensor out, int ndim, const int64_t* sizes, const int64_t* dst_strides,
                     Tensor src, const int64_t* src_strides) noexcept:
    cdef char* dst = data_of(out)
    cdef const char* sp = data_of(src)
    cdef int dt = out._dtype.num
    if out._numel < NOGIL_MIN_ELEMENTS:
        copy_strided(ndim, sizes, dst, dst_strides, dt, sp, src_strides, dt)
    else:
        with nogil:
            copy_strided(ndim, sizes, dst, dst_strides, dt, sp, src_strides, dt)


cdef list _int_list(object sizes, str op, str what):
    if len(sizes) == 1 and not isinstance(sizes[0], int) and not hasattr(sizes[0], "__index__"):
        sizes = sizes[0]
    try:
        return [index_int64(s, what) for s in sizes]
    except TypeError:
        raise TypeError(f"{op}(): argument '{what}' must be tuple of ints") from None


def repeat(Tensor self, *sizes):
    """self.repeat(*sizes): self tiled sizes[k] times along dim k; len(sizes) >= self.ndim,
    extra leading sizes add dims.  A copy.

    >>> strided.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    cdef list reps = _int_list(sizes, "repeat", "repeats")
    if len(reps) < self._ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    cdef Tensor r = _repeat(self, reps)
    if grad_mode_enabled() and needs_grad(self):
        autograd_dispatch().record("repeat", (self,), r, None, repeats=tuple(reps))
    return r


def tile(Tensor input, dims):
    """tile(input, dims): input.repeat(dims), dims padded with leading 1s to input.ndim.

    >>> strided.tile(strided.tensor([[1, 2]]), (2,)).tolist()
    [[1, 2, 1, 2]]
    """
    cdef list reps = _int_list(dims if isinstance(dims, (tuple, list)) else (dims,), "tile",
                               "dims")
    reps = [1] * (input._ndim - len(reps)) + reps
    return repeat(input, reps)


cdef Tensor _roll1(Tensor src, int64_t shift, int d):
    """src rolled by shift along d: out[(i + shift) % n] = src[i]."""
    cdef int64_t n = src._sizes[d], s
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t offset_src
    cdef Tensor out = new_tensor(src._ndim, src._sizes, src._dtype, False)
    cdef int k
    if out._numel == 0:
        return out
    s = shift % n
    if s < 0:
        s += n
    for k in range(src._ndim):
        sizes[k] = src._sizes[k]
    # out[s:] = src[:n - s];  out[:s] = src[n - s:]
    sizes[d] = n - s
    _place(out, s * out._strides[d], src._ndim, sizes, src, src._strides)
    if s:
        sizes[d] = s
        _place_from(out, 0, src._ndim, sizes, src, (n - s) * src._strides[d])
    return out


cdef void _place_from(Tensor out, int64_t offset, int ndim, const int64_t* sizes, Tensor src,
                      int64_t src_offset) noexcept:
    cdef char* dst = data_of(out) + offset * out._dtype.itemsize
    cdef const char* sp = data_of(src) + src_offset * src._dtype.itemsize
    cdef int dt = out._dtype.num
    with nogil:
        copy_strided(ndim, sizes, dst, out._strides, dt, sp, src._strides, dt)


def roll(Tensor input, shifts, dims=None):
    """roll(input, shifts, dims=None): elements shifted along dims (cyclically); without dims
    the flattened tensor is rolled and the shape restored.  A copy.

    >>> strided.roll(strided.tensor([1, 2, 3, 4]), 1).tolist()
    [4, 1, 2, 3]
    """
    shift_list = _int_list((shifts,), "roll", "shifts") if not isinstance(shifts, int) \
        else [index_int64(shifts, "shifts")]
    cdef Tensor r, src = input
    cdef list dim_list
    if dims is None:
        if len(shift_list) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shift_list)}, "
                               f"dims:0")
        r = _roll1(input.detach().reshape(-1), shift_list[0], 0).reshape(input.shape)
        dim_list = []
    else:
        dim_list = _int_list((dims,), "roll", "dims") if not isinstance(dims, int) \
            else [index_int64(dims, "dims")]
        if len(shift_list) != len(dim_list):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shift_list)}, "
                               f"dims:{len(dim_list)}")
        if not dim_list:
            raise RuntimeError("`shifts` required")
        dim_list = [_wrap(d, input._ndim) for d in dim_list]
        if input._ndim == 0:
            r = new_tensor(0, NULL, input._dtype, False)
            _place(r, 0, 0, NULL, input, NULL)
        else:
            r = input
            for s, d in zip(shift_list, dim_list):
                r = _roll1(r, s, d)
            if r is input:
                r = input.detach().clone()
    if grad_mode_enabled() and needs_grad(input):
        autograd_dispatch().record("roll", (input,), r, None, shifts=tuple(shift_list),
                                   dims=None if dims is None else tuple(dim_list))
    return r


# ---- tril / triu ------------------------------------------------------------------------------

ctypedef fused bits_t:
    uint8_t
    int32_t
    int64_t


cdef struct TriCtx:
    int64_t R, C, rs, cs, k     # matrix shape, strides (elements) and diagonal
    bint upper
    int itemsize


cdef inline void _zero_outside(bits_t* p, const TriCtx* c) noexcept nogil:
    """Zero the elements of one matrix outside the kept triangle:
        lower (tril): zero m[i, j] for j > i + k;   upper (triu): zero m[i, j] for j < i + k.
    Zero is the all-zero bit pattern for every dtype."""
    cdef int64_t i, j, lo, hi
    for i in range(c.R):
        if c.upper:
            lo, hi = 0, i + c.k
        else:
            lo, hi = i + c.k + 1, c.C
        if lo < 0:
            lo = 0
        if hi > c.C:
            hi = c.C
        for j in range(lo, hi):
            p[i * c.rs + j * c.cs] = 0


cdef void _zero_triangle_row(char** p, const int64_t* s, int64_t n, void* ctx) noexcept nogil:
    """n matrices of the batch, one per element of the iterator over the batch dims."""
    cdef const TriCtx* c = <const TriCtx*>ctx
    cdef int64_t j
    for j in range(n):
        if c.itemsize == 1:
            _zero_outside(<uint8_t*>(p[0] + j * s[0]), c)
        elif c.itemsize == 4:
            _zero_outside(<int32_t*>(p[0] + j * s[0]), c)
        else:
            _zero_outside(<int64_t*>(p[0] + j * s[0]), c)


cdef void _zero_triangle(Tensor t, int64_t k, bint upper) noexcept:
    cdef int nb = t._ndim - 2
    cdef StridedLoop L
    cdef TriCtx c
    cdef char* base[1]
    if t._numel == 0:
        return
    c.R, c.C, c.rs, c.cs = t._sizes[nb], t._sizes[nb + 1], t._strides[nb], t._strides[nb + 1]
    c.k, c.upper, c.itemsize = k, upper, t._dtype.itemsize
    base[0] = data_of(t)
    with nogil:
        loop_init(&L, 1, nb, t._sizes)
        loop_set_operand(&L, 0, t._strides, c.itemsize)
        loop_prepare(&L)
        loop_run_range(&L, base, _zero_triangle_row, &c, 0, loop_numel(&L))


cdef int _check_tri(Tensor t, str op) except -1:
    if t._ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    return 0


def tril(Tensor input, diagonal=0, *, out=None):
    """tril(input, diagonal=0, *, out=None): the lower triangle of the last two dims
    (elements with j <= i + diagonal kept, the rest 0), a new tensor (or into out, of
    input's dtype).

    >>> strided.tril(strided.ones(3, 3)).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    if out is not None:
        return _write_out(out, _tri(input, diagonal, False, "tril"), "tril", (input,))
    return _tri(input, diagonal, False, "tril")


def triu(Tensor input, diagonal=0, *, out=None):
    """triu(input, diagonal=0, *, out=None): the upper triangle of the last two dims
    (elements with j >= i + diagonal kept, the rest 0), a new tensor (or into out, of
    input's dtype).

    >>> strided.triu(strided.ones(2, 2)).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    if out is not None:
        return _write_out(out, _tri(input, diagonal, True, "triu"), "triu", (input,))
    return _tri(input, diagonal, True, "triu")


cdef Tensor _tri(Tensor input, object diagonal, bint upper, str op):
    _check_tri(input, op)
    cdef int64_t k = index_int64(diagonal, "diagonal")
    cdef Tensor r = input.detach().clone()
    _zero_triangle(r, k, upper)
    if grad_mode_enabled() and needs_grad(input):
        autograd_dispatch().record(op, (input,), r, None, diagonal=k)
    return r


def tril_(Tensor self, diagonal=0):
    """self.tril_(diagonal=0): tril in place; returns self."""
    return _tri_(self, diagonal, False, "tril")


def triu_(Tensor self, diagonal=0):
    """self.triu_(diagonal=0): triu in place; returns self."""
    return _tri_(self, diagonal, True, "triu")


cdef object _tri_(Tensor self, object diagonal, bint upper, str op):
    _check_tri(self, op)
    cdef int64_t k = index_int64(diagonal, "diagonal")

    def run():
        check_writable(self)
        _zero_triangle(self, k, upper)
        mark_written(self)

    if grad_mode_enabled() and needs_grad(self):
        return autograd_dispatch().record_inplace(op, run, self, (), None, diagonal=k)
    run()
    return self
