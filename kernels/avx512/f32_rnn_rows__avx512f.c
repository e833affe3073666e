/* AVX-512 batch-1 step from row-major U: kernels/common/f32_rnn_rows.h, 16 rows a group. */
#include "avx512_kernels.h"
#include "avx512_vec.h"

/* w[i] = sum of the 16 lanes of a[i], for i < 16. */
V_INLINE __m512 sum_lanes(const __m512 a[16])
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

#define ROWS_FN recur_f32_rnn_step_rows__avx512f
#include "../common/f32_rnn_rows.h"
