// AVX-512 (F, BW, VL, DQ) kernels, compiled per function with target
// attributes; installed into the AVX-512 dispatch table, which starts as a
// copy of the AVX2 one (kernels without a 512-bit twin keep the AVX2 path).
//
// As in quant_avx2.c, quantizers reproduce their _ref bytes exactly (same
// operations, ingot_sum32 order, no FMA contraction); dot products agree
// within float rounding.
#include <string.h>

#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "quant_search_x86.h"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

// ---- helpers -------------------------------------------------------------------------
// ingot_sum32 order for p = [v0 | v1].
AVX512 static inline float sum32(__m512 v0, __m512 v1) {
    const __m512 a = _mm512_add_ps(v0, v1);
    const __m256 b = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 e = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
    e = _mm_add_ps(e, _mm_movehl_ps(e, e));
    e = _mm_add_ss(e, _mm_movehdup_ps(e));
    return _mm_cvtss_f32(e);
}

// The 8 lanes ingot_sum32's tail starts from: (v0 + v1) folded once more.
AVX512 static inline __m256 fold32(__m512 v0, __m512 v1) {
    const __m512 a = _mm512_add_ps(v0, v1);
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
}
AVX512 static inline __m256 fold16(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

// Tail of ingot_sum32 / ingot_sum16 (lanes l + l+4, then l + l+2, then
// l + l+1) for eight 8-lane vectors at once: lane k of the result is the
// sum of c[k], bit for bit what the one-vector tail gives.
AVX512 static inline __m256 hsum8x8(const __m256 *c) {
    __m256 e[4];
    for (int k = 0; k < 4; k++)
        e[k] = _mm256_add_ps(_mm256_permute2f128_ps(c[2 * k], c[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(c[2 * k], c[2 * k + 1], 0x31));
    const __m256 f0 = _mm256_add_ps(_mm256_shuffle_ps(e[0], e[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(e[0], e[1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 f1 = _mm256_add_ps(_mm256_shuffle_ps(e[2], e[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(e[2], e[3], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 g = _mm256_add_ps(_mm256_shuffle_ps(f0, f1, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(f0, f1, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(g, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

AVX512 static inline __m512 abs_ps(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}
AVX512 static inline __m512 round_even(__m512 t) {
    return _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
AVX512 static inline __m512 round_away(__m512 t) {
    const __m512 tr = _mm512_roundscale_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(abs_ps(_mm512_sub_ps(t, tr)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(_mm512_set1_ps(1.0f)),
        _mm512_and_si512(_mm512_castps_si512(t), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_mask_add_ps(tr, up, tr, one);
}
// Two vectors of 16 exact-integer floats to 32 bytes (values fit int8/uint8).
AVX512 static inline void store_levels(uint8_t *L, __m512 a, __m512 b) {
    _mm_storeu_si128((__m128i *)L, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(a)));
    _mm_storeu_si128((__m128i *)(L + 16), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(b)));
}
AVX512 static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// ---- Q8_0 / Q4_0 quantize ---------------------------------------------------------------
AVX512 static void q8_0_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float d = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(v0), abs_ps(v1))) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        const __m512 vid = _mm512_set1_ps(id);
        store_levels((uint8_t *)y[i].qs, round_away(_mm512_mul_ps(v0, vid)), round_away(_mm512_mul_ps(v1, vid)));
    }
}

AVX512 static void q4_0_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    (void)imatrix;
    ingot_block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(v0), abs_ps(v1)));
        float max = 0.0f;
        if (amax > 0.0f) { // the first value of largest magnitude, as the scalar scan picks
            const __m512 va = _mm512_set1_ps(amax);
            const uint32_t bits = (uint32_t)_mm512_cmp_ps_mask(abs_ps(v0), va, _CMP_EQ_OQ) |
                                  ((uint32_t)_mm512_cmp_ps_mask(abs_ps(v1), va, _CMP_EQ_OQ) << 16);
            max = x[__builtin_ctz(bits)];
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ingot_f2h(d);
        const __m512 vid = _mm512_set1_ps(id), half = _mm512_set1_ps(8.5f);
        const __m512i q15 = _mm512_set1_epi32(15);
        const __m512i q0 = _mm512_min_epi32(q15, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(v0, vid), half)));
        const __m512i q1 = _mm512_min_epi32(q15, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(v1, vid), half)));
        const __m128i b = _mm_or_si128(_mm512_cvtepi32_epi8(q0), _mm_slli_epi16(_mm512_cvtepi32_epi8(q1), 4));
        _mm_storeu_si128((__m128i *)y[i].qs, b);
    }
}

// ---- Q4_K / Q5_K quantize ---------------------------------------------------------------
AVX512 static void kquant_weights(const float *x, const float *im, float *w) {
    float s2 = 0.0f;
    for (int b = 0; b < INGOT_QK_K; b += 32) {
        const __m512 v0 = _mm512_loadu_ps(x + b), v1 = _mm512_loadu_ps(x + b + 16);
        s2 += sum32(_mm512_mul_ps(v0, v0), _mm512_mul_ps(v1, v1));
    }
    s2 /= INGOT_QK_K;
    const __m512 vs2 = _mm512_set1_ps(s2), vs = _mm512_set1_ps(sqrtf(s2));
    for (int j = 0; j < INGOT_QK_K; j += 16) {
        const __m512 v = _mm512_loadu_ps(x + j);
        const __m512 r = im ? _mm512_mul_ps(_mm512_loadu_ps(im + j),
                                            _mm512_sqrt_ps(_mm512_add_ps(vs2, _mm512_mul_ps(v, v))))
                            : _mm512_add_ps(vs, abs_ps(v));
        _mm512_storeu_ps(w + j, r);
    }
}

// Candidate fits of ingot_affine_fit for 8 candidates at once: same double
// operations in the same order, so the same values; a candidate with no
// fit gets error +inf (never chosen, as the scalar loop skips it).
AVX512 static void affine_fit8(double sw, double swx, double swx2, const double *sl_, const double *sl2_,
                               const double *slx_, double *s_out, double *m_out, double *err_out) {
    const __m512d vsw = _mm512_set1_pd(sw), vswx = _mm512_set1_pd(swx), vswx2 = _mm512_set1_pd(swx2);
    const __m512d sl = _mm512_loadu_pd(sl_), sl2 = _mm512_loadu_pd(sl2_), slx = _mm512_loadu_pd(slx_);
    const __m512d zero = _mm512_setzero_pd(), two = _mm512_set1_pd(2.0);
    const __m512d det = _mm512_sub_pd(_mm512_mul_pd(vsw, sl2), _mm512_mul_pd(sl, sl));
    const __mmask8 pos = _mm512_cmp_pd_mask(det, zero, _CMP_GT_OQ);
    const __m512d s1 = _mm512_div_pd(_mm512_sub_pd(_mm512_mul_pd(vsw, slx), _mm512_mul_pd(vswx, sl)), det);
    const __m512d m1 = _mm512_div_pd(_mm512_sub_pd(_mm512_mul_pd(sl2, vswx), _mm512_mul_pd(sl, slx)), det);
    const __mmask8 keep = pos & ~_mm512_cmp_pd_mask(m1, zero, _CMP_GT_OQ); // unconstrained fit stands
    const __mmask8 valid = pos | _mm512_cmp_pd_mask(sl2, zero, _CMP_GT_OQ);
    const __m512d s = _mm512_mask_blend_pd(keep, _mm512_div_pd(slx, sl2), s1);
    const __m512d m = _mm512_mask_blend_pd(keep, zero, m1);
    const __m512d s2 = _mm512_mul_pd(two, s), m2 = _mm512_mul_pd(two, m);
    __m512d err = _mm512_add_pd(vswx2, _mm512_mul_pd(_mm512_mul_pd(s, s), sl2));
    err = _mm512_add_pd(err, _mm512_mul_pd(_mm512_mul_pd(m, m), vsw));
    err = _mm512_add_pd(err, _mm512_mul_pd(_mm512_mul_pd(s2, m), sl));
    err = _mm512_sub_pd(err, _mm512_mul_pd(s2, slx));
    err = _mm512_sub_pd(err, _mm512_mul_pd(m2, vswx));
    _mm512_storeu_pd(s_out, s);
    _mm512_storeu_pd(m_out, m);
    _mm512_storeu_pd(err_out, _mm512_mask_blend_pd(valid, _mm512_set1_pd(INFINITY), err));
}

// Two passes: sums of every candidate (independent, so they pipeline),
// then the fits eight at a time without data-dependent branches; the
// winner's levels are recomputed at the end.
AVX512 static float affine_search32(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                    float rmin, float rdelta) {
    enum { MAX_CAND = INGOT_AFFINE_MAX_CAND };
    const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
    float lo = _mm512_reduce_min_ps(_mm512_min_ps(x0, x1));
    const float hi = _mm512_reduce_max_ps(_mm512_max_ps(x0, x1));
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo) || nstep + 2 > MAX_CAND) {
        if (hi > lo) return ingot_affine_search32_ref(nmax, x, w, L, m_out, nstep, rmin, rdelta);
        memset(L, 0, 32);
        *m_out = -lo;
        return 0.0f;
    }
    const __m512 wx0 = _mm512_mul_ps(w0, x0), wx1 = _mm512_mul_ps(w1, x1);
    const double sw = sum32(w0, w1), swx = sum32(wx0, wx1),
                 swx2 = sum32(_mm512_mul_ps(wx0, x0), _mm512_mul_ps(wx1, x1));
    const __m512 vlo = _mm512_set1_ps(lo), vmax = _mm512_set1_ps((float)nmax), zero = _mm512_setzero_ps();
    const __m512 d0 = _mm512_sub_ps(x0, vlo), d1 = _mm512_sub_ps(x1, vlo);
    float iscale[MAX_CAND];
    const int n_cand = ingot_affine_iscales(nmax, nstep, rmin, rdelta, hi - lo, iscale);
    double sl[MAX_CAND], sl2[MAX_CAND], slx[MAX_CAND];
    for (int c = n_cand; c < (n_cand + 7) / 8 * 8; c++) sl[c] = sl2[c] = slx[c] = 0; // padding: no fit
    // Eight candidates at a time: the sums' vertical steps per candidate,
    // then one transposed tail for all eight.
    for (int c0 = 0; c0 < n_cand; c0 += 8) {
        __m256 ca[8], cb[8], ce[8];
        for (int u = 0; u < 8; u++) {
            const int c = c0 + u < n_cand ? c0 + u : n_cand - 1;
            const __m512 vis = _mm512_set1_ps(iscale[c]);
            const __m512 l0 = _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(vis, d0))));
            const __m512 l1 = _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(vis, d1))));
            const __m512 a0 = _mm512_mul_ps(w0, l0), a1 = _mm512_mul_ps(w1, l1);
            ca[u] = fold32(a0, a1);
            cb[u] = fold32(_mm512_mul_ps(a0, l0), _mm512_mul_ps(a1, l1));
            ce[u] = fold32(_mm512_mul_ps(a0, x0), _mm512_mul_ps(a1, x1));
        }
        ingot_affine_store8(hsum8x8(ca), hsum8x8(cb), hsum8x8(ce), c0, n_cand, sl, sl2, slx);
    }
    double s[MAX_CAND], m[MAX_CAND], err[MAX_CAND];
    for (int c = 0; c < n_cand; c += 8) affine_fit8(sw, swx, swx2, sl + c, sl2 + c, slx + c, s + c, m + c, err + c);
    const int best = ingot_affine_best(err, n_cand);
    if (best < 0) {
        memset(L, 0, 32);
        *m_out = -lo;
        return 0.0f;
    }
    const __m512 vis = _mm512_set1_ps(iscale[best]);
    store_levels(L, _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(vis, d0)))),
                 _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(vis, d1)))));
    *m_out = -(float)m[best];
    return (float)s[best];
}

