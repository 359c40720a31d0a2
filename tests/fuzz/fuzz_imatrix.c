// Fuzz target: ingot_imatrix_parse (importance-matrix files: a safetensors
// header read by quantize/'s own small JSON reader, then F32 values) on
// arbitrary bytes; the whole input is the file. When it parses, lookups of
// plain and per-expert names at several column counts must either fail with
// a message or give values that are finite and not negative.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/quant_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_names[] = {
    "blk.0.attn_q.weight",       "blk.0.ffn_up.weight", "blk.1.exp.0.ffn_up.weight", "blk.1.exp.3.ffn_down.weight",
    "blk.1.exp.99999999999999999999.ffn_up.weight", "output.weight", "token_embd.weight", "a",
};
static const uint64_t k_cols[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

static void check_error(const ingot_err *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || !err->msg[0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past the end are caught by ASan.
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    ingot_imatrix *im = NULL;
    ingot_err err = {0};
    const ingot_status st = ingot_imatrix_parse(buf, size, "fuzz.imatrix", &im, &err);
    // Values are copied: the input can go before the lookups.
    free(buf);
    if (st != INGOT_OK) {
        if (im) abort();
        check_error(&err);
        return 0;
    }
    (void)ingot_imatrix_n_entries(im);
    for (size_t i = 0; i < sizeof k_names / sizeof *k_names; i++) {
        for (size_t j = 0; j < sizeof k_cols / sizeof *k_cols; j++) {
            const float *v = NULL;
            if (ingot_imatrix_find(im, k_names[i], k_cols[j], &v, &err) != INGOT_OK) {
                check_error(&err);
                continue;
            }
            for (uint64_t c = 0; v && c < k_cols[j]; c++)
                if (!isfinite(v[c]) || v[c] < 0) abort();
        }
    }
    ingot_imatrix_free(im);
    return 0;
}
