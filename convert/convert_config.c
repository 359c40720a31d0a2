// convert/: the architecture registry and config.json normalisation. Both
// config dialects are read: transformers 4 (`num_experts`, `rope_theta`,
// `torch_dtype`) and transformers 5 (`num_local_experts`, `rope_parameters`,
// `dtype`); the result is docs/MODEL.md's `hparams` and `layers`.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"

// ---- registry -------------------------------------------------------------

static const ingot_arch_desc k_archs[] = {
    {"llama", "LlamaForCausalLM", INGOT_FAMILY_LLAMA, false, 0},
    {"mistral", "MistralForCausalLM", INGOT_FAMILY_LLAMA, false, 0},
    {"qwen2", "Qwen2ForCausalLM", INGOT_FAMILY_LLAMA, true, 0},
    {"qwen3", "Qwen3ForCausalLM", INGOT_FAMILY_LLAMA, false, 1},
    {"qwen2_moe", "Qwen2MoeForCausalLM", INGOT_FAMILY_QWEN_MOE, true, 0},
    {"qwen3_moe", "Qwen3MoeForCausalLM", INGOT_FAMILY_QWEN_MOE, false, 1},
    {"mixtral", "MixtralForCausalLM", INGOT_FAMILY_MIXTRAL, false, 0},
    {"olmoe", "OlmoeForCausalLM", INGOT_FAMILY_QWEN_MOE, false, 2},
    {"deepseek_v2", "DeepseekV2ForCausalLM", INGOT_FAMILY_DEEPSEEK, false, 0},
    {"deepseek_v3", "DeepseekV3ForCausalLM", INGOT_FAMILY_DEEPSEEK, false, 0},
};
#define N_ARCHS (sizeof k_archs / sizeof *k_archs)

const ingot_arch_desc *ingot_arch_find(const char *name) {
    for (size_t i = 0; name && i < N_ARCHS; i++)
        if (!strcmp(k_archs[i].name, name)) return &k_archs[i];
    return NULL;
}

const ingot_arch_desc *ingot_arch_find_class(const char *hf_class) {
    for (size_t i = 0; hf_class && i < N_ARCHS; i++)
        if (!strcmp(k_archs[i].hf_class, hf_class)) return &k_archs[i];
    return NULL;
}

const char *ingot_model_supported_archs(void) {
    return "llama, mistral, qwen2, qwen3, qwen2_moe, qwen3_moe, mixtral, olmoe, deepseek_v2, deepseek_v3";
}

// ---- typed getters (absent or null → fallback) ----------------------------

