/*
 * The course's example (examples/cuisine_lm.c) trained data-parallel over MPI: every
 * rank holds the same weights, takes its shard of each batch of 16 sentences, runs
 * forward, loss and BPTT on it, and the ranks average their gradients (weighted by the
 * target words each shard counted, so the average is the gradient of the whole batch's
 * mean loss) before the same clipping and SGD step everywhere.
 *
 *   mpirun -np K build/examples/cuisine_mpi [corpus.txt]
 *
 * With -np 1 it prints exactly cuisine_lm's loss curve; with K ranks the curve matches
 * within float rounding (the shard sums are added in another order). Rank 0 prints; every
 * rank exits 1 if the sushi probe's top-1 word is not "japanese". RECUR_EXAMPLE_EPOCHS
 * and RECUR_EXAMPLE_LR as for cuisine_lm.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recur_mpi.h"
#include "cuisine_corpus.h"

static int rank; /* this process's rank: only rank 0 prints */

/* Any failure ends the whole job: the other ranks would wait for this one. */
#define CHECK(call)                                                                        \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        if (st_ != RECUR_OK) {                                                             \
            fprintf(stderr, "rank %d: %s: %s %s\n", rank, #call, recur_status_string(st_), \
                    recur_mpi_last_error(mpi));                                            \
            MPI_Abort(MPI_COMM_WORLD, 2);                                                  \
        }                                                                                  \
    } while (0)

static int predict(recur_context *ctx, const recur_rnn *rnn, const recur_weights *w, corpus *c,
                   const char *text)
{
    int ids[MAX_WORDS];
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    int n = tokenize(c, buf, ids, 0);
    if (n <= 0)
        return -1;
    size_t V = (size_t)c->nvocab;
    float *x = calloc((size_t)n * V, sizeof(float)), *y = malloc((size_t)n * V * sizeof(float));
    for (int t = 0; t < n; t++)
        x[(size_t)t * V + (size_t)ids[t]] = 1.0f;
    int best = -1;
    if (recur_forward(ctx, rnn, (size_t)n, 1, w, x, NULL, y, NULL) == RECUR_OK) {
        const float *p = y + (size_t)(n - 1) * V;
        for (int v = 0; v < (int)V; v++)
            if (best < 0 || p[v] > p[best])
                best = v;
        printf("  \"%s\" -> %s (%.3f)\n", text, c->vocab[best], p[best]);
    }
    free(x);
    free(y);
    return best;
}

