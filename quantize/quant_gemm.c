// Multi-row dot products: one weight row against up to INGOT_GEMM_MAX_ROWS
// activation rows, each weight block decoded once (levels, scales) and
// reused for every row. Prompt processing multiplies a weight by many
// tokens, and decoding a block costs as much as one dot with it.
//
// The scalar _ref kernels here compute every row's sum in the order of the
// type's vec_dot_ref (integer block sums are exact, the float steps are the
// same), so they equal a loop of vec_dot_ref bit for bit. The dispatch
// tables (one per SIMD level) start from them; quant_gemm_avx2.c and
// quant_gemm_avx512.c install their twins.
#include <pthread.h>

#include "quant_gemm_internal.h"

// ---- float weights (f32 activations) ------------------------------------------------
// Decoded in chunks of this many values; each row accumulates in double in
// index order, as the float vec_dot_ref kernels do.
enum { GEMM_FLOAT_CHUNK = 256 };

static void float_gemm(int64_t n, const float *w, int64_t off, const void *y, size_t ldy, int nr, double *acc) {
    for (int j = 0; j < nr; j++) {
        const float *yj = (const float *)((const uint8_t *)y + (size_t)j * ldy) + off;
        double a = acc[j];
        for (int64_t i = 0; i < n; i++) a += (double)w[i] * yj[i];
        acc[j] = a;
    }
}

static void f32_gemm_ref(int64_t n, float *s, size_t lds, const void *x, const void *y, size_t ldy, int nr) {
    double acc[INGOT_GEMM_MAX_ROWS] = {0};
    float_gemm(n, x, 0, y, ldy, nr, acc);
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = (float)acc[j];
}

#define HALF_GEMM_REF(name, cvt)                                                                      \
    static void name(int64_t n, float *s, size_t lds, const void *x, const void *y, size_t ldy, int nr) { \
        double acc[INGOT_GEMM_MAX_ROWS] = {0};                                                        \
        float w[GEMM_FLOAT_CHUNK];                                                                    \
        const uint8_t *xb = x;                                                                        \
        for (int64_t i0 = 0; i0 < n; i0 += GEMM_FLOAT_CHUNK) {                                        \
            const int64_t m = n - i0 < GEMM_FLOAT_CHUNK ? n - i0 : GEMM_FLOAT_CHUNK;                  \
            for (int64_t i = 0; i < m; i++) {                                                         \
                uint16_t h;                                                                           \
                memcpy(&h, xb + 2 * (i0 + i), 2);                                                     \
                w[i] = cvt(h);                                                                        \
            }                                                                                         \
            float_gemm(m, w, i0, y, ldy, nr, acc);                                            \
        }                                                                                             \
        for (int j = 0; j < nr; j++) s[(size_t)j * lds] = (float)acc[j];                              \
    }
HALF_GEMM_REF(f16_gemm_ref, ingot_f16_to_f32)
HALF_GEMM_REF(bf16_gemm_ref, ingot_bf16_to_f32)

// ---- Q8_0 / Q4_0 (Q8_0 activations) -------------------------------------------------
// One decoded block: levels q[32] (value = d * q).
static void q8_0_block_gemm(const int8_t *q, float d, int64_t i, float *sum, const void *y, size_t ldy, int nr) {
    for (int j = 0; j < nr; j++) {
        const ingot_block_q8_0 *yb = (const ingot_block_q8_0 *)((const uint8_t *)y + (size_t)j * ldy) + i;
        int32_t sumi = 0;
        for (int l = 0; l < INGOT_QK; l++) sumi += q[l] * yb->qs[l];
        sum[j] += (float)sumi * (d * ingot_h2f(yb->d));
    }
}

static void q8_0_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *y, size_t ldy, int nr) {
    const ingot_block_q8_0 *x = vx;
    float sum[INGOT_GEMM_MAX_ROWS] = {0};
    for (int64_t i = 0; i < n / INGOT_QK; i++) q8_0_block_gemm(x[i].qs, ingot_h2f(x[i].d), i, sum, y, ldy, nr);
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = sum[j];
}

static void q4_0_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *y, size_t ldy, int nr) {
    const ingot_block_q4_0 *x = vx;
    float sum[INGOT_GEMM_MAX_ROWS] = {0};
    int8_t q[INGOT_QK];
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        for (int l = 0; l < 16; l++) {
            q[l] = (int8_t)((x[i].qs[l] & 0xF) - 8);
            q[l + 16] = (int8_t)((x[i].qs[l] >> 4) - 8);
        }
        q8_0_block_gemm(q, ingot_h2f(x[i].d), i, sum, y, ldy, nr);
    }
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = sum[j];
}

// ---- K-quants (Q8_K activations) -----------------------------------------------------
static const ingot_block_q8_k *q8k_row(const void *y, size_t ldy, int j, int64_t i) {
    return (const ingot_block_q8_k *)((const uint8_t *)y + (size_t)j * ldy) + i;
}

// Q4_K / Q5_K super-block decoded: levels L[256] (0..31), 8 scales and mins.
static void k45_block_gemm(const uint8_t *L, const uint8_t *sc, const uint8_t *m, float d, float dmin, int64_t i,
                           float *sum, const void *y, size_t ldy, int nr) {
    for (int j = 0; j < nr; j++) {
        const ingot_block_q8_k *yb = q8k_row(y, ldy, j, i);
        int32_t sumi = 0, summ = 0;
        for (int b = 0; b < 8; b++) {
            int32_t acc = 0;
            for (int l = 0; l < 32; l++) acc += L[32 * b + l] * yb->qs[32 * b + l];
            sumi += sc[b] * acc;
            summ += m[b] * (yb->bsums[2 * b] + yb->bsums[2 * b + 1]);
        }
        sum[j] += yb->d * (d * (float)sumi - dmin * (float)summ);
    }
}