static const cJSON *cfg_get(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static bool cfg_has_num(const cJSON *o, const char *key) { return cJSON_IsNumber(cfg_get(o, key)); }

static double cfg_num(const cJSON *o, const char *key, double fallback) {
    const cJSON *v = cfg_get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static bool cfg_bool(const cJSON *o, const char *key, bool fallback) {
    const cJSON *v = cfg_get(o, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return fallback;
}

static const char *cfg_str(const cJSON *o, const char *key) {
    const cJSON *v = cfg_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// A non-negative integer that fits uint32; `required` fails when absent.
static ingot_status cfg_u32(const cJSON *o, const char *key, bool required, uint32_t fallback, uint32_t *out,
                            ingot_err *err) {
    const cJSON *v = cfg_get(o, key);
    if (!v) {
        INGOT_FAIL_IF(required, err, INGOT_E_FORMAT, "config.json: required key '%s' is missing", key);
        *out = fallback;
        return INGOT_OK;
    }
    INGOT_FAIL_IF(!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0 ||
                      v->valuedouble != floor(v->valuedouble),
                  err, INGOT_E_FORMAT, "config.json: '%s' must be a non-negative integer", key);
    *out = (uint32_t)v->valuedouble;
    return INGOT_OK;
}

// ---- architecture ---------------------------------------------------------

static ingot_status config_arch(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    const cJSON *archs = cfg_get(cfg, "architectures");
    const char *cls = cJSON_IsArray(archs) && cJSON_IsString(cJSON_GetArrayItem(archs, 0))
                          ? cJSON_GetArrayItem(archs, 0)->valuestring
                          : NULL;
    const char *type = cfg_str(cfg, "model_type");
    m->arch = ingot_arch_find_class(cls);
    if (!m->arch) m->arch = ingot_arch_find(type);
    INGOT_FAIL_IF(!m->arch, err, INGOT_E_UNSUPPORTED,
                  "config.json: unsupported architecture '%s' (model_type '%s'); supported: %s",
                  cls ? cls : "(none)", type ? type : "(none)", ingot_model_supported_archs());
    snprintf(m->hp.arch, sizeof m->hp.arch, "%s", m->arch->name);
    return INGOT_OK;
}

// ---- rope -----------------------------------------------------------------

// rope_scaling (transformers 4) or rope_parameters (transformers 5) into the
// normalised object of docs/MODEL.md, or NULL for plain rope.
static ingot_status config_rope(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    const cJSON *params = cfg_get(cfg, "rope_parameters");
    const cJSON *rs = cfg_get(cfg, "rope_scaling");
    m->hp.rope_theta = (float)cfg_num(cfg, "rope_theta", cfg_num(params, "rope_theta", 10000.0));
    if (!cJSON_IsObject(rs)) rs = cJSON_IsObject(params) ? params : NULL;
    if (!rs) return INGOT_OK;
    const char *type = cfg_str(rs, "rope_type");
    if (!type) type = cfg_str(rs, "type");
    if (!type || !strcmp(type, "default")) return INGOT_OK;
    cJSON *o = cJSON_CreateObject();
    INGOT_FAIL_IF(!o, err, INGOT_E_NOMEM, "out of memory");
    m->rope_scaling = o;
    const double orig = cfg_num(rs, "original_max_position_embeddings", cfg_num(cfg, "max_position_embeddings", 0));
    if (!strcmp(type, "yarn")) {
        cJSON_AddStringToObject(o, "type", "yarn");
        cJSON_AddNumberToObject(o, "factor", cfg_num(rs, "factor", 1));
        cJSON_AddNumberToObject(o, "original_max_pos", orig);
        cJSON_AddNumberToObject(o, "beta_fast", cfg_num(rs, "beta_fast", 32));
        cJSON_AddNumberToObject(o, "beta_slow", cfg_num(rs, "beta_slow", 1));
        cJSON_AddNumberToObject(o, "mscale", cfg_num(rs, "mscale", 1));
        cJSON_AddNumberToObject(o, "mscale_all_dim", cfg_num(rs, "mscale_all_dim", 0));
    } else if (!strcmp(type, "linear")) {
        cJSON_AddStringToObject(o, "type", "linear");
        cJSON_AddNumberToObject(o, "factor", cfg_num(rs, "factor", 1));
    } else if (!strcmp(type, "llama3")) {
        cJSON_AddStringToObject(o, "type", "llama3");
        cJSON_AddNumberToObject(o, "factor", cfg_num(rs, "factor", 1));
        cJSON_AddNumberToObject(o, "low_freq_factor", cfg_num(rs, "low_freq_factor", 1));
        cJSON_AddNumberToObject(o, "high_freq_factor", cfg_num(rs, "high_freq_factor", 4));
        cJSON_AddNumberToObject(o, "original_max_pos", orig);
    } else {
        return ingot_err_set(err, INGOT_E_UNSUPPORTED,
                             "config.json: rope scaling type '%s' is not supported (yarn, linear, llama3)", type);
    }
    return INGOT_OK;
}

// ---- attention ------------------------------------------------------------

static ingot_status config_attention(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    ingot_model_hparams *hp = &m->hp;
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "num_key_value_heads", false, hp->n_head, &hp->n_head_kv, err));
    INGOT_FAIL_IF(hp->n_head == 0 || hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0, err, INGOT_E_FORMAT,
                  "config.json: num_attention_heads %u is not a multiple of num_key_value_heads %u", hp->n_head,
                  hp->n_head_kv);
    const bool bias = cfg_bool(cfg, "attention_bias", false);
    hp->attn_qkv_bias = m->arch->qkv_bias || bias;
    hp->attn_out_bias = bias && !m->arch->qkv_bias; // Qwen2 families: o_proj never has a bias
    hp->attn_qk_norm = m->arch->qk_norm;
    if (m->arch->family == INGOT_FAMILY_DEEPSEEK) {
        hp->is_mla = true;
        hp->attn_qkv_bias = hp->attn_out_bias = false;
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "q_lora_rank", false, 0, &hp->q_lora_rank, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "kv_lora_rank", true, 0, &hp->kv_lora_rank, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "qk_nope_head_dim", true, 0, &hp->qk_nope_head_dim, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "qk_rope_head_dim", true, 0, &hp->qk_rope_head_dim, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "v_head_dim", true, 0, &hp->v_head_dim, err));
        INGOT_FAIL_IF(hp->kv_lora_rank == 0 || hp->qk_rope_head_dim == 0 || hp->v_head_dim == 0, err,
                      INGOT_E_FORMAT, "config.json: MLA ranks and head dims must be positive");
        hp->head_dim = hp->qk_nope_head_dim + hp->qk_rope_head_dim;
        hp->rope_dim = hp->qk_rope_head_dim;
        // DeepSeek-V2's HF code rotates complex pairs (2i, 2i+1); V3 makes it
        // a config switch that defaults to the same.
        hp->rope_interleave = !strcmp(m->arch->name, "deepseek_v2") || cfg_bool(cfg, "rope_interleave", true);
        return INGOT_OK;
    }
    INGOT_FAIL_IF(hp->n_embd % hp->n_head != 0 && !cfg_has_num(cfg, "head_dim"), err, INGOT_E_FORMAT,
                  "config.json: hidden_size %u is not a multiple of num_attention_heads %u", hp->n_embd, hp->n_head);
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "head_dim", false, hp->n_embd / hp->n_head, &hp->head_dim, err));
    INGOT_FAIL_IF(hp->head_dim == 0 || hp->head_dim % 2, err, INGOT_E_FORMAT,
                  "config.json: head_dim %u must be positive and even", hp->head_dim);
    hp->rope_dim = hp->head_dim;
    hp->rope_interleave = false;
    return INGOT_OK;
}

