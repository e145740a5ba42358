# Vectorizable math for the element-wise and reduction kernels (inline, header-only).
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.math cimport INFINITY, NAN
from libc.string cimport memcpy


cdef inline float expf_fast(float x) noexcept nogil:
    """e**x for float32 within 2 ulp, branch-free so row loops vectorize.

    x = n*ln2 + r with |r| <= ln2/2; e**r by a degree-6 polynomial (Cephes' expf
    coefficients); 2**n applied as two factors so subnormal and overflowing results
    come out right.  NaN passes through, +-inf give inf/0.
    """
    cdef float xc = x
    cdef float t, fn, r, p, s1, s2
    cdef int32_t n, n1
    cdef uint32_t b1, b2
    if xc > <float>89.0:
        xc = <float>89.0
    if xc < <float>-104.0:
        xc = <float>-104.0
    t = xc * <float>1.44269504088896341
    fn = (t + <float>12582912.0) - <float>12582912.0       # round to nearest
    n = <int32_t>fn
    r = xc - fn * <float>0.693359375
    r = r - fn * <float>-2.12194440e-4
    p = <float>1.9875691500e-4
    p = p * r + <float>1.3981999507e-3
    p = p * r + <float>8.3334519073e-3
    p = p * r + <float>4.1665795894e-2
    p = p * r + <float>1.6666665459e-1
    p = p * r + <float>5.0000001201e-1
    p = p * r * r + r + <float>1.0
    n1 = n >> 1
    b1 = <uint32_t>(n1 + 127) << 23
    b2 = <uint32_t>(n - n1 + 127) << 23
    memcpy(&s1, &b1, 4)
    memcpy(&s2, &b2, 4)
    p = p * s1 * s2
    return x if x != x else p


