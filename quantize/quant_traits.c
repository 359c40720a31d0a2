// The per-type kernel table (one per SIMD level, filled once), run-time
// dispatch, and ingot_quantize_rows: a whole matrix quantized with rows
// split across a thread pool.
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "quant_internal.h"

#define ENTRY(T, t, vdt)                                                                                   \
    [INGOT_DTYPE_##T] = {INGOT_DTYPE_##T, #t, 0, 0, ingot_##t##_quantize_row_ref, ingot_##t##_quantize_row_ref, \
                         ingot_##t##_dequantize_row_ref, ingot_##t##_dequantize_row_ref, ingot_##t##_vec_dot_ref, \
                         ingot_##t##_vec_dot_ref, INGOT_DTYPE_##vdt}

static const ingot_quant_traits k_ref[INGOT_DTYPE_COUNT] = {
    ENTRY(F32, f32, F32),       ENTRY(F16, f16, F32),       ENTRY(BF16, bf16, F32),
    ENTRY(Q8_0, q8_0, Q8_0),    ENTRY(Q4_0, q4_0, Q8_0),    ENTRY(Q4_1, q4_1, Q8_0),
    ENTRY(Q5_0, q5_0, Q8_0),    ENTRY(Q5_1, q5_1, Q8_0),    ENTRY(IQ4_NL, iq4_nl, Q8_0),
    ENTRY(Q2_K, q2_k, Q8_K),    ENTRY(Q3_K, q3_k, Q8_K),    ENTRY(Q4_K, q4_k, Q8_K),
    ENTRY(Q5_K, q5_k, Q8_K),    ENTRY(Q6_K, q6_k, Q8_K),    ENTRY(Q8_K, q8_k, Q8_K),
    ENTRY(F8_E4M3_R32, f8_r32, F32),
};

static ingot_quant_traits g_tab[3][INGOT_DTYPE_COUNT];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
    ingot_quant_legacy_init();
    ingot_quant_float_init();
    memcpy(g_tab[INGOT_SIMD_SCALAR], k_ref, sizeof k_ref);
    for (int t = 0; t < INGOT_DTYPE_COUNT; t++) {
        ingot_quant_traits *e = &g_tab[INGOT_SIMD_SCALAR][t];
        if (!e->quantize_row_ref) continue;
        // Names and sizes come from common's dtype table only.
        const ingot_dtype_traits *dt = ingot_dtype_get((ingot_dtype)t);
        e->name = dt->name;
        e->blck = dt->blck;
        e->type_size = dt->type_size;
    }
    memcpy(g_tab[INGOT_SIMD_AVX2], g_tab[INGOT_SIMD_SCALAR], sizeof k_ref);
    ingot_quant_install_avx2(g_tab[INGOT_SIMD_AVX2]);
    memcpy(g_tab[INGOT_SIMD_AVX512], g_tab[INGOT_SIMD_AVX2], sizeof k_ref);
    ingot_quant_install_avx512(g_tab[INGOT_SIMD_AVX512]);
}

void ingot_quant_init(void) { pthread_once(&g_once, tables_init); }

const ingot_quant_traits *ingot_quant_get(ingot_dtype t) {
    if (!ingot_dtype_valid((int)t)) return NULL;
    ingot_quant_init();
    const ingot_quant_traits *e = &g_tab[ingot_simd_get()][t];
    return e->quantize_row_ref ? e : NULL;
}

// ---- ingot_quantize_rows -------------------------------------------------------------
typedef struct rows_job {
    const ingot_quant_traits *qt; // NULL for f8_e4m3_b128
    const float *src;
    int64_t n_rows, n_cols, rows_per_item;
    const float *imatrix;
    uint8_t *dst;
    size_t row_bytes;
    atomic_llong first_bad; // flat index of the first non-finite input, or -1
} rows_job;

static void note_bad(rows_job *job, long long idx) {
    long long cur = atomic_load(&job->first_bad);
    while ((cur < 0 || idx < cur) && !atomic_compare_exchange_weak(&job->first_bad, &cur, idx)) {
    }
}

// Index of the first non-finite value in x[0, n), or -1.
static int64_t find_non_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

