/* GEMM micro-kernels, packers, their tables per instruction set, and the packing-buffer
 * pool.
 *
 * Used by strided/_C/kernels/gemm.pyx, which owns the loops around these kernels (BLIS's five
 * loops, the packing routines and the threading).  Only what needs C lives here:
 * intrinsics, function attributes and atomics.
 *
 * NOTE [ GEMM micro-kernel contract ]
 * A micro-kernel computes one MR x NR tile of C from a packed A sliver and a packed B
 * sliver:
 *
 *     C[i, j] = alpha * sum_p a[p*MR + i] * b[p*NR + j]  (+ beta * C[i, j])
 *
 * for i < mr, j < nr (mr <= MR, nr <= NR: edge tiles of C), C[i, j] at c[i*rs_c + j*cs_c].
 * Assumptions:
 *   - a and b hold k full MR-tall / NR-wide columns/rows; rows of a and columns of b past
 *     mr / nr are zero padding (the kernel computes them and throws them away);
 *   - b is 32-byte aligned (packed buffers are 4 KiB-aligned, slivers a multiple of 64 B);
 *   - beta == 0 means C is write-only: it is never read, so it may hold NaN garbage;
 *   - rs_c and cs_c are any element strides (negative too); the vector store path is taken
 *     for full tiles with cs_c == 1, everything else goes through a tile on the stack.
 * The reference kernels are plain C; the AVX2+FMA kernels compute the same thing with 12
 * ymm accumulators (6 rows x 2 vectors), the AVX-512 ones (gemm_kernel_wide.h) with 24 zmm
 * accumulators (12 rows x 2 vectors).  The SIMD kernels are compiled by function attribute
 * (target("avx2,fma"), target("avx512f,...")), so the default portable build (no -march)
 * has them all; kernels/gemm.pyx picks a table (NOTE [ GEMM kernel tables ]) at import.
 */
#ifndef STRIDED_GEMM_KERNEL_H
#define STRIDED_GEMM_KERNEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

#define STRIDED_SGEMM_MR 6
#define STRIDED_SGEMM_NR 16
#define STRIDED_DGEMM_MR 6
#define STRIDED_DGEMM_NR 8

typedef void (*strided_sgemm_ukr_t)(int64_t k, const float* a, const float* b, float* c,
                                    int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                    float alpha, float beta);
typedef void (*strided_dgemm_ukr_t)(int64_t k, const double* a, const double* b, double* c,
                                    int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                    double alpha, double beta);
/* NOTE [ Offset-B micro-kernels ]
 * The same tile from B rows that lie anywhere: row p of the NR-wide B sliver is two
 * half-sliver vectors of H = NR/2 elements each (unit column stride), b[boff[p] + 0 .. H)
 * and b[boff[p] + d1 + 0 .. H), so an implicit GEMM whose B rows are shifted runs of one
 * buffer -- a convolution's windows over a padded image's phase, d1 = H within an output
 * row or the distance to the next row's start -- needs no packing.  Columns [0, H) of the
 * tile come from the first vector, [H, nr) from the second.  The SIMD kernels read both
 * vectors whole (only the first when nr <= H) whatever nr is, so up to H - 1 elements
 * past the last column used; the reference kernels read only the columns used.  Each
 * table states both numbers (offb_w: H, offb_reach: how far past the last used column a
 * vector may read; NOTE [ GEMM kernel tables ]), and the caller keeps that reach inside
 * its buffer.  a is packed as above. */
typedef void (*strided_sgemm_offb_ukr_t)(int64_t k, const float* a, const float* b,
                                         const int64_t* boff, int64_t d1, float* c,
                                         int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                         float alpha, float beta);
typedef void (*strided_dgemm_offb_ukr_t)(int64_t k, const double* a, const double* b,
                                         const int64_t* boff, int64_t d1, double* c,
                                         int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                         double alpha, double beta);

/* ---- reference micro-kernels ------------------------------------------------------ */

/* Write alpha * tile (an MR x NR row-major array) into the mr x nr corner of C. */
#define STRIDED_STORE_TILE(T, NR_)                                                       \
    do {                                                                                 \
        int64_t i_, j_;                                                                  \
        for (i_ = 0; i_ < mr; i_++) {                                                    \
            T* crow_ = c + i_ * rs_c;                                                    \
            if (beta == 0) {                                                             \
                for (j_ = 0; j_ < nr; j_++) crow_[j_ * cs_c] = alpha * tile[i_ * NR_ + j_]; \
            } else {                                                                     \
                for (j_ = 0; j_ < nr; j_++)                                              \
                    crow_[j_ * cs_c] = alpha * tile[i_ * NR_ + j_] + beta * crow_[j_ * cs_c]; \
            }                                                                            \
        }                                                                                \
    } while (0)

static void strided_sgemm_ukr_ref(int64_t k, const float* a, const float* b, float* c,
                                  int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                  float alpha, float beta)
{
    enum { MR = STRIDED_SGEMM_MR, NR = STRIDED_SGEMM_NR };
    float tile[MR * NR];
    int64_t p;
    int i, j;
    memset(tile, 0, sizeof tile);
    for (p = 0; p < k; p++, a += MR, b += NR)
        for (i = 0; i < MR; i++)
            for (j = 0; j < NR; j++)
                tile[i * NR + j] += a[i] * b[j];
    STRIDED_STORE_TILE(float, NR);
}

static void strided_dgemm_ukr_ref(int64_t k, const double* a, const double* b, double* c,
                                  int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                  double alpha, double beta)
{
    enum { MR = STRIDED_DGEMM_MR, NR = STRIDED_DGEMM_NR };
    double tile[MR * NR];
    int64_t p;
    int i, j;
    memset(tile, 0, sizeof tile);
    for (p = 0; p < k; p++, a += MR, b += NR)
        for (i = 0; i < MR; i++)
            for (j = 0; j < NR; j++)
                tile[i * NR + j] += a[i] * b[j];
    STRIDED_STORE_TILE(double, NR);
}

static void strided_sgemm_offb_ref(int64_t k, const float* a, const float* b,
                                   const int64_t* boff, int64_t d1, float* c, int64_t rs_c,
                                   int64_t cs_c, int64_t mr, int64_t nr, float alpha, float beta)
{
    enum { MR = STRIDED_SGEMM_MR, NR = STRIDED_SGEMM_NR, H = NR / 2 };
    float tile[MR * NR];
    int64_t p;
    int i, j;
    memset(tile, 0, sizeof tile);
    for (p = 0; p < k; p++, a += MR) {
        const float* bp = b + boff[p];
        for (i = 0; i < MR; i++)
            for (j = 0; j < nr; j++)    /* only the columns used: offb_reach 0 */
                tile[i * NR + j] += a[i] * (j < H ? bp[j] : bp[d1 + j - H]);
    }
    STRIDED_STORE_TILE(float, NR);
}

static void strided_dgemm_offb_ref(int64_t k, const double* a, const double* b,
                                   const int64_t* boff, int64_t d1, double* c, int64_t rs_c,
                                   int64_t cs_c, int64_t mr, int64_t nr, double alpha, double beta)
{
    enum { MR = STRIDED_DGEMM_MR, NR = STRIDED_DGEMM_NR, H = NR / 2 };
    double tile[MR * NR];
    int64_t p;
    int i, j;
    memset(tile, 0, sizeof tile);
    for (p = 0; p < k; p++, a += MR) {
        const double* bp = b + boff[p];
        for (i = 0; i < MR; i++)
            for (j = 0; j < nr; j++)    /* only the columns used: offb_reach 0 */
                tile[i * NR + j] += a[i] * (j < H ? bp[j] : bp[d1 + j - H]);
    }
    STRIDED_STORE_TILE(double, NR);
}

/* ---- AVX2 + FMA micro-kernels ------------------------------------------------------ */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(STRIDED_NO_SIMD)
#define STRIDED_HAVE_X86_KERNELS 1
#include <immintrin.h>

#define STRIDED_AVX2 __attribute__((target("avx2,fma")))

