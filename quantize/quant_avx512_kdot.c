// AVX-512 dot products of the K-quant types (q2_k … q6_k) against Q8_K
// activations, for CPUs with AVX512_VNNI, AVX512_VBMI and GFNI; installed
// over the AVX-512 table's K dots by ingot_quant_install_avx512_kdot.
//
// Shape shared by every kernel:
// - Levels are unpacked 64 at a time in activation order, so each 64-byte
//   activation load feeds one vector as it is. A 32-byte run of packed bits
//   is broadcast to both 256-bit halves and one GF2P8AFFINEQB per vector
//   pulls out each half's bit field (its 8×8 bit matrix differs per 64-bit
//   lane), doing the shift and the mask of a plain unpack in one operation.
// - Integer sub-block scales: VPDPBUSD sums unsigned levels × int8
//   activations in groups of 4 (≤ 4 · 63 · 128, so it fits int16), VPACKSSDW
//   packs two such vectors to int16, and one VPDPWSSD per 128 values
//   multiplies by a vector holding each word's sub-block scale (a VPERMW of
//   the unpacked scales). q2_k instead looks up level × scale (≤ 45) per
//   byte with VPSHUFB and sums it with VPDPBUSD directly.
// - Level offsets and mins come off through the activations' 16-value
//   sums (bsums) with one VPMADDWD per super-block.
// - Each super-block adds into float vector accumulators with one FMA per
//   scale (d · y.d, dmin · y.d); the row is reduced horizontally once.
#include <string.h>

#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

#define KDOT \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,avx2,fma,f16c")))

// GF2P8AFFINEQB matrix entry: output bit `o` takes input bit `i` (row o of
// the matrix is byte 7 − o of the 64-bit operand).
#define GF_BIT(o, i) ((uint64_t)1 << (8 * (7 - (o)) + (i)))
// Two bits starting at input bit s → output bits 0-1.
#define GF_2AT(s) (GF_BIT(0, s) | GF_BIT(1, (s) + 1))
// Four bits starting at input bit s → output bits 0-3.
#define GF_4AT(s) (GF_BIT(0, s) | GF_BIT(1, (s) + 1) | GF_BIT(2, (s) + 2) | GF_BIT(3, (s) + 3))
// Two bits starting at input bit s → output bits 4-5.
#define GF_2TO4(s) (GF_BIT(4, s) | GF_BIT(5, (s) + 1))

// Matrix vector: `lo` for the low 256-bit half, `hi` for the high one.
KDOT static inline __m512i gf_halves(uint64_t lo, uint64_t hi) {
    return _mm512_set_epi64((long long)hi, (long long)hi, (long long)hi, (long long)hi, (long long)lo, (long long)lo,
                            (long long)lo, (long long)lo);
}
#define GF(x, m, b) _mm512_gf2p8affine_epi64_epi8((x), (m), (b))

// 32 bytes at p in both halves.
KDOT static inline __m512i bcast32(const void *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}
KDOT static inline __m512i load64(const void *p) { return _mm512_loadu_si512(p); }

// [f16 a, f16 b] at p (4 bytes) times dy: lanes 0 and 1.
KDOT static inline __m128 scale_pair(const void *p, float dy) {
    uint32_t w;
    memcpy(&w, p, 4);
    return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)w)), _mm_set1_ps(dy));
}
KDOT static inline __m512 scale_one(const void *p, float dy) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm512_set1_ps(_cvtsh_ss(h) * dy);
}
KDOT static inline __m256 lane1_256(__m128 v) {
    return _mm256_permutexvar_ps(_mm256_set1_epi32(1), _mm256_castps128_ps256(v));
}

// int16 vector whose 16-byte lane L holds int16 lane aL of v in words 0-3
// and bL in words 4-7 (the layout VPACKSSDW gives two int32 vectors).
#define PAIR_SCALES(v, a0, b0, a1, b1, a2, b2, a3, b3)                                                     \
    _mm512_permutexvar_epi16(_mm512_set_epi64(SPLAT1(b3), SPLAT1(a3), SPLAT1(b2), SPLAT1(a2), SPLAT1(b1),  \
                                              SPLAT1(a1), SPLAT1(b0), SPLAT1(a0)),                         \
                             (v))
