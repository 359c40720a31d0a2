// Engram on the runner side, part 1: read the metadata `engram` object back
// (validating every number, since a .ingot is untrusted input), check the
// compression-map blob, and hash token windows to table rows.
//
// The hash (docs/ENGRAM.md §Hash): mix_2 = x'_0·m_0 XOR x'_1·m_1,
// mix_n = mix_{n-1} XOR x'_{n-1}·m_{n-1}; row = mix_n mod prime_j + offset_j.
// Products stay below 2^63 because m < floor((2^63-1)/V') and x' < V'.
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/engram.h"

static bool num_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    const double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

static bool str_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsString(v) || !v->valuestring[0]) return false;
    for (const char *c = v->valuestring; *c; c++)
        if (*c < '0' || *c > '9') return false;
    errno = 0;
    char *end = NULL;
    const unsigned long long u = strtoull(v->valuestring, &end, 10);
    if (errno || *end) return false;
    *out = u;
    return true;
}

static ingot_status get_u32(const cJSON *o, const char *key, uint32_t lo, uint32_t hi, uint32_t *out,
                            ingot_err *err) {
    uint64_t u = 0;
    INGOT_FAIL_IF(!num_u64(cJSON_GetObjectItemCaseSensitive(o, key), &u) || u < lo || u > hi, err, INGOT_E_FORMAT,
                  "metadata engram: '%s' missing or outside [%u, %u]", key, lo, hi);
    *out = (uint32_t)u;
    return INGOT_OK;
}

static ingot_status get_u64(const cJSON *o, const char *key, uint64_t *out, ingot_err *err) {
    INGOT_FAIL_IF(!num_u64(cJSON_GetObjectItemCaseSensitive(o, key), out), err, INGOT_E_FORMAT,
                  "metadata engram: '%s' missing or not a non-negative integer", key);
    return INGOT_OK;
}

static ingot_status get_f32(const cJSON *o, const char *key, float *out, ingot_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    INGOT_FAIL_IF(!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1, err, INGOT_E_FORMAT,
                  "metadata engram: '%s' missing or outside [0, 1]", key);
    *out = (float)v->valuedouble;
    return INGOT_OK;
}

static ingot_status parse_header(const cJSON *o, ingot_engram_params *p, ingot_err *err) {
    const cJSON *var = cJSON_GetObjectItemCaseSensitive(o, "variant");
    INGOT_FAIL_IF(!cJSON_IsString(var), err, INGOT_E_FORMAT, "metadata engram: 'variant' missing");
    if (!strcmp(var->valuestring, "demo"))
        p->variant = INGOT_ENGRAM_DEMO;
    else if (!strcmp(var->valuestring, "v4.1"))
        p->variant = INGOT_ENGRAM_V41;
    else
        return ingot_err_set(err, INGOT_E_FORMAT, "metadata engram: unknown variant '%s'", var->valuestring);
    INGOT_FORWARD_IF_ERROR(get_u32(o, "max_ngram", 2, INGOT_ENGRAM_MAX_NGRAM, &p->max_ngram, err));
    INGOT_FORWARD_IF_ERROR(get_u32(o, "n_head", 1, INGOT_ENGRAM_MAX_COLS, &p->n_head, err));
    INGOT_FAIL_IF(ingot_engram_n_cols(p) > INGOT_ENGRAM_MAX_COLS, err, INGOT_E_LIMIT,
                  "metadata engram: %u columns, at most %d", ingot_engram_n_cols(p), INGOT_ENGRAM_MAX_COLS);
    INGOT_FORWARD_IF_ERROR(get_u32(o, "d_h", 1, 1u << 16, &p->d_h, err));
    INGOT_FORWARD_IF_ERROR(get_u32(o, "d_model", 1, 1u << 20, &p->d_model, err));
    INGOT_FORWARD_IF_ERROR(get_u32(o, "hc_mult", 1, INGOT_ENGRAM_MAX_HC, &p->hc_mult, err));
    INGOT_FORWARD_IF_ERROR(get_u32(o, "kernel_size", 0, 64, &p->kernel_size, err));
    INGOT_FORWARD_IF_ERROR(get_u32(o, "dilation", 0, 64, &p->dilation, err));
    INGOT_FAIL_IF(p->kernel_size && !p->dilation, err, INGOT_E_FORMAT, "metadata engram: conv without dilation");
    INGOT_FORWARD_IF_ERROR(get_u64(o, "vocab", &p->vocab, err));
    INGOT_FORWARD_IF_ERROR(get_u64(o, "compressed_vocab", &p->compressed_vocab, err));
    INGOT_FAIL_IF(p->vocab < 1 || p->vocab > (1u << 30) || p->compressed_vocab < 1 ||
                      p->compressed_vocab > p->vocab,
                  err, INGOT_E_FORMAT, "metadata engram: vocab %llu / compressed_vocab %llu out of range",
                  (unsigned long long)p->vocab, (unsigned long long)p->compressed_vocab);
    uint64_t pad = 0;
    INGOT_FORWARD_IF_ERROR(get_u64(o, "pad_id", &pad, err));
    p->pad_id = (int64_t)pad;
    INGOT_FORWARD_IF_ERROR(get_u64(o, "pad_compressed", &p->pad_compressed, err));
    INGOT_FAIL_IF(p->pad_compressed >= p->compressed_vocab, err, INGOT_E_FORMAT,
                  "metadata engram: pad_compressed out of range");
    INGOT_FORWARD_IF_ERROR(get_f32(o, "gate_eps", &p->gate_eps, err));
    INGOT_FORWARD_IF_ERROR(get_f32(o, "conv_eps", &p->conv_eps, err));
    p->sign_zero_positive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "sign_zero_positive"));
    // Provenance of the derived numbers (optional: only verify uses them).
    p->seed = -1;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(o, "seed");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(o, "base_sizes");
    if (cJSON_IsNumber(seed) && seed->valuedouble >= 0 && seed->valuedouble < 9007199254740992.0 &&
        cJSON_IsArray(base) && (uint32_t)cJSON_GetArraySize(base) == p->max_ngram - 1) {
        bool ok = true;
        for (uint32_t n = 2; n <= p->max_ngram && ok; n++) {
            ok = num_u64(cJSON_GetArrayItem(base, (int)(n - 2)), &p->base[n - 2]) && p->base[n - 2] >= 1;
        }
        if (ok) p->seed = (int64_t)seed->valuedouble;
    }
    return INGOT_OK;
}

