// The forward pass: embeddings, then per layer [Engram] → attention (GQA or
// MLA) → dense SwiGLU FFN or MoE, then the final norm and the output head.
// Every buffer comes from the state's arena; nothing allocates here.
//
// Layer shapes (n tokens, E = n_embd):
//   x [n, E] residual; xb = RMSNorm(x); x += Attention(xb); xb = RMSNorm(x);
//   x += FFN(xb)   — the HF Llama / Qwen / Mixtral / DeepSeek decoder layer.
#include <math.h>
#include <string.h>

#include "ingot/engram.h"
#include "runner_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

static void add_bias(float *y, const float *b, int n, int dim) {
    if (!b) return;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dim; i++) y[(size_t)t * dim + i] += b[i];
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

static void swiglu(float *g, const float *u, size_t n) {
    if (ingot_swiglu_avx512(g, u, n)) return;
    for (size_t i = 0; i < n; i++) g[i] = silu(g[i]) * u[i];
}

static float *worker_scratch(const ingot_state *s, int worker) {
    return s->scratch + (size_t)worker * s->scratch_per_thread;
}

// First key a query at position p may see: sliding windows keep the last
// `window` positions (HF: kv_idx > q_idx - window).
static int first_key(int p, int window) { return window > 0 && p + 1 > window ? p + 1 - window : 0; }

// The pool for attention over n queries × heads at pos, or NULL (run on the
// caller) when the score work is too small to be worth waking the threads.
static ingot_pool *attn_pool(const ingot_state *s, int n, int pos, int n_head, int dim) {
    const uint64_t work = (uint64_t)n * (uint64_t)n_head * (uint64_t)(pos + n) * (uint64_t)dim;
    return work < (1u << 15) ? NULL : s->pool;
}

// ---- standard attention (GQA, optional q/k norm, biases) ---------------------------

typedef struct attn_job {
    const ingot_model *m;
    ingot_state *s;
    int layer, n, pos;
    ingot_gemm_fn dot_keys; // f32 multi-row dot: one query against several keys per call (NULL: none)
    bool avx2;              // the CPU runs AVX2 + FMA (dispatch level in effect)
} attn_job;

// out[0..dim) = Σ_j p[j] · vals[j * v_stride ..]: 64 outputs at a time
// held in registers while the keys stream past (instead of an axpy per key
// that reloads and stores the output every time).
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void weighted_rows_avx2(float *out, const float *p, const float *vals,
                                                                    size_t v_stride, int n, int dim) {
    int d = 0;
    for (; d + 64 <= dim; d += 64) {
        __m256 a[8];
        for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
        for (int j = 0; j < n; j++) {
            const __m256 w = _mm256_set1_ps(p[j]);
            const float *v = vals + (size_t)j * v_stride + d;
            for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * k), a[k]);
        }
        for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + d + 8 * k, a[k]);
    }
    for (; d < dim; d++) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++) acc += p[j] * vals[(size_t)j * v_stride + d];
        out[d] = acc;
    }
}
#endif

static void weighted_rows(bool avx2, float *out, const float *p, const float *vals, size_t v_stride, int n, int dim) {
#if defined(__x86_64__) || defined(__i386__)
    if (avx2) {
        weighted_rows_avx2(out, p, vals, v_stride, n, dim);
        return;
    }
#endif
    (void)avx2;
    memset(out, 0, (size_t)dim * sizeof *out);
    for (int j = 0; j < n; j++) ingot_axpy_f32(out, p[j], vals + (size_t)j * v_stride, dim);
}

// ingot_attend_head with the scores taken INGOT_GEMM_MAX_ROWS keys at a
// time through quantize/'s dispatched f32 multi-row kernel.
static void attend_head_keys(ingot_gemm_fn dot_keys, bool avx2, const float *q, const float *keys, size_t k_stride,
                             const float *vals, size_t v_stride, int first, int n_keys, int dim, float scale,
                             float *scores, float *out) {
    if (!dot_keys) {
        ingot_attend_head(q, keys, k_stride, vals, v_stride, first, n_keys, dim, dim, scale, scores, out);
        return;
    }
    const int n = n_keys - first;
    for (int j = 0; j < n; j += INGOT_GEMM_MAX_ROWS)
        dot_keys(dim, scores + j, 1, q, keys + (size_t)(first + j) * k_stride, k_stride * sizeof(float),
                 n - j < INGOT_GEMM_MAX_ROWS ? n - j : INGOT_GEMM_MAX_ROWS);
    for (int j = 0; j < n; j++) scores[j] *= scale;
    ingot_softmax(scores, n);
    weighted_rows(avx2, out, scores, vals + (size_t)first * v_stride, v_stride, n, dim);
}

