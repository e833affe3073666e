/*
 * The ONNX RNN operator on recur's model drivers: one layer, the operator's
 * direction and layout, both biases (Wb, Rb), y in ONNX's [seq][D][batch][hidden]
 * (layout 0) or [batch][seq][D][hidden] (layout 1), the activation of each direction.
 * Tanh, Relu and Sigmoid shared by every direction run fused in the step kernels; any
 * other choice runs the step with the identity and applies the activation after it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_api.h"

static const struct {
    const char *name;
    recur_onnx_activation act;
    float alpha, beta; /* defaults, as the standalone ONNX operators have them */
} onnx_acts[] = {
    {"Tanh", RECUR_ONNX_TANH, 0.0f, 0.0f},
    {"Relu", RECUR_ONNX_RELU, 0.0f, 0.0f},
    {"Sigmoid", RECUR_ONNX_SIGMOID, 0.0f, 0.0f},
    {"Affine", RECUR_ONNX_AFFINE, 1.0f, 0.0f},
    {"LeakyRelu", RECUR_ONNX_LEAKY_RELU, 0.01f, 0.0f},
    {"ThresholdedRelu", RECUR_ONNX_THRESHOLDED_RELU, 1.0f, 0.0f},
    {"ScaledTanh", RECUR_ONNX_SCALED_TANH, 1.0f, 1.0f},
    {"HardSigmoid", RECUR_ONNX_HARD_SIGMOID, 0.2f, 0.5f},
    {"Elu", RECUR_ONNX_ELU, 1.0f, 0.0f},
    {"Softsign", RECUR_ONNX_SOFTSIGN, 0.0f, 0.0f},
    {"Softplus", RECUR_ONNX_SOFTPLUS, 0.0f, 0.0f},
};

#define N_ACTS (sizeof onnx_acts / sizeof onnx_acts[0])

recur_status recur_onnx_activation_from_name(const char *name, recur_onnx_activation *act,
                                             float *default_alpha, float *default_beta)
{
    if (!name || !act)
        return RECUR_ERR_NULL_POINTER;
    for (size_t i = 0; i < N_ACTS; i++)
        if (strcmp(name, onnx_acts[i].name) == 0) {
            *act = onnx_acts[i].act;
            if (default_alpha)
                *default_alpha = onnx_acts[i].alpha;
            if (default_beta)
                *default_beta = onnx_acts[i].beta;
            return RECUR_OK;
        }
    return RECUR_ERR_UNSUPPORTED;
}

recur_onnx_rnn_attrs recur_onnx_rnn_attrs_default(size_t hidden_size)
{
    recur_onnx_rnn_attrs a;
    memset(&a, 0, sizeof a);
    a.direction = RECUR_DIR_FORWARD;
    a.hidden_size = hidden_size;
    a.activations[0] = a.activations[1] = RECUR_ONNX_TANH;
    return a;
}

void recur_act_ext_apply(const recur_kernel_table *kt, const recur_act_ext *a, float *z,
                         size_t n)
{
    const float al = a->alpha, be = a->beta;
    switch (a->kind) {
    case RECUR_ONNX_TANH: kt->activate(RECUR_ACT_TANH, n, z); return;
    case RECUR_ONNX_RELU: kt->activate(RECUR_ACT_RELU, n, z); return;
    case RECUR_ONNX_SIGMOID: kt->activate(RECUR_ACT_SIGMOID, n, z); return;
    case RECUR_ONNX_SCALED_TANH:
        for (size_t i = 0; i < n; i++)
            z[i] *= be;
        kt->activate(RECUR_ACT_TANH, n, z);
        for (size_t i = 0; i < n; i++)
            z[i] *= al;
        return;
    default: break;
    }
    for (size_t i = 0; i < n; i++) {
        float v = z[i];
        switch (a->kind) {
        case RECUR_ONNX_AFFINE: v = al * v + be; break;
        case RECUR_ONNX_LEAKY_RELU: v = v >= 0.0f ? v : al * v; break;
        case RECUR_ONNX_THRESHOLDED_RELU: v = v >= al ? v : 0.0f; break;
        case RECUR_ONNX_HARD_SIGMOID: v = fminf(fmaxf(al * v + be, 0.0f), 1.0f); break;
        case RECUR_ONNX_ELU: v = v >= 0.0f ? v : al * expm1f(v); break;
        case RECUR_ONNX_SOFTSIGN: v = v / (1.0f + fabsf(v)); break;
        /* log(1 + e^x) without overflow: x + log(1 + e^-x) for x > 0 */
        case RECUR_ONNX_SOFTPLUS: v = v > 0.0f ? v + log1pf(expf(-v)) : log1pf(expf(v)); break;
        default: break;
        }
        z[i] = v;
    }
}

