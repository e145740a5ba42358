# Layer: kernels, mixed: the Tensor-level entry points (conv2d_forward, conv2d_backward) are
# here; each strategy is a file of conv_paths/, included into this one extension module
# (strided/_C/README.md).
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

    grad_W[g]^T += col @ grad_out[n, g]^T                    (summed over the batch; this
                   orientation packs col along its contiguous rows)
    col_grad = W[g]^T @ grad_out[n, g], scattered back (col2im) into grad_input[n, g]
    grad_bias[k] = sum over n, oh, ow of grad_out[n, k]

col never exists whole: each strategy gets its rows another way.  One file of conv_paths/
per strategy, each saying when it is usable and how it runs (NOTE [ Choosing a
convolution path ] in select.pxi picks one per call):
  - image.pxi    per image: B packed from the input windows (an implicit GEMM, NOTE
                 [ Packed B panels ] in gemm.pxd); im2col / col2im for the gradients
  - blocks.pxi   several images per GEMM on small outputs (NOTE [ Forward over image
                 blocks ], NOTE [ Input gradient over image blocks ], NOTE [ Weight
                 gradient over image blocks ])
  - offset.pxi   the GEMM reads col's rows in place from a padded, stride-phase-split copy
                 (NOTE [ Convolution over the padded image ], NOTE [ Weight gradient over
                 the padded image ]; the input gradient of a stride-1 convolution as a
                 convolution of grad_output)
  - taps.pxi     a copy per column tap, made in cache band by band (NOTE [ Column taps for
                 strided convolutions ])
  - batched.pxi  the whole batch as one GEMM, batch innermost (NOTE [ Batch-innermost
                 convolution ])
  - winograd.pxi 3x3 stride-1 convolutions and both their gradients in 2x2 output tiles,
                 16 GEMMs of transformed tiles (NOTE [ Winograd convolution ], NOTE
                 [ Winograd weight gradient ])
  - integer.pxi  a direct loop for integer dtypes (NOTE [ Integer convolution ])
  - common.pxi   the geometry, the window packers, im2col/col2im, the workspace bound, the
                 scratch buffer; thresholds.pxi the cut-offs (NOTE [ Convolution
                 thresholds ]); select.pxi the choice and _force_path.
A 1x1 convolution with stride 1 and no padding reads x[n, g] itself as col (when its
H and W dims merge).  Groups are separate GEMMs on slices: no zero blocks.  Work is split
over the batch (one thread per image range, single-threaded GEMMs) when the batch has at
least as many images as threads, else each GEMM runs on all threads.
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
    void strided_wino_input_f32(int isa, const float* x, int64_t xs0, int64_t xs1, int64_t xs2,
                                int64_t xs3, int64_t C, int64_t H, int64_t W, int64_t pH,
                                int64_t pW, int64_t TH, int64_t TW, int64_t r0, int64_t r1,
                                float* V, int64_t Pst, int64_t CP, float* buf)
    void strided_wino_input_f64(int isa, const double* x, int64_t xs0, int64_t xs1,
                                int64_t xs2, int64_t xs3, int64_t C, int64_t H, int64_t W,
                                int64_t pH, int64_t pW, int64_t TH, int64_t TW, int64_t r0,
                                int64_t r1, double* V, int64_t Pst, int64_t CP, double* buf)
    void strided_wino_weight_f32(const float* w, float* U, int64_t KC, int64_t q0, int64_t q1)
    void strided_wino_weight_f64(const double* w, double* U, int64_t KC, int64_t q0,
                                 int64_t q1)
    void strided_wino_gout_f32(int isa, const float* go, int64_t K, int64_t OH, int64_t OW,
                               int64_t TH, int64_t TW, int64_t r0, int64_t r1, float* Z,
                               int64_t Pst, int64_t KP, float* buf)
    void strided_wino_gout_f64(int isa, const double* go, int64_t K, int64_t OH, int64_t OW,
                               int64_t TH, int64_t TW, int64_t r0, int64_t r1, double* Z,
                               int64_t Pst, int64_t KP, double* buf)
    void strided_wino_wgrad_f32(const float* dU, float* dw, int64_t KC, int64_t q0, int64_t q1)
    void strided_wino_wgrad_f64(const double* dU, double* dw, int64_t KC, int64_t q0,
                                int64_t q1)
    void strided_wino_output_f32(int isa, const float* M, int64_t KP, int64_t Pst, int64_t K,
                                 int64_t OH, int64_t OW, int64_t TH, int64_t TW, int64_t r0,
                                 int64_t r1, const float* bias, float* out, float* buf)
    void strided_wino_output_f64(int isa, const double* M, int64_t KP, int64_t Pst, int64_t K,
                                 int64_t OH, int64_t OW, int64_t TH, int64_t TW, int64_t r0,
                                 int64_t r1, const double* bias, double* out, double* buf)

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64, UINT8, INT32, INT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.core.threads cimport num_threads_for, get_max_threads
from strided._C.core.cpu cimport isa_level
from strided._C.kernels.gemm cimport (gemm_strided_threads, gemm_packed_b, gemm_offset_a,
                               gemm_offset_b, gemm_nr, gemm_offb_w, gemm_offb_reach,
                               gemm_packed_a_elems, gemm_pack_a, gemm_offset_b_block, gemm_isa,
                               GEMM_NR_MAX)

