# Included by strided/_C/kernels/conv.pyx (one extension module): the packed path over
# blocks of images (PATH_BLOCKS) -- forward, input gradient, weight gradient.

# NOTE [ Forward over image blocks ]
# Per image, the packed path repacks all of W for a GEMM of only OH*OW columns: on small
# outputs (ResNet's 8x8 stage: 64 columns against 256 x 2304 weights) packing A costs a
# tenth of the arithmetic.  So nb images share one GEMM, the window packer running on from
# one image into the next, its (Kg x nb*OH*OW) result going to scratch and from there to
# out (adding the bias).  Usable on every convolution but the pointwise ones (whose col is
# the input itself); chosen while a block holds more than one image (forward_block_columns,
# NOTE [ Convolution thresholds ]).

cdef inline int64_t _forward_block_images(const ConvGeometry* g) noexcept nogil:
    """Images per GEMM on the packed path: enough for ~forward_block_columns columns."""
    cdef int64_t nb = _T.forward_block_columns // (g.OH * g.OW)
    return 1 if nb < 1 else nb


cdef int _forward_images(const ConvGeometry* g, int dtype, const char* x, const char* w,
                         const char* bias, char* out, int64_t n0, int64_t nb, char* res,
                         int nthreads) noexcept nogil:
    """out[n0 : n0+nb] = conv(x[n0 : n0+nb], w) + bias, one GEMM per group (NOTE [ Forward
    over image blocks ]); res: scratch of Kg*nb*OH*OW elements."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, cols = nb * OHW, grp, i, k, q
    cdef WindowSource ws
    cdef const char* bg
    ws.g = g
    ws.NR = gemm_nr(dtype)
    for grp in range(g.groups):
        ws.x = x + (n0 * g.xs[0] + grp * g.Cg * g.xs[1]) * isz
        if gemm_packed_b(dtype, g.Kg, cols, CgRS, 1.0, w + grp * g.Kg * CgRS * isz, CgRS, 1,
                         _pack_windows_f if dtype == FLOAT32 else _pack_windows_d,
                         &ws, 0.0, res, cols, 1, nthreads):
            return -1
        bg = bias + grp * g.Kg * isz if bias != NULL else NULL
        for i in range(nb):
            for k in range(g.Kg):
                if dtype == FLOAT32:
                    _copy_plus_bias(<const float*>res + k * cols + i * OHW,
                                    <float*>out + ((n0 + i) * g.K + grp * g.Kg + k) * OHW, OHW,
                                    (<const float*>bg)[k] if bg != NULL else 0)
                else:
                    _copy_plus_bias(<const double*>res + k * cols + i * OHW,
                                    <double*>out + ((n0 + i) * g.K + grp * g.Kg + k) * OHW, OHW,
                                    (<const double*>bg)[k] if bg != NULL else 0)
    return 0


# NOTE [ Input gradient over image blocks ]
# As NOTE [ Forward over image blocks ]: per image, grad_input's GEMM col = W^T @ go[n]
# repacks all of W for OH*OW columns.  On small outputs nb images share one GEMM -- B is
# their output gradients side by side, packed by _pack_grads -- and col2im scatters each
# image's columns.  Chosen when the weight gradient is not computed image by image
# alongside (which shares col with the per-image input gradient) and a block holds more
# than one image (input_grad_block_columns).

cdef struct GradSource:
    const char* go              # grad_output element (n0, g*Kg, 0, 0)
    int64_t image_stride        # K*OH*OW
    int64_t row_stride          # OH*OW: between output channels, and columns per image
    int64_t NR                  # the GEMM's, for the dtype (NOTE [ Convolution on the GEMM's tile ])


cdef inline void _pack_grads_t(const GradSource* gs, int64_t p0, int64_t kc, int64_t j0,
                               int64_t nc, floating* dst, const int64_t NR) noexcept nogil:
    """B[p0:p0+kc, j0:j0+nc] of NOTE [ Input gradient over image blocks ] (row k, column
    i*OH*OW + q = go[n0 + i, k, q]) as NR-wide slivers (NOTE [ Packed B panels ])."""
    cdef const floating* go = <const floating*>gs.go
    cdef int64_t OHW = gs.row_stride, p, t, img, q, end
    for p in range(kc):
        img = j0 // OHW
        q = j0 - img * OHW
        t = 0
        while t < nc:
            end = t + (OHW - q)
            if end > nc:
                end = nc
            _pack_run(dst, kc, p, t, end, go + img * gs.image_stride + (p0 + p) * OHW + q, 1,
                      NR)
            t = end
            img += 1
            q = 0
        _zero_sliver_tail(dst, kc, p, nc, NR)


cdef void _pack_grads_f(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                        char* dst) noexcept nogil:
    cdef const GradSource* gs = <const GradSource*>src
    if gs.NR == 16:             # NOTE [ Convolution on the GEMM's tile ]
        _pack_grads_t(gs, p0, kc, j0, nc, <float*>dst, 16)
    elif gs.NR == 32:
        _pack_grads_t(gs, p0, kc, j0, nc, <float*>dst, 32)
    else:
        _pack_grads_t(gs, p0, kc, j0, nc, <float*>dst, gs.NR)


cdef void _pack_grads_d(const void* src, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                        char* dst) noexcept nogil:
    cdef const GradSource* gs = <const GradSource*>src
    if gs.NR == 8:
        _pack_grads_t(gs, p0, kc, j0, nc, <double*>dst, 8)
    elif gs.NR == 16:
        _pack_grads_t(gs, p0, kc, j0, nc, <double*>dst, 16)
    else:
        _pack_grads_t(gs, p0, kc, j0, nc, <double*>dst, gs.NR)


cdef inline int64_t _input_grad_block_images(const ConvGeometry* g) noexcept nogil:
    """Images per GEMM for the input gradient: ~input_grad_block_columns columns (col stays
    a few MB)."""
    cdef int64_t nb = _T.input_grad_block_columns // (g.OH * g.OW)
    return 1 if nb < 1 else nb


cdef int _input_grad_images(const ConvGeometry* g, int dtype, const char* w, const char* go,
                            char* gx, int64_t n0, int64_t nb, char* col,
                            int nthreads) noexcept nogil:
    """gx[n0 : n0+nb] = grad_input for those images (NOTE [ Input gradient over image
    blocks ]); col: scratch of Cg*R*S*nb*OH*OW elements; gx zeroed beforehand."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, HW = g.H * g.W
    cdef int64_t cols = nb * OHW, grp, i
    cdef GradSource gs
    cdef char* gxg
    gs.image_stride = g.K * OHW
    gs.row_stride = OHW
    gs.NR = gemm_nr(dtype)
    for grp in range(g.groups):
        gs.go = go + (n0 * g.K + grp * g.Kg) * OHW * isz
        if gemm_packed_b(dtype, CgRS, cols, g.Kg, 1.0, w + grp * g.Kg * CgRS * isz, 1, CgRS,
                         _pack_grads_f if dtype == FLOAT32 else _pack_grads_d, &gs,
                         0.0, col, cols, 1, nthreads):
            return -1
        for i in range(nb):
            gxg = gx + ((n0 + i) * g.C + grp * g.Cg) * HW * isz
            if dtype == FLOAT32:
                _col2im(g, <const float*>col + i * OHW, <float*>gxg, cols)
            else:
                _col2im(g, <const double*>col + i * OHW, <double*>gxg, cols)
    return 0


