# Vectorizable math for the element-wise and reduction kernels (inline, header-only).
from libc.stdint cimport int32_t, uint32_t
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


cdef inline float tanhf_fast(float x) noexcept nogil:
    """tanh(x) for float32 within 3 ulp, branch-free so row loops vectorize.

    |x| < 0.625: x + x**3 * P(x**2), an odd polynomial (Cephes' tanhf coefficients);
    otherwise 1 - 2 / (e**(2|x|) + 1) with expf_fast, its sign restored.  Both are
    computed and one is selected.  NaN passes through; +-inf give +-1.
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
