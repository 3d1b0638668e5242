// Winograd F(2×2, 3×3) convolution (see include/petrel_conv.h). The weight transform is portable
// (run once per plan); the per-inference kernel is AVX2+FMA with per-function target attributes,
// like the GEMM kernels: compiled with baseline flags, entered only after CPU detection.
//
// With d a 4×4 input patch, g a 3×3 filter and Y the 2×2 outputs of the tile:
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,   summed over input channels inside the brackets, with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1].
// The channel sum at each of the 16 positions t is a small matrix product U_t [cout × cin] ·
// V_t [cin × tiles]: 16 multiply-adds per 4 outputs and input channel instead of 36.
#include "petrel_conv.h"
#include <string.h>

#define WB PETREL_WINOGRAD_BLOCK  /* output channels per weight block */
#define TT 16                     /* tiles per chunk: two ymm of 8 */

void petrel_conv_winograd_weights(const float *w, size_t cin, size_t cout, float *u) {
    size_t blocks = (cout + WB - 1) / WB;
    memset(u, 0, blocks * 16 * cin * WB * sizeof(float));
    for (size_t co = 0; co < cout; co++) {
        for (size_t ci = 0; ci < cin; ci++) {
            const float *g = w + (co * cin + ci) * 9;
            float rows[4][3];  // G g
            for (int c = 0; c < 3; c++) {
                rows[0][c] = g[c];
                rows[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
                rows[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
                rows[3][c] = g[6 + c];
            }
            for (int r = 0; r < 4; r++) {  // (G g) Gᵀ
                const float *q = rows[r];
                float t4[4] = {q[0], 0.5f * (q[0] + q[1] + q[2]), 0.5f * (q[0] - q[1] + q[2]), q[2]};
                for (int c = 0; c < 4; c++)
                    u[(((co / WB) * 16 + (size_t)(r * 4 + c)) * cin + ci) * WB + co % WB] = t4[c];
            }
        }
    }
}

#if defined(__x86_64__)
#include "conv_avx2_common.h"
#define AVX2 TGT
#include "vec_avx2_math.h"

// One tile's Bᵀ d B as four vectors over ξ, one per ν (w[ν][ξ] = V[ξ][ν]).
TGT INLINE void tile_transform(const float *d, size_t wp, __m128 w[4]) {
    __m128 r0 = _mm_loadu_ps(d), r1 = _mm_loadu_ps(d + wp), r2 = _mm_loadu_ps(d + 2 * wp), r3 = _mm_loadu_ps(d + 3 * wp);
    __m128 t0 = _mm_sub_ps(r0, r2), t1 = _mm_add_ps(r1, r2), t2 = _mm_sub_ps(r2, r1), t3 = _mm_sub_ps(r1, r3);
    _MM_TRANSPOSE4_PS(t0, t1, t2, t3);
    w[0] = _mm_sub_ps(t0, t2); w[1] = _mm_add_ps(t1, t2); w[2] = _mm_sub_ps(t2, t1); w[3] = _mm_sub_ps(t1, t3);
}

// V[t][ci][i] for tiles k0 + i, i < n; slots past n repeat tile k0 (finite, never stored out).
// Four tiles at a time: transposing their per-ν vectors gives vectors over tiles, so V is
// written in whole 4-float stores instead of 16 scalar ones per tile (input transform 0.056 →
// 0.04 ms for digits-cnn's second conv at batch 64).
TGT static void input_transform(const float *in, size_t cin, size_t hp, size_t wp, size_t tiles_w,
                                size_t k0, size_t n, float *v) {
    const size_t plane = cin * TT;
    size_t offset[TT];
    for (size_t i = 0; i < TT; i++) {
        size_t k = k0 + (i < n ? i : 0);
        offset[i] = 2 * (k / tiles_w) * wp + 2 * (k % tiles_w);
    }
    for (size_t ci = 0; ci < cin; ci++) {
        const float *src = in + ci * hp * wp;
        float *dst = v + ci * TT;
        for (size_t i = 0; i < TT; i += 4) {
            __m128 w[4][4];
            for (int q = 0; q < 4; q++) tile_transform(src + offset[i + q], wp, w[q]);
            for (int nu = 0; nu < 4; nu++) {
                __m128 a = w[0][nu], b = w[1][nu], c = w[2][nu], e = w[3][nu];
                _MM_TRANSPOSE4_PS(a, b, c, e);
                _mm_storeu_ps(dst + (size_t)(0 * 4 + nu) * plane + i, a);
                _mm_storeu_ps(dst + (size_t)(1 * 4 + nu) * plane + i, b);
                _mm_storeu_ps(dst + (size_t)(2 * 4 + nu) * plane + i, c);
                _mm_storeu_ps(dst + (size_t)(3 * 4 + nu) * plane + i, e);
            }
        }
    }
}

// M[t][j][0..16) = Σ_ci U[t][ci][j] · V[t][ci][0..16) for the C channels of one weight block:
// 4 channels × 2 vectors of tiles, 8 accumulators (6 channels with 12 measured slower).
TGT INLINE void multiply(const float *v, const float *u, size_t cin, const int C, float *m) {
    for (int t = 0; t < 16; t++) {
        const float *vt = v + (size_t)t * cin * TT, *ut = u + (size_t)t * cin * WB;
        __m256 acc[2][WB];
        for (int j = 0; j < WB; j++) acc[0][j] = acc[1][j] = _mm256_setzero_ps();
        for (size_t ci = 0; ci < cin; ci++) {
            __m256 x0 = _mm256_loadu_ps(vt + ci * TT), x1 = _mm256_loadu_ps(vt + ci * TT + 8);
            for (int j = 0; j < C; j++) {
                __m256 w = _mm256_broadcast_ss(ut + ci * WB + j);
                acc[0][j] = _mm256_fmadd_ps(x0, w, acc[0][j]);
                acc[1][j] = _mm256_fmadd_ps(x1, w, acc[1][j]);
            }
        }
        for (int j = 0; j < C; j++) {
            _mm256_storeu_ps(m + ((size_t)t * WB + j) * TT, acc[0][j]);
            _mm256_storeu_ps(m + ((size_t)t * WB + j) * TT + 8, acc[1][j]);
        }
    }
}

// Y = Aᵀ M A for every tile of the chunk, + bias, activation, into the output planes.
// With `pool`, each tile is one 2×2 max-pool window: its maximum goes to the pooled plane
// ((oh/2) × (ow/2), oh and ow even), whose row-major order is the tiles' own.
TGT static void output_transform(const float *m, int C, size_t co0, size_t k0, size_t n, size_t tiles_w,
                                 float *out, size_t oh, size_t ow, const float *bias, int act, float lo, float hi,
                                 int pool) {
    // Every tile inside the output, and four tiles (half a vector) never straddle a tile row.
    const int whole = tiles_w % 4 == 0 && ow == 2 * tiles_w && oh % 2 == 0;
    for (int j = 0; j < C; j++) {
        __m256 b = bias ? _mm256_set1_ps(bias[co0 + j]) : _mm256_setzero_ps();
        float *plane = out + (co0 + j) * (pool ? (oh / 2) * (ow / 2) : oh * ow);
        for (size_t h = 0; h < n; h += 8) {
            __m256 x[16];
            for (int t = 0; t < 16; t++) x[t] = _mm256_loadu_ps(m + ((size_t)t * WB + j) * TT + h);
            __m256 s0[4], s1[4];
            for (int nu = 0; nu < 4; nu++) {
                s0[nu] = _mm256_add_ps(_mm256_add_ps(x[nu], x[4 + nu]), x[8 + nu]);
                s1[nu] = _mm256_sub_ps(_mm256_sub_ps(x[4 + nu], x[8 + nu]), x[12 + nu]);
            }
            __m256 y00 = activate(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]), b), act, lo, hi);
            __m256 y01 = activate(_mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]), b), act, lo, hi);
            __m256 y10 = activate(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]), b), act, lo, hi);
            __m256 y11 = activate(_mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]), b), act, lo, hi);
            if (pool) {
                // MaxPool's order (row 0 left, right, row 1 left, right; later wins only if
                // greater), so NaNs come out as the unfused MaxPool gives them.
                __m256 mx = _mm256_max_ps(y11, _mm256_max_ps(y10, _mm256_max_ps(y01, y00)));
                if (n - h >= 8) { _mm256_storeu_ps(plane + k0 + h, mx); continue; }
                float y[8];
                _mm256_storeu_ps(y, mx);
                for (size_t i = 0; i < n - h; i++) plane[k0 + h + i] = y[i];
                continue;
            }
            if (whole && n - h >= 8) {
                // Interleaving y·0 with y·1 gives eight consecutive output pixels of a row for
                // each half: rows 2·th and 2·th + 1 of lanes 0–3, then of lanes 4–7.
                __m256 lo0 = _mm256_unpacklo_ps(y00, y01), hi0 = _mm256_unpackhi_ps(y00, y01);
                __m256 lo1 = _mm256_unpacklo_ps(y10, y11), hi1 = _mm256_unpackhi_ps(y10, y11);
                for (int half = 0; half < 2; half++) {
                    size_t k = k0 + h + 4 * (size_t)half, oy = 2 * (k / tiles_w), ox = 2 * (k % tiles_w);
                    float *d = plane + oy * ow + ox;
                    _mm256_storeu_ps(d, half ? _mm256_permute2f128_ps(lo0, hi0, 0x31) : _mm256_permute2f128_ps(lo0, hi0, 0x20));
                    _mm256_storeu_ps(d + ow, half ? _mm256_permute2f128_ps(lo1, hi1, 0x31) : _mm256_permute2f128_ps(lo1, hi1, 0x20));
                }
                continue;
            }
            float y[4][8];
            _mm256_storeu_ps(y[0], y00); _mm256_storeu_ps(y[1], y01); _mm256_storeu_ps(y[2], y10); _mm256_storeu_ps(y[3], y11);
            size_t end = n - h < 8 ? n - h : 8;
            for (size_t i = 0; i < end; i++) {
                size_t k = k0 + h + i, oy = 2 * (k / tiles_w), ox = 2 * (k % tiles_w);
                float *d = plane + oy * ow + ox;
                d[0] = y[0][i];
                if (ox + 1 < ow) d[1] = y[1][i];
                if (oy + 1 < oh) {
                    d[ow] = y[2][i];
                    if (ox + 1 < ow) d[ow + 1] = y[3][i];
                }
            }
        }
    }
}

