"""Pooling kernels: max (with argmax indices) and average, fixed or adaptive windows.

The contracts are in pool.pxd.  Every kernel splits its work over threads with OpenMP
(static schedule, per-thread scratch allocated once per call) and produces one output row
at a time with loops that run along W or OW innermost, so they vectorize when the input
rows are contiguous (sw == 1); any other layout takes the same code with strided loads
(NOTE [ Pooling work order ] for channels-last inputs).

Max pooling is separable: columns first, then rows (NOTE [ Max pooling, columns first ]),
with a NaN-blind fast path (NOTE [ Max pooling fast path ]).  Average pooling sums each
window directly, vectorized over the outputs of a row, in PyTorch's order (NOTE [ Average
pooling order ]).  Loops are specialised at compile time through fused tag types (NOTE
[ Compile-time specialisation ]).
"""
cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int64_t, int32_t, uint8_t, uint32_t, uint64_t, INT32_MIN, INT64_MIN, INT32_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy

from strided._C.core.threads cimport num_threads_for

cdef enum:
    GRAIN = 1 << 15          # input elements per thread below which a thread is not worth it
    SMALL_ROW = 16           # input rows up to this long take NOTE [ Max pooling 2x2 ]
    ALIGN = 64


cdef extern from "<math.h>":
    # C99's quiet comparison.  The `>` operator on floats may raise FE_INVALID on NaN, so
    # under GCC's default -ftrapping-math a select on it is not if-converted and the loop
    # stays scalar; isgreater() never traps, and the loops vectorize.
    bint isgreater(double x, double y) noexcept nogil


# --------------------------------------------------------------------------------------
# Window tables
# --------------------------------------------------------------------------------------

cdef struct Windows:
    # One axis of the window table (NOTE [ Pooling windows ] in pool.pxd), per output index o:
    int64_t* start       # first tap inside the input
    int64_t* count       # number of taps inside the input (0: empty window)
    int64_t* div         # average divisor factor along this axis
    int64_t step         # distance between taps (dilation; 1 for adaptive windows)
    int64_t lo, hi       # outputs in [lo, hi) have all k taps inside (fixed windows only)
    int64_t span         # the most input positions one window covers (first to last tap)


cdef void _fixed_windows(Windows* win, int64_t O, int64_t L, int64_t k, int64_t s, int64_t p,
                         int64_t d, bint count_include_pad) noexcept nogil:
    cdef int64_t o, lo, j0, j1
    win.step = d
    win.lo = O
    win.hi = 0
    win.span = 1
    for o in range(O):
        lo = o * s - p                                   # tap 0, maybe in the padding
        j0 = 0 if lo >= 0 else (-lo + d - 1) // d        # first tap >= 0
        j1 = 0 if L <= lo else (L - lo + d - 1) // d     # taps below L
        if j1 > k:
            j1 = k
        win.start[o] = lo + j0 * d
        win.count[o] = j1 - j0 if j1 > j0 else 0
        if win.count[o] > 0 and (win.count[o] - 1) * d + 1 > win.span:
            win.span = (win.count[o] - 1) * d + 1
        if count_include_pad:
            win.div[o] = (lo + k if lo + k < L + p else L + p) - lo
        else:
            win.div[o] = win.count[o]
        if j0 == 0 and j1 == k:
            if o < win.lo:
                win.lo = o
            win.hi = o + 1
    if win.lo >= win.hi:
        win.lo = win.hi = 0


cdef void _adaptive_windows(Windows* win, int64_t O, int64_t L) noexcept nogil:
    cdef int64_t o, a, b
    win.step = 1
    win.lo = win.hi = 0
    win.span = 1
    for o in range(O):
        a = (o * L) // O
        b = ((o + 1) * L + O - 1) // O
        win.start[o] = a
        win.count[o] = b - a
        win.div[o] = b - a
        if b - a > win.span:
            win.span = b - a


cdef int64_t* _make_windows(const PoolGeometry* g, Windows* wh, Windows* ww) noexcept nogil:
    """Fill the H and W window tables; returns the block to free(), or NULL (no memory)."""
    cdef int64_t* block = <int64_t*>malloc((3 * (g.OH + g.OW) + 1) * sizeof(int64_t))
    if block == NULL:
        return NULL
    wh.start, wh.count, wh.div = block, block + g.OH, block + 2 * g.OH
    ww.start = block + 3 * g.OH
    ww.count, ww.div = ww.start + g.OW, ww.start + 2 * g.OW
    if g.adaptive:
        _adaptive_windows(wh, g.OH, g.H)
        _adaptive_windows(ww, g.OW, g.W)
    else:
        _fixed_windows(wh, g.OH, g.H, g.kH, g.sH, g.pH, g.dH, g.count_include_pad)
        _fixed_windows(ww, g.OW, g.W, g.kW, g.sW, g.pW, g.dW, g.count_include_pad)
    return block


cdef inline int64_t _aligned(int64_t nbytes) noexcept nogil:
    return (nbytes + ALIGN - 1) // ALIGN * ALIGN


cdef inline char* _thread_scratch(char* scratch, int64_t per_thread) noexcept nogil:
    return <char*>_aligned(<int64_t>scratch) + threadid() * per_thread


