/* The AVX2 vector operations the shared kernel templates (kernels/common/) use. */
#ifndef RECUR_AVX2_VEC_H
#define RECUR_AVX2_VEC_H

#include "avx2_math.h"

#define V_LANES 8
#define V_T __m256
#define V_MASK_T __m256i
#define V_INLINE RECUR_AVX2_INLINE
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MASK(n) recur_avx2_mask(n)            /* lanes [0, n) of V_LANES */
#define V_LOADM(m, p) _mm256_maskload_ps(p, m)  /* masked-off lanes read as 0 */
#define V_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define V_ACT(f, v) recur_avx2_act(f, v)
#define V_MUL_ACT_GRAD(f, g, y) recur_avx2_mul_act_grad(f, g, y)

#endif
