// quantize/: traits table, GGML byte layouts, quantizer error budgets,
// search vs round-to-nearest, importance weighting, Q8_0 closed form, FP8
// decoding against a third-party fixture, f8_e4m3_b128 tiles, SIMD paths vs
// the scalar references, thread-count determinism, argument checks, the
// INGOT_SIMD level cap.
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/quantize.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"
#include "quant_internal.h"

// ---- fixed pseudo-random data ------------------------------------------------------

// Gaussian, sigma 0.02 (a typical weight scale).
static void fill_gauss(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(0.02 * rng_gauss(&seed));
}
// Heavy-tailed: Student-t with 3 degrees of freedom, plus 0.2 % outliers
// ×20 (the shape of real attention/FFN weights with outlier channels).
static void fill_heavy(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        const double z = rng_gauss(&seed);
        double chi = 0;
        for (int k = 0; k < 3; k++) {
            const double g = rng_gauss(&seed);
            chi += g * g;
        }
        double t = z / sqrt(chi / 3.0);
        if (rng_unit(&seed) < 0.002) t *= 20.0;
        x[i] = (float)(0.01 * t);
    }
}

enum { N_ROWS = 32, N_COLS = 1024, N_ALL = N_ROWS * N_COLS };

static const ingot_dtype k_row_types[] = {
    INGOT_DTYPE_F32,  INGOT_DTYPE_F16,  INGOT_DTYPE_BF16, INGOT_DTYPE_Q8_0, INGOT_DTYPE_Q4_0,
    INGOT_DTYPE_Q4_1, INGOT_DTYPE_Q5_0, INGOT_DTYPE_Q5_1, INGOT_DTYPE_Q2_K, INGOT_DTYPE_Q3_K,
    INGOT_DTYPE_Q4_K, INGOT_DTYPE_Q5_K, INGOT_DTYPE_Q6_K, INGOT_DTYPE_IQ4_NL, INGOT_DTYPE_Q8_K,
    INGOT_DTYPE_F8_E4M3_R32,
};
#define N_ROW_TYPES (sizeof k_row_types / sizeof *k_row_types)

static size_t row_bytes(ingot_dtype t, int64_t n) {
    const ingot_dtype_traits *d = ingot_dtype_get(t);
    return (size_t)(n / d->blck) * d->type_size;
}

// Quantize with `fn` row by row and decode with the type's reference decoder.
static void roundtrip(ingot_dtype t, ingot_quantize_row_fn fn, const float *x, float *y, int64_t rows, int64_t cols,
                      const float *im) {
    const ingot_quant_traits *qt = ingot_quant_get(t);
    uint8_t *buf = malloc(row_bytes(t, cols));
    for (int64_t r = 0; r < rows; r++) {
        fn(x + r * cols, buf, cols, im);
        qt->dequantize_row_ref(buf, y + r * cols, cols);
    }
    free(buf);
}

static double rel_rmse(const float *x, const float *y, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    return sqrt(e / s);
}

// ---- traits ---------------------------------------------------------------------------
static int test_quantize_traits_table(void) {
    for (size_t i = 0; i < N_ROW_TYPES; i++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_row_types[i]);
        const ingot_dtype_traits *dt = ingot_dtype_get(k_row_types[i]);
        CHECK_MSG(qt != NULL, "%s", dt->name);
        CHECK_EQ_INT(qt->dtype, k_row_types[i]);
        CHECK_EQ_INT(qt->blck, dt->blck);
        CHECK_EQ_INT(qt->type_size, dt->type_size);
        CHECK(strcmp(qt->name, dt->name) == 0);
        CHECK(qt->quantize_row && qt->quantize_row_ref && qt->dequantize_row && qt->dequantize_row_ref &&
              qt->vec_dot && qt->vec_dot_ref);
        CHECK(ingot_quant_get(qt->vec_dot_type) != NULL);
    }
    CHECK_EQ_INT(ingot_quant_get(INGOT_DTYPE_Q4_K)->vec_dot_type, INGOT_DTYPE_Q8_K);
    CHECK_EQ_INT(ingot_quant_get(INGOT_DTYPE_Q4_0)->vec_dot_type, INGOT_DTYPE_Q8_0);
    CHECK_EQ_INT(ingot_quant_get(INGOT_DTYPE_IQ4_NL)->vec_dot_type, INGOT_DTYPE_Q8_0);
    CHECK_EQ_INT(ingot_quant_get(INGOT_DTYPE_BF16)->vec_dot_type, INGOT_DTYPE_F32);
    CHECK(ingot_quant_get(INGOT_DTYPE_I32) == NULL);
    CHECK(ingot_quant_get(INGOT_DTYPE_F8_E4M3_B128) == NULL);
    CHECK(ingot_quant_get((ingot_dtype)999) == NULL);
    return 0;
}

