/*
 * One ISA against the scalar oracle through the public API only: forward
 * (y, h_last), BPTT (dW, dU, db, dV, dc, dx, dh0) and one SGD step, each element
 * checked against an error bound derived from K*eps and propagated through the
 * recurrence. Header-only; shared by tools/recur_validate.c and the tests, for which
 * it is also the one home of the random-number generator (cmp_rng) and the
 * floating-point error constants (CMP_U, CMP_ULP, cmp_gamma).
 *
 * Bound derivation (u = 2^-24, gamma(K) = K u / (1 - K u), "mag" = the sum of the
 * magnitudes |a_i b_i| of a K-term dot product, computed in double from the
 * oracle's values; every bound e below holds for BOTH contexts vs exact
 * arithmetic, so |isa - scalar| <= 2 e):
 *  forward, per step t (K = I + H + 2: b, I inputs, H recurrent terms, 1 spare):
 *    e_z(t) = gamma(I+H+2) mag(b + W x_t + U h_{t-1}) + |U| e_h(t-1)
 *    e_h(t) = L_f e_z(t) + A_f |h_t|         (L: Lipschitz 1, sigmoid 1/4; A: act ulps * 2^-23)
 *    so the error compounds over T through |U| e_h(t-1).
 *  output: e_z = gamma(H+2) mag(c + V h) + |V| e_h; e_y = L_g e_z + A_g |y|
 *    (softmax: |dp_j| <= p_j (2 max|e_z| + 2 (E + u spread) + gamma(O) + 2u)).
 *  backward: dz from dy through g' (its error from e_y plus 3u), dH = dz V
 *    (gamma(O) mag + |V| e_dz), g_t = dH_t + U^T dA_{t+1} (gamma(H+1) mag + |U| e_dA),
 *    dA_t = g_t f'(h_t): |f'| e_g + |g| e_f' + 3u |g f'| (relu: e_f' = 1 where the
 *    pre-activation is within its error of 0, since the step can flip there).
 *  weight gradients sum over K = T*N rows: gamma(TN) mag + sum e_dA |x| (+ |dA| e_h);
 *    dx, dh0 sum over K = H: gamma(H) mag + sum e_dA |W|.
 *  SGD p - lr (g + wd p): lr e_g + 4u (|p| + lr (|g| + wd |p|)).
 */
#ifndef RECUR_COMPARE_H
#define RECUR_COMPARE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "recur.h"

/* Unit roundoff of float (half an ulp of 1). */
#define CMP_U 0x1p-24
/* One ulp of a normal float x is at most |x| * 2^-23. */
#define CMP_ULP 0x1p-23
#define CMP_TINY 1e-30
/* Vector-math bound every ISA's tanh/sigmoid/exp is documented to meet (AVX2 and
 * AVX-512: <= 3 ulp, see kernels/<isa>/<isa>_accuracy.h); libm's float functions are
 * within it too. */
#define CMP_ACT_ULPS 4.0

typedef struct cmp_shape {
    size_t T, N, I, H, O;
    recur_activation f, g;
    size_t window; /* truncated BPTT window, 0 = full */
} cmp_shape;

typedef enum { CMP_FORWARD = 0, CMP_BACKWARD = 1, CMP_SGD = 2 } cmp_op;

typedef struct cmp_stat {
    double max_abs, max_rel, max_ratio; /* ratio = |diff| / tolerance, must be <= 1 */
    double bound;                       /* tolerance at the worst-ratio element */
    const char *worst;                  /* tensor holding the worst ratio */
} cmp_stat;

/* gamma(k) = k u / (1 - k u): the classic bound on the relative error of a sum (or dot
 * product) of k terms in any order, relative to the sum of their magnitudes. */
static inline double cmp_gamma(size_t k)
{
    double ku = (double)k * CMP_U;
    return ku / (1.0 - ku);
}

/* xorshift64*: reproducible across platforms. The state is the seed as it is (make it
 * nonzero); every test and recur-validate draw their data from it. */
typedef struct cmp_rng {
    uint64_t s;
} cmp_rng;

static inline uint64_t cmp_rng_next(cmp_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi): the top 24 bits of one draw. */
static inline float cmp_rng_uniform(cmp_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((cmp_rng_next(r) >> 40) * 0x1p-24);
}

static inline void cmp_rng_fill(cmp_rng *r, float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = cmp_rng_uniform(r, lo, hi);
}

