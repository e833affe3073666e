#define _POSIX_C_SOURCE 200809L
/*
 * The recur_model_* entry points, each kind of bad argument: the documented status
 * comes back and every output still holds its sentinel (nothing was written).
 *
 * The fixture is a 2-layer bidirectional CONCAT model with two biases and an output
 * layer (the case with the most pointers to check), run on per-sequence lengths.
 * Weight arrays are plain pointers, so a wrong weight size cannot be expressed and
 * is not tested; every pointer the API requires is.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_util.h"

enum { T = 3, N = 2, I = 4, H = 5, O = 3, L = 2, D = 2, LD = L * D, OUT = D * H };

/* Element counts of the fixture's tensors. */
#define NX (T * N * I)
#define NY (T * N * O)
#define NS (LD * N * H)

/* One model's parameters (or gradients, velocity): L*D layers, V, c. */
typedef struct mtensors {
    recur_layer_tensors lt[LD];
    recur_model_tensors t;
    size_t win[LD]; /* input width of each layer's W */
    int two, has_out;
} mtensors;

static size_t layer_in(size_t l)
{
    return l == 0 ? I : OUT;
}

static void mt_alloc(mtensors *m, test_rng *r, int two, int has_out)
{
    memset(m, 0, sizeof *m);
    m->two = two;
    m->has_out = has_out;
    for (size_t k = 0; k < LD; k++) {
        m->win[k] = layer_in(k / D);
        m->lt[k].W = fvec(H * m->win[k]);
        m->lt[k].U = fvec(H * H);
        m->lt[k].b = fvec(H);
        m->lt[k].b_hh = two ? fvec(H) : NULL;
        if (r) {
            rng_fill(r, m->lt[k].W, H * m->win[k], -0.4f, 0.4f);
            rng_fill(r, m->lt[k].U, H * H, -0.4f, 0.4f);
            rng_fill(r, m->lt[k].b, H, -0.4f, 0.4f);
            if (two)
                rng_fill(r, m->lt[k].b_hh, H, -0.4f, 0.4f);
        }
    }
    m->t.layers = m->lt;
    if (has_out) {
        m->t.V = fvec(O * OUT);
        m->t.c = fvec(O);
        if (r) {
            rng_fill(r, m->t.V, O * OUT, -0.4f, 0.4f);
            rng_fill(r, m->t.c, O, -0.4f, 0.4f);
        }
    }
}

static void mt_free(mtensors *m)
{
    for (size_t k = 0; k < LD; k++) {
        free(m->lt[k].W);
        free(m->lt[k].U);
        free(m->lt[k].b);
        free(m->lt[k].b_hh);
    }
    free(m->t.V);
    free(m->t.c);
}

static void mt_sentinel(mtensors *m)
{
    for (size_t k = 0; k < LD; k++) {
        fill_sentinel(m->lt[k].W, H * m->win[k]);
        fill_sentinel(m->lt[k].U, H * H);
        fill_sentinel(m->lt[k].b, H);
        if (m->two)
            fill_sentinel(m->lt[k].b_hh, H);
    }
    if (m->has_out) {
        fill_sentinel(m->t.V, O * OUT);
        fill_sentinel(m->t.c, O);
    }
}

static int mt_all_sentinel(const mtensors *m)
{
    for (size_t k = 0; k < LD; k++) {
        if (!all_sentinel(m->lt[k].W, H * m->win[k]) || !all_sentinel(m->lt[k].U, H * H) ||
            !all_sentinel(m->lt[k].b, H) || (m->two && !all_sentinel(m->lt[k].b_hh, H)))
            return 0;
    }
    return !m->has_out || (all_sentinel(m->t.V, O * OUT) && all_sentinel(m->t.c, O));
}

/* A copy of every tensor of m into one flat array (for "unchanged" checks). */
static size_t mt_count(const mtensors *m)
{
    size_t n = 0;
    for (size_t k = 0; k < LD; k++)
        n += H * m->win[k] + H * H + H + (m->two ? H : 0);
    return n + (m->has_out ? O * OUT + O : 0);
}

static float *mt_flat(const mtensors *m)
{
    float *f = fvec(mt_count(m)), *p = f;
    for (size_t k = 0; k < LD; k++) {
        memcpy(p, m->lt[k].W, H * m->win[k] * sizeof(float)), p += H * m->win[k];
        memcpy(p, m->lt[k].U, H * H * sizeof(float)), p += H * H;
        memcpy(p, m->lt[k].b, H * sizeof(float)), p += H;
        if (m->two)
            memcpy(p, m->lt[k].b_hh, H * sizeof(float)), p += H;
    }
    if (m->has_out) {
        memcpy(p, m->t.V, O * OUT * sizeof(float)), p += O * OUT;
        memcpy(p, m->t.c, O * sizeof(float));
    }
    return f;
}

static int mt_equals_flat(const mtensors *m, const float *flat)
{
    float *now = mt_flat(m);
    int same = memcmp(now, flat, mt_count(m) * sizeof(float)) == 0;
    free(now);
    return same;
}

/* Read-only view of m's tensors. */
typedef struct mweights {
    recur_layer_weights lw[LD];
    recur_model_weights w;
} mweights;

static void mw_from(mweights *v, const mtensors *m)
{
    for (size_t k = 0; k < LD; k++) {
        v->lw[k].W = m->lt[k].W;
        v->lw[k].U = m->lt[k].U;
        v->lw[k].b = m->lt[k].b;
        v->lw[k].b_hh = m->lt[k].b_hh;
    }
    v->w.layers = v->lw;
    v->w.V = m->t.V;
    v->w.c = m->t.c;
}

static recur_model_config base_config(void)
{
    recur_model_config c = recur_model_config_default(I, H);
    c.output_size = O;
    c.num_layers = L;
    c.direction = RECUR_DIR_BIDIRECTIONAL;
    c.merge = RECUR_MERGE_CONCAT;
    c.hidden_act = RECUR_ACT_TANH;
    c.output_act = RECUR_ACT_SOFTMAX;
    c.clip = 0;
    c.two_biases = 1;
    return c;
}

