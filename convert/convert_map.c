// convert/: Hugging Face tensor names → canonical names (docs/MODEL.md).
// The expected tensor list is generated from the normalised config, so every
// needed tensor is checked for presence and shape; whatever the checkpoint
// holds beyond that list is reported as unexpected. Routed experts become one
// tensor per expert and projection whatever the source layout: per-expert
// (`mlp.experts.E.{gate,up,down}_proj`), Mixtral (`block_sparse_moe.experts.
// E.w1/w3/w2`) or packed transformers 5 (`mlp.experts.gate_up_proj
// [E, 2I, H]` with gate rows first, `down_proj [E, H, I]`).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"
#include "ingot/engram.h"

// ---- helpers --------------------------------------------------------------

static const char *shard_name(const ingot_checkpoint *ck, const ingot_st_tensor *t) {
    const ingot_checkpoint_shard *s = ingot_checkpoint_shard_get(ck, t->file_index);
    return s ? s->name : ingot_checkpoint_path(ck);
}

static void fmt_dims(char *buf, size_t cap, uint32_t n, const uint64_t *dims) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static bool src_dtype_ok(ingot_dtype t) {
    return t == INGOT_DTYPE_F32 || t == INGOT_DTYPE_F16 || t == INGOT_DTYPE_BF16 || t == INGOT_DTYPE_F64 ||
           t == INGOT_DTYPE_F8_E4M3 || t == INGOT_DTYPE_F8_E5M2;
}

static ingot_status tensor_push(ingot_model_desc *m, const ingot_desc_tensor *t, ingot_err *err) {
    if (m->n_tensors == m->cap_tensors) {
        const size_t cap = m->cap_tensors ? m->cap_tensors * 2 : 256;
        ingot_desc_tensor *nt = ingot_realloc(m->tensors, cap * sizeof *nt);
        INGOT_FAIL_IF(!nt, err, INGOT_E_NOMEM, "out of memory");
        m->tensors = nt;
        m->cap_tensors = cap;
    }
    m->tensors[m->n_tensors] = *t;
    m->tensors[m->n_tensors].name = ingot_strdup(t->name);
    INGOT_FAIL_IF(!m->tensors[m->n_tensors].name, err, INGOT_E_NOMEM, "out of memory");
    m->n_tensors++;
    return INGOT_OK;
}

// What the mapper expects of one output tensor.
typedef struct want {
    const char *canon;         // canonical name
    const char *hf;            // source name
    ingot_tensor_role role;
    ingot_region_kind region;
    int32_t layer, expert;
    uint32_t n_dims;
    uint64_t dims[INGOT_MAX_DIMS];
} want;

static ingot_status shape_error(const ingot_model_desc *m, const ingot_st_tensor *t, const want *w, ingot_err *err) {
    char got[96], exp[96];
    fmt_dims(got, sizeof got, t->n_dims, t->dims);
    fmt_dims(exp, sizeof exp, w->n_dims, w->dims);
    ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%s' at offset %llu: shape %s is inconsistent with config.json (expected %s)",
                  shard_name(m->ck, t), t->name, (unsigned long long)t->data_off, got, exp);
    ingot_err_where(err, shard_name(m->ck, t), t->name, (int64_t)t->data_off);
    return INGOT_E_FORMAT;
}

// The FP8 block scale of `t` (DeepSeek `<name>_scale_inv`), checked.
static ingot_status find_scale(ingot_model_desc *m, const ingot_st_tensor *t, int64_t *out, ingot_err *err) {
    char name[512];
    *out = -1;
    snprintf(name, sizeof name, "%s_scale_inv", t->name);
    const int64_t si = ingot_checkpoint_find(m->ck, name);
    if (si < 0 || t->dtype != INGOT_DTYPE_F8_E4M3) return INGOT_OK;
    const ingot_st_tensor *s = ingot_checkpoint_tensor(m->ck, (size_t)si);
    INGOT_FAIL_IF(t->n_dims != 2, err, INGOT_E_FORMAT, "%s: tensor '%s': FP8 block scales need a 2-D weight",
                  shard_name(m->ck, t), t->name);
    const uint64_t r = (t->dims[0] + 127) / 128, c = (t->dims[1] + 127) / 128;
    if (s->n_dims != 2 || s->dims[0] != r || s->dims[1] != c ||
        (s->dtype != INGOT_DTYPE_F32 && s->dtype != INGOT_DTYPE_BF16)) {
        ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%s' at offset %llu: expected F32/BF16 [%llu, %llu] block scales",
                      shard_name(m->ck, s), s->name, (unsigned long long)s->data_off, (unsigned long long)r,
                      (unsigned long long)c);
        ingot_err_where(err, shard_name(m->ck, s), s->name, (int64_t)s->data_off);
        return INGOT_E_FORMAT;
    }
    m->used[si] = true;
    *out = si;
    return INGOT_OK;
}