# NOTE [ Fast tanh ]
# The element-wise float32 tanh, without exp or division.  (tanhf_fast below, 1 - 2 /
# (e**2|x| + 1) with a polynomial near 0, costs 55 vector instructions per 16 lanes; as the
# row of tanh it ran at a third of NumPy's AVX-512 speed.)  |x| is clamped to 10 and cut
# into slots by its bit pattern: slot 0 is [0, 0.125), then four slots per binade (the
# exponent and the top two mantissa bits, bits >> 21) up to [8, 10), then the clamp's slot,
# whose polynomial is the constant 1: 27 slots.  On each, tanh(b + y) for y = |x| - b (exact)
# is a degree-5 polynomial in y, evaluated by Horner's rule without FMA; the sign of x is
# put back last (so -0 gives -0) and NaN passes through.  Slot 0 has c0 = 0 and c1 = 1, so
# tiny x gives x.  tools/fit_tanhf.py fits the table (weighted minimax on Chebyshev nodes)
# and checks it: within 1.17 ulp of the float64 truth over every float32.  The table is 7
# rows of 32 floats (unused slots zero), so in the AVX-512 build a row is two registers and
# a lookup one vpermt2ps (strided_tanhf_row: about 27 instructions per 16 lanes); the AVX2
# build gathers, the baseline looks up per element.  Every build does the same float
# operations in the same order, so all give the same bits.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>
    #if defined(__AVX512F__) || defined(__AVX2__)
    #include <immintrin.h>
    #endif
    #ifndef STRIDED_TANHF_DEFINED
    #define STRIDED_TANHF_DEFINED
    #define STRIDED_TANHF_SHIFT 21
    #define STRIDED_TANHF_FIRST 495      /* (bits of 0.125 >> 21) - 1: slot 1 starts at 0.125 */
    #define STRIDED_TANHF_CLAMP 10.0f
    /* NOTE [ Fast tanh ] in fastmath.pxd; tools/fit_tanhf.py writes this table. */
    static const float strided_tanhf_table[7][32] __attribute__((aligned(64))) = {
        /* b (slot start) */
        {0.0f, 0.125f, 0.15625f, 0.1875f, 0.21875f, 0.25f, 0.3125f, 0.375f, 0.4375f, 0.5f,
         0.625f, 0.75f, 0.875f, 1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.5f, 3.0f, 3.5f, 4.0f, 5.0f,
         6.0f, 7.0f, 8.0f, 10.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c0 */
        {0.0f, 0.124352999f, 0.154990733f, 0.185333207f, 0.215326339f, 0.244918659f,
         0.302709728f, 0.3583574f, 0.411570042f, 0.462117165f, 0.554599702f, 0.635148942f,
         0.703905582f, 0.761594176f, 0.848283648f, 0.905148268f, 0.941375554f, 0.964027584f,
         0.986614287f, 0.995054781f, 0.998177886f, 0.999329329f, 0.999909222f, 0.999987721f,
         0.999998331f, 0.999999762f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c1 */
        {1.0f, 0.98453635f, 0.975977898f, 0.965651631f, 0.95363456f, 0.940014839f,
         0.908366799f, 0.871579945f, 0.830610096f, 0.786447704f, 0.692419112f, 0.59658581f,
         0.5045169f, 0.419974983f, 0.280415237f, 0.180706784f, 0.113812119f, 0.0706500486f,
         0.0265916176f, 0.0098657636f, 0.00364077697f, 0.00134011451f, 0.00018146915f,
         2.456109e-05f, 3.32401714e-06f, 4.46178717e-07f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c2 */
        {3.11896969e-07f, -0.122430034f, -0.151267499f, -0.178967282f, -0.205342621f,
         -0.230226815f, -0.274971038f, -0.312336713f, -0.341853887f, -0.363427818f,
         -0.384014189f, -0.378921509f, -0.355133951f, -0.319879889f, -0.237889588f,
         -0.163573325f, -0.107141145f, -0.0680916458f, -0.0262218174f, -0.00981071219f,
         -0.00363167399f, -0.00132976216f, -0.000180162213f, -2.43859413e-05f,
         -3.30034482e-06f, -4.24314237e-07f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c3 */
        {-0.333355635f, -0.312956691f, -0.301883876f, -0.288718611f, -0.273666114f,
         -0.25697872f, -0.219583154f, -0.178626895f, -0.136197537f, -0.0943199992f,
         -0.0178779066f, 0.0418296978f, 0.0818635598f, 0.104117185f, 0.108629771f,
         0.0879409984f, 0.0629444644f, 0.0419626571f, 0.0168950427f, 0.00642256951f,
         0.00239128992f, 0.000845157425f, 0.000114600778f, 1.5513584e-05f, 2.09960945e-06f,
         2.36469617e-07f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c4 */
        {0.000472508749f, 0.0798789859f, 0.0973931849f, 0.113368228f, 0.127595082f,
         0.140560508f, 0.159068346f, 0.169000283f, 0.170758724f, 0.166671947f, 0.138673156f,
         0.0994771942f, 0.0599422194f, 0.0237307604f, -0.0151373623f, -0.0259860083f,
         -0.023721654f, -0.0173592009f, -0.00754669541f, -0.002943828f, -0.0011061948f,
         -0.000344308035f, -4.67348837e-05f, -6.32740648e-06f, -8.56367649e-07f,
         -7.3718148e-08f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        /* c5 */
        {0.129987478f, 0.111982897f, 0.102139905f, 0.0909761265f, 0.0787443742f,
         0.0593735166f, 0.03195614f, 0.00593274785f, -0.0171523858f, -0.0429439582f,
         -0.0615427867f, -0.0626528636f, -0.0530536249f, -0.0320484042f, -0.00953251123f,
         0.00138362835f, 0.00459636282f, 0.00397512596f, 0.00191645604f, 0.000771463441f,
         0.000293057354f, 6.87028078e-05f, 9.33455794e-06f, 1.26396685e-06f, 1.71071633e-07f,
         9.79940307e-09f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
    };

    static inline float strided_tanhf(float x) {
        uint32_t xb, ab, rb;
        float a, y, r;
        memcpy(&xb, &x, 4);
        ab = xb & 0x7fffffffu;
        memcpy(&a, &ab, 4);
        a = a < STRIDED_TANHF_CLAMP ? a : STRIDED_TANHF_CLAMP;     /* NaN: 10, fixed below */
        memcpy(&ab, &a, 4);
        int32_t i = (int32_t)(ab >> STRIDED_TANHF_SHIFT) - STRIDED_TANHF_FIRST;
        i = i > 0 ? i : 0;
        y = a - strided_tanhf_table[0][i];
        r = strided_tanhf_table[6][i];
        r = r * y + strided_tanhf_table[5][i];
        r = r * y + strided_tanhf_table[4][i];
        r = r * y + strided_tanhf_table[3][i];
        r = r * y + strided_tanhf_table[2][i];
        r = r * y + strided_tanhf_table[1][i];
        memcpy(&rb, &r, 4);
        rb |= xb & 0x80000000u;
        memcpy(&r, &rb, 4);
        return x != x ? x : r;
    }

    #if defined(__AVX512F__)
    /* NOTE [ Masked loads only at the tail ]
       The 16-lane rows below load and store whole vectors and use the mask only on the
       last, partial one (left = n - i elements left): on an AMD Zen 5 a loop of masked
       loads streaming from memory ran 2-3x slower than the same loop unmasked, as if masked
       loads were not prefetched (`python benchmarks/bench_elementwise.py --ops exp,log,tanh`,
       2000 x 5000 float32, one thread: exp 9.4 ms masked, 3.0 ms unmasked).  The same
       bits. */
    #define STRIDED_LOAD16(m, p, left) \
        ((left) >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p))
    #define STRIDED_STORE16(p, m, v, left) \
        do { if ((left) >= 16) _mm512_storeu_ps(p, v); \
             else _mm512_mask_storeu_ps(p, m, v); } while (0)
    #endif

    /* o[i] = strided_tanhf(x[i]) for i < n; o and x are the same or do not overlap. */
    static inline void strided_tanhf_row(float* o, const float* x, int64_t n) {
        int64_t i = 0;
    #if defined(__AVX512F__)
        const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
        const __m512i first = _mm512_set1_epi32(STRIDED_TANHF_FIRST);
        const __m512i zero = _mm512_setzero_si512();
        const __m512 clamp = _mm512_set1_ps(STRIDED_TANHF_CLAMP);
        /* the table's rows, two registers each (written out: gcc -O2 keeps arrays and
           loops over them in memory) */
    #define STRIDED_TANHF_ROW(j) \
        const __m512 lo##j = _mm512_load_ps(strided_tanhf_table[j]), \
                     hi##j = _mm512_load_ps(strided_tanhf_table[j] + 16);
        STRIDED_TANHF_ROW(0) STRIDED_TANHF_ROW(1) STRIDED_TANHF_ROW(2) STRIDED_TANHF_ROW(3)
        STRIDED_TANHF_ROW(4) STRIDED_TANHF_ROW(5) STRIDED_TANHF_ROW(6)
    #undef STRIDED_TANHF_ROW
        for (; i < n; i += 16) {
            __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 v = STRIDED_LOAD16(m, x + i, n - i);
            __m512i vb = _mm512_castps_si512(v);
            /* min returns its second operand for NaN: 10, as the scalar form */
            __m512 a = _mm512_min_ps(_mm512_castsi512_ps(_mm512_and_si512(vb, magnitude)), clamp);
            __m512i k = _mm512_sub_epi32(_mm512_srli_epi32(_mm512_castps_si512(a),
                                                           STRIDED_TANHF_SHIFT), first);
            k = _mm512_max_epi32(k, zero);
            __m512 y = _mm512_sub_ps(a, _mm512_permutex2var_ps(lo0, k, hi0));
            __m512 r = _mm512_permutex2var_ps(lo6, k, hi6);
            r = _mm512_add_ps(_mm512_mul_ps(r, y), _mm512_permutex2var_ps(lo5, k, hi5));
            r = _mm512_add_ps(_mm512_mul_ps(r, y), _mm512_permutex2var_ps(lo4, k, hi4));
            r = _mm512_add_ps(_mm512_mul_ps(r, y), _mm512_permutex2var_ps(lo3, k, hi3));
            r = _mm512_add_ps(_mm512_mul_ps(r, y), _mm512_permutex2var_ps(lo2, k, hi2));
            r = _mm512_add_ps(_mm512_mul_ps(r, y), _mm512_permutex2var_ps(lo1, k, hi1));
            r = _mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(r), _mm512_andnot_si512(magnitude, vb)));
            r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), r, v);
            STRIDED_STORE16(o + i, m, r, n - i);
        }
    #elif defined(__AVX2__)
        const __m256i magnitude = _mm256_set1_epi32(0x7fffffff);
        const __m256i first = _mm256_set1_epi32(STRIDED_TANHF_FIRST);
        const __m256i zero = _mm256_setzero_si256();
        const __m256 clamp = _mm256_set1_ps(STRIDED_TANHF_CLAMP);
    #define STRIDED_TANHF_AT(j) _mm256_i32gather_ps(strided_tanhf_table[j], k, 4)
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            __m256i vb = _mm256_castps_si256(v);
            /* min returns its second operand for NaN: 10, as the scalar form */
            __m256 a = _mm256_min_ps(_mm256_castsi256_ps(_mm256_and_si256(vb, magnitude)), clamp);
            __m256i k = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_castps_si256(a),
                                                           STRIDED_TANHF_SHIFT), first);
            k = _mm256_max_epi32(k, zero);
            __m256 y = _mm256_sub_ps(a, STRIDED_TANHF_AT(0));
            __m256 r = STRIDED_TANHF_AT(6);
            r = _mm256_add_ps(_mm256_mul_ps(r, y), STRIDED_TANHF_AT(5));
            r = _mm256_add_ps(_mm256_mul_ps(r, y), STRIDED_TANHF_AT(4));
            r = _mm256_add_ps(_mm256_mul_ps(r, y), STRIDED_TANHF_AT(3));
            r = _mm256_add_ps(_mm256_mul_ps(r, y), STRIDED_TANHF_AT(2));
            r = _mm256_add_ps(_mm256_mul_ps(r, y), STRIDED_TANHF_AT(1));
            r = _mm256_castsi256_ps(_mm256_or_si256(
                _mm256_castps_si256(r), _mm256_andnot_si256(magnitude, vb)));
            r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            _mm256_storeu_ps(o + i, r);
        }
    #undef STRIDED_TANHF_AT
    #endif
        for (; i < n; i++)
            o[i] = strided_tanhf(x[i]);
    }

    /* NOTE [ AVX-512 exp row ]: expf_fast's steps on 16 lanes, for the element-wise exp row
       of the AVX-512 build (gcc's own vectorization of expf_fast masks every step of the
       clamped lanes: about 45 instructions per 16 lanes, this is 28).  The same roundings
       in the same order; p * 2**n as one vscalefps instead of two multiplies, the same
       result: p * 2**(n >> 1) is exact (p is near 1 and n >= -150), so both round p * 2**n
       once.  NaN lanes are x, as expf_fast's.  Other builds run expf_fast's loop. */
    #if defined(__AVX512F__)
    #define STRIDED_EXPF_ROW 1
    static inline void strided_expf_row(float* o, const float* x, int64_t n) {
        const __m512 hi = _mm512_set1_ps(89.0f), lo = _mm512_set1_ps(-104.0f);
        const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
        const __m512 magic = _mm512_set1_ps(12582912.0f);
        const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
        const __m512 one = _mm512_set1_ps(1.0f);
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 v = STRIDED_LOAD16(m, x + i, n - i);
            __m512 xc = _mm512_min_ps(_mm512_max_ps(v, lo), hi);   /* NaN lanes: fixed below */
            __m512 fn = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(xc, log2e), magic), magic);
            __m512 r = _mm512_sub_ps(xc, _mm512_mul_ps(fn, ln2_hi));
            r = _mm512_sub_ps(r, _mm512_mul_ps(fn, ln2_lo));
            __m512 p = _mm512_set1_ps(1.9875691500e-4f);
            p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
            p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
            p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
            p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
            p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
            p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), one);
            p = _mm512_scalef_ps(p, fn);
            p = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), p, v);
            STRIDED_STORE16(o + i, m, p, n - i);
        }
    }
    #else
    #define STRIDED_EXPF_ROW 0
    #define strided_expf_row(o, x, n) ((void)0)
    #endif

    /* logf_fast's steps on 16 lanes, for the element-wise log row of the AVX-512 build
       (NOTE [ AVX-512 exp row ] says why): the same roundings in the same order. */
    #if defined(__AVX512F__)
    #define STRIDED_LOGF_ROW 1
    #define STRIDED_F(v) _mm512_set1_ps(v)
    static inline void strided_logf_row(float* o, const float* x, int64_t n) {
        const __m512i mant_sign = _mm512_set1_epi32((int)0x807fffff);
        const __m512i half = _mm512_set1_epi32(0x3f000000);
        const __m512i ff = _mm512_set1_epi32(0xff);
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 m16 = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 v = STRIDED_LOAD16(m16, x + i, n - i);
            /* lanes that are not a positive normal number (0, subnormal, negative, inf,
               NaN): only then the subnormal scaling and the special results below, which
               change nothing in other lanes (the same bits, ~10 fewer operations) */
            __mmask16 special = _mm512_mask_fpclass_ps_mask(m16, v, 0xff);
            __mmask16 tiny = special ? _mm512_cmp_ps_mask(v, STRIDED_F(1.17549435e-38f), _CMP_LT_OQ) : 0;
            __m512 xs = special ? _mm512_mask_mul_ps(v, tiny, v, STRIDED_F(33554432.0f)) : v;
            __m512i bits = _mm512_castps_si512(xs);
            __m512i e = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 23), ff),
                                         _mm512_set1_epi32(126));
            if (special)
                e = _mm512_mask_sub_epi32(e, tiny, e, _mm512_set1_epi32(25));
            __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, mant_sign), half));
            __mmask16 low = _mm512_cmp_ps_mask(m, STRIDED_F(0.707106781186547524f), _CMP_LT_OQ);
            e = _mm512_mask_sub_epi32(e, low, e, _mm512_set1_epi32(1));
            m = _mm512_mask_add_ps(m, low, m, m);
            m = _mm512_sub_ps(m, STRIDED_F(1.0f));
            __m512 fe = _mm512_cvtepi32_ps(e);
            __m512 z = _mm512_mul_ps(m, m);
            __m512 y = STRIDED_F(7.0376836292e-2f);
            y = _mm512_sub_ps(_mm512_mul_ps(y, m), STRIDED_F(1.1514610310e-1f));
            y = _mm512_add_ps(_mm512_mul_ps(y, m), STRIDED_F(1.1676998740e-1f));
            y = _mm512_sub_ps(_mm512_mul_ps(y, m), STRIDED_F(1.2420140846e-1f));
            y = _mm512_add_ps(_mm512_mul_ps(y, m), STRIDED_F(1.4249322787e-1f));
            y = _mm512_sub_ps(_mm512_mul_ps(y, m), STRIDED_F(1.6668057665e-1f));
            y = _mm512_add_ps(_mm512_mul_ps(y, m), STRIDED_F(2.0000714765e-1f));
            y = _mm512_sub_ps(_mm512_mul_ps(y, m), STRIDED_F(2.4999993993e-1f));
            y = _mm512_add_ps(_mm512_mul_ps(y, m), STRIDED_F(3.3333331174e-1f));
            y = _mm512_mul_ps(_mm512_mul_ps(y, m), z);
            y = _mm512_add_ps(y, _mm512_mul_ps(fe, STRIDED_F(-2.12194440e-4f)));
            y = _mm512_sub_ps(y, _mm512_mul_ps(STRIDED_F(0.5f), z));
            y = _mm512_add_ps(_mm512_add_ps(m, y), _mm512_mul_ps(fe, STRIDED_F(0.693359375f)));
            if (special) {
                /* the special inputs, in logf_fast's order: +inf, 0, x < 0, NaN */
                y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, STRIDED_F(INFINITY), _CMP_EQ_OQ), y, v);
                y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_EQ_OQ),
                                         y, STRIDED_F(-INFINITY));
                y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ),
                                         y, STRIDED_F(NAN));
                y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), y, v);
            }
            STRIDED_STORE16(o + i, m16, y, n - i);
        }
    }
    #undef STRIDED_F
    #else
    #define STRIDED_LOGF_ROW 0
    #define strided_logf_row(o, x, n) ((void)0)
    #endif
    #endif
    """
    float strided_tanhf(float x) noexcept nogil
    void strided_tanhf_row(float* o, const float* x, int64_t n) noexcept nogil
    bint STRIDED_EXPF_ROW
    void strided_expf_row(float* o, const float* x, int64_t n) noexcept nogil
    bint STRIDED_LOGF_ROW
    void strided_logf_row(float* o, const float* x, int64_t n) noexcept nogil


cdef inline float tanhf_fast(float x) noexcept nogil:
    """tanh(x) for float32 within 3 ulp, branch-free so row loops vectorize.

    |x| < 0.625: x + x**3 * P(x**2), an odd polynomial (Cephes' tanhf coefficients);
    otherwise 1 - 2 / (e**(2|x|) + 1) with expf_fast, its sign restored.  Both are
    computed and one is selected.  NaN passes through; +-inf give +-1.  Measured within
    1.32 ulp.  Per element it is plain arithmetic, so loops calling it vectorize (rnn.pyx's
    rows, extensions through strided._C.api); the element-wise tanh row uses the table form
    instead (NOTE [ Fast tanh ]), which agrees within rounding, not bit for bit.
    """
    cdef float z = x * x
    cdef float p = <float>-5.70498872745e-3
    p = p * z + <float>2.06390887954e-2
    p = p * z - <float>5.37397155531e-2
    p = p * z + <float>1.33314422036e-1
    p = p * z - <float>3.33332819422e-1
    cdef float small = p * z * x + x
    cdef float a = x if x >= <float>0 else -x
    cdef float big = <float>1.0 - <float>2.0 / (expf_fast(a + a) + <float>1.0)
    big = big if x >= <float>0 else -big
    cdef float r = small if a < <float>0.625 else big
    r = x if x == <float>0 else r                   # the sign of a zero
    return x if x != x else r


cdef inline float logf_fast(float x) noexcept nogil:
    """log(x) for float32 within 2 ulp, branch-free so row loops vectorize.

    x = m * 2**e with m in [sqrt(1/2), sqrt(2)); log(m) by a degree-9 polynomial in m - 1
    (Cephes' logf coefficients), e*ln2 added in two parts.  Subnormals are scaled by 2**25
    first.  x < 0 and NaN give NaN, 0 gives -inf, +inf gives +inf.
    """
    cdef bint tiny = x < <float>1.17549435e-38               # subnormal (or <= 0)
    cdef float xs = x * <float>33554432.0 if tiny else x      # 2**25
    cdef uint32_t bits
    cdef float m, z, y, fe
    cdef int32_t e
    memcpy(&bits, &xs, 4)
    e = <int32_t>((bits >> 23) & 0xff) - 126 - (25 if tiny else 0)
    bits = (bits & <uint32_t>0x807fffff) | <uint32_t>0x3f000000  # m in [0.5, 1)
    memcpy(&m, &bits, 4)
    if m < <float>0.707106781186547524:
        e = e - 1
        m = m + m - <float>1.0
    else:
        m = m - <float>1.0
    fe = <float>e
    z = m * m
    y = <float>7.0376836292e-2
    y = y * m - <float>1.1514610310e-1
    y = y * m + <float>1.1676998740e-1
    y = y * m - <float>1.2420140846e-1
    y = y * m + <float>1.4249322787e-1
    y = y * m - <float>1.6668057665e-1
    y = y * m + <float>2.0000714765e-1
    y = y * m - <float>2.4999993993e-1
    y = y * m + <float>3.3333331174e-1
    y = y * m * z
    y = y + fe * <float>-2.12194440e-4
    y = y - <float>0.5 * z
    y = m + y + fe * <float>0.693359375
    # special inputs: NaN and x < 0 give NaN, 0 gives -inf, +inf gives +inf
    y = x if x == <float>INFINITY else y
    y = -<float>INFINITY if x == <float>0 else y
    y = <float>NAN if x < <float>0 else y
    return x if x != x else y


# NOTE [ Fast erf ]
# erf and the normal CDF in float32, branch-free so gelu's rows vectorize (libm's erff is a
# call per element: gelu of 2M floats took 21-24 ms against 0.6 ms for add).  Two pieces:
#   |y| < 1:  erf(y) = y * P(y*y), P of degree 6 (relative error 1.2e-9 in exact arithmetic)
#   |y| >= 1: erfc(|y|) = e**(-y*y) * Q(t), t = 1/(1 + |y|/2), Q of degree 8 fitted to
#             erfcx on |y| in [0.95, 10.6] (relative error 7e-9), where e**(-y*y) underflows
# Both are weighted least-squares fits to scipy's erf and erfcx on Chebyshev nodes.  The
# rounding of y*y makes erfc's relative error up to 4e-6 far in the tail (|y| ~ 10), an
# absolute error below 1e-9 there.  Measured in float32 over [-12, 12]: erf within 2.5 ulp;
# gelu x * Phi(x) within 3.9e-7 absolute (libm's erff gave 4.5e-7).  The lower tail of Phi
# comes from erfc directly, not from 1 + erf, so it keeps its relative accuracy.

cdef inline float _erf_small_f(float y) noexcept nogil:
    """erf(y) for |y| < 1 (NOTE [ Fast erf ])."""
    cdef float z = y * y
    cdef float p = <float>7.84725912681437e-05
    p = p * z - <float>0.0008008189323123275
    p = p * z + <float>0.005188098889394663
    p = p * z - <float>0.026853691099710576
    p = p * z + <float>0.11283582247992706
    p = p * z - <float>0.37612625567399227
    p = p * z + <float>1.1283791656893218
    return y * p


cdef inline float _erfcx_big_f(float a) noexcept nogil:
    """e**(a*a) * erfc(a) for a >= 0.95 (NOTE [ Fast erf ])."""
    cdef float t = <float>1.0 / (<float>1.0 + <float>0.5 * a)
    cdef float q = <float>0.08072654894310237
    q = q * t - <float>0.18524061966220529
    q = q * t + <float>0.026363610517759345
    q = q * t + <float>0.10354820623959221
    q = q * t + <float>0.1592466568403214
    q = q * t + <float>0.25251340269408834
    q = q * t + <float>0.28108825060373005
    q = q * t + <float>0.2821882898891132
    q = q * t - <float>3.582375580786295e-06
    return q if q > <float>0 else <float>0       # Q(0) < 0: keep Phi's far tail +0, not -0


cdef inline float erff_fast(float x) noexcept nogil:
    """erf(x) for float32 within 2.5 ulp, branch-free (NOTE [ Fast erf ]).  NaN passes
    through; +-inf give +-1."""
    cdef float a = x if x >= <float>0 else -x
    cdef float small = _erf_small_f(x)
    cdef float big = <float>1.0 - expf_fast(-(a * a)) * _erfcx_big_f(a)
    big = big if x >= <float>0 else -big
    cdef float r = small if a < <float>1.0 else big
    return x if x != x else r


cdef inline float normal_cdf_f(float x, float e) noexcept nogil:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, given e = e**(-x*x/2) (gelu's backward needs e
    too, so the caller computes it once).  NOTE [ Fast erf ]."""
    cdef float y = x * <float>0.70710678118654752
    cdef float a = y if y >= <float>0 else -y
    cdef float small = <float>0.5 + <float>0.5 * _erf_small_f(y)
    cdef float tail = <float>0.5 * e * _erfcx_big_f(a)             # erfc(|y|) / 2
    cdef float big = tail if y < <float>0 else <float>1.0 - tail
    return small if a < <float>1.0 else big


cdef inline float gelu_f(float x) noexcept nogil:
    """x * Phi(x) for float32 (NOTE [ Fast erf ]).  NaN passes through, +inf gives +inf
    and -inf NaN (-inf * 0), as x * Phi(x) does in exact arithmetic's limits."""
    cdef float r = x * normal_cdf_f(x, expf_fast(<float>-0.5 * (x * x)))
    return x if x != x else r


cdef inline float gelu_backward_f(float g, float x) noexcept nogil:
    """g * d/dx (x * Phi(x)) = g * (Phi(x) + x * phi(x)) for float32, phi the normal
    density (NOTE [ Fast erf ])."""
    cdef float e = expf_fast(<float>-0.5 * (x * x))
    return g * (normal_cdf_f(x, e) + x * e * <float>0.39894228040143268)


cdef inline float gelu_tanh_f(float x) noexcept nogil:
    """0.5 * x * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x**3), for float32, computed
    as x * sigmoid(2u) = x / (1 + e**(-2u)): no cancellation in 1 + tanh(u) for x < 0.
    sigmoid(2u) is taken as 0 below u = -40 (under 2e-35), so -inf gives NaN and large
    negative x -0, as PyTorch's."""
    cdef float u = <float>0.79788456080286536 * (x + <float>0.044715 * x * x * x)
    cdef float s = <float>1.0 / (<float>1.0 + expf_fast(<float>-2.0 * u))
    s = s if u > <float>-40.0 else <float>0.0
    return x * s


cdef inline float gelu_tanh_backward_f(float g, float x) noexcept nogil:
    """g * d/dx of gelu_tanh_f: s + 2 x s (1 - s) du/dx, s = sigmoid(2u), 1 - s = e s."""
    cdef float x2 = x * x
    cdef float u = <float>0.79788456080286536 * (x + <float>0.044715 * x2 * x)
    cdef float m2u = <float>-2.0 * u
    cdef float e = expf_fast(m2u if m2u < <float>80.0 else <float>80.0)   # finite: e * s
    cdef float s = <float>1.0 / (<float>1.0 + e)
    s = s if u > <float>-40.0 else <float>0.0
    cdef float du = <float>0.79788456080286536 * (<float>1.0 + <float>0.134145 * x2)
    return g * (s + <float>2.0 * x * s * (e * s) * du)
