// Model open: parse the metadata JSON (docs/MODEL.md) into ingot_model_config,
// resolve rotary and routing parameters, and bind every tensor the config
// implies to a view into the mmap after checking its dtype and dims. Small
// vectors (norms, biases, the DeepSeek-V3 selection bias) are decoded to f32
// into one arena; matrices are used in place.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingot/engram.h"
#include "runner_internal.h"

// ---- JSON helpers ---------------------------------------------------------------

static double json_num(const cJSON *o, const char *key, double def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int json_int(const cJSON *o, const char *key, int def) {
    const double d = json_num(o, key, def);
    return d >= -2147483647.0 && d <= 2147483647.0 ? (int)d : def;
}

static bool json_bool(const cJSON *o, const char *key, bool def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static const char *json_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// ---- config -------------------------------------------------------------------------

static const char *const k_arches[] = {"llama",     "mistral", "qwen2", "qwen3",       "qwen2_moe",
                                       "qwen3_moe", "mixtral", "olmoe", "deepseek_v2", "deepseek_v3"};

// max_pos stands in for original_max_pos when the scaling omits it (as
// transformers does for YaRN).
static ingot_status parse_rope_scaling(const cJSON *rs, double max_pos, ingot_rope_scaling *sc, ingot_err *err) {
    memset(sc, 0, sizeof *sc);
    if (!cJSON_IsObject(rs)) return INGOT_OK;
    const char *type = json_str(rs, "type");
    sc->factor = json_num(rs, "factor", 1.0);
    sc->original_max_pos = json_num(rs, "original_max_pos", max_pos);
    sc->beta_fast = json_num(rs, "beta_fast", 32);
    sc->beta_slow = json_num(rs, "beta_slow", 1);
    sc->mscale = json_num(rs, "mscale", 0);
    sc->mscale_all_dim = json_num(rs, "mscale_all_dim", 0);
    sc->low_freq_factor = json_num(rs, "low_freq_factor", 1);
    sc->high_freq_factor = json_num(rs, "high_freq_factor", 4);
    if (!type || !strcmp(type, "default")) return INGOT_OK;
    INGOT_FAIL_IF(!(sc->factor > 0), err, INGOT_E_FORMAT, "metadata: rope_scaling.factor %g is not positive",
                  sc->factor);
    if (!strcmp(type, "linear")) {
        sc->kind = INGOT_ROPE_LINEAR;
    } else if (!strcmp(type, "llama3")) {
        sc->kind = INGOT_ROPE_LLAMA3;
        INGOT_FAIL_IF(sc->original_max_pos <= 0 || sc->high_freq_factor <= sc->low_freq_factor, err,
                      INGOT_E_FORMAT, "metadata: rope_scaling llama3 needs original_max_pos and "
                      "high_freq_factor > low_freq_factor");
    } else if (!strcmp(type, "yarn")) {
        sc->kind = INGOT_ROPE_YARN;
        INGOT_FAIL_IF(sc->original_max_pos <= 0, err, INGOT_E_FORMAT,
                      "metadata: rope_scaling yarn needs original_max_pos");
    } else {
        return ingot_err_set(err, INGOT_E_UNSUPPORTED, "metadata: rope_scaling type '%s' is not supported", type);
    }
    return INGOT_OK;
}

static ingot_status parse_moe(ingot_model *m, const cJSON *moe, ingot_err *err) {
    ingot_model_config *c = &m->cfg;
    if (!cJSON_IsObject(moe)) return INGOT_OK;
    c->n_expert = json_int(moe, "n_expert", 0);
    c->n_expert_used = json_int(moe, "n_expert_used", 0);
    c->n_ff_exp = json_int(moe, "n_ff_exp", 0);
    c->n_shared_expert = json_int(moe, "n_shared_expert", 0);
    c->n_ff_shexp = json_int(moe, "n_ff_shexp", 0);
    c->n_group = json_int(moe, "n_group", 1);
    c->topk_group = json_int(moe, "topk_group", c->n_group);
    const char *scoring = json_str(moe, "scoring");
    c->moe_sigmoid = scoring && !strcmp(scoring, "sigmoid");
    // Mixtral's softmax over the top-k logits is softmax + renormalisation;
    // transformers' DeepseekV2Moe never renormalises, whatever the config says.
    c->norm_topk_prob = (json_bool(moe, "norm_topk_prob", false) || !strcmp(c->arch, "mixtral")) &&
                        strcmp(c->arch, "deepseek_v2");
    c->routed_scaling_factor = (float)json_num(moe, "routed_scaling_factor", 1.0);
    const char *method = json_str(moe, "topk_method");
    if (method && !strcmp(method, "group_limited_greedy")) m->topk_group_mode = 1;
    else if (method && !strcmp(method, "noaux_tc")) m->topk_group_mode = 2;
    else if (!method && c->n_group > 1 && !strcmp(c->arch, "deepseek_v3")) m->topk_group_mode = 2;
    INGOT_FAIL_IF(c->n_expert <= 0 || c->n_expert > 1024 || c->n_expert_used <= 0 ||
                      c->n_expert_used > c->n_expert || c->n_expert_used > INGOT_RUNNER_MAX_EXPERT_USED ||
                      c->n_ff_exp <= 0 || c->n_ff_exp > (1 << 24) || c->n_ff_shexp < 0 || c->n_ff_shexp > (1 << 24),
                  err, INGOT_E_FORMAT, "metadata: moe has n_expert %d, n_expert_used %d, n_ff_exp %d",
                  c->n_expert, c->n_expert_used, c->n_ff_exp);
    INGOT_FAIL_IF(c->n_group < 1 || c->n_group > 256 || c->n_expert % c->n_group || c->topk_group < 1, err,
                  INGOT_E_FORMAT, "metadata: moe n_group %d / topk_group %d do not divide %d experts",
                  c->n_group, c->topk_group, c->n_expert);
    return INGOT_OK;
}

static ingot_status parse_mla(ingot_model *m, const cJSON *mla, ingot_err *err) {
    ingot_model_config *c = &m->cfg;
    if (!cJSON_IsObject(mla)) return INGOT_OK;
    c->is_mla = true;
    c->q_lora_rank = json_int(mla, "q_lora_rank", 0);
    c->kv_lora_rank = json_int(mla, "kv_lora_rank", 0);
    c->qk_nope_head_dim = json_int(mla, "qk_nope_head_dim", 0);
    c->qk_rope_head_dim = json_int(mla, "qk_rope_head_dim", 0);
    c->v_head_dim = json_int(mla, "v_head_dim", 0);
    INGOT_FAIL_IF(c->q_lora_rank < 0 || c->kv_lora_rank <= 0 || c->qk_nope_head_dim <= 0 ||
                      c->qk_rope_head_dim <= 0 || c->v_head_dim <= 0 || c->kv_lora_rank > 65536 ||
                      c->q_lora_rank > 65536 || c->qk_nope_head_dim > 4096 || c->qk_rope_head_dim > 512 ||
                      c->v_head_dim > 4096,
                  err, INGOT_E_FORMAT, "metadata: mla dims are invalid");
    return INGOT_OK;
}

static ingot_status parse_hparams(ingot_model *m, const cJSON *hp, ingot_rope_scaling *sc, ingot_err *err) {
    ingot_model_config *c = &m->cfg;
    INGOT_FAIL_IF(!cJSON_IsObject(hp), err, INGOT_E_FORMAT, "metadata: 'hparams' is missing");
    c->n_vocab = json_int(hp, "n_vocab", 0);
    c->n_embd = json_int(hp, "n_embd", 0);
    c->n_layer = json_int(hp, "n_layer", 0);
    c->n_head = json_int(hp, "n_head", 0);
    c->n_head_kv = json_int(hp, "n_head_kv", c->n_head);
    c->head_dim = json_int(hp, "head_dim", c->n_head > 0 ? c->n_embd / c->n_head : 0);
    c->n_ff = json_int(hp, "n_ff", 0);
    c->norm_eps = (float)json_num(hp, "norm_eps", 1e-6);
    c->max_pos = json_int(hp, "max_pos", 0);
    c->tie_embeddings = json_bool(hp, "tie_embeddings", false);
    // Upper bounds keep every product of dims (n_head * head_dim, ...) far
    // from int overflow; tensors are then checked against these dims.
    INGOT_FAIL_IF(c->n_vocab <= 0 || c->n_embd <= 0 || c->n_layer <= 0 || c->n_head <= 0 || c->n_head_kv <= 0 ||
                      c->n_head % c->n_head_kv || c->head_dim <= 0 || c->n_layer > 4096 || c->n_embd > (1 << 20) ||
                      c->n_vocab > (1 << 24) || c->n_head > 4096 || c->head_dim > 4096 || c->n_ff < 0 ||
                      c->n_ff > (1 << 24),
                  err, INGOT_E_FORMAT,
                  "metadata: hparams n_vocab %d, n_embd %d, n_layer %d, n_head %d, n_head_kv %d, head_dim %d",
                  c->n_vocab, c->n_embd, c->n_layer, c->n_head, c->n_head_kv, c->head_dim);
    const cJSON *qkn = cJSON_GetObjectItemCaseSensitive(hp, "attn_qk_norm");
    m->qk_norm_mode = cJSON_IsTrue(qkn) ? 1 : (cJSON_IsString(qkn) && !strcmp(qkn->valuestring, "full")) ? 2 : 0;
    INGOT_FORWARD_IF_ERROR(parse_mla(m, cJSON_GetObjectItemCaseSensitive(hp, "mla"), err));
    INGOT_FORWARD_IF_ERROR(parse_moe(m, cJSON_GetObjectItemCaseSensitive(hp, "moe"), err));
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(hp, "rope_scaling");
    INGOT_FORWARD_IF_ERROR(parse_rope_scaling(rs, c->max_pos, sc, err));
    const int rope_dim = json_int(hp, "rope_dim", c->is_mla ? c->qk_rope_head_dim : c->head_dim);
    INGOT_FAIL_IF(rope_dim <= 0 || rope_dim % 2 || rope_dim > 512 ||
                      rope_dim > (c->is_mla ? c->qk_rope_head_dim : c->head_dim),
                  err, INGOT_E_FORMAT, "metadata: rope_dim %d is invalid", rope_dim);
    ingot_rope_init(&m->rope, rope_dim, json_num(hp, "rope_theta", 10000.0), json_bool(hp, "rope_interleave", false),
                    sc);
    return INGOT_OK;
}

static ingot_status parse_layers(ingot_model *m, const cJSON *layers, ingot_err *err) {
    const ingot_model_config *c = &m->cfg;
    INGOT_FAIL_IF(!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) != c->n_layer, err, INGOT_E_FORMAT,
                  "metadata: 'layers' must be an array of %d objects", c->n_layer);
    for (int l = 0; l < c->n_layer; l++) {
        const cJSON *o = cJSON_GetArrayItem(layers, l);
        const char *ffn = json_str(o, "ffn");
        ingot_layer *L = &m->layers[l];
        L->is_moe = ffn && !strcmp(ffn, "moe");
        INGOT_FAIL_IF(L->is_moe && c->n_expert == 0, err, INGOT_E_FORMAT,
                      "metadata: layer %d is moe but hparams.moe is null", l);
        L->sliding_window = json_int(o, "sliding_window", 0);
        INGOT_FAIL_IF(L->sliding_window < 0, err, INGOT_E_FORMAT, "metadata: layer %d sliding_window %d", l,
                      L->sliding_window);
        L->has_engram = json_bool(o, "engram", false);
    }
    return INGOT_OK;
}

static void parse_generation(ingot_model_config *c, const cJSON *gen) {
    c->n_bos = json_int(gen, "bos_token_id", -1);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(gen, "eos_token_ids");
    const cJSON *e;
    cJSON_ArrayForEach(e, eos) {
        if (cJSON_IsNumber(e) && c->n_eos < (int)(sizeof c->eos / sizeof *c->eos)) c->eos[c->n_eos++] = e->valueint;
    }
}

static ingot_status parse_metadata(ingot_model *m, ingot_err *err) {
    size_t n = 0;
    const char *text = ingot_container_metadata(m->c, &n);
    cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;
    INGOT_FAIL_IF(!root, err, INGOT_E_FORMAT, "metadata is not valid JSON");
    ingot_status st = INGOT_OK;
    const char *arch = json_str(root, "arch");
    snprintf(m->cfg.arch, sizeof m->cfg.arch, "%s", arch ? arch : "");
    bool known = false;
    for (size_t i = 0; i < sizeof k_arches / sizeof *k_arches; i++) known |= !strcmp(m->cfg.arch, k_arches[i]);
    ingot_rope_scaling sc;
    if (!known) st = ingot_err_set(err, INGOT_E_UNSUPPORTED, "metadata: arch '%s' is not supported", m->cfg.arch);
    if (!st) st = parse_hparams(m, cJSON_GetObjectItemCaseSensitive(root, "hparams"), &sc, err);
    if (!st) {
        m->layers = ingot_calloc((size_t)m->cfg.n_layer, sizeof *m->layers);
        if (!m->layers) st = ingot_err_set(err, INGOT_E_NOMEM, "out of memory for %d layers", m->cfg.n_layer);
    }
    if (!st) st = parse_layers(m, cJSON_GetObjectItemCaseSensitive(root, "layers"), err);
    if (!st) parse_generation(&m->cfg, cJSON_GetObjectItemCaseSensitive(root, "generation"));
    if (!st) {
        const ingot_model_config *c = &m->cfg;
        m->attn_scale = 1.0f / sqrtf((float)(c->is_mla ? c->qk_nope_head_dim + c->qk_rope_head_dim : c->head_dim));
        // DeepseekV3Attention multiplies the softmax scale by mscale²;
        // transformers' DeepseekV2Attention does not (YaRN then acts through
        // the cos/sin factor only).
        if (c->is_mla && sc.kind == INGOT_ROPE_YARN && sc.mscale_all_dim > 0 && strcmp(c->arch, "deepseek_v2")) {
            const double ms = ingot_yarn_get_mscale(sc.factor, sc.mscale_all_dim);
            m->attn_scale *= (float)(ms * ms);
        }
    }
    cJSON_Delete(root);
    return st;
}

// ---- tensor binding ---------------------------------------------------------------------

static const ingot_tensor_info *find(const ingot_model *m, const char *name, const void **data) {
    const int64_t i = ingot_container_find_tensor(m->c, name);
    if (i < 0) return NULL;
    *data = ingot_container_tensor_data(m->c, (size_t)i);
    return ingot_container_tensor(m->c, (size_t)i);
}

// Record the tensor and its file offset in err before failing on it.
static void where(ingot_err *err, const char *name, const ingot_tensor_info *t, bool failed) {
    if (failed) ingot_err_where(err, NULL, name, t ? (int64_t)t->off : -1);
}

// Bind a [rows, cols] matrix; absent tensors are an error only when required.
static ingot_status bind_mat(ingot_model *m, const char *name, int64_t rows, int64_t cols, bool required,
                             ingot_mat *out, ingot_err *err) {
    memset(out, 0, sizeof *out);
    const void *data = NULL;
    const ingot_tensor_info *t = find(m, name, &data);
    if (!t) {
        INGOT_FAIL_IF(required, err, INGOT_E_FORMAT, "tensor '%s' is missing", name);
        return INGOT_OK;
    }
    const bool shape_ok = (t->n_dims == 2 && t->dims[0] == (uint64_t)rows && t->dims[1] == (uint64_t)cols) ||
                          (t->n_dims == 1 && rows == 1 && t->dims[0] == (uint64_t)cols);
    where(err, name, t, !shape_ok);
    INGOT_FAIL_IF(!shape_ok, err, INGOT_E_FORMAT, "tensor '%s': shape [%llu, %llu] (rank %u), expected [%lld, %lld]",
                  name, (unsigned long long)t->dims[0], (unsigned long long)t->dims[1], t->n_dims, (long long)rows,
                  (long long)cols);
    out->data = data;
    out->dtype = t->dtype;
    out->rows = rows;
    out->cols = cols;
    if (cols > m->max_row_cols) m->max_row_cols = (int)cols; // sizes activation rows and row scratch
    if (t->dtype == INGOT_DTYPE_F8_E4M3_B128) return INGOT_OK;
    if (ingot_quant_prep_get_level(t->dtype, INGOT_SIMD_SCALAR) && cols > m->max_prep_cols)
        m->max_prep_cols = (int)cols; // sizes the prepared activation rows
    out->qt = ingot_quant_get(t->dtype);
    where(err, name, t, !out->qt || !out->qt->vec_dot);
    INGOT_FAIL_IF(!out->qt || !out->qt->vec_dot, err, INGOT_E_UNSUPPORTED,
                  "tensor '%s': dtype %s has no dot-product kernel", name, ingot_dtype_name(t->dtype));
    uint64_t rb = 0;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(t->dtype, (uint64_t)cols, &rb, err));
    out->row_bytes = (size_t)rb;
    return INGOT_OK;
}

