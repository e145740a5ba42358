# Layer: kernels, mixed: the Tensor-level entry points (rnn_forward/rnn_backward) are at the
# end of this file, next to the time loops they drive (strided/_C/README.md).
"""Recurrent layers (RNN tanh/relu, LSTM, GRU): one layer and one direction over a whole
sequence, forward and backward through time.

NOTE [ Fused recurrent steps ]
One call runs one layer in one direction over T steps of a batch of B, hidden size H, G
gates (RNN 1, LSTM 4 in the order i, f, g, o; GRU 3 in the order r, z, n):

    xg = x @ W_ih^T + b_ih (+ b_hh)       ONE GEMM over all T*B rows (x as a (T*B, I) matrix)
    for each step t (in reverse order for the reverse direction):
        hg = h_prev @ W_hh^T              one GEMM, (B, H) x (H, G*H)
        one fused pass over the B x H outputs reads xg[t] and hg, applies the gates'
        nonlinearities and writes h_t (and c_t):
          RNN   h = act(xg + hg)                                   act: tanh or relu
          LSTM  i, f, g, o = sig, sig, tanh, sig of (xg + hg)
                c = f * c_prev + i * g,   h = o * tanh(c)
          GRU   r = sig(xg_r + hg_r),  z = sig(xg_z + hg_z),  hn = hg_n + b_hn
                n = tanh(xg_n + r * hn),  h = (1 - z) * n + z * h_prev
b_hh is folded into xg for every gate but GRU's n (which r scales).  The forward saves
what the backward reads: the gate activations (LSTM i, f, g, o; GRU r, z, n, hn: 4*H per
row), every c_t (LSTM); every h_t is the output itself.  The backward runs the steps in the
opposite order, one fused pass per step turning dh_t = dout_t + dh_next (and the carried dc)
into the gates' pre-activation gradients dA_t (T, B, G*H), then one GEMM
dh_next = dA_t @ W_hh (GRU adds the direct z * dh).  The parameter and input gradients are
then GEMMs over all steps at once: dW_ih = dA^T @ x, dx = dA @ W_ih, and
dW_hh = dA[steps after the first]^T @ h[steps before the last] + dA[first]^T @ h0 (two
GEMMs: the previous hidden states of all but the first step are rows of the output).
GRU's hidden-side gradient dAh differs from its input-side dA in the n block (dA_n * r).

Per-step GEMMs multiply by a constant W_hh: W_hh^T is copied once per call into a
row-major buffer (so the GEMM streams it as a row-major B). The nonlinearities of float32
use fastmath.pxd's branch-free expf_fast / tanhf_fast (2-3 ulp) so the row loops
vectorize; float64 uses libm.  Nothing depends on the thread count: the GEMMs split over
the library's threads, the fused passes run on the calling thread (they are O(B*H) per
step against the GEMM's O(B*H*G*H)).

Layout contract: x is (T, B, I) whose (T, B) dims merge into one row dim (the caller
copies an x that does not); the last dim may have any stride.  h0, c0 are contiguous
(B, H); weights any strides; dout (T, B, H) any strides with a unit last one.  Every result
is a new contiguous tensor.
"""
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport exp, tanh

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.kernels.gemm cimport gemm_strided
from strided._C.kernels.fastmath cimport expf_fast, tanhf_fast

ctypedef fused floating:
    float
    double

cdef enum:
    M_RNN_TANH = 0
    M_RNN_RELU = 1
    M_LSTM = 2
    M_GRU = 3

# the mode numbers, for the Python layer
RNN_TANH, RNN_RELU, LSTM, GRU = M_RNN_TANH, M_RNN_RELU, M_LSTM, M_GRU
_GATES = (1, 1, 4, 3)           # gates per mode
_SAVED = (0, 0, 4, 4)           # saved activations per mode, in units of H


cdef inline floating _sigmoid(floating x) noexcept nogil:
    if floating is float:
        return <float>1.0 / (<float>1.0 + expf_fast(-x))
    else:
        return 1.0 / (1.0 + exp(-x))


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf_fast(x)
    else:
        return tanh(x)


