#!/usr/bin/env python3
"""recur.torch.RNN against torch.nn.RNN on the CPU, in the same process, same weights.

    PYTHONPATH=python RECUR_LIBRARY=build/librecur.so.0 python3 bench/python/bench_torch.py [--threads 1,2] [--repeats 7]

For each thread count (torch.set_num_threads; recur.torch follows torch's count) and
problem, times inference (torch.no_grad) and a training step's forward + backward (loss
= sum of the outputs, gradients of every parameter; the input needs none), as the median
of --repeats runs after one warm-up run (torch's and recur's runs alternate). Prints a
markdown table; the ratio is torch's time over recur's (> 1: recur is faster). torch's
speed depends on the BLAS it loads (printed): Debian's python3-torch uses libblas.so.3,
the reference BLAS unless an optimised one (libopenblas0-openmp) is installed.

Problems (tanh, one layer, unidirectional, I = H):
  T50 N1 H256        a small latency-bound sequence
  DeepBench H1760    DeepBench's vanilla-RNN training shape, N16 T50
  packed N64 T100    H512, a PackedSequence with lengths uniform in 1..100 (seed 0)
"""
import argparse
import os
import platform
import statistics
import subprocess
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence

import recur
import recur.torch as rt

PROBLEMS = [  # name, T, N, H, packed
    ('T50 N1 H256', 50, 1, 256, False),
    ('DeepBench H1760 N16 T50', 50, 16, 1760, False),
    ('packed N64 T100 H512 (lengths 1..100)', 100, 64, 512, True),
]


def cpu_model():
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def blas_in_use():
    """The BLAS torch loaded (Debian: libblas.so.3 through update-alternatives; the
    reference BLAS unless an optimised one such as libopenblas0-openmp is installed)."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
        return ', '.join(sorted({os.path.realpath(p) for p in libs})) or 'none loaded'
    except OSError:
        return 'unknown'


class OtherLoad:
    """CPUs kept busy by other processes while measuring: busy time of the whole machine
    (/proc/stat) minus this process's CPU time, over the wall time; 0 is a quiet machine."""

    def __init__(self):
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy(), self._own()

    @staticmethod
    def _busy():
        try:
            with open('/proc/stat') as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return (sum(v) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')  # minus idle, iowait
        except (OSError, ValueError):
            return float('nan')

    @staticmethod
    def _own():
        t = os.times()
        return t.user + t.system

    def cores(self):
        wall = time.perf_counter() - self.t0
        return max(0.0, (self._busy() - self.busy0 - (self._own() - self.own0)) / wall)


def median_ms(fns, repeats):
    """Median milliseconds of each function; the runs alternate between the functions,
    so that a slower period of the machine falls on both alike."""
    for fn in fns:
        fn()  # warm-up: first-touch of buffers, packing, thread team start
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def make_input(T, N, H, packed):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(T, N, H, generator=g)
    if not packed:
        return x
    lengths = torch.randint(1, T + 1, (N,), generator=g)
    return pack_padded_sequence(x, lengths, enforce_sorted=False)


def step(model, x, train):
    if not train:
        with torch.no_grad():
            model(x)
        return
    model.zero_grad(set_to_none=True)
    out, h_n = model(x)
    (out.data if hasattr(out, 'batch_sizes') else out).sum().backward()


def check_same(ref, mine, x):
    with torch.no_grad():
        a, b = ref(x)[0], mine(x)[0]
    a = a.data if hasattr(a, 'batch_sizes') else a
    b = b.data if hasattr(b, 'batch_sizes') else b
    return (a - b).abs().max().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', default='1,2', help='comma-separated thread counts')
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--only', default='', help='run the problems whose name contains this')
    ap.add_argument('--quiet-below', type=float, default=0.15,
                    help='measure a row again (up to --tries times, keeping the quietest '
                         'try) while other processes kept more than this many CPUs busy')
    ap.add_argument('--tries', type=int, default=4)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(',')]

    print(f'CPU: {cpu_model()}; torch {torch.__version__}; recur {recur.__version__} '
          f'({recur.library_path})')
    print(f'BLAS: {blas_in_use()}; load average before: {os.getloadavg()[0]:.2f}')
    rows = []
    for name, T, N, H, packed in PROBLEMS:
        if args.only and args.only not in name:
            continue
        torch.manual_seed(0)
        ref = torch.nn.RNN(H, H)
        mine = rt.RNN.from_torch(ref)
        x = make_input(T, N, H, packed)
        diff = check_same(ref, mine, x)
        for n in threads:
            torch.set_num_threads(n)
            for mode, train in (('forward', False), ('forward+backward', True)):
                tries = []
                for _ in range(max(1, args.tries)):
                    load = OtherLoad()
                    t_torch, t_recur = median_ms([lambda: step(ref, x, train),
                                                  lambda: step(mine, x, train)], args.repeats)
                    others = load.cores()
                    print(f'  {name}, {n} thread(s), {mode}: torch {t_torch:.2f} ms, '
                          f'recur {t_recur:.2f} ms (isa {mine._recur.isa()}, max |diff| '
                          f'{diff:.2g}, other processes {others:.2f} CPUs)', flush=True)
                    tries.append((others, t_torch, t_recur))
                    if others <= args.quiet_below:
                        break
                    time.sleep(5)
                others, t_torch, t_recur = min(tries)  # the quietest try
                rows.append((name, n, mode, t_torch, t_recur, others))
    print()
    print('| problem | threads | pass | torch.nn.RNN ms | recur.torch.RNN ms | torch / recur '
          '| other load (CPUs) |')
    print('| --- | ---: | --- | ---: | ---: | ---: | ---: |')
    for name, n, mode, a, b, o in rows:
        print(f'| {name} | {n} | {mode} | {a:.2f} | {b:.2f} | {a / b:.2f} | {o:.2f} |')
    print(f'\nmedians of {args.repeats} runs after one warm-up; load average after: '
          f'{os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
