/*
 * Finite-difference gradient checks: recur's analytic gradients (float) against
 * central differences of an independent double-precision forward pass and loss
 * (ref_rnn.c), for every parameter, dx and dh0, every f x g, both losses, odd sizes.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "ref_rnn.h"
#include "test_util.h"

typedef struct gc_case {
    recur_activation f, g;
    int has_output; /* 0: O = 0, y is h */
    int xent;
} gc_case;

typedef struct shape { size_t T, N, I, H, O; } shape;

static const shape shapes[] = {
    {1, 1, 1, 1, 1}, {2, 3, 7, 1, 2}, {3, 1, 2, 7, 3}, {7, 2, 3, 3, 17}, {17, 1, 1, 17, 2},
    {3, 2, 17, 2, 7},
};

static double *to_double(const float *x, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Central difference of the reference loss with respect to every element of p. */
static void fd_gradient(const ref_problem *pr, ref_values *v, double *p, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        double step = 1e-6 * (fabs(keep) > 1 ? fabs(keep) : 1);
        p[i] = keep + step;
        double lp = ref_loss(pr, v);
        p[i] = keep - step;
        double lm = ref_loss(pr, v);
        p[i] = keep;
        out[i] = (lp - lm) / (2 * step);
    }
}

typedef struct checked {
    const char *name;
    const float *analytic;
    double *param; /* the double copy perturbed by FD */
    size_t n;
} checked;

static void run_shape(const gc_case *gc, shape s, uint64_t seed)
{
    size_t T = s.T, N = s.N, I = s.I, H = s.H, O = gc->has_output ? s.O : 0;
    test_rng rng;
    rng_seed(&rng, seed);
    test_model m;
    float scale = 1.0f / sqrtf((float)(I + H + 1));
    model_init(&m, I, H, O, gc->f, gc->g, &rng, scale);
    size_t ylen = T * N * (O ? O : H);
    float *x = fvec(T * N * I), *h0 = fvec(N * H), *y = fvec(ylen), *hl = fvec(N * H);
    float *r_last = fvec(N * H), *target = fvec(ylen), *dy = fvec(ylen);
    float *dx = fvec(T * N * I), *dh0 = fvec(N * H);
    int32_t *labels = calloc(T * N, sizeof(int32_t));
    rng_fill(&rng, x, T * N * I, -1, 1);
    rng_fill(&rng, h0, N * H, -0.5f, 0.5f);
    rng_fill(&rng, r_last, N * H, -0.5f, 0.5f);
    rng_fill(&rng, target, ylen, -1, 1);
    for (size_t i = 0; i < T * N; i++) /* every fifth row ignored */
        labels[i] = i % 5 == 4 ? -1 : (int32_t)(rng_uniform(&rng, 0, (float)O - 0.001f));

    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, RECUR_ISA_SCALAR), RECUR_OK);
    size_t wsb;
    assert_int_equal(recur_workspace_size(m.rnn, T, N, &wsb), RECUR_OK);
    void *ws = malloc(wsb);
    recur_weights w = recur_weights_from(&m.p);
    assert_int_equal(recur_forward_train(ctx, m.rnn, T, N, &w, x, h0, y, hl, ws, wsb), RECUR_OK);
    recur_backward_options opt = recur_backward_options_default();
    if (gc->xent) {
        assert_int_equal(recur_loss_softmax_xent(T * N, O, y, labels, NULL, dy), RECUR_OK);
        opt.dy_kind = RECUR_DY_LOGITS;
    } else {
        assert_int_equal(recur_loss_mse(ylen, y, target, NULL, dy), RECUR_OK);
    }
    recur_tensors g = tensors_alloc(&m.cfg);
    assert_int_equal(recur_backward(ctx, m.rnn, T, N, &w, x, ws, wsb, dy, r_last, &opt, &g, dx,
                                    dh0),
                     RECUR_OK);

    ref_problem pr = {T, N, I, H, O, gc->f, gc->g, gc->xent, NULL, labels, NULL};
    double *tg = to_double(target, ylen), *rl = to_double(r_last, N * H);
    pr.target = tg;
    pr.r_last = rl;
    ref_values v = {to_double(m.p.W, H * I), to_double(m.p.U, H * H), to_double(m.p.b, H),
                    O ? to_double(m.p.V, O * H) : NULL, O ? to_double(m.p.c, O) : NULL,
                    to_double(x, T * N * I), to_double(h0, N * H)};
    checked list[] = {
        {"W", g.W, v.W, H * I}, {"U", g.U, v.U, H * H}, {"b", g.b, v.b, H},
        {"x", dx, v.x, T * N * I}, {"h0", dh0, v.h0, N * H},
        {"V", g.V, v.V, O * H}, {"c", g.c, v.c, O},
    };
    size_t nlist = O ? 7 : 5;
    double *fd[7];
    double gmax = 0;
    for (size_t k = 0; k < nlist; k++) {
        fd[k] = malloc((list[k].n ? list[k].n : 1) * sizeof(double));
        fd_gradient(&pr, &v, list[k].param, list[k].n, fd[k]);
        for (size_t i = 0; i < list[k].n; i++)
            gmax = fmax(gmax, fabs(fd[k][i]));
    }
    /*
     * Bound: every gradient entry is a float sum over at most K = T*N*(I+H+O+2) products
     * (the output layer, the recurrence through T steps and the sum over T*N rows), each
     * rounding adds at most eps relative to the largest gradient's scale, so
     * |analytic - fd| <= K * FLT_EPSILON * (gmax + 1e-3). The FD error (step 1e-6 in
     * double) is below 1e-9 and does not matter at this scale.
     */
    double K = (double)(T * N * (I + H + O + 2));
    double tol = K * FLT_EPSILON * (gmax + 1e-3);
    for (size_t k = 0; k < nlist; k++) {
        for (size_t i = 0; i < list[k].n; i++) {
            double err = fabs((double)list[k].analytic[i] - fd[k][i]);
            if (err > tol)
                fail_msg("d%s[%zu]: analytic %.9g, finite difference %.9g, |err| %.3g > tol %.3g "
                         "(T%zu N%zu I%zu H%zu O%zu)",
                         list[k].name, i, (double)list[k].analytic[i], fd[k][i], err, tol, T, N,
                         I, H, O);
        }
        free(fd[k]);
    }
    free(v.W); free(v.U); free(v.b); free(v.V); free(v.c); free(v.x); free(v.h0);
    free(tg); free(rl);
    tensors_free(&g);
    free(ws);
    recur_context_destroy(ctx);
    free(x); free(h0); free(y); free(hl); free(r_last); free(target); free(dy); free(dx);
    free(dh0); free(labels);
    model_free(&m);
}

