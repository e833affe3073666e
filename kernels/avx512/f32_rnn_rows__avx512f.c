/*
 * Batch-1 recurrent step straight from row-major U (no packing): 16 rows at a time,
 * each row a zmm of 16 partial sums (lane l sums k = l mod 16), reduced by a
 * transpose-and-add tree into one vector of 16 results. A matvec reads every element
 * of U once per step either way, so the packed layout buys nothing at batch 1, while
 * packing costs a transposed pass over U per call (a sixth of the call at H = 1024).
 * The tree adds the same lanes in the same order for every row, so a row's result
 * does not depend on where its group of 16 starts.
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

/* w[i] = sum of the 16 lanes of a[i], for i < 16. */
RECUR_AVX512_INLINE __m512 sum16x16(const __m512 a[16])
{
    __m512 s[8], u[4], v[2];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        s[j] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * j], a[2 * j + 1]),
                             _mm512_unpackhi_ps(a[2 * j], a[2 * j + 1]));
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512d p = _mm512_castps_pd(s[2 * j]), q = _mm512_castps_pd(s[2 * j + 1]);
        u[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(p, q)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(p, q)));
    }
#pragma GCC unroll 2
    for (int j = 0; j < 2; j++)
        v[j] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * j], u[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(u[2 * j], u[2 * j + 1], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x88),
                         _mm512_shuffle_f32x4(v[0], v[1], 0xDD));
}

/* acc[i] += M row i (of nr; NR_FULL: all 16) times x, over k < h. */
RECUR_AVX512_INLINE void rows_dot(const int full, size_t h, size_t nr, const float *m,
                                  size_t ld, const float *x, __m512 acc[16])
{
    size_t k = 0;
    for (; k + 16 <= h; k += 16) {
        __m512 xv = _mm512_loadu_ps(x + k);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            if (full || (size_t)i < nr)
                acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(m + i * ld + k), xv, acc[i]);
    }
    if (k < h) {
        __mmask16 mk = recur_avx512_mask(h - k);
        __m512 xv = _mm512_maskz_loadu_ps(mk, x + k);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            if (full || (size_t)i < nr)
                acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, m + i * ld + k), xv, acc[i]);
    }
}

void recur_f32_rnn_step_rows__avx512f(size_t h, size_t rows, const float *m, size_t ld,
                                      const float *hprev, const float *pre, float *out,
                                      recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        size_t nr = rows - r0 < 16 ? rows - r0 : 16;
        __m512 acc[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_setzero_ps();
        if (nr == 16)
            rows_dot(1, h, nr, m + r0 * ld, ld, hprev, acc);
        else
            rows_dot(0, h, nr, m + r0 * ld, ld, hprev, acc);
        __mmask16 mo = recur_avx512_mask(nr);
        __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(mo, pre + r0), sum16x16(acc));
        _mm512_mask_storeu_ps(out + r0, mo, recur_avx512_act(f, z));
    }
}
