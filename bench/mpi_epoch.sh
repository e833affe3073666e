#!/usr/bin/env bash
# The measurements of docs/distributed.md ("Measured"), interleaved so that a change in
# the machine's load hits every configuration alike, then summarised as medians:
#   epoch time of the DeepBench shape H1760 N64 T50 (recur-mpi-epoch): 2 ranks x 1
#   thread (one rank per core) against 1 rank x 2 threads; then the reduction alone on
#   2 ranks per bucket size: packed from separate arrays or in place in one, ORDERED or
#   ALLREDUCE, and in place with one blocking call per bucket (no overlap).
#   bash bench/mpi_epoch.sh BUILD_DIR [ROUNDS]      (BUILD_DIR built with -Dmpi=enabled)
set -euo pipefail
build=$1 rounds=${2:-3}
exe=$build/src/mpi/recur-mpi-epoch
run_mpi=$(dirname "$0")/../tests/mpi/run_mpi.sh
[ -x "$exe" ] || { echo "no $exe (configure with -Dmpi=enabled)"; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
{
    lscpu | grep -E '^(Model name|CPU family|Model:|CPU\(s\)|Thread|L2|L3)' | sed 's/  */ /g'
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for r in $(seq "$rounds"); do
        RECUR_NUM_THREADS=1 bash "$run_mpi" 2 --bind-to core "$exe" | sed 's/^/np2x1 /'
        RECUR_NUM_THREADS=2 bash "$run_mpi" 1 "$exe" | sed 's/^/np1x2 /'
        bash "$run_mpi" 2 --bind-to core "$exe" --reduce-only | sed 's/^/reduce /'
    done
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$log"
python3 - "$log" <<'PY'
import re, statistics, sys
text = open(sys.argv[1]).read()
print('\nmedians over the rounds:')
for tag in ('np2x1', 'np1x2'):
    e = [float(x) for x in re.findall(rf'^{tag} epoch of \d+ steps: median ([0-9.]+) s', text, re.M)]
    c = [float(x) for x in re.findall(rf'^{tag} .*compute ([0-9.]+) s', text, re.M)]
    r = [float(x) for x in re.findall(rf'^{tag} .*reduce ([0-9.]+) ms', text, re.M)]
    if e:
        print(f'  {tag}: epoch {statistics.median(e):.3f} s (runs {", ".join(map(str, e))}); '
              f'step compute {statistics.median(c):.3f} s, reduce {statistics.median(r):.1f} ms')
rows = {}
for name, cells in re.findall(r'^reduce \| ([^|]+?) \|(.*)\|$', text, re.M):
    if name.startswith('bucket'):
        header = cells
        continue
    rows.setdefault(name, []).append([float(x) for x in cells.split('|')])
if rows:
    print('  reduction (ms):\n  | bucket (floats) |' + header + '|')
    for name, runs in rows.items():
        med = [statistics.median(col) for col in zip(*runs)]
        print(f'  | {name} | ' + ' | '.join(f'{m:.1f}' for m in med) + ' |')
PY
