// Engram consistency of a .ingot: the stored parameters must be internally
// consistent (the runner's validating reader), agree with the tables and the
// compression map they describe, and equal what the Engram algorithm
// recomputes from the stored seed and base sizes.
#include <stdio.h>
#include <string.h>

#include "ingot/engram.h"
#include "verify_internal.h"

// Rebuild the multipliers and primes from the recorded seed and base sizes
// and compare them with the stored ones.
static void recompute(const ingot_engram_params *p, ingot_verify_report *r) {
    if (p->seed < 0) {
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1,
                           "engram metadata records no seed and base sizes; multipliers and primes cannot be "
                           "recomputed");
        return;
    }
    ingot_engram_config c;
    memset(&c, 0, sizeof c);
    c.variant = p->variant;
    c.n_layers = p->n_layers;
    for (uint32_t i = 0; i < p->n_layers; i++) c.layer_ids[i] = p->layers[i].layer;
    c.max_ngram = p->max_ngram;
    c.n_head = p->n_head;
    c.d_h = p->d_h;
    for (uint32_t n = 2; n <= p->max_ngram; n++) c.base[n - 2] = p->base[n - 2];
    c.kernel_size = p->kernel_size;
    c.pad_id = p->pad_id;
    c.seed = p->seed;
    c.compressed_vocab = (int64_t)p->compressed_vocab;
    c.hc_mult = p->hc_mult;
    c.d_model = p->d_model;
    ingot_engram_params q;
    ingot_err err = {0};
    if (ingot_engram_params_build(&c, p->vocab, p->compressed_vocab, p->pad_compressed, &q, &err) != INGOT_OK) {
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "engram: recomputing the parameters failed: %s", err.msg);
        return;
    }
    uint32_t cols = ingot_engram_n_cols(p);
    for (uint32_t i = 0; i < p->n_layers; i++) {
        const ingot_engram_layer *a = &p->layers[i], *b = &q.layers[i];
        for (uint32_t k = 0; k < p->max_ngram; k++)
            if (a->mult[k] != b->mult[k])
                verify_add_problem(r, INGOT_E_MISMATCH, NULL, -1,
                                   "engram layer %d: stored multiplier %u is %llu, recomputed %llu", a->layer, k,
                                   (unsigned long long)a->mult[k], (unsigned long long)b->mult[k]);
        for (uint32_t j = 0; j < cols; j++)
            if (a->prime[j] != b->prime[j])
                verify_add_problem(r, INGOT_E_MISMATCH, NULL, -1,
                                   "engram layer %d: stored prime of column %u is %llu, recomputed %llu", a->layer, j,
                                   (unsigned long long)a->prime[j], (unsigned long long)b->prime[j]);
    }
}

void verify_engram_consistency(const ingot_container *c, const cJSON *meta, ingot_verify_report *r) {
    const cJSON *eg = cJSON_GetObjectItemCaseSensitive(meta, "engram");
    if (!eg || cJSON_IsNull(eg)) return;
    char *text = cJSON_PrintUnformatted(eg);
    if (!text) {
        verify_add_problem(r, INGOT_E_NOMEM, NULL, -1, "out of memory reading the engram metadata");
        return;
    }
    ingot_engram_params p;
    ingot_err err = {0};
    ingot_status st = ingot_engram_params_from_json(text, strlen(text), &p, &err);
    cJSON_free(text);
    if (st != INGOT_OK) {
        verify_add_problem(r, st, NULL, -1, "engram metadata: %s", err.msg);
        return;
    }
    // compression map: size V, first-occurrence ids below V', pad maps right
    const cJSON *bn = cJSON_GetObjectItemCaseSensitive(eg, "compress_blob");
    const char *blob_name = cJSON_IsString(bn) ? bn->valuestring : "engram.compress";
    const void *blob = NULL;
    size_t blob_n = 0;
    if (!ingot_container_find_blob(c, blob_name, &blob, &blob_n))
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "engram compression map blob '%s' is missing", blob_name);
    else if (ingot_engram_lookup_check(blob, blob_n, &p, &err) != INGOT_OK)
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "%s", err.msg);
    // tables: rows = Σ primes, width d_h
    for (uint32_t i = 0; i < p.n_layers; i++) {
        char name[96];
        snprintf(name, sizeof name, "blk.%d.engram.table", p.layers[i].layer);
        int64_t k = ingot_container_find_tensor(c, name);
        if (k < 0) {
            verify_add_problem(r, INGOT_E_FORMAT, name, -1, "engram table '%s' is missing", name);
            continue;
        }
        const ingot_tensor_info *t = ingot_container_tensor(c, (size_t)k);
        if (t->n_dims != 2 || t->dims[0] != p.layers[i].n_rows || t->dims[1] != p.d_h)
            verify_add_problem(r, INGOT_E_FORMAT, name, (int64_t)t->off,
                               "engram table '%s' is [%llu, %llu]; the metadata needs [%llu, %u] (rows = sum of the "
                               "primes)",
                               name, (unsigned long long)t->dims[0], (unsigned long long)(t->n_dims > 1 ? t->dims[1] : 0),
                               (unsigned long long)p.layers[i].n_rows, p.d_h);
    }
    recompute(&p, r);
}
