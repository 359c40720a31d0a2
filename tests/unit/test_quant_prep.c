// Kernels on prepared activation rows (ingot_quant_prep_get). Decoding:
// the preparation writes the documented layout (values, −128 × sums of
// four, spread scales, a zero block after an odd last one); the scalar
// _ref dot equals vec_dot_ref bit for bit; every SIMD level with a kernel
// agrees with _ref within float rounding for 1..40 blocks (the four-block
// loop, a pair left, an odd block left), weight rows at every even offset
// 0..62 from a cache line in a buffer that ends where the row ends (ASan
// sees any overread), prepared rows unaligned and exactly sized, raw
// levels with -128 and scales 2^-4..2^4. Prompts: the compact layout, and
// the multi-row kernel at every row count against vec_dot_ref.
//
// Tolerance: 1e-5 × Σ|w_i y_i| + 1e-6 × |ref|, as in test_quant_gemm.c
// (the same integer products per block, summed in another order).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/quantize.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

enum { QK = 32, BLOCK = 34, PAIR = INGOT_PREP_Q8_0_PAIR, MAX_BLOCKS = 40 };

static float h2f(const uint8_t *b) { // IEEE half, little endian
    const uint16_t h = (uint16_t)(b[0] | b[1] << 8);
    const int e = (h >> 10) & 31, m = h & 1023;
    const float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(m | 1024), e - 25);
    return h >> 15 ? -v : v;
}

// One Q8_0 row of nb blocks into dst: raw (random levels with some -128,
// f16 scales with exponent field 11..18) or a quantized Gaussian row.
static void make_row(uint8_t *dst, int nb, bool raw, double sigma, uint64_t *seed) {
    const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
    if (raw) {
        for (int i = 0; i < nb; i++) {
            uint8_t *b = dst + (size_t)i * BLOCK;
            const uint16_t d = (uint16_t)(((11 + rng_next(seed) % 8) << 10) | (rng_next(seed) & 0x3FF));
            b[0] = (uint8_t)d;
            b[1] = (uint8_t)(d >> 8);
            for (int l = 0; l < QK; l++) b[2 + l] = (uint8_t)rng_next(seed);
            b[2 + rng_next(seed) % QK] = 0x80;
        }
        return;
    }
    float x[MAX_BLOCKS * QK];
    for (int i = 0; i < nb * QK; i++) {
        double v = sigma * rng_gauss(seed);
        if (rng_unit(seed) < 0.01) v *= 30.0;
        x[i] = (float)v;
    }
    qt->quantize_row_ref(x, dst, nb * QK, NULL);
}

// Σ|w_i y_i| of two Q8_0 rows.
static double magnitude(const uint8_t *w, const uint8_t *y, int nb) {
    double m = 0;
    for (int i = 0; i < nb; i++) {
        const uint8_t *a = w + (size_t)i * BLOCK, *b = y + (size_t)i * BLOCK;
        const double d = fabs((double)h2f(a) * h2f(b));
        for (int l = 0; l < QK; l++) m += d * abs((int8_t)a[2 + l] * (int8_t)b[2 + l]);
    }
    return m;
}

static int test_quant_prep_table(void) {
    CHECK(ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, INGOT_SIMD_SCALAR) != NULL);
    CHECK(ingot_quant_prep_get(INGOT_DTYPE_Q8_0) == ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, ingot_simd_get()));
    CHECK(ingot_quant_prep_get_level(INGOT_DTYPE_Q4_K, INGOT_SIMD_SCALAR) == NULL);
    CHECK(ingot_quant_prep_get_level(INGOT_DTYPE_F32, INGOT_SIMD_SCALAR) == NULL);
    CHECK(ingot_quant_prep_get((ingot_dtype)-1) == NULL);
    CHECK(ingot_quant_prep_get((ingot_dtype)INGOT_DTYPE_COUNT) == NULL);
    CHECK(ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, (ingot_simd_level)7) == NULL);
    return 0;
}

