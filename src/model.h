/*
 * Internal model description and the pieces every driver shares: the batch's
 * sequence geometry (lengths, internal row order, active rows per step), views of
 * (time, sequence) rows in any layout, and the per-call state the team runs on.
 *
 * Internal buffers of one layer and direction ("pass") are time blocks of N rows of
 * H floats, rows in internal order (decreasing length, so the rows a step runs are a
 * prefix). A forward pass keeps sequence p's time t in block t (left-aligned); a
 * reverse pass in block t + T - len_p (right-aligned), so reverse step s reads block
 * T-1-s for every active row. Without lengths both are plain time-major blocks.
 */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include "parallel.h"

/* A hidden activation beyond the four fused ones (ONNX's parameterised list), applied
 * after the step kernel; forward only. */
typedef struct recur_act_ext {
    recur_onnx_activation kind;
    float alpha, beta;
} recur_act_ext;

struct recur_model {
    recur_model_config cfg;
    const recur_act_ext *ext; /* NULL, or per direction: replaces cfg.hidden_act */
    size_t D;     /* directions: 1 or 2 */
    size_t out_w; /* width of the last layer's output (D*H with CONCAT, else H) */
};

/* Input width of layer l's W. */
static inline size_t recur_model_in_w(const recur_model *m, size_t l)
{
    return l == 0 ? m->cfg.input_size : m->out_w;
}

/* Direction d of the model runs backwards in time. */
static inline int recur_model_rev(const recur_model *m, size_t d)
{
    return m->cfg.direction == RECUR_DIR_REVERSE || d == 1;
}

recur_status recur_model_config_check(const recur_model_config *cfg);
void recur_model_init(recur_model *m, const recur_model_config *cfg);

/* ---- sequence geometry */

typedef struct recur_seqs {
    size_t T, N;
    /* NULL when every length is T (perm is then the identity): */
    const size_t *len;    /* len[p], internal row p, non-increasing */
    const size_t *perm;   /* internal row p -> caller's batch index */
    const size_t *active; /* active[s]: rows with len > s */
} recur_seqs;

/* size_t slots recur_seqs_make needs in `mem`. */
static inline size_t recur_seqs_slots(size_t T, size_t N)
{
    return 2 * N + 2 * (T + 1); /* perm, len; active and the counting sort's counts */
}

/* 0 when a length is outside [1, T]. */
int recur_seqs_check(const int32_t *lengths, size_t T, size_t N);
/* 1 when some sequence is shorter than T (the rows are then reordered and the
 * time-parallel work runs per sequence). */
int recur_seqs_ragged(const int32_t *lengths, size_t T, size_t N);
/* Fills q from caller lengths (NULL: all T). */
void recur_seqs_make(recur_seqs *q, const int32_t *lengths, size_t T, size_t N, size_t *mem);

static inline size_t recur_seq_len(const recur_seqs *q, size_t p)
{
    return q->len ? q->len[p] : q->T;
}

static inline size_t recur_seq_active(const recur_seqs *q, size_t s)
{
    return q->active ? q->active[s] : q->N;
}

/* ---- views: row (t, p) of a sequence tensor at
 *   p + (t + shift) * st + n * sn,  shift = T - len_p when right-aligned, else 0,
 *   n = perm[p] for caller tensors, else p. */
typedef struct recur_view {
    float *p;
    ptrdiff_t st, sn;
    int right;
    int caller;
} recur_view;

static inline float *recur_view_row(const recur_view *v, const recur_seqs *q, size_t t,
                                    size_t p)
{
    size_t n = v->caller && q->perm ? q->perm[p] : p;
    size_t tt = t + (v->right && q->len ? q->T - q->len[p] : 0);
    return v->p + (ptrdiff_t)tt * v->st + (ptrdiff_t)n * v->sn;
}

/* Rows of every (t, p) sit at p + (t*N + p) * sn: one GEMM covers the sequence. */
static inline int recur_view_whole(const recur_view *v, const recur_seqs *q)
{
    return !q->len && v->st == (ptrdiff_t)q->N * v->sn;
}

