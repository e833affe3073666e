/* Helpers shared by the foundation tests: a seeded RNG, a model bundle, sentinels. */
#ifndef RECUR_TEST_UTIL_H
#define RECUR_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "recur.h"
/* The one generator and error-bound helpers of the tests and recur-validate. */
#include "../tools/recur_compare.h"

/* recur_compare.h's xorshift64*, seeded from a small number. */
typedef cmp_rng test_rng;
void rng_seed(test_rng *r, uint64_t seed);
#define rng_uniform cmp_rng_uniform
#define rng_fill cmp_rng_fill

/* A model plus its parameter storage (one malloc per tensor). */
typedef struct test_model {
    recur_rnn_config cfg;
    recur_rnn *rnn;
    recur_tensors p; /* owned */
} test_model;

void model_init(test_model *m, size_t I, size_t H, size_t O, recur_activation f,
                recur_activation g, test_rng *r, float scale);
void model_free(test_model *m);
/* Allocates zeroed tensors of the model's shapes. */
recur_tensors tensors_alloc(const recur_rnn_config *cfg);
void tensors_free(recur_tensors *t);

float *fvec(size_t n); /* calloc'd, aborts the test binary on OOM */

#define SENTINEL 12345.678f
void fill_sentinel(float *x, size_t n);
int all_sentinel(const float *x, size_t n);

#endif
