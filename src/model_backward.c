/*
 * BPTT driver for every model, from the top layer down. Per layer: the gradient
 * arriving at its outputs (dH, from the output layer or the layer above) becomes
 * dA in place through the recurrence
 *     dA_t = (dH_t + U^T dA_{next}) * f'(h_t)
 * run step by step by the fused bptt_step kernel over the rows still running; then
 * the time-parallel work as GEMMs over the sequence rows: dW, dU, db, and the
 * gradient of the layer's input (dH of the layer below, or dx). ISA-free; one team
 * runs the whole call; bias sums are split over columns, each summed in row order.
 */
#include <string.h>
#include "model.h"

typedef struct bwd_thread_ctx {
    recur_call *c;
    recur_thread_share *s; /* the crew running the current pass */
} bwd_thread_ctx;

/* dz = dL/dz from dy = dL/dy through g for one row, using the saved output y. */
static void output_act_backward(recur_activation g, size_t cols, const float *y,
                                const float *dy, float *dz)
{
    if (g == RECUR_ACT_SOFTMAX) {
        float dot = 0.0f;
        for (size_t j = 0; j < cols; j++)
            dot += dy[j] * y[j];
        for (size_t j = 0; j < cols; j++)
            dz[j] = y[j] * (dy[j] - dot);
        return;
    }
    for (size_t j = 0; j < cols; j++) {
        float gp = 1.0f;
        if (g == RECUR_ACT_SIGMOID)
            gp = y[j] * (1.0f - y[j]);
        else if (g == RECUR_ACT_TANH)
            gp = 1.0f - y[j] * y[j];
        dz[j] = dy[j] * gp;
    }
}

/* dH / dA buffer of layer l, direction d (two sets alternate down the layers). */
static float *dh_buf(const recur_call *c, size_t l, size_t d)
{
    size_t set = c->m->cfg.num_layers > 1 ? (c->m->cfg.num_layers - 1 - l) % 2 : 0;
    return c->dh + (set * c->m->D + d) * c->T * c->N * c->m->cfg.hidden_size;
}

static recur_view dh_view(const recur_call *c, size_t l, size_t d)
{
    return recur_view_internal(dh_buf(c, l, d), &c->q, c->m->cfg.hidden_size,
                               recur_model_rev(c->m, d));
}

/* For the layer below l (or dx): its dH = this layer's input gradient, or SUM's copy. */
static void input_gradient(bwd_thread_ctx *x, size_t l)
{
    recur_call *c = x->c;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, D = m->D, in_w = recur_model_in_w(m, l);
    const int acc = c->o->accumulate;
    if (l == 0) {
        if (!c->dx.p)
            return;
        for (size_t d = 0; d < D; d++) {
            recur_view da = dh_view(c, 0, d);
            recur_rows_gemm(&x->s->r, &c->dx, in_w, &da, H, c->w->layers[d].W, (ptrdiff_t)in_w, 1,
                            d > 0 || acc, NULL);
        }
        if (!acc)
            recur_rows_zero_padding(&x->s->r, &c->dx, in_w);
        return;
    }
    /* Each lower direction's dH is the columns of the input its outputs fed. */
    recur_view xv[2];
    size_t col[2], wd[2];
    size_t nv = recur_call_inputs(c, l, xv, col, wd);
    for (size_t v = 0; v < nv; v++) {
        recur_view lower = dh_view(c, l - 1, v);
        for (size_t d = 0; d < D; d++) {
            recur_view da = dh_view(c, l, d);
            recur_rows_gemm(&x->s->r, &lower, H, &da, H, c->w->layers[l * D + d].W + col[v],
                            (ptrdiff_t)in_w, 1, d > 0, NULL);
        }
        recur_rows_zero_unused(&x->s->r, lower.p, H, lower.right);
    }
}

/* SUM merge: both lower directions get the same dH (direction 1 copies 0's). */
static void sum_copy(bwd_thread_ctx *x, size_t l)
{
    recur_call *c = x->c;
    const size_t H = c->m->cfg.hidden_size;
    recur_view a = dh_view(c, l, 0), b = dh_view(c, l, 1);
    recur_rows_combine(&x->s->r, &b, &a, NULL, H);
    recur_rows_zero_unused(&x->s->r, b.p, H, 1);
}

