// AVX-512 kernels of the forward pass: attention of many queries at once
// (prompt processing), attention of one token's heads that share a key /
// value head (decoding), RMSNorm and SwiGLU. Each has a check the caller makes first;
// elsewhere the portable code in runner_ops.c / runner_forward.c runs.
//
// Attention: up to 16 query rows that share one key/value head (the heads
// of a GQA group, over consecutive tokens) are computed together, one
// query per vector lane.
//
//   scores: S[j][i] = Σ_d K[j][d] · Qt[d][i]   — Qt is the transposed,
//           pre-scaled query tile; each key element is broadcast and
//           multiplied with 16 queries at once, 8 keys in flight;
//   softmax over keys is then lane-wise (vertical max, exp, sum);
//   output: Ot[d][i] = Σ_j V[j][d] · P[j][i], 16 dims at a time in
//           registers while the keys stream past, scaled by 1 / sum and
//           transposed back into each query's output row.
//
// Keys outside a row's causal / sliding window range score -inf and get
// weight 0. Rows beyond nq are dead lanes (zero queries, every key valid).
#include <math.h>
#include <string.h>

#include "runner_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define ATT512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))

enum { KEYS_STEP = 8 };

// e^x: range reduction to r in [-ln2/2, ln2/2], degree-6 Taylor polynomial
// (relative error < 1e-6), then scaling by 2^n. x is clamped to [-87, 88]
// (-inf → e^-87: callers that need 0 mask it).
ATT512 static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// Scores of keys jlo + j (j in [j0, j0 + KEYS_STEP)) for every lane; masked
// keys get -inf. Returns the running lane maximum.
ATT512 static inline __m512 score_keys8(const float *qt, const float *keys, size_t stride, int hd, int key0,
                                        __m512i lo, __m512i hi, float *out, __m512 mx) {
    __m512 a[KEYS_STEP];
    const float *k[KEYS_STEP];
#pragma GCC unroll 8
    for (int u = 0; u < KEYS_STEP; u++) {
        a[u] = _mm512_setzero_ps();
        k[u] = keys + (size_t)(key0 + u) * stride;
    }
    for (int d = 0; d < hd; d++) {
        const __m512 q = _mm512_loadu_ps(qt + 16 * d);
#pragma GCC unroll 8
        for (int u = 0; u < KEYS_STEP; u++) a[u] = _mm512_fmadd_ps(_mm512_set1_ps(k[u][d]), q, a[u]);
    }
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
#pragma GCC unroll 8
    for (int u = 0; u < KEYS_STEP; u++) {
        const __m512i j = _mm512_set1_epi32(key0 + u);
        const __mmask16 ok = _mm512_cmp_epi32_mask(j, lo, _MM_CMPINT_NLT) & _mm512_cmp_epi32_mask(j, hi, _MM_CMPINT_LE);
        const __m512 s = _mm512_mask_blend_ps(ok, ninf, a[u]);
        _mm512_storeu_ps(out + 16 * u, s);
        mx = _mm512_max_ps(mx, s);
    }
    return mx;
}

ATT512 static __m512 score_key1(const float *qt, const float *key, int hd, int key0, __m512i lo, __m512i hi, float *out,
                                __m512 mx) {
    __m512 a = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) a = _mm512_fmadd_ps(_mm512_set1_ps(key[d]), _mm512_loadu_ps(qt + 16 * d), a);
    const __m512i j = _mm512_set1_epi32(key0);
    const __mmask16 ok = _mm512_cmp_epi32_mask(j, lo, _MM_CMPINT_NLT) & _mm512_cmp_epi32_mask(j, hi, _MM_CMPINT_LE);
    const __m512 s = _mm512_mask_blend_ps(ok, _mm512_set1_ps(-INFINITY), a);
    _mm512_storeu_ps(out, s);
    return _mm512_max_ps(mx, s);
}

