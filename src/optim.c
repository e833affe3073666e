/* Gradient clipping and the SGD update over every tensor of a model (the recur_rnn
 * forms are the one-layer model). Both walk the same list of tensors. */
#include <math.h>
#include "model_api.h"

/* Tensor i of t (W, U, b[, b_hh] per layer and direction, then V, c when O > 0):
 * its element count, and its pointer in *p; 0 past the end. */
static size_t tensor_at(const recur_model *m, const recur_model_tensors *t, size_t i, float **p)
{
    const size_t H = m->cfg.hidden_size, per = m->cfg.two_biases ? 4 : 3;
    const size_t LD = m->cfg.num_layers * m->D;
    if (i < LD * per) {
        size_t k = i / per, l = k / m->D;
        const recur_layer_tensors *lt = &t->layers[k];
        switch (i % per) {
        case 0: *p = lt->W; return H * recur_model_in_w(m, l);
        case 1: *p = lt->U; return H * H;
        case 2: *p = lt->b; return H;
        default: *p = lt->b_hh; return H;
        }
    }
    if (m->cfg.output_size == 0)
        return 0;
    i -= LD * per;
    if (i == 0) {
        *p = t->V;
        return m->cfg.output_size * m->out_w;
    }
    if (i == 1) {
        *p = t->c;
        return m->cfg.output_size;
    }
    return 0;
}

static int all_set(const recur_model *m, const recur_model_tensors *t)
{
    if (!t || !t->layers)
        return 0;
    float *p;
    for (size_t i = 0; tensor_at(m, t, i, &p); i++)
        if (!p)
            return 0;
    return 1;
}

recur_status recur_model_clip_grad_norm(const recur_model *m, recur_model_tensors *grads,
                                        float max_norm, float *norm_before)
{
    if (!m || !grads)
        return RECUR_ERR_NULL_POINTER;
    if (!all_set(m, grads))
        return RECUR_ERR_NULL_POINTER;
    if (!(max_norm >= 0.0f) || isinf(max_norm))
        return RECUR_ERR_INVALID_ARGUMENT;
    double sq = 0.0;
    float *g;
    size_t n;
    for (size_t i = 0; (n = tensor_at(m, grads, i, &g)) != 0; i++)
        for (size_t j = 0; j < n; j++)
            sq += (double)g[j] * g[j];
    double norm = sqrt(sq);
    if (max_norm > 0.0f && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (size_t i = 0; (n = tensor_at(m, grads, i, &g)) != 0; i++)
            for (size_t j = 0; j < n; j++)
                g[j] *= s;
    }
    if (norm_before)
        *norm_before = (float)norm;
    return RECUR_OK;
}

recur_status recur_model_sgd_update(const recur_model *m, recur_model_tensors *params,
                                    const recur_model_tensors *grads, const recur_sgd_options *o,
                                    recur_model_tensors *velocity)
{
    if (!m || !params || !grads || !o)
        return RECUR_ERR_NULL_POINTER;
    if (!all_set(m, params) || !all_set(m, grads))
        return RECUR_ERR_NULL_POINTER;
    if (!(o->learning_rate > 0.0f) || isinf(o->learning_rate) || !(o->momentum >= 0.0f) ||
        !(o->momentum < 1.0f) || !(o->weight_decay >= 0.0f) || isinf(o->weight_decay))
        return RECUR_ERR_INVALID_ARGUMENT;
    int mom = o->momentum > 0.0f;
    if (mom && !all_set(m, velocity))
        return RECUR_ERR_NULL_POINTER;
    float *p, *g, *v = NULL;
    size_t n;
    for (size_t i = 0; (n = tensor_at(m, params, i, &p)) != 0; i++) {
        tensor_at(m, grads, i, &g);
        if (mom)
            tensor_at(m, velocity, i, &v);
        for (size_t j = 0; j < n; j++) {
            float step = g[j] + o->weight_decay * p[j];
            if (mom) {
                v[j] = o->momentum * v[j] + step;
                step = v[j];
            }
            p[j] -= o->learning_rate * step;
        }
    }
    return RECUR_OK;
}

/* The recur_rnn forms: the one-layer model's tensor list. */
static recur_model_tensors rnn_tensors(const recur_tensors *t, recur_layer_tensors *l)
{
    l->W = t->W;
    l->U = t->U;
    l->b = t->b;
    l->b_hh = NULL;
    recur_model_tensors mt = {l, t->V, t->c};
    return mt;
}

recur_status recur_clip_grad_norm(const recur_rnn *rnn, recur_tensors *grads, float max_norm,
                                  float *norm_before)
{
    if (!rnn || !grads)
        return RECUR_ERR_NULL_POINTER;
    recur_model m;
    recur_model_from_rnn(rnn, &m);
    recur_layer_tensors l;
    recur_model_tensors g = rnn_tensors(grads, &l);
    return recur_model_clip_grad_norm(&m, &g, max_norm, norm_before);
}

recur_status recur_sgd_update(const recur_rnn *rnn, recur_tensors *params,
                              const recur_tensors *grads, const recur_sgd_options *o,
                              recur_tensors *velocity)
{
    if (!rnn || !params || !grads || !o)
        return RECUR_ERR_NULL_POINTER;
    recur_model m;
    recur_model_from_rnn(rnn, &m);
    recur_layer_tensors lp, lg, lv;
    recur_model_tensors p = rnn_tensors(params, &lp), g = rnn_tensors(grads, &lg);
    recur_model_tensors v, *vp = NULL;
    if (velocity) {
        v = rnn_tensors(velocity, &lv);
        vp = &v;
    }
    return recur_model_sgd_update(&m, &p, &g, o, vp);
}