#define SPLAT1(k) (long long)(0x0001000100010001ull * (uint64_t)(k))
// Two vectors of 4-byte-group dots packed to int16 (16-byte lane L: words
// 0-3 from la's lane, 4-7 from lb's).
#define DOT2(la, ya, lb, yb) \
    _mm512_packs_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), (la), (ya)), \
                       _mm512_dpbusd_epi32(_mm512_setzero_si512(), (lb), (yb)))

// Σ a − Σ m.
KDOT static inline float reduce2(__m512 a, __m256 m) {
    const __m256 f = _mm256_sub_ps(_mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1)), m);
    __m128 e = _mm_add_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1));
    e = _mm_add_ps(e, _mm_movehl_ps(e, e));
    e = _mm_add_ss(e, _mm_movehdup_ps(e));
    return _mm_cvtss_f32(e);
}

// ---- Q2_K ------------------------------------------------------------------------------------
// Vector j (elements 64j .. 64j+63): bit planes 2(j%2) and 2(j%2)+1 of
// qs[32(j/2) ..] in its two halves; its 16-byte lane L is sub-block 4j + L.
// The byte table P (lane L, bytes 4j + l) holds l × scale(4j + L), so
// VPSHUFB with index 4j + level gives level × scale; 4j comes in through
// the affine's constant term.
KDOT static void q2_k_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q2_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m512i g01 = gf_halves(GF_2AT(0), GF_2AT(2)), g23 = gf_halves(GF_2AT(4), GF_2AT(6));
    // E byte 16L + 4j + l = scales[4j + L]; idx = (E & 15) | 16 l; tab[16 l + s] = l s.
    __m512i sel, lsh, tab;
    {
        uint8_t a[64], b[64], t[64];
        for (int p = 0; p < 64; p++) {
            a[p] = (uint8_t)(4 * ((p % 16) / 4) + p / 16);
            b[p] = (uint8_t)(16 * (p % 4));
            t[p] = (uint8_t)((p / 16) * (p % 16));
        }
        sel = _mm512_loadu_si512(a), lsh = _mm512_loadu_si512(b), tab = _mm512_loadu_si512(t);
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m128i raw = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m512i e = _mm512_permutexvar_epi8(sel, _mm512_castsi128_si512(raw));
        const __m512i p = _mm512_permutexvar_epi8(_mm512_ternarylogic_epi32(e, m4, lsh, 0xEA), tab);
        const __m512i q0 = bcast32(x[i].qs), q1 = bcast32(x[i].qs + 32);
        const int8_t *qy = y[i].qs;
        __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_shuffle_epi8(p, GF(q0, g01, 0)), load64(qy));
        d = _mm512_dpbusd_epi32(d, _mm512_shuffle_epi8(p, GF(q0, g23, 4)), load64(qy + 64));
        d = _mm512_dpbusd_epi32(d, _mm512_shuffle_epi8(p, GF(q1, g01, 8)), load64(qy + 128));
        d = _mm512_dpbusd_epi32(d, _mm512_shuffle_epi8(p, GF(q1, g23, 12)), load64(qy + 192));
        const __m256i mins = _mm256_srli_epi16(_mm256_cvtepu8_epi16(raw), 4);
        const __m256i summ = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const __m128 dd = scale_pair(&x[i].d, y[i].d);
        acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(dd), _mm512_cvtepi32_ps(d), acc);
        accm = _mm256_fmadd_ps(lane1_256(dd), _mm256_cvtepi32_ps(summ), accm);
    }
    *s = reduce2(acc, accm);
}

