/*
 * recur — fast Elman RNNs on multi-core CPUs.
 *
 * One public header, C11, usable from C++.
 *
 * Model (course notation), for t = 0 .. T-1:
 *     h_t = f(W x_t + U h_{t-1} + b)        h_{-1} = h0 (zeros when h0 is NULL)
 *     y_t = g(V h_t + c)                    only when O > 0; with O == 0, y_t is h_t
 *
 * Sizes: T steps, N batch, I inputs, H hidden units, O outputs (0 = no output layer).
 *
 * Memory layouts (all float32, dense, row-major, no padding):
 *     x  [T][N][I]     input sequence, time-major
 *     h  [T][N][H]     hidden states
 *     y  [T][N][O]     outputs ([T][N][H] when O == 0)
 *     h0, h_last, dh0, dh_last  [N][H]
 *     W  [H][I]   U [H][H]   b [H]   V [O][H]   c [O]
 * W and U have the layout of PyTorch's nn.RNN weight_ih_l0 and weight_hh_l0, so a
 * torch model loads without transposition; torch keeps two biases (bias_ih_l0 and
 * bias_hh_l0): recur's b is their sum.
 *
 * Errors: every entry point returns a recur_status. On any status other than
 * RECUR_OK nothing has been written to any output argument. The library never
 * aborts, exits or prints.
 *
 * Threads: a recur_context is used by one thread at a time; separate contexts may
 * be used concurrently. recur_rnn descriptors are immutable and may be shared.
 * Each call may itself run several threads (see "threads" below).
 *
 * Numerical bounds of the SIMD kernels against the scalar oracle are documented
 * in README.md ("Accuracy").
 */
#ifndef RECUR_H
#define RECUR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RECUR_API
#elif defined(__GNUC__)
#define RECUR_API __attribute__((visibility("default")))
#else
#define RECUR_API
#endif

/* ---------------------------------------------------------------- version */

#define RECUR_VERSION_MAJOR 0
#define RECUR_VERSION_MINOR 1
#define RECUR_VERSION_PATCH 0

/* Version of the library actually linked, as "MAJOR.MINOR.PATCH". */
RECUR_API const char *recur_version_string(void);
/* The same as MAJOR * 10000 + MINOR * 100 + PATCH. */
RECUR_API int recur_version(void);

/* ---------------------------------------------------------------- status */

typedef enum recur_status {
    RECUR_OK = 0,
    RECUR_ERR_NULL_POINTER = 1,      /* a required pointer argument is NULL */
    RECUR_ERR_INVALID_SIZE = 2,      /* a size is zero where it must not be */
    RECUR_ERR_SIZE_OVERFLOW = 3,     /* a product of sizes overflows size_t */
    RECUR_ERR_INVALID_ARGUMENT = 4,  /* an enum, flag, target index or scalar is out of range */
    RECUR_ERR_OUT_OF_MEMORY = 5,     /* an internal allocation failed */
    RECUR_ERR_UNSUPPORTED_ISA = 6,   /* the ISA is not in this build or not on this CPU */
    RECUR_ERR_WORKSPACE_TOO_SMALL = 7,/* workspace_size is below recur_workspace_size() */
    RECUR_ERR_WORKSPACE_MISMATCH = 8,/* the workspace was not filled by recur_forward_train
                                        for this descriptor, T and N */
    RECUR_ERR_UNSUPPORTED = 9,       /* a well-formed option this library does not implement
                                        (e.g. an ONNX activation outside its list) */
    RECUR_ERR_COMMUNICATION = 10     /* communication between processes failed
                                        (librecur_mpi: an MPI call returned an error) */
} recur_status;

/* A static English sentence for a status; never NULL (unknown codes included). */
RECUR_API const char *recur_status_string(recur_status status);

/* ---------------------------------------------------------------- ISA */

typedef enum recur_isa {
    RECUR_ISA_AUTO = 0,   /* best available on this CPU */
    RECUR_ISA_SCALAR = 1, /* portable C, the correctness oracle */
    RECUR_ISA_AVX2 = 2,   /* x86-64 AVX2 + FMA */
    RECUR_ISA_AVX512 = 3, /* x86-64 AVX-512F */
    RECUR_ISA_NEON = 4    /* AArch64 Advanced SIMD */
} recur_isa;

