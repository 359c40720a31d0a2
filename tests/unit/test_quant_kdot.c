// vec_dot of the K-quant types (q2_k … q6_k) against Q8_K activations at
// every SIMD level, against vec_dot_ref on raw blocks rather than quantizer
// output: random bytes (every scale, min and level the layouts can hold,
// q6_k scales down to -128), all-ones, all-zero and alternating blocks,
// random finite f16 scales; activations random or at -127 / 127 with
// matching bsums. Row lengths of 1 to 9 and 33 super-blocks, rows at
// several offsets within a cache line, and each row once more in a buffer
// that ends where the row ends (so a sanitizer build sees any read past it).
#include <stdint.h>

#include "ingot/dtype.h"
#include "ingot/quantize.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

// Weight type, byte offsets of its f16 fields (d, then dmin or -1), and
// the largest min (dmin multiplier) its scales can hold.
typedef struct ktype {
    ingot_dtype dtype;
    int d_off, dmin_off, max_min;
} ktype;
static const ktype k_types[] = {
    {INGOT_DTYPE_Q2_K, 80, 82, 15}, {INGOT_DTYPE_Q3_K, 108, -1, 0}, {INGOT_DTYPE_Q4_K, 0, 2, 63},
    {INGOT_DTYPE_Q5_K, 0, 2, 63},   {INGOT_DTYPE_Q6_K, 208, -1, 0},
};
#define N_TYPES (sizeof k_types / sizeof *k_types)
enum { Q8K_BYTES = 292, Q8K_QS = 4, Q8K_BSUMS = 260 };

// A finite f16 of magnitude 2^lo .. 2^hi, random sign.
static uint16_t rand_half(uint64_t *s, int lo, int hi) {
    const uint64_t r = rng_next(s);
    const float mant = 1.0f + (float)(r & 0xffff) / 65536.0f;
    const float v = ldexpf(mant, lo + (int)((r >> 16) % (uint64_t)(hi - lo + 1)));
    return ingot_f32_to_f16(r >> 40 & 1 ? -v : v);
}

// nb weight blocks; pattern 0 random bytes, 1 all ones, 2 all zeros,
// 3 alternating 0x7f / 0x80; f16 fields random.
static void fill_weights(uint8_t *p, const ktype *kt, size_t bytes, int nb, int pattern, uint64_t *s) {
    for (int b = 0; b < nb; b++, p += bytes) {
        for (size_t j = 0; j < bytes; j++) {
            const uint8_t r = (uint8_t)rng_next(s);
            p[j] = pattern == 0 ? r : pattern == 1 ? 0xff : pattern == 2 ? 0x00 : (j & 1 ? 0x7f : 0x80);
        }
        uint16_t h = rand_half(s, -12, -3);
        memcpy(p + kt->d_off, &h, 2);
        if (kt->dmin_off >= 0) {
            h = rand_half(s, -12, -3);
            memcpy(p + kt->dmin_off, &h, 2);
        }
    }
}

// nb Q8_K blocks: d random finite; qs (pattern) 0 random in [-127, 127],
// 1 all 127, 2 all -127, 3 alternating -127 / 127; bsums the sums of
// each 16 qs.
static void fill_act(uint8_t *p, int nb, int pattern, uint64_t *s) {
    for (int b = 0; b < nb; b++, p += Q8K_BYTES) {
        const float d = ingot_f16_to_f32(rand_half(s, -10, -4));
        memcpy(p, &d, 4);
        int8_t *q = (int8_t *)(p + Q8K_QS);
        for (int j = 0; j < 256; j++)
            q[j] = (int8_t)(pattern == 1 ? 127 : pattern == 2 ? -127 : pattern == 3 ? (j & 1 ? 127 : -127)
                                                                   : (int)(rng_next(s) % 255) - 127);
        for (int g = 0; g < 16; g++) {
            int16_t sum = 0;
            for (int j = 0; j < 16; j++) sum = (int16_t)(sum + q[16 * g + j]);
            memcpy(p + Q8K_BSUMS + 2 * g, &sum, 2);
        }
    }
}