// Decode a vector of n values (rank 1, or [1, n]) into the vector arena.
static ingot_status bind_vec(ingot_model *m, const char *name, int64_t n, bool required, const float **out,
                             ingot_err *err) {
    *out = NULL;
    const void *data = NULL;
    const ingot_tensor_info *t = find(m, name, &data);
    if (!t) {
        INGOT_FAIL_IF(required, err, INGOT_E_FORMAT, "tensor '%s' is missing", name);
        return INGOT_OK;
    }
    const bool shape_ok = (t->n_dims == 1 && t->dims[0] == (uint64_t)n) ||
                          (t->n_dims == 2 && t->dims[0] == 1 && t->dims[1] == (uint64_t)n);
    where(err, name, t, !shape_ok);
    INGOT_FAIL_IF(!shape_ok, err, INGOT_E_FORMAT, "tensor '%s': expected %lld values, shape [%llu, %llu]", name,
                  (long long)n, (unsigned long long)t->dims[0], (unsigned long long)t->dims[1]);
    INGOT_FAIL_IF(m->vec_used + (size_t)n > m->vec_cap, err, INGOT_E_FORMAT, "tensor '%s': vector arena overflow",
                  name);
    float *dst = m->vec_arena + m->vec_used;
    if (!ingot_dtype_decode_f32(t->dtype, data, (size_t)n, dst)) {
        const ingot_quant_traits *qt = ingot_quant_get(t->dtype);
        where(err, name, t, !qt || n % qt->blck);
        INGOT_FAIL_IF(!qt || n % qt->blck, err, INGOT_E_UNSUPPORTED, "tensor '%s': dtype %s cannot be decoded",
                      name, ingot_dtype_name(t->dtype));
        qt->dequantize_row(data, dst, n);
    }
    m->vec_used += (size_t)n;
    *out = dst;
    return INGOT_OK;
}

