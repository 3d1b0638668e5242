// AVX2+FMA microkernels (Haswell, Zen 1–3 and later). Per-function target attributes: this file
// is compiled with the package's baseline flags and only entered after CPU detection.
#include "petrel_gemm.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define AVX2 TGT
#include "vec_avx2_math.h"
enum { MR = 6, NR = 16 };

TGT static inline void store_row(float *c, __m256 lo, __m256 hi, __m256 va, __m256 vb, int readc) {
    lo = _mm256_mul_ps(lo, va); hi = _mm256_mul_ps(hi, va);
    if (readc) {
        lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
        hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
    }
    _mm256_storeu_ps(c, lo); _mm256_storeu_ps(c + 8, hi);
}

// Stores a finished 6×16 tile: full tiles straight from registers; edge tiles (m < MR or n < NR)
// through a stack tile so nothing outside the m×n part is touched (C is read only if beta != 0).
TGT static inline void store_tile(float *c, size_t ldc, size_t m, size_t n, float alpha, float beta,
                                  __m256 c00, __m256 c01, __m256 c10, __m256 c11, __m256 c20, __m256 c21,
                                  __m256 c30, __m256 c31, __m256 c40, __m256 c41, __m256 c50, __m256 c51) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (m == MR && n == NR && alpha == 1.0f && beta == 0.0f) {  // x·1 is x: the usual case, 12 multiplies fewer
        _mm256_storeu_ps(c + 0 * ldc, c00); _mm256_storeu_ps(c + 0 * ldc + 8, c01);
        _mm256_storeu_ps(c + 1 * ldc, c10); _mm256_storeu_ps(c + 1 * ldc + 8, c11);
        _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
        _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
        _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41);
        _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51);
        return;
    }
    if (m == MR && n == NR) {
        const int readc = beta != 0.0f;
        store_row(c + 0 * ldc, c00, c01, va, vb, readc); store_row(c + 1 * ldc, c10, c11, va, vb, readc);
        store_row(c + 2 * ldc, c20, c21, va, vb, readc); store_row(c + 3 * ldc, c30, c31, va, vb, readc);
        store_row(c + 4 * ldc, c40, c41, va, vb, readc); store_row(c + 5 * ldc, c50, c51, va, vb, readc);
        return;
    }
    float t[MR * NR] __attribute__((aligned(32)));
    store_row(t + 0 * NR, c00, c01, va, vb, 0); store_row(t + 1 * NR, c10, c11, va, vb, 0);
    store_row(t + 2 * NR, c20, c21, va, vb, 0); store_row(t + 3 * NR, c30, c31, va, vb, 0);
    store_row(t + 4 * NR, c40, c41, va, vb, 0); store_row(t + 5 * NR, c50, c51, va, vb, 0);
    for (size_t i = 0; i < m; ++i) {
        float *ci = c + i * ldc; const float *ti = t + i * NR;
        if (beta == 0.0f) for (size_t j = 0; j < n; ++j) ci[j] = ti[j];
        else for (size_t j = 0; j < n; ++j) ci[j] = ti[j] + beta * ci[j];
    }
}

// 6×16 tile: rows i of C in (c{i}0, c{i}1). Per k step: 2 B loads, 6 broadcasts, 12 FMAs. The k loop
// is unrolled by 4 by hand with a software prefetch of A and B a few steps ahead (measured: +3–4 points
// at 1024³ over no prefetch).
#define STEP(off)                                                                              \
    do {                                                                                       \
        const __m256 b0 = _mm256_loadu_ps(b + (off) * NR), b1 = _mm256_loadu_ps(b + (off) * NR + 8); \
        __m256 av;                                                                             \
        av = _mm256_broadcast_ss(a + (off) * MR + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01); \
        av = _mm256_broadcast_ss(a + (off) * MR + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11); \
        av = _mm256_broadcast_ss(a + (off) * MR + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21); \
        av = _mm256_broadcast_ss(a + (off) * MR + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31); \
        av = _mm256_broadcast_ss(a + (off) * MR + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41); \
        av = _mm256_broadcast_ss(a + (off) * MR + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51); \
    } while (0)

