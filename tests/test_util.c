#include <stdio.h>
#include <stdlib.h>
#include "test_util.h"

void rng_seed(test_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ULL + 1;
}

float *fvec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    return p;
}

recur_tensors tensors_alloc(const recur_rnn_config *c)
{
    recur_tensors t = {fvec(c->hidden_size * c->input_size), fvec(c->hidden_size * c->hidden_size),
                       fvec(c->hidden_size), NULL, NULL};
    if (c->output_size) {
        t.V = fvec(c->output_size * c->hidden_size);
        t.c = fvec(c->output_size);
    }
    return t;
}

void tensors_free(recur_tensors *t)
{
    free(t->W);
    free(t->U);
    free(t->b);
    free(t->V);
    free(t->c);
}

void model_init(test_model *m, size_t I, size_t H, size_t O, recur_activation f,
                recur_activation g, test_rng *r, float scale)
{
    recur_rnn_config c = {I, H, O, f, g};
    m->cfg = c;
    if (recur_rnn_create(&m->rnn, &c) != RECUR_OK) {
        fprintf(stderr, "test: recur_rnn_create failed\n");
        exit(2);
    }
    m->p = tensors_alloc(&c);
    rng_fill(r, m->p.W, H * I, -scale, scale);
    rng_fill(r, m->p.U, H * H, -scale, scale);
    rng_fill(r, m->p.b, H, -scale, scale);
    if (O) {
        rng_fill(r, m->p.V, O * H, -scale, scale);
        rng_fill(r, m->p.c, O, -scale, scale);
    }
}

void model_free(test_model *m)
{
    recur_rnn_destroy(m->rnn);
    tensors_free(&m->p);
}

void fill_sentinel(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = SENTINEL;
}

int all_sentinel(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != SENTINEL)
            return 0;
    return 1;
}