typedef struct fixture {
    recur_model_config cfg;
    recur_model *model;
    recur_context *ctx;
    mtensors p, g;
    mweights w;
    int32_t len[N];
    float x[NX], h0[NS], y[NY], hl[NS];
    float dy[NY], dhl[NS], dx[NX], dh0[NS];
    void *ws;
    size_t wsb;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    test_rng r;
    rng_seed(&r, 11);
    f->cfg = base_config();
    assert_int_equal(recur_model_create(&f->model, &f->cfg), RECUR_OK);
    assert_int_equal(recur_context_create(&f->ctx), RECUR_OK);
    mt_alloc(&f->p, &r, 1, 1);
    mt_alloc(&f->g, NULL, 1, 1);
    mw_from(&f->w, &f->p);
    f->len[0] = T;
    f->len[1] = T - 1;
    rng_fill(&r, f->x, NX, -1, 1);
    rng_fill(&r, f->h0, NS, -1, 1);
    rng_fill(&r, f->dy, NY, -1, 1);
    rng_fill(&r, f->dhl, NS, -1, 1);
    assert_int_equal(recur_model_workspace_size(f->model, T, N, &f->wsb), RECUR_OK);
    assert_true(f->wsb > 0);
    f->ws = malloc(f->wsb);
    assert_int_equal(recur_model_forward_train(f->ctx, f->model, T, N, f->len, &f->w.w, f->x,
                                               f->h0, f->y, f->hl, f->ws, f->wsb),
                     RECUR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mt_free(&f->p);
    mt_free(&f->g);
    free(f->ws);
    recur_context_destroy(f->ctx);
    recur_model_destroy(f->model);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ descriptor */

static void expect_create(const recur_model_config *c, recur_status want)
{
    recur_model *keep = (recur_model *)(uintptr_t)0x77;
    assert_int_equal(recur_model_create(&keep, c), want);
    assert_ptr_equal(keep, (recur_model *)(uintptr_t)0x77);
}

static void model_create_errors(void **state)
{
    (void)state;
    recur_model_config ok = base_config(), c;
    recur_model *m;
    /* The base configuration and the default one are valid. */
    assert_int_equal(recur_model_create(&m, &ok), RECUR_OK);
    recur_model_destroy(m);
    c = recur_model_config_default(3, 7);
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    recur_model_destroy(m);
    recur_model_destroy(NULL);

    recur_model *keep = (recur_model *)(uintptr_t)0x77;
    assert_int_equal(recur_model_create(NULL, &ok), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_model_create(&keep, NULL), RECUR_ERR_NULL_POINTER);
    assert_ptr_equal(keep, (recur_model *)(uintptr_t)0x77);

    c = ok; c.input_size = 0;
    expect_create(&c, RECUR_ERR_INVALID_SIZE);
    c = ok; c.hidden_size = 0;
    expect_create(&c, RECUR_ERR_INVALID_SIZE);
    c = ok; c.num_layers = 0;
    expect_create(&c, RECUR_ERR_INVALID_SIZE);

    /* Enums. */
    c = ok; c.direction = (recur_direction)3;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.direction = (recur_direction)-1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.merge = (recur_merge)2;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.merge = (recur_merge)-1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.seq_layout = (recur_layout)2;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.seq_layout = (recur_layout)-1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.state_layout = (recur_layout)2;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.state_layout = (recur_layout)99;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.hidden_act = RECUR_ACT_SOFTMAX; /* output layer only */
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.hidden_act = (recur_activation)17;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.hidden_act = (recur_activation)-1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_act = RECUR_ACT_RELU; /* O > 0: g must be identity/softmax/sigmoid/tanh */
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_act = (recur_activation)9;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);

    /* Clip: negative or not finite. */
    const float bad_clip[] = {-1.0f, -1e-30f, -INFINITY, INFINITY, NAN};
    for (size_t i = 0; i < sizeof bad_clip / sizeof bad_clip[0]; i++) {
        c = ok; c.clip = bad_clip[i];
        expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    }
    c = ok; c.clip = 0.5f; /* and a valid one */
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    recur_model_destroy(m);

    /* Flags other than 0/1. */
    c = ok; c.two_biases = 2;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.two_biases = -1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_size = 0; c.y_dir_major = 2;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_size = 0; c.y_dir_major = -1;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);

    /* y_dir_major: valid time-major bidirectional CONCAT without output layer... */
    c = ok; c.output_size = 0; c.y_dir_major = 1;
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    recur_model_destroy(m);
    /* ...not with batch-first x/y, nor with SUM. */
    c = ok; c.output_size = 0; c.y_dir_major = 1; c.seq_layout = RECUR_LAYOUT_BATCH_FIRST;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);
    c = ok; c.output_size = 0; c.y_dir_major = 1; c.merge = RECUR_MERGE_SUM;
    expect_create(&c, RECUR_ERR_INVALID_ARGUMENT);

    /* Sizes whose products overflow. */
    c = ok; c.hidden_size = SIZE_MAX / 2;
    expect_create(&c, RECUR_ERR_SIZE_OVERFLOW);
    c = ok; c.hidden_size = (size_t)1 << (sizeof(size_t) * 4); /* H*H overflows */
    expect_create(&c, RECUR_ERR_SIZE_OVERFLOW);
    c = ok; c.input_size = SIZE_MAX / 3;
    expect_create(&c, RECUR_ERR_SIZE_OVERFLOW);
    c = ok; c.output_size = SIZE_MAX / 3;
    expect_create(&c, RECUR_ERR_SIZE_OVERFLOW);
    c = ok; c.num_layers = SIZE_MAX / 2;
    expect_create(&c, RECUR_ERR_SIZE_OVERFLOW);

    /* Queries. */
    recur_model_config out;
    memset(&out, 0x5C, sizeof out);
    recur_model_config keep_out = out;
    assert_int_equal(recur_model_get_config(NULL, &out), RECUR_ERR_NULL_POINTER);
    assert_memory_equal(&out, &keep_out, sizeof out);
    assert_int_equal(recur_model_create(&m, &ok), RECUR_OK);
    assert_int_equal(recur_model_get_config(m, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_model_get_config(m, &out), RECUR_OK);
    assert_int_equal(out.num_layers, L);
    assert_int_equal(out.two_biases, 1);
    assert_int_equal(recur_model_directions(m), D);
    assert_int_equal(recur_model_layer_input_size(m, 0), I);
    assert_int_equal(recur_model_layer_input_size(m, 1), OUT);
    assert_int_equal(recur_model_output_width(m), OUT);
    /* The configuration comes back as given. */
    assert_int_equal(out.input_size, ok.input_size);
    assert_int_equal(out.hidden_size, ok.hidden_size);
    assert_int_equal(out.output_size, ok.output_size);
    assert_int_equal(out.direction, ok.direction);
    assert_int_equal(out.merge, ok.merge);
    assert_int_equal(out.hidden_act, ok.hidden_act);
    assert_int_equal(out.output_act, ok.output_act);
    assert_int_equal(out.seq_layout, ok.seq_layout);
    assert_int_equal(out.state_layout, ok.state_layout);
    assert_int_equal(out.y_dir_major, ok.y_dir_major);
    assert_true(out.clip == ok.clip);
    /* The size queries answer 0 for NULL and for a layer past the last (no crash). */
    assert_int_equal(recur_model_layer_input_size(m, L), 0);
    assert_int_equal(recur_model_directions(NULL), 0);
    assert_int_equal(recur_model_layer_input_size(NULL, 0), 0);
    assert_int_equal(recur_model_output_width(NULL), 0);
    recur_model_destroy(m);
}

