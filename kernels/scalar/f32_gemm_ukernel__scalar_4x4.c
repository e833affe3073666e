/* Portable 4x4 GEMM microkernel: exercises src/gemm_blocked.c on any CPU. */
#include "scalar_kernels.h"

void recur_f32_gemm_ukernel__scalar_4x4(size_t kc, const float *a, const float *b, float *c,
                                  size_t ldc, size_t m, size_t n, int accumulate,
                                  const float *bias)
{
    float acc[4][4] = {{0}};
    for (size_t p = 0; p < kc; p++)
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 4; j++)
                acc[i][j] += a[p * 4 + i] * b[p * 4 + j];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j]
                             : bias     ? bias[j] + acc[i][j]
                                        : acc[i][j];
}
