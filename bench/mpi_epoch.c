/*
 * Data-parallel training time of a DeepBench vanilla-RNN shape (docs/distributed.md,
 * "Measured"): one layer, I = H (default 1760), T = 50, a global batch of N = 64 split
 * across the ranks, no output layer; a step is forward_train + BPTT (dy fixed random)
 * on the rank's shard, the gradient reduction of librecur_mpi, and SGD. An "epoch" is
 * --steps steps; the median over --epochs epochs is printed (the slowest rank's time of
 * each epoch), with the median step split into compute, reduction and SGD.
 *
 *   mpirun -np 2 -x RECUR_NUM_THREADS=1 recur-mpi-epoch
 *   mpirun -np 1 -x RECUR_NUM_THREADS=2 recur-mpi-epoch
 *   mpirun -np 2 recur-mpi-epoch --reduce-only    the reduction alone, per bucket size
 *
 * Options: --hidden H --time T --batch N --steps S --epochs E --bucket FLOATS
 *          --reduction ordered|allreduce
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recur_mpi.h"

typedef struct args {
    size_t H, T, N, steps, epochs, bucket;
    recur_mpi_reduction reduction;
    int reduce_only;
} args;

static int rank;

#define CHECK(call)                                                                        \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        if (st_ != RECUR_OK) {                                                             \
            fprintf(stderr, "rank %d: %s: %s\n", rank, #call, recur_status_string(st_));  \
            MPI_Abort(MPI_COMM_WORLD, 2);                                                  \
        }                                                                                  \
    } while (0)

static float *filled(size_t n, unsigned seed, float scale)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = scale * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The slowest rank's value. */
static double slowest(double v)
{
    double m;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

static args parse(int argc, char **argv)
{
    args a = {1760, 50, 64, 3, 5, 0, RECUR_MPI_ORDERED, 0};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(o, "--reduce-only") == 0) {
            a.reduce_only = 1;
            continue;
        }
        size_t n = strtoull(v, NULL, 10);
        if (strcmp(o, "--hidden") == 0) a.H = n;
        else if (strcmp(o, "--time") == 0) a.T = n;
        else if (strcmp(o, "--batch") == 0) a.N = n;
        else if (strcmp(o, "--steps") == 0) a.steps = n;
        else if (strcmp(o, "--epochs") == 0) a.epochs = n;
        else if (strcmp(o, "--bucket") == 0) a.bucket = n;
        else if (strcmp(o, "--reduction") == 0)
            a.reduction = strcmp(v, "allreduce") == 0 ? RECUR_MPI_ALLREDUCE : RECUR_MPI_ORDERED;
        else {
            if (rank == 0)
                fprintf(stderr, "unknown option %s\n", o);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        i++;
    }
    if (!a.H || !a.T || !a.N || !a.steps || !a.epochs) {
        if (rank == 0)
            fprintf(stderr, "sizes and counts must be >= 1\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return a;
}

/* One timed reduction of the gradients in `mode`: 0-1 packed (three separate arrays)
 * ORDERED / ALLREDUCE, 2-3 in place (one array), 4 in place ORDERED with one blocking
 * call per bucket (buckets without the pipeline's overlap). */
static void reduce_once(recur_mpi *mpi, const recur_rnn *rnn, recur_tensors *separate,
                        float *block, size_t params, int mode, size_t bucket)
{
    recur_mpi_options o = recur_mpi_options_default();
    o.reduction = mode == 1 || mode == 3 ? RECUR_MPI_ALLREDUCE : RECUR_MPI_ORDERED;
    o.bucket_floats = bucket;
    if (mode < 2) {
        CHECK(recur_mpi_rnn_allreduce_grads(mpi, rnn, separate, &o));
    } else if (mode < 4) { /* one array: reduced in place */
        float *list[1] = {block};
        CHECK(recur_mpi_allreduce(mpi, 1, list, &params, &o));
    } else { /* each call one bucket: no pipeline */
        o.bucket_floats = RECUR_MPI_MAX_BUCKET_FLOATS;
        for (size_t off = 0; off < params; off += bucket) {
            float *list[1] = {block + off};
            size_t n = params - off < bucket ? params - off : bucket;
            CHECK(recur_mpi_allreduce(mpi, 1, list, &n, &o));
        }
    }
}

/* The reduction alone: median of 7 calls per mode and bucket size (ms). */
static void reduce_only(recur_mpi *mpi, const recur_rnn *rnn, recur_tensors *separate,
                        size_t H)
{
    const size_t params = H * H + H * H + H;
    const size_t buckets[] = {RECUR_MPI_MAX_BUCKET_FLOATS, (size_t)1 << 22, (size_t)1 << 20,
                              (size_t)1 << 18, (size_t)1 << 16};
    const char *names[] = {"one", "4 Mi", "1 Mi", "256 Ki", "64 Ki"};
    float *block = filled(params, 10, 0);
    if (rank == 0)
        printf("reduction of %zu floats (%.1f MB) on %d ranks, median of 7 calls, ms\n"
               "| bucket (floats) | packed, ordered | packed, allreduce | in place, ordered "
               "| in place, allreduce | in place, ordered, no overlap |\n",
               params, 4e-6 * (double)params, recur_mpi_size(mpi));
    for (size_t b = 0; b < sizeof buckets / sizeof buckets[0]; b++) {
        if (rank == 0)
            printf("| %s |", names[b]);
        for (int mode = 0; mode < 5; mode++) {
            double t[7];
            size_t bucket = buckets[b] < params ? buckets[b] : params;
            reduce_once(mpi, rnn, separate, block, params, mode, bucket); /* warm-up */
            for (int k = 0; k < 7; k++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                reduce_once(mpi, rnn, separate, block, params, mode, bucket);
                t[k] = slowest(MPI_Wtime() - t0);
            }
            if (rank == 0)
                printf(" %.2f |", 1e3 * median(t, 7));
        }
        if (rank == 0)
            printf("\n");
    }
    free(block);
}

/* Forward + BPTT on this rank's N rows, reduction, SGD; epochs of a->steps steps. */
static void time_epochs(recur_mpi *mpi, recur_context *ctx, const recur_rnn *rnn,
                        recur_tensors *p, recur_tensors *g, const args *a, size_t N)
{
    const size_t H = a->H, I = a->H, T = a->T;
    size_t wsb;
    CHECK(recur_workspace_size(rnn, T, N, &wsb));
    void *ws = malloc(wsb);
    float *x = filled(T * N * I, 7 + (unsigned)rank, 1.0f), *y = filled(T * N * H, 8, 0);
    float *dy = filled(T * N * H, 9 + (unsigned)rank, 1e-3f);
    recur_backward_options bo = recur_backward_options_default();
    recur_sgd_options sgd = {1e-3f, 0.0f, 0.0f};
    recur_mpi_options red = recur_mpi_options_default();
    red.reduction = a->reduction;
    red.bucket_floats = a->bucket;
    red.weight = (double)N;

    size_t nsteps = a->steps * a->epochs;
    double *epoch_t = calloc(a->epochs, sizeof(double));
    double *comp = calloc(nsteps, sizeof(double)), *comm = calloc(nsteps, sizeof(double)),
           *upd = calloc(nsteps, sizeof(double));
    for (size_t s = 0; s <= nsteps; s++) { /* step 0: warm-up, not timed */
        if (s > 0 && (s - 1) % a->steps == 0)
            MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        recur_weights w = recur_weights_from(p);
        CHECK(recur_forward_train(ctx, rnn, T, N, &w, x, NULL, y, NULL, ws, wsb));
        CHECK(recur_backward(ctx, rnn, T, N, &w, x, ws, wsb, dy, NULL, &bo, g, NULL, NULL));
        double t1 = MPI_Wtime();
        CHECK(recur_mpi_rnn_allreduce_grads(mpi, rnn, g, &red));
        double t2 = MPI_Wtime();
        CHECK(recur_sgd_update(rnn, p, g, &sgd, NULL));
        double t3 = MPI_Wtime();
        if (s == 0)
            continue;
        comp[s - 1] = t1 - t0, comm[s - 1] = t2 - t1, upd[s - 1] = t3 - t2;
        epoch_t[(s - 1) / a->steps] += t3 - t0;
    }
    for (size_t e = 0; e < a->epochs; e++)
        epoch_t[e] = slowest(epoch_t[e]);
    int same = 0;
    CHECK(recur_mpi_rnn_check_identical(mpi, rnn, p, &same));
    double e_med = median(epoch_t, a->epochs), c_med = slowest(median(comp, nsteps));
    double r_med = slowest(median(comm, nsteps)), u_med = slowest(median(upd, nsteps));
    if (rank == 0) {
        double gflop = 6.0 * (double)T * (double)a->N * (double)H * (double)(I + H) * 1e-9;
        printf("H %zu, T %zu, global batch %zu (%zu per rank), %d ranks x %zu threads, %s "
               "reduction, bucket %zu\n",
               H, T, a->N, N, recur_mpi_size(mpi), recur_context_get_num_threads(ctx),
               a->reduction == RECUR_MPI_ORDERED ? "ordered" : "allreduce", a->bucket);
        printf("epoch of %zu steps: median %.3f s over %zu epochs (%.1f GFLOP/s); per step: "
               "compute %.3f s, reduce %.1f ms, sgd %.1f ms; weights identical: %s\n",
               a->steps, e_med, a->epochs, gflop * (double)a->steps / e_med, c_med,
               1e3 * r_med, 1e3 * u_med, same ? "yes" : "NO");
    }
    free(epoch_t), free(comp), free(comm), free(upd);
    free(ws), free(x), free(y), free(dy);
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    args a = parse(argc, argv);
    recur_mpi *mpi;
    CHECK(recur_mpi_create(&mpi, MPI_COMM_WORLD));
    recur_context *ctx;
    CHECK(recur_context_create(&ctx));
    const size_t H = a.H, I = a.H;
    size_t first, N;
    CHECK(recur_mpi_shard(mpi, a.N, &first, &N));
    recur_rnn_config cfg = {I, H, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    recur_rnn *rnn;
    CHECK(recur_rnn_create(&rnn, &cfg));
    recur_tensors p = {filled(H * I, 1, 0.02f), filled(H * H, 2, 0.02f), filled(H, 3, 0.02f),
                       NULL, NULL};
    recur_tensors g = {filled(H * I, 4, 0), filled(H * H, 5, 0), filled(H, 6, 0), NULL, NULL};
    CHECK(recur_mpi_rnn_broadcast(mpi, rnn, &p, 0));
    if (a.reduce_only)
        reduce_only(mpi, rnn, &g, H);
    else
        time_epochs(mpi, ctx, rnn, &p, &g, &a, N);
    free(p.W), free(p.U), free(p.b), free(g.W), free(g.U), free(g.b);
    recur_rnn_destroy(rnn);
    recur_context_destroy(ctx);
    recur_mpi_destroy(mpi);
    MPI_Finalize();
    return 0;
}
