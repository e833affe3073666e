/*
 * Training semantics: truncated BPTT, gradient accumulation, streaming state,
 * clipping, and SGD actually learning a toy sequence task.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>
#include "test_util.h"

/* A model with inputs, a loss gradient and room for the results of one backward pass. */
typedef struct run {
    test_model m;
    size_t T, N;
    float *x, *h0, *y, *dy;
    int32_t *labels;
    recur_context *ctx;
    void *ws;
    size_t wsb;
} run;

static void run_init(run *r, size_t T, size_t N, size_t I, size_t H, size_t O, uint64_t seed)
{
    test_rng g;
    rng_seed(&g, seed);
    model_init(&r->m, I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, &g, 0.6f);
    r->T = T;
    r->N = N;
    r->x = fvec(T * N * I);
    r->h0 = fvec(N * H);
    r->y = fvec(T * N * O);
    r->dy = fvec(T * N * O);
    r->labels = calloc(T * N, sizeof(int32_t));
    rng_fill(&g, r->x, T * N * I, -1, 1);
    rng_fill(&g, r->h0, N * H, -1, 1);
    for (size_t i = 0; i < T * N; i++)
        r->labels[i] = (int32_t)(rng_uniform(&g, 0, (float)O - 0.01f));
    assert_int_equal(recur_context_create(&r->ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(r->ctx, RECUR_ISA_SCALAR), RECUR_OK);
    assert_int_equal(recur_workspace_size(r->m.rnn, T, N, &r->wsb), RECUR_OK);
    r->ws = malloc(r->wsb);
    recur_weights w = recur_weights_from(&r->m.p);
    assert_int_equal(recur_forward_train(r->ctx, r->m.rnn, T, N, &w, r->x, r->h0, r->y, NULL,
                                         r->ws, r->wsb),
                     RECUR_OK);
    assert_int_equal(recur_loss_softmax_xent(T * N, O, r->y, r->labels, NULL, r->dy), RECUR_OK);
}

static void run_free(run *r)
{
    free(r->x); free(r->h0); free(r->y); free(r->dy); free(r->labels); free(r->ws);
    recur_context_destroy(r->ctx);
    model_free(&r->m);
}

static void backward(run *r, size_t window, int accumulate, recur_tensors *g, float *dx,
                     float *dh0)
{
    recur_backward_options o = {RECUR_DY_LOGITS, window, accumulate};
    recur_weights w = recur_weights_from(&r->m.p);
    assert_int_equal(recur_backward(r->ctx, r->m.rnn, r->T, r->N, &w, r->x, r->ws, r->wsb, r->dy,
                                    NULL, &o, g, dx, dh0),
                     RECUR_OK);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)a[i] - b[i]); /* see max_abs */
        m = v > m ? v : m;
    }
    return m;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(a[i]); /* not fmax(): aarch64 gcc 12.2 ICEs vectorising it */
        m = v > m ? v : m;
    }
    return m;
}

enum { TT = 8, NN = 3, II = 5, HH = 7, OO = 4 };

static void truncation_full_when_window_covers_sequence(void **state)
{
    (void)state;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 11);
    recur_tensors full = tensors_alloc(&r.m.cfg), k8 = tensors_alloc(&r.m.cfg),
                  k99 = tensors_alloc(&r.m.cfg);
    float *dh_full = fvec(NN * HH), *dh_k = fvec(NN * HH);
    backward(&r, 0, 0, &full, NULL, dh_full);
    backward(&r, TT, 0, &k8, NULL, dh_k);
    backward(&r, 99, 0, &k99, NULL, NULL);
    /* Same operations in the same order: bitwise equal. */
    assert_memory_equal(full.U, k8.U, HH * HH * sizeof(float));
    assert_memory_equal(full.W, k8.W, HH * II * sizeof(float));
    assert_memory_equal(full.U, k99.U, HH * HH * sizeof(float));
    assert_memory_equal(dh_full, dh_k, NN * HH * sizeof(float));
    tensors_free(&full); tensors_free(&k8); tensors_free(&k99);
    free(dh_full); free(dh_k);
    run_free(&r);
}

/*
 * Window k = 3 over T = 8 must equal three independent runs over [0,3), [3,6), [6,8),
 * each starting from the previous window's final state (detached) and accumulating
 * gradients: the definition of truncated BPTT. It must also differ from full BPTT.
 */
