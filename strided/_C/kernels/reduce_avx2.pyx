"""The reduction row kernels of the vector builds: compiled as reduce_avx2 with
AVX2 + FMA and, from the same generated C under another name, as reduce_avx512 with
AVX-512 F/DQ/BW/VL (setup.py's ISA_COPIES).  reduce.pyx imports the one the instruction-set
level allows (NOTE [ Kernel dispatch ] in elementwise.pyx)."""
from cpython.pycapsule cimport PyCapsule_New

from strided._C.kernels.reduce cimport (ReduceCtx, LaneCtx, ReduceKernels, R_SUM, R_PROD, R_MAX, R_MIN,
                                LANE_ARGMAX, LANE_ARGMIN, LANE_CUMSUM, LANE_CUMPROD,
                                LANE_SOFTMAX, LANE_LOG_SOFTMAX, LANE_LOGSUMEXP)

include "reduce_rows.pxi"

cdef ReduceKernels _table
_table.reduce = _reduce_rows
_table.lanes = _lane_rows


def row_kernels():
    """A capsule holding this build's ReduceKernels (for reduce._select_kernels)."""
    return PyCapsule_New(&_table, b"strided.ReduceKernels", NULL)
