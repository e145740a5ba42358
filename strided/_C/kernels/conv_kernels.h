/* Small copy and transform kernels for strided/_C/kernels/conv.pyx (conv_paths/taps.pxi,
 * conv_paths/winograd.pxi).
 *
 * NOTE [ Gathering every other element ]
 * A stride-2 convolution copies each input row into its column taps (NOTE [ Column taps
 * for strided convolutions ] in conv_paths/taps.pxi): every other element of the row,
 * from an even or an odd column.  Rows are short (28 outputs from 56 inputs for a ResNet layer), so a
 * loop the compiler vectorizes spends most of its time on its set-up and aliasing checks;
 * these take restrict pointers and gather with SSE2 shuffles (baseline on x86-64).  The
 * vector loop never reads past src[2n - 2], the last element gathered: the row may end
 * there, at the end of its storage.
 */
#ifndef STRIDED_CONV_KERNELS_H
#define STRIDED_CONV_KERNELS_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* NOTE [ Convolution transforms per instruction set ]
 * The Winograd input and output transforms are built once per instruction-set level of
 * the GEMM's kernel tables -- baseline, avx2 and avx512 by target attribute, the compiler
 * vectorizing the same loops at each width -- and run in the build of the table in use
 * (gemm_isa()), so a test that switches the table runs the other builds too.  They add and
 * subtract only, in the same order in every build: every build gives the same bits. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(STRIDED_NO_SIMD) \
    && (defined(__clang__) || __GNUC__ >= 8)
#define STRIDED_CONV_X86 1
#define STRIDED_CONV_AVX2 __attribute__((target("avx2")))
#define STRIDED_CONV_AVX512 \
    __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,prefer-vector-width=512")))
#else
#define STRIDED_CONV_X86 0
#endif
#define STRIDED_CONV_BASE
/* the build for instruction-set level isa (0 baseline, 1 avx2, 2 avx512: core/cpu.pxd) */
#if STRIDED_CONV_X86
#define STRIDED_CONV_DISPATCH(NAME, isa, ...)                                               \
    do {                                                                                    \
        if ((isa) >= 2) NAME##_avx512(__VA_ARGS__);                                         \
        else if ((isa) == 1) NAME##_avx2(__VA_ARGS__);                                      \
        else NAME##_base(__VA_ARGS__);                                                      \
    } while (0)
