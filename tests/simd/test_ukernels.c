/*
 * Each SIMD kernel table against exact (double) references, on edge shapes:
 * GEMM tiles that are not multiples of MR, NR or KC (and transposed operands),
 * pack_rec + rnn_step / bptt_step on row slices and batch remainders, with the
 * aliasing the drivers use, and the vector activations against libm.
 * ISAs this build or CPU lacks are reported as skipped.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "isa_list.h"
#include "kernel_table.h"
#include "simd_test_common.h"
#include "avx2_accuracy.h"
#include "avx512_accuracy.h"
#if defined(__has_include)
#if __has_include("neon_accuracy.h")
#include "neon_accuracy.h"
#endif
#endif

/* Absolute slack for results in the subnormal range. */
#define SIMD_TINY 1e-35

static const recur_kernel_table *table_or_skip(void **state)
{
    recur_isa isa = *(const recur_isa *)*state;
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    if (!kt)
        skip();
    return kt;
}

static float *falloc(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 64) / 64 * 64);
    assert_non_null(p);
    return p;
}

/* ---------------------------------------------------------------- GEMM */

/*
 * C (+)= A B with A(i,k) = a[i*rsa + k*csa], B(k,j) = b[k*rsb + j*csb]. Every element
 * is a sum of K products (plus C when accumulating), so in any summation order
 * |c - exact| <= gamma(K + 1) * (|c0| + sum_k |A(i,k)| |B(k,j)|).
 */
static void check_gemm(const recur_kernel_table *kt, cmp_rng *rng, size_t m, size_t n,
                       size_t k, int trans_a, int trans_b, int accumulate, float *scratch)
{
    float *a = falloc(m * k + 1), *b = falloc(k * n + 1), *c = falloc(m * n + 1);
    cmp_rng_fill(rng, a, m * k, -1.0f, 1.0f);
    cmp_rng_fill(rng, b, k * n, -1.0f, 1.0f);
    cmp_rng_fill(rng, c, m * n, -1.0f, 1.0f);
    float *c0 = falloc(m * n + 1);
    memcpy(c0, c, m * n * sizeof(float));
    ptrdiff_t rsa = trans_a ? 1 : (ptrdiff_t)k, csa = trans_a ? (ptrdiff_t)m : 1;
    ptrdiff_t rsb = trans_b ? 1 : (ptrdiff_t)n, csb = trans_b ? (ptrdiff_t)k : 1;
    kt->gemm(kt, m, n, k, a, rsa, csa, b, rsb, csb, c, n, accumulate, scratch);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = accumulate ? c0[i * n + j] : 0.0, mag = fabs(s);
            for (size_t p = 0; p < k; p++) {
                double t = (double)a[(ptrdiff_t)i * rsa + (ptrdiff_t)p * csa] *
                           b[(ptrdiff_t)p * rsb + (ptrdiff_t)j * csb];
                s += t;
                mag += fabs(t);
            }
            double err = fabs(c[i * n + j] - s), tol = cmp_gamma(k + 1) * mag + SIMD_TINY;
            if (!(err <= tol))
                fail_msg("gemm %zux%zux%zu ta=%d tb=%d acc=%d at (%zu,%zu): err %g > %g",
                         m, n, k, trans_a, trans_b, accumulate, i, j, err, tol);
        }
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void test_gemm_edges(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    const recur_gemm_config *g = &kt->gemm_config;
    float *scratch = falloc(recur_gemm_scratch_floats(kt));
    cmp_rng rng = {0x1234567ULL};
    /* Around one tile, the MC block, and across the KC block boundary. */
    size_t ms[] = {1, g->mr - 1, g->mr, g->mr + 1, 2 * g->mr + 3, g->mc + 5};
    size_t ns[] = {1, g->nr - 1, g->nr, g->nr + 1, 2 * g->nr + 5};
    size_t ks[] = {1, 3, 16, 17, g->kc + 7};
    for (size_t im = 0; im < sizeof ms / sizeof ms[0]; im++)
        for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
            for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++) {
                int v = (int)(im + in + ik);
                check_gemm(kt, &rng, ms[im], ns[in], ks[ik], v & 1, (v >> 1) & 1, (v >> 2) & 1,
                           scratch);
            }
    /* Crosses NC too (one case, it is large). */
    check_gemm(kt, &rng, g->mr + 2, g->nc + g->nr + 3, 33, 0, 1, 1, scratch);
    free(scratch);
}

/* ---------------------------------------------------------------- activations */

/* Documented vector-math bounds, in ulp, per ISA (0 when unknown: test skipped). */
static double tanh_ulp(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_AVX2: return RECUR_AVX2_TANH_MAX_ULP;
    case RECUR_ISA_AVX512: return RECUR_AVX512_TANH_MAX_ULP;
#ifdef RECUR_NEON_TANH_MAX_ULP
    case RECUR_ISA_NEON: return RECUR_NEON_TANH_MAX_ULP;
#endif
    default: return 0.0;
    }
}

