"""The loss row kernels of the vector builds: compiled as loss_avx2 with
AVX2 + FMA and, from the same generated C under another name, as loss_avx512 with
AVX-512 F/DQ/BW/VL (setup.py's ISA_COPIES).  loss.pyx imports the one the instruction-set
level allows (NOTE [ Kernel dispatch ] in elementwise.pyx)."""
from cpython.pycapsule cimport PyCapsule_New

from strided._C.kernels.loss cimport Rows, LossKernels

include "loss_rows.pxi"


def row_kernels():
    """A capsule holding this build's LossKernels (for loss._select_kernels)."""
    return PyCapsule_New(&_table, b"strided.LossKernels", NULL)
