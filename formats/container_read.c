// formats/: the .ingot reader. Parses from memory (a mapping or a caller's
// buffer), one function per section: header, head checksum, regions, blobs,
// tensor index, sorted name table, metadata. Every field of untrusted input
// is checked before use (style.md §3.3.6); nothing is cast from file bytes.
// Lookup by name is a binary search over the sorted name table.
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "container_internal.h"

#define CONTAINER_MAGIC 0x52544e49u // "INTR"
// Lookup is a binary search over every FENCE-th name (a small table that
// stays in cache across lookups), then over one block of FENCE names, which
// lie next to each other in the string table (sorted order). Still
// O(log n), with a handful of cache misses instead of one per step.
#define FENCE 64

typedef struct reader_blob {
    const char *name;
    const uint8_t *data;
    uint64_t size, xxh3;
} reader_blob;

struct ingot_container {
    uint32_t magic;
    char *path;             // copy, NULL for a buffer
    ingot_file_map map;     // empty for a buffer
    const uint8_t *base;
    uint64_t size;
    ingot_ct_disk_header hdr; // parsed values
    ingot_tensor_info *tensors; // [n_tensors], names point into the mapping
    ingot_region_info *regions; // [n_regions]
    reader_blob *blobs;         // [n_blobs]
    const uint8_t *sorted;      // n_tensors little-endian u32 in the mapping
    const char **by_name;       // [n_tensors] names in sorted order
    const char **fences;        // [ceil(n_tensors / FENCE)] every FENCE-th entry of by_name
    const char *meta;           // NUL-terminated in the mapping
};

static const char *cpath(const ingot_container *c) { return c->path ? c->path : "(buffer)"; }

#define HDR_U32(p, f) ingot_ct_get_u32((p) + offsetof(ingot_ct_disk_header, f))
#define HDR_U64(p, f) ingot_ct_get_u64((p) + offsetof(ingot_ct_disk_header, f))

// ---- header ---------------------------------------------------------------
static ingot_status check_magic_version(const ingot_container *c, ingot_err *err) {
    const uint8_t *p = c->base;
    const size_t n = (size_t)c->size;
    const size_t m = n < 8 ? n : 8;
    if (m == 0 || memcmp(p, INGOT_CT_MAGIC, m) != 0)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, 0, "not an .ingot file (bad magic)");
    if (n >= 12) {
        const uint32_t v = HDR_U32(p, version);
        if (v > INGOT_CONTAINER_VERSION)
            return ingot_ct_fail(err, INGOT_E_UNSUPPORTED, c->path, NULL, 8,
                                 "file format version %u is newer than this reader (%u)", v, INGOT_CONTAINER_VERSION);
        if (v == 0) return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, 8, "file format version 0 is invalid");
    }
    if (n < INGOT_CT_HEADER_SIZE)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)n,
                             "truncated: %zu bytes, the header alone needs %u", n, INGOT_CT_HEADER_SIZE);
    return INGOT_OK;
}

static void read_header(const uint8_t *p, ingot_ct_disk_header *h) {
    memcpy(h->magic, p, 8);
    h->version = HDR_U32(p, version);
    h->header_size = HDR_U32(p, header_size);
    h->file_size = HDR_U64(p, file_size);
    h->head_size = HDR_U64(p, head_size);
    h->head_xxh3 = HDR_U64(p, head_xxh3);
    h->region_off = HDR_U64(p, region_off);
    h->blob_off = HDR_U64(p, blob_off);
    h->index_off = HDR_U64(p, index_off);
    h->sorted_off = HDR_U64(p, sorted_off);
    h->strtab_off = HDR_U64(p, strtab_off);
    h->strtab_size = HDR_U64(p, strtab_size);
    h->meta_off = HDR_U64(p, meta_off);
    h->meta_size = HDR_U64(p, meta_size);
    h->n_tensors = HDR_U32(p, n_tensors);
    h->n_regions = HDR_U32(p, n_regions);
    h->n_blobs = HDR_U32(p, n_blobs);
    h->flags = HDR_U32(p, flags);
    h->reserved = HDR_U64(p, reserved);
}