// ---- layouts --------------------------------------------------------------------------
static int test_quantize_ggml_layout(void) {
    // Q4_0: d = signed max / -8 = 1 (x[0] = -8); q = x + 8. Element j goes to
    // the low nibble of qs[j], element j + 16 to the high nibble.
    float x[256];
    for (int j = 0; j < 16; j++) {
        x[j] = (float)(j - 8);
        x[j + 16] = (float)(7 - j);
    }
    uint8_t b[210];
    ingot_quant_get(INGOT_DTYPE_Q4_0)->quantize_row_ref(x, b, 32, NULL);
    CHECK_EQ_INT(b[0], 0x00); // f16 1.0 = 0x3c00, little endian
    CHECK_EQ_INT(b[1], 0x3c);
    for (int j = 0; j < 16; j++) CHECK_EQ_INT(b[2 + j], j | ((15 - j) << 4));
    // Q8_0: f16 d then int8 values.
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16) * 0.5f;
    ingot_quant_get(INGOT_DTYPE_Q8_0)->quantize_row_ref(x, b, 32, NULL);
    CHECK_EQ_INT(b[2 + 0], (uint8_t)(int8_t)-127);
    CHECK_EQ_INT(b[2 + 16], 0);
    // Q5_0: 5th bits in qh (bytes 2..5) bit j for element j.
    for (int j = 0; j < 32; j++) x[j] = j == 0 ? -16.0f : j == 3 ? 15.0f : 0.0f;
    ingot_quant_get(INGOT_DTYPE_Q5_0)->quantize_row_ref(x, b, 32, NULL);
    uint32_t qh;
    memcpy(&qh, b + 2, 4);
    CHECK_EQ_INT(qh & 1, 0);      // q = 0
    CHECK_EQ_INT((qh >> 3) & 1, 1); // q = 31
    CHECK_EQ_INT((qh >> 1) & 1, 1); // q = 16 (zero)
    CHECK_EQ_INT(b[6 + 3] & 0xF, 15);
    // Q4_K: d at 0, dmin at 2, scales at 4, qs at 16. Sub-block 0 scale 1,
    // sub-block 1 scale 2; qs[0] = 0x21 → element 0 = 1·1·1, element 32 = 1·2·2.
    memset(b, 0, 144);
    b[1] = 0x3c;
    b[4 + 0] = 1;
    b[4 + 1] = 2;
    b[16] = 0x21;
    float y[256];
    ingot_quant_get(INGOT_DTYPE_Q4_K)->dequantize_row_ref(b, y, 256);
    CHECK_NEAR(y[0], 1.0, 0);
    CHECK_NEAR(y[32], 4.0, 0);
    CHECK_NEAR(y[1], 0.0, 0);
    // Q6_K: d at byte 208, scales at 192; element 0 = ql[0] low nibble | qh[0]
    // bits 0-1 << 4, minus 32.
    memset(b, 0, 210);
    b[208] = 0x00;
    b[209] = 0x3c;
    b[192] = 1;
    b[0] = 0x05;
    b[128] = 0x02; // element 0 level 0x25 = 37 → 5
    ingot_quant_get(INGOT_DTYPE_Q6_K)->dequantize_row_ref(b, y, 256);
    CHECK_NEAR(y[0], 5.0, 0);
    CHECK_NEAR(y[1], -32.0, 0);
    // The word-wise 6-bit unpack agrees with the per-sub-block one.
    uint64_t seed = 5;
    for (int t = 0; t < 1000; t++) {
        uint8_t s12[12], sc[8], m[8];
        for (int k = 0; k < 12; k++) s12[k] = (uint8_t)rng_next(&seed);
        ingot_k4_unpack(s12, sc, m);
        for (int j = 0; j < 8; j++) {
            uint8_t s6, m6;
            ingot_k4_scale_min(j, s12, &s6, &m6);
            CHECK_EQ_INT(sc[j], s6);
            CHECK_EQ_INT(m[j], m6);
        }
        int8_t s3[16];
        ingot_q3_k_unpack(s12, s3);
        for (int j = 0; j < 16; j++) CHECK_EQ_INT(s3[j], ingot_q3_k_scale(s12, j));
    }
    return 0;
}

// ---- Q8_0 closed form -----------------------------------------------------------------
static int test_quantize_q8_0_closed_form(void) {
    float *x = malloc(sizeof(float) * N_ALL), *y = malloc(sizeof(float) * N_ALL);
    fill_heavy(x, N_ALL, 1);
    x[5] = 0.5f * 0.01f; // include exact halves after scaling somewhere
    for (int lvl = INGOT_SIMD_SCALAR; lvl <= INGOT_SIMD_AVX512; lvl++) {
        if ((int)ingot_simd_set((ingot_simd_level)lvl) != lvl) continue;
        const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
        uint8_t *q = malloc(row_bytes(INGOT_DTYPE_Q8_0, N_ALL));
        qt->quantize_row(x, q, N_ALL, NULL);
        qt->dequantize_row(q, y, N_ALL);
        for (int64_t b = 0; b < N_ALL / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
            const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
            const float dh = ingot_f16_to_f32(ingot_f32_to_f16(d));
            for (int j = 0; j < 32; j++) {
                const float want = dh * roundf(x[b * 32 + j] * id);
                if (want != y[b * 32 + j])
                    INGOT_FAILF("level %d block %lld elem %d: %.9g != %.9g", lvl, (long long)b, j, y[b * 32 + j],
                                want);
            }
        }
        free(q);
        // Exact halves round away from zero (roundf), not to even: max 127
        // gives d = 1, so x itself is the scaled value.
        float t[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -126.5f, 3.5f};
        ingot_block_q8_0 b;
        qt->quantize_row(t, &b, 32, NULL);
        const int want[8] = {127, 3, -3, 1, -1, 2, -127, 4};
        for (int j = 0; j < 8; j++) CHECK_EQ_INT(b.qs[j], want[j]);
    }
    ingot_simd_set(ingot_simd_detect());
    free(x);
    free(y);
    return 0;
}

