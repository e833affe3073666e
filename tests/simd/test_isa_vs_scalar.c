/*
 * Every SIMD ISA against the scalar oracle through the public API only: two
 * contexts (scalar, ISA) run forward_train, backward (with dh_last, dx, dh0,
 * sometimes truncated BPTT) and one SGD step on a few hundred random shapes, each
 * dimension drawn from {1,3,15,16,17,31,33,63,65,127,129}, every hidden f and
 * output g (and O = 0), N = 1 included. Each element must be within the bound of
 * tools/recur_compare.h, derived there from gamma(K) = K u / (1 - K u) with K the
 * reduction length (I + H + 2 per forward step, compounding over T through |U|;
 * T*N for the weight gradients; H for dx, dh0; O for dH), relative to the sums of
 * magnitudes |a||b| of each reduction. ISAs this build or CPU lacks are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "recur.h"
#include "recur_compare.h"
#include "simd_test_common.h"

static const size_t dims[] = {1, 3, 15, 16, 17, 31, 33, 63, 65, 127, 129};
#define N_DIMS (sizeof dims / sizeof dims[0])
#define N_SHAPES 240
/* Multiply-adds per shape, so the debug build stays well under a minute. */
#define MAX_WORK 600000.0

static size_t pick(cmp_rng *r)
{
    return dims[cmp_rng_next(r) % N_DIMS];
}

static void test_vs_scalar(void **state)
{
    recur_isa isa = *(const recur_isa *)*state;
    if (!recur_isa_supported(isa))
        skip();
    recur_context *ref = NULL, *ctx = NULL;
    assert_int_equal(recur_context_create(&ref), RECUR_OK);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ref, RECUR_ISA_SCALAR), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, isa), RECUR_OK);
    assert_int_equal(recur_context_isa(ctx), isa);

    static const recur_activation fs[] = {RECUR_ACT_TANH, RECUR_ACT_RELU, RECUR_ACT_SIGMOID,
                                          RECUR_ACT_IDENTITY};
    static const recur_activation gs[] = {RECUR_ACT_IDENTITY, RECUR_ACT_SOFTMAX,
                                          RECUR_ACT_SIGMOID, RECUR_ACT_TANH};
    cmp_rng rng = {0xC0FFEEULL + (uint64_t)isa};
    double worst[3] = {0, 0, 0};
    for (int i = 0; i < N_SHAPES; i++) {
        cmp_shape s;
        s.H = pick(&rng);
        s.I = pick(&rng);
        s.N = i % 4 == 0 ? 1 : pick(&rng);
        s.O = i % 5 == 0 ? 0 : pick(&rng);
        s.f = fs[i % 4];
        s.g = gs[(i / 4) % 4];
        s.window = i % 7 == 3 ? 2 : 0;
        /* T small for big shapes: as many steps as the work budget allows, 1..6. */
        double per_step = (double)s.N * s.H * (s.I + s.H + s.O) + (double)s.H * s.H * s.N;
        s.T = (size_t)(MAX_WORK / per_step);
        s.T = s.T < 1 ? 1 : s.T > 6 ? 6 : s.T;
        cmp_stat st[3];
        int r = cmp_check(ref, ctx, &s, (uint64_t)i, st);
        if (r < 0)
            fail_msg("API error on shape %d", i);
        for (int op = 0; op < 3; op++) {
            worst[op] = worst[op] > st[op].max_ratio ? worst[op] : st[op].max_ratio;
            if (!(st[op].max_ratio <= 1.0))
                fail_msg("%s op %d, T=%zu N=%zu I=%zu H=%zu O=%zu f=%d g=%d win=%zu: %s "
                         "error %.3g x its bound %.3g",
                         recur_isa_name(isa), op, s.T, s.N, s.I, s.H, s.O, (int)s.f, (int)s.g,
                         s.window, st[op].worst, st[op].max_ratio, st[op].bound);
        }
    }
    print_message("# %s: worst error/bound ratio forward %.3g, backward %.3g, sgd %.3g\n",
                  recur_isa_name(isa), worst[0], worst[1], worst[2]);
    recur_context_destroy(ctx);
    recur_context_destroy(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"isa_vs_scalar_avx2", test_vs_scalar, NULL, NULL, (void *)&simd_isas[0]},
        {"isa_vs_scalar_avx512", test_vs_scalar, NULL, NULL, (void *)&simd_isas[1]},
        {"isa_vs_scalar_neon", test_vs_scalar, NULL, NULL, (void *)&simd_isas[2]},
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
