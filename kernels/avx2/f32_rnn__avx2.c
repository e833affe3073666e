/*
 * Recurrent kernels. Packed layout: panels of 16 output rows (two ymm); panel p
 * holds, for k = 0 .. H-1, the 16 values M(16p + j, k) contiguously (zero-padded
 * past `rows`). One k step of a panel is then two aligned-size vector loads that
 * multiply a broadcast hprev[n][k], so:
 *  - N = 1 (matvec, memory-bound on M): the panel is streamed once, with 4
 *    independent k chains (8 accumulators) to cover FMA latency;
 *  - batched: each loaded panel step is reused by up to 6 batch rows
 *    (12 accumulators); the panel stays in L1/L2 while all batch tiles use it.
 * The activation (or f') is applied in registers before the single store.
 */
#include "avx2_kernels.h"
#include "avx2_math.h"

#define PR RECUR_AVX2_REC_PANEL /* rows per panel */
#define NB_MAX RECUR_AVX2_BATCH_TILE /* batch rows per register tile */

size_t recur_f32_packed_rec_floats__avx2(size_t h, size_t rows)
{
    return (rows + PR - 1) / PR * PR * h;
}

void recur_f32_pack_rec__avx2(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                              ptrdiff_t cs, float *packed)
{
    /* Forward (U, rows contiguous): the GEMM's transposing packer has this layout. */
    if (cs == 1 && rs > 0) {
        recur_f32_pack_b_trans__avx2(h, rows, m, (size_t)rs, packed);
        return;
    }
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        float *dst = packed + r0 * h;
        if (rs == 1) { /* backward (U^T): each k step is a contiguous run of U */
            __m256i k0 = recur_avx2_mask(nr), k1 = recur_avx2_mask(nr > 8 ? nr - 8 : 0);
            for (size_t k = 0; k < h; k++) {
                const float *src = m + r0 + (ptrdiff_t)k * cs;
                _mm256_storeu_ps(dst + k * PR, _mm256_maskload_ps(src, k0));
                _mm256_storeu_ps(dst + k * PR + 8, _mm256_maskload_ps(src + 8, k1));
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
RECUR_AVX2_INLINE void panel_dot(const int nb, const int ks, size_t h, const float *panel,
                                   const float *x, size_t ldx, __m256 acc[NB_MAX][2])
{
    __m256 part[4][NB_MAX][2];
#pragma GCC unroll 4
    for (int c = 0; c < ks; c++)
#pragma GCC unroll 6
        for (int i = 0; i < nb; i++)
            part[c][i][0] = part[c][i][1] = _mm256_setzero_ps();

    size_t k = 0;
    for (; k + (size_t)ks <= h; k += (size_t)ks) {
#pragma GCC unroll 4
        for (int c = 0; c < ks; c++) {
            __m256 m0 = _mm256_loadu_ps(panel + (k + c) * PR);
            __m256 m1 = _mm256_loadu_ps(panel + (k + c) * PR + 8);
#pragma GCC unroll 6
            for (int i = 0; i < nb; i++) {
                __m256 xv = _mm256_set1_ps(x[(size_t)i * ldx + k + c]);
                part[c][i][0] = _mm256_fmadd_ps(m0, xv, part[c][i][0]);
                part[c][i][1] = _mm256_fmadd_ps(m1, xv, part[c][i][1]);
            }
        }
    }
    for (; k < h; k++) {
        __m256 m0 = _mm256_loadu_ps(panel + k * PR);
        __m256 m1 = _mm256_loadu_ps(panel + k * PR + 8);
#pragma GCC unroll 6
        for (int i = 0; i < nb; i++) {
            __m256 xv = _mm256_set1_ps(x[(size_t)i * ldx + k]);
            part[0][i][0] = _mm256_fmadd_ps(m0, xv, part[0][i][0]);
            part[0][i][1] = _mm256_fmadd_ps(m1, xv, part[0][i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < nb; i++) {
        acc[i][0] = part[0][i][0];
        acc[i][1] = part[0][i][1];
#pragma GCC unroll 4
        for (int c = 1; c < ks; c++) {
            acc[i][0] = _mm256_add_ps(acc[i][0], part[c][i][0]);
            acc[i][1] = _mm256_add_ps(acc[i][1], part[c][i][1]);
        }
    }
}

/* Independent k chains for a tile of nb rows: enough to keep ~8 FMAs in flight. */
#define KS_FOR(nb) ((nb) == 1 ? 4 : (nb) < 4 ? 2 : 1)

/* out = f(pre + acc) on one tile; pre is read before out is written (they may alias). */
RECUR_AVX2_INLINE void rnn_tile(const int nb, size_t h, size_t nr, const float *panel,
                                  const float *hprev, size_t ld_hprev, const float *pre,
                                  size_t ld_pre, float *out, size_t ld_out,
                                  recur_activation f)
{
    __m256 acc[NB_MAX][2];
    panel_dot(nb, KS_FOR(nb), h, panel, hprev, ld_hprev, acc);
    if (nr == PR) { /* full panel: plain loads and stores (masked ones are slow on AMD) */
#pragma GCC unroll 6
        for (int i = 0; i < nb; i++) {
            const float *p = pre + (size_t)i * ld_pre;
            float *o = out + (size_t)i * ld_out;
            __m256 v0 = _mm256_add_ps(_mm256_loadu_ps(p), acc[i][0]);
            __m256 v1 = _mm256_add_ps(_mm256_loadu_ps(p + 8), acc[i][1]);
            _mm256_storeu_ps(o, recur_avx2_act(f, v0));
            _mm256_storeu_ps(o + 8, recur_avx2_act(f, v1));
        }
        return;
    }
    __m256i k0 = recur_avx2_mask(nr), k1 = recur_avx2_mask(nr > 8 ? nr - 8 : 0);
#pragma GCC unroll 6
    for (int i = 0; i < nb; i++) {
        const float *p = pre + (size_t)i * ld_pre;
        float *o = out + (size_t)i * ld_out;
        __m256 v0 = _mm256_add_ps(_mm256_maskload_ps(p, k0), acc[i][0]);
        __m256 v1 = _mm256_add_ps(_mm256_maskload_ps(p + 8, k1), acc[i][1]);
        _mm256_maskstore_ps(o, k0, recur_avx2_act(f, v0));
        _mm256_maskstore_ps(o + 8, k1, recur_avx2_act(f, v1));
    }
}

/* da = (dh + acc) * f'(h) on one tile; dh is read before da is written (may alias). */
RECUR_AVX2_INLINE void bptt_tile(const int nb, size_t h, size_t nr, const float *panel,
                                   const float *da_next, size_t ld_da_next, const float *dh,
                                   size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                                   size_t ld_da, recur_activation f)
{
    __m256 acc[NB_MAX][2];
    if (da_next) {
        panel_dot(nb, KS_FOR(nb), h, panel, da_next, ld_da_next, acc);
    } else {
#pragma GCC unroll 6
        for (int i = 0; i < nb; i++)
            acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    }
    if (nr == PR) { /* full panel: plain loads and stores */
#pragma GCC unroll 6
        for (int i = 0; i < nb; i++) {
            __m256 g0 = acc[i][0], g1 = acc[i][1];
            if (dh) {
                const float *d = dh + (size_t)i * ld_dh;
                g0 = _mm256_add_ps(_mm256_loadu_ps(d), g0);
                g1 = _mm256_add_ps(_mm256_loadu_ps(d + 8), g1);
            }
            const float *y = hcur + (size_t)i * ld_h;
            float *o = da + (size_t)i * ld_da;
            _mm256_storeu_ps(o, recur_avx2_mul_act_grad(f, g0, _mm256_loadu_ps(y)));
            _mm256_storeu_ps(o + 8, recur_avx2_mul_act_grad(f, g1, _mm256_loadu_ps(y + 8)));
        }
        return;
    }
    __m256i k0 = recur_avx2_mask(nr), k1 = recur_avx2_mask(nr > 8 ? nr - 8 : 0);
#pragma GCC unroll 6
    for (int i = 0; i < nb; i++) {
        __m256 g0 = acc[i][0], g1 = acc[i][1];
        if (dh) {
            const float *d = dh + (size_t)i * ld_dh;
            g0 = _mm256_add_ps(_mm256_maskload_ps(d, k0), g0);
            g1 = _mm256_add_ps(_mm256_maskload_ps(d + 8, k1), g1);
        }
        const float *y = hcur + (size_t)i * ld_h;
        float *o = da + (size_t)i * ld_da;
        _mm256_maskstore_ps(o, k0, recur_avx2_mul_act_grad(f, g0, _mm256_maskload_ps(y, k0)));
        _mm256_maskstore_ps(o + 8, k1,
                              recur_avx2_mul_act_grad(f, g1, _mm256_maskload_ps(y + 8, k1)));
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
    default: call(6); break;                                                              \
    }

void recur_f32_rnn_step__avx2(size_t batch, size_t h, size_t rows, const float *packed,
                                 const float *hprev, size_t ld_hprev, const float *pre,
                                 size_t ld_pre, float *out, size_t ld_out,
                                 recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        for (size_t n0 = 0; n0 < batch; n0 += NB_MAX) {
            size_t nb = batch - n0 < NB_MAX ? batch - n0 : NB_MAX;
#define RNN_TILE(NB)                                                                       \
    rnn_tile(NB, h, nr, panel, hprev + n0 * ld_hprev, ld_hprev, pre + n0 * ld_pre + r0,     \
             ld_pre, out + n0 * ld_out + r0, ld_out, f)
            DISPATCH_NB(nb, RNN_TILE)
#undef RNN_TILE
        }
    }
}

void recur_f32_bptt_step__avx2(size_t batch, size_t h, size_t rows, const float *packed,
                                  const float *da_next, size_t ld_da_next, const float *dh,
                                  size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                                  size_t ld_da, recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        for (size_t n0 = 0; n0 < batch; n0 += NB_MAX) {
            size_t nb = batch - n0 < NB_MAX ? batch - n0 : NB_MAX;
            const float *dn = da_next ? da_next + n0 * ld_da_next : NULL;
            const float *dhp = dh ? dh + n0 * ld_dh + r0 : NULL;
#define BPTT_TILE(NB)                                                                      \
    bptt_tile(NB, h, nr, panel, dn, ld_da_next, dhp, ld_dh, hcur + n0 * ld_h + r0, ld_h,    \
              da + n0 * ld_da + r0, ld_da, f)
            DISPATCH_NB(nb, BPTT_TILE)
#undef BPTT_TILE
        }
    }
}
