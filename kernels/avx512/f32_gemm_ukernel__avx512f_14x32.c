/*
 * 14x32 SGEMM microkernel: 28 zmm accumulators + 2 for the B row + embedded
 * broadcasts of A fill the 32 registers, so each k step issues 28 FMAs for 2 vector
 * loads and 14 broadcast loads (enough independent chains to hide FMA latency).
 * A tile of m < 14 rows (small-M GEMMs such as dh0 = dA_0 U with M = N) runs a
 * copy compiled for exactly m rows instead of computing 14 and storing m.
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

#define MR 14

/* The kernel for M rows (a literal at every call site, so acc stays in registers). */
RECUR_AVX512_INLINE void tile(const int M, size_t kc, const float *a, const float *b,
                              float *c, size_t ldc, size_t n, int accumulate,
                              const float *bias)
{
    __m512 acc[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < M; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        /* The C tile is read (or written) only after the k loop: fetch it now. With a
         * power-of-two ldc its rows share L1 sets, so they are often evicted. */
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0);
    }

    for (size_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b);
        __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
        for (int i = 0; i < M; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += 32;
    }

    __mmask16 k0 = recur_avx512_mask(n), k1 = recur_avx512_mask(n > 16 ? n - 16 : 0);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = bias0;
    if (!accumulate && bias) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
#pragma GCC unroll 14
    for (int i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        if (!accumulate && bias) {
            acc[i][0] = _mm512_add_ps(acc[i][0], bias0);
            acc[i][1] = _mm512_add_ps(acc[i][1], bias1);
        }
        if (accumulate) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(k0, ci));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(k1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, k0, acc[i][0]);
        _mm512_mask_storeu_ps(ci + 16, k1, acc[i][1]);
    }
}

void recur_f32_gemm_ukernel__avx512f_14x32(size_t kc, const float *a, const float *b,
                                           float *c, size_t ldc, size_t m, size_t n,
                                           int accumulate, const float *bias)
{
    switch (m) {
#define ROWS(M)                                                                            \
    case M: tile(M, kc, a, b, c, ldc, n, accumulate, bias); break;
    ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7)
    ROWS(8) ROWS(9) ROWS(10) ROWS(11) ROWS(12) ROWS(13)
#undef ROWS
    default: tile(MR, kc, a, b, c, ldc, n, accumulate, bias); break;
    }
}