static double sigmoid_ulp(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_AVX2: return RECUR_AVX2_SIGMOID_MAX_ULP;
    case RECUR_ISA_AVX512: return RECUR_AVX512_SIGMOID_MAX_ULP;
#ifdef RECUR_NEON_SIGMOID_MAX_ULP
    case RECUR_ISA_NEON: return RECUR_NEON_SIGMOID_MAX_ULP;
#endif
    default: return 0.0;
    }
}

static double exp_ulp(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_AVX2: return RECUR_AVX2_EXP_MAX_ULP;
    case RECUR_ISA_AVX512: return RECUR_AVX512_EXP_MAX_ULP;
#ifdef RECUR_NEON_EXP_MAX_ULP
    case RECUR_ISA_NEON: return RECUR_NEON_EXP_MAX_ULP;
#endif
    default: return 0.0;
    }
}

/* Size of one ulp at the float nearest to r (subnormal spacing below FLT_MIN). */
static double ulp_at(double r)
{
    float f = fabsf((float)r);
    if (f < FLT_MIN)
        return 0x1p-149;
    int e;
    frexpf(f, &e);
    return ldexp(1.0, e - 24);
}

/*
 * Every 997th float bit pattern in [-20, 20] (2.2 M values per function; the
 * exhaustive sweep behind the documented bound is in the header's comment).
 */
static void check_act_sweep(const recur_kernel_table *kt, recur_activation f, double bound)
{
    const size_t chunk = 4096;
    float *in = falloc(chunk), *out = falloc(chunk);
    float twenty = 20.0f;
    uint32_t lim;
    memcpy(&lim, &twenty, sizeof lim);
    double worst = 0.0;
    float worst_x = 0.0f;
    for (int neg = 0; neg < 2; neg++) {
        for (uint64_t b0 = 0; b0 <= lim; b0 += 997 * (uint64_t)chunk) {
            size_t cnt = 0;
            for (uint64_t b = b0; b <= lim && cnt < chunk; b += 997, cnt++) {
                uint32_t bits = (uint32_t)b | (neg ? 0x80000000u : 0u);
                memcpy(&in[cnt], &bits, sizeof bits);
            }
            memcpy(out, in, cnt * sizeof(float));
            kt->activate(f, cnt, out);
            for (size_t i = 0; i < cnt; i++) {
                double r = cmp_act(f, in[i]);
                double e = fabs(out[i] - r) / ulp_at(r);
                if (!(e <= worst)) {
                    worst = e;
                    worst_x = in[i];
                }
            }
        }
    }
    free(in);
    free(out);
    print_message("# %s act %d: max error %.3f ulp (at %.9g), documented bound %.1f\n",
                  recur_isa_name(kt->isa), (int)f, worst, (double)worst_x, bound);
    if (!(worst <= bound))
        fail_msg("activation %d: %.3f ulp at x = %.9g exceeds %.1f", (int)f, worst,
                 (double)worst_x, bound);
}

static void test_activation_bounds(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    double bt = tanh_ulp(kt->isa), bs = sigmoid_ulp(kt->isa);
    if (bt == 0.0 || bs == 0.0)
        skip(); /* no documented bound visible for this ISA */
    check_act_sweep(kt, RECUR_ACT_TANH, bt);
    check_act_sweep(kt, RECUR_ACT_SIGMOID, bs);
    check_act_sweep(kt, RECUR_ACT_RELU, 0.0);
}

/* Saturation, no NaN at +-inf and huge inputs, NaN stays NaN; every tail length. */
static void test_activation_special(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    const float big[] = {INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1e30f, -1e30f, 100.0f,
                         -100.0f, 88.0f, -88.0f, 50.0f, -50.0f};
    const size_t nb = sizeof big / sizeof big[0];
    for (size_t n = 1; n <= nb; n++) {
        float t[16], s[16], r[16];
        memcpy(t, big, n * sizeof(float));
        memcpy(s, big, n * sizeof(float));
        memcpy(r, big, n * sizeof(float));
        kt->activate(RECUR_ACT_TANH, n, t);
        kt->activate(RECUR_ACT_SIGMOID, n, s);
        kt->activate(RECUR_ACT_RELU, n, r);
        for (size_t i = 0; i < n; i++) {
            assert_true(t[i] == (big[i] > 0 ? 1.0f : -1.0f));
            /* sigmoid(-50) = 2e-22 is below half an ulp of nothing: within 1e-21 of 0. */
            double sref = 1.0 / (1.0 + exp(-(double)big[i]));
            assert_true(fabs(s[i] - sref) <= 1e-21);
            assert_true(r[i] == (big[i] > 0 ? big[i] : 0.0f));
        }
    }
    float nan[3] = {NAN, NAN, NAN};
    kt->activate(RECUR_ACT_TANH, 1, nan);
    kt->activate(RECUR_ACT_SIGMOID, 1, nan + 1);
    assert_true(isnan(nan[0]) && isnan(nan[1]));
}

