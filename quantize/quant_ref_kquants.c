// Scalar reference kernels of the 256-value super-block types Q2_K … Q6_K
// and the Q8_K activation type (GGML byte layouts, see docs/TYPES.md).
//
// Quantizers search their sub-block scales (and mins) to minimise a
// weighted squared error, the method llama.cpp uses (make_qkx2_quants /
// make_qx_quants), written here from its description:
//   affine types (Q2_K, Q4_K, Q5_K): x ≈ s·L − m with L in [0, nmax], m ≥ 0.
//     For candidate inverse scales around nmax / (max − min), levels L are
//     rounded, then (s, m) are refit by weighted least squares and the
//     candidate with the least weighted error wins.
//   symmetric types (Q3_K, Q6_K): x ≈ s·L with L in [−nmax, nmax − 1]; for
//     candidate inverse scales around −nmax / max (signed max), levels are
//     rounded and s refit; the largest (Σ w L x)² / Σ w L² wins.
// Then the sub-block scales are themselves quantized (6 or 4 bits, or int8)
// against one f16 super-scale, and every value is re-rounded with the scale
// it will be decoded with.
//
// Error weights: with an importance vector (imatrix) w = im · sqrt(s2 + x²),
// without one w = sqrt(s2) + |x|, where s2 is the mean x² of the super-block.
// Large weights then count more than plain MSE would give them, as they
// dominate a layer's output error; the same choice llama.cpp makes for Q4_K.
//
// Sums over a 32-value sub-block go through ingot_sum32 so the SIMD
// quantizers reproduce these bytes exactly.
#include <string.h>

#include "quant_internal.h"

static float sum_n(const float *p, int n) {
    assert(n == 16 || n == 32);
    return n == 32 ? ingot_sum32(p) : ingot_sum16(p);
}

// s2 is summed per 32-value sub-block (ingot_sum32) so SIMD twins match.
void ingot_kquant_weights_ref(const float *x, const float *im, float *w) {
    float s2 = 0.0f;
    for (int b = 0; b < INGOT_QK_K; b += 32) {
        float p[32];
        for (int j = 0; j < 32; j++) p[j] = x[b + j] * x[b + j];
        s2 += ingot_sum32(p);
    }
    s2 /= INGOT_QK_K;
    const float s = sqrtf(s2);
    for (int j = 0; j < INGOT_QK_K; j++) w[j] = im ? im[j] * sqrtf(s2 + x[j] * x[j]) : s + fabsf(x[j]);
}
#define kquant_weights ingot_kquant_weights_ref

// ---- affine sub-block fit ----------------------------------------------------
// Returns the scale s; *m_out = m ≥ 0 so that x ≈ s·L − m. n ≤ 32.
static float affine_search(int n, int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                           float rmin, float rdelta) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        lo = fminf(lo, x[j]);
        hi = fmaxf(hi, x[j]);
    }
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo)) {
        memset(L, 0, (size_t)n);
        *m_out = -lo;
        return 0.0f;
    }
    memset(L, 0, (size_t)n); // kept if no candidate admits a fit
    float pwx[32], pwx2[32];
    for (int j = 0; j < n; j++) {
        pwx[j] = w[j] * x[j];
        pwx2[j] = pwx[j] * x[j];
    }
    const double sw = sum_n(w, n), swx = sum_n(pwx, n), swx2 = sum_n(pwx2, n);
    double best_err = INFINITY;
    float best_s = 0.0f, best_m = lo;
    for (int is = -1; is <= nstep; is++) {
        const float iscale = ingot_affine_iscale(is, nmax, rmin, rdelta, hi - lo);
        uint8_t lt[32];
        float a[32], b[32], c[32];
        for (int j = 0; j < n; j++) {
            int l = ingot_nearest_int(iscale * (x[j] - lo));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            lt[j] = (uint8_t)l;
            a[j] = w[j] * (float)l;
            b[j] = a[j] * (float)l;
            c[j] = a[j] * x[j];
        }
        double s, m, err;
        if (!ingot_affine_fit(sw, swx, swx2, sum_n(a, n), sum_n(b, n), sum_n(c, n), &s, &m, &err)) continue;
        if (err < best_err) {
            best_err = err;
            best_s = (float)s;
            best_m = (float)m;
            memcpy(L, lt, (size_t)n);
        }
    }
    *m_out = -best_m;
    return best_s;
}