# --------------------------------------------------------------------------------------
# Max pooling, forward
# --------------------------------------------------------------------------------------
#
# NOTE [ Max pooling ties and NaN ]
# PyTorch scans a window in row-major order, starting from (-inf, index of the first tap),
# and takes a tap when `v > max or isnan(v)`.  So the result is the LAST NaN in scan order
# when the window has a NaN, else the FIRST tap holding the maximum.  As a rule on
# (value, flat index) pairs that needs no scan order:
#     a NaN beats every number; of two NaNs the larger index wins;
#     of two numbers the larger wins; of two equal numbers the smaller index wins.
# The rule is associative and commutative, so a window may be reduced in any grouping.
#
# NOTE [ Max pooling, columns first ]
# Per output row oh, the column pass reduces the window's rows, in increasing h, column by
# column: tv[w] (and ti[w], the flat index h*W + w of the winner) for every w, with
# PyTorch's own test -- rows come in scan order.  The row pass then reduces, for each
# output ow, the window's columns of tv with the full rule above (a column winner to the
# right may come from an earlier row, so ties need the index comparison).  The column pass
# reads contiguous input rows and the row pass a contiguous scratch row, and both loop
# over W or OW innermost, so both vectorize.  (Rows first would keep the scan order and
# drop the index comparison, but it does the strided, de-interleaving work once per input
# row instead of once per output row: measured 1.4-1.6x slower for 3x3/s2 and 2x2/s2.)
#
# NOTE [ Max pooling fast path ]
# NaN is rare, and the NaN-aware tests cost about twice the instructions of the NaN-blind
# ones (x86's maxps is `v > a ? v : a` in one instruction).  So each output row is first
# pooled NaN-blind (modes Fast, FastArg) while the column pass ORs together isnan() of
# every tap it reads; when that flag is set, the row is pooled again with the exact rule
# (Exact, ExactArg).  Without NaN both give the same values and indices.  Integer types
# have no NaN: the flag is constant 0 and the exact pass compiles away.
#
# NOTE [ Compile-time specialisation ]
# The mode, and the walk along a row (output stride 1 or 2 over a contiguous row, or
# anything else), are fused "tag" types: Cython writes one C function per combination, in
# which the mode tests and the strides are constants, so GCC if-converts and vectorizes
# every loop without depending on its inlining decisions.  A caller picks a specialisation
# by passing a NULL pointer of the tag type.

cdef struct Fast:                # values only, NaN-blind
    char unused
cdef struct Exact:               # values only, PyTorch's NaN rule
    char unused
cdef struct FastArg:             # values and flat indices, NaN-blind
    char unused
cdef struct ExactArg:            # values and flat indices, PyTorch's NaN rule
    char unused

ctypedef fused mode_t:
    Fast
    Exact
    FastArg
    ExactArg

cdef struct UnitStride:          # contiguous row, output stride 1
    char unused
cdef struct DoubleStride:        # contiguous row, output stride 2
    char unused
cdef struct AnyStride:           # anything else
    char unused

ctypedef fused walk_t:
    UnitStride
    DoubleStride
    AnyStride


cdef inline max_t _lowest(const max_t* tag) noexcept nogil:
    if max_t is float:
        return -INFINITY
    elif max_t is double:
        return -INFINITY
    elif max_t is uint8_t:
        return 0
    elif max_t is int32_t:
        return INT32_MIN
    else:
        return INT64_MIN


cdef inline bint _gt(max_t v, max_t a) noexcept nogil:
    """v > a, without trapping on NaN (false when either is NaN)."""
    if max_t is float or max_t is double:
        return isgreater(v, a)
    else:
        return v > a


cdef inline bint _isnan(max_t v) noexcept nogil:
    if max_t is float or max_t is double:
        return v != v
    else:
        return False


cdef inline int32_t _select_i32(bint take, int32_t x, int32_t y) noexcept nogil:
    """take ? x : y as bit operations: GCC does not always if-convert the branch Cython
    writes for a conditional expression, and a branch in a loop stops vectorization."""
    return y ^ ((x ^ y) & -<int32_t>take)


cdef inline max_t _select_max(bint take, max_t x, max_t y) noexcept nogil:
    """take ? x : y as bit operations on the values' bits (_select_i32's reason)."""
    cdef uint32_t fx, fy
    cdef uint64_t dx, dy
    if max_t is float:
        memcpy(&fx, &x, 4)
        memcpy(&fy, &y, 4)
        fy ^= (fx ^ fy) & (<uint32_t>0 - <uint32_t>take)
        memcpy(&y, &fy, 4)
        return y
    elif max_t is double:
        memcpy(&dx, &x, 8)
        memcpy(&dy, &y, 8)
        dy ^= (dx ^ dy) & (<uint64_t>0 - <uint64_t>take)
        memcpy(&y, &dy, 8)
        return y
    else:
        return y ^ ((x ^ y) & -<max_t>take)


cdef int _column_pass(const mode_t* mode, const walk_t* walk, const max_t* x0, int64_t rs,
                      int64_t sw, int64_t n, int64_t W, int32_t base, int32_t base_step,
                      max_t* tv, int32_t* ti) noexcept nogil:
    """tv[w] = the winner over rows j < n, in order, of x0[j*rs + w*sw] by PyTorch's scan
    test (Exact*) or its NaN-blind part (Fast*, which returns the NaN flag); *Arg also
    ti[w] = its flat index base + j*base_step + w.  walk: UnitStride (sw == 1) or
    AnyStride."""
    cdef int64_t j, w
    cdef const max_t* row
    cdef max_t v, a
    cdef int32_t ai
    cdef bint take
    cdef int seen = 0
    if walk_t is UnitStride:
        sw = 1
    for w in range(W):
        v = x0[w * sw]
        tv[w] = v
        if mode_t is FastArg or mode_t is ExactArg:
            ti[w] = base + <int32_t>w
        if mode_t is Fast or mode_t is FastArg:
            seen |= _isnan(v)
    for j in range(1, n):
        row = x0 + j * rs
        base += base_step
        for w in range(W):
            v = row[w * sw]
            a = tv[w]
            if mode_t is Fast or mode_t is FastArg:
                take = _gt(v, a)
                seen |= _isnan(v)
            else:
                take = _gt(v, a) | _isnan(v)
            tv[w] = v if take else a
            if mode_t is FastArg or mode_t is ExactArg:
                ai = ti[w]                 # loaded unconditionally: no branch
                ti[w] = _select_i32(take, base + <int32_t>w, ai)
    return seen


