/* Model descriptors, argument checks, the training workspace and the model entry
 * points; the recur_rnn calls (rnn_api.c) run through the same internals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_api.h"

recur_model_config recur_model_config_default(size_t input_size, size_t hidden_size)
{
    recur_model_config c;
    memset(&c, 0, sizeof c);
    c.input_size = input_size;
    c.hidden_size = hidden_size;
    c.num_layers = 1;
    c.direction = RECUR_DIR_FORWARD;
    c.merge = RECUR_MERGE_CONCAT;
    c.hidden_act = RECUR_ACT_TANH;
    c.output_act = RECUR_ACT_IDENTITY;
    return c;
}

static int flag_ok(int v)
{
    return v == 0 || v == 1;
}

recur_status recur_model_config_check(const recur_model_config *cfg)
{
    if (cfg->input_size == 0 || cfg->hidden_size == 0 || cfg->num_layers == 0)
        return RECUR_ERR_INVALID_SIZE;
    int hidden_ok = cfg->hidden_act == RECUR_ACT_TANH || cfg->hidden_act == RECUR_ACT_RELU ||
                    cfg->hidden_act == RECUR_ACT_SIGMOID || cfg->hidden_act == RECUR_ACT_IDENTITY;
    int output_ok = cfg->output_size == 0 || cfg->output_act == RECUR_ACT_IDENTITY ||
                    cfg->output_act == RECUR_ACT_SOFTMAX || cfg->output_act == RECUR_ACT_SIGMOID ||
                    cfg->output_act == RECUR_ACT_TANH;
    int bi = cfg->direction == RECUR_DIR_BIDIRECTIONAL;
    if (!hidden_ok || !output_ok ||
        (unsigned)cfg->direction > (unsigned)RECUR_DIR_BIDIRECTIONAL ||
        (unsigned)cfg->merge > (unsigned)RECUR_MERGE_SUM ||
        (unsigned)cfg->seq_layout > (unsigned)RECUR_LAYOUT_BATCH_FIRST ||
        (unsigned)cfg->state_layout > (unsigned)RECUR_LAYOUT_BATCH_FIRST ||
        !flag_ok(cfg->y_dir_major) || !flag_ok(cfg->two_biases) || !(cfg->clip >= 0.0f) ||
        isinf(cfg->clip))
        return RECUR_ERR_INVALID_ARGUMENT;
    if (cfg->y_dir_major && (cfg->seq_layout != RECUR_LAYOUT_TIME_MAJOR ||
                             cfg->output_size > 0 || (bi && cfg->merge == RECUR_MERGE_SUM)))
        return RECUR_ERR_INVALID_ARGUMENT;
    /* every tensor's byte size must be representable */
    size_t D = bi ? 2 : 1, H = cfg->hidden_size, wide, big, bytes;
    if (!recur_mul_ok(D, H, &wide) || !recur_mul_ok(H, H, &big) ||
        !recur_mul_ok(big, D * sizeof(float), &bytes) ||
        !recur_mul_ok(H, cfg->input_size, &big) || !recur_mul_ok(big, sizeof(float), &bytes) ||
        !recur_mul_ok(cfg->output_size, wide, &big) || !recur_mul_ok(big, sizeof(float), &bytes) ||
        !recur_mul_ok(cfg->num_layers, D * 4, &big))
        return RECUR_ERR_SIZE_OVERFLOW;
    return RECUR_OK;
}

void recur_model_init(recur_model *m, const recur_model_config *cfg)
{
    m->cfg = *cfg;
    m->ext = NULL;
    if (m->cfg.output_size == 0)
        m->cfg.output_act = RECUR_ACT_IDENTITY;
    m->D = cfg->direction == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
    m->out_w = m->D == 2 && cfg->merge == RECUR_MERGE_CONCAT ? 2 * cfg->hidden_size
                                                              : cfg->hidden_size;
}

recur_status recur_model_create(recur_model **model, const recur_model_config *cfg)
{
    if (!model || !cfg)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_model_config_check(cfg);
    if (st != RECUR_OK)
        return st;
    recur_model *m = malloc(sizeof *m);
    if (!m)
        return RECUR_ERR_OUT_OF_MEMORY;
    recur_model_init(m, cfg);
    *model = m;
    return RECUR_OK;
}

void recur_model_destroy(recur_model *model)
{
    free(model);
}

recur_status recur_model_get_config(const recur_model *model, recur_model_config *cfg)
{
    if (!model || !cfg)
        return RECUR_ERR_NULL_POINTER;
    *cfg = model->cfg;
    return RECUR_OK;
}