# ---- one step, forward ------------------------------------------------------------------
# Every pointer is at row 0 of the step's (B, width) block; rows are contiguous except xg's
# (row stride xg_sb, elements).  act may be NULL (nothing saved).

cdef void _rnn_step(bint relu, int64_t B, int64_t H, const floating* xg, int64_t xg_sb,
                    const floating* hg,           # IN (B, H)
                    floating* h) noexcept nogil:  # OUT (B, H)
    cdef int64_t b, j
    cdef const floating* x
    cdef const floating* p
    cdef floating* y
    cdef floating v
    for b in range(B):
        x = xg + b * xg_sb
        p = hg + b * H
        y = h + b * H
        if relu:
            for j in range(H):
                v = x[j] + p[j]
                y[j] = v if v > 0 else <floating>0
        else:
            for j in range(H):
                y[j] = _tanh(x[j] + p[j])


cdef void _lstm_step(int64_t B, int64_t H, const floating* xg, int64_t xg_sb,
                     const floating* hg,          # IN (B, 4H)
                     const floating* cprev,       # IN (B, H)
                     floating* h,                 # OUT (B, H)
                     floating* c,                 # OUT (B, H)
                     floating* act) noexcept nogil:   # OUT (B, 4H) i, f, g, o, or NULL
    cdef int64_t b, j
    cdef const floating* x
    cdef const floating* p
    cdef const floating* cp
    cdef floating* hb
    cdef floating* cb
    cdef floating* ab
    cdef floating gi, gf, gg, go, cv
    for b in range(B):
        x = xg + b * xg_sb
        p = hg + b * 4 * H
        cp = cprev + b * H
        hb = h + b * H
        cb = c + b * H
        if act != NULL:
            ab = act + b * 4 * H
            for j in range(H):
                gi = _sigmoid(x[j] + p[j])
                gf = _sigmoid(x[H + j] + p[H + j])
                gg = _tanh(x[2 * H + j] + p[2 * H + j])
                go = _sigmoid(x[3 * H + j] + p[3 * H + j])
                cv = gf * cp[j] + gi * gg
                cb[j] = cv
                hb[j] = go * _tanh(cv)
                ab[j] = gi
                ab[H + j] = gf
                ab[2 * H + j] = gg
                ab[3 * H + j] = go
        else:
            for j in range(H):
                gi = _sigmoid(x[j] + p[j])
                gf = _sigmoid(x[H + j] + p[H + j])
                gg = _tanh(x[2 * H + j] + p[2 * H + j])
                go = _sigmoid(x[3 * H + j] + p[3 * H + j])
                cv = gf * cp[j] + gi * gg
                cb[j] = cv
                hb[j] = go * _tanh(cv)


cdef void _gru_step(int64_t B, int64_t H, const floating* xg, int64_t xg_sb,
                    const floating* hg,           # IN (B, 3H)
                    const floating* bhn,          # IN (H) b_hh's n block, or NULL
                    const floating* hprev,        # IN (B, H)
                    floating* h,                  # OUT (B, H)
                    floating* act) noexcept nogil:    # OUT (B, 4H) r, z, n, hn, or NULL
    cdef int64_t b, j
    cdef const floating* x
    cdef const floating* p
    cdef const floating* hp
    cdef floating* hb
    cdef floating* ab
    cdef floating r, z, n, hn
    for b in range(B):
        x = xg + b * xg_sb
        p = hg + b * 3 * H
        hp = hprev + b * H
        hb = h + b * H
        ab = act + b * 4 * H if act != NULL else NULL
        for j in range(H):
            r = _sigmoid(x[j] + p[j])
            z = _sigmoid(x[H + j] + p[H + j])
            hn = p[2 * H + j] + (bhn[j] if bhn != NULL else <floating>0)
            n = _tanh(x[2 * H + j] + r * hn)
            hb[j] = (<floating>1 - z) * n + z * hp[j]
            if ab != NULL:
                ab[j] = r
                ab[H + j] = z
                ab[2 * H + j] = n
                ab[3 * H + j] = hn


