# Layer: ops, mixed: index_select / index_add_ with their slice-walking kernels, which only
# they use (strided/_C/README.md).
"""index_select and index_add_: gathers and scatter-adds of whole slices along one dim.

    index_select:  out.select(dim, k)  = src.select(dim, index[k])          for every k
    index_add_:    self.select(dim, index[k]) += alpha * source.select(dim, k)   in order k

NOTE [ Index slices ]
Every slice of one call has the same geometry (the tensor's sizes and strides without
`dim`), so it is prepared once as a two-operand strided loop (NOTE [ Strided iteration ]
in strided/_C/core/iterator.pxd) and each slice is one run of that loop from its own base
pointers.  Nothing
is assumed contiguous; strides may be zero or negative on the read side.  Every index is
checked against the size of `dim` before any slice is touched, so a bad index raises and
reads or writes nothing.  index_add_ runs on one thread, slices in index order, so duplicate
indices accumulate in a fixed order (the same bits every run); index_select writes disjoint
output slices and splits them over threads above a grain size.
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t, int32_t, uint8_t

from strided._C.core.dtypes cimport DType, dtype_from_num, BOOL, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.tensor cimport wrap_dim as _wrap
from strided._C.core.tensor cimport (Tensor, mark_written, new_tensor, data_of, check_writable,
                                _memory_overlaps, grad_mode_enabled, needs_grad,
                                autograd_dispatch, recording_off, recording_on, _write_out,
                                _check_out_grad)
from strided._C.core.iterator cimport (MAX_DIMS, StridedLoop, loop_init, loop_set_operand,
                                      loop_prepare, loop_run_range, loop_numel)
from strided._C.core.threads cimport num_threads_for
from strided._C.kernels.types cimport num_t

cdef enum:
    GRAIN = 1 << 15          # elements per thread below which another thread is not worth it



cdef struct SliceRow:
    # what a row of a slice does (NOTE [ Index slices ]): copy (add false) or accumulate
    int kind                 # FLOAT32, FLOAT64, INT64, INT32, UINT8 or BOOL; copies go by
                             # element size (UINT8, INT32, INT64: bit patterns)
    bint add
    double falpha
    int64_t ialpha


cdef void slice_loop(StridedLoop* L, int ndim, const int64_t* sizes, const int64_t* ds,
                     const int64_t* ss, int skip, int64_t itemsize) noexcept:
    """L = the strided loop over one slice: the dims of (sizes, ds, ss) but `skip`; operand
    0 is the written one."""
    cdef int64_t sz[MAX_DIMS]
    cdef int64_t a[MAX_DIMS]
    cdef int64_t b[MAX_DIMS]
    cdef int d, n = 0
    for d in range(ndim):
        if d != skip:
            sz[n], a[n], b[n] = sizes[d], ds[d], ss[d]
            n += 1
    loop_init(L, 2, n, sz)
    loop_set_operand(L, 0, a, itemsize)
    loop_set_operand(L, 1, b, itemsize)
    loop_prepare(L)


cdef inline void _row(num_t* dst, int64_t dsi, const num_t* src, int64_t ssi, int64_t n,
                      num_t alpha, bint add, bint as_bool) noexcept nogil:
    """dst = src (add false) or dst += alpha * src over n elements (bool: dst |= src & alpha)."""
    cdef int64_t j
    if not add:
        if dsi == 1 and ssi == 1:
            for j in range(n):
                dst[j] = src[j]
        else:
            for j in range(n):
                dst[j * dsi] = src[j * ssi]
    elif as_bool:
        for j in range(n):
            dst[j * dsi] = (dst[j * dsi] != 0) | ((src[j * ssi] != 0) & (alpha != 0))
    elif dsi == 1 and ssi == 1:
        for j in range(n):
            dst[j] = dst[j] + alpha * src[j]
    else:
        for j in range(n):
            dst[j * dsi] = dst[j * dsi] + alpha * src[j * ssi]


cdef void _slice_row(char** p, const int64_t* st, int64_t n, void* ctx) noexcept nogil:
    """The iterator's row callback: st holds the row's byte strides (written, read)."""
    cdef const SliceRow* r = <const SliceRow*>ctx
    if r.kind == FLOAT32:
        _row(<float*>p[0], st[0] // 4, <const float*>p[1], st[1] // 4, n, <float>r.falpha,
             r.add, False)
    elif r.kind == FLOAT64:
        _row(<double*>p[0], st[0] // 8, <const double*>p[1], st[1] // 8, n, r.falpha, r.add,
             False)
    elif r.kind == INT64:
        _row(<int64_t*>p[0], st[0] // 8, <const int64_t*>p[1], st[1] // 8, n, r.ialpha,
             r.add, False)
    elif r.kind == INT32:
        _row(<int32_t*>p[0], st[0] // 4, <const int32_t*>p[1], st[1] // 4, n,
             <int32_t>r.ialpha, r.add, False)
    else:
        _row(<uint8_t*>p[0], st[0], <const uint8_t*>p[1], st[1], n, <uint8_t>r.ialpha, r.add,
             r.kind == BOOL)


cdef inline void _one_slice(const StridedLoop* L, char* dst, const char* src, int64_t n,
                            SliceRow* r) noexcept nogil:
    cdef char* ptrs[2]
    ptrs[0] = dst
    ptrs[1] = <char*>src
    loop_run_range(L, ptrs, _slice_row, r, 0, n)


cdef void index_select_kernel(const StridedLoop* L, char* out, int64_t out_step,
                              const char* src, int64_t src_step, const int64_t* index,
                              int64_t index_stride, int64_t K, SliceRow* r,
                              int nt) noexcept nogil:
    """out slice k (at out + k*out_step bytes) = src slice index[k] (at src +
    index[k]*src_step); indices already checked."""
    cdef int64_t k, n = loop_numel(L)
    if nt <= 1:
        for k in range(K):
            _one_slice(L, out + k * out_step, src + index[k * index_stride] * src_step, n, r)
    else:
        for k in prange(K, num_threads=nt, schedule="static"):
            _one_slice(L, out + k * out_step, src + index[k * index_stride] * src_step, n, r)


cdef void index_add_kernel(const StridedLoop* L, char* dst, int64_t dst_step, const char* src,
                           int64_t src_step, const int64_t* index, int64_t index_stride,
                           int64_t K, SliceRow* r) noexcept nogil:
    """dst slice index[k] += alpha * src slice k, k = 0 .. K-1 in order; indices checked."""
    cdef int64_t k, n = loop_numel(L)
    for k in range(K):
        _one_slice(L, dst + index[k * index_stride] * dst_step, src + k * src_step, n, r)


# --------------------------------------------------------------------------------------
# Tensor entry points
# --------------------------------------------------------------------------------------


cdef Tensor _index_arg(object index, str op):
    """index as a 0-d or 1-d int64 tensor (int32 is widened)."""
    cdef Tensor ix
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    ix = <Tensor>index
    if ix._ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    if ix._dtype.num != INT64:
        if ix._dtype.num != INT32:
            raise RuntimeError(f"{op}(): Expected dtype int32 or int64 for index")
        ix = ix.long()
    return ix


cdef int64_t _first_bad(const int64_t* ip, int64_t stride, int64_t K, int64_t size) noexcept nogil:
    cdef int64_t k
    for k in range(K):
        if ip[k * stride] < 0 or ip[k * stride] >= size:
            return k
    return -1


def index_select(Tensor self, dim, index, *, out=None):
    """A new contiguous tensor: self's slices along dim picked by index (int64 or int32, 0-d
    or 1-d; every value in [0, self.size(dim))); out=: a tensor of the result's shape and
    self's dtype."""
    if out is not None:
        _check_out_grad(out, "index_select", (self,))
        return _write_out(out, index_select(self, dim, index), "index_select", (self,))
    cdef Tensor ix = _index_arg(index, "index_select"), res, src = self
    cdef int d = _wrap(dim, self._ndim)
    cdef int64_t K = ix._numel, size, bad
    cdef int64_t sizes[MAX_DIMS]
    cdef StridedLoop L
    cdef int i, nt
    if grad_mode_enabled() and needs_grad(self):
        recording_off()
        try:
            res = index_select(self, d, ix)
        finally:
            recording_on()
        # the caller may change its index tensor later: the node keeps a copy
        return autograd_dispatch().record("index_select", (self,), res, dim=d, index=ix.clone())
    if self._ndim == 0:
        if K != 1:
            raise IndexError(f"index_select(): Index to scalar can have only 1 value, got {K} "
                             f"value(s)")
        src = self.reshape(1)
    size = src._sizes[d]
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    cdef int64_t istride = ix._strides[0] if ix._ndim == 1 else 0
    with nogil:
        bad = _first_bad(ip, istride, K, size)
    if bad >= 0:
        raise IndexError("index out of range in self")
    for i in range(src._ndim):
        sizes[i] = src._sizes[i]
    sizes[d] = K
    res = new_tensor(src._ndim, sizes, src._dtype, False)
    if res._numel == 0:
        return res.reshape(()) if self._ndim == 0 else res
    cdef int isz = src._dtype.itemsize
    slice_loop(&L, src._ndim, src._sizes, res._strides, src._strides, d, isz)
    nt = num_threads_for(res._numel, GRAIN)
    if nt > K:
        nt = <int>K
    cdef SliceRow r
    r.kind = UINT8 if isz == 1 else INT32 if isz == 4 else INT64
    r.add = False
    cdef char* op = data_of(res)
    cdef char* sp = data_of(src)
    with nogil:
        index_select_kernel(&L, op, res._strides[d] * isz, sp, src._strides[d] * isz, ip,
                            istride, K, &r, nt)
    return res.reshape(()) if self._ndim == 0 else res


