/* Vectorized activations and row softmax; tails use masked loads/stores so every
 * element goes through the same vector code. */
#include "avx512_kernels.h"
#include "avx512_math.h"

void recur_f32_activate__avx512f(recur_activation f, size_t n, float *x)
{
    if (f == RECUR_ACT_IDENTITY)
        return;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, recur_avx512_act(f, _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = recur_avx512_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, recur_avx512_act(f, _mm512_maskz_loadu_ps(k, x + i)));
    }
}

/* Max-subtracted, like the oracle: every exp argument is <= 0, the sum is >= 1. */
void recur_f32_softmax_rows__avx512f(size_t rows, size_t cols, float *x)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        __m512 mx = _mm512_set1_ps(row[0]);
        for (size_t j = 0; j < cols; j += 16) {
            __mmask16 k = recur_avx512_mask(cols - j);
            mx = _mm512_mask_max_ps(mx, k, mx, _mm512_maskz_loadu_ps(k, row + j));
        }
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 sum = _mm512_setzero_ps();
        for (size_t j = 0; j < cols; j += 16) {
            __mmask16 k = recur_avx512_mask(cols - j);
            __m512 e = recur_avx512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + j), m));
            sum = _mm512_mask_add_ps(sum, k, sum, e);
            _mm512_mask_storeu_ps(row + j, k, e);
        }
        __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        for (size_t j = 0; j < cols; j += 16) {
            __mmask16 k = recur_avx512_mask(cols - j);
            _mm512_mask_storeu_ps(row + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + j), inv));
        }
    }
}
