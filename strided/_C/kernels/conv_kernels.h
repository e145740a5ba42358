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
#if defined(__SSE2__)
#include <emmintrin.h>
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
 * The input transform of one channel's tile row: E[r*L + i] and O[r*L + i] hold input row
 * r of the tiles (r = 0..3) at columns 2i - pW and 2i + 1 - pW (zero outside the image),
 * i < L = TW + 1; tile tw's columns are E[tw], O[tw], E[tw + 1], O[tw + 1].  Writes
 * v[xi*CP + tw] = (B^T d B)[xi] for tw < TW, xi = 4a + b.  The output transform: m[xi*KP +
 * tw] holds M[xi] of tile tw; writes row 0 of the 2x2 outputs (plus bias) to r0[2tw],
 * r0[2tw + 1] and row 1 to r1.  Plain loops over tw on restrict pointers, which gcc
 * vectorizes (Cython's code, with possible aliasing between V and the rows, stayed
 * scalar). */
#define STRIDED_WINO_IN(NAME, T)                                                            \
static inline void NAME##_row(const T* __restrict ex, const T* __restrict ey,               \
                              const T* __restrict ox, const T* __restrict oy, T sg,         \
                              T* __restrict v0, T* __restrict v1, T* __restrict v2,         \
                              T* __restrict v3, int64_t TW)                                 \
{                                                                                           \
    /* row a of B^T d (x + sg*y of two input rows, sg = +-1: exact) at the columns          \
       E[i], O[i], E[i+1], O[i+1], then B^T over those columns */                           \
    for (int64_t i = 0; i < TW; i++) {                                                      \
        T p = ex[i] + sg * ey[i], q = ox[i] + sg * oy[i];                                   \
        T r = ex[i + 1] + sg * ey[i + 1], s = ox[i + 1] + sg * oy[i + 1];                   \
        v0[i] = p - r;                                                                      \
        v1[i] = q + r;                                                                      \
        v2[i] = r - q;                                                                      \
        v3[i] = q - s;                                                                      \
    }                                                                                       \
}                                                                                           \
static inline void NAME(const T* E, const T* O, int64_t L, T* v, int64_t CP, int64_t TW)    \
{                                                                                           \
    /* B^T's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3 */                                    \
    static const int x_row[4] = {0, 1, 2, 1}, y_row[4] = {2, 2, 1, 3};                      \
    for (int a = 0; a < 4; a++)                                                             \
        NAME##_row(E + x_row[a] * L, E + y_row[a] * L, O + x_row[a] * L, O + y_row[a] * L,  \
                   a == 1 ? (T)1 : (T)-1, v + 4 * a * CP, v + (4 * a + 1) * CP,             \
                   v + (4 * a + 2) * CP, v + (4 * a + 3) * CP, TW);                         \
}

/* U[xi*KC + q] = (G g G^T)[xi] for the 3x3 kernels g = w + 9q, q0 <= q < q1 */
#define STRIDED_WINO_WEIGHT(NAME, T)                                                        \
static inline void NAME(const T* __restrict w, T* __restrict U, int64_t KC, int64_t q0,     \
                        int64_t q1)                                                         \
{                                                                                           \
    const T h = (T)0.5;                                                                     \
    for (int64_t q = q0; q < q1; q++) {                                                     \
        const T* g = w + 9 * q;                                                             \
        T t[12];                                                                            \
        for (int i = 0; i < 3; i++) {   /* G g: g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2 */ \
            t[i] = g[i];                                                                    \
            t[3 + i] = h * (g[i] + g[3 + i] + g[6 + i]);                                    \
            t[6 + i] = h * (g[i] - g[3 + i] + g[6 + i]);                                    \
            t[9 + i] = g[6 + i];                                                            \
        }                                                                                   \
        for (int i = 0; i < 4; i++) {   /* (G g) G^T, row i */                              \
            U[(4 * i) * KC + q] = t[3 * i];                                                 \
            U[(4 * i + 1) * KC + q] = h * (t[3 * i] + t[3 * i + 1] + t[3 * i + 2]);         \
            U[(4 * i + 2) * KC + q] = h * (t[3 * i] - t[3 * i + 1] + t[3 * i + 2]);         \
            U[(4 * i + 3) * KC + q] = t[3 * i + 2];                                         \
        }                                                                                   \
    }                                                                                       \
}

#define STRIDED_WINO_OUT(NAME, T)                                                           \
static inline void NAME(const T* __restrict m, int64_t KP, int64_t TW, T b,                 \
                        T* __restrict r0, T* __restrict r1)                                 \
{                                                                                           \
    for (int64_t i = 0; i < TW; i++) {                                                      \
        /* A^T over the rows: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (rows of 4) */           \
        T s00 = m[i] + m[4 * KP + i] + m[8 * KP + i];                                       \
        T s01 = m[KP + i] + m[5 * KP + i] + m[9 * KP + i];                                  \
        T s02 = m[2 * KP + i] + m[6 * KP + i] + m[10 * KP + i];                             \
        T s03 = m[3 * KP + i] + m[7 * KP + i] + m[11 * KP + i];                             \
        T s10 = m[4 * KP + i] - m[8 * KP + i] - m[12 * KP + i];                             \
        T s11 = m[5 * KP + i] - m[9 * KP + i] - m[13 * KP + i];                             \
        T s12 = m[6 * KP + i] - m[10 * KP + i] - m[14 * KP + i];                            \
        T s13 = m[7 * KP + i] - m[11 * KP + i] - m[15 * KP + i];                            \
        r0[2 * i] = s00 + s01 + s02 + b;                                                    \
        r0[2 * i + 1] = s01 - s02 - s03 + b;                                                \
        r1[2 * i] = s10 + s11 + s12 + b;                                                    \
        r1[2 * i + 1] = s11 - s12 - s13 + b;                                                \
    }                                                                                       \
}

