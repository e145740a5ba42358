# Gathers and scatters along one dim, masked fills, selects and scatters: pointers, sizes,
# strides (in elements of each operand's dtype).  Assumptions for every kernel: the indices
# were checked against the size of `dim` (index_out_of_range), the written operand has no
# internal overlap and does not overlap the operands it reads (the ops layer copies first).
from libc.stdint cimport int64_t, uint8_t

cdef enum ScatterMode:
    SCATTER_SET = 0
    SCATTER_ADD = 1
    SCATTER_MUL = 2
    SCATTER_AMAX = 3
    SCATTER_AMIN = 4

# 1 and *bad = the first index outside [0, size) (row-major order is not promised), else 0.
cdef bint index_out_of_range(int ndim, const int64_t* sizes, const int64_t* index,
                             const int64_t* index_strides, int64_t size,
                             int64_t* bad) noexcept nogil

# out[i] = src[i with i[dim] replaced by index[i]] over index's shape `sizes`.
#   src_strides  IN  src's strides with 0 at dim (the index supplies that coordinate)
#   src_dim_stride IN src's stride along dim
cdef void gather_kernel(int ndim, const int64_t* sizes, char* out, const int64_t* out_strides,
                        const int64_t* index, const int64_t* index_strides,
                        const char* src, const int64_t* src_strides, int64_t src_dim_stride,
                        int itemsize) noexcept nogil

# self[i with i[dim] replaced by index[i]] (op)= src[i] over index's shape, in row-major order
# of index (duplicates: the last write wins / every value is combined).
#   self_strides  IN  self's strides with 0 at dim; src_strides may be all 0 (a value)
#   dtype         IN  ScalarType of self and src
cdef void scatter_kernel(int ndim, const int64_t* sizes, char* self,
                         const int64_t* self_strides, int64_t self_dim_stride,
                         const int64_t* index, const int64_t* index_strides,
                         const char* src, const int64_t* src_strides, int dtype,
                         int mode) noexcept nogil

# self[i] = value where mask[i] (mask: uint8/bool, broadcast with stride 0).
cdef void masked_fill_kernel(int ndim, const int64_t* sizes, char* self,
                             const int64_t* self_strides, const uint8_t* mask,
                             const int64_t* mask_strides, const char* value,
                             int itemsize) noexcept nogil

# The number of nonzero mask elements.
cdef int64_t count_nonzero(int ndim, const int64_t* sizes, const uint8_t* mask,
                           const int64_t* mask_strides) noexcept nogil

# Row-major walks (the order is part of the result), for k < limit only (the count taken
# before: a mask another thread changes in between cannot make them write or read more):
#   masked_select:  out[k] = src[i]  for the k-th i (row-major) with mask[i]
#   masked_scatter: self[i] = src[k] for the k-th i with mask[i] (src contiguous)
#   nonzero:        out[k, :] = i    for the k-th i with mask[i] (out (limit, ndim) int64)
cdef void masked_select_kernel(int ndim, const int64_t* sizes, const char* src,
                               const int64_t* src_strides, const uint8_t* mask,
                               const int64_t* mask_strides, char* out, int64_t limit,
                               int itemsize) noexcept nogil
cdef void masked_scatter_kernel(int ndim, const int64_t* sizes, char* self,
                                const int64_t* self_strides, const uint8_t* mask,
                                const int64_t* mask_strides, const char* src,
                                int64_t limit, int itemsize) noexcept nogil
cdef void nonzero_kernel(int ndim, const int64_t* sizes, const uint8_t* mask,
                         const int64_t* mask_strides, int64_t* out,
                         int64_t limit) noexcept nogil
