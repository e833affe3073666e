/*
 * recur_mpi — data-parallel training of recur models over MPI.
 *
 * A companion library (librecur_mpi, pkg-config name recur_mpi) so that librecur itself
 * keeps no MPI dependency. C11, usable from C++. See docs/distributed.md.
 *
 * Data parallelism: every rank holds the same weights, runs forward and BPTT on its
 * own shard of each batch, then the ranks combine their gradients, so that every rank
 * applies the same SGD step to the same weights:
 *
 *     recur_mpi_model_broadcast(mpi, model, &params, 0);       once, from rank 0
 *     per step:
 *         recur_mpi_shard(mpi, batch, &first, &rows);          this rank's rows
 *         recur_model_forward_train(...); loss; recur_model_backward(...);
 *         opts.weight = counted rows of this rank's loss;       see recur_mpi_options
 *         recur_mpi_model_allreduce_grads(mpi, model, &grads, &opts);
 *         recur_model_clip_grad_norm(...); recur_model_sgd_update(...);
 *
 * Reduction: all parameters go through one contiguous buffer (one message per bucket,
 * never one per tensor). The default reduction (RECUR_MPI_ORDERED) sums in a fixed
 * order: rank k's contribution is added in double precision in rank order 0..K-1, by
 * one owner rank per segment of the buffer (an all-to-all sends each segment to its
 * owner, an all-gather returns the sums), then rounded once to float. So:
 *   - every rank receives bitwise the same gradients (each sum is computed once), and
 *     the SGD step keeps the weights bitwise identical on every rank;
 *   - a run is bitwise reproducible for a fixed rank count, whatever MPI library,
 *     network or algorithm tuning carries the messages;
 *   - the result differs from a single process on the concatenated batch only by
 *     float rounding (the shard sums are summed in another order).
 * RECUR_MPI_ALLREDUCE uses the MPI library's MPI_Allreduce (MPI_Iallreduce for
 * buckets) in place instead: the same traffic, the MPI library's own summation order
 * (reproducible only as far as that library's algorithm choice is).
 * Large parameter sets go in buckets of bucket_floats: the exchange of one bucket runs
 * while the next is packed (non-blocking collectives), and the scratch memory stays a
 * few buckets instead of a few copies of the model. Tensors that lie back to back in
 * memory in the packing order (one allocation for all gradients: per layer and direction
 * W, U, b, b_hh, then V, c) are reduced in place, without packing.
 *
 * Every call is collective over the handle's communicator: all ranks call it with the
 * same model shape and options (weights may differ). Arguments are checked on every
 * rank first, then the ranks exchange a few numbers (their verdicts, parameter counts
 * and options); if any rank's arguments are bad, or the ranks disagree, every rank
 * returns the same error status and nothing is written on any rank. recur_mpi_last_error
 * says what was wrong. (A NULL handle returns RECUR_ERR_NULL_POINTER at once, without
 * communicating: the other ranks would then wait; treat it as fatal.)
 *
 * MPI errors: the handle holds a duplicate of the communicator with MPI_ERRORS_RETURN,
 * so a failing MPI call returns to the library, which returns a status (MPI_ERR_NO_MEM:
 * RECUR_ERR_OUT_OF_MEMORY; MPI's argument classes such as MPI_ERR_COMM, MPI_ERR_COUNT or
 * MPI_ERR_TRUNCATE: RECUR_ERR_INVALID_ARGUMENT; any other failure, e.g. a lost process:
 * RECUR_ERR_COMMUNICATION). The library never calls MPI_Abort. After an MPI failure in the middle
 * of a reduction, gradients may be partly reduced; the job should stop.
 *
 * Threads: MPI is called only from the calling thread, never from recur's OpenMP
 * threads: initialise MPI with at least MPI_THREAD_FUNNELED. A handle is used by one
 * thread at a time.
 */
#ifndef RECUR_MPI_H
#define RECUR_MPI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include "recur.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RECUR_MPI_API
#elif defined(__GNUC__)
#define RECUR_MPI_API __attribute__((visibility("default")))
#else
#define RECUR_MPI_API
#endif

/* ---------------------------------------------------------------- handle */

