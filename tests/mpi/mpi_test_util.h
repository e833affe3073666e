/*
 * Helpers of the MPI tests. Every rank runs the same cmocka tests in the same order;
 * only rank 0 prints cmocka's report (so tools/count_tests.py counts each test once);
 * checks are recorded per rank (MT_EXPECT prints the failing rank's message to
 * stderr) and a test's verdict is agreed by all ranks (mt_verdict) before cmocka
 * asserts it, so one rank's failure fails the test everywhere and the ranks never
 * leave each other waiting in a collective.
 */
#ifndef RECUR_MPI_TEST_UTIL_H
#define RECUR_MPI_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "recur_mpi.h"

extern int mt_rank, mt_size;

/* MPI_Init_thread (FUNNELED); ranks other than 0 send stdout to /dev/null. */
void mt_init(int *argc, char ***argv);
/* MPI_Finalize; the exit status agreed by all ranks (nonzero if any rank failed). */
int mt_finish(int failed);

#define MT_EXPECT(cond, ...) mt_expect((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
void mt_expect(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The failures of all ranks since the last verdict; cmocka-asserts that there are none. */
void mt_verdict(void);

/* 1 when v is the same on every rank. */
int mt_same_on_all(uint64_t v);
/* FNV-1a 64 over n floats' bytes, continuing from h (start with MT_HASH_START). */
#define MT_HASH_START 0xcbf29ce484222325ULL
uint64_t mt_hash(uint64_t h, const float *p, size_t n);

/* All tensors of a model, each calloc'd; freed with mt_tensors_free. */
typedef struct mt_tensors {
    recur_model_tensors t;
    recur_layer_tensors *layers;
    size_t npass;
    float *block; /* mt_tensors_alloc_block: all tensors in this one allocation */
} mt_tensors;

mt_tensors mt_tensors_alloc(const recur_model *model);
/* The same tensors back to back in one zeroed allocation, in the order below (the
 * layout on which recur_mpi reduces in place). */
mt_tensors mt_tensors_alloc_block(const recur_model *model);
void mt_tensors_free(mt_tensors *m);
/* Floats over all tensors (the order of recur_mpi_model_*: per pass W, U, b, b_hh; V, c). */
size_t mt_tensors_count(const recur_model *model);
/* Calls fn(array, floats) for each tensor of the model in that order. */
void mt_tensors_each(const recur_model *model, const mt_tensors *m,
                     void (*fn)(float *p, size_t n, void *arg), void *arg);
/* Concatenated into out[mt_tensors_count]. */
void mt_tensors_flatten(const recur_model *model, const mt_tensors *m, float *out);
/* Uniform in [-scale, scale] from seed; with two_biases b_hh gets its own values. */
void mt_tensors_fill(const recur_model *model, mt_tensors *m, uint64_t seed, float scale);
uint64_t mt_tensors_hash(const recur_model *model, const mt_tensors *m);

#endif