// Map a whole source tensor. Missing: error when `required`, else skipped.
static ingot_status map_whole(ingot_model_desc *m, const want *w, bool required, ingot_err *err) {
    const int64_t idx = ingot_checkpoint_find(m->ck, w->hf);
    if (idx < 0) {
        if (!required) return INGOT_OK;
        char exp[96];
        fmt_dims(exp, sizeof exp, w->n_dims, w->dims);
        ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%s' %s needed by %s is missing", ingot_checkpoint_path(m->ck),
                      w->hf, exp, m->hp.arch);
        ingot_err_where(err, ingot_checkpoint_path(m->ck), w->hf, -1);
        return INGOT_E_FORMAT;
    }
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)idx);
    bool same = t->n_dims == w->n_dims;
    for (uint32_t i = 0; same && i < w->n_dims; i++) same = t->dims[i] == w->dims[i];
    if (!same) return shape_error(m, t, w, err);
    if (!src_dtype_ok(t->dtype)) {
        ingot_err_set(err, INGOT_E_UNSUPPORTED, "%s: tensor '%s' at offset %llu: dtype %s is not a weight type",
                      shard_name(m->ck, t), t->name, (unsigned long long)t->data_off, ingot_dtype_name(t->dtype));
        ingot_err_where(err, shard_name(m->ck, t), t->name, (int64_t)t->data_off);
        return INGOT_E_UNSUPPORTED;
    }
    ingot_desc_tensor mt = {.name = w->canon, .role = w->role, .region = w->region, .layer = w->layer,
                             .expert = w->expert, .n_dims = w->n_dims, .src = (size_t)idx, .src_scale = -1,
                             .src_dtype = t->dtype, .src_off = 0, .src_bytes = t->size};
    memcpy(mt.dims, w->dims, sizeof mt.dims);
    INGOT_FORWARD_IF_ERROR(find_scale(m, t, &mt.src_scale, err));
    m->used[idx] = true;
    return tensor_push(m, &mt, err);
}

// A global (non-layer) 1-D or 2-D tensor.
static want global_want(const char *canon, const char *hf, ingot_tensor_role role, uint64_t d0, uint64_t d1) {
    const want w = {.canon = canon, .hf = hf, .role = role, .region = INGOT_REGION_DENSE, .layer = -1, .expert = -1,
                    .n_dims = d1 ? 2 : 1, .dims = {d0, d1, 0, 0}};
    return w;
}

// One 1-D/2-D tensor of layer L: canonical "blk.L.<c>", source "model.layers.L.<h>".
static ingot_status map_layer(ingot_model_desc *m, uint32_t L, const char *c, const char *h, ingot_tensor_role role,
                              uint64_t d0, uint64_t d1, bool required, ingot_err *err) {
    char cn[160], hn[320];
    snprintf(cn, sizeof cn, "blk.%u.%s", L, c);
    snprintf(hn, sizeof hn, "model.layers.%u.%s", L, h);
    const want w = {.canon = cn, .hf = hn, .role = role, .region = INGOT_REGION_DENSE, .layer = (int32_t)L,
                    .expert = -1, .n_dims = d1 ? 2 : 1, .dims = {d0, d1, 0, 0}};
    return map_whole(m, &w, required, err);
}

static bool layer_has(const ingot_model_desc *m, uint32_t L, const char *h) {
    char hn[320];
    snprintf(hn, sizeof hn, "model.layers.%u.%s", L, h);
    return ingot_checkpoint_find(m->ck, hn) >= 0;
}

// ---- attention ------------------------------------------------------------

