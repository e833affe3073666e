/* Vectorized activations and row softmax; tails use masked loads/stores so every
 * element goes through the same vector code. */
#include "avx2_kernels.h"
#include "avx2_math.h"

void recur_f32_activate__avx2(recur_activation f, size_t n, float *x)
{
    if (f == RECUR_ACT_IDENTITY)
        return;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, recur_avx2_act(f, _mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i k = recur_avx2_mask(n - i);
        _mm256_maskstore_ps(x + i, k, recur_avx2_act(f, _mm256_maskload_ps(x + i, k)));
    }
}

static float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Max-subtracted, like the oracle: every exp argument is <= 0, the sum is >= 1. */
void recur_f32_softmax_rows__avx2(size_t rows, size_t cols, float *x)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        __m256 mx = _mm256_set1_ps(row[0]);
        for (size_t j = 0; j < cols; j += 8) {
            __m256i k = recur_avx2_mask(cols - j);
            __m256 v = _mm256_maskload_ps(row + j, k);
            mx = _mm256_blendv_ps(mx, _mm256_max_ps(mx, v), _mm256_castsi256_ps(k));
        }
        __m256 m = _mm256_set1_ps(hmax(mx));
        __m256 sum = _mm256_setzero_ps();
        for (size_t j = 0; j < cols; j += 8) {
            __m256i k = recur_avx2_mask(cols - j);
            __m256 e = recur_avx2_exp(_mm256_sub_ps(_mm256_maskload_ps(row + j, k), m));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(k));
            sum = _mm256_add_ps(sum, e);
            _mm256_maskstore_ps(row + j, k, e);
        }
        __m256 inv = _mm256_set1_ps(1.0f / hsum(sum));
        for (size_t j = 0; j < cols; j += 8) {
            __m256i k = recur_avx2_mask(cols - j);
            _mm256_maskstore_ps(row + j, k, _mm256_mul_ps(_mm256_maskload_ps(row + j, k), inv));
        }
    }
}
