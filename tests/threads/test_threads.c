/*
 * Threading: the thread API and topology report, bitwise determinism over thread
 * counts (every ISA this CPU runs), calls from inside a caller's OpenMP region, and
 * separate contexts used at once from several pthreads.
 *
 * Determinism is exact (memcmp), not within a tolerance: the promise in recur.h is
 * that the thread count never changes the order of any floating-point operation.
 * Linked against the core so the test can switch off the small-problem heuristic
 * (every thread count is really used, even on tiny shapes) and check which split
 * each call ran; otherwise a test could pass by running serial.
 *
 * The model API (recur_model_*) gets the same check with 1, 2, 3 and 4 threads:
 * 2-layer bidirectional models on ragged batches (lengths), time-major, batch-first
 * and mixed layouts, clip on and off, CONCAT and SUM, N = 50 and 97 so that the
 * step splits over batch blocks; y, h_last, every gradient, dx, dh0 and one SGD
 * step must match the 1-thread run bit for bit.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_SET */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"
#include "parallel.h"
#include "test_util.h"

typedef struct shape {
    size_t T, N, I, H, O;
    recur_activation f, g;
    size_t window;
    int expect_batch_split; /* the plan should split the batch at 2+ threads */
} shape;

/* Odd sizes: partial kernel panels and batch tiles, H below / above one panel,
 * N above the batch quantum (batch split), O = 0. */
static const shape shapes[] = {
    {7, 3, 5, 37, 4, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, 0, 0},
    {5, 1, 9, 300, 0, RECUR_ACT_SIGMOID, RECUR_ACT_IDENTITY, 0, 0},
    {4, 100, 6, 20, 3, RECUR_ACT_RELU, RECUR_ACT_SIGMOID, 0, 1},
    {6, 13, 11, 129, 7, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 4, 0},
};

static const size_t thread_counts[] = {1, 2, 3, 5, 8};

/* Everything a training step produces. */
typedef struct run_out {
    float *y, *h_last, *dx, *dh0;
    recur_tensors grads, params;
} run_out;

typedef struct problem {
    test_model m;
    size_t ylen;
    float *x, *h0, *dy, *dh_last;
} problem;

static void problem_init(problem *p, const shape *s, uint64_t seed)
{
    test_rng r;
    rng_seed(&r, seed);
    model_init(&p->m, s->I, s->H, s->O, s->f, s->g, &r, 0.6f);
    size_t tn = s->T * s->N;
    p->ylen = tn * (s->O ? s->O : s->H);
    p->x = fvec(tn * s->I);
    p->h0 = fvec(s->N * s->H);
    p->dy = fvec(p->ylen);
    p->dh_last = fvec(s->N * s->H);
    rng_fill(&r, p->x, tn * s->I, -1.0f, 1.0f);
    rng_fill(&r, p->h0, s->N * s->H, -0.5f, 0.5f);
    rng_fill(&r, p->dy, p->ylen, -1.0f, 1.0f);
    rng_fill(&r, p->dh_last, s->N * s->H, -0.5f, 0.5f);
}

static void problem_free(problem *p)
{
    model_free(&p->m);
    free(p->x);
    free(p->h0);
    free(p->dy);
    free(p->dh_last);
}

static void out_alloc(run_out *o, const shape *s, const problem *p)
{
    o->y = fvec(p->ylen);
    o->h_last = fvec(s->N * s->H);
    o->dx = fvec(s->T * s->N * s->I);
    o->dh0 = fvec(s->N * s->H);
    o->grads = tensors_alloc(&p->m.cfg);
    o->params = tensors_alloc(&p->m.cfg);
}

static void out_free(run_out *o)
{
    free(o->y);
    free(o->h_last);
    free(o->dx);
    free(o->dh0);
    tensors_free(&o->grads);
    tensors_free(&o->params);
}

/* A problem with two sets of outputs: a reference run and the run compared with it. */
typedef struct ref_got {
    problem p;
    run_out ref, got;
} ref_got;

static void ref_got_init(ref_got *c, const shape *s, uint64_t seed)
{
    problem_init(&c->p, s, seed);
    out_alloc(&c->ref, s, &c->p);
    out_alloc(&c->got, s, &c->p);
}

static void ref_got_free(ref_got *c)
{
    out_free(&c->ref);
    out_free(&c->got);
    problem_free(&c->p);
}

static void copy_tensors(recur_tensors *dst, const recur_tensors *src, const recur_rnn_config *c)
{
    size_t H = c->hidden_size, I = c->input_size, O = c->output_size;
    memcpy(dst->W, src->W, H * I * sizeof(float));
    memcpy(dst->U, src->U, H * H * sizeof(float));
    memcpy(dst->b, src->b, H * sizeof(float));
    if (O) {
        memcpy(dst->V, src->V, O * H * sizeof(float));
        memcpy(dst->c, src->c, O * sizeof(float));
    }
}

/* forward, forward_train, backward (dx, dh0, dh_last), then one SGD step on a copy. */
static void run_all(recur_context *ctx, const shape *s, const problem *p, run_out *o)
{
    recur_weights w = recur_weights_from(&p->m.p);
    assert_int_equal(recur_forward(ctx, p->m.rnn, s->T, s->N, &w, p->x, p->h0, o->y,
                                   o->h_last), RECUR_OK);
    size_t ws_bytes;
    assert_int_equal(recur_workspace_size(p->m.rnn, s->T, s->N, &ws_bytes), RECUR_OK);
    void *ws = malloc(ws_bytes);
    assert_non_null(ws);
    float *y2 = fvec(p->ylen);
    assert_int_equal(recur_forward_train(ctx, p->m.rnn, s->T, s->N, &w, p->x, p->h0, y2,
                                         NULL, ws, ws_bytes), RECUR_OK);
    /* Inference and training forward share the code path: identical too. */
    assert_memory_equal(y2, o->y, p->ylen * sizeof(float));
    recur_backward_options opt = recur_backward_options_default();
    opt.bptt_window = s->window;
    assert_int_equal(recur_backward(ctx, p->m.rnn, s->T, s->N, &w, p->x, ws, ws_bytes, p->dy,
                                    p->dh_last, &opt, &o->grads, o->dx, o->dh0), RECUR_OK);
    copy_tensors(&o->params, &p->m.p, &p->m.cfg);
    recur_sgd_options sgd = {0.1f, 0.0f, 0.0f};
    assert_int_equal(recur_sgd_update(p->m.rnn, &o->params, &o->grads, &sgd, NULL), RECUR_OK);
    free(ws);
    free(y2);
}