/*
 * Softmax vs double. Each exp has relative error <= E = exp_ulp * 2^-23 plus the
 * rounding of its argument x - max (u |x - max| relative); the row sum adds
 * gamma(cols), the reciprocal and the product 2u; the result doubles the exp term
 * (numerator and sum).
 */
static void test_softmax(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    double eu = exp_ulp(kt->isa);
    if (eu == 0.0)
        skip();
    cmp_rng rng = {99};
    const size_t colss[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100};
    for (size_t ic = 0; ic < sizeof colss / sizeof colss[0]; ic++) {
        size_t cols = colss[ic], rows = 5;
        float *x = falloc(rows * cols), *x0 = falloc(rows * cols);
        cmp_rng_fill(&rng, x, rows * cols, -30.0f, 30.0f);
        memcpy(x0, x, rows * cols * sizeof(float));
        kt->softmax_rows(rows, cols, x);
        for (size_t r = 0; r < rows; r++) {
            const float *row = x0 + r * cols;
            double mx = row[0], sum = 0.0, spread = 0.0;
            for (size_t j = 1; j < cols; j++)
                mx = row[j] > mx ? row[j] : mx;
            for (size_t j = 0; j < cols; j++) {
                sum += exp(row[j] - mx);
                spread = fmax(spread, mx - row[j]);
            }
            double rel = 2.0 * (eu * CMP_ULP + CMP_U * spread) + cmp_gamma(cols) + 2 * CMP_U;
            for (size_t j = 0; j < cols; j++) {
                double p = exp(row[j] - mx) / sum;
                double err = fabs(x[r * cols + j] - p);
                if (!(err <= rel * p + SIMD_TINY * 1e-3 + 0x1p-126))
                    fail_msg("softmax cols %zu: err %g at p = %g", cols, err, p);
            }
        }
        free(x);
        free(x0);
    }
}

/* ---------------------------------------------------------------- recurrent steps */

static const recur_activation hidden_acts[] = {RECUR_ACT_TANH, RECUR_ACT_RELU,
                                               RECUR_ACT_SIGMOID, RECUR_ACT_IDENTITY};

/* Lipschitz constant of f and its documented error in ulp (scalar libm: 1). */
static double lipschitz(recur_activation f)
{
    return f == RECUR_ACT_SIGMOID ? 0.25 : 1.0;
}

static double act_ulps(recur_isa isa, recur_activation f)
{
    if (f == RECUR_ACT_TANH)
        return tanh_ulp(isa) > 0 ? tanh_ulp(isa) : 8.0;
    if (f == RECUR_ACT_SIGMOID)
        return sigmoid_ulp(isa) > 0 ? sigmoid_ulp(isa) : 8.0;
    return 0.0;
}

/* Bound on |f(z_float) - f(z)| when the pre-activation errs by at most dz: the
 * activation's Lipschitz constant times dz, plus its documented ulps at ref. */
static double act_tol(recur_activation f, double dz, double ref, double ulps)
{
    return lipschitz(f) * dz + ulps * CMP_ULP * (fabs(ref) + dz) + SIMD_TINY;
}

/*
 * rnn_step on the row slice [r0, r0+rows) of an H x H matrix M (strided as the
 * forward (U) or backward (U^T) driver strides it), batch rows with ld > H, pre
 * aliasing out. z = pre + sum_k M h has H+1 terms: |dz| <= gamma(H+1) * (|pre| +
 * sum |M||h|); then |out - f(z)| <= L |dz| + ulps * ulp(f).
 */