// ---- Q3_K ------------------------------------------------------------------------------------
// Vectors as q2_k; the third level bit of vector j is bit 2j (low half) or
// 2j + 1 (high half) of hmask[0..31], moved to bit 2. Levels are stored
// + 4: Σ (l − 4) y sc = Σ l y sc − 4 Σ sc bsums.
//
// The 16 signed 6-bit scales as int16 lanes: word j holds s[j % 8] (low
// byte) and s[8 + j % 4] (high byte); scale = ((w >> sx) & 15) |
// ((w >> sy) & 48) − 32 with sx = 4 for j ≥ 8 and sy = 4 + 2 (j / 4).
KDOT static inline __m256i q3_k_scales16(const ingot_block_q3_k *b, __m256i sel, __m256i sx, __m256i sy) {
    // 16 bytes ending at the block's end: s[t] is byte 2 + t.
    const __m128i v = _mm_loadu_si128((const __m128i *)((const uint8_t *)b + 94));
    const __m256i w = _mm256_permutexvar_epi8(sel, _mm256_castsi128_si256(v));
    const __m256i lo = _mm256_srlv_epi16(w, sx);
    const __m256i hi = _mm256_and_si256(_mm256_srlv_epi16(w, sy), _mm256_set1_epi16(0x30));
    return _mm256_sub_epi16(_mm256_ternarylogic_epi32(lo, _mm256_set1_epi16(0x0F), hi, 0xEA), _mm256_set1_epi16(32));
}

KDOT static void q3_k_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q3_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m512i g01 = gf_halves(GF_2AT(0), GF_2AT(2)), g23 = gf_halves(GF_2AT(4), GF_2AT(6));
    const __m512i h0 = gf_halves(GF_BIT(2, 0), GF_BIT(2, 1)), h1 = gf_halves(GF_BIT(2, 2), GF_BIT(2, 3));
    const __m512i h2 = gf_halves(GF_BIT(2, 4), GF_BIT(2, 5)), h3 = gf_halves(GF_BIT(2, 6), GF_BIT(2, 7));
    __m256i sel, sx, sy;
    {
        uint8_t a[32];
        int16_t b[16], c[16];
        for (int j = 0; j < 16; j++) {
            a[2 * j] = (uint8_t)(2 + j % 8);
            a[2 * j + 1] = (uint8_t)(2 + 8 + j % 4);
            b[j] = (int16_t)(j < 8 ? 0 : 4);
            c[j] = (int16_t)(4 + 2 * (j / 4));
        }
        sel = _mm256_loadu_si256((const __m256i *)a);
        sx = _mm256_loadu_si256((const __m256i *)b), sy = _mm256_loadu_si256((const __m256i *)c);
    }
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m256i sc16 = q3_k_scales16(&x[i], sel, sx, sy);
        const __m512i sc = _mm512_castsi256_si512(sc16);
        const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const __m512i q0 = bcast32(x[i].qs), q1 = bcast32(x[i].qs + 32), hm = bcast32(x[i].hmask);
        const int8_t *qy = y[i].qs;
        const __m512i l0 = _mm512_or_si512(GF(q0, g01, 0), GF(hm, h0, 0));
        const __m512i l1 = _mm512_or_si512(GF(q0, g23, 0), GF(hm, h1, 0));
        const __m512i l2 = _mm512_or_si512(GF(q1, g01, 0), GF(hm, h2, 0));
        const __m512i l3 = _mm512_or_si512(GF(q1, g23, 0), GF(hm, h3, 0));
        __m512i d = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(_mm256_slli_epi32(off, 2)));
        d = _mm512_dpwssd_epi32(d, DOT2(l0, load64(qy), l1, load64(qy + 64)), PAIR_SCALES(sc, 0, 4, 1, 5, 2, 6, 3, 7));
        d = _mm512_dpwssd_epi32(d, DOT2(l2, load64(qy + 128), l3, load64(qy + 192)),
                                PAIR_SCALES(sc, 8, 12, 9, 13, 10, 14, 11, 15));
        acc = _mm512_fmadd_ps(scale_one(&x[i].d, y[i].d), _mm512_cvtepi32_ps(d), acc);
    }
    *s = _mm512_reduce_add_ps(acc);
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------------------
// Vector k (elements 64k .. 64k+63): qs[32k .. 32k+31] in both halves, low
// nibbles in the low half (sub-block 2k), high nibbles in the high half
// (2k + 1). q5_k's fifth bit is bit 2k / 2k + 1 of qh[0..31].
//
// Scales and mins as int16 lanes (block bytes 0-15 loaded, s[t] = byte
// 4 + t): word w holds two scale bytes, value = ((w >> sx) & 15) |
// ((w >> sy) & 48). Words 0-15: mins 0,0,1,1,…,7,7 (paired with the 16
// bsums); words 16-23 (and 24-31): scales 0-7.
typedef struct k45_consts {
    __m512i sel, sx, sy;
} k45_consts;

