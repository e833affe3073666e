#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_api.c into tests/fuzz/corpus/ (committed).

Each seed starts with the header the harness reads: scenario, ISA selector, thread
count selector, value mode, 4 generator-seed bytes; the rest are scenario bytes (sizes,
flags, probes), taken from a fixed pseudo-random stream so the files are reproducible.
Scenarios: 0-1 recur_rnn calls, 2-4 recur_model calls, 5 recur_onnx_rnn, 6 wild
descriptors, 7 losses / clip. Value mode 0 mod 4 injects NaN / Inf / huge values."""
import os
import random

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
rng = random.Random(12)
seeds = [
    # name, scenario, isa byte (0 auto, 1 scalar, 2 avx2, 3 avx512, 4 neon, 5+ bad), mode
    ('rnn-finite', 0, 0, 1), ('rnn-special', 1, 2, 8), ('model-finite', 2, 0, 1),
    ('model-bidir', 3, 3, 5), ('model-special', 4, 0, 4), ('onnx-finite', 5, 0, 2),
    ('onnx-special', 5, 4, 12), ('wild', 6, 0, 1), ('wild-bad-isa', 6, 6, 1),
    ('losses', 7, 1, 1), ('losses-special', 7, 0, 16),
]
for name, scen, isa, mode in seeds:
    body = bytes(rng.randrange(256) for _ in range(96))
    data = bytes([scen, isa, rng.randrange(10), mode]) + bytes(rng.randrange(256) for _ in range(4)) + body
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(f'{len(seeds)} seeds in {out}')
