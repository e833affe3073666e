/* Entry-point internals shared by src/model.c and the recur_rnn calls (src/rnn_api.c). */
#ifndef RECUR_MODEL_API_H
#define RECUR_MODEL_API_H

#include "model.h"

/*
 * Model training workspace: a header identifying the model, T and N; the lengths
 * (N int32, when given); then per layer and direction its states ((T+1) blocks of
 * N*H: h0 first going forward, last in reverse), the SUM merge's layer outputs, and
 * the outputs y when O > 0 (g' is taken from them).
 */
#define RECUR_MODEL_WS_MAGIC 0x72656375724d5753ULL /* "recurMWS" */
#define RECUR_MODEL_WS_HEADER 128

typedef struct recur_model_ws_header {
    uint64_t magic;
    uint64_t T, N, I, H, O, L;
    uint32_t e[9]; /* direction, merge, f, g, layouts, y_dir_major, two_biases, clip bits */
    uint32_t has_lengths;
} recur_model_ws_header;

static inline size_t recur_model_ws_len_bytes(size_t N)
{
    return (N * sizeof(int32_t) + 63) & ~(size_t)63;
}

static inline float *recur_model_ws_states(void *ws, size_t N)
{
    return (float *)(void *)((char *)ws + RECUR_MODEL_WS_HEADER + recur_model_ws_len_bytes(N));
}

typedef struct recur_model_sizes_t {
    size_t seqs;   /* scratch floats for the sequence arrays */
    size_t pass;   /* (T+1)*N*H */
    size_t block;  /* T*N*H */
    size_t states, sums, ys, wide;
    size_t ws_bytes;
    int overflow;
} recur_model_sizes_t;

void recur_model_sizes(const recur_model *m, size_t T, size_t N, recur_model_sizes_t *s);
recur_status recur_model_dims_check(const recur_model *m, size_t T, size_t N,
                                    recur_model_sizes_t *s);
recur_status recur_model_weights_check(const recur_model *m, const recur_model_weights *w);
void recur_model_ws_header_make(const recur_model *m, size_t T, size_t N,
                                recur_model_ws_header *h);
/* Caller views (x, y, states) from the model's layouts. */
void recur_call_views(recur_call *c, const float *x, float *y);
/* Scratch, then the team. ws_states: the training workspace's states, or NULL. */
recur_status recur_call_run_forward(recur_call *c, const int32_t *lengths,
                                    const recur_model_sizes_t *s, float *ws_states);
recur_status recur_call_run_backward(recur_call *c, const int32_t *lengths,
                                     const recur_model_sizes_t *s, float *ws_states);

/* recur_model_forward with y optional (NULL: h_last only). */
recur_status recur_model_forward_opt(recur_context *ctx, const recur_model *model, size_t T,
                                     size_t N, const int32_t *lengths,
                                     const recur_model_weights *w, const float *x,
                                     const float *h0, float *y, float *h_last);

/* The one-layer model of a recur_rnn descriptor. */
void recur_model_from_rnn(const recur_rnn *rnn, recur_model *m);

#endif
