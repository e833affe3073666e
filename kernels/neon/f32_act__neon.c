/* Elementwise activations and row softmax for NEON (vector math in neon_math.h). */
#include <arm_neon.h>
#include "neon_kernels.h"
#include "neon_math.h"

/* Tails shorter than a quad go through a zero-padded quad, so they get exactly the
 * vector results (the same function everywhere in a row). */
static void act_loop(recur_activation f, size_t n, float *x)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, recur_neon_act(f, vld1q_f32(x + i)));
    if (i < n) {
        float t[4] = {0};
        for (size_t j = 0; i + j < n; j++)
            t[j] = x[i + j];
        vst1q_f32(t, recur_neon_act(f, vld1q_f32(t)));
        for (size_t j = 0; i + j < n; j++)
            x[i + j] = t[j];
    }
}

void recur_f32_activate__neon(recur_activation f, size_t n, float *x)
{
    switch (f) {
    case RECUR_ACT_TANH: act_loop(RECUR_ACT_TANH, n, x); break;
    case RECUR_ACT_RELU: act_loop(RECUR_ACT_RELU, n, x); break;
    case RECUR_ACT_SIGMOID: act_loop(RECUR_ACT_SIGMOID, n, x); break;
    default: break; /* identity */
    }
}

/* Max-subtracted softmax per row: every exp argument is <= 0, so nothing overflows. */
void recur_f32_softmax_rows__neon(size_t rows, size_t cols, float *x)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        size_t j = 0;
        float mx = row[0];
        if (cols >= 4) {
            float32x4_t m4 = vld1q_f32(row);
            for (j = 4; j + 4 <= cols; j += 4)
                m4 = vmaxq_f32(m4, vld1q_f32(row + j));
            mx = vmaxvq_f32(m4);
        }
        for (; j < cols; j++)
            mx = row[j] > mx ? row[j] : mx;

        const float32x4_t m = vdupq_n_f32(mx);
        float32x4_t s4 = vdupq_n_f32(0.0f);
        for (j = 0; j + 4 <= cols; j += 4) {
            float32x4_t e = recur_neon_exp(vsubq_f32(vld1q_f32(row + j), m));
            vst1q_f32(row + j, e);
            s4 = vaddq_f32(s4, e);
        }
        float sum = vaddvq_f32(s4);
        for (; j < cols; j++) {
            float t[4] = {row[j] - mx, 0.0f, 0.0f, 0.0f};
            vst1q_f32(t, recur_neon_exp(vld1q_f32(t)));
            row[j] = t[0];
            sum += t[0];
        }

        const float32x4_t inv = vdupq_n_f32(1.0f / sum);
        for (j = 0; j + 4 <= cols; j += 4)
            vst1q_f32(row + j, vmulq_f32(vld1q_f32(row + j), inv));
        for (; j < cols; j++)
            row[j] *= 1.0f / sum;
    }
}
