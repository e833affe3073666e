/* Where a call's buffers and inputs are (shared by the forward and backward drivers). */
#include <string.h>
#include "model.h"

static size_t pass_floats(const recur_call *c)
{
    return (c->T + 1) * c->N * c->m->cfg.hidden_size;
}

static float *pass_base(const recur_call *c, size_t l, size_t d)
{
    return c->states + ((l % c->slots) * c->m->D + d) * pass_floats(c);
}

float *recur_call_pass_data(const recur_call *c, size_t l, size_t d)
{
    if (c->direct)
        return c->y.p;
    float *base = pass_base(c, l, d);
    return recur_model_rev(c->m, d) ? base : base + c->N * c->m->cfg.hidden_size;
}

float *recur_call_pass_h0(const recur_call *c, size_t l, size_t d)
{
    if (c->direct) /* states holds just h0 */
        return c->states;
    float *base = pass_base(c, l, d);
    return recur_model_rev(c->m, d) ? base + c->T * c->N * c->m->cfg.hidden_size : base;
}

size_t recur_call_inputs(const recur_call *c, size_t l, recur_view v[2], size_t col[2],
                         size_t width[2])
{
    const recur_model *m = c->m;
    const size_t H = m->cfg.hidden_size;
    col[0] = col[1] = 0;
    width[0] = width[1] = H;
    if (l == 0) {
        v[0] = c->x;
        width[0] = m->cfg.input_size;
        return 1;
    }
    if (m->D == 2 && m->cfg.merge == RECUR_MERGE_SUM) {
        float *sum = c->sums + ((l - 1) % c->slots) * c->T * c->N * H;
        v[0] = recur_view_internal(sum, &c->q, H, 0);
        return 1;
    }
    for (size_t d = 0; d < m->D; d++) {
        v[d] = recur_view_internal(recur_call_pass_data(c, l - 1, d), &c->q, H,
                                   recur_model_rev(m, d));
        col[d] = d * H;
    }
    return m->D;
}

const float *recur_call_bias(const recur_call *c, size_t l, size_t d)
{
    size_t k = l * c->m->D + d;
    return c->bias ? c->bias + k * c->m->cfg.hidden_size : c->w->layers[k].b;
}

size_t recur_call_team(const recur_call *c)
{
    size_t f, H = c->m->cfg.hidden_size;
    if (!recur_mul_ok(c->N * H, H, &f))
        f = SIZE_MAX;
    return recur_team_size(c->ctx, f);
}

double recur_call_work(const recur_call *c)
{
    double H = (double)c->m->cfg.hidden_size, fmas = 0.0;
    for (size_t l = 0; l < c->m->cfg.num_layers; l++)
        fmas += H * (H + (double)recur_model_in_w(c->m, l));
    return fmas * (double)c->m->D * (double)c->N * (double)c->T;
}

int recur_call_use_seq(const recur_call *c, size_t d, int backward)
{
    const recur_kernel_table *kt = c->ctx->kt;
    int has = backward ? kt->bptt_seq != NULL : kt->rnn_seq != NULL;
    return has && c->N == 1 && c->m->cfg.hidden_size <= kt->rnn_seq_max_h &&
           !recur_model_rev(c->m, d) && c->m->cfg.clip == 0.0f && !c->m->ext;
}

