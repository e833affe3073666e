/*
 * The model API (recur_model_*) on every SIMD ISA against the scalar oracle,
 * through the public API only: two contexts (scalar, ISA) run recur_model_forward,
 * recur_model_forward_train and recur_model_backward (dy, dh_last, dx, dh0) on random
 * models: L in {1,2,3}, every direction, CONCAT and SUM, one or two biases, clip on
 * and off, lengths on and off, time-major / batch-first x and states, ONNX's
 * direction-major y, truncated BPTT, H and I in {1,3,17,33,127,129}, N in {1,3,17},
 * T up to 20. ISAs this build or CPU lacks are skipped.
 *
 * Each element must be within 2 e of the oracle, e being a bound on either context's
 * error against exact arithmetic, derived as in tools/recur_compare.h (whose
 * constants and helpers this file uses) and carried through the layers:
 *  - a pass (layer l, direction d) step: z = b (+ b_hh) + W x^l + U h_prev, K = in + H + 3
 *    terms: e_z = gamma(K) mag + |W| e_x^l + |U| e_h(prev);
 *    h = f(clamp(z)): e_h = L_f e_z + A_f |h| (clamp is 1-Lipschitz);
 *  - merge: CONCAT copies the errors; SUM adds them plus u |sum|;
 *  - output layer and dz exactly as recur_compare.h (K = Out + 2);
 *  - BPTT in each direction's own order: g = dH (+ dh_last) + U^T dA_next,
 *    e_g = e_dH + gamma(H+2) mag + |U| e_dA_next; dA = g f'(h) [|z| < clip]; where
 *    relu's step or the clip's edge lies within the error of z, the other context may
 *    take the other branch: the whole |g f'| is allowed there;
 *  - weight gradients: K = T*N rows, gamma(TN+1) mag + e_dA |x| + |dA| e_x;
 *    dx^l = sum over directions W^T dA: K = D*H, gamma(DH+1) mag + e_dA |W|; it is the
 *    dH of the layer below (CONCAT: its direction's columns; SUM: the whole row);
 *    dh0 = U^T dA at each direction's first step: K = H.
 * Values and magnitudes come from a double-precision evaluation of the same model.
 * Padding rows (t >= length) must be exactly zero in both (tolerance CMP_TINY).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "recur.h"
#include "recur_compare.h"
#include "simd_test_common.h"

static const size_t hdims[] = {1, 3, 17, 33, 127, 129};
static const size_t ndims[] = {1, 3, 17};
#define N_HDIMS (sizeof hdims / sizeof hdims[0])
#define N_NDIMS (sizeof ndims / sizeof ndims[0])
#define N_SHAPES 240
/* Multiply-adds of one forward pass through the model, so a debug build stays fast. */
#define MAX_WORK 300000.0
#define T_MIN 3
#define T_MAX 20

typedef struct mshape {
    size_t T, N, I, H, O, L;
    recur_direction dir;
    recur_merge merge;
    recur_activation f, g;
    recur_layout seq, state;
    int y_dir_major, two_biases, ragged, with_h0, with_dhl;
    float clip;
    size_t window;
    recur_dy_kind dy_kind;
} mshape;

/* ---------------------------------------------------------------- inputs */

typedef struct minputs {
    size_t D, LD, OW, Yw;     /* directions, passes, width of x^L, width of a y row */
    size_t in[3];             /* input width of each layer */
    int32_t *len;             /* NULL or [N] */
    float *W[6], *U[6], *b[6], *bhh[6], *V, *c;
    /* canonical: x [T][N][I], y / dy [T][N][Yw], states [LD][N][H] */
    float *x, *h0, *dy, *dhl;
    /* the library's layouts of the same */
    float *lx, *lh0, *ldy, *ldhl;
} minputs;

static size_t seq_at(recur_layout lay, size_t T, size_t N, size_t t, size_t n, size_t w)
{
    return lay == RECUR_LAYOUT_BATCH_FIRST ? (n * T + t) * w : (t * N + n) * w;
}

static size_t state_at(recur_layout lay, size_t LD, size_t N, size_t k, size_t n, size_t H)
{
    return lay == RECUR_LAYOUT_BATCH_FIRST ? (n * LD + k) * H : (k * N + n) * H;
}

/* Index in the library's y / dy of canonical element (t, n, j). */
static size_t y_at(const mshape *s, const minputs *in, size_t t, size_t n, size_t j)
{
    if (s->y_dir_major) {
        size_t d = j / s->H, jj = j % s->H;
        return ((t * in->D + d) * s->N + n) * s->H + jj;
    }
    return seq_at(s->seq, s->T, s->N, t, n, in->Yw) + j;
}

static size_t row_len(const minputs *in, const mshape *s, size_t n)
{
    return in->len ? (size_t)in->len[n] : s->T;
}