static void assert_tensors_equal(const recur_tensors *a, const recur_tensors *b,
                                 const recur_rnn_config *c)
{
    size_t H = c->hidden_size, I = c->input_size, O = c->output_size;
    assert_memory_equal(a->W, b->W, H * I * sizeof(float));
    assert_memory_equal(a->U, b->U, H * H * sizeof(float));
    assert_memory_equal(a->b, b->b, H * sizeof(float));
    if (O) {
        assert_memory_equal(a->V, b->V, O * H * sizeof(float));
        assert_memory_equal(a->c, b->c, O * sizeof(float));
    }
}

static void assert_outputs_equal(const run_out *a, const run_out *b, const shape *s,
                                 const problem *p)
{
    assert_memory_equal(a->y, b->y, p->ylen * sizeof(float));
    assert_memory_equal(a->h_last, b->h_last, s->N * s->H * sizeof(float));
    assert_memory_equal(a->dx, b->dx, s->T * s->N * s->I * sizeof(float));
    assert_memory_equal(a->dh0, b->dh0, s->N * s->H * sizeof(float));
    assert_tensors_equal(&a->grads, &b->grads, &p->m.cfg);
    assert_tensors_equal(&a->params, &b->params, &p->m.cfg);
}

static int have_openmp(void)
{
    recur_context *ctx;
    recur_topology t;
    if (recur_context_create(&ctx) != RECUR_OK)
        return 0;
    recur_context_get_topology(ctx, &t);
    recur_context_destroy(ctx);
    return t.openmp;
}

/* A context on isa that runs all n threads even on small shapes, with this barrier. */
static recur_context *forced_context(recur_isa isa, size_t n, int barrier)
{
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, isa), RECUR_OK);
    assert_int_equal(recur_context_set_num_threads(ctx, n), RECUR_OK);
    ctx->min_step_fmas = 0;
    ctx->barrier = barrier;
    return ctx;
}

/* For every shape: every thread count gives exactly the 1-thread results. */
static void check_determinism(recur_isa isa, int barrier)
{
    if (!recur_isa_supported(isa))
        skip();
    int omp = have_openmp();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        ref_got c;
        ref_got_init(&c, s, 1000 + si);
        for (size_t ti = 0; ti < sizeof thread_counts / sizeof thread_counts[0]; ti++) {
            size_t n = thread_counts[ti];
            recur_context *ctx = forced_context(isa, n, barrier);
            run_all(ctx, s, &c.p, n == 1 ? &c.ref : &c.got);
            /* The call really ran n threads, and the step split is the intended one. */
            assert_int_equal(ctx->last_team, omp ? n : 1);
            if (omp && n > 1)
                assert_true(s->expect_batch_split ? ctx->last_pb > 1 : ctx->last_pr > 1);
            if (n > 1)
                assert_outputs_equal(&c.ref, &c.got, s, &c.p);
            recur_context_destroy(ctx);
        }
        ref_got_free(&c);
    }
}

/* Batch-1 slices larger than L2 run in chunks, last first on every other step (one
 * thread), and forward steps read U unpacked where the table can: the same bits as in
 * one piece on a team (an L2 of 2 KiB makes the H 300 slice several chunks and
 * unpacked on every ISA). */
static void test_step_chunks_same_results(void **state)
{
    (void)state;
    int omp = have_openmp();
    for (recur_isa isa = RECUR_ISA_SCALAR; isa <= RECUR_ISA_NEON; isa++) {
        if (!recur_isa_supported(isa))
            continue;
        for (size_t si = 1; si < sizeof shapes / sizeof shapes[0]; si += 2) { /* N 1, N 13 */
            const shape *s = &shapes[si];
            ref_got c;
            ref_got_init(&c, s, 3000 + si);
            recur_context *ctx = forced_context(isa, 2, RECUR_BARRIER_AUTO);
            ctx->step_l2 = 2048; /* unpacked as below, but on a team: one piece */
            run_all(ctx, s, &c.p, &c.ref);
            recur_context_destroy(ctx);
            for (size_t n = 1; n <= (omp ? 3u : 1u); n++) {
                ctx = forced_context(isa, n, RECUR_BARRIER_AUTO);
                ctx->step_l2 = 2048;
                run_all(ctx, s, &c.p, &c.got);
                assert_outputs_equal(&c.ref, &c.got, s, &c.p);
                recur_context_destroy(ctx);
            }
            ref_got_free(&c);
        }
    }
}

static void test_determinism_scalar(void **state) { (void)state; check_determinism(RECUR_ISA_SCALAR, RECUR_BARRIER_AUTO); }
static void test_determinism_avx2(void **state) { (void)state; check_determinism(RECUR_ISA_AVX2, RECUR_BARRIER_AUTO); }
static void test_determinism_avx512(void **state) { (void)state; check_determinism(RECUR_ISA_AVX512, RECUR_BARRIER_AUTO); }
static void test_determinism_neon(void **state) { (void)state; check_determinism(RECUR_ISA_NEON, RECUR_BARRIER_AUTO); }

/* Both step barriers, each also with more threads than cores. */
static void test_determinism_spin_barrier(void **state)
{
    (void)state;
    check_determinism(recur_isa_best(), RECUR_BARRIER_SPIN);
}