/* The AVX2 kernels are written once per dtype as an always-inlined body taking, as
 * compile-time constants,
 *   R (1..6) rows and V (1, 2) vectors per row: the kernel proper switches on (mr, nr) so
 *     an edge tile of mr < 6 rows or nr <= half a tile runs a body with fewer accumulators
 *     instead of computing padding (for n = 64 or 128, a 6-row kernel otherwise spends 3%
 *     of its time on the padding rows of the last sliver);
 *   D: 0 reads packed slivers (NOTE [ GEMM micro-kernel contract ]); 2 reads packed A and
 *     B rows at b + boff[p], the second vector at b + boff[p] + rs_b (NOTE [ Offset-B
 *     micro-kernels ]); 1 reads A and B where
 *     they lie -- A through any strides (rs_a, cs_a), B a row-major matrix (row stride
 *     rs_b, unit column stride) whose ragged last columns are loaded under a mask, so
 *     nothing past the matrix is touched.  D = 1 is the small-product path, which packs
 *     nothing.  Both do the same FMAs in the same order (per K block of the packed path).
 * Loops over i < R and v < V are fully unrolled, so the accumulator arrays live in
 * registers: 12 ymm accumulators + 2 for B + 1 broadcast of A at most.
 *
 * The k loop runs one step per iteration on purpose: unrolled by hand, gcc 12 rotated the
 * accumulators through stack spills and dgemm ran at 2/3 of the FMA peak.
 */
#define STRIDED_UNROLL _Pragma("GCC unroll 8")

#define STRIDED_AVX2_BODY(T, VEC, SUF, LANES, BCAST, MASK, MASKLOAD)                     \
    VEC acc[6][2];                                                                       \
    int64_t p;                                                                           \
    int i, v;                                                                            \
    STRIDED_UNROLL for (i = 0; i < R; i++)                                               \
        STRIDED_UNROLL for (v = 0; v < V; v++) acc[i][v] = _mm256_setzero_##SUF();       \
    if (D == 2) {                                                                        \
        for (p = 0; p < k; p++) {                                                        \
            const T* bp = b + boff[p];                                                   \
            VEC b0 = _mm256_loadu_##SUF(bp), b1 = b0;                                    \
            if (V > 1) b1 = _mm256_loadu_##SUF(bp + rs_b);                               \
            STRIDED_UNROLL for (i = 0; i < R; i++) {                                     \
                VEC ai = BCAST(a + i);                                                   \
                acc[i][0] = _mm256_fmadd_##SUF(ai, b0, acc[i][0]);                       \
                if (V > 1) acc[i][1] = _mm256_fmadd_##SUF(ai, b1, acc[i][1]);            \
            }                                                                            \
            a += 6;                                                                      \
        }                                                                                \
    } else if (!D) {                                                                     \
        for (p = 0; p < k; p++) {                                                        \
            VEC b0 = _mm256_load_##SUF(b), b1 = b0;                                      \
            if (V > 1) b1 = _mm256_load_##SUF(b + LANES);                                \
            STRIDED_UNROLL for (i = 0; i < R; i++) {                                     \
                VEC ai = BCAST(a + i);                                                   \
                acc[i][0] = _mm256_fmadd_##SUF(ai, b0, acc[i][0]);                       \
                if (V > 1) acc[i][1] = _mm256_fmadd_##SUF(ai, b1, acc[i][1]);            \
            }                                                                            \
            a += 6;                                                                      \
            b += 2 * LANES;                                                              \
        }                                                                                \
    } else {                                                                             \
        const T* ar[6];                                                                  \
        const int full = nr >= V * LANES;                                                \
        const MASK mask = STRIDED_MASK_##SUF(nr - (V - 1) * LANES);                      \
        STRIDED_UNROLL for (i = 0; i < R; i++) ar[i] = a + i * rs_a;                     \
        for (p = 0; p < k; p++) {                                                        \
            VEC b0, b1;                                                                  \
            if (V == 1) {                                                                \
                b0 = full ? _mm256_loadu_##SUF(b) : MASKLOAD(b, mask);                   \
                b1 = b0;                                                                 \
            } else {                                                                     \
                b0 = _mm256_loadu_##SUF(b);                                              \
                b1 = full ? _mm256_loadu_##SUF(b + LANES) : MASKLOAD(b + LANES, mask);   \
            }                                                                            \
            STRIDED_UNROLL for (i = 0; i < R; i++) {                                     \
                VEC ai = BCAST(ar[i]);                                                   \
                acc[i][0] = _mm256_fmadd_##SUF(ai, b0, acc[i][0]);                       \
                if (V > 1) acc[i][1] = _mm256_fmadd_##SUF(ai, b1, acc[i][1]);            \
                ar[i] += cs_a;                                                           \
            }                                                                            \
            b += rs_b;                                                                   \
        }                                                                                \
    }                                                                                    \
    {                                                                                    \
        const VEC va = _mm256_set1_##SUF(alpha);                                         \
        STRIDED_UNROLL for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL for (v = 0; v < V; v++) acc[i][v] = _mm256_mul_##SUF(va, acc[i][v]); \
    }                                                                                    \
    if (cs_c == 1 && nr == V * LANES) {                                                  \
        if (beta != 0) {                                                                 \
            const VEC vb = _mm256_set1_##SUF(beta);                                      \
            STRIDED_UNROLL for (i = 0; i < R; i++)                                       \
                STRIDED_UNROLL for (v = 0; v < V; v++)                                   \
                    acc[i][v] = _mm256_fmadd_##SUF(                                      \
                        vb, _mm256_loadu_##SUF(c + i * rs_c + v * LANES), acc[i][v]);    \
        }                                                                                \
        STRIDED_UNROLL for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL for (v = 0; v < V; v++)                                       \
                _mm256_storeu_##SUF(c + i * rs_c + v * LANES, acc[i][v]);                \
    } else {                                                                             \
        /* ragged columns or strided C: alpha * AB to the stack, then element-wise */    \
        T tile[6 * 2 * LANES] __attribute__((aligned(32)));                              \
        int64_t j;                                                                       \
        STRIDED_UNROLL for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL for (v = 0; v < V; v++)                                       \
                _mm256_store_##SUF(tile + i * 2 * LANES + v * LANES, acc[i][v]);         \
        for (i = 0; i < R; i++) {                                                        \
            T* crow = c + i * rs_c;                                                      \
            const T* trow = tile + i * 2 * LANES;                                        \
            if (beta == 0)                                                               \
                for (j = 0; j < nr; j++) crow[j * cs_c] = trow[j];                       \
            else                                                                         \
                for (j = 0; j < nr; j++) crow[j * cs_c] = trow[j] + beta * crow[j * cs_c]; \
        }                                                                                \
    }

/* lanes [0, n) of a load mask (n clamped to the vector) */
#define STRIDED_MASK_ps(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((n) > 8 ? 8 : (n))), \
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define STRIDED_MASK_pd(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x((n) > 4 ? 4 : (n)),     \
                                              _mm256_setr_epi64x(0, 1, 2, 3))

STRIDED_AVX2 __attribute__((always_inline)) static inline void
strided_sgemm_avx2_body(const int R, const int V, const int D, int64_t k,
                        const float* a, int64_t rs_a, int64_t cs_a, const float* b, int64_t rs_b,
                        const int64_t* boff, float* c, int64_t rs_c, int64_t cs_c, int64_t nr, float alpha, float beta)
{
    STRIDED_AVX2_BODY(float, __m256, ps, 8, _mm256_broadcast_ss, __m256i, _mm256_maskload_ps)
}

STRIDED_AVX2 __attribute__((always_inline)) static inline void
strided_dgemm_avx2_body(const int R, const int V, const int D, int64_t k,
                        const double* a, int64_t rs_a, int64_t cs_a, const double* b, int64_t rs_b,
                        const int64_t* boff, double* c, int64_t rs_c, int64_t cs_c, int64_t nr, double alpha, double beta)
{
    STRIDED_AVX2_BODY(double, __m256d, pd, 4, _mm256_broadcast_sd, __m256i, _mm256_maskload_pd)
}

