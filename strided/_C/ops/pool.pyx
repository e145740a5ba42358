"""Tensor-level entry points of the pooling kernels (strided._C.kernels.pool).

Each function takes 4-D (N, C, H, W) tensors of any strides and window parameters the
caller (strided.nn.functional) has already normalised and checked; it checks what memory
safety needs (ranks, matching sizes, dtypes), allocates the contiguous result, and runs the
kernel with the GIL released.
"""
from libc.stdint cimport int64_t, int32_t, uint8_t

from strided._C.core.dtypes cimport DType, dtype_from_num, UINT8, INT32, INT64, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.kernels.pool cimport (PoolGeometry, max_pool2d_forward, max_pool2d_backward,
                              avg_pool2d_forward, avg_pool2d_backward)


cdef int _check(Tensor t, str op, str what) except -1:
    if t._ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D {what}, but got {t._ndim}-D")
    return 0


cdef str _names(tuple nums):
    return ", ".join([dtype_from_num(n).name for n in nums])


cdef int _check_dtype(Tensor t, str op, tuple allowed) except -1:
    if t._dtype.num not in allowed:
        raise TypeError(f'"{op}" not implemented for \'{t._dtype.name}\' '
                        f"(supported: {_names(allowed)})")
    return 0


cdef int _raise_status(int64_t status, str op) except -1:
    if status == -1:
        raise MemoryError(f"{op}: out of memory for the kernel's scratch buffers")
    if status == -2:
        raise RuntimeError(f"{op}: planes of more than 2**31 - 1 elements are not supported "
                           f"when indices are needed")
    if status > 0:
        raise RuntimeError(f"{op}: found {status} invalid max index/indices (an index must lie "
                           f"in [0, H*W) of its plane, or be -1 for an empty window)")
    return 0


cdef void _geometry(PoolGeometry* g, Tensor x, int64_t OH, int64_t OW, int64_t kH, int64_t kW,
                    int64_t sH, int64_t sW, int64_t pH, int64_t pW, int64_t dH, int64_t dW,
                    bint adaptive) noexcept:
    g.N, g.C, g.H, g.W = x._sizes[0], x._sizes[1], x._sizes[2], x._sizes[3]
    g.OH, g.OW = OH, OW
    g.kH, g.kW, g.sH, g.sW, g.pH, g.pW, g.dH, g.dW = kH, kW, sH, sW, pH, pW, dH, dW
    g.adaptive = adaptive
    g.count_include_pad = False
    g.divisor_override = 0


_MAX_DTYPES = (FLOAT32, FLOAT64, UINT8, INT32, INT64)
_AVG_DTYPES = (FLOAT32, FLOAT64, INT64)
_FLOAT_DTYPES = (FLOAT32, FLOAT64)


def max_pool(Tensor x, int64_t OH, int64_t OW, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
             int64_t pH, int64_t pW, int64_t dH, int64_t dW, bint adaptive, bint with_indices,
             str op="max_pool2d"):
    """(out, indices or None): max pooling of x (N, C, H, W) into contiguous (N, C, OH, OW)."""
    cdef PoolGeometry g
    cdef int64_t sizes[4]
    cdef Tensor out, ind = None
    cdef int64_t* ip = NULL
    cdef int status = 0
    cdef int num = x._dtype.num
    _check(x, op, "input")
    _check_dtype(x, op, _ADAPTIVE_MAX if adaptive else _MAX_DTYPES)
    _geometry(&g, x, OH, OW, kH, kW, sH, sW, pH, pW, dH, dW, adaptive)
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.C, OH, OW
    out = new_tensor(4, sizes, x._dtype, False)
    if with_indices:
        ind = new_tensor(4, sizes, dtype_from_num(INT64), False)
        ip = <int64_t*>data_of(ind)
    cdef char* xp = data_of(x)
    cdef char* op_ = data_of(out)
    cdef const int64_t* xs = x._strides
    with nogil:
        if num == FLOAT32:
            status = max_pool2d_forward(&g, <const float*>xp, xs, <float*>op_, ip)
        elif num == FLOAT64:
            status = max_pool2d_forward(&g, <const double*>xp, xs, <double*>op_, ip)
        elif num == UINT8:
            status = max_pool2d_forward(&g, <const uint8_t*>xp, xs, <uint8_t*>op_, ip)
        elif num == INT32:
            status = max_pool2d_forward(&g, <const int32_t*>xp, xs, <int32_t*>op_, ip)
        else:
            status = max_pool2d_forward(&g, <const int64_t*>xp, xs, <int64_t*>op_, ip)
    _raise_status(status, op)
    return out, ind


_ADAPTIVE_MAX = _FLOAT_DTYPES


