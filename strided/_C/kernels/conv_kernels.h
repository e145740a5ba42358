/* Small copy kernels for strided/_C/kernels/conv.pyx (conv_paths/taps.pxi).
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

#endif