// ---- mixture of experts ---------------------------------------------------

static ingot_status config_moe_counts(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    ingot_model_hparams *hp = &m->hp;
    uint32_t n_exp = 0;
    static const char *const exp_keys[] = {"num_experts", "num_local_experts", "n_routed_experts"};
    for (size_t i = 0; i < 3 && !n_exp; i++) INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, exp_keys[i], false, 0, &n_exp, err));
    hp->n_expert = n_exp;
    if (!n_exp) return INGOT_OK;
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "num_experts_per_tok", true, 0, &hp->n_expert_used, err));
    INGOT_FAIL_IF(hp->n_expert_used == 0 || hp->n_expert_used > n_exp, err, INGOT_E_FORMAT,
                  "config.json: num_experts_per_tok %u must be in [1, %u]", hp->n_expert_used, n_exp);
    const bool has_moe_ff = cfg_has_num(cfg, "moe_intermediate_size");
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, has_moe_ff ? "moe_intermediate_size" : "intermediate_size", true, 0,
                                   &hp->n_ff_exp, err));
    INGOT_FAIL_IF(n_exp > 65536, err, INGOT_E_LIMIT, "config.json: %u experts is over the limit 65536", n_exp);
    INGOT_FAIL_IF(hp->n_ff_exp == 0, err, INGOT_E_FORMAT, "config.json: the expert intermediate size must be positive");
    return INGOT_OK;
}

