// AVX2 (+FMA, F16C) kernels, compiled per function with target attributes
// so the default build needs no -march flag; installed into the AVX2
// dispatch table when the CPU supports it.
//
// Quantizers and decoders produce the same bytes / floats as their _ref:
// same operations in the same order (no FMA contraction in this target,
// sums of 32 in ingot_sum32 order, the same rounding rule). Dot products
// accumulate in a different order and agree within float rounding.
#include <string.h>

#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "quant_search_x86.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

// ---- helpers -------------------------------------------------------------------------
AVX2 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

AVX2 static inline float hmax_ps(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
AVX2 static inline float hmin_ps(__m256 v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// ingot_sum32 order for p = [v0 | v1 | v2 | v3].
AVX2 static inline float sum32(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 c = _mm256_add_ps(_mm256_add_ps(v0, v2), _mm256_add_ps(v1, v3));
    __m128 e = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
    e = _mm_add_ps(e, _mm_movehl_ps(e, e));
    e = _mm_add_ss(e, _mm_movehdup_ps(e));
    return _mm_cvtss_f32(e);
}

// Tail of ingot_sum32 / ingot_sum16 (lanes l + l+4, then l + l+2, then
// l + l+1) for eight 8-lane vectors at once: lane k of the result is the
// sum of c[k], bit for bit what the one-vector tail gives.
AVX2 static inline __m256 hsum8x8(const __m256 *c) {
    __m256 e[4];
    for (int k = 0; k < 4; k++)
        e[k] = _mm256_add_ps(_mm256_permute2f128_ps(c[2 * k], c[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(c[2 * k], c[2 * k + 1], 0x31));
    const __m256 f0 = _mm256_add_ps(_mm256_shuffle_ps(e[0], e[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(e[0], e[1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 f1 = _mm256_add_ps(_mm256_shuffle_ps(e[2], e[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(e[2], e[3], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 g = _mm256_add_ps(_mm256_shuffle_ps(f0, f1, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(f0, f1, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(g, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Four vectors of int32 (elements 0-7, 8-15, 16-23, 24-31) to 32 int8 in order.
AVX2 static inline __m256i pack32_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i abcd = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// roundf: half away from zero.
AVX2 static inline __m256 round_away(__m256 t) {
    const __m256 tr = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(t, tr));
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(t, _mm256_set1_ps(-0.0f)));
    return _mm256_add_ps(tr, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one));
}
AVX2 static inline __m256 round_even(__m256 t) {
    return _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

AVX2 static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// 16 nibble bytes to 32 values: low nibbles first, then high nibbles.
AVX2 static inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

// ---- float rows ----------------------------------------------------------------------
AVX2 static void f32_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

AVX2 static inline __m256 load_f16x8(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline __m256 load_bf16x8(const uint8_t *p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#define HALF_DOT(name, load, scalar)                                                    \
    AVX2 static void name(int64_t n, float *s, const void *vx, const void *vy) {          \
        const uint8_t *x = vx;                                                            \
        const float *y = vy;                                                              \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                       \
        int64_t i = 0;                                                                    \
        for (; i + 32 <= n; i += 32) {                                                    \
            a0 = _mm256_fmadd_ps(load(x + 2 * i), _mm256_loadu_ps(y + i), a0);           \
            a1 = _mm256_fmadd_ps(load(x + 2 * i + 16), _mm256_loadu_ps(y + i + 8), a1);  \
            a2 = _mm256_fmadd_ps(load(x + 2 * i + 32), _mm256_loadu_ps(y + i + 16), a2); \
            a3 = _mm256_fmadd_ps(load(x + 2 * i + 48), _mm256_loadu_ps(y + i + 24), a3); \
        }                                                                                 \
        float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
        for (; i < n; i++) {                                                              \
            uint16_t h;                                                                   \
            memcpy(&h, x + 2 * i, 2);                                                     \
            sum += scalar(h) * y[i];                                                      \
        }                                                                                 \
        *s = sum;                                                                         \
    }                                                                                     \
    AVX2 static void name##_dequant(const void *vx, float *y, int64_t n) {               \
        const uint8_t *x = vx;                                                            \
        int64_t i = 0;                                                                    \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load(x + 2 * i));              \
        for (; i < n; i++) {                                                              \
            uint16_t h;                                                                   \
            memcpy(&h, x + 2 * i, 2);                                                     \
            y[i] = scalar(h);                                                             \
        }                                                                                 \
    }
HALF_DOT(f16_vec_dot, load_f16x8, ingot_f16_to_f32)
HALF_DOT(bf16_vec_dot, load_bf16x8, ingot_bf16_to_f32)

// ---- Q8_0 ----------------------------------------------------------------------------
AVX2 static void q8_0_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, abs_ps(v[k]));
        }
        const float d = hmax_ps(m) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], vid)));
        _mm256_storeu_si256((__m256i *)y[i].qs, pack32_i8(q[0], q[1], q[2], q[3]));
    }
}

AVX2 static void q8_0_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        for (int k = 0; k < 4; k++) {
            const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x[i].qs + 8 * k)));
            _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
        }
    }
}

// ---- Q4_0 ----------------------------------------------------------------------------
AVX2 static void q4_0_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, abs_ps(v[k]));
        }
        const float amax = hmax_ps(m);
        float max = 0.0f;
        if (amax > 0.0f) { // the first value of largest magnitude, as the scalar scan picks
            const __m256 va = _mm256_set1_ps(amax);
            uint32_t bits = 0;
            for (int k = 0; k < 4; k++)
                bits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(v[k]), va, _CMP_EQ_OQ)) << (8 * k);
            max = x[__builtin_ctz(bits)];
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        const __m256 vid = _mm256_set1_ps(id), half = _mm256_set1_ps(8.5f);
        const __m256i q15 = _mm256_set1_epi32(15);
        __m256i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm256_min_epi32(q15, _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(v[k], vid), half)));
        const __m256i b = pack32_i8(q[0], q[1], q[2], q[3]);
        const __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
        _mm_storeu_si128((__m128i *)y[i].qs, _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
    }
}

AVX2 static void q4_0_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        const __m256i q = _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8));
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        _mm256_storeu_ps(y, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q0))));
        _mm256_storeu_ps(y + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q0, 8)))));
        _mm256_storeu_ps(y + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q1))));
        _mm256_storeu_ps(y + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q1, 8)))));
    }
}

// ---- Q4_1, IQ4_NL (Q8_0 activations) -------------------------------------------------
// ---- 32-value blocks · Q8_0 -------------------------------------------------------------
// Eight blocks per step: their f16 scales are converted together, and each
// block's int32 partial sums are scaled by its lane of the product vector.

// The f16 fields at b, b + stride, ... (8 of them) as floats.
AVX2 static inline __m256 h2f_x8(const void *p, size_t stride) {
    const uint8_t *b = p;
    uint16_t h[8];
    for (int k = 0; k < 8; k++) memcpy(&h[k], b + (size_t)k * stride, 2);
    __m128i v = _mm_cvtsi32_si128(h[0]);
    v = _mm_insert_epi16(v, h[1], 1);
    v = _mm_insert_epi16(v, h[2], 2);
    v = _mm_insert_epi16(v, h[3], 3);
    v = _mm_insert_epi16(v, h[4], 4);
    v = _mm_insert_epi16(v, h[5], 5);
    v = _mm_insert_epi16(v, h[6], 6);
    v = _mm_insert_epi16(v, h[7], 7);
    return _mm256_cvtph_ps(v);
}

// Signed int8 × int8 summed to 8 int32 lanes.
AVX2 static inline __m256i dot_i8(__m256i x, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)),
                             _mm256_set1_epi16(1));
}
AVX2 static inline __m256i qy_of(const ingot_block_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }

AVX2 static inline __m256i q8_0_dot32(const ingot_block_q8_0 *x, const ingot_block_q8_0 *y) {
    return dot_i8(_mm256_loadu_si256((const __m256i *)x->qs), qy_of(y));
}
// Σ (q − 8) y = Σ q y − Σ 8 y: unsigned nibbles go straight into maddubs.
AVX2 static inline __m256i q4_0_dot32(const ingot_block_q4_0 *x, const ingot_block_q8_0 *y) {
    const __m256i qy = qy_of(y);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles(x->qs), qy),
                                       _mm256_maddubs_epi16(_mm256_set1_epi8(8), qy));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
AVX2 static inline __m256i iq4_nl_dot32(const ingot_block_iq4_nl *x, const ingot_block_q8_0 *y) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ingot_iq4nl_values));
    return dot_i8(_mm256_shuffle_epi8(table, unpack_nibbles(x->qs)), qy_of(y));
}

