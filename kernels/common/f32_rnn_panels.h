/*
 * The packed recurrent kernels (pack_rec, rnn_step, bptt_step), written once for every
 * ISA whose vectors hold a panel row in two registers. An ISA's f32_rnn__<isa>.c
 * includes its vector header (<isa>_vec.h: the V_* operations below), defines the
 * sizes and choices listed here, then includes this file; it is compiled with that
 * ISA's flags.
 *
 *   PR             rows per packed panel, two vectors (2 * V_LANES)
 *   NB_MAX         batch rows per register tile (divides RECUR_BATCH_QUANTUM)
 *   KS_FOR(nb)     independent k chains for a tile of nb rows (covers FMA latency)
 *   PREFETCH_NEXT  1: with several batch tiles, the tiles of a panel fetch the next
 *                  panel into L2, each its share, when h >= PREFETCH_MIN_H
 *   RNN_FN(name)   the ISA's function name, e.g. recur_f32_##name##__avx2
 *
 * Packed layout: panel p holds, for k = 0 .. H-1, the PR values M(PR p + j, k)
 * contiguously (zero-padded past `rows`). One k step of a panel is then two vector loads
 * that multiply a broadcast hprev[n][k], so:
 *  - N = 1 (matvec, bound by streaming M): 4 independent k chains (8 accumulators);
 *  - batched: each loaded panel step is reused by up to NB_MAX batch rows; the panel
 *    stays in L1/L2 while all batch tiles use it.
 * The activation (or f') is applied in registers before the single store.
 */

size_t RNN_FN(packed_rec_floats)(size_t h, size_t rows)
{
    return (rows + PR - 1) / PR * PR * h;
}

void RNN_FN(pack_rec)(size_t h, size_t rows, const float *m, ptrdiff_t rs, ptrdiff_t cs,
                      float *packed)
{
    /* Forward (U, rows contiguous): the GEMM's transposing packer has this layout. */
    if (cs == 1 && rs > 0) {
        RNN_FN(pack_b_trans)(h, rows, m, (size_t)rs, packed);
        return;
    }
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        float *dst = packed + r0 * h;
        if (rs == 1) { /* backward (U^T): each k step is a contiguous run of U */
            V_MASK_T k0 = V_MASK(nr), k1 = V_MASK(nr > V_LANES ? nr - V_LANES : 0);
            for (size_t k = 0; k < h; k++) {
                const float *src = m + r0 + (ptrdiff_t)k * cs;
                V_STORE(dst + k * PR, V_LOADM(k0, src));
                V_STORE(dst + k * PR + V_LANES, V_LOADM(k1, src + V_LANES));
            }
            continue;
        }
        for (size_t k = 0; k < h; k++)
            for (size_t j = 0; j < PR; j++)
                dst[k * PR + j] = j < nr ? m[(ptrdiff_t)(r0 + j) * rs + (ptrdiff_t)k * cs]
                                         : 0.0f;
    }
}

/* The next panel's lines are requested in bursts at least this many k steps apart:
 * one line per k step costs a loop exit per step when a tile's share is small (-12 %
 * at H1760 N16 on an AMD EPYC Zen 3, family 25 model 1; 4 and 64 steps were 1-5 %
 * slower than 16 there). A count of k steps, so the exits cost the same fraction of a
 * tile's FMAs on any core. */
#define PF_BLOCK_MIN 16
/* 64-byte cache lines, counted in floats. */
#define PF_LINE 16
_Static_assert(PR % PF_LINE == 0, "a panel's k step is whole cache lines");

/*
 * acc[i] = sum_k panel(k) * x[i][k] for nb batch rows, using ks independent chains
 * over k (chain c takes k = c mod ks), summed at the end. nb and ks are literals at
 * every call site, so the arrays live in registers. pf (or NULL): pf_lines lines of
 * the next panel to fetch into L2, spread evenly over the k loop. Blocks of the loop
 * are multiples of ks, so the chains, and the result, do not depend on the prefetch.
 */