static ingot_status config_moe(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    ingot_model_hparams *hp = &m->hp;
    INGOT_FORWARD_IF_ERROR(config_moe_counts(m, cfg, err));
    const ingot_arch_family fam = m->arch->family;
    INGOT_FAIL_IF(fam != INGOT_FAMILY_LLAMA && hp->n_expert == 0, err, INGOT_E_FORMAT,
                  "config.json: %s needs num_experts / num_local_experts / n_routed_experts", hp->arch);
    if (fam == INGOT_FAMILY_LLAMA) {
        hp->n_expert = 0; // dense families have no routed experts
        return INGOT_OK;
    }
    hp->routed_scaling_factor = (float)cfg_num(cfg, "routed_scaling_factor", 1.0);
    snprintf(hp->topk_method, sizeof hp->topk_method, "greedy");
    const bool v3 = !strcmp(hp->arch, "deepseek_v3");
    hp->norm_topk_prob = cfg_bool(cfg, "norm_topk_prob", fam == INGOT_FAMILY_MIXTRAL || v3);
    if (fam == INGOT_FAMILY_MIXTRAL) hp->norm_topk_prob = true; // Mixtral always renormalises
    if (!strcmp(hp->arch, "qwen2_moe")) {
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "shared_expert_intermediate_size", false, 0, &hp->n_ff_shexp, err));
        hp->n_shared_expert = hp->n_ff_shexp ? 1 : 0;
        hp->shared_expert_gate = hp->n_ff_shexp > 0;
    }
    if (fam == INGOT_FAMILY_DEEPSEEK) {
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "n_shared_experts", false, 0, &hp->n_shared_expert, err));
        hp->n_ff_shexp = hp->n_shared_expert * hp->n_ff_exp;
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "n_group", false, 1, &hp->n_group, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "topk_group", false, 1, &hp->topk_group, err));
        const char *scoring = cfg_str(cfg, "scoring_func");
        hp->moe_sigmoid = scoring ? !strcmp(scoring, "sigmoid") : v3;
        const char *method = v3 ? "noaux_tc" : cfg_str(cfg, "topk_method");
        snprintf(hp->topk_method, sizeof hp->topk_method, "%s", method ? method : "greedy");
        INGOT_FAIL_IF(strcmp(hp->topk_method, "greedy") && strcmp(hp->topk_method, "group_limited_greedy") &&
                          strcmp(hp->topk_method, "noaux_tc"),
                      err, INGOT_E_UNSUPPORTED, "config.json: topk_method '%s' is not supported", hp->topk_method);
        INGOT_FAIL_IF(hp->n_group == 0 || hp->n_expert % hp->n_group || hp->topk_group > hp->n_group, err,
                      INGOT_E_FORMAT, "config.json: n_group %u / topk_group %u do not divide %u experts", hp->n_group,
                      hp->topk_group, hp->n_expert);
    }
    return INGOT_OK;
}

// ---- layers ---------------------------------------------------------------

static bool json_int_array_has(const cJSON *arr, uint32_t v) {
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsNumber(it) && it->valuedouble == (double)v) return true;
    return false;
}

// Whether layer i has routed experts (HF's own rule per family).
static ingot_status layer_is_moe(const ingot_model_desc *m, const cJSON *cfg, uint32_t i, bool *moe, ingot_err *err) {
    const ingot_arch_family fam = m->arch->family;
    *moe = false;
    if (m->hp.n_expert == 0) return INGOT_OK;
    if (fam == INGOT_FAMILY_MIXTRAL || !strcmp(m->hp.arch, "olmoe")) {
        *moe = true;
    } else if (fam == INGOT_FAMILY_QWEN_MOE) {
        uint32_t step = 1;
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "decoder_sparse_step", false, 1, &step, err));
        *moe = !json_int_array_has(cfg_get(cfg, "mlp_only_layers"), i) && step > 0 && (i + 1) % step == 0;
    } else if (fam == INGOT_FAMILY_DEEPSEEK) {
        uint32_t first = 0, freq = 1;
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "first_k_dense_replace", false, 0, &first, err));
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "moe_layer_freq", false, 1, &freq, err));
        *moe = i >= first && freq > 0 && i % freq == 0;
    }
    return INGOT_OK;
}

// Sliding window of layer i: `layer_types` when given; Mistral/Mixtral apply
// `sliding_window` everywhere; the Qwen families only with
// use_sliding_window, from layer max_window_layers on.
static ingot_status layer_window(const ingot_model_desc *m, const cJSON *cfg, uint32_t i, uint32_t *win, ingot_err *err) {
    uint32_t w = 0;
    *win = 0;
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "sliding_window", false, 0, &w, err));
    const cJSON *types = cfg_get(cfg, "layer_types");
    if (cJSON_IsArray(types)) {
        const cJSON *t = cJSON_GetArrayItem(types, (int)i);
        INGOT_FAIL_IF(!cJSON_IsString(t), err, INGOT_E_FORMAT, "config.json: layer_types[%u] is missing", i);
        if (!strcmp(t->valuestring, "sliding_attention")) *win = w;
        return INGOT_OK;
    }
    if (!strcmp(m->hp.arch, "mistral") || !strcmp(m->hp.arch, "mixtral")) {
        *win = w;
    } else if (!strncmp(m->hp.arch, "qwen", 4) && cfg_bool(cfg, "use_sliding_window", false)) {
        uint32_t max_full = 0;
        INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "max_window_layers", false, 0, &max_full, err));
        *win = i >= max_full ? w : 0;
    }
    return INGOT_OK;
}