// ---- error budgets ----------------------------------------------------------------------
// Budgets are relative RMSE (error RMS / signal RMS). Reasoning: a uniform
// quantizer with step Δ has RMS error Δ/√12. Block-max scaling over 32
// Gaussian values (max|x| ≈ 2.4 σ) gives Δ ≈ 2·2.4σ / (levels − 1) for
// symmetric and (range ≈ 4.2 σ) / (levels − 1) for min/max types, i.e.
// 8 bits: 0.0055, 5 bits: 0.045–0.05, 4 bits: 0.09–0.1. 6-bit scales and
// 16-value sub-blocks (K types) cost a little; searched scales win a
// little back. F16/BF16: half an ulp of a 10/7-bit mantissa, ≈ 2^-11/√3 and
// 2^-8/√3 relative. E4M3 with a power-of-two block scale: 3 mantissa bits,
// ≈ 2^-4/√3 ≈ 0.036. Each budget is that estimate plus ~30 % margin;
// heavy-tailed data (t3 with ×20 outliers) inflates block ranges, so its
// budgets are about 1.7× the Gaussian ones for the 32-value types.
typedef struct budget {
    ingot_dtype t;
    double gauss, heavy;
} budget;
static const budget k_budgets[] = {
    {INGOT_DTYPE_F32, 0, 0},
    {INGOT_DTYPE_F16, 0.0004, 0.0004},
    {INGOT_DTYPE_BF16, 0.003, 0.003},
    {INGOT_DTYPE_Q8_0, 0.0075, 0.012},
    {INGOT_DTYPE_Q5_0, 0.06, 0.10},
    {INGOT_DTYPE_Q5_1, 0.055, 0.09},
    {INGOT_DTYPE_Q4_0, 0.125, 0.20},
    {INGOT_DTYPE_Q4_1, 0.11, 0.18},
    {INGOT_DTYPE_IQ4_NL, 0.11, 0.17},
    {INGOT_DTYPE_Q6_K, 0.03, 0.05},
    {INGOT_DTYPE_Q5_K, 0.055, 0.09},
    {INGOT_DTYPE_Q4_K, 0.11, 0.18},
    {INGOT_DTYPE_Q3_K, 0.22, 0.33},
    {INGOT_DTYPE_Q2_K, 0.42, 0.6},
    // Q8_K: one scale per 256 values: Gaussian max ≈ 2.9 σ → 0.0066; with
    // outliers the 256-block max is often an outlier (×20), hence 0.035.
    {INGOT_DTYPE_Q8_K, 0.009, 0.035},
    {INGOT_DTYPE_F8_E4M3_R32, 0.047, 0.047},
};

static int check_budgets(int heavy) {
    float *x = malloc(sizeof(float) * N_ALL), *y = malloc(sizeof(float) * N_ALL);
    if (heavy) fill_heavy(x, N_ALL, 7);
    else fill_gauss(x, N_ALL, 7);
    for (size_t i = 0; i < sizeof k_budgets / sizeof *k_budgets; i++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_budgets[i].t);
        roundtrip(k_budgets[i].t, qt->quantize_row_ref, x, y, N_ROWS, N_COLS, NULL);
        const double e = rel_rmse(x, y, N_ALL), lim = heavy ? k_budgets[i].heavy : k_budgets[i].gauss;
        printf("%-12s %s relative rmse %.5f (budget %.4f)\n", qt->name, heavy ? "heavy" : "gauss", e, lim);
        CHECK_MSG(e <= lim, "%s: %.5f > %.4f", qt->name, e, lim);
    }
    free(x);
    free(y);
    return 0;
}
static int test_quantize_budget_gaussian(void) { return check_budgets(0); }
static int test_quantize_budget_heavy_tailed(void) { return check_budgets(1); }

// ---- search beats round-to-nearest -------------------------------------------------------
typedef struct rtn_pair {
    ingot_dtype t;
    ingot_quantize_row_fn rtn;
} rtn_pair;
static const rtn_pair k_rtn[] = {
    {INGOT_DTYPE_Q2_K, ingot_q2_k_quantize_row_rtn}, {INGOT_DTYPE_Q3_K, ingot_q3_k_quantize_row_rtn},
    {INGOT_DTYPE_Q4_K, ingot_q4_k_quantize_row_rtn}, {INGOT_DTYPE_Q5_K, ingot_q5_k_quantize_row_rtn},
    {INGOT_DTYPE_Q6_K, ingot_q6_k_quantize_row_rtn}, {INGOT_DTYPE_IQ4_NL, ingot_iq4_nl_quantize_row_rtn},
};

static int test_quantize_search_beats_rtn(void) {
    float *x = malloc(sizeof(float) * N_ALL), *y = malloc(sizeof(float) * N_ALL);
    for (int heavy = 0; heavy <= 1; heavy++) {
        if (heavy) fill_heavy(x, N_ALL, 11);
        else fill_gauss(x, N_ALL, 11);
        for (size_t i = 0; i < sizeof k_rtn / sizeof *k_rtn; i++) {
            const ingot_quant_traits *qt = ingot_quant_get(k_rtn[i].t);
            roundtrip(k_rtn[i].t, qt->quantize_row_ref, x, y, N_ROWS, N_COLS, NULL);
            const double e_search = rel_rmse(x, y, N_ALL);
            roundtrip(k_rtn[i].t, k_rtn[i].rtn, x, y, N_ROWS, N_COLS, NULL);
            const double e_rtn = rel_rmse(x, y, N_ALL);
            printf("%-8s %s searched %.5f rtn %.5f (%.1f%% lower)\n", qt->name, heavy ? "heavy" : "gauss", e_search,
                   e_rtn, 100.0 * (1 - e_search / e_rtn));
            CHECK_MSG(e_search < e_rtn, "%s: searched %.5f >= rtn %.5f", qt->name, e_search, e_rtn);
        }
    }
    free(x);
    free(y);
    return 0;
}