static void check_rnn_step(const recur_kernel_table *kt, cmp_rng *rng, size_t h, size_t r0,
                           size_t rows, size_t batch, int transposed, recur_activation f)
{
    size_t ld = h + 5;
    float *m = falloc(h * h), *hp = falloc(batch * ld), *io = falloc(batch * ld);
    float *pre = falloc(batch * ld);
    float *packed = falloc(kt->packed_rec_floats(h, rows));
    cmp_rng_fill(rng, m, h * h, -1.0f, 1.0f);
    cmp_rng_fill(rng, hp, batch * ld, -1.0f, 1.0f);
    cmp_rng_fill(rng, io, batch * ld, -2.0f, 2.0f);
    memcpy(pre, io, batch * ld * sizeof(float));
    ptrdiff_t rs = transposed ? 1 : (ptrdiff_t)h, cs = transposed ? (ptrdiff_t)h : 1;
    const float *mslice = m + (ptrdiff_t)r0 * rs;
    kt->pack_rec(h, rows, mslice, rs, cs, packed);
    kt->rnn_step(batch, h, rows, packed, hp, ld, io + r0, ld, io + r0, ld, f);
    double ulps = act_ulps(kt->isa, f);
    for (size_t n = 0; n < batch; n++) {
        for (size_t c = 0; c < ld; c++) {
            float got = io[n * ld + c];
            if (c < r0 || c >= r0 + rows) { /* outside the slice: untouched */
                assert_true(got == pre[n * ld + c]);
                continue;
            }
            size_t r = c - r0;
            double z = pre[n * ld + c], mag = fabs(z);
            for (size_t k = 0; k < h; k++) {
                double t = (double)mslice[(ptrdiff_t)r * rs + (ptrdiff_t)k * cs] * hp[n * ld + k];
                z += t;
                mag += fabs(t);
            }
            double dz = cmp_gamma(h + 1) * mag, ref = cmp_act(f, z);
            double tol = act_tol(f, dz, ref, ulps);
            if (!(fabs(got - ref) <= tol))
                fail_msg("rnn_step H=%zu rows=%zu@%zu N=%zu T=%d f=%d: (%zu,%zu) %g vs %g (tol %g)",
                         h, rows, r0, batch, transposed, (int)f, n, r, (double)got, ref, tol);
        }
    }
    free(m);
    free(hp);
    free(io);
    free(pre);
    free(packed);
}

/*
 * bptt_step: g = dh + sum_k M da_next (H+1 terms, |dg| <= gamma(H+1) (|dh| + sum |M||da|)),
 * da = g * f'(y) with f' from the saved output y in at most 2 roundings, the product one
 * more: |da - exact| <= |f'| |dg| + 3u |g f'|. dh aliases da, as in the driver.
 */
static void check_bptt_step(const recur_kernel_table *kt, cmp_rng *rng, size_t h, size_t r0,
                            size_t rows, size_t batch, int with_next, int with_dh,
                            recur_activation f)
{
    size_t ld = h + 3;
    float *m = falloc(h * h), *dn = falloc(batch * ld), *io = falloc(batch * ld);
    float *dh = falloc(batch * ld), *y = falloc(batch * ld);
    float *packed = falloc(kt->packed_rec_floats(h, rows));
    cmp_rng_fill(rng, m, h * h, -1.0f, 1.0f);
    cmp_rng_fill(rng, dn, batch * ld, -1.0f, 1.0f);
    cmp_rng_fill(rng, io, batch * ld, -1.0f, 1.0f);
    memcpy(dh, io, batch * ld * sizeof(float));
    /* Saved outputs in f's range (relu: some exact zeros). */
    for (size_t i = 0; i < batch * ld; i++) {
        float v = cmp_rng_uniform(rng, -3.0f, 3.0f);
        y[i] = (float)cmp_act(f, v);
    }
    const float *mslice = m + (ptrdiff_t)r0 * 1; /* rows of M^T: element (r,k) = m[k*h + r] */
    kt->pack_rec(h, rows, mslice, 1, (ptrdiff_t)h, packed);
    kt->bptt_step(batch, h, rows, packed, with_next ? dn : NULL, ld,
                  with_dh ? io + r0 : NULL, ld, y + r0, ld, io + r0, ld, f);
    for (size_t n = 0; n < batch; n++) {
        for (size_t c = 0; c < ld; c++) {
            float got = io[n * ld + c];
            if (c < r0 || c >= r0 + rows) {
                assert_true(got == dh[n * ld + c]);
                continue;
            }
            size_t r = c - r0;
            double g = with_dh ? dh[n * ld + c] : 0.0, mag = fabs(g);
            if (with_next)
                for (size_t k = 0; k < h; k++) {
                    double t = (double)m[k * h + r0 + r] * dn[n * ld + k];
                    g += t;
                    mag += fabs(t);
                }
            double yv = y[n * ld + c], fp;
            switch (f) {
            case RECUR_ACT_TANH: fp = 1.0 - yv * yv; break;
            case RECUR_ACT_SIGMOID: fp = yv * (1.0 - yv); break;
            case RECUR_ACT_RELU: fp = yv > 0 ? 1.0 : 0.0; break;
            default: fp = 1.0;
            }
            double ref = g * fp;
            double tol = fabs(fp) * cmp_gamma(h + 1) * mag + 3 * CMP_U * fabs(fp) * (fabs(g) + cmp_gamma(h + 1) * mag) + SIMD_TINY;
            if (!(fabs(got - ref) <= tol))
                fail_msg("bptt_step H=%zu rows=%zu@%zu N=%zu next=%d dh=%d f=%d: (%zu,%zu) %g vs %g",
                         h, rows, r0, batch, with_next, with_dh, (int)f, n, r, (double)got, ref);
        }
    }
    free(m);
    free(dn);
    free(io);
    free(dh);
    free(y);
    free(packed);
}

