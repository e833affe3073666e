/*
 * The GEMM cache blocks chosen from the machine (src/gemm.c) and the one ISA list
 * (src/isa_list.h): the rule on synthetic machines (known caches give the documented
 * blocks, unknown ones the table's defaults, invariants on a grid of caches), the
 * RECUR_GEMM_BLOCKS syntax, GEMMs and whole calls with derived and overridden blocks
 * against the oracle within the K*eps bound, and the list against the public enum.
 * meson runs this file twice: plain, and with RECUR_GEMM_BLOCKS set (blocks_env).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gemm.h"
#include "internal.h"
#include "isa_list.h"
#include "recur_compare.h"
#include "topology.h"

static recur_machine machine(size_t l1d_kib, size_t l2_kib, size_t l3_mib, size_t l3_cores,
                             size_t cores)
{
    recur_machine m;
    memset(&m, 0, sizeof m);
    m.cores = m.logical_cpus = cores;
    m.numa_nodes = 1;
    m.l1d_bytes = l1d_kib << 10;
    m.l2_bytes = l2_kib << 10;
    m.l3_bytes = l3_mib << 20;
    m.l3_cores = l3_cores;
    return m;
}

static const recur_gemm_blocks dflt = {384, 288, 4096};

/* Field by field: struct copies need not copy padding. */
static void assert_same_config(const recur_gemm_config *a, const recur_gemm_config *b)
{
    assert_true(a->ukernel == b->ukernel && a->mr == b->mr && a->nr == b->nr);
    assert_true(a->kc == b->kc && a->mc == b->mc && a->nc == b->nc);
    assert_int_equal(a->blocks_from, b->blocks_from);
    assert_true(a->pack_b_trans == b->pack_b_trans && a->pack_a_rows == b->pack_a_rows &&
                a->pack_a_cols == b->pack_a_cols && a->pack_b_rows == b->pack_b_rows);
}

static void expect_blocks(size_t mr, size_t nr, recur_machine m, size_t kc, size_t mc, size_t nc)
{
    int derived = -1;
    recur_gemm_blocks b = recur_gemm_blocks_derive(mr, nr, &m, dflt, &derived);
    if (b.kc != kc || b.mc != mc || b.nc != nc || !derived)
        fail_msg("%zux%zu on L1d %zu, L2 %zu, L3 %zu / %zu cores: kc %zu mc %zu nc %zu, want "
                 "%zu %zu %zu (derived %d)", mr, nr, m.l1d_bytes, m.l2_bytes, m.l3_bytes,
                 m.l3_cores, b.kc, b.mc, b.nc, kc, mc, nc, derived);
}

/* The numbers docs/kernels.md gives for common caches. */
static void rule_on_known_caches(void **state)
{
    (void)state;
    /* This project's Zen 3 VM: 32 KiB L1d, 512 KiB L2, 32 MiB L3 over 2 cores, AVX2 6x16. */
    expect_blocks(6, 16, machine(32, 512, 32, 2, 2), 512, 126, 4096);
    /* Zen 4 (32 KiB, 1 MiB, 32 MiB over 8 cores), AVX-512 14x32 and AVX2 6x16. */
    expect_blocks(14, 32, machine(32, 1024, 32, 8, 8), 256, 504, 2048);
    expect_blocks(6, 16, machine(32, 1024, 32, 8, 8), 512, 252, 1024);
    /* Zen 5 (48 KiB L1d): AVX-512; AVX2 reaches the upper bound of kc. */
    expect_blocks(14, 32, machine(48, 1024, 32, 8, 8), 384, 336, 1344);
    expect_blocks(6, 16, machine(48, 1024, 32, 8, 8), 512, 252, 1024);
    /* Xeon (48 KiB, 2 MiB, 60 MiB over 32 cores), AVX-512 and AVX2: nc at its floor. */
    expect_blocks(14, 32, machine(48, 2048, 60, 32, 32), 384, 672, 1024);
    expect_blocks(6, 16, machine(48, 2048, 60, 32, 32), 512, 510, 1024);
    /* Neoverse N1 (64 KiB, 1 MiB, 32 MiB over 64 cores), NEON 8x12. */
    expect_blocks(8, 12, machine(64, 1024, 32, 64, 64), 512, 256, 1020);
    /* A small L1d: kc at its lower bound. */
    expect_blocks(6, 16, machine(2, 256, 0, 0, 1), 64, 510, dflt.nc);
}

