/*
 * The GEMM microkernel (kernel_table.h's recur_gemm_ukernel_fn) for an MR x (2 vectors)
 * tile, written once for every ISA. The ISA's f32_gemm_ukernel__<isa>_<MR>x<NR>.c
 * includes its vector header (<isa>_vec.h), defines
 *
 *   MR                rows of the register tile
 *   PREFETCH_C        1: fetch the C tile's lines before the k loop
 *   PREFETCH_AB       0, or k steps ahead to fetch the A and B micro-panels into L1
 *   GEMM_UKERNEL      the function's name
 *
 * and includes this file. MR x 2 accumulators, the two vectors of the B row and one
 * broadcast of A per row fill the register file; every k step issues 2 MR independent
 * FMAs for 2 vector loads and MR broadcasts. A tile of m < MR rows runs a copy compiled
 * for exactly m rows instead of computing MR and storing m.
 */

/* The kernel for M rows (a literal at every call site, so acc stays in registers). */
V_INLINE void ukernel_rows(const int M, size_t kc, const float *a, const float *b, float *c,
                           size_t ldc, size_t n, int accumulate, const float *bias)
{
    V_T acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        acc[i][0] = acc[i][1] = V_ZERO();
        if (PREFETCH_C) {
            /* C is read (or written) only after the k loop: fetch it now. With a
             * power-of-two ldc its rows share L1 sets, so they are often evicted. */
            _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + (size_t)i * ldc + V_LANES), _MM_HINT_T0);
        }
    }

    for (size_t p = 0; p < kc; p++) {
        if (PREFETCH_AB) { /* reads past the panels' ends are harmless hints */
            _mm_prefetch((const char *)(a + MR * PREFETCH_AB), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 2 * V_LANES * PREFETCH_AB), _MM_HINT_T0);
            if (V_LANES * sizeof(float) >= 64)
                _mm_prefetch((const char *)(b + 2 * V_LANES * PREFETCH_AB + V_LANES), _MM_HINT_T0);
        }
        V_T b0 = V_LOAD(b);
        V_T b1 = V_LOAD(b + V_LANES);
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            V_T ai = V_SET1(a[i]);
            acc[i][0] = V_FMA(ai, b0, acc[i][0]);
            acc[i][1] = V_FMA(ai, b1, acc[i][1]);
        }
        a += MR;
        b += 2 * V_LANES;
    }

    /* The bias is added to the finished sum, as onto C = bias. A full-width tile uses
     * plain loads and stores (masked stores are slow on AMD cores). */
    const int full = n == 2 * V_LANES;
    V_MASK_T k0 = V_MASK(n), k1 = V_MASK(n > V_LANES ? n - V_LANES : 0);
    V_T bias0 = V_ZERO(), bias1 = bias0;
    if (!accumulate && bias) {
        bias0 = full ? V_LOAD(bias) : V_LOADM(k0, bias);
        bias1 = full ? V_LOAD(bias + V_LANES) : V_LOADM(k1, bias + V_LANES);
    }
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        if (!accumulate && bias) {
            acc[i][0] = V_ADD(acc[i][0], bias0);
            acc[i][1] = V_ADD(acc[i][1], bias1);
        }
        if (full) {
            if (accumulate) {
                acc[i][0] = V_ADD(acc[i][0], V_LOAD(ci));
                acc[i][1] = V_ADD(acc[i][1], V_LOAD(ci + V_LANES));
            }
            V_STORE(ci, acc[i][0]);
            V_STORE(ci + V_LANES, acc[i][1]);
        } else {
            if (accumulate) {
                acc[i][0] = V_ADD(acc[i][0], V_LOADM(k0, ci));
                acc[i][1] = V_ADD(acc[i][1], V_LOADM(k1, ci + V_LANES));
            }
            V_STOREM(ci, k0, acc[i][0]);
            V_STOREM(ci + V_LANES, k1, acc[i][1]);
        }
    }
}

_Static_assert(MR >= 1 && MR <= 16, "the row dispatch covers tiles of 1 to 16 rows");

void GEMM_UKERNEL(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t m,
                  size_t n, int accumulate, const float *bias)
{
#define ROWS_CLAMP(M) ((M) < MR ? (M) : MR)
    switch (m < MR ? m : MR) {
#define ROWS(M)                                                                            \
    case M: ukernel_rows(ROWS_CLAMP(M), kc, a, b, c, ldc, n, accumulate, bias); break;
    ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8)
    ROWS(9) ROWS(10) ROWS(11) ROWS(12) ROWS(13) ROWS(14) ROWS(15)
#undef ROWS
    default: ukernel_rows(MR, kc, a, b, c, ldc, n, accumulate, bias); break;
    }
#undef ROWS_CLAMP
}
