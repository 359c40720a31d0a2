// Engram in the conversion: from config.json and tokenizer.json build the
// compression map and every derived number (convert/engram_params.c,
// convert/engram_compress.c), check them against the checkpoint (V' from the
// config, the table row count, the stored offsets buffer), map the
// model.layers.L.engram.* tensors to canonical names in one ENGRAM region per
// layer, and hand the metadata `engram` object and the `engram.compress`
// blob to the writer.
//
// Two source layouts (docs/ENGRAM.md): the demo's (multi_head_embedding,
// value_proj, key_projs, norm1/norm2, short_conv) and DeepSeek-V4.1's (FP8
// embed + E8M0 row scales, fused FP8 wkv + 32×32 E8M0 tiles split into key
// and value slices, q_weight/k_weight rows as per-stream norms).
//
// Tables are converted like any tensor (row bands streamed through the
// exec engine), so a table is never held in memory; each stored row is one
// table row of d_h values, decodable on its own.
#include <stdio.h>
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"
#include "ingot/engram.h"

struct ingot_engram_desc {
    ingot_engram_config cfg;
    ingot_engram_params p;
    int32_t *lookup; // [p.vocab]
};

void ingot_engram_desc_free(struct ingot_engram_desc *d) {
    if (!d) return;
    ingot_free(d->lookup);
    ingot_free(d);
}

static ingot_status check_layers(const ingot_model_desc *m, const ingot_engram_config *c, ingot_err *err) {
    INGOT_FAIL_IF(c->n_layers != m->n_engram_layer, err, INGOT_E_FORMAT,
                  "config.json: %u engram layers, the model description has %zu", c->n_layers, m->n_engram_layer);
    for (uint32_t i = 0; i < c->n_layers; i++)
        INGOT_FAIL_IF(c->layer_ids[i] < 0 || (uint32_t)c->layer_ids[i] >= m->hp.n_layer, err, INGOT_E_FORMAT,
                      "config.json: engram layer %d outside [0, %u)", c->layer_ids[i], m->hp.n_layer);
    INGOT_FAIL_IF(c->d_model != m->hp.n_embd, err, INGOT_E_FORMAT, "config.json: engram hidden size %u != n_embd %u",
                  c->d_model, m->hp.n_embd);
    return INGOT_OK;
}

static ingot_status build_map(const ingot_model_desc *m, struct ingot_engram_desc *d, ingot_err *err) {
    size_t tn = 0;
    const char *tok = ingot_checkpoint_aux(m->ck, "tokenizer.json", &tn);
    INGOT_FAIL_IF(!tok, err, INGOT_E_FORMAT,
                  "%s: Engram needs tokenizer.json to build its compressed vocabulary, and there is none",
                  ingot_checkpoint_path(m->ck));
    uint64_t V = 0, Vc = 0;
    const ingot_status st = ingot_engram_compress_build(tok, tn, &d->lookup, &V, &Vc, err);
    if (st != INGOT_OK) {
        ingot_err_prefix(err, "%s", ingot_checkpoint_path(m->ck));
        return st;
    }
    INGOT_FAIL_IF(d->cfg.compressed_vocab >= 0 && (uint64_t)d->cfg.compressed_vocab != Vc, err, INGOT_E_FORMAT,
                  "%s: tokenizer and checkpoint disagree: tokenizer.json compresses %llu tokens to %llu ids but "
                  "config.json engram_compressed_vocab_size is %lld (every hash multiplier depends on it)",
                  ingot_checkpoint_path(m->ck), (unsigned long long)V, (unsigned long long)Vc,
                  (long long)d->cfg.compressed_vocab);
    INGOT_FAIL_IF((uint64_t)d->cfg.pad_id >= V, err, INGOT_E_FORMAT,
                  "config.json: engram_pad_id %lld is outside the tokenizer's %llu tokens", (long long)d->cfg.pad_id,
                  (unsigned long long)V);
    return ingot_engram_params_build(&d->cfg, V, Vc, (uint64_t)d->lookup[d->cfg.pad_id], &d->p, err);
}