#define DOT32_SYM(name, xtype, DOT)                                                                        \
    AVX2 static void name(int64_t n, float *s, const void *vx, const void *vy) {                            \
        const xtype *x = vx;                                                                                \
        const ingot_block_q8_0 *y = vy;                                                                     \
        const int64_t nb = n / INGOT_QK;                                                                    \
        const __m256i one = _mm256_set1_epi32(1);                                                           \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                                                     \
        int64_t i = 0;                                                                                      \
        for (; i + 8 <= nb; i += 8) {                                                                       \
            const __m256 dd = _mm256_mul_ps(h2f_x8(&x[i].d, sizeof(xtype)), h2f_x8(&y[i].d, sizeof *y));    \
            __m256i k = _mm256_setzero_si256();                                                             \
            for (int b = 0; b < 8; b += 2) {                                                                \
                acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, k),                                     \
                                       _mm256_cvtepi32_ps(DOT(&x[i + b], &y[i + b])), acc0);                \
                k = _mm256_add_epi32(k, one);                                                               \
                acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, k),                                     \
                                       _mm256_cvtepi32_ps(DOT(&x[i + b + 1], &y[i + b + 1])), acc1);        \
                k = _mm256_add_epi32(k, one);                                                               \
            }                                                                                               \
        }                                                                                                   \
        for (; i < nb; i++)                                                                                 \
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),                               \
                                   _mm256_cvtepi32_ps(DOT(&x[i], &y[i])), acc0);                            \
        *s = hsum_ps(_mm256_add_ps(acc0, acc1));                                                            \
    }

DOT32_SYM(q8_0_vec_dot, ingot_block_q8_0, q8_0_dot32)
DOT32_SYM(q4_0_vec_dot, ingot_block_q4_0, q4_0_dot32)
DOT32_SYM(iq4_nl_vec_dot, ingot_block_iq4_nl, iq4_nl_dot32)

// _1 types (x = d q + m): lanes [Σ q y (2) | Σ y (2)] per 128 bits from
// one hadd, scaled by [d dy, d dy, m dy, m dy].
AVX2 static inline __m256i aff_dot32(__m256i q, const ingot_block_q8_0 *y) {
    const __m256i qy = qy_of(y), ones16 = _mm256_set1_epi16(1);
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, qy), ones16);
    const __m256i py = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), qy), ones16);
    return _mm256_hadd_epi32(p, py);
}

#define DOT32_AFF(name, xtype, LEVELS)                                                                     \
    AVX2 static void name(int64_t n, float *s, const void *vx, const void *vy) {                            \
        const xtype *x = vx;                                                                                \
        const ingot_block_q8_0 *y = vy;                                                                     \
        const int64_t nb = n / INGOT_QK;                                                                    \
        __m256i idx[8];                                                                                     \
        for (int b = 0; b < 8; b++) {                                                                       \
            const int base = 2 * (b & 1) + 4 * (b >= 4);                                                    \
            idx[b] = _mm256_setr_epi32(base, base, base + 1, base + 1, base, base, base + 1, base + 1);     \
        }                                                                                                   \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                                                     \
        int64_t i = 0;                                                                                      \
        for (; i + 8 <= nb; i += 8) {                                                                       \
            const __m256 dy = h2f_x8(&y[i].d, sizeof *y);                                                   \
            const __m256 dd = _mm256_mul_ps(h2f_x8(&x[i].d, sizeof(xtype)), dy);                            \
            const __m256 md = _mm256_mul_ps(h2f_x8(&x[i].m, sizeof(xtype)), dy);                            \
            /* [d0 m0 d1 m1 | d4 m4 d5 m5], [d2 m2 d3 m3 | d6 m6 d7 m7] */                                  \
            const __m256 lo = _mm256_unpacklo_ps(dd, md), hi = _mm256_unpackhi_ps(dd, md);                  \
            for (int b = 0; b < 8; b += 2) {                                                                \
                const __m256 src = b & 2 ? hi : lo;                                                         \
                acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(src, idx[b]),                               \
                                       _mm256_cvtepi32_ps(aff_dot32(LEVELS(&x[i + b]), &y[i + b])), acc0);  \
                acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(src, idx[b + 1]),                           \
                                       _mm256_cvtepi32_ps(aff_dot32(LEVELS(&x[i + b + 1]), &y[i + b + 1])), \
                                       acc1);                                                               \
            }                                                                                               \
        }                                                                                                   \
        for (; i < nb; i++) {                                                                               \
            const float dy = h2f(y[i].d), d = h2f(x[i].d) * dy, m = h2f(x[i].m) * dy;                       \
            const __m256 sc = _mm256_setr_ps(d, d, m, m, d, d, m, m);                                       \
            acc0 = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(aff_dot32(LEVELS(&x[i]), &y[i])), acc0);          \
        }                                                                                                   \
        *s = hsum_ps(_mm256_add_ps(acc0, acc1));                                                            \
    }

AVX2 static inline __m256i q4_1_levels(const ingot_block_q4_1 *b) { return unpack_nibbles(b->qs); }
DOT32_AFF(q4_1_vec_dot, ingot_block_q4_1, q4_1_levels)

// ---- Q4_1 / Q5_0 / Q5_1 quantize ----------------------------------------------------------
// GGML's reference quantizers, the same float operations on 8 lanes.
// A block whose min or max is zero goes to the _ref quantizer: which of +0
// and −0 the scalar fminf / fmaxf scan keeps shows in the bytes (the sign
// of m or d), and only that scan reproduces it. Returns 0 for such a block.
AVX2 static inline int min_max32(const __m256 *v, float *mn, float *mx) {
    __m256 lo = v[0], hi = v[0];
    for (int k = 1; k < 4; k++) {
        lo = _mm256_min_ps(lo, v[k]);
        hi = _mm256_max_ps(hi, v[k]);
    }
    *mn = hmin_ps(lo);
    *mx = hmax_ps(hi);
    return *mn != 0.0f && *mx != 0.0f;
}

// q[32] = min(qmax, trunc(v · id + add)) (or of (v − sub) · id + add), as bytes.
AVX2 static inline __m256i trunc_levels32(const __m256 *v, float sub, int use_sub, float id, float add, int qmax) {
    const __m256 vsub = _mm256_set1_ps(sub), vid = _mm256_set1_ps(id), vadd = _mm256_set1_ps(add);
    const __m256i vmax = _mm256_set1_epi32(qmax);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        const __m256 t = use_sub ? _mm256_sub_ps(v[k], vsub) : v[k];
        q[k] = _mm256_min_epi32(vmax, _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(t, vid), vadd)));
    }
    return pack32_i8(q[0], q[1], q[2], q[3]);
}

// Low nibbles of bytes 0-15 | bytes 16-31 << 4; bit 4 of byte j to bit j of *qh.
AVX2 static inline void store_nibbles(__m256i b, uint8_t *qs, uint8_t *qh) {
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(_mm256_castsi256_si128(b), m4), hi = _mm_and_si128(_mm256_extracti128_si256(b, 1), m4);
    _mm_storeu_si128((__m128i *)qs, _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
    if (qh) {
        const uint32_t bits = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(b, 3));
        memcpy(qh, &bits, 4);
    }
}

AVX2 static inline void load32(const float *x, __m256 *v) {
    for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
}

AVX2 static void q4_1_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q4_1 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        load32(x, v);
        float mn, mx;
        if (!min_max32(v, &mn, &mx)) {
            ingot_q4_1_quantize_row_ref(x, &y[i], INGOT_QK, NULL);
            continue;
        }
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        y[i].m = ingot_f2h(mn);
        store_nibbles(trunc_levels32(v, mn, 1, id, 0.5f, 15), y[i].qs, NULL);
    }
}

AVX2 static void q5_1_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q5_1 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        load32(x, v);
        float mn, mx;
        if (!min_max32(v, &mn, &mx)) {
            ingot_q5_1_quantize_row_ref(x, &y[i], INGOT_QK, NULL);
            continue;
        }
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        y[i].m = ingot_f2h(mn);
        store_nibbles(trunc_levels32(v, mn, 1, id, 0.5f, 31), y[i].qs, y[i].qh);
    }
}

AVX2 static void q5_0_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q5_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        load32(x, v);
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) m = _mm256_max_ps(m, abs_ps(v[k]));
        const float amax = hmax_ps(m);
        float max = 0.0f;
        if (amax > 0.0f) { // the first value of largest magnitude, as the scalar scan picks
            const __m256 va = _mm256_set1_ps(amax);
            uint32_t bits = 0;
            for (int k = 0; k < 4; k++)
                bits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(v[k]), va, _CMP_EQ_OQ)) << (8 * k);
            max = x[__builtin_ctz(bits)];
        }
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        store_nibbles(trunc_levels32(v, 0.0f, 0, id, 16.5f, 31), y[i].qs, y[i].qh);
    }
}

