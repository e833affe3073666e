/* Sequence geometry and the team pieces over (time, sequence) row views. */
#include <string.h>
#include "model.h"

int recur_seqs_check(const int32_t *lengths, size_t T, size_t N)
{
    if (!lengths)
        return 1;
    for (size_t n = 0; n < N; n++)
        if (lengths[n] < 1 || (uint64_t)lengths[n] > (uint64_t)T)
            return 0;
    return 1;
}

int recur_seqs_ragged(const int32_t *lengths, size_t T, size_t N)
{
    for (size_t n = 0; lengths && n < N; n++)
        if ((size_t)lengths[n] != T)
            return 1;
    return 0;
}

/* Internal order: decreasing length, ties in caller order (a counting sort, O(N + T)),
 * so the rows still running at any step are a prefix. */
void recur_seqs_make(recur_seqs *q, const int32_t *lengths, size_t T, size_t N, size_t *mem)
{
    q->T = T;
    q->N = N;
    q->len = q->perm = q->active = NULL;
    if (!recur_seqs_ragged(lengths, T, N))
        return;
    size_t *perm = mem, *len = mem + N, *active = mem + 2 * N, *count = active + T + 1;
    memset(count, 0, (T + 1) * sizeof *count);
    for (size_t n = 0; n < N; n++)
        count[lengths[n]]++;
    /* first slot of each length, longest first */
    size_t at = 0;
    for (size_t l = T + 1; l-- > 1;) {
        size_t c = count[l];
        count[l] = at;
        at += c;
    }
    for (size_t n = 0; n < N; n++) {
        size_t p = count[lengths[n]]++;
        perm[p] = n;
        len[p] = (size_t)lengths[n];
    }
    size_t a = N;
    for (size_t s = 0; s < T; s++) {
        while (a > 0 && len[a - 1] <= s)
            a--;
        active[s] = a;
    }
    q->len = len;
    q->perm = perm;
    q->active = active;
}

void recur_rows_gemm(const recur_rows *r, const recur_view *c, size_t n, const recur_view *a,
                     size_t k, const float *b, ptrdiff_t rsb, ptrdiff_t csb, int acc,
                     const float *bias)
{
    const recur_seqs *q = r->q;
    if (recur_view_whole(c, q) && recur_view_whole(a, q)) {
        recur_par_gemm(r->kt, r->tid, r->nt, q->T * q->N, n, k, a->p, a->sn, 1, b, rsb, csb,
                       c->p, (size_t)c->sn, acc, bias, r->gs);
        return;
    }
    /* One GEMM per sequence: its rows are evenly spaced in every layout. With room to
     * keep them, each thread packs its columns of B once for all the sequences. */
    const recur_kernel_table *kt = r->kt;
    size_t nr = kt->gemm_config.nr ? kt->gemm_config.nr : 1, maxm = recur_gemm_prepacked_max_m(kt);
    size_t tiles = (n + nr - 1) / nr;
    if (r->pre && maxm && tiles >= r->nt &&
        recur_rows_pre_floats(kt, k, n, r->nt) <= r->pre_floats) {
        size_t j0, j1;
        recur_split_units(n, nr, r->nt, r->tid, &j0, &j1);
        if (j0 >= j1)
            return;
        const float *bj = b + (ptrdiff_t)j0 * csb;
        recur_gemm_pack_b_all(kt, j1 - j0, k, bj, rsb, csb, r->pre);
        for (size_t p = 0; p < q->N; p++) {
            size_t len = recur_seq_len(q, p);
            const float *a0 = recur_view_row(a, q, 0, p);
            float *c0 = recur_view_row(c, q, 0, p) + j0;
            if (len <= maxm)
                recur_gemm_blocked_prepacked(kt, len, j1 - j0, k, a0, a->st, 1, r->pre, c0,
                                             (size_t)c->st, acc, bias ? bias + j0 : NULL, r->gs);
            else
                recur_par_gemm(kt, 0, 1, len, j1 - j0, k, a0, a->st, 1, bj, rsb, csb, c0,
                               (size_t)c->st, acc, bias ? bias + j0 : NULL, r->gs);
        }
        return;
    }
    for (size_t p = 0; p < q->N; p++)
        recur_par_gemm(r->kt, r->tid, r->nt, recur_seq_len(q, p), n, k,
                       recur_view_row(a, q, 0, p), a->st, 1, b, rsb, csb,
                       recur_view_row(c, q, 0, p), (size_t)c->st, acc, bias, r->gs);
}