#else
#define STRIDED_CONV_DISPATCH(NAME, isa, ...) NAME##_base(__VA_ARGS__)
#endif
/* DEF(name, type, attribute) for float and double, once per build */
#define STRIDED_CONV_BASE_BUILDS(DEF, NAME)                                                 \
    DEF(NAME##_f32_base, float, STRIDED_CONV_BASE)                                          \
    DEF(NAME##_f64_base, double, STRIDED_CONV_BASE)
#if STRIDED_CONV_X86
#define STRIDED_CONV_BUILDS(DEF, NAME)                                                      \
    STRIDED_CONV_BASE_BUILDS(DEF, NAME)                                                     \
    DEF(NAME##_f32_avx2, float, STRIDED_CONV_AVX2)                                          \
    DEF(NAME##_f64_avx2, double, STRIDED_CONV_AVX2)                                         \
    DEF(NAME##_f32_avx512, float, STRIDED_CONV_AVX512)                                      \
    DEF(NAME##_f64_avx512, double, STRIDED_CONV_AVX512)
#else
#define STRIDED_CONV_BUILDS(DEF, NAME) STRIDED_CONV_BASE_BUILDS(DEF, NAME)
#endif

/* dst[j] = src[2*j] for j < n */
static inline void strided_gather2_f32(float* __restrict dst, const float* __restrict src,
                                       int64_t n)
{
    int64_t j = 0;
#if defined(__SSE2__)
    /* reads src[2j .. 2j+7]: inside [0, 2n-2] while j + 4 < n */
    for (; j + 4 < n; j += 4) {
        __m128 a = _mm_loadu_ps(src + 2 * j), b = _mm_loadu_ps(src + 2 * j + 4);
        _mm_storeu_ps(dst + j, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
    }
#endif
    for (; j < n; j++) dst[j] = src[2 * j];
}

static inline void strided_gather2_f64(double* __restrict dst, const double* __restrict src,
                                       int64_t n)
{
    int64_t j = 0;
#if defined(__SSE2__)
    /* reads src[2j .. 2j+3]: inside [0, 2n-2] while j + 2 < n */
    for (; j + 2 < n; j += 2) {
        __m128d a = _mm_loadu_pd(src + 2 * j), b = _mm_loadu_pd(src + 2 * j + 2);
        _mm_storeu_pd(dst + j, _mm_shuffle_pd(a, b, 0));
    }
#endif
    for (; j < n; j++) dst[j] = src[2 * j];
}

/* NOTE [ Winograd transforms ] (conv_paths/winograd.pxi, NOTE [ Winograd convolution ])
 * The weight's (U = G g G^T) and its reverse for the weight gradient: NOTE [ Winograd
 * weight transforms in blocks ]; the input's (B^T d B): NOTE [ Winograd input transform ];
 * the output's (A^T M A): NOTE [ Winograd output transform ]; the output gradient's
 * (A dy A^T): NOTE [ Winograd output-gradient transform ]. */
/* NOTE [ Winograd weight transforms in blocks ]
 * U[xi*KC + q] = (G g G^T)[xi] for the 3x3 kernels g = w + 9q, q0 <= q < q1, and its
 * reverse for the weight gradient, dw[9q ..] = G^T dU G of the 4x4 dU[xi*KC + q].  The
 * 16 arrays xi are KC elements apart, often a multiple of 4 KiB (256 x 256 channels:
 * 256 KiB), so an element at a time the 16 streams fall in one cache set and miss every
 * time (on a Zen 5, a fifth of the forward of benchmarks/tune_conv.py's "resnet 3x3
 * 256->256 8" under perf): the
 * kernels go STRIDED_WINO_QB at a time through a small block of 16 rows on the stack,
 * which is copied out (or in) row by row. */
#define STRIDED_WINO_QB 64
#define STRIDED_WINO_WEIGHT(NAME, T)                                                        \
static inline void NAME(const T* __restrict w, T* __restrict U, int64_t KC, int64_t q0,     \
                        int64_t q1)                                                         \
{                                                                                           \
    const T h = (T)0.5;                                                                     \
    T blk[16 * STRIDED_WINO_QB];                                                            \
    for (int64_t qb = q0; qb < q1; qb += STRIDED_WINO_QB) {                                 \
        int64_t nq = q1 - qb < STRIDED_WINO_QB ? q1 - qb : STRIDED_WINO_QB;                 \
        for (int64_t l = 0; l < nq; l++) {                                                  \
            const T* g = w + 9 * (qb + l);                                                  \
            T t[12];                                                                        \
            for (int i = 0; i < 3; i++) { /* G g: g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2 */ \
                t[i] = g[i];                                                                \
                t[3 + i] = h * (g[i] + g[3 + i] + g[6 + i]);                                \
                t[6 + i] = h * (g[i] - g[3 + i] + g[6 + i]);                                \
                t[9 + i] = g[6 + i];                                                        \
            }                                                                               \
            for (int i = 0; i < 4; i++) { /* (G g) G^T, row i */                            \
                T* u = blk + 4 * i * STRIDED_WINO_QB + l;                                   \
                u[0] = t[3 * i];                                                            \
                u[STRIDED_WINO_QB] = h * (t[3 * i] + t[3 * i + 1] + t[3 * i + 2]);          \
                u[2 * STRIDED_WINO_QB] = h * (t[3 * i] - t[3 * i + 1] + t[3 * i + 2]);      \
                u[3 * STRIDED_WINO_QB] = t[3 * i + 2];                                      \
            }                                                                               \
        }                                                                                   \
        for (int xi = 0; xi < 16; xi++)                                                     \
            memcpy(U + xi * KC + qb, blk + xi * STRIDED_WINO_QB, nq * sizeof(T));           \
    }                                                                                       \
}

/* NOTE [ Winograd output transform ]
 * out[k, 2th + e, 2tw + f] = (A^T M A)[e, f] + bias[k] for the tiles of tile rows t = r0 ..
 * r1 (t = n*TH + th), M[xi*KP + k*Pst + j] holding tile j = (t - r0)*TW + tw.  As the input
 * transform (NOTE [ Winograd input transform ]), two passes: A^T over the rows for a whole
 * run of tile rows of one image at once (S_0b = M_0b + M_1b + M_2b, S_1b = M_1b - M_2b -
 * M_3b, xi = 4a + b: 8 arrays of the run's tiles), then A over the columns tile row by tile
 * row, straight into the output rows (S_e0 + S_e1 + S_e2 and S_e1 - S_e2 - S_e3, plus the
 * bias, into columns 2tw and 2tw + 1 of row 2th + e; the column and row past an odd OW or
 * OH are not written).  The same sums in the same order as one tile at a time. */
#define STRIDED_WINO_OUTPUT(NAME, T, ATTR)                                                  \
ATTR static void NAME##_rows(const T* __restrict m0, const T* __restrict m1,                \
                             const T* __restrict m2, const T* __restrict m3, int64_t J,     \
                             T* __restrict s0, T* __restrict s1)                            \
{                                                                                           \
    for (int64_t j = 0; j < J; j++) {                                                       \
        s0[j] = m0[j] + m1[j] + m2[j];                                                      \
        s1[j] = m1[j] - m2[j] - m3[j];                                                      \
    }                                                                                       \
}                                                                                           \
ATTR static void NAME##_cols(const T* __restrict s0, const T* __restrict s1,                \
                             const T* __restrict s2, const T* __restrict s3, int64_t OW,    \
                             T b, T* __restrict y)                                          \
{                                                                                           \
    int64_t full = OW / 2, i;                                                               \
    for (i = 0; i < full; i++) {                                                            \
        y[2 * i] = s0[i] + s1[i] + s2[i] + b;                                               \
        y[2 * i + 1] = s1[i] - s2[i] - s3[i] + b;                                           \
    }                                                                                       \
    if (OW & 1)                                                                             \
        y[2 * full] = s0[full] + s1[full] + s2[full] + b;                                   \
}                                                                                           \
ATTR static void NAME(const T* M, int64_t KP, int64_t Pst, int64_t K, int64_t OH,           \
                      int64_t OW, int64_t TH, int64_t TW, int64_t r0, int64_t r1,           \
                      const T* bias, T* out, T* buf)                                        \
{                                                                                           \
    const int64_t S = (r1 - r0) * TW;           /* buf: 8 arrays of S */                    \
    for (int64_t k = 0; k < K; k++) {                                                       \
        T bk = bias != NULL ? bias[k] : (T)0;                                               \
        int64_t t = r0;                                                                     \
        while (t < r1) {                        /* a run: tile rows th0 .. th0 + ns */      \
            int64_t n = t / TH, th0 = t - n * TH, ns = TH - th0;                            \
            if (ns > r1 - t) ns = r1 - t;                                                   \
            const T* m = M + k * Pst + (t - r0) * TW;                                       \
            for (int b = 0; b < 4; b++)                                                     \
                NAME##_rows(m + b * KP, m + (4 + b) * KP, m + (8 + b) * KP,                 \
                            m + (12 + b) * KP, ns * TW, buf + b * S, buf + (4 + b) * S);    \
            for (int64_t u = 0; u < ns; u++) {                                              \
                int64_t th = th0 + u;                                                       \
                T* o = out + ((n * K + k) * OH + 2 * th) * OW;                              \
                const T* sr = buf + u * TW;                                                 \
                NAME##_cols(sr, sr + S, sr + 2 * S, sr + 3 * S, OW, bk, o);                 \
                if (2 * th + 1 < OH)                                                        \
                    NAME##_cols(sr + 4 * S, sr + 5 * S, sr + 6 * S, sr + 7 * S, OW, bk,     \
                                o + OW);                                                    \
            }                                                                               \
            t += ns;                                                                        \
        }                                                                                   \
    }                                                                                       \
}

/* NOTE [ Winograd input transform ]
 * V[xi*CP + c*Pst + j] = (B^T d B)[xi] of input channel c's tile j = (t - r0)*TW + tw, for
 * the tile rows t = r0 .. r1 numbered over the batch (t = n*TH + th), in two separable
 * passes so that the inner loops run over many tiles, not over one tile row:
 *   columns: each input row that a run of tile rows th0 .. th1 of one image reads is taken
 *     once -- rows 2th - pH + e, e = 0, 1, for th = th0 .. th1 (the last pair is rows 2, 3 of
 *     tile row th1 - 1) -- and its (d B)[b] over the 4 columns 2tw - pW + 0..3 of each tile
 *     (zero outside the image: d0 - d2, d1 + d2, d2 - d1, d1 - d3) goes to slot u = th - th0
 *     of array b of buffer e (slots TW apart, arrays S apart);
 *   rows: tile (u, tw) of the run has rows A[j], B[j], A[j + TW], B[j + TW] (A = buffer 0,
 *     B = buffer 1, j = u*TW + tw), so B^T over them -- A[j] - A[j+TW], B[j] + A[j+TW],
 *     A[j+TW] - B[j], B[j] - B[j+TW] -- is one loop over the whole run per column b.
 * NOTE [ Convolution transforms per instruction set ] says which build runs. */

#define STRIDED_WINO_INPUT(NAME, T, ATTR)                                                   \
ATTR static inline void NAME##_edge(const T* xr, int64_t s3, int64_t W, int64_t pW,         \
                                    int64_t tw, T* D0, T* D1, T* D2, T* D3)                 \
{                                                                                           \
    T d[4];                                                                                 \
    for (int s = 0; s < 4; s++) {                                                           \
        int64_t col = 2 * tw - pW + s;                                                      \
        d[s] = col >= 0 && col < W ? xr[col * s3] : (T)0;                                   \
    }                                                                                       \
    D0[tw] = d[0] - d[2]; D1[tw] = d[1] + d[2]; D2[tw] = d[2] - d[1]; D3[tw] = d[1] - d[3]; \
}                                                                                           \
ATTR static void NAME##_cols(const T* __restrict xr, int64_t s3, int64_t W, int64_t pW,     \
                             int64_t TW, T* __restrict D0, T* __restrict D1,                \
                             T* __restrict D2, T* __restrict D3)                            \
{                                                                                           \
    /* the tiles whose four columns are all inside the row: lo <= tw < hi */                \
    int64_t lo = (pW + 1) / 2, hi = (W + pW - 2) / 2, tw;                                   \
    if (hi > TW) hi = TW;                                                                   \
    if (lo > TW) lo = TW;                                                                   \
    if (hi < lo) hi = lo;                                                                   \
    for (tw = 0; tw < lo; tw++)                                                             \
        NAME##_edge(xr, s3, W, pW, tw, D0, D1, D2, D3);                                     \
    if (s3 == 1)                                                                            \
        for (; tw < hi; tw++) {                                                             \
            T d0 = xr[2 * tw - pW], d1 = xr[2 * tw + 1 - pW];                               \
            T d2 = xr[2 * tw + 2 - pW], d3 = xr[2 * tw + 3 - pW];                           \
            D0[tw] = d0 - d2; D1[tw] = d1 + d2; D2[tw] = d2 - d1; D3[tw] = d1 - d3;         \
        }                                                                                   \
    else                                                                                    \
        for (; tw < hi; tw++) {                                                             \
            T d0 = xr[(2 * tw - pW) * s3], d1 = xr[(2 * tw + 1 - pW) * s3];                 \
            T d2 = xr[(2 * tw + 2 - pW) * s3], d3 = xr[(2 * tw + 3 - pW) * s3];             \
            D0[tw] = d0 - d2; D1[tw] = d1 + d2; D2[tw] = d2 - d1; D3[tw] = d1 - d3;         \
        }                                                                                   \
    for (; tw < TW; tw++)                                                                   \
        NAME##_edge(xr, s3, W, pW, tw, D0, D1, D2, D3);                                     \
}                                                                                           \
ATTR static void NAME##_rows(const T* __restrict A, const T* __restrict B, int64_t TW,      \
                             int64_t J, T* __restrict v0, T* __restrict v1,                 \
                             T* __restrict v2, T* __restrict v3)                            \
{                                                                                           \
    for (int64_t j = 0; j < J; j++) {                                                       \
        T a0 = A[j], a1 = A[j + TW], b0 = B[j], b1 = B[j + TW];                             \
        v0[j] = a0 - a1; v1[j] = b0 + a1; v2[j] = a1 - b0; v3[j] = b0 - b1;                 \
    }                                                                                       \
}                                                                                           \
ATTR static void NAME(const T* x, int64_t xs0, int64_t xs1, int64_t xs2, int64_t xs3,       \
                      int64_t C, int64_t H, int64_t W, int64_t pH, int64_t pW, int64_t TH,  \
                      int64_t TW, int64_t r0, int64_t r1, T* V, int64_t Pst, int64_t CP,    \
                      T* buf)                                                               \
{                                                                                           \
    const int64_t S = (r1 - r0 + 1) * TW;       /* buf: 8 arrays of S */                    \
    for (int64_t c = 0; c < C; c++) {                                                       \
        int64_t t = r0;                                                                     \
        while (t < r1) {                        /* a run: tile rows th0 .. th0 + ns */      \
            int64_t n = t / TH, th0 = t - n * TH, ns = TH - th0;                            \
            if (ns > r1 - t) ns = r1 - t;                                                   \
            const T* xc = x + n * xs0 + c * xs1;                                            \
            for (int64_t u = 0; u <= ns; u++)                                               \
                for (int e = 0; e < 2; e++) {                                               \
                    int64_t ih = 2 * (th0 + u) - pH + e;                                    \
                    T* D = buf + 4 * e * S + u * TW;                                        \
                    if (ih >= 0 && ih < H)                                                  \
                        NAME##_cols(xc + ih * xs2, xs3, W, pW, TW, D, D + S, D + 2 * S,     \
                                    D + 3 * S);                                             \
                    else                                                                    \
                        for (int b = 0; b < 4; b++)                                         \
                            memset(D + b * S, 0, TW * sizeof(T));                           \
                }                                                                           \
            T* v = V + c * Pst + (t - r0) * TW;                                             \
            for (int b = 0; b < 4; b++)                                                     \
                NAME##_rows(buf + b * S, buf + (4 + b) * S, TW, ns * TW, v + b * CP,        \
                            v + (4 + b) * CP, v + (8 + b) * CP, v + (12 + b) * CP);         \
            t += ns;                                                                        \
        }                                                                                   \
    }                                                                                       \
}

