# Included by strided/_C/kernels/conv.pyx (one extension module): integer dtypes, a direct
# loop (PATH_INTEGER, forward only; the only path for uint8, int32 and int64).

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
    cdef int nt = num_threads_for(rows * g.OH * g.OW * g.Cg * g.R * g.S, _T.grain)
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
