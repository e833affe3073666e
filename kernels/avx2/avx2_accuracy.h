/*
 * Documented accuracy of the AVX2 vector math (avx2_math.h), in ulp of the
 * correctly rounded float result, measured against libm in double over EVERY
 * float in [-20, 20] (all bit patterns). tests/simd/test_ukernels.c re-checks a
 * dense strided subset of that range and asserts these bounds. Kept free of
 * intrinsics so that tests built without AVX2 flags can include it.
 */
#ifndef RECUR_AVX2_ACCURACY_H
#define RECUR_AVX2_ACCURACY_H

/* Exhaustive sweep (2.2e9 floats each): exp 1.100 ulp, tanh 1.536 ulp (abs 9.2e-8),
 * sigmoid 2.781 ulp (abs 8.9e-8). The constants round those up. */
#define RECUR_AVX2_EXP_MAX_ULP 1.5
#define RECUR_AVX2_TANH_MAX_ULP 2.0
#define RECUR_AVX2_SIGMOID_MAX_ULP 3.0

#endif
