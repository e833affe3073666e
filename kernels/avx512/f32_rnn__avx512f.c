/*
 * AVX-512 recurrent kernels: the shared panel kernels (kernels/common/f32_rnn_panels.h)
 * over 32-row panels (two zmm) and 12-row batch tiles (24 accumulators).
 */
#include "avx512_kernels.h"
#include "avx512_vec.h"

#define PR RECUR_AVX512_REC_PANEL
#define NB_MAX RECUR_AVX512_BATCH_TILE
/* Independent k chains for a tile of nb rows: 8 chains only just cover FMA latency
 * times two pipes, so tiles of 4-7 rows (the batch's tail after whole 12-row tiles,
 * e.g. N = 16 = 12 + 4) get two (measured: step at H1760 N16 +2.5%). Tile sizes
 * depend only on the row's place in the batch, so each row's arithmetic does too. */
#define KS_FOR(nb) ((nb) == 1 ? 4 : (nb) < 8 ? 2 : 1)
/* The next panel is fetched ahead at every width; measured on the Intel Xeon (family 6
 * model 207) when the first tile fetched all of it. The fetch shared by the tiles
 * (7a4b02a, measured with AVX2 on an AMD EPYC Zen 3, family 25 model 1) has not run
 * on an AVX-512 machine yet. */
#define PREFETCH_NEXT 1
#define PREFETCH_MIN_H 1 /* always */
#define RNN_FN(name) recur_f32_##name##__avx512f
_Static_assert(PR == 2 * V_LANES, "a panel row is two vectors");

#include "../common/f32_rnn_panels.h"
