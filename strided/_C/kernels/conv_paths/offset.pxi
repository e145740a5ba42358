# Included by strided/_C/kernels/conv.pyx (one extension module): the offset path over the
# padded image (PATH_OFFSET) -- the forward, the input gradient as the convolution of
# grad_output with the flipped weight, the weight gradient as an offset-A GEMM.

# NOTE [ Convolution over the padded image ]
# Row (c, r, s) of col restricted to output row oh is a run of input row oh*sH + r*dH - pH,
# every sW-th element from column s*dW - pW.  So image n is copied zero-padded and split
# into its sH*sW phases, xp[a, b, c, i, j] = xpad[c, i*sH + a, j*sW + b] ((sH*sW, C, Hh,
# Wh) with Hh, Wh the padded sizes divided by the stride, rounded up; one phase, the
# padded image itself, for stride 1), and output positions are numbered j = oh*Wh + ow
# over the phase width.  With r*dH = qr*sH + a and s*dW = qs*sW + b,
#
#     col[(c, r, s), j] = xp[((a*sW + b)*C + c)*Hh*Wh + qr*Wh + qs + j]      for every j
#
# B of the GEMM is then row offsets into xp (NOTE [ Offset-B GEMM ] in gemm.pxd), which the
# micro-kernel reads in place: nothing is packed.  Tiles stop at the end of each output row
# (out is written in place), or run over the phase width, where each output row gets
# Wh - OW extra positions (the window running into the next row) that are computed and
# dropped when the (K x (OH-1)*Wh + OW) result is copied into out -- whichever spends fewer
# micro-kernel columns.  Against packing B from the windows (NOTE [ Convolution as GEMM ])
# this trades a packed element per K multiply-adds for those extra columns and the copy of
# the image.  The micro-kernel may read past a row's last position, as far as the kernel
# table's offb_reach (gemm_offb_reach: up to NR/2 - 1 elements): xp ends with that many
# zeros.  Usable on every convolution but a pointwise one, within NOTE [ Workspace bounded
# by the output ]; chosen by _offset_auto (most strided layers copy column taps instead,
# NOTE [ Column taps for strided convolutions ]).


cdef inline void _phase_dims(const ConvGeometry* g, int64_t Hp, int64_t Wp, int64_t* Hh,
                             int64_t* Wh) noexcept nogil:
    """Sizes of a phase of the padded (Hp x Wp) image (NOTE [ Convolution over the padded
    image ])."""
    Hh[0] = (Hp + g.sH - 1) // g.sH
    Wh[0] = (Wp + g.sW - 1) // g.sW


cdef inline int64_t _phase_elems(const ConvGeometry* g, int64_t Hh, int64_t Wh,
                                 int64_t tail) noexcept nogil:
    """Elements of xp, all phases, plus its `tail` trailing zeros (gemm_offb_reach for the
    offset-B GEMM), rounded up to 16 (64 bytes of float32: what follows starts on a cache
    line)."""
    return (g.sH * g.sW * g.C * Hh * Wh + tail + 15) // 16 * 16