static void test_determinism_omp_barrier(void **state)
{
    (void)state;
    check_determinism(recur_isa_best(), RECUR_BARRIER_OMP);
}

static void test_thread_api(void **state)
{
    (void)state;
    recur_context *ctx;
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    recur_topology t;
    assert_int_equal(recur_context_get_topology(ctx, &t), RECUR_OK);
    size_t def = recur_context_get_num_threads(ctx);
    assert_int_equal(def, t.openmp ? t.cores : 1);
    assert_int_equal(recur_context_set_num_threads(ctx, 3), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), t.openmp ? 3 : 1);
    assert_int_equal(recur_context_set_num_threads(ctx, 0), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), def);
    assert_int_equal(recur_context_set_num_threads(ctx, 1025), RECUR_ERR_INVALID_ARGUMENT);
    assert_int_equal(recur_context_get_num_threads(ctx), def);
    assert_int_equal(recur_context_set_num_threads(NULL, 2), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_context_get_num_threads(NULL), 1);
    assert_int_equal(recur_context_set_thread_binding(ctx, 2), RECUR_ERR_INVALID_ARGUMENT);
    assert_int_equal(recur_context_set_thread_binding(NULL, 1), RECUR_ERR_NULL_POINTER);
    recur_context_destroy(ctx);

    /* Defaults: RECUR_NUM_THREADS wins over OMP_NUM_THREADS (first entry of a list);
     * either is capped at the core count (more only through the API, as above). */
    size_t want5 = t.cores < 5 ? t.cores : 5, want7 = t.cores < 7 ? t.cores : 7;
    setenv("OMP_NUM_THREADS", "5,2", 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), t.openmp ? want5 : 1);
    recur_context_destroy(ctx);
    setenv("RECUR_NUM_THREADS", "7", 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), t.openmp ? want7 : 1);
    recur_context_destroy(ctx);
    setenv("RECUR_NUM_THREADS", "1", 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), 1);
    recur_context_destroy(ctx);
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
}

static void test_topology(void **state)
{
    (void)state;
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    recur_topology t;
    assert_int_equal(recur_context_get_topology(NULL, &t), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_context_get_topology(ctx, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_context_get_topology(ctx, &t), RECUR_OK);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    print_message("# cores %zu, logical %zu, L1d %zu, L2 %zu, L3 %zu, NUMA %zu, threads %zu, "
                  "hwloc %d, openmp %d\n", t.cores, t.logical_cpus, t.l1d_bytes, t.l2_bytes,
                  t.l3_bytes, t.numa_nodes, t.threads, t.hwloc, t.openmp);
    assert_true(t.cores >= 1);
    assert_true(t.cores <= t.logical_cpus);
    assert_true(online < 1 || t.logical_cpus == (size_t)online);
    assert_true(t.numa_nodes >= 1);
    assert_int_equal(t.threads, recur_context_get_num_threads(ctx));
    /* Where known, the hierarchy grows outward. */
    if (t.l1d_bytes && t.l2_bytes)
        assert_true(t.l1d_bytes < t.l2_bytes);
    if (t.l2_bytes && t.l3_bytes)
        assert_true(t.l2_bytes < t.l3_bytes);
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
    assert_true(t.l1d_bytes > 0); /* sysfs or hwloc knows it on these systems */
#endif
    assert_int_equal(t.binding, 0);
    assert_int_equal(recur_context_set_thread_binding(ctx, 1), RECUR_OK);
    assert_int_equal(recur_context_get_topology(ctx, &t), RECUR_OK);
    assert_int_equal(t.binding, 1);
    recur_context_destroy(ctx);
}

/* Bound threads compute the same as unbound ones, and the caller gets its mask back. */
static void test_binding_same_results(void **state)
{
    (void)state;
    const shape *s = &shapes[3];
    ref_got c;
    ref_got_init(&c, s, 77);
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_num_threads(ctx, 2), RECUR_OK);
    ctx->min_step_fmas = 0;
    run_all(ctx, s, &c.p, &c.ref);
    cpu_set_t before, after;
    assert_int_equal(sched_getaffinity(0, sizeof before, &before), 0);
    assert_int_equal(recur_context_set_thread_binding(ctx, 1), RECUR_OK);
    run_all(ctx, s, &c.p, &c.got);
    assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
    assert_true(CPU_EQUAL(&before, &after));
    assert_outputs_equal(&c.ref, &c.got, s, &c.p);
    recur_context_destroy(ctx);
    ref_got_free(&c);
}

/*
 * The calling thread's CPU mask bounds the library: under a one-CPU mask (the mask's
 * first CPU) the default is one thread, and a bound two-thread call binds every team
 * thread inside the mask (thread 1 to the mask's core, not to the machine's core 1;
 * OpenMP's pool keeps the worker, so a later region shows its mask).
 */
