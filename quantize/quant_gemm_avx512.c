// AVX-512 (F, BW, VL, DQ) multi-row dot kernels, compiled per function with
// target attributes and installed into the AVX-512 gemm table (which starts
// as a copy of the AVX2 one: the float types keep their AVX2 kernels).
//
// Each weight block is decoded once into 512-bit level vectors and scale
// vectors, then multiplied with the same block of every activation row.
// Per row, the integer products of a block are converted to float and
// accumulated in a vector; the horizontal sums happen once per row at the
// end. Results agree with vec_dot within float rounding.
#include <string.h>

#include "quant_gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define KERNEL AVX512 static inline __attribute__((always_inline))

AVX512 static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

AVX512 static inline __m512i load2x256(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}
// Lanes 0-7 a, lanes 8-15 b.
AVX512 static inline __m512 set2_ps(float a, float b) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(a)), _mm256_set1_ps(b), 1);
}
// int16 lanes 0-15 a, 16-31 b.
AVX512 static inline __m512i set2_epi16(int a, int b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)a)), _mm256_set1_epi16((short)b), 1);
}
AVX512 static inline float hsum256_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define UNROLL4 _Pragma("GCC unroll 4")
#define UNROLL8 _Pragma("GCC unroll 8")

// ---- Q8_0 / Q4_0 ------------------------------------------------------------------------
// Two blocks per step: 64 signed levels, their scales in lanes 0-7 / 8-15.
KERNEL void legacy_gemm(int64_t n, float *s, size_t lds, const void *vx, const void *vy, size_t ldy, const int NR,
                        const bool q4) {
    const int64_t nb = n / INGOT_QK;
    const __m512i ones = _mm512_set1_epi16(1), m4 = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
    const __m512i half_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 acc[INGOT_GEMM_MAX_ROWS];
    UNROLL8 for (int j = 0; j < NR; j++) acc[j] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i qx;
        float d0, d1;
        if (q4) {
            const ingot_block_q4_0 *x = (const ingot_block_q4_0 *)vx + i;
            const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)x[0].qs)),
                                                      _mm_loadu_si128((const __m128i *)x[1].qs), 1);
            const __m512i bb = _mm512_inserti64x4(_mm512_castsi256_si512(b), _mm256_srli_epi16(b, 4), 1);
            // [b0 lo, b1 lo, b0 hi, b1 hi] → [b0 lo, b0 hi, b1 lo, b1 hi]
            qx = _mm512_sub_epi8(_mm512_and_si512(_mm512_shuffle_i64x2(bb, bb, _MM_SHUFFLE(3, 1, 2, 0)), m4), eight);
            d0 = h2f(x[0].d);
            d1 = h2f(x[1].d);
        } else {
            const ingot_block_q8_0 *x = (const ingot_block_q8_0 *)vx + i;
            qx = load2x256(x[0].qs, x[1].qs);
            d0 = h2f(x[0].d);
            d1 = h2f(x[1].d);
        }
        // Signed × signed through maddubs: |x| times y with x's sign.
        const __m512 dx = set2_ps(d0, d1);
        const __m512i ax = _mm512_abs_epi8(qx);
        const __mmask64 neg = _mm512_movepi8_mask(qx);
        UNROLL8 for (int j = 0; j < NR; j++) {
            const ingot_block_q8_0 *y = (const ingot_block_q8_0 *)((const uint8_t *)vy + (size_t)j * ldy) + i;
            const __m512i qy = load2x256(y[0].qs, y[1].qs);
            const __m512i sy = _mm512_mask_sub_epi8(qy, neg, _mm512_setzero_si512(), qy);
            const __m512 p = _mm512_cvtepi32_ps(_mm512_madd_epi16(_mm512_maddubs_epi16(ax, sy), ones));
            // Both activation scales in one conversion, spread to lanes 0-7 / 8-15.
            const __m128 dy = _mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(y[0].d), y[1].d, 1));
            const __m512 dyy = _mm512_permutexvar_ps(half_idx, _mm512_castps128_ps512(dy));
            acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dyy), p, acc[j]);
        }
    }
    for (int j = 0; j < NR; j++) {
        float sum = _mm512_reduce_add_ps(acc[j]);
        for (int64_t b = i; b < nb; b++) { // odd last block
            const ingot_block_q8_0 *y = (const ingot_block_q8_0 *)((const uint8_t *)vy + (size_t)j * ldy) + b;
            int32_t sumi = 0;
            float d;
            if (q4) {
                const ingot_block_q4_0 *x = (const ingot_block_q4_0 *)vx + b;
                for (int l = 0; l < 16; l++)
                    sumi += ((x->qs[l] & 0xF) - 8) * y->qs[l] + ((x->qs[l] >> 4) - 8) * y->qs[l + 16];
                d = h2f(x->d);
            } else {
                const ingot_block_q8_0 *x = (const ingot_block_q8_0 *)vx + b;
                for (int l = 0; l < INGOT_QK; l++) sumi += x->qs[l] * y->qs[l];
                d = h2f(x->d);
            }
            sum += (float)sumi * (d * h2f(y->d));
        }
        s[(size_t)j * lds] = sum;
    }
}

