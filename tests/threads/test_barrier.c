/* The step barrier (spin, then futex sleep) and the CPU count a context defaults to:
 * affinity mask and cgroup cpu.max. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "internal.h"
#include "spin_barrier.h"

enum { THREADS = 5, ROUNDS = 3000 };

typedef struct shared {
    recur_spin_barrier bar;
    size_t seen[THREADS]; /* round each thread finished */
    int bad;
} shared;

typedef struct arg {
    shared *s;
    size_t tid;
} arg;

/* Every round each thread writes its slot, passes the barrier, and checks every other
 * slot: a barrier that let a thread through early (or lost a wake-up, hanging the test)
 * is caught. Every 64th round one thread sleeps 200 us, so the others go past the spin
 * and sleep on the futex. */
static void *worker(void *p)
{
    arg *a = p;
    size_t phase = 0;
    for (size_t r = 1; r <= ROUNDS; r++) {
        if (r % 64 == 0 && a->tid == r / 64 % THREADS) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        __atomic_store_n(&a->s->seen[a->tid], r, __ATOMIC_RELAXED);
        recur_spin_barrier_wait(&a->s->bar, THREADS, &phase);
        for (size_t t = 0; t < THREADS; t++)
            if (__atomic_load_n(&a->s->seen[t], __ATOMIC_RELAXED) < r)
                __atomic_store_n(&a->s->bad, 1, __ATOMIC_RELAXED);
        recur_spin_barrier_wait(&a->s->bar, THREADS, &phase);
    }
    return NULL;
}

static void test_barrier_sleeps_and_wakes(void **state)
{
    (void)state;
    shared s;
    memset(&s, 0, sizeof s);
    recur_spin_barrier_init(&s.bar);
    pthread_t th[THREADS];
    arg a[THREADS];
    for (size_t t = 0; t < THREADS; t++) {
        a[t] = (arg){&s, t};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &a[t]), 0);
    }
    for (size_t t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(s.bad, 0);
    assert_int_equal(atomic_load(&s.bar.arrived), (size_t)THREADS * ROUNDS * 2);
    assert_int_equal(atomic_load(&s.bar.sleepers), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cgroup_cpu_max(void **state)
{
    (void)state;
    char path[] = "/tmp/recur_cpumax_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const struct { const char *text; size_t cpus; } cases[] = {
        {"max 100000\n", 0},    {"200000 100000\n", 2}, {"150000 100000\n", 2},
        {"50000 100000\n", 1},  {"100000 100000\n", 1}, {"garbage\n", 0},
        {"0 100000\n", 0},      {"100000 0\n", 0},      {"", 0},
        {"-5 100000\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        assert_int_equal(recur_cgroup_cpu_max_file(path), cases[i].cpus);
    }
    unlink(path);
    assert_int_equal(recur_cgroup_cpu_max_file("/nonexistent/cpu.max"), 0);
}

/* A context created while the process may run on one CPU defaults to one thread. */
static void test_affinity_caps_default(void **state)
{
    (void)state;
    recur_context *ctx;
    recur_topology topo;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_topology(ctx, &topo), RECUR_OK);
    recur_context_destroy(ctx);
    if (!topo.openmp) /* one thread always */
        skip();
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    size_t allowed = recur_cpus_allowed();
    assert_true(allowed >= 1);
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &old))
            first = c;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    assert_int_equal(recur_cpus_allowed(), 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx), 1);
    recur_context_destroy(ctx);
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    assert_int_equal(recur_cpus_allowed(), allowed);
}

/* Thread counts from the environment: only plain positive counts up to 1024 are taken;
 * "-1" once became 1024 threads through strtoul's wrap-around. */
static void test_env_thread_counts(void **state)
{
    (void)state;
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    size_t def = recur_context_get_num_threads(ctx);
    recur_topology topo;
    assert_int_equal(recur_context_get_topology(ctx, &topo), RECUR_OK);
    recur_context_destroy(ctx);
    static const char *ignored[] = {"-1", "-0", "0", "abc", "", " 3", "3x", "+2", "1025",
                                    "18446744073709551617", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        for (int var = 0; var < 2; var++) {
            setenv(var ? "OMP_NUM_THREADS" : "RECUR_NUM_THREADS", ignored[i], 1);
            assert_int_equal(recur_context_create(&ctx), RECUR_OK);
            assert_int_equal(recur_context_get_num_threads(ctx), def);
            recur_context_destroy(ctx);
            unsetenv(var ? "OMP_NUM_THREADS" : "RECUR_NUM_THREADS");
        }
    /* a bad RECUR_NUM_THREADS falls through to OMP_NUM_THREADS's first entry */
    setenv("RECUR_NUM_THREADS", "-1", 1);
    setenv("OMP_NUM_THREADS", "3,2", 1);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_get_num_threads(ctx),
                     topo.openmp ? (topo.cores < 3 ? topo.cores : 3) : 1);
    recur_context_destroy(ctx);
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_barrier_sleeps_and_wakes),
        cmocka_unit_test(test_cgroup_cpu_max),
        cmocka_unit_test(test_affinity_caps_default),
        cmocka_unit_test(test_env_thread_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