static ingot_status map_attn_plain(ingot_model_desc *m, uint32_t L, ingot_err *err) {
    const ingot_model_hparams *hp = &m->hp;
    const uint64_t E = hp->n_embd, q = (uint64_t)hp->n_head * hp->head_dim, kv = (uint64_t)hp->n_head_kv * hp->head_dim;
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q.weight", "self_attn.q_proj.weight", INGOT_ROLE_ATTN, q, E, true, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_k.weight", "self_attn.k_proj.weight", INGOT_ROLE_ATTN, kv, E, true, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_v.weight", "self_attn.v_proj.weight", INGOT_ROLE_ATTN, kv, E, true, err));
    INGOT_FORWARD_IF_ERROR(
        map_layer(m, L, "attn_output.weight", "self_attn.o_proj.weight", INGOT_ROLE_ATTN_OUT, E, q, true, err));
    // Biases: required when the config implies them, taken when present.
    const bool qkv_b = hp->attn_qkv_bias;
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q.bias", "self_attn.q_proj.bias", INGOT_ROLE_BIAS, q, 0, qkv_b, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_k.bias", "self_attn.k_proj.bias", INGOT_ROLE_BIAS, kv, 0, qkv_b, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_v.bias", "self_attn.v_proj.bias", INGOT_ROLE_BIAS, kv, 0, qkv_b, err));
    INGOT_FORWARD_IF_ERROR(
        map_layer(m, L, "attn_output.bias", "self_attn.o_proj.bias", INGOT_ROLE_BIAS, E, 0, hp->attn_out_bias, err));
    if (hp->attn_qk_norm) {
        const bool full = hp->attn_qk_norm == 2;
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q_norm.weight", "self_attn.q_norm.weight", INGOT_ROLE_NORM,
                                         full ? q : hp->head_dim, 0, true, err));
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_k_norm.weight", "self_attn.k_norm.weight", INGOT_ROLE_NORM,
                                         full ? kv : hp->head_dim, 0, true, err));
    }
    return INGOT_OK;
}

static ingot_status map_attn_mla(ingot_model_desc *m, uint32_t L, ingot_err *err) {
    const ingot_model_hparams *hp = &m->hp;
    const uint64_t E = hp->n_embd, H = hp->n_head;
    const uint64_t qdim = H * (hp->qk_nope_head_dim + hp->qk_rope_head_dim);
    if (hp->q_lora_rank) {
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q_a.weight", "self_attn.q_a_proj.weight", INGOT_ROLE_ATTN,
                                         hp->q_lora_rank, E, true, err));
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight",
                                         INGOT_ROLE_NORM, hp->q_lora_rank, 0, true, err));
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_q_b.weight", "self_attn.q_b_proj.weight", INGOT_ROLE_ATTN, qdim,
                                         hp->q_lora_rank, true, err));
    } else {
        INGOT_FORWARD_IF_ERROR(
            map_layer(m, L, "attn_q.weight", "self_attn.q_proj.weight", INGOT_ROLE_ATTN, qdim, E, true, err));
    }
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight",
                                     INGOT_ROLE_ATTN, (uint64_t)hp->kv_lora_rank + hp->qk_rope_head_dim, E, true, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight", INGOT_ROLE_NORM,
                                     hp->kv_lora_rank, 0, true, err));
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "attn_kv_b.weight", "self_attn.kv_b_proj.weight", INGOT_ROLE_ATTN,
                                     H * (hp->qk_nope_head_dim + hp->v_head_dim), hp->kv_lora_rank, true, err));
    return map_layer(m, L, "attn_output.weight", "self_attn.o_proj.weight", INGOT_ROLE_ATTN_OUT, E,
                     H * hp->v_head_dim, true, err);
}

// ---- feed-forward (dense part) --------------------------------------------

// gate/up/down of a SwiGLU FFN under source prefix `h` ("mlp." or
// "mlp.shared_experts."), canonical suffix `sfx` ("" or "_shexp").
static ingot_status map_ffn(ingot_model_desc *m, uint32_t L, const char *h, const char *sfx, uint64_t ff, ingot_err *err) {
    static const char *const proj[3] = {"gate", "up", "down"};
    for (int i = 0; i < 3; i++) {
        char c[64], hn[160];
        snprintf(c, sizeof c, "ffn_%s%s.weight", proj[i], sfx);
        snprintf(hn, sizeof hn, "%s%s_proj.weight", h, proj[i]);
        const bool down = i == 2;
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, c, hn, down ? INGOT_ROLE_FFN_DOWN : INGOT_ROLE_FFN,
                                         down ? m->hp.n_embd : ff, down ? ff : m->hp.n_embd, true, err));
    }
    return INGOT_OK;
}