// The image into zero-bordered planes with whole-vector stores only: no libc call (memset/memcpy
// per 10-float row were 6–8 % of digits-cnn's batch-64 inference; clang made them out of plain
// loops until the target got -fno-builtin-memset/-memcpy, see Package.swift), and no masked store
// (vmaskmovps to memory is microcoded on AMD: one per row was 22 % of its second conv, Zen 4). A store may run up to 7 floats past its row into the next, which is written after
// it; the last plane's overrun lands in the transform buffer that follows (filled later). Reading
// stays exact: the source's last chunk is a masked load (cheap), zeros past the row.
TGT static void pad_planes(const float *in, size_t cin, size_t h, size_t w, size_t pad_top, size_t pad_left,
                           size_t hp, size_t wp, float *padded) {
    const __m256 z = _mm256_setzero_ps();
    const size_t body = w / 8 * 8;
    const __m256i tail = tail_mask(w - body);
    // Past the source's last chunk (whose store already wrote zeros up to a multiple of 8).
    const size_t right = pad_left + (body < w ? body + 8 : w);
    for (size_t ci = 0; ci < cin; ci++) {
        float *plane = padded + ci * hp * wp;
        const float *src = in + ci * h * w;
        for (size_t y = 0; y < hp; y++) {
            float *row = plane + y * wp;
            if (y < pad_top || y >= pad_top + h) {
                for (size_t x = 0; x < wp; x += 8) _mm256_storeu_ps(row + x, z);
                continue;
            }
            for (size_t x = 0; x < pad_left; x += 8) _mm256_storeu_ps(row + x, z);
            const float *s = src + (y - pad_top) * w;
            float *d = row + pad_left;
            for (size_t x = 0; x < body; x += 8) _mm256_storeu_ps(d + x, _mm256_loadu_ps(s + x));
            if (body < w) _mm256_storeu_ps(d + body, _mm256_maskload_ps(s + body, tail));
            for (size_t x = right; x < wp; x += 8) _mm256_storeu_ps(row + x, z);
        }
    }
}

