"""The fused optimizer row kernels of the vector builds: compiled as optim_avx2 with
AVX2 + FMA and, from the same generated C under another name, as optim_avx512 with
AVX-512 F/DQ/BW/VL (setup.py's ISA_COPIES).  optim.pyx imports the one the instruction-set
level allows (NOTE [ Kernel dispatch ] in elementwise.pyx)."""
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
