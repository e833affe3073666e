/* Contexts: their own copy of the kernel table in use (with the GEMM blocks chosen for
 * this machine) plus scratch memory reused across calls. */
#include <stdlib.h>
#include <string.h>
#include "isa_list.h"
#include "parallel.h"

#define RECUR_MAX_THREADS 1024

/* A thread count from an environment variable: decimal digits, then the end (or, for
 * OMP_NUM_THREADS's list "4,2", a comma), in [1, RECUR_MAX_THREADS]. Anything else
 * (empty, a sign, garbage, 0, an overflow) is ignored: 0, and the next source decides. */
static size_t threads_from_env(const char *name)
{
    const char *v = getenv(name);
    if (!v)
        return 0;
    size_t n = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (size_t)(*p - '0');
        if (n > RECUR_MAX_THREADS)
            return 0;
    }
    if (p == v || (*p != '\0' && *p != ','))
        return 0;
    return n;
}

static size_t default_threads(void)
{
    size_t n = threads_from_env("RECUR_NUM_THREADS");
    if (!n)
        n = threads_from_env("OMP_NUM_THREADS");
    /* More threads than cores only when asked for through the API */
    size_t cores = recur_machine_get()->cores;
    if (n && cores && n > cores)
        n = cores;
    if (!n) { /* physical cores, but no more than the affinity mask holds (counted in
               * cores: a mask of 8 cores' 16 SMT threads gives 8) and no more CPUs than
               * the mask and the cgroup quota give this process */
        n = recur_machine_get()->cores;
        size_t cores = recur_cores_allowed(), allowed = recur_cpus_allowed();
        if (cores && cores < n)
            n = cores;
        if (allowed && allowed < n)
            n = allowed;
    }
    return n ? n : 1;
}

/* RECUR_ISA from the environment; unset or empty means auto. */
static recur_status isa_from_env(recur_isa *isa)
{
    static const struct { const char *name; recur_isa isa; } names[] = {
        {"auto", RECUR_ISA_AUTO},
#define RECUR_ISA_NAME_(NAME, name, runs, rank) {#name, RECUR_ISA_##NAME},
        RECUR_ISA_LIST(RECUR_ISA_NAME_)
#undef RECUR_ISA_NAME_
    };
    const char *v = getenv("RECUR_ISA");
    *isa = RECUR_ISA_AUTO;
    if (!v || !*v)
        return RECUR_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i].name) == 0) {
            *isa = names[i].isa;
            return RECUR_OK;
        }
    return RECUR_ERR_INVALID_ARGUMENT;
}

recur_status recur_context_create(recur_context **ctx)
{
    if (!ctx)
        return RECUR_ERR_NULL_POINTER;
    recur_isa isa;
    recur_status st = isa_from_env(&isa);
    if (st != RECUR_OK)
        return st;
    if (!recur_isa_supported(isa))
        return RECUR_ERR_UNSUPPORTED_ISA;
    /* Allocated before the first table lookup detects the machine (which allocates
     * too), so that the context's own allocation is its first. */
    recur_context *c = calloc(1, sizeof *c);
    if (!c)
        return RECUR_ERR_OUT_OF_MEMORY;
    c->table = *recur_kernel_table_get(isa); /* the context's own copy */
    c->kt = &c->table;
    c->num_threads = default_threads();
    c->min_step_fmas = RECUR_MIN_STEP_FMAS_DEFAULT;
    c->barrier = RECUR_BARRIER_AUTO;
    c->adapt = 1;
    c->solo_share = 1.0;
    recur_team_seed(c);
    c->verbose = recur_verbose_level();
    if (c->verbose >= 2)
        recur_verbose_context(c);
    *ctx = c;
    return RECUR_OK;
}

void recur_context_destroy(recur_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->scratch);
    for (size_t i = 0; i < ctx->nbufs; i++)
        free(ctx->bufs[i].p);
    free(ctx->bufs);
    free(ctx);
}

recur_status recur_context_set_isa(recur_context *ctx, recur_isa isa)
{
    if (!ctx)
        return RECUR_ERR_NULL_POINTER;
    if ((unsigned)isa > (unsigned)RECUR_ISA_COUNT)
        return RECUR_ERR_INVALID_ARGUMENT;
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    if (!kt)
        return RECUR_ERR_UNSUPPORTED_ISA;
    ctx->table = *kt;
    ctx->kt = &ctx->table;
    return RECUR_OK;
}

recur_isa recur_context_isa(const recur_context *ctx)
{
    return ctx ? ctx->kt->isa : RECUR_ISA_SCALAR;
}

float *recur_context_scratch(recur_context *ctx, size_t floats)
{
    if (floats <= ctx->scratch_floats)
        return ctx->scratch;
    size_t bytes;
    if (!recur_mul_ok(recur_align16(floats), sizeof(float), &bytes))
        return NULL;
    float *p = aligned_alloc(64, bytes);
    if (!p)
        return NULL;
    free(ctx->scratch);
    ctx->scratch = p;
    ctx->scratch_floats = recur_align16(floats);
    return p;
}

recur_status recur_context_set_num_threads(recur_context *ctx, size_t n)
{
    if (!ctx)
        return RECUR_ERR_NULL_POINTER;
    if (n > RECUR_MAX_THREADS)
        return RECUR_ERR_INVALID_ARGUMENT;
    ctx->num_threads = n ? n : default_threads();
    return RECUR_OK;
}

size_t recur_context_get_num_threads(const recur_context *ctx)
{
#ifdef RECUR_HAVE_OPENMP
    return ctx ? ctx->num_threads : 1;
#else
    (void)ctx;
    return 1;
#endif
}

recur_status recur_context_set_thread_binding(recur_context *ctx, int on)
{
    if (!ctx)
        return RECUR_ERR_NULL_POINTER;
    if (on != 0 && on != 1)
        return RECUR_ERR_INVALID_ARGUMENT;
    ctx->bind = on;
    return RECUR_OK;
}

recur_status recur_context_get_topology(const recur_context *ctx, recur_topology *t)
{
    if (!ctx || !t)
        return RECUR_ERR_NULL_POINTER;
    const recur_machine *m = recur_machine_get();
    memset(t, 0, sizeof *t);
    t->cores = m->cores;
    t->logical_cpus = m->logical_cpus;
    t->l1d_bytes = m->l1d_bytes;
    t->l2_bytes = m->l2_bytes;
    t->l3_bytes = m->l3_bytes;
    t->numa_nodes = m->numa_nodes;
    t->threads = recur_context_get_num_threads(ctx);
    t->hwloc = m->hwloc;
#ifdef RECUR_HAVE_OPENMP
    t->openmp = 1;
#endif
    t->binding = ctx->bind;
    return RECUR_OK;
}