cdef enum:
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
# The convolution runs on the GEMM's table (the widest the CPU has), not one of its own:
# the avx512 table's 12-row tile gains on the wide layers, while layers with one input
# channel and few output channels pad it (benchmarks/bench_conv.py, run with and without
# STRIDED_ISA=avx2, compares them; gemm._set_kernel("avx2") switches in a process).

include "conv_paths/thresholds.pxi"
include "conv_paths/common.pxi"
include "conv_paths/image.pxi"
include "conv_paths/blocks.pxi"
include "conv_paths/offset.pxi"
include "conv_paths/taps.pxi"
include "conv_paths/batched.pxi"
include "conv_paths/winograd.pxi"
include "conv_paths/integer.pxi"
include "conv_paths/select.pxi"


# --------------------------------------------------------------------------------------
# Tensor-level entry points: the geometry, the choice, the chosen strategy
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


def conv2d_forward(Tensor x, Tensor w, Tensor bias, int64_t sH, int64_t sW, int64_t pH,
                   int64_t pW, int64_t dH, int64_t dW, int64_t groups, int64_t pH_end=-1,
                   int64_t pW_end=-1):
    """out (N, K, OH, OW), contiguous: the convolution of x (any strides) with w
    (contiguous), plus bias (contiguous (K,), or None)."""
    cdef ConvGeometry g
    cdef ConvForce f = _forced
    cdef int64_t sizes[4]
    cdef int64_t n
    cdef int nt = 1, by_batch
    _geometry(&g, x, w, sH, sW, pH, pW, dH, dW, groups, pH_end, pW_end)
    if bias is not None and (bias._numel != g.K or not bias._contiguous
                             or bias._dtype.num != x._dtype.num):
        raise RuntimeError("conv2d kernel: bias must be a contiguous (K,) tensor of x's dtype")
    cdef int dtype = x._dtype.num
    # the output first: a geometry whose output cannot exist is refused by the allocator's
    # size check before any path arithmetic runs on it (zeroed when there is nothing to sum)
    sizes[0], sizes[1], sizes[2], sizes[3] = g.N, g.K, g.OH, g.OW
    cdef Tensor out = new_tensor(4, sizes, x._dtype, g.Cg * g.R * g.S == 0)
    cdef int path = select_forward(&g, dtype, &f)
    if path == PATH_UNUSABLE:
        _unusable("forward", f.forward)
    cdef const char* xp = data_of(x)
    cdef const char* wp = data_of(w)
    cdef const char* bp = data_of(bias) if bias is not None else NULL
    cdef char* op = data_of(out)
    if path == PATH_NONE:
        return out
    if path == PATH_INTEGER:
        with nogil:
            _conv_int(&g, dtype, xp, wp, bp, op)
        return out
    if path == PATH_EMPTY:
        # no input channels: the empty sum, plus bias
        if bp != NULL:
            for n in range(g.N):
                if dtype == FLOAT32:
                    _add_bias(<float*>op + n * g.K * g.OH * g.OW, <const float*>bp, g.K, g.OH * g.OW)
                else:
                    _add_bias(<double*>op + n * g.K * g.OH * g.OW, <const double*>bp, g.K, g.OH * g.OW)
        return out
    by_batch = _split(&g, &f, &nt)
    if path == PATH_WINOGRAD:
        _run_forward_winograd(&g, dtype, xp, wp, bp, op, nt)
    elif path == PATH_TAPS:
        _run_forward_taps(&g, dtype, xp, wp, bp, op)
    elif path == PATH_OFFSET:
        _run_forward_offset(&g, dtype, xp, wp, bp, op, nt, by_batch)
    elif path == PATH_BATCHED:
        _run_forward_batched(&g, dtype, xp, wp, bp, op, nt)
    elif path == PATH_BLOCKS:
        _run_forward_blocks(&g, dtype, xp, wp, bp, op, nt, by_batch)
    else:
        _run_forward_image(&g, dtype, xp, wp, bp, op, nt, by_batch)
    return out


