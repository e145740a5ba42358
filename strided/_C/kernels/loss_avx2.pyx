"""The loss row kernels compiled for AVX2 + FMA (NOTE [ Kernel dispatch ] in
elementwise.pyx; loss.pyx imports this module only when elementwise chose AVX2)."""
from cpython.pycapsule cimport PyCapsule_New

from strided._C.kernels.loss cimport Rows, LossKernels

include "loss_rows.pxi"


def row_kernels():
    """A capsule holding this build's LossKernels (for loss._select_kernels)."""
    return PyCapsule_New(&_table, b"strided.LossKernels", NULL)