#define MUL(C) multiply(v, ub, cin, C, m)
TGT void petrel_conv_winograd_avx2(const float *in, size_t cin, size_t h, size_t w, size_t pad_top, size_t pad_left,
                                   const float *u, size_t block0, size_t blocks, size_t cout,
                                   float *out, size_t oh, size_t ow,
                                   const float *bias, int act, float lo, float hi, int pool, float *scratch) {
    size_t tiles_w = (ow + 1) / 2, tiles = (oh + 1) / 2 * tiles_w;
    size_t hp = 2 * ((oh + 1) / 2) + 2, wp = 2 * tiles_w + 2;
    float *padded = scratch, *v = padded + cin * hp * wp, *m = v + 16 * cin * TT;
    pad_planes(in, cin, h, w, pad_top, pad_left, hp, wp, padded);
    for (size_t k0 = 0; k0 < tiles; k0 += TT) {
        size_t n = tiles - k0 < TT ? tiles - k0 : TT;
        input_transform(padded, cin, hp, wp, tiles_w, k0, n, v);
        for (size_t b = block0; b < block0 + blocks; b++) {
            const float *ub = u + b * 16 * cin * WB;
            size_t co0 = b * WB, c = cout - co0 < WB ? cout - co0 : WB;
            switch (c) {
            case 4: MUL(4); break; case 3: MUL(3); break; case 2: MUL(2); break; default: MUL(1); break;
            }
            output_transform(m, (int)c, co0, k0, n, tiles_w, out, oh, ow, bias, act, lo, hi, pool);
        }
    }
}
#else
// Not x86-64: the dispatch table never selects this; keep the symbol so the table links.
void petrel_conv_winograd_avx2(const float *in, size_t cin, size_t h, size_t w, size_t pad_top, size_t pad_left,
                               const float *u, size_t block0, size_t blocks, size_t cout,
                               float *out, size_t oh, size_t ow,
                               const float *bias, int act, float lo, float hi, int pool, float *scratch) {
    (void)pool; (void)in; (void)cin; (void)h; (void)w; (void)pad_top; (void)pad_left; (void)u; (void)block0; (void)blocks;
    (void)cout; (void)out; (void)oh; (void)ow; (void)bias; (void)act; (void)lo; (void)hi; (void)scratch;
    __builtin_trap();  // unreachable: ISA.detected is .reference off x86-64
}
#endif
