/*
 * recur_model_* against the double-precision reference of include/recur.h
 * (tests/ref_model.c): forward values over the configuration grid, finite-difference
 * gradient checks, truncated BPTT, accumulation, equality with the recur_rnn API,
 * composition from single-layer calls, gradient clipping and SGD over all tensors.
 * Scalar kernels unless a test says otherwise.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ref_model.h"
#include "test_util.h"

/* ---------------------------------------------------------------- fixture */

enum { LEN_NULL = 0, LEN_RANDOM = 1, LEN_ALL_T = 2 };

/* One model with float parameters and their double copies, inputs, lengths. */
typedef struct fx {
    ref_spec s;
    size_t S; /* L*D state slots = weight sets */
    recur_model *model;
    recur_context *ctx;
    int32_t *len;
    float **W, **U, **b, **bhh, *V, *c, *x, *h0;
    double **dW, **dU, **db, **dbhh, *dV, *dc, *xd, *h0d;
    recur_layer_weights *lw;
    recur_model_weights w;
    ref_params rp;
    test_rng rng;
} fx;

static double *dvec(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    if (!p)
        abort();
    return p;
}

static double *to_d(const float *x, size_t n)
{
    double *d = dvec(n);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

static size_t slot_in(const fx *f, size_t slot)
{
    return ref_layer_in(&f->s.cfg, slot / ref_dirs(&f->s.cfg));
}

static void fx_init(fx *f, const recur_model_config *cfg, size_t T, size_t N, int len_mode,
                    uint64_t seed, recur_isa isa)
{
    memset(f, 0, sizeof *f);
    rng_seed(&f->rng, seed);
    f->s.cfg = *cfg;
    f->s.T = T;
    f->s.N = N;
    const size_t H = cfg->hidden_size, O = cfg->output_size, Wd = ref_out_width(cfg);
    f->S = cfg->num_layers * ref_dirs(cfg);
    if (len_mode != LEN_NULL) {
        f->len = calloc(N, sizeof(int32_t));
        for (size_t n = 0; n < N; n++)
            f->len[n] = len_mode == LEN_ALL_T ? (int32_t)T
                                              : 1 + (int32_t)rng_uniform(&f->rng, 0, (float)T - 0.01f);
        if (len_mode == LEN_RANDOM) /* a length 1 somewhere, not necessarily first */
            f->len[seed % N] = 1;
        f->s.lengths = f->len;
    }
    f->W = calloc(f->S, sizeof(float *)), f->U = calloc(f->S, sizeof(float *));
    f->b = calloc(f->S, sizeof(float *)), f->bhh = calloc(f->S, sizeof(float *));
    f->dW = calloc(f->S, sizeof(double *)), f->dU = calloc(f->S, sizeof(double *));
    f->db = calloc(f->S, sizeof(double *)), f->dbhh = calloc(f->S, sizeof(double *));
    f->lw = calloc(f->S, sizeof *f->lw);
    for (size_t k = 0; k < f->S; k++) {
        size_t Iin = slot_in(f, k);
        float sc = 1.0f / sqrtf((float)(Iin + H + 1));
        f->W[k] = fvec(H * Iin), f->U[k] = fvec(H * H), f->b[k] = fvec(H), f->bhh[k] = fvec(H);
        rng_fill(&f->rng, f->W[k], H * Iin, -sc, sc);
        rng_fill(&f->rng, f->U[k], H * H, -sc, sc);
        rng_fill(&f->rng, f->b[k], H, -sc, sc);
        rng_fill(&f->rng, f->bhh[k], H, -sc, sc);
        f->dW[k] = to_d(f->W[k], H * Iin), f->dU[k] = to_d(f->U[k], H * H);
        f->db[k] = to_d(f->b[k], H), f->dbhh[k] = to_d(f->bhh[k], H);
        /* without two_biases, b_hh is ignored: given or not (by seed) */
        recur_layer_weights l = {f->W[k], f->U[k], f->b[k],
                                 cfg->two_biases || (seed & 1) ? f->bhh[k] : NULL};
        f->lw[k] = l;
    }
    f->V = fvec(O * Wd), f->c = fvec(O);
    float sv = 1.0f / sqrtf((float)(Wd + 1));
    rng_fill(&f->rng, f->V, O * Wd, -sv, sv);
    rng_fill(&f->rng, f->c, O, -sv, sv);
    f->dV = to_d(f->V, O * Wd), f->dc = to_d(f->c, O);
    f->x = fvec(ref_x_count(&f->s)), f->h0 = fvec(ref_state_count(&f->s));
    rng_fill(&f->rng, f->x, ref_x_count(&f->s), -1, 1);
    rng_fill(&f->rng, f->h0, ref_state_count(&f->s), -0.5f, 0.5f);
    f->xd = to_d(f->x, ref_x_count(&f->s)), f->h0d = to_d(f->h0, ref_state_count(&f->s));
    recur_model_weights w = {f->lw, O ? f->V : NULL, O ? f->c : NULL};
    f->w = w;
    ref_params rp = {f->dW, f->dU, f->db, f->dbhh, f->dV, f->dc};
    f->rp = rp;
    assert_int_equal(recur_model_create(&f->model, cfg), RECUR_OK);
    assert_int_equal(recur_context_create(&f->ctx), RECUR_OK);
    assert_int_equal(recur_context_set_isa(f->ctx, isa), RECUR_OK);
}

static void fx_free(fx *f)
{
    for (size_t k = 0; k < f->S; k++) {
        free(f->W[k]), free(f->U[k]), free(f->b[k]), free(f->bhh[k]);
        free(f->dW[k]), free(f->dU[k]), free(f->db[k]), free(f->dbhh[k]);
    }
    free(f->W), free(f->U), free(f->b), free(f->bhh), free(f->dW), free(f->dU), free(f->db);
    free(f->dbhh), free(f->lw), free(f->V), free(f->c), free(f->dV), free(f->dc);
    free(f->x), free(f->h0), free(f->xd), free(f->h0d), free(f->len);
    recur_model_destroy(f->model);
    recur_context_destroy(f->ctx);
}

/* Every tensor of a recur_model_tensors, flattened into a list. */
typedef struct tref {
    char name[24];
    float *p;
    size_t n;
} tref;

#define MAX_TREFS 64 /* 4 per slot (L <= 3, D <= 2) + V, c */

static size_t tensors_list(const recur_model_config *cfg, const recur_model_tensors *t,
                           tref *out)
{
    size_t D = ref_dirs(cfg), S = cfg->num_layers * D, H = cfg->hidden_size, k = 0;
    for (size_t s = 0; s < S; s++) {
        size_t Iin = ref_layer_in(cfg, s / D);
        const char *nm[4] = {"W", "U", "b", "b_hh"};
        float *p[4] = {t->layers[s].W, t->layers[s].U, t->layers[s].b, t->layers[s].b_hh};
        size_t n[4] = {H * Iin, H * H, H, H};
        for (int i = 0; i < (cfg->two_biases ? 4 : 3); i++) {
            snprintf(out[k].name, sizeof out[k].name, "%s[%zu]", nm[i], s);
            out[k].p = p[i], out[k].n = n[i], k++;
        }
    }
    if (cfg->output_size) {
        size_t Wd = ref_out_width(cfg), O = cfg->output_size;
        snprintf(out[k].name, sizeof out[k].name, "V");
        out[k].p = t->V, out[k].n = O * Wd, k++;
        snprintf(out[k].name, sizeof out[k].name, "c");
        out[k].p = t->c, out[k].n = O, k++;
    }
    return k;
}

static recur_model_tensors mt_alloc(const recur_model_config *cfg)
{
    size_t D = ref_dirs(cfg), S = cfg->num_layers * D, H = cfg->hidden_size;
    recur_model_tensors t = {calloc(S, sizeof(recur_layer_tensors)), NULL, NULL};
    for (size_t s = 0; s < S; s++) {
        t.layers[s].W = fvec(H * ref_layer_in(cfg, s / D));
        t.layers[s].U = fvec(H * H);
        t.layers[s].b = fvec(H);
        t.layers[s].b_hh = cfg->two_biases ? fvec(H) : NULL;
    }
    if (cfg->output_size) {
        t.V = fvec(cfg->output_size * ref_out_width(cfg));
        t.c = fvec(cfg->output_size);
    }
    return t;
}

static void mt_free(const recur_model_config *cfg, recur_model_tensors *t)
{
    size_t S = cfg->num_layers * ref_dirs(cfg);
    for (size_t s = 0; s < S; s++) {
        free(t->layers[s].W), free(t->layers[s].U), free(t->layers[s].b);
        free(t->layers[s].b_hh);
    }
    free(t->layers), free(t->V), free(t->c);
}

static void mt_fill(const recur_model_config *cfg, recur_model_tensors *t, test_rng *r)
{
    tref l[MAX_TREFS];
    size_t n = tensors_list(cfg, t, l);
    for (size_t i = 0; i < n; i++)
        rng_fill(r, l[i].p, l[i].n, -1, 1);
}

static void mt_copy(const recur_model_config *cfg, recur_model_tensors *dst,
                    const recur_model_tensors *src)
{
    tref a[MAX_TREFS], b[MAX_TREFS];
    size_t n = tensors_list(cfg, dst, a);
    tensors_list(cfg, src, b);
    for (size_t i = 0; i < n; i++)
        memcpy(a[i].p, b[i].p, a[i].n * sizeof(float));
}

static int bitwise_equal(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof(float)) == 0;
}