static void truncation_equals_detached_windows(void **state)
{
    (void)state;
    const size_t k = 3;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 12);
    recur_tensors trunc = tensors_alloc(&r.m.cfg), full = tensors_alloc(&r.m.cfg),
                  win = tensors_alloc(&r.m.cfg);
    float *dx_t = fvec(TT * NN * II), *dx_w = fvec(TT * NN * II);
    float *dh0_t = fvec(NN * HH), *dh0_w = fvec(NN * HH);
    backward(&r, k, 0, &trunc, dx_t, dh0_t);
    backward(&r, 0, 0, &full, NULL, NULL);

    recur_weights w = recur_weights_from(&r.m.p);
    float *h = fvec(NN * HH), *y = fvec(TT * NN * OO);
    memcpy(h, r.h0, NN * HH * sizeof(float));
    for (size_t t0 = 0; t0 < TT; t0 += k) {
        size_t len = t0 + k <= TT ? k : TT - t0;
        size_t wsb;
        assert_int_equal(recur_workspace_size(r.m.rnn, len, NN, &wsb), RECUR_OK);
        void *ws = malloc(wsb);
        float *h_in = fvec(NN * HH);
        memcpy(h_in, h, NN * HH * sizeof(float));
        assert_int_equal(recur_forward_train(r.ctx, r.m.rnn, len, NN, &w, r.x + t0 * NN * II, h_in,
                                             y + t0 * NN * OO, h, ws, wsb),
                         RECUR_OK);
        recur_backward_options o = {RECUR_DY_LOGITS, 0, t0 > 0};
        assert_int_equal(recur_backward(r.ctx, r.m.rnn, len, NN, &w, r.x + t0 * NN * II, ws, wsb,
                                        r.dy + t0 * NN * OO, NULL, &o, &win,
                                        dx_w + t0 * NN * II, t0 == 0 ? dh0_w : NULL),
                         RECUR_OK);
        free(ws);
        free(h_in);
    }
    /* The streamed forward reproduces the one-call outputs exactly. */
    assert_memory_equal(y, r.y, TT * NN * OO * sizeof(float));
    /*
     * Bound: the windowed sums regroup at most K = T*N*(H+O) float additions per entry,
     * so the difference is below K * FLT_EPSILON times the gradient's largest entry.
     */
    const double K = TT * NN * (HH + OO);
    double gU = max_abs(trunc.U, HH * HH), gW = max_abs(trunc.W, HH * II);
    assert_true(max_diff(trunc.U, win.U, HH * HH) <= K * FLT_EPSILON * gU);
    assert_true(max_diff(trunc.W, win.W, HH * II) <= K * FLT_EPSILON * gW);
    assert_true(max_diff(trunc.b, win.b, HH) <= K * FLT_EPSILON * max_abs(trunc.b, HH));
    assert_true(max_diff(trunc.V, win.V, OO * HH) <= K * FLT_EPSILON * max_abs(trunc.V, OO * HH));
    assert_true(max_diff(dx_t, dx_w, TT * NN * II) <= K * FLT_EPSILON * max_abs(dx_t, TT * NN * II));
    assert_true(max_diff(dh0_t, dh0_w, NN * HH) <= K * FLT_EPSILON * max_abs(dh0_t, NN * HH));
    /* ... and truncation really changed the recurrent gradient (far above rounding). */
    assert_true(max_diff(trunc.U, full.U, HH * HH) > 1e3 * K * FLT_EPSILON * gU);
    /* The output layer's gradients do not depend on the recurrence. */
    assert_memory_equal(trunc.V, full.V, OO * HH * sizeof(float));
    tensors_free(&trunc); tensors_free(&full); tensors_free(&win);
    free(dx_t); free(dx_w); free(dh0_t); free(dh0_w); free(h); free(y);
    run_free(&r);
}

