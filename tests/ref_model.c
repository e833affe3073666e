/*
 * Double-precision reference of the recur_model_* model, from the documentation in
 * include/recur.h only. Internally everything is time-major [T][N][width]; the
 * documented layouts are applied only when reading x, h0 and writing y, h_last.
 *
 * Error bound carried next to the values (what a float evaluation of the same model
 * may differ from the exact result, whatever its summation order; u = 2^-24,
 * gamma(K) = Ku / (1 - Ku), "mag" = the sum of the magnitudes of the terms of a sum):
 *   pre-activation of layer input width Iin: K = Iin + H + 3 terms (b, b_hh, Iin
 *     inputs, H recurrent terms, one spare), so
 *       e_z = gamma(Iin + H + 3) mag + sum_i |W_ji| e_in_i + sum_k |U_jk| e_h_k
 *     (the error compounds over the steps through |U| and over the layers through |W|);
 *   clamp is 1-Lipschitz and exact in float: e_z unchanged;
 *   h = f(z): e_h = Lip(f) e_z + A_f |h|, A_f = 4 ulp (2^-21) for tanh and sigmoid
 *     (libm and the vector kernels are documented within 3 ulp), 0 for relu/identity;
 *   SUM merge: e = e_fwd + e_rev + u |sum|; CONCAT: the two errors side by side;
 *   output layer of width Out: e_z = gamma(Out + 2) mag + sum |V| e_in, then g as f
 *     (softmax: |dp_j| <= p_j (2 max e_z + 2 (A + 2u max|z|) + gamma(O) + 2u)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ref_model.h"
#include "../tools/recur_compare.h" /* u, gamma(K) and the activations' bounds */

size_t ref_dirs(const recur_model_config *c)
{
    return c->direction == RECUR_DIR_BIDIRECTIONAL ? 2 : 1;
}

size_t ref_out_width(const recur_model_config *c)
{
    size_t D = ref_dirs(c);
    return D == 2 && c->merge == RECUR_MERGE_CONCAT ? 2 * c->hidden_size : c->hidden_size;
}

size_t ref_layer_in(const recur_model_config *c, size_t l)
{
    return l == 0 ? c->input_size : ref_out_width(c);
}

size_t ref_y_width(const recur_model_config *c)
{
    return c->output_size ? c->output_size : ref_out_width(c);
}

size_t ref_len(const ref_spec *s, size_t n)
{
    return s->lengths ? (size_t)s->lengths[n] : s->T;
}

size_t ref_x_count(const ref_spec *s)
{
    return s->T * s->N * s->cfg.input_size;
}

size_t ref_y_count(const ref_spec *s)
{
    return s->T * s->N * ref_y_width(&s->cfg);
}

size_t ref_state_count(const ref_spec *s)
{
    return s->cfg.num_layers * ref_dirs(&s->cfg) * s->N * s->cfg.hidden_size;
}

size_t ref_x_off(const ref_spec *s, size_t t, size_t n)
{
    size_t r = s->cfg.seq_layout == RECUR_LAYOUT_BATCH_FIRST ? n * s->T + t : t * s->N + n;
    return r * s->cfg.input_size;
}

size_t ref_y_row(const ref_spec *s, size_t t, size_t n)
{
    return s->cfg.seq_layout == RECUR_LAYOUT_BATCH_FIRST ? n * s->T + t : t * s->N + n;
}

size_t ref_y_off(const ref_spec *s, size_t t, size_t n, size_t k)
{
    const recur_model_config *c = &s->cfg;
    if (c->y_dir_major) { /* [T][D][N][H] */
        size_t H = c->hidden_size, D = ref_dirs(c);
        return ((t * D + k / H) * s->N + n) * H + k % H;
    }
    return ref_y_row(s, t, n) * ref_y_width(c) + k;
}

size_t ref_state_off(const ref_spec *s, size_t slot, size_t n)
{
    size_t S = s->cfg.num_layers * ref_dirs(&s->cfg);
    size_t r = s->cfg.state_layout == RECUR_LAYOUT_BATCH_FIRST ? n * S + slot : slot * s->N + n;
    return r * s->cfg.hidden_size;
}

static double *dcalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    if (!p)
        abort();
    return p;
}

