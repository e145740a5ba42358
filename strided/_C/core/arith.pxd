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


# NOTE [ Integer arguments beyond int64 ]
# Sizes, strides, offsets, indices and dims are int64 in the core.  A Python int outside
# that range is refused the way PyTorch refuses it: a single int argument (an index, a dim,
# narrow's start, as_strided's storage_offset, Storage(size)) raises ValueError, an element
# of an int sequence (a shape, strides, dims) raises TypeError (see _parse_ints in
# tensor.pyx), both naming the argument.  Cython's own conversion would raise OverflowError.
cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object x, int* overflow) except? -1
    object PyNumber_Index(object x)
    bint PyLong_Check(object x)


cdef inline int64_t index_int64(object x, str what) except? -1:
    """x (an int, or anything with __index__) as int64; ValueError when out of range."""
    cdef int overflow = 0
    cdef long long v
    if not PyLong_Check(x):
        x = PyNumber_Index(x)
    v = PyLong_AsLongLongAndOverflow(x, &overflow)
    if overflow:
        raise ValueError(f"{what} must be in the int64 range [-2**63, 2**63 - 1], but got {x}")
    return v