/* ------------------------------------------------------------------ forward */

/* recur_model_forward and recur_model_forward_train with the given arguments on
 * sentinel outputs (y, h_last, a fresh workspace); expects want and no write. */
static void expect_forward(fixture *f, recur_context *ctx, const recur_model *model, size_t t,
                           size_t n, const int32_t *len, const recur_model_weights *w,
                           const float *x, float *y, recur_status want)
{
    fill_sentinel(f->y, NY);
    fill_sentinel(f->hl, NS);
    assert_int_equal(recur_model_forward(ctx, model, t, n, len, w, x, f->h0, y, f->hl), want);
    assert_true(all_sentinel(f->y, NY));
    assert_true(all_sentinel(f->hl, NS));
    unsigned char *ws = malloc(f->wsb);
    memset(ws, 0xAB, f->wsb);
    assert_int_equal(recur_model_forward_train(ctx, model, t, n, len, w, x, f->h0, y, f->hl, ws,
                                               f->wsb),
                     want);
    assert_true(all_sentinel(f->y, NY));
    assert_true(all_sentinel(f->hl, NS));
    for (size_t i = 0; i < f->wsb; i++)
        assert_int_equal(ws[i], 0xAB);
    free(ws);
}

static void forward_null_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    recur_context *ctx = f->ctx;
    const recur_model_weights *W = &f->w.w;
    const recur_status NP = RECUR_ERR_NULL_POINTER;

    expect_forward(f, NULL, m, T, N, f->len, W, f->x, f->y, NP);
    expect_forward(f, ctx, NULL, T, N, f->len, W, f->x, f->y, NP);
    expect_forward(f, ctx, m, T, N, f->len, NULL, f->x, f->y, NP);
    expect_forward(f, ctx, m, T, N, f->len, W, NULL, f->y, NP);
    expect_forward(f, ctx, m, T, N, f->len, W, f->x, NULL, NP);

    recur_model_weights w = *W;
    w.layers = NULL;
    expect_forward(f, ctx, m, T, N, f->len, &w, f->x, f->y, NP);
    w = *W; w.V = NULL; /* O > 0 needs V and c */
    expect_forward(f, ctx, m, T, N, f->len, &w, f->x, f->y, NP);
    w = *W; w.c = NULL;
    expect_forward(f, ctx, m, T, N, f->len, &w, f->x, f->y, NP);

    /* Each layer and direction's W, U, b, b_hh (two_biases) in turn. */
    for (size_t k = 0; k < LD; k++)
        for (int which = 0; which < 4; which++) {
            recur_layer_weights lw[LD];
            memcpy(lw, f->w.lw, sizeof lw);
            switch (which) {
            case 0: lw[k].W = NULL; break;
            case 1: lw[k].U = NULL; break;
            case 2: lw[k].b = NULL; break;
            default: lw[k].b_hh = NULL; break;
            }
            w = *W;
            w.layers = lw;
            expect_forward(f, ctx, m, T, N, f->len, &w, f->x, f->y, NP);
        }
}