static void test_cpu_mask_honoured(void **state)
{
    (void)state;
    cpu_set_t old, one, after;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    if (CPU_COUNT(&old) < 2 || !have_openmp())
        skip();
    int first = 0;
    while (!CPU_ISSET(first, &old))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    size_t def = recur_context_get_num_threads(ctx);
    const shape *s = &shapes[3];
    problem p;
    problem_init(&p, s, 78);
    run_out got;
    out_alloc(&got, s, &p);
    assert_int_equal(recur_context_set_num_threads(ctx, 2), RECUR_OK);
    assert_int_equal(recur_context_set_thread_binding(ctx, 1), RECUR_OK);
    ctx->min_step_fmas = 0;
    run_all(ctx, s, &p, &got);
    assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
    int inside = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(2) reduction(&& : inside)
    {
        cpu_set_t m;
        inside = sched_getaffinity(0, sizeof m, &m) == 0 && CPU_EQUAL(&m, &one);
    }
#endif
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    recur_context_destroy(ctx);
    out_free(&got);
    problem_free(&p);
    if (!getenv("RECUR_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        assert_int_equal(def, 1); /* the environment's counts are not capped by the mask */
    assert_true(CPU_EQUAL(&after, &one));
    assert_true(inside);
}

/* Small problems run fewer threads by default; large ones use the context's count. */
static void test_team_size_heuristic(void **state)
{
    (void)state;
    if (!have_openmp())
        skip();
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_num_threads(ctx, 2), RECUR_OK);
    ctx->adapt = 0; /* the size rule alone, whatever else runs on this machine */
    const shape small = {3, 1, 4, 16, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 0, 0};
    const shape large = {2, 2, 8, 512, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 0, 0};
    const shape *sh[2] = {&small, &large};
    for (int i = 0; i < 2; i++) {
        problem p;
        problem_init(&p, sh[i], 5 + (uint64_t)i);
        run_out o;
        out_alloc(&o, sh[i], &p);
        run_all(ctx, sh[i], &p, &o);
        assert_int_equal(ctx->last_team, i == 0 ? 1 : 2);
        out_free(&o);
        problem_free(&p);
    }
    recur_context_destroy(ctx);
}

/* While a solo spell lasts (ctx->solo_ns, set after a team call did worse than one
 * thread would have), calls up to 4x that call's size run on one thread and count the
 * spell down by their time, larger calls keep the team; after the spell, the full team
 * again. Forced threading (min_step_fmas 0) never shrinks. */
static void test_contended_solo_spell(void **state)
{
    (void)state;
    if (!have_openmp())
        skip();
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_num_threads(ctx, 2), RECUR_OK);
    const shape large = {2, 2, 8, 512, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 0, 0};
    problem p;
    problem_init(&p, &large, 9);
    run_out o;
    out_alloc(&o, &large, &p);
    recur_weights w = recur_weights_from(&p.m.p);
    /* a spell of an hour, as if the last call (of this size) had stalled */
    ctx->solo_ns = ctx->solo_len = UINT64_C(3600000000000);
    ctx->solo_work = 1e30;
    for (int i = 0; i < 3; i++) {
        uint64_t before = ctx->solo_ns;
        recur_forward(ctx, p.m.rnn, large.T, large.N, &w, p.x, NULL, o.y, NULL);
        assert_int_equal(ctx->last_team, 1);
        assert_int_equal(ctx->last_spell, 1); /* what RECUR_VERBOSE reports */
        assert_true(ctx->solo_ns < before);   /* counted down by the call's time */
    }
    ctx->solo_work = 1.0; /* a spell started by a tiny call: this call is far larger */
    recur_forward(ctx, p.m.rnn, large.T, large.N, &w, p.x, NULL, o.y, NULL);
    assert_int_equal(ctx->last_team, 2);
    assert_int_equal(ctx->last_spell, 0);
    ctx->solo_work = 1e30;
    ctx->solo_ns = 1; /* the spell ends with the next call */
    recur_forward(ctx, p.m.rnn, large.T, large.N, &w, p.x, NULL, o.y, NULL);
    assert_int_equal(ctx->last_team, 1);
    assert_true(ctx->solo_ns == 0);
    ctx->adapt = 0; /* and now a full team, whatever else runs on this machine */
    recur_forward(ctx, p.m.rnn, large.T, large.N, &w, p.x, NULL, o.y, NULL);
    assert_int_equal(ctx->last_team, 2);
    ctx->adapt = 1;
    ctx->min_step_fmas = 0;
    ctx->solo_ns = ctx->solo_len = UINT64_C(3600000000000);
    ctx->solo_work = 1e30;
    recur_forward(ctx, p.m.rnn, large.T, large.N, &w, p.x, NULL, o.y, NULL);
    assert_int_equal(ctx->last_team, 2);
    out_free(&o);
    problem_free(&p);
    recur_context_destroy(ctx);
}

/* The rule: worse than one thread when the team's useful CPU time (CPU less spinning)
 * is below its wall time times the share of a core that solo calls got; the spell is
 * 16x the call, doubling while the tries keep being contended, up to 1024x, and back
 * to 16x after RECUR_SOLO_GOOD_RUN good team calls in a row. */
