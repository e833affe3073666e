#define _POSIX_C_SOURCE 200809L
/*
 * Gradient reduction against a single-process reference: every rank computes the
 * reference gradient of the whole (concatenated) batch itself, then its own shard's
 * gradient; the reduced shard gradients must match the reference within a bound
 * derived from the length of the float sums involved:
 *
 *   Both are float evaluations of the same gradient, sums over the T*N rows of the
 *   batch of products formed through at most L layers of dot products of at most
 *   Iw + D*H + O + 3 terms; the shards only change the order of the row sums. So, as
 *   in tests/test_model.c's gradient checks, |reduced - reference| <=
 *   (K + extra) * FLT_EPSILON * (gmax + dymax + 1e-3), K = L*T*N*(Iw + D*H + O + 3),
 *   gmax = the largest reference gradient, dymax = the largest dL/dy. extra counts the
 *   roundings the reduction itself adds: ORDERED sums in double and rounds once, plus
 *   one for the division of MEAN (2); ALLREDUCE scales by w_k / W in float and adds K
 *   floats (K + 1); a SUM-style loss scaled on each rank adds one more.
 *
 * Also: ORDERED gives bitwise the same result on every rank, for every bucket size, in
 * place (gradients in one allocation) or packed, and on every repetition; shards placed on other ranks change the result by rounding only;
 * a rank without rows (weight 0) takes part; exact sums of small integers are exact.
 */
#include <float.h>
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
/* 1: the reduced gradients live in one allocation (recur_mpi reduces them in place) */
static int in_one_block;

static mt_tensors grads_alloc(const recur_model *model)
{
    return in_one_block ? mt_tensors_alloc_block(model) : mt_tensors_alloc(model);
}

typedef struct problem {
    recur_model_config cfg;
    recur_model *model;
    size_t T, N;         /* the whole batch */
    int xent;            /* 1: softmax cross-entropy on labels; 0: MSE on targets */
    int32_t *lengths;    /* [N] or NULL */
    float *x, *target;   /* the whole batch, seq_layout */
    int32_t *labels;     /* [rows], by y row */
    mt_tensors params;
    size_t yw;           /* floats per y row */
} problem;

static void problem_init(problem *p, const recur_model_config *cfg, size_t T, size_t N,
                         int xent, int ragged, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    assert_int_equal(recur_model_create(&p->model, cfg), RECUR_OK);
    p->T = T, p->N = N, p->xent = xent;
    p->yw = cfg->output_size ? cfg->output_size : recur_model_output_width(p->model);
    test_rng r;
    rng_seed(&r, seed);
    p->x = fvec(T * N * cfg->input_size);
    rng_fill(&r, p->x, T * N * cfg->input_size, -1, 1);
    p->target = fvec(T * N * p->yw);
    rng_fill(&r, p->target, T * N * p->yw, -1, 1);
    if (ragged) {
        p->lengths = calloc(N, sizeof(int32_t));
        for (size_t n = 0; n < N; n++)
            p->lengths[n] = 1 + (int32_t)rng_uniform(&r, 0, (float)T - 0.001f);
        p->lengths[0] = (int32_t)T;
    }
    p->labels = calloc(T * N, sizeof(int32_t));
    int bf = cfg->seq_layout == RECUR_LAYOUT_BATCH_FIRST;
    for (size_t n = 0; n < N; n++)
        for (size_t t = 0; t < T; t++) {
            size_t row = bf ? n * T + t : t * N + n;
            int past = p->lengths && t >= (size_t)p->lengths[n];
            p->labels[row] = past || row % 7 == 3 ? -1
                                                  : (int32_t)rng_uniform(&r, 0, (float)p->yw - 0.001f);
        }
    p->params = mt_tensors_alloc(p->model);
    mt_tensors_fill(p->model, &p->params, seed + 1, 0.4f);
}

static void problem_free(problem *p)
{
    mt_tensors_free(&p->params);
    recur_model_destroy(p->model);
    free(p->x), free(p->target), free(p->labels), free(p->lengths);
}

/* Rows [first, first + count) of a [T][N] (time-major) or [N][T] (batch-first) array
 * of width elements of size bytes each, into a T x count array of the same layout. */