TGT void petrel_sgemm_ukernel_avx2_6x16(size_t kc, const float *restrict a, const float *restrict b,
                                        float *restrict c, size_t ldc, size_t m, size_t n,
                                        float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    // Warm the C tile while the product runs (it is read at the end when beta != 0 and written anyway).
    for (size_t i = 0; i < m; ++i) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    size_t p = kc;
    for (; p >= 4; p -= 4) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 10 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * MR), _MM_HINT_T0);
        STEP(0); STEP(1); STEP(2); STEP(3);
        a += 4 * MR; b += 4 * NR;
    }
    for (; p > 0; --p) { STEP(0); a += MR; b += NR; }

    store_tile(c, ldc, m, n, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

// The same 6×16 tile reading A in place (row-major, row stride lda) instead of from a packed
// panel, as MLAS does: packing A cost 10 % of an MLP at batch 256 (K = 64: each packed float is
// used only 16·NC/NR times). In a tile of 4 or 5 rows, rows past m read row m − 1 again; those
// results are never stored.
#define ROWA_ROW(ap, lo, hi, off)                                                               \
    do {                                                                                       \
        const __m256 av = _mm256_broadcast_ss((ap) + (off));                                   \
        lo = _mm256_fmadd_ps(av, b0, lo); hi = _mm256_fmadd_ps(av, b1, hi);                     \
    } while (0)
#define STEP_ROWA(off)                                                                         \
    do {                                                                                       \
        const __m256 b0 = _mm256_loadu_ps(b + (off) * NR), b1 = _mm256_loadu_ps(b + (off) * NR + 8); \
        ROWA_ROW(a0, c00, c01, off); ROWA_ROW(a1, c10, c11, off); ROWA_ROW(a2, c20, c21, off);  \
        ROWA_ROW(a3, c30, c31, off); ROWA_ROW(a4, c40, c41, off); ROWA_ROW(a5, c50, c51, off);  \
    } while (0)

// Three rows of the same step, for tiles of at most three rows: small batches (a dynamic batch of
// 9 requests is one 6-row and one 3-row tile) would otherwise spend half the edge tile's FMAs on
// copies of row m − 1. Each row's sums run in the same order either way, so results are identical.
#define STEP_ROWA3(off)                                                                        \
    do {                                                                                       \
        const __m256 b0 = _mm256_loadu_ps(b + (off) * NR), b1 = _mm256_loadu_ps(b + (off) * NR + 8); \
        ROWA_ROW(a0, c00, c01, off); ROWA_ROW(a1, c10, c11, off); ROWA_ROW(a2, c20, c21, off);  \
    } while (0)

// The row-A tile product, shared by the plain and the fused-epilogue kernels: declares the 12
// accumulators c00…c51 and leaves A·B of the kc steps in them (rows 3–5 stay zero when m ≤ 3).
#define ROWA_PRODUCT()                                                                          \
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,    \
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;                    \
    const float *a0 = a, *a1 = a + (m > 1 ? 1 : 0) * lda, *a2 = a + (m > 2 ? 2 : m - 1) * lda,  \
                *a3 = a + (m > 3 ? 3 : m - 1) * lda, *a4 = a + (m > 4 ? 4 : m - 1) * lda,       \
                *a5 = a + (m > 5 ? 5 : m - 1) * lda;                                            \
    for (size_t i = 0; i < m; ++i) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);     \
    size_t p = kc;                                                                              \
    if (m <= 3) {                                                                               \
        for (; p >= 4; p -= 4) {                                                                \
            _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);                             \
            _mm_prefetch((const char *)(b + 10 * NR), _MM_HINT_T0);                            \
            STEP_ROWA3(0); STEP_ROWA3(1); STEP_ROWA3(2); STEP_ROWA3(3);                         \
            a0 += 4; a1 += 4; a2 += 4; b += 4 * NR;                                             \
        }                                                                                       \
        for (; p > 0; --p) { STEP_ROWA3(0); a0++; a1++; a2++; b += NR; }                        \
    } else {                                                                                    \
        for (; p >= 4; p -= 4) {                                                                \
            _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);                             \
            _mm_prefetch((const char *)(b + 10 * NR), _MM_HINT_T0);                            \
            STEP_ROWA(0); STEP_ROWA(1); STEP_ROWA(2); STEP_ROWA(3);                             \
            a0 += 4; a1 += 4; a2 += 4; a3 += 4; a4 += 4; a5 += 4; b += 4 * NR;                  \
        }                                                                                       \
        for (; p > 0; --p) { STEP_ROWA(0); a0++; a1++; a2++; a3++; a4++; a5++; b += NR; }       \
    }                                                                                           \
    (void)a3; (void)a4; (void)a5;