static void test_contended_rule(void **state)
{
    (void)state;
    assert_false(recur_team_contended(1000, 2000, 1.0)); /* two busy threads */
    assert_false(recur_team_contended(1000, 800, 1.0));  /* within the 1.25 margin */
    assert_true(recur_team_contended(1000, 799, 1.0));   /* well under one core's work */
    assert_false(recur_team_contended(1000, 400, 0.5));  /* a solo thread got half a core */
    assert_true(recur_team_contended(1000, 399, 0.5));
    assert_true(recur_team_contended(1000, 799, 0.0));   /* no share measured: 1 */
    /* The caller's share of its core while runnable: its sleep at barriers is its own
     * choice, its waits for the CPU are not. */
    assert_true(recur_runnable_share(1000, 1000, 0) == 1.0);   /* ran throughout */
    assert_true(recur_runnable_share(600, 1000, 400) == 1.0);  /* slept the rest */
    assert_true(recur_runnable_share(300, 1000, 400) == 0.5);  /* half of its core */
    assert_true(recur_runnable_share(1, 1000, 0) == 0.05);     /* floor */
    assert_true(recur_runnable_share(0, 1000, 0) == 1.0);      /* no clock */
    assert_true(recur_runnable_share(500, 400, 400) == 1.0);   /* nothing runnable */
    recur_team_forget_load(); /* whatever earlier tests taught the process */
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    recur_team_note(ctx, 1000, 1e9, 1);
    assert_true(ctx->solo_ns == 16000);
    recur_team_note(ctx, 1000, 1e9, 1);
    assert_true(ctx->solo_ns == 32000);
    for (int i = 0; i < 10; i++)
        recur_team_note(ctx, 1000, 1e9, 1);
    assert_true(ctx->solo_ns == 1024000);
    /* Fewer good calls in a row than the run: the next stall doubles on. */
    for (unsigned i = 0; i + 1 < RECUR_SOLO_GOOD_RUN; i++)
        recur_team_note(ctx, 1000, 1e9, 0);
    recur_team_note(ctx, 1000, 1e9, 1);
    assert_true(ctx->solo_ns == 1024000);
    /* A whole run of good calls: the next stall starts over. */
    for (unsigned i = 0; i < RECUR_SOLO_GOOD_RUN; i++)
        recur_team_note(ctx, 1000, 1e9, 0);
    recur_team_note(ctx, 2000, 1e9, 1);
    assert_true(ctx->solo_ns == 32000);
    /* Solo calls count the spell down and measure their share of the core. */
    assert_true(ctx->solo_share == 1.0);
    recur_solo_note(ctx, 4000, 2000); /* half a core: a neighbour */
    assert_true(ctx->solo_ns == 28000);
    assert_true(ctx->solo_share == 0.5);
    recur_solo_note(ctx, 4000, 2000);
    assert_true(ctx->solo_ns == 24000); /* a quarter in, still shared: goes on */
    recur_solo_note(ctx, 30000, 30000);
    assert_true(ctx->solo_ns == 0);
    recur_team_note(ctx, 1000, 1e9, 1); /* a one-off stall on an idle machine */
    assert_true(ctx->solo_ns == 32000);
    recur_solo_note(ctx, 4000, 4000);
    assert_true(ctx->solo_ns == 28000);
    recur_solo_note(ctx, 4000, 3900); /* a quarter in, the core to itself: ends early */
    assert_true(ctx->solo_ns == 0);
    recur_team_forget_load();
    recur_context_destroy(ctx);
}

/* A context created after another one stalled starts from what that one learnt: the
 * backoff, and the rest of its spell for calls of up to the same size. */
static void test_contended_seed(void **state)
{
    (void)state;
    recur_team_forget_load();
    recur_context *a, *b, *c, *d;
    assert_int_equal(recur_context_create(&a), RECUR_OK);
    assert_true(a->solo_ns == 0 && a->solo_backoff == 0);
    recur_team_note(a, UINT64_C(1000000000), 123.0, 1); /* a 1 s stall: a 16 s spell */
    recur_team_note(a, UINT64_C(1000000000), 123.0, 1); /* 32 s */
    assert_int_equal(recur_context_create(&b), RECUR_OK);
    assert_true(b->solo_backoff == 32);
    assert_true(b->solo_ns > UINT64_C(30000000000) && b->solo_ns <= UINT64_C(32000000000));
    assert_true(b->solo_len == b->solo_ns && b->solo_work == 123.0);
    /* A run of good team calls clears the backoff for contexts created later; the
     * spell already published still runs out in time. */
    for (unsigned i = 0; i < RECUR_SOLO_GOOD_RUN; i++)
        recur_team_note(a, 1000, 123.0, 0);
    assert_int_equal(recur_context_create(&c), RECUR_OK);
    assert_true(c->solo_backoff == 0 && c->solo_ns > 0);
    /* A spell that ends early (the core is free again) ends for new contexts too. */
    recur_solo_note(a, UINT64_C(9000000000), UINT64_C(9000000000));
    assert_true(a->solo_ns == 0);
    assert_int_equal(recur_context_create(&d), RECUR_OK);
    assert_true(d->solo_ns == 0);
    recur_context_destroy(a);
    recur_context_destroy(b);
    recur_context_destroy(c);
    recur_context_destroy(d);
    recur_team_forget_load();
}

/* Inside the caller's parallel region: one thread per call, same results. */
static void test_inside_caller_parallel_region(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#else
    if (!have_openmp())
        skip();
    const shape *s = &shapes[0];
    problem p;
    problem_init(&p, s, 31);
    run_out ref;
    out_alloc(&ref, s, &p);
    recur_context *c0;
    assert_int_equal(recur_context_create(&c0), RECUR_OK);
    run_all(c0, s, &p, &ref);
    recur_context_destroy(c0);

    int bad = 0, teams_ok = 1, ran = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad, ran) reduction(& : teams_ok)
    {
        recur_context *ctx = NULL;
        run_out got;
        out_alloc(&got, s, &p);
        if (recur_context_create(&ctx) == RECUR_OK &&
            recur_context_set_num_threads(ctx, 4) == RECUR_OK) {
            ctx->min_step_fmas = 0;
            recur_weights w = recur_weights_from(&p.m.p);
            bad += recur_forward(ctx, p.m.rnn, s->T, s->N, &w, p.x, p.h0, got.y,
                                 got.h_last) != RECUR_OK;
            bad += memcmp(got.y, ref.y, p.ylen * sizeof(float)) != 0;
            teams_ok &= ctx->last_team == (omp_in_parallel() ? 1u : 4u);
            ran += 1;
        } else {
            bad += 1;
        }
        recur_context_destroy(ctx);
        out_free(&got);
    }
    assert_int_equal(bad, 0);
    assert_int_equal(ran, 2);
    assert_true(teams_ok);
    out_free(&ref);
    problem_free(&p);
#endif
}

/* ---- several pthreads, one context each, at the same time */