# ---- one step, backward -----------------------------------------------------------------
# dout (the output's gradient at this step, row stride do_sb, unit last stride) may be
# NULL (no gradient reached the output); dh (B, H) holds dh_next on entry.

cdef void _rnn_step_back(bint relu, int64_t B, int64_t H, const floating* dout, int64_t do_sb,
                         const floating* dh,      # IN (B, H) dh_next
                         const floating* h,       # IN (B, H) this step's output
                         floating* da) noexcept nogil:    # OUT (B, H)
    cdef int64_t b, j
    cdef floating g, y
    for b in range(B):
        for j in range(H):
            g = dh[b * H + j]
            if dout != NULL:
                g = g + dout[b * do_sb + j]
            y = h[b * H + j]
            if relu:
                da[b * H + j] = g if y > 0 else <floating>0
            else:
                da[b * H + j] = g * (<floating>1 - y * y)


cdef void _lstm_step_back(int64_t B, int64_t H, const floating* dout, int64_t do_sb,
                          const floating* dh,     # IN (B, H) dh_next
                          floating* dc,           # IN/OUT (B, H) dc_next -> dc_prev
                          const floating* act,    # IN (B, 4H) i, f, g, o
                          const floating* c,      # IN (B, H) c_t
                          const floating* cprev,  # IN (B, H) c_{t-1}
                          floating* da) noexcept nogil:   # OUT (B, 4H)
    cdef int64_t b, j
    cdef const floating* ab
    cdef floating* db
    cdef floating g, gi, gf, gg, go, tc, dct
    for b in range(B):
        ab = act + b * 4 * H
        db = da + b * 4 * H
        for j in range(H):
            g = dh[b * H + j]
            if dout != NULL:
                g = g + dout[b * do_sb + j]
            gi = ab[j]
            gf = ab[H + j]
            gg = ab[2 * H + j]
            go = ab[3 * H + j]
            tc = _tanh(c[b * H + j])
            dct = dc[b * H + j] + g * go * (<floating>1 - tc * tc)
            db[j] = dct * gg * gi * (<floating>1 - gi)
            db[H + j] = dct * cprev[b * H + j] * gf * (<floating>1 - gf)
            db[2 * H + j] = dct * gi * (<floating>1 - gg * gg)
            db[3 * H + j] = g * tc * go * (<floating>1 - go)
            dc[b * H + j] = dct * gf


cdef void _gru_step_back(int64_t B, int64_t H, const floating* dout, int64_t do_sb,
                         floating* dh,            # IN/OUT (B, H) dh_next -> z * dh
                         const floating* act,     # IN (B, 4H) r, z, n, hn
                         const floating* hprev,   # IN (B, H)
                         floating* da,            # OUT (B, 3H) input side
                         floating* dah) noexcept nogil:   # OUT (B, 3H) hidden side
    cdef int64_t b, j
    cdef const floating* ab
    cdef floating* db
    cdef floating* dbh
    cdef floating g, r, z, n, hn, dan, dar, daz
    for b in range(B):
        ab = act + b * 4 * H
        db = da + b * 3 * H
        dbh = dah + b * 3 * H
        for j in range(H):
            g = dh[b * H + j]
            if dout != NULL:
                g = g + dout[b * do_sb + j]
            r = ab[j]
            z = ab[H + j]
            n = ab[2 * H + j]
            hn = ab[3 * H + j]
            dan = g * (<floating>1 - z) * (<floating>1 - n * n)
            dar = dan * hn * r * (<floating>1 - r)
            daz = g * (hprev[b * H + j] - n) * z * (<floating>1 - z)
            db[j] = dar
            db[H + j] = daz
            db[2 * H + j] = dan
            dbh[j] = dar
            dbh[H + j] = daz
            dbh[2 * H + j] = dan * r
            dh[b * H + j] = g * z


# ---- the time loops ---------------------------------------------------------------------

