/*
 * Tiny cases worked out by hand (H = 2, I = 1, T = 2, N = 1). Identity f with
 * dyadic numbers makes every float operation exact, so the asserts are exact.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "recur.h"

static float W[2] = {1, 2};               /* [H][I] */
static float U[4] = {0.5f, 0, 0, 0.25f};  /* [H][H] */
static float b[2] = {0, 1};
static const float x[2] = {1, 2};         /* [T][N][I] */

static recur_rnn *make(recur_activation f, size_t O, recur_activation g)
{
    recur_rnn_config c = {1, 2, O, f, g};
    recur_rnn *r = NULL;
    assert_int_equal(recur_rnn_create(&r, &c), RECUR_OK);
    return r;
}

static recur_context *scalar_ctx(void)
{
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, RECUR_ISA_SCALAR), RECUR_OK);
    return ctx;
}

/*
 * h_0 = W*1 + b = [1, 3];  h_1 = W*2 + U h_0 + b = [2 + 0.5, 4 + 0.75 + 1] = [2.5, 5.75].
 * dy = ones: dA_1 = [1, 1]; dA_0 = [1, 1] + U^T dA_1 = [1.5, 1.25].
 * dW = sum dA_t x_t = [1.5 + 2, 1.25 + 2]; db = [2.5, 2.25]; dU = dA_1 h_0^T = [[1,3],[1,3]];
 * dx_t = W^T dA_t: [1.5 + 2.5, 1 + 2] = [4, 3]; dh0 = U^T dA_0 = [0.75, 0.3125].
 */
static void test_identity_forward_backward(void **state)
{
    (void)state;
    recur_rnn *rnn = make(RECUR_ACT_IDENTITY, 0, RECUR_ACT_IDENTITY);
    recur_context *ctx = scalar_ctx();
    recur_weights w = {W, U, b, NULL, NULL};
    float y[4], hl[2], ws[64];
    size_t wsb;
    assert_int_equal(recur_workspace_size(rnn, 2, 1, &wsb), RECUR_OK);
    assert_true(wsb <= sizeof ws);
    assert_int_equal(recur_forward_train(ctx, rnn, 2, 1, &w, x, NULL, y, hl, ws, wsb), RECUR_OK);
    const float ey[4] = {1, 3, 2.5f, 5.75f};
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == ey[i]);
    assert_true(hl[0] == 2.5f && hl[1] == 5.75f);

    float dy[4] = {1, 1, 1, 1}, dW[2], dU[4], db[2], dx[2], dh0[2];
    recur_tensors g = {dW, dU, db, NULL, NULL};
    assert_int_equal(recur_backward(ctx, rnn, 2, 1, &w, x, ws, wsb, dy, NULL, NULL, &g, dx, dh0),
                     RECUR_OK);
    assert_true(dW[0] == 3.5f && dW[1] == 3.25f);
    assert_true(db[0] == 2.5f && db[1] == 2.25f);
    assert_true(dU[0] == 1 && dU[1] == 3 && dU[2] == 1 && dU[3] == 3);
    assert_true(dx[0] == 4 && dx[1] == 3);
    assert_true(dh0[0] == 0.75f && dh0[1] == 0.3125f);

    /* Window k = 1 cuts the recurrence: dA_0 = dy_0 = [1, 1], so dW = [1 + 2, 1 + 2]. */
    recur_backward_options o = recur_backward_options_default();
    o.bptt_window = 1;
    assert_int_equal(recur_backward(ctx, rnn, 2, 1, &w, x, ws, wsb, dy, NULL, &o, &g, dx, dh0),
                     RECUR_OK);
    assert_true(dW[0] == 3 && dW[1] == 3);
    assert_true(dh0[0] == 0.5f && dh0[1] == 0.25f);
    recur_context_destroy(ctx);
    recur_rnn_destroy(rnn);
}

/* tanh f, identity output layer V = [1, -1], c = 0.5: y_t = tanh(a_t,0) - tanh(a_t,1) + 0.5. */
static void test_tanh_with_output(void **state)
{
    (void)state;
    recur_rnn *rnn = make(RECUR_ACT_TANH, 1, RECUR_ACT_IDENTITY);
    recur_context *ctx = scalar_ctx();
    float V[2] = {1, -1}, c[1] = {0.5f};
    recur_weights w = {W, U, b, V, c};
    float y[2], hl[2];
    assert_int_equal(recur_forward(ctx, rnn, 2, 1, &w, x, NULL, y, hl), RECUR_OK);
    double h00 = tanh(1.0), h01 = tanh(3.0);
    double h10 = tanh(2 + 0.5 * h00), h11 = tanh(4 + 0.25 * h01 + 1);
    assert_float_equal(y[0], h00 - h01 + 0.5, 1e-6);
    assert_float_equal(y[1], h10 - h11 + 0.5, 1e-6);
    assert_float_equal(hl[0], h10, 1e-6);
    assert_float_equal(hl[1], h11, 1e-6);
    recur_context_destroy(ctx);
    recur_rnn_destroy(rnn);
}

/* Softmax cross-entropy on one row: probs [0.25, 0.75], target 1 -> loss -log 0.75,
 * dlogits = probs - onehot = [0.25, -0.25]; MSE: y [1, 3], t [0, 1] -> loss 2.5, dy [1, 2]. */
static void test_losses(void **state)
{
    (void)state;
    const float p[2] = {0.25f, 0.75f};
    const int32_t t[1] = {1};
    float loss, d[2];
    assert_int_equal(recur_loss_softmax_xent(1, 2, p, t, &loss, d), RECUR_OK);
    assert_float_equal(loss, -log(0.75), 1e-7);
    assert_true(d[0] == 0.25f && d[1] == -0.25f);
    const float yv[2] = {1, 3}, tv[2] = {0, 1};
    assert_int_equal(recur_loss_mse(2, yv, tv, &loss, d), RECUR_OK);
    assert_true(loss == 2.5f && d[0] == 1 && d[1] == 2);
}

/* One SGD step with momentum and weight decay, by hand:
 * g' = 0.5 + 0.1*1 = 0.6; v = 0.9*0.2 + 0.6 = 0.78; p = 1 - 0.1*0.78 = 0.922. */
static void test_sgd_step(void **state)
{
    (void)state;
    recur_rnn_config cfg = {1, 1, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    recur_rnn *rnn;
    assert_int_equal(recur_rnn_create(&rnn, &cfg), RECUR_OK);
    float pw = 1, pu = 1, pb = 1, gw = 0.5f, gu = 0.5f, gb = 0.5f, vw = 0.2f, vu = 0.2f, vb = 0.2f;
    recur_tensors p = {&pw, &pu, &pb, NULL, NULL}, g = {&gw, &gu, &gb, NULL, NULL},
                  v = {&vw, &vu, &vb, NULL, NULL};
    recur_sgd_options o = {0.1f, 0.9f, 0.1f};
    assert_int_equal(recur_sgd_update(rnn, &p, &g, &o, &v), RECUR_OK);
    assert_float_equal(vw, 0.78, 1e-6);
    assert_float_equal(pw, 0.922, 1e-6);
    assert_float_equal(pb, 0.922, 1e-6);
    assert_true(gw == 0.5f); /* grads untouched */
    recur_rnn_destroy(rnn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_forward_backward),
        cmocka_unit_test(test_tanh_with_output),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_sgd_step),
    };
    return cmocka_run_group_tests_name("hand", tests, NULL, NULL);
}
