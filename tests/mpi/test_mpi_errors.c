#define _POSIX_C_SOURCE 200809L
/*
 * Bad arguments, on every rank or on one rank only, and ranks that disagree: every rank
 * returns the same documented status, nothing is written on any rank (sentinels), and
 * nobody hangs. MPI failures come back as statuses (the mapping of MPI's error classes,
 * and failures injected into the library's MPI calls), never as an abort.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mpi_internal.h"
#include "mpi_test_util.h"
#include "test_util.h"

static recur_mpi *mpi;

enum { I = 3, H = 4, O = 2 };

typedef struct fixture {
    recur_model *model;
    mt_tensors g;
    size_t n;
} fixture;

static recur_model *model_of(size_t hidden)
{
    recur_model_config c = recur_model_config_default(I, hidden);
    c.two_biases = 1;
    c.output_size = O;
    recur_model *m;
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    return m;
}

static void sentinel_fn(float *p, size_t n, void *arg)
{
    (void)arg;
    fill_sentinel(p, n);
}

static void check_fn(float *p, size_t n, void *arg)
{
    *(int *)arg &= all_sentinel(p, n);
}

static fixture make(size_t hidden)
{
    fixture f = {model_of(hidden), {{NULL, NULL, NULL}, NULL, 0, NULL}, 0};
    f.g = mt_tensors_alloc(f.model);
    mt_tensors_each(f.model, &f.g, sentinel_fn, NULL);
    f.n = mt_tensors_count(f.model);
    return f;
}

static int untouched(const fixture *f)
{
    int ok = 1;
    mt_tensors_each(f->model, &f->g, check_fn, &ok);
    return ok;
}

static void drop(fixture *f)
{
    mt_tensors_free(&f->g);
    recur_model_destroy(f->model);
}

/* Every rank must see want, and nothing written. */
#define EXPECT_ALL(call, want, f, what)                                                    \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        MT_EXPECT(st_ == (want), "%s: %s, expected %s (%s)", (what), recur_status_string(st_), \
                  recur_status_string(want), recur_mpi_last_error(mpi));                   \
        MT_EXPECT(untouched(f), "%s: gradients were written", (what));                     \
        MT_EXPECT(st_ == RECUR_OK || recur_mpi_last_error(mpi)[0] != '\0',                  \
                  "%s: no message in recur_mpi_last_error", (what));                       \
    } while (0)

static void handle_and_shard(void **state)
{
    (void)state;
    recur_mpi *m = NULL;
    MT_EXPECT(recur_mpi_create(NULL, MPI_COMM_WORLD) == RECUR_ERR_NULL_POINTER, "create(NULL)");
    MT_EXPECT(recur_mpi_create(&m, MPI_COMM_NULL) == RECUR_ERR_INVALID_ARGUMENT && !m,
              "create(MPI_COMM_NULL)");
    /* NULL handle: at once, on every rank, without communicating */
    recur_model *model = model_of(H);
    mt_tensors g = mt_tensors_alloc(model);
    int same = 7;
    size_t first = 99, count = 99;
    MT_EXPECT(recur_mpi_model_allreduce_grads(NULL, model, &g.t, NULL) == RECUR_ERR_NULL_POINTER,
              "allreduce(NULL handle)");
    MT_EXPECT(recur_mpi_model_broadcast(NULL, model, &g.t, 0) == RECUR_ERR_NULL_POINTER,
              "broadcast(NULL handle)");
    MT_EXPECT(recur_mpi_model_check_identical(NULL, model, &g.t, &same) == RECUR_ERR_NULL_POINTER &&
                  same == 7, "check_identical(NULL handle)");
    MT_EXPECT(recur_mpi_shard(NULL, 5, &first, &count) == RECUR_ERR_NULL_POINTER &&
                  first == 99 && count == 99, "shard(NULL handle)");
    MT_EXPECT(recur_mpi_shard(mpi, 5, NULL, &count) == RECUR_ERR_NULL_POINTER && count == 99,
              "shard(NULL first)");
    MT_EXPECT(recur_mpi_rank(NULL) == 0 && recur_mpi_size(NULL) == 1, "rank/size of NULL");
    MT_EXPECT(recur_mpi_last_error(NULL)[0] != '\0', "last_error(NULL)");
    MT_EXPECT(recur_mpi_rank(mpi) == mt_rank && recur_mpi_size(mpi) == mt_size, "rank/size");
    recur_mpi_destroy(NULL);
    /* shards tile [0, n) in rank order */
    for (size_t n = 0; n <= 11; n++) {
        assert_int_equal(recur_mpi_shard(mpi, n, &first, &count), RECUR_OK);
        uint64_t pair[2] = {first, count}, *all = malloc((size_t)mt_size * sizeof pair);
        MPI_Allgather(pair, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, MPI_COMM_WORLD);
        size_t at = 0, lo = n, hi = 0;
        for (int r = 0; r < mt_size; r++) {
            MT_EXPECT(all[2 * r] == at, "n %zu: rank %d starts at %llu, not %zu", n, r,
                      (unsigned long long)all[2 * r], at);
            at += all[2 * r + 1];
            lo = all[2 * r + 1] < lo ? all[2 * r + 1] : lo;
            hi = all[2 * r + 1] > hi ? all[2 * r + 1] : hi;
        }
        MT_EXPECT(at == n && hi - lo <= 1, "n %zu: shards cover %zu, sizes %zu..%zu", n, at, lo, hi);
        free(all);
    }
    mt_tensors_free(&g);
    recur_model_destroy(model);
    mt_verdict();
}