static ingot_status map_moe_dense_part(ingot_model_desc *m, uint32_t L, ingot_err *err) {
    const ingot_model_hparams *hp = &m->hp;
    const bool bsm = layer_has(m, L, "block_sparse_moe.gate.weight");
    INGOT_FORWARD_IF_ERROR(map_layer(m, L, "ffn_gate_inp.weight", bsm ? "block_sparse_moe.gate.weight" : "mlp.gate.weight",
                                     INGOT_ROLE_ROUTER, hp->n_expert, hp->n_embd, true, err));
    if (!strcmp(hp->arch, "deepseek_v3"))
        INGOT_FORWARD_IF_ERROR(map_layer(m, L, "exp_probs_b.bias", "mlp.gate.e_score_correction_bias", INGOT_ROLE_BIAS,
                                         hp->n_expert, 0, true, err));
    if (hp->n_shared_expert == 0) return INGOT_OK;
    if (m->arch->family == INGOT_FAMILY_DEEPSEEK)
        return map_ffn(m, L, "mlp.shared_experts.", "_shexp", hp->n_ff_shexp, err);
    INGOT_FORWARD_IF_ERROR(map_ffn(m, L, "mlp.shared_expert.", "_shexp", hp->n_ff_shexp, err));
    return map_layer(m, L, "ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight", INGOT_ROLE_ROUTER, 1,
                     hp->n_embd, true, err);
}

static ingot_status map_layer_dense(ingot_model_desc *m, uint32_t L, ingot_err *err) {
    const uint64_t E = m->hp.n_embd;
    INGOT_FORWARD_IF_ERROR(
        map_layer(m, L, "attn_norm.weight", "input_layernorm.weight", INGOT_ROLE_NORM, E, 0, true, err));
    INGOT_FORWARD_IF_ERROR(m->hp.is_mla ? map_attn_mla(m, L, err) : map_attn_plain(m, L, err));
    INGOT_FORWARD_IF_ERROR(
        map_layer(m, L, "ffn_norm.weight", "post_attention_layernorm.weight", INGOT_ROLE_NORM, E, 0, true, err));
    if (m->layers[L].moe) return map_moe_dense_part(m, L, err);
    INGOT_FAIL_IF(m->hp.n_ff == 0, err, INGOT_E_FORMAT, "config.json: intermediate_size is missing for dense layer %u", L);
    return map_ffn(m, L, "mlp.", "", m->hp.n_ff, err);
}

// ---- routed experts -------------------------------------------------------

typedef enum expert_layout { LAYOUT_PER_EXPERT, LAYOUT_MIXTRAL, LAYOUT_PACKED } expert_layout;

static ingot_status map_experts_split(ingot_model_desc *m, uint32_t L, expert_layout lay, ingot_err *err) {
    static const char *const canon[3] = {"ffn_gate", "ffn_up", "ffn_down"};
    static const char *const qwen[3] = {"gate_proj", "up_proj", "down_proj"};
    static const char *const mixtral[3] = {"w1", "w3", "w2"};
    const uint64_t E = m->hp.n_embd, I = m->hp.n_ff_exp;
    for (uint32_t e = 0; e < m->hp.n_expert; e++) {
        for (int p = 0; p < 3; p++) {
            char cn[160], hn[320];
            snprintf(cn, sizeof cn, "blk.%u.exp.%u.%s.weight", L, e, canon[p]);
            if (lay == LAYOUT_MIXTRAL)
                snprintf(hn, sizeof hn, "model.layers.%u.block_sparse_moe.experts.%u.%s.weight", L, e, mixtral[p]);
            else
                snprintf(hn, sizeof hn, "model.layers.%u.mlp.experts.%u.%s.weight", L, e, qwen[p]);
            const bool down = p == 2;
            const want w = {.canon = cn, .hf = hn, .role = down ? INGOT_ROLE_EXPERT_DOWN : INGOT_ROLE_EXPERT,
                            .region = INGOT_REGION_EXPERTS, .layer = (int32_t)L, .expert = (int32_t)e, .n_dims = 2,
                            .dims = {down ? E : I, down ? I : E, 0, 0}};
            INGOT_FORWARD_IF_ERROR(map_whole(m, &w, true, err));
        }
    }
    return INGOT_OK;
}