#define NAME(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))
// Bind tensor "blk.<l>.<suffix>" (uses the caller's m, l, nm, err).
#define MAT(suffix, ...) INGOT_FORWARD_IF_ERROR(bind_mat(m, NAME(nm, "blk.%d." suffix, l), __VA_ARGS__, err))
#define VEC(suffix, ...) INGOT_FORWARD_IF_ERROR(bind_vec(m, NAME(nm, "blk.%d." suffix, l), __VA_ARGS__, err))
#define EXP(suffix, ...) INGOT_FORWARD_IF_ERROR(bind_mat(m, NAME(nm, "blk.%d.exp.%d." suffix, l, e), __VA_ARGS__, err))

static ingot_status bind_attention(ingot_model *m, int l, ingot_err *err) {
    const ingot_model_config *c = &m->cfg;
    ingot_layer *L = &m->layers[l];
    char nm[128];
    const int64_t E = c->n_embd, hd = c->head_dim, qd = (int64_t)c->n_head * hd, kd = (int64_t)c->n_head_kv * hd;
    if (c->is_mla) {
        const int64_t qk = c->qk_nope_head_dim + c->qk_rope_head_dim, kvl = c->kv_lora_rank;
        if (c->q_lora_rank > 0) {
            MAT("attn_q_a.weight", c->q_lora_rank, E, true, &L->wq_a);
            VEC("attn_q_a_norm.weight", c->q_lora_rank, true, &L->q_a_norm);
            MAT("attn_q_b.weight", c->n_head * qk, c->q_lora_rank, true, &L->wq_b);
        } else {
            MAT("attn_q.weight", c->n_head * qk, E, true, &L->wq_b);
        }
        MAT("attn_kv_a_mqa.weight", kvl + c->qk_rope_head_dim, E, true, &L->wkv_a);
        VEC("attn_kv_a_norm.weight", kvl, true, &L->kv_a_norm);
        const int64_t kv_b_rows = (int64_t)c->n_head * (c->qk_nope_head_dim + c->v_head_dim);
        MAT("attn_kv_b.weight", kv_b_rows, kvl, true, &L->wkv_b);
        MAT("attn_output.weight", E, (int64_t)c->n_head * c->v_head_dim, true, &L->wo);
        return INGOT_OK;
    }
    MAT("attn_q.weight", qd, E, true, &L->wq);
    MAT("attn_k.weight", kd, E, true, &L->wk);
    MAT("attn_v.weight", kd, E, true, &L->wv);
    MAT("attn_output.weight", E, qd, true, &L->wo);
    VEC("attn_q.bias", qd, false, &L->bq);
    VEC("attn_k.bias", kd, false, &L->bk);
    VEC("attn_v.bias", kd, false, &L->bv);
    VEC("attn_output.bias", E, false, &L->bo);
    if (m->qk_norm_mode) {
        const bool full = m->qk_norm_mode == 2;
        VEC("attn_q_norm.weight", full ? qd : hd, true, &L->q_norm);
        VEC("attn_k_norm.weight", full ? kd : hd, true, &L->k_norm);
    }
    return INGOT_OK;
}

