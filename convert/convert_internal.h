// Internals of convert/ shared by its files: the model description object,
// config normalisation, the per-tensor type choice and the metadata builder.
#ifndef INGOT_CONVERT_INTERNAL_H
#define INGOT_CONVERT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/convert.h"
#include "ingot/quant_policy.h"

// Which HF family a checkpoint belongs to; drives the name mapping.
typedef enum ingot_arch_family {
    INGOT_FAMILY_LLAMA = 0,   // llama, mistral, qwen2, qwen3 (dense)
    INGOT_FAMILY_QWEN_MOE = 1, // qwen2_moe, qwen3_moe, olmoe
    INGOT_FAMILY_MIXTRAL = 2,
    INGOT_FAMILY_DEEPSEEK = 3, // deepseek_v2, deepseek_v3 (MLA)
} ingot_arch_family;

typedef struct ingot_arch_desc {
    const char *name;          // canonical arch (= HF model_type)
    const char *hf_class;      // HF architectures[0]
    ingot_arch_family family;
    bool qkv_bias;             // q/k/v biases always present (Qwen2 family)
    int qk_norm;               // 0, 1 per head, 2 full projection
} ingot_arch_desc;

const ingot_arch_desc *ingot_arch_find(const char *name);
const ingot_arch_desc *ingot_arch_find_class(const char *hf_class);

struct ingot_model_desc {
    const ingot_checkpoint *ck;
    const ingot_arch_desc *arch;
    ingot_model_hparams hp;
    ingot_model_layer *layers;       // [hp.n_layer]
    cJSON *rope_scaling;             // normalised, or NULL
    uint32_t *engram_layer_ids;      // [n_engram_layer]
    size_t n_engram_layer;
    struct ingot_engram_desc *engram; // Engram parameters and compression map (convert/engram_map.c)
    ingot_desc_tensor *tensors;     // [n_tensors]
    size_t n_tensors, cap_tensors;
    size_t *sorted;                  // tensor indices sorted by name (find)
    bool *used;                      // [checkpoint tensors]: consumed by some output
    size_t *extra;                   // unexpected source tensors
    size_t n_extra;
    int64_t dropped_head;            // checkpoint index of a tied lm_head that was dropped, or -1
    char *json;                      // {"arch", "hparams", "layers"}
};

// Parse config JSON into m->arch, m->hp, m->layers, m->rope_scaling.
ingot_status ingot_model_config_parse(ingot_model_desc *m, const char *json, size_t n, ingot_err *err);
// Build m->json from the parsed config and the tensor facts.
ingot_status ingot_model_json_build(ingot_model_desc *m, ingot_err *err);
// Map checkpoint tensors to canonical outputs (fills m->tensors, used, extra).
ingot_status ingot_model_map_tensors(ingot_model_desc *m, unsigned flags, ingot_err *err);

// ---- source bytes and row decoding ------------------------------------------

// Where one output tensor's bytes are, for the duration of its conversion.
// How an FP8 source carries its scales (from the scale tensor's dtype and
// shape): DeepSeek-V3 f32/bf16 scale_inv per 128×128 tile, or E8M0 bytes
// (value · 2^(e−127)) per 1×32 row segment or per 32×32 tile (DeepSeek-V4.1).
typedef enum ingot_scale_kind {
    INGOT_SCALE_NONE = 0,
    INGOT_SCALE_B128 = 1,      // f32/bf16 [ceil(r/128), ceil(c/128)]
    INGOT_SCALE_R32 = 2,       // e8m0 [r, c/32] (c a multiple of 32)
    INGOT_SCALE_B32 = 3,       // e8m0 [ceil(r/32), ceil(c/32)]
} ingot_scale_kind;

typedef struct ingot_convert_source {
    const uint8_t *data;       // first byte of the tensor (source tensor + src_off), src_bytes long
    const uint8_t *scale;      // scales of the whole source tensor (layout: scale_kind), or NULL
    ingot_dtype scale_dtype;   // F32 or BF16 (B128), E8M0 (R32, B32)
    ingot_scale_kind scale_kind;
    uint64_t row_base;         // source row of this tensor's first row (src_off / source row bytes)
} ingot_convert_source;

// Scale layout of `mt` (INGOT_SCALE_NONE without a scale tensor).
ingot_scale_kind ingot_convert_scale_kind(const ingot_checkpoint *ck, const ingot_desc_tensor *mt);
// Fill the scale fields of `s` for `mt` (scale: the scale tensor's bytes or NULL).
void ingot_convert_source_set_scale(const ingot_checkpoint *ck, const ingot_desc_tensor *mt, const uint8_t *scale,
                                    ingot_convert_source *s);

// NaN/Inf seen in a tensor: count and the first element index.
typedef struct ingot_convert_nonfinite {
    uint64_t count;
    uint64_t first;            // element index, UINT64_MAX when count is 0
} ingot_convert_nonfinite;

// Rows and row length of a tensor (a 1-D tensor is one row).
void ingot_convert_shape(const ingot_desc_tensor *mt, uint64_t *n_rows, uint64_t *n_cols);
// The bytes of `mt` in a mapped checkpoint.
ingot_status ingot_convert_source_get(const ingot_checkpoint *ck, const ingot_desc_tensor *mt,
                                      ingot_convert_source *out, ingot_err *err);
// Decode rows [row0, row0 + n_rows) of `mt` to f32 (dst: [n_rows, n_cols]).
// NaN/Inf are counted into nf (may be NULL).
ingot_status ingot_convert_decode_rows(const ingot_desc_tensor *mt, const ingot_convert_source *s, uint64_t row0,
                                       uint64_t n_rows, float *dst, ingot_convert_nonfinite *nf, ingot_err *err);

// ---- type choice --------------------------------------------------------------

// One policy descriptor per output tensor (pts: [n_tensors]).
ingot_status ingot_convert_policy_tensors(const ingot_model_desc *m, ingot_policy_tensor *pts, ingot_err *err);
// A type per tensor (choices: [n_tensors]): preset + overrides, or the size
// target of opts when one is given.
ingot_status ingot_convert_choose(const ingot_convert_opts *opts, const ingot_model_desc *m, const ingot_checkpoint *ck,
                                  const ingot_policy *pol, const ingot_imatrix *im, ingot_pool *pool,
                                  const ingot_policy_tensor *pts, ingot_policy_choice *choices, ingot_err *err);

// ---- metadata -------------------------------------------------------------------

// The metadata JSON of docs/MODEL.md (heap, NUL-terminated; free with
// ingot_free). file_hashes: [n_shards] xxh3 of each source file.
ingot_status ingot_convert_metadata(const ingot_convert_opts *opts, const ingot_model_desc *m,
                                    const ingot_checkpoint *ck, const char *config_json, size_t config_n,
                                    const char *preset, const uint64_t *file_hashes,
                                    const ingot_policy_choice *choices, char **out, size_t *n, ingot_err *err);
// "model.layers.0.mlp.experts.gate_up_proj[3].up" style name of the source
// bytes of `mt`.
void ingot_convert_source_name(const ingot_checkpoint *ck, const ingot_desc_tensor *mt, char *dst, size_t cap);

#endif