cdef struct Args:
    int mode
    int dtype_num
    int64_t T, B, H, G, A         # A: saved activations per row, in units of H
    bint reverse
    char* xg                      # (T, B, G*H) contiguous
    char* whh_t                   # W_hh^T, (H, G*H) row-major
    char* whh                     # W_hh (G*H, H), strides rs_whh, cs_whh
    int64_t rs_whh, cs_whh
    char* bhn                     # GRU: b_hh[2H:3H], contiguous, or NULL
    char* h0                      # (B, H) contiguous
    char* c0                      # (B, H) contiguous (LSTM)
    char* out                     # (T, B, H) contiguous
    char* cs                      # LSTM: (T, B, H) when saving, else (2, B, H)
    char* act                     # (T, B, A*H) or NULL
    char* hg                      # scratch (B, G*H)
    # backward
    char* dout                    # (T, B, H) strides st_do, sb_do, 1; or NULL
    int64_t st_do, sb_do
    char* dh                      # (B, H): dh_n on entry, dh0 on exit
    char* dc                      # (B, H): dc_n on entry, dc0 on exit (LSTM)
    char* da                      # (T, B, G*H)
    char* dah                     # (T, B, G*H): GRU's hidden side; the others: == da


cdef int _forward_loop(Args* a, floating* _dtype_tag) noexcept nogil:
    cdef int64_t T = a.T, B = a.B, H = a.H, GH = a.G * a.H, s, t, tp
    cdef int64_t esz = sizeof(floating)
    cdef bint save = a.act != NULL
    cdef floating* out = <floating*>a.out
    cdef floating* cs = <floating*>a.cs
    cdef const floating* hprev
    cdef const floating* cprev
    cdef floating* act
    cdef const floating* xg
    cdef int64_t cslot, cpslot
    for s in range(T):
        t = T - 1 - s if a.reverse else s
        tp = t + 1 if a.reverse else t - 1
        hprev = <const floating*>a.h0 if s == 0 else out + tp * B * H
        if gemm_strided(a.dtype_num, B, GH, H, 1.0, <const char*>hprev, H, 1,
                        a.whh_t, GH, 1, 0.0, a.hg, GH, 1) != 0:
            return -1
        xg = <const floating*>a.xg + t * B * GH
        act = <floating*>a.act + t * B * a.A * H if save else NULL
        if a.mode == M_LSTM:
            cslot = t if save else s & 1
            cpslot = tp if save else (s - 1) & 1
            cprev = <const floating*>a.c0 if s == 0 else cs + cpslot * B * H
            _lstm_step(B, H, xg, GH, <const floating*>a.hg, cprev, out + t * B * H,
                       cs + cslot * B * H, act)
        elif a.mode == M_GRU:
            _gru_step(B, H, xg, GH, <const floating*>a.hg, <const floating*>a.bhn, hprev,
                      out + t * B * H, act)
        else:
            _rnn_step(a.mode == M_RNN_RELU, B, H, xg, GH, <const floating*>a.hg,
                      out + t * B * H)
    return 0


cdef int _backward_loop(Args* a, floating* _dtype_tag) noexcept nogil:
    cdef int64_t T = a.T, B = a.B, H = a.H, GH = a.G * a.H, s, t, tp
    cdef floating* out = <floating*>a.out
    cdef floating* cs = <floating*>a.cs
    cdef floating* dh = <floating*>a.dh
    cdef const floating* dout
    cdef const floating* hprev
    cdef const floating* cprev
    cdef floating* da
    cdef floating* dah
    for s in range(T):
        t = s if a.reverse else T - 1 - s       # the forward's steps, last first
        tp = t + 1 if a.reverse else t - 1
        hprev = <const floating*>a.h0 if s == T - 1 else out + tp * B * H
        dout = <const floating*>a.dout + t * a.st_do if a.dout != NULL else NULL
        da = <floating*>a.da + t * B * GH
        dah = <floating*>a.dah + t * B * GH
        if a.mode == M_LSTM:
            cprev = <const floating*>a.c0 if s == T - 1 else cs + tp * B * H
            _lstm_step_back(B, H, dout, a.sb_do, dh, <floating*>a.dc,
                            <const floating*>a.act + t * B * 4 * H, cs + t * B * H, cprev, da)
        elif a.mode == M_GRU:
            _gru_step_back(B, H, dout, a.sb_do, dh, <const floating*>a.act + t * B * 4 * H,
                           hprev, da, dah)
        else:
            _rnn_step_back(a.mode == M_RNN_RELU, B, H, dout, a.sb_do, dh, out + t * B * H, da)
        # dh_prev = dAh_t @ W_hh (+ the direct path z * dh, already in dh, for GRU)
        if gemm_strided(a.dtype_num, B, H, GH, 1.0, <const char*>dah, GH, 1,
                        a.whh, a.rs_whh, a.cs_whh, 1.0 if a.mode == M_GRU else 0.0,
                        a.dh, H, 1) != 0:
            return -1
    return 0