static ingot_status check_sizes(const ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    const char *P = c->path;
    if (h->header_size != INGOT_CT_HEADER_SIZE)
        return ingot_ct_fail(err, INGOT_E_FORMAT, P, NULL, 12, "header size %u, expected %u", h->header_size,
                             INGOT_CT_HEADER_SIZE);
    if (h->file_size > c->size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, P, NULL, (int64_t)c->size,
                             "truncated: %llu bytes, the header says %llu", (unsigned long long)c->size,
                             (unsigned long long)h->file_size);
    if (h->file_size < c->size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, P, NULL, (int64_t)h->file_size,
                             "%llu bytes after the end recorded in the header",
                             (unsigned long long)(c->size - h->file_size));
    if (h->flags || h->reserved)
        return ingot_ct_fail(err, INGOT_E_FORMAT, P, NULL, 116, "reserved header fields are not zero");
    if (h->head_size < INGOT_CT_HEADER_SIZE + 1 || h->head_size > h->file_size || h->head_size > INGOT_CT_MAX_HEAD)
        return ingot_ct_fail(err, INGOT_E_FORMAT, P, NULL, 24, "head size %llu out of range (file %llu bytes)",
                             (unsigned long long)h->head_size, (unsigned long long)h->file_size);
    return INGOT_OK;
}

static ingot_status check_limits(const ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    if (h->n_tensors > INGOT_CT_MAX_TENSORS)
        return ingot_ct_fail(err, INGOT_E_LIMIT, c->path, NULL, 104, "%u tensors exceeds the limit of %u",
                             h->n_tensors, INGOT_CT_MAX_TENSORS);
    if (h->n_regions > INGOT_CT_MAX_REGIONS || h->n_regions == 0)
        return ingot_ct_fail(err, INGOT_E_LIMIT, c->path, NULL, 108, "%u regions is outside 1..%u", h->n_regions,
                             INGOT_CT_MAX_REGIONS);
    if (h->n_blobs > INGOT_CT_MAX_BLOBS)
        return ingot_ct_fail(err, INGOT_E_LIMIT, c->path, NULL, 112, "%u blobs exceeds the limit of %u", h->n_blobs,
                             INGOT_CT_MAX_BLOBS);
    if (h->strtab_size > INGOT_CT_MAX_STRTAB || h->meta_size > INGOT_CT_MAX_META)
        return ingot_ct_fail(err, INGOT_E_LIMIT, c->path, NULL, 80, "string table or metadata exceeds 1 GiB");
    return INGOT_OK;
}

// Tables lie in the head in this order, 8-aligned, without overlap; the
// metadata and its NUL end exactly at head_size.
static ingot_status check_tables(const ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    const uint64_t offs[6] = {h->region_off, h->blob_off, h->index_off, h->sorted_off, h->strtab_off, h->meta_off};
    const uint64_t lens[6] = {32ull * h->n_regions, 32ull * h->n_blobs, 80ull * h->n_tensors,
                              4ull * h->n_tensors, h->strtab_size, h->meta_size + 1};
    static const char *names[6] = {"region table", "blob table", "tensor index", "sorted names", "string table",
                                   "metadata"};
    uint64_t pos = INGOT_CT_HEADER_SIZE;
    for (int i = 0; i < 6; i++) {
        if (offs[i] % INGOT_CT_TABLE_ALIGN || offs[i] < pos || offs[i] > h->head_size ||
            lens[i] > h->head_size - offs[i])
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)offs[i],
                                 "%s at offset %llu (%llu bytes) is misplaced in a head of %llu bytes", names[i],
                                 (unsigned long long)offs[i], (unsigned long long)lens[i],
                                 (unsigned long long)h->head_size);
        pos = offs[i] + lens[i];
    }
    if (pos != h->head_size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)pos,
                             "metadata ends at %llu, the head at %llu", (unsigned long long)pos,
                             (unsigned long long)h->head_size);
    return INGOT_OK;
}

