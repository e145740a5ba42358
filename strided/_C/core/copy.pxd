from libc.stdint cimport int64_t

# dst[i] = (dst dtype) src[i] for every index i of an ndim-d shape.
#   sizes        IN   the shape, outermost first
#   dst, src     IN   pointers to element 0; strides in elements of their own dtype
#   *_type       IN   ScalarType of each side (any pair; bool targets get src != 0)
# Assumptions: dst has no internal overlap and does not overlap src (the Tensor layer
# copies src to a temporary first when it does); src may have zero or negative strides.
cdef void copy_strided(int ndim, const int64_t* sizes,
                       char* dst, const int64_t* dst_strides, int dst_type,
                       const char* src, const int64_t* src_strides, int src_type) noexcept nogil
