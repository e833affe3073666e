// oneDNN beside recur's 2-layer bidirectional model rows (bench_model.cc), same data:
//   model_fwd_infer/onednn/<model>/threads:<n>   forward_inference, layer by layer
//   model_train/onednn/<model>/threads:<n>       forward_training + backward (oneDNN
//                                                always computes dx; recur's row does not)
// No rows for the _lens/_pad shapes: oneDNN's RNN has no per-sequence lengths.
#include "model_problem.h"
#include "onednn_model.h"

namespace rb {

namespace {

void run_onednn_model(benchmark::State &st, bool train, ModelShape m, int threads)
{
    set_threads(nullptr, threads);
    ModelData d(m);
    FloatBuf y(m.T * m.N * m.out()), dx(m.T * m.N * m.I);
    OnednnModel r(m, ModelData::ptrs(d.W), ModelData::ptrs(d.U), ModelData::ptrs(d.b));
    auto step = [&] {
        r.forward_train(d.x.data(), y.data());
        r.backward(d.x.data(), y.data(), d.dy.data(), dx.data());
    };
    step();
    double total = 0.0;
    if (train) {
        total = timed_loop(st, step);
    } else {
        r.forward_infer(d.x.data(), y.data());
        total = timed_loop(st, [&] { r.forward_infer(d.x.data(), y.data()); });
    }
    set_counters(st, (train ? 3.0 : 1.0) * model_forward_flops(m), total, "onednn", (double)m.T);
}

} // namespace

void register_onednn_models(const std::vector<ModelShape> &shapes)
{
    for (bool train : {false, true})
        for (const auto &m : shapes)
            for (int th : thread_counts()) {
                if (!m.lengths.empty())
                    continue;
                std::string name = std::string(train ? "model_train" : "model_fwd_infer") +
                                   "/onednn/" + m.name() + "/threads:" + std::to_string(th);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                    run_onednn_model(st, train, m, th);
                })->UseManualTime()->Unit(benchmark::kMillisecond);
            }
}

} // namespace rb
