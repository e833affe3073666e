/*
 * Gradient reduction over the ranks, bucket by bucket.
 *
 * RECUR_MPI_ORDERED, for a bucket of n floats split into K segments (segment j: n/K
 * floats, one more for j < n % K): an all-to-all sends segment j of every rank to rank
 * j, which adds the K contributions in rank order 0..K-1 in double precision and rounds
 * once to float; an all-gather then gives every rank every reduced segment. Each float
 * is summed by exactly one rank in one fixed order, so all ranks get bitwise the same
 * result whatever algorithms the MPI library picks, and the traffic, 2 (K-1)/K n floats
 * per rank, is a ring allreduce's.
 *
 * RECUR_MPI_ALLREDUCE: MPI_Allreduce (one bucket) or MPI_Iallreduce (several) with
 * MPI_SUM in place, the weights applied while packing.
 *
 * Buckets, two slots used in turn: while bucket b's collectives run, bucket b+1 is
 * packed (with MPI_Test calls, which is what moves a non-blocking collective forward)
 * and bucket b-1 unpacked.
 *
 * When the caller's tensors lie back to back in memory in the packing order (one
 * allocation for all gradients), the buckets are slices of that memory: no packing,
 * no unpacking, half the memory traffic.
 */
#include <math.h>
#include <string.h>
#include "mpi_internal.h"

/* Elements summed per pass over the K contributions (double accumulators on the stack). */
#define SUM_TILE 256

typedef struct slot {
    float *buf;           /* bucket: packed, then reduced in place */
    float *recv;          /* ORDERED: K contributions to this rank's segment */
    const mpi_slot_ints *ints;
    MPI_Request req;
    size_t off, n;        /* floats [off, off + n) of the list */
} slot;

typedef struct plan {
    recur_mpi *m;
    const mpi_params *p;
    const recur_mpi_options *o;
    size_t bucket;
    int blocking;  /* one bucket: plain blocking collectives */
    float *direct; /* the tensors as one array (back to back), or NULL */
} plan;

static size_t seg_max(size_t bucket, int k)
{
    return (bucket + (size_t)k - 1) / (size_t)k;
}

/* Lays bucket [off, off + n) into slot s: segment counts and displacements. */
static void slot_setup(const plan *pl, slot *s, size_t off, size_t n)
{
    int k = pl->m->size, me = pl->m->rank;
    s->off = off;
    s->n = n;
    s->req = MPI_REQUEST_NULL;
    if (pl->direct)
        s->buf = pl->direct + off;
    const mpi_slot_ints *ix = s->ints;
    size_t at = 0;
    for (int j = 0; j < k; j++) {
        size_t c = n / (size_t)k + ((size_t)j < n % (size_t)k ? 1 : 0);
        ix->counts[j] = (int)c;
        ix->displs[j] = (int)at;
        at += c;
    }
    for (int j = 0; j < k; j++) {
        ix->rcounts[j] = ix->counts[me];
        ix->rdispls[j] = j * ix->counts[me];
    }
}

static recur_status pack(const plan *pl, slot *s, MPI_Request *pending)
{
    float scale = 1.0f;
    if (pl->o->reduction == RECUR_MPI_ALLREDUCE && pl->o->op == RECUR_MPI_MEAN) {
        double sum = 0;
        for (int r = 0; r < pl->m->size; r++)
            sum += pl->m->weights[r];
        scale = (float)(pl->m->weights[pl->m->rank] / sum);
    }
    if (pl->direct) { /* in place: only the ALLREDUCE weight to apply */
        if (scale != 1.0f)
            for (size_t i = 0; i < s->n; i++)
                s->buf[i] *= scale;
        return RECUR_OK;
    }
    int err = recur_mpi_pack(pl->p, s->off, s->n, s->buf, scale, pending);
    if (err != MPI_SUCCESS)
        return recur_mpi_fail_mpi(pl->m, "MPI_Test", err);
    return RECUR_OK;
}

static void unpack(const plan *pl, const slot *s)
{
    if (!pl->direct)
        recur_mpi_unpack(pl->p, s->off, s->n, s->buf);
}

