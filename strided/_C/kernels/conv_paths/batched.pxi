# Included by strided/_C/kernels/conv.pyx (one extension module): the batch-innermost
# strategy for small convolutions, forward and backward (PATH_BATCHED).

# NOTE [ Batch-innermost convolution ]
# With few output channels K (the GEMM's m) each packed element of B feeds only K
# multiply-adds, so packing B costs as much as the arithmetic: the per-image packer copies
# runs of OW elements (4..28 in a small CNN) and spends ~1 ns an element on run bookkeeping
# (on LeNet's conv2 the packing outweighs the GEMM).  Small images add
# per-image costs on top (A repacked for every image, a 16-column GEMM per 4x4 image).
#
# So for small layers the input is first copied, zero-padded, into a batch-innermost
# scratch xt (C, Hp, Wp, N), and one GEMM covers the whole batch:
#
#     out_t (K x OH*OW*N) = W (K x C*R*S) @ col (C*R*S x OH*OW*N)
#     col[(c, r, s), (oh, ow, n)] = xt[c, oh*sH + r*dH, ow*sW + s*dW, n]
#
# Columns run over the batch innermost, so a sliver of NR columns is NR consecutive
# images at one output position: packing a row of it is one contiguous NR-element copy
# (when N is a multiple of NR; otherwise a small gather), with no bounds tests -- the
# padding is in xt.  out_t is then transposed into out (N, K, OH, OW), adding the bias.
# The two copies touch input- and output-sized data only, against col's C*R*S/(sH*sW)
# times more.  The GEMM runs in chunks of output positions (all images) whose (K x
# positions*N) result stays in cache for the transpose; threads take whole chunks.
# (One GEMM over the whole batch lost to the per-image path on large outputs: its result
# went through memory twice.  Chunked, it breaks even there.)
#
# It pays on the small CNNs' layers (LeNet, the digits CNN) and breaks even on larger ones
# (benchmarks/tune_conv.py times it against the other paths).  Usable with one group and
# a padded copy within NOTE [ Workspace bounded by the output ]; chosen by
# _batched_forward_auto / _batched_weight_auto / _batched_input_auto (NOTE [ Convolution
# thresholds ]).

cdef struct BatchSource:
    const char* xt              # (C, Hp, Wp, N), contiguous, zero padded
    const int64_t* rowoff       # per row p = (c, r, s) of col: its offset in xt
    int64_t N, OW
    int64_t hstep, wstep        # xt offsets of one output row / column: sH*Wp*N, sW*N
    int64_t q_first             # output position (within output row 0) of column 0
    int64_t NR                  # the GEMM's, for the dtype (NOTE [ Convolution on the GEMM's tile ])


