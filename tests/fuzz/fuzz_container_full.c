// Fuzz target: a whole .ingot from memory, as the runner meets it. The input
// is the file; it is opened with INGOT_OPEN_VERIFY (every tensor and blob
// checksum), every tensor, region, blob and the metadata JSON are walked,
// then the runner binds it (ingot_model_open_container: metadata hparams,
// tensor shapes, Engram parameters and compression map) and, when that
// succeeds, runs one token through the model. Each input runs twice: as it
// is, and with every tensor and blob checksum, file_size and the head
// checksum recomputed, so mutations of the metadata and of tensor bytes reach
// the runner. Promises checked: tensors and blobs inside the file, tensors of
// a region inside that region, names found by lookup, metadata a JSON object.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "container_internal.h"
#include "ingot/container.h"
#include "ingot/runner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const ingot_err *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || !err->msg[0]) abort();
}

static void walk(const ingot_container *c, const uint8_t *buf, size_t size) {
    if (ingot_container_file_size(c) != size || ingot_container_base(c) != buf) abort();
    const size_t n_regions = ingot_container_n_regions(c);
    for (size_t i = 0; i < ingot_container_n_tensors(c); i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        if (t->off % INGOT_TENSOR_ALIGN || t->off > size || t->size > size - t->off) abort();
        if ((const uint8_t *)ingot_container_tensor_data(c, i) != buf + t->off) abort();
        if (ingot_container_find_tensor(c, t->name) != (int64_t)i) abort();
        if (t->n_dims > INGOT_MAX_DIMS || t->region >= n_regions) abort();
        const ingot_region_info *r = ingot_container_region(c, t->region);
        if (t->off < r->off || t->off - r->off > r->size || t->size > r->size - (t->off - r->off)) abort();
    }
    for (size_t i = 0; i < n_regions; i++) {
        const ingot_region_info *r = ingot_container_region(c, i);
        if (r->off % INGOT_REGION_ALIGN || r->off > size || r->size > size - r->off || r->kind >= INGOT_REGION_COUNT)
            abort();
    }
    for (size_t i = 0; i < ingot_container_n_blobs(c); i++) {
        const char *name;
        const void *p, *q;
        size_t n, m;
        ingot_container_blob(c, i, &name, &p, &n);
        if (!name || (const uint8_t *)p < buf || n > size || (size_t)((const uint8_t *)p - buf) > size - n) abort();
        if (!ingot_container_find_blob(c, name, &q, &m) || q != p || m != n) abort();
    }
    size_t mn;
    const char *meta = ingot_container_metadata(c, &mn);
    if (!meta || strlen(meta) != mn) abort();
    cJSON *j = cJSON_ParseWithLength(meta, mn);
    cJSON_Delete(j);
}

static void run_model(ingot_container *c) {
    ingot_model *m = NULL;
    ingot_err err = {0};
    if (ingot_model_open_container(c, &m, &err) != INGOT_OK) {
        if (m) abort();
        check_error(&err);
        return;
    }
    const ingot_model_config *cfg = ingot_model_get_config(m);
    if (!cfg || cfg->n_vocab < 1 || cfg->n_layer < 1 || cfg->n_embd < 1) abort();
    ingot_state *s = NULL;
    if (ingot_state_create(m, 2, 1, NULL, &s, &err) == INGOT_OK) {
        const int32_t tok = cfg->n_vocab - 1;
        if (ingot_model_forward(m, s, &tok, 1, 0, 0, &err) == INGOT_OK) {
            int rows = 0;
            if (!ingot_state_logits(s, &rows) || rows != 1) abort();
        } else {
            check_error(&err);
        }
        // Out of range: refused, never read.
        const int32_t bad = cfg->n_vocab;
        if (ingot_model_forward(m, s, &bad, 1, 1, 0, &err) == INGOT_OK) abort();
        ingot_state_free(s);
    } else {
        check_error(&err);
    }
    ingot_model_close(m);
}

static void check_open(const uint8_t *buf, size_t size) {
    ingot_container *c = NULL;
    ingot_err err = {0};
    if (ingot_container_open_buffer(buf, size, INGOT_OPEN_VERIFY, &c, &err) != INGOT_OK) {
        if (c) abort();
        check_error(&err);
        return;
    }
    walk(c, buf, size);
    run_model(c);
    ingot_container_close(c);
}

static uint64_t get_u64_at(const uint8_t *buf, size_t size, uint64_t off) {
    return off <= size && size - off >= 8 ? ingot_ct_get_u64(buf + off) : 0;
}

// Recomputes each tensor's and blob's checksum (those whose entry and bytes
// lie inside the input), then file_size and the head checksum. False when
// the input does not look enough like a container for that.
static bool patch(uint8_t *buf, size_t size) {
    if (size < INGOT_CT_HEADER_SIZE || memcmp(buf, INGOT_CT_MAGIC, 8)) return false;
    const uint64_t head = ingot_ct_get_u64(buf + offsetof(ingot_ct_disk_header, head_size));
    if (head < 40 || head > size) return false;
    const uint64_t index_off = ingot_ct_get_u64(buf + offsetof(ingot_ct_disk_header, index_off));
    const uint64_t blob_off = ingot_ct_get_u64(buf + offsetof(ingot_ct_disk_header, blob_off));
    const uint32_t n_tensors = ingot_ct_get_u32(buf + offsetof(ingot_ct_disk_header, n_tensors));
    const uint32_t n_blobs = ingot_ct_get_u32(buf + offsetof(ingot_ct_disk_header, n_blobs));
    for (uint64_t i = 0; i < n_tensors && index_off <= size && i < (size - index_off) / 80; i++) {
        const uint64_t e = index_off + 80 * i;
        const uint64_t off = get_u64_at(buf, size, e + 56), n = get_u64_at(buf, size, e + 64);
        if (off <= size && n <= size - off && e + 80 <= size)
            ingot_ct_put_u64(buf + e + 72, XXH3_64bits(buf + off, (size_t)n));
    }
    for (uint64_t i = 0; i < n_blobs && blob_off <= size && i < (size - blob_off) / 32; i++) {
        const uint64_t e = blob_off + 32 * i;
        const uint64_t off = get_u64_at(buf, size, e + 8), n = get_u64_at(buf, size, e + 16);
        if (off <= size && n <= size - off && e + 32 <= size)
            ingot_ct_put_u64(buf + e + 24, XXH3_64bits(buf + off, (size_t)n));
    }
    ingot_ct_put_u64(buf + offsetof(ingot_ct_disk_header, file_size), size);
    ingot_ct_put_u64(buf + offsetof(ingot_ct_disk_header, head_xxh3), ingot_ct_head_hash(buf, (size_t)head));
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past the end are caught by ASan.
    uint8_t *buf = calloc(1, size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    check_open(buf, size);
    if (patch(buf, size)) check_open(buf, size);
    free(buf);
    return 0;
}
