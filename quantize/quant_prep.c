// Kernels on prepared activation rows (ingot_prep_traits): the two
// preparations (decode and prompt layouts), the scalar _ref kernels and the
// per-level tables. The SIMD kernels live in quant_prep_avx512.c.
#include <pthread.h>

#include "quant_prep_internal.h"

size_t ingot_q8_0_prep_bytes(int64_t n) { return (size_t)((n / INGOT_QK + 1) / 2) * INGOT_PREP_Q8_0_PAIR; }

// The values and scales of blocks i and i + 1 of a row of nb blocks, a
// zero block standing in for a missing i + 1.
static void pair_of(const ingot_block_q8_0 *y, int64_t i, int64_t nb, int8_t qs[2 * INGOT_QK], float d[2]) {
    for (int h = 0; h < 2; h++) {
        const bool have = i + h < nb;
        if (have) memcpy(qs + h * INGOT_QK, y[i + h].qs, INGOT_QK);
        else memset(qs + h * INGOT_QK, 0, INGOT_QK);
        d[h] = have ? ingot_h2f(y[i + h].d) : 0.0f;
    }
}

void ingot_q8_0_prepare(const void *vy, void *vp, int64_t n) {
    const ingot_block_q8_0 *y = vy;
    uint8_t *p = vp;
    const int64_t nb = n / INGOT_QK;
    for (int64_t i = 0; i < nb; i += 2, p += INGOT_PREP_Q8_0_PAIR) {
        int8_t qs[2 * INGOT_QK];
        float d[2];
        pair_of(y, i, nb, qs, d);
        int32_t off[16];
        float dl[16];
        for (int l = 0; l < 16; l++) {
            off[l] = -128 * (qs[4 * l] + qs[4 * l + 1] + qs[4 * l + 2] + qs[4 * l + 3]);
            dl[l] = d[l / 8];
        }
        memcpy(p, qs, sizeof qs);
        memcpy(p + 64, off, sizeof off);
        memcpy(p + 128, dl, sizeof dl);
    }
}

// Σ over a row in the order of ingot_q8_0_vec_dot_ref (per block Σ x·y as
// an integer, times d_x · d_y), block i's values and scale read from a
// prepared layout: pairs of `pair_bytes`, the scale of half h at
// `d_at + d_step * h`.
static float q8_0_prepared_sum(int64_t n, const ingot_block_q8_0 *x, const uint8_t *p, size_t pair_bytes, int d_at,
                               int d_step) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        const uint8_t *pair = p + (size_t)(i / 2) * pair_bytes;
        const int h = (int)(i % 2);
        int8_t qs[INGOT_QK];
        float d;
        memcpy(qs, pair + h * INGOT_QK, sizeof qs);
        memcpy(&d, pair + d_at + d_step * h, sizeof d);
        int32_t sumi = 0;
        for (int l = 0; l < INGOT_QK; l++) sumi += x[i].qs[l] * qs[l];
        sum += (float)sumi * (ingot_h2f(x[i].d) * d);
    }
    return sum;
}

static void q8_0_prep_dot_ref(int64_t n, float *s, const void *vx, const void *vp) {
    *s = q8_0_prepared_sum(n, vx, vp, INGOT_PREP_Q8_0_PAIR, 128, 32); // scales spread over 8 lanes each
}

size_t ingot_q8_0_rows_bytes(int64_t n) { return (size_t)((n / INGOT_QK + 1) / 2) * INGOT_PREP_Q8_0_ROWS_PAIR; }

void ingot_q8_0_rows_prepare(const void *vy, void *vp, int64_t n) {
    const ingot_block_q8_0 *y = vy;
    uint8_t *p = vp;
    const int64_t nb = n / INGOT_QK;
    for (int64_t i = 0; i < nb; i += 2, p += INGOT_PREP_Q8_0_ROWS_PAIR) {
        int8_t qs[2 * INGOT_QK];
        float d[2];
        pair_of(y, i, nb, qs, d);
        memcpy(p, qs, sizeof qs);
        memcpy(p + 64, d, sizeof d);
    }
}

static void q8_0_rows_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *vp, size_t ldp, int nr) {
    for (int j = 0; j < nr; j++)
        s[(size_t)j * lds] =
            q8_0_prepared_sum(n, vx, (const uint8_t *)vp + (size_t)j * ldp, INGOT_PREP_Q8_0_ROWS_PAIR, 64, 4);
}

static const ingot_prep_traits k_q8_0_ref = {ingot_q8_0_prep_bytes, ingot_q8_0_prepare,    q8_0_prep_dot_ref,
                                             ingot_q8_0_rows_bytes, ingot_q8_0_rows_prepare, q8_0_rows_gemm_ref};

static const ingot_prep_traits *g_prep[3][INGOT_DTYPE_COUNT];
static pthread_once_t g_prep_once = PTHREAD_ONCE_INIT;
static ingot_simd_level g_prep_max;

static void prep_tables_init(void) {
    g_prep_max = ingot_simd_detect();
    g_prep[INGOT_SIMD_SCALAR][INGOT_DTYPE_Q8_0] = &k_q8_0_ref;
    // AVX2: none (no VNNI at that level): callers keep vec_dot.
    ingot_quant_prep_install_avx512(g_prep[INGOT_SIMD_AVX512]);
}

const ingot_prep_traits *ingot_quant_prep_get_level(ingot_dtype t, ingot_simd_level level) {
    pthread_once(&g_prep_once, prep_tables_init);
    if (!ingot_dtype_valid((int)t) || (int)level < 0 || level > g_prep_max) return NULL;
    return g_prep[level][t];
}

const ingot_prep_traits *ingot_quant_prep_get(ingot_dtype t) { return ingot_quant_prep_get_level(t, ingot_simd_get()); }
