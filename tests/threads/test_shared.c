/*
 * Sharing across threads, the case the ThreadSanitizer lane (tools/run-tests.sh tsan)
 * is there for: one recur_rnn, one recur_model and one set of read-only weights and
 * inputs used at the same time by
 *   - several pthreads, each with its own context of 2 team threads (the library's
 *     OpenMP teams inside concurrent callers), through the rnn, model and ONNX calls;
 *   - the threads of the caller's own `#pragma omp parallel`, each with its own
 *     context (the calls run single-threaded there);
 * and the process's first contexts created by several threads at once (the one-time
 * topology and CPU detection). Every result must equal, bit for bit, the one computed
 * alone beforehand; the shared inputs must be unchanged afterwards.
 * Self-contained (own generator), linked against the core for the thread knobs.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"

enum { T = 6, N = 5, I = 7, H = 19, O = 3, L = 2, D = 2, WORKERS = 4, ROUNDS = 3 };
enum { NX = T * N * I, NY = T * N * O, NS = L * D * N * H, NYM = T * N * 2 * H };

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 40) / 8388608.0 - 1.0);
}

static float *vec(size_t n, float scale)
{
    float *p = malloc(n * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

/* Everything shared, read-only once built. */
static struct shared {
    recur_rnn *rnn;
    recur_model *model;
    float *W, *U, *b, *V, *c, *x, *h0, *dy;           /* rnn */
    float *mW[L * D], *mU[L * D], *mb[L * D], *mbh[L * D]; /* model layers */
    recur_layer_weights lw[L * D];
    float *mx, *mdy;
    int32_t lengths[N];
    float *oW, *oR, *oB;                              /* ONNX, bidirectional */
    float *snap;                                      /* copy of every shared input */
    size_t snap_n;
} S;

/* One run's outputs. */
typedef struct outs {
    float y[NY], hl[N * H], dW[H * I], dU[H * H], db[H], dV[O * H], dc[O], dx[NX];
    float my[NYM], mhl[NS], mdx[NX], mdW0[H * I], mdU3[H * H], mdb3[H];
    float oy[T * D * N * H], oyh[D * N * H];
} outs;

static const float **shared_arrays(size_t *count, size_t *sizes)
{
    static const float *a[64];
    size_t k = 0;
#define ADD(p, n) (a[k] = (p), sizes[k++] = (n))
    ADD(S.W, H * I); ADD(S.U, H * H); ADD(S.b, H); ADD(S.V, O * H); ADD(S.c, O);
    ADD(S.x, NX); ADD(S.h0, N * H); ADD(S.dy, NY); ADD(S.mx, NX); ADD(S.mdy, NYM);
    for (int j = 0; j < L * D; j++) {
        ADD(S.mW[j], H * (j < D ? I : 2 * H)); ADD(S.mU[j], H * H);
        ADD(S.mb[j], H); ADD(S.mbh[j], H);
    }
    ADD(S.oW, D * H * I); ADD(S.oR, D * H * H); ADD(S.oB, D * 2 * H);
#undef ADD
    *count = k;
    return a;
}

static void snapshot(int check)
{
    size_t sizes[64], n, off = 0;
    const float **a = shared_arrays(&n, sizes);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sizes[i];
    if (!check) {
        S.snap = malloc(total * sizeof(float));
        assert_non_null(S.snap);
        S.snap_n = total;
    }
    for (size_t i = 0; i < n; i++) {
        if (check)
            assert_memory_equal(S.snap + off, a[i], sizes[i] * sizeof(float));
        else
            memcpy(S.snap + off, a[i], sizes[i] * sizeof(float));
        off += sizes[i];
    }
    static const int32_t len[N] = {6, 1, 4, 6, 3};
    if (check)
        assert_memory_equal(S.lengths, len, sizeof S.lengths);
}

