// convert/: a Hugging Face checkpoint (folder, sharded folder, archive, or one
// .safetensors file plus a config) to one .ingot file, in bounded memory.
//
// Two layers:
//   - the model description: config.json normalised into hparams and the
//     mapping of every source tensor to its canonical name, region and byte
//     range (docs/MODEL.md). verify/ reuses it to pair source and converted
//     tensors.
//   - the conversion: description → type per tensor → writer plan → stream
//     the data (threads), atomic finish.
//
// Call sequence (conversion):
//   1. fill an ingot_convert_opts (zero-initialise, then set src/dst/...)
//   2. ingot_convert(&opts, &report, &err)
//   3. read the report (sizes, bits per weight, plan), then
//      ingot_convert_report_free(&report)
//
// Call sequence (description only):
//   1. ingot_checkpoint_open(src, &ck, &err)
//   2. ingot_model_describe(ck, config_json_or_NULL, n, 0, &model, &err)
//   3. ingot_model_desc_hparams(model), ingot_model_desc_n_tensors(model),
//      ingot_model_desc_tensor(model, i)
//   4. ingot_model_desc_free(model); ingot_checkpoint_close(ck)
#ifndef INGOT_CONVERT_H
#define INGOT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/container.h"
#include "ingot/dtype.h"
#include "ingot/safetensors.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- model description ----------------------------------------------------

// Normalised hyper-parameters (docs/MODEL.md `hparams`). Fields a given
// architecture lacks are 0 / false.
typedef struct ingot_model_hparams {
    char arch[32];            // "llama", "qwen3_moe", "deepseek_v3", ...
    uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    uint32_t max_pos;
    float norm_eps;
    float rope_theta;
    uint32_t rope_dim;        // rotary dims per head
    bool rope_interleave;     // true: (2i, 2i+1) pairs; false: NeoX halves
    bool tie_embeddings;      // no output.weight; token_embd is the head
    bool attn_qkv_bias, attn_out_bias;
    int attn_qk_norm;         // 0 none, 1 per head, 2 over the full projection (OLMoE)
    // MLA (DeepSeek); is_mla false otherwise
    bool is_mla;
    uint32_t q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    // MoE; n_expert 0 for dense models
    uint32_t n_expert, n_expert_used, n_ff_exp, n_shared_expert, n_ff_shexp;
    bool moe_sigmoid;         // scoring: sigmoid (DeepSeek-V3) instead of softmax
    bool norm_topk_prob;
    bool shared_expert_gate;  // Qwen2-MoE sigmoid gate on the shared expert
    float routed_scaling_factor;
    uint32_t n_group, topk_group;
    char topk_method[24];     // "greedy", "group_limited_greedy", "noaux_tc"
    bool has_engram;          // config carries engram_layer_ids
} ingot_model_hparams;

// Per-layer facts (docs/MODEL.md `layers[i]`).
typedef struct ingot_model_layer {
    bool moe;                 // routed experts in this layer (else dense FFN)
    uint32_t sliding_window;  // 0 = full attention
    bool engram;
} ingot_model_layer;

// What a tensor is, for the type policy and for reports.
typedef enum ingot_tensor_role {
    INGOT_ROLE_EMBED = 0,     // token_embd
    INGOT_ROLE_OUTPUT = 1,    // output (lm head)
    INGOT_ROLE_NORM = 2,      // any RMSNorm weight (1-D)
    INGOT_ROLE_BIAS = 3,      // any bias / correction bias (1-D)
    INGOT_ROLE_ATTN = 4,      // attention projections (q, k, v, MLA a/b)
    INGOT_ROLE_ATTN_OUT = 5,  // attn_output
    INGOT_ROLE_FFN = 6,       // dense FFN and shared experts, gate/up
    INGOT_ROLE_FFN_DOWN = 7,  // dense FFN and shared experts, down
    INGOT_ROLE_ROUTER = 8,    // ffn_gate_inp, ffn_gate_inp_shexp
    INGOT_ROLE_EXPERT = 9,    // routed expert gate/up
    INGOT_ROLE_EXPERT_DOWN = 10, // routed expert down
    INGOT_ROLE_ENGRAM = 11,
    INGOT_ROLE_COUNT
} ingot_tensor_role;