// ---- Q4_K / Q5_K / Q6_K --------------------------------------------------------------------
// The kernels are written once as macros and instantiated twice: with
// AVX-512BW (the integer block sums as madd + add) and with AVX512_VNNI
// (vpdpwssd: scale × pair sum added in one instruction). Every loop over
// the 4 level vectors and the NR rows is unrolled so that levels, scales
// and accumulators stay in registers.
#define DP_BW(a, p, s) _mm512_add_epi32((a), _mm512_madd_epi16((p), (s)))
#define DP_VNNI(a, p, s) _mm512_dpwssd_epi32((a), (p), (s))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

// Q4_K / Q5_K scales and mins (6 bits each, packed in 12 bytes) as 16
// int16 lanes: 8 scales then 8 mins.
AVX512 static inline __m256i k4_scales_mins(const uint8_t *sp) {
    uint32_t w[4];
    ingot_k4_words(sp, w);
    return _mm256_cvtepu8_epi16(_mm_setr_epi32((int)w[0], (int)w[1], (int)w[2], (int)w[3]));
}

// Vector p (0..3) holds sub-blocks 2p (low nibbles of qs[32p ..]) and 2p+1
// (high nibbles), matching the activation bytes qs[64p .. 64p+63].
#define K45_GEMM(name, ATTR, DP)                                                                                  \
    ATTR static inline __attribute__((always_inline)) void name(int64_t n, float *s, size_t lds, const void *vx,  \
                                                                const void *vy, size_t ldy, const int NR,         \
                                                                const bool q5) {                                  \
        const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);                                     \
        const __m256i min_idx = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);   \
        __m512 acc[INGOT_GEMM_MAX_ROWS];                                                                          \
        __m256 accm[INGOT_GEMM_MAX_ROWS];                                                                         \
        UNROLL8 for (int j = 0; j < NR; j++) {                                                                    \
            acc[j] = _mm512_setzero_ps();                                                                         \
            accm[j] = _mm256_setzero_ps();                                                                        \
        }                                                                                                         \
        for (int64_t i = 0; i < n / INGOT_QK_K; i++) {                                                            \
            const uint8_t *qs, *scales, *qh = NULL;                                                               \
            float d, dmin;                                                                                        \
            if (q5) {                                                                                             \
                const ingot_block_q5_k *x = (const ingot_block_q5_k *)vx + i;                                     \
                qs = x->qs, qh = x->qh, scales = x->scales, d = h2f(x->d), dmin = h2f(x->dmin);                   \
            } else {                                                                                              \
                const ingot_block_q4_k *x = (const ingot_block_q4_k *)vx + i;                                     \
                qs = x->qs, scales = x->scales, d = h2f(x->d), dmin = h2f(x->dmin);                               \
            }                                                                                                     \
            const __m256i sm16 = k4_scales_mins(scales);                                                          \
            const __m256i mexp = _mm256_permutexvar_epi16(min_idx, sm16);                                         \
            const __m512i sc512 = _mm512_castsi256_si512(sm16);                                                   \
            const __m256i hb = q5 ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();            \
            __m512i w[4], sc[4];                                                                                  \
            UNROLL4 for (int p = 0; p < 4; p++) {                                                                 \
                const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));                             \
                __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);         \
                if (q5) {                                                                                         \
                    const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * p), one);                       \
                    const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * p + 1), one);                   \
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));                                           \
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));                                           \
                }                                                                                                 \
                w[p] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);                                     \
                sc[p] = _mm512_permutexvar_epi16(set2_epi16(2 * p, 2 * p + 1), sc512);                            \
            }                                                                                                     \
            UNROLL8 for (int j = 0; j < NR; j++) {                                                                \
                const ingot_block_q8_k *y = (const ingot_block_q8_k *)((const uint8_t *)vy + (size_t)j * ldy) + i; \
                __m512i a = _mm512_setzero_si512();                                                               \
                UNROLL4 for (int p = 0; p < 4; p++) {                                                             \
                    const __m512i qy = _mm512_loadu_si512((const void *)(y->qs + 64 * p));                        \
                    a = DP(a, _mm512_maddubs_epi16(w[p], qy), sc[p]);                                             \
                }                                                                                                 \
                const __m256i mp = _mm256_madd_epi16(mexp, _mm256_loadu_si256((const __m256i *)y->bsums));        \
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(y->d * d), acc[j]);                \
                accm[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_set1_ps(y->d * dmin), accm[j]);          \
            }                                                                                                     \
        }                                                                                                         \
        UNROLL8 for (int j = 0; j < NR; j++) s[(size_t)j * lds] = _mm512_reduce_add_ps(acc[j]) - hsum256_ps(accm[j]); \
    }

