/* RECUR_VERBOSE: off (unset or 0) by default; 1: one line per call on stderr; 2: also
 * the kernels, blocks and machine chosen at context creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

int recur_verbose_level(void)
{
    const char *v = getenv("RECUR_VERBOSE");
    if (!v || !v[0] || v[1] || v[0] < '0' || v[0] > '2')
        return 0;
    return v[0] - '0';
}

void recur_verbose_context(const recur_context *ctx)
{
    const recur_machine *m = recur_machine_get();
    const recur_gemm_config *g = &ctx->kt->gemm_config;
    fprintf(stderr,
            "recur_verbose,context,isa:%s,threads:%zu,cores:%zu,cpus_allowed:%zu,"
            "l1d:%zu,l2:%zu,l3:%zu,gemm:%zux%zu,kc:%zu,mc:%zu,nc:%zu,rnn_seq_max_h:%zu\n",
            recur_isa_name(ctx->kt->isa), ctx->num_threads, m->cores, recur_cpus_allowed(),
            m->l1d_bytes, m->l2_bytes, m->l3_bytes, g->mr, g->nr, g->kc, g->mc, g->nc,
            ctx->kt->rnn_seq ? ctx->kt->rnn_seq_max_h : 0);
}

static const char *dir_name(recur_direction d)
{
    return d == RECUR_DIR_BIDIRECTIONAL ? "bidirectional"
           : d == RECUR_DIR_REVERSE     ? "reverse"
                                        : "forward";
}

void recur_verbose_call(const recur_call *c, recur_status st, double ms)
{
    const recur_model_config *g = &c->m->cfg;
    char opts[160] = "";
    if (c->o)
        snprintf(opts, sizeof opts, ",window:%zu,accumulate:%d,dy:%s", c->o->bptt_window,
                 c->o->accumulate, c->o->dy_kind == RECUR_DY_LOGITS ? "logits" : "output");
    fprintf(stderr,
            "recur_verbose,%s,isa:%s,T:%zu,N:%zu,I:%zu,H:%zu,O:%zu,L:%zu,dir:%s,merge:%s,"
            "lengths:%s,layout:%s,clip:%g%s,threads:%zu,solo_spell:%d,status:%s,time_ms:%.3f\n",
            c->op ? c->op : "call", recur_isa_name(c->ctx->kt->isa), c->T, c->N, g->input_size,
            g->hidden_size, g->output_size, g->num_layers, dir_name(g->direction),
            g->merge == RECUR_MERGE_SUM ? "sum" : "concat", c->q.len ? "yes" : "no",
            g->seq_layout == RECUR_LAYOUT_BATCH_FIRST ? "batch_first" : "time_major",
            (double)g->clip, opts, c->ctx->last_team, c->ctx->last_spell, st == RECUR_OK ? "ok" : recur_status_string(st),
            ms);
}
