#include "petrel_vec.h"
#include <math.h>

// Portable reference family: libm, one element at a time. The AVX2 family is tested against these.

void petrel_vec_exp_ref(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) y[i] = expf(x[i]); }
void petrel_vec_erf_ref(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) y[i] = erff(x[i]); }
void petrel_vec_tanh_ref(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]); }
void petrel_vec_log_ref(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) y[i] = logf(x[i]); }
void petrel_vec_sigmoid_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
void petrel_vec_gelu_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }
}
void petrel_vec_gelu_tanh_ref(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    }
}
float petrel_vec_max_ref(const float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}
float petrel_vec_sum_ref(const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}
float petrel_vec_exp_shift_sum_ref(const float *x, float *y, size_t n, float shift) {
    float s = 0;
    for (size_t i = 0; i < n; i++) { y[i] = expf(x[i] - shift); s += y[i]; }
    return s;
}
void petrel_vec_scale_shift_ref(const float *x, float *y, size_t n, float s, float t) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * s + t;
}
void petrel_vec_layernorm_row_ref(const float *x, const float *scale, const float *bias, float *y,
                                  size_t n, float eps, float *mean, float *invStd) {
    float m = petrel_vec_sum_ref(x, n) / (float)n;
    float v = 0;
    for (size_t i = 0; i < n; i++) { float d = x[i] - m; v += d * d; }
    float r = 1.0f / sqrtf(v / (float)n + eps);
    for (size_t i = 0; i < n; i++) y[i] = (x[i] - m) * r * scale[i] + (bias ? bias[i] : 0.0f);
    *mean = m; *invStd = r;
}
void petrel_vec_softmax_rows_ref(const float *x, float *y, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        float m = petrel_vec_max_ref(x, n);
        float s = petrel_vec_exp_shift_sum_ref(x, y, n, m);
        petrel_vec_scale_shift_ref(y, y, n, 1 / s, 0);
    }
}
void petrel_vec_softmax_numerators_ref(float *s, size_t rows, size_t n, const float *mask,
                                       size_t mask_row_stride, size_t mask_key_stride, float *inv_sum) {
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * n;
        if (mask) for (size_t j = 0; j < n; j++) row[j] += mask[i * mask_row_stride + mask_key_stride * j];
        inv_sum[i] = 1 / petrel_vec_exp_shift_sum_ref(row, row, n, petrel_vec_max_ref(row, n));
    }
}