/* dH of the last layer from dy: the output layer's backward, or dy's columns. */
static void output_backward(bwd_thread_ctx *x)
{
    recur_call *c = x->c;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, O = m->cfg.output_size, L = m->cfg.num_layers;
    const size_t D = m->D;
    const int acc = c->o->accumulate, sum = D == 2 && m->cfg.merge == RECUR_MERGE_SUM;
    if (O == 0) {
        recur_view yd = c->dy;
        if (yd.p) /* no offset on NULL (dy absent: zeros) */
            yd.p += c->y_sd;
        for (size_t d = 0; d < D; d++) {
            recur_view dh = dh_view(c, L - 1, d);
            recur_rows_combine(&x->s->r, &dh, c->dy.p ? (d && !sum ? &yd : &c->dy) : NULL, NULL, H);
            recur_rows_zero_unused(&x->s->r, dh.p, H, dh.right);
        }
        recur_share_barrier(x->s);
        return;
    }
    if (!c->dy.p) {
        if (!acc && x->s->r.tid == 0) {
            memset(c->g->V, 0, O * m->out_w * sizeof(float));
            memset(c->g->c, 0, O * sizeof(float));
        }
        for (size_t d = 0; d < D; d++) {
            recur_view dh = dh_view(c, L - 1, d);
            recur_rows_combine(&x->s->r, &dh, NULL, NULL, H);
            recur_rows_zero_unused(&x->s->r, dh.p, H, dh.right);
        }
        recur_share_barrier(x->s);
        return;
    }
    recur_view dz = c->dy;
    if (c->dz) { /* through g, row by row, from the saved outputs */
        recur_view yv = {c->ys, (ptrdiff_t)(c->N * O), (ptrdiff_t)O, 0, 0};
        dz = (recur_view){c->dz, (ptrdiff_t)(c->N * O), (ptrdiff_t)O, 0, 0};
        size_t i0, i1;
        recur_split(c->T * c->N, x->s->r.nt, x->s->r.tid, &i0, &i1);
        for (size_t i = i0; i < i1; i++) {
            size_t t = i / c->N, p = i % c->N;
            if (t < recur_seq_len(&c->q, p))
                output_act_backward(m->cfg.output_act, O, recur_view_row(&yv, &c->q, t, p),
                                     recur_view_row(&c->dy, &c->q, t, p),
                                     recur_view_row(&dz, &c->q, t, p));
        }
        recur_share_barrier(x->s);
    }
    recur_view xv[2];
    size_t col[2], wd[2];
    size_t nv = recur_call_inputs(c, L, xv, col, wd);
    for (size_t v = 0; v < nv; v++)
        recur_rows_gemm_tn(&x->s->r, c->g->V + col[v], m->out_w, O, wd[v], &dz, &xv[v], acc);
    recur_rows_colsum(&x->s->r, &dz, O, c->g->c, acc);
    for (size_t v = 0; v < nv; v++) {
        recur_view dh = dh_view(c, L - 1, v);
        recur_rows_gemm(&x->s->r, &dh, H, &dz, O, c->w->V + col[v], (ptrdiff_t)m->out_w, 1, 0,
                        NULL);
        recur_rows_zero_unused(&x->s->r, dh.p, H, dh.right);
    }
    recur_share_barrier(x->s);
    if (sum) {
        sum_copy(x, L - 1);
        recur_share_barrier(x->s);
    }
}

/* dh_last into the rows of dH where each pass's h_last was taken. */
static void add_dh_last(const recur_call *c, size_t l)
{
    const size_t H = c->m->cfg.hidden_size, N = c->N, T = c->T;
    for (size_t d = 0; d < c->m->D; d++) {
        float *dh = dh_buf(c, l, d);
        size_t slot = l * c->m->D + d;
        for (size_t p = 0; p < N; p++) {
            size_t len = recur_seq_len(&c->q, p);
            size_t blk = recur_model_rev(c->m, d) ? T - len : len - 1;
            size_t n = c->q.perm ? c->q.perm[p] : p;
            const float *src = c->dh_last + (ptrdiff_t)slot * c->s_slot + (ptrdiff_t)n * c->s_n;
            float *dst = dh + (blk * N + p) * H;
            for (size_t j = 0; j < H; j++)
                dst[j] += src[j];
        }
    }
}

/* da *= f'(h), zero where the forward pass clamped the pre-activation. lo and hi are
 * f(-clip) and f(clip) from the same kernel that produced h. */
