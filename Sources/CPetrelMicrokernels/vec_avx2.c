#include "petrel_vec.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>

// AVX2+FMA family. Per-function target attributes (no global flags) so the file builds for baseline
// x86-64 and the dispatch table only selects these after CPUID says AVX2+FMA.
// Tails use a masked load/store so every element goes through the same polynomial (results do not
// depend on where an element sits in the array).
#define AVX2 __attribute__((target("avx2,fma")))
#include "vec_avx2_math.h"

// exp: n = round(x·log2e), r = x − n·ln2 (Cody–Waite split), Cephes degree-6 polynomial (~1 ulp),
// then ·2^n applied as two halves so that n in [-150, 128] neither wraps the exponent field nor
// skips gradual underflow. Clamping to [-104, 89] maps ±inf to 0 / inf; a NaN passes the clamps
// (see `clamp8`) and every step after them.
static inline AVX2 __m256 exp8(__m256 x) {
    __m256 xc = clamp8(x, -104.0f, 89.0f);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);   // NaN: cvt gives INT_MIN, both halves 1.0
}

// tanh: odd rational x·P(x²)/Q(x²) on [-7.9053, 7.9053] (Eigen's generic_fast_tanh_float; tanh is
// ±1 in fp32 beyond), and x itself below 4e-4 where tanh(x) == x in fp32.
static inline AVX2 __m256 tanh8(__m256 x) {
    __m256 xc = clamp8(x, -7.90531110763549805f, 7.90531110763549805f);
    __m256 x2 = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(4.89352455891786e-03f));
    p = _mm256_mul_ps(p, xc);
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(4.89352518554385e-03f));
    __m256 r = _mm256_div_ps(p, q);
    __m256 abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 tiny = _mm256_cmp_ps(abs, _mm256_set1_ps(0.0004f), _CMP_LT_OQ);
    return saturate(_mm256_blendv_ps(r, x, tiny), x, 7.90531110763549805f);
}

static inline AVX2 __m256 sigmoid8(__m256 x) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline AVX2 __m256 gelu_tanh8(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_fmadd_ps(x3, _mm256_set1_ps(0.044715f), x),
                             _mm256_set1_ps(0.79788456080286536f));
    __m256 h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, tanh8(u), h);
}

#define UNARY_AVX2(name, f)                                                               \
    AVX2 void petrel_vec_##name##_avx2(const float *x, float *y, size_t n) {              \
        size_t i = 0;                                                                     \
        for (; i + 16 <= n; i += 16) {                                                    \
            __m256 a = f(_mm256_loadu_ps(x + i)), b = f(_mm256_loadu_ps(x + i + 8));      \
            _mm256_storeu_ps(y + i, a); _mm256_storeu_ps(y + i + 8, b);                   \
        }                                                                                 \
        for (; i < n; i += 8) {                                                           \
            size_t r = n - i < 8 ? n - i : 8;                                             \
            __m256i m = tail_mask(r);                                                     \
            store_first(y + i, f(_mm256_maskload_ps(x + i, m)), r);                       \
        }                                                                                 \
    }
UNARY_AVX2(exp, exp8)
UNARY_AVX2(erf, erf8)
UNARY_AVX2(tanh, tanh8)
UNARY_AVX2(sigmoid, sigmoid8)
UNARY_AVX2(gelu, gelu8)
UNARY_AVX2(gelu_tanh, gelu_tanh8)

static inline AVX2 float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline AVX2 float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 float petrel_vec_max_avx2(const float *x, size_t n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    float m = hmax8(_mm256_max_ps(m0, m1));
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

AVX2 float petrel_vec_sum_avx2(const float *x, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += x[i];
    return s;
}

AVX2 float petrel_vec_exp_shift_sum_avx2(const float *x, float *y, size_t n, float shift) {
    __m256 sh = _mm256_set1_ps(shift), s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
        __m256 b = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), sh));
        _mm256_storeu_ps(y + i, a); _mm256_storeu_ps(y + i + 8, b);
        s0 = _mm256_add_ps(s0, a); s1 = _mm256_add_ps(s1, b);
    }
    for (; i < n; i += 8) {
        size_t r = n - i < 8 ? n - i : 8;
        __m256i m = tail_mask(r);
        __m256 a = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), sh)), _mm256_castsi256_ps(m));
        store_first(y + i, a, r);
        s0 = _mm256_add_ps(s0, a);
    }
    return hsum8(_mm256_add_ps(s0, s1));
}

AVX2 void petrel_vec_scale_shift_avx2(const float *x, float *y, size_t n, float s, float t) {
    __m256 vs = _mm256_set1_ps(s), vt = _mm256_set1_ps(t);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), vs, vt));
    for (; i < n; i++) y[i] = x[i] * s + t;
}

