# The six element types.  The enum order is the promotion order within the library
# (bool < uint8 < int32 < int64 < float32 < float64) and indexes every per-dtype table.

cdef enum ScalarType:
    BOOL = 0
    UINT8 = 1
    INT32 = 2
    INT64 = 3
    FLOAT32 = 4
    FLOAT64 = 5
    NUM_DTYPES = 6

cdef class DType:
    cdef readonly str name
    cdef readonly int itemsize
    cdef readonly int num              # a ScalarType
    cdef readonly bint is_floating_point
    cdef readonly bint is_signed
    cdef readonly object numpy_dtype   # the numpy.dtype with the same memory layout
    cdef readonly str format           # PEP 3118 buffer format character

cdef DType dtype_from_num(int num)
cdef DType as_dtype(object obj)       # DType, numpy dtype or Python type -> DType, else TypeError
