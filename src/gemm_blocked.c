/*
 * Blocked, packed GEMM driver (the BLIS loop nest), written once for every ISA.
 * An ISA supplies only the microkernel and its MR x NR tile and KC/MC/NC blocks
 * (recur_gemm_config). Edge panels are zero-padded while packing, so the
 * microkernel always runs full tiles and only stores the valid m x n corner.
 */
#include <string.h>
#include "kernel_table.h"

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

size_t recur_gemm_scratch_floats(const recur_kernel_table *kt)
{
    const recur_gemm_config *g = &kt->gemm_config;
    size_t mc = (g->mc + g->mr - 1) / g->mr * g->mr;
    size_t nc = (g->nc + g->nr - 1) / g->nr * g->nr;
    return mc * g->kc + g->kc * nc;
}

/* A block (mc x kc) -> panels of MR rows; each panel stores kc columns of MR floats. */
static void pack_a(const recur_gemm_config *g, size_t mc, size_t kc, const float *a,
                   ptrdiff_t rsa, ptrdiff_t csa, float *dst)
{
    const size_t mr = g->mr;
    if (csa == 1 && rsa > 1 && g->pack_a_rows) {
        g->pack_a_rows(mc, kc, a, (size_t)rsa, dst);
        return;
    }
    if (rsa == 1 && csa > 1 && g->pack_a_cols) {
        g->pack_a_cols(mc, kc, a, (size_t)csa, dst);
        return;
    }
    if (rsa == 1) { /* A stored transposed (dW = dA^T x): each k step is a run of A */
        for (size_t i0 = 0; i0 < mc; i0 += mr) {
            size_t mi = min_sz(mr, mc - i0);
            for (size_t p = 0; p < kc; p++, dst += mr) {
                memcpy(dst, a + i0 + (ptrdiff_t)p * csa, mi * sizeof(float));
                if (mi < mr)
                    memset(dst + mi, 0, (mr - mi) * sizeof(float));
            }
        }
        return;
    }
    for (size_t i0 = 0; i0 < mc; i0 += mr) {
        size_t mi = min_sz(mr, mc - i0);
        for (size_t p = 0; p < kc; p++) {
            for (size_t i = 0; i < mi; i++)
                dst[i] = a[(ptrdiff_t)(i0 + i) * rsa + (ptrdiff_t)p * csa];
            for (size_t i = mi; i < mr; i++)
                dst[i] = 0.0f;
            dst += mr;
        }
    }
}

/* B stored transposed (rsb == 1): each column j is contiguous over k, so read it
 * in order and scatter into the panel (the panel stays in L1 while it fills). */
static void pack_b_trans(size_t kc, size_t nc, size_t nr, const float *b, ptrdiff_t csb,
                         float *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += nr, dst += nr * kc) {
        size_t nj = min_sz(nr, nc - j0);
        for (size_t j = 0; j < nr; j++) {
            const float *src = b + (ptrdiff_t)(j0 + j) * csb;
            if (j < nj)
                for (size_t p = 0; p < kc; p++)
                    dst[p * nr + j] = src[p];
            else
                for (size_t p = 0; p < kc; p++)
                    dst[p * nr + j] = 0.0f;
        }
    }
}

/* B block (kc x nc) -> panels of NR columns; each panel stores kc rows of NR floats. */
static void pack_b(const recur_gemm_config *g, size_t kc, size_t nc, const float *b,
                   ptrdiff_t rsb, ptrdiff_t csb, float *dst)
{
    const size_t nr = g->nr;
    if (rsb == 1 && csb != 1 && csb > 0) {
        if (g->pack_b_trans)
            g->pack_b_trans(kc, nc, b, (size_t)csb, dst);
        else
            pack_b_trans(kc, nc, nr, b, csb, dst);
        return;
    }
    if (csb == 1 && rsb > 1 && g->pack_b_rows) {
        g->pack_b_rows(kc, nc, b, (size_t)rsb, dst);
        return;
    }
    /* Row by row, so the reads run along B's rows (which the hardware prefetches)
     * rather than down a column panel, one cache line per row and page. */
    for (size_t p = 0; p < kc; p++) {
        const float *src = b + (ptrdiff_t)p * rsb;
        for (size_t j0 = 0; j0 < nc; j0 += nr) {
            size_t nj = min_sz(nr, nc - j0);
            float *d = dst + j0 * kc + p * nr;
            if (csb == 1) {
                memcpy(d, src + j0, nj * sizeof(float));
            } else {
                for (size_t j = 0; j < nj; j++)
                    d[j] = src[(ptrdiff_t)(j0 + j) * csb];
            }
            for (size_t j = nj; j < nr; j++)
                d[j] = 0.0f;
        }
    }
}

/* Columns of B packed per chunk in the single-A-block path: a chunk of panels is a
 * quarter of L2 at most (see gemm_blocked). */
static size_t b_chunk(const recur_gemm_config *g, size_t kc)
{
    size_t chunk = (65536 / kc) / g->nr * g->nr;
    return chunk < g->nr ? g->nr : chunk > g->nc ? g->nc / g->nr * g->nr : chunk;
}

size_t recur_gemm_packed_b_floats(const recur_kernel_table *kt, size_t n, size_t k)
{
    size_t nr = kt->gemm_config.nr;
    return k * ((n + nr - 1) / nr * nr);
}

/* All of B packed in the order the single-A-block path packs it: for each KC block,
 * its chunks of NR panels. */