// ---- IQ4_NL quantize ------------------------------------------------------------------------
// Nearest grid index of 8 values: the number of midpoints ≤ v, by a
// branch-free binary search (mid[7]; mid[3] / mid[11]; mid[1, 5, 9, 13];
// mid[0, 2, .., 14]). *hi8: lanes with index ≥ 8.
typedef struct iq4nl_tabs {
    __m256 mid3, mid7, mid11, mid_odd4, mid_even, grid_lo, grid_hi;
} iq4nl_tabs;

AVX2 static inline __m256i iq4nl_nearest8(__m256 v, const iq4nl_tabs *t, __m256 *hi8) {
    const __m256 ge8 = _mm256_cmp_ps(v, t->mid7, _CMP_GE_OQ);
    __m256i idx = _mm256_and_si256(_mm256_castps_si256(ge8), _mm256_set1_epi32(8));
    const __m256 t4 = _mm256_blendv_ps(t->mid3, t->mid11, ge8);
    idx = _mm256_add_epi32(idx, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, t4, _CMP_GE_OQ)), _mm256_set1_epi32(4)));
    const __m256 t2 = _mm256_permutevar8x32_ps(t->mid_odd4, _mm256_srli_epi32(idx, 2));
    idx = _mm256_add_epi32(idx, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, t2, _CMP_GE_OQ)), _mm256_set1_epi32(2)));
    const __m256 t1 = _mm256_permutevar8x32_ps(t->mid_even, _mm256_srli_epi32(idx, 1));
    idx = _mm256_sub_epi32(idx, _mm256_castps_si256(_mm256_cmp_ps(v, t1, _CMP_GE_OQ)));
    *hi8 = ge8;
    return idx;
}

// ingot_iq4_nl_quantize_row_ref's block quantizer on 8-lane vectors; the
// candidates' sums reduced eight at a time in ingot_sum32 order.
AVX2 static void iq4_nl_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    ingot_block_iq4_nl *y = vy;
    iq4nl_tabs t;
    const float *mid = ingot_iq4nl_mid;
    t.mid3 = _mm256_set1_ps(mid[3]);
    t.mid7 = _mm256_set1_ps(mid[7]);
    t.mid11 = _mm256_set1_ps(mid[11]);
    t.mid_odd4 = _mm256_setr_ps(mid[1], mid[5], mid[9], mid[13], 0, 0, 0, 0);
    t.mid_even = _mm256_setr_ps(mid[0], mid[2], mid[4], mid[6], mid[8], mid[10], mid[12], mid[14]);
    const __m128i g8 = _mm_loadu_si128((const __m128i *)ingot_iq4nl_values);
    t.grid_lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(g8));
    t.grid_hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(g8, 8)));
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const float *im = imatrix ? imatrix + i * INGOT_QK : NULL;
        __m256 v[4];
        load32(x, v);
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) m = _mm256_max_ps(m, abs_ps(v[k]));
        const float amax = hmax_ps(m);
        float max = 0.0f;
        if (amax > 0.0f) { // the first value of largest magnitude, as the scalar scan picks
            const __m256 va = _mm256_set1_ps(amax);
            uint32_t bits = 0;
            for (int k = 0; k < 4; k++)
                bits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(v[k]), va, _CMP_EQ_OQ)) << (8 * k);
            max = x[__builtin_ctz(bits)];
        }
        if (fabsf(max) < 1e-30f) {
            y[i].d = 0;
            memset(y[i].qs, 0x88, 16);
            continue;
        }
        __m256 sq[4], w[4], wx[4];
        for (int k = 0; k < 4; k++) sq[k] = _mm256_mul_ps(v[k], v[k]);
        const float s2 = sum32(sq[0], sq[1], sq[2], sq[3]) / INGOT_QK;
        const __m256 vs2 = _mm256_set1_ps(s2), vs = _mm256_set1_ps(sqrtf(s2));
        for (int k = 0; k < 4; k++) {
            w[k] = im ? _mm256_mul_ps(_mm256_loadu_ps(im + 8 * k), _mm256_sqrt_ps(_mm256_add_ps(vs2, sq[k])))
                      : _mm256_add_ps(vs, abs_ps(v[k]));
            wx[k] = _mm256_mul_ps(w[k], v[k]);
        }
        float rx[16], r2[16];
        for (int c0 = 0; c0 < 15; c0 += 8) {
            __m256 cx[8], c2[8];
            for (int u = 0; u < 8; u++) {
                const int itry = c0 + u < 15 ? c0 + u - 7 : 7;
                const __m256 vid = _mm256_set1_ps((-127.0f + (float)itry) / max);
                __m256 px[4], p2[4];
                for (int k = 0; k < 4; k++) {
                    __m256 hi8;
                    const __m256i idx = iq4nl_nearest8(_mm256_mul_ps(v[k], vid), &t, &hi8);
                    const __m256 g = _mm256_blendv_ps(_mm256_permutevar8x32_ps(t.grid_lo, idx),
                                                      _mm256_permutevar8x32_ps(t.grid_hi, idx), hi8);
                    px[k] = _mm256_mul_ps(wx[k], g);
                    p2[k] = _mm256_mul_ps(_mm256_mul_ps(w[k], g), g);
                }
                cx[u] = _mm256_add_ps(_mm256_add_ps(px[0], px[2]), _mm256_add_ps(px[1], px[3]));
                c2[u] = _mm256_add_ps(_mm256_add_ps(p2[0], p2[2]), _mm256_add_ps(p2[1], p2[3]));
            }
            _mm256_storeu_ps(rx + c0, hsum8x8(cx));
            _mm256_storeu_ps(r2 + c0, hsum8x8(c2));
        }
        float d = max / -127.0f, best = -1.0f;
        for (int c = 0; c < 15; c++) {
            const float sqx = rx[c], sq2 = r2[c];
            if (sq2 > 0 && sqx * sqx > best * sq2) {
                best = sqx * sqx / sq2;
                d = sqx / sq2;
            }
        }
        y[i].d = ingot_f2h(d);
        const float dr = ingot_h2f(y[i].d);
        const __m256 vid = _mm256_set1_ps(dr != 0.0f ? 1.0f / dr : 0.0f);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 hi8;
            q[k] = iq4nl_nearest8(_mm256_mul_ps(v[k], vid), &t, &hi8);
        }
        store_nibbles(pack32_i8(q[0], q[1], q[2], q[3]), y[i].qs, NULL);
    }
}

// ---- Q8_K (activations) --------------------------------------------------------------
AVX2 static void q8_k_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q8_k *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++, x += INGOT_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + 8 * k)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = 127.0f / amax;
        const __m256 vis = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
        for (int b = 0; b < 8; b++) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                const __m256 t = round_even(_mm256_mul_ps(vis, _mm256_loadu_ps(x + 32 * b + 8 * k)));
                q[k] = _mm256_max_epi32(nlim, _mm256_min_epi32(lim, _mm256_cvtps_epi32(t)));
            }
            y[i].bsums[2 * b] = (int16_t)hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[i].bsums[2 * b + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 32 * b), pack32_i8(q[0], q[1], q[2], q[3]));
        }
        y[i].d = 1.0f / iscale;
    }
}

AVX2 static void q8_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q8_k *x = vx, *y = vy;
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        for (int k = 0; k < 8; k += 2) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * k));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * k + 32));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 32 * k));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 32 * k + 32));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x0, x0),
                                                                             _mm256_sign_epi8(y0, x0)), ones16));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x1, x1),
                                                                             _mm256_sign_epi8(y1, x1)), ones16));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(x[i].d * y[i].d), _mm256_cvtepi32_ps(_mm256_add_epi32(a0, a1)), acc);
    }
    *s = hsum_ps(acc);
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------------
AVX2 static void kquant_weights(const float *x, const float *im, float *w) {
    float s2 = 0.0f;
    for (int b = 0; b < INGOT_QK_K; b += 32) {
        __m256 p[4];
        for (int k = 0; k < 4; k++) {
            const __m256 v = _mm256_loadu_ps(x + b + 8 * k);
            p[k] = _mm256_mul_ps(v, v);
        }
        s2 += sum32(p[0], p[1], p[2], p[3]);
    }
    s2 /= INGOT_QK_K;
    const __m256 vs2 = _mm256_set1_ps(s2), vs = _mm256_set1_ps(sqrtf(s2));
    for (int j = 0; j < INGOT_QK_K; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        const __m256 r = im ? _mm256_mul_ps(_mm256_loadu_ps(im + j),
                                            _mm256_sqrt_ps(_mm256_add_ps(vs2, _mm256_mul_ps(v, v))))
                            : _mm256_add_ps(vs, abs_ps(v));
        _mm256_storeu_ps(w + j, r);
    }
}

