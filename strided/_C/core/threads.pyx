"""Thread count control shared by every parallel kernel (OpenMP when the build has it)."""
from libc.stdint cimport int64_t

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int strided_omp_max_threads(void) { return omp_get_max_threads(); }
    static int strided_have_openmp(void) { return 1; }
    #else
    static int strided_omp_max_threads(void) { return 1; }
    static int strided_have_openmp(void) { return 0; }
    #endif
    """
    int omp_max_threads "strided_omp_max_threads"() noexcept nogil
    int have_openmp "strided_have_openmp"() noexcept nogil

cdef int _num_threads = 0     # 0: not yet initialised


cdef int get_max_threads() noexcept nogil:
    global _num_threads
    if _num_threads == 0:
        _num_threads = omp_max_threads()
    return _num_threads


cdef int num_threads_for(int64_t work, int64_t grain) noexcept nogil:
    cdef int64_t n = work // grain
    cdef int m = get_max_threads()
    if n < 1:
        return 1
    return <int>n if n < m else m


def set_num_threads(int n):
    """Use up to n threads in every parallel kernel of strided."""
    global _num_threads
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive number of threads, but got {n}")
    _num_threads = n if have_openmp() else 1


def get_num_threads():
    """The number of threads strided's parallel kernels may use."""
    return get_max_threads()


def has_openmp():
    """True when this build runs kernels on several threads (compiled with OpenMP)."""
    return bool(have_openmp())
