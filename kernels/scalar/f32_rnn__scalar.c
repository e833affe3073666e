/* Scalar recurrent kernels. The packed layout is the plain row-major slice
 * (rows x H), so the loops read like the formulas in kernel_table.h. */
#include "scalar_kernels.h"

size_t recur_f32_packed_rec_floats__scalar(size_t h, size_t rows)
{
    return h * rows;
}

void recur_f32_pack_rec__scalar(size_t h, size_t rows, const float *m, ptrdiff_t rs,
                          ptrdiff_t cs, float *packed)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < h; k++)
            packed[r * h + k] = m[(ptrdiff_t)r * rs + (ptrdiff_t)k * cs];
}

/* out = f(pre + M hprev); the sum starts from pre and adds k in increasing order. */
void recur_f32_rnn_step__scalar(size_t batch, size_t h, size_t rows, const float *packed,
                          const float *hprev, size_t ld_hprev, const float *pre,
                          size_t ld_pre, float *out, size_t ld_out, recur_activation f)
{
    for (size_t n = 0; n < batch; n++) {
        const float *hp = hprev + n * ld_hprev;
        for (size_t r = 0; r < rows; r++) {
            const float *mrow = packed + r * h;
            float acc = 0.0f;
            for (size_t k = 0; k < h; k++)
                acc += mrow[k] * hp[k];
            out[n * ld_out + r] = recur_f32_act_one__scalar(f, pre[n * ld_pre + r] + acc);
        }
    }
}

/* da = (dh + M da_next) * f'(h); M is U^T, packed by the caller. */
void recur_f32_bptt_step__scalar(size_t batch, size_t h, size_t rows, const float *packed,
                           const float *da_next, size_t ld_da_next, const float *dh,
                           size_t ld_dh, const float *hcur, size_t ld_h, float *da,
                           size_t ld_da, recur_activation f)
{
    for (size_t n = 0; n < batch; n++) {
        for (size_t r = 0; r < rows; r++) {
            float acc = 0.0f;
            if (da_next) {
                const float *mrow = packed + r * h;
                const float *dn = da_next + n * ld_da_next;
                for (size_t k = 0; k < h; k++)
                    acc += mrow[k] * dn[k];
            }
            float g = dh ? dh[n * ld_dh + r] + acc : acc;
            da[n * ld_da + r] = g * recur_f32_act_grad_from_output__scalar(f, hcur[n * ld_h + r]);
        }
    }
}