static void attn_item(void *ctx, size_t i, int worker) {
    const attn_job *j = ctx;
    const ingot_model_config *c = &j->m->cfg;
    ingot_state *s = j->s;
    const int t = (int)(i / (size_t)c->n_head), h = (int)(i % (size_t)c->n_head);
    const int hd = c->head_dim, kvh = h / (c->n_head / c->n_head_kv), p = j->pos + t;
    const size_t layer_off = (size_t)j->layer * (size_t)s->n_ctx * (size_t)s->kv_row;
    attend_head_keys(j->dot_keys, j->avx2, s->q + ((size_t)t * c->n_head + h) * hd, s->kcache + layer_off + (size_t)kvh * hd,
                     (size_t)s->kv_row, s->vcache + layer_off + (size_t)kvh * hd, (size_t)s->kv_row,
                     first_key(p, j->m->layers[j->layer].sliding_window), p + 1, hd, j->m->attn_scale,
                     worker_scratch(s, worker), s->att_out + ((size_t)t * c->n_head + h) * hd);
}

// Prompt processing: tiles of 16 (token, head) rows of one GQA group
// (runner_avx512.c). Items go out latest tokens first: they see the most
// keys, and the cheap early tiles fill the gaps at the end.
enum { ATTN_TILE = 16 };

static void attn_tile_item(void *ctx, size_t i, int worker) {
    const attn_job *j = ctx;
    const ingot_model_config *c = &j->m->cfg;
    ingot_state *s = j->s;
    const int ratio = c->n_head / c->n_head_kv, rows = j->n * ratio, hd = c->head_dim;
    const int n_tiles = (rows + ATTN_TILE - 1) / ATTN_TILE;
    const int g = (int)(i % (size_t)c->n_head_kv), tile = n_tiles - 1 - (int)(i / (size_t)c->n_head_kv);
    const int r0 = tile * ATTN_TILE, r1 = r0 + ATTN_TILE < rows ? r0 + ATTN_TILE : rows;
    const int window = j->m->layers[j->layer].sliding_window;
    ingot_attn_tile t;
    t.nq = r1 - r0;
    for (int r = r0; r < r1; r++) {
        const int tok = r / ratio, h = g * ratio + r % ratio, p = j->pos + tok;
        const size_t at = ((size_t)tok * c->n_head + h) * hd;
        t.q[r - r0] = s->q + at;
        t.out[r - r0] = s->att_out + at;
        t.lo[r - r0] = first_key(p, window);
        t.hi[r - r0] = p;
    }
    const size_t off = (size_t)j->layer * (size_t)s->n_ctx * (size_t)s->kv_row + (size_t)g * hd;
    ingot_attend_tile(&t, s->kcache + off, s->vcache + off, (size_t)s->kv_row, hd, j->m->attn_scale,
                      worker_scratch(s, worker));
}

// Decoding: the heads of one GQA group of one token together (runner_avx512.c).
static void attn_group_item(void *ctx, size_t i, int worker) {
    const attn_job *j = ctx;
    const ingot_model_config *c = &j->m->cfg;
    ingot_state *s = j->s;
    const int ratio = c->n_head / c->n_head_kv, hd = c->head_dim;
    const int t = (int)(i / (size_t)c->n_head_kv), g = (int)(i % (size_t)c->n_head_kv), p = j->pos + t;
    const size_t off = (size_t)j->layer * (size_t)s->n_ctx * (size_t)s->kv_row + (size_t)g * hd;
    for (int h0 = 0; h0 < ratio; h0 += 4) {
        const float *q[4];
        float *out[4];
        const int nh = ratio - h0 < 4 ? ratio - h0 : 4;
        for (int h = 0; h < nh; h++) {
            const size_t at = ((size_t)t * c->n_head + (size_t)(g * ratio + h0 + h)) * hd;
            q[h] = s->q + at;
            out[h] = s->att_out + at;
        }
        ingot_attend_group(q, out, nh, first_key(p, j->m->layers[j->layer].sliding_window), p, s->kcache + off,
                           s->vcache + off, (size_t)s->kv_row, hd, j->m->attn_scale, worker_scratch(s, worker));
    }
}