static void rows_item(void *ctx, size_t item, int worker) {
    (void)worker;
    rows_job *job = ctx;
    if (!job->qt) { // one 128-row band of f8_e4m3_b128
        const int64_t r0 = (int64_t)item * 128, r1 = r0 + 128 < job->n_rows ? r0 + 128 : job->n_rows;
        const int64_t bad = find_non_finite(job->src + r0 * job->n_cols, (r1 - r0) * job->n_cols);
        if (bad >= 0) note_bad(job, r0 * job->n_cols + bad);
        else ingot_b128_quantize_band(job->src, job->n_rows, job->n_cols, (int64_t)item, job->dst);
        return;
    }
    const int64_t r0 = (int64_t)item * job->rows_per_item;
    const int64_t r1 = r0 + job->rows_per_item < job->n_rows ? r0 + job->rows_per_item : job->n_rows;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = job->src + r * job->n_cols;
        uint8_t *y = job->dst + (size_t)r * job->row_bytes;
        const int64_t bad = find_non_finite(x, job->n_cols);
        if (bad >= 0) {
            note_bad(job, r * job->n_cols + bad);
            memset(y, 0, job->row_bytes);
            continue;
        }
        job->qt->quantize_row(x, y, job->n_cols, job->imatrix);
    }
}

ingot_status ingot_quantize_rows(ingot_dtype dtype, const float *src, int64_t n_rows, int64_t n_cols,
                                 const float *imatrix, void *dst, size_t dst_cap, ingot_pool *pool,
                                 ingot_err *err) {
    INGOT_FAIL_IF(n_rows < 0 || n_cols < 0, err, INGOT_E_ARG, "negative shape [%lld, %lld]", (long long)n_rows,
                  (long long)n_cols);
    INGOT_FAIL_IF((!src || !dst) && n_rows > 0 && n_cols > 0, err, INGOT_E_ARG, "source or destination is NULL");
    const ingot_dtype_traits *dt = ingot_dtype_get(dtype);
    INGOT_FAIL_IF(!dt, err, INGOT_E_ARG, "dtype id %d is out of range", (int)dtype);
    const bool b128 = dtype == INGOT_DTYPE_F8_E4M3_B128;
    const ingot_quant_traits *qt = b128 ? NULL : ingot_quant_get(dtype);
    INGOT_FAIL_IF(!b128 && !qt, err, INGOT_E_UNSUPPORTED, "no quantizer for dtype %s", dt->name);
    INGOT_FAIL_IF(n_cols % dt->blck != 0, err, INGOT_E_FORMAT,
                  "row length %lld is not a multiple of the %s block size %u", (long long)n_cols, dt->name,
                  dt->blck);
    const uint64_t dims[2] = {(uint64_t)n_rows, (uint64_t)n_cols};
    uint64_t need = 0;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_tensor_bytes(dtype, 2, dims, &need, err));
    INGOT_FAIL_IF(need > dst_cap, err, INGOT_E_ARG, "destination holds %zu bytes, %s [%lld, %lld] needs %llu",
                  dst_cap, dt->name, (long long)n_rows, (long long)n_cols, (unsigned long long)need);
    if (n_rows == 0 || n_cols == 0) return INGOT_OK;
    rows_job job = {.qt = qt, .src = src, .n_rows = n_rows, .n_cols = n_cols, .imatrix = imatrix, .dst = dst};
    atomic_init(&job.first_bad, -1);
    size_t n_items;
    if (b128) {
        n_items = (size_t)((n_rows + 127) / 128);
    } else {
        job.row_bytes = (size_t)(n_cols / dt->blck) * dt->type_size;
        // About 64 K values per work item: enough to amortise hand-out, small
        // enough to balance threads.
        job.rows_per_item = n_cols >= 65536 ? 1 : 65536 / n_cols;
        n_items = (size_t)((n_rows + job.rows_per_item - 1) / job.rows_per_item);
    }
    ingot_pool_run(pool, n_items, rows_item, &job);
    const long long bad = atomic_load(&job.first_bad);
    INGOT_FAIL_IF(bad >= 0, err, INGOT_E_FORMAT, "input value at row %lld, column %lld is not finite (%g)",
                  bad / (long long)n_cols, bad % (long long)n_cols, (double)src[bad]);
    return INGOT_OK;
}