static float *fbuf(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static double *dbuf(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

static void inputs_make(minputs *in, const mshape *s, cmp_rng *r)
{
    memset(in, 0, sizeof *in);
    size_t H = s->H, T = s->T, N = s->N;
    in->D = s->dir == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
    in->LD = s->L * in->D;
    in->OW = in->D == 2 && s->merge == RECUR_MERGE_CONCAT ? 2 * H : H;
    in->Yw = s->O ? s->O : in->OW;
    for (size_t l = 0; l < s->L; l++)
        in->in[l] = l == 0 ? s->I : in->OW;
    for (size_t k = 0; k < in->LD; k++) {
        size_t w = in->in[k / in->D];
        float ws = 1.0f / sqrtf((float)w), us = 1.0f / sqrtf((float)H);
        in->W[k] = fbuf(H * w), in->U[k] = fbuf(H * H);
        in->b[k] = fbuf(H), in->bhh[k] = fbuf(H);
        cmp_rng_fill(r, in->W[k], H * w, -ws, ws);
        cmp_rng_fill(r, in->U[k], H * H, -us, us);
        cmp_rng_fill(r, in->b[k], H, -0.5f, 0.5f);
        cmp_rng_fill(r, in->bhh[k], H, -0.3f, 0.3f);
    }
    float vs = 1.0f / sqrtf((float)in->OW);
    in->V = fbuf(s->O * in->OW), in->c = fbuf(s->O);
    cmp_rng_fill(r, in->V, s->O * in->OW, -vs, vs);
    cmp_rng_fill(r, in->c, s->O, -0.5f, 0.5f);
    if (s->ragged) {
        in->len = calloc(N, sizeof *in->len);
        assert_non_null(in->len);
        for (size_t n = 0; n < N; n++)
            in->len[n] = 1 + (int32_t)(cmp_rng_next(r) % T);
        if (N > 1) /* one full-length row; a single sequence may end early */
            in->len[cmp_rng_next(r) % N] = (int32_t)T;
    }
    size_t nx = T * N * s->I, ny = T * N * in->Yw, ns = in->LD * N * H;
    in->x = fbuf(nx), in->dy = fbuf(ny), in->h0 = fbuf(ns), in->dhl = fbuf(ns);
    cmp_rng_fill(r, in->x, nx, -1, 1);
    cmp_rng_fill(r, in->dy, ny, -1, 1);
    cmp_rng_fill(r, in->h0, ns, -0.5f, 0.5f);
    cmp_rng_fill(r, in->dhl, ns, -1, 1);
    in->lx = fbuf(nx), in->ldy = fbuf(ny), in->lh0 = fbuf(ns), in->ldhl = fbuf(ns);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            memcpy(in->lx + seq_at(s->seq, T, N, t, n, s->I), in->x + (t * N + n) * s->I,
                   s->I * sizeof(float));
            for (size_t j = 0; j < in->Yw; j++)
                in->ldy[y_at(s, in, t, n, j)] = in->dy[(t * N + n) * in->Yw + j];
        }
    for (size_t k = 0; k < in->LD; k++)
        for (size_t n = 0; n < N; n++) {
            memcpy(in->lh0 + state_at(s->state, in->LD, N, k, n, H), in->h0 + (k * N + n) * H,
                   H * sizeof(float));
            memcpy(in->ldhl + state_at(s->state, in->LD, N, k, n, H), in->dhl + (k * N + n) * H,
                   H * sizeof(float));
        }
}

static void inputs_free(minputs *in)
{
    for (size_t k = 0; k < in->LD; k++)
        free(in->W[k]), free(in->U[k]), free(in->b[k]), free(in->bhh[k]);
    free(in->V), free(in->c), free(in->len);
    free(in->x), free(in->h0), free(in->dy), free(in->dhl);
    free(in->lx), free(in->lh0), free(in->ldy), free(in->ldhl);
}

/* ---------------------------------------------------------------- one context's run */

/* Outputs, converted to the canonical layouts; gradients per pass. */
typedef struct mresult {
    float *y, *hl, *dx, *dh0;
    float *gW[6], *gU[6], *gb[6], *gbhh[6], *gV, *gc;
} mresult;

static void result_alloc(mresult *o, const mshape *s, const minputs *in)
{
    size_t H = s->H, TN = s->T * s->N;
    o->y = fbuf(TN * in->Yw), o->hl = fbuf(in->LD * s->N * H);
    o->dx = fbuf(TN * s->I), o->dh0 = fbuf(in->LD * s->N * H);
    for (size_t k = 0; k < in->LD; k++) {
        o->gW[k] = fbuf(H * in->in[k / in->D]), o->gU[k] = fbuf(H * H);
        o->gb[k] = fbuf(H), o->gbhh[k] = fbuf(H);
    }
    o->gV = fbuf(s->O * in->OW), o->gc = fbuf(s->O);
}

static void result_free(mresult *o, const minputs *in)
{
    free(o->y), free(o->hl), free(o->dx), free(o->dh0);
    for (size_t k = 0; k < in->LD; k++)
        free(o->gW[k]), free(o->gU[k]), free(o->gb[k]), free(o->gbhh[k]);
    free(o->gV), free(o->gc);
}

static int model_make(recur_model **m, const mshape *s)
{
    recur_model_config c = recur_model_config_default(s->I, s->H);
    c.output_size = s->O;
    c.num_layers = s->L;
    c.direction = s->dir;
    c.merge = s->merge;
    c.hidden_act = s->f;
    c.output_act = s->g;
    c.seq_layout = s->seq;
    c.state_layout = s->state;
    c.y_dir_major = s->y_dir_major;
    c.clip = s->clip;
    c.two_biases = s->two_biases;
    return recur_model_create(m, &c) == RECUR_OK;
}

/* forward, forward_train (same y and h_last bit for bit), backward; 0 on API failure. */
static int run_ctx(recur_context *ctx, const recur_model *m, const mshape *s, const minputs *in,
                   mresult *o)
{
    const size_t T = s->T, N = s->N, H = s->H, LD = in->LD;
    size_t ny = T * N * in->Yw, ns = LD * N * H, nx = T * N * s->I;
    recur_layer_weights lw[6];
    recur_layer_tensors lg[6];
    for (size_t k = 0; k < LD; k++) {
        lw[k] = (recur_layer_weights){in->W[k], in->U[k], in->b[k],
                                      s->two_biases ? in->bhh[k] : NULL};
        lg[k] = (recur_layer_tensors){o->gW[k], o->gU[k], o->gb[k],
                                      s->two_biases ? o->gbhh[k] : NULL};
    }
    recur_model_weights w = {lw, s->O ? in->V : NULL, s->O ? in->c : NULL};
    recur_model_tensors g = {lg, s->O ? o->gV : NULL, s->O ? o->gc : NULL};
    float *y = fbuf(ny), *y2 = fbuf(ny), *hl = fbuf(ns), *hl2 = fbuf(ns);
    float *dx = fbuf(nx), *dh0 = fbuf(ns);
    const float *h0 = s->with_h0 ? in->lh0 : NULL;
    size_t wsb = 0;
    int ok = recur_model_forward(ctx, m, T, N, in->len, &w, in->lx, h0, y, hl) == RECUR_OK &&
             recur_model_workspace_size(m, T, N, &wsb) == RECUR_OK;
    void *ws = ok ? malloc(wsb) : NULL;
    recur_backward_options opt = recur_backward_options_default();
    opt.bptt_window = s->window;
    opt.dy_kind = s->dy_kind;
    ok = ok && ws &&
         recur_model_forward_train(ctx, m, T, N, in->len, &w, in->lx, h0, y2, hl2, ws, wsb) ==
             RECUR_OK &&
         recur_model_backward(ctx, m, T, N, &w, in->lx, ws, wsb, in->ldy,
                              s->with_dhl ? in->ldhl : NULL, &opt, &g, dx, dh0) == RECUR_OK;
    if (ok) {
        /* Inference and training forward compute the same outputs. */
        if (memcmp(y, y2, ny * sizeof(float)) != 0 || memcmp(hl, hl2, ns * sizeof(float)) != 0)
            ok = -1;
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                for (size_t j = 0; j < in->Yw; j++)
                    o->y[(t * N + n) * in->Yw + j] = y[y_at(s, in, t, n, j)];
                memcpy(o->dx + (t * N + n) * s->I, dx + seq_at(s->seq, T, N, t, n, s->I),
                       s->I * sizeof(float));
            }
        for (size_t k = 0; k < LD; k++)
            for (size_t n = 0; n < N; n++) {
                memcpy(o->hl + (k * N + n) * H, hl + state_at(s->state, LD, N, k, n, H),
                       H * sizeof(float));
                memcpy(o->dh0 + (k * N + n) * H, dh0 + state_at(s->state, LD, N, k, n, H),
                       H * sizeof(float));
            }
    }
    free(ws), free(y), free(y2), free(hl), free(hl2), free(dx), free(dh0);
    return ok;
}

