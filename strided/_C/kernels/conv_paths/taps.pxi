# Included by strided/_C/kernels/conv.pyx (one extension module): the forward over column
# taps (PATH_TAPS).

# NOTE [ Column taps for strided convolutions ]
# With stride sW > 1 the phase layout (NOTE [ Convolution over the padded image ]) leaves
# Wh - OW extra positions per output row (1 in 29 for 3x3 stride 2 on 56x56), computed and
# then dropped by a second pass over the result.  Here each column tap s gets its own copy
# instead, as wide as the output:
#
#     xt[s, a, c, i, j] = xpad[c, i*sH + a, j*sW + s*dW]      ((S, sH, C, Hh, OW))
#
# so with r*dH = qr*sH + a, col's row (c, r, s) is the run xt[s, a, c, qr:, :] flattened,
# output positions are oh*OW + ow with no gaps, and the GEMM writes out in place in full
# NR-column tiles.  The copy is S*OW / (sW*Wh) times the phase layout's (1.45 for 3x3
# stride 2; ~S for stride 1, where it pays only on layers with many output channels: each
# copied element feeds Kg multiply-adds, _taps_auto), so it is made in cache: out[n] is
# computed a band of output rows at a time and, within a band, a chunk of channels at a time -- copy the chunk's rows of xt that
# the band reads (a few KB), then add their K block's product into the band of out
# (gemm_offset_b_block, A packed once per call: NOTE [ Offset-B block with packed A ]).
# The copy stays in L1/L2 and so does the band of out.  Bands of all images are shared
# out among the threads, so one image keeps both busy.  While a chunk is copied, the next
# chunk's input rows are prefetched: a band reads short runs of each channel, too short
# for the hardware prefetcher (without it the copy stalled on them).
# Against the phase layout, the extra columns, their compaction and packing A per image are
# gone.  Band and chunk sizes are band_positions and chunk_taps (NOTE [ Convolution
# thresholds ]); usable wherever the offset path is (any convolution but a pointwise one,
# within NOTE [ Workspace bounded by the output ]).