ATT512 static void attend_tile512(const ingot_attn_tile *t, const float *keys, const float *vals, size_t stride, int hd,
                                  float scale, float *scratch) {
    float *qt = scratch, *tmp = qt + 16 * (size_t)hd, *sc = tmp + 256;
    int lo[16], hi[16], jlo = t->lo[0], jhi = t->hi[0];
    for (int i = 0; i < t->nq; i++) {
        jlo = t->lo[i] < jlo ? t->lo[i] : jlo;
        jhi = t->hi[i] > jhi ? t->hi[i] : jhi;
    }
    for (int i = 0; i < 16; i++) {
        lo[i] = i < t->nq ? t->lo[i] : jlo;
        hi[i] = i < t->nq ? t->hi[i] : jhi;
    }
    for (int d = 0; d < hd; d++)
        for (int i = 0; i < 16; i++) qt[16 * d + i] = i < t->nq ? t->q[i][d] * scale : 0.0f;
    const __m512i lov = _mm512_loadu_si512(lo), hiv = _mm512_loadu_si512(hi);
    const int nk = jhi - jlo + 1;
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + KEYS_STEP <= nk; j += KEYS_STEP)
        mx = score_keys8(qt, keys, stride, hd, jlo + j, lov, hiv, sc + 16 * (size_t)j, mx);
    for (; j < nk; j++)
        mx = score_key1(qt, keys + (size_t)(jlo + j) * stride, hd, jlo + j, lov, hiv, sc + 16 * (size_t)j, mx);
    // Every lane has at least one valid key, so mx is finite.
    __m512 sum = _mm512_setzero_ps();
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (j = 0; j < nk; j++) {
        const __m512 s = _mm512_loadu_ps(sc + 16 * (size_t)j);
        const __m512 e = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, ninf, _CMP_NEQ_OQ), exp512(_mm512_sub_ps(s, mx)));
        _mm512_storeu_ps(sc + 16 * (size_t)j, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
    const float *v0 = vals + (size_t)jlo * stride;
    for (int d0 = 0; d0 < hd; d0 += 16) {
        __m512 a[16];
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) a[c] = _mm512_setzero_ps();
        for (j = 0; j < nk; j++) {
            const __m512 p = _mm512_loadu_ps(sc + 16 * (size_t)j);
            const float *v = v0 + (size_t)j * stride + d0;
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++) a[c] = _mm512_fmadd_ps(_mm512_set1_ps(v[c]), p, a[c]);
        }
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) _mm512_storeu_ps(tmp + 16 * c, _mm512_mul_ps(a[c], inv));
        for (int i = 0; i < t->nq; i++)
            for (int c = 0; c < 16; c++) t->out[i][d0 + c] = tmp[16 * c + i];
    }
}

bool ingot_attend_tile_ok(int head_dim) {
    return head_dim > 0 && head_dim % 16 == 0 && head_dim <= 1024 && ingot_simd_get() >= INGOT_SIMD_AVX512;
}

void ingot_attend_tile(const ingot_attn_tile *t, const float *keys, const float *vals, size_t stride, int head_dim,
                       float scale, float *scratch) {
    attend_tile512(t, keys, vals, stride, head_dim, scale, scratch);
}

// ---- decode attention: one token, the heads of one GQA group -----------------------------
// Scores of 16 keys against one query: a vector of products per key, then
// one transposed reduction of the 16 vectors (lane u = key u). Values:
// each value row is loaded once for up to 4 heads, 64 dims at a time.

// r[u] = Σ lanes of a[u], u < 16.
ATT512 static inline __m512 reduce16(const __m512 *a) {
    __m512 t[8], u[4];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * k], a[2 * k + 1]), _mm512_unpackhi_ps(a[2 * k], a[2 * k + 1]));
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const __m512d x = _mm512_castps_pd(t[2 * k]), y = _mm512_castps_pd(t[2 * k + 1]);
        u[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    // u[k]: keys 4k..4k+3 in every 128-bit lane, partial over that lane.
    const __m512 w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x44), _mm512_shuffle_f32x4(u[0], u[1], 0xEE));
    const __m512 w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x44), _mm512_shuffle_f32x4(u[2], u[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
}

// sc[0..nk) (padded to 16) = q · key(lo + j) * scale, -inf past nk.
ATT512 static void group_scores(const float *q, const float *keys, size_t stride, int hd, int lo, int nk, float scale,
                                float *sc) {
    for (int j0 = 0; j0 < nk; j0 += 16) {
        __m512 a[16];
        const float *k[16];
#pragma GCC unroll 16
        for (int u = 0; u < 16; u++) {
            a[u] = _mm512_setzero_ps();
            k[u] = keys + (size_t)(lo + (j0 + u < nk ? j0 + u : nk - 1)) * stride;
        }
        for (int d = 0; d < hd; d += 16) {
            const __m512 qv = _mm512_loadu_ps(q + d);
#pragma GCC unroll 16
            for (int u = 0; u < 16; u++) a[u] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[u] + d), a[u]);
        }
        const __mmask16 ok = nk - j0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nk - j0)) - 1);
        const __m512 r = _mm512_mul_ps(reduce16(a), _mm512_set1_ps(scale));
        _mm512_storeu_ps(sc + j0, _mm512_mask_blend_ps(ok, _mm512_set1_ps(-INFINITY), r));
    }
}

// Softmax weights in place over n16 (a multiple of 16) scores, unnormalised;
// returns 1 / their sum.
ATT512 static float group_softmax(float *sc, int n16) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n16; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(sc + j));
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), ninf = _mm512_set1_ps(-INFINITY);
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < n16; j += 16) {
        const __m512 s = _mm512_loadu_ps(sc + j);
        const __m512 e = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, ninf, _CMP_NEQ_OQ), exp512(_mm512_sub_ps(s, m)));
        _mm512_storeu_ps(sc + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(sum);
}

