#ifndef PETREL_GEMM_H
#define PETREL_GEMM_H
#include <stddef.h>

/// SGEMM microkernel, one per ISA, all with this signature (the Swift driver holds them as
/// `@convention(c)` pointers in `GemmKernels`).
///
///   C[m×n] = alpha · Â·B̂ + beta · C      (m ≤ MR, n ≤ NR, C row-major with row stride ldc)
///
/// - `a`: packed A, kc steps of MR consecutive floats (one MR-row panel, zero-padded rows).
/// - `b`: packed B, kc rows of NR consecutive floats (one NR-column panel, K×NR row-major,
///   zero-padded columns) — the persisted `PackedBLayout`, so a pre-packed weight panel is passed
///   as is (`b` = panel base + k0·NR).
/// - `beta == 0` overwrites C without reading it (NaN garbage in C is ignored).
/// - Full tiles are stored straight from registers; edge tiles (m < MR or n < NR) go through a
///   stack buffer so the kernel never touches memory outside the m×n tile.
/// The kernel computes one tile and returns; the Swift driver loops over tiles (so the epilogue
/// can run on each tile while it is still in L1).
typedef void (*petrel_sgemm_ukernel_fn)(size_t kc, const float *a, const float *b,
                                        float *c, size_t ldc, size_t m, size_t n,
                                        float alpha, float beta);

/// Portable C (no ISA attributes), MR×NR = 4×16: same NR as AVX2, so weights packed for AVX2
/// load unchanged on machines without it.
void petrel_sgemm_ukernel_ref_4x16(size_t kc, const float *a, const float *b, float *c,
                                   size_t ldc, size_t m, size_t n, float alpha, float beta);
/// AVX2+FMA, 6×16: 12 ymm accumulators + 2 B vectors + 1 A broadcast = 15 of 16 registers
/// (BLIS Haswell/Zen shape): 2 loads + 1 broadcast per 2 FMAs keeps both FMA ports busy.
void petrel_sgemm_ukernel_avx2_6x16(size_t kc, const float *a, const float *b, float *c,
                                    size_t ldc, size_t m, size_t n, float alpha, float beta);
/// AVX-512, 14×32: 28 zmm accumulators + 2 B vectors + 1 broadcast = 31 of 32 registers.
void petrel_sgemm_ukernel_avx512_14x32(size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, size_t m, size_t n, float alpha, float beta);

/// A microkernel that reads A in place (row-major, row stride `lda`) instead of from a packed
/// panel; otherwise as `petrel_sgemm_ukernel_fn`. Used for non-transposed A where the ISA has one.
typedef void (*petrel_sgemm_ukernel_rowa_fn)(size_t kc, const float *a, size_t lda, const float *b,
                                             float *c, size_t ldc, size_t m, size_t n,
                                             float alpha, float beta);
void petrel_sgemm_ukernel_rowa_avx2_6x16(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                         size_t ldc, size_t m, size_t n, float alpha, float beta);

/// The row-A kernel with the GEMM epilogue (see `petrel_gemm_epilogue_fn`: bias per column and/or
/// per row, pointers already offset to this tile, then `act` 0–4) applied to the tile in registers
/// on its last K pass: C is written once instead of stored, reloaded and stored again (that pass
/// was 11 % of an MLP at batch 256).
typedef void (*petrel_sgemm_ukernel_rowa_epi_fn)(size_t kc, const float *a, size_t lda, const float *b,
                                                 float *c, size_t ldc, size_t m, size_t n,
                                                 float alpha, float beta, const float *bias_col,
                                                 const float *bias_row, int act, float p0, float p1);
void petrel_sgemm_ukernel_rowa_epi_avx2_6x16(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                             size_t ldc, size_t m, size_t n, float alpha, float beta,
                                             const float *bias_col, const float *bias_row, int act,
                                             float p0, float p1);

/// Row-vector times matrix (the M = 1 path: MLP at batch 1, decoder steps):
///   y[n] = alpha · x[k]·B[k×n] + beta · y     (B row-major with row stride ldb; beta == 0 ignores y)
/// Also serves pre-packed B: each NR-column panel is a K×NR matrix with ldb = NR.
typedef void (*petrel_sgemv_fn)(size_t k, size_t n, const float *x, const float *b, size_t ldb,
                                float *y, float alpha, float beta);