AVX512 static void k45_levels32(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    if (dl == 0.0f) {
        memset(L, 0, 32);
        return;
    }
    const __m512 vdl = _mm512_set1_ps(dl), vdm = _mm512_set1_ps(dm);
    const __m512 vmax = _mm512_set1_ps((float)nmax), zero = _mm512_setzero_ps();
    const __m512 t0 = round_even(_mm512_div_ps(_mm512_add_ps(_mm512_loadu_ps(x), vdm), vdl));
    const __m512 t1 = round_even(_mm512_div_ps(_mm512_add_ps(_mm512_loadu_ps(x + 16), vdm), vdl));
    store_levels(L, _mm512_min_ps(vmax, _mm512_max_ps(zero, t0)), _mm512_min_ps(vmax, _mm512_max_ps(zero, t1)));
}

AVX512 static float k45_error32(int nmax, const float *x, const float *w, float dl, float dm) {
    const __m512 vdl = _mm512_set1_ps(dl), vdm = _mm512_set1_ps(dm);
    const __m512 vmax = _mm512_set1_ps((float)nmax), zero = _mm512_setzero_ps();
    __m512 e[2];
    for (int k = 0; k < 2; k++) {
        const __m512 vx = _mm512_loadu_ps(x + 16 * k);
        const __m512 q = dl != 0.0f ? _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_div_ps(
                                                                   _mm512_add_ps(vx, vdm), vdl))))
                                    : zero;
        const __m512 diff = _mm512_sub_ps(_mm512_sub_ps(_mm512_mul_ps(vdl, q), vdm), vx);
        e[k] = _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(w + 16 * k), diff), diff);
    }
    return sum32(e[0], e[1]);
}

static const ingot_k45_kernels k_k45_avx512 = {kquant_weights, affine_search32, k45_levels32, k45_error32};

AVX512 static void q4_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q4_k_quantize_row_with(x, y, n, imatrix, &k_k45_avx512);
}
AVX512 static void q5_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q5_k_quantize_row_with(x, y, n, imatrix, &k_k45_avx512);
}

// ---- dot products ------------------------------------------------------------------------
// Signed int8 × int8 over 64 bytes (two blocks), pairwise summed to 16 int32:
// lanes 0-7 from the first 32 bytes, 8-15 from the second.
AVX512 static inline __m512 mul_sum_i8x2(__m512i x, __m512i y) {
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i ax = _mm512_abs_epi8(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    const __m512i dot16 = _mm512_maddubs_epi16(ax, sy);
    return _mm512_cvtepi32_ps(_mm512_madd_epi16(dot16, _mm512_set1_epi16(1)));
}

// Two 256-bit loads as one 512-bit vector.
AVX512 static inline __m512i load2x256(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}
// Per-lane scales for mul_sum_i8x2's result: lanes 0-7 (first block) d0,
// lanes 8-15 (second block) d1.
AVX512 static inline __m512 block_scales2(float d0, float d1) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(d0)), _mm256_set1_ps(d1), 1);
}

AVX512 static void q8_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q8_0 *x = vx, *y = vy;
    const int64_t nb = n / INGOT_QK;
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m512i qx = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[i].qs)),
            _mm256_loadu_si256((const __m256i *)x[i + 1].qs), 1);
        const __m512i qy = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)y[i].qs)),
            _mm256_loadu_si256((const __m256i *)y[i + 1].qs), 1);
        const __m512 d = block_scales2(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
        acc = _mm512_fmadd_ps(d, mul_sum_i8x2(qx, qy), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; i < nb; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < INGOT_QK; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (float)sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    *s = sum;
}

AVX512 static void q4_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q4_0 *x = vx;
    const ingot_block_q8_0 *y = vy;
    const int64_t nb = n / INGOT_QK;
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    // Σ (q − 8) y = Σ q y − Σ 8 y: unsigned nibbles go straight into maddubs.
    const __m512i eight = _mm512_set1_epi8(8), ones16 = _mm512_set1_epi16(1);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (; i + 2 <= nb; i += 2) {
        const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)x[i].qs)),
                                                  _mm_loadu_si128((const __m128i *)x[i + 1].qs), 1);
        const __m512i bb = _mm512_inserti64x4(_mm512_castsi256_si512(b), _mm256_srli_epi16(b, 4), 1);
        // [b0 lo, b1 lo, b0 hi, b1 hi] → [b0 lo, b0 hi, b1 lo, b1 hi]
        const __m512i qx = _mm512_and_si512(_mm512_shuffle_i64x2(bb, bb, _MM_SHUFFLE(3, 1, 2, 0)), m4);
        const __m512i qy = load2x256(y[i].qs, y[i + 1].qs);
        const __m512i p = _mm512_sub_epi16(_mm512_maddubs_epi16(qx, qy), _mm512_maddubs_epi16(eight, qy));
        const __m512 d = block_scales2(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_madd_epi16(p, ones16)), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; i < nb; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        sum += (float)sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    *s = sum;
}