// Packed source `hn` of shape [n_expert, rows, cols]; checked and marked used.
static ingot_status packed_source(ingot_model_desc *m, const char *hn, uint64_t rows, uint64_t cols, size_t *idx,
                                  ingot_err *err) {
    const int64_t i = ingot_checkpoint_find(m->ck, hn);
    INGOT_FAIL_IF(i < 0, err, INGOT_E_FORMAT, "%s: tensor '%s' [%u, %llu, %llu] needed by %s is missing",
                  ingot_checkpoint_path(m->ck), hn, m->hp.n_expert, (unsigned long long)rows,
                  (unsigned long long)cols, m->hp.arch);
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)i);
    const want w = {.canon = hn, .hf = hn, .n_dims = 3, .dims = {m->hp.n_expert, rows, cols, 0}};
    if (t->n_dims != 3 || t->dims[0] != m->hp.n_expert || t->dims[1] != rows || t->dims[2] != cols) {
        if (t->n_dims == 3 && t->dims[1] == cols && t->dims[2] == rows && rows != cols) {
            ingot_err_set(err, INGOT_E_UNSUPPORTED,
                          "%s: tensor '%s' at offset %llu: transposed packed expert layout [E, in, out] is not supported",
                          shard_name(m->ck, t), hn, (unsigned long long)t->data_off);
            ingot_err_where(err, shard_name(m->ck, t), hn, (int64_t)t->data_off);
            return INGOT_E_UNSUPPORTED;
        }
        return shape_error(m, t, &w, err);
    }
    INGOT_FAIL_IF(!src_dtype_ok(t->dtype) || t->dtype == INGOT_DTYPE_F8_E4M3, err, INGOT_E_UNSUPPORTED,
                  "%s: tensor '%s': dtype %s is not supported for packed experts", shard_name(m->ck, t), hn,
                  ingot_dtype_name(t->dtype));
    m->used[i] = true;
    *idx = (size_t)i;
    return INGOT_OK;
}

// Packed transformers-5 layout: expert e's gate is rows [0, I) of
// gate_up_proj[e], up is rows [I, 2I) (HF: `gate, up = linear(x,
// gate_up_proj[e]).chunk(2, dim=-1)`); both are contiguous byte ranges.
static ingot_status map_experts_packed(ingot_model_desc *m, uint32_t L, const char *prefix, ingot_err *err) {
    const uint64_t E = m->hp.n_embd, I = m->hp.n_ff_exp;
    char hn[320];
    size_t gu, dn;
    snprintf(hn, sizeof hn, "model.layers.%u.%sexperts.gate_up_proj", L, prefix);
    INGOT_FORWARD_IF_ERROR(packed_source(m, hn, 2 * I, E, &gu, err));
    snprintf(hn, sizeof hn, "model.layers.%u.%sexperts.down_proj", L, prefix);
    INGOT_FORWARD_IF_ERROR(packed_source(m, hn, E, I, &dn, err));
    const ingot_st_tensor *tg = ingot_checkpoint_tensor(m->ck, gu), *td = ingot_checkpoint_tensor(m->ck, dn);
    const uint64_t es_g = tg->size / (m->hp.n_expert * 2 * I * E), es_d = td->size / (m->hp.n_expert * E * I);
    static const char *const canon[3] = {"ffn_gate", "ffn_up", "ffn_down"};
    for (uint32_t e = 0; e < m->hp.n_expert; e++) {
        for (int p = 0; p < 3; p++) {
            char cn[160];
            snprintf(cn, sizeof cn, "blk.%u.exp.%u.%s.weight", L, e, canon[p]);
            const bool down = p == 2;
            ingot_desc_tensor mt = {.name = cn, .role = down ? INGOT_ROLE_EXPERT_DOWN : INGOT_ROLE_EXPERT,
                                     .region = INGOT_REGION_EXPERTS, .layer = (int32_t)L, .expert = (int32_t)e,
                                     .n_dims = 2, .dims = {down ? E : I, down ? I : E, 0, 0}, .src_scale = -1};
            mt.src = down ? dn : gu;
            mt.src_dtype = down ? td->dtype : tg->dtype;
            mt.src_bytes = I * E * (down ? es_d : es_g);
            mt.src_off = down ? e * mt.src_bytes : (2 * e + (uint64_t)p) * mt.src_bytes;
            INGOT_FORWARD_IF_ERROR(tensor_push(m, &mt, err));
        }
    }
    return INGOT_OK;
}