// The layout, every block count 1..9.
static int test_quant_prep_layout(void) {
    const ingot_prep_traits *pt = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, INGOT_SIMD_SCALAR);
    uint64_t seed = 5;
    for (int nb = 1; nb <= 9; nb++) {
        uint8_t y[9 * BLOCK], p[5 * PAIR + 1];
        make_row(y, nb, true, 0, &seed);
        CHECK_EQ_U64(pt->bytes((int64_t)nb * QK), (uint64_t)((nb + 1) / 2) * PAIR);
        memset(p, 0xEE, sizeof p);
        pt->prepare(y, p, (int64_t)nb * QK);
        CHECK(p[pt->bytes((int64_t)nb * QK)] == 0xEE); // nothing past the end
        for (int i = 0; i < (nb + 1) / 2 * 2; i++) {
            const uint8_t *pair = p + (size_t)(i / 2) * PAIR;
            const int h = i % 2;
            for (int l = 0; l < QK; l++)
                CHECK_MSG((int8_t)pair[h * QK + l] == (i < nb ? (int8_t)y[i * BLOCK + 2 + l] : 0), "nb %d block %d value %d",
                          nb, i, l);
            for (int g = 0; g < 8; g++) {
                int32_t off, want = 0;
                float d;
                memcpy(&off, pair + 64 + 4 * (8 * h + g), 4);
                memcpy(&d, pair + 128 + 4 * (8 * h + g), 4);
                for (int l = 0; l < 4; l++) want += (int8_t)pair[h * QK + 4 * g + l];
                CHECK_MSG(off == -128 * want, "nb %d block %d lane %d: %d vs %d", nb, i, g, off, -128 * want);
                CHECK_MSG(d == (i < nb ? h2f(y + i * BLOCK) : 0.0f), "nb %d block %d scale lane %d", nb, i, g);
            }
        }
    }
    return 0;
}

// _ref == vec_dot_ref bit for bit.
static int test_quant_prep_ref_equals_vec_dot_ref(void) {
    const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
    const ingot_prep_traits *pt = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, INGOT_SIMD_SCALAR);
    uint64_t seed = 17;
    for (int nb = 1; nb <= MAX_BLOCKS; nb++)
        for (int raw = 0; raw < 2; raw++) {
            uint8_t w[MAX_BLOCKS * BLOCK], y[MAX_BLOCKS * BLOCK], p[(MAX_BLOCKS + 1) / 2 * PAIR];
            make_row(w, nb, raw, 0.02, &seed);
            make_row(y, nb, raw, 1.0, &seed);
            pt->prepare(y, p, (int64_t)nb * QK);
            float got, want;
            pt->dot((int64_t)nb * QK, &got, w, p);
            qt->vec_dot_ref((int64_t)nb * QK, &want, w, y);
            CHECK_MSG(got == want, "nb %d raw %d: %.9g vs %.9g", nb, raw, (double)got, (double)want);
        }
    return 0;
}

// Every SIMD level with a kernel against _ref: weight rows at every even
// offset from a cache line in a buffer ending with the row, prepared rows
// exactly sized at an odd address.
static int test_quant_prep_simd_matches_ref(void) {
    const ingot_prep_traits *ref = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, INGOT_SIMD_SCALAR);
    int levels = 0;
    for (int lv = INGOT_SIMD_AVX2; lv <= (int)ingot_simd_detect(); lv++) {
        const ingot_prep_traits *pt = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, (ingot_simd_level)lv);
        if (!pt) continue;
        levels++;
        uint64_t seed = 1000 + (uint64_t)lv;
        for (int nb = 1; nb <= MAX_BLOCKS; nb++)
            for (int raw = 0; raw < 2; raw++) {
                const size_t rb = (size_t)nb * BLOCK, pb = pt->bytes((int64_t)nb * QK);
                uint8_t y[MAX_BLOCKS * BLOCK];
                make_row(y, nb, raw, 1.0, &seed);
                uint8_t *pbuf = malloc(pb + 1), *p = pbuf + 1;
                CHECK(pbuf);
                pt->prepare(y, p, (int64_t)nb * QK);
                for (int at = 0; at < 64; at += 2) { // rows of Q8_0 blocks are 2-byte aligned
                    uint8_t *wbuf = ingot_malloc_aligned(64, rb + (size_t)at), *w = wbuf + at; // ends with the row
                    CHECK(wbuf);
                    make_row(w, nb, raw, 0.02, &seed);
                    float got, want;
                    pt->dot((int64_t)nb * QK, &got, w, p);
                    ref->dot((int64_t)nb * QK, &want, w, p);
                    const double tol = 1e-5 * magnitude(w, y, nb) + 1e-6 * fabs(want);
                    CHECK_MSG(fabs((double)got - want) <= tol, "level %d nb %d raw %d offset %d: %.9g vs %.9g", lv, nb,
                              raw, at, (double)got, (double)want);
                    ingot_free_aligned(wbuf);
                }
                free(pbuf);
            }
    }
    if (!levels) {
        printf("skipped: no SIMD prepared-activation kernel on this CPU\n");
        return INGOT_TEST_SKIP;
    }
    return 0;
}

