// Peak FMA throughput per ISA: independent accumulator chains (≥ latency × FMA ports: Zen 3 and
// Skylake have 4-cycle FMA latency on 2 ports, so 8 chains; 12 leave headroom). Each chain does
// acc = acc·x + y with x, y chosen so the values stay finite; the sum goes to *sink.
#include "petrel_gemm.h"

double petrel_peak_fma_ref(size_t iters, float *sink) {
    float acc[8] = {0};
    const float x = 0.999999f, y = 1e-7f;
    for (size_t i = 0; i < iters; ++i)
        for (int j = 0; j < 8; ++j) acc[j] = acc[j] * x + y;
    float s = 0; for (int j = 0; j < 8; ++j) s += acc[j];
    *sink = s;
    return (double)iters * 8 * 2;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS 12
__attribute__((target("avx2,fma")))
double petrel_peak_fma_avx2(size_t iters, float *sink) {
    __m256 acc[CHAINS];
    for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_set1_ps((float)j);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (size_t i = 0; i < iters; ++i) {
#pragma clang loop unroll(full)
        for (int j = 0; j < CHAINS; ++j) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]));  // keep the chains live
    }
    __m256 s = acc[0];
    for (int j = 1; j < CHAINS; ++j) s = _mm256_add_ps(s, acc[j]);
    float t[8]; _mm256_storeu_ps(t, s);
    *sink = t[0] + t[7];
    return (double)iters * CHAINS * 8 * 2;
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
double petrel_peak_fma_avx512(size_t iters, float *sink) {
    __m512 acc[CHAINS];
    for (int j = 0; j < CHAINS; ++j) acc[j] = _mm512_set1_ps((float)j);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (size_t i = 0; i < iters; ++i) {
#pragma clang loop unroll(full)
        for (int j = 0; j < CHAINS; ++j) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));
    }
    __m512 s = acc[0];
    for (int j = 1; j < CHAINS; ++j) s = _mm512_add_ps(s, acc[j]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iters * CHAINS * 16 * 2;
}
#else
double petrel_peak_fma_avx2(size_t iters, float *sink) { return petrel_peak_fma_ref(iters, sink); }
double petrel_peak_fma_avx512(size_t iters, float *sink) { return petrel_peak_fma_ref(iters, sink); }
#endif