static ingot_status map_layer_experts(ingot_model_desc *m, uint32_t L, ingot_err *err) {
    if (layer_has(m, L, "mlp.experts.gate_up_proj")) return map_experts_packed(m, L, "mlp.", err);
    if (layer_has(m, L, "block_sparse_moe.experts.gate_up_proj"))
        return map_experts_packed(m, L, "block_sparse_moe.", err);
    if (layer_has(m, L, "block_sparse_moe.experts.0.w1.weight")) return map_experts_split(m, L, LAYOUT_MIXTRAL, err);
    return map_experts_split(m, L, LAYOUT_PER_EXPERT, err);
}

// ---- global tensors, tied head, extras ------------------------------------

static ingot_status map_head(ingot_model_desc *m, ingot_err *err) {
    const uint64_t V = m->hp.n_vocab, E = m->hp.n_embd;
    want w = global_want("output_norm.weight", "model.norm.weight", INGOT_ROLE_NORM, E, 0);
    INGOT_FORWARD_IF_ERROR(map_whole(m, &w, true, err));
    const int64_t head = ingot_checkpoint_find(m->ck, "lm_head.weight");
    if (m->hp.tie_embeddings) {
        // transformers ties lm_head to the embedding at load time and never
        // reads a stored copy, so the copy is dropped (see docs/CONVERT.md).
        if (head >= 0) {
            m->used[head] = true;
            m->dropped_head = head;
        }
        return INGOT_OK;
    }
    w = global_want("output.weight", "lm_head.weight", INGOT_ROLE_OUTPUT, V, E);
    return map_whole(m, &w, true, err);
}

static bool name_ignorable(const char *name) {
    const size_t n = strlen(name);
    static const char sfx[] = "rotary_emb.inv_freq";
    return n >= sizeof sfx - 1 && !strcmp(name + n - (sizeof sfx - 1), sfx);
}

static ingot_status collect_extras(ingot_model_desc *m, unsigned flags, ingot_err *err) {
    const size_t n = ingot_checkpoint_n_tensors(m->ck);
    m->extra = ingot_calloc(n + 1, sizeof *m->extra);
    INGOT_FAIL_IF(!m->extra, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (m->used[i]) continue;
        const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, i);
        if (name_ignorable(t->name)) continue;
        if (flags & INGOT_DESCRIBE_STRICT) {
            ingot_err_set(err, INGOT_E_FORMAT, "%s: unexpected tensor '%s' at offset %llu (not used by %s)",
                          shard_name(m->ck, t), t->name, (unsigned long long)t->data_off, m->hp.arch);
            ingot_err_where(err, shard_name(m->ck, t), t->name, (int64_t)t->data_off);
            return INGOT_E_FORMAT;
        }
        ingot_log(INGOT_LOG_WARN, "%s: unexpected tensor '%s' is not converted", shard_name(m->ck, t), t->name);
        m->extra[m->n_extra++] = i;
    }
    return INGOT_OK;
}

static int cmp_by_name(const void *a, const void *b, void *ctx) {
    const ingot_model_desc *m = ctx;
    return strcmp(m->tensors[*(const size_t *)a].name, m->tensors[*(const size_t *)b].name);
}

