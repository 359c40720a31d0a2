// model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map":
// {"tensor": "shard file", ...}}. Parsed with cJSON after the checks cJSON
// does not make: valid UTF-8, no NUL byte, no duplicate key in any object
// (cJSON keeps duplicates as siblings; Python's json keeps the last one, a
// known parser differential), and shard names that stay inside the folder.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

static int ix_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// First duplicate key in any object of the tree, or NULL. *nomem is set when
// the scratch array cannot be allocated.
static const char *ix_find_duplicate(const cJSON *node, bool *nomem) {
    if (cJSON_IsObject(node)) {
        size_t n = 0;
        for (const cJSON *c = node->child; c; c = c->next) n++;
        if (n > 1) {
            const char **keys = ingot_malloc(n * sizeof *keys);
            if (!keys) {
                *nomem = true;
                return NULL;
            }
            size_t k = 0;
            for (const cJSON *c = node->child; c; c = c->next) keys[k++] = c->string ? c->string : "";
            qsort(keys, n, sizeof *keys, ix_cmp_str);
            const char *dup = NULL;
            for (size_t i = 1; i < n && !dup; i++)
                if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
            ingot_free(keys);
            if (dup) return dup;
        }
    }
    if (cJSON_IsObject(node) || cJSON_IsArray(node))
        for (const cJSON *c = node->child; c; c = c->next) {
            const char *d = ix_find_duplicate(c, nomem);
            if (d || *nomem) return d;
        }
    return NULL;
}

// A shard name must be a relative path with no "." or ".." component.
static bool ix_safe_name(const char *s) {
    if (!*s || *s == '/') return false;
    for (const char *p = s; *p;) {
        const char *slash = strchr(p, '/');
        const size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) return false;
        p += len + (slash ? 1 : 0);
        if (slash && !*p) return false;
    }
    return true;
}

typedef struct ix_pair {
    const char *tensor;
    const char *shard;
} ix_pair;

static int ix_cmp_pair(const void *a, const void *b) {
    return strcmp(((const ix_pair *)a)->tensor, ((const ix_pair *)b)->tensor);
}

static ingot_status ix_nomem(const char *name, ingot_err *err) {
    return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", name);
}

// Interns the shard name into ix->shards and returns its index in *out.
static ingot_status ix_shard_id(ingot_st_index *ix, const char *shard, size_t cap, uint32_t *out) {
    for (size_t i = 0; i < ix->n_shards; i++) // shard counts are small (hundreds at most)
        if (strcmp(ix->shards[i], shard) == 0) {
            *out = (uint32_t)i;
            return INGOT_OK;
        }
    if (ix->n_shards == cap) return INGOT_E_NOMEM;
    ix->shards[ix->n_shards] = ingot_strdup(shard);
    if (!ix->shards[ix->n_shards]) return INGOT_E_NOMEM;
    *out = (uint32_t)ix->n_shards++;
    return INGOT_OK;
}

// Fills ix from the weight_map pairs sorted by tensor.
static ingot_status ix_fill(ingot_st_index *ix, const ix_pair *pairs, size_t n, const char *name, ingot_err *err) {
    ix->tensor = ingot_calloc(n ? n : 1, sizeof *ix->tensor);
    ix->shard = ingot_calloc(n ? n : 1, sizeof *ix->shard);
    ix->shards = ingot_calloc(n ? n : 1, sizeof *ix->shards);
    if (!ix->tensor || !ix->shard || !ix->shards) return ix_nomem(name, err);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(pairs[i - 1].tensor, pairs[i].tensor) == 0)
            return ingot_err_set(err, INGOT_E_FORMAT, "%s: weight_map lists tensor '%.200s' twice", name,
                                 pairs[i].tensor);
        ix->n = i + 1; // the arrays are zeroed, so deinit may free a NULL slot
        ix->tensor[i] = ingot_strdup(pairs[i].tensor);
        if (!ix->tensor[i] || ix_shard_id(ix, pairs[i].shard, n, &ix->shard[i]) != INGOT_OK)
            return ix_nomem(name, err);
    }
    ix->n = n;
    return INGOT_OK;
}

