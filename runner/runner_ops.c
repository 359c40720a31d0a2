// Kernels of the forward pass that need no weights file: RMSNorm, rotary
// embeddings (NeoX / interleaved, linear, llama3 and YaRN scaling), softmax,
// one-head attention and MoE routing.
// Formulas follow the Hugging Face transformers modeling code they must match.
#include <math.h>
#include <string.h>

#include "runner_internal.h"

// 8-wide GCC/Clang vector type: SSE pairs on baseline x86-64, one AVX
// register with -mavx2; unaligned loads go through memcpy. Values never
// cross a function boundary as vectors (that would tie the ABI to AVX).
typedef float v8f __attribute__((vector_size(32)));

typedef float v4f __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

void ingot_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    // HF LlamaRMSNorm: x * rsqrt(mean(x²) + eps) * w, in float32. The sum
    // of squares is taken in double, in eight running partial sums.
    if (ingot_rmsnorm_avx512(out, x, w, n, eps)) return;
    v4d p0 = {0}, p1 = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v4f a, b;
        memcpy(&a, x + i, sizeof a), memcpy(&b, x + i + 4, sizeof b);
        const v4d da = __builtin_convertvector(a, v4d), db = __builtin_convertvector(b, v4d);
        p0 += da * da;
        p1 += db * db;
    }
    p0 += p1;
    double ss = (p0[0] + p0[2]) + (p0[1] + p0[3]);
    for (; i < n; i++) ss += (double)x[i] * x[i];
    const float r = (float)(1.0 / sqrt(ss / n + eps));
    i = 0;
    for (; w && i + 8 <= n; i += 8) {
        v8f a, b;
        memcpy(&a, x + i, sizeof a), memcpy(&b, w + i, sizeof b);
        a = a * r * b;
        memcpy(out + i, &a, sizeof a);
    }
    for (; i + 8 <= n; i += 8) {
        v8f a;
        memcpy(&a, x + i, sizeof a);
        a = a * r;
        memcpy(out + i, &a, sizeof a);
    }
    for (; i < n; i++) out[i] = x[i] * r * (w ? w[i] : 1.0f);
}


