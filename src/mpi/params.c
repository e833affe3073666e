/* Parameter lists: a model's tensors in one fixed order, packed into one buffer. */
#include <stdlib.h>
#include <string.h>
#include "mpi_internal.h"

/* Floats packed between two MPI_Test calls while a collective is outstanding. */
#define PACK_CHUNK ((size_t)1 << 16)

static int grow_list(recur_mpi *m, size_t count)
{
    if (count <= m->list_cap)
        return 1;
    mpi_tensor *l = malloc(count * sizeof *l);
    if (!l)
        return 0;
    free(m->list);
    m->list = l;
    m->list_cap = count;
    return 1;
}

/* Appends (p, rows * cols) to out; the caller grew the list. */
static recur_status add(recur_mpi *m, mpi_params *out, float *p, size_t rows, size_t cols,
                        const char *name, size_t index)
{
    if (!p)
        return recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "%s of tensor set %zu is NULL", name,
                              index);
    if (cols && rows > SIZE_MAX / cols)
        return recur_mpi_fail(m, RECUR_ERR_SIZE_OVERFLOW, "%s of tensor set %zu overflows size_t",
                              name, index);
    size_t n = rows * cols;
    if (out->total > SIZE_MAX - n)
        return recur_mpi_fail(m, RECUR_ERR_SIZE_OVERFLOW, "the parameter count overflows size_t");
    out->t[out->count++] = (mpi_tensor){p, n};
    out->total += n;
    return RECUR_OK;
}

#define ADD(p, rows, cols, name, index)                                                    \
    do {                                                                                   \
        recur_status st_ = add(m, out, (p), (rows), (cols), (name), (index));              \
        if (st_ != RECUR_OK)                                                               \
            return st_;                                                                    \
    } while (0)

recur_status recur_mpi_model_params(recur_mpi *m, const recur_model *model,
                                    const recur_model_tensors *t, mpi_params *out)
{
    recur_model_config c;
    if (!model || !t || !out)
        return recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "model or tensors is NULL");
    recur_status st = recur_model_get_config(model, &c);
    if (st != RECUR_OK)
        return recur_mpi_fail(m, st, "recur_model_get_config: %s", recur_status_string(st));
    size_t D = recur_model_directions(model), H = c.hidden_size, O = c.output_size;
    size_t per = c.two_biases ? 4 : 3, passes = c.num_layers * D;
    if (!t->layers)
        return recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "tensors->layers is NULL");
    if (!grow_list(m, passes * per + 2))
        return recur_mpi_fail(m, RECUR_ERR_OUT_OF_MEMORY, "out of memory (tensor list)");
    *out = (mpi_params){m->list, 0, 0};
    for (size_t k = 0; k < passes; k++) {
        const recur_layer_tensors *l = &t->layers[k];
        ADD(l->W, H, recur_model_layer_input_size(model, k / D), "W", k);
        ADD(l->U, H, H, "U", k);
        ADD(l->b, H, 1, "b", k);
        if (c.two_biases)
            ADD(l->b_hh, H, 1, "b_hh", k);
    }
    if (O > 0) {
        ADD(t->V, O, recur_model_output_width(model), "V", passes);
        ADD(t->c, O, 1, "c", passes);
    }
    return RECUR_OK;
}

recur_status recur_mpi_rnn_params(recur_mpi *m, const recur_rnn *rnn, const recur_tensors *t,
                                  mpi_params *out)
{
    recur_rnn_config c;
    if (!rnn || !t || !out)
        return recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "rnn or tensors is NULL");
    recur_status st = recur_rnn_get_config(rnn, &c);
    if (st != RECUR_OK)
        return recur_mpi_fail(m, st, "recur_rnn_get_config: %s", recur_status_string(st));
    if (!grow_list(m, 5))
        return recur_mpi_fail(m, RECUR_ERR_OUT_OF_MEMORY, "out of memory (tensor list)");
    size_t H = c.hidden_size, O = c.output_size;
    *out = (mpi_params){m->list, 0, 0};
    ADD(t->W, H, c.input_size, "W", (size_t)0);
    ADD(t->U, H, H, "U", (size_t)0);
    ADD(t->b, H, 1, "b", (size_t)0);
    if (O > 0) {
        ADD(t->V, O, H, "V", (size_t)0);
        ADD(t->c, O, 1, "c", (size_t)0);
    }
    return RECUR_OK;
}

