/*
 * libFuzzer target for the public API: bytes become descriptors, contexts and call
 * sequences, and every call is checked against the contracts of include/recur.h.
 *
 * One execution (see docs/fuzzing.md):
 *   - a header picks the scenario (recur_rnn calls, recur_model calls, recur_onnx_rnn,
 *     losses / clip / SGD, descriptor edge cases), the ISA and a value mode;
 *   - descriptors come from the bytes with small sizes (T, N, I, H, O <= 8, L <= 3),
 *     or, in "wild" mode, zero, huge and overflowing sizes and bad enums: creation must
 *     give exactly the documented status, workspace sizes must overflow exactly when
 *     the bytes they count do, and calls whose buffers could not exist must fail
 *     without touching the (tiny) buffers they were given;
 *   - every array is its own malloc of exactly the size the call may touch, so ASan
 *     reports any read or write past it;
 *   - contexts: the ISA under test with 1 and with 2 threads (the small-problem
 *     heuristics off, so both threads really run), and the scalar oracle. Setting an
 *     ISA this build or CPU lacks must return RECUR_ERR_UNSUPPORTED_ISA and change
 *     nothing;
 *   - every call is made on all three contexts with the same inputs; inputs are
 *     snapshotted and must never change; results must be bitwise equal for 1 and 2
 *     threads, within a loose K*eps bound of the scalar oracle and finite when every
 *     input is finite and bounded (denormals included);
 *   - "probes": the same calls with one argument broken (a NULL, a zero or
 *     overflowing size, an out-of-range length or target, a bad enum or option, a
 *     short, misaligned, never-filled or foreign workspace) must return the documented
 *     status and leave every output byte as it was.
 * A broken contract prints what and where, then aborts (libFuzzer saves the input).
 *
 * RECUR_FUZZ_ISA=scalar|avx2|avx512|neon pins the ISA (exit status 77, "skipped", when
 * this build or CPU lacks it); unset, the bytes choose it.
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "isa_list.h"
#include "recur.h"

#define FAIL(...)                                                                  \
    do {                                                                           \
        fprintf(stderr, "fuzz_api.c:%d: contract broken: ", __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                                              \
        fputc('\n', stderr);                                                       \
        abort();                                                                   \
    } while (0)

#define EXPECT(st, want, what)                                                     \
    do {                                                                           \
        recur_status got_ = (st);                                                  \
        if (got_ != (want))                                                        \
            FAIL("%s returned %d (%s), expected %d (%s)", what, (int)got_,         \
                 recur_status_string(got_), (int)(want), recur_status_string(want)); \
    } while (0)

/* Exercise ASan's "allocation too big" path as an allocation failure, not a crash:
 * a library asking for an absurd size must get NULL and return OUT_OF_MEMORY. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:detect_leaks=1";
}

/* ---------------------------------------------------------------- bytes */

typedef struct rd {
    const uint8_t *d;
    size_t n, i;
} rd;

static unsigned u8(rd *r)
{
    return r->i < r->n ? r->d[r->i++] : 0;
}

static uint32_t u32(rd *r)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 8 | u8(r);
    return v;
}

/* Values come from a generator seeded by the bytes (short inputs, many floats). */
typedef struct gen {
    uint64_t s;
    int special; /* 0: finite and bounded; else 1 in `special` values is NaN, Inf, ... */
} gen;

static uint64_t gnext(gen *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return g->s * 0x2545F4914F6CDD1DULL;
}

static float gunit(gen *g) /* [-1, 1) */
{
    return (float)((double)(gnext(g) >> 40) / 8388608.0 - 1.0);
}

static float gval(gen *g, float scale)
{
    uint64_t r = gnext(g);
    if (g->special && r % (unsigned)g->special == 0) {
        static const float sp[] = {NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
                                   1e-41f, -1e-44f, 0.0f, -0.0f, 1e30f, FLT_MIN};
        return sp[(r >> 32) % (sizeof sp / sizeof sp[0])];
    }
    if ((r & 63) == 0) /* denormals are finite: they stay in the bounded mode */
        return (r & 64) ? 3e-42f : -1e-40f;
    return gunit(g) * scale;
}

/* ---------------------------------------------------------------- buffers */

/* Every buffer of one execution, freed at its end. */
static void *bufs[512];
static size_t nbufs;

static void *xalloc(size_t bytes)
{
    if (nbufs == sizeof bufs / sizeof bufs[0])
        FAIL("harness: too many buffers");
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        FAIL("harness: out of memory");
    bufs[nbufs++] = p;
    return p;
}

static void free_all(void)
{
    while (nbufs)
        free(bufs[--nbufs]);
}

/* Exact-size float array; n == 0 gives a 1-byte block (any access is an overrun). */
static float *fbuf(size_t n)
{
    return xalloc(n * sizeof(float));
}

static const uint32_t SENTINEL = 0x7fa5a5a5u; /* a NaN: unwritten outputs are not finite */

static float *obuf(size_t n)
{
    float *p = fbuf(n);
    for (size_t i = 0; i < n; i++)
        memcpy(&p[i], &SENTINEL, 4);
    return p;
}

static float *vbuf(gen *g, size_t n, float scale)
{
    float *p = fbuf(n);
    for (size_t i = 0; i < n; i++)
        p[i] = gval(g, scale);
    return p;
}

static float *dup(const float *a, size_t n)
{
    if (!a)
        return NULL;
    float *p = fbuf(n);
    memcpy(p, a, n * sizeof(float));
    return p;
}

/* ---------------------------------------------------------------- call tracking */

enum { IN = 1, OUT = 2 };

typedef struct track_t {
    const void *p;
    size_t bytes;
    int role;
    void *snap;
    const char *name;
} track_t;

static track_t trk[160];
static int ntrk;

static void track(const void *p, size_t bytes, int role, const char *name)
{
    if (!p || !bytes)
        return;
    if (ntrk == (int)(sizeof trk / sizeof trk[0]))
        FAIL("harness: too many tracked arrays");
    void *s = malloc(bytes);
    if (!s)
        FAIL("harness: out of memory");
    memcpy(s, p, bytes);
    trk[ntrk++] = (track_t){p, bytes, role, s, name};
}

/* Inputs never change; on an error status, outputs do not either. */
static void track_end(recur_status st, const char *what)
{
    for (int i = 0; i < ntrk; i++) {
        int changed = memcmp(trk[i].p, trk[i].snap, trk[i].bytes) != 0;
        if (changed && trk[i].role == IN)
            FAIL("%s wrote its input %s (status %d)", what, trk[i].name, (int)st);
        if (changed && st != RECUR_OK)
            FAIL("%s returned %d (%s) but wrote its output %s", what, (int)st,
                 recur_status_string(st), trk[i].name);
        free(trk[i].snap);
    }
    ntrk = 0;
}

static void track_drop(void)
{
    for (int i = 0; i < ntrk; i++)
        free(trk[i].snap);
    ntrk = 0;
}

/* ---------------------------------------------------------------- comparisons */

static void same_bits(const float *a, const float *b, size_t n, const char *what)
{
    if (!a || !b || memcmp(a, b, n * sizeof(float)) == 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0)
            FAIL("%s: 1 and 2 threads differ at %zu: %a vs %a", what, i, (double)a[i],
                 (double)b[i]);
}

static void all_finite(const float *a, size_t n, const char *what)
{
    for (size_t i = 0; a && i < n; i++)
        if (!isfinite(a[i]))
            FAIL("%s[%zu] = %g from finite inputs", what, i, (double)a[i]);
}

static double worst_ratio; /* largest error / bound seen (RECUR_FUZZ_STATS) */

/* |a - ref| <= K u (1 + max |ref|): a loose bound, far above rounding (the tests'
 * per-element bounds are in tools/recur_compare.h) and far below a wrong index. */
static void near(const float *a, const float *ref, size_t n, double K, const char *what)
{
    if (!a || !ref)
        return;
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs((double)ref[i]));
    double bound = K * 0x1p-24 * (1.0 + mx);
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)ref[i]);
        if (e / bound > worst_ratio)
            worst_ratio = e / bound;
        if (!(e <= bound))
            FAIL("%s[%zu] = %.9g, scalar oracle %.9g (error %.3g > bound %.3g)", what, i,
                 (double)a[i], (double)ref[i], e, bound);
    }
}

/* ---------------------------------------------------------------- contexts */

static recur_isa pinned_isa = RECUR_ISA_AUTO;
static int pinned;

/* auto, then every ISA of src/isa_list.h; isa_names in the same order. */
#define ISA_VALUE_(NAME, name, runs, rank) RECUR_ISA_##NAME,
#define ISA_NAME_(NAME, name, runs, rank) #name,
static const recur_isa all_isas[] = {RECUR_ISA_AUTO, RECUR_ISA_LIST(ISA_VALUE_)};
static const char *const isa_names[] = {"auto", RECUR_ISA_LIST(ISA_NAME_)};
#define N_ISAS (sizeof all_isas / sizeof all_isas[0])

typedef struct ctxs {
    recur_context *c[3]; /* ISA 1 thread, ISA 2 threads, scalar oracle */
    recur_isa isa;
} ctxs;

static recur_context *make_ctx(recur_isa isa, size_t threads)
{
    recur_context *c = NULL;
    EXPECT(recur_context_create(&c), RECUR_OK, "recur_context_create");
    EXPECT(recur_context_set_isa(c, isa), RECUR_OK, "recur_context_set_isa");
    EXPECT(recur_context_set_num_threads(c, threads), RECUR_OK, "recur_context_set_num_threads");
    c->min_step_fmas = 0; /* every thread really runs, even on tiny shapes */
    c->adapt = 0;
    return c;
}

