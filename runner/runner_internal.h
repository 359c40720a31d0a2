// Internal structures of the runner: the model (weights bound in place in
// the mmap), the run state (one arena), and the kernels the forward pass is
// built from. Private to runner/.
#ifndef INGOT_RUNNER_INTERNAL_H
#define INGOT_RUNNER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/dtype.h"
#include "ingot/quantize.h"
#include "ingot/runner.h"

// ---- weights ------------------------------------------------------------------

// A 2-D weight [rows, cols] used in place: rows are output features. data
// points into the mmap. qt is NULL only for f8_e4m3_b128, whose rows are
// decoded with ingot_b128_dequantize_row.
typedef struct ingot_mat {
    const void *data;   // NULL when the tensor is absent
    ingot_dtype dtype;
    int64_t rows, cols;
    size_t row_bytes;   // bytes of one row (0 for f8_e4m3_b128)
    const ingot_quant_traits *qt;
} ingot_mat;

// Routed experts of one MoE layer, each a SwiGLU FFN.
typedef struct ingot_experts {
    ingot_mat *gate;    // [n_expert] of [n_ff_exp, n_embd]
    ingot_mat *up;      // [n_expert] of [n_ff_exp, n_embd]
    ingot_mat *down;    // [n_expert] of [n_embd, n_ff_exp]
} ingot_experts;

// One decoder layer. Small vectors (norms, biases) are decoded to f32 at open
// into the model's vector arena; matrices stay in the mmap.
typedef struct ingot_layer {
    const float *attn_norm;          // [n_embd]
    // standard attention
    ingot_mat wq;                    // [n_head * head_dim, n_embd]
    ingot_mat wk, wv;                // [n_head_kv * head_dim, n_embd]
    ingot_mat wo;                    // [n_embd, n_head * v_dim]
    const float *bq, *bk, *bv, *bo;  // biases or NULL
    const float *q_norm, *k_norm;    // [head_dim], or [n_head(_kv) * head_dim] when full
    // MLA
    ingot_mat wq_a;                  // [q_lora_rank, n_embd] (q_lora_rank > 0)
    const float *q_a_norm;           // [q_lora_rank]
    ingot_mat wq_b;                  // [n_head * (nope + rope), q_lora_rank]; wq when no q_lora
    ingot_mat wkv_a;                 // [kv_lora_rank + rope, n_embd]
    const float *kv_a_norm;          // [kv_lora_rank]
    ingot_mat wkv_b;                 // [n_head * (nope + v), kv_lora_rank]
    // feed-forward
    const float *ffn_norm;           // [n_embd]
    bool is_moe;
    ingot_mat ffn_gate, ffn_up;      // dense: [n_ff, n_embd]
    ingot_mat ffn_down;              // dense: [n_embd, n_ff]
    ingot_mat gate_inp;              // router [n_expert, n_embd]
    const float *exp_probs_b;        // [n_expert] selection bias (DeepSeek-V3) or NULL
    ingot_experts exp;
    ingot_mat shexp_gate, shexp_up;  // [n_ff_shexp, n_embd] (absent: data NULL)
    ingot_mat shexp_down;            // [n_embd, n_ff_shexp]
    ingot_mat gate_inp_shexp;        // [1, n_embd] Qwen2-MoE sigmoid gate on the shared expert
    int sliding_window;              // 0: full causal attention
    // Engram (docs/ENGRAM.md): runner/engram_*.c owns what engram points to.
    bool has_engram;
    void *engram;
} ingot_layer;

// Engram call site: h[n, n_embd] += Engram(h, tokens) for layer l, before
// attention. Installed by runner/engram_*.c; NULL in builds without it.
typedef ingot_status (*ingot_engram_forward_fn)(const ingot_model *m, ingot_state *s, int layer, float *h,
                                                const int32_t *tokens, int n, int pos, ingot_err *err);

typedef enum ingot_rope_kind {
    INGOT_ROPE_NONE = 0,
    INGOT_ROPE_LINEAR,
    INGOT_ROPE_LLAMA3,
    INGOT_ROPE_YARN,
} ingot_rope_kind;

// Rotary embedding, resolved at open.
typedef struct ingot_rope {
    int dim;                         // rotated dims per head (even)
    bool interleave;                 // pairs (2i, 2i+1) instead of (i, i + dim/2)
    float inv_freq[256];             // [dim / 2] per-pair frequency after scaling
    float attn_factor;               // YaRN cos/sin multiplier (1 otherwise)
} ingot_rope;