/* The first collective of a bucket: the all-to-all (ORDERED) or the allreduce. */
static recur_status start_exchange(const plan *pl, slot *s)
{
    recur_mpi *m = pl->m;
    const mpi_slot_ints *ix = s->ints;
    if (pl->o->reduction == RECUR_MPI_ALLREDUCE) {
        if (pl->blocking)
            TRY_MPI(m, "MPI_Allreduce", MPI_Allreduce(MPI_IN_PLACE, s->buf, (int)s->n,
                                                      MPI_FLOAT, MPI_SUM, m->comm));
        else
            TRY_MPI(m, "MPI_Iallreduce", MPI_Iallreduce(MPI_IN_PLACE, s->buf, (int)s->n,
                                                        MPI_FLOAT, MPI_SUM, m->comm, &s->req));
        return RECUR_OK;
    }
    if (pl->blocking)
        TRY_MPI(m, "MPI_Alltoallv",
                MPI_Alltoallv(s->buf, ix->counts, ix->displs, MPI_FLOAT, s->recv, ix->rcounts,
                              ix->rdispls, MPI_FLOAT, m->comm));
    else
        TRY_MPI(m, "MPI_Ialltoallv",
                MPI_Ialltoallv(s->buf, ix->counts, ix->displs, MPI_FLOAT, s->recv, ix->rcounts,
                               ix->rdispls, MPI_FLOAT, m->comm, &s->req));
    return RECUR_OK;
}

/* ORDERED: this rank's segment of the bucket = its K contributions added in rank
 * order in double, times 1/sum of weights (MEAN), rounded once. */
static void sum_segment(const plan *pl, slot *s)
{
    const recur_mpi *m = pl->m;
    const mpi_slot_ints *ix = s->ints;
    size_t seg = (size_t)ix->counts[m->rank];
    float *out = s->buf + ix->displs[m->rank];
    int mean = pl->o->op == RECUR_MPI_MEAN;
    double total = 0;
    for (int r = 0; r < m->size; r++)
        total += m->weights[r];
    double acc[SUM_TILE];
    for (size_t i0 = 0; i0 < seg; i0 += SUM_TILE) {
        size_t nt = seg - i0 < SUM_TILE ? seg - i0 : SUM_TILE;
        for (size_t i = 0; i < nt; i++)
            acc[i] = 0;
        for (int r = 0; r < m->size; r++) {
            const float *g = s->recv + (size_t)r * seg + i0;
            double w = mean ? m->weights[r] : 1.0;
            for (size_t i = 0; i < nt; i++)
                acc[i] += w * (double)g[i];
        }
        for (size_t i = 0; i < nt; i++)
            out[i0 + i] = (float)(mean ? acc[i] / total : acc[i]);
    }
}

/* ORDERED: the all-gather of the reduced segments, in place. */
static recur_status start_gather(const plan *pl, slot *s)
{
    recur_mpi *m = pl->m;
    const mpi_slot_ints *ix = s->ints;
    if (pl->blocking)
        TRY_MPI(m, "MPI_Allgatherv",
                MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, s->buf, ix->counts,
                               ix->displs, MPI_FLOAT, m->comm));
    else
        TRY_MPI(m, "MPI_Iallgatherv",
                MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, s->buf, ix->counts,
                                ix->displs, MPI_FLOAT, m->comm, &s->req));
    return RECUR_OK;
}

static recur_status wait_slot(const plan *pl, slot *s)
{
    TRY_MPI(pl->m, "MPI_Wait", MPI_Wait(&s->req, MPI_STATUS_IGNORE));
    return RECUR_OK;
}

#define TRY(call)                                                                          \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        if (st_ != RECUR_OK)                                                               \
            return st_;                                                                    \
    } while (0)

