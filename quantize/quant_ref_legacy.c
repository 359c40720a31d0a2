// Scalar reference kernels of the 32-value block types: Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1 and IQ4_NL. Layouts and the closed-form quantizers of the
// first five follow GGML's reference definitions, so their bytes equal
// llama.cpp's for the same input. Their dot products take Q8_0 activations:
// the _1 types carry an offset m, handled as m * d8 * sum(q8) (the sum is
// taken from the Q8_0 block, so no separate Q8_1 activation type exists).
#include <string.h>

#include "quant_internal.h"

const int8_t ingot_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                       1,    13,   25,  38,  53,  69,  89,  113};

// ---- Q8_0 --------------------------------------------------------------------
// Closed form: d = max|x| / 127 stored as f16; q = roundf(x * (1/d)) with
// the unrounded f32 d (round half away from zero, as GGML).
void ingot_q8_0_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        float amax = 0.0f;
        for (int j = 0; j < INGOT_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        for (int j = 0; j < INGOT_QK; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void ingot_q8_0_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        const float d = ingot_h2f(x[i].d);
        for (int j = 0; j < INGOT_QK; j++) y[i * INGOT_QK + j] = d * (float)x[i].qs[j];
    }
}

void ingot_q8_0_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q8_0 *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < INGOT_QK; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (float)sumi * (ingot_h2f(x[i].d) * ingot_h2f(y[i].d));
    }
    *s = sum;
}

// ---- Q4_0 / Q5_0 (symmetric, signed max maps to the most negative level) -------
static float block_signed_max(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

void ingot_q4_0_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const float d = block_signed_max(x, INGOT_QK) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(x[j] * id + 8.5f), q1 = (int)(x[j + 16] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void ingot_q4_0_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const float d = ingot_h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((x[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * (float)((x[i].qs[j] >> 4) - 8);
        }
    }
}

void ingot_q4_0_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q4_0 *x = vx;
    const ingot_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        sum += (float)sumi * (ingot_h2f(x[i].d) * ingot_h2f(y[i].d));
    }
    *s = sum;
}

void ingot_q5_0_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_q5_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const float d = block_signed_max(x, INGOT_QK) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(x[j] * id + 16.5f), q1 = (int)(x[j + 16] * id + 16.5f);
            q0 = q0 > 31 ? 31 : q0;
            q1 = q1 > 31 ? 31 : q1;
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void ingot_q5_0_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const float d = ingot_h2f(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(q0 - 16);
            y[j + 16] = d * (float)(q1 - 16);
        }
    }
}

void ingot_q5_0_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q5_0 *x = vx;
    const ingot_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            sumi += (q0 - 16) * y[i].qs[j] + (q1 - 16) * y[i].qs[j + 16];
        }
        sum += (float)sumi * (ingot_h2f(x[i].d) * ingot_h2f(y[i].d));
    }
    *s = sum;
}

// ---- Q4_1 / Q5_1 (affine: x = d q + m, m the block minimum) --------------------
static void block_min_max(const float *x, int n, float *mn, float *mx) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        lo = fminf(lo, x[j]);
        hi = fmaxf(hi, x[j]);
    }
    *mn = lo;
    *mx = hi;
}

void ingot_q4_1_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_q4_1 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        float mn, mx;
        block_min_max(x, INGOT_QK, &mn, &mx);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        y[i].m = ingot_f2h(mn);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)((x[j] - mn) * id + 0.5f), q1 = (int)((x[j + 16] - mn) * id + 0.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void ingot_q4_1_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const float d = ingot_h2f(x[i].d), m = ingot_h2f(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(x[i].qs[j] & 0xF) + m;
            y[j + 16] = d * (float)(x[i].qs[j] >> 4) + m;
        }
    }
}

void ingot_q4_1_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q4_1 *x = vx;
    const ingot_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        int32_t sumi = 0, sumy = 0;
        for (int j = 0; j < 16; j++) {
            sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
            sumy += y[i].qs[j] + y[i].qs[j + 16];
        }
        const float dy = ingot_h2f(y[i].d);
        sum += (float)sumi * (ingot_h2f(x[i].d) * dy) + (float)sumy * (ingot_h2f(x[i].m) * dy);
    }
    *s = sum;
}

void ingot_q5_1_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_q5_1 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        float mn, mx;
        block_min_max(x, INGOT_QK, &mn, &mx);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        y[i].m = ingot_f2h(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int)((x[j] - mn) * id + 0.5f), q1 = (int)((x[j + 16] - mn) * id + 0.5f);
            q0 = q0 > 31 ? 31 : q0;
            q1 = q1 > 31 ? 31 : q1;
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void ingot_q5_1_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const float d = ingot_h2f(x[i].d), m = ingot_h2f(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)q0 + m;
            y[j + 16] = d * (float)q1 + m;
        }
    }
}

void ingot_q5_1_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_q5_1 *x = vx;
    const ingot_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int32_t sumi = 0, sumy = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
            sumy += y[i].qs[j] + y[i].qs[j + 16];
        }
        const float dy = ingot_h2f(y[i].d);
        sum += (float)sumi * (ingot_h2f(x[i].d) * dy) + (float)sumy * (ingot_h2f(x[i].m) * dy);
    }
    *s = sum;
}