cdef inline int64_t _band_rows(const ConvGeometry* g) noexcept nogil:
    """Output rows per band."""
    return max(1, min(g.OH, _T.band_positions // g.OW))


cdef inline int64_t _band_phase_rows(const ConvGeometry* g) noexcept nogil:
    """Rows i of xt a band reads: its output rows plus the reach of the kernel's taps."""
    return _band_rows(g) + ((g.R - 1) * g.dH) // g.sH


cdef inline int64_t _tap_channels(const ConvGeometry* g) noexcept nogil:
    """Channels per chunk."""
    return max(1, min(g.Cg, _T.chunk_taps // (g.R * g.S)))


cdef inline int64_t _tap_band_elems(const ConvGeometry* g, int64_t tail) noexcept nogil:
    """Elements of a band's chunk of xt, `tail` trailing zeros (the offset-B kernel's
    reach), rounded up to 16 (64 bytes of float32)."""
    return (g.S * g.sH * _tap_channels(g) * _band_phase_rows(g) * g.OW + tail + 15) // 16 * 16


cdef bint _taps_auto(const ConvGeometry* g) noexcept nogil:
    """Column taps rather than the phase layout (or packing B) for the forward pass, when
    the offset path is taken (_offset_auto with taps): each copied element must feed
    enough multiply-adds and the copy grow by at most (sW + S - 1)/sW -- stride > 1: Kg >=
    taps_strided_min_kg, Cg >= taps_min_cg, S <= sW + taps_strided_extra_s; stride 1 (the
    copy is S times the image's): Kg >= taps_stride1_min_kg, Cg >= taps_min_cg, S <=
    taps_stride1_max_s (NOTE [ Convolution thresholds ])."""
    if g.Cg < _T.taps_min_cg:
        return False
    if g.sW == 1:
        return g.Kg >= _T.taps_stride1_min_kg and g.S <= _T.taps_stride1_max_s
    return g.S <= g.sW + _T.taps_strided_extra_s and g.Kg >= _T.taps_strided_min_kg


cdef size_t _taps_scratch(const ConvGeometry* g, int dtype, int nt) noexcept nogil:
    """Bytes _forward_taps needs: the row offsets, A packed, then per thread a band's chunk
    of xt."""
    cdef int64_t cc = _tap_channels(g)
    cdef int64_t boff = (cc * g.R * g.S * 8 + 63) // 64 * 64
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t a_pk = g.groups * gemm_packed_a_elems(dtype, g.Kg, g.Cg * g.R * g.S)
    cdef int64_t per = _tap_band_elems(g, gemm_offb_reach(dtype))
    return boff + ((a_pk + 15) // 16 * 16 + nt * per) * isz


cdef void _tap_offsets(const ConvGeometry* g, int64_t* boff) noexcept nogil:
    """boff[(c, r, s)] = offset of col's row (c, r, s) in a band's chunk of xt."""
    cdef int64_t c, r, s, p = 0, cc = _tap_channels(g), Hb = _band_phase_rows(g)
    for c in range(cc):
        for r in range(g.R):
            for s in range(g.S):
                boff[p] = (((s * g.sH + (r * g.dH) % g.sH) * cc + c) * Hb
                           + (r * g.dH) // g.sH) * g.OW
                p += 1


cdef void _tap_band(const ConvGeometry* g, const floating* x, floating* xt, int64_t i0,
                    int64_t rows, int64_t cl, const floating* ahead,
                    int64_t ahead_cl, int64_t tail) noexcept nogil:
    """xt = rows i0 .. i0+rows of channels [0, cl) of xt (NOTE [ Column taps for strided
    convolutions ]; x points at the image's first channel of the chunk), laid out for a
    band (_tap_channels, _band_phase_rows), then `tail` zeros.  Input rows are read in memory
    order, and the same rows of the next chunk's ahead_cl channels (ahead) prefetched."""
    cdef int64_t c, s, h, a, i, j, lo_s, hi_s, OW = g.OW, xs3 = g.xs[3], step = g.sW * g.xs[3]
    cdef int64_t cc = _tap_channels(g), Hb = _band_phase_rows(g)
    cdef int64_t tap = g.sH * cc * Hb * OW             # xt[s + 1] - xt[s]
    cdef int64_t lo[TAPS_MAX]                          # tap s reads input columns only
    cdef int64_t hi[TAPS_MAX]                          # for lo[s] <= j < hi[s] (the first
    cdef floating* row                                 # TAPS_MAX taps; others row by row)
    cdef floating* dst
    cdef const floating* src
    cdef const floating* from_
    for s in range(min(g.S, TAPS_MAX)):
        _col_range(g, s, &lo[s], &hi[s])
    for c in range(cl):
        for i in range(i0, i0 + rows):
            for a in range(g.sH):
                h = i * g.sH + a - g.pH
                row = xt + (a * cc + c) * Hb * OW + (i - i0) * OW
                if h < 0 or h >= g.H:           # padding rows
                    for s in range(g.S):
                        memset(row + s * tap, 0, OW * sizeof(floating))
                    continue
                src = x + c * g.xs[1] + h * g.xs[2]
                if c < ahead_cl and xs3 == 1:   # by the time it is copied: in cache
                    from_ = ahead + c * g.xs[1] + h * g.xs[2]
                    j = 0
                    while j < g.W:
                        __builtin_prefetch(from_ + j, 0, 2)
                        j += 64 // sizeof(floating)
                for s in range(g.S):
                    if s < TAPS_MAX:
                        lo_s = lo[s]
                        hi_s = hi[s]
                    else:
                        _col_range(g, s, &lo_s, &hi_s)
                    dst = row + s * tap
                    from_ = src + (s * g.dW - g.pW) * xs3      # tap s's column at j = 0
                    for j in range(lo_s):
                        dst[j] = 0
                    if step == 1:
                        memcpy(dst + lo_s, from_ + lo_s, (hi_s - lo_s) * sizeof(floating))
                    elif step == 2:             # NOTE [ Gathering every other element ]
                        if floating is float:
                            strided_gather2_f32(dst + lo_s, from_ + 2 * lo_s, hi_s - lo_s)
                        else:
                            strided_gather2_f64(dst + lo_s, from_ + 2 * lo_s, hi_s - lo_s)
                    else:
                        for j in range(lo_s, hi_s):
                            dst[j] = from_[j * step]
                    for j in range(hi_s, OW):
                        dst[j] = 0
    memset(xt + g.S * tap, 0, tail * sizeof(floating))


cdef void _forward_taps_band(const ConvGeometry* g, int dtype, const char* x, const char* a_pk,
                             const char* bias, char* out, int64_t n, int64_t grp,
                             int64_t oh0, const int64_t* boff, char* xt,
                             int64_t tail) noexcept nogil:
    """Output rows oh0 .. of out[n]'s group grp (NOTE [ Column taps for strided
    convolutions ]); a_pk: the group's A packed by chunks, xt one thread's part, tail the
    offset-B kernel's reach."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t RS = g.R * g.S, OHW = g.OH * g.OW, c0 = 0, cl, na
    cdef int64_t cc = _tap_channels(g), Kp = gemm_packed_a_elems(dtype, g.Kg, 1)
    cdef int64_t ob = min(_band_rows(g), g.OH - oh0)
    cdef int64_t rows = ob + ((g.R - 1) * g.dH) // g.sH
    cdef char* ob_out = out + ((n * g.K + grp * g.Kg) * OHW + oh0 * g.OW) * isz
    cdef const char* xc
    while c0 < g.Cg:
        cl = min(cc, g.Cg - c0)
        xc = x + (n * g.xs[0] + (grp * g.Cg + c0) * g.xs[1]) * isz
        na = min(cc, g.Cg - c0 - cc)        # channels of the next chunk, if any
        if dtype == FLOAT32:
            _tap_band(g, <const float*>xc, <float*>xt, oh0, rows, cl,
                      <const float*>xc + cc * g.xs[1], na, tail)
        else:
            _tap_band(g, <const double*>xc, <double*>xt, oh0, rows, cl,
                      <const double*>xc + cc * g.xs[1], na, tail)
        gemm_offset_b_block(dtype, g.Kg, ob * g.OW, cl * RS, a_pk + Kp * c0 * RS * isz, xt,
                            boff, 0.0 if c0 == 0 else 1.0, ob_out, OHW)
        c0 += cc
    if bias != NULL:
        if dtype == FLOAT32:
            _add_bias_rows(<float*>ob_out, <const float*>bias + grp * g.Kg, g.Kg, ob * g.OW, OHW)
        else:
            _add_bias_rows(<double*>ob_out, <const double*>bias + grp * g.Kg, g.Kg, ob * g.OW, OHW)


cdef void _add_bias_rows(floating* out, const floating* b, int64_t K, int64_t n,
                         int64_t ld) noexcept nogil:
    """out[k, :n] += b[k] for k < K, rows ld apart."""
    cdef int64_t k, j
    for k in range(K):
        for j in range(n):
            out[k * ld + j] += b[k]


cdef void _forward_taps(const ConvGeometry* g, int dtype, const char* x, const char* w,
                        const char* bias, char* out, char* scratch, int nt) noexcept nogil:
    """out = conv(x, w) + bias by NOTE [ Column taps for strided convolutions ] on nt
    threads; scratch holds _taps_scratch(nt) bytes."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, RS = g.R * g.S, cc = _tap_channels(g)
    cdef int64_t* boff = <int64_t*>scratch
    cdef char* a_pk = scratch + (cc * RS * 8 + 63) // 64 * 64
    cdef int64_t apg = gemm_packed_a_elems(dtype, g.Kg, CgRS)        # per group
    cdef char* parts = a_pk + (g.groups * apg + 15) // 16 * 16 * isz
    cdef int64_t tail = gemm_offb_reach(dtype)
    cdef int64_t per = _tap_band_elems(g, tail) * isz
    cdef int64_t Kp = gemm_packed_a_elems(dtype, g.Kg, 1)
    cdef int64_t bands = (g.OH + _band_rows(g) - 1) // _band_rows(g)
    cdef int64_t tasks = g.N * g.groups * bands, task, grp, c0, cl, b
    _tap_offsets(g, boff)
    # A by chunks: chunk (grp, c0) is the Kg x cl*RS block of w, packed at Kp*c0*RS
    for grp in range(g.groups):
        c0 = 0
        while c0 < g.Cg:
            cl = min(cc, g.Cg - c0)
            gemm_pack_a(dtype, w + (grp * g.Kg * CgRS + c0 * RS) * isz, CgRS, 1, g.Kg, cl * RS,
                        a_pk + (grp * apg + Kp * c0 * RS) * isz)
            c0 += cc
    # bands handed out one at a time: a thread slowed by another job on its core does
    # not hold the other back (the result does not depend on which thread runs a band)
    for task in prange(tasks, num_threads=nt, schedule="dynamic"):
        b = task % bands
        grp = (task // bands) % g.groups
        _forward_taps_band(g, dtype, x, a_pk + grp * apg * isz, bias, out,
                           task // (bands * g.groups), grp, b * _band_rows(g), boff,
                           parts + threadid() * per, tail)


cdef int _run_forward_taps(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                           const char* bp, char* op) except -1:
    """out = conv(x, w) + bias over NOTE [ Column taps for strided convolutions ], on as
    many threads as the work is worth (bands are shared out, whatever the batch)."""
    cdef bint cached
    cdef int nt = num_threads_for(g.N * g.K * g.OH * g.OW * g.Cg * g.R * g.S, _T.grain)
    cdef char* scratch = _scratch_acquire(_taps_scratch(g, dtype, nt), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d: out of memory for the input's column taps")
    with nogil:
        _forward_taps(g, dtype, xp, wp, bp, op, scratch, nt)
    _scratch_release(scratch, cached)
    return 0
