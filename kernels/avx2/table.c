/*
 * AVX2+FMA table. The GEMM blocks below are the defaults, used only where the caches
 * are unknown: at run time they are derived from the detected L1d/L2/L3 (src/gemm.c,
 * docs/kernels.md). They were tuned for a 6x16 tile on a core with 48 KiB L1d and
 * 1 MiB L2: the kc x 16 B micro-panel (kc = 384: 24 KiB) stays in L1 while A
 * micro-panels stream from the mc x kc block in L2 (mc = 6 * 48: 432 KiB);
 * nc bounds the packed B block kept in L3.
 */
#include "avx2_kernels.h"

_Static_assert(RECUR_BATCH_QUANTUM % RECUR_AVX2_BATCH_TILE == 0,
               "batch tiles must divide the batch quantum");

static const recur_kernel_table avx2_table = {
    .isa = RECUR_ISA_AVX2,
    .gemm = recur_gemm_blocked,
    .gemm_bias = recur_gemm_blocked_bias,
    .gemm_config = {.ukernel = recur_f32_gemm_ukernel__avx2_6x16,
                    .mr = 6, .nr = 16, .kc = 384, .mc = 6 * 48, .nc = 4096,
                    .pack_b_trans = recur_f32_pack_b_trans__avx2,
                    .pack_a_rows = recur_f32_pack_a_rows__avx2,
                    .pack_a_cols = recur_f32_pack_a_cols__avx2,
                    .pack_b_rows = recur_f32_pack_b_rows__avx2},
    .rec_panel = RECUR_AVX2_REC_PANEL,
    .batch_tile = RECUR_AVX2_BATCH_TILE,
    .packed_rec_floats = recur_f32_packed_rec_floats__avx2,
    .pack_rec = recur_f32_pack_rec__avx2,
    .rnn_step = recur_f32_rnn_step__avx2,
    .bptt_step = recur_f32_bptt_step__avx2,
    .rnn_step_rows = recur_f32_rnn_step_rows__avx2,
    .activate = recur_f32_activate__avx2,
    .softmax_rows = recur_f32_softmax_rows__avx2,
};

const recur_kernel_table *recur_kernels_avx2(void)
{
    return &avx2_table;
}
