/* Where a call's buffers and inputs are (shared by the forward and backward drivers). */
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
