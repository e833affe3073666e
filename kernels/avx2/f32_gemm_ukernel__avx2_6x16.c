/*
 * 6x16 SGEMM microkernel (kernels/common/f32_gemm_ukernel_2v.h): 12 ymm accumulators
 * + 2 for the B row + 1 broadcast use 15 of the 16 registers; 12 independent FMA
 * chains cover the FMA latency of two pipes.
 */
#include "avx2_kernels.h"
#include "avx2_vec.h"

#define MR 6
/* No C prefetch: it measured no gain here (Zen 3, 800 x 512 x 1024, within noise). */
#define PREFETCH_C 0
#define GEMM_UKERNEL recur_f32_gemm_ukernel__avx2_6x16

#include "../common/f32_gemm_ukernel_2v.h"
