// vec_dot of the 32-value block types (q8_0, q4_0, q4_1, q5_0, q5_1,
// iq4_nl) at every SIMD level against vec_dot_ref on raw blocks: every
// byte value (all levels, q8_0 weights down to -128), random finite scales,
// row lengths that leave every remainder of the kernels' 2-, 4- and
// 8-block steps, and rows placed at every even byte offset within a cache
// line (the kernels read activations as aligned lines where they can and
// fall back to unaligned loads elsewhere).
#include <stdint.h>

#include "ingot/dtype.h"
#include "ingot/quantize.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

static const ingot_dtype k_types[] = {INGOT_DTYPE_Q8_0, INGOT_DTYPE_Q4_0, INGOT_DTYPE_Q4_1,
                                      INGOT_DTYPE_Q5_0, INGOT_DTYPE_Q5_1, INGOT_DTYPE_IQ4_NL};
#define N_TYPES (sizeof k_types / sizeof *k_types)

// A finite f16 of magnitude 2^lo .. 2^hi, random sign.
static uint16_t rand_half(uint64_t *s, int lo, int hi) {
    const uint64_t r = rng_next(s);
    const float mant = 1.0f + (float)(r & 0xffff) / 65536.0f;
    const float v = ldexpf(mant, lo + (int)((r >> 16) % (uint64_t)(hi - lo + 1)));
    return ingot_f32_to_f16(r >> 40 & 1 ? -v : v);
}

// nb raw blocks of `bytes` each, f16 fields at byte 0 (d) and, for the _1
// types, 2 (m); other bytes: pattern 0 random, 1 all ones, 2 all zeros,
// 3 alternating `lowest` / 0x7f. Activations take lowest = 0x81: their
// quantizer never writes -128 (d = amax / 127), and the SIMD kernels may
// negate activation bytes.
static void fill_blocks(uint8_t *p, size_t bytes, int nb, int n_half, int pattern, uint8_t lowest, uint64_t *s) {
    for (int b = 0; b < nb; b++, p += bytes) {
        for (size_t j = 0; j < bytes; j++) {
            uint8_t r = (uint8_t)rng_next(s);
            if (r == 0x80) r = lowest;
            p[j] = pattern == 0 ? r : pattern == 1 ? 0xff : pattern == 2 ? 0x00 : (j & 1 ? 0x7f : lowest);
        }
        for (int h = 0; h < n_half; h++) {
            const uint16_t v = rand_half(s, -12, -3);
            memcpy(p + 2 * h, &v, 2);
        }
    }
}

// One row pair at weight offset xo and activation offset yo (bytes into a
// 64-byte aligned buffer): vec_dot at every level within 1e-5 of the sum
// of |products| (over-estimated for the _1 types by 2|m| per weight).
static int check_row(const ingot_quant_traits *qt, int nb, int xo, int yo, int pattern, uint64_t *seed) {
    const ingot_quant_traits *at = ingot_quant_get(INGOT_DTYPE_Q8_0);
    const ingot_dtype_traits *xd = ingot_dtype_get(qt->dtype), *yd = ingot_dtype_get(INGOT_DTYPE_Q8_0);
    const int affine = qt->dtype == INGOT_DTYPE_Q4_1 || qt->dtype == INGOT_DTYPE_Q5_1;
    const int n = nb * 32;
    uint8_t *xb = aligned_alloc(64, 64 * (size_t)(nb + 2)), *yb = aligned_alloc(64, 64 * (size_t)(nb + 2));
    float *xf = malloc(sizeof(float) * (size_t)n), *yf = malloc(sizeof(float) * (size_t)n);
    CHECK(xb && yb && xf && yf);
    fill_blocks(xb + xo, xd->type_size, nb, affine ? 2 : 1, pattern, 0x80, seed);
    fill_blocks(yb + yo, yd->type_size, nb, 1, pattern == 3 ? 3 : 0, 0x81, seed);
    qt->dequantize_row_ref(xb + xo, xf, n);
    at->dequantize_row_ref(yb + yo, yf, n);
    double mag = 0;
    for (int i = 0; i < n; i++) {
        double m = 0;
        if (affine) {
            uint16_t h;
            memcpy(&h, xb + xo + (size_t)(i / 32) * xd->type_size + 2, 2);
            m = fabs((double)ingot_f16_to_f32(h));
        }
        mag += (fabs((double)xf[i]) + 2 * m) * fabs((double)yf[i]);
    }
    float want;
    qt->vec_dot_ref(n, &want, xb + xo, yb + yo);
    const ingot_simd_level top = ingot_simd_detect();
    for (int l = INGOT_SIMD_SCALAR; l <= (int)top; l++) {
        if ((int)ingot_simd_set((ingot_simd_level)l) != l) continue;
        float got;
        ingot_quant_get(qt->dtype)->vec_dot(n, &got, xb + xo, yb + yo);
        CHECK_MSG(fabs((double)got - want) <= 1e-5 * mag, "%s level %d nb %d offsets %d/%d pattern %d: %.9g vs ref %.9g",
                  qt->name, l, nb, xo, yo, pattern, (double)got, (double)want);
    }
    ingot_simd_set(top);
    free(xb), free(yb), free(xf), free(yf);
    return 0;
}

static int test_quant_block_dot_tails_and_offsets(void) {
    static const int k_nb[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 33, 68, 135};
    uint64_t seed = 99;
    for (size_t t = 0; t < N_TYPES; t++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_types[t]);
        CHECK_EQ_INT(qt->vec_dot_type, INGOT_DTYPE_Q8_0);
        for (size_t k = 0; k < sizeof k_nb / sizeof *k_nb; k++)
            for (int yo = 0; yo < 64; yo += 2) {
                const int xo = (int)(2 * (rng_next(&seed) % 32));
                if (check_row(qt, k_nb[k], xo, yo, (int)(k % 4), &seed)) return 1;
            }
    }
    return 0;
}

// Long rows at each pattern (levels all at one extreme, activations at
// -127 / 127): nothing overflows int32 or loses the offset terms.
static int test_quant_block_dot_extremes(void) {
    uint64_t seed = 7;
    for (size_t t = 0; t < N_TYPES; t++)
        for (int pattern = 0; pattern < 4; pattern++)
            for (int yo = 0; yo < 64; yo += 8)
                if (check_row(ingot_quant_get(k_types[t]), 512 + 3, 2 * yo % 64, yo, pattern, &seed)) return 1;
    return 0;
}

INGOT_TEST_MAIN(T(quant_block_dot_tails_and_offsets), T(quant_block_dot_extremes))
