/* NEON (AArch64 Advanced SIMD) kernels; the table is in table.c. */
#ifndef RECUR_NEON_KERNELS_H
#define RECUR_NEON_KERNELS_H

/* Step kernel sizes (the table exposes them): rows per packed panel of U, and batch
 * rows per register tile (a divisor of RECUR_BATCH_QUANTUM). */
#define RECUR_NEON_REC_PANEL 8
#define RECUR_NEON_BATCH_TILE 4

#include "kernel_table.h"

void recur_f32_gemm_ukernel__neon_8x12(size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, size_t m, size_t n, int accumulate, const float *bias);

void recur_f32_activate__neon(recur_activation f, size_t n, float *x);
void recur_f32_softmax_rows__neon(size_t rows, size_t cols, float *x);

size_t recur_f32_packed_rec_floats__neon(size_t h, size_t rows);
void recur_f32_pack_rec__neon(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                              ptrdiff_t cs, float *packed);
void recur_f32_rnn_step__neon(size_t batch, size_t h, size_t rows, const float *packed,
                              const float *hprev, size_t ld_hprev, const float *pre,
                              size_t ld_pre, float *out, size_t ld_out, recur_activation f);
void recur_f32_bptt_step__neon(size_t batch, size_t h, size_t rows, const float *packed,
                               const float *da_next, size_t ld_da_next, const float *dh,
                               size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                               size_t ld_da, recur_activation f);

#endif
