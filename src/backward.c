/*
 * BPTT driver. Time-parallel work is done as GEMMs over all T*N rows at once
 * (the output layer's gradients, dW, dU, dx); only the recurrence
 *   dA_t = (dH_t + U^T dA_{t+1}) * f'(h_t)
 * runs step by step, through the fused bptt_step kernel, in place over dH.
 */
#include <string.h>
#include "internal.h"
#include "workspace.h"

recur_backward_options recur_backward_options_default(void)
{
    recur_backward_options o = {RECUR_DY_OUTPUT, 0, 0};
    return o;
}

/* out[j] (+)= sum over rows of m[r][j], rows in increasing order. */
static void column_sums(const float *m, size_t rows, size_t cols, float *out, int acc)
{
    if (!acc)
        memset(out, 0, cols * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            out[j] += m[r * cols + j];
}

/* dz = dL/dz from dy = dL/dy through g, using the saved outputs y. */
static void output_act_backward(recur_activation g, size_t rows, size_t cols,
                                const float *y, const float *dy, float *dz)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dzr = dz + r * cols;
        if (g == RECUR_ACT_SOFTMAX) {
            float dot = 0.0f;
            for (size_t j = 0; j < cols; j++)
                dot += dyr[j] * yr[j];
            for (size_t j = 0; j < cols; j++)
                dzr[j] = yr[j] * (dyr[j] - dot);
            continue;
        }
        for (size_t j = 0; j < cols; j++) {
            float gp = 1.0f;
            if (g == RECUR_ACT_SIGMOID)
                gp = yr[j] * (1.0f - yr[j]);
            else if (g == RECUR_ACT_TANH)
                gp = 1.0f - yr[j] * yr[j];
            dzr[j] = dyr[j] * gp;
        }
    }
}

