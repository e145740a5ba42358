"""sort, argsort, msort, topk and kthvalue along one dim: argument checks with PyTorch's
rules and messages, then the row sort of kernels/sort.pyx (NOTE [ Row sort ]).  The forward
records nothing; the op is recorded once afterwards (NOTE [ Derivative table ])."""
from libc.stdint cimport int64_t

from strided._C.core.dtypes cimport DType, dtype_from_num, INT64, BOOL
from strided._C.core.tensor cimport wrap_dim as _wrap
from strided._C.core.tensor cimport (Tensor, new_tensor, data_of, grad_mode_enabled, needs_grad,
                                     autograd_dispatch, _write_out, _write_outs,
                                     _check_out_grad)
from strided._C.core.iterator cimport MAX_DIMS
from strided._C.core.arith cimport index_int64
from strided._C.kernels.sort cimport sort_kernel

from strided._C.core.tensor import values_indices


cdef tuple _sorted_rows(Tensor input, int d, int64_t k, bint descending, bint want_values,
                        bint want_indices):
    """(values, indices) of the first k positions of each row's stable order along d;
    either is None when not wanted.  Shapes: input's with k along d."""
    cdef int nd = input._ndim, nb = 0, i
    cdef int64_t sizes[MAX_DIMS]
    cdef int64_t bsizes[MAX_DIMS]
    cdef int64_t sbs[MAX_DIMS]
    cdef int64_t vbs[MAX_DIMS]
    cdef int64_t ibs[MAX_DIMS]
    cdef int64_t n = input._sizes[d] if nd else 1
    cdef int64_t ss = input._strides[d] if nd else 0, vs = 0, is_ = 0
    cdef Tensor values = None, indices = None
    for i in range(nd):
        sizes[i] = k if i == d else input._sizes[i]
    if want_values:
        values = new_tensor(nd, sizes, input._dtype, False)
    if want_indices:
        indices = new_tensor(nd, sizes, dtype_from_num(INT64), False)
    for i in range(nd):
        if i == d:
            continue
        bsizes[nb] = input._sizes[i]
        sbs[nb] = input._strides[i]
        vbs[nb] = values._strides[i] if values is not None else 0
        ibs[nb] = indices._strides[i] if indices is not None else 0
        nb += 1
    if nd:
        vs = values._strides[d] if values is not None else 0
        is_ = indices._strides[d] if indices is not None else 0
    if input._ndim == 0:                # PyTorch: a 0-d input is its own sorted row, k 0 or 1
        if values is not None:
            values = input.detach().clone()
        if indices is not None:
            indices = new_tensor(0, sizes, dtype_from_num(INT64), True)
        return values, indices
    if k == 0 or input._numel == 0:
        return values, indices
    cdef const char* sp = data_of(input)
    cdef char* vp = data_of(values) if values is not None else NULL
    cdef int64_t* ip = <int64_t*>data_of(indices) if indices is not None else NULL
    cdef int dt = input._dtype.num, rc
    with nogil:
        rc = sort_kernel(nb, bsizes, sbs, vbs, ibs, n, k, sp, ss, vp, vs, ip, is_, dt,
                         descending)
    if rc != 0:
        raise MemoryError("sort: out of memory for a row's scratch buffers")
    return values, indices


cdef void _record(str op, str node, Tensor input, Tensor values, Tensor indices, int d,
                  bint keepdim) except *:
    if grad_mode_enabled() and needs_grad(input):
        # only the values carry history: the indices are integers (as max(dim) records)
        autograd_dispatch().record("sort", (input,), values, {"indices": indices},
                                   dim=d, node_name=node, keepdim=keepdim)


cdef object _into_outs(object out, object r, str name, Tensor input):
    """The (values, indices) forms' out= (NOTE [ out= arguments ]): r computed from the
    detached input, written into the tuple out, returned as the named tuple."""
    return values_indices(*_write_outs(out, tuple(r), name, (input,)))