cdef void _bias_rows(floating* xg, int64_t rows, int64_t GH, int64_t H,
                     const floating* bi, int64_t si,      # IN b_ih (GH) or NULL
                     const floating* bh, int64_t sh,      # IN b_hh (GH) or NULL
                     bint gru) noexcept nogil:
    """Every row of xg (rows, GH) = b_ih + b_hh, without b_hh's n block for GRU."""
    cdef int64_t g, r
    cdef floating v
    for g in range(GH):
        v = 0
        if bi != NULL:
            v = v + bi[g * si]
        if bh != NULL and not (gru and g >= 2 * H):
            v = v + bh[g * sh]
        xg[g] = v
    for r in range(1, rows):
        memcpy(xg + r * GH, xg, GH * sizeof(floating))


# ---- Tensor entry points ----------------------------------------------------------------

cdef int64_t _rows_stride(Tensor x) except? -1:
    """The row stride of x (T, B, I) seen as a (T*B, I) matrix."""
    cdef int64_t T = x._sizes[0], B = x._sizes[1]
    if B == 1:
        return x._strides[0]
    if T == 1 or x._strides[0] == B * x._strides[1]:
        return x._strides[1]
    raise ValueError("rnn: x's (T, B) dims must merge into one (copy it first)")


cdef Tensor _new(DType dtype, int64_t d0, int64_t d1, int64_t d2, int ndim, bint zero):
    cdef int64_t size[3]
    size[0], size[1], size[2] = d0, d1, d2
    return new_tensor(ndim, size, dtype, zero)


cdef int _check(Tensor t, str name, DType dtype, int ndim, int64_t d0, int64_t d1,
                int64_t d2) except -1:
    cdef int64_t want[3]
    want[0], want[1], want[2] = d0, d1, d2
    if t._dtype is not dtype:
        raise TypeError(f"rnn: {name} must be {dtype.name}, got {t._dtype.name}")
    if t._ndim != ndim or any(t._sizes[i] != want[i] for i in range(ndim)):
        raise ValueError(f"rnn: {name} must have shape {tuple(want[i] for i in range(ndim))}, "
                         f"got {tuple(t.shape)}")
    return 0


cdef int _check_common(int mode, Tensor x, Tensor h0, Tensor c0, Tensor w_ih,
                       Tensor w_hh) except -1:
    if mode < 0 or mode > 3:
        raise ValueError(f"rnn: unknown mode {mode}")
    if x._dtype.num != FLOAT32 and x._dtype.num != FLOAT64:
        raise TypeError(f"rnn: expected float32 or float64, got {x._dtype.name}")
    if x._ndim != 3:
        raise ValueError(f"rnn: x must be (T, B, I), got {tuple(x.shape)}")
    cdef int64_t B = x._sizes[1], I = x._sizes[2], H = h0._sizes[h0._ndim - 1] if h0._ndim else 0
    cdef int64_t G = _GATES[mode]
    _check(h0, "h0", x._dtype, 2, B, H, 0)
    if not h0._contiguous:
        raise ValueError("rnn: h0 must be contiguous")
    if mode == M_LSTM:
        if c0 is None:
            raise ValueError("rnn: LSTM needs c0")
        _check(c0, "c0", x._dtype, 2, B, H, 0)
        if not c0._contiguous:
            raise ValueError("rnn: c0 must be contiguous")
    _check(w_ih, "w_ih", x._dtype, 2, G * H, I, 0)
    _check(w_hh, "w_hh", x._dtype, 2, G * H, H, 0)
    return 0


