/* The ONNX RNN operator entry point: hand-computed cases per attribute, agreement with
 * the descriptor API, layouts, optional outputs, bad arguments. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "recur.h"
#include "test_util.h"

static recur_context *ctx_new(recur_isa isa)
{
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, isa), RECUR_OK);
    return ctx;
}

/* The activation in double, from the operator's definition. */
static double act_ref(recur_onnx_activation a, double x, double al, double be)
{
    switch (a) {
    case RECUR_ONNX_TANH: return tanh(x);
    case RECUR_ONNX_RELU: return x > 0 ? x : 0;
    case RECUR_ONNX_SIGMOID: return 1 / (1 + exp(-x));
    case RECUR_ONNX_AFFINE: return al * x + be;
    case RECUR_ONNX_LEAKY_RELU: return x >= 0 ? x : al * x;
    case RECUR_ONNX_THRESHOLDED_RELU: return x >= al ? x : 0;
    case RECUR_ONNX_SCALED_TANH: return al * tanh(be * x);
    case RECUR_ONNX_HARD_SIGMOID: return fmin(fmax(al * x + be, 0), 1);
    case RECUR_ONNX_ELU: return x >= 0 ? x : al * (exp(x) - 1);
    case RECUR_ONNX_SOFTSIGN: return x / (1 + fabs(x));
    case RECUR_ONNX_SOFTPLUS: return log1p(exp(x));
    }
    return NAN;
}

static const char *act_names[] = {"Tanh", "Relu", "Sigmoid", "Affine", "LeakyRelu",
                                  "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu",
                                  "Softsign", "Softplus"};

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < 11; i++) {
        recur_onnx_activation a;
        float al = -1, be = -1;
        assert_int_equal(recur_onnx_activation_from_name(act_names[i], &a, &al, &be), RECUR_OK);
        assert_int_equal((int)a, i);
        assert_true(al >= 0 && be >= 0);
    }
    recur_onnx_activation a;
    float al, be;
    recur_onnx_activation_from_name("LeakyRelu", &a, &al, NULL);
    assert_true(al == 0.01f);
    recur_onnx_activation_from_name("HardSigmoid", &a, &al, &be);
    assert_true(al == 0.2f && be == 0.5f);
    assert_int_equal(recur_onnx_activation_from_name("Gelu", &a, NULL, NULL), RECUR_ERR_UNSUPPORTED);
    assert_int_equal(recur_onnx_activation_from_name("tanh", &a, NULL, NULL), RECUR_ERR_UNSUPPORTED);
    assert_int_equal(recur_onnx_activation_from_name(NULL, &a, NULL, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_onnx_activation_from_name("Tanh", NULL, NULL, NULL),
                     RECUR_ERR_NULL_POINTER);
    assert_string_not_equal(recur_status_string(RECUR_ERR_UNSUPPORTED), "unknown status code");
}

/*
 * One unit, one input, two steps, every activation (with alpha, beta away from the
 * defaults where they matter), with and without clip, forward and reverse:
 *   h_a = f(clip(w x_a + wb + rb)),  h_b = f(clip(w x_b + r h_a + wb + rb)).
 * A handful of float operations: the bound is a few ulps of the largest term, plus the
 * documented SIMD activation error (3 ulp).
 */
static void test_hand_activations(void **state)
{
    (void)state;
    const float x[2] = {0.75f, -1.5f}, w = 0.8f, r = -0.6f, B[2] = {0.1f, -0.3f};
    const float alphas[11] = {0, 0, 0, 0.7f, 0.05f, 0.2f, 1.3f, 0.25f, 0.9f, 0, 0};
    const float betas[11] = {0, 0, 0, -0.2f, 0, 0, 0.6f, 0.45f, 0, 0, 0};
    recur_isa isas[2] = {RECUR_ISA_SCALAR, recur_isa_best()};
    for (int k = 0; k < 2; k++) {
        recur_context *ctx = ctx_new(isas[k]);
        for (int a = 0; a < 11; a++)
            for (int clipped = 0; clipped < 2; clipped++)
                for (int rev = 0; rev < 2; rev++) {
                    recur_onnx_rnn_attrs at = recur_onnx_rnn_attrs_default(1);
                    at.direction = rev ? RECUR_DIR_REVERSE : RECUR_DIR_FORWARD;
                    at.activations[0] = (recur_onnx_activation)a;
                    at.alpha[0] = alphas[a];
                    at.beta[0] = betas[a];
                    at.clip = clipped ? 0.5f : 0.0f;
                    float Y[2], Yh[1];
                    assert_int_equal(recur_onnx_rnn(ctx, &at, 2, 1, 1, x, &w, &r, B, NULL,
                                                    NULL, Y, Yh),
                                     RECUR_OK);
                    double h = 0, want[2];
                    for (int s = 0; s < 2; s++) {
                        int t = rev ? 1 - s : s;
                        double z = (double)w * x[t] + (double)r * h + B[0] + B[1];
                        if (clipped)
                            z = fmin(fmax(z, -0.5), 0.5);
                        h = act_ref((recur_onnx_activation)a, z, alphas[a], betas[a]);
                        want[t] = h;
                    }
                    for (int t = 0; t < 2; t++)
                        assert_true(fabs(Y[t] - want[t]) <= 16 * FLT_EPSILON * (1 + fabs(want[t])));
                    assert_true(Yh[0] == Y[rev ? 0 : 1]);
                }
        recur_context_destroy(ctx);
    }
}