recur_status recur_mpi_list_params(recur_mpi *m, size_t count, float *const *tensors,
                                   const size_t *sizes, mpi_params *out)
{
    if (!tensors || !sizes)
        return recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "tensors or sizes is NULL");
    if (count == 0)
        return recur_mpi_fail(m, RECUR_ERR_INVALID_SIZE, "count is 0");
    if (!grow_list(m, count))
        return recur_mpi_fail(m, RECUR_ERR_OUT_OF_MEMORY, "out of memory (tensor list)");
    *out = (mpi_params){m->list, 0, 0};
    for (size_t i = 0; i < count; i++) {
        if (sizes[i] == 0) /* nothing to send; NULL allowed */
            continue;
        ADD(tensors[i], sizes[i], 1, "tensor", i);
    }
    return RECUR_OK;
}

/* Walks the pieces of floats [off, off + n) of a list: tensor by tensor. */
typedef struct piece_walk {
    const mpi_params *p;
    size_t tensor, start; /* the tensor under way and its first float in the list */
    size_t at, end;       /* list position reached, and where the range ends */
} piece_walk;

static piece_walk walk_start(const mpi_params *p, size_t off, size_t n)
{
    return (piece_walk){p, 0, 0, off, off + n};
}

/* The next piece: *tp (len floats of one tensor) goes to buffer offset *bo. 0 at the end. */
static int walk_next(piece_walk *w, size_t off, float **tp, size_t *bo, size_t *len)
{
    while (w->at < w->end && w->tensor < w->p->count) {
        const mpi_tensor *t = &w->p->t[w->tensor];
        if (w->at >= w->start + t->n) {
            w->start += t->n;
            w->tensor++;
            continue;
        }
        size_t from = w->at - w->start, avail = t->n - from, want = w->end - w->at;
        *tp = t->p + from;
        *bo = w->at - off;
        *len = avail < want ? avail : want;
        w->at += *len;
        return 1;
    }
    return 0;
}

int recur_mpi_pack(const mpi_params *p, size_t off, size_t n, float *buf, float scale,
                   MPI_Request *pending)
{
    int err = MPI_SUCCESS;
    piece_walk w = walk_start(p, off, n);
    float *tp;
    size_t bo, len;
    while (walk_next(&w, off, &tp, &bo, &len)) {
        for (size_t c0 = 0; c0 < len; c0 += PACK_CHUNK) {
            size_t cn = len - c0 < PACK_CHUNK ? len - c0 : PACK_CHUNK;
            float *dst = buf + bo + c0;
            const float *src = tp + c0;
            if (scale == 1.0f) {
                memcpy(dst, src, cn * sizeof(float));
            } else {
                for (size_t i = 0; i < cn; i++)
                    dst[i] = src[i] * scale;
            }
            if (pending && *pending != MPI_REQUEST_NULL && err == MPI_SUCCESS) {
                int flag;
                err = MPI_Test(pending, &flag, MPI_STATUS_IGNORE);
            }
        }
    }
    return err;
}

void recur_mpi_unpack(const mpi_params *p, size_t off, size_t n, const float *buf)
{
    piece_walk w = walk_start(p, off, n);
    float *tp;
    size_t bo, len;
    while (walk_next(&w, off, &tp, &bo, &len))
        memcpy(tp, buf + bo, len * sizeof(float));
}

float *recur_mpi_contiguous(const mpi_params *p)
{
    float *start = NULL, *next = NULL;
    for (size_t i = 0; i < p->count; i++) {
        if (p->t[i].n == 0)
            continue;
        if (!start)
            start = p->t[i].p;
        else if (p->t[i].p != next)
            return NULL;
        next = p->t[i].p + p->t[i].n;
    }
    return start;
}

uint64_t recur_mpi_hash(const mpi_params *p)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (size_t i = 0; i < p->count; i++) {
        const unsigned char *b = (const unsigned char *)p->t[i].p;
        for (size_t k = 0; k < p->t[i].n * sizeof(float); k++) {
            h ^= b[k];
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}
