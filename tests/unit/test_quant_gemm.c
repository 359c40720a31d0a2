// Multi-row dot kernels (ingot_quant_gemm_get): the scalar _ref kernel
// equals a loop of vec_dot_ref bit for bit; every SIMD level the CPU has
// agrees with _ref and with a loop of its own vec_dot within float
// rounding, for every row count 1..INGOT_GEMM_MAX_ROWS, with strided
// activation and output rows; the table covers the promised types.
//
// Tolerance: 1e-5 × Σ|w_i y_i| over the decoded weight and activation
// rows, plus 1e-6 × |ref|: the kernels sum the same products in another
// order (a float sum of n terms is within n·2^-24 of Σ|terms| exactly; the
// SIMD kernels add at most a few hundred terms per lane).
#include <stdint.h>
#include <stdlib.h>

#include "ingot/quantize.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

// Gaussian with a few ×30 outliers (a block whose scale one value sets).
static void fill(float *x, int64_t n, double sigma, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        double v = sigma * rng_gauss(&seed);
        if (rng_unit(&seed) < 0.005) v *= 30.0;
        x[i] = (float)v;
    }
}

static const ingot_dtype k_types[] = {INGOT_DTYPE_F32, INGOT_DTYPE_F16,  INGOT_DTYPE_BF16, INGOT_DTYPE_Q8_0,
                                      INGOT_DTYPE_Q4_0, INGOT_DTYPE_Q4_K, INGOT_DTYPE_Q5_K, INGOT_DTYPE_Q6_K};
enum { N_TYPES = sizeof k_types / sizeof k_types[0], LDS = 3 };

// Row length per type: odd block counts and float tails where the type allows.
static int64_t row_len(const ingot_quant_traits *qt) {
    if (qt->blck == 256) return 768;
    if (qt->blck == 32) return 800; // 25 blocks: the two-block SIMD loops leave one
    return 1003;
}

// One weight row and INGOT_GEMM_MAX_ROWS activation rows of a type, exactly
// sized (ASan sees any overread), plus the magnitude bound per row.
typedef struct case_data {
    const ingot_quant_traits *qt, *qv;
    int64_t n;
    uint8_t *w;       // [row_bytes]
    uint8_t *act;     // [MAX_ROWS, ldy]
    size_t ldy;
    double mag[INGOT_GEMM_MAX_ROWS];
} case_data;

static size_t bytes_of(const ingot_quant_traits *q, int64_t n) { return (size_t)(n / q->blck) * q->type_size; }

static int case_make(case_data *c, ingot_dtype t, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->qt = ingot_quant_get(t);
    if (!c->qt) return 1;
    c->qv = ingot_quant_get(c->qt->vec_dot_type);
    c->n = row_len(c->qt);
    const size_t wb = bytes_of(c->qt, c->n), ab = bytes_of(c->qv, c->n);
    c->ldy = ab + 40; // rows not packed: the kernel must use ldy
    float *x = malloc((size_t)c->n * sizeof *x), *dw = malloc((size_t)c->n * sizeof *dw),
          *da = malloc((size_t)c->n * sizeof *da);
    c->w = malloc(wb);
    c->act = calloc(INGOT_GEMM_MAX_ROWS, c->ldy);
    if (!x || !dw || !da || !c->w || !c->act) return 1;
    fill(x, c->n, 0.02, seed);
    c->qt->quantize_row_ref(x, c->w, c->n, NULL);
    c->qt->dequantize_row_ref(c->w, dw, c->n);
    for (int j = 0; j < INGOT_GEMM_MAX_ROWS; j++) {
        fill(x, c->n, 1.0 + j, seed + 101 + (uint64_t)j);
        uint8_t *row = c->act + (size_t)j * c->ldy;
        c->qv->quantize_row_ref(x, row, c->n, NULL);
        c->qv->dequantize_row_ref(row, da, c->n);
        double m = 0;
        for (int64_t i = 0; i < c->n; i++) m += fabs((double)dw[i] * da[i]);
        c->mag[j] = m;
    }
    free(x);
    free(dw);
    free(da);
    return 0;
}

