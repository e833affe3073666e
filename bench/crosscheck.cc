// recur vs oneDNN cross-check on small shapes: outputs (y, training y) and gradients
// (dW, dU, db, dx, dh0 from a gradient on dst_layer).
//
// Bound. u = 2^-24 (float unit roundoff), gamma(k) = k u / (1 - k u). A float sum of k
// products computed in ANY order (blocked, FMA or not) is within gamma(k) * sum|terms|
// of the exact sum. Alongside an exact (double) reference we propagate, element by
// element, an a-priori bound E on |implementation - exact|:
//   forward   pre_t  = b + W x_t + U h_{t-1}:  K = I + H + 1 terms
//             E_t    = gamma(K) * (|b| + |W||x_t| + |U|(|h_{t-1}| + E_{t-1}))
//                      + |U| E_{t-1} + c_act u           (tanh is 1-Lipschitz)
//   backward  g_t    = dy_t + U^T dA_{t+1}:     K = H + 1
//             f'_t   = 1 - h_t^2, error F_t = E_t (2|h_t| + E_t) + gamma(2)
//             G_t    = Gg (|f'| + F) + |g| F + u |dA|   with Gg = gamma(H+1)(|dy| + |U^T||dA|) + |U^T| G_{t+1}
//   grads     dW = sum_{t,n} dA x^T (K = T N), dU = sum dA h_{t-1}^T, db = sum dA,
//             dx = dA W (K = H), dh0 = dA_0 U (K = H): gamma(K) * sum|terms| + the
//             propagated G (and E for dU) through the same sums.
// c_act = 4: we assume each library's tanh is within 4 ulp of 1 (the largest |tanh|),
// i.e. an absolute error of at most 4u. Both implementations obey the same bound, so
// |recur - oneDNN| <= 2 E. The check fails when any element exceeds it, or when recur
// exceeds E against the exact reference.
#include <cmath>
#include <cstdio>
#include <vector>

#include "onednn_rnn.h"
#include "recur_problem.h"

namespace rb {

namespace {

const double u = std::ldexp(1.0, -24);
const double c_act = 4.0;
double gamma(double k) { return k * u / (1.0 - k * u); }

using V = std::vector<double>;

// Exact reference and bound for one shape (O = 0, tanh, dh_last = 0).
struct Reference {
    V h, E;                 // [T+1][N][H] with h_{-1} = h0 at index 0, E_{-1} = 0
    V dW, dU, db, dx, dh0;  // exact gradients
    V bW, bU, bb, bx, bh0;  // their bounds
};

Reference reference(const Shape &s, const float *W, const float *U, const float *b,
                    const float *x, const float *h0, const float *dy)
{
    const size_t T = s.T, N = s.N, I = s.I, H = s.H, NH = N * H;
    Reference r;
    r.h.assign((T + 1) * NH, 0.0);
    r.E.assign((T + 1) * NH, 0.0);
    for (size_t i = 0; i < NH; i++)
        r.h[i] = h0[i];
    const double gk = gamma((double)(I + H + 1));
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++)
            for (size_t j = 0; j < H; j++) {
                const double *hp = &r.h[t * NH + n * H], *ep = &r.E[t * NH + n * H];
                const float *xt = x + (t * N + n) * I;
                double pre = b[j], mag = std::fabs(b[j]), prop = 0.0;
                for (size_t i = 0; i < I; i++) {
                    pre += (double)W[j * I + i] * xt[i];
                    mag += std::fabs((double)W[j * I + i] * xt[i]);
                }
                for (size_t k = 0; k < H; k++) {
                    double a = std::fabs((double)U[j * H + k]);
                    pre += (double)U[j * H + k] * hp[k];
                    mag += a * (std::fabs(hp[k]) + ep[k]);
                    prop += a * ep[k];
                }
                r.h[(t + 1) * NH + n * H + j] = std::tanh(pre);
                r.E[(t + 1) * NH + n * H + j] = gk * mag + prop + c_act * u;
            }

    // BPTT in double with the bounds G alongside.
    V dA(T * NH), G(T * NH);
    const double gh = gamma((double)(H + 1));
    for (size_t t = T; t-- > 0;)
        for (size_t n = 0; n < N; n++)
            for (size_t j = 0; j < H; j++) {
                size_t o = t * NH + n * H + j;
                double g = dy[o], mag = std::fabs(dy[o]), prop = 0.0;
                if (t + 1 < T)
                    for (size_t k = 0; k < H; k++) {
                        size_t on = (t + 1) * NH + n * H + k;
                        double a = std::fabs((double)U[k * H + j]);
                        g += (double)U[k * H + j] * dA[on];
                        mag += a * std::fabs(dA[on]);
                        prop += a * G[on];
                    }
                double hv = r.h[(t + 1) * NH + n * H + j], e = r.E[(t + 1) * NH + n * H + j];
                double fp = 1.0 - hv * hv, F = e * (2.0 * std::fabs(hv) + e) + gamma(2.0);
                double Gg = gh * mag + prop;
                dA[o] = g * fp;
                G[o] = Gg * (std::fabs(fp) + F) + std::fabs(g) * F + u * std::fabs(dA[o]);
            }