/* ---------------------------------------------------------------- reference and bounds */

/* Whether the clip's edge lies within the error of z (either context may clamp). */
static int clip_edge(double clip, double z, double ez)
{
    return clip > 0 && fabs(fabs(z) - clip) <= 2 * ez + 4 * CMP_U * clip;
}

typedef struct mref {
    /* per pass, canonical [T][N][H], zero in padding rows */
    double *z[6], *ez[6], *h[6], *eh[6], *dA[6], *edA[6];
    /* merged output of each layer, [T][N][OW] */
    double *xo[3], *exo[3];
    double *y, *ey, *dz, *edz; /* [T][N][Yw] */
} mref;

/* Layer l's input at row r: values and errors (layer 0: x, exact). */
typedef struct lin {
    const float *xf;
    const double *xd, *ex;
    size_t w;
} lin;

static double lin_val(const lin *a, size_t r, size_t i)
{
    return a->xf ? (double)a->xf[r * a->w + i] : a->xd[r * a->w + i];
}

static double lin_err(const lin *a, size_t r, size_t i)
{
    return a->ex ? a->ex[r * a->w + i] : 0.0;
}

static lin layer_input(const mref *R, const minputs *in, const mshape *s, size_t l)
{
    lin a = {NULL, NULL, NULL, in->in[l]};
    if (l == 0)
        a.xf = in->x;
    else
        a.xd = R->xo[l - 1], a.ex = R->exo[l - 1];
    (void)s;
    return a;
}

static int pass_rev(const mshape *s, size_t d)
{
    return s->dir == RECUR_DIR_REVERSE || d == 1;
}

/* Time of step q of a pass in a row of length len. */
static size_t step_t(int rev, size_t len, size_t q)
{
    return rev ? len - 1 - q : q;
}