static ingot_status check_head_hash(const ingot_container *c, ingot_err *err) {
    const uint64_t got = ingot_ct_head_hash(c->base, (size_t)c->hdr.head_size);
    if (got != c->hdr.head_xxh3)
        return ingot_ct_fail(err, INGOT_E_CHECKSUM, c->path, NULL, 32,
                             "header checksum mismatch over bytes [0, %llu): stored %016llx, computed %016llx",
                             (unsigned long long)c->hdr.head_size, (unsigned long long)c->hdr.head_xxh3,
                             (unsigned long long)got);
    return INGOT_OK;
}

// ---- names ----------------------------------------------------------------
// A name in the string table: NUL-terminated exactly at name_len, no inner NUL.
static const char *get_name(const ingot_container *c, uint32_t off, uint32_t len) {
    const uint64_t size = c->hdr.strtab_size;
    if (len == 0 || len > INGOT_CT_MAX_NAME || (uint64_t)off + len >= size) return NULL;
    const char *s = (const char *)c->base + c->hdr.strtab_off + off;
    if (s[len] != 0 || memchr(s, 0, len) != NULL) return NULL;
    return s;
}

// ---- regions --------------------------------------------------------------
static ingot_status parse_regions(ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    c->regions = ingot_calloc(h->n_regions, sizeof *c->regions);
    if (!c->regions) return ingot_ct_fail(err, INGOT_E_NOMEM, c->path, NULL, -1, "out of memory");
    for (uint32_t r = 0; r < h->n_regions; r++) {
        const uint64_t at = h->region_off + 32ull * r;
        const uint8_t *e = c->base + at;
        const uint32_t kind = ingot_ct_get_u32(e + offsetof(ingot_ct_disk_region, kind));
        const int32_t layer = (int32_t)ingot_ct_get_u32(e + offsetof(ingot_ct_disk_region, layer));
        ingot_region_info *R = &c->regions[r];
        R->off = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_region, off));
        R->size = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_region, size));
        if (kind >= INGOT_REGION_COUNT || layer < -1)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)at,
                                 "region %u: kind %u / layer %d invalid", r, kind, (int)layer);
        R->kind = (ingot_region_kind)kind;
        R->layer = layer;
        const uint64_t prev_end = r ? c->regions[r - 1].off + c->regions[r - 1].size : h->head_size;
        if (R->off % INGOT_REGION_ALIGN || R->off < prev_end || R->off > h->file_size ||
            R->size > h->file_size - R->off)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)at,
                                 "region %u at offset %llu (%llu bytes) is misaligned, overlaps or is out of bounds",
                                 r, (unsigned long long)R->off, (unsigned long long)R->size);
    }
    return INGOT_OK;
}

// ---- blobs ----------------------------------------------------------------
static ingot_status parse_blobs(ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    c->blobs = ingot_calloc(h->n_blobs, sizeof *c->blobs);
    if (!c->blobs) return ingot_ct_fail(err, INGOT_E_NOMEM, c->path, NULL, -1, "out of memory");
    uint64_t prev_end = h->head_size;
    const uint64_t limit = c->regions[0].off; // blobs lie between the head and the first region
    for (uint32_t i = 0; i < h->n_blobs; i++) {
        const uint64_t at = h->blob_off + 32ull * i;
        const uint8_t *e = c->base + at;
        reader_blob *b = &c->blobs[i];
        b->name = get_name(c, ingot_ct_get_u32(e + offsetof(ingot_ct_disk_blob, name_off)),
                           ingot_ct_get_u32(e + offsetof(ingot_ct_disk_blob, name_len)));
        const uint64_t off = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_blob, off));
        b->size = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_blob, size));
        b->xxh3 = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_blob, xxh3));
        if (!b->name)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)at, "blob %u: bad name reference", i);
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(c->blobs[k].name, b->name))
                return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, b->name, (int64_t)at, "duplicate blob '%s'",
                                     b->name);
        if (off % INGOT_TENSOR_ALIGN || off < prev_end || off > limit || b->size > limit - off)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, b->name, (int64_t)off,
                                 "blob '%s' at offset %llu (%llu bytes) is misaligned, overlaps or is out of bounds",
                                 b->name, (unsigned long long)off, (unsigned long long)b->size);
        b->data = c->base + off;
        prev_end = off + b->size;
        if (XXH3_64bits(b->data, (size_t)b->size) != b->xxh3)
            return ingot_ct_fail(err, INGOT_E_CHECKSUM, c->path, b->name, (int64_t)off,
                                 "blob '%s' at offset %llu: checksum mismatch", b->name, (unsigned long long)off);
    }
    return INGOT_OK;
}

