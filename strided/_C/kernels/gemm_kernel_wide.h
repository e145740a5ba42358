/* The 16-lane (float) / 8-lane (double) GEMM micro-kernels: written once over a small
 * vector layer, built twice.
 *
 * NOTE [ Wide micro-kernels ]
 * The register tile is MR rows x 2 vectors: float 12 x 32, double 12 x 16 (24 accumulators,
 * two B vectors and one broadcast of A: 27 of AVX-512's 32 zmm registers).  This is
 * BLIS's skx tile (sgemm 32 x 12, dgemm 16 x 12 with its broadcast of B) transposed: strided
 * packs A in MR-tall slivers and B in NR-wide ones, and vectorizes along C's rows.  One
 * body, STRIDED_WIDE_BODY, is written against a vector layer (a type and seven operations
 * named <L>_VEC, <L>_ZERO, ...) and instantiated with two layers:
 *   - Z: AVX-512 zmm registers (__m512 / __m512d, masked loads with k registers), the
 *        kernels of the avx512 table, compiled for avx512f/dq/bw/vl by function attribute;
 *   - P: the same 16 / 8 lanes as a pair of AVX2 ymm registers, compiled for avx2 + fma: the
 *        avx512_on_avx2 table, so that the 512-bit logic (tile shape, row dispatch, masks,
 *        offsets, the stack tile) is tested on any AVX2 machine.  It spills (48 ymm
 *        accumulators in 16 registers) and is for tests only.
 * Both layers do the same FMAs in the same order, so their results are bit for bit the
 * same; and as the AVX2 kernels (NOTE [ GEMM micro-kernel contract ]), every C element is
 * acc = fma(a_p, b_p, acc) over p from 0, then alpha * acc, then fma(beta, c, acc) -- the
 * same arithmetic per element whatever the tile, so within one K block the avx2 and avx512
 * tables give the same bits too (across K blocks they differ where KC differs).
 * The body's modes D = 0 (packed), 1 (direct: A in place through any strides, row-major B
 * with its ragged last columns loaded under a mask), 2 (offset B, NOTE [ Offset-B micro-
 * kernels ]) are those of the AVX2 body in gemm_kernel.h.
 */
#ifndef STRIDED_GEMM_KERNEL_WIDE_H
#define STRIDED_GEMM_KERNEL_WIDE_H

#define STRIDED_WIDE_SMR 12
#define STRIDED_WIDE_SNR 32
#define STRIDED_WIDE_DMR 12
#define STRIDED_WIDE_DNR 16
/* lanes of one vector of the body (a zmm, or a pair of ymm): half a tile's width, and the
   width of each of the offset-B kernels' two B vectors (NOTE [ Offset-B micro-kernels ]) */
#define STRIDED_WIDE_SLANES 16
#define STRIDED_WIDE_DLANES 8
/* Block sizes (NOTE [ GEMM block sizes ] in gemm.pyx), measured on an Intel Xeon with
 * AVX-512 (48 KiB L1d, 2 MiB L2 per core) with benchmarks/bench_gemm.py --blocks, one thread,
 * CPU time: float32 MC 144..960 x KC 256..512 within 2% at n = 512 and 1024; MC >= 480 was
 * 5-15% faster at n = 2048, KC >= 384 7% faster on the fc shape (64 x 9408 x 4096).
 * float64 likewise: 240 / 384 best or within noise everywhere.  A 14-row tile (28 zmm
 * accumulators) measured the same as 12 rows, or slower.  float64 NC 1024 rather than 4096:
 * on an AMD Zen 5 (48 KiB L1d, 1 MiB L2 per core) the fc shape (64 x 9408 x 4096, its B
 * packed for only 64 rows) ran at 78-81 against 70-71 GFLOP/s, squares 512-2048 and the conv
 * shape within noise (bench_gemm.py --blocks 240/384/4096,240/384/1024 --dtypes float64
 * --repeat 9, twice each); float32 showed no such difference, and keeps 4096. */
#define STRIDED_WIDE_SMC 480
#define STRIDED_WIDE_SKC 384
#define STRIDED_WIDE_SNC 4096
#define STRIDED_WIDE_DMC 240
#define STRIDED_WIDE_DKC 384
#define STRIDED_WIDE_DNC 1024

#if STRIDED_HAVE_X86_KERNELS && (defined(__clang__) || __GNUC__ >= 8)
#define STRIDED_HAVE_WIDE_KERNELS 1