static void qk_norm(const ingot_model *m, float *x, int n, int n_heads, const float *w) {
    const int hd = m->cfg.head_dim, dim = n_heads * hd;
    for (int t = 0; t < n; t++) {
        float *row = x + (size_t)t * dim;
        if (m->qk_norm_mode == 2) {
            ingot_rmsnorm(row, row, w, dim, m->cfg.norm_eps);
        } else {
            for (int h = 0; h < n_heads; h++) ingot_rmsnorm(row + h * hd, row + h * hd, w, hd, m->cfg.norm_eps);
        }
    }
}

static void attention_gqa(const ingot_model *m, ingot_state *s, int l, int n, int pos) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const int E = c->n_embd, hd = c->head_dim, qd = c->n_head * hd, kd = c->n_head_kv * hd;
    const ingot_mm_op qkv[3] = {{&L->wq, s->xb, (size_t)E, n, s->q, (size_t)qd},
                                {&L->wk, s->xb, (size_t)E, n, s->k, (size_t)kd},
                                {&L->wv, s->xb, (size_t)E, n, s->v, (size_t)kd}};
    ingot_matmul_ops(s, qkv, 3);
    add_bias(s->q, L->bq, n, qd);
    add_bias(s->k, L->bk, n, kd);
    add_bias(s->v, L->bv, n, kd);
    if (m->qk_norm_mode) {
        qk_norm(m, s->q, n, c->n_head, L->q_norm);
        qk_norm(m, s->k, n, c->n_head_kv, L->k_norm);
    }
    const size_t layer_off = (size_t)l * (size_t)s->n_ctx * (size_t)s->kv_row;
    for (int t = 0; t < n; t++) {
        const float *cs = s->rope_cs + (size_t)t * m->rope.dim;
        for (int h = 0; h < c->n_head; h++) ingot_rope_apply(&m->rope, s->q + (size_t)t * qd + h * hd, cs);
        for (int h = 0; h < c->n_head_kv; h++) ingot_rope_apply(&m->rope, s->k + (size_t)t * kd + h * hd, cs);
        memcpy(s->kcache + layer_off + (size_t)(pos + t) * kd, s->k + (size_t)t * kd, (size_t)kd * sizeof(float));
        memcpy(s->vcache + layer_off + (size_t)(pos + t) * kd, s->v + (size_t)t * kd, (size_t)kd * sizeof(float));
    }
    attn_job j = {m, s, l, n, pos, ingot_quant_gemm_get(INGOT_DTYPE_F32), ingot_simd_get() >= INGOT_SIMD_AVX2};
    if (n > 1 && ingot_attend_tile_ok(hd)) {
        const size_t tiles = ((size_t)n * (size_t)(c->n_head / c->n_head_kv) + ATTN_TILE - 1) / ATTN_TILE;
        ingot_pool_run(attn_pool(s, n, pos, c->n_head, hd), tiles * (size_t)c->n_head_kv, attn_tile_item, &j);
    } else if (ingot_attend_tile_ok(hd)) {
        ingot_pool_run(attn_pool(s, n, pos, c->n_head, hd), (size_t)c->n_head_kv, attn_group_item, &j);
    } else {
        ingot_pool_run(attn_pool(s, n, pos, c->n_head, hd), (size_t)n * (size_t)c->n_head, attn_item, &j);
    }
    ingot_matmul(s, &L->wo, s->att_out, (size_t)qd, n, s->xb2, (size_t)E);
    add_bias(s->xb2, L->bo, n, E);
}