TGT void petrel_sgemm_ukernel_rowa_avx2_6x16(size_t kc, const float *restrict a, size_t lda,
                                             const float *restrict b, float *restrict c, size_t ldc,
                                             size_t m, size_t n, float alpha, float beta) {
    ROWA_PRODUCT()

    store_tile(c, ldc, m, n, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

TGT static inline __m256 epi_act(__m256 x, int act, __m256 p0, __m256 p1) {
    const __m256 zero = _mm256_setzero_ps();
    switch (act) {  // as petrel_gemm_epilogue_avx2, so fused and separate epilogues agree bit for bit
    case 1: return _mm256_max_ps(x, zero);
    case 2: return _mm256_min_ps(_mm256_max_ps(x, p0), p1);
    case 3: return _mm256_blendv_ps(_mm256_mul_ps(x, p0), x, _mm256_cmp_ps(x, zero, _CMP_GE_OQ));
    case 4: return gelu8(x);
    default: return x;
    }
}

// One finished row of the tile: alpha·acc (+ beta·C), + row bias, + column bias, activation, store.
TGT static inline void epi_row(float *c, __m256 lo, __m256 hi, __m256 va, __m256 vb, int readc, __m256 br,
                               __m256 bl, __m256 bh, int act, __m256 p0, __m256 p1) {
    lo = _mm256_mul_ps(lo, va); hi = _mm256_mul_ps(hi, va);
    if (readc) {
        lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
        hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
    }
    lo = _mm256_add_ps(_mm256_add_ps(lo, br), bl); hi = _mm256_add_ps(_mm256_add_ps(hi, br), bh);
    _mm256_storeu_ps(c, epi_act(lo, act, p0, p1)); _mm256_storeu_ps(c + 8, epi_act(hi, act, p0, p1));
}

TGT void petrel_sgemm_ukernel_rowa_epi_avx2_6x16(size_t kc, const float *restrict a, size_t lda,
                                                 const float *restrict b, float *restrict c, size_t ldc,
                                                 size_t m, size_t n, float alpha, float beta,
                                                 const float *bias_col, const float *bias_row, int act,
                                                 float p0, float p1) {
    ROWA_PRODUCT()

    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta), vp0 = _mm256_set1_ps(p0), vp1 = _mm256_set1_ps(p1);
    __m256 bl = _mm256_setzero_ps(), bh = bl;
    if (bias_col && n == NR) {
        bl = _mm256_loadu_ps(bias_col); bh = _mm256_loadu_ps(bias_col + 8);
    } else if (bias_col) {  // never read past column n
        bl = _mm256_maskload_ps(bias_col, tail_mask(n < 8 ? n : 8));
        if (n > 8) bh = _mm256_maskload_ps(bias_col + 8, tail_mask(n - 8));
    }
    __m256 br[MR];
    for (size_t i = 0; i < MR; ++i) br[i] = _mm256_set1_ps(bias_row && i < m ? bias_row[i] : 0.0f);
    const __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    const int readc = beta != 0.0f;
    if (m == MR && n == NR) {
        // Phase by phase over the whole tile, the activation's switch outside: the 12 vectors'
        // GELU chains (a rational with a divide, ~60 cycles of latency each) then overlap instead
        // of running two at a time per row (MiniLM's FF1 epilogue was a tenth of its GEMM).
        __m256 v[MR][2];
        // A model's Dense: alpha 1, no C, column bias only. (x·1 + 0) + b is x + b bit for bit
        // unless x and b are both -0, so both forms agree to the last bit in practice.
        if (alpha == 1.0f && !readc && !bias_row) {
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; ++i) { v[i][0] = _mm256_add_ps(rows[i][0], bl); v[i][1] = _mm256_add_ps(rows[i][1], bh); }
        } else {
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; ++i) {
                __m256 lo = _mm256_mul_ps(rows[i][0], va), hi = _mm256_mul_ps(rows[i][1], va);
                if (readc) {
                    lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + i * ldc), lo);
                    hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + i * ldc + 8), hi);
                }
                v[i][0] = _mm256_add_ps(_mm256_add_ps(lo, br[i]), bl);
                v[i][1] = _mm256_add_ps(_mm256_add_ps(hi, br[i]), bh);
            }
        }
        if (act == 4) {
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; ++i) { v[i][0] = gelu8(v[i][0]); v[i][1] = gelu8(v[i][1]); }
        } else if (act != 0) {
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; ++i) { v[i][0] = epi_act(v[i][0], act, vp0, vp1); v[i][1] = epi_act(v[i][1], act, vp0, vp1); }
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; ++i) { _mm256_storeu_ps(c + i * ldc, v[i][0]); _mm256_storeu_ps(c + i * ldc + 8, v[i][1]); }
        return;
    }
    // Edge tile: through a stack tile holding C's m×n part (when beta reads it), nothing else touched.
    float t[MR * NR] __attribute__((aligned(32))) = {0};
    if (readc) for (size_t i = 0; i < m; ++i) for (size_t j = 0; j < n; ++j) t[i * NR + j] = c[i * ldc + j];
    for (size_t i = 0; i < m; ++i) epi_row(t + i * NR, rows[i][0], rows[i][1], va, vb, readc, br[i], bl, bh, act, vp0, vp1);
    for (size_t i = 0; i < m; ++i) for (size_t j = 0; j < n; ++j) c[i * ldc + j] = t[i * NR + j];
}

