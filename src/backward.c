/*
 * BPTT driver. Time-parallel work is done as GEMMs over all T*N rows at once
 * (the output layer's gradients, dW, dU, dx); only the recurrence
 *   dA_t = (dH_t + U^T dA_{t+1}) * f'(h_t)
 * runs step by step, through the fused bptt_step kernel, in place over dH.
 * One team of threads runs the whole call (see parallel.h for the splits); the bias
 * sums db and dc are split over columns, each summed over rows in increasing order.
 */
#include <string.h>
#include "parallel.h"
#include "workspace.h"

recur_backward_options recur_backward_options_default(void)
{
    recur_backward_options o = {RECUR_DY_OUTPUT, 0, 0};
    return o;
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

typedef struct backward_job {
    recur_context *ctx;
    const recur_rnn *rnn;
    const recur_dims *d;
    const recur_weights *w;
    const recur_backward_options *o;
    const float *x;
    const float *hs;     /* h_{-1} .. h_{T-1} */
    const float *ys;     /* saved y when O > 0 */
    const float *dy, *dh_last;
    recur_tensors *g;
    float *dx, *dh0;
    float *dA;           /* [T][N][H] scratch */
    float *dz;           /* [T][N][O] scratch, when g needs it */
    int failed;
} backward_job;

/* Output layer: dV = dz^T h, dc = sum dz, and dH = dz V into dA (or dA from dy).
 * dh_in_dy: O == 0 and the steps read dH straight from dy (nothing to copy). */
static void output_layer_backward(const backward_job *j, recur_team *team, size_t tid,
                                  size_t nt, size_t *phase, float *gs, int dh_in_dy)
{
    const recur_kernel_table *kt = j->ctx->kt;
    const recur_dims *d = j->d;
    const size_t H = d->H, O = d->O, TN = d->tn;
    const int acc = j->o->accumulate;
    const float *h = j->hs + d->nh;
    size_t e0, e1;
    if (O == 0) {
        if (dh_in_dy)
            return;
        recur_par_elems(tid, nt, d->hseq, &e0, &e1);
        if (e0 >= e1)
            return;
        if (j->dy)
            memcpy(j->dA + e0, j->dy + e0, (e1 - e0) * sizeof(float));
        else
            memset(j->dA + e0, 0, (e1 - e0) * sizeof(float));
        return;
    }
    const float *dzp = j->dy;
    if (j->dz) {
        recur_split(TN, nt, tid, &e0, &e1);
        output_act_backward(j->rnn->cfg.output_act, e1 - e0, O, j->ys + e0 * O,
                            j->dy + e0 * O, j->dz + e0 * O);
        recur_team_barrier(team, nt, phase);
        dzp = j->dz;
    }
    if (dzp) {
        recur_par_gemm(kt, tid, nt, O, H, TN, dzp, 1, (ptrdiff_t)O, h, (ptrdiff_t)H, 1,
                       j->g->V, H, acc, NULL, gs);
        recur_par_column_sums(tid, nt, dzp, TN, O, j->g->c, acc);
        recur_par_gemm(kt, tid, nt, TN, H, O, dzp, (ptrdiff_t)O, 1, j->w->V, (ptrdiff_t)H, 1,
                       j->dA, H, 0, NULL, gs);
        return;
    }
    if (!acc && tid == 0) {
        memset(j->g->V, 0, O * H * sizeof(float));
        memset(j->g->c, 0, O * sizeof(float));
    }
    recur_par_elems(tid, nt, d->hseq, &e0, &e1);
    if (e0 < e1)
        memset(j->dA + e0, 0, (e1 - e0) * sizeof(float));
}

/*
 * One team thread: the output layer's gradients (blocks), then the recurrence from
 * the last step to the first over this thread's slice of U^T (packed once into its
 * own buffer), in place over dA, then the weight gradients (blocks).
 */
static void backward_thread(void *arg, recur_team *team, size_t tid, size_t nt)
{
    backward_job *j = arg;
    const recur_kernel_table *kt = j->ctx->kt;
    const recur_dims *d = j->d;
    const size_t H = d->H, I = d->I, N = d->N, T = d->T, TN = d->tn;
    const int acc = j->o->accumulate;

    /* Batch 1 at small H: thread 0 runs the whole recurrence in one kernel call (the
     * same arithmetic for any team size); the GEMMs are still shared. */
    int seq = kt->bptt_seq && N == 1 && H <= kt->rnn_seq_max_h;
    recur_step_plan plan = recur_step_plan_make(kt, N, H, nt);
    size_t r0, r1, n0, n1;
    if (seq) {
        plan.pr = plan.pb = 1;
        r0 = n0 = 0;
        r1 = tid == 0 ? H : 0;
        n1 = tid == 0 ? N : 0;
    } else {
        recur_step_share(&plan, N, H, tid, &r0, &r1, &n0, &n1);
    }
    size_t rows = r1 - r0;
    size_t pk = rows ? recur_align16(kt->packed_rec_floats(H, rows)) : 0;
    size_t phase = 0;
    float *buf = recur_team_buffer(j->ctx, team, tid, nt, pk + recur_gemm_scratch_floats(kt),
                                   &phase);
    if (!buf) {
        if (tid == 0)
            j->failed = 1;
        return;
    }
    float *packed = buf, *gs = buf + pk;
    if (tid == 0) {
        j->ctx->last_pr = plan.pr;
        j->ctx->last_pb = plan.pb;
    }
    if (rows) /* rows r0.. of U^T are columns r0.. of U */
        kt->pack_rec(H, rows, j->w->U + r0, 1, (ptrdiff_t)H, packed);
    /* Without an output layer dH is dy itself: the steps read it from there (dy NULL:
     * zero) rather than from a copy in dA, except in the in-place sequence kernel. */
    int dh_in_dy = d->O == 0 && !seq;
    output_layer_backward(j, team, tid, nt, &phase, gs, dh_in_dy);
    recur_team_barrier(team, nt, &phase);

    const float *h = j->hs + d->nh;
    if (seq) {
        if (rows) {
            float *last = j->dA + (T - 1) * H;
            if (j->dh_last)
                for (size_t r = 0; r < H; r++)
                    last[r] += j->dh_last[r];
            kt->bptt_seq(T, H, packed, j->dA, h, j->o->bptt_window, j->rnn->cfg.hidden_act);
        }
        recur_team_barrier(team, nt, &phase);
    }
    for (size_t t = seq ? 0 : T; t-- > 0;) {
        size_t next = t + 1;
        int cut = next >= T || (j->o->bptt_window > 0 && next % j->o->bptt_window == 0);
        float *dat = j->dA + t * d->nh + n0 * H + r0;
        if (rows) {
            const float *dht = dat;
            if (dh_in_dy)
                dht = j->dy ? j->dy + t * d->nh + n0 * H + r0 : NULL;
            if (t == T - 1 && j->dh_last) { /* dH + dh_last into dA, as the copy did */
                for (size_t n = 0; n < n1 - n0; n++)
                    for (size_t r = 0; r < rows; r++)
                        dat[n * H + r] = (dht ? dht[n * H + r] : 0.0f) +
                                         j->dh_last[(n0 + n) * H + r0 + r];
                dht = dat;
            }
            const float *da_next = cut ? NULL : j->dA + next * d->nh + n0 * H;
            kt->bptt_step(n1 - n0, H, rows, packed, da_next, H, dht, H,
                          h + t * d->nh + n0 * H + r0, H, dat, H, j->rnn->cfg.hidden_act);
        }
        recur_team_barrier(team, nt, &phase);
    }

    /* Weight gradients over all steps at once, each split over its outputs. */
    recur_par_gemm(kt, tid, nt, H, I, TN, j->dA, 1, (ptrdiff_t)H, j->x, (ptrdiff_t)I, 1,
                   j->g->W, I, acc, NULL, gs);
    recur_par_gemm(kt, tid, nt, H, H, TN, j->dA, 1, (ptrdiff_t)H, j->hs, (ptrdiff_t)H, 1,
                   j->g->U, H, acc, NULL, gs);
    recur_par_column_sums(tid, nt, j->dA, TN, H, j->g->b, acc);
    if (j->dx)
        recur_par_gemm(kt, tid, nt, TN, I, H, j->dA, (ptrdiff_t)H, 1, j->w->W, (ptrdiff_t)I, 1,
                       j->dx, I, acc, NULL, gs);
    /* dh0 = U^T dA_0 is one more step of the recurrence with f' = 1: the packed U^T
     * slice is already here (a GEMM would pack all of U again); accumulating is dh. */
    if (j->dh0 && rows) {
        float *d0 = j->dh0 + n0 * H + r0;
        kt->bptt_step(n1 - n0, H, rows, packed, j->dA + n0 * H, H, acc ? d0 : NULL, H,
                      j->dA + n0 * H + r0, H, d0, H, RECUR_ACT_IDENTITY);
    }
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

    /* Shared scratch: [dA (T*N*H) | dz (T*N*O, when g needs it)]; per-thread buffers
     * hold the packed U^T slices and GEMM packing. */
    int need_dz = d.O > 0 && dy && !(o.dy_kind == RECUR_DY_LOGITS ||
                                     rnn->cfg.output_act == RECUR_ACT_IDENTITY);
    size_t da_n = recur_align16(d.hseq);
    size_t dz_n = need_dz ? recur_align16(d.y) : 0;
    size_t total;
    if (!recur_add_ok(da_n, dz_n, &total))
        return RECUR_ERR_SIZE_OVERFLOW;
    float *s = recur_context_scratch(ctx, total);
    if (!s)
        return RECUR_ERR_OUT_OF_MEMORY;

    const float *hs = recur_ws_states((void *)(uintptr_t)workspace);
    backward_job j = {ctx, rnn, &d, w, &o, x, hs, hs + d.nh + d.hseq, dy, dh_last, grads,
                      dx, dh0, s, need_dz ? s + da_n : NULL, 0};
    size_t want = recur_team_size(ctx, recur_step_fmas(&d));
    recur_team_run(ctx, want, backward_thread, &j);
    return j.failed ? RECUR_ERR_OUT_OF_MEMORY : RECUR_OK;
}
