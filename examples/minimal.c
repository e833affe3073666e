/* A sequence through a small tanh RNN with a softmax output layer. */
#include <stdio.h>
#include "recur.h"

int main(void)
{
    enum { T = 4, N = 1, I = 3, H = 8, O = 2 };
    static float W[H * I], U[H * H], b[H], V[O * H], c[O];
    static float x[T * N * I], y[T * N * O];
    for (int i = 0; i < H * I; i++) W[i] = 0.1f * (float)(i % 7 - 3);
    for (int i = 0; i < H; i++) U[i * H + i] = 0.5f;
    for (int i = 0; i < O * H; i++) V[i] = 0.2f * (float)(i % 5 - 2);
    for (int i = 0; i < T * N * I; i++) x[i] = (float)(i % 3);

    recur_rnn_config cfg = {I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    recur_rnn *rnn;
    recur_context *ctx;
    recur_status st = recur_rnn_create(&rnn, &cfg);
    if (st == RECUR_OK)
        st = recur_context_create(&ctx);
    if (st != RECUR_OK) {
        fprintf(stderr, "recur: %s\n", recur_status_string(st));
        return 1;
    }
    recur_weights w = {W, U, b, V, c};
    st = recur_forward(ctx, rnn, T, N, &w, x, NULL, y, NULL);
    if (st != RECUR_OK) {
        fprintf(stderr, "recur_forward: %s\n", recur_status_string(st));
        return 1;
    }
    printf("recur %s on %s: p(y_3) = [%.4f, %.4f]\n", recur_version_string(),
           recur_isa_name(recur_context_isa(ctx)), y[(T - 1) * O], y[(T - 1) * O + 1]);
    recur_context_destroy(ctx);
    recur_rnn_destroy(rnn);
    return 0;
}
