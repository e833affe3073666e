// Register-blocked FMA loops, one translation unit per ISA (each compiled with its
// own flags). Each runs `iters` rounds of independent multiply-adds on 12
// accumulators (enough to hide FMA latency on current cores) and returns the flops.
#ifndef RECUR_BENCH_FMA_PEAK_H
#define RECUR_BENCH_FMA_PEAK_H

double rb_fma_peak_scalar(long iters);
double rb_fma_peak_avx2(long iters);
double rb_fma_peak_avx512(long iters);
double rb_fma_peak_neon(long iters);

#endif