// ---- MLA (DeepSeek-V2/V3) ------------------------------------------------------------
// The cache holds, per position, the normalised latent c [kv_lora] and the
// roped shared key k_pe [rope]. Naive: K_nope and V of every position are
// decompressed with kv_b. Absorbed: q_nope is folded through kv_b's key rows
// into latent space and the output through its value rows, so attention
// runs on the latents directly (DeepSeek-V2 paper §2.1.2).

static void mla_item_naive(void *ctx, size_t i, int worker) {
    const attn_job *j = ctx;
    const ingot_model_config *c = &j->m->cfg;
    ingot_state *s = j->s;
    const int t = (int)(i / (size_t)c->n_head), h = (int)(i % (size_t)c->n_head), p = j->pos + t;
    const int nope = c->qk_nope_head_dim, rope = c->qk_rope_head_dim, vd = c->v_head_dim, kvl = c->kv_lora_rank;
    const size_t kvw = (size_t)c->n_head * (size_t)(nope + vd);
    const float *q = s->q + ((size_t)t * c->n_head + h) * (size_t)(nope + rope);
    const float *cache = s->kcache + (size_t)j->layer * (size_t)s->n_ctx * (size_t)s->kv_row;
    const float *kv = s->kv_full + (size_t)h * (size_t)(nope + vd);
    float *sc = worker_scratch(s, worker), *out = s->att_out + ((size_t)t * c->n_head + h) * vd;
    const int first = first_key(p, j->m->layers[j->layer].sliding_window), nk = p + 1 - first;
    for (int k = 0; k < nk; k++) {
        const int jj = first + k;
        sc[k] = (ingot_dot_f32(q, kv + (size_t)jj * kvw, nope) +
                 ingot_dot_f32(q + nope, cache + (size_t)jj * s->kv_row + kvl, rope)) * j->m->attn_scale;
    }
    ingot_softmax(sc, nk);
    memset(out, 0, (size_t)vd * sizeof *out);
    for (int k = 0; k < nk; k++) ingot_axpy_f32(out, sc[k], kv + (size_t)(first + k) * kvw + nope, vd);
}

static void mla_item_absorbed(void *ctx, size_t i, int worker) {
    const attn_job *j = ctx;
    const ingot_model_config *c = &j->m->cfg;
    const ingot_layer *L = &j->m->layers[j->layer];
    ingot_state *s = j->s;
    const int t = (int)(i / (size_t)c->n_head), h = (int)(i % (size_t)c->n_head), p = j->pos + t;
    const int nope = c->qk_nope_head_dim, rope = c->qk_rope_head_dim, vd = c->v_head_dim, kvl = c->kv_lora_rank;
    const float *q = s->q + ((size_t)t * c->n_head + h) * (size_t)(nope + rope);
    const float *cache = s->kcache + (size_t)j->layer * (size_t)s->n_ctx * (size_t)s->kv_row;
    const int first = first_key(p, L->sliding_window), nk = p + 1 - first;
    float *sc = worker_scratch(s, worker), *q_abs = sc + s->n_ctx, *row = q_abs + kvl, *o_lat = row + kvl;
    float *out = s->att_out + ((size_t)t * c->n_head + h) * vd;
    const int64_t r0 = (int64_t)h * (nope + vd);
    memset(q_abs, 0, (size_t)kvl * sizeof *q_abs);
    for (int d = 0; d < nope; d++) { // q_abs = W_UK[h]^T q_nope
        ingot_mat_row_f32(&L->wkv_b, r0 + d, row);
        ingot_axpy_f32(q_abs, q[d], row, kvl);
    }
    for (int k = 0; k < nk; k++) {
        const float *cr = cache + (size_t)(first + k) * s->kv_row;
        sc[k] = (ingot_dot_f32(q_abs, cr, kvl) + ingot_dot_f32(q + nope, cr + kvl, rope)) * j->m->attn_scale;
    }
    ingot_softmax(sc, nk);
    memset(o_lat, 0, (size_t)kvl * sizeof *o_lat);
    for (int k = 0; k < nk; k++) ingot_axpy_f32(o_lat, sc[k], cache + (size_t)(first + k) * s->kv_row, kvl);
    for (int d = 0; d < vd; d++) { // out = W_UV[h] o_lat
        ingot_mat_row_f32(&L->wkv_b, r0 + nope + d, row);
        out[d] = ingot_dot_f32(row, o_lat, kvl);
    }
}