typedef struct worker {
    const shape *s;
    const problem *p;
    const run_out *ref;
    int rounds, mismatches;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    recur_context *ctx;
    if (recur_context_create(&ctx) != RECUR_OK) {
        wk->mismatches = -1;
        return NULL;
    }
    recur_context_set_num_threads(ctx, 2);
    ctx->min_step_fmas = 0;
    const shape *s = wk->s;
    const problem *p = wk->p;
    for (int r = 0; r < wk->rounds; r++) {
        run_out got;
        out_alloc(&got, s, p);
        recur_weights w = recur_weights_from(&p->m.p);
        size_t ws_bytes = 0;
        recur_workspace_size(p->m.rnn, s->T, s->N, &ws_bytes);
        void *ws = malloc(ws_bytes);
        recur_backward_options opt = recur_backward_options_default();
        opt.bptt_window = s->window;
        int ok = ws &&
                 recur_forward_train(ctx, p->m.rnn, s->T, s->N, &w, p->x, p->h0, got.y,
                                     got.h_last, ws, ws_bytes) == RECUR_OK &&
                 recur_backward(ctx, p->m.rnn, s->T, s->N, &w, p->x, ws, ws_bytes, p->dy,
                                p->dh_last, &opt, &got.grads, got.dx, got.dh0) == RECUR_OK;
        size_t H = s->H;
        ok = ok && memcmp(got.y, wk->ref->y, p->ylen * sizeof(float)) == 0 &&
             memcmp(got.dx, wk->ref->dx, s->T * s->N * s->I * sizeof(float)) == 0 &&
             memcmp(got.grads.U, wk->ref->grads.U, H * H * sizeof(float)) == 0 &&
             memcmp(got.grads.W, wk->ref->grads.W, H * s->I * sizeof(float)) == 0 &&
             memcmp(got.grads.b, wk->ref->grads.b, H * sizeof(float)) == 0;
        wk->mismatches += !ok;
        free(ws);
        out_free(&got);
    }
    recur_context_destroy(ctx);
    return NULL;
}

static void test_concurrent_contexts(void **state)
{
    (void)state;
    enum { WORKERS = 4 };
    problem p[WORKERS];
    run_out ref[WORKERS];
    worker wk[WORKERS];
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        const shape *s = &shapes[i % 4];
        problem_init(&p[i], s, 500 + (uint64_t)i);
        out_alloc(&ref[i], s, &p[i]);
        recur_context *ctx;
        assert_int_equal(recur_context_create(&ctx), RECUR_OK);
        assert_int_equal(recur_context_set_num_threads(ctx, 1), RECUR_OK);
        run_all(ctx, s, &p[i], &ref[i]);
        recur_context_destroy(ctx);
        wk[i] = (worker){s, &p[i], &ref[i], 5, 0};
    }
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(wk[i].mismatches, 0);
        out_free(&ref[i]);
        problem_free(&p[i]);
    }
}

/* ---- the model API (stacked, bidirectional, ragged, both layouts): the same promise */

typedef struct mshape {
    size_t T, N, I, H, O, L;
    recur_direction dir;
    recur_merge merge;
    recur_activation f, g;
    recur_layout seq, state;
    int y_dir_major, two_biases, ragged;
    float clip;
    size_t window;
} mshape;

/* 2-layer bidirectional models with lengths (N = 50, 97: batch blocks split), both
 * layouts and their mix, clip on and off, CONCAT and SUM (with and without an output
 * layer), ONNX's direction-major y; then a wide H (hidden-unit split), a 3-layer
 * reverse model and a single sequence. */
static const mshape mshapes[] = {
    {7, 50, 6, 20, 3, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT, RECUR_ACT_TANH,
     RECUR_ACT_SOFTMAX, RECUR_LAYOUT_TIME_MAJOR, RECUR_LAYOUT_TIME_MAJOR, 0, 1, 1, 0.8f, 0},
    {6, 97, 5, 37, 0, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM, RECUR_ACT_TANH,
     RECUR_ACT_IDENTITY, RECUR_LAYOUT_BATCH_FIRST, RECUR_LAYOUT_BATCH_FIRST, 0, 0, 1, 0.8f, 3},
    {5, 97, 9, 16, 4, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT, RECUR_ACT_RELU,
     RECUR_ACT_SIGMOID, RECUR_LAYOUT_BATCH_FIRST, RECUR_LAYOUT_TIME_MAJOR, 0, 1, 1, 0.0f, 0},
    {8, 50, 3, 33, 0, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT, RECUR_ACT_SIGMOID,
     RECUR_ACT_IDENTITY, RECUR_LAYOUT_TIME_MAJOR, RECUR_LAYOUT_BATCH_FIRST, 1, 0, 1, 1.5f, 0},
    {6, 50, 4, 24, 5, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM, RECUR_ACT_TANH,
     RECUR_ACT_TANH, RECUR_LAYOUT_TIME_MAJOR, RECUR_LAYOUT_TIME_MAJOR, 0, 1, 1, 0.0f, 0},
    {4, 3, 7, 129, 2, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM, RECUR_ACT_TANH,
     RECUR_ACT_IDENTITY, RECUR_LAYOUT_BATCH_FIRST, RECUR_LAYOUT_BATCH_FIRST, 0, 1, 1, 0.5f, 0},
    {5, 61, 6, 19, 3, 3, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT, RECUR_ACT_TANH,
     RECUR_ACT_SOFTMAX, RECUR_LAYOUT_BATCH_FIRST, RECUR_LAYOUT_TIME_MAJOR, 0, 0, 1, 0.7f, 2},
    {9, 1, 5, 70, 0, 2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT, RECUR_ACT_TANH,
     RECUR_ACT_IDENTITY, RECUR_LAYOUT_TIME_MAJOR, RECUR_LAYOUT_TIME_MAJOR, 0, 1, 0, 0.0f, 0},
};

static const size_t mthread_counts[] = {1, 2, 3, 4};

/* Every tensor of a model (parameters or gradients): one flat array, layer views. */
typedef struct mtens {
    size_t LD, count;
    float *flat;
    recur_layer_tensors *lt;
    recur_model_tensors t;
} mtens;

