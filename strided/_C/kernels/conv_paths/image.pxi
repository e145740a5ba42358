# Included by strided/_C/kernels/conv.pyx (one extension module): the per-image packed path
# (PATH_IMAGE), NOTE [ Convolution as GEMM ] image by image: B packed from the input
# windows for the forward (x itself for a pointwise convolution), im2col into a scratch
# col for the weight gradient, col = W^T @ go[n] and col2im for the input gradient.
# Usable on every float convolution: the fallback of every choice.

cdef int _forward_image(const ConvGeometry* g, int dtype, const char* x, const char* w,
                        const char* bias, char* out, int64_t n, int nthreads) noexcept nogil:
    """out[n] = conv(x[n], w) + bias, all groups (NOTE [ Convolution as GEMM ])."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, grp
    cdef WindowSource ws
    cdef const char* xg
    cdef const char* A
    cdef char* C
    cdef int err
    ws.g = g
    ws.NR = gemm_nr(dtype)
    for grp in range(g.groups):
        xg = x + (n * g.xs[0] + grp * g.Cg * g.xs[1]) * isz
        A = w + grp * g.Kg * CgRS * isz
        C = out + (n * g.K + grp * g.Kg) * OHW * isz
        if _pointwise(g):
            err = gemm_strided_threads(dtype, g.Kg, OHW, g.Cg, 1.0, A, CgRS, 1,
                                       xg, g.xs[1], g.xs[3], 0.0, C, OHW, 1, nthreads)
        else:
            ws.x = xg
            err = gemm_packed_b(dtype, g.Kg, OHW, CgRS, 1.0, A, CgRS, 1,
                                _pack_windows_f if dtype == FLOAT32 else _pack_windows_d,
                                &ws, 0.0, C, OHW, 1, nthreads)
        if err:
            return -1
    if bias != NULL:
        C = out + n * g.K * OHW * isz
        if dtype == FLOAT32:
            _add_bias(<float*>C, <const float*>bias, g.K, OHW)
        else:
            _add_bias(<double*>C, <const double*>bias, g.K, OHW)
    return 0


cdef int _backward_image(const ConvGeometry* g, int dtype, const char* x, const char* w,
                         const char* go, char* gx, char* gw, char* col, int64_t n,
                         int nthreads) noexcept nogil:
    """gw += grad wrt weight of image n (when gw); gx[n] = grad wrt input (when gx).
    col: scratch of Cg*R*S*OH*OW elements (unused for pointwise convolutions)."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef int64_t CgRS = g.Cg * g.R * g.S, OHW = g.OH * g.OW, HW = g.H * g.W, grp
    cdef const char* xg
    cdef const char* wg
    cdef const char* gog
    cdef char* gxg
    cdef bint pw = _pointwise(g)
    for grp in range(g.groups):
        xg = x + (n * g.xs[0] + grp * g.Cg * g.xs[1]) * isz
        wg = w + grp * g.Kg * CgRS * isz
        gog = go + (n * g.K + grp * g.Kg) * OHW * isz
        if gw != NULL:
            if pw:
                if gemm_strided_threads(dtype, CgRS, g.Kg, OHW, 1.0, xg, g.xs[1], g.xs[3],
                                        gog, 1, OHW, 1.0,
                                        gw + grp * g.Kg * CgRS * isz, 1, CgRS, nthreads):
                    return -1
            else:
                if dtype == FLOAT32:
                    _im2col(g, <const float*>xg, <float*>col, OHW)
                else:
                    _im2col(g, <const double*>xg, <double*>col, OHW)
                if gemm_strided_threads(dtype, CgRS, g.Kg, OHW, 1.0, col, OHW, 1,
                                        gog, 1, OHW, 1.0,
                                        gw + grp * g.Kg * CgRS * isz, 1, CgRS, nthreads):
                    return -1
        if gx != NULL:
            gxg = gx + (n * g.C + grp * g.Cg) * HW * isz
            if pw:
                if gemm_strided_threads(dtype, g.Cg, OHW, g.Kg, 1.0, wg, 1, CgRS,
                                        gog, OHW, 1, 0.0, gxg, HW, 1, nthreads):
                    return -1
            else:
                if gemm_strided_threads(dtype, CgRS, OHW, g.Kg, 1.0, wg, 1, CgRS,
                                        gog, OHW, 1, 0.0, col, OHW, 1, nthreads):
                    return -1
                if dtype == FLOAT32:
                    _col2im(g, <const float*>col, <float*>gxg, OHW)
                else:
                    _col2im(g, <const double*>col, <double*>gxg, OHW)
    return 0


cdef int _run_forward_image(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                            const char* bp, char* op, int nt, bint by_batch) except -1:
    """out = conv(x, w) + bias image by image: a range of images per thread (by_batch), or
    nt threads in each image's GEMM."""
    cdef int64_t n, chunk
    cdef int t, err = 0
    with nogil:
        if by_batch:
            chunk = (g.N + nt - 1) // nt
            for t in prange(nt, num_threads=nt, schedule="static"):
                for n in range(t * chunk, min(g.N, (t + 1) * chunk)):
                    if _forward_image(g, dtype, xp, wp, bp, op, n, 1):
                        err += 1
        else:
            for n in range(g.N):
                if _forward_image(g, dtype, xp, wp, bp, op, n, nt):
                    err = 1
                    break
    if err:
        raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
    return 0


cdef int _run_backward_image(const ConvGeometry* g, int dtype, const char* xp, const char* wp,
                             const char* gop, char* gxp, char* gwp, int nt,
                             bint by_batch) except -1:
    """gx (when not NULL) and gw (when not NULL, zeroed) image by image, both from one pass
    over the batch (they share the im2col scratch); whole images per thread with per-thread
    weight-gradient partials, summed (by_batch), or nt threads in each GEMM."""
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8, CgRS = g.Cg * g.R * g.S, n, chunk
    cdef int nparts = nt if by_batch else 1, t, err = 0
    cdef int64_t col_elems = 0 if _pointwise(g) else CgRS * g.OH * g.OW
    cdef int64_t gw_elems = g.K * CgRS if (gwp != NULL and by_batch) else 0
    cdef int64_t per_thread = (col_elems + gw_elems + 15) // 16 * 16
    cdef bint cached
    cdef char* scratch = _scratch_acquire(<size_t>(per_thread * nparts * isz), &cached)
    if scratch == NULL:
        raise MemoryError("conv2d_backward: out of memory for the im2col buffer")
    if gw_elems:
        memset(scratch, 0, per_thread * nparts * isz)
    try:
        with nogil:
            if by_batch:
                chunk = (g.N + nt - 1) // nt
                for t in prange(nt, num_threads=nt, schedule="static"):
                    for n in range(t * chunk, min(g.N, (t + 1) * chunk)):
                        if _backward_image(g, dtype, xp, wp, gop, gxp,
                                           (scratch + (t * per_thread + col_elems) * isz)
                                           if gwp != NULL else NULL,
                                           scratch + t * per_thread * isz, n, 1):
                            err += 1
            else:
                for n in range(g.N):
                    if _backward_image(g, dtype, xp, wp, gop, gxp, gwp, scratch, n, nt):
                        err = 1
                        break
        if by_batch and gwp != NULL and err == 0:
            _reduce_parts(dtype, gwp, scratch + col_elems * isz, nparts, per_thread, g.K * CgRS)
    finally:
        _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return 0
