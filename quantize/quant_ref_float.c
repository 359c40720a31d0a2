// Scalar reference kernels of the float row types (F32, F16, BF16), the
// FP8 row type f8_e4m3_r32 (per 32 values: E8M0 scale then 32 E4M3) and the
// DeepSeek tile layout f8_e4m3_b128. These dot products take f32
// activations.
#include <string.h>

#include "quant_internal.h"

// ---- F32 ---------------------------------------------------------------------------
void ingot_f32_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    memcpy(y, x, (size_t)n * sizeof(float));
}

void ingot_f32_dequantize_row_ref(const void *x, float *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }

void ingot_f32_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * y[i];
    *s = (float)sum;
}

// ---- F16 / BF16 --------------------------------------------------------------------
// Elements are read with memcpy: a row of 2-byte values may sit at any even
// or odd offset of a caller's buffer.
void ingot_f16_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        const uint16_t h = ingot_f32_to_f16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

void ingot_f16_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = ingot_f16_to_f32(h);
    }
}

void ingot_f16_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx;
    const float *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += (double)ingot_f16_to_f32(h) * y[i];
    }
    *s = (float)sum;
}

void ingot_bf16_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        const uint16_t h = ingot_f32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

void ingot_bf16_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = ingot_bf16_to_f32(h);
    }
}

void ingot_bf16_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx;
    const float *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += (double)ingot_bf16_to_f32(h) * y[i];
    }
    *s = (float)sum;
}

// ---- f8_e4m3_r32 -------------------------------------------------------------------
float ingot_e4m3_lut[256];

void ingot_quant_float_init(void) {
    for (int v = 0; v < 256; v++) ingot_e4m3_lut[v] = ingot_e4m3_to_f32((uint8_t)v);
}

// Scale = smallest power of two ≥ max|x| / 448 (E4M3's largest finite
// value), so every scaled value is representable; values are then rounded
// to nearest even E4M3. Dividing by a power of two is exact.
void ingot_f8_r32_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_f8_r32 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        float amax = 0.0f;
        for (int j = 0; j < INGOT_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        y[i].e = amax > 0.0f ? ingot_f32_to_e8m0_ceil(amax / 448.0f) : 127;
        const float inv = 1.0f / ingot_e8m0_to_f32(y[i].e);
        for (int j = 0; j < INGOT_QK; j++) y[i].qs[j] = ingot_f32_to_e4m3(x[j] * inv);
    }
}

void ingot_f8_r32_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_f8_r32 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        const float d = ingot_e8m0_to_f32(x[i].e);
        for (int j = 0; j < INGOT_QK; j++) *y++ = ingot_e4m3_lut[x[i].qs[j]] * d;
    }
}

void ingot_f8_r32_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_f8_r32 *x = vx;
    const float *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        float acc = 0.0f;
        for (int j = 0; j < INGOT_QK; j++) acc += ingot_e4m3_lut[x[i].qs[j]] * y[i * INGOT_QK + j];
        sum += acc * ingot_e8m0_to_f32(x[i].e);
    }
    *s = sum;
}

// ---- f8_e4m3_b128 ------------------------------------------------------------------
static inline int64_t b128_tiles(int64_t n) { return (n + 127) / 128; }

void ingot_b128_dequantize_row(const void *tensor, int64_t n_rows, int64_t n_cols, int64_t r, float *y) {
    assert(r >= 0 && r < n_rows);
    ingot_quant_init();
    const uint8_t *q = (const uint8_t *)tensor + r * n_cols;
    const uint8_t *scales = (const uint8_t *)tensor + n_rows * n_cols + 4 * (r / 128) * b128_tiles(n_cols);
    for (int64_t t = 0; t < b128_tiles(n_cols); t++) {
        float d;
        memcpy(&d, scales + 4 * t, 4);
        const int64_t end = (t + 1) * 128 < n_cols ? (t + 1) * 128 : n_cols;
        for (int64_t c = t * 128; c < end; c++) y[c] = ingot_e4m3_lut[q[c]] * d;
    }
}

// Tile scale = max|x| / 448 over the tile (1 for an all-zero tile), as
// DeepSeek's weight_scale_inv; value = e4m3(x / scale).
void ingot_b128_quantize_band(const float *x, int64_t n_rows, int64_t n_cols, int64_t band, void *tensor) {
    const int64_t r0 = band * 128, r1 = r0 + 128 < n_rows ? r0 + 128 : n_rows;
    uint8_t *q = tensor;
    uint8_t *scales = q + n_rows * n_cols + 4 * band * b128_tiles(n_cols);
    for (int64_t t = 0; t < b128_tiles(n_cols); t++) {
        const int64_t c0 = t * 128, c1 = c0 + 128 < n_cols ? c0 + 128 : n_cols;
        float amax = 0.0f;
        for (int64_t r = r0; r < r1; r++)
            for (int64_t c = c0; c < c1; c++) amax = fmaxf(amax, fabsf(x[r * n_cols + c]));
        const float d = amax > 0.0f ? amax / 448.0f : 1.0f;
        memcpy(scales + 4 * t, &d, 4);
        for (int64_t r = r0; r < r1; r++)
            for (int64_t c = c0; c < c1; c++) q[r * n_cols + c] = ingot_f32_to_e4m3(x[r * n_cols + c] / d);
    }
}

void ingot_b128_quantize(const float *x, int64_t n_rows, int64_t n_cols, void *tensor) {
    for (int64_t b = 0; b < b128_tiles(n_rows); b++) ingot_b128_quantize_band(x, n_rows, n_cols, b, tensor);
}