size_t recur_model_directions(const recur_model *model)
{
    return model ? model->D : 0;
}

size_t recur_model_layer_input_size(const recur_model *model, size_t layer)
{
    return model && layer < model->cfg.num_layers ? recur_model_in_w(model, layer) : 0;
}

size_t recur_model_output_width(const recur_model *model)
{
    return model ? model->out_w : 0;
}

/* ---------------------------------------------------------------- checks */

/* One layer's tensors (W, U, b, b_hh) and the output layer's (V, c) are all there. */
static int layer_set(const recur_model *m, const float *W, const float *U, const float *b,
                     const float *b_hh)
{
    return W && U && b && (!m->cfg.two_biases || b_hh);
}

static int output_set(const recur_model *m, const float *V, const float *c)
{
    return m->cfg.output_size == 0 || (V && c);
}

recur_status recur_model_weights_check(const recur_model *m, const recur_model_weights *w)
{
    if (!w || !w->layers || !output_set(m, w->V, w->c))
        return RECUR_ERR_NULL_POINTER;
    for (size_t k = 0; k < m->cfg.num_layers * m->D; k++) {
        const recur_layer_weights *l = &w->layers[k];
        if (!layer_set(m, l->W, l->U, l->b, l->b_hh))
            return RECUR_ERR_NULL_POINTER;
    }
    return RECUR_OK;
}

/* a*b*c, saturating at SIZE_MAX. */
static size_t mul3(size_t a, size_t b, size_t c)
{
    size_t ab, abc;
    if (!recur_mul_ok(a, b, &ab) || !recur_mul_ok(ab, c, &abc))
        return SIZE_MAX;
    return abc;
}

static size_t add_sat(size_t a, size_t b)
{
    return b > SIZE_MAX - a ? SIZE_MAX : a + b;
}

/* Float counts of one call's buffers; SIZE_MAX parts mean overflow. */
void recur_model_sizes(const recur_model *m, size_t T, size_t N, recur_model_sizes_t *s)
{
    const size_t H = m->cfg.hidden_size, O = m->cfg.output_size, L = m->cfg.num_layers;
    s->seqs = recur_align16(recur_seqs_slots(T, N) * sizeof(size_t) / sizeof(float));
    s->pass = mul3(T + 1, N, H);
    s->block = mul3(T, N, H);
    s->states = mul3(s->pass, L, m->D);
    s->sums = m->D == 2 && m->cfg.merge == RECUR_MERGE_SUM ? mul3(s->block, L, 1) : 0;
    s->ys = mul3(T, N, O);
    s->wide = mul3(T, N, m->cfg.input_size > m->out_w ? m->cfg.input_size : m->out_w);
    size_t ws = add_sat(add_sat(s->states, s->sums), s->ys);
    s->ws_bytes = mul3(ws, sizeof(float), 1);
    s->ws_bytes = add_sat(s->ws_bytes, RECUR_MODEL_WS_HEADER + recur_model_ws_len_bytes(N));
    /* every float count times 2 (forward + scratch copies) must stay a byte count */
    s->overflow = T == SIZE_MAX || s->ws_bytes >= SIZE_MAX / 4 || s->wide >= SIZE_MAX / 16 ||
                  s->states >= SIZE_MAX / 16;
}

recur_status recur_model_dims_check(const recur_model *m, size_t T, size_t N,
                                    recur_model_sizes_t *s)
{
    if (T == 0 || N == 0)
        return RECUR_ERR_INVALID_SIZE;
    recur_model_sizes(m, T, N, s);
    return s->overflow ? RECUR_ERR_SIZE_OVERFLOW : RECUR_OK;
}

/* ---------------------------------------------------------------- workspace */

void recur_model_ws_header_make(const recur_model *m, size_t T, size_t N,
                                recur_model_ws_header *h)
{
    memset(h, 0, sizeof *h);
    const recur_model_config *c = &m->cfg;
    h->magic = RECUR_MODEL_WS_MAGIC;
    h->T = T;
    h->N = N;
    h->I = c->input_size;
    h->H = c->hidden_size;
    h->O = c->output_size;
    h->L = c->num_layers;
    h->e[0] = (uint32_t)c->direction;
    h->e[1] = (uint32_t)c->merge;
    h->e[2] = (uint32_t)c->hidden_act;
    h->e[3] = (uint32_t)c->output_act;
    h->e[4] = (uint32_t)c->seq_layout;
    h->e[5] = (uint32_t)c->state_layout;
    h->e[6] = (uint32_t)c->y_dir_major;
    h->e[7] = (uint32_t)c->two_biases;
    memcpy(&h->e[8], &c->clip, sizeof c->clip);
}

