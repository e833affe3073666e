/*
 * The batch-1 recurrent step straight from row-major U (kernel_table.h's rnn_step_rows),
 * written once for every ISA. The ISA's f32_rnn_rows__<isa>.c includes its vector
 * header (<isa>_vec.h), defines
 *
 *   ROWS_FN            the function's name
 *   sum_lanes(a)       a V_INLINE function: lane i of the result is the sum of the
 *                      V_LANES lanes of a[i], by a tree that adds the same lanes in the
 *                      same order for every i
 *
 * and includes this file. V_LANES rows at a time, each row a vector of V_LANES partial
 * sums (lane l sums k = l mod V_LANES), reduced by sum_lanes into one vector of results.
 * At batch 1 a matvec reads every element of U once per step either way, so the packed
 * layout buys nothing and packing would cost a transposed pass over U per call (a sixth
 * of a forward call at H1024 N1 with AVX-512, ~5 % with AVX2 on Zen 3). A row's result
 * does not depend on where its group of V_LANES rows starts.
 */

/* acc[i] += M row i (of nr; full: all V_LANES) times x, over k < h. */
V_INLINE void rows_dot(const int full, size_t h, size_t nr, const float *m, size_t ld,
                       const float *x, V_T acc[V_LANES])
{
    size_t k = 0;
    for (; k + V_LANES <= h; k += V_LANES) {
        V_T xv = V_LOAD(x + k);
#pragma GCC unroll 16
        for (int i = 0; i < V_LANES; i++)
            if (full || (size_t)i < nr)
                acc[i] = V_FMA(V_LOAD(m + i * ld + k), xv, acc[i]);
    }
    if (k < h) {
        V_MASK_T mk = V_MASK(h - k);
        V_T xv = V_LOADM(mk, x + k);
#pragma GCC unroll 16
        for (int i = 0; i < V_LANES; i++)
            if (full || (size_t)i < nr)
                acc[i] = V_FMA(V_LOADM(mk, m + i * ld + k), xv, acc[i]);
    }
}

void ROWS_FN(size_t h, size_t rows, const float *m, size_t ld, const float *hprev,
             const float *pre, float *out, recur_activation f)
{
    for (size_t r0 = 0; r0 < rows; r0 += V_LANES) {
        size_t nr = rows - r0 < V_LANES ? rows - r0 : V_LANES;
        V_T acc[V_LANES];
#pragma GCC unroll 16
        for (int i = 0; i < V_LANES; i++)
            acc[i] = V_ZERO();
        if (nr == V_LANES)
            rows_dot(1, h, nr, m + r0 * ld, ld, hprev, acc);
        else
            rows_dot(0, h, nr, m + r0 * ld, ld, hprev, acc);
        V_T s = sum_lanes(acc);
        if (nr == V_LANES) { /* plain loads and stores (masked ones are slow on AMD) */
            V_STORE(out + r0, V_ACT(f, V_ADD(V_LOAD(pre + r0), s)));
            continue;
        }
        V_MASK_T mo = V_MASK(nr);
        V_STOREM(out + r0, mo, V_ACT(f, V_ADD(V_LOADM(mo, pre + r0), s)));
    }
}
