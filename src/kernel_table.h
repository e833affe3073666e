/*
 * The kernel table: every ISA-specific routine the drivers use, selected once per
 * context. Drivers in src/ call only through this table and never name an ISA.
 *
 * Conventions shared by all kernels:
 *  - float32, row-major; "ld" arguments are row strides in elements.
 *  - The recurrent matrices (U for the forward step, U^T for BPTT) are packed once per
 *    call by pack_rec into an ISA-chosen layout; a packed block covers `rows`
 *    consecutive output rows, so drivers can give each thread its own slice.
 */
#ifndef RECUR_KERNEL_TABLE_H
#define RECUR_KERNEL_TABLE_H

#include <stddef.h>
#include "recur.h"

/*
 * GEMM microkernel (BLIS style): C[mr][nr] (+)= Apanel * Bpanel over kc.
 * a: packed A panel, kc steps of MR floats (column of the MR x kc block per step).
 * b: packed B panel, kc steps of NR floats.
 * c: the C tile, row stride ldc; only the top-left m x n (m <= MR, n <= NR) is stored.
 * accumulate: 0 overwrites C, 1 adds to it.
 * bias: NULL, or (only with accumulate == 0) the tile's n column values added to
 * every row: C = bias + Apanel * Bpanel. The product is summed first and the bias
 * added once, so the result equals writing the bias into C and accumulating.
 */
typedef void (*recur_gemm_ukernel_fn)(size_t kc, const float *a, const float *b,
                                      float *c, size_t ldc, size_t m, size_t n,
                                      int accumulate, const float *bias);

/* Where a table's cache blocks came from (src/gemm.c: recur_gemm_config_choose). */
typedef enum recur_gemm_blocks_source {
    RECUR_BLOCKS_DEFAULT = 0, /* the constants of kernels/<isa>/table.c (caches unknown) */
    RECUR_BLOCKS_DERIVED = 1, /* from the detected caches (the BLIS rule, src/gemm.c) */
    RECUR_BLOCKS_OVERRIDE = 2 /* the environment variable RECUR_GEMM_BLOCKS */
} recur_gemm_blocks_source;

typedef struct recur_gemm_config {
    recur_gemm_ukernel_fn ukernel;
    size_t mr, nr;     /* register tile */
    /* Cache blocks: kc*nr panel in L1, mc*kc block in L2, kc*nc in L3. The tables hold
     * the defaults; the tables handed out by recur_kernel_table_get and every context's
     * copy carry the blocks derived from the detected caches (or overridden), and
     * blocks_from says which. */
    size_t kc, mc, nc;
    recur_gemm_blocks_source blocks_from;
    /* Optional (NULL: the driver's portable loop). Packs a kc x nc block of B stored
     * transposed, B(k,j) = b[j*ldb + k], into NR panels exactly as the driver does
     * (kc steps of NR floats, columns past nc zero). Stored transposed is the input
     * projection's B = W^T, so this is a transpose the ISA can do in registers. */
    void (*pack_b_trans)(size_t kc, size_t nc, const float *b, size_t ldb, float *dst);
    /* Optional (NULL: portable loop). Packs an mc x kc block of row-major A,
     * A(i,k) = a[i*lda + k], into MR panels exactly as the driver does (kc steps of
     * MR floats, rows past mc zero): again a transpose. */
    void (*pack_a_rows)(size_t mc, size_t kc, const float *a, size_t lda, float *dst);
    /* Optional (NULL: portable loop). The same two packings for the copy cases:
     * A stored transposed, A(i,k) = a[k*lda + i] (dW = dA^T x), and row-major B,
     * B(k,j) = b[k*ldb + j]. Each k step is a contiguous run: vector copies. */
    void (*pack_a_cols)(size_t mc, size_t kc, const float *a, size_t lda, float *dst);
    void (*pack_b_rows)(size_t kc, size_t nc, const float *b, size_t ldb, float *dst);
} recur_gemm_config;

struct recur_kernel_table;

/*
 * Batch blocks of the recurrent step start at multiples of this, so a kernel's batch
 * tiling (its tiles from the block start) is the same as in a serial call, and so is
 * the arithmetic of every row. Every table's batch_tile divides it (static assertion
 * in each kernels/<isa>/table.c).
 */
#define RECUR_BATCH_QUANTUM 48

