// Block structs (GGML byte layouts, see docs/TYPES.md) and the kernel
// declarations shared by quantize/'s files. Private to the quantize target
// (tests include it to reach the round-to-nearest baselines).
#ifndef INGOT_QUANT_INTERNAL_H
#define INGOT_QUANT_INTERNAL_H

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingot/quantize.h"

#define INGOT_QK 32
#define INGOT_QK_K 256

// ---- block layouts ----------------------------------------------------------
// f16 fields are IEEE half bit patterns, little endian (the host order on
// every target ingot builds for).
typedef struct ingot_block_q8_0 {
    uint16_t d;       // scale: x = d * qs[i]
    int8_t qs[32];
} ingot_block_q8_0;

typedef struct ingot_block_q4_0 {
    uint16_t d;       // x = d * (q - 8)
    uint8_t qs[16];   // low nibble: element i, high nibble: element i + 16
} ingot_block_q4_0;

typedef struct ingot_block_q4_1 {
    uint16_t d, m;    // x = d * q + m
    uint8_t qs[16];
} ingot_block_q4_1;

typedef struct ingot_block_q5_0 {
    uint16_t d;       // x = d * (q - 16)
    uint8_t qh[4];    // bit i: 5th bit of element i (i in 0..31)
    uint8_t qs[16];   // low 4 bits, nibble order as q4_0
} ingot_block_q5_0;

typedef struct ingot_block_q5_1 {
    uint16_t d, m;    // x = d * q + m
    uint8_t qh[4];
    uint8_t qs[16];
} ingot_block_q5_1;

typedef struct ingot_block_iq4_nl {
    uint16_t d;       // x = d * ingot_iq4nl_values[q]
    uint8_t qs[16];   // nibble order as q4_0
} ingot_block_iq4_nl;

typedef struct ingot_block_q2_k {
    uint8_t scales[16]; // sub-block j (16 values): low nibble scale, high nibble min
    uint8_t qs[64];     // 2-bit q; element 128n + 32k + l at qs[32n + l] bits 2k
    uint16_t d, dmin;   // x = d * sc * q - dmin * m
} ingot_block_q2_k;

typedef struct ingot_block_q3_k {
    uint8_t hmask[32];  // element e: bit e / 32 of hmask[e % 32] set means q += 4
    uint8_t qs[64];     // low 2 bits, packed as q2_k
    uint8_t scales[12]; // 16 × 6-bit scales, stored + 32
    uint16_t d;         // x = d * (sc - 32) * (q - 4)
} ingot_block_q3_k;

typedef struct ingot_block_q4_k {
    uint16_t d, dmin;   // x = d * sc * q - dmin * m
    uint8_t scales[12]; // 8 × (6-bit scale, 6-bit min), packed (see get_scale_min)
    uint8_t qs[128];    // sub-blocks 2k, 2k+1: low/high nibbles of qs[32k .. 32k+31]
} ingot_block_q4_k;

typedef struct ingot_block_q5_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];     // element e: 5th bit is bit e / 32 of qh[e % 32]
    uint8_t qs[128];
} ingot_block_q5_k;

typedef struct ingot_block_q6_k {
    uint8_t ql[128];    // low 4 bits
    uint8_t qh[64];     // high 2 bits
    int8_t scales[16];  // per 16 values
    uint16_t d;         // x = d * sc * (q - 32)
} ingot_block_q6_k;

typedef struct ingot_block_q8_k {
    float d;            // x = d * qs[i]
    int8_t qs[256];
    int16_t bsums[16];  // sum of qs over each 16 values
} ingot_block_q8_k;

typedef struct ingot_block_f8_r32 {
    uint8_t e;          // E8M0 scale 2^(e - 127)
    uint8_t qs[32];     // E4M3 values
} ingot_block_f8_r32;

