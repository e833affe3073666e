/*
 * Allocation failure is a status: the n-th allocation the library makes after a point
 * fails (the test binary links the library's objects with --wrap for malloc, calloc
 * and aligned_alloc), for every n that a call reaches. Each failing call must return
 * RECUR_ERR_OUT_OF_MEMORY and write nothing; the next call on the same context must
 * succeed with the reference result. Under ASan (sanitize lane) nothing may leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h" /* min_step_fmas: force the team on these small shapes */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_aligned_alloc(size_t a, size_t n);

static atomic_long allocs;   /* counted since arm() */
static atomic_long fail_at;  /* 0: never */
static atomic_int injected;

static int should_fail(void)
{
    long k = atomic_fetch_add(&allocs, 1) + 1;
    if (k == atomic_load(&fail_at)) {
        atomic_store(&injected, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { return should_fail() ? NULL : __real_calloc(n, s); }
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    return should_fail() ? NULL : __real_aligned_alloc(a, n);
}

static void arm(long n)
{
    atomic_store(&fail_at, 0);
    atomic_store(&allocs, 0);
    atomic_store(&injected, 0);
    atomic_store(&fail_at, n);
}

static void disarm(void)
{
    atomic_store(&fail_at, 0);
}

#define SENT 4242.5f
static void sentinel(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = SENT;
}
static int untouched(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != SENT)
            return 0;
    return 1;
}

enum { T = 5, N = 3, I = 4, H = 40, O = 6, L = 2, D = 2 };

typedef struct fixture {
    recur_rnn *rnn;
    recur_model *model;
    float W[H * I], U[H * H], b[H], V[O * H], c[O];
    float Wm[L * D][H * 2 * H], Um[L * D][H * H], bm[L * D][H], Vm[O * 2 * H];
    recur_layer_weights lw[L * D];
    float x[T * N * I], dy[T * N * 2 * H];
    int32_t lens[N];
    void *ws, *wsm;
    size_t wsb, wsmb;
} fixture;

static void fill(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (float)((int)((i * 2654435761u) % 200) - 100) / 100.0f;
}

static fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    recur_rnn_config rc = {I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    assert_int_equal(recur_rnn_create(&f->rnn, &rc), RECUR_OK);
    recur_model_config mc = recur_model_config_default(I, H);
    mc.num_layers = L;
    mc.direction = RECUR_DIR_BIDIRECTIONAL;
    mc.seq_layout = RECUR_LAYOUT_BATCH_FIRST;
    assert_int_equal(recur_model_create(&f->model, &mc), RECUR_OK);
    fill(f->W, H * I, 0.3f);
    fill(f->U, H * H, 0.1f);
    fill(f->b, H, 0.1f);
    fill(f->V, O * H, 0.3f);
    fill(f->c, O, 0.1f);
    for (int k = 0; k < L * D; k++) {
        fill(f->Wm[k], H * 2 * H, 0.1f);
        fill(f->Um[k], H * H, 0.1f);
        fill(f->bm[k], H, 0.1f);
        f->lw[k] = (recur_layer_weights){f->Wm[k], f->Um[k], f->bm[k], NULL};
    }
    fill(f->x, T * N * I, 1.0f);
    fill(f->dy, T * N * 2 * H, 0.5f);
    f->lens[0] = 2;
    f->lens[1] = T;
    f->lens[2] = 1;
    assert_int_equal(recur_workspace_size(f->rnn, T, N, &f->wsb), RECUR_OK);
    assert_int_equal(recur_model_workspace_size(f->model, T, N, &f->wsmb), RECUR_OK);
    f->ws = calloc(1, f->wsb);
    f->wsm = calloc(1, f->wsmb);
    return f;
}

static void fixture_free(fixture *f)
{
    recur_rnn_destroy(f->rnn);
    recur_model_destroy(f->model);
    free(f->ws);
    free(f->wsm);
    free(f);
}

/* One operation: fills out[0..count) on success. */
typedef recur_status (*op_fn)(recur_context *ctx, fixture *f, float *out, size_t *count);

static recur_status op_forward(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_weights w = {f->W, f->U, f->b, f->V, f->c};
    *count = T * N * O + N * H;
    return recur_forward(ctx, f->rnn, T, N, &w, f->x, NULL, out, out + T * N * O);
}

static recur_status op_forward_train(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_weights w = {f->W, f->U, f->b, f->V, f->c};
    *count = T * N * O;
    return recur_forward_train(ctx, f->rnn, T, N, &w, f->x, NULL, out, NULL, f->ws, f->wsb);
}

static recur_status op_backward(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_weights w = {f->W, f->U, f->b, f->V, f->c};
    float *p = out;
    recur_tensors g = {p, p + H * I, p + H * I + H * H, p + H * I + H * H + H,
                       p + H * I + H * H + H + O * H};
    size_t gn = H * I + H * H + H + O * H + O;
    *count = gn + T * N * I + N * H;
    recur_backward_options o = recur_backward_options_default();
    o.dy_kind = RECUR_DY_LOGITS;
    return recur_backward(ctx, f->rnn, T, N, &w, f->x, f->ws, f->wsb, f->dy, NULL, &o, &g,
                          out + gn, out + gn + T * N * I);
}

static recur_status op_model_forward(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_model_weights w = {f->lw, NULL, NULL};
    *count = T * N * 2 * H + L * D * N * H;
    return recur_model_forward(ctx, f->model, T, N, f->lens, &w, f->x, NULL, out,
                               out + T * N * 2 * H);
}

static recur_status op_model_forward_train(recur_context *ctx, fixture *f, float *out,
                                           size_t *count)
{
    recur_model_weights w = {f->lw, NULL, NULL};
    *count = T * N * 2 * H;
    return recur_model_forward_train(ctx, f->model, T, N, f->lens, &w, f->x, NULL, out, NULL,
                                     f->wsm, f->wsmb);
}

static recur_status op_model_backward(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_model_weights w = {f->lw, NULL, NULL};
    recur_layer_tensors lt[L * D];
    float *p = out;
    for (int k = 0; k < L * D; k++) {
        size_t in = k < D ? I : 2 * H;
        lt[k] = (recur_layer_tensors){p, p + H * in, p + H * in + H * H, NULL};
        p += H * in + H * H + H;
    }
    recur_model_tensors g = {lt, NULL, NULL};
    size_t gn = (size_t)(p - out);
    *count = gn + T * N * I + L * D * N * H;
    return recur_model_backward(ctx, f->model, T, N, &w, f->x, f->wsm, f->wsmb, f->dy, NULL, NULL,
                                &g, p, p + T * N * I);
}

static recur_status op_onnx(recur_context *ctx, fixture *f, float *out, size_t *count)
{
    recur_onnx_rnn_attrs a = recur_onnx_rnn_attrs_default(H);
    a.direction = RECUR_DIR_BIDIRECTIONAL;
    a.activations[1] = RECUR_ONNX_SOFTSIGN;
    *count = T * D * N * H + D * N * H;
    /* B NULL: the entry point allocates the zero biases */
    return recur_onnx_rnn(ctx, &a, T, N, I, f->x, f->Wm[0], f->Um[0], NULL, f->lens, NULL, out,
                          out + T * D * N * H);
}

enum { OUT_FLOATS = 1 << 16 };

/* Every n from 1 until a call runs without reaching its n-th allocation. */
static void run_op(op_fn op, op_fn before, int threads)
{
    fixture *f = fixture_new();
    float *ref = calloc(OUT_FLOATS, sizeof(float)), *out = calloc(OUT_FLOATS, sizeof(float));
    size_t count = 0;
    recur_context *rc;
    assert_int_equal(recur_context_create(&rc), RECUR_OK);
    assert_int_equal(recur_context_set_num_threads(rc, (size_t)threads), RECUR_OK);
    if (before)
        assert_int_equal(before(rc, f, out, &count), RECUR_OK);
    assert_int_equal(op(rc, f, ref, &count), RECUR_OK);
    assert_true(count <= OUT_FLOATS);
    recur_context_destroy(rc); /* the workspace `before` filled stays valid for any context */
    int reached_end = 0, failures = 0;
    for (long n = 1; n <= 200 && !reached_end; n++) {
        recur_context *ctx;
        assert_int_equal(recur_context_create(&ctx), RECUR_OK);
        assert_int_equal(recur_context_set_num_threads(ctx, (size_t)threads), RECUR_OK);
        ctx->min_step_fmas = 0;
        sentinel(out, OUT_FLOATS);
        arm(n);
        recur_status st = op(ctx, f, out, &count);
        disarm();
        if (!atomic_load(&injected)) {
            assert_int_equal(st, RECUR_OK);
            reached_end = 1;
        } else {
            failures++;
            assert_int_equal(st, RECUR_ERR_OUT_OF_MEMORY);
            assert_true(untouched(out, OUT_FLOATS));
            assert_int_equal(op(ctx, f, out, &count), RECUR_OK); /* the next call works */
        }
        assert_memory_equal(out, ref, count * sizeof(float));
        recur_context_destroy(ctx);
    }
    assert_true(reached_end);
    assert_true(failures >= 2); /* scratch and at least one thread buffer */
    print_message("# %d allocations reached, each failure a status\n", failures);
    free(ref);
    free(out);
    fixture_free(f);
}

static void test_forward(void **s) { (void)s; run_op(op_forward, NULL, 1); run_op(op_forward, NULL, 2); }
static void test_forward_train(void **s) { (void)s; run_op(op_forward_train, NULL, 2); }
static void test_backward(void **s) { (void)s; run_op(op_backward, op_forward_train, 2); }
static void test_model_forward(void **s) { (void)s; run_op(op_model_forward, NULL, 1); run_op(op_model_forward, NULL, 2); }
static void test_model_forward_train(void **s) { (void)s; run_op(op_model_forward_train, NULL, 2); }
static void test_model_backward(void **s) { (void)s; run_op(op_model_backward, op_model_forward_train, 2); }
static void test_onnx(void **s) { (void)s; run_op(op_onnx, NULL, 2); }

/* Object creation: a status, no object, nothing leaked. */
static void test_create(void **state)
{
    (void)state;
    recur_context *ctx = NULL;
    recur_rnn *rnn = NULL;
    recur_model *m = NULL;
    recur_rnn_config rc = {I, H, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    recur_model_config mc = recur_model_config_default(I, H);
    arm(1);
    assert_int_equal(recur_context_create(&ctx), RECUR_ERR_OUT_OF_MEMORY);
    arm(1);
    assert_int_equal(recur_rnn_create(&rnn, &rc), RECUR_ERR_OUT_OF_MEMORY);
    arm(1);
    assert_int_equal(recur_model_create(&m, &mc), RECUR_ERR_OUT_OF_MEMORY);
    disarm();
    assert_null(ctx);
    assert_null(rnn);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_forward_train),
        cmocka_unit_test(test_backward),
        cmocka_unit_test(test_model_forward),
        cmocka_unit_test(test_model_forward_train),
        cmocka_unit_test(test_model_backward),
        cmocka_unit_test(test_onnx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