// ingot_affine_fit for 4 candidates at once: the same double operations in
// the same order; a candidate without a fit gets error +inf.
AVX2 static void affine_fit4(double sw, double swx, double swx2, const double *sl_, const double *sl2_,
                             const double *slx_, double *s_out, double *m_out, double *err_out) {
    const __m256d vsw = _mm256_set1_pd(sw), vswx = _mm256_set1_pd(swx), vswx2 = _mm256_set1_pd(swx2);
    const __m256d sl = _mm256_loadu_pd(sl_), sl2 = _mm256_loadu_pd(sl2_), slx = _mm256_loadu_pd(slx_);
    const __m256d zero = _mm256_setzero_pd(), two = _mm256_set1_pd(2.0);
    const __m256d det = _mm256_sub_pd(_mm256_mul_pd(vsw, sl2), _mm256_mul_pd(sl, sl));
    const __m256d pos = _mm256_cmp_pd(det, zero, _CMP_GT_OQ);
    const __m256d s1 = _mm256_div_pd(_mm256_sub_pd(_mm256_mul_pd(vsw, slx), _mm256_mul_pd(vswx, sl)), det);
    const __m256d m1 = _mm256_div_pd(_mm256_sub_pd(_mm256_mul_pd(sl2, vswx), _mm256_mul_pd(sl, slx)), det);
    const __m256d keep = _mm256_andnot_pd(_mm256_cmp_pd(m1, zero, _CMP_GT_OQ), pos);
    const __m256d valid = _mm256_or_pd(pos, _mm256_cmp_pd(sl2, zero, _CMP_GT_OQ));
    const __m256d s = _mm256_blendv_pd(_mm256_div_pd(slx, sl2), s1, keep);
    const __m256d m = _mm256_blendv_pd(zero, m1, keep);
    const __m256d s2 = _mm256_mul_pd(two, s), m2 = _mm256_mul_pd(two, m);
    __m256d err = _mm256_add_pd(vswx2, _mm256_mul_pd(_mm256_mul_pd(s, s), sl2));
    err = _mm256_add_pd(err, _mm256_mul_pd(_mm256_mul_pd(m, m), vsw));
    err = _mm256_add_pd(err, _mm256_mul_pd(_mm256_mul_pd(s2, m), sl));
    err = _mm256_sub_pd(err, _mm256_mul_pd(s2, slx));
    err = _mm256_sub_pd(err, _mm256_mul_pd(m2, vswx));
    _mm256_storeu_pd(s_out, s);
    _mm256_storeu_pd(m_out, m);
    _mm256_storeu_pd(err_out, _mm256_blendv_pd(_mm256_set1_pd(INFINITY), err, valid));
}

// Two passes, as the AVX-512 twin: sums of every candidate, then the fits
// four at a time without data-dependent branches; the winner's levels are
// recomputed at the end.
AVX2 static float affine_search32(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                  float rmin, float rdelta) {
    enum { MAX_CAND = INGOT_AFFINE_MAX_CAND };
    __m256 vx[4], vw[4], mn = _mm256_loadu_ps(x), mx = mn;
    for (int k = 0; k < 4; k++) {
        vx[k] = _mm256_loadu_ps(x + 8 * k);
        vw[k] = _mm256_loadu_ps(w + 8 * k);
        mn = _mm256_min_ps(mn, vx[k]);
        mx = _mm256_max_ps(mx, vx[k]);
    }
    float lo = hmin_ps(mn);
    const float hi = hmax_ps(mx);
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo) || nstep + 2 > MAX_CAND) {
        if (hi > lo) return ingot_affine_search32_ref(nmax, x, w, L, m_out, nstep, rmin, rdelta);
        memset(L, 0, 32);
        *m_out = -lo;
        return 0.0f;
    }
    __m256 pwx[4], pwx2[4];
    for (int k = 0; k < 4; k++) {
        pwx[k] = _mm256_mul_ps(vw[k], vx[k]);
        pwx2[k] = _mm256_mul_ps(pwx[k], vx[k]);
    }
    const double sw = sum32(vw[0], vw[1], vw[2], vw[3]), swx = sum32(pwx[0], pwx[1], pwx[2], pwx[3]),
                 swx2 = sum32(pwx2[0], pwx2[1], pwx2[2], pwx2[3]);
    const __m256 vlo = _mm256_set1_ps(lo), vmax = _mm256_set1_ps((float)nmax), zero = _mm256_setzero_ps();
    __m256 d[4];
    for (int k = 0; k < 4; k++) d[k] = _mm256_sub_ps(vx[k], vlo);
    float iscale[MAX_CAND];
    const int n_cand = ingot_affine_iscales(nmax, nstep, rmin, rdelta, hi - lo, iscale);
    double sl[MAX_CAND], sl2[MAX_CAND], slx[MAX_CAND];
    for (int c = n_cand; c < (n_cand + 7) / 8 * 8; c++) sl[c] = sl2[c] = slx[c] = 0; // padding: no fit
    // Eight candidates at a time: per candidate the sums' vertical steps
    // (lanes l + l+16, then l + l+8), then one transposed tail for all eight.
    for (int c0 = 0; c0 < n_cand; c0 += 8) {
        __m256 ca[8], cb[8], ce[8];
        for (int u = 0; u < 8; u++) {
            const int c = c0 + u < n_cand ? c0 + u : n_cand - 1;
            const __m256 vis = _mm256_set1_ps(iscale[c]);
            __m256 a[4], b[4], e[4];
            for (int k = 0; k < 4; k++) {
                const __m256 l = _mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d[k]))));
                a[k] = _mm256_mul_ps(vw[k], l);
                b[k] = _mm256_mul_ps(a[k], l);
                e[k] = _mm256_mul_ps(a[k], vx[k]);
            }
            ca[u] = _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[1], a[3]));
            cb[u] = _mm256_add_ps(_mm256_add_ps(b[0], b[2]), _mm256_add_ps(b[1], b[3]));
            ce[u] = _mm256_add_ps(_mm256_add_ps(e[0], e[2]), _mm256_add_ps(e[1], e[3]));
        }
        ingot_affine_store8(hsum8x8(ca), hsum8x8(cb), hsum8x8(ce), c0, n_cand, sl, sl2, slx);
    }
    double s[MAX_CAND], m[MAX_CAND], err[MAX_CAND];
    for (int c = 0; c < n_cand; c += 4) affine_fit4(sw, swx, swx2, sl + c, sl2 + c, slx + c, s + c, m + c, err + c);
    const int best = ingot_affine_best(err, n_cand);
    if (best < 0) {
        memset(L, 0, 32);
        *m_out = -lo;
        return 0.0f;
    }
    const __m256 vis = _mm256_set1_ps(iscale[best]);
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d[k])))));
    _mm256_storeu_si256((__m256i *)L, pack32_i8(q[0], q[1], q[2], q[3]));
    *m_out = -(float)m[best];
    return (float)s[best];
}

AVX2 static void k45_levels32(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    if (dl == 0.0f) {
        memset(L, 0, 32);
        return;
    }
    const __m256 vdl = _mm256_set1_ps(dl), vdm = _mm256_set1_ps(dm);
    const __m256 vmax = _mm256_set1_ps((float)nmax), zero = _mm256_setzero_ps();
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        const __m256 t = round_even(_mm256_div_ps(_mm256_add_ps(_mm256_loadu_ps(x + 8 * k), vdm), vdl));
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(vmax, _mm256_max_ps(zero, t)));
    }
    _mm256_storeu_si256((__m256i *)L, pack32_i8(q[0], q[1], q[2], q[3]));
}

AVX2 static float k45_error32(int nmax, const float *x, const float *w, float dl, float dm) {
    const __m256 vdl = _mm256_set1_ps(dl), vdm = _mm256_set1_ps(dm);
    const __m256 vmax = _mm256_set1_ps((float)nmax), zero = _mm256_setzero_ps();
    __m256 e[4];
    for (int k = 0; k < 4; k++) {
        const __m256 vx = _mm256_loadu_ps(x + 8 * k);
        const __m256 q = dl != 0.0f ? _mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_div_ps(
                                                                   _mm256_add_ps(vx, vdm), vdl))))
                                    : zero;
        const __m256 diff = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(vdl, q), vdm), vx);
        e[k] = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(w + 8 * k), diff), diff);
    }
    return sum32(e[0], e[1], e[2], e[3]);
}

static const ingot_k45_kernels k_k45_avx2 = {kquant_weights, affine_search32, k45_levels32, k45_error32};

AVX2 static void q4_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q4_k_quantize_row_with(x, y, n, imatrix, &k_k45_avx2);
}
AVX2 static void q5_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q5_k_quantize_row_with(x, y, n, imatrix, &k_k45_avx2);
}

AVX2 static void q4_k_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q4_k *x = vx;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int j = 0; j < 8; j++, y += 32) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            const __m256 dl = _mm256_set1_ps(d * (float)sc), ml = _mm256_set1_ps(dmin * (float)m);
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * (j / 2)));
            q = _mm256_and_si256(j & 1 ? _mm256_srli_epi16(q, 4) : q, m4);
            for (int k = 0; k < 4; k++) {
                const __m128i part = k < 2 ? _mm256_castsi256_si128(q) : _mm256_extracti128_si256(q, 1);
                const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(k & 1 ? _mm_srli_si128(part, 8) : part));
                _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(dl, v), ml));
            }
        }
    }
}