#define STRIDED_UNROLL16 _Pragma("GCC unroll 16")
/* NOTE [ Wide-kernel prefetch ]
 * The packed kernels (mode 0) prefetch the C tile's rows before the k loop, so their
 * misses (C is rarely in cache: it is read once per KC block) overlap the FMAs instead of
 * stalling the update at the end, and prefetch the B sliver STRIDED_WIDE_PF_B k-steps
 * (2 KB) ahead: the 12 x 32 float tile's KC x NR sliver is 48 KB at KC = 384, L1's size, so
 * it does not stay in L1 while the A slivers go by and is streamed from L2 (prefetches
 * never fault, so reading past the sliver's end is harmless).  On the AVX-512 Xeon both
 * made every shape tried faster (square 512-2048 and the GPT example's linear layers), and
 * B distances of 16-32 k-steps came out alike; benchmarks/bench_gemm.py gives the current
 * speeds.  No effect on results: the arithmetic is unchanged. */
#define STRIDED_WIDE_PF_B 16
#define STRIDED_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

/* ---- layer Z: AVX-512 ---- */
#define ZS_VEC __m512
#define ZS_MASK __mmask16
#define ZS_ZERO() _mm512_setzero_ps()
#define ZS_LOAD(p) _mm512_loadu_ps(p)
#define ZS_BCAST(p) _mm512_set1_ps(*(p))
#define ZS_SET1(x) _mm512_set1_ps(x)
#define ZS_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ZS_MUL(a, b) _mm512_mul_ps(a, b)
#define ZS_STORE(p, v) _mm512_storeu_ps(p, v)
#define ZS_MASKN(n) ((__mmask16)((n) >= 16 ? 0xFFFFu : (n) <= 0 ? 0u : (1u << (n)) - 1u))
#define ZS_MASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)

#define ZD_VEC __m512d
#define ZD_MASK __mmask8
#define ZD_ZERO() _mm512_setzero_pd()
#define ZD_LOAD(p) _mm512_loadu_pd(p)
#define ZD_BCAST(p) _mm512_set1_pd(*(p))
#define ZD_SET1(x) _mm512_set1_pd(x)
#define ZD_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define ZD_MUL(a, b) _mm512_mul_pd(a, b)
#define ZD_STORE(p, v) _mm512_storeu_pd(p, v)
#define ZD_MASKN(n) ((__mmask8)((n) >= 8 ? 0xFFu : (n) <= 0 ? 0u : (1u << (n)) - 1u))
#define ZD_MASKLOAD(p, m) _mm512_maskz_loadu_pd(m, p)

/* ---- layer P: the same lanes as two AVX2 registers ---- */
typedef struct { __m256 lo, hi; } strided_p16f;
typedef struct { __m256d lo, hi; } strided_p8d;
typedef struct { __m256i lo, hi; } strided_pmask;