static void *copy_rows(const void *src, size_t elem, size_t width, size_t T, size_t N,
                       size_t first, size_t count, int batch_first)
{
    char *dst = calloc(T * count * width + 1, elem);
    const char *s = src;
    size_t row = width * elem;
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < count; n++) {
            size_t from = batch_first ? (first + n) * T + t : t * N + first + n;
            size_t to = batch_first ? n * T + t : t * count + n;
            memcpy(dst + to * row, s + from * row, row);
        }
    return dst;
}

/* A batch's gradient of its mean loss, times dy_scale; returns the counted entries. */
static size_t batch_grads(const problem *p, size_t N, const float *x, const int32_t *lengths,
                          const float *target, const int32_t *labels, float dy_scale,
                          mt_tensors *g, double *dymax)
{
    size_t T = p->T, ny = T * N * p->yw, wsb;
    recur_model_weights w;
    recur_layer_weights lw[8];
    for (size_t k = 0; k < p->params.npass; k++)
        lw[k] = (recur_layer_weights){p->params.layers[k].W, p->params.layers[k].U,
                                      p->params.layers[k].b, p->params.layers[k].b_hh};
    w = (recur_model_weights){lw, p->params.t.V, p->params.t.c};
    assert_int_equal(recur_model_workspace_size(p->model, T, N, &wsb), RECUR_OK);
    void *ws = malloc(wsb);
    float *y = fvec(ny), *dy = fvec(ny);
    assert_int_equal(recur_model_forward_train(ctx, p->model, T, N, lengths, &w, x, NULL, y,
                                               NULL, ws, wsb), RECUR_OK);
    size_t counted = 0;
    float loss;
    if (p->xent) {
        assert_int_equal(recur_loss_softmax_xent(T * N, p->yw, y, labels, &loss, dy), RECUR_OK);
        for (size_t i = 0; i < T * N; i++)
            counted += labels[i] >= 0;
    } else {
        assert_int_equal(recur_loss_mse(ny, y, target, &loss, dy), RECUR_OK);
        counted = ny;
    }
    for (size_t i = 0; i < ny; i++) {
        dy[i] *= dy_scale;
        if (dymax)
            *dymax = fmax(*dymax, fabs((double)dy[i]));
    }
    recur_backward_options bo = recur_backward_options_default();
    bo.dy_kind = p->xent ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    assert_int_equal(recur_model_backward(ctx, p->model, T, N, &w, x, ws, wsb, dy, NULL, &bo,
                                          &g->t, NULL, NULL), RECUR_OK);
    free(ws), free(y), free(dy);
    return counted;
}

/* Counted entries of rows [first, first + count). */
static size_t shard_grads(const problem *p, size_t first, size_t count, float dy_scale,
                          mt_tensors *g)
{
    if (count == 0) /* nothing to add: zeros, weight 0 */
        return 0;
    int bf = p->cfg.seq_layout == RECUR_LAYOUT_BATCH_FIRST;
    float *x = copy_rows(p->x, sizeof(float), p->cfg.input_size, p->T, p->N, first, count, bf);
    float *tg = copy_rows(p->target, sizeof(float), p->yw, p->T, p->N, first, count, bf);
    int32_t *lb = copy_rows(p->labels, sizeof(int32_t), 1, p->T, p->N, first, count, bf);
    size_t counted = batch_grads(p, count, x, p->lengths ? p->lengths + first : NULL, tg, lb,
                                 dy_scale, g, NULL);
    free(x), free(tg), free(lb);
    return counted;
}

/* Rank r's shard as recur_mpi_shard lays it out, for any r. */
static void shard_of(size_t n, int r, size_t *first, size_t *count)
{
    size_t k = (size_t)mt_size, base = n / k, extra = n % k, rr = (size_t)r;
    *first = rr * base + (rr < extra ? rr : extra);
    *count = base + (rr < extra ? 1 : 0);
}

typedef struct result {
    float *flat;   /* reduced gradients, flattened */
    size_t n;
    double worst;  /* max |reduced - reference| / tol */
} result;

/*
 * Reference and reduction for one problem: this rank takes the shard of rank
 * (rank + shift) % K; op SUM scales each shard's mean-loss gradient by its share of
 * the batch's counted entries (a loss summed over the batch / total count).
 */