static void case_free(case_data *c) {
    free(c->w);
    free(c->act);
}

static int test_quant_gemm_table(void) {
    for (int l = INGOT_SIMD_SCALAR; l <= (int)ingot_simd_detect(); l++)
        for (int k = 0; k < N_TYPES; k++)
            CHECK_MSG(ingot_quant_gemm_get_level(k_types[k], (ingot_simd_level)l) != NULL, "type %d level %d",
                      (int)k_types[k], l);
    CHECK(ingot_quant_gemm_get(INGOT_DTYPE_Q8_0) ==
          ingot_quant_gemm_get_level(INGOT_DTYPE_Q8_0, ingot_simd_get()));
    CHECK(ingot_quant_gemm_get(INGOT_DTYPE_Q2_K) == NULL);    // no multi-row kernel: callers loop vec_dot
    CHECK(ingot_quant_gemm_get(INGOT_DTYPE_I32) == NULL);     // no row kernels at all
    CHECK(ingot_quant_gemm_get((ingot_dtype)-1) == NULL);
    CHECK(ingot_quant_gemm_get((ingot_dtype)INGOT_DTYPE_COUNT) == NULL);
    return 0;
}

// _ref == loop of vec_dot_ref, bit for bit, for every row count.
static int test_quant_gemm_ref_equals_vec_dot_ref(void) {
    for (int k = 0; k < N_TYPES; k++) {
        case_data c;
        CHECK(case_make(&c, k_types[k], 7 + (uint64_t)k) == 0);
        const ingot_gemm_fn g = ingot_quant_gemm_get_level(k_types[k], INGOT_SIMD_SCALAR);
        for (int nr = 1; nr <= INGOT_GEMM_MAX_ROWS; nr++) {
            float s[INGOT_GEMM_MAX_ROWS * LDS];
            for (int i = 0; i < INGOT_GEMM_MAX_ROWS * LDS; i++) s[i] = -7.0f;
            g(c.n, s, LDS, c.w, c.act, c.ldy, nr);
            for (int j = 0; j < INGOT_GEMM_MAX_ROWS; j++) {
                if (j >= nr) { // rows past nr untouched
                    CHECK(s[j * LDS] == -7.0f);
                    continue;
                }
                float want;
                c.qt->vec_dot_ref(c.n, &want, c.w, c.act + (size_t)j * c.ldy);
                CHECK_MSG(s[j * LDS] == want, "%s nr %d row %d: %.9g vs %.9g", c.qt->name, nr, j, (double)s[j * LDS],
                          (double)want);
                CHECK(s[j * LDS + 1] == -7.0f); // the stride is honoured
            }
        }
        case_free(&c);
    }
    return 0;
}