float ingot_affine_search32_ref(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                float rmin, float rdelta) {
    return affine_search(32, nmax, x, w, L, m_out, nstep, rmin, rdelta);
}

void ingot_k45_levels32_ref(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    for (int l = 0; l < 32; l++) {
        const int q = dl != 0.0f ? ingot_nearest_int((x[l] + dm) / dl) : 0;
        L[l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
    }
}

float ingot_k45_error32_ref(int nmax, const float *x, const float *w, float dl, float dm);
static const ingot_k45_kernels k_k45_ref = {ingot_kquant_weights_ref, ingot_affine_search32_ref,
                                            ingot_k45_levels32_ref, ingot_k45_error32_ref};

// Round-to-nearest baseline: s = (max − min) / nmax, m = −min.
static float affine_rtn(int n, int nmax, const float *x, uint8_t *L, float *m_out) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        lo = fminf(lo, x[j]);
        hi = fmaxf(hi, x[j]);
    }
    if (lo > 0.0f) lo = 0.0f;
    *m_out = -lo;
    const float s = (hi - lo) / (float)nmax;
    for (int j = 0; j < n; j++) {
        int l = s > 0.0f ? ingot_nearest_int((x[j] - lo) / s) : 0;
        L[j] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
    }
    return s;
}

// ---- symmetric sub-block fit -------------------------------------------------
static float signed_max(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

// Searched scale of 16 values: x ≈ s·L, L in [−nmax, nmax − 1]. Sums in
// ingot_sum16 order (floats), compared in double.
float ingot_sym_fit16_ref(int nmax, const float *x, const float *w) {
    const float max = signed_max(x, 16);
    if (fabsf(max) < 1e-30f) return 0.0f;
    double best = -1.0;
    float best_s = max / -(float)nmax;
    for (int is = -9; is <= 9; is++) {
        const float iscale = -((float)nmax + 0.1f * (float)is) / max;
        float plx[16], pl2[16];
        for (int j = 0; j < 16; j++) {
            int l = ingot_nearest_int(iscale * x[j]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            const float a = w[j] * (float)l;
            pl2[j] = a * (float)l;
            plx[j] = a * x[j];
        }
        const double slx = ingot_sum16(plx), sl2 = ingot_sum16(pl2);
        if (sl2 > 0 && slx * slx > best * sl2) {
            best = slx * slx / sl2;
            best_s = (float)(slx / sl2);
        }
    }
    return best_s;
}

void ingot_sym_levels16_ref(int nmax, const float *x, float dl, uint8_t *L) {
    for (int l = 0; l < 16; l++) {
        const int q = ingot_nearest_int(x[l] / dl);
        L[l] = (uint8_t)((q < -nmax ? -nmax : q > nmax - 1 ? nmax - 1 : q) + nmax);
    }
}

static const ingot_sym_kernels k_sym_ref = {ingot_kquant_weights_ref, ingot_sym_fit16_ref, ingot_sym_levels16_ref};

// Sub-block scales of a symmetric super-block; `k` NULL: plain max / −nmax.
static void sym_scales(const float *x, const float *im, int nmax, const ingot_sym_kernels *k, float *sc) {
    float w[INGOT_QK_K];
    if (k) k->weights(x, im, w);
    for (int j = 0; j < 16; j++) {
        if (k) {
            sc[j] = k->fit16(nmax, x + 16 * j, w + 16 * j);
        } else {
            const float max = signed_max(x + 16 * j, 16);
            sc[j] = fabsf(max) < 1e-30f ? 0.0f : max / -(float)nmax;
        }
    }
}

static void sym_levels(const ingot_sym_kernels *k, int nmax, const float *x, float dl, uint8_t *L) {
    if (dl == 0.0f) memset(L, nmax, 16);
    else (k ? k->levels16 : ingot_sym_levels16_ref)(nmax, x, dl, L);
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------
static void k4_set_scale_min(uint8_t *q, int j, int ls, int lm) {
    if (j < 4) {
        q[j] = (uint8_t)ls;
        q[j + 4] = (uint8_t)lm;
    } else {
        q[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        q[j - 4] |= (uint8_t)((ls >> 4) << 6);
        q[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

// Weighted error of 32 values decoded with dl·L − dm, L re-rounded.
float ingot_k45_error32_ref(int nmax, const float *x, const float *w, float dl, float dm) {
    float e[32];
    for (int l = 0; l < 32; l++) {
        int q = dl != 0.0f ? ingot_nearest_int((x[l] + dm) / dl) : 0;
        q = q < 0 ? 0 : q > nmax ? nmax : q;
        const float diff = dl * (float)q - dm - x[l];
        e[l] = w[l] * diff * diff;
    }
    return ingot_sum32(e);
}

// The 6-bit scale and min were rounded independently; try their neighbours
// (±1 each) against the true weighted error with the f16 super-scales.
static void k45_refine(const ingot_k45_kernels *k, int nmax, const float *x, const float *w, float d, float dmin,
                       int *ls, int *lm) {
    int bs = *ls, bm = *lm;
    float best = k->error32(nmax, x, w, d * (float)bs, dmin * (float)bm);
    for (int a = *ls - 1; a <= *ls + 1; a++)
        for (int b = *lm - 1; b <= *lm + 1; b++) {
            if (a < 0 || a > 63 || b < 0 || b > 63 || (a != *ls) == (b != *lm)) continue;
            const float e = k->error32(nmax, x, w, d * (float)a, dmin * (float)b);
            if (e < best) {
                best = e;
                bs = a;
                bm = b;
            }
        }
    *ls = bs;
    *lm = bm;
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills d, dmin, scales and
// the final levels L[256]. `k` NULL: round-to-nearest baseline.
static void k45_block(const float *x, const float *im, int nmax, const ingot_k45_kernels *k, uint16_t *d_out,
                      uint16_t *dmin_out, uint8_t *scales, uint8_t *L) {
    float w[INGOT_QK_K], sc[8], mn[8];
    if (k) k->weights(x, im, w);
    float max_sc = 0.0f, max_mn = 0.0f;
    for (int j = 0; j < 8; j++) {
        sc[j] = k ? k->search(nmax, x + 32 * j, w + 32 * j, L + 32 * j, &mn[j], nmax == 15 ? 20 : 15,
                              nmax == 15 ? -1.0f : -0.5f, 0.1f)
                  : affine_rtn(32, nmax, x + 32 * j, L + 32 * j, &mn[j]);
        max_sc = fmaxf(max_sc, sc[j]);
        max_mn = fmaxf(max_mn, mn[j]);
    }
    const float inv_sc = max_sc > 0.0f ? 63.0f / max_sc : 0.0f;
    const float inv_mn = max_mn > 0.0f ? 63.0f / max_mn : 0.0f;
    memset(scales, 0, 12);
    *d_out = ingot_f2h(max_sc / 63.0f);
    *dmin_out = ingot_f2h(max_mn / 63.0f);
    const float d = ingot_h2f(*d_out), dmin = ingot_h2f(*dmin_out);
    for (int j = 0; j < 8; j++) {
        int ls = ingot_nearest_int(inv_sc * sc[j]), lm = ingot_nearest_int(inv_mn * mn[j]);
        ls = ls < 0 ? 0 : ls > 63 ? 63 : ls;
        lm = lm < 0 ? 0 : lm > 63 ? 63 : lm;
        if (k) k45_refine(k, nmax, x + 32 * j, w + 32 * j, d, dmin, &ls, &lm);
        k4_set_scale_min(scales, j, ls, lm);
    }
    for (int j = 0; j < 8; j++) {
        uint8_t s6, m6;
        ingot_k4_scale_min(j, scales, &s6, &m6);
        (k ? k->levels : ingot_k45_levels32_ref)(nmax, x + 32 * j, d * (float)s6, dmin * (float)m6, L + 32 * j);
    }
}

void ingot_q4_k_quantize_row_with(const float *x, void *vy, int64_t n, const float *imatrix,
                                  const ingot_k45_kernels *k) {
    assert(n % INGOT_QK_K == 0);
    ingot_block_q4_k *y = vy;
    uint8_t L[INGOT_QK_K];
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float *xb = x + i * INGOT_QK_K;
        k45_block(xb, imatrix ? imatrix + i * INGOT_QK_K : NULL, 15, k, &y[i].d, &y[i].dmin, y[i].scales, L);
        for (int j = 0; j < INGOT_QK_K; j += 64)
            for (int l = 0; l < 32; l++) y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

void ingot_q4_k_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q4_k_quantize_row_with(x, y, n, imatrix, &k_k45_ref);
}
void ingot_q4_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_q4_k_quantize_row_with(x, y, n, NULL, NULL);
}

void ingot_q4_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q4_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = ingot_h2f(x[i].d), dmin = ingot_h2f(x[i].dmin);
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; l++) *y++ = dl * (float)((q[l] >> shift) & 0xF) - ml;
        }
    }
}

void ingot_q4_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q4_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            int32_t acc = 0;
            for (int l = 0; l < 32; l++) acc += ((q[l] >> shift) & 0xF) * y[i].qs[32 * j + l];
            sumi += sc * acc;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sum += y[i].d * (ingot_h2f(x[i].d) * (float)sumi - ingot_h2f(x[i].dmin) * (float)summ);
    }
    *s = sum;
}

void ingot_q5_k_quantize_row_with(const float *x, void *vy, int64_t n, const float *imatrix,
                                  const ingot_k45_kernels *k) {
    assert(n % INGOT_QK_K == 0);
    ingot_block_q5_k *y = vy;
    uint8_t L[INGOT_QK_K];
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float *xb = x + i * INGOT_QK_K;
        k45_block(xb, imatrix ? imatrix + i * INGOT_QK_K : NULL, 31, k, &y[i].d, &y[i].dmin, y[i].scales, L);
        memset(y[i].qh, 0, 32);
        for (int e = 0; e < INGOT_QK_K; e++)
            if (L[e] > 15) y[i].qh[e % 32] |= (uint8_t)(1u << (e / 32));
        for (int j = 0; j < INGOT_QK_K; j += 64)
            for (int l = 0; l < 32; l++)
                y[i].qs[j / 2 + l] = (uint8_t)((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
    }
}

void ingot_q5_k_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q5_k_quantize_row_with(x, y, n, imatrix, &k_k45_ref);
}
void ingot_q5_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_q5_k_quantize_row_with(x, y, n, NULL, NULL);
}

