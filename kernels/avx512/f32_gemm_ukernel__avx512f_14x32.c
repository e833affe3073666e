/*
 * 14x32 SGEMM microkernel: 28 zmm accumulators + 2 for the B row + embedded
 * broadcasts of A fill the 32 registers, so each k step issues 28 FMAs for 2 vector
 * loads and 14 broadcast loads (enough independent chains to hide FMA latency).
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

#define MR 14

void recur_f32_gemm_ukernel__avx512f_14x32(size_t kc, const float *a, const float *b,
                                           float *c, size_t ldc, size_t m, size_t n,
                                           int accumulate)
{
    __m512 acc[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();

    for (size_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b);
        __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += 32;
    }

    __mmask16 k0 = recur_avx512_mask(n), k1 = recur_avx512_mask(n > 16 ? n - 16 : 0);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        if ((size_t)i >= m)
            break;
        float *ci = c + (size_t)i * ldc;
        if (accumulate) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(k0, ci));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(k1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, k0, acc[i][0]);
        _mm512_mask_storeu_ps(ci + 16, k1, acc[i][1]);
    }
}
