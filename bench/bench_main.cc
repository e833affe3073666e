// recur-bench: Google Benchmark suite for recur (and oneDNN side by side).
// Extra flags (besides Google Benchmark's own --benchmark_*):
//   --shapes=FILE   DeepBench-style table (set, hidden, batch, timesteps); also
//                   RECUR_BENCH_SHAPES=FILE. Default: ../shared/benchmarks/deepbench_vanilla.tsv
//                   or the built-in copy.
//   --check         run the recur vs oneDNN cross-check instead of the benchmarks.
//   --busy=N        run N spinning neighbour processes during the benchmarks (the
//                   shared-server rows: one per core measures a call whose cores are
//                   shared); the context says busy_neighbours=N.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench_common.h"
#include "busy_neighbours.h"

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    bool check = false;
    int busy = 0;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (std::strncmp(argv[i], "--busy=", 7) == 0) {
            char *end;
            long n = std::strtol(argv[i] + 7, &end, 10);
            if (*end || n < 0 || n > 1024) {
                std::fprintf(stderr, "recur-bench: --busy wants a count 0..1024\n");
                return 2;
            }
            busy = (int)n;
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
    rb::start_busy_neighbours(busy);
    benchmark::AddCustomContext("busy_neighbours", std::to_string(rb::busy_neighbours()));
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