static inline int q5_k_level(const ingot_block_q5_k *b, int e) {
    const int lo = (b->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) & 1))) & 0xF;
    return lo | (((b->qh[e % 32] >> (e / 32)) & 1) << 4);
}

void ingot_q5_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q5_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = ingot_h2f(x[i].d), dmin = ingot_h2f(x[i].dmin);
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = dl * (float)q5_k_level(&x[i], 32 * j + l) - ml;
        }
    }
}

void ingot_q5_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q5_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ingot_k4_scale_min(j, x[i].scales, &sc, &m);
            int32_t acc = 0;
            for (int l = 0; l < 32; l++) acc += q5_k_level(&x[i], 32 * j + l) * y[i].qs[32 * j + l];
            sumi += sc * acc;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sum += y[i].d * (ingot_h2f(x[i].d) * (float)sumi - ingot_h2f(x[i].dmin) * (float)summ);
    }
    *s = sum;
}

// ---- Q2_K --------------------------------------------------------------------------
// 2-bit layout shared by Q2_K and Q3_K's low bits: element 128n + 32k + l
// sits in qs[32n + l] at bit 2k.
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < INGOT_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}
static inline int level_2bit(const uint8_t *qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

float ingot_affine_search16_ref(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                float rmin, float rdelta) {
    return affine_search(16, nmax, x, w, L, m_out, nstep, rmin, rdelta);
}

void ingot_affine_levels16_ref(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    for (int l = 0; l < 16; l++) {
        const int q = dl != 0.0f ? ingot_nearest_int((x[l] + dm) / dl) : 0;
        L[l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
    }
}

static const ingot_k2_kernels k_k2_ref = {ingot_kquant_weights_ref, ingot_affine_search16_ref,
                                          ingot_affine_levels16_ref};

void ingot_q2_k_quantize_row_with(const float *x, void *vy, int64_t n, const float *imatrix,
                                  const ingot_k2_kernels *k) {
    assert(n % INGOT_QK_K == 0);
    ingot_block_q2_k *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++, x += INGOT_QK_K) {
        float w[INGOT_QK_K], sc[16], mn[16];
        uint8_t L[INGOT_QK_K];
        if (k) k->weights(x, imatrix ? imatrix + i * INGOT_QK_K : NULL, w);
        float max_sc = 0.0f, max_mn = 0.0f;
        for (int j = 0; j < 16; j++) {
            sc[j] = k ? k->search16(3, x + 16 * j, w + 16 * j, L + 16 * j, &mn[j], 15, -0.5f, 0.1f)
                      : affine_rtn(16, 3, x + 16 * j, L + 16 * j, &mn[j]);
            max_sc = fmaxf(max_sc, sc[j]);
            max_mn = fmaxf(max_mn, mn[j]);
        }
        const float inv_sc = max_sc > 0.0f ? 15.0f / max_sc : 0.0f;
        const float inv_mn = max_mn > 0.0f ? 15.0f / max_mn : 0.0f;
        for (int j = 0; j < 16; j++) {
            int ls = ingot_nearest_int(inv_sc * sc[j]), lm = ingot_nearest_int(inv_mn * mn[j]);
            ls = ls < 0 ? 0 : ls > 15 ? 15 : ls;
            lm = lm < 0 ? 0 : lm > 15 ? 15 : lm;
            y[i].scales[j] = (uint8_t)(ls | (lm << 4));
        }
        y[i].d = ingot_f2h(max_sc / 15.0f);
        y[i].dmin = ingot_f2h(max_mn / 15.0f);
        const float d = ingot_h2f(y[i].d), dmin = ingot_h2f(y[i].dmin);
        for (int j = 0; j < 16; j++) {
            const float dl = d * (float)(y[i].scales[j] & 0xF), dm = dmin * (float)(y[i].scales[j] >> 4);
            (k ? k->levels16 : ingot_affine_levels16_ref)(3, x + 16 * j, dl, dm, L + 16 * j);
        }
        pack_2bit(L, y[i].qs);
    }
}

void ingot_q2_k_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q2_k_quantize_row_with(x, y, n, imatrix, &k_k2_ref);
}
void ingot_q2_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_q2_k_quantize_row_with(x, y, n, NULL, NULL);
}