ingot_status ingot_engram_desc_build(ingot_model_desc *m, const char *config_json, size_t n, ingot_err *err) {
    INGOT_FAIL_IF(!m || !config_json, err, INGOT_E_ARG, "engram: NULL argument");
    struct ingot_engram_desc *d = ingot_calloc(1, sizeof *d);
    INGOT_FAIL_IF(!d, err, INGOT_E_NOMEM, "out of memory");
    bool present = false;
    ingot_status st = ingot_engram_config_parse(config_json, n, &d->cfg, &present, err);
    if (st == INGOT_OK && !present) st = ingot_err_set(err, INGOT_E_FORMAT, "config.json: engram_layer_ids missing");
    if (st == INGOT_OK) st = check_layers(m, &d->cfg, err);
    if (st == INGOT_OK) st = build_map(m, d, err);
    if (st != INGOT_OK) {
        ingot_engram_desc_free(d);
        return st;
    }
    m->engram = d;
    return INGOT_OK;
}

// ---- tensors ------------------------------------------------------------------

static bool plain_float(ingot_dtype t) {
    return t == INGOT_DTYPE_F32 || t == INGOT_DTYPE_F16 || t == INGOT_DTYPE_BF16;
}

// One output tensor: bytes [src_off, src_off + src_bytes) of source tensor
// `src` (its E8M0 scale tensor `scale`, or -1, covers the whole source).
typedef struct eg_out {
    const char *canon;
    int32_t layer;
    int64_t src, scale;
    uint64_t src_off, src_bytes;
    uint32_t n_dims;
    const uint64_t *dims;
} eg_out;

static ingot_status push_part(ingot_model_desc *m, const eg_out *o, ingot_err *err) {
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)o->src);
    INGOT_FAIL_IF(!plain_float(t->dtype) && !(t->dtype == INGOT_DTYPE_F8_E4M3 && o->scale >= 0), err,
                  INGOT_E_UNSUPPORTED,
                  "%s: tensor '%s': dtype %s is not an Engram weight type (F32, F16, BF16, F8_E4M3 with E8M0 scales)",
                  ingot_checkpoint_path(m->ck), t->name, ingot_dtype_name(t->dtype));
    if (m->n_tensors == m->cap_tensors) {
        const size_t cap = m->cap_tensors ? m->cap_tensors * 2 : 256;
        ingot_desc_tensor *nt = ingot_realloc(m->tensors, cap * sizeof *nt);
        INGOT_FAIL_IF(!nt, err, INGOT_E_NOMEM, "out of memory");
        m->tensors = nt;
        m->cap_tensors = cap;
    }
    ingot_desc_tensor mt = {.name = ingot_strdup(o->canon), .role = INGOT_ROLE_ENGRAM,
                            .region = INGOT_REGION_ENGRAM, .layer = o->layer, .expert = -1, .n_dims = o->n_dims,
                            .src = (size_t)o->src, .src_scale = o->scale, .src_dtype = t->dtype,
                            .src_off = o->src_off, .src_bytes = o->src_bytes};
    INGOT_FAIL_IF(!mt.name, err, INGOT_E_NOMEM, "out of memory");
    memcpy(mt.dims, o->dims, o->n_dims * sizeof *o->dims);
    m->tensors[m->n_tensors++] = mt;
    m->used[o->src] = true;
    if (o->scale >= 0) m->used[o->scale] = true;
    return INGOT_OK;
}

static ingot_status push(ingot_model_desc *m, const char *canon, int32_t layer, int64_t src, uint32_t n_dims,
                         const uint64_t *dims, ingot_err *err) {
    const eg_out o = {canon, layer, src, -1, 0, ingot_checkpoint_tensor(m->ck, (size_t)src)->size, n_dims, dims};
    return push_part(m, &o, err);
}