static const char *cfg_str(const fx *f)
{
    static char buf[256];
    const recur_model_config *c = &f->s.cfg;
    static const char *dir[] = {"fwd", "rev", "bidir"};
    static const char *act[] = {"tanh", "relu", "sigmoid", "identity", "softmax"};
    snprintf(buf, sizeof buf,
             "T%zu N%zu I%zu H%zu O%zu L%zu %s%s f=%s g=%s seq=%s state=%s ydm=%d clip=%g "
             "two_biases=%d lengths=%s",
             f->s.T, f->s.N, c->input_size, c->hidden_size, c->output_size, c->num_layers,
             dir[c->direction],
             c->direction == RECUR_DIR_BIDIRECTIONAL ? (c->merge ? "-sum" : "-concat") : "",
             act[c->hidden_act], c->output_size ? act[c->output_act] : "none",
             c->seq_layout ? "bf" : "tm", c->state_layout ? "bf" : "tm", c->y_dir_major,
             (double)c->clip, c->two_biases, f->len ? "given" : "NULL");
    return buf;
}

/* ---------------------------------------------------------------- the grid */

typedef struct grid_point {
    size_t L;
    recur_direction dir;
    recur_merge merge;
} grid_point;

/* One cmocka test per (L, direction, merge). */
static grid_point grid[] = {
    {1, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT},       {1, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT},
    {1, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, {1, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM},
    {2, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT},       {2, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT},
    {2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, {2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM},
    {3, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT},       {3, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT},
    {3, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, {3, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM},
};
#define NGRID (sizeof grid / sizeof grid[0])

/* Output layer kinds: O = 0, then g = identity, sigmoid, tanh, softmax (MSE), softmax (xent). */
typedef struct out_kind {
    int has_output;
    recur_activation g;
    int xent;
} out_kind;

static const out_kind out_kinds[] = {
    {0, RECUR_ACT_IDENTITY, 0}, {1, RECUR_ACT_IDENTITY, 0}, {1, RECUR_ACT_SIGMOID, 0},
    {1, RECUR_ACT_TANH, 0},     {1, RECUR_ACT_SOFTMAX, 0},  {1, RECUR_ACT_SOFTMAX, 1},
};
static const recur_activation hidden_acts[] = {RECUR_ACT_TANH, RECUR_ACT_RELU, RECUR_ACT_SIGMOID,
                                               RECUR_ACT_IDENTITY};

typedef struct shape { size_t T, N, I, H, O; } shape;

static recur_model_config make_cfg(const grid_point *gp, shape sh, const out_kind *ok,
                                   recur_activation f, int seq_bf, int state_bf, int ydm,
                                   float clip, int two_biases)
{
    recur_model_config c = recur_model_config_default(sh.I, sh.H);
    c.output_size = ok->has_output ? sh.O : 0;
    c.num_layers = gp->L;
    c.direction = gp->dir;
    c.merge = gp->merge;
    c.hidden_act = f;
    c.output_act = ok->g;
    c.seq_layout = seq_bf ? RECUR_LAYOUT_BATCH_FIRST : RECUR_LAYOUT_TIME_MAJOR;
    c.state_layout = state_bf ? RECUR_LAYOUT_BATCH_FIRST : RECUR_LAYOUT_TIME_MAJOR;
    c.y_dir_major = ydm;
    c.clip = clip;
    c.two_biases = two_biases;
    return c;
}

/* y_dir_major applies to time-major bidirectional CONCAT without an output layer. */
static int ydm_allowed(const recur_model_config *c)
{
    return c->seq_layout == RECUR_LAYOUT_TIME_MAJOR && c->direction == RECUR_DIR_BIDIRECTIONAL &&
           c->merge == RECUR_MERGE_CONCAT && c->output_size == 0;
}

/* ---------------------------------------------------------------- forward values */

static size_t fwd_clamped; /* pre-activations clamped over a test: the clip cases must clip */

/* Forward and forward_train vs the reference; padded rows exactly zero. */
static void check_forward(fx *f, int pass_h0)
{
    const ref_spec *s = &f->s;
    const size_t ny = ref_y_count(s), ns = ref_state_count(s), Y = ref_y_width(&s->cfg);
    float *y = fvec(ny), *hl = fvec(ns), *y2 = fvec(ny), *hl2 = fvec(ns);
    double *yr = dvec(ny), *ye = dvec(ny), *hr = dvec(ns), *he = dvec(ns);
    fill_sentinel(y, ny), fill_sentinel(hl, ns), fill_sentinel(y2, ny), fill_sentinel(hl2, ns);
    const float *h0 = pass_h0 ? f->h0 : NULL;
    assert_int_equal(recur_model_forward(f->ctx, f->model, s->T, s->N, f->len, &f->w, f->x, h0,
                                         y, hl),
                     RECUR_OK);
    ref_out r = {0};
    r.y = yr, r.y_err = ye, r.h_last = hr, r.h_last_err = he;
    double *h0z = dvec(ns);
    ref_model_forward(s, &f->rp, f->xd, pass_h0 ? f->h0d : h0z, &r);
    free(h0z);
    fwd_clamped += r.clamped;
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = 0; t < s->T; t++)
            for (size_t k = 0; k < Y; k++) {
                size_t at = ref_y_off(s, t, n, k);
                if (t >= ref_len(s, n)) {
                    if (y[at] != 0.0f)
                        fail_msg("y(t%zu n%zu k%zu) = %g past length %zu, must be 0 (%s)", t, n,
                                 k, (double)y[at], ref_len(s, n), cfg_str(f));
                } else if (!(fabs(y[at] - yr[at]) <= ye[at])) {
                    fail_msg("y(t%zu n%zu k%zu) = %.9g, reference %.9g, |err| %.3g > bound %.3g "
                             "(%s)",
                             t, n, k, (double)y[at], yr[at], fabs(y[at] - yr[at]), ye[at],
                             cfg_str(f));
                }
            }
    for (size_t i = 0; i < ns; i++)
        if (!(fabs(hl[i] - hr[i]) <= he[i]))
            fail_msg("h_last[%zu] = %.9g, reference %.9g, bound %.3g (%s)", i, (double)hl[i],
                     hr[i], he[i], cfg_str(f));
    /* forward_train gives the same outputs, bitwise. */
    size_t wsb;
    assert_int_equal(recur_model_workspace_size(f->model, s->T, s->N, &wsb), RECUR_OK);
    void *ws = malloc(wsb ? wsb : 1);
    assert_int_equal(recur_model_forward_train(f->ctx, f->model, s->T, s->N, f->len, &f->w, f->x,
                                               h0, y2, hl2, ws, wsb),
                     RECUR_OK);
    if (!bitwise_equal(y, y2, ny) || !bitwise_equal(hl, hl2, ns))
        fail_msg("forward_train differs from forward (%s)", cfg_str(f));
    /* h_last is optional. */
    assert_int_equal(recur_model_forward(f->ctx, f->model, s->T, s->N, f->len, &f->w, f->x, h0,
                                         y2, NULL),
                     RECUR_OK);
    if (!bitwise_equal(y, y2, ny))
        fail_msg("forward without h_last differs (%s)", cfg_str(f));
    free(ws);
    free(y), free(hl), free(y2), free(hl2), free(yr), free(ye), free(hr), free(he);
}

static const shape fwd_shapes[] = {
    {1, 1, 1, 1, 2}, {4, 3, 3, 2, 3}, {5, 2, 2, 3, 4}, {7, 5, 5, 4, 3}, {3, 4, 1, 5, 2},
    {6, 3, 9, 17, 5},
};

static void test_forward(void **state)
{
    const grid_point *gp = *state;
    size_t idx = 0;
    fwd_clamped = 0;
    for (size_t ok = 0; ok < 5; ok++) /* xent is the same forward as softmax */
        for (size_t fi = 0; fi < 4; fi++)
            for (int lm = 0; lm < 3; lm++)
                for (int layouts = 0; layouts < 4; layouts++)
                    for (int ydm = 0; ydm < 2; ydm++)
                        for (int opt = 0; opt < 4; opt++) {
                            shape sh = fwd_shapes[idx % (sizeof fwd_shapes / sizeof fwd_shapes[0])];
                            float clip = (opt & 1) ? 0.4f : 0.0f;
                            recur_model_config c = make_cfg(gp, sh, &out_kinds[ok], hidden_acts[fi],
                                                            layouts & 1, layouts >> 1, ydm, clip,
                                                            opt >> 1);
                            if (ydm && !ydm_allowed(&c))
                                continue;
                            fx f;
                            fx_init(&f, &c, sh.T, sh.N, lm, 7000 + idx, RECUR_ISA_SCALAR);
                            check_forward(&f, (int)(idx % 3 != 0)); /* h0 NULL every third */
                            fx_free(&f);
                            idx++;
                        }
    assert_true(fwd_clamped > 0);
}

/* ---------------------------------------------------------------- gradient check */

typedef struct loss_data {
    float *target, *r_last;
    int32_t *labels;
    double *target_d, *r_last_d;
    ref_loss_spec ls;
} loss_data;

static void loss_init(loss_data *d, fx *f, int xent)
{
    const ref_spec *s = &f->s;
    size_t ny = ref_y_count(s), ns = ref_state_count(s), rows = s->T * s->N;
    d->target = fvec(ny), d->r_last = fvec(ns);
    d->labels = calloc(rows, sizeof(int32_t));
    /* MSE targets 0.5 to 1.5 away from y, so that dL/dy = 2 (y - target) / count is no
     * cancellation: its float error stays relative to the gradient the bound is scaled by. */
    double *yr = dvec(ny);
    ref_out r = {0};
    r.y = yr;
    ref_model_forward(s, &f->rp, f->xd, f->h0d, &r);
    for (size_t i = 0; i < ny; i++) {
        float off = rng_uniform(&f->rng, 0.5f, 1.5f);
        d->target[i] = (float)yr[i] + (rng_uniform(&f->rng, -1, 1) < 0 ? -off : off);
    }
    free(yr);
    rng_fill(&f->rng, d->r_last, ns, -0.5f, 0.5f);
    size_t O = s->cfg.output_size;
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = 0; t < s->T; t++) {
            size_t row = ref_y_row(s, t, n);
            d->labels[row] = (t >= ref_len(s, n) || row % 5 == 4)
                                 ? -1
                                 : (int32_t)rng_uniform(&f->rng, 0, (float)O - 0.001f);
        }
    d->target_d = to_d(d->target, ny), d->r_last_d = to_d(d->r_last, ns);
    ref_loss_spec ls = {xent, d->target_d, d->labels, d->r_last_d};
    d->ls = ls;
}

static void loss_free(loss_data *d)
{
    free(d->target), free(d->r_last), free(d->labels), free(d->target_d), free(d->r_last_d);
}

/* dL/dy (MSE) or dL/dlogits (xent) from the library's float y; padded rows get garbage,
 * which the library must ignore. */
static void loss_grad(fx *f, const loss_data *d, const float *y, float *dy)
{
    const ref_spec *s = &f->s;
    const size_t Y = ref_y_width(&s->cfg);
    if (d->ls.xent) {
        assert_int_equal(recur_loss_softmax_xent(s->T * s->N, Y, y, d->labels, NULL, dy),
                         RECUR_OK);
    } else {
        size_t count = 0;
        for (size_t n = 0; n < s->N; n++)
            count += ref_len(s, n) * Y;
        for (size_t n = 0; n < s->N; n++)
            for (size_t t = 0; t < ref_len(s, n); t++)
                for (size_t k = 0; k < Y; k++) {
                    size_t at = ref_y_off(s, t, n, k);
                    dy[at] = 2.0f * (y[at] - d->target[at]) / (float)count;
                }
    }
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = ref_len(s, n); t < s->T; t++)
            for (size_t k = 0; k < Y; k++)
                dy[ref_y_off(s, t, n, k)] = rng_uniform(&f->rng, -3, 3);
}

