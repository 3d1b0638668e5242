#ifndef PETREL_CONV_H
#define PETREL_CONV_H
#include <stddef.h>

/// Direct stride-1 convolution over zero-bordered input planes, vectorised along output rows
/// (8 output pixels per ymm) with 4 output channels × 2 output rows of accumulators: each input
/// vector feeds 4 FMAs and each weight broadcast 2, so the loop is FMA-bound with no im2col.
///
/// - `in`: `cin` planes of hp × wp floats with the conv's pads already around the image, so every
///   tap of every output pixel is inside (oy + ky < hp, ox + kx < wp).
/// - `w4`: weights in blocks of 4 output channels, `[block][ci][ky][kx][4]` (channels past `cout`
///   zero); blocks [`block0`, `block0 + blocks`) are computed.
/// - `out`: `cout` planes of oh × ow; `bias` (per channel) may be NULL; `act`: 0 none, 1 relu,
///   2 clip to [lo, hi], 3 leaky relu (slope `lo`).
typedef void (*petrel_conv_direct_fn)(const float *in, size_t cin, size_t hp, size_t wp,
                                      const float *w4, size_t block0, size_t blocks, size_t cout,
                                      size_t kh, size_t kw, float *out, size_t oh, size_t ow,
                                      const float *bias, int act, float lo, float hi);

void petrel_conv_direct_avx2(const float *in, size_t cin, size_t hp, size_t wp,
                             const float *w4, size_t block0, size_t blocks, size_t cout,
                             size_t kh, size_t kw, float *out, size_t oh, size_t ow,
                             const float *bias, int act, float lo, float hi);

/// Winograd F(2×2, 3×3): stride 1, no dilation, one group, 3×3 kernels (conv_winograd.c). Each
/// output channel's 2×2 tile costs 16 multiply-adds per input channel instead of 36; the input and
/// output transforms are adds, so it pays from about 8 input channels on.
///
/// - `in`: one image, `cin` planes of h × w (unpadded); the kernel copies them into zero-bordered
///   planes at (`pad_top`, `pad_left`) in `scratch`. Needs h + pads − 2 = oh (stride 1, 3×3).
/// - `u`: the transformed weights `petrel_conv_winograd_weights` writes; weight blocks of
///   `PETREL_WINOGRAD_BLOCK` output channels [`block0`, `block0 + blocks`) are computed.
/// - `out`, `bias`, `act`, `lo`, `hi`: as for the direct kernel.
/// - `pool`: nonzero fuses a 2×2, stride-2 MaxPool after the activation (oh and ow even): `out`
///   then holds `cout` planes of (oh/2) × (ow/2), and the full-size output is never written.
/// - `scratch`: `petrel_conv_winograd_scratch_floats(cin, oh, ow)` floats, any contents.
#define PETREL_WINOGRAD_BLOCK 4

typedef void (*petrel_conv_winograd_fn)(const float *in, size_t cin, size_t h, size_t w, size_t pad_top, size_t pad_left,
                                        const float *u, size_t block0, size_t blocks, size_t cout,
                                        float *out, size_t oh, size_t ow,
                                        const float *bias, int act, float lo, float hi, int pool, float *scratch);

void petrel_conv_winograd_avx2(const float *in, size_t cin, size_t h, size_t w, size_t pad_top, size_t pad_left,
                               const float *u, size_t block0, size_t blocks, size_t cout,
                               float *out, size_t oh, size_t ow,
                               const float *bias, int act, float lo, float hi, int pool, float *scratch);

/// weight[cout][cin][3][3] → U, `[block][t = 4ξ + ν][ci][PETREL_WINOGRAD_BLOCK]`, channels past
/// `cout` zero. Portable C: run once per plan for constant weights.
void petrel_conv_winograd_weights(const float *w, size_t cin, size_t cout, float *u);

static inline size_t petrel_conv_winograd_weight_floats(size_t cin, size_t cout) {
    return (cout + PETREL_WINOGRAD_BLOCK - 1) / PETREL_WINOGRAD_BLOCK * 16 * cin * PETREL_WINOGRAD_BLOCK;
}

/// The padded input planes, one chunk of transformed input (16 positions × cin × 16 tiles) and
/// one weight block's products.
static inline size_t petrel_conv_winograd_scratch_floats(size_t cin, size_t oh, size_t ow) {
    size_t hp = 2 * ((oh + 1) / 2) + 2, wp = 2 * ((ow + 1) / 2) + 2;
    return cin * hp * wp + 16 * cin * 16 + 16 * PETREL_WINOGRAD_BLOCK * 16;
}

#endif
