/*
 * Kernel-table selection: the build says which kernel directories exist
 * (RECUR_HAVE_<ISA>), the CPU says which can run. Tables are static and
 * immutable, and detection has no side effects, so concurrent callers are safe.
 */
#include "internal.h"

#ifndef RECUR_HAVE_AVX2
const recur_kernel_table *recur_kernels_avx2(void) { return NULL; }
#endif
#ifndef RECUR_HAVE_AVX512
const recur_kernel_table *recur_kernels_avx512(void) { return NULL; }
#endif
#ifndef RECUR_HAVE_NEON
const recur_kernel_table *recur_kernels_neon(void) { return NULL; }
#endif

const recur_kernel_table *recur_kernel_table_get(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_SCALAR: return recur_kernels_scalar();
    case RECUR_ISA_AVX2: return recur_cpu_has_avx2_fma() ? recur_kernels_avx2() : NULL;
    case RECUR_ISA_AVX512: return recur_cpu_has_avx512() ? recur_kernels_avx512() : NULL;
    case RECUR_ISA_NEON: return recur_cpu_has_neon() ? recur_kernels_neon() : NULL;
    case RECUR_ISA_AUTO: return recur_kernel_table_get(recur_isa_best());
    default: return NULL;
    }
}

int recur_isa_supported(recur_isa isa)
{
    return recur_kernel_table_get(isa) != NULL;
}

recur_isa recur_isa_best(void)
{
    static const recur_isa order[] = {RECUR_ISA_AVX512, RECUR_ISA_AVX2, RECUR_ISA_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (recur_kernel_table_get(order[i]))
            return order[i];
    return RECUR_ISA_SCALAR;
}

const char *recur_isa_name(recur_isa isa)
{
    switch (isa) {
    case RECUR_ISA_AUTO: return "auto";
    case RECUR_ISA_SCALAR: return "scalar";
    case RECUR_ISA_AVX2: return "avx2";
    case RECUR_ISA_AVX512: return "avx512";
    case RECUR_ISA_NEON: return "neon";
    default: return "unknown";
    }
}
