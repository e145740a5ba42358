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
