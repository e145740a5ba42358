"""The fused optimizer row kernels compiled for AVX2 + FMA (see optim.pyx, which
imports this module only when the element-wise kernels run their AVX2 build)."""
from cpython.pycapsule cimport PyCapsule_New

from strided._C.kernels.optim cimport SGDHyper, AdamHyper, SGDCtx, OptimRowKernels

include "optim_rows.pxi"

cdef OptimRowKernels _table
_table.sgd_f32 = _sgd_row_f32
_table.sgd_f64 = _sgd_row_f64
_table.adam_f32 = _adam_row_f32
_table.adam_f64 = _adam_row_f64


def row_kernels():
    """A capsule holding this build's OptimRowKernels (for optim._select_kernels)."""
    return PyCapsule_New(&_table, b"strided.OptimRowKernels", NULL)