static void ref_forward(mref *R, const mshape *s, const minputs *in)
{
    const size_t T = s->T, N = s->N, H = s->H, D = in->D, TN = T * N;
    const double Af = cmp_act_rel(s->f), Lf = cmp_lip(s->f), clip = s->clip;
    for (size_t l = 0; l < s->L; l++) {
        lin a = layer_input(R, in, s, l);
        const double gk = cmp_gamma(a.w + H + 3);
        for (size_t d = 0; d < D; d++) {
            size_t k = l * D + d;
            int rev = pass_rev(s, d);
            R->z[k] = dbuf(TN * H), R->ez[k] = dbuf(TN * H);
            R->h[k] = dbuf(TN * H), R->eh[k] = dbuf(TN * H);
            R->dA[k] = dbuf(TN * H), R->edA[k] = dbuf(TN * H);
            for (size_t n = 0; n < N; n++) {
                size_t len = row_len(in, s, n);
                double h0[129], eh0[129];
                for (size_t j = 0; j < H; j++)
                    h0[j] = s->with_h0 ? in->h0[(k * N + n) * H + j] : 0.0, eh0[j] = 0;
                for (size_t q = 0; q < len; q++) {
                    size_t t = step_t(rev, len, q), r = t * N + n;
                    const double *hp = h0, *ehp = eh0;
                    if (q > 0) {
                        size_t tp = step_t(rev, len, q - 1);
                        hp = R->h[k] + (tp * N + n) * H, ehp = R->eh[k] + (tp * N + n) * H;
                    }
                    for (size_t j = 0; j < H; j++) {
                        double v = in->b[k][j], mag = fabs(v), prop = 0;
                        if (s->two_biases)
                            v += in->bhh[k][j], mag += fabs(in->bhh[k][j]);
                        const float *Wr = in->W[k] + j * a.w, *Ur = in->U[k] + j * H;
                        for (size_t i = 0; i < a.w; i++) {
                            double q2 = (double)Wr[i] * lin_val(&a, r, i);
                            v += q2, mag += fabs(q2), prop += fabs(Wr[i]) * lin_err(&a, r, i);
                        }
                        for (size_t i = 0; i < H; i++) {
                            double q2 = (double)Ur[i] * hp[i];
                            v += q2, mag += fabs(q2), prop += fabs(Ur[i]) * ehp[i];
                        }
                        double zc = clip > 0 ? fmin(fmax(v, -clip), clip) : v;
                        double hv = cmp_act(s->f, zc);
                        size_t at = r * H + j;
                        R->z[k][at] = v;
                        R->ez[k][at] = gk * mag + prop;
                        R->h[k][at] = hv;
                        R->eh[k][at] = Lf * R->ez[k][at] + Af * fabs(hv) + CMP_TINY;
                    }
                }
            }
        }
        /* merge */
        size_t OW = in->OW;
        R->xo[l] = dbuf(TN * OW), R->exo[l] = dbuf(TN * OW);
        for (size_t n = 0; n < N; n++)
            for (size_t t = 0; t < row_len(in, s, n); t++) {
                size_t r = t * N + n;
                for (size_t j = 0; j < H; j++) {
                    double *xo = R->xo[l] + r * OW, *ex = R->exo[l] + r * OW;
                    size_t k0 = l * D;
                    if (D == 1) {
                        xo[j] = R->h[k0][r * H + j], ex[j] = R->eh[k0][r * H + j];
                    } else if (s->merge == RECUR_MERGE_CONCAT) {
                        xo[j] = R->h[k0][r * H + j], ex[j] = R->eh[k0][r * H + j];
                        xo[H + j] = R->h[k0 + 1][r * H + j], ex[H + j] = R->eh[k0 + 1][r * H + j];
                    } else {
                        xo[j] = R->h[k0][r * H + j] + R->h[k0 + 1][r * H + j];
                        ex[j] = R->eh[k0][r * H + j] + R->eh[k0 + 1][r * H + j] +
                                CMP_U * fabs(xo[j]) + CMP_TINY;
                    }
                }
            }
    }
    /* output layer (as recur_compare.h) */
    const size_t Yw = in->Yw, OW = in->OW, O = s->O;
    const double *xL = R->xo[s->L - 1], *exL = R->exo[s->L - 1];
    R->y = dbuf(TN * Yw), R->ey = dbuf(TN * Yw);
    if (O == 0) {
        memcpy(R->y, xL, TN * Yw * sizeof(double));
        memcpy(R->ey, exL, TN * Yw * sizeof(double));
        return;
    }
    const double Ag = cmp_act_rel(s->g), Lg = cmp_lip(s->g), gv = cmp_gamma(OW + 2);
    double *zo = dbuf(O), *ezo = dbuf(O);
    for (size_t n = 0; n < N; n++)
        for (size_t t = 0; t < row_len(in, s, n); t++) {
            size_t r = t * N + n;
            double emax = 0, zmax = 0, mx = -INFINITY, sum = 0;
            for (size_t o = 0; o < O; o++) {
                double v = in->c[o], mag = fabs(v), prop = 0;
                for (size_t j = 0; j < OW; j++) {
                    double q2 = (double)in->V[o * OW + j] * xL[r * OW + j];
                    v += q2, mag += fabs(q2), prop += fabs(in->V[o * OW + j]) * exL[r * OW + j];
                }
                zo[o] = v, ezo[o] = gv * mag + prop;
                emax = fmax(emax, ezo[o]), zmax = fmax(zmax, fabs(v)), mx = fmax(mx, v);
            }
            if (s->g == RECUR_ACT_SOFTMAX)
                for (size_t o = 0; o < O; o++)
                    sum += exp(zo[o] - mx);
            for (size_t o = 0; o < O; o++) {
                double yv = s->g == RECUR_ACT_SOFTMAX ? exp(zo[o] - mx) / sum : cmp_act(s->g, zo[o]);
                R->y[r * O + o] = yv;
                if (s->g == RECUR_ACT_SOFTMAX)
                    R->ey[r * O + o] = fabs(yv) * (2 * emax + 2 * (Ag + CMP_U * 2 * zmax) +
                                                   cmp_gamma(O) + 2 * CMP_U) + CMP_TINY;
                else
                    R->ey[r * O + o] = Lg * ezo[o] + Ag * fabs(yv) + CMP_TINY;
            }
        }
    free(zo), free(ezo);
}

