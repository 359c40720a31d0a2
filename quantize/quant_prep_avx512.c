// AVX-512 VNNI dot of Q8_0 weight rows with a prepared activation row
// (quant_prep.c has the layout and the _ref twin).
//
// A decode step streams every weight row past the same activation, and
// the step is bound by how many bytes each thread keeps in flight: the
// fewer instructions a weight byte costs, the more of the row's loads the
// core can have outstanding. vec_dot spends about 28 operations per 64
// weights, half of them on the activation (loads, the offset sums, scale
// conversions). Here the activation's part is done once per product, so
// per two weight blocks the kernel does: two loads, an xor (weights to
// unsigned), one vpdpbusd seeded with the prepared offset sums, the two
// weight scales broadcast and converted, and a multiply and multiply-add.
#include "quant_prep_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

// acc + Σ over the pair at x (two blocks, or one when `one`) and its
// prepared lines at p.
VNNI static inline __m512 pair_step(const ingot_block_q8_0 *x, const uint8_t *p, bool one, __m512 acc) {
    const __m512i off = _mm512_set1_epi8((char)0x80);
    const __m512i lo = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].qs));
    const __m512i q = one ? lo : _mm512_inserti64x4(lo, _mm256_loadu_si256((const __m256i *)x[1].qs), 1);
    // A missing second block's lanes meet the prepared zero block (values,
    // offset sums and scale 0): whatever the upper half holds adds 0.
    const __m512i u = _mm512_xor_si512(q, off);
    const __m512i dot = _mm512_dpbusd_epi32(_mm512_loadu_si512(p + 64), u, _mm512_loadu_si512(p));
    const __m256i dh = one ? _mm256_set1_epi16((short)x[0].d)
                           : _mm256_mask_set1_epi16(_mm256_set1_epi16((short)x[0].d), 0xFF00, (short)x[1].d);
    const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(dh), _mm512_loadu_ps((const float *)(p + 128)));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), d, acc);
}

VNNI static void q8_0_prep_dot_vnni(int64_t n, float *s, const void *vx, const void *vp) {
    const ingot_block_q8_0 *x = vx;
    const uint8_t *p = vp;
    const int64_t nb = n / INGOT_QK;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        acc0 = pair_step(x + i, p + (size_t)(i / 2) * INGOT_PREP_Q8_0_PAIR, false, acc0);
        acc1 = pair_step(x + i + 2, p + (size_t)(i / 2 + 1) * INGOT_PREP_Q8_0_PAIR, false, acc1);
    }
    if (i + 2 <= nb) {
        acc0 = pair_step(x + i, p + (size_t)(i / 2) * INGOT_PREP_Q8_0_PAIR, false, acc0);
        i += 2;
    }
    if (i < nb) acc1 = pair_step(x + i, p + (size_t)(i / 2) * INGOT_PREP_Q8_0_PAIR, true, acc1);
    *s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Prompt rows, compact layout: each weight pair's magnitudes, sign mask
// and scales are taken once, then every token row costs a load, the
// weights' signs moved onto its values (a masked negate: values are
// within ±127), one vpdpbusd, its two scales spread over the lanes, and a
// multiply and multiply-add; NR accumulators stay in registers.
VNNI static inline __attribute__((always_inline)) void rows_gemm(int64_t n, float *s, size_t lds, const void *vx,
                                                                  const void *vp, size_t ldp, const int NR) {
    const ingot_block_q8_0 *x = vx;
    const uint8_t *p = vp;
    const int64_t nb = n / INGOT_QK;
    const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 acc[INGOT_GEMM_MAX_ROWS];
    _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i += 2) {
        const bool one = i + 1 == nb; // its partner in the prepared rows is a zero block
        const __m512i lo = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[i].qs));
        const __m512i q = one ? lo : _mm512_inserti64x4(lo, _mm256_loadu_si256((const __m256i *)x[i + 1].qs), 1);
        const __m512i mag = _mm512_abs_epi8(q);
        const __mmask64 neg = _mm512_movepi8_mask(q);
        const __m256i dh = one ? _mm256_set1_epi16((short)x[i].d)
                               : _mm256_mask_set1_epi16(_mm256_set1_epi16((short)x[i].d), 0xFF00, (short)x[i + 1].d);
        const __m512 dx = _mm512_cvtph_ps(dh);
        const uint8_t *r = p + (size_t)(i / 2) * INGOT_PREP_Q8_0_ROWS_PAIR;
        _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) {
            const uint8_t *rj = r + (size_t)j * ldp;
            const __m512i y = _mm512_loadu_si512(rj);
            const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
            const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), mag, sy);
            const __m128i d2 = _mm_loadl_epi64((const __m128i *)(rj + 64)); // the two scales, unaligned
            const __m512 dy = _mm512_permutexvar_ps(half, _mm512_castps128_ps512(_mm_castsi128_ps(d2)));
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dx, dy), acc[j]);
        }
    }
    _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) s[(size_t)j * lds] = _mm512_reduce_add_ps(acc[j]);
}

#define ROWS_GEMM_CASE(NR)                                                                                   \
    case NR: rows_gemm(n, s, lds, vx, vp, ldp, NR); break;
VNNI static void q8_0_rows_gemm_vnni(int64_t n, float *s, size_t lds, const void *vx, const void *vp, size_t ldp,
                                     int nr) {
    switch (nr) {
        ROWS_GEMM_CASE(1)
        ROWS_GEMM_CASE(2)
        ROWS_GEMM_CASE(3)
        ROWS_GEMM_CASE(4)
        ROWS_GEMM_CASE(5)
        ROWS_GEMM_CASE(6)
        ROWS_GEMM_CASE(7)
    default: rows_gemm(n, s, lds, vx, vp, ldp, INGOT_GEMM_MAX_ROWS); break;
    }
}
#undef ROWS_GEMM_CASE

static const ingot_prep_traits k_q8_0_vnni = {ingot_q8_0_prep_bytes, ingot_q8_0_prepare,    q8_0_prep_dot_vnni,
                                              ingot_q8_0_rows_bytes, ingot_q8_0_rows_prepare, q8_0_rows_gemm_vnni};

void ingot_quant_prep_install_avx512(const ingot_prep_traits **tab) {
    if (__builtin_cpu_supports("avx512vnni")) tab[INGOT_DTYPE_Q8_0] = &k_q8_0_vnni;
}

#else
void ingot_quant_prep_install_avx512(const ingot_prep_traits **tab) { (void)tab; }
#endif
