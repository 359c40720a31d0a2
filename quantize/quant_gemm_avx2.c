// AVX2 (+FMA, F16C) multi-row dot kernels, compiled per function with
// target attributes and installed into the AVX2 gemm table.
//
// Each weight block is decoded once (levels and scale vectors; float
// weights converted to f32) and multiplied with the same block of every
// activation row; per-row accumulators stay in vectors and are summed
// horizontally once at the end. Results agree with vec_dot within float
// rounding.
#include "quant_gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define KERNEL AVX2 static inline __attribute__((always_inline))

AVX2 static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

AVX2 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---- float weights ----------------------------------------------------------------------
// kind: 0 f32, 1 f16, 2 bf16.
KERNEL __m256 load_w8(const uint8_t *x, const int kind) {
    if (kind == 0) return _mm256_loadu_ps((const float *)x);
    if (kind == 1) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)x)), 16));
}

KERNEL float load_w1(const uint8_t *x, const int kind) {
    if (kind == 0) {
        float f;
        memcpy(&f, x, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, x, 2);
    return kind == 1 ? ingot_f16_to_f32(h) : ingot_bf16_to_f32(h);
}

KERNEL void float_gemm(int64_t n, float *s, size_t lds, const void *vx, const void *vy, size_t ldy, const int NR,
                       const int kind) {
    const uint8_t *x = vx;
    const size_t es = kind == 0 ? 4 : 2;
    __m256 acc0[INGOT_GEMM_MAX_ROWS], acc1[INGOT_GEMM_MAX_ROWS];
    for (int j = 0; j < NR; j++) acc0[j] = acc1[j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = load_w8(x + es * (size_t)i, kind), w1 = load_w8(x + es * (size_t)(i + 8), kind);
        for (int j = 0; j < NR; j++) {
            const float *y = (const float *)((const uint8_t *)vy + (size_t)j * ldy) + i;
            acc0[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(y), acc0[j]);
            acc1[j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(y + 8), acc1[j]);
        }
    }
    for (int j = 0; j < NR; j++) {
        const float *y = (const float *)((const uint8_t *)vy + (size_t)j * ldy);
        float sum = hsum_ps(_mm256_add_ps(acc0[j], acc1[j]));
        for (int64_t k = i; k < n; k++) sum += load_w1(x + es * (size_t)k, kind) * y[k];
        s[(size_t)j * lds] = sum;
    }
}

// ---- Q8_0 / Q4_0 ------------------------------------------------------------------------
KERNEL void legacy_gemm(int64_t n, float *s, size_t lds, const void *vx, const void *vy, size_t ldy, const int NR,
                        const bool q4) {
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
    __m256 acc[INGOT_GEMM_MAX_ROWS];
    for (int j = 0; j < NR; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        __m256i qx;
        float d;
        if (q4) {
            const ingot_block_q4_0 *x = (const ingot_block_q4_0 *)vx + i;
            const __m128i b = _mm_loadu_si128((const __m128i *)x->qs);
            qx = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), m4), eight);
            d = h2f(x->d);
        } else {
            const ingot_block_q8_0 *x = (const ingot_block_q8_0 *)vx + i;
            qx = _mm256_loadu_si256((const __m256i *)x->qs);
            d = h2f(x->d);
        }
        const __m256i ax = _mm256_sign_epi8(qx, qx);
        for (int j = 0; j < NR; j++) {
            const ingot_block_q8_0 *y = (const ingot_block_q8_0 *)((const uint8_t *)vy + (size_t)j * ldy) + i;
            const __m256i sy = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)y->qs), qx);
            const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), ones));
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(d * h2f(y->d)), p, acc[j]);
        }
    }
    for (int j = 0; j < NR; j++) s[(size_t)j * lds] = hsum_ps(acc[j]);
}

// ---- Q4_K / Q5_K -------------------------------------------------------------------------
// w[b]: levels of sub-block b (32 values), sc[b]: its scale in every int16 lane.
KERNEL void k45_gemm(int64_t n, float *s, size_t lds, const void *vx, const void *vy, size_t ldy, const int NR,
                     const bool q5) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m256 acc[INGOT_GEMM_MAX_ROWS], accm[INGOT_GEMM_MAX_ROWS];
    for (int j = 0; j < NR; j++) acc[j] = accm[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const uint8_t *qs, *scales;
        const uint8_t *qh = NULL;
        float d, dmin;
        if (q5) {
            const ingot_block_q5_k *x = (const ingot_block_q5_k *)vx + i;
            qs = x->qs, qh = x->qh, scales = x->scales, d = h2f(x->d), dmin = h2f(x->dmin);
        } else {
            const ingot_block_q4_k *x = (const ingot_block_q4_k *)vx + i;
            qs = x->qs, scales = x->scales, d = h2f(x->d), dmin = h2f(x->dmin);
        }
        uint8_t scs[8], mins[8];
        ingot_k4_unpack(scales, scs, mins);
        int16_t mexp[16];
        for (int b = 0; b < 8; b++) mexp[2 * b] = mexp[2 * b + 1] = mins[b];
        const __m256i vm = _mm256_loadu_si256((const __m256i *)mexp);
        const __m256i hb = q5 ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
        __m256i w[8], sc[8];
        for (int p = 0; p < 4; p++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
            w[2 * p] = _mm256_and_si256(q, m4);
            w[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (q5) {
                const __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * p)), one);
                const __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * p + 1)), one);
                w[2 * p] = _mm256_or_si256(w[2 * p], _mm256_slli_epi16(h0, 4));
                w[2 * p + 1] = _mm256_or_si256(w[2 * p + 1], _mm256_slli_epi16(h1, 4));
            }
            sc[2 * p] = _mm256_set1_epi16(scs[2 * p]);
            sc[2 * p + 1] = _mm256_set1_epi16(scs[2 * p + 1]);
        }
        for (int j = 0; j < NR; j++) {
            const ingot_block_q8_k *y = (const ingot_block_q8_k *)((const uint8_t *)vy + (size_t)j * ldy) + i;
            __m256i a = _mm256_setzero_si256();
            for (int b = 0; b < 8; b++) {
                const __m256i qy = _mm256_loadu_si256((const __m256i *)(y->qs + 32 * b));
                a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(w[b], qy), sc[b]));
            }
            const __m256i mp = _mm256_madd_epi16(vm, _mm256_loadu_si256((const __m256i *)y->bsums));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(y->d * d), acc[j]);
            accm[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_set1_ps(y->d * dmin), accm[j]);
        }
    }
    for (int j = 0; j < NR; j++) s[(size_t)j * lds] = hsum_ps(acc[j]) - hsum_ps(accm[j]);
}