def index_add_(Tensor self, dim, index, source, alpha=1):
    """self.select(dim, index[k]) += alpha * source.select(dim, k) for every k, in place;
    duplicate indices accumulate (in index order).  source has self's dtype and sizes but
    size len(index) along dim; alpha is truncated to an integer for integer tensors."""
    cdef Tensor ix = _index_arg(index, "index_add_"), dst = self, src
    cdef int d = _wrap(dim, self._ndim), i
    cdef int64_t K = ix._numel, bad
    cdef StridedLoop L
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add_(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    src = <Tensor>source
    if grad_mode_enabled() and (needs_grad(self) or needs_grad(src)):
        return autograd_dispatch().index_add_(self, d, ix, src, alpha)
    if src._dtype is not self._dtype:
        raise RuntimeError(f"index_add_(): self ({self._dtype.name}) and source "
                           f"({src._dtype.name}) must have the same scalar type")
    if self._ndim == 0:
        dst = self.reshape(1)
    if src._ndim == 0:
        src = src.reshape(1)
    cdef bint same = src._ndim == dst._ndim
    if same:
        for i in range(dst._ndim):
            same = same and (i == d or src._sizes[i] == dst._sizes[i])
    if not same:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(self.shape)} "
                           f"source.shape = {list(source.shape)}")
    if src._sizes[d] != K:
        raise RuntimeError(f"index_add_(): Number of indices ({K}) should be equal to "
                           f"source.size(dim): ({src._sizes[d]}), for dim: {d}")
    check_writable(dst)
    cdef const int64_t* ip = <const int64_t*>data_of(ix)
    cdef int64_t istride = ix._strides[0] if ix._ndim == 1 else 0
    cdef int64_t size = dst._sizes[d]
    with nogil:
        bad = _first_bad(ip, istride, K, size)
    if bad >= 0:
        raise IndexError(f"index {ip[bad * istride]} is out of bounds for dimension {d} with "
                         f"size {size}")
    if src._numel == 0:
        return self
    if _memory_overlaps(dst, src):
        src = src.clone()                       # read the values from before the write
    cdef int isz = dst._dtype.itemsize
    slice_loop(&L, dst._ndim, dst._sizes, dst._strides, src._strides, d, isz)
    cdef SliceRow r
    r.kind = dst._dtype.num
    r.add = True
    if dst._dtype.is_floating_point:
        r.falpha = float(alpha)
    else:
        r.ialpha = int(alpha)
        if r.kind == BOOL:
            r.ialpha = r.ialpha != 0
    cdef char* dp = data_of(dst)
    cdef char* sp = data_of(src)
    with nogil:
        index_add_kernel(&L, dp, dst._strides[d] * isz, sp, src._strides[d] * isz, ip, istride,
                         K, &r)
    mark_written(self)
    return self
