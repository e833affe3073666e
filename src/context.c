/* Contexts: the kernel table in use plus scratch memory reused across calls. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* RECUR_ISA from the environment; unset or empty means auto. */
static recur_status isa_from_env(recur_isa *isa)
{
    static const struct { const char *name; recur_isa isa; } names[] = {
        {"auto", RECUR_ISA_AUTO},     {"scalar", RECUR_ISA_SCALAR},
        {"avx2", RECUR_ISA_AVX2},     {"avx512", RECUR_ISA_AVX512},
        {"neon", RECUR_ISA_NEON},
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
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    if (!kt)
        return RECUR_ERR_UNSUPPORTED_ISA;
    recur_context *c = calloc(1, sizeof *c);
    if (!c)
        return RECUR_ERR_OUT_OF_MEMORY;
    c->kt = kt;
    *ctx = c;
    return RECUR_OK;
}

void recur_context_destroy(recur_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->scratch);
    free(ctx);
}

recur_status recur_context_set_isa(recur_context *ctx, recur_isa isa)
{
    if (!ctx)
        return RECUR_ERR_NULL_POINTER;
    if ((unsigned)isa > (unsigned)RECUR_ISA_NEON)
        return RECUR_ERR_INVALID_ARGUMENT;
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    if (!kt)
        return RECUR_ERR_UNSUPPORTED_ISA;
    ctx->kt = kt;
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