static void build_shared(void)
{
    recur_rnn_config rc = {I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    assert_int_equal(recur_rnn_create(&S.rnn, &rc), RECUR_OK);
    recur_model_config mc = recur_model_config_default(I, H);
    mc.num_layers = L;
    mc.direction = RECUR_DIR_BIDIRECTIONAL;
    mc.seq_layout = RECUR_LAYOUT_BATCH_FIRST;
    mc.two_biases = 1;
    mc.clip = 2.0f;
    assert_int_equal(recur_model_create(&S.model, &mc), RECUR_OK);
    S.W = vec(H * I, 0.4f); S.U = vec(H * H, 0.2f); S.b = vec(H, 0.1f);
    S.V = vec(O * H, 0.3f); S.c = vec(O, 0.1f);
    S.x = vec(NX, 1.0f); S.h0 = vec(N * H, 0.5f); S.dy = vec(NY, 1.0f);
    for (int j = 0; j < L * D; j++) {
        S.mW[j] = vec(H * (j < D ? I : 2 * H), 0.3f);
        S.mU[j] = vec(H * H, 0.2f);
        S.mb[j] = vec(H, 0.1f);
        S.mbh[j] = vec(H, 0.1f);
        S.lw[j] = (recur_layer_weights){S.mW[j], S.mU[j], S.mb[j], S.mbh[j]};
    }
    S.mx = vec(NX, 1.0f); S.mdy = vec(NYM, 1.0f);
    const int32_t len[N] = {6, 1, 4, 6, 3};
    memcpy(S.lengths, len, sizeof len);
    S.oW = vec(D * H * I, 0.4f); S.oR = vec(D * H * H, 0.2f); S.oB = vec(D * 2 * H, 0.1f);
    snapshot(0);
}

static void free_shared(void)
{
    size_t sizes[64], n;
    const float **a = shared_arrays(&n, sizes);
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)a[i]);
    free(S.snap);
    recur_rnn_destroy(S.rnn);
    recur_model_destroy(S.model);
    memset(&S, 0, sizeof S);
}

/* Every call on ctx with the shared descriptors and inputs; 0 when all succeeded. */
static int run_all(recur_context *ctx, outs *o)
{
    int bad = 0;
    recur_weights w = {S.W, S.U, S.b, S.V, S.c};
    size_t wsb = 0;
    bad |= recur_workspace_size(S.rnn, T, N, &wsb) != RECUR_OK;
    void *ws = malloc(wsb);
    bad |= !ws;
    bad |= recur_forward(ctx, S.rnn, T, N, &w, S.x, S.h0, o->y, o->hl) != RECUR_OK;
    bad |= recur_forward_train(ctx, S.rnn, T, N, &w, S.x, S.h0, o->y, NULL, ws, wsb) != RECUR_OK;
    recur_tensors g = {o->dW, o->dU, o->db, o->dV, o->dc};
    recur_backward_options opt = {RECUR_DY_LOGITS, 4, 0};
    bad |= recur_backward(ctx, S.rnn, T, N, &w, S.x, ws, wsb, S.dy, NULL, &opt, &g, o->dx,
                          NULL) != RECUR_OK;
    free(ws);

    recur_model_weights mw = {S.lw, NULL, NULL};
    bad |= recur_model_workspace_size(S.model, T, N, &wsb) != RECUR_OK;
    ws = malloc(wsb);
    bad |= !ws;
    bad |= recur_model_forward_train(ctx, S.model, T, N, S.lengths, &mw, S.mx, NULL, o->my,
                                     o->mhl, ws, wsb) != RECUR_OK;
    float *gW[L * D], *gU[L * D], *gb[L * D], *gbh[L * D];
    recur_layer_tensors lt[L * D];
    float *mine = malloc(4 * L * D * 2 * H * H * sizeof(float)); /* per-call gradients */
    bad |= !mine;
    for (int j = 0; mine && j < L * D; j++) {
        gW[j] = j == 0 ? o->mdW0 : mine + (4 * j) * 2 * H * H;
        gU[j] = j == 3 ? o->mdU3 : mine + (4 * j + 1) * 2 * H * H;
        gb[j] = j == 3 ? o->mdb3 : mine + (4 * j + 2) * 2 * H * H;
        gbh[j] = mine + (4 * j + 3) * 2 * H * H;
        lt[j] = (recur_layer_tensors){gW[j], gU[j], gb[j], gbh[j]};
    }
    recur_model_tensors mg = {lt, NULL, NULL};
    recur_backward_options mo = recur_backward_options_default();
    if (mine)
        bad |= recur_model_backward(ctx, S.model, T, N, &mw, S.mx, ws, wsb, S.mdy, NULL, &mo,
                                    &mg, o->mdx, NULL) != RECUR_OK;
    free(mine);
    free(ws);

    recur_onnx_rnn_attrs a = recur_onnx_rnn_attrs_default(H);
    a.direction = RECUR_DIR_BIDIRECTIONAL;
    a.activations[1] = RECUR_ONNX_LEAKY_RELU;
    a.alpha[1] = 0.1f;
    bad |= recur_onnx_rnn(ctx, &a, T, N, I, S.x, S.oW, S.oR, S.oB, S.lengths, NULL, o->oy,
                          o->oyh) != RECUR_OK;
    return bad;
}

