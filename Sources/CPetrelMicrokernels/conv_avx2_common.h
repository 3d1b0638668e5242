// The AVX2 conv kernels' shared pieces (conv_avx2.c, conv_winograd.c); private to this module.
#ifndef PETREL_CONV_AVX2_COMMON_H
#define PETREL_CONV_AVX2_COMMON_H
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define INLINE __attribute__((always_inline)) static inline

// The piecewise-linear activations of the kernels' stores: 0 none, 1 relu, 2 clip to [lo, hi],
// 3 leaky relu with slope lo.
TGT INLINE __m256 activate(__m256 v, int act, float lo, float hi) {
    switch (act) {
    case 1: return _mm256_max_ps(v, _mm256_setzero_ps());
    case 2: return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
    case 3: {
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(lo)), neg);
    }
    default: return v;
    }
}

#endif
#endif