// Byte-shuffle masks over int16 lanes of a 128-bit half: k_bcast16[k]
// broadcasts lane k over both halves' lanes; k_pair16[j] puts lane 2j in
// the low half and lane 2j + 1 in the high half. Tables rather than masks
// built in the loops, which the compiler does not unroll.
#define B16(a) a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1
static const uint8_t k_bcast16[8][32] = {{B16(0), B16(0)},   {B16(2), B16(2)},   {B16(4), B16(4)},
                                         {B16(6), B16(6)},   {B16(8), B16(8)},   {B16(10), B16(10)},
                                         {B16(12), B16(12)}, {B16(14), B16(14)}};
static const uint8_t k_pair16[4][32] = {{B16(0), B16(2)}, {B16(4), B16(6)}, {B16(8), B16(10)}, {B16(12), B16(14)}};
#undef B16
// Per-lane int16 scales for the 32 values of sub-blocks j and j + 1: with
// the 8 int16 scales in both 128-bit lanes of v, lanes 0-7 take scale j and
// lanes 8-15 scale j + 1 (j even, 0..6).
AVX2 static inline __m256i scale_pair(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_loadu_si256((const __m256i *)k_pair16[j / 2]));
}
// int16 lane k (0..7) of each 128-bit half, broadcast over that half.
AVX2 static inline __m256i word_bcast(__m256i v, int k) {
    return _mm256_shuffle_epi8(v, _mm256_loadu_si256((const __m256i *)k_bcast16[k]));
}

// Q4_K / Q5_K dots: per super-block the eight 6-bit scales and mins are
// unpacked once into int16 lanes (ingot_k4_words), the mins meet the
// activation's pair sums of bsums in one madd, each 32-value sub-block's
// products are weighted by its scale broadcast with a byte shuffle, and the
// float sums stay in vectors until the row ends (one horizontal sum per row).
// Scales (both 128-bit halves, int16 lanes 0-7) and Σ_j min_j · (bsums[2j] + bsums[2j+1]).
AVX2 static inline __m256i k4_scales(const uint8_t *scales, const int16_t *bsums, __m128i *mins_dot) {
    uint32_t w[4];
    ingot_k4_words(scales, w);
    const __m128i sm = _mm_loadu_si128((const __m128i *)w); // bytes 0-7 scales, 8-15 mins
    const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
    const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums),
                                         _mm_loadu_si128((const __m128i *)(bsums + 8)));
    *mins_dot = _mm_madd_epi16(mins, pairs);
    const __m128i sc = _mm_cvtepu8_epi16(sm);
    return _mm256_set_m128i(sc, sc);
}

AVX2 static void q4_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q4_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        __m128i mins_dot;
        const __m256i sc = k4_scales(x[i].scales, y[i].bsums, &mins_dot);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), y0);
            const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), y1);
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, word_bcast(sc, 2 * j)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, word_bcast(sc, 2 * j + 1)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(y[i].d * h2f(x[i].dmin)), _mm_cvtepi32_ps(mins_dot), accm);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum_ps(acc) - _mm_cvtss_f32(accm);
}

AVX2 static void q5_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q5_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        __m128i mins_dot;
        const __m256i sc = k4_scales(x[i].scales, y[i].bsums, &mins_dot);
        __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            // bit 2j of qh is bit 4 of the low-nibble level, bit 2j+1 of the high-nibble one
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                               _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
            hb = _mm256_srli_epi16(hb, 2);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q0, y0), word_bcast(sc, 2 * j)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q1, y1), word_bcast(sc, 2 * j + 1)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(y[i].d * h2f(x[i].dmin)), _mm_cvtepi32_ps(mins_dot), accm);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum_ps(acc) - _mm_cvtss_f32(accm);
}

// ---- Q6_K ----------------------------------------------------------------------------
// Levels (0..63, not yet minus 32) of the 32 values 128h + 32k + (0..31).
AVX2 static inline __m256i q6_k_levels(const ingot_block_q6_k *b, int h, int k) {
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (k & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
    const __m256i lo = _mm256_and_si256(k >> 1 ? _mm256_srli_epi16(ql, 4) : ql, _mm256_set1_epi8(0x0F));
    const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
}

// Q6_K: the 16 int8 scales widened once per super-block; Σ scale·bsums
// (the −32 offset of the levels) in one madd; per 128 values one load of
// each of the two ql rows and of qh, the four planes cut with immediate
// shifts; sums kept in float vectors until the row ends.
#define Q6_PLANE(lo, qh_bits, k)                                                                               \
    sumi = _mm256_add_epi32(                                                                                  \
        sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_or_si256(lo, qh_bits),                           \
                                                     _mm256_loadu_si256((const __m256i *)(qy + 32 * (k)))), \
                                scale_pair(half, 2 * (k))))
AVX2 static void q6_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q6_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps(), acco = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i offs = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i half = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                                   : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            const int8_t *qy = y[i].qs + 128 * h;
            // value 32k + l: low 4 bits from ql row k & 1 (k < 2: low nibble), bits 4-5 from qh bits 2k, 2k+1
            Q6_PLANE(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30), 0);
            Q6_PLANE(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30), 1);
            Q6_PLANE(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30), 2);
            Q6_PLANE(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30), 3);
        }
        const __m256 d = _mm256_set1_ps(y[i].d * h2f(x[i].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
        acco = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(offs), acco);
    }
    *s = hsum_ps(acc) - 32.0f * hsum_ps(acco);
}
#undef Q6_PLANE

AVX2 static void q6_k_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q6_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = h2f(x[i].d);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++, y += 32) {
                const __m256i q = _mm256_sub_epi8(q6_k_levels(&x[i], h, k), _mm256_set1_epi8(32));
                for (int half = 0; half < 2; half++) {
                    const __m256 dl = _mm256_set1_ps(d * (float)x[i].scales[8 * h + 2 * k + half]);
                    const __m128i part = half ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
                    const __m256 v0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part));
                    const __m256 v1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(part, 8)));
                    _mm256_storeu_ps(y + 16 * half, _mm256_mul_ps(dl, v0));
                    _mm256_storeu_ps(y + 16 * half + 8, _mm256_mul_ps(dl, v1));
                }
            }
    }
}

// ---- Q5_0 / Q5_1 -----------------------------------------------------------------------
// Byte j = 0xFF where bit j of b is set.
AVX2 static inline __m256i bits_to_bytes(const uint8_t *qh) {
    uint32_t b;
    memcpy(&b, qh, 4);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)b),
                                    _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// 5-bit levels 0..31 of a q5_0 / q5_1 block.
AVX2 static inline __m256i q5_levels(const uint8_t *qs, const uint8_t *qh) {
    return _mm256_or_si256(unpack_nibbles(qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

AVX2 static inline __m256i q5_0_dot32(const ingot_block_q5_0 *x, const ingot_block_q8_0 *y) {
    return dot_i8(_mm256_sub_epi8(q5_levels(x->qs, x->qh), _mm256_set1_epi8(16)), qy_of(y));
}
DOT32_SYM(q5_0_vec_dot, ingot_block_q5_0, q5_0_dot32)
AVX2 static inline __m256i q5_1_levels(const ingot_block_q5_1 *b) { return q5_levels(b->qs, b->qh); }
DOT32_AFF(q5_1_vec_dot, ingot_block_q5_1, q5_1_levels)

// 32 unsigned bytes to 32 floats: y = a * q + b (b = 0: plain product).
AVX2 static inline void store_affine32(float *y, __m256i q, __m256 a, __m256 b, int with_b) {
    for (int k = 0; k < 4; k++) {
        const __m128i part = k < 2 ? _mm256_castsi256_si128(q) : _mm256_extracti128_si256(q, 1);
        const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(k & 1 ? _mm_srli_si128(part, 8) : part));
        const __m256 p = _mm256_mul_ps(a, v);
        _mm256_storeu_ps(y + 8 * k, with_b ? _mm256_add_ps(p, b) : p);
    }
}

AVX2 static void q5_0_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK)
        store_affine32(y, _mm256_sub_epi8(q5_levels(x[i].qs, x[i].qh), _mm256_set1_epi8(16)),
                       _mm256_set1_ps(h2f(x[i].d)), _mm256_setzero_ps(), 0);
}
AVX2 static void q5_1_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK)
        store_affine32(y, q5_levels(x[i].qs, x[i].qh), _mm256_set1_ps(h2f(x[i].d)), _mm256_set1_ps(h2f(x[i].m)), 1);
}
AVX2 static void q4_1_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK)
        store_affine32(y, unpack_nibbles(x[i].qs), _mm256_set1_ps(h2f(x[i].d)), _mm256_set1_ps(h2f(x[i].m)), 1);
}
AVX2 static void iq4_nl_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_iq4_nl *x = vx;
    const __m128i t = _mm_loadu_si128((const __m128i *)ingot_iq4nl_values);
    const __m256i table = _mm256_set_m128i(t, t);
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK)
        store_affine32(y, _mm256_shuffle_epi8(table, unpack_nibbles(x[i].qs)), _mm256_set1_ps(h2f(x[i].d)),
                       _mm256_setzero_ps(), 0);
}