/* Lengths, reverse, bidirectional, initial_h and both layouts on a hand case:
 * identity-like Affine (alpha 1, beta 0), W = 1, R = 1 and no bias make h_t a running
 * sum of the inputs, exact in float. */
static void test_hand_lengths_bidirectional(void **state)
{
    (void)state;
    enum { T = 3, N = 2 };
    /* X layout 0 [T][N][1]: sequence 0 = 1, 2, 4; sequence 1 = 8, 16 (length 2) */
    const float X0[T * N] = {1, 8, 2, 16, 4, 32};
    const float X1[N * T] = {1, 2, 4, 8, 16, 32};
    const float W[2] = {1, 1}, R[2] = {1, 1}, h0[2 * N] = {100, 200, 300, 400};
    const int32_t lens[N] = {3, 2};
    recur_onnx_rnn_attrs at = recur_onnx_rnn_attrs_default(1);
    at.direction = RECUR_DIR_BIDIRECTIONAL;
    at.activations[0] = at.activations[1] = RECUR_ONNX_AFFINE;
    at.alpha[0] = at.alpha[1] = 1.0f;
    recur_context *ctx = ctx_new(recur_isa_best());
    float Y[T * 2 * N], Yh[2 * N];
    fill_sentinel(Y, T * 2 * N);
    assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, 1, X0, W, R, NULL, lens, h0, Y, Yh), RECUR_OK);
    /* forward: h0 = 100 / 200; reverse: h0 = 300 / 400, starting at t = len-1 */
    const float want[T * 2 * N] = {
        /* t0: fwd n0, n1 | rev n0, n1 */ 101, 208, 307, 424,
        /* t1 */ 103, 224, 306, 416,
        /* t2 (n1 padded) */ 107, 0, 304, 0};
    const float want_h[2 * N] = {107, 224, 307, 424};
    assert_memory_equal(Y, want, sizeof want);
    assert_memory_equal(Yh, want_h, sizeof want_h);

    /* layout 1: X [N][T][1], Y [N][T][D][1], initial_h / Y_h [N][D][1] */
    at.layout = 1;
    const float h0b[N * 2] = {100, 300, 200, 400};
    float Yb[N * T * 2], Yhb[N * 2];
    assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, 1, X1, W, R, NULL, lens, h0b, Yb, Yhb),
                     RECUR_OK);
    for (int t = 0; t < T; t++)
        for (int d = 0; d < 2; d++)
            for (int n = 0; n < N; n++)
                assert_true(Yb[(n * T + t) * 2 + d] == want[(t * 2 + d) * N + n]);
    for (int d = 0; d < 2; d++)
        for (int n = 0; n < N; n++)
            assert_true(Yhb[n * 2 + d] == want_h[d * N + n]);
    recur_context_destroy(ctx);
}

/* Random cases: the operator equals the descriptor API on the same weights, bitwise
 * (same drivers, same kernels), for native activations; and each direction of a
 * bidirectional call with different activations equals a one-direction call. */