static ingot_status bind_moe(ingot_model *m, int l, ingot_err *err) {
    ingot_model_config *c = &m->cfg;
    ingot_layer *L = &m->layers[l];
    char nm[128];
    const int64_t E = c->n_embd, F = c->n_ff_exp;
    MAT("ffn_gate_inp.weight", c->n_expert, E, true, &L->gate_inp);
    VEC("exp_probs_b.bias", c->n_expert, false, &L->exp_probs_b);
    L->exp.gate = ingot_calloc((size_t)c->n_expert * 3, sizeof(ingot_mat));
    INGOT_FAIL_IF(!L->exp.gate, err, INGOT_E_NOMEM, "out of memory for layer %d experts", l);
    L->exp.up = L->exp.gate + c->n_expert;
    L->exp.down = L->exp.up + c->n_expert;
    for (int e = 0; e < c->n_expert; e++) {
        EXP("ffn_gate.weight", F, E, true, &L->exp.gate[e]);
        EXP("ffn_up.weight", F, E, true, &L->exp.up[e]);
        EXP("ffn_down.weight", E, F, true, &L->exp.down[e]);
    }
    // Shared experts: the width comes from the tensor when the metadata omits it.
    const void *data;
    const ingot_tensor_info *t = find(m, NAME(nm, "blk.%d.ffn_up_shexp.weight", l), &data);
    if (!t) return INGOT_OK;
    INGOT_FAIL_IF(t->n_dims != 2 || t->dims[0] == 0 || t->dims[0] > (1u << 24), err, INGOT_E_FORMAT,
                  "tensor '%s': bad shape", nm);
    if (c->n_ff_shexp <= 0) c->n_ff_shexp = (int)t->dims[0];
    const int64_t S = c->n_ff_shexp;
    MAT("ffn_gate_shexp.weight", S, E, true, &L->shexp_gate);
    MAT("ffn_up_shexp.weight", S, E, true, &L->shexp_up);
    MAT("ffn_down_shexp.weight", E, S, true, &L->shexp_down);
    MAT("ffn_gate_inp_shexp.weight", 1, E, false, &L->gate_inp_shexp);
    return INGOT_OK;
}

