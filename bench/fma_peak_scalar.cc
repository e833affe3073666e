// Scalar peak: a*b+c on 12 independent chains, compiled without vectorisation and at the
// library's baseline flags, so it is the ceiling of the scalar kernels (mul+add on
// x86-64 baseline, fused on AArch64). x = x*m + c converges, so no inf or denormals.
#include "fma_peak.h"

double rb_fma_peak_scalar(long iters)
{
    volatile float vm = 0.999999f, vc = 1e-7f;
    float m = vm, c = vc;
    float a[12];
    for (int j = 0; j < 12; j++)
        a[j] = 0.1f * (float)j;
    for (long i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++)
            a[j] = a[j] * m + c;
    volatile float sink = 0.0f;
    for (int j = 0; j < 12; j++)
        sink = sink + a[j];
    return 2.0 * 12.0 * (double)iters;
}
