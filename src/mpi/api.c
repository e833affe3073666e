/* The public calls: a parameter list from the caller's tensors, then one collective. */
#include "mpi_internal.h"

/* ---------------------------------------------------------------- gradients */

recur_status recur_mpi_model_allreduce_grads(recur_mpi *m, const recur_model *model,
                                             recur_model_tensors *grads,
                                             const recur_mpi_options *options)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_model_params(m, model, grads, &p);
    return recur_mpi_reduce_params(m, &p, options, local);
}

recur_status recur_mpi_rnn_allreduce_grads(recur_mpi *m, const recur_rnn *rnn,
                                           recur_tensors *grads, const recur_mpi_options *options)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_rnn_params(m, rnn, grads, &p);
    return recur_mpi_reduce_params(m, &p, options, local);
}

recur_status recur_mpi_allreduce(recur_mpi *m, size_t count, float *const *tensors,
                                 const size_t *sizes, const recur_mpi_options *options)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_list_params(m, count, tensors, sizes, &p);
    return recur_mpi_reduce_params(m, &p, options, local);
}

/* ---------------------------------------------------------------- broadcast */

/* Root packs a chunk into the scratch buffer, everyone else unpacks it from there. */
static recur_status broadcast(recur_mpi *m, const mpi_params *p, recur_status local, int root)
{
    if (local == RECUR_OK && (root < 0 || root >= m->size))
        local = recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT, "root %d is outside [0, %d)",
                               root, m->size);
    size_t total = local == RECUR_OK ? p->total : 0;
    size_t bucket = recur_mpi_default_bucket(m), chunk = total < bucket ? total : bucket;
    if (local == RECUR_OK && m->size > 1 && !recur_mpi_reserve(m, chunk))
        local = recur_mpi_fail(m, RECUR_ERR_OUT_OF_MEMORY, "out of memory (%zu floats)", chunk);
    mpi_call call = {local, total, CALL_BROADCAST, 0, chunk, (uint64_t)(int64_t)root, 0};
    recur_status st = recur_mpi_agree(m, &call);
    if (st != RECUR_OK || m->size == 1 || total == 0)
        return st;
    for (size_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        if (m->rank == root)
            recur_mpi_pack(p, off, n, m->scratch, 1.0f, NULL);
        TRY_MPI(m, "MPI_Bcast", MPI_Bcast(m->scratch, (int)n, MPI_FLOAT, root, m->comm));
        if (m->rank != root)
            recur_mpi_unpack(p, off, n, m->scratch);
    }
    return RECUR_OK;
}

recur_status recur_mpi_model_broadcast(recur_mpi *m, const recur_model *model,
                                       recur_model_tensors *params, int root)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_model_params(m, model, params, &p);
    return broadcast(m, &p, local, root);
}

recur_status recur_mpi_rnn_broadcast(recur_mpi *m, const recur_rnn *rnn, recur_tensors *params,
                                     int root)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_rnn_params(m, rnn, params, &p);
    return broadcast(m, &p, local, root);
}

recur_status recur_mpi_broadcast(recur_mpi *m, size_t count, float *const *tensors,
                                 const size_t *sizes, int root)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_list_params(m, count, tensors, sizes, &p);
    return broadcast(m, &p, local, root);
}

/* ---------------------------------------------------------------- identical weights */

static recur_status check_identical(recur_mpi *m, const mpi_params *p, recur_status local,
                                    int *identical)
{
    if (local == RECUR_OK && !identical)
        local = recur_mpi_fail(m, RECUR_ERR_NULL_POINTER, "identical is NULL");
    size_t total = local == RECUR_OK ? p->total : 0;
    mpi_call call = {local, total, CALL_CHECK, 0, 0, 0, 0};
    recur_status st = recur_mpi_agree(m, &call);
    if (st != RECUR_OK)
        return st;
    uint64_t h = recur_mpi_hash(p);
    /* m->agree holds size * AGREE_FIELDS values: room for one hash per rank. */
    TRY_MPI(m, "MPI_Allgather (hashes)",
            MPI_Allgather(&h, 1, MPI_UINT64_T, m->agree, 1, MPI_UINT64_T, m->comm));
    int same = 1;
    for (int r = 0; r < m->size; r++)
        same &= m->agree[r] == m->agree[0];
    *identical = same;
    return RECUR_OK;
}

recur_status recur_mpi_model_check_identical(recur_mpi *m, const recur_model *model,
                                             const recur_model_tensors *params, int *identical)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_model_params(m, model, params, &p);
    return check_identical(m, &p, local, identical);
}

recur_status recur_mpi_rnn_check_identical(recur_mpi *m, const recur_rnn *rnn,
                                           const recur_tensors *params, int *identical)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    recur_status local = recur_mpi_rnn_params(m, rnn, (recur_tensors *)params, &p);
    return check_identical(m, &p, local, identical);
}

recur_status recur_mpi_check_identical(recur_mpi *m, size_t count, const float *const *tensors,
                                       const size_t *sizes, int *identical)
{
    if (!m)
        return RECUR_ERR_NULL_POINTER;
    m->error[0] = '\0';
    mpi_params p = {0};
    /* Only read: the list type is shared with the calls that write. */
    recur_status local = recur_mpi_list_params(m, count, (float *const *)tensors, sizes, &p);
    return check_identical(m, &p, local, identical);
}