/* dz of the output layer and the gradient into x^L (dX, width OW). */
static void ref_output_backward(mref *R, const mshape *s, const minputs *in, double *dX,
                                double *edX)
{
    const size_t T = s->T, N = s->N, TN = T * N, Yw = in->Yw, OW = in->OW, O = s->O;
    R->dz = dbuf(TN * Yw), R->edz = dbuf(TN * Yw);
    for (size_t n = 0; n < N; n++)
        for (size_t t = 0; t < row_len(in, s, n); t++) {
            size_t r = t * N + n;
            const double *yv = R->y + r * Yw, *e = R->ey + r * Yw;
            const float *dyv = in->dy + r * Yw;
            double dot = 0, sabs = 0, sdye = 0;
            for (size_t o = 0; o < Yw; o++)
                dot += (double)dyv[o] * yv[o], sabs += fabs(dyv[o] * yv[o]),
                    sdye += fabs(dyv[o]) * e[o];
            recur_activation g = O && s->dy_kind == RECUR_DY_OUTPUT ? s->g : RECUR_ACT_IDENTITY;
            for (size_t o = 0; o < Yw; o++) {
                double y = yv[o], d = dyv[o], v, er;
                switch (g) {
                case RECUR_ACT_TANH:
                    v = d * (1 - y * y);
                    er = fabs(d) * (2 * fabs(y) * e[o] + 3 * CMP_U * fabs(1 - y * y));
                    break;
                case RECUR_ACT_SIGMOID:
                    v = d * y * (1 - y);
                    er = fabs(d) * (fabs(1 - 2 * y) * e[o] + 3 * CMP_U * fabs(y * (1 - y)));
                    break;
                case RECUR_ACT_SOFTMAX:
                    v = y * (d - dot);
                    er = e[o] * fabs(d - dot) +
                         fabs(y) * (sdye + cmp_gamma(Yw + 2) * (fabs(d) + sabs)) +
                         3 * CMP_U * fabs(v);
                    break;
                default: v = d, er = 0; break;
                }
                R->dz[r * Yw + o] = v, R->edz[r * Yw + o] = er;
            }
            if (O == 0) {
                for (size_t j = 0; j < OW; j++)
                    dX[r * OW + j] = R->dz[r * Yw + j], edX[r * OW + j] = 0;
                continue;
            }
            const double go = cmp_gamma(O + 1);
            for (size_t j = 0; j < OW; j++) {
                double v = 0, mag = 0, er = 0;
                for (size_t o = 0; o < O; o++) {
                    double q2 = R->dz[r * O + o] * in->V[o * OW + j];
                    v += q2, mag += fabs(q2), er += R->edz[r * O + o] * fabs(in->V[o * OW + j]);
                }
                dX[r * OW + j] = v, edX[r * OW + j] = go * mag + er;
            }
        }
}

/* Everything the two contexts computed, every bound, into st[0] (forward), st[1]
 * (backward). */