V_INLINE void panel_dot(const int nb, const int ks, size_t h, const float *panel,
                        const float *x, size_t ldx, const float *pf, size_t pf_lines,
                        V_T acc[NB_MAX][2])
{
    V_T part[4][NB_MAX][2];
#pragma GCC unroll 4
    for (int c = 0; c < ks; c++)
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++)
            part[c][i][0] = part[c][i][1] = V_ZERO();

    const size_t kfull = h - h % (size_t)ks;
    size_t every = kfull, per = 0;
    if (PREFETCH_NEXT && pf && pf_lines) {
        size_t steps = kfull / (size_t)ks, blocks = kfull / PF_BLOCK_MIN;
        blocks = blocks < pf_lines ? blocks : pf_lines;
        blocks = blocks ? blocks : 1;
        every = steps / blocks * (size_t)ks;
        per = (pf_lines + blocks - 1) / blocks;
    }
    size_t k = 0;
    while (k < kfull) {
        size_t kend = kfull;
        if (PREFETCH_NEXT && pf_lines) {
            for (size_t j = 0; j < per && pf_lines; j++, pf_lines--, pf += PF_LINE)
                _mm_prefetch((const char *)pf, _MM_HINT_T1);
            kend = kfull - k > every ? k + every : kfull;
        }
        for (; k < kend; k += (size_t)ks) {
#pragma GCC unroll 4
            for (int c = 0; c < ks; c++) {
                V_T m0 = V_LOAD(panel + (k + c) * PR);
                V_T m1 = V_LOAD(panel + (k + c) * PR + V_LANES);
#pragma GCC unroll 12
                for (int i = 0; i < nb; i++) {
                    V_T xv = V_SET1(x[(size_t)i * ldx + k + c]);
                    part[c][i][0] = V_FMA(m0, xv, part[c][i][0]);
                    part[c][i][1] = V_FMA(m1, xv, part[c][i][1]);
                }
            }
        }
    }
    for (; k < h; k++) {
        V_T m0 = V_LOAD(panel + k * PR);
        V_T m1 = V_LOAD(panel + k * PR + V_LANES);
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++) {
            V_T xv = V_SET1(x[(size_t)i * ldx + k]);
            part[0][i][0] = V_FMA(m0, xv, part[0][i][0]);
            part[0][i][1] = V_FMA(m1, xv, part[0][i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        acc[i][0] = part[0][i][0];
        acc[i][1] = part[0][i][1];
#pragma GCC unroll 4
        for (int c = 1; c < ks; c++) {
            acc[i][0] = V_ADD(acc[i][0], part[c][i][0]);
            acc[i][1] = V_ADD(acc[i][1], part[c][i][1]);
        }
    }
}

/* out = f(pre + acc) on one tile; pre is read before out is written (they may alias).
 * A full panel uses plain loads and stores (masked stores are slow on AMD cores). */
V_INLINE void rnn_tile(const int nb, size_t h, size_t nr, const float *panel,
                       const float *pf, size_t pf_lines, const float *hprev, size_t ld_hprev,
                       const float *pre, size_t ld_pre, float *out, size_t ld_out,
                       recur_activation f)
{
    V_T acc[NB_MAX][2];
    panel_dot(nb, KS_FOR(nb), h, panel, hprev, ld_hprev, pf, pf_lines, acc);
    if (nr == PR) {
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++) {
            const float *p = pre + (size_t)i * ld_pre;
            float *o = out + (size_t)i * ld_out;
            V_T v0 = V_ADD(V_LOAD(p), acc[i][0]);
            V_T v1 = V_ADD(V_LOAD(p + V_LANES), acc[i][1]);
            V_STORE(o, V_ACT(f, v0));
            V_STORE(o + V_LANES, V_ACT(f, v1));
        }
        return;
    }
    V_MASK_T k0 = V_MASK(nr), k1 = V_MASK(nr > V_LANES ? nr - V_LANES : 0);
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        const float *p = pre + (size_t)i * ld_pre;
        float *o = out + (size_t)i * ld_out;
        V_T v0 = V_ADD(V_LOADM(k0, p), acc[i][0]);
        V_T v1 = V_ADD(V_LOADM(k1, p + V_LANES), acc[i][1]);
        V_STOREM(o, k0, V_ACT(f, v0));
        V_STOREM(o + V_LANES, k1, V_ACT(f, v1));
    }
}