STRIDED_WINO_IN(strided_wino_in_f32, float)
STRIDED_WINO_IN(strided_wino_in_f64, double)
STRIDED_WINO_WEIGHT(strided_wino_weight_f32, float)
STRIDED_WINO_WEIGHT(strided_wino_weight_f64, double)
STRIDED_WINO_OUT(strided_wino_out_f32, float)
STRIDED_WINO_OUT(strided_wino_out_f64, double)

/* The weight gradient's transforms (NOTE [ Winograd weight gradient ]).  Output gradient:
 * g0, g1 are rows 2th, 2th + 1 of one output channel's gradient (g1 a row of zeros past
 * the last row), OW long; writes v[xi*CP + tw] = (A dy A^T)[xi] of the 2x2 tiles tw < TW (zero
 * past the last column).  Weight: dw[9q ..] = G^T dU G of the 4x4 dU[xi*KC + q]. */
/* row k of A dy (dy0, dy0 + dy1, dy0 - dy1, -dy1) as ROW(top, bottom), then A over the
 * columns; the four outputs through their own restrict pointers, so gcc vectorizes */
#define STRIDED_WINO_GOUT_ROW(NAME, T, ROW)                                                 \
static inline void NAME(const T* __restrict g0, const T* __restrict g1, int64_t full,       \
                        int64_t TW, T* __restrict v0, T* __restrict v1, T* __restrict v2,   \
                        T* __restrict v3)                                                   \
{                                                                                           \
    int64_t i;                                                                              \
    for (i = 0; i < full; i++) {                                                            \
        T p = ROW(g0[2 * i], g1[2 * i]), q = ROW(g0[2 * i + 1], g1[2 * i + 1]);             \
        v0[i] = p; v1[i] = p + q; v2[i] = p - q; v3[i] = -q;                                \
    }                                                                                       \
    for (; i < TW; i++) {   /* the tile's second column past the output's last */           \
        T p = ROW(g0[2 * i], g1[2 * i]);                                                    \
        v0[i] = p; v1[i] = p; v2[i] = p; v3[i] = (T)0;                                      \
    }                                                                                       \
}
#define STRIDED_WINO_TOP(t, b) (t)
#define STRIDED_WINO_SUM(t, b) ((t) + (b))
#define STRIDED_WINO_DIFF(t, b) ((t) - (b))
#define STRIDED_WINO_NEG(t, b) (-(b))
#define STRIDED_WINO_GOUT(NAME, T)                                                          \
STRIDED_WINO_GOUT_ROW(NAME##_top, T, STRIDED_WINO_TOP)                                      \
STRIDED_WINO_GOUT_ROW(NAME##_sum, T, STRIDED_WINO_SUM)                                      \
STRIDED_WINO_GOUT_ROW(NAME##_diff, T, STRIDED_WINO_DIFF)                                    \
STRIDED_WINO_GOUT_ROW(NAME##_neg, T, STRIDED_WINO_NEG)                                      \
static inline void NAME(const T* g0, const T* g1, int64_t OW, T* v, int64_t CP, int64_t TW) \
{                                                                                           \
    int64_t full = OW / 2;                                                                  \
    NAME##_top(g0, g1, full, TW, v, v + CP, v + 2 * CP, v + 3 * CP);                        \
    NAME##_sum(g0, g1, full, TW, v + 4 * CP, v + 5 * CP, v + 6 * CP, v + 7 * CP);           \
    NAME##_diff(g0, g1, full, TW, v + 8 * CP, v + 9 * CP, v + 10 * CP, v + 11 * CP);        \
    NAME##_neg(g0, g1, full, TW, v + 12 * CP, v + 13 * CP, v + 14 * CP, v + 15 * CP);       \
}

#define STRIDED_WINO_WGRAD(NAME, T)                                                         \
static inline void NAME(const T* __restrict dU, T* __restrict dw, int64_t KC, int64_t q0,   \
                        int64_t q1)                                                         \
{                                                                                           \
    const T h = (T)0.5;                                                                     \
    for (int64_t q = q0; q < q1; q++) {                                                     \
        T u[16], e[12];                                                                     \
        for (int i = 0; i < 16; i++) u[i] = dU[i * KC + q];                                 \
        for (int j = 0; j < 4; j++) {   /* G^T over the rows: d0 + (d1 + d2)/2, ... */      \
            e[j] = u[j] + h * (u[4 + j] + u[8 + j]);                                        \
            e[4 + j] = h * (u[4 + j] - u[8 + j]);                                           \
            e[8 + j] = h * (u[4 + j] + u[8 + j]) + u[12 + j];                               \
        }                                                                                   \
        for (int i = 0; i < 3; i++) {   /* ... and over the columns */                      \
            dw[9 * q + 3 * i] = e[4 * i] + h * (e[4 * i + 1] + e[4 * i + 2]);               \
            dw[9 * q + 3 * i + 1] = h * (e[4 * i + 1] - e[4 * i + 2]);                      \
            dw[9 * q + 3 * i + 2] = h * (e[4 * i + 1] + e[4 * i + 2]) + e[4 * i + 3];       \
        }                                                                                   \
    }                                                                                       \
}

STRIDED_WINO_GOUT(strided_wino_gout_f32, float)
STRIDED_WINO_GOUT(strided_wino_gout_f64, double)
STRIDED_WINO_WGRAD(strided_wino_wgrad_f32, float)
STRIDED_WINO_WGRAD(strided_wino_wgrad_f64, double)

#endif
