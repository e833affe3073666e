/*
 * The step barrier: one atomic arrival counter that only grows (the k-th barrier of
 * a team of nt threads is passed once the counter reaches k * nt, so no reset or sense
 * flag is needed between steps). The fetch_add releases the writes of the step just
 * done; the acquire load that sees the target makes every other thread's writes
 * visible.
 *
 * Waiting spins first (a step's imbalance on idle cores is far below the spin), then
 * sleeps on a futex until the last thread arrives. The time spent spinning beyond a
 * short first stretch is added to the thread's recur_thread_spin_ns, and the time asleep
 * to recur_thread_sleep_ns, so the team can tell its useful CPU time from its waiting
 * and how much of a core its calling thread got while runnable (recur_team_run). Sleeping
 * matters when the cores are shared: a thread that spins or yields keeps using its
 * share of the core, so the scheduler runs it, and the thread it waits for, only in
 * whole time slices beside a busy neighbour (each step then costs a slice); a thread
 * that sleeps is woken at once when the barrier completes.
 */
#ifndef RECUR_SPIN_BARRIER_H
#define RECUR_SPIN_BARRIER_H

#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define RECUR_HAVE_FUTEX 1
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RECUR_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define RECUR_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define RECUR_CPU_RELAX() ((void)0)
#endif

/* Spins before sleeping: tens of microseconds of pause instructions on current x86
 * and Arm cores. No sched_yield: beside a busy process it gives the core away for a
 * whole time slice, which is what sleeping avoids. */
#define RECUR_SPIN_BEFORE_SLEEP 2048u

/* On its own cache line: the counter is the only line all threads hammer. */
typedef struct recur_spin_barrier {
    _Alignas(64) atomic_size_t arrived;
    atomic_uint gen;      /* barriers completed (low 32 bits): the futex word */
    atomic_int sleepers;  /* threads asleep (or about to be) on gen */
} recur_spin_barrier;

/* Nanoseconds this thread has spun at step barriers, all barriers together, past the
 * untimed first RECUR_SPIN_UNTIMED pauses (defined in parallel.c; only ever read and
 * written by its own thread). */
extern _Thread_local uint64_t recur_thread_spin_ns;
#define RECUR_SPIN_UNTIMED 64u
/* Nanoseconds this thread has slept at step barriers (same rules). */
extern _Thread_local uint64_t recur_thread_sleep_ns;

static inline void recur_spin_barrier_init(recur_spin_barrier *b)
{
    atomic_init(&b->arrived, 0);
    atomic_init(&b->gen, 0);
    atomic_init(&b->sleepers, 0);
}

static inline uint64_t recur_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void recur_futex_wait(atomic_uint *word, unsigned expected)
{
#ifdef RECUR_HAVE_FUTEX
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    (void)word;
    (void)expected;
    sched_yield();
#endif
}

static inline void recur_futex_wake_all(atomic_uint *word)
{
#ifdef RECUR_HAVE_FUTEX
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* *phase counts the barriers this thread has passed (starts at 0). */
static inline void recur_spin_barrier_wait(recur_spin_barrier *b, size_t nt, size_t *phase)
{
    size_t k = ++*phase, target = k * nt;
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == target) {
        /* The last one: publish the generation, then wake sleepers. seq_cst on both
         * sides (sleepers++ then reading arrived; gen store then reading sleepers): one
         * of the two always sees the other. */
        atomic_store(&b->gen, (unsigned)k);
        if (atomic_load(&b->sleepers) > 0)
            recur_futex_wake_all(&b->gen);
        return;
    }
    unsigned spins = 0;
    for (; spins < RECUR_SPIN_UNTIMED; spins++) { /* most waits end here, untimed */
        if (atomic_load_explicit(&b->arrived, memory_order_acquire) >= target)
            return;
        RECUR_CPU_RELAX();
    }
    uint64_t t0 = recur_now_ns();
    for (; spins < RECUR_SPIN_BEFORE_SLEEP; spins++) {
        if (atomic_load_explicit(&b->arrived, memory_order_acquire) >= target) {
            recur_thread_spin_ns += recur_now_ns() - t0;
            return;
        }
        RECUR_CPU_RELAX();
    }
    uint64_t t1 = recur_now_ns();
    recur_thread_spin_ns += t1 - t0;
    atomic_fetch_add(&b->sleepers, 1);
    while (atomic_load(&b->arrived) < target)
        recur_futex_wait(&b->gen, (unsigned)(k - 1)); /* returns at once if gen moved on */
    atomic_fetch_sub(&b->sleepers, 1);
    recur_thread_sleep_ns += recur_now_ns() - t1;
}

#endif
