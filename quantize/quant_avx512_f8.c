// AVX-512 kernels of f8_e4m3_r32 (per 32 values: one E8M0 scale byte, then
// 32 E4M3 bytes; activations f32): vec_dot and dequantize_row, installed
// over the AVX2 ones where the CPU has AVX512-VBMI.
//
// Decoding by table: every E4M3 value is exactly a bf16 (4 significant
// bits, exponents 2^-9 .. 2^8), i.e. an f32 whose low 16 bits are zero.
// Two 128-entry byte tables, indexed by the code without its sign, give
// that f32's bits 24-30 and 16-23 (vpermt2b ignores index bit 7, so one
// instruction looks up 64 codes); the sign bit is OR-ed back in. In-lane
// unpacks (bytes to 16-bit pairs, those on top of a zero half-word) make
// the f32s. The NaN codes 0x7f / 0xff decode to the reference's NaN, so a
// row holding one sums to NaN as the reference does, with no test in the
// loop. A pair of blocks takes 10 decode instructions (3 cross-lane) and
// 6 multiplies / FMAs; decoding via f16 (sign-extend, shift, mask,
// vcvtph2ps) takes 8 µops per block, plus a NaN test.
//
// Blocks go in pairs: one vpermt2d gathers the two blocks' codes in the
// order the unpacks undo, so the four f32 vectors come out as block a
// values 0-15, 16-31, block b values 0-15, 16-31.
#include <string.h>

#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi")))

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

// Bits 24-31 (sign clear) and 16-23 of ingot_e4m3_to_f32(v), v < 128.
// Filled by the install function, which runs once before any kernel is
// reachable (ingot_quant_init).
static uint8_t g_e4m3_hi[128] __attribute__((aligned(64)));
static uint8_t g_e4m3_lo[128] __attribute__((aligned(64)));

// How far ahead (bytes of weights) the dot loop prefetches: the hardware
// stream prefetcher alone leaves one thread well short of the read
// bandwidth (callers walk rows in order, so this reaches into the next
// rows; a prefetch past the end of the data is harmless).
enum { F8_PREFETCH = 16384 };

typedef struct f8_luts {
    __m512i hi0, hi1, lo0, lo1, sign, gather;
} f8_luts;

AVX512VBMI static inline f8_luts f8_luts_load(void) {
    f8_luts L;
    L.hi0 = _mm512_load_si512(g_e4m3_hi);
    L.hi1 = _mm512_load_si512(g_e4m3_hi + 64);
    L.lo0 = _mm512_load_si512(g_e4m3_lo);
    L.lo1 = _mm512_load_si512(g_e4m3_lo + 64);
    L.sign = _mm512_set1_epi8((char)0x80);
    // Lane l of the gathered codes: a[4l..4l+3], a[16+4l..], b[4l..], b[16+4l..]
    // (dwords; b's 8 dwords follow a's at index 16).
    L.gather = _mm512_setr_epi32(0, 4, 16, 20, 1, 5, 17, 21, 2, 6, 18, 22, 3, 7, 19, 23);
    return L;
}

// The 64 values of blocks with codes qa, qb as f32: w[0] = a[0..15],
// w[1] = a[16..31], w[2] = b[0..15], w[3] = b[16..31].
AVX512VBMI static inline void f8_decode_pair(const f8_luts *L, const uint8_t *qa, const uint8_t *qb, __m512 *w) {
    const __m512i c = _mm512_permutex2var_epi32(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)qa)),
                                                L->gather,
                                                _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)qb)));
    // hi | (c & 0x80)
    const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(L->hi0, c, L->hi1), c, L->sign, 0xf8);
    const __m512i lo = _mm512_permutex2var_epi8(L->lo0, c, L->lo1);
    // Byte k of lane l lands in half-word k: bytes 0-7 via unpacklo, 8-15 via unpackhi.
    const __m512i h0 = _mm512_unpacklo_epi8(lo, hi), h1 = _mm512_unpackhi_epi8(lo, hi);
    const __m512i z = _mm512_setzero_si512();
    w[0] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, h0));
    w[1] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, h0));
    w[2] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, h1));
    w[3] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, h1));
}

