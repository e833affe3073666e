/*
 * NEON (AArch64 Advanced SIMD) vector math shared by the NEON kernels: exp, tanh,
 * sigmoid and the hidden activations with their derivatives, four floats at a time,
 * all in registers.
 *
 * Accuracy, measured against libm in double over EVERY float in [-20, 20]
 * (bit patterns iterated), see neon_accuracy.h and docs/arm.md:
 *   exp      max rel error <= RECUR_NEON_EXP_MAX_ULP ulp
 *   tanh     max rel error <= RECUR_NEON_TANH_MAX_ULP ulp
 *   sigmoid  max rel error <= RECUR_NEON_SIGMOID_MAX_ULP ulp
 */
#ifndef RECUR_NEON_MATH_H
#define RECUR_NEON_MATH_H

#include <arm_neon.h>
#include "recur.h"
#include "neon_accuracy.h"

#define RECUR_NEON_INLINE static inline __attribute__((always_inline))

/* 2^n for integer n in [-126, 127], built in the exponent field. */
RECUR_NEON_INLINE float32x4_t recur_neon_pow2i(int32x4_t n)
{
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23));
}

/*
 * exp(x): x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n*ln2_hi is exact),
 * e^r by its degree-7 Taylor polynomial (truncation < 1e-8 relative), then scaled
 * by 2^n as two factors so results down to the subnormals and up to overflow
 * (inf) come out right. NaN propagates.
 */
RECUR_NEON_INLINE float32x4_t recur_neon_exp(float32x4_t x)
{
    const float32x4_t log2e = vdupq_n_f32(1.44269504088896341f);
    const float32x4_t ln2_hi = vdupq_n_f32(0.693145751953125f);
    const float32x4_t ln2_lo = vdupq_n_f32(1.42860676533018690e-6f);
    /* exp(-104) is below half the smallest subnormal, exp(89) overflows. */
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(89.0f));

    float32x4_t nf = vrndnq_f32(vmulq_f32(x, log2e));
    float32x4_t r = vfmsq_f32(x, nf, ln2_hi);
    r = vfmsq_f32(r, nf, ln2_lo);

    float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);

    int32x4_t n = vcvtq_s32_f32(nf);
    int32x4_t n1 = vshrq_n_s32(n, 1);
    p = vmulq_f32(p, recur_neon_pow2i(n1));
    return vmulq_f32(p, recur_neon_pow2i(vsubq_s32(n, n1)));
}

/*
 * tanh(x). Small |x|: x + x^3 Q(x^2), Q a least-squares fit on |x| < 0.625 (relative
 * weight), written so the rounding lands on the small correction term. Larger |x|:
 * 1 - 2 / (exp(2|x|) + 1), no cancellation there since tanh >= 0.55; |x| is clamped
 * at 9.1 where tanh already rounds to 1. The sign is copied back from x.
 */
RECUR_NEON_INLINE float32x4_t recur_neon_tanh(float32x4_t x)
{
    float32x4_t ax = vabsq_f32(x);
    float32x4_t u = vmulq_f32(x, x);
    float32x4_t q = vdupq_n_f32(2.142237499e-03f);
    q = vfmaq_f32(vdupq_n_f32(-8.176166564e-03f), q, u);
    q = vfmaq_f32(vdupq_n_f32(2.169989794e-02f), q, u);
    q = vfmaq_f32(vdupq_n_f32(-5.394650623e-02f), q, u);
    q = vfmaq_f32(vdupq_n_f32(1.333320141e-01f), q, u);
    q = vfmaq_f32(vdupq_n_f32(-3.333333135e-01f), q, u);
    float32x4_t small = vfmaq_f32(x, vmulq_f32(x, u), q);

    float32x4_t e = recur_neon_exp(vaddq_f32(vminq_f32(ax, vdupq_n_f32(9.1f)),
                                             vminq_f32(ax, vdupq_n_f32(9.1f))));
    float32x4_t big = vsubq_f32(vdupq_n_f32(1.0f),
                                vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, vdupq_n_f32(1.0f))));
    /* copy the sign bit of x onto the |x| result */
    const uint32x4_t sign = vdupq_n_u32(0x80000000u);
    big = vbslq_f32(sign, x, big);
    return vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.625f)), small, big);
}

/* sigmoid(x) = 1 / (1 + exp(-x)): relative accuracy of exp carries over on both tails. */
RECUR_NEON_INLINE float32x4_t recur_neon_sigmoid(float32x4_t x)
{
    float32x4_t e = recur_neon_exp(vnegq_f32(x));
    return vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
}

/* relu as maxNum, so NaN gives 0 and -0 gives +0 like the scalar `x > 0 ? x : 0`. */
RECUR_NEON_INLINE float32x4_t recur_neon_relu(float32x4_t x)
{
    return vmaxnmq_f32(x, vdupq_n_f32(0.0f));
}

/* The activation f on four floats (identity, and softmax which is not elementwise,
 * pass through). The switch is on a loop-invariant value, so it predicts well. */
RECUR_NEON_INLINE float32x4_t recur_neon_act(recur_activation f, float32x4_t x)
{
    switch (f) {
    case RECUR_ACT_TANH: return recur_neon_tanh(x);
    case RECUR_ACT_RELU: return recur_neon_relu(x);
    case RECUR_ACT_SIGMOID: return recur_neon_sigmoid(x);
    default: return x;
    }
}

/* g * f'(x) from the activation's output y, like the scalar oracle. */
RECUR_NEON_INLINE float32x4_t recur_neon_mul_act_grad(recur_activation f, float32x4_t g,
                                                      float32x4_t y)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    switch (f) {
    case RECUR_ACT_TANH: return vmulq_f32(g, vfmsq_f32(one, y, y));
    case RECUR_ACT_RELU:
        return vmulq_f32(g, vreinterpretq_f32_u32(vandq_u32(vcgtq_f32(y, vdupq_n_f32(0.0f)),
                                                            vreinterpretq_u32_f32(one))));
    case RECUR_ACT_SIGMOID: return vmulq_f32(g, vmulq_f32(y, vsubq_f32(one, y)));
    default: return g;
    }
}

#endif
