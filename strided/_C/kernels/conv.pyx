# Layer: kernels, mixed: the Tensor-level entry points (conv2d_forward, ...) are at the end
# of this file, next to the kernels they drive (strided/_C/README.md; issue 18 splits it).
"""Convolution kernels on the GEMM: forward, and the backward for input, weight and bias.

The caller (strided.nn.functional) normalises and checks the arguments; here x is any
strided (N, C, H, W) tensor, w a contiguous (K, C/groups, R, S) tensor, grad_output a
contiguous (N, K, OH, OW) tensor, bias a contiguous (K,) tensor or None.  Results are new
contiguous tensors.

NOTE [ Convolution as GEMM ]
For image n and group g (Cg = C/groups input channels, Kg = K/groups output channels):

    out[n, g] (Kg x OH*OW)  =  W[g] (Kg x Cg*R*S)  @  col (Cg*R*S x OH*OW)  (+ bias)
    col[(c, r, s), (oh, ow)] = x[n, g*Cg + c, oh*sH - pH + r*dH, ow*sW - pW + s*dW]
                               (0 outside the input)

The paths, chosen per call by the layer's shape:
  - forward: the GEMM reads col's rows in place from a padded, stride-phase-split copy of
    the image, nothing packed (NOTE [ Convolution over the padded image ]), wherever the
    extra columns that costs stay under what packing would; else B panels are packed
    straight from the input windows (an implicit GEMM, NOTE [ Packed B panels ] in
    gemm.pxd), several images per GEMM on small outputs (NOTE [ Forward over image
    blocks ]); small layers copy the batch batch-innermost instead (NOTE [ Batch-innermost
    convolution ]).  col never exists.
  - grad_input: for stride 1 the convolution of grad_output with the flipped, transposed
    weight on the offset path; else col_grad = W[g]^T @ grad_out[n, g] and a scatter-add
    (col2im), several images per GEMM on small outputs (NOTE [ Input gradient over image
    blocks ]).
  - grad_weight: an offset-A GEMM over the padded image (NOTE [ Weight gradient over the
    padded image ]); on small outputs im2col of blocks of images (NOTE [ Weight gradient
    over image blocks ]); else im2col per image into a per-thread scratch buffer, cached
    across calls:

    grad_W[g]^T += col @ grad_out[n, g]^T                    (summed over the batch; this
                   orientation packs col along its contiguous rows: ~2.5x faster than
                   grad_out @ col^T for a ResNet layer)
    grad_bias[k] = sum over n, oh, ow of grad_out[n, k]

A 1x1 convolution with stride 1 and no padding reads x[n, g] itself as col (when its
H and W dims merge) -- no im2col.  Groups are separate GEMMs on slices: no zero blocks.
Work is split over the batch (one thread per image range, single-threaded GEMMs) when the
batch has at least as many images as threads, else each GEMM runs on all threads.
"""
cimport cython
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t, int32_t, uint8_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy

cdef extern from *:
    void __builtin_prefetch(const void* addr, int rw, int locality) nogil

cdef extern from "conv_kernels.h" nogil:
    void strided_gather2_f32(float* dst, const float* src, int64_t n)
    void strided_gather2_f64(double* dst, const double* src, int64_t n)

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64, UINT8, INT32, INT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.core.threads cimport num_threads_for, get_max_threads
from strided._C.kernels.gemm cimport (gemm_strided_threads, gemm_packed_b, gemm_offset_a,
                               gemm_offset_b, gemm_nr, gemm_offb_w, gemm_offb_reach,
                               gemm_packed_a_elems, gemm_pack_a, gemm_offset_b_block,
                               GEMM_NR_MAX)

cdef enum:
    GRAIN = 1 << 17          # multiply-adds per thread below which a thread is not worth it
    BATCH_CHUNK = 1 << 15    # GEMM result elements per chunk (NOTE [ Batch-innermost convolution ])
    BACKWARD_MIN_K = 256     # fewest columns (positions x images) per backward chunk
    TAPS_MAX = 16            # column taps whose column range _tap_band precomputes

INDEX_MAX = 2**62            # NOTE [ Convolution geometry fits in int64 ]

# NOTE [ Convolution on the GEMM's tile ]
# Every tile size comes from the GEMM's kernel table in use (NOTE [ GEMM kernel tables ] in
# gemm_kernel.h), per dtype, read when a call starts (gemm_nr, gemm_offb_w,
# gemm_offb_reach in gemm.pxd): NR for the packers' slivers (NOTE [ Packed B panels ]),
# the offset-B kernels' reach past a row's end for the padded copies' trailing zeros
# (NOTE [ Offset-B GEMM ]), and NR and the half-tile width for the path choice's column
# counts.  The packers divide by NR for every run they write and copy NR elements per
# sliver row, so each has one inline body taking NR as an argument, called from a switch
# over the widths the tables have (16, 32 for float32; 8, 16 for float64): there NR is a
# constant and the division a shift, as when NR was a compile-time constant here.  Other
# widths (no table has one) run the same body with NR read at run time.
# The convolution runs on the GEMM's table (the widest the CPU has), not one of its own.
# benchmarks/bench_conv.py, default against STRIDED_ISA=avx2, on an Intel Xeon with AVX-512
# (2 cores, 1 thread, medians): the avx512 table is 1.4-2.0x faster on the 3x3 layers
# (--only "conv 3x3"), LeNet conv2 and digits conv2 (--only LeNet digits) break even or
# gain, but the layers with one input channel lose, their few output channels padding the
# 12-row tile: digits conv1 (1 -> 16 on 8x8) forward 0.65x, forward+backward 0.80x, LeNet
# conv1 (1 -> 6) forward+backward 0.92x.  gemm._set_kernel("avx2") (or STRIDED_ISA=avx2)
# runs everything on the avx2 table to compare.


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


# --------------------------------------------------------------------------------------
# Per-image drivers
# --------------------------------------------------------------------------------------

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