#define STRIDED_DISPATCH_ROWS(body, V, D)                                                \
    switch (mr) {                                                                        \
    case 6: body(6, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    case 5: body(5, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    case 4: body(4, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    case 3: body(3, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    case 2: body(2, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    default: body(1, V, D, k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta); break; \
    }

STRIDED_AVX2
static void strided_sgemm_ukr_avx2(int64_t k, const float* a, const float* b, float* c,
                                   int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                   float alpha, float beta)
{
    const int64_t rs_a = 1, cs_a = 6, rs_b = 16;
    const int64_t* boff = NULL;
    if (nr > 8) { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 2, 0) }
    else { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 1, 0) }
}

STRIDED_AVX2
static void strided_dgemm_ukr_avx2(int64_t k, const double* a, const double* b, double* c,
                                   int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                   double alpha, double beta)
{
    const int64_t rs_a = 1, cs_a = 6, rs_b = 8;
    const int64_t* boff = NULL;
    if (nr > 4) { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 2, 0) }
    else { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 1, 0) }
}

STRIDED_AVX2
static void strided_sgemm_offb_avx2(int64_t k, const float* a, const float* b,
                                    const int64_t* boff, int64_t d1, float* c, int64_t rs_c,
                                    int64_t cs_c, int64_t mr, int64_t nr, float alpha, float beta)
{
    const int64_t rs_a = 1, cs_a = 6, rs_b = d1;   /* the body reads vector 2 at rs_b */
    if (nr > 8) { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 2, 2) }
    else { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 1, 2) }
}

STRIDED_AVX2
static void strided_dgemm_offb_avx2(int64_t k, const double* a, const double* b,
                                    const int64_t* boff, int64_t d1, double* c, int64_t rs_c,
                                    int64_t cs_c, int64_t mr, int64_t nr, double alpha, double beta)
{
    const int64_t rs_a = 1, cs_a = 6, rs_b = d1;   /* the body reads vector 2 at rs_b */
    if (nr > 4) { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 2, 2) }
    else { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 1, 2) }
}

/* Direct (unpacked) kernels: an mr x nr tile of C = alpha * A B (+ beta * C) from A at a
   with strides (rs_a, cs_a) and a row-major B at b with row stride rs_b. */
STRIDED_AVX2
static void strided_sgemm_direct_avx2(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                                      const float* b, int64_t rs_b, float* c, int64_t rs_c,
                                      int64_t cs_c, int64_t mr, int64_t nr, float alpha, float beta)
{
    const int64_t* boff = NULL;
    if (nr > 8) { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 2, 1) }
    else { STRIDED_DISPATCH_ROWS(strided_sgemm_avx2_body, 1, 1) }
}

STRIDED_AVX2
static void strided_dgemm_direct_avx2(int64_t k, const double* a, int64_t rs_a, int64_t cs_a,
                                      const double* b, int64_t rs_b, double* c, int64_t rs_c,
                                      int64_t cs_c, int64_t mr, int64_t nr, double alpha, double beta)
{
    const int64_t* boff = NULL;
    if (nr > 4) { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 2, 1) }
    else { STRIDED_DISPATCH_ROWS(strided_dgemm_avx2_body, 1, 1) }
}

#else
#define STRIDED_HAVE_X86_KERNELS 0
static void strided_sgemm_direct_avx2(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                                      const float* b, int64_t rs_b, float* c, int64_t rs_c,
                                      int64_t cs_c, int64_t mr, int64_t nr, float alpha, float beta)
{ (void)k; (void)a; (void)rs_a; (void)cs_a; (void)b; (void)rs_b; (void)c; (void)rs_c;
  (void)cs_c; (void)mr; (void)nr; (void)alpha; (void)beta; abort(); }
static void strided_dgemm_direct_avx2(int64_t k, const double* a, int64_t rs_a, int64_t cs_a,
                                      const double* b, int64_t rs_b, double* c, int64_t rs_c,
                                      int64_t cs_c, int64_t mr, int64_t nr, double alpha, double beta)
{ (void)k; (void)a; (void)rs_a; (void)cs_a; (void)b; (void)rs_b; (void)c; (void)rs_c;
  (void)cs_c; (void)mr; (void)nr; (void)alpha; (void)beta; abort(); }
#endif

/* ---- matrix-vector kernels (AVX2) --------------------------------------------------
 *
 * y[i] = alpha * sum_p M[i, p] x[p] (+ beta * y[i]) for rows i in [i0, i1): every element
 * of M is used once, so nothing is packed and the speed is the memory's.  Two layouts:
 *   - rows of M contiguous and x contiguous: dot products, four rows at a time sharing
 *     the loads of x;
 *   - columns of M contiguous: axpy down four columns at a time into a block of row
 *     accumulators in L1.
 * Each row's arithmetic does not depend on which group of rows it falls in (the ragged
 * ends use masked loads, not scalar code), so splitting rows over threads changes no
 * result.  Returns 0 for layouts it does not handle.
 */
#if STRIDED_HAVE_X86_KERNELS
#define STRIDED_GEMV_ROWS 2048
#define STRIDED_GEMV_DOT_ROWS(T, VEC, SUF, LANES, MASKLOAD, Q)                            \
    {                                                                                    \
        const T* r[Q];                                                                   \
        VEC a0[Q], a1[Q];                                                                \
        int q;                                                                           \
        STRIDED_UNROLL for (q = 0; q < Q; q++) {                                         \
            r[q] = M + (i + q) * rsM;                                                    \
            a0[q] = _mm256_setzero_##SUF();                                              \
            a1[q] = _mm256_setzero_##SUF();                                              \
        }                                                                                \
        for (p = 0; p < k2; p += 2 * LANES) {                                            \
            const VEC x0 = _mm256_loadu_##SUF(x + p), x1 = _mm256_loadu_##SUF(x + p + LANES); \
            STRIDED_UNROLL for (q = 0; q < Q; q++) {                                     \
                a0[q] = _mm256_fmadd_##SUF(_mm256_loadu_##SUF(r[q] + p), x0, a0[q]);     \
                a1[q] = _mm256_fmadd_##SUF(_mm256_loadu_##SUF(r[q] + p + LANES), x1, a1[q]); \
            }                                                                            \
        }                                                                                \
        if (p < k1) {                                                                    \
            const VEC x0 = _mm256_loadu_##SUF(x + p);                                    \
            STRIDED_UNROLL for (q = 0; q < Q; q++)                                       \
                a0[q] = _mm256_fmadd_##SUF(_mm256_loadu_##SUF(r[q] + p), x0, a0[q]);     \
            p += LANES;                                                                  \
        }                                                                                \
        if (p < k) {                                                                     \
            const VEC x0 = MASKLOAD(x + p, tail);                                        \
            STRIDED_UNROLL for (q = 0; q < Q; q++)                                       \
                a1[q] = _mm256_fmadd_##SUF(MASKLOAD(r[q] + p, tail), x0, a1[q]);         \
        }                                                                                \
        for (q = 0; q < Q; q++) {                                                        \
            T lanes[LANES] __attribute__((aligned(32)));                                 \
            T sum = 0;                                                                   \
            int l;                                                                       \
            T* yp = y + (i + q) * incy;                                                  \
            _mm256_store_##SUF(lanes, _mm256_add_##SUF(a0[q], a1[q]));                  \
            for (l = 0; l < LANES; l++) sum += lanes[l];                                 \
            *yp = beta == 0 ? alpha * sum : alpha * sum + beta * *yp;                    \
        }                                                                                \
    }

