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
import importlib.util

from strided._C.core.iterator cimport StridedLoop, inner_loop_fn, loop_run_parallel
from strided._C.core.cpu cimport isa_level, ISA_AVX2, ISA_AVX512

cdef enum:
    GRAIN = 32768           # elements per thread below which a loop stays on one thread

# NOTE [ Kernel dispatch ]
# The row kernels (elementwise_rows.pxi) are built once per instruction set: in
# elementwise_baseline for the portable ISA, in elementwise_avx2 with -mavx2 -mfma and in
# elementwise_avx512 with AVX-512 F/DQ/BW/VL and 512-bit vectors (x86-64 builds only).  The
# three are one generated C file compiled under three names with three sets of flags
# (setup.py's ISA_COPIES), so Cython runs once for all.  At import the best build the
# instruction-set level allows (NOTE [ Instruction sets ] in core/cpu.pyx) is imported --
# only then, so its code never runs on a CPU without its instructions -- and its row
# functions fill this module's table.  reduce, loss and optim take the build of the same
# level through isa_row_kernels.  STRIDED_ISA=avx2 or baseline caps the choice.  No build
# contracts a*b+c into an FMA, so all round alike: the same bits on every ISA.
cdef RowKernels _kernels
_isa = None

_BUILDS = ((ISA_AVX512, "avx512"), (ISA_AVX2, "avx2"), (0, "baseline"))    # best first


def _select_kernels():
    global _kernels, _isa
    for level, name in _BUILDS:
        if isa_level() < level:
            continue
        built = _row_module("elementwise", name)
        if built is None:               # built without it (not x86-64, or an old compiler)
            continue
        _kernels = (<RowKernels*>PyCapsule_GetPointer(built.row_kernels(),
                                                      b"strided.RowKernels"))[0]
        _isa = name
        return
    raise ImportError("strided._C.kernels.elementwise_baseline is missing: rebuild strided")


def _row_module(str stem, str isa):
    """strided._C.kernels.<stem>_<isa>, or None when that build was not made.  A build that
    exists but fails to import raises: it is never skipped in silence."""
    name = f"strided._C.kernels.{stem}_{isa}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


_select_kernels()


def kernel_isa():
    """Which build of the element-wise kernels runs: "avx512", "avx2" or "baseline"."""
    return _isa


def isa_row_kernels(str stem):
    """(capsule, isa): the row_kernels() capsule of strided._C.kernels.<stem>_<isa>, the
    build of some module's row kernels for the ISA the element-wise kernels run (NOTE
    [ Kernel dispatch ]), or (None, "baseline") for the baseline or when that build was not
    made.  reduce, loss and optim follow this module's choice through it."""
    if _isa == "baseline":
        return None, "baseline"
    built = _row_module(stem, _isa)
    if built is None:
        return None, "baseline"
    return built.row_kernels(), _isa


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