static const size_t step_h[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 129};
static const size_t step_batch[] = {1, 2, 3, 5, 7, 12, 13, 25, 32, 55};

static void test_rnn_step(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    cmp_rng rng = {7};
    for (size_t ih = 0; ih < sizeof step_h / sizeof step_h[0]; ih++)
        for (size_t ib = 0; ib < sizeof step_batch / sizeof step_batch[0]; ib++)
            for (size_t ia = 0; ia < 4; ia++) {
                size_t h = step_h[ih], batch = step_batch[ib];
                /* Whole matrix, and a slice that starts and ends off panel edges. */
                check_rnn_step(kt, &rng, h, 0, h, batch, (int)((ih + ib) & 1), hidden_acts[ia]);
                if (h > 4)
                    check_rnn_step(kt, &rng, h, 1, h - 3, batch, (int)(ia & 1), hidden_acts[ia]);
            }
}

static void test_bptt_step(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    cmp_rng rng = {8};
    for (size_t ih = 0; ih < sizeof step_h / sizeof step_h[0]; ih++)
        for (size_t ib = 0; ib < sizeof step_batch / sizeof step_batch[0]; ib++)
            for (size_t ia = 0; ia < 4; ia++) {
                size_t h = step_h[ih], batch = step_batch[ib];
                int v = (int)(ih + ib + ia);
                check_bptt_step(kt, &rng, h, 0, h, batch, 1, v & 1, hidden_acts[ia]);
                check_bptt_step(kt, &rng, h, 0, h, batch, 0, 1, hidden_acts[ia]);
                if (h > 4)
                    check_bptt_step(kt, &rng, h, 2, h - 3, batch, 1, 1, hidden_acts[ia]);
            }
}

/*
 * Wide matrices take the path where the batch tiles of a panel fetch the next panel
 * in bursts between blocks of the k loop (AVX2 from h 1536): the blocks must cover
 * every k step once. Tiles of 4, 3 (two k chains) and 5 rows, slices off panel edges.
 */
static void test_step_wide(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    cmp_rng rng = {12};
    const size_t h = 1553;
    check_rnn_step(kt, &rng, h, 1, 61, 7, 0, RECUR_ACT_TANH);
    check_rnn_step(kt, &rng, h, 16, 48, 13, 1, RECUR_ACT_IDENTITY);
    check_bptt_step(kt, &rng, h, 2, 45, 7, 1, 1, RECUR_ACT_TANH);
    check_bptt_step(kt, &rng, h, 0, 33, 13, 1, 0, RECUR_ACT_RELU);
}

/*
 * rnn_seq (tables that have it): T steps of batch 1. Step t is checked against the
 * exact value computed from the kernel's own h_{t-1}, so each step has the rnn_step
 * bound with I+H+1 terms: |dz| <= gamma(I+H+1) * (|b| + sum |W||x| + sum |U||h|).
 * in == 0: the unfused form, x holds the input terms ([T][h]) and wpacked is NULL;
 * then z = x_t + U h_{t-1} has H+1 terms.
 */