typedef struct recur_mpi recur_mpi;

/*
 * A handle over a duplicate of comm (MPI_Comm_dup, with MPI_ERRORS_RETURN set on the
 * duplicate), plus scratch buffers reused across calls. Collective over comm. MPI must
 * be initialised and not finalised (else RECUR_ERR_INVALID_ARGUMENT); MPI_COMM_NULL and
 * inter-communicators give RECUR_ERR_INVALID_ARGUMENT. Until the duplicate exists
 * (MPI_Comm_test_inter, MPI_Comm_size, MPI_Comm_dup on comm), MPI errors go through
 * comm's own error handler, as MPI prescribes.
 */
RECUR_MPI_API recur_status recur_mpi_create(recur_mpi **mpi, MPI_Comm comm);
/* Frees the duplicate communicator (collective, like MPI_Comm_free) and the scratch.
 * NULL is a no-op. Call it before MPI_Finalize. */
RECUR_MPI_API void recur_mpi_destroy(recur_mpi *mpi);

/* This process's rank and the number of ranks of the handle's communicator (0 and 1
 * for NULL). */
RECUR_MPI_API int recur_mpi_rank(const recur_mpi *mpi);
RECUR_MPI_API int recur_mpi_size(const recur_mpi *mpi);

/*
 * This rank's rows of a batch of n: rows [*first, *first + *count), in rank order. The
 * first n % K ranks get one row more than the others; when n < K, ranks n .. K-1 get
 * none (they still take part in the reduction, with zero gradients and weight 0).
 * Writes nothing and returns RECUR_ERR_NULL_POINTER for a NULL argument. No
 * communication.
 */
RECUR_MPI_API recur_status recur_mpi_shard(const recur_mpi *mpi, size_t n, size_t *first,
                                           size_t *count);

/*
 * Why the last call on mpi failed: the MPI function and MPI's error string, or which
 * argument (and on which rank) was rejected; "" after a call that succeeded. A static
 * string for NULL. Valid until the next call on mpi.
 */
RECUR_MPI_API const char *recur_mpi_last_error(const recur_mpi *mpi);

/* ---------------------------------------------------------------- options */

typedef enum recur_mpi_op {
    /* sum_k w_k g_k / sum_k w_k, w_k = each rank's options.weight: the gradient of a loss
     * that is a mean over the rows of the whole batch, when each rank's g_k is the mean
     * over its own rows and w_k counts them. With every weight 1: the plain average. */
    RECUR_MPI_MEAN = 0,
    /* sum_k g_k: for losses summed (not averaged) over rows; weights are ignored. */
    RECUR_MPI_SUM = 1
} recur_mpi_op;

typedef enum recur_mpi_reduction {
    RECUR_MPI_ORDERED = 0,  /* fixed order, double accumulation, bitwise reproducible */
    RECUR_MPI_ALLREDUCE = 1 /* the MPI library's MPI_Allreduce / MPI_Iallreduce, in place */
} recur_mpi_reduction;

/*
 * Default bucket: max(RECUR_MPI_DEFAULT_BUCKET_FLOATS, K * RECUR_MPI_SEGMENT_FLOATS)
 * floats on K ranks. On a few ranks, buckets of 1 MiB are packed, exchanged and summed
 * while they are in cache (measured faster than one bucket; docs/distributed.md); on
 * many, each rank's segment of a bucket (one message to each other rank per phase)
 * stays at least 256 KiB, so that the K - 1 messages are not latency-bound.
 */
#define RECUR_MPI_DEFAULT_BUCKET_FLOATS ((size_t)1 << 18)
#define RECUR_MPI_SEGMENT_FLOATS ((size_t)1 << 16)
/* Largest bucket (keeps every MPI count within int). */
#define RECUR_MPI_MAX_BUCKET_FLOATS ((size_t)1 << 28)

typedef struct recur_mpi_options {
    recur_mpi_op op;
    /* RECUR_MPI_MEAN: this rank's weight, finite and >= 0 (e.g. the rows its loss
     * averaged over; 0 for a rank without rows). The weights of all ranks must not add
     * up to 0. Ignored by RECUR_MPI_SUM. */
    double weight;
    recur_mpi_reduction reduction;
    /* Floats per bucket: 0 = the default above; at most RECUR_MPI_MAX_BUCKET_FLOATS.
     * Parameter sets up to this size go in one bucket (blocking collectives); larger
     * ones are pipelined bucket by bucket. */
    size_t bucket_floats;
} recur_mpi_options;

