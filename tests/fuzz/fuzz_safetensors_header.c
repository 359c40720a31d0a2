// Fuzz target: ingot_st_file_parse on arbitrary bytes (the whole input is
// the file). Beyond crashes, it checks the invariants a successful parse
// promises: tensors tile the data area in order and names are C strings.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ingot_st_file *f = NULL;
    ingot_err err = {0};
    if (ingot_st_file_parse(data, size, size, "fuzz.safetensors", &f, &err) != INGOT_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg) || f) abort();
        return 0;
    }
    uint64_t at = ingot_st_file_data_start(f);
    for (size_t i = 0; i < ingot_st_file_n_tensors(f); i++) {
        const ingot_st_tensor *t = ingot_st_file_tensor(f, i);
        if (t->data_off != at || t->n_dims > INGOT_ST_MAX_DIMS || strlen(t->name) > size) abort();
        at += t->size;
    }
    if (at != size) abort();
    for (size_t i = 0; i < ingot_st_file_n_meta(f); i++) {
        const char *k, *v;
        ingot_st_file_meta(f, i, &k, &v);
        if (strlen(k) + strlen(v) > size) abort();
    }
    ingot_st_file_free(f);
    return 0;
}