// ---- tensor index ---------------------------------------------------------
static ingot_status parse_tensor_shape(const ingot_container *c, const uint8_t *e, ingot_tensor_info *t,
                                       uint64_t at, ingot_err *err) {
    const uint32_t dtype = ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, dtype));
    t->n_dims = ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, n_dims));
    if (dtype >= INGOT_DTYPE_COUNT)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at, "tensor '%s': unknown dtype id %u",
                             t->name, dtype);
    t->dtype = (ingot_dtype)dtype;
    if (t->n_dims > INGOT_MAX_DIMS || ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, flags)))
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at,
                             "tensor '%s': rank %u above %u or reserved flags set", t->name, t->n_dims,
                             INGOT_MAX_DIMS);
    for (uint32_t d = 0; d < INGOT_MAX_DIMS; d++) {
        t->dims[d] = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_tensor, dims) + 8 * d);
        if (d >= t->n_dims && t->dims[d])
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at,
                                 "tensor '%s': unused dim %u is not zero", t->name, d);
    }
    uint64_t want;
    ingot_err sub = {0};
    if (ingot_dtype_tensor_bytes(t->dtype, t->n_dims, t->dims, &want, &sub) != INGOT_OK)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at, "tensor '%s': bad shape: %s",
                             t->name, sub.msg);
    if (want != t->size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at,
                             "tensor '%s': %llu bytes recorded, its %s shape needs %llu", t->name,
                             (unsigned long long)t->size, ingot_dtype_name(t->dtype), (unsigned long long)want);
    return INGOT_OK;
}

// Tensors are stored in index order: each starts at or after the end of the
// previous one, inside its own region.
static ingot_status check_tensor_place(const ingot_container *c, const ingot_tensor_info *t, uint32_t r,
                                       uint64_t prev_end, uint64_t at, ingot_err *err) {
    const ingot_region_info *R = &c->regions[r];
    if (t->region != r)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)at,
                             "tensor '%s': region %u, but it lies in region %u's range of the index", t->name,
                             t->region, r);
    if (t->off % INGOT_TENSOR_ALIGN)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)t->off,
                             "tensor '%s': offset %llu is not a multiple of %u", t->name,
                             (unsigned long long)t->off, INGOT_TENSOR_ALIGN);
    if (t->off < R->off || t->off > R->off + R->size || t->size > R->off + R->size - t->off)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)t->off,
                             "tensor '%s': bytes [%llu, +%llu) fall outside region %u [%llu, +%llu)", t->name,
                             (unsigned long long)t->off, (unsigned long long)t->size, r, (unsigned long long)R->off,
                             (unsigned long long)R->size);
    if (t->off < prev_end)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, t->name, (int64_t)t->off,
                             "tensor '%s': offset %llu overlaps the previous tensor (ends at %llu)", t->name,
                             (unsigned long long)t->off, (unsigned long long)prev_end);
    return INGOT_OK;
}