static recur_status run(const plan *pl, slot slots[2])
{
    size_t total = pl->p->total, B = pl->bucket;
    size_t nb = (total + B - 1) / B;
    int ordered = pl->o->reduction == RECUR_MPI_ORDERED;
    slot_setup(pl, &slots[0], 0, total < B ? total : B);
    TRY(pack(pl, &slots[0], NULL));
    TRY(start_exchange(pl, &slots[0]));
    for (size_t b = 0; b < nb; b++) {
        slot *cur = &slots[b & 1], *next = &slots[(b + 1) & 1];
        if (b >= 1) { /* next still holds bucket b-1: finish and unpack it */
            TRY(wait_slot(pl, next));
            unpack(pl, next);
        }
        if (b + 1 < nb) {
            size_t off = (b + 1) * B;
            slot_setup(pl, next, off, total - off < B ? total - off : B);
            TRY(pack(pl, next, &cur->req));
        }
        TRY(wait_slot(pl, cur));
        if (ordered) {
            sum_segment(pl, cur);
            TRY(start_gather(pl, cur));
        }
        if (b + 1 < nb)
            TRY(start_exchange(pl, next));
    }
    slot *last = &slots[(nb - 1) & 1];
    TRY(wait_slot(pl, last));
    unpack(pl, last);
    return RECUR_OK;
}

/* Scratch floats of one slot: the packed bucket (unless in place), and for ORDERED the
 * K contributions to this rank's segment. */
static size_t slot_floats(size_t bucket, int k, int ordered, int direct)
{
    return (direct ? 0 : bucket) + (ordered ? (size_t)k * seg_max(bucket, k) : 0);
}

static recur_status check_options(recur_mpi *m, const recur_mpi_options *o)
{
    if (o->op != RECUR_MPI_MEAN && o->op != RECUR_MPI_SUM)
        return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT, "options->op is %d", (int)o->op);
    if (o->reduction != RECUR_MPI_ORDERED && o->reduction != RECUR_MPI_ALLREDUCE)
        return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT, "options->reduction is %d",
                              (int)o->reduction);
    if (o->op == RECUR_MPI_MEAN && !(o->weight >= 0 && isfinite(o->weight)))
        return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT,
                              "options->weight is %g (finite and >= 0 for MEAN)", o->weight);
    if (o->bucket_floats > RECUR_MPI_MAX_BUCKET_FLOATS)
        return recur_mpi_fail(m, RECUR_ERR_INVALID_ARGUMENT,
                              "options->bucket_floats %zu is above %zu", o->bucket_floats,
                              RECUR_MPI_MAX_BUCKET_FLOATS);
    return RECUR_OK;
}

recur_status recur_mpi_reduce_params(recur_mpi *m, const mpi_params *p,
                                     const recur_mpi_options *options, recur_status local)
{
    recur_mpi_options o = options ? *options : recur_mpi_options_default();
    if (local == RECUR_OK)
        local = check_options(m, &o);
    if (o.bucket_floats == 0)
        o.bucket_floats = recur_mpi_default_bucket(m);
    int ordered = o.reduction == RECUR_MPI_ORDERED;
    float *direct = local == RECUR_OK ? recur_mpi_contiguous(p) : NULL;
    size_t b = local == RECUR_OK && p->total < o.bucket_floats ? p->total : o.bucket_floats;
    size_t per = slot_floats(b, m->size, ordered, direct != NULL);
    int two = local == RECUR_OK && p->total > o.bucket_floats;
    if (local == RECUR_OK && m->size > 1) {
        size_t need = two ? 2 * per : per;
        if (!recur_mpi_reserve(m, need))
            local = recur_mpi_fail(m, RECUR_ERR_OUT_OF_MEMORY,
                                   "out of memory (%zu floats of scratch)", need);
    }
    mpi_call call = {local, local == RECUR_OK ? p->total : 0, CALL_REDUCE | (uint64_t)o.op,
                     (uint64_t)o.reduction, o.bucket_floats, 0,
                     o.op == RECUR_MPI_MEAN ? o.weight : 0};
    if (call.local != RECUR_OK && !isfinite(call.weight))
        call.weight = 0;
    recur_status st = recur_mpi_agree(m, &call);
    if (st != RECUR_OK || m->size == 1 || p->total == 0)
        return st; /* one rank: its gradients are already the mean and the sum */

    slot slots[2];
    for (int s = 0; s < 2; s++) {
        float *base = per ? m->scratch + (two ? (size_t)s * per : 0) : NULL;
        slots[s] = (slot){base, direct ? base : base + b, &m->ints[s], MPI_REQUEST_NULL, 0, 0};
    }
    plan pl = {m, p, &o, o.bucket_floats, !two, direct};
    return run(&pl, slots);
}