// out[h][d0 .. d0 + 16 nc) = inv[h] Σ_j p[h][j] v(lo + j), nh ≤ 4, nc ≤ 4.
ATT512 static void group_values(const float *p, size_t p_stride, const float *inv, int nh, const float *vals,
                                size_t stride, int lo, int nk, int d0, int nc, float *const *out) {
    __m512 a[4][4];
#pragma GCC unroll 4
    for (int h = 0; h < 4; h++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) a[h][c] = _mm512_setzero_ps();
    for (int j = 0; j < nk; j++) {
        const float *v = vals + (size_t)(lo + j) * stride + d0;
        __m512 vv[4];
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) vv[c] = c < nc ? _mm512_loadu_ps(v + 16 * c) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            if (h >= nh) break;
            const __m512 w = _mm512_set1_ps(p[(size_t)h * p_stride + j]);
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) a[h][c] = _mm512_fmadd_ps(w, vv[c], a[h][c]);
        }
    }
    for (int h = 0; h < nh; h++)
        for (int c = 0; c < nc; c++)
            _mm512_storeu_ps(out[h] + d0 + 16 * c, _mm512_mul_ps(a[h][c], _mm512_set1_ps(inv[h])));
}

ATT512 static void attend_group512(const float *const *q, float *const *out, int nh, int lo, int hi, const float *keys,
                                   const float *vals, size_t stride, int hd, float scale, float *scratch) {
    const int nk = hi - lo + 1, n16 = (nk + 15) & ~15;
    for (int h0 = 0; h0 < nh; h0 += 4) {
        const int m = nh - h0 < 4 ? nh - h0 : 4;
        float inv[4];
        for (int h = 0; h < m; h++) {
            group_scores(q[h0 + h], keys, stride, hd, lo, nk, scale, scratch + (size_t)h * n16);
            inv[h] = group_softmax(scratch + (size_t)h * n16, n16);
        }
        for (int d0 = 0; d0 < hd; d0 += 64) {
            const int nc = (hd - d0) / 16 < 4 ? (hd - d0) / 16 : 4;
            group_values(scratch, (size_t)n16, inv, m, vals, stride, lo, nk, d0, nc, out + h0);
        }
    }
}

void ingot_attend_group(const float *const *q, float *const *out, int nh, int lo, int hi, const float *keys,
                        const float *vals, size_t stride, int head_dim, float scale, float *scratch) {
    attend_group512(q, out, nh, lo, hi, keys, vals, stride, head_dim, scale, scratch);
}

// RMSNorm: sum of squares in double (16 values per step), then x · r · w.
ATT512 static void rmsnorm512(float *out, const float *x, const float *w, int n, float eps) {
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        a0 = _mm512_fmadd_pd(lo, lo, a0);
        a1 = _mm512_fmadd_pd(hi, hi, a1);
    }
    double ss = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
    for (int k = i; k < n; k++) ss += (double)x[k] * x[k];
    const float r = (float)(1.0 / sqrt(ss / n + eps));
    const __m512 rv = _mm512_set1_ps(r);
    for (i = 0; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), rv);
        _mm512_storeu_ps(out + i, w ? _mm512_mul_ps(v, _mm512_loadu_ps(w + i)) : v);
    }
    for (; i < n; i++) out[i] = x[i] * r * (w ? w[i] : 1.0f);
}

bool ingot_rmsnorm_avx512(float *out, const float *x, const float *w, int n, float eps) {
    if (ingot_simd_get() < INGOT_SIMD_AVX512) return false;
    rmsnorm512(out, x, w, n, eps);
    return true;
}

// g[i] = silu(g[i]) · u[i] = g / (1 + e^-g) · u.
ATT512 static void swiglu512(float *g, const float *u, size_t n) {
    size_t i = 0;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        const __m512 x = _mm512_loadu_ps(g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
    }
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(k, g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 y = _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(k, u + i));
        _mm512_mask_storeu_ps(g + i, k, y);
    }
}

bool ingot_swiglu_avx512(float *g, const float *u, size_t n) {
    if (ingot_simd_get() < INGOT_SIMD_AVX512) return false;
    swiglu512(g, u, n);
    return true;
}

#else
bool ingot_rmsnorm_avx512(float *out, const float *x, const float *w, int n, float eps) {
    (void)out, (void)x, (void)w, (void)n, (void)eps;
    return false;
}

void ingot_attend_group(const float *const *q, float *const *out, int nh, int lo, int hi, const float *keys,
                        const float *vals, size_t stride, int head_dim, float scale, float *scratch) {
    (void)q, (void)out, (void)nh, (void)lo, (void)hi, (void)keys, (void)vals, (void)stride, (void)head_dim;
    (void)scale, (void)scratch;
}

bool ingot_swiglu_avx512(float *g, const float *u, size_t n) {
    (void)g, (void)u, (void)n;
    return false;
}

bool ingot_attend_tile_ok(int head_dim) {
    (void)head_dim;
    return false;
}

void ingot_attend_tile(const ingot_attn_tile *t, const float *keys, const float *vals, size_t stride, int head_dim,
                       float scale, float *scratch) {
    (void)t, (void)keys, (void)vals, (void)stride, (void)head_dim, (void)scale, (void)scratch;
}
#endif

size_t ingot_attend_tile_scratch(int head_dim, int n_keys) {
    return 16 * (size_t)head_dim + 256 + 16 * (size_t)n_keys;
}