// One output tensor and where its bytes come from. A packed expert source
// ([E, 2I, H] gate_up) yields several outputs with different src_off.
typedef struct ingot_desc_tensor {
    const char *name;         // canonical ("blk.3.exp.7.ffn_up.weight"); borrowed until model free
    ingot_tensor_role role;
    ingot_region_kind region; // DENSE, EXPERTS (per layer) or ENGRAM
    int32_t layer;            // -1 for global tensors
    int32_t expert;           // -1 unless a routed expert
    uint32_t n_dims;          // 1..4
    uint64_t dims[INGOT_MAX_DIMS]; // outermost first; [out, in] for linear weights
    size_t src;               // checkpoint tensor index of the data
    int64_t src_scale;        // FP8 sources: checkpoint index of the [ceil(r/128), ceil(c/128)] scale_inv, or of
                              // E8M0 scales per 1×32 / 32×32 (Engram V4.1, docs/ENGRAM.md), else -1
    ingot_dtype src_dtype;    // element type of the source bytes
    uint64_t src_off;         // byte offset of this tensor's data inside the source tensor
    uint64_t src_bytes;       // bytes taken from the source tensor
} ingot_desc_tensor;

// The description handle. (ingot_model is the runner's inference handle in
// include/ingot/runner.h; this one is ingot_model_desc.)
typedef struct ingot_model_desc ingot_model_desc;

#define INGOT_DESCRIBE_STRICT 1u // unexpected source tensors are an error, not a warning

// Build the description of `ck`. config_json (n bytes) replaces the
// checkpoint's config.json when not NULL (needed for a bare .safetensors).
// Every tensor the architecture needs is checked for presence and for a shape
// consistent with the config; unexpected tensors are logged as warnings
// (listed by ingot_model_desc_n_extra) or, with INGOT_DESCRIBE_STRICT, an error.
// A config with `engram_layer_ids` also maps the Engram tensors and
// parameters (docs/ENGRAM.md).
// @return INGOT_OK, INGOT_E_FORMAT (bad config, missing tensor, bad shape),
//         INGOT_E_UNSUPPORTED (architecture, dtype), INGOT_E_NOMEM.
// `ck` is borrowed and must outlive the model.
ingot_status ingot_model_describe(const ingot_checkpoint *ck, const char *config_json, size_t n, unsigned flags,
                                  ingot_model_desc **out, ingot_err *err);
void ingot_model_desc_free(ingot_model_desc *m);

// Borrowed until ingot_model_desc_free.
const ingot_model_hparams *ingot_model_desc_hparams(const ingot_model_desc *m);
const ingot_model_layer *ingot_model_desc_layer(const ingot_model_desc *m, uint32_t layer);
size_t ingot_model_desc_n_tensors(const ingot_model_desc *m);
// Tensors in output order: global DENSE first, then EXPERTS per layer.
const ingot_desc_tensor *ingot_model_desc_tensor(const ingot_model_desc *m, size_t i);
// Index of the output tensor with this canonical name, or -1.
int64_t ingot_model_desc_find_tensor(const ingot_model_desc *m, const char *name);
// Unexpected source tensors that no output uses (checkpoint indices). A
// stored lm_head under tied embeddings and `rotary_emb.inv_freq` buffers are
// dropped silently and not listed.
size_t ingot_model_desc_n_extra(const ingot_model_desc *m);
size_t ingot_model_desc_extra(const ingot_model_desc *m, size_t i);
// The `hparams` and `layers` members of docs/MODEL.md as JSON text
// ({"arch":…, "hparams":{…}, "layers":[…]}), NUL-terminated, borrowed.
const char *ingot_model_desc_json(const ingot_model_desc *m);
// Architectures accepted, comma separated ("llama, mistral, ...").
const char *ingot_model_supported_archs(void);

