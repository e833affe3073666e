/*
 * AVX2 recurrent kernels: the shared panel kernels (kernels/common/f32_rnn_panels.h)
 * over 16-row panels (two ymm) and 6-row batch tiles (12 accumulators).
 */
#include "avx2_kernels.h"
#include "avx2_vec.h"

#define PR RECUR_AVX2_REC_PANEL
#define NB_MAX RECUR_AVX2_BATCH_TILE
/* Independent k chains for a tile of nb rows: enough to keep ~8 FMAs in flight. */
#define KS_FOR(nb) ((nb) == 1 ? 4 : (nb) < 4 ? 2 : 1)
/* Fetching the next panel ahead measured 2-3 % slower here (Zen 3, H512 N16). */
#define PREFETCH_NEXT 0
#define RNN_FN(name) recur_f32_##name##__avx2
_Static_assert(PR == 2 * V_LANES, "a panel row is two vectors");

#include "../common/f32_rnn_panels.h"