// ---- importance weighting ----------------------------------------------------------------
static int test_quantize_imatrix_lowers_weighted_error(void) {
    float *x = malloc(sizeof(float) * N_ALL), *y = malloc(sizeof(float) * N_ALL), im[N_COLS];
    fill_gauss(x, N_ALL, 21);
    uint64_t s = 99;
    // Per-column importance spread over four decades (log-uniform), as
    // mean squared activations of real layers are.
    for (int j = 0; j < N_COLS; j++) im[j] = (float)pow(10.0, 4.0 * rng_unit(&s) - 2.0);
    for (size_t i = 0; i < sizeof k_rtn / sizeof *k_rtn; i++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_rtn[i].t);
        double e[2];
        for (int with = 0; with <= 1; with++) {
            roundtrip(k_rtn[i].t, qt->quantize_row_ref, x, y, N_ROWS, N_COLS, with ? im : NULL);
            double acc = 0;
            for (int64_t k = 0; k < N_ALL; k++) acc += im[k % N_COLS] * ((double)x[k] - y[k]) * ((double)x[k] - y[k]);
            e[with] = acc;
        }
        printf("%-8s weighted error without %.4g with imatrix %.4g\n", qt->name, e[0], e[1]);
        CHECK_MSG(e[1] < e[0], "%s: %.4g >= %.4g", qt->name, e[1], e[0]);
    }
    free(x);
    free(y);
    return 0;
}

// ---- FP8 ---------------------------------------------------------------------------------
// Minimal safetensors parse of a one-tensor file: header length, JSON with
// "data_offsets":[a,b]; returns the payload pointer and byte count.
static const uint8_t *st_payload(const uint8_t *file, size_t size, size_t *n) {
    if (size < 8) return NULL;
    uint64_t hl;
    memcpy(&hl, file, 8);
    if (hl > size - 8) return NULL;
    const char *h = (const char *)file + 8;
    char tmp[512];
    if (hl >= sizeof tmp) return NULL;
    memcpy(tmp, h, hl);
    tmp[hl] = 0;
    const char *p = strstr(tmp, "\"data_offsets\"");
    unsigned long long a, b;
    if (!p || sscanf(strchr(p, '[') ? strchr(p, '[') : "", "[%llu,%llu]", &a, &b) != 2 || b < a ||
        8 + hl + b > size)
        return NULL;
    *n = (size_t)(b - a);
    return file + 8 + hl + a;
}

static int check_fp8_fixture(const char *dir, const char *q_name, const char *ref_name, float (*dec)(uint8_t),
                             int e4m3) {
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/thirdparty/atenia/fp8_single_tensors/%s", dir, q_name);
    snprintf(p2, sizeof p2, "%s/thirdparty/atenia/fp8_single_tensors/%s", dir, ref_name);
    ingot_file_map m1, m2;
    ingot_err err = {0};
    CHECK_OK(ingot_file_map_open(p1, &m1, &err), &err);
    CHECK_OK(ingot_file_map_open(p2, &m2, &err), &err);
    size_t nq = 0, nr = 0;
    const uint8_t *q = st_payload(m1.data, m1.size, &nq), *r = st_payload(m2.data, m2.size, &nr);
    CHECK(q && r && nr == 4 * nq && nq > 0 && nq <= 32);
    for (size_t i = 0; i < nq; i++) {
        float want, got = dec(q[i]);
        memcpy(&want, r + 4 * i, 4);
        uint32_t a, b;
        memcpy(&a, &got, 4);
        memcpy(&b, &want, 4);
        CHECK_MSG(a == b, "%s[%zu] byte 0x%02x: %.9g != %.9g", q_name, i, q[i], got, want);
    }
    if (e4m3) {
        // The same bytes as one f8_e4m3_r32 block with scale 2^0 decode alike,
        // and as a [3, 4] f8_e4m3_b128 tensor with tile scale 1.
        ingot_block_f8_r32 blk = {.e = 127};
        memcpy(blk.qs, q, nq);
        float y[32];
        ingot_quant_get(INGOT_DTYPE_F8_E4M3_R32)->dequantize_row(&blk, y, 32);
        for (size_t i = 0; i < nq; i++) CHECK_NEAR(y[i], dec(q[i]), 0);
        CHECK_EQ_INT(nq, 12);
        uint8_t t[12 + 4];
        memcpy(t, q, 12);
        const float one = 1.0f;
        memcpy(t + 12, &one, 4);
        for (int row = 0; row < 3; row++) {
            ingot_b128_dequantize_row(t, 3, 4, row, y);
            for (int c = 0; c < 4; c++) CHECK_NEAR(y[c], dec(q[row * 4 + c]), 0);
        }
    }
    ingot_file_map_close(&m1);
    ingot_file_map_close(&m2);
    return 0;
}