/* Step slice and packing floats of thread tid in a crew of nt. */
static size_t share_plan(recur_call *c, size_t tid, size_t nt, int backward,
                         recur_thread_share *s, recur_step_plan *plan)
{
    const recur_kernel_table *kt = c->ctx->kt;
    const size_t H = c->m->cfg.hidden_size, I = c->m->cfg.input_size, N = c->N;
    s->r = (recur_rows){kt, &c->q, tid, nt, NULL, NULL, 0};
    *plan = recur_step_plan_make(kt, N, H, nt);
    recur_step_share(plan, N, H, tid, &s->r0, &s->r1, &s->n0, &s->n1);
    size_t rows = s->r1 - s->r0;
    /* Batch 1 with U larger than L2: U streams from L3 or memory at every step either
     * way, and the step can read it as it is; packing would be one more pass. */
    const recur_machine *mach = recur_machine_get();
    size_t l2 = mach->l2_bytes ? mach->l2_bytes : 512 * 1024;
    size_t l2c = c->ctx->step_l2 ? c->ctx->step_l2 : l2;
    s->unpacked = !backward && kt->rnn_step_rows && N == 1 && H * H > l2c / sizeof(float);
    /* A batch-1 step on one thread with U larger than L2 streams U from L3 at every
     * step, and in one order the rows the last step left in L2 are the first ones
     * evicted. Every other step runs the slice in chunks last first, so it starts on
     * the rows still in L2 (about L2's worth of U fewer from L3 a step). Chunks are
     * whole panels, at least 4, about a quarter of L2. Measured at H1024 N1 T50, one
     * thread: forward -26 % and backward -22 % on an Intel Xeon family 6 model 207
     * (2 MiB L2: half of U); -8 % and -3.5 % in one run, within noise in three more, on
     * an AMD EPYC Zen 3 (512 KiB). Left out where it did not pay: batches (the kernels'
     * next-panel fetch stops at each chunk; H1760 N16 +1-3 %) and teams (H1024 N1 at 2
     * threads: forward +5-8 % on both machines, backward -3-10 %). */
    size_t panel = kt->rec_panel ? kt->rec_panel : 1, row_bytes = H * sizeof(float);
    s->chunk = 0;
    if (N == 1 && nt == 1 && rows * row_bytes > l2c) {
        size_t ch = l2c / 4 / row_bytes / panel * panel;
        s->chunk = ch > 4 * panel ? ch : 4 * panel;
        if (s->chunk >= rows)
            s->chunk = 0;
    }
    size_t pk = rows && !s->unpacked ? recur_align16(kt->packed_rec_floats(H, rows)) : 0;
    if (tid == 0 && recur_call_use_seq(c, 0, backward)) { /* crew thread 0 runs it whole */
        size_t seq = recur_align16(kt->packed_rec_floats(H, H));
        if (!backward)
            seq += recur_align16(kt->packed_rec_floats(I, H));
        pk = pk > seq ? pk : seq;
    }
    return pk;
}

/* The two directions run side by side on two halves of the team when each half's
 * slice of U still fits in half of a core's L2 (then the halves lose no cache and
 * save the barriers and slices of sharing one direction over the whole team). */
static int use_halves(const recur_call *c, size_t nt)
{
    const size_t H = c->m->cfg.hidden_size;
    if (c->m->D != 2 || nt < 2)
        return 0;
    const recur_machine *mach = recur_machine_get();
    size_t l2 = mach->l2_bytes ? mach->l2_bytes : 512 * 1024;
    size_t per = nt / 2; /* threads of the smaller half */
    return H * H / per * sizeof(float) <= l2 / 2;
}

int recur_thread_share_init(recur_call *c, recur_team *team, size_t tid, size_t nt,
                            int backward, recur_thread_share *all, recur_thread_share *half,
                            int *halves, size_t *half_dir)
{
    const recur_kernel_table *kt = c->ctx->kt;
    memset(all, 0, sizeof *all);
    memset(half, 0, sizeof *half);
    recur_step_plan plan, hplan;
    size_t pk = share_plan(c, tid, nt, backward, all, &plan);
    all->team = half->team = team;
    *halves = use_halves(c, nt);
    *half_dir = 0;
    if (*halves) {
        size_t n0 = (nt + 1) / 2;
        *half_dir = tid < n0 ? 0 : 1;
        size_t htid = *half_dir ? tid - n0 : tid, hnt = *half_dir ? nt - n0 : n0;
        size_t hpk = share_plan(c, htid, hnt, backward, half, &hplan);
        half->bar = &team->half[*half_dir];
        pk = pk > hpk ? pk : hpk;
    }
    /* GEMMs run one per sequence (ragged or batch-first): room to pack the weights'
     * columns once (16 MiB at most per thread; beyond, each GEMM packs its own). */
    size_t pre = 0;
    const recur_model_config *cfg = &c->m->cfg;
    if (c->q.len || cfg->seq_layout == RECUR_LAYOUT_BATCH_FIRST) {
        size_t H = cfg->hidden_size, I = cfg->input_size, O = cfg->output_size;
        size_t kmax = I > H ? I : H, nmax = kmax;
        kmax = kmax > O ? kmax : O;
        nmax = nmax > O ? nmax : O;
        pre = recur_align16(recur_rows_pre_floats(kt, kmax, nmax, *halves ? nt / 2 : nt));
        if (pre > ((size_t)4 << 20))
            pre = 0;
    }
    float *buf = recur_team_buffer(c->ctx, team, tid, nt,
                                   pk + pre + recur_gemm_scratch_floats(kt), &all->phase);
    if (!buf) {
        if (tid == 0)
            c->failed = 1;
        return 0;
    }
    all->packed = half->packed = buf;
    all->r.pre = half->r.pre = pre ? buf + pk : NULL;
    all->r.pre_floats = half->r.pre_floats = pre;
    all->r.gs = half->r.gs = buf + pk + pre;
    if (tid == 0) {
        c->ctx->last_pr = *halves ? hplan.pr : plan.pr;
        c->ctx->last_pb = *halves ? hplan.pb : plan.pb;
    }
    return 1;
}
