# Vectorizable math for the element-wise and reduction kernels (inline, header-only).
from libc.stdint cimport int32_t, uint32_t
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
