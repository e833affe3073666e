#include "neon_kernels.h"

/*
 * Default cache blocks, used only where the caches are unknown (at run time they are
 * derived from the detected L1d/L2/L3: src/gemm.c, docs/kernels.md). Tuned for 64 KiB
 * L1D / 512 KiB-1 MiB L2 cores (Neoverse N1/V1, Graviton, Ampere Altra; also fine
 * for 32 KiB L1D Cortex-A7x): the 12 x 256 B panel is 12 KiB
 * and stays in L1 with the 8 x 256 A micro-panel (8 KiB); the 128 x 256 A block
 * (128 KiB) stays in L2; the 256 x 1536 B block (1.5 MiB) goes to L2/L3.
 */
_Static_assert(RECUR_BATCH_QUANTUM % RECUR_NEON_BATCH_TILE == 0,
               "batch tiles must divide the batch quantum");

static const recur_kernel_table neon_table = {
    .isa = RECUR_ISA_NEON,
    .gemm = recur_gemm_blocked,
    .gemm_bias = recur_gemm_blocked_bias,
    .gemm_config = {.ukernel = recur_f32_gemm_ukernel__neon_8x12,
                    .mr = 8, .nr = 12, .kc = 256, .mc = 128, .nc = 1536},
    .rec_panel = RECUR_NEON_REC_PANEL,
    .batch_tile = RECUR_NEON_BATCH_TILE,
    .packed_rec_floats = recur_f32_packed_rec_floats__neon,
    .pack_rec = recur_f32_pack_rec__neon,
    .rnn_step = recur_f32_rnn_step__neon,
    .bptt_step = recur_f32_bptt_step__neon,
    .activate = recur_f32_activate__neon,
    .softmax_rows = recur_f32_softmax_rows__neon,
};

const recur_kernel_table *recur_kernels_neon(void)
{
    return &neon_table;
}