float ingot_dot_f32(const float *a, const float *b, int n) {
    v8f acc0 = {0}, acc1 = {0}, x0, y0, x1, y1;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&x0, a + i, sizeof x0), memcpy(&y0, b + i, sizeof y0);
        memcpy(&x1, a + i + 8, sizeof x1), memcpy(&y1, b + i + 8, sizeof y1);
        acc0 += x0 * y0;
        acc1 += x1 * y1;
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&x0, a + i, sizeof x0), memcpy(&y0, b + i, sizeof y0);
        acc0 += x0 * y0;
    }
    acc0 += acc1;
    float s = ((acc0[0] + acc0[4]) + (acc0[1] + acc0[5])) + ((acc0[2] + acc0[6]) + (acc0[3] + acc0[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// y[0..n) += a * x[0..n)
void ingot_axpy_f32(float *y, float a, const float *x, int n) {
    int i = 0;
    v8f vy, vx;
    for (; i + 8 <= n; i += 8) {
        memcpy(&vy, y + i, sizeof vy), memcpy(&vx, x + i, sizeof vx);
        vy += a * vx;
        memcpy(y + i, &vy, sizeof vy);
    }
    for (; i < n; i++) y[i] += a * x[i];
}

void ingot_softmax(float *x, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

// ---- rotary embeddings ------------------------------------------------------------

double ingot_yarn_get_mscale(double factor, double mscale) {
    return factor <= 1 ? 1.0 : 0.1 * mscale * log(factor) + 1.0;
}

// YaRN (arXiv 2309.00071) as transformers' _compute_yarn_parameters: the
// number of rotations a pair makes over the original context decides whether
// it is interpolated (slow pairs), extrapolated (fast pairs) or blended.
static double yarn_correction_dim(double n_rot, int dim, double base, double max_pos) {
    return (dim * log(max_pos / (n_rot * 2 * M_PI))) / (2 * log(base));
}

static void rope_init_yarn(ingot_rope *r, int dim, double theta, const ingot_rope_scaling *sc) {
    const double beta_fast = sc->beta_fast > 0 ? sc->beta_fast : 32;
    const double beta_slow = sc->beta_slow > 0 ? sc->beta_slow : 1;
    double low = floor(yarn_correction_dim(beta_fast, dim, theta, sc->original_max_pos));
    double high = ceil(yarn_correction_dim(beta_slow, dim, theta, sc->original_max_pos));
    low = low < 0 ? 0 : low;
    high = high > dim - 1 ? dim - 1 : high;
    if (low == high) high += 0.001;
    for (int i = 0; i < dim / 2; i++) {
        const float pos_freq = powf((float)theta, (float)(2 * i) / (float)dim);
        const float extra = 1.0f / pos_freq;
        const float inter = 1.0f / ((float)sc->factor * pos_freq);
        double ramp = (i - low) / (high - low);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        const float extra_w = (float)(1.0 - ramp);
        r->inv_freq[i] = inter * (1 - extra_w) + extra * extra_w;
    }
    if (sc->mscale > 0 && sc->mscale_all_dim > 0)
        r->attn_factor = (float)(ingot_yarn_get_mscale(sc->factor, sc->mscale) /
                                 ingot_yarn_get_mscale(sc->factor, sc->mscale_all_dim));
    else
        r->attn_factor = (float)ingot_yarn_get_mscale(sc->factor, 1.0);
}

// transformers _compute_llama3_parameters: long wavelengths are divided by
// factor, short ones kept, the band between blended smoothly.
static void rope_init_llama3(ingot_rope *r, int dim, const ingot_rope_scaling *sc) {
    const double old_ctx = sc->original_max_pos;
    const double low_wl = old_ctx / sc->low_freq_factor, high_wl = old_ctx / sc->high_freq_factor;
    for (int i = 0; i < dim / 2; i++) {
        const double f = r->inv_freq[i], wl = 2 * M_PI / f;
        double out = wl > low_wl ? f / sc->factor : f;
        if (!(wl < high_wl) && !(wl > low_wl)) {
            const double smooth = (old_ctx / wl - sc->low_freq_factor) / (sc->high_freq_factor - sc->low_freq_factor);
            out = (1 - smooth) * out / sc->factor + smooth * out;
        }
        r->inv_freq[i] = (float)out;
    }
}

void ingot_rope_init(ingot_rope *r, int dim, double theta, bool interleave, const ingot_rope_scaling *sc) {
    memset(r, 0, sizeof *r);
    r->dim = dim;
    r->interleave = interleave;
    r->attn_factor = 1.0f;
    // HF: 1 / base^(arange(0, dim, 2) / dim) in float32
    for (int i = 0; i < dim / 2; i++) r->inv_freq[i] = 1.0f / powf((float)theta, (float)(2 * i) / (float)dim);
    if (!sc || sc->kind == INGOT_ROPE_NONE) return;
    if (sc->kind == INGOT_ROPE_LINEAR) {
        for (int i = 0; i < dim / 2; i++) r->inv_freq[i] /= (float)sc->factor;
    } else if (sc->kind == INGOT_ROPE_LLAMA3) {
        rope_init_llama3(r, dim, sc);
    } else if (sc->kind == INGOT_ROPE_YARN) {
        rope_init_yarn(r, dim, theta, sc);
    }
}

void ingot_rope_cos_sin(const ingot_rope *r, int pos, float *cs) {
    const int half = r->dim / 2;
    for (int i = 0; i < half; i++) {
        const float a = (float)pos * r->inv_freq[i];
        cs[i] = cosf(a) * r->attn_factor;
        cs[half + i] = sinf(a) * r->attn_factor;
    }
}

void ingot_rope_apply(const ingot_rope *r, float *x, const float *cs) {
    const int half = r->dim / 2;
    const float *c = cs, *s = cs + half;
    if (r->interleave) {
        for (int i = 0; i < half; i++) {
            const float a = x[2 * i], b = x[2 * i + 1];
            x[2 * i] = a * c[i] - b * s[i];
            x[2 * i + 1] = b * c[i] + a * s[i];
        }
    } else {
        for (int i = 0; i < half; i++) {
            const float a = x[i], b = x[i + half];
            x[i] = a * c[i] - b * s[i];
            x[i + half] = b * c[i] + a * s[i];
        }
    }
}

// ---- attention ----------------------------------------------------------------------

void ingot_attend_head(const float *q, const float *keys, size_t k_stride, const float *vals, size_t v_stride,
                       int first, int n_keys, int dim, int v_dim, float scale, float *scores, float *out) {
    const int n = n_keys - first;
    for (int j = 0; j < n; j++) scores[j] = ingot_dot_f32(q, keys + (size_t)(first + j) * k_stride, dim) * scale;
    ingot_softmax(scores, n);
    memset(out, 0, (size_t)v_dim * sizeof *out);
    for (int j = 0; j < n; j++) ingot_axpy_f32(out, scores[j], vals + (size_t)(first + j) * v_stride, v_dim);
}

// ---- MoE routing ----------------------------------------------------------------------

// Index of the largest of x[0..n) not yet taken (first on ties); -1 if none.
static int take_max(const float *x, int n, uint8_t *taken) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!taken[i] && (best < 0 || x[i] > x[best])) best = i;
    if (best >= 0) taken[best] = 1;
    return best;
}

// Group-limited selection (DeepSeek): keep the topk_group best groups, zero
// the choice scores of the others (HF masked_fill(..., 0.0)).
static void route_mask_groups(const ingot_route_params *p, float *choice, float *gscore) {
    const int per = p->n_expert / p->n_group;
    for (int g = 0; g < p->n_group; g++) {
        const float *c = choice + g * per;
        float a = -INFINITY, b = -INFINITY; // best, second best
        for (int i = 0; i < per; i++) {
            if (c[i] > a) {
                b = a;
                a = c[i];
            } else if (c[i] > b) {
                b = c[i];
            }
        }
        gscore[g] = p->group_mode == 2 ? a + (per > 1 ? b : 0) : a;
    }
    uint8_t keep[256] = {0};
    for (int j = 0; j < p->topk_group && j < p->n_group; j++) take_max(gscore, p->n_group, keep);
    for (int g = 0; g < p->n_group; g++)
        if (!keep[g])
            for (int i = 0; i < per; i++) choice[g * per + i] = 0.0f;
}

void ingot_moe_route(const ingot_route_params *p, const float *logits, int32_t *idx, float *w, float *scratch) {
    const int ne = p->n_expert;
    float *score = scratch, *choice = scratch + ne, *gscore = scratch + 2 * ne;
    if (p->sigmoid) {
        for (int i = 0; i < ne; i++) score[i] = 1.0f / (1.0f + expf(-logits[i]));
    } else {
        memcpy(score, logits, (size_t)ne * sizeof *score);
        ingot_softmax(score, ne);
    }
    for (int i = 0; i < ne; i++) choice[i] = score[i] + (p->bias ? p->bias[i] : 0.0f);
    if (p->n_group > 1 && p->group_mode && ne % p->n_group == 0 && p->n_group <= 256)
        route_mask_groups(p, choice, gscore);
    uint8_t taken[1024] = {0};
    double sum = 0;
    for (int j = 0; j < p->k; j++) {
        const int e = ne <= 1024 ? take_max(choice, ne, taken) : -1;
        idx[j] = e;
        w[j] = e >= 0 ? score[e] : 0.0f;
        sum += w[j];
    }
    const float norm = p->norm && sum > 0 ? (float)(1.0 / (sum + (p->sigmoid ? 1e-20 : 0.0))) : 1.0f;
    for (int j = 0; j < p->k; j++) w[j] = w[j] * norm * p->scale;
}