cdef inline bint _beats(const mode_t* mode, max_t v, int32_t vi, max_t a,
                        int32_t ai) noexcept nogil:
    """(v, vi) wins over (a, ai) by NOTE [ Max pooling ties and NaN ] (or its NaN-free
    part in the Fast modes)."""
    if mode_t is Fast or mode_t is FastArg:
        return _gt(v, a) | ((v == a) & (vi < ai))
    else:
        return (_gt(v, a) | (_isnan(v) & ((not _isnan(a)) | (vi > ai)))
                | ((v == a) & (vi < ai)))


cdef void _row_interior(const mode_t* mode, const walk_t* walk, const max_t* tv,
                        const int32_t* ti, int64_t lo, int64_t hi, int64_t S, int64_t k,
                        int64_t d, int64_t p, max_t* orow, int32_t* oi) noexcept nogil:
    """orow[o] (and oi[o], *Arg) = the winner of tv[o*S - p + kw*d], kw < k, for o in
    [lo, hi) where every tap is inside.  The loop over o is innermost, so it vectorizes."""
    cdef int64_t o, kw, off
    cdef max_t v, a
    cdef int32_t vi, ai
    cdef bint take
    if walk_t is UnitStride:
        S = 1
    elif walk_t is DoubleStride:
        S = 2
    for o in range(lo, hi):
        orow[o] = tv[o * S - p]
        if mode_t is FastArg or mode_t is ExactArg:
            oi[o] = ti[o * S - p]
    for kw in range(1, k):
        off = kw * d - p
        for o in range(lo, hi):
            v = tv[o * S + off]
            a = orow[o]
            if mode_t is Fast:
                orow[o] = v if _gt(v, a) else a
            elif mode_t is Exact:
                orow[o] = v if _gt(v, a) | _isnan(v) else a
            else:
                vi = ti[o * S + off]
                ai = oi[o]
                take = _beats(mode, v, vi, a, ai)
                orow[o] = v if take else a
                oi[o] = _select_i32(take, vi, ai)


cdef void _row_pass(const mode_t* mode, const PoolGeometry* g, const Windows* ww,
                    const max_t* tv, const int32_t* ti, max_t* orow, int32_t* oi,
                    max_t lowest) noexcept nogil:
    """orow[ow] (and oi[ow], *Arg) = the winner of window ow's columns of tv."""
    cdef int64_t ow
    cdef int64_t lo = ww.lo, hi = ww.hi
    if hi > lo:
        if g.sW == 1:
            _row_interior(mode, <UnitStride*>NULL, tv, ti, lo, hi, 1, g.kW, ww.step, g.pW,
                          orow, oi)
        elif g.sW == 2:
            _row_interior(mode, <DoubleStride*>NULL, tv, ti, lo, hi, 2, g.kW, ww.step, g.pW,
                          orow, oi)
        else:
            _row_interior(mode, <AnyStride*>NULL, tv, ti, lo, hi, g.sW, g.kW, ww.step, g.pW,
                          orow, oi)
    # the border (and every adaptive window), one output at a time
    if hi <= lo:
        lo = hi = g.OW
    for ow in range(lo):
        _row_border(mode, ww, tv, ti, ow, orow, oi, lowest)
    for ow in range(hi, g.OW):
        _row_border(mode, ww, tv, ti, ow, orow, oi, lowest)


cdef inline void _row_border(const mode_t* mode, const Windows* ww, const max_t* tv,
                             const int32_t* ti, int64_t ow, max_t* orow, int32_t* oi,
                             max_t lowest) noexcept nogil:
    """orow[ow] (and oi[ow]) for one window, tap by tap."""
    cdef int64_t j, c, n = ww.count[ow]
    cdef max_t v, a
    cdef int32_t vi, ai
    if n == 0:
        orow[ow] = lowest
        oi[ow] = -1
        return
    c = ww.start[ow]
    a = tv[c]
    ai = ti[c] if mode_t is FastArg or mode_t is ExactArg else 0
    for j in range(1, n):
        c += ww.step
        v = tv[c]
        if mode_t is Fast:
            a = v if _gt(v, a) else a
        elif mode_t is Exact:
            a = v if _gt(v, a) | _isnan(v) else a
        else:
            vi = ti[c]
            if _beats(mode, v, vi, a, ai):
                a = v
                ai = vi
    orow[ow] = a
    if mode_t is FastArg or mode_t is ExactArg:
        oi[ow] = ai


