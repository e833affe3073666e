/*
 * 14x32 SGEMM microkernel (kernels/common/f32_gemm_ukernel_2v.h): 28 zmm accumulators
 * + 2 for the B row + embedded broadcasts of A fill the 32 registers, so each k step
 * issues 28 FMAs for 2 vector loads and 14 broadcast loads.
 */
#include "avx512_kernels.h"
#include "avx512_vec.h"

#define MR 14
#define PREFETCH_C 1
#define GEMM_UKERNEL recur_f32_gemm_ukernel__avx512f_14x32

#include "../common/f32_gemm_ukernel_2v.h"