// ---- Q4_K / Q6_K dots ------------------------------------------------------------------
// int16 vector: lanes 0-15 = s0, 16-31 = s1.
AVX512 static inline __m512i scales2x16(int s0, int s1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)s0)), _mm256_set1_epi16((short)s1), 1);
}

// Per 128 values (qs[64h .. 64h+63]): low nibbles of the first and second
// 32 bytes are sub-blocks 4h and 4h+2, high nibbles 4h+1 and 4h+3. q5_k adds
// bit j of qh[l] as the 5th bit of sub-block j.
AVX512 static inline float k45_dot_block(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales, float d,
                                          float dmin, const ingot_block_q8_k *y) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    uint8_t sm[16]; // 8 scales then 8 mins
    ingot_k4_unpack(scales, sm, sm + 8);
    const __m256i sm16 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm));
    // Mins: Σ m_j (bsums[2j] + bsums[2j+1]) as one madd on [m0 m0 m1 m1 ...].
    const __m256i mexp = _mm256_permutexvar_epi16(
        _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15), sm16);
    const __m256i mprod = _mm256_madd_epi16(mexp, _mm256_loadu_si256((const __m256i *)y->bsums));
    const __m512i sc512 = _mm512_castsi256_si512(sm16);
    const __m512i hb = qh ? load2x256(qh, qh) : _mm512_setzero_si512();
    __m512i acc = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        const __m512i q = _mm512_loadu_si512((const void *)(qs + 64 * h));
        __m512i qlo = _mm512_and_si512(q, m4), qhi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        if (qh) {
            const __m512i hlo = _mm512_and_si512(_mm512_srlv_epi16(hb, scales2x16(4 * h, 4 * h + 2)), one);
            const __m512i hhi = _mm512_and_si512(_mm512_srlv_epi16(hb, scales2x16(4 * h + 1, 4 * h + 3)), one);
            qlo = _mm512_or_si512(qlo, _mm512_slli_epi16(hlo, 4));
            qhi = _mm512_or_si512(qhi, _mm512_slli_epi16(hhi, 4));
        }
        const int8_t *qy = y->qs + 128 * h;
        const __m512i plo = _mm512_maddubs_epi16(qlo, load2x256(qy, qy + 64));
        const __m512i phi = _mm512_maddubs_epi16(qhi, load2x256(qy + 32, qy + 96));
        const __m512i slo = _mm512_permutexvar_epi16(scales2x16(4 * h, 4 * h + 2), sc512);
        const __m512i shi = _mm512_permutexvar_epi16(scales2x16(4 * h + 1, 4 * h + 3), sc512);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(plo, slo));
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(phi, shi));
    }
    const int32_t sumi = _mm512_reduce_add_epi32(acc);
    __m128i ms = _mm_add_epi32(_mm256_castsi256_si128(mprod), _mm256_extracti128_si256(mprod, 1));
    ms = _mm_add_epi32(ms, _mm_shuffle_epi32(ms, 0x4e));
    ms = _mm_add_epi32(ms, _mm_shuffle_epi32(ms, 0xb1));
    const int32_t summ = _mm_cvtsi128_si32(ms);
    return y->d * (d * (float)sumi - dmin * (float)summ);
}

AVX512 static void q4_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q4_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++)
        sum += k45_dot_block(x[i].qs, NULL, x[i].scales, h2f(x[i].d), h2f(x[i].dmin), &y[i]);
    *s = sum;
}

AVX512 static void q5_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q5_k *x = vx;
    const ingot_block_q8_k *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++)
        sum += k45_dot_block(x[i].qs, x[i].qh, x[i].scales, h2f(x[i].d), h2f(x[i].dmin), &y[i]);
    *s = sum;
}

// int16 scale vector for 4 consecutive 16-value sub-blocks starting at a.
AVX512 static inline __m512i scales4x16(const int8_t *sc, int a) {
    const __m256i idx = _mm256_setr_epi64x(0, 0x0101010101010101, 0, 0x0101010101010101);
    const __m128i s01 = _mm_set1_epi16((short)(((uint8_t)sc[a + 1] << 8) | (uint8_t)sc[a]));
    const __m128i s23 = _mm_set1_epi16((short)(((uint8_t)sc[a + 3] << 8) | (uint8_t)sc[a + 2]));
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set_m128i(s23, s01), idx);
    return _mm512_cvtepi8_epi16(bytes);
}

AVX512 static void q6_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q6_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
    // Shift counts per 16-bit lane: low 256 bits by c0, high 256 bits by c1.
    const __m512i sh02 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i sh46 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        int32_t offs = 0;
        for (int j = 0; j < 16; j++) offs += x[i].scales[j] * y[i].bsums[j];
        __m512i acc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512((const void *)(x[i].ql + 64 * h));
            const __m512i qh = load2x256(x[i].qh + 32 * h, x[i].qh + 32 * h);
            const __m512i h01 = _mm512_and_si512(_mm512_srlv_epi16(qh, sh02), m3);
            const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi16(qh, sh46), m3);
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(h01, 4));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_slli_epi16(h23, 4));
            const int8_t *qy = y[i].qs + 128 * h;
            const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512((const void *)qy));
            const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512((const void *)(qy + 64)));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p01, scales4x16(x[i].scales, 8 * h)));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p23, scales4x16(x[i].scales, 8 * h + 4)));
        }
        const int32_t sumi = _mm512_reduce_add_epi32(acc) - 32 * offs;
        sum += y[i].d * h2f(x[i].d) * (float)sumi;
    }
    *s = sum;
}

// ---- Q3_K / Q6_K quantize ----------------------------------------------------------------
// ingot_sum16 order.
AVX512 static inline float sum16(__m512 v) {
    const __m256 c = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 e = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
    e = _mm_add_ps(e, _mm_movehl_ps(e, e));
    e = _mm_add_ss(e, _mm_movehdup_ps(e));
    return _mm_cvtss_f32(e);
}

