/*
 * Training workspace: a header that identifies the call that filled it, then
 *   hs [(T+1)][N][H]   h0 followed by h_0 .. h_{T-1} (so h_{t-1} is hs + t*N*H)
 *   ys [T][N][O]       y_t, only when O > 0 (g' is taken from it)
 * The header is copied with memcpy, so any float-aligned buffer works.
 */
#ifndef RECUR_WORKSPACE_H
#define RECUR_WORKSPACE_H

#include <string.h>
#include "internal.h"

#define RECUR_WS_MAGIC 0x72656375727753ULL /* "recurwS" */
#define RECUR_WS_HEADER_BYTES 64

typedef struct recur_ws_header {
    uint64_t magic;
    uint64_t T, N, I, H, O;
    uint32_t f, g;
} recur_ws_header;

static inline void recur_ws_header_make(const recur_rnn *rnn, const recur_dims *d,
                                        recur_ws_header *h)
{
    memset(h, 0, sizeof *h);
    h->magic = RECUR_WS_MAGIC;
    h->T = d->T;
    h->N = d->N;
    h->I = d->I;
    h->H = d->H;
    h->O = d->O;
    h->f = (uint32_t)rnn->cfg.hidden_act;
    h->g = (uint32_t)rnn->cfg.output_act;
}

/* Required bytes; 0 on overflow. */
static inline size_t recur_ws_bytes(const recur_dims *d)
{
    size_t floats, bytes, total;
    size_t ys = d->O > 0 ? d->y : 0;
    if (!recur_add_ok(d->hseq, d->nh, &floats) || !recur_add_ok(floats, ys, &floats) ||
        !recur_mul_ok(floats, sizeof(float), &bytes) ||
        !recur_add_ok(bytes, RECUR_WS_HEADER_BYTES, &total))
        return 0;
    return total;
}

static inline float *recur_ws_states(void *ws)
{
    return (float *)((char *)ws + RECUR_WS_HEADER_BYTES);
}

#endif
