#!/usr/bin/env python3
"""Run recur-bench and write REPORT_DIR/bench.md (table) and REPORT_DIR/bench.png (plot).

Builds nothing: give it the recur-bench binary (default build-release/bench/recur-bench).
Default is a quick subset (device shapes, part of the grid, two DeepBench training
shapes, 3 repetitions; a few minutes at most on 2 cores); --full runs every benchmark
(the scalar DeepBench runs alone take hours).

usage: bench_report.sh [--full] [--filter REGEX] [--reps N] [--min-time S]
                       [--json FILE] [BINARY] [REPORT_DIR]
  --json FILE  make the report from an existing --benchmark_out JSON, run nothing
Environment: RECUR_BENCH_CLOCK=thread_cpu times on the thread's CPU clock (see
docs/benchmarks.md), RECUR_BENCH_SHAPES=FILE another DeepBench-style table.
"""
import json
import os
import re
import shutil
import subprocess
import sys

OPS = ["fwd_infer", "fwd_train", "bwd", "train_step"]
MODEL_OPS = ["model_fwd_infer", "model_train"]
SIMD = "(avx2|avx512|neon)"
QUICK = "|".join([
    "^fma_peak/",
    "^gemm/" + SIMD + "/",
    "^rnn_step/",
    # every ISA (scalar too) on the small shapes
    "^(fwd_infer|fwd_train|bwd|train_step)/(recur/[a-z0-9]+|onednn)/(H32_N1_T672|H64_N1_T96|H256_N1_T50)/",
    # SIMD only on the large ones: the scalar GEMM needs minutes for one DeepBench step
    "^(fwd_infer|fwd_train|bwd|train_step)/(recur/" + SIMD + "|onednn)/"
    "(H1024_N1_T50|H256_N16_T50|H1760_N16_T50|H2048_N32_T50)/",
    # recur_model: 2-layer bidirectional vs oneDNN, variable lengths vs padded (SIMD only)
    "^(model_fwd_infer|model_train)/(recur/" + SIMD + "|onednn)/",
])


