/* AVX2 batch-1 step from row-major U: kernels/common/f32_rnn_rows.h, 8 rows a group. */
#include "avx2_kernels.h"
#include "avx2_vec.h"

/* w[i] = sum of the 8 lanes of a[i]: ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) for every i. */
V_INLINE __m256 sum_lanes(const __m256 a[8])
{
    __m256 s0 = _mm256_hadd_ps(a[0], a[1]), s1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 s2 = _mm256_hadd_ps(a[4], a[5]), s3 = _mm256_hadd_ps(a[6], a[7]);
    /* t0: rows 0-3 in each 128-bit half (low half: lanes 0-3 summed, high: 4-7) */
    __m256 t0 = _mm256_hadd_ps(s0, s1), t1 = _mm256_hadd_ps(s2, s3);
    return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20),
                         _mm256_permute2f128_ps(t0, t1, 0x31));
}

#define ROWS_FN recur_f32_rnn_step_rows__avx2
#include "../common/f32_rnn_rows.h"
