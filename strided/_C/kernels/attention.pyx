# Layer: kernels, mixed: the Tensor-level entry points (attention_forward/_backward) are at
# the end of this file, next to the kernels they drive (strided/_C/README.md).
"""Fused scaled dot-product attention, forward and backward, on any strides.

NOTE [ Fused attention ]
For each (batch*head) b, with q (Lq x E), k (Lk x E), v (Lk x Ev), scale s and mask M:
    S = s * q @ k^T + M        (M: a float mask added; a bool mask or causality gives -inf)
    P = softmax(S, dim=-1),    out = dropout(P) @ v,    lse = logsumexp(S, dim=-1)
computed FlashAttention-style: a work item is one block of BQ query rows of one b, and
it streams over blocks of BK keys keeping a running row max m, a running sum l and an
unnormalised output acc (BQ x Ev) in per-thread scratch:
    S_blk = s * q_blk @ k_blk^T (+ mask)          one GEMM into a BQ x BK tile
    m' = max(m, rowmax(S_blk));  P_blk = exp(S_blk - m');  l = l * exp(m - m') + rowsum(P_blk)
    acc = acc * exp(m - m') + dropout(P_blk) @ v_blk     one GEMM
    out = acc / l,  lse = m + log(l)
so nothing of size Lq x Lk is ever allocated: the scratch per thread is k^T in panels of
BK keys (E x Lk, rounded up to whole panels; the backward adds v^T) plus BQ*BK + BQ*Ev
elements for the tile and acc -- O(L x E + BQ x BK).  The backward recomputes each tile
from q, k and the saved lse (P = exp(S - lse)), with D = rowsum(dout * out):
    dv_blk += dropout(P)^T @ dout_blk,   dPd = dout_blk @ v_blk^T,
    dS = P * (dropout_scale(dPd) - D),   dq_blk += s * dS @ k_blk,   dk_blk += s * dS^T @ q_blk
Forward work items (b, query block) are split over the library's threads in contiguous
runs (static schedule), so a thread packs each matrix's k^T about once; the backward
splits over b (one thread owns a b's dq, dk and dv, so nothing is shared or summed; with
fewer matrices than threads the others idle).  No result depends on the thread count.
A row with every key masked (bool False, -inf, or causal with no key) gives out = 0,
lse = -inf and zero gradients, as PyTorch's CPU kernels do; a row with a NaN score (a NaN
in its query, or in any key it sees) gives out and lse NaN, as PyTorch's, though the row
max skips NaN: a NaN score makes the sum l NaN.

Layout contract: q, k, v have unit stride along their last dim (scaled_dot_product_attention
copies an operand that does not, which costs O(L x E), not O(Lq x Lk)); their other strides, and the
mask's, are arbitrary: the b-th matrix of an operand starts at element offset off[b] (the
caller computes these for broadcast batch dims and for grouped-query heads), rows are a
row stride apart.  The mask is read element by element through its two strides (zero for
broadcast dims), never expanded.  out, lse, dq, dk, dv are new contiguous (B, L, E) buffers.

The block products run on the library's GEMM (gemm_strided_threads on one thread: its
unpacked small-product path for these tile sizes, NOTE [ GEMM paths ]), which streams a
row-major B in place: hence k^T (and v^T for dout @ v^T) is packed once per matrix, while
v, dout, k (for dS @ k) and q (for dS^T @ q) are read where they are.  The softmax rows
(max, then exp and sum) are C loops built three times, portable, AVX2 + FMA and AVX-512
(512-bit vectors), picked from the instruction-set level like every other kernel (NOTE
[ Instruction sets ]; STRIDED_ISA caps it).

NOTE [ Attention dropout ]
Dropout zeroes P[b, i, j] when u(seed, b, i, j) < p and scales the rest by 1 / (1 - p),
where u is the idx-th output of splitmix64 started at the seed (a counter-based generator:
the state seed + idx * golden gamma, then its mixing function), idx the element's linear
index (b * Lq + i) * Lk + j, mapped to [0, 1) with 53 bits.  The seed is drawn from strided's generator once per
forward call and saved, so the backward regenerates exactly the forward's mask without
storing it.  The mask depends on (seed, b, i, j) only: not on block sizes or threads.
The normaliser l uses the undropped P, as dropout(softmax(S)) does.
"""
from cython.parallel cimport prange, parallel
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from libc.math cimport INFINITY, exp, expf, log, logf

import numpy as np

from strided._C.core.dtypes cimport DType, BOOL, FLOAT32, FLOAT64
from strided._C.core.tensor cimport Tensor, new_tensor, data_of
from strided._C.core.threads cimport num_threads_for
from strided._C.core.cpu cimport isa_level, ISA_AVX2, ISA_AVX512
from strided._C.kernels.gemm cimport gemm_strided_threads

