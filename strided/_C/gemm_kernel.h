/* GEMM micro-kernels, their run-time selection, and the packing-buffer pool.
 *
 * Used by strided/_C/gemm.pyx, which owns the loops around these kernels (BLIS's five
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
 * ymm accumulators (6 rows x 2 vectors) and are picked at run time when the CPU has them,
 * so the default portable build (no -march) runs the fast path.
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

/* ---- AVX2 + FMA micro-kernels ------------------------------------------------------ */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define STRIDED_HAVE_X86_KERNELS 1
#include <immintrin.h>

#define STRIDED_AVX2 __attribute__((target("avx2,fma")))

/* one k step of the 6x16 float kernel: 2 vector loads of b, 6 broadcasts of a, 12 FMAs */
#define STRIDED_S_STEP(o)                                                                \
    do {                                                                                 \
        const __m256 b0_ = _mm256_load_ps(b + 16 * (o));                                 \
        const __m256 b1_ = _mm256_load_ps(b + 16 * (o) + 8);                             \
        __m256 a_;                                                                       \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 0);                                       \
        c00 = _mm256_fmadd_ps(a_, b0_, c00); c01 = _mm256_fmadd_ps(a_, b1_, c01);        \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 1);                                       \
        c10 = _mm256_fmadd_ps(a_, b0_, c10); c11 = _mm256_fmadd_ps(a_, b1_, c11);        \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 2);                                       \
        c20 = _mm256_fmadd_ps(a_, b0_, c20); c21 = _mm256_fmadd_ps(a_, b1_, c21);        \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 3);                                       \
        c30 = _mm256_fmadd_ps(a_, b0_, c30); c31 = _mm256_fmadd_ps(a_, b1_, c31);        \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 4);                                       \
        c40 = _mm256_fmadd_ps(a_, b0_, c40); c41 = _mm256_fmadd_ps(a_, b1_, c41);        \
        a_ = _mm256_broadcast_ss(a + 6 * (o) + 5);                                       \
        c50 = _mm256_fmadd_ps(a_, b0_, c50); c51 = _mm256_fmadd_ps(a_, b1_, c51);        \
    } while (0)

STRIDED_AVX2
static void strided_sgemm_ukr_avx2(int64_t k, const float* a, const float* b, float* c,
                                   int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                   float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const int full = mr == 6 && nr == 16 && cs_c == 1;
    int64_t p;
    if (full && beta != 0) {       /* C is read at the end: start fetching it now */
        int i;
        for (i = 0; i < 6; i++) {
            _mm_prefetch((const char*)(c + i * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char*)(c + i * rs_c + 15), _MM_HINT_T0);
        }
    }
    /* One k step per iteration, deliberately not unrolled: unrolled by hand, gcc 12
       rotates the accumulators through spills (dgemm ran at 2/3 of the FMA peak). */
    for (p = 0; p < k; p++) {
        STRIDED_S_STEP(0);
        a += 6;
        b += 16;
    }
    {
        const __m256 va = _mm256_set1_ps(alpha);
        c00 = _mm256_mul_ps(va, c00); c01 = _mm256_mul_ps(va, c01);
        c10 = _mm256_mul_ps(va, c10); c11 = _mm256_mul_ps(va, c11);
        c20 = _mm256_mul_ps(va, c20); c21 = _mm256_mul_ps(va, c21);
        c30 = _mm256_mul_ps(va, c30); c31 = _mm256_mul_ps(va, c31);
        c40 = _mm256_mul_ps(va, c40); c41 = _mm256_mul_ps(va, c41);
        c50 = _mm256_mul_ps(va, c50); c51 = _mm256_mul_ps(va, c51);
    }
    if (full) {
        float* c0 = c;
        float* c1 = c + rs_c;
        float* c2 = c + 2 * rs_c;
        float* c3 = c + 3 * rs_c;
        float* c4 = c + 4 * rs_c;
        float* c5 = c + 5 * rs_c;
        if (beta != 0) {
            const __m256 vb = _mm256_set1_ps(beta);
            c00 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c0), c00);
            c01 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c0 + 8), c01);
            c10 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c1), c10);
            c11 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c1 + 8), c11);
            c20 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c2), c20);
            c21 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c2 + 8), c21);
            c30 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c3), c30);
            c31 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c3 + 8), c31);
            c40 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c4), c40);
            c41 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c4 + 8), c41);
            c50 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c5), c50);
            c51 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c5 + 8), c51);
        }
        _mm256_storeu_ps(c0, c00); _mm256_storeu_ps(c0 + 8, c01);
        _mm256_storeu_ps(c1, c10); _mm256_storeu_ps(c1 + 8, c11);
        _mm256_storeu_ps(c2, c20); _mm256_storeu_ps(c2 + 8, c21);
        _mm256_storeu_ps(c3, c30); _mm256_storeu_ps(c3 + 8, c31);
        _mm256_storeu_ps(c4, c40); _mm256_storeu_ps(c4 + 8, c41);
        _mm256_storeu_ps(c5, c50); _mm256_storeu_ps(c5 + 8, c51);
    } else {
        /* edge tile or strided C: alpha * AB to the stack, then element by element */
        float tile[6 * 16] __attribute__((aligned(32)));
        int64_t i, j;
        _mm256_store_ps(tile + 0, c00);  _mm256_store_ps(tile + 8, c01);
        _mm256_store_ps(tile + 16, c10); _mm256_store_ps(tile + 24, c11);
        _mm256_store_ps(tile + 32, c20); _mm256_store_ps(tile + 40, c21);
        _mm256_store_ps(tile + 48, c30); _mm256_store_ps(tile + 56, c31);
        _mm256_store_ps(tile + 64, c40); _mm256_store_ps(tile + 72, c41);
        _mm256_store_ps(tile + 80, c50); _mm256_store_ps(tile + 88, c51);
        for (i = 0; i < mr; i++) {
            float* crow = c + i * rs_c;
            if (beta == 0)
                for (j = 0; j < nr; j++) crow[j * cs_c] = tile[i * 16 + j];
            else
                for (j = 0; j < nr; j++) crow[j * cs_c] = tile[i * 16 + j] + beta * crow[j * cs_c];
        }
    }
}

