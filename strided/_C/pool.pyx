"""Pooling kernels: max (with argmax indices) and average, fixed or adaptive windows.

The contracts are in pool.pxd.  Every kernel walks the N*C planes in parallel and, within a
plane, works separably, one output row at a time:

    1. column pass: tv[w] = reduce over the window's rows h of x[h, w], for every column w
       (a contiguous, branch-free loop over w when the input rows are contiguous);
    2. row pass:    out[oh, ow] = reduce over the window's columns w of tv[w].

Max and sum are associative, so the separable order gives the same maximum as a direct
window scan; for the argmax to be PyTorch's as well, the row pass combines candidates with
the order-independent rule of NOTE [ Max pooling ties and NaN ].
"""
cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int64_t, int32_t, uint8_t, uint64_t, INT32_MIN, INT64_MIN, INT32_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from strided._C.threads cimport num_threads_for

cdef enum:
    GRAIN = 1 << 15          # input elements per thread below which a thread is not worth it
    ALIGN = 64


# NOTE [ Max pooling ties and NaN ]
# PyTorch scans a window in row-major order, starting from (-inf, index of the first tap),
# and takes a tap when `v > max or isnan(v)`.  So the result is the LAST NaN in scan order
# when the window has a NaN, else the FIRST tap holding the maximum.  As a rule on
# (value, flat index) pairs that needs no scan order:
#     a NaN beats every number; of two NaNs the larger index wins;
#     of two numbers the larger wins; of two equal numbers the smaller index wins.
# The rule is associative and commutative, so the column pass may reduce each column in
# row order with PyTorch's own test (rows come in increasing index order) and the row pass
# may then combine the column winners in any order -- it must use the full rule, because a
# column winner to the right can come from an earlier row.  Integer types have no NaN
# (`v != v` is constant false and compiles away).

cdef struct Windows:
    # One axis of the window table (NOTE [ Pooling windows ] in pool.pxd), per output index o:
    int64_t* start       # first tap inside the input
    int64_t* count       # number of taps inside the input (0: empty window)
    int64_t* div         # average divisor factor along this axis
    int64_t step         # distance between taps (dilation; 1 for adaptive windows)
    int64_t lo, hi       # outputs in [lo, hi) have all k taps inside (fixed windows only)


cdef void _fixed_windows(Windows* win, int64_t O, int64_t L, int64_t k, int64_t s, int64_t p,
                         int64_t d, bint count_include_pad) noexcept nogil:
    cdef int64_t o, lo, j0, j1
    win.step = d
    win.lo = O
    win.hi = 0
    for o in range(O):
        lo = o * s - p                                   # tap 0, maybe in the padding
        j0 = 0 if lo >= 0 else (-lo + d - 1) // d        # first tap >= 0
        j1 = 0 if L <= lo else (L - lo + d - 1) // d     # taps below L
        if j1 > k:
            j1 = k
        win.start[o] = lo + j0 * d
        win.count[o] = j1 - j0 if j1 > j0 else 0
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
    for o in range(O):
        a = (o * L) // O
        b = ((o + 1) * L + O - 1) // O
        win.start[o] = a
        win.count[o] = b - a
        win.div[o] = b - a


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


cdef inline bint _isnan(max_t v) noexcept nogil:
    if max_t is float or max_t is double:
        return v != v
    else:
        return False


# --------------------------------------------------------------------------------------
# Max pooling, forward
# --------------------------------------------------------------------------------------

cdef inline void _column_max(const max_t* x0, int64_t rs, int64_t sw, int64_t n, int64_t W,
                             max_t* tv) noexcept nogil:
    """tv[w] = NaN-propagating max over j < n of x0[j*rs + w*sw]."""
    cdef int64_t j, w
    cdef const max_t* row
    cdef max_t v, a
    if sw == 1:
        for w in range(W):
            tv[w] = x0[w]
        for j in range(1, n):
            row = x0 + j * rs
            for w in range(W):
                v = row[w]
                a = tv[w]
                tv[w] = v if (v > a) | _isnan(v) else a
    else:
        for w in range(W):
            tv[w] = x0[w * sw]
        for j in range(1, n):
            row = x0 + j * rs
            for w in range(W):
                v = row[w * sw]
                a = tv[w]
                tv[w] = v if (v > a) | _isnan(v) else a