KDOT static inline k45_consts k45_consts_make(void) {
    uint8_t a[64];
    int16_t b[32], c[32];
    for (int w = 0; w < 32; w++) {
        const bool is_min = w < 16;
        const int j = is_min ? w / 2 : w % 8;
        int lo, hi, sx = 0, sy = 0;
        if (!is_min) {
            lo = j < 4 ? j : j + 4;
            hi = j < 4 ? j : j - 4;
            sy = j < 4 ? 0 : 10;
        } else {
            lo = j + 4;
            hi = j < 4 ? j + 4 : j;
            sx = j < 4 ? 0 : 4;
            sy = j < 4 ? 0 : 10;
        }
        a[2 * w] = (uint8_t)(4 + lo);
        a[2 * w + 1] = (uint8_t)(4 + hi);
        b[w] = (int16_t)sx;
        c[w] = (int16_t)sy;
    }
    k45_consts k;
    k.sel = _mm512_loadu_si512(a);
    k.sx = _mm512_loadu_si512(b);
    k.sy = _mm512_loadu_si512(c);
    return k;
}

// Block bytes 0-15 (d, dmin, scales) → int16 mins (pairs) and scales.
KDOT static inline __m512i k45_scales16(__m128i v, const k45_consts *k) {
    const __m512i w = _mm512_permutexvar_epi8(k->sel, _mm512_castsi128_si512(v));
    const __m512i lo = _mm512_srlv_epi16(w, k->sx);
    const __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(w, k->sy), _mm512_set1_epi16(0x30));
    return _mm512_ternarylogic_epi32(lo, _mm512_set1_epi16(0x0F), hi, 0xEA);
}

// Blocks of `size` bytes at x: d, dmin, scales at 0, qs at qs_off, qh at
// qh_off (q5_k) or none (qh_off < 0).
KDOT static inline __attribute__((always_inline)) void k45_dot(int64_t n, float *s, const uint8_t *x, size_t size,
                                                               size_t qs_off, int qh_off, const ingot_block_q8_k *y) {
    const __m512i g = gf_halves(GF_4AT(0), GF_4AT(4));
    const __m512i h0 = gf_halves(GF_BIT(4, 0), GF_BIT(4, 1)), h1 = gf_halves(GF_BIT(4, 2), GF_BIT(4, 3));
    const __m512i h2 = gf_halves(GF_BIT(4, 4), GF_BIT(4, 5)), h3 = gf_halves(GF_BIT(4, 6), GF_BIT(4, 7));
    const k45_consts k = k45_consts_make();
    const int64_t nb = n / INGOT_QK_K;
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x += size) {
        const __m128i v = _mm_loadu_si128((const __m128i *)x);
        const __m512i sm = k45_scales16(v, &k);
        const __m256i summ =
            _mm256_madd_epi16(_mm512_castsi512_si256(sm), _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const uint8_t *qs = x + qs_off;
        __m512i l0 = GF(bcast32(qs), g, 0), l1 = GF(bcast32(qs + 32), g, 0);
        __m512i l2 = GF(bcast32(qs + 64), g, 0), l3 = GF(bcast32(qs + 96), g, 0);
        if (qh_off >= 0) {
            const __m512i hb = bcast32(x + qh_off);
            l0 = _mm512_or_si512(l0, GF(hb, h0, 0));
            l1 = _mm512_or_si512(l1, GF(hb, h1, 0));
            l2 = _mm512_or_si512(l2, GF(hb, h2, 0));
            l3 = _mm512_or_si512(l3, GF(hb, h3, 0));
        }
        const int8_t *qy = y[i].qs;
        __m512i d = _mm512_dpwssd_epi32(_mm512_setzero_si512(), DOT2(l0, load64(qy), l1, load64(qy + 64)),
                                        PAIR_SCALES(sm, 16, 18, 16, 18, 17, 19, 17, 19));
        d = _mm512_dpwssd_epi32(d, DOT2(l2, load64(qy + 128), l3, load64(qy + 192)),
                                PAIR_SCALES(sm, 20, 22, 20, 22, 21, 23, 21, 23));
        const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(v), _mm_set1_ps(y[i].d));
        acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(dd), _mm512_cvtepi32_ps(d), acc);
        accm = _mm256_fmadd_ps(lane1_256(dd), _mm256_cvtepi32_ps(summ), accm);
    }
    *s = reduce2(acc, accm);
}

