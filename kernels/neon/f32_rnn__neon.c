/*
 * Fused recurrent kernels for NEON.
 *
 * Packed layout: the slice's rows in panels of 8 (the last one zero-padded); a
 * panel stores, for k = 0 .. h-1, the 8 values M(r0..r0+7, k) contiguously. One
 * k step is then two quad loads, multiplied by one broadcast lane of a state row,
 * so 4 batch rows share each panel load (8 accumulators) and the activation (or
 * f') is applied to the accumulators before the single store.
 *
 * Aliasing: pre may equal out (rnn_step) and dh may equal da (bptt_step), with the
 * same stride; every 8-float chunk is read completely before it is written.
 */
#include <arm_neon.h>
#include "neon_kernels.h"
#include "neon_math.h"

#define PR RECUR_NEON_REC_PANEL /* rows per panel */
#define NB RECUR_NEON_BATCH_TILE /* batch rows per block */

size_t recur_f32_packed_rec_floats__neon(size_t h, size_t rows)
{
    return (rows + PR - 1) / PR * PR * h;
}

void recur_f32_pack_rec__neon(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                              ptrdiff_t cs, float *packed)
{
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t rv = rows - r0 < PR ? rows - r0 : PR;
        for (size_t k = 0; k < h; k++) {
            for (size_t i = 0; i < rv; i++)
                packed[i] = m[(ptrdiff_t)(r0 + i) * rs + (ptrdiff_t)k * cs];
            for (size_t i = rv; i < PR; i++)
                packed[i] = 0.0f;
            packed += PR;
        }
    }
}

/* One k step of panel w against lane L of the state quads xv[0..nb). */
#define PANEL_STEP(L)                                                     \
    do {                                                                  \
        const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);       \
        w += PR;                                                          \
        for (size_t j = 0; j < nb; j++) {                                 \
            acc[j][0] = vfmaq_laneq_f32(acc[j][0], w0, xv[j], L);         \
            acc[j][1] = vfmaq_laneq_f32(acc[j][1], w1, xv[j], L);         \
        }                                                                 \
    } while (0)

/* acc[j] = panel * x_j (8 rows) for the nb batch rows x_j = x + j*ldx; nb is a
 * constant at every call site, so the loops over j unroll into registers. */
RECUR_NEON_INLINE void panel_dot(size_t nb, size_t h, const float *w, const float *x,
                                 size_t ldx, float32x4_t acc[NB][2])
{
    for (size_t j = 0; j < nb; j++)
        acc[j][0] = acc[j][1] = vdupq_n_f32(0.0f);
    if (!x)
        return;
    float32x4_t xv[NB];
    size_t k = 0;
    for (; k + 4 <= h; k += 4) {
        for (size_t j = 0; j < nb; j++)
            xv[j] = vld1q_f32(x + j * ldx + k);
        PANEL_STEP(0);
        PANEL_STEP(1);
        PANEL_STEP(2);
        PANEL_STEP(3);
    }
    for (; k < h; k++) {
        const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
        w += PR;
        for (size_t j = 0; j < nb; j++) {
            acc[j][0] = vfmaq_n_f32(acc[j][0], w0, x[j * ldx + k]);
            acc[j][1] = vfmaq_n_f32(acc[j][1], w1, x[j * ldx + k]);
        }
    }
}

/*
 * N = 1 (matrix-vector): a single state row gives one FMA chain per quad, so the
 * FMA latency would bound it. Two independent chains (even / odd k) per quad hide
 * it; they are added at the end.
 */
static void panel_dot_1(size_t h, const float *w, const float *x, float32x4_t acc[NB][2])
{
    float32x4_t e0 = vdupq_n_f32(0.0f), e1 = e0, o0 = e0, o1 = e0;
    if (x) {
        size_t k = 0;
        for (; k + 4 <= h; k += 4) {
            const float32x4_t xv = vld1q_f32(x + k);
            e0 = vfmaq_laneq_f32(e0, vld1q_f32(w), xv, 0);
            e1 = vfmaq_laneq_f32(e1, vld1q_f32(w + 4), xv, 0);
            o0 = vfmaq_laneq_f32(o0, vld1q_f32(w + 8), xv, 1);
            o1 = vfmaq_laneq_f32(o1, vld1q_f32(w + 12), xv, 1);
            e0 = vfmaq_laneq_f32(e0, vld1q_f32(w + 16), xv, 2);
            e1 = vfmaq_laneq_f32(e1, vld1q_f32(w + 20), xv, 2);
            o0 = vfmaq_laneq_f32(o0, vld1q_f32(w + 24), xv, 3);
            o1 = vfmaq_laneq_f32(o1, vld1q_f32(w + 28), xv, 3);
            w += 4 * PR;
        }
        for (; k < h; k++, w += PR) {
            e0 = vfmaq_n_f32(e0, vld1q_f32(w), x[k]);
            e1 = vfmaq_n_f32(e1, vld1q_f32(w + 4), x[k]);
        }
    }
    acc[0][0] = vaddq_f32(e0, o0);
    acc[0][1] = vaddq_f32(e1, o1);
}

