#!/usr/bin/env python3
"""The scaling model of docs/distributed.md, as arithmetic: for data-parallel training
over K ranks, when does one step stay above 90 % parallel efficiency?

Per step and rank (n sequences of T steps on the rank, an I -> H -> O Elman RNN):
  compute   t_c = 6 T n (H (I + H) + O H) / R  (forward 2 T n H (I+H) + the output layer,
                                                 BPTT twice that; R = cores per rank x
                                                 GFLOP/s per core)
  reduction t_r = 2 (K-1)/K * B / bw             (ring allreduce volume; recur_mpi's ordered
                + 2 (K-1) * alpha                 all-to-all + all-gather moves the same)
                + 2 B / bw_mem                    (pack and unpack of the gradients)
  with B = 4 (H (I + H + 1) + O (H + 1)) bytes of gradients.
The reduction starts when BPTT has finished (every weight gradient is a sum over all
steps), so nothing hides it: efficiency = t_c / (t_c + t_r) >= 0.9 needs t_r <= t_c / 9.

usage: mpi_scaling.py [--H 1760] [--I 1760] [--O 0] [--T 50] [--cores 32]
                      [--gflops 80] [--alpha-us 10] [--mem-gbs 10]
Prints two markdown tables: the smallest batch per rank for each rank count and link
bandwidth, and the bandwidth needed for each rank count and batch per rank."""
import argparse
import math

RANKS = (8, 64, 512)
LINKS_GBIT = (10, 25, 100, 200)
BATCHES = (16, 64, 256)
TARGET = 0.9


def model(a):
    params = a.H * (a.I + a.H + 1) + a.O * (a.H + 1)
    flops_per_seq = 6.0 * a.T * (a.H * (a.I + a.H) + a.O * a.H)
    rate = a.cores * a.gflops * 1e9
    return params, 4.0 * params, flops_per_seq / rate


def reduce_time(a, nbytes, k, bw_bytes):
    return (2.0 * (k - 1) / k * nbytes / bw_bytes + 2.0 * (k - 1) * a.alpha_us * 1e-6
            + 2.0 * nbytes / (a.mem_gbs * 1e9))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for name, default in (('H', 1760), ('I', 1760), ('O', 0), ('T', 50), ('cores', 32)):
        p.add_argument('--' + name, type=int, default=default)
    p.add_argument('--gflops', type=float, default=80.0, help='sustained GFLOP/s per core')
    p.add_argument('--alpha-us', type=float, default=10.0, help='latency per message, us')
    p.add_argument('--mem-gbs', type=float, default=10.0, help='copy bandwidth, GB/s')
    a = p.parse_args()
    params, nbytes, t_seq = model(a)
    print(f'H {a.H}, I {a.I}, O {a.O}, T {a.T}: {params} parameters = {nbytes / 1e6:.1f} MB '
          f'of gradients; {t_seq * 1e3:.3f} ms of compute per sequence on a rank of '
          f'{a.cores} cores x {a.gflops:g} GFLOP/s; latency {a.alpha_us:g} us per message, '
          f'pack + unpack at {a.mem_gbs:g} GB/s.\n')
    print('Smallest batch per rank (sequences) for >= 90 % efficiency:\n')
    print('| ranks | ' + ' | '.join(f'{g} Gbit/s' for g in LINKS_GBIT) + ' |')
    print('| ---: |' + ' ---: |' * len(LINKS_GBIT))
    for k in RANKS:
        cells = []
        for g in LINKS_GBIT:
            t_r = reduce_time(a, nbytes, k, g * 1e9 / 8)
            cells.append(str(math.ceil(t_r * TARGET / (1 - TARGET) / t_seq)))
        print(f'| {k} | ' + ' | '.join(cells) + ' |')
    print('\nLink bandwidth needed for >= 90 % efficiency (Gbit/s; "-" = not reachable: '
          'latency and copies alone take more than a ninth of the compute):\n')
    print('| ranks | ' + ' | '.join(f'batch {n}/rank' for n in BATCHES) + ' |')
    print('| ---: |' + ' ---: |' * len(BATCHES))
    for k in RANKS:
        cells = []
        for n in BATCHES:
            budget = n * t_seq * (1 - TARGET) / TARGET
            fixed = 2.0 * (k - 1) * a.alpha_us * 1e-6 + 2.0 * nbytes / (a.mem_gbs * 1e9)
            if budget <= fixed:
                cells.append('-')
            else:
                bw = 2.0 * (k - 1) / k * nbytes / (budget - fixed)
                cells.append(f'{bw * 8 / 1e9:.1f}')
        print(f'| {k} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
