#define _POSIX_C_SOURCE 200809L
/*
 * Data-parallel SGD keeps every rank's weights bitwise identical: ranks start from
 * different weights, rank 0's are broadcast, then several steps of shard gradients,
 * ORDERED reduction, clipping and SGD with momentum and weight decay; after every step
 * a hash of each rank's weights (and velocity) is compared across the ranks, by the
 * test itself and by recur_mpi_model_check_identical. A second identical run ends in
 * bitwise the same weights (reproducible for a fixed rank count). Broadcast from any
 * root; the identity check notices a one-ulp difference on one rank.
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
#include "mpi_test_util.h"
#include "test_util.h"

static recur_mpi *mpi;
static recur_context *ctx;

enum { T = 6, BATCH = 7, I = 4, H = 6, O = 5, STEPS = 6 };

static recur_model *make_model(void)
{
    recur_model_config c = recur_model_config_default(I, H);
    c.num_layers = 2;
    c.direction = RECUR_DIR_BIDIRECTIONAL;
    c.two_biases = 1;
    c.output_size = O;
    c.output_act = RECUR_ACT_SOFTMAX;
    recur_model *m;
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    return m;
}

static recur_model_weights weights_of(const mt_tensors *p, recur_layer_weights *lw)
{
    for (size_t k = 0; k < p->npass; k++)
        lw[k] = (recur_layer_weights){p->layers[k].W, p->layers[k].U, p->layers[k].b,
                                      p->layers[k].b_hh};
    return (recur_model_weights){lw, p->t.V, p->t.c};
}

/* This rank's shard of step s's batch (the same batch on every rank): gradient of its
 * mean cross-entropy; returns the counted rows. */
static size_t step_grads(recur_model *model, const mt_tensors *params, int s, mt_tensors *g)
{
    test_rng r;
    rng_seed(&r, 1000 + (uint64_t)s);
    float x[T * BATCH * I];
    int32_t labels[T * BATCH];
    rng_fill(&r, x, T * BATCH * I, -1, 1);
    for (size_t i = 0; i < T * BATCH; i++)
        labels[i] = i % 5 == 2 ? -1 : (int32_t)rng_uniform(&r, 0, O - 0.001f);
    size_t first, n;
    assert_int_equal(recur_mpi_shard(mpi, BATCH, &first, &n), RECUR_OK);
    if (n == 0)
        return 0;
    /* time-major: rows (t, first .. first + n) */
    float xs[T * BATCH * I], y[T * BATCH * O], dy[T * BATCH * O];
    int32_t ls[T * BATCH];
    size_t counted = 0;
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < n; k++) {
            memcpy(xs + (t * n + k) * I, x + (t * BATCH + first + k) * I, I * sizeof(float));
            ls[t * n + k] = labels[t * BATCH + first + k];
            counted += ls[t * n + k] >= 0;
        }
    recur_layer_weights lw[4];
    recur_model_weights w = weights_of(params, lw);
    size_t wsb;
    assert_int_equal(recur_model_workspace_size(model, T, n, &wsb), RECUR_OK);
    void *ws = malloc(wsb);
    assert_int_equal(recur_model_forward_train(ctx, model, T, n, NULL, &w, xs, NULL, y, NULL,
                                               ws, wsb), RECUR_OK);
    assert_int_equal(recur_loss_softmax_xent(T * n, O, y, ls, NULL, dy), RECUR_OK);
    recur_backward_options bo = recur_backward_options_default();
    bo.dy_kind = RECUR_DY_LOGITS;
    assert_int_equal(recur_model_backward(ctx, model, T, n, &w, xs, ws, wsb, dy, NULL, &bo,
                                          &g->t, NULL, NULL), RECUR_OK);
    free(ws);
    return counted;
}

/* Broadcast, then STEPS steps; returns the hash of the final weights. */
static uint64_t train(recur_model *model)
{
    mt_tensors p = mt_tensors_alloc(model), g = mt_tensors_alloc(model),
               v = mt_tensors_alloc(model);
    mt_tensors_fill(model, &p, 7 + (uint64_t)mt_rank, 0.5f); /* different on every rank */
    MT_EXPECT(mt_size == 1 || !mt_same_on_all(mt_tensors_hash(model, &p)),
              "the ranks' initial weights should differ before the broadcast");
    assert_int_equal(recur_mpi_model_broadcast(mpi, model, &p.t, 0), RECUR_OK);
    MT_EXPECT(mt_same_on_all(mt_tensors_hash(model, &p)), "weights differ after the broadcast");
    recur_sgd_options sgd = {0.2f, 0.9f, 1e-3f};
    for (int s = 0; s < STEPS; s++) {
        recur_mpi_options o = recur_mpi_options_default();
        o.weight = (double)step_grads(model, &p, s, &g);
        o.bucket_floats = s % 2 ? 50 : 0; /* pipelined buckets every other step */
        assert_int_equal(recur_mpi_model_allreduce_grads(mpi, model, &g.t, &o), RECUR_OK);
        assert_int_equal(recur_model_clip_grad_norm(model, &g.t, 0.5f, NULL), RECUR_OK);
        assert_int_equal(recur_model_sgd_update(model, &p.t, &g.t, &sgd, &v.t), RECUR_OK);
        uint64_t hp = mt_tensors_hash(model, &p), hv = mt_tensors_hash(model, &v);
        MT_EXPECT(mt_same_on_all(hp), "step %d: the ranks' weights differ", s);
        MT_EXPECT(mt_same_on_all(hv), "step %d: the ranks' velocities differ", s);
        int same = -1;
        assert_int_equal(recur_mpi_model_check_identical(mpi, model, &p.t, &same), RECUR_OK);
        MT_EXPECT(same == 1, "step %d: recur_mpi_model_check_identical says %d", s, same);
    }
    uint64_t h = mt_tensors_hash(model, &p);
    mt_tensors_free(&p), mt_tensors_free(&g), mt_tensors_free(&v);
    return h;
}

