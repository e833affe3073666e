/* Scalar oracle GEMM: a plain triple loop, one float accumulator per element,
 * summed in increasing k. This order is the reference every SIMD GEMM is checked
 * against (their error bound is derived from K * eps, see README "Accuracy"). */
#include "scalar_kernels.h"

void recur_f32_gemm__scalar(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                      const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                      ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc, int accumulate,
                      float *scratch)
{
    (void)kt;
    (void)scratch;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (size_t p = 0; p < k; p++)
                acc += a[(ptrdiff_t)i * rsa + (ptrdiff_t)p * csa] *
                       b[(ptrdiff_t)p * rsb + (ptrdiff_t)j * csb];
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc : acc;
        }
    }
}