static result reduce_case(const problem *p, const recur_mpi_options *o, int shift,
                          const char *what)
{
    size_t n = mt_tensors_count(p->model);
    mt_tensors ref = mt_tensors_alloc(p->model), g = grads_alloc(p->model);
    double dymax = 0;
    size_t total = batch_grads(p, p->N, p->x, p->lengths, p->target, p->labels, 1.0f, &ref,
                               &dymax);
    size_t first, count;
    shard_of(p->N, (mt_rank + shift) % mt_size, &first, &count);
    size_t mine = shard_grads(p, first, count, 1.0f, &g);
    recur_mpi_options opt = *o;
    int extra = o->reduction == RECUR_MPI_ORDERED ? 2 : mt_size + 1;
    if (opt.op == RECUR_MPI_SUM) {
        if (mine) { /* again, with dy scaled by this shard's share */
            mt_tensors_free(&g);
            g = grads_alloc(p->model);
            shard_grads(p, first, count, (float)((double)mine / (double)total), &g);
        }
        extra += 1;
    } else {
        opt.weight = (double)mine;
    }
    recur_status st = recur_mpi_model_allreduce_grads(mpi, p->model, &g.t, &opt);
    MT_EXPECT(st == RECUR_OK, "%s: %s (%s)", what, recur_status_string(st),
              recur_mpi_last_error(mpi));

    float *a = fvec(n), *b = fvec(n);
    mt_tensors_flatten(p->model, &g, a);
    mt_tensors_flatten(p->model, &ref, b);
    double gmax = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fmax(gmax, fabs((double)b[i]));
    size_t D = recur_model_directions(p->model), H = p->cfg.hidden_size;
    size_t Iw = p->cfg.input_size > D * H ? p->cfg.input_size : D * H;
    double K = (double)(p->cfg.num_layers * p->T * p->N * (Iw + D * H + p->cfg.output_size + 3));
    double tol = (K + extra) * FLT_EPSILON * (gmax + dymax + 1e-3), worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)a[i] - (double)b[i]);
        worst = fmax(worst, err / tol);
        if (!(err <= tol)) {
            MT_EXPECT(0, "%s: gradient %zu of %zu: reduced %.9g, reference %.9g, |err| %.3g > "
                         "tol %.3g", what, i, n, (double)a[i], (double)b[i], err, tol);
            break;
        }
    }
    free(b);
    mt_tensors_free(&ref), mt_tensors_free(&g);
    return (result){a, n, worst};
}

static recur_mpi_options opts(recur_mpi_op op, recur_mpi_reduction red, size_t bucket)
{
    recur_mpi_options o = recur_mpi_options_default();
    o.op = op, o.reduction = red, o.bucket_floats = bucket;
    return o;
}

/* A 2-layer bidirectional CONCAT model with two biases, lengths, batch-first,
 * softmax output and cross-entropy: every tensor kind the reduction packs. */
static recur_model_config bidir_cfg(void)
{
    recur_model_config c = recur_model_config_default(4, 5);
    c.num_layers = 2;
    c.direction = RECUR_DIR_BIDIRECTIONAL;
    c.seq_layout = RECUR_LAYOUT_BATCH_FIRST;
    c.two_biases = 1;
    c.output_size = 3;
    c.output_act = RECUR_ACT_SOFTMAX;
    return c;
}

/* ---------------------------------------------------------------- tests */

static void model_against_reference(void **state)
{
    (void)state;
    recur_model_config c = bidir_cfg();
    problem p;
    problem_init(&p, &c, 5, 7, 1, 1, 11);
    const struct {
        recur_mpi_reduction red;
        size_t bucket;
        const char *what;
    } cases[] = {{RECUR_MPI_ORDERED, 0, "ordered, one bucket"},
                 {RECUR_MPI_ORDERED, 37, "ordered, buckets of 37"},
                 {RECUR_MPI_ALLREDUCE, 0, "MPI_Allreduce"},
                 {RECUR_MPI_ALLREDUCE, 37, "MPI_Iallreduce, buckets of 37"}};
    for (in_one_block = 0; in_one_block < 2; in_one_block++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            recur_mpi_options o = opts(RECUR_MPI_MEAN, cases[i].red, cases[i].bucket);
            result r = reduce_case(&p, &o, 0, cases[i].what);
            if (cases[i].red == RECUR_MPI_ORDERED)
                MT_EXPECT(mt_same_on_all(mt_hash(MT_HASH_START, r.flat, r.n)),
                          "%s: the ranks' gradients differ", cases[i].what);
            print_message("    %s%s: worst error / bound %.3g\n", cases[i].what,
                          in_one_block ? ", in place" : "", r.worst);
            free(r.flat);
        }
    in_one_block = 0;
    problem_free(&p);
    mt_verdict();
}