static ingot_status config_engram(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    const cJSON *ids = cfg_get(cfg, "engram_layer_ids");
    if (!cJSON_IsArray(ids)) return INGOT_OK;
    const int n = cJSON_GetArraySize(ids);
    m->hp.has_engram = true;
    m->engram_layer_ids = ingot_calloc((size_t)n + 1, sizeof *m->engram_layer_ids);
    INGOT_FAIL_IF(!m->engram_layer_ids, err, INGOT_E_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, ids) {
        INGOT_FAIL_IF(!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= m->hp.n_layer, err,
                      INGOT_E_FORMAT, "config.json: engram_layer_ids holds a layer outside [0, %u)", m->hp.n_layer);
        const uint32_t l = (uint32_t)it->valuedouble;
        m->engram_layer_ids[m->n_engram_layer++] = l;
        m->layers[l].engram = true;
    }
    return INGOT_OK;
}

static ingot_status config_layers(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    m->layers = ingot_calloc(m->hp.n_layer, sizeof *m->layers);
    INGOT_FAIL_IF(!m->layers, err, INGOT_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < m->hp.n_layer; i++) {
        INGOT_FORWARD_IF_ERROR(layer_is_moe(m, cfg, i, &m->layers[i].moe, err));
        INGOT_FORWARD_IF_ERROR(layer_window(m, cfg, i, &m->layers[i].sliding_window, err));
    }
    return config_engram(m, cfg, err);
}

// ---- entry ----------------------------------------------------------------