/* forward_train + backward with dh_last = r_last; dy_out (optional) gets the dy passed. */
static void run_backward(fx *f, const loss_data *d, const recur_backward_options *opt,
                         recur_model_tensors *g, float *dx, float *dh0, float *dy_out)
{
    const ref_spec *s = &f->s;
    size_t wsb;
    assert_int_equal(recur_model_workspace_size(f->model, s->T, s->N, &wsb), RECUR_OK);
    void *ws = malloc(wsb ? wsb : 1);
    float *y = fvec(ref_y_count(s)), *dy = fvec(ref_y_count(s));
    assert_int_equal(recur_model_forward_train(f->ctx, f->model, s->T, s->N, f->len, &f->w, f->x,
                                               f->h0, y, NULL, ws, wsb),
                     RECUR_OK);
    loss_grad(f, d, y, dy);
    if (dy_out)
        memcpy(dy_out, dy, ref_y_count(s) * sizeof(float));
    assert_int_equal(recur_model_backward(f->ctx, f->model, s->T, s->N, &f->w, f->x, ws, wsb, dy,
                                          d->r_last, opt, g, dx, dh0),
                     RECUR_OK);
    free(ws), free(y), free(dy);
}

static double fd_at(const fx *f, const loss_data *d, double *p)
{
    double keep = *p, step = 1e-6 * (fabs(keep) > 1 ? fabs(keep) : 1);
    *p = keep + step;
    double lp = ref_model_loss(&f->s, &d->ls, &f->rp, f->xd, f->h0d);
    *p = keep - step;
    double lm = ref_model_loss(&f->s, &d->ls, &f->rp, f->xd, f->h0d);
    *p = keep;
    return (lp - lm) / (2 * step);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * A clip that clamps some pre-activations while none lies within 1e-3 of +-clip (the
 * loss is not differentiable there): candidates are midpoints of wide gaps between the
 * unclipped |z|, each confirmed by a clipped reference run (clipping moves later
 * steps). Also requires |z| >= 1e-4 everywhere for relu's kink. 0 when none is found.
 */
static float pick_clip(fx *f)
{
    ref_spec s = f->s;
    size_t nzmax = s.cfg.num_layers * ref_dirs(&s.cfg) * s.T * s.N * s.cfg.hidden_size;
    double *za = dvec(nzmax);
    ref_out r = {0};
    r.zabs = za;
    s.cfg.clip = 0;
    ref_model_forward(&s, &f->rp, f->xd, f->h0d, &r);
    qsort(za, nzmax, sizeof(double), cmp_dbl);
    float best = 0;
    for (size_t i = nzmax - 1; i > nzmax / 3 && best == 0; i--) {
        if (za[i] - za[i - 1] < 4e-3 || za[i - 1] == 0)
            continue;
        float clip = (float)(0.5 * (za[i] + za[i - 1]));
        ref_out q = {0};
        s.cfg.clip = clip;
        ref_model_forward(&s, &f->rp, f->xd, f->h0d, &q);
        if (q.clamped > 0 && q.clip_gap > 1e-3 &&
            (s.cfg.hidden_act != RECUR_ACT_RELU || q.zero_gap > 1e-4))
            best = clip;
    }
    free(za);
    return best;
}

static size_t gc_clipped, gc_clip_wanted;

static void gradcheck_one(const recur_model_config *c0, shape sh, int lm, int xent,
                          uint64_t seed)
{
    recur_model_config c = *c0;
    fx f;
    /* Draw until the point is differentiable (relu kink, clip edges) with margin. */
    for (int tries = 0;; tries++) {
        fx_init(&f, &c, sh.T, sh.N, lm, seed + 104729u * (uint64_t)tries, RECUR_ISA_SCALAR);
        if (c0->clip > 0) {
            float clip = pick_clip(&f);
            if (clip > 0 || tries == 5) {
                fx_free(&f);
                c.clip = clip; /* 0 after 5 draws: counted below */
                fx_init(&f, &c, sh.T, sh.N, lm, seed + 104729u * (uint64_t)tries,
                        RECUR_ISA_SCALAR);
                break;
            }
        } else {
            ref_out q = {0};
            ref_model_forward(&f.s, &f.rp, f.xd, f.h0d, &q);
            if (c.hidden_act != RECUR_ACT_RELU || q.zero_gap > 1e-4 || tries == 5)
                break;
        }
        fx_free(&f);
    }
    gc_clip_wanted += c0->clip > 0;
    gc_clipped += c.clip > 0;

    const ref_spec *s = &f.s;
    const size_t D = ref_dirs(&c), H = c.hidden_size, O = c.output_size, Wd = ref_out_width(&c);
    const size_t Iw = c.input_size > Wd ? c.input_size : Wd;
    loss_data d;
    loss_init(&d, &f, xent);
    recur_backward_options opt = recur_backward_options_default();
    opt.dy_kind = xent ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    recur_model_tensors g = mt_alloc(&c);
    float *dx = fvec(ref_x_count(s)), *dh0 = fvec(ref_state_count(s));
    float *dy = fvec(ref_y_count(s));
    fill_sentinel(dx, ref_x_count(s));
    run_backward(&f, &d, &opt, &g, dx, dh0, dy);
    double dymax = 0; /* largest |dL/dy| (or |dL/dlogits|) on the valid rows */
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = 0; t < ref_len(s, n); t++)
            for (size_t k = 0; k < ref_y_width(&c); k++)
                dymax = fmax(dymax, fabs(dy[ref_y_off(s, t, n, k)]));
    free(dy);

    /* analytic (float) next to the double parameter that FD perturbs */
    struct { char name[24]; const float *a; double *p; size_t n; } list[MAX_TREFS + 2];
    size_t nl = 0;
    for (size_t k = 0; k < f.S; k++) {
        size_t Iin = slot_in(&f, k);
        const float *a[4] = {g.layers[k].W, g.layers[k].U, g.layers[k].b, g.layers[k].b_hh};
        double *p[4] = {f.dW[k], f.dU[k], f.db[k], f.dbhh[k]};
        size_t n[4] = {H * Iin, H * H, H, H};
        static const char *nm[4] = {"W", "U", "b", "b_hh"};
        for (int i = 0; i < (c.two_biases ? 4 : 3); i++) {
            snprintf(list[nl].name, sizeof list[nl].name, "d%s[%zu]", nm[i], k);
            list[nl].a = a[i], list[nl].p = p[i], list[nl].n = n[i], nl++;
        }
        if (c.two_biases && !bitwise_equal(g.layers[k].b, g.layers[k].b_hh, H))
            fail_msg("db and db_hh differ in slot %zu (%s)", k, cfg_str(&f));
    }
    if (O) {
        snprintf(list[nl].name, 24, "dV"), list[nl].a = g.V, list[nl].p = f.dV;
        list[nl].n = O * Wd, nl++;
        snprintf(list[nl].name, 24, "dc"), list[nl].a = g.c, list[nl].p = f.dc;
        list[nl].n = O, nl++;
    }
    snprintf(list[nl].name, 24, "dx"), list[nl].a = dx, list[nl].p = f.xd;
    list[nl].n = ref_x_count(s), nl++;
    snprintf(list[nl].name, 24, "dh0"), list[nl].a = dh0, list[nl].p = f.h0d;
    list[nl].n = ref_state_count(s), nl++;

    double *fd[MAX_TREFS + 2], gmax = 0;
    for (size_t k = 0; k < nl; k++) {
        fd[k] = dvec(list[k].n);
        for (size_t i = 0; i < list[k].n; i++) {
            fd[k][i] = fd_at(&f, &d, &list[k].p[i]);
            gmax = fmax(gmax, fabs(fd[k][i]));
        }
    }
    /*
     * Bound, as in test_gradcheck.c: every gradient entry is a float sum over at most
     * T*N rows of products, each formed through at most L layers of dot products of at
     * most Iw + D*H + O + 3 terms (layer input, recurrence and next layer's input, output
     * layer, biases), so K = L*T*N*(Iw + D*H + O + 3) roundings of eps relative to the
     * magnitude of the terms. That magnitude is the largest gradient, or, where the
     * result is a cancellation (softmax's Jacobian y_j (dy_j - y.dy) with MSE through
     * softmax), the largest dL/dy it started from: |analytic - fd| <= K * FLT_EPSILON *
     * (gmax + dymax + 1e-3). The central difference (step 1e-6, double) errs by < 1e-9,
     * and the drawn point keeps every pre-activation >= 1e-3 away from +-clip (and 1e-4
     * from relu's kink).
     */
    double K = (double)(c.num_layers * sh.T * sh.N * (Iw + D * H + O + 3));
    double tol = K * FLT_EPSILON * (gmax + dymax + 1e-3);
    for (size_t k = 0; k < nl; k++) {
        for (size_t i = 0; i < list[k].n; i++) {
            double err = fabs((double)list[k].a[i] - fd[k][i]);
            if (!(err <= tol))
                fail_msg("%s[%zu]: analytic %.9g, finite difference %.9g, |err| %.3g > tol %.3g "
                         "(%s, %s)",
                         list[k].name, i, (double)list[k].a[i], fd[k][i], err, tol,
                         xent ? "xent" : "mse", cfg_str(&f));
        }
        free(fd[k]);
    }
    /* dx rows past a sequence's length are exactly zero. */
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = ref_len(s, n); t < s->T; t++)
            for (size_t i = 0; i < c.input_size; i++)
                if (dx[ref_x_off(s, t, n) + i] != 0.0f)
                    fail_msg("dx(t%zu n%zu) = %g past length, must be 0 (%s)", t, n,
                             (double)dx[ref_x_off(s, t, n) + i], cfg_str(&f));
    mt_free(&c, &g);
    free(dx), free(dh0);
    loss_free(&d);
    fx_free(&f);
}