def sort(Tensor input, dim=-1, descending=False, *, stable=False, out=None):
    """sort(input, dim=-1, descending=False, *, stable=False, out=None) -> (values, indices)

    input's elements sorted along dim, and the positions they came from (int64), as a named
    tuple with .values and .indices.  The sort is always stable (equal elements keep their
    order); NaN sorts as the largest value.  out=: a (values, indices) tuple of tensors of
    the result's shapes, of input's dtype and int64 (NOTE [ out= arguments ]).

    >>> strided.sort(strided.tensor([3, 1, 2])).indices.tolist()
    [1, 2, 0]
    """
    if out is not None:
        return _into_outs(out, sort(input.detach(), dim, descending), "sort", input)
    cdef int d = _wrap(dim, input._ndim)
    cdef int64_t n = input._sizes[d] if input._ndim else 1
    values, indices = _sorted_rows(input, d, n, bool(descending), True, True)
    _record("sort", "SortBackward0", input, values, indices, d, True)
    return values_indices(values, indices)


def argsort(Tensor input, dim=-1, descending=False, stable=False, *, out=None):
    """argsort(input, dim=-1, descending=False, stable=False, *, out=None) -> Tensor

    The int64 positions that sort input along dim (sort(...).indices; stable); out=: an
    int64 tensor of input's shape.

    >>> strided.argsort(strided.tensor([3, 1, 2]), descending=True).tolist()
    [0, 2, 1]
    """
    cdef int d = _wrap(dim, input._ndim)
    cdef int64_t n = input._sizes[d] if input._ndim else 1
    r = _sorted_rows(input, d, n, bool(descending), False, True)[1]
    return r if out is None else _write_out(out, r, "argsort", (input,))


def msort(Tensor input, *, out=None):
    """msort(input, *, out=None) -> Tensor: input sorted along dim 0 (sort(input, 0).values).

    >>> strided.msort(strided.tensor([[2, 1], [1, 3]])).tolist()
    [[1, 1], [2, 3]]
    """
    if out is not None:
        _check_out_grad(out, "msort", (input,))
        return _write_out(out, sort(input, 0).values, "msort", (input,))
    return sort(input, 0).values


def topk(Tensor input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """topk(input, k, dim=-1, largest=True, sorted=True, *, out=None) -> (values, indices)

    The k largest (smallest with largest=False) elements along dim and their int64
    positions, in sorted order (always: sorted=False gives the same order); out=: a
    (values, indices) tuple, as sort's.

    >>> strided.topk(strided.tensor([1, 5, 3, 4]), 2).values.tolist()
    [5, 4]
    """
    cdef int d = _wrap(dim, input._ndim)
    cdef int64_t n = input._sizes[d] if input._ndim else 1
    cdef int64_t kk = index_int64(k, "k")
    if out is not None:
        return _into_outs(out, topk(input.detach(), k, dim, largest, sorted), "topk", input)
    if input._dtype.num == BOOL:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if kk < 0 or kk > n:
        raise RuntimeError("selected index k out of range")
    values, indices = _sorted_rows(input, d, kk, bool(largest), True, True)
    _record("topk", "TopkBackward0", input, values, indices, d, True)
    return values_indices(values, indices)


def kthvalue(Tensor input, k, dim=-1, keepdim=False, *, out=None):
    """kthvalue(input, k, dim=-1, keepdim=False, *, out=None) -> (values, indices)

    The k-th smallest element (k from 1) along dim and its int64 position; dim is kept as
    size 1 with keepdim, else removed; out=: a (values, indices) tuple, as sort's.

    >>> strided.kthvalue(strided.tensor([4, 1, 3]), 2).values.item()
    3
    """
    cdef int d = _wrap(dim, input._ndim)
    cdef int64_t n = input._sizes[d] if input._ndim else 1
    cdef int64_t kk = index_int64(k, "k")
    if out is not None:
        return _into_outs(out, kthvalue(input.detach(), k, dim, keepdim), "kthvalue", input)
    if kk < 1 or kk > n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = _sorted_rows(input, d, kk, False, True, True)
    if input._ndim:
        values = values.narrow(d, kk - 1, 1)
        indices = indices.narrow(d, kk - 1, 1)
        if not keepdim:
            values = values.squeeze(d)
            indices = indices.squeeze(d)
    values = values.contiguous()
    indices = indices.contiguous()
    _record("kthvalue", "KthvalueBackward0", input, values, indices, d,
            bool(keepdim) or input._ndim == 0)
    return values_indices(values, indices)
