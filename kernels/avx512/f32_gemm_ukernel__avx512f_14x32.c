/*
 * 14x32 SGEMM microkernel (kernels/common/f32_gemm_ukernel_2v.h): 28 zmm accumulators
 * + 2 for the B row + embedded broadcasts of A fill the 32 registers, so each k step
 * issues 28 FMAs for 2 vector loads and 14 broadcast loads.
 */
#include "avx512_kernels.h"
#include "avx512_vec.h"

#define MR 14
#define PREFETCH_C 1
/* Panels fetched 8 k steps ahead (about 100 cycles at two FMAs a cycle, several L2
 * latencies): on an Intel Xeon (family 6 model 207) the GEMM went from 0.88 to 0.94 of
 * dnnl_sgemm at 1024^3 and 0.96 to 0.985 at 1760x1760x3200 (same run, 7 interleaved
 * repetitions), while the microkernel alone in L1 runs at 96 % of peak: the loss was
 * panel lines arriving late from L2. */
#define PREFETCH_AB 8
#define GEMM_UKERNEL recur_f32_gemm_ukernel__avx512f_14x32

#include "../common/f32_gemm_ukernel_2v.h"