static inline void cmp_note(cmp_stat *s, const char *what, const float *a, const float *b,
                            const double *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), tol = 2.0 * e[i] + CMP_TINY;
        double rel = d / fmax(fabs((double)b[i]), 1e-30);
        double ratio = d / tol;
        if (isnan(d))
            ratio = INFINITY;
        s->max_abs = fmax(s->max_abs, d);
        s->max_rel = d > 0 ? fmax(s->max_rel, rel) : s->max_rel;
        if (!(ratio <= s->max_ratio)) {
            s->max_ratio = ratio;
            s->bound = tol;
            s->worst = what;
        }
    }
}

/* The activation in double: what the float kernels are compared with. */
static inline double cmp_act(recur_activation f, double x)
{
    switch (f) {
    case RECUR_ACT_TANH: return tanh(x);
    case RECUR_ACT_RELU: return x > 0 ? x : 0;
    case RECUR_ACT_SIGMOID: return 1 / (1 + exp(-x));
    default: return x;
    }
}

static inline double cmp_lip(recur_activation f)
{
    return f == RECUR_ACT_SIGMOID ? 0.25 : 1.0;
}

static inline double cmp_act_rel(recur_activation f)
{
    return (f == RECUR_ACT_TANH || f == RECUR_ACT_SIGMOID || f == RECUR_ACT_SOFTMAX)
               ? CMP_ACT_ULPS * CMP_ULP
               : 0.0;
}

typedef struct cmp_buf {
    float *W, *U, *b, *V, *c; /* weights */
    float *x, *h0, *dy, *dhl;
} cmp_buf;

/* Runs forward_train + backward + SGD in ctx; outputs into the given arrays. */
static inline int cmp_run_ctx(recur_context *ctx, const recur_rnn *rnn, const cmp_shape *s,
                              const cmp_buf *in, float *y, float *hl, recur_tensors *gr,
                              float *dx, float *dh0, recur_tensors *p)
{
    size_t ws_bytes;
    if (recur_workspace_size(rnn, s->T, s->N, &ws_bytes) != RECUR_OK)
        return 0;
    void *ws = malloc(ws_bytes);
    recur_weights w = {in->W, in->U, in->b, in->V, in->c};
    recur_backward_options o = recur_backward_options_default();
    o.bptt_window = s->window;
    int ok = ws && recur_forward_train(ctx, rnn, s->T, s->N, &w, in->x, in->h0, y, hl, ws,
                                       ws_bytes) == RECUR_OK &&
             recur_backward(ctx, rnn, s->T, s->N, &w, in->x, ws, ws_bytes, in->dy, in->dhl,
                            &o, gr, dx, dh0) == RECUR_OK;
    free(ws);
    recur_sgd_options so = {0.1f, 0.9f, 1e-3f};
    size_t H = s->H, I = s->I, O = s->O;
    recur_tensors vel = {calloc(H * I, 4), calloc(H * H, 4), calloc(H, 4),
                         calloc(O * H + 1, 4), calloc(O + 1, 4)};
    ok = ok && recur_sgd_update(rnn, p, gr, &so, &vel) == RECUR_OK;
    free(vel.W), free(vel.U), free(vel.b), free(vel.V), free(vel.c);
    return ok;
}

/* Everything one context produces, flattened. */
typedef struct cmp_out {
    float *y, *hl, *gW, *gU, *gb, *gV, *gc, *dx, *dh0, *pW, *pU, *pb, *pV, *pc;
} cmp_out;

static inline void cmp_out_alloc(cmp_out *o, const cmp_shape *s, const cmp_buf *in)
{
    size_t T = s->T, N = s->N, I = s->I, H = s->H, O = s->O, Y = O ? O : H;
    o->y = calloc(T * N * Y, 4), o->hl = calloc(N * H, 4);
    o->gW = calloc(H * I, 4), o->gU = calloc(H * H, 4), o->gb = calloc(H, 4);
    o->gV = calloc(O * H + 1, 4), o->gc = calloc(O + 1, 4);
    o->dx = calloc(T * N * I, 4), o->dh0 = calloc(N * H, 4);
    o->pW = malloc(H * I * 4), o->pU = malloc(H * H * 4), o->pb = malloc(H * 4);
    o->pV = malloc((O * H + 1) * 4), o->pc = malloc((O + 1) * 4);
    memcpy(o->pW, in->W, H * I * 4), memcpy(o->pU, in->U, H * H * 4);
    memcpy(o->pb, in->b, H * 4), memcpy(o->pV, in->V, O * H * 4), memcpy(o->pc, in->c, O * 4);
}