/* One layer and direction over every sequence: out/oe [T][N][H] (zero at t >= len). */
static void run_direction(const ref_spec *s, const ref_params *p, size_t l, size_t d,
                          const double *in, const double *ie, const double *h0, double *out,
                          double *oe, ref_out *r)
{
    const recur_model_config *c = &s->cfg;
    const size_t N = s->N, H = c->hidden_size, Iin = ref_layer_in(c, l), D = ref_dirs(c);
    const size_t slot = l * D + d;
    const int rev = c->direction == RECUR_DIR_REVERSE || d == 1;
    const double *W = p->W[slot], *U = p->U[slot], *b = p->b[slot];
    const double *bhh = c->two_biases ? p->b_hh[slot] : NULL;
    const double gz = cmp_gamma(Iin + H + 3), Lf = cmp_lip(c->hidden_act),
                 Af = cmp_act_rel(c->hidden_act), clip = c->clip;
    double *h = dcalloc(H), *he = dcalloc(H), *hn = dcalloc(H), *hne = dcalloc(H);
    for (size_t n = 0; n < N; n++) {
        size_t len = ref_len(s, n);
        for (size_t j = 0; j < H; j++) {
            h[j] = h0 ? h0[ref_state_off(s, slot, n) + j] : 0;
            he[j] = 0;
        }
        for (size_t step = 0; step < len; step++) {
            size_t t = rev ? len - 1 - step : step;
            const double *xt = in + (t * N + n) * Iin, *xe = ie + (t * N + n) * Iin;
            for (size_t j = 0; j < H; j++) {
                double z = b[j] + (bhh ? bhh[j] : 0);
                double mag = fabs(b[j]) + (bhh ? fabs(bhh[j]) : 0), prop = 0;
                for (size_t i = 0; i < Iin; i++) {
                    z += W[j * Iin + i] * xt[i];
                    mag += fabs(W[j * Iin + i] * xt[i]);
                    prop += fabs(W[j * Iin + i]) * xe[i];
                }
                for (size_t k = 0; k < H; k++) {
                    z += U[j * H + k] * h[k];
                    mag += fabs(U[j * H + k] * h[k]);
                    prop += fabs(U[j * H + k]) * he[k];
                }
                double az = fabs(z);
                if (r->zabs) {
                    r->zabs[((slot * s->T + t) * N + n) * H + j] = az;
                    r->nz++;
                }
                if (clip > 0) {
                    r->clip_gap = fmin(r->clip_gap, fabs(az - clip));
                    if (az > clip) {
                        r->clamped++;
                        z = z > 0 ? clip : -clip;
                    }
                }
                r->zero_gap = fmin(r->zero_gap, az);
                hn[j] = cmp_act(c->hidden_act, z);
                hne[j] = Lf * (gz * mag + prop) + Af * fabs(hn[j]) + CMP_TINY;
            }
            memcpy(h, hn, H * sizeof *h);
            memcpy(he, hne, H * sizeof *he);
            memcpy(out + (t * N + n) * H, h, H * sizeof *h);
            memcpy(oe + (t * N + n) * H, he, H * sizeof *he);
        }
        if (r->h_last)
            memcpy(r->h_last + ref_state_off(s, slot, n), h, H * sizeof *h);
        if (r->h_last_err)
            memcpy(r->h_last_err + ref_state_off(s, slot, n), he, H * sizeof *he);
    }
    free(h), free(he), free(hn), free(hne);
}

/* g over one row of logits z (error ez) into y (error ey). */
static void output_act(recur_activation g, size_t O, const double *z, const double *ez,
                       double *y, double *ey)
{
    if (g == RECUR_ACT_SOFTMAX) {
        double mx = -INFINITY, sum = 0, emax = 0, zmax = 0;
        for (size_t o = 0; o < O; o++) {
            mx = fmax(mx, z[o]);
            emax = fmax(emax, ez[o]);
            zmax = fmax(zmax, fabs(z[o]));
        }
        for (size_t o = 0; o < O; o++)
            sum += exp(z[o] - mx);
        for (size_t o = 0; o < O; o++) {
            y[o] = exp(z[o] - mx) / sum;
            ey[o] = y[o] * (2 * emax + 2 * (cmp_act_rel(g) + 2 * CMP_U * zmax) + cmp_gamma(O) +
                            2 * CMP_U) + CMP_TINY;
        }
        return;
    }
    for (size_t o = 0; o < O; o++) {
        y[o] = cmp_act(g, z[o]);
        ey[o] = cmp_lip(g) * ez[o] + cmp_act_rel(g) * fabs(y[o]) + CMP_TINY;
    }
}

