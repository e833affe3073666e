/* Internal declarations shared by the drivers (ISA-free). */
#ifndef RECUR_INTERNAL_H
#define RECUR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "recur.h"
#include "kernel_table.h"

struct recur_rnn {
    recur_rnn_config cfg;
};

/* One thread's persistent buffer (packed weight slice + GEMM scratch); a cache line
 * each so that threads growing theirs do not share one. */
typedef struct recur_thread_buf {
    _Alignas(64) float *p;
    size_t floats;
} recur_thread_buf;

enum { RECUR_BARRIER_AUTO = 0, RECUR_BARRIER_SPIN = 1, RECUR_BARRIER_OMP = 2 };

/* Per-thread work per recurrent step (FMAs) below which a call uses fewer threads. */
#define RECUR_MIN_STEP_FMAS_DEFAULT ((size_t)32768)

/* After a team call that did worse than one thread would have (recur_team_contended:
 * descheduled threads, busy neighbours, a CPU quota), the context's calls run on one
 * thread for this many times that call's duration, then the full team tries again; each
 * further contended try doubles the multiple, up to the maximum, so probing costs at
 * most ~1/16 of the time. A spell ends early once its solo calls, a quarter of the way
 * in, had their core to themselves (RECUR_SOLO_IDLE_SHARE of their wall time on the
 * CPU): the stall was a one-off, not a neighbour. The multiple starts over only after
 * RECUR_SOLO_GOOD_RUN good team calls in a row: beside busy neighbours good and stalled
 * team calls alternate, and a stall costs a time slice (several ms) while a good call
 * saves a fraction of a short call (measured on a 16-core Intel Xeon family 6 model
 * 207 with 16 busy neighbours, H256 N1 backward at 2 threads: team calls' median 0.22
 * ms against 0.38 solo, but their mean 0.95 ms), so one good call says little about
 * the next. */
#define RECUR_SOLO_BACKOFF_MIN 16u
#define RECUR_SOLO_GOOD_RUN 4u
#define RECUR_SOLO_BACKOFF_MAX 1024u
#define RECUR_SOLO_MARGIN 1.25 /* (see recur_team_contended) */
#define RECUR_SOLO_IDLE_SHARE 0.95
#define RECUR_SOLO_WORK_SPAN 4.0 /* (see recur_team_run) */

struct recur_context {
    const recur_kernel_table *kt; /* &table: what the drivers read */
    /* This context's copy of its ISA's table (recur_kernel_table_get's, GEMM blocks
     * included), so one context's blocks can be changed without touching another's. */
    recur_kernel_table table;
    float *scratch;         /* grown on demand, reused across calls */
    size_t scratch_floats;
    size_t num_threads;     /* >= 1: team size a call may use */
    int bind;               /* bind team threads one per core */
    size_t min_step_fmas;   /* 0: always the full team (tests force threading) */
    int barrier;            /* RECUR_BARRIER_*: which step barrier (measurements) */
    size_t step_l2;         /* 0, or the L2 bytes the step plan assumes (tests) */
    recur_thread_buf *bufs; /* one per team thread, owned and first touched by it */
    size_t nbufs;
    /* The solo spell after a team call that did worse than one thread would have (see
     * recur_team_run and the constants above); adapt = 0 turns this off (tests force
     * threading). */
    uint64_t solo_ns, solo_len;     /* left of the spell, and its length */
    uint64_t spell_cpu, spell_wall; /* the spell's solo calls so far */
    double solo_work;               /* size of the call that started it */
    unsigned solo_backoff;
    unsigned team_good;     /* good team calls since the last contended one */
    double solo_share;      /* share of a core the last spell's calls got (1 until measured;
                             * kept for tests and measurements: team calls are judged by
                             * the caller's share in the call itself) */
    int adapt;
    int verbose;            /* RECUR_VERBOSE at creation: 0 silent, 1 calls, 2 + setup */
    /* What the last call did (for tests and measurements); last_spell: it ran on one
     * thread because of a solo spell (RECUR_VERBOSE's solo_spell). */
    size_t last_team, last_pr, last_pb;
    int last_spell;
};

/* a * b into *out; 0 on overflow. */
static inline int recur_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static inline int recur_add_ok(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

/* Scratch of at least `floats` floats, 64-byte aligned; NULL when out of memory. */
float *recur_context_scratch(recur_context *ctx, size_t floats);

/* Rounds a float count up to a multiple of 16 (64 bytes) so scratch slices stay aligned. */
static inline size_t recur_align16(size_t floats)
{
    return (floats + 15) & ~(size_t)15;
}

/* Checks the sizes of a sequence call; fills the element counts used by the drivers. */
typedef struct recur_dims {
    size_t T, N, I, H, O;
    size_t tn;   /* T*N rows */
    size_t nh;   /* N*H */
    size_t x;    /* T*N*I */
    size_t hseq; /* T*N*H */
    size_t y;    /* T*N*O, or T*N*H when O == 0 */
} recur_dims;

recur_status recur_dims_check(const recur_rnn *rnn, size_t T, size_t N, recur_dims *d);
recur_status recur_weights_check(const recur_rnn *rnn, const recur_weights *w);

/* RECUR_VERBOSE's level (0 when unset or not 0..2) and the context-creation line. */
int recur_verbose_level(void);
void recur_verbose_context(const recur_context *ctx);

/* CPUs this process may use: affinity mask and cgroup CPU quota (src/cpu_quota.c);
 * 0 when unknown. */
size_t recur_cpus_allowed(void);
/* Physical cores in the calling thread's CPU affinity mask (src/cpu_mask.c); 0 when
 * unknown. */
size_t recur_cores_allowed(void);
/* Logical CPUs in the calling thread's affinity mask; 0 when unknown. */
size_t recur_mask_cpus(void);
/* ceil(quota / period) from a cgroup v2 cpu.max file; 0 for "max" or unreadable. */
size_t recur_cgroup_cpu_max_file(const char *path);

/* CPU feature detection (src/cpu_features.c). */
int recur_cpu_has_avx2_fma(void);
int recur_cpu_has_avx512(void);
int recur_cpu_has_neon(void);

#endif
