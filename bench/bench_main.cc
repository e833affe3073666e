// recur-bench: Google Benchmark suite for recur (and oneDNN side by side).
// Extra flags (besides Google Benchmark's own --benchmark_*):
//   --shapes=FILE   DeepBench-style table (set, hidden, batch, timesteps); also
//                   RECUR_BENCH_SHAPES=FILE. Default: ../shared/benchmarks/deepbench_vanilla.tsv
//                   or the built-in copy.
//   --check         run the recur vs oneDNN cross-check instead of the benchmarks.
#include <cstdio>
#include <cstring>

#include "bench_common.h"

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (std::strncmp(argv[i], "--shapes=", 9) == 0) {
            rb::set_shapes_file(argv[i] + 9);
        } else {
            std::fprintf(stderr, "recur-bench: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (check)
        return rb::run_crosscheck();

    auto shapes = rb::bench_shapes();
    benchmark::AddCustomContext("cpu_model", rb::cpu_model());
    benchmark::AddCustomContext("recur_version", recur_version_string());
    benchmark::AddCustomContext("recur_best_isa", recur_isa_name(recur_isa_best()));
    benchmark::AddCustomContext("shapes_from", rb::shapes_source());
    benchmark::AddCustomContext("clock", rb::clock_name());
    for (const auto &p : rb::peak_isas())
        benchmark::AddCustomContext("peak_gflops_" + p.name, std::to_string(rb::peak_gflops(p.name)));
    rb::register_peaks();
    rb::register_kernels();
    rb::register_recur(shapes);
    rb::register_onednn(shapes);
    rb::register_models(rb::model_shapes());
    rb::register_onednn_models(rb::model_shapes());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