/* ---------------------------------------------------------------- calls */

void recur_call_views(recur_call *c, const float *x, float *y)
{
    const recur_model_config *cfg = &c->m->cfg;
    const size_t T = c->T, N = c->N, H = cfg->hidden_size, I = cfg->input_size;
    const size_t Wy = cfg->output_size ? cfg->output_size : c->m->out_w;
    const size_t LD = cfg->num_layers * c->m->D;
    const int bf = cfg->seq_layout == RECUR_LAYOUT_BATCH_FIRST;
    c->x = (recur_view){(float *)(uintptr_t)x, (ptrdiff_t)(bf ? I : N * I),
                        (ptrdiff_t)(bf ? T * I : I), 0, 1};
    c->y = (recur_view){y, (ptrdiff_t)(bf ? Wy : N * Wy), (ptrdiff_t)(bf ? T * Wy : Wy), 0, 1};
    c->y_sd = (ptrdiff_t)H;
    if (cfg->y_dir_major && cfg->output_size == 0) {
        c->y.st = (ptrdiff_t)(c->m->D * N * H);
        c->y.sn = (ptrdiff_t)H;
        c->y_sd = (ptrdiff_t)(N * H);
    }
    int sbf = cfg->state_layout == RECUR_LAYOUT_BATCH_FIRST;
    c->s_slot = (ptrdiff_t)(sbf ? H : N * H);
    c->s_n = (ptrdiff_t)(sbf ? LD * H : H);
}

/* Scratch (shared by both directions of the API): the sequence arrays, then `more`. */
static float *call_scratch(recur_call *c, const recur_model_sizes_t *s, const int32_t *lengths,
                           size_t more)
{
    size_t total = add_sat(s->seqs, more);
    if (total == SIZE_MAX)
        return NULL;
    float *p = recur_context_scratch(c->ctx, total);
    if (!p)
        return NULL;
    recur_seqs_make(&c->q, lengths, c->T, c->N, (size_t *)(void *)p);
    return p + s->seqs;
}

recur_status recur_call_run_forward(recur_call *c, const int32_t *lengths,
                                    const recur_model_sizes_t *s, float *ws_states)
{
    const recur_model *m = c->m;
    const recur_model_config *cfg = &m->cfg;
    const size_t H = cfg->hidden_size, LD = cfg->num_layers * m->D;
    int ragged = recur_seqs_ragged(lengths, c->T, c->N);
    size_t bias = cfg->two_biases ? recur_align16(LD * H) : 0, more = bias;
    c->train = ws_states != NULL;
    c->direct = !c->train && c->y.p && cfg->num_layers == 1 && m->D == 1 &&
                cfg->direction == RECUR_DIR_FORWARD && cfg->output_size == 0 && !ragged &&
                c->y.st == (ptrdiff_t)(c->N * H) && c->y.sn == (ptrdiff_t)H;
    int ys_direct = !c->train && c->y.p && cfg->output_size > 0 && !ragged &&
                    cfg->seq_layout == RECUR_LAYOUT_TIME_MAJOR;
    size_t states = 0, sums = 0, ys = 0;
    if (!c->train) { /* inference keeps two layers at most */
        c->slots = cfg->num_layers < 2 ? 1 : 2;
        states = c->direct ? recur_align16(c->N * H) : recur_align16(mul3(s->pass, m->D, c->slots));
        sums = s->sums ? recur_align16(mul3(s->block, c->slots, 1)) : 0;
        ys = cfg->output_size && !ys_direct ? recur_align16(s->ys) : 0;
        more = add_sat(add_sat(add_sat(more, states), sums), ys);
    }
    float *p = call_scratch(c, s, lengths, more);
    if (!p)
        return RECUR_ERR_OUT_OF_MEMORY;
    c->bias = NULL;
    if (cfg->two_biases) {
        float *b = p;
        for (size_t k = 0; k < LD; k++)
            for (size_t j = 0; j < H; j++)
                b[k * H + j] = c->w->layers[k].b[j] + c->w->layers[k].b_hh[j];
        c->bias = b;
    }
    p += bias;
    if (c->train) {
        c->slots = cfg->num_layers;
        c->states = ws_states;
        c->sums = s->sums ? ws_states + s->states : NULL;
        c->ys = cfg->output_size ? ws_states + s->states + s->sums : NULL;
    } else {
        c->states = p;
        c->sums = sums ? p + states : NULL;
        c->ys = cfg->output_size ? (ys_direct ? c->y.p : p + states + sums) : NULL;
    }
    uint64_t t0 = c->ctx->verbose ? recur_now_ns() : 0;
    recur_status st = recur_call_forward(c);
    if (c->ctx->verbose)
        recur_verbose_call(c, st, (double)(recur_now_ns() - t0) * 1e-6);
    return st;
}

