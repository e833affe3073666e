/*
 * The blocked GEMM driver (src/gemm_blocked.c) with the portable 4x4 microkernel and
 * tiny blocks, so every edge path (partial MR/NR tiles, several KC/MC/NC blocks,
 * transposed operands, accumulate) runs on any CPU. Reference: a double triple loop.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel_table.h"
#include "test_util.h"

static void check(const recur_kernel_table *kt, size_t m, size_t n, size_t k, int ta, int tb,
                  int accumulate, test_rng *r)
{
    float *a = fvec(m * k), *b = fvec(k * n), *c = fvec(m * n);
    rng_fill(r, a, m * k, -1, 1);
    rng_fill(r, b, k * n, -1, 1);
    rng_fill(r, c, m * n, -1, 1);
    double *ref = malloc((m * n + 1) * sizeof(double));
    double *mag = malloc((m * n + 1) * sizeof(double));
    /* A stored [m][k] or transposed [k][m]; B stored [k][n] or transposed [n][k]. */
    ptrdiff_t rsa = ta ? 1 : (ptrdiff_t)k, csa = ta ? (ptrdiff_t)m : 1;
    ptrdiff_t rsb = tb ? 1 : (ptrdiff_t)n, csb = tb ? (ptrdiff_t)k : 1;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = accumulate ? c[i * n + j] : 0, g = fabs(s);
            for (size_t p = 0; p < k; p++) {
                double t = (double)a[i * rsa + p * csa] * b[p * rsb + j * csb];
                s += t;
                g += fabs(t);
            }
            ref[i * n + j] = s;
            mag[i * n + j] = g;
        }
    size_t sf = recur_gemm_scratch_floats(kt);
    float *scratch = aligned_alloc(64, ((sf * sizeof(float) + 63) / 64) * 64);
    recur_gemm_blocked(kt, m, n, k, a, rsa, csa, b, rsb, csb, c, n, accumulate, scratch);
    /* Bound: a float dot product of length K (+1 for the accumulated C) errs by at most
     * (K+1) * eps * sum |a_p b_p| (standard recursive-summation bound). */
    for (size_t i = 0; i < m * n; i++) {
        double tol = (double)(k + 1) * FLT_EPSILON * mag[i];
        if (fabs(c[i] - ref[i]) > tol)
            fail_msg("m%zu n%zu k%zu ta%d tb%d acc%d: C[%zu] = %.9g, want %.9g (tol %.3g)", m, n,
                     k, ta, tb, accumulate, i, (double)c[i], ref[i], tol);
    }
    free(a); free(b); free(c); free(ref); free(mag); free(scratch);
}

static void blocked_gemm_edges(void **state)
{
    (void)state;
    recur_kernel_table kt = *recur_kernels_scalar();
    kt.gemm_config.kc = 8; /* tiny blocks: several of each on small sizes */
    kt.gemm_config.mc = 12;
    kt.gemm_config.nc = 20;
    test_rng r;
    rng_seed(&r, 3);
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 33};
    size_t ns = sizeof sizes / sizeof sizes[0];
    for (size_t im = 0; im < ns; im++)
        for (size_t in = 0; in < ns; in += 2)
            for (size_t ik = 0; ik < ns; ik += 3)
                for (int v = 0; v < 8; v++)
                    check(&kt, sizes[im], sizes[in], sizes[ik], v & 1, (v >> 1) & 1, v >> 2, &r);
}

static void blocked_gemm_k_zero(void **state)
{
    (void)state;
    const recur_kernel_table *kt = recur_kernels_scalar();
    float c[6] = {1, 2, 3, 4, 5, 6}, a[1] = {0}, b[1] = {0};
    float scratch[1];
    recur_gemm_blocked(kt, 2, 3, 0, a, 0, 1, b, 3, 1, c, 3, 1, scratch);
    assert_true(c[0] == 1 && c[5] == 6); /* accumulate: unchanged */
    recur_gemm_blocked(kt, 2, 3, 0, a, 0, 1, b, 3, 1, c, 3, 0, scratch);
    for (int i = 0; i < 6; i++)
        assert_true(c[i] == 0);
}

/*
 * gemm_bias must give bitwise what the drivers did before it existed: the bias written
 * into every row of C, then gemm accumulating. Both sum the product first and add it to
 * the bias once, so any difference is a bug, not rounding.
 */