/* The ISA API: every value, supported or not; a failed set changes nothing. */
static recur_isa pick_isa(rd *r)
{
    recur_context *c = NULL;
    EXPECT(recur_context_create(&c), RECUR_OK, "recur_context_create");
    recur_isa before = recur_context_isa(c);
    unsigned b = u8(r);
    recur_isa want = (b % 8) < 5 ? all_isas[b % 8] : (recur_isa)((b % 8) == 5 ? 5 : -1 - (int)b);
    recur_status st = recur_context_set_isa(c, want);
    int valid = (unsigned)want <= (unsigned)RECUR_ISA_NEON;
    if (!valid)
        EXPECT(st, RECUR_ERR_INVALID_ARGUMENT, "recur_context_set_isa(bad enum)");
    else if (!recur_isa_supported(want) && want != RECUR_ISA_AUTO)
        EXPECT(st, RECUR_ERR_UNSUPPORTED_ISA, "recur_context_set_isa(unsupported)");
    else
        EXPECT(st, RECUR_OK, "recur_context_set_isa(supported)");
    if (st != RECUR_OK && recur_context_isa(c) != before)
        FAIL("a failed recur_context_set_isa changed the context's ISA");
    if (st == RECUR_OK) {
        recur_isa now = recur_context_isa(c);
        if (now == RECUR_ISA_AUTO || (want != RECUR_ISA_AUTO && now != want) ||
            (want == RECUR_ISA_AUTO && now != recur_isa_best()))
            FAIL("recur_context_isa is %d after setting %d", (int)now, (int)want);
    }
    /* thread counts: 0 = default, up to 1024, above is INVALID_ARGUMENT (unchanged) */
    size_t t_before = recur_context_get_num_threads(c);
    static const size_t counts[] = {0, 1, 2, 3, 7, 64, 1024, 1025, 4096, SIZE_MAX};
    size_t n = counts[u8(r) % 10];
    st = recur_context_set_num_threads(c, n);
    EXPECT(st, n > 1024 ? RECUR_ERR_INVALID_ARGUMENT : RECUR_OK, "recur_context_set_num_threads");
    size_t got = recur_context_get_num_threads(c);
    if (st != RECUR_OK && got != t_before)
        FAIL("a failed recur_context_set_num_threads changed the count");
#ifdef RECUR_HAVE_OPENMP
    if (st == RECUR_OK && n > 0 && got != n)
        FAIL("recur_context_get_num_threads = %zu after setting %zu", got, n);
#endif
    if (got < 1 || got > 1024)
        FAIL("recur_context_get_num_threads = %zu", got);
    recur_context_destroy(c);

    if (pinned)
        return pinned_isa;
    if (st == RECUR_OK || !valid)
        return valid && recur_isa_supported(want) ? want : recur_isa_best();
    return recur_isa_best();
}

static void ctxs_make(ctxs *x, recur_isa isa)
{
    if (isa == RECUR_ISA_AUTO)
        isa = recur_isa_best();
    x->isa = isa;
    x->c[0] = make_ctx(isa, 1);
    x->c[1] = make_ctx(isa, 2);
    x->c[2] = make_ctx(RECUR_ISA_SCALAR, 1);
}

static void ctxs_free(ctxs *x)
{
    for (int i = 0; i < 3; i++)
        recur_context_destroy(x->c[i]);
}

/* ---------------------------------------------------------------- sizes */

static size_t small(rd *r, size_t lo, size_t hi)
{
    return lo + u8(r) % (hi - lo + 1);
}

static size_t wild(rd *r)
{
    static const size_t v[] = {0, 1, 2, 3, 8, 65536, (size_t)1 << 31, ((size_t)1 << 32) + 1,
                               (size_t)3037000500u, (size_t)1 << 40, SIZE_MAX / 4 + 1,
                               SIZE_MAX / 8, SIZE_MAX / 2, SIZE_MAX - 1, SIZE_MAX};
    return v[u8(r) % (sizeof v / sizeof v[0])];
}

typedef unsigned __int128 u128;
static const u128 SMAX = (u128)SIZE_MAX;

static recur_activation act_byte(rd *r)
{
    unsigned b = u8(r) % 16;
    if (b < 10)
        return (recur_activation)(b % 5);
    return (recur_activation)(b == 10 ? 5 : b == 11 ? -1 : 100 + (int)b);
}

static int hidden_ok(recur_activation f)
{
    return f == RECUR_ACT_TANH || f == RECUR_ACT_RELU || f == RECUR_ACT_SIGMOID ||
           f == RECUR_ACT_IDENTITY;
}

static int output_ok(recur_activation g)
{
    return g == RECUR_ACT_IDENTITY || g == RECUR_ACT_SOFTMAX || g == RECUR_ACT_SIGMOID ||
           g == RECUR_ACT_TANH;
}

/* ================================================================ recur_rnn calls */

typedef struct rprob {
    recur_rnn_config cfg;
    recur_rnn *rnn;
    size_t T, N, I, H, O, Y;
    float *W, *U, *b, *V, *c, *x, *h0, *dy, *dh_last;
    recur_weights w;
    recur_backward_options opt;
    int want_hl, want_dx, want_dh0;
    int finite;
    float *acc[7]; /* accumulate: initial W U b V c dx dh0 */
} rprob;

typedef struct rout {
    float *y, *hl, *y2, *hl2, *dx, *dh0;
    void *ws;
    size_t wsb;
    recur_tensors g;
} rout;

static void rnn_run(recur_context *ctx, rprob *p, rout *o, const char *who)
{
    const size_t T = p->T, N = p->N, I = p->I, H = p->H, O = p->O;
    const size_t nx = T * N * I, ny = T * N * p->Y, ns = N * H;
    char what[96];
    o->y = obuf(ny);
    o->hl = p->want_hl ? obuf(ns) : NULL;
    o->y2 = obuf(ny);
    o->hl2 = p->want_hl ? obuf(ns) : NULL;
    EXPECT(recur_workspace_size(p->rnn, T, N, &o->wsb), RECUR_OK, "recur_workspace_size");
    if ((u128)o->wsb < (u128)T * N * H * sizeof(float))
        FAIL("recur_workspace_size %zu is below T*N*H floats", o->wsb);
    o->ws = xalloc(o->wsb);
    memset(o->ws, 0xee, o->wsb);

#define TRACK_W()                                                                  \
    track(p->W, H * I * 4, IN, "W");                                               \
    track(p->U, H * H * 4, IN, "U");                                               \
    track(p->b, H * 4, IN, "b");                                                   \
    track(p->V, O * H * 4, IN, "V");                                               \
    track(p->c, O * 4, IN, "c");                                                   \
    track(p->x, nx * 4, IN, "x")

    TRACK_W();
    track(p->h0, ns * 4, IN, "h0");
    track(o->y, ny * 4, OUT, "y");
    track(o->hl, ns * 4, OUT, "h_last");
    snprintf(what, sizeof what, "recur_forward (%s)", who);
    recur_status st = recur_forward(ctx, p->rnn, T, N, &p->w, p->x, p->h0, o->y, o->hl);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);

    TRACK_W();
    track(p->h0, ns * 4, IN, "h0");
    track(o->y2, ny * 4, OUT, "y");
    track(o->hl2, ns * 4, OUT, "h_last");
    snprintf(what, sizeof what, "recur_forward_train (%s)", who);
    st = recur_forward_train(ctx, p->rnn, T, N, &p->w, p->x, p->h0, o->y2, o->hl2, o->ws,
                             o->wsb);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);

    o->g.W = p->opt.accumulate ? dup(p->acc[0], H * I) : obuf(H * I);
    o->g.U = p->opt.accumulate ? dup(p->acc[1], H * H) : obuf(H * H);
    o->g.b = p->opt.accumulate ? dup(p->acc[2], H) : obuf(H);
    o->g.V = O ? (p->opt.accumulate ? dup(p->acc[3], O * H) : obuf(O * H)) : NULL;
    o->g.c = O ? (p->opt.accumulate ? dup(p->acc[4], O) : obuf(O)) : NULL;
    o->dx = p->want_dx ? (p->opt.accumulate ? dup(p->acc[5], nx) : obuf(nx)) : NULL;
    o->dh0 = p->want_dh0 ? (p->opt.accumulate ? dup(p->acc[6], ns) : obuf(ns)) : NULL;
    TRACK_W();
    track(o->ws, o->wsb, IN, "workspace");
    track(p->dy, ny * 4, IN, "dy");
    track(p->dh_last, ns * 4, IN, "dh_last");
    track(o->g.W, H * I * 4, OUT, "dW");
    track(o->g.U, H * H * 4, OUT, "dU");
    track(o->g.b, H * 4, OUT, "db");
    track(o->g.V, O * H * 4, OUT, "dV");
    track(o->g.c, O * 4, OUT, "dc");
    track(o->dx, nx * 4, OUT, "dx");
    track(o->dh0, ns * 4, OUT, "dh0");
    snprintf(what, sizeof what, "recur_backward (%s)", who);
    st = recur_backward(ctx, p->rnn, T, N, &p->w, p->x, o->ws, o->wsb, p->dy, p->dh_last,
                        &p->opt, &o->g, o->dx, o->dh0);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);
#undef TRACK_W
}

static void rnn_compare(const rprob *p, rout o[3])
{
    const size_t T = p->T, N = p->N, I = p->I, H = p->H, O = p->O;
    const size_t nx = T * N * I, ny = T * N * p->Y, ns = N * H;
    const size_t n[9] = {ny, ns, ny, ns, H * I, H * H, H, O * H, O};
    const char *names[9] = {"y", "h_last", "y (train)", "h_last (train)", "dW", "dU", "db",
                            "dV", "dc"};
    for (int k = 0; k < 3; k++) {
        /* forward and forward_train give the same outputs */
        same_bits(o[k].y, o[k].y2, ny, "forward vs forward_train y");
        same_bits(o[k].hl, o[k].hl2, ns, "forward vs forward_train h_last");
    }
    double Kf = 16.0 * (double)(I + H + O + 4) * (double)(T + 1);
    double Kb = Kf * (double)(T * N + H + 1);
    for (int j = 0; j < 11; j++) {
        const float *a[3];
        size_t cnt;
        const char *nm;
        if (j < 9) {
            const float *arrs[3][9];
            for (int k = 0; k < 3; k++) {
                const float *t[9] = {o[k].y, o[k].hl, o[k].y2, o[k].hl2, o[k].g.W, o[k].g.U,
                                     o[k].g.b, o[k].g.V, o[k].g.c};
                memcpy(arrs[k], t, sizeof t);
            }
            for (int k = 0; k < 3; k++)
                a[k] = arrs[k][j];
            cnt = n[j];
            nm = names[j];
        } else {
            for (int k = 0; k < 3; k++)
                a[k] = j == 9 ? o[k].dx : o[k].dh0;
            cnt = j == 9 ? nx : ns;
            nm = j == 9 ? "dx" : "dh0";
        }
        same_bits(a[0], a[1], cnt, nm);
        if (p->finite) {
            all_finite(a[0], cnt, nm);
            all_finite(a[2], cnt, nm);
            near(a[0], a[2], cnt, j < 4 ? Kf : Kb, nm);
        }
    }
}