static ingot_status bind_layer(ingot_model *m, int l, ingot_err *err) {
    const ingot_model_config *c = &m->cfg;
    ingot_layer *L = &m->layers[l];
    char nm[128];
    VEC("attn_norm.weight", c->n_embd, true, &L->attn_norm);
    INGOT_FORWARD_IF_ERROR(bind_attention(m, l, err));
    VEC("ffn_norm.weight", c->n_embd, true, &L->ffn_norm);
    if (L->is_moe) return bind_moe(m, l, err);
    INGOT_FAIL_IF(c->n_ff <= 0, err, INGOT_E_FORMAT, "metadata: layer %d is dense but n_ff is %d", l, c->n_ff);
    MAT("ffn_gate.weight", c->n_ff, c->n_embd, true, &L->ffn_gate);
    MAT("ffn_up.weight", c->n_ff, c->n_embd, true, &L->ffn_up);
    MAT("ffn_down.weight", c->n_embd, c->n_ff, true, &L->ffn_down);
    return INGOT_OK;
}

static ingot_status bind_tensors(ingot_model *m, ingot_err *err) {
    const ingot_model_config *c = &m->cfg;
    // Arena for every rank-1 tensor (and [1, n] gates), decoded once.
    size_t cap = 0;
    for (size_t i = 0; i < ingot_container_n_tensors(m->c); i++) {
        const ingot_tensor_info *t = ingot_container_tensor(m->c, i);
        if (t->n_dims == 1 || (t->n_dims == 2 && t->dims[0] == 1)) cap += t->n_dims == 1 ? t->dims[0] : t->dims[1];
    }
    m->vec_arena = ingot_malloc((cap ? cap : 1) * sizeof(float));
    INGOT_FAIL_IF(!m->vec_arena, err, INGOT_E_NOMEM, "out of memory for %zu norm/bias values", cap);
    m->vec_cap = cap;
    INGOT_FORWARD_IF_ERROR(bind_mat(m, "token_embd.weight", c->n_vocab, c->n_embd, true, &m->tok_embd, err));
    INGOT_FORWARD_IF_ERROR(bind_vec(m, "output_norm.weight", c->n_embd, true, &m->output_norm, err));
    INGOT_FORWARD_IF_ERROR(bind_mat(m, "output.weight", c->n_vocab, c->n_embd, !c->tie_embeddings, &m->output, err));
    if (!m->output.data) m->output = m->tok_embd;
    for (int l = 0; l < c->n_layer; l++) {
        ingot_status st = bind_layer(m, l, err);
        if (st) return st;
    }
    return INGOT_OK;
}

