/*
 * Whole forward sequence for batch 1 and small H (<= 128): one call runs all T steps,
 *   h_t = f(b + W x_t + U h_{t-1}),
 * with W and U packed as the step kernel packs U (panels of 32 rows). At small H a
 * step is a latency chain (broadcasts of the h just stored, the FMA chains, the
 * activation), so the kernel
 *  - covers all H rows in one k loop (one chain of FMAs and one activation per step,
 *    not one per 32-row panel),
 *  - accumulates b + W x_t first: that work does not depend on h_{t-1}, so the core
 *    runs it while the previous step's activation is still in flight,
 *  - costs no per-step call, slice or barrier.
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

#define PR RECUR_AVX512_REC_PANEL /* rows per packed panel, as in f32_rnn__avx512f.c */

/* Chains over k per panel count (8 accumulators; more measured slower: the step is
 * bound by loads and the activation, not by FMA latency). */
#define KS_FOR(np) ((np) == 1 ? 4 : 2)

/* acc[c][v] += panel(k)[v] * x[k] for k in [0, n), chain c taking k = c mod KS. */
RECUR_AVX512_INLINE void seq_dot(const int NP, const int KS, size_t n, size_t pstride,
                                 const float *p, const float *x, __m512 acc[8][8])
{
    size_t k = 0;
    for (; k + (size_t)KS <= n; k += (size_t)KS) {
#pragma GCC unroll 8
        for (int c = 0; c < KS; c++) {
            __m512 xv = _mm512_set1_ps(x[k + c]);
#pragma GCC unroll 8
            for (int v = 0; v < 2 * NP; v++)
                acc[c][v] = _mm512_fmadd_ps(
                    _mm512_loadu_ps(p + (size_t)(v / 2) * pstride + (k + c) * PR + (v % 2) * 16),
                    xv, acc[c][v]);
        }
    }
    for (; k < n; k++) {
        __m512 xv = _mm512_set1_ps(x[k]);
#pragma GCC unroll 8
        for (int v = 0; v < 2 * NP; v++)
            acc[0][v] = _mm512_fmadd_ps(
                _mm512_loadu_ps(p + (size_t)(v / 2) * pstride + k * PR + (v % 2) * 16), xv,
                acc[0][v]);
    }
}

RECUR_AVX512_INLINE void seq(const int NP, size_t T, size_t in, size_t h, const float *wp,
                             const float *up, const float *b, const float *x,
                             const float *h0, float *hs, recur_activation f)
{
    const int KS = KS_FOR(NP);
    __mmask16 mask[8];
    __m512 bias[8];
#pragma GCC unroll 8
    for (int v = 0; v < 2 * NP; v++) {
        size_t lo = (size_t)v * 16;
        mask[v] = recur_avx512_mask(h > lo ? h - lo : 0);
        bias[v] = wp ? _mm512_maskz_loadu_ps(mask[v], b + lo) : _mm512_setzero_ps();
    }
    const size_t wstride = PR * in, ustride = PR * h;
    const float *hp = h0;
    for (size_t t = 0; t < T; t++) {
        __m512 acc[8][8];
#pragma GCC unroll 8
        for (int c = 0; c < KS; c++)
#pragma GCC unroll 8
            for (int v = 0; v < 2 * NP; v++)
                acc[c][v] = c > 0 ? _mm512_setzero_ps()
                            : wp ? bias[v]
                                 : _mm512_maskz_loadu_ps(mask[v], x + t * h + v * 16);
        if (wp)
            seq_dot(NP, KS, in, wstride, wp, x + t * in, acc);
        seq_dot(NP, KS, h, ustride, up, hp, acc);
        float *ht = hs + t * h;
        /* Pairwise tree over the chains. */
#pragma GCC unroll 8
        for (int s = 1; s < KS; s *= 2)
#pragma GCC unroll 8
            for (int c = 0; c + s < KS; c += 2 * s)
#pragma GCC unroll 8
                for (int v = 0; v < 2 * NP; v++)
                    acc[c][v] = _mm512_add_ps(acc[c][v], acc[c + s][v]);
#pragma GCC unroll 8
        for (int v = 0; v < 2 * NP; v++)
            _mm512_mask_storeu_ps(ht + v * 16, mask[v], recur_avx512_act(f, acc[0][v]));
        hp = ht;
    }
}

void recur_f32_rnn_seq__avx512f(size_t T, size_t in, size_t h, const float *wpacked,
                                const float *upacked, const float *b, const float *x,
                                const float *h0, float *hs, recur_activation f)
{
    switch ((h + PR - 1) / PR) {
    case 1: seq(1, T, in, h, wpacked, upacked, b, x, h0, hs, f); break;
    case 2: seq(2, T, in, h, wpacked, upacked, b, x, h0, hs, f); break;
    case 3: seq(3, T, in, h, wpacked, upacked, b, x, h0, hs, f); break;
    default: seq(4, T, in, h, wpacked, upacked, b, x, h0, hs, f); break;
    }
}

/* BPTT mirror of seq: from t = T-1 down, da_t = (dH_t + U^T da_{t+1}) f'(h_t) in place. */
RECUR_AVX512_INLINE void bseq(const int NP, size_t T, size_t h, const float *up, float *da,
                              const float *hs, size_t window, recur_activation f)
{
    const int KS = KS_FOR(NP);
    __mmask16 mask[8];
#pragma GCC unroll 8
    for (int v = 0; v < 2 * NP; v++)
        mask[v] = recur_avx512_mask(h > (size_t)v * 16 ? h - (size_t)v * 16 : 0);
    const size_t ustride = PR * h;
    for (size_t t = T; t-- > 0;) {
        float *dt = da + t * h;
        __m512 acc[8][8];
#pragma GCC unroll 8
        for (int c = 0; c < KS; c++)
#pragma GCC unroll 8
            for (int v = 0; v < 2 * NP; v++)
                acc[c][v] = c > 0 ? _mm512_setzero_ps()
                                  : _mm512_maskz_loadu_ps(mask[v], dt + v * 16);
        int cut = t + 1 >= T || (window > 0 && (t + 1) % window == 0);
        if (!cut)
            seq_dot(NP, KS, h, ustride, up, dt + h, acc);
#pragma GCC unroll 8
        for (int s = 1; s < KS; s *= 2)
#pragma GCC unroll 8
            for (int c = 0; c + s < KS; c += 2 * s)
#pragma GCC unroll 8
                for (int v = 0; v < 2 * NP; v++)
                    acc[c][v] = _mm512_add_ps(acc[c][v], acc[c + s][v]);
#pragma GCC unroll 8
        for (int v = 0; v < 2 * NP; v++) {
            __m512 y = _mm512_maskz_loadu_ps(mask[v], hs + t * h + v * 16);
            _mm512_mask_storeu_ps(dt + v * 16, mask[v],
                                  recur_avx512_mul_act_grad(f, acc[0][v], y));
        }
    }
}

void recur_f32_bptt_seq__avx512f(size_t T, size_t h, const float *upacked, float *da,
                                 const float *hs, size_t window, recur_activation f)
{
    switch ((h + PR - 1) / PR) {
    case 1: bseq(1, T, h, upacked, da, hs, window, f); break;
    case 2: bseq(2, T, h, upacked, da, hs, window, f); break;
    case 3: bseq(3, T, h, upacked, da, hs, window, f); break;
    default: bseq(4, T, h, upacked, da, hs, window, f); break;
    }
}
