# Reduction kernels.
#
# NOTE [ Reductions on the strided iterator ]
# A reduction is a two-operand loop (input, accumulator) over the input's shape in which
# the accumulator has stride 0 along every reduced dim.  The iterator orders dims by the
# INPUT's strides, so the innermost row is whichever dim is densest in memory:
#   - accumulator stride 0 along the row: a horizontal reduction, acc[0] += sum(row);
#   - accumulator stride != 0: a vertical one, acc[i] += row[i] (vectorizes across lanes).
# The accumulator is a fresh contiguous buffer of `acc_numel` elements of the accumulation
# type, filled with the op's identity by the caller: float32 sums and products accumulate
# in float64 (accurate to well below float32 rounding for 10M-element sums), integer ones in
# int64; max/min accumulate in the input type.  Threads split the outermost dim when it is
# not reduced, and otherwise reduce into private accumulators merged at the end.
from libc.stdint cimport int64_t
from strided._C.core.iterator cimport StridedLoop, inner_loop_fn

cdef enum ReduceOp:
    R_SUM, R_PROD, R_MAX, R_MIN

# L: prepared loop with operands (input of in_type, accumulator of acc_type), acc_base the
# accumulator buffer's first element (the operand base pointer for a fresh contiguous
# buffer).  Valid (in_type, acc_type): sum/prod (float32|float64 -> float64, integers ->
# int64), max/min (t -> t; bool runs as uint8).  Returns 0, or -1 when scratch memory ran out.
cdef int run_reduce(int op, int in_type, int acc_type, StridedLoop* L, char* in_ptr,
                    char* acc_base, int64_t acc_numel) noexcept nogil

cdef enum LaneOp:
    # per-lane scans along one dim: in[k*in_stride] for k < length, for every lane
    LANE_ARGMAX, LANE_ARGMIN,    # out = value, idx = int64 index (first max; NaN wins)
    LANE_CUMSUM, LANE_CUMPROD,   # out[k] = running sum/product (float32 runs in float64)
    LANE_SOFTMAX, LANE_LOG_SOFTMAX,
    LANE_LOGSUMEXP               # out = log(sum(exp(in))) computed stably

# Lanes: a prepared loop over the other dims with operands (in, out, idx) -- idx may be a
# dummy with zero strides for ops without indices.  For LANE_CUMSUM/CUMPROD/SOFTMAX the out
# lane has `length` elements at out_stride (bytes); for the others one element.
# dtype: the element type of in and out (floating for softmax/logsumexp).
cdef void run_lanes(int op, int dtype, StridedLoop* L, char** ptrs, int64_t length,
                    int64_t in_stride, int64_t out_stride) noexcept nogil

# Kernel contexts and the row functions of one build (NOTE [ Kernel dispatch ]).
cdef struct ReduceCtx:
    int op
    int in_type
    int acc_type

cdef struct LaneCtx:
    int op
    int dtype
    int64_t length
    int64_t in_stride       # bytes
    int64_t out_stride      # bytes

cdef struct ReduceKernels:
    inner_loop_fn reduce        # ctx: ReduceCtx
    inner_loop_fn lanes         # ctx: LaneCtx
