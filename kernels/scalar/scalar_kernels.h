/* Scalar kernels: the portable path and the correctness oracle. */
#ifndef RECUR_SCALAR_KERNELS_H
#define RECUR_SCALAR_KERNELS_H

/* Step kernel sizes (the table exposes them): rows per packed panel of U, and batch
 * rows per register tile (a divisor of RECUR_BATCH_QUANTUM). */
#define RECUR_SCALAR_REC_PANEL 1
#define RECUR_SCALAR_BATCH_TILE 1

#include "kernel_table.h"

void recur_f32_gemm__scalar(const recur_kernel_table *kt, size_t m, size_t n, size_t k,
                      const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                      ptrdiff_t rsb, ptrdiff_t csb, float *c, size_t ldc, int accumulate,
                      float *scratch);
/* 4x4 microkernel, so the blocked driver can be tested without a SIMD ISA. */
void recur_f32_gemm_ukernel__scalar_4x4(size_t kc, const float *a, const float *b, float *c,
                                  size_t ldc, size_t m, size_t n, int accumulate, const float *bias);

float recur_f32_act_one__scalar(recur_activation f, float x);
float recur_f32_act_grad_from_output__scalar(recur_activation f, float y);
void recur_f32_activate__scalar(recur_activation f, size_t n, float *x);
void recur_f32_softmax_rows__scalar(size_t rows, size_t cols, float *x);

size_t recur_f32_packed_rec_floats__scalar(size_t h, size_t rows);
void recur_f32_pack_rec__scalar(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                          ptrdiff_t cs, float *packed);
void recur_f32_rnn_step__scalar(size_t batch, size_t h, size_t rows, const float *packed,
                          const float *hprev, size_t ld_hprev, const float *pre,
                          size_t ld_pre, float *out, size_t ld_out, recur_activation f);
void recur_f32_bptt_step__scalar(size_t batch, size_t h, size_t rows, const float *packed,
                           const float *da_next, size_t ld_da_next, const float *dh,
                           size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                           size_t ld_da, recur_activation f);

#endif