static void bad_arguments_everywhere(void **state)
{
    (void)state;
    fixture f = make(H);
    recur_mpi_options o = recur_mpi_options_default();
    const struct {
        recur_mpi_options o;
        const char *what;
    } bad[] = {
        {{(recur_mpi_op)7, 1, RECUR_MPI_ORDERED, 0}, "op 7"},
        {{RECUR_MPI_MEAN, 1, (recur_mpi_reduction)9, 0}, "reduction 9"},
        {{RECUR_MPI_MEAN, -1, RECUR_MPI_ORDERED, 0}, "weight -1"},
        {{RECUR_MPI_MEAN, NAN, RECUR_MPI_ORDERED, 0}, "weight NaN"},
        {{RECUR_MPI_MEAN, INFINITY, RECUR_MPI_ORDERED, 0}, "weight inf"},
        {{RECUR_MPI_MEAN, 1, RECUR_MPI_ORDERED, RECUR_MPI_MAX_BUCKET_FLOATS + 1}, "bucket too big"},
        {{RECUR_MPI_MEAN, 0, RECUR_MPI_ORDERED, 0}, "weights add up to 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, &bad[i].o),
                   RECUR_ERR_INVALID_ARGUMENT, &f, bad[i].what);
    EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, NULL, &f.g.t, &o), RECUR_ERR_NULL_POINTER,
               &f, "NULL model");
    EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, NULL, &o), RECUR_ERR_NULL_POINTER,
               &f, "NULL grads");
    recur_model_tensors no_c = f.g.t;
    no_c.c = NULL;
    EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, &no_c, &o), RECUR_ERR_NULL_POINTER,
               &f, "NULL c");
    /* lists */
    float *list[2] = {f.g.t.V, NULL};
    size_t sizes[2] = {O * H, 3};
    EXPECT_ALL(recur_mpi_allreduce(mpi, 2, list, sizes, &o), RECUR_ERR_NULL_POINTER, &f,
               "list entry NULL with 3 floats");
    EXPECT_ALL(recur_mpi_allreduce(mpi, 0, list, sizes, &o), RECUR_ERR_INVALID_SIZE, &f,
               "list of 0");
    EXPECT_ALL(recur_mpi_allreduce(mpi, 2, list, NULL, &o), RECUR_ERR_NULL_POINTER, &f,
               "NULL sizes");
    /* broadcast and identity check */
    EXPECT_ALL(recur_mpi_model_broadcast(mpi, f.model, &f.g.t, -1), RECUR_ERR_INVALID_ARGUMENT,
               &f, "root -1");
    EXPECT_ALL(recur_mpi_model_broadcast(mpi, f.model, &f.g.t, mt_size),
               RECUR_ERR_INVALID_ARGUMENT, &f, "root = size");
    EXPECT_ALL(recur_mpi_model_check_identical(mpi, f.model, &f.g.t, NULL),
               RECUR_ERR_NULL_POINTER, &f, "NULL identical");
    /* and a good call still works afterwards, with a clean message */
    MT_EXPECT(recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, &o) == RECUR_OK &&
                  recur_mpi_last_error(mpi)[0] == '\0', "a good call after the bad ones");
    drop(&f);
    mt_verdict();
}

