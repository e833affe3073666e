"""The float32 tolerance of the comparisons with torch.nn.RNN.

Both implementations compute in float32 with different summation orders (recur's blocked
SIMD kernels against MKL-DNN/ATen) and different tanh approximations. With u = 2^-24, a
K-term dot product computed in float32 errs by at most gamma(K) = K u / (1 - K u) times
the sum of its terms' magnitudes, and each activation (tanh, relu; |f'| <= 1, a few ulp
for the vector tanh) adds at most a few u. An error in h_{t-1} reaches h_t through U and
f' (|f'| <= 1), so along the recurrence the per-step errors add up over at most
depth = T * L * D dependent steps (every step of every layer and direction). Each side is
within that bound of the exact value, so the two differ by at most twice it:

    |recur - torch| <= 2 * K * depth * u * scale,   scale = max(1, max |reference|)

with K = (widest layer input) + H + 2 for outputs and states (the terms of one
pre-activation), and K = T * N + H + 2 for gradients (a weight gradient sums T*N outer
products, each dh is an H-term dot product). scale takes the sums of magnitudes as at most
the largest value of the compared tensor (the weights are uniform in +-1/sqrt(H), so a
pre-activation is not much larger than its terms) but never below 1, so tiny values are
compared absolutely. For the sizes of these tests (K ~ 20-60, depth <= 42) it is about
1e-4 relative; the measured differences are ~1e-7 to 1e-6. A real error (a wrong
index, direction, length or bias) is of the order of the values themselves."""
import numpy as np

U = 2.0 ** -24


def bound(K, depth, ref):
    ref = np.asarray(ref, dtype=np.float64)
    return 2.0 * K * depth * U * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)


def assert_close(got, ref, K, depth, what):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f'{what}: shape {got.shape} vs {ref.shape}'
    err = float(np.abs(got - ref).max()) if ref.size else 0.0
    tol = bound(K, depth, ref)
    assert err <= tol, f'{what}: max |recur - torch| = {err:.3g} > bound {tol:.3g}'
    return err