def usage(msg=None):
    if msg:
        print("bench_report: " + msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opt = {"full": False, "filter": None, "reps": 3, "min_time": "0.1", "json": None}
    pos = []
    it = iter(argv)
    for a in it:
        if a == "--full":
            opt["full"] = True
        elif a in ("--filter", "--reps", "--min-time", "--json"):
            v = next(it, None)
            if v is None:
                usage(a + " needs a value")
            opt[a[2:].replace("-", "_")] = v
        elif a in ("-h", "--help"):
            usage()
        elif a.startswith("-"):
            usage("unknown option " + a)
        else:
            pos.append(a)
    if len(pos) > 2:
        usage("too many arguments")
    opt["binary"] = pos[0] if pos else "build-release/bench/recur-bench"
    opt["report"] = pos[1] if len(pos) > 1 else "report"
    return opt


def run_suite(opt, json_path):
    binary = opt["binary"]
    if not os.access(binary, os.X_OK):
        usage("no executable recur-bench at %s (build it: meson setup build-release "
              "-Dbuildtype=release && ninja -C build-release)" % binary)
    flt = opt["filter"] or ("." if opt["full"] else QUICK)
    listed = subprocess.run([binary, "--benchmark_list_tests", "--benchmark_filter=" + flt],
                            capture_output=True, text=True, check=True).stdout.split()
    reps = int(opt["reps"])
    total = len(listed) * reps
    print("bench_report: %d benchmarks x %d repetitions" % (len(listed), reps), flush=True)
    cmd = [binary, "--benchmark_filter=" + flt, "--benchmark_repetitions=%d" % reps,
           "--benchmark_min_time=" + opt["min_time"], "--benchmark_out=" + json_path,
           "--benchmark_out_format=json", "--benchmark_format=console",
           "--benchmark_color=false"]
    done = 0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as p:
        for line in p.stdout:
            name = line.split(" ", 1)[0]
            if name in listed:
                done += 1
                print("[%4d/%d] %s" % (done, total, line.rstrip()), flush=True)
        if p.wait() != 0:
            sys.exit("bench_report: recur-bench failed (exit %d)" % p.returncode)


def load(json_path):
    """{benchmark name without /manual_time: counters}, medians when aggregated."""
    with open(json_path) as f:
        data = json.load(f)
    rows, medians = {}, {}
    for b in data["benchmarks"]:
        name = re.sub(r"/(manual|real)_time$", "", b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b
        else:
            rows.setdefault(name, b)  # first repetition, when there are no aggregates
    rows.update(medians)
    return data.get("context", {}), rows


def fmt(v, digits=1):
    return "—" if v is None else ("%.*f" % (digits, v))


def fmt_sig(v):
    """Three significant digits: per-step times range from 0.04 to 5000 us."""
    if v is None:
        return "—"
    return "%.0f" % v if v >= 100 else "%.3g" % v


def shape_key(shape):
    nums = [int(x) for x in re.findall(r"\d+", shape)]
    return (nums[-1] != 50, nums)  # T50 grid/DeepBench first, then the device shapes


def local_cpu_model():
    """lscpu's "Model name" on this machine (for runs made here), else None."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return None


def ms(b):
    """Time per iteration in ms (manual time: real_time, medians when aggregated)."""
    if not b or b.get("real_time") is None:
        return None
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}.get(b.get("time_unit", "ns"), None)
    return None if scale is None else b["real_time"] * scale


def model_tables(models):
    """Tables of the recur_model rows: recur vs oneDNN (bidirectional), lengths vs padded."""
    lines = []
    bi = sorted(k for k in models if k[1] == "recur" and "_bi_" in k[3])
    if bi:
        lines += ["", "## Stacked bidirectional models (recur_model vs oneDNN)", "",
                  "2 layers, tanh, I = H = 512, N 16, T 50, O = 0, h0 = 0. oneDNN runs the same "
                  "model (each layer's input is the merged output of both directions below) as "
                  "one bidirectional primitive per layer. model_train = forward_train + backward "
                  "(recur without dx; oneDNN always computes dx). recur/oneDNN = oneDNN time / "
                  "recur time (above 1: recur is faster).", "",
                  "| op | model | ISA | threads | recur ms | oneDNN ms | recur/oneDNN | "
                  "recur GFLOP/s | oneDNN GFLOP/s |",
                  "|---|---|---|---|---:|---:|---:|---:|---:|"]
        for k in sorted(bi, key=lambda k: (MODEL_OPS.index(k[0]), k[3], k[2], k[4])):
            b, o = models[k], models.get((k[0], "onednn", None, k[3], k[4]))
            t, ot = ms(b), ms(o)
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                k[0], k[3], k[2], k[4].split(":")[-1], fmt_sig(t), fmt_sig(ot),
                "%.2f" % (ot / t) if t and ot else "—", fmt(b.get("GFLOPs"), 2),
                fmt(o.get("GFLOPs") if o else None, 2)))
    lens = sorted(k for k in models if k[1] == "recur" and k[3].endswith("_lens"))
    if lens:
        lines += ["", "## Variable lengths (recur_model, lengths vs padded)", "",
                  "1 layer, forward, tanh, I = H = 512, N 64, T 100, O = 0: per-sequence lengths "
                  "uniform in 1..100 (fixed seed) against the same batch padded to T (lengths "
                  "NULL). lengths/padded = time ratio (target <= 0.6); ideal = mean length / T. "
                  "GFLOP/s count the valid steps only.", "",
                  "| op | shape | ISA | threads | lengths ms | padded ms | lengths/padded | ideal | "
                  "lengths GFLOP/s | padded GFLOP/s |",
                  "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for k in sorted(lens, key=lambda k: (MODEL_OPS.index(k[0]), k[3], k[2], k[4])):
            b = models[k]
            p = models.get((k[0], "recur", k[2], k[3][:-len("_lens")] + "_pad", k[4]))
            t, pt = ms(b), ms(p)
            T = int(re.search(r"_T(\d+)", k[3]).group(1))
            ideal = b.get("mean_len") / T if b.get("mean_len") else None
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                k[0], k[3][:-len("_lens")], k[2], k[4].split(":")[-1], fmt_sig(t), fmt_sig(pt),
                "%.3f" % (t / pt) if t and pt else "—", fmt(ideal, 3), fmt(b.get("GFLOPs"), 2),
                fmt(p.get("GFLOPs") if p else None, 2)))
    return lines


def machine_lines(context):
    """The CPU and the GEMM blocks recur chose on it, from the run's context (keys from
    bench_common.cc: machine_context); nothing for runs made before those keys."""
    lines = []
    if context.get("cpu_family") is not None:
        caches = "L1d %s KiB, L2 %s KiB, L3 %s KiB shared by %s cores" % (
            context.get("cache_l1d_kib", "?"), context.get("cache_l2_kib", "?"),
            context.get("cache_l3_kib", "?"), context.get("cache_l3_cores", "?"))
        lines.append("CPU: %s, vendor %s, family %s, model %s; %s." % (
            context.get("cpu_name", "?"), context.get("cpu_vendor", "?"),
            context["cpu_family"], context.get("cpu_model_number", "?"), caches))
    blocks = sorted((k[len("gemm_blocks_"):], v) for k, v in context.items()
                    if k.startswith("gemm_blocks_"))
    if blocks:
        lines.append("GEMM tile and cache blocks (RECUR_GEMM_BLOCKS overrides them): " +
                     "; ".join("%s %s" % kv for kv in blocks) + ".")
    return [""] + lines if lines else []


def make_report(context, rows, out_dir, cpu_model=None):
    os.makedirs(out_dir, exist_ok=True)
    recur, onednn, models = {}, {}, {}
    kernels = []
    for name, b in rows.items():
        parts = name.split("/")
        g = b.get("GFLOPs")
        if parts[0] in MODEL_OPS:
            # (op, library, isa or None, model, threads)
            if parts[1] == "recur":
                models[(parts[0], "recur", parts[2], parts[3], parts[4])] = b
            else:
                models[(parts[0], parts[1], None, parts[2], parts[3])] = b
        elif parts[0] in OPS and parts[1] == "recur":
            recur[(parts[0], parts[3], parts[2], parts[4])] = b
        elif parts[0] in OPS and parts[1] == "onednn":
            onednn[(parts[0], parts[2], parts[3])] = b
        elif g is not None:
            kernels.append((name, b))
    isas = sorted({k[2] for k in recur}, key=["scalar", "neon", "avx2", "avx512"].index)
    peaks = {k[len("peak_gflops_"):]: float(v) for k, v in context.items()
             if k.startswith("peak_gflops_")}
    lines = ["# recur benchmark report", ""]
    cpu = context.get("cpu_model") or cpu_model or "?"
    lines.append("Host: %s, CPU %s, %s CPUs at %s MHz; recur %s (best ISA %s); oneDNN ISA %s; "
                 "clock %s; shapes from %s; %s." % (
                     context.get("host_name", "?"), cpu, context.get("num_cpus", "?"),
                     context.get("mhz_per_cpu", "?"), context.get("recur_version", "?"),
                     context.get("recur_best_isa", "?"), context.get("onednn_isa", "?"),
                     context.get("clock", "?"), context.get("shapes_from", "?"),
                     context.get("date", "?")))
    lines += machine_lines(context)
    lines.append("")
    lines.append("Measured single-core FMA peaks (GFLOP/s): " + ", ".join(
        "%s %.1f" % (k, v) for k, v in sorted(peaks.items(), key=lambda kv: kv[1])) + ".")
    lines.append("GFLOP/s from forward = 2TNH(I+H) (O = 0), fwd_train 1x, bwd 2x, train_step 3x; "
                 "values are medians over repetitions. % peak is against the peak of the row's ISA.")
    lines.append("")
    if recur:
        lines.append("| op | shape | ISA | threads | recur GFLOP/s | oneDNN GFLOP/s | recur/oneDNN | "
                     "% peak | recur us/step |")
        lines.append("|---|---|---|---|---:|---:|---:|---:|---:|")
    for (op, shape, isa, th) in sorted(recur, key=lambda k: (OPS.index(k[0]), shape_key(k[1]),
                                                             isas.index(k[2]), k[3])):
        b = recur[(op, shape, isa, th)]
        o = onednn.get((op, shape, th))
        g, og = b.get("GFLOPs"), o.get("GFLOPs") if o else None
        ratio = "%.2f" % (g / og) if g and og else "—"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            op, shape, isa, th.split(":")[-1], fmt(g, 2), fmt(og, 2), ratio,
            fmt(b.get("pct_peak")), fmt_sig(b.get("us_per_step"))))
    if kernels:
        lines += ["", "| kernel | GFLOP/s | % peak of its ISA | time |", "|---|---:|---:|---:|"]
        for name, b in sorted(kernels):
            lines.append("| %s | %s | %s | %.3g %s |" % (
                name, fmt(b.get("GFLOPs"), 2), fmt(b.get("pct_peak")), b["real_time"],
                b["time_unit"]))
    lines += model_tables(models)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(recur, onednn, isas, peaks, out_dir)


def plot(recur, onednn, isas, peaks, out_dir):
    """One panel per op: GFLOP/s per shape for each recur ISA and oneDNN, peak as a line."""
    if not shutil.which("gnuplot"):
        print("bench_report: gnuplot not found, no bench.png", file=sys.stderr)
        return
    ops = [op for op in OPS if any(k[0] == op for k in recur)]
    if not ops:
        return
    peak = max(peaks.values()) if peaks else None
    # noenhanced: names like fwd_infer and H256_N1_T50 are not subscripts.
    script = ["set terminal pngcairo noenhanced size 1400,%d font ',9'" % (420 * ((len(ops) + 1) // 2)),
              "set output '%s'" % os.path.join(out_dir, "bench.png"),
              "set multiplot layout %d,2" % ((len(ops) + 1) // 2),
              "set logscale y", "set ylabel 'GFLOP/s'", "set grid ytics",
              "set xtics rotate by -40 left", "set key bottom right opaque", "set style data linespoints"]
    for op in ops:
        shapes = sorted({k[1] for k in recur if k[0] == op}, key=shape_key)
        dat = os.path.join(out_dir, "bench_%s.dat" % op)
        with open(dat, "w") as f:
            f.write("# shape " + " ".join(isas) + " onednn\n")
            for i, s in enumerate(shapes):
                vals = []
                for isa in isas:
                    b = recur.get((op, s, isa, "threads:1"))
                    vals.append("%g" % b["GFLOPs"] if b and b.get("GFLOPs") else "NaN")
                o = onednn.get((op, s, "threads:1"))
                vals.append("%g" % o["GFLOPs"] if o and o.get("GFLOPs") else "NaN")
                f.write("%d %s %s\n" % (i, s, " ".join(vals)))
        series = ["'%s' using 1:%d:xtic(2) title 'recur %s'" % (dat, 3 + j, isa)
                  for j, isa in enumerate(isas)]
        series.append("'%s' using 1:%d title 'oneDNN'" % (dat, 3 + len(isas)))
        if peak:
            series.append("%g with lines dt 2 lc rgb 'black' title 'peak (1 core) %.0f'" % (peak, peak))
        script.append("set title '%s'" % op)
        script.append("plot " + ", ".join(series))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


def main():
    opt = parse_args(sys.argv[1:])
    os.makedirs(opt["report"], exist_ok=True)
    json_path = opt["json"] or os.path.join(opt["report"], "bench.json")
    if not opt["json"]:
        run_suite(opt, json_path)
    context, rows = load(json_path)
    # A run made here without cpu_model in its context (older binaries): ask lscpu.
    make_report(context, rows, opt["report"], None if opt["json"] else local_cpu_model())
    print("bench_report: wrote %s and %s (raw: %s)" % (
        os.path.join(opt["report"], "bench.md"), os.path.join(opt["report"], "bench.png"),
        json_path))


if __name__ == "__main__":
    main()
