/*
 * Recurrent kernels. Packed layout: panels of 32 output rows (two zmm); panel p
 * holds, for k = 0 .. H-1, the 32 values M(32p + j, k) contiguously (zero-padded
 * past `rows`). One k step of a panel is then two aligned-size vector loads that
 * multiply a broadcast hprev[n][k], so:
 *  - N = 1 (matvec, memory-bound on M): the panel is streamed once, with 4
 *    independent k chains (8 accumulators) to cover FMA latency;
 *  - batched: each loaded panel step is reused by up to 12 batch rows
 *    (24 accumulators); the panel stays in L1/L2 while all batch tiles use it.
 * The activation (or f') is applied in registers before the single store.
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

#define PR RECUR_AVX512_REC_PANEL /* rows per panel */
#define NB_MAX RECUR_AVX512_BATCH_TILE /* batch rows per register tile */

size_t recur_f32_packed_rec_floats__avx512f(size_t h, size_t rows)
{
    return (rows + PR - 1) / PR * PR * h;
}

void recur_f32_pack_rec__avx512f(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                                 ptrdiff_t cs, float *packed)
{
    /* Forward (U, rows contiguous): the GEMM's transposing packer has this layout. */
    if (cs == 1 && rs > 0) {
        recur_f32_pack_b_trans__avx512f(h, rows, m, (size_t)rs, packed);
        return;
    }
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        float *dst = packed + r0 * h;
        if (rs == 1) { /* backward (U^T): each k step is a contiguous run of U */
            __mmask16 k0 = recur_avx512_mask(nr), k1 = recur_avx512_mask(nr > 16 ? nr - 16 : 0);
            for (size_t k = 0; k < h; k++) {
                const float *src = m + r0 + (ptrdiff_t)k * cs;
                _mm512_storeu_ps(dst + k * PR, _mm512_maskz_loadu_ps(k0, src));
                _mm512_storeu_ps(dst + k * PR + 16, _mm512_maskz_loadu_ps(k1, src + 16));
            }
            continue;
        }
        for (size_t k = 0; k < h; k++)
            for (size_t j = 0; j < PR; j++)
                dst[k * PR + j] = j < nr ? m[(ptrdiff_t)(r0 + j) * rs + (ptrdiff_t)k * cs]
                                         : 0.0f;
    }
}

/*
 * acc[i] = sum_k panel(k) * x[i][k] for nb batch rows, using ks independent chains
 * over k (chain c takes k = c mod ks), summed at the end. nb and ks are literals at
 * every call site, so the arrays live in registers.
 */
RECUR_AVX512_INLINE void panel_dot(const int nb, const int ks, size_t h, const float *panel,
                                   const float *x, size_t ldx, const float *pf,
                                   __m512 acc[NB_MAX][2])
{
    __m512 part[4][NB_MAX][2];
#pragma GCC unroll 4
    for (int c = 0; c < ks; c++)
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++)
            part[c][i][0] = part[c][i][1] = _mm512_setzero_ps();

    size_t k = 0;
    for (; k + (size_t)ks <= h; k += (size_t)ks) {
        if (pf) { /* the next panel into L2, k step for k step with this one */
#pragma GCC unroll 4
            for (int c = 0; c < ks; c++) {
                _mm_prefetch((const char *)(pf + (k + c) * PR), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + (k + c) * PR + 16), _MM_HINT_T1);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < ks; c++) {
            __m512 m0 = _mm512_loadu_ps(panel + (k + c) * PR);
            __m512 m1 = _mm512_loadu_ps(panel + (k + c) * PR + 16);
#pragma GCC unroll 12
            for (int i = 0; i < nb; i++) {
                __m512 xv = _mm512_set1_ps(x[(size_t)i * ldx + k + c]);
                part[c][i][0] = _mm512_fmadd_ps(m0, xv, part[c][i][0]);
                part[c][i][1] = _mm512_fmadd_ps(m1, xv, part[c][i][1]);
            }
        }
    }
    for (; k < h; k++) {
        __m512 m0 = _mm512_loadu_ps(panel + k * PR);
        __m512 m1 = _mm512_loadu_ps(panel + k * PR + 16);
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)i * ldx + k]);
            part[0][i][0] = _mm512_fmadd_ps(m0, xv, part[0][i][0]);
            part[0][i][1] = _mm512_fmadd_ps(m1, xv, part[0][i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        acc[i][0] = part[0][i][0];
        acc[i][1] = part[0][i][1];
#pragma GCC unroll 4
        for (int c = 1; c < ks; c++) {
            acc[i][0] = _mm512_add_ps(acc[i][0], part[c][i][0]);
            acc[i][1] = _mm512_add_ps(acc[i][1], part[c][i][1]);
        }
    }
}

/* Independent k chains for a tile of nb rows: 8 chains only just cover FMA latency
 * times two pipes, so tiles of 4-7 rows (the batch's tail after whole 12-row tiles,
 * e.g. N = 16 = 12 + 4) get two (measured: step at H1760 N16 +2.5%). Tile sizes
 * depend only on the row's place in the batch, so each row's arithmetic does too. */
#define KS_FOR(nb) ((nb) == 1 ? 4 : (nb) < 8 ? 2 : 1)