/*
 * C[m][n] (+)= sum_k A(i,k) * B(k,j), with A(i,k) = a[i*rsa + k*csa] and
 * B(k,j) = b[k*rsb + j*csb] (strides express transposes). accumulate: 0 = overwrite.
 * scratch: at least gemm_scratch_floats(kt) floats, 64-byte aligned.
 */
typedef void (*recur_gemm_fn)(const struct recur_kernel_table *kt, size_t m, size_t n,
                              size_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                              const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c,
                              size_t ldc, int accumulate, float *scratch);

/*
 * The same with accumulate == 0 and a row bias (n floats) added to every row of C:
 * C[i][j] = bias[j] + sum_k A(i,k) B(k,j), the sum formed first (as in gemm) and the
 * bias added to it, so the result equals gemm accumulating onto C = bias. Saves
 * the pass that writes the bias into every row of C first.
 */
typedef void (*recur_gemm_bias_fn)(const struct recur_kernel_table *kt, size_t m, size_t n,
                                   size_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                   const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                                   const float *bias, float *c, size_t ldc, float *scratch);

typedef struct recur_kernel_table {
    recur_isa isa;

    /* ---- GEMM: `gemm` is either a plain loop (scalar oracle) or the blocked driver
     * src/gemm_blocked.c that uses `gemm_config`. */
    recur_gemm_fn gemm;
    recur_gemm_config gemm_config;
    /* Optional (NULL: the driver writes the bias into C and calls gemm accumulating;
     * the scalar oracle keeps that plain order). recur_gemm_blocked_bias for the
     * blocked driver. */
    recur_gemm_bias_fn gemm_bias;

    /* ---- sizes of the step kernels, said once in the ISA's header:
     * rec_panel: rows per packed panel of pack_rec (slices of rows start on multiples
     * of it, so no thread packs padded rows); batch_tile: rows per register tile of
     * rnn_step / bptt_step (it divides RECUR_BATCH_QUANTUM). */
    size_t rec_panel, batch_tile;

    /* ---- recurrent matrix packing.
     * Packs rows [0, rows) of the matrix M (H columns), element (r, k) = m[r*rs + k*cs]. */
    size_t (*packed_rec_floats)(size_t h, size_t rows);
    void (*pack_rec)(size_t h, size_t rows, const float *m, ptrdiff_t rs, ptrdiff_t cs,
                     float *packed);

    /* ---- fused recurrent step, for the `rows` hidden units of the packed slice:
     *   out[n][r] = f(pre[n][r] + sum_k M(r,k) * hprev[n][k])   for n < batch, r < rows
     * pre and out point at the slice's first column; hprev at column 0 (all H columns);
     * pre may alias out (each element is read before it is written).
     * Determinism (the threaded drivers rely on it): each (n, r) result must not depend
     * on `rows` or on where the slice starts, and may depend on n only through its
     * place in a batch block starting at a multiple of RECUR_BATCH_QUANTUM (48): batch
     * tile sizes must divide 48. The same holds for bptt_step. */
    void (*rnn_step)(size_t batch, size_t h, size_t rows, const float *packed,
                     const float *hprev, size_t ld_hprev, const float *pre, size_t ld_pre,
                     float *out, size_t ld_out, recur_activation f);

    /* ---- fused BPTT step (packed = U^T slice):
     *   da[n][r] = (dh[n][r] + sum_k M(r,k) * da_next[n][k]) * f'(hcur[n][r])
     * da_next may be NULL (treated as zero, e.g. at t = T-1); dh may be NULL (zero);
     * dh may alias da.
     * f' comes from the saved output: tanh 1-h^2, sigmoid h(1-h), relu h>0, identity 1. */
    void (*bptt_step)(size_t batch, size_t h, size_t rows, const float *packed,
                      const float *da_next, size_t ld_da_next, const float *dh,
                      size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                      size_t ld_da, recur_activation f);

    /* ---- optional (NULL / 0: the input GEMM, then rnn_step per step): the whole
     * forward sequence of a batch-1 call with h <= rnn_seq_max_h, in one call:
     *   hs[t*h + r] = f(b[r] + sum_k W(r,k) x[t*i + k] + sum_k U(r,k) h_{t-1}[k]),
     * h_{-1} = h0 (h floats), t < T. wpacked = pack_rec(i, h, W, i, 1) and
     * upacked = pack_rec(h, h, U, h, 1) (W is [h][i], U is [h][h], row-major).
     * wpacked NULL: x holds the input terms b + W x_t instead ([T][h]; i and b unused),
     * for when the input projection is cheaper as one GEMM (large I or H).
     * Small-H steps are latency chains; one kernel keeps the chain short and
     * overlaps the input projection with it. Runs on one thread (no slices). */
    void (*rnn_seq)(size_t T, size_t i, size_t h, const float *wpacked,
                    const float *upacked, const float *b, const float *x, const float *h0,
                    float *hs, recur_activation f);
    size_t rnn_seq_max_h;
    /* Optional (NULL: bptt_step per step), for the same calls (batch 1, h <=
     * rnn_seq_max_h): the whole BPTT recurrence in one call, in place over da [T][h]
     * (dH in, dA out), from t = T-1 down to 0:
     *   da[t][r] = (da[t][r] + sum_k M(r,k) da[t+1][k]) * f'(hs[t*h + r]),
     * the sum left out at t = T-1 and where (t+1) % window == 0 (window > 0: truncated
     * BPTT). upacked = pack_rec(h, h, U, 1, h) (M = U^T). */
    void (*bptt_seq)(size_t T, size_t h, const float *upacked, float *da, const float *hs,
                     size_t window, recur_activation f);

    /* ---- optional (NULL: pack_rec + rnn_step): the batch-1 step read straight from
     * row-major M (no packing), for the rows of a slice:
     *   out[r] = f(pre[r] + sum_k m[r*ld + k] hprev[k]),  r < rows,
     * each r with the same arithmetic whatever rows and the slice start. */
    void (*rnn_step_rows)(size_t h, size_t rows, const float *m, size_t ld,
                          const float *hprev, const float *pre, float *out,
                          recur_activation f);

    /* ---- activations, in place over n floats (tanh, relu, sigmoid, identity). */
    void (*activate)(recur_activation f, size_t n, float *x);
    /* softmax over each row of x[rows][cols], in place. */
    void (*softmax_rows)(size_t rows, size_t cols, float *x);
} recur_kernel_table;