// Find model.layers.L.engram.<hf>, check its shape (elements laid out as
// `want`, which may merge unit dims) and push it as blk.L.engram.<canon>.
static ingot_status map_one(ingot_model_desc *m, int32_t L, const char *hf, const char *canon, uint32_t n_dims,
                            const uint64_t *want, bool required, ingot_err *err) {
    char src[256], dst[160];
    snprintf(src, sizeof src, "model.layers.%d.engram.%s", L, hf);
    snprintf(dst, sizeof dst, "blk.%d.engram.%s", L, canon);
    const int64_t i = ingot_checkpoint_find(m->ck, src);
    if (i < 0) {
        INGOT_FAIL_IF(required, err, INGOT_E_FORMAT, "%s: Engram tensor '%s' is missing",
                      ingot_checkpoint_path(m->ck), src);
        return INGOT_OK;
    }
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)i);
    uint64_t n_src = 1, n_want = 1;
    for (uint32_t k = 0; k < t->n_dims; k++) n_src *= t->dims[k];
    for (uint32_t k = 0; k < n_dims; k++) n_want *= want[k];
    const bool lead_ok = t->n_dims >= 1 && t->dims[0] == want[0];
    if (n_src != n_want || !lead_ok) {
        ingot_err_where(err, ingot_checkpoint_path(m->ck), src, (int64_t)t->data_off);
        return ingot_err_set(err, INGOT_E_FORMAT,
                             "%s: tensor '%s' at offset %llu: %llu elements, want [%llu, %llu] from config.json",
                             ingot_checkpoint_path(m->ck), src, (unsigned long long)t->data_off,
                             (unsigned long long)n_src, (unsigned long long)want[0],
                             (unsigned long long)(n_dims > 1 ? want[1] : 1));
    }
    return push(m, dst, L, i, n_dims, want, err);
}

// The checkpoint's I64 offsets buffer, when present, must equal ours.
static ingot_status check_offsets(ingot_model_desc *m, const ingot_engram_params *p, const ingot_engram_layer *L,
                                  ingot_err *err) {
    char name[256];
    snprintf(name, sizeof name, "model.layers.%d.engram.multi_head_embedding.offsets", L->layer);
    const int64_t i = ingot_checkpoint_find(m->ck, name);
    if (i < 0) return INGOT_OK;
    m->used[i] = true;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)i);
    const uint32_t cols = ingot_engram_n_cols(p);
    INGOT_FAIL_IF(t->dtype != INGOT_DTYPE_I64 || t->n_dims != 1 || t->dims[0] != cols, err, INGOT_E_FORMAT,
                  "%s: tensor '%s' is not I64 [%u]", ingot_checkpoint_path(m->ck), name, cols);
    const uint8_t *b = ingot_checkpoint_tensor_data(m->ck, (size_t)i);
    if (!b) return INGOT_OK; // archive: checked when the runner hashes (offsets are recomputed)
    for (uint32_t j = 0; j < cols; j++) {
        int64_t v;
        memcpy(&v, b + 8 * j, 8);
        if ((uint64_t)v != L->offset[j]) {
            ingot_err_where(err, ingot_checkpoint_path(m->ck), name, (int64_t)(t->data_off + 8 * j));
            return ingot_err_set(err, INGOT_E_FORMAT, "%s: '%s'[%u] = %lld but the prime procedure gives %llu",
                                 ingot_checkpoint_path(m->ck), name, j, (long long)v,
                                 (unsigned long long)L->offset[j]);
        }
    }
    return INGOT_OK;
}

static ingot_status check_table(ingot_model_desc *m, const ingot_engram_params *p, const ingot_engram_layer *L,
                                ingot_err *err) {
    char name[256];
    snprintf(name, sizeof name, "model.layers.%d.engram.multi_head_embedding.embedding.weight", L->layer);
    const int64_t i = ingot_checkpoint_find(m->ck, name);
    INGOT_FAIL_IF(i < 0, err, INGOT_E_FORMAT, "%s: Engram table '%s' is missing", ingot_checkpoint_path(m->ck), name);
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)i);
    if (t->n_dims != 2 || t->dims[0] != L->n_rows || t->dims[1] != p->d_h) {
        ingot_err_where(err, ingot_checkpoint_path(m->ck), name, (int64_t)t->data_off);
        return ingot_err_set(err, INGOT_E_FORMAT,
                             "%s: Engram table '%s' is [%llu, %llu]; the prime table sizes give [%llu, %u]",
                             ingot_checkpoint_path(m->ck), name, (unsigned long long)t->dims[0],
                             (unsigned long long)(t->n_dims > 1 ? t->dims[1] : 0), (unsigned long long)L->n_rows,
                             p->d_h);
    }
    return INGOT_OK;
}