static void bias_matches_broadcast(const recur_kernel_table *kt, recur_gemm_bias_fn fn,
                                   test_rng *r)
{
    static const size_t sizes[] = {1, 3, 5, 13, 17, 33, 65, 129};
    size_t ns = sizeof sizes / sizeof sizes[0];
    float *scratch = aligned_alloc(64, ((recur_gemm_scratch_floats(kt) * 4 + 63) / 64) * 64);
    for (size_t im = 0; im < ns; im++)
        for (size_t in = 0; in < ns; in++)
            for (size_t ik = 0; ik < ns; ik += 2)
                for (int tb = 0; tb < 2; tb++) {
                    size_t m = sizes[im], n = sizes[in], k = ik == 0 ? 0 : sizes[ik];
                    float *a = fvec(m * k + 1), *b = fvec(k * n + 1), *bias = fvec(n);
                    float *want = fvec(m * n), *got = fvec(m * n);
                    rng_fill(r, a, m * k, -1, 1);
                    rng_fill(r, b, k * n, -1, 1);
                    rng_fill(r, bias, n, -1, 1);
                    fill_sentinel(got, m * n);
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++)
                            want[i * n + j] = bias[j];
                    /* B stored [k][n], or transposed [n][k] as W^T in the projection. */
                    ptrdiff_t rsb = tb ? 1 : (ptrdiff_t)n, csb = tb ? (ptrdiff_t)k : 1;
                    kt->gemm(kt, m, n, k, a, (ptrdiff_t)k, 1, b, rsb, csb, want, n, 1, scratch);
                    fn(kt, m, n, k, a, (ptrdiff_t)k, 1, b, rsb, csb, bias, got, n, scratch);
                    if (memcmp(want, got, m * n * sizeof(float)) != 0)
                        fail_msg("%s gemm_bias differs from bias + gemm: m%zu n%zu k%zu tb%d",
                                 recur_isa_name(kt->isa), m, n, k, tb);
                    free(a); free(b); free(bias); free(want); free(got);
                }
    free(scratch);
}

static void gemm_bias_every_isa(void **state)
{
    (void)state;
    static const recur_isa isas[] = {RECUR_ISA_AVX2, RECUR_ISA_AVX512, RECUR_ISA_NEON};
    test_rng r;
    rng_seed(&r, 5);
    /* The shared driver with the portable microkernel and tiny blocks (many KC blocks). */
    recur_kernel_table small = *recur_kernels_scalar();
    small.gemm = recur_gemm_blocked;
    small.gemm_config.kc = 8;
    small.gemm_config.mc = 12;
    small.gemm_config.nc = 20;
    bias_matches_broadcast(&small, recur_gemm_blocked_bias, &r);
    int ran = 0;
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        const recur_kernel_table *kt = recur_kernel_table_get(isas[i]);
        if (kt && kt->gemm_bias) {
            bias_matches_broadcast(kt, kt->gemm_bias, &r);
            ran++;
        }
    }
    printf("# gemm_bias checked on %d SIMD table(s) besides the portable driver\n", ran);
}

/* The sizes each table says once agree with what its kernels do: packed U takes whole
 * panels of rec_panel rows, and the batch tile divides the batch quantum. */
static void table_sizes(void **state)
{
    (void)state;
    static const recur_isa isas[] = {RECUR_ISA_SCALAR, RECUR_ISA_AVX2, RECUR_ISA_AVX512,
                                     RECUR_ISA_NEON};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        const recur_kernel_table *kt = recur_kernel_table_get(isas[i]);
        if (!kt)
            continue;
        assert_true(kt->rec_panel >= 1 && kt->batch_tile >= 1);
        assert_int_equal(RECUR_BATCH_QUANTUM % kt->batch_tile, 0);
        for (size_t h = 1; h <= 40; h += 13)
            for (size_t rows = 1; rows <= 70; rows += 23) {
                size_t panels = (rows + kt->rec_panel - 1) / kt->rec_panel;
                assert_int_equal(kt->packed_rec_floats(h, rows), panels * kt->rec_panel * h);
            }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocked_gemm_edges),
        cmocka_unit_test(blocked_gemm_k_zero),
        cmocka_unit_test(gemm_bias_every_isa),
        cmocka_unit_test(table_sizes),
    };
    return cmocka_run_group_tests_name("gemm_blocked", tests, NULL, NULL);
}
