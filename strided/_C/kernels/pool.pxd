# Pooling kernels over (N, C, H, W) planes: max (with argmax indices) and average, fixed or
# adaptive windows, forward and backward.  1-D pooling is the H == 1 case.
#
# Pointer-level contract (kernels never see a Tensor):
#   x, grad_out, indices   IN   pointer to element 0 plus 4 strides (n, c, h, w) in elements
#                               of their own type; any sign, zero allowed, no contiguity assumed
#   out, indices, grad_in  OUT  contiguous (N, C, OH, OW) / (N, C, H, W), fully written
#                               (grad_in is zeroed by the kernel, callers need not)
# Kernels are `noexcept nogil` (call them inside `with nogil:`) and run OpenMP over the
# N*C planes (or, for channels-last inputs, the N*OH output rows) with num_threads_for()
# threads.  Return value: 0 on success, -1 when scratch memory could not be allocated, -2
# when argmax indices are asked for a plane of more than 2**31 - 1 elements (the kernel
# tracks them in int32), and for max_pool2d_backward the number (> 0) of indices outside
# [0, H*W) other than the -1 of an empty window (those gradients are dropped).
# Results do not depend on the number of threads.
from libc.stdint cimport int64_t, int32_t, uint8_t

# max pooling: every dtype PyTorch's CPU max_pool2d takes that strided has
ctypedef fused max_t:
    float
    double
    uint8_t
    int32_t
    int64_t

# average pooling: floats, and int64 (sums in int64, quotient truncated toward zero, as
# PyTorch's CPU avg_pool2d does for Long)
ctypedef fused avg_t:
    float
    double
    int64_t

# NOTE [ Pooling windows ]
# Fixed windows (adaptive == 0), along H (W likewise), for output row oh:
#     taps  h = oh*sH - pH + kh*dH,   kh = 0 .. kH-1,  only those with 0 <= h < H count;
#     the output size follows PyTorch's pooling_output_shape (the Python layer computes it).
# Adaptive windows (adaptive == 1; k/s/p/d ignored), as PyTorch's adaptive pools:
#     h in [floor(oh*H/OH), ceil((oh+1)*H/OH)).
# Average divisor: divisor_override when not 0; else for fixed windows with count_include_pad
#     (min(h0+kH, H+pH) - h0) * (min(w0+kW, W+pW) - w0), h0 = oh*sH - pH  (padding counts,
#     what lies beyond it does not); else the number of taps inside the input.
# A window with no tap inside the input (possible only with dilation > 1 on an input
# smaller than the dilation) yields the dtype's lowest value and index -1 for max pooling
# (PyTorch yields -inf and an index outside the plane), and 0 for average pooling.
cdef struct PoolGeometry:
    int64_t N, C, H, W            # input sizes
    int64_t OH, OW                # output sizes
    int64_t kH, kW                # window
    int64_t sH, sW                # stride
    int64_t pH, pW                # padding before row 0 / column 0
    int64_t dH, dW                # dilation
    bint adaptive                 # adaptive windows (k, s, p, d ignored)
    bint count_include_pad        # average pooling only
    int64_t divisor_override      # average pooling only; 0: none (any other value, even < 0)

# out[n, c, oh, ow] = max over the window of x[n, c, :, :]; NaN wins (the last NaN in
# row-major window order), otherwise the first maximum in that order.  When indices is not
# NULL it receives the winner's flat index h*W + w in its plane (int64, contiguous like out).
cdef int max_pool2d_forward(const PoolGeometry* g, const max_t* x, const int64_t* x_strides,
                            max_t* out, int64_t* indices) noexcept nogil

# grad_in[n, c] = 0;  grad_in[n, c].flat[indices[n, c, o]] += grad_out[n, c, o]  for every
# output o (overlapping windows accumulate).  Shared by max_pool2d and adaptive_max_pool2d;
# only g.N, C, H, W, OH, OW are read.
cdef int64_t max_pool2d_backward(const PoolGeometry* g,
                                 const max_t* grad_out, const int64_t* grad_out_strides,
                                 const int64_t* indices, const int64_t* indices_strides,
                                 max_t* grad_in) noexcept nogil

# out[n, c, oh, ow] = sum over the window of x[n, c, :, :] / divisor   (NOTE [ Pooling windows ]);
# summed from 0 in row-major window order and divided as PyTorch does, so float results
# are bit-identical to PyTorch's CPU kernels (adaptive: sum / kh / kw).
cdef int avg_pool2d_forward(const PoolGeometry* g, const avg_t* x, const int64_t* x_strides,
                            avg_t* out) noexcept nogil

# grad_in[n, c] = 0;  grad_in[n, c, h, w] += grad_out[n, c, oh, ow] / divisor for every
# window (oh, ow) that contains (h, w)  (adaptive: grad_out / kh / kw).
cdef int avg_pool2d_backward(const PoolGeometry* g,
                             const avg_t* grad_out, const int64_t* grad_out_strides,
                             avg_t* grad_in) noexcept nogil