# NOTE [ Forward over image blocks ]
# Per image, the packed path repacks all of W for a GEMM of only OH*OW columns: on small
# outputs (ResNet's 8x8 stage: 64 columns against 256 x 2304 weights) packing A costs a
# tenth of the arithmetic.  So nb images share one GEMM, the window packer running on from
# one image into the next, its (Kg x nb*OH*OW) result going to scratch and from there to
# out (adding the bias).  Forward ms, 3x3, batch 32, 2 threads, one image per GEMM ->
# blocks: 256 -> 256 on 8x8 17.7 -> 16.1, 256 -> 512 stride 2 on 8x8 11.3 -> 8.2, 512 ->
# 512 on 4x4 22.6 -> 16.7, 256 -> 256 on 7x7 16.6 -> 13.3.

cdef inline int64_t _forward_block_images(const ConvGeometry* g) noexcept nogil:
    """Images per GEMM on the packed path: enough for ~1024 columns."""
    cdef int64_t nb = 1024 // (g.OH * g.OW)
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


cdef inline void _copy_plus_bias(const floating* src, floating* dst, int64_t n,
                                 floating b) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        dst[i] = src[i] + b


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
# zeros.  Forward ms, 3x3, batch 32, 2 threads, packed -> this path: 64 -> 64
# on 56x56 52 -> 42, on 32x32 17.6 -> 13.7, 128 -> 128 on 16x16 16.6 -> 13.8, 64 -> 128
# stride 2 on 32x32 9.0 -> 7.5 (on 56x56 25.7 -> 25.5: the phase copy is 6% of it; most
# strided layers now copy column taps instead, NOTE [ Column taps for strided convolutions ]).

cdef int _offset_mode = -1           # -1: automatic; 0/1 forced (tests, experiments)


def _set_offset_path(int mode):
    """Force the offset path (NOTE [ Convolution over the padded image ]) on (1, when the
    geometry allows it) or off (0); -1: automatic."""
    global _offset_mode
    _offset_mode = mode


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
    """K block for the offset GEMM: ~85 distinct rows of xp per block, which is where 3x3
    stride 1 measured best (KC 256 = 28 channels x 3 rows); stride 2 reads 6 rows of the
    phases per channel, and 64 -> 128 on 56x56 went 26.2 -> 24.7 ms at blocks of ~128."""
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
    return 85 * g.R * g.S // rows


cdef inline int64_t _offset_positions(const ConvGeometry* g, int64_t Wh) noexcept nogil:
    """Columns of the offset path's GEMM over the phase width: (OH - 1)*Wh + OW."""
    return (g.OH - 1) * Wh + g.OW


cdef int64_t _row_slots(const ConvGeometry* g, int64_t NR, int64_t H) noexcept nogil:
    """Micro-kernel columns spent on the output in tiles of two half-slivers of H columns
    (gemm_offb_w) that never cross a row's end (NOTE [ Offset-B GEMM ]): NR per tile, 3/4
    NR for a tile of one half (the half-width kernel measured at 2/3 of a full tile's time,
    avx2 table).  Walks the halves of the output rows as the GEMM does."""
    cdef int64_t full = g.OW // H, halves = full + (1 if g.OW % H else 0)
    cdef int64_t total = g.OH * halves, i = 0, slots = 0
    while i < total:
        if i % halves < full and i + 1 < total:     # a full half takes the next one along
            slots += NR
            i += 2
        else:
            slots += NR * 3 // 4
            i += 1
    return slots


cdef inline bint _offset_by_rows(const ConvGeometry* g, int64_t Wh, int64_t NR,
                                 int64_t H) noexcept nogil:
    """Tiles per output row (no extra columns; out is written in place) rather than over
    the padded width: whichever spends fewer micro-kernel columns (NR, H: the tile's width
    and half width)."""
    return _row_slots(g, NR, H) <= (_offset_positions(g, Wh) + NR - 1) // NR * NR


