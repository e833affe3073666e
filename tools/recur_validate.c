/*
 * recur-validate: checks every SIMD ISA this CPU runs against the scalar oracle
 * (forward, BPTT, SGD) on a grid of shapes, through the public API, and prints
 * one row per (ISA, op, shape) with the bound each element had to meet (derived
 * from K*eps, see recur_compare.h; "bound@worst" is the tolerance of the element
 * with the largest error/tolerance ratio). Exit status 1 on any failure.
 *   recur-validate [--quick] [--info]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recur.h"
#include "recur_compare.h"
/* --info also prints what the library chose inside: the machine and the GEMM blocks. */
#include "gemm.h"
#include "isa_list.h"
#include "kernel_table.h"
#include "topology.h"

static const char *act_name(recur_activation a)
{
    static const char *n[] = {"tanh", "relu", "sigmoid", "identity", "softmax"};
    return (unsigned)a < 5 ? n[a] : "?";
}

/* Every ISA of src/isa_list.h, in the enum's order, and the SIMD ones under test. */
#define RECUR_ISA_VALUE_(NAME, name, runs, rank) RECUR_ISA_##NAME,
static const recur_isa all_isas[] = {RECUR_ISA_LIST(RECUR_ISA_VALUE_)};
static const recur_isa simd_isas[] = {RECUR_ISA_SIMD_LIST(RECUR_ISA_VALUE_)};
#undef RECUR_ISA_VALUE_
#define N_ISAS (sizeof all_isas / sizeof all_isas[0])
#define N_SIMD (sizeof simd_isas / sizeof simd_isas[0])

/* One line per supported ISA: its register tile and cache blocks, and their source. */
static void print_blocks(void)
{
    const char *env = getenv("RECUR_GEMM_BLOCKS");
    const recur_kernel_table *best = recur_kernel_table_get(RECUR_ISA_AUTO);
    int ignored = env && best->gemm == recur_gemm_blocked &&
                  best->gemm_config.blocks_from != RECUR_BLOCKS_OVERRIDE;
    printf("GEMM blocks (RECUR_GEMM_BLOCKS %s%s%s%s):\n", env ? "\"" : "unset", env ? env : "",
           env ? "\"" : "", ignored ? ", invalid: ignored" : "");
    for (size_t i = 0; i < N_ISAS; i++) {
        const recur_kernel_table *kt = recur_kernel_table_get(all_isas[i]);
        if (!kt)
            continue;
        const recur_gemm_config *g = &kt->gemm_config;
        if (kt->gemm != recur_gemm_blocked) {
            printf("  %-7s plain loop (the oracle), no blocks\n", recur_isa_name(kt->isa));
            continue;
        }
        printf("  %-7s %zux%zu tile, kc %zu, mc %zu, nc %zu (%s)\n", recur_isa_name(kt->isa),
               g->mr, g->nr, g->kc, g->mc, g->nc, recur_gemm_blocks_source_name(g->blocks_from));
    }
}

static void print_info(void)
{
    printf("recur %s\nbest ISA: %s\nsupported ISAs:", recur_version_string(),
           recur_isa_name(recur_isa_best()));
    for (size_t i = 0; i < N_ISAS; i++)
        if (recur_isa_supported(all_isas[i]))
            printf(" %s", recur_isa_name(all_isas[i]));
    printf("\n");
    const recur_machine *m = recur_machine_get();
    printf("cpu: %s (vendor %s, family %u, model %u)\n", m->cpu_name[0] ? m->cpu_name : "?",
           m->cpu_vendor[0] ? m->cpu_vendor : "?", m->cpu_family, m->cpu_model);
    recur_context *ctx;
    recur_topology t;
    if (recur_context_create(&ctx) != RECUR_OK)
        return;
    if (recur_context_get_topology(ctx, &t) == RECUR_OK)
        printf("cores: %zu physical, %zu logical; NUMA nodes: %zu\n"
               "caches: L1d %zu KiB, L2 %zu KiB, L3 %zu KiB shared by %zu cores (from %s)\n"
               "threads: %zu (binding %s)\n",
               t.cores, t.logical_cpus, t.numa_nodes, t.l1d_bytes >> 10, t.l2_bytes >> 10,
               t.l3_bytes >> 10, m->l3_cores, t.hwloc ? "hwloc" : "sysfs", t.threads,
               t.binding ? "on" : "off");
    recur_context_destroy(ctx);
    print_blocks();
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
    for (size_t k = 0; k < N_SIMD; k++) {
        if (!recur_isa_supported(simd_isas[k]))
            continue;
        recur_context *ctx = NULL;
        if (recur_context_create(&ctx) != RECUR_OK ||
            recur_context_set_isa(ctx, simd_isas[k]) != RECUR_OK) {
            printf("%-7s cannot create a context\n", recur_isa_name(simd_isas[k]));
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
                printf("%-7s %-8s %-40s API error\n", recur_isa_name(simd_isas[k]), "all", shape);
                failures++;
                continue;
            }
            for (int op = 0; op < 3; op++) {
                int pass = st[op].max_ratio <= 1.0;
                failures += !pass;
                printf("%-7s %-8s %-40s %11.3e %11.3e %12.3e %s%s%s\n", recur_isa_name(simd_isas[k]),
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
