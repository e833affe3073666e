/*
 * Forward driver for every model: per layer and direction, the input projection for
 * all steps (GEMMs over the sequence rows), then the steps over this thread's slice
 * of U (packed once per pass into its own buffer), only the rows still running at
 * each step; then the merge of the directions and the output layer. ISA-free: every
 * kernel comes from the context's table; one team runs the whole call.
 */
#include <string.h>
#include "model.h"

typedef struct fwd_thread_ctx {
    recur_call *c;
    recur_thread_share *s; /* the crew running the current pass */
} fwd_thread_ctx;

/* Layer 0's input projection goes into the sequence kernel (overlapping the step's
 * latency chain) while packed W and U together stay in L1; beyond that one GEMM
 * over all steps is cheaper. */
static int seq_fuses_input(const recur_call *c, size_t l)
{
    const recur_kernel_table *kt = c->ctx->kt;
    const size_t H = c->m->cfg.hidden_size, I = c->m->cfg.input_size;
    if (l != 0 || c->x.st != (ptrdiff_t)I)
        return 0;
    const recur_machine *mach = recur_machine_get();
    size_t l1 = mach->l1d_bytes ? mach->l1d_bytes : 32 * 1024;
    size_t floats = kt->packed_rec_floats(I, H) + kt->packed_rec_floats(H, H);
    return floats <= l1 / sizeof(float) * 2 / 3;
}

/* A training call of one forward direction without an output layer keeps its states in
 * the workspace and returns them in y: each step's slice is copied to y by the thread
 * that computed it, while it is still in cache, instead of a pass over all of them
 * afterwards (the sequence kernel, run whole by one thread, keeps that pass). */
static int steps_write_y(const recur_call *c, size_t l)
{
    const recur_model *m = c->m;
    return c->train && c->y.p && m->cfg.output_size == 0 && m->D == 1 &&
           l + 1 == m->cfg.num_layers && !recur_model_rev(m, 0) &&
           !recur_call_use_seq(c, 0, 0);
}

/* z clamped to [-clip, clip] (clip > 0), then f or the extended activation, over one
 * row slice: the unfused path after a step kernel run with the identity. */
static void clamp_activate(const recur_kernel_table *kt, recur_activation f,
                           const recur_act_ext *ext, float clip, float *z, size_t n)
{
    if (clip > 0.0f)
        for (size_t i = 0; i < n; i++)
            z[i] = z[i] > clip ? clip : (z[i] < -clip ? -clip : z[i]);
    if (ext)
        recur_act_ext_apply(kt, ext, z, n);
    else
        kt->activate(f, n, z);
}

/* h0 of pass (l, d) into its block, rows in internal order (zeros without h0). */
static void fill_h0(const recur_call *c, size_t l, size_t d, float *h0b)
{
    const size_t H = c->m->cfg.hidden_size, slot = l * c->m->D + d;
    for (size_t p = 0; p < c->N; p++) {
        float *dst = h0b + p * H;
        if (!c->h0) {
            memset(dst, 0, H * sizeof(float));
            continue;
        }
        size_t n = c->q.perm ? c->q.perm[p] : p;
        memcpy(dst, c->h0 + (ptrdiff_t)slot * c->s_slot + (ptrdiff_t)n * c->s_n,
               H * sizeof(float));
    }
}

static void pass_steps(fwd_thread_ctx *x, size_t l, size_t d, float *data, const float *h0b)
{
    recur_call *c = x->c;
    const recur_kernel_table *kt = c->ctx->kt;
    const recur_model_config *cfg = &c->m->cfg;
    const size_t H = cfg->hidden_size, N = c->N, T = c->T, rows = x->s->r1 - x->s->r0;
    const int rev = recur_model_rev(c->m, d);
    const float *U = c->w->layers[l * c->m->D + d].U;
    const recur_act_ext *ext = c->m->ext ? &c->m->ext[d] : NULL;
    int post = cfg->clip > 0.0f || ext, to_y = steps_write_y(c, l);
    recur_activation fa = post ? RECUR_ACT_IDENTITY : cfg->hidden_act;
    for (size_t s = 0; s < T; s++) {
        size_t blk = rev ? T - 1 - s : s;
        float *out = data + blk * N * H;
        const float *hp = s == 0 ? h0b : data + (rev ? blk + 1 : blk - 1) * N * H;
        size_t a = recur_seq_active(&c->q, s);
        size_t n1 = x->s->n1 < a ? x->s->n1 : a;
        if (rows && n1 > x->s->n0) {
            float *o = out + x->s->n0 * H + x->s->r0;
            for (size_t i = 0, n = recur_step_chunks(x->s, rows); i < n; i++) {
                size_t c0, c1;
                recur_step_chunk(x->s, rows, s, i, n, &c0, &c1);
                if (x->s->unpacked)
                    kt->rnn_step_rows(H, c1 - c0, U + (x->s->r0 + c0) * H, H, hp, o + c0,
                                      o + c0, fa);
                else
                    kt->rnn_step(n1 - x->s->n0, H, c1 - c0, x->s->packed + c0 * H,
                                 hp + x->s->n0 * H, H, o + c0, H, o + c0, H, fa);
            }
            if (post)
                for (size_t n = 0; n < n1 - x->s->n0; n++)
                    clamp_activate(kt, cfg->hidden_act, ext, cfg->clip, o + n * H, rows);
            if (to_y)
                for (size_t n = x->s->n0; n < n1; n++)
                    memcpy(recur_view_row(&c->y, &c->q, blk, n) + x->s->r0,
                           o + (n - x->s->n0) * H, rows * sizeof(float));
        }
        recur_share_barrier(x->s);
    }
}

