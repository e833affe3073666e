/*
 * recur-thread-scaling: recur_forward and recur_backward times (medians, ms) per shape and
 * thread count 1, 2, 4, 8, 16, under four settings of the context: its defaults, thread
 * binding on, the OpenMP barrier instead of the spin barrier, and the contention
 * adaptation off. Usage: recur-thread-scaling [repetitions 1..32, default 5].
 * Not installed: it reaches the context's internal knobs (src/internal.h).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "recur.h"
#include "internal.h"

enum { MAX_REPS = 32, SETTINGS = 4 };

static const char *const setting_names[SETTINGS] = {"default", "bind", "omp_barrier",
                                                    "no_adapt"};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static float *filled(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "recur-thread-scaling: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (float)(rand() % 100 - 50);
    return p;
}

static recur_context *context_for(size_t threads, int setting)
{
    recur_context *ctx;
    if (recur_context_create(&ctx) != RECUR_OK) {
        fprintf(stderr, "recur-thread-scaling: no context\n");
        exit(1);
    }
    recur_context_set_num_threads(ctx, threads);
    if (setting == 1)
        recur_context_set_thread_binding(ctx, 1);
    if (setting == 2)
        ctx->barrier = RECUR_BARRIER_OMP;
    if (setting == 3)
        ctx->adapt = 0;
    return ctx;
}

int main(int argc, char **argv)
{
    static const size_t shapes[][3] = {
        {1760, 16, 50}, {1760, 64, 50}, {128, 64, 100}, {512, 16, 50}, {1024, 1, 50}};
    static const size_t thread_counts[] = {1, 2, 4, 8, 16};
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > MAX_REPS)
        reps = 5;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        size_t H = shapes[si][0], N = shapes[si][1], T = shapes[si][2];
        recur_rnn_config cfg = {H, H, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
        recur_rnn *rnn;
        if (recur_rnn_create(&rnn, &cfg) != RECUR_OK)
            return 1;
        float *W = filled(H * H, 1e-4f), *U = filled(H * H, 1e-4f), *b = filled(H, 0.0f);
        float *x = filled(T * N * H, 1e-2f), *dy = filled(T * N * H, 1e-3f);
        float *y = filled(T * N * H, 0.0f), *dx = filled(T * N * H, 0.0f);
        recur_tensors g = {filled(H * H, 0.0f), filled(H * H, 0.0f), filled(H, 0.0f), NULL,
                           NULL};
        recur_weights w = {W, U, b, NULL, NULL};
        size_t ws_bytes;
        recur_workspace_size(rnn, T, N, &ws_bytes);
        void *ws = malloc(ws_bytes);
        if (!ws)
            return 1;
        for (size_t ti = 0; ti < sizeof thread_counts / sizeof thread_counts[0]; ti++) {
            for (int setting = 0; setting < SETTINGS; setting++) {
                if (thread_counts[ti] == 1 && setting > 0)
                    continue; /* the settings only matter for a team */
                recur_context *ctx = context_for(thread_counts[ti], setting);
                double fwd[MAX_REPS], bwd[MAX_REPS], teams = 0;
                recur_forward(ctx, rnn, T, N, &w, x, NULL, y, NULL); /* warm-up */
                for (int r = 0; r < reps; r++) {
                    double t0 = now_ms();
                    recur_forward(ctx, rnn, T, N, &w, x, NULL, y, NULL);
                    fwd[r] = now_ms() - t0;
                    teams += (double)ctx->last_team;
                }
                recur_forward_train(ctx, rnn, T, N, &w, x, NULL, y, NULL, ws, ws_bytes);
                for (int r = 0; r < reps; r++) {
                    double t0 = now_ms();
                    recur_backward(ctx, rnn, T, N, &w, x, ws, ws_bytes, dy, NULL, NULL, &g, dx,
                                   NULL);
                    bwd[r] = now_ms() - t0;
                }
                printf("H%zu N%zu T%zu threads %2zu %-11s fwd %9.3f ms  bwd %9.3f ms  "
                       "(mean team %.1f)\n",
                       H, N, T, thread_counts[ti], setting_names[setting], median(fwd, reps),
                       median(bwd, reps), teams / reps);
                fflush(stdout);
                recur_context_destroy(ctx);
            }
        }
        free(W), free(U), free(b), free(x), free(dy), free(y), free(dx), free(ws);
        free(g.W), free(g.U), free(g.b);
        recur_rnn_destroy(rnn);
    }
    return 0;
}