void ingot_q2_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q2_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = ingot_h2f(x[i].d), dmin = ingot_h2f(x[i].dmin);
        for (int e = 0; e < INGOT_QK_K; e++) {
            const uint8_t sc = x[i].scales[e / 16];
            *y++ = d * (float)(sc & 0xF) * (float)level_2bit(x[i].qs, e) - dmin * (float)(sc >> 4);
        }
    }
}

void ingot_q2_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q2_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0, summ = 0;
        for (int j = 0; j < 16; j++) {
            int32_t acc = 0;
            for (int l = 0; l < 16; l++) acc += level_2bit(x[i].qs, 16 * j + l) * y[i].qs[16 * j + l];
            sumi += (x[i].scales[j] & 0xF) * acc;
            summ += (x[i].scales[j] >> 4) * y[i].bsums[j];
        }
        sum += y[i].d * (ingot_h2f(x[i].d) * (float)sumi - ingot_h2f(x[i].dmin) * (float)summ);
    }
    *s = sum;
}

// ---- Q3_K --------------------------------------------------------------------------
#define q3_k_scale ingot_q3_k_scale

void ingot_q3_k_quantize_row_with(const float *x, void *vy, int64_t n, const float *imatrix,
                                  const ingot_sym_kernels *k) {
    assert(n % INGOT_QK_K == 0);
    ingot_block_q3_k *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++, x += INGOT_QK_K) {
        float sc[16];
        uint8_t L[INGOT_QK_K];
        sym_scales(x, imatrix ? imatrix + i * INGOT_QK_K : NULL, 4, k, sc);
        const float max_sc = signed_max(sc, 16);
        memset(y[i].scales, 0, 12);
        if (fabsf(max_sc) < 1e-30f) {
            y[i].d = 0;
            memset(L, 4, sizeof L);
        } else {
            const float iscale = -32.0f / max_sc;
            for (int j = 0; j < 16; j++) {
                int l = ingot_nearest_int(iscale * sc[j]);
                l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
                if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[i].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = ingot_f2h(1.0f / iscale);
            const float d = ingot_h2f(y[i].d);
            for (int j = 0; j < 16; j++)
                sym_levels(k, 4, x + 16 * j, d * (float)q3_k_scale(y[i].scales, j), L + 16 * j);
        }
        memset(y[i].hmask, 0, 32);
        for (int e = 0; e < INGOT_QK_K; e++)
            if (L[e] > 3) {
                y[i].hmask[e % 32] |= (uint8_t)(1u << (e / 32));
                L[e] -= 4;
            }
        pack_2bit(L, y[i].qs);
    }
}