#define STRIDED_GEMV_BODY(T, VEC, SUF, LANES, MASKLOAD)                                  \
    int64_t i, p;                                                                        \
    if (csM == 1 && incx == 1 && rsM != 1) {                                             \
        /* dot form: per row, accumulators a0 (blocks 0, 2, ...) and a1 (1, 3, ...);     \
           rows four at a time, then one at a time -- the same operations per row */     \
        const int64_t k2 = k / (2 * LANES) * (2 * LANES), k1 = k / LANES * LANES;        \
        const __m256i tail = STRIDED_MASK_##SUF(k - k1);                                 \
        for (i = i0; i + 4 <= i1; i += 4) STRIDED_GEMV_DOT_ROWS(T, VEC, SUF, LANES, MASKLOAD, 4) \
        for (; i < i1; i++) STRIDED_GEMV_DOT_ROWS(T, VEC, SUF, LANES, MASKLOAD, 1)        \
        return 1;                                                                        \
    }                                                                                    \
    if (rsM == 1 && csM != 1) {                                                          \
        /* axpy form: a block of up to 2048 rows accumulated in L1, four columns per    \
           pass, each column read in one long run (what the prefetcher wants) */         \
        for (i = i0; i < i1; i += STRIDED_GEMV_ROWS) {                                   \
            const int64_t rows = i1 - i < STRIDED_GEMV_ROWS ? i1 - i : STRIDED_GEMV_ROWS; \
            const int nv = (int)((rows + LANES - 1) / LANES);                            \
            const __m256i last = STRIDED_MASK_##SUF(rows - (nv - 1) * LANES);             \
            T acc[STRIDED_GEMV_ROWS] __attribute__((aligned(32)));                       \
            int v;                                                                       \
            int64_t l;                                                                   \
            memset(acc, 0, nv * LANES * sizeof(T));                                      \
            for (p = 0; p < k; p += 4) {                                                 \
                const int np = k - p < 4 ? (int)(k - p) : 4;                             \
                const T* c0 = M + p * csM + i;                                           \
                const VEC x0 = _mm256_set1_##SUF(x[p * incx]);                           \
                const VEC x1 = np > 1 ? _mm256_set1_##SUF(x[(p + 1) * incx]) : x0;       \
                const VEC x2 = np > 2 ? _mm256_set1_##SUF(x[(p + 2) * incx]) : x0;       \
                const VEC x3 = np > 3 ? _mm256_set1_##SUF(x[(p + 3) * incx]) : x0;       \
                for (v = 0; v < nv; v++) {                                               \
                    const T* cv = c0 + v * LANES;                                        \
                    VEC a = _mm256_load_##SUF(acc + v * LANES);                          \
                    if (v < nv - 1 || rows == nv * LANES) {                              \
                        a = _mm256_fmadd_##SUF(x0, _mm256_loadu_##SUF(cv), a);           \
                        if (np > 1) a = _mm256_fmadd_##SUF(x1, _mm256_loadu_##SUF(cv + csM), a); \
                        if (np > 2) a = _mm256_fmadd_##SUF(x2, _mm256_loadu_##SUF(cv + 2 * csM), a); \
                        if (np > 3) a = _mm256_fmadd_##SUF(x3, _mm256_loadu_##SUF(cv + 3 * csM), a); \
                    } else {                                                             \
                        a = _mm256_fmadd_##SUF(x0, MASKLOAD(cv, last), a);               \
                        if (np > 1) a = _mm256_fmadd_##SUF(x1, MASKLOAD(cv + csM, last), a); \
                        if (np > 2) a = _mm256_fmadd_##SUF(x2, MASKLOAD(cv + 2 * csM, last), a); \
                        if (np > 3) a = _mm256_fmadd_##SUF(x3, MASKLOAD(cv + 3 * csM, last), a); \
                    }                                                                    \
                    _mm256_store_##SUF(acc + v * LANES, a);                              \
                }                                                                        \
            }                                                                            \
            for (l = 0; l < rows; l++) {                                                 \
                T* yp = y + (i + l) * incy;                                              \
                *yp = beta == 0 ? alpha * acc[l] : alpha * acc[l] + beta * *yp;          \
            }                                                                            \
        }                                                                                \
        return 1;                                                                        \
    }                                                                                    \
    return 0;

STRIDED_AVX2
static int strided_sgemv_avx2(const float* M, int64_t rsM, int64_t csM, const float* x,
                              int64_t incx, float* y, int64_t incy, int64_t k, float alpha,
                              float beta, int64_t i0, int64_t i1)
{
    STRIDED_GEMV_BODY(float, __m256, ps, 8, _mm256_maskload_ps)
}

STRIDED_AVX2
static int strided_dgemv_avx2(const double* M, int64_t rsM, int64_t csM, const double* x,
                              int64_t incx, double* y, int64_t incy, int64_t k, double alpha,
                              double beta, int64_t i0, int64_t i1)
{
    STRIDED_GEMV_BODY(double, __m256d, pd, 4, _mm256_maskload_pd)
}
#else
static int strided_sgemv_avx2(const float* M, int64_t rsM, int64_t csM, const float* x,
                              int64_t incx, float* y, int64_t incy, int64_t k, float alpha,
                              float beta, int64_t i0, int64_t i1)
{ (void)M; (void)rsM; (void)csM; (void)x; (void)incx; (void)y; (void)incy; (void)k;
  (void)alpha; (void)beta; (void)i0; (void)i1; return 0; }
static int strided_dgemv_avx2(const double* M, int64_t rsM, int64_t csM, const double* x,
                              int64_t incx, double* y, int64_t incy, int64_t k, double alpha,
                              double beta, int64_t i0, int64_t i1)
{ (void)M; (void)rsM; (void)csM; (void)x; (void)incx; (void)y; (void)incy; (void)k;
  (void)alpha; (void)beta; (void)i0; (void)i1; return 0; }
#endif

/* ---- packing A ---------------------------------------------------------------------
 *
 * NOTE [ Packing A ]
 * dst receives A[0:mc, 0:kc] (src at its element (0, 0)) as MR-tall slivers: sliver s at
 * dst + s*MR*kc, its column p at [p*MR, p*MR + MR), rows past mc zero.  Column-major A
 * (rs == 1: A is a transpose) copies MR contiguous elements per column (the AVX2 and wide
 * variants 4 columns at a time across all slivers, see strided_spack_a_cols_avx2 and
 * strided_spack_a_cols_wide); row-major A (cs == 1, the usual case) is an MR x kc
 * transpose, done 8 (float) / 4 (double) columns at a time in registers by the AVX2 and
 * wide variants (strided_spack_a_sliver_avx2, strided_spack_a_sliver_wide).
 */
#define STRIDED_PACK_A_GENERIC(T, MR_)                                                   \
    do {                                                                                 \
        int64_t i0_, p_, r_;                                                             \
        for (i0_ = 0; i0_ < mc; i0_ += MR_) {                                            \
            int64_t rows_ = mc - i0_ < MR_ ? mc - i0_ : MR_;                             \
            const T* a_ = src + i0_ * rs;                                                \
            T* d_ = dst + i0_ * kc;                                                      \
            if (rows_ == MR_ && rs == 1) {                                               \
                for (p_ = 0; p_ < kc; p_++)                                              \
                    for (r_ = 0; r_ < MR_; r_++) d_[p_ * MR_ + r_] = a_[p_ * cs + r_];   \
            } else if (rows_ == MR_ && cs == 1) {                                        \
                for (p_ = 0; p_ < kc; p_++)                                              \
                    for (r_ = 0; r_ < MR_; r_++) d_[p_ * MR_ + r_] = a_[r_ * rs + p_];   \
            } else {                                                                     \
                for (p_ = 0; p_ < kc; p_++) {                                            \
                    for (r_ = 0; r_ < rows_; r_++) d_[p_ * MR_ + r_] = a_[r_ * rs + p_ * cs]; \
                    for (; r_ < MR_; r_++) d_[p_ * MR_ + r_] = 0;                        \
                }                                                                        \
            }                                                                            \
        }                                                                                \
    } while (0)

static void strided_spack_a_ref(float* dst, const float* src, int64_t rs, int64_t cs,
                                int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_GENERIC(float, STRIDED_SGEMM_MR);
}

static void strided_dpack_a_ref(double* dst, const double* src, int64_t rs, int64_t cs,
                                int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_GENERIC(double, STRIDED_DGEMM_MR);
}

#if STRIDED_HAVE_X86_KERNELS
/* Column-major A (rs == 1, A is a transpose): each column of a full sliver is 6
   contiguous elements, copied with one 16-byte and one 8-byte (float) / one 32-byte and one
   16-byte (double) move -- never reading past the sliver's last row.  Four columns at a
   time for every sliver, so the few cache lines of those columns stay in L1 while the
   slivers go by: column by column, sliver by sliver, A's columns lie a row of A apart
   (1 KiB for n = 256), fall into a handful of L1 sets and were fetched again for each
   sliver (2.1 cycles an element for n = 1024; 0.65 now). */
#define STRIDED_PACK_A_COLS_PB 4

STRIDED_AVX2
static void strided_spack_a_cols_avx2(float* dst, const float* src, int64_t cs, int64_t mc,
                                      int64_t kc)
{
    const int64_t mfull = mc / 6 * 6;
    int64_t p0, i0, p;
    for (p0 = 0; p0 < kc; p0 += STRIDED_PACK_A_COLS_PB) {
        const int64_t p1 = p0 + STRIDED_PACK_A_COLS_PB < kc ? p0 + STRIDED_PACK_A_COLS_PB : kc;
        for (i0 = 0; i0 < mfull; i0 += 6) {
            const float* a = src + i0 + p0 * cs;
            float* d = dst + i0 * kc + p0 * 6;
            for (p = p0; p < p1; p++, a += cs, d += 6) {
                _mm_storeu_ps(d, _mm_loadu_ps(a));
                _mm_storel_epi64((__m128i*)(d + 4), _mm_loadl_epi64((const __m128i*)(a + 4)));
            }
        }
    }
    if (mfull < mc)
        strided_spack_a_ref(dst + mfull * kc, src + mfull, 1, cs, mc - mfull, kc);
}