static void forward_size_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    recur_context *ctx = f->ctx;
    const recur_model_weights *W = &f->w.w;

    expect_forward(f, ctx, m, 0, N, f->len, W, f->x, f->y, RECUR_ERR_INVALID_SIZE);
    expect_forward(f, ctx, m, T, 0, f->len, W, f->x, f->y, RECUR_ERR_INVALID_SIZE);
    expect_forward(f, ctx, m, 0, N, NULL, W, f->x, f->y, RECUR_ERR_INVALID_SIZE);
    expect_forward(f, ctx, m, T, 0, NULL, W, f->x, f->y, RECUR_ERR_INVALID_SIZE);
    /* T*N overflows; T*N*I*4 bytes overflows; T*N*(L*D*H) (the saved states) overflows. */
    expect_forward(f, ctx, m, SIZE_MAX / 2, 3, NULL, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);
    expect_forward(f, ctx, m, SIZE_MAX / 8, 1, NULL, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);
    expect_forward(f, ctx, m, 3, SIZE_MAX / 8, NULL, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);
    expect_forward(f, ctx, m, SIZE_MAX, 1, NULL, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);
    expect_forward(f, ctx, m, 1, SIZE_MAX, NULL, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);
    /* ... also with valid lengths (they are <= T). */
    int32_t ones[N] = {1, 1};
    expect_forward(f, ctx, m, SIZE_MAX / 2, N, ones, W, f->x, f->y, RECUR_ERR_SIZE_OVERFLOW);

    /* Lengths outside [1, T], in either position of the batch. */
    const int32_t bad[] = {0, -1, T + 1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (size_t pos = 0; pos < N; pos++) {
            int32_t len[N] = {T, 1};
            len[pos] = bad[i];
            expect_forward(f, ctx, m, T, N, len, W, f->x, f->y, RECUR_ERR_INVALID_ARGUMENT);
        }
    /* A length valid for a longer call is rejected for a shorter one. */
    int32_t len3[N] = {1, T};
    expect_forward(f, ctx, m, T - 1, N, len3, W, f->x, f->y, RECUR_ERR_INVALID_ARGUMENT);

    /* recur_model_workspace_size */
    size_t bytes = 77;
    assert_int_equal(recur_model_workspace_size(NULL, T, N, &bytes), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_model_workspace_size(m, T, N, NULL), RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_model_workspace_size(m, 0, N, &bytes), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_model_workspace_size(m, T, 0, &bytes), RECUR_ERR_INVALID_SIZE);
    assert_int_equal(recur_model_workspace_size(m, SIZE_MAX / 2, 3, &bytes),
                     RECUR_ERR_SIZE_OVERFLOW);
    assert_int_equal(recur_model_workspace_size(m, SIZE_MAX / 8, 2, &bytes),
                     RECUR_ERR_SIZE_OVERFLOW);
    assert_int_equal(recur_model_workspace_size(m, SIZE_MAX / 64, 1, &bytes),
                     RECUR_ERR_SIZE_OVERFLOW); /* T*N*L*D*H*4 bytes of states */
    assert_int_equal(recur_model_workspace_size(m, SIZE_MAX, 1, &bytes), RECUR_ERR_SIZE_OVERFLOW);
    assert_int_equal(recur_model_workspace_size(m, 1, SIZE_MAX, &bytes), RECUR_ERR_SIZE_OVERFLOW);
    assert_int_equal(bytes, 77);
}

static void forward_workspace_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    const recur_model_weights *W = &f->w.w;
    unsigned char *ws = malloc(f->wsb + 8);

    fill_sentinel(f->y, NY);
    fill_sentinel(f->hl, NS);
    memset(ws, 0xAB, f->wsb + 8);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, NULL, f->wsb),
                     RECUR_ERR_NULL_POINTER);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, ws, f->wsb - 1),
                     RECUR_ERR_WORKSPACE_TOO_SMALL);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, ws, 0),
                     RECUR_ERR_WORKSPACE_TOO_SMALL);
    /* Workspace for fewer steps or a smaller batch. */
    size_t small;
    assert_int_equal(recur_model_workspace_size(m, T - 1, N, &small), RECUR_OK);
    assert_true(small < f->wsb);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, ws, small),
                     RECUR_ERR_WORKSPACE_TOO_SMALL);
    assert_int_equal(recur_model_workspace_size(m, T, N - 1, &small), RECUR_OK);
    assert_true(small < f->wsb);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, ws, small),
                     RECUR_ERR_WORKSPACE_TOO_SMALL);
    /* Not float-aligned (as recur_forward_train). */
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, W, f->x, f->h0, f->y,
                                               f->hl, ws + 1, f->wsb),
                     RECUR_ERR_INVALID_ARGUMENT);
    assert_true(all_sentinel(f->y, NY));
    assert_true(all_sentinel(f->hl, NS));
    for (size_t i = 0; i < f->wsb + 8; i++)
        assert_int_equal(ws[i], 0xAB);
    free(ws);
}

/* What the API leaves optional really is: h0, h_last, lengths; b_hh without two
 * biases, V and c without an output layer. */
static void forward_optional_pointers(void **state)
{
    fixture *f = *state;
    assert_int_equal(recur_model_forward(f->ctx, f->model, T, N, NULL, &f->w.w, f->x, NULL,
                                         f->y, NULL),
                     RECUR_OK);
    recur_model_config c = f->cfg;
    c.two_biases = 0;
    c.output_size = 0;
    recur_model *m;
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    recur_layer_weights lw[LD];
    memcpy(lw, f->w.lw, sizeof lw);
    for (size_t k = 0; k < LD; k++)
        lw[k].b_hh = NULL;
    recur_model_weights w = {lw, NULL, NULL};
    float *y = fvec(T * N * OUT);
    fill_sentinel(y, T * N * OUT);
    assert_int_equal(recur_model_forward(f->ctx, m, T, N, f->len, &w, f->x, NULL, y, NULL),
                     RECUR_OK);
    assert_false(all_sentinel(y, T * N * OUT));
    free(y);
    recur_model_destroy(m);
}

/* ------------------------------------------------------------------ backward */

/* Backward on sentinel outputs (every gradient, dx, dh0); expects want and no write. */
static void expect_backward(fixture *f, recur_context *ctx, const recur_model *model, size_t t,
                            size_t n, const recur_model_weights *w, const float *x,
                            const void *ws, size_t wsb, const recur_backward_options *o,
                            recur_model_tensors *g, recur_status want)
{
    mt_sentinel(&f->g);
    fill_sentinel(f->dx, NX);
    fill_sentinel(f->dh0, NS);
    assert_int_equal(recur_model_backward(ctx, model, t, n, w, x, ws, wsb, f->dy, f->dhl, o, g,
                                          f->dx, f->dh0),
                     want);
    assert_true(mt_all_sentinel(&f->g));
    assert_true(all_sentinel(f->dx, NX));
    assert_true(all_sentinel(f->dh0, NS));
}

