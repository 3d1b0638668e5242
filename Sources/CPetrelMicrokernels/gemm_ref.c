// Portable reference microkernels: plain C, no ISA attributes (the compiler vectorises with the
// baseline SSE2). Used on x86 machines without AVX2+FMA and on other architectures.
#include "petrel_gemm.h"

enum { MR = 4, NR = 16 };

void petrel_sgemm_ukernel_ref_4x16(size_t kc, const float *restrict a, const float *restrict b,
                                   float *restrict c, size_t ldc, size_t m, size_t n,
                                   float alpha, float beta) {
    float acc[MR][NR] = {{0}};
    for (size_t p = 0; p < kc; ++p) {
        for (int i = 0; i < MR; ++i) {
            const float ai = a[i];
            for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
        }
        a += MR; b += NR;
    }
    for (size_t i = 0; i < m; ++i) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) {
            for (size_t j = 0; j < n; ++j) ci[j] = alpha * acc[i][j];
        } else {
            for (size_t j = 0; j < n; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
        }
    }
}

void petrel_sgemv_ref(size_t k, size_t n, const float *restrict x, const float *restrict b,
                      size_t ldb, float *restrict y, float alpha, float beta) {
    size_t j0 = 0;
    for (; j0 < n; j0 += 64) {
        const size_t w = n - j0 < 64 ? n - j0 : 64;
        float acc[64] = {0};
        for (size_t p = 0; p < k; ++p) {
            const float xp = x[p];
            const float *bp = b + p * ldb + j0;
            for (size_t j = 0; j < w; ++j) acc[j] += xp * bp[j];
        }
        if (beta == 0.0f) {
            for (size_t j = 0; j < w; ++j) y[j0 + j] = alpha * acc[j];
        } else {
            for (size_t j = 0; j < w; ++j) y[j0 + j] = alpha * acc[j] + beta * y[j0 + j];
        }
    }
}

void petrel_gemm_epilogue_ref(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                              const float *bias_row, int act, float p0, float p1) {
    for (size_t i = 0; i < m; ++i) {
        float *r = c + i * ldc;
        const float br = bias_row ? bias_row[i] : 0.0f;
        for (size_t j = 0; j < n; ++j) {
            float x = r[j] + br + (bias_col ? bias_col[j] : 0.0f);
            switch (act) {
            case 1: x = x > 0.0f ? x : 0.0f; break;
            case 2: x = x < p0 ? p0 : (x > p1 ? p1 : x); break;
            case 3: x = x >= 0.0f ? x : p0 * x; break;
            default: break;
            }
            r[j] = x;
        }
    }
}
