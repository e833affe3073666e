/* Helpers shared by the SIMD-vs-oracle tests: the ISAs under test. The generator
 * (cmp_rng) and the floating-point error constants (CMP_U, CMP_ULP, cmp_gamma) are
 * tools/recur_compare.h's, like every test's and recur-validate's. */
#ifndef RECUR_SIMD_TEST_COMMON_H
#define RECUR_SIMD_TEST_COMMON_H

#include "recur.h"
#include "recur_compare.h"

/* Every SIMD ISA recur knows of; tests skip those this build/CPU lacks. */
static const recur_isa simd_isas[] = {RECUR_ISA_AVX2, RECUR_ISA_AVX512, RECUR_ISA_NEON};
#define SIMD_N_ISAS (sizeof simd_isas / sizeof simd_isas[0])

#endif