static void backward_null_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    recur_context *ctx = f->ctx;
    const recur_model_weights *W = &f->w.w;
    recur_backward_options o = recur_backward_options_default();
    const recur_status NP = RECUR_ERR_NULL_POINTER;

    expect_backward(f, NULL, m, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
    expect_backward(f, ctx, NULL, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
    expect_backward(f, ctx, m, T, N, NULL, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
    expect_backward(f, ctx, m, T, N, W, NULL, f->ws, f->wsb, &o, &f->g.t, NP);
    expect_backward(f, ctx, m, T, N, W, f->x, NULL, f->wsb, &o, &f->g.t, NP);
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, NULL, NP);

    /* Weights backward reads: layers, each W and U, V (O > 0). */
    recur_model_weights w = *W;
    w.layers = NULL;
    expect_backward(f, ctx, m, T, N, &w, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
    w = *W; w.V = NULL;
    expect_backward(f, ctx, m, T, N, &w, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
    for (size_t k = 0; k < LD; k++)
        for (int which = 0; which < 2; which++) {
            recur_layer_weights lw[LD];
            memcpy(lw, f->w.lw, sizeof lw);
            if (which == 0)
                lw[k].W = NULL;
            else
                lw[k].U = NULL;
            w = *W;
            w.layers = lw;
            expect_backward(f, ctx, m, T, N, &w, f->x, f->ws, f->wsb, &o, &f->g.t, NP);
        }

    /* Gradients: layers, each layer's W, U, b, b_hh (two_biases), V, c (O > 0). */
    recur_model_tensors g = f->g.t;
    g.layers = NULL;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &g, NP);
    g = f->g.t; g.V = NULL;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &g, NP);
    g = f->g.t; g.c = NULL;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &g, NP);
    for (size_t k = 0; k < LD; k++)
        for (int which = 0; which < 4; which++) {
            recur_layer_tensors lt[LD];
            memcpy(lt, f->g.lt, sizeof lt);
            switch (which) {
            case 0: lt[k].W = NULL; break;
            case 1: lt[k].U = NULL; break;
            case 2: lt[k].b = NULL; break;
            default: lt[k].b_hh = NULL; break;
            }
            g = f->g.t;
            g.layers = lt;
            expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &g, NP);
        }
}

static void backward_argument_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    recur_context *ctx = f->ctx;
    const recur_model_weights *W = &f->w.w;
    recur_backward_options o = recur_backward_options_default();

    expect_backward(f, ctx, m, 0, N, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_SIZE);
    expect_backward(f, ctx, m, T, 0, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_SIZE);
    expect_backward(f, ctx, m, SIZE_MAX / 2, 3, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_SIZE_OVERFLOW);
    o.dy_kind = (recur_dy_kind)5;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_ARGUMENT);
    o = recur_backward_options_default();
    o.dy_kind = (recur_dy_kind)-1;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_ARGUMENT);
    o = recur_backward_options_default();
    o.accumulate = 2;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_ARGUMENT);
    o = recur_backward_options_default();
    o.accumulate = -1;
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb, &o, &f->g.t,
                    RECUR_ERR_INVALID_ARGUMENT);
    o = recur_backward_options_default();

    /* And the valid call works (the fixture is sound), options NULL included. */
    assert_int_equal(recur_model_backward(ctx, m, T, N, W, f->x, f->ws, f->wsb, f->dy, f->dhl,
                                          NULL, &f->g.t, f->dx, f->dh0),
                     RECUR_OK);
    assert_false(all_sentinel(f->dx, NX));
    assert_false(mt_all_sentinel(&f->g));
}

static void backward_workspace_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    recur_context *ctx = f->ctx;
    const recur_model_weights *W = &f->w.w;
    recur_backward_options o = recur_backward_options_default();
    const recur_status MM = RECUR_ERR_WORKSPACE_MISMATCH;

    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, f->wsb - 1, &o, &f->g.t,
                    RECUR_ERR_WORKSPACE_TOO_SMALL);
    expect_backward(f, ctx, m, T, N, W, f->x, f->ws, 0, &o, &f->g.t,
                    RECUR_ERR_WORKSPACE_TOO_SMALL);
    /* Not float-aligned (as recur_backward): a copy of the filled workspace at +1. */
    {
        unsigned char *mis = malloc(f->wsb + 1);
        memcpy(mis + 1, f->ws, f->wsb);
        expect_backward(f, ctx, m, T, N, W, f->x, mis + 1, f->wsb, &o, &f->g.t,
                        RECUR_ERR_INVALID_ARGUMENT);
        free(mis);
    }
    /* Filled for T and N: big enough for T-1 or N-1, but not theirs. */
    expect_backward(f, ctx, m, T - 1, N, W, f->x, f->ws, f->wsb, &o, &f->g.t, MM);
    expect_backward(f, ctx, m, T, N - 1, W, f->x, f->ws, f->wsb, &o, &f->g.t, MM);
    /* Filled for fewer steps, passed with the full size: still not T's. */
    {
        size_t b1;
        assert_int_equal(recur_model_workspace_size(m, T - 1, N, &b1), RECUR_OK);
        void *ws1 = calloc(1, f->wsb);
        float y1[NY], hl1[NS];
        int32_t len1[N] = {T - 1, 1};
        assert_int_equal(recur_model_forward_train(ctx, m, T - 1, N, len1, W, f->x, NULL, y1,
                                                   hl1, ws1, b1),
                         RECUR_OK);
        expect_backward(f, ctx, m, T, N, W, f->x, ws1, f->wsb, &o, &f->g.t, MM);
        free(ws1);
    }
    /* Never filled, or filled with junk. */
    unsigned char *junk = malloc(f->wsb);
    memset(junk, 0x5A, f->wsb);
    expect_backward(f, ctx, m, T, N, W, f->x, junk, f->wsb, &o, &f->g.t, MM);
    memset(junk, 0, f->wsb);
    expect_backward(f, ctx, m, T, N, W, f->x, junk, f->wsb, &o, &f->g.t, MM);
    free(junk);
}

