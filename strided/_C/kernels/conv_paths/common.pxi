# Included by strided/_C/kernels/conv.pyx (one extension module): what every strategy
# shares -- the geometry, the window packers, im2col/col2im, bias helpers, the workspace
# bound and the scratch buffer.

cdef struct ConvGeometry:
    int64_t N, C, H, W          # input
    int64_t K, R, S             # weight (K, Cg, R, S)
    int64_t OH, OW
    int64_t sH, sW, pH, pW, dH, dW
    int64_t groups, Cg, Kg
    int64_t Hp, Wp              # padded input: H + pH + bottom padding, W + pW + right
    int64_t xs[4]               # input strides, elements


cdef struct WindowSource:
    # what the implicit-GEMM packer reads: images n, n+1, ... (columns j = i*OH*OW + oh*OW
    # + ow for image n+i), group g of the input
    const ConvGeometry* g
    const char* x               # element (n, g*Cg, 0, 0)
    int64_t NR                  # the GEMM's, for the dtype (NOTE [ Convolution on the GEMM's tile ])


# --------------------------------------------------------------------------------------
# Window rows: one row (c, r, s) of col, columns [j0, j1)
# --------------------------------------------------------------------------------------

cdef inline void _col_range(const ConvGeometry* g, int64_t s, int64_t* lo, int64_t* hi) noexcept nogil:
    """Outputs ow whose tap s lands inside the input: lo <= ow < hi."""
    cdef int64_t off = s * g.dW - g.pW                 # iw = ow*sW + off
    cdef int64_t a = 0, b
    if off < 0:
        a = (-off + g.sW - 1) // g.sW
    # iw < W  <=>  ow*sW < W - off  <=>  ow <= (W - off - 1) // sW
    if g.W - off - 1 < 0:
        b = 0
    else:
        b = (g.W - off - 1) // g.sW + 1
    if b > g.OW:
        b = g.OW
    if a > b:
        a = b
    lo[0] = a
    hi[0] = b


cdef void _im2col(const ConvGeometry* g, const floating* x, floating* col,
                  int64_t ld) noexcept nogil:
    """col (Cg*R*S x OH*OW, rows ld elements apart) of the image/group whose channel 0 is at
    x."""
    cdef int64_t c, r, s, oh, ow, ih, lo, hi, off, row = 0
    cdef int64_t xs1 = g.xs[1], xs2 = g.xs[2], xs3 = g.xs[3]
    cdef const floating* xr
    cdef floating* d
    for c in range(g.Cg):
        for r in range(g.R):
            for s in range(g.S):
                d = col + row * ld
                row += 1
                _col_range(g, s, &lo, &hi)
                off = s * g.dW - g.pW
                for oh in range(g.OH):
                    ih = oh * g.sH - g.pH + r * g.dH
                    if ih < 0 or ih >= g.H:
                        for ow in range(g.OW):
                            d[ow] = 0
                    else:
                        xr = x + c * xs1 + ih * xs2
                        for ow in range(lo):
                            d[ow] = 0
                        if g.sW == 1 and xs3 == 1:
                            for ow in range(lo, hi):
                                d[ow] = xr[ow + off]
                        else:
                            for ow in range(lo, hi):
                                d[ow] = xr[(ow * g.sW + off) * xs3]
                        for ow in range(hi, g.OW):
                            d[ow] = 0
                    d += g.OW


cdef void _col2im(const ConvGeometry* g, const floating* col, floating* gx,
                  int64_t ld) noexcept nogil:
    """gx (Cg x H x W, contiguous) += the scatter of col (Cg*R*S x OH*OW, rows ld elements
    apart)."""
    cdef int64_t c, r, s, oh, ow, ih, lo, hi, off, row = 0
    cdef int64_t HW = g.H * g.W
    cdef floating* xr
    cdef const floating* d
    for c in range(g.Cg):
        for r in range(g.R):
            for s in range(g.S):
                d = col + row * ld
                row += 1
                _col_range(g, s, &lo, &hi)
                off = s * g.dW - g.pW
                for oh in range(g.OH):
                    ih = oh * g.sH - g.pH + r * g.dH
                    if ih >= 0 and ih < g.H:
                        xr = gx + c * HW + ih * g.W
                        if g.sW == 1:
                            for ow in range(lo, hi):
                                xr[ow + off] += d[ow]
                        else:
                            for ow in range(lo, hi):
                                xr[ow * g.sW + off] += d[ow]
                    d += g.OW


