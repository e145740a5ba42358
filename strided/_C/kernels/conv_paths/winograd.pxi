# Included by strided/_C/kernels/conv.pyx (one extension module).
#
# NOTE [ Winograd convolution ]
# A 3x3 convolution with stride 1, no dilation and one group computes each 2x2 block of
# outputs from the 4x4 block of inputs under it with 16 multiplications per (input
# channel, output channel) instead of 36: F(2x2, 3x3) of Lavin and Gray, "Fast Algorithms
# for Convolutional Neural Networks" (2016),
#     Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element by element)
# d the 4x4 input tile (zero outside the image), g the 3x3 kernel,
#     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
#     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
#     A^T = [1 1 1 0; 0 1 -1 -1]
# Summed over the input channels, the products of each of the 16 positions xi of the
# transformed tile are one GEMM:
#     M[xi] (K x P) = U[xi] (K x C) @ V[xi] (C x P)
# U[xi][k, c] = (G g[k, c] G^T)[xi] (transformed once per call, packed once per K block as
# the GEMM's A: NOTE [ Offset-B block with packed A ] in gemm.pxd), V[xi][c, j] = (B^T d B)[xi]
# of input channel c's tile j, and the output tile j of channel k is A^T M[.][k, j] A.
# 2.25x fewer multiply-adds than the direct GEMM; the transforms are additions only (their
# coefficients are 0, +-1 and +-1/2), O(C + K) per tile against the GEMMs' O(C K).
#
# The tiles are taken a block of whole tile rows at a time (winograd_tiles columns or one
# tile row), so a block's V and M (16 C and 16 K rows of P columns) stay in the caches
# between the input transform, the 16 GEMMs and the output transform; blocks run in
# parallel, one per thread, each with its own V and M.  Each tile's sums run in the same
# order whatever the blocks (their size shrinks so each thread gets two), so the result
# does not depend on the thread count.  The transforms are C loops in
# kernels/conv_kernels.h, each separable into a pass over rows and one over columns so
# that its inner loops run over all the tiles of a run of tile rows (NOTE [ Winograd input
# transform ], NOTE [ Winograd output transform ]), built per instruction set (NOTE
# [ Convolution transforms per instruction set ]).
# Rounding: the output is a sum of up to 9 of the M values, which can be larger than it,
# so the error is a few times the direct GEMM's (float32 against a float64 reference:
# test_winograd_rounding_and_threads in tests/test_conv.py); PyTorch's oneDNN and cuDNN
# offer Winograd too.  The input gradient of such a convolution is one again (NOTE
# [ Convolution over the padded image ]'s _input_grad_geometry: grad_output convolved with
# the flipped, transposed weight), so it runs here as well; the weight gradient has its
# own form (NOTE [ Winograd weight gradient ] below).

cdef inline bint _winograd_usable(const ConvGeometry* g) noexcept nogil:
    return (g.R == 3 and g.S == 3 and g.sH == 1 and g.sW == 1 and g.dH == 1 and g.dW == 1
            and g.groups == 1 and g.pH >= 0 and g.pW >= 0 and g.OH > 0 and g.OW > 0)


