/* Teams, step plans, barriers and the parallel column sums (see parallel.h). */
#include <stdlib.h>
#include <string.h>
#include "parallel.h"
#include "cpu_mask.h"

#ifdef RECUR_HAVE_OPENMP
#include <omp.h>
#endif

static size_t gcd_sz(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

recur_step_plan recur_step_plan_make(const recur_kernel_table *kt, size_t N, size_t H,
                                     size_t nt)
{
    /* The kernel's panel height is how far it pads one row (1 for scalar). Slices on
     * panel boundaries waste no padded rows, and on 16-float boundaries no two
     * threads write one cache line of h_t. */
    size_t panel = kt->rec_panel ? kt->rec_panel : 1;
    size_t unit = panel / gcd_sz(panel, 16) * 16;
    size_t ru = (H + unit - 1) / unit;
    size_t bu = (N + RECUR_BATCH_QUANTUM - 1) / RECUR_BATCH_QUANTUM;

    /* Per step a row slice moves H*H/pr weights plus all of h_{t-1}; a batch block
     * moves all of U plus N/pb states. Blocks over the batch move less when N > H,
     * but only while U stays in each core's L2. */
    const recur_machine *m = recur_machine_get();
    size_t l2 = m->l2_bytes ? m->l2_bytes : 512 * 1024;
    int batch_first = N > H && H * H * sizeof(float) <= l2 / 2 && bu > 1;

    recur_step_plan p = {1, 1, unit};
    if (batch_first) {
        p.pb = nt < bu ? nt : bu;
        p.pr = nt / p.pb < ru ? nt / p.pb : ru;
    } else {
        p.pr = nt < ru ? nt : ru;
        p.pb = nt / p.pr < bu ? nt / p.pr : bu;
    }
    if (p.pr == 0)
        p.pr = 1;
    if (p.pb == 0)
        p.pb = 1;
    return p;
}

void recur_step_share(const recur_step_plan *p, size_t N, size_t H, size_t tid, size_t *r0,
                      size_t *r1, size_t *n0, size_t *n1)
{
    if (tid >= p->pr * p->pb) {
        *r0 = *r1 = *n0 = *n1 = 0;
        return;
    }
    recur_split_units(H, p->row_unit, p->pr, tid % p->pr, r0, r1);
    recur_split_units(N, RECUR_BATCH_QUANTUM, p->pb, tid / p->pr, n0, n1);
}

size_t recur_team_size(const recur_context *ctx, size_t step_fmas)
{
#ifdef RECUR_HAVE_OPENMP
    /* Inside the caller's own parallel region: its threads already use the cores. */
    if (omp_in_parallel())
        return 1;
    size_t n = ctx->num_threads;
    if (ctx->min_step_fmas > 0) {
        size_t cap = step_fmas / ctx->min_step_fmas;
        if (cap < 1)
            cap = 1;
        if (n > cap)
            n = cap;
    }
    return n;
#else
    (void)ctx;
    (void)step_fmas;
    return 1;
#endif
}

/* ctx->bufs holds at least n slots; 0 when that memory is not available. */
static int grow_slots(recur_context *ctx, size_t n)
{
    if (n <= ctx->nbufs)
        return 1;
    recur_thread_buf *b = aligned_alloc(64, n * sizeof *b);
    if (!b)
        return 0;
    memset(b, 0, n * sizeof *b);
    if (ctx->nbufs)
        memcpy(b, ctx->bufs, ctx->nbufs * sizeof *b);
    free(ctx->bufs);
    ctx->bufs = b;
    ctx->nbufs = n;
    return 1;
}

_Thread_local uint64_t recur_thread_spin_ns;
_Thread_local uint64_t recur_thread_sleep_ns;

/* This thread's CPU time (user + system, page faults included); 0 when unknown. */
static int thread_cpu_ns(uint64_t *ns)
{
#ifdef CLOCK_THREAD_CPUTIME_ID
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0) {
        *ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
        return 1;
    }
#endif
    (void)ns;
    return 0;
}

int recur_team_contended(uint64_t wall_ns, uint64_t useful_ns, double solo_share)
{
    if (!(solo_share > 0.0 && solo_share <= 1.0))
        solo_share = 1.0;
    /* A margin: a team only a little worse than one thread is often a noisy call of a
     * team that is better on average (a late wake-up of a worker), and is no 1.5x loss. */
    return (double)wall_ns * solo_share > RECUR_SOLO_MARGIN * (double)useful_ns;
}