AVX512 static float sym_fit16(int nmax, const float *x, const float *w) {
    const __m512 vx = _mm512_loadu_ps(x), vw = _mm512_loadu_ps(w);
    const float amax = _mm512_reduce_max_ps(abs_ps(vx));
    float max = 0.0f;
    if (amax > 0.0f) // the first value of largest magnitude, as the scalar scan picks
        max = x[__builtin_ctz((uint32_t)_mm512_cmp_ps_mask(abs_ps(vx), _mm512_set1_ps(amax), _CMP_EQ_OQ))];
    if (fabsf(max) < 1e-30f) return 0.0f;
    const __m512 lo = _mm512_set1_ps((float)-nmax), hi = _mm512_set1_ps((float)(nmax - 1));
    float rx[24], r2[24];
    // The 19 inverse scales −(nmax + 0.1·is) / max, is = −9..9 (padded with
    // is = 9), divided eight at a time: the same IEEE quotients.
    float num[24], isc[24];
    for (int c = 0; c < 24; c++) num[c] = -((float)nmax + 0.1f * (float)(c < 19 ? c - 9 : 9));
    for (int c = 0; c < 24; c += 8)
        _mm256_storeu_ps(isc + c, _mm256_div_ps(_mm256_loadu_ps(num + c), _mm256_set1_ps(max)));
    for (int c0 = 0; c0 < 19; c0 += 8) {
        __m256 cx[8], c2[8];
        for (int u = 0; u < 8; u++) {
            const __m512 vis = _mm512_set1_ps(isc[c0 + u]);
            const __m512 l = _mm512_min_ps(hi, _mm512_max_ps(lo, round_even(_mm512_mul_ps(vis, vx))));
            const __m512 a = _mm512_mul_ps(vw, l);
            cx[u] = fold16(_mm512_mul_ps(a, vx));
            c2[u] = fold16(_mm512_mul_ps(a, l));
        }
        _mm256_storeu_ps(rx + c0, hsum8x8(cx));
        _mm256_storeu_ps(r2 + c0, hsum8x8(c2));
    }
    double best = -1.0;
    float best_s = max / -(float)nmax;
    for (int c = 0; c < 19; c++) {
        const double slx = rx[c], sl2 = r2[c];
        if (sl2 > 0 && slx * slx > best * sl2) {
            best = slx * slx / sl2;
            best_s = (float)(slx / sl2);
        }
    }
    return best_s;
}

AVX512 static void sym_levels16(int nmax, const float *x, float dl, uint8_t *L) {
    const __m512 t = round_even(_mm512_div_ps(_mm512_loadu_ps(x), _mm512_set1_ps(dl)));
    const __m512 c = _mm512_min_ps(_mm512_set1_ps((float)(nmax - 1)), _mm512_max_ps(_mm512_set1_ps((float)-nmax), t));
    _mm_storeu_si128((__m128i *)L, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_add_ps(c, _mm512_set1_ps((float)nmax)))));
}

static const ingot_sym_kernels k_sym_avx512 = {kquant_weights, sym_fit16, sym_levels16};

AVX512 static void q3_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q3_k_quantize_row_with(x, y, n, imatrix, &k_sym_avx512);
}
AVX512 static void q6_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q6_k_quantize_row_with(x, y, n, imatrix, &k_sym_avx512);
}

// ---- Q2_K quantize -------------------------------------------------------------------------
// affine_search32 for 16 values (one vector, ingot_sum16 order).
AVX512 static float affine_search16(int nmax, const float *x, const float *w, uint8_t *L, float *m_out, int nstep,
                                    float rmin, float rdelta) {
    enum { MAX_CAND = INGOT_AFFINE_MAX_CAND };
    const __m512 vx = _mm512_loadu_ps(x), vw = _mm512_loadu_ps(w);
    float lo = _mm512_reduce_min_ps(vx);
    const float hi = _mm512_reduce_max_ps(vx);
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo) || nstep + 2 > MAX_CAND) {
        if (hi > lo) return ingot_affine_search16_ref(nmax, x, w, L, m_out, nstep, rmin, rdelta);
        memset(L, 0, 16);
        *m_out = -lo;
        return 0.0f;
    }
    const __m512 wx = _mm512_mul_ps(vw, vx);
    const double sw = sum16(vw), swx = sum16(wx), swx2 = sum16(_mm512_mul_ps(wx, vx));
    const __m512 vmax = _mm512_set1_ps((float)nmax), zero = _mm512_setzero_ps();
    const __m512 d = _mm512_sub_ps(vx, _mm512_set1_ps(lo));
    float iscale[MAX_CAND];
    const int n_cand = ingot_affine_iscales(nmax, nstep, rmin, rdelta, hi - lo, iscale);
    double sl[MAX_CAND], sl2[MAX_CAND], slx[MAX_CAND];
    for (int c = n_cand; c < (n_cand + 7) / 8 * 8; c++) sl[c] = sl2[c] = slx[c] = 0; // padding: no fit
    for (int c0 = 0; c0 < n_cand; c0 += 8) {
        __m256 ca[8], cb[8], ce[8];
        for (int u = 0; u < 8; u++) {
            const int c = c0 + u < n_cand ? c0 + u : n_cand - 1;
            const __m512 l = _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(_mm512_set1_ps(iscale[c]), d))));
            const __m512 a = _mm512_mul_ps(vw, l);
            ca[u] = fold16(a);
            cb[u] = fold16(_mm512_mul_ps(a, l));
            ce[u] = fold16(_mm512_mul_ps(a, vx));
        }
        ingot_affine_store8(hsum8x8(ca), hsum8x8(cb), hsum8x8(ce), c0, n_cand, sl, sl2, slx);
    }
    double s[MAX_CAND], m[MAX_CAND], err[MAX_CAND];
    for (int c = 0; c < n_cand; c += 8) affine_fit8(sw, swx, swx2, sl + c, sl2 + c, slx + c, s + c, m + c, err + c);
    const int best = ingot_affine_best(err, n_cand);
    if (best < 0) {
        memset(L, 0, 16);
        *m_out = -lo;
        return 0.0f;
    }
    const __m512 l = _mm512_min_ps(vmax, _mm512_max_ps(zero, round_even(_mm512_mul_ps(_mm512_set1_ps(iscale[best]), d))));
    _mm_storeu_si128((__m128i *)L, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(l)));
    *m_out = -(float)m[best];
    return (float)s[best];
}

AVX512 static void affine_levels16(int nmax, const float *x, float dl, float dm, uint8_t *L) {
    if (dl == 0.0f) {
        memset(L, 0, 16);
        return;
    }
    const __m512 t = round_even(_mm512_div_ps(_mm512_add_ps(_mm512_loadu_ps(x), _mm512_set1_ps(dm)), _mm512_set1_ps(dl)));
    const __m512 c = _mm512_min_ps(_mm512_set1_ps((float)nmax), _mm512_max_ps(_mm512_setzero_ps(), t));
    _mm_storeu_si128((__m128i *)L, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(c)));
}

static const ingot_k2_kernels k_k2_avx512 = {kquant_weights, affine_search16, affine_levels16};

AVX512 static void q2_k_quantize_row(const float *x, void *y, int64_t n, const float *imatrix) {
    ingot_q2_k_quantize_row_with(x, y, n, imatrix, &k_k2_avx512);
}

// ---- IQ4_NL quantize ---------------------------------------------------------------------
// Nearest grid index: the number of midpoints ≤ v, by a branch-free binary
// search over the 16-entry midpoint table.
AVX512 static inline __m512i iq4nl_nearest16(__m512 v, __m512 mid) {
    __m512i idx = _mm512_setzero_si512();
    for (int step = 8; step >= 1; step >>= 1) {
        const __m512i cand = _mm512_add_epi32(idx, _mm512_set1_epi32(step));
        const __m512 m = _mm512_permutexvar_ps(_mm512_sub_epi32(cand, _mm512_set1_epi32(1)), mid);
        idx = _mm512_mask_mov_epi32(idx, _mm512_cmp_ps_mask(v, m, _CMP_GE_OQ), cand);
    }
    return idx;
}