def conv2d_backward(Tensor grad_out, Tensor x, Tensor w, int64_t sH, int64_t sW, int64_t pH,
                    int64_t pW, int64_t dH, int64_t dW, int64_t groups, bint want_input,
                    bint want_weight, bint want_bias, int64_t pH_end=-1, int64_t pW_end=-1):
    """(grad_input, grad_weight, grad_bias), each None unless wanted: grad_out is the
    contiguous (N, K, OH, OW) gradient of conv2d_forward(x, w, ...)."""
    cdef ConvGeometry g
    cdef ConvForce f = _forced
    cdef int64_t sizes[4]
    cdef int nt = 1, by_batch, xq, wq
    _geometry(&g, x, w, sH, sW, pH, pW, dH, dW, groups, pH_end, pW_end)
    if x._dtype.num not in (FLOAT32, FLOAT64):
        raise TypeError(f"conv2d_backward kernel: float32 or float64 only, not {x._dtype.name}")
    if (grad_out._ndim != 4 or not grad_out._contiguous or grad_out._dtype.num != x._dtype.num
            or grad_out._sizes[0] != g.N or grad_out._sizes[1] != g.K
            or grad_out._sizes[2] != g.OH or grad_out._sizes[3] != g.OW):
        raise RuntimeError(f"conv2d_backward kernel: grad_output must be a contiguous "
                           f"{(g.N, g.K, g.OH, g.OW)} tensor of the input's dtype")
    cdef int dtype = x._dtype.num
    select_backward(&g, want_input, want_weight, &f, &xq, &wq)
    if xq == PATH_UNUSABLE:
        _unusable("input_grad", f.input_grad)
    if wq == PATH_UNUSABLE:
        _unusable("weight_grad", f.weight_grad)
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
    if xq == PATH_NONE and wq == PATH_NONE:
        return gx, gw, gb
    by_batch = _split(&g, &f, &nt)
    if xq == PATH_WINOGRAD:
        _run_input_grad_winograd(&g, dtype, gop, w, gxp, nt)
    if xq == PATH_OFFSET:
        _run_input_grad_offset(&g, dtype, gop, w, gxp, nt, by_batch)
    if wq == PATH_WINOGRAD:
        _run_weight_grad_winograd(&g, dtype, xp, gop, gwp, nt)
    if wq == PATH_BLOCKS:
        _run_weight_grad_blocks(&g, dtype, xp, gop, gwp)
    if xq == PATH_BATCHED or wq == PATH_BATCHED:
        _run_backward_batched(&g, dtype, xp, wp, gop, gxp if xq == PATH_BATCHED else NULL,
                              gwp if wq == PATH_BATCHED else NULL, nt)
    if wq == PATH_OFFSET:
        _run_weight_grad_offset(&g, dtype, xp, gop, gwp, nt, by_batch)
    if xq == PATH_BLOCKS:
        _run_input_grad_blocks(&g, dtype, wp, gop, gxp, nt, by_batch)
    if xq == PATH_IMAGE or wq == PATH_IMAGE:
        # both from one pass when both run image by image (they share col)
        _run_backward_image(&g, dtype, xp, wp, gop, gxp if xq == PATH_IMAGE else NULL,
                            gwp if wq == PATH_IMAGE else NULL, nt, by_batch)
    return gx, gw, gb
