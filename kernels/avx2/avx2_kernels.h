/* AVX2+FMA kernels (built with -mavx2 -mfma). */
#ifndef RECUR_AVX2_KERNELS_H
#define RECUR_AVX2_KERNELS_H

/* Step kernel sizes (the table exposes them): rows per packed panel of U, and batch
 * rows per register tile (a divisor of RECUR_BATCH_QUANTUM). */
#define RECUR_AVX2_REC_PANEL 16
#define RECUR_AVX2_BATCH_TILE 6

#include "kernel_table.h"

void recur_f32_gemm_ukernel__avx2_6x16(size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, size_t m, size_t n, int accumulate, const float *bias);

/* GEMM config's pack_b_trans for NR = 16 (also packs U for the forward step). */
void recur_f32_pack_b_trans__avx2(size_t kc, size_t nc, const float *b, size_t ldb, float *dst);

/* GEMM config's pack_a_rows for this ISA's MR. */
void recur_f32_pack_a_rows__avx2(size_t mc, size_t kc, const float *a, size_t lda,
                                 float *dst);

/* GEMM config's pack_a_cols (A stored transposed) and pack_b_rows (row-major B). */
void recur_f32_pack_a_cols__avx2(size_t mc, size_t kc, const float *a, size_t lda,
                                 float *dst);
void recur_f32_pack_b_rows__avx2(size_t kc, size_t nc, const float *b, size_t ldb,
                                 float *dst);

size_t recur_f32_packed_rec_floats__avx2(size_t h, size_t rows);
void recur_f32_pack_rec__avx2(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                              ptrdiff_t cs, float *packed);
void recur_f32_rnn_step__avx2(size_t batch, size_t h, size_t rows, const float *packed,
                              const float *hprev, size_t ld_hprev, const float *pre,
                              size_t ld_pre, float *out, size_t ld_out, recur_activation f);
void recur_f32_bptt_step__avx2(size_t batch, size_t h, size_t rows, const float *packed,
                               const float *da_next, size_t ld_da_next, const float *dh,
                               size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                               size_t ld_da, recur_activation f);
void recur_f32_rnn_step_rows__avx2(size_t h, size_t rows, const float *m, size_t ld,
                                   const float *hprev, const float *pre, float *out,
                                   recur_activation f);

void recur_f32_activate__avx2(recur_activation f, size_t n, float *x);
void recur_f32_softmax_rows__avx2(size_t rows, size_t cols, float *x);

#endif