static ingot_status map_layer(ingot_model_desc *m, const ingot_engram_params *p, const ingot_engram_layer *L,
                              ingot_err *err) {
    const int32_t l = L->layer;
    const uint64_t D = p->d_model, d_mem = (uint64_t)ingot_engram_n_cols(p) * p->d_h;
    char hf[128], canon[128];
    INGOT_FORWARD_IF_ERROR(check_table(m, p, L, err));
    INGOT_FORWARD_IF_ERROR(check_offsets(m, p, L, err));
    const uint64_t table[2] = {L->n_rows, p->d_h}, proj[2] = {D, d_mem}, vec[1] = {D};
    INGOT_FORWARD_IF_ERROR(map_one(m, l, "multi_head_embedding.embedding.weight", "table", 2, table, true, err));
    INGOT_FORWARD_IF_ERROR(map_one(m, l, "value_proj.weight", "value.weight", 2, proj, true, err));
    INGOT_FORWARD_IF_ERROR(map_one(m, l, "value_proj.bias", "value.bias", 1, vec, false, err));
    for (uint32_t g = 0; g < p->hc_mult; g++) {
        snprintf(hf, sizeof hf, "key_projs.%u.weight", g);
        snprintf(canon, sizeof canon, "key.%u.weight", g);
        INGOT_FORWARD_IF_ERROR(map_one(m, l, hf, canon, 2, proj, true, err));
        snprintf(hf, sizeof hf, "key_projs.%u.bias", g);
        snprintf(canon, sizeof canon, "key.%u.bias", g);
        INGOT_FORWARD_IF_ERROR(map_one(m, l, hf, canon, 1, vec, false, err));
        snprintf(hf, sizeof hf, "norm1.%u.weight", g);
        snprintf(canon, sizeof canon, "key_norm.%u.weight", g);
        INGOT_FORWARD_IF_ERROR(map_one(m, l, hf, canon, 1, vec, true, err));
        snprintf(hf, sizeof hf, "norm2.%u.weight", g);
        snprintf(canon, sizeof canon, "query_norm.%u.weight", g);
        INGOT_FORWARD_IF_ERROR(map_one(m, l, hf, canon, 1, vec, true, err));
        if (!p->kernel_size) continue;
        snprintf(hf, sizeof hf, "short_conv.norms.%u.weight", g);
        snprintf(canon, sizeof canon, "conv_norm.%u.weight", g);
        INGOT_FORWARD_IF_ERROR(map_one(m, l, hf, canon, 1, vec, true, err));
    }
    if (!p->kernel_size) return INGOT_OK;
    const uint64_t conv[2] = {p->hc_mult * D, p->kernel_size}; // source [G·D, 1, K]
    return map_one(m, l, "short_conv.conv.weight", "conv.weight", 2, conv, true, err);
}

// ---- DeepSeek-V4.1 layout ---------------------------------------------------
// layers.L.engram.{embed.weight + embed.scale, wkv.weight + wkv.scale,
// q_weight, k_weight}, with or without the `model.` prefix. The table keeps
// its row scales (f8_e4m3_r32 under keep); wkv rows [m·D, (m+1)·D) become
// key.m.weight and rows [G·D, (G+1)·D) value.weight, each a slice that reads
// the shared 32×32 scale grid at its own row offset.

static int64_t v41_find(const ingot_model_desc *m, int32_t L, const char *what, char *name, size_t cap) {
    snprintf(name, cap, "model.layers.%d.engram.%s", L, what);
    const int64_t i = ingot_checkpoint_find(m->ck, name);
    if (i >= 0) return i;
    snprintf(name, cap, "layers.%d.engram.%s", L, what);
    return ingot_checkpoint_find(m->ck, name);
}

static ingot_status v41_bad(const ingot_model_desc *m, const char *name, const ingot_st_tensor *t, const char *want,
                            ingot_err *err) {
    ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%s' at offset %llu: %s %uD [%llu, %llu]; want %s",
                  ingot_checkpoint_path(m->ck), name, (unsigned long long)t->data_off, ingot_dtype_name(t->dtype),
                  t->n_dims, (unsigned long long)(t->n_dims ? t->dims[0] : 0),
                  (unsigned long long)(t->n_dims > 1 ? t->dims[1] : 0), want);
    ingot_err_where(err, ingot_checkpoint_path(m->ck), name, (int64_t)t->data_off);
    return INGOT_E_FORMAT;
}

