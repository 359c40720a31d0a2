// Fuzz target: config.json normalisation on arbitrary bytes. The input is the
// text of a config.json; it goes through the converter's config parser
// (architecture, hyper-parameters, RoPE scaling, MoE and per-layer facts), the
// description JSON built from the result, and the Engram config parser. The
// promises checked on success: positive core sizes, every Engram layer id
// inside the layer count, and a description that parses back as JSON with the
// same layer count.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"
#include "ingot/engram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const ingot_err *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || !err->msg[0]) abort();
}

static void check_model(const uint8_t *data, size_t size) {
    ingot_model_desc *m = ingot_calloc(1, sizeof *m);
    if (!m) return;
    m->dropped_head = -1;
    ingot_err err = {0};
    ingot_status st = ingot_model_config_parse(m, (const char *)data, size, &err);
    if (st == INGOT_OK) {
        const ingot_model_hparams *hp = &m->hp;
        if (!m->arch || !hp->n_vocab || !hp->n_embd || !hp->n_layer || !hp->n_head || !m->layers) abort();
        for (size_t i = 0; i < m->n_engram_layer; i++)
            if (m->engram_layer_ids[i] >= hp->n_layer || !m->layers[m->engram_layer_ids[i]].engram) abort();
        st = ingot_model_json_build(m, &err);
        if (st == INGOT_OK) {
            cJSON *j = cJSON_Parse(m->json);
            const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
            if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) != (int)hp->n_layer) abort();
            cJSON_Delete(j);
        }
    }
    if (st != INGOT_OK) check_error(&err);
    ingot_model_desc_free(m);
}

static void check_engram(const uint8_t *data, size_t size) {
    ingot_engram_config cfg;
    bool present = false;
    ingot_err err = {0};
    if (ingot_engram_config_parse((const char *)data, size, &cfg, &present, &err) != INGOT_OK) {
        check_error(&err);
        return;
    }
    if (!present) return;
    if (cfg.n_layers > INGOT_ENGRAM_MAX_LAYERS || cfg.max_ngram < 2 || cfg.max_ngram > INGOT_ENGRAM_MAX_NGRAM ||
        (cfg.max_ngram - 1) * cfg.n_head > INGOT_ENGRAM_MAX_COLS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past the end are caught by ASan.
    uint8_t *buf = calloc(1, size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    check_model(buf, size);
    check_engram(buf, size);
    free(buf);
    return 0;
}