/* An internal pass buffer (block 0 at data, rows of H floats). */
static inline recur_view recur_view_internal(float *data, const recur_seqs *q, size_t H,
                                             int right)
{
    recur_view v = {data, (ptrdiff_t)(q->N * H), (ptrdiff_t)H, right, 0};
    return v;
}

/* ---- team pieces over views (seq_rows.c); every thread of the team calls them */

typedef struct recur_rows {
    const recur_kernel_table *kt;
    const recur_seqs *q;
    size_t tid, nt;
    float *gs;         /* this thread's GEMM scratch */
    float *pre;        /* room for this thread's columns of a packed B (or NULL) */
    size_t pre_floats;
} recur_rows;

/* Floats of `pre` that one GEMM per sequence needs to pack its weights once: the
 * widest k times one thread's share of the widest n. */
size_t recur_rows_pre_floats(const recur_kernel_table *kt, size_t kmax, size_t nmax, size_t nt);

/* C(t,p)[0:n] = bias + A(t,p)[0:k] B (or (+)= without bias), B(k,j) = b[k*rsb + j*csb]. */
void recur_rows_gemm(const recur_rows *r, const recur_view *c, size_t n, const recur_view *a,
                     size_t k, const float *b, ptrdiff_t rsb, ptrdiff_t csb, int acc,
                     const float *bias);
/* C[m][n] (+)= sum over valid rows of A(t,p)[0:m]^T B(t,p)[0:n]; row stride ldc. */
void recur_rows_gemm_tn(const recur_rows *r, float *c, size_t ldc, size_t m, size_t n,
                        const recur_view *a, const recur_view *b, int acc);
/* out[j] (+)= sum over valid rows of A(t,p)[j], j < w. */
void recur_rows_colsum(const recur_rows *r, const recur_view *a, size_t w, float *out,
                       int acc);
/* dst = a (+ b when b) over valid rows, w floats each; a NULL: zeros. */
void recur_rows_combine(const recur_rows *r, const recur_view *dst, const recur_view *a,
                        const recur_view *b, size_t w);
/* Rows at t >= len of a caller tensor: zero. */
void recur_rows_zero_padding(const recur_rows *r, const recur_view *v, size_t w);
/* Rows of an internal pass buffer that hold no step: zero. */
void recur_rows_zero_unused(const recur_rows *r, float *data, size_t H, int right);

#endif

/* ---- one forward or backward call (model_forward.c, model_backward.c) */

typedef struct recur_call {
    const char *op;         /* the entry point's name (RECUR_VERBOSE) */
    recur_context *ctx;
    const recur_model *m;
    recur_seqs q;
    size_t T, N;
    const recur_model_weights *w;
    const float *bias;      /* [L*D][H] b + b_hh with two biases, else NULL (layer b) */
    int train;
    /* caller tensors */
    recur_view x;           /* width I */
    recur_view y;           /* direction 0's columns; y_sd: offset of direction 1's */
    ptrdiff_t y_sd;
    const float *h0;        /* [L*D] states or NULL */
    float *h_last;
    ptrdiff_t s_slot, s_n;  /* state tensors: slot and batch-row strides */
    /* internal buffers */
    float *states;          /* passes of (T+1)*N*H floats */
    size_t slots;           /* layers kept in states and sums (L when training) */
    float *sums;            /* SUM merge: T*N*H per kept layer */
    float *ys;              /* O > 0: outputs [T][N][O], internal rows; may be y itself */
    int direct;             /* the single pass's states are y itself */
    /* backward */
    const recur_backward_options *o;
    recur_view dy, dx;
    const float *dh_last;
    float *dh0;
    recur_model_tensors *g;
    float *dh;              /* dH / dA buffers: 2 sets (1 when L == 1) of D * T*N*H */
    float *dz;              /* O > 0 and g needs it: [T][N][O] */
    float *dh0_int;         /* ragged: dh0 in internal rows, L*D blocks of N*H */
    int failed;
} recur_call;

