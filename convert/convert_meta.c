// convert/: the metadata JSON written into every .ingot (docs/MODEL.md):
// normalised description, generation defaults, quantization recipe and
// provenance (source files with sizes and xxh3, command line, the resolved
// per-tensor plan).
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"

void ingot_convert_source_name(const ingot_checkpoint *ck, const ingot_desc_tensor *mt, char *dst, size_t cap) {
    const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, mt->src);
    if (mt->src_off == 0 && mt->src_bytes == t->size) {
        snprintf(dst, cap, "%s", t->name);
        return;
    }
    // A slice of a packed expert tensor: [expert] and, for gate_up, the half.
    const uint64_t part = mt->src_bytes ? mt->src_off / mt->src_bytes : 0;
    const bool gate_up = strstr(t->name, "gate_up_proj") != NULL;
    if (gate_up) snprintf(dst, cap, "%s[%" PRIu64 "].%s", t->name, part / 2, part % 2 ? "up" : "gate");
    else snprintf(dst, cap, "%s[%" PRIu64 "]", t->name, part);
}

// ---- generation defaults --------------------------------------------------

static void copy_num(cJSON *dst, const char *dkey, const cJSON *src, const char *skey) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, skey);
    if (cJSON_IsNumber(v)) cJSON_AddNumberToObject(dst, dkey, v->valuedouble);
}

// generation_config.json first, config.json for what it lacks.
static void meta_generation(cJSON *root, const ingot_checkpoint *ck, const char *config_json, size_t config_n) {
    size_t n = 0;
    const char *gtxt = ingot_checkpoint_aux(ck, "generation_config.json", &n);
    cJSON *gen = gtxt ? cJSON_ParseWithLength(gtxt, n) : NULL;
    cJSON *cfg = config_json ? cJSON_ParseWithLength(config_json, config_n) : NULL;
    cJSON *o = cJSON_AddObjectToObject(root, "generation");
    const cJSON *srcs[2] = {cJSON_IsObject(gen) ? gen : NULL, cJSON_IsObject(cfg) ? cfg : NULL};
    static const char *const keys[] = {"bos_token_id", "pad_token_id", "temperature", "top_k", "top_p"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        for (int s = 0; s < 2; s++)
            if (srcs[s] && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(srcs[s], keys[k]))) {
                copy_num(o, keys[k], srcs[s], keys[k]);
                break;
            }
    for (int s = 0; s < 2; s++) {
        const cJSON *eos = srcs[s] ? cJSON_GetObjectItemCaseSensitive(srcs[s], "eos_token_id") : NULL;
        if (!cJSON_IsNumber(eos) && !cJSON_IsArray(eos)) continue;
        cJSON *arr = cJSON_AddArrayToObject(o, "eos_token_ids");
        if (cJSON_IsNumber(eos)) cJSON_AddItemToArray(arr, cJSON_CreateNumber(eos->valuedouble));
        const cJSON *it;
        if (cJSON_IsArray(eos))
            cJSON_ArrayForEach(it, eos) if (cJSON_IsNumber(it)) cJSON_AddItemToArray(arr, cJSON_CreateNumber(it->valuedouble));
        break;
    }
    const cJSON *ds = srcs[0] ? cJSON_GetObjectItemCaseSensitive(srcs[0], "do_sample") : NULL;
    if (cJSON_IsBool(ds)) cJSON_AddBoolToObject(o, "do_sample", cJSON_IsTrue(ds));
    cJSON_Delete(gen);
    cJSON_Delete(cfg);
}

// ---- recipe and provenance ------------------------------------------------

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void meta_quantization(cJSON *root, const ingot_convert_opts *opts, const char *preset) {
    cJSON *q = cJSON_AddObjectToObject(root, "quantization");
    cJSON_AddStringToObject(q, "preset", preset);
    cJSON *ov = cJSON_AddArrayToObject(q, "overrides");
    for (size_t i = 0; i < opts->n_overrides; i++) cJSON_AddItemToArray(ov, cJSON_CreateString(opts->overrides[i]));
    if (opts->imatrix_path) cJSON_AddStringToObject(q, "imatrix", base_name(opts->imatrix_path));
    else cJSON_AddNullToObject(q, "imatrix");
    if (opts->target_size) cJSON_AddNumberToObject(q, "target_size", (double)opts->target_size);
    if (opts->target_bpw > 0) cJSON_AddNumberToObject(q, "target_bpw", opts->target_bpw);
}