/* Broken-argument probes against a filled setup: exact status, outputs untouched. */
static void rnn_probe(rd *r, ctxs *cx, rprob *p, rout *o)
{
    const size_t T = p->T, N = p->N, I = p->I, H = p->H, O = p->O;
    const size_t nx = T * N * I, ny = T * N * p->Y, ns = N * H;
    recur_context *ctx = cx->c[u8(r) % 2];
    unsigned kind = u8(r) % 22;
    recur_weights w = p->w;
    recur_tensors g = o->g;
    recur_backward_options opt = p->opt;
    size_t T2 = T, N2 = N, wsb = o->wsb;
    const void *ws = o->ws;
    recur_status want = RECUR_ERR_NULL_POINTER;
    int call = 0; /* 0 forward, 1 forward_train, 2 backward, 3 workspace_size */
    const recur_rnn *rnn = p->rnn;
    recur_context *c = ctx;
    const float *x = p->x;
    float *y = o->y;
    void *tws = xalloc(o->wsb + 1);
    memset(tws, 0x11, o->wsb + 1);
    switch (kind) {
    case 0: c = NULL; call = u8(r) % 3; break;
    case 1: rnn = NULL; call = u8(r) % 4; break;
    case 2: w.W = NULL; call = u8(r) % 3; break;
    case 3: w.U = NULL; call = u8(r) % 3; break;
    case 4: w.b = NULL; call = u8(r) % 3; break;
    case 5: w.V = NULL; call = u8(r) % 3; if (!O) want = RECUR_OK; break;
    case 6: x = NULL; call = u8(r) % 3; break;
    case 7: y = NULL; call = u8(r) % 2; break;
    case 8: T2 = 0; want = RECUR_ERR_INVALID_SIZE; call = u8(r) % 4; break;
    case 9: N2 = 0; want = RECUR_ERR_INVALID_SIZE; call = u8(r) % 4; break;
    case 10: T2 = SIZE_MAX / 2 + 1 + u8(r); want = RECUR_ERR_SIZE_OVERFLOW; call = u8(r) % 4; break;
    case 11: N2 = SIZE_MAX / 4 + 1; want = RECUR_ERR_SIZE_OVERFLOW; call = u8(r) % 4; break;
    case 12: ws = NULL; call = 1 + u8(r) % 2; break;
    case 13: wsb = o->wsb - 1 - u8(r) % o->wsb; want = RECUR_ERR_WORKSPACE_TOO_SMALL;
        call = 1 + u8(r) % 2; break;
    case 14: ws = (char *)tws + 1 + u8(r) % 3; want = RECUR_ERR_INVALID_ARGUMENT;
        call = 1 + u8(r) % 2; break;
    case 15: ws = tws; want = RECUR_ERR_WORKSPACE_MISMATCH; call = 2; break; /* never filled */
    case 16: g.W = NULL; call = 2; break;
    case 17: g.c = NULL; call = 2; if (!O) want = RECUR_OK; break;
    case 18: opt.dy_kind = (recur_dy_kind)(2 + u8(r)); want = RECUR_ERR_INVALID_ARGUMENT; call = 2; break;
    case 19: opt.accumulate = u8(r) % 2 ? -1 : 2; want = RECUR_ERR_INVALID_ARGUMENT; call = 2; break;
    case 20: call = 2; want = RECUR_ERR_WORKSPACE_MISMATCH;
        if (T > 1) { /* filled for T-1 */
            memcpy(tws, o->ws, o->wsb);
            float *yy = obuf(ny);
            EXPECT(recur_forward_train(ctx, p->rnn, T - 1, N, &p->w, p->x, p->h0, yy, NULL, tws,
                                       o->wsb), RECUR_OK, "recur_forward_train (T-1)");
            ws = tws;
        } else {
            ws = tws; /* never filled */
        }
        break;
    default: { /* filled for another descriptor of the same sizes */
        recur_rnn_config c2 = p->cfg;
        c2.hidden_act = (recur_activation)((c2.hidden_act + 1) % 4);
        recur_rnn *r2;
        EXPECT(recur_rnn_create(&r2, &c2), RECUR_OK, "recur_rnn_create (other)");
        float *yy = obuf(ny);
        EXPECT(recur_forward_train(ctx, r2, T, N, &p->w, p->x, p->h0, yy, NULL, tws, o->wsb),
               RECUR_OK, "recur_forward_train (other descriptor)");
        recur_rnn_destroy(r2);
        ws = tws;
        want = RECUR_ERR_WORKSPACE_MISMATCH;
        call = 2;
        break;
    }
    }
    /* sizes 0 / overflow with a NULL descriptor: the NULL wins */
    if (kind == 1)
        want = RECUR_ERR_NULL_POINTER;
    if (call == 3 && kind != 1 && kind < 8) /* workspace_size takes neither pointer */
        call = 0;
    float *yo = y ? obuf(ny) : NULL, *hl = obuf(ns), *dx = obuf(nx), *dh0 = obuf(ns);
    recur_status st;
    char what[64];
    track(p->x, nx * 4, IN, "x");
    track(p->W, H * I * 4, IN, "W");
    track(p->U, H * H * 4, IN, "U");
    track(o->ws, o->wsb, IN, "workspace");
    track(yo, ny * 4, OUT, "y");
    track(hl, ns * 4, OUT, "h_last");
    track(dx, nx * 4, OUT, "dx");
    track(dh0, ns * 4, OUT, "dh0");
    track(g.W, H * I * 4, OUT, "dW");
    track(g.U, H * H * 4, OUT, "dU");
    track(g.b, H * 4, OUT, "db");
    track(g.V, O * H * 4, OUT, "dV");
    switch (call) {
    case 0:
        st = recur_forward(c, rnn, T2, N2, &w, x, p->h0, yo, hl);
        break;
    case 1: {
        void *wso = ws ? (void *)(uintptr_t)ws : NULL;
        if (kind == 15 || kind >= 20)
            wso = tws;
        track(tws, o->wsb + 1, OUT, "workspace (out)"); /* wso may point into it */
        st = recur_forward_train(c, rnn, T2, N2, &w, x, p->h0, yo, hl, wso, wsb);
        break;
    }
    case 2:
        st = recur_backward(c, rnn, T2, N2, &w, x, ws, wsb, p->dy, p->dh_last, &opt, &g, dx,
                            dh0);
        break;
    default: {
        size_t bytes = 12345;
        st = recur_workspace_size(rnn, T2, N2, &bytes);
        if (st != RECUR_OK && bytes != 12345)
            FAIL("recur_workspace_size wrote *bytes on error");
        break;
    }
    }
    snprintf(what, sizeof what, "probe %u (call %d)", kind, call);
    if (want == RECUR_OK) { /* an ignored NULL: the call runs */
        track_drop();
        EXPECT(st, RECUR_OK, what);
        return;
    }
    track_end(st, what);
    EXPECT(st, want, what);
}

static void scenario_rnn(rd *r, ctxs *cx, gen *g)
{
    rprob p;
    memset(&p, 0, sizeof p);
    p.T = small(r, 1, 8);
    p.N = small(r, 1, 6);
    p.cfg.input_size = p.I = small(r, 1, 8);
    p.cfg.hidden_size = p.H = small(r, 1, 8);
    p.cfg.output_size = p.O = u8(r) % 3 == 0 ? 0 : small(r, 1, 6);
    p.cfg.hidden_act = (recur_activation)(u8(r) % 4);
    static const recur_activation outs[] = {RECUR_ACT_IDENTITY, RECUR_ACT_SOFTMAX,
                                            RECUR_ACT_SIGMOID, RECUR_ACT_TANH};
    p.cfg.output_act = outs[u8(r) % 4];
    p.Y = p.O ? p.O : p.H;
    EXPECT(recur_rnn_create(&p.rnn, &p.cfg), RECUR_OK, "recur_rnn_create");
    const size_t T = p.T, N = p.N, I = p.I, H = p.H, O = p.O;
    p.finite = !g->special;
    float sw = 1.0f / sqrtf((float)I), su = 1.0f / sqrtf((float)H);
    p.W = vbuf(g, H * I, sw);
    p.U = vbuf(g, H * H, su);
    p.b = vbuf(g, H, 0.5f);
    p.V = O ? vbuf(g, O * H, su) : NULL;
    p.c = O ? vbuf(g, O, 0.5f) : NULL;
    p.w = (recur_weights){p.W, p.U, p.b, p.V, p.c};
    p.x = vbuf(g, T * N * I, 2.0f);
    unsigned f = u8(r);
    p.h0 = f & 1 ? vbuf(g, N * H, 1.0f) : NULL;
    p.want_hl = (f >> 1) & 1;
    p.dy = f & 4 ? vbuf(g, T * N * p.Y, 1.0f) : NULL;
    p.dh_last = f & 8 ? vbuf(g, N * H, 1.0f) : NULL;
    p.want_dx = (f >> 4) & 1;
    p.want_dh0 = (f >> 5) & 1;
    p.opt.dy_kind = (f >> 6) & 1 ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    p.opt.accumulate = (f >> 7) & 1;
    p.opt.bptt_window = u8(r) % (T + 2);
    if (p.opt.accumulate) {
        const size_t n[7] = {H * I, H * H, H, O * H, O, T * N * I, N * H};
        for (int k = 0; k < 7; k++)
            p.acc[k] = vbuf(g, n[k], 1.0f);
    }
    rout o[3];
    memset(o, 0, sizeof o);
    static const char *who[3] = {"ISA, 1 thread", "ISA, 2 threads", "scalar"};
    for (int k = 0; k < 3; k++)
        rnn_run(cx->c[k], &p, &o[k], who[k]);
    rnn_compare(&p, o);

    /* losses on the outputs and the optimiser on the gradients */
    if (O && p.cfg.output_act == RECUR_ACT_SOFTMAX) {
        int32_t *tg = xalloc(T * N * sizeof(int32_t));
        for (size_t i = 0; i < T * N; i++)
            tg[i] = (int32_t)(u8(r) % (O + 1)) - 1;
        float loss = 0.0f, *dl = obuf(T * N * O);
        track(o[0].y, T * N * O * 4, IN, "probs");
        track(tg, T * N * 4, IN, "targets");
        recur_status st = recur_loss_softmax_xent(T * N, O, o[0].y, tg, &loss, dl);
        track_end(st, "recur_loss_softmax_xent");
        EXPECT(st, RECUR_OK, "recur_loss_softmax_xent");
        if (p.finite && (!isfinite(loss) || loss < 0.0f))
            FAIL("softmax cross-entropy loss %g", (double)loss);
        if (p.finite)
            all_finite(dl, T * N * O, "dlogits");
    }
    size_t nt = 3 + (O ? 2 : 0);
    float *params[5] = {dup(p.W, H * I), dup(p.U, H * H), dup(p.b, H), dup(p.V, O * H),
                        dup(p.c, O)};
    recur_tensors pt = {params[0], params[1], params[2], params[3], params[4]};
    const size_t sz[5] = {H * I, H * H, H, O * H, O};
    unsigned s = u8(r);
    recur_sgd_options so = {0.01f * (float)(1 + s % 8), (s & 8) ? 0.9f : 0.0f,
                            (s & 16) ? 1e-3f : 0.0f};
    recur_tensors vel = {0};
    if (so.momentum > 0.0f) {
        vel = (recur_tensors){fbuf(sz[0]), fbuf(sz[1]), fbuf(sz[2]), O ? fbuf(sz[3]) : NULL,
                              O ? fbuf(sz[4]) : NULL};
        float *vp[5] = {vel.W, vel.U, vel.b, vel.V, vel.c};
        for (size_t k = 0; k < nt; k++)
            memset(vp[k], 0, sz[k] * 4);
    }
    float norm = -1.0f, maxn = (s & 32) ? 0.5f : 0.0f;
    const float *gs[5] = {o[0].g.W, o[0].g.U, o[0].g.b, o[0].g.V, o[0].g.c};
    double ref = 0.0;
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < sz[k]; i++)
            ref += (double)gs[k][i] * gs[k][i];
    ref = sqrt(ref);
    EXPECT(recur_clip_grad_norm(p.rnn, &o[0].g, maxn, &norm), RECUR_OK, "recur_clip_grad_norm");
    if (p.finite && !(fabs(norm - ref) <= 1e-5 * ref + 1e-30))
        FAIL("recur_clip_grad_norm: norm %.9g, expected %.9g", (double)norm, ref);
    track(o[0].g.W, sz[0] * 4, IN, "grads W");
    track(o[0].g.U, sz[1] * 4, IN, "grads U");
    track(o[0].g.b, sz[2] * 4, IN, "grads b");
    recur_status st = recur_sgd_update(p.rnn, &pt, &o[0].g, &so, so.momentum > 0.0f ? &vel : NULL);
    track_end(st, "recur_sgd_update");
    EXPECT(st, RECUR_OK, "recur_sgd_update");
    for (size_t k = 0; p.finite && k < nt; k++)
        all_finite(params[k], sz[k], "SGD-updated parameter");

    unsigned probes = u8(r) % 4;
    for (unsigned i = 0; i < probes; i++)
        rnn_probe(r, cx, &p, &o[0]);
    recur_rnn_destroy(p.rnn);
}