/* out = f(pre + acc) on one tile; pre is read before out is written (they may alias). */
RECUR_AVX512_INLINE void rnn_tile(const int nb, size_t h, size_t nr, const float *panel,
                                  const float *pf,
                                  const float *hprev, size_t ld_hprev, const float *pre,
                                  size_t ld_pre, float *out, size_t ld_out,
                                  recur_activation f)
{
    __m512 acc[NB_MAX][2];
    panel_dot(nb, KS_FOR(nb), h, panel, hprev, ld_hprev, pf, acc);
    __mmask16 k0 = recur_avx512_mask(nr), k1 = recur_avx512_mask(nr > 16 ? nr - 16 : 0);
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        const float *p = pre + (size_t)i * ld_pre;
        float *o = out + (size_t)i * ld_out;
        __m512 v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, p), acc[i][0]);
        __m512 v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, p + 16), acc[i][1]);
        _mm512_mask_storeu_ps(o, k0, recur_avx512_act(f, v0));
        _mm512_mask_storeu_ps(o + 16, k1, recur_avx512_act(f, v1));
    }
}

/* da = (dh + acc) * f'(h) on one tile; dh is read before da is written (may alias). */
RECUR_AVX512_INLINE void bptt_tile(const int nb, size_t h, size_t nr, const float *panel,
                                   const float *pf,
                                   const float *da_next, size_t ld_da_next, const float *dh,
                                   size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                                   size_t ld_da, recur_activation f)
{
    __m512 acc[NB_MAX][2];
    if (da_next) {
        panel_dot(nb, KS_FOR(nb), h, panel, da_next, ld_da_next, pf, acc);
    } else {
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++)
            acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    }
    __mmask16 k0 = recur_avx512_mask(nr), k1 = recur_avx512_mask(nr > 16 ? nr - 16 : 0);
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        __m512 g0 = acc[i][0], g1 = acc[i][1];
        if (dh) {
            const float *d = dh + (size_t)i * ld_dh;
            g0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, d), g0);
            g1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, d + 16), g1);
        }
        const float *y = hcur + (size_t)i * ld_h;
        float *o = da + (size_t)i * ld_da;
        _mm512_mask_storeu_ps(o, k0, recur_avx512_mul_act_grad(f, g0, _mm512_maskz_loadu_ps(k0, y)));
        _mm512_mask_storeu_ps(o + 16, k1,
                              recur_avx512_mul_act_grad(f, g1, _mm512_maskz_loadu_ps(k1, y + 16)));
    }
}

/* Calls tile(nb, ...) with nb as a literal, for nb = 1 .. NB_MAX. */
#define DISPATCH_NB(nb, call)                                                              \
    switch (nb) {                                                                          \
    case 1: call(1); break;                                                                \
    case 2: call(2); break;                                                                \
    case 3: call(3); break;                                                                \
    case 4: call(4); break;                                                                \
    case 5: call(5); break;                                                                \
    case 6: call(6); break;                                                                \
    case 7: call(7); break;                                                                \
    case 8: call(8); break;                                                                \
    case 9: call(9); break;                                                                \
    case 10: call(10); break;                                                              \
    case 11: call(11); break;                                                              \
    default: call(12); break;                                                              \
    }

void recur_f32_rnn_step__avx512f(size_t batch, size_t h, size_t rows, const float *packed,
                                 const float *hprev, size_t ld_hprev, const float *pre,
                                 size_t ld_pre, float *out, size_t ld_out,
                                 recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        /* With several batch tiles a panel is read once per tile, which breaks the
         * sequential stream the hardware prefetches: the first tile fetches the next
         * panel into L2 (from L3 or memory when the matrix is larger than L2). */
        const float *next = batch > NB_MAX && r0 + PR < rows ? panel + PR * h : NULL;
        for (size_t n0 = 0; n0 < batch; n0 += NB_MAX) {
            size_t nb = batch - n0 < NB_MAX ? batch - n0 : NB_MAX;
#define RNN_TILE(NB)                                                                       \
    rnn_tile(NB, h, nr, panel, n0 == 0 ? next : NULL, hprev + n0 * ld_hprev, ld_hprev, pre + n0 * ld_pre + r0,     \
             ld_pre, out + n0 * ld_out + r0, ld_out, f)
            DISPATCH_NB(nb, RNN_TILE)
#undef RNN_TILE
        }
    }
}

void recur_f32_bptt_step__avx512f(size_t batch, size_t h, size_t rows, const float *packed,
                                  const float *da_next, size_t ld_da_next, const float *dh,
                                  size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                                  size_t ld_da, recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        /* With several batch tiles a panel is read once per tile, which breaks the
         * sequential stream the hardware prefetches: the first tile fetches the next
         * panel into L2 (from L3 or memory when the matrix is larger than L2). */
        const float *next = batch > NB_MAX && r0 + PR < rows ? panel + PR * h : NULL;
        for (size_t n0 = 0; n0 < batch; n0 += NB_MAX) {
            size_t nb = batch - n0 < NB_MAX ? batch - n0 : NB_MAX;
            const float *dn = da_next ? da_next + n0 * ld_da_next : NULL;
            const float *dhp = dh ? dh + n0 * ld_dh + r0 : NULL;
#define BPTT_TILE(NB)                                                                      \
    bptt_tile(NB, h, nr, panel, n0 == 0 ? next : NULL, dn, ld_da_next, dhp, ld_dh, hcur + n0 * ld_h + r0, ld_h,    \
              da + n0 * ld_da + r0, ld_da, f)
            DISPATCH_NB(nb, BPTT_TILE)
#undef BPTT_TILE
        }
    }
}