// ingot_iq4_nl_quantize_row_ref's block quantizer, the same operations on
// two 16-lane vectors.
AVX512 static void iq4_nl_quantize_row(const float *x, void *vy, int64_t n, const float *imatrix) {
    ingot_block_iq4_nl *y = vy;
    const __m512 mid = _mm512_loadu_ps(ingot_iq4nl_mid);
    const __m512 grid = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)ingot_iq4nl_values)));
    for (int64_t i = 0; i < n / INGOT_QK; i++, x += INGOT_QK) {
        const float *im = imatrix ? imatrix + i * INGOT_QK : NULL;
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(x0), abs_ps(x1)));
        float max = 0.0f;
        if (amax > 0.0f) {
            const __m512 va = _mm512_set1_ps(amax);
            const uint32_t bits = (uint32_t)_mm512_cmp_ps_mask(abs_ps(x0), va, _CMP_EQ_OQ) |
                                  ((uint32_t)_mm512_cmp_ps_mask(abs_ps(x1), va, _CMP_EQ_OQ) << 16);
            max = x[__builtin_ctz(bits)];
        }
        if (fabsf(max) < 1e-30f) {
            y[i].d = 0;
            memset(y[i].qs, 0x88, 16);
            continue;
        }
        const float s2 = sum32(_mm512_mul_ps(x0, x0), _mm512_mul_ps(x1, x1)) / INGOT_QK;
        __m512 w0, w1;
        if (im) {
            const __m512 vs2 = _mm512_set1_ps(s2);
            w0 = _mm512_mul_ps(_mm512_loadu_ps(im), _mm512_sqrt_ps(_mm512_add_ps(vs2, _mm512_mul_ps(x0, x0))));
            w1 = _mm512_mul_ps(_mm512_loadu_ps(im + 16), _mm512_sqrt_ps(_mm512_add_ps(vs2, _mm512_mul_ps(x1, x1))));
        } else {
            const __m512 vs = _mm512_set1_ps(sqrtf(s2));
            w0 = _mm512_add_ps(vs, abs_ps(x0));
            w1 = _mm512_add_ps(vs, abs_ps(x1));
        }
        const __m512 wx0 = _mm512_mul_ps(w0, x0), wx1 = _mm512_mul_ps(w1, x1);
        float d = max / -127.0f, best = -1.0f;
        for (int itry = -7; itry <= 7; itry++) {
            const __m512 vid = _mm512_set1_ps((-127.0f + (float)itry) / max);
            const __m512 v0 = _mm512_permutexvar_ps(iq4nl_nearest16(_mm512_mul_ps(x0, vid), mid), grid);
            const __m512 v1 = _mm512_permutexvar_ps(iq4nl_nearest16(_mm512_mul_ps(x1, vid), mid), grid);
            const float sqx = sum32(_mm512_mul_ps(wx0, v0), _mm512_mul_ps(wx1, v1));
            const float sq2 = sum32(_mm512_mul_ps(_mm512_mul_ps(w0, v0), v0), _mm512_mul_ps(_mm512_mul_ps(w1, v1), v1));
            if (sq2 > 0 && sqx * sqx > best * sq2) {
                best = sqx * sqx / sq2;
                d = sqx / sq2;
            }
        }
        y[i].d = ingot_f2h(d);
        const float dr = ingot_h2f(y[i].d);
        const __m512 vid = _mm512_set1_ps(dr != 0.0f ? 1.0f / dr : 0.0f);
        const __m128i lo = _mm512_cvtepi32_epi8(iq4nl_nearest16(_mm512_mul_ps(x0, vid), mid));
        const __m128i hi = _mm512_cvtepi32_epi8(iq4nl_nearest16(_mm512_mul_ps(x1, vid), mid));
        _mm_storeu_si128((__m128i *)y[i].qs, _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
    }
}

// ---- Q3_K dot ----------------------------------------------------------------------------
// Per 128 values (h): 2-bit planes k = 0..3 of qs[32h ..] at bits 2k, high
// bit k of hmask at bit 4h + k; two planes per 512-bit vector, as q6_k.
// ingot_q3_k_unpack in one register (16 int8 scales).
AVX512 static inline __m128i q3_k_scales(const uint8_t *s) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    const __m128i lo = _mm_and_si128(_mm_setr_epi32((int)a, (int)b, (int)(a >> 4), (int)(b >> 4)), _mm_set1_epi8(0x0F));
    const __m128i hi = _mm_and_si128(_mm_setr_epi32((int)c, (int)(c >> 2), (int)(c >> 4), (int)(c >> 6)), _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

AVX512 static void q3_k_vec_dot(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q3_k *x = vx;
    const ingot_block_q8_k *y = vy;
    const __m512i m3 = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
    const __m512i sh01 = scales2x16(0, 2), sh23 = scales2x16(4, 6);
    // int16 lane l of a scale vector takes scale a + l / 8.
    static const int16_t quarter[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    const __m512i q4 = _mm512_loadu_si512((const void *)quarter);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / INGOT_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(q3_k_scales(x[i].scales));
        const __m512i sc512 = _mm512_castsi256_si512(sc16);
        const __m256i oprod = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const __m512i hm = load2x256(x[i].hmask, x[i].hmask);
        __m512i acc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i q = load2x256(x[i].qs + 32 * h, x[i].qs + 32 * h);
            const __m512i h01 = _mm512_and_si512(_mm512_srlv_epi16(hm, scales2x16(4 * h, 4 * h + 1)), one);
            const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi16(hm, scales2x16(4 * h + 2, 4 * h + 3)), one);
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi16(q, sh01), m3), _mm512_slli_epi16(h01, 2));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi16(q, sh23), m3), _mm512_slli_epi16(h23, 2));
            const int8_t *qy = y[i].qs + 128 * h;
            const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512((const void *)qy));
            const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512((const void *)(qy + 64)));
            const __m512i s01 = _mm512_permutexvar_epi16(_mm512_add_epi16(q4, _mm512_set1_epi16((short)(8 * h))), sc512);
            const __m512i s23 = _mm512_permutexvar_epi16(_mm512_add_epi16(q4, _mm512_set1_epi16((short)(8 * h + 4))), sc512);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p01, s01));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p23, s23));
        }
        __m128i o = _mm_add_epi32(_mm256_castsi256_si128(oprod), _mm256_extracti128_si256(oprod, 1));
        o = _mm_add_epi32(o, _mm_shuffle_epi32(o, 0x4e));
        o = _mm_add_epi32(o, _mm_shuffle_epi32(o, 0xb1));
        const int32_t sumi = _mm512_reduce_add_epi32(acc) - 4 * _mm_cvtsi128_si32(o);
        sum += y[i].d * h2f(x[i].d) * (float)sumi;
    }
    *s = sum;
}

// ---- 32-value block dots with VNNI (vpdpbusd) ------------------------------------------------
// q4_0, q4_1, q5_0, q5_1, iq4_nl (q8_0: see q8_0_vnni below).
// Four blocks per step, weights and activations gathered with byte
// permutes (VBMI) so that 128-bit lane k holds 16 values of block k: a
// "lo" vector with elements 0-15 of the four blocks and a "hi" vector with
// elements 16-31. Both feed the same int32 lanes (4 per block), so one
// int->float conversion and one multiply-add per step cover four blocks,
// with the eight f16 scales of the step converted by two vcvtph2ps. Levels
// are unsigned (vpdpbusd's left operand); an offset is taken off as offset
// times the activation sums. Accumulators stay in vectors for the whole
// row. Installed when the CPU has AVX512_VNNI, VBMI and BITALG; the
// blocks of a row that do not fill a step go through the _ref kernel.
//
// Loads: a 64-byte load that straddles two cache lines costs far more than
// an aligned one while the weights stream in from memory, so activation
// steps are read as three aligned lines whenever the row allows it (8-byte
// aligned, the lines inside the row; rows that start a line go by 32-block
// chunks with no per-step checks), and weights as one 64-byte load plus one
// short load, never two overlapping 64-byte ones.
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx512bitalg,avx2,fma,f16c")))

// Index tables: weights of a step are a 64-byte load `a` at +0 and a short
// load `b` at +boff; VPERMT2B index of step byte o, VPERMT2W index of the
// f16 at step byte o.
#define BYTE_AT(o, boff) ((o) < 64 ? (o) : (o) + 64 - (boff))
#define WORD_AT(o, boff) ((o) < 64 ? (o) / 2 : 32 + ((o) - (boff)) / 2)
#define R4(f, k, j) f(k, j), f(k, (j) + 1), f(k, (j) + 2), f(k, (j) + 3)
#define R16(f, k) R4(f, k, 0), R4(f, k, 4), R4(f, k, 8), R4(f, k, 12)
#define R64(f) R16(f, 0), R16(f, 1), R16(f, 2), R16(f, 3)
// 16 words: the f16 at byte `off` of each of the four B-byte blocks, four times.
#define SCALE_W(B, off, boff, k) WORD_AT((B) * (k) + (off), boff)
#define SCALE_W4(B, off, boff, k)                                                                      \
    SCALE_W(B, off, boff, k), SCALE_W(B, off, boff, k), SCALE_W(B, off, boff, k), SCALE_W(B, off, boff, k)