static ingot_status parse_layer(const cJSON *o, const ingot_engram_params *p, uint32_t li, ingot_engram_layer *L,
                                ingot_err *err) {
    uint32_t layer = 0;
    INGOT_FORWARD_IF_ERROR(get_u32(o, "layer", 0, 1u << 20, &layer, err));
    L->layer = (int32_t)layer;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "multipliers");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "primes");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "offsets");
    const uint32_t cols = ingot_engram_n_cols(p);
    INGOT_FAIL_IF(!cJSON_IsArray(m) || (uint32_t)cJSON_GetArraySize(m) != p->max_ngram, err, INGOT_E_FORMAT,
                  "metadata engram: layers[%u].multipliers must have %u entries", li, p->max_ngram);
    INGOT_FAIL_IF(!cJSON_IsArray(pr) || (uint32_t)cJSON_GetArraySize(pr) != cols || !cJSON_IsArray(of) ||
                      (uint32_t)cJSON_GetArraySize(of) != cols,
                  err, INGOT_E_FORMAT, "metadata engram: layers[%u] primes/offsets must have %u entries", li, cols);
    const uint64_t m_max = (uint64_t)INT64_MAX / p->compressed_vocab;
    for (uint32_t k = 0; k < p->max_ngram; k++) {
        INGOT_FAIL_IF(!str_u64(cJSON_GetArrayItem(m, (int)k), &L->mult[k]) || !(L->mult[k] & 1) ||
                          L->mult[k] >= m_max,
                      err, INGOT_E_FORMAT, "metadata engram: layers[%u].multipliers[%u] invalid (odd, < %llu)", li,
                      k, (unsigned long long)m_max);
    }
    uint64_t sum = 0;
    for (uint32_t j = 0; j < cols; j++) {
        INGOT_FAIL_IF(!num_u64(cJSON_GetArrayItem(pr, (int)j), &L->prime[j]) || L->prime[j] < 2 ||
                          !num_u64(cJSON_GetArrayItem(of, (int)j), &L->offset[j]) || L->offset[j] != sum,
                      err, INGOT_E_FORMAT, "metadata engram: layers[%u] column %u: bad prime or offset", li, j);
        sum += L->prime[j];
    }
    uint64_t n_rows = 0;
    INGOT_FORWARD_IF_ERROR(get_u64(o, "n_rows", &n_rows, err));
    INGOT_FAIL_IF(n_rows != sum, err, INGOT_E_FORMAT, "metadata engram: layers[%u].n_rows %llu != sum of primes %llu",
                  li, (unsigned long long)n_rows, (unsigned long long)sum);
    L->n_rows = sum;
    return INGOT_OK;
}

