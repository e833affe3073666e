// NEON peak: 12 independent q-register FMA chains (4 floats each).
#include "fma_peak.h"
#include <arm_neon.h>

double rb_fma_peak_neon(long iters)
{
    volatile float vm = 0.999999f, vc = 1e-7f;
    const float32x4_t m = vdupq_n_f32(vm), c = vdupq_n_f32(vc);
    float32x4_t a[12];
    for (int j = 0; j < 12; j++)
        a[j] = vdupq_n_f32(0.1f * (float)j);
    for (long i = 0; i < iters; i++) {
        a[0] = vfmaq_f32(c, a[0], m); a[1] = vfmaq_f32(c, a[1], m);
        a[2] = vfmaq_f32(c, a[2], m); a[3] = vfmaq_f32(c, a[3], m);
        a[4] = vfmaq_f32(c, a[4], m); a[5] = vfmaq_f32(c, a[5], m);
        a[6] = vfmaq_f32(c, a[6], m); a[7] = vfmaq_f32(c, a[7], m);
        a[8] = vfmaq_f32(c, a[8], m); a[9] = vfmaq_f32(c, a[9], m);
        a[10] = vfmaq_f32(c, a[10], m); a[11] = vfmaq_f32(c, a[11], m);
    }
    float32x4_t s = a[0];
    for (int j = 1; j < 12; j++)
        s = vaddq_f32(s, a[j]);
    volatile float sink = vaddvq_f32(s);
    (void)sink;
    return 2.0 * 4.0 * 12.0 * (double)iters;
}