#define SCALE_IDX(B, off, boff)                                                                        \
    SCALE_W4(B, off, boff, 0), SCALE_W4(B, off, boff, 1), SCALE_W4(B, off, boff, 2), SCALE_W4(B, off, boff, 3)

// Nibble bytes (qs[16] at byte QS of a B-byte block): 16 bytes per block.
#define Q4_0_QS(k, j) BYTE_AT(18 * (k) + 2 + (j), 64)
#define Q4_1_QS(k, j) BYTE_AT(20 * (k) + 4 + (j), 64)
#define Q5_0_QS(k, j) BYTE_AT(22 * (k) + 6 + (j), 56)
#define Q5_1_QS(k, j) BYTE_AT(24 * (k) + 8 + (j), 64)
static const uint8_t k_q4_0_qs[64] = {R64(Q4_0_QS)};
static const uint8_t k_q4_1_qs[64] = {R64(Q4_1_QS)};
static const uint8_t k_q5_0_qs[64] = {R64(Q5_0_QS)};
static const uint8_t k_q5_1_qs[64] = {R64(Q5_1_QS)};
static const uint16_t k_q4_0_d[32] = {SCALE_IDX(18, 0, 64)};
static const uint16_t k_q5_0_d[32] = {SCALE_IDX(22, 0, 56)};
// _1 types: d in words 0-15, m in words 16-31.
static const uint16_t k_q4_1_dm[32] = {SCALE_IDX(20, 0, 64), SCALE_IDX(20, 2, 64)};
static const uint16_t k_q5_1_dm[32] = {SCALE_IDX(24, 0, 64), SCALE_IDX(24, 2, 64)};
// q5 high bits: qword q of the gathered vector holds qh (32 bits) of block
// q / 2, so VPSHUFBITQMB with bit index j (lo) or 16 + j (hi) in the bytes
// of block k's lane gives the 64-bit mask of the levels with bit 4 set.
#define QH_W(B, qh, boff, k) WORD_AT((B) * (k) + (qh), boff), WORD_AT((B) * (k) + (qh) + 2, boff), 0, 0
#define QH_W2(B, qh, boff, k) QH_W(B, qh, boff, k), QH_W(B, qh, boff, k)
#define QH_IDX(B, qh, boff) QH_W2(B, qh, boff, 0), QH_W2(B, qh, boff, 1), QH_W2(B, qh, boff, 2), QH_W2(B, qh, boff, 3)
static const uint16_t k_q5_0_qh[32] = {QH_IDX(22, 2, 56)};
static const uint16_t k_q5_1_qh[32] = {QH_IDX(24, 4, 64)};
#define BIT_LO(k, j) (j)
#define BIT_HI(k, j) (16 + (j))
static const uint8_t k_bit_lo[64] = {R64(BIT_LO)};
static const uint8_t k_bit_hi[64] = {R64(BIT_HI)};

// Activation steps (34-byte blocks, 136 bytes) starting 8t bytes into a
// line, read as three lines l0, l1, l2: VPERMT2B over (l0, l1) with index
// o & 127, then a merge-masked VPERMB of l2 (same index, low 6 bits) for the
// bytes at o >= 128.
#define Q8_B(t, k, j, off) ((8 * (t) + 34 * (k) + (off) + (j)) & 127)
#define Q8_B4(t, k, j, off) Q8_B(t, k, j, off), Q8_B(t, k, (j) + 1, off), Q8_B(t, k, (j) + 2, off), Q8_B(t, k, (j) + 3, off)
#define Q8_B16(t, k, off) Q8_B4(t, k, 0, off), Q8_B4(t, k, 4, off), Q8_B4(t, k, 8, off), Q8_B4(t, k, 12, off)
#define Q8_B64(t, off) Q8_B16(t, 0, off), Q8_B16(t, 1, off), Q8_B16(t, 2, off), Q8_B16(t, 3, off)
#define Q8_W(t, k) (((8 * (t) + 34 * (k)) / 2) & 63)
#define Q8_W4(t, k) Q8_W(t, k), Q8_W(t, k), Q8_W(t, k), Q8_W(t, k)
// Bits of the 16 bytes of block k (at 8t + 34k + off + j) that lie in l2.
#define Q8_J0(t, k, off) (128 - 8 * (t) - 34 * (k) - (off))
#define Q8_CLAMP16(v) ((v) < 0 ? 0 : (v) > 16 ? 16 : (v))
#define Q8_M16(t, k, off) (((0xFFFFull << Q8_CLAMP16(Q8_J0(t, k, off))) & 0xFFFFull) << (16 * (k)))
#define Q8_M64(t, off) (Q8_M16(t, 0, off) | Q8_M16(t, 1, off) | Q8_M16(t, 2, off) | Q8_M16(t, 3, off))
#define Q8_MD4(t, k) ((8 * (t) + 34 * (k) >= 128 ? 0xFu : 0u) << (4 * (k)))
typedef struct {
    uint8_t lo[64], hi[64]; // elements 0-15 / 16-31 of the four blocks
    uint16_t d[32];         // scales, words 0-15
    uint64_t mlo, mhi;      // bytes from l2
    uint32_t md;            // scale words from l2
} __attribute__((aligned(64))) q8_phase;
#define Q8_PHASE(t)                                                                                    \
    {{Q8_B64(t, 2)}, {Q8_B64(t, 18)}, {Q8_W4(t, 0), Q8_W4(t, 1), Q8_W4(t, 2), Q8_W4(t, 3)},           \
     Q8_M64(t, 2), Q8_M64(t, 18), Q8_MD4(t, 0) | Q8_MD4(t, 1) | Q8_MD4(t, 2) | Q8_MD4(t, 3)}
static const q8_phase k_q8_phase[8] = {Q8_PHASE(0), Q8_PHASE(1), Q8_PHASE(2), Q8_PHASE(3),
                                       Q8_PHASE(4), Q8_PHASE(5), Q8_PHASE(6), Q8_PHASE(7)};
// Unaligned activation steps: hi from the loads at +8 / +72.
#define Q8_HI8(k, j) (34 * (k) + 18 + (j) - 8)
static const uint8_t k_q8_hi8[64] = {R64(Q8_HI8)};

VNNI static inline __m512i vload(const void *p) { return _mm512_loadu_si512(p); }

// Index vectors and constants of a row's steps (each kernel loads the ones
// it uses).
typedef struct {
    __m512i qs, d, qh; // weights: values, scales (d, then m for _1 types), q5 high bits
    __m512i bit_lo, bit_hi, grid, off;
} vnni_consts;
VNNI static inline vnni_consts vnni_consts_load(const uint8_t *qs, const uint16_t *d, const uint16_t *qh, int off) {
    vnni_consts c;
    c.qs = qs ? vload(qs) : _mm512_setzero_si512();
    c.d = d ? vload(d) : _mm512_setzero_si512();
    c.qh = qh ? vload(qh) : _mm512_setzero_si512();
    c.bit_lo = vload(k_bit_lo);
    c.bit_hi = vload(k_bit_hi);
    c.grid = _mm512_broadcast_i32x4(
        _mm_xor_si128(_mm_loadu_si128((const __m128i *)ingot_iq4nl_values), _mm_set1_epi8((char)0x80)));
    c.off = _mm512_set1_epi8((char)off);
    return c;
}