/* ================================================================ models */

#define LMAX 3

typedef struct mprob {
    recur_model_config cfg;
    recur_model *m;
    size_t T, N, I, H, O, L, D, OW, LD, Y;
    size_t in_w[LMAX];
    float *W[2 * LMAX], *U[2 * LMAX], *b[2 * LMAX], *bhh[2 * LMAX], *V, *c;
    recur_layer_weights lw[2 * LMAX];
    recur_model_weights w;
    float *x, *h0, *dy, *dh_last;
    int32_t *len;
    recur_backward_options opt;
    int want_hl, want_dx, want_dh0, finite;
    float *acc[4 * 2 * LMAX + 4];
} mprob;

typedef struct mout {
    float *y, *hl, *y2, *hl2, *dx, *dh0;
    void *ws;
    size_t wsb;
    float *gt[4 * 2 * LMAX + 2]; /* per layer W U b b_hh, then V c */
    recur_layer_tensors lt[2 * LMAX];
    recur_model_tensors g;
} mout;

static size_t tensor_n(const mprob *p, size_t i)
{
    size_t k = i / 4, l = k / p->D;
    if (k < p->LD) {
        switch (i % 4) {
        case 0: return p->H * p->in_w[l];
        case 1: return p->H * p->H;
        case 2: return p->H;
        default: return p->cfg.two_biases ? p->H : 0;
        }
    }
    if (i == 4 * p->LD)
        return p->O * p->OW;
    if (i == 4 * p->LD + 1)
        return p->O;
    return 0;
}

static void m_wire(const mprob *p, mout *o)
{
    for (size_t k = 0; k < p->LD; k++)
        o->lt[k] = (recur_layer_tensors){o->gt[4 * k], o->gt[4 * k + 1], o->gt[4 * k + 2],
                                         o->gt[4 * k + 3]};
    o->g.layers = o->lt;
    o->g.V = o->gt[4 * p->LD];
    o->g.c = o->gt[4 * p->LD + 1];
}

static void m_track_w(const mprob *p)
{
    for (size_t k = 0; k < p->LD; k++) {
        track(p->W[k], tensor_n(p, 4 * k) * 4, IN, "W");
        track(p->U[k], tensor_n(p, 4 * k + 1) * 4, IN, "U");
        track(p->b[k], tensor_n(p, 4 * k + 2) * 4, IN, "b");
        track(p->bhh[k], tensor_n(p, 4 * k + 3) * 4, IN, "b_hh");
    }
    track(p->V, p->O * p->OW * 4, IN, "V");
    track(p->c, p->O * 4, IN, "c");
    track(p->len, p->N * 4, IN, "lengths");
}

static void m_run(recur_context *ctx, mprob *p, mout *o, const char *who)
{
    const size_t T = p->T, N = p->N;
    const size_t nx = T * N * p->I, ny = T * N * p->Y, ns = p->LD * N * p->H;
    char what[96];
    o->y = obuf(ny);
    o->hl = p->want_hl ? obuf(ns) : NULL;
    o->y2 = obuf(ny);
    o->hl2 = p->want_hl ? obuf(ns) : NULL;
    EXPECT(recur_model_workspace_size(p->m, T, N, &o->wsb), RECUR_OK, "recur_model_workspace_size");
    if ((u128)o->wsb < (u128)p->LD * T * N * p->H * sizeof(float))
        FAIL("recur_model_workspace_size %zu is below L*D*T*N*H floats", o->wsb);
    o->ws = xalloc(o->wsb);
    memset(o->ws, 0xee, o->wsb);

    m_track_w(p);
    track(p->x, nx * 4, IN, "x");
    track(p->h0, ns * 4, IN, "h0");
    track(o->y, ny * 4, OUT, "y");
    track(o->hl, ns * 4, OUT, "h_last");
    snprintf(what, sizeof what, "recur_model_forward (%s)", who);
    recur_status st = recur_model_forward(ctx, p->m, T, N, p->len, &p->w, p->x, p->h0, o->y, o->hl);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);

    m_track_w(p);
    track(p->x, nx * 4, IN, "x");
    track(p->h0, ns * 4, IN, "h0");
    track(o->y2, ny * 4, OUT, "y");
    track(o->hl2, ns * 4, OUT, "h_last");
    snprintf(what, sizeof what, "recur_model_forward_train (%s)", who);
    st = recur_model_forward_train(ctx, p->m, T, N, p->len, &p->w, p->x, p->h0, o->y2, o->hl2,
                                   o->ws, o->wsb);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);

    for (size_t i = 0; i < 4 * p->LD + 2; i++) {
        size_t n = tensor_n(p, i);
        o->gt[i] = n ? (p->opt.accumulate ? dup(p->acc[i], n) : obuf(n)) : NULL;
    }
    m_wire(p, o);
    o->dx = p->want_dx ? (p->opt.accumulate ? dup(p->acc[4 * p->LD + 2], nx) : obuf(nx)) : NULL;
    o->dh0 = p->want_dh0 ? (p->opt.accumulate ? dup(p->acc[4 * p->LD + 3], ns) : obuf(ns)) : NULL;
    m_track_w(p);
    track(p->x, nx * 4, IN, "x");
    track(o->ws, o->wsb, IN, "workspace");
    track(p->dy, ny * 4, IN, "dy");
    track(p->dh_last, ns * 4, IN, "dh_last");
    for (size_t i = 0; i < 4 * p->LD + 2; i++)
        track(o->gt[i], tensor_n(p, i) * 4, OUT, "gradient");
    track(o->dx, nx * 4, OUT, "dx");
    track(o->dh0, ns * 4, OUT, "dh0");
    snprintf(what, sizeof what, "recur_model_backward (%s)", who);
    st = recur_model_backward(ctx, p->m, T, N, &p->w, p->x, o->ws, o->wsb, p->dy, p->dh_last,
                              &p->opt, &o->g, o->dx, o->dh0);
    track_end(st, what);
    EXPECT(st, RECUR_OK, what);
}

static void m_compare(const mprob *p, mout o[3])
{
    const size_t T = p->T, N = p->N;
    const size_t nx = T * N * p->I, ny = T * N * p->Y, ns = p->LD * N * p->H;
    double Kf = 16.0 * (double)(p->I + p->D * p->H + p->O + 4) * (double)(T + 1) * (double)p->L;
    double Kb = Kf * (double)(T * N + p->D * p->H + 1) * (double)p->L;
    for (int k = 0; k < 3; k++) {
        same_bits(o[k].y, o[k].y2, ny, "model forward vs forward_train y");
        same_bits(o[k].hl, o[k].hl2, ns, "model forward vs forward_train h_last");
    }
    typedef struct item {
        const float *a[3];
        size_t n;
        double K;
        const char *name;
    } item;
    item items[4 * 2 * LMAX + 6];
    int ni = 0;
#define ITEM(field, cnt, k_, nm)                                                   \
    items[ni] = (item){{o[0].field, o[1].field, o[2].field}, cnt, k_, nm};        \
    ni++
    ITEM(y, ny, Kf, "y");
    ITEM(hl, ns, Kf, "h_last");
    ITEM(dx, nx, Kb, "dx");
    ITEM(dh0, ns, Kb, "dh0");
#undef ITEM
    for (size_t i = 0; i < 4 * p->LD + 2; i++) {
        items[ni].a[0] = o[0].gt[i];
        items[ni].a[1] = o[1].gt[i];
        items[ni].a[2] = o[2].gt[i];
        items[ni].n = tensor_n(p, i);
        items[ni].K = Kb;
        items[ni].name = "gradient";
        ni++;
    }
    for (int j = 0; j < ni; j++) {
        same_bits(items[j].a[0], items[j].a[1], items[j].n, items[j].name);
        if (p->finite) {
            all_finite(items[j].a[0], items[j].n, items[j].name);
            all_finite(items[j].a[2], items[j].n, items[j].name);
            near(items[j].a[0], items[j].a[2], items[j].n, items[j].K, items[j].name);
        }
    }
    /* with lengths, rows at t >= len are zero in y and dx (time-major or batch-first) */
    if (p->len) {
        int bf = p->cfg.seq_layout == RECUR_LAYOUT_BATCH_FIRST;
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                if ((size_t)p->len[n] > t)
                    continue;
                if (!p->cfg.y_dir_major) {
                    const float *row = o[0].y + (bf ? (n * T + t) : (t * N + n)) * p->Y;
                    for (size_t j = 0; j < p->Y; j++)
                        if (row[j] != 0.0f)
                            FAIL("y[t=%zu][n=%zu] past length %d is %g", t, n, p->len[n],
                                 (double)row[j]);
                }
                if (o[0].dx && !p->opt.accumulate) {
                    const float *row = o[0].dx + (bf ? (n * T + t) : (t * N + n)) * p->I;
                    for (size_t j = 0; j < p->I; j++)
                        if (row[j] != 0.0f)
                            FAIL("dx[t=%zu][n=%zu] past length %d is %g", t, n, p->len[n],
                                 (double)row[j]);
                }
            }
    }
}

