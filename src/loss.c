/* Losses that produce the gradient recur_backward consumes. */
#include <math.h>
#include <float.h>
#include <string.h>
#include "internal.h"

recur_status recur_loss_softmax_xent(size_t rows, size_t classes, const float *probs,
                                     const int32_t *targets, float *loss, float *dlogits)
{
    if (!probs || !targets)
        return RECUR_ERR_NULL_POINTER;
    if (rows == 0 || classes == 0)
        return RECUR_ERR_INVALID_SIZE;
    size_t total, bytes;
    if (!recur_mul_ok(rows, classes, &total) || !recur_mul_ok(total, sizeof(float), &bytes))
        return RECUR_ERR_SIZE_OVERFLOW;
    size_t counted = 0;
    for (size_t r = 0; r < rows; r++) {
        if (targets[r] < -1 || (targets[r] >= 0 && (size_t)targets[r] >= classes))
            return RECUR_ERR_INVALID_ARGUMENT;
        counted += targets[r] >= 0;
    }
    double sum = 0.0;
    float scale = counted ? 1.0f / (float)counted : 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *p = probs + r * classes;
        int32_t tr = targets[r];
        if (tr >= 0) /* FLT_MIN keeps the loss finite when a probability underflows to 0 */
            sum -= log(p[tr] > FLT_MIN ? (double)p[tr] : (double)FLT_MIN);
        if (!dlogits)
            continue;
        float *g = dlogits + r * classes;
        if (tr < 0) {
            memset(g, 0, classes * sizeof(float));
            continue;
        }
        for (size_t j = 0; j < classes; j++)
            g[j] = p[j] * scale;
        g[tr] -= scale;
    }
    if (loss)
        *loss = counted ? (float)(sum / (double)counted) : 0.0f;
    return RECUR_OK;
}

recur_status recur_loss_mse(size_t count, const float *y, const float *target, float *loss,
                            float *dy)
{
    if (!y || !target)
        return RECUR_ERR_NULL_POINTER;
    if (count == 0)
        return RECUR_ERR_INVALID_SIZE;
    size_t bytes;
    if (!recur_mul_ok(count, sizeof(float), &bytes))
        return RECUR_ERR_SIZE_OVERFLOW;
    double sum = 0.0;
    float scale = 2.0f / (float)count;
    for (size_t i = 0; i < count; i++) {
        float e = y[i] - target[i];
        sum += (double)e * e;
        if (dy)
            dy[i] = scale * e;
    }
    if (loss)
        *loss = (float)(sum / (double)count);
    return RECUR_OK;
}