static ingot_status parse_tensors(ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    c->tensors = ingot_calloc(h->n_tensors, sizeof *c->tensors);
    if (!c->tensors) return ingot_ct_fail(err, INGOT_E_NOMEM, c->path, NULL, -1, "out of memory");
    uint64_t prev_end = 0;
    uint32_t i = 0;
    for (uint32_t r = 0; r < h->n_regions; r++) {
        const uint8_t *re = c->base + h->region_off + 32ull * r;
        const uint32_t first = ingot_ct_get_u32(re + offsetof(ingot_ct_disk_region, first_tensor));
        const uint32_t count = ingot_ct_get_u32(re + offsetof(ingot_ct_disk_region, n_tensors));
        if (first != i || count > h->n_tensors - i)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)(h->region_off + 32ull * r),
                                 "region %u: tensors [%u, +%u) do not follow on from %u", r, first, count, i);
        for (uint32_t k = 0; k < count; k++, i++) {
            const uint64_t at = h->index_off + 80ull * i;
            const uint8_t *e = c->base + at;
            ingot_tensor_info *t = &c->tensors[i];
            t->name = get_name(c, ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, name_off)),
                               ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, name_len)));
            if (!t->name)
                return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)at,
                                     "tensor %u: bad name reference", i);
            t->region = ingot_ct_get_u32(e + offsetof(ingot_ct_disk_tensor, region));
            t->off = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_tensor, off));
            t->size = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_tensor, size));
            t->xxh3 = ingot_ct_get_u64(e + offsetof(ingot_ct_disk_tensor, xxh3));
            INGOT_FORWARD_IF_ERROR(parse_tensor_shape(c, e, t, at, err));
            INGOT_FORWARD_IF_ERROR(check_tensor_place(c, t, r, prev_end, at, err));
            prev_end = t->off + t->size;
        }
    }
    if (i != h->n_tensors)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)h->region_off,
                             "regions hold %u tensors, the index %u", i, h->n_tensors);
    return INGOT_OK;
}

// ---- sorted name table ----------------------------------------------------
// Strictly increasing names in byte order: proves the table is a permutation
// and every name is unique, in one linear pass.
static ingot_status check_sorted(ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    c->sorted = c->base + h->sorted_off;
    c->by_name = ingot_calloc(h->n_tensors, sizeof *c->by_name);
    c->fences = ingot_calloc((h->n_tensors + FENCE - 1) / FENCE, sizeof *c->fences);
    if (!c->by_name || !c->fences) return ingot_ct_fail(err, INGOT_E_NOMEM, c->path, NULL, -1, "out of memory");
    const char *prev = NULL;
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        const uint32_t k = ingot_ct_get_u32(c->sorted + 4ull * i);
        if (k >= h->n_tensors)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)(h->sorted_off + 4ull * i),
                                 "sorted name entry %u: tensor %u out of range", i, k);
        const char *name = c->tensors[k].name;
        const int cmp = prev ? strcmp(prev, name) : -1;
        if (cmp == 0)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, name, (int64_t)c->tensors[k].off,
                                 "duplicate tensor name '%s'", name);
        if (cmp > 0)
            return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, name, (int64_t)(h->sorted_off + 4ull * i),
                                 "sorted name table out of order at '%s'", name);
        prev = name;
        c->by_name[i] = name;
        if (i % FENCE == 0) c->fences[i / FENCE] = name;
    }
    return INGOT_OK;
}

static ingot_status check_metadata(ingot_container *c, ingot_err *err) {
    const ingot_ct_disk_header *h = &c->hdr;
    const char *m = (const char *)c->base + h->meta_off;
    if (m[h->meta_size] != 0 || memchr(m, 0, (size_t)h->meta_size) != NULL)
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)h->meta_off,
                             "metadata is not a NUL-terminated text of %llu bytes", (unsigned long long)h->meta_size);
    size_t k = 0;
    while (k < h->meta_size && (m[k] == ' ' || m[k] == '\n' || m[k] == '\r' || m[k] == '\t')) k++;
    if (k == h->meta_size || m[k] != '{')
        return ingot_ct_fail(err, INGOT_E_FORMAT, c->path, NULL, (int64_t)h->meta_off,
                             "metadata is not a JSON object");
    c->meta = m;
    return INGOT_OK;
}