void petrel_sgemv_ref(size_t k, size_t n, const float *x, const float *b, size_t ldb,
                      float *y, float alpha, float beta);
void petrel_sgemv_avx2(size_t k, size_t n, const float *x, const float *b, size_t ldb,
                       float *y, float alpha, float beta);

/// The same over `pairs` pairs of pre-packed 16-column panels (each K×16, consecutive): y gets
/// 32·pairs columns. The AVX2 table's batch-1 path for whole panel pairs.
typedef void (*petrel_sgemv_panel_pairs_fn)(size_t k, size_t pairs, const float *x, const float *b,
                                            float *y, float alpha, float beta);
void petrel_sgemv_panel_pairs_avx2(size_t k, size_t pairs, const float *x, const float *b,
                                   float *y, float alpha, float beta);

/// GEMM epilogue on one tile while it is in L1: C[m×n] += bias (per column when `bias_col`, per row
/// when `bias_row`; either may be NULL), then the activation `act`:
///   0 none, 1 relu, 2 clip to [p0, p1], 3 leaky relu with slope p0; and in the AVX2 epilogues
///   4 GELU (erf form), the very function of `petrel_vec_gelu_avx2`. The reference epilogue takes
///   0–3 only; other activations (sigmoid, tanh) are applied by the vector kernels after this.
typedef void (*petrel_gemm_epilogue_fn)(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                                        const float *bias_row, int act, float p0, float p1);
void petrel_gemm_epilogue_ref(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                              const float *bias_row, int act, float p0, float p1);
void petrel_gemm_epilogue_avx2(float *c, size_t ldc, size_t m, size_t n, const float *bias_col,
                               const float *bias_row, int act, float p0, float p1);

/// Peak FMA throughput loops: run `iters` iterations of enough independent vector FMA chains to
/// cover latency × ports, and return the number of floating-point operations performed (the
/// result feeds a sink so the loop cannot be removed). The caller times them.
double petrel_peak_fma_ref(size_t iters, float *sink);
double petrel_peak_fma_avx2(size_t iters, float *sink);
double petrel_peak_fma_avx512(size_t iters, float *sink);

/// Packing with 8×8 register transposes (AVX2; pack_avx2.c). One full 6-row panel of
/// non-transposed A: dst[p·6 + i] = a[i·lda + p] for p < kb. One full 16-column panel of
/// transposed B (column j is the contiguous row b + j·ldb): dst[p·16 + j] = b[j·ldb + p].
void petrel_pack_a6_avx2(const float *a, size_t lda, size_t kb, float *dst);
void petrel_pack_bt16_avx2(const float *b, size_t ldb, size_t kb, float *dst);

/// Spin-wait hint for the thread pool (x86 `pause`).
static inline void petrel_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// A range of items [front, back) packed in one word, claimed from either end (see
/// `ThreadPool.parallelClaim`): its owner takes the front, a thread that ran out of its own range
/// takes the back. Returns the item, or -1 when the range is empty. Relaxed: the region's own
/// join orders everything the items wrote.
static inline long petrel_claim_end(unsigned long long *range, int back) {
    unsigned long long r = __atomic_load_n(range, __ATOMIC_RELAXED);
    for (;;) {
        unsigned long long f = r & 0xffffffffull, b = r >> 32;
        if (f >= b) return -1;
        unsigned long long next = back ? (f | ((b - 1) << 32)) : ((f + 1) | (b << 32));
        if (__atomic_compare_exchange_n(range, &r, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return (long)(back ? b - 1 : f);
    }
}
/// Asks for `lines` consecutive 64-byte lines from `p` into L2 (prefetcht1), without waiting: the
/// driver spreads the next weight panel's lines over the current panel's row tiles, so a weight
/// that streams from DRAM (a transformer's layers do not fit L3) arrives before its first tile.
static inline void petrel_prefetch_l2(const void *p, size_t lines) {
    const char *c = (const char *)p;
    for (size_t i = 0; i < lines; ++i) __builtin_prefetch(c + 64 * i, 0, 2);
}
#endif