static void test_case(void **state)
{
    const gc_case *gc = *state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        run_shape(gc, shapes[i], 1000 + i);
}

#define F_ALL(G, OUT, XENT)                                                                 \
    {RECUR_ACT_TANH, G, OUT, XENT}, {RECUR_ACT_RELU, G, OUT, XENT},                        \
        {RECUR_ACT_SIGMOID, G, OUT, XENT}, { RECUR_ACT_IDENTITY, G, OUT, XENT }

static gc_case cases[] = {
    F_ALL(RECUR_ACT_IDENTITY, 0, 0), /* no output layer, MSE on h */
    F_ALL(RECUR_ACT_IDENTITY, 1, 0), F_ALL(RECUR_ACT_SIGMOID, 1, 0), F_ALL(RECUR_ACT_TANH, 1, 0),
    F_ALL(RECUR_ACT_SOFTMAX, 1, 0),  /* softmax backward through dL/dy */
    F_ALL(RECUR_ACT_SOFTMAX, 1, 1),  /* fused softmax cross-entropy */
};

static char names[sizeof cases / sizeof cases[0]][64];

int main(void)
{
    static const char *act[] = {"tanh", "relu", "sigmoid", "identity", "softmax"};
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(names[i], sizeof names[i], "gradcheck_f_%s_g_%s_%s", act[cases[i].f],
                 cases[i].has_output ? act[cases[i].g] : "none", cases[i].xent ? "xent" : "mse");
        struct CMUnitTest t = {names[i], test_case, NULL, NULL, &cases[i]};
        tests[i] = t;
    }
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
