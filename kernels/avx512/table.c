/*
 * AVX-512 table. The GEMM blocks below are the defaults, used only where the caches
 * are unknown: at run time they are derived from the detected L1d/L2/L3 (src/gemm.c,
 * docs/kernels.md). They were tuned for a 14x32 tile on a core with 48 KiB L1d and
 * 1 MiB L2: the mc x kc A block (mc = 14 * 24, kc = 512: 672 KiB) stays in L2
 * while the kc x 32 B micro-panel (64 KiB) streams through L1 beside the 28 KiB A
 * micro-panel; nc = 1024 keeps the packed B block (2 MiB) in L3. kc = 512 rather
 * than 256 halves the passes over C (measured on 2048^3: 87% -> 89% of peak, with
 * the microkernel's C prefetch; 69% before it).
 */
#include "avx512_kernels.h"

_Static_assert(RECUR_BATCH_QUANTUM % RECUR_AVX512_BATCH_TILE == 0,
               "batch tiles must divide the batch quantum");

static const recur_kernel_table avx512_table = {
    .isa = RECUR_ISA_AVX512,
    .gemm = recur_gemm_blocked,
    .gemm_bias = recur_gemm_blocked_bias,
    .gemm_config = {.ukernel = recur_f32_gemm_ukernel__avx512f_14x32,
                    .mr = 14, .nr = 32, .kc = 512, .mc = 14 * 24, .nc = 1024,
                    .pack_b_trans = recur_f32_pack_b_trans__avx512f,
                    .pack_a_rows = recur_f32_pack_a_rows__avx512f,
                    .pack_a_cols = recur_f32_pack_a_cols__avx512f,
                    .pack_b_rows = recur_f32_pack_b_rows__avx512f},
    .rec_panel = RECUR_AVX512_REC_PANEL,
    .batch_tile = RECUR_AVX512_BATCH_TILE,
    .packed_rec_floats = recur_f32_packed_rec_floats__avx512f,
    .pack_rec = recur_f32_pack_rec__avx512f,
    .rnn_step = recur_f32_rnn_step__avx512f,
    .bptt_step = recur_f32_bptt_step__avx512f,
    .rnn_seq = recur_f32_rnn_seq__avx512f,
    .rnn_seq_max_h = 128,
    .bptt_seq = recur_f32_bptt_seq__avx512f,
    .rnn_step_rows = recur_f32_rnn_step_rows__avx512f,
    .activate = recur_f32_activate__avx512f,
    .softmax_rows = recur_f32_softmax_rows__avx512f,
};

const recur_kernel_table *recur_kernels_avx512(void)
{
    return &avx512_table;
}