static recur_context *team_ctx(size_t threads)
{
    recur_context *ctx = NULL;
    if (recur_context_create(&ctx) != RECUR_OK ||
        recur_context_set_num_threads(ctx, threads) != RECUR_OK) {
        recur_context_destroy(ctx);
        return NULL;
    }
    ctx->min_step_fmas = 0; /* the whole team runs, even on these small shapes */
    ctx->adapt = 0;
    return ctx;
}

/* ---- first use: several threads create the process's first contexts at once */

static void *first_use_main(void *arg)
{
    int *ok = arg;
    recur_context *ctx = NULL;
    recur_topology topo;
    *ok = recur_context_create(&ctx) == RECUR_OK && recur_isa_best() != RECUR_ISA_AUTO &&
          recur_context_get_topology(ctx, &topo) == RECUR_OK && topo.cores >= 1;
    recur_context_destroy(ctx);
    return NULL;
}

static void test_first_use_concurrent(void **state)
{
    (void)state;
    pthread_t th[WORKERS];
    int ok[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, first_use_main, &ok[i]), 0);
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_true(ok[i]);
    }
}

/* ---- pthreads sharing descriptors and weights, one 2-thread context each */

static outs ref;

typedef struct worker {
    int mismatches;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    recur_context *ctx = team_ctx(2);
    outs *o = malloc(sizeof *o);
    if (!ctx || !o) {
        wk->mismatches = 1000;
    } else {
        for (int r = 0; r < ROUNDS; r++) {
            memset(o, 0, sizeof *o);
            wk->mismatches += run_all(ctx, o) != 0;
            wk->mismatches += memcmp(o, &ref, sizeof ref) != 0;
        }
    }
    free(o);
    recur_context_destroy(ctx);
    return NULL;
}

static void make_reference(void)
{
    recur_context *ctx = team_ctx(1);
    assert_non_null(ctx);
    memset(&ref, 0, sizeof ref);
    assert_int_equal(run_all(ctx, &ref), 0);
    recur_context_destroy(ctx);
}

static void test_pthreads_share_descriptors(void **state)
{
    (void)state;
    build_shared();
    make_reference();
    pthread_t th[WORKERS];
    worker wk[WORKERS];
    memset(wk, 0, sizeof wk);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(wk[i].mismatches, 0);
    snapshot(1);
    free_shared();
}

/* ---- inside the caller's parallel region, one context per OpenMP thread */

static void test_caller_parallel_region_shares(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#else
    build_shared();
    make_reference();
    int bad = 0, ran = 0;
#pragma omp parallel num_threads(WORKERS) reduction(+ : bad, ran)
    {
        recur_context *ctx = team_ctx(4);
        outs *o = malloc(sizeof *o);
        if (!ctx || !o) {
            bad += 1;
        } else {
            memset(o, 0, sizeof *o);
            bad += run_all(ctx, o) != 0;
            bad += memcmp(o, &ref, sizeof ref) != 0;
            /* nested inside an active region: the call ran alone */
            bad += omp_in_parallel() && ctx->last_team != 1;
            ran += 1;
        }
        free(o);
        recur_context_destroy(ctx);
    }
    assert_int_equal(bad, 0);
    assert_true(ran >= 1);
    snapshot(1);
    free_shared();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_use_concurrent), /* first: nothing initialised yet */
        cmocka_unit_test(test_pthreads_share_descriptors),
        cmocka_unit_test(test_caller_parallel_region_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