ctypedef fused floating:
    float
    double


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* exp(x) without branches, so that row loops vectorize: x = n*ln2 + r, |r| <= ln2/2,
       e**r by a polynomial, 2**n put into the exponent bits.  The float one has Cephes'
       two-part ln2 and a degree-6 polynomial, 1 + r + c2 r**2 + ... + c6 r**6, fitted for
       least maximum relative error on |r| <= ln2/2 (2.2e-9), in 6 multiply-adds: over
       every float in [-87, 0] it is within 1.05 ulp of exp with the multiply-adds fused
       (the AVX2 and AVX-512 builds) and 1.34 ulp without (the portable build; every third
       float checked).  The double one a degree-13 Taylor polynomial (truncation below
       1e-17 relative) with Cephes' two-part ln2.
       Results below the normal range flush to 0 (a masked score, -inf, gives exactly 0);
       NaN passes through. */
    static inline __attribute__((always_inline)) float att_expf(float x) {
        float xc = x > 88.0f ? 88.0f : x;
        xc = xc < -87.0f ? -87.0f : xc;
        float t = xc * 1.44269504088896341f;
        float fn = (t + 12582912.0f) - 12582912.0f;
        float r = xc - fn * 0.693359375f;
        r = r - fn * -2.12194440e-4f;
        float p = 1.3859294620e-3f;
        p = p * r + 8.3747637385e-3f;
        p = p * r + 4.1667724255e-2f;
        p = p * r + 1.6666420949e-1f;
        p = p * r + 4.9999995351e-1f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        int32_t n = (int32_t)fn;
        uint32_t bits = (uint32_t)(n + 127) << 23;
        float s;
        memcpy(&s, &bits, 4);
        p = p * s;
        p = x < -87.0f ? 0.0f : p;
        return x != x ? x : p;
    }
    static inline __attribute__((always_inline)) double att_exp(double x) {
        double xc = x > 709.0 ? 709.0 : x;
        xc = xc < -708.0 ? -708.0 : xc;
        double t = xc * 1.4426950408889634;
        double big = t + 6755399441055744.0;         /* 1.5 * 2**52: rounds t, n in the low bits */
        double fn = big - 6755399441055744.0;
        int64_t bb;
        memcpy(&bb, &big, 8);
        double r = xc - fn * 6.93145751953125e-1;
        r = r - fn * 1.42860682030941723212e-6;
        double p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        uint64_t bits = (uint64_t)(bb - 0x4338000000000000LL + 1023) << 52;  /* 2**n */
        double s;
        memcpy(&s, &bits, 8);
        p = p * s;
        p = x < -708.0 ? 0.0 : p;
        return x != x ? x : p;
    }
    /* s[j] = exp(s[j] - m) for j < n; returns the sum of the new s[j], kept in sixteen
       lanes in the same loop (one pass: a separate eight-lane sum ran at a quarter of the
       exp's speed, its one accumulator chain latency-bound) */
    #define ATT_EXPSUM(NAME, T, EXP, ATTR)                                             \\
    ATTR static T NAME(T* s, int64_t n, T m) {                                         \\
        int64_t j, l;                                                                  \\
        T acc[16] = {0}, tail = 0, e;                                                  \\
        for (j = 0; j + 16 <= n; j += 16)                                              \\
            for (l = 0; l < 16; l++) {                                                 \\
                e = EXP(s[j + l] - m);                                                 \\
                s[j + l] = e;                                                          \\
                acc[l] += e;                                                           \\
            }                                                                          \\
        for (; j < n; j++) {                                                           \\
            e = EXP(s[j] - m);                                                         \\
            s[j] = e;                                                                  \\
            tail += e;                                                                 \\
        }                                                                              \\
        for (l = 0; l < 8; l++) acc[l] += acc[l + 8];                                  \\
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail; \\
    }
    ATT_EXPSUM(att_expsum_f_base, float, att_expf, )
    ATT_EXPSUM(att_expsum_d_base, double, att_exp, )
    #if defined(__x86_64__) && defined(__GNUC__)
    ATT_EXPSUM(att_expsum_f_avx2, float, att_expf, __attribute__((target("avx2,fma"))))
    ATT_EXPSUM(att_expsum_d_avx2, double, att_exp, __attribute__((target("avx2,fma"))))
    #define ATT_HAVE_AVX2 1
    #else
    #define att_expsum_f_avx2 att_expsum_f_base
    #define att_expsum_d_avx2 att_expsum_d_base
    #define ATT_HAVE_AVX2 0
    #endif
    /* max(m, s[0], ..., s[n-1]) in eight lanes (NaN scores are skipped) */
    #define ATT_ROWMAX(NAME, T, ATTR)                                                  \
    ATTR static T NAME(const T* s, int64_t n, T m) {                                   \
        int64_t j, l;                                                                  \
        T acc[8];                                                                      \
        for (l = 0; l < 8; l++) acc[l] = m;                                            \
        for (j = 0; j + 8 <= n; j += 8)                                                \
            for (l = 0; l < 8; l++) acc[l] = s[j + l] > acc[l] ? s[j + l] : acc[l];    \
        for (; j < n; j++) acc[0] = s[j] > acc[0] ? s[j] : acc[0];                     \
        for (l = 1; l < 8; l++) acc[0] = acc[l] > acc[0] ? acc[l] : acc[0];            \
        return acc[0];                                                                 \
    }
    ATT_ROWMAX(att_rowmax_f_base, float, )
    ATT_ROWMAX(att_rowmax_d_base, double, )
    #if ATT_HAVE_AVX2
    ATT_ROWMAX(att_rowmax_f_avx2, float, __attribute__((target("avx2,fma"))))
    ATT_ROWMAX(att_rowmax_d_avx2, double, __attribute__((target("avx2,fma"))))
    #else
    #define att_rowmax_f_avx2 att_rowmax_f_base
    #define att_rowmax_d_avx2 att_rowmax_d_base
    #endif
    typedef float (*att_rowmax_f_t)(const float*, int64_t, float);
    typedef double (*att_rowmax_d_t)(const double*, int64_t, double);
    typedef float (*att_expsum_f_t)(float*, int64_t, float);
    typedef double (*att_expsum_d_t)(double*, int64_t, double);
    /* the AVX-512 build: 512-bit vectors (gcc's default preference for these loops is 256) */
    #if ATT_HAVE_AVX2 && !defined(__clang__)
    #define ATT_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,prefer-vector-width=512")))
    #include <immintrin.h>
    /* float on 16 lanes, written out: gcc's vectorization of att_expf masks every step
       of the clamped lanes and kept the row max in eight lanes.  att_expf's steps, its
       multiply-adds fused (as gcc contracts them in the generic builds), 2**n by
       vscalefps (exact for the clamped n), two accumulators for the sum and the max.
       Tail lanes are masked, never read past n.  Its inputs are scores minus their row's
       max or logsumexp, so at most 0 or NaN: it keeps no upper clamp, and the lower one
       (vmaxps with x second) passes a NaN on through the arithmetic, so NaN needs no
       test of its own.  Both cuts save 3 of its 20 vector operations; with the 6-term
       polynomial, 2 more.  The forward at (8, 8, 1024, 64), float32, one thread of the
       AVX-512 Xeon: 159-164 -> 153-156 ms (each the fastest call of 5 alternated runs;
       the case is benchmarks/bench_seq.py --cases attention --seqs 1024 --threads 1). */
    ATT_AVX512 static inline __attribute__((always_inline)) __m512 att_exp16(__m512 x) {
        const __m512 lo = _mm512_set1_ps(-87.0f);
        const __m512 magic = _mm512_set1_ps(12582912.0f);
        __m512 xc = _mm512_max_ps(lo, x);
        __m512 fn = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f),
                                                  magic), magic);
        __m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693359375f), xc);
        r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-2.12194440e-4f), r);
        __m512 p = _mm512_set1_ps(1.3859294620e-3f);
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3747637385e-3f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1667724255e-2f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666420949e-1f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999995351e-1f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
        p = _mm512_scalef_ps(p, fn);
        return _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
    }
    ATT_AVX512 static float att_expsum_f_avx512(float* s, int64_t n, float m) {
        const __m512 mm = _mm512_set1_ps(m);
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        int64_t j = 0;
        for (; j + 32 <= n; j += 32) {           /* two independent chains per iteration */
            __m512 p0 = att_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), mm));
            __m512 p1 = att_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), mm));
            _mm512_storeu_ps(s + j, p0);
            _mm512_storeu_ps(s + j + 16, p1);
            acc0 = _mm512_add_ps(acc0, p0);
            acc1 = _mm512_add_ps(acc1, p1);
        }
        for (; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512 p = att_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mm));
            _mm512_mask_storeu_ps(s + j, k, p);
            acc0 = _mm512_mask_add_ps(acc0, k, acc0, p);
        }
        return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    }
    ATT_AVX512 static float att_rowmax_f_avx512(const float* s, int64_t n, float m) {
        __m512 acc0 = _mm512_set1_ps(m), acc1 = acc0;
        int64_t j = 0;
        /* vmaxps gives its second operand when either is NaN: NaN scores are skipped */
        for (; j + 32 <= n; j += 32) {
            acc0 = _mm512_max_ps(_mm512_loadu_ps(s + j), acc0);
            acc1 = _mm512_max_ps(_mm512_loadu_ps(s + j + 16), acc1);
        }
        for (; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            acc0 = _mm512_mask_max_ps(acc0, k, _mm512_maskz_loadu_ps(k, s + j), acc0);
        }
        return _mm512_reduce_max_ps(_mm512_max_ps(acc0, acc1));
    }
    ATT_EXPSUM(att_expsum_d_avx512, double, att_exp, ATT_AVX512)
    ATT_ROWMAX(att_rowmax_d_avx512, double, ATT_AVX512)
    #define ATT_HAVE_AVX512 1
    #else
    #define att_expsum_f_avx512 att_expsum_f_avx2
    #define att_expsum_d_avx512 att_expsum_d_avx2
    #define att_rowmax_f_avx512 att_rowmax_f_avx2
    #define att_rowmax_d_avx512 att_rowmax_d_avx2
    #define ATT_HAVE_AVX512 0
    #endif

    /* NOTE [ Attention dropout ]: u in [0, 1) for the element with linear index idx */
    static inline double att_uniform(uint64_t seed, uint64_t idx) {
        uint64_t z = seed + idx * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        return (double)(z >> 11) * (1.0 / 9007199254740992.0);
    }
    """
    ctypedef float (*att_expsum_f_t)(float*, int64_t, float) noexcept nogil
    ctypedef double (*att_expsum_d_t)(double*, int64_t, double) noexcept nogil
    float att_expsum_f_base(float*, int64_t, float) noexcept nogil
    double att_expsum_d_base(double*, int64_t, double) noexcept nogil
    float att_expsum_f_avx2(float*, int64_t, float) noexcept nogil
    double att_expsum_d_avx2(double*, int64_t, double) noexcept nogil
    int ATT_HAVE_AVX2
    int ATT_HAVE_AVX512
    float att_expsum_f_avx512(float*, int64_t, float) noexcept nogil
    double att_expsum_d_avx512(double*, int64_t, double) noexcept nogil
    float att_rowmax_f_avx512(const float*, int64_t, float) noexcept nogil
    double att_rowmax_d_avx512(const double*, int64_t, double) noexcept nogil
    ctypedef float (*att_rowmax_f_t)(const float*, int64_t, float) noexcept nogil
    ctypedef double (*att_rowmax_d_t)(const double*, int64_t, double) noexcept nogil
    float att_rowmax_f_base(const float*, int64_t, float) noexcept nogil
    double att_rowmax_d_base(const double*, int64_t, double) noexcept nogil
    float att_rowmax_f_avx2(const float*, int64_t, float) noexcept nogil
    double att_rowmax_d_avx2(const double*, int64_t, double) noexcept nogil
    double att_uniform(uint64_t seed, uint64_t idx) noexcept nogil


cdef enum:
    MASK_NONE = 0
    MASK_BOOL = 1
    MASK_FLOAT = 2
    GRAIN = 1 << 20         # multiply-adds per thread: below this one thread does it all

# NOTE [ Attention block sizes ]
# BQ query rows x BK keys per tile.  With head dim 64 in float32 a tile's S (BQ x BK), its
# k^T panel (E x BK), the v block read in place (BK x Ev) and acc (BQ x Ev) make
# 48 + 32 + 32 + 24 KiB: L2-resident, the GEMM's B sliver in L1.  Each product is
# 96 x 128 x 64 multiply-adds, inside the GEMM's unpacked path (NOTE [ GEMM paths ]);
# 96 rows are whole micro-tiles of every table (MR 6 or 12).
# Tests shrink them (_set_block_sizes) to cross every block edge with short sequences.
cdef int64_t BQ = 96
cdef int64_t BK = 128

# the exp-and-sum row kernel for the instruction-set level (NOTE [ Instruction sets ])
cdef att_expsum_f_t _expsum_f = att_expsum_f_base
cdef att_expsum_d_t _expsum_d = att_expsum_d_base
cdef att_rowmax_f_t _rowmax_f = att_rowmax_f_base
cdef att_rowmax_d_t _rowmax_d = att_rowmax_d_base
if ATT_HAVE_AVX2 and isa_level() >= ISA_AVX2:
    _expsum_f = att_expsum_f_avx2
    _expsum_d = att_expsum_d_avx2
    _rowmax_f = att_rowmax_f_avx2
    _rowmax_d = att_rowmax_d_avx2
if ATT_HAVE_AVX512 and isa_level() >= ISA_AVX512:
    _expsum_f = att_expsum_f_avx512
    _expsum_d = att_expsum_d_avx512
    _rowmax_f = att_rowmax_f_avx512
    _rowmax_d = att_rowmax_d_avx512


cdef struct Args:
    int dtype_num
    int64_t B, Lq, Lk, E, Ev
    double scale
    const char* q               # element (0, 0) of each operand; matrix b at off[b]
    const char* k
    const char* v
    const int64_t* qoff
    const int64_t* koff
    const int64_t* voff
    int64_t sq, sk, sv          # row strides (the last dim's stride is 1)
    int mask_kind               # MASK_NONE / MASK_BOOL / MASK_FLOAT
    const char* mask
    const int64_t* moff
    int64_t smi, smj            # the mask's strides along (query, key), 0 when broadcast
    bint causal                 # key j visible from query i iff j <= i (upper-left aligned)
    double dropout_p
    uint64_t seed
    char* out                   # (B, Lq, Ev) contiguous
    char* lse                   # (B, Lq) contiguous
    const char* dout            # backward: (B, Lq, Ev) contiguous
    char* dq                    # backward: (B, Lq, E), (B, Lk, E), (B, Lk, Ev), contiguous
    char* dk
    char* dv
    char* dmask                 # backward: (B, Lq, Lk) contiguous, or NULL


cdef inline int64_t _key_end(const Args* a, int64_t i0, int64_t m) noexcept nogil:
    """One past the last key any of query rows i0 .. i0+m-1 may see."""
    if a.causal and i0 + m < a.Lk:
        return i0 + m
    return a.Lk


cdef void _pack_t(const floating* x, int64_t rs, int64_t L, int64_t E,
                  floating* dst) noexcept nogil:
    """x (L x E, row stride rs, unit column stride) transposed into panels of BK keys:
    panel p = dst[p*E*BK : (p+1)*E*BK] holds x[p*BK + j, d] at d*BK + j."""
    cdef int64_t p, j, d, n, bk = BK
    cdef const floating* xr
    cdef floating* panel
    for p in range((L + bk - 1) // bk):
        n = min(bk, L - p * bk)
        panel = dst + p * E * bk
        for j in range(n):
            xr = x + (p * bk + j) * rs
            for d in range(E):
                panel[d * bk + j] = xr[d]


cdef int _scores(const Args* a, int64_t b, int64_t i0, int64_t m, int64_t j0, int64_t n,
                 floating* S, const floating* kt) noexcept nogil:
    """S[:m, :n] (row stride BK) = scale * q[i0:i0+m] @ k[j0:j0+n]^T plus the mask of the
    tile: a float mask is added, a False of a bool mask or a causally hidden key is -inf.
    kt is the k^T panel of keys j0 .. j0+BK (_pack_t)."""
    cdef const floating* qb = <const floating*>a.q + a.qoff[b] + i0 * a.sq
    cdef int64_t i, j, bk = BK
    cdef floating* row
    cdef const floating* fm
    cdef const unsigned char* bm
    cdef int64_t gi
    if gemm_strided_threads(a.dtype_num, m, n, a.E, a.scale, <const char*>qb, a.sq, 1,
                            <const char*>kt, bk, 1, 0.0, <char*>S, bk, 1, 1) != 0:
        return -1
    if a.mask_kind == MASK_FLOAT:
        for i in range(m):
            row = S + i * bk
            fm = <const floating*>a.mask + a.moff[b] + (i0 + i) * a.smi + j0 * a.smj
            if a.smj == 1:
                for j in range(n):
                    row[j] = row[j] + fm[j]
            else:
                for j in range(n):
                    row[j] = row[j] + fm[j * a.smj]
    elif a.mask_kind == MASK_BOOL:
        for i in range(m):
            row = S + i * bk
            bm = <const unsigned char*>a.mask + a.moff[b] + (i0 + i) * a.smi + j0 * a.smj
            for j in range(n):
                if not bm[j * a.smj]:
                    row[j] = -INFINITY
    if a.causal:
        for i in range(m):
            gi = i0 + i
            row = S + i * bk
            for j in range(max(<int64_t>0, gi + 1 - j0), n):
                row[j] = -INFINITY
    return 0


cdef inline floating _rowmax(const floating* s, int64_t n, floating mx) noexcept nogil:
    if floating is float:
        return _rowmax_f(s, n, mx)
    else:
        return _rowmax_d(s, n, mx)


cdef inline floating _expsum(floating* s, int64_t n, floating mx) noexcept nogil:
    if floating is float:
        return _expsum_f(s, n, mx)
    else:
        return _expsum_d(s, n, mx)


cdef inline void _dropout_row(const Args* a, int64_t b, int64_t gi, int64_t j0, int64_t n,
                              floating* dst, const floating* src, floating keep_scale) noexcept nogil:
    """dst[j] = src[j] * keep_scale where element (b, gi, j0 + j) is kept, else 0 (NOTE
    [ Attention dropout ])."""
    cdef int64_t j
    cdef uint64_t base = <uint64_t>((b * a.Lq + gi) * a.Lk + j0)
    for j in range(n):
        if att_uniform(a.seed, base + <uint64_t>j) < a.dropout_p:
            dst[j] = 0
        else:
            dst[j] = src[j] * keep_scale


cdef int _forward_block(const Args* a, int64_t b, int64_t i0, floating* scratch,
                        int64_t* packed_b) noexcept nogil:
    """Rows i0 .. i0+BQ of b's output and lse (NOTE [ Fused attention ]).  The scratch
    holds k^T of matrix packed_b[0]; it is packed again when b differs."""
    cdef int64_t m = min(BQ, a.Lq - i0), bk = BK, Ev = a.Ev
    cdef floating* kt = scratch
    cdef floating* S = kt + _panels(a.Lk) * a.E * BK
    cdef floating* acc = S + BQ * BK
    cdef floating* mrow = acc + BQ * a.Ev
    cdef floating* lrow = mrow + BQ
    cdef floating* row
    cdef floating* arow
    cdef floating* orow
    cdef floating mx, mnew, alpha, inv
    cdef floating keep_scale = <floating>(1.0 / (1.0 - a.dropout_p)) if a.dropout_p < 1.0 else 0
    cdef int64_t i, j, d, j0, n, jend = _key_end(a, i0, m)
    cdef const floating* vb
    if packed_b[0] != b:
        _pack_t(<const floating*>a.k + a.koff[b], a.sk, a.Lk, a.E, kt)
        packed_b[0] = b
    for i in range(m):
        mrow[i] = -INFINITY
        lrow[i] = 0
    memset(acc, 0, m * Ev * sizeof(floating))
    j0 = 0
    while j0 < jend:
        n = min(bk, jend - j0)
        if _scores(a, b, i0, m, j0, n, S, kt + (j0 // bk) * a.E * bk) != 0:
            return -1
        for i in range(m):
            row = S + i * bk
            mx = _rowmax(row, n, mrow[i])
            if mx == -INFINITY:         # every key so far hidden: nothing to add
                for j in range(n):
                    if row[j] != row[j]:    # ... unless a score is NaN (the max skips
                        lrow[i] = row[j]    # NaN): the row's output is NaN, as torch's
                    row[j] = 0
                continue
            mnew = mx
            alpha = <floating>exp(mrow[i] - mnew) if mrow[i] != -INFINITY else 0
            lrow[i] = lrow[i] * alpha + _expsum(row, n, mnew)
            mrow[i] = mnew
            if alpha != 1:
                arow = acc + i * Ev
                for d in range(Ev):
                    arow[d] = arow[d] * alpha
            if a.dropout_p > 0:
                _dropout_row(a, b, i0 + i, j0, n, row, row, keep_scale)
        vb = <const floating*>a.v + a.voff[b] + j0 * a.sv
        if gemm_strided_threads(a.dtype_num, m, Ev, n, 1.0, <const char*>S, bk, 1,
                                <const char*>vb, a.sv, 1, 1.0, <char*>acc, Ev, 1, 1) != 0:
            return -1
        j0 += n
    for i in range(m):
        orow = <floating*>a.out + (b * a.Lq + i0 + i) * Ev
        arow = acc + i * Ev
        if lrow[i] != 0:                # > 0, or NaN from a NaN score: out and lse NaN
            inv = 1 / lrow[i]
            for d in range(Ev):
                orow[d] = arow[d] * inv
            (<floating*>a.lse)[b * a.Lq + i0 + i] = mrow[i] + <floating>log(lrow[i])
        else:
            for d in range(Ev):
                orow[d] = 0
            (<floating*>a.lse)[b * a.Lq + i0 + i] = -INFINITY
    return 0


cdef int _backward_batch(const Args* a, int64_t b, floating* scratch) noexcept nogil:
    """dq, dk, dv (and the mask's gradient) of matrix b (NOTE [ Fused attention ])."""
    cdef int64_t bk = BK, E = a.E, Ev = a.Ev, i, j, d, i0, j0, m, n, jend
    cdef floating* kt = scratch                 # k^T and v^T panels (_pack_t)
    cdef floating* vt = kt + _panels(a.Lk) * E * BK
    cdef floating* S = vt + _panels(a.Lk) * Ev * BK     # scores, then P, then dS
    cdef floating* W = S + BQ * BK              # dropout(P), then dPd
    cdef floating* Dr = W + BQ * BK
    cdef floating* row
    cdef floating* wrow
    cdef floating* gm
    cdef const floating* orow
    cdef const floating* gorow
    cdef floating lse_i, acc, di
    cdef double sc = a.scale
    cdef floating keep_scale = <floating>(1.0 / (1.0 - a.dropout_p)) if a.dropout_p < 1.0 else 0
    cdef const floating* vb
    cdef const floating* kb
    cdef const floating* qb
    cdef const floating* gob
    cdef floating* dqb
    cdef const floating* lse = <const floating*>a.lse + b * a.Lq
    _pack_t(<const floating*>a.k + a.koff[b], a.sk, a.Lk, E, kt)
    _pack_t(<const floating*>a.v + a.voff[b], a.sv, a.Lk, Ev, vt)
    i0 = 0
    while i0 < a.Lq:
        m = min(BQ, a.Lq - i0)
        gob = <const floating*>a.dout + (b * a.Lq + i0) * Ev
        qb = <const floating*>a.q + a.qoff[b] + i0 * a.sq
        dqb = <floating*>a.dq + (b * a.Lq + i0) * E
        for i in range(m):              # D = rowsum(dout * out)
            orow = <const floating*>a.out + (b * a.Lq + i0 + i) * Ev
            gorow = gob + i * Ev
            acc = 0
            for d in range(Ev):
                acc = acc + gorow[d] * orow[d]
            Dr[i] = acc
        jend = _key_end(a, i0, m)
        j0 = 0
        while j0 < jend:
            n = min(bk, jend - j0)
            if _scores(a, b, i0, m, j0, n, S, kt + (j0 // bk) * E * bk) != 0:
                return -1
            for i in range(m):          # P = exp(S - lse)
                row = S + i * bk
                lse_i = lse[i0 + i]
                if lse_i == -INFINITY:
                    for j in range(n):
                        row[j] = 0
                else:
                    _expsum(row, n, lse_i)
            # dv[j0:j0+n] += dropout(P)^T @ dout_blk
            if a.dropout_p > 0:
                for i in range(m):
                    _dropout_row(a, b, i0 + i, j0, n, W + i * bk, S + i * bk, keep_scale)
                wrow = W
            else:
                wrow = S
            if gemm_strided_threads(a.dtype_num, n, Ev, m, 1.0, <const char*>wrow, 1, bk,
                                    <const char*>gob, Ev, 1, 1.0,
                                    a.dv + ((b * a.Lk + j0) * Ev) * sizeof(floating), Ev, 1,
                                    1) != 0:
                return -1
            # W = dout_blk @ v_blk^T
            if gemm_strided_threads(a.dtype_num, m, n, Ev, 1.0, <const char*>gob, Ev, 1,
                                    <const char*>(vt + (j0 // bk) * Ev * bk), bk, 1, 0.0,
                                    <char*>W, bk, 1, 1) != 0:
                return -1
            if a.dropout_p > 0:
                for i in range(m):
                    _dropout_row(a, b, i0 + i, j0, n, W + i * bk, W + i * bk, keep_scale)
            for i in range(m):          # dS = P * (dP - D)
                row = S + i * bk
                wrow = W + i * bk
                di = Dr[i]
                for j in range(n):
                    row[j] = row[j] * (wrow[j] - di)
            if a.dmask != NULL:
                for i in range(m):
                    gm = <floating*>a.dmask + (b * a.Lq + i0 + i) * a.Lk + j0
                    row = S + i * bk
                    for j in range(n):
                        gm[j] = row[j]
            # dq_blk += scale * dS @ k_blk;  dk_blk += scale * dS^T @ q_blk
            kb = <const floating*>a.k + a.koff[b] + j0 * a.sk
            if gemm_strided_threads(a.dtype_num, m, E, n, sc, <const char*>S, bk, 1,
                                    <const char*>kb, a.sk, 1, 1.0, <char*>dqb, E, 1, 1) != 0:
                return -1
            if gemm_strided_threads(a.dtype_num, n, E, m, sc, <const char*>S, 1, bk,
                                    <const char*>qb, a.sq, 1, 1.0,
                                    a.dk + ((b * a.Lk + j0) * E) * sizeof(floating), E, 1,
                                    1) != 0:
                return -1
            j0 += n
        i0 += m
    return 0


cdef inline int64_t _panels(int64_t L) noexcept nogil:
    return (L + BK - 1) // BK


cdef int64_t _forward_scratch(const Args* a) noexcept nogil:
    return _panels(a.Lk) * a.E * BK + BQ * BK + BQ * a.Ev + 2 * BQ


cdef int64_t _backward_scratch(const Args* a) noexcept nogil:
    return _panels(a.Lk) * (a.E + a.Ev) * BK + 2 * BQ * BK + BQ


cdef int _run_forward(const Args* a, int nt) noexcept nogil:
    cdef int64_t nqb = (a.Lq + BQ - 1) // BQ, w
    cdef size_t item = sizeof(float) if a.dtype_num == FLOAT32 else sizeof(double)
    cdef size_t bytes = <size_t>_forward_scratch(a) * item
    cdef int err = 0
    cdef int* errp = &err
    cdef char* buf = NULL
    with parallel(num_threads=nt):
        # the first 64 bytes hold the index of the matrix whose k^T the scratch holds;
        # static scheduling hands each thread a contiguous run of (b, query block) items,
        # so k^T is packed about once per matrix
        buf = <char*>malloc(bytes + 64)
        if buf == NULL:
            errp[0] = 1
        else:
            (<int64_t*>buf)[0] = -1
        for w in prange(a.B * nqb, schedule="static"):
            if buf == NULL:
                continue
            if a.dtype_num == FLOAT32:
                if _forward_block(a, w // nqb, (w % nqb) * BQ, <float*>(buf + 64),
                                  <int64_t*>buf) != 0:
                    errp[0] = 1
            else:
                if _forward_block(a, w // nqb, (w % nqb) * BQ, <double*>(buf + 64),
                                  <int64_t*>buf) != 0:
                    errp[0] = 1
        free(buf)
    return -1 if err else 0


cdef int _run_backward(const Args* a, int nt) noexcept nogil:
    cdef int64_t b
    cdef size_t item = sizeof(float) if a.dtype_num == FLOAT32 else sizeof(double)
    cdef size_t bytes = <size_t>_backward_scratch(a) * item
    cdef int err = 0
    cdef int* errp = &err
    cdef char* buf = NULL
    with parallel(num_threads=nt):
        buf = <char*>malloc(bytes)
        if buf == NULL:
            errp[0] = 1
        for b in prange(a.B, schedule="dynamic"):
            if buf == NULL:
                continue
            if a.dtype_num == FLOAT32:
                if _backward_batch(a, b, <float*>buf) != 0:
                    errp[0] = 1
            else:
                if _backward_batch(a, b, <double*>buf) != 0:
                    errp[0] = 1
        free(buf)
    return -1 if err else 0


# ---- Tensor entry points ----------------------------------------------------------------

cdef int64_t[::1] _offsets(object off, int64_t B):
    cdef int64_t[::1] o = np.ascontiguousarray(off, dtype=np.int64).reshape(-1)
    if o.shape[0] != B:
        raise ValueError(f"attention: expected {B} matrix offsets, got {o.shape[0]}")
    return o


cdef int _check_rows(Tensor t, str name) except -1:
    if t._ndim < 2:
        raise ValueError(f"attention: {name} must have (L, E) as its last two dims")
    if t._dtype.num != FLOAT32 and t._dtype.num != FLOAT64:
        raise TypeError(f"attention: {name} must be float32 or float64, got {t._dtype.name}")
    if t._numel > 0 and t._sizes[t._ndim - 1] > 1 and t._strides[t._ndim - 1] != 1:
        raise ValueError(f"attention: {name}'s last dim must have unit stride")
    return 0


cdef void _fill_args(Args* a, Tensor q, Tensor k, Tensor v, int64_t[::1] qoff,
                     int64_t[::1] koff, int64_t[::1] voff, Tensor mask, int64_t[::1] moff,
                     int64_t smi, int64_t smj, bint causal, double scale, double dropout_p,
                     uint64_t seed):
    a.dtype_num = q._dtype.num
    a.B = qoff.shape[0]
    a.Lq, a.E = q._sizes[q._ndim - 2], q._sizes[q._ndim - 1]
    a.Lk, a.Ev = k._sizes[k._ndim - 2], v._sizes[v._ndim - 1]
    a.scale = scale
    a.q, a.k, a.v = data_of(q), data_of(k), data_of(v)
    a.qoff = a.koff = a.voff = NULL
    if qoff.shape[0] > 0:
        a.qoff, a.koff, a.voff = &qoff[0], &koff[0], &voff[0]
    a.sq, a.sk, a.sv = q._strides[q._ndim - 2], k._strides[k._ndim - 2], v._strides[v._ndim - 2]
    a.mask_kind = MASK_NONE
    a.mask = NULL
    a.moff = NULL
    a.smi, a.smj = smi, smj
    if mask is not None:
        a.mask_kind = MASK_BOOL if mask._dtype.num == BOOL else MASK_FLOAT
        a.mask = data_of(mask)
        a.moff = &moff[0] if moff.shape[0] > 0 else NULL
    a.causal = causal
    a.dropout_p = dropout_p
    a.seed = seed
    a.out = a.lse = a.dq = a.dk = a.dv = a.dmask = NULL
    a.dout = NULL


def attention_forward(Tensor q, Tensor k, Tensor v, qoff, koff, voff, Tensor mask=None,
                      moff=None, int64_t smi=0, int64_t smj=0, bint causal=False,
                      double scale=1.0, double dropout_p=0.0, uint64_t seed=0):
    """(out (B, Lq, Ev), lse (B, Lq)), both new and contiguous, for B = len(qoff) matrices
    (NOTE [ Fused attention ]).  Matrix b of q is the (Lq, E) matrix at element offset
    qoff[b] from q's first element with q's last two strides (likewise k, v); q, k, v share
    one float dtype and have unit last stride.  mask (bool, or q's dtype) is read at
    moff[b] + i * smi + j * smj; causal hides keys j > i; dropout per NOTE [ Attention
    dropout ]."""
    cdef Args a
    _check_rows(q, "query")
    _check_rows(k, "key")
    _check_rows(v, "value")
    if k._dtype is not q._dtype or v._dtype is not q._dtype:
        raise TypeError("attention: query, key and value must have one dtype")
    cdef int64_t[::1] qo = _offsets(qoff, len(qoff))
    cdef int64_t B = qo.shape[0]
    cdef int64_t[::1] ko = _offsets(koff, B)
    cdef int64_t[::1] vo = _offsets(voff, B)
    cdef int64_t[::1] mo = _offsets(moff, B) if mask is not None else None
    if mask is not None and mask._dtype.num != BOOL and mask._dtype is not q._dtype:
        raise TypeError("attention: a float mask must have the query's dtype")
    _fill_args(&a, q, k, v, qo, ko, vo, mask, mo, smi, smj, causal, scale, dropout_p, seed)
    cdef int64_t osize[3]
    osize[0], osize[1], osize[2] = B, a.Lq, a.Ev
    cdef Tensor out = new_tensor(3, osize, q._dtype, False)
    cdef Tensor lse = new_tensor(2, osize, q._dtype, False)
    a.out, a.lse = data_of(out), data_of(lse)
    if B == 0 or a.Lq == 0:
        return out, lse
    cdef int nt = num_threads_for(B * a.Lq * a.Lk * (a.E + a.Ev), GRAIN)
    cdef int rc
    with nogil:
        rc = _run_forward(&a, nt)
    if rc != 0:
        raise MemoryError("attention: out of memory for the per-thread scratch")
    return out, lse


def attention_backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                       qoff, koff, voff, Tensor mask=None, moff=None, int64_t smi=0,
                       int64_t smj=0, bint causal=False, double scale=1.0,
                       double dropout_p=0.0, uint64_t seed=0, bint need_mask_grad=False):
    """(dq (B, Lq, E), dk (B, Lk, E), dv (B, Lk, Ev), dmask (B, Lq, Lk) or None): the
    gradients of attention_forward's out for grad dout, per matrix b (k's and v's for
    matrix b are for its own copy: the caller sums those sharing memory).  out and lse are
    the forward's; dout is made contiguous.  dmask, the float mask's gradient, is the
    only Lq x Lk buffer, made only when need_mask_grad."""
    cdef Args a
    _check_rows(q, "query")
    _check_rows(k, "key")
    _check_rows(v, "value")
    cdef int64_t[::1] qo = _offsets(qoff, len(qoff))
    cdef int64_t B = qo.shape[0]
    cdef int64_t[::1] ko = _offsets(koff, B)
    cdef int64_t[::1] vo = _offsets(voff, B)
    cdef int64_t[::1] mo = _offsets(moff, B) if mask is not None else None
    _fill_args(&a, q, k, v, qo, ko, vo, mask, mo, smi, smj, causal, scale, dropout_p, seed)
    if (tuple(dout.shape) != (B, a.Lq, a.Ev) or tuple(out.shape) != (B, a.Lq, a.Ev)
            or tuple(lse.shape) != (B, a.Lq)):
        raise ValueError("attention_backward: dout, out and lse must be the forward's shapes")
    if dout._dtype is not q._dtype or out._dtype is not q._dtype or lse._dtype is not q._dtype:
        raise TypeError("attention_backward: dout, out and lse must have the query's dtype")
    dout = dout.contiguous()
    out = out.contiguous()
    lse = lse.contiguous()
    cdef int64_t size[3]
    size[0], size[1], size[2] = B, a.Lq, a.E
    cdef Tensor dq = new_tensor(3, size, q._dtype, True)
    size[1], size[2] = a.Lk, a.E
    cdef Tensor dk = new_tensor(3, size, q._dtype, True)
    size[1], size[2] = a.Lk, a.Ev
    cdef Tensor dv = new_tensor(3, size, q._dtype, True)
    cdef Tensor dmask = None
    if need_mask_grad:
        size[1], size[2] = a.Lq, a.Lk
        dmask = new_tensor(3, size, q._dtype, True)
        a.dmask = data_of(dmask)
    a.dout, a.out, a.lse = data_of(dout), data_of(out), data_of(lse)
    a.dq, a.dk, a.dv = data_of(dq), data_of(dk), data_of(dv)
    if B == 0 or a.Lq == 0 or a.Lk == 0:
        return dq, dk, dv, dmask
    cdef int nt = num_threads_for(B * a.Lq * a.Lk * (a.E + a.Ev) * 2, GRAIN)
    cdef int rc
    with nogil:
        rc = _run_backward(&a, nt)
    if rc != 0:
        raise MemoryError("attention: out of memory for the per-thread scratch")
    return dq, dk, dv, dmask


def _set_block_sizes(int64_t bq=96, int64_t bk=128):
    """Test hook: the query and key block sizes (NOTE [ Attention block sizes ])."""
    global BQ, BK
    if bq < 1 or bk < 1:
        raise ValueError("block sizes must be positive")
    BQ, BK = bq, bk


def _block_sizes():
    """(BQ, BK) in use."""
    return BQ, BK