static void compare_all(const mshape *s, const minputs *in, const mresult *a,
                        const mresult *ro, cmp_stat st[2])
{
    const size_t T = s->T, N = s->N, H = s->H, D = in->D, TN = T * N, OW = in->OW;
    mref R;
    memset(&R, 0, sizeof R);
    ref_forward(&R, s, in);
    cmp_note(&st[0], "y", a->y, ro->y, R.ey, TN * in->Yw);
    double *e = dbuf(in->LD * N * H);
    for (size_t k = 0; k < in->LD; k++)
        for (size_t n = 0; n < N; n++) {
            size_t len = row_len(in, s, n), t = pass_rev(s, k % D) ? 0 : len - 1;
            memcpy(e + (k * N + n) * H, R.eh[k] + (t * N + n) * H, H * sizeof(double));
        }
    cmp_note(&st[0], "h_last", a->hl, ro->hl, e, in->LD * N * H);
    free(e);

    /* backward, top layer down; dX: gradient into the current layer's output */
    size_t wmax = OW > s->I ? OW : s->I;
    double *dX = dbuf(TN * wmax), *edX = dbuf(TN * wmax);
    double *ndX = dbuf(TN * wmax), *nedX = dbuf(TN * wmax);
    double *eb = dbuf(129 * (wmax > 129 ? wmax : 129) + TN * wmax + in->LD * N * H);
    ref_output_backward(&R, s, in, dX, edX);
    const double gH = cmp_gamma(H + 2), gU = cmp_gamma(H + 1), gtn = cmp_gamma(TN + 1);
    const double clip = s->clip;
    double *dh0e = dbuf(in->LD * N * H);
    for (size_t l = s->L; l-- > 0;) {
        lin a_in = layer_input(&R, in, s, l);
        size_t xw = OW; /* width of dX rows (layer l's output) */
        for (size_t d = 0; d < D; d++) {
            size_t k = l * D + d, col = D == 2 && s->merge == RECUR_MERGE_CONCAT ? d * H : 0;
            int rev = pass_rev(s, d);
            double *dA = R.dA[k], *edA = R.edA[k];
            for (size_t n = 0; n < N; n++) {
                size_t len = row_len(in, s, n);
                for (size_t q = len; q-- > 0;) {
                    size_t t = step_t(rev, len, q), r = t * N + n;
                    int cut = q + 1 >= len || (s->window && (q + 1) % s->window == 0);
                    size_t rn = cut ? 0 : step_t(rev, len, q + 1) * N + n;
                    for (size_t j = 0; j < H; j++) {
                        double g = dX[r * xw + col + j], mag = fabs(g), prop = edX[r * xw + col + j];
                        if (q + 1 == len && s->with_dhl) {
                            double v = in->dhl[(k * N + n) * H + j];
                            g += v, mag += fabs(v);
                        }
                        if (!cut)
                            for (size_t i = 0; i < H; i++) {
                                double q2 = (double)in->U[k][i * H + j] * dA[rn * H + i];
                                g += q2, mag += fabs(q2);
                                prop += fabs(in->U[k][i * H + j]) * edA[rn * H + i];
                            }
                        double eg = prop + gH * mag, efp;
                        size_t at = r * H + j;
                        double z = R.z[k][at], ez = R.ez[k][at];
                        double zc = clip > 0 ? fmin(fmax(z, -clip), clip) : z;
                        double fp = cmp_fprime(s->f, R.h[k][at], &efp, R.eh[k][at], zc, ez);
                        int mask = !(clip > 0) || fabs(z) < clip;
                        int edge = clip_edge(clip, z, ez);
                        dA[at] = mask ? g * fp : 0;
                        edA[at] = (mask || edge ? fabs(fp) * eg + fabs(g) * efp +
                                                      3 * CMP_U * fabs(g * fp)
                                                : 0) +
                                  (edge ? fabs(g) * (fabs(fp) + efp) : 0) + CMP_TINY;
                    }
                }
                /* dh0: U^T dA of the first step */
                size_t r0 = step_t(rev, len, 0) * N + n;
                for (size_t j = 0; j < H; j++) {
                    double mag = 0, prop = 0;
                    for (size_t i = 0; i < H; i++)
                        mag += fabs(dA[r0 * H + i] * in->U[k][i * H + j]),
                            prop += edA[r0 * H + i] * fabs(in->U[k][i * H + j]);
                    dh0e[(k * N + n) * H + j] = gU * mag + prop;
                }
            }
            /* dW, dU, db (b_hh) of the pass */
            for (size_t j = 0; j < H; j++)
                for (size_t i = 0; i < a_in.w; i++) {
                    double mag = 0, prop = 0;
                    for (size_t n = 0; n < N; n++)
                        for (size_t t = 0; t < row_len(in, s, n); t++) {
                            size_t r = t * N + n;
                            double xv = lin_val(&a_in, r, i);
                            mag += fabs(dA[r * H + j] * xv);
                            prop += edA[r * H + j] * fabs(xv) +
                                    fabs(dA[r * H + j]) * lin_err(&a_in, r, i);
                        }
                    eb[j * a_in.w + i] = gtn * mag + prop;
                }
            cmp_note(&st[1], "dW", a->gW[k], ro->gW[k], eb, H * a_in.w);
            for (size_t j = 0; j < H; j++)
                for (size_t i = 0; i < H; i++) {
                    double mag = 0, prop = 0;
                    for (size_t n = 0; n < N; n++) {
                        size_t len = row_len(in, s, n);
                        for (size_t q = 0; q < len; q++) {
                            size_t r = step_t(rev, len, q) * N + n;
                            double hp, ehp;
                            if (q == 0) {
                                hp = s->with_h0 ? in->h0[(k * N + n) * H + i] : 0, ehp = 0;
                            } else {
                                size_t rp = step_t(rev, len, q - 1) * N + n;
                                hp = R.h[k][rp * H + i], ehp = R.eh[k][rp * H + i];
                            }
                            mag += fabs(dA[r * H + j] * hp);
                            prop += edA[r * H + j] * fabs(hp) + fabs(dA[r * H + j]) * ehp;
                        }
                    }
                    eb[j * H + i] = gtn * mag + prop;
                }
            cmp_note(&st[1], "dU", a->gU[k], ro->gU[k], eb, H * H);
            for (size_t j = 0; j < H; j++) {
                double mag = 0, prop = 0;
                for (size_t r = 0; r < TN; r++)
                    mag += fabs(dA[r * H + j]), prop += edA[r * H + j];
                eb[j] = gtn * mag + prop;
            }
            cmp_note(&st[1], "db", a->gb[k], ro->gb[k], eb, H);
            if (s->two_biases)
                cmp_note(&st[1], "db_hh", a->gbhh[k], ro->gbhh[k], eb, H);
        }
        /* gradient into layer l's input: sum over directions of W^T dA */
        const double gx = cmp_gamma(D * H + 1);
        size_t iw = a_in.w;
        memset(ndX, 0, TN * iw * sizeof(double));
        memset(nedX, 0, TN * iw * sizeof(double));
        for (size_t n = 0; n < N; n++)
            for (size_t t = 0; t < row_len(in, s, n); t++) {
                size_t r = t * N + n;
                for (size_t i = 0; i < iw; i++) {
                    double v = 0, mag = 0, prop = 0;
                    for (size_t d = 0; d < D; d++) {
                        size_t k = l * D + d;
                        for (size_t j = 0; j < H; j++) {
                            double q2 = R.dA[k][r * H + j] * in->W[k][j * iw + i];
                            v += q2, mag += fabs(q2);
                            prop += R.edA[k][r * H + j] * fabs(in->W[k][j * iw + i]);
                        }
                    }
                    ndX[r * iw + i] = v, nedX[r * iw + i] = gx * mag + prop + CMP_TINY;
                }
            }
        if (l == 0) {
            cmp_note(&st[1], "dx", a->dx, ro->dx, nedX, TN * s->I);
        } else {
            double *tmp = dX;
            dX = ndX, ndX = tmp;
            tmp = edX, edX = nedX, nedX = tmp;
        }
    }
    cmp_note(&st[1], "dh0", a->dh0, ro->dh0, dh0e, in->LD * N * H);
    if (s->O) {
        const double *xL = R.xo[s->L - 1], *exL = R.exo[s->L - 1];
        const size_t O = s->O;
        for (size_t o = 0; o < O; o++)
            for (size_t j = 0; j < OW; j++) {
                double mag = 0, prop = 0;
                for (size_t r = 0; r < TN; r++)
                    mag += fabs(R.dz[r * O + o] * xL[r * OW + j]),
                        prop += R.edz[r * O + o] * fabs(xL[r * OW + j]) +
                                fabs(R.dz[r * O + o]) * exL[r * OW + j];
                eb[o * OW + j] = gtn * mag + prop;
            }
        cmp_note(&st[1], "dV", a->gV, ro->gV, eb, O * OW);
        for (size_t o = 0; o < O; o++) {
            double mag = 0, prop = 0;
            for (size_t r = 0; r < TN; r++)
                mag += fabs(R.dz[r * O + o]), prop += R.edz[r * O + o];
            eb[o] = gtn * mag + prop;
        }
        cmp_note(&st[1], "dc", a->gc, ro->gc, eb, O);
    }
    free(dX), free(edX), free(ndX), free(nedX), free(eb), free(dh0e);
    for (size_t k = 0; k < in->LD; k++)
        free(R.z[k]), free(R.ez[k]), free(R.h[k]), free(R.eh[k]), free(R.dA[k]),
            free(R.edA[k]);
    for (size_t l = 0; l < s->L; l++)
        free(R.xo[l]), free(R.exo[l]);
    free(R.y), free(R.ey), free(R.dz), free(R.edz);
}