/* Lower-case name ("scalar", "avx2", "avx512", "neon", "auto"); "unknown" otherwise. */
RECUR_API const char *recur_isa_name(recur_isa isa);
/* 1 when this build has kernels for isa and this CPU (and OS) can run them. */
RECUR_API int recur_isa_supported(recur_isa isa);
/* The ISA that RECUR_ISA_AUTO resolves to on this machine, ignoring RECUR_ISA. */
RECUR_API recur_isa recur_isa_best(void);

/* ---------------------------------------------------------------- context */

/*
 * A context holds the kernel table in use and scratch memory reused across calls.
 * On creation its ISA comes from the environment variable RECUR_ISA
 * (scalar | avx2 | avx512 | neon | auto; unset or empty means auto). If RECUR_ISA
 * names an ISA that is unknown or not supported here, creation fails with
 * RECUR_ERR_UNSUPPORTED_ISA (or RECUR_ERR_INVALID_ARGUMENT for an unknown name).
 *
 * The GEMM cache blocks (kc, mc, nc) of each ISA are chosen once per process from the
 * detected caches (L1d, L2, a core's share of the L3; docs/kernels.md). For
 * experiments the environment variable RECUR_GEMM_BLOCKS="kc,mc,nc" overrides them:
 * plain counts, kc <= 1024, mc <= 4096, nc <= 8192 (mc and nc rounded to whole
 * register tiles); an empty or missing field keeps the chosen value ("256", ",120");
 * any other value is ignored as a whole. kc sets where each GEMM's sums are split, so
 * one ISA's results may differ in the last bits between machines with different
 * caches or blocks (never between thread counts).
 */
typedef struct recur_context recur_context;

RECUR_API recur_status recur_context_create(recur_context **ctx);
RECUR_API void recur_context_destroy(recur_context *ctx); /* NULL is a no-op */

/* Force the kernel table of ctx; unsupported ISAs leave ctx unchanged. */
RECUR_API recur_status recur_context_set_isa(recur_context *ctx, recur_isa isa);
/* The ISA in use by ctx (never RECUR_ISA_AUTO); RECUR_ISA_SCALAR for NULL. */
RECUR_API recur_isa recur_context_isa(const recur_context *ctx);

/* ---------------------------------------------------------------- threads */

/*
 * Each forward or backward call runs one team of threads (OpenMP): the recurrent
 * step is split over hidden units (each thread keeps its slice of U packed in its
 * own buffer for all T steps) and over the batch when N is large; the input
 * projection, output layer and weight gradients are split over output blocks.
 *
 * Thread count of a new context: the environment variable RECUR_NUM_THREADS, else
 * OMP_NUM_THREADS (its first number), else the number of physical cores, but no more
 * than the physical cores and the CPUs of the calling thread's affinity mask (taskset,
 * numactl, an MPI launcher's binding) and the cgroup CPU quota (cpu.max, rounded up). The variables take plain counts 1..1024 (anything else, "-1" included,
 * is ignored) and are capped at the number of physical cores: more threads than cores
 * only through recur_context_set_num_threads. Small problems may use fewer threads than set. Called from inside an active OpenMP
 * parallel region of the caller, a call runs single-threaded (no nested team, no
 * oversubscription). A build without OpenMP always runs one thread.
 *
 * Waiting threads spin briefly, then sleep (futex) until the step completes, so a call
 * sharing its cores with busy neighbours does not wait a scheduler time slice per step.
 *
 * Determinism: for a given ISA, outputs, hidden states, gradients (and so weights
 * updated from them) are bitwise identical for every thread count; every sum is
 * split over its outputs or kept in a fixed order, never in an order that depends
 * on the number of threads.
 */

/* n threads for ctx's calls (0 = the default above); n <= 1024, else INVALID_ARGUMENT. */
RECUR_API recur_status recur_context_set_num_threads(recur_context *ctx, size_t n);
/* Threads ctx's calls may use (1 without OpenMP, and for NULL). */
RECUR_API size_t recur_context_get_num_threads(const recur_context *ctx);

/*
 * on = 1: each call binds its threads one per physical core of the calling thread's CPU
 * affinity mask (thread i to the mask's i-th core, all of that core's CPUs in the mask;
 * never a core outside it, e.g. under taskset or an MPI launcher's binding). Off by
 * default. The binding stays on the OpenMP worker threads after the call; the calling
 * thread gets its own mask back. Only applied while the thread count is at most the
 * machine's core count.
 */