static recur_status backward_check(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                   size_t N, const recur_weights *w, const float *x,
                                   const void *ws, size_t ws_size,
                                   const recur_backward_options *o, const recur_tensors *g,
                                   recur_dims *d)
{
    if (!ctx || !rnn || !x || !ws || !g)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_weights_check(rnn, w);
    if (st != RECUR_OK)
        return st;
    if (!g->W || !g->U || !g->b || (rnn->cfg.output_size > 0 && (!g->V || !g->c)))
        return RECUR_ERR_NULL_POINTER;
    if ((o->dy_kind != RECUR_DY_OUTPUT && o->dy_kind != RECUR_DY_LOGITS) ||
        (o->accumulate != 0 && o->accumulate != 1))
        return RECUR_ERR_INVALID_ARGUMENT;
    if ((uintptr_t)ws % sizeof(float) != 0)
        return RECUR_ERR_INVALID_ARGUMENT;
    st = recur_dims_check(rnn, T, N, d);
    if (st != RECUR_OK)
        return st;
    size_t need = recur_ws_bytes(d);
    if (need == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    if (ws_size < need)
        return RECUR_ERR_WORKSPACE_TOO_SMALL;
    recur_ws_header want, have;
    recur_ws_header_make(rnn, d, &want);
    memcpy(&have, ws, sizeof have);
    if (memcmp(&want, &have, sizeof want) != 0)
        return RECUR_ERR_WORKSPACE_MISMATCH;
    return RECUR_OK;
}

recur_status recur_backward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                            const recur_weights *w, const float *x, const void *workspace,
                            size_t workspace_size, const float *dy, const float *dh_last,
                            const recur_backward_options *options, recur_tensors *grads,
                            float *dx, float *dh0)
{
    recur_backward_options o = options ? *options : recur_backward_options_default();
    recur_dims d;
    recur_status st = backward_check(ctx, rnn, T, N, w, x, workspace, workspace_size, &o,
                                     grads, &d);
    if (st != RECUR_OK)
        return st;
    const recur_kernel_table *kt = ctx->kt;
    const size_t H = d.H, I = d.I, O = d.O, TN = d.tn;
    const int acc = o.accumulate;

    /* Scratch: [dA (T*N*H) | dz (T*N*O, when g needs it) | packed U^T | GEMM packing]. */
    int need_dz = O > 0 && dy && !(o.dy_kind == RECUR_DY_LOGITS ||
                                   rnn->cfg.output_act == RECUR_ACT_IDENTITY);
    size_t da_n = recur_align16(d.hseq);
    size_t dz_n = need_dz ? recur_align16(d.y) : 0;
    size_t pk = recur_align16(kt->packed_rec_floats(H, H));
    size_t total;
    if (!recur_add_ok(da_n, dz_n, &total) || !recur_add_ok(total, pk, &total) ||
        !recur_add_ok(total, recur_gemm_scratch_floats(kt), &total))
        return RECUR_ERR_SIZE_OVERFLOW;
    float *s = recur_context_scratch(ctx, total);
    if (!s)
        return RECUR_ERR_OUT_OF_MEMORY;
    float *dA = s, *dz = s + da_n, *packed = dz + dz_n, *gs = packed + pk;

    const float *hs = recur_ws_states((void *)(uintptr_t)workspace); /* h_{-1} .. h_{T-1} */
    const float *h = hs + d.nh;
    const float *ys = h + d.hseq;

    /* Output layer: dz, then dV = dz^T h, dc = sum dz, and dH = dz V into dA. */
    if (O > 0) {
        const float *dzp = dy;
        if (need_dz) {
            output_act_backward(rnn->cfg.output_act, TN, O, ys, dy, dz);
            dzp = dz;
        }
        if (dzp) {
            kt->gemm(kt, O, H, TN, dzp, 1, (ptrdiff_t)O, h, (ptrdiff_t)H, 1, grads->V, H,
                     acc, gs);
            column_sums(dzp, TN, O, grads->c, acc);
            kt->gemm(kt, TN, H, O, dzp, (ptrdiff_t)O, 1, w->V, (ptrdiff_t)H, 1, dA, H, 0, gs);
        } else {
            if (!acc) {
                memset(grads->V, 0, O * H * sizeof(float));
                memset(grads->c, 0, O * sizeof(float));
            }
            memset(dA, 0, d.hseq * sizeof(float));
        }
    } else if (dy) {
        memcpy(dA, dy, d.hseq * sizeof(float));
    } else {
        memset(dA, 0, d.hseq * sizeof(float));
    }
    if (dh_last) {
        float *last = dA + (T - 1) * d.nh;
        for (size_t i = 0; i < d.nh; i++)
            last[i] += dh_last[i];
    }

    /* The recurrence, from the last step to the first, in place over dA. */
    kt->pack_rec(H, H, w->U, 1, (ptrdiff_t)H, packed); /* rows of U^T */
    for (size_t t = T; t-- > 0;) {
        size_t next = t + 1;
        int cut = next >= T || (o.bptt_window > 0 && next % o.bptt_window == 0);
        const float *da_next = cut ? NULL : dA + next * d.nh;
        float *dat = dA + t * d.nh;
        kt->bptt_step(d.N, H, H, packed, da_next, H, dat, H, h + t * d.nh, H, dat, H,
                      rnn->cfg.hidden_act);
    }

    /* Weight gradients over all steps at once. */
    kt->gemm(kt, H, I, TN, dA, 1, (ptrdiff_t)H, x, (ptrdiff_t)I, 1, grads->W, I, acc, gs);
    kt->gemm(kt, H, H, TN, dA, 1, (ptrdiff_t)H, hs, (ptrdiff_t)H, 1, grads->U, H, acc, gs);
    column_sums(dA, TN, H, grads->b, acc);
    if (dx)
        kt->gemm(kt, TN, I, H, dA, (ptrdiff_t)H, 1, w->W, (ptrdiff_t)I, 1, dx, I, acc, gs);
    if (dh0)
        kt->gemm(kt, d.N, H, H, dA, (ptrdiff_t)H, 1, w->U, (ptrdiff_t)H, 1, dh0, H, acc, gs);
    return RECUR_OK;
}