def rnn_forward(int mode, Tensor x, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh,
                Tensor b_ih=None, Tensor b_hh=None, bint reverse=False, bint save=False):
    """One layer in one direction over a sequence (NOTE [ Fused recurrent steps ]):
    (out (T, B, H), h_n (B, H), c_n (B, H) or None, act, cs).

    mode is RNN_TANH, RNN_RELU, LSTM or GRU; x (T, B, I) with mergeable (T, B) dims; h0
    (and c0 for LSTM) contiguous (B, H); w_ih (G*H, I), w_hh (G*H, H), biases (G*H,) or
    None.  With save, act (T, B, A*H) holds the gate activations the backward reads
    (LSTM, GRU; None for RNN) and cs (T, B, H) every c_t (LSTM); otherwise both are None."""
    _check_common(mode, x, h0, c0, w_ih, w_hh)
    cdef DType dt = x._dtype
    cdef int64_t T = x._sizes[0], B = x._sizes[1], I = x._sizes[2], H = h0._sizes[1]
    cdef int64_t G = _GATES[mode], GH = G * H, esz = dt.itemsize, rs_x = 0, i, j
    if b_ih is not None:
        _check(b_ih, "b_ih", dt, 1, GH, 0, 0)
    if b_hh is not None:
        _check(b_hh, "b_hh", dt, 1, GH, 0, 0)
    cdef Args a
    memset(&a, 0, sizeof(Args))
    a.mode, a.dtype_num = mode, dt.num
    a.T, a.B, a.H, a.G, a.A = T, B, H, G, _SAVED[mode]
    a.reverse = reverse
    cdef Tensor out = _new(dt, T, B, H, 3, False)
    cdef Tensor h_n = _new(dt, B, H, 0, 2, False)
    cdef Tensor c_n = _new(dt, B, H, 0, 2, False) if mode == M_LSTM else None
    cdef Tensor act = None, cs = None
    if T * B * H == 0:
        if B * H > 0:
            memcpy(data_of(h_n), data_of(h0), B * H * esz)
            if c_n is not None:
                memcpy(data_of(c_n), data_of(c0), B * H * esz)
        if save:
            act = _new(dt, T, B, a.A * H, 3, False) if a.A else None
            cs = _new(dt, T, B, H, 3, False) if mode == M_LSTM else None
        return out, h_n, c_n, act, cs
    rs_x = _rows_stride(x)
    # xg = bias row, then += x @ W_ih^T (one GEMM over all steps)
    cdef Tensor xg = _new(dt, T, B, GH, 3, False)
    cdef bint has_bias = b_ih is not None or b_hh is not None
    cdef Tensor bhn = None
    if mode == M_GRU and b_hh is not None:
        bhn = b_hh[2 * H:].contiguous()
        a.bhn = data_of(bhn)
    cdef const char* bi = data_of(b_ih) if b_ih is not None else NULL
    cdef const char* bh = data_of(b_hh) if b_hh is not None else NULL
    cdef int64_t si = b_ih._strides[0] if b_ih is not None else 0
    cdef int64_t sh = b_hh._strides[0] if b_hh is not None else 0
    if has_bias:
        if dt.num == FLOAT32:
            _bias_rows(<float*>data_of(xg), T * B, GH, H, <const float*>bi, si,
                       <const float*>bh, sh, mode == M_GRU)
        else:
            _bias_rows(<double*>data_of(xg), T * B, GH, H, <const double*>bi, si,
                       <const double*>bh, sh, mode == M_GRU)
    cdef char* xp = data_of(x)
    cdef char* wp = data_of(w_ih)
    cdef int64_t cs_x = x._strides[2], rs_w = w_ih._strides[0], cs_w = w_ih._strides[1]
    cdef int rc
    with nogil:
        rc = gemm_strided(dt.num, T * B, GH, I, 1.0, xp, rs_x, cs_x, wp, cs_w, rs_w,
                          1.0 if has_bias else 0.0, data_of(xg), GH, 1)
    if rc != 0:
        raise MemoryError("rnn: out of memory for the GEMM's packing buffers")
    cdef Tensor whh_t = w_hh.t().contiguous()
    cdef Tensor hg = _new(dt, B, GH, 0, 2, False)
    if save:
        act = _new(dt, T, B, a.A * H, 3, False) if a.A else None
        cs = _new(dt, T, B, H, 3, False) if mode == M_LSTM else None
    cdef Tensor cbuf = cs
    if mode == M_LSTM and cbuf is None:
        cbuf = _new(dt, 2, B, H, 3, False)
    a.xg, a.whh_t, a.h0, a.out, a.hg = data_of(xg), data_of(whh_t), data_of(h0), data_of(out), data_of(hg)
    if mode == M_LSTM:
        a.c0, a.cs = data_of(c0), data_of(cbuf)
    a.act = data_of(act) if act is not None else NULL
    with nogil:
        if dt.num == FLOAT32:
            rc = _forward_loop(&a, <float*>NULL)
        else:
            rc = _forward_loop(&a, <double*>NULL)
    if rc != 0:
        raise MemoryError("rnn: out of memory for the GEMM's packing buffers")
    cdef int64_t last = 0 if reverse else T - 1
    memcpy(data_of(h_n), data_of(out) + last * B * H * esz, B * H * esz)
    if mode == M_LSTM:
        j = last if save else (T - 1) & 1
        memcpy(data_of(c_n), data_of(cbuf) + j * B * H * esz, B * H * esz)
    return out, h_n, c_n, act, cs


