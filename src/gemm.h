/*
 * The GEMM entry points the drivers use besides kernel_table.h's: a thread's block of
 * a shared GEMM, and the choice of the cache blocks (kc, mc, nc) from the machine
 * (src/gemm.c). The blocked loop nest itself is src/gemm_blocked.c.
 */
#ifndef RECUR_GEMM_H
#define RECUR_GEMM_H

#include <stddef.h>
#include "kernel_table.h"
#include "topology.h"

/*
 * This thread's block of C (+)= A B, or with row_bias (n floats; accumulate is then
 * ignored) C = row_bias + A B, the bias added to the finished k sum either way:
 * blocks of whole MR rows or NR columns (whichever dimension has more), K unsplit.
 */
void recur_par_gemm(const recur_kernel_table *kt, size_t tid, size_t nt, size_t m, size_t n,
                    size_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                    ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc, int accumulate,
                    const float *row_bias, float *scratch);

/* ---- cache blocks */

typedef struct recur_gemm_blocks {
    size_t kc, mc, nc;
} recur_gemm_blocks;

/* Upper bounds of every chosen block (derived or overridden), so that a strange cache
 * size or variable cannot ask for absurd scratch (kc * (mc + nc) floats per thread).
 * The rule keeps kc within [64, 512] (gemm.c); an override may go to 1024. */
#define RECUR_KC_MAX 1024
#define RECUR_MC_MAX 4096
#define RECUR_NC_MAX 8192

/*
 * The blocks of the MR x NR tile for machine m by the BLIS rule (see gemm.c); a block
 * whose cache is unknown (0) keeps dflt's. *derived (may be NULL) is set to 1 when at
 * least one block came from a detected cache.
 */
recur_gemm_blocks recur_gemm_blocks_derive(size_t mr, size_t nr, const recur_machine *m,
                                           recur_gemm_blocks dflt, int *derived);

/*
 * RECUR_GEMM_BLOCKS's value "kc,mc,nc": up to three plain decimal counts; an empty or
 * missing field keeps *blocks' value. mc and nc are rounded to whole tiles (up, or
 * down where up would pass the bound). Returns 1 and updates *blocks when the whole string is valid (each given field
 * in [1, RECUR_*_MAX], at least one field given); 0 and *blocks untouched otherwise (NULL, empty, signs, blanks, other characters, 0, out of range,
 * a fourth field).
 */
int recur_gemm_blocks_parse(const char *s, size_t mr, size_t nr, recur_gemm_blocks *blocks);

/*
 * Sets g's kc/mc/nc and blocks_from for machine m: derived from its caches, then
 * RECUR_GEMM_BLOCKS's value env (NULL: none) on top when it is valid. g's own blocks
 * are the defaults. A table without the blocked driver (blocked = 0) keeps them.
 */
void recur_gemm_config_choose(recur_gemm_config *g, int blocked, const recur_machine *m,
                              const char *env);

/* "default", "derived", "override" (what recur-validate --info and the benchmarks print). */
const char *recur_gemm_blocks_source_name(recur_gemm_blocks_source s);

#endif
