/*
 * A spin barrier on one atomic arrival counter that only grows: the k-th barrier
 * of a team of nt threads is passed once the counter reaches k * nt, so no reset
 * (and no sense flag) is needed between steps. The fetch_add releases the writes
 * of the step just done; the acquire load that sees the target makes every other
 * thread's writes visible. After a short spin (a few microseconds, longer than a
 * step's imbalance on idle cores) it yields: on a loaded machine the thread it waits
 * for may be descheduled, and spinning on would only keep it off the core.
 */
#ifndef RECUR_SPIN_BARRIER_H
#define RECUR_SPIN_BARRIER_H

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RECUR_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define RECUR_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define RECUR_CPU_RELAX() ((void)0)
#endif

#define RECUR_SPIN_BEFORE_YIELD 256u

/* On its own cache line: the counter is the only line all threads hammer. */
typedef struct recur_spin_barrier {
    _Alignas(64) atomic_size_t arrived;
    char pad[64 - sizeof(atomic_size_t)];
} recur_spin_barrier;

static inline void recur_spin_barrier_init(recur_spin_barrier *b)
{
    atomic_init(&b->arrived, 0);
}

/* *phase counts the barriers this thread has passed (starts at 0). */
static inline void recur_spin_barrier_wait(recur_spin_barrier *b, size_t nt, size_t *phase)
{
    size_t target = (++*phase) * nt;
    atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel);
    unsigned spins = 0;
    while (atomic_load_explicit(&b->arrived, memory_order_acquire) < target) {
        if (++spins < RECUR_SPIN_BEFORE_YIELD)
            RECUR_CPU_RELAX();
        else
            sched_yield();
    }
}

#endif