/* ---------------------------------------------------------------- shapes */

static size_t pick_h(cmp_rng *r)
{
    return hdims[cmp_rng_next(r) % N_HDIMS];
}

static double step_work(const mshape *s)
{
    size_t D = s->dir == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
    size_t OW = D == 2 && s->merge == RECUR_MERGE_CONCAT ? 2 * s->H : s->H;
    double w = 0;
    for (size_t l = 0; l < s->L; l++)
        w += (double)D * s->N * s->H * ((l ? OW : s->I) + s->H);
    return w + (double)s->N * s->O * OW;
}

static void make_shape(mshape *s, int i, cmp_rng *r)
{
    static const recur_activation fs[] = {RECUR_ACT_TANH, RECUR_ACT_RELU, RECUR_ACT_SIGMOID,
                                          RECUR_ACT_IDENTITY};
    static const recur_activation gs[] = {RECUR_ACT_IDENTITY, RECUR_ACT_SOFTMAX,
                                          RECUR_ACT_SIGMOID, RECUR_ACT_TANH};
    static const size_t os[] = {0, 1, 3, 17};
    memset(s, 0, sizeof *s);
    /* The cheap axes cycle so that every combination of direction, merge, layout and
     * lengths comes up; the sizes are drawn. */
    s->dir = (recur_direction)(i % 3);
    s->merge = (recur_merge)((i / 3) % 2);
    s->seq = (recur_layout)((i / 6) % 2);
    s->ragged = (i / 12) % 2;
    s->L = 1 + (size_t)((i / 24 + i) % 3);
    s->state = (recur_layout)(cmp_rng_next(r) % 2);
    s->clip = cmp_rng_next(r) % 2 ? 0.3f + 1.2f * cmp_rng_uniform(r, 0, 1) : 0.0f;
    s->two_biases = (int)(cmp_rng_next(r) % 2);
    s->with_h0 = cmp_rng_next(r) % 4 != 0;
    s->with_dhl = cmp_rng_next(r) % 4 != 0;
    s->f = fs[cmp_rng_next(r) % 4];
    s->O = os[cmp_rng_next(r) % 4];
    s->g = gs[cmp_rng_next(r) % 4];
    s->dy_kind = s->O && cmp_rng_next(r) % 3 == 0 ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    s->window = cmp_rng_next(r) % 5 == 0 ? 1 + cmp_rng_next(r) % 4 : 0;
    s->H = pick_h(r);
    s->I = pick_h(r);
    s->N = ndims[cmp_rng_next(r) % N_NDIMS];
    s->y_dir_major = s->dir == RECUR_DIR_BIDIRECTIONAL && s->merge == RECUR_MERGE_CONCAT &&
                     s->seq == RECUR_LAYOUT_TIME_MAJOR && s->O == 0 && cmp_rng_next(r) % 2;
    /* Big shapes: fewer sequences, then fewer layers, then fewer steps (at least
     * T_MIN, so that the recurrence and the lengths have something to do). */
    while (step_work(s) * T_MIN > MAX_WORK && s->N > 1)
        s->N = s->N == 17 ? 3 : 1;
    while (step_work(s) * T_MIN > MAX_WORK && s->L > 1)
        s->L--;
    double T = MAX_WORK / step_work(s);
    s->T = T < T_MIN ? T_MIN : T > T_MAX ? T_MAX : (size_t)T;
}

