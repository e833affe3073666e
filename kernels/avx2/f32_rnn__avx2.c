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
/* The next panel is fetched ahead only for wide panels (h >= 1536: 96 KiB a panel, U
 * 9 MiB and more), which no L1 keeps between batch tiles and whose U streams from L3 or
 * memory. Measured on an AMD EPYC Zen 3, family 25 model 1 (32 KiB L1d, 512 KiB L2,
 * step medians): H1760 N16 +10 % (fwd and BPTT), H2560 N16 +5 %, H1760 N64 +2 %, but
 * H1024 N16 -3 % and H512 N16 -1 to -3 %, hence the bound between them; with the fetch
 * shared by the tiles (7a4b02a) still H1024 N16 -2 %, H512 N16 / N64 -2 %, H1024 N64
 * +2 %. */
#define PREFETCH_NEXT 1
#define PREFETCH_MIN_H 1536
#define RNN_FN(name) recur_f32_##name##__avx2
_Static_assert(PR == 2 * V_LANES, "a panel row is two vectors");

#include "../common/f32_rnn_panels.h"
