// Fuzz target: the input is an archive (.tar, .tar.gz, .tar.zst or .zip
// bytes); it is written to a temporary file, opened as a checkpoint and
// streamed. Covers member selection, the top-level folder rule, the index
// cross-check on archive members and the two-pass streaming.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingot/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct walk {
    const ingot_checkpoint *ck;
    uint64_t bytes;
} walk;

static ingot_status on_tensor(void *ctx, size_t i, const uint8_t *data, ingot_err *err) {
    (void)err;
    walk *w = ctx;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(w->ck, i);
    if (!t) abort();
    volatile uint8_t sink = 0;
    for (uint64_t k = 0; k < t->size; k++) sink ^= data[k]; // touches every byte handed out
    (void)sink;
    w->bytes += t->size;
    return INGOT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/ingot-fuzz-%ld.tar", dir, (long)getpid());
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    const size_t w = fwrite(data, 1, size, fp);
    fclose(fp);
    if (w != size) return 0;
    ingot_checkpoint *ck = NULL;
    ingot_err err = {0};
    if (ingot_checkpoint_open(path, &ck, &err) == INGOT_OK) {
        walk wk = {ck, 0};
        if (ingot_checkpoint_foreach(ck, on_tensor, &wk, &err) == INGOT_OK) {
            uint64_t want = 0;
            for (size_t i = 0; i < ingot_checkpoint_n_tensors(ck); i++) want += ingot_checkpoint_tensor(ck, i)->size;
            if (wk.bytes != want) abort();
        }
        ingot_checkpoint_close(ck);
    }
    remove(path);
    return 0;
}