static void test_agrees_with_model_api(void **state)
{
    (void)state;
    test_rng rng;
    rng_seed(&rng, 7);
    recur_isa isas[2] = {RECUR_ISA_SCALAR, recur_isa_best()};
    for (int k = 0; k < 2; k++) {
        recur_context *ctx = ctx_new(isas[k]);
        for (int rep = 0; rep < 24; rep++) {
            size_t T = 1 + rep % 7, N = 1 + (rep * 5) % 6, I = 1 + rep % 5, H = 1 + (rep * 7) % 19;
            int dir = rep % 3, layout = (rep / 3) % 2, lengths = rep % 4 != 0;
            size_t D = dir == 2 ? 2 : 1;
            float *X = fvec(T * N * I), *W = fvec(D * H * I), *R = fvec(D * H * H), *B = fvec(D * 2 * H);
            float *h0 = fvec(D * N * H), *Y = fvec(T * D * N * H), *Yh = fvec(D * N * H);
            float *Ym = fvec(T * D * N * H), *Yhm = fvec(D * N * H);
            rng_fill(&rng, X, T * N * I, -1, 1);
            rng_fill(&rng, W, D * H * I, -0.5f, 0.5f);
            rng_fill(&rng, R, D * H * H, -0.5f, 0.5f);
            rng_fill(&rng, B, D * 2 * H, -0.2f, 0.2f);
            rng_fill(&rng, h0, D * N * H, -1, 1);
            int32_t *lens = malloc(N * sizeof *lens);
            for (size_t n = 0; n < N; n++)
                lens[n] = 1 + (int32_t)(rng_uniform(&rng, 0, 0.999f) * (float)T);
            recur_onnx_activation act = (recur_onnx_activation)(rep % 3);
            recur_onnx_rnn_attrs at = recur_onnx_rnn_attrs_default(H);
            at.direction = (recur_direction)dir;
            at.layout = layout;
            at.activations[0] = at.activations[1] = act;
            at.clip = rep % 5 == 0 ? 0.4f : 0.0f;
            assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, I, X, W, R, B, lengths ? lens : NULL,
                                            h0, Y, Yh),
                             RECUR_OK);
            recur_model_config c = recur_model_config_default(I, H);
            c.direction = (recur_direction)dir;
            c.hidden_act = act == RECUR_ONNX_RELU ? RECUR_ACT_RELU
                           : act == RECUR_ONNX_SIGMOID ? RECUR_ACT_SIGMOID : RECUR_ACT_TANH;
            c.seq_layout = c.state_layout = layout ? RECUR_LAYOUT_BATCH_FIRST : RECUR_LAYOUT_TIME_MAJOR;
            c.y_dir_major = layout == 0;
            c.two_biases = 1;
            c.clip = at.clip;
            recur_model *m;
            assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
            recur_layer_weights lw[2];
            for (size_t d = 0; d < D; d++)
                lw[d] = (recur_layer_weights){W + d * H * I, R + d * H * H, B + d * 2 * H,
                                              B + d * 2 * H + H};
            recur_model_weights mw = {lw, NULL, NULL};
            assert_int_equal(recur_model_forward(ctx, m, T, N, lengths ? lens : NULL, &mw, X, h0,
                                                 Ym, Yhm),
                             RECUR_OK);
            assert_memory_equal(Y, Ym, T * D * N * H * sizeof(float));
            assert_memory_equal(Yh, Yhm, D * N * H * sizeof(float));
            recur_model_destroy(m);

            if (D == 2 && layout == 0) { /* different activations per direction */
                at.activations[0] = RECUR_ONNX_SOFTSIGN;
                at.activations[1] = RECUR_ONNX_LEAKY_RELU;
                at.alpha[1] = 0.1f;
                assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, I, X, W, R, B,
                                                lengths ? lens : NULL, h0, Y, Yh),
                                 RECUR_OK);
                for (size_t d = 0; d < 2; d++) {
                    recur_onnx_rnn_attrs one = at;
                    one.direction = d ? RECUR_DIR_REVERSE : RECUR_DIR_FORWARD;
                    one.activations[0] = at.activations[d];
                    one.alpha[0] = at.alpha[d];
                    one.beta[0] = at.beta[d];
                    assert_int_equal(recur_onnx_rnn(ctx, &one, T, N, I, X, W + d * H * I,
                                                    R + d * H * H, B + d * 2 * H,
                                                    lengths ? lens : NULL, h0 + d * N * H, Ym, Yhm),
                                     RECUR_OK);
                    for (size_t t = 0; t < T; t++)
                        assert_memory_equal(Y + (t * 2 + d) * N * H, Ym + t * N * H,
                                            N * H * sizeof(float));
                    assert_memory_equal(Yh + d * N * H, Yhm, N * H * sizeof(float));
                }
            }
            free(X); free(W); free(R); free(B); free(h0); free(Y); free(Yh); free(Ym); free(Yhm);
            free(lens);
        }
        recur_context_destroy(ctx);
    }
}

