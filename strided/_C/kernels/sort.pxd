# Sorting along one dim: every row (the elements along `dim` at one position of the other
# dims) is sorted on its own.  Pointers, sizes and strides in elements of each operand.
from libc.stdint cimport int64_t

# For every row r of the batch (batch dims bsizes with per-operand strides, outermost first):
#   order = the stable order of src's row (ascending, or descending when asked; NaN counts
#           as larger than every number, as in PyTorch)
#   values[r, j] = src[r, order[j]], indices[r, j] = order[j]   for j < k
#   src, src_bstrides, src_stride    IN   any strides (zero or negative)
#   values / indices                 OUT  NULL to skip; no overlap with src
#   dtype                            IN   ScalarType of src and values
# Returns -1 when scratch memory could not be had, else 0.
cdef int sort_kernel(int nb, const int64_t* bsizes, const int64_t* src_bstrides,
                     const int64_t* val_bstrides, const int64_t* idx_bstrides,
                     int64_t n, int64_t k, const char* src, int64_t src_stride,
                     char* values, int64_t val_stride, int64_t* indices, int64_t idx_stride,
                     int dtype, bint descending) noexcept nogil
