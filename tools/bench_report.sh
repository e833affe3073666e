#!/bin/sh
# Runs recur-bench and writes report/bench.md and report/bench.png; see bench_report.py
# (python3 standard library only) and docs/benchmarks.md.
exec python3 "$(dirname "$0")/bench_report.py" "$@"
