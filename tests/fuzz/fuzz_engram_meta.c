// Fuzz target: the runner's reading of Engram metadata. Input layout: the text
// of the metadata `engram` object, then optionally one NUL byte followed by
// the bytes of the `engram.compress` blob (int32 LE per raw token id). The
// object goes through ingot_engram_params_from_json; when it is accepted, the
// blob through ingot_engram_lookup_check. Promises checked on success: every
// column's table lies inside its layer's rows, hashing any window of valid
// compressed ids lands in the column's own table, and the parameters survive
// a write (ingot_engram_params_to_json) and read back unchanged.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/engram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const ingot_err *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || !err->msg[0]) abort();
}

static bool same_params(const ingot_engram_params *a, const ingot_engram_params *b) {
    if (a->variant != b->variant || a->max_ngram != b->max_ngram || a->n_head != b->n_head || a->d_h != b->d_h ||
        a->d_model != b->d_model || a->hc_mult != b->hc_mult || a->kernel_size != b->kernel_size ||
        a->dilation != b->dilation || a->vocab != b->vocab || a->compressed_vocab != b->compressed_vocab ||
        a->pad_id != b->pad_id || a->pad_compressed != b->pad_compressed || a->gate_eps != b->gate_eps ||
        a->conv_eps != b->conv_eps || a->sign_zero_positive != b->sign_zero_positive || a->n_layers != b->n_layers)
        return false;
    const uint32_t cols = ingot_engram_n_cols(a);
    for (uint32_t l = 0; l < a->n_layers; l++) {
        const ingot_engram_layer *x = &a->layers[l], *y = &b->layers[l];
        if (x->layer != y->layer || x->n_rows != y->n_rows ||
            memcmp(x->mult, y->mult, a->max_ngram * sizeof x->mult[0]) ||
            memcmp(x->prime, y->prime, cols * sizeof x->prime[0]) ||
            memcmp(x->offset, y->offset, cols * sizeof x->offset[0]))
            return false;
    }
    return true;
}

static void check_hash(const ingot_engram_params *p, uint64_t seed) {
    const uint32_t cols = ingot_engram_n_cols(p);
    if (cols < 1 || cols > INGOT_ENGRAM_MAX_COLS) abort();
    uint64_t window[INGOT_ENGRAM_MAX_NGRAM];
    uint64_t rows[INGOT_ENGRAM_MAX_COLS];
    for (uint32_t l = 0; l < p->n_layers; l++) {
        const ingot_engram_layer *L = &p->layers[l];
        for (uint32_t j = 0; j < cols; j++)
            if (L->prime[j] < 2 || L->offset[j] > L->n_rows || L->prime[j] > L->n_rows - L->offset[j]) abort();
        // Extremes and a few pseudo-random windows.
        for (int trial = 0; trial < 4; trial++) {
            for (uint32_t k = 0; k < p->max_ngram; k++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                window[k] = trial == 0 ? 0
                            : trial == 1 ? p->compressed_vocab - 1
                            : trial == 2 ? p->pad_compressed
                                         : (seed >> 11) % p->compressed_vocab;
            }
            ingot_engram_hash_rows(p, L, window, rows);
            for (uint32_t j = 0; j < cols; j++)
                if (rows[j] < L->offset[j] || rows[j] - L->offset[j] >= L->prime[j]) abort();
        }
    }
}

static void check_round_trip(const ingot_engram_params *p) {
    char *json = NULL;
    ingot_err err = {0};
    if (ingot_engram_params_to_json(p, &json, &err) != INGOT_OK) return; // out of memory only
    ingot_engram_params *q = malloc(sizeof *q);
    if (q) {
        if (ingot_engram_params_from_json(json, strlen(json), q, &err) != INGOT_OK || !same_params(p, q)) abort();
        free(q);
    }
    ingot_free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;
    const size_t json_n = nul ? (size_t)(nul - data) : size;
    // Private copies so reads past either end are caught by ASan.
    char *json = malloc(json_n ? json_n : 1);
    const size_t blob_n = nul ? size - json_n - 1 : 0;
    uint8_t *blob = nul ? malloc(blob_n ? blob_n : 1) : NULL;
    ingot_engram_params *p = malloc(sizeof *p);
    if (!json || (nul && !blob) || !p) goto done;
    memcpy(json, data, json_n);
    if (blob_n) memcpy(blob, nul + 1, blob_n);
    ingot_err err = {0};
    if (ingot_engram_params_from_json(json, json_n, p, &err) != INGOT_OK) {
        check_error(&err);
        goto done;
    }
    check_hash(p, size);
    check_round_trip(p);
    if (nul) {
        const ingot_status st = ingot_engram_lookup_check(blob, blob_n, p, &err);
        if (st != INGOT_OK) {
            check_error(&err);
        } else {
            // An accepted map: vocab entries, each a compressed id below V'.
            if (blob_n != p->vocab * 4) abort();
            for (uint64_t i = 0; i < p->vocab; i++) {
                const uint8_t *b = blob + 4 * i;
                const uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
                if (v >= p->compressed_vocab) abort();
            }
        }
    }
done:
    free(json);
    free(blob);
    free(p);
    return 0;
}