static void rule_unknown_caches_keep_defaults(void **state)
{
    (void)state;
    recur_machine none = machine(0, 0, 0, 0, 4);
    int derived = -1;
    recur_gemm_blocks b = recur_gemm_blocks_derive(6, 16, &none, dflt, &derived);
    assert_int_equal(derived, 0);
    assert_true(b.kc == dflt.kc && b.mc == dflt.mc && b.nc == dflt.nc);
    /* Only L2 known: kc stays the default and mc is sized for it. */
    recur_machine l2 = machine(0, 512, 0, 0, 4);
    b = recur_gemm_blocks_derive(6, 16, &l2, dflt, &derived);
    assert_int_equal(derived, 1);
    assert_int_equal(b.kc, dflt.kc);
    assert_int_equal(b.mc, (512 * 1024 / 2 / (dflt.kc * 4)) / 6 * 6);
    assert_int_equal(b.nc, dflt.nc);
    /* L3 without its sharing count: every core of the machine shares it. */
    recur_machine l3 = machine(0, 0, 32, 0, 4);
    b = recur_gemm_blocks_derive(6, 16, &l3, dflt, &derived);
    assert_int_equal(b.nc, (32u << 20) / 4 / 2 / (dflt.kc * 4) / 16 * 16);
    /* A table without the blocked driver keeps its constants whatever the machine. */
    recur_gemm_config g = {.mr = 4, .nr = 4, .kc = 7, .mc = 9, .nc = 11};
    recur_machine m = machine(32, 512, 32, 2, 2);
    recur_gemm_config_choose(&g, 0, &m, "64,64,64");
    assert_true(g.kc == 7 && g.mc == 9 && g.nc == 11 && g.blocks_from == RECUR_BLOCKS_DEFAULT);
}

/* Over a grid of plausible caches and tiles: the B micro-panel fits L1d, blocks are
 * whole tiles and stay within their bounds. */
static void rule_invariants(void **state)
{
    (void)state;
    static const size_t tiles[][2] = {{4, 4}, {6, 16}, {8, 12}, {14, 32}};
    static const size_t l1s[] = {16, 32, 48, 64, 128}, l2s[] = {256, 512, 1024, 1280, 2048};
    static const size_t l3s[] = {4, 16, 32, 96, 256}, sharing[] = {1, 2, 8, 16, 64};
    size_t checked = 0;
    for (size_t t = 0; t < 4; t++)
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++)
                for (size_t c = 0; c < 5; c++)
                    for (size_t s = 0; s < 5; s++) {
                        size_t mr = tiles[t][0], nr = tiles[t][1];
                        recur_machine m = machine(l1s[a], l2s[b], l3s[c], sharing[s], sharing[s]);
                        recur_gemm_blocks g = recur_gemm_blocks_derive(mr, nr, &m, dflt, NULL);
                        assert_true(g.kc * nr * sizeof(float) <= m.l1d_bytes);
                        assert_true(g.kc % 16 == 0);
                        assert_true(g.kc >= 64 && g.kc <= 512);
                        assert_true(g.mc % mr == 0 && g.mc >= mr && g.mc <= RECUR_MC_MAX);
                        assert_true(g.nc % nr == 0 && g.nc >= 1024 - nr && g.nc <= RECUR_NC_MAX);
                        /* The A block and the B block take no more than half their cache,
                         * unless the lower bounds (one tile, 1024 columns) make them. */
                        assert_true(g.mc * g.kc * 4 <= m.l2_bytes / 2 || g.mc == mr);
                        assert_true(g.kc * g.nc * 4 <= recur_l3_share(&m) / 2 ||
                                    g.nc == 1024 / nr * nr);
                        checked++;
                    }
    assert_int_equal(checked, 4 * 5 * 5 * 5 * 5);
}

static int parse(const char *s, recur_gemm_blocks *b)
{
    *b = dflt;
    return recur_gemm_blocks_parse(s, 6, 16, b);
}

