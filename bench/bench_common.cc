// Shapes, buffers, thread settings and counters of the harness.
#include "bench_common.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#ifdef RECUR_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

extern "C" {
#include "gemm.h" // the blocks chosen per ISA, the machine (topology.h)
}

namespace rb {

std::string Shape::name() const
{
    std::string s;
    if (I != H)
        s += "I" + std::to_string(I) + "_";
    return s + "H" + std::to_string(H) + "_N" + std::to_string(N) + "_T" + std::to_string(T);
}

// The DeepBench vanilla RNN sizes (training and device sets), I = H. The same table as
// shared/benchmarks/deepbench_vanilla.tsv, used when that file is not found.
static const char builtin_table[] =
    "set\thidden\tbatch\ttimesteps\n"
    "train\t1760\t16\t50\ntrain\t1760\t32\t50\ntrain\t1760\t64\t50\ntrain\t1760\t128\t50\n"
    "train\t2048\t16\t50\ntrain\t2048\t32\t50\ntrain\t2048\t64\t50\ntrain\t2048\t128\t50\n"
    "train\t2560\t16\t50\ntrain\t2560\t32\t50\ntrain\t2560\t64\t50\ntrain\t2560\t128\t50\n"
    "device\t32\t1\t672\ndevice\t64\t1\t96\n";

static std::string shapes_file_flag;
static std::string shapes_from = "built-in";

void set_shapes_file(const std::string &path) { shapes_file_flag = path; }
std::string shapes_source() { return shapes_from; }

// Rows "set hidden batch timesteps"; '#' lines and the header are skipped.
static std::vector<Shape> parse_table(std::istream &in)
{
    std::vector<Shape> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream ls(line);
        Shape s;
        if (!(ls >> s.set >> s.H >> s.N >> s.T))
            continue; // the header line
        s.I = s.H;
        out.push_back(s);
    }
    return out;
}

static std::vector<Shape> deepbench_shapes()
{
    std::vector<std::string> candidates;
    if (const char *e = std::getenv("RECUR_BENCH_SHAPES"))
        candidates.push_back(e);
    if (!shapes_file_flag.empty())
        candidates.push_back(shapes_file_flag);
#ifdef RECUR_BENCH_DEFAULT_SHAPES
    candidates.push_back(RECUR_BENCH_DEFAULT_SHAPES);
#endif
    candidates.push_back("../shared/benchmarks/deepbench_vanilla.tsv");
    for (const auto &path : candidates) {
        std::ifstream f(path);
        if (!f)
            continue;
        auto rows = parse_table(f);
        if (!rows.empty()) {
            shapes_from = path;
            return rows;
        }
    }
    std::istringstream in(builtin_table);
    shapes_from = "built-in";
    return parse_table(in);
}

std::vector<Shape> bench_shapes()
{
    std::vector<Shape> v = deepbench_shapes();
    for (size_t h : {128, 256, 512, 1024})
        for (size_t n : {1, 4, 16, 64})
            v.push_back({"grid", h, h, n, 50});
    v.push_back({"grid", 128, 128, 64, 100}); // the small training shape of issue #11
    return v;
}

std::string ModelShape::name() const
{
    std::string s = "L" + std::to_string(L) + (bi ? (sum ? "_bi_sum_" : "_bi_concat_") : "_fwd_");
    if (I != H)
        s += "I" + std::to_string(I) + "_";
    s += "H" + std::to_string(H) + "_N" + std::to_string(N) + "_T" + std::to_string(T);
    return lengths.empty() ? s : s + "_" + lengths;
}

std::vector<ModelShape> model_shapes()
{
    return {
        {2, true, false, 512, 512, 16, 50, ""}, // 2-layer bidirectional, CONCAT and SUM
        {2, true, true, 512, 512, 16, 50, ""},
        {1, false, false, 512, 512, 64, 100, "lens"}, // lengths uniform in 1..100
        {1, false, false, 512, 512, 64, 100, "pad"},  // the same batch, padded to T
    };
}

std::vector<int32_t> model_lengths(const ModelShape &m)
{
    std::vector<int32_t> v;
    if (m.lengths != "lens")
        return v;
    std::mt19937 gen(2024); // mt19937's sequence is fixed by the standard; % keeps it portable
    for (size_t n = 0; n < m.N; n++)
        v.push_back((int32_t)(1 + gen() % m.T));
    return v;
}

double model_forward_flops(const ModelShape &m)
{
    double steps = (double)(m.T * m.N);
    if (m.lengths == "lens") {
        steps = 0.0;
        for (int32_t len : model_lengths(m))
            steps += len;
    }
    double f = 0.0;
    for (size_t l = 0; l < m.L; l++)
        f += 2.0 * steps * (double)m.D() * (double)m.H * (double)(m.layer_in(l) + m.H);
    return f;
}

std::string cpu_model()
{
    auto value = [](const std::string &line) {
        size_t c = line.find(':');
        size_t b = c == std::string::npos ? c : line.find_first_not_of(" \t", c + 1);
        return b == std::string::npos ? std::string() : line.substr(b);
    };
    // x86: "model name", plus family and model (VMs often say no more than "AMD EPYC").
    std::ifstream f("/proc/cpuinfo");
    std::string line, name, family, model;
    while (std::getline(f, line) && !line.empty()) { // the first CPU's block
        if (line.rfind("model name", 0) == 0)
            name = value(line);
        else if (line.rfind("cpu family", 0) == 0)
            family = value(line);
        else if (line.rfind("model", 0) == 0 && line.find(':') != std::string::npos &&
                 line.substr(0, line.find(':')).find_last_not_of(" \t") == 4)
            model = value(line);
    }
    if (!name.empty())
        return family.empty() ? name : name + " (family " + family + ", model " + model + ")";
    if (FILE *p = popen("lscpu 2>/dev/null", "r")) { // AArch64: no "model name" in cpuinfo
        char buf[512];
        std::string found;
        while (std::fgets(buf, sizeof buf, p)) {
            std::string l(buf);
            if (l.rfind("Model name", 0) == 0 && found.empty()) {
                found = value(l);
                while (!found.empty() && (found.back() == '\n' || found.back() == ' '))
                    found.pop_back();
            }
        }
        pclose(p);
        if (!found.empty())
            return found;
    }
    return "?";
}