// q_a_layernorm and kv_a_layernorm are built without the config's eps in
// transformers' DeepseekV2/V3 (and DeepSeek's own code): RMSNorm's default.
#define MLA_NORM_EPS 1e-6f

static void attention_mla(const ingot_model *m, ingot_state *s, int l, int n, int pos) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const int E = c->n_embd, nope = c->qk_nope_head_dim, rope = c->qk_rope_head_dim, kvl = c->kv_lora_rank;
    const int qd = c->n_head * (nope + rope), vd = c->n_head * c->v_head_dim;
    if (c->q_lora_rank > 0) {
        const int r = c->q_lora_rank;
        ingot_matmul(s, &L->wq_a, s->xb, (size_t)E, n, s->k, (size_t)r);
        for (int t = 0; t < n; t++) {
            float *row = s->k + (size_t)t * r;
            ingot_rmsnorm(row, row, L->q_a_norm, r, MLA_NORM_EPS);
        }
        ingot_matmul(s, &L->wq_b, s->k, (size_t)r, n, s->q, (size_t)qd);
    } else {
        ingot_matmul(s, &L->wq_b, s->xb, (size_t)E, n, s->q, (size_t)qd);
    }
    ingot_matmul(s, &L->wkv_a, s->xb, (size_t)E, n, s->k, (size_t)(kvl + rope));
    float *cache = s->kcache + (size_t)l * (size_t)s->n_ctx * (size_t)s->kv_row;
    for (int t = 0; t < n; t++) {
        const float *cs = s->rope_cs + (size_t)t * m->rope.dim;
        float *dst = cache + (size_t)(pos + t) * s->kv_row;
        ingot_rmsnorm(dst, s->k + (size_t)t * (kvl + rope), L->kv_a_norm, kvl, MLA_NORM_EPS);
        memcpy(dst + kvl, s->k + (size_t)t * (kvl + rope) + kvl, (size_t)rope * sizeof(float));
        ingot_rope_apply(&m->rope, dst + kvl, cs);
        float *q_pe = s->q + (size_t)t * qd + nope; // rope part of head 0
        for (int h = 0; h < c->n_head; h++) ingot_rope_apply(&m->rope, q_pe + h * (nope + rope), cs);
    }
    const bool absorbed = s->mla_mode == INGOT_MLA_ABSORBED || (s->mla_mode == INGOT_MLA_AUTO && n == 1);
    attn_job j = {m, s, l, n, pos, NULL, false};
    if (!absorbed) {
        const int kvw = c->n_head * (nope + c->v_head_dim);
        ingot_matmul(s, &L->wkv_b, cache, (size_t)s->kv_row, pos + n, s->kv_full, (size_t)kvw);
    }
    ingot_pool_run(attn_pool(s, n, pos, c->n_head, kvl + rope), (size_t)n * (size_t)c->n_head,
                   absorbed ? mla_item_absorbed : mla_item_naive, &j);
    ingot_matmul(s, &L->wo, s->att_out, (size_t)vd, n, s->xb2, (size_t)E);
}

// ---- feed-forward -------------------------------------------------------------------

// y[n, E] = down(silu(gate x) * up x), intermediate width f.
static void ffn_swiglu(ingot_state *s, const ingot_mat *gate, const ingot_mat *up, const ingot_mat *down,
                       const float *x, int n, float *y) {
    const int E = s->m->cfg.n_embd, f = (int)gate->rows;
    const ingot_mm_op gate_up[2] = {{gate, x, (size_t)E, n, s->hb, (size_t)f},
                                    {up, x, (size_t)E, n, s->hb2, (size_t)f}};
    ingot_matmul_ops(s, gate_up, 2);
    swiglu(s->hb, s->hb2, (size_t)n * (size_t)f);
    ingot_matmul(s, down, s->hb, (size_t)f, n, y, (size_t)E);
}