    const double gtn = gamma((double)(T * N)), gH = gamma((double)H);
    r.dW.assign(H * I, 0.0); r.bW.assign(H * I, 0.0);
    r.dU.assign(H * H, 0.0); r.bU.assign(H * H, 0.0);
    r.db.assign(H, 0.0); r.bb.assign(H, 0.0);
    for (size_t j = 0; j < H; j++) {
        double sb = 0.0, mb = 0.0, pb = 0.0;
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                size_t o = t * NH + n * H + j;
                sb += dA[o]; mb += std::fabs(dA[o]); pb += G[o];
            }
        r.db[j] = sb;
        r.bb[j] = gtn * mb + pb;
        for (size_t i = 0; i < I; i++) {
            double sm = 0.0, mg = 0.0, pr = 0.0;
            for (size_t t = 0; t < T; t++)
                for (size_t n = 0; n < N; n++) {
                    size_t o = t * NH + n * H + j;
                    double xv = x[(t * N + n) * I + i];
                    sm += dA[o] * xv; mg += std::fabs(dA[o] * xv); pr += G[o] * std::fabs(xv);
                }
            r.dW[j * I + i] = sm;
            r.bW[j * I + i] = gtn * mg + pr;
        }
        for (size_t k = 0; k < H; k++) {
            double sm = 0.0, mg = 0.0, pr = 0.0;
            for (size_t t = 0; t < T; t++)
                for (size_t n = 0; n < N; n++) {
                    size_t o = t * NH + n * H + j, hp = t * NH + n * H + k;
                    double hv = r.h[hp], e = r.E[hp];
                    sm += dA[o] * hv;
                    mg += std::fabs(dA[o]) * (std::fabs(hv) + e);
                    pr += G[o] * (std::fabs(hv) + e) + std::fabs(dA[o]) * e;
                }
            r.dU[j * H + k] = sm;
            r.bU[j * H + k] = gtn * mg + pr;
        }
    }
    r.dx.assign(T * N * I, 0.0); r.bx.assign(T * N * I, 0.0);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++)
            for (size_t i = 0; i < I; i++) {
                double sm = 0.0, mg = 0.0, pr = 0.0;
                for (size_t j = 0; j < H; j++) {
                    size_t o = t * NH + n * H + j;
                    double w = W[j * I + i];
                    sm += dA[o] * w; mg += std::fabs(dA[o] * w); pr += G[o] * std::fabs(w);
                }
                r.dx[(t * N + n) * I + i] = sm;
                r.bx[(t * N + n) * I + i] = gH * mg + pr;
            }
    r.dh0.assign(NH, 0.0); r.bh0.assign(NH, 0.0);
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < H; k++) {
            double sm = 0.0, mg = 0.0, pr = 0.0;
            for (size_t j = 0; j < H; j++) {
                size_t o = n * H + j;
                double a = U[j * H + k];
                sm += dA[o] * a; mg += std::fabs(dA[o] * a); pr += G[o] * std::fabs(a);
            }
            r.dh0[n * H + k] = sm;
            r.bh0[n * H + k] = gH * mg + pr;
        }
    return r;
}

// Compares one quantity; prints a line; returns false on a bound violation.
bool compare(const char *what, size_t count, const float *rec, const float *dnn,
             const double *exact, const double *bound)
{
    double max_rd = 0.0, max_re = 0.0, worst_rd = 0.0, worst_re = 0.0, max_b = 0.0;
    for (size_t i = 0; i < count; i++) {
        double rd = std::fabs((double)rec[i] - dnn[i]), re = std::fabs((double)rec[i] - exact[i]);
        max_rd = std::max(max_rd, rd);
        max_re = std::max(max_re, re);
        max_b = std::max(max_b, bound[i]);
        // NaN compares false everywhere: count it as a violation explicitly.
        double q1 = std::isfinite(rd) ? rd / (2.0 * bound[i]) : INFINITY;
        double q2 = std::isfinite(re) ? re / bound[i] : INFINITY;
        worst_rd = std::max(worst_rd, q1);
        worst_re = std::max(worst_re, q2);
    }
    bool ok = worst_rd <= 1.0 && worst_re <= 1.0;
    std::printf("  %-8s max|recur-onednn| %.3e (%.3f of 2E)  max|recur-exact| %.3e (%.3f of E)"
                "  max E %.3e  %s\n",
                what, max_rd, worst_rd, max_re, worst_re, max_b, ok ? "ok" : "MISMATCH");
    return ok;
}

