// recur_model vs oneDNN (OnednnModel: one bidirectional L = 1 primitive per layer) on
// 2-layer bidirectional models, CONCAT and SUM: y of inference and of training forward.
//
// Bound, as in crosscheck.cc (u = 2^-24, gamma(k) = k u / (1 - k u), tanh within c_act u).
// Per layer l and direction d, with input x (exact) and its bound Ex from the layer below:
//   E_t = gamma(K) (|b| + |W| (a + Ex) + |U| (|h_{t-1}| + E_{t-1})) + |W| Ex + |U| E_{t-1} + c_act u
// where a = |x| and K = C + H + 1 (C = the layer's input width) above an input layer or a
// CONCAT merge. Above a SUM merge x = h_f + h_r: a = |h_f| + |h_r|, K = 2C + H + 1 and
// Ex = E_f + E_r + u (|h_f| + |h_r| + E_f + E_r), which covers both a materialised float
// sum and W h_f + W h_r accumulated as 2C products. CONCAT: Ex = [E_f | E_r]. The output
// y is the last merge, with the same bound. Fails when |recur - oneDNN| > 2E or
// |recur - exact| > E anywhere (crosscheck_compare).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "model_problem.h"
#include "onednn_model.h"

namespace rb {

namespace {

const double u = std::ldexp(1.0, -24);
const double c_act = 4.0;
double gamma(double k) { return k * u / (1.0 - k * u); }

using V = std::vector<double>;

// Exact y [T][N][out] and its bound E.
void model_reference(const ModelData &d, V &y, V &E)
{
    const ModelShape &m = d.m;
    const size_t T = m.T, N = m.N, H = m.H, D = m.D();
    size_t C = m.I;
    V x(d.x.data(), d.x.data() + T * N * C), a(T * N * C), ex(T * N * C, 0.0);
    for (size_t i = 0; i < x.size(); i++)
        a[i] = std::fabs(x[i]);
    bool above_sum = false;
    for (size_t l = 0; l < m.L; l++) {
        std::vector<V> h(D, V(T * N * H)), e(D, V(T * N * H));
        const double gk = gamma((double)((above_sum ? 2 * C : C) + H + 1));
        for (size_t dir = 0; dir < D; dir++) {
            const float *W = d.W[l].data() + dir * H * C, *U = d.U[l].data() + dir * H * H,
                        *b = d.b[l].data() + dir * H;
            for (size_t s = 0; s < T; s++) {
                const size_t t = dir ? T - 1 - s : s, tp = dir ? t + 1 : t - 1;
                for (size_t n = 0; n < N; n++)
                    for (size_t j = 0; j < H; j++) {
                        const size_t xi = (t * N + n) * C;
                        double pre = b[j], mag = std::fabs(b[j]), prop = 0.0;
                        for (size_t i = 0; i < C; i++) {
                            double w = W[j * C + i], aw = std::fabs(w);
                            pre += w * x[xi + i];
                            mag += aw * (a[xi + i] + ex[xi + i]);
                            prop += aw * ex[xi + i];
                        }
                        if (s > 0)
                            for (size_t k = 0; k < H; k++) {
                                const size_t o = (tp * N + n) * H + k;
                                double w = U[j * H + k], aw = std::fabs(w);
                                pre += w * h[dir][o];
                                mag += aw * (std::fabs(h[dir][o]) + e[dir][o]);
                                prop += aw * e[dir][o];
                            }
                        h[dir][(t * N + n) * H + j] = std::tanh(pre);
                        e[dir][(t * N + n) * H + j] = gk * mag + prop + c_act * u;
                    }
            }
        }
        C = m.out();
        x.assign(T * N * C, 0.0);
        a.assign(T * N * C, 0.0);
        ex.assign(T * N * C, 0.0);
        for (size_t r = 0; r < T * N; r++)
            for (size_t j = 0; j < H; j++) {
                const size_t o = r * H + j;
                if (D == 1 || !m.sum) {
                    for (size_t dir = 0; dir < D; dir++) {
                        x[r * C + dir * H + j] = h[dir][o];
                        a[r * C + dir * H + j] = std::fabs(h[dir][o]);
                        ex[r * C + dir * H + j] = e[dir][o];
                    }
                } else {
                    const double mag = std::fabs(h[0][o]) + std::fabs(h[1][o]);
                    x[r * C + j] = h[0][o] + h[1][o];
                    a[r * C + j] = mag;
                    ex[r * C + j] = e[0][o] + e[1][o] + u * (mag + e[0][o] + e[1][o]);
                }
            }
        above_sum = D == 2 && m.sum;
    }
    y = x;
    E = ex;
}

// Check data as in crosscheck.cc: |U| entries <= 1/H keep the bound from growing with T.
void fill_check_data(ModelData &d)
{
    const ModelShape &m = d.m;
    for (size_t l = 0; l < m.L; l++) {
        FloatBuf W(d.W[l].n, 1.0f / std::sqrt((float)m.layer_in(l)), 31 + 3 * (unsigned)l),
            U(d.U[l].n, 1.0f / (float)m.H, 32 + 3 * (unsigned)l), b(d.b[l].n, 0.1f, 33 + 3 * (unsigned)l);
        std::memcpy(d.W[l].data(), W.data(), W.n * sizeof(float));
        std::memcpy(d.U[l].data(), U.data(), U.n * sizeof(float));
        std::memcpy(d.b[l].data(), b.data(), b.n * sizeof(float));
    }
}

bool check_model(const ModelShape &m, const V &y, const V &E, recur_isa isa)
{
    ModelProblem p(m, isa, 1);
    fill_check_data(p);
    const size_t count = m.T * m.N * m.out();
    FloatBuf y_inf(count), y_tr(count), oy_inf(count), oy_tr(count);
    p.forward();
    std::memcpy(y_inf.data(), p.y.data(), count * sizeof(float));
    p.forward_train();
    std::memcpy(y_tr.data(), p.y.data(), count * sizeof(float));

    OnednnModel o(m, ModelData::ptrs(p.W), ModelData::ptrs(p.U), ModelData::ptrs(p.b));
    o.forward_infer(p.x.data(), oy_inf.data());
    o.forward_train(p.x.data(), oy_tr.data());

    std::printf("%s (recur %s):\n", m.name().c_str(), recur_isa_name(isa));
    bool ok = crosscheck_compare("y_infer", count, y_inf.data(), oy_inf.data(), y.data(), E.data());
    ok &= crosscheck_compare("y_train", count, y_tr.data(), oy_tr.data(), y.data(), E.data());
    return ok;
}

} // namespace

bool run_model_crosscheck()
{
    std::vector<ModelShape> shapes;
    for (bool sum : {false, true}) {
        shapes.push_back({2, true, sum, 24, 16, 3, 7, ""}); // I != H: a transposed W shows
        // The benchmarked widths (N16 T50 passes as well, but takes 90 s in a -O0 build).
        shapes.push_back({2, true, sum, 512, 512, 4, 10, ""});
    }
    std::printf("2-layer bidirectional models, recur_model vs oneDNN layer by layer\n");
    bool ok = true;
    for (const auto &m : shapes) {
        ModelData d(m);
        fill_check_data(d);
        V y, E;
        model_reference(d, y, E);
        for (recur_isa isa : recur_isas())
            ok &= check_model(m, y, E, isa);
    }
    return ok;
}

} // namespace rb
