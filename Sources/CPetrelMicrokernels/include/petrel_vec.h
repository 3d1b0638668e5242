#ifndef PETREL_VEC_H
#define PETREL_VEC_H
#include <stddef.h>
/// Elementwise and row kernels behind `VectorKernels`. One family per ISA with the same signatures:
/// `_ref` (portable C, libm) and `_avx2` (AVX2+FMA polynomials, ~1-2 ulp for exp, <=~1e-6 for erf/tanh).
/// Unary kernels may run in place (x == y). All are NaN-propagating.

#define PETREL_VEC_UNARY(name) \
    void petrel_vec_##name##_ref(const float *x, float *y, size_t n); \
    void petrel_vec_##name##_avx2(const float *x, float *y, size_t n);
PETREL_VEC_UNARY(exp)
PETREL_VEC_UNARY(erf)
PETREL_VEC_UNARY(tanh)
PETREL_VEC_UNARY(sigmoid)
PETREL_VEC_UNARY(gelu)      // 0.5·x·(1 + erf(x/√2))
PETREL_VEC_UNARY(gelu_tanh) // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
#undef PETREL_VEC_UNARY
/// Log has no AVX2 body yet (not hot in our models): libm only.
void petrel_vec_log_ref(const float *x, float *y, size_t n);

/// max over x[0..<n] (n >= 1); -inf for an all -inf row.
float petrel_vec_max_ref(const float *x, size_t n);
float petrel_vec_max_avx2(const float *x, size_t n);
/// sum over x[0..<n].
float petrel_vec_sum_ref(const float *x, size_t n);
float petrel_vec_sum_avx2(const float *x, size_t n);
/// y = exp(x - shift); returns the sum of y (softmax denominator in one pass).
float petrel_vec_exp_shift_sum_ref(const float *x, float *y, size_t n, float shift);
float petrel_vec_exp_shift_sum_avx2(const float *x, float *y, size_t n, float shift);
/// y = x * s + t.
void petrel_vec_scale_shift_ref(const float *x, float *y, size_t n, float s, float t);
void petrel_vec_scale_shift_avx2(const float *x, float *y, size_t n, float s, float t);
/// Softmax of `rows` contiguous rows of n floats (n >= 1): the three passes above, row by row, in
/// one call (rows of up to 16 in registers). digits-mlp's 256 × 10 output: 7 µs as three calls a row.
void petrel_vec_softmax_rows_ref(const float *x, float *y, size_t rows, size_t n);
void petrel_vec_softmax_rows_avx2(const float *x, float *y, size_t rows, size_t n);
/// Softmax numerators of `rows` rows of n scores in place, after adding an optional mask row
/// (`mask + i·mask_row_stride`, key stride 1, or 0 for one value per row): s = exp(s − max), and
/// inv_sum[i] = 1 / Σ. The caller scales what the rows produce (attention: its output rows, dv
/// floats instead of n).
void petrel_vec_softmax_numerators_ref(float *s, size_t rows, size_t n, const float *mask,
                                       size_t mask_row_stride, size_t mask_key_stride, float *inv_sum);
void petrel_vec_softmax_numerators_avx2(float *s, size_t rows, size_t n, const float *mask,
                                        size_t mask_row_stride, size_t mask_key_stride, float *inv_sum);
/// One LayerNormalization row: two-pass mean/variance (as ONNX defines it), then
/// y = (x - mean) * invStd * scale (+ bias). bias may be NULL. Writes mean and invStd.
void petrel_vec_layernorm_row_ref(const float *x, const float *scale, const float *bias, float *y,
                                  size_t n, float eps, float *mean, float *invStd);
void petrel_vec_layernorm_row_avx2(const float *x, const float *scale, const float *bias, float *y,
                                   size_t n, float eps, float *mean, float *invStd);
#endif