static ingot_status parse_all(const cJSON *o, ingot_engram_params *p, ingot_err *err) {
    INGOT_FAIL_IF(!cJSON_IsObject(o), err, INGOT_E_FORMAT, "metadata engram: not an object");
    INGOT_FORWARD_IF_ERROR(parse_header(o, p, err));
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(o, "layers");
    INGOT_FAIL_IF(!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1, err, INGOT_E_FORMAT,
                  "metadata engram: 'layers' missing or empty");
    INGOT_FAIL_IF(cJSON_GetArraySize(layers) > INGOT_ENGRAM_MAX_LAYERS, err, INGOT_E_LIMIT,
                  "metadata engram: %d layers, at most %d", cJSON_GetArraySize(layers), INGOT_ENGRAM_MAX_LAYERS);
    p->n_layers = (uint32_t)cJSON_GetArraySize(layers);
    for (uint32_t i = 0; i < p->n_layers; i++) {
        INGOT_FORWARD_IF_ERROR(parse_layer(cJSON_GetArrayItem(layers, (int)i), p, i, &p->layers[i], err));
        for (uint32_t j = 0; j < i; j++)
            INGOT_FAIL_IF(p->layers[j].layer == p->layers[i].layer, err, INGOT_E_FORMAT,
                          "metadata engram: layer %d listed twice", p->layers[i].layer);
    }
    return INGOT_OK;
}

ingot_status ingot_engram_params_from_json(const char *json, size_t n, ingot_engram_params *out, ingot_err *err) {
    INGOT_FAIL_IF(!json || !out, err, INGOT_E_ARG, "engram params: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_ParseWithLength(json, n);
    INGOT_FAIL_IF(!o, err, INGOT_E_FORMAT, "metadata engram: not valid JSON");
    const ingot_status st = parse_all(o, out, err);
    cJSON_Delete(o);
    if (st != INGOT_OK) memset(out, 0, sizeof *out);
    return st;
}

ingot_status ingot_engram_lookup_check(const void *blob, size_t n, const ingot_engram_params *p, ingot_err *err) {
    INGOT_FAIL_IF(!blob || !p, err, INGOT_E_FORMAT, "engram.compress: blob missing");
    INGOT_FAIL_IF(n != p->vocab * 4, err, INGOT_E_FORMAT, "engram.compress: %zu bytes, want %llu (int32 × vocab)", n,
                  (unsigned long long)p->vocab * 4);
    const uint8_t *b = blob;
    int32_t next = 0; // ids appear in first-occurrence order: each is ≤ the largest so far + 1
    int32_t pad = -1;
    for (uint64_t i = 0; i < p->vocab; i++) {
        const int32_t v = (int32_t)((uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                                    (uint32_t)b[4 * i + 3] << 24);
        INGOT_FAIL_IF(v < 0 || v > next || (uint64_t)v >= p->compressed_vocab, err, INGOT_E_FORMAT,
                      "engram.compress: entry %llu = %d is not a first-occurrence compressed id below %llu",
                      (unsigned long long)i, v, (unsigned long long)p->compressed_vocab);
        if (v == next) next++;
        if ((int64_t)i == p->pad_id) pad = v;
    }
    INGOT_FAIL_IF((uint64_t)next != p->compressed_vocab, err, INGOT_E_FORMAT,
                  "engram.compress: %d distinct ids, metadata says %llu", next,
                  (unsigned long long)p->compressed_vocab);
    INGOT_FAIL_IF(pad < 0 || (uint64_t)pad != p->pad_compressed,
                  err, INGOT_E_FORMAT, "engram.compress: pad id %lld does not map to %llu", (long long)p->pad_id,
                  (unsigned long long)p->pad_compressed);
    return INGOT_OK;
}

void ingot_engram_hash_rows(const ingot_engram_params *p, const ingot_engram_layer *L, const uint64_t *window,
                            uint64_t *rows) {
    uint64_t mix = window[0] * L->mult[0];
    for (uint32_t n = 2; n <= p->max_ngram; n++) {
        mix ^= window[n - 1] * L->mult[n - 1];
        for (uint32_t h = 0; h < p->n_head; h++) {
            const uint32_t j = (n - 2) * p->n_head + h;
            rows[j] = mix % L->prime[j] + L->offset[j];
        }
    }
}