double recur_runnable_share(uint64_t cpu_ns, uint64_t wall_ns, uint64_t sleep_ns)
{
    if (wall_ns <= sleep_ns || cpu_ns == 0)
        return 1.0;
    double s = (double)cpu_ns / (double)(wall_ns - sleep_ns);
    return s < 0.05 ? 0.05 : s > 1.0 ? 1.0 : s;
}

/* What the process's contexts last learnt about the load: the backoff, the end of the
 * last spell (CLOCK_MONOTONIC ns) and the size of the call that started it. Busy
 * neighbours are a property of the machine, not of one context: a context created
 * later (one per session, or per benchmark run) starts from this instead of paying
 * for the stalls that taught it. Each field is atomic; a mix of two updates is still
 * a plausible state. */
static atomic_uint load_backoff;
static _Atomic uint64_t load_spell_end;
static _Atomic double load_spell_work;

void recur_team_seed(recur_context *ctx)
{
    ctx->solo_backoff = atomic_load(&load_backoff);
    uint64_t end = atomic_load(&load_spell_end), now = recur_now_ns();
    if (end > now) {
        ctx->solo_ns = ctx->solo_len = end - now;
        ctx->spell_cpu = ctx->spell_wall = 0;
        ctx->solo_work = atomic_load(&load_spell_work);
    }
}

void recur_team_forget_load(void)
{
    atomic_store(&load_backoff, 0u);
    atomic_store(&load_spell_end, 0);
    atomic_store(&load_spell_work, 0.0);
}

void recur_team_note(recur_context *ctx, uint64_t wall_ns, double work, int contended)
{
    if (!contended) {
        if (++ctx->team_good >= RECUR_SOLO_GOOD_RUN && ctx->solo_backoff) {
            ctx->solo_backoff = 0;
            atomic_store(&load_backoff, 0u);
        }
        return;
    }
    ctx->team_good = 0;
    unsigned b = ctx->solo_backoff ? 2 * ctx->solo_backoff : RECUR_SOLO_BACKOFF_MIN;
    ctx->solo_backoff = b < RECUR_SOLO_BACKOFF_MAX ? b : RECUR_SOLO_BACKOFF_MAX;
    ctx->solo_ns = ctx->solo_len = wall_ns * ctx->solo_backoff;
    ctx->spell_cpu = ctx->spell_wall = 0;
    ctx->solo_work = work;
    atomic_store(&load_backoff, ctx->solo_backoff);
    atomic_store(&load_spell_work, work);
    atomic_store(&load_spell_end, recur_now_ns() + ctx->solo_len);
}

void recur_solo_note(recur_context *ctx, uint64_t wall_ns, uint64_t cpu_ns)
{
    ctx->solo_ns = wall_ns < ctx->solo_ns ? ctx->solo_ns - wall_ns : 0;
    ctx->spell_cpu += cpu_ns;
    ctx->spell_wall += wall_ns;
    if (ctx->spell_wall == 0)
        return;
    double share = (double)ctx->spell_cpu / (double)ctx->spell_wall;
    ctx->solo_share = recur_runnable_share(ctx->spell_cpu, ctx->spell_wall, 0);
    if (4 * ctx->spell_wall >= ctx->solo_len && share >= RECUR_SOLO_IDLE_SHARE) {
        ctx->solo_ns = 0; /* the core is ours again: the stall was a one-off */
        atomic_store(&load_spell_end, 0);
    }
}