_Static_assert(sizeof(ingot_block_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(ingot_block_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(ingot_block_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(ingot_block_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(ingot_block_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(ingot_block_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(ingot_block_q2_k) == 84, "q2_k block");
_Static_assert(sizeof(ingot_block_q3_k) == 110, "q3_k block");
_Static_assert(sizeof(ingot_block_q4_k) == 144, "q4_k block");
_Static_assert(sizeof(ingot_block_q5_k) == 176, "q5_k block");
_Static_assert(sizeof(ingot_block_q6_k) == 210, "q6_k block");
_Static_assert(sizeof(ingot_block_q8_k) == 292, "q8_k block");
_Static_assert(sizeof(ingot_block_f8_r32) == 33, "f8_e4m3_r32 block");
_Static_assert(offsetof(ingot_block_q2_k, d) == 80, "q2_k d offset");
_Static_assert(offsetof(ingot_block_q3_k, d) == 108, "q3_k d offset");
_Static_assert(offsetof(ingot_block_q5_k, qs) == 48, "q5_k qs offset");
_Static_assert(offsetof(ingot_block_q6_k, d) == 208, "q6_k d offset");
_Static_assert(offsetof(ingot_block_q8_k, bsums) == 260, "q8_k bsums offset");

// IQ4_NL grid (GGML kvalues_iq4nl) and the midpoints between neighbours
// (mid[i] between grid i and i + 1, mid[15] = +inf): the nearest grid index
// of v is the number of midpoints ≤ v.
extern const int8_t ingot_iq4nl_values[16];
extern float ingot_iq4nl_mid[16];

// One-time setup of the lookup tables the kernels read; run by
// ingot_quant_init (pthread_once) before any kernel is reachable.
void ingot_quant_init(void);
void ingot_quant_legacy_init(void);
void ingot_quant_float_init(void);
// E4M3 byte → f32 (NaN for 0x7f / 0xff).
extern float ingot_e4m3_lut[256];

// ---- helpers ----------------------------------------------------------------
static inline float ingot_h2f(uint16_t h) { return ingot_f16_to_f32(h); }
static inline uint16_t ingot_f2h(float f) { return ingot_f32_to_f16(f); }
// Round half to even (the rounding every SIMD path uses). Adding 1.5·2^23
// leaves the sum in [2^23, 2^24), where the float grid is the integers, so
// the one rounding of the add is the answer (|f| < 2^22). nearbyintf gives
// the same but saves and restores the FP environment on every call.
static inline int ingot_nearest_int(float f) {
    if (!(fabsf(f) < 4194304.0f)) return f > 0 ? 4194304 : -4194304; // also NaN → −2^22
    const float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// Q4_K / Q5_K 6-bit scale and min of sub-block j (0..7).
static inline void ingot_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// All 8 scales and mins of a Q4_K / Q5_K block at once (same values as
// ingot_k4_scale_min): with words a = s[0..3], b = s[4..7], c = s[8..11],
// scales 0-3 = a & 63, mins 0-3 = b & 63, scales 4-7 = low nibbles of c
// plus the top 2 bits of a, mins 4-7 = high nibbles of c plus those of b.
// As words (bytes in little-endian order): w[0] = scales 0-3, w[1] =
// scales 4-7, w[2] = mins 0-3, w[3] = mins 4-7; SIMD code builds its
// vectors from them without a trip through memory.
static inline void ingot_k4_words(const uint8_t *s, uint32_t w[4]) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    w[0] = a & 0x3f3f3f3fu;
    w[1] = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    w[2] = b & 0x3f3f3f3fu;
    w[3] = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
}
static inline void ingot_k4_unpack(const uint8_t *s, uint8_t *sc, uint8_t *m) {
    uint32_t w[4];
    ingot_k4_words(s, w);
    memcpy(sc, w, 8);
    memcpy(m, w + 2, 8);
}

// Q3_K signed 6-bit scale of sub-block j (0..15).
static inline int ingot_q3_k_scale(const uint8_t *s, int j) {
    const int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// All 16 Q3_K scales at once (same values as ingot_q3_k_scale): with words
// a = s[0..3], b = s[4..7], c = s[8..11], scales 0-3 / 4-7 / 8-11 / 12-15
// take the low nibbles of a / b, the high nibbles of a / b, and 2 bits of c
// at shifts 0 / 2 / 4 / 6.
static inline void ingot_q3_k_unpack(const uint8_t *s, int8_t *sc) {
    uint32_t a, b, c, v[4];
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    v[0] = (a & 0x0f0f0f0fu) | ((c & 0x03030303u) << 4);
    v[1] = (b & 0x0f0f0f0fu) | (((c >> 2) & 0x03030303u) << 4);
    v[2] = ((a >> 4) & 0x0f0f0f0fu) | (((c >> 4) & 0x03030303u) << 4);
    v[3] = ((b >> 4) & 0x0f0f0f0fu) | (((c >> 6) & 0x03030303u) << 4);
    uint8_t u[16];
    memcpy(u, v, 16);
    for (int j = 0; j < 16; j++) sc[j] = (int8_t)(u[j] - 32);
}

// Sum of 16 floats: lanes l and l + 8, then halving (8 → 4 → 2 → 1).
static inline float ingot_sum16(const float *p) {
    float a[8];
    for (int l = 0; l < 8; l++) a[l] = p[l] + p[l + 8];
    for (int w = 4; w >= 1; w >>= 1)
        for (int l = 0; l < w; l++) a[l] = a[l] + a[l + w];
    return a[0];
}

// Sum of 32 floats in the fixed order every SIMD path reproduces: lanes
// l and l + 16 first, then halving (16 → 8 → 4 → 2 → 1).
static inline float ingot_sum32(const float *p) {
    float a[16];
    for (int l = 0; l < 16; l++) a[l] = p[l] + p[l + 16];
    for (int w = 8; w >= 1; w >>= 1)
        for (int l = 0; l < w; l++) a[l] = a[l] + a[l + w];
    return a[0];
}

// Affine sub-block fit shared by the scalar and SIMD searches (so both
// decide alike): candidate inverse scale `is` (−1: plain nmax / range)...
static inline float ingot_affine_iscale(int is, int nmax, float rmin, float rdelta, float range) {
    return (is < 0 ? (float)nmax : rmin + rdelta * (float)is + (float)nmax) / range;
}
// ...and the weighted least-squares (s, m) for fixed levels, m ≤ 0, with
// its weighted error. sw, swx, swx2: Σw, Σwx, Σwx²; sl, sl2, slx: ΣwL,
// ΣwL², ΣwLx. Returns 0 when the levels admit no fit.
static inline int ingot_affine_fit(double sw, double swx, double swx2, double sl, double sl2, double slx, double *s,
                                   double *m, double *err) {
    const double det = sw * sl2 - sl * sl;
    if (det > 0) {
        *s = (sw * slx - swx * sl) / det;
        *m = (sl2 * swx - sl * slx) / det;
        if (*m > 0) {
            *m = 0;
            *s = slx / sl2;
        }
    } else if (sl2 > 0) {
        *m = 0;
        *s = slx / sl2;
    } else {
        return 0;
    }
    *err = swx2 + *s * *s * sl2 + *m * *m * sw + 2 * *s * *m * sl - 2 * *s * slx - 2 * *m * swx;
    return 1;
}

// Q4_K / Q5_K quantizer pieces, swappable for SIMD twins that produce the
// same bytes.
typedef struct ingot_k45_kernels {
    // Error weights of one 256-value super-block (see quant_ref_kquants.c).
    void (*weights)(const float *x, const float *im, float *w);
    // Searched fit of 32 values: returns s, sets L[32] and *m_out (x ≈ s·L − m).
    float (*search)(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep, float rmin,
                    float rdelta);
    // Final levels of 32 values: L = clamp(nearest((x + dm) / dl), 0, nmax).
    void (*levels)(int nmax, const float *x, float dl, float dm, uint8_t *L);
    // Weighted squared error of 32 values decoded as dl·L − dm with those
    // levels (ingot_sum32 of w·diff·diff).
    float (*error32)(int nmax, const float *x, const float *w, float dl, float dm);
} ingot_k45_kernels;
void ingot_kquant_weights_ref(const float *x, const float *im, float *w);
float ingot_affine_search32_ref(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                float rmin, float rdelta);
void ingot_k45_levels32_ref(int nmax, const float *x, float dl, float dm, uint8_t *L);
float ingot_k45_error32_ref(int nmax, const float *x, const float *w, float dl, float dm);
// k NULL: round-to-nearest baseline.
void ingot_q4_k_quantize_row_with(const float *x, void *y, int64_t n, const float *imatrix,
                                  const ingot_k45_kernels *k);
void ingot_q5_k_quantize_row_with(const float *x, void *y, int64_t n, const float *imatrix,
                                  const ingot_k45_kernels *k);

// Q2_K quantizer pieces (16-value affine sub-blocks), swappable for SIMD twins.
typedef struct ingot_k2_kernels {
    void (*weights)(const float *x, const float *im, float *w);
    // As ingot_k45_kernels.search, for 16 values.
    float (*search16)(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep, float rmin,
                      float rdelta);
    // L[16] = clamp(nearest((x + dm) / dl), 0, nmax) (0 when dl = 0).
    void (*levels16)(int nmax, const float *x, float dl, float dm, uint8_t *L);
} ingot_k2_kernels;
float ingot_affine_search16_ref(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                float rmin, float rdelta);
void ingot_affine_levels16_ref(int nmax, const float *x, float dl, float dm, uint8_t *L);
// k NULL: round-to-nearest baseline.
void ingot_q2_k_quantize_row_with(const float *x, void *y, int64_t n, const float *imatrix,
                                  const ingot_k2_kernels *k);

// Q3_K / Q6_K (symmetric) quantizer pieces, swappable for SIMD twins.
typedef struct ingot_sym_kernels {
    void (*weights)(const float *x, const float *im, float *w);
    // Searched scale of 16 values: x ≈ s·L, L in [−nmax, nmax − 1].
    float (*fit16)(int nmax, const float *x, const float *w);
    // L[16] = clamp(nearest(x / dl), −nmax, nmax − 1) + nmax, dl ≠ 0.
    void (*levels16)(int nmax, const float *x, float dl, uint8_t *L);
} ingot_sym_kernels;
float ingot_sym_fit16_ref(int nmax, const float *x, const float *w);
void ingot_sym_levels16_ref(int nmax, const float *x, float dl, uint8_t *L);
// k NULL: round-to-nearest baseline.
void ingot_q3_k_quantize_row_with(const float *x, void *y, int64_t n, const float *imatrix,
                                  const ingot_sym_kernels *k);
void ingot_q6_k_quantize_row_with(const float *x, void *y, int64_t n, const float *imatrix,
                                  const ingot_sym_kernels *k);

// ---- kernels ----------------------------------------------------------------
#define INGOT_QUANT_DECLARE(t, sfx)                                                        \
    void ingot_##t##_quantize_row_##sfx(const float *x, void *y, int64_t n, const float *imatrix); \
    void ingot_##t##_dequantize_row_##sfx(const void *x, float *y, int64_t n);              \
    void ingot_##t##_vec_dot_##sfx(int64_t n, float *s, const void *x, const void *y);

INGOT_QUANT_DECLARE(f32, ref)
INGOT_QUANT_DECLARE(f16, ref)
INGOT_QUANT_DECLARE(bf16, ref)
INGOT_QUANT_DECLARE(q8_0, ref)
INGOT_QUANT_DECLARE(q4_0, ref)
INGOT_QUANT_DECLARE(q4_1, ref)
INGOT_QUANT_DECLARE(q5_0, ref)
INGOT_QUANT_DECLARE(q5_1, ref)
INGOT_QUANT_DECLARE(iq4_nl, ref)
INGOT_QUANT_DECLARE(q2_k, ref)
INGOT_QUANT_DECLARE(q3_k, ref)
INGOT_QUANT_DECLARE(q4_k, ref)
INGOT_QUANT_DECLARE(q5_k, ref)
INGOT_QUANT_DECLARE(q6_k, ref)
INGOT_QUANT_DECLARE(q8_k, ref)
INGOT_QUANT_DECLARE(f8_r32, ref)

// Plain round-to-nearest quantizers of the searched layouts (min/max
// scales, no search, no weighting): the baseline the searched quantizers
// must beat. Same output layout as the type's quantize_row.
void ingot_q2_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);
void ingot_q3_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);
void ingot_q4_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);
void ingot_q5_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);
void ingot_q6_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);
void ingot_iq4_nl_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix);

// f8_e4m3_b128: encode the 128-row band `band` (rows and its scale row).
void ingot_b128_quantize_band(const float *x, int64_t n_rows, int64_t n_cols, int64_t band, void *tensor);

// SIMD twins: installed into the dispatch tables by quant_traits.c.
void ingot_quant_install_avx2(ingot_quant_traits *tab);
void ingot_quant_install_avx512(ingot_quant_traits *tab);
// K-quant dots with VNNI, VBMI and GFNI (quant_avx512_kdot.c); no-op without them.
void ingot_quant_install_avx512_kdot(ingot_quant_traits *tab);
void ingot_quant_install_avx512_f8(ingot_quant_traits *tab); // quant_avx512_f8.c, called by the above

#endif