static int test_quantize_fp8_fixture_decode(void) {
    SKIP_WITHOUT_FIXTURES(dir);
    if (check_fp8_fixture(dir, "tiny_e4m3.safetensors", "tiny_e4m3_ref_f32.safetensors", ingot_e4m3_to_f32, 1))
        return 1;
    return check_fp8_fixture(dir, "tiny_e5m2.safetensors", "tiny_e5m2_ref_f32.safetensors", ingot_e5m2_to_f32, 0);
}

static int test_quantize_b128_ragged(void) {
    enum { R = 200, C = 300 };
    float *x = malloc(sizeof(float) * R * C), y[C];
    fill_heavy(x, R * C, 5);
    const uint64_t dims[2] = {R, C};
    uint64_t nb = 0;
    ingot_err err = {0};
    CHECK_OK(ingot_dtype_tensor_bytes(INGOT_DTYPE_F8_E4M3_B128, 2, dims, &nb, &err), &err);
    CHECK_EQ_U64(nb, R * C + 4 * 2 * 3);
    uint8_t *t = malloc(nb), *t2 = malloc(nb);
    ingot_b128_quantize(x, R, C, t);
    CHECK_OK(ingot_quantize_rows(INGOT_DTYPE_F8_E4M3_B128, x, R, C, NULL, t2, nb, NULL, &err), &err);
    CHECK(memcmp(t, t2, nb) == 0);
    for (int tr = 0; tr < 2; tr++)
        for (int tc = 0; tc < 3; tc++) {
            float amax = 0, d;
            for (int r = tr * 128; r < R && r < tr * 128 + 128; r++)
                for (int c = tc * 128; c < C && c < tc * 128 + 128; c++) amax = fmaxf(amax, fabsf(x[r * C + c]));
            memcpy(&d, t + R * C + 4 * (tr * 3 + tc), 4);
            CHECK_NEAR(d, amax / 448.0f, 0);
        }
    for (int r = 0; r < R; r++) {
        ingot_b128_dequantize_row(t, R, C, r, y);
        for (int c = 0; c < C; c++) {
            float d;
            memcpy(&d, t + R * C + 4 * ((r / 128) * 3 + c / 128), 4);
            CHECK_NEAR(y[c], ingot_e4m3_to_f32(t[r * C + c]) * d, 0);
            // E4M3: 3 mantissa bits → relative error ≤ 2^-4 for normals,
            // absolute ≤ 2^-10 · scale in the subnormal range.
            const double tol = fmax(fabs(x[r * C + c]) * 0x1p-4, 0x1p-10 * d) * 1.0001;
            CHECK_NEAR(y[c], x[r * C + c], tol);
        }
    }
    free(x);
    free(t);
    free(t2);
    return 0;
}

// ---- SIMD vs reference -------------------------------------------------------------------
static int compare_level(ingot_simd_level lvl, const float *x, const float *im, const float *act, int64_t n) {
    for (size_t i = 0; i < N_ROW_TYPES; i++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_row_types[i]);
        const ingot_quant_traits *at = ingot_quant_get(qt->vec_dot_type);
        const size_t nb = row_bytes(qt->dtype, n), na = row_bytes(at->dtype, n);
        uint8_t *q1 = malloc(nb), *q2 = malloc(nb), *a = malloc(na), *a2 = malloc(na);
        float *y1 = malloc(sizeof(float) * n), *y2 = malloc(sizeof(float) * n), *ya = malloc(sizeof(float) * n);
        qt->quantize_row_ref(x, q1, n, im);
        qt->quantize_row(x, q2, n, im);
        CHECK_MSG(memcmp(q1, q2, nb) == 0, "level %d %s quantize_row (imatrix) differs from _ref", lvl, qt->name);
        qt->quantize_row_ref(x, q1, n, NULL);
        qt->quantize_row(x, q2, n, NULL);
        CHECK_MSG(memcmp(q1, q2, nb) == 0, "level %d %s quantize_row differs from _ref", lvl, qt->name);
        qt->dequantize_row_ref(q1, y1, n);
        qt->dequantize_row(q1, y2, n);
        CHECK_MSG(memcmp(y1, y2, sizeof(float) * n) == 0, "level %d %s dequantize differs", lvl, qt->name);
        at->quantize_row_ref(act, a, n, NULL);
        at->quantize_row(act, a2, n, NULL);
        CHECK_MSG(memcmp(a, a2, na) == 0, "level %d activation %s differs", lvl, at->name);
        at->dequantize_row_ref(a, ya, n);
        double mag = 0;
        for (int64_t k = 0; k < n; k++) mag += fabs((double)y1[k] * ya[k]);
        float s1, s2;
        qt->vec_dot_ref(n, &s1, q1, a);
        qt->vec_dot(n, &s2, q1, a);
        // Both sum the same products; only the order of float additions
        // differs: 1e-5 of the sum of magnitudes covers n/32 partial sums
        // of rounding 2^-24 each.
        CHECK_MSG(fabs((double)s1 - s2) <= 1e-5 * mag, "level %d %s vec_dot %.9g vs ref %.9g", lvl, qt->name, s2, s1);
        // And the reference dot equals the dot of the decoded rows.
        double want = 0;
        for (int64_t k = 0; k < n; k++) want += (double)y1[k] * ya[k];
        CHECK_MSG(fabs(want - s1) <= 1e-5 * mag, "%s vec_dot_ref %.9g vs decoded dot %.9g", qt->name, s1, want);
        free(q1), free(q2), free(a), free(a2), free(y1), free(y2), free(ya);
    }
    return 0;
}