bool check_shape(const Shape &s, recur_isa isa)
{
    const size_t T = s.T, N = s.N, I = s.I, H = s.H;
    // |U| entries <= 1/H keep every row sum of |U| below 1, so errors do not grow with T.
    FloatBuf W(H * I, 1.0f / std::sqrt((float)I), 21), U(H * H, 1.0f / (float)H, 22),
        b(H, 0.1f, 23), x(T * N * I, 1.0f, 24), h0(N * H, 0.5f, 25), dy(T * N * H, 1.0f, 26);
    Reference ref = reference(s, W.data(), U.data(), b.data(), x.data(), h0.data(), dy.data());

    // recur
    RecurProblem p(s, isa, 1);
    for (size_t i = 0; i < H * I; i++) p.W.data()[i] = W.data()[i];
    for (size_t i = 0; i < H * H; i++) p.U.data()[i] = U.data()[i];
    for (size_t i = 0; i < H; i++) p.b.data()[i] = b.data()[i];
    for (size_t i = 0; i < T * N * I; i++) p.x.data()[i] = x.data()[i];
    for (size_t i = 0; i < N * H; i++) p.h0.data()[i] = h0.data()[i];
    for (size_t i = 0; i < T * N * H; i++) p.dy.data()[i] = dy.data()[i];
    FloatBuf y_inf(T * N * H), y_tr(T * N * H);
    p.forward();
    for (size_t i = 0; i < T * N * H; i++) y_inf.data()[i] = p.y.data()[i];
    p.forward_train();
    for (size_t i = 0; i < T * N * H; i++) y_tr.data()[i] = p.y.data()[i];
    p.backward();

    // oneDNN
    OnednnRnn d(s, W.data(), U.data(), b.data());
    FloatBuf oy_inf(T * N * H), oy_tr(T * N * H), odx(T * N * I), odh0(N * H), odW(H * I),
        odU(H * H), odb(H);
    d.forward_infer(x.data(), h0.data(), oy_inf.data());
    d.forward_train(x.data(), h0.data(), oy_tr.data());
    d.zero_grads();
    d.backward(x.data(), h0.data(), oy_tr.data(), dy.data(), odx.data(), odh0.data());
    d.read_grads(odW.data(), odU.data(), odb.data());

    std::printf("%s (recur %s):\n", s.name().c_str(), recur_isa_name(isa));
    const double *hx = ref.h.data() + N * H, *ex = ref.E.data() + N * H;
    bool ok = true;
    ok &= compare("y_infer", T * N * H, y_inf.data(), oy_inf.data(), hx, ex);
    ok &= compare("y_train", T * N * H, y_tr.data(), oy_tr.data(), hx, ex);
    ok &= compare("dW", H * I, p.gW.data(), odW.data(), ref.dW.data(), ref.bW.data());
    ok &= compare("dU", H * H, p.gU.data(), odU.data(), ref.dU.data(), ref.bU.data());
    ok &= compare("db", H, p.gb.data(), odb.data(), ref.db.data(), ref.bb.data());
    ok &= compare("dx", T * N * I, p.dx.data(), odx.data(), ref.dx.data(), ref.bx.data());
    ok &= compare("dh0", N * H, p.dh0.data(), odh0.data(), ref.dh0.data(), ref.bh0.data());
    return ok;
}

} // namespace

bool crosscheck_compare(const char *what, size_t count, const float *rec, const float *dnn,
                        const double *exact, const double *bound)
{
    return compare(what, count, rec, dnn, exact, bound);
}

int run_crosscheck()
{
    const Shape shapes[] = {
        {"check", 24, 16, 3, 7},  // I != H: catches a transposed W
        {"check", 128, 128, 4, 10},
        {"device", 32, 32, 1, 672},
        {"device", 64, 64, 1, 96},
    };
    std::printf("recur vs oneDNN (%s), tanh, O = 0; bound E derived from K*u (see crosscheck.cc)\n",
                OnednnRnn::effective_isa().c_str());
    // The comparison itself must be able to fail: a 1e-3 difference against a 1e-6 bound.
    const float one = 1.0f, off = 1.001f;
    const double exact_one = 1.0, tiny = 1e-6;
    std::printf("self-test (must say MISMATCH):\n");
    if (compare("probe", 1, &one, &off, &exact_one, &tiny)) {
        std::printf("self-test failed: compare accepted a 1e-3 error\n");
        return 1;
    }
    bool ok = true;
    try {
        for (const auto &s : shapes)
            for (recur_isa isa : recur_isas())
                ok &= check_shape(s, isa);
        ok &= run_model_crosscheck(); // crosscheck_model.cc
    } catch (const std::exception &e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
    std::printf(ok ? "all within bounds\n" : "MISMATCH\n");
    return ok ? 0 : 1;
}

} // namespace rb
