/*
 * Batch-1 recurrent step straight from row-major U (no packing), as the AVX-512
 * f32_rnn_rows__avx512f.c: 8 rows at a time, each row a ymm of 8 partial sums (lane l
 * sums k = l mod 8), reduced by a horizontal-add tree into one vector of 8 results.
 * At batch 1 a matvec reads every element of U once per step either way, so packing
 * buys nothing and costs a transposed pass over U per call (measured on Zen 3 at
 * H1024 N1 T50: the packing of U and W took ~11 % of the forward call). The tree adds
 * the same lanes in the same order for every row, so a row's result does not depend
 * on where its group of 8 starts.
 */
#include "avx2_kernels.h"
#include "avx2_math.h"

/* w[i] = sum of the 8 lanes of a[i], for i < 8: ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)). */
RECUR_AVX2_INLINE __m256 sum8x8(const __m256 a[8])
{
    __m256 s0 = _mm256_hadd_ps(a[0], a[1]), s1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 s2 = _mm256_hadd_ps(a[4], a[5]), s3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 t0 = _mm256_hadd_ps(s0, s1), t1 = _mm256_hadd_ps(s2, s3);
    /* t0 = rows 0-3 (lanes 0-3: k lanes 0-3, lanes 4-7: k lanes 4-7), t1 rows 4-7 */
    return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20),
                         _mm256_permute2f128_ps(t0, t1, 0x31));
}

/* acc[i] += M row i (of nr; full: all 8) times x, over k < h. */
RECUR_AVX2_INLINE void rows_dot(const int full, size_t h, size_t nr, const float *m,
                                size_t ld, const float *x, __m256 acc[8])
{
    size_t k = 0;
    for (; k + 8 <= h; k += 8) {
        __m256 xv = _mm256_loadu_ps(x + k);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            if (full || (size_t)i < nr)
                acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(m + i * ld + k), xv, acc[i]);
    }
    if (k < h) {
        __m256i mk = recur_avx2_mask(h - k);
        __m256 xv = _mm256_maskload_ps(x + k, mk);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            if (full || (size_t)i < nr)
                acc[i] = _mm256_fmadd_ps(_mm256_maskload_ps(m + i * ld + k, mk), xv, acc[i]);
    }
}

void recur_f32_rnn_step_rows__avx2(size_t h, size_t rows, const float *m, size_t ld,
                                   const float *hprev, const float *pre, float *out,
                                   recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
        size_t nr = rows - r0 < 8 ? rows - r0 : 8;
        __m256 acc[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            acc[i] = _mm256_setzero_ps();
        if (nr == 8)
            rows_dot(1, h, nr, m + r0 * ld, ld, hprev, acc);
        else
            rows_dot(0, h, nr, m + r0 * ld, ld, hprev, acc);
        __m256 s = sum8x8(acc);
        if (nr == 8) { /* plain loads and stores on full groups (AMD: masked ones are slow) */
            _mm256_storeu_ps(out + r0, recur_avx2_act(f, _mm256_add_ps(_mm256_loadu_ps(pre + r0), s)));
            continue;
        }
        __m256i mo = recur_avx2_mask(nr);
        __m256 z = _mm256_add_ps(_mm256_maskload_ps(pre + r0, mo), s);
        _mm256_maskstore_ps(out + r0, mo, recur_avx2_act(f, z));
    }
}
