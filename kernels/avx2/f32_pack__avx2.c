/*
 * Transposing packers: A row-major (MR = 6 panels), B stored transposed for the GEMM (B = W^T in the input
 * projection) and U for the forward recurrent step both need, per 16-wide panel,
 * dst[k*16 + j] = src[j*ld + k]. Reading rows of src and transposing 8x8 blocks in
 * registers keeps every load and store a full contiguous vector.
 */
#include "avx2_kernels.h"
#include "avx2_math.h"

#define NR 16

/* In-register 8x8 transpose: r[j] lane p becomes r[p] lane j. */
RECUR_AVX2_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], s[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* s[4h + c], 128-bit lane L: column 4L + c of rows 4h .. 4h+3. */
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        s[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
    }
}

/* dst[p*NR + j] = src[j*ld + p] for p < kn (<= 8), j < 8; rows j >= nj are zero. */
RECUR_AVX2_INLINE void block8(const float *src, size_t ld, size_t nj, size_t kn, float *dst)
{
    __m256 r[8];
    if (nj == 8 && kn == 8) { /* plain loads: masked ones are slow on AMD */
#pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++)
            r[j] = _mm256_loadu_ps(src + j * ld);
    } else {
        __m256i km = recur_avx2_mask(kn);
#pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++)
            r[j] = j < nj ? _mm256_maskload_ps(src + j * ld, km) : _mm256_setzero_ps();
    }
    transpose8(r);
    if (kn == 8) {
#pragma GCC unroll 8
        for (size_t p = 0; p < 8; p++)
            _mm256_storeu_ps(dst + p * NR, r[p]);
    } else {
        for (size_t p = 0; p < kn; p++)
            _mm256_storeu_ps(dst + p * NR, r[p]);
    }
}

void recur_f32_pack_b_trans__avx2(size_t kc, size_t nc, const float *b, size_t ldb, float *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
        size_t nj = nc - j0 < NR ? nc - j0 : NR;
        size_t nj1 = nj > 8 ? nj - 8 : 0;
        const float *src = b + j0 * ldb;
        for (size_t p0 = 0; p0 < kc; p0 += 8) {
            size_t kn = kc - p0 < 8 ? kc - p0 : 8;
            block8(src + p0, ldb, nj < 8 ? nj : 8, kn, dst + p0 * NR);
            block8(src + 8 * ldb + p0, ldb, nj1, kn, dst + p0 * NR + 8);
        }
    }
}

#define MR 6

/* A row-major -> 6-row panels: dst[p*6 + i] = a[i*lda + p]. Each 8x8 transpose (rows
 * 6, 7 zero) yields one column per vector. Columns are stored in increasing address
 * order as full 8-float vectors, each spilling 2 floats that the next store overwrites
 * (masked stores are slow on AMD cores); only the block's last column is stored as
 * 4 + 2 floats, so nothing past the block is written. */
void recur_f32_pack_a_rows__avx2(size_t mc, size_t kc, const float *a, size_t lda, float *dst)
{
    float *end = dst + (mc + MR - 1) / MR * MR * kc; /* one past the last column */
    for (size_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
        size_t mi = mc - i0 < MR ? mc - i0 : MR;
        const float *src = a + i0 * lda;
        for (size_t p0 = 0; p0 < kc; p0 += 8) {
            size_t kn = kc - p0 < 8 ? kc - p0 : 8;
            __m256 r[8];
            r[6] = r[7] = _mm256_setzero_ps();
            if (mi == MR && kn == 8) { /* plain loads: masked ones are slow on AMD */
#pragma GCC unroll 6
                for (size_t i = 0; i < MR; i++)
                    r[i] = _mm256_loadu_ps(src + i * lda + p0);
            } else {
                __m256i km = recur_avx2_mask(kn);
#pragma GCC unroll 6
                for (size_t i = 0; i < MR; i++)
                    r[i] = i < mi ? _mm256_maskload_ps(src + i * lda + p0, km)
                                  : _mm256_setzero_ps();
            }
            transpose8(r);
            for (size_t p = 0; p < kn; p++) {
                float *d = dst + (p0 + p) * MR;
                if (d + 8 <= end) {
                    _mm256_storeu_ps(d, r[p]);
                } else {
                    _mm_storeu_ps(d, _mm256_castps256_ps128(r[p]));
                    _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(r[p], 1));
                }
            }
        }
    }
}

/* A stored transposed, A(i,k) = a[k*lda + i] (dW = dA^T x): panels of 6 rows, each k
 * step a contiguous run of 6 floats, copied as 4 + 2 (plain loads and stores; nothing
 * read or written past the block). */
void recur_f32_pack_a_cols__avx2(size_t mc, size_t kc, const float *a, size_t lda, float *dst)
{
    for (size_t i0 = 0; i0 < mc; i0 += MR) {
        size_t mi = mc - i0 < MR ? mc - i0 : MR;
        const float *src = a + i0;
        if (mi == MR) {
            for (size_t p = 0; p < kc; p++, dst += MR) {
                const float *s = src + p * lda;
                _mm_storeu_ps(dst, _mm_loadu_ps(s));
                _mm_storel_pi((__m64 *)(dst + 4), _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(s + 4)));
            }
            continue;
        }
        for (size_t p = 0; p < kc; p++, dst += MR)
            for (size_t i = 0; i < MR; i++)
                dst[i] = i < mi ? src[p * lda + i] : 0.0f;
    }
}

/* Row-major B, B(k,j) = b[k*ldb + j]: panels of 16 columns, read row by row. */
void recur_f32_pack_b_rows__avx2(size_t kc, size_t nc, const float *b, size_t ldb, float *dst)
{
    for (size_t p = 0; p < kc; p++) {
        const float *src = b + p * ldb;
        for (size_t j0 = 0; j0 < nc; j0 += NR) {
            size_t nj = nc - j0 < NR ? nc - j0 : NR;
            float *d = dst + j0 * kc + p * NR;
            if (nj == NR) {
                _mm256_storeu_ps(d, _mm256_loadu_ps(src + j0));
                _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + j0 + 8));
            } else {
                _mm256_storeu_ps(d, _mm256_maskload_ps(src + j0, recur_avx2_mask(nj)));
                _mm256_storeu_ps(d + 8, _mm256_maskload_ps(src + j0 + 8,
                                                           recur_avx2_mask(nj > 8 ? nj - 8 : 0)));
            }
        }
    }
}