/* One rank's bad argument, or ranks that disagree: every rank gets the error. */
static void one_rank_or_disagreement(void **state)
{
    (void)state;
    int last = mt_size - 1;
    fixture f = make(H);
    recur_mpi_options o = recur_mpi_options_default();
    /* a NULL tensor on the last rank only: its status everywhere */
    recur_layer_tensors layer0 = f.g.layers[0];
    recur_model_tensors no_bhh = f.g.t;
    no_bhh.layers = &layer0;
    if (mt_rank == last)
        layer0.b_hh = NULL;
    EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, &no_bhh, &o), RECUR_ERR_NULL_POINTER,
               &f, "NULL b_hh on the last rank");
    /* a bad weight on rank 0 only */
    recur_mpi_options bad = o;
    bad.weight = mt_rank == 0 ? -2 : 1;
    EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, &bad),
               RECUR_ERR_INVALID_ARGUMENT, &f, "weight -2 on rank 0");
    /* options that differ between ranks */
    recur_mpi_options mix[3] = {o, o, o};
    mix[0].op = mt_rank == last ? RECUR_MPI_SUM : RECUR_MPI_MEAN;
    mix[1].reduction = mt_rank == last ? RECUR_MPI_ALLREDUCE : RECUR_MPI_ORDERED;
    mix[2].bucket_floats = mt_rank == last ? 5 : 0;
    for (int i = 0; i < 3 && mt_size > 1; i++)
        EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, &mix[i]),
                   RECUR_ERR_INVALID_ARGUMENT, &f, "options differ on the last rank");
    if (mt_size > 1) {
        /* another model shape on the last rank */
        fixture other = make(H + 1);
        fixture *mine = mt_rank == last ? &other : &f;
        EXPECT_ALL(recur_mpi_model_allreduce_grads(mpi, mine->model, &mine->g.t, &o),
                   RECUR_ERR_INVALID_ARGUMENT, mine, "another hidden size on the last rank");
        drop(&other);
        /* different roots; one rank broadcasting while the others check */
        EXPECT_ALL(recur_mpi_model_broadcast(mpi, f.model, &f.g.t, mt_rank == last ? 1 : 0),
                   RECUR_ERR_INVALID_ARGUMENT, &f, "roots differ");
        int same = 5;
        recur_status st = mt_rank == last
                              ? recur_mpi_model_broadcast(mpi, f.model, &f.g.t, 0)
                              : recur_mpi_model_check_identical(mpi, f.model, &f.g.t, &same);
        MT_EXPECT(st == RECUR_ERR_INVALID_ARGUMENT && same == 5 && untouched(&f),
                  "broadcast against check_identical: %s", recur_status_string(st));
    }
    drop(&f);
    mt_verdict();
}

/*
 * MPI failures, injected through MPI's profiling interface: this program's own
 * MPI_Allgather, MPI_Alltoallv, MPI_Iallgatherv and MPI_Bcast (the library's objects are
 * linked into it, so they call these) fail once with inject_error when inject_fn names
 * them, and otherwise pass on to PMPI_*. Every rank fails at the same point, as a real
 * failure of a collective would be seen everywhere.
 */
static const char *inject_fn;
static int inject_error;

static int injected(const char *fn)
{
    if (!inject_fn || strcmp(inject_fn, fn) != 0)
        return 0;
    inject_fn = NULL;
    return 1;
}

int MPI_Allgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                  MPI_Datatype rtype, MPI_Comm comm)
{
    if (injected("MPI_Allgather"))
        return inject_error;
    return PMPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm);
}

int MPI_Alltoallv(const void *sbuf, const int scounts[], const int sdispls[],
                  MPI_Datatype stype, void *rbuf, const int rcounts[], const int rdispls[],
                  MPI_Datatype rtype, MPI_Comm comm)
{
    if (injected("MPI_Alltoallv"))
        return inject_error;
    return PMPI_Alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
}

int MPI_Iallgatherv(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf,
                    const int rcounts[], const int displs[], MPI_Datatype rtype, MPI_Comm comm,
                    MPI_Request *req)
{
    if (injected("MPI_Iallgatherv"))
        return inject_error;
    return PMPI_Iallgatherv(sbuf, scount, stype, rbuf, rcounts, displs, rtype, comm, req);
}

int MPI_Bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm)
{
    if (injected("MPI_Bcast"))
        return inject_error;
    return PMPI_Bcast(buf, count, type, root, comm);
}

