/*
 * 8x12 GEMM microkernel for src/gemm_blocked.c. The C tile lives in 24 of the 32
 * v-registers (8 rows x 3 quads); each k step loads 8 floats of A (2 quads) and 12
 * of B (3 quads) and issues 24 lane-indexed FMAs, so 29 registers are live and
 * nothing spills.
 */
#include <arm_neon.h>
#include "neon_kernels.h"

#define MR 8
#define NR 12

/* acc[i][*] += b * a[i], for the 8 rows held in lanes of a0 (rows 0-3) and a1 (4-7). */
#define ROW_FMA(i, a, lane)                                 \
    do {                                                    \
        c##i##0 = vfmaq_laneq_f32(c##i##0, b0, a, lane);    \
        c##i##1 = vfmaq_laneq_f32(c##i##1, b1, a, lane);    \
        c##i##2 = vfmaq_laneq_f32(c##i##2, b2, a, lane);    \
    } while (0)

#define ROW_STORE(i)                                        \
    do {                                                    \
        vst1q_f32(t + i * NR, c##i##0);                     \
        vst1q_f32(t + i * NR + 4, c##i##1);                 \
        vst1q_f32(t + i * NR + 8, c##i##2);                 \
    } while (0)

void recur_f32_gemm_ukernel__neon_8x12(size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, size_t m, size_t n, int accumulate,
                                       const float *bias)
{
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c02 = c00;
    float32x4_t c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00;
    float32x4_t c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00;
    float32x4_t c50 = c00, c51 = c00, c52 = c00, c60 = c00, c61 = c00, c62 = c00;
    float32x4_t c70 = c00, c71 = c00, c72 = c00;

    for (size_t p = 0; p < kc; p++) {
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        a += MR;
        b += NR;
        ROW_FMA(0, a0, 0);
        ROW_FMA(1, a0, 1);
        ROW_FMA(2, a0, 2);
        ROW_FMA(3, a0, 3);
        ROW_FMA(4, a1, 0);
        ROW_FMA(5, a1, 1);
        ROW_FMA(6, a1, 2);
        ROW_FMA(7, a1, 3);
    }

    /* Spill the tile once, then copy the valid corner; keeps the edge logic in
     * one plain loop and costs 96 stores against 24*kc FMAs. */
    float t[MR * NR];
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
    ROW_STORE(6);
    ROW_STORE(7);
    if (!accumulate && bias) { /* added to the finished sum, as onto C = bias */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = bias[j] + t[i * NR + j];
        return;
    }
    if (n == NR) {
        for (size_t i = 0; i < m; i++) {
            float *ci = c + i * ldc;
            for (size_t j = 0; j < NR; j += 4) {
                float32x4_t v = vld1q_f32(t + i * NR + j);
                if (accumulate)
                    v = vaddq_f32(vld1q_f32(ci + j), v);
                vst1q_f32(ci + j, v);
            }
        }
        return;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + t[i * NR + j] : t[i * NR + j];
}