// int16 scale vector for 4 consecutive 16-value sub-blocks starting at a.
AVX512 static inline __m512i scales4x16(const int8_t *sc, int a) {
    return _mm512_cvtepi8_epi16(_mm256_setr_m128i(
        _mm_unpacklo_epi64(_mm_set1_epi8(sc[a]), _mm_set1_epi8(sc[a + 1])),
        _mm_unpacklo_epi64(_mm_set1_epi8(sc[a + 2]), _mm_set1_epi8(sc[a + 3]))));
}

// Q6_K: vector p = 2h + m (0..3) holds the levels (0..63) of values 128h +
// 64m + (0..63): low bits from ql[64h ..] and ql[64h + 32 ..] at bit 4m,
// high bits from qh[32h ..] at bits 4m and 4m + 2. Levels carry +32:
// Σ sc (L − 32) y = Σ sc L y − 32 Σ sc bsums.
#define Q6K_GEMM(name, ATTR, DP)                                                                                  \
    ATTR static inline __attribute__((always_inline)) void name(int64_t n, float *s, size_t lds, const void *vx,  \
                                                                const void *vy, size_t ldy, const int NR) {       \
        const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);                                     \
        __m512 acc[INGOT_GEMM_MAX_ROWS];                                                                          \
        __m256 accm[INGOT_GEMM_MAX_ROWS];                                                                         \
        UNROLL8 for (int j = 0; j < NR; j++) {                                                                    \
            acc[j] = _mm512_setzero_ps();                                                                         \
            accm[j] = _mm256_setzero_ps();                                                                        \
        }                                                                                                         \
        for (int64_t i = 0; i < n / INGOT_QK_K; i++) {                                                            \
            const ingot_block_q6_k *x = (const ingot_block_q6_k *)vx + i;                                         \
            const float d = h2f(x->d);                                                                            \
            __m512i w[4], sc[4];                                                                                  \
            UNROLL4 for (int p = 0; p < 4; p++) {                                                                 \
                const int h = p / 2, m = p % 2;                                                                   \
                const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));                        \
                const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));                   \
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));                         \
                const __m256i l0 = _mm256_or_si256(                                                               \
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4 * m), m4),                                          \
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4 * m), m3), 4));                    \
                const __m256i l1 = _mm256_or_si256(                                                               \
                    _mm256_and_si256(_mm256_srli_epi16(ql1, 4 * m), m4),                                          \
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4 * m + 2), m3), 4));                \
                w[p] = _mm512_inserti64x4(_mm512_castsi256_si512(l0), l1, 1);                                     \
                sc[p] = scales4x16(x->scales, 4 * p);                                                             \
            }                                                                                                     \
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));               \
            UNROLL8 for (int j = 0; j < NR; j++) {                                                                \
                const ingot_block_q8_k *y = (const ingot_block_q8_k *)((const uint8_t *)vy + (size_t)j * ldy) + i; \
                __m512i a = _mm512_setzero_si512();                                                               \
                UNROLL4 for (int p = 0; p < 4; p++) {                                                             \
                    const __m512i qy = _mm512_loadu_si512((const void *)(y->qs + 64 * p));                        \
                    a = DP(a, _mm512_maddubs_epi16(w[p], qy), sc[p]);                                             \
                }                                                                                                 \
                const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));      \
                const float dd = y->d * d;                                                                        \
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(dd), acc[j]);                      \
                accm[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(off), _mm256_set1_ps(32.0f * dd), accm[j]);          \
            }                                                                                                     \
        }                                                                                                         \
        UNROLL8 for (int j = 0; j < NR; j++) s[(size_t)j * lds] = _mm512_reduce_add_ps(acc[j]) - hsum256_ps(accm[j]); \
    }