static void env_syntax(void **state)
{
    (void)state;
    recur_gemm_blocks b;
    assert_int_equal(parse("128,96,512", &b), 1);
    assert_true(b.kc == 128 && b.mc == 96 && b.nc == 512);
    /* mc and nc are rounded up to whole tiles */
    assert_int_equal(parse("100,100,100", &b), 1);
    assert_true(b.kc == 100 && b.mc == 102 && b.nc == 112);
    /* partial: empty or missing fields keep the chosen value */
    assert_int_equal(parse("256", &b), 1);
    assert_true(b.kc == 256 && b.mc == dflt.mc && b.nc == dflt.nc);
    assert_int_equal(parse(",120", &b), 1);
    assert_true(b.kc == dflt.kc && b.mc == 120 && b.nc == dflt.nc);
    assert_int_equal(parse("256,,1024", &b), 1);
    assert_true(b.kc == 256 && b.mc == dflt.mc && b.nc == 1024);
    assert_int_equal(parse(",,64", &b), 1);
    assert_true(b.kc == dflt.kc && b.mc == dflt.mc && b.nc == 64);
    /* the bounds themselves are valid */
    assert_int_equal(parse("1024,4096,8192", &b), 1);
    assert_true(b.kc == RECUR_KC_MAX && b.mc == RECUR_MC_MAX / 6 * 6 && b.nc == RECUR_NC_MAX);
    /* invalid: the whole value is ignored and the blocks are untouched */
    static const char *bad[] = {"", ",", ",,", "abc", "-1", "+256", "0", "256,0", " 256",
                                "256 ", "256;128", "1,2,3,4", "1,2,3,", "1025", "1,4097",
                                "1,1,8193", "99999999999999999999999", "256,96,512x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.kc = 1;
        b.mc = 2;
        b.nc = 3;
        if (recur_gemm_blocks_parse(bad[i], 6, 16, &b) != 0)
            fail_msg("RECUR_GEMM_BLOCKS=\"%s\" accepted", bad[i]);
        assert_true(b.kc == 1 && b.mc == 2 && b.nc == 3);
    }
    assert_int_equal(recur_gemm_blocks_parse(NULL, 6, 16, &b), 0);
}

static void choose_records_the_source(void **state)
{
    (void)state;
    recur_machine known = machine(32, 512, 32, 2, 2), unknown = machine(0, 0, 0, 0, 2);
    recur_gemm_config g = {.mr = 6, .nr = 16, .kc = 384, .mc = 288, .nc = 4096};
    recur_gemm_config_choose(&g, 1, &unknown, NULL);
    assert_true(g.blocks_from == RECUR_BLOCKS_DEFAULT && g.kc == 384 && g.mc == 288);
    recur_gemm_config_choose(&g, 1, &known, "not blocks");
    assert_true(g.blocks_from == RECUR_BLOCKS_DERIVED && g.kc == 512 && g.mc == 126 &&
                g.nc == 4096);
    g.kc = 384, g.mc = 288, g.nc = 4096;
    recur_gemm_config_choose(&g, 1, &known, ",60");
    assert_true(g.blocks_from == RECUR_BLOCKS_OVERRIDE && g.kc == 512 && g.mc == 60 &&
                g.nc == 4096);
    assert_string_equal(recur_gemm_blocks_source_name(RECUR_BLOCKS_DERIVED), "derived");
    assert_string_equal(recur_gemm_blocks_source_name(RECUR_BLOCKS_OVERRIDE), "override");
    assert_string_equal(recur_gemm_blocks_source_name(RECUR_BLOCKS_DEFAULT), "default");
}

/* ---------------------------------------------------------------- results */

static float *falloc(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 64) / 64 * 64);
    assert_non_null(p);
    return p;
}

/* C = A B (+ C) against a double reference: |c - exact| <= gamma(K + 1) * sum of the
 * magnitudes, the bound tests/simd/test_ukernels.c holds every ISA's GEMM to. */