static void m_probe(rd *r, ctxs *cx, mprob *p, mout *o)
{
    const size_t T = p->T, N = p->N;
    const size_t nx = T * N * p->I, ny = T * N * p->Y, ns = p->LD * N * p->H;
    recur_context *c = cx->c[u8(r) % 2];
    recur_context *ctx = c;
    unsigned kind = u8(r) % 24;
    recur_layer_weights lw[2 * LMAX];
    memcpy(lw, p->lw, sizeof lw);
    recur_model_weights w = {lw, p->V, p->c};
    const recur_model_weights *wp = &w;
    recur_layer_tensors lt[2 * LMAX];
    memcpy(lt, o->lt, sizeof lt);
    recur_model_tensors g = {lt, o->g.V, o->g.c};
    recur_model_tensors *gp = &g;
    recur_backward_options opt = p->opt;
    size_t T2 = T, N2 = N, wsb = o->wsb;
    const void *ws = o->ws;
    const recur_model *m = p->m;
    const float *x = p->x;
    int32_t *len = p->len;
    recur_status want = RECUR_ERR_NULL_POINTER;
    int call = u8(r) % 3; /* 0 forward, 1 forward_train, 2 backward, 3 workspace_size */
    size_t k = u8(r) % p->LD;
    void *tws = xalloc(o->wsb + 1);
    memset(tws, 0x11, o->wsb + 1);
    float *yo = obuf(ny);
    switch (kind) {
    case 0: c = NULL; break;
    case 1: m = NULL; call = u8(r) % 4; break;
    case 2: wp = NULL; break;
    case 3: lw[k].W = NULL; break;
    case 4: lw[k].U = NULL; break;
    case 5: lw[k].b = NULL; break;
    case 6: lw[k].b_hh = NULL; if (!p->cfg.two_biases) want = RECUR_OK; break;
    case 7: w.V = NULL; if (!p->O) want = RECUR_OK; break;
    case 8: w.layers = NULL; break;
    case 9: x = NULL; break;
    case 10: yo = NULL; call = 0; break;
    case 11: T2 = 0; want = RECUR_ERR_INVALID_SIZE; call = u8(r) % 4; break;
    case 12: N2 = 0; want = RECUR_ERR_INVALID_SIZE; call = u8(r) % 4; break;
    case 13: T2 = SIZE_MAX / 2 + 1; want = RECUR_ERR_SIZE_OVERFLOW; call = u8(r) % 4; break;
    case 14: N2 = SIZE_MAX / 4 + 1 + u8(r); want = RECUR_ERR_SIZE_OVERFLOW; call = u8(r) % 4;
        len = NULL; break;
    case 15: { /* an out-of-range length */
        static const int32_t bad[] = {0, -1, INT32_MIN, INT32_MAX};
        len = xalloc(N * sizeof(int32_t));
        for (size_t n = 0; n < N; n++)
            len[n] = (int32_t)T;
        int32_t v = u8(r) % 5 == 4 ? (int32_t)T + 1 : bad[u8(r) % 4];
        len[u8(r) % N] = v;
        want = RECUR_ERR_INVALID_ARGUMENT;
        call = u8(r) % 2;
        break;
    }
    case 16: ws = NULL; call = 1 + u8(r) % 2; break;
    case 17: wsb = o->wsb - 1 - u8(r) % o->wsb; want = RECUR_ERR_WORKSPACE_TOO_SMALL;
        call = 1 + u8(r) % 2; break;
    case 18: ws = (char *)tws + 1 + u8(r) % 3; want = RECUR_ERR_INVALID_ARGUMENT;
        call = 1 + u8(r) % 2; break;
    case 19: gp = u8(r) % 2 ? NULL : &g; g.layers = NULL; call = 2; break;
    case 20: lt[k].U = NULL; call = 2; break;
    case 21: opt.dy_kind = (recur_dy_kind)(2 + u8(r)); want = RECUR_ERR_INVALID_ARGUMENT;
        call = 2; break;
    case 22: /* never filled, or corrupted lengths */
        memcpy(tws, o->ws, o->wsb);
        if (p->len && u8(r) % 2) {
            int32_t bad = u8(r) % 2 ? 0 : (int32_t)T + 1;
            memcpy((char *)tws + 128 + 4 * (u8(r) % N), &bad, 4);
        } else {
            memset(tws, u8(r), 64);
        }
        ws = tws;
        want = RECUR_ERR_WORKSPACE_MISMATCH;
        call = 2;
        break;
    default: { /* filled for another model of the same sizes, or for T-1 */
        want = RECUR_ERR_WORKSPACE_MISMATCH;
        call = 2;
        ws = tws;
        float *yy = obuf(ny);
        if (T > 1 && u8(r) % 2) {
            EXPECT(recur_model_forward_train(ctx, p->m, T - 1, N, NULL, &p->w, p->x, p->h0, yy,
                                             NULL, tws, o->wsb),
                   RECUR_OK, "recur_model_forward_train (T-1)");
        } else {
            recur_model_config c2 = p->cfg;
            c2.hidden_act = (recur_activation)((c2.hidden_act + 1) % 4);
            recur_model *m2;
            EXPECT(recur_model_create(&m2, &c2), RECUR_OK, "recur_model_create (other)");
            EXPECT(recur_model_forward_train(ctx, m2, T, N, p->len, &p->w, p->x, p->h0, yy,
                                             NULL, tws, o->wsb),
                   RECUR_OK, "recur_model_forward_train (other model)");
            recur_model_destroy(m2);
        }
        break;
    }
    }
    if (kind == 1)
        want = RECUR_ERR_NULL_POINTER;
    if (call == 3 && kind != 1 && kind < 11)
        call = 0;
    float *hl = obuf(ns), *dx = obuf(nx), *dh0 = obuf(ns);
    m_track_w(p);
    track(p->x, nx * 4, IN, "x");
    track(o->ws, o->wsb, IN, "workspace");
    track(yo, ny * 4, OUT, "y");
    track(hl, ns * 4, OUT, "h_last");
    track(dx, nx * 4, OUT, "dx");
    track(dh0, ns * 4, OUT, "dh0");
    for (size_t i = 0; i < 4 * p->LD + 2; i++)
        track(o->gt[i], tensor_n(p, i) * 4, OUT, "gradient");
    recur_status st;
    switch (call) {
    case 0:
        st = recur_model_forward(c, m, T2, N2, len, wp, x, p->h0, yo, hl);
        break;
    case 1: {
        void *wso = (void *)(uintptr_t)ws;
        if (wso && wso != o->ws)
            track(tws, o->wsb + 1, OUT, "workspace (out)");
        else if (wso == o->ws) { /* writing the filled one is fine on success only */
            wso = tws;
            track(tws, o->wsb + 1, OUT, "workspace (out)");
        }
        st = recur_model_forward_train(c, m, T2, N2, len, wp, x, p->h0, yo, hl, wso, wsb);
        break;
    }
    case 2:
        st = recur_model_backward(c, m, T2, N2, wp, x, ws, wsb, p->dy, p->dh_last, &opt, gp, dx,
                                  dh0);
        break;
    default: {
        size_t bytes = 12345;
        st = recur_model_workspace_size(m, T2, N2, &bytes);
        if (st != RECUR_OK && bytes != 12345)
            FAIL("recur_model_workspace_size wrote *bytes on error");
        break;
    }
    }
    char what[64];
    snprintf(what, sizeof what, "model probe %u (call %d)", kind, call);
    if (want == RECUR_OK) {
        track_drop();
        EXPECT(st, RECUR_OK, what);
        return;
    }
    track_end(st, what);
    EXPECT(st, want, what);
}

