// recur_model rows, one benchmark per (op, model shape, ISA, threads):
//   model_fwd_infer/recur/<isa>/<model>/threads:<n>   recur_model_forward
//   model_train/recur/<isa>/<model>/threads:<n>       forward_train + backward (no dx, dh0)
// <model> is ModelShape::name(): the 2-layer bidirectional models (oneDNN rows alongside,
// bench_onednn_model.cc) and the variable-length pair ..._lens / ..._pad (recur only:
// the same batch with lengths uniform in 1..T, and padded to T without lengths).
#include "model_problem.h"

#include <cmath>

namespace rb {

namespace {

// Untimed, before a _lens row: the valid steps must match the padded run of the same
// batch (a forward model: the same arithmetic, only the row blocking may differ) and
// the steps past each length must be zero. Returns "" or what is wrong.
std::string check_lengths(ModelProblem &p)
{
    ModelShape pad = p.m;
    pad.lengths = "pad";
    ModelProblem q(pad, recur_context_isa(p.ctx), 1);
    p.forward();
    q.forward();
    const size_t N = p.m.N, C = p.m.out();
    double worst = 0.0;
    for (size_t t = 0; t < p.m.T; t++)
        for (size_t n = 0; n < N; n++)
            for (size_t j = 0; j < C; j++) {
                size_t o = (t * N + n) * C + j;
                bool valid = (int32_t)t < p.lengths[n];
                double d = valid ? std::fabs((double)p.y.data()[o] - q.y.data()[o])
                                 : std::fabs((double)p.y.data()[o]);
                if (!valid && d != 0.0)
                    return "nonzero y past the length (t " + std::to_string(t) + ", n " +
                           std::to_string(n) + ")";
                worst = std::isfinite(d) ? std::max(worst, d) : INFINITY;
            }
    if (!(worst <= 1e-3))
        return "y with lengths differs from the padded run by " + std::to_string(worst);
    return "";
}

void run_model(benchmark::State &st, bool train, ModelShape m, recur_isa isa, int threads)
{
    try {
        ModelProblem p(m, isa, threads);
        if (m.lengths == "lens") {
            std::string err = check_lengths(p);
            if (!err.empty()) {
                st.SkipWithError(err.c_str());
                return;
            }
            double sum = 0.0;
            for (int32_t len : p.lengths)
                sum += len;
            st.counters["mean_len"] = sum / (double)m.N;
        }
        p.train(); // scratch allocation, workspace filled
        double total = train ? timed_loop(st, [&] { p.train(); })
                             : (p.forward(), timed_loop(st, [&] { p.forward(); }));
        set_counters(st, (train ? 3.0 : 1.0) * model_forward_flops(m), total, recur_isa_name(isa),
                     (double)m.T);
    } catch (const std::exception &e) {
        st.SkipWithError(e.what());
    }
}

} // namespace

void register_models(const std::vector<ModelShape> &shapes)
{
    for (bool train : {false, true})
        for (const auto &m : shapes)
            for (recur_isa isa : recur_isas())
                for (int th : thread_counts()) {
                    std::string name = std::string(train ? "model_train" : "model_fwd_infer") +
                                       "/recur/" + recur_isa_name(isa) + "/" + m.name() +
                                       "/threads:" + std::to_string(th);
                    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                        run_model(st, train, m, isa, th);
                    })->UseManualTime()->Unit(benchmark::kMillisecond);
                }
}

} // namespace rb