STRIDED_CONV_BUILDS(STRIDED_WINO_INPUT, strided_wino_input)

#define STRIDED_WINO_INPUT_ENTRY(NAME, T)                                                   \
static void NAME(int isa, const T* x, int64_t xs0, int64_t xs1, int64_t xs2, int64_t xs3,   \
                 int64_t C, int64_t H, int64_t W, int64_t pH, int64_t pW, int64_t TH,       \
                 int64_t TW, int64_t r0, int64_t r1, T* V, int64_t Pst, int64_t CP, T* buf) \
{                                                                                           \
    STRIDED_CONV_DISPATCH(NAME, isa, x, xs0, xs1, xs2, xs3, C, H, W, pH, pW, TH, TW, r0,    \
                          r1, V, Pst, CP, buf);                                             \
}
STRIDED_WINO_INPUT_ENTRY(strided_wino_input_f32, float)
STRIDED_WINO_INPUT_ENTRY(strided_wino_input_f64, double)

STRIDED_CONV_BUILDS(STRIDED_WINO_OUTPUT, strided_wino_output)
#define STRIDED_WINO_OUTPUT_ENTRY(NAME, T)                                                  \
static void NAME(int isa, const T* M, int64_t KP, int64_t Pst, int64_t K, int64_t OH,       \
                 int64_t OW, int64_t TH, int64_t TW, int64_t r0, int64_t r1, const T* bias, \
                 T* out, T* buf)                                                            \
{                                                                                           \
    STRIDED_CONV_DISPATCH(NAME, isa, M, KP, Pst, K, OH, OW, TH, TW, r0, r1, bias, out,      \
                          buf);                                                             \
}
STRIDED_WINO_OUTPUT_ENTRY(strided_wino_output_f32, float)
STRIDED_WINO_OUTPUT_ENTRY(strided_wino_output_f64, double)