/* One layer and direction. */
static void pass_forward(fwd_thread_ctx *x, size_t l, size_t d)
{
    recur_call *c = x->c;
    const recur_kernel_table *kt = c->ctx->kt;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, in_w = recur_model_in_w(m, l);
    const recur_layer_weights *lw = &c->w->layers[l * m->D + d];
    const int rev = recur_model_rev(m, d);
    float *data = recur_call_pass_data(c, l, d), *h0b = recur_call_pass_h0(c, l, d);
    const float *bias = recur_call_bias(c, l, d);
    recur_view sv = recur_view_internal(data, &c->q, H, rev);
    int seq = recur_call_use_seq(c, d, 0), fuse = seq && seq_fuses_input(c, l);

    if (!fuse) { /* P = bias + X W^T into the states, which the steps overwrite in place */
        recur_view xv[2];
        size_t col[2], wd[2];
        size_t nv = recur_call_inputs(c, l, xv, col, wd);
        for (size_t v = 0; v < nv; v++)
            recur_rows_gemm(&x->s->r, &sv, H, &xv[v], wd[v], lw->W + col[v], 1,
                            (ptrdiff_t)in_w, v > 0, v == 0 ? bias : NULL);
    }
    if (x->s->r.tid == 0)
        fill_h0(c, l, d, h0b);
    if (seq) {
        if (x->s->r.tid == 0) {
            const size_t I = m->cfg.input_size;
            size_t wp = fuse ? recur_align16(kt->packed_rec_floats(I, H)) : 0;
            if (fuse)
                kt->pack_rec(I, H, lw->W, (ptrdiff_t)I, 1, x->s->packed);
            kt->pack_rec(H, H, lw->U, (ptrdiff_t)H, 1, x->s->packed + wp);
            recur_share_barrier(x->s); /* the GEMM is done */
            kt->rnn_seq(recur_seq_len(&c->q, 0), I, H, fuse ? x->s->packed : NULL,
                        x->s->packed + wp, bias, fuse ? c->x.p : data, h0b, data,
                        m->cfg.hidden_act);
        } else {
            recur_share_barrier(x->s);
        }
        recur_share_barrier(x->s);
        return;
    }
    if (x->s->r1 > x->s->r0 && !x->s->unpacked)
        kt->pack_rec(H, x->s->r1 - x->s->r0, lw->U + x->s->r0 * H, (ptrdiff_t)H, 1, x->s->packed);
    recur_share_barrier(x->s);
    pass_steps(x, l, d, data, h0b);
}

/* h_last of layer l's passes: each sequence's state after its last valid step. */
static void copy_h_last(const recur_call *c, size_t l)
{
    const size_t H = c->m->cfg.hidden_size, N = c->N, T = c->T;
    for (size_t d = 0; d < c->m->D; d++) {
        const float *data = recur_call_pass_data(c, l, d);
        size_t slot = l * c->m->D + d;
        for (size_t p = 0; p < N; p++) {
            size_t len = recur_seq_len(&c->q, p);
            size_t blk = recur_model_rev(c->m, d) ? T - len : len - 1;
            size_t n = c->q.perm ? c->q.perm[p] : p;
            memcpy(c->h_last + (ptrdiff_t)slot * c->s_slot + (ptrdiff_t)n * c->s_n,
                   data + (blk * N + p) * H, H * sizeof(float));
        }
    }
}

/* g over the valid rows of the outputs (rows of O floats at view yv). */
static void output_act(fwd_thread_ctx *x, const recur_view *yv)
{
    recur_call *c = x->c;
    const recur_kernel_table *kt = c->ctx->kt;
    const size_t O = c->m->cfg.output_size;
    const recur_activation g = c->m->cfg.output_act;
    size_t i0, i1;
    recur_split(c->T * c->N, x->s->r.nt, x->s->r.tid, &i0, &i1);
    if (recur_view_whole(yv, &c->q) && yv->sn == (ptrdiff_t)O) {
        if (i0 >= i1)
            return;
        if (g == RECUR_ACT_SOFTMAX)
            kt->softmax_rows(i1 - i0, O, yv->p + i0 * O);
        else
            kt->activate(g, (i1 - i0) * O, yv->p + i0 * O);
        return;
    }
    for (size_t i = i0; i < i1; i++) {
        size_t t = i / c->N, p = i % c->N;
        if (t >= recur_seq_len(&c->q, p))
            continue;
        float *row = recur_view_row(yv, &c->q, t, p);
        if (g == RECUR_ACT_SOFTMAX)
            kt->softmax_rows(1, O, row);
        else
            kt->activate(g, O, row);
    }
}