cdef void _max_row(const mode_t* mode, const PoolGeometry* g, const Windows* wh,
                   const Windows* ww, const max_t* xp, int64_t sh, int64_t sw, int64_t oh,
                   max_t* orow, int64_t* irow, max_t* tv, int32_t* ti,
                   int32_t* oi) noexcept nogil:
    """Output row oh of the plane at xp into orow (OW, contiguous) and, mode FastArg, its
    argmax irow.  mode is Fast or FastArg; a row with a NaN is redone in Exact/ExactArg."""
    cdef int64_t W = g.W, OW = g.OW, ow, n = wh.count[oh], rs = wh.step * sh
    cdef max_t lowest = _lowest(xp)
    cdef const max_t* x0 = xp + wh.start[oh] * sh
    cdef int32_t base = <int32_t>(wh.start[oh] * W), base_step = <int32_t>(wh.step * W)
    cdef int seen
    if n == 0:
        for ow in range(OW):
            orow[ow] = lowest
            oi[ow] = -1
    else:
        if sw == 1:
            seen = _column_pass(mode, <UnitStride*>NULL, x0, rs, 1, n, W, base, base_step,
                                tv, ti)
        else:
            seen = _column_pass(mode, <AnyStride*>NULL, x0, rs, sw, n, W, base, base_step,
                                tv, ti)
        if not seen:
            _row_pass(mode, g, ww, tv, ti, orow, oi, lowest)
        elif mode_t is Fast:
            if sw == 1:
                _column_pass(<Exact*>NULL, <UnitStride*>NULL, x0, rs, 1, n, W, base,
                             base_step, tv, ti)
            else:
                _column_pass(<Exact*>NULL, <AnyStride*>NULL, x0, rs, sw, n, W, base,
                             base_step, tv, ti)
            _row_pass(<Exact*>NULL, g, ww, tv, ti, orow, oi, lowest)
        elif mode_t is FastArg:
            if sw == 1:
                _column_pass(<ExactArg*>NULL, <UnitStride*>NULL, x0, rs, 1, n, W, base,
                             base_step, tv, ti)
            else:
                _column_pass(<ExactArg*>NULL, <AnyStride*>NULL, x0, rs, sw, n, W, base,
                             base_step, tv, ti)
            _row_pass(<ExactArg*>NULL, g, ww, tv, ti, orow, oi, lowest)
    if mode_t is FastArg:
        for ow in range(OW):
            irow[ow] = oi[ow]


# NOTE [ Pooling work order ]
# The kernels work one output row at a time.  When a plane's rows are its own memory (NCHW:
# the channel stride is not the smallest), a thread takes whole planes, in order.  When the
# channels are closer together than the columns (channels-last, e.g. a permuted NHWC
# tensor), a plane's row is a gather across the whole image, so a thread instead takes an
# output row (n, oh) and computes it for every channel: the input rows it gathers from
# (all channels of a few image rows) stay in cache from one channel to the next.
# Measured on 32x64x112x112 float32 NHWC memory, 3x3/s2 max pooling: 52 -> 21 ms.

cdef inline bint _row_order(const int64_t* xs) noexcept nogil:
    """NOTE [ Pooling work order ]: items are output rows (n, oh) rather than planes."""
    return (xs[1] if xs[1] >= 0 else -xs[1]) < (xs[3] if xs[3] >= 0 else -xs[3])


cdef void _max_item(const mode_t* mode, const PoolGeometry* g, const Windows* wh,
                    const Windows* ww, const max_t* x, const int64_t* xs, max_t* out,
                    int64_t* indices, int64_t item, bint row_order, max_t* tv, int32_t* ti,
                    int32_t* oi) noexcept nogil:
    """One work item (NOTE [ Pooling work order ]): plane `item`, or output row
    (n, oh) = divmod(item, OH) of every channel."""
    cdef int64_t plane_out = g.OH * g.OW, n, c, oh, o
    if row_order:
        n = item // g.OH
        oh = item % g.OH
        for c in range(g.C):
            o = (n * g.C + c) * plane_out + oh * g.OW
            _max_row(mode, g, wh, ww, x + n * xs[0] + c * xs[1], xs[2], xs[3], oh, out + o,
                     indices + o if indices != NULL else NULL, tv, ti, oi)
    else:
        n = item // g.C
        c = item % g.C
        for oh in range(g.OH):
            o = item * plane_out + oh * g.OW
            _max_row(mode, g, wh, ww, x + n * xs[0] + c * xs[1], xs[2], xs[3], oh, out + o,
                     indices + o if indices != NULL else NULL, tv, ti, oi)


# NOTE [ Max pooling 2x2 ]
# The general kernel works an output row at a time through scratch rows (columns first,
# NOTE [ Max pooling, columns first ]); on small planes (a small CNN's 8x8 or 4x4 maps) its
# per-row set-up costs more than the row: 64x16x8x8 float32 took ~1.4 ns an input element.
# The commonest window, 2x2 with stride 2 and no padding or dilation, over short rows with
# unit stride (W <= SMALL_ROW), instead takes a direct loop per plane: each output reads
# its four taps in row-major order with PyTorch's scan test (NOTE [ Max pooling ties and
# NaN ]), no scratch.  Measured (1 thread, float32, ms; general -> direct): 64x16x8x8 0.087
# -> 0.027, 64x32x4x4 0.082 -> 0.036.  With argmax indices the loop also tracks the
# winning tap's offset (0, 1, W, W + 1) (_max_plane_2x2_arg): by bit-selects, as a tree.
# A branch on the comparison mispredicts on random data (64x16x8x8: 0.120 ms), and the
# four taps scanned in a row make one long dependency chain (0.038).  F.max_pool2d(...,
# return_indices=True), 2 threads, ms, general kernel -> this: 64x16x8x8 0.106 -> 0.021,
# 64x32x4x4 0.170 -> 0.057, 32x32x16x16 0.254 -> 0.051.  Plane offsets skip their two
# divisions on NCHW input (_plane_offset): on 4x4 planes they cost more than the pooling.
# On large planes the general kernel's vectorized passes win (112x112: 22 vs 24-29 ms),
# hence the row limit.  Average pooling takes the same
# route for its 2x2/s2 windows (64x16x8x8: 0.124 -> 0.020 ms, 64x32x4x4 0.122 -> 0.027)
# and their gradient (64x16x8x8: 0.120 -> 0.031 ms).