static void scenario_model(rd *r, ctxs *cx, gen *g)
{
    mprob p;
    memset(&p, 0, sizeof p);
    recur_model_config *cfg = &p.cfg;
    p.T = small(r, 1, 8);
    p.N = small(r, 1, 5);
    *cfg = recur_model_config_default(small(r, 1, 8), small(r, 1, 8));
    p.I = cfg->input_size;
    p.H = cfg->hidden_size;
    unsigned f = u8(r);
    cfg->output_size = p.O = f % 3 == 0 ? small(r, 1, 5) : 0;
    cfg->num_layers = p.L = 1 + (f >> 2) % LMAX;
    cfg->direction = (recur_direction)((f >> 4) % 3);
    cfg->merge = (recur_merge)((f >> 6) & 1);
    unsigned e = u8(r);
    cfg->hidden_act = (recur_activation)(e % 4);
    static const recur_activation outs[] = {RECUR_ACT_IDENTITY, RECUR_ACT_SOFTMAX,
                                            RECUR_ACT_SIGMOID, RECUR_ACT_TANH};
    cfg->output_act = outs[(e >> 2) % 4];
    cfg->seq_layout = (recur_layout)((e >> 4) & 1);
    cfg->state_layout = (recur_layout)((e >> 5) & 1);
    cfg->two_biases = (e >> 6) & 1;
    static const float clips[] = {0.0f, 0.0f, 0.25f, 1.0f, 3.0f, 1e-30f, 1e-40f, FLT_MAX};
    cfg->clip = clips[u8(r) % 8];
    p.D = cfg->direction == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
    cfg->y_dir_major = (e >> 7) & 1 && cfg->seq_layout == RECUR_LAYOUT_TIME_MAJOR && !p.O &&
                       !(p.D == 2 && cfg->merge == RECUR_MERGE_SUM);
    EXPECT(recur_model_create(&p.m, cfg), RECUR_OK, "recur_model_create");
    p.LD = p.L * p.D;
    p.OW = p.D == 2 && cfg->merge == RECUR_MERGE_CONCAT ? 2 * p.H : p.H;
    p.Y = p.O ? p.O : p.OW;
    if (recur_model_directions(p.m) != p.D || recur_model_output_width(p.m) != p.OW)
        FAIL("recur_model_directions / output_width disagree with the documentation");
    for (size_t l = 0; l < p.L; l++) {
        p.in_w[l] = l == 0 ? p.I : p.OW;
        if (recur_model_layer_input_size(p.m, l) != p.in_w[l])
            FAIL("recur_model_layer_input_size(%zu) = %zu, expected %zu", l,
                 recur_model_layer_input_size(p.m, l), p.in_w[l]);
    }
    if (recur_model_layer_input_size(p.m, p.L) != 0)
        FAIL("recur_model_layer_input_size past the last layer is not 0");
    recur_model_config back;
    EXPECT(recur_model_get_config(p.m, &back), RECUR_OK, "recur_model_get_config");
    if (back.num_layers != p.L || back.hidden_size != p.H || back.clip != cfg->clip)
        FAIL("recur_model_get_config does not round-trip");

    const size_t T = p.T, N = p.N, H = p.H;
    p.finite = !g->special;
    for (size_t k = 0; k < p.LD; k++) {
        size_t l = k / p.D;
        p.W[k] = vbuf(g, H * p.in_w[l], 1.0f / sqrtf((float)p.in_w[l]));
        p.U[k] = vbuf(g, H * H, 1.0f / sqrtf((float)H));
        p.b[k] = vbuf(g, H, 0.5f);
        p.bhh[k] = cfg->two_biases ? vbuf(g, H, 0.5f) : NULL;
        p.lw[k] = (recur_layer_weights){p.W[k], p.U[k], p.b[k], p.bhh[k]};
    }
    p.V = p.O ? vbuf(g, p.O * p.OW, 1.0f / sqrtf((float)p.OW)) : NULL;
    p.c = p.O ? vbuf(g, p.O, 0.5f) : NULL;
    p.w = (recur_model_weights){p.lw, p.V, p.c};
    const size_t nx = T * N * p.I, ny = T * N * p.Y, ns = p.LD * N * H;
    p.x = vbuf(g, nx, 2.0f);
    unsigned o8 = u8(r);
    p.h0 = o8 & 1 ? vbuf(g, ns, 1.0f) : NULL;
    p.want_hl = (o8 >> 1) & 1;
    p.dy = o8 & 4 ? vbuf(g, ny, 1.0f) : NULL;
    p.dh_last = o8 & 8 ? vbuf(g, ns, 1.0f) : NULL;
    p.want_dx = (o8 >> 4) & 1;
    p.want_dh0 = (o8 >> 5) & 1;
    p.opt.dy_kind = (o8 >> 6) & 1 ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    p.opt.accumulate = (o8 >> 7) & 1;
    p.opt.bptt_window = u8(r) % (T + 2);
    if (u8(r) % 2) {
        p.len = xalloc(N * sizeof(int32_t));
        for (size_t n = 0; n < N; n++)
            p.len[n] = (int32_t)(1 + u8(r) % T);
    }
    if (p.opt.accumulate) {
        for (size_t i = 0; i < 4 * p.LD + 2; i++) {
            size_t n = tensor_n(&p, i);
            p.acc[i] = n ? vbuf(g, n, 1.0f) : NULL;
        }
        p.acc[4 * p.LD + 2] = vbuf(g, nx, 1.0f);
        p.acc[4 * p.LD + 3] = vbuf(g, ns, 1.0f);
    }
    mout o[3];
    memset(o, 0, sizeof o);
    static const char *who[3] = {"ISA, 1 thread", "ISA, 2 threads", "scalar"};
    for (int k = 0; k < 3; k++)
        m_run(cx->c[k], &p, &o[k], who[k]);
    m_compare(&p, o);

    /* clip and SGD over every tensor */
    size_t nt = 4 * p.LD + 2;
    double ref = 0.0;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < tensor_n(&p, i); j++)
            ref += (double)o[0].gt[i][j] * o[0].gt[i][j];
    ref = sqrt(ref);
    unsigned s = u8(r);
    float maxn = (s & 1) ? (float)(ref * 0.5) : 0.0f, norm = -1.0f;
    if (!isfinite(maxn)) /* NaN / Inf gradients (special values): any valid max_norm */
        maxn = 1.0f;
    recur_status st = recur_model_clip_grad_norm(p.m, &o[0].g, maxn, &norm);
    EXPECT(st, RECUR_OK, "recur_model_clip_grad_norm");
    if (p.finite) {
        if (!(fabs(norm - ref) <= 1e-5 * ref + 1e-30))
            FAIL("recur_model_clip_grad_norm: norm %.9g, expected %.9g", (double)norm, ref);
        double after = 0.0;
        for (size_t i = 0; i < nt; i++)
            for (size_t j = 0; j < tensor_n(&p, i); j++)
                after += (double)o[0].gt[i][j] * o[0].gt[i][j];
        if (maxn > 0.0f && sqrt(after) > maxn * (1.0 + 1e-5) + 1e-30)
            FAIL("recur_model_clip_grad_norm left norm %.9g above %.9g", sqrt(after), (double)maxn);
    }
    /* params = copies of the weights; SGD with bad options must fail untouched */
    mout pm, vm;
    memset(&pm, 0, sizeof pm);
    memset(&vm, 0, sizeof vm);
    for (size_t i = 0; i < nt; i++) {
        size_t n = tensor_n(&p, i);
        const float *src = i < 4 * p.LD ? (i % 4 == 0   ? p.W[i / 4]
                                           : i % 4 == 1 ? p.U[i / 4]
                                           : i % 4 == 2 ? p.b[i / 4]
                                                        : p.bhh[i / 4])
                                        : (i == 4 * p.LD ? p.V : p.c);
        pm.gt[i] = n ? dup(src, n) : NULL;
        vm.gt[i] = n ? fbuf(n) : NULL;
        if (n)
            memset(vm.gt[i], 0, n * 4);
    }
    m_wire(&p, &pm);
    m_wire(&p, &vm);
    static const float lrs[] = {0.01f, 0.1f, 0.0f, -1.0f, NAN, INFINITY};
    static const float moms[] = {0.0f, 0.9f, 1.0f, -0.5f, NAN};
    static const float wds[] = {0.0f, 1e-3f, -1.0f, INFINITY};
    recur_sgd_options so = {lrs[(s >> 1) % 6], moms[(s >> 4) % 5], wds[(s >> 6) % 4]};
    int ok = so.learning_rate > 0.0f && isfinite(so.learning_rate) && so.momentum >= 0.0f &&
             so.momentum < 1.0f && so.weight_decay >= 0.0f && isfinite(so.weight_decay);
    int with_vel = u8(r) % 4 != 0;
    for (size_t i = 0; i < nt; i++) {
        track(pm.gt[i], tensor_n(&p, i) * 4, OUT, "params");
        track(vm.gt[i], tensor_n(&p, i) * 4, OUT, "velocity");
        track(o[0].gt[i], tensor_n(&p, i) * 4, IN, "grads");
    }
    st = recur_model_sgd_update(p.m, &pm.g, &o[0].g, &so, with_vel ? &vm.g : NULL);
    track_end(st, "recur_model_sgd_update");
    if (!ok)
        EXPECT(st, RECUR_ERR_INVALID_ARGUMENT, "recur_model_sgd_update (bad options)");
    else if (so.momentum > 0.0f && !with_vel)
        EXPECT(st, RECUR_ERR_NULL_POINTER, "recur_model_sgd_update (no velocity)");
    else
        EXPECT(st, RECUR_OK, "recur_model_sgd_update");
    if (st == RECUR_OK && p.finite)
        for (size_t i = 0; i < nt; i++)
            all_finite(pm.gt[i], tensor_n(&p, i), "SGD-updated parameter");

    unsigned probes = u8(r) % 4;
    for (unsigned i = 0; i < probes; i++)
        m_probe(r, cx, &p, &o[0]);
    recur_model_destroy(p.m);
}

/* ================================================================ ONNX */

static void scenario_onnx(rd *r, ctxs *cx, gen *g)
{
    size_t T = small(r, 1, 8), N = small(r, 1, 5), I = small(r, 1, 8), H = small(r, 1, 8);
    recur_onnx_rnn_attrs a = recur_onnx_rnn_attrs_default(H);
    unsigned f = u8(r);
    a.direction = (recur_direction)(f % 3);
    a.layout = (f >> 2) & 1;
    static const float clips[] = {0.0f, 0.0f, 0.5f, 2.0f};
    a.clip = clips[(f >> 3) % 4];
    size_t D = a.direction == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
    for (size_t d = 0; d < 2; d++) {
        a.activations[d] = (recur_onnx_activation)(u8(r) % 11);
        a.alpha[d] = gunit(g) * 2.0f;
        a.beta[d] = gunit(g);
    }
    /* every activation name round-trips */
    static const char *names[] = {"Tanh", "Relu", "Sigmoid", "Affine", "LeakyRelu",
                                  "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu",
                                  "Softsign", "Softplus"};
    recur_onnx_activation act = (recur_onnx_activation)99;
    EXPECT(recur_onnx_activation_from_name(names[a.activations[0]], &act, NULL, NULL), RECUR_OK,
           "recur_onnx_activation_from_name");
    if (act != a.activations[0])
        FAIL("recur_onnx_activation_from_name(%s) = %d", names[a.activations[0]], (int)act);
    int finite = !g->special;
    float *X = vbuf(g, T * N * I, 2.0f);
    float *W = vbuf(g, D * H * I, 1.0f / sqrtf((float)I));
    float *R = vbuf(g, D * H * H, 1.0f / sqrtf((float)H));
    unsigned o8 = u8(r);
    float *B = o8 & 1 ? vbuf(g, D * 2 * H, 0.5f) : NULL;
    float *h0 = o8 & 2 ? vbuf(g, D * N * H, 1.0f) : NULL;
    int32_t *len = NULL;
    if (o8 & 4) {
        len = xalloc(N * 4);
        for (size_t n = 0; n < N; n++)
            len[n] = (int32_t)(1 + u8(r) % T);
    }
    int want_y = !(o8 & 8), want_yh = !(o8 & 16);
    float *Y[3], *Yh[3];
    static const char *who[3] = {"recur_onnx_rnn (ISA, 1 thread)", "recur_onnx_rnn (ISA, 2 threads)",
                                 "recur_onnx_rnn (scalar)"};
    for (int k = 0; k < 3; k++) {
        Y[k] = want_y ? obuf(T * D * N * H) : NULL;
        Yh[k] = want_yh ? obuf(D * N * H) : NULL;
        track(X, T * N * I * 4, IN, "X");
        track(W, D * H * I * 4, IN, "W");
        track(R, D * H * H * 4, IN, "R");
        track(B, D * 2 * H * 4, IN, "B");
        track(h0, D * N * H * 4, IN, "initial_h");
        track(len, N * 4, IN, "sequence_lens");
        track(Y[k], T * D * N * H * 4, OUT, "Y");
        track(Yh[k], D * N * H * 4, OUT, "Y_h");
        recur_status st = recur_onnx_rnn(cx->c[k], &a, T, N, I, X, W, R, B, len, h0, Y[k], Yh[k]);
        track_end(st, who[k]);
        EXPECT(st, RECUR_OK, who[k]);
    }
    double K = 16.0 * (double)(I + H + 4) * (double)(T + 1) * 4.0;
    same_bits(Y[0], Y[1], T * D * N * H, "ONNX Y");
    same_bits(Yh[0], Yh[1], D * N * H, "ONNX Y_h");
    if (finite) {
        all_finite(Y[0], T * D * N * H, "ONNX Y");
        all_finite(Yh[0], D * N * H, "ONNX Y_h");
        near(Y[0], Y[2], T * D * N * H, K, "ONNX Y");
        near(Yh[0], Yh[2], D * N * H, K, "ONNX Y_h");
    }

    /* probes: one broken attribute or argument */
    unsigned probes = u8(r) % 4;
    for (unsigned i = 0; i < probes; i++) {
        recur_onnx_rnn_attrs b = a;
        const recur_onnx_rnn_attrs *bp = &b;
        recur_context *c = cx->c[0];
        const float *Xp = X, *Wp = W, *Rp = R;
        size_t T2 = T, N2 = N, I2 = I;
        recur_status want = RECUR_ERR_INVALID_ARGUMENT;
        unsigned kind = u8(r) % 14;
        switch (kind) {
        case 0: c = NULL; want = RECUR_ERR_NULL_POINTER; break;
        case 1: bp = NULL; want = RECUR_ERR_NULL_POINTER; break;
        case 2: Xp = NULL; want = RECUR_ERR_NULL_POINTER; break;
        case 3: Wp = NULL; want = RECUR_ERR_NULL_POINTER; break;
        case 4: Rp = NULL; want = RECUR_ERR_NULL_POINTER; break;
        case 5: b.direction = (recur_direction)(3 + u8(r) % 3); break;
        case 6: b.layout = u8(r) % 2 ? 2 : -1; break;
        case 7: b.clip = u8(r) % 2 ? -1.0f : (u8(r) % 2 ? NAN : INFINITY); break;
        case 8: b.activations[u8(r) % D] = (recur_onnx_activation)(11 + u8(r)); break;
        case 9: b.alpha[u8(r) % D] = u8(r) % 2 ? NAN : -INFINITY; break;
        case 10: b.hidden_size = 0; want = RECUR_ERR_INVALID_SIZE; break;
        case 11: T2 = 0; want = RECUR_ERR_INVALID_SIZE; break;
        case 12: N2 = u8(r) % 2 ? 0 : SIZE_MAX / 2;
            want = N2 ? RECUR_ERR_SIZE_OVERFLOW : RECUR_ERR_INVALID_SIZE; break;
        default: I2 = 0; want = RECUR_ERR_INVALID_SIZE; break;
        }
        float *Yo = obuf(T * D * N * H), *Yho = obuf(D * N * H);
        track(X, T * N * I * 4, IN, "X");
        track(W, D * H * I * 4, IN, "W");
        track(Yo, T * D * N * H * 4, OUT, "Y");
        track(Yho, D * N * H * 4, OUT, "Y_h");
        recur_status st = recur_onnx_rnn(c, bp, T2, N2, I2, Xp, Wp, Rp, B,
                                         N2 == N ? len : NULL, h0 && N2 == N ? h0 : NULL, Yo, Yho);
        char what[48];
        snprintf(what, sizeof what, "recur_onnx_rnn probe %u", kind);
        track_end(st, what);
        EXPECT(st, want, what);
    }
}

