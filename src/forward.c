/*
 * Forward driver: the input projection for all steps at once (one GEMM), then T
 * fused recurrent steps, then the output layer for all steps at once (one GEMM
 * plus g). ISA-free: every kernel comes from the context's table.
 */
#include <string.h>
#include "internal.h"
#include "workspace.h"

/* rows x cols matrix whose every row is v. */
static void broadcast_rows(float *dst, size_t rows, size_t cols, const float *v)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * cols, v, cols * sizeof(float));
}

/*
 * h [T][N][H] receives the states; hprev0 is h_{-1} ([N][H], never NULL here).
 * y [T][N][O] receives the outputs when O > 0.
 */
static void forward_core(const recur_kernel_table *kt, const recur_rnn *rnn,
                         const recur_dims *d, const recur_weights *w, const float *x,
                         const float *hprev0, float *h, float *y, float *packed,
                         float *gemm_scratch)
{
    const size_t H = d->H, I = d->I, O = d->O, N = d->N;

    /* P = x W^T + b for every step, written where the states go. */
    broadcast_rows(h, d->tn, H, w->b);
    kt->gemm(kt, d->tn, H, I, x, (ptrdiff_t)I, 1, w->W, 1, (ptrdiff_t)I, h, H, 1,
             gemm_scratch);

    kt->pack_rec(H, H, w->U, (ptrdiff_t)H, 1, packed);
    for (size_t t = 0; t < d->T; t++) {
        const float *hp = t == 0 ? hprev0 : h + (t - 1) * d->nh;
        float *ht = h + t * d->nh;
        kt->rnn_step(N, H, H, packed, hp, H, ht, H, ht, H, rnn->cfg.hidden_act);
    }

    if (O == 0)
        return;
    broadcast_rows(y, d->tn, O, w->c);
    kt->gemm(kt, d->tn, O, H, h, (ptrdiff_t)H, 1, w->V, 1, (ptrdiff_t)H, y, O, 1,
             gemm_scratch);
    if (rnn->cfg.output_act == RECUR_ACT_SOFTMAX)
        kt->softmax_rows(d->tn, O, y);
    else
        kt->activate(rnn->cfg.output_act, d->y, y);
}

/* Checks shared by both forward entry points. */
static recur_status forward_check(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                  size_t N, const recur_weights *w, const float *x,
                                  const float *y, recur_dims *d)
{
    if (!ctx || !rnn || !x || !y)
        return RECUR_ERR_NULL_POINTER;
    recur_status st = recur_weights_check(rnn, w);
    if (st != RECUR_OK)
        return st;
    return recur_dims_check(rnn, T, N, d);
}

recur_status recur_forward(recur_context *ctx, const recur_rnn *rnn, size_t T, size_t N,
                           const recur_weights *w, const float *x, const float *h0,
                           float *y, float *h_last)
{
    recur_dims d;
    recur_status st = forward_check(ctx, rnn, T, N, w, x, y, &d);
    if (st != RECUR_OK)
        return st;
    const recur_kernel_table *kt = ctx->kt;

    /* Scratch: [zeros h0 | states (when O > 0) | packed U | GEMM packing]. */
    size_t z = recur_align16(d.nh);
    size_t hs = d.O > 0 ? recur_align16(d.hseq) : 0;
    size_t pk = recur_align16(kt->packed_rec_floats(d.H, d.H));
    size_t total;
    if (!recur_add_ok(z, hs, &total) || !recur_add_ok(total, pk, &total) ||
        !recur_add_ok(total, recur_gemm_scratch_floats(kt), &total))
        return RECUR_ERR_SIZE_OVERFLOW;
    float *s = recur_context_scratch(ctx, total);
    if (!s)
        return RECUR_ERR_OUT_OF_MEMORY;
    float *zeros = s, *states = s + z, *packed = s + z + hs, *gs = packed + pk;

    const float *hprev0 = h0;
    if (!h0) {
        memset(zeros, 0, d.nh * sizeof(float));
        hprev0 = zeros;
    }
    float *h = d.O > 0 ? states : y;
    forward_core(kt, rnn, &d, w, x, hprev0, h, y, packed, gs);
    if (h_last)
        memcpy(h_last, h + (T - 1) * d.nh, d.nh * sizeof(float));
    return RECUR_OK;
}

recur_status recur_workspace_size(const recur_rnn *rnn, size_t T, size_t N, size_t *bytes)
{
    if (!rnn || !bytes)
        return RECUR_ERR_NULL_POINTER;
    recur_dims d;
    recur_status st = recur_dims_check(rnn, T, N, &d);
    if (st != RECUR_OK)
        return st;
    size_t b = recur_ws_bytes(&d);
    if (b == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    *bytes = b;
    return RECUR_OK;
}

recur_status recur_forward_train(recur_context *ctx, const recur_rnn *rnn, size_t T,
                                 size_t N, const recur_weights *w, const float *x,
                                 const float *h0, float *y, float *h_last, void *workspace,
                                 size_t workspace_size)
{
    recur_dims d;
    recur_status st = forward_check(ctx, rnn, T, N, w, x, y, &d);
    if (st != RECUR_OK)
        return st;
    if (!workspace)
        return RECUR_ERR_NULL_POINTER;
    if ((uintptr_t)workspace % sizeof(float) != 0)
        return RECUR_ERR_INVALID_ARGUMENT;
    size_t need = recur_ws_bytes(&d);
    if (need == 0)
        return RECUR_ERR_SIZE_OVERFLOW;
    if (workspace_size < need)
        return RECUR_ERR_WORKSPACE_TOO_SMALL;
    const recur_kernel_table *kt = ctx->kt;

    size_t pk = recur_align16(kt->packed_rec_floats(d.H, d.H));
    size_t total;
    if (!recur_add_ok(pk, recur_gemm_scratch_floats(kt), &total))
        return RECUR_ERR_SIZE_OVERFLOW;
    float *s = recur_context_scratch(ctx, total);
    if (!s)
        return RECUR_ERR_OUT_OF_MEMORY;

    recur_ws_header hdr;
    recur_ws_header_make(rnn, &d, &hdr);
    memcpy(workspace, &hdr, sizeof hdr);
    float *hs = recur_ws_states(workspace);
    if (h0)
        memcpy(hs, h0, d.nh * sizeof(float));
    else
        memset(hs, 0, d.nh * sizeof(float));
    float *h = hs + d.nh;
    forward_core(kt, rnn, &d, w, x, hs, h, d.O > 0 ? y : NULL, s, s + pk);
    if (d.O > 0)
        memcpy(h + d.hseq, y, d.y * sizeof(float));
    else
        memcpy(y, h, d.hseq * sizeof(float));
    if (h_last)
        memcpy(h_last, h + (T - 1) * d.nh, d.nh * sizeof(float));
    return RECUR_OK;
}
