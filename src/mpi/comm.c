/* The handle: a private duplicate of the caller's communicator, errors, shards. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mpi_internal.h"

recur_status recur_mpi_status_of(int err)
{
    int cls = MPI_ERR_OTHER;
    if (MPI_Error_class(err, &cls) != MPI_SUCCESS)
        cls = MPI_ERR_OTHER;
    switch (cls) {
    case MPI_SUCCESS:
        return RECUR_OK;
    case MPI_ERR_NO_MEM:
        return RECUR_ERR_OUT_OF_MEMORY;
    /* The classes that mean "these arguments are wrong" (TRUNCATE: the ranks' counts
     * did not match). */
    case MPI_ERR_BUFFER:
    case MPI_ERR_COUNT:
    case MPI_ERR_TYPE:
    case MPI_ERR_TAG:
    case MPI_ERR_COMM:
    case MPI_ERR_RANK:
    case MPI_ERR_ROOT:
    case MPI_ERR_GROUP:
    case MPI_ERR_OP:
    case MPI_ERR_ARG:
    case MPI_ERR_TRUNCATE:
    case MPI_ERR_REQUEST:
        return RECUR_ERR_INVALID_ARGUMENT;
    default:
        return RECUR_ERR_COMMUNICATION;
    }
}

recur_status recur_mpi_fail(recur_mpi *m, recur_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
    return st;
}

recur_status recur_mpi_fail_mpi(recur_mpi *m, const char *fn, int err)
{
    char text[MPI_MAX_ERROR_STRING] = "unknown MPI error";
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", err);
    return recur_mpi_fail(m, recur_mpi_status_of(err), "%s failed: %s", fn, text);
}

static void free_handle(recur_mpi *m)
{
    free(m->agree);
    free(m->weights);
    for (int s = 0; s < 2; s++)
        free(m->ints[s].counts);
    free(m->scratch);
    free(m->list);
    free(m);
}

/* Everything sized by the rank count, allocated once. 0 when out of memory. */
static int alloc_fixed(recur_mpi *m)
{
    size_t k = (size_t)m->size;
    m->agree = calloc(k * AGREE_FIELDS, sizeof *m->agree);
    m->weights = calloc(k, sizeof *m->weights);
    int ok = m->agree && m->weights;
    for (int s = 0; s < 2; s++) {
        int *ints = calloc(4 * k, sizeof *ints);
        ok = ok && ints;
        m->ints[s] = (mpi_slot_ints){ints, ints ? ints + k : NULL, ints ? ints + 2 * k : NULL,
                                     ints ? ints + 3 * k : NULL};
    }
    return ok;
}

recur_status recur_mpi_create(recur_mpi **out, MPI_Comm comm)
{
    if (!out)
        return RECUR_ERR_NULL_POINTER;
    int up = 0, down = 0, inter = 0, size = 0;
    /* Each of these is valid before MPI_Init and after MPI_Finalize. */
    if (MPI_Initialized(&up) != MPI_SUCCESS || MPI_Finalized(&down) != MPI_SUCCESS || !up ||
        down)
        return RECUR_ERR_INVALID_ARGUMENT;
    if (comm == MPI_COMM_NULL)
        return RECUR_ERR_INVALID_ARGUMENT;
    if (MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter)
        return RECUR_ERR_INVALID_ARGUMENT;
    if (MPI_Comm_size(comm, &size) != MPI_SUCCESS || size < 1)
        return RECUR_ERR_INVALID_ARGUMENT;

    MPI_Comm dup;
    int err = MPI_Comm_dup(comm, &dup);
    if (err != MPI_SUCCESS)
        return recur_mpi_status_of(err);
    /* From here on every MPI error comes back to us as a return code. */
    int handler = MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    recur_mpi *m = calloc(1, sizeof *m);
    int local = handler != MPI_SUCCESS ? 2 : (m ? 0 : 1);
    if (m) {
        m->comm = dup;
        m->size = size;
        if (local == 0 && (MPI_Comm_rank(dup, &m->rank) != MPI_SUCCESS || !alloc_fixed(m)))
            local = 1;
    }
    /* Every rank learns whether every other one is ready, so all of them either keep
     * the duplicate or free it together. */
    int worst = local;
    err = MPI_Allreduce(&local, &worst, 1, MPI_INT, MPI_MAX, dup);
    if (err != MPI_SUCCESS || worst != 0) {
        if (m)
            free_handle(m);
        MPI_Comm_free(&dup);
        if (err != MPI_SUCCESS)
            return recur_mpi_status_of(err);
        return worst == 1 ? RECUR_ERR_OUT_OF_MEMORY : RECUR_ERR_COMMUNICATION;
    }
    *out = m;
    return RECUR_OK;
}

void recur_mpi_destroy(recur_mpi *m)
{
    if (!m)
        return;
    int down = 1;
    if (MPI_Finalized(&down) == MPI_SUCCESS && !down)
        MPI_Comm_free(&m->comm);
    free_handle(m);
}

int recur_mpi_rank(const recur_mpi *m)
{
    return m ? m->rank : 0;
}

int recur_mpi_size(const recur_mpi *m)
{
    return m ? m->size : 1;
}

recur_status recur_mpi_shard(const recur_mpi *m, size_t n, size_t *first, size_t *count)
{
    if (!m || !first || !count)
        return RECUR_ERR_NULL_POINTER;
    size_t k = (size_t)m->size, r = (size_t)m->rank;
    size_t base = n / k, extra = n % k;
    *first = r * base + (r < extra ? r : extra);
    *count = base + (r < extra ? 1 : 0);
    return RECUR_OK;
}

const char *recur_mpi_last_error(const recur_mpi *m)
{
    return m ? m->error : "no recur_mpi handle (NULL)";
}

recur_mpi_options recur_mpi_options_default(void)
{
    recur_mpi_options o = {RECUR_MPI_MEAN, 1.0, RECUR_MPI_ORDERED, 0};
    return o;
}

size_t recur_mpi_default_bucket(const recur_mpi *m)
{
    size_t by_ranks = (size_t)m->size * RECUR_MPI_SEGMENT_FLOATS;
    size_t b = by_ranks > RECUR_MPI_DEFAULT_BUCKET_FLOATS ? by_ranks
                                                           : RECUR_MPI_DEFAULT_BUCKET_FLOATS;
    return b < RECUR_MPI_MAX_BUCKET_FLOATS ? b : RECUR_MPI_MAX_BUCKET_FLOATS;
}

int recur_mpi_reserve(recur_mpi *m, size_t floats)
{
    if (floats <= m->scratch_floats)
        return 1;
    if (floats > (SIZE_MAX - 63) / sizeof(float))
        return 0;
    /* 64-byte aligned, rounded to whole lines */
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p)
        return 0;
    free(m->scratch);
    m->scratch = p;
    m->scratch_floats = floats;
    return 1;
}