# NOTE [ Weight gradient over image blocks ]
# Per image, the weight gradient is a GEMM of depth OH*OW: gw (K x C*R*S) += go[n] @ col^T.
# On small outputs (ResNet's 4x4 and 8x8 stages) that depth is 16..64, so every image
# rereads and rewrites the whole gw (9 MB for 512 -> 512 3x3).  Instead nb images' im2col
# go side by side into one (C*R*S x nb*OH*OW) buffer, their output gradients into a
# (K x nb*OH*OW) one, and one multithreaded GEMM of depth nb*OH*OW >= weight_block_depth
# adds them.  Usable with one group, not pointwise, while the two buffers stay within
# weight_block_max_elems; chosen on outputs of fewer than weight_block_depth positions of
# layers above weight_block_min_layer (NOTE [ Convolution thresholds ]).

cdef int _weight_grad_blocks(const ConvGeometry* g, int dtype, const char* x, const char* go,
                             char* gw, int64_t nb, int nthreads) noexcept nogil:
    """gw (K x C*R*S, zeroed) = sum over n of go[n] @ im2col(x[n])^T, nb images per GEMM
    (groups == 1).  Returns -1 when out of memory."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CRS = g.C * g.R * g.S, OHW = g.OH * g.OW, ld = nb * OHW, n0, b, k, cnt
    cdef char* col = <char*>malloc((CRS + g.K) * ld * isz)
    cdef char* gt
    if col == NULL:
        return -1
    gt = col + CRS * ld * isz
    n0 = 0
    while n0 < g.N:
        cnt = nb if n0 + nb <= g.N else g.N - n0
        # the copies are a quarter of the time on 4x4 outputs: split them over the threads
        # too, an image each
        for b in prange(cnt, num_threads=nthreads if nthreads < cnt else cnt,
                        schedule="static"):
            if dtype == FLOAT32:
                _im2col(g, <const float*>(x + (n0 + b) * g.xs[0] * isz),
                        <float*>col + b * OHW, ld)
            else:
                _im2col(g, <const double*>(x + (n0 + b) * g.xs[0] * isz),
                        <double*>col + b * OHW, ld)
            for k in range(g.K):
                memcpy(gt + (k * ld + b * OHW) * isz,
                       go + (((n0 + b) * g.K + k) * OHW) * isz, OHW * isz)
        if gemm_strided_threads(dtype, g.K, CRS, cnt * OHW, 1.0, gt, ld, 1, col, 1, ld,
                                1.0, gw, CRS, 1, nthreads):
            free(col)
            return -1
        n0 += cnt
    free(col)
    return 0


cdef inline int64_t _weight_block_images(const ConvGeometry* g) noexcept nogil:
    """Images per GEMM of NOTE [ Weight gradient over image blocks ]: a depth of at least
    weight_block_depth, at most the batch."""
    cdef int64_t nb = (_T.weight_block_depth + g.OH * g.OW - 1) // (g.OH * g.OW)
    return nb if nb < g.N else g.N


cdef inline bint _blocks_usable(const ConvGeometry* g) noexcept nogil:
    """Forward and input gradient over image blocks: any convolution but a pointwise one."""
    return not _pointwise(g)


cdef inline bint _weight_blocks_usable(const ConvGeometry* g) noexcept nogil:
    return (g.groups == 1 and not _pointwise(g) and (g.C * g.R * g.S + g.K)
            * _weight_block_images(g) * g.OH * g.OW <= _T.weight_block_max_elems)


cdef inline bint _weight_blocks_auto(const ConvGeometry* g) noexcept nogil:
    return (_weight_blocks_usable(g) and g.OH * g.OW < _T.weight_block_depth
            and _weight_block_images(g) > 1
            and g.C * g.R * g.S * g.K > _T.weight_block_min_layer)


cdef int _run_forward_blocks(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                             const char* bp, char* op, int nt, bint by_batch) except -1:
    """out = conv(x, w) + bias over NOTE [ Forward over image blocks ]: a range of images
    per thread (by_batch), or block by block with nt threads in each GEMM."""
    cdef int64_t nb = _forward_block_images(g), n, chunk
    cdef int64_t per = (g.Kg * nb * g.OH * g.OW + 15) // 16 * 16 * (4 if dtype == FLOAT32 else 8)
    cdef bint cached
    cdef int t, err = 0
    cdef char* scratch = _scratch_acquire(per * (nt if by_batch else 1), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d: out of memory for the GEMM's result")
    with nogil:
        if by_batch:
            chunk = (g.N + nt - 1) // nt
            for t in prange(nt, num_threads=nt, schedule="static"):
                n = t * chunk
                while n < min(g.N, (t + 1) * chunk):
                    if _forward_images(g, dtype, xp, wp, bp, op, n,
                                       min(nb, min(g.N, (t + 1) * chunk) - n),
                                       scratch + t * per, 1):
                        err += 1
                    n = n + nb
        else:
            n = 0
            while n < g.N:
                if _forward_images(g, dtype, xp, wp, bp, op, n, min(nb, g.N - n),
                                   scratch, nt):
                    err = 1
                    break
                n += nb
    _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_input_grad_blocks(const ConvGeometry* g, int dtype, const char* wp,
                                const char* gop, char* gxp, int nt, bint by_batch) except -1:
    """gx = grad_input over NOTE [ Input gradient over image blocks ] (gx zeroed)."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8, CgRS = g.Cg * g.R * g.S
    cdef int64_t nbx = _input_grad_block_images(g), n, chunk
    cdef int64_t per_x = (CgRS * nbx * g.OH * g.OW + 15) // 16 * 16 * isz
    cdef int nparts = nt if by_batch else 1, t, err = 0
    cdef bint cached_x
    cdef char* scratch_x = _scratch_acquire(per_x * nparts, &cached_x)
    if scratch_x == NULL:
        raise MemoryError("conv2d_backward: out of memory for the col buffer")
    with nogil:
        if by_batch:
            chunk = (g.N + nt - 1) // nt
            for t in prange(nt, num_threads=nt, schedule="static"):
                n = t * chunk
                while n < min(g.N, (t + 1) * chunk):
                    if _input_grad_images(g, dtype, wp, gop, gxp, n,
                                          min(nbx, min(g.N, (t + 1) * chunk) - n),
                                          scratch_x + t * per_x, 1):
                        err += 1
                    n = n + nbx
        else:
            n = 0
            while n < g.N:
                if _input_grad_images(g, dtype, wp, gop, gxp, n, min(nbx, g.N - n),
                                      scratch_x, nt):
                    err = 1
                    break
                n += nbx
    _scratch_release(scratch_x, cached_x)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_weight_grad_blocks(const ConvGeometry* g, int dtype, const char* xp,
                                 const char* gop, char* gwp) except -1:
    """gw (zeroed) = the weight gradient over NOTE [ Weight gradient over image blocks ], on
    all threads."""
    cdef int err
    cdef int64_t nb = _weight_block_images(g)
    with nogil:
        err = _weight_grad_blocks(g, dtype, xp, gop, gwp, nb, get_max_threads())
    if err:
        raise MemoryError("conv2d_backward: out of memory for the im2col buffer")
    return 0