// ---- Q2_K / Q3_K -----------------------------------------------------------------------
// Levels 0..3 of the 32 values 128n + 32k + (0..31) (2-bit planes).
AVX2 static inline __m256i plane2(const uint8_t *qs, int n, int k) {
    const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * n));
    return _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
}
// Q3_K unsigned levels 0..7 (value + 4) of the same 32 values.
AVX2 static inline __m256i q3_k_levels(const ingot_block_q3_k *b, int n, int k) {
    const __m256i hb = _mm256_loadu_si256((const __m256i *)b->hmask);
    const __m256i h = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(4 * n + k)), _mm256_set1_epi8(1));
    return _mm256_or_si256(plane2(b->qs, n, k), _mm256_slli_epi16(h, 2));
}

// Σ over 128 values (2-bit planes of one 32-byte qs row, levels + extra
// bits already merged by `lv`) of level · q8 · scale, int32 lanes.
#define Q23_PLANE(acc, lv, scv, qy, k)                                                                     \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(lv, _mm256_loadu_si256(             \
                                                                           (const __m256i *)((qy) + 32 * (k)))), \
                                                  scale_pair(scv, 2 * (k))))

AVX2 static void q2_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q2_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        // Mins: Σ m_j bsums[j] as one madd.
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), m4));
        const __m256i summ = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, m4));
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i scv = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                                  : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            const int8_t *qy = y[i].qs + 128 * h;
            Q23_PLANE(sumi, _mm256_and_si256(q, m3), scv, qy, 0);
            Q23_PLANE(sumi, _mm256_and_si256(_mm256_srli_epi16(q, 2), m3), scv, qy, 1);
            Q23_PLANE(sumi, _mm256_and_si256(_mm256_srli_epi16(q, 4), m3), scv, qy, 2);
            Q23_PLANE(sumi, _mm256_and_si256(_mm256_srli_epi16(q, 6), m3), scv, qy, 3);
        }
        const float dy = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        acc = _mm256_fnmadd_ps(_mm256_set1_ps(dy * h2f(x[i].dmin)), _mm256_cvtepi32_ps(summ), acc);
    }
    *s = hsum_ps(acc);
}

// ingot_q3_k_unpack in one register (16 int8 scales).
AVX2 static inline __m128i q3_k_scales(const uint8_t *s) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    const __m128i lo = _mm_and_si128(_mm_setr_epi32((int)a, (int)b, (int)(a >> 4), (int)(b >> 4)), _mm_set1_epi8(0x0F));
    const __m128i hi = _mm_and_si128(_mm_setr_epi32((int)c, (int)(c >> 2), (int)(c >> 4), (int)(c >> 6)), _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

AVX2 static void q3_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q3_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(q3_k_scales(x[i].scales));
        // Levels are stored + 4: Σ (l − 4) q sc = Σ l q sc − 4 Σ sc bsums.
        const __m256i offs = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i scv = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                                  : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            // High bit of plane k: bit 4h + k of hmask, moved to bit 2.
            const __m256i hh = h ? _mm256_srli_epi16(hb, 2) : _mm256_slli_epi16(hb, 2);
            const int8_t *qy = y[i].qs + 128 * h;
            Q23_PLANE(sumi, _mm256_or_si256(_mm256_and_si256(q, m3), _mm256_and_si256(hh, m4)), scv, qy, 0);
            Q23_PLANE(sumi,
                      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2), m3),
                                      _mm256_and_si256(_mm256_srli_epi16(hh, 1), m4)),
                      scv, qy, 1);
            Q23_PLANE(sumi,
                      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m3),
                                      _mm256_and_si256(_mm256_srli_epi16(hh, 2), m4)),
                      scv, qy, 2);
            Q23_PLANE(sumi,
                      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 6), m3),
                                      _mm256_and_si256(_mm256_srli_epi16(hh, 3), m4)),
                      scv, qy, 3);
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offs, 2));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

// Stores 32 values whose first and second 16 use (a0, b0) and (a1, b1).
AVX2 static inline void store_two16(float *y, __m256i q, float a0, float b0, float a1, float b1, int with_b) {
    for (int half = 0; half < 2; half++) {
        const __m256 a = _mm256_set1_ps(half ? a1 : a0), b = _mm256_set1_ps(half ? b1 : b0);
        const __m128i part = half ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
        const __m256 v0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part));
        const __m256 v1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(part, 8)));
        __m256 p0 = _mm256_mul_ps(a, v0), p1 = _mm256_mul_ps(a, v1);
        if (with_b) {
            p0 = _mm256_sub_ps(p0, b);
            p1 = _mm256_sub_ps(p1, b);
        }
        _mm256_storeu_ps(y + 16 * half, p0);
        _mm256_storeu_ps(y + 16 * half + 8, p1);
    }
}

AVX2 static void q2_k_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q2_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++, y += 32) {
                const uint8_t s0 = x[i].scales[8 * h + 2 * k], s1 = x[i].scales[8 * h + 2 * k + 1];
                store_two16(y, plane2(x[i].qs, h, k), d * (float)(s0 & 0xF), dmin * (float)(s0 >> 4),
                            d * (float)(s1 & 0xF), dmin * (float)(s1 >> 4), 1);
            }
    }
}

AVX2 static void q3_k_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q3_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = h2f(x[i].d);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++, y += 32) {
                const int sb = 8 * h + 2 * k;
                const __m256i q = _mm256_sub_epi8(q3_k_levels(&x[i], h, k), _mm256_set1_epi8(4));
                store_two16(y, q, d * (float)ingot_q3_k_scale(x[i].scales, sb), 0.0f,
                            d * (float)ingot_q3_k_scale(x[i].scales, sb + 1), 0.0f, 0);
            }
    }
}

AVX2 static void q5_k_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_q5_k *x = vx;
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        const __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        for (int j = 0; j < 8; j++, y += 32) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * (j / 2)));
            q = _mm256_and_si256(j & 1 ? _mm256_srli_epi16(q, 4) : q, m4);
            const __m256i h = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(j)), one);
            q = _mm256_or_si256(q, _mm256_slli_epi16(h, 4));
            const float dl = d * (float)sc, ml = dmin * (float)m;
            store_two16(y, q, dl, ml, dl, ml, 1);
        }
    }
}

// ---- f8_e4m3_r32 -------------------------------------------------------------------------
AVX2 static inline __m256 e4m3x8(const uint8_t *q) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)q));
    return _mm256_i32gather_ps(ingot_e4m3_lut, idx, 4);
}

AVX2 static void f8_r32_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_f8_r32 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const __m256 d = _mm256_set1_ps(ingot_e8m0_to_f32(x[i].e));
        for (int k = 0; k < 4; k++) _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(e4m3x8(x[i].qs + 8 * k), d));
    }
}

// E4M3 bytes placed in the high byte of 16-bit lanes (v << 8) to f16 bit
// patterns of value / 256: an arithmetic shift by one puts exponent and
// mantissa 7 bits above their E4M3 places and keeps the sign in bit 15;
// bit 14 (a copy of the sign) is cleared. Exact for every finite E4M3
// value (subnormals included: both formats' subnormal steps differ by the
// same 2^8); 0x7f / 0xff (NaN) are caught by the caller.
AVX2 static inline __m256i e4m3_hi_to_f16_div256(__m256i w) {
    return _mm256_and_si256(_mm256_srai_epi16(w, 1), _mm256_set1_epi16((short)0xbf80));
}

