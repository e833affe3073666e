/*
 * The course's example: a word-level Elman RNN learns which cuisine a dish belongs to,
 * then completes "my favourite dish is sushi . so , my favourite cuisine is" -> japanese.
 * Trained only with recur: forward, softmax cross-entropy, BPTT, clipping, SGD.
 *
 * usage: cuisine_lm [corpus.txt]   (default: the corpus shipped in examples/data)
 * RECUR_EXAMPLE_EPOCHS and RECUR_EXAMPLE_LR override the training schedule.
 * Deterministic (fixed seed); exits 1 if the sushi probe's top-1 word is not "japanese".
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "recur.h"
#include "cuisine_corpus.h"

static int epochs = 200; /* RECUR_EXAMPLE_EPOCHS overrides */

#define CHECK(call)                                                                        \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        if (st_ != RECUR_OK) {                                                             \
            fprintf(stderr, "%s: %s\n", #call, recur_status_string(st_));                 \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)

/* Runs the words of `text` through the model; prints the top-3 next words. Returns the top-1 id. */
static int predict(recur_context *ctx, const recur_rnn *rnn, const recur_weights *w, corpus *c,
                   const char *text)
{
    int ids[MAX_WORDS];
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    int n = tokenize(c, buf, ids, 0);
    if (n <= 0) {
        printf("  (probe has unknown words) %s\n", text);
        return -1;
    }
    size_t V = (size_t)c->nvocab;
    float *x = calloc((size_t)n * V, sizeof(float)), *y = malloc((size_t)n * V * sizeof(float));
    for (int t = 0; t < n; t++)
        x[(size_t)t * V + (size_t)ids[t]] = 1.0f;
    CHECK(recur_forward(ctx, rnn, (size_t)n, 1, w, x, NULL, y, NULL));
    const float *p = y + (size_t)(n - 1) * V;
    int best[3] = {-1, -1, -1};
    for (int k = 0; k < 3; k++)
        for (int v = 0; v < (int)V; v++) {
            if (v == best[0] || v == best[1])
                continue;
            if (best[k] < 0 || p[v] > p[best[k]])
                best[k] = v;
        }
    printf("  \"%s\" -> %s (%.3f), %s (%.3f), %s (%.3f)\n", text, c->vocab[best[0]], p[best[0]],
           c->vocab[best[1]], p[best[1]], c->vocab[best[2]], p[best[2]]);
    free(x);
    free(y);
    return best[0];
}

int main(int argc, char **argv)
{
    static corpus c;
    if (getenv("RECUR_EXAMPLE_EPOCHS"))
        epochs = atoi(getenv("RECUR_EXAMPLE_EPOCHS"));
    const char *path = argc > 1 ? argv[1] : CORPUS_PATH;
    if (load(&c, path) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    const size_t V = (size_t)c.nvocab, H = HIDDEN;
    printf("corpus: %d sentences, %zu words in the vocabulary\n", c.nsent, V);

    recur_context *ctx;
    CHECK(recur_context_create(&ctx));
    printf("kernels: %s\n", recur_isa_name(recur_context_isa(ctx)));
    recur_rnn_config cfg = {V, H, V, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX};
    recur_rnn *rnn;
    CHECK(recur_rnn_create(&rnn, &cfg));

    float *P[5], *G[5], *M[5];
    size_t len[5] = {H * V, H * H, H, V * H, V};
    for (int i = 0; i < 5; i++) {
        P[i] = calloc(len[i], sizeof(float));
        G[i] = calloc(len[i], sizeof(float));
        M[i] = calloc(len[i], sizeof(float));
    }
    init_uniform(P[0], len[0], 1.0 / sqrt((double)V));
    init_uniform(P[1], len[1], 1.0 / sqrt((double)H));
    init_uniform(P[3], len[3], 1.0 / sqrt((double)H));
    recur_tensors params = {P[0], P[1], P[2], P[3], P[4]}, grads = {G[0], G[1], G[2], G[3], G[4]},
                  vel = {M[0], M[1], M[2], M[3], M[4]};
    const float base_lr = getenv("RECUR_EXAMPLE_LR") ? (float)atof(getenv("RECUR_EXAMPLE_LR")) : 0.15f;
    recur_sgd_options sgd = {base_lr, 0.9f, 0.0f};

    /* Buffers sized for the longest sentence and a full batch. */
    size_t Tmax = 0;
    for (int s = 0; s < c.nsent; s++)
        Tmax = (size_t)c.len[s] - 1 > Tmax ? (size_t)c.len[s] - 1 : Tmax;
    size_t wsb;
    CHECK(recur_workspace_size(rnn, Tmax, BATCH, &wsb));
    void *ws = malloc(wsb);
    float *x = malloc(Tmax * BATCH * V * sizeof(float));
    float *y = malloc(Tmax * BATCH * V * sizeof(float));
    float *dl = malloc(Tmax * BATCH * V * sizeof(float));
    int32_t *tg = malloc(Tmax * BATCH * sizeof(int32_t));
    int order[MAX_SENT];
    for (int s = 0; s < c.nsent; s++)
        order[s] = s;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int s = c.nsent - 1; s > 0; s--) { /* Fisher-Yates shuffle */
            int j = (int)(rnd() * (s + 1)), tmp = order[s];
            order[s] = order[j];
            order[j] = tmp;
        }
        /* Linear decay to a tenth: large steps find the dish->cuisine link, small ones settle. */
        sgd.learning_rate = base_lr * (1.0f - 0.9f * (float)(epoch - 1) / (float)epochs);
        double loss_sum = 0;
        int batches = 0;
        for (int b0 = 0; b0 < c.nsent; b0 += BATCH) {
            size_t N = (size_t)(c.nsent - b0 < BATCH ? c.nsent - b0 : BATCH), T = 0;
            for (size_t n = 0; n < N; n++)
                T = (size_t)c.len[order[b0 + (int)n]] - 1 > T ? (size_t)c.len[order[b0 + (int)n]] - 1 : T;
            memset(x, 0, T * N * V * sizeof(float));
            /* Input word t predicts word t+1; padding steps have no input and target -1. */
            for (size_t t = 0; t < T; t++)
                for (size_t n = 0; n < N; n++) {
                    int s = order[b0 + (int)n];
                    int has = (int)t + 1 < c.len[s];
                    tg[t * N + n] = has ? c.sent[s][t + 1] : -1;
                    if (has)
                        x[(t * N + n) * V + (size_t)c.sent[s][t]] = 1.0f;
                }
            recur_weights w = recur_weights_from(&params);
            float loss;
            CHECK(recur_forward_train(ctx, rnn, T, N, &w, x, NULL, y, NULL, ws, wsb));
            CHECK(recur_loss_softmax_xent(T * N, V, y, tg, &loss, dl));
            recur_backward_options bo = {RECUR_DY_LOGITS, 0, 0};
            CHECK(recur_backward(ctx, rnn, T, N, &w, x, ws, wsb, dl, NULL, &bo, &grads, NULL, NULL));
            CHECK(recur_clip_grad_norm(rnn, &grads, 5.0f, NULL));
            CHECK(recur_sgd_update(rnn, &params, &grads, &sgd, &vel));
            loss_sum += loss;
            batches++;
        }
        if (epoch == 1 || epoch % 10 == 0)
            printf("epoch %3d  loss %.4f\n", epoch, loss_sum / batches);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("trained in %.2f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));

    recur_weights w = recur_weights_from(&params);
    printf("next-word predictions (top 3):\n");
    int top = predict(ctx, rnn, &w, &c, "my favourite dish is sushi . so , my favourite cuisine is");
    predict(ctx, rnn, &w, &c, "my favourite dish is pizza . so , my favourite cuisine is");
    predict(ctx, rnn, &w, &c, "i love eating paella , because i like");
    predict(ctx, rnn, &w, &c, "when i want indian food i order");
    printf("held out from training:\n");
    predict(ctx, rnn, &w, &c, "my favourite dish is ramen . so , my favourite cuisine is");
    predict(ctx, rnn, &w, &c, "my favourite dish is tapas . so , my favourite cuisine is");

    int ok = top >= 0 && strcmp(c.vocab[top], "japanese") == 0;
    printf("%s: sushi -> %s\n", ok ? "OK" : "FAIL", top >= 0 ? c.vocab[top] : "?");
    for (int i = 0; i < 5; i++) {
        free(P[i]);
        free(G[i]);
        free(M[i]);
    }
    free(ws); free(x); free(y); free(dl); free(tg);
    recur_rnn_destroy(rnn);
    recur_context_destroy(ctx);
    return ok ? 0 : 1;
}