// Every SIMD level: vs _ref and vs a loop of that level's vec_dot.
static int test_quant_gemm_simd_matches_ref(void) {
    const ingot_simd_level saved = ingot_simd_get();
    int levels = 0;
    for (int l = INGOT_SIMD_AVX2; l <= (int)ingot_simd_detect(); l++, levels++) {
        ingot_simd_set((ingot_simd_level)l);
        for (int k = 0; k < N_TYPES; k++) {
            case_data c;
            CHECK(case_make(&c, k_types[k], 1000 + 13 * (uint64_t)k + (uint64_t)l) == 0);
            const ingot_gemm_fn g = ingot_quant_gemm_get_level(k_types[k], (ingot_simd_level)l);
            const ingot_gemm_fn r = ingot_quant_gemm_get_level(k_types[k], INGOT_SIMD_SCALAR);
            for (int nr = 1; nr <= INGOT_GEMM_MAX_ROWS; nr++) {
                float s[INGOT_GEMM_MAX_ROWS * LDS], ref[INGOT_GEMM_MAX_ROWS];
                for (int i = 0; i < INGOT_GEMM_MAX_ROWS * LDS; i++) s[i] = -7.0f;
                g(c.n, s, LDS, c.w, c.act, c.ldy, nr);
                r(c.n, ref, 1, c.w, c.act, c.ldy, nr);
                for (int j = 0; j < INGOT_GEMM_MAX_ROWS; j++) {
                    if (j >= nr) {
                        CHECK(s[j * LDS] == -7.0f);
                        continue;
                    }
                    float dot;
                    c.qt->vec_dot(c.n, &dot, c.w, c.act + (size_t)j * c.ldy);
                    const double tol = 1e-5 * c.mag[j] + 1e-6 * fabs(ref[j]);
                    CHECK_MSG(fabs(s[j * LDS] - ref[j]) <= tol, "%s level %d nr %d row %d: %.9g vs ref %.9g (tol %g)",
                              c.qt->name, l, nr, j, (double)s[j * LDS], (double)ref[j], tol);
                    CHECK_MSG(fabs(s[j * LDS] - dot) <= tol, "%s level %d nr %d row %d: %.9g vs vec_dot %.9g",
                              c.qt->name, l, nr, j, (double)s[j * LDS], (double)dot);
                    CHECK(s[j * LDS + 1] == -7.0f);
                }
            }
            case_free(&c);
        }
    }
    ingot_simd_set(saved);
    if (!levels) {
        printf("skipped: this CPU has no SIMD level\n");
        return INGOT_TEST_SKIP;
    }
    return 0;
}

// Activations at the int8 extremes (±127 in every lane, all blocks at the
// largest scale): the SIMD int16 pair sums must not saturate.
static int test_quant_gemm_extremes(void) {
    const ingot_simd_level top = ingot_simd_detect();
    for (int k = 0; k < N_TYPES; k++) {
        case_data c;
        CHECK(case_make(&c, k_types[k], 555 + (uint64_t)k) == 0);
        if (c.qv->dtype == INGOT_DTYPE_F32) {
            case_free(&c);
            continue;
        }
        float *x = malloc((size_t)c.n * sizeof *x);
        CHECK(x != NULL);
        for (int j = 0; j < INGOT_GEMM_MAX_ROWS; j++) {
            for (int64_t i = 0; i < c.n; i++) x[i] = (j & 1 ? -1.0f : 1.0f) * (i % 3 ? 1.0f : -1.0f);
            c.qv->quantize_row_ref(x, c.act + (size_t)j * c.ldy, c.n, NULL);
        }
        // Weights at their extremes too: every value ±max.
        for (int64_t i = 0; i < c.n; i++) x[i] = i % 2 ? 0.5f : -0.5f;
        c.qt->quantize_row_ref(x, c.w, c.n, NULL);
        float s[INGOT_GEMM_MAX_ROWS], ref[INGOT_GEMM_MAX_ROWS];
        ingot_quant_gemm_get_level(k_types[k], INGOT_SIMD_SCALAR)(c.n, ref, 1, c.w, c.act, c.ldy, INGOT_GEMM_MAX_ROWS);
        for (int l = INGOT_SIMD_AVX2; l <= (int)top; l++) {
            ingot_quant_gemm_get_level(k_types[k], (ingot_simd_level)l)(c.n, s, 1, c.w, c.act, c.ldy,
                                                                        INGOT_GEMM_MAX_ROWS);
            for (int j = 0; j < INGOT_GEMM_MAX_ROWS; j++)
                CHECK_MSG(fabs(s[j] - ref[j]) <= 1e-5 * 0.5 * (double)c.n + 1e-6 * fabs(ref[j]),
                          "%s level %d row %d: %.9g vs %.9g", c.qt->name, l, j, (double)s[j], (double)ref[j]);
        }
        free(x);
        case_free(&c);
    }
    return 0;
}

INGOT_TEST_MAIN(T(quant_gemm_table), T(quant_gemm_ref_equals_vec_dot_ref), T(quant_gemm_simd_matches_ref),
                T(quant_gemm_extremes))