STRIDED_AVX2
static void strided_dpack_a_cols_avx2(double* dst, const double* src, int64_t cs, int64_t mc,
                                      int64_t kc)
{
    const int64_t mfull = mc / 6 * 6;
    int64_t p0, i0, p;
    for (p0 = 0; p0 < kc; p0 += STRIDED_PACK_A_COLS_PB) {
        const int64_t p1 = p0 + STRIDED_PACK_A_COLS_PB < kc ? p0 + STRIDED_PACK_A_COLS_PB : kc;
        for (i0 = 0; i0 < mfull; i0 += 6) {
            const double* a = src + i0 + p0 * cs;
            double* d = dst + i0 * kc + p0 * 6;
            for (p = p0; p < p1; p++, a += cs, d += 6) {
                _mm256_storeu_pd(d, _mm256_loadu_pd(a));
                _mm_storeu_pd(d + 4, _mm_loadu_pd(a + 4));
            }
        }
    }
    if (mfull < mc)
        strided_dpack_a_ref(dst + mfull * kc, src + mfull, 1, cs, mc - mfull, kc);
}

/* One full MR = 6 sliver of row-major A, its rows at rows[0..5] (column stride 1): an
   MR x kc transpose, 8 columns at a time in registers. */
STRIDED_AVX2
static void strided_spack_a_sliver_avx2(float* d, const float* const* rows, int64_t kc)
{
    const float *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4],
                *a5 = rows[5];
    int64_t p;
    {
        for (p = 0; p + 8 <= kc; p += 8) {
            /* rows 0..5 of 8 columns -> 8 columns of 6 (two zero rows fill the transpose) */
            __m256 r0 = _mm256_loadu_ps(a0 + p), r1 = _mm256_loadu_ps(a1 + p);
            __m256 r2 = _mm256_loadu_ps(a2 + p), r3 = _mm256_loadu_ps(a3 + p);
            __m256 r4 = _mm256_loadu_ps(a4 + p), r5 = _mm256_loadu_ps(a5 + p);
            __m256 z = _mm256_setzero_ps();
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, z, 0x44), u5 = _mm256_shuffle_ps(t4, z, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, z, 0x44), u7 = _mm256_shuffle_ps(t5, z, 0xEE);
            float* o = d + p * 6;
            __m256 c7 = _mm256_permute2f128_ps(u3, u7, 0x31);
            /* each 8-wide store spills 2 lanes into the next column, which the next
               store overwrites; the last column is stored 4 + 2 wide */
            _mm256_storeu_ps(o + 0, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(o + 6, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(o + 12, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(o + 18, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(o + 30, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(o + 36, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm_storeu_ps(o + 42, _mm256_castps256_ps128(c7));
            _mm_storel_pi((__m64*)(o + 46), _mm256_extractf128_ps(c7, 1));
        }
        for (; p < kc; p++) {
            d[p * 6 + 0] = a0[p]; d[p * 6 + 1] = a1[p]; d[p * 6 + 2] = a2[p];
            d[p * 6 + 3] = a3[p]; d[p * 6 + 4] = a4[p]; d[p * 6 + 5] = a5[p];
        }
    }
}

STRIDED_AVX2
static void strided_spack_a_avx2(float* dst, const float* src, int64_t rs, int64_t cs,
                                 int64_t mc, int64_t kc)
{
    int64_t i0, r;
    if (rs == 1 && cs != 1) {
        strided_spack_a_cols_avx2(dst, src, cs, mc, kc);
        return;
    }
    if (cs != 1 || rs == 1) {
        strided_spack_a_ref(dst, src, rs, cs, mc, kc);
        return;
    }
    for (i0 = 0; i0 + 6 <= mc; i0 += 6) {
        const float* rows[6];
        for (r = 0; r < 6; r++) rows[r] = src + (i0 + r) * rs;
        strided_spack_a_sliver_avx2(dst + i0 * kc, rows, kc);
    }
    if (i0 < mc)
        strided_spack_a_ref(dst + i0 * kc, src + i0 * rs, rs, cs, mc - i0, kc);
}

/* strided_spack_a_sliver_avx2 for double: 4 columns at a time. */
STRIDED_AVX2
static void strided_dpack_a_sliver_avx2(double* d, const double* const* rows, int64_t kc)
{
    const double *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4],
                 *a5 = rows[5];
    int64_t p;
    {
        for (p = 0; p + 4 <= kc; p += 4) {
            __m256d r0 = _mm256_loadu_pd(a0 + p), r1 = _mm256_loadu_pd(a1 + p);
            __m256d r2 = _mm256_loadu_pd(a2 + p), r3 = _mm256_loadu_pd(a3 + p);
            __m256d r4 = _mm256_loadu_pd(a4 + p), r5 = _mm256_loadu_pd(a5 + p);
            __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
            __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
            __m256d t4 = _mm256_unpacklo_pd(r4, r5), t5 = _mm256_unpackhi_pd(r4, r5);
            double* o = d + p * 6;
            _mm256_storeu_pd(o + 0, _mm256_permute2f128_pd(t0, t2, 0x20));
            _mm_storeu_pd(o + 4, _mm256_castpd256_pd128(t4));
            _mm256_storeu_pd(o + 6, _mm256_permute2f128_pd(t1, t3, 0x20));
            _mm_storeu_pd(o + 10, _mm256_castpd256_pd128(t5));
            _mm256_storeu_pd(o + 12, _mm256_permute2f128_pd(t0, t2, 0x31));
            _mm_storeu_pd(o + 16, _mm256_extractf128_pd(t4, 1));
            _mm256_storeu_pd(o + 18, _mm256_permute2f128_pd(t1, t3, 0x31));
            _mm_storeu_pd(o + 22, _mm256_extractf128_pd(t5, 1));
        }
        for (; p < kc; p++) {
            d[p * 6 + 0] = a0[p]; d[p * 6 + 1] = a1[p]; d[p * 6 + 2] = a2[p];
            d[p * 6 + 3] = a3[p]; d[p * 6 + 4] = a4[p]; d[p * 6 + 5] = a5[p];
        }
    }
}

STRIDED_AVX2
static void strided_dpack_a_avx2(double* dst, const double* src, int64_t rs, int64_t cs,
                                 int64_t mc, int64_t kc)
{
    int64_t i0, r;
    if (rs == 1 && cs != 1) {
        strided_dpack_a_cols_avx2(dst, src, cs, mc, kc);
        return;
    }
    if (cs != 1 || rs == 1) {
        strided_dpack_a_ref(dst, src, rs, cs, mc, kc);
        return;
    }
    for (i0 = 0; i0 + 6 <= mc; i0 += 6) {
        const double* rows[6];
        for (r = 0; r < 6; r++) rows[r] = src + (i0 + r) * rs;
        strided_dpack_a_sliver_avx2(dst + i0 * kc, rows, kc);
    }
    if (i0 < mc)
        strided_dpack_a_ref(dst + i0 * kc, src + i0 * rs, rs, cs, mc - i0, kc);
}

#endif

/* NOTE [ Packing A from row offsets ]
 * dst receives A[0:mc, 0:kc] as in NOTE [ Packing A ], where row i of A is a contiguous run
 * starting at src + aoff[i] -- the row offsets of an implicit GEMM's A (the weight gradient
 * of a convolution: row (c, r, s) of col over the padded image, NOTE [ Convolution over
 * the padded image ] in conv_paths/offset.pxi).  Full slivers go through the row-major
 * transpose above. */
/* SLIVER(d, rows, kc): packs one full sliver and is 1, or is 0 (not done) */
#define STRIDED_NO_SLIVER(d, rows, kc) 0
#define STRIDED_PACK_A_OFF(T, MR_, SLIVER)                                              \
    do {                                                                                 \
        int64_t i0, p, r;                                                                \
        for (i0 = 0; i0 < mc; i0 += MR_) {                                               \
            const int64_t rows = mc - i0 < MR_ ? mc - i0 : MR_;                          \
            const T* ptr[MR_];                                                           \
            T* d = dst + i0 * kc;                                                        \
            for (r = 0; r < rows; r++) ptr[r] = src + aoff[i0 + r];                      \
            if (rows == MR_ && SLIVER(d, ptr, kc)) continue;                             \
            for (p = 0; p < kc; p++) {                                                   \
                for (r = 0; r < rows; r++) d[p * MR_ + r] = ptr[r][p];                   \
                for (; r < MR_; r++) d[p * MR_ + r] = 0;                                 \
            }                                                                            \
        }                                                                                \
    } while (0)

static void strided_spack_a_off_ref(float* dst, const float* src, const int64_t* aoff,
                                    int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_OFF(float, STRIDED_SGEMM_MR, STRIDED_NO_SLIVER);
}

static void strided_dpack_a_off_ref(double* dst, const double* src, const int64_t* aoff,
                                    int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_OFF(double, STRIDED_DGEMM_MR, STRIDED_NO_SLIVER);
}

#if STRIDED_HAVE_X86_KERNELS
STRIDED_AVX2
static void strided_spack_a_off_avx2(float* dst, const float* src, const int64_t* aoff,
                                     int64_t mc, int64_t kc)
{
    #define STRIDED_S_SLIVER(d, rows, kc) (strided_spack_a_sliver_avx2(d, rows, kc), 1)
    STRIDED_PACK_A_OFF(float, STRIDED_SGEMM_MR, STRIDED_S_SLIVER);
}

STRIDED_AVX2
static void strided_dpack_a_off_avx2(double* dst, const double* src, const int64_t* aoff,
                                     int64_t mc, int64_t kc)
{
    #define STRIDED_D_SLIVER(d, rows, kc) (strided_dpack_a_sliver_avx2(d, rows, kc), 1)
    STRIDED_PACK_A_OFF(double, STRIDED_DGEMM_MR, STRIDED_D_SLIVER);
}
#endif

/* ---- packing B ---------------------------------------------------------------------
 *
 * NOTE [ Packing B ]
 * dst receives B[0:kc, 0:nc] (src points at its element (0, 0), strides rs / cs in
 * elements) as NR-wide slivers: sliver s at dst + s*NR*kc, its row p at [p*NR, p*NR + NR),
 * columns past nc zero.  Two layouts get a loop order of their own:
 *   - row-major B (cs == 1): each row of the panel is read once, left to right, and dealt
 *     out to the slivers (the AVX2 variant 8 rows at a time, so a sliver receives 8 rows in
 *     a row).  Reading a whole sliver at a time instead touches kc rows that lie a whole
 *     row of B apart -- a page each when B is 4096 floats wide -- and runs into TLB misses
 *     on every row;
 *   - column-major B (rs == 1, e.g. a linear layer's weight, used transposed): each column
 *     is contiguous, so 8 (float) / 4 (double) columns are read 8 / 4 rows at a time and
 *     transposed in registers (AVX) or element by element (reference).
 * Anything else (both strides non-unit, including 0) is gathered element by element.
 */
#define STRIDED_PACK_B_GENERIC(T, NR_)                                                   \
    do {                                                                                 \
        int64_t s_, p_, j_, nfull_ = nc / NR_, rem_ = nc % NR_;                          \
        if (cs == 1) {                                                                   \
            for (p_ = 0; p_ < kc; p_++) {                                                \
                const T* row_ = src + p_ * rs;                                           \
                T* d_ = dst + p_ * NR_;                                                  \
                for (s_ = 0; s_ < nfull_; s_++)                                          \
                    memcpy(d_ + s_ * NR_ * kc, row_ + s_ * NR_, NR_ * sizeof(T));        \
                if (rem_) {                                                              \
                    d_ += nfull_ * NR_ * kc;                                             \
                    row_ += nfull_ * NR_;                                                \
                    for (j_ = 0; j_ < rem_; j_++) d_[j_] = row_[j_];                      \
                    for (; j_ < NR_; j_++) d_[j_] = 0;                                   \
                }                                                                        \
            }                                                                            \
            return;                                                                      \
        }                                                                                \
        for (s_ = 0; s_ <= nfull_; s_++) {                                               \
            int64_t cols_ = s_ < nfull_ ? NR_ : rem_;                                    \
            const T* b_ = src + s_ * NR_ * cs;                                           \
            T* d_ = dst + s_ * NR_ * kc;                                                 \
            if (cols_ == 0) break;                                                       \
            if (cols_ < NR_) {                                                           \
                for (p_ = 0; p_ < kc; p_++)                                              \
                    for (j_ = cols_; j_ < NR_; j_++) d_[p_ * NR_ + j_] = 0;              \
            }                                                                            \
            if (rs == 1) {                                                               \
                for (j_ = 0; j_ < cols_; j_++)                                           \
                    for (p_ = 0; p_ < kc; p_++) d_[p_ * NR_ + j_] = b_[j_ * cs + p_];    \
            } else {                                                                     \
                for (p_ = 0; p_ < kc; p_++)                                              \
                    for (j_ = 0; j_ < cols_; j_++)                                       \
                        d_[p_ * NR_ + j_] = b_[p_ * rs + j_ * cs];                       \
            }                                                                            \
        }                                                                                \
    } while (0)

static void strided_spack_b_ref(float* dst, const float* src, int64_t rs, int64_t cs,
                                int64_t kc, int64_t nc)
{
    STRIDED_PACK_B_GENERIC(float, STRIDED_SGEMM_NR);
}

static void strided_dpack_b_ref(double* dst, const double* src, int64_t rs, int64_t cs,
                                int64_t kc, int64_t nc)
{
    STRIDED_PACK_B_GENERIC(double, STRIDED_DGEMM_NR);
}

#if STRIDED_HAVE_X86_KERNELS
/* r[0..7], 8 rows of 8 floats, transposed in registers: r[c] becomes column c */
STRIDED_AVX2 __attribute__((always_inline))
static inline void strided_s_transpose8_regs(__m256* r)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* 8 columns x 8 rows of a column-major float B (column j at b + j*cs) -> rows of dst
   (row p at d + p*ds, 32-byte aligned), transposed in registers */
STRIDED_AVX2
static inline void strided_s_transpose8(float* d, const float* b, int64_t cs, int64_t ds)
{
    __m256 r[8];
    int q;
    for (q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(b + q * cs);
    strided_s_transpose8_regs(r);
    for (q = 0; q < 8; q++) _mm256_store_ps(d + q * ds, r[q]);
}

/* Row-major B (cs == 1): 8 rows at a time are dealt out to the slivers with 32-byte moves
   (aligned stores: sliver rows are 64 bytes into a 4 KiB-aligned buffer), so each sliver
   gets 512 contiguous bytes at a time rather than 64 bytes a sliver (16 KiB apart for
   kc = 256, the same L1 set) per row; the ragged last sliver is read under a mask, whose
   zeroed lanes are its padding.  (Plain C, built without AVX, took 0.5-0.65 cycle an
   element; this 0.33-0.5.) */
#define STRIDED_PACK_B_ROWS_PB 8

#define STRIDED_PACK_B_ROWS_AVX2(T, SUF, LANES)                                          \
    const int64_t nfull = nc / (2 * LANES), rem = nc % (2 * LANES);                      \
    const __m256i m0 = STRIDED_MASK_##SUF(rem), m1 = STRIDED_MASK_##SUF(rem - LANES);    \
    int64_t p0, p, s;                                                                    \
    for (p0 = 0; p0 < kc; p0 += STRIDED_PACK_B_ROWS_PB) {                                \
        const int64_t p1 = p0 + STRIDED_PACK_B_ROWS_PB < kc ? p0 + STRIDED_PACK_B_ROWS_PB : kc; \
        for (s = 0; s < nfull; s++) {                                                    \
            const T* row = src + p0 * rs + s * 2 * LANES;                                \
            T* d = dst + s * 2 * LANES * kc + p0 * 2 * LANES;                            \
            for (p = p0; p < p1; p++, row += rs, d += 2 * LANES) {                       \
                _mm256_store_##SUF(d, _mm256_loadu_##SUF(row));                          \
                _mm256_store_##SUF(d + LANES, _mm256_loadu_##SUF(row + LANES));          \
            }                                                                            \
        }                                                                                \
        if (rem) {                                                                       \
            const T* row = src + p0 * rs + nfull * 2 * LANES;                            \
            T* d = dst + nfull * 2 * LANES * kc + p0 * 2 * LANES;                        \
            for (p = p0; p < p1; p++, row += rs, d += 2 * LANES) {                       \
                _mm256_store_##SUF(d, _mm256_maskload_##SUF(row, m0));                   \
                _mm256_store_##SUF(d + LANES, rem > LANES ?                              \
                                   _mm256_maskload_##SUF(row + LANES, m1) :              \
                                   _mm256_setzero_##SUF());                              \
            }                                                                            \
        }                                                                                \
    }

STRIDED_AVX2
static void strided_spack_b_rows_avx2(float* dst, const float* src, int64_t rs, int64_t kc,
                                      int64_t nc)
{
    STRIDED_PACK_B_ROWS_AVX2(float, ps, 8)
}

STRIDED_AVX2
static void strided_dpack_b_rows_avx2(double* dst, const double* src, int64_t rs, int64_t kc,
                                      int64_t nc)
{
    STRIDED_PACK_B_ROWS_AVX2(double, pd, 4)
}

STRIDED_AVX2
static void strided_spack_b_avx2(float* dst, const float* src, int64_t rs, int64_t cs,
                                 int64_t kc, int64_t nc)
{
    int64_t s, p, j, nfull = nc / 16;
    if (cs == 1) {
        strided_spack_b_rows_avx2(dst, src, rs, kc, nc);
        return;
    }
    if (rs != 1 || nfull == 0) {
        strided_spack_b_ref(dst, src, rs, cs, kc, nc);
        return;
    }
    for (s = 0; s < nfull; s++) {
        const float* b = src + s * 16 * cs;
        float* d = dst + s * 16 * kc;
        for (p = 0; p + 8 <= kc; p += 8) {
            strided_s_transpose8(d + p * 16, b + p, cs, 16);
            strided_s_transpose8(d + p * 16 + 8, b + 8 * cs + p, cs, 16);
        }
        for (; p < kc; p++)
            for (j = 0; j < 16; j++) d[p * 16 + j] = b[j * cs + p];
    }
    if (nc % 16)        /* the ragged last sliver */
        strided_spack_b_ref(dst + nfull * 16 * kc, src + nfull * 16 * cs, rs, cs, kc, nc % 16);
}

/* r[0..3], 4 rows of 4 doubles, transposed in registers: r[c] becomes column c */
STRIDED_AVX2 __attribute__((always_inline))
static inline void strided_d_transpose4_regs(__m256d* r)
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* 4 columns x 4 rows of a column-major double B -> rows of dst (row p at d + p*ds) */
STRIDED_AVX2
static inline void strided_d_transpose4(double* d, const double* b, int64_t cs, int64_t ds)
{
    __m256d r[4];
    int q;
    for (q = 0; q < 4; q++) r[q] = _mm256_loadu_pd(b + q * cs);
    strided_d_transpose4_regs(r);
    for (q = 0; q < 4; q++) _mm256_store_pd(d + q * ds, r[q]);
}

STRIDED_AVX2
static void strided_dpack_b_avx2(double* dst, const double* src, int64_t rs, int64_t cs,
                                 int64_t kc, int64_t nc)
{
    int64_t s, p, j, nfull = nc / 8;
    if (cs == 1) {
        strided_dpack_b_rows_avx2(dst, src, rs, kc, nc);
        return;
    }
    if (rs != 1 || nfull == 0) {
        strided_dpack_b_ref(dst, src, rs, cs, kc, nc);
        return;
    }
    for (s = 0; s < nfull; s++) {
        const double* b = src + s * 8 * cs;
        double* d = dst + s * 8 * kc;
        for (p = 0; p + 4 <= kc; p += 4) {
            strided_d_transpose4(d + p * 8, b + p, cs, 8);
            strided_d_transpose4(d + p * 8 + 4, b + 4 * cs + p, cs, 8);
        }
        for (; p < kc; p++)
            for (j = 0; j < 8; j++) d[p * 8 + j] = b[j * cs + p];
    }
    if (nc % 8)
        strided_dpack_b_ref(dst + nfull * 8 * kc, src + nfull * 8 * cs, rs, cs, kc, nc % 8);
}
#endif

#include "gemm_kernel_wide.h"

/* ---- kernel tables -----------------------------------------------------------------
 *
 * NOTE [ GEMM kernel tables ]
 * Everything the five loops need from an instruction set, in one struct per set (BLIS's
 * context): the register tile MR x NR, the block sizes MC / KC / NC, the micro-kernels
 * (packed, offset-B, direct), the packers (A, A from row offsets, B) and the gemv kernels,
 * per dtype.  The kernels know nothing of dispatch; kernels/gemm.pyx picks one table at
 * import from the CPU's instruction-set level (NOTE [ Instruction sets ] in core/cpu.pyx)
 * and reads every size and kernel through it -- and so does every user of the GEMM: the
 * convolution (kernels/conv.pyx) packs B in NR-wide slivers and sizes its offset-B
 * buffers by the table in use (gemm_nr, gemm_offb_w, gemm_offb_reach in gemm.pxd).  A
 * NULL direct kernel means the table has no unpacked path; a NULL gemv, the portable
 * loops.  offb_w and offb_reach describe the offset-B kernels (NOTE [ Offset-B
 * micro-kernels ]): the columns of each of a tile's two B vectors (NR/2 in every table),
 * and how many elements past a B row's last used column they may read.
 *   reference        plain C, 6 x 16 / 6 x 8                          any CPU
 *   avx2             AVX2 + FMA, 6 x 16 / 6 x 8 (12 ymm accumulators)  level avx2
 *   avx512           AVX-512, 12 x 32 / 12 x 16 (NOTE [ Wide micro-kernels ])  level avx512
 *   avx512_on_avx2   avx512's tile and code on ymm pairs               level avx2 (tests)
 * Block sizes (NOTE [ GEMM block sizes ] in gemm.pyx) are the table's defaults. */
typedef void (*strided_spack_a_t)(float* dst, const float* src, int64_t rs, int64_t cs,
                                  int64_t mc, int64_t kc);
typedef void (*strided_dpack_a_t)(double* dst, const double* src, int64_t rs, int64_t cs,
                                  int64_t mc, int64_t kc);
typedef void (*strided_spack_a_off_t)(float* dst, const float* src, const int64_t* aoff,
                                      int64_t mc, int64_t kc);
typedef void (*strided_dpack_a_off_t)(double* dst, const double* src, const int64_t* aoff,
                                      int64_t mc, int64_t kc);
typedef void (*strided_spack_b_t)(float* dst, const float* src, int64_t rs, int64_t cs,
                                  int64_t kc, int64_t nc);
typedef void (*strided_dpack_b_t)(double* dst, const double* src, int64_t rs, int64_t cs,
                                  int64_t kc, int64_t nc);
typedef void (*strided_sgemm_direct_t)(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                                       const float* b, int64_t rs_b, float* c, int64_t rs_c,
                                       int64_t cs_c, int64_t mr, int64_t nr, float alpha,
                                       float beta);
typedef void (*strided_dgemm_direct_t)(int64_t k, const double* a, int64_t rs_a, int64_t cs_a,
                                       const double* b, int64_t rs_b, double* c, int64_t rs_c,
                                       int64_t cs_c, int64_t mr, int64_t nr, double alpha,
                                       double beta);
typedef int (*strided_sgemv_t)(const float* M, int64_t rsM, int64_t csM, const float* x,
                               int64_t incx, float* y, int64_t incy, int64_t k, float alpha,
                               float beta, int64_t i0, int64_t i1);
typedef int (*strided_dgemv_t)(const double* M, int64_t rsM, int64_t csM, const double* x,
                               int64_t incx, double* y, int64_t incy, int64_t k, double alpha,
                               double beta, int64_t i0, int64_t i1);

typedef struct {
    const char* name;
    int isa;                                /* instruction-set level it needs (cpu.pxd) */
    int64_t mr[2], nr[2];                   /* [0]: float32, [1]: float64 */
    int64_t mc[2], kc[2], nc[2];
    int64_t offb_w[2], offb_reach[2];       /* NOTE [ Offset-B micro-kernels ] */
    strided_sgemm_ukr_t sukr;
    strided_dgemm_ukr_t dukr;
    strided_sgemm_offb_ukr_t soffb;
    strided_dgemm_offb_ukr_t doffb;
    strided_sgemm_direct_t sdirect;
    strided_dgemm_direct_t ddirect;
    strided_spack_a_t spack_a;
    strided_dpack_a_t dpack_a;
    strided_spack_a_off_t spack_a_off;
    strided_dpack_a_off_t dpack_a_off;
    strided_spack_b_t spack_b;
    strided_dpack_b_t dpack_b;
    strided_sgemv_t sgemv;
    strided_dgemv_t dgemv;
} strided_gemm_kernels;

#define STRIDED_GEMM_TABLES 4

static const strided_gemm_kernels strided_gemm_tables[STRIDED_GEMM_TABLES] = {
    {"reference", 0, {STRIDED_SGEMM_MR, STRIDED_DGEMM_MR}, {STRIDED_SGEMM_NR, STRIDED_DGEMM_NR},
     {144, 72}, {256, 256}, {4080, 4080},
     {STRIDED_SGEMM_NR / 2, STRIDED_DGEMM_NR / 2}, {0, 0},
     strided_sgemm_ukr_ref, strided_dgemm_ukr_ref, strided_sgemm_offb_ref, strided_dgemm_offb_ref,
     NULL, NULL, strided_spack_a_ref, strided_dpack_a_ref, strided_spack_a_off_ref,
     strided_dpack_a_off_ref, strided_spack_b_ref, strided_dpack_b_ref, NULL, NULL},
#if STRIDED_HAVE_X86_KERNELS
    {"avx2", 1, {STRIDED_SGEMM_MR, STRIDED_DGEMM_MR}, {STRIDED_SGEMM_NR, STRIDED_DGEMM_NR},
     {144, 72}, {256, 256}, {4080, 4080},
     {8, 4}, {7, 3},                        /* one ymm of floats / doubles */
     strided_sgemm_ukr_avx2, strided_dgemm_ukr_avx2, strided_sgemm_offb_avx2,
     strided_dgemm_offb_avx2, strided_sgemm_direct_avx2, strided_dgemm_direct_avx2,
     strided_spack_a_avx2, strided_dpack_a_avx2, strided_spack_a_off_avx2,
     strided_dpack_a_off_avx2, strided_spack_b_avx2, strided_dpack_b_avx2,
     strided_sgemv_avx2, strided_dgemv_avx2},
#else
    {NULL},
#endif
#if STRIDED_HAVE_WIDE_KERNELS
    {"avx512", 2, {STRIDED_WIDE_SMR, STRIDED_WIDE_DMR}, {STRIDED_WIDE_SNR, STRIDED_WIDE_DNR},
     {STRIDED_WIDE_SMC, STRIDED_WIDE_DMC}, {STRIDED_WIDE_SKC, STRIDED_WIDE_DKC},
     {STRIDED_WIDE_SNC, STRIDED_WIDE_DNC},
     {STRIDED_WIDE_SLANES, STRIDED_WIDE_DLANES}, {STRIDED_WIDE_SLANES - 1, STRIDED_WIDE_DLANES - 1},
     strided_sgemm_ukr_avx512, strided_dgemm_ukr_avx512, strided_sgemm_offb_avx512,
     strided_dgemm_offb_avx512, strided_sgemm_direct_avx512, strided_dgemm_direct_avx512,
     strided_spack_a_wide, strided_dpack_a_wide, strided_spack_a_off_wide,
     strided_dpack_a_off_wide, strided_spack_b_wide, strided_dpack_b_wide,
     strided_sgemv_avx2, strided_dgemv_avx2},
    {"avx512_on_avx2", 1, {STRIDED_WIDE_SMR, STRIDED_WIDE_DMR},
     {STRIDED_WIDE_SNR, STRIDED_WIDE_DNR},
     {STRIDED_WIDE_SMC, STRIDED_WIDE_DMC}, {STRIDED_WIDE_SKC, STRIDED_WIDE_DKC},
     {STRIDED_WIDE_SNC, STRIDED_WIDE_DNC},
     {STRIDED_WIDE_SLANES, STRIDED_WIDE_DLANES}, {STRIDED_WIDE_SLANES - 1, STRIDED_WIDE_DLANES - 1},
     strided_sgemm_ukr_avx512p, strided_dgemm_ukr_avx512p, strided_sgemm_offb_avx512p,
     strided_dgemm_offb_avx512p, strided_sgemm_direct_avx512p, strided_dgemm_direct_avx512p,
     strided_spack_a_wide, strided_dpack_a_wide, strided_spack_a_off_wide,
     strided_dpack_a_off_wide, strided_spack_b_wide, strided_dpack_b_wide,
     strided_sgemv_avx2, strided_dgemv_avx2},
#else
    {NULL}, {NULL},
#endif
};

/* ---- packing buffers ---------------------------------------------------------------
 *
 * NOTE [ GEMM packing buffers ]
 * Each thread of a GEMM needs a packed-A block (MC x KC) and a packed-B panel (KC x NC).
 * They are allocated once and reused: a fixed pool of slots, each claimed with an atomic
 * test-and-set for the duration of one thread's share of one GEMM and grown when a call
 * needs more.  Claiming per call (rather than one buffer per OpenMP thread number) keeps
 * concurrent GEMMs from different Python threads (the GIL is released) off each other's
 * buffers.  When every slot is busy, a call falls back to buffers of its own, freed after.
 */
#define STRIDED_GEMM_SLOTS 64

typedef struct {
    char* a;
    size_t a_cap;
    char* b;
    size_t b_cap;
    int slot;           /* index in the pool, or -1 for a one-off set */
} strided_gemm_bufs;

static strided_gemm_bufs strided_gemm_pool[STRIDED_GEMM_SLOTS];
static char strided_gemm_busy[STRIDED_GEMM_SLOTS];

static void* strided_gemm_alloc(size_t bytes)
{
    /* 4 KiB-aligned; large panels 2 MiB-aligned and advised onto transparent huge pages
       (a KC x NC panel spans hundreds of 4 KiB pages: TLB misses otherwise) */
    size_t align = bytes >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 4096;
    size_t total = (bytes + align - 1) & ~(align - 1);
    void* p = NULL;
    if (total == 0) total = align;
    if (posix_memalign(&p, align, total) != 0) return NULL;
#if defined(MADV_HUGEPAGE)
    if (align == ((size_t)2 << 20)) madvise(p, total, MADV_HUGEPAGE);
#endif
    return p;
}

static void strided_gemm_bufs_release(strided_gemm_bufs* s)
{
    if (s == NULL) return;
    if (s->slot < 0) {
        free(s->a);
        free(s->b);
        free(s);
    } else {
        __atomic_clear(&strided_gemm_busy[s->slot], __ATOMIC_RELEASE);
    }
}

/* A set of buffers with at least a_bytes / b_bytes, or NULL when memory runs out. */
static strided_gemm_bufs* strided_gemm_bufs_acquire(size_t a_bytes, size_t b_bytes)
{
    strided_gemm_bufs* s = NULL;
    int i;
    for (i = 0; i < STRIDED_GEMM_SLOTS; i++) {
        if (!__atomic_test_and_set(&strided_gemm_busy[i], __ATOMIC_ACQUIRE)) {
            s = &strided_gemm_pool[i];
            s->slot = i;
            break;
        }
    }
    if (s == NULL) {
        s = (strided_gemm_bufs*)calloc(1, sizeof *s);
        if (s == NULL) return NULL;
        s->slot = -1;
    }
    if (s->a_cap < a_bytes) {
        free(s->a);
        s->a = (char*)strided_gemm_alloc(a_bytes);
        s->a_cap = s->a ? a_bytes : 0;
    }
    if (s->b_cap < b_bytes) {
        free(s->b);
        s->b = (char*)strided_gemm_alloc(b_bytes);
        s->b_cap = s->b ? b_bytes : 0;
    }
    if ((a_bytes && s->a == NULL) || (b_bytes && s->b == NULL)) {
        strided_gemm_bufs_release(s);
        return NULL;
    }
    return s;
}

/* Free the buffers of every idle slot (they are re-allocated on demand). */
static void strided_gemm_bufs_trim(void)
{
    int i;
    for (i = 0; i < STRIDED_GEMM_SLOTS; i++) {
        if (!__atomic_test_and_set(&strided_gemm_busy[i], __ATOMIC_ACQUIRE)) {
            free(strided_gemm_pool[i].a);
            free(strided_gemm_pool[i].b);
            strided_gemm_pool[i].a = strided_gemm_pool[i].b = NULL;
            strided_gemm_pool[i].a_cap = strided_gemm_pool[i].b_cap = 0;
            __atomic_clear(&strided_gemm_busy[i], __ATOMIC_RELEASE);
        }
    }
}

#endif /* STRIDED_GEMM_KERNEL_H */
