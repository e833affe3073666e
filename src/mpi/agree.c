/*
 * The agreement step at the start of every collective call: one MPI_Allgather of a
 * few numbers per rank, so that every rank reaches the same verdict (go, or the same
 * error) before any data moves. A rank with bad arguments therefore never leaves the
 * others waiting in a collective it will not join, and a mismatch between ranks (other
 * model shapes, options) is an error instead of a hang or a truncated message.
 */
#include <math.h>
#include <string.h>
#include "mpi_internal.h"

enum { F_STATUS, F_TOTAL, F_OP, F_REDUCTION, F_BUCKET, F_ROOT, F_WEIGHT };

static const char *field_name(int f)
{
    static const char *names[] = {"status", "parameter count", "call and op", "reduction",
                                  "bucket size", "root", "weight"};
    return names[f];
}

recur_status recur_mpi_agree(recur_mpi *m, const mpi_call *mine)
{
    uint64_t row[AGREE_FIELDS] = {(uint64_t)mine->local, mine->total, mine->op,
                                      mine->reduction, mine->bucket, mine->root, 0};
    memcpy(&row[F_WEIGHT], &mine->weight, sizeof(double));
    TRY_MPI(m, "MPI_Allgather (agreement)",
            MPI_Allgather(row, AGREE_FIELDS, MPI_UINT64_T, m->agree, AGREE_FIELDS,
                          MPI_UINT64_T, m->comm));
    const uint64_t *first = m->agree;
    for (int r = 0; r < m->size; r++) {
        const uint64_t *a = m->agree + (size_t)r * AGREE_FIELDS;
        if (a[F_STATUS] != RECUR_OK) {
            recur_status st = (recur_status)a[F_STATUS];
            if (r == m->rank) /* keep this rank's own, more precise message */
                return st;
            return recur_mpi_fail(m, st, "rank %d rejected its arguments: %s", r,
                                  recur_status_string(st));
        }
    }
    for (int r = 1; r < m->size; r++) {
        const uint64_t *a = m->agree + (size_t)r * AGREE_FIELDS;
        for (int f = F_TOTAL; f <= F_ROOT; f++)
            if (a[f] != first[f])
                return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT,
                                      "the ranks disagree: %s %llu on rank %d, %llu on rank 0",
                                      field_name(f), (unsigned long long)a[f], r,
                                      (unsigned long long)first[f]);
    }
    /* Weights in rank order: every rank adds them up in the same order. */
    double sum = 0;
    for (int r = 0; r < m->size; r++) {
        memcpy(&m->weights[r], m->agree + (size_t)r * AGREE_FIELDS + F_WEIGHT,
               sizeof(double));
        sum += m->weights[r];
    }
    if (mine->op == (CALL_REDUCE | RECUR_MPI_MEAN) && !(sum > 0 && isfinite(sum)))
        return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT,
                              "the ranks' weights add up to %g (MEAN needs a positive sum)",
                              sum);
    return RECUR_OK;
}
