// Fuzz target: the model.safetensors.index.json parser on arbitrary bytes.
// A successful parse must give name-sorted, unique tensors whose shard ids
// are in range.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ingot_st_index ix;
    ingot_err err = {0};
    if (ingot_st_index_parse(data, size, "fuzz.index.json", &ix, &err) != INGOT_OK) {
        if (ix.n || ix.tensor) abort();
        return 0;
    }
    for (size_t i = 0; i < ix.n; i++) {
        if (ix.shard[i] >= ix.n_shards) abort();
        if (i && strcmp(ix.tensor[i - 1], ix.tensor[i]) >= 0) abort();
    }
    ingot_st_index_deinit(&ix);
    return 0;
}
