#define _GNU_SOURCE
/*
 * A context honours the CPU binding an MPI launcher gives each rank: without
 * RECUR_NUM_THREADS / OMP_NUM_THREADS, its default thread count is at most the CPUs of
 * the rank's affinity mask. Run as "test_mpi_binding core" under
 * `mpirun --bind-to core` (each rank has one CPU: one thread), and as
 * "test_mpi_binding none" unbound (every rank gets the machine's default, which is the
 * same on every rank and at most its allowed CPUs).
 */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mpi_test_util.h"

static int bound; /* 1: launched with --bind-to core */

static void default_threads_follow_the_binding(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    size_t allowed = (size_t)CPU_COUNT(&set);
    recur_context *ctx;
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    recur_topology topo;
    assert_int_equal(recur_context_get_topology(ctx, &topo), RECUR_OK);
    size_t threads = recur_context_get_num_threads(ctx);
    printf("rank %d: %zu CPUs in the affinity mask, %zu cores, %zu threads\n", mt_rank, allowed,
           topo.cores, threads);
    fprintf(stderr, "rank %d: %zu CPUs allowed, %zu cores, default threads %zu\n", mt_rank,
            allowed, topo.cores, threads);
    MT_EXPECT(threads >= 1 && threads <= allowed,
              "default threads %zu, but the affinity mask has %zu CPUs", threads, allowed);
    if (bound)
        MT_EXPECT(allowed == 1 && threads == 1,
                  "bound to a core: %zu CPUs allowed, %zu threads (want 1 and 1)", allowed,
                  threads);
    else
        MT_EXPECT(mt_same_on_all(threads), "unbound ranks chose different thread counts");
    recur_context_destroy(ctx);
    mt_verdict();
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv);
    bound = argc > 1 && strcmp(argv[1], "core") == 0;
    /* The default is under test, not a count from the environment. */
    unsetenv("RECUR_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_threads_follow_the_binding),
    };
    return mt_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
