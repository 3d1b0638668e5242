// AVX2 pieces shared by the vector kernels (vec_avx2.c), the GEMM (gemm_avx2.c) and the Winograd
// conv (conv_winograd.c): the tail mask, and the math, so an activation fused into a GEMM gives
// the very bits of the separate vector pass. Private to this target; includers define AVX2 as
// their target attribute first.
#ifndef PETREL_VEC_AVX2_MATH_H
#define PETREL_VEC_AVX2_MATH_H
#include <immintrin.h>
#include <stddef.h>

// Lanes 0..r-1 set (r < 8): masked loads and stores for the last r floats of a row.
static inline AVX2 __m256i tail_mask(size_t r) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The first r (≤ 8) lanes of v to p in at most three plain stores. A masked store (vmaskmovps to
// memory) is microcoded on AMD, even with every lane set: one per 10-float row was 22 % of a
// Winograd conv and most of a 10-class softmax on Zen 4. Masked loads are cheap; keep those.
static inline AVX2 void store_first(float *p, __m256 v, size_t r) {
    if (r >= 8) { _mm256_storeu_ps(p, v); return; }
    __m128 x = _mm256_castps256_ps128(v);
    if (r >= 4) { _mm_storeu_ps(p, x); x = _mm256_extractf128_ps(v, 1); p += 4; r -= 4; }
    if (r >= 2) { _mm_storel_pi((__m64 *)p, x); x = _mm_movehl_ps(x, x); p += 2; r -= 2; }
    if (r) _mm_store_ss(p, x);
}

// x clamped to [lo, hi], NaN kept: vmaxps/vminps return their second operand when either is NaN,
// so x goes second. Every function below then carries a NaN through its arithmetic to the result
// (compares with NaN are false, so no blend replaces it): no per-call NaN test and blend.
static inline AVX2 __m256 clamp8(__m256 x, float lo, float hi) {
    return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), x));
}

// ±1 exactly where |x| >= edge: the rationals are within an ulp of 1 at their clamp, and x·(1 + f)
// in GELU would turn that ulp into an error proportional to x for very negative x.
static inline AVX2 __m256 saturate(__m256 r, __m256 x, float edge) {
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), sign);
    __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(edge), _CMP_GE_OQ);
    return _mm256_blendv_ps(r, one, big);
}

// erf: odd rational minimax x·P(x²)/Q(x²) on [-4, 4] (Eigen's generic_fast_erf_float); erf(±4) is
// ±1 in fp32, so clamping is exact. Relative error a few ulp, no cancellation near 0.
static inline AVX2 __m256 erf8(__m256 x) {
    __m256 xc = clamp8(x, -4.0f, 4.0f);
    __m256 x2 = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, xc);
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return saturate(_mm256_div_ps(p, q), x, 4.0f);
}

static inline AVX2 __m256 gelu8(__m256 x) {
    __m256 e = erf8(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
    __m256 h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, e, h);
}

#endif
