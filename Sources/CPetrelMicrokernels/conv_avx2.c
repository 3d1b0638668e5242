// Direct convolution, AVX2+FMA (see include/petrel_conv.h). Per-function target attributes, like
// the GEMM kernels: compiled with baseline flags, entered only after CPU detection.
#include "petrel_conv.h"
#if defined(__x86_64__)
#include "conv_avx2_common.h"
#define AVX2 TGT
#include "vec_avx2_math.h"

TGT INLINE __m256 load(const float *p, int masked, __m256i mask) {
    return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

// One block of 4 output channels × ROWS (1 or 2) output rows × 8 (or fewer, masked) pixels:
// 8 accumulators, enough FMAs in flight for Zen 3's two 4-cycle pipes (3 rows × 4 channels
// spilled an accumulator to the stack and ran at half speed). KW = 3 (the usual kernel) is
// unrolled at compile time; KW = 0 takes `kw` at run time.
TGT INLINE void tile(const float *in, size_t cin, size_t hp, size_t wp, const float *wb, size_t kh, size_t kw,
                     size_t oy, size_t ox, const int ROWS, const int KW, const int masked, __m256i mask,
                     float *out, size_t oh, size_t ow, size_t co0, size_t cout,
                     const float *bias, int act, float lo, float hi) {
    __m256 acc[2][4];
    for (int r = 0; r < 2; r++) for (int j = 0; j < 4; j++) acc[r][j] = _mm256_setzero_ps();
    const size_t taps = KW ? (size_t)KW : kw;
    for (size_t ci = 0; ci < cin; ci++) {
        const float *plane = in + ci * hp * wp + oy * wp + ox;
        for (size_t ky = 0; ky < kh; ky++) {
            const float *row = plane + ky * wp;
            const float *wk = wb + ((ci * kh + ky) * taps) * 4;
            for (size_t kx = 0; kx < taps; kx++, wk += 4) {
                __m256 x[2];
                for (int r = 0; r < ROWS; r++) x[r] = load(row + r * wp + kx, masked, mask);
                for (int j = 0; j < 4; j++) {
                    __m256 w = _mm256_broadcast_ss(wk + j);
                    for (int r = 0; r < ROWS; r++) acc[r][j] = _mm256_fmadd_ps(x[r], w, acc[r][j]);
                }
            }
        }
    }
    for (int j = 0; j < 4 && co0 + j < cout; j++) {
        __m256 b = bias ? _mm256_set1_ps(bias[co0 + j]) : _mm256_setzero_ps();
        for (int r = 0; r < ROWS; r++) {
            float *dst = out + ((co0 + j) * oh + oy + r) * ow + ox;
            __m256 v = activate(_mm256_add_ps(acc[r][j], b), act, lo, hi);
            if (masked) store_first(dst, v, ow - ox); else _mm256_storeu_ps(dst, v);
        }
    }
}

// All pixel chunks of ROWS output rows starting at oy.
TGT INLINE void rows(const float *in, size_t cin, size_t hp, size_t wp, const float *wb, size_t kh, size_t kw,
                     size_t oy, const int ROWS, const int KW, __m256i mask, size_t tail,
                     float *out, size_t oh, size_t ow, size_t co0, size_t cout, const float *bias, int act, float lo, float hi) {
    size_t ox = 0;
    for (; ox + 8 <= ow; ox += 8)
        tile(in, cin, hp, wp, wb, kh, kw, oy, ox, ROWS, KW, 0, mask, out, oh, ow, co0, cout, bias, act, lo, hi);
    if (tail)
        tile(in, cin, hp, wp, wb, kh, kw, oy, ox, ROWS, KW, 1, mask, out, oh, ow, co0, cout, bias, act, lo, hi);
}

TGT INLINE void block(const float *in, size_t cin, size_t hp, size_t wp, const float *wb, size_t kh, size_t kw,
                      const int KW, __m256i mask, size_t tail, float *out, size_t oh, size_t ow, size_t co0, size_t cout,
                      const float *bias, int act, float lo, float hi) {
    size_t oy = 0;
    for (; oy + 2 <= oh; oy += 2) rows(in, cin, hp, wp, wb, kh, kw, oy, 2, KW, mask, tail, out, oh, ow, co0, cout, bias, act, lo, hi);
    if (oy < oh) rows(in, cin, hp, wp, wb, kh, kw, oy, 1, KW, mask, tail, out, oh, ow, co0, cout, bias, act, lo, hi);
}

TGT void petrel_conv_direct_avx2(const float *in, size_t cin, size_t hp, size_t wp,
                                 const float *w4, size_t block0, size_t blocks, size_t cout,
                                 size_t kh, size_t kw, float *out, size_t oh, size_t ow,
                                 const float *bias, int act, float lo, float hi) {
    size_t tail = ow % 8;
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (size_t b = block0; b < block0 + blocks; b++) {
        const float *wb = w4 + b * cin * kh * kw * 4;
        if (kw == 3) block(in, cin, hp, wp, wb, kh, kw, 3, mask, tail, out, oh, ow, b * 4, cout, bias, act, lo, hi);
        else block(in, cin, hp, wp, wb, kh, kw, 0, mask, tail, out, oh, ow, b * 4, cout, bias, act, lo, hi);
    }
}
#else
// Not x86-64: the dispatch table never selects this; keep the symbol so the table links.
void petrel_conv_direct_avx2(const float *in, size_t cin, size_t hp, size_t wp,
                             const float *w4, size_t block0, size_t blocks, size_t cout,
                             size_t kh, size_t kw, float *out, size_t oh, size_t ow,
                             const float *bias, int act, float lo, float hi) {
    (void)in; (void)cin; (void)hp; (void)wp; (void)w4; (void)block0; (void)blocks; (void)cout;
    (void)kh; (void)kw; (void)out; (void)oh; (void)ow; (void)bias; (void)act; (void)lo; (void)hi;
    __builtin_trap();  // unreachable: ISA.detected is .reference off x86-64
}
#endif