RECUR_API recur_status recur_context_set_thread_binding(recur_context *ctx, int on);

/* What the library detected about the machine (hwloc, else sysconf and sysfs). */
typedef struct recur_topology {
    size_t cores;        /* physical cores; SMT siblings are counted once */
    size_t logical_cpus; /* online hardware threads */
    size_t l1d_bytes;    /* L1 data cache of one core (0 = unknown) */
    size_t l2_bytes;     /* L2 cache of one core (0 = unknown) */
    size_t l3_bytes;     /* one L3 cache instance (0 = unknown) */
    size_t numa_nodes;
    size_t threads;      /* recur_context_get_num_threads(ctx) */
    int hwloc;           /* 1: detected through hwloc */
    int openmp;          /* 1: this build runs teams with OpenMP */
    int binding;         /* 1: thread binding is on for ctx */
} recur_topology;

RECUR_API recur_status recur_context_get_topology(const recur_context *ctx,
                                                  recur_topology *topology);

/* ---------------------------------------------------------------- descriptor */

typedef enum recur_activation {
    RECUR_ACT_TANH = 0,
    RECUR_ACT_RELU = 1,
    RECUR_ACT_SIGMOID = 2,
    RECUR_ACT_IDENTITY = 3,
    RECUR_ACT_SOFTMAX = 4 /* output layer only: softmax over the O outputs of each (t, n) */
} recur_activation;

typedef struct recur_rnn_config {
    size_t input_size;               /* I >= 1 */
    size_t hidden_size;              /* H >= 1 */
    size_t output_size;              /* O >= 0; 0 = no output layer */
    recur_activation hidden_act;     /* f: tanh, relu, sigmoid or identity */
    recur_activation output_act;     /* g: identity, softmax, sigmoid or tanh; ignored when O == 0 */
} recur_rnn_config;

typedef struct recur_rnn recur_rnn; /* immutable once created */

RECUR_API recur_status recur_rnn_create(recur_rnn **rnn, const recur_rnn_config *config);
RECUR_API void recur_rnn_destroy(recur_rnn *rnn); /* NULL is a no-op */
/* Copies the configuration out. */
RECUR_API recur_status recur_rnn_get_config(const recur_rnn *rnn, recur_rnn_config *config);

/* Parameters, read-only (forward and backward never write them). V and c may be NULL when O == 0. */
typedef struct recur_weights {
    const float *W; /* [H][I] */
    const float *U; /* [H][H] */
    const float *b; /* [H]    */
    const float *V; /* [O][H] */
    const float *c; /* [O]    */
} recur_weights;

/* The same five tensors, writable: gradients, weights being trained, SGD velocity. */
typedef struct recur_tensors {
    float *W; /* [H][I] */
    float *U; /* [H][H] */
    float *b; /* [H]    */
    float *V; /* [O][H] */
    float *c; /* [O]    */
} recur_tensors;

/* Read-only view of writable tensors (for passing trained weights to forward). */
RECUR_API recur_weights recur_weights_from(const recur_tensors *t);

/* ---------------------------------------------------------------- forward */

/*
 * Inference. x [T][N][I] required; h0 [N][H] optional (NULL = zeros);
 * y required ([T][N][O], or [T][N][H] when O == 0); h_last [N][H] optional:
 * receives h_{T-1}, to pass as h0 of the next call when streaming.
 */
RECUR_API recur_status recur_forward(recur_context *ctx, const recur_rnn *rnn,
                                     size_t T, size_t N, const recur_weights *w,
                                     const float *x, const float *h0,
                                     float *y, float *h_last);

/*
 * Bytes of workspace that recur_forward_train needs for T and N (it saves h0, every
 * h_t and every y_t there for recur_backward).
 */
RECUR_API recur_status recur_workspace_size(const recur_rnn *rnn, size_t T, size_t N,
                                            size_t *bytes);

/* Same outputs as recur_forward, and fills workspace for recur_backward. */
RECUR_API recur_status recur_forward_train(recur_context *ctx, const recur_rnn *rnn,
                                           size_t T, size_t N, const recur_weights *w,
                                           const float *x, const float *h0,
                                           float *y, float *h_last,
                                           void *workspace, size_t workspace_size);

/* ---------------------------------------------------------------- backward */