static void mtens_alloc(mtens *m, const recur_model *model, const mshape *s)
{
    size_t D = recur_model_directions(model), out = recur_model_output_width(model);
    m->LD = s->L * D;
    m->count = 0;
    for (size_t k = 0; k < m->LD; k++)
        m->count += s->H * recur_model_layer_input_size(model, k / D) + s->H * s->H + 2 * s->H;
    m->count += s->O * out + s->O;
    m->flat = fvec(m->count);
    m->lt = calloc(m->LD, sizeof *m->lt);
    assert_non_null(m->lt);
    float *p = m->flat;
    for (size_t k = 0; k < m->LD; k++) {
        size_t in = recur_model_layer_input_size(model, k / D);
        m->lt[k].W = p, p += s->H * in;
        m->lt[k].U = p, p += s->H * s->H;
        m->lt[k].b = p, p += s->H;
        m->lt[k].b_hh = p, p += s->H;
    }
    m->t.layers = m->lt;
    m->t.V = s->O ? p : NULL, p += s->O * out;
    m->t.c = s->O ? p : NULL;
}

static void mtens_free(mtens *m)
{
    free(m->flat);
    free(m->lt);
}

typedef struct mproblem {
    recur_model *model;
    mtens p;
    recur_layer_weights *lw;
    recur_model_weights w;
    size_t nx, ny, ns;
    int32_t *len;
    float *x, *h0, *dy, *dh_last;
} mproblem;

typedef struct mrun_out {
    float *y, *h_last, *dx, *dh0;
    mtens grads, params;
} mrun_out;

static void mproblem_init(mproblem *p, const mshape *s, uint64_t seed)
{
    recur_model_config c = recur_model_config_default(s->I, s->H);
    c.output_size = s->O;
    c.num_layers = s->L;
    c.direction = s->dir;
    c.merge = s->merge;
    c.hidden_act = s->f;
    c.output_act = s->g;
    c.seq_layout = s->seq;
    c.state_layout = s->state;
    c.y_dir_major = s->y_dir_major;
    c.clip = s->clip;
    c.two_biases = s->two_biases;
    assert_int_equal(recur_model_create(&p->model, &c), RECUR_OK);
    test_rng r;
    rng_seed(&r, seed);
    mtens_alloc(&p->p, p->model, s);
    /* Large enough weights that the clip is active on some pre-activations. */
    rng_fill(&r, p->p.flat, p->p.count, -0.6f, 0.6f);
    p->lw = calloc(p->p.LD, sizeof *p->lw);
    assert_non_null(p->lw);
    for (size_t k = 0; k < p->p.LD; k++) {
        p->lw[k].W = p->p.lt[k].W;
        p->lw[k].U = p->p.lt[k].U;
        p->lw[k].b = p->p.lt[k].b;
        p->lw[k].b_hh = p->p.lt[k].b_hh;
    }
    p->w.layers = p->lw;
    p->w.V = p->p.t.V;
    p->w.c = p->p.t.c;
    size_t tn = s->T * s->N;
    p->nx = tn * s->I;
    p->ny = tn * (s->O ? s->O : recur_model_output_width(p->model));
    p->ns = p->p.LD * s->N * s->H;
    p->x = fvec(p->nx);
    p->h0 = fvec(p->ns);
    p->dy = fvec(p->ny);
    p->dh_last = fvec(p->ns);
    rng_fill(&r, p->x, p->nx, -1.5f, 1.5f);
    rng_fill(&r, p->h0, p->ns, -0.5f, 0.5f);
    rng_fill(&r, p->dy, p->ny, -1.0f, 1.0f);
    rng_fill(&r, p->dh_last, p->ns, -0.5f, 0.5f);
    p->len = NULL;
    if (s->ragged) {
        p->len = calloc(s->N, sizeof *p->len);
        assert_non_null(p->len);
        for (size_t n = 0; n < s->N; n++)
            p->len[n] = 1 + (int32_t)(rng_uniform(&r, 0, (float)s->T - 0.01f));
        p->len[s->N / 2] = (int32_t)s->T; /* the longest and shortest, unsorted */
        p->len[s->N - 1] = 1;
    }
}

static void mproblem_free(mproblem *p)
{
    recur_model_destroy(p->model);
    mtens_free(&p->p);
    free(p->lw);
    free(p->len);
    free(p->x);
    free(p->h0);
    free(p->dy);
    free(p->dh_last);
}

static void mout_alloc(mrun_out *o, const mshape *s, const mproblem *p)
{
    o->y = fvec(p->ny);
    o->h_last = fvec(p->ns);
    o->dx = fvec(p->nx);
    o->dh0 = fvec(p->ns);
    mtens_alloc(&o->grads, p->model, s);
    mtens_alloc(&o->params, p->model, s);
}

static void mout_free(mrun_out *o)
{
    free(o->y);
    free(o->h_last);
    free(o->dx);
    free(o->dh0);
    mtens_free(&o->grads);
    mtens_free(&o->params);
}

/* forward, forward_train, backward (dy, dh_last, dx, dh0), one SGD step with momentum. */
static void mrun_all(recur_context *ctx, const mshape *s, const mproblem *p, mrun_out *o)
{
    /* Sentinels: padding rows must be written (zeros) by every thread count alike. */
    fill_sentinel(o->y, p->ny);
    fill_sentinel(o->dx, p->nx);
    assert_int_equal(recur_model_forward(ctx, p->model, s->T, s->N, p->len, &p->w, p->x, p->h0,
                                         o->y, o->h_last),
                     RECUR_OK);
    size_t ws_bytes;
    assert_int_equal(recur_model_workspace_size(p->model, s->T, s->N, &ws_bytes), RECUR_OK);
    void *ws = malloc(ws_bytes);
    assert_non_null(ws);
    float *y2 = fvec(p->ny), *hl2 = fvec(p->ns);
    assert_int_equal(recur_model_forward_train(ctx, p->model, s->T, s->N, p->len, &p->w, p->x,
                                               p->h0, y2, hl2, ws, ws_bytes),
                     RECUR_OK);
    assert_memory_equal(y2, o->y, p->ny * sizeof(float));
    assert_memory_equal(hl2, o->h_last, p->ns * sizeof(float));
    recur_backward_options opt = recur_backward_options_default();
    opt.bptt_window = s->window;
    fill_sentinel(o->grads.flat, o->grads.count);
    assert_int_equal(recur_model_backward(ctx, p->model, s->T, s->N, &p->w, p->x, ws, ws_bytes,
                                          p->dy, p->dh_last, &opt, &o->grads.t, o->dx, o->dh0),
                     RECUR_OK);
    memcpy(o->params.flat, p->p.flat, p->p.count * sizeof(float));
    mtens vel;
    mtens_alloc(&vel, p->model, s);
    recur_sgd_options sgd = {0.1f, 0.9f, 1e-3f};
    assert_int_equal(recur_model_sgd_update(p->model, &o->params.t, &o->grads.t, &sgd, &vel.t),
                     RECUR_OK);
    mtens_free(&vel);
    free(ws);
    free(y2);
    free(hl2);
}