static inline void cmp_out_free(cmp_out *o)
{
    float *all[] = {o->y, o->hl, o->gW, o->gU, o->gb, o->gV, o->gc, o->dx, o->dh0,
                    o->pW, o->pU, o->pb, o->pV, o->pc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

/* f'(z) error from the saved output h and its bound eh (z: our double pre-activation). */
static inline double cmp_fprime(recur_activation f, double h, double *efp, double eh, double z,
                                double ez)
{
    switch (f) {
    case RECUR_ACT_TANH: *efp = 2 * fabs(h) * eh + 2 * CMP_U; return 1 - h * h;
    case RECUR_ACT_SIGMOID: *efp = fabs(1 - 2 * h) * eh + 2 * CMP_U; return h * (1 - h);
    case RECUR_ACT_RELU: *efp = fabs(z) <= 2 * ez ? 1.0 : 0.0; return h > 0 ? 1.0 : 0.0;
    default: *efp = 0; return 1.0;
    }
}

/*
 * Runs shape s with seed in both contexts and fills st[3] (forward, backward, SGD).
 * Returns 1 when every element is within its bound, 0 otherwise, -1 on API failure.
 */
static inline int cmp_check(recur_context *ref_ctx, recur_context *isa_ctx, const cmp_shape *s,
                            uint64_t seed, cmp_stat st[3])
{
    const size_t T = s->T, N = s->N, I = s->I, H = s->H, O = s->O, Y = O ? O : H;
    const size_t TN = T * N;
    memset(st, 0, 3 * sizeof *st);
    recur_rnn_config cfg = {I, H, O, s->f, s->g};
    recur_rnn *rnn = NULL, *rnn_h = NULL;
    recur_rnn_config cfg_h = {I, H, 0, s->f, RECUR_ACT_IDENTITY};
    if (recur_rnn_create(&rnn, &cfg) != RECUR_OK || recur_rnn_create(&rnn_h, &cfg_h) != RECUR_OK)
        return -1;

    cmp_rng rs = {seed * 2654435761u + 1};
    cmp_buf in;
    float ws_ = 1.0f / sqrtf((float)I), us = 1.0f / sqrtf((float)H);
    in.W = malloc(H * I * 4), in.U = malloc(H * H * 4), in.b = malloc(H * 4);
    in.V = malloc((O * H + 1) * 4), in.c = malloc((O + 1) * 4);
    in.x = malloc(TN * I * 4), in.h0 = malloc(N * H * 4);
    in.dy = malloc(TN * Y * 4), in.dhl = malloc(N * H * 4);
    cmp_rng_fill(&rs, in.W, H * I, -ws_, ws_);
    cmp_rng_fill(&rs, in.U, H * H, -us, us);
    cmp_rng_fill(&rs, in.b, H, -0.5f, 0.5f);
    cmp_rng_fill(&rs, in.V, O * H, -us, us);
    cmp_rng_fill(&rs, in.c, O, -0.5f, 0.5f);
    cmp_rng_fill(&rs, in.x, TN * I, -1, 1);
    cmp_rng_fill(&rs, in.h0, N * H, -0.5f, 0.5f);
    cmp_rng_fill(&rs, in.dy, TN * Y, -1, 1);
    cmp_rng_fill(&rs, in.dhl, N * H, -1, 1);

    cmp_out r, a;
    cmp_out_alloc(&r, s, &in);
    cmp_out_alloc(&a, s, &in);
    recur_tensors gr = {r.gW, r.gU, r.gb, O ? r.gV : NULL, O ? r.gc : NULL};
    recur_tensors ga = {a.gW, a.gU, a.gb, O ? a.gV : NULL, O ? a.gc : NULL};
    recur_tensors pr = {r.pW, r.pU, r.pb, O ? r.pV : NULL, O ? r.pc : NULL};
    recur_tensors pa = {a.pW, a.pU, a.pb, O ? a.pV : NULL, O ? a.pc : NULL};
    /* The oracle's hidden states (the O = 0 twin has the same recurrence). */
    float *hs = malloc(TN * H * 4);
    recur_weights wh = {in.W, in.U, in.b, NULL, NULL};
    int ok = cmp_run_ctx(ref_ctx, rnn, s, &in, r.y, r.hl, &gr, r.dx, r.dh0, &pr) &&
             cmp_run_ctx(isa_ctx, rnn, s, &in, a.y, a.hl, &ga, a.dx, a.dh0, &pa) &&
             recur_forward(ref_ctx, rnn_h, T, N, &wh, in.x, in.h0, hs, NULL) == RECUR_OK;
    int result = -1;
    if (!ok)
        goto done;

    /* ---- forward bounds */
    double *z = malloc(TN * H * 8), *ez = malloc(TN * H * 8), *eh = malloc(TN * H * 8);
    double *ey = malloc(TN * Y * 8), *eyz = malloc(TN * Y * 8);
    const double Af = cmp_act_rel(s->f), Lf = cmp_lip(s->f), gf = cmp_gamma(I + H + 2);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            const float *hp = t ? hs + ((t - 1) * N + n) * H : in.h0 + n * H;
            const double *ehp = t ? eh + ((t - 1) * N + n) * H : NULL;
            const float *xt = in.x + (t * N + n) * I;
            for (size_t j = 0; j < H; j++) {
                double v = in.b[j], mag = fabs(v), prop = 0;
                for (size_t i = 0; i < I; i++) {
                    double q = (double)in.W[j * I + i] * xt[i];
                    v += q, mag += fabs(q);
                }
                for (size_t k = 0; k < H; k++) {
                    double q = (double)in.U[j * H + k] * hp[k];
                    v += q, mag += fabs(q);
                    if (ehp)
                        prop += fabs(in.U[j * H + k]) * ehp[k];
                }
                size_t at = (t * N + n) * H + j;
                z[at] = v;
                ez[at] = gf * mag + prop;
                eh[at] = Lf * ez[at] + Af * fabs(hs[at]) + CMP_TINY;
            }
        }
    if (O == 0) {
        memcpy(ey, eh, TN * H * 8);
    } else {
        const double Ag = cmp_act_rel(s->g), Lg = cmp_lip(s->g), gv = cmp_gamma(H + 2);
        for (size_t rI = 0; rI < TN; rI++) {
            const float *h = hs + rI * H;
            const double *e = eh + rI * H;
            double emax = 0, zmax = 0;
            for (size_t o = 0; o < O; o++) {
                double v = in.c[o], mag = fabs(v), prop = 0;
                for (size_t k = 0; k < H; k++) {
                    double q = (double)in.V[o * H + k] * h[k];
                    v += q, mag += fabs(q), prop += fabs(in.V[o * H + k]) * e[k];
                }
                eyz[rI * O + o] = gv * mag + prop;
                emax = fmax(emax, eyz[rI * O + o]);
                zmax = fmax(zmax, fabs(v));
            }
            for (size_t o = 0; o < O; o++) {
                double yv = fabs(r.y[rI * O + o]);
                if (s->g == RECUR_ACT_SOFTMAX)
                    ey[rI * O + o] = yv * (2 * emax + 2 * (Ag + CMP_U * 2 * zmax) +
                                           cmp_gamma(O) + 2 * CMP_U) + CMP_TINY;
                else
                    ey[rI * O + o] = Lg * eyz[rI * O + o] + Ag * yv + CMP_TINY;
            }
        }
    }
    cmp_note(&st[CMP_FORWARD], "y", a.y, r.y, ey, TN * Y);
    cmp_note(&st[CMP_FORWARD], "h_last", a.hl, r.hl, eh + (T - 1) * N * H, N * H);

    /* ---- backward bounds: dz, dH, the recurrence, then the reductions */
    double *dz = calloc(TN * Y, 8), *edz = calloc(TN * Y, 8);
    double *dA = calloc(TN * H, 8), *edA = calloc(TN * H, 8);
    for (size_t rI = 0; rI < TN; rI++) {
        const float *yv = r.y + rI * Y, *dyv = in.dy + rI * Y;
        const double *e = ey + rI * Y;
        double dot = 0, sabs = 0, sdye = 0;
        for (size_t o = 0; o < Y; o++)
            dot += (double)dyv[o] * yv[o], sabs += fabs(dyv[o] * yv[o]), sdye += fabs(dyv[o]) * e[o];
        for (size_t o = 0; o < Y; o++) {
            double y = yv[o], d = dyv[o], v, er;
            switch (O ? s->g : RECUR_ACT_IDENTITY) {
            case RECUR_ACT_TANH: v = d * (1 - y * y), er = fabs(d) * (2 * fabs(y) * e[o] + 3 * CMP_U * fabs(1 - y * y)); break;
            case RECUR_ACT_SIGMOID: v = d * y * (1 - y), er = fabs(d) * (fabs(1 - 2 * y) * e[o] + 3 * CMP_U * fabs(y * (1 - y))); break;
            case RECUR_ACT_SOFTMAX:
                v = y * (d - dot);
                er = e[o] * fabs(d - dot) + fabs(y) * (sdye + cmp_gamma(Y + 2) * (fabs(d) + sabs)) + 3 * CMP_U * fabs(v);
                break;
            default: v = d, er = 0;
            }
            dz[rI * Y + o] = v, edz[rI * Y + o] = er;
        }
    }
    /* dH into dA / edA (as g before the recurrence term). */
    const double go = cmp_gamma(O + 1);
    for (size_t rI = 0; rI < TN; rI++)
        for (size_t j = 0; j < H; j++) {
            double v = 0, er = 0;
            if (O) {
                double mag = 0;
                for (size_t o = 0; o < O; o++) {
                    double q = dz[rI * O + o] * in.V[o * H + j];
                    v += q, mag += fabs(q), er += edz[rI * O + o] * fabs(in.V[o * H + j]);
                }
                er += go * mag;
            } else {
                v = dz[rI * H + j];
            }
            if (rI >= (T - 1) * N) {
                v += in.dhl[(rI - (T - 1) * N) * H + j];
                er += CMP_U * fabs(v);
            }
            dA[rI * H + j] = v, edA[rI * H + j] = er;
        }
    const double gh = cmp_gamma(H + 1);
    for (size_t t = T; t-- > 0;) {
        int cut = t + 1 >= T || (s->window && (t + 1) % s->window == 0);
        for (size_t n = 0; n < N; n++) {
            const double *dn = dA + ((t + 1) * N + n) * H, *edn = edA + ((t + 1) * N + n) * H;
            for (size_t j = 0; j < H; j++) {
                size_t at = (t * N + n) * H + j;
                double g = dA[at], mag = fabs(g), prop = 0;
                if (!cut)
                    for (size_t k = 0; k < H; k++) {
                        double q = (double)in.U[k * H + j] * dn[k];
                        g += q, mag += fabs(q), prop += fabs(in.U[k * H + j]) * edn[k];
                    }
                double eg = edA[at] + gh * mag + prop, efp;
                double fp = cmp_fprime(s->f, hs[at], &efp, eh[at], z[at], ez[at]);
                dA[at] = g * fp;
                edA[at] = fabs(fp) * eg + fabs(g) * efp + 3 * CMP_U * fabs(g * fp) + CMP_TINY;
            }
        }
    }
    double *e = calloc((H * (I > H ? I : H)) + O * H + TN * I + N * H + H + O + 16, 8);
    const double gtn = cmp_gamma(TN + 1);
    /* dW, dU, db */
    for (size_t j = 0; j < H; j++) {
        for (size_t i = 0; i < I; i++) {
            double mag = 0, prop = 0;
            for (size_t rI = 0; rI < TN; rI++)
                mag += fabs(dA[rI * H + j] * in.x[rI * I + i]), prop += edA[rI * H + j] * fabs(in.x[rI * I + i]);
            e[j * I + i] = gtn * mag + prop;
        }
    }
    cmp_note(&st[CMP_BACKWARD], "dW", a.gW, r.gW, e, H * I);
    for (size_t j = 0; j < H; j++)
        for (size_t k = 0; k < H; k++) {
            double mag = 0, prop = 0;
            for (size_t t = 0; t < T; t++)
                for (size_t n = 0; n < N; n++) {
                    size_t rI = t * N + n;
                    double hp = t ? hs[((t - 1) * N + n) * H + k] : in.h0[n * H + k];
                    double ehp = t ? eh[((t - 1) * N + n) * H + k] : 0;
                    mag += fabs(dA[rI * H + j] * hp);
                    prop += edA[rI * H + j] * fabs(hp) + fabs(dA[rI * H + j]) * ehp;
                }
            e[j * H + k] = gtn * mag + prop;
        }
    cmp_note(&st[CMP_BACKWARD], "dU", a.gU, r.gU, e, H * H);
    for (size_t j = 0; j < H; j++) {
        double mag = 0, prop = 0;
        for (size_t rI = 0; rI < TN; rI++)
            mag += fabs(dA[rI * H + j]), prop += edA[rI * H + j];
        e[j] = gtn * mag + prop;
    }
    cmp_note(&st[CMP_BACKWARD], "db", a.gb, r.gb, e, H);
    if (O) {
        for (size_t o = 0; o < O; o++)
            for (size_t k = 0; k < H; k++) {
                double mag = 0, prop = 0;
                for (size_t rI = 0; rI < TN; rI++)
                    mag += fabs(dz[rI * O + o] * hs[rI * H + k]),
                        prop += edz[rI * O + o] * fabs(hs[rI * H + k]) + fabs(dz[rI * O + o]) * eh[rI * H + k];
                e[o * H + k] = gtn * mag + prop;
            }
        cmp_note(&st[CMP_BACKWARD], "dV", a.gV, r.gV, e, O * H);
        for (size_t o = 0; o < O; o++) {
            double mag = 0, prop = 0;
            for (size_t rI = 0; rI < TN; rI++)
                mag += fabs(dz[rI * O + o]), prop += edz[rI * O + o];
            e[o] = gtn * mag + prop;
        }
        cmp_note(&st[CMP_BACKWARD], "dc", a.gc, r.gc, e, O);
    }
    const double gk = cmp_gamma(H + 1);
    for (size_t rI = 0; rI < TN; rI++)
        for (size_t i = 0; i < I; i++) {
            double mag = 0, prop = 0;
            for (size_t j = 0; j < H; j++)
                mag += fabs(dA[rI * H + j] * in.W[j * I + i]), prop += edA[rI * H + j] * fabs(in.W[j * I + i]);
            e[rI * I + i] = gk * mag + prop;
        }
    cmp_note(&st[CMP_BACKWARD], "dx", a.dx, r.dx, e, TN * I);
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < H; k++) {
            double mag = 0, prop = 0;
            for (size_t j = 0; j < H; j++)
                mag += fabs(dA[n * H + j] * in.U[j * H + k]), prop += edA[n * H + j] * fabs(in.U[j * H + k]);
            e[n * H + k] = gk * mag + prop;
        }
    cmp_note(&st[CMP_BACKWARD], "dh0", a.dh0, r.dh0, e, N * H);

    /* SGD: recompute the gradient bounds per tensor from the observed spread is not
     * possible here, so use the gradient tolerance already met: |g_isa - g_ref| <= 2 e_g
     * is checked above; the update adds lr * that difference plus 4u rounding. */
    {
        const float *pa_[5] = {a.pW, a.pU, a.pb, a.pV, a.pc}, *pr_[5] = {r.pW, r.pU, r.pb, r.pV, r.pc};
        const float *ga_[5] = {a.gW, a.gU, a.gb, a.gV, a.gc}, *gr_[5] = {r.gW, r.gU, r.gb, r.gV, r.gc};
        const float *p0[5] = {in.W, in.U, in.b, in.V, in.c};
        const size_t cnt[5] = {H * I, H * H, H, O * H, O};
        const char *nm[5] = {"W", "U", "b", "V", "c"};
        for (int q = 0; q < (O ? 5 : 3); q++) {
            for (size_t i = 0; i < cnt[q]; i++) {
                double gdiff = fabs((double)ga_[q][i] - gr_[q][i]);
                double rnd = 4 * CMP_U * (fabs(p0[q][i]) + 0.1 * (fabs(gr_[q][i]) + 1e-3 * fabs(p0[q][i])));
                e[i] = (0.1 * (gdiff * 1.01) + 2 * rnd) / 2;
            }
            cmp_note(&st[CMP_SGD], nm[q], pa_[q], pr_[q], e, cnt[q]);
        }
    }
    result = st[0].max_ratio <= 1 && st[1].max_ratio <= 1 && st[2].max_ratio <= 1;
    free(z), free(ez), free(eh), free(ey), free(eyz), free(dz), free(edz), free(dA), free(edA), free(e);
done:
    free(hs);
    cmp_out_free(&r);
    cmp_out_free(&a);
    free(in.W), free(in.U), free(in.b), free(in.V), free(in.c);
    free(in.x), free(in.h0), free(in.dy), free(in.dhl);
    recur_rnn_destroy(rnn);
    recur_rnn_destroy(rnn_h);
    return result;
}

#endif