static void moe_route_all(const ingot_model *m, ingot_state *s, int l, int n) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const int ne = c->n_expert, k = c->n_expert_used;
    const ingot_route_params rp = {.n_expert = ne, .k = k, .sigmoid = c->moe_sigmoid, .norm = c->norm_topk_prob,
                                   .scale = c->routed_scaling_factor, .n_group = c->n_group,
                                   .topk_group = c->topk_group, .group_mode = m->topk_group_mode,
                                   .bias = L->exp_probs_b};
    ingot_matmul(s, &L->gate_inp, s->xb, (size_t)c->n_embd, n, s->router, (size_t)ne);
    for (int t = 0; t < n; t++)
        ingot_moe_route(&rp, s->router + (size_t)t * ne, s->sel + (size_t)t * k, s->selw + (size_t)t * k,
                        worker_scratch(s, 0));
    if (s->cap_experts)
        memcpy(s->cap_experts + (size_t)l * n * k, s->sel, (size_t)n * k * sizeof(int32_t));
    if (s->cap_weights) memcpy(s->cap_weights + (size_t)l * n * k, s->selw, (size_t)n * k * sizeof(float));
    // Counting sort of (token, weight) pairs by expert.
    memset(s->exp_count, 0, (size_t)(ne + 1) * sizeof(int32_t));
    for (int i = 0; i < n * k; i++) s->exp_count[s->sel[i] + 1]++;
    for (int e = 0; e < ne; e++) s->exp_count[e + 1] += s->exp_count[e];
    for (int i = 0; i < n * k; i++) {
        const int e = s->sel[i], at = s->exp_count[e]++;
        s->exp_tok[at] = i / k;
        s->exp_w[at] = s->selw[i];
    }
    for (int e = ne; e > 0; e--) s->exp_count[e] = s->exp_count[e - 1];
    s->exp_count[0] = 0;
}

// Decode step (one token): every selected expert and the shared expert run
// as two pool jobs (gate/up, then down). hb/hb2: [k * n_ff_exp + n_ff_shexp],
// ye: [k + 1, E].
static void moe_decode(const ingot_model *m, ingot_state *s, int l) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const int k = c->n_expert_used, F = c->n_ff_exp, S = L->shexp_up.data ? c->n_ff_shexp : 0;
    const size_t E = (size_t)c->n_embd, sh = (size_t)k * F;
    ingot_mm_op up[2 * INGOT_RUNNER_MAX_EXPERT_USED + 3], down[INGOT_RUNNER_MAX_EXPERT_USED + 1];
    int n_up = 0, n_down = 0;
    for (int j = 0; j < k; j++) {
        const int e = s->sel[j];
        up[n_up++] = (ingot_mm_op){&L->exp.gate[e], s->xb, E, 1, s->hb + (size_t)j * F, (size_t)F};
        up[n_up++] = (ingot_mm_op){&L->exp.up[e], s->xb, E, 1, s->hb2 + (size_t)j * F, (size_t)F};
        down[n_down++] = (ingot_mm_op){&L->exp.down[e], s->hb + (size_t)j * F, (size_t)F, 1, s->ye + j * E, E};
    }
    if (S) {
        up[n_up++] = (ingot_mm_op){&L->shexp_gate, s->xb, E, 1, s->hb + sh, (size_t)S};
        up[n_up++] = (ingot_mm_op){&L->shexp_up, s->xb, E, 1, s->hb2 + sh, (size_t)S};
        down[n_down++] = (ingot_mm_op){&L->shexp_down, s->hb + sh, (size_t)S, 1, s->ye + (size_t)k * E, E};
        if (L->gate_inp_shexp.data) up[n_up++] = (ingot_mm_op){&L->gate_inp_shexp, s->xb, E, 1, s->router, 1};
    }
    ingot_matmul_ops(s, up, n_up);
    swiglu(s->hb, s->hb2, sh + (size_t)S);
    ingot_matmul_ops(s, down, n_down);
    const float g = !S ? 0.0f : L->gate_inp_shexp.data ? 1.0f / (1.0f + expf(-s->router[0])) : 1.0f;
    for (size_t d = 0; d < E; d++) {
        float acc = 0;
        for (int j = 0; j < k; j++) acc += s->selw[j] * s->ye[j * E + d];
        s->xb2[d] = acc + (S ? g * s->ye[(size_t)k * E + d] : 0.0f);
    }
}