cdef inline void _pack_run(floating* dst, int64_t kc, int64_t p, int64_t t,
                           int64_t t_end, const floating* src, int64_t step,
                           const int64_t NR) noexcept nogil:
    """Panel columns [t, t_end) of row p: src[0], src[step], ... (zeros when src is NULL),
    in the sliver layout of NOTE [ Packed B panels ], one sliver-sized piece at a time."""
    cdef int64_t sl, lane, cnt, u
    cdef floating* d
    while t < t_end:
        sl = t // NR
        lane = t - sl * NR
        cnt = NR - lane
        if cnt > t_end - t:
            cnt = t_end - t
        d = dst + sl * NR * kc + p * NR + lane
        if src == NULL:
            for u in range(cnt):
                d[u] = 0
        elif step == 1:
            for u in range(cnt):
                d[u] = src[u]
            src += cnt
        else:
            for u in range(cnt):
                d[u] = src[u * step]
            src += cnt * step
        t += cnt


cdef inline void _zero_sliver_tail(floating* dst, int64_t kc, int64_t p, int64_t nc,
                                   int64_t NR) noexcept nogil:
    """Zero row p of the last sliver past column nc (NOTE [ Packed B panels ])."""
    cdef int64_t lane
    cdef floating* d = dst + (nc // NR) * NR * kc + p * NR
    if nc % NR:
        for lane in range(nc % NR, NR):
            d[lane] = 0


cdef inline void _pack_windows_t(const WindowSource* ws, int64_t p0, int64_t kc, int64_t j0,
                                 int64_t nc, floating* dst, const int64_t NR) noexcept nogil:
    """Write col[p0:p0+kc, j0:j0+nc] as NR-wide slivers: element (p, t) at
    dst[(t // NR) * NR * kc + p * NR + t % NR]; the last sliver's tail is zero.
    Each output row's piece of a panel row is three runs: zeros left of the input, a
    strided copy of an input row, zeros right of it.  NR == ws.NR (NOTE [ Convolution on
    the GEMM's tile ])."""
    cdef const ConvGeometry* g = ws.g
    cdef const floating* x = <const floating*>ws.x
    cdef int64_t RS = g.R * g.S
    cdef int64_t p, q, c, r, s, ih, lo, hi, off, oh, ow, t, t_row, a, b, img
    cdef int64_t xs0 = g.xs[0], xs1 = g.xs[1], xs2 = g.xs[2], xs3 = g.xs[3], sW = g.sW
    cdef int64_t OW = g.OW, OHW = g.OH * g.OW
    cdef int64_t step = sW * xs3
    cdef const floating* xr
    for p in range(kc):
        q = p0 + p
        c = q // RS
        r = (q // g.S) % g.R
        s = q % g.S
        _col_range(g, s, &lo, &hi)
        off = s * g.dW - g.pW
        img = j0 // OHW
        oh = (j0 - img * OHW) // OW
        ow = j0 - img * OHW - oh * OW
        t = 0
        while t < nc:
            if oh == g.OH:                         # next image
                oh = 0
                img += 1
            t_row = t + (OW - ow)                  # panel column where this output row ends
            if t_row > nc:
                t_row = nc
            ih = oh * g.sH - g.pH + r * g.dH
            if ih < 0 or ih >= g.H:
                _pack_run(dst, kc, p, t, t_row, <const floating*>NULL, 0, NR)
            else:
                xr = x + img * xs0 + c * xs1 + ih * xs2
                # output columns ow .. ow + (t_row - t) of this row; valid ones in [lo, hi)
                a = lo if lo > ow else ow
                b = hi if hi < ow + (t_row - t) else ow + (t_row - t)
                if b < a:
                    b = a
                if a > ow + (t_row - t):
                    a = b = ow + (t_row - t)
                _pack_run(dst, kc, p, t, t + (a - ow), <const floating*>NULL, 0, NR)
                _pack_run(dst, kc, p, t + (a - ow), t + (b - ow),
                          xr + (a * sW + off) * xs3, step, NR)
                _pack_run(dst, kc, p, t + (b - ow), t_row, <const floating*>NULL, 0, NR)
            t = t_row
            ow = 0
            oh += 1
        _zero_sliver_tail(dst, kc, p, nc, NR)


cdef void _pack_windows_f(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                          char* dst) noexcept nogil:
    cdef const WindowSource* ws = <const WindowSource*>src
    if ws.NR == 16:             # NOTE [ Convolution on the GEMM's tile ]
        _pack_windows_t(ws, p0, kc, j0, nc, <float*>dst, 16)
    elif ws.NR == 32:
        _pack_windows_t(ws, p0, kc, j0, nc, <float*>dst, 32)
    else:
        _pack_windows_t(ws, p0, kc, j0, nc, <float*>dst, ws.NR)


cdef void _pack_windows_d(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                          char* dst) noexcept nogil:
    cdef const WindowSource* ws = <const WindowSource*>src
    if ws.NR == 8:
        _pack_windows_t(ws, p0, kc, j0, nc, <double*>dst, 8)
    elif ws.NR == 16:
        _pack_windows_t(ws, p0, kc, j0, nc, <double*>dst, 16)
    else:
        _pack_windows_t(ws, p0, kc, j0, nc, <double*>dst, ws.NR)


cdef inline bint _pointwise(const ConvGeometry* g) noexcept nogil:
    """1x1, stride 1, no padding, and the input's H, W dims merge: col is x[n, g] itself
    (a Cg x H*W matrix with row stride xs[1] and column stride xs[3])."""
    return (g.R == 1 and g.S == 1 and g.sH == 1 and g.sW == 1 and g.pH == 0 and g.pW == 0
            and g.OH == g.H and g.OW == g.W and (g.H == 1 or g.xs[2] == g.W * g.xs[3]))


cdef void _add_bias(floating* out, const floating* b, int64_t K, int64_t OHW) noexcept nogil:
    cdef int64_t k, i
    cdef floating v
    for k in range(K):
        v = b[k]
        for i in range(OHW):
            out[k * OHW + i] += v


cdef inline void _copy_plus_bias(const floating* src, floating* dst, int64_t n,
                                 floating b) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        dst[i] = src[i] + b


# NOTE [ Workspace bounded by the output ]
# The offset, column-tap and batch-innermost paths copy the whole padded image (split into
# stride phases: Hh*sH x Wh*sW per channel).  Padding or dilation far beyond the image (a
# padding of 2**31 and a stride of 2**62 give one output pixel) would make that copy
# arbitrarily large while the result stays small, so those paths are taken only while the
# copy is at most 4 times the image plus 4 times the output plus a 64x64 tile; otherwise
# the packed path runs, whose workspace (packed windows, col buffers) grows with the output
# and the kernel, never with the padding.

cdef inline bint _padded_copy_fits(const ConvGeometry* g) noexcept nogil:
    cdef double hh = <double>((g.Hp + g.sH - 1) // g.sH) * g.sH
    cdef double wh = <double>((g.Wp + g.sW - 1) // g.sW) * g.sW
    return hh * wh <= 4.0 * (<double>g.H * g.W + <double>g.OH * g.OW) + 4096.0


# --------------------------------------------------------------------------------------
# Scratch: one buffer reused across calls (a call that finds it busy -- another Python
# thread inside a conv kernel -- allocates its own)
# --------------------------------------------------------------------------------------

cdef char* _cache = NULL
cdef size_t _cache_size = 0
cdef bint _cache_busy = False


cdef char* _scratch_acquire(size_t nbytes, bint* cached) noexcept:
    global _cache, _cache_size, _cache_busy
    cdef char* p
    if nbytes == 0:
        nbytes = 64
    if _cache_busy:
        cached[0] = False
        return <char*>malloc(nbytes)
    if _cache_size < nbytes:
        free(_cache)
        _cache = <char*>malloc(nbytes)
        _cache_size = nbytes if _cache != NULL else 0
        if _cache == NULL:
            return NULL
    _cache_busy = True
    cached[0] = True
    return _cache


cdef void _scratch_release(char* p, bint cached) noexcept:
    global _cache_busy
    if cached:
        _cache_busy = False
    else:
        free(p)


cdef void _bias_grad(const floating* go, floating* gb, int64_t N, int64_t K,
                     int64_t OHW) noexcept nogil:
    """gb[k] = sum over n, i of go[n, k, i], accumulated in double in 8 lanes (a single
    accumulator is a serial chain of dependent adds: ~1 ns an element; lanes vectorize)."""
    cdef int64_t n, k, i, u, i8 = OHW - OHW % 8
    cdef double lanes[8]
    cdef double acc
    cdef const floating* row
    for k in range(K):
        for u in range(8):
            lanes[u] = 0
        acc = 0
        for n in range(N):
            row = go + (n * K + k) * OHW
            for i in range(0, i8, 8):
                for u in range(8):
                    lanes[u] += row[i + u]
            for i in range(i8, OHW):
                acc += row[i]
        for u in range(8):
            acc += lanes[u]
        gb[k] = <floating>acc


cdef void _reduce_parts(int dtype, char* dst, const char* first, int nparts, int64_t pitch,
                        int64_t size) noexcept nogil:
    """dst[i] = sum over t of part t (part t starts `pitch` elements after part t-1)."""
    cdef int64_t i
    cdef int t
    if dtype == FLOAT32:
        for t in range(nparts):
            for i in range(size):
                (<float*>dst)[i] += (<const float*>first)[t * pitch + i]
    else:
        for t in range(nparts):
            for i in range(size):
                (<double*>dst)[i] += (<const double*>first)[t * pitch + i]