struct ingot_model {
    ingot_model_config cfg;
    ingot_container *c;              // owned when opened by path
    bool owns_container;
    ingot_mat tok_embd;              // [n_vocab, n_embd]
    const float *output_norm;        // [n_embd]
    ingot_mat output;                // [n_vocab, n_embd] (tok_embd when tied)
    ingot_layer *layers;             // [n_layer]
    float *vec_arena;                // decoded small vectors
    size_t vec_used, vec_cap;        // floats
    ingot_rope rope;
    float attn_scale;                // softmax scale
    int qk_norm_mode;                // 0 none, 1 per head, 2 full vector
    int topk_group_mode;             // 0 none, 1 max (DeepSeek-V2), 2 sum of top-2 (V3)
    int max_row_cols;                // largest cols of any matrix (activation buffers)
    int max_prep_cols;               // largest cols of a matrix with prepared-activation kernels (0: none)
    ingot_engram_forward_fn engram_forward;
    void *engram_ctx;                // owned by runner/engram_*.c
};

// ---- state ----------------------------------------------------------------------

struct ingot_state {
    const ingot_model *m;
    ingot_pool *pool;
    int n_threads;
    int n_ctx, n_batch;
    int n_past;                      // positions held in the cache
    ingot_mla_mode mla_mode;
    void *arena;                     // every buffer below points into it
    size_t arena_bytes;
    float *x;                        // [n_batch, n_embd] residual stream
    float *xb;                       // [n_batch, n_embd] normed input of a block
    float *xb2;                      // [n_batch, n_embd] block output
    float *q;                        // [n_batch, n_head * qk_dim]
    float *k;                        // [n_batch, max(n_head_kv * head_dim, kv_lora + rope, q_lora)]
    float *v;                        // [n_batch, n_head_kv * head_dim]
    float *att_out;                  // [n_batch, n_head * v_dim]
    float *hb, *hb2;                 // [n_batch, max ffn width]
    float *kcache;                   // [n_layer, n_ctx, kv_row] (MLA: latent + rope key)
    float *vcache;                   // [n_layer, n_ctx, n_head_kv * head_dim] (NULL for MLA)
    int kv_row;                      // floats per cached key row
    float *kv_full;                  // MLA naive: [n_ctx, n_head * (nope + v)]
    float *rope_cs;                  // [n_batch, rope.dim] cos then sin
    float *logits;                   // [n_batch, n_vocab]
    int n_logits;
    uint8_t *actq;                   // quantized activations [actq_rows, actq_row bytes]
    size_t actq_row;                 // bytes reserved per row
    size_t actq_rows;                // rows of actq
    uint8_t *actp;                   // prepared one-token activations [actp_rows, actp_row bytes]
    size_t actp_row, actp_rows;
    uint8_t *actr;                   // prepared prompt rows (compact layout) [actr_rows, actr_row bytes]
    size_t actr_row, actr_rows;
    float *scratch;                  // [n_threads, scratch_per_thread]
    size_t scratch_per_thread;
    // MoE
    float *router;                   // [n_batch, n_expert]
    int32_t *sel;                    // [n_batch, n_expert_used]
    float *selw;                     // [n_batch, n_expert_used]
    int32_t *exp_tok;                // [n_batch * n_expert_used] token ids grouped by expert
    float *exp_w;                    // [n_batch * n_expert_used]
    int32_t *exp_count;              // [n_expert + 1]
    float *xe, *ye;                  // [n_batch, n_embd]
    // capture
    float *cap_hidden;
    int32_t *cap_experts;
    float *cap_weights;
};

// ---- kernels (runner_ops.c) --------------------------------------------------------

void ingot_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
// Resolve rotary parameters: dim, theta, optional scaling from the metadata.
typedef struct ingot_rope_scaling {
    ingot_rope_kind kind;
    double factor;
    double original_max_pos;
    double beta_fast, beta_slow;     // YaRN
    double mscale, mscale_all_dim;   // YaRN
    double low_freq_factor, high_freq_factor; // llama3
} ingot_rope_scaling;
void ingot_rope_init(ingot_rope *r, int dim, double theta, bool interleave, const ingot_rope_scaling *sc);
// YaRN mscale: 0.1 * mscale * ln(factor) + 1 for factor > 1, else 1.
double ingot_yarn_get_mscale(double factor, double mscale);
// cos/sin for one position: cs[0 .. dim/2) cos, cs[dim/2 .. dim) sin (times attn_factor).
void ingot_rope_cos_sin(const ingot_rope *r, int pos, float *cs);
// Rotate the first r->dim values of x in place.
void ingot_rope_apply(const ingot_rope *r, float *x, const float *cs);
void ingot_softmax(float *x, int n);
float ingot_dot_f32(const float *a, const float *b, int n);
void ingot_axpy_f32(float *y, float a, const float *x, int n);