void recur_gemm_pack_b_all(const recur_kernel_table *kt, size_t n, size_t k, const float *b,
                           ptrdiff_t rsb, ptrdiff_t csb, float *dst)
{
    const recur_gemm_config *g = &kt->gemm_config;
    for (size_t pc = 0; pc < k; pc += g->kc) {
        size_t kc = min_sz(g->kc, k - pc), chunk = b_chunk(g, kc);
        for (size_t jc = 0; jc < n; jc += chunk) {
            size_t nc = min_sz(chunk, n - jc);
            pack_b(g, kc, nc, b + (ptrdiff_t)pc * rsb + (ptrdiff_t)jc * csb, rsb, csb, dst);
            dst += kc * ((nc + g->nr - 1) / g->nr * g->nr);
        }
    }
}

/* All entry points: bias (n floats or NULL) is used only when accumulate == 0; bpre
 * (or NULL) is B packed by recur_gemm_pack_b_all, only for m <= MC. */
static void gemm_blocked(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                         const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                         ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc,
                         int accumulate, const float *bias, const float *bpre, float *scratch)
{
    const recur_gemm_config *g = &kt->gemm_config;
    const size_t mr = g->mr, nr = g->nr;
    const size_t mc_max = (g->mc + mr - 1) / mr * mr;
    float *apack = scratch;
    float *bpack = scratch + mc_max * g->kc;

    if (k == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    c[i * ldc + j] = bias ? bias[j] : 0.0f;
        return;
    }
    if (m <= mc_max) {
        /* One A block: B is packed a chunk of panels at a time (a quarter of L2 at
         * most) just before the few tiles that use it, rather than as a kc x nc
         * block of up to MiBs written past L2 ahead of them. */
        for (size_t pc = 0; pc < k; pc += g->kc) {
            size_t kc = min_sz(g->kc, k - pc);
            int acc = accumulate || pc > 0;
            const float *bb = acc ? NULL : bias;
            size_t chunk = b_chunk(g, kc);
            pack_a(g, m, kc, a + (ptrdiff_t)pc * csa, rsa, csa, apack);
            for (size_t jc = 0; jc < n; jc += chunk) {
                size_t nc = min_sz(chunk, n - jc);
                const float *bp = bpre;
                if (bpre)
                    bpre += kc * ((nc + nr - 1) / nr * nr);
                else
                    pack_b(g, kc, nc, b + (ptrdiff_t)pc * rsb + (ptrdiff_t)jc * csb, rsb, csb,
                           bpack);
                if (!bp)
                    bp = bpack;
                for (size_t jr = 0; jr < nc; jr += nr)
                    for (size_t ir = 0; ir < m; ir += mr)
                        g->ukernel(kc, apack + (ir / mr) * mr * kc, bp + jr * kc,
                                   c + ir * ldc + jc + jr, ldc, min_sz(mr, m - ir),
                                   min_sz(nr, nc - jr), acc, bb ? bb + jc + jr : NULL);
            }
        }
        return;
    }
    for (size_t jc = 0; jc < n; jc += g->nc) {
        size_t nc = min_sz(g->nc, n - jc);
        for (size_t pc = 0; pc < k; pc += g->kc) {
            size_t kc = min_sz(g->kc, k - pc);
            int acc = accumulate || pc > 0;
            const float *bb = acc || !bias ? NULL : bias + jc;
            pack_b(g, kc, nc, b + (ptrdiff_t)pc * rsb + (ptrdiff_t)jc * csb, rsb, csb,
                   bpack);
            for (size_t ic = 0; ic < m; ic += mc_max) {
                size_t mc = min_sz(mc_max, m - ic);
                pack_a(g, mc, kc, a + (ptrdiff_t)ic * rsa + (ptrdiff_t)pc * csa, rsa, csa,
                       apack);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    const float *bp = bpack + (jr / nr) * nr * kc;
                    size_t nj = min_sz(nr, nc - jr);
                    const float *bj = bb ? bb + jr : NULL;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        const float *ap = apack + (ir / mr) * mr * kc;
                        size_t mi = min_sz(mr, mc - ir);
                        g->ukernel(kc, ap, bp, c + (ic + ir) * ldc + jc + jr, ldc, mi, nj,
                                   acc, bj);
                    }
                }
            }
        }
    }
}

void recur_gemm_blocked(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                        ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc,
                        int accumulate, float *scratch)
{
    gemm_blocked(kt, m, n, k, a, rsa, csa, b, rsb, csb, c, ldc, accumulate, NULL, NULL,
                 scratch);
}

void recur_gemm_blocked_bias(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                             const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                             ptrdiff_t rsb, ptrdiff_t csb, const float *bias, float *c,
                             size_t ldc, float *scratch)
{
    gemm_blocked(kt, m, n, k, a, rsa, csa, b, rsb, csb, c, ldc, 0, bias, NULL, scratch);
}

void recur_gemm_blocked_prepacked(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                                  const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                  const float *bpre, float *c, size_t ldc, int accumulate,
                                  const float *bias, float *scratch)
{
    gemm_blocked(kt, m, n, k, a, rsa, csa, NULL, 0, 0, c, ldc, accumulate, bias, bpre,
                 scratch);
}

size_t recur_gemm_prepacked_max_m(const recur_kernel_table *kt)
{
    const recur_gemm_config *g = &kt->gemm_config;
    return kt->gemm == recur_gemm_blocked ? (g->mc + g->mr - 1) / g->mr * g->mr : 0;
}