static void check_gemm(const recur_kernel_table *kt, size_t m, size_t n, size_t k, int trans_b,
                       int accumulate, cmp_rng *rng)
{
    float *a = falloc(m * k), *b = falloc(k * n), *c = falloc(m * n), *c0 = falloc(m * n);
    float *scratch = falloc(recur_gemm_scratch_floats(kt));
    cmp_rng_fill(rng, a, m * k, -1.0f, 1.0f);
    cmp_rng_fill(rng, b, k * n, -1.0f, 1.0f);
    cmp_rng_fill(rng, c, m * n, -1.0f, 1.0f);
    memcpy(c0, c, m * n * sizeof(float));
    ptrdiff_t rsb = trans_b ? 1 : (ptrdiff_t)n, csb = trans_b ? (ptrdiff_t)k : 1;
    kt->gemm(kt, m, n, k, a, (ptrdiff_t)k, 1, b, rsb, csb, c, n, accumulate, scratch);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = accumulate ? c0[i * n + j] : 0.0, mag = fabs(s);
            for (size_t p = 0; p < k; p++) {
                double t = (double)a[i * k + p] * b[(ptrdiff_t)p * rsb + (ptrdiff_t)j * csb];
                s += t;
                mag += fabs(t);
            }
            double err = fabs(c[i * n + j] - s), tol = cmp_gamma(k + 1) * mag + 1e-35;
            if (!(err <= tol))
                fail_msg("%s kc %zu mc %zu nc %zu: %zux%zux%zu tb%d acc%d at (%zu,%zu): "
                         "err %g > %g", recur_isa_name(kt->isa), kt->gemm_config.kc,
                         kt->gemm_config.mc, kt->gemm_config.nc, m, n, k, trans_b, accumulate,
                         i, j, err, tol);
        }
    free(a);
    free(b);
    free(c);
    free(c0);
    free(scratch);
}

/* Sizes that cross several KC, MC and NC blocks of the given table. */
static void check_table(const recur_kernel_table *kt, cmp_rng *rng)
{
    const recur_gemm_config *g = &kt->gemm_config;
    size_t m = 2 * g->mc + g->mr + 1, n = 2 * g->nc + g->nr + 3, k = 2 * g->kc + 5;
    check_gemm(kt, m, n, k, 0, 0, rng);
    check_gemm(kt, m, n, k, 1, 1, rng);
    check_gemm(kt, g->mr + 1, g->nr + 1, g->kc + 1, 1, 0, rng); /* one A block */
}

/* The blocked driver with the portable 4x4 microkernel (every CPU) and every SIMD table
 * of this CPU, with the blocks the rule gives a small-cache machine and with a
 * RECUR_GEMM_BLOCKS override. */
static void gemm_with_derived_and_overridden_blocks(void **state)
{
    (void)state;
    recur_kernel_table tables[1 + RECUR_ISA_COUNT];
    size_t nt = 0;
    tables[nt] = *recur_kernels_scalar();
    tables[nt].gemm = recur_gemm_blocked;
    nt++;
    for (int v = 1; v <= RECUR_ISA_COUNT; v++) {
        const recur_kernel_table *kt = recur_kernel_table_get((recur_isa)v);
        if (kt && kt->gemm == recur_gemm_blocked)
            tables[nt++] = *kt;
    }
    recur_machine small = machine(8, 64, 1, 8, 8); /* a few tiles per block */
    cmp_rng rng = {0x5eed};
    for (size_t i = 0; i < nt; i++) {
        recur_gemm_config *g = &tables[i].gemm_config;
        recur_gemm_config_choose(g, 1, &small, NULL);
        assert_int_equal(g->blocks_from, RECUR_BLOCKS_DERIVED);
        check_table(&tables[i], &rng);
        recur_gemm_config_choose(g, 1, &small, "72,20,40");
        assert_int_equal(g->blocks_from, RECUR_BLOCKS_OVERRIDE);
        check_table(&tables[i], &rng);
    }
}

/* Whole forward / BPTT / SGD calls through the public API in a context whose own table
 * copy runs the blocked driver with small blocks, against the scalar oracle (the bounds
 * of tools/recur_compare.h); another context and the process's tables stay as they
 * were. */