// Attention of one query head over keys 0..n_keys-1 (rows of a cache with
// stride k_stride / v_stride floats): out[v_dim] = softmax(q·k * scale) v.
// scores: [n_keys] scratch.
void ingot_attend_head(const float *q, const float *keys, size_t k_stride, const float *vals, size_t v_stride,
                       int first, int n_keys, int dim, int v_dim, float scale, float *scores, float *out);

// g[i] = silu(g[i]) · u[i] with AVX-512 (runner_avx512.c); false, with
// nothing done, when the dispatch level in effect is below AVX-512.
bool ingot_swiglu_avx512(float *g, const float *u, size_t n);
// ingot_rmsnorm with AVX-512 (runner_avx512.c); false, with nothing done,
// below that dispatch level.
bool ingot_rmsnorm_avx512(float *out, const float *x, const float *w, int n, float eps);

// Attention of up to 16 query rows that share one key/value head
// (runner_avx512.c): row i attends keys lo[i]..hi[i]
// (inclusive) of a cache with stride floats between positions.
typedef struct ingot_attn_tile {
    const float *q[16];              // [head_dim] each
    float *out[16];                  // [head_dim] each
    int lo[16], hi[16];
    int nq;                          // 1..16
} ingot_attn_tile;
// Whether ingot_attend_tile runs here for this head size (CPU and shape).
bool ingot_attend_tile_ok(int head_dim);
// Floats of scratch ingot_attend_tile needs for keys spanning n_keys positions.
size_t ingot_attend_tile_scratch(int head_dim, int n_keys);
void ingot_attend_tile(const ingot_attn_tile *t, const float *keys, const float *vals, size_t stride, int head_dim,
                       float scale, float *scratch);
// One token's nh query heads that share a key/value head (runner_avx512.c,
// AVX-512; runs where ingot_attend_tile_ok): each attends keys lo..hi.
// scratch: ingot_attend_tile_scratch(head_dim, hi - lo + 1) floats.
void ingot_attend_group(const float *const *q, float *const *out, int nh, int lo, int hi, const float *keys,
                        const float *vals, size_t stride, int head_dim, float scale, float *scratch);

// Router: pick k experts from logits [n_expert].
typedef struct ingot_route_params {
    int n_expert, k;
    bool sigmoid;                    // DeepSeek-V3 scores; else softmax
    bool norm;                       // renormalise the k weights to sum 1
    float scale;                     // routed_scaling_factor (1 when none)
    int n_group, topk_group;         // group-limited selection when n_group > 1
    int group_mode;                  // 1: group score = max, 2: sum of top-2
    const float *bias;               // [n_expert] added for selection only, or NULL
} ingot_route_params;
// idx[k], w[k] in selection order; scratch: [2 * n_expert + n_group].
void ingot_moe_route(const ingot_route_params *p, const float *logits, int32_t *idx, float *w, float *scratch);

// Decode one row of any weight type to f32 (embedding lookup, MLA absorption).
void ingot_mat_row_f32(const ingot_mat *w, int64_t r, float *out);

// ---- matmul (runner_matmul.c) -----------------------------------------------------

// One product y[t, 0..rows) = W x[t] for t < n; x rows have stride ldx
// floats, y rows ldy.
typedef struct ingot_mm_op {
    const ingot_mat *w;
    const float *x;
    size_t ldx;
    int n;
    float *y;
    size_t ldy;
} ingot_mm_op;
// Independent products in one pool job (inputs may be shared and are then
// quantized once; outputs must not overlap).
void ingot_matmul_ops(ingot_state *s, const ingot_mm_op *ops, int n_ops);
// y[t, 0..rows) = W x[t] for t < n: x rows have stride ldx floats, y rows ldy.
// Activations are quantized once per row to the weight's vec_dot_type, then
// every weight row is reused across a tile of tokens; rows split across the pool.
void ingot_matmul(ingot_state *s, const ingot_mat *w, const float *x, size_t ldx, int n, float *y, size_t ldy);

#endif
