// Steps shared by the AVX2 and AVX-512 affine scale searches (q4_1, q5_1,
// q2_k, q4_k, q5_k): the candidate inverse scales, the transposed sums
// stored per candidate, and the choice of the best fit. Compiled with the
// AVX2 target and inlined into both levels' searches.
#ifndef INGOT_QUANT_SEARCH_X86_H
#define INGOT_QUANT_SEARCH_X86_H

#include <immintrin.h>
#include <math.h>

#define INGOT_AFFINE_MAX_CAND 40 // candidates a SIMD search handles (nstep + 2); more go to _ref

// Candidates is = -1 .. nstep as ingot_affine_iscale's quotients, eight
// divisions at a time (the same IEEE quotients as one division each). One
// equal to the plain scale (is = -1) rounds to the same levels and can
// never fit strictly better, so it is not evaluated twice. nstep + 2 ≤
// INGOT_AFFINE_MAX_CAND; iscale has INGOT_AFFINE_MAX_CAND entries.
// Returns the number of candidates.
__attribute__((target("avx2"))) static inline int ingot_affine_iscales(int nmax, int nstep, float rmin, float rdelta,
                                                                       float range, float *iscale) {
    float num[INGOT_AFFINE_MAX_CAND], all[INGOT_AFFINE_MAX_CAND];
    for (int c = 0; c < (nstep + 9) / 8 * 8; c++) {
        const int is = c <= nstep + 1 ? c - 1 : -1;
        num[c] = is < 0 ? (float)nmax : rmin + rdelta * (float)is + (float)nmax;
    }
    int c8 = 0;
    do {
        _mm256_storeu_ps(all + c8, _mm256_div_ps(_mm256_loadu_ps(num + c8), _mm256_set1_ps(range)));
        c8 += 8;
    } while (c8 < nstep + 2);
    int n_cand = 0;
    iscale[n_cand++] = all[0];
    for (int c = 1; c <= nstep + 1; c++)
        if (all[c] != iscale[0]) iscale[n_cand++] = all[c];
    return n_cand;
}

// Candidates c0 .. c0+7's three sums (lane u = candidate c0 + u) into
// sl, sl2, slx, up to n_cand.
__attribute__((target("avx2"))) static inline void ingot_affine_store8(__m256 ra, __m256 rb, __m256 re, int c0,
                                                                       int n_cand, double *sl, double *sl2,
                                                                       double *slx) {
    float a[8], b[8], e[8];
    _mm256_storeu_ps(a, ra);
    _mm256_storeu_ps(b, rb);
    _mm256_storeu_ps(e, re);
    for (int u = 0; u < 8 && c0 + u < n_cand; u++) {
        sl[c0 + u] = a[u];
        sl2[c0 + u] = b[u];
        slx[c0 + u] = e[u];
    }
}

// The first candidate with the smallest error; -1 when none is below
// infinity (no candidate fits).
static inline int ingot_affine_best(const double *err, int n_cand) {
    int best = -1;
    double best_err = INFINITY;
    for (int c = 0; c < n_cand; c++)
        if (err[c] < best_err) {
            best_err = err[c];
            best = c;
        }
    return best;
}

#endif
