/* Helpers shared by the SIMD-vs-oracle tests: the ISAs under test, a
 * deterministic RNG, and the floating-point error constants. */
#ifndef RECUR_SIMD_TEST_COMMON_H
#define RECUR_SIMD_TEST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "recur.h"

/* Unit roundoff of float (half an ulp of 1). */
#define SIMD_U 0x1p-24
/* One ulp of a float x is at most |x| * 2^-23 for normal x. */
#define SIMD_ULP_REL 0x1p-23
/* Absolute slack for results in the subnormal range. */
#define SIMD_TINY 1e-35

/* gamma(n) = n u / (1 - n u): the classic bound on the relative error of a sum (or dot
 * product) of n terms in any order, relative to the sum of the magnitudes. */
static inline double simd_gamma(size_t n)
{
    double nu = (double)n * SIMD_U;
    return nu / (1.0 - nu);
}

/* Every SIMD ISA recur knows of; tests skip those this build/CPU lacks. */
static const recur_isa simd_isas[] = {RECUR_ISA_AVX2, RECUR_ISA_AVX512, RECUR_ISA_NEON};
#define SIMD_N_ISAS (sizeof simd_isas / sizeof simd_isas[0])

/* xorshift64*: reproducible across platforms. */
typedef struct simd_rng {
    uint64_t s;
} simd_rng;

static inline uint64_t simd_rng_next(simd_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi). */
static inline float simd_rng_uniform(simd_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((simd_rng_next(r) >> 40) * 0x1p-24);
}

static inline void simd_fill(simd_rng *r, float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = simd_rng_uniform(r, lo, hi);
}

#endif