// ingot_e8m0_to_f32, inline.
static inline float e8m0(uint8_t e) {
    const uint32_t bits = e == 0xff ? 0x7fc00000u : e ? (uint32_t)e << 23 : 0x00400000u;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

AVX2 static void f8_r32_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_f8_r32 *x = vx;
    const float *y = vy;
    const __m256i m7f = _mm256_set1_epi8(0x7f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs);
        __m256 b;
        if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(q, m7f), m7f)) == 0) {
            const __m256i qp = _mm256_permute4x64_epi64(q, 0xd8); // bytes 0-7, 16-23 | 8-15, 24-31
            const __m256i h0 = e4m3_hi_to_f16_div256(_mm256_unpacklo_epi8(_mm256_setzero_si256(), qp));
            const __m256i h1 = e4m3_hi_to_f16_div256(_mm256_unpackhi_epi8(_mm256_setzero_si256(), qp));
            b = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h0)), _mm256_loadu_ps(y));
            b = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h0, 1)), _mm256_loadu_ps(y + 8), b);
            b = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h1)), _mm256_loadu_ps(y + 16), b);
            b = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h1, 1)), _mm256_loadu_ps(y + 24), b);
            b = _mm256_mul_ps(b, _mm256_set1_ps(256.0f));
        } else { // a NaN code: the table gives NaN as the reference does
            b = _mm256_mul_ps(e4m3x8(x[i].qs), _mm256_loadu_ps(y));
            for (int k = 1; k < 4; k++) b = _mm256_fmadd_ps(e4m3x8(x[i].qs + 8 * k), _mm256_loadu_ps(y + 8 * k), b);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(e8m0(x[i].e)), b, acc);
    }
    *s = hsum_ps(acc);
}

// ingot_f32_to_e4m3 on 8 lanes (int32 results 0..255): saturation at 464,
// the 2^-9 grid below 2^-6 (nearest even), mantissa rounded to 3 bits to
// nearest even above it, NaN to 0x7f, sign on top.
AVX2 static inline __m256i e4m3_encode8(__m256 f) {
    const __m256i bits = _mm256_castps_si256(f);
    const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(bits, 24), _mm256_set1_epi32(0x80));
    const __m256 a = abs_ps(f);
    const __m256i ax = _mm256_castps_si256(a);
    const __m256i sub = _mm256_cvtps_epi32(round_even(_mm256_mul_ps(a, _mm256_set1_ps(0x1p9f))));
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(ax, _mm256_set1_epi32(0x7ffff)),
                                       _mm256_and_si256(_mm256_srli_epi32(ax, 20), _mm256_set1_epi32(1)));
    const __m256i nrm = _mm256_min_epi32(_mm256_sub_epi32(_mm256_srli_epi32(t, 20), _mm256_set1_epi32(120 << 3)),
                                         _mm256_set1_epi32(0x7e));
    __m256i r = _mm256_blendv_epi8(nrm, sub, _mm256_castps_si256(_mm256_cmp_ps(a, _mm256_set1_ps(0x1p-6f), _CMP_LT_OQ)));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7e), _mm256_castps_si256(_mm256_cmp_ps(a, _mm256_set1_ps(464.0f), _CMP_GE_OQ)));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7f), _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q)));
    return _mm256_or_si256(r, sign);
}

AVX2 static void f8_r32_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_f8_r32 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        __m256 v[4];
        load32(x, v);
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) m = _mm256_max_ps(m, abs_ps(v[k]));
        const float amax = hmax_ps(m);
        y[i].e = amax > 0.0f ? ingot_f32_to_e8m0_ceil(amax / 448.0f) : 127;
        const __m256 inv = _mm256_set1_ps(1.0f / e8m0(y[i].e));
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = e4m3_encode8(_mm256_mul_ps(v[k], inv));
        const __m256i w16 = _mm256_packs_epi32(q[0], q[1]), w16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w16, w16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[i].qs, b);
    }
}

// ---- F16 / BF16 encode -------------------------------------------------------------------
// vcvtps2ph with round-to-nearest-even matches ingot_f32_to_f16 for every
// input, subnormals and overflow to inf included.
AVX2 static void f16_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) {
        const uint16_t h = ingot_f32_to_f16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

// The integer rounding of ingot_f32_to_bf16, eight lanes at a time.
AVX2 static void bf16_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    uint8_t *y = vy;
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int k = 0; k < 2; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x + i + 8 * k));
            const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
            const __m256i rounded = _mm256_srli_epi32(
                _mm256_add_epi32(_mm256_add_epi32(v, bias), _mm256_and_si256(_mm256_srli_epi32(v, 16), one)), 16);
            const __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(v, 16), quiet);
            r[k] = _mm256_blendv_epi8(rounded, qnan, nan);
        }
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + 2 * i), packed);
    }
    for (; i < n; i++) {
        const uint16_t h = ingot_f32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

// ---- Q3_K / Q6_K quantize ----------------------------------------------------------------
// ingot_sum16 order for p = [v0 | v1].
AVX2 static inline float sum16(__m256 v0, __m256 v1) {
    const __m256 c = _mm256_add_ps(v0, v1);
    __m128 e = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
    e = _mm_add_ps(e, _mm_movehl_ps(e, e));
    e = _mm_add_ss(e, _mm_movehdup_ps(e));
    return _mm_cvtss_f32(e);
}

AVX2 static float sym_fit16(int nmax, const float *x, const float *w) {
    const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
    const float amax = hmax_ps(_mm256_max_ps(abs_ps(x0), abs_ps(x1)));
    float max = 0.0f;
    if (amax > 0.0f) { // the first value of largest magnitude, as the scalar scan picks
        const __m256 va = _mm256_set1_ps(amax);
        const uint32_t bits = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(x0), va, _CMP_EQ_OQ)) |
                              ((uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(x1), va, _CMP_EQ_OQ)) << 8);
        max = x[__builtin_ctz(bits)];
    }
    if (fabsf(max) < 1e-30f) return 0.0f;
    const __m256 lo = _mm256_set1_ps((float)-nmax), hi = _mm256_set1_ps((float)(nmax - 1));
    // Sums of 8 candidates at a time (vertical step, then one transposed
    // tail), the choice in candidate order as the reference makes it.
    float rx[24], r2[24];
    // The 19 inverse scales −(nmax + 0.1·is) / max, is = −9..9 (padded with
    // is = 9), divided eight at a time: the same IEEE quotients.
    float num[24], isc[24];
    for (int c = 0; c < 24; c++) num[c] = -((float)nmax + 0.1f * (float)(c < 19 ? c - 9 : 9));
    for (int c = 0; c < 24; c += 8)
        _mm256_storeu_ps(isc + c, _mm256_div_ps(_mm256_loadu_ps(num + c), _mm256_set1_ps(max)));
    for (int c0 = 0; c0 < 19; c0 += 8) {
        __m256 cx[8], c2[8];
        for (int u = 0; u < 8; u++) {
            const __m256 vis = _mm256_set1_ps(isc[c0 + u]);
            const __m256 l0 = _mm256_min_ps(hi, _mm256_max_ps(lo, round_even(_mm256_mul_ps(vis, x0))));
            const __m256 l1 = _mm256_min_ps(hi, _mm256_max_ps(lo, round_even(_mm256_mul_ps(vis, x1))));
            const __m256 a0 = _mm256_mul_ps(w0, l0), a1 = _mm256_mul_ps(w1, l1);
            cx[u] = _mm256_add_ps(_mm256_mul_ps(a0, x0), _mm256_mul_ps(a1, x1));
            c2[u] = _mm256_add_ps(_mm256_mul_ps(a0, l0), _mm256_mul_ps(a1, l1));
        }
        _mm256_storeu_ps(rx + c0, hsum8x8(cx));
        _mm256_storeu_ps(r2 + c0, hsum8x8(c2));
    }
    double best = -1.0;
    float best_s = max / -(float)nmax;
    for (int c = 0; c < 19; c++) {
        const double slx = rx[c], sl2 = r2[c];
        if (sl2 > 0 && slx * slx > best * sl2) {
            best = slx * slx / sl2;
            best_s = (float)(slx / sl2);
        }
    }
    return best_s;
}

AVX2 static void sym_levels16(int nmax, const float *x, float dl, uint8_t *L) {
    const __m256 vdl = _mm256_set1_ps(dl);
    const __m256 lo = _mm256_set1_ps((float)-nmax), hi = _mm256_set1_ps((float)(nmax - 1)), off = _mm256_set1_ps((float)nmax);
    __m256i q[2];
    for (int k = 0; k < 2; k++) {
        const __m256 t = round_even(_mm256_div_ps(_mm256_loadu_ps(x + 8 * k), vdl));
        q[k] = _mm256_cvtps_epi32(_mm256_add_ps(_mm256_min_ps(hi, _mm256_max_ps(lo, t)), off));
    }
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
    _mm_storeu_si128((__m128i *)L, _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1)));
}

static const ingot_sym_kernels k_sym_avx2 = {kquant_weights, sym_fit16, sym_levels16};

AVX2 static void q3_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q3_k_quantize_row_with(x, y, n, imatrix, &k_sym_avx2);
}
AVX2 static void q6_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q6_k_quantize_row_with(x, y, n, imatrix, &k_sym_avx2);
}

