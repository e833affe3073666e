/*
 * A double-precision reference of the recur_model_* model exactly as include/recur.h
 * documents it (layers, directions, merge, lengths, layouts, y_dir_major, clip, two
 * biases, output layer), written from the header with plain loops, independently of
 * the library. Used by tests/test_model.c for value checks (with a propagated bound
 * on the float computation's error) and for finite-difference gradient checks.
 */
#ifndef RECUR_REF_MODEL_H
#define RECUR_REF_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "recur.h"

/* One problem: the model's configuration, the sizes of one call and its lengths. */
typedef struct ref_spec {
    recur_model_config cfg;
    size_t T, N;
    const int32_t *lengths; /* [N] in [1, T], or NULL for all T */
} ref_spec;

/* Parameters in double. W, U, b, b_hh: arrays of L*D pointers, index l*D + d
 * (b_hh read only with two_biases). V, c only when O > 0. */
typedef struct ref_params {
    double **W, **U, **b, **b_hh;
    double *V, *c;
} ref_params;

/* Forward results. Every pointer is optional. */
typedef struct ref_out {
    double *y;      /* layout of the library's y */
    double *h_last; /* [L*D] states, state_layout */
    /* Bounds on |float computation - exact| (u = 2^-24, gamma(K) = Ku/(1-Ku)), per element:
     * see ref_model.c for the derivation. */
    double *y_err, *h_last_err;
    double *zabs;   /* [L*D*T*N*H]: |pre-activation before clamp| of every computed step,
                       0 where no step ran; nz = how many entries were written */
    size_t nz;
    double clip_gap; /* min over computed pre-activations of ||z| - clip| (clip > 0) */
    size_t clamped;  /* pre-activations with |z| > clip */
    double zero_gap; /* min |z| (relu's kink) */
} ref_out;

/* Loss: xent = 0: MSE, sum over valid y elements (t < len) of (y - target)^2 divided
 * by their count; xent = 1 (g = softmax): mean over counted rows of -log y[label],
 * rows at t >= len and label -1 ignored. Then + sum(r_last * h_last) over all states. */
typedef struct ref_loss_spec {
    int xent;
    const double *target;   /* layout of y */
    const int32_t *labels;  /* [T*N], indexed by y row: TIME_MAJOR t*N + n, BATCH_FIRST n*T + t */
    const double *r_last;   /* [L*D] states, state_layout; NULL: no term */
} ref_loss_spec;

size_t ref_dirs(const recur_model_config *c);              /* D */
size_t ref_layer_in(const recur_model_config *c, size_t l); /* input width of layer l */
size_t ref_out_width(const recur_model_config *c);          /* width of x^L */
size_t ref_y_width(const recur_model_config *c);            /* O, or the width of x^L */
size_t ref_len(const ref_spec *s, size_t n);

/* Element counts and offsets in the documented layouts. */
size_t ref_x_count(const ref_spec *s);
size_t ref_y_count(const ref_spec *s);
size_t ref_state_count(const ref_spec *s);
size_t ref_x_off(const ref_spec *s, size_t t, size_t n);        /* start of x row (t, n) */
size_t ref_y_off(const ref_spec *s, size_t t, size_t n, size_t k); /* element k of y row (t, n) */
size_t ref_y_row(const ref_spec *s, size_t t, size_t n);        /* row index for labels */
size_t ref_state_off(const ref_spec *s, size_t slot, size_t n); /* start of state (slot, n) */

void ref_model_forward(const ref_spec *s, const ref_params *p, const double *x,
                       const double *h0, ref_out *out);
double ref_model_loss(const ref_spec *s, const ref_loss_spec *ls, const ref_params *p,
                      const double *x, const double *h0);

#endif
