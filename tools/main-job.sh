#!/usr/bin/env bash
# The main job: release build, recur-validate against the scalar oracle, the quick
# benchmark with its report (report/bench.md, report/bench.png), then the course's
# example. Installs missing Debian packages first.
#
#   bash tools/main-job.sh [--full]     (--full: the whole benchmark suite)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
need_packages $RECUR_BUILD_PACKAGES gnuplot-nox

build=build-release
echo "== building $build"
meson setup --reconfigure "$build" --buildtype=release >/dev/null 2>&1 ||
    meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null

if [ -x "$build/tools/recur-validate" ]; then
    echo "== recur-validate: every SIMD ISA of this CPU against the scalar oracle"
    "$build/tools/recur-validate" --quick
fi

if [ -x "$build/bench/recur-bench" ] && [ -f tools/bench_report.sh ]; then
    echo "== benchmarks (report in report/)"
    bash tools/bench_report.sh "$build/bench/recur-bench" report "$@"
fi

echo "== the course's example"
"$build/examples/cuisine_lm"
