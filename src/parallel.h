/*
 * Threading for the drivers: one team (one OpenMP parallel region) per sequence
 * call, work splits that never change the order of any reduction, and the
 * step barrier.
 *
 * Determinism rule: every output element is computed by exactly one thread with the
 * same operation order as the serial code. GEMMs are split over blocks of C only
 * (K is never split, and the blocked driver's KC blocking starts at k = 0 for any
 * block); column sums are split over columns; the recurrent step is split over
 * hidden-unit slices and batch blocks whose boundaries sit on the kernels' own
 * panel and batch-tile boundaries (see recur_step_plan).
 */
#ifndef RECUR_PARALLEL_H
#define RECUR_PARALLEL_H

#include <stddef.h>
#include "internal.h"
#include "spin_barrier.h"
/* The drivers reach the machine description and the team GEMM through this header. */
#include "gemm.h"
#include "topology.h"

/* ---- splitting */

/* Balanced share [*u0, *u1) of `units` for part idx of parts. */
static inline void recur_split(size_t units, size_t parts, size_t idx, size_t *u0, size_t *u1)
{
    size_t base = units / parts, rem = units % parts;
    *u0 = idx * base + (idx < rem ? idx : rem);
    *u1 = *u0 + base + (idx < rem ? 1 : 0);
}

/* Share [*i0, *i1) of n items split in whole units of `unit` items. */
static inline void recur_split_units(size_t n, size_t unit, size_t parts, size_t idx,
                                     size_t *i0, size_t *i1)
{
    size_t u0, u1;
    recur_split((n + unit - 1) / unit, parts, idx, &u0, &u1);
    *i0 = u0 * unit < n ? u0 * unit : n;
    *i1 = u1 * unit < n ? u1 * unit : n;
}

/* RECUR_BATCH_QUANTUM (kernel_table.h): where batch blocks of the step start. */

/* How the recurrent step is shared: pr hidden-unit slices x pb batch blocks. */
typedef struct recur_step_plan {
    size_t pr, pb;
    size_t row_unit; /* slice boundaries are multiples of this many hidden units */
} recur_step_plan;

recur_step_plan recur_step_plan_make(const recur_kernel_table *kt, size_t N, size_t H,
                                     size_t nt);

/* This thread's rows [r0, r1) and batch rows [n0, n1); empty when it has no share. */
void recur_step_share(const recur_step_plan *p, size_t N, size_t H, size_t tid, size_t *r0,
                      size_t *r1, size_t *n0, size_t *n1);

/* ---- team */

typedef struct recur_team {
    recur_spin_barrier spin;
    recur_spin_barrier half[2]; /* the two halves' own barriers (directions side by side) */
    int use_spin;       /* else the OpenMP barrier */
    atomic_int failed;  /* a thread could not get its buffer */
    _Atomic uint64_t useful_ns; /* the threads' CPU time less their timed spinning */
} recur_team;

typedef void (*recur_team_fn)(void *job, recur_team *team, size_t tid, size_t nt);

/*
 * Team size for a call whose recurrent step costs step_fmas per step: the context's
 * thread count, 1 inside an enclosing parallel region, fewer when a thread's share
 * of a step would not pay for a barrier.
 */
size_t recur_team_size(const recur_context *ctx, size_t step_fmas);

/*
 * Runs fn on a team of up to `want` threads (the caller's thread is tid 0). With the
 * context's adaptation on, a team call that recur_team_contended judges worse than one
 * thread starts a solo spell (ctx->solo_ns) for calls of up to RECUR_SOLO_WORK_SPAN
 * times its `work` (any measure of a call's size, the same for all of a context's
 * calls; the drivers pass forward FMAs): a stall of a small call says little about a
 * large one, which a lost time slice costs relatively less.
 */
void recur_team_run(recur_context *ctx, size_t want, double work, recur_team_fn fn,
                    void *job);

/*
 * 1 when a team call did worse than one thread would have: one thread, getting the share
 * solo_share (0..1] of a core (recur_team_run passes what the calling thread, which runs
 * solo calls, got during the team call: recur_runnable_share), would have needed
 * useful_ns / solo_share, where useful_ns is the team's CPU time less its spinning at
 * barriers; the team took wall_ns, and more than RECUR_SOLO_MARGIN times that counts.
 * Threads asleep at a barrier (load imbalance) or descheduled (a busy neighbour) add
 * wall time, not useful time.
 */
int recur_team_contended(uint64_t wall_ns, uint64_t useful_ns, double solo_share);

/*
 * The share of a core a thread got while it wanted to run: its CPU time over its wall
 * time less the time it slept by choice (at barriers). A descheduled thread's wait for
 * a busy neighbour counts against it, its sleep at a barrier does not. 1 when unknown.
 */
double recur_runnable_share(uint64_t cpu_ns, uint64_t wall_ns, uint64_t sleep_ns);

/* A new context's spell and backoff from what the process's contexts last learnt
 * (recur_team_note publishes it), and the test hook that clears that. */
void recur_team_seed(recur_context *ctx);
void recur_team_forget_load(void);

/* What a team call teaches the context (backoff of the solo spells, see internal.h). */
void recur_team_note(recur_context *ctx, uint64_t wall_ns, double work, int contended);

/* What a solo call teaches it: the spell's time left, and the share of a core its
 * calls got (CPU over wall time), which may end the spell early (internal.h). */
void recur_solo_note(recur_context *ctx, uint64_t wall_ns, uint64_t cpu_ns);

/* Every thread of the team must call it the same number of times. */
void recur_team_barrier(recur_team *team, size_t nt, size_t *phase);

/*
 * This thread's buffer of at least `floats` floats, 64-byte aligned, allocated by
 * the thread itself (first touch keeps its pages near its core) and kept in ctx for
 * later calls. Then a barrier; returns NULL in every thread when any thread failed.
 */
float *recur_team_buffer(recur_context *ctx, recur_team *team, size_t tid, size_t nt,
                         size_t floats, size_t *phase);

/* ---- parallel pieces (the team GEMM, recur_par_gemm, is in gemm.h) */

/* out[j] (+)= sum over rows (in increasing order) of m[r][j], split over columns. */
void recur_par_column_sums(size_t tid, size_t nt, const float *m, size_t rows, size_t cols,
                           float *out, int acc);

#endif