static void check_rnn_seq(const recur_kernel_table *kt, cmp_rng *rng, size_t T, size_t in,
                          size_t h, recur_activation f)
{
    if (in == 0) {
        float *u = falloc(h * h), *x = falloc(T * h), *h0 = falloc(h), *hs = falloc(T * h);
        float *up = falloc(kt->packed_rec_floats(h, h));
        cmp_rng_fill(rng, u, h * h, -1.0f, 1.0f);
        cmp_rng_fill(rng, x, T * h, -2.0f, 2.0f);
        cmp_rng_fill(rng, h0, h, -1.0f, 1.0f);
        memcpy(hs, x, T * h * sizeof(float)); /* in place, as the driver calls it */
        kt->pack_rec(h, h, u, (ptrdiff_t)h, 1, up);
        kt->rnn_seq(T, 0, h, NULL, up, NULL, hs, h0, hs, f);
        double ulps = act_ulps(kt->isa, f);
        for (size_t t = 0; t < T; t++) {
            const float *hp = t == 0 ? h0 : hs + (t - 1) * h;
            for (size_t r = 0; r < h; r++) {
                double z = x[t * h + r], mag = fabs(z);
                for (size_t k = 0; k < h; k++) {
                    double v = (double)u[r * h + k] * hp[k];
                    z += v;
                    mag += fabs(v);
                }
                double dz = cmp_gamma(h + 1) * mag, ref = cmp_act(f, z);
                double tol = act_tol(f, dz, ref, ulps);
                float got = hs[t * h + r];
                if (!(fabs(got - ref) <= tol))
                    fail_msg("rnn_seq (pre) T=%zu H=%zu f=%d: (%zu,%zu) %g vs %g (tol %g)", T,
                             h, (int)f, t, r, (double)got, ref, tol);
            }
        }
        free(u);
        free(x);
        free(h0);
        free(hs);
        free(up);
        return;
    }
    float *w = falloc(h * in), *u = falloc(h * h), *b = falloc(h), *x = falloc(T * in);
    float *h0 = falloc(h), *hs = falloc(T * h + 1);
    float *wp = falloc(kt->packed_rec_floats(in, h)), *up = falloc(kt->packed_rec_floats(h, h));
    cmp_rng_fill(rng, w, h * in, -1.0f, 1.0f);
    cmp_rng_fill(rng, u, h * h, -1.0f, 1.0f);
    cmp_rng_fill(rng, b, h, -1.0f, 1.0f);
    cmp_rng_fill(rng, x, T * in, -1.0f, 1.0f);
    cmp_rng_fill(rng, h0, h, -1.0f, 1.0f);
    hs[T * h] = 42.0f; /* past the end: untouched */
    kt->pack_rec(in, h, w, (ptrdiff_t)in, 1, wp);
    kt->pack_rec(h, h, u, (ptrdiff_t)h, 1, up);
    kt->rnn_seq(T, in, h, wp, up, b, x, h0, hs, f);
    double ulps = act_ulps(kt->isa, f);
    for (size_t t = 0; t < T; t++) {
        const float *hp = t == 0 ? h0 : hs + (t - 1) * h;
        for (size_t r = 0; r < h; r++) {
            double z = b[r], mag = fabs(z);
            for (size_t k = 0; k < in; k++) {
                double v = (double)w[r * in + k] * x[t * in + k];
                z += v;
                mag += fabs(v);
            }
            for (size_t k = 0; k < h; k++) {
                double v = (double)u[r * h + k] * hp[k];
                z += v;
                mag += fabs(v);
            }
            double dz = cmp_gamma(in + h + 1) * mag, ref = cmp_act(f, z);
            double tol = act_tol(f, dz, ref, ulps);
            float got = hs[t * h + r];
            if (!(fabs(got - ref) <= tol))
                fail_msg("rnn_seq T=%zu I=%zu H=%zu f=%d: (%zu,%zu) %g vs %g (tol %g)", T, in,
                         h, (int)f, t, r, (double)got, ref, tol);
        }
    }
    assert_true(hs[T * h] == 42.0f);
    free(w);
    free(u);
    free(b);
    free(x);
    free(h0);
    free(hs);
    free(wp);
    free(up);
}

static void test_rnn_seq(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    if (!kt->rnn_seq)
        skip();
    static const size_t ins[] = {0, 1, 5, 32, 67};
    cmp_rng rng = {9};
    for (size_t ih = 0; ih < sizeof step_h / sizeof step_h[0]; ih++) {
        size_t h = step_h[ih];
        if (h > kt->rnn_seq_max_h)
            continue;
        for (size_t ii = 0; ii < sizeof ins / sizeof ins[0]; ii++)
            for (size_t ia = 0; ia < 4; ia++)
                check_rnn_seq(kt, &rng, 1 + (ih + ii) % 4, ins[ii], h, hidden_acts[ia]);
        check_rnn_seq(kt, &rng, 9, h, h, RECUR_ACT_TANH);
    }
    /* The largest H the table accepts, and one full panel count below it. */
    check_rnn_seq(kt, &rng, 3, 7, kt->rnn_seq_max_h, RECUR_ACT_TANH);
    check_rnn_seq(kt, &rng, 3, 7, kt->rnn_seq_max_h - 1, RECUR_ACT_SIGMOID);
    check_rnn_seq(kt, &rng, 4, 0, kt->rnn_seq_max_h, RECUR_ACT_TANH);
}

/*
 * bptt_seq (tables that have it): T steps of batch 1, in place, optionally with a
 * truncation window. Step t is checked against the exact value from the kernel's own
 * da_{t+1}, with the bptt_step bound (H+1 terms, then f' from the saved output).
 */