void ref_model_forward(const ref_spec *s, const ref_params *p, const double *x,
                       const double *h0, ref_out *r)
{
    const recur_model_config *c = &s->cfg;
    const size_t T = s->T, N = s->N, I = c->input_size, H = c->hidden_size, O = c->output_size;
    const size_t D = ref_dirs(c), Wd = ref_out_width(c), Iw = I > Wd ? I : Wd;
    double *in = dcalloc(T * N * Iw), *ie = dcalloc(T * N * Iw);
    double *out[2] = {dcalloc(T * N * H), dcalloc(T * N * H)};
    double *oe[2] = {dcalloc(T * N * H), dcalloc(T * N * H)};
    r->nz = 0;
    r->clip_gap = INFINITY;
    r->zero_gap = INFINITY;
    r->clamped = 0;
    for (size_t n = 0; n < N; n++)
        for (size_t t = 0; t < T; t++)
            memcpy(in + (t * N + n) * I, x + ref_x_off(s, t, n), I * sizeof *in);
    for (size_t l = 0; l < c->num_layers; l++) {
        for (size_t d = 0; d < D; d++) {
            memset(out[d], 0, T * N * H * sizeof(double));
            memset(oe[d], 0, T * N * H * sizeof(double));
            run_direction(s, p, l, d, in, ie, h0, out[d], oe[d], r);
        }
        /* x^{l+1}: zero rows past the lengths come from the zero outputs there. */
        for (size_t rI = 0; rI < T * N; rI++)
            for (size_t j = 0; j < H; j++) {
                double *xi = in + rI * Wd, *xe = ie + rI * Wd;
                double a = out[0][rI * H + j], ea = oe[0][rI * H + j];
                if (D == 1) {
                    xi[j] = a, xe[j] = ea;
                } else if (c->merge == RECUR_MERGE_CONCAT) {
                    xi[j] = a, xe[j] = ea;
                    xi[H + j] = out[1][rI * H + j], xe[H + j] = oe[1][rI * H + j];
                } else {
                    xi[j] = a + out[1][rI * H + j];
                    xe[j] = ea + oe[1][rI * H + j] + CMP_U * fabs(xi[j]);
                }
            }
    }
    /* in / ie now hold x^L, [T][N][Wd]. */
    const size_t Y = ref_y_width(c);
    double *z = dcalloc(Y), *ez = dcalloc(Y), *yv = dcalloc(Y), *ey = dcalloc(Y);
    const double gv = cmp_gamma(Wd + 2);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            const double *xl = in + (t * N + n) * Wd, *xle = ie + (t * N + n) * Wd;
            if (t >= ref_len(s, n)) {
                memset(yv, 0, Y * sizeof *yv);
                memset(ey, 0, Y * sizeof *ey);
            } else if (O == 0) {
                memcpy(yv, xl, Y * sizeof *yv);
                memcpy(ey, xle, Y * sizeof *ey);
            } else {
                for (size_t o = 0; o < O; o++) {
                    double v = p->c[o], mag = fabs(v), prop = 0;
                    for (size_t k = 0; k < Wd; k++) {
                        v += p->V[o * Wd + k] * xl[k];
                        mag += fabs(p->V[o * Wd + k] * xl[k]);
                        prop += fabs(p->V[o * Wd + k]) * xle[k];
                    }
                    z[o] = v, ez[o] = gv * mag + prop;
                }
                output_act(c->output_act, O, z, ez, yv, ey);
            }
            for (size_t k = 0; k < Y; k++) {
                size_t at = ref_y_off(s, t, n, k);
                if (r->y)
                    r->y[at] = yv[k];
                if (r->y_err)
                    r->y_err[at] = ey[k];
            }
        }
    free(z), free(ez), free(yv), free(ey);
    free(in), free(ie), free(out[0]), free(out[1]), free(oe[0]), free(oe[1]);
}

double ref_model_loss(const ref_spec *s, const ref_loss_spec *ls, const ref_params *p,
                      const double *x, const double *h0)
{
    const recur_model_config *c = &s->cfg;
    const size_t Y = ref_y_width(c);
    double *y = dcalloc(ref_y_count(s)), *hl = dcalloc(ref_state_count(s));
    ref_out r = {0};
    r.y = y;
    r.h_last = hl;
    ref_model_forward(s, p, x, h0, &r);
    double loss = 0;
    size_t count = 0;
    for (size_t n = 0; n < s->N; n++)
        for (size_t t = 0; t < ref_len(s, n); t++) {
            if (ls->xent) {
                int32_t lab = ls->labels[ref_y_row(s, t, n)];
                if (lab >= 0) {
                    loss -= log(y[ref_y_off(s, t, n, (size_t)lab)]);
                    count++;
                }
            } else {
                for (size_t k = 0; k < Y; k++) {
                    size_t at = ref_y_off(s, t, n, k);
                    loss += (y[at] - ls->target[at]) * (y[at] - ls->target[at]);
                    count++;
                }
            }
        }
    loss = count ? loss / (double)count : 0;
    if (ls->r_last)
        for (size_t i = 0; i < ref_state_count(s); i++)
            loss += ls->r_last[i] * hl[i];
    free(y), free(hl);
    return loss;
}