/*
 * A workspace filled by forward_train of one model, passed to backward of another
 * whose sizes allow the same buffer: WORKSPACE_MISMATCH. The other models differ
 * from the fixture's in one field each (both ways round).
 */
static void backward_other_model_workspace(void **state)
{
    fixture *f = *state;
    recur_context *ctx = f->ctx;
    recur_backward_options o = recur_backward_options_default();
    test_rng r;
    rng_seed(&r, 5);

    for (int variant = 0; variant < 7; variant++) {
        recur_model_config c = f->cfg;
        switch (variant) {
        case 0: c.hidden_act = RECUR_ACT_RELU; break;
        case 1: c.clip = 0.75f; break;
        case 2: c.output_act = RECUR_ACT_SIGMOID; break;
        case 3: c.seq_layout = RECUR_LAYOUT_BATCH_FIRST; break;
        case 4: c.state_layout = RECUR_LAYOUT_BATCH_FIRST; break;
        case 5: c.two_biases = 0; break;
        default: c.merge = RECUR_MERGE_SUM; break;
        }
        recur_model *other;
        assert_int_equal(recur_model_create(&other, &c), RECUR_OK);
        size_t ob;
        assert_int_equal(recur_model_workspace_size(other, T, N, &ob), RECUR_OK);
        size_t big = ob > f->wsb ? ob : f->wsb;

        /* other's parameters (SUM: layer 1's W and V are H wide). */
        mtensors op;
        memset(&op, 0, sizeof op);
        op.two = c.two_biases;
        op.has_out = 1;
        size_t ow = c.merge == RECUR_MERGE_SUM ? H : OUT;
        for (size_t k = 0; k < LD; k++) {
            op.win[k] = k / D == 0 ? I : ow;
            op.lt[k].W = fvec(H * op.win[k]);
            op.lt[k].U = fvec(H * H);
            op.lt[k].b = fvec(H);
            op.lt[k].b_hh = fvec(H);
            rng_fill(&r, op.lt[k].W, H * op.win[k], -0.4f, 0.4f);
            rng_fill(&r, op.lt[k].U, H * H, -0.4f, 0.4f);
        }
        op.t.layers = op.lt;
        op.t.V = fvec(O * OUT);
        op.t.c = fvec(O);
        rng_fill(&r, op.t.V, O * ow, -0.4f, 0.4f);
        mweights ow_;
        mw_from(&ow_, &op);

        /* The fixture's workspace into other's backward. */
        void *ws = calloc(1, big);
        memcpy(ws, f->ws, f->wsb);
        mtensors og;
        mt_alloc(&og, NULL, 1, 1);
        mt_sentinel(&og);
        fill_sentinel(f->dx, NX);
        fill_sentinel(f->dh0, NS);
        assert_int_equal(recur_model_backward(ctx, other, T, N, &ow_.w, f->x, ws, big, f->dy,
                                              f->dhl, &o, &og.t, f->dx, f->dh0),
                         RECUR_ERR_WORKSPACE_MISMATCH);
        assert_true(mt_all_sentinel(&og));
        assert_true(all_sentinel(f->dx, NX));
        assert_true(all_sentinel(f->dh0, NS));

        /* other's workspace into the fixture's backward. */
        float y[T * N * OUT], hl[NS];
        memset(ws, 0, big);
        assert_int_equal(recur_model_forward_train(ctx, other, T, N, f->len, &ow_.w, f->x, NULL,
                                                   y, hl, ws, big),
                         RECUR_OK);
        expect_backward(f, ctx, f->model, T, N, &f->w.w, f->x, ws, big, &o, &f->g.t,
                        RECUR_ERR_WORKSPACE_MISMATCH);
        free(ws);
        mt_free(&og);
        mt_free(&op);
        recur_model_destroy(other);
    }
}

/*
 * The two APIs' workspaces are not interchangeable, even between a recur_rnn and
 * the one-layer model of the same configuration: each backward rejects the other's
 * workspace with WORKSPACE_MISMATCH and writes nothing.
 */
