// Shared pieces of the benchmark harness: shapes, flop formulas, buffers, peaks,
// and the thread dimension. C++17; the library under test stays C.
#ifndef RECUR_BENCH_COMMON_H
#define RECUR_BENCH_COMMON_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "recur.h"

namespace rb {

// One RNN problem: I inputs, H hidden units, batch N, T steps ("set" says where it came from).
struct Shape {
    std::string set; // "train", "device", "grid" or "check"
    size_t I, H, N, T;
    std::string name() const; // "H256_N1_T50" (with "I.._" first when I != H)
};

// DeepBench table (RECUR_BENCH_SHAPES, --shapes=FILE, the shared copy, or the built-in
// copy, in that order) followed by the H x N grid at T 50.
std::vector<Shape> bench_shapes();
void set_shapes_file(const std::string &path);
std::string shapes_source(); // where the DeepBench rows came from, for the context line

// Flops of one forward pass: 2*T*N*H*(I+H) (+ 2*T*N*H*O with an output layer).
// Backward counts 2x forward (dW, dU and dx, dA recurrence); a training step 3x.
inline double forward_flops(const Shape &s, size_t O = 0)
{
    return 2.0 * s.T * s.N * s.H * (double)(s.I + s.H) + 2.0 * s.T * s.N * s.H * (double)O;
}

// Intra-op thread counts to register (names carry /threads:n): {1} by default, or the
// comma-separated list in RECUR_BENCH_THREADS (e.g. "1,2"). THE thread dimension.
const std::vector<int> &thread_counts();

// Applies n threads to oneDNN (OpenMP) and to ctx (recur_context_set_num_threads).
void set_threads(recur_context *ctx, int n);

// 64-byte aligned float buffer filled with uniform values in [-scale, scale].
struct FloatBuf {
    float *p = nullptr;
    size_t n = 0;
    FloatBuf() = default;
    explicit FloatBuf(size_t count, float scale = 0.0f, unsigned seed = 1);
    ~FloatBuf() { std::free(p); }
    FloatBuf(const FloatBuf &) = delete;
    FloatBuf &operator=(const FloatBuf &) = delete;
    FloatBuf(FloatBuf &&o) noexcept : p(o.p), n(o.n) { o.p = nullptr; o.n = 0; }
    float *data() { return p; }
    const float *data() const { return p; }
};

// ---- peaks: measured single-core FMA throughput per ISA, in GFLOP/s.
struct PeakIsa {
    std::string name;     // "scalar", "avx2", "avx512", "neon"
    double (*run)(long);  // FMA loop, returns flops done
};
const std::vector<PeakIsa> &peak_isas();  // those this CPU can run
double peak_gflops(const std::string &isa); // measured once, cached; 0 when unknown
double machine_peak_gflops();               // best of peak_isas()

// Sets GFLOP/s, % of peak (of `isa`, and of the machine), us per step from a manual
// total time. steps = time steps per iteration (1 for kernels).
void set_counters(benchmark::State &st, double flops_per_iter, double total_seconds,
                  const std::string &isa, double steps);

// The clock of timed_loop: wall time (steady_clock) by default; with
// RECUR_BENCH_CLOCK=thread_cpu the calling thread's CPU time, which ignores time stolen
// by other processes on a shared machine (only meaningful for threads:1).
double now_seconds();
const char *clock_name();

// Times fn() once per iteration with now_seconds() and feeds SetIterationTime; returns
// the total seconds (for set_counters).
template <class Fn> double timed_loop(benchmark::State &st, Fn &&fn);

// A recur_model problem (model_problem.cc): L layers, forward or bidirectional
// (CONCAT or SUM), tanh, O = 0, time-major, h0 = 0. lengths: "" (none), "lens" (uniform
// in 1..T, fixed seed) or "pad" (the same batch without lengths, for comparison).
struct ModelShape {
    size_t L;
    bool bi;
    bool sum;            // merge SUM (else CONCAT); bidirectional only
    size_t I, H, N, T;
    std::string lengths; // "", "lens" or "pad"
    std::string name() const; // "L2_bi_concat_H512_N16_T50", "L1_fwd_H512_N64_T100_lens"
    size_t D() const { return bi ? 2 : 1; }
    size_t layer_in(size_t l) const { return l == 0 ? I : (bi && !sum ? 2 * H : H); }
    size_t out() const { return bi && !sum ? 2 * H : H; }
};
std::vector<ModelShape> model_shapes();
// The fixed-seed lengths of a "lens" shape (uniform in 1..T); empty otherwise.
std::vector<int32_t> model_lengths(const ModelShape &m);
// Forward flops 2 N H (in_l + H) per step, layer and direction, over the valid steps.
double model_forward_flops(const ModelShape &m);

// "model name" of /proc/cpuinfo, else lscpu's "Model name" ("?" when neither is found).
std::string cpu_model();

// The machine as the library detected it and the GEMM blocks it chose per ISA
// (cpu_vendor, cpu_name, cpu_family, cpu_model_number, cache_l1d_kib, cache_l2_kib,
// cache_l3_kib, cache_l3_cores, gemm_blocks_<isa> = "6x16 kc=256 mc=252 nc=8192
// (derived)"); every run's context carries these keys.
std::map<std::string, std::string> machine_context();

// Registration of each group (bench_recur.cc, bench_kernels.cc, bench_onednn.cc,
// bench_model.cc, bench_onednn_model.cc).
void register_recur(const std::vector<Shape> &shapes);
void register_kernels();
void register_peaks();
void register_onednn(const std::vector<Shape> &shapes); // no-op without oneDNN
void register_models(const std::vector<ModelShape> &shapes);
void register_onednn_models(const std::vector<ModelShape> &shapes); // no-op without oneDNN
bool have_onednn();

// Cross-check of recur vs oneDNN on small shapes; returns 0 when everything matches.
int run_crosscheck();
// The same for stacked bidirectional models (crosscheck_model.cc): true when it matches.
bool run_model_crosscheck();
// Prints one compared quantity; false when |recur - oneDNN| > 2 bound or |recur - exact|
// > bound somewhere (crosscheck.cc).
bool crosscheck_compare(const char *what, size_t count, const float *rec, const float *dnn,
                        const double *exact, const double *bound);

} // namespace rb

template <class Fn> double rb::timed_loop(benchmark::State &st, Fn &&fn)
{
    double total = 0.0;
    for (auto _ : st) {
        double t0 = now_seconds();
        fn();
        double s = now_seconds() - t0;
        st.SetIterationTime(s);
        total += s;
    }
    return total;
}

#endif