cdef inline bint _winograd_auto(const ConvGeometry* g) noexcept nogil:
    """Usable, with at least winograd_min_c input and winograd_min_k output channels (the
    transforms' cost per tile grows with C + K, the GEMMs' saving with C K) and
    winograd_min_tiles output tiles in the batch (the weight's transform, 16 K C, is
    paid once per call) (NOTE [ Convolution thresholds ])."""
    return (_winograd_usable(g) and g.C >= _T.winograd_min_c and g.K >= _T.winograd_min_k
            and g.N * ((g.OH + 1) // 2) * ((g.OW + 1) // 2) >= _T.winograd_min_tiles)


cdef inline int64_t _wino_kc(const ConvGeometry* g) noexcept nogil:
    """Input channels per GEMM K block: the block's packed U[xi] (K x kc) stays within
    winograd_a_elems elements, at least 16 channels."""
    return min(g.C, max(<int64_t>16, _T.winograd_a_elems // g.K))


cdef inline int64_t _wino_rows(const ConvGeometry* g, int nt) noexcept nogil:
    """Tile rows per block: winograd_tiles tiles, fewer when that leaves a thread without
    two blocks, at least one row."""
    cdef int64_t TW = (g.OW + 1) // 2, nrows = g.N * ((g.OH + 1) // 2)
    return max(<int64_t>1, min(_T.winograd_tiles // TW, (nrows + 2 * nt - 1) // (2 * nt)))


cdef inline int64_t _al(int64_t n) noexcept nogil:
    return (n + 15) // 16 * 16                  # elements, so each part starts 64-byte aligned


cdef inline int64_t _wino_in_buf(int64_t rows, int64_t TW) noexcept nogil:
    """Elements of the input transform's buffer for up to rows tile rows (NOTE [ Winograd
    input transform ] in kernels/conv_kernels.h: 8 arrays of rows + 1 slots of TW)."""
    return _al(8 * (rows + 1) * TW)


cdef void _wino_sizes(const ConvGeometry* g, int dtype, int nt, int64_t* u_elems,
                      int64_t* upk_elems, int64_t* part_elems) noexcept nogil:
    """Scratch layout (elements of the dtype, after the kc b_off entries): the transformed
    weight (16 K C), its packed K blocks, then one part per thread: V (16 C Pst plus the
    offset-B kernel's reach), M (16 K Pst) and the transforms' buffer."""
    cdef int64_t kc = _wino_kc(g), nkb = (g.C + kc - 1) // kc
    cdef int64_t TW = (g.OW + 1) // 2, Pst = _wino_rows(g, nt) * TW
    u_elems[0] = _al(16 * g.K * g.C)
    upk_elems[0] = _al(16 * nkb * gemm_packed_a_elems(dtype, g.K, kc))
    part_elems[0] = (_al(16 * g.C * Pst + gemm_offb_reach(dtype) + 1) + _al(16 * g.K * Pst)
                     + _wino_in_buf(_wino_rows(g, nt), TW))


cdef void _wino_input(const ConvGeometry* g, const floating* x, int64_t r0, int64_t r1,
                      floating* V, int64_t Pst, floating* buf) noexcept nogil:
    """V[xi, c, (t - r0)*TW + tw] = (B^T d B)[xi] for the tiles tw of tile rows t = r0 ..
    r1 (n * TH + th), every input channel c (V's rows Pst apart, xi's blocks C rows
    apart), by NOTE [ Winograd input transform ]; buf: _wino_in_buf(r1 - r0, TW)
    elements."""
    cdef int64_t TW = (g.OW + 1) // 2, TH = (g.OH + 1) // 2
    if floating is float:
        strided_wino_input_f32(gemm_isa(), x, g.xs[0], g.xs[1], g.xs[2], g.xs[3], g.C, g.H,
                               g.W, g.pH, g.pW, TH, TW, r0, r1, V, Pst, g.C * Pst, buf)
    else:
        strided_wino_input_f64(gemm_isa(), x, g.xs[0], g.xs[1], g.xs[2], g.xs[3], g.C, g.H,
                               g.W, g.pH, g.pW, TH, TW, r0, r1, V, Pst, g.C * Pst, buf)


cdef void _wino_output(const ConvGeometry* g, const floating* M, int64_t Pst, int64_t r0,
                       int64_t r1, const floating* bias, floating* out,
                       floating* buf) noexcept nogil:
    """out[n, k, 2th + 0..1, :] = A^T M[., k, (t - r0)*TW + tw] A (+ bias[k]) for tile rows
    t = r0 .. r1 (n * TH + th), every k (out contiguous), by NOTE [ Winograd output
    transform ]; buf: 8 (r1 - r0) TW elements (the input transform's buffer)."""
    cdef int64_t TW = (g.OW + 1) // 2, TH = (g.OH + 1) // 2
    if floating is float:
        strided_wino_output_f32(gemm_isa(), M, g.K * Pst, Pst, g.K, g.OH, g.OW, TH, TW, r0, r1,
                                bias, out, buf)
    else:
        strided_wino_output_f64(gemm_isa(), M, g.K * Pst, Pst, g.K, g.OH, g.OW, TH, TW, r0, r1,
                                bias, out, buf)


cdef int _wino_block(const ConvGeometry* g, int dtype, const char* x, const char* bias,
                     char* out, const char* upk, const int64_t* boff, int64_t r0, int64_t r1,
                     int64_t Pst, char* part) noexcept nogil:
    """Tile rows r0 .. r1 (numbered over the batch: n * TH + th) on the calling thread, V's
    and M's rows Pst apart."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t TW = (g.OW + 1) // 2
    cdef int64_t kc = _wino_kc(g), nkb = (g.C + kc - 1) // kc, kb, kcb, xi
    cdef int64_t P = (r1 - r0) * TW
    cdef int64_t apk = gemm_packed_a_elems(dtype, g.K, kc)
    cdef char* V = part
    cdef char* M = V + _al(16 * g.C * Pst + gemm_offb_reach(dtype) + 1) * isz
    cdef char* buf = M + _al(16 * g.K * Pst) * isz
    if dtype == FLOAT32:
        _wino_input(g, <const float*>x, r0, r1, <float*>V, Pst, <float*>buf)
    else:
        _wino_input(g, <const double*>x, r0, r1, <double*>V, Pst, <double*>buf)
    for xi in range(16):
        for kb in range(nkb):
            kcb = min(kc, g.C - kb * kc)
            gemm_offset_b_block(dtype, g.K, P, kcb, upk + (xi * nkb + kb) * apk * isz,
                                V + (xi * g.C + kb * kc) * Pst * isz, boff,
                                0.0 if kb == 0 else 1.0, M + xi * g.K * Pst * isz, Pst)
    if dtype == FLOAT32:
        _wino_output(g, <const float*>M, Pst, r0, r1, <const float*>bias, <float*>out,
                     <float*>buf)
    else:
        _wino_output(g, <const double*>M, Pst, r0, r1, <const double*>bias, <double*>out,
                     <double*>buf)
    return 0


cdef void _winograd_forward(const ConvGeometry* g, int dtype, const char* x, const char* w,
                            const char* bias, char* out, char* scratch, int nt) noexcept nogil:
    """out = conv(x, w) + bias by NOTE [ Winograd convolution ] on nt threads; scratch
    holds _winograd_scratch(g, dtype, nt) bytes."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t u_elems, upk_elems, part_elems, q, p, xi, kb, kcb
    cdef int64_t kc = _wino_kc(g), nkb = (g.C + kc - 1) // kc
    cdef int64_t TH = (g.OH + 1) // 2, TW = (g.OW + 1) // 2, rows = _wino_rows(g, nt)
    cdef int64_t Pst = rows * TW, nrows = g.N * TH, nblocks = (nrows + rows - 1) // rows, blk
    cdef int64_t apk = gemm_packed_a_elems(dtype, g.K, kc)
    _wino_sizes(g, dtype, nt, &u_elems, &upk_elems, &part_elems)
    cdef int64_t* boff = <int64_t*>scratch
    cdef char* U = scratch + _al(kc) * 8
    cdef char* upk = U + u_elems * isz
    cdef char* parts = upk + upk_elems * isz
    for p in range(kc):
        boff[p] = p * Pst
    for q in prange((g.K * g.C + 1023) // 1024, num_threads=nt, schedule="static"):
        if dtype == FLOAT32:        # U = G w G^T (NOTE [ Winograd transforms ])
            strided_wino_weight_f32(<const float*>w, <float*>U, g.K * g.C, q * 1024,
                                    min(g.K * g.C, (q + 1) * 1024))
        else:
            strided_wino_weight_f64(<const double*>w, <double*>U, g.K * g.C, q * 1024,
                                    min(g.K * g.C, (q + 1) * 1024))
    for q in prange(16 * nkb, num_threads=nt, schedule="static"):
        xi = q // nkb
        kb = q - xi * nkb
        kcb = min(kc, g.C - kb * kc)
        gemm_pack_a(dtype, U + (xi * g.K * g.C + kb * kc) * isz, g.C, 1, g.K, kcb,
                    upk + q * apk * isz)
    for blk in prange(nblocks, num_threads=nt, schedule="dynamic"):
        _wino_block(g, dtype, x, bias, out, upk, boff, blk * rows,
                    min(nrows, (blk + 1) * rows), Pst, parts + threadid() * part_elems * isz)


cdef size_t _winograd_scratch(const ConvGeometry* g, int dtype, int nt) noexcept nogil:
    cdef int64_t u_elems, upk_elems, part_elems, isz = 4 if dtype == FLOAT32 else 8
    _wino_sizes(g, dtype, nt, &u_elems, &upk_elems, &part_elems)
    return _al(_wino_kc(g)) * 8 + (u_elems + upk_elems + nt * part_elems) * isz


cdef int _run_forward_winograd(const ConvGeometry* g, int dtype, const char* xp,
                               const char* wp, const char* bp, char* op, int nt) except -1:
    """out = conv(x, w) + bias over NOTE [ Winograd convolution ]."""
    cdef bint cached
    cdef char* scratch = _scratch_acquire(_winograd_scratch(g, dtype, nt), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d: out of memory for the Winograd transforms")
    with nogil:
        _winograd_forward(g, dtype, xp, wp, bp, op, scratch, nt)
    _scratch_release(scratch, cached)
    return 0


cdef bint _input_grad_winograd_usable(const ConvGeometry* g) noexcept nogil:
    cdef ConvGeometry t
    return _input_grad_geometry(g, &t) and _winograd_usable(&t)


cdef bint _input_grad_winograd_auto(const ConvGeometry* g) noexcept nogil:
    cdef ConvGeometry t
    return _input_grad_geometry(g, &t) and _winograd_auto(&t)


cdef int _run_input_grad_winograd(const ConvGeometry* g, int dtype, const char* gop, Tensor w,
                                  char* gxp, int nt) except -1:
    """gx = grad_input over NOTE [ Winograd convolution ] (g must have an input-gradient
    geometry that is usable)."""
    cdef ConvGeometry t
    _input_grad_geometry(g, &t)
    cdef int64_t wsz[4]
    wsz[0], wsz[1], wsz[2], wsz[3] = g.C, g.Kg, g.R, g.S
    cdef Tensor wt = new_tensor(4, wsz, w._dtype, False)
    cdef const char* wp = data_of(w)
    cdef char* wtp = data_of(wt)
    cdef int64_t q
    with nogil:
        for q in prange(g.groups * g.Cg, num_threads=nt, schedule="static"):
            if dtype == FLOAT32:
                _flip_transpose(g, <const float*>wp, <float*>wtp, q)
            else:
                _flip_transpose(g, <const double*>wp, <double*>wtp, q)
    return _run_forward_winograd(&t, dtype, gop, wtp, NULL, gxp, nt)


# NOTE [ Winograd weight gradient ]
# The weight gradient of the same layers, as the gradient of the Winograd form itself (an
# exact identity in exact arithmetic, since that form is the convolution):
#     dU[xi] (K x C) = sum over tiles j of Z[xi][k, j] V[xi][c, j],   Z = A dy A^T
#     dw[k, c] = G^T dU[., k, c] G
# dy the 2x2 tile of grad_output (zero past the last row or column), V the input transform
# of the forward.  The tiles are taken in chunks of whole tile rows (at most
# winograd_wgrad_chunk elements of V and Z together): the transforms of a chunk in
# parallel over its tile rows, then its 16 GEMMs dU[xi] += Z[xi] @ V[xi]^T in parallel
# over xi, each on one thread.  The chunks do not depend on the thread count, and each
# dU[xi] sums them in order, so neither does the result.  2.25x fewer multiply-adds than
# the direct weight gradient, each GEMM's K the chunk's tiles.

cdef inline int64_t _wino_wchunk(const ConvGeometry* g) noexcept nogil:
    """Tiles per chunk: whole tile rows, V and Z (16 (C + K) rows) within
    winograd_wgrad_chunk elements, but at least winograd_tiles tiles (the GEMMs' K) and
    one tile row."""
    cdef int64_t TW = (g.OW + 1) // 2
    cdef int64_t tiles = max(_T.winograd_tiles, _T.winograd_wgrad_chunk // (16 * (g.C + g.K)))
    return max(<int64_t>1, tiles // TW) * TW


cdef void _wino_gout(const ConvGeometry* g, const floating* go, int64_t r0, int64_t r1,
                     floating* Z, int64_t Pst, floating* buf) noexcept nogil:
    """Z[xi, k, (t - r0)*TW + tw] = (A dy A^T)[xi] for the tiles of tile rows t = r0 .. r1
    (n * TH + th), every output channel k (go contiguous (N, K, OH, OW)), by NOTE
    [ Winograd output-gradient transform ]; buf: 8 (r1 - r0) TW elements."""
    cdef int64_t TW = (g.OW + 1) // 2, TH = (g.OH + 1) // 2
    if floating is float:
        strided_wino_gout_f32(gemm_isa(), go, g.K, g.OH, g.OW, TH, TW, r0, r1, Z, Pst,
                              g.K * Pst, buf)
    else:
        strided_wino_gout_f64(gemm_isa(), go, g.K, g.OH, g.OW, TH, TW, r0, r1, Z, Pst,
                              g.K * Pst, buf)


cdef inline int64_t _wino_wpart(const ConvGeometry* g) noexcept nogil:
    """Elements of one thread's part of the scratch: its dU (16 K C), a chunk's V and Z,
    and the transforms' buffer."""
    cdef int64_t Tst = _wino_wchunk(g)
    return (_al(16 * g.K * g.C) + _al(16 * g.C * Tst) + _al(16 * g.K * Tst)
            + _wino_in_buf(Tst // ((g.OW + 1) // 2), (g.OW + 1) // 2))


cdef int _wino_wchunk_run(const ConvGeometry* g, int dtype, const char* x, const char* go,
                          int64_t c0, int64_t c1, bint first, char* part) noexcept nogil:
    """Tile rows c0 .. c1 of the weight gradient on the calling thread: their transforms,
    then dU[xi] (+)= Z[xi] @ V[xi]^T into the part's dU (= when first)."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t TW = (g.OW + 1) // 2, Tst = _wino_wchunk(g), KC = g.K * g.C
    cdef int64_t T = (c1 - c0) * TW, xi
    cdef char* dU = part
    cdef char* V = dU + _al(16 * KC) * isz
    cdef char* Z = V + _al(16 * g.C * Tst) * isz
    cdef char* buf = Z + _al(16 * g.K * Tst) * isz
    if dtype == FLOAT32:
        _wino_input(g, <const float*>x, c0, c1, <float*>V, Tst, <float*>buf)
        _wino_gout(g, <const float*>go, c0, c1, <float*>Z, Tst, <float*>buf)
    else:
        _wino_input(g, <const double*>x, c0, c1, <double*>V, Tst, <double*>buf)
        _wino_gout(g, <const double*>go, c0, c1, <double*>Z, Tst, <double*>buf)
    for xi in range(16):
        # dU[xi] (K x C) (+)= Z[xi] (K x T) @ V[xi]^T (T x C)
        if gemm_strided_threads(dtype, g.K, g.C, T, 1.0, Z + xi * g.K * Tst * isz, Tst, 1,
                                V + xi * g.C * Tst * isz, 1, Tst, 0.0 if first else 1.0,
                                dU + xi * KC * isz, g.C, 1, 1):
            return -1
    return 0


cdef int _winograd_weight_grad(const ConvGeometry* g, int dtype, const char* x,
                               const char* go, char* gw, char* scratch,
                               int nt) noexcept nogil:
    """gw = the weight gradient by NOTE [ Winograd weight gradient ] on nt threads; scratch
    holds _winograd_wgrad_scratch(g, dtype, nt) bytes."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8, per = _wino_wpart(g) * isz
    cdef int64_t TW = (g.OW + 1) // 2, nrows = g.N * ((g.OH + 1) // 2)
    cdef int64_t crows = _wino_wchunk(g) // TW, nchunks = (nrows + crows - 1) // crows
    cdef int64_t KC = g.K * g.C, ch, q, i, j
    cdef int t, u, parts = <int>min(<int64_t>nt, nchunks), err = 0
    for t in prange(parts, num_threads=parts, schedule="static"):
        # chunks t, t + parts, ... on thread t, summed in order into its dU
        ch = t
        while ch < nchunks:
            if _wino_wchunk_run(g, dtype, x, go, ch * crows, min(nrows, (ch + 1) * crows),
                                ch == t, scratch + t * per):
                err += 1
            ch = ch + parts
    for q in prange((16 * KC + 4095) // 4096, num_threads=nt, schedule="static"):
        # the parts' dU added in order into the first
        i = q * 4096
        j = min(16 * KC, i + 4096)
        for u in range(1, parts):
            if dtype == FLOAT32:
                _add_into(<float*>scratch + i, <const float*>(scratch + u * per) + i, j - i)
            else:
                _add_into(<double*>scratch + i, <const double*>(scratch + u * per) + i, j - i)
    for q in prange((KC + 1023) // 1024, num_threads=nt, schedule="static"):
        if dtype == FLOAT32:        # dw = G^T dU G (NOTE [ Winograd transforms ])
            strided_wino_wgrad_f32(<const float*>scratch, <float*>gw, KC, q * 1024,
                                   min(KC, (q + 1) * 1024))
        else:
            strided_wino_wgrad_f64(<const double*>scratch, <double*>gw, KC, q * 1024,
                                   min(KC, (q + 1) * 1024))
    return -1 if err else 0


cdef inline void _add_into(floating* dst, const floating* src, int64_t n) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        dst[i] = dst[i] + src[i]


cdef size_t _winograd_wgrad_scratch(const ConvGeometry* g, int dtype, int nt) noexcept nogil:
    return nt * _wino_wpart(g) * (4 if dtype == FLOAT32 else 8)


cdef int _run_weight_grad_winograd(const ConvGeometry* g, int dtype, const char* xp,
                                   const char* gop, char* gwp, int nt) except -1:
    """gw = the weight gradient over NOTE [ Winograd weight gradient ]."""
    cdef bint cached
    cdef int err
    cdef char* scratch = _scratch_acquire(_winograd_wgrad_scratch(g, dtype, nt), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d_backward: out of memory for the Winograd transforms")
    with nogil:
        err = _winograd_weight_grad(g, dtype, xp, gop, gwp, scratch, nt)
    _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return 0


def _winograd_transforms(Tensor x not None, Tensor w not None, padding, Tensor m not None,
                         Tensor go not None, int isa):
    """Test hook (NOTE [ Convolution transforms per instruction set ]): the transforms of
    the whole batch as one block, by the build for instruction-set level isa (0 baseline,
    1 avx2, 2 avx512): (V, out, Z) with V (16, C, P) the input transform of x, out (N, K, OH,
    OW) the output transform of m (16, K, P) (no bias) and Z (16, K, P) the output-gradient
    transform of go (N, K, OH, OW); P = N * ceil(OH/2) * ceil(OW/2) tiles, numbered n, th,
    tw.  w gives K and must be 3x3; padding is (pH, pW) or (pH, pW, pH_end, pW_end); m and go
    must be contiguous, every tensor of x's dtype (float32 or float64)."""
    cdef ConvGeometry g
    if isa < 0 or isa > isa_level():
        raise ValueError(f"_winograd_transforms: isa must be 0 .. {isa_level()} on this CPU "
                         f"(under STRIDED_ISA), got {isa}")
    _geometry_of(&g, x, w, (1, 1), padding, (1, 1), 1)
    if not _winograd_usable(&g) or x._dtype.num not in (FLOAT32, FLOAT64):
        raise ValueError("_winograd_transforms: expected a float 3x3 geometry Winograd can run")
    cdef int dt = x._dtype.num
    cdef int64_t TH = (g.OH + 1) // 2, TW = (g.OW + 1) // 2, rows = g.N * TH, P = rows * TW
    cdef int64_t vs[3]
    cdef int64_t os[4]
    vs[0], vs[1], vs[2] = 16, g.C, P
    os[0], os[1], os[2], os[3] = g.N, g.K, g.OH, g.OW
    if (m._dtype.num != dt or go._dtype.num != dt or not m._contiguous or not go._contiguous
            or tuple(m.shape) != (16, g.K, P) or tuple(go.shape) != (g.N, g.K, g.OH, g.OW)):
        raise ValueError(f"_winograd_transforms: expected contiguous m of shape (16, {g.K}, "
                         f"{P}) and go of shape ({g.N}, {g.K}, {g.OH}, {g.OW}), x's dtype")
    cdef Tensor V = new_tensor(3, vs, x._dtype, True)
    cdef Tensor out = new_tensor(4, os, x._dtype, True)
    vs[1] = g.K
    cdef Tensor Z = new_tensor(3, vs, x._dtype, True)
    cdef int64_t isz = 4 if dt == FLOAT32 else 8
    cdef char* buf = <char*>malloc(_wino_in_buf(rows, TW) * isz)
    if buf == NULL:
        raise MemoryError("_winograd_transforms: out of memory")
    cdef const char* xp = data_of(x)
    cdef char* Vp = data_of(V)
    cdef char* outp = data_of(out)
    cdef char* Zp = data_of(Z)
    cdef const char* mp = data_of(m)
    cdef const char* gop = data_of(go)
    if dt == FLOAT32:
        strided_wino_input_f32(isa, <const float*>xp, g.xs[0], g.xs[1], g.xs[2], g.xs[3], g.C,
                               g.H, g.W, g.pH, g.pW, TH, TW, 0, rows, <float*>Vp, P, g.C * P,
                               <float*>buf)
        strided_wino_output_f32(isa, <const float*>mp, g.K * P, P, g.K, g.OH, g.OW, TH, TW, 0,
                                rows, NULL, <float*>outp, <float*>buf)
        strided_wino_gout_f32(isa, <const float*>gop, g.K, g.OH, g.OW, TH, TW, 0, rows,
                              <float*>Zp, P, g.K * P, <float*>buf)
    else:
        strided_wino_input_f64(isa, <const double*>xp, g.xs[0], g.xs[1], g.xs[2], g.xs[3],
                               g.C, g.H, g.W, g.pH, g.pW, TH, TW, 0, rows, <double*>Vp, P,
                               g.C * P, <double*>buf)
        strided_wino_output_f64(isa, <const double*>mp, g.K * P, P, g.K, g.OH, g.OW, TH, TW,
                                0, rows, NULL, <double*>outp, <double*>buf)
        strided_wino_gout_f64(isa, <const double*>gop, g.K, g.OH, g.OW, TH, TW, 0, rows,
                              <double*>Zp, P, g.K * P, <double*>buf)
    free(buf)
    return V, out, Z