static void clip_derivative(recur_activation f, float lo, float hi, const float *h, float *da,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = h[i], d;
        if (v >= hi || v <= lo)
            d = 0.0f;
        else if (f == RECUR_ACT_TANH)
            d = 1.0f - v * v;
        else if (f == RECUR_ACT_SIGMOID)
            d = v * (1.0f - v);
        else if (f == RECUR_ACT_RELU)
            d = v > 0.0f ? 1.0f : 0.0f;
        else
            d = 1.0f;
        da[i] *= d;
    }
}

/* The recurrence of pass (l, d) in place over its dH, then dh0 from the packed U^T. */
static void pass_bptt(bwd_thread_ctx *x, size_t l, size_t d)
{
    recur_call *c = x->c;
    const recur_kernel_table *kt = c->ctx->kt;
    const recur_model_config *cfg = &c->m->cfg;
    const size_t H = cfg->hidden_size, N = c->N, T = c->T, slot = l * c->m->D + d;
    const int rev = recur_model_rev(c->m, d), seq = recur_call_use_seq(c, d, 1);
    const float *U = c->w->layers[slot].U;
    const float *hs = recur_call_pass_data(c, l, d);
    float *da = dh_buf(c, l, d);
    size_t r0 = x->s->r0, r1 = x->s->r1, n0 = x->s->n0, n1 = x->s->n1;
    if (seq) { /* thread 0 runs it all: the same arithmetic for any team size */
        r0 = n0 = 0;
        r1 = x->s->r.tid == 0 ? H : 0;
        n1 = x->s->r.tid == 0 ? N : 0;
    }
    size_t rows = r1 - r0;
    if (rows) /* rows r0.. of U^T are columns r0.. of U */
        kt->pack_rec(H, rows, U + r0, 1, (ptrdiff_t)H, x->s->packed);
    if (seq) {
        if (rows)
            kt->bptt_seq(recur_seq_len(&c->q, 0), H, x->s->packed, da, hs, c->o->bptt_window,
                         cfg->hidden_act);
        recur_share_barrier(x->s);
    } else {
        recur_activation fa = cfg->clip > 0.0f ? RECUR_ACT_IDENTITY : cfg->hidden_act;
        float lohi[2] = {-cfg->clip, cfg->clip};
        if (cfg->clip > 0.0f)
            kt->activate(cfg->hidden_act, 2, lohi);
        size_t k = c->o->bptt_window;
        for (size_t s = T; s-- > 0;) {
            size_t blk = rev ? T - 1 - s : s;
            int cut = s + 1 >= T || (k > 0 && (s + 1) % k == 0);
            size_t a = recur_seq_active(&c->q, s);
            size_t e1 = n1 < a ? n1 : a;
            if (rows && e1 > n0) {
                float *dat = da + (blk * N + n0) * H + r0;
                const float *hc = hs + (blk * N + n0) * H + r0;
                const float *next = cut ? NULL : da + ((rev ? blk - 1 : blk + 1) * N + n0) * H;
                for (size_t i = 0, n = recur_step_chunks(x->s, rows); i < n; i++) {
                    size_t c0, c1;
                    recur_step_chunk(x->s, rows, s, i, n, &c0, &c1);
                    kt->bptt_step(e1 - n0, H, c1 - c0, x->s->packed + c0 * H, next, H,
                                  dat + c0, H, hc + c0, H, dat + c0, H, fa);
                }
                if (cfg->clip > 0.0f)
                    for (size_t n = 0; n < e1 - n0; n++)
                        clip_derivative(cfg->hidden_act, lohi[0], lohi[1], hc + n * H,
                                        dat + n * H, rows);
            }
            recur_share_barrier(x->s);
        }
    }
    /* dh0 = U^T dA of the first step: one more step with f' = 1 on the packed slice.
     * Without reordered rows it goes straight to the caller (accumulating is dh). */
    if (c->dh0 && rows) {
        const float *da0 = da + (rev ? T - 1 : 0) * N * H;
        const int acc = c->o->accumulate;
        if (c->q.perm) {
            float *d0 = c->dh0_int + slot * N * H + n0 * H + r0;
            kt->bptt_step(n1 - n0, H, rows, x->s->packed, da0 + n0 * H, H, NULL, H,
                          da0 + n0 * H + r0, H, d0, H, RECUR_ACT_IDENTITY);
        } else {
            float *d0 = c->dh0 + (ptrdiff_t)slot * c->s_slot + (ptrdiff_t)n0 * c->s_n + r0;
            kt->bptt_step(n1 - n0, H, rows, x->s->packed, da0 + n0 * H, H, acc ? d0 : NULL,
                          (size_t)c->s_n, da0 + n0 * H + r0, H, d0, (size_t)c->s_n,
                          RECUR_ACT_IDENTITY);
        }
    }
}