def rnn_backward(int mode, Tensor dout, Tensor dh_n, Tensor dc_n, Tensor x, Tensor h0,
                 Tensor c0, Tensor w_ih, Tensor w_hh, Tensor out, Tensor act, Tensor cs,
                 bint reverse=False, bint need_x=True, bint need_w=True):
    """The gradients of rnn_forward (NOTE [ Fused recurrent steps ]) for the output's
    gradient dout (T, B, H) and the final states' dh_n, dc_n (B, H) (each may be None: no
    gradient): (dx (T, B, I) or None, dh0 (B, H), dc0 (B, H) or None, dw_ih or None,
    dw_hh or None, da, dah), where da and dah (T*B, G*H) are the gates' pre-activation
    gradients on the input and hidden sides (the same tensor except for GRU): the biases'
    gradients are their column sums.  x, h0, c0, the weights and out, act, cs are the
    forward's (saved with save=True)."""
    _check_common(mode, x, h0, c0, w_ih, w_hh)
    cdef DType dt = x._dtype
    cdef int64_t T = x._sizes[0], B = x._sizes[1], I = x._sizes[2], H = h0._sizes[1]
    cdef int64_t G = _GATES[mode], GH = G * H, esz = dt.itemsize
    _check(out, "out", dt, 3, T, B, H)
    if _SAVED[mode]:
        _check(act, "act", dt, 3, T, B, _SAVED[mode] * H)
    if mode == M_LSTM:
        _check(cs, "cs", dt, 3, T, B, H)
    if not out._contiguous or (act is not None and not act._contiguous) or (
            cs is not None and not cs._contiguous):
        raise ValueError("rnn_backward: out, act and cs must be the forward's (contiguous)")
    if dout is not None:
        _check(dout, "dout", dt, 3, T, B, H)
        if H > 1 and dout._strides[2] != 1:
            dout = dout.contiguous()
    cdef Args a
    memset(&a, 0, sizeof(Args))
    a.mode, a.dtype_num = mode, dt.num
    a.T, a.B, a.H, a.G, a.A = T, B, H, G, _SAVED[mode]
    a.reverse = reverse
    cdef Tensor dh = _new(dt, B, H, 0, 2, dh_n is None)
    cdef Tensor dc = _new(dt, B, H, 0, 2, dc_n is None) if mode == M_LSTM else None
    if dh_n is not None:
        _check(dh_n, "dh_n", dt, 2, B, H, 0)
        dh.copy_(dh_n)
    if dc is not None and dc_n is not None:
        _check(dc_n, "dc_n", dt, 2, B, H, 0)
        dc.copy_(dc_n)
    cdef Tensor da = _new(dt, T * B, GH, 0, 2, False)
    cdef Tensor dah = _new(dt, T * B, GH, 0, 2, False) if mode == M_GRU else da
    cdef Tensor dx = None, dw_ih = None, dw_hh = None
    if need_x:
        dx = _new(dt, T, B, I, 3, False)
    if need_w:
        dw_ih = _new(dt, GH, I, 0, 2, True)
        dw_hh = _new(dt, GH, H, 0, 2, True)
    if T * B * H == 0:
        if dx is not None:
            dx.zero_()
        return dx, dh, dc, dw_ih, dw_hh, da.zero_(), dah.zero_()
    a.out, a.h0, a.da, a.dah = data_of(out), data_of(h0), data_of(da), data_of(dah)
    a.act = data_of(act) if act is not None else NULL
    if mode == M_LSTM:
        a.c0, a.cs, a.dc = data_of(c0), data_of(cs), data_of(dc)
    a.dh = data_of(dh)
    a.whh, a.rs_whh, a.cs_whh = data_of(w_hh), w_hh._strides[0], w_hh._strides[1]
    if dout is not None:
        a.dout, a.st_do, a.sb_do = data_of(dout), dout._strides[0], dout._strides[1]
    cdef int rc = 0
    cdef int64_t rs_x = _rows_stride(x), cs_x = x._strides[2]
    cdef char* xp = data_of(x)
    cdef char* dxp = data_of(dx) if dx is not None else NULL
    cdef char* dwi = data_of(dw_ih) if dw_ih is not None else NULL
    cdef char* dwh = data_of(dw_hh) if dw_hh is not None else NULL
    cdef char* wip = data_of(w_ih)
    cdef int64_t rs_wi = w_ih._strides[0], cs_wi = w_ih._strides[1]
    cdef int64_t first = T - 1 if reverse else 0        # the forward's first step
    cdef int64_t k_rest = (T - 1) * B
    cdef char* dah_rest = a.dah + (0 if reverse else B * GH * esz)
    cdef char* h_rest = a.out + (B * H * esz if reverse else 0)
    with nogil:
        if dt.num == FLOAT32:
            rc = _backward_loop(&a, <float*>NULL)
        else:
            rc = _backward_loop(&a, <double*>NULL)
        if rc == 0 and dxp != NULL:
            # dx = dA @ W_ih over all steps
            rc = gemm_strided(dt.num, T * B, I, GH, 1.0, a.da, GH, 1, wip, rs_wi, cs_wi,
                              0.0, dxp, I, 1)
        if rc == 0 and dwi != NULL:
            # dW_ih = dA^T @ x;  dW_hh = dAh[rest]^T @ h[rest - 1] + dAh[first]^T @ h0
            rc = gemm_strided(dt.num, GH, I, T * B, 1.0, a.da, 1, GH, xp, rs_x, cs_x,
                              0.0, dwi, I, 1)
            if rc == 0 and k_rest > 0:
                rc = gemm_strided(dt.num, GH, H, k_rest, 1.0, dah_rest, 1, GH, h_rest, H, 1,
                                  0.0, dwh, H, 1)
            if rc == 0:
                rc = gemm_strided(dt.num, GH, H, B, 1.0, a.dah + first * B * GH * esz, 1, GH,
                                  a.h0, H, 1, 1.0 if k_rest > 0 else 0.0, dwh, H, 1)
    if rc != 0:
        raise MemoryError("rnn: out of memory for the GEMM's packing buffers")
    return dx, dh, dc, dw_ih, dw_hh, da, dah