/* The last layer's output to y: merged states (O == 0) or the output layer. */
static void forward_output(fwd_thread_ctx *x)
{
    recur_call *c = x->c;
    if (!c->y.p) /* the caller wants the final states only */
        return;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, O = m->cfg.output_size, L = m->cfg.num_layers;
    if (O == 0) {
        if (c->direct)
            return;
        if (steps_write_y(c, L - 1)) { /* the steps wrote the valid rows */
            recur_rows_zero_padding(&x->s->r, &c->y, m->out_w);
            return;
        }
        recur_view yd = c->y;
        yd.p += c->y_sd;
        if (m->D == 2 && m->cfg.merge == RECUR_MERGE_SUM) {
            recur_view a = recur_view_internal(recur_call_pass_data(c, L - 1, 0), &c->q, H, 0);
            recur_view b = recur_view_internal(recur_call_pass_data(c, L - 1, 1), &c->q, H, 1);
            recur_rows_combine(&x->s->r, &c->y, &a, &b, H);
        } else {
            for (size_t d = 0; d < m->D; d++) {
                recur_view a = recur_view_internal(recur_call_pass_data(c, L - 1, d), &c->q, H,
                                                   recur_model_rev(m, d));
                recur_rows_combine(&x->s->r, d ? &yd : &c->y, &a, NULL, H);
            }
        }
        if (m->cfg.y_dir_major) {
            for (size_t d = 0; d < m->D; d++)
                recur_rows_zero_padding(&x->s->r, d ? &yd : &c->y, H);
        } else {
            recur_rows_zero_padding(&x->s->r, &c->y, m->out_w);
        }
        return;
    }
    /* z = c + x^L V^T into ys (the caller's y itself when its rows are the internal
     * rows), then g, then a copy to y with padded rows zero. */
    recur_view yv = {c->ys, (ptrdiff_t)(c->N * O), (ptrdiff_t)O, 0, 0};
    if (c->ys == c->y.p)
        yv = c->y;
    recur_view xv[2];
    size_t col[2], wd[2];
    size_t nv = recur_call_inputs(c, L, xv, col, wd);
    for (size_t v = 0; v < nv; v++)
        recur_rows_gemm(&x->s->r, &yv, O, &xv[v], wd[v], c->w->V + col[v], 1,
                        (ptrdiff_t)m->out_w, v > 0, v == 0 ? c->w->c : NULL);
    recur_share_barrier(x->s);
    output_act(x, &yv);
    if (c->ys != c->y.p) {
        recur_rows_combine(&x->s->r, &c->y, &yv, NULL, O);
        recur_rows_zero_padding(&x->s->r, &c->y, O);
    }
}

static void forward_thread(void *arg, recur_team *team, size_t tid, size_t nt)
{
    recur_call *c = arg;
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size, N = c->N, L = m->cfg.num_layers, D = m->D;
    recur_thread_share all, half;
    int halves;
    size_t hd;
    if (!recur_thread_share_init(c, team, tid, nt, 0, &all, &half, &halves, &hd))
        return;
    fwd_thread_ctx x = {c, &all};
    for (size_t l = 0; l < L; l++) {
        if (halves) { /* each half runs one direction, then the team meets */
            x.s = &half;
            pass_forward(&x, l, hd);
            x.s = &all;
            recur_share_barrier(&all);
        } else {
            for (size_t d = 0; d < D; d++)
                pass_forward(&x, l, d);
        }
        if (D == 2 && m->cfg.merge == RECUR_MERGE_SUM && (l + 1 < L || m->cfg.output_size)) {
            float *sum = c->sums + (l % c->slots) * c->T * N * H;
            recur_view s = recur_view_internal(sum, &c->q, H, 0);
            recur_view a = recur_view_internal(recur_call_pass_data(c, l, 0), &c->q, H, 0);
            recur_view b = recur_view_internal(recur_call_pass_data(c, l, 1), &c->q, H, 1);
            recur_rows_combine(&all.r, &s, &a, &b, H);
            recur_share_barrier(&all);
        }
        if (c->h_last && tid == 0)
            copy_h_last(c, l);
    }
    forward_output(&x);
}

recur_status recur_call_forward(recur_call *c)
{
    c->failed = 0;
    recur_team_run(c->ctx, recur_call_team(c), recur_call_work(c), forward_thread, c);
    return c->failed ? RECUR_ERR_OUT_OF_MEMORY : RECUR_OK;
}