static void weights_stay_identical_and_runs_repeat(void **state)
{
    (void)state;
    recur_model *model = make_model();
    uint64_t first = train(model), second = train(model);
    MT_EXPECT(first == second, "a second run ended with other weights (%016llx, %016llx)",
              (unsigned long long)first, (unsigned long long)second);
    recur_model_destroy(model);
    mt_verdict();
}

/* Every root; the model, rnn and list forms. */
static void broadcast_from_any_root(void **state)
{
    (void)state;
    recur_model *model = make_model();
    recur_rnn_config rc = {I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    recur_rnn *rnn;
    assert_int_equal(recur_rnn_create(&rnn, &rc), RECUR_OK);
    for (int root = 0; root < mt_size; root++) {
        mt_tensors p = mt_tensors_alloc(model), want = mt_tensors_alloc(model);
        mt_tensors_fill(model, &p, 50 + (uint64_t)mt_rank, 1.0f);
        mt_tensors_fill(model, &want, 50 + (uint64_t)root, 1.0f);
        assert_int_equal(recur_mpi_model_broadcast(mpi, model, &p.t, root), RECUR_OK);
        MT_EXPECT(mt_tensors_hash(model, &p) == mt_tensors_hash(model, &want),
                  "model broadcast from %d: not root's weights", root);
        /* the rnn form over the first layer's W, U, b and V, c (shapes of rc) */
        float V[O * H], c[O];
        test_rng r;
        rng_seed(&r, 90 + (uint64_t)mt_rank);
        rng_fill(&r, V, O * H, -1, 1);
        rng_fill(&r, c, O, -1, 1);
        recur_tensors rt = {p.layers[0].W, p.layers[0].U, p.layers[0].b, V, c};
        assert_int_equal(recur_mpi_rnn_broadcast(mpi, rnn, &rt, root), RECUR_OK);
        uint64_t h = mt_hash(mt_hash(MT_HASH_START, V, O * H), c, O);
        MT_EXPECT(mt_same_on_all(h), "rnn broadcast from %d: V, c differ", root);
        /* a list with an empty entry */
        float one = (float)mt_rank;
        float *list[2] = {NULL, &one};
        size_t sizes[2] = {0, 1};
        assert_int_equal(recur_mpi_broadcast(mpi, 2, list, sizes, root), RECUR_OK);
        MT_EXPECT(one == (float)root, "list broadcast from %d gave %g", root, (double)one);
        mt_tensors_free(&p), mt_tensors_free(&want);
    }
    recur_rnn_destroy(rnn);
    recur_model_destroy(model);
    mt_verdict();
}

/* One ulp on the last rank is noticed by every rank. */
static void check_identical_notices_one_ulp(void **state)
{
    (void)state;
    recur_model *model = make_model();
    mt_tensors p = mt_tensors_alloc(model);
    mt_tensors_fill(model, &p, 3, 1.0f);
    int same = -1;
    assert_int_equal(recur_mpi_model_check_identical(mpi, model, &p.t, &same), RECUR_OK);
    MT_EXPECT(same == 1, "equal weights reported as different");
    if (mt_rank == mt_size - 1)
        p.t.V[3] = nextafterf(p.t.V[3], 10.0f);
    assert_int_equal(recur_mpi_model_check_identical(mpi, model, &p.t, &same), RECUR_OK);
    MT_EXPECT(same == (mt_size == 1), "one ulp on rank %d not noticed (%d)", mt_size - 1, same);
    const float *list[1] = {p.t.V};
    size_t n = O * recur_model_output_width(model);
    assert_int_equal(recur_mpi_check_identical(mpi, 1, list, &n, &same), RECUR_OK);
    MT_EXPECT(same == (mt_size == 1), "list form: one ulp not noticed");
    mt_tensors_free(&p);
    recur_model_destroy(model);
    mt_verdict();
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv);
    if (recur_mpi_create(&mpi, MPI_COMM_WORLD) != RECUR_OK ||
        recur_context_create(&ctx) != RECUR_OK) {
        fprintf(stderr, "setup failed\n");
        return mt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weights_stay_identical_and_runs_repeat),
        cmocka_unit_test(broadcast_from_any_root),
        cmocka_unit_test(check_identical_notices_one_ulp),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    recur_context_destroy(ctx);
    recur_mpi_destroy(mpi);
    return mt_finish(failed);
}
