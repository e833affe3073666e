/* Descriptors, argument checks, status strings and version. */
#include <stdlib.h>
#include "internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)

const char *recur_version_string(void)
{
    return STR(RECUR_VERSION_MAJOR) "." STR(RECUR_VERSION_MINOR) "." STR(RECUR_VERSION_PATCH);
}

int recur_version(void)
{
    return RECUR_VERSION_MAJOR * 10000 + RECUR_VERSION_MINOR * 100 + RECUR_VERSION_PATCH;
}

const char *recur_status_string(recur_status s)
{
    switch (s) {
    case RECUR_OK: return "success";
    case RECUR_ERR_NULL_POINTER: return "a required pointer argument is NULL";
    case RECUR_ERR_INVALID_SIZE: return "a size argument is zero or out of range";
    case RECUR_ERR_SIZE_OVERFLOW: return "a product of sizes overflows size_t";
    case RECUR_ERR_INVALID_ARGUMENT: return "an argument value is out of range";
    case RECUR_ERR_OUT_OF_MEMORY: return "out of memory";
    case RECUR_ERR_UNSUPPORTED_ISA: return "the ISA is not supported by this build or CPU";
    case RECUR_ERR_WORKSPACE_TOO_SMALL: return "the workspace is smaller than recur_workspace_size()";
    case RECUR_ERR_WORKSPACE_MISMATCH:
        return "the workspace was not filled by recur_forward_train for this descriptor, T and N";
    case RECUR_ERR_UNSUPPORTED: return "the option is valid but not implemented by this library";
    case RECUR_ERR_COMMUNICATION: return "communication between processes failed";
    default: return "unknown status code";
    }
}

static int hidden_act_ok(recur_activation f)
{
    return f == RECUR_ACT_TANH || f == RECUR_ACT_RELU || f == RECUR_ACT_SIGMOID ||
           f == RECUR_ACT_IDENTITY;
}

static int output_act_ok(recur_activation g)
{
    return g == RECUR_ACT_IDENTITY || g == RECUR_ACT_SOFTMAX || g == RECUR_ACT_SIGMOID ||
           g == RECUR_ACT_TANH;
}

recur_status recur_rnn_create(recur_rnn **rnn, const recur_rnn_config *cfg)
{
    if (!rnn || !cfg)
        return RECUR_ERR_NULL_POINTER;
    if (cfg->input_size == 0 || cfg->hidden_size == 0)
        return RECUR_ERR_INVALID_SIZE;
    if (!hidden_act_ok(cfg->hidden_act))
        return RECUR_ERR_INVALID_ARGUMENT;
    if (cfg->output_size > 0 && !output_act_ok(cfg->output_act))
        return RECUR_ERR_INVALID_ARGUMENT;
    /* Every weight tensor's byte size must be representable. */
    size_t hi, hh, oh, bytes;
    if (!recur_mul_ok(cfg->hidden_size, cfg->input_size, &hi) ||
        !recur_mul_ok(cfg->hidden_size, cfg->hidden_size, &hh) ||
        !recur_mul_ok(cfg->output_size, cfg->hidden_size, &oh) ||
        !recur_mul_ok(hi, sizeof(float), &bytes) || !recur_mul_ok(hh, sizeof(float), &bytes) ||
        !recur_mul_ok(oh, sizeof(float), &bytes))
        return RECUR_ERR_SIZE_OVERFLOW;
    recur_rnn *r = malloc(sizeof *r);
    if (!r)
        return RECUR_ERR_OUT_OF_MEMORY;
    r->cfg = *cfg;
    if (r->cfg.output_size == 0)
        r->cfg.output_act = RECUR_ACT_IDENTITY;
    *rnn = r;
    return RECUR_OK;
}

void recur_rnn_destroy(recur_rnn *rnn)
{
    free(rnn);
}

recur_status recur_rnn_get_config(const recur_rnn *rnn, recur_rnn_config *cfg)
{
    if (!rnn || !cfg)
        return RECUR_ERR_NULL_POINTER;
    *cfg = rnn->cfg;
    return RECUR_OK;
}

recur_weights recur_weights_from(const recur_tensors *t)
{
    recur_weights w = {0};
    if (t) {
        w.W = t->W;
        w.U = t->U;
        w.b = t->b;
        w.V = t->V;
        w.c = t->c;
    }
    return w;
}

recur_status recur_dims_check(const recur_rnn *rnn, size_t T, size_t N, recur_dims *d)
{
    if (T == 0 || N == 0)
        return RECUR_ERR_INVALID_SIZE;
    d->T = T;
    d->N = N;
    d->I = rnn->cfg.input_size;
    d->H = rnn->cfg.hidden_size;
    d->O = rnn->cfg.output_size;
    size_t bytes, hs1;
    /* Byte counts of every sequence tensor (and the workspace's T+1 states) must fit. */
    if (!recur_mul_ok(T, N, &d->tn) || !recur_mul_ok(N, d->H, &d->nh) ||
        !recur_mul_ok(d->tn, d->I, &d->x) || !recur_mul_ok(d->tn, d->H, &d->hseq) ||
        !recur_add_ok(d->hseq, d->nh, &hs1) || !recur_mul_ok(hs1, 2 * sizeof(float), &bytes) ||
        !recur_mul_ok(d->x, sizeof(float), &bytes))
        return RECUR_ERR_SIZE_OVERFLOW;
    if (d->O > 0) {
        if (!recur_mul_ok(d->tn, d->O, &d->y) || !recur_mul_ok(d->y, 2 * sizeof(float), &bytes))
            return RECUR_ERR_SIZE_OVERFLOW;
    } else {
        d->y = d->hseq;
    }
    return RECUR_OK;
}

recur_status recur_weights_check(const recur_rnn *rnn, const recur_weights *w)
{
    if (!w || !w->W || !w->U || !w->b)
        return RECUR_ERR_NULL_POINTER;
    if (rnn->cfg.output_size > 0 && (!w->V || !w->c))
        return RECUR_ERR_NULL_POINTER;
    return RECUR_OK;
}
