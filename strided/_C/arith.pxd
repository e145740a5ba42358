# Overflow-checked int64 arithmetic (gcc/clang builtins).  Every size x stride and offset
# computation that decides which memory a tensor may touch goes through these.
from libc.stdint cimport int64_t

cdef extern from *:
    """
    #include <stdint.h>
    static inline int strided_mul_overflow(int64_t a, int64_t b, int64_t *r) {
        return __builtin_mul_overflow(a, b, r);
    }
    static inline int strided_add_overflow(int64_t a, int64_t b, int64_t *r) {
        return __builtin_add_overflow(a, b, r);
    }
    """
    bint mul_overflow "strided_mul_overflow"(int64_t a, int64_t b, int64_t* r) nogil
    bint add_overflow "strided_add_overflow"(int64_t a, int64_t b, int64_t* r) nogil