static void massert_equal(const mrun_out *a, const mrun_out *b, const mproblem *p,
                          const mshape *s)
{
    assert_memory_equal(a->y, b->y, p->ny * sizeof(float));
    assert_memory_equal(a->h_last, b->h_last, p->ns * sizeof(float));
    assert_memory_equal(a->dx, b->dx, p->nx * sizeof(float));
    assert_memory_equal(a->dh0, b->dh0, p->ns * sizeof(float));
    /* Every gradient tensor (b_hh slots hold sentinels without two biases, on both). */
    for (size_t k = 0; k < p->p.LD; k++) {
        size_t in = recur_model_layer_input_size(p->model, k / recur_model_directions(p->model));
        assert_memory_equal(a->grads.lt[k].W, b->grads.lt[k].W, s->H * in * sizeof(float));
        assert_memory_equal(a->grads.lt[k].U, b->grads.lt[k].U, s->H * s->H * sizeof(float));
        assert_memory_equal(a->grads.lt[k].b, b->grads.lt[k].b, s->H * sizeof(float));
        assert_memory_equal(a->grads.lt[k].b_hh, b->grads.lt[k].b_hh, s->H * sizeof(float));
    }
    assert_memory_equal(a->grads.flat, b->grads.flat, a->grads.count * sizeof(float));
    assert_memory_equal(a->params.flat, b->params.flat, a->params.count * sizeof(float));
}

static void check_model_determinism(recur_isa isa, int barrier)
{
    if (!recur_isa_supported(isa))
        skip();
    int omp = have_openmp();
    int batch_split_seen = 0, hidden_split_seen = 0;
    for (size_t si = 0; si < sizeof mshapes / sizeof mshapes[0]; si++) {
        const mshape *s = &mshapes[si];
        mproblem p;
        mproblem_init(&p, s, 2000 + si);
        mrun_out ref, got;
        mout_alloc(&ref, s, &p);
        mout_alloc(&got, s, &p);
        for (size_t ti = 0; ti < sizeof mthread_counts / sizeof mthread_counts[0]; ti++) {
            size_t n = mthread_counts[ti];
            recur_context *ctx = forced_context(isa, n, barrier);
            mrun_all(ctx, s, &p, n == 1 ? &ref : &got);
            /* The last call (backward) really ran n threads. */
            assert_int_equal(ctx->last_team, omp ? n : 1);
            if (n > 1) {
                batch_split_seen |= ctx->last_pb > 1;
                hidden_split_seen |= ctx->last_pr > 1;
                massert_equal(&ref, &got, &p, s);
            }
            recur_context_destroy(ctx);
        }
        mout_free(&ref);
        mout_free(&got);
        mproblem_free(&p);
    }
    /* Both splits of the step were exercised (not everything ran one way). */
    if (omp) {
        assert_true(batch_split_seen);
        assert_true(hidden_split_seen);
    }
}

static void test_model_determinism_scalar(void **state) { (void)state; check_model_determinism(RECUR_ISA_SCALAR, RECUR_BARRIER_AUTO); }
static void test_model_determinism_avx2(void **state) { (void)state; check_model_determinism(RECUR_ISA_AVX2, RECUR_BARRIER_AUTO); }
static void test_model_determinism_avx512(void **state) { (void)state; check_model_determinism(RECUR_ISA_AVX512, RECUR_BARRIER_AUTO); }
static void test_model_determinism_neon(void **state) { (void)state; check_model_determinism(RECUR_ISA_NEON, RECUR_BARRIER_AUTO); }
static void test_model_determinism_spin_barrier(void **state)
{
    (void)state;
    check_model_determinism(recur_isa_best(), RECUR_BARRIER_SPIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_api),
        cmocka_unit_test(test_topology),
        cmocka_unit_test(test_determinism_scalar),
        cmocka_unit_test(test_determinism_avx2),
        cmocka_unit_test(test_determinism_avx512),
        cmocka_unit_test(test_determinism_neon),
        cmocka_unit_test(test_determinism_spin_barrier),
        cmocka_unit_test(test_determinism_omp_barrier),
        cmocka_unit_test(test_binding_same_results),
        cmocka_unit_test(test_cpu_mask_honoured),
        cmocka_unit_test(test_team_size_heuristic),
        cmocka_unit_test(test_contended_solo_spell),
        cmocka_unit_test(test_contended_rule),
        cmocka_unit_test(test_contended_seed),
        cmocka_unit_test(test_step_chunks_same_results),
        cmocka_unit_test(test_inside_caller_parallel_region),
        cmocka_unit_test(test_concurrent_contexts),
        cmocka_unit_test(test_model_determinism_scalar),
        cmocka_unit_test(test_model_determinism_avx2),
        cmocka_unit_test(test_model_determinism_avx512),
        cmocka_unit_test(test_model_determinism_neon),
        cmocka_unit_test(test_model_determinism_spin_barrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