/* da = (dh + acc) * f'(h) on one tile; dh is read before da is written (may alias). */
V_INLINE void bptt_tile(const int nb, size_t h, size_t nr, const float *panel,
                        const float *pf, size_t pf_lines, const float *da_next,
                        size_t ld_da_next, const float *dh, size_t ld_dh,
                        const float *hcur, size_t ld_h, float *da, size_t ld_da,
                        recur_activation f)
{
    V_T acc[NB_MAX][2];
    if (da_next) {
        panel_dot(nb, KS_FOR(nb), h, panel, da_next, ld_da_next, pf, pf_lines, acc);
    } else {
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++)
            acc[i][0] = acc[i][1] = V_ZERO();
    }
    if (nr == PR) {
#pragma GCC unroll 12
        for (int i = 0; i < nb; i++) {
            V_T g0 = acc[i][0], g1 = acc[i][1];
            if (dh) {
                const float *d = dh + (size_t)i * ld_dh;
                g0 = V_ADD(V_LOAD(d), g0);
                g1 = V_ADD(V_LOAD(d + V_LANES), g1);
            }
            const float *y = hcur + (size_t)i * ld_h;
            float *o = da + (size_t)i * ld_da;
            V_STORE(o, V_MUL_ACT_GRAD(f, g0, V_LOAD(y)));
            V_STORE(o + V_LANES, V_MUL_ACT_GRAD(f, g1, V_LOAD(y + V_LANES)));
        }
        return;
    }
    V_MASK_T k0 = V_MASK(nr), k1 = V_MASK(nr > V_LANES ? nr - V_LANES : 0);
#pragma GCC unroll 12
    for (int i = 0; i < nb; i++) {
        V_T g0 = acc[i][0], g1 = acc[i][1];
        if (dh) {
            const float *d = dh + (size_t)i * ld_dh;
            g0 = V_ADD(V_LOADM(k0, d), g0);
            g1 = V_ADD(V_LOADM(k1, d + V_LANES), g1);
        }
        const float *y = hcur + (size_t)i * ld_h;
        float *o = da + (size_t)i * ld_da;
        V_STOREM(o, k0, V_MUL_ACT_GRAD(f, g0, V_LOADM(k0, y)));
        V_STOREM(o + V_LANES, k1, V_MUL_ACT_GRAD(f, g1, V_LOADM(k1, y + V_LANES)));
    }
}

/* Calls tile(nb, ...) with nb as a literal, for nb = 1 .. NB_MAX (<= 12). */
#define NB_CLAMP(n) ((n) < NB_MAX ? (n) : NB_MAX)
#define DISPATCH_NB(nb, call)                                                              \
    switch (nb) {                                                                          \
    case 1: call(NB_CLAMP(1)); break;                                                      \
    case 2: call(NB_CLAMP(2)); break;                                                      \
    case 3: call(NB_CLAMP(3)); break;                                                      \
    case 4: call(NB_CLAMP(4)); break;                                                      \
    case 5: call(NB_CLAMP(5)); break;                                                      \
    case 6: call(NB_CLAMP(6)); break;                                                      \
    case 7: call(NB_CLAMP(7)); break;                                                      \
    case 8: call(NB_CLAMP(8)); break;                                                      \
    case 9: call(NB_CLAMP(9)); break;                                                      \
    case 10: call(NB_CLAMP(10)); break;                                                    \
    case 11: call(NB_CLAMP(11)); break;                                                    \
    default: call(NB_CLAMP(12)); break;                                                    \
    }
_Static_assert(NB_MAX >= 1 && NB_MAX <= 12, "DISPATCH_NB covers tiles of 1 to 12 rows");

/*
 * The batch tiles of one step call. Each RECUR_BATCH_QUANTUM-row chunk of the batch is
 * tiled on its own (a thread's batch block starts at a multiple of it, so it is tiled as
 * in the whole batch: same tiles, same k chains, same bits): whole chunks in NB_MAX-row
 * tiles, the last partial chunk of c rows in ceil(c / NB_MAX) tiles as even as
 * possible, the larger first: 32 rows are 6+6+5+5+5+5 rather than 6x5 + 2 (a 2-row tile
 * streams the panel, larger than L1 at these sizes, from L2 at three times the bytes per
 * FMA). Made once per call, so each tile costs two comparisons.
 */
typedef struct tile_plan {
    size_t tail0;   /* first row of the partial chunk (batch when there is none) */
    size_t base;    /* its smaller tile */
    size_t big_end; /* its tiles of base + 1 rows end here */
    size_t count;   /* tiles in all */
} tile_plan;