typedef enum recur_dy_kind {
    RECUR_DY_OUTPUT = 0, /* dy is dL/dy_t (after g), e.g. from recur_loss_mse */
    RECUR_DY_LOGITS = 1  /* dy is dL/dz_t with z_t = V h_t + c (before g), e.g. from
                            recur_loss_softmax_xent; with O == 0 it means the same as OUTPUT */
} recur_dy_kind;

typedef struct recur_backward_options {
    recur_dy_kind dy_kind;
    /*
     * Truncated BPTT window k (0 = full BPTT). The sequence is cut into windows
     * [0,k), [k,2k), ...; the gradient flowing from h_t back into h_{t-1} is dropped
     * when t > 0 is a multiple of k, as if the state were detached at each window
     * start. dh0 still receives the gradient of the first window. With k >= T this is
     * exactly full BPTT.
     */
    size_t bptt_window;
    /* 0: gradients overwrite grads (and dx, dh0). 1: they are added to what is there. */
    int accumulate;
} recur_backward_options;

/* { RECUR_DY_OUTPUT, 0, 0 }: full BPTT, overwrite. */
RECUR_API recur_backward_options recur_backward_options_default(void);

/*
 * BPTT from step T-1 down to 0. x is the same input given to recur_forward_train;
 * workspace is the one it filled. dy [T][N][O] (or [T][N][H] when O == 0) may be
 * NULL (no loss on the outputs); dh_last [N][H] optional: a gradient arriving at
 * h_{T-1} from beyond the sequence. grads: W, U, b required, V and c required when O > 0.
 * dx [T][N][I] and dh0 [N][H] are optional. options NULL = defaults.
 */
RECUR_API recur_status recur_backward(recur_context *ctx, const recur_rnn *rnn,
                                      size_t T, size_t N, const recur_weights *w,
                                      const float *x, const void *workspace,
                                      size_t workspace_size,
                                      const float *dy, const float *dh_last,
                                      const recur_backward_options *options,
                                      recur_tensors *grads, float *dx, float *dh0);

/* ---------------------------------------------------------------- losses */

/*
 * Softmax cross-entropy with integer targets, fused with g = softmax.
 * probs [rows][classes] are softmax outputs (y of an RNN with output_act SOFTMAX,
 * rows = T*N). targets[r] in [0, classes), or -1 to ignore row r.
 * loss (optional out) = mean over counted rows of -log(probs[r][target]);
 * dlogits (optional out) [rows][classes] = (probs - onehot) / counted rows
 * (zero rows for ignored targets), to be passed with RECUR_DY_LOGITS.
 * A target outside [-1, classes) gives RECUR_ERR_INVALID_ARGUMENT.
 * No counted row: loss 0 and zero gradient.
 */
RECUR_API recur_status recur_loss_softmax_xent(size_t rows, size_t classes,
                                               const float *probs, const int32_t *targets,
                                               float *loss, float *dlogits);

/*
 * Mean squared error over count values: loss = sum (y - t)^2 / count,
 * dy = 2 (y - t) / count (pass with RECUR_DY_OUTPUT). loss and dy are optional outs.
 */
RECUR_API recur_status recur_loss_mse(size_t count, const float *y, const float *target,
                                      float *loss, float *dy);

/* ---------------------------------------------------------------- optimisation */

/*
 * Global L2 norm over every gradient tensor (W, U, b, and V, c when O > 0),
 * computed in double. If max_norm > 0 and the norm exceeds it, every tensor is
 * scaled by max_norm / norm. norm_before (optional out) gets the norm before clipping.
 * max_norm must be finite and >= 0 (0 = only measure).
 */
RECUR_API recur_status recur_clip_grad_norm(const recur_rnn *rnn, recur_tensors *grads,
                                            float max_norm, float *norm_before);

typedef struct recur_sgd_options {
    float learning_rate; /* eta > 0 */
    float momentum;      /* in [0, 1); 0 = plain SGD */
    float weight_decay;  /* >= 0; L2 penalty added to the gradient of every tensor */
} recur_sgd_options;

/*
 * SGD, as in PyTorch: g' = g + weight_decay * p; v = momentum * v + g'; p -= eta * v
 * (v = g' when momentum == 0). velocity: same shapes as params, required when
 * momentum > 0 (zero it before the first step), ignored otherwise. Grads are not modified.
 */
RECUR_API recur_status recur_sgd_update(const recur_rnn *rnn, recur_tensors *params,
                                        const recur_tensors *grads,
                                        const recur_sgd_options *options,
                                        recur_tensors *velocity);