/* { RECUR_MPI_MEAN, 1.0, RECUR_MPI_ORDERED, 0 }: the plain average, fixed order. */
RECUR_MPI_API recur_mpi_options recur_mpi_options_default(void);

/* ---------------------------------------------------------------- gradients */

/*
 * Combines grads across the ranks (options NULL = defaults), in place: on return every
 * rank holds the same values. Tensors as for recur_model_backward: every layer's W, U, b
 * (and b_hh with two_biases), V and c when O > 0; all required. With two_biases, b and
 * b_hh are reduced separately (ORDERED keeps them equal: equal inputs, the same order).
 * Collective. Errors: RECUR_ERR_NULL_POINTER, RECUR_ERR_INVALID_ARGUMENT (a bad op,
 * reduction, weight or bucket size, the ranks' models or options differ, the weights
 * add up to 0), RECUR_ERR_OUT_OF_MEMORY, and MPI failures as above.
 */
RECUR_MPI_API recur_status recur_mpi_model_allreduce_grads(recur_mpi *mpi,
                                                           const recur_model *model,
                                                           recur_model_tensors *grads,
                                                           const recur_mpi_options *options);

/* The same for a recur_rnn's gradients (W, U, b; V and c when O > 0). */
RECUR_MPI_API recur_status recur_mpi_rnn_allreduce_grads(recur_mpi *mpi, const recur_rnn *rnn,
                                                         recur_tensors *grads,
                                                         const recur_mpi_options *options);

/*
 * The same for any list of float arrays: tensors[i] holds sizes[i] floats (sizes[i]
 * may be 0; count >= 1). E.g. extra parameters, or a rank's mean loss as a one-float
 * tensor with the rank's counted rows as weight: the batch's mean loss.
 */
RECUR_MPI_API recur_status recur_mpi_allreduce(recur_mpi *mpi, size_t count,
                                               float *const *tensors, const size_t *sizes,
                                               const recur_mpi_options *options);

/* ---------------------------------------------------------------- weights */

/*
 * Copies root's parameters into every other rank's (same tensors as the gradients
 * above; on root they are only read). Use it once after initialising the weights on
 * root, so that every rank starts from the same point. Collective; root must be the
 * same on every rank, in [0, size). Sent in pieces of the default bucket size through
 * one scratch buffer.
 */
RECUR_MPI_API recur_status recur_mpi_model_broadcast(recur_mpi *mpi, const recur_model *model,
                                                     recur_model_tensors *params, int root);
RECUR_MPI_API recur_status recur_mpi_rnn_broadcast(recur_mpi *mpi, const recur_rnn *rnn,
                                                   recur_tensors *params, int root);
RECUR_MPI_API recur_status recur_mpi_broadcast(recur_mpi *mpi, size_t count,
                                               float *const *tensors, const size_t *sizes,
                                               int root);

/*
 * *identical = 1 when every rank's parameters are bitwise the same, else 0: a 64-bit
 * hash (FNV-1a over the bytes, in the order of the tensors) of each rank is gathered
 * and compared. A check for the invariant of data-parallel SGD, cheap enough to run
 * every few steps. Collective; writes only *identical.
 */
RECUR_MPI_API recur_status recur_mpi_model_check_identical(recur_mpi *mpi,
                                                           const recur_model *model,
                                                           const recur_model_tensors *params,
                                                           int *identical);
RECUR_MPI_API recur_status recur_mpi_rnn_check_identical(recur_mpi *mpi, const recur_rnn *rnn,
                                                         const recur_tensors *params,
                                                         int *identical);
RECUR_MPI_API recur_status recur_mpi_check_identical(recur_mpi *mpi, size_t count,
                                                     const float *const *tensors,
                                                     const size_t *sizes, int *identical);

#ifdef __cplusplus
}
#endif

#endif /* RECUR_MPI_H */