#define STRIDED_P_OPS(V, E, SUF, H, BC)                                                  \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_zero(void) { V r; r.lo = r.hi = _mm256_setzero_##SUF(); return r; } \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_load(const E* p)                                                    \
    { V r; r.lo = _mm256_loadu_##SUF(p); r.hi = _mm256_loadu_##SUF(p + H); return r; }   \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_set1(E x) { V r; r.lo = r.hi = _mm256_set1_##SUF(x); return r; }    \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_bcast(const E* p) { V r; r.lo = r.hi = BC(p); return r; }           \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_fma(V a, V b, V c)                                                  \
    {                                                                                    \
        V r;                                                                             \
        r.lo = _mm256_fmadd_##SUF(a.lo, b.lo, c.lo);                                     \
        r.hi = _mm256_fmadd_##SUF(a.hi, b.hi, c.hi);                                     \
        return r;                                                                        \
    }                                                                                    \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_mul(V a, V b)                                                       \
    { V r; r.lo = _mm256_mul_##SUF(a.lo, b.lo); r.hi = _mm256_mul_##SUF(a.hi, b.hi); return r; } \
    STRIDED_AVX2 __attribute__((always_inline)) static inline void                       \
    strided_p##SUF##_store(E* p, V v) { _mm256_storeu_##SUF(p, v.lo); _mm256_storeu_##SUF(p + H, v.hi); } \
    STRIDED_AVX2 __attribute__((always_inline)) static inline strided_pmask              \
    strided_p##SUF##_maskn(int64_t n)                                                    \
    { strided_pmask m; m.lo = STRIDED_MASK_##SUF(n); m.hi = STRIDED_MASK_##SUF(n - H); return m; } \
    STRIDED_AVX2 __attribute__((always_inline)) static inline V                          \
    strided_p##SUF##_maskload(const E* p, strided_pmask m)                               \
    {                                                                                    \
        V r;                                                                             \
        r.lo = _mm256_maskload_##SUF(p, m.lo);                                           \
        r.hi = _mm256_maskload_##SUF(p + H, m.hi);                                       \
        return r;                                                                        \
    }

STRIDED_P_OPS(strided_p16f, float, ps, 8, _mm256_broadcast_ss)
STRIDED_P_OPS(strided_p8d, double, pd, 4, _mm256_broadcast_sd)

#define PS_VEC strided_p16f
#define PS_MASK strided_pmask
#define PS_ZERO() strided_pps_zero()
#define PS_LOAD(p) strided_pps_load(p)
#define PS_BCAST(p) strided_pps_bcast(p)
#define PS_SET1(x) strided_pps_set1(x)
#define PS_FMA(a, b, c) strided_pps_fma(a, b, c)
#define PS_MUL(a, b) strided_pps_mul(a, b)
#define PS_STORE(p, v) strided_pps_store(p, v)
#define PS_MASKN(n) strided_pps_maskn(n)
#define PS_MASKLOAD(p, m) strided_pps_maskload(p, m)

#define PD_VEC strided_p8d
#define PD_MASK strided_pmask
#define PD_ZERO() strided_ppd_zero()
#define PD_LOAD(p) strided_ppd_load(p)
#define PD_BCAST(p) strided_ppd_bcast(p)
#define PD_SET1(x) strided_ppd_set1(x)
#define PD_FMA(a, b, c) strided_ppd_fma(a, b, c)
#define PD_MUL(a, b) strided_ppd_mul(a, b)
#define PD_STORE(p, v) strided_ppd_store(p, v)
#define PD_MASKN(n) strided_ppd_maskn(n)
#define PD_MASKLOAD(p, m) strided_ppd_maskload(p, m)

/* ---- the body ------------------------------------------------------------------------
 * R (1..MR) rows and V (1, 2) vectors per row are compile-time constants (the kernel
 * switches on mr and nr, so edge tiles run fewer accumulators); MRP is the packed sliver
 * height (A column stride in modes 0 and 2), at most 14; L the layer prefix; LANES its
 * width. */
#define STRIDED_WIDE_BODY(T, L, LANES, MRP)                                              \
    L##_VEC acc[14][2];                                                                  \
    int64_t p;                                                                           \
    int i, v;                                                                            \
    STRIDED_UNROLL16 for (i = 0; i < R; i++)                                               \
        STRIDED_UNROLL16 for (v = 0; v < V; v++) acc[i][v] = L##_ZERO();                   \
    if (D == 2) {                                                                        \
        for (p = 0; p < k; p++) {                                                        \
            const T* bp = b + boff[p];                                                   \
            L##_VEC b0 = L##_LOAD(bp), b1 = b0;                                          \
            if (V > 1) b1 = L##_LOAD(bp + rs_b);                                         \
            STRIDED_UNROLL16 for (i = 0; i < R; i++) {                                     \
                L##_VEC ai = L##_BCAST(a + i);                                           \
                acc[i][0] = L##_FMA(ai, b0, acc[i][0]);                                  \
                if (V > 1) acc[i][1] = L##_FMA(ai, b1, acc[i][1]);                       \
            }                                                                            \
            a += MRP;                                                                    \
        }                                                                                \
    } else if (!D) {                                                                     \
        /* NOTE [ Wide-kernel prefetch ] */                                              \
        if (cs_c == 1)                                                                   \
            STRIDED_UNROLL16 for (i = 0; i < R; i++) {                                   \
                __builtin_prefetch(c + i * rs_c, 1, 3);                                  \
                if (V > 1) __builtin_prefetch(c + i * rs_c + LANES, 1, 3);               \
            }                                                                            \
        for (p = 0; p < k; p++) {                                                        \
            __builtin_prefetch(b + STRIDED_WIDE_PF_B * 2 * LANES, 0, 3);                 \
            __builtin_prefetch(b + STRIDED_WIDE_PF_B * 2 * LANES + LANES, 0, 3);         \
            L##_VEC b0 = L##_LOAD(b), b1 = b0;                                           \
            if (V > 1) b1 = L##_LOAD(b + LANES);                                         \
            STRIDED_UNROLL16 for (i = 0; i < R; i++) {                                     \
                L##_VEC ai = L##_BCAST(a + i);                                           \
                acc[i][0] = L##_FMA(ai, b0, acc[i][0]);                                  \
                if (V > 1) acc[i][1] = L##_FMA(ai, b1, acc[i][1]);                       \
            }                                                                            \
            a += MRP;                                                                    \
            b += 2 * LANES;                                                              \
        }                                                                                \
    } else {                                                                             \
        /* NOTE [ Direct-kernel rows ]: row i of A is group[i / 4] + (i % 4) * rs_a bytes, \
           an x86 address mode (base + index * 1 or 2, or the register 3 * rs_a), so     \
           the 12 rows live in 3 pointers and 2 strides, not 12 pointers that spill;     \
           the ragged vector is always loaded under its mask (all ones when full: one   \
           load either way, no branch in the loop) */                                   \
        const char* group[4];                                                            \
        const int64_t rsb = rs_a * (int64_t)sizeof(T), rs3 = 3 * rsb;                    \
        const int64_t csb = cs_a * (int64_t)sizeof(T);                                   \
        const L##_MASK mask = L##_MASKN(nr - (V - 1) * LANES);                           \
        STRIDED_UNROLL16 for (i = 0; i < (R + 3) / 4; i++)                               \
            group[i] = (const char*)a + 4 * i * rsb;                                     \
        for (p = 0; p < k; p++) {                                                        \
            L##_VEC b0, b1;                                                              \
            if (V == 1) {                                                                \
                b0 = L##_MASKLOAD(b, mask);                                              \
                b1 = b0;                                                                 \
            } else {                                                                     \
                b0 = L##_LOAD(b);                                                        \
                b1 = L##_MASKLOAD(b + LANES, mask);                                      \
            }                                                                            \
            STRIDED_UNROLL16 for (i = 0; i < R; i++) {                                     \
                const char* row = group[i / 4] + ((i % 4) == 3 ? rs3 : (i % 4) * rsb);   \
                L##_VEC ai = L##_BCAST((const T*)row);                                   \
                acc[i][0] = L##_FMA(ai, b0, acc[i][0]);                                  \
                if (V > 1) acc[i][1] = L##_FMA(ai, b1, acc[i][1]);                       \
            }                                                                            \
            STRIDED_UNROLL16 for (i = 0; i < (R + 3) / 4; i++) group[i] += csb;          \
            b += rs_b;                                                                   \
        }                                                                                \
    }                                                                                    \
    {                                                                                    \
        const L##_VEC va = L##_SET1(alpha);                                              \
        STRIDED_UNROLL16 for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL16 for (v = 0; v < V; v++) acc[i][v] = L##_MUL(va, acc[i][v]);   \
    }                                                                                    \
    if (cs_c == 1 && nr == V * LANES) {                                                  \
        if (beta != 0) {                                                                 \
            const L##_VEC vb = L##_SET1(beta);                                           \
            STRIDED_UNROLL16 for (i = 0; i < R; i++)                                       \
                STRIDED_UNROLL16 for (v = 0; v < V; v++)                                   \
                    acc[i][v] = L##_FMA(vb, L##_LOAD(c + i * rs_c + v * LANES), acc[i][v]); \
        }                                                                                \
        STRIDED_UNROLL16 for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL16 for (v = 0; v < V; v++) L##_STORE(c + i * rs_c + v * LANES, acc[i][v]); \
    } else {                                                                             \
        /* ragged columns or strided C: alpha * AB to the stack, then element-wise */    \
        T tile[14 * 2 * LANES] __attribute__((aligned(64)));                             \
        int64_t j;                                                                       \
        STRIDED_UNROLL16 for (i = 0; i < R; i++)                                           \
            STRIDED_UNROLL16 for (v = 0; v < V; v++)                                       \
                L##_STORE(tile + i * 2 * LANES + v * LANES, acc[i][v]);                  \
        for (i = 0; i < R; i++) {                                                        \
            T* crow = c + i * rs_c;                                                      \
            const T* trow = tile + i * 2 * LANES;                                        \
            if (beta == 0)                                                               \
                for (j = 0; j < nr; j++) crow[j * cs_c] = trow[j];                       \
            else                                                                         \
                for (j = 0; j < nr; j++) crow[j * cs_c] = trow[j] + beta * crow[j * cs_c]; \
        }                                                                                \
    }

#define STRIDED_WIDE_ARGS int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b,   \
    int64_t rs_b, const int64_t* boff, T* c, int64_t rs_c, int64_t cs_c, int64_t nr,      \
    T alpha, T beta
#define STRIDED_WIDE_PASS k, a, rs_a, cs_a, b, rs_b, boff, c, rs_c, cs_c, nr, alpha, beta

#define STRIDED_WIDE_ROWS(body, V, D, MRMAX_)                                                  \
    switch (mr) {                                                                        \
    case 14: if (MRMAX_ >= 14) { body(14, V, D, STRIDED_WIDE_PASS); break; } /* fall through */ \
    case 13: if (MRMAX_ >= 13) { body(13, V, D, STRIDED_WIDE_PASS); break; } /* fall through */ \
    case 12: body(12, V, D, STRIDED_WIDE_PASS); break;                                   \
    case 11: body(11, V, D, STRIDED_WIDE_PASS); break;                                   \
    case 10: body(10, V, D, STRIDED_WIDE_PASS); break;                                   \
    case 9: body(9, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 8: body(8, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 7: body(7, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 6: body(6, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 5: body(5, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 4: body(4, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 3: body(3, V, D, STRIDED_WIDE_PASS); break;                                     \
    case 2: body(2, V, D, STRIDED_WIDE_PASS); break;                                     \
    default: body(1, V, D, STRIDED_WIDE_PASS); break;                                    \
    }

/* The kernels of one layer: packed, offset-B and direct, float and double. */
#define STRIDED_WIDE_KERNELS(NAME, ATTR, LS, LD)                                         \
    ATTR __attribute__((always_inline)) static inline void                               \
    strided_sgemm_##NAME##_body(const int R, const int V, const int D, STRIDED_WIDE_ARGS_S) \
    { STRIDED_WIDE_BODY(float, LS, STRIDED_WIDE_SLANES, STRIDED_WIDE_SMR) }              \
    ATTR __attribute__((always_inline)) static inline void                               \
    strided_dgemm_##NAME##_body(const int R, const int V, const int D, STRIDED_WIDE_ARGS_D) \
    { STRIDED_WIDE_BODY(double, LD, STRIDED_WIDE_DLANES, STRIDED_WIDE_DMR) }             \
    ATTR static void strided_sgemm_ukr_##NAME(int64_t k, const float* a, const float* b, \
        float* c, int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr, float alpha, float beta) \
    {                                                                                    \
        const int64_t rs_a = 1, cs_a = STRIDED_WIDE_SMR, rs_b = STRIDED_WIDE_SNR;        \
        const int64_t* boff = NULL;                                                      \
        if (nr > 16) { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 2, 0, STRIDED_WIDE_SMR) }            \
        else { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 1, 0, STRIDED_WIDE_SMR) }                    \
    }                                                                                    \
    ATTR static void strided_dgemm_ukr_##NAME(int64_t k, const double* a, const double* b, \
        double* c, int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr, double alpha,     \
        double beta)                                                                     \
    {                                                                                    \
        const int64_t rs_a = 1, cs_a = STRIDED_WIDE_DMR, rs_b = STRIDED_WIDE_DNR;        \
        const int64_t* boff = NULL;                                                      \
        if (nr > 8) { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 2, 0, STRIDED_WIDE_DMR) }             \
        else { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 1, 0, STRIDED_WIDE_DMR) }                    \
    }                                                                                    \
    ATTR static void strided_sgemm_offb_##NAME(int64_t k, const float* a, const float* b, \
        const int64_t* boff, int64_t d1, float* c, int64_t rs_c, int64_t cs_c, int64_t mr, \
        int64_t nr, float alpha, float beta)                                             \
    {                                                                                    \
        const int64_t rs_a = 1, cs_a = STRIDED_WIDE_SMR, rs_b = d1;                      \
        if (nr > 16) { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 2, 2, STRIDED_WIDE_SMR) }            \
        else { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 1, 2, STRIDED_WIDE_SMR) }                    \
    }                                                                                    \
    ATTR static void strided_dgemm_offb_##NAME(int64_t k, const double* a, const double* b, \
        const int64_t* boff, int64_t d1, double* c, int64_t rs_c, int64_t cs_c, int64_t mr, \
        int64_t nr, double alpha, double beta)                                           \
    {                                                                                    \
        const int64_t rs_a = 1, cs_a = STRIDED_WIDE_DMR, rs_b = d1;                      \
        if (nr > 8) { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 2, 2, STRIDED_WIDE_DMR) }             \
        else { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 1, 2, STRIDED_WIDE_DMR) }                    \
    }                                                                                    \
    ATTR static void strided_sgemm_direct_##NAME(int64_t k, const float* a, int64_t rs_a, \
        int64_t cs_a, const float* b, int64_t rs_b, float* c, int64_t rs_c, int64_t cs_c, \
        int64_t mr, int64_t nr, float alpha, float beta)                                 \
    {                                                                                    \
        const int64_t* boff = NULL;                                                      \
        if (nr > 16) { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 2, 1, STRIDED_WIDE_SMR) }            \
        else { STRIDED_WIDE_ROWS(strided_sgemm_##NAME##_body, 1, 1, STRIDED_WIDE_SMR) }                    \
    }                                                                                    \
    ATTR static void strided_dgemm_direct_##NAME(int64_t k, const double* a, int64_t rs_a, \
        int64_t cs_a, const double* b, int64_t rs_b, double* c, int64_t rs_c, int64_t cs_c, \
        int64_t mr, int64_t nr, double alpha, double beta)                               \
    {                                                                                    \
        const int64_t* boff = NULL;                                                      \
        if (nr > 8) { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 2, 1, STRIDED_WIDE_DMR) }             \
        else { STRIDED_WIDE_ROWS(strided_dgemm_##NAME##_body, 1, 1, STRIDED_WIDE_DMR) }                    \
    }

#define STRIDED_WIDE_ARGS_S int64_t k, const float* a, int64_t rs_a, int64_t cs_a,         \
    const float* b, int64_t rs_b, const int64_t* boff, float* c, int64_t rs_c,           \
    int64_t cs_c, int64_t nr, float alpha, float beta
#define STRIDED_WIDE_ARGS_D int64_t k, const double* a, int64_t rs_a, int64_t cs_a,        \
    const double* b, int64_t rs_b, const int64_t* boff, double* c, int64_t rs_c,         \
    int64_t cs_c, int64_t nr, double alpha, double beta

STRIDED_WIDE_KERNELS(avx512, STRIDED_AVX512, ZS, ZD)
/* The P layer is for tests only: its speed does not matter, and at -O3 its 144 spilling
 * bodies were a third of gemm.c's compile time (gcc 12 on the AVX-512 Xeon, the fastest of
 * 4 alternated compiles: gemm.c 31.7 -> 26.1 s at -O2).  -O2 keeps its arithmetic (the
 * FMAs are intrinsics, in the same order) and so its bits. */
#if defined(__GNUC__) && !defined(__clang__)     /* clang has no optimize pragma */
#pragma GCC push_options
#pragma GCC optimize("O2")
#endif
STRIDED_WIDE_KERNELS(avx512p, STRIDED_AVX2, PS, PD)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---- packing for the wide tables ----------------------------------------------------
 * NOTE [ Packing A ] and NOTE [ Packing B ] with MR = 12 and NR = 32 / 16.  Row-major B
 * (cs == 1) is dealt out 8 rows at a time as in the AVX2 packer; column-major B is
 * transposed 8 x 8 (float) / 4 x 4 (double) in registers; A through the generic loops
 * (row-major A: 12 rows read side by side, a column of the sliver written at a time). */
#define STRIDED_WIDE_PACK_B_ROWS(T, NR_)                                                 \
    const int64_t nfull = nc / NR_, rem = nc % NR_;                                      \
    int64_t p0, p, s, j;                                                                 \
    for (p0 = 0; p0 < kc; p0 += STRIDED_PACK_B_ROWS_PB) {                                \
        const int64_t p1 = p0 + STRIDED_PACK_B_ROWS_PB < kc ? p0 + STRIDED_PACK_B_ROWS_PB : kc; \
        for (s = 0; s < nfull; s++) {                                                    \
            const T* row = src + p0 * rs + s * NR_;                                      \
            T* d = dst + s * NR_ * kc + p0 * NR_;                                        \
            for (p = p0; p < p1; p++, row += rs, d += NR_) memcpy(d, row, NR_ * sizeof(T)); \
        }                                                                                \
        if (rem) {                                                                       \
            const T* row = src + p0 * rs + nfull * NR_;                                  \
            T* d = dst + nfull * NR_ * kc + p0 * NR_;                                    \
            for (p = p0; p < p1; p++, row += rs, d += NR_) {                             \
                for (j = 0; j < rem; j++) d[j] = row[j];                                 \
                for (; j < NR_; j++) d[j] = 0;                                           \
            }                                                                            \
        }                                                                                \
    }

/* Column-major A (rs == 1, A is a transpose): each column of a full sliver is 12
 * contiguous elements, one fixed-size copy (2 or 3 vector moves), 4 columns at a time
 * across all slivers as strided_spack_a_cols_avx2 does (NOTE [ Packing A ]). */
#define STRIDED_WIDE_PACK_A_COLS(T, MR_)                                                 \
    const int64_t mfull = mc / MR_ * MR_, rs = 1;                                        \
    int64_t p0, i0, p;                                                                   \
    for (p0 = 0; p0 < kc; p0 += STRIDED_PACK_A_COLS_PB) {                                \
        const int64_t p1 = p0 + STRIDED_PACK_A_COLS_PB < kc ? p0 + STRIDED_PACK_A_COLS_PB : kc; \
        for (i0 = 0; i0 < mfull; i0 += MR_) {                                            \
            const T* a = src + i0 + p0 * cs;                                             \
            T* d = dst + i0 * kc + p0 * MR_;                                             \
            for (p = p0; p < p1; p++, a += cs, d += MR_) memcpy(d, a, MR_ * sizeof(T));  \
        }                                                                                \
    }                                                                                    \
    if (mfull < mc) {                                                                    \
        src += mfull;                                                                    \
        dst += mfull * kc;                                                               \
        mc -= mfull;                                                                     \
        STRIDED_PACK_A_GENERIC(T, MR_);                                                  \
    }

STRIDED_AVX2
static void strided_spack_a_cols_wide(float* dst, const float* src, int64_t cs, int64_t mc,
                                      int64_t kc)
{
    STRIDED_WIDE_PACK_A_COLS(float, STRIDED_WIDE_SMR)
}

STRIDED_AVX2
static void strided_dpack_a_cols_wide(double* dst, const double* src, int64_t cs, int64_t mc,
                                      int64_t kc)
{
    STRIDED_WIDE_PACK_A_COLS(double, STRIDED_WIDE_DMR)
}

/* One full 12-row sliver of A whose row r starts at rows[r] (column stride 1): an
 * MR x kc transpose in registers, 8 columns at a time (float: rows 0-7 as an 8 x 8
 * block, rows 8-11 as a 4 x 8 one) or 4 (double: three 4 x 4 blocks).  Row-major A
 * (cs == 1, the usual case) and offset A (the convolution's rows) pack through these;
 * column-major A as above; partial slivers and other layouts by the generic loops.
 * Pure moves: every path packs the generic loop's bits.  perf on the AVX-512 Xeon, one
 * thread: packing A was 5.1% of the GPT example's training step (6 layers, 384 wide; the
 * step of benchmarks/bench_seq.py --cases gpt) and 5.1% of a ResNet-18 step (batch 32,
 * benchmarks/bench_train.py --only resnet18) when the generic loops did it, one element at
 * a time; 2.7% and 3.4% now.  The GPT step: 2575-2587 -> 2478-2510 ms (fastest of 6
 * calls, 2 alternated runs). */
STRIDED_AVX2
static void strided_spack_a_sliver_wide(float* d, const float* const* rows, int64_t kc)
{
    const int64_t MR = STRIDED_WIDE_SMR;
    int64_t p, r;
    int q;
    for (p = 0; p + 8 <= kc; p += 8) {
        float* o = d + p * MR;
        __m256 v[8], t0, t1, t2, t3, w[4];
        for (q = 0; q < 8; q++) v[q] = _mm256_loadu_ps(rows[q] + p);
        strided_s_transpose8_regs(v);
        for (q = 0; q < 8; q++) _mm256_storeu_ps(o + q * MR, v[q]);
        /* rows 8-11 as a 4 x 8 block: lane half h of w[c] holds column c + 4h */
        for (q = 0; q < 4; q++) v[q] = _mm256_loadu_ps(rows[8 + q] + p);
        t0 = _mm256_unpacklo_ps(v[0], v[1]); t1 = _mm256_unpackhi_ps(v[0], v[1]);
        t2 = _mm256_unpacklo_ps(v[2], v[3]); t3 = _mm256_unpackhi_ps(v[2], v[3]);
        w[0] = _mm256_shuffle_ps(t0, t2, 0x44); w[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
        w[2] = _mm256_shuffle_ps(t1, t3, 0x44); w[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
        for (q = 0; q < 4; q++) {
            _mm_storeu_ps(o + q * MR + 8, _mm256_castps256_ps128(w[q]));
            _mm_storeu_ps(o + (q + 4) * MR + 8, _mm256_extractf128_ps(w[q], 1));
        }
    }
    for (; p < kc; p++)
        for (r = 0; r < MR; r++) d[p * MR + r] = rows[r][p];
}

STRIDED_AVX2
static void strided_dpack_a_sliver_wide(double* d, const double* const* rows, int64_t kc)
{
    const int64_t MR = STRIDED_WIDE_DMR;
    int64_t p, r, g;
    int q;
    for (p = 0; p + 4 <= kc; p += 4)
        for (g = 0; g < MR; g += 4) {
            __m256d v[4];
            for (q = 0; q < 4; q++) v[q] = _mm256_loadu_pd(rows[g + q] + p);
            strided_d_transpose4_regs(v);
            for (q = 0; q < 4; q++) _mm256_storeu_pd(d + (p + q) * MR + g, v[q]);
        }
    for (; p < kc; p++)
        for (r = 0; r < MR; r++) d[p * MR + r] = rows[r][p];
}

#define STRIDED_WIDE_S_SLIVER(d, rows, kc) (strided_spack_a_sliver_wide(d, rows, kc), 1)
#define STRIDED_WIDE_D_SLIVER(d, rows, kc) (strided_dpack_a_sliver_wide(d, rows, kc), 1)

/* The wide table's A packer: column-major, row-major (full slivers through SLIVER_), the
 * rest by the generic loop. */
#define STRIDED_WIDE_PACK_A(T, MR_, COLS_, SLIVER_)                                      \
    const T* rows[MR_];                                                                  \
    int64_t i0, r;                                                                       \
    if (rs == 1 && cs != 1) {                                                            \
        COLS_(dst, src, cs, mc, kc);                                                     \
        return;                                                                          \
    }                                                                                    \
    if (cs != 1 || rs == 1) {                                                            \
        STRIDED_PACK_A_GENERIC(T, MR_);                                                  \
        return;                                                                          \
    }                                                                                    \
    for (i0 = 0; i0 + MR_ <= mc; i0 += MR_) {                                            \
        for (r = 0; r < MR_; r++) rows[r] = src + (i0 + r) * rs;                         \
        SLIVER_(dst + i0 * kc, rows, kc);                                                \
    }                                                                                    \
    if (i0 < mc) {                                                                       \
        src += i0 * rs;                                                                  \
        dst += i0 * kc;                                                                  \
        mc -= i0;                                                                        \
        STRIDED_PACK_A_GENERIC(T, MR_);                                                  \
    }

STRIDED_AVX2
static void strided_spack_a_wide(float* dst, const float* src, int64_t rs, int64_t cs,
                                 int64_t mc, int64_t kc)
{
    STRIDED_WIDE_PACK_A(float, STRIDED_WIDE_SMR, strided_spack_a_cols_wide,
                        strided_spack_a_sliver_wide)
}

STRIDED_AVX2
static void strided_dpack_a_wide(double* dst, const double* src, int64_t rs, int64_t cs,
                                 int64_t mc, int64_t kc)
{
    STRIDED_WIDE_PACK_A(double, STRIDED_WIDE_DMR, strided_dpack_a_cols_wide,
                        strided_dpack_a_sliver_wide)
}

static void strided_spack_a_off_wide(float* dst, const float* src, const int64_t* aoff,
                                     int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_OFF(float, STRIDED_WIDE_SMR, STRIDED_WIDE_S_SLIVER);
}

STRIDED_AVX2
static void strided_dpack_a_off_wide(double* dst, const double* src, const int64_t* aoff,
                                     int64_t mc, int64_t kc)
{
    STRIDED_PACK_A_OFF(double, STRIDED_WIDE_DMR, STRIDED_WIDE_D_SLIVER);
}

static void strided_spack_b_wide_ref(float* dst, const float* src, int64_t rs, int64_t cs,
                                     int64_t kc, int64_t nc)
{
    STRIDED_PACK_B_GENERIC(float, STRIDED_WIDE_SNR);
}

static void strided_dpack_b_wide_ref(double* dst, const double* src, int64_t rs, int64_t cs,
                                     int64_t kc, int64_t nc)
{
    STRIDED_PACK_B_GENERIC(double, STRIDED_WIDE_DNR);
}

STRIDED_AVX2
static void strided_spack_b_wide(float* dst, const float* src, int64_t rs, int64_t cs,
                                 int64_t kc, int64_t nc)
{
    const int64_t NR = STRIDED_WIDE_SNR;
    int64_t s, p, j, q, nfull = nc / NR;
    if (cs == 1) {
        STRIDED_WIDE_PACK_B_ROWS(float, STRIDED_WIDE_SNR)
        return;
    }
    if (rs != 1 || nfull == 0) {
        strided_spack_b_wide_ref(dst, src, rs, cs, kc, nc);
        return;
    }
    for (s = 0; s < nfull; s++) {
        const float* b = src + s * NR * cs;
        float* d = dst + s * NR * kc;
        for (p = 0; p + 8 <= kc; p += 8)
            for (q = 0; q < NR; q += 8)
                strided_s_transpose8(d + p * NR + q, b + q * cs + p, cs, NR);
        for (; p < kc; p++)
            for (j = 0; j < NR; j++) d[p * NR + j] = b[j * cs + p];
    }
    if (nc % NR)
        strided_spack_b_wide_ref(dst + nfull * NR * kc, src + nfull * NR * cs, rs, cs, kc,
                                 nc % NR);
}

STRIDED_AVX2
static void strided_dpack_b_wide(double* dst, const double* src, int64_t rs, int64_t cs,
                                 int64_t kc, int64_t nc)
{
    const int64_t NR = STRIDED_WIDE_DNR;
    int64_t s, p, j, q, nfull = nc / NR;
    if (cs == 1) {
        STRIDED_WIDE_PACK_B_ROWS(double, STRIDED_WIDE_DNR)
        return;
    }
    if (rs != 1 || nfull == 0) {
        strided_dpack_b_wide_ref(dst, src, rs, cs, kc, nc);
        return;
    }
    for (s = 0; s < nfull; s++) {
        const double* b = src + s * NR * cs;
        double* d = dst + s * NR * kc;
        for (p = 0; p + 4 <= kc; p += 4)
            for (q = 0; q < NR; q += 4)
                strided_d_transpose4(d + p * NR + q, b + q * cs + p, cs, NR);
        for (; p < kc; p++)
            for (j = 0; j < NR; j++) d[p * NR + j] = b[j * cs + p];
    }
    if (nc % NR)
        strided_dpack_b_wide_ref(dst + nfull * NR * kc, src + nfull * NR * cs, rs, cs, kc,
                                 nc % NR);
}
#else
#define STRIDED_HAVE_WIDE_KERNELS 0
#endif

#endif /* STRIDED_GEMM_KERNEL_WIDE_H */
