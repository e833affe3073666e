/*
 * AVX-512 vector math shared by the AVX-512 kernels: exp, tanh, sigmoid and the
 * hidden activations with their derivatives, all in registers.
 *
 * Accuracy, measured against libm in double over EVERY float in [-20, 20]
 * (bit patterns iterated), see avx512_accuracy.h:
 *   exp      max rel error <= RECUR_AVX512_EXP_MAX_ULP ulp
 *   tanh     max rel error <= RECUR_AVX512_TANH_MAX_ULP ulp
 *   sigmoid  max rel error <= RECUR_AVX512_SIGMOID_MAX_ULP ulp
 * Outside [-20, 20]: tanh and sigmoid saturate to +-1 / 0 / 1 (never NaN for
 * +-inf); exp clamps its argument to [-104, 88.8] and scales with vscalefps, so it
 * underflows to 0 and overflows to +inf like expf. NaN inputs give NaN.
 */
#ifndef RECUR_AVX512_MATH_H
#define RECUR_AVX512_MATH_H

#include <immintrin.h>
#include "recur.h"
#include "avx512_accuracy.h"


#define RECUR_AVX512_INLINE static inline __attribute__((always_inline))

/*
 * exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2] with ln2
 * split in two (Cody-Waite) so r is exact; p is a degree-6 interpolant of exp at
 * Chebyshev nodes (relative error 2e-8 on the interval, below half an ulp).
 */
RECUR_AVX512_INLINE __m512 recur_avx512_exp(__m512 x)
{
    /* min/max with x second keep a NaN input NaN. */
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(88.8f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.394110843e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.375126398e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166635290e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666641551e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.000000047e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/*
 * tanh: for |x| < 0.625, x + x^3 P(x^2) (P: degree-4 interpolant, no cancellation);
 * otherwise sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 0.29], which cannot
 * overflow and tends to +-1.
 */
RECUR_AVX512_INLINE __m512 recur_avx512_tanh(__m512 x)
{
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 ax = _mm512_andnot_ps(sign, x);
    __m512 e = recur_avx512_exp(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 big = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
    big = _mm512_or_ps(big, _mm512_and_ps(sign, x));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-6.096714166e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.099717900e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.385090958e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.333276974e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.333332894e-1f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x, z), p, x);
    __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(is_small, big, small);
}

/* sigmoid = 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = exp(-|x|) in (0, 1]. */
RECUR_AVX512_INLINE __m512 recur_avx512_sigmoid(__m512 x)
{
    __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x);
    __m512 e = recur_avx512_exp(_mm512_sub_ps(_mm512_setzero_ps(), ax));
    __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(s, neg, e, s);
}

/* f(x) for a hidden or output activation (softmax excluded). */
RECUR_AVX512_INLINE __m512 recur_avx512_act(recur_activation f, __m512 x)
{
    switch (f) {
    case RECUR_ACT_TANH: return recur_avx512_tanh(x);
    case RECUR_ACT_SIGMOID: return recur_avx512_sigmoid(x);
    case RECUR_ACT_RELU: return _mm512_max_ps(x, _mm512_setzero_ps());
    default: return x;
    }
}

/* g * f'(x) from the activation's output y, like the scalar oracle. */
RECUR_AVX512_INLINE __m512 recur_avx512_mul_act_grad(recur_activation f, __m512 g, __m512 y)
{
    __m512 one = _mm512_set1_ps(1.0f);
    switch (f) {
    case RECUR_ACT_TANH: return _mm512_mul_ps(g, _mm512_fnmadd_ps(y, y, one));
    case RECUR_ACT_SIGMOID: return _mm512_mul_ps(g, _mm512_mul_ps(y, _mm512_sub_ps(one, y)));
    case RECUR_ACT_RELU:
        return _mm512_mul_ps(g, _mm512_maskz_mov_ps(
                                    _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ),
                                    one));
    default: return g;
    }
}

/* Lanes [0, n) of a 16-lane vector, n <= 16 (n >= 16 gives all). */
RECUR_AVX512_INLINE __mmask16 recur_avx512_mask(size_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

#endif