static recur_activation native(recur_onnx_activation a)
{
    return a == RECUR_ONNX_RELU ? RECUR_ACT_RELU
                                : (a == RECUR_ONNX_SIGMOID ? RECUR_ACT_SIGMOID : RECUR_ACT_TANH);
}

static int is_native(recur_onnx_activation a)
{
    return a == RECUR_ONNX_TANH || a == RECUR_ONNX_RELU || a == RECUR_ONNX_SIGMOID;
}

static recur_status attrs_check(const recur_onnx_rnn_attrs *a, size_t D)
{
    if ((unsigned)a->direction > (unsigned)RECUR_DIR_BIDIRECTIONAL ||
        (a->layout != 0 && a->layout != 1) || !(a->clip >= 0.0f) || isinf(a->clip))
        return RECUR_ERR_INVALID_ARGUMENT;
    for (size_t d = 0; d < D; d++)
        if ((unsigned)a->activations[d] > (unsigned)RECUR_ONNX_SOFTPLUS ||
            !isfinite(a->alpha[d]) || !isfinite(a->beta[d]))
            return RECUR_ERR_INVALID_ARGUMENT;
    return RECUR_OK;
}

recur_status recur_onnx_rnn(recur_context *ctx, const recur_onnx_rnn_attrs *attrs,
                            size_t seq_length, size_t batch_size, size_t input_size,
                            const float *X, const float *W, const float *R, const float *B,
                            const int32_t *sequence_lens, const float *initial_h, float *Y,
                            float *Y_h)
{
    if (!ctx || !attrs || !X || !W || !R)
        return RECUR_ERR_NULL_POINTER;
    size_t D = attrs->direction == RECUR_DIR_BIDIRECTIONAL ? 2 : 1, H = attrs->hidden_size;
    recur_status st = attrs_check(attrs, D);
    if (st != RECUR_OK)
        return st;
    recur_model_config cfg = recur_model_config_default(input_size, H);
    cfg.direction = attrs->direction;
    cfg.seq_layout = cfg.state_layout = attrs->layout ? RECUR_LAYOUT_BATCH_FIRST
                                                      : RECUR_LAYOUT_TIME_MAJOR;
    cfg.y_dir_major = attrs->layout == 0;
    cfg.two_biases = 1;
    cfg.clip = attrs->clip;
    cfg.hidden_act = native(attrs->activations[0]);
    st = recur_model_config_check(&cfg);
    if (st != RECUR_OK)
        return st;
    recur_model m;
    recur_model_init(&m, &cfg);
    recur_act_ext ext[2];
    int fused = is_native(attrs->activations[0]) &&
                (D == 1 || attrs->activations[1] == attrs->activations[0]);
    for (size_t d = 0; d < 2; d++)
        ext[d] = (recur_act_ext){attrs->activations[d < D ? d : 0], attrs->alpha[d < D ? d : 0],
                                 attrs->beta[d < D ? d : 0]};
    if (!fused)
        m.ext = ext;

    /* B absent: both biases zero. */
    float *zeros = NULL;
    if (!B) {
        zeros = calloc(H, sizeof(float));
        if (!zeros)
            return RECUR_ERR_OUT_OF_MEMORY;
    }
    recur_layer_weights lw[2];
    for (size_t d = 0; d < D; d++) {
        lw[d].W = W + d * H * input_size;
        lw[d].U = R + d * H * H;
        lw[d].b = B ? B + d * 2 * H : zeros;
        lw[d].b_hh = B ? B + d * 2 * H + H : zeros;
    }
    recur_model_weights w = {lw, NULL, NULL};
    st = recur_model_forward_opt(ctx, &m, seq_length, batch_size, sequence_lens, &w, X, initial_h,
                                 Y, Y_h);
    free(zeros);
    return st;
}
