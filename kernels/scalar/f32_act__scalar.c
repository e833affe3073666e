/* Scalar activations with libm: the reference for the vectorized ones. */
#include <math.h>
#include "scalar_kernels.h"

float recur_f32_act_one__scalar(recur_activation f, float x)
{
    switch (f) {
    case RECUR_ACT_TANH: return tanhf(x);
    case RECUR_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case RECUR_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    default: return x;
    }
}

/* Derivative expressed through the activation's output y = f(x). */
float recur_f32_act_grad_from_output__scalar(recur_activation f, float y)
{
    switch (f) {
    case RECUR_ACT_TANH: return 1.0f - y * y;
    case RECUR_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case RECUR_ACT_SIGMOID: return y * (1.0f - y);
    default: return 1.0f;
    }
}

void recur_f32_activate__scalar(recur_activation f, size_t n, float *x)
{
    if (f == RECUR_ACT_IDENTITY)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = recur_f32_act_one__scalar(f, x[i]);
}

/* Max-subtracted softmax: exp never overflows, the row sums to 1 within rounding. */
void recur_f32_softmax_rows__scalar(size_t rows, size_t cols, float *x)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float mx = row[0];
        for (size_t j = 1; j < cols; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++)
            row[j] *= inv;
    }
}
