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
#include <stdlib.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocked_gemm_edges),
        cmocka_unit_test(blocked_gemm_k_zero),
    };
    return cmocka_run_group_tests_name("gemm_blocked", tests, NULL, NULL);
}