/* Loads rv <= 8 floats (zeros beyond) into two quads. */
RECUR_NEON_INLINE void load8(const float *p, size_t rv, float32x4_t *v0, float32x4_t *v1)
{
    if (rv == PR) {
        *v0 = vld1q_f32(p);
        *v1 = vld1q_f32(p + 4);
        return;
    }
    float t[PR] = {0};
    for (size_t i = 0; i < rv; i++)
        t[i] = p[i];
    *v0 = vld1q_f32(t);
    *v1 = vld1q_f32(t + 4);
}

RECUR_NEON_INLINE void store8(float *p, size_t rv, float32x4_t v0, float32x4_t v1)
{
    if (rv == PR) {
        vst1q_f32(p, v0);
        vst1q_f32(p + 4, v1);
        return;
    }
    float t[PR];
    vst1q_f32(t, v0);
    vst1q_f32(t + 4, v1);
    for (size_t i = 0; i < rv; i++)
        p[i] = t[i];
}

/* out = f(pre + acc) for nb batch rows of one panel. */
RECUR_NEON_INLINE void rnn_epilogue(size_t nb, size_t rv, float32x4_t acc[NB][2],
                                    const float *pre, size_t ld_pre, float *out,
                                    size_t ld_out, recur_activation f)
{
    for (size_t j = 0; j < nb; j++) {
        float32x4_t p0, p1;
        load8(pre + j * ld_pre, rv, &p0, &p1);
        float32x4_t v0 = recur_neon_act(f, vaddq_f32(p0, acc[j][0]));
        float32x4_t v1 = recur_neon_act(f, vaddq_f32(p1, acc[j][1]));
        store8(out + j * ld_out, rv, v0, v1);
    }
}

void recur_f32_rnn_step__neon(size_t batch, size_t h, size_t rows, const float *packed,
                              const float *hprev, size_t ld_hprev, const float *pre,
                              size_t ld_pre, float *out, size_t ld_out, recur_activation f)
{
    float32x4_t acc[NB][2];
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        const size_t rv = rows - r0 < PR ? rows - r0 : PR;
        const float *w = packed + r0 * h;
        size_t n = 0;
        if (batch == 1) {
            panel_dot_1(h, w, hprev, acc);
            rnn_epilogue(1, rv, acc, pre + r0, ld_pre, out + r0, ld_out, f);
            continue;
        }
        for (; n + NB <= batch; n += NB) {
            panel_dot(NB, h, w, hprev + n * ld_hprev, ld_hprev, acc);
            rnn_epilogue(NB, rv, acc, pre + n * ld_pre + r0, ld_pre, out + n * ld_out + r0,
                         ld_out, f);
        }
        for (; n < batch; n++) {
            panel_dot(1, h, w, hprev + n * ld_hprev, ld_hprev, acc);
            rnn_epilogue(1, rv, acc, pre + n * ld_pre + r0, ld_pre, out + n * ld_out + r0,
                         ld_out, f);
        }
    }
}

/* da = (dh + acc) * f'(hcur) for nb batch rows of one panel; dh may be NULL. */
RECUR_NEON_INLINE void bptt_epilogue(size_t nb, size_t rv, float32x4_t acc[NB][2],
                                     const float *dh, size_t ld_dh, const float *hcur,
                                     size_t ld_h, float *da, size_t ld_da,
                                     recur_activation f)
{
    for (size_t j = 0; j < nb; j++) {
        float32x4_t g0 = acc[j][0], g1 = acc[j][1], h0, h1;
        if (dh) {
            float32x4_t d0, d1;
            load8(dh + j * ld_dh, rv, &d0, &d1);
            g0 = vaddq_f32(d0, g0);
            g1 = vaddq_f32(d1, g1);
        }
        load8(hcur + j * ld_h, rv, &h0, &h1);
        g0 = recur_neon_mul_act_grad(f, g0, h0);
        g1 = recur_neon_mul_act_grad(f, g1, h1);
        store8(da + j * ld_da, rv, g0, g1);
    }
}

void recur_f32_bptt_step__neon(size_t batch, size_t h, size_t rows, const float *packed,
                               const float *da_next, size_t ld_da_next, const float *dh,
                               size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                               size_t ld_da, recur_activation f)
{
    float32x4_t acc[NB][2];
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        const size_t rv = rows - r0 < PR ? rows - r0 : PR;
        const float *w = packed + r0 * h;
        const float *dhr = dh ? dh + r0 : NULL;
        size_t n = 0;
        if (batch == 1) {
            panel_dot_1(h, w, da_next, acc);
            bptt_epilogue(1, rv, acc, dhr, ld_dh, hcur + r0, ld_h, da + r0, ld_da, f);
            continue;
        }
        for (; n + NB <= batch; n += NB) {
            const float *dn = da_next ? da_next + n * ld_da_next : NULL;
            panel_dot(NB, h, w, dn, ld_da_next, acc);
            bptt_epilogue(NB, rv, acc, dhr ? dhr + n * ld_dh : NULL, ld_dh,
                          hcur + n * ld_h + r0, ld_h, da + n * ld_da + r0, ld_da, f);
        }
        for (; n < batch; n++) {
            const float *dn = da_next ? da_next + n * ld_da_next : NULL;
            panel_dot(1, h, w, dn, ld_da_next, acc);
            bptt_epilogue(1, rv, acc, dhr ? dhr + n * ld_dh : NULL, ld_dh,
                          hcur + n * ld_h + r0, ld_h, da + n * ld_da + r0, ld_da, f);
        }
    }
}
