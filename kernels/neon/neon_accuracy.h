/*
 * Documented accuracy of the NEON vector math (neon_math.h), in ulp of the
 * correctly rounded float result, against libm in double over EVERY float in
 * [-20, 20] (all 2,202,009,602 bit patterns). tests/simd/test_ukernels.c re-checks a
 * strided subset of that range and asserts these bounds. Plain constants, so tests
 * built for any architecture can include it. How it was measured: docs/arm.md.
 */
#ifndef RECUR_NEON_ACCURACY_H
#define RECUR_NEON_ACCURACY_H

/* Exhaustive sweep: exp 0.937 ulp (rel 7.9e-8), tanh 1.371 ulp (abs 8.2e-8, rel 1.5e-7),
 * sigmoid 2.481 ulp (abs 8.9e-8, rel 1.5e-7). The constants round those up. */
#define RECUR_NEON_EXP_MAX_ULP 1.0
#define RECUR_NEON_TANH_MAX_ULP 1.5
#define RECUR_NEON_SIGMOID_MAX_ULP 2.5

#endif
