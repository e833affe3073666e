/* Gradient clipping and the SGD update. Both walk the same list of tensors. */
#include <math.h>
#include "internal.h"

typedef struct tensor_list {
    size_t count;
    size_t len[5];
} tensor_list;

/* Element counts of W, U, b, V, c (V and c only with an output layer). */
static tensor_list tensors_of(const recur_rnn *rnn)
{
    const recur_rnn_config *c = &rnn->cfg;
    tensor_list l = {3, {c->hidden_size * c->input_size, c->hidden_size * c->hidden_size,
                         c->hidden_size, 0, 0}};
    if (c->output_size > 0) {
        l.count = 5;
        l.len[3] = c->output_size * c->hidden_size;
        l.len[4] = c->output_size;
    }
    return l;
}

static void pointers_of(const recur_tensors *t, float *p[5])
{
    p[0] = t->W;
    p[1] = t->U;
    p[2] = t->b;
    p[3] = t->V;
    p[4] = t->c;
}

static int all_set(float *const p[5], size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!p[i])
            return 0;
    return 1;
}

recur_status recur_clip_grad_norm(const recur_rnn *rnn, recur_tensors *grads, float max_norm,
                                  float *norm_before)
{
    if (!rnn || !grads)
        return RECUR_ERR_NULL_POINTER;
    tensor_list l = tensors_of(rnn);
    float *g[5];
    pointers_of(grads, g);
    if (!all_set(g, l.count))
        return RECUR_ERR_NULL_POINTER;
    if (!(max_norm >= 0.0f) || isinf(max_norm))
        return RECUR_ERR_INVALID_ARGUMENT;
    double sq = 0.0;
    for (size_t i = 0; i < l.count; i++)
        for (size_t j = 0; j < l.len[i]; j++)
            sq += (double)g[i][j] * g[i][j];
    double norm = sqrt(sq);
    if (max_norm > 0.0f && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (size_t i = 0; i < l.count; i++)
            for (size_t j = 0; j < l.len[i]; j++)
                g[i][j] *= s;
    }
    if (norm_before)
        *norm_before = (float)norm;
    return RECUR_OK;
}

recur_status recur_sgd_update(const recur_rnn *rnn, recur_tensors *params,
                              const recur_tensors *grads, const recur_sgd_options *o,
                              recur_tensors *velocity)
{
    if (!rnn || !params || !grads || !o)
        return RECUR_ERR_NULL_POINTER;
    tensor_list l = tensors_of(rnn);
    float *p[5], *g[5], *v[5] = {0};
    pointers_of(params, p);
    pointers_of(grads, g);
    if (!all_set(p, l.count) || !all_set(g, l.count))
        return RECUR_ERR_NULL_POINTER;
    if (!(o->learning_rate > 0.0f) || isinf(o->learning_rate) || !(o->momentum >= 0.0f) ||
        !(o->momentum < 1.0f) || !(o->weight_decay >= 0.0f) || isinf(o->weight_decay))
        return RECUR_ERR_INVALID_ARGUMENT;
    if (o->momentum > 0.0f) {
        if (!velocity)
            return RECUR_ERR_NULL_POINTER;
        pointers_of(velocity, v);
        if (!all_set(v, l.count))
            return RECUR_ERR_NULL_POINTER;
    }
    for (size_t i = 0; i < l.count; i++) {
        for (size_t j = 0; j < l.len[i]; j++) {
            float step = g[i][j] + o->weight_decay * p[i][j];
            if (v[i]) {
                v[i][j] = o->momentum * v[i][j] + step;
                step = v[i][j];
            }
            p[i][j] -= o->learning_rate * step;
        }
    }
    return RECUR_OK;
}