static void meta_provenance(cJSON *root, const ingot_convert_opts *opts, const ingot_model_desc *m,
                            const ingot_checkpoint *ck, const uint64_t *hashes, const ingot_policy_choice *choices) {
    cJSON *p = cJSON_AddObjectToObject(root, "provenance");
    cJSON_AddStringToObject(p, "ingot_version", INGOT_VERSION_STRING);
    cJSON_AddStringToObject(p, "command", opts->command_line ? opts->command_line : "");
    cJSON_AddStringToObject(p, "source", opts->src);
    cJSON *files = cJSON_AddArrayToObject(p, "files");
    for (size_t i = 0; i < ingot_checkpoint_n_shards(ck); i++) {
        const ingot_checkpoint_shard *s = ingot_checkpoint_shard_get(ck, i);
        cJSON *f = cJSON_CreateObject();
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, hashes[i]);
        cJSON_AddStringToObject(f, "name", s->name);
        cJSON_AddNumberToObject(f, "size", (double)s->size);
        cJSON_AddStringToObject(f, "xxh3", hex);
        cJSON_AddItemToArray(files, f);
    }
    cJSON *plan = cJSON_AddArrayToObject(p, "plan");
    for (size_t i = 0; i < ingot_model_desc_n_tensors(m); i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(m, i);
        char src[512];
        ingot_convert_source_name(ck, mt, src, sizeof src);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", mt->name);
        cJSON_AddStringToObject(e, "source", src);
        cJSON_AddStringToObject(e, "type", ingot_dtype_name(choices[i].dtype));
        cJSON_AddNumberToObject(e, "bytes", (double)choices[i].bytes);
        cJSON_AddItemToArray(plan, e);
    }
}

ingot_status ingot_convert_metadata(const ingot_convert_opts *opts, const ingot_model_desc *m,
                                    const ingot_checkpoint *ck, const char *config_json, size_t config_n,
                                    const char *preset, const uint64_t *file_hashes,
                                    const ingot_policy_choice *choices, char **out, size_t *n, ingot_err *err) {
    *out = NULL;
    cJSON *desc = cJSON_Parse(ingot_model_desc_json(m));
    cJSON *root = cJSON_CreateObject();
    if (!desc || !root) {
        cJSON_Delete(desc);
        cJSON_Delete(root);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(root, "format", "ingot");
    static const char *const moved[] = {"arch", "hparams", "layers", "engram"};
    for (size_t i = 0; i < 4; i++)
        if (cJSON_HasObjectItem(desc, moved[i]))
            cJSON_AddItemToObject(root, moved[i], cJSON_DetachItemFromObject(desc, moved[i]));
    cJSON_Delete(desc);
    meta_generation(root, ck, config_json, config_n);
    meta_quantization(root, opts, preset);
    meta_provenance(root, opts, m, ck, file_hashes, choices);
    size_t tn = 0;
    if (ingot_checkpoint_aux(ck, "tokenizer.json", &tn)) cJSON_AddStringToObject(root, "tokenizer", "tokenizer.json");
    if (ingot_checkpoint_aux(ck, "tokenizer_config.json", &tn))
        cJSON_AddStringToObject(root, "tokenizer_config", "tokenizer_config.json");
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    INGOT_FAIL_IF(!txt, err, INGOT_E_NOMEM, "out of memory");
    *n = strlen(txt);
    *out = ingot_malloc(*n + 1);
    if (*out) memcpy(*out, txt, *n + 1);
    cJSON_free(txt);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "out of memory");
    return INGOT_OK;
}