static void cross_api_workspace(void **state)
{
    fixture *f = *state;
    test_rng r;
    rng_seed(&r, 21);
    test_model tm;
    model_init(&tm, I, H, O, RECUR_ACT_TANH, RECUR_ACT_SOFTMAX, &r, 0.3f);
    recur_model_config c = recur_model_config_default(I, H);
    c.output_size = O;
    c.output_act = RECUR_ACT_SOFTMAX;
    recur_model *m1;
    assert_int_equal(recur_model_create(&m1, &c), RECUR_OK);
    size_t rb, mb;
    assert_int_equal(recur_workspace_size(tm.rnn, T, N, &rb), RECUR_OK);
    assert_int_equal(recur_model_workspace_size(m1, T, N, &mb), RECUR_OK);
    size_t big = rb > mb ? rb : mb;
    big = big > f->wsb ? big : f->wsb;
    void *ws = calloc(1, big);
    recur_weights w = recur_weights_from(&tm.p);
    recur_layer_weights lw = {tm.p.W, tm.p.U, tm.p.b, NULL};
    recur_model_weights mw = {&lw, tm.p.V, tm.p.c};
    float y[NY], hl[N * H];
    recur_tensors g = tensors_alloc(&tm.cfg);
    recur_layer_tensors lg = {g.W, g.U, g.b, NULL};
    recur_model_tensors mg = {&lg, g.V, g.c};

    /* rnn's workspace into the equivalent model's backward, and the fixture's. */
    assert_int_equal(recur_forward_train(f->ctx, tm.rnn, T, N, &w, f->x, NULL, y, hl, ws, big),
                     RECUR_OK);
    fill_sentinel(g.W, H * I), fill_sentinel(g.U, H * H), fill_sentinel(g.b, H);
    fill_sentinel(g.V, O * H), fill_sentinel(g.c, O);
    fill_sentinel(f->dx, NX);
    assert_int_equal(recur_model_backward(f->ctx, m1, T, N, &mw, f->x, ws, big, f->dy, NULL,
                                          NULL, &mg, f->dx, NULL),
                     RECUR_ERR_WORKSPACE_MISMATCH);
    assert_true(all_sentinel(g.W, H * I) && all_sentinel(g.U, H * H) && all_sentinel(g.b, H));
    assert_true(all_sentinel(g.V, O * H) && all_sentinel(g.c, O) && all_sentinel(f->dx, NX));
    recur_backward_options o = recur_backward_options_default();
    expect_backward(f, f->ctx, f->model, T, N, &f->w.w, f->x, ws, big, &o, &f->g.t,
                    RECUR_ERR_WORKSPACE_MISMATCH);

    /* The model's workspace into recur_backward. */
    memset(ws, 0, big);
    assert_int_equal(recur_model_forward_train(f->ctx, m1, T, N, NULL, &mw, f->x, NULL, y, hl,
                                               ws, big),
                     RECUR_OK);
    fill_sentinel(g.W, H * I), fill_sentinel(g.U, H * H), fill_sentinel(g.b, H);
    fill_sentinel(g.V, O * H), fill_sentinel(g.c, O);
    assert_int_equal(recur_backward(f->ctx, tm.rnn, T, N, &w, f->x, ws, big, f->dy, NULL, NULL,
                                    &g, f->dx, NULL),
                     RECUR_ERR_WORKSPACE_MISMATCH);
    assert_true(all_sentinel(g.W, H * I) && all_sentinel(g.U, H * H) && all_sentinel(g.b, H));
    assert_true(all_sentinel(g.V, O * H) && all_sentinel(g.c, O) && all_sentinel(f->dx, NX));
    /* ...and each accepts its own (the setup is sound). */
    assert_int_equal(recur_model_backward(f->ctx, m1, T, N, &mw, f->x, ws, big, f->dy, NULL,
                                          NULL, &mg, f->dx, NULL),
                     RECUR_OK);
    free(ws);
    tensors_free(&g);
    recur_model_destroy(m1);
    model_free(&tm);
}

/* A one-bias model without output layer: b_hh, V and c may be NULL in every
 * tensor set (gradients, parameters, velocity). */
static void optional_tensors(void **state)
{
    fixture *f = *state;
    recur_model_config c = f->cfg;
    c.two_biases = 0;
    c.output_size = 0;
    recur_model *m;
    assert_int_equal(recur_model_create(&m, &c), RECUR_OK);
    test_rng r;
    rng_seed(&r, 9);
    mtensors P, G, V;
    mt_alloc(&P, &r, 0, 0);
    mt_alloc(&G, NULL, 0, 0);
    mt_alloc(&V, NULL, 0, 0);
    mweights w;
    mw_from(&w, &P);
    size_t wsb;
    assert_int_equal(recur_model_workspace_size(m, T, N, &wsb), RECUR_OK);
    void *ws = malloc(wsb);
    float *y = fvec(T * N * OUT), *dy = fvec(T * N * OUT);
    rng_fill(&r, dy, T * N * OUT, -1, 1);
    assert_int_equal(recur_model_forward_train(f->ctx, m, T, N, f->len, &w.w, f->x, NULL, y,
                                               NULL, ws, wsb),
                     RECUR_OK);
    assert_int_equal(recur_model_backward(f->ctx, m, T, N, &w.w, f->x, ws, wsb, dy, NULL, NULL,
                                          &G.t, NULL, NULL),
                     RECUR_OK);
    float norm = 0;
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, 0.5f, &norm), RECUR_OK);
    assert_true(norm > 0);
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, 0, NULL), RECUR_OK);
    recur_sgd_options so = {0.1f, 0.5f, 0.01f};
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &V.t), RECUR_OK);
    free(ws), free(y), free(dy);
    mt_free(&P), mt_free(&G), mt_free(&V);
    recur_model_destroy(m);
}

/* A descriptor with very many layers: either create refuses it as an overflow, or
 * every size derived from it does (never a wrapped-around byte count). */
static void huge_layer_count(void **state)
{
    (void)state;
    const size_t Ls[] = {SIZE_MAX / 4, SIZE_MAX / (2 * sizeof(recur_layer_weights)) + 1,
                         (size_t)1 << (sizeof(size_t) * 8 - 8)};
    for (size_t i = 0; i < sizeof Ls / sizeof Ls[0]; i++) {
        recur_model_config c = base_config();
        c.num_layers = Ls[i];
        recur_model *m = NULL;
        recur_status st = recur_model_create(&m, &c);
        if (st == RECUR_ERR_SIZE_OVERFLOW)
            continue;
        assert_int_equal(st, RECUR_OK);
        size_t bytes = 77;
        assert_int_equal(recur_model_workspace_size(m, 1, 1, &bytes), RECUR_ERR_SIZE_OVERFLOW);
        assert_int_equal(bytes, 77);
        recur_model_destroy(m);
    }
}

/* ------------------------------------------------------------------ optimisation */