// Collects and checks the weight_map entries.
static ingot_status ix_weight_map(const cJSON *wm, ingot_st_index *ix, const char *name, ingot_err *err) {
    INGOT_FAIL_IF(!cJSON_IsObject(wm), err, INGOT_E_FORMAT, "%s: 'weight_map' is missing or not an object", name);
    size_t n = 0;
    for (const cJSON *c = wm->child; c; c = c->next) n++;
    INGOT_FAIL_IF(n == 0, err, INGOT_E_FORMAT, "%s: 'weight_map' is empty", name);
    ix_pair *pairs = ingot_malloc((n ? n : 1) * sizeof *pairs);
    if (!pairs) return ix_nomem(name, err);
    size_t k = 0;
    ingot_status st = INGOT_OK;
    for (const cJSON *c = wm->child; c && st == INGOT_OK; c = c->next, k++) {
        pairs[k].tensor = c->string ? c->string : "";
        pairs[k].shard = cJSON_IsString(c) ? c->valuestring : NULL;
        if (!pairs[k].shard)
            st = ingot_err_set(err, INGOT_E_FORMAT, "%s: weight_map value of tensor '%.200s' is not a string",
                               name, pairs[k].tensor);
        else if (!ix_safe_name(pairs[k].shard))
            st = ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%.200s': shard name '%.200s' is not a plain relative path",
                               name, pairs[k].tensor, pairs[k].shard);
        if (st != INGOT_OK) ingot_err_where(err, name, pairs[k].tensor, -1);
    }
    if (st == INGOT_OK) {
        qsort(pairs, n, sizeof *pairs, ix_cmp_pair);
        st = ix_fill(ix, pairs, n, name, err);
    }
    ingot_free(pairs);
    return st;
}

static ingot_status ix_json(const cJSON *root, ingot_st_index *ix, const char *name, ingot_err *err) {
    INGOT_FAIL_IF(!cJSON_IsObject(root), err, INGOT_E_FORMAT, "%s: index is not a JSON object", name);
    bool nomem = false;
    const char *dup = ix_find_duplicate(root, &nomem);
    if (nomem) return ix_nomem(name, err);
    INGOT_FAIL_IF(dup, err, INGOT_E_FORMAT, "%s: duplicate key '%.200s'", name, dup);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *total = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "total_size") : NULL;
    if (cJSON_IsNumber(total) && total->valuedouble >= 0 && total->valuedouble < 0x1p63) {
        ix->has_total_size = true;
        ix->total_size = (uint64_t)total->valuedouble;
    }
    return ix_weight_map(cJSON_GetObjectItemCaseSensitive(root, "weight_map"), ix, name, err);
}

ingot_status ingot_st_index_parse(const uint8_t *buf, size_t n, const char *name, ingot_st_index *out,
                                  ingot_err *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "model.safetensors.index.json";
    ingot_err_where(err, name, NULL, -1);
    INGOT_FAIL_IF(n > INGOT_ST_INDEX_MAX, err, INGOT_E_LIMIT, "%s: %zu bytes exceeds the limit of %llu", name, n,
                  (unsigned long long)INGOT_ST_INDEX_MAX);
    const size_t bad = ingot_utf8_check(buf, n);
    if (bad != n) {
        ingot_err_where(err, name, NULL, (int64_t)bad);
        return ingot_err_set(err, INGOT_E_FORMAT, "%s: not valid UTF-8 (byte %zu)", name, bad);
    }
    const uint8_t *nul = n ? memchr(buf, 0, n) : NULL;
    if (nul) {
        ingot_err_where(err, name, NULL, nul - buf);
        return ingot_err_set(err, INGOT_E_FORMAT, "%s: NUL byte in JSON (byte %td)", name, nul - buf);
    }
    char *text = ingot_malloc(n + 1);
    if (!text) return ix_nomem(name, err);
    if (n) memcpy(text, buf, n);
    text[n] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n + 1, &end, true);
    ingot_status st;
    if (!root) {
        const ptrdiff_t at = end ? end - text : 0;
        ingot_err_where(err, name, NULL, at);
        st = ingot_err_set(err, INGOT_E_FORMAT, "%s: invalid JSON (byte %td)", name, at);
    } else {
        st = ix_json(root, out, name, err);
    }
    cJSON_Delete(root);
    ingot_free(text);
    if (st != INGOT_OK) ingot_st_index_deinit(out);
    return st;
}

void ingot_st_index_deinit(ingot_st_index *ix) {
    if (!ix) return;
    for (size_t i = 0; i < ix->n; i++) ingot_free(ix->tensor[i]);
    for (size_t i = 0; i < ix->n_shards; i++) ingot_free(ix->shards[i]);
    ingot_free(ix->tensor);
    ingot_free(ix->shard);
    ingot_free(ix->shards);
    memset(ix, 0, sizeof *ix);
}