// y = alpha·x·B + beta·y. Columns in blocks of 32 (4 accumulators) with k unrolled by 2 into a
// second accumulator set: 8 independent FMA chains cover the 4-cycle latency on 2 ports. Memory
// bound on B for large K×N, which it streams exactly once.
TGT void petrel_sgemv_avx2(size_t k, size_t n, const float *restrict x, const float *restrict b,
                           size_t ldb, float *restrict y, float alpha, float beta) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        const float *bp = b + j;
        size_t p = 0;
        for (; p + 2 <= k; p += 2, bp += 2 * ldb) {
            const __m256 x0 = _mm256_broadcast_ss(x + p), x1 = _mm256_broadcast_ss(x + p + 1);
            s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp), s0);
            s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 8), s1);
            s2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 16), s2);
            s3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 24), s3);
            t0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + ldb), t0);
            t1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + ldb + 8), t1);
            t2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + ldb + 16), t2);
            t3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + ldb + 24), t3);
        }
        if (p < k) {
            const __m256 x0 = _mm256_broadcast_ss(x + p);
            s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp), s0);
            s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 8), s1);
            s2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 16), s2);
            s3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 24), s3);
        }
        __m256 r[4] = {_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1), _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3)};
        for (int q = 0; q < 4; ++q) {
            __m256 v = _mm256_mul_ps(va, r[q]);
            if (beta != 0.0f) v = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + j + 8 * q), v);
            _mm256_storeu_ps(y + j + 8 * q, v);
        }
    }
    // A 16-column block (one pre-packed panel: the packed M = 1 path calls with n = 16, ldb = 16):
    // k unrolled by 4 into 8 independent chains.
    for (; j + 16 <= n; j += 16) {
        __m256 s[8];
        for (int q = 0; q < 8; ++q) s[q] = _mm256_setzero_ps();
        const float *bp = b + j;
        size_t p = 0;
        for (; p + 4 <= k; p += 4, bp += 4 * ldb) {
#pragma clang loop unroll(full)
            for (int u = 0; u < 4; ++u) {
                const __m256 xu = _mm256_broadcast_ss(x + p + u);
                s[2 * u] = _mm256_fmadd_ps(xu, _mm256_loadu_ps(bp + u * ldb), s[2 * u]);
                s[2 * u + 1] = _mm256_fmadd_ps(xu, _mm256_loadu_ps(bp + u * ldb + 8), s[2 * u + 1]);
            }
        }
        for (; p < k; ++p, bp += ldb) {
            const __m256 x0 = _mm256_broadcast_ss(x + p);
            s[0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp), s[0]);
            s[1] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 8), s[1]);
        }
        __m256 lo = _mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[4], s[6]));
        __m256 hi = _mm256_add_ps(_mm256_add_ps(s[1], s[3]), _mm256_add_ps(s[5], s[7]));
        lo = _mm256_mul_ps(va, lo); hi = _mm256_mul_ps(va, hi);
        if (beta != 0.0f) {
            lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + j), lo);
            hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + j + 8), hi);
        }
        _mm256_storeu_ps(y + j, lo); _mm256_storeu_ps(y + j + 8, hi);
    }
    // Remaining columns 8 at a time, the last (< 8) with masked loads/stores (never past n).
    for (; j < n; j += 8) {
        const size_t w = n - j < 8 ? n - j : 8;
        const __m256i mask = w == 8 ? _mm256_set1_epi32(-1) : tail_mask(w);
        __m256 s0 = _mm256_setzero_ps(), t0 = s0;
        const float *bp = b + j;
        size_t p = 0;
        for (; p + 2 <= k; p += 2, bp += 2 * ldb) {
            s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + p), _mm256_maskload_ps(bp, mask), s0);
            t0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + p + 1), _mm256_maskload_ps(bp + ldb, mask), t0);
        }
        if (p < k) s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + p), _mm256_maskload_ps(bp, mask), s0);
        __m256 v = _mm256_mul_ps(va, _mm256_add_ps(s0, t0));
        if (beta != 0.0f) v = _mm256_fmadd_ps(vb, _mm256_maskload_ps(y + j, mask), v);
        store_first(y + j, v, w);
    }
}
// y = alpha·x·B + beta·y over pairs of pre-packed 16-column panels (each K×16, one after the
// other). One broadcast of x feeds both panels' four FMAs, and k unrolled by 4 into 8 chains:
// ~3 instructions per panel and k against ~4.75 for one panel per call, plus one call per layer
// instead of one per panel. A batch-1 MLP spends most of its time here.
TGT void petrel_sgemv_panel_pairs_avx2(size_t k, size_t pairs, const float *restrict x, const float *restrict b,
                                       float *restrict y, float alpha, float beta) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const size_t ps = 16 * k;
    for (size_t q = 0; q < pairs; ++q, b += 2 * ps, y += 32) {
        const float *b0 = b, *b1 = b + ps;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        size_t p = 0, o = 0;
        // k by 4 per trip (two steps into each chain): the loop's own count and pointer
        // arithmetic is then a sixth of the trip, not two fifths.
#define PAIR_STEP(pp, oo, S0, S1, S2, S3)                                   \
        {                                                                   \
            const __m256 xv = _mm256_broadcast_ss(x + (pp));                \
            S0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b0 + (oo)), S0);       \
            S1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b0 + (oo) + 8), S1);   \
            S2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b1 + (oo)), S2);       \
            S3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b1 + (oo) + 8), S3);   \
        }
        for (; p + 4 <= k; p += 4, o += 64) {
            PAIR_STEP(p, o, s0, s1, s2, s3)
            PAIR_STEP(p + 1, o + 16, t0, t1, t2, t3)
            PAIR_STEP(p + 2, o + 32, s0, s1, s2, s3)
            PAIR_STEP(p + 3, o + 48, t0, t1, t2, t3)
        }
        if (p + 2 <= k) {
            PAIR_STEP(p, o, s0, s1, s2, s3)
            PAIR_STEP(p + 1, o + 16, t0, t1, t2, t3)
            p += 2; o += 32;
        }
