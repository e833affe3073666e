/*
 * Forward driver: the input projection for all steps at once (one GEMM), then T
 * fused recurrent steps, then the output layer for all steps at once (one GEMM
 * plus g). ISA-free: every kernel comes from the context's table. One team of
 * threads runs the whole call (see parallel.h for how work is split).
 */
#include <string.h>
#include "parallel.h"
#include "workspace.h"

typedef struct forward_job {
    recur_context *ctx;
    const recur_rnn *rnn;
    const recur_dims *d;
    const recur_weights *w;
    const float *x;
    const float *h0;      /* caller's h0 or NULL (zeros) */
    float *hprev0;        /* h_{-1} [N][H]: filled from h0 by thread 0 */
    float *h;             /* [T][N][H] states */
    float *y;             /* [T][N][O] outputs when O > 0 */
    float *copy_to;       /* optional copy of the final y (or h when O == 0) */
    int failed;
    int steps_copied;     /* O == 0: each step's slice was copied to copy_to already */
} forward_job;

/* This thread's part of the finished sequence output, copied to job->copy_to. */
static void copy_out(const forward_job *j, const float *src, size_t i0, size_t i1)
{
    if (j->copy_to && i0 < i1)
        memcpy(j->copy_to + i0, src + i0, (i1 - i0) * sizeof(float));
}

/* Batch 1 at small H: the table's whole-sequence kernel, when it has one. */
static int use_seq(const recur_kernel_table *kt, const recur_dims *d)
{
    return kt->rnn_seq && d->N == 1 && d->H <= kt->rnn_seq_max_h;
}

/* The input projection goes into the sequence kernel (where it overlaps the step's
 * latency chain) while packed W and U together stay in L1; beyond that every step
 * would stream W from L2, and one GEMM over all steps is cheaper. */
static int seq_fuses_input(const recur_kernel_table *kt, const recur_dims *d)
{
    const recur_machine *m = recur_machine_get();
    size_t l1 = m->l1d_bytes ? m->l1d_bytes : 32 * 1024;
    size_t floats = kt->packed_rec_floats(d->I, d->H) + kt->packed_rec_floats(d->H, d->H);
    return floats <= l1 / sizeof(float) * 2 / 3;
}

static void forward_output(forward_job *j, recur_team *team, size_t tid, size_t nt,
                           size_t *phase, float *gs);

/* The whole recurrence on one thread (the team has one): pack W and U, one call. */
static void forward_seq(forward_job *j, recur_team *team)
{
    const recur_kernel_table *kt = j->ctx->kt;
    const recur_dims *d = j->d;
    const size_t H = d->H, I = d->I;
    size_t wp = seq_fuses_input(kt, d) ? recur_align16(kt->packed_rec_floats(I, H)) : 0;
    size_t up = recur_align16(kt->packed_rec_floats(H, H));
    size_t phase = 0;
    float *buf = recur_team_buffer(j->ctx, team, 0, 1, wp + up + recur_gemm_scratch_floats(kt),
                                   &phase);
    if (!buf) {
        j->failed = 1;
        return;
    }
    j->ctx->last_pr = 1;
    j->ctx->last_pb = 1;
    if (j->h0)
        memcpy(j->hprev0, j->h0, d->nh * sizeof(float));
    else
        memset(j->hprev0, 0, d->nh * sizeof(float));
    float *gs = buf + wp + up;
    int fuse = seq_fuses_input(kt, d);
    if (fuse)
        kt->pack_rec(I, H, j->w->W, (ptrdiff_t)I, 1, buf);
    else /* P = x W^T + b into the states, which the kernel then overwrites in place */
        recur_par_gemm(kt, 0, 1, d->tn, H, I, j->x, (ptrdiff_t)I, 1, j->w->W, 1,
                       (ptrdiff_t)I, j->h, H, 0, j->w->b, gs);
    kt->pack_rec(H, H, j->w->U, (ptrdiff_t)H, 1, buf + wp);
    kt->rnn_seq(d->T, I, H, fuse ? buf : NULL, buf + wp, j->w->b, fuse ? j->x : j->h,
                j->hprev0, j->h, j->rnn->cfg.hidden_act);
    forward_output(j, team, 0, 1, &phase, gs);
}

/*
 * One team thread: P = x W^T + b for all steps (blocks of the output), then the T
 * steps over this thread's slice of U (packed once into its own buffer), then the
 * output layer (blocks again) and g.
 */