// A 2-D weight [rows, cols] and, for an FP8 one, its E8M0 scale tensor of
// [srows, ceil(cols/32)]; a plain float weight has none. *w, *s: indices.
static ingot_status v41_weight(const ingot_model_desc *m, int32_t L, const char *what, uint64_t rows, uint64_t cols,
                               uint64_t srows, int64_t *w, int64_t *s, ingot_err *err) {
    char name[256], sname[256], want[96];
    char sw[64];
    *w = v41_find(m, L, what, name, sizeof name);
    INGOT_FAIL_IF(*w < 0, err, INGOT_E_FORMAT, "%s: Engram tensor 'layers.%d.engram.%s' is missing",
                  ingot_checkpoint_path(m->ck), L, what);
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)*w);
    snprintf(want, sizeof want, "F8_E4M3 or a float type [%llu, %llu]", (unsigned long long)rows,
             (unsigned long long)cols);
    if (t->n_dims != 2 || t->dims[0] != rows || t->dims[1] != cols ||
        !(plain_float(t->dtype) || t->dtype == INGOT_DTYPE_F8_E4M3))
        return v41_bad(m, name, t, want, err);
    *s = -1;
    if (t->dtype != INGOT_DTYPE_F8_E4M3) return INGOT_OK;
    snprintf(sw, sizeof sw, "%.*s.scale", (int)(strlen(what) - strlen(".weight")), what);
    *s = v41_find(m, L, sw, sname, sizeof sname);
    INGOT_FAIL_IF(*s < 0, err, INGOT_E_FORMAT, "%s: FP8 tensor '%s' has no E8M0 scale tensor 'layers.%d.engram.%s'",
                  ingot_checkpoint_path(m->ck), name, L, sw);
    const ingot_st_tensor *st = ingot_checkpoint_tensor(m->ck, (size_t)*s);
    const uint64_t scols = (cols + 31) / 32;
    snprintf(want, sizeof want, "E8M0 [%llu, %llu]", (unsigned long long)srows, (unsigned long long)scols);
    if (st->dtype != INGOT_DTYPE_E8M0 || st->n_dims != 2 || st->dims[0] != srows || st->dims[1] != scols)
        return v41_bad(m, sname, st, want, err);
    return INGOT_OK;
}

// q_weight / k_weight [G, D]: one [D] norm weight per stream.
static ingot_status v41_norms(ingot_model_desc *m, const ingot_engram_params *p, int32_t L, const char *what,
                              const char *canon, ingot_err *err) {
    char name[256], dst[160], want[64];
    const int64_t i = v41_find(m, L, what, name, sizeof name);
    INGOT_FAIL_IF(i < 0, err, INGOT_E_FORMAT, "%s: Engram tensor 'layers.%d.engram.%s' is missing",
                  ingot_checkpoint_path(m->ck), L, what);
    const ingot_st_tensor *t = ingot_checkpoint_tensor(m->ck, (size_t)i);
    const uint64_t G = p->hc_mult, D = p->d_model;
    const bool flat = t->n_dims == 1 && t->dims[0] == G * D;
    snprintf(want, sizeof want, "a float type [%llu, %llu]", (unsigned long long)G, (unsigned long long)D);
    if (!plain_float(t->dtype) || !(flat || (t->n_dims == 2 && t->dims[0] == G && t->dims[1] == D)))
        return v41_bad(m, name, t, want, err);
    const uint64_t es = ingot_dtype_get(t->dtype)->type_size, vec[1] = {D};
    for (uint32_t g = 0; g < G; g++) {
        snprintf(dst, sizeof dst, "blk.%d.engram.%s.%u.weight", L, canon, g);
        const eg_out o = {dst, L, i, -1, g * D * es, D * es, 1, vec};
        INGOT_FORWARD_IF_ERROR(push_part(m, &o, err));
    }
    return INGOT_OK;
}