/* The recur_rnn calls, MSE, MEAN weighted and SUM of scaled shards. */
static void rnn_against_reference(void **state)
{
    (void)state;
    enum { T = 6, N = 7, I = 5, H = 7, O = 3 };
    recur_rnn_config rc = {I, H, O, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    recur_rnn *rnn;
    assert_int_equal(recur_rnn_create(&rnn, &rc), RECUR_OK);
    /* the same problem as a model, for its reference and shards */
    recur_model_config c = recur_model_config_default(I, H);
    c.output_size = O;
    problem p;
    problem_init(&p, &c, T, N, 0, 0, 21);
    for (int op = 0; op < 2; op++) {
        recur_mpi_op mop = op ? RECUR_MPI_SUM : RECUR_MPI_MEAN;
        /* the model route gives the reference comparison ... */
        recur_mpi_options o = opts(mop, RECUR_MPI_ORDERED, 0);
        result r = reduce_case(&p, &o, 0, op ? "rnn-shaped model, SUM" : "rnn-shaped model, MEAN");
        /* ... and recur_mpi_rnn_allreduce_grads must give bitwise the same numbers */
        size_t first, count;
        recur_mpi_shard(mpi, N, &first, &count);
        mt_tensors g = mt_tensors_alloc(p.model);
        size_t total = T * N * O, mine = shard_grads(&p, first, count, 1.0f, &g);
        if (mop == RECUR_MPI_SUM && mine) {
            mt_tensors_free(&g);
            g = mt_tensors_alloc(p.model);
            shard_grads(&p, first, count, (float)((double)mine / (double)total), &g);
        }
        o.weight = (double)mine;
        recur_tensors rg = {g.layers[0].W, g.layers[0].U, g.layers[0].b, g.t.V, g.t.c};
        recur_status st = recur_mpi_rnn_allreduce_grads(mpi, rnn, &rg, &o);
        MT_EXPECT(st == RECUR_OK, "rnn: %s", recur_status_string(st));
        float *flat = fvec(r.n);
        mt_tensors_flatten(p.model, &g, flat);
        MT_EXPECT(memcmp(flat, r.flat, r.n * sizeof(float)) == 0,
                  "recur_mpi_rnn_allreduce_grads differs from the model call");
        free(flat), free(r.flat);
        mt_tensors_free(&g);
    }
    problem_free(&p);
    recur_rnn_destroy(rnn);
    mt_verdict();
}

/* ORDERED: the same inputs give bitwise the same sums for every bucket size (each float
 * is summed in rank order whatever its bucket), on every rank, on every repetition. */
static void ordered_is_bitwise_reproducible(void **state)
{
    (void)state;
    recur_model_config c = bidir_cfg();
    problem p;
    problem_init(&p, &c, 4, 6, 1, 1, 31);
    size_t n = mt_tensors_count(p.model), first, count;
    recur_mpi_shard(mpi, p.N, &first, &count);
    float *one_bucket = fvec(n), *out = fvec(n);
    /* the last three: gradients in one allocation, reduced in place */
    const size_t buckets[] = {0, 1, 2, 5, 64, 0, 0, 3, 64};
    const size_t nb = sizeof buckets / sizeof buckets[0];
    for (size_t b = 0; b < nb; b++) {
        in_one_block = b + 3 >= nb;
        mt_tensors g = grads_alloc(p.model); /* the same shard gradients each time */
        recur_mpi_options o = opts(RECUR_MPI_MEAN, RECUR_MPI_ORDERED, buckets[b]);
        o.weight = (double)shard_grads(&p, first, count, 1.0f, &g);
        assert_int_equal(recur_mpi_model_allreduce_grads(mpi, p.model, &g.t, &o), RECUR_OK);
        mt_tensors_flatten(p.model, &g, b == 0 ? one_bucket : out);
        if (b > 0)
            MT_EXPECT(memcmp(out, one_bucket, n * sizeof(float)) == 0,
                      "bucket %zu (run %zu%s) differs bitwise from one bucket", buckets[b], b,
                      in_one_block ? ", in place" : "");
        MT_EXPECT(mt_same_on_all(mt_tensors_hash(p.model, &g)),
                  "bucket %zu: the ranks' gradients differ", buckets[b]);
        mt_tensors_free(&g);
    }
    in_one_block = 0;
    free(one_bucket), free(out);
    problem_free(&p);
    mt_verdict();
}

/* Which rank holds which shard changes the sums' order only; a rank without rows
 * (weight 0) takes part. */
static void shard_placement_and_empty_shards(void **state)
{
    (void)state;
    recur_model_config c = bidir_cfg();
    for (int empty = 0; empty < 2; empty++) {
        problem p;
        /* empty: K - 1 sequences, so the last rank has none */
        size_t N = empty ? (size_t)(mt_size > 1 ? mt_size - 1 : 1) : 8;
        problem_init(&p, &c, 5, N, 1, 1, 41 + (uint64_t)empty);
        recur_mpi_options o = opts(RECUR_MPI_MEAN, RECUR_MPI_ORDERED, 0);
        result a = reduce_case(&p, &o, 0, empty ? "a rank without rows" : "shards in order");
        result b = reduce_case(&p, &o, 1, empty ? "a rank without rows, moved" : "shards moved");
        free(a.flat), free(b.flat);
        problem_free(&p);
    }
    mt_verdict();
}

/* Whole numbers add up exactly: SUM of rank + 1 is K(K+1)/2; MEAN with weights
 * rank + 1 is sum (r+1)^2 / sum (r+1) = (2K+1)/3, rounded once; buckets of 3 and an
 * empty tensor in the list. */
static void list_sums_are_exact(void **state)
{
    (void)state;
    enum { A = 5, B = 1000 };
    float a[A], bb[B];
    float *tensors[3] = {NULL, a, bb};
    size_t sizes[3] = {0, A, B};
    double K = mt_size;
    for (int red = 0; red < 2; red++)
        for (size_t bucket = 0; bucket <= 3; bucket += 3) {
            for (int op = 0; op < 2; op++) {
                for (size_t i = 0; i < A; i++)
                    a[i] = (float)(mt_rank + 1);
                for (size_t i = 0; i < B; i++)
                    bb[i] = (float)(mt_rank + 1);
                recur_mpi_options o = opts(op ? RECUR_MPI_SUM : RECUR_MPI_MEAN,
                                           (recur_mpi_reduction)red, bucket);
                o.weight = mt_rank + 1;
                assert_int_equal(recur_mpi_allreduce(mpi, 3, tensors, sizes, &o), RECUR_OK);
                float want = op ? (float)(K * (K + 1) / 2) : (float)((2 * K + 1) / 3);
                /* MPI's float sum of w/W-scaled values is not exact: ALLREDUCE MEAN gets
                 * the bound of K + 1 roundings */
                double tol = red == RECUR_MPI_ALLREDUCE && !op ? (K + 1) * FLT_EPSILON * want : 0;
                for (size_t i = 0; i < A + B; i++) {
                    float v = i < A ? a[i] : bb[i - A];
                    if (!(fabs((double)v - (double)want) <= tol)) {
                        MT_EXPECT(0, "%s %s bucket %zu: [%zu] = %.9g, want %.9g",
                                  red ? "ALLREDUCE" : "ORDERED", op ? "SUM" : "MEAN", bucket,
                                  i, (double)v, (double)want);
                        break;
                    }
                }
            }
        }
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
    printf("test_mpi_grads: %d ranks, ISA %s\n", mt_size, recur_isa_name(recur_context_isa(ctx)));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_against_reference),
        cmocka_unit_test(rnn_against_reference),
        cmocka_unit_test(ordered_is_bitwise_reproducible),
        cmocka_unit_test(shard_placement_and_empty_shards),
        cmocka_unit_test(list_sums_are_exact),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    recur_context_destroy(ctx);
    recur_mpi_destroy(mpi);
    return mt_finish(failed);
}