// ---- IQ4_NL ----------------------------------------------------------------------
// Index of the grid value nearest to v; a value exactly between two grid
// points takes the upper one. Grid points are ≥ 11 apart, so for v in
// [k, k+1) the answer is nearest(k) or the next index: a 256-entry table on
// floor(v) plus one comparison with the midpoint.
static uint8_t g_iq4nl_floor[256]; // [floor(v) + 128]
float ingot_iq4nl_mid[16];         // midpoint between grid i and i + 1 (last: +inf)
#define g_iq4nl_mid ingot_iq4nl_mid

static void iq4nl_tables_init(void) {
    for (int i = 0; i < 15; i++) g_iq4nl_mid[i] = 0.5f * (float)(ingot_iq4nl_values[i] + ingot_iq4nl_values[i + 1]);
    g_iq4nl_mid[15] = INFINITY;
    for (int k = -128; k < 128; k++) {
        int idx = 0;
        while (idx < 15 && (float)k >= g_iq4nl_mid[idx]) idx++;
        g_iq4nl_floor[k + 128] = (uint8_t)idx;
    }
}

static inline int iq4nl_nearest(float v) {
    v = v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v;
    int k = (int)(v + 128.0f) - 128; // floor: truncation of a non-negative sum...
    k -= (float)k > v;                 // ...that may have rounded up to an integer
    const int idx = g_iq4nl_floor[k + 128];
    return idx + (v >= g_iq4nl_mid[idx]);
}

void ingot_quant_legacy_init(void) { iq4nl_tables_init(); }

// Error weights: with an importance vector w = im * sqrt(s2 + x^2), without
// w = sqrt(s2) + |x| (s2 = mean x^2 of the block): large weights count more,
// as they dominate a layer's output error.
static void iq4nl_weights(const float *x, const float *im, float *w) {
    float p[INGOT_QK];
    for (int j = 0; j < INGOT_QK; j++) p[j] = x[j] * x[j];
    const float s2 = ingot_sum32(p) / INGOT_QK;
    for (int j = 0; j < INGOT_QK; j++)
        w[j] = im ? im[j] * sqrtf(s2 + x[j] * x[j]) : sqrtf(s2) + fabsf(x[j]);
}

// Searched scale: candidate inverse scales around the one mapping the
// signed maximum onto the grid end -127; for each, every value takes its
// nearest grid point and the scale is refit by weighted least squares; the
// candidate with the least weighted error wins. `search` = false gives the
// round-to-nearest baseline.
static void iq4nl_quantize_block(const float *x, const float *im, ingot_block_iq4_nl *y, int search) {
    float w[INGOT_QK];
    const float max = block_signed_max(x, INGOT_QK);
    if (fabsf(max) < 1e-30f) {
        y->d = 0;
        memset(y->qs, 0x88, 16); // grid index 8 (+1) times d = 0
        return;
    }
    iq4nl_weights(x, im, w);
    float d = max / -127.0f;
    if (search) {
        float best = -1.0f;
        for (int itry = -7; itry <= 7; itry++) {
            const float id = (-127.0f + (float)itry) / max;
            float pqx[INGOT_QK], pq2[INGOT_QK];
            for (int j = 0; j < INGOT_QK; j++) {
                const float v = ingot_iq4nl_values[iq4nl_nearest(x[j] * id)];
                pqx[j] = w[j] * x[j] * v;
                pq2[j] = w[j] * v * v;
            }
            const float sqx = ingot_sum32(pqx), sq2 = ingot_sum32(pq2); // fixed order, as the SIMD twin
            if (sq2 > 0 && sqx * sqx > best * sq2) {
                best = sqx * sqx / sq2;
                d = sqx / sq2;
            }
        }
    }
    y->d = ingot_f2h(d);
    const float dr = ingot_h2f(y->d);
    const float id = dr != 0.0f ? 1.0f / dr : 0.0f;
    for (int j = 0; j < 16; j++)
        y->qs[j] = (uint8_t)(iq4nl_nearest(x[j] * id) | (iq4nl_nearest(x[j + 16] * id) << 4));
}

void ingot_iq4_nl_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    assert(n % INGOT_QK == 0);
    ingot_block_iq4_nl *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++)
        iq4nl_quantize_block(x + i * INGOT_QK, imatrix ? imatrix + i * INGOT_QK : NULL, &y[i], 1);
}

void ingot_iq4_nl_quantize_row_rtn(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK == 0);
    ingot_block_iq4_nl *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++) iq4nl_quantize_block(x + i * INGOT_QK, NULL, &y[i], 0);
}

void ingot_iq4_nl_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK == 0);
    const ingot_block_iq4_nl *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK; i++, y += INGOT_QK) {
        const float d = ingot_h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)ingot_iq4nl_values[x[i].qs[j] & 0xF];
            y[j + 16] = d * (float)ingot_iq4nl_values[x[i].qs[j] >> 4];
        }
    }
}

void ingot_iq4_nl_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK == 0);
    const ingot_block_iq4_nl *x = vx;
    const ingot_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += ingot_iq4nl_values[x[i].qs[j] & 0xF] * y[i].qs[j] +
                    ingot_iq4nl_values[x[i].qs[j] >> 4] * y[i].qs[j + 16];
        sum += (float)sumi * (ingot_h2f(x[i].d) * ingot_h2f(y[i].d));
    }
    *s = sum;
}