// ---- Q6_K --------------------------------------------------------------------------------
// w[2h + k'] for k = 0..3 of half h: levels (0..63) of values 128h + 32k + (0..31).
KERNEL void q6_k_gemm(int64_t n, float *s, size_t lds, const void *vx, const void *vy, size_t ldy, const int NR) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    __m256 acc[INGOT_GEMM_MAX_ROWS], accm[INGOT_GEMM_MAX_ROWS];
    for (int j = 0; j < NR; j++) acc[j] = accm[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const ingot_block_q6_k *x = (const ingot_block_q6_k *)vx + i;
        const float d = h2f(x->d);
        __m256i w[8], sc[8];
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++) {
                const __m256i ql = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (k & 1)));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                const __m256i lo = _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(4 * (k >> 1))), m4);
                const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m3);
                const int sb = 8 * h + 2 * k;
                w[4 * h + k] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                sc[4 * h + k] = _mm256_set_m128i(_mm_set1_epi16(x->scales[sb + 1]), _mm_set1_epi16(x->scales[sb]));
            }
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
        for (int j = 0; j < NR; j++) {
            const ingot_block_q8_k *y = (const ingot_block_q8_k *)((const uint8_t *)vy + (size_t)j * ldy) + i;
            __m256i a = _mm256_setzero_si256();
            for (int b = 0; b < 8; b++) {
                const __m256i qy = _mm256_loadu_si256((const __m256i *)(y->qs + 32 * b));
                a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(w[b], qy), sc[b]));
            }
            const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            const float dd = y->d * d;
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(dd), acc[j]);
            accm[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(off), _mm256_set1_ps(32.0f * dd), accm[j]);
        }
    }
    for (int j = 0; j < NR; j++) s[(size_t)j * lds] = hsum_ps(acc[j]) - hsum_ps(accm[j]);
}

// ---- entry points: one instance per row count ---------------------------------------------
#define GEMM_ENTRY(name, call)                                                                        \
    AVX2 static void name(int64_t n, float *s, size_t lds, const void *x, const void *y, size_t ldy, int nr) { \
        switch (nr) {                                                                                 \
        case 1: call(1); break;                                                                       \
        case 2: call(2); break;                                                                       \
        case 3: call(3); break;                                                                       \
        case 4: call(4); break;                                                                       \
        case 5: call(5); break;                                                                       \
        case 6: call(6); break;                                                                       \
        case 7: call(7); break;                                                                       \
        default: call(8); break;                                                                      \
        }                                                                                             \
    }
#define F32_CALL(NR) float_gemm(n, s, lds, x, y, ldy, NR, 0)
#define F16_CALL(NR) float_gemm(n, s, lds, x, y, ldy, NR, 1)
#define BF16_CALL(NR) float_gemm(n, s, lds, x, y, ldy, NR, 2)
#define Q8_0_CALL(NR) legacy_gemm(n, s, lds, x, y, ldy, NR, false)
#define Q4_0_CALL(NR) legacy_gemm(n, s, lds, x, y, ldy, NR, true)
#define Q4_K_CALL(NR) k45_gemm(n, s, lds, x, y, ldy, NR, false)
#define Q5_K_CALL(NR) k45_gemm(n, s, lds, x, y, ldy, NR, true)
#define Q6_K_CALL(NR) q6_k_gemm(n, s, lds, x, y, ldy, NR)
GEMM_ENTRY(f32_gemm, F32_CALL)
GEMM_ENTRY(f16_gemm, F16_CALL)
GEMM_ENTRY(bf16_gemm, BF16_CALL)
GEMM_ENTRY(q8_0_gemm, Q8_0_CALL)
GEMM_ENTRY(q4_0_gemm, Q4_0_CALL)
GEMM_ENTRY(q4_k_gemm, Q4_K_CALL)
GEMM_ENTRY(q5_k_gemm, Q5_K_CALL)
GEMM_ENTRY(q6_k_gemm_entry, Q6_K_CALL)

void ingot_quant_gemm_install_avx2(ingot_gemm_fn *tab) {
    tab[INGOT_DTYPE_F32] = f32_gemm;
    tab[INGOT_DTYPE_F16] = f16_gemm;
    tab[INGOT_DTYPE_BF16] = bf16_gemm;
    tab[INGOT_DTYPE_Q8_0] = q8_0_gemm;
    tab[INGOT_DTYPE_Q4_0] = q4_0_gemm;
    tab[INGOT_DTYPE_Q4_K] = q4_k_gemm;
    tab[INGOT_DTYPE_Q5_K] = q5_k_gemm;
    tab[INGOT_DTYPE_Q6_K] = q6_k_gemm_entry;
}

#else
void ingot_quant_gemm_install_avx2(ingot_gemm_fn *tab) { (void)tab; }
#endif