/* ================================================================ models
 *
 * The descriptor-based form for everything beyond one forward layer over one
 * time-major batch of equal lengths: stacked layers, reverse and bidirectional
 * directions, per-sequence lengths, batch-first layouts, a pre-activation clip and
 * PyTorch's two biases. The recur_rnn calls above are exactly the case L = 1,
 * forward, no lengths, time-major, no clip, one bias (and run the same drivers).
 *
 * Model, for layer l = 0 .. L-1 and direction d (forward: t = 0 .. len-1;
 * reverse: t = len-1 .. 0, outputs still stored at their time t):
 *     h^{l,d}_t = f(clamp(W^{l,d} x^l_t + U^{l,d} h^{l,d}_{prev} + b^{l,d}))
 *     x^0_t = x_t;  x^{l+1}_t = [h^{l,0}_t | h^{l,1}_t] (CONCAT, 2H wide) or
 *                               h^{l,0}_t + h^{l,1}_t (SUM, H wide); D = 1: h^{l,0}_t
 *     y_t = g(V x^L_t + c)   when O > 0, else y_t = x^L_t
 * clamp(z) = min(max(z, -clip), clip) when clip > 0, else z.
 *
 * Sizes: D = 2 when bidirectional, else 1. Layer 0's W is [H][I]; above it W is
 * [H][D*H] (CONCAT) or [H][H] (SUM or D = 1). V is [O][D*H] (CONCAT) or [O][H].
 * "Out" below is the width of x^L: D*H with CONCAT, else H.
 *
 * Per-sequence lengths: lengths[n] in [1, T] (int32, as ONNX's sequence_lens), or
 * NULL for all T. Steps at or past a sequence's length give zero outputs (y and dx
 * rows there are zero, dy rows there are ignored); h_last of a sequence is its
 * state after its last valid step (forward: t = len-1; reverse: t = 0, having
 * started at t = len-1). The work follows the lengths: each step runs only the
 * sequences still active (internally rows are ordered by decreasing length; the
 * caller's order is never required sorted).
 *
 * Layouts (seq_layout for x, y, dx, dy; state_layout for h0, h_last, dh0, dh_last):
 *     TIME_MAJOR:  x [T][N][I], y [T][N][Out or O]; states [L*D][N][H]
 *     BATCH_FIRST: x [N][T][I], y [N][T][Out or O]; states [N][L*D][H]
 * State slot l*D + d holds layer l, direction d (0 forward, 1 reverse; a
 * reverse-only model has one direction, d = 0). PyTorch's h0/h_n are TIME_MAJOR
 * states for either batch_first; ONNX's initial_h / Y_h follow its `layout`.
 * y_dir_major = 1 (time-major, bidirectional CONCAT, O == 0): y and dy are
 * [T][D][N][H], ONNX's Y, instead of [T][N][D*H]. Strided access, no transposing
 * copies: batch-first and ragged batches are read and written in place.
 *
 * Loading a torch.nn.RNN(num_layers=L, bidirectional=..., batch_first=...):
 * layers[l*D + d].W = weight_ih_l{l}{_reverse}, .U = weight_hh_l{l}{_reverse},
 * .b = bias_ih_l{l}{_reverse} and, with two_biases = 1, .b_hh = bias_hh_l{l}{_reverse}
 * (as stored, contiguous, no transposition). merge = CONCAT.
 */

typedef enum recur_direction {
    RECUR_DIR_FORWARD = 0,
    RECUR_DIR_REVERSE = 1,
    RECUR_DIR_BIDIRECTIONAL = 2
} recur_direction;

typedef enum recur_merge {
    RECUR_MERGE_CONCAT = 0, /* [forward | reverse], 2H wide (PyTorch, ONNX) */
    RECUR_MERGE_SUM = 1     /* forward + reverse, H wide (oneDNN's bidirectional_sum) */
} recur_merge;

typedef enum recur_layout {
    RECUR_LAYOUT_TIME_MAJOR = 0,
    RECUR_LAYOUT_BATCH_FIRST = 1
} recur_layout;

