#!/usr/bin/env python3
"""The course example's loss curve on K ranks (batch 16 split across them) against one
rank (the whole batch): run_mpi.sh 1 and run_mpi.sh K of cuisine_mpi, 30 epochs.

Bound: the first batches start from the same weights, and the K-rank loss differs from
the one-rank loss by the order of its float sum over the batch's counted words only.
A sum of C terms in any order errs by at most gamma(C) = C u / (1 - C u) (u = 2^-24)
relative to the sum of their magnitudes (all positive here: -log p), so the curves may
differ by gamma(C_max) relative, C_max = 16 x (longest sentence - 1) counted words.
The first 30 epochs are compared (the rounding differences of the weights have not grown
yet; later, at learning rate 0.15 with momentum 0.9, the training is chaotic and they
grow to the size of the epoch-to-epoch fluctuations, as any change of rounding would).

usage: loss_curve.py run_mpi.sh cuisine_mpi K corpus.txt"""
import os
import re
import subprocess
import sys

EPOCHS = 30
BATCH = 16  # examples/cuisine_mpi.c
U = 2.0 ** -24


def curve(run_mpi, example, ranks):
    env = dict(os.environ, RECUR_EXAMPLE_EPOCHS=str(EPOCHS))
    out = subprocess.run(['bash', run_mpi, str(ranks), example], env=env,
                         capture_output=True, text=True, timeout=500)
    if out.returncode not in (0, 1):  # 1: 30 epochs may not reach "japanese" yet
        sys.stdout.write(out.stdout + out.stderr)
        sys.exit(f'{ranks} ranks: exit status {out.returncode}')
    points = {int(e): float(l) for e, l in
              re.findall(r'^epoch\s+(\d+)\s+loss\s+([0-9.]+)', out.stdout, re.M)}
    if len(points) < 3:
        sys.stdout.write(out.stdout + out.stderr)
        sys.exit(f'{ranks} ranks: no loss curve in the output')
    return points


def main(run_mpi, example, ranks, corpus):
    with open(corpus) as f:
        longest = max(len(l.split()) for l in f if l.strip() and not l.startswith('#'))
    c = BATCH * (longest - 1)
    tol = c * U / (1 - c * U)
    one, k = curve(run_mpi, example, 1), curve(run_mpi, example, int(ranks))
    print(f'loss curve, 1 rank vs {ranks}: bound gamma({c}) = {tol:.3g} relative')
    worst = 0.0
    ok = one.keys() == k.keys()
    for e in sorted(one):
        rel = abs(one[e] - k.get(e, float('nan'))) / one[e]
        worst = max(worst, rel)
        flag = '' if rel <= tol else '  <-- above the bound'
        ok = ok and rel <= tol
        print(f'  epoch {e:3d}: {one[e]:.7f}  {k.get(e, float("nan")):.7f}  rel {rel:.2e}{flag}')
    print(f'worst relative difference {worst:.2e}: {"ok" if ok else "FAILED"}')
    return 0 if ok else 1


if __name__ == '__main__':
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