cdef void _phase_offsets(const ConvGeometry* g, int64_t Hh, int64_t Wh,
                         int64_t* boff) noexcept nogil:
    """boff[(c, r, s)] = xp offset of col's row (c, r, s) for one group (c < Cg)."""
    cdef int64_t c, r, s, p = 0
    for c in range(g.Cg):
        for r in range(g.R):
            for s in range(g.S):
                boff[p] = ((((r * g.dH) % g.sH * g.sW + (s * g.dW) % g.sW) * g.C + c) * Hh
                           + (r * g.dH) // g.sH) * Wh + (s * g.dW) // g.sW
                p += 1


cdef int64_t _offset_kc(const ConvGeometry* g) noexcept nogil:
    """K block for the offset GEMM: ~offset_kc_rows distinct rows of xp per block (NOTE
    [ Convolution thresholds ]; 85: KC 256 = 28 channels x 3 rows for 3x3 stride 1;
    stride 2 reads 6 rows of the phases per channel, so its blocks are ~128)."""
    cdef int64_t r, s, a, b, qr, rows = 0, seen_mask = 0, bit
    # distinct (phase row a, phase column b, row qr) per channel; qr < 16 and sH*sW <= 4
    # cover every real layer, else fall back to counting every tap
    for r in range(g.R):
        for s in range(g.S):
            a = (r * g.dH) % g.sH
            b = (s * g.dW) % g.sW
            qr = (r * g.dH) // g.sH
            if g.sH * g.sW > 4 or qr >= 16:
                rows += 1
                continue
            bit = (<int64_t>1) << ((a * g.sW + b) * 16 + qr)
            if not (seen_mask & bit):
                seen_mask |= bit
                rows += 1
    return _T.offset_kc_rows * g.R * g.S // rows


cdef inline int64_t _offset_positions(const ConvGeometry* g, int64_t Wh) noexcept nogil:
    """Columns of the offset path's GEMM over the phase width: (OH - 1)*Wh + OW."""
    return (g.OH - 1) * Wh + g.OW


cdef int64_t _row_slots(const ConvGeometry* g, int64_t NR, int64_t H) noexcept nogil:
    """Micro-kernel columns spent on the output in tiles of two half-slivers of H columns
    (gemm_offb_w) that never cross a row's end (NOTE [ Offset-B GEMM ]): NR per tile, 3/4
    NR for a tile of one half (the half-width kernel takes about 2/3 of a full tile's time
    on the avx2 table).  The GEMM walks the halves of the output rows in order, a full half
    taking the next one along: with a partial half closing each row, a row is full // 2
    pairs plus the partial half alone (full even) or paired (full odd); with none, all
    OH * full halves pair up in turn, across rows.  Closed form (a walk was O(OH * OW / H),
    which huge geometries made hang before their output was refused)."""
    cdef int64_t full = g.OW // H, half = NR * 3 // 4, total
    if g.OW % H:
        return g.OH * ((full + 1) // 2 * NR if full % 2 else full // 2 * NR + half)
    total = g.OH * full
    return total // 2 * NR + (half if total % 2 else 0)


cdef inline bint _offset_by_rows(const ConvGeometry* g, int64_t Wh, int64_t NR,
                                 int64_t H) noexcept nogil:
    """Tiles per output row (no extra columns; out is written in place) rather than over
    the padded width: whichever spends fewer micro-kernel columns (NR, H: the tile's width
    and half width)."""
    return _row_slots(g, NR, H) <= (_offset_positions(g, Wh) + NR - 1) // NR * NR


cdef inline bint _offset_usable(const ConvGeometry* g) noexcept nogil:
    """Whether the padded-image paths (offset, column taps, the weight gradient over the
    padded image) can run g: not pointwise, NOTE [ Workspace bounded by the output ]."""
    return not _pointwise(g) and _padded_copy_fits(g)


cdef bint _offset_auto(const ConvGeometry* g, int64_t Wh, bint taps) noexcept nogil:
    """Usable, unless the extra columns cost more than packing saves: the micro-kernel
    columns it spends (_row_slots, or over the padded width; with column taps, none
    extra), against the packed path's, may grow by at most a factor 1 + offset_kg_slack/Kg
    (each packed element feeds Kg multiply-adds; NOTE [ Convolution thresholds ]).  Columns
    are counted in the float32 tile (NR, half width) of the table in use, for both dtypes:
    on the avx2 table, the 16 columns the threshold was measured with."""
    cdef int64_t cols_offset, cols_packed
    cdef int64_t NR = gemm_nr(FLOAT32), H = gemm_offb_w(FLOAT32)
    if not _offset_usable(g):
        return False
    if taps:                            # NOTE [ Column taps for strided convolutions ]
        cols_offset = (g.OH * g.OW + NR - 1) // NR * NR
    else:
        cols_offset = min((_offset_positions(g, Wh) + NR - 1) // NR * NR, _row_slots(g, NR, H))
    cols_packed = g.OH * g.OW           # over image blocks (NOTE [ Forward over image blocks ])
    if _forward_block_images(g) == 1:
        cols_packed = (cols_packed + NR - 1) // NR * NR
    return cols_offset * g.Kg <= cols_packed * (g.Kg + _T.offset_kg_slack)


cdef size_t _offset_scratch(const ConvGeometry* g, int dtype, int64_t Hh, int64_t Wh,
                            int nparts) noexcept nogil:
    """Bytes _forward_offset needs: the row offsets, then per part xp (+ the offset-B
    kernel's reach) and one group's GEMM result."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    return ((g.Cg * g.R * g.S * 8 + 63) // 64 * 64
            + nparts * _offset_part(g, Hh, Wh, gemm_offb_reach(dtype)) * isz)


cdef inline int64_t _offset_part(const ConvGeometry* g, int64_t Hh, int64_t Wh,
                                 int64_t tail) noexcept nogil:
    """Elements of one part of _offset_scratch: the image's phases and `tail` zeros, then
    one group's GEMM result over the phase width."""
    return _phase_elems(g, Hh, Wh, tail) + (g.Kg * _offset_positions(g, Wh) + 15) // 16 * 16


cdef void _pad_image(const ConvGeometry* g, const floating* x, floating* xp, int64_t Hh,
                     int64_t Wh, int64_t tail) noexcept nogil:
    """xp = image x (pointing at its element (0, 0, 0)) zero padded, split into its phases
    (NOTE [ Convolution over the padded image ]), followed by `tail` zeros.  x is read once,
    row after row in memory order (the prefetcher's stream; phase by phase it was read
    sH times, rows skipped)."""
    cdef int64_t a, b, c, i, h, q, HhWh = Hh * Wh, phase = g.C * Hh * Wh
    cdef floating* row
    cdef const floating* src
    for c in range(g.C):
        # phase rows no input row lands in: the padding above and below
        for a in range(g.sH):
            for i in range(Hh):
                h = i * g.sH + a - g.pH
                if h < 0 or h >= g.H:
                    row = xp + (a * g.sW * g.C + c) * HhWh + i * Wh
                    for b in range(g.sW):
                        memset(row + b * phase, 0, Wh * sizeof(floating))
        for h in range(g.H):
            q = h + g.pH
            a = q % g.sH
            row = xp + (a * g.sW * g.C + c) * HhWh + (q // g.sH) * Wh     # phase (a, 0)
            src = x + c * g.xs[1] + h * g.xs[2]
            if g.sW == 2 and g.xs[3] == 1:
                _split_pair_row(src, g.W, g.pW, row, row + phase, Wh)
            else:
                for b in range(g.sW):
                    _phase_row(g, src, b, row + b * phase, Wh)
    memset(xp + g.sH * g.sW * phase, 0, tail * sizeof(floating))


cdef inline void _phase_row(const ConvGeometry* g, const floating* src, int64_t b,
                            floating* row, int64_t Wh) noexcept nogil:
    """row[j] = padded input row (src: its unpadded start) at column j*sW + b, 0 outside."""
    cdef int64_t sW = g.sW, xs3 = g.xs[3], j, lo, hi
    # phase columns j whose input column j*sW + b - pW lies in [0, W)
    lo = (g.pW - b + sW - 1) // sW if g.pW > b else 0
    hi = (g.W + g.pW - b + sW - 1) // sW
    if hi > Wh:
        hi = Wh
    if lo > hi:
        lo = hi
    src = src + (lo * sW + b - g.pW) * xs3
    for j in range(lo):
        row[j] = 0
    if sW == 1 and xs3 == 1:
        memcpy(row + lo, src, (hi - lo) * sizeof(floating))
    else:
        for j in range(hi - lo):
            row[lo + j] = src[j * sW * xs3]
    for j in range(hi, Wh):
        row[j] = 0


cdef inline void _split_pair_row(const floating* src, int64_t W, int64_t pW, floating* r0,
                                 floating* r1, int64_t Wh) noexcept nogil:
    """Stride 2, contiguous rows: phases 0 and 1 of one padded row in one pass (padded
    column q goes to r[q % 2][q // 2]), the pairs of the middle deinterleaved."""
    cdef int64_t q, k, pairs
    cdef floating* re
    cdef floating* ro
    for q in range(pW):
        if q % 2:
            r1[q // 2] = 0
        else:
            r0[q // 2] = 0
    # input columns w = 2k, 2k+1 land at padded q = pW + 2k (+1): phases pW % 2, 1 - pW % 2
    re = (r0 if pW % 2 == 0 else r1) + pW // 2
    ro = (r1 if pW % 2 == 0 else r0) + (pW + 1) // 2
    pairs = W // 2
    for k in range(pairs):
        re[k] = src[2 * k]
        ro[k] = src[2 * k + 1]
    if W % 2:
        re[pairs] = src[W - 1]
    for q in range(pW + W, 2 * Wh):
        if q % 2:
            r1[q // 2] = 0
        else:
            r0[q // 2] = 0


cdef void _compact_rows(const floating* res, int64_t Np, int64_t Wh, const floating* bias,
                        floating* out, int64_t Kg, int64_t OH, int64_t OW) noexcept nogil:
    """out[k] (OH x OW) = res[k] (row pitch Wh, k pitch Np) without its extra columns,
    plus bias[k] (bias may be NULL)."""
    cdef int64_t k, oh, ow
    cdef floating b
    cdef const floating* sr
    cdef floating* dr
    for k in range(Kg):
        b = bias[k] if bias != NULL else 0
        for oh in range(OH):
            sr = res + k * Np + oh * Wh
            dr = out + (k * OH + oh) * OW
            for ow in range(OW):
                dr[ow] = sr[ow] + b


cdef int _forward_offset_image(const ConvGeometry* g, int dtype, const char* x, const char* w,
                               const char* bias, char* out, int64_t n, int64_t Hh,
                               int64_t Wh, const int64_t* boff, char* part,
                               int nthreads) noexcept nogil:
    """out[n] = conv(x[n], w) + bias by NOTE [ Convolution over the padded image ];
    part holds one part of _offset_scratch."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, HhWh = Hh * Wh, grp
    cdef int64_t Np = _offset_positions(g, Wh), tail = gemm_offb_reach(dtype)
    cdef char* xp = part
    cdef char* res = part + _phase_elems(g, Hh, Wh, tail) * isz
    cdef char* og
    cdef const char* bg
    cdef int err
    cdef bint by_rows = _offset_by_rows(g, Wh, gemm_nr(dtype), gemm_offb_w(dtype))
    cdef bint direct = by_rows or Wh == g.OW     # no extra columns: the GEMM writes out
    if dtype == FLOAT32:
        _pad_image(g, <const float*>x + n * g.xs[0], <float*>xp, Hh, Wh, tail)
    else:
        _pad_image(g, <const double*>x + n * g.xs[0], <double*>xp, Hh, Wh, tail)
    for grp in range(g.groups):
        og = out + (n * g.K + grp * g.Kg) * OHW * isz
        if by_rows:
            err = gemm_offset_b(dtype, g.Kg, OHW, CgRS, 1.0, w + grp * g.Kg * CgRS * isz,
                                CgRS, 1, xp + grp * g.Cg * HhWh * isz, boff, g.OW, Wh,
                                _offset_kc(g), 0.0, og, OHW, 1, nthreads)
        else:
            err = gemm_offset_b(dtype, g.Kg, Np, CgRS, 1.0, w + grp * g.Kg * CgRS * isz,
                                CgRS, 1, xp + grp * g.Cg * HhWh * isz, boff, 0, 0,
                                _offset_kc(g), 0.0, og if direct else res, Np, 1, nthreads)
        if err:
            return -1
        bg = bias + grp * g.Kg * isz if bias != NULL else NULL
        if direct:
            if bg != NULL:
                if dtype == FLOAT32:
                    _add_bias(<float*>og, <const float*>bg, g.Kg, OHW)
                else:
                    _add_bias(<double*>og, <const double*>bg, g.Kg, OHW)
        elif dtype == FLOAT32:
            _compact_rows(<const float*>res, Np, Wh, <const float*>bg, <float*>og, g.Kg, g.OH, g.OW)
        else:
            _compact_rows(<const double*>res, Np, Wh, <const double*>bg, <double*>og, g.Kg, g.OH, g.OW)
    return 0


cdef int _forward_offset(const ConvGeometry* g, int dtype, const char* x, const char* w,
                         const char* bias, char* out, int64_t Hh, int64_t Wh, char* scratch,
                         int nt, bint by_batch) noexcept nogil:
    """out = conv(x, w) + bias by NOTE [ Convolution over the padded image ]: a
    range of images per thread (by_batch), or image by image with nt threads in each GEMM;
    scratch holds _offset_scratch(nt if by_batch else 1) bytes."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, c, r, s, p = 0, n, chunk
    cdef int64_t* boff = <int64_t*>scratch
    cdef char* parts = scratch + (CgRS * 8 + 63) // 64 * 64
    cdef int64_t per = _offset_part(g, Hh, Wh, gemm_offb_reach(dtype)) * isz
    cdef int t, err = 0
    _phase_offsets(g, Hh, Wh, boff)
    if by_batch:
        chunk = (g.N + nt - 1) // nt
        for t in prange(nt, num_threads=nt, schedule="static"):
            for n in range(t * chunk, min(g.N, (t + 1) * chunk)):
                if _forward_offset_image(g, dtype, x, w, bias, out, n, Hh, Wh, boff,
                                         parts + t * per, 1):
                    err += 1
    else:
        for n in range(g.N):
            if _forward_offset_image(g, dtype, x, w, bias, out, n, Hh, Wh, boff, parts, nt):
                return -1
    return -1 if err else 0


# NOTE [ Weight gradient over the padded image ]
# With stride 1 the weight gradient needs no im2col either: over output positions numbered
# across the padded width (NOTE [ Convolution over the padded image ]),
#     gw[g]^T (Cg*R*S x Kg) += col (Cg*R*S x Np) @ go'^T (Np x Kg)
# where row (c, r, s) of col is the run xp[c*Hh*Wh + r*dH*Wh + s*dW ...] of the padded
# image (an offset-A GEMM, NOTE [ Offset-A GEMM ] in gemm.pxd, packing A straight from
# those rows) and go' is go[n, g] spread over the padded width with zeros in the extra
# columns.  Partial sums go to per-thread gw^T buffers, added and transposed into gw at
# the end.  Chosen while the extra columns stay under 1/weight_offset_extra_den of the
# positions (NOTE [ Convolution thresholds ]).

cdef inline bint _weight_offset_auto(const ConvGeometry* g, int64_t Wh) noexcept nogil:
    return _offset_usable(g) and (_T.weight_offset_extra_den * _offset_positions(g, Wh)
                                  <= (_T.weight_offset_extra_den + 1) * g.OH * g.OW)


cdef inline int64_t _weight_offset_part(const ConvGeometry* g, int64_t Hh,
                                        int64_t Wh) noexcept nogil:
    """Elements of one thread's part: xp, go' of one group, gw^T of all groups (the
    offset-A GEMM reads xp's rows exactly: no trailing zeros)."""
    return (_phase_elems(g, Hh, Wh, 0)
            + (g.Kg * _offset_positions(g, Wh) + 15) // 16 * 16
            + (g.K * g.Cg * g.R * g.S + 15) // 16 * 16)


cdef void _spread_rows(const floating* go, floating* gp, int64_t Kg, int64_t OH, int64_t OW,
                       int64_t Wh) noexcept nogil:
    """gp[k] (row pitch Wh, k pitch (OH-1)*Wh + OW) = go[k] (OH x OW), zeros between rows."""
    cdef int64_t Np = (OH - 1) * Wh + OW, k, oh, ow
    cdef floating* d
    for k in range(Kg):
        for oh in range(OH):
            d = gp + k * Np + oh * Wh
            memcpy(d, go + (k * OH + oh) * OW, OW * sizeof(floating))
            if oh < OH - 1:
                for ow in range(OW, Wh):
                    d[ow] = 0


cdef int _weight_offset_image(const ConvGeometry* g, int dtype, const char* x, const char* go,
                              int64_t n, int64_t Hh, int64_t Wh, const int64_t* boff,
                              char* part, int nthreads) noexcept nogil:
    """part's gw^T += image n's weight gradient (NOTE [ Weight gradient over the padded
    image ])."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, HhWh = Hh * Wh, grp
    cdef int64_t Np = _offset_positions(g, Wh)
    cdef char* xp = part
    cdef char* gp = xp + _phase_elems(g, Hh, Wh, 0) * isz
    cdef char* gwt = gp + (g.Kg * Np + 15) // 16 * 16 * isz
    cdef const char* gog
    if dtype == FLOAT32:
        _pad_image(g, <const float*>x + n * g.xs[0], <float*>xp, Hh, Wh, 0)
    else:
        _pad_image(g, <const double*>x + n * g.xs[0], <double*>xp, Hh, Wh, 0)
    for grp in range(g.groups):
        gog = go + (n * g.K + grp * g.Kg) * OHW * isz
        if dtype == FLOAT32:
            _spread_rows(<const float*>gog, <float*>gp, g.Kg, g.OH, g.OW, Wh)
        else:
            _spread_rows(<const double*>gog, <double*>gp, g.Kg, g.OH, g.OW, Wh)
        if gemm_offset_a(dtype, CgRS, g.Kg, Np, 1.0, xp + grp * g.Cg * HhWh * isz, boff,
                         gp, 1, Np, 1.0, gwt + grp * CgRS * g.Kg * isz, g.Kg, 1, nthreads):
            return -1
    return 0


cdef void _add_transposed(const floating* part, floating* gw, const ConvGeometry* g,
                          bint first) noexcept nogil:
    """gw[grp*Kg + k, q] (+)= part[grp][q][k] for q < Cg*R*S."""
    cdef int64_t CgRS = g.Cg * g.R * g.S, grp, q, k
    cdef const floating* src
    for grp in range(g.groups):
        for q in range(CgRS):
            src = part + (grp * CgRS + q) * g.Kg
            for k in range(g.Kg):
                if first:
                    gw[(grp * g.Kg + k) * CgRS + q] = src[k]
                else:
                    gw[(grp * g.Kg + k) * CgRS + q] += src[k]


cdef int _weight_grad_offset(const ConvGeometry* g, int dtype, const char* x, const char* go,
                             char* gw, int64_t Hh, int64_t Wh, char* scratch, int nt,
                             bint by_batch) noexcept nogil:
    """gw = the weight gradient by NOTE [ Weight gradient over the padded image ]: whole
    images per thread (by_batch) or image by image with nt threads in each GEMM; scratch
    holds the row offsets and _weight_offset_part elements per part."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, c, r, s, p = 0, n, chunk
    cdef int64_t* boff = <int64_t*>scratch
    cdef char* parts = scratch + (CgRS * 8 + 63) // 64 * 64
    cdef int64_t per = _weight_offset_part(g, Hh, Wh) * isz
    cdef int64_t gwt_at = per - (g.K * CgRS + 15) // 16 * 16 * isz
    cdef int t, nparts = nt if by_batch else 1, err = 0
    _phase_offsets(g, Hh, Wh, boff)
    for t in range(nparts):
        memset(parts + t * per + gwt_at, 0, g.K * CgRS * isz)
    if by_batch:
        chunk = (g.N + nt - 1) // nt
        for t in prange(nt, num_threads=nt, schedule="static"):
            for n in range(t * chunk, min(g.N, (t + 1) * chunk)):
                if _weight_offset_image(g, dtype, x, go, n, Hh, Wh, boff, parts + t * per, 1):
                    err += 1
    else:
        for n in range(g.N):
            if _weight_offset_image(g, dtype, x, go, n, Hh, Wh, boff, parts, nt):
                return -1
    if err:
        return -1
    for t in range(nparts):
        if dtype == FLOAT32:
            _add_transposed(<const float*>(parts + t * per + gwt_at), <float*>gw, g, t == 0)
        else:
            _add_transposed(<const double*>(parts + t * per + gwt_at), <double*>gw, g, t == 0)
    return 0


cdef void _flip_transpose(const ConvGeometry* g, const floating* w, floating* wt,
                          int64_t q) noexcept nogil:
    """Row q = grp*Cg + c of wt (C, Kg, R, S): wt[q, k, R-1-r, S-1-s] = w[grp*Kg + k, c, r, s]."""
    cdef int64_t grp = q // g.Cg, c = q - grp * g.Cg, RS = g.R * g.S, k, t
    cdef const floating* src
    cdef floating* dst = wt + q * g.Kg * RS
    for k in range(g.Kg):
        src = w + ((grp * g.Kg + k) * g.Cg + c) * RS
        for t in range(RS):
            dst[k * RS + RS - 1 - t] = src[t]


cdef bint _input_grad_geometry(const ConvGeometry* g, ConvGeometry* t) noexcept nogil:
    """The input gradient of a stride-1 convolution is the stride-1 convolution of
    grad_output with the flipped, transposed weight:
        gx[n, c, h, w] = sum over k, r, s of go[n, k, h + pH - r*dH, w + pW - s*dW] w[k, c, r, s]
    is conv(go padded by dH*(R-1) - pH on top, ..., wt) with wt[c, k, R-1-r, S-1-s] =
    w[k, c, r, s] per group.  t = that convolution's geometry (go contiguous); False when
    it does not exist: a stride, a pointwise convolution or a padding past the dilated
    kernel's reach."""
    cdef int64_t reachH = g.dH * (g.R - 1), reachW = g.dW * (g.S - 1)
    cdef int64_t top, left, bottom, right
    if g.sH != 1 or g.sW != 1 or _pointwise(g):
        return False
    # reach - the forward's padding; its bottom one is OH - H - pH + reachH (stride 1)
    top, left = reachH - g.pH, reachW - g.pW
    bottom, right = g.H + g.pH - g.OH, g.W + g.pW - g.OW
    if top < 0 or left < 0 or bottom < 0 or right < 0:
        return False
    t.N, t.C, t.H, t.W = g.N, g.K, g.OH, g.OW
    t.K, t.R, t.S = g.C, g.R, g.S
    t.sH, t.sW, t.pH, t.pW, t.dH, t.dW = 1, 1, top, left, g.dH, g.dW
    t.groups, t.Cg, t.Kg = g.groups, g.Kg, g.Cg
    t.OH, t.OW = g.H, g.W
    t.Hp, t.Wp = g.OH + top + bottom, g.OW + left + right
    t.xs[0], t.xs[1], t.xs[2], t.xs[3] = g.K * g.OH * g.OW, g.OH * g.OW, g.OW, 1
    return True


cdef bint _input_grad_offset_usable(const ConvGeometry* g) noexcept nogil:
    cdef ConvGeometry t
    return _input_grad_geometry(g, &t) and _offset_usable(&t)


cdef bint _input_grad_offset_auto(const ConvGeometry* g) noexcept nogil:
    """Usable, and: this GEMM's M is Cg (the packed path's Cg*R*S), so with fewer than
    input_grad_offset_min_cg input channels its MR-row tiles are mostly padding; more than
    input_grad_offset_tiny_output positions; and _offset_auto on the transposed geometry."""
    cdef ConvGeometry t
    if g.Cg < _T.input_grad_offset_min_cg or not _input_grad_geometry(g, &t):
        return False
    return _offset_auto(&t, t.Wp, False) and g.OH * g.OW > _T.input_grad_offset_tiny_output


cdef int _run_input_grad_offset(const ConvGeometry* g, int dtype, const char* gop, Tensor w,
                                char* gxp, int nt, bint by_batch) except -1:
    """gx = grad_input over the offset path (_input_grad_geometry: g must have one)."""
    cdef ConvGeometry t
    _input_grad_geometry(g, &t)
    cdef int64_t Hp = t.Hp, Wp = t.Wp
    cdef int64_t wsz[4]
    wsz[0], wsz[1], wsz[2], wsz[3] = g.C, g.Kg, g.R, g.S
    cdef Tensor wt = new_tensor(4, wsz, w._dtype, False)
    cdef const char* wp = data_of(w)
    cdef char* wtp = data_of(wt)
    cdef int64_t q
    with nogil:
        # wt row by row (grp, c), in parallel: 2.4M elements for 512 -> 512 3x3
        for q in prange(g.groups * g.Cg, num_threads=nt, schedule="static"):
            if dtype == FLOAT32:
                _flip_transpose(g, <const float*>wp, <float*>wtp, q)
            else:
                _flip_transpose(g, <const double*>wp, <double*>wtp, q)
    cdef bint cached
    cdef char* scratch = _scratch_acquire(_offset_scratch(&t, dtype, Hp, Wp,
                                                          nt if by_batch else 1), &cached)
    cdef int err
    if scratch == NULL:
        raise MemoryError("conv2d_backward: out of memory for the padded gradient copy")
    with nogil:
        err = _forward_offset(&t, dtype, gop, wtp, NULL, gxp, Hp, Wp, scratch, nt, by_batch)
    _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_forward_offset(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                             const char* bp, char* op, int nt, bint by_batch) except -1:
    """out = conv(x, w) + bias over NOTE [ Convolution over the padded image ]."""
    cdef int64_t Hh, Wh
    cdef bint cached
    cdef int err
    _phase_dims(g, g.Hp, g.Wp, &Hh, &Wh)
    cdef char* scratch = _scratch_acquire(_offset_scratch(g, dtype, Hh, Wh,
                                                          nt if by_batch else 1), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d: out of memory for the padded input copy")
    with nogil:
        err = _forward_offset(g, dtype, xp, wp, bp, op, Hh, Wh, scratch, nt, by_batch)
    _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_weight_grad_offset(const ConvGeometry* g, int dtype, const char* xp,
                                 const char* gop, char* gwp, int nt, bint by_batch) except -1:
    """gw = the weight gradient over NOTE [ Weight gradient over the padded image ]."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8, CgRS = g.Cg * g.R * g.S, Hh, Wh
    cdef int nparts = nt if by_batch else 1, err
    cdef bint cached_x
    _phase_dims(g, g.Hp, g.Wp, &Hh, &Wh)
    cdef char* scratch_x = _scratch_acquire((CgRS * 8 + 63) // 64 * 64
                                            + nparts * _weight_offset_part(g, Hh, Wh) * isz,
                                            &cached_x)
    if scratch_x == NULL:
        raise MemoryError("conv2d_backward: out of memory for the padded input copy")
    with nogil:
        err = _weight_grad_offset(g, dtype, xp, gop, gwp, Hh, Wh, scratch_x, nt, by_batch)
    _scratch_release(scratch_x, cached_x)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return 0
