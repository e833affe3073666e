/*
 * GEMM pieces around the blocked loop nest (src/gemm_blocked.c): the cache blocks
 * chosen from the machine, and one thread's block of a GEMM shared by a team.
 */
#include <stdint.h>
#include <string.h>
#include "gemm.h"
#include "parallel.h"

/* ---------------------------------------------------------------- cache blocks */

static size_t round_down(size_t v, size_t unit)
{
    return v / unit * unit;
}

static size_t round_up(size_t v, size_t unit)
{
    return (v + unit - 1) / unit * unit;
}

static size_t clamp(size_t v, size_t lo, size_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The rule, after the BLIS analytical model (Low, Igual, Smith, Quintana-Orti,
 * "Analytical modeling is enough for high-performance BLIS", ACM TOMS 2016), for the
 * loop nest of gemm_blocked.c: one kc x NR B micro-panel is reused from L1 by the
 * whole ir loop while MR x kc A micro-panels stream past it from L2; the mc x kc A
 * block is reused from L2 by the whole jr loop; the kc x nc B block from L3 by the
 * whole ic loop.
 *
 *   kc = L1d / (NR * 4 bytes),        down to a multiple of 16, in [64, 512]
 *   mc = (L2 / 2) / (kc * 4 bytes),   down to a multiple of MR, in [MR, 4096]
 *   nc = (L3 share / 2) / (kc * 4),   down to a multiple of NR, in [1024, 8192]
 *
 * The A and B blocks get half of their cache, the other half being for what streams
 * through it (B micro-panels and C tiles through L2; A blocks and C through L3) and
 * for imperfect associativity. The B micro-panel gets about all of L1d rather than
 * BLIS's half or so: every kc block costs one more load and store of every C tile
 * (MR strided rows each time), while the panel lines that the streaming A
 * micro-panels evict come back from L2 in sequence, and an L2 that feeds 32-64 bytes
 * a cycle keeps up with the 15 (6x16) or 13 (14x32) bytes a cycle the microkernel
 * reads at two FMAs a cycle even if every read missed L1. Measured on Zen 3 (32 KiB
 * L1d, AVX2 6x16): kc 512 was 1-4% faster than half of L1d (kc 256) on the 1024^3
 * GEMM and five forward / BPTT rows (H 512 and 1760), kc 128 3% slower; the AVX-512 table's constants
 * had settled on kc 512 too (a 64 KiB B micro-panel on a 48 KiB L1d). The upper
 * bound keeps kc where it was measured. nc has a floor because a core's L3 share is
 * small on many-core chips (under 1 MiB on a 64-core Neoverse) and a B block that
 * misses L3 costs little: each of its floats then serves mc rows of A, mc / 2 flops
 * per byte from memory, while every nc block packs all of A once more.
 * L3 share: one L3 instance divided by the cores that share it. A multiple of 16
 * keeps each k step of the panels on whole cache lines for any MR and NR. The
 * numbers for common caches are in docs/kernels.md.
 */
enum { KC_RULE_MIN = 64, KC_RULE_MAX = 512, NC_RULE_MIN = 1024 };

recur_gemm_blocks recur_gemm_blocks_derive(size_t mr, size_t nr, const recur_machine *m,
                                           recur_gemm_blocks dflt, int *derived)
{
    recur_gemm_blocks b = dflt;
    int any = 0;
    if (m->l1d_bytes) {
        b.kc = clamp(round_down(m->l1d_bytes / (nr * sizeof(float)), 16), KC_RULE_MIN,
                     KC_RULE_MAX);
        any = 1;
    }
    if (m->l2_bytes) {
        b.mc = round_down(clamp(m->l2_bytes / 2 / (b.kc * sizeof(float)), mr, RECUR_MC_MAX), mr);
        any = 1;
    }
    size_t l3 = recur_l3_share(m);
    if (l3) {
        size_t lo = NC_RULE_MIN > nr ? NC_RULE_MIN : nr;
        b.nc = round_down(clamp(l3 / 2 / (b.kc * sizeof(float)), lo, RECUR_NC_MAX), nr);
        any = 1;
    }
    if (derived)
        *derived = any;
    return b;
}

/* A plain decimal count in [1, max] running to the next ',' or the end; *s moves past
 * it. 0 for an empty field, SIZE_MAX for anything invalid. */
static size_t parse_field(const char **s, size_t max)
{
    const char *p = *s;
    size_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (size_t)(*p - '0');
        if (v > max)
            return SIZE_MAX;
    }
    if (*p != '\0' && *p != ',')
        return SIZE_MAX;
    if (p != *s && v == 0)
        return SIZE_MAX;
    *s = p;
    return v;
}