static void forward_thread(void *arg, recur_team *team, size_t tid, size_t nt)
{
    forward_job *j = arg;
    const recur_kernel_table *kt = j->ctx->kt;
    const recur_dims *d = j->d;
    const size_t H = d->H, I = d->I, N = d->N;

    recur_step_plan plan = recur_step_plan_make(kt, N, H, nt);
    size_t r0, r1, n0, n1;
    recur_step_share(&plan, N, H, tid, &r0, &r1, &n0, &n1);
    size_t rows = r1 - r0;
    /* Batch 1 with U larger than L2: U streams from L3 or memory at every step either
     * way, and the step can read it as it is; packing would be one more pass. */
    const recur_machine *mach = recur_machine_get();
    size_t l2 = mach->l2_bytes ? mach->l2_bytes : 512 * 1024;
    int unpacked = kt->rnn_step_rows && N == 1 && H * H > l2 / sizeof(float);
    size_t pk = rows && !unpacked ? recur_align16(kt->packed_rec_floats(H, rows)) : 0;
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
        if (j->h0)
            memcpy(j->hprev0, j->h0, d->nh * sizeof(float));
        else
            memset(j->hprev0, 0, d->nh * sizeof(float));
    }
    if (rows && !unpacked)
        kt->pack_rec(H, rows, j->w->U + r0 * H, (ptrdiff_t)H, 1, packed);
    recur_par_gemm(kt, tid, nt, d->tn, H, I, j->x, (ptrdiff_t)I, 1, j->w->W, 1, (ptrdiff_t)I,
                   j->h, H, 0, j->w->b, gs);
    recur_team_barrier(team, nt, &phase);

    for (size_t t = 0; t < d->T; t++) {
        const float *hp = t == 0 ? j->hprev0 : j->h + (t - 1) * d->nh;
        float *ht = j->h + t * d->nh + n0 * H + r0;
        if (rows && unpacked)
            kt->rnn_step_rows(H, rows, j->w->U + r0 * H, H, hp, ht, ht,
                              j->rnn->cfg.hidden_act);
        else if (rows)
            kt->rnn_step(n1 - n0, H, rows, packed, hp + n0 * H, H, ht, H, ht, H,
                         j->rnn->cfg.hidden_act);
        /* The states are the output: copy the slice while it is still in cache
         * rather than the whole sequence from memory at the end. */
        if (j->steps_copied && rows)
            for (size_t n = 0; n < n1 - n0; n++)
                memcpy(j->copy_to + (ht - j->h) + n * H, ht + n * H, rows * sizeof(float));
        recur_team_barrier(team, nt, &phase);
    }
    forward_output(j, team, tid, nt, &phase, gs);
}

/* The output layer (blocks of the GEMM) and g, then the copy of the result. */
static void forward_output(forward_job *j, recur_team *team, size_t tid, size_t nt,
                           size_t *phase, float *gs)
{
    const recur_kernel_table *kt = j->ctx->kt;
    const recur_dims *d = j->d;
    const size_t H = d->H, O = d->O;
    size_t e0, e1;
    if (O == 0) {
        if (j->steps_copied)
            return;
        recur_par_elems(tid, nt, d->hseq, &e0, &e1);
        copy_out(j, j->h, e0, e1);
        return;
    }
    recur_par_gemm(kt, tid, nt, d->tn, O, H, j->h, (ptrdiff_t)H, 1, j->w->V, 1, (ptrdiff_t)H,
                   j->y, O, 0, j->w->c, gs);
    recur_team_barrier(team, nt, phase);
    if (j->rnn->cfg.output_act == RECUR_ACT_SOFTMAX) {
        recur_split(d->tn, nt, tid, &e0, &e1);
        if (e0 < e1)
            kt->softmax_rows(e1 - e0, O, j->y + e0 * O);
        e0 *= O;
        e1 *= O;
    } else {
        recur_par_elems(tid, nt, d->y, &e0, &e1);
        if (e0 < e1)
            kt->activate(j->rnn->cfg.output_act, e1 - e0, j->y + e0);
    }
    copy_out(j, j->y, e0, e1);
}

static void forward_seq_thread(void *arg, recur_team *team, size_t tid, size_t nt)
{
    (void)tid;
    (void)nt;
    forward_seq(arg, team);
}

