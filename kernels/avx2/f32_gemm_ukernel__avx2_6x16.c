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
/* Panels fetched 8 k steps ahead: within noise on an AMD EPYC Zen 3 (1024^3 and
 * 1760x1760x3200, 9 interleaved repetitions, -1 % to +1 %); the same hints gained 3-6 %
 * on an Intel Xeon family 6 model 207 (see the AVX-512 kernel). */
#define PREFETCH_AB 8
#define GEMM_UKERNEL recur_f32_gemm_ukernel__avx2_6x16

#include "../common/f32_gemm_ukernel_2v.h"
