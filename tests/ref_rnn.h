/* A double-precision reference forward pass and loss, written independently of the
 * library, for finite-difference gradient checks. */
#ifndef RECUR_REF_RNN_H
#define RECUR_REF_RNN_H

#include <stddef.h>
#include <stdint.h>
#include "recur.h"

typedef struct ref_problem {
    size_t T, N, I, H, O;
    recur_activation f, g;
    int xent;               /* 1: softmax cross-entropy (g = softmax), 0: MSE on y */
    const double *target;   /* MSE targets [T][N][O or H] */
    const int32_t *labels;  /* xent targets [T][N] */
    const double *r_last;   /* [N][H]: the loss adds sum(r_last * h_{T-1}) */
} ref_problem;

/* Parameters and inputs, all double. */
typedef struct ref_values {
    double *W, *U, *b, *V, *c, *x, *h0;
} ref_values;

double ref_loss(const ref_problem *p, const ref_values *v);

#endif
