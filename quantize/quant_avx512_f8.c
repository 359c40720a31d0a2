// AVX-512 kernels of f8_e4m3_r32 (per 32 values: one E8M0 scale byte, then
// 32 E4M3 bytes; activations f32): vec_dot and dequantize_row. Installed
// over the AVX2 ones by ingot_quant_install_avx512.
//
// Decoding is arithmetic: an E4M3 byte b, sign-extended to 16 bits and
// shifted left by 7, has its exponent and mantissa in the f16 places and
// its sign in bits 15 and 14; clearing bit 14 leaves the f16 bit pattern of
// value / 256, exact for every finite E4M3 value (subnormals included: both
// formats' subnormal steps differ by the same 2^8). vcvtph2ps widens 16 of
// them at a time. The NaN codes 0x7f / 0xff would decode as ±480 / 256 and
// are caught separately (see vec_dot).
#include <math.h>
#include <string.h>

#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

// ingot_e8m0_to_f32 as a table (2^(e − 127); 2^-127 for 0, NaN for 0xff):
// the dot loop broadcasts a block's scale straight from it.
#define E8M0_BITS(e) ((e) == 0 ? 0x00400000u : (e) == 255 ? 0x7fc00000u : (uint32_t)(e) << 23)
#define E8M0_R4(e) E8M0_BITS(e), E8M0_BITS((e) + 1), E8M0_BITS((e) + 2), E8M0_BITS((e) + 3)
#define E8M0_R16(e) E8M0_R4(e), E8M0_R4((e) + 4), E8M0_R4((e) + 8), E8M0_R4((e) + 12)
#define E8M0_R64(e) E8M0_R16(e), E8M0_R16((e) + 16), E8M0_R16((e) + 32), E8M0_R16((e) + 48)
static const union {
    uint32_t bits[256];
    float f[256];
} k_e8m0 = {{E8M0_R64(0), E8M0_R64(64), E8M0_R64(128), E8M0_R64(192)}};

// The 32 E4M3 bytes at q as f16 bit patterns of value / 256 (word j from
// byte j); NaN codes give ±0x3f80.
AVX512 static inline __m512i e4m3x32_to_f16(const uint8_t *q) {
    const __m512i s = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)q));
    return _mm512_and_si512(_mm512_slli_epi16(s, 7), _mm512_set1_epi16((short)0xbf80));
}

// Words of h plus 0x80 have bit 14 set exactly for the NaN codes' ±0x3f80
// (finite codes give at most 0x3f00 in the low 15 bits): OR-ing these over
// a row and testing bit 14 once tells whether the row holds a NaN code.
AVX512 static inline __m512i nan_probe(__m512i h) { return _mm512_add_epi16(h, _mm512_set1_epi16(0x80)); }

// Σ_j value_j · y_j / 256 of one block, 16 lanes.
AVX512 static inline __m512 block_dot(__m512i h, const float *y) {
    const __m512 w0 = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
    const __m512 w1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
    return _mm512_fmadd_ps(w1, _mm512_loadu_ps(y + 16), _mm512_mul_ps(w0, _mm512_loadu_ps(y)));
}

// Per block: the 32 products (weights / 256) in 16 lanes, times the block
// scale into one of four accumulators; 2^8 is folded in once at the end.
// A row holding a NaN code is handed to the reference, whose sum is NaN.
AVX512 static void f8_r32_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_f8_r32 *x = vx;
    const float *y = vy;
    const int64_t nb = n / INGOT_QK;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    __m512i probe = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4, y += 4 * INGOT_QK) {
        const __m512i h0 = e4m3x32_to_f16(x[i].qs), h1 = e4m3x32_to_f16(x[i + 1].qs);
        const __m512i h2 = e4m3x32_to_f16(x[i + 2].qs), h3 = e4m3x32_to_f16(x[i + 3].qs);
        probe = _mm512_ternarylogic_epi32(probe, nan_probe(h0), nan_probe(h1), 0xfe);
        probe = _mm512_ternarylogic_epi32(probe, nan_probe(h2), nan_probe(h3), 0xfe);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i].e]), block_dot(h0, y), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 1].e]), block_dot(h1, y + 32), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 2].e]), block_dot(h2, y + 64), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 3].e]), block_dot(h3, y + 96), acc3);
    }
    for (; i < nb; i++, y += INGOT_QK) {
        const __m512i h = e4m3x32_to_f16(x[i].qs);
        probe = _mm512_or_si512(probe, nan_probe(h));
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i].e]), block_dot(h, y), acc0);
    }
    if (_mm512_test_epi16_mask(probe, _mm512_set1_epi16(0x4000))) {
        ingot_f8_r32_vec_dot_ref(n, s, vx, vy);
        return;
    }
    const __m512 acc = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
    *s = _mm512_reduce_add_ps(acc) * 256.0f;
}

// value · scale with one rounding, as the reference: (value / 256) times
// (scale · 256) is that product when scale · 256 is exact (e ≤ 246) and
// the block has no NaN code; other blocks take the scalar formula.
AVX512 static void f8_r32_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_f8_r32 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const __m512i h = e4m3x32_to_f16(x[i].qs);
        if (x[i].e > 246 || _mm512_test_epi16_mask(nan_probe(h), _mm512_set1_epi16(0x4000))) {
            const float d = k_e8m0.f[x[i].e];
            for (int j = 0; j < INGOT_QK; j++) y[j] = ingot_e4m3_lut[x[i].qs[j]] * d;
            continue;
        }
        const __m512 d = _mm512_set1_ps(k_e8m0.f[x[i].e] * 256.0f);
        _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h)), d));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)), d));
    }
}

void ingot_quant_install_avx512_f8(ingot_quant_traits *tab) {
    tab[INGOT_DTYPE_F8_E4M3_R32].vec_dot = f8_r32_vec_dot;
    tab[INGOT_DTYPE_F8_E4M3_R32].dequantize_row = f8_r32_dequantize_row;
}

#else
void ingot_quant_install_avx512_f8(ingot_quant_traits *tab) { (void)tab; }
#endif