/* ================================================================ descriptors, wild */

static void scenario_wild(rd *r, ctxs *cx)
{
    /* recur_rnn_create: exactly the documented status */
    recur_rnn_config rc;
    rc.input_size = u8(r) % 2 ? wild(r) : small(r, 0, 8);
    rc.hidden_size = u8(r) % 2 ? wild(r) : small(r, 0, 8);
    rc.output_size = u8(r) % 2 ? wild(r) : small(r, 0, 8);
    rc.hidden_act = act_byte(r);
    rc.output_act = act_byte(r);
    u128 I = rc.input_size, H = rc.hidden_size, O = rc.output_size;
    recur_status want;
    if (!rc.input_size || !rc.hidden_size)
        want = RECUR_ERR_INVALID_SIZE;
    else if (!hidden_ok(rc.hidden_act) || (rc.output_size && !output_ok(rc.output_act)))
        want = RECUR_ERR_INVALID_ARGUMENT;
    else if (H * I * 4 > SMAX || H * H * 4 > SMAX || O * H * 4 > SMAX)
        want = RECUR_ERR_SIZE_OVERFLOW;
    else
        want = RECUR_OK;
    recur_rnn *rnn = (recur_rnn *)(uintptr_t)0x1234;
    recur_status st = recur_rnn_create(&rnn, &rc);
    EXPECT(st, want, "recur_rnn_create (wild)");
    if (st != RECUR_OK && rnn != (recur_rnn *)(uintptr_t)0x1234)
        FAIL("recur_rnn_create wrote *rnn on error");
    if (st == RECUR_OK) {
        recur_rnn_config back;
        EXPECT(recur_rnn_get_config(rnn, &back), RECUR_OK, "recur_rnn_get_config");
        if (back.input_size != rc.input_size || back.hidden_size != rc.hidden_size ||
            back.output_size != rc.output_size || back.hidden_act != rc.hidden_act ||
            (rc.output_size && back.output_act != rc.output_act))
            FAIL("recur_rnn_get_config does not round-trip");
        size_t T = u8(r) % 2 ? wild(r) : small(r, 0, 8), N = u8(r) % 2 ? wild(r) : small(r, 0, 8);
        u128 Y = O ? O : H;
        u128 xb = (u128)T * N * I * 4, yb = (u128)T * N * Y * 4, hb = (u128)(T + 1) * N * H * 4;
        size_t bytes = 777;
        st = recur_workspace_size(rnn, T, N, &bytes);
        if (!T || !N)
            EXPECT(st, RECUR_ERR_INVALID_SIZE, "recur_workspace_size (zero)");
        else if (hb > SMAX || xb > SMAX || yb > SMAX)
            EXPECT(st, RECUR_ERR_SIZE_OVERFLOW, "recur_workspace_size (overflow)");
        else if (st == RECUR_OK && (u128)bytes < (u128)T * N * H * 4)
            FAIL("recur_workspace_size %zu below T*N*H floats", bytes);
        else if (st != RECUR_OK && st != RECUR_ERR_SIZE_OVERFLOW)
            FAIL("recur_workspace_size returned %d", (int)st);
        if (st != RECUR_OK && bytes != 777)
            FAIL("recur_workspace_size wrote *bytes on error");
        /* calls whose buffers cannot exist must fail before touching anything */
        if (!T || !N || xb > SMAX || yb > SMAX || (u128)N * H * 4 > SMAX) {
            float *tiny = obuf(16), *tiny2 = obuf(16), *tx = vbuf(&(gen){0x9e3779b97f4a7c15ULL, 0}, 16, 1.0f);
            recur_weights w = {tx, tx, tx, tx, tx};
            track(tiny, 64, OUT, "y");
            track(tiny2, 64, OUT, "h_last");
            track(tx, 64, IN, "x");
            st = recur_forward(cx->c[u8(r) % 3], rnn, T, N, &w, tx, NULL, tiny, tiny2);
            track_end(st, "recur_forward (unallocatable sizes)");
            if (st == RECUR_OK)
                FAIL("recur_forward accepted T=%zu N=%zu I=%zu H=%zu O=%zu", T, N,
                     rc.input_size, rc.hidden_size, rc.output_size);
        }
        recur_rnn_destroy(rnn);
    }

    /* recur_model_create: documented statuses; byte sizes overflow -> SIZE_OVERFLOW */
    recur_model_config mc = recur_model_config_default(u8(r) % 2 ? wild(r) : small(r, 0, 8),
                                                       u8(r) % 2 ? wild(r) : small(r, 0, 8));
    mc.output_size = u8(r) % 2 ? wild(r) : small(r, 0, 4);
    mc.num_layers = u8(r) % 3 == 0 ? wild(r) : small(r, 0, 4);
    unsigned e = u8(r);
    mc.direction = (recur_direction)(e % 4 == 3 ? (int)(e >> 2) - 32 : (int)(e % 4));
    mc.merge = (recur_merge)((e >> 2) % 3);
    mc.hidden_act = act_byte(r);
    mc.output_act = act_byte(r);
    unsigned e2 = u8(r);
    mc.seq_layout = (recur_layout)(e2 % 3);
    mc.state_layout = (recur_layout)((e2 >> 2) % 3);
    mc.y_dir_major = (int)((e2 >> 4) % 3);
    mc.two_biases = (int)((e2 >> 6) % 3);
    static const float clips[] = {0.0f, 1.0f, -1.0f, NAN, INFINITY, -0.0f, 1e-40f, FLT_MAX};
    mc.clip = clips[u8(r) % 8];
    int bi = mc.direction == RECUR_DIR_BIDIRECTIONAL;
    int bad = !hidden_ok(mc.hidden_act) || (mc.output_size && !output_ok(mc.output_act)) ||
              (unsigned)mc.direction > 2u || (unsigned)mc.merge > 1u ||
              (unsigned)mc.seq_layout > 1u || (unsigned)mc.state_layout > 1u ||
              (mc.y_dir_major != 0 && mc.y_dir_major != 1) ||
              (mc.two_biases != 0 && mc.two_biases != 1) || !(mc.clip >= 0.0f) || isinf(mc.clip) ||
              (mc.y_dir_major && (mc.seq_layout != RECUR_LAYOUT_TIME_MAJOR || mc.output_size ||
                                  (bi && mc.merge == RECUR_MERGE_SUM)));
    u128 D = bi ? 2 : 1, mI = mc.input_size, mH = mc.hidden_size, mO = mc.output_size;
    u128 OW = bi && mc.merge == RECUR_MERGE_CONCAT ? 2 * mH : mH;
    u128 big = mH * mI * 4;
    if (mH * OW * 4 > big)
        big = mH * OW * 4;
    if (mH * mH * 4 > big)
        big = mH * mH * 4;
    if (mO * OW * 4 > big)
        big = mO * OW * 4;
    if ((u128)mc.num_layers * D * 4 > big) /* the library counts L*D tensors */
        big = (u128)mc.num_layers * D * 4;
    recur_model *m = (recur_model *)(uintptr_t)0x5678;
    st = recur_model_create(&m, &mc);
    char what[160];
    snprintf(what, sizeof what,
             "recur_model_create(I=%zu H=%zu O=%zu L=%zu dir=%d merge=%d f=%d g=%d lay=%d/%d ydm=%d "
             "2b=%d clip=%g)",
             mc.input_size, mc.hidden_size, mc.output_size, mc.num_layers, (int)mc.direction,
             (int)mc.merge, (int)mc.hidden_act, (int)mc.output_act, (int)mc.seq_layout,
             (int)mc.state_layout, mc.y_dir_major, mc.two_biases, (double)mc.clip);
    if (!mc.input_size || !mc.hidden_size || !mc.num_layers)
        EXPECT(st, RECUR_ERR_INVALID_SIZE, what);
    else if (bad)
        EXPECT(st, RECUR_ERR_INVALID_ARGUMENT, what);
    else if (big > SMAX)
        EXPECT(st, RECUR_ERR_SIZE_OVERFLOW, what);
    else if (big * 64 <= SMAX)
        EXPECT(st, RECUR_OK, what);
    else if (st != RECUR_OK && st != RECUR_ERR_SIZE_OVERFLOW)
        FAIL("%s returned %d", what, (int)st);
    if (st != RECUR_OK && m != (recur_model *)(uintptr_t)0x5678)
        FAIL("recur_model_create wrote *model on error");
    if (st == RECUR_OK) {
        size_t T = u8(r) % 2 ? wild(r) : small(r, 0, 8), N = u8(r) % 2 ? wild(r) : small(r, 0, 8);
        size_t bytes = 777;
        st = recur_model_workspace_size(m, T, N, &bytes);
        u128 lb = (u128)mc.num_layers * D * T * N * mH * 4;
        if (!T || !N)
            EXPECT(st, RECUR_ERR_INVALID_SIZE, "recur_model_workspace_size (zero)");
        else if (lb > SMAX)
            EXPECT(st, RECUR_ERR_SIZE_OVERFLOW, "recur_model_workspace_size (overflow)");
        else if (st == RECUR_OK && (u128)bytes < lb)
            FAIL("recur_model_workspace_size %zu below L*D*T*N*H floats", bytes);
        if (st != RECUR_OK && bytes != 777)
            FAIL("recur_model_workspace_size wrote *bytes on error");
        recur_model_destroy(m);
    }

    /* status and ISA strings never NULL, any value */
    int v = (int)u32(r);
    if (!recur_status_string((recur_status)v) || !recur_isa_name((recur_isa)v))
        FAIL("a name function returned NULL for %d", v);
    char name[24];
    size_t nl = u8(r) % sizeof name;
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)u8(r);
    name[nl] = 0;
    recur_onnx_activation act = (recur_onnx_activation)77;
    float al = 5.0f;
    st = recur_onnx_activation_from_name(name, &act, &al, NULL);
    if (st != RECUR_OK && st != RECUR_ERR_UNSUPPORTED)
        FAIL("recur_onnx_activation_from_name returned %d", (int)st);
    if (st != RECUR_OK && (act != (recur_onnx_activation)77 || al != 5.0f))
        FAIL("recur_onnx_activation_from_name wrote its outputs on error");
}

