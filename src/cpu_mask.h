/*
 * Thread binding for one team (src/cpu_mask.c), for src/parallel.c: begin, on the calling
 * thread before the team starts, reads its CPU affinity mask and counts the mask's
 * physical cores (0: no binding); apply, on team thread i, binds it to core i of the
 * mask (modulo their count), all of that core's CPUs in the mask; end, on the calling
 * thread after the team, gives it its mask back. Nothing is allocated.
 */
#ifndef RECUR_CPU_MASK_H
#define RECUR_CPU_MASK_H

#include <sched.h>
#include <stddef.h>

typedef struct recur_binding {
    cpu_set_t caller; /* the calling thread's mask */
    size_t ncores;    /* physical cores in it */
} recur_binding;

int recur_binding_begin(recur_binding *b);
void recur_binding_apply(const recur_binding *b, size_t i);
void recur_binding_end(const recur_binding *b);

#endif