// Float encoders on values at the edges of f16 / bf16: subnormals,
// overflow, ties, infinities and NaN give the reference bits at every level.
static int check_float_specials(ingot_simd_level lvl) {
    const float sp[32] = {0.0f, -0.0f, 65504.0f, 65519.0f, 65520.0f, -1e6f, 6e-8f, 2.9802322e-8f,
                          -5.9604645e-8f, 6.1035156e-5f, 6.0975552e-5f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f,
                          1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, INFINITY, -INFINITY, NAN, -NAN, 3.4e38f,
                          1e-40f, -1e-45f, 0.1f, -0.2f, 123.456f, 1e-3f, -7e-5f, 4e-6f, 2048.5f, 1e5f, -3e38f, 1.5f};
    const ingot_dtype ts[2] = {INGOT_DTYPE_F16, INGOT_DTYPE_BF16};
    for (int k = 0; k < 2; k++) {
        const ingot_quant_traits *qt = ingot_quant_get(ts[k]);
        uint8_t a[64], b[64];
        qt->quantize_row_ref(sp, a, 32, NULL);
        qt->quantize_row(sp, b, 32, NULL);
        for (int j = 0; j < 32; j++)
            CHECK_MSG(memcmp(a + 2 * j, b + 2 * j, 2) == 0, "level %d %s value %g: %02x%02x vs ref %02x%02x", lvl,
                      qt->name, sp[j], b[2 * j + 1], b[2 * j], a[2 * j + 1], a[2 * j]);
    }
    return 0;
}

static int test_quantize_simd_matches_ref(void) {
    enum { N = 4096 };
    float *x = malloc(sizeof(float) * N), *act = malloc(sizeof(float) * N), *im = malloc(sizeof(float) * N);
    uint64_t seed = 17;
    for (int j = 0; j < N; j++) im[j] = (float)pow(10.0, 3.0 * rng_unit(&seed) - 1.5);
    int levels = 0;
    for (int heavy = 0; heavy <= 1; heavy++) {
        if (heavy) fill_heavy(x, N, 3);
        else fill_gauss(x, N, 3);
        fill_gauss(act, N, 4);
        for (int lvl = INGOT_SIMD_SCALAR; lvl <= INGOT_SIMD_AVX512; lvl++) {
            if ((int)ingot_simd_set((ingot_simd_level)lvl) != lvl) continue;
            levels++;
            if (check_float_specials((ingot_simd_level)lvl)) return 1;
            if (compare_level((ingot_simd_level)lvl, x, im, act, N)) return 1;
        }
    }
    printf("compared %d dispatch levels (detected %d)\n", levels / 2, (int)ingot_simd_detect());
    ingot_simd_set(ingot_simd_detect());
    free(x);
    free(act);
    free(im);
    return 0;
}

// Blocks that take the kernels' rarer paths: zero, constant and tiny
// blocks, extremes that are +0 / −0 (their sign shows in the _1 types'
// bytes), ties of largest magnitude, integer grids whose levels land on
// rounding ties and repeat across scale candidates, single spikes.
static void fill_edges(float *x, int64_t n, uint64_t seed) {
    fill_gauss(x, n, seed);
    for (int64_t b = 0; b < n / 32; b++) {
        float *p = x + 32 * b;
        switch (b % 12) {
        case 0: for (int j = 0; j < 32; j++) p[j] = 0.0f; break;
        case 1: for (int j = 0; j < 32; j++) p[j] = j % 3 == 0 ? 0.0f : j % 3 == 1 ? -0.0f : 0.01f * (float)j; break;
        case 2: for (int j = 0; j < 32; j++) p[j] = j % 2 ? -0.0f : -0.02f * (float)j; break;
        case 3: for (int j = 0; j < 32; j++) p[j] = 0.5f; break;
        case 4: for (int j = 0; j < 32; j++) p[j] = j % 2 ? 1.0f : -1.0f; break;
        case 5: for (int j = 0; j < 32; j++) p[j] = j == 7 ? 3.0f : 1e-4f * (float)(j - 16); break;
        case 6: for (int j = 0; j < 32; j++) p[j] = (float)(j - 16); break;
        case 7: for (int j = 0; j < 32; j++) p[j] = (float)(j % 4) * 0.25f; break;
        case 8: for (int j = 0; j < 32; j++) p[j] = 1e-35f * (float)(j - 10); break;
        case 9: for (int j = 0; j < 32; j++) p[j] = j < 16 ? 0.0f : p[j]; break;
        default: break;
        }
    }
}

static int test_quantize_simd_matches_ref_edges(void) {
    enum { N = 3072 };
    float *x = malloc(sizeof(float) * N), *act = malloc(sizeof(float) * N), *im = malloc(sizeof(float) * N);
    uint64_t seed = 5;
    for (int j = 0; j < N; j++) im[j] = j % 7 == 0 ? 0.0f : (float)pow(10.0, 2.0 * rng_unit(&seed) - 1.0);
    fill_edges(x, N, 9);
    fill_edges(act, N, 10);
    for (int lvl = INGOT_SIMD_SCALAR; lvl <= INGOT_SIMD_AVX512; lvl++) {
        if ((int)ingot_simd_set((ingot_simd_level)lvl) != lvl) continue;
        if (compare_level((ingot_simd_level)lvl, x, im, act, N)) return 1;
    }
    ingot_simd_set(ingot_simd_detect());
    free(x);
    free(act);
    free(im);
    return 0;
}