/* dW, dU, db (and db_hh) of pass (l, d) from its dA. */
static void pass_grads(bwd_thread_ctx *x, size_t l, size_t d)
{
    recur_call *c = x->c;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, in_w = recur_model_in_w(m, l);
    const int acc = c->o->accumulate, rev = recur_model_rev(m, d);
    recur_layer_tensors *g = &c->g->layers[l * m->D + d];
    recur_view da = dh_view(c, l, d);
    recur_view xv[2];
    size_t col[2], wd[2];
    size_t nv = recur_call_inputs(c, l, xv, col, wd);
    for (size_t v = 0; v < nv; v++)
        recur_rows_gemm_tn(&x->s->r, g->W + col[v], in_w, H, wd[v], &da, &xv[v], acc);
    /* h_{prev} of every row is one block before (forward) or after (reverse) it */
    float *data = recur_call_pass_data(c, l, d);
    ptrdiff_t nh = (ptrdiff_t)(c->N * H);
    recur_view hp = recur_view_internal(data + (rev ? nh : -nh), &c->q, H, rev);
    recur_rows_gemm_tn(&x->s->r, g->U, H, H, H, &da, &hp, acc);
    recur_rows_colsum(&x->s->r, &da, H, g->b, acc);
    if (m->cfg.two_biases)
        recur_rows_colsum(&x->s->r, &da, H, g->b_hh, acc);
}

/* Ragged batches: dh0 from internal rows to the caller's (accumulating as asked). */
static void scatter_dh0(const recur_call *c)
{
    const size_t H = c->m->cfg.hidden_size, N = c->N;
    const size_t S = c->m->cfg.num_layers * c->m->D;
    for (size_t slot = 0; slot < S; slot++)
        for (size_t p = 0; p < N; p++) {
            const float *src = c->dh0_int + (slot * N + p) * H;
            float *dst = c->dh0 + (ptrdiff_t)slot * c->s_slot + (ptrdiff_t)c->q.perm[p] * c->s_n;
            for (size_t j = 0; j < H; j++)
                dst[j] = c->o->accumulate ? dst[j] + src[j] : src[j];
        }
}

static void backward_thread(void *arg, recur_team *team, size_t tid, size_t nt)
{
    recur_call *c = arg;
    const recur_model *m = c->m;
    const size_t L = m->cfg.num_layers, D = m->D;
    recur_thread_share all, half;
    int halves;
    size_t hd;
    if (!recur_thread_share_init(c, team, tid, nt, 1, &all, &half, &halves, &hd))
        return;
    bwd_thread_ctx x = {c, &all};
    output_backward(&x);
    for (size_t l = L; l-- > 0;) {
        if (c->dh_last && tid == 0)
            add_dh_last(c, l);
        recur_share_barrier(&all);
        if (halves) { /* each half: one direction's recurrence and weight gradients */
            x.s = &half;
            pass_bptt(&x, l, hd);
            pass_grads(&x, l, hd);
            x.s = &all;
            recur_share_barrier(&all);
        } else {
            for (size_t d = 0; d < D; d++)
                pass_bptt(&x, l, d);
            for (size_t d = 0; d < D; d++)
                pass_grads(&x, l, d);
        }
        input_gradient(&x, l);
        recur_share_barrier(&all);
        if (l > 0 && D == 2 && m->cfg.merge == RECUR_MERGE_SUM) {
            sum_copy(&x, l - 1);
            recur_share_barrier(&all);
        }
    }
    if (c->dh0 && c->q.perm && tid == 0)
        scatter_dh0(c);
}

recur_status recur_call_backward(recur_call *c)
{
    c->failed = 0;
    recur_team_run(c->ctx, recur_call_team(c), recur_call_work(c), backward_thread, c);
    return c->failed ? RECUR_ERR_OUT_OF_MEMORY : RECUR_OK;
}