// ---- open / close ---------------------------------------------------------
static ingot_status parse_all(ingot_container *c, unsigned flags, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_magic_version(c, err));
    read_header(c->base, &c->hdr);
    INGOT_FORWARD_IF_ERROR(check_sizes(c, err));
    INGOT_FORWARD_IF_ERROR(check_limits(c, err));
    INGOT_FORWARD_IF_ERROR(check_tables(c, err));
    INGOT_FORWARD_IF_ERROR(check_head_hash(c, err));
    INGOT_FORWARD_IF_ERROR(parse_regions(c, err));
    INGOT_FORWARD_IF_ERROR(parse_blobs(c, err));
    INGOT_FORWARD_IF_ERROR(parse_tensors(c, err));
    INGOT_FORWARD_IF_ERROR(check_sorted(c, err));
    INGOT_FORWARD_IF_ERROR(check_metadata(c, err));
    if (flags & INGOT_OPEN_VERIFY)
        for (size_t i = 0; i < c->hdr.n_tensors; i++) INGOT_FORWARD_IF_ERROR(ingot_container_verify_tensor(c, i, err));
    return INGOT_OK;
}

static ingot_status open_common(ingot_container *c, unsigned flags, ingot_container **out, ingot_err *err) {
    const ingot_status s = parse_all(c, flags, err);
    if (s != INGOT_OK) {
        ingot_container_close(c);
        return s;
    }
    *out = c;
    return INGOT_OK;
}

ingot_status ingot_container_open_buffer(const void *buf, size_t n, unsigned flags, ingot_container **out,
                                         ingot_err *err) {
    INGOT_FAIL_IF(!out, err, INGOT_E_ARG, "out is NULL");
    *out = NULL;
    INGOT_FAIL_IF(!buf && n, err, INGOT_E_ARG, "buffer is NULL");
    INGOT_FAIL_IF(flags & ~INGOT_OPEN_VERIFY, err, INGOT_E_ARG, "unknown open flags 0x%x", flags);
    ingot_container *c = ingot_calloc(1, sizeof *c);
    INGOT_FAIL_IF(!c, err, INGOT_E_NOMEM, "out of memory opening a container");
    c->magic = CONTAINER_MAGIC;
    c->base = buf;
    c->size = n;
    return open_common(c, flags, out, err);
}

ingot_status ingot_container_open(const char *path, unsigned flags, ingot_container **out, ingot_err *err) {
    INGOT_FAIL_IF(!out || !path, err, INGOT_E_ARG, "path or out is NULL");
    *out = NULL;
    INGOT_FAIL_IF(flags & ~INGOT_OPEN_VERIFY, err, INGOT_E_ARG, "unknown open flags 0x%x", flags);
    ingot_container *c = ingot_calloc(1, sizeof *c);
    INGOT_FAIL_IF(!c, err, INGOT_E_NOMEM, "%s: out of memory opening a container", path);
    c->magic = CONTAINER_MAGIC;
    c->path = ingot_strdup(path);
    if (!c->path) {
        ingot_container_close(c);
        return ingot_ct_fail(err, INGOT_E_NOMEM, path, NULL, -1, "out of memory");
    }
    const ingot_status s = ingot_file_map_open(path, &c->map, err);
    if (s != INGOT_OK) {
        ingot_container_close(c);
        return s;
    }
    c->base = c->map.data;
    c->size = c->map.size;
    return open_common(c, flags, out, err);
}

void ingot_container_close(ingot_container *c) {
    if (!c) return;
    ingot_file_map_close(&c->map);
    ingot_free(c->tensors);
    ingot_free(c->regions);
    ingot_free(c->blobs);
    ingot_free((void *)c->by_name);
    ingot_free((void *)c->fences);
    ingot_free(c->path);
    c->magic = 0;
    ingot_free(c);
}