static const shape gc_shapes[] = {
    {1, 1, 1, 1, 2}, {3, 2, 3, 2, 3}, {5, 3, 2, 4, 2}, {4, 1, 4, 3, 4}, {2, 3, 1, 4, 3},
    {5, 2, 3, 3, 2},
};

static void test_gradcheck(void **state)
{
    const grid_point *gp = *state;
    size_t idx = 0, gi = (size_t)(gp - grid);
    gc_clipped = gc_clip_wanted = 0;
    for (size_t ok = 0; ok < 6; ok++)
        for (size_t fi = 0; fi < 4; fi++)
            for (int lm = 0; lm < 3; lm++) {
                /* layouts, clip and two biases cycle through their 16 combinations */
                size_t sec = (idx * 7 + gi * 5) % 16;
                shape sh = gc_shapes[(idx + gi) % (sizeof gc_shapes / sizeof gc_shapes[0])];
                recur_model_config c = make_cfg(gp, sh, &out_kinds[ok], hidden_acts[fi],
                                                sec & 1, (sec >> 1) & 1, 0,
                                                (sec >> 2) & 1 ? 1.0f : 0.0f, (int)(sec >> 3));
                gradcheck_one(&c, sh, lm, out_kinds[ok].xent, 9000 + idx * 31 + gi);
                c.seq_layout = RECUR_LAYOUT_TIME_MAJOR;
                c.y_dir_major = 1;
                if (ydm_allowed(&c))
                    gradcheck_one(&c, sh, lm, 0, 19000 + idx * 31 + gi);
                idx++;
            }
    /* most of the clip cases found a usable clip */
    assert_true(gc_clipped * 4 >= gc_clip_wanted * 3);
}

/* ---------------------------------------------------------------- shared by the tests below */

/* The gradients of one backward call, all tensors then dx and dh0, in one array. */
static float *flatten(const recur_model_config *c, const recur_model_tensors *g, const float *dx,
                      size_t nx, const float *dh0, size_t ns, size_t *n_out)
{
    tref l[MAX_TREFS];
    size_t nl = tensors_list(c, g, l), n = nx + ns, at = 0;
    for (size_t i = 0; i < nl; i++)
        n += l[i].n;
    float *v = fvec(n);
    for (size_t i = 0; i < nl; i++) {
        memcpy(v + at, l[i].p, l[i].n * sizeof(float));
        at += l[i].n;
    }
    memcpy(v + at, dx, nx * sizeof(float));
    memcpy(v + at + nx, dh0, ns * sizeof(float));
    *n_out = n;
    return v;
}