/* accumulate = 1 adds to what is there: two passes give twice one pass. */
static void gradients_accumulate(void **state)
{
    (void)state;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 13);
    recur_tensors one = tensors_alloc(&r.m.cfg), two = tensors_alloc(&r.m.cfg);
    float *dx1 = fvec(TT * NN * II), *dx2 = fvec(TT * NN * II);
    backward(&r, 0, 0, &one, dx1, NULL);
    rng_fill(&(test_rng){5}, two.U, HH * HH, -9, 9); /* overwritten by accumulate = 0 */
    backward(&r, 0, 0, &two, dx2, NULL);
    assert_memory_equal(one.U, two.U, HH * HH * sizeof(float));
    backward(&r, 0, 1, &two, dx2, NULL);
    /* Bound: the second pass adds rounded partial sums; K = T*N additions per entry. */
    const double K = TT * NN;
    for (size_t i = 0; i < HH * HH; i++)
        assert_true(fabs(two.U[i] - 2.0 * one.U[i]) <= K * FLT_EPSILON * 2 * max_abs(one.U, HH * HH));
    for (size_t i = 0; i < HH; i++)
        assert_true(fabs(two.b[i] - 2.0 * one.b[i]) <= K * FLT_EPSILON * 2 * max_abs(one.b, HH));
    for (size_t i = 0; i < TT * NN * II; i++)
        assert_true(dx2[i] == 2 * dx1[i]); /* dx rows: c + acc with c == acc, exact */
    tensors_free(&one); tensors_free(&two);
    free(dx1); free(dx2);
    run_free(&r);
}

/* Carrying h_last into the next call's h0 is the same as one long call. */
static void streaming_state(void **state)
{
    (void)state;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 14);
    recur_weights w = recur_weights_from(&r.m.p);
    float *y1 = fvec(TT * NN * OO), *hl_all = fvec(NN * HH), *hmid = fvec(NN * HH),
          *hl = fvec(NN * HH);
    assert_int_equal(recur_forward(r.ctx, r.m.rnn, TT, NN, &w, r.x, r.h0, y1, hl_all), RECUR_OK);
    assert_memory_equal(y1, r.y, TT * NN * OO * sizeof(float)); /* inference == training forward */
    float *y2 = fvec(TT * NN * OO);
    assert_int_equal(recur_forward(r.ctx, r.m.rnn, 5, NN, &w, r.x, r.h0, y2, hmid), RECUR_OK);
    assert_int_equal(recur_forward(r.ctx, r.m.rnn, TT - 5, NN, &w, r.x + 5 * NN * II, hmid,
                                   y2 + 5 * NN * OO, hl),
                     RECUR_OK);
    assert_memory_equal(y1, y2, TT * NN * OO * sizeof(float));
    assert_memory_equal(hl, hl_all, NN * HH * sizeof(float));
    free(y1); free(y2); free(hl_all); free(hmid); free(hl);
    run_free(&r);
}

static double norm_of(const recur_tensors *g, const recur_rnn_config *c)
{
    double s = 0;
    const float *p[5] = {g->W, g->U, g->b, g->V, g->c};
    size_t n[5] = {c->hidden_size * c->input_size, c->hidden_size * c->hidden_size,
                   c->hidden_size, c->output_size * c->hidden_size, c->output_size};
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < n[k]; i++)
            s += (double)p[k][i] * p[k][i];
    return sqrt(s);
}

static void clipping(void **state)
{
    (void)state;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 15);
    recur_tensors g = tensors_alloc(&r.m.cfg), keep = tensors_alloc(&r.m.cfg);
    backward(&r, 0, 0, &g, NULL, NULL);
    backward(&r, 0, 0, &keep, NULL, NULL);
    double n0 = norm_of(&g, &r.m.cfg);
    float before = 0;
    /* A bound above the norm changes nothing; 0 only measures. */
    assert_int_equal(recur_clip_grad_norm(r.m.rnn, &g, (float)(2 * n0), &before), RECUR_OK);
    assert_float_equal(before, n0, n0 * FLT_EPSILON * 4);
    assert_memory_equal(g.U, keep.U, HH * HH * sizeof(float));
    assert_int_equal(recur_clip_grad_norm(r.m.rnn, &g, 0, &before), RECUR_OK);
    assert_memory_equal(g.W, keep.W, HH * II * sizeof(float));
    /* Clipping to half: the old norm is reported, the new one is the bound, direction kept. */
    float bound = (float)(n0 / 2);
    assert_int_equal(recur_clip_grad_norm(r.m.rnn, &g, bound, &before), RECUR_OK);
    assert_float_equal(before, n0, n0 * FLT_EPSILON * 4);
    double n1 = norm_of(&g, &r.m.cfg);
    /* Each entry is scaled once (one rounding): the norm is within a few eps of the bound. */
    assert_true(fabs(n1 - bound) <= 4 * FLT_EPSILON * bound);
    for (size_t i = 0; i < HH * HH; i++)
        assert_float_equal(g.U[i], keep.U[i] * (bound / n0), fabs(keep.U[i]) * 2 * FLT_EPSILON);
    tensors_free(&g); tensors_free(&keep);
    run_free(&r);
}