KDOT static void q4_k_dot(int64_t n, float *s, const void *vx, const void *vy) {
    k45_dot(n, s, vx, sizeof(ingot_block_q4_k), offsetof(ingot_block_q4_k, qs), -1, vy);
}
KDOT static void q5_k_dot(int64_t n, float *s, const void *vx, const void *vy) {
    k45_dot(n, s, vx, sizeof(ingot_block_q5_k), offsetof(ingot_block_q5_k, qs), (int)offsetof(ingot_block_q5_k, qh),
            vy);
}

// ---- Q6_K ------------------------------------------------------------------------------------
// Per 128 values (n): ql[64n .. 64n+63] low nibbles are elements 0-63, high
// nibbles 64-127; the top two bits come from qh[32n .. 32n+31] bits 0-1 /
// 2-3 (elements 0-31 / 32-63) and 4-5 / 6-7 (64-95 / 96-127), moved to bits
// 4-5. Levels are stored + 32: Σ (l − 32) y sc = Σ l y sc − 32 Σ sc bsums.
KDOT static void q6_k_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q6_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m512i gn = gf_halves(GF_4AT(4), GF_4AT(4));
    const __m512i ga = gf_halves(GF_2TO4(0), GF_2TO4(2)), gb = gf_halves(GF_2TO4(4), GF_2TO4(6));
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m512i d = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(_mm256_slli_epi32(off, 5)));
        const int8_t *qy = y[i].qs;
        for (int h = 0; h < 2; h++) {
            const __m512i ql = load64(x[i].ql + 64 * h), qh = bcast32(x[i].qh + 32 * h);
            const __m512i la = _mm512_ternarylogic_epi32(ql, m4, GF(qh, ga, 0), 0xEA);
            const __m512i lb = _mm512_or_si512(GF(ql, gn, 0), GF(qh, gb, 0));
            const __m512i p = DOT2(la, load64(qy + 128 * h), lb, load64(qy + 128 * h + 64));
            if (h == 0) d = _mm512_dpwssd_epi32(d, p, PAIR_SCALES(sc, 0, 4, 1, 5, 2, 6, 3, 7));
            else d = _mm512_dpwssd_epi32(d, p, PAIR_SCALES(sc, 8, 12, 9, 13, 10, 14, 11, 15));
        }
        acc = _mm512_fmadd_ps(scale_one(&x[i].d, y[i].d), _mm512_cvtepi32_ps(d), acc);
    }
    *s = _mm512_reduce_add_ps(acc);
}

// AVX512_VNNI (leaf 7 ECX bit 11), AVX512_VBMI (bit 1) and GFNI (bit 8);
// the AVX-512 state itself is checked by ingot_simd_detect.
static bool cpu_has_kdot(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (c & (1u << 11)) && (c & (1u << 1)) && (c & (1u << 8));
}

void ingot_quant_install_avx512_kdot(ingot_quant_traits *tab) {
    if (!cpu_has_kdot()) return;
    tab[INGOT_DTYPE_Q2_K].vec_dot = q2_k_dot;
    tab[INGOT_DTYPE_Q3_K].vec_dot = q3_k_dot;
    tab[INGOT_DTYPE_Q4_K].vec_dot = q4_k_dot;
    tab[INGOT_DTYPE_Q5_K].vec_dot = q5_k_dot;
    tab[INGOT_DTYPE_Q6_K].vec_dot = q6_k_dot;
}

#else
void ingot_quant_install_avx512_kdot(ingot_quant_traits *tab) { (void)tab; }
#endif
