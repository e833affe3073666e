/* The AVX-512 vector operations the shared kernel templates (kernels/common/) use. */
#ifndef RECUR_AVX512_VEC_H
#define RECUR_AVX512_VEC_H

#include "avx512_math.h"

#define V_LANES 16
#define V_T __m512
#define V_MASK_T __mmask16
#define V_INLINE RECUR_AVX512_INLINE
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MASK(n) recur_avx512_mask(n)              /* lanes [0, n) of V_LANES */
#define V_LOADM(m, p) _mm512_maskz_loadu_ps(m, p)   /* masked-off lanes read as 0 */
#define V_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define V_ACT(f, v) recur_avx512_act(f, v)
#define V_MUL_ACT_GRAD(f, g, y) recur_avx512_mul_act_grad(f, g, y)

#endif