/* one k step of the 6x8 double kernel */
#define STRIDED_D_STEP(o)                                                                \
    do {                                                                                 \
        const __m256d b0_ = _mm256_load_pd(b + 8 * (o));                                 \
        const __m256d b1_ = _mm256_load_pd(b + 8 * (o) + 4);                            \
        __m256d a_;                                                                      \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 0);                                       \
        c00 = _mm256_fmadd_pd(a_, b0_, c00); c01 = _mm256_fmadd_pd(a_, b1_, c01);        \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 1);                                       \
        c10 = _mm256_fmadd_pd(a_, b0_, c10); c11 = _mm256_fmadd_pd(a_, b1_, c11);        \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 2);                                       \
        c20 = _mm256_fmadd_pd(a_, b0_, c20); c21 = _mm256_fmadd_pd(a_, b1_, c21);        \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 3);                                       \
        c30 = _mm256_fmadd_pd(a_, b0_, c30); c31 = _mm256_fmadd_pd(a_, b1_, c31);        \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 4);                                       \
        c40 = _mm256_fmadd_pd(a_, b0_, c40); c41 = _mm256_fmadd_pd(a_, b1_, c41);        \
        a_ = _mm256_broadcast_sd(a + 6 * (o) + 5);                                       \
        c50 = _mm256_fmadd_pd(a_, b0_, c50); c51 = _mm256_fmadd_pd(a_, b1_, c51);        \
    } while (0)