ingot_status ingot_model_map_tensors(ingot_model_desc *m, unsigned flags, ingot_err *err) {
    const size_t n_src = ingot_checkpoint_n_tensors(m->ck);
    m->used = ingot_calloc(n_src + 1, sizeof *m->used);
    INGOT_FAIL_IF(!m->used, err, INGOT_E_NOMEM, "out of memory");
    const want w = global_want("token_embd.weight", "model.embed_tokens.weight", INGOT_ROLE_EMBED, m->hp.n_vocab,
                               m->hp.n_embd);
    INGOT_FORWARD_IF_ERROR(map_whole(m, &w, true, err));
    for (uint32_t L = 0; L < m->hp.n_layer; L++) INGOT_FORWARD_IF_ERROR(map_layer_dense(m, L, err));
    INGOT_FORWARD_IF_ERROR(map_head(m, err));
    for (uint32_t L = 0; L < m->hp.n_layer; L++)
        if (m->layers[L].moe) INGOT_FORWARD_IF_ERROR(map_layer_experts(m, L, err));
    if (m->engram) INGOT_FORWARD_IF_ERROR(ingot_engram_desc_map(m, err));
    INGOT_FORWARD_IF_ERROR(collect_extras(m, flags, err));
    m->sorted = ingot_malloc((m->n_tensors + 1) * sizeof *m->sorted);
    INGOT_FAIL_IF(!m->sorted, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_tensors; i++) m->sorted[i] = i;
    qsort_r(m->sorted, m->n_tensors, sizeof *m->sorted, cmp_by_name, m);
    return INGOT_OK;
}

// ---- public API -----------------------------------------------------------

ingot_status ingot_model_describe(const ingot_checkpoint *ck, const char *config_json, size_t n, unsigned flags,
                                  ingot_model_desc **out, ingot_err *err) {
    INGOT_FAIL_IF(!ck || !out, err, INGOT_E_ARG, "ingot_model_describe: NULL argument");
    *out = NULL;
    if (!config_json) config_json = ingot_checkpoint_aux(ck, "config.json", &n);
    ingot_model_desc *m = ingot_calloc(1, sizeof *m);
    INGOT_FAIL_IF(!m, err, INGOT_E_NOMEM, "out of memory");
    m->ck = ck;
    m->dropped_head = -1;
    ingot_status st = ingot_model_config_parse(m, config_json, n, err);
    // Engram (convert/engram_map.c): parameters and compression map from
    // config.json and tokenizer.json first, its tensors after the experts
    // (inside ingot_model_map_tensors, before unexpected tensors are
    // collected), then the `engram` object of the description JSON.
    if (st == INGOT_OK && m->hp.has_engram) st = ingot_engram_desc_build(m, config_json, n, err);
    if (st == INGOT_OK) st = ingot_model_map_tensors(m, flags, err);
    if (st == INGOT_OK) st = ingot_model_json_build(m, err);
    if (st == INGOT_OK && m->engram) st = ingot_engram_desc_json(m, err);
    if (st != INGOT_OK) {
        ingot_model_desc_free(m);
        return st;
    }
    *out = m;
    return INGOT_OK;
}

void ingot_model_desc_free(ingot_model_desc *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_tensors; i++) ingot_free((void *)m->tensors[i].name);
    ingot_free(m->tensors);
    ingot_free(m->sorted);
    ingot_free(m->used);
    ingot_free(m->extra);
    ingot_free(m->layers);
    ingot_free(m->engram_layer_ids);
    ingot_engram_desc_free(m->engram);
    ingot_free(m->json);
    cJSON_Delete(m->rope_scaling);
    ingot_free(m);
}

const ingot_model_hparams *ingot_model_desc_hparams(const ingot_model_desc *m) { return &m->hp; }

const ingot_model_layer *ingot_model_desc_layer(const ingot_model_desc *m, uint32_t layer) {
    return layer < m->hp.n_layer ? &m->layers[layer] : NULL;
}

size_t ingot_model_desc_n_tensors(const ingot_model_desc *m) { return m->n_tensors; }

const ingot_desc_tensor *ingot_model_desc_tensor(const ingot_model_desc *m, size_t i) {
    return i < m->n_tensors ? &m->tensors[i] : NULL;
}

int64_t ingot_model_desc_find_tensor(const ingot_model_desc *m, const char *name) {
    size_t lo = 0, hi = m->n_tensors;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(m->tensors[m->sorted[mid]].name, name);
        if (c == 0) return (int64_t)m->sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

size_t ingot_model_desc_n_extra(const ingot_model_desc *m) { return m->n_extra; }
size_t ingot_model_desc_extra(const ingot_model_desc *m, size_t i) { return m->extra[i]; }
const char *ingot_model_desc_json(const ingot_model_desc *m) { return m->json; }