static ingot_status config_core(ingot_model_desc *m, const cJSON *cfg, ingot_err *err) {
    ingot_model_hparams *hp = &m->hp;
    INGOT_FORWARD_IF_ERROR(config_arch(m, cfg, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "vocab_size", true, 0, &hp->n_vocab, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "hidden_size", true, 0, &hp->n_embd, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "num_hidden_layers", true, 0, &hp->n_layer, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "num_attention_heads", true, 0, &hp->n_head, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "intermediate_size", false, 0, &hp->n_ff, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(cfg, "max_position_embeddings", false, 0, &hp->max_pos, err));
    INGOT_FAIL_IF(!hp->n_vocab || !hp->n_embd || !hp->n_layer || !hp->n_head, err, INGOT_E_FORMAT,
                  "config.json: vocab_size, hidden_size, num_hidden_layers and num_attention_heads must be positive");
    INGOT_FAIL_IF(hp->n_layer > 4096, err, INGOT_E_LIMIT, "config.json: %u layers is over the limit 4096",
                  hp->n_layer);
    hp->norm_eps = (float)cfg_num(cfg, "rms_norm_eps", 1e-6);
    hp->tie_embeddings = cfg_bool(cfg, "tie_word_embeddings", false);
    INGOT_FORWARD_IF_ERROR(config_attention(m, cfg, err));
    INGOT_FORWARD_IF_ERROR(config_rope(m, cfg, err));
    INGOT_FORWARD_IF_ERROR(config_moe(m, cfg, err));
    return config_layers(m, cfg, err);
}

ingot_status ingot_model_config_parse(ingot_model_desc *m, const char *json, size_t n, ingot_err *err) {
    INGOT_FAIL_IF(!json, err, INGOT_E_FORMAT, "config.json is missing (give one with --config)");
    cJSON *cfg = cJSON_ParseWithLength(json, n);
    if (cfg && !cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        cfg = NULL;
    }
    INGOT_FAIL_IF(!cfg, err, INGOT_E_FORMAT, "config.json: not a JSON object");
    const ingot_status st = config_core(m, cfg, err);
    cJSON_Delete(cfg);
    return st;
}

// ---- JSON of the description ----------------------------------------------

static void json_hparams_moe(const ingot_model_hparams *hp, cJSON *o) {
    if (!hp->n_expert) {
        cJSON_AddNullToObject(o, "moe");
        return;
    }
    cJSON *moe = cJSON_AddObjectToObject(o, "moe");
    cJSON_AddNumberToObject(moe, "n_expert", hp->n_expert);
    cJSON_AddNumberToObject(moe, "n_expert_used", hp->n_expert_used);
    cJSON_AddNumberToObject(moe, "n_ff_exp", hp->n_ff_exp);
    cJSON_AddNumberToObject(moe, "n_shared_expert", hp->n_shared_expert);
    cJSON_AddNumberToObject(moe, "n_ff_shexp", hp->n_ff_shexp);
    cJSON_AddStringToObject(moe, "scoring", hp->moe_sigmoid ? "sigmoid" : "softmax");
    cJSON_AddBoolToObject(moe, "norm_topk_prob", hp->norm_topk_prob);
    cJSON_AddNumberToObject(moe, "routed_scaling_factor", hp->routed_scaling_factor);
    cJSON_AddNumberToObject(moe, "n_group", hp->n_group ? hp->n_group : 1);
    cJSON_AddNumberToObject(moe, "topk_group", hp->topk_group ? hp->topk_group : 1);
    cJSON_AddStringToObject(moe, "topk_method", hp->topk_method);
    cJSON_AddBoolToObject(moe, "shared_expert_gate", hp->shared_expert_gate);
}

static void json_hparams(const ingot_model_desc *m, cJSON *o) {
    const ingot_model_hparams *hp = &m->hp;
    cJSON_AddNumberToObject(o, "n_vocab", hp->n_vocab);
    cJSON_AddNumberToObject(o, "n_embd", hp->n_embd);
    cJSON_AddNumberToObject(o, "n_layer", hp->n_layer);
    cJSON_AddNumberToObject(o, "n_head", hp->n_head);
    cJSON_AddNumberToObject(o, "n_head_kv", hp->n_head_kv);
    cJSON_AddNumberToObject(o, "head_dim", hp->head_dim);
    cJSON_AddNumberToObject(o, "n_ff", hp->n_ff);
    cJSON_AddNumberToObject(o, "norm_eps", hp->norm_eps);
    cJSON_AddNumberToObject(o, "max_pos", hp->max_pos);
    cJSON_AddBoolToObject(o, "tie_embeddings", hp->tie_embeddings);
    cJSON_AddBoolToObject(o, "attn_qkv_bias", hp->attn_qkv_bias);
    cJSON_AddBoolToObject(o, "attn_out_bias", hp->attn_out_bias);
    if (hp->attn_qk_norm == 2) cJSON_AddStringToObject(o, "attn_qk_norm", "full");
    else cJSON_AddBoolToObject(o, "attn_qk_norm", hp->attn_qk_norm == 1);
    cJSON_AddNumberToObject(o, "rope_theta", hp->rope_theta);
    cJSON_AddNumberToObject(o, "rope_dim", hp->rope_dim);
    cJSON_AddBoolToObject(o, "rope_interleave", hp->rope_interleave);
    if (m->rope_scaling) cJSON_AddItemToObject(o, "rope_scaling", cJSON_Duplicate(m->rope_scaling, 1));
    else cJSON_AddNullToObject(o, "rope_scaling");
    if (hp->is_mla) {
        cJSON *mla = cJSON_AddObjectToObject(o, "mla");
        cJSON_AddNumberToObject(mla, "q_lora_rank", hp->q_lora_rank);
        cJSON_AddNumberToObject(mla, "kv_lora_rank", hp->kv_lora_rank);
        cJSON_AddNumberToObject(mla, "qk_nope_head_dim", hp->qk_nope_head_dim);
        cJSON_AddNumberToObject(mla, "qk_rope_head_dim", hp->qk_rope_head_dim);
        cJSON_AddNumberToObject(mla, "v_head_dim", hp->v_head_dim);
    } else {
        cJSON_AddNullToObject(o, "mla");
    }
    json_hparams_moe(hp, o);
}

ingot_status ingot_model_json_build(ingot_model_desc *m, ingot_err *err) {
    cJSON *root = cJSON_CreateObject();
    INGOT_FAIL_IF(!root, err, INGOT_E_NOMEM, "out of memory");
    cJSON_AddStringToObject(root, "arch", m->hp.arch);
    json_hparams(m, cJSON_AddObjectToObject(root, "hparams"));
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (uint32_t i = 0; i < m->hp.n_layer; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "ffn", m->layers[i].moe ? "moe" : "dense");
        cJSON_AddNumberToObject(l, "sliding_window", m->layers[i].sliding_window);
        cJSON_AddBoolToObject(l, "engram", m->layers[i].engram);
        cJSON_AddItemToArray(layers, l);
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    INGOT_FAIL_IF(!txt, err, INGOT_E_NOMEM, "out of memory");
    m->json = ingot_strdup(txt);
    cJSON_free(txt);
    INGOT_FAIL_IF(!m->json, err, INGOT_E_NOMEM, "out of memory");
    return INGOT_OK;
}