static void check_bptt_seq(const recur_kernel_table *kt, cmp_rng *rng, size_t T, size_t h,
                           size_t window, recur_activation f)
{
    float *u = falloc(h * h), *dh = falloc(T * h), *da = falloc(T * h + 1), *y = falloc(T * h);
    float *up = falloc(kt->packed_rec_floats(h, h));
    cmp_rng_fill(rng, u, h * h, -1.0f, 1.0f);
    cmp_rng_fill(rng, dh, T * h, -1.0f, 1.0f);
    for (size_t i = 0; i < T * h; i++)
        y[i] = (float)cmp_act(f, cmp_rng_uniform(rng, -3.0f, 3.0f));
    memcpy(da, dh, T * h * sizeof(float));
    da[T * h] = 42.0f;
    kt->pack_rec(h, h, u, 1, (ptrdiff_t)h, up);
    kt->bptt_seq(T, h, up, da, y, window, f);
    for (size_t t = 0; t < T; t++) {
        int cut = t + 1 >= T || (window > 0 && (t + 1) % window == 0);
        for (size_t r = 0; r < h; r++) {
            double g = dh[t * h + r], mag = fabs(g);
            if (!cut)
                for (size_t k = 0; k < h; k++) {
                    double v = (double)u[k * h + r] * da[(t + 1) * h + k];
                    g += v;
                    mag += fabs(v);
                }
            double yv = y[t * h + r], fp;
            switch (f) {
            case RECUR_ACT_TANH: fp = 1.0 - yv * yv; break;
            case RECUR_ACT_SIGMOID: fp = yv * (1.0 - yv); break;
            case RECUR_ACT_RELU: fp = yv > 0 ? 1.0 : 0.0; break;
            default: fp = 1.0;
            }
            double ref = g * fp;
            double tol = fabs(fp) * cmp_gamma(h + 1) * mag +
                         3 * CMP_U * fabs(fp) * (fabs(g) + cmp_gamma(h + 1) * mag) + SIMD_TINY;
            float got = da[t * h + r];
            if (!(fabs(got - ref) <= tol))
                fail_msg("bptt_seq T=%zu H=%zu window=%zu f=%d: (%zu,%zu) %g vs %g", T, h,
                         window, (int)f, t, r, (double)got, ref);
        }
    }
    assert_true(da[T * h] == 42.0f);
    free(u);
    free(dh);
    free(da);
    free(y);
    free(up);
}

static void test_bptt_seq(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    if (!kt->bptt_seq)
        skip();
    cmp_rng rng = {10};
    for (size_t ih = 0; ih < sizeof step_h / sizeof step_h[0]; ih++) {
        size_t h = step_h[ih];
        if (h > kt->rnn_seq_max_h)
            continue;
        for (size_t ia = 0; ia < 4; ia++)
            check_bptt_seq(kt, &rng, 1 + (ih + ia) % 5, h, ia == 3 ? 2 : 0, hidden_acts[ia]);
        check_bptt_seq(kt, &rng, 9, h, 4, RECUR_ACT_TANH);
    }
    check_bptt_seq(kt, &rng, 5, kt->rnn_seq_max_h, 0, RECUR_ACT_TANH);
    check_bptt_seq(kt, &rng, 5, kt->rnn_seq_max_h - 1, 3, RECUR_ACT_SIGMOID);
}

/*
 * rnn_step_rows (tables that have it): batch 1 from row-major M, on the slice
 * [r0, r0+rows) of an H x H matrix, pre aliasing out; the rnn_step bound (H+1 terms).
 * The same rows computed as part of a different slice must come out bitwise equal.
 */
static void check_rnn_step_rows(const recur_kernel_table *kt, cmp_rng *rng, size_t h,
                                size_t r0, size_t rows, recur_activation f)
{
    size_t ld = h + 3;
    float *m = falloc(h * ld), *hp = falloc(h), *io = falloc(h + 1), *pre = falloc(h + 1);
    float *whole = falloc(h);
    cmp_rng_fill(rng, m, h * ld, -1.0f, 1.0f);
    cmp_rng_fill(rng, hp, h, -1.0f, 1.0f);
    cmp_rng_fill(rng, io, h + 1, -2.0f, 2.0f);
    memcpy(pre, io, (h + 1) * sizeof(float));
    memcpy(whole, io, h * sizeof(float));
    kt->rnn_step_rows(h, rows, m + r0 * ld, ld, hp, io + r0, io + r0, f);
    kt->rnn_step_rows(h, h, m, ld, hp, whole, whole, f);
    double ulps = act_ulps(kt->isa, f);
    for (size_t c = 0; c <= h; c++) {
        float got = io[c];
        if (c < r0 || c >= r0 + rows) {
            assert_true(got == pre[c]);
            continue;
        }
        assert_true(memcmp(&got, &whole[c], sizeof got) == 0);
        double z = pre[c], mag = fabs(z);
        for (size_t k = 0; k < h; k++) {
            double t = (double)m[c * ld + k] * hp[k];
            z += t;
            mag += fabs(t);
        }
        double dz = cmp_gamma(h + 1) * mag, ref = cmp_act(f, z);
        double tol = act_tol(f, dz, ref, ulps);
        if (!(fabs(got - ref) <= tol))
            fail_msg("rnn_step_rows H=%zu rows=%zu@%zu f=%d: %zu %g vs %g (tol %g)", h, rows,
                     r0, (int)f, c, (double)got, ref, tol);
    }
    free(m);
    free(hp);
    free(io);
    free(pre);
    free(whole);
}

