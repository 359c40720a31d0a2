// Fuzz target: ingot_container_open_buffer on arbitrary bytes (the whole
// input is the file). Each input runs twice: as it is, and with file_size
// and the head checksum patched to match, so mutations reach the table
// checks behind the checksum. A successful open must keep its promises:
// tensors aligned and inside the file, every name found by lookup, blobs and
// metadata inside the file.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container_internal.h"
#include "ingot/container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_open(const uint8_t *buf, size_t size) {
    ingot_container *c = NULL;
    ingot_err err = {0};
    if (ingot_container_open_buffer(buf, size, 0, &c, &err) != INGOT_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg) || c) abort();
        return;
    }
    for (size_t i = 0; i < ingot_container_n_tensors(c); i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        if (t->off % INGOT_TENSOR_ALIGN || t->off > size || t->size > size - t->off) abort();
        if (ingot_container_find_tensor(c, t->name) != (int64_t)i) abort();
        const ingot_status s = ingot_container_verify_tensor(c, i, &err);
        if (s != INGOT_OK && s != INGOT_E_CHECKSUM) abort();
    }
    for (size_t i = 0; i < ingot_container_n_blobs(c); i++) {
        const char *name;
        const void *p;
        size_t n;
        ingot_container_blob(c, i, &name, &p, &n);
        if ((const uint8_t *)p < buf || n > size || (const uint8_t *)p + n > buf + size || !name) abort();
    }
    size_t mn;
    const char *meta = ingot_container_metadata(c, &mn);
    if (!meta || strlen(meta) != mn) abort();
    ingot_container_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past the end are caught by ASan.
    uint8_t *buf = calloc(1, size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    check_open(buf, size);
    if (size >= INGOT_CT_HEADER_SIZE && !memcmp(buf, INGOT_CT_MAGIC, 8)) {
        const uint64_t head = ingot_ct_get_u64(buf + offsetof(ingot_ct_disk_header, head_size));
        ingot_ct_put_u64(buf + offsetof(ingot_ct_disk_header, file_size), size);
        if (head >= 40 && head <= size) {
            ingot_ct_put_u64(buf + offsetof(ingot_ct_disk_header, head_xxh3), ingot_ct_head_hash(buf, (size_t)head));
            check_open(buf, size);
        }
    }
    free(buf);
    return 0;
}
