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
          LSTM with a projection (proj_size P):  h = (o * tanh(c)) @ W_hr^T, one more GEMM
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
With a projection the forward also saves o * tanh(c_t); each backward step first forms
dh_t = dout_t + dh_next (kept: dW_hr = dh^T @ (o * tanh(c)) is one GEMM over all steps)
and turns it into o * tanh(c)'s gradient with one GEMM dh_t @ W_hr.

The per-step GEMMs multiply by a constant W_hh, packed once per call as the GEMM's A
operand (NOTE [ Per-step GEMM ]): half the time of gemm_strided, which packs it again every
step.  The projections of LSTM's proj_size (rare) run on gemm_strided.  The fused
passes are C rows built per instruction set (NOTE [ Recurrent rows ]): float32 uses the
branch-free exp and tanh of fastmath.pxd (2-3 ulp), so they vectorize; float64 uses libm.
Nothing depends on the thread count: the GEMMs split over the library's threads, the fused
passes over batch rows (O(B*H) per step against the GEMM's O(B*H*G*H): one thread below
ROWS_GRAIN gate elements per thread).

Layout contract: x is (T, B, I) whose (T, B) dims merge into one row dim (the caller
copies an x that does not); the last dim may have any stride.  h0 (B, P) and c0 (B, H)
are contiguous; weights any strides; dout (T, B, P) any strides with a unit last one.
Every result is a new contiguous tensor.
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset
from libc.math cimport exp, tanh

from strided._C.core.dtypes cimport DType, FLOAT32, FLOAT64, INT64, dtype_from_num
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.kernels.gemm cimport (gemm_strided, gemm_pack_a, gemm_packed_a_elems,
                                      gemm_offset_b_block, gemm_offb_reach, gemm_mr)
from strided._C.core.cpu cimport isa_level, ISA_AVX2, ISA_AVX512
from strided._C.core.threads cimport num_threads_for

ctypedef fused floating:
    float
    double

cdef enum:
    ROWS_GRAIN = 1 << 15    # gate elements per step per thread of the fused passes
    STEP_GRAIN = 1 << 19    # multiply-adds per thread of a per-step product
    M_RNN_TANH = 0
    M_RNN_RELU = 1
    M_LSTM = 2
    M_GRU = 3