// ---- public ---------------------------------------------------------------------------

ingot_status ingot_model_open_container(ingot_container *c, ingot_model **out, ingot_err *err) {
    *out = NULL;
    INGOT_FAIL_IF(!c, err, INGOT_E_ARG, "no container");
    ingot_model *m = ingot_calloc(1, sizeof *m);
    INGOT_FAIL_IF(!m, err, INGOT_E_NOMEM, "out of memory opening a model");
    m->c = c;
    ingot_status st = parse_metadata(m, err);
    if (!st) st = bind_tensors(m, err);
    if (!st) st = ingot_engram_attach(m, err); // Engram layers: runner/engram_model.c
    if (st) {
        ingot_model_close(m);
        return st;
    }
    *out = m;
    return INGOT_OK;
}

ingot_status ingot_model_open(const char *path, ingot_model **out, ingot_err *err) {
    *out = NULL;
    ingot_container *c = NULL;
    ingot_status st = ingot_container_open(path, 0, &c, err);
    if (st) return st;
    st = ingot_model_open_container(c, out, err);
    if (st) {
        ingot_err_prefix(err, "%s", path);
        ingot_container_close(c);
        return st;
    }
    (*out)->owns_container = true;
    return INGOT_OK;
}

void ingot_model_close(ingot_model *m) {
    if (!m) return;
    for (int l = 0; m->layers && l < m->cfg.n_layer; l++) ingot_free(m->layers[l].exp.gate);
    ingot_free(m->layers);
    ingot_engram_detach(m);
    ingot_free(m->vec_arena);
    if (m->owns_container) ingot_container_close(m->c);
    ingot_free(m);
}