static void test_rnn_step_rows(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    if (!kt->rnn_step_rows)
        skip();
    cmp_rng rng = {11};
    for (size_t ih = 0; ih < sizeof step_h / sizeof step_h[0]; ih++)
        for (size_t ia = 0; ia < 4; ia++) {
            size_t h = step_h[ih];
            check_rnn_step_rows(kt, &rng, h, 0, h, hidden_acts[ia]);
            if (h > 4)
                check_rnn_step_rows(kt, &rng, h, 1, h - 3, hidden_acts[ia]);
            if (h > 40)
                check_rnn_step_rows(kt, &rng, h, 32, h - 33, hidden_acts[ia]);
        }
}

/*
 * The threaded drivers split the batch into blocks that start at multiples of
 * RECUR_BATCH_QUANTUM: each block's rows must come out bitwise as in one call on the
 * whole batch (the kernels tile each quantum-sized chunk on its own).
 */
static void test_step_batch_blocks(void **state)
{
    const recur_kernel_table *kt = table_or_skip(state);
    cmp_rng rng = {11};
    static const size_t batches[] = {55, 64, 100, 103, 151};
    static const size_t hs[] = {17, 129};
    for (size_t ih = 0; ih < 2; ih++)
        for (size_t ib = 0; ib < sizeof batches / sizeof batches[0]; ib++) {
            size_t h = hs[ih], n = batches[ib], q = RECUR_BATCH_QUANTUM;
            float *m = falloc(h * h), *x = falloc(n * h), *pre = falloc(n * h);
            float *whole = falloc(n * h), *split = falloc(n * h);
            float *packed = falloc(kt->packed_rec_floats(h, h));
            cmp_rng_fill(&rng, m, h * h, -1.0f, 1.0f);
            cmp_rng_fill(&rng, x, n * h, -1.0f, 1.0f);
            cmp_rng_fill(&rng, pre, n * h, -1.0f, 1.0f);
            for (int back = 0; back < 2; back++) {
                kt->pack_rec(h, h, m, back ? 1 : (ptrdiff_t)h, back ? (ptrdiff_t)h : 1, packed);
                for (int part = 0; part < 2; part++) {
                    float *out = part ? split : whole;
                    /* part 1: blocks of one quantum, then of two, then the rest */
                    for (size_t n0 = 0, nb = part ? q : n; n0 < n; n0 += nb, nb = 2 * q) {
                        size_t b = n - n0 < nb ? n - n0 : nb;
                        if (back)
                            kt->bptt_step(b, h, h, packed, x + n0 * h, h, pre + n0 * h, h,
                                          pre + n0 * h, h, out + n0 * h, h, RECUR_ACT_TANH);
                        else
                            kt->rnn_step(b, h, h, packed, x + n0 * h, h, pre + n0 * h, h,
                                         out + n0 * h, h, RECUR_ACT_TANH);
                    }
                }
                if (memcmp(whole, split, n * h * sizeof(float)) != 0)
                    fail_msg("%s H=%zu N=%zu: batch blocks differ from the whole batch",
                             back ? "bptt_step" : "rnn_step", h, n);
            }
            free(m);
            free(x);
            free(pre);
            free(whole);
            free(split);
            free(packed);
        }
}

/* fn once per SIMD ISA of src/isa_list.h, named fn_<isa>; the state points at the ISA
 * (isa_values is indexed by the enum value). */
#define ISA_VALUE_(NAME, name, runs, rank) RECUR_ISA_##NAME,
static const recur_isa isa_values[] = {RECUR_ISA_AUTO, RECUR_ISA_LIST(ISA_VALUE_)};
#define ISA_TEST_(fn, NAME, name, runs, rank)                                              \
    {#fn "_" #name, fn, NULL, NULL, (void *)&isa_values[RECUR_ISA_##NAME]},
#define ISA_TESTS(fn) RECUR_ISA_SIMD_LIST_WITH(ISA_TEST_, fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TESTS(test_gemm_edges)        ISA_TESTS(test_rnn_step)
        ISA_TESTS(test_bptt_step)         ISA_TESTS(test_rnn_seq)
        ISA_TESTS(test_bptt_seq)          ISA_TESTS(test_rnn_step_rows)
        ISA_TESTS(test_activation_bounds) ISA_TESTS(test_step_batch_blocks)
        ISA_TESTS(test_activation_special) ISA_TESTS(test_softmax)
        ISA_TESTS(test_step_wide)
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
