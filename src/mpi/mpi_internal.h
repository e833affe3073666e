/* librecur_mpi internals: the handle, parameter lists, the agreement step. */
#ifndef RECUR_MPI_INTERNAL_H
#define RECUR_MPI_INTERNAL_H

#include <stdint.h>
#include "recur_mpi.h"

/* Nothing here is exported: the library is built with hidden visibility and only the
 * RECUR_MPI_API calls of recur_mpi.h are public. */

/* One parameter array in a list; the list's order is the packing order. */
typedef struct mpi_tensor {
    float *p;
    size_t n;
} mpi_tensor;

typedef struct mpi_params {
    mpi_tensor *t;
    size_t count;
    size_t total; /* floats over all tensors */
} mpi_params;

/* Per pipeline slot: where bucket segment j lives (counts[j] floats at displs[j]) and
 * where the K contributions to this rank's segment land (rcounts, rdispls). */
typedef struct mpi_slot_ints {
    int *counts, *displs, *rcounts, *rdispls;
} mpi_slot_ints;

struct recur_mpi {
    MPI_Comm comm; /* our duplicate, MPI_ERRORS_RETURN */
    int rank, size;
    uint64_t *agree;        /* [size][AGREE_FIELDS]: the agreement step's gather */
    double *weights;        /* [size]: every rank's weight, from the agreement */
    mpi_slot_ints ints[2];  /* the two pipeline slots' count arrays, [size] each */
    float *scratch;         /* grow-only */
    size_t scratch_floats;
    mpi_tensor *list;       /* grow-only storage of the current call's mpi_params */
    size_t list_cap;
    char error[512];
};

/* ---------------------------------------------------------------- errors */

/* The recur status for an MPI error code; records "fn: MPI's string" in m->error. */
recur_status recur_mpi_fail_mpi(recur_mpi *m, const char *fn, int err);
/* recur_status for an MPI error code (its class). */
recur_status recur_mpi_status_of(int err);
/* Records a printf-style message in m->error; returns st. */
recur_status recur_mpi_fail(recur_mpi *m, recur_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns from the calling function with the status of a failed MPI call. */
#define TRY_MPI(m, fn, call)                                                               \
    do {                                                                                   \
        int e_ = (call);                                                                   \
        if (e_ != MPI_SUCCESS)                                                             \
            return recur_mpi_fail_mpi((m), (fn), e_);                                      \
    } while (0)

/* ---------------------------------------------------------------- parameter lists */

/* The tensors of a model / rnn / caller's list into m's list storage. RECUR_OK or
 * NULL_POINTER (a required tensor missing), SIZE_OVERFLOW, OUT_OF_MEMORY; what the
 * problem was is recorded in m->error. Never communicates. */
recur_status recur_mpi_model_params(recur_mpi *m, const recur_model *model,
                                    const recur_model_tensors *t, mpi_params *out);
recur_status recur_mpi_rnn_params(recur_mpi *m, const recur_rnn *rnn, const recur_tensors *t,
                                  mpi_params *out);
recur_status recur_mpi_list_params(recur_mpi *m, size_t count, float *const *tensors,
                                   const size_t *sizes, mpi_params *out);

/* Copies floats [off, off + n) of the list into buf, scaled by scale (1: a plain copy),
 * calling MPI_Test on *pending every so often so that an outstanding non-blocking
 * collective keeps moving (MPI progresses them only inside MPI calls). */
int recur_mpi_pack(const mpi_params *p, size_t off, size_t n, float *buf, float scale,
                   MPI_Request *pending);
/* Copies buf into floats [off, off + n) of the list. */
void recur_mpi_unpack(const mpi_params *p, size_t off, size_t n, const float *buf);
/* The tensors as one array when each starts where the previous one ends (in list
 * order, empty ones skipped), else NULL. */
float *recur_mpi_contiguous(const mpi_params *p);
/* FNV-1a 64 over the bytes of every tensor, in list order. */
uint64_t recur_mpi_hash(const mpi_params *p);

/* The default bucket (options.bucket_floats = 0) on m's ranks. */
size_t recur_mpi_default_bucket(const recur_mpi *m);
/* scratch of at least floats; 0 when that memory is not available. */
int recur_mpi_reserve(recur_mpi *m, size_t floats);

/* ---------------------------------------------------------------- agreement */

enum { AGREE_FIELDS = 7 };

/* What one rank brings to a collective call. */
typedef struct mpi_call {
    recur_status local; /* this rank's verdict on its own arguments */
    uint64_t total;     /* parameter floats */
    uint64_t op, reduction, bucket, root; /* op: CALL_* | recur_mpi_op */
    double weight;
} mpi_call;

/* Which call a rank is in, sent with its op: ranks in different calls disagree. */
enum { CALL_REDUCE = 0x100, CALL_BROADCAST = 0x200, CALL_CHECK = 0x300 };

/*
 * Gathers every rank's mpi_call and decides, identically on every rank: the status of
 * the lowest rank whose arguments failed, else INVALID_ARGUMENT when the ranks disagree
 * on the parameter count, call and op, reduction, bucket or root, or (a MEAN reduction)
 * the weights add up to 0; else RECUR_OK, with every rank's weight in m->weights.
 * Records why in m->error.
 */
recur_status recur_mpi_agree(recur_mpi *m, const mpi_call *mine);

/* ---------------------------------------------------------------- reduction */

/* Combines the list's floats across the ranks (recur_mpi_allreduce's contract); local
 * is this rank's verdict on its arguments so far, shared in the agreement step. */
recur_status recur_mpi_reduce_params(recur_mpi *m, const mpi_params *p,
                                     const recur_mpi_options *o, recur_status local);

#endif
