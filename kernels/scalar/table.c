#include "scalar_kernels.h"

_Static_assert(RECUR_BATCH_QUANTUM % RECUR_SCALAR_BATCH_TILE == 0,
               "batch tiles must divide the batch quantum");

/* The oracle's GEMM is a plain loop: the blocks below only size the threads' shares
 * (mr, nr) and the tests that run the blocked driver with this table's microkernel;
 * they are never derived from the machine. */
static const recur_kernel_table scalar_table = {
    .isa = RECUR_ISA_SCALAR,
    .gemm = recur_f32_gemm__scalar,
    .gemm_config = {.ukernel = recur_f32_gemm_ukernel__scalar_4x4,
                    .mr = 4, .nr = 4, .kc = 256, .mc = 64, .nc = 256},
    .rec_panel = RECUR_SCALAR_REC_PANEL,
    .batch_tile = RECUR_SCALAR_BATCH_TILE,
    .packed_rec_floats = recur_f32_packed_rec_floats__scalar,
    .pack_rec = recur_f32_pack_rec__scalar,
    .rnn_step = recur_f32_rnn_step__scalar,
    .bptt_step = recur_f32_bptt_step__scalar,
    .activate = recur_f32_activate__scalar,
    .softmax_rows = recur_f32_softmax_rows__scalar,
};

const recur_kernel_table *recur_kernels_scalar(void)
{
    return &scalar_table;
}
