// Scalar float conversions: f16, bf16, OCP FP8 (E4M3, E5M2), E8M0, and the
// decoding of plain safetensors element types to f32.
#include <math.h>
#include <string.h>

#include "ingot/dtype.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float ingot_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        // subnormal: value = man * 2^-24
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ingot_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) // inf or nan
        return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); // rounds to ≥ 65520 → inf
    if (ax < 0x38800000u) {                                    // below smallest normal 2^-14
        // subnormal or zero: round ax * 2^24 to nearest even integer
        float a = bits_f32(ax);
        float scaled = a * 0x1p24f;              // exact: power-of-two scale
        uint32_t r = (uint32_t)nearbyintf(scaled); // default rounding mode is RNE
        return (uint16_t)(sign | r);              // r ≤ 0x400 rolls into the exponent correctly
    }
    uint32_t exp = (ax >> 23) - 112;
    uint32_t man = ax & 0x7fffff;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float ingot_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ingot_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); // quiet nan
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

float ingot_e4m3_to_f32(uint8_t v) {
    uint32_t sign = v >> 7;
    uint32_t exp = (v >> 3) & 0xf;
    uint32_t man = v & 7;
    float r;
    if (exp == 0xf && man == 7) return bits_f32((sign << 31) | 0x7fc00000u);
    if (exp == 0)
        r = (float)man * 0x1p-9f; // subnormal: man/8 * 2^-6
    else
        r = bits_f32(((exp + 120) << 23) | (man << 20));
    return sign ? -r : r;
}

float ingot_e5m2_to_f32(uint8_t v) { return ingot_f16_to_f32((uint16_t)v << 8); }

uint8_t ingot_f32_to_e4m3(float f) {
    uint32_t x = f32_bits(f);
    uint8_t sign = (uint8_t)((x >> 24) & 0x80);
    float a = fabsf(f);
    if (isnan(f)) return (uint8_t)(sign | 0x7f);
    if (a >= 464.0f) return (uint8_t)(sign | 0x7e); // saturate (464 is the midpoint 448↔480)
    if (a < 0x1p-6f) {
        // subnormal grid step 2^-9: round to nearest even multiple
        uint32_t q = (uint32_t)nearbyintf(a * 0x1p9f);
        return (uint8_t)(sign | q); // q == 8 becomes the smallest normal 0x08
    }
    uint32_t ax = f32_bits(a);
    uint32_t exp = (ax >> 23) - 120;
    uint32_t man = ax & 0x7fffff;
    uint32_t r = (exp << 3) | (man >> 20);
    uint32_t rem = man & 0xfffff;
    if (rem > 0x80000 || (rem == 0x80000 && (r & 1))) r++;
    if (r > 0x7e) r = 0x7e;
    return (uint8_t)(sign | r);
}

float ingot_e8m0_to_f32(uint8_t v) {
    if (v == 0xff) return NAN;
    if (v == 0) return 0x1p-127f;
    return bits_f32((uint32_t)v << 23);
}

uint8_t ingot_f32_to_e8m0_ceil(float f) {
    if (!(f > 0)) return 0;
    if (isinf(f)) return 0xfe;
    int e;
    float m = frexpf(f, &e); // f = m * 2^e, m in [0.5, 1)
    int k = (m == 0.5f) ? e - 1 : e;
    int v = k + 127;
    if (v < 0) v = 0;
    if (v > 254) v = 254;
    return (uint8_t)v;
}

#define DECODE_LOOP(T, EXPR)                                                  \
    do {                                                                      \
        const uint8_t *s = src;                                               \
        for (size_t i = 0; i < n; i++) {                                      \
            T v;                                                              \
            memcpy(&v, s + i * sizeof(T), sizeof(T));                         \
            dst[i] = (EXPR);                                                  \
        }                                                                     \
    } while (0)

bool ingot_dtype_decode_f32(ingot_dtype t, const void *src, size_t n, float *dst) {
    switch (t) {
    case INGOT_DTYPE_F32: memcpy(dst, src, n * 4); return true;
    case INGOT_DTYPE_F16: DECODE_LOOP(uint16_t, ingot_f16_to_f32(v)); return true;
    case INGOT_DTYPE_BF16: DECODE_LOOP(uint16_t, ingot_bf16_to_f32(v)); return true;
    case INGOT_DTYPE_F64: DECODE_LOOP(double, (float)v); return true;
    case INGOT_DTYPE_F8_E4M3: DECODE_LOOP(uint8_t, ingot_e4m3_to_f32(v)); return true;
    case INGOT_DTYPE_F8_E5M2: DECODE_LOOP(uint8_t, ingot_e5m2_to_f32(v)); return true;
    case INGOT_DTYPE_E8M0: DECODE_LOOP(uint8_t, ingot_e8m0_to_f32(v)); return true;
    case INGOT_DTYPE_I64: DECODE_LOOP(int64_t, (float)v); return true;
    case INGOT_DTYPE_I32: DECODE_LOOP(int32_t, (float)v); return true;
    case INGOT_DTYPE_I16: DECODE_LOOP(int16_t, (float)v); return true;
    case INGOT_DTYPE_I8: DECODE_LOOP(int8_t, (float)v); return true;
    case INGOT_DTYPE_U64: DECODE_LOOP(uint64_t, (float)v); return true;
    case INGOT_DTYPE_U32: DECODE_LOOP(uint32_t, (float)v); return true;
    case INGOT_DTYPE_U16: DECODE_LOOP(uint16_t, (float)v); return true;
    case INGOT_DTYPE_U8: DECODE_LOOP(uint8_t, (float)v); return true;
    case INGOT_DTYPE_BOOL: DECODE_LOOP(uint8_t, v ? 1.0f : 0.0f); return true;
    default: return false;
    }
}
