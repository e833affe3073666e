/*
 * Every ISA recur has kernels for, said once (an X-macro). RECUR_ISA_LIST(X) expands
 * X once per ISA as
 *
 *   X(NAME, name, runs, rank)
 *
 *   NAME  the public enum constant is RECUR_ISA_<NAME> (include/recur.h, explicit values)
 *   name  recur_isa_name's string, RECUR_ISA's value, and the table getter
 *         recur_kernels_<name>() (kernels/<name>/table.c, or a NULL stub in dispatch.c
 *         when the build lacks the directory)
 *   runs  an expression: 1 when this CPU and OS can execute the kernels
 *   rank  preference of RECUR_ISA_AUTO among the ISAs that run (highest wins)
 *
 * Entries are in the enum's order, from RECUR_ISA_SCALAR = 1 up; the assertions below
 * hold the list and the enum together. Users: src/dispatch.c (names, tables, the best
 * ISA), src/context.c (RECUR_ISA), tools/recur_validate.c and the tests.
 */
#ifndef RECUR_ISA_LIST_H
#define RECUR_ISA_LIST_H

#include "recur.h"

int recur_cpu_has_avx2_fma(void);
int recur_cpu_has_avx512(void);
int recur_cpu_has_neon(void);

/* The SIMD ISAs, each checked against the scalar oracle by the tests and tools. The
 * _WITH form hands one extra argument a to each entry: X(a, NAME, name, runs, rank). */
#define RECUR_ISA_SIMD_LIST_WITH(X, a)                                                  \
    X(a, AVX2, avx2, recur_cpu_has_avx2_fma(), 2)                                       \
    X(a, AVX512, avx512, recur_cpu_has_avx512(), 3)                                     \
    X(a, NEON, neon, recur_cpu_has_neon(), 2)

/* All of them: the scalar oracle (every build and CPU has it) first. */
#define RECUR_ISA_LIST_WITH(X, a) X(a, SCALAR, scalar, 1, 0) RECUR_ISA_SIMD_LIST_WITH(X, a)

#define RECUR_ISA_APPLY_(X, NAME, name, runs, rank) X(NAME, name, runs, rank)
#define RECUR_ISA_LIST(X) RECUR_ISA_LIST_WITH(RECUR_ISA_APPLY_, X)
#define RECUR_ISA_SIMD_LIST(X) RECUR_ISA_SIMD_LIST_WITH(RECUR_ISA_APPLY_, X)

/* Position of each entry, counted from 1 (RECUR_ISA_AUTO is 0 and not in the list). */
#define RECUR_ISA_POSITION_(NAME, name, runs, rank) RECUR_ISA_POSITION_##NAME,
enum { RECUR_ISA_POSITION_AUTO_ = 0, RECUR_ISA_LIST(RECUR_ISA_POSITION_) RECUR_ISA_END_ };
#undef RECUR_ISA_POSITION_

/* The number of ISAs in the list; enum values 1..RECUR_ISA_COUNT are ISAs. */
#define RECUR_ISA_COUNT ((int)RECUR_ISA_END_ - 1)

/* Each entry sits at its enum value, so arrays indexed by recur_isa line up ... */
#define RECUR_ISA_CHECK_(NAME, name, runs, rank)                                         \
    _Static_assert((int)RECUR_ISA_##NAME == (int)RECUR_ISA_POSITION_##NAME,            \
                   "src/isa_list.h: RECUR_ISA_" #NAME " is not at its enum value");
RECUR_ISA_LIST(RECUR_ISA_CHECK_)
#undef RECUR_ISA_CHECK_
/* ... and the list ends at the enum's last value: a new enum value without a list
 * entry (or an entry without an enum value) fails here. Update with the enum. */
_Static_assert(RECUR_ISA_COUNT == (int)RECUR_ISA_NEON,
               "src/isa_list.h: the list and the recur_isa enum differ");

#endif