/*
 * Toy task: y_t = x_{t-1} (remember the previous input), MSE. A freshly initialised
 * net cannot do it; 300 clipped SGD steps with momentum must cut the loss by 4x.
 */
static void sgd_learns_delay_task(void **state)
{
    (void)state;
    enum { T = 12, N = 16, H = 12 };
    test_rng g;
    rng_seed(&g, 21);
    test_model m;
    model_init(&m, 1, H, 1, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, &g, 0.3f);
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    float x[T * N], tgt[T * N], y[T * N], dy[T * N];
    size_t wsb;
    assert_int_equal(recur_workspace_size(m.rnn, T, N, &wsb), RECUR_OK);
    void *ws = malloc(wsb);
    recur_tensors grad = tensors_alloc(&m.cfg), vel = tensors_alloc(&m.cfg);
    recur_sgd_options opt = {0.05f, 0.9f, 0.0f};
    float first = 0, last = 0;
    for (int step = 0; step < 300; step++) {
        rng_fill(&g, x, T * N, -1, 1);
        for (size_t i = 0; i < T * N; i++)
            tgt[i] = i < N ? 0.0f : x[i - N];
        recur_weights w = recur_weights_from(&m.p);
        assert_int_equal(recur_forward_train(ctx, m.rnn, T, N, &w, x, NULL, y, NULL, ws, wsb),
                         RECUR_OK);
        float loss;
        assert_int_equal(recur_loss_mse(T * N, y, tgt, &loss, dy), RECUR_OK);
        assert_int_equal(recur_backward(ctx, m.rnn, T, N, &w, x, ws, wsb, dy, NULL, NULL, &grad,
                                        NULL, NULL),
                         RECUR_OK);
        assert_int_equal(recur_clip_grad_norm(m.rnn, &grad, 1.0f, NULL), RECUR_OK);
        assert_int_equal(recur_sgd_update(m.rnn, &m.p, &grad, &opt, &vel), RECUR_OK);
        if (step == 0)
            first = loss;
        last = loss;
    }
    printf("# delay task: loss %.4f -> %.4f\n", first, last);
    assert_true(last < first / 4);
    tensors_free(&grad); tensors_free(&vel);
    free(ws);
    recur_context_destroy(ctx);
    model_free(&m);
}

/* Without a loss on y (dy NULL) only dh_last drives the gradient; same as dy = 0. */
static void gradient_from_final_state_only(void **state)
{
    (void)state;
    run r;
    run_init(&r, TT, NN, II, HH, OO, 16);
    recur_weights w = recur_weights_from(&r.m.p);
    float *dhl = fvec(NN * HH), *zeros = fvec(TT * NN * OO);
    rng_fill(&(test_rng){9}, dhl, NN * HH, -1, 1);
    recur_tensors a = tensors_alloc(&r.m.cfg), b = tensors_alloc(&r.m.cfg);
    assert_int_equal(recur_backward(r.ctx, r.m.rnn, TT, NN, &w, r.x, r.ws, r.wsb, NULL, dhl, NULL,
                                    &a, NULL, NULL),
                     RECUR_OK);
    assert_int_equal(recur_backward(r.ctx, r.m.rnn, TT, NN, &w, r.x, r.ws, r.wsb, zeros, dhl,
                                    NULL, &b, NULL, NULL),
                     RECUR_OK);
    assert_memory_equal(a.U, b.U, HH * HH * sizeof(float));
    assert_true(max_abs(a.U, HH * HH) > 0);
    assert_true(max_abs(a.V, OO * HH) == 0);
    tensors_free(&a); tensors_free(&b);
    free(dhl); free(zeros);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncation_full_when_window_covers_sequence),
        cmocka_unit_test(truncation_equals_detached_windows),
        cmocka_unit_test(gradients_accumulate),
        cmocka_unit_test(streaming_state),
        cmocka_unit_test(clipping),
        cmocka_unit_test(sgd_learns_delay_task),
        cmocka_unit_test(gradient_from_final_state_only),
    };
    return cmocka_run_group_tests_name("training", tests, NULL, NULL);
}