static void moe(const ingot_model *m, ingot_state *s, int l, int n) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const size_t E = (size_t)c->n_embd;
    moe_route_all(m, s, l, n);
    if (n == 1) {
        moe_decode(m, s, l);
        return;
    }
    memset(s->xb2, 0, (size_t)n * E * sizeof(float));
    // Only the selected experts run, each on the tokens routed to it. As
    // many experts as the buffers hold (n_batch gathered rows) go to the
    // pool together: one job for their gate/up products, one for down.
    const int F = c->n_ff_exp;
    int e = 0;
    while (e < c->n_expert) {
        ingot_mm_op up[2 * INGOT_RUNNER_MAX_EXPERT_USED], down[INGOT_RUNNER_MAX_EXPERT_USED];
        int n_down = 0, rows = 0;
        const int g0 = s->exp_count[e];
        for (; e < c->n_expert && n_down < INGOT_RUNNER_MAX_EXPERT_USED; e++) {
            const int a = s->exp_count[e], cnt = s->exp_count[e + 1] - a;
            if (cnt == 0) continue;
            if (rows + cnt > s->n_batch) break; // cnt ≤ n ≤ n_batch: a group always takes one expert
            float *xe = s->xe + (size_t)rows * E, *h = s->hb + (size_t)rows * F, *h2 = s->hb2 + (size_t)rows * F;
            for (int i = 0; i < cnt; i++) memcpy(xe + i * E, s->xb + (size_t)s->exp_tok[a + i] * E, E * sizeof(float));
            up[2 * n_down] = (ingot_mm_op){&L->exp.gate[e], xe, E, cnt, h, (size_t)F};
            up[2 * n_down + 1] = (ingot_mm_op){&L->exp.up[e], xe, E, cnt, h2, (size_t)F};
            down[n_down++] = (ingot_mm_op){&L->exp.down[e], h, (size_t)F, cnt, s->ye + (size_t)rows * E, E};
            rows += cnt;
        }
        ingot_matmul_ops(s, up, 2 * n_down);
        swiglu(s->hb, s->hb2, (size_t)rows * (size_t)F);
        ingot_matmul_ops(s, down, n_down);
        for (int i = 0; i < rows; i++) // the group's (token, weight) pairs are contiguous from g0
            ingot_axpy_f32(s->xb2 + (size_t)s->exp_tok[g0 + i] * E, s->exp_w[g0 + i], s->ye + i * E, (int)E);
    }
    if (!L->shexp_up.data) return;
    ffn_swiglu(s, &L->shexp_gate, &L->shexp_up, &L->shexp_down, s->xb, n, s->ye);
    float *gate = s->router; // reused: routing is done
    if (L->gate_inp_shexp.data) ingot_matmul(s, &L->gate_inp_shexp, s->xb, E, n, gate, 1);
    for (int t = 0; t < n; t++) {
        const float g = L->gate_inp_shexp.data ? 1.0f / (1.0f + expf(-gate[t])) : 1.0f;
        for (size_t d = 0; d < E; d++) s->xb2[t * E + d] += g * s->ye[t * E + d];
    }
}

// ---- the whole model --------------------------------------------------------------------

static void norm_rows(float *out, const float *x, const float *w, int n, int dim, float eps) {
    for (int t = 0; t < n; t++) ingot_rmsnorm(out + (size_t)t * dim, x + (size_t)t * dim, w, dim, eps);
}

static void capture_hidden(ingot_state *s, int slot, const float *src, int n) {
    if (!s->cap_hidden) return;
    const size_t sz = (size_t)n * (size_t)s->m->cfg.n_embd;
    memcpy(s->cap_hidden + (size_t)slot * sz, src, sz * sizeof(float));
}