// Extreme levels: every weight -128 or 127 against activations -128 / 127
// (the unsigned offset and the prepared sums at their largest).
static int test_quant_prep_extremes(void) {
    const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
    const ingot_prep_traits *pt = ingot_quant_prep_get(INGOT_DTYPE_Q8_0);
    if (!pt) {
        printf("skipped: no prepared-activation kernel at this level\n");
        return INGOT_TEST_SKIP;
    }
    for (int c = 0; c < 4; c++) {
        enum { NB = 11 };
        uint8_t w[NB * BLOCK], y[NB * BLOCK], p[(NB + 1) / 2 * PAIR];
        for (int i = 0; i < NB; i++) {
            w[i * BLOCK] = y[i * BLOCK] = 0x00; // d = 2.0 (0x4000)
            w[i * BLOCK + 1] = y[i * BLOCK + 1] = 0x40;
            memset(w + i * BLOCK + 2, c & 1 ? 0x7F : 0x80, QK);
            memset(y + i * BLOCK + 2, c & 2 ? 0x7F : 0x80, QK);
        }
        pt->prepare(y, p, NB * QK);
        float got, want;
        pt->dot(NB * QK, &got, w, p);
        qt->vec_dot_ref(NB * QK, &want, w, y);
        const float lw = c & 1 ? 127.0f : -128.0f, ly = c & 2 ? 127.0f : -128.0f;
        CHECK_MSG(want == 4.0f * lw * ly * NB * QK, "case %d: ref %.9g", c, (double)want);
        CHECK_MSG(got == want, "case %d: %.9g vs %.9g", c, (double)got, (double)want);
    }
    return 0;
}

// The compact layout of prompt rows, every block count 1..9: values, then
// both scales as floats; a zero block after an odd last one.
static int test_quant_prep_rows_layout(void) {
    const ingot_prep_traits *pt = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, INGOT_SIMD_SCALAR);
    uint64_t seed = 9;
    for (int nb = 1; nb <= 9; nb++) {
        uint8_t y[9 * BLOCK], p[5 * INGOT_PREP_Q8_0_ROWS_PAIR + 1];
        make_row(y, nb, true, 0, &seed);
        CHECK_EQ_U64(pt->rows_bytes((int64_t)nb * QK), (uint64_t)((nb + 1) / 2) * INGOT_PREP_Q8_0_ROWS_PAIR);
        memset(p, 0xEE, sizeof p);
        pt->rows_prepare(y, p, (int64_t)nb * QK);
        CHECK(p[pt->rows_bytes((int64_t)nb * QK)] == 0xEE);
        for (int i = 0; i < (nb + 1) / 2 * 2; i++) {
            const uint8_t *pair = p + (size_t)(i / 2) * INGOT_PREP_Q8_0_ROWS_PAIR;
            const int h = i % 2;
            float d;
            memcpy(&d, pair + 64 + 4 * h, 4);
            CHECK_MSG(d == (i < nb ? h2f(y + i * BLOCK) : 0.0f), "nb %d block %d scale", nb, i);
            for (int l = 0; l < QK; l++)
                CHECK_MSG((int8_t)pair[h * QK + l] == (i < nb ? (int8_t)y[i * BLOCK + 2 + l] : 0), "nb %d block %d value %d",
                          nb, i, l);
        }
    }
    return 0;
}

