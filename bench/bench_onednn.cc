// oneDNN side by side, on the same shapes and data scales as recur's benchmarks:
//   fwd_infer/onednn/<shape>/threads:<n>, fwd_train/onednn/..., bwd/onednn/...
//   gemm/onednn_sgemm/M1024_N1024_K1024   dnnl_sgemm on one thread, beside gemm/<isa>/
// Weights are reordered to the primitives' layouts at construction, outside timing.
// bwd re-zeroes nothing: oneDNN adds into its weight gradients, values do not matter here.
#include "onednn_rnn.h"

#include <cmath>

#include <oneapi/dnnl/dnnl.h>

namespace rb {

bool have_onednn() { return true; }

namespace {

enum class Op { FwdInfer, FwdTrain, Bwd };

void run_onednn(benchmark::State &st, Op op, Shape s, int threads)
{
    set_threads(nullptr, threads);
    const float ws = 1.0f / std::sqrt((float)s.H); // as in RecurProblem
    FloatBuf W(s.H * s.I, ws, 11), U(s.H * s.H, ws, 12), b(s.H, 0.1f, 13),
        x(s.T * s.N * s.I, 1.0f, 14), h0(s.N * s.H, 0.5f, 15), y(s.T * s.N * s.H),
        dy(s.T * s.N * s.H, 0.01f, 17), dx(s.T * s.N * s.I), dh0(s.N * s.H);
    OnednnRnn r(s, W.data(), U.data(), b.data());
    r.forward_train(x.data(), h0.data(), y.data());
    double total = 0.0, factor = 1.0;
    switch (op) {
    case Op::FwdInfer:
        r.forward_infer(x.data(), h0.data(), y.data());
        total = timed_loop(st, [&] { r.forward_infer(x.data(), h0.data(), y.data()); });
        break;
    case Op::FwdTrain:
        total = timed_loop(st, [&] { r.forward_train(x.data(), h0.data(), y.data()); });
        break;
    case Op::Bwd:
        factor = 2.0;
        r.backward(x.data(), h0.data(), y.data(), dy.data(), dx.data(), dh0.data());
        total = timed_loop(st, [&] {
            r.backward(x.data(), h0.data(), y.data(), dy.data(), dx.data(), dh0.data());
        });
        break;
    }
    // "onednn" has no peak of its own: pct_machine_peak compares with the best ISA here.
    set_counters(st, factor * forward_flops(s), total, "onednn", (double)s.T);
}

// The same C = A B as bench_gemm (bench_kernels.cc): row-major, no transposes, beta 0.
void bench_sgemm(benchmark::State &st, size_t m, size_t n, size_t k)
{
    set_threads(nullptr, 1);
    FloatBuf a(m * k, 1.0f, 1), b(k * n, 1.0f, 2), c(m * n);
    auto call = [&] {
        dnnl_sgemm('N', 'N', (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, 1.0f, a.data(),
                   (dnnl_dim_t)k, b.data(), (dnnl_dim_t)n, 0.0f, c.data(), (dnnl_dim_t)n);
    };
    call();
    double total = timed_loop(st, call);
    set_counters(st, 2.0 * m * n * k, total, "onednn", 1.0);
}

} // namespace

void register_onednn(const std::vector<Shape> &shapes)
{
    benchmark::AddCustomContext("onednn_isa", OnednnRnn::effective_isa());
    benchmark::RegisterBenchmark("gemm/onednn_sgemm/M1024_N1024_K1024", [](benchmark::State &st) {
        bench_sgemm(st, 1024, 1024, 1024);
    })->UseManualTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("gemm/onednn_sgemm/M1760_N1760_K3200", [](benchmark::State &st) {
        bench_sgemm(st, 1760, 1760, 3200);
    })->UseManualTime()->Unit(benchmark::kMillisecond);
    const std::pair<Op, const char *> ops[] = {
        {Op::FwdInfer, "fwd_infer"}, {Op::FwdTrain, "fwd_train"}, {Op::Bwd, "bwd"}};
    for (const auto &op : ops)
        for (const auto &s : shapes)
            for (int th : thread_counts()) {
                std::string name = std::string(op.second) + "/onednn/" + s.name() +
                                   "/threads:" + std::to_string(th);
                Op o = op.first;
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                    run_onednn(st, o, s, th);
                })->UseManualTime()->Unit(benchmark::kMillisecond);
            }
}

} // namespace rb