cdef inline void _pack_batch_t(const BatchSource* bs, int64_t p0, int64_t kc, int64_t j0,
                               int64_t nc, floating* dst, const int64_t NR) noexcept nogil:
    """col[p0:p0+kc, j0:j0+nc] (NOTE [ Batch-innermost convolution ]) as NR-wide slivers
    (NOTE [ Packed B panels ]); NR <= GEMM_NR_MAX."""
    cdef const floating* xt = <const floating*>bs.xt
    cdef const int64_t* rowoff = bs.rowoff + p0
    cdef int64_t N = bs.N, OW = bs.OW
    cdef int64_t sl, jb, cnt, q, n, oh, ow, p, u, j
    cdef int64_t colbase[GEMM_NR_MAX]
    cdef const floating* src
    cdef floating* d
    for sl in range((nc + NR - 1) // NR):
        jb = j0 + sl * NR
        cnt = nc - sl * NR
        if cnt > NR:
            cnt = NR
        d = dst + sl * NR * kc
        q = jb // N
        n = jb - q * N
        q += bs.q_first
        oh = q // OW
        ow = q - oh * OW
        if cnt == NR and n + NR <= N:
            # NR consecutive images at one output position: a contiguous copy per row
            src = xt + oh * bs.hstep + ow * bs.wstep + n
            for p in range(kc):
                # a constant-size memcpy: vector moves (a loop would be scalar, as d and
                # src might alias)
                memcpy(d + p * NR, src + rowoff[p], NR * sizeof(floating))
        else:
            for u in range(NR):
                j = jb + u
                if u < cnt:
                    q = j // N
                    n = j - q * N
                    q += bs.q_first
                    oh = q // OW
                    ow = q - oh * OW
                    colbase[u] = oh * bs.hstep + ow * bs.wstep + n
            for p in range(kc):
                src = xt + rowoff[p]
                for u in range(NR):
                    d[p * NR + u] = src[colbase[u]] if u < cnt else 0


cdef void _pack_batch_f(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                        char* dst) noexcept nogil:
    cdef const BatchSource* bs = <const BatchSource*>src
    if bs.NR == 16:             # NOTE [ Convolution on the GEMM's tile ]
        _pack_batch_t(bs, p0, kc, j0, nc, <float*>dst, 16)
    elif bs.NR == 32:
        _pack_batch_t(bs, p0, kc, j0, nc, <float*>dst, 32)
    else:
        _pack_batch_t(bs, p0, kc, j0, nc, <float*>dst, bs.NR)


cdef void _pack_batch_d(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                        char* dst) noexcept nogil:
    cdef const BatchSource* bs = <const BatchSource*>src
    if bs.NR == 8:
        _pack_batch_t(bs, p0, kc, j0, nc, <double*>dst, 8)
    elif bs.NR == 16:
        _pack_batch_t(bs, p0, kc, j0, nc, <double*>dst, 16)
    else:
        _pack_batch_t(bs, p0, kc, j0, nc, <double*>dst, bs.NR)


cdef void _batch_input(const ConvGeometry* g, const floating* x, floating* xt, int64_t Hp,
                       int64_t Wp) noexcept nogil:
    """xt (C, Hp, Wp, N) = x zero-padded (pH rows on top, pW columns on the left)."""
    cdef int64_t c, h, w, n, N = g.N
    cdef int64_t xs0 = g.xs[0], xs1 = g.xs[1], xs2 = g.xs[2], xs3 = g.xs[3]
    cdef const floating* xr
    cdef floating* d
    memset(xt, 0, g.C * Hp * Wp * N * sizeof(floating))
    for c in range(g.C):
        for h in range(g.H):
            d = xt + ((c * Hp + h + g.pH) * Wp + g.pW) * N
            for n in range(N):
                xr = x + n * xs0 + c * xs1 + h * xs2
                for w in range(g.W):
                    d[w * N + n] = xr[w * xs3]


cdef void _unbatch_output(const floating* ot, const floating* bias, floating* out, int64_t N,
                          int64_t K, int64_t OHW, int64_t q0, int64_t qc) noexcept nogil:
    """out[n, k, q0 + i] = ot[k, i, n] + bias[k] for i < qc (bias may be NULL); ot is the
    (K, qc, N) GEMM result of output positions q0 .. q0+qc."""
    cdef int64_t n, k, i, n0, n1, nb = 8
    cdef floating b
    cdef const floating* src
    cdef floating* d
    for k in range(K):
        b = bias[k] if bias != NULL else 0
        n0 = 0
        while n0 < N:
            n1 = n0 + nb if n0 + nb < N else N
            # a block of nb images: the reads (nb-element pieces of ot's rows) and the
            # writes (nb rows of out) both stay within a few cache lines
            for i in range(qc):
                src = ot + (k * qc + i) * N
                d = out + k * OHW + q0 + i
                for n in range(n0, n1):
                    d[n * K * OHW] = src[n] + b
            n0 = n1


cdef inline bint _batched_usable(const ConvGeometry* g) noexcept nogil:
    """Whether NOTE [ Batch-innermost convolution ] can run g (forward or backward): one
    group, and NOTE [ Workspace bounded by the output ]."""
    return g.groups == 1 and _padded_copy_fits(g)


cdef bint _batched_forward_auto(const ConvGeometry* g) noexcept nogil:
    """The automatic choice of the batch-innermost forward (NOTE [ Convolution thresholds
    ]): a batch of >= batched_min_n, not pointwise, an input copy of at most
    batched_max_copy elements, and a small layer or a small output of a mid-sized one."""
    cdef int64_t layer = g.C * g.R * g.S * g.K
    return (_batched_usable(g) and g.N >= _T.batched_min_n and not _pointwise(g)
            and g.C * g.Hp * g.Wp * g.N <= _T.batched_max_copy
            and (layer <= _T.batched_small_layer
                 or (g.OH * g.OW <= _T.batched_small_output and layer <= _T.batched_mid_layer)))


cdef inline bint _batched_weight_auto(const ConvGeometry* g) noexcept nogil:
    """The batch-innermost weight gradient where the forward would take it and the output
    (N*OH*OW*K) and the layer are small: there it gains on the small CNNs' layers, while
    on ResNet-18's (larger layers) the per-image weight gradient is as fast or faster."""
    return (_batched_forward_auto(g) and g.N * g.OH * g.OW * g.K <= _T.batched_w_max_output
            and g.C * g.R * g.S * g.K <= _T.batched_w_max_layer)


cdef inline bint _batched_input_auto(const ConvGeometry* g) noexcept nogil:
    """The batch-innermost input gradient only with several input channels on tiny outputs
    of small layers: elsewhere the packed path over image blocks is as fast or faster."""
    return (_batched_forward_auto(g) and g.C >= _T.batched_x_min_c
            and g.OH * g.OW <= _T.batched_x_max_output
            and g.C * g.R * g.S * g.K <= _T.batched_x_max_layer)


cdef inline int64_t _chunk_positions(const ConvGeometry* g) noexcept nogil:
    """Output positions per GEMM: its (K, positions*N) result stays within ~128 KiB."""
    cdef int64_t qc = _T.batch_chunk // (g.K * g.N)
    if qc < 1:
        qc = 1
    return qc if qc < g.OH * g.OW else g.OH * g.OW


cdef size_t _batched_scratch(const ConvGeometry* g, int64_t isz, int64_t Hp, int64_t Wp,
                             int nparts) noexcept nogil:
    """Bytes of scratch _forward_batched needs: xt, the row offsets, one GEMM result per
    thread."""
    return ((g.C * Hp * Wp * g.N + 15) // 16 * 16 * isz + g.C * g.R * g.S * 8
            + nparts * (_chunk_positions(g) * g.N * g.K + 15) // 16 * 16 * isz)


cdef int _forward_batched(const ConvGeometry* g, int dtype, const char* x, const char* w,
                          const char* bias, char* out, int64_t Hp, int64_t Wp, char* scratch,
                          int nt) noexcept nogil:
    """out = conv(x, w) + bias by NOTE [ Batch-innermost convolution ], on nt threads (each
    takes chunks of output positions); scratch holds _batched_scratch(nt) bytes."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CRS = g.C * g.R * g.S, OHW = g.OH * g.OW, c, r, s, p = 0
    cdef int64_t qc = _chunk_positions(g), nchunks = (OHW + qc - 1) // qc, ch, q0, qn
    cdef int64_t ot_elems = (qc * g.N * g.K + 15) // 16 * 16
    cdef char* xt = scratch
    cdef int64_t* rowoff = <int64_t*>(xt + (g.C * Hp * Wp * g.N + 15) // 16 * 16 * isz)
    cdef char* ots = <char*>(rowoff + CRS)
    cdef char* ot
    cdef BatchSource bs
    cdef const char* xq
    cdef int t, err = 0
    for c in range(g.C):
        for r in range(g.R):
            for s in range(g.S):
                rowoff[p] = ((c * Hp + r * g.dH) * Wp + s * g.dW) * g.N
                p += 1
    bs.rowoff = rowoff
    bs.N = g.N
    bs.OW = g.OW
    bs.hstep = g.sH * Wp * g.N
    bs.wstep = g.sW * g.N
    bs.NR = gemm_nr(dtype)
    if dtype == FLOAT32:
        _batch_input(g, <const float*>x, <float*>xt, Hp, Wp)
    else:
        _batch_input(g, <const double*>x, <double*>xt, Hp, Wp)
    if nt > nchunks:
        nt = <int>nchunks
    for t in prange(nt, num_threads=nt, schedule="static"):
        ot = ots + t * ot_elems * isz
        ch = t
        while ch < nchunks:
            q0 = ch * qc
            qn = qc if q0 + qc <= OHW else OHW - q0
            if _forward_chunk(g, dtype, &bs, xt, w, bias, out, q0, qn, ot):
                err += 1
            ch = ch + nt
    return -1 if err else 0


cdef int _forward_chunk(const ConvGeometry* g, int dtype, const BatchSource* bs0,
                        const char* xt, const char* w, const char* bias, char* out,
                        int64_t q0, int64_t qn, char* ot) noexcept nogil:
    """Output positions q0 .. q0+qn of every image: one GEMM into ot, then out."""
    cdef BatchSource bs = bs0[0]
    cdef int64_t CRS = g.C * g.R * g.S, J = qn * g.N
    # the packer numbers columns from 0: shift xt so column 0 is position q0, image 0
    # (positions are row-major over (oh, ow), so shift by whole output rows and keep ow)
    cdef int64_t oh0 = q0 // g.OW, isz = 4 if dtype == FLOAT32 else 8
    bs.xt = xt + oh0 * bs.hstep * isz
    bs.q_first = q0 - oh0 * g.OW
    if gemm_packed_b(dtype, g.K, J, CRS, 1.0, w, CRS, 1,
                     _pack_batch_f if dtype == FLOAT32 else _pack_batch_d,
                     &bs, 0.0, ot, J, 1, 1):
        return -1
    if dtype == FLOAT32:
        _unbatch_output(<const float*>ot, <const float*>bias, <float*>out, g.N, g.K,
                        g.OH * g.OW, q0, qn)
    else:
        _unbatch_output(<const double*>ot, <const double*>bias, <double*>out, g.N, g.K,
                        g.OH * g.OW, q0, qn)
    return 0


# Backward, batch innermost, per chunk of output positions q0 .. q0+qn (Jc = qn*N columns):
#     G (Jc x K) = grad_out[n, k, q0 + i] at row i*N + n;   Gt = G^T (K x Jc)
#     colc (C*R*S x Jc) = the chunk's columns of col (contiguous N-element copies from xt)
#     grad_W^T (C*R*S x K) += colc @ G                (one partial per thread, summed;
#                             faster than with B = Gt^T, a transposing pack)
#     colg (C*R*S x Jc) = W^T @ Gt;  gxt (C, Hp, Wp, N) += col2im(colg)   (per thread)
# and at the end grad_x[n, c, h, w] = sum over threads of gxt[c, pH + h, pW + w, n].

cdef void _chunk_grad_out(const floating* go, int64_t N, int64_t K, int64_t OHW, int64_t q0,
                          int64_t qn, floating* G, floating* Gt) noexcept nogil:
    """G[i*N + n, k] (when G is not NULL) and Gt[k, i*N + n] (when Gt is not NULL) =
    go[n, k, q0 + i] for i < qn.  Loop orders keep the writes short-strided."""
    cdef int64_t n, k, i, Jc = qn * N
    cdef const floating* src
    cdef floating* d
    if Gt != NULL:
        for k in range(K):
            for n in range(N):
                src = go + (n * K + k) * OHW + q0
                d = Gt + k * Jc + n
                for i in range(qn):
                    d[i * N] = src[i]
    if G != NULL:
        for n in range(N):
            src = go + n * K * OHW + q0
            for i in range(qn):
                d = G + (i * N + n) * K
                for k in range(K):
                    d[k] = src[k * OHW + i]


cdef void _chunk_col(const BatchSource* bs, const floating* xt, int64_t CRS, int64_t q0,
                     int64_t qn, floating* colc) noexcept nogil:
    """colc[p, i*N + n] = xt[rowoff[p] + position (q0 + i) + n] (NOTE [ Batch-innermost
    convolution ])."""
    cdef int64_t p, i, q, oh, ow, N = bs.N, Jc = qn * N
    cdef const floating* src
    for i in range(qn):
        q = q0 + i
        oh = q // bs.OW
        ow = q - oh * bs.OW
        src = xt + oh * bs.hstep + ow * bs.wstep
        for p in range(CRS):
            memcpy(colc + p * Jc + i * N, src + bs.rowoff[p], N * sizeof(floating))


cdef void _chunk_col2im(const BatchSource* bs, const floating* colg, int64_t CRS, int64_t q0,
                        int64_t qn, floating* gxt) noexcept nogil:
    """gxt[rowoff[p] + position (q0 + i) + n] += colg[p, i*N + n]."""
    cdef int64_t p, i, q, oh, ow, n, N = bs.N, Jc = qn * N
    cdef floating* dst
    cdef const floating* src
    for i in range(qn):
        q = q0 + i
        oh = q // bs.OW
        ow = q - oh * bs.OW
        for p in range(CRS):
            dst = gxt + oh * bs.hstep + ow * bs.wstep + bs.rowoff[p]
            src = colg + p * Jc + i * N
            for n in range(N):
                dst[n] += src[n]


cdef void _unbatch_input_grad(const ConvGeometry* g, const floating* gxt, int64_t nparts,
                              int64_t pitch, int64_t Hp, int64_t Wp,
                              floating* gx) noexcept nogil:
    """gx[n, c, h, w] = sum over parts t of gxt[t*pitch + ((c*Hp + pH + h)*Wp + pW + w)*N + n]."""
    cdef int64_t n, c, h, w, t, N = g.N
    cdef const floating* src
    cdef floating* d
    cdef floating v
    for n in range(N):
        for c in range(g.C):
            for h in range(g.H):
                src = gxt + ((c * Hp + g.pH + h) * Wp + g.pW) * N + n
                d = gx + ((n * g.C + c) * g.H + h) * g.W
                for w in range(g.W):
                    v = src[w * N]
                    for t in range(1, nparts):
                        v = v + src[t * pitch + w * N]
                    d[w] = v


cdef int _backward_chunk(const ConvGeometry* g, int dtype, const BatchSource* bs,
                         const char* xt, const char* w, const char* go, int64_t q0, int64_t qn,
                         char* gwt, char* gxt, char* work) noexcept nogil:
    """One chunk of the batch-innermost backward (above); gwt (C*R*S x K) and gxt (C, Hp,
    Wp, N) accumulate when not NULL; work holds _backward_work() elements."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CRS = g.C * g.R * g.S, Jc = qn * g.N, K = g.K
    cdef char* G = work
    cdef char* Gt = G + Jc * K * isz
    cdef char* colc = Gt + Jc * K * isz
    if dtype == FLOAT32:
        _chunk_grad_out(<const float*>go, g.N, K, g.OH * g.OW, q0, qn,
                        <float*>G if gwt != NULL else NULL, <float*>Gt if gxt != NULL else NULL)
    else:
        _chunk_grad_out(<const double*>go, g.N, K, g.OH * g.OW, q0, qn,
                        <double*>G if gwt != NULL else NULL,
                        <double*>Gt if gxt != NULL else NULL)
    if gwt != NULL:
        if dtype == FLOAT32:
            _chunk_col(bs, <const float*>xt, CRS, q0, qn, <float*>colc)
        else:
            _chunk_col(bs, <const double*>xt, CRS, q0, qn, <double*>colc)
        if gemm_strided_threads(dtype, CRS, K, Jc, 1.0, colc, Jc, 1, G, K, 1, 1.0,
                                gwt, K, 1, 1):
            return -1
    if gxt != NULL:
        if gemm_strided_threads(dtype, CRS, Jc, K, 1.0, w, 1, CRS, Gt, Jc, 1, 0.0,
                                colc, Jc, 1, 1):
            return -1
        if dtype == FLOAT32:
            _chunk_col2im(bs, <const float*>colc, CRS, q0, qn, <float*>gxt)
        else:
            _chunk_col2im(bs, <const double*>colc, CRS, q0, qn, <double*>gxt)
    return 0


cdef inline int64_t _backward_positions(const ConvGeometry* g) noexcept nogil:
    """Output positions per backward chunk: colc (C*R*S x positions*N) within ~256 KiB, but
    at least backward_min_k columns: they are the depth of the weight gradient's GEMM, and
    a shallow one rereads the whole (C*R*S x K) accumulator per chunk (ResNet's 512-channel
    4x4 layer at 1 position x 32 images: a 32-deep GEMM per chunk)."""
    cdef int64_t qc = _T.batch_chunk * 2 // (g.C * g.R * g.S * g.N)
    cdef int64_t qmin = (_T.backward_min_k + g.N - 1) // g.N
    if qc < qmin:
        qc = qmin
    return qc if qc < g.OH * g.OW else g.OH * g.OW


cdef int _backward_batched(const ConvGeometry* g, int dtype, const char* x, const char* w,
                           const char* go, char* gx, char* gw, int64_t Hp, int64_t Wp,
                           int nt) noexcept nogil:
    """grad_input into gx and grad_weight into gw (each when not NULL) by the batch-innermost
    backward (above) on nt threads.  Returns -1 when out of memory."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CRS = g.C * g.R * g.S, OHW = g.OH * g.OW, c, r, s, p = 0, k, i
    cdef int64_t qc = _backward_positions(g), nchunks = (OHW + qc - 1) // qc, ch, q0, qn
    cdef int64_t xt_elems = (g.C * Hp * Wp * g.N + 15) // 16 * 16
    cdef int64_t gwt_elems = (CRS * g.K + 15) // 16 * 16
    cdef int64_t work_elems = (2 * qc * g.N * g.K + qc * g.N * CRS + 15) // 16 * 16
    cdef int64_t per_thread
    cdef char* block
    cdef char* xt
    cdef int64_t* rowoff
    cdef char* parts
    cdef char* mine
    cdef BatchSource bs
    cdef int t, err = 0
    if nt > nchunks:
        nt = <int>nchunks
    per_thread = work_elems + (gwt_elems if gw != NULL else 0) + (xt_elems if gx != NULL else 0)
    block = <char*>malloc(xt_elems * isz + CRS * 8 + nt * per_thread * isz)
    if block == NULL:
        return -1
    xt = block
    rowoff = <int64_t*>(block + xt_elems * isz)
    parts = <char*>(rowoff + CRS)
    for c in range(g.C):
        for r in range(g.R):
            for s in range(g.S):
                rowoff[p] = ((c * Hp + r * g.dH) * Wp + s * g.dW) * g.N
                p += 1
    bs.rowoff = rowoff
    bs.N = g.N
    bs.OW = g.OW
    bs.hstep = g.sH * Wp * g.N
    bs.wstep = g.sW * g.N
    bs.q_first = 0
    bs.xt = xt
    bs.NR = gemm_nr(dtype)              # (the chunks' GEMMs take B strided: not packed here)
    if gw != NULL:
        if dtype == FLOAT32:
            _batch_input(g, <const float*>x, <float*>xt, Hp, Wp)
        else:
            _batch_input(g, <const double*>x, <double*>xt, Hp, Wp)
    # per thread: [gxt][gwt][work]; the accumulators start at zero
    memset(parts, 0, nt * per_thread * isz)
    for t in prange(nt, num_threads=nt, schedule="static"):
        mine = parts + t * per_thread * isz
        ch = t
        while ch < nchunks:
            q0 = ch * qc
            qn = qc if q0 + qc <= OHW else OHW - q0
            if _backward_chunk(g, dtype, &bs, xt, w, go, q0, qn,
                               (mine + (xt_elems if gx != NULL else 0) * isz)
                               if gw != NULL else NULL,
                               mine if gx != NULL else NULL,
                               mine + (per_thread - work_elems) * isz):
                err += 1
            ch = ch + nt
    if err == 0 and gw != NULL:
        # gw[k, p] = sum over threads of gwt[p, k]
        for t in range(nt):
            mine = parts + (t * per_thread + (xt_elems if gx != NULL else 0)) * isz
            for k in range(g.K):
                for i in range(CRS):
                    if dtype == FLOAT32:
                        (<float*>gw)[k * CRS + i] += (<float*>mine)[i * g.K + k]
                    else:
                        (<double*>gw)[k * CRS + i] += (<double*>mine)[i * g.K + k]
    if err == 0 and gx != NULL:
        if dtype == FLOAT32:
            _unbatch_input_grad(g, <float*>parts, nt, per_thread, Hp, Wp, <float*>gx)
        else:
            _unbatch_input_grad(g, <double*>parts, nt, per_thread, Hp, Wp, <double*>gx)
    free(block)
    return -1 if err else 0


cdef int _run_forward_batched(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                              const char* bp, char* op, int nt) except -1:
    """out = conv(x, w) + bias over NOTE [ Batch-innermost convolution ]."""
    cdef bint cached
    cdef int err
    cdef char* scratch = _scratch_acquire(_batched_scratch(g, 4 if dtype == FLOAT32 else 8,
                                                           g.Hp, g.Wp, nt), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d: out of memory for the batched input copy")
    with nogil:
        err = _forward_batched(g, dtype, xp, wp, bp, op, g.Hp, g.Wp, scratch, nt)
    _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_backward_batched(const ConvGeometry* g, int dtype, const char* xp,
                               const char* wp, const char* gop, char* gxp, char* gwp,
                               int nt) except -1:
    """gx and gw (each when not NULL; gw zeroed) by the batch-innermost backward, in one
    pass when both are wanted."""
    cdef int err
    with nogil:
        err = _backward_batched(g, dtype, xp, wp, gop, gxp, gwp, g.Hp, g.Wp, nt)
    if err:
        raise MemoryError("conv2d_backward: out of memory for scratch buffers")
    return 0