// ---- accessors ------------------------------------------------------------
uint32_t ingot_container_version(const ingot_container *c) { return c ? c->hdr.version : 0; }
uint64_t ingot_container_file_size(const ingot_container *c) { return c ? c->size : 0; }
const uint8_t *ingot_container_base(const ingot_container *c) { return c ? c->base : NULL; }
size_t ingot_container_n_tensors(const ingot_container *c) { return c ? c->hdr.n_tensors : 0; }

const ingot_tensor_info *ingot_container_tensor(const ingot_container *c, size_t i) {
    return c && i < c->hdr.n_tensors ? &c->tensors[i] : NULL;
}

int64_t ingot_container_find_tensor(const ingot_container *c, const char *name) {
    if (!c || !name || c->hdr.n_tensors == 0) return -1;
    // The last fence not above the name opens the block that may hold it.
    size_t lo = 0, hi = (c->hdr.n_tensors + FENCE - 1) / FENCE;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int cmp = strcmp(c->fences[mid], name);
        if (cmp == 0) return ingot_ct_get_u32(c->sorted + 4ull * mid * FENCE);
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return -1;
    hi = (lo - 1) * FENCE + FENCE;
    if (hi > c->hdr.n_tensors) hi = c->hdr.n_tensors;
    lo = (lo - 1) * FENCE + 1;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int cmp = strcmp(c->by_name[mid], name);
        if (cmp == 0) return ingot_ct_get_u32(c->sorted + 4 * mid);
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const void *ingot_container_tensor_data(const ingot_container *c, size_t i) {
    return c && i < c->hdr.n_tensors ? c->base + c->tensors[i].off : NULL;
}

size_t ingot_container_n_regions(const ingot_container *c) { return c ? c->hdr.n_regions : 0; }
const ingot_region_info *ingot_container_region(const ingot_container *c, size_t i) {
    return c && i < c->hdr.n_regions ? &c->regions[i] : NULL;
}

const char *ingot_container_metadata(const ingot_container *c, size_t *n) {
    if (n) *n = c ? (size_t)c->hdr.meta_size : 0;
    return c ? c->meta : NULL;
}

size_t ingot_container_n_blobs(const ingot_container *c) { return c ? c->hdr.n_blobs : 0; }

void ingot_container_blob(const ingot_container *c, size_t i, const char **name, const void **data, size_t *n) {
    const bool ok = c && i < c->hdr.n_blobs;
    if (name) *name = ok ? c->blobs[i].name : NULL;
    if (data) *data = ok ? c->blobs[i].data : NULL;
    if (n) *n = ok ? (size_t)c->blobs[i].size : 0;
}

bool ingot_container_find_blob(const ingot_container *c, const char *name, const void **data, size_t *n) {
    for (size_t i = 0; c && name && i < c->hdr.n_blobs; i++) {
        if (strcmp(c->blobs[i].name, name) != 0) continue;
        ingot_container_blob(c, i, NULL, data, n);
        return true;
    }
    if (data) *data = NULL;
    if (n) *n = 0;
    return false;
}

ingot_status ingot_container_verify_tensor(const ingot_container *c, size_t i, ingot_err *err) {
    INGOT_FAIL_IF(!c || c->magic != CONTAINER_MAGIC, err, INGOT_E_ARG, "not a container");
    INGOT_FAIL_IF(i >= c->hdr.n_tensors, err, INGOT_E_ARG, "%s: tensor index %zu out of range", cpath(c), i);
    const ingot_tensor_info *t = &c->tensors[i];
    const uint64_t got = XXH3_64bits(c->base + t->off, (size_t)t->size);
    if (got != t->xxh3)
        return ingot_ct_fail(err, INGOT_E_CHECKSUM, c->path, t->name, (int64_t)t->off,
                             "tensor '%s' at offset %llu (%llu bytes): checksum mismatch: stored %016llx, computed "
                             "%016llx",
                             t->name, (unsigned long long)t->off, (unsigned long long)t->size,
                             (unsigned long long)t->xxh3, (unsigned long long)got);
    return INGOT_OK;
}