// Four q8_0 blocks: values (lo, hi) and scales (4 lanes per block).
typedef struct {
    __m512i lo, hi;
    __m512 d;
} q8_step;
VNNI static inline q8_step q8_step_gather(__m512i l0, __m512i l1, __m512i l2, const q8_phase *ph) {
    const __m512i ilo = vload(ph->lo), ihi = vload(ph->hi), id = vload(ph->d);
    q8_step s;
    s.lo = _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(l0, ilo, l1), ph->mlo, ilo, l2);
    s.hi = _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(l0, ihi, l1), ph->mhi, ihi, l2);
    const __m512i d = _mm512_mask_permutexvar_epi16(_mm512_permutex2var_epi16(l0, id, l1), ph->md, id, l2);
    s.d = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
    return s;
}
// Activation step at p in the row [beg, end): aligned lines when the step
// starts 8t bytes into a line and its three lines lie inside the row,
// otherwise four unaligned loads (at +0 / +64 for lo, +8 / +72 for hi).
VNNI static inline q8_step q8_step_load(const uint8_t *p, const uint8_t *beg, const uint8_t *end) {
    const uintptr_t m = (uintptr_t)p & 63;
    const uint8_t *a = p - m;
    if ((m & 7) == 0 && a >= beg && end - a >= 192)
        return q8_step_gather(_mm512_load_si512(a), _mm512_load_si512(a + 64), _mm512_load_si512(a + 128),
                              &k_q8_phase[m >> 3]);
    const q8_phase *ph = &k_q8_phase[0];
    const __m512i l0 = vload(p), l1 = vload(p + 64);
    q8_step s;
    s.lo = _mm512_permutex2var_epi8(l0, vload(ph->lo), l1);
    s.hi = _mm512_permutex2var_epi8(vload(p + 8), vload(k_q8_hi8), vload(p + 72));
    s.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(l0, vload(ph->d), l1)));
    return s;
}
// Activation step at the 64-byte aligned line a with running index vectors
// (the phase-0 tables plus 8t bytes / 4t words, unwrapped: bit 7 of a byte
// index, bit 6 of a word index, marks what comes from l2). Inside a
// 32-block chunk starting on a line, step t is at a + 128t with phase t.
typedef struct {
    __m512i lo, hi, d;
} q8_run;
VNNI static inline q8_step q8_step_run(const uint8_t *a, const q8_run *r) {
    const __m512i l0 = _mm512_load_si512(a), l1 = _mm512_load_si512(a + 64), l2 = _mm512_load_si512(a + 128);
    q8_step s;
    s.lo = _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(l0, r->lo, l1), _mm512_movepi8_mask(r->lo), r->lo, l2);
    s.hi = _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(l0, r->hi, l1), _mm512_movepi8_mask(r->hi), r->hi, l2);
    const __m512i d = _mm512_mask_permutexvar_epi16(_mm512_permutex2var_epi16(l0, r->d, l1),
                                                    _mm512_test_epi16_mask(r->d, _mm512_set1_epi16(64)), r->d, l2);
    s.d = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
    return s;
}
VNNI static inline void q8_run_next(q8_run *r) {
    r->lo = _mm512_add_epi8(r->lo, _mm512_set1_epi8(8));
    r->hi = _mm512_add_epi8(r->hi, _mm512_set1_epi8(8));
    r->d = _mm512_add_epi16(r->d, _mm512_set1_epi16(4));
}
// Σ u·y over both halves, 4 int32 lanes per block.
VNNI static inline __m512i dot_step(__m512i ulo, __m512i uhi, const q8_step *y) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ulo, y->lo), uhi, y->hi);
}
// The 64 nibble bytes of a step: lo nibbles (elements 0-15), hi (16-31).
VNNI static inline void nibbles_step(__m512i q, __m512i *lo, __m512i *hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    *lo = _mm512_and_si512(q, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
}
// Bit 4 of q5 levels from the step's gathered qh words.
VNNI static inline void q5_high_step(__m512i qh, const vnni_consts *c, __m512i *lo, __m512i *hi) {
    const __m512i b4 = _mm512_set1_epi8(0x10);
    *lo = _mm512_mask_add_epi8(*lo, _mm512_bitshuffle_epi64_mask(qh, c->bit_lo), *lo, b4);
    *hi = _mm512_mask_add_epi8(*hi, _mm512_bitshuffle_epi64_mask(qh, c->bit_hi), *hi, b4);
}
VNNI static inline __m512 f16_lo(__m512i w) { return _mm512_cvtph_ps(_mm512_castsi512_si256(w)); }
VNNI static inline __m512 f16_hi(__m512i w) { return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1)); }
VNNI static inline __m512i load8(const uint8_t *p) { return _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)p)); }
VNNI static inline __m512i load16(const uint8_t *p) { return _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p)); }
VNNI static inline __m512i load32(const uint8_t *p) { return _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)); }

// Symmetric types: acc + d_x d_y (Σ u·y − off·Σ y), 4 lanes per block.
VNNI static inline __m512 sym_step(__m512i ulo, __m512i uhi, __m512 dx, const q8_step *y, const vnni_consts *c,
                                   __m512 acc) {
    const __m512i p = _mm512_sub_epi32(dot_step(ulo, uhi, y), dot_step(c->off, c->off, y));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dx, y->d), acc);
}
// _1 types: acc + d_y (d_x Σ q·y + m_x Σ y); dm: f16 d (words 0-15), m (16-31).
VNNI static inline __m512 aff_step(__m512i ulo, __m512i uhi, __m512i dm, const q8_step *y, __m512 acc) {
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_step(ones, ones, y)), f16_hi(dm),
                                     _mm512_mul_ps(_mm512_cvtepi32_ps(dot_step(ulo, uhi, y)), f16_lo(dm)));
    return _mm512_fmadd_ps(t, y->d, acc);
}

// One step of each type: weights at x (4 blocks), activations ys.
// q4_0: nibbles, offset 8.
VNNI static inline __m512 q4_0_step(const uint8_t *x, const q8_step *ys, const vnni_consts *c, __m512 acc) {
    const __m512i a = vload(x);
    __m512i lo, hi;
    nibbles_step(_mm512_permutex2var_epi8(a, c->qs, load8(x + 64)), &lo, &hi);
    return sym_step(lo, hi, f16_lo(_mm512_permutexvar_epi16(c->d, a)), ys, c, acc);
}
// iq4_nl: grid + 128 (1..241) looked up by VPERMB in the 16-entry grid
// repeated four times (index bits 4-5 then do not matter, so the nibbles
// need no mask), offset 128.
VNNI static inline __m512 iq4_nl_step(const uint8_t *x, const q8_step *ys, const vnni_consts *c, __m512 acc) {
    const __m512i a = vload(x), q = _mm512_permutex2var_epi8(a, c->qs, load8(x + 64));
    const __m512i lo = _mm512_permutexvar_epi8(q, c->grid);
    const __m512i hi = _mm512_permutexvar_epi8(_mm512_srli_epi16(q, 4), c->grid);
    return sym_step(lo, hi, f16_lo(_mm512_permutexvar_epi16(c->d, a)), ys, c, acc);
}
// q5_0: nibbles with bit 4 from qh, offset 16; bytes 56-87 as the short load.
VNNI static inline __m512 q5_0_step(const uint8_t *x, const q8_step *ys, const vnni_consts *c, __m512 acc) {
    const __m512i a = vload(x), b = load32(x + 56);
    __m512i lo, hi;
    nibbles_step(_mm512_permutex2var_epi8(a, c->qs, b), &lo, &hi);
    q5_high_step(_mm512_permutex2var_epi16(a, c->qh, b), c, &lo, &hi);
    return sym_step(lo, hi, f16_lo(_mm512_permutex2var_epi16(a, c->d, b)), ys, c, acc);
}
VNNI static inline __m512 q4_1_step(const uint8_t *x, const q8_step *ys, const vnni_consts *c, __m512 acc) {
    const __m512i a = vload(x), b = load16(x + 64);
    __m512i lo, hi;
    nibbles_step(_mm512_permutex2var_epi8(a, c->qs, b), &lo, &hi);
    return aff_step(lo, hi, _mm512_permutex2var_epi16(a, c->d, b), ys, acc);
}
VNNI static inline __m512 q5_1_step(const uint8_t *x, const q8_step *ys, const vnni_consts *c, __m512 acc) {
    const __m512i a = vload(x), b = load32(x + 64);
    __m512i lo, hi;
    nibbles_step(_mm512_permutex2var_epi8(a, c->qs, b), &lo, &hi);
    q5_high_step(_mm512_permutex2var_epi16(a, c->qh, b), c, &lo, &hi);
    return aff_step(lo, hi, _mm512_permutex2var_epi16(a, c->d, b), ys, acc);
}