int recur_gemm_blocks_parse(const char *s, size_t mr, size_t nr, recur_gemm_blocks *blocks)
{
    if (!s || !*s)
        return 0;
    static const size_t max[3] = {RECUR_KC_MAX, RECUR_MC_MAX, RECUR_NC_MAX};
    size_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        v[i] = parse_field(&s, max[i]);
        if (v[i] == SIZE_MAX)
            return 0;
        if (*s == '\0')
            break;
        s++; /* the comma */
        if (i == 2)
            return 0; /* a fourth field */
    }
    if (!v[0] && !v[1] && !v[2])
        return 0;
    if (v[0])
        blocks->kc = v[0];
    /* Whole tiles, up when that stays within the bound */
    if (v[1])
        blocks->mc = round_up(v[1], mr) <= RECUR_MC_MAX ? round_up(v[1], mr) : v[1] / mr * mr;
    if (v[2])
        blocks->nc = round_up(v[2], nr) <= RECUR_NC_MAX ? round_up(v[2], nr) : v[2] / nr * nr;
    return 1;
}

void recur_gemm_config_choose(recur_gemm_config *g, int blocked, const recur_machine *m,
                              const char *env)
{
    g->blocks_from = RECUR_BLOCKS_DEFAULT;
    if (!blocked)
        return;
    recur_gemm_blocks b = {g->kc, g->mc, g->nc};
    int derived = 0;
    b = recur_gemm_blocks_derive(g->mr, g->nr, m, b, &derived);
    if (derived)
        g->blocks_from = RECUR_BLOCKS_DERIVED;
    if (recur_gemm_blocks_parse(env, g->mr, g->nr, &b))
        g->blocks_from = RECUR_BLOCKS_OVERRIDE;
    g->kc = b.kc;
    g->mc = b.mc;
    g->nc = b.nc;
}

const char *recur_gemm_blocks_source_name(recur_gemm_blocks_source s)
{
    switch (s) {
    case RECUR_BLOCKS_DERIVED: return "derived";
    case RECUR_BLOCKS_OVERRIDE: return "override";
    default: return "default";
    }
}

/* ---------------------------------------------------------------- team GEMM */

void recur_par_gemm(const recur_kernel_table *kt, size_t tid, size_t nt, size_t m, size_t n,
                    size_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                    ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc, int accumulate,
                    const float *row_bias, float *scratch)
{
    size_t mr = kt->gemm_config.mr ? kt->gemm_config.mr : 1;
    size_t nr = kt->gemm_config.nr ? kt->gemm_config.nr : 1;
    size_t i0 = 0, i1 = m, j0 = 0, j1 = n;
    /* Whole register tiles per thread; the dimension with more tiles balances better. */
    if ((n + nr - 1) / nr >= (m + mr - 1) / mr)
        recur_split_units(n, nr, nt, tid, &j0, &j1);
    else
        recur_split_units(m, mr, nt, tid, &i0, &i1);
    if (i0 >= i1 || j0 >= j1)
        return;
    if (row_bias && kt->gemm_bias) { /* bias added in the GEMM: no pass */
        kt->gemm_bias(kt, i1 - i0, j1 - j0, k, a + (ptrdiff_t)i0 * rsa, rsa, csa,
                      b + (ptrdiff_t)j0 * csb, rsb, csb, row_bias + j0, c + i0 * ldc + j0,
                      ldc, scratch);
        return;
    }
    if (row_bias) {
        for (size_t i = i0; i < i1; i++)
            memcpy(c + i * ldc + j0, row_bias + j0, (j1 - j0) * sizeof(float));
        accumulate = 1;
    }
    kt->gemm(kt, i1 - i0, j1 - j0, k, a + (ptrdiff_t)i0 * rsa, rsa, csa,
             b + (ptrdiff_t)j0 * csb, rsb, csb, c + i0 * ldc + j0, ldc, accumulate, scratch);
}
