// Kernel microbenchmarks through the internal kernel table (links recur_core):
//   gemm/<isa>/M1024_N1024_K1024     kt->gemm, C = A B, flops 2*M*N*K
//   gemm/<isa>/M1760_N1760_K3200     the same at the size of a DeepBench weight gradient
//   gemm_ukernel/<isa>/kc256         the microkernel alone on panels that stay in L1
//   rnn_step/<isa>/H<h>_N<n>         kt->rnn_step on a packed U, flops 2*N*H*H
#include "recur_problem.h"

#include <array>
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

// The microkernel alone on L1-resident panels (kc 256): its ceiling inside a GEMM.
void bench_gemm_ukernel(benchmark::State &st, recur_isa isa)
{
    const recur_gemm_config *g = &recur_kernel_table_get(isa)->gemm_config;
    const size_t kc = 256;
    FloatBuf a(g->mr * kc, 1.0f, 1), b(kc * g->nr, 1.0f, 2), c(g->mr * g->nr);
    const int reps = 1000;
    auto call = [&] {
        for (int r = 0; r < reps; r++)
            g->ukernel(kc, a.data(), b.data(), c.data(), g->nr, g->mr, g->nr, 1, nullptr);
    };
    call();
    double total = timed_loop(st, call);
    set_counters(st, 2.0 * reps * g->mr * g->nr * kc, total, recur_isa_name(isa), 1.0);
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
        const recur_kernel_table *kt = recur_kernel_table_get(isa);
        for (auto mnk : {std::array<size_t, 3>{1024, 1024, 1024}, std::array<size_t, 3>{1760, 1760, 3200}}) {
            if (mnk[2] > 1024 && isa == RECUR_ISA_SCALAR)
                continue; /* the plain loop (the oracle) would take a minute */
            std::string name = "gemm/" + in + "/M" + std::to_string(mnk[0]) + "_N" +
                               std::to_string(mnk[1]) + "_K" + std::to_string(mnk[2]);
            benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                bench_gemm(st, isa, mnk[0], mnk[1], mnk[2]);
            })->UseManualTime()->Unit(benchmark::kMillisecond);
        }
        if (kt->gemm_config.mr > 1)
            benchmark::RegisterBenchmark(("gemm_ukernel/" + in + "/kc256").c_str(),
                                         [=](benchmark::State &st) { bench_gemm_ukernel(st, isa); })
                ->UseManualTime()->Unit(benchmark::kMicrosecond);
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
