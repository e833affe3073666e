/*
 * 6x16 SGEMM microkernel: 12 ymm accumulators + 2 for the B row + 1 broadcast use
 * 15 of the 16 registers; 12 independent FMA chains cover the FMA latency of two
 * pipes. Partial tiles go through masked loads/stores.
 */
#include "avx2_kernels.h"
#include "avx2_math.h"

#define MR 6

void recur_f32_gemm_ukernel__avx2_6x16(size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, size_t m, size_t n, int accumulate,
                                       const float *bias)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();

    for (size_t p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b);
        __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += 16;
    }

    if (!accumulate && bias) { /* added to the finished sum, as onto C = bias */
        __m256i k0 = recur_avx2_mask(n), k1 = recur_avx2_mask(n > 8 ? n - 8 : 0);
        __m256 b0 = _mm256_maskload_ps(bias, k0), b1 = _mm256_maskload_ps(bias + 8, k1);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            acc[i][0] = _mm256_add_ps(acc[i][0], b0);
            acc[i][1] = _mm256_add_ps(acc[i][1], b1);
        }
    }
    if (m == MR && n == 16) {
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            float *ci = c + (size_t)i * ldc;
            if (accumulate) {
                acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
                acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
            }
            _mm256_storeu_ps(ci, acc[i][0]);
            _mm256_storeu_ps(ci + 8, acc[i][1]);
        }
        return;
    }
    __m256i k0 = recur_avx2_mask(n), k1 = recur_avx2_mask(n > 8 ? n - 8 : 0);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if ((size_t)i >= m)
            break;
        float *ci = c + (size_t)i * ldc;
        if (accumulate) {
            acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_maskload_ps(ci, k0));
            acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_maskload_ps(ci + 8, k1));
        }
        _mm256_maskstore_ps(ci, k0, acc[i][0]);
        _mm256_maskstore_ps(ci + 8, k1, acc[i][1]);
    }
}