#undef PAIR_STEP
        if (p < k) {
            const __m256 x0 = _mm256_broadcast_ss(x + p);
            s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + o), s0);
            s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + o + 8), s1);
            s2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b1 + o), s2);
            s3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b1 + o + 8), s3);
        }
        const __m256 r[4] = {_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1), _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3)};
        for (int i = 0; i < 4; ++i) {
            __m256 v = _mm256_mul_ps(va, r[i]);
            if (beta != 0.0f) v = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + 8 * i), v);
            _mm256_storeu_ps(y + 8 * i, v);
        }
    }
}
// The epilogue of one tile (≤ 6×16 here, just stored and still in L1): 8 lanes at a time, a masked
// tail, no per-element branches. Clip uses max-then-min like the scalar reference.
TGT void petrel_gemm_epilogue_avx2(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                                   const float *bias_row, int act, float p0, float p1) {
    const __m256 zero = _mm256_setzero_ps(), lo = _mm256_set1_ps(p0), hi = _mm256_set1_ps(p1);
    for (size_t i = 0; i < m; ++i) {
        float *r = c + i * ldc;
        const __m256 br = _mm256_set1_ps(bias_row ? bias_row[i] : 0.0f);
        for (size_t j = 0; j < n; j += 8) {
            const size_t left = n - j;
            // Full vectors use plain loads: the tile was just stored, and a masked load cannot
            // take its data from the store buffer (measured: the masked form cost 14 % of an MLP).
            const __m256i mask = left >= 8 ? _mm256_set1_epi32(-1) : tail_mask(left);
            __m256 x = left >= 8 ? _mm256_loadu_ps(r + j) : _mm256_maskload_ps(r + j, mask);
            x = _mm256_add_ps(x, br);
            if (bias_col) x = _mm256_add_ps(x, left >= 8 ? _mm256_loadu_ps(bias_col + j) : _mm256_maskload_ps(bias_col + j, mask));
            switch (act) {
            case 1: x = _mm256_max_ps(x, zero); break;
            case 2: x = _mm256_min_ps(_mm256_max_ps(x, lo), hi); break;
            case 3: x = _mm256_blendv_ps(_mm256_mul_ps(x, lo), x, _mm256_cmp_ps(x, zero, _CMP_GE_OQ)); break;
            case 4: x = gelu8(x); break;
            default: break;
            }
            store_first(r + j, x, left);
        }
    }
}
#else
// Not x86-64: the dispatch table never selects these; keep the symbols so the table links.
void petrel_sgemm_ukernel_avx2_6x16(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                                    size_t m, size_t n, float alpha, float beta) {
    (void)kc; (void)a; (void)b; (void)c; (void)ldc; (void)m; (void)n; (void)alpha; (void)beta;
    __builtin_trap();  // unreachable: ISA.detected is .reference off x86-64
}
void petrel_sgemv_avx2(size_t k, size_t n, const float *x, const float *b, size_t ldb, float *y,
                       float alpha, float beta) {
    petrel_sgemv_ref(k, n, x, b, ldb, y, alpha, beta);
}

void petrel_sgemv_panel_pairs_avx2(size_t k, size_t pairs, const float *x, const float *b, float *y,
                                   float alpha, float beta) {
    (void)k; (void)pairs; (void)x; (void)b; (void)y; (void)alpha; (void)beta;
    __builtin_trap();
}
void petrel_gemm_epilogue_avx2(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                               const float *bias_row, int act, float p0, float p1) {
    petrel_gemm_epilogue_ref(c, ldc, m, n, bias_col, bias_row, act, p0, p1);
}
void petrel_sgemm_ukernel_rowa_avx2_6x16(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                         size_t ldc, size_t m, size_t n, float alpha, float beta) {
    (void)kc; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)m; (void)n; (void)alpha; (void)beta;
    __builtin_trap();
}
void petrel_sgemm_ukernel_rowa_epi_avx2_6x16(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                             size_t ldc, size_t m, size_t n, float alpha, float beta,
                                             const float *bias_col, const float *bias_row, int act,
                                             float p0, float p1) {
    (void)kc; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)m; (void)n; (void)alpha; (void)beta;
    (void)bias_col; (void)bias_row; (void)act; (void)p0; (void)p1;
    __builtin_trap();
}
#endif