// ---- conversion -----------------------------------------------------------

typedef struct ingot_convert_progress {
    size_t n_done, n_total;       // tensors
    uint64_t bytes_done, bytes_total; // source bytes
    double seconds;               // since the start of the data phase
} ingot_convert_progress;
// Called from the converting threads (serialised by the converter) after
// each tensor; must be quick.
typedef void (*ingot_convert_progress_fn)(const ingot_convert_progress *p, void *user);

typedef struct ingot_convert_opts {
    const char *src;              // folder, .safetensors file or archive
    const char *dst;              // output .ingot; may be NULL with dry_run
    const char *config_path;      // config.json to use instead of the source's (NULL: the source's)
    const char *preset;           // a preset of include/ingot/quant_policy.h: "keep", "q8_0", "q4_k_m", ... (NULL: "q8_0")
    const char *const *overrides; // "REGEX=TYPE" rules; the first that matches a canonical name wins
    size_t n_overrides;
    uint64_t target_size;         // total tensor bytes to aim for (0: none)
    double target_bpw;            // bits per weight to aim for (0: none)
    const char *imatrix_path;     // importance matrix file, format of quant_policy.h (NULL: none)
    int n_threads;                // ≤ 0: all online CPUs
    bool dry_run;                 // plan only, write nothing
    bool force;                   // replace an existing dst
    bool strict;                  // unexpected source tensors are an error
    bool allow_nonfinite;         // NaN/Inf in weights: warn and go on
    const char *command_line;     // recorded in provenance (NULL: "")
    ingot_convert_progress_fn progress;
    void *progress_user;
} ingot_convert_opts;

// One planned output tensor.
typedef struct ingot_convert_plan_item {
    char name[96];                // canonical name
    char source[160];             // source tensor name ("...gate_up_proj[3].up" for a packed slice)
    ingot_dtype src_type;         // source type (f8_e4m3_b128 for FP8 with block scales)
    ingot_dtype type;             // chosen type
    uint32_t n_dims;
    uint64_t dims[INGOT_MAX_DIMS];
    uint64_t n_elements;
    uint64_t bytes;               // bytes in the .ingot
    char reason[192];             // why the policy chose the type
} ingot_convert_plan_item;

typedef struct ingot_convert_report {
    char arch[32];
    size_t n_tensors;
    uint64_t n_params;            // elements of all output tensors
    uint64_t src_bytes;           // sum of the source shard sizes
    uint64_t tensor_bytes;        // sum of output tensor sizes
    uint64_t out_bytes;           // .ingot file size (planned size on dry run)
    double bpw;                   // 8 * tensor_bytes / n_params
    double seconds;               // wall time of ingot_convert
    uint64_t n_nonfinite;         // NaN/Inf values seen (allow_nonfinite)
    size_t n_extra;               // unexpected source tensors skipped
    ingot_convert_plan_item *plan; // [n_tensors], heap, freed by ingot_convert_report_free
} ingot_convert_report;

// Convert opts->src to opts->dst (or plan only with dry_run). Atomic: on any
// error or SIGINT/SIGTERM (after ingot_cleanup_install_signals) the
// temporary file is removed and dst is untouched. An existing dst without
// force is refused before any work. Output is byte-identical for any
// n_threads.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_IO (missing shard, exists, ENOSPC),
//         INGOT_E_FORMAT (config, missing tensor, shape, NaN/Inf),
//         INGOT_E_UNSUPPORTED, INGOT_E_NOMEM, INGOT_E_INTERRUPTED.
// `report` (may be NULL) is filled on success and on dry run.
ingot_status ingot_convert(const ingot_convert_opts *opts, ingot_convert_report *report /* out */, ingot_err *err);
void ingot_convert_report_free(ingot_convert_report *report);

#ifdef __cplusplus
}
#endif
#endif
