// AVX-512 kernels of the forward pass: attention of many queries at once
// (prompt processing) and SwiGLU. Each has a check the caller makes first;
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
    for (; j < nk; j++) mx = score_key1(qt, keys + (size_t)(jlo + j) * stride, hd, jlo + j, lov, hiv, sc + 16 * (size_t)j, mx);
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
        _mm512_mask_storeu_ps(g + i, k, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(k, u + i)));
    }
}

bool ingot_swiglu_avx512(float *g, const float *u, size_t n) {
    if (ingot_simd_get() < INGOT_SIMD_AVX512) return false;
    swiglu512(g, u, n);
    return true;
}

#else
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