void recur_team_run(recur_context *ctx, size_t want, double work, recur_team_fn fn,
                    void *job)
{
    recur_team team;
    recur_spin_barrier_init(&team.spin);
    recur_spin_barrier_init(&team.half[0]);
    recur_spin_barrier_init(&team.half[1]);
    atomic_init(&team.failed, 0);
    atomic_init(&team.useful_ns, 0);
    if (want < 1)
        want = 1;
    int adapt = ctx->adapt && ctx->min_step_fmas > 0;
    int spell = adapt && ctx->solo_ns > 0 && work <= RECUR_SOLO_WORK_SPAN * ctx->solo_work;
#ifdef RECUR_HAVE_OPENMP
    /* A context's first team of this size may start threads: not a sign of load. */
    int first = want > ctx->nbufs;
#endif
    if (!grow_slots(ctx, want)) /* fewer threads rather than a failure; with no slot at
                                  * all, recur_team_buffer reports the failure */
        want = ctx->nbufs ? ctx->nbufs : 1;
    uint64_t t0 = recur_now_ns();
#ifdef RECUR_HAVE_OPENMP
    if (want > 1 && !spell) {
        const recur_machine *m = recur_machine_get();
        /* A spinning thread on an oversubscribed core delays the thread it waits for. */
        team.use_spin = ctx->barrier == RECUR_BARRIER_SPIN ||
                        (ctx->barrier == RECUR_BARRIER_AUTO && want <= m->cores);
        /* Binding spreads the team over the cores of the caller's mask; the caller's
         * own mask is given back afterwards. */
        recur_binding bind;
        int bound = ctx->bind && want <= m->cores && recur_binding_begin(&bind);
        atomic_int measured;
        atomic_init(&measured, 0);
        /* What the calling thread got of its core while runnable: what a solo call
         * would get now (a stale share from an earlier spell would let a team that
         * waits for descheduled workers pass while the caller has its core). Set by
         * thread 0 whenever the call is judged (all threads measured). */
        double share = 1.0;
#pragma omp parallel num_threads((int)want)
        {
            size_t tid = (size_t)omp_get_thread_num();
            size_t nt = (size_t)omp_get_num_threads();
            uint64_t cpu0 = 0, cpu1 = 0, spin0 = recur_thread_spin_ns;
            uint64_t sleep0 = recur_thread_sleep_ns, wall0 = tid == 0 ? recur_now_ns() : 0;
            int measure = adapt && nt > 1 && thread_cpu_ns(&cpu0);
            if (bound)
                recur_binding_apply(&bind, tid);
            if (tid == 0) {
                ctx->last_team = nt;
                ctx->last_spell = 0;
            }
            fn(job, &team, tid, nt);
            if (measure && thread_cpu_ns(&cpu1)) {
                uint64_t cpu = cpu1 - cpu0, spin = recur_thread_spin_ns - spin0;
                atomic_fetch_add(&team.useful_ns, cpu > spin ? cpu - spin : 0);
                atomic_fetch_add(&measured, 1);
                if (tid == 0)
                    share = recur_runnable_share(cpu, recur_now_ns() - wall0,
                                                 recur_thread_sleep_ns - sleep0);
            }
        }
        if (bound)
            recur_binding_end(&bind);
        if (adapt && !first && ctx->last_team > 1 &&
            (size_t)atomic_load(&measured) == ctx->last_team) {
            uint64_t wall = recur_now_ns() - t0;
            recur_team_note(ctx, wall, work,
                            recur_team_contended(wall, atomic_load(&team.useful_ns), share));
        }
        return;
    }
#endif
    team.use_spin = 1;
    ctx->last_team = 1;
    ctx->last_spell = spell && want > 1;
    uint64_t cpu0 = 0, cpu1 = 0;
    int solo = spell && want > 1 && thread_cpu_ns(&cpu0); /* a call of a solo spell */
    fn(job, &team, 0, 1);
    if (solo && thread_cpu_ns(&cpu1))
        recur_solo_note(ctx, recur_now_ns() - t0, cpu1 - cpu0);
    else if (spell && want > 1)
        ctx->solo_ns = 0; /* no clock to count the spell down with */
}

void recur_team_barrier(recur_team *team, size_t nt, size_t *phase)
{
    if (nt <= 1)
        return;
    if (team->use_spin) {
        recur_spin_barrier_wait(&team->spin, nt, phase);
        return;
    }
#ifdef RECUR_HAVE_OPENMP
#pragma omp barrier
#endif
}

float *recur_team_buffer(recur_context *ctx, recur_team *team, size_t tid, size_t nt,
                         size_t floats, size_t *phase)
{
    floats = recur_align16(floats < 16 ? 16 : floats);
    recur_thread_buf *b = tid < ctx->nbufs ? &ctx->bufs[tid] : NULL;
    if (!b) {
        atomic_store(&team->failed, 1);
    } else if (b->floats < floats) {
        free(b->p);
        b->p = NULL;
        b->floats = 0;
        size_t bytes;
        if (recur_mul_ok(floats, sizeof(float), &bytes))
            b->p = aligned_alloc(64, bytes);
        if (b->p)
            b->floats = floats;
        else
            atomic_store(&team->failed, 1);
    }
    recur_team_barrier(team, nt, phase);
    return atomic_load(&team->failed) ? NULL : b->p;
}

void recur_par_column_sums(size_t tid, size_t nt, const float *m, size_t rows, size_t cols,
                           float *out, int acc)
{
    size_t j0, j1;
    recur_split_units(cols, 16, nt, tid, &j0, &j1);
    if (j0 >= j1)
        return;
    if (!acc)
        memset(out + j0, 0, (j1 - j0) * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t j = j0; j < j1; j++)
            out[j] += m[r * cols + j];
}
