/*
 * The recur_rnn calls: a model of one forward layer over a time-major batch of
 * equal lengths, run by the model drivers. Their workspace keeps its own header
 * (src/workspace.h) and the same states and outputs as a one-layer model's.
 */
#include <string.h>
#include "model_api.h"
#include "workspace.h"

recur_backward_options recur_backward_options_default(void)
{
    recur_backward_options o = {RECUR_DY_OUTPUT, 0, 0};
    return o;
}

/* The model equivalent of an rnn descriptor. */
void recur_model_from_rnn(const recur_rnn *rnn, recur_model *m)
{
    recur_model_config c = recur_model_config_default(rnn->cfg.input_size, rnn->cfg.hidden_size);
    c.output_size = rnn->cfg.output_size;
    c.hidden_act = rnn->cfg.hidden_act;
    c.output_act = rnn->cfg.output_act;
    recur_model_init(m, &c);
}

static recur_status rnn_call(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                             const recur_weights *w, const float *x, const float *y,
                             recur_dims *d, recur_model *m, recur_model_sizes_t *s)
{
    if (!ctx || !rnn || !x || !y)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_weights_check(rnn, w);
    if (st == RECUR_OK)
        st = recur_dims_check(rnn, T, N, d);
    if (st != RECUR_OK)
        return st;
    recur_model_from_rnn(rnn, m);
    recur_model_sizes(m, T, N, s);
    return s->overflow ? RECUR_ERR_SIZE_OVERFLOW : RECUR_OK;
}

static recur_status rnn_forward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                                const recur_weights *w, const float *x, const float *h0,
                                float *y, float *h_last, void *ws, size_t ws_size, int train)
{
    recur_dims d;
    recur_model m;
    recur_model_sizes_t s;
    recur_status st = rnn_call(ctx, rnn, T, N, w, x, y, &d, &m, &s);
    if (st != RECUR_OK)
        return st;
    if (train) {
        if (!ws)
            return RECUR_ERR_NULL_POINTER;
        if ((uintptr_t)ws % sizeof(float) != 0)
            return RECUR_ERR_INVALID_ARGUMENT;
        size_t need = recur_ws_bytes(&d);
        if (need == 0)
            return RECUR_ERR_SIZE_OVERFLOW;
        if (ws_size < need)
            return RECUR_ERR_WORKSPACE_TOO_SMALL;
    }
    recur_layer_weights lw = {w->W, w->U, w->b, NULL};
    recur_model_weights mw = {&lw, w->V, w->c};
    recur_call c;
    memset(&c, 0, sizeof c);
    c.op = train ? "forward_train" : "forward";
    c.ctx = ctx;
    c.m = &m;
    c.T = T;
    c.N = N;
    c.w = &mw;
    c.h0 = h0;
    c.h_last = h_last;
    recur_call_views(&c, x, y);
    st = recur_call_run_forward(&c, NULL, &s, train ? recur_ws_states(ws) : NULL);
    if (st != RECUR_OK || !train)
        return st;
    recur_ws_header hdr;
    recur_ws_header_make(rnn, &d, &hdr);
    memcpy(ws, &hdr, sizeof hdr);
    return RECUR_OK;
}

recur_status recur_forward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                           const recur_weights *w, const float *x, const float *h0,
                           float *y, float *h_last)
{
    return rnn_forward(ctx, rnn, T, N, w, x, h0, y, h_last, NULL, 0, 0);
}

recur_status recur_forward_train(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                 size_t N, const recur_weights *w, const float *x,
                                 const float *h0, float *y, float *h_last, void *workspace,
                                 size_t workspace_size)
{
    return rnn_forward(ctx, rnn, T, N, w, x, h0, y, h_last, workspace, workspace_size, 1);
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

recur_status recur_backward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                            const recur_weights *w, const float *x, const void *workspace,
                            size_t workspace_size, const float *dy, const float *dh_last,
                            const recur_backward_options *options, recur_tensors *grads,
                            float *dx, float *dh0)
{
    recur_backward_options o = options ? *options : recur_backward_options_default();
    if (!ctx || !rnn || !x || !workspace || !grads)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_weights_check(rnn, w);
    if (st != RECUR_OK)
        return st;
    if (!grads->W || !grads->U || !grads->b ||
        (rnn->cfg.output_size > 0 && (!grads->V || !grads->c)))
        return RECUR_ERR_NULL_POINTER;
    if ((o.dy_kind != RECUR_DY_OUTPUT && o.dy_kind != RECUR_DY_LOGITS) ||
        (o.accumulate != 0 && o.accumulate != 1) ||
        (uintptr_t)workspace % sizeof(float) != 0)
        return RECUR_ERR_INVALID_ARGUMENT;
    recur_dims d;
    st = recur_dims_check(rnn, T, N, &d);
    if (st != RECUR_OK)
        return st;
    size_t need = recur_ws_bytes(&d);
    if (need == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    if (workspace_size < need)
        return RECUR_ERR_WORKSPACE_TOO_SMALL;
    recur_ws_header want, have;
    recur_ws_header_make(rnn, &d, &want);
    memcpy(&have, workspace, sizeof have);
    if (memcmp(&want, &have, sizeof want) != 0)
        return RECUR_ERR_WORKSPACE_MISMATCH;

    recur_model m;
    recur_model_sizes_t s;
    recur_model_from_rnn(rnn, &m);
    recur_model_sizes(&m, T, N, &s);
    if (s.overflow)
        return RECUR_ERR_SIZE_OVERFLOW;
    recur_layer_weights lw = {w->W, w->U, w->b, NULL};
    recur_model_weights mw = {&lw, w->V, w->c};
    recur_layer_tensors lg = {grads->W, grads->U, grads->b, NULL};
    recur_model_tensors mg = {&lg, grads->V, grads->c};
    recur_call c;
    memset(&c, 0, sizeof c);
    c.op = "backward";
    c.ctx = ctx;
    c.m = &m;
    c.T = T;
    c.N = N;
    c.w = &mw;
    c.o = &o;
    c.dh_last = dh_last;
    c.dh0 = dh0;
    c.g = &mg;
    recur_call_views(&c, x, NULL);
    c.dy = c.y;
    c.dy.p = (float *)(uintptr_t)dy;
    c.dx = c.x;
    c.dx.p = dx;
    return recur_call_run_backward(&c, NULL, &s, recur_ws_states((void *)(uintptr_t)workspace));
}
