"""Element-wise kernels (contract in elementwise.pxd).

NOTE [ Element-wise kernels ]
Each op is a tag type (an empty struct) and the element types a fused type, so Cython
writes one row loop per (op, dtype) pair with the op's formula inlined: the compiler sees
`out[i] = x[i] + y[i]` and vectorizes it.  A row is a piece of the innermost loop dim
handed over by the strided iterator; each row function has contiguous and
scalar-broadcast fast paths and a byte-stride general path.  The (op, dtype) switch runs
once per row, never per element.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t
import importlib

from strided._C.core.iterator cimport StridedLoop, inner_loop_fn, loop_run_parallel
from strided._C.core.cpu cimport isa_level, ISA_AVX2

include "elementwise_rows.pxi"

# NOTE [ Kernel dispatch ]
# The row kernels are built twice: here for the baseline ISA, and in elementwise_avx2 with
# -mavx2 -mfma (on x86-64 builds).  At import, when the instruction-set level is avx2 or
# above (NOTE [ Instruction sets ] in core/cpu.pyx), the AVX2 module is imported -- only
# then, so its code never runs on a CPU without AVX2 and FMA -- and its row functions
# replace these.  STRIDED_ISA=baseline keeps the portable ones.
cdef RowKernels _kernels
_kernels.binary = _binary_rows
_kernels.unary = _unary_rows
_kernels.where = _where_rows
_isa = "baseline"


def _select_kernels():
    global _kernels, _isa
    if isa_level() < ISA_AVX2:
        return
    try:
        from strided._C.kernels import elementwise_avx2
    except ImportError:                 # built without it (not x86-64, or an old compiler)
        return
    _kernels = (<RowKernels*>PyCapsule_GetPointer(elementwise_avx2.row_kernels(),
                                                  b"strided.RowKernels"))[0]
    _isa = "avx2"


_select_kernels()


def kernel_isa():
    """Which build of the element-wise kernels runs: "avx2" or "baseline"."""
    return _isa


def isa_row_kernels(str module):
    """The row_kernels() capsule of strided._C.kernels.<module>, the AVX2 build of some module's row
    kernels, when the AVX2 element-wise kernels run; else None (NOTE [ Kernel dispatch ]).
    reduce, loss and optim follow this module's choice through it."""
    if _isa != "avx2":
        return None
    try:
        built = importlib.import_module("strided._C.kernels." + module)
    except ImportError:                 # built without it
        return None
    return built.row_kernels()


# Transcendental ops cost ~10x an add per element: split them over threads sooner.
cdef inline int64_t _unary_grain(int op) noexcept nogil:
    return GRAIN if op < U_FLOAT_FIRST or op >= U_BOOL_FIRST else GRAIN // 8


cdef int run_binary(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil:
    args.error = 0
    loop_run_parallel(L, ptrs, _kernels.binary, args,
                      GRAIN // 8 if args.op == B_POW or args.op == B_ATAN2 else GRAIN)
    return args.error


cdef int run_unary(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil:
    args.error = 0
    loop_run_parallel(L, ptrs, _kernels.unary, args, _unary_grain(args.op))
    return args.error


cdef int run_where(StridedLoop* L, char** ptrs, OpArgs* args) noexcept nogil:
    args.error = 0
    loop_run_parallel(L, ptrs, _kernels.where, args, GRAIN)
    return args.error
