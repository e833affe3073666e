// Which peak loops this CPU can run, and their `fma_peak/<isa>` benchmarks.
#include "bench_common.h"
#include "fma_peak.h"

namespace rb {

const std::vector<PeakIsa> &peak_isas()
{
    static const std::vector<PeakIsa> isas = [] {
        std::vector<PeakIsa> v;
        v.push_back({"scalar", rb_fma_peak_scalar});
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            v.push_back({"avx2", rb_fma_peak_avx2});
        if (__builtin_cpu_supports("avx512f"))
            v.push_back({"avx512", rb_fma_peak_avx512});
#elif defined(__aarch64__)
        v.push_back({"neon", rb_fma_peak_neon});
#endif
        return v;
    }();
    return isas;
}

void register_peaks()
{
    for (const auto &p : peak_isas()) {
        std::string isa = p.name;
        auto run = p.run;
        benchmark::RegisterBenchmark(("fma_peak/" + isa).c_str(), [isa, run](benchmark::State &st) {
            const long iters = 1000000;
            double flops = 0.0;
            double total = timed_loop(st, [&] { flops = run(iters); });
            set_counters(st, flops, total, isa, 1.0);
        })->UseManualTime()->Unit(benchmark::kMillisecond);
    }
}

} // namespace rb