def max_pool_backward(Tensor grad_out, Tensor indices, int64_t H, int64_t W,
                      str op="max_pool2d_backward"):
    """grad_in (N, C, H, W), contiguous: grad_out scattered (summed) to the flat positions
    `indices` (int64, same sizes as grad_out) of each plane."""
    cdef PoolGeometry g
    cdef int64_t sizes[4]
    cdef Tensor gi
    cdef int64_t status = 0
    cdef int d
    _check(grad_out, op, "grad_output")
    _check(indices, op, "indices")
    _check_dtype(grad_out, op, _FLOAT_DTYPES)
    if indices._dtype.num != INT64:
        raise TypeError(f"{op}: indices must be int64, but got {indices._dtype.name}")
    for d in range(4):
        if indices._sizes[d] != grad_out._sizes[d]:
            raise RuntimeError(f"{op}: indices of size {tuple(indices.shape)} do not match "
                               f"grad_output of size {tuple(grad_out.shape)}")
    if H < 1 or W < 1:
        raise RuntimeError(f"{op}: input height and width must be positive, but got {H}x{W}")
    _geometry(&g, grad_out, grad_out._sizes[2], grad_out._sizes[3], 1, 1, 1, 1, 0, 0, 1, 1, True)
    g.H, g.W = H, W
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.C, H, W
    gi = new_tensor(4, sizes, grad_out._dtype, False)
    cdef char* gp = data_of(grad_out)
    cdef const int64_t* jp = <const int64_t*>data_of(indices)
    cdef char* dp = data_of(gi)
    cdef const int64_t* gs = grad_out._strides
    cdef const int64_t* js = indices._strides
    with nogil:
        if grad_out._dtype.num == FLOAT32:
            status = max_pool2d_backward(&g, <const float*>gp, gs, jp, js, <float*>dp)
        else:
            status = max_pool2d_backward(&g, <const double*>gp, gs, jp, js, <double*>dp)
    _raise_status(status, op)
    return gi


def avg_pool(Tensor x, int64_t OH, int64_t OW, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
             int64_t pH, int64_t pW, bint adaptive, bint count_include_pad,
             int64_t divisor_override, str op="avg_pool2d"):
    """Average pooling of x (N, C, H, W) into contiguous (N, C, OH, OW);
    divisor_override 0 means none."""
    cdef PoolGeometry g
    cdef int64_t sizes[4]
    cdef Tensor out
    cdef int status = 0
    cdef int num = x._dtype.num
    _check(x, op, "input")
    _check_dtype(x, op, _FLOAT_DTYPES if adaptive else _AVG_DTYPES)
    _geometry(&g, x, OH, OW, kH, kW, sH, sW, pH, pW, 1, 1, adaptive)
    g.count_include_pad = count_include_pad
    g.divisor_override = divisor_override
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.C, OH, OW
    out = new_tensor(4, sizes, x._dtype, False)
    cdef char* xp = data_of(x)
    cdef char* op_ = data_of(out)
    cdef const int64_t* xs = x._strides
    with nogil:
        if num == FLOAT32:
            status = avg_pool2d_forward(&g, <const float*>xp, xs, <float*>op_)
        elif num == FLOAT64:
            status = avg_pool2d_forward(&g, <const double*>xp, xs, <double*>op_)
        else:
            status = avg_pool2d_forward(&g, <const int64_t*>xp, xs, <int64_t*>op_)
    _raise_status(status, op)
    return out


def avg_pool_backward(Tensor grad_out, int64_t H, int64_t W, int64_t kH, int64_t kW,
                      int64_t sH, int64_t sW, int64_t pH, int64_t pW, bint adaptive,
                      bint count_include_pad, int64_t divisor_override,
                      str op="avg_pool2d_backward"):
    """grad_in (N, C, H, W), contiguous, of average pooling with these windows; grad_out is
    (N, C, OH, OW) and must have the forward pass's output size (the caller checks)."""
    cdef PoolGeometry g
    cdef int64_t sizes[4]
    cdef Tensor gi
    cdef int status = 0
    _check(grad_out, op, "grad_output")
    _check_dtype(grad_out, op, _FLOAT_DTYPES)
    if H < 1 or W < 1:
        raise RuntimeError(f"{op}: input height and width must be positive, but got {H}x{W}")
    _geometry(&g, grad_out, grad_out._sizes[2], grad_out._sizes[3], kH, kW, sH, sW, pH, pW,
              1, 1, adaptive)
    g.H, g.W = H, W
    g.count_include_pad = count_include_pad
    g.divisor_override = divisor_override
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.C, H, W
    gi = new_tensor(4, sizes, grad_out._dtype, False)
    cdef char* gp = data_of(grad_out)
    cdef char* dp = data_of(gi)
    cdef const int64_t* gs = grad_out._strides
    with nogil:
        if grad_out._dtype.num == FLOAT32:
            status = avg_pool2d_backward(&g, <const float*>gp, gs, <float*>dp)
        else:
            status = avg_pool2d_backward(&g, <const double*>gp, gs, <double*>dp)
    _raise_status(status, op)
    return gi