// Quantized activation rows (values within ±127, as quantize_row makes
// them), or rows of ±127 levels with raw scales.
static void make_act(uint8_t *dst, int nb, bool raw, uint64_t *seed) {
    make_row(dst, nb, raw, 1.0, seed);
    if (!raw) return;
    for (int i = 0; i < nb * BLOCK; i++)
        if (i % BLOCK >= 2 && dst[i] == 0x80) dst[i] = (uint8_t)(rng_next(seed) & 1 ? 0x7F : 0x81);
}

// The multi-row kernel on compact rows: every row count 1..INGOT_GEMM_MAX_ROWS,
// rows at a stride larger than their size (the last one ending the
// buffer), outputs at a stride with the cells between untouched, 1..40
// blocks, raw weights with -128; _ref equals vec_dot_ref bit for bit,
// every SIMD level agrees within float rounding.
static int test_quant_prep_gemm(void) {
    const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
    enum { NR = INGOT_GEMM_MAX_ROWS, LDS = 3 };
    uint64_t seed = 77;
    int levels = 0;
    for (int lv = INGOT_SIMD_SCALAR; lv <= (int)ingot_simd_detect(); lv++) {
        const ingot_prep_traits *pt = ingot_quant_prep_get_level(INGOT_DTYPE_Q8_0, (ingot_simd_level)lv);
        if (!pt) continue;
        levels++;
        for (int nb = 1; nb <= MAX_BLOCKS; nb += nb < 9 ? 1 : 7)
            for (int raw = 0; raw < 2; raw++) {
                const size_t rb = (size_t)nb * BLOCK, pb = pt->rows_bytes((int64_t)nb * QK), ldp = pb + 20;
                uint8_t *w = ingot_malloc_aligned(64, rb), *y = malloc(NR * rb), *p = malloc((NR - 1) * ldp + pb);
                CHECK(w && y && p);
                make_row(w, nb, raw, 0.02, &seed);
                for (int j = 0; j < NR; j++) {
                    make_act(y + j * rb, nb, raw, &seed);
                    pt->rows_prepare(y + j * rb, p + j * ldp, (int64_t)nb * QK);
                }
                for (int nr = 1; nr <= NR; nr++) {
                    float out[NR * LDS];
                    for (int k = 0; k < NR * LDS; k++) out[k] = -7.0f;
                    pt->gemm((int64_t)nb * QK, out, LDS, w, p + (NR - nr) * ldp, ldp, nr);
                    for (int k = 0; k < NR * LDS; k++) {
                        if (k % LDS || k / LDS >= nr) {
                            CHECK_MSG(out[k] == -7.0f, "level %d nb %d nr %d: cell %d written", lv, nb, nr, k);
                            continue;
                        }
                        const uint8_t *yj = y + (NR - nr + k / LDS) * rb;
                        float want;
                        qt->vec_dot_ref((int64_t)nb * QK, &want, w, yj);
                        const double tol = lv == INGOT_SIMD_SCALAR ? 0 : 1e-5 * magnitude(w, yj, nb) + 1e-6 * fabs(want);
                        CHECK_MSG(fabs((double)out[k] - want) <= tol, "level %d nb %d raw %d nr %d row %d: %.9g vs %.9g",
                                  lv, nb, raw, nr, k / LDS, (double)out[k], (double)want);
                    }
                }
                ingot_free_aligned(w);
                free(y);
                free(p);
            }
    }
    CHECK(levels >= 1); // SCALAR always has the _ref set
    return 0;
}

INGOT_TEST_MAIN(T(quant_prep_table), T(quant_prep_layout), T(quant_prep_ref_equals_vec_dot_ref),
                T(quant_prep_simd_matches_ref), T(quant_prep_extremes), T(quant_prep_rows_layout),
                T(quant_prep_gemm))