/* Optional outputs and inputs: Y_h alone equals Y_h of a full call; B NULL is zero bias. */
static void test_optional(void **state)
{
    (void)state;
    enum { T = 4, N = 3, I = 5, H = 6 };
    test_rng rng;
    rng_seed(&rng, 11);
    float X[T * N * I], W[H * I], R[H * H], B[2 * H] = {0}, Y[T * N * H], Yh[N * H], Yh2[N * H];
    rng_fill(&rng, X, T * N * I, -1, 1);
    rng_fill(&rng, W, H * I, -0.5f, 0.5f);
    rng_fill(&rng, R, H * H, -0.5f, 0.5f);
    recur_context *ctx = ctx_new(recur_isa_best());
    recur_onnx_rnn_attrs at = recur_onnx_rnn_attrs_default(H);
    assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, I, X, W, R, B, NULL, NULL, Y, Yh), RECUR_OK);
    assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, NULL, Yh2),
                     RECUR_OK);
    assert_memory_equal(Yh, Yh2, sizeof Yh);
    assert_memory_equal(Yh, Y + (T - 1) * N * H, sizeof Yh);
    assert_int_equal(recur_onnx_rnn(ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, NULL, NULL),
                     RECUR_OK);
    recur_context_destroy(ctx);
}

/* Bad arguments: a status, nothing written. */
static void test_errors(void **state)
{
    (void)state;
    enum { T = 3, N = 2, I = 2, H = 3 };
    float X[T * N * I] = {0}, W[2 * H * I] = {0}, R[2 * H * H] = {0}, Y[T * 2 * N * H], Yh[2 * N * H];
    fill_sentinel(Y, T * 2 * N * H);
    fill_sentinel(Yh, 2 * N * H);
    recur_context *ctx = ctx_new(RECUR_ISA_SCALAR);
    recur_onnx_rnn_attrs ok = recur_onnx_rnn_attrs_default(H), at;
#define EXPECT(st, ...)                                                                        \
    do {                                                                                       \
        assert_int_equal(recur_onnx_rnn(__VA_ARGS__), st);                                     \
        assert_true(all_sentinel(Y, T * 2 * N * H) && all_sentinel(Yh, 2 * N * H));           \
    } while (0)
    EXPECT(RECUR_ERR_NULL_POINTER, NULL, &ok, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_NULL_POINTER, ctx, NULL, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_NULL_POINTER, ctx, &ok, T, N, I, NULL, W, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_NULL_POINTER, ctx, &ok, T, N, I, X, NULL, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_NULL_POINTER, ctx, &ok, T, N, I, X, W, NULL, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_INVALID_SIZE, ctx, &ok, 0, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_INVALID_SIZE, ctx, &ok, T, 0, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    EXPECT(RECUR_ERR_INVALID_SIZE, ctx, &ok, T, N, 0, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.hidden_size = 0;
    EXPECT(RECUR_ERR_INVALID_SIZE, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.direction = (recur_direction)3;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.layout = 2;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.clip = -1.0f;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at.clip = NAN;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at.clip = INFINITY;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.activations[0] = (recur_onnx_activation)11;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.alpha[0] = NAN;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    at = ok;
    at.direction = RECUR_DIR_BIDIRECTIONAL;
    at.activations[1] = (recur_onnx_activation)-1;
    EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &at, T, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
    int32_t bad[3][N] = {{0, 1}, {1, T + 1}, {-1, 2}};
    for (int k = 0; k < 3; k++)
        EXPECT(RECUR_ERR_INVALID_ARGUMENT, ctx, &ok, T, N, I, X, W, R, NULL, bad[k], NULL, Y, Yh);
    EXPECT(RECUR_ERR_SIZE_OVERFLOW, ctx, &ok, SIZE_MAX / 4, N, I, X, W, R, NULL, NULL, NULL, Y, Yh);
#undef EXPECT
    recur_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_hand_activations),
        cmocka_unit_test(test_hand_lengths_bidirectional),
        cmocka_unit_test(test_agrees_with_model_api),
        cmocka_unit_test(test_optional),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