static ingot_status map_layer_v41(ingot_model_desc *m, const ingot_engram_params *p, const ingot_engram_layer *L,
                                  ingot_err *err) {
    const int32_t l = L->layer;
    const uint64_t G = p->hc_mult, D = p->d_model, d_mem = (uint64_t)ingot_engram_n_cols(p) * p->d_h;
    char dst[160];
    int64_t w, s;
    INGOT_FAIL_IF(p->d_h % 32, err, INGOT_E_FORMAT, "config.json: engram_head_dim %u is not a multiple of 32", p->d_h);
    INGOT_FORWARD_IF_ERROR(v41_weight(m, l, "embed.weight", L->n_rows, p->d_h, L->n_rows, &w, &s, err));
    const uint64_t table[2] = {L->n_rows, p->d_h}, proj[2] = {D, d_mem};
    snprintf(dst, sizeof dst, "blk.%d.engram.table", l);
    const eg_out tab = {dst, l, w, s, 0, ingot_checkpoint_tensor(m->ck, (size_t)w)->size, 2, table};
    INGOT_FORWARD_IF_ERROR(push_part(m, &tab, err));
    INGOT_FORWARD_IF_ERROR(v41_weight(m, l, "wkv.weight", (G + 1) * D, d_mem, ((G + 1) * D + 31) / 32, &w, &s, err));
    const uint64_t part = D * d_mem * ingot_dtype_get(ingot_checkpoint_tensor(m->ck, (size_t)w)->dtype)->type_size;
    for (uint32_t g = 0; g <= G; g++) {
        if (g < G) snprintf(dst, sizeof dst, "blk.%d.engram.key.%u.weight", l, g);
        else snprintf(dst, sizeof dst, "blk.%d.engram.value.weight", l);
        const eg_out o = {dst, l, w, s, g * part, part, 2, proj};
        INGOT_FORWARD_IF_ERROR(push_part(m, &o, err));
    }
    INGOT_FORWARD_IF_ERROR(v41_norms(m, p, l, "q_weight", "query_norm", err));
    return v41_norms(m, p, l, "k_weight", "key_norm", err);
}

ingot_status ingot_engram_desc_map(ingot_model_desc *m, ingot_err *err) {
    INGOT_FAIL_IF(!m || !m->engram, err, INGOT_E_ARG, "engram: no Engram description");
    const ingot_engram_params *p = &m->engram->p;
    for (uint32_t i = 0; i < p->n_layers; i++) {
        if (p->variant == INGOT_ENGRAM_V41) INGOT_FORWARD_IF_ERROR(map_layer_v41(m, p, &p->layers[i], err));
        else INGOT_FORWARD_IF_ERROR(map_layer(m, p, &p->layers[i], err));
    }
    return INGOT_OK;
}

// ---- metadata and blob ------------------------------------------------------------

ingot_status ingot_engram_desc_json(ingot_model_desc *m, ingot_err *err) {
    INGOT_FAIL_IF(!m || !m->engram || !m->json, err, INGOT_E_ARG, "engram: no Engram description");
    char *eg = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_engram_params_to_json(&m->engram->p, &eg, err));
    cJSON *root = cJSON_Parse(m->json);
    cJSON *obj = cJSON_Parse(eg);
    ingot_free(eg);
    if (!root || !obj || !cJSON_AddItemToObject(root, "engram", obj)) {
        cJSON_Delete(root);
        cJSON_Delete(obj);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    INGOT_FAIL_IF(!txt, err, INGOT_E_NOMEM, "out of memory");
    char *copy = ingot_strdup(txt);
    cJSON_free(txt);
    INGOT_FAIL_IF(!copy, err, INGOT_E_NOMEM, "out of memory");
    ingot_free(m->json);
    m->json = copy;
    return INGOT_OK;
}

ingot_status ingot_engram_desc_add_blobs(const ingot_model_desc *m, ingot_writer *w, ingot_err *err) {
    INGOT_FAIL_IF(!m || !m->engram || !w, err, INGOT_E_ARG, "engram: no Engram description");
    const ingot_engram_params *p = &m->engram->p;
    uint8_t *b = ingot_malloc(p->vocab * 4);
    INGOT_FAIL_IF(!b, err, INGOT_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < p->vocab; i++) {
        const uint32_t v = (uint32_t)m->engram->lookup[i];
        b[4 * i] = (uint8_t)v;
        b[4 * i + 1] = (uint8_t)(v >> 8);
        b[4 * i + 2] = (uint8_t)(v >> 16);
        b[4 * i + 3] = (uint8_t)(v >> 24);
    }
    const ingot_status st = ingot_writer_add_blob(w, "engram.compress", b, p->vocab * 4, err);
    ingot_free(b);
    return st;
}