// ---- Q2_K quantize -------------------------------------------------------------------------
// affine_search32 for 16 values (two vectors, ingot_sum16 order).
AVX2 static float affine_search16(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                  float rmin, float rdelta) {
    enum { MAX_CAND = INGOT_AFFINE_MAX_CAND };
    const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
    float lo = hmin_ps(_mm256_min_ps(x0, x1));
    const float hi = hmax_ps(_mm256_max_ps(x0, x1));
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo) || nstep + 2 > MAX_CAND) {
        if (hi > lo) return ingot_affine_search16_ref(nmax, x, w, L, m_out, nstep, rmin, rdelta);
        memset(L, 0, 16);
        *m_out = -lo;
        return 0.0f;
    }
    const __m256 wx0 = _mm256_mul_ps(w0, x0), wx1 = _mm256_mul_ps(w1, x1);
    const double sw = sum16(w0, w1), swx = sum16(wx0, wx1),
                 swx2 = sum16(_mm256_mul_ps(wx0, x0), _mm256_mul_ps(wx1, x1));
    const __m256 vlo = _mm256_set1_ps(lo), vmax = _mm256_set1_ps((float)nmax), zero = _mm256_setzero_ps();
    const __m256 d0 = _mm256_sub_ps(x0, vlo), d1 = _mm256_sub_ps(x1, vlo);
    float iscale[MAX_CAND];
    const int n_cand = ingot_affine_iscales(nmax, nstep, rmin, rdelta, hi - lo, iscale);
    double sl[MAX_CAND], sl2[MAX_CAND], slx[MAX_CAND];
    for (int c = n_cand; c < (n_cand + 7) / 8 * 8; c++) sl[c] = sl2[c] = slx[c] = 0; // padding: no fit
    for (int c0 = 0; c0 < n_cand; c0 += 8) {
        __m256 ca[8], cb[8], ce[8];
        for (int u = 0; u < 8; u++) {
            const int c = c0 + u < n_cand ? c0 + u : n_cand - 1;
            const __m256 vis = _mm256_set1_ps(iscale[c]);
            const __m256 l0 = _mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d0))));
            const __m256 l1 = _mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d1))));
            const __m256 a0 = _mm256_mul_ps(w0, l0), a1 = _mm256_mul_ps(w1, l1);
            ca[u] = _mm256_add_ps(a0, a1);
            cb[u] = _mm256_add_ps(_mm256_mul_ps(a0, l0), _mm256_mul_ps(a1, l1));
            ce[u] = _mm256_add_ps(_mm256_mul_ps(a0, x0), _mm256_mul_ps(a1, x1));
        }
        ingot_affine_store8(hsum8x8(ca), hsum8x8(cb), hsum8x8(ce), c0, n_cand, sl, sl2, slx);
    }
    double s[MAX_CAND], m[MAX_CAND], err[MAX_CAND];
    for (int c = 0; c < n_cand; c += 4) affine_fit4(sw, swx, swx2, sl + c, sl2 + c, slx + c, s + c, m + c, err + c);
    const int best = ingot_affine_best(err, n_cand);
    if (best < 0) {
        memset(L, 0, 16);
        *m_out = -lo;
        return 0.0f;
    }
    const __m256 vis = _mm256_set1_ps(iscale[best]);
    const __m256i q0 = _mm256_cvtps_epi32(_mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d0)))));
    const __m256i q1 = _mm256_cvtps_epi32(_mm256_min_ps(vmax, _mm256_max_ps(zero, round_even(_mm256_mul_ps(vis, d1)))));
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xd8);
    _mm_storeu_si128((__m128i *)L, _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1)));
    *m_out = -(float)m[best];
    return (float)s[best];
}

AVX2 static void affine_levels16(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    if (dl == 0.0f) {
        memset(L, 0, 16);
        return;
    }
    const __m256 vdl = _mm256_set1_ps(dl), vdm = _mm256_set1_ps(dm);
    const __m256 vmax = _mm256_set1_ps((float)nmax), zero = _mm256_setzero_ps();
    __m256i q[2];
    for (int k = 0; k < 2; k++) {
        const __m256 t = round_even(_mm256_div_ps(_mm256_add_ps(_mm256_loadu_ps(x + 8 * k), vdm), vdl));
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(vmax, _mm256_max_ps(zero, t)));
    }
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
    _mm_storeu_si128((__m128i *)L, _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1)));
}

static const ingot_k2_kernels k_k2_avx2 = {kquant_weights, affine_search16, affine_levels16};

AVX2 static void q2_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q2_k_quantize_row_with(x, y, n, imatrix, &k_k2_avx2);
}

void ingot_quant_install_avx2(ingot_quant_traits *tab) {
    tab[INGOT_DTYPE_F32].vec_dot = f32_vec_dot;
    tab[INGOT_DTYPE_F16].vec_dot = f16_vec_dot;
    tab[INGOT_DTYPE_F16].dequantize_row = f16_vec_dot_dequant;
    tab[INGOT_DTYPE_BF16].vec_dot = bf16_vec_dot;
    tab[INGOT_DTYPE_BF16].dequantize_row = bf16_vec_dot_dequant;
    tab[INGOT_DTYPE_Q8_0].quantize_row = q8_0_quantize_row;
    tab[INGOT_DTYPE_Q8_0].dequantize_row = q8_0_dequantize_row;
    tab[INGOT_DTYPE_Q8_0].vec_dot = q8_0_vec_dot;
    tab[INGOT_DTYPE_Q4_0].quantize_row = q4_0_quantize_row;
    tab[INGOT_DTYPE_Q4_0].dequantize_row = q4_0_dequantize_row;
    tab[INGOT_DTYPE_Q4_0].vec_dot = q4_0_vec_dot;
    tab[INGOT_DTYPE_Q4_1].vec_dot = q4_1_vec_dot;
    tab[INGOT_DTYPE_IQ4_NL].vec_dot = iq4_nl_vec_dot;
    tab[INGOT_DTYPE_Q8_K].quantize_row = q8_k_quantize_row;
    tab[INGOT_DTYPE_Q4_1].quantize_row = q4_1_quantize_row;
    tab[INGOT_DTYPE_F8_E4M3_R32].quantize_row = f8_r32_quantize_row;
    tab[INGOT_DTYPE_IQ4_NL].quantize_row = iq4_nl_quantize_row;
    tab[INGOT_DTYPE_Q5_0].quantize_row = q5_0_quantize_row;
    tab[INGOT_DTYPE_Q5_1].quantize_row = q5_1_quantize_row;
    tab[INGOT_DTYPE_Q8_K].vec_dot = q8_k_vec_dot;
    tab[INGOT_DTYPE_Q4_K].quantize_row = q4_k_quantize_row;
    tab[INGOT_DTYPE_Q4_K].dequantize_row = q4_k_dequantize_row;
    tab[INGOT_DTYPE_Q4_K].vec_dot = q4_k_vec_dot;
    tab[INGOT_DTYPE_Q5_K].quantize_row = q5_k_quantize_row;
    tab[INGOT_DTYPE_Q5_K].vec_dot = q5_k_vec_dot;
    tab[INGOT_DTYPE_Q6_K].dequantize_row = q6_k_dequantize_row;
    tab[INGOT_DTYPE_Q6_K].vec_dot = q6_k_vec_dot;
    tab[INGOT_DTYPE_Q5_0].vec_dot = q5_0_vec_dot;
    tab[INGOT_DTYPE_Q5_0].dequantize_row = q5_0_dequantize_row;
    tab[INGOT_DTYPE_Q5_1].vec_dot = q5_1_vec_dot;
    tab[INGOT_DTYPE_Q5_1].dequantize_row = q5_1_dequantize_row;
    tab[INGOT_DTYPE_Q4_1].dequantize_row = q4_1_dequantize_row;
    tab[INGOT_DTYPE_IQ4_NL].dequantize_row = iq4_nl_dequantize_row;
    tab[INGOT_DTYPE_Q2_K].vec_dot = q2_k_vec_dot;
    tab[INGOT_DTYPE_Q2_K].dequantize_row = q2_k_dequantize_row;
    tab[INGOT_DTYPE_Q3_K].vec_dot = q3_k_vec_dot;
    tab[INGOT_DTYPE_Q3_K].dequantize_row = q3_k_dequantize_row;
    tab[INGOT_DTYPE_Q5_K].dequantize_row = q5_k_dequantize_row;
    tab[INGOT_DTYPE_F8_E4M3_R32].vec_dot = f8_r32_vec_dot;
    tab[INGOT_DTYPE_F8_E4M3_R32].dequantize_row = f8_r32_dequantize_row;
    tab[INGOT_DTYPE_F16].quantize_row = f16_quantize_row;
    tab[INGOT_DTYPE_BF16].quantize_row = bf16_quantize_row;
    tab[INGOT_DTYPE_Q3_K].quantize_row = q3_k_quantize_row;
    tab[INGOT_DTYPE_Q6_K].quantize_row = q6_k_quantize_row;
    tab[INGOT_DTYPE_Q2_K].quantize_row = q2_k_quantize_row;
}

#else
void ingot_quant_install_avx2(ingot_quant_traits *tab) { (void)tab; }
#endif