/* MPI's error classes map to statuses; a failing MPI call returns one, with its name
 * and MPI's message; before any data moved, nothing is written. */
static void mpi_failures_become_statuses(void **state)
{
    (void)state;
    const struct {
        int cls;
        recur_status want;
    } map[] = {{MPI_SUCCESS, RECUR_OK},
               {MPI_ERR_NO_MEM, RECUR_ERR_OUT_OF_MEMORY},
               {MPI_ERR_COUNT, RECUR_ERR_INVALID_ARGUMENT},
               {MPI_ERR_COMM, RECUR_ERR_INVALID_ARGUMENT},
               {MPI_ERR_TRUNCATE, RECUR_ERR_INVALID_ARGUMENT},
               {MPI_ERR_OTHER, RECUR_ERR_COMMUNICATION},
               {MPI_ERR_INTERN, RECUR_ERR_COMMUNICATION}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        MT_EXPECT(recur_mpi_status_of(map[i].cls) == map[i].want, "MPI class %d -> %s",
                  map[i].cls, recur_status_string(recur_mpi_status_of(map[i].cls)));
    /* the duplicate communicator returns errors instead of aborting */
    MPI_Errhandler eh;
    assert_int_equal(MPI_Comm_get_errhandler(mpi->comm, &eh), MPI_SUCCESS);
    MT_EXPECT(eh == MPI_ERRORS_RETURN, "the handle's communicator does not return errors");
    MPI_Errhandler_free(&eh);

    const struct {
        const char *fn;
        int err;
        recur_status want;
        size_t bucket; /* 0: one bucket, blocking calls */
        int unwritten; /* the failure comes before any gradient is written */
    } cases[] = {{"MPI_Allgather", MPI_ERR_OTHER, RECUR_ERR_COMMUNICATION, 0, 1},
                 {"MPI_Alltoallv", MPI_ERR_TRUNCATE, RECUR_ERR_INVALID_ARGUMENT, 0, 1},
                 {"MPI_Alltoallv", MPI_ERR_NO_MEM, RECUR_ERR_OUT_OF_MEMORY, 0, 1},
                 {"MPI_Iallgatherv", MPI_ERR_INTERN, RECUR_ERR_COMMUNICATION, 7, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f = make(H);
        recur_mpi_options o = recur_mpi_options_default();
        o.bucket_floats = cases[i].bucket;
        inject_fn = cases[i].fn, inject_error = cases[i].err;
        recur_status st = recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, &o);
        inject_fn = NULL;
        MT_EXPECT(st == cases[i].want, "%s failing: %s, want %s", cases[i].fn,
                  recur_status_string(st), recur_status_string(cases[i].want));
        MT_EXPECT(strstr(recur_mpi_last_error(mpi), cases[i].fn) != NULL,
                  "%s failing: message '%s'", cases[i].fn, recur_mpi_last_error(mpi));
        MT_EXPECT(!cases[i].unwritten || untouched(&f), "%s failing: gradients written",
                  cases[i].fn);
        drop(&f);
    }
    /* Every rank gave up at the same point with nothing outstanding (the failed
     * MPI_Iallgatherv was bucket 0's, started before bucket 1's exchange), so the handle
     * still works. */
    fixture f = make(H);
    inject_fn = "MPI_Bcast", inject_error = MPI_ERR_OTHER;
    recur_status st = recur_mpi_model_broadcast(mpi, f.model, &f.g.t, 0);
    inject_fn = NULL;
    MT_EXPECT(st == RECUR_ERR_COMMUNICATION && untouched(&f), "MPI_Bcast failing: %s",
              recur_status_string(st));
    MT_EXPECT(recur_mpi_model_allreduce_grads(mpi, f.model, &f.g.t, NULL) == RECUR_OK,
              "the handle after the failures: %s", recur_mpi_last_error(mpi));
    drop(&f);
    mt_verdict();
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv);
    if (recur_mpi_create(&mpi, MPI_COMM_WORLD) != RECUR_OK) {
        fprintf(stderr, "setup failed\n");
        return mt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handle_and_shard),
        cmocka_unit_test(bad_arguments_everywhere),
        cmocka_unit_test(one_rank_or_disagreement),
        cmocka_unit_test(mpi_failures_become_statuses),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    recur_mpi_destroy(mpi);
    return mt_finish(failed);
}
