#include <math.h>
#include <stdlib.h>
#include "ref_rnn.h"
#include "../tools/recur_compare.h" /* cmp_act: the activations in double */

double ref_loss(const ref_problem *p, const ref_values *v)
{
    const size_t N = p->N, I = p->I, H = p->H, O = p->O;
    double *hprev = calloc(N * H, sizeof(double));
    double *h = calloc(N * H, sizeof(double));
    double *z = calloc(O ? O : 1, sizeof(double));
    double loss = 0;
    size_t outs = 0;
    if (v->h0)
        for (size_t i = 0; i < N * H; i++)
            hprev[i] = v->h0[i];
    for (size_t t = 0; t < p->T; t++) {
        for (size_t n = 0; n < N; n++) {
            const double *xt = v->x + (t * N + n) * I;
            for (size_t j = 0; j < H; j++) {
                double a = v->b[j];
                for (size_t i = 0; i < I; i++)
                    a += v->W[j * I + i] * xt[i];
                for (size_t k = 0; k < H; k++)
                    a += v->U[j * H + k] * hprev[n * H + k];
                h[n * H + j] = cmp_act(p->f, a);
            }
            size_t rowlen = O ? O : H;
            const double *y = h + n * H;
            if (O) {
                double mx = -INFINITY, sum = 0;
                for (size_t o = 0; o < O; o++) {
                    z[o] = v->c[o];
                    for (size_t j = 0; j < H; j++)
                        z[o] += v->V[o * H + j] * h[n * H + j];
                    mx = z[o] > mx ? z[o] : mx;
                }
                if (p->g == RECUR_ACT_SOFTMAX) {
                    for (size_t o = 0; o < O; o++)
                        sum += exp(z[o] - mx);
                    for (size_t o = 0; o < O; o++)
                        z[o] = exp(z[o] - mx) / sum;
                } else {
                    for (size_t o = 0; o < O; o++)
                        z[o] = cmp_act(p->g, z[o]);
                }
                y = z;
            }
            if (p->xent) {
                int32_t lab = p->labels[t * N + n];
                if (lab >= 0) {
                    loss -= log(y[lab]);
                    outs++;
                }
            } else {
                const double *tg = p->target + (t * N + n) * rowlen;
                for (size_t o = 0; o < rowlen; o++)
                    loss += (y[o] - tg[o]) * (y[o] - tg[o]);
                outs += rowlen;
            }
        }
        double *tmp = hprev;
        hprev = h;
        h = tmp;
    }
    loss = outs ? loss / (double)outs : 0;
    if (p->r_last)
        for (size_t i = 0; i < N * H; i++)
            loss += p->r_last[i] * hprev[i];
    free(hprev);
    free(h);
    free(z);
    return loss;
}
