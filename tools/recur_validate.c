/*
 * recur-validate: checks every SIMD ISA this CPU runs against the scalar oracle
 * (forward, BPTT, SGD) on a grid of shapes, through the public API, and prints
 * one row per (ISA, op, shape) with the bound each element had to meet (derived
 * from K*eps, see recur_compare.h; "bound@worst" is the tolerance of the element
 * with the largest error/tolerance ratio). Exit status 1 on any failure.
 *   recur-validate [--quick] [--info]
 */
#include <stdio.h>
#include <string.h>
#include "recur.h"
#include "recur_compare.h"

static const char *act_name(recur_activation a)
{
    static const char *n[] = {"tanh", "relu", "sigmoid", "identity", "softmax"};
    return (unsigned)a < 5 ? n[a] : "?";
}

static void print_info(void)
{
    static const recur_isa all[] = {RECUR_ISA_SCALAR, RECUR_ISA_AVX2, RECUR_ISA_AVX512,
                                    RECUR_ISA_NEON};
    printf("recur %s\nbest ISA: %s\nsupported ISAs:", recur_version_string(),
           recur_isa_name(recur_isa_best()));
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (recur_isa_supported(all[i]))
            printf(" %s", recur_isa_name(all[i]));
    printf("\n");
    recur_context *ctx;
    recur_topology t;
    if (recur_context_create(&ctx) != RECUR_OK)
        return;
    if (recur_context_get_topology(ctx, &t) == RECUR_OK)
        printf("cores: %zu physical, %zu logical; NUMA nodes: %zu\n"
               "caches: L1d %zu KiB, L2 %zu KiB, L3 %zu KiB (from %s)\n"
               "threads: %zu (binding %s)\n",
               t.cores, t.logical_cpus, t.numa_nodes, t.l1d_bytes >> 10, t.l2_bytes >> 10,
               t.l3_bytes >> 10, t.hwloc ? "hwloc" : "sysfs", t.threads, t.binding ? "on" : "off");
    recur_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--info")) {
            print_info();
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--info]\n", argv[0]);
            return 2;
        }
    }
    /* T, N, I, H, O, f, g, window */
    static const cmp_shape grid[] = {
        {1, 1, 1, 1, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 0},
        {5, 1, 3, 17, 4, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, 0},
        {4, 3, 16, 33, 0, RECUR_ACT_RELU, RECUR_ACT_IDENTITY, 2},
        {3, 16, 15, 31, 5, RECUR_ACT_SIGMOID, RECUR_ACT_SIGMOID, 0},
        {6, 7, 8, 65, 3, RECUR_ACT_IDENTITY, RECUR_ACT_TANH, 0},
        {2, 17, 33, 129, 10, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, 0},
        {8, 4, 63, 127, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY, 3},
        {3, 33, 65, 257, 17, RECUR_ACT_RELU, RECUR_ACT_IDENTITY, 0},
        {2, 64, 128, 512, 32, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, 0},
        {4, 1, 64, 1024, 0, RECUR_ACT_SIGMOID, RECUR_ACT_IDENTITY, 0},
    };
    const size_t n_grid = quick ? 6 : sizeof grid / sizeof grid[0];
    static const recur_isa isas[] = {RECUR_ISA_AVX2, RECUR_ISA_AVX512, RECUR_ISA_NEON};
    static const char *ops[] = {"forward", "bptt", "sgd"};

    recur_context *ref = NULL;
    if (recur_context_create(&ref) != RECUR_OK ||
        recur_context_set_isa(ref, RECUR_ISA_SCALAR) != RECUR_OK) {
        fprintf(stderr, "recur-validate: cannot create the scalar context\n");
        return 1;
    }
    int failures = 0, tested = 0;
    printf("%-7s %-8s %-40s %11s %11s %12s %s\n", "ISA", "op", "shape (T,N,I,H,O,f,g,win)",
           "max abs", "max rel", "bound@worst", "result");
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!recur_isa_supported(isas[k]))
            continue;
        recur_context *ctx = NULL;
        if (recur_context_create(&ctx) != RECUR_OK ||
            recur_context_set_isa(ctx, isas[k]) != RECUR_OK) {
            printf("%-7s cannot create a context\n", recur_isa_name(isas[k]));
            failures++;
            recur_context_destroy(ctx);
            continue;
        }
        tested++;
        for (size_t g = 0; g < n_grid; g++) {
            const cmp_shape *s = &grid[g];
            cmp_stat st[3];
            int r = cmp_check(ref, ctx, s, 1000 + g, st);
            char shape[64];
            snprintf(shape, sizeof shape, "%zu,%zu,%zu,%zu,%zu,%s,%s,%zu", s->T, s->N, s->I,
                     s->H, s->O, act_name(s->f), s->O ? act_name(s->g) : "-", s->window);
            if (r < 0) {
                printf("%-7s %-8s %-40s API error\n", recur_isa_name(isas[k]), "all", shape);
                failures++;
                continue;
            }
            for (int op = 0; op < 3; op++) {
                int pass = st[op].max_ratio <= 1.0;
                failures += !pass;
                printf("%-7s %-8s %-40s %11.3e %11.3e %12.3e %s%s%s\n", recur_isa_name(isas[k]),
                       ops[op], shape, st[op].max_abs, st[op].max_rel, st[op].bound,
                       pass ? "PASS" : "FAIL", pass ? "" : " in ",
                       pass ? "" : (st[op].worst ? st[op].worst : "?"));
            }
        }
        recur_context_destroy(ctx);
    }
    recur_context_destroy(ref);
    if (!tested)
        printf("no SIMD ISA on this CPU/build: nothing to compare\n");
    printf("%s\n", failures ? "FAILED" : "all PASS");
    return failures ? 1 : 0;
}