std::map<std::string, std::string> machine_context()
{
    const recur_machine *m = recur_machine_get();
    std::map<std::string, std::string> kv;
    kv["cpu_vendor"] = m->cpu_vendor[0] ? m->cpu_vendor : "?";
    kv["cpu_name"] = m->cpu_name[0] ? m->cpu_name : "?";
    kv["cpu_family"] = std::to_string(m->cpu_family);
    kv["cpu_model_number"] = std::to_string(m->cpu_model);
    kv["cache_l1d_kib"] = std::to_string(m->l1d_bytes >> 10);
    kv["cache_l2_kib"] = std::to_string(m->l2_bytes >> 10);
    kv["cache_l3_kib"] = std::to_string(m->l3_bytes >> 10);
    kv["cache_l3_cores"] = std::to_string(m->l3_cores);
    for (int v = RECUR_ISA_SCALAR; std::string(recur_isa_name((recur_isa)v)) != "unknown"; v++) {
        const recur_kernel_table *kt = recur_kernel_table_get((recur_isa)v);
        if (!kt || kt->gemm != recur_gemm_blocked)
            continue; // the scalar oracle's plain loop has no blocks
        const recur_gemm_config &g = kt->gemm_config;
        kv[std::string("gemm_blocks_") + recur_isa_name(kt->isa)] =
            std::to_string(g.mr) + "x" + std::to_string(g.nr) + " kc=" + std::to_string(g.kc) +
            " mc=" + std::to_string(g.mc) + " nc=" + std::to_string(g.nc) + " (" +
            recur_gemm_blocks_source_name(g.blocks_from) + ")";
    }
    return kv;
}

// Added to the context of every run at start-up, as BENCHMARK() registers at start-up,
// so that each binary linking the harness names the CPU and the blocks (the report's
// header reads them).
static const bool machine_context_added = [] {
    for (const auto &kv : machine_context())
        benchmark::AddCustomContext(kv.first, kv.second);
    return true;
}();

const std::vector<int> &thread_counts()
{
    static const std::vector<int> counts = [] {
        std::vector<int> v;
        if (const char *e = std::getenv("RECUR_BENCH_THREADS")) {
            std::istringstream in(e);
            std::string item;
            while (std::getline(in, item, ','))
                if (std::atoi(item.c_str()) > 0)
                    v.push_back(std::atoi(item.c_str()));
        }
        if (v.empty())
            v = {1}; // the default thread dimension: add counts here
        return v;
    }();
    return counts;
}

void set_threads(recur_context *ctx, int n)
{
#ifdef RECUR_BENCH_HAVE_OPENMP
    omp_set_num_threads(n);
#endif
    if (ctx)
        recur_context_set_num_threads(ctx, (size_t)n);
}

FloatBuf::FloatBuf(size_t count, float scale, unsigned seed) : n(count)
{
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    p = static_cast<float *>(std::aligned_alloc(64, bytes ? bytes : 64));
    if (!p)
        throw std::bad_alloc();
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    for (size_t i = 0; i < count; i++)
        p[i] = scale == 0.0f ? 0.0f : dist(gen);
}

static bool thread_cpu_clock()
{
    static const bool on = [] {
        const char *e = std::getenv("RECUR_BENCH_CLOCK");
        return e && std::string(e) == "thread_cpu";
    }();
    return on;
}

// The peak is timed on the thread's CPU clock whatever RECUR_BENCH_CLOCK says: it is a
// property of the core, and other processes on a shared machine must not lower it.
static double thread_seconds()
{
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *clock_name() { return thread_cpu_clock() ? "thread_cpu" : "wall"; }

double now_seconds()
{
    if (thread_cpu_clock())
        return thread_seconds();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double peak_gflops(const std::string &isa)
{
    static std::mutex mu;
    static std::map<std::string, double> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(isa);
    if (it != cache.end())
        return it->second;
    double best = 0.0;
    for (const auto &p : peak_isas()) {
        if (p.name != isa)
            continue;
        p.run(1000000); // warm the core up (frequency, power state)
        for (int rep = 0; rep < 5; rep++) {
            double t0 = thread_seconds();
            double flops = p.run(20000000);
            double s = thread_seconds() - t0;
            best = std::max(best, flops / s * 1e-9);
        }
    }
    cache[isa] = best;
    return best;
}

double machine_peak_gflops()
{
    double best = 0.0;
    for (const auto &p : peak_isas())
        best = std::max(best, peak_gflops(p.name));
    return best;
}

void set_counters(benchmark::State &st, double flops_per_iter, double total_seconds,
                  const std::string &isa, double steps)
{
    double iters = (double)st.iterations();
    if (iters <= 0.0 || total_seconds <= 0.0)
        return;
    double gflops = flops_per_iter * iters / total_seconds * 1e-9;
    st.counters["GFLOPs"] = gflops;
    double pk = peak_gflops(isa);
    if (pk > 0.0)
        st.counters["pct_peak"] = 100.0 * gflops / pk;
    double mp = machine_peak_gflops();
    if (mp > 0.0)
        st.counters["pct_machine_peak"] = 100.0 * gflops / mp;
    st.counters["us_per_step"] = total_seconds / iters / steps * 1e6;
}

} // namespace rb