static tile_plan tile_plan_make(size_t batch)
{
    size_t c = batch % RECUR_BATCH_QUANTUM;
    tile_plan p = {batch - c, NB_MAX, batch - c, (batch - c) / NB_MAX};
    if (c) {
        size_t t = (c + NB_MAX - 1) / NB_MAX;
        p.base = c / t;
        p.big_end = p.tail0 + c % t * (p.base + 1);
        p.count += t;
    }
    return p;
}

/* Rows of the tile that starts at row n0. */
static inline size_t tile_rows(const tile_plan *p, size_t n0)
{
    return n0 < p->tail0 ? NB_MAX : n0 < p->big_end ? p->base + 1 : p->base;
}
_Static_assert(RECUR_BATCH_QUANTUM % NB_MAX == 0, "whole chunks are tiled NB_MAX rows at a time");

/* With several batch tiles a panel is read once per tile, which breaks the sequential
 * stream the hardware prefetches: the tiles fetch the next panel into L2 (from L3 or
 * memory when the matrix is larger than L2), tile t of T the t-th T-th of its lines
 * (those of k steps h t / T to h (t + 1) / T), needed a tile's time later or more.
 * One tile fetching it all holds as many line fills in flight as the core allows
 * while its own loads from L2 wait for them: at H1760-H2560, N 32-64 on an AMD EPYC Zen 3 the
 * step ran 5-10 % slower so. */
static const float *next_panel(size_t batch, size_t r0, size_t rows, const float *panel,
                               size_t h)
{
    return PREFETCH_NEXT && batch > NB_MAX && h >= PREFETCH_MIN_H && r0 + PR < rows
               ? panel + PR * h
               : NULL;
}

/* Tile t's share of the next panel: its first line (or NULL) and the line count. */
static const float *next_share(const float *next, size_t h, size_t t, size_t count,
                               size_t *lines)
{
    size_t all = h * PR / PF_LINE, l0 = all * t / count, l1 = all * (t + 1) / count;
    *lines = next ? l1 - l0 : 0;
    return next ? next + l0 * PF_LINE : NULL;
}

void RNN_FN(rnn_step)(size_t batch, size_t h, size_t rows, const float *packed,
                      const float *hprev, size_t ld_hprev, const float *pre, size_t ld_pre,
                      float *out, size_t ld_out, recur_activation f)
{
    const tile_plan tiles = tile_plan_make(batch);
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        const float *next = next_panel(batch, r0, rows, panel, h);
        for (size_t n0 = 0, nb, t = 0; n0 < batch; n0 += nb, t++) {
            nb = tile_rows(&tiles, n0);
            size_t lines;
            const float *pf = next_share(next, h, t, tiles.count, &lines);
#define RNN_TILE(NB)                                                                       \
    rnn_tile(NB, h, nr, panel, pf, lines, hprev + n0 * ld_hprev, ld_hprev,                  \
             pre + n0 * ld_pre + r0, ld_pre, out + n0 * ld_out + r0, ld_out, f)
            DISPATCH_NB(nb, RNN_TILE)
#undef RNN_TILE
        }
    }
}

void RNN_FN(bptt_step)(size_t batch, size_t h, size_t rows, const float *packed,
                       const float *da_next, size_t ld_da_next, const float *dh, size_t ld_dh,
                       const float *hcur, size_t ld_h, float *da, size_t ld_da,
                       recur_activation f)
{
    const tile_plan tiles = tile_plan_make(batch);
    for (size_t r0 = 0; r0 < rows; r0 += PR) {
        size_t nr = rows - r0 < PR ? rows - r0 : PR;
        const float *panel = packed + r0 * h;
        const float *next = next_panel(batch, r0, rows, panel, h);
        for (size_t n0 = 0, nb, t = 0; n0 < batch; n0 += nb, t++) {
            nb = tile_rows(&tiles, n0);
            size_t lines;
            const float *pf = next_share(next, h, t, tiles.count, &lines);
            const float *dn = da_next ? da_next + n0 * ld_da_next : NULL;
            const float *dhp = dh ? dh + n0 * ld_dh + r0 : NULL;
#define BPTT_TILE(NB)                                                                      \
    bptt_tile(NB, h, nr, panel, pf, lines, dn, ld_da_next, dhp, ld_dh,                      \
              hcur + n0 * ld_h + r0, ld_h, da + n0 * ld_da + r0, ld_da, f)
            DISPATCH_NB(nb, BPTT_TILE)
#undef BPTT_TILE
        }
    }
}