/* Runs the team; RECUR_ERR_OUT_OF_MEMORY when a thread's buffer failed. */
static recur_status forward_run(forward_job *j)
{
    const recur_dims *d = j->d;
    if (use_seq(j->ctx->kt, d)) {
        j->failed = 0;
        j->steps_copied = 0;
        recur_team_run(j->ctx, 1, forward_seq_thread, j);
        return j->failed ? RECUR_ERR_OUT_OF_MEMORY : RECUR_OK;
    }
    size_t want = recur_team_size(j->ctx, recur_step_fmas(d));
    j->failed = 0;
    /* Copied per step while a step's states are still in L2 (measured neutral to
     * slightly slower at H2560 N64, 640 KiB per step); else once at the end. */
    const recur_machine *mach = recur_machine_get();
    size_t l2 = mach->l2_bytes ? mach->l2_bytes : 512 * 1024;
    j->steps_copied = d->O == 0 && j->copy_to && d->nh <= l2 / 4 / sizeof(float);
    recur_team_run(j->ctx, want, forward_thread, j);
    return j->failed ? RECUR_ERR_OUT_OF_MEMORY : RECUR_OK;
}

/* Checks shared by both forward entry points. */
static recur_status forward_check(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                  size_t N, const recur_weights *w, const float *x,
                                  const float *y, recur_dims *d)
{
    if (!ctx || !rnn || !x || !y)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_weights_check(rnn, w);
    if (st != RECUR_OK)
        return st;
    return recur_dims_check(rnn, T, N, d);
}

recur_status recur_forward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                           const recur_weights *w, const float *x, const float *h0,
                           float *y, float *h_last)
{
    recur_dims d;
    recur_status st = forward_check(ctx, rnn, T, N, w, x, y, &d);
    if (st != RECUR_OK)
        return st;

    /* Shared scratch: [h_{-1} | states (when O > 0)]; per-thread buffers hold the
     * packed slices and GEMM packing. */
    size_t z = recur_align16(d.nh);
    size_t hs = d.O > 0 ? recur_align16(d.hseq) : 0;
    size_t total;
    if (!recur_add_ok(z, hs, &total))
        return RECUR_ERR_SIZE_OVERFLOW;
    float *s = recur_context_scratch(ctx, total);
    if (!s)
        return RECUR_ERR_OUT_OF_MEMORY;
    forward_job j = {ctx, rnn, &d, w, x, h0, s, d.O > 0 ? s + z : y, y, NULL, 0, 0};
    st = forward_run(&j);
    if (st != RECUR_OK)
        return st;
    if (h_last)
        memcpy(h_last, j.h + (T - 1) * d.nh, d.nh * sizeof(float));
    return RECUR_OK;
}

recur_status recur_workspace_size(const recur_rnn *rnn, size_t T, size_t N, size_t *bytes)
{
    if (!rnn || !bytes)
        return RECUR_ERR_NULL_POINTER;
    recur_dims d;
    recur_status st = recur_dims_check(rnn, T, N, &d);
    if (st != RECUR_OK)
        return st;
    size_t b = recur_ws_bytes(&d);
    if (b == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    *bytes = b;
    return RECUR_OK;
}

recur_status recur_forward_train(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                 size_t N, const recur_weights *w, const float *x,
                                 const float *h0, float *y, float *h_last, void *workspace,
                                 size_t workspace_size)
{
    recur_dims d;
    recur_status st = forward_check(ctx, rnn, T, N, w, x, y, &d);
    if (st != RECUR_OK)
        return st;
    if (!workspace)
        return RECUR_ERR_NULL_POINTER;
    if ((uintptr_t)workspace % sizeof(float) != 0)
        return RECUR_ERR_INVALID_ARGUMENT;
    size_t need = recur_ws_bytes(&d);
    if (need == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    if (workspace_size < need)
        return RECUR_ERR_WORKSPACE_TOO_SMALL;

    float *hs = recur_ws_states(workspace);
    float *h = hs + d.nh;
    forward_job j = {ctx, rnn, &d, w, x, h0, hs, h, d.O > 0 ? y : NULL,
                     d.O > 0 ? h + d.hseq : y, 0, 0};
    st = forward_run(&j);
    if (st != RECUR_OK)
        return st;
    recur_ws_header hdr;
    recur_ws_header_make(rnn, &d, &hdr);
    memcpy(workspace, &hdr, sizeof hdr);
    if (h_last)
        memcpy(h_last, h + (T - 1) * d.nh, d.nh * sizeof(float));
    return RECUR_OK;
}
