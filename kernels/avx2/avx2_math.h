/*
 * AVX2+FMA vector math shared by the AVX2 kernels: exp, tanh, sigmoid and the
 * hidden activations with their derivatives, all in registers.
 *
 * Accuracy, measured against libm in double over EVERY float in [-20, 20]
 * (bit patterns iterated), see avx2_accuracy.h:
 *   exp      max rel error <= RECUR_AVX2_EXP_MAX_ULP ulp
 *   tanh     max rel error <= RECUR_AVX2_TANH_MAX_ULP ulp
 *   sigmoid  max rel error <= RECUR_AVX2_SIGMOID_MAX_ULP ulp
 * Outside [-20, 20]: tanh and sigmoid saturate to +-1 / 0 / 1 (never NaN for
 * +-inf). exp clamps its argument to [-87.3365, 88.3763] (2^n is built in the
 * exponent field, n in [-126, 127]), so it returns FLT_MIN-ish values instead of
 * denormals/0 below and ~FLT_MAX instead of +inf above: absolute error <= 1.2e-38
 * for every argument <= 0 (the only ones the kernels pass). NaN gives NaN.
 */
#ifndef RECUR_AVX2_MATH_H
#define RECUR_AVX2_MATH_H

#include <immintrin.h>
#include "recur.h"
#include "avx2_accuracy.h"


#define RECUR_AVX2_INLINE static inline __attribute__((always_inline))

/*
 * exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2] with ln2
 * split in two (Cody-Waite) so r is exact; p is a degree-6 interpolant of exp at
 * Chebyshev nodes (relative error 2e-8 on the interval, below half an ulp).
 */
RECUR_AVX2_INLINE __m256 recur_avx2_exp(__m256 x)
{
    /* min/max with x second keep a NaN input NaN. */
    x = _mm256_max_ps(_mm256_set1_ps(-87.3365448f),
                      _mm256_min_ps(_mm256_set1_ps(88.3762626f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.394110843e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.375126398e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166635290e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666641551e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.000000047e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/*
 * tanh: for |x| < 0.625, x + x^3 P(x^2) (P: degree-4 interpolant, no cancellation);
 * otherwise sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 0.29], which cannot
 * overflow and tends to +-1.
 */
RECUR_AVX2_INLINE __m256 recur_avx2_tanh(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 e = recur_avx2_exp(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-6.096714166e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.099717900e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.385090958e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.333276974e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.333332894e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, z), p, x);
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, is_small);
}

/* sigmoid = 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = exp(-|x|) in (0, 1]. */
RECUR_AVX2_INLINE __m256 recur_avx2_sigmoid(__m256 x)
{
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 e = recur_avx2_exp(_mm256_sub_ps(_mm256_setzero_ps(), ax));
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(s, _mm256_mul_ps(e, s), neg);
}

/* f(x) for a hidden or output activation (softmax excluded). */
RECUR_AVX2_INLINE __m256 recur_avx2_act(recur_activation f, __m256 x)
{
    switch (f) {
    case RECUR_ACT_TANH: return recur_avx2_tanh(x);
    case RECUR_ACT_SIGMOID: return recur_avx2_sigmoid(x);
    case RECUR_ACT_RELU: return _mm256_max_ps(x, _mm256_setzero_ps());
    default: return x;
    }
}

/* g * f'(x) from the activation's output y, like the scalar oracle. */
RECUR_AVX2_INLINE __m256 recur_avx2_mul_act_grad(recur_activation f, __m256 g, __m256 y)
{
    __m256 one = _mm256_set1_ps(1.0f);
    switch (f) {
    case RECUR_ACT_TANH: return _mm256_mul_ps(g, _mm256_fnmadd_ps(y, y, one));
    case RECUR_ACT_SIGMOID: return _mm256_mul_ps(g, _mm256_mul_ps(y, _mm256_sub_ps(one, y)));
    case RECUR_ACT_RELU:
        return _mm256_mul_ps(g, _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ),
                                              one));
    default: return g;
    }
}

/* Lane mask (all-ones lanes) for lanes [0, n) of an 8-lane vector; n >= 8 gives all. */
RECUR_AVX2_INLINE __m256i recur_avx2_mask(size_t n)
{
    int k = n >= 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