cdef inline void _column_argmax(const max_t* x0, int64_t rs, int64_t sw, int64_t n, int64_t W,
                                int32_t base, int32_t base_step, max_t* tv,
                                int32_t* ti) noexcept nogil:
    """_column_max plus ti[w] = flat index of the winner: rows come in increasing order, so
    PyTorch's scan test (v > max or isnan(v)) picks its winner.  Tap j of column w has
    flat index base + j*base_step + w."""
    cdef int64_t j, w
    cdef const max_t* row
    cdef max_t v, a
    cdef bint take
    if sw == 1:
        for w in range(W):
            tv[w] = x0[w]
            ti[w] = base + <int32_t>w
        for j in range(1, n):
            row = x0 + j * rs
            base += base_step
            for w in range(W):
                v = row[w]
                a = tv[w]
                take = (v > a) | _isnan(v)
                tv[w] = v if take else a
                ti[w] = base + <int32_t>w if take else ti[w]
    else:
        for w in range(W):
            tv[w] = x0[w * sw]
            ti[w] = base + <int32_t>w
        for j in range(1, n):
            row = x0 + j * rs
            base += base_step
            for w in range(W):
                v = row[w * sw]
                a = tv[w]
                take = (v > a) | _isnan(v)
                tv[w] = v if take else a
                ti[w] = base + <int32_t>w if take else ti[w]


cdef inline bint _beats(max_t v, int32_t vi, max_t a, int32_t ai) noexcept nogil:
    """(v, vi) wins over (a, ai) by NOTE [ Max pooling ties and NaN ]."""
    return (v > a) | (_isnan(v) & ((not _isnan(a)) | (vi > ai))) | ((v == a) & (vi < ai))


cdef inline void _interior_max(const max_t* tv, int64_t lo, int64_t hi, int64_t S, int64_t k,
                               int64_t d, int64_t p, max_t* orow) noexcept nogil:
    """orow[o] = max over kw < k of tv[o*S - p + kw*d] for o in [lo, hi) (all taps valid).
    Inlined with S = 1 or 2 as a constant, so the o loop vectorizes."""
    cdef int64_t o, kw, off
    cdef max_t v, a
    for o in range(lo, hi):
        orow[o] = tv[o * S - p]
    for kw in range(1, k):
        off = kw * d - p
        for o in range(lo, hi):
            v = tv[o * S + off]
            a = orow[o]
            orow[o] = v if (v > a) | _isnan(v) else a


cdef inline void _interior_argmax(const max_t* tv, const int32_t* ti, int64_t lo, int64_t hi,
                                  int64_t S, int64_t k, int64_t d, int64_t p, max_t* orow,
                                  int32_t* oi) noexcept nogil:
    cdef int64_t o, kw, off
    cdef max_t v, a
    cdef int32_t vi, ai
    cdef bint take
    for o in range(lo, hi):
        orow[o] = tv[o * S - p]
        oi[o] = ti[o * S - p]
    for kw in range(1, k):
        off = kw * d - p
        for o in range(lo, hi):
            v = tv[o * S + off]
            vi = ti[o * S + off]
            a = orow[o]
            ai = oi[o]
            take = _beats(v, vi, a, ai)
            orow[o] = v if take else a
            oi[o] = vi if take else ai


cdef void _max_plane(const PoolGeometry* g, const Windows* wh, const Windows* ww,
                     const max_t* xp, int64_t sh, int64_t sw, max_t* op, int64_t* ip,
                     max_t* tv, int32_t* ti, int32_t* oi) noexcept nogil:
    """One (n, c) plane: op (OH x OW, contiguous) and, when ip != NULL, its argmax."""
    cdef int64_t W = g.W, OW = g.OW, oh, ow, j, n, c
    cdef max_t lowest = _lowest(xp), v, a
    cdef int32_t vi, ai
    cdef max_t* orow
    cdef int64_t* irow
    for oh in range(g.OH):
        orow = op + oh * OW
        irow = ip + oh * OW if ip != NULL else NULL
        n = wh.count[oh]
        if n == 0:
            for ow in range(OW):
                orow[ow] = lowest
                if irow != NULL:
                    irow[ow] = -1
            continue
        # 1. column pass over the window's rows
        if ip == NULL:
            _column_max(xp + wh.start[oh] * sh, wh.step * sh, sw, n, W, tv)
        else:
            _column_argmax(xp + wh.start[oh] * sh, wh.step * sh, sw, n, W,
                           <int32_t>(wh.start[oh] * W), <int32_t>(wh.step * W), tv, ti)
        # 2. row pass: interior outputs (every tap inside) vectorized, the rest one by one
        if ww.hi > ww.lo:
            if ip == NULL:
                if g.sW == 1:
                    _interior_max(tv, ww.lo, ww.hi, 1, g.kW, ww.step, g.pW, orow)
                elif g.sW == 2:
                    _interior_max(tv, ww.lo, ww.hi, 2, g.kW, ww.step, g.pW, orow)
                else:
                    _interior_max(tv, ww.lo, ww.hi, g.sW, g.kW, ww.step, g.pW, orow)
            else:
                if g.sW == 1:
                    _interior_argmax(tv, ti, ww.lo, ww.hi, 1, g.kW, ww.step, g.pW, orow, oi)
                elif g.sW == 2:
                    _interior_argmax(tv, ti, ww.lo, ww.hi, 2, g.kW, ww.step, g.pW, orow, oi)
                else:
                    _interior_argmax(tv, ti, ww.lo, ww.hi, g.sW, g.kW, ww.step, g.pW, orow, oi)
        for ow in range(OW):
            if ww.lo <= ow < ww.hi:
                continue
            n = ww.count[ow]
            if n == 0:
                orow[ow] = lowest
                oi[ow] = -1
                continue
            c = ww.start[ow]
            a = tv[c]
            if ip == NULL:
                for j in range(1, n):
                    v = tv[c + j * ww.step]
                    a = v if (v > a) | _isnan(v) else a
            else:
                ai = ti[c]
                for j in range(1, n):
                    v = tv[c + j * ww.step]
                    vi = ti[c + j * ww.step]
                    if _beats(v, vi, a, ai):
                        a = v
                        ai = vi
                oi[ow] = ai
            orow[ow] = a
        if irow != NULL:
            for ow in range(OW):
                irow[ow] = oi[ow]


