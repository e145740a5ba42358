"""The reduction row kernels compiled for AVX2 + FMA (NOTE [ Kernel dispatch ] in
elementwise.pyx; reduce.pyx imports this module only when elementwise chose AVX2)."""
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