K45_GEMM(k45_gemm, AVX512, DP_BW)
K45_GEMM(k45_gemm_vnni, VNNI, DP_VNNI)
Q6K_GEMM(q6_k_gemm, AVX512, DP_BW)
Q6K_GEMM(q6_k_gemm_vnni, VNNI, DP_VNNI)

// ---- entry points: one instance per row count ---------------------------------------------
#define GEMM_ENTRY(name, ATTR, call)                                                                    \
    ATTR static void name(int64_t n, float *s, size_t lds, const void *x, const void *y, size_t ldy, int nr) { \
        switch (nr) {                                                                                   \
        case 1: call(1); break;                                                                         \
        case 2: call(2); break;                                                                         \
        case 3: call(3); break;                                                                         \
        case 4: call(4); break;                                                                         \
        case 5: call(5); break;                                                                         \
        case 6: call(6); break;                                                                         \
        case 7: call(7); break;                                                                         \
        default: call(8); break;                                                                        \
        }                                                                                               \
    }
#define Q8_0_CALL(NR) legacy_gemm(n, s, lds, x, y, ldy, NR, false)
#define Q4_0_CALL(NR) legacy_gemm(n, s, lds, x, y, ldy, NR, true)
#define Q4_K_CALL(NR) k45_gemm(n, s, lds, x, y, ldy, NR, false)
#define Q5_K_CALL(NR) k45_gemm(n, s, lds, x, y, ldy, NR, true)
#define Q6_K_CALL(NR) q6_k_gemm(n, s, lds, x, y, ldy, NR)
#define Q4_K_VNNI_CALL(NR) k45_gemm_vnni(n, s, lds, x, y, ldy, NR, false)
#define Q5_K_VNNI_CALL(NR) k45_gemm_vnni(n, s, lds, x, y, ldy, NR, true)
#define Q6_K_VNNI_CALL(NR) q6_k_gemm_vnni(n, s, lds, x, y, ldy, NR)
GEMM_ENTRY(q8_0_gemm, AVX512, Q8_0_CALL)
GEMM_ENTRY(q4_0_gemm, AVX512, Q4_0_CALL)
GEMM_ENTRY(q4_k_gemm, AVX512, Q4_K_CALL)
GEMM_ENTRY(q5_k_gemm, AVX512, Q5_K_CALL)
GEMM_ENTRY(q6_k_gemm_entry, AVX512, Q6_K_CALL)
GEMM_ENTRY(q4_k_gemm_vnni, VNNI, Q4_K_VNNI_CALL)
GEMM_ENTRY(q5_k_gemm_vnni, VNNI, Q5_K_VNNI_CALL)
GEMM_ENTRY(q6_k_gemm_vnni_entry, VNNI, Q6_K_VNNI_CALL)

void ingot_quant_gemm_install_avx512(ingot_gemm_fn *tab) {
    tab[INGOT_DTYPE_Q8_0] = q8_0_gemm;
    tab[INGOT_DTYPE_Q4_0] = q4_0_gemm;
    tab[INGOT_DTYPE_Q4_K] = q4_k_gemm;
    tab[INGOT_DTYPE_Q5_K] = q5_k_gemm;
    tab[INGOT_DTYPE_Q6_K] = q6_k_gemm_entry;
    if (__builtin_cpu_supports("avx512vnni")) {
        tab[INGOT_DTYPE_Q4_K] = q4_k_gemm_vnni;
        tab[INGOT_DTYPE_Q5_K] = q5_k_gemm_vnni;
        tab[INGOT_DTYPE_Q6_K] = q6_k_gemm_vnni_entry;
    }
}

#else
void ingot_quant_gemm_install_avx512(ingot_gemm_fn *tab) { (void)tab; }
#endif
