// runner/: a minimal CPU engine that runs a .ingot straight from its mmap
// (weights used in place, never dequantized as a whole) to prove that the
// converted file computes what the source checkpoint computed.
//
// Supported: Llama / Mistral / Qwen2 / Qwen3 dense, Qwen2-MoE, Qwen3-MoE,
// Mixtral, OLMoE, DeepSeek-V2 / V3 (MLA, grouped routing), Engram layers
// through runner/engram_*.c. The model description is docs/MODEL.md.
//
// Call sequence:
//   1. ingot_model_open(path)                  — mmap, parse metadata, bind tensors
//   2. ingot_pool_create(n_threads) (optional)  — matmul rows are split across it
//   3. ingot_state_create(model, n_ctx, n_batch) — KV cache + activations, one arena
//   4. ingot_model_forward(tokens, n, pos)      — prompt (n > 1) or decode (n = 1);
//      logits of the last token or of every token come back in the state
//   5. ingot_sampler_create / ingot_sampler_sample for generation
//   6. ingot_state_free, ingot_pool_free, ingot_model_close
//
// Nothing allocates inside ingot_model_forward.
#ifndef INGOT_RUNNER_H
#define INGOT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ingot_model ingot_model;
typedef struct ingot_state ingot_state;
typedef struct ingot_sampler ingot_sampler;
typedef struct ingot_container ingot_container;

#define INGOT_RUNNER_MAX_EXPERT_USED 64

// Hyper-parameters read from the metadata (docs/MODEL.md `hparams`), after
// defaults are applied. Owned by the model; valid until ingot_model_close.
typedef struct ingot_model_config {
    char arch[32];
    int n_vocab, n_embd, n_layer;
    int n_head, n_head_kv, head_dim;  // attention heads; head_dim for q/k/v (non-MLA)
    int n_ff;                         // dense FFN width
    float norm_eps;
    int max_pos;
    bool tie_embeddings;
    // MLA (DeepSeek-V2/V3); is_mla false otherwise
    bool is_mla;
    int q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    // MoE; n_expert 0 when dense
    int n_expert, n_expert_used, n_ff_exp, n_shared_expert, n_ff_shexp;
    int n_group, topk_group;
    bool moe_sigmoid;                 // DeepSeek-V3 scoring
    bool norm_topk_prob;
    float routed_scaling_factor;
    int n_bos;                        // bos_token_id or -1
    int n_eos;                        // entries used in eos[]
    int eos[8];                       // generation.eos_token_ids
} ingot_model_config;

// ---- model ------------------------------------------------------------------

// Open a .ingot for inference (mmap). Every tensor the metadata implies is
// looked up and its dtype and dims checked; a missing or misshapen tensor is
// INGOT_E_FORMAT naming the tensor.
// @return INGOT_OK, INGOT_E_IO, INGOT_E_FORMAT, INGOT_E_UNSUPPORTED (arch,
//         dtype without kernels), INGOT_E_NOMEM, plus the container's codes.
ingot_status ingot_model_open(const char *path, ingot_model **out, ingot_err *err);
// As above on an already opened container (borrowed: must outlive the model).
ingot_status ingot_model_open_container(ingot_container *c, ingot_model **out, ingot_err *err);
void ingot_model_close(ingot_model *m);
// Borrowed until close.
const ingot_model_config *ingot_model_get_config(const ingot_model *m);
// Bytes of weights read to compute one decode token (all dense weights, the
// n_expert_used routed experts per MoE layer, the output head); used for the
// memory-bandwidth bound.
uint64_t ingot_model_decode_bytes(const ingot_model *m);
// The underlying container (tokenizer blob lookups); borrowed.
const ingot_container *ingot_model_container(const ingot_model *m);

// ---- state ------------------------------------------------------------------

// Modes of the MLA attention (DeepSeek): naive decompresses K/V for every
// cached position; absorbed folds kv_b into q and the output instead.
typedef enum ingot_mla_mode {
    INGOT_MLA_AUTO = 0,     // absorbed for decode (n = 1), naive for prompts
    INGOT_MLA_NAIVE = 1,
    INGOT_MLA_ABSORBED = 2,
} ingot_mla_mode;

// Build the run state: KV cache for n_ctx positions, activation buffers for
// up to n_batch tokens per forward call, all in one arena sized up front.
// pool (borrowed, may be NULL) runs the matmuls.
// @return INGOT_OK, INGOT_E_ARG (n_ctx or n_batch ≤ 0), INGOT_E_NOMEM, INGOT_E_LIMIT.
ingot_status ingot_state_create(const ingot_model *m, int n_ctx, int n_batch, ingot_pool *pool,
                                ingot_state **out, ingot_err *err);
void ingot_state_free(ingot_state *s);
// Forget the cached positions (memory kept).
void ingot_state_reset(ingot_state *s);
void ingot_state_set_mla_mode(ingot_state *s, ingot_mla_mode mode);

