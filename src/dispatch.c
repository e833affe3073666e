/*
 * Kernel-table selection: the build says which kernel directories exist
 * (RECUR_HAVE_<ISA>), the CPU says which can run (src/isa_list.h). The tables in
 * kernels/ are static and immutable; the ones handed out are per-process copies whose
 * GEMM blocks are chosen once for this machine (pthread_once), so concurrent callers
 * are safe.
 */
#include <pthread.h>
#include <stdlib.h>
#include "gemm.h"
#include "internal.h"
#include "isa_list.h"
#include "topology.h"

#ifndef RECUR_HAVE_AVX2
const recur_kernel_table *recur_kernels_avx2(void) { return NULL; }
#endif
#ifndef RECUR_HAVE_AVX512
const recur_kernel_table *recur_kernels_avx512(void) { return NULL; }
#endif
#ifndef RECUR_HAVE_NEON
const recur_kernel_table *recur_kernels_neon(void) { return NULL; }
#endif

/* The static table of isa when this build has it and this CPU runs it; no machine
 * detection, so asking what is supported stays cheap. */
static const recur_kernel_table *static_table(recur_isa isa)
{
    switch (isa) {
#define RECUR_ISA_CASE_(NAME, name, runs, rank)                                          \
    case RECUR_ISA_##NAME: return (runs) ? recur_kernels_##name() : NULL;
        RECUR_ISA_LIST(RECUR_ISA_CASE_)
#undef RECUR_ISA_CASE_
    default: return NULL;
    }
}

static int isa_rank(recur_isa isa)
{
    switch (isa) {
#define RECUR_ISA_RANK_(NAME, name, runs, rank)                                          \
    case RECUR_ISA_##NAME: return rank;
        RECUR_ISA_LIST(RECUR_ISA_RANK_)
#undef RECUR_ISA_RANK_
    default: return -1;
    }
}

/* Indexed by the enum value (isa_list.h keeps the list at the enum's values). */
static recur_kernel_table tuned[RECUR_ISA_COUNT + 1];
static const recur_kernel_table *tuned_ptr[RECUR_ISA_COUNT + 1];
static pthread_once_t tuned_once = PTHREAD_ONCE_INIT;

/* Copies of the tables with the GEMM blocks of this machine; RECUR_GEMM_BLOCKS is
 * read here, once per process. */
static void tune_tables(void)
{
    const recur_machine *m = recur_machine_get();
    const char *env = getenv("RECUR_GEMM_BLOCKS");
    for (int v = 1; v <= RECUR_ISA_COUNT; v++) {
        const recur_kernel_table *kt = static_table((recur_isa)v);
        if (!kt)
            continue;
        tuned[v] = *kt;
        recur_gemm_config_choose(&tuned[v].gemm_config, kt->gemm == recur_gemm_blocked, m, env);
        tuned_ptr[v] = &tuned[v];
    }
}

const recur_kernel_table *recur_kernel_table_get(recur_isa isa)
{
    if (isa == RECUR_ISA_AUTO)
        isa = recur_isa_best();
    if ((unsigned)isa > (unsigned)RECUR_ISA_COUNT)
        return NULL;
    pthread_once(&tuned_once, tune_tables);
    return tuned_ptr[isa];
}

int recur_isa_supported(recur_isa isa)
{
    return isa == RECUR_ISA_AUTO || static_table(isa) != NULL;
}

recur_isa recur_isa_best(void)
{
    recur_isa best = RECUR_ISA_SCALAR;
    for (int v = 1; v <= RECUR_ISA_COUNT; v++)
        if (static_table((recur_isa)v) && isa_rank((recur_isa)v) > isa_rank(best))
            best = (recur_isa)v;
    return best;
}

const char *recur_isa_name(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_AUTO: return "auto";
#define RECUR_ISA_NAME_(NAME, name, runs, rank)                                          \
    case RECUR_ISA_##NAME: return #name;
        RECUR_ISA_LIST(RECUR_ISA_NAME_)
#undef RECUR_ISA_NAME_
    default: return "unknown";
    }
}