cdef bint _use_offset(const ConvGeometry* g, int64_t Wh, bint taps) noexcept nogil:
    """Stride 1 (and not pointwise), unless the extra columns cost more than packing saves:
    the micro-kernel columns it spends (_row_slots, or over the padded width), against the
    packed path's, may grow by at most a factor 1 + 32/Kg (each packed element feeds Kg
    multiply-adds).  Measured, 2 threads, batch 32, 3x3 C -> C, ms packed / offset: 64 on
    56x56 52 / 42, 128 on 28x28 48 / 45, 256 on 28x28 174 / 176, 256 on 14x14 48 / 51
    (packed kept), 256 on 8x8 16.1 / 14.4, 512 on 7x7 48 / 61 (packed kept), 64 on 8x8
    1.65 / 0.97, 64 -> 8 on 28x28 6.0 / 2.0 (float32, avx2 table).  Columns are counted
    in the float32 tile (NR, half width) of the table in use, for both dtypes: on the avx2
    table that is the 16 columns these measurements were made with."""
    cdef int64_t cols_offset, cols_packed
    cdef int64_t NR = gemm_nr(FLOAT32), H = gemm_offb_w(FLOAT32)
    if _pointwise(g) or not _padded_copy_fits(g):
        return False
    if _offset_mode >= 0:
        return _offset_mode == 1
    if taps:                            # NOTE [ Column taps for strided convolutions ]
        cols_offset = (g.OH * g.OW + NR - 1) // NR * NR
    else:
        cols_offset = min((_offset_positions(g, Wh) + NR - 1) // NR * NR, _row_slots(g, NR, H))
    cols_packed = g.OH * g.OW           # over image blocks (NOTE [ Forward over image blocks ])
    if _forward_block_images(g) == 1:
        cols_packed = (cols_packed + NR - 1) // NR * NR
    return cols_offset * g.Kg <= cols_packed * (g.Kg + 32)


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
    sH times, rows skipped: 2x slower for stride 2)."""
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
# copied element feeds Kg multiply-adds, _use_taps), so it is made in cache: out[n] is computed a band of output rows at a time
# and, within a band, a chunk of channels at a time -- copy the chunk's rows of xt that
# the band reads (a few KB), then add their K block's product into the band of out
# (gemm_offset_b_block, A packed once per call: NOTE [ Offset-B block with packed A ]).
# The copy stays in L1/L2 and so does the band of out.  Bands of all images are shared
# out among the threads, so one image keeps both busy.  While a chunk is copied, the next
# chunk's input rows are prefetched: a band reads short runs of each channel, too short
# for the hardware prefetcher (without it the copy stalled on them for a third of its time).
# Measured, forward, batch 32, 2 threads: 64 -> 128 on 56x56 24.4 -> 22.5 ms (the phase
# layout's extra columns, its compaction and packing A per image are gone; the GEMM runs at
# ~91% of the FMA peak) and the copy is ~8% of what remains -- twice its cost in isolation,
# and no faster with AVX2 gathers, a split into even/odd rows plus memcpy, or prefetching
# the rows it writes.  Copying the whole image a chunk at a time (no bands) measured 23.7.

cdef int _tap_mode = -1              # -1: automatic; 0/1 forced (tests, experiments)


def _set_taps(int mode):
    """Force column taps (NOTE [ Column taps for strided convolutions ]) on (1) or off (0)
    wherever the offset path runs; -1: automatic."""
    global _tap_mode
    _tap_mode = mode


cdef int64_t _band_positions = 336   # output positions per band (whole rows, at least one)
cdef int64_t _chunk_taps = 108       # K rows per chunk (whole channels, at least one)


def _set_tap_blocks(int64_t positions=336, int64_t taps=108):
    """Band and chunk sizes of NOTE [ Column taps for strided convolutions ] (tests,
    tuning); no arguments: the defaults.  Forward ms, 3x3 stride 2, batch 32, 2 threads,
    band positions / chunk taps 224/108, 336/108, 448/108, 224/72, 336/144: 64 -> 128 on
    56x56 22.6, 22.5, 23.2, 22.8, 23.0; 128 -> 256 on 28x28 22.6, 22.7, 22.6, 23.3, 23.0."""
    global _band_positions, _chunk_taps
    _band_positions = positions
    _chunk_taps = taps


cdef inline int64_t _band_rows(const ConvGeometry* g) noexcept nogil:
    """Output rows per band."""
    return max(1, min(g.OH, _band_positions // g.OW))


cdef inline int64_t _band_phase_rows(const ConvGeometry* g) noexcept nogil:
    """Rows i of xt a band reads: its output rows plus the reach of the kernel's taps."""
    return _band_rows(g) + ((g.R - 1) * g.dH) // g.sH


