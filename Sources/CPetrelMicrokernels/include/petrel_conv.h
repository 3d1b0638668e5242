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

#endif