recur_status recur_call_run_backward(recur_call *c, const int32_t *lengths,
                                     const recur_model_sizes_t *s, float *ws_states)
{
    const recur_model *m = c->m;
    const recur_model_config *cfg = &m->cfg;
    const size_t H = cfg->hidden_size, LD = cfg->num_layers * m->D;
    int ragged = recur_seqs_ragged(lengths, c->T, c->N);
    size_t dh = recur_align16(mul3(s->block, m->D, cfg->num_layers > 1 ? 2 : 1));
    int need_dz = cfg->output_size > 0 && c->dy.p &&
                  !(c->o->dy_kind == RECUR_DY_LOGITS || cfg->output_act == RECUR_ACT_IDENTITY);
    size_t dz = need_dz ? recur_align16(s->ys) : 0;
    size_t dh0 = ragged && c->dh0 ? recur_align16(mul3(LD, c->N, H)) : 0;
    float *p = call_scratch(c, s, lengths, add_sat(add_sat(dh, dz), dh0));
    if (!p)
        return RECUR_ERR_OUT_OF_MEMORY;
    c->train = 1;
    c->direct = 0;
    c->bias = NULL;
    c->slots = cfg->num_layers;
    c->states = ws_states;
    c->sums = s->sums ? ws_states + s->states : NULL;
    c->ys = cfg->output_size ? ws_states + s->states + s->sums : NULL;
    c->dh = p;
    c->dz = need_dz ? p + dh : NULL;
    c->dh0_int = dh0 ? p + dh + dz : NULL;
    uint64_t t0 = c->ctx->verbose ? recur_now_ns() : 0;
    recur_status st = recur_call_backward(c);
    if (c->ctx->verbose)
        recur_verbose_call(c, st, (double)(recur_now_ns() - t0) * 1e-6);
    return st;
}

/* ---------------------------------------------------------------- model entry points */

static recur_status forward_common(recur_context *ctx, const recur_model *m, size_t T,
                                   size_t N, const int32_t *lengths,
                                   const recur_model_weights *w, const float *x,
                                   const float *h0, float *y, float *h_last, void *ws,
                                   size_t ws_size, int train, const char *op)
{
    if (!ctx || !m || !x || (!y && train))
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_model_weights_check(m, w);
    if (st != RECUR_OK)
        return st;
    recur_model_sizes_t s;
    st = recur_model_dims_check(m, T, N, &s);
    if (st != RECUR_OK)
        return st;
    if (!recur_seqs_check(lengths, T, N))
        return RECUR_ERR_INVALID_ARGUMENT;
    if (train) {
        if (!ws)
            return RECUR_ERR_NULL_POINTER;
        if ((uintptr_t)ws % sizeof(float) != 0)
            return RECUR_ERR_INVALID_ARGUMENT;
        if (ws_size < s.ws_bytes)
            return RECUR_ERR_WORKSPACE_TOO_SMALL;
    }
    recur_call c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.ctx = ctx;
    c.m = m;
    c.T = T;
    c.N = N;
    c.w = w;
    c.h0 = h0;
    c.h_last = h_last;
    recur_call_views(&c, x, y);
    float *states = train ? recur_model_ws_states(ws, N) : NULL;
    st = recur_call_run_forward(&c, lengths, &s, states);
    if (st != RECUR_OK || !train)
        return st;
    recur_model_ws_header h;
    recur_model_ws_header_make(m, T, N, &h);
    h.has_lengths = lengths != NULL;
    memcpy(ws, &h, sizeof h);
    if (lengths)
        memcpy((char *)ws + RECUR_MODEL_WS_HEADER, lengths, N * sizeof(int32_t));
    return RECUR_OK;
}

recur_status recur_model_forward_opt(recur_context *ctx, const recur_model *model, size_t T,
                                     size_t N, const int32_t *lengths,
                                     const recur_model_weights *w, const float *x,
                                     const float *h0, float *y, float *h_last)
{
    return forward_common(ctx, model, T, N, lengths, w, x, h0, y, h_last, NULL, 0, 0,
                          "onnx_rnn");
}