cdef inline int64_t _tap_channels(const ConvGeometry* g) noexcept nogil:
    """Channels per chunk."""
    return max(1, min(g.Cg, _chunk_taps // (g.R * g.S)))


cdef inline int64_t _tap_band_elems(const ConvGeometry* g, int64_t tail) noexcept nogil:
    """Elements of a band's chunk of xt, `tail` trailing zeros (the offset-B kernel's
    reach), rounded up to 16 (64 bytes of float32)."""
    return (g.S * g.sH * _tap_channels(g) * _band_phase_rows(g) * g.OW + tail + 15) // 16 * 16


cdef bint _use_taps(const ConvGeometry* g) noexcept nogil:
    """Column taps rather than the phase layout (or packing B) for the forward pass: when
    each copied element feeds enough multiply-adds and the copy grows by at most
    (sW + S - 1)/sW -- stride > 1: Kg >= 64, Cg >= 16, S <= sW + 1; stride 1 (the copy is
    S times the image's): Kg >= 128, Cg >= 16, S <= 3.  Forward ms, batch 32, 2 threads,
    before -> taps: 3x3 stride 2 64 -> 128 on 56x56 25.8 -> 23.0, 128 -> 256 on 28x28
    25.1 -> 22.7, on 16x16 7.8 -> 7.3, 256 -> 512 on 8x8 8.1 -> 7.9; 3x3 stride 1 128 ->
    128 on 28x28 45.5 -> 42.3, on 16x16 14.2 / 14.3, 256 -> 256 on 14x14 48.4 -> 44.4, on
    8x8 14.8 -> 14.1, 512 -> 512 on 7x7 45.8 / 46.4, on 4x4 16.8 -> 15.2, 64 -> 128 on
    28x28 23.6 -> 21.6.  Kept off: 3x3 stride 1 64 -> 64 on 56x56 42.1 / 44.0, on 32x32
    13.9 / 14.7, 32 -> 32 on 32x32 3.9 / 4.2; stride 2 3 -> 64 on 32x32 0.205 / 0.221,
    5x5 16 -> 32 on 28x28 1.26 / 1.33, 7x7 3 -> 64 on 224x224 (batch 8) 10.4 / 12.5."""
    if _tap_mode >= 0:
        return _tap_mode == 1
    if g.Cg < 16:
        return False
    if g.sW == 1:
        return g.Kg >= 128 and g.S <= 3
    return g.S <= g.sW + 1 and g.Kg >= 64


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


# NOTE [ Input gradient over image blocks ]
# As NOTE [ Forward over image blocks ]: per image, grad_input's GEMM col = W^T @ go[n]
# repacks all of W for OH*OW columns.  On small outputs nb images share one GEMM -- B is
# their output gradients side by side, packed by _pack_grads -- and col2im scatters each
# image's columns.  grad_input ms, 3x3, batch 32, 2 threads, one image per GEMM -> blocks:
# 256 -> 512 stride 2 on 8x8 10.9 -> 9.0, 512 -> 512 on 4x4 21.4 -> 20.0, 256 -> 256 on
# 7x7 14.7 -> 13.8, but 256 -> 256 on 8x8 16.3 -> 17.2 (that one takes the offset path).

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
    """Images per GEMM for the input gradient: ~512 columns (col stays a few MB)."""
    cdef int64_t nb = 512 // (g.OH * g.OW)
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


# NOTE [ Weight gradient over the padded image ]
# With stride 1 the weight gradient needs no im2col either: over output positions numbered
# across the padded width (NOTE [ Convolution over the padded image ]),
#     gw[g]^T (Cg*R*S x Kg) += col (Cg*R*S x Np) @ go'^T (Np x Kg)
# where row (c, r, s) of col is the run xp[c*Hh*Wh + r*dH*Wh + s*dW ...] of the padded
# image (an offset-A GEMM, NOTE [ Offset-A GEMM ] in gemm.pxd, packing A straight from
# those rows) and go' is go[n, g] spread over the padded width with zeros in the extra
# columns.  Partial sums go to per-thread gw^T buffers, added and transposed into gw at
# the end.  Used while the extra columns stay under 1/8 of the positions.

cdef inline bint _use_weight_offset(const ConvGeometry* g, int64_t Wh) noexcept nogil:
    if _pointwise(g) or _offset_mode == 0 or not _padded_copy_fits(g):
        return False
    return _offset_mode == 1 or 8 * _offset_positions(g, Wh) <= 9 * g.OH * g.OW


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


# NOTE [ Weight gradient over image blocks ]
# Per image, the weight gradient is a GEMM of depth OH*OW: gw (K x C*R*S) += go[n] @ col^T.
# On small outputs (ResNet's 4x4 and 8x8 stages) that depth is 16..64, so every image
# rereads and rewrites the whole gw (9 MB for 512 -> 512 3x3).  Instead nb images' im2col
# go side by side into one (C*R*S x nb*OH*OW) buffer, their output gradients into a
# (K x nb*OH*OW) one, and one multithreaded GEMM of depth nb*OH*OW >= 256 adds them:
# ResNet-18's 512 -> 512 layer on 4x4, batch 32, 2 threads: 25-60 ms -> (see the README).

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


# --------------------------------------------------------------------------------------
# Small convolutions: the whole batch as one GEMM, batch innermost
# --------------------------------------------------------------------------------------
#
# NOTE [ Batch-innermost convolution ]
# With few output channels K (the GEMM's m) each packed element of B feeds only K
# multiply-adds, so packing B costs as much as the arithmetic: the per-image packer copies
# runs of OW elements (4..28 in a small CNN) and spends ~1 ns an element on run bookkeeping
# (LeNet conv2, 64x6x14x14 -> 16: 1.5 ms, of which the GEMM is 0.5 ms).  Small images add
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
# (One GEMM over the whole batch lost to the per-image path on large outputs, 0.5x for
# 64x3x32x32 -> 32: its result went through memory twice.  Chunked, it breaks even there.)
#
# Measured forward, 1 thread, float32, batch 64, ms, per-image path -> this one (shared
# machine, medians): LeNet conv1 1->6 5x5 on 28x28 0.64 -> 0.35, LeNet conv2 6->16 5x5
# on 14x14 1.47 -> 0.57 (the GEMM alone: 0.45), digits conv1 1->16 3x3 on 8x8 0.09 ->
# 0.08, digits conv2 16->32 3x3 on 4x4 0.60 -> 0.16; 16x16x32x32 -> 16: 6.0 -> 1.7.
# Larger layers (32x64x28x28 -> 64) break even.  Used by _use_batched(): one group, a
# batch of >= 8, an input copy of <= 4M elements; the backward's rules are in
# conv2d_backward.

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


cdef int _batched_mode = -1          # -1: automatic; 0/1 forced (tests)


def _set_batched(int mode):
    """Force the batch-innermost path on (1, groups == 1 only) or off (0); -1: automatic."""
    global _batched_mode
    _batched_mode = mode


cdef bint _use_batched(const ConvGeometry* g, int64_t Hp, int64_t Wp) noexcept nogil:
    """NOTE [ Batch-innermost convolution ]: one group, a batch of >= 8, an input copy of at
    most 4M elements, and a small layer (C*R*S*K <= 16K) or a small output (<= 32
    positions) of a mid-sized layer (C*R*S*K <= 512K).  Forward ms, 2 threads, batch 32,
    3x3, packed over image blocks / batched: 128 -> 128 on 4x4 1.6 / 1.1, 64 -> 64 on 4x4
    0.60 / 0.53, 512 -> 512 on 4x4 16.4 / 16.7, 256 -> 512 stride 2 on 8x8 8.1 / 9.1."""
    if g.groups != 1 or not _padded_copy_fits(g):
        return False
    if _batched_mode >= 0:
        return _batched_mode == 1
    return (g.N >= 8 and not _pointwise(g) and g.C * Hp * Wp * g.N <= (1 << 22)
            and (g.C * g.R * g.S * g.K <= (1 << 14)
                 or (g.OH * g.OW <= 32 and g.C * g.R * g.S * g.K <= (1 << 19))))


cdef inline int64_t _chunk_positions(const ConvGeometry* g) noexcept nogil:
    """Output positions per GEMM: its (K, positions*N) result stays within ~128 KiB."""
    cdef int64_t qc = BATCH_CHUNK // (g.K * g.N)
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
#                             measured 1.2-1.7x faster than with B = Gt^T, a transposing pack)
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
    at least BACKWARD_MIN_K columns: they are the depth of the weight gradient's GEMM, and
    a shallow one rereads the whole (C*R*S x K) accumulator per chunk (ResNet's 512-channel
    4x4 layer: 1 position x 32 images made the backward 2x slower than PyTorch's)."""
    cdef int64_t qc = BATCH_CHUNK * 2 // (g.C * g.R * g.S * g.N)
    cdef int64_t qmin = (BACKWARD_MIN_K + g.N - 1) // g.N
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


# --------------------------------------------------------------------------------------
# Integer dtypes: a direct loop
# --------------------------------------------------------------------------------------
#
# NOTE [ Integer convolution ]
# PyTorch's CPU conv2d also takes uint8, int32 and int64 tensors (not bool) and computes in
# the tensor's own type, wrapping on overflow.  Integer convolutions are rare and never
# trained (no gradients), so they take a plain direct loop over the taps -- correct, not
# fast.  The sum runs in uint64_t, where wrap-around is defined; the result modulo 2**bits
# is what the same sum in the narrower type gives (two's complement).

ctypedef fused conv_int_t:
    uint8_t
    int32_t
    int64_t


cdef void _conv_int_row(const ConvGeometry* g, const conv_int_t* x, const conv_int_t* w,
                        const conv_int_t* bias, conv_int_t* out, int64_t n,
                        int64_t k) noexcept nogil:
    """out[n, k] (OH x OW, contiguous) = bias[k] + sum over the taps (NOTE [ Integer
    convolution ])."""
    cdef int64_t grp = k // g.Kg, c, r, s, oh, ow, ih, iw, CgRS = g.Cg * g.R * g.S
    cdef const conv_int_t* xg = x + n * g.xs[0] + grp * g.Cg * g.xs[1]
    cdef const conv_int_t* wk = w + k * CgRS
    cdef conv_int_t* o = out + (n * g.K + k) * g.OH * g.OW
    cdef uint64_t acc, b = <uint64_t><int64_t>bias[k] if bias != NULL else 0
    for oh in range(g.OH):
        for ow in range(g.OW):
            acc = b
            for c in range(g.Cg):
                for r in range(g.R):
                    ih = oh * g.sH - g.pH + r * g.dH
                    if ih < 0 or ih >= g.H:
                        continue
                    for s in range(g.S):
                        iw = ow * g.sW - g.pW + s * g.dW
                        if iw < 0 or iw >= g.W:
                            continue
                        acc += (<uint64_t><int64_t>wk[(c * g.R + r) * g.S + s]
                                * <uint64_t><int64_t>xg[c * g.xs[1] + ih * g.xs[2] + iw * g.xs[3]])
            o[oh * g.OW + ow] = <conv_int_t>acc


cdef void _conv_int(const ConvGeometry* g, int dtype, const char* x, const char* w,
                    const char* bias, char* out) noexcept nogil:
    cdef int64_t i, rows = g.N * g.K
    cdef int nt = num_threads_for(rows * g.OH * g.OW * g.Cg * g.R * g.S, GRAIN)
    for i in prange(rows, num_threads=nt, schedule="static"):
        if dtype == UINT8:
            _conv_int_row(g, <const uint8_t*>x, <const uint8_t*>w, <const uint8_t*>bias,
                          <uint8_t*>out, i // g.K, i % g.K)
        elif dtype == INT32:
            _conv_int_row(g, <const int32_t*>x, <const int32_t*>w, <const int32_t*>bias,
                          <int32_t*>out, i // g.K, i % g.K)
        else:
            _conv_int_row(g, <const int64_t*>x, <const int64_t*>w, <const int64_t*>bias,
                          <int64_t*>out, i // g.K, i % g.K)


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


# --------------------------------------------------------------------------------------
# Tensor-level entry points
# --------------------------------------------------------------------------------------

cdef int _geometry(ConvGeometry* g, Tensor x, Tensor w, int64_t sH, int64_t sW, int64_t pH,
                   int64_t pW, int64_t dH, int64_t dW, int64_t groups, int64_t pH_end,
                   int64_t pW_end) except -1:
    """pH, pW pad the top and left; pH_end, pW_end (-1: the same) the bottom and right."""
    cdef int d
    if x._ndim != 4 or w._ndim != 4:
        raise RuntimeError("conv2d kernel: expected 4-D input and weight")
    if x._dtype.num not in (FLOAT32, FLOAT64, UINT8, INT32, INT64) or w._dtype.num != x._dtype.num:
        raise TypeError("conv2d kernel: input and weight must be of one dtype: float32, "
                        "float64 (or, forward only, uint8, int32, int64)")
    if not w._contiguous:
        raise RuntimeError("conv2d kernel: weight must be contiguous")
    if sH < 1 or sW < 1 or dH < 1 or dW < 1 or pH < 0 or pW < 0 or groups < 1:
        raise RuntimeError("conv2d kernel: bad stride, padding, dilation or groups")
    g.N, g.C, g.H, g.W = x._sizes[0], x._sizes[1], x._sizes[2], x._sizes[3]
    g.K, g.R, g.S = w._sizes[0], w._sizes[2], w._sizes[3]
    g.sH, g.sW, g.pH, g.pW, g.dH, g.dW = sH, sW, pH, pW, dH, dW
    g.groups = groups
    if g.C % groups or g.K % groups or w._sizes[1] * groups != g.C:
        raise RuntimeError("conv2d kernel: channels do not match groups")
    g.Cg = g.C // groups
    g.Kg = g.K // groups
    if pH_end < 0:
        pH_end = pH
    if pW_end < 0:
        pW_end = pW
    # NOTE [ Convolution geometry fits in int64 ]
    # Every index a kernel computes lies between -pH and the padded size H + pH + pH_end
    # (oh*sH - pH + r*dH with oh < OH), so these sizes, checked here as Python integers,
    # are all the kernels need to stay clear of int64 overflow.  A stride only matters
    # between outputs: with one output along a dim it is lowered to the padded size minus
    # the dilated kernel, plus one (same OH), so a stride of 2**62 reaches no phase or
    # tiling arithmetic.  Workspace is bounded by NOTE [ Workspace bounded by the output ].
    cdef object hp = <object>g.H + pH + pH_end, wp = <object>g.W + pW + pW_end
    cdef object effH = <object>dH * (g.R - 1) + 1, effW = <object>dW * (g.S - 1) + 1
    if max(hp, wp, effH, effW) > INDEX_MAX:
        raise RuntimeError(f"conv2d kernel: padded input ({hp} x {wp}) or dilated kernel "
                           f"({effH} x {effW}) exceeds {INDEX_MAX} elements per dim")
    g.Hp, g.Wp = hp, wp
    if g.Hp < effH or g.Wp < effW:
        raise RuntimeError("conv2d kernel: output size is empty")
    g.OH = (g.Hp - effH) // sH + 1
    g.OW = (g.Wp - effW) // sW + 1
    if g.OH == 1:
        g.sH = g.Hp - effH + 1
    if g.OW == 1:
        g.sW = g.Wp - effW + 1
    for d in range(4):
        g.xs[d] = x._strides[d]
    return 0


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


cdef int _batch_split_mode = -1      # -1: automatic; 0/1 forced (experiments, tests)


def _set_batch_split(int mode):
    """Force splitting over the batch (1) or inside GEMMs (0) on all threads, whatever the
    size (so tests reach both paths on small inputs); -1 restores the default."""
    global _batch_split_mode
    _batch_split_mode = mode


cdef int _split(const ConvGeometry* g, int* nt) noexcept nogil:
    """Threads in all (nt) and whether to split over the batch (1) or inside GEMMs (0)."""
    cdef int64_t work = g.N * g.K * g.OH * g.OW * g.Cg * g.R * g.S
    nt[0] = num_threads_for(work, GRAIN)
    if _batch_split_mode >= 0:
        nt[0] = get_max_threads()          # forced: all threads whatever the size
        return _batch_split_mode if nt[0] > 1 else 0
    return 1 if nt[0] > 1 and g.N >= nt[0] else 0


def conv2d_forward(Tensor x, Tensor w, Tensor bias, int64_t sH, int64_t sW, int64_t pH,
                   int64_t pW, int64_t dH, int64_t dW, int64_t groups, int64_t pH_end=-1,
                   int64_t pW_end=-1):
    """out (N, K, OH, OW), contiguous: the convolution of x (any strides) with w
    (contiguous), plus bias (contiguous (K,), or None)."""
    cdef ConvGeometry g
    cdef int64_t sizes[4]
    cdef int nt = 1, by_batch, t, err = 0
    cdef int64_t n, chunk
    _geometry(&g, x, w, sH, sW, pH, pW, dH, dW, groups, pH_end, pW_end)
    if bias is not None and (bias._numel != g.K or not bias._contiguous
                             or bias._dtype.num != x._dtype.num):
        raise RuntimeError("conv2d kernel: bias must be a contiguous (K,) tensor of x's dtype")
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.K, g.OH, g.OW
    cdef bint empty_sum = g.Cg * g.R * g.S == 0
    cdef Tensor out = new_tensor(4, sizes, x._dtype, empty_sum)
    cdef int dtype = x._dtype.num
    cdef const char* xp = data_of(x)
    cdef const char* wp = data_of(w)
    cdef const char* bp = data_of(bias) if bias is not None else NULL
    cdef char* op = data_of(out)
    if out._numel == 0:
        return out
    if dtype not in (FLOAT32, FLOAT64):
        with nogil:
            _conv_int(&g, dtype, xp, wp, bp, op)
        return out
    if empty_sum:
        # no input channels: the empty sum, plus bias
        if bp != NULL:
            for n in range(g.N):
                if dtype == FLOAT32:
                    _add_bias(<float*>op + n * g.K * g.OH * g.OW, <const float*>bp, g.K, g.OH * g.OW)
                else:
                    _add_bias(<double*>op + n * g.K * g.OH * g.OW, <const double*>bp, g.K, g.OH * g.OW)
        return out
    by_batch = _split(&g, &nt)
    cdef int64_t Hp = g.Hp, Wp = g.Wp
    cdef bint cached
    cdef char* scratch
    cdef int64_t Hh, Wh
    _phase_dims(&g, Hp, Wp, &Hh, &Wh)
    cdef bint taps = _use_taps(&g)
    cdef bint offset = _use_offset(&g, Wh, taps) and not (_use_batched(&g, Hp, Wp)
                                                          and g.OH * g.OW <= 32)
    if offset and taps:
        nt = num_threads_for(g.N * g.K * g.OH * g.OW * g.Cg * g.R * g.S, GRAIN)
        scratch = _scratch_acquire(_taps_scratch(&g, dtype, nt), &cached)
        if scratch == NULL:
            raise MemoryError("conv2d: out of memory for the input's column taps")
        with nogil:
            _forward_taps(&g, dtype, xp, wp, bp, op, scratch, nt)
        _scratch_release(scratch, cached)
        return out
    if offset:
        scratch = _scratch_acquire(_offset_scratch(&g, dtype, Hh, Wh, nt if by_batch else 1),
                                   &cached)
        if scratch == NULL:
            raise MemoryError("conv2d: out of memory for the padded input copy")
        with nogil:
            err = _forward_offset(&g, dtype, xp, wp, bp, op, Hh, Wh, scratch, nt, by_batch)
        _scratch_release(scratch, cached)
        if err:
            raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
        return out
    if _use_batched(&g, Hp, Wp):
        scratch = _scratch_acquire(_batched_scratch(&g, 4 if dtype == FLOAT32 else 8, Hp, Wp,
                                                    nt), &cached)
        if scratch == NULL:
            raise MemoryError("conv2d: out of memory for the batched input copy")
        with nogil:
            err = _forward_batched(&g, dtype, xp, wp, bp, op, Hp, Wp, scratch, nt)
        _scratch_release(scratch, cached)
        if err:
            raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
        return out
    cdef int64_t nb = _forward_block_images(&g)
    cdef int64_t per = (g.Kg * nb * g.OH * g.OW + 15) // 16 * 16 * (4 if dtype == FLOAT32 else 8)
    if nb > 1 and not _pointwise(&g):
        # NOTE [ Forward over image blocks ]
        scratch = _scratch_acquire(per * (nt if by_batch else 1), &cached)
        if scratch == NULL:
            raise MemoryError("conv2d: out of memory for the GEMM's result")
        with nogil:
            if by_batch:
                chunk = (g.N + nt - 1) // nt
                for t in prange(nt, num_threads=nt, schedule="static"):
                    n = t * chunk
                    while n < min(g.N, (t + 1) * chunk):
                        if _forward_images(&g, dtype, xp, wp, bp, op, n,
                                           min(nb, min(g.N, (t + 1) * chunk) - n),
                                           scratch + t * per, 1):
                            err += 1
                        n = n + nb
            else:
                n = 0
                while n < g.N:
                    if _forward_images(&g, dtype, xp, wp, bp, op, n, min(nb, g.N - n),
                                       scratch, nt):
                        err = 1
                        break
                    n += nb
        _scratch_release(scratch, cached)
    else:
        with nogil:
            if by_batch:
                chunk = (g.N + nt - 1) // nt
                for t in prange(nt, num_threads=nt, schedule="static"):
                    for n in range(t * chunk, min(g.N, (t + 1) * chunk)):
                        if _forward_image(&g, dtype, xp, wp, bp, op, n, 1):
                            err += 1
            else:
                for n in range(g.N):
                    if _forward_image(&g, dtype, xp, wp, bp, op, n, nt):
                        err = 1
                        break
    if err:
        raise MemoryError("conv2d: out of memory for the GEMM's packing buffers")
    return out


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


cdef bint _input_grad_offset(const ConvGeometry* g, int dtype, const char* gop, Tensor w,
                             char* gxp, int nt, bint by_batch) except -1:
    """grad_input of a stride-1 convolution as the stride-1 convolution of grad_output with
    the flipped, transposed weight, on the offset path (NOTE [ Convolution over the
    padded image ]):
        gx[n, c, h, w] = sum over k, r, s of go[n, k, h + pH - r*dH, w + pW - s*dW] w[k, c, r, s]
    is conv(go padded by dH*(R-1) - pH on top, ..., wt) with wt[c, k, R-1-r, S-1-s] =
    w[k, c, r, s] per group.  Returns False (nothing done) when the path doesn't apply: a
    stride or a padding past the dilated kernel's reach, or _use_offset declines."""
    cdef ConvGeometry t
    cdef int64_t reachH = g.dH * (g.R - 1), reachW = g.dW * (g.S - 1)
    cdef int64_t top, left, bottom, right, Hp, Wp
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    if g.sH != 1 or g.sW != 1 or _pointwise(g) or _offset_mode == 0:
        return False
    # this GEMM's M is Cg (the packed path's Cg*R*S): with one input channel its MR-row
    # tiles are 5/6 padding (LeNet's 1 -> 6 5x5, batch 64: 0.41 ms here, 0.28 packed; with
    # 3 channels, 3 -> 16 3x3 on 32x32: 0.30 here, 0.50 packed)
    if _offset_mode != 1 and g.Cg < 2:
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
    Hp, Wp = g.OH + top + bottom, g.OW + left + right
    if not _use_offset(&t, Wp, False) or (g.OH * g.OW <= 32 and _offset_mode != 1):
        return False
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
    return True


def conv2d_backward(Tensor grad_out, Tensor x, Tensor w, int64_t sH, int64_t sW, int64_t pH,
                    int64_t pW, int64_t dH, int64_t dW, int64_t groups, bint want_input,
                    bint want_weight, bint want_bias, int64_t pH_end=-1, int64_t pW_end=-1):
    """(grad_input, grad_weight, grad_bias), each None unless wanted: grad_out is the
    contiguous (N, K, OH, OW) gradient of conv2d_forward(x, w, ...)."""
    cdef ConvGeometry g
    cdef int64_t sizes[4]
    cdef int nt = 1, by_batch, t, err = 0, nparts
    cdef int64_t n, chunk, d
    cdef char* scratch_x
    cdef bint cached_x
    _geometry(&g, x, w, sH, sW, pH, pW, dH, dW, groups, pH_end, pW_end)
    if x._dtype.num not in (FLOAT32, FLOAT64):
        raise TypeError(f"conv2d_backward kernel: float32 or float64 only, not {x._dtype.name}")
    if (grad_out._ndim != 4 or not grad_out._contiguous or grad_out._dtype.num != x._dtype.num
            or grad_out._sizes[0] != g.N or grad_out._sizes[1] != g.K
            or grad_out._sizes[2] != g.OH or grad_out._sizes[3] != g.OW):
        raise RuntimeError(f"conv2d_backward kernel: grad_output must be a contiguous "
                           f"{(g.N, g.K, g.OH, g.OW)} tensor of the input's dtype")
    cdef int dtype = x._dtype.num
    cdef int64_t isz = 4 if dtype == FLOAT32 else 8
    cdef Tensor gx = None, gw = None, gb = None
    if want_input:
        gx = new_tensor(4, x._sizes, x._dtype, True)
    if want_weight:
        gw = new_tensor(4, w._sizes, w._dtype, True)
    if want_bias:
        sizes[0] = g.K
        gb = new_tensor(1, sizes, x._dtype, True)
    cdef const char* xp = data_of(x)
    cdef const char* wp = data_of(w)
    cdef const char* gop = data_of(grad_out)
    cdef char* gxp = data_of(gx) if gx is not None else NULL
    cdef char* gwp = data_of(gw) if gw is not None else NULL
    if grad_out._numel == 0:
        return gx, gw, gb
    if want_bias:
        if dtype == FLOAT32:
            _bias_grad(<const float*>gop, <float*>data_of(gb), g.N, g.K, g.OH * g.OW)
        else:
            _bias_grad(<const double*>gop, <double*>data_of(gb), g.N, g.K, g.OH * g.OW)
    if (not want_input and not want_weight) or g.Cg == 0:
        return gx, gw, gb
    by_batch = _split(&g, &nt)
    if want_input and _input_grad_offset(&g, dtype, gop, w, gxp, nt, by_batch):
        gxp = NULL
        if not want_weight:
            return gx, gw, gb
    cdef int64_t nb = (256 + g.OH * g.OW - 1) // (g.OH * g.OW)
    if nb > g.N:
        nb = g.N
    if (want_weight and g.groups == 1 and not _pointwise(&g) and g.OH * g.OW < 256
            and nb > 1 and g.C * g.R * g.S * g.K > (1 << 14) and _batched_mode != 1
            and (g.C * g.R * g.S + g.K) * nb * g.OH * g.OW <= (1 << 23)):
        with nogil:
            err = _weight_grad_blocks(&g, dtype, xp, gop, gwp, nb, get_max_threads())
        if err:
            raise MemoryError("conv2d_backward: out of memory for the im2col buffer")
        gwp = NULL
        if gxp == NULL:
            return gx, gw, gb
    cdef int64_t Hp = g.Hp, Wp = g.Wp
    cdef bint batched = _use_batched(&g, Hp, Wp)
    cdef bint forced = _batched_mode == 1
    # NOTE [ Batch-innermost convolution ], measured per gradient: the weight gradient gains
    # (1.8-2.4x on the small CNN layers) up to outputs of ~1M elements; the input gradient
    # only with several input channels and small images (1.3-1.4x), else it loses (0.4-0.9x)
    # and on ResNet-18's layers (C*R*S*K > 16K) the per-image weight gradient is as fast
    # or faster (256->512 stride 2 on 8x8: 11 ms against 22 batched, 2 threads)
    cdef bint batched_w = gwp != NULL and batched and (
        forced or (g.N * g.OH * g.OW * g.K <= (1 << 20)
                   and g.C * g.R * g.S * g.K <= (1 << 14)))
    # the input gradient only on tiny outputs of small layers: elsewhere the packed path
    # over image blocks is as fast or faster (ms, 2 threads, packed / batched: 256 -> 512
    # stride 2 on 8x8 8.1 / 11.0, 128 -> 128 on 4x4 1.31 / 1.48, 16 -> 32 on 4x4 (batch
    # 64) 0.23 / 0.17)
    cdef bint batched_x = gxp != NULL and batched and (
        forced or (g.C >= 4 and g.OH * g.OW <= 16 and g.C * g.R * g.S * g.K <= (1 << 14)))
    if batched_w or batched_x:
        with nogil:
            err = _backward_batched(&g, dtype, xp, wp, gop, gxp if batched_x else NULL,
                                    gwp if batched_w else NULL, Hp, Wp, nt)
        if err:
            raise MemoryError("conv2d_backward: out of memory for scratch buffers")
        if batched_w:
            gwp = NULL
        if batched_x:
            gxp = NULL
        if gwp == NULL and gxp == NULL:
            return gx, gw, gb
    nparts = nt if by_batch else 1
    cdef int64_t CgRS = g.Cg * g.R * g.S
    cdef int64_t Hh, Wh
    _phase_dims(&g, Hp, Wp, &Hh, &Wh)
    if gwp != NULL and _use_weight_offset(&g, Wh):
        # NOTE [ Weight gradient over the padded image ]
        scratch_x = _scratch_acquire((CgRS * 8 + 63) // 64 * 64
                                     + nparts * _weight_offset_part(&g, Hh, Wh) * isz, &cached_x)
        if scratch_x == NULL:
            raise MemoryError("conv2d_backward: out of memory for the padded input copy")
        with nogil:
            err = _weight_grad_offset(&g, dtype, xp, gop, gwp, Hh, Wh, scratch_x, nt, by_batch)
        _scratch_release(scratch_x, cached_x)
        if err:
            raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
        gwp = NULL
        if gxp == NULL:
            return gx, gw, gb
    cdef int64_t nbx = _input_grad_block_images(&g), per_x
    if gxp != NULL and gwp == NULL and nbx > 1 and not _pointwise(&g):
        # NOTE [ Input gradient over image blocks ]
        per_x = (CgRS * nbx * g.OH * g.OW + 15) // 16 * 16 * isz
        scratch_x = _scratch_acquire(per_x * nparts, &cached_x)
        if scratch_x == NULL:
            raise MemoryError("conv2d_backward: out of memory for the col buffer")
        with nogil:
            if by_batch:
                chunk = (g.N + nt - 1) // nt
                for t in prange(nt, num_threads=nt, schedule="static"):
                    n = t * chunk
                    while n < min(g.N, (t + 1) * chunk):
                        if _input_grad_images(&g, dtype, wp, gop, gxp, n,
                                              min(nbx, min(g.N, (t + 1) * chunk) - n),
                                              scratch_x + t * per_x, 1):
                            err += 1
                        n = n + nbx
            else:
                n = 0
                while n < g.N:
                    if _input_grad_images(&g, dtype, wp, gop, gxp, n, min(nbx, g.N - n),
                                          scratch_x, nt):
                        err = 1
                        break
                    n += nbx
        _scratch_release(scratch_x, cached_x)
        if err:
            raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
        return gx, gw, gb
    cdef int64_t col_elems = 0 if _pointwise(&g) else CgRS * g.OH * g.OW
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
                        if _backward_image(&g, dtype, xp, wp, gop, gxp,
                                           (scratch + (t * per_thread + col_elems) * isz)
                                           if gwp != NULL else NULL,
                                           scratch + t * per_thread * isz, n, 1):
                            err += 1
            else:
                for n in range(g.N):
                    if _backward_image(&g, dtype, xp, wp, gop, gxp, gwp, scratch, n, nt):
                        err = 1
                        break
        if by_batch and gwp != NULL and err == 0:
            _reduce_parts(dtype, gwp, scratch + col_elems * isz, nparts, per_thread, g.K * CgRS)
    finally:
        _scratch_release(scratch, cached)
    if err:
        raise MemoryError("conv2d_backward: out of memory for the GEMM's packing buffers")
    return gx, gw, gb


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