static void model_optim_errors(void **state)
{
    fixture *f = *state;
    const recur_model *m = f->model;
    test_rng r;
    rng_seed(&r, 3);
    mtensors G;
    mt_alloc(&G, &r, 1, 1);
    float *gkeep = mt_flat(&G);
    float norm = SENTINEL;
    const recur_status NP = RECUR_ERR_NULL_POINTER, IA = RECUR_ERR_INVALID_ARGUMENT;

    assert_int_equal(recur_model_clip_grad_norm(NULL, &G.t, 1, &norm), NP);
    assert_int_equal(recur_model_clip_grad_norm(m, NULL, 1, &norm), NP);
    recur_model_tensors g = G.t;
    g.layers = NULL;
    assert_int_equal(recur_model_clip_grad_norm(m, &g, 1, &norm), NP);
    g = G.t; g.V = NULL;
    assert_int_equal(recur_model_clip_grad_norm(m, &g, 1, &norm), NP);
    g = G.t; g.c = NULL;
    assert_int_equal(recur_model_clip_grad_norm(m, &g, 1, &norm), NP);
    for (size_t k = 0; k < LD; k++)
        for (int which = 0; which < 4; which++) {
            recur_layer_tensors lt[LD];
            memcpy(lt, G.lt, sizeof lt);
            switch (which) {
            case 0: lt[k].W = NULL; break;
            case 1: lt[k].U = NULL; break;
            case 2: lt[k].b = NULL; break;
            default: lt[k].b_hh = NULL; break;
            }
            g = G.t;
            g.layers = lt;
            /* max_norm small enough that a valid call would scale everything */
            assert_int_equal(recur_model_clip_grad_norm(m, &g, 1e-3f, &norm), NP);
        }
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, -1, &norm), IA);
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, NAN, &norm), IA);
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, INFINITY, &norm), IA);
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, -INFINITY, &norm), IA);
    assert_true(norm == SENTINEL);
    assert_true(mt_equals_flat(&G, gkeep));
    /* The valid call measures and clips. */
    assert_int_equal(recur_model_clip_grad_norm(m, &G.t, 0, &norm), RECUR_OK);
    assert_true(norm > 0 && norm != SENTINEL);
    assert_true(mt_equals_flat(&G, gkeep));

    /* SGD */
    mtensors P, V;
    mt_alloc(&P, &r, 1, 1);
    mt_alloc(&V, NULL, 1, 1);
    float *pkeep = mt_flat(&P), *vkeep = mt_flat(&V);
    recur_sgd_options ok = {0.1f, 0, 0}, so;
    assert_int_equal(recur_model_sgd_update(NULL, &P.t, &G.t, &ok, NULL), NP);
    assert_int_equal(recur_model_sgd_update(m, NULL, &G.t, &ok, NULL), NP);
    assert_int_equal(recur_model_sgd_update(m, &P.t, NULL, &ok, NULL), NP);
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, NULL, NULL), NP);
    recur_model_tensors p = P.t;
    p.layers = NULL;
    assert_int_equal(recur_model_sgd_update(m, &p, &G.t, &ok, NULL), NP);
    g = G.t; g.layers = NULL;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &g, &ok, NULL), NP);
    p = P.t; p.V = NULL;
    assert_int_equal(recur_model_sgd_update(m, &p, &G.t, &ok, NULL), NP);
    g = G.t; g.c = NULL;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &g, &ok, NULL), NP);
    for (size_t k = 0; k < LD; k++)
        for (int which = 0; which < 4; which++)
            for (int in_grads = 0; in_grads < 2; in_grads++) {
                recur_layer_tensors lt[LD];
                memcpy(lt, in_grads ? G.lt : P.lt, sizeof lt);
                switch (which) {
                case 0: lt[k].W = NULL; break;
                case 1: lt[k].U = NULL; break;
                case 2: lt[k].b = NULL; break;
                default: lt[k].b_hh = NULL; break;
                }
                p = P.t;
                g = G.t;
                if (in_grads)
                    g.layers = lt;
                else
                    p.layers = lt;
                assert_int_equal(recur_model_sgd_update(m, &p, &g, &ok, NULL), NP);
            }
    so = ok; so.learning_rate = 0;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    so = ok; so.learning_rate = -0.1f;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    so = ok; so.learning_rate = NAN;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    so = ok; so.learning_rate = INFINITY;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    so = ok; so.momentum = 1;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &V.t), IA);
    so = ok; so.momentum = -0.1f;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &V.t), IA);
    so = ok; so.momentum = NAN;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &V.t), IA);
    so = ok; so.weight_decay = -1;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    so = ok; so.weight_decay = NAN;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), IA);
    /* Momentum needs a velocity, and all of it. */
    so = ok; so.momentum = 0.9f;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, NULL), NP);
    recur_model_tensors v = V.t;
    v.layers = NULL;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &v), NP);
    v = V.t; v.V = NULL;
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &v), NP);
    {
        recur_layer_tensors lt[LD];
        memcpy(lt, V.lt, sizeof lt);
        lt[LD - 1].b_hh = NULL;
        v = V.t;
        v.layers = lt;
        assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &v), NP);
    }
    assert_true(mt_equals_flat(&P, pkeep));
    assert_true(mt_equals_flat(&V, vkeep));
    assert_true(mt_equals_flat(&G, gkeep));
    /* The valid call updates. */
    assert_int_equal(recur_model_sgd_update(m, &P.t, &G.t, &so, &V.t), RECUR_OK);
    assert_false(mt_equals_flat(&P, pkeep));
    assert_true(mt_equals_flat(&G, gkeep));

    free(gkeep);
    free(pkeep);
    free(vkeep);
    mt_free(&G);
    mt_free(&P);
    mt_free(&V);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_create_errors),
        cmocka_unit_test_setup_teardown(forward_null_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(forward_size_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(forward_workspace_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(forward_optional_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(backward_null_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(backward_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(backward_workspace_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(backward_other_model_workspace, setup, teardown),
        cmocka_unit_test_setup_teardown(model_optim_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(optional_tensors, setup, teardown),
        cmocka_unit_test_setup_teardown(cross_api_workspace, setup, teardown),
        cmocka_unit_test(huge_layer_count),
    };
    return cmocka_run_group_tests_name("model_errors", tests, NULL, NULL);
}