/* forward_train + backward with the given window and dy kind; returns the flattened
 * gradients. dy_out (optional) receives the dy that was passed. */
static float *grads_with(fx *f, const loss_data *d, size_t window, size_t *n, float *dy_out)
{
    const ref_spec *s = &f->s;
    recur_backward_options opt = recur_backward_options_default();
    opt.dy_kind = d->ls.xent ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
    opt.bptt_window = window;
    recur_model_tensors g = mt_alloc(&s->cfg);
    float *dx = fvec(ref_x_count(s)), *dh0 = fvec(ref_state_count(s));
    run_backward(f, d, &opt, &g, dx, dh0, dy_out);
    float *v = flatten(&s->cfg, &g, dx, ref_x_count(s), dh0, ref_state_count(s), n);
    free(dx), free(dh0);
    mt_free(&s->cfg, &g);
    return v;
}

static size_t max_len(const fx *f)
{
    size_t m = 0;
    for (size_t n = 0; n < f->s.N; n++)
        m = ref_len(&f->s, n) > m ? ref_len(&f->s, n) : m;
    return m;
}

/* ---------------------------------------------------------------- truncated BPTT */

typedef struct small_case {
    grid_point gp;
    int lm;
    size_t ok; /* out_kinds index */
} small_case;

static const small_case trunc_cases[] = {
    {{2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, LEN_RANDOM, 5},
    {{1, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT}, LEN_NULL, 0},
    {{3, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT}, LEN_ALL_T, 3},
    {{2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM}, LEN_RANDOM, 1},
    {{2, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT}, LEN_RANDOM, 2},
};

/* window >= T (and >= every length) is bitwise full BPTT; a shorter one changes the result. */
static void test_truncated(void **state)
{
    (void)state;
    const shape sh = {6, 3, 3, 4, 3};
    for (size_t i = 0; i < sizeof trunc_cases / sizeof trunc_cases[0]; i++) {
        const small_case *sc = &trunc_cases[i];
        recur_model_config c = make_cfg(&sc->gp, sh, &out_kinds[sc->ok], RECUR_ACT_TANH, i & 1,
                                        (i >> 1) & 1, 0, 0, (int)(i & 1));
        fx f;
        fx_init(&f, &c, sh.T, sh.N, sc->lm, 500 + i, RECUR_ISA_SCALAR);
        loss_data d;
        loss_init(&d, &f, out_kinds[sc->ok].xent);
        size_t n0, n1, ml = max_len(&f);
        float *full = grads_with(&f, &d, 0, &n0, NULL);
        size_t same[] = {sh.T, sh.T + 3, 1000, ml};
        for (size_t k = 0; k < 4; k++) {
            float *g = grads_with(&f, &d, same[k], &n1, NULL);
            assert_int_equal(n0, n1);
            if (!bitwise_equal(full, g, n0))
                fail_msg("window %zu (max length %zu) differs from full BPTT (%s)", same[k], ml,
                         cfg_str(&f));
            free(g);
        }
        for (size_t k = 1; k <= 2; k++) {
            if (k >= ml)
                continue;
            float *g = grads_with(&f, &d, k, &n1, NULL);
            if (bitwise_equal(full, g, n0))
                fail_msg("window %zu gives the full BPTT gradients (%s)", k, cfg_str(&f));
            free(g);
        }
        free(full);
        loss_free(&d);
        fx_free(&f);
    }
}

/*
 * One layer, every direction, ragged lengths, truncation windows: the model's gradients
 * equal the sums of recur_backward runs over each sequence and direction separately
 * (a reverse direction as a forward run over the sequence reversed in time, so its
 * window counts steps from t = len-1 down, "in the direction's own order").
 */
static void test_backward_by_pieces(void **state)
{
    (void)state;
    static const grid_point gps[] = {
        {1, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT}, {1, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT},
        {1, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, {1, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM}};
    const shape sh = {6, 4, 3, 4, 0};
    size_t idx = 0;
    for (size_t gi = 0; gi < 4; gi++)
        for (size_t window = 0; window <= 4; window += 2)
            for (int ydm = 0; ydm < 2; ydm++, idx++) {
                recur_model_config c = make_cfg(&gps[gi], sh, &out_kinds[0], RECUR_ACT_TANH,
                                                ydm ? 0 : (int)(idx & 1), (int)((idx >> 1) & 1),
                                                ydm, 0, 0);
                if (ydm && !ydm_allowed(&c))
                    continue;
                fx f;
                fx_init(&f, &c, sh.T, sh.N, LEN_RANDOM, 800 + idx, RECUR_ISA_SCALAR);
                const ref_spec *s = &f.s;
                const size_t D = ref_dirs(&c), H = c.hidden_size, I = c.input_size, T = sh.T;
                loss_data d;
                loss_init(&d, &f, 0);
                float *dy = fvec(ref_y_count(s));
                size_t n;
                float *model = grads_with(&f, &d, window, &n, dy);
                /* the pieces */
                recur_model_tensors gp = mt_alloc(&c);
                float *dx = fvec(ref_x_count(s)), *dh0 = fvec(ref_state_count(s));
                recur_rnn_config rc = {I, H, 0, c.hidden_act, RECUR_ACT_IDENTITY};
                recur_rnn *rnn;
                assert_int_equal(recur_rnn_create(&rnn, &rc), RECUR_OK);
                size_t wsb;
                assert_int_equal(recur_workspace_size(rnn, T, 1, &wsb), RECUR_OK);
                void *ws = malloc(wsb);
                float *xs = fvec(T * I), *ys = fvec(T * H), *dys = fvec(T * H), *dxs = fvec(T * I);
                for (size_t dd = 0; dd < D; dd++) {
                    int rev = c.direction == RECUR_DIR_REVERSE || dd == 1;
                    recur_weights w = {f.W[dd], f.U[dd], f.b[dd], NULL, NULL};
                    recur_tensors g = {gp.layers[dd].W, gp.layers[dd].U, gp.layers[dd].b, NULL,
                                       NULL};
                    for (size_t q = 0; q < s->N; q++) {
                        size_t len = ref_len(s, q);
                        for (size_t st = 0; st < len; st++) {
                            size_t t = rev ? len - 1 - st : st;
                            memcpy(xs + st * I, f.x + ref_x_off(s, t, q), I * sizeof(float));
                            for (size_t j = 0; j < H; j++) {
                                size_t k = c.merge == RECUR_MERGE_CONCAT && D == 2 ? dd * H + j : j;
                                dys[st * H + j] = dy[ref_y_off(s, t, q, k)];
                            }
                        }
                        size_t so = ref_state_off(s, dd, q);
                        assert_int_equal(recur_forward_train(f.ctx, rnn, len, 1, &w, xs,
                                                             f.h0 + so, ys, NULL, ws, wsb),
                                         RECUR_OK);
                        /* accumulate over sequences (it applies to dx and dh0 too) */
                        recur_backward_options o = {RECUR_DY_OUTPUT, window, q > 0};
                        memset(dxs, 0, T * I * sizeof(float));
                        assert_int_equal(recur_backward(f.ctx, rnn, len, 1, &w, xs, ws, wsb, dys,
                                                        d.r_last + so, &o, &g, dxs, dh0 + so),
                                         RECUR_OK);
                        for (size_t st = 0; st < len; st++) {
                            size_t t = rev ? len - 1 - st : st;
                            for (size_t i = 0; i < I; i++)
                                dx[ref_x_off(s, t, q) + i] += dxs[st * I + i];
                        }
                    }
                }
                size_t n2;
                float *pieces = flatten(&c, &gp, dx, ref_x_count(s), dh0, ref_state_count(s), &n2);
                assert_int_equal(n, n2);
                /* both are float sums of the same terms in different orders: the gradcheck
                 * bound, K = T*N*(I + D*H + 3) */
                double gmax = 0;
                for (size_t i = 0; i < n; i++)
                    gmax = fmax(gmax, fabs(pieces[i]));
                double tol = (double)(T * sh.N * (I + D * H + 3)) * FLT_EPSILON * (gmax + 1e-3);
                for (size_t i = 0; i < n; i++)
                    if (!(fabs((double)model[i] - pieces[i]) <= tol))
                        fail_msg("gradient %zu of %zu: model %.9g, pieces %.9g, tol %.3g "
                                 "(window %zu, %s)",
                                 i, n, (double)model[i], (double)pieces[i], tol, window,
                                 cfg_str(&f));
                free(model), free(pieces), free(dy), free(dx), free(dh0), free(ws);
                free(xs), free(ys), free(dys), free(dxs);
                recur_rnn_destroy(rnn);
                mt_free(&c, &gp);
                loss_free(&d);
                fx_free(&f);
            }
}

/* ---------------------------------------------------------------- accumulate */

static void test_accumulate(void **state)
{
    (void)state;
    const shape sh = {5, 3, 3, 4, 3};
    for (size_t i = 0; i < sizeof trunc_cases / sizeof trunc_cases[0]; i++) {
        const small_case *sc = &trunc_cases[i];
        recur_model_config c = make_cfg(&sc->gp, sh, &out_kinds[sc->ok], RECUR_ACT_SIGMOID,
                                        (i >> 1) & 1, i & 1, 0, 0, 1);
        fx f;
        fx_init(&f, &c, sh.T, sh.N, sc->lm, 600 + i, RECUR_ISA_SCALAR);
        const ref_spec *s = &f.s;
        loss_data d;
        loss_init(&d, &f, out_kinds[sc->ok].xent);
        size_t wsb, nx = ref_x_count(s), ns = ref_state_count(s);
        assert_int_equal(recur_model_workspace_size(f.model, s->T, s->N, &wsb), RECUR_OK);
        void *ws = malloc(wsb ? wsb : 1);
        float *y = fvec(ref_y_count(s)), *dy = fvec(ref_y_count(s));
        assert_int_equal(recur_model_forward_train(f.ctx, f.model, s->T, s->N, f.len, &f.w, f.x,
                                                   f.h0, y, NULL, ws, wsb),
                         RECUR_OK);
        loss_grad(&f, &d, y, dy);
        recur_backward_options opt = recur_backward_options_default();
        opt.dy_kind = d.ls.xent ? RECUR_DY_LOGITS : RECUR_DY_OUTPUT;
        recur_model_tensors g1 = mt_alloc(&c), g2 = mt_alloc(&c);
        float *dx1 = fvec(nx), *dh1 = fvec(ns), *dx2 = fvec(nx), *dh2 = fvec(ns);
        assert_int_equal(recur_model_backward(f.ctx, f.model, s->T, s->N, &f.w, f.x, ws, wsb, dy,
                                              d.r_last, &opt, &g1, dx1, dh1),
                         RECUR_OK);
        mt_fill(&c, &g2, &f.rng);
        rng_fill(&f.rng, dx2, nx, -1, 1);
        rng_fill(&f.rng, dh2, ns, -1, 1);
        size_t n, n2;
        float *before = flatten(&c, &g2, dx2, nx, dh2, ns, &n);
        opt.accumulate = 1;
        assert_int_equal(recur_model_backward(f.ctx, f.model, s->T, s->N, &f.w, f.x, ws, wsb, dy,
                                              d.r_last, &opt, &g2, dx2, dh2),
                         RECUR_OK);
        float *once = flatten(&c, &g1, dx1, nx, dh1, ns, &n2);
        float *after = flatten(&c, &g2, dx2, nx, dh2, ns, &n2);
        double gmax = 0;
        for (size_t k = 0; k < n; k++)
            gmax = fmax(gmax, fabs(once[k]));
        /* the gradient's own float error (gradcheck's K) plus the one addition */
        const size_t D = ref_dirs(&c), Wd = ref_out_width(&c), Iw = sh.I > Wd ? sh.I : Wd;
        double K = (double)(c.num_layers * sh.T * sh.N * (Iw + D * sh.H + c.output_size + 3));
        for (size_t k = 0; k < n; k++) {
            double want = (double)before[k] + once[k];
            double tol = K * FLT_EPSILON * (gmax + 1e-3) + FLT_EPSILON * fabs(want);
            if (!(fabs(after[k] - want) <= tol))
                fail_msg("accumulated gradient %zu of %zu: %.9g, expected %.9g + %.9g (%s)", k,
                         n, (double)after[k], (double)before[k], (double)once[k], cfg_str(&f));
        }
        free(before), free(once), free(after), free(ws), free(y), free(dy);
        free(dx1), free(dh1), free(dx2), free(dh2);
        mt_free(&c, &g1), mt_free(&c, &g2);
        loss_free(&d);
        fx_free(&f);
    }
}

/* ---------------------------------------------------------------- recur_rnn API == model L = 1 */

static void test_old_api_equal(void **state)
{
    (void)state;
    static const shape shapes[] = {{3, 2, 3, 4, 3}, {1, 1, 1, 1, 2}, {5, 3, 2, 5, 4}, {4, 5, 7, 17, 3}};
    const grid_point gp = {1, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT};
    size_t idx = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (size_t fi = 0; fi < 4; fi++)
            for (size_t ok = 0; ok < 6; ok++, idx++) {
                shape sh = shapes[si];
                recur_model_config c = make_cfg(&gp, sh, &out_kinds[ok], hidden_acts[fi], 0, 0, 0,
                                                0, 0);
                fx f;
                fx_init(&f, &c, sh.T, sh.N, LEN_NULL, 300 + idx, RECUR_ISA_SCALAR);
                const size_t T = sh.T, N = sh.N, H = sh.H, O = c.output_size;
                const size_t ny = ref_y_count(&f.s), ns = N * H, nx = ref_x_count(&f.s);
                recur_rnn_config rc = {sh.I, H, O, c.hidden_act, c.output_act};
                recur_rnn *rnn;
                assert_int_equal(recur_rnn_create(&rnn, &rc), RECUR_OK);
                recur_weights w = {f.W[0], f.U[0], f.b[0], O ? f.V : NULL, O ? f.c : NULL};
                float *y1 = fvec(ny), *y2 = fvec(ny), *h1 = fvec(ns), *h2 = fvec(ns);
                assert_int_equal(recur_forward(f.ctx, rnn, T, N, &w, f.x, f.h0, y1, h1), RECUR_OK);
                assert_int_equal(recur_model_forward(f.ctx, f.model, T, N, NULL, &f.w, f.x, f.h0,
                                                     y2, h2),
                                 RECUR_OK);
                if (!bitwise_equal(y1, y2, ny) || !bitwise_equal(h1, h2, ns))
                    fail_msg("recur_forward != recur_model_forward (%s)", cfg_str(&f));
                size_t wb1, wb2;
                assert_int_equal(recur_workspace_size(rnn, T, N, &wb1), RECUR_OK);
                assert_int_equal(recur_model_workspace_size(f.model, T, N, &wb2), RECUR_OK);
                void *ws1 = malloc(wb1), *ws2 = malloc(wb2 ? wb2 : 1);
                assert_int_equal(recur_forward_train(f.ctx, rnn, T, N, &w, f.x, f.h0, y1, h1, ws1,
                                                     wb1),
                                 RECUR_OK);
                assert_int_equal(recur_model_forward_train(f.ctx, f.model, T, N, NULL, &f.w, f.x,
                                                           f.h0, y2, h2, ws2, wb2),
                                 RECUR_OK);
                if (!bitwise_equal(y1, y2, ny) || !bitwise_equal(h1, h2, ns))
                    fail_msg("recur_forward_train != recur_model_forward_train (%s)", cfg_str(&f));
                float *dy = fvec(ny), *dhl = fvec(ns);
                rng_fill(&f.rng, dy, ny, -1, 1);
                rng_fill(&f.rng, dhl, ns, -1, 1);
                for (int acc = 0; acc < 2; acc++)
                    for (size_t window = 0; window <= 2; window += 2) {
                        recur_backward_options o = {out_kinds[ok].xent ? RECUR_DY_LOGITS
                                                                       : RECUR_DY_OUTPUT,
                                                    window, acc};
                        recur_tensors g1 = tensors_alloc(&rc);
                        recur_model_tensors g2 = mt_alloc(&c);
                        float *dx1 = fvec(nx), *dx2 = fvec(nx), *dh1 = fvec(ns), *dh2 = fvec(ns);
                        if (acc) { /* the same prior contents in both */
                            mt_fill(&c, &g2, &f.rng);
                            rng_fill(&f.rng, dx2, nx, -1, 1);
                            rng_fill(&f.rng, dh2, ns, -1, 1);
                            memcpy(g1.W, g2.layers[0].W, H * sh.I * sizeof(float));
                            memcpy(g1.U, g2.layers[0].U, H * H * sizeof(float));
                            memcpy(g1.b, g2.layers[0].b, H * sizeof(float));
                            if (O) {
                                memcpy(g1.V, g2.V, O * H * sizeof(float));
                                memcpy(g1.c, g2.c, O * sizeof(float));
                            }
                            memcpy(dx1, dx2, nx * sizeof(float));
                            memcpy(dh1, dh2, ns * sizeof(float));
                        }
                        assert_int_equal(recur_backward(f.ctx, rnn, T, N, &w, f.x, ws1, wb1, dy,
                                                        dhl, &o, &g1, dx1, dh1),
                                         RECUR_OK);
                        assert_int_equal(recur_model_backward(f.ctx, f.model, T, N, &f.w, f.x, ws2,
                                                              wb2, dy, dhl, &o, &g2, dx2, dh2),
                                         RECUR_OK);
                        int same = bitwise_equal(g1.W, g2.layers[0].W, H * sh.I) &&
                                   bitwise_equal(g1.U, g2.layers[0].U, H * H) &&
                                   bitwise_equal(g1.b, g2.layers[0].b, H) &&
                                   bitwise_equal(dx1, dx2, nx) && bitwise_equal(dh1, dh2, ns) &&
                                   (!O || (bitwise_equal(g1.V, g2.V, O * H) &&
                                           bitwise_equal(g1.c, g2.c, O)));
                        if (!same)
                            fail_msg("recur_backward != recur_model_backward (window %zu, "
                                     "accumulate %d, %s)",
                                     window, acc, cfg_str(&f));
                        tensors_free(&g1);
                        mt_free(&c, &g2);
                        free(dx1), free(dx2), free(dh1), free(dh2);
                    }
                free(y1), free(y2), free(h1), free(h2), free(ws1), free(ws2), free(dy), free(dhl);
                recur_rnn_destroy(rnn);
                fx_free(&f);
            }
}

/* ---------------------------------------------------------------- composition */

/* recur_forward over one sequence (N = 1, T = len) in time order or reversed. */
static void run_piece(fx *f, recur_rnn *rnn, size_t slot, size_t len, size_t Iin,
                      const float *in, int rev, const float *h0, float *out, float *h_last,
                      size_t Hout)
{
    float *xs = fvec(len * Iin), *ys = fvec(len * Hout);
    for (size_t st = 0; st < len; st++)
        memcpy(xs + st * Iin, in + (rev ? len - 1 - st : st) * Iin, Iin * sizeof(float));
    recur_weights w = {f->W[slot], f->U[slot], f->b[slot], NULL, NULL};
    assert_int_equal(recur_forward(f->ctx, rnn, len, 1, &w, xs, h0, ys, h_last), RECUR_OK);
    for (size_t st = 0; st < len; st++)
        memcpy(out + (rev ? len - 1 - st : st) * Hout, ys + st * Hout, Hout * sizeof(float));
    free(xs), free(ys);
}

/*
 * A 2-layer bidirectional CONCAT model with lengths, by hand from recur_forward calls:
 * each sequence alone (T = len, N = 1), the reverse direction on a reversed copy whose
 * output is reversed back, the two concatenated as layer 1's input; an output layer as
 * a recur_forward with W = V, U = 0, b = c and f = g. Model and pieces are both float
 * evaluations of the same model, so they agree within twice the reference's bound.
 */
static void compose_check(recur_isa isa)
{
    const grid_point gp = {2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT};
    const shape sh = {7, 4, 3, 5, 3};
    size_t idx = 0;
    for (size_t fi = 0; fi < 4; fi++)
        for (size_t oi = 0; oi < 3; oi++, idx++) {
            static const size_t oks[] = {0, 3, 2}; /* O = 0, g = tanh, g = sigmoid */
            recur_model_config c = make_cfg(&gp, sh, &out_kinds[oks[oi]], hidden_acts[fi],
                                            (int)(idx & 1), (int)((idx >> 1) & 1), 0, 0, 0);
            fx f;
            fx_init(&f, &c, sh.T, sh.N, idx % 3 == 2 ? LEN_ALL_T : LEN_RANDOM, 400 + idx, isa);
            const ref_spec *s = &f.s;
            const size_t H = sh.H, I = sh.I, O = c.output_size, Y = ref_y_width(&c);
            const size_t ny = ref_y_count(s), ns = ref_state_count(s);
            float *y = fvec(ny), *hl = fvec(ns), *yc = fvec(ny), *hlc = fvec(ns);
            assert_int_equal(recur_model_forward(f.ctx, f.model, sh.T, sh.N, f.len, &f.w, f.x,
                                                 f.h0, y, hl),
                             RECUR_OK);
            recur_rnn *r0, *r1, *ro = NULL;
            recur_rnn_config c0 = {I, H, 0, c.hidden_act, RECUR_ACT_IDENTITY};
            recur_rnn_config c1 = {2 * H, H, 0, c.hidden_act, RECUR_ACT_IDENTITY};
            recur_rnn_config co = {2 * H, O ? O : 1, 0, c.output_act, RECUR_ACT_IDENTITY};
            assert_int_equal(recur_rnn_create(&r0, &c0), RECUR_OK);
            assert_int_equal(recur_rnn_create(&r1, &c1), RECUR_OK);
            assert_int_equal(recur_rnn_create(&ro, &co), RECUR_OK);
            float *in = fvec(sh.T * 2 * H), *out = fvec(sh.T * 2 * H), *part = fvec(sh.T * H);
            float *zeroU = fvec(O * O + 1);
            for (size_t n = 0; n < sh.N; n++) {
                size_t len = ref_len(s, n), Iin = I;
                for (size_t t = 0; t < len; t++)
                    memcpy(in + t * I, f.x + ref_x_off(s, t, n), I * sizeof(float));
                for (size_t l = 0; l < 2; l++) {
                    for (size_t d = 0; d < 2; d++) {
                        size_t slot = l * 2 + d, so = ref_state_off(s, slot, n);
                        run_piece(&f, l ? r1 : r0, slot, len, Iin, in, (int)d, f.h0 + so, part,
                                  hlc + so, H);
                        for (size_t t = 0; t < len; t++)
                            memcpy(out + t * 2 * H + d * H, part + t * H, H * sizeof(float));
                    }
                    memcpy(in, out, len * 2 * H * sizeof(float));
                    Iin = 2 * H;
                }
                if (O) { /* g(V x + c) as a recurrence with U = 0 */
                    recur_weights wo = {f.V, zeroU, f.c, NULL, NULL};
                    assert_int_equal(recur_forward(f.ctx, ro, len, 1, &wo, in, NULL, out, NULL),
                                     RECUR_OK);
                }
                for (size_t t = 0; t < len; t++)
                    for (size_t k = 0; k < Y; k++)
                        yc[ref_y_off(s, t, n, k)] = O ? out[t * O + k] : in[t * 2 * H + k];
            }
            double *yr = dvec(ny), *ye = dvec(ny), *hr = dvec(ns), *he = dvec(ns);
            ref_out r = {0};
            r.y = yr, r.y_err = ye, r.h_last = hr, r.h_last_err = he;
            ref_model_forward(s, &f.rp, f.xd, f.h0d, &r);
            for (size_t i = 0; i < ny; i++)
                if (!(fabs((double)y[i] - yc[i]) <= 2 * ye[i]))
                    fail_msg("%s: y[%zu] model %.9g, by pieces %.9g, bound %.3g (%s)",
                             recur_isa_name(isa), i, (double)y[i], (double)yc[i], 2 * ye[i],
                             cfg_str(&f));
            for (size_t i = 0; i < ns; i++)
                if (!(fabs((double)hl[i] - hlc[i]) <= 2 * he[i]))
                    fail_msg("%s: h_last[%zu] model %.9g, by pieces %.9g, bound %.3g (%s)",
                             recur_isa_name(isa), i, (double)hl[i], (double)hlc[i], 2 * he[i],
                             cfg_str(&f));
            free(yr), free(ye), free(hr), free(he), free(in), free(out), free(part), free(zeroU);
            free(y), free(hl), free(yc), free(hlc);
            recur_rnn_destroy(r0), recur_rnn_destroy(r1), recur_rnn_destroy(ro);
            fx_free(&f);
        }
}

static void test_composition_scalar(void **state)
{
    (void)state;
    compose_check(RECUR_ISA_SCALAR);
}

static void test_composition_best_isa(void **state)
{
    (void)state;
    compose_check(recur_isa_best());
}

/* ---------------------------------------------------------------- clipping, SGD */

static const small_case opt_cases[] = {
    {{2, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_CONCAT}, LEN_NULL, 1},
    {{1, RECUR_DIR_REVERSE, RECUR_MERGE_CONCAT}, LEN_NULL, 0},
    {{3, RECUR_DIR_BIDIRECTIONAL, RECUR_MERGE_SUM}, LEN_NULL, 4},
    {{2, RECUR_DIR_FORWARD, RECUR_MERGE_CONCAT}, LEN_NULL, 0},
};

static double list_norm(const tref *l, size_t nl)
{
    double s = 0;
    for (size_t i = 0; i < nl; i++)
        for (size_t k = 0; k < l[i].n; k++)
            s += (double)l[i].p[k] * l[i].p[k];
    return sqrt(s);
}

static void test_clip_grad_norm(void **state)
{
    (void)state;
    const shape sh = {2, 2, 3, 4, 3};
    for (size_t i = 0; i < sizeof opt_cases / sizeof opt_cases[0]; i++) {
        recur_model_config c = make_cfg(&opt_cases[i].gp, sh, &out_kinds[opt_cases[i].ok],
                                        RECUR_ACT_TANH, 0, 0, 0, 0, (int)(i % 2 == 0));
        recur_model *m;
        assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
        test_rng r;
        rng_seed(&r, 50 + i);
        recur_model_tensors g = mt_alloc(&c), g0 = mt_alloc(&c);
        mt_fill(&c, &g0, &r);
        tref l[MAX_TREFS], l0[MAX_TREFS];
        size_t nl = tensors_list(&c, &g, l);
        tensors_list(&c, &g0, l0);
        double norm = list_norm(l0, nl);
        const float maxes[] = {0.0f, (float)(2 * norm), (float)(0.5 * norm)};
        for (int k = 0; k < 3; k++) {
            mt_copy(&c, &g, &g0);
            float nb = -1;
            assert_int_equal(recur_model_clip_grad_norm(m, &g, maxes[k], &nb), RECUR_OK);
            if (!(fabs(nb - norm) <= 2 * 0x1p-24 * norm))
                fail_msg("norm_before %.9g, expected %.9g (every tensor, b_hh included: %d)",
                         (double)nb, norm, c.two_biases);
            double scale = k == 2 ? (double)maxes[k] / norm : 1.0;
            for (size_t t = 0; t < nl; t++)
                for (size_t e = 0; e < l[t].n; e++) {
                    double want = l0[t].p[e] * scale;
                    if (k < 2 ? l[t].p[e] != l0[t].p[e]
                              : !(fabs(l[t].p[e] - want) <= 4 * 0x1p-24 * fabs(want) + 1e-30))
                        fail_msg("clip (max %g): %s[%zu] = %.9g, expected %.9g", (double)maxes[k],
                                 l[t].name, e, (double)l[t].p[e], want);
                }
        }
        assert_int_equal(recur_model_clip_grad_norm(m, &g, 1.0f, NULL), RECUR_OK);
        mt_free(&c, &g), mt_free(&c, &g0);
        recur_model_destroy(m);
    }
}

static void test_sgd_update(void **state)
{
    (void)state;
    const shape sh = {2, 2, 3, 4, 3};
    const double u = 0x1p-24;
    for (size_t i = 0; i < sizeof opt_cases / sizeof opt_cases[0]; i++)
        for (int with_momentum = 0; with_momentum < 2; with_momentum++) {
            recur_model_config c = make_cfg(&opt_cases[i].gp, sh, &out_kinds[opt_cases[i].ok],
                                            RECUR_ACT_TANH, 0, 0, 0, 0, (int)(i % 2 == 0));
            recur_model *m;
            assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
            test_rng r;
            rng_seed(&r, 60 + i);
            recur_model_tensors p = mt_alloc(&c), g = mt_alloc(&c), v = mt_alloc(&c);
            recur_model_tensors p0 = mt_alloc(&c), g0 = mt_alloc(&c), v0 = mt_alloc(&c);
            mt_fill(&c, &p0, &r), mt_fill(&c, &g0, &r), mt_fill(&c, &v0, &r);
            mt_copy(&c, &p, &p0), mt_copy(&c, &g, &g0), mt_copy(&c, &v, &v0);
            recur_sgd_options o = {0.1f, with_momentum ? 0.9f : 0.0f, 0.01f};
            assert_int_equal(recur_model_sgd_update(m, &p, &g, &o, with_momentum ? &v : NULL),
                             RECUR_OK);
            tref lp[MAX_TREFS], lg[MAX_TREFS], lv[MAX_TREFS], lp0[MAX_TREFS], lg0[MAX_TREFS],
                lv0[MAX_TREFS];
            size_t nl = tensors_list(&c, &p, lp);
            tensors_list(&c, &g, lg), tensors_list(&c, &v, lv);
            tensors_list(&c, &p0, lp0), tensors_list(&c, &g0, lg0), tensors_list(&c, &v0, lv0);
            const double lr = o.learning_rate, mom = o.momentum, wd = o.weight_decay;
            for (size_t t = 0; t < nl; t++)
                for (size_t e = 0; e < lp[t].n; e++) {
                    double P = lp0[t].p[e], G = lg0[t].p[e], Vv = with_momentum ? lv0[t].p[e] : 0;
                    double gp = G + wd * P, vn = mom * Vv + gp, pn = P - lr * vn;
                    double ev = 3 * u * (mom * fabs(Vv) + fabs(G) + wd * fabs(P)) + 1e-30;
                    double ep = 4 * u * (fabs(P) + lr * (fabs(G) + wd * fabs(P) + mom * fabs(Vv))) +
                                1e-30;
                    if (!(fabs(lp[t].p[e] - pn) <= ep))
                        fail_msg("sgd: %s[%zu] = %.9g, expected %.9g (momentum %d)", lp[t].name, e,
                                 (double)lp[t].p[e], pn, with_momentum);
                    if (with_momentum && !(fabs(lv[t].p[e] - vn) <= ev))
                        fail_msg("sgd: velocity %s[%zu] = %.9g, expected %.9g", lv[t].name, e,
                                 (double)lv[t].p[e], vn);
                    if (lg[t].p[e] != lg0[t].p[e])
                        fail_msg("sgd modified the gradient %s[%zu]", lg[t].name, e);
                }
            mt_free(&c, &p), mt_free(&c, &g), mt_free(&c, &v);
            mt_free(&c, &p0), mt_free(&c, &g0), mt_free(&c, &v0);
            recur_model_destroy(m);
        }
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    static char names[2 * NGRID][64];
    struct CMUnitTest tests[2 * NGRID + 16];
    size_t nt = 0;
    static const char *dir[] = {"fwd", "rev", "bidir"};
    for (size_t i = 0; i < NGRID; i++) {
        const grid_point *gp = &grid[i];
        const char *m = gp->dir == RECUR_DIR_BIDIRECTIONAL ? (gp->merge ? "_sum" : "_concat") : "";
        snprintf(names[i], 64, "forward_L%zu_%s%s", gp->L, dir[gp->dir], m);
        snprintf(names[NGRID + i], 64, "gradcheck_L%zu_%s%s", gp->L, dir[gp->dir], m);
        struct CMUnitTest a = {names[i], test_forward, NULL, NULL, &grid[i]};
        struct CMUnitTest b = {names[NGRID + i], test_gradcheck, NULL, NULL, &grid[i]};
        tests[i] = a;
        tests[NGRID + i] = b;
    }
    nt = 2 * NGRID;
    const struct CMUnitTest more[] = {
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_backward_by_pieces),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_old_api_equal),
        cmocka_unit_test(test_composition_scalar),
        cmocka_unit_test(test_composition_best_isa),
        cmocka_unit_test(test_clip_grad_norm),
        cmocka_unit_test(test_sgd_update),
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        tests[nt++] = more[i];
    return _cmocka_run_group_tests("model", tests, nt, NULL, NULL);
}