// vec_dot at every level within 1e-5 of Σ (|x| + 2 |dmin| max_min) |y|
// (the decoded weight is d·sc·q − dmin·m; the bound covers both terms).
static int check_dots(const ktype *kt, const uint8_t *x, const uint8_t *y, int nb, const char *where) {
    const ingot_quant_traits *qt = ingot_quant_get(kt->dtype), *at = ingot_quant_get(INGOT_DTYPE_Q8_K);
    const int n = nb * 256;
    float *xf = malloc(sizeof(float) * (size_t)n), *yf = malloc(sizeof(float) * (size_t)n);
    CHECK(xf && yf);
    qt->dequantize_row_ref(x, xf, n);
    at->dequantize_row_ref(y, yf, n);
    double mag = 0;
    for (int i = 0; i < n; i++) {
        double m = 0;
        if (kt->dmin_off >= 0) {
            uint16_t h;
            memcpy(&h, x + (size_t)(i / 256) * qt->type_size + kt->dmin_off, 2);
            m = 2.0 * kt->max_min * fabs((double)ingot_f16_to_f32(h));
        }
        mag += (fabs((double)xf[i]) + m) * fabs((double)yf[i]);
    }
    float want;
    qt->vec_dot_ref(n, &want, x, y);
    const ingot_simd_level top = ingot_simd_detect();
    for (int l = INGOT_SIMD_SCALAR; l <= (int)top; l++) {
        if ((int)ingot_simd_set((ingot_simd_level)l) != l) continue;
        float got;
        ingot_quant_get(kt->dtype)->vec_dot(n, &got, x, y);
        CHECK_MSG(fabs((double)got - want) <= 1e-5 * mag, "%s level %d nb %d %s: %.9g vs ref %.9g", qt->name, l, nb,
                  where, (double)got, (double)want);
    }
    ingot_simd_set(top);
    free(xf), free(yf);
    return 0;
}

// One row pair at weight offset xo (even) and activation offset yo (a
// multiple of 4) in 64-byte aligned buffers, then the same bytes in
// buffers of exactly the row's size.
static int check_row(const ktype *kt, int nb, int xo, int yo, int pattern, int act_pattern, uint64_t *seed) {
    const size_t xbytes = (size_t)nb * ingot_quant_get(kt->dtype)->type_size, ybytes = (size_t)nb * Q8K_BYTES;
    uint8_t *xb = aligned_alloc(64, (xbytes + 127) / 64 * 64), *yb = aligned_alloc(64, (ybytes + 127) / 64 * 64);
    uint8_t *xe = malloc(xbytes), *ye = malloc(ybytes);
    CHECK(xb && yb && xe && ye);
    fill_weights(xb + xo, kt, ingot_quant_get(kt->dtype)->type_size, nb, pattern, seed);
    fill_act(yb + yo, nb, act_pattern, seed);
    memcpy(xe, xb + xo, xbytes);
    memcpy(ye, yb + yo, ybytes);
    char where[64];
    snprintf(where, sizeof where, "offsets %d/%d patterns %d/%d", xo, yo, pattern, act_pattern);
    if (check_dots(kt, xb + xo, yb + yo, nb, where)) return 1;
    if (check_dots(kt, xe, ye, nb, "exact-size buffers")) return 1;
    free(xb), free(yb), free(xe), free(ye);
    return 0;
}

static int test_quant_kdot_raw_blocks(void) {
    static const int k_nb[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 33};
    uint64_t seed = 1234;
    for (size_t t = 0; t < N_TYPES; t++) {
        CHECK_EQ_INT(ingot_quant_get(k_types[t].dtype)->vec_dot_type, INGOT_DTYPE_Q8_K);
        for (size_t k = 0; k < sizeof k_nb / sizeof *k_nb; k++)
            for (int yo = 0; yo < 64; yo += 4) {
                const int xo = (int)(2 * (rng_next(&seed) % 32));
                if (check_row(&k_types[t], k_nb[k], xo, yo, (int)((k + (size_t)yo / 4) % 4), 0, &seed)) return 1;
            }
    }
    return 0;
}

// Every weight pattern on long rows with activations all 127, all -127
// or alternating: the int16 partial sums of the SIMD kernels (largest:
// q6_k, 4 · 63 · 127) neither saturate nor lose the offset and min terms.
static int test_quant_kdot_extremes(void) {
    uint64_t seed = 77;
    for (size_t t = 0; t < N_TYPES; t++)
        for (int pattern = 0; pattern < 4; pattern++)
            for (int act = 1; act <= 3; act++)
                if (check_row(&k_types[t], 64 + 1, 2 * (pattern + act), 4 * act, pattern, act, &seed)) return 1;
    return 0;
}

INGOT_TEST_MAIN(T(quant_kdot_raw_blocks), T(quant_kdot_extremes))