static void calls_with_small_blocks_in_one_context(void **state)
{
    (void)state;
    recur_context *ref = NULL, *ctx = NULL, *other = NULL;
    assert_int_equal(recur_context_create(&ref), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ref, RECUR_ISA_SCALAR), RECUR_OK);
    assert_int_equal(recur_context_create(&other), RECUR_OK);
    const recur_gemm_config before = other->kt->gemm_config;
    static const cmp_shape shapes[] = {
        {6, 20, 150, 130, 17, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, 0},
        {3, 33, 70, 97, 0, RECUR_ACT_RELU, RECUR_ACT_IDENTITY, 2},
    };
    for (int v = 1; v <= RECUR_ISA_COUNT; v++) {
        if (!recur_isa_supported((recur_isa)v))
            continue;
        assert_int_equal(recur_context_create(&ctx), RECUR_OK);
        assert_int_equal(recur_context_set_isa(ctx, (recur_isa)v), RECUR_OK);
        if (ctx->table.gemm != recur_gemm_blocked) { /* the oracle: its portable twin */
            ctx->table.gemm = recur_gemm_blocked;
            ctx->table.gemm_bias = recur_gemm_blocked_bias;
        }
        recur_gemm_config *g = &ctx->table.gemm_config;
        g->kc = 64;
        g->mc = 2 * g->mr;
        g->nc = 3 * g->nr;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            cmp_stat st[3];
            assert_int_equal(cmp_check(ref, ctx, &shapes[s], 77 + s, st), 1);
        }
        recur_context_destroy(ctx);
    }
    assert_same_config(&before, &other->kt->gemm_config);
    assert_same_config(&before, &recur_kernel_table_get(RECUR_ISA_AUTO)->gemm_config);
    recur_context_destroy(other);
    recur_context_destroy(ref);
}

/* ---------------------------------------------------------------- this process */

/* The process's tables carry the rule's blocks for this machine, or RECUR_GEMM_BLOCKS's
 * when it is valid (meson's blocks_env run sets it); contexts copy them. */
static void process_tables_follow_machine_and_env(void **state)
{
    (void)state;
    const recur_machine *m = recur_machine_get();
    const char *env = getenv("RECUR_GEMM_BLOCKS");
    recur_context *ctx = NULL;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    int blocked_tables = 0;
    for (int v = 1; v <= RECUR_ISA_COUNT; v++) {
        const recur_kernel_table *kt = recur_kernel_table_get((recur_isa)v);
        const recur_kernel_table *built = v == RECUR_ISA_SCALAR ? recur_kernels_scalar() : NULL;
        if (!kt)
            continue;
        const recur_gemm_config *g = &kt->gemm_config;
        if (kt->gemm != recur_gemm_blocked) {
            assert_int_equal(g->blocks_from, RECUR_BLOCKS_DEFAULT);
            if (built)
                assert_true(g->kc == built->gemm_config.kc && g->nc == built->gemm_config.nc);
            continue;
        }
        blocked_tables++;
        recur_gemm_config want = *g;
        switch (v) { /* the table's own constants, as choose starts from them */
#define RECUR_ISA_DEFAULTS_(NAME, name, runs, rank)                                       \
        case RECUR_ISA_##NAME: want = recur_kernels_##name()->gemm_config; break;
            RECUR_ISA_LIST(RECUR_ISA_DEFAULTS_)
#undef RECUR_ISA_DEFAULTS_
        default: break;
        }
        recur_gemm_config_choose(&want, 1, m, env);
        assert_same_config(&want, g);
        if (env && strcmp(env, "128,60,256") == 0) /* meson's blocks_env */
            assert_true(g->blocks_from == RECUR_BLOCKS_OVERRIDE && g->kc == 128 &&
                        g->mc == (60 + g->mr - 1) / g->mr * g->mr &&
                        g->nc == (256 + g->nr - 1) / g->nr * g->nr); /* NEON: NR 12 */
        else if (!env && m->l1d_bytes)
            assert_int_equal(g->blocks_from, RECUR_BLOCKS_DERIVED);
        if (kt->isa == ctx->kt->isa)
            assert_same_config(g, &ctx->kt->gemm_config);
    }
    printf("# %d blocked table(s); RECUR_GEMM_BLOCKS %s\n", blocked_tables, env ? env : "unset");
    recur_context_destroy(ctx);
}

/* What the sysfs or hwloc detection found is self-consistent. */
static void machine_is_consistent(void **state)
{
    (void)state;
    const recur_machine *m = recur_machine_get();
    assert_true(m->cores >= 1 && m->logical_cpus >= m->cores);
    if (m->l3_bytes && m->l3_cores)
        assert_true(m->l3_cores <= m->cores);
    assert_true(recur_l3_share(m) <= m->l3_bytes);
#if defined(__x86_64__) || defined(__i386__)
    assert_true(strlen(m->cpu_vendor) == 12); /* CPUID's vendor is 12 characters */
    assert_true(m->cpu_family >= 5);
#endif
    recur_machine x = machine(0, 0, 12, 0, 6);
    assert_int_equal(recur_l3_share(&x), (12u << 20) / 6);
    x.l3_cores = 3;
    assert_int_equal(recur_l3_share(&x), (12u << 20) / 3);
}