# the mode numbers, for the Python layer
RNN_TANH, RNN_RELU, LSTM, GRU = M_RNN_TANH, M_RNN_RELU, M_LSTM, M_GRU
_GATES = (1, 1, 4, 3)           # gates per mode
_SAVED = (0, 0, 4, 4)           # saved activations per mode, in units of H


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>
    /* e**x and tanh(x) in float32: the C twins of fastmath.pxd's expf_fast and tanhf_fast
       (the same steps and coefficients, so the same results), written in C so that the rows
       below can be built once per instruction set (NOTE [ Recurrent rows ]). */
    static inline __attribute__((always_inline)) float rnn_expf(float x) {
        float xc = x > 89.0f ? 89.0f : x;
        xc = xc < -104.0f ? -104.0f : xc;
        float t = xc * 1.44269504088896341f;
        float fn = (t + 12582912.0f) - 12582912.0f;
        int32_t n = (int32_t)fn;
        float r = xc - fn * 0.693359375f;
        r = r - fn * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        int32_t n1 = n >> 1;
        uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n - n1 + 127) << 23;
        float s1, s2;
        memcpy(&s1, &b1, 4);
        memcpy(&s2, &b2, 4);
        p = p * s1 * s2;
        return x != x ? x : p;
    }
    static inline __attribute__((always_inline)) float rnn_tanhf(float x) {
        float z = x * x;
        float p = -5.70498872745e-3f;
        p = p * z + 2.06390887954e-2f;
        p = p * z - 5.37397155531e-2f;
        p = p * z + 1.33314422036e-1f;
        p = p * z - 3.33332819422e-1f;
        float small = p * z * x + x;
        float a = x >= 0.0f ? x : -x;
        float big = 1.0f - 2.0f / (rnn_expf(a + a) + 1.0f);
        big = x >= 0.0f ? big : -big;
        float r = a < 0.625f ? small : big;
        r = x == 0.0f ? x : r;
        return x != x ? x : r;
    }
    static inline __attribute__((always_inline)) float rnn_sigf(float x) {
        return 1.0f / (1.0f + rnn_expf(-x));
    }
    static inline double rnn_sigd(double x) { return 1.0 / (1.0 + exp(-x)); }

    /* NOTE [ Recurrent rows ]: one batch row of one step, n = H outputs; the gate blocks
       of x (the input projection), p (h_prev @ W_hh^T), a (saved activations) and da (the
       pre-activation gradients) are n apart.  dout is the output's gradient (a zero row
       when none reached it).  Pointers of one call do not overlap, except that LSTM's
       forward may write its activations a over x (the same elements: each is read before
       it is written, in the same iteration).  The loops tell the vectorizer so (ivdep):
       runtime overlap checks for seven pointers exceed gcc's limit and left them scalar. */
    #define RNN_IVDEP _Pragma("GCC ivdep")
    #define RNN_ROWS(SUF, T, SIG, TANH, ATTR)                                              \
    ATTR static void rnn_tanh_fwd_##SUF(int64_t n, const void* x_, const void* p_, void* h_) { \
        const T* x = (const T*)x_; const T* p = (const T*)p_;           \
        T* h = (T*)h_;                                                            \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) h[j] = TANH(x[j] + p[j]);                          \
    }                                                                                      \
    ATTR static void rnn_relu_fwd_##SUF(int64_t n, const void* x_, const void* p_, void* h_) { \
        const T* x = (const T*)x_; const T* p = (const T*)p_;           \
        T* h = (T*)h_;                                                            \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) { T v = x[j] + p[j]; h[j] = v > 0 ? v : (T)0; }   \
    }                                                                                      \
    ATTR static void rnn_lstm_fwd_##SUF(int64_t n, const void* x_, const void* p_,         \
                                        const void* cp_, void* h_, void* c_, void* a_) {   \
        const T* x = (const T*)x_; const T* p = (const T*)p_;           \
        const T* cp = (const T*)cp_; T* h = (T*)h_;                      \
        T* c = (T*)c_; T* a = (T*)a_;                                    \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) {                                                  \
            T gi = SIG(x[j] + p[j]), gf = SIG(x[n + j] + p[n + j]);                        \
            T gg = TANH(x[2 * n + j] + p[2 * n + j]), go = SIG(x[3 * n + j] + p[3 * n + j]); \
            T cv = gf * cp[j] + gi * gg;                                                   \
            c[j] = cv;                                                                     \
            h[j] = go * TANH(cv);                                                          \
            a[j] = gi; a[n + j] = gf; a[2 * n + j] = gg; a[3 * n + j] = go;                \
        }                                                                                  \
    }                                                                                      \
    ATTR static void rnn_gru_fwd_##SUF(int64_t n, const void* x_, const void* p_,          \
                                       const void* bhn_, const void* hp_, void* h_, void* a_) { \
        const T* x = (const T*)x_; const T* p = (const T*)p_;           \
        const T* bhn = (const T*)bhn_; const T* hp = (const T*)hp_;      \
        T* h = (T*)h_; T* a = (T*)a_;                                    \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) {                                                  \
            T r = SIG(x[j] + p[j]), z = SIG(x[n + j] + p[n + j]);                          \
            T hn = p[2 * n + j] + bhn[j];                                                  \
            T nn = TANH(x[2 * n + j] + r * hn);                                            \
            h[j] = ((T)1 - z) * nn + z * hp[j];                                            \
            a[j] = r; a[n + j] = z; a[2 * n + j] = nn; a[3 * n + j] = hn;                  \
        }                                                                                  \
    }                                                                                      \
    ATTR static void rnn_tanh_bwd_##SUF(int64_t n, const void* dout_, const void* dh_,     \
                                        const void* h_, void* da_) {                       \
        const T* dout = (const T*)dout_; const T* dh = (const T*)dh_;   \
        const T* h = (const T*)h_; T* da = (T*)da_;                      \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) da[j] = (dout[j] + dh[j]) * ((T)1 - h[j] * h[j]);  \
    }                                                                                      \
    ATTR static void rnn_relu_bwd_##SUF(int64_t n, const void* dout_, const void* dh_,     \
                                        const void* h_, void* da_) {                       \
        const T* dout = (const T*)dout_; const T* dh = (const T*)dh_;   \
        const T* h = (const T*)h_; T* da = (T*)da_;                      \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) da[j] = h[j] > 0 ? dout[j] + dh[j] : (T)0;         \
    }                                                                                      \
    ATTR static void rnn_lstm_bwd_##SUF(int64_t n, const void* dout_, const void* dh_,     \
                                        void* dc_, const void* a_, const void* c_,         \
                                        const void* cp_, void* da_) {                      \
        const T* dout = (const T*)dout_; const T* dh = (const T*)dh_;   \
        T* dc = (T*)dc_; const T* a = (const T*)a_;                      \
        const T* c = (const T*)c_; const T* cp = (const T*)cp_;          \
        T* da = (T*)da_;                                                          \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) {                                                  \
            T g = dout[j] + dh[j];                                                         \
            T gi = a[j], gf = a[n + j], gg = a[2 * n + j], go = a[3 * n + j];              \
            T tc = TANH(c[j]);                                                             \
            T dct = dc[j] + g * go * ((T)1 - tc * tc);                                     \
            da[j] = dct * gg * gi * ((T)1 - gi);                                           \
            da[n + j] = dct * cp[j] * gf * ((T)1 - gf);                                    \
            da[2 * n + j] = dct * gi * ((T)1 - gg * gg);                                   \
            da[3 * n + j] = g * tc * go * ((T)1 - go);                                     \
            dc[j] = dct * gf;                                                              \
        }                                                                                  \
    }                                                                                      \
    ATTR static void rnn_gru_bwd_##SUF(int64_t n, const void* dout_, void* dh_,            \
                                       const void* a_, const void* hp_, void* da_,         \
                                       void* dah_) {                                       \
        const T* dout = (const T*)dout_; T* dh = (T*)dh_;               \
        const T* a = (const T*)a_; const T* hp = (const T*)hp_;          \
        T* da = (T*)da_; T* dah = (T*)dah_;                              \
        RNN_IVDEP for (int64_t j = 0; j < n; j++) {                                                  \
            T g = dout[j] + dh[j];                                                         \
            T r = a[j], z = a[n + j], nn = a[2 * n + j], hn = a[3 * n + j];                \
            T dan = g * ((T)1 - z) * ((T)1 - nn * nn);                                     \
            T dar = dan * hn * r * ((T)1 - r);                                             \
            T daz = g * (hp[j] - nn) * z * ((T)1 - z);                                     \
            da[j] = dar; da[n + j] = daz; da[2 * n + j] = dan;                              \
            dah[j] = dar; dah[n + j] = daz; dah[2 * n + j] = dan * r;                       \
            dh[j] = g * z;                                                                 \
        }                                                                                  \
    }                                                                                      \
    static const rnn_rows rnn_rows_##SUF = {                                               \
        rnn_tanh_fwd_##SUF, rnn_relu_fwd_##SUF, rnn_lstm_fwd_##SUF, rnn_gru_fwd_##SUF,     \
        rnn_tanh_bwd_##SUF, rnn_relu_bwd_##SUF, rnn_lstm_bwd_##SUF, rnn_gru_bwd_##SUF};

    typedef struct {
        void (*tanh_fwd)(int64_t, const void*, const void*, void*);
        void (*relu_fwd)(int64_t, const void*, const void*, void*);
        void (*lstm_fwd)(int64_t, const void*, const void*, const void*, void*, void*, void*);
        void (*gru_fwd)(int64_t, const void*, const void*, const void*, const void*, void*,
                        void*);
        void (*tanh_bwd)(int64_t, const void*, const void*, const void*, void*);
        void (*relu_bwd)(int64_t, const void*, const void*, const void*, void*);
        void (*lstm_bwd)(int64_t, const void*, const void*, void*, const void*, const void*,
                         const void*, void*);
        void (*gru_bwd)(int64_t, const void*, void*, const void*, const void*, void*, void*);
    } rnn_rows;

    RNN_ROWS(f_base, float, rnn_sigf, rnn_tanhf, )
    RNN_ROWS(d_base, double, rnn_sigd, tanh, )
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    RNN_ROWS(f_avx2, float, rnn_sigf, rnn_tanhf, __attribute__((target("avx2,fma"))))
    RNN_ROWS(f_avx512, float, rnn_sigf, rnn_tanhf,
             __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,prefer-vector-width=512"))))
    #define RNN_HAVE_SIMD 1
    #else
    #define rnn_rows_f_avx2 rnn_rows_f_base
    #define rnn_rows_f_avx512 rnn_rows_f_base
    #define RNN_HAVE_SIMD 0
    #endif
    """
    ctypedef struct rnn_rows:
        void (*tanh_fwd)(int64_t, const void*, const void*, void*) noexcept nogil
        void (*relu_fwd)(int64_t, const void*, const void*, void*) noexcept nogil
        void (*lstm_fwd)(int64_t, const void*, const void*, const void*, void*, void*,
                         void*) noexcept nogil
        void (*gru_fwd)(int64_t, const void*, const void*, const void*, const void*, void*,
                        void*) noexcept nogil
        void (*tanh_bwd)(int64_t, const void*, const void*, const void*, void*) noexcept nogil
        void (*relu_bwd)(int64_t, const void*, const void*, const void*, void*) noexcept nogil
        void (*lstm_bwd)(int64_t, const void*, const void*, void*, const void*, const void*,
                         const void*, void*) noexcept nogil
        void (*gru_bwd)(int64_t, const void*, void*, const void*, const void*, void*,
                        void*) noexcept nogil
    const rnn_rows rnn_rows_f_base
    const rnn_rows rnn_rows_d_base
    const rnn_rows rnn_rows_f_avx2
    const rnn_rows rnn_rows_f_avx512
    int RNN_HAVE_SIMD


# the float32 rows for the instruction-set level (NOTE [ Instruction sets ]); float64 runs
# libm's exp and tanh, element by element
cdef const rnn_rows* _rows_f = &rnn_rows_f_base
cdef const rnn_rows* _rows_d = &rnn_rows_d_base
if RNN_HAVE_SIMD and isa_level() >= ISA_AVX2:
    _rows_f = &rnn_rows_f_avx2
if RNN_HAVE_SIMD and isa_level() >= ISA_AVX512:
    _rows_f = &rnn_rows_f_avx512


# ---- the per-step product with a constant weight ----------------------------------------

cdef struct StepGemm:
    # NOTE [ Per-step GEMM ]
    # y (n x m) = x (n x k) @ A^T for a constant A (m x k) and a new x every step, as
    # y^T = A @ x^T on the GEMM's offset-B block: A is packed ONCE per call (gemm_pack_a, one
    # packed block per kb rows of K), x^T (k x n, rows of n = the batch) is the B operand
    # read in place (NOTE [ Offset-B GEMM ]; kb * n elements stay in L1), and the result
    # comes out transposed, y^T (m x n).  Packing A's 4 MB every step (gemm_strided) took
    # 0.80 ms per 32 x 512 x 2048 float32 product on one thread, this 0.42 ms.  x is
    # transposed into bT and y^T back into y (O(n*(k + m)) per step, against O(n*k*m)).
    # Threads split A's rows in whole MR slivers, so results do not depend on their count.
    int dtype_num
    int64_t m, k, n, kb, esz, mr
    const char* a_pk              # the packed blocks of A, one after another
    const int64_t* b_off          # p * n for p < kb
    char* bT                      # scratch (k x n) + the offset-B reach: x^T
    char* cT                      # scratch (m x n): y^T
    int nt


cdef void _transpose(const char* src, int64_t rows, int64_t cols, char* dst, int64_t esz,
                     bint add) noexcept nogil:
    """dst (cols x rows) = src (rows x cols)^T, both contiguous (add: dst += src^T), in 32 x
    32 tiles."""
    cdef int64_t i0, j0, i, j, i1, j1
    for i0 in range(0, rows, 32):
        i1 = min(rows, i0 + 32)
        for j0 in range(0, cols, 32):
            j1 = min(cols, j0 + 32)
            if esz == 4:
                for j in range(j0, j1):
                    for i in range(i0, i1):
                        if add:
                            (<float*>dst)[j * rows + i] += (<const float*>src)[i * cols + j]
                        else:
                            (<float*>dst)[j * rows + i] = (<const float*>src)[i * cols + j]
            else:
                for j in range(j0, j1):
                    for i in range(i0, i1):
                        if add:
                            (<double*>dst)[j * rows + i] += (<const double*>src)[i * cols + j]
                        else:
                            (<double*>dst)[j * rows + i] = (<const double*>src)[i * cols + j]


cdef void _step_gemm(const StepGemm* g, const char* x, char* y, bint add) noexcept nogil:
    """y (n x m) = x (n x k) @ A^T, or y += that with add (NOTE [ Per-step GEMM ])."""
    cdef int64_t m = g.m, n = g.n, e = g.esz, um = (g.m + g.mr - 1) // g.mr
    cdef int64_t k0, kc, r0, r1, off
    cdef int t
    _transpose(x, n, g.k, g.bT, e, False)
    for t in prange(g.nt, num_threads=g.nt, schedule="static"):
        r0 = um * t // g.nt * g.mr
        r1 = min(m, um * (t + 1) // g.nt * g.mr)
        if r1 > r0:
            k0 = 0
            off = 0
            while k0 < g.k:
                kc = min(g.kb, g.k - k0)
                gemm_offset_b_block(g.dtype_num, r1 - r0, n, kc, g.a_pk + (off + r0 * kc) * e,
                                    g.bT + k0 * n * e, g.b_off, 0.0 if k0 == 0 else 1.0,
                                    g.cT + r0 * n * e, n)
                off = off + gemm_packed_a_elems(g.dtype_num, m, kc)
                k0 = k0 + kc
    _transpose(g.cT, m, n, y, e, add)


cdef class _StepBuffers:
    """The buffers of one StepGemm (kept alive by the entry point that runs it)."""
    cdef Tensor a_pk, b_off, bT, cT


cdef _StepBuffers _step_gemm_init(StepGemm* g, Tensor A, bint transposed, int64_t n,
                                  DType dt):
    """Pack A (m x k) -- or A^T when transposed -- for products with n-row inputs."""
    cdef _StepBuffers bufs = _StepBuffers()
    cdef int64_t rsA = A._strides[1] if transposed else A._strides[0]
    cdef int64_t csA = A._strides[0] if transposed else A._strides[1]
    g.dtype_num, g.esz, g.n = dt.num, dt.itemsize, n
    g.m = A._sizes[1] if transposed else A._sizes[0]
    g.k = A._sizes[0] if transposed else A._sizes[1]
    g.mr = gemm_mr(dt.num)
    g.kb = max(8, min(g.k, 32768 // (g.esz * max(n, 1))))
    g.nt = num_threads_for(g.m * g.n * g.k, STEP_GRAIN)
    cdef int64_t total = 0, k0 = 0, kc, p
    while k0 < g.k:
        kc = min(g.kb, g.k - k0)
        total += gemm_packed_a_elems(dt.num, g.m, kc)
        k0 += kc
    bufs.a_pk = _new(dt, total + 1, 0, 0, 1, False)
    bufs.b_off = _new(dtype_from_num(INT64), g.kb, 0, 0, 1, False)
    bufs.bT = _new(dt, g.k * n + gemm_offb_reach(dt.num) + 1, 0, 0, 1, True)
    bufs.cT = _new(dt, g.m * n, 0, 0, 1, False)
    cdef int64_t* off = <int64_t*>data_of(bufs.b_off)
    for p in range(g.kb):
        off[p] = p * n
    cdef char* a = data_of(A)
    cdef char* dst = data_of(bufs.a_pk)
    k0 = 0
    while k0 < g.k:
        kc = min(g.kb, g.k - k0)
        gemm_pack_a(dt.num, a + k0 * csA * g.esz, rsA, csA, g.m, kc, dst)
        dst += gemm_packed_a_elems(dt.num, g.m, kc) * g.esz
        k0 += kc
    g.a_pk, g.b_off = data_of(bufs.a_pk), <const int64_t*>data_of(bufs.b_off)
    g.bT, g.cT = data_of(bufs.bT), data_of(bufs.cT)
    return bufs


# ---- the time loops ---------------------------------------------------------------------

cdef struct Args:
    int mode
    int dtype_num
    int64_t esz                   # bytes per element
    int64_t T, B, H, G, A         # A: saved activations per row, in units of H
    int64_t P                     # the output's (and h's) width: H, or LSTM's proj_size
    bint reverse
    int nt                        # threads for the fused passes (over batch rows)
    const rnn_rows* rows
    char* xg                      # (T, B, G*H) contiguous
    StepGemm hh                   # h_prev @ W_hh^T (forward) or dA @ W_hh (backward)
    char* whr_t                   # LSTM with projection: W_hr^T (H, P) row-major; else NULL
    char* whr                     # W_hr (P, H), strides rs_whr, cs_whr
    int64_t rs_whr, cs_whr
    char* hfull                   # with projection: o * tanh(c), (T, B, H) when saving, else
                                  # (1, B, H)
    char* bhn                     # GRU: b_hh[2H:3H] (zeros without bias), contiguous
    char* zero                    # H zeros (the output gradient where none reached it)
    char* h0                      # (B, P) contiguous
    char* c0                      # (B, H) contiguous (LSTM)
    char* out                     # (T, B, P) contiguous
    char* cs                      # LSTM: (T, B, H) when saving, else (2, B, H)
    char* act                     # (T, B, A*H) when saving, else (1, B, A*H)
    bint save
    char* hg                      # scratch (B, G*H)
    # backward
    char* dout                    # (T, B, P) strides st_do, sb_do, 1; or NULL
    int64_t st_do, sb_do
    char* dh                      # (B, P): dh_n on entry, dh0 on exit
    char* dhsum                   # with projection: dout + dh_next per step, (T, B, P)
    char* dhfull                  # with projection: scratch (B, H), dhsum @ W_hr
    char* dc                      # (B, H): dc_n on entry, dc0 on exit (LSTM)
    char* da                      # (T, B, G*H)
    char* dah                     # (T, B, G*H): GRU's hidden side; the others: == da


cdef int _forward_loop(const Args* a) noexcept nogil:
    """The forward steps (NOTE [ Fused recurrent steps ])."""
    cdef int64_t T = a.T, B = a.B, H = a.H, P = a.P, GH = a.G * a.H, e = a.esz, s, t, tp, b
    cdef int64_t AH = a.A * a.H, cslot, cpslot
    cdef const rnn_rows* rows = a.rows
    cdef const char* hprev
    cdef const char* cprev
    cdef char* act
    cdef char* h
    cdef const char* xg
    for s in range(T):
        t = T - 1 - s if a.reverse else s
        tp = t + 1 if a.reverse else t - 1
        hprev = a.h0 if s == 0 else a.out + tp * B * P * e
        _step_gemm(&a.hh, hprev, a.hg, False)
        xg = a.xg + t * B * GH * e
        h = a.out + t * B * P * e
        if a.whr_t != NULL:             # o * tanh(c) first, projected below
            h = a.hfull + (t * B * H * e if a.save else 0)
        act = a.act + (t * B * AH * e if a.save else 0)
        if a.mode == M_LSTM:
            cslot = t if a.save else s & 1
            cpslot = tp if a.save else (s - 1) & 1
            cprev = a.c0 if s == 0 else a.cs + cpslot * B * H * e
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.lstm_fwd(H, xg + b * GH * e, a.hg + b * GH * e, cprev + b * H * e,
                              h + b * H * e, a.cs + (cslot * B + b) * H * e,
                              act + b * AH * e)
            if a.whr_t != NULL and gemm_strided(a.dtype_num, B, P, H, 1.0, h, H, 1, a.whr_t,
                                                P, 1, 0.0, a.out + t * B * P * e, P, 1) != 0:
                return -1
        elif a.mode == M_GRU:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.gru_fwd(H, xg + b * GH * e, a.hg + b * GH * e, a.bhn, hprev + b * H * e,
                             h + b * H * e, act + b * AH * e)
        elif a.mode == M_RNN_RELU:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.relu_fwd(H, xg + b * GH * e, a.hg + b * GH * e, h + b * H * e)
        else:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.tanh_fwd(H, xg + b * GH * e, a.hg + b * GH * e, h + b * H * e)
    return 0


cdef int _backward_loop(const Args* a) noexcept nogil:
    """The backward steps, the forward's last first (NOTE [ Fused recurrent steps ])."""
    cdef int64_t T = a.T, B = a.B, H = a.H, P = a.P, GH = a.G * a.H, e = a.esz, s, t, tp, b
    cdef const rnn_rows* rows = a.rows
    cdef const char* hprev
    cdef const char* cprev
    cdef const char* act
    cdef const char* dout
    cdef int64_t sb_do = a.sb_do * e if a.dout != NULL else 0
    cdef char* da
    cdef char* dah
    cdef char* dsum
    for s in range(T):
        t = s if a.reverse else T - 1 - s
        tp = t + 1 if a.reverse else t - 1
        hprev = a.h0 if s == T - 1 else a.out + tp * B * P * e
        dout = a.dout + t * a.st_do * e if a.dout != NULL else a.zero
        da = a.da + t * B * GH * e
        dah = a.dah + t * B * GH * e
        act = a.act + t * B * a.A * H * e
        if a.whr != NULL:
            # dh_t = dout_t + dh_next, kept for dW_hr; o * tanh(c)'s gradient dh_t @ W_hr
            dsum = a.dhsum + t * B * P * e
            for b in prange(B, num_threads=a.nt, schedule="static"):
                _add_rows(a.dtype_num, P, dout + b * sb_do, a.dh + b * P * e,
                          dsum + b * P * e)
            if gemm_strided(a.dtype_num, B, H, P, 1.0, dsum, P, 1, a.whr, a.rs_whr,
                            a.cs_whr, 0.0, a.dhfull, H, 1) != 0:
                return -1
            cprev = a.c0 if s == T - 1 else a.cs + tp * B * H * e
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.lstm_bwd(H, a.zero, a.dhfull + b * H * e, a.dc + b * H * e,
                              act + b * 4 * H * e, a.cs + (t * B + b) * H * e,
                              cprev + b * H * e, da + b * GH * e)
        elif a.mode == M_LSTM:
            cprev = a.c0 if s == T - 1 else a.cs + tp * B * H * e
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.lstm_bwd(H, dout + b * sb_do, a.dh + b * H * e, a.dc + b * H * e,
                              act + b * 4 * H * e, a.cs + (t * B + b) * H * e,
                              cprev + b * H * e, da + b * GH * e)
        elif a.mode == M_GRU:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.gru_bwd(H, dout + b * sb_do, a.dh + b * H * e, act + b * 4 * H * e,
                             hprev + b * H * e, da + b * GH * e, dah + b * GH * e)
        elif a.mode == M_RNN_RELU:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.relu_bwd(H, dout + b * sb_do, a.dh + b * H * e,
                              a.out + (t * B + b) * H * e, da + b * GH * e)
        else:
            for b in prange(B, num_threads=a.nt, schedule="static"):
                rows.tanh_bwd(H, dout + b * sb_do, a.dh + b * H * e,
                              a.out + (t * B + b) * H * e, da + b * GH * e)
        # dh_prev = dAh_t @ W_hh (+ the direct path z * dh, already in dh, for GRU)
        _step_gemm(&a.hh, dah, a.dh, a.mode == M_GRU)
    return 0


cdef void _add_rows(int dtype_num, int64_t n, const char* x, const char* y,
                    char* out) noexcept nogil:
    """out[:n] = x[:n] + y[:n]."""
    cdef int64_t j
    if dtype_num == FLOAT32:
        for j in range(n):
            (<float*>out)[j] = (<const float*>x)[j] + (<const float*>y)[j]
    else:
        for j in range(n):
            (<double*>out)[j] = (<const double*>x)[j] + (<const double*>y)[j]


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


cdef int _check_common(int mode, Tensor x, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh,
                       Tensor w_hr, int64_t* H_out, int64_t* P_out) except -1:
    """Check one layer's operands; H_out, P_out get the hidden size and h's width."""
    if mode < 0 or mode > 3:
        raise ValueError(f"rnn: unknown mode {mode}")
    if x._dtype.num != FLOAT32 and x._dtype.num != FLOAT64:
        raise TypeError(f"rnn: expected float32 or float64, got {x._dtype.name}")
    if x._ndim != 3:
        raise ValueError(f"rnn: x must be (T, B, I), got {tuple(x.shape)}")
    if w_hh._ndim != 2 or w_hh._sizes[0] % _GATES[mode] != 0:
        raise ValueError(f"rnn: w_hh must be ({_GATES[mode]} * hidden, hidden or proj), got "
                         f"{tuple(w_hh.shape)}")
    cdef int64_t B = x._sizes[1], I = x._sizes[2], G = _GATES[mode]
    cdef int64_t H = w_hh._sizes[0] // G, P = w_hh._sizes[1]
    if w_hr is not None:
        if mode != M_LSTM:
            raise ValueError("rnn: only LSTM takes a projection (w_hr)")
        _check(w_hr, "w_hr", x._dtype, 2, P, H, 0)
    elif P != H:
        raise ValueError(f"rnn: w_hh must have shape {(G * H, H)}, got {tuple(w_hh.shape)}")
    _check(w_hh, "w_hh", x._dtype, 2, G * H, P, 0)
    _check(h0, "h0", x._dtype, 2, B, P, 0)
    if not h0._contiguous:
        raise ValueError("rnn: h0 must be contiguous")
    if mode == M_LSTM:
        if c0 is None:
            raise ValueError("rnn: LSTM needs c0")
        _check(c0, "c0", x._dtype, 2, B, H, 0)
        if not c0._contiguous:
            raise ValueError("rnn: c0 must be contiguous")
    _check(w_ih, "w_ih", x._dtype, 2, G * H, I, 0)
    H_out[0], P_out[0] = H, P
    return 0


cdef void _fill_args(Args* a, DType dt):
    a.esz = dt.itemsize
    a.rows = _rows_f if dt.num == FLOAT32 else _rows_d
    a.nt = num_threads_for(a.B * a.H * a.G, ROWS_GRAIN)


# NOTE [ Scratch pool ]
# The backward's gate gradients (T*B x G*H: 16 MB for a 512-wide LSTM layer over 128 x 32)
# are scratch: fresh memory of that size costs the kernel's page zeroing on first touch
# (14% of an LSTM's forward+backward, perf), so the last two such buffers are kept and
# reused by the next call that fits in one.  At most two are held.
cdef list _pool = []


cdef Tensor _take_scratch(DType dt, int64_t n):
    """A contiguous buffer of at least n elements of dt, viewed as its first n (contents
    undefined)."""
    cdef Tensor t, best = None
    cdef Py_ssize_t i, at = -1
    for i in range(len(_pool)):
        t = _pool[i]
        if t._dtype is dt and t._numel >= n and (best is None or t._numel < best._numel):
            best, at = t, i
    if best is None:
        return _new(dt, n, 0, 0, 1, False)
    del _pool[at]                   # by position: Tensor == compares elements
    return best[:n]


cdef void _give_scratch(Tensor t):
    """Return a buffer from _take_scratch (its whole storage) to the pool."""
    cdef Tensor whole = t._base_tensor if t._base_tensor is not None else t
    _pool.append(whole)
    if len(_pool) > 2:
        del _pool[min(range(len(_pool)), key=lambda i: _pool[i].numel())]


def rnn_forward(int mode, Tensor x, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh,
                Tensor b_ih=None, Tensor b_hh=None, bint reverse=False, bint save=False,
                Tensor w_hr=None):
    """One layer in one direction over a sequence (NOTE [ Fused recurrent steps ]):
    (out (T, B, P), h_n (B, P), c_n (B, H) or None, act, cs, hfull).

    mode is RNN_TANH, RNN_RELU, LSTM or GRU; x (T, B, I) with mergeable (T, B) dims; h0
    (B, P) and for LSTM c0 (B, H), contiguous; w_ih (G*H, I), w_hh (G*H, P), biases (G*H,)
    or None; w_hr (P, H), LSTM's projection h = (o * tanh(c)) @ w_hr^T, or None (then
    P = H).  With save, act (T, B, A*H) holds the gate activations the backward reads
    (LSTM, GRU; None for RNN), cs (T, B, H) every c_t (LSTM) and hfull (T, B, H) every
    o * tanh(c_t) (with a projection); otherwise they are None."""
    cdef int64_t H, P
    _check_common(mode, x, h0, c0, w_ih, w_hh, w_hr, &H, &P)
    cdef DType dt = x._dtype
    cdef int64_t T = x._sizes[0], B = x._sizes[1], I = x._sizes[2]
    cdef int64_t G = _GATES[mode], GH = G * H, esz = dt.itemsize, rs_x = 0, i, j
    if b_ih is not None:
        _check(b_ih, "b_ih", dt, 1, GH, 0, 0)
    if b_hh is not None:
        _check(b_hh, "b_hh", dt, 1, GH, 0, 0)
    cdef Args a
    memset(&a, 0, sizeof(Args))
    a.mode, a.dtype_num = mode, dt.num
    a.T, a.B, a.H, a.G, a.A, a.P = T, B, H, G, _SAVED[mode], P
    a.reverse = reverse
    cdef Tensor out = _new(dt, T, B, P, 3, False)
    cdef Tensor h_n = _new(dt, B, P, 0, 2, False)
    cdef Tensor c_n = _new(dt, B, H, 0, 2, False) if mode == M_LSTM else None
    cdef Tensor act = None, cs = None, hfull = None
    if T * B == 0:
        if B > 0:
            h_n.copy_(h0)
            if c_n is not None:
                c_n.copy_(c0)
        if save:
            act = _new(dt, T, B, a.A * H, 3, False) if a.A else None
            cs = _new(dt, T, B, H, 3, False) if mode == M_LSTM else None
            hfull = _new(dt, T, B, H, 3, False) if w_hr is not None else None
        return out, h_n, c_n, act, cs, hfull
    rs_x = _rows_stride(x)
    # xg = bias row, then += x @ W_ih^T (one GEMM over all steps)
    cdef Tensor xg = _new(dt, T, B, GH, 3, False)
    cdef bint has_bias = b_ih is not None or b_hh is not None
    cdef Tensor bhn = None
    if mode == M_GRU:
        bhn = b_hh[2 * H:].contiguous() if b_hh is not None else _new(dt, H, 0, 0, 1, True)
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
    cdef _StepBuffers hh_bufs = _step_gemm_init(&a.hh, w_hh, False, B, dt)
    cdef Tensor whr_t = w_hr.t().contiguous() if w_hr is not None else None
    cdef Tensor hg = _new(dt, B, GH, 0, 2, False)
    if save:
        # LSTM's activations overwrite xg where the step has read it (NOTE [ Recurrent rows ])
        act = xg if mode == M_LSTM else (_new(dt, T, B, a.A * H, 3, False) if a.A else None)
        cs = _new(dt, T, B, H, 3, False) if mode == M_LSTM else None
        hfull = _new(dt, T, B, H, 3, False) if w_hr is not None else None
    cdef Tensor abuf = act
    if abuf is None and a.A:
        abuf = _new(dt, 1, B, a.A * H, 3, False)     # one step's, overwritten
    cdef Tensor cbuf = cs
    if mode == M_LSTM and cbuf is None:
        cbuf = _new(dt, 2, B, H, 3, False)          # c_{t-1} and c_t, alternating
    cdef Tensor hfbuf = hfull
    if w_hr is not None and hfbuf is None:
        hfbuf = _new(dt, 1, B, H, 3, False)
    _fill_args(&a, dt)
    a.save = save
    a.xg, a.h0, a.out = data_of(xg), data_of(h0), data_of(out)
    a.hg = data_of(hg)
    if mode == M_LSTM:
        a.c0, a.cs = data_of(c0), data_of(cbuf)
    if w_hr is not None:
        a.whr_t, a.hfull = data_of(whr_t), data_of(hfbuf)
    a.act = data_of(abuf) if abuf is not None else NULL
    with nogil:
        rc = _forward_loop(&a)
    if rc != 0:
        raise MemoryError("rnn: out of memory for the GEMM's packing buffers")
    cdef int64_t last = 0 if reverse else T - 1
    memcpy(data_of(h_n), data_of(out) + last * B * P * esz, B * P * esz)
    if mode == M_LSTM:
        j = last if save else (T - 1) & 1
        memcpy(data_of(c_n), data_of(cbuf) + j * B * H * esz, B * H * esz)
    return out, h_n, c_n, act, cs, hfull


def rnn_backward(int mode, Tensor dout, Tensor dh_n, Tensor dc_n, Tensor x, Tensor h0,
                 Tensor c0, Tensor w_ih, Tensor w_hh, Tensor out, Tensor act, Tensor cs,
                 bint reverse=False, bint need_x=True, bint need_w=True, Tensor w_hr=None,
                 Tensor hfull=None, bint need_b=True):
    """The gradients of rnn_forward (NOTE [ Fused recurrent steps ]) for the output's
    gradient dout (T, B, P) and the final states' dh_n (B, P), dc_n (B, H) (each may be
    None: no gradient): (dx (T, B, I) or None, dh0 (B, P), dc0 (B, H) or None, dw_ih or
    None, dw_hh or None, db_ih, db_hh (G*H,) or None, dw_hr or None): need_x, need_w and
    need_b say which are computed.  x, h0, c0, the weights and out, act, cs, hfull are the
    forward's (saved with save=True)."""
    cdef int64_t H, P
    _check_common(mode, x, h0, c0, w_ih, w_hh, w_hr, &H, &P)
    cdef DType dt = x._dtype
    cdef int64_t T = x._sizes[0], B = x._sizes[1], I = x._sizes[2]
    cdef int64_t G = _GATES[mode], GH = G * H, esz = dt.itemsize
    _check(out, "out", dt, 3, T, B, P)
    if _SAVED[mode]:
        _check(act, "act", dt, 3, T, B, _SAVED[mode] * H)
    if mode == M_LSTM:
        _check(cs, "cs", dt, 3, T, B, H)
    if w_hr is not None:
        _check(hfull, "hfull", dt, 3, T, B, H)
    if not out._contiguous or (act is not None and not act._contiguous) or (
            cs is not None and not cs._contiguous) or (
            hfull is not None and not hfull._contiguous):
        raise ValueError("rnn_backward: out, act, cs and hfull must be the forward's "
                         "(contiguous)")
    if dout is not None:
        _check(dout, "dout", dt, 3, T, B, P)
        if P > 1 and dout._strides[2] != 1:
            dout = dout.contiguous()
    cdef Args a
    memset(&a, 0, sizeof(Args))
    a.mode, a.dtype_num = mode, dt.num
    a.T, a.B, a.H, a.G, a.A, a.P = T, B, H, G, _SAVED[mode], P
    a.reverse = reverse
    cdef Tensor dh = _new(dt, B, P, 0, 2, dh_n is None)
    cdef Tensor dc = _new(dt, B, H, 0, 2, dc_n is None) if mode == M_LSTM else None
    if dh_n is not None:
        _check(dh_n, "dh_n", dt, 2, B, P, 0)
        dh.copy_(dh_n)
    if dc is not None and dc_n is not None:
        _check(dc_n, "dc_n", dt, 2, B, H, 0)
        dc.copy_(dc_n)
    # the gates' gradients are scratch, reused from call to call (NOTE [ Scratch pool ])
    cdef Tensor da = _take_scratch(dt, T * B * GH)
    cdef Tensor dah = _take_scratch(dt, T * B * GH) if mode == M_GRU else da
    cdef Tensor db_ih = None, db_hh = None
    if need_b:
        db_ih = _new(dt, GH, 0, 0, 1, T * B == 0)
        db_hh = _new(dt, GH, 0, 0, 1, T * B == 0)
    cdef Tensor dx = None, dw_ih = None, dw_hh = None, dw_hr = None
    if need_x:
        dx = _new(dt, T, B, I, 3, False)
    if need_w:
        dw_ih = _new(dt, GH, I, 0, 2, True)
        dw_hh = _new(dt, GH, P, 0, 2, True)
        if w_hr is not None:
            dw_hr = _new(dt, P, H, 0, 2, True)
    if T * B == 0:
        if dx is not None:
            dx.zero_()
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh, dw_hr
    cdef Tensor dhsum = None, dhfull = None
    if w_hr is not None:
        dhsum = _new(dt, T, B, P, 3, False)
        dhfull = _new(dt, B, H, 0, 2, False)
        a.whr, a.rs_whr, a.cs_whr = data_of(w_hr), w_hr._strides[0], w_hr._strides[1]
        a.dhsum, a.dhfull = data_of(dhsum), data_of(dhfull)
    a.out, a.h0, a.da, a.dah = data_of(out), data_of(h0), data_of(da), data_of(dah)
    a.act = data_of(act) if act is not None else NULL
    if mode == M_LSTM:
        a.c0, a.cs, a.dc = data_of(c0), data_of(cs), data_of(dc)
    a.dh = data_of(dh)
    cdef _StepBuffers hh_bufs = _step_gemm_init(&a.hh, w_hh, True, B, dt)
    if dout is not None:
        a.dout, a.st_do, a.sb_do = data_of(dout), dout._strides[0], dout._strides[1]
    cdef int rc = 0
    cdef int64_t rs_x = _rows_stride(x), cs_x = x._strides[2]
    cdef char* xp = data_of(x)
    cdef char* dxp = data_of(dx) if dx is not None else NULL
    cdef char* dwi = data_of(dw_ih) if dw_ih is not None else NULL
    cdef char* dwh = data_of(dw_hh) if dw_hh is not None else NULL
    cdef char* dwr = data_of(dw_hr) if dw_hr is not None else NULL
    cdef char* hfp = data_of(hfull) if hfull is not None else NULL
    cdef char* wip = data_of(w_ih)
    cdef int64_t rs_wi = w_ih._strides[0], cs_wi = w_ih._strides[1]
    cdef int64_t first = T - 1 if reverse else 0        # the forward's first step
    cdef int64_t k_rest = (T - 1) * B
    cdef char* dah_rest = a.dah + (0 if reverse else B * GH * esz)
    cdef char* h_rest = a.out + (B * P * esz if reverse else 0)
    cdef Tensor zero = _new(dt, max(H, P), 0, 0, 1, True)
    cdef Tensor ones = _new(dt, T * B, 0, 0, 1, False).fill_(1) if need_b else None
    cdef char* onesp = data_of(ones) if ones is not None else NULL
    cdef char* dbi = data_of(db_ih) if db_ih is not None else NULL
    cdef char* dbh = data_of(db_hh) if db_hh is not None else NULL
    _fill_args(&a, dt)
    a.zero = data_of(zero)
    with nogil:
        rc = _backward_loop(&a)
        if rc == 0 and dxp != NULL:
            # dx = dA @ W_ih over all steps
            rc = gemm_strided(dt.num, T * B, I, GH, 1.0, a.da, GH, 1, wip, rs_wi, cs_wi,
                              0.0, dxp, I, 1)
        if rc == 0 and dwi != NULL:
            # dW_ih = dA^T @ x;  dW_hh = dAh[rest]^T @ h[rest - 1] + dAh[first]^T @ h0
            rc = gemm_strided(dt.num, GH, I, T * B, 1.0, a.da, 1, GH, xp, rs_x, cs_x,
                              0.0, dwi, I, 1)
            if rc == 0 and k_rest > 0:
                rc = gemm_strided(dt.num, GH, P, k_rest, 1.0, dah_rest, 1, GH, h_rest, P, 1,
                                  0.0, dwh, P, 1)
            if rc == 0:
                rc = gemm_strided(dt.num, GH, P, B, 1.0, a.dah + first * B * GH * esz, 1, GH,
                                  a.h0, P, 1, 1.0 if k_rest > 0 else 0.0, dwh, P, 1)
            if rc == 0 and dwr != NULL:
                # dW_hr = dh^T @ (o * tanh(c)) over all steps
                rc = gemm_strided(dt.num, P, H, T * B, 1.0, a.dhsum, 1, P, hfp, H, 1,
                                  0.0, dwr, H, 1)
        if rc == 0 and dbi != NULL:
            # the biases' gradients: column sums of dA (dAh), ones @ dA
            rc = gemm_strided(dt.num, 1, GH, T * B, 1.0, onesp, T * B, 1, a.da, GH, 1,
                              0.0, dbi, GH, 1)
            if rc == 0 and a.dah != a.da:
                rc = gemm_strided(dt.num, 1, GH, T * B, 1.0, onesp, T * B, 1, a.dah, GH, 1,
                                  0.0, dbh, GH, 1)
            elif rc == 0:
                memcpy(dbh, dbi, GH * esz)
    _give_scratch(da)
    if dah is not da:
        _give_scratch(dah)
    if rc != 0:
        raise MemoryError("rnn: out of memory for the GEMM's packing buffers")
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh, dw_hr
