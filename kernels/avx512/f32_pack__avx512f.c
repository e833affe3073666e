/*
 * Transposing packers: A row-major (MR = 14 panels), B stored transposed for the GEMM (B = W^T in the input
 * projection) and U for the forward recurrent step both need, per 32-wide panel,
 * dst[k*32 + j] = src[j*ld + k]. Reading rows of src and transposing 16x16 blocks
 * in registers keeps every load and store a full contiguous vector.
 */
#include "avx512_kernels.h"
#include "avx512_math.h"

#define NR 32

/* In-register 16x16 transpose: r[j] lane p becomes r[p] lane j. */
RECUR_AVX512_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + c], 128-bit lane L: column 4L + c of rows 4g .. 4g+3. */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* Gather lane L of the four row groups: column 4L + c. */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 s0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        __m512 s1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 s2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        __m512 s3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
        r[12 + c] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
    }
}

/* dst[p*NR + j] = src[j*ld + p] for p < kn (<= 16), j < 16; rows j >= nj are zero. */
RECUR_AVX512_INLINE void block16(const float *src, size_t ld, size_t nj, size_t kn,
                                 float *dst)
{
    __mmask16 km = recur_avx512_mask(kn);
    __m512 r[16];
#pragma GCC unroll 16
    for (size_t j = 0; j < 16; j++)
        r[j] = j < nj ? _mm512_maskz_loadu_ps(km, src + j * ld) : _mm512_setzero_ps();
    transpose16(r);
    if (kn == 16) {
#pragma GCC unroll 16
        for (size_t p = 0; p < 16; p++)
            _mm512_storeu_ps(dst + p * NR, r[p]);
    } else {
        for (size_t p = 0; p < kn; p++)
            _mm512_storeu_ps(dst + p * NR, r[p]);
    }
}

void recur_f32_pack_b_trans__avx512f(size_t kc, size_t nc, const float *b, size_t ldb,
                                     float *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
        size_t nj = nc - j0 < NR ? nc - j0 : NR;
        size_t nj1 = nj > 16 ? nj - 16 : 0;
        const float *src = b + j0 * ldb;
        for (size_t p0 = 0; p0 < kc; p0 += 16) {
            size_t kn = kc - p0 < 16 ? kc - p0 : 16;
            block16(src + p0, ldb, nj < 16 ? nj : 16, kn, dst + p0 * NR);
            block16(src + 16 * ldb + p0, ldb, nj1, kn, dst + p0 * NR + 16);
        }
    }
}

#define MR 14

/* A row-major -> 14-row panels: dst[p*14 + i] = a[i*lda + p]. Each 16x16 transpose
 * (rows 14, 15 zero) yields one column per vector; a 14-lane masked store writes it. */
void recur_f32_pack_a_rows__avx512f(size_t mc, size_t kc, const float *a, size_t lda,
                                    float *dst)
{
    const __mmask16 rows14 = recur_avx512_mask(MR);
    for (size_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
        size_t mi = mc - i0 < MR ? mc - i0 : MR;
        const float *src = a + i0 * lda;
        for (size_t p0 = 0; p0 < kc; p0 += 16) {
            size_t kn = kc - p0 < 16 ? kc - p0 : 16;
            __mmask16 km = recur_avx512_mask(kn);
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t i = 0; i < 16; i++)
                r[i] = i < mi ? _mm512_maskz_loadu_ps(km, src + i * lda + p0)
                              : _mm512_setzero_ps();
            transpose16(r);
            for (size_t p = 0; p < kn; p++)
                _mm512_mask_storeu_ps(dst + (p0 + p) * MR, rows14, r[p]);
        }
    }
}

/* dst: panels of 14 rows, kc steps each; A(i,k) = a[k*lda + i]. 14-lane stores, so
 * nothing is written past a panel's last step. */
void recur_f32_pack_a_cols__avx512f(size_t mc, size_t kc, const float *a, size_t lda,
                                    float *dst)
{
    const size_t mr = 14;
    for (size_t i0 = 0; i0 < mc; i0 += mr) {
        __mmask16 m = recur_avx512_mask(mc - i0 < mr ? mc - i0 : mr);
        for (size_t p = 0; p < kc; p++, dst += mr)
            _mm512_mask_storeu_ps(dst, (__mmask16)0x3FFF,
                                  _mm512_maskz_loadu_ps(m, a + p * lda + i0));
    }
}

/* dst: panels of 32 columns, kc steps each; B(k,j) = b[k*ldb + j], read row by row. */
void recur_f32_pack_b_rows__avx512f(size_t kc, size_t nc, const float *b, size_t ldb,
                                    float *dst)
{
    for (size_t p = 0; p < kc; p++) {
        const float *src = b + p * ldb;
        for (size_t j0 = 0; j0 < nc; j0 += NR) {
            size_t nj = nc - j0 < NR ? nc - j0 : NR;
            float *d = dst + j0 * kc + p * NR;
            _mm512_storeu_ps(d, _mm512_maskz_loadu_ps(recur_avx512_mask(nj), src + j0));
            _mm512_storeu_ps(d + 16, _mm512_maskz_loadu_ps(
                                         recur_avx512_mask(nj > 16 ? nj - 16 : 0), src + j0 + 16));
        }
    }
}