recur_status recur_model_forward(recur_context *ctx, const recur_model *model, size_t T,
                                 size_t N, const int32_t *lengths, const recur_model_weights *w,
                                 const float *x, const float *h0, float *y, float *h_last)
{
    if (!y)
        return RECUR_ERR_NULL_POINTER;
    return forward_common(ctx, model, T, N, lengths, w, x, h0, y, h_last, NULL, 0, 0,
                          "model_forward");
}

recur_status recur_model_forward_train(recur_context *ctx, const recur_model *model, size_t T,
                                       size_t N, const int32_t *lengths,
                                       const recur_model_weights *w, const float *x,
                                       const float *h0, float *y, float *h_last,
                                       void *workspace, size_t workspace_size)
{
    return forward_common(ctx, model, T, N, lengths, w, x, h0, y, h_last, workspace,
                          workspace_size, 1, "model_forward_train");
}

recur_status recur_model_workspace_size(const recur_model *model, size_t T, size_t N,
                                        size_t *bytes)
{
    if (!model || !bytes)
        return RECUR_ERR_NULL_POINTER;
    recur_model_sizes_t s;
    recur_status st = recur_model_dims_check(model, T, N, &s);
    if (st != RECUR_OK)
        return st;
    *bytes = s.ws_bytes;
    return RECUR_OK;
}

static recur_status grads_check(const recur_model *m, const recur_model_tensors *g)
{
    if (!g || !g->layers || !output_set(m, g->V, g->c))
        return RECUR_ERR_NULL_POINTER;
    for (size_t k = 0; k < m->cfg.num_layers * m->D; k++) {
        const recur_layer_tensors *l = &g->layers[k];
        if (!layer_set(m, l->W, l->U, l->b, l->b_hh))
            return RECUR_ERR_NULL_POINTER;
    }
    return RECUR_OK;
}

recur_status recur_model_backward(recur_context *ctx, const recur_model *m, size_t T,
                                  size_t N, const recur_model_weights *w, const float *x,
                                  const void *ws, size_t ws_size, const float *dy,
                                  const float *dh_last, const recur_backward_options *options,
                                  recur_model_tensors *grads, float *dx, float *dh0)
{
    recur_backward_options o = options ? *options : recur_backward_options_default();
    if (!ctx || !m || !x || !ws)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_model_weights_check(m, w);
    if (st == RECUR_OK)
        st = grads_check(m, grads);
    if (st != RECUR_OK)
        return st;
    if ((o.dy_kind != RECUR_DY_OUTPUT && o.dy_kind != RECUR_DY_LOGITS) ||
        (o.accumulate != 0 && o.accumulate != 1) || (uintptr_t)ws % sizeof(float) != 0)
        return RECUR_ERR_INVALID_ARGUMENT;
    recur_model_sizes_t s;
    st = recur_model_dims_check(m, T, N, &s);
    if (st != RECUR_OK)
        return st;
    if (ws_size < s.ws_bytes)
        return RECUR_ERR_WORKSPACE_TOO_SMALL;
    recur_model_ws_header want, have;
    recur_model_ws_header_make(m, T, N, &want);
    memcpy(&have, ws, sizeof have);
    want.has_lengths = have.has_lengths;
    if (memcmp(&want, &have, sizeof want) != 0 || have.has_lengths > 1)
        return RECUR_ERR_WORKSPACE_MISMATCH;
    const int32_t *lengths = NULL;
    if (have.has_lengths) {
        lengths = (const int32_t *)(const void *)((const char *)ws + RECUR_MODEL_WS_HEADER);
        if (!recur_seqs_check(lengths, T, N))
            return RECUR_ERR_WORKSPACE_MISMATCH;
    }
    recur_call c;
    memset(&c, 0, sizeof c);
    c.op = "model_backward";
    c.ctx = ctx;
    c.m = m;
    c.T = T;
    c.N = N;
    c.w = w;
    c.o = &o;
    c.dh_last = dh_last;
    c.dh0 = dh0;
    c.g = grads;
    recur_call_views(&c, x, NULL);
    c.dy = c.y;
    c.dy.p = (float *)(uintptr_t)dy;
    c.dx = c.x;
    c.dx.p = dx;
    float *states = recur_model_ws_states((void *)(uintptr_t)ws, N);
    return recur_call_run_backward(&c, lengths, &s, states);
}