// Row kernel: when the activation row starts a line (as the runner's
// arena rows do), 32-block chunks of eight steps with running indices;
// then pairs of steps with the per-step check, one step more when four
// blocks remain, the last 0-3 blocks by the _ref kernel. Two accumulators
// throughout. (Single steps up to the first line start before the chunks
// measured slower while streaming weights from memory: the weight loads'
// stride then changes at every row start, which the hardware prefetcher
// does not follow.)
#define VNNI_DOT(name, xtype, STEP, TAIL, QS, D, QH, OFF)                                                     \
    VNNI static void name(int64_t n, float *s, const void *vx, const void *vy) {                              \
        const uint8_t *x = vx, *y = vy;                                                                       \
        const int64_t nb = n / INGOT_QK;                                                                      \
        const size_t bx = sizeof(xtype), by = sizeof(ingot_block_q8_0);                                       \
        const uint8_t *yend = y + (size_t)nb * by;                                                            \
        const vnni_consts c = vnni_consts_load(QS, D, QH, OFF);                                               \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                                        \
        int64_t i = 0;                                                                                        \
        if (((uintptr_t)y & 63) == 0) {                                                                       \
            const q8_run r0 = {vload(k_q8_phase[0].lo), _mm512_add_epi8(vload(k_q8_hi8), _mm512_set1_epi8(8)),  \
                               vload(k_q8_phase[0].d)};                                                       \
            for (; i + 32 <= nb; i += 32) {                                                                   \
                const uint8_t *yc = y + (size_t)i * by, *xc = x + (size_t)i * bx;                             \
                q8_run r = r0;                                                                                \
                for (int t = 0; t < 8; t += 2) {                                                              \
                    const q8_step y0 = q8_step_run(yc + 128 * t, &r);                                         \
                    acc0 = STEP(xc + (size_t)(4 * t) * bx, &y0, &c, acc0);                                    \
                    q8_run_next(&r);                                                                          \
                    const q8_step y1 = q8_step_run(yc + 128 * (t + 1), &r);                                   \
                    acc1 = STEP(xc + (size_t)(4 * t + 4) * bx, &y1, &c, acc1);                                \
                    q8_run_next(&r);                                                                          \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        for (; i + 8 <= nb; i += 8) {                                                                         \
            const q8_step y0 = q8_step_load(y + (size_t)i * by, y, yend);                                     \
            acc0 = STEP(x + (size_t)i * bx, &y0, &c, acc0);                                                   \
            const q8_step y1 = q8_step_load(y + (size_t)(i + 4) * by, y, yend);                               \
            acc1 = STEP(x + (size_t)(i + 4) * bx, &y1, &c, acc1);                                             \
        }                                                                                                     \
        if (i + 4 <= nb) {                                                                                    \
            const q8_step y0 = q8_step_load(y + (size_t)i * by, y, yend);                                     \
            acc0 = STEP(x + (size_t)i * bx, &y0, &c, acc0);                                                   \
            i += 4;                                                                                           \
        }                                                                                                     \
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));                                          \
        if (i < nb) {                                                                                         \
            float r;                                                                                          \
            TAIL((nb - i) * INGOT_QK, &r, x + (size_t)i * bx, y + (size_t)i * by);                            \
            sum += r;                                                                                         \
        }                                                                                                     \
        *s = sum;                                                                                             \
    }

// q8_0 has twice the bytes per weight and stays bound by memory reads with
// two blocks per vector: 32-byte loads (weights and activations) and
// x + 128 as levels, offset 128. Needs AVX512_VNNI only.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) static void q8_0_vnni(int64_t n, float *s, const void *vx, const void *vy) {
    const ingot_block_q8_0 *x = vx, *y = vy;
    const int64_t nb = n / INGOT_QK;
    const __m512i off = _mm512_set1_epi8((char)0x80);
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m512i qy = load2x256(y[i].qs, y[i + 1].qs);
        const __m512i u = _mm512_xor_si512(load2x256(x[i].qs, x[i + 1].qs), off);
        const __m512i p = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u, qy),
                                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, qy));
        const __m512 d = block_scales2(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    if (i < nb) {
        float r;
        ingot_q8_0_vec_dot_ref(INGOT_QK, &r, &x[i], &y[i]);
        sum += r;
    }
    *s = sum;
}
VNNI_DOT(q4_0_vnni, ingot_block_q4_0, q4_0_step, ingot_q4_0_vec_dot_ref, k_q4_0_qs, k_q4_0_d, NULL, 8)
VNNI_DOT(iq4_nl_vnni, ingot_block_iq4_nl, iq4_nl_step, ingot_iq4_nl_vec_dot_ref, k_q4_0_qs, k_q4_0_d, NULL, 0x80)
VNNI_DOT(q5_0_vnni, ingot_block_q5_0, q5_0_step, ingot_q5_0_vec_dot_ref, k_q5_0_qs, k_q5_0_d, k_q5_0_qh, 16)
VNNI_DOT(q4_1_vnni, ingot_block_q4_1, q4_1_step, ingot_q4_1_vec_dot_ref, k_q4_1_qs, k_q4_1_dm, NULL, 0)
VNNI_DOT(q5_1_vnni, ingot_block_q5_1, q5_1_step, ingot_q5_1_vec_dot_ref, k_q5_1_qs, k_q5_1_dm, k_q5_1_qh, 0)

void ingot_quant_install_avx512(ingot_quant_traits *tab) {
    tab[INGOT_DTYPE_Q8_0].quantize_row = q8_0_quantize_row;
    tab[INGOT_DTYPE_Q8_0].vec_dot = q8_0_vec_dot;
    tab[INGOT_DTYPE_Q4_0].quantize_row = q4_0_quantize_row;
    tab[INGOT_DTYPE_Q4_0].vec_dot = q4_0_vec_dot;
    tab[INGOT_DTYPE_Q4_K].quantize_row = q4_k_quantize_row;
    tab[INGOT_DTYPE_Q5_K].quantize_row = q5_k_quantize_row;
    tab[INGOT_DTYPE_Q4_K].vec_dot = q4_k_vec_dot;
    tab[INGOT_DTYPE_Q5_K].vec_dot = q5_k_vec_dot;
    tab[INGOT_DTYPE_Q6_K].vec_dot = q6_k_vec_dot;
    tab[INGOT_DTYPE_Q3_K].quantize_row = q3_k_quantize_row;
    tab[INGOT_DTYPE_Q6_K].quantize_row = q6_k_quantize_row;
    tab[INGOT_DTYPE_Q2_K].quantize_row = q2_k_quantize_row;
    tab[INGOT_DTYPE_IQ4_NL].quantize_row = iq4_nl_quantize_row;
    tab[INGOT_DTYPE_Q3_K].vec_dot = q3_k_vec_dot;
    if (__builtin_cpu_supports("avx512vnni")) tab[INGOT_DTYPE_Q8_0].vec_dot = q8_0_vnni;
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
        __builtin_cpu_supports("avx512bitalg")) {
        tab[INGOT_DTYPE_Q4_0].vec_dot = q4_0_vnni;
        tab[INGOT_DTYPE_Q5_0].vec_dot = q5_0_vnni;
        tab[INGOT_DTYPE_IQ4_NL].vec_dot = iq4_nl_vnni;
        tab[INGOT_DTYPE_Q4_1].vec_dot = q4_1_vnni;
        tab[INGOT_DTYPE_Q5_1].vec_dot = q5_1_vnni;
    }
    ingot_quant_install_avx512_f8(tab);
    ingot_quant_install_avx512_kdot(tab);
}

#else
void ingot_quant_install_avx512(ingot_quant_traits *tab) { (void)tab; }
#endif
