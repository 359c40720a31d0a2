// Sampling (greedy, temperature, top-k, top-p with a seeded xorshift RNG)
// and the perplexity / KL-divergence metrics of llama.cpp's llama-perplexity
// (field-survey §E.1): mean KLD and its 99th percentile, same-top-1 rate,
// ΔPPL and RMS Δp of the correct token.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runner_internal.h"

typedef struct prob_index {
    float p;
    int32_t i;
} prob_index;

struct ingot_sampler {
    ingot_sampler_params p;
    int n_vocab;
    uint64_t rng;
    prob_index *cand; // [n_vocab]
};

ingot_status ingot_sampler_create(int n_vocab, const ingot_sampler_params *p, ingot_sampler **out, ingot_err *err) {
    *out = NULL;
    INGOT_FAIL_IF(n_vocab <= 0 || !p, err, INGOT_E_ARG, "sampler: n_vocab %d", n_vocab);
    ingot_sampler *s = ingot_calloc(1, sizeof *s);
    if (s) s->cand = ingot_malloc((size_t)n_vocab * sizeof *s->cand);
    if (!s || !s->cand) {
        ingot_sampler_free(s);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory for a sampler over %d tokens", n_vocab);
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed ? p->seed : 0x9E3779B97F4A7C15ull;
    *out = s;
    return INGOT_OK;
}

void ingot_sampler_free(ingot_sampler *s) {
    if (!s) return;
    ingot_free(s->cand);
    ingot_free(s);
}

// First index of the largest value; NaNs never win (and a NaN at 0 stays
// the answer, as a running `x[i] > x[best]` scan gives). The maximum is
// found with 16 independent running maxima, then its first index.
int32_t ingot_argmax(const float *x, int n) {
    if (n <= 1 || x[0] != x[0]) return 0;
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = x[0];
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float mx = m[0];
    for (int k = 1; k < 16; k++) mx = m[k] > mx ? m[k] : mx;
    for (i = 0; i < n; i++)
        if (x[i] == mx) return i;
    return 0;
}

// xorshift64*, uniform in [0, 1).
static float rng_f32(uint64_t *st) {
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return (float)((*st * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

static int cmp_desc(const void *a, const void *b) {
    const float pa = ((const prob_index *)a)->p, pb = ((const prob_index *)b)->p;
    return pa < pb ? 1 : pa > pb ? -1 : 0;
}

// The k largest logits (1 <= k < n) into c[0..k), in no order, through a
// min-heap of k: one comparison per logit against the smallest kept. NaN
// counts as -inf.
static void top_k_logits(const float *x, int n, int k, prob_index *c) {
    for (int i = 0; i < n; i++) {
        const float v = x[i] == x[i] ? x[i] : -INFINITY;
        int at;
        if (i < k) { // fill: sift up
            at = i;
            while (at > 0 && c[(at - 1) / 2].p > v) {
                c[at] = c[(at - 1) / 2];
                at = (at - 1) / 2;
            }
        } else {
            if (!(v > c[0].p)) continue;
            at = 0; // replace the smallest: sift down
            for (;;) {
                int ch = 2 * at + 1;
                if (ch >= k) break;
                if (ch + 1 < k && c[ch + 1].p < c[ch].p) ch++;
                if (!(c[ch].p < v)) break;
                c[at] = c[ch];
                at = ch;
            }
        }
        c[at] = (prob_index){v, i};
    }
}

int32_t ingot_sampler_sample(ingot_sampler *s, const float *logits) {
    const int n = s->n_vocab;
    if (s->p.temperature <= 0) return ingot_argmax(logits, n);
    // Candidates: the top-k logits (softmax over them only: the others are
    // dropped anyway), or every token.
    int m = n;
    if (s->p.top_k > 0 && s->p.top_k < n) {
        m = s->p.top_k;
        top_k_logits(logits, n, m, s->cand);
    } else {
        for (int i = 0; i < n; i++) s->cand[i] = (prob_index){logits[i] == logits[i] ? logits[i] : -INFINITY, i};
    }
    float mx = -INFINITY;
    for (int i = 0; i < m; i++) mx = s->cand[i].p > mx ? s->cand[i].p : mx;
    if (mx == -INFINITY || mx == INFINITY) return ingot_argmax(logits, n); // nothing finite to weigh
    double sum = 0;
    for (int i = 0; i < m; i++) {
        s->cand[i].p = expf((s->cand[i].p - mx) / s->p.temperature);
        sum += s->cand[i].p;
    }
    if (s->p.top_p > 0 && s->p.top_p < 1) { // nucleus: the most likely first, until top_p of the mass
        qsort(s->cand, (size_t)m, sizeof *s->cand, cmp_desc);
        double acc = 0;
        for (int i = 0; i < m; i++) {
            acc += s->cand[i].p;
            if (acc >= s->p.top_p * sum) {
                m = i + 1;
                break;
            }
        }
        sum = 0;
        for (int i = 0; i < m; i++) sum += s->cand[i].p;
    }
    const double r = rng_f32(&s->rng) * sum;
    double acc = 0;
    for (int i = 0; i < m; i++) {
        acc += s->cand[i].p;
        if (r < acc) return s->cand[i].i;
    }
    return s->cand[m - 1].i;
}

// ---- metrics ------------------------------------------------------------------------

void ingot_log_softmax(const float *logits, int n, float *out) {
    double mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp(logits[i] - mx);
    const double lse = mx + log(sum);
    for (int i = 0; i < n; i++) out[i] = (float)(logits[i] - lse);
}

void ingot_metrics_add(ingot_metrics *mt, const float *logits, const float *base_logits, int n_vocab,
                       int32_t target, float *scratch) {
    float *lp = scratch, *lb = scratch + n_vocab;
    ingot_log_softmax(logits, n_vocab, lp);
    mt->nll -= lp[target];
    mt->n_tokens++;
    if (!base_logits) return;
    ingot_log_softmax(base_logits, n_vocab, lb);
    mt->nll_base -= lb[target];
    double kld = 0;
    for (int i = 0; i < n_vocab; i++) kld += exp((double)lb[i]) * ((double)lb[i] - lp[i]);
    const double dp = exp((double)lp[target]) - exp((double)lb[target]);
    mt->kld_sum += kld;
    mt->kld_max = kld > mt->kld_max ? kld : mt->kld_max;
    mt->dp2_sum += dp * dp;
    mt->n_same_top += ingot_argmax(logits, n_vocab) == ingot_argmax(base_logits, n_vocab);
    if (mt->kld && mt->n < mt->cap) {
        mt->kld[mt->n] = (float)kld;
        if (mt->dp) mt->dp[mt->n] = (float)dp;
        mt->n++;
    }
}

static int cmp_f32(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

double ingot_percentile_sorted(const float *x, size_t n, double p) {
    if (n == 0) return 0;
    const double at = p / 100.0 * (double)(n - 1);
    const size_t i = (size_t)at;
    if (i + 1 >= n) return x[n - 1];
    return x[i] + (at - (double)i) * (x[i + 1] - x[i]);
}

void ingot_metrics_summarize(ingot_metrics *mt, ingot_metrics_summary *out) {
    memset(out, 0, sizeof *out);
    const double n = mt->n_tokens ? (double)mt->n_tokens : 1;
    out->ppl = exp(mt->nll / n);
    out->ppl_base = exp(mt->nll_base / n);
    out->delta_ppl = out->ppl - out->ppl_base;
    out->kld_mean = mt->kld_sum / n;
    out->kld_max = mt->kld_max;
    out->same_top = (double)mt->n_same_top / n;
    out->rms_dp = sqrt(mt->dp2_sum / n);
    if (mt->kld && mt->n) {
        qsort(mt->kld, mt->n, sizeof *mt->kld, cmp_f32);
        out->kld_p99 = ingot_percentile_sorted(mt->kld, mt->n, 99.0);
    }
}