STRIDED_WINO_WEIGHT(strided_wino_weight_f32, float)
STRIDED_WINO_WEIGHT(strided_wino_weight_f64, double)

/* The weight gradient's transform of the weight: NOTE [ Winograd weight transforms in blocks ]. */
#define STRIDED_WINO_WGRAD(NAME, T)                                                         \
static inline void NAME(const T* __restrict dU, T* __restrict dw, int64_t KC, int64_t q0,   \
                        int64_t q1)                                                         \
{                                                                                           \
    const T h = (T)0.5;                                                                     \
    T blk[16 * STRIDED_WINO_QB];                                                            \
    for (int64_t qb = q0; qb < q1; qb += STRIDED_WINO_QB) {                                 \
        int64_t nq = q1 - qb < STRIDED_WINO_QB ? q1 - qb : STRIDED_WINO_QB;                 \
        for (int xi = 0; xi < 16; xi++)                                                     \
            memcpy(blk + xi * STRIDED_WINO_QB, dU + xi * KC + qb, nq * sizeof(T));          \
        for (int64_t l = 0; l < nq; l++) {                                                  \
            T u[16], e[12];                                                                 \
            T* o = dw + 9 * (qb + l);                                                       \
            for (int i = 0; i < 16; i++) u[i] = blk[i * STRIDED_WINO_QB + l];               \
            for (int j = 0; j < 4; j++) { /* G^T over the rows: d0 + (d1 + d2)/2, ... */    \
                e[j] = u[j] + h * (u[4 + j] + u[8 + j]);                                    \
                e[4 + j] = h * (u[4 + j] - u[8 + j]);                                       \
                e[8 + j] = h * (u[4 + j] + u[8 + j]) + u[12 + j];                           \
            }                                                                               \
            for (int i = 0; i < 3; i++) { /* ... and over the columns */                    \
                o[3 * i] = e[4 * i] + h * (e[4 * i + 1] + e[4 * i + 2]);                    \
                o[3 * i + 1] = h * (e[4 * i + 1] - e[4 * i + 2]);                           \
                o[3 * i + 2] = h * (e[4 * i + 1] + e[4 * i + 2]) + e[4 * i + 3];            \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
}

/* NOTE [ Winograd output-gradient transform ]
 * The weight gradient's transform of the output gradient (NOTE [ Winograd weight
 * gradient ]): Z[xi*KP + k*Pst + j] = (A dy A^T)[xi] of output channel k's 2x2 tile j =
 * (t - r0)*TW + tw (zero past the last row and column), go contiguous (N, K, OH, OW).  As
 * the input transform, two passes: A over the columns of each output-gradient row (p =
 * dy[2tw], q = dy[2tw + 1]: p, p + q, p - q, -q) into slot u of the top (row 2th) or
 * bottom (row 2th + 1) arrays, then A over the rows for the whole run (top, top + bottom,
 * top - bottom, -bottom). */
#define STRIDED_WINO_GOUT(NAME, T, ATTR)                                                    \
ATTR static void NAME##_cols(const T* __restrict g, int64_t OW, T* __restrict D0,           \
                             T* __restrict D1, T* __restrict D2, T* __restrict D3)          \
{                                                                                           \
    int64_t full = OW / 2, i;                                                               \
    for (i = 0; i < full; i++) {                                                            \
        T p = g[2 * i], q = g[2 * i + 1];                                                   \
        D0[i] = p; D1[i] = p + q; D2[i] = p - q; D3[i] = -q;                                \
    }                                                                                       \
    if (OW & 1) {           /* the tile's second column past the output's last */           \
        T p = g[2 * full];                                                                  \
        D0[full] = p; D1[full] = p; D2[full] = p; D3[full] = (T)0;                          \
    }                                                                                       \
}                                                                                           \
ATTR static void NAME##_rows(const T* __restrict top, const T* __restrict bot, int64_t J,   \
                             T* __restrict z0, T* __restrict z1, T* __restrict z2,          \
                             T* __restrict z3)                                              \
{                                                                                           \
    for (int64_t j = 0; j < J; j++) {                                                       \
        T a = top[j], b = bot[j];                                                           \
        z0[j] = a; z1[j] = a + b; z2[j] = a - b; z3[j] = -b;                                \
    }                                                                                       \
}                                                                                           \
ATTR static void NAME(const T* go, int64_t K, int64_t OH, int64_t OW, int64_t TH,           \
                      int64_t TW, int64_t r0, int64_t r1, T* Z, int64_t Pst, int64_t KP,    \
                      T* buf)                                                               \
{                                                                                           \
    const int64_t S = (r1 - r0) * TW;           /* buf: 8 arrays of S */                    \
    for (int64_t k = 0; k < K; k++) {                                                       \
        int64_t t = r0;                                                                     \
        while (t < r1) {                        /* a run: tile rows th0 .. th0 + ns */      \
            int64_t n = t / TH, th0 = t - n * TH, ns = TH - th0;                            \
            if (ns > r1 - t) ns = r1 - t;                                                   \
            for (int64_t u = 0; u < ns; u++) {                                              \
                int64_t th = th0 + u;                                                       \
                const T* g = go + ((n * K + k) * OH + 2 * th) * OW;                         \
                T* D = buf + u * TW;                                                        \
                NAME##_cols(g, OW, D, D + S, D + 2 * S, D + 3 * S);                         \
                if (2 * th + 1 < OH)                                                        \
                    NAME##_cols(g + OW, OW, D + 4 * S, D + 5 * S, D + 6 * S, D + 7 * S);    \
                else                                                                        \
                    for (int b = 4; b < 8; b++)                                             \
                        memset(D + b * S, 0, TW * sizeof(T));                               \
            }                                                                               \
            T* z = Z + k * Pst + (t - r0) * TW;                                             \
            for (int b = 0; b < 4; b++)                                                     \
                NAME##_rows(buf + b * S, buf + (4 + b) * S, ns * TW, z + b * KP,            \
                            z + (4 + b) * KP, z + (8 + b) * KP, z + (12 + b) * KP);         \
            t += ns;                                                                        \
        }                                                                                   \
    }                                                                                       \
}


STRIDED_CONV_BUILDS(STRIDED_WINO_GOUT, strided_wino_gout)
#define STRIDED_WINO_GOUT_ENTRY(NAME, T)                                                    \
static void NAME(int isa, const T* go, int64_t K, int64_t OH, int64_t OW, int64_t TH,       \
                 int64_t TW, int64_t r0, int64_t r1, T* Z, int64_t Pst, int64_t KP, T* buf) \
{                                                                                           \
    STRIDED_CONV_DISPATCH(NAME, isa, go, K, OH, OW, TH, TW, r0, r1, Z, Pst, KP, buf);       \
}
STRIDED_WINO_GOUT_ENTRY(strided_wino_gout_f32, float)
STRIDED_WINO_GOUT_ENTRY(strided_wino_gout_f64, double)
STRIDED_WINO_WGRAD(strided_wino_wgrad_f32, float)
STRIDED_WINO_WGRAD(strided_wino_wgrad_f64, double)

#endif
