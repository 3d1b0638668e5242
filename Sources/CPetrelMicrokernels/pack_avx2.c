// GEMM operand packing, AVX2 (see include/petrel_gemm.h): 8×8 register transposes instead of
// one scalar load and store per float. Per-function target attributes, entered only after CPU
// detection, like the microkernels.
#include "petrel_gemm.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define INLINE __attribute__((always_inline)) static inline
#define AVX2 TGT
#include "vec_avx2_math.h"

// r[i] holds row i (8 floats); afterwards r[j] holds column j.
TGT INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

TGT void petrel_pack_a6_avx2(const float *a, size_t lda, size_t kb, float *dst) {
    // Six rows and two zero rows transposed: column p's six values land at dst + 6p. Each store
    // writes eight floats; the next one overwrites the two extra, and the last writes six.
    size_t p = 0;
    for (; p + 8 <= kb; p += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; i++) r[i] = _mm256_loadu_ps(a + (size_t)i * lda + p);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8(r);
        float *d = dst + p * 6;
        for (int j = 0; j < 7; j++) _mm256_storeu_ps(d + 6 * j, r[j]);
        store_first(d + 42, r[7], 6);
    }
    for (; p < kb; p++)
        for (int i = 0; i < 6; i++) dst[p * 6 + (size_t)i] = a[(size_t)i * lda + p];
}

TGT void petrel_pack_bt16_avx2(const float *b, size_t ldb, size_t kb, float *dst) {
    size_t p = 0;
    for (; p + 8 <= kb; p += 8) {
        for (int half = 0; half < 2; half++) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(b + (size_t)(8 * half + j) * ldb + p);
            transpose8(r);
            for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (p + (size_t)q) * 16 + 8 * half, r[q]);
        }
    }
    for (; p < kb; p++)
        for (int j = 0; j < 16; j++) dst[p * 16 + (size_t)j] = b[(size_t)j * ldb + p];
}
#else
// Not x86-64: never selected (the Swift side checks the ISA); keep the symbols so it links.
void petrel_pack_a6_avx2(const float *a, size_t lda, size_t kb, float *dst) {
    (void)a; (void)lda; (void)kb; (void)dst;
    __builtin_trap();
}
void petrel_pack_bt16_avx2(const float *b, size_t ldb, size_t kb, float *dst) {
    (void)b; (void)ldb; (void)kb; (void)dst;
    __builtin_trap();
}
#endif