// f8_e4m3_r32 at every level: the encoder on every E4M3 value and rounding
// tie; the dot over rows holding every E4M3 code (the kernels decode them
// arithmetically, not by table) and several scale exponents; a NaN code
// (0x7f / 0xff) makes the dot NaN, as in _ref.
static int test_quantize_f8_dot_all_codes(void) {
    enum { NB = 16, N = NB * 32 };
    ingot_block_f8_r32 x[NB];
    float y[N];
    uint64_t seed = 3;
    for (int b = 0; b < NB; b++) {
        x[b].e = (uint8_t)(b == 0 ? 0 : b == 1 ? 1 : 110 + b);
        for (int j = 0; j < 32; j++) {
            uint8_t c = (uint8_t)(32 * (b % 8) + j);
            if ((c & 0x7f) == 0x7f) c ^= 1; // finite codes only here
            x[b].qs[j] = c;
        }
    }
    for (int j = 0; j < N; j++) y[j] = (float)(rng_unit(&seed) - 0.5);
    // Encoder input: per block 448 (scale 2^0), then every E4M3 value, the
    // midpoints between neighbours (ties to even) and points just off them.
    float xe[N];
    for (int j = 0; j < N; j++) {
        const int code = (j / 4) % 0x7e, sgn = (j / 4) & 64 ? -1 : 1;
        const float v0 = ingot_e4m3_to_f32((uint8_t)code), v1 = ingot_e4m3_to_f32((uint8_t)(code + 1));
        const float mid = 0.5f * (v0 + v1);
        const float pick[4] = {v0, mid, nextafterf(mid, 0.0f), nextafterf(mid, 1e9f)};
        xe[j] = j % 32 == 0 ? 448.0f : (float)sgn * pick[j % 4];
    }
    for (int lvl = INGOT_SIMD_SCALAR; lvl <= INGOT_SIMD_AVX512; lvl++) {
        if ((int)ingot_simd_set((ingot_simd_level)lvl) != lvl) continue;
        const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_F8_E4M3_R32);
        ingot_block_f8_r32 q1[NB], q2[NB];
        qt->quantize_row_ref(xe, q1, N, NULL);
        qt->quantize_row(xe, q2, N, NULL);
        CHECK_MSG(memcmp(q1, q2, sizeof q1) == 0, "level %d f8_e4m3_r32 encoder differs from _ref on ties", lvl);
        for (int b0 = 2; b0 < NB; b0++) { // blocks b0.. only: scales 2^-127, 2^-126 underflow in float sums
            const int64_t n = (int64_t)(NB - b0) * 32;
            float s1, s2;
            double mag = 0;
            for (int64_t k = 0; k < n; k++)
                mag += fabs((double)ingot_e4m3_to_f32(x[b0 + k / 32].qs[k % 32]) *
                            ingot_e8m0_to_f32(x[b0 + k / 32].e) * y[32 * b0 + k]);
            qt->vec_dot_ref(n, &s1, &x[b0], y + 32 * b0);
            qt->vec_dot(n, &s2, &x[b0], y + 32 * b0);
            CHECK_MSG(fabs((double)s1 - s2) <= 1e-5 * mag, "level %d from block %d: %.9g vs ref %.9g", lvl, b0, s2, s1);
        }
        float s1, s2;
        qt->vec_dot_ref(N, &s1, x, y);
        qt->vec_dot(N, &s2, x, y);
        CHECK(isfinite(s2) == isfinite(s1));
        ingot_block_f8_r32 z[NB];
        memcpy(z, x, sizeof z);
        z[5].qs[9] = 0xff;
        qt->vec_dot_ref(N, &s1, z, y);
        qt->vec_dot(N, &s2, z, y);
        CHECK_MSG(isnan(s1) && isnan(s2), "level %d NaN code: %g vs ref %g", lvl, s2, s1);
        // dequantize_row: the reference's bits for every code (NaN included)
        // and scale here, at every block count (odd counts end in a lone block).
        for (int nbk = 1; nbk <= NB; nbk++) {
            float d1[N], d2[N];
            for (int k = 0; k < 2; k++) {
                qt->dequantize_row_ref(k ? z : x, d1, (int64_t)nbk * 32);
                qt->dequantize_row(k ? z : x, d2, (int64_t)nbk * 32);
                CHECK_MSG(memcmp(d1, d2, sizeof(float) * (size_t)nbk * 32) == 0,
                          "level %d f8_e4m3_r32 dequantize of %d blocks differs", lvl, nbk);
            }
        }
    }
    ingot_simd_set(ingot_simd_detect());
    return 0;
}