/* Pass (l, d): its state buffer's block 0, and its h0 block (before block 0 going
 * forward, after block T-1 going in reverse, so h_{prev} of every row is one block
 * away for the dU GEMM). */
float *recur_call_pass_data(const recur_call *c, size_t l, size_t d);
float *recur_call_pass_h0(const recur_call *c, size_t l, size_t d);

/* Layer l's input (l == L: the output layer's): up to two views, each feeding the
 * W columns [col, col + width). Returns the count. */
size_t recur_call_inputs(const recur_call *c, size_t l, recur_view v[2], size_t col[2],
                         size_t width[2]);

/* Layer l direction d bias (summed with two biases). */
const float *recur_call_bias(const recur_call *c, size_t l, size_t d);

recur_status recur_call_forward(recur_call *c);
/* RECUR_VERBOSE >= 1: one line on stderr for a finished call (src/verbose.c). */
void recur_verbose_call(const recur_call *c, recur_status st, double ms);
recur_status recur_call_backward(recur_call *c);
/* Team size for this call. */
size_t recur_call_team(const recur_call *c);
/* Its size for the team's solo spells: forward FMAs of all layers and directions. */
double recur_call_work(const recur_call *c);

/* One thread's share of a call's work within a crew (the whole team, or the half
 * that runs one direction): its step slice, packing buffer and GEMM scratch. */
typedef struct recur_thread_share {
    recur_rows r;          /* tid and nt within the crew */
    recur_team *team;
    recur_spin_barrier *bar; /* the half's barrier, or NULL: the team's */
    size_t phase;
    size_t r0, r1, n0, n1; /* hidden-unit slice and batch block of the steps */
    float *packed;         /* the slice of U (or U^T) packed, or a whole-sequence kernel's */
    int unpacked;          /* batch-1 forward steps read U as it is */
    size_t chunk;          /* rows of a step's chunks, run last first every other step
                            * (0: the slice in one piece; see share_plan) */
} recur_thread_share;

/* Chunk i of the n chunks of a slice of `rows` rows at step s: rows [*c0, *c1), in
 * the order last first when s is odd. */
static inline void recur_step_chunk(const recur_thread_share *x, size_t rows, size_t s,
                                    size_t i, size_t n, size_t *c0, size_t *c1)
{
    size_t k = s & 1 ? n - 1 - i : i, ch = x->chunk ? x->chunk : rows;
    *c0 = k * ch;
    *c1 = *c0 + ch < rows ? *c0 + ch : rows;
}

static inline size_t recur_step_chunks(const recur_thread_share *x, size_t rows)
{
    return x->chunk ? (rows + x->chunk - 1) / x->chunk : 1;
}

/* Every member of the crew must call it the same number of times. */
static inline void recur_share_barrier(recur_thread_share *s)
{
    if (s->r.nt <= 1)
        return;
    if (s->bar)
        recur_spin_barrier_wait(s->bar, s->r.nt, &s->phase);
    else
        recur_team_barrier(s->team, s->r.nt, &s->phase);
}

/* 1: pass d runs in the table's whole-sequence kernel (forward or BPTT): batch 1,
 * small H, forward in time, no clip. The one place that decides it. */
int recur_call_use_seq(const recur_call *c, size_t d, int backward);

/* Fills the thread's share of the whole team and, when the call runs its two
 * directions side by side (*halves = 1), its share of its half (half->r.tid's crew
 * is direction half_dir). 0 (in every thread) when a buffer could not be had. */
int recur_thread_share_init(recur_call *c, recur_team *team, size_t tid, size_t nt,
                            int backward, recur_thread_share *all, recur_thread_share *half,
                            int *halves, size_t *half_dir);

/* The extended activation over n floats in place (src/onnx.c). */
void recur_act_ext_apply(const recur_kernel_table *kt, const recur_act_ext *a, float *z,
                         size_t n);