const ingot_model_config *ingot_model_get_config(const ingot_model *m) { return &m->cfg; }

const ingot_container *ingot_model_container(const ingot_model *m) { return m->c; }

bool ingot_model_is_eos(const ingot_model *m, int32_t token) {
    for (int i = 0; i < m->cfg.n_eos; i++)
        if (m->cfg.eos[i] == token) return true;
    return false;
}

static uint64_t mat_bytes(const ingot_mat *w) {
    if (!w->data) return 0;
    if (w->row_bytes) return (uint64_t)w->rows * w->row_bytes;
    return (uint64_t)w->rows * (uint64_t)w->cols + 4 * (uint64_t)((w->rows + 127) / 128) * ((w->cols + 127) / 128);
}

uint64_t ingot_model_decode_bytes(const ingot_model *m) {
    const ingot_model_config *c = &m->cfg;
    uint64_t b = mat_bytes(&m->output) + (uint64_t)c->n_embd * 4; // + one embedding row, roughly
    for (int l = 0; l < c->n_layer; l++) {
        const ingot_layer *L = &m->layers[l];
        const ingot_mat *dense[] = {&L->wq,       &L->wk,       &L->wv,         &L->wo,         &L->wq_a,
                                    &L->wq_b,     &L->wkv_a,    &L->wkv_b,      &L->ffn_gate,   &L->ffn_up,
                                    &L->ffn_down, &L->gate_inp, &L->shexp_gate, &L->shexp_up, &L->shexp_down,
                                    &L->gate_inp_shexp};
        for (size_t i = 0; i < sizeof dense / sizeof *dense; i++) b += mat_bytes(dense[i]);
        if (L->is_moe) // experts are alike: count n_expert_used of them
            b += (uint64_t)c->n_expert_used *
                 (mat_bytes(&L->exp.gate[0]) + mat_bytes(&L->exp.up[0]) + mat_bytes(&L->exp.down[0]));
    }
    return b;
}