cdef int max_pool2d_forward(const PoolGeometry* g, const max_t* x, const int64_t* xs,
                            max_t* out, int64_t* indices) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, plane_out = g.OH * g.OW
    cdef int64_t tv_bytes = _aligned(g.W * sizeof(max_t)), ti_bytes = _aligned(g.W * 4)
    cdef int64_t per_thread = tv_bytes + ti_bytes + _aligned(g.OW * 4)
    cdef int nt
    cdef char* scratch
    cdef char* mine
    cdef int64_t* block
    if planes == 0 or plane_out == 0:
        return 0
    if indices != NULL and g.H * g.W > INT32_MAX:
        return -2
    nt = num_threads_for(planes * g.H * g.W, GRAIN)
    if nt > planes:
        nt = <int>planes
    block = _make_windows(g, &wh, &ww)
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if block == NULL or scratch == NULL:
        free(block)
        free(scratch)
        return -1
    for p in prange(planes, num_threads=nt, schedule="static"):
        mine = <char*>(_aligned(<int64_t>scratch)) + threadid() * per_thread
        _max_plane(g, &wh, &ww, x + (p // g.C) * xs[0] + (p % g.C) * xs[1], xs[2], xs[3],
                   out + p * plane_out, indices + p * plane_out if indices != NULL else NULL,
                   <max_t*>mine, <int32_t*>(mine + tv_bytes),
                   <int32_t*>(mine + tv_bytes + ti_bytes))
    free(block)
    free(scratch)
    return 0


# --------------------------------------------------------------------------------------
# Max pooling, backward
# --------------------------------------------------------------------------------------

cdef int64_t max_pool2d_backward(const PoolGeometry* g,
                                 const max_t* grad_out, const int64_t* gs,
                                 const int64_t* indices, const int64_t* js,
                                 max_t* grad_in) noexcept nogil:
    cdef int64_t planes = g.N * g.C, plane_in = g.H * g.W, p, oh, ow, i, bad = 0
    cdef int nt
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
        for oh in range(g.OH):
            for ow in range(g.OW):
                i = jp[oh * js[2] + ow * js[3]]
                if <uint64_t>i < <uint64_t>plane_in:
                    dst[i] = dst[i] + gp[oh * gs[2] + ow * gs[3]]
                elif i != -1:
                    bad += 1
    return bad


# --------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------

cdef inline void _column_sum(const avg_t* x0, int64_t rs, int64_t sw, int64_t n, int64_t W,
                             avg_t* tv) noexcept nogil:
    """tv[w] = sum over j < n of x0[j*rs + w*sw]."""
    cdef int64_t j, w
    cdef const avg_t* row
    if sw == 1:
        for w in range(W):
            tv[w] = x0[w]
        for j in range(1, n):
            row = x0 + j * rs
            for w in range(W):
                tv[w] += row[w]
    else:
        for w in range(W):
            tv[w] = x0[w * sw]
        for j in range(1, n):
            row = x0 + j * rs
            for w in range(W):
                tv[w] += row[w * sw]


@cython.cdivision(True)
cdef inline avg_t _divide(avg_t s, int64_t d) noexcept nogil:
    if avg_t is int64_t:
        return s // d               # C division (cdivision): truncates toward zero, as PyTorch
    else:
        return s / <avg_t>d


cdef inline int64_t _divisor(const PoolGeometry* g, int64_t fh, int64_t fw) noexcept nogil:
    return g.divisor_override if g.divisor_override != 0 else fh * fw


cdef void _avg_plane(const PoolGeometry* g, const Windows* wh, const Windows* ww,
                     const avg_t* xp, int64_t sh, int64_t sw, avg_t* op,
                     avg_t* tv) noexcept nogil:
    cdef int64_t W = g.W, OW = g.OW, oh, ow, j, n, m, c
    cdef avg_t s
    cdef avg_t* orow
    for oh in range(g.OH):
        orow = op + oh * OW
        n = wh.count[oh]
        if n == 0:
            for ow in range(OW):
                orow[ow] = 0
            continue
        _column_sum(xp + wh.start[oh] * sh, wh.step * sh, sw, n, W, tv)
        for ow in range(OW):
            m = ww.count[ow]
            if m == 0:
                orow[ow] = 0
                continue
            c = ww.start[ow]
            s = tv[c]
            for j in range(1, m):
                s = s + tv[c + j * ww.step]
            orow[ow] = _divide(s, _divisor(g, wh.div[oh], ww.div[ow]))


cdef int avg_pool2d_forward(const PoolGeometry* g, const avg_t* x, const int64_t* xs,
                            avg_t* out) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, plane_out = g.OH * g.OW
    cdef int64_t per_thread = _aligned(g.W * sizeof(avg_t))
    cdef int nt
    cdef char* scratch
    cdef int64_t* block
    if planes == 0 or plane_out == 0:
        return 0
    nt = num_threads_for(planes * g.H * g.W, GRAIN)
    if nt > planes:
        nt = <int>planes
    block = _make_windows(g, &wh, &ww)
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if block == NULL or scratch == NULL:
        free(block)
        free(scratch)
        return -1
    for p in prange(planes, num_threads=nt, schedule="static"):
        _avg_plane(g, &wh, &ww, x + (p // g.C) * xs[0] + (p % g.C) * xs[1], xs[2], xs[3],
                   out + p * plane_out,
                   <avg_t*>(<char*>(_aligned(<int64_t>scratch)) + threadid() * per_thread))
    free(block)
    free(scratch)
    return 0


cdef void _avg_plane_backward(const PoolGeometry* g, const Windows* wh, const Windows* ww,
                              const avg_t* gp, int64_t gsh, int64_t gsw, avg_t* dst,
                              avg_t* tv) noexcept nogil:
    """dst (H x W, contiguous) = the gradient of one plane: per output row, spread its
    gradients over the columns of their windows into tv, then add tv to the window's rows."""
    cdef int64_t W = g.W, oh, ow, j, w, n, m, c
    cdef avg_t q
    cdef avg_t* row
    memset(dst, 0, g.H * W * sizeof(avg_t))
    for oh in range(g.OH):
        n = wh.count[oh]
        if n == 0:
            continue
        memset(tv, 0, W * sizeof(avg_t))
        for ow in range(g.OW):
            m = ww.count[ow]
            c = ww.start[ow]
            q = _divide(gp[oh * gsh + ow * gsw], _divisor(g, wh.div[oh], ww.div[ow]))
            for j in range(m):
                tv[c + j * ww.step] += q
        row = dst + wh.start[oh] * W
        for j in range(n):
            for w in range(W):
                row[w] += tv[w]
            row += wh.step * W


cdef int avg_pool2d_backward(const PoolGeometry* g, const avg_t* grad_out, const int64_t* gs,
                             avg_t* grad_in) noexcept nogil:
    cdef Windows wh, ww
    cdef int64_t planes = g.N * g.C, p, plane_in = g.H * g.W
    cdef int64_t per_thread = _aligned(g.W * sizeof(avg_t))
    cdef int nt
    cdef char* scratch
    cdef int64_t* block
    if planes == 0:
        return 0
    nt = num_threads_for(planes * (plane_in + g.OH * g.OW), GRAIN)
    if nt > planes:
        nt = <int>planes
    block = _make_windows(g, &wh, &ww)
    scratch = <char*>malloc(nt * per_thread + ALIGN)
    if block == NULL or scratch == NULL:
        free(block)
        free(scratch)
        return -1
    for p in prange(planes, num_threads=nt, schedule="static"):
        _avg_plane_backward(g, &wh, &ww, grad_out + (p // g.C) * gs[0] + (p % g.C) * gs[1],
                            gs[2], gs[3], grad_in + p * plane_in,
                            <avg_t*>(<char*>(_aligned(<int64_t>scratch))
                                     + threadid() * per_thread))
    free(block)
    free(scratch)
    return 0