/* ================================================================ losses */

static void scenario_losses(rd *r, gen *g)
{
    size_t rows = small(r, 0, 12), classes = small(r, 0, 9);
    if (u8(r) % 8 == 0)
        rows = wild(r);
    if (u8(r) % 8 == 0)
        classes = wild(r);
    int ok_sizes = rows && classes && (u128)rows * classes * 4 <= SMAX;
    int alloc = ok_sizes && rows <= 12 && classes <= 9;
    size_t n = alloc ? rows * classes : 16;
    float *probs = fbuf(n);
    for (size_t i = 0; i < n; i++)
        probs[i] = g->special ? gval(g, 1.0f) : 0.01f + 0.99f * fabsf(gunit(g));
    size_t nt = alloc ? rows : 4;
    int32_t *tg = xalloc(nt * 4);
    int bad_target = 0;
    for (size_t i = 0; i < nt; i++) {
        unsigned b = u8(r);
        if (b < 240 && classes)
            tg[i] = (int32_t)(classes < 1000 ? b % (classes + 1) : b) - 1;
        else {
            static const int32_t bads[] = {-2, INT32_MIN, INT32_MAX, 9, 1000};
            tg[i] = bads[b % 5];
            bad_target |= tg[i] < -1 || (size_t)tg[i] >= classes;
        }
    }
    if (!alloc && ok_sizes)
        return; /* too big to allocate: the library would (rightly) read it all */
    float loss = -7.0f, *dl = obuf(n);
    int want_loss = u8(r) % 4, null_arg = u8(r) % 8;
    const float *pp = null_arg == 1 ? NULL : probs;
    const int32_t *tp = null_arg == 2 ? NULL : tg;
    track(probs, n * 4, IN, "probs");
    track(tg, nt * 4, IN, "targets");
    track(&loss, 4, OUT, "loss");
    track(dl, n * 4, OUT, "dlogits");
    recur_status st = recur_loss_softmax_xent(rows, classes, pp, tp, want_loss ? &loss : NULL,
                                              want_loss != 1 ? dl : NULL);
    track_end(st, "recur_loss_softmax_xent");
    if (!pp || !tp)
        EXPECT(st, RECUR_ERR_NULL_POINTER, "recur_loss_softmax_xent (NULL)");
    else if (!rows || !classes)
        EXPECT(st, RECUR_ERR_INVALID_SIZE, "recur_loss_softmax_xent (zero)");
    else if (!ok_sizes)
        EXPECT(st, RECUR_ERR_SIZE_OVERFLOW, "recur_loss_softmax_xent (overflow)");
    else if (bad_target)
        EXPECT(st, RECUR_ERR_INVALID_ARGUMENT, "recur_loss_softmax_xent (bad target)");
    else {
        EXPECT(st, RECUR_OK, "recur_loss_softmax_xent");
        if (!g->special) {
            if (want_loss && (!isfinite(loss) || loss < 0.0f))
                FAIL("softmax cross-entropy loss %g from probabilities in [0.01, 1]", (double)loss);
            if (want_loss != 1)
                all_finite(dl, n, "dlogits");
        }
        size_t counted = 0;
        for (size_t i = 0; i < rows; i++)
            counted += tg[i] >= 0;
        if (!counted && want_loss && loss != 0.0f)
            FAIL("no counted row but loss %g", (double)loss);
    }

    /* MSE */
    size_t cnt = small(r, 0, 20);
    if (u8(r) % 8 == 0)
        cnt = wild(r);
    int ok = cnt && (u128)cnt * 4 <= SMAX;
    if (ok && cnt > 20)
        return;
    size_t m = ok ? cnt : 8;
    float *y = vbuf(g, m, 3.0f), *t = vbuf(g, m, 3.0f), *dy = obuf(m);
    loss = -7.0f;
    null_arg = u8(r) % 8;
    track(y, m * 4, IN, "y");
    track(t, m * 4, IN, "target");
    track(&loss, 4, OUT, "loss");
    track(dy, m * 4, OUT, "dy");
    st = recur_loss_mse(cnt, null_arg == 1 ? NULL : y, null_arg == 2 ? NULL : t, &loss, dy);
    track_end(st, "recur_loss_mse");
    if (null_arg == 1 || null_arg == 2)
        EXPECT(st, RECUR_ERR_NULL_POINTER, "recur_loss_mse (NULL)");
    else if (!cnt)
        EXPECT(st, RECUR_ERR_INVALID_SIZE, "recur_loss_mse (zero)");
    else if (!ok)
        EXPECT(st, RECUR_ERR_SIZE_OVERFLOW, "recur_loss_mse (overflow)");
    else {
        EXPECT(st, RECUR_OK, "recur_loss_mse");
        if (!g->special) {
            if (!isfinite(loss) || loss < 0.0f)
                FAIL("MSE %g from bounded inputs", (double)loss);
            all_finite(dy, m, "MSE dy");
        }
    }

    /* clip on an rnn's gradients with any max_norm */
    recur_rnn_config rc = {small(r, 1, 4), small(r, 1, 4), small(r, 0, 3), RECUR_ACT_TANH,
                           RECUR_ACT_IDENTITY};
    recur_rnn *rnn;
    EXPECT(recur_rnn_create(&rnn, &rc), RECUR_OK, "recur_rnn_create");
    size_t H = rc.hidden_size, I = rc.input_size, O = rc.output_size;
    recur_tensors gr = {vbuf(g, H * I, 1.0f), vbuf(g, H * H, 1.0f), vbuf(g, H, 1.0f),
                        O ? vbuf(g, O * H, 1.0f) : NULL, O ? vbuf(g, O, 1.0f) : NULL};
    static const float norms[] = {0.0f, 0.5f, 1e30f, -1.0f, NAN, INFINITY, 1e-40f, -0.0f};
    float mx = norms[u8(r) % 8], nb = -3.0f;
    track(gr.W, H * I * 4, OUT, "dW");
    track(gr.U, H * H * 4, OUT, "dU");
    track(gr.c, O * 4, OUT, "dc");
    track(&nb, 4, OUT, "norm_before");
    st = recur_clip_grad_norm(rnn, &gr, mx, &nb);
    track_end(st, "recur_clip_grad_norm");
    if (!(mx >= 0.0f) || isinf(mx))
        EXPECT(st, RECUR_ERR_INVALID_ARGUMENT, "recur_clip_grad_norm (bad max_norm)");
    else
        EXPECT(st, RECUR_OK, "recur_clip_grad_norm");
    if (st == RECUR_OK && !g->special && !isfinite(nb))
        FAIL("recur_clip_grad_norm: norm %g from finite gradients", (double)nb);
    recur_rnn_destroy(rnn);
}

/* ================================================================ entry */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("RECUR_VERBOSE"); /* the library stays silent; the fuzzer's output is its own */
    unsetenv("RECUR_ISA");
    const char *isa = getenv("RECUR_FUZZ_ISA");
    if (isa && *isa) {
        int found = 0;
        for (size_t i = 0; i < N_ISAS; i++)
            if (strcmp(isa, isa_names[i]) == 0) {
                pinned_isa = all_isas[i];
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "fuzz_api: RECUR_FUZZ_ISA=%s is not an ISA name\n", isa);
            exit(2);
        }
        if (pinned_isa != RECUR_ISA_AUTO && !recur_isa_supported(pinned_isa)) {
            fprintf(stderr, "fuzz_api: %s is not supported by this build or CPU: skipped\n", isa);
            exit(77);
        }
        pinned = 1;
    }
    return 0;
}

static unsigned long long executions;

static void report(void)
{
    if (getenv("RECUR_FUZZ_STATS"))
        fprintf(stderr, "fuzz_api: %llu executions, worst error / bound vs scalar %.3g\n",
                executions, worst_ratio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (executions++ == 0)
        atexit(report);
    rd r = {data, size, 0};
    unsigned scen = u8(&r) % 8;
    recur_isa isa = pick_isa(&r);
    gen g;
    unsigned mode = u8(&r);
    g.s = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)u32(&r) << 16) ^ size;
    g.special = mode % 4 == 0 ? (int)(2 + mode / 4 % 30) : 0;
    ctxs cx;
    memset(&cx, 0, sizeof cx);
    switch (scen) {
    case 0:
    case 1:
        ctxs_make(&cx, isa);
        scenario_rnn(&r, &cx, &g);
        break;
    case 2:
    case 3:
    case 4:
        ctxs_make(&cx, isa);
        scenario_model(&r, &cx, &g);
        break;
    case 5:
        ctxs_make(&cx, isa);
        scenario_onnx(&r, &cx, &g);
        break;
    case 6:
        ctxs_make(&cx, isa);
        scenario_wild(&r, &cx);
        break;
    default:
        scenario_losses(&r, &g);
        break;
    }
    if (cx.c[0])
        ctxs_free(&cx);
    free_all();
    return 0;
}
