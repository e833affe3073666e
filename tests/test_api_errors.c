#define _POSIX_C_SOURCE 200809L
/*
 * Every entry point, each kind of bad argument: the documented status comes back
 * and every output still holds its sentinel (nothing was written).
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_util.h"

enum { T = 3, N = 2, I = 4, H = 5, O = 3 };

typedef struct fixture {
    test_model m;
    recur_context *ctx;
    recur_weights w;
    float x[T * N * I], h0[N * H], y[T * N * O], hl[N * H];
    float dy[T * N * O], dx[T * N * I], dh0[N * H];
    recur_tensors g;
    void *ws;
    size_t wsb;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    test_rng r;
    rng_seed(&r, 7);
    model_init(&f->m, I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, &r, 0.3f);
    assert_int_equal(recur_context_create(&f->ctx), RECUR_OK);
    f->w = recur_weights_from(&f->m.p);
    rng_fill(&r, f->x, T * N * I, -1, 1);
    rng_fill(&r, f->h0, N * H, -1, 1);
    rng_fill(&r, f->dy, T * N * O, -1, 1);
    f->g = tensors_alloc(&f->m.cfg);
    assert_int_equal(recur_workspace_size(f->m.rnn, T, N, &f->wsb), RECUR_OK);
    f->ws = malloc(f->wsb);
    assert_int_equal(recur_forward_train(f->ctx, f->m.rnn, T, N, &f->w, f->x, f->h0, f->y, NULL,
                                         f->ws, f->wsb),
                     RECUR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tensors_free(&f->g);
    free(f->ws);
    recur_context_destroy(f->ctx);
    model_free(&f->m);
    free(f);
    return 0;
}

static void status_strings(void **state)
{
    (void)state;
    for (int s = 0; s <= 10; s++) {
        const char *str = recur_status_string((recur_status)s);
        assert_non_null(str);
        assert_true(strlen(str) > 0);
        assert_string_not_equal(str, "unknown status code");
    }
    assert_string_equal(recur_status_string((recur_status)999), "unknown status code");
    assert_string_equal(recur_isa_name((recur_isa)77), "unknown");
    assert_string_equal(recur_version_string(), "0.1.0");
    assert_int_equal(recur_version(), 100);
}

static void context_errors(void **state)
{
    (void)state;
    assert_int_equal(recur_context_create(NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_context_set_isa(NULL, RECUR_ISA_SCALAR), RECUR_ERR_NULL_POINTER);
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    recur_isa before = recur_context_isa(ctx);
    assert_int_equal(recur_context_set_isa(ctx, (recur_isa)42), RECUR_ERR_INVALID_ARGUMENT);
    assert_int_equal(recur_context_set_isa(ctx, (recur_isa)-1), RECUR_ERR_INVALID_ARGUMENT);
    /* An ISA of the other architecture is never supported. */
#if defined(__x86_64__) || defined(__i386__)
    recur_isa foreign = RECUR_ISA_NEON;
#else
    recur_isa foreign = RECUR_ISA_AVX2;
#endif
    assert_int_equal(recur_context_set_isa(ctx, foreign), RECUR_ERR_UNSUPPORTED_ISA);
    assert_int_equal(recur_context_isa(ctx), before);
    recur_context_destroy(ctx);
    recur_context_destroy(NULL);

    /* RECUR_ISA: an unknown name and a foreign ISA fail creation, ctx untouched. */
    recur_context *keep = (recur_context *)(uintptr_t)0x1234;
    setenv("RECUR_ISA", "sse9", 1);
    assert_int_equal(recur_context_create(&keep), RECUR_ERR_INVALID_ARGUMENT);
    setenv("RECUR_ISA", recur_isa_name(foreign), 1);
    assert_int_equal(recur_context_create(&keep), RECUR_ERR_UNSUPPORTED_ISA);
    assert_ptr_equal(keep, (recur_context *)(uintptr_t)0x1234);
    setenv("RECUR_ISA", "scalar", 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_isa(ctx), RECUR_ISA_SCALAR);
    recur_context_destroy(ctx);
    unsetenv("RECUR_ISA");
    assert_true(recur_isa_supported(RECUR_ISA_SCALAR));
    assert_true(recur_isa_supported(recur_isa_best()));
}