int main(int argc, char **argv)
{
    int provided;
    /* recur's OpenMP threads never call MPI; only this thread does. */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    recur_mpi *mpi = NULL;
    CHECK(recur_mpi_create(&mpi, MPI_COMM_WORLD));
    rank = recur_mpi_rank(mpi);
    const int ranks = recur_mpi_size(mpi);

    static corpus c;
    int epochs = getenv("RECUR_EXAMPLE_EPOCHS") ? atoi(getenv("RECUR_EXAMPLE_EPOCHS")) : 200;
    const char *path = argc > 1 ? argv[1] : CORPUS_PATH;
    if (load(&c, path) != 0) {
        fprintf(stderr, "rank %d: cannot read %s\n", rank, path);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const size_t V = (size_t)c.nvocab, H = HIDDEN;
    if (rank == 0)
        printf("corpus: %d sentences, %zu words; %d ranks, batch %d split across them\n",
               c.nsent, V, ranks, BATCH);

    recur_context *ctx;
    CHECK(recur_context_create(&ctx));
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
    /* Rank 0's weights for everyone (here they are equal already: same seed; with weights
     * loaded from a file or a per-rank seed this is what makes them so). */
    CHECK(recur_mpi_rnn_broadcast(mpi, rnn, &params, 0));
    const float base_lr = getenv("RECUR_EXAMPLE_LR") ? (float)atof(getenv("RECUR_EXAMPLE_LR")) : 0.15f;
    recur_sgd_options sgd = {base_lr, 0.9f, 0.0f};

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

    double t0 = MPI_Wtime();
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int s = c.nsent - 1; s > 0; s--) {
            int j = (int)(rnd() * (s + 1)), tmp = order[s];
            order[s] = order[j];
            order[j] = tmp;
        }
        sgd.learning_rate = base_lr * (1.0f - 0.9f * (float)(epoch - 1) / (float)epochs);
        double loss_sum = 0;
        int batches = 0;
        for (int b0 = 0; b0 < c.nsent; b0 += BATCH) {
            size_t B = (size_t)(c.nsent - b0 < BATCH ? c.nsent - b0 : BATCH), first, N, T = 0;
            CHECK(recur_mpi_shard(mpi, B, &first, &N));
            const int *shard = order + b0 + first;
            for (size_t n = 0; n < N; n++)
                T = (size_t)c.len[shard[n]] - 1 > T ? (size_t)c.len[shard[n]] - 1 : T;
            memset(x, 0, T * N * V * sizeof(float));
            size_t counted = 0;
            for (size_t t = 0; t < T; t++)
                for (size_t n = 0; n < N; n++) {
                    int s = shard[n], has = (int)t + 1 < c.len[s];
                    tg[t * N + n] = has ? c.sent[s][t + 1] : -1;
                    if (has) {
                        x[(t * N + n) * V + (size_t)c.sent[s][t]] = 1.0f;
                        counted++;
                    }
                }
            float loss = 0;
            recur_weights w = recur_weights_from(&params);
            if (N > 0) {
                CHECK(recur_forward_train(ctx, rnn, T, N, &w, x, NULL, y, NULL, ws, wsb));
                CHECK(recur_loss_softmax_xent(T * N, V, y, tg, &loss, dl));
                recur_backward_options bo = {RECUR_DY_LOGITS, 0, 0};
                CHECK(recur_backward(ctx, rnn, T, N, &w, x, ws, wsb, dl, NULL, &bo, &grads,
                                     NULL, NULL));
            } else { /* a rank without sentences in this batch adds nothing (weight 0) */
                for (int i = 0; i < 5; i++)
                    memset(G[i], 0, len[i] * sizeof(float));
            }
            /* Each rank's loss is the mean over its counted words: weighting by them gives
             * the mean over the batch's words, the loss cuisine_lm computes on one rank. */
            recur_mpi_options avg = recur_mpi_options_default();
            avg.weight = (double)counted;
            CHECK(recur_mpi_rnn_allreduce_grads(mpi, rnn, &grads, &avg));
            float *lossp = &loss;
            size_t one = 1;
            CHECK(recur_mpi_allreduce(mpi, 1, &lossp, &one, &avg));
            CHECK(recur_clip_grad_norm(rnn, &grads, 5.0f, NULL));
            CHECK(recur_sgd_update(rnn, &params, &grads, &sgd, &vel));
            loss_sum += loss;
            batches++;
        }
        if (rank == 0 && (epoch == 1 || epoch % 10 == 0))
            printf("epoch %3d  loss %.7f\n", epoch, loss_sum / batches);
        if (epoch % 50 == 0 || epoch == epochs) { /* the invariant of data-parallel SGD */
            int same = 0;
            CHECK(recur_mpi_rnn_check_identical(mpi, rnn, &params, &same));
            if (!same) {
                fprintf(stderr, "rank %d: the ranks' weights differ after epoch %d\n", rank, epoch);
                MPI_Abort(MPI_COMM_WORLD, 3);
            }
        }
    }
    double secs = MPI_Wtime() - t0;

    int ok = 0;
    if (rank == 0) {
        printf("trained in %.2f s; weights bitwise identical on all %d ranks\n", secs, ranks);
        recur_weights w = recur_weights_from(&params);
        int top = predict(ctx, rnn, &w, &c, "my favourite dish is sushi . so , my favourite cuisine is");
        predict(ctx, rnn, &w, &c, "my favourite dish is ramen . so , my favourite cuisine is");
        ok = top >= 0 && strcmp(c.vocab[top], "japanese") == 0;
        printf("%s: sushi -> %s\n", ok ? "OK" : "FAIL", top >= 0 ? c.vocab[top] : "?");
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    for (int i = 0; i < 5; i++)
        free(P[i]), free(G[i]), free(M[i]);
    free(ws), free(x), free(y), free(dl), free(tg);
    recur_rnn_destroy(rnn);
    recur_context_destroy(ctx);
    recur_mpi_destroy(mpi);
    MPI_Finalize();
    return ok ? 0 : 1;
}
