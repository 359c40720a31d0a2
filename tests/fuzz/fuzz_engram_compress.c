// Fuzz target: ingot_engram_compress_build, the Engram tokenizer compression
// (convert/engram_compress.c: vocabulary, added tokens, decoder kind, NFKC
// normalisation of every token) on arbitrary bytes; the whole input is a
// tokenizer.json. Promises checked on success: V' ≤ V, and the map holds
// compressed ids in first-occurrence order (each at most one above the
// largest before it) that cover [0, V').
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/engram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past the end are caught by ASan.
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    int32_t *lookup = NULL;
    uint64_t vocab = 0, compressed = 0;
    ingot_err err = {0};
    if (ingot_engram_compress_build(buf, size, &lookup, &vocab, &compressed, &err) != INGOT_OK) {
        if (lookup || !memchr(err.msg, 0, sizeof err.msg) || !err.msg[0]) abort();
    } else {
        if (!lookup || vocab < 1 || compressed < 1 || compressed > vocab) abort();
        int64_t next = 0;
        for (uint64_t i = 0; i < vocab; i++) {
            if (lookup[i] < 0 || lookup[i] > next) abort();
            if (lookup[i] == next) next++;
        }
        if ((uint64_t)next != compressed) abort();
        ingot_free(lookup);
    }
    free(buf);
    return 0;
}