static void rnn_errors(void **state)
{
    (void)state;
    recur_rnn *keep = (recur_rnn *)(uintptr_t)0x99;
    recur_rnn_config ok = {2, 3, 1, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    recur_rnn_config c;
    assert_int_equal(recur_rnn_create(NULL, &ok), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_rnn_create(&keep, NULL), RECUR_ERR_NULL_POINTER);
    c = ok; c.input_size = 0;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_INVALID_SIZE);
    c = ok; c.hidden_size = 0;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_INVALID_SIZE);
    c = ok; c.hidden_act = RECUR_ACT_SOFTMAX;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.hidden_act = (recur_activation)17;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_act = RECUR_ACT_RELU;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.hidden_size = SIZE_MAX / 2;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_SIZE_OVERFLOW);
    c = ok; c.output_size = SIZE_MAX / 3; c.hidden_size = 4;
    assert_int_equal(recur_rnn_create(&keep, &c), RECUR_ERR_SIZE_OVERFLOW);
    assert_ptr_equal(keep, (recur_rnn *)(uintptr_t)0x99);
    assert_int_equal(recur_rnn_get_config(NULL, &c), RECUR_ERR_NULL_POINTER);
}

/* Runs recur_forward with the given arguments on sentinel outputs; expects status and no write. */
static void expect_forward(fixture *f, recur_context *ctx, const recur_rnn *rnn, size_t t,
                           size_t n, const recur_weights *w, const float *x, recur_status want)
{
    fill_sentinel(f->y, T * N * O);
    fill_sentinel(f->hl, N * H);
    assert_int_equal(recur_forward(ctx, rnn, t, n, w, x, f->h0, f->y, f->hl), want);
    assert_true(all_sentinel(f->y, T * N * O) && all_sentinel(f->hl, N * H));
    /* The training variant takes the same arguments plus the workspace. */
    unsigned char *ws = malloc(f->wsb);
    memset(ws, 0xAB, f->wsb);
    assert_int_equal(
        recur_forward_train(ctx, rnn, t, n, w, x, f->h0, f->y, f->hl, ws, f->wsb), want);
    assert_true(all_sentinel(f->y, T * N * O) && all_sentinel(f->hl, N * H));
    for (size_t i = 0; i < f->wsb; i++)
        assert_int_equal(ws[i], 0xAB);
    free(ws);
}