size_t recur_rows_pre_floats(const recur_kernel_table *kt, size_t kmax, size_t nmax, size_t nt)
{
    size_t nr = kt->gemm_config.nr ? kt->gemm_config.nr : 1;
    size_t tiles = (nmax + nr - 1) / nr, per = (tiles + nt - 1) / nt;
    return recur_gemm_packed_b_floats(kt, per * nr, kmax);
}

void recur_rows_gemm_tn(const recur_rows *r, float *c, size_t ldc, size_t m, size_t n,
                        const recur_view *a, const recur_view *b, int acc)
{
    const recur_seqs *q = r->q;
    if (recur_view_whole(a, q) && recur_view_whole(b, q)) {
        recur_par_gemm(r->kt, r->tid, r->nt, m, n, q->T * q->N, a->p, 1, a->sn, b->p, b->sn, 1,
                       c, ldc, acc, NULL, r->gs);
        return;
    }
    /* Sequence by sequence into the same C blocks: each thread keeps its block, so
     * the order of the sum does not depend on the team. */
    for (size_t p = 0; p < q->N; p++)
        recur_par_gemm(r->kt, r->tid, r->nt, m, n, recur_seq_len(q, p),
                       recur_view_row(a, q, 0, p), 1, a->st, recur_view_row(b, q, 0, p),
                       b->st, 1, c, ldc, p == 0 ? acc : 1, NULL, r->gs);
}

void recur_rows_colsum(const recur_rows *r, const recur_view *a, size_t w, float *out,
                       int acc)
{
    const recur_seqs *q = r->q;
    if (recur_view_whole(a, q) && a->sn == (ptrdiff_t)w) {
        recur_par_column_sums(r->tid, r->nt, a->p, q->T * q->N, w, out, acc);
        return;
    }
    size_t j0, j1;
    recur_split_units(w, 16, r->nt, r->tid, &j0, &j1);
    if (j0 >= j1)
        return;
    if (!acc)
        memset(out + j0, 0, (j1 - j0) * sizeof(float));
    for (size_t p = 0; p < q->N; p++)
        for (size_t t = 0; t < recur_seq_len(q, p); t++) {
            const float *row = recur_view_row(a, q, t, p);
            for (size_t j = j0; j < j1; j++)
                out[j] += row[j];
        }
}

void recur_rows_combine(const recur_rows *r, const recur_view *dst, const recur_view *a,
                        const recur_view *b, size_t w)
{
    const recur_seqs *q = r->q;
    size_t i0, i1;
    recur_split(q->T * q->N, r->nt, r->tid, &i0, &i1);
    for (size_t i = i0; i < i1; i++) {
        size_t t = i / q->N, p = i % q->N;
        if (t >= recur_seq_len(q, p))
            continue;
        float *d = recur_view_row(dst, q, t, p);
        if (!a) {
            memset(d, 0, w * sizeof(float));
            continue;
        }
        const float *x = recur_view_row(a, q, t, p);
        if (!b) {
            memcpy(d, x, w * sizeof(float));
            continue;
        }
        const float *y = recur_view_row(b, q, t, p);
        for (size_t j = 0; j < w; j++)
            d[j] = x[j] + y[j];
    }
}

void recur_rows_zero_padding(const recur_rows *r, const recur_view *v, size_t w)
{
    const recur_seqs *q = r->q;
    if (!q->len)
        return;
    size_t i0, i1;
    recur_split(q->T * q->N, r->nt, r->tid, &i0, &i1);
    for (size_t i = i0; i < i1; i++) {
        size_t t = i / q->N, p = i % q->N;
        if (t >= q->len[p]) /* the caller's row for time t (no alignment shift) */
            memset(v->p + (ptrdiff_t)t * v->st + (ptrdiff_t)q->perm[p] * v->sn, 0,
                   w * sizeof(float));
    }
}

void recur_rows_zero_unused(const recur_rows *r, float *data, size_t H, int right)
{
    const recur_seqs *q = r->q;
    if (!q->len)
        return;
    size_t i0, i1;
    recur_split(q->T * q->N, r->nt, r->tid, &i0, &i1);
    for (size_t i = i0; i < i1; i++) {
        size_t blk = i / q->N, p = i % q->N;
        int used = right ? blk + q->len[p] >= q->T : blk < q->len[p];
        if (!used)
            memset(data + i * H, 0, H * sizeof(float));
    }
}