void ingot_q3_k_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q3_k_quantize_row_with(x, y, n, imatrix, &k_sym_ref);
}
void ingot_q3_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_q3_k_quantize_row_with(x, y, n, NULL, NULL);
}

static inline int q3_k_level(const ingot_block_q3_k *b, int e) {
    return level_2bit(b->qs, e) - ((b->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
}

void ingot_q3_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q3_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = ingot_h2f(x[i].d);
        for (int e = 0; e < INGOT_QK_K; e++)
            *y++ = d * (float)q3_k_scale(x[i].scales, e / 16) * (float)q3_k_level(&x[i], e);
    }
}

void ingot_q3_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q3_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++) {
            int32_t acc = 0;
            for (int l = 0; l < 16; l++) acc += q3_k_level(&x[i], 16 * j + l) * y[i].qs[16 * j + l];
            sumi += q3_k_scale(x[i].scales, j) * acc;
        }
        sum += y[i].d * ingot_h2f(x[i].d) * (float)sumi;
    }
    *s = sum;
}

// ---- Q6_K --------------------------------------------------------------------------
void ingot_q6_k_quantize_row_with(const float *x, void *vy, int64_t n, const float *imatrix,
                                  const ingot_sym_kernels *k) {
    assert(n % INGOT_QK_K == 0);
    ingot_block_q6_k *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++, x += INGOT_QK_K) {
        float sc[16];
        uint8_t L[INGOT_QK_K];
        sym_scales(x, imatrix ? imatrix + i * INGOT_QK_K : NULL, 32, k, sc);
        const float max_sc = signed_max(sc, 16);
        if (fabsf(max_sc) < 1e-30f) {
            memset(&y[i], 0, sizeof y[i]);
            memset(L, 32, sizeof L);
        } else {
            const float iscale = -128.0f / max_sc;
            for (int j = 0; j < 16; j++) {
                const int l = ingot_nearest_int(iscale * sc[j]);
                y[i].scales[j] = (int8_t)(l < -128 ? -128 : l > 127 ? 127 : l);
            }
            y[i].d = ingot_f2h(1.0f / iscale);
            const float d = ingot_h2f(y[i].d);
            for (int j = 0; j < 16; j++) sym_levels(k, 32, x + 16 * j, d * (float)y[i].scales[j], L + 16 * j);
        }
        for (int j = 0; j < INGOT_QK_K; j += 128) {
            uint8_t *ql = y[i].ql + j / 2, *qh = y[i].qh + j / 4;
            for (int l = 0; l < 32; l++) {
                const uint8_t *q = L + j + l;
                ql[l] = (uint8_t)((q[0] & 0xF) | ((q[64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q[32] & 0xF) | ((q[96] & 0xF) << 4));
                qh[l] = (uint8_t)((q[0] >> 4) | ((q[32] >> 4) << 2) | ((q[64] >> 4) << 4) | ((q[96] >> 4) << 6));
            }
        }
    }
}

void ingot_q6_k_quantize_row_ref(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q6_k_quantize_row_with(x, y, n, imatrix, &k_sym_ref);
}
void ingot_q6_k_quantize_row_rtn(const float *x, void *y, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_q6_k_quantize_row_with(x, y, n, NULL, NULL);
}

// Level of element e = 128h + 32k + l: low nibble from ql[64h + l + 32(k&1)]
// (k ≥ 2 in the high nibble), high bits from qh[32h + l] at bit 2k.
static inline int q6_k_level(const ingot_block_q6_k *b, int e) {
    const int h = e / 128, k = (e / 32) % 4, l = e % 32;
    const int lo = (b->ql[64 * h + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 0xF;
    const int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
    return (lo | (hi << 4)) - 32;
}

void ingot_q6_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q6_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const float d = ingot_h2f(x[i].d);
        for (int e = 0; e < INGOT_QK_K; e++) *y++ = d * (float)x[i].scales[e / 16] * (float)q6_k_level(&x[i], e);
    }
}

void ingot_q6_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q6_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++) {
            int32_t acc = 0;
            for (int l = 0; l < 16; l++) acc += q6_k_level(&x[i], 16 * j + l) * y[i].qs[16 * j + l];
            sumi += x[i].scales[j] * acc;
        }
        sum += y[i].d * ingot_h2f(x[i].d) * (float)sumi;
    }
    *s = sum;
}

// ---- Q8_K (activations) ----------------------------------------------------------
// d = max|x| / 127 (f32), q = nearest (half to even) of x / d, bsums per 16.
void ingot_q8_k_quantize_row_ref(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    assert(n % INGOT_QK_K == 0);
    ingot_block_q8_k *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++, x += INGOT_QK_K) {
        float amax = 0.0f;
        for (int j = 0; j < INGOT_QK_K; j++) amax = fmaxf(amax, fabsf(x[j]));
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = 127.0f / amax;
        for (int j = 0; j < INGOT_QK_K; j++) {
            const int q = ingot_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

void ingot_q8_k_dequantize_row_ref(const void *vx, float *y, int64_t n) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q8_k *x = vx;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++)
        for (int j = 0; j < INGOT_QK_K; j++) *y++ = x[i].d * (float)x[i].qs[j];
}

void ingot_q8_k_vec_dot_ref(int64_t n, float *s, const void *vx, const void *vy) {
    assert(n % INGOT_QK_K == 0);
    const ingot_block_q8_k *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < INGOT_QK_K; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += x[i].d * y[i].d * (float)sumi;
    }
    *s = sum;
}