static void describe(char *buf, size_t cap, const mshape *s)
{
    snprintf(buf, cap,
             "T=%zu N=%zu I=%zu H=%zu O=%zu L=%zu dir=%d merge=%d f=%d g=%d seq=%d state=%d "
             "ydm=%d clip=%g two_biases=%d lengths=%d h0=%d dh_last=%d window=%zu dy=%d",
             s->T, s->N, s->I, s->H, s->O, s->L, (int)s->dir, (int)s->merge, (int)s->f,
             (int)s->g, (int)s->seq, (int)s->state, s->y_dir_major, (double)s->clip,
             s->two_biases, s->ragged, s->with_h0, s->with_dhl, s->window, (int)s->dy_kind);
}

static void test_model_vs_scalar(void **state)
{
    recur_isa isa = *(const recur_isa *)*state;
    if (!recur_isa_supported(isa))
        skip();
    recur_context *ref = NULL, *ctx = NULL;
    assert_int_equal(recur_context_create(&ref), RECUR_OK);
    assert_int_equal(recur_context_create(&ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ref, RECUR_ISA_SCALAR), RECUR_OK);
    assert_int_equal(recur_context_set_isa(ctx, isa), RECUR_OK);
    assert_int_equal(recur_context_isa(ctx), isa);

    cmp_rng rng = {0x5EEDF00DULL + (uint64_t)isa};
    double worst[2] = {0, 0};
    char what[512];
    for (int i = 0; i < N_SHAPES; i++) {
        mshape s;
        make_shape(&s, i, &rng);
        describe(what, sizeof what, &s);
        recur_model *m = NULL;
        if (!model_make(&m, &s))
            fail_msg("recur_model_create failed on shape %d: %s", i, what);
        minputs in;
        inputs_make(&in, &s, &rng);
        mresult ra, rr;
        result_alloc(&ra, &s, &in);
        result_alloc(&rr, &s, &in);
        int ok_r = run_ctx(ref, m, &s, &in, &rr), ok_a = run_ctx(ctx, m, &s, &in, &ra);
        if (ok_r == 0 || ok_a == 0)
            fail_msg("API error on shape %d: %s", i, what);
        if (ok_r < 0 || ok_a < 0)
            fail_msg("%s: forward and forward_train differ on shape %d: %s",
                     ok_r < 0 ? "scalar" : recur_isa_name(isa), i, what);
        cmp_stat st[2];
        memset(st, 0, sizeof st);
        compare_all(&s, &in, &ra, &rr, st);
        for (int op = 0; op < 2; op++) {
            worst[op] = worst[op] > st[op].max_ratio ? worst[op] : st[op].max_ratio;
            if (!(st[op].max_ratio <= 1.0))
                fail_msg("%s %s, shape %d (%s): %s error %.3g x its bound %.3g",
                         recur_isa_name(isa), op ? "backward" : "forward", i, what,
                         st[op].worst, st[op].max_ratio, st[op].bound);
        }
        result_free(&ra, &in);
        result_free(&rr, &in);
        inputs_free(&in);
        recur_model_destroy(m);
    }
    print_message("# %s models: worst error/bound ratio forward %.3g, backward %.3g\n",
                  recur_isa_name(isa), worst[0], worst[1]);
    recur_context_destroy(ctx);
    recur_context_destroy(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"model_vs_scalar_avx2", test_model_vs_scalar, NULL, NULL, (void *)&simd_isas[0]},
        {"model_vs_scalar_avx512", test_model_vs_scalar, NULL, NULL, (void *)&simd_isas[1]},
        {"model_vs_scalar_neon", test_model_vs_scalar, NULL, NULL, (void *)&simd_isas[2]},
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
