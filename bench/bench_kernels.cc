// Kernel microbenchmarks through the internal kernel table (links recur_core):
//   gemm/<isa>/M1024_N1024_K1024     kt->gemm, C = A B, flops 2*M*N*K
//   rnn_step/<isa>/H<h>_N<n>         kt->rnn_step on a packed U, flops 2*N*H*H
#include "recur_problem.h"

#include <cmath>

extern "C" {
#include "kernel_table.h"
}

namespace rb {

namespace {

void bench_gemm(benchmark::State &st, recur_isa isa, size_t m, size_t n, size_t k)
{
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    FloatBuf a(m * k, 1.0f, 1), b(k * n, 1.0f, 2), c(m * n);
    FloatBuf scratch(recur_gemm_scratch_floats(kt));
    auto call = [&] {
        kt->gemm(kt, m, n, k, a.data(), (ptrdiff_t)k, 1, b.data(), (ptrdiff_t)n, 1, c.data(), n,
                 0, scratch.data());
    };
    call();
    double total = timed_loop(st, call);
    set_counters(st, 2.0 * m * n * k, total, recur_isa_name(isa), 1.0);
}

void bench_rnn_step(benchmark::State &st, recur_isa isa, size_t h, size_t batch)
{
    const recur_kernel_table *kt = recur_kernel_table_get(isa);
    FloatBuf u(h * h, 1.0f / std::sqrt((float)h), 3), hprev(batch * h, 1.0f, 4),
        pre(batch * h, 0.5f, 5), out(batch * h);
    FloatBuf packed(kt->packed_rec_floats(h, h));
    kt->pack_rec(h, h, u.data(), (ptrdiff_t)h, 1, packed.data());
    auto call = [&] {
        kt->rnn_step(batch, h, h, packed.data(), hprev.data(), h, pre.data(), h, out.data(), h,
                     RECUR_ACT_TANH);
    };
    call();
    double total = timed_loop(st, call);
    set_counters(st, 2.0 * batch * h * h, total, recur_isa_name(isa), 1.0);
}

} // namespace

void register_kernels()
{
    for (recur_isa isa : recur_isas()) {
        std::string in = recur_isa_name(isa);
        benchmark::RegisterBenchmark(("gemm/" + in + "/M1024_N1024_K1024").c_str(),
                                     [=](benchmark::State &st) { bench_gemm(st, isa, 1024, 1024, 1024); })
            ->UseManualTime()->Unit(benchmark::kMillisecond);
        for (size_t h : {256, 1024})
            for (size_t n : {1, 64}) {
                std::string name = "rnn_step/" + in + "/H" + std::to_string(h) + "_N" + std::to_string(n);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                    bench_rnn_step(st, isa, h, n);
                })->UseManualTime()->Unit(benchmark::kMicrosecond);
            }
    }
}

} // namespace rb
