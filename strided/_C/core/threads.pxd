from libc.stdint cimport int64_t

# How many threads a kernel should use for `work` elements, given the smallest useful
# amount of work per thread.  Every parallel kernel asks here, so set_num_threads()
# governs the whole library.
cdef int num_threads_for(int64_t work, int64_t grain) noexcept nogil
cdef int get_max_threads() noexcept nogil