typedef struct recur_model_config {
    size_t input_size;          /* I >= 1 */
    size_t hidden_size;         /* H >= 1 */
    size_t output_size;         /* O >= 0; 0 = no output layer */
    size_t num_layers;          /* L >= 1 */
    recur_direction direction;
    recur_merge merge;          /* used when bidirectional */
    recur_activation hidden_act;/* f: tanh, relu, sigmoid or identity */
    recur_activation output_act;/* g, when O > 0 */
    recur_layout seq_layout;    /* x, y, dx, dy */
    recur_layout state_layout;  /* h0, h_last, dh0, dh_last */
    int y_dir_major;            /* 1: y, dy [T][D][N][H] (see above) */
    float clip;                 /* > 0: clamp the pre-activation to [-clip, clip]; 0: off */
    int two_biases;             /* 1: each layer has b and b_hh (both added); see below */
} recur_model_config;

/* I = input_size, H = hidden_size, L = 1, forward, tanh, no output layer, time-major,
 * no clip, one bias. */
RECUR_API recur_model_config recur_model_config_default(size_t input_size, size_t hidden_size);

typedef struct recur_model recur_model; /* immutable once created */

/* INVALID_SIZE for I, H or L of 0; INVALID_ARGUMENT for bad enums, a clip that is
 * negative or not finite, flags other than 0/1, y_dir_major with batch-first, SUM
 * or O > 0. */
RECUR_API recur_status recur_model_create(recur_model **model, const recur_model_config *config);
RECUR_API void recur_model_destroy(recur_model *model); /* NULL is a no-op */
RECUR_API recur_status recur_model_get_config(const recur_model *model, recur_model_config *config);
/* D (1 or 2), the input width of layer l's W (I for l = 0) and the width of x^L. */
RECUR_API size_t recur_model_directions(const recur_model *model);
RECUR_API size_t recur_model_layer_input_size(const recur_model *model, size_t layer);
RECUR_API size_t recur_model_output_width(const recur_model *model);

/* One layer and direction's parameters. b_hh: with two_biases only (else ignored). */
typedef struct recur_layer_weights {
    const float *W;    /* [H][layer input size] */
    const float *U;    /* [H][H] */
    const float *b;    /* [H] */
    const float *b_hh; /* [H] */
} recur_layer_weights;

typedef struct recur_layer_tensors {
    float *W, *U, *b, *b_hh;
} recur_layer_tensors;

typedef struct recur_model_weights {
    const recur_layer_weights *layers; /* [L*D], index l*D + d */
    const float *V;                    /* [O][Out], when O > 0 */
    const float *c;                    /* [O] */
} recur_model_weights;

/* Gradients, trained parameters, SGD velocity. With two_biases, the gradients of b
 * and b_hh are equal (both enter the same sum); both are written. */
typedef struct recur_model_tensors {
    recur_layer_tensors *layers;       /* [L*D] */
    float *V, *c;
} recur_model_tensors;

/* Inference. lengths optional (NULL: all T); h0 optional ([L*D] states, zeros when
 * NULL); y required; h_last optional ([L*D] states). */
RECUR_API recur_status recur_model_forward(recur_context *ctx, const recur_model *model,
                                           size_t T, size_t N, const int32_t *lengths,
                                           const recur_model_weights *w, const float *x,
                                           const float *h0, float *y, float *h_last);

/* Bytes of workspace recur_model_forward_train needs (any lengths). */
RECUR_API recur_status recur_model_workspace_size(const recur_model *model, size_t T, size_t N,
                                                  size_t *bytes);

/* Same outputs as recur_model_forward; fills workspace (lengths included) for
 * recur_model_backward. */
RECUR_API recur_status recur_model_forward_train(recur_context *ctx, const recur_model *model,
                                                 size_t T, size_t N, const int32_t *lengths,
                                                 const recur_model_weights *w, const float *x,
                                                 const float *h0, float *y, float *h_last,
                                                 void *workspace, size_t workspace_size);

/*
 * BPTT through every layer and direction, with the lengths saved in workspace. dy
 * optional (layout of y); dh_last optional ([L*D] states: gradients arriving at each
 * h_last). grads: every layer's W, U, b (and b_hh with two_biases), V and c when
 * O > 0. dx (layout of x) and dh0 ([L*D] states) optional. options as for
 * recur_backward: the truncation window counts steps in each direction's own order.
 */
RECUR_API recur_status recur_model_backward(recur_context *ctx, const recur_model *model,
                                            size_t T, size_t N, const recur_model_weights *w,
                                            const float *x, const void *workspace,
                                            size_t workspace_size, const float *dy,
                                            const float *dh_last,
                                            const recur_backward_options *options,
                                            recur_model_tensors *grads, float *dx, float *dh0);

