#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mpi_test_util.h"
#include "test_util.h"

/* AddressSanitizer builds: the leak check runs before MPI_Finalize, while Open MPI's
 * components are still loaded and its allocations can be told from ours (lsan.supp);
 * after it they are unloaded and their leaks have no module name to suppress. The
 * check at exit is off for these tests (LSAN_OPTIONS in tests/mpi/meson.build). */
#if defined(__SANITIZE_ADDRESS__)
#define MT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif
#ifdef MT_ASAN
#include <sanitizer/lsan_interface.h>
#define leaks_found() __lsan_do_recoverable_leak_check()
#else
#define leaks_found() 0
#endif

int mt_rank, mt_size;
static int failures; /* this rank's, since the last verdict */

void mt_init(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "MPI_Init_thread failed\n");
        exit(2);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
    if (mt_rank != 0 && !freopen("/dev/null", "w", stdout))
        exit(2);
}

int mt_finish(int failed)
{
    if (leaks_found()) {
        fprintf(stderr, "rank %d: LeakSanitizer found leaks\n", mt_rank);
        failed = 1;
    }
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}

void mt_expect(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return;
    failures++;
    fprintf(stderr, "rank %d/%d: %s:%d: ", mt_rank, mt_size, file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void mt_verdict(void)
{
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    failures = 0;
    assert_int_equal(all, 0);
}

int mt_same_on_all(uint64_t v)
{
    uint64_t *all = malloc((size_t)mt_size * sizeof *all);
    if (!all)
        exit(2);
    MPI_Allgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    int same = 1;
    for (int r = 0; r < mt_size; r++)
        same &= all[r] == v;
    free(all);
    return same;
}

uint64_t mt_hash(uint64_t h, const float *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n * sizeof(float); i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---------------------------------------------------------------- model tensors */

typedef struct shape {
    size_t D, H, O, out, per, npass;
    int two;
} shape;

static shape shape_of(const recur_model *model)
{
    recur_model_config c;
    if (recur_model_get_config(model, &c) != RECUR_OK)
        exit(2);
    shape s = {recur_model_directions(model), c.hidden_size, c.output_size,
               recur_model_output_width(model), 0, 0, c.two_biases};
    s.npass = c.num_layers * s.D;
    return s;
}

mt_tensors mt_tensors_alloc(const recur_model *model)
{
    shape s = shape_of(model);
    mt_tensors m = {{NULL, NULL, NULL}, calloc(s.npass, sizeof(recur_layer_tensors)), s.npass,
                    NULL};
    if (!m.layers)
        exit(2);
    for (size_t k = 0; k < s.npass; k++) {
        size_t in = recur_model_layer_input_size(model, k / s.D);
        m.layers[k].W = fvec(s.H * in);
        m.layers[k].U = fvec(s.H * s.H);
        m.layers[k].b = fvec(s.H);
        m.layers[k].b_hh = s.two ? fvec(s.H) : NULL;
    }
    m.t.layers = m.layers;
    if (s.O) {
        m.t.V = fvec(s.O * s.out);
        m.t.c = fvec(s.O);
    }
    return m;
}

static float *take(float **at, size_t n)
{
    float *p = *at;
    *at += n;
    return p;
}

mt_tensors mt_tensors_alloc_block(const recur_model *model)
{
    shape s = shape_of(model);
    mt_tensors m = {{NULL, NULL, NULL}, calloc(s.npass, sizeof(recur_layer_tensors)), s.npass,
                    fvec(mt_tensors_count(model))};
    if (!m.layers)
        exit(2);
    float *at = m.block;
    for (size_t k = 0; k < s.npass; k++) {
        size_t in = recur_model_layer_input_size(model, k / s.D);
        m.layers[k].W = take(&at, s.H * in);
        m.layers[k].U = take(&at, s.H * s.H);
        m.layers[k].b = take(&at, s.H);
        m.layers[k].b_hh = s.two ? take(&at, s.H) : NULL;
    }
    m.t.layers = m.layers;
    if (s.O) {
        m.t.V = take(&at, s.O * s.out);
        m.t.c = take(&at, s.O);
    }
    return m;
}

void mt_tensors_free(mt_tensors *m)
{
    if (m->block) {
        free(m->block);
        free(m->layers);
        return;
    }
    for (size_t k = 0; k < m->npass; k++) {
        free(m->layers[k].W);
        free(m->layers[k].U);
        free(m->layers[k].b);
        free(m->layers[k].b_hh);
    }
    free(m->layers);
    free(m->t.V);
    free(m->t.c);
}

void mt_tensors_each(const recur_model *model, const mt_tensors *m,
                     void (*fn)(float *p, size_t n, void *arg), void *arg)
{
    shape s = shape_of(model);
    for (size_t k = 0; k < s.npass; k++) {
        fn(m->layers[k].W, s.H * recur_model_layer_input_size(model, k / s.D), arg);
        fn(m->layers[k].U, s.H * s.H, arg);
        fn(m->layers[k].b, s.H, arg);
        if (s.two)
            fn(m->layers[k].b_hh, s.H, arg);
    }
    if (s.O) {
        fn(m->t.V, s.O * s.out, arg);
        fn(m->t.c, s.O, arg);
    }
}

static void count_fn(float *p, size_t n, void *arg)
{
    (void)p;
    *(size_t *)arg += n;
}

size_t mt_tensors_count(const recur_model *model)
{
    mt_tensors none = {{NULL, NULL, NULL}, NULL, 0, NULL};
    size_t n = 0;
    /* only the sizes are read: layers may be NULL here */
    shape s = shape_of(model);
    recur_layer_tensors *l = calloc(s.npass, sizeof *l);
    none.layers = l;
    mt_tensors_each(model, &none, count_fn, &n);
    free(l);
    return n;
}

typedef struct flat {
    float *out;
    size_t at;
} flat;

static void flatten_fn(float *p, size_t n, void *arg)
{
    flat *f = arg;
    memcpy(f->out + f->at, p, n * sizeof(float));
    f->at += n;
}

void mt_tensors_flatten(const recur_model *model, const mt_tensors *m, float *out)
{
    flat f = {out, 0};
    mt_tensors_each(model, m, flatten_fn, &f);
}

typedef struct fill {
    test_rng rng;
    float scale;
} fill;

static void fill_fn(float *p, size_t n, void *arg)
{
    fill *f = arg;
    rng_fill(&f->rng, p, n, -f->scale, f->scale);
}

void mt_tensors_fill(const recur_model *model, mt_tensors *m, uint64_t seed, float scale)
{
    fill f;
    rng_seed(&f.rng, seed);
    f.scale = scale;
    mt_tensors_each(model, m, fill_fn, &f);
}

static void hash_fn(float *p, size_t n, void *arg)
{
    *(uint64_t *)arg = mt_hash(*(uint64_t *)arg, p, n);
}

uint64_t mt_tensors_hash(const recur_model *model, const mt_tensors *m)
{
    uint64_t h = MT_HASH_START;
    mt_tensors_each(model, m, hash_fn, &h);
    return h;
}