static void forward_errors(void **state)
{
    fixture *f = *state;
    recur_rnn *rnn = f->m.rnn;
    recur_weights w;
    expect_forward(f, NULL, rnn, T, N, &f->w, f->x, RECUR_ERR_NULL_POINTER);
    expect_forward(f, f->ctx, NULL, T, N, &f->w, f->x, RECUR_ERR_NULL_POINTER);
    expect_forward(f, f->ctx, rnn, T, N, NULL, f->x, RECUR_ERR_NULL_POINTER);
    expect_forward(f, f->ctx, rnn, T, N, &f->w, NULL, RECUR_ERR_NULL_POINTER);
    w = f->w; w.W = NULL;
    expect_forward(f, f->ctx, rnn, T, N, &w, f->x, RECUR_ERR_NULL_POINTER);
    w = f->w; w.U = NULL;
    expect_forward(f, f->ctx, rnn, T, N, &w, f->x, RECUR_ERR_NULL_POINTER);
    w = f->w; w.b = NULL;
    expect_forward(f, f->ctx, rnn, T, N, &w, f->x, RECUR_ERR_NULL_POINTER);
    w = f->w; w.V = NULL; /* O > 0 needs V and c */
    expect_forward(f, f->ctx, rnn, T, N, &w, f->x, RECUR_ERR_NULL_POINTER);
    w = f->w; w.c = NULL;
    expect_forward(f, f->ctx, rnn, T, N, &w, f->x, RECUR_ERR_NULL_POINTER);
    expect_forward(f, f->ctx, rnn, 0, N, &f->w, f->x, RECUR_ERR_INVALID_SIZE);
    expect_forward(f, f->ctx, rnn, T, 0, &f->w, f->x, RECUR_ERR_INVALID_SIZE);
    expect_forward(f, f->ctx, rnn, SIZE_MAX / 2, 3, &f->w, f->x, RECUR_ERR_SIZE_OVERFLOW);
    expect_forward(f, f->ctx, rnn, SIZE_MAX / 16, 1, &f->w, f->x, RECUR_ERR_SIZE_OVERFLOW);
    fill_sentinel(f->y, T * N * O);
    assert_int_equal(recur_forward(f->ctx, rnn, T, N, &f->w, f->x, NULL, NULL, NULL),
                     RECUR_ERR_NULL_POINTER);

    size_t bytes = 77;
    assert_int_equal(recur_workspace_size(NULL, T, N, &bytes), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_workspace_size(rnn, T, N, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_workspace_size(rnn, 0, N, &bytes), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_workspace_size(rnn, SIZE_MAX / 8, 2, &bytes), RECUR_ERR_SIZE_OVERFLOW);
    assert_int_equal(bytes, 77);

    /* Workspace problems in forward_train. */
    fill_sentinel(f->y, T * N * O);
    char *ws = malloc(f->wsb + 4);
    assert_int_equal(recur_forward_train(f->ctx, rnn, T, N, &f->w, f->x, NULL, f->y, NULL, NULL,
                                         f->wsb),
                     RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_forward_train(f->ctx, rnn, T, N, &f->w, f->x, NULL, f->y, NULL, ws,
                                         f->wsb - 1),
                     RECUR_ERR_WORKSPACE_TOO_SMALL);
    assert_int_equal(recur_forward_train(f->ctx, rnn, T, N, &f->w, f->x, NULL, f->y, NULL, ws + 1,
                                         f->wsb),
                     RECUR_ERR_INVALID_ARGUMENT);
    assert_true(all_sentinel(f->y, T * N * O));
    free(ws);
}

/* Backward with sentinel outputs; expects status and no write to grads, dx, dh0. */
static void expect_backward(fixture *f, size_t t, const void *ws, size_t wsb,
                            const recur_backward_options *o, recur_tensors *g,
                            recur_status want)
{
    recur_tensors *G = &f->g;
    fill_sentinel(G->W, H * I); fill_sentinel(G->U, H * H); fill_sentinel(G->b, H);
    fill_sentinel(G->V, O * H); fill_sentinel(G->c, O);
    fill_sentinel(f->dx, T * N * I); fill_sentinel(f->dh0, N * H);
    assert_int_equal(recur_backward(f->ctx, f->m.rnn, t, N, &f->w, f->x, ws, wsb, f->dy, NULL, o,
                                    g, f->dx, f->dh0),
                     want);
    assert_true(all_sentinel(G->W, H * I) && all_sentinel(G->U, H * H) && all_sentinel(G->b, H));
    assert_true(all_sentinel(G->V, O * H) && all_sentinel(G->c, O));
    assert_true(all_sentinel(f->dx, T * N * I) && all_sentinel(f->dh0, N * H));
}

static void backward_errors(void **state)
{
    fixture *f = *state;
    recur_backward_options o = recur_backward_options_default();
    recur_tensors g;
    expect_backward(f, T, NULL, f->wsb, &o, &f->g, RECUR_ERR_NULL_POINTER);
    expect_backward(f, T, f->ws, f->wsb, &o, NULL, RECUR_ERR_NULL_POINTER);
    g = f->g; g.U = NULL;
    expect_backward(f, T, f->ws, f->wsb, &o, &g, RECUR_ERR_NULL_POINTER);
    g = f->g; g.V = NULL;
    expect_backward(f, T, f->ws, f->wsb, &o, &g, RECUR_ERR_NULL_POINTER);
    expect_backward(f, T, f->ws, f->wsb - 1, &o, &f->g, RECUR_ERR_WORKSPACE_TOO_SMALL);
    expect_backward(f, 0, f->ws, f->wsb, &o, &f->g, RECUR_ERR_INVALID_SIZE);
    /* A workspace filled for T-1 steps is big enough for T-1, but not T's. */
    expect_backward(f, T - 1, f->ws, f->wsb, &o, &f->g, RECUR_ERR_WORKSPACE_MISMATCH);
    unsigned char *junk = malloc(f->wsb);
    memset(junk, 0x5A, f->wsb);
    expect_backward(f, T, junk, f->wsb, &o, &f->g, RECUR_ERR_WORKSPACE_MISMATCH);
    free(junk);
    o.dy_kind = (recur_dy_kind)5;
    expect_backward(f, T, f->ws, f->wsb, &o, &f->g, RECUR_ERR_INVALID_ARGUMENT);
    o = recur_backward_options_default();
    o.accumulate = 2;
    expect_backward(f, T, f->ws, f->wsb, &o, &f->g, RECUR_ERR_INVALID_ARGUMENT);
    /* Same workspace, another descriptor of the same sizes but another f. */
    recur_rnn_config c = f->m.cfg;
    c.hidden_act = RECUR_ACT_RELU;
    recur_rnn *other;
    assert_int_equal(recur_rnn_create(&other, &c), RECUR_OK);
    fill_sentinel(f->dx, T * N * I);
    assert_int_equal(recur_backward(f->ctx, other, T, N, &f->w, f->x, f->ws, f->wsb, f->dy, NULL,
                                    NULL, &f->g, f->dx, NULL),
                     RECUR_ERR_WORKSPACE_MISMATCH);
    assert_true(all_sentinel(f->dx, T * N * I));
    recur_rnn_destroy(other);
    /* And the valid call works (the fixture is sound). */
    assert_int_equal(recur_backward(f->ctx, f->m.rnn, T, N, &f->w, f->x, f->ws, f->wsb, f->dy,
                                    NULL, NULL, &f->g, f->dx, f->dh0),
                     RECUR_OK);
    assert_false(all_sentinel(f->dx, T * N * I));
}

static void loss_errors(void **state)
{
    (void)state;
    float p[6] = {0.5f, 0.5f, 0.2f, 0.8f, 1, 0}, loss = SENTINEL, d[6], t[6] = {0};
    int32_t lab[3] = {0, 1, 1};
    fill_sentinel(d, 6);
    assert_int_equal(recur_loss_softmax_xent(3, 2, NULL, lab, &loss, d), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_loss_softmax_xent(3, 2, p, NULL, &loss, d), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_loss_softmax_xent(0, 2, p, lab, &loss, d), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_loss_softmax_xent(3, 0, p, lab, &loss, d), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_loss_softmax_xent(SIZE_MAX / 2, 3, p, lab, &loss, d),
                     RECUR_ERR_SIZE_OVERFLOW);
    lab[2] = 2; /* == classes */
    assert_int_equal(recur_loss_softmax_xent(3, 2, p, lab, &loss, d), RECUR_ERR_INVALID_ARGUMENT);
    lab[2] = -2;
    assert_int_equal(recur_loss_softmax_xent(3, 2, p, lab, &loss, d), RECUR_ERR_INVALID_ARGUMENT);
    assert_true(loss == SENTINEL && all_sentinel(d, 6));
    lab[2] = -1; /* ignored row: counted rows are 2 */
    assert_int_equal(recur_loss_softmax_xent(3, 2, p, lab, &loss, d), RECUR_OK);
    assert_float_equal(loss, -(log(0.5) + log(0.8)) / 2, 1e-6);
    assert_true(d[4] == 0 && d[5] == 0);

    loss = SENTINEL;
    fill_sentinel(d, 6);
    assert_int_equal(recur_loss_mse(6, NULL, t, &loss, d), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_loss_mse(6, p, NULL, &loss, d), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_loss_mse(0, p, t, &loss, d), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_loss_mse(SIZE_MAX / 2, p, t, &loss, d), RECUR_ERR_SIZE_OVERFLOW);
    assert_true(loss == SENTINEL && all_sentinel(d, 6));
}

static void optim_errors(void **state)
{
    fixture *f = *state;
    recur_tensors *G = &f->g;
    float norm = SENTINEL;
    rng_fill(&(test_rng){3}, G->W, H * I, -1, 1);
    float keep = G->W[0];
    recur_tensors g = *G;
    assert_int_equal(recur_clip_grad_norm(NULL, G, 1, &norm), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_clip_grad_norm(f->m.rnn, NULL, 1, &norm), RECUR_ERR_NULL_POINTER);
    g.c = NULL;
    assert_int_equal(recur_clip_grad_norm(f->m.rnn, &g, 1, &norm), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_clip_grad_norm(f->m.rnn, G, -1, &norm), RECUR_ERR_INVALID_ARGUMENT);
    assert_int_equal(recur_clip_grad_norm(f->m.rnn, G, NAN, &norm), RECUR_ERR_INVALID_ARGUMENT);
    assert_int_equal(recur_clip_grad_norm(f->m.rnn, G, INFINITY, &norm),
                     RECUR_ERR_INVALID_ARGUMENT);
    assert_true(norm == SENTINEL && G->W[0] == keep);

    recur_tensors *P = &f->m.p;
    float pkeep = P->W[0];
    recur_sgd_options ok = {0.1f, 0, 0}, o;
    assert_int_equal(recur_sgd_update(NULL, P, G, &ok, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_sgd_update(f->m.rnn, NULL, G, &ok, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_sgd_update(f->m.rnn, P, NULL, &ok, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, NULL, NULL), RECUR_ERR_NULL_POINTER);
    o = ok; o.learning_rate = 0;
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_INVALID_ARGUMENT);
    o = ok; o.learning_rate = NAN;
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_INVALID_ARGUMENT);
    o = ok; o.momentum = 1;
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_INVALID_ARGUMENT);
    o = ok; o.momentum = -0.1f;
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_INVALID_ARGUMENT);
    o = ok; o.weight_decay = -1;
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_INVALID_ARGUMENT);
    o = ok; o.momentum = 0.9f; /* needs velocity */
    assert_int_equal(recur_sgd_update(f->m.rnn, P, G, &o, NULL), RECUR_ERR_NULL_POINTER);
    assert_true(P->W[0] == pkeep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_strings),
        cmocka_unit_test(context_errors),
        cmocka_unit_test(rnn_errors),
        cmocka_unit_test_setup_teardown(forward_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(backward_errors, setup, teardown),
        cmocka_unit_test(loss_errors),
        cmocka_unit_test_setup_teardown(optim_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("api_errors", tests, NULL, NULL);
}