static ingot_status layer_forward(const ingot_model *m, ingot_state *s, int l, const int32_t *tokens, int n, int pos,
                                  ingot_err *err) {
    const ingot_model_config *c = &m->cfg;
    const ingot_layer *L = &m->layers[l];
    const size_t nE = (size_t)n * (size_t)c->n_embd;
    if (L->has_engram) { // Engram: h = h + Engram(h, token ids), before attention
        INGOT_FAIL_IF(!m->engram_forward, err, INGOT_E_UNSUPPORTED, "layer %d: Engram is not supported by this build",
                      l);
        INGOT_FORWARD_IF_ERROR(m->engram_forward(m, s, l, s->x, tokens, n, pos, err));
    }
    norm_rows(s->xb, s->x, L->attn_norm, n, c->n_embd, c->norm_eps);
    if (c->is_mla) attention_mla(m, s, l, n, pos);
    else attention_gqa(m, s, l, n, pos);
    for (size_t i = 0; i < nE; i++) s->x[i] += s->xb2[i];
    norm_rows(s->xb, s->x, L->ffn_norm, n, c->n_embd, c->norm_eps);
    if (L->is_moe) {
        moe(m, s, l, n);
    } else {
        ffn_swiglu(s, &L->ffn_gate, &L->ffn_up, &L->ffn_down, s->xb, n, s->xb2);
        if (s->cap_experts)
            for (size_t i = 0; i < (size_t)n * (size_t)c->n_expert_used; i++)
                s->cap_experts[(size_t)l * n * c->n_expert_used + i] = -1;
    }
    for (size_t i = 0; i < nE; i++) s->x[i] += s->xb2[i];
    if (l + 1 < c->n_layer) capture_hidden(s, l + 1, s->x, n);
    return INGOT_OK;
}

ingot_status ingot_model_forward(const ingot_model *m, ingot_state *s, const int32_t *tokens, int n, int pos,
                                 unsigned flags, ingot_err *err) {
    INGOT_FAIL_IF(!m || !s || s->m != m || !tokens, err, INGOT_E_ARG, "forward: bad arguments");
    const ingot_model_config *c = &m->cfg;
    INGOT_FAIL_IF(n < 1 || n > s->n_batch, err, INGOT_E_ARG, "forward: %d tokens, batch holds 1..%d", n, s->n_batch);
    INGOT_FAIL_IF(pos < 0 || pos > s->n_past || pos + n > s->n_ctx, err, INGOT_E_ARG,
                  "forward: positions %d..%d, cache holds %d of %d", pos, pos + n - 1, s->n_past, s->n_ctx);
    for (int t = 0; t < n; t++)
        INGOT_FAIL_IF(tokens[t] < 0 || tokens[t] >= c->n_vocab, err, INGOT_E_ARG,
                      "forward: token %d at index %d is outside the vocabulary of %d", tokens[t], t, c->n_vocab);
    // Engram rows depend only on token ids: start reading them now, while the
    // layers before the first Engram layer compute (runner/engram_model.c).
    if (m->engram_ctx) ingot_engram_model_prefetch(m->engram_ctx, tokens, n);
    const size_t E = (size_t)c->n_embd;
    for (int t = 0; t < n; t++) {
        ingot_mat_row_f32(&m->tok_embd, tokens[t], s->x + (size_t)t * E);
        ingot_rope_cos_sin(&m->rope, pos + t, s->rope_cs + (size_t)t * m->rope.dim);
    }
    capture_hidden(s, 0, s->x, n);
    for (int l = 0; l < c->n_layer; l++) {
        const ingot_status st = layer_forward(m, s, l, tokens, n, pos, err);
        if (st) return st;
    }
    s->n_past = pos + n;
    norm_rows(s->xb, s->x, m->output_norm, n, c->n_embd, c->norm_eps);
    capture_hidden(s, c->n_layer, s->xb, n);
    const bool all = flags & INGOT_FORWARD_ALL_LOGITS;
    s->n_logits = all ? n : 1;
    ingot_matmul(s, &m->output, all ? s->xb : s->xb + (size_t)(n - 1) * E, E, s->n_logits, s->logits,
                 (size_t)c->n_vocab);
    return INGOT_OK;
}