/* recur_clip_grad_norm and recur_sgd_update over every tensor of the model. */
RECUR_API recur_status recur_model_clip_grad_norm(const recur_model *model,
                                                  recur_model_tensors *grads, float max_norm,
                                                  float *norm_before);
RECUR_API recur_status recur_model_sgd_update(const recur_model *model,
                                              recur_model_tensors *params,
                                              const recur_model_tensors *grads,
                                              const recur_sgd_options *options,
                                              recur_model_tensors *velocity);

/* ================================================================ ONNX RNN operator
 *
 * recur_onnx_rnn computes the ONNX `RNN` operator (opset 14 semantics, float32) on the
 * operator's own tensors, for a runtime's execution provider or custom-op library
 * (docs/onnx.md says how to map a node onto it):
 *   X [seq][batch][input] (layout 0) or [batch][seq][input] (layout 1)
 *   W [D][hidden][input], R [D][hidden][hidden], B [D][2*hidden] = [Wb | Rb] (optional)
 *   sequence_lens [batch] (optional), initial_h [D][batch][hidden] (layout 0) or
 *   [batch][D][hidden] (layout 1) (optional)
 * Outputs, each optional (NULL: not computed):
 *   Y [seq][D][batch][hidden] (layout 0) or [batch][seq][D][hidden] (layout 1): zero at
 *   and past each sequence's length, reverse outputs in time order;
 *   Y_h, laid out as initial_h: the last valid step going forward, t = 0 in reverse.
 * H_t = f(clip(X_t W^T + H_{t-1} R^T + Wb + Rb)), f per direction.
 */

typedef enum recur_onnx_activation {
    RECUR_ONNX_TANH = 0,             /* Tanh */
    RECUR_ONNX_RELU = 1,             /* Relu */
    RECUR_ONNX_SIGMOID = 2,          /* Sigmoid */
    RECUR_ONNX_AFFINE = 3,           /* alpha*x + beta              (defaults 1, 0) */
    RECUR_ONNX_LEAKY_RELU = 4,       /* x >= 0 ? x : alpha*x        (0.01) */
    RECUR_ONNX_THRESHOLDED_RELU = 5, /* x >= alpha ? x : 0          (1) */
    RECUR_ONNX_SCALED_TANH = 6,      /* alpha*tanh(beta*x)          (1, 1) */
    RECUR_ONNX_HARD_SIGMOID = 7,     /* min(max(alpha*x + beta, 0), 1) (0.2, 0.5) */
    RECUR_ONNX_ELU = 8,              /* x >= 0 ? x : alpha*(e^x - 1) (1) */
    RECUR_ONNX_SOFTSIGN = 9,         /* x / (1 + |x|) */
    RECUR_ONNX_SOFTPLUS = 10         /* log(1 + e^x) */
} recur_onnx_activation;

/* The activation named as in ONNX ("Tanh", "LeakyRelu", ...; exact spelling) and its
 * default alpha and beta (each out optional). RECUR_ERR_UNSUPPORTED for a name outside
 * the list above, RECUR_ERR_NULL_POINTER for a NULL name or act. */
RECUR_API recur_status recur_onnx_activation_from_name(const char *name,
                                                       recur_onnx_activation *act,
                                                       float *default_alpha,
                                                       float *default_beta);

typedef struct recur_onnx_rnn_attrs {
    recur_direction direction;          /* "forward", "reverse", "bidirectional" */
    size_t hidden_size;
    int layout;                         /* 0 or 1 */
    float clip;                         /* 0 = no clip (the attribute absent), else > 0 */
    recur_onnx_activation activations[2]; /* per direction (index 1: reverse of bidirectional) */
    float alpha[2], beta[2];            /* per direction; see recur_onnx_activation_from_name */
} recur_onnx_rnn_attrs;

/* direction forward, layout 0, no clip, Tanh for both directions. */
RECUR_API recur_onnx_rnn_attrs recur_onnx_rnn_attrs_default(size_t hidden_size);

RECUR_API recur_status recur_onnx_rnn(recur_context *ctx, const recur_onnx_rnn_attrs *attrs,
                                      size_t seq_length, size_t batch_size, size_t input_size,
                                      const float *X, const float *W, const float *R,
                                      const float *B, const int32_t *sequence_lens,
                                      const float *initial_h, float *Y, float *Y_h);

#ifdef __cplusplus
}
#endif

#endif /* RECUR_H */
