// Token ids given on the command line or in a JSON file (`--tokens`), the
// input of `ingot logits`, `ingot run --tokens` and the fixtures' tokens.json.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner_internal.h"

static ingot_status ids_from_json(const cJSON *arr, const char *what, int32_t **out, size_t *n, ingot_err *err) {
    INGOT_FAIL_IF(!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0, err, INGOT_E_FORMAT,
                  "%s: expected a non-empty array of token ids", what);
    const size_t cnt = (size_t)cJSON_GetArraySize(arr);
    int32_t *ids = ingot_malloc(cnt * sizeof *ids);
    INGOT_FAIL_IF(!ids, err, INGOT_E_NOMEM, "out of memory for %zu token ids", cnt);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 2147483647.0 ||
            e->valuedouble != (double)(int32_t)e->valuedouble) {
            ingot_free(ids);
            return ingot_err_set(err, INGOT_E_FORMAT, "%s: entry %zu is not a token id", what, i);
        }
        ids[i++] = (int32_t)e->valuedouble;
    }
    *out = ids;
    *n = cnt;
    return INGOT_OK;
}

static ingot_status ids_from_file(const char *path, int32_t **out, size_t *n, ingot_err *err) {
    char *text = NULL;
    size_t len = 0;
    INGOT_FORWARD_IF_ERROR(ingot_file_read_all(path, (size_t)1 << 30, &text, &len, err));
    cJSON *root = cJSON_ParseWithLength(text, len);
    ingot_free(text);
    INGOT_FAIL_IF(!root, err, INGOT_E_FORMAT, "%s: not valid JSON", path);
    const cJSON *arr = root;
    if (cJSON_IsObject(root)) {
        arr = cJSON_GetObjectItemCaseSensitive(root, "input_ids");
        if (!arr) arr = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    }
    const ingot_status st = ids_from_json(arr, path, out, n, err);
    cJSON_Delete(root);
    return st;
}

static ingot_status ids_from_list(const char *spec, int32_t **out, size_t *n, ingot_err *err) {
    size_t cnt = 1;
    for (const char *p = spec; *p; p++) cnt += *p == ',';
    int32_t *ids = ingot_malloc(cnt * sizeof *ids);
    INGOT_FAIL_IF(!ids, err, INGOT_E_NOMEM, "out of memory for %zu token ids", cnt);
    const char *p = spec;
    for (size_t i = 0; i < cnt; i++) {
        char *end;
        errno = 0;
        const long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 2147483647L || (*end && *end != ',')) {
            ingot_free(ids);
            return ingot_err_set(err, INGOT_E_FORMAT, "'%s' is neither a JSON file nor a list of ids like 1,2,3",
                                 spec);
        }
        ids[i] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    *out = ids;
    *n = cnt;
    return INGOT_OK;
}

ingot_status ingot_tokens_parse(const char *spec, int32_t **out, size_t *n, ingot_err *err) {
    *out = NULL;
    *n = 0;
    INGOT_FAIL_IF(!spec || !*spec, err, INGOT_E_FORMAT, "empty token list");
    struct stat st;
    if (stat(spec, &st) == 0) return ids_from_file(spec, out, n, err);
    return ids_from_list(spec, out, n, err);
}