AVX2 void petrel_vec_softmax_rows_avx2(const float *x, float *y, size_t rows, size_t n) {
    if (n > 16) {
        for (size_t r = 0; r < rows; r++, x += n, y += n) {
            float m = petrel_vec_max_avx2(x, n);
            float s = petrel_vec_exp_shift_sum_avx2(x, y, n, m);
            petrel_vec_scale_shift_avx2(y, y, n, 1 / s, 0);
        }
        return;
    }
    // A row in at most two registers: the passes above, fused. Bit for bit the same: the max
    // ignores NaN as their scalar tail does, the sum adds the two halves in their order.
    const __m256i k0 = tail_mask(n < 8 ? n : 8), k1 = tail_mask(n > 8 ? n - 8 : 0);
    const __m256 f0 = _mm256_castsi256_ps(k0), f1 = _mm256_castsi256_ps(k1), ninf = _mm256_set1_ps(-INFINITY);
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        const __m256 lo = _mm256_maskload_ps(x, k0), hi = _mm256_maskload_ps(x + 8, k1);
        __m256 acc = _mm256_max_ps(_mm256_blendv_ps(ninf, lo, f0), ninf);
        acc = _mm256_max_ps(_mm256_blendv_ps(ninf, hi, f1), acc);
        const __m256 vm = _mm256_set1_ps(hmax8(acc));
        const __m256 elo = _mm256_and_ps(exp8(_mm256_sub_ps(lo, vm)), f0);
        const __m256 ehi = _mm256_and_ps(exp8(_mm256_sub_ps(hi, vm)), f1);
        const __m256 inv = _mm256_set1_ps(1 / hsum8(_mm256_add_ps(elo, ehi)));
        store_first(y, _mm256_mul_ps(elo, inv), n < 8 ? n : 8);
        if (n > 8) store_first(y + 8, _mm256_mul_ps(ehi, inv), n - 8);
    }
}

AVX2 void petrel_vec_softmax_numerators_avx2(float *s, size_t rows, size_t n, const float *mask,
                                             size_t mask_row_stride, size_t mask_key_stride, float *inv_sum) {
    // Pass by pass over all rows (rows are independent and overlap; one row's passes wait on each
    // other). The max is petrel_vec_max_avx2's, taken while the mask is added.
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * n;
        const float *m = mask ? mask + i * mask_row_stride : NULL;
        const __m256 one = m ? _mm256_set1_ps(m[0]) : _mm256_setzero_ps();   // mask_key_stride 0
        __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
        size_t j = 0;
        for (; j + 16 <= n; j += 16) {
            __m256 a = _mm256_loadu_ps(row + j), b = _mm256_loadu_ps(row + j + 8);
            if (m) {
                a = _mm256_add_ps(a, mask_key_stride ? _mm256_loadu_ps(m + j) : one);
                b = _mm256_add_ps(b, mask_key_stride ? _mm256_loadu_ps(m + j + 8) : one);
                _mm256_storeu_ps(row + j, a); _mm256_storeu_ps(row + j + 8, b);
            }
            m0 = _mm256_max_ps(m0, a); m1 = _mm256_max_ps(m1, b);
        }
        float mx = hmax8(_mm256_max_ps(m0, m1));
        for (; j < n; j++) {
            if (m) row[j] += m[mask_key_stride * j];
            mx = row[j] > mx ? row[j] : mx;
        }
        inv_sum[i] = mx;
    }
    for (size_t i = 0; i < rows; i++) inv_sum[i] = 1 / petrel_vec_exp_shift_sum_avx2(s + i * n, s + i * n, n, inv_sum[i]);
}

AVX2 void petrel_vec_layernorm_row_avx2(const float *x, const float *scale, const float *bias, float *y,
                                        size_t n, float eps, float *mean, float *invStd) {
    float m = petrel_vec_sum_avx2(x, n) / (float)n;
    __m256 vm = _mm256_set1_ps(m), v0 = _mm256_setzero_ps(), v1 = v0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        v0 = _mm256_fmadd_ps(d0, d0, v0); v1 = _mm256_fmadd_ps(d1, d1, v1);
    }
    float v = hsum8(_mm256_add_ps(v0, v1));
    for (; i < n; i++) { float d = x[i] - m; v += d * d; }
    float r = 1.0f / sqrtf(v / (float)n + eps);
    __m256 vr = _mm256_set1_ps(r);
    i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vr);
        __m256 o = bias ? _mm256_fmadd_ps(d, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(bias + i))
                        : _mm256_mul_ps(d, _mm256_loadu_ps(scale + i));
        _mm256_storeu_ps(y + i, o);
    }
    for (; i < n; i++) y[i] = (x[i] - m) * r * scale[i] + (bias ? bias[i] : 0.0f);
    *mean = m; *invStd = r;
}
#endif