/* ---------------------------------------------------------------- the ISA list */

static void isa_list_matches_enum(void **state)
{
    (void)state;
    int position = 0;
#define RECUR_ISA_CHECK_(NAME, name, runs, rank)                                         \
    position++;                                                                           \
    assert_int_equal((int)RECUR_ISA_##NAME, position);                                    \
    assert_string_equal(recur_isa_name(RECUR_ISA_##NAME), #name);                         \
    assert_int_equal(recur_isa_supported(RECUR_ISA_##NAME), (runs) && recur_kernels_##name());
    RECUR_ISA_LIST(RECUR_ISA_CHECK_)
#undef RECUR_ISA_CHECK_
    assert_int_equal(position, RECUR_ISA_COUNT);
    assert_int_equal(RECUR_ISA_COUNT, (int)RECUR_ISA_NEON);
    assert_string_equal(recur_isa_name(RECUR_ISA_AUTO), "auto");
    assert_string_equal(recur_isa_name((recur_isa)(RECUR_ISA_COUNT + 1)), "unknown");
    assert_null(recur_kernel_table_get((recur_isa)(RECUR_ISA_COUNT + 1)));
    recur_context *ctx = NULL;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, (recur_isa)(RECUR_ISA_COUNT + 1)),
                     RECUR_ERR_INVALID_ARGUMENT);
    recur_context_destroy(ctx);
    /* The best ISA is the highest-ranked one that runs. */
    int best_rank = -1;
    recur_isa best = RECUR_ISA_SCALAR;
#define RECUR_ISA_BEST_(NAME, name, runs, rank)                                          \
    if (recur_isa_supported(RECUR_ISA_##NAME) && (rank) > best_rank) {                    \
        best_rank = (rank);                                                               \
        best = RECUR_ISA_##NAME;                                                          \
    }
    RECUR_ISA_LIST(RECUR_ISA_BEST_)
#undef RECUR_ISA_BEST_
    assert_int_equal(recur_isa_best(), best);
}

/* RECUR_ISA takes every name of the list. */
static void isa_env_takes_every_name(void **state)
{
    (void)state;
    const char *saved = getenv("RECUR_ISA");
    char *copy = saved ? strdup(saved) : NULL;
#define RECUR_ISA_ENV_(NAME, name, runs, rank)                                           \
    {                                                                                     \
        recur_context *c = NULL;                                                          \
        assert_int_equal(setenv("RECUR_ISA", #name, 1), 0);                               \
        recur_status st = recur_context_create(&c);                                       \
        if (recur_isa_supported(RECUR_ISA_##NAME)) {                                      \
            assert_int_equal(st, RECUR_OK);                                               \
            assert_int_equal(recur_context_isa(c), RECUR_ISA_##NAME);                     \
            recur_context_destroy(c);                                                     \
        } else {                                                                          \
            assert_int_equal(st, RECUR_ERR_UNSUPPORTED_ISA);                              \
        }                                                                                 \
    }
    RECUR_ISA_LIST(RECUR_ISA_ENV_)
#undef RECUR_ISA_ENV_
    if (copy)
        setenv("RECUR_ISA", copy, 1);
    else
        unsetenv("RECUR_ISA");
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_on_known_caches),
        cmocka_unit_test(rule_unknown_caches_keep_defaults),
        cmocka_unit_test(rule_invariants),
        cmocka_unit_test(env_syntax),
        cmocka_unit_test(choose_records_the_source),
        cmocka_unit_test(gemm_with_derived_and_overridden_blocks),
        cmocka_unit_test(calls_with_small_blocks_in_one_context),
        cmocka_unit_test(process_tables_follow_machine_and_env),
        cmocka_unit_test(machine_is_consistent),
        cmocka_unit_test(isa_list_matches_enum),
        cmocka_unit_test(isa_env_takes_every_name),
    };
    return cmocka_run_group_tests_name("blocking", tests, NULL, NULL);
}