STRIDED_AVX2
static void strided_dgemm_ukr_avx2(int64_t k, const double* a, const double* b, double* c,
                                   int64_t rs_c, int64_t cs_c, int64_t mr, int64_t nr,
                                   double alpha, double beta)
{
    __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
    __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
    __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
    __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
    __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
    __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
    const int full = mr == 6 && nr == 8 && cs_c == 1;
    int64_t p;
    if (full && beta != 0) {
        int i;
        for (i = 0; i < 6; i++) {
            _mm_prefetch((const char*)(c + i * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char*)(c + i * rs_c + 7), _MM_HINT_T0);
        }
    }
    /* One k step per iteration, deliberately not unrolled: unrolled by hand, gcc 12
       rotates the accumulators through spills (dgemm ran at 2/3 of the FMA peak). */
    for (p = 0; p < k; p++) {
        STRIDED_D_STEP(0);
        a += 6;
        b += 8;
    }
    {
        const __m256d va = _mm256_set1_pd(alpha);
        c00 = _mm256_mul_pd(va, c00); c01 = _mm256_mul_pd(va, c01);
        c10 = _mm256_mul_pd(va, c10); c11 = _mm256_mul_pd(va, c11);
        c20 = _mm256_mul_pd(va, c20); c21 = _mm256_mul_pd(va, c21);
        c30 = _mm256_mul_pd(va, c30); c31 = _mm256_mul_pd(va, c31);
        c40 = _mm256_mul_pd(va, c40); c41 = _mm256_mul_pd(va, c41);
        c50 = _mm256_mul_pd(va, c50); c51 = _mm256_mul_pd(va, c51);
    }
    if (full) {
        double* c0 = c;
        double* c1 = c + rs_c;
        double* c2 = c + 2 * rs_c;
        double* c3 = c + 3 * rs_c;
        double* c4 = c + 4 * rs_c;
        double* c5 = c + 5 * rs_c;
        if (beta != 0) {
            const __m256d vb = _mm256_set1_pd(beta);
            c00 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c0), c00);
            c01 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c0 + 4), c01);
            c10 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c1), c10);
            c11 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c1 + 4), c11);
            c20 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c2), c20);
            c21 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c2 + 4), c21);
            c30 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c3), c30);
            c31 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c3 + 4), c31);
            c40 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c4), c40);
            c41 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c4 + 4), c41);
            c50 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c5), c50);
            c51 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c5 + 4), c51);
        }
        _mm256_storeu_pd(c0, c00); _mm256_storeu_pd(c0 + 4, c01);
        _mm256_storeu_pd(c1, c10); _mm256_storeu_pd(c1 + 4, c11);
        _mm256_storeu_pd(c2, c20); _mm256_storeu_pd(c2 + 4, c21);
        _mm256_storeu_pd(c3, c30); _mm256_storeu_pd(c3 + 4, c31);
        _mm256_storeu_pd(c4, c40); _mm256_storeu_pd(c4 + 4, c41);
        _mm256_storeu_pd(c5, c50); _mm256_storeu_pd(c5 + 4, c51);
    } else {
        double tile[6 * 8] __attribute__((aligned(32)));
        int64_t i, j;
        _mm256_store_pd(tile + 0, c00);  _mm256_store_pd(tile + 4, c01);
        _mm256_store_pd(tile + 8, c10);  _mm256_store_pd(tile + 12, c11);
        _mm256_store_pd(tile + 16, c20); _mm256_store_pd(tile + 20, c21);
        _mm256_store_pd(tile + 24, c30); _mm256_store_pd(tile + 28, c31);
        _mm256_store_pd(tile + 32, c40); _mm256_store_pd(tile + 36, c41);
        _mm256_store_pd(tile + 40, c50); _mm256_store_pd(tile + 44, c51);
        for (i = 0; i < mr; i++) {
            double* crow = c + i * rs_c;
            if (beta == 0)
                for (j = 0; j < nr; j++) crow[j * cs_c] = tile[i * 8 + j];
            else
                for (j = 0; j < nr; j++) crow[j * cs_c] = tile[i * 8 + j] + beta * crow[j * cs_c];
        }
    }
}

static int strided_cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    /* libgcc also checks that the OS saves the ymm state (XGETBV) before reporting AVX */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define STRIDED_HAVE_X86_KERNELS 0
static int strided_cpu_has_avx2_fma(void) { return 0; }
#endif

/* ---- kernel selection ------------------------------------------------------------- */

/* 0: reference kernels, 1: AVX2+FMA (only when the CPU has them). */
static int strided_gemm_kernel_kind = -1;

static int strided_gemm_select_kernel(int want_simd)
{
    strided_gemm_kernel_kind = (want_simd && strided_cpu_has_avx2_fma()) ? 1 : 0;
    return strided_gemm_kernel_kind;
}

static int strided_gemm_kernel_current(void) { return strided_gemm_kernel_kind; }

static strided_sgemm_ukr_t strided_sgemm_ukr(void)
{
#if STRIDED_HAVE_X86_KERNELS
    if (strided_gemm_kernel_kind == 1) return strided_sgemm_ukr_avx2;
#endif
    return strided_sgemm_ukr_ref;
}

static strided_dgemm_ukr_t strided_dgemm_ukr(void)
{
#if STRIDED_HAVE_X86_KERNELS
    if (strided_gemm_kernel_kind == 1) return strided_dgemm_ukr_avx2;
#endif
    return strided_dgemm_ukr_ref;
}

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
    if (s->a == NULL || s->b == NULL) {
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