// Capture buffers for the next forward calls (NULL disables). Both are
// caller-owned and must hold the call's n tokens:
//   hidden:  [n_layer + 1, n, n_embd] f32 — embeddings, the residual stream
//            after each layer but the last, then the final-norm output (the
//            layout of HF output_hidden_states / fixtures' hidden_states.f32)
//   experts: [n_layer, n, n_expert_used] int32 — routed experts chosen per
//            token (in selection order), -1 for dense layers
//   weights: [n_layer, n, n_expert_used] f32 — their mixing weights (may be NULL)
void ingot_state_set_capture(ingot_state *s, float *hidden, int32_t *experts, float *weights);

// Flags of ingot_model_forward.
#define INGOT_FORWARD_ALL_LOGITS 1u // logits for every token, else the last only

// Run n tokens (1 ≤ n ≤ n_batch) at positions pos..pos+n-1; the cache must
// hold positions 0..pos-1 from earlier calls (pos + n ≤ n_ctx).
// Logits: [n or 1, n_vocab] f32 readable with ingot_state_logits until the
// next forward.
// @return INGOT_OK, INGOT_E_ARG (token out of range, n or pos out of range),
//         INGOT_E_UNSUPPORTED (a layer feature this build lacks).
ingot_status ingot_model_forward(const ingot_model *m, ingot_state *s, const int32_t *tokens, int n, int pos,
                                 unsigned flags, ingot_err *err);
// Ephemeral: the logits of the last forward ([n_rows, n_vocab]).
const float *ingot_state_logits(const ingot_state *s, int *n_rows /* out */);

// ---- sampling -----------------------------------------------------------------

typedef struct ingot_sampler_params {
    float temperature; // ≤ 0: greedy (argmax)
    int top_k;         // ≤ 0: off
    float top_p;       // ≥ 1: off
    uint64_t seed;
} ingot_sampler_params;

ingot_status ingot_sampler_create(int n_vocab, const ingot_sampler_params *p, ingot_sampler **out, ingot_err *err);
void ingot_sampler_free(ingot_sampler *s);
// Pick the next token from logits [n_vocab]. No allocation.
int32_t ingot_sampler_sample(ingot_sampler *s, const float *logits);
// Index of the largest value (first on ties).
int32_t ingot_argmax(const float *x, int n);
bool ingot_model_is_eos(const ingot_model *m, int32_t token);

// ---- token ids -------------------------------------------------------------------

// Parse token ids from `spec`: a path to a JSON file holding an array of ids
// (or an object with an "input_ids" or "tokens" array, the fixtures' form),
// or else a comma-separated list ("1,2,3").
// *out is heap memory (free with ingot_free), *n its length (≥ 1).
// @return INGOT_OK, INGOT_E_IO, INGOT_E_FORMAT (not ids, or an id < 0), INGOT_E_NOMEM.
ingot_status ingot_tokens_parse(const char *spec, int32_t **out /* out */, size_t *n /* out */, ingot_err *err);

// ---- metrics (perplexity, KL-divergence against a base run) -------------------
// Definitions follow llama.cpp llama-perplexity (KLD PR #5076, #5081).

// log-softmax of logits [n] into out [n] (may alias); computed in double.
void ingot_log_softmax(const float *logits, int n, float *out);

typedef struct ingot_metrics {
    // per-position samples, caller-owned arrays of capacity cap (may be NULL
    // when only perplexity is wanted)
    float *kld;        // [cap] KL(base || this) per position
    float *dp;         // [cap] p_this(correct) - p_base(correct)
    size_t cap, n;
    // running sums
    double nll, nll_base;   // Σ -log p(correct)
    double kld_sum, kld_max, dp2_sum;
    uint64_t n_same_top;
    uint64_t n_tokens;
} ingot_metrics;

// Account one position: logits of this model [n_vocab], optionally of the
// base model (NULL: perplexity only), and the correct next token.
// scratch: [2 * n_vocab] floats.
void ingot_metrics_add(ingot_metrics *mt, const float *logits, const float *base_logits, int n_vocab,
                       int32_t target, float *scratch);

typedef struct ingot_metrics_summary {
    double ppl, ppl_base, delta_ppl;
    double kld_mean, kld_p99, kld_max;
    double same_top;        // fraction of positions whose top-1 agrees
    double rms_dp;          // sqrt(mean Δp²)
} ingot_metrics_summary;

// Summarise; sorts mt->kld in place for percentiles.
void ingot_metrics_summarize(ingot_metrics *mt, ingot_metrics_summary *out);
// Value at percentile p in [0, 100] of sorted x[n] (linear interpolation).
double ingot_percentile_sorted(const float *x, size_t n, double p);

#ifdef __cplusplus
}
#endif
#endif