cdef inline int64_t _plane_offset(const PoolGeometry* g, const int64_t* xs,
                                  int64_t p) noexcept nogil:
    """Offset of plane p = (n, c): without the two divisions when the planes are evenly
    spaced (NCHW), which on 4x4 planes cost more than pooling them."""
    if xs[0] == g.C * xs[1]:
        return p * xs[1]
    return (p // g.C) * xs[0] + (p % g.C) * xs[1]


cdef int64_t[4] _UNIT_ROW = [0, 0, 0, 1]     # _is_2x2's strides when only the window matters


cdef inline bint _is_2x2(const PoolGeometry* g, const int64_t* xs) noexcept nogil:
    return (not g.adaptive and g.kH == 2 and g.kW == 2 and g.sH == 2 and g.sW == 2
            and g.pH == 0 and g.pW == 0 and g.dH == 1 and g.dW == 1 and xs[3] == 1
            and 2 * g.OH <= g.H and 2 * g.OW <= g.W and g.W <= SMALL_ROW)


cdef void _max_plane_2x2(const max_t* x, int64_t sh, const PoolGeometry* g,
                         max_t* out) noexcept nogil:
    """NOTE [ Max pooling 2x2 ]: one plane (rows sh apart, unit column stride) into out
    (OH x OW, contiguous), values only."""
    cdef int64_t oh, ow, OW = g.OW
    cdef const max_t* a
    cdef const max_t* b
    cdef max_t m, v
    for oh in range(g.OH):
        a = x + 2 * oh * sh
        b = a + sh
        for ow in range(OW):
            m = a[2 * ow]
            v = a[2 * ow + 1]
            m = v if _gt(v, m) | _isnan(v) else m
            v = b[2 * ow]
            m = v if _gt(v, m) | _isnan(v) else m
            v = b[2 * ow + 1]
            m = v if _gt(v, m) | _isnan(v) else m
            out[oh * OW + ow] = m


cdef void _max_plane_2x2_arg(const max_t* x, int64_t sh, const PoolGeometry* g,
                             max_t* out, int64_t* ind) noexcept nogil:
    """_max_plane_2x2 with the argmax: each output's flat index in the plane.  The scan
    runs as a tree -- each row's pair, then the two winners -- which gives the scan's
    answer (the last NaN, else the first maximum) with a shorter dependency chain, and
    selects by bit operations (_select_i32's reason: a branch mispredicts on random data)."""
    cdef int64_t oh, ow, OW = g.OW, base
    cdef int32_t W = <int32_t>g.W, i, j
    cdef const max_t* a
    cdef const max_t* b
    cdef max_t m, n, v
    cdef bint t
    for oh in range(g.OH):
        a = x + 2 * oh * sh
        b = a + sh
        base = 2 * oh * g.W
        for ow in range(OW):
            m = a[2 * ow]
            v = a[2 * ow + 1]
            t = _gt(v, m) | _isnan(v)
            m = _select_max(t, v, m)
            i = <int32_t>t
            n = b[2 * ow]
            v = b[2 * ow + 1]
            t = _gt(v, n) | _isnan(v)
            n = _select_max(t, v, n)
            j = W + <int32_t>t
            t = _gt(n, m) | _isnan(n)
            out[oh * OW + ow] = _select_max(t, n, m)
            ind[oh * OW + ow] = base + 2 * ow + _select_i32(t, j, i)


cdef int max_pool2d_forward(const PoolGeometry* g, const max_t* x, const int64_t* xs,
                            max_t* out, int64_t* indices) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, items
    cdef int64_t tv_bytes = _aligned(g.W * sizeof(max_t)), ti_bytes = _aligned(g.W * 4)
    cdef int64_t per_thread = tv_bytes + ti_bytes + _aligned(g.OW * 4)
    cdef bint row_order = _row_order(xs)
    cdef int nt
    cdef char* scratch
    cdef char* mine
    cdef int64_t* block
    if planes == 0 or g.OH * g.OW == 0:
        return 0
    if indices != NULL and g.H * g.W > INT32_MAX:
        return -2
    items = g.N * g.OH if row_order else planes
    nt = num_threads_for(planes * g.H * g.W, GRAIN)
    if nt > items:
        nt = <int>items
    if _is_2x2(g, xs) and not row_order and indices == NULL:
        for p in prange(planes, num_threads=nt, schedule="static"):
            _max_plane_2x2(x + _plane_offset(g, xs, p), xs[2], g,
                           out + p * g.OH * g.OW)
        return 0
    if _is_2x2(g, xs) and not row_order:
        for p in prange(planes, num_threads=nt, schedule="static"):
            _max_plane_2x2_arg(x + _plane_offset(g, xs, p), xs[2], g,
                               out + p * g.OH * g.OW, indices + p * g.OH * g.OW)
        return 0
    block = _make_windows(g, &wh, &ww)
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if block == NULL or scratch == NULL:
        free(block)
        free(scratch)
        return -1
    for p in prange(items, num_threads=nt, schedule="static"):
        mine = _thread_scratch(scratch, per_thread)
        if indices != NULL:
            _max_item(<FastArg*>NULL, g, &wh, &ww, x, xs, out, indices, p, row_order,
                      <max_t*>mine, <int32_t*>(mine + tv_bytes),
                      <int32_t*>(mine + tv_bytes + ti_bytes))
        else:
            _max_item(<Fast*>NULL, g, &wh, &ww, x, xs, out, NULL, p, row_order,
                      <max_t*>mine, <int32_t*>(mine + tv_bytes),
                      <int32_t*>(mine + tv_bytes + ti_bytes))
    free(block)
    free(scratch)
    return 0


# --------------------------------------------------------------------------------------
# Max pooling, backward
# --------------------------------------------------------------------------------------

cdef int64_t _scatter_plane(const walk_t* walk, const max_t* gp, const int64_t* gs,
                           const int64_t* jp, const int64_t* js, int64_t OH, int64_t OW,
                           int64_t plane_in, max_t* dst) noexcept nogil:
    """dst[jp[o]] += gp[o] over one plane's outputs o (walk UnitStride: both rows
    contiguous); returns the number of indices outside [0, plane_in) other than -1."""
    cdef int64_t oh, ow, i, bad = 0, gsw = gs[3], jsw = js[3]
    cdef const max_t* grow
    cdef const int64_t* jrow
    if walk_t is UnitStride:
        gsw = 1
        jsw = 1
    for oh in range(OH):
        grow = gp + oh * gs[2]
        jrow = jp + oh * js[2]
        for ow in range(OW):
            i = jrow[ow * jsw]
            if <uint64_t>i < <uint64_t>plane_in:
                dst[i] += grow[ow * gsw]
            elif i != -1:
                bad += 1
    return bad


cdef int64_t max_pool2d_backward(const PoolGeometry* g,
                                 const max_t* grad_out, const int64_t* gs,
                                 const int64_t* indices, const int64_t* js,
                                 max_t* grad_in) noexcept nogil:
    cdef int64_t planes = g.N * g.C, plane_in = g.H * g.W, p, bad = 0
    cdef int nt
    cdef bint unit = gs[3] == 1 and js[3] == 1
    cdef const max_t* gp
    cdef const int64_t* jp
    cdef max_t* dst
    if planes == 0:
        return 0
    nt = num_threads_for(planes * (plane_in + g.OH * g.OW), GRAIN)
    if nt > planes:
        nt = <int>planes
    for p in prange(planes, num_threads=nt, schedule="static"):
        # zeroing the plane here, while it is in cache, saves a pass over grad_in
        dst = grad_in + p * plane_in
        memset(dst, 0, plane_in * sizeof(max_t))
        gp = grad_out + (p // g.C) * gs[0] + (p % g.C) * gs[1]
        jp = indices + (p // g.C) * js[0] + (p % g.C) * js[1]
        if unit:
            bad += _scatter_plane(<UnitStride*>NULL, gp, gs, jp, js, g.OH, g.OW, plane_in, dst)
        else:
            bad += _scatter_plane(<AnyStride*>NULL, gp, gs, jp, js, g.OH, g.OW, plane_in, dst)
    return bad


# --------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------
#
# NOTE [ Average pooling order ]
# PyTorch sums a window from 0 in row-major order and divides: out = sum / divisor
# (avg_pool2d) or sum / kh / kw (adaptive_avg_pool2d).  The forward kernel does the same
# for every output, so its results are PyTorch's to the bit; it is vectorized over the
# outputs of a row, not over a window.  The backward kernel
# spreads grad/divisor over each window; where windows overlap, its order of additions
# differs from PyTorch's (results agree to rounding).

@cython.cdivision(True)
cdef inline avg_t _divide(avg_t s, int64_t d) noexcept nogil:
    if avg_t is int64_t:
        return s // d               # C division (cdivision): truncates toward zero, as PyTorch
    else:
        return s / <avg_t>d


cdef inline int64_t _divisor(const PoolGeometry* g, int64_t fh, int64_t fw) noexcept nogil:
    return g.divisor_override if g.divisor_override != 0 else fh * fw


cdef inline avg_t _average(const PoolGeometry* g, avg_t s, int64_t fh, int64_t fw) noexcept nogil:
    """s over the window's divisor, rounded as PyTorch does: its adaptive kernels divide
    twice (s / kh / kw), its avg_pool2d once."""
    if g.adaptive:
        return _divide(_divide(s, fh), fw)
    return _divide(s, _divisor(g, fh, fw))


cdef void _avg_interior(const walk_t* walk, const avg_t* x0, int64_t rs, int64_t n,
                        int64_t sw, int64_t lo, int64_t hi, int64_t S, int64_t k, int64_t p,
                        int64_t q, avg_t* orow) noexcept nogil:
    """orow[o] = (sum over rows j < n, taps kw < k of x0[j*rs + (o*S - p + kw)*sw]) / q for
    o in [lo, hi), summed in that order from 0; vectorized over o."""
    cdef int64_t o, j, kw, off
    cdef const avg_t* row
    if walk_t is UnitStride:
        S = 1
        sw = 1
    elif walk_t is DoubleStride:
        S = 2
        sw = 1
    for o in range(lo, hi):
        orow[o] = 0
    for j in range(n):
        row = x0 + j * rs
        for kw in range(k):
            off = kw - p
            for o in range(lo, hi):
                orow[o] += row[(o * S + off) * sw]
    for o in range(lo, hi):
        orow[o] = _divide(orow[o], q)


cdef void _avg_row(const PoolGeometry* g, const Windows* wh, const Windows* ww,
                   const avg_t* xp, int64_t sh, int64_t sw, int64_t oh,
                   avg_t* orow) noexcept nogil:
    """Output row oh of the plane at xp into orow (OW, contiguous)."""
    cdef int64_t OW = g.OW, ow, n = wh.count[oh], q, lo = ww.lo, hi = ww.hi, S = g.sW
    cdef const avg_t* x0 = xp + wh.start[oh] * sh
    if n == 0:
        for ow in range(OW):
            orow[ow] = 0
        return
    if hi > lo:
        q = _divisor(g, wh.div[oh], g.kW)
        if sw == 1 and S == 1:
            _avg_interior(<UnitStride*>NULL, x0, sh, n, 1, lo, hi, 1, g.kW, g.pW, q, orow)
        elif sw == 1 and S == 2:
            _avg_interior(<DoubleStride*>NULL, x0, sh, n, 1, lo, hi, 2, g.kW, g.pW, q, orow)
        else:
            _avg_interior(<AnyStride*>NULL, x0, sh, n, sw, lo, hi, S, g.kW, g.pW, q, orow)
    else:
        lo = hi = OW
    for ow in range(lo):
        orow[ow] = _avg_window(g, ww, x0, sh, sw, n, wh.div[oh], ow)
    for ow in range(hi, OW):
        orow[ow] = _avg_window(g, ww, x0, sh, sw, n, wh.div[oh], ow)


cdef inline avg_t _avg_window(const PoolGeometry* g, const Windows* ww, const avg_t* x0,
                              int64_t sh, int64_t sw, int64_t n, int64_t fh,
                              int64_t ow) noexcept nogil:
    """One output of an output row whose window rows start at x0 (n of them)."""
    cdef int64_t j, t, m = ww.count[ow], c = ww.start[ow]
    cdef avg_t s = 0
    cdef const avg_t* row
    if m == 0:
        return 0
    for j in range(n):
        row = x0 + j * sh
        for t in range(m):
            s = s + row[(c + t) * sw]
    return _average(g, s, fh, ww.div[ow])


cdef void _avg_plane_2x2(const avg_t* x, int64_t sh, const PoolGeometry* g,
                         avg_t* out) noexcept nogil:
    """NOTE [ Max pooling 2x2 ], for averages: one plane's 2x2/s2 windows (no padding, so
    the divisor is 4 or divisor_override), each summed from 0 in row-major order and
    divided as the general kernel does (NOTE [ Average pooling order ])."""
    cdef int64_t oh, ow, OW = g.OW, d = _divisor(g, 2, 2)
    cdef const avg_t* a
    cdef const avg_t* b
    cdef avg_t acc
    for oh in range(g.OH):
        a = x + 2 * oh * sh
        b = a + sh
        for ow in range(OW):
            acc = 0
            acc = acc + a[2 * ow]
            acc = acc + a[2 * ow + 1]
            acc = acc + b[2 * ow]
            acc = acc + b[2 * ow + 1]
            out[oh * OW + ow] = _divide(acc, d)


cdef int avg_pool2d_forward(const PoolGeometry* g, const avg_t* x, const int64_t* xs,
                            avg_t* out) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, plane_out = g.OH * g.OW, items, n, c, oh
    cdef bint row_order = _row_order(xs)
    cdef int nt
    cdef int64_t* block
    if planes == 0 or plane_out == 0:
        return 0
    items = g.N * g.OH if row_order else planes
    nt = num_threads_for(planes * g.H * g.W, GRAIN)
    if nt > items:
        nt = <int>items
    if _is_2x2(g, xs) and not row_order:
        for p in prange(planes, num_threads=nt, schedule="static"):
            _avg_plane_2x2(x + _plane_offset(g, xs, p), xs[2], g,
                           out + p * plane_out)
        return 0
    block = _make_windows(g, &wh, &ww)
    if block == NULL:
        return -1
    for p in prange(items, num_threads=nt, schedule="static"):
        if row_order:                    # NOTE [ Pooling work order ]
            n = p // g.OH
            oh = p % g.OH
            for c in range(g.C):
                _avg_row(g, &wh, &ww, x + n * xs[0] + c * xs[1], xs[2], xs[3], oh,
                         out + (n * g.C + c) * plane_out + oh * g.OW)
        else:
            n = p // g.C
            c = p % g.C
            for oh in range(g.OH):
                _avg_row(g, &wh, &ww, x + n * xs[0] + c * xs[1], xs[2], xs[3], oh,
                         out + p * plane_out + oh * g.OW)
    free(block)
    return 0


cdef void _spread_interior(const walk_t* walk, const avg_t* q, int64_t lo, int64_t hi,
                           int64_t S, int64_t k, int64_t p, avg_t* tv) noexcept nogil:
    """tv[o*S - p + kw] += q[o] for o in [lo, hi), kw < k (walk: S = 1, 2 or any)."""
    cdef int64_t o, kw, off
    if walk_t is UnitStride:
        S = 1
    elif walk_t is DoubleStride:
        S = 2
    for kw in range(k):
        off = kw - p
        for o in range(lo, hi):
            tv[o * S + off] += q[o]


cdef void _divide_row(const walk_t* walk, const avg_t* grow, int64_t gsw, int64_t lo,
                      int64_t hi, int64_t d, avg_t* q) noexcept nogil:
    """q[o] = grow[o*gsw] / d for o in [lo, hi) (walk UnitStride: gsw == 1, vectorized)."""
    cdef int64_t o
    if walk_t is UnitStride:
        gsw = 1
    for o in range(lo, hi):
        q[o] = _divide(grow[o * gsw], d)


cdef void _avg_plane_backward(const PoolGeometry* g, const Windows* wh, const Windows* ww,
                              const avg_t* gp, int64_t gsh, int64_t gsw, avg_t* dst,
                              avg_t* tv, avg_t* q) noexcept nogil:
    """dst (H x W, contiguous) = the gradient of one plane.  Per output row: q[ow] =
    grad/divisor, spread over the columns of each window into tv, and tv added to the
    window's rows.  Rows are written, not added to, the first time they are reached
    (window starts never decrease), so dst needs no zeroing pass."""
    cdef int64_t W = g.W, OW = g.OW, oh, ow, j, t, w, n, m, c, h, filled = 0
    cdef int64_t lo = ww.lo, hi = ww.hi, S = g.sW
    cdef avg_t* row
    cdef const avg_t* grow
    if hi <= lo:
        lo = hi = OW
    for oh in range(g.OH):
        n = wh.count[oh]
        if n == 0:
            continue
        grow = gp + oh * gsh
        # q: the interior shares one divisor (full windows along W), the border its own
        if hi > lo:
            if gsw == 1:
                _divide_row(<UnitStride*>NULL, grow, 1, lo, hi,
                            _divisor(g, wh.div[oh], g.kW), q)
            else:
                _divide_row(<AnyStride*>NULL, grow, gsw, lo, hi,
                            _divisor(g, wh.div[oh], g.kW), q)
        for ow in range(lo):
            q[ow] = _average(g, grow[ow * gsw], wh.div[oh], ww.div[ow])
        for ow in range(hi, OW):
            q[ow] = _average(g, grow[ow * gsw], wh.div[oh], ww.div[ow])
        # tv: q spread over the columns of the windows
        memset(tv, 0, W * sizeof(avg_t))
        if hi > lo:
            if S == 1:
                _spread_interior(<UnitStride*>NULL, q, lo, hi, 1, g.kW, g.pW, tv)
            elif S == 2:
                _spread_interior(<DoubleStride*>NULL, q, lo, hi, 2, g.kW, g.pW, tv)
            else:
                _spread_interior(<AnyStride*>NULL, q, lo, hi, S, g.kW, g.pW, tv)
        for ow in range(OW):
            if lo <= ow < hi:
                continue
            m = ww.count[ow]
            c = ww.start[ow]
            for t in range(m):
                tv[c + t * ww.step] += q[ow]
        # the window's rows
        h = wh.start[oh]
        for j in range(n):
            row = dst + h * W
            if h < filled:
                for w in range(W):
                    row[w] += tv[w]
            else:
                if h > filled:
                    memset(dst + filled * W, 0, (h - filled) * W * sizeof(avg_t))
                memcpy(row, tv, W * sizeof(avg_t))
                filled = h + 1
            h += wh.step
    if filled < g.H:
        memset(dst + filled * W, 0, (g.H - filled) * W * sizeof(avg_t))


cdef void _avg_plane_2x2_backward(const avg_t* gp, int64_t gsh, int64_t gsw,
                                  const PoolGeometry* g, avg_t* dst) noexcept nogil:
    """The gradient of _avg_plane_2x2 (dst: H x W, contiguous): each window's four taps get
    0 + grad / divisor, as the general backward writes them (so -0.0 becomes +0.0); rows or
    columns no window covers (odd H, W) get 0."""
    cdef int64_t oh, ow, W = g.W, d = _divisor(g, 2, 2)
    cdef avg_t q, zero = 0
    cdef avg_t* r
    memset(dst, 0, g.H * W * sizeof(avg_t))
    for oh in range(g.OH):
        for ow in range(g.OW):
            q = zero + _divide(gp[oh * gsh + ow * gsw], d)
            r = dst + 2 * oh * W + 2 * ow
            r[0] = q
            r[1] = q
            r[W] = q
            r[W + 1] = q


cdef int avg_pool2d_backward(const PoolGeometry* g, const avg_t* grad_out, const int64_t* gs,
                             avg_t* grad_in) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, plane_in = g.H * g.W
    cdef int64_t tv_bytes = _aligned(g.W * sizeof(avg_t))
    cdef int64_t per_thread = tv_bytes + _aligned(g.OW * sizeof(avg_t))
    cdef int nt
    cdef char* scratch
    cdef char* mine
    cdef int64_t* block
    if planes == 0:
        return 0
    nt = num_threads_for(planes * (plane_in + g.OH * g.OW), GRAIN)
    if nt > planes:
        nt = <int>planes
    if _is_2x2(g, _UNIT_ROW):
        for p in prange(planes, num_threads=nt, schedule="static"):
            _avg_plane_2x2_backward(grad_out + (p // g.C) * gs[0] + (p % g.C) * gs[1],
                                    gs[2], gs[3], g, grad_in + p * plane_in)
        return 0
    block = _make_windows(g, &wh, &ww)
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if block == NULL or scratch == NULL:
        free(block)
        free(scratch)
        return -1
    for p in prange(planes, num_threads=nt, schedule="static"):
        mine = _thread_scratch(scratch, per_thread)
        _avg_plane_backward(g, &wh, &ww, grad_out + (p // g.C) * gs[0] + (p % g.C) * gs[1],
                            gs[2], gs[3], grad_in + p * plane_in, <avg_t*>mine,
                            <avg_t*>(mine + tv_bytes))
    free(block)
    free(scratch)
    return 0