// Σ value · y over one block (w0, w1: its two halves), 16 lanes.
AVX512VBMI static inline __m512 f8_block_dot(__m512 w0, __m512 w1, const float *y) {
    return _mm512_fmadd_ps(w1, _mm512_loadu_ps(y + 16), _mm512_mul_ps(w0, _mm512_loadu_ps(y)));
}

// As the reference: per block the 32 products summed, times the block
// scale, summed over blocks (here in 16 lanes and four accumulators).
AVX512VBMI static void f8_r32_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_f8_r32 *x = vx;
    const float *y = vy;
    const int64_t nb = n / INGOT_QK;
    const f8_luts L = f8_luts_load();
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    __m512 w[4];
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4, y += 4 * INGOT_QK) {
        _mm_prefetch((const char *)&x[i] + F8_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)&x[i] + F8_PREFETCH + 64, _MM_HINT_T0);
        f8_decode_pair(&L, x[i].qs, x[i + 1].qs, w);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i].e]), f8_block_dot(w[0], w[1], y), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 1].e]), f8_block_dot(w[2], w[3], y + 32), acc1);
        f8_decode_pair(&L, x[i + 2].qs, x[i + 3].qs, w);
        acc2 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 2].e]), f8_block_dot(w[0], w[1], y + 64), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 3].e]), f8_block_dot(w[2], w[3], y + 96), acc3);
    }
    for (; i < nb; i += 2, y += 2 * INGOT_QK) {
        const int two = i + 1 < nb; // a last odd block is decoded twice, used once
        f8_decode_pair(&L, x[i].qs, x[i + two].qs, w);
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i].e]), f8_block_dot(w[0], w[1], y), acc0);
        if (two) acc1 = _mm512_fmadd_ps(_mm512_set1_ps(k_e8m0.f[x[i + 1].e]), f8_block_dot(w[2], w[3], y + 32), acc1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// value · scale with one rounding, as the reference (the decoded value is
// exact).
AVX512VBMI static void f8_r32_dequantize_row(const void *vx, float *y, int64_t n) {
    const ingot_block_f8_r32 *x = vx;
    const int64_t nb = n / INGOT_QK;
    const f8_luts L = f8_luts_load();
    __m512 w[4];
    for (int64_t i = 0; i < nb; i += 2, y += 2 * INGOT_QK) {
        const int two = i + 1 < nb;
        f8_decode_pair(&L, x[i].qs, x[i + two].qs, w);
        const __m512 da = _mm512_set1_ps(k_e8m0.f[x[i].e]);
        _mm512_storeu_ps(y, _mm512_mul_ps(w[0], da));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(w[1], da));
        if (two) {
            const __m512 db = _mm512_set1_ps(k_e8m0.f[x[i + 1].e]);
            _mm512_storeu_ps(y + 32, _mm512_mul_ps(w[2], db));
            _mm512_storeu_ps(y + 48, _mm512_mul_ps(w[3], db));
        }
    }
}

void ingot_quant_install_avx512_f8(ingot_quant_traits *tab) {
    if (!__builtin_cpu_supports("avx512vbmi")) return;
    for (int v = 0; v < 128; v++) {
        const float f = ingot_e4m3_to_f32((uint8_t)v);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        if (bits & 0xffff) return; // not a bf16: cannot happen for E4M3
        g_e4m3_hi[v] = (uint8_t)(bits >> 24);
        g_e4m3_lo[v] = (uint8_t)(bits >> 16);
    }
    tab[INGOT_DTYPE_F8_E4M3_R32].vec_dot = f8_r32_vec_dot;
    tab[INGOT_DTYPE_F8_E4M3_R32].dequantize_row = f8_r32_dequantize_row;
}

#else
void ingot_quant_install_avx512_f8(ingot_quant_traits *tab) { (void)tab; }
#endif