// ---- threads ----------------------------------------------------------------------------
static int test_quantize_rows_thread_determinism(void) {
    enum { R = 70, C = 512 };
    float *x = malloc(sizeof(float) * R * C), im[C];
    fill_heavy(x, R * C, 8);
    for (int j = 0; j < C; j++) im[j] = 1.0f + (float)(j % 7);
    const ingot_dtype types[] = {INGOT_DTYPE_Q4_K, INGOT_DTYPE_IQ4_NL, INGOT_DTYPE_Q8_0, INGOT_DTYPE_Q6_K,
                                 INGOT_DTYPE_F8_E4M3_B128};
    ingot_err err = {0};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const uint64_t dims[2] = {R, C};
        uint64_t nb;
        CHECK_OK(ingot_dtype_tensor_bytes(types[ti], 2, dims, &nb, &err), &err);
        uint8_t *ref = malloc(nb), *out = malloc(nb);
        CHECK_OK(ingot_quantize_rows(types[ti], x, R, C, im, ref, nb, NULL, &err), &err);
        for (int nt = 1; nt <= 4; nt++) {
            ingot_pool *pool;
            CHECK_OK(ingot_pool_create(nt, &pool, &err), &err);
            memset(out, 0xAB, nb);
            CHECK_OK(ingot_quantize_rows(types[ti], x, R, C, im, out, nb, pool, &err), &err);
            ingot_pool_free(pool);
            CHECK_MSG(memcmp(ref, out, nb) == 0, "%s differs with %d threads", ingot_dtype_name(types[ti]), nt);
        }
        free(ref);
        free(out);
    }
    free(x);
    return 0;
}

// ---- argument and data checks ------------------------------------------------------------
static int test_quantize_rows_rejects_bad_input(void) {
    float x[2 * 300] = {0};
    uint8_t out[4096];
    ingot_err err = {0};
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_Q4_K, x, 2, 300, NULL, out, sizeof out, NULL, &err),
                 INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "not a multiple of the q4_k block size 256");
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_Q4_0, x, 2, 300, NULL, out, sizeof out, NULL, &err),
                 INGOT_E_FORMAT, &err);
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_Q8_0, x, 2, 288, NULL, out, 10, NULL, &err), INGOT_E_ARG, &err);
    CHECK_STR_CONTAINS(err.msg, "needs 612");
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_I32, x, 2, 288, NULL, out, sizeof out, NULL, &err),
                 INGOT_E_UNSUPPORTED, &err);
    x[288 + 5] = NAN;
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_Q8_0, x, 2, 288, NULL, out, sizeof out, NULL, &err),
                 INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "row 1, column 5 is not finite");
    x[288 + 5] = INFINITY;
    CHECK_STATUS(ingot_quantize_rows(INGOT_DTYPE_F8_E4M3_B128, x, 2, 288, NULL, out, sizeof out, NULL, &err),
                 INGOT_E_FORMAT, &err);
    // An all-zero row quantizes to zeros and decodes to zeros for every type.
    memset(x, 0, sizeof x);
    for (size_t i = 0; i < N_ROW_TYPES; i++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_row_types[i]);
        float y[256];
        qt->quantize_row(x, out, 256, NULL);
        qt->dequantize_row(out, y, 256);
        for (int j = 0; j < 256; j++) CHECK_MSG(y[j] == 0.0f, "%s zero row decodes to %g", qt->name, y[j]);
    }
    return 0;
}

static int test_quantize_simd_set_clamps(void) {
    const ingot_simd_level max = ingot_simd_detect();
    CHECK_EQ_INT(ingot_simd_set(INGOT_SIMD_AVX512), max);
    CHECK_EQ_INT(ingot_simd_get(), max);
    CHECK_EQ_INT(ingot_simd_set(INGOT_SIMD_SCALAR), INGOT_SIMD_SCALAR);
    CHECK(ingot_quant_get(INGOT_DTYPE_Q4_0)->vec_dot == ingot_quant_get(INGOT_DTYPE_Q4_0)->vec_dot_ref);
    ingot_simd_set(max);
    return 0;
}

// INGOT_SIMD caps the level on first use (each value in a fresh child
// process, since the level is fixed once asked): unset or unknown values
// leave the CPU's level; a cap above it changes nothing; scalar makes the
// dispatched Q8_0 vec_dot the _ref one.
static int simd_level_with_env(const char *value) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        if (value) setenv("INGOT_SIMD", value, 1);
        else unsetenv("INGOT_SIMD");
        const ingot_simd_level l = ingot_simd_get();
        const ingot_quant_traits *qt = ingot_quant_get(INGOT_DTYPE_Q8_0);
        _exit(l == INGOT_SIMD_SCALAR && qt->vec_dot != qt->vec_dot_ref ? 99 : (int)l);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static int test_quantize_simd_env(void) {
    const int top = (int)ingot_simd_detect();
    CHECK_EQ_INT(simd_level_with_env(NULL), top);
    CHECK_EQ_INT(simd_level_with_env("scalar"), INGOT_SIMD_SCALAR);
    CHECK_EQ_INT(simd_level_with_env("avx2"), top < INGOT_SIMD_AVX2 ? top : INGOT_SIMD_AVX2);
    CHECK_EQ_INT(simd_level_with_env("avx512"), top);
    CHECK_EQ_INT(simd_level_with_env("AVX2"), top);
    CHECK_EQ_INT(simd_level_with_env(""), top);
    return 0;
}

INGOT_TEST_MAIN(T(quantize_simd_env), T(quantize_traits_table), T(quantize_ggml_layout), T(quantize_q8_0_closed_form),
                T(quantize_budget_gaussian), T(quantize_budget_heavy_tailed), T(quantize_search_beats_rtn),
                T(quantize_imatrix_lowers_weighted_error), T(quantize_fp8_fixture_decode), T(quantize_b128_ragged),
                T(quantize_simd_matches_ref), T(quantize_simd_matches_ref_edges), T(quantize_f8_dot_all_codes),
                T(quantize_rows_thread_determinism),
                T(quantize_rows_rejects_bad_input), T(quantize_simd_set_clamps))