/* Floats of GEMM scratch the table's gemm needs (0 for the plain loop). */
size_t recur_gemm_scratch_floats(const recur_kernel_table *kt);

/* The blocked GEMM driver (BLIS-style), shared by every SIMD table. */
void recur_gemm_blocked(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                        ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc,
                        int accumulate, float *scratch);
/* Its row-bias form (recur_gemm_bias_fn): the first KC block starts from the bias. */
void recur_gemm_blocked_bias(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                             const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                             ptrdiff_t rsb, ptrdiff_t csb, const float *bias, float *c,
                             size_t ldc, float *scratch);

/*
 * B packed once for many GEMMs that share it (one per sequence of a ragged batch):
 * recur_gemm_pack_b_all packs k x n of B (as the blocked driver would, for A blocks of
 * at most recur_gemm_prepacked_max_m rows) into recur_gemm_packed_b_floats floats, and
 * recur_gemm_blocked_prepacked runs C (+)= A B from it, bitwise as recur_gemm_blocked /
 * _bias would. recur_gemm_prepacked_max_m is 0 for a table without the blocked driver.
 */
size_t recur_gemm_prepacked_max_m(const struct recur_kernel_table *kt);
size_t recur_gemm_packed_b_floats(const struct recur_kernel_table *kt, size_t n, size_t k);
void recur_gemm_pack_b_all(const struct recur_kernel_table *kt, size_t n, size_t k,
                           const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *dst);
void recur_gemm_blocked_prepacked(const struct recur_kernel_table *kt, size_t m, size_t n,
                                  size_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                  const float *bpre, float *c, size_t ldc, int accumulate,
                                  const float *bias, float *scratch);

/* The table for isa, or NULL when this build or CPU lacks it. Thread-safe. Its GEMM
 * blocks are chosen for this machine once per process (src/dispatch.c). */
const recur_kernel_table *recur_kernel_table_get(recur_isa isa);

/* Per-ISA table constructors (defined in kernels/<isa>/); NULL when not built. */
const recur_kernel_table *recur_kernels_scalar(void);
const recur_kernel_table *recur_kernels_avx2(void);
const recur_kernel_table *recur_kernels_avx512(void);
const recur_kernel_table *recur_kernels_neon(void);

#endif