static void q4_k_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *y, size_t ldy, int nr) {
    const ingot_block_q4_k *x = vx;
    float sum[INGOT_GEMM_MAX_ROWS] = {0};
    uint8_t L[INGOT_QK_K], sc[8], m[8];
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        for (int b = 0; b < 8; b++) {
            ingot_k4_scale_min(b, x[i].scales, &sc[b], &m[b]);
            const uint8_t *q = x[i].qs + 32 * (b / 2);
            for (int l = 0; l < 32; l++) L[32 * b + l] = (q[l] >> (4 * (b & 1))) & 0xF;
        }
        k45_block_gemm(L, sc, m, ingot_h2f(x[i].d), ingot_h2f(x[i].dmin), i, sum, y, ldy, nr);
    }
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = sum[j];
}

static void q5_k_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *y, size_t ldy, int nr) {
    const ingot_block_q5_k *x = vx;
    float sum[INGOT_GEMM_MAX_ROWS] = {0};
    uint8_t L[INGOT_QK_K], sc[8], m[8];
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        for (int b = 0; b < 8; b++) {
            ingot_k4_scale_min(b, x[i].scales, &sc[b], &m[b]);
            const uint8_t *q = x[i].qs + 32 * (b / 2);
            for (int l = 0; l < 32; l++)
                L[32 * b + l] = (uint8_t)(((q[l] >> (4 * (b & 1))) & 0xF) | (((x[i].qh[l] >> b) & 1) << 4));
        }
        k45_block_gemm(L, sc, m, ingot_h2f(x[i].d), ingot_h2f(x[i].dmin), i, sum, y, ldy, nr);
    }
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = sum[j];
}

static void q6_k_gemm_ref(int64_t n, float *s, size_t lds, const void *vx, const void *y, size_t ldy, int nr) {
    const ingot_block_q6_k *x = vx;
    float sum[INGOT_GEMM_MAX_ROWS] = {0};
    int8_t L[INGOT_QK_K];
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        // Element 128h + 32k + l: low 4 bits in ql[64h + l + 32(k & 1)] at
        // bit 4(k >> 1), high 2 bits in qh[32h + l] at bit 2k.
        for (int e = 0; e < INGOT_QK_K; e++) {
            const int h = e / 128, k = (e / 32) % 4, l = e % 32;
            const int lo = (x[i].ql[64 * h + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 0xF;
            const int hi = (x[i].qh[32 * h + l] >> (2 * k)) & 3;
            L[e] = (int8_t)((lo | (hi << 4)) - 32);
        }
        const float d = ingot_h2f(x[i].d);
        for (int j = 0; j < nr; j++) {
            const ingot_block_q8_k *yb = q8k_row(y, ldy, j, i);
            int32_t sumi = 0;
            for (int b = 0; b < 16; b++) {
                int32_t acc = 0;
                for (int l = 0; l < 16; l++) acc += L[16 * b + l] * yb->qs[16 * b + l];
                sumi += x[i].scales[b] * acc;
            }
            sum[j] += yb->d * d * (float)sumi;
        }
    }
    for (int j = 0; j < nr; j++) s[(size_t)j * lds] = sum[j];
}

// ---- dispatch tables -------------------------------------------------------------------
static ingot_gemm_fn g_gemm[3][INGOT_DTYPE_COUNT];
static pthread_once_t g_gemm_once = PTHREAD_ONCE_INIT;
static ingot_simd_level g_gemm_max; // what the CPU supports (cpuid is slow under a hypervisor: asked once)

static void gemm_tables_init(void) {
    g_gemm_max = ingot_simd_detect();
    ingot_gemm_fn *ref = g_gemm[INGOT_SIMD_SCALAR];
    ref[INGOT_DTYPE_F32] = f32_gemm_ref;
    ref[INGOT_DTYPE_F16] = f16_gemm_ref;
    ref[INGOT_DTYPE_BF16] = bf16_gemm_ref;
    ref[INGOT_DTYPE_Q8_0] = q8_0_gemm_ref;
    ref[INGOT_DTYPE_Q4_0] = q4_0_gemm_ref;
    ref[INGOT_DTYPE_Q4_K] = q4_k_gemm_ref;
    ref[INGOT_DTYPE_Q5_K] = q5_k_gemm_ref;
    ref[INGOT_DTYPE_Q6_K] = q6_k_gemm_ref;
    memcpy(g_gemm[INGOT_SIMD_AVX2], ref, sizeof g_gemm[0]);
    ingot_quant_gemm_install_avx2(g_gemm[INGOT_SIMD_AVX2]);
    memcpy(g_gemm[INGOT_SIMD_AVX512], g_gemm[INGOT_SIMD_AVX2], sizeof g_gemm[0]);
    ingot_quant_gemm_install_avx512(g_gemm[INGOT_SIMD_AVX512]);
}

ingot_gemm_fn ingot_quant_gemm_get_level(ingot_dtype t, ingot_simd_level level) {
    ingot_quant_init(); // the kernels read lookup tables set up there
    pthread_once(&g_gemm_once, gemm_tables_init);
    if (!ingot_dtype_valid((int)t) || (int)level < 0 || level > g_gemm_max) return NULL;
    return g_gemm[level][t];
}

ingot_gemm_fn ingot_quant_gemm_get(ingot_dtype t) { return ingot_quant_gemm_get_level(t, ingot_simd_get()); }
