// formats/: the .ingot writer. Two passes: declare everything and plan (every
// offset and the file size are fixed), then tensor bytes are written with
// pwrite to their final offsets from any thread in any order. finish()
// hashes the tensors on a pool, writes the head (header, tables, names,
// metadata) and the blobs, then fsync + rename + fsync of the folder.
// Also home of the atomic-file helper shared with pack/unpack.
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#define XXH_STATIC_LINKING_ONLY // XXH3_state_t on the stack
#include <xxhash.h>

#include "container_internal.h"

// ---- shared helpers -------------------------------------------------------
ingot_status ingot_ct_fail(ingot_err *err, ingot_status code, const char *path, const char *tensor, int64_t off,
                           const char *fmt, ...) {
    if (!err) return code;
    char msg[INGOT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ingot_err_set(err, code, "%s: %s", path ? path : "(buffer)", msg);
    ingot_err_where(err, path, tensor, off);
    return code;
}

uint64_t ingot_ct_head_hash(const uint8_t *head, size_t n) {
    static const uint8_t zero[8];
    const size_t at = offsetof(ingot_ct_disk_header, head_xxh3);
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, head, at);
    XXH3_64bits_update(&st, zero, 8);
    XXH3_64bits_update(&st, head + at + 8, n - at - 8);
    return XXH3_64bits_digest(&st);
}

// Simulated ENOSPC: g_fail_left bytes may still be written while armed.
static _Atomic bool g_fail_armed;
static _Atomic int64_t g_fail_left;

void ingot_writer_fail_after(uint64_t bytes) {
    atomic_store(&g_fail_armed, false);
    atomic_store(&g_fail_left, bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes);
    atomic_store(&g_fail_armed, bytes != 0);
}

ingot_status ingot_ct_pwrite(int fd, const void *buf, size_t n, uint64_t off, const char *path, ingot_err *err) {
    if (atomic_load(&g_fail_armed) && n > 0) {
        const int64_t left = atomic_fetch_sub(&g_fail_left, (int64_t)n) - (int64_t)n;
        if (left < 0)
            return ingot_ct_fail(err, INGOT_E_IO, path, NULL, (int64_t)off,
                                 "out of disk space writing %zu bytes at offset %llu (simulated)", n,
                                 (unsigned long long)off);
    }
    return ingot_file_pwrite_all(fd, buf, n, off, path, err);
}

// ---- atomic output file ---------------------------------------------------
static char *dir_of(const char *path) {
    char *copy = ingot_strdup(path);
    if (!copy) return NULL;
    char *d = ingot_strdup(dirname(copy));
    ingot_free(copy);
    return d;
}

static ingot_status atomic_make_tmp(ingot_ct_atomic *a, ingot_err *err) {
    char *copy = ingot_strdup(a->target);
    char *dir = dir_of(a->target);
    const size_t cap = strlen(a->target) + 32;
    a->tmp = ingot_malloc(cap);
    if (!copy || !dir || !a->tmp) {
        ingot_free(copy);
        ingot_free(dir);
        return ingot_ct_fail(err, INGOT_E_NOMEM, a->target, NULL, -1, "out of memory");
    }
    snprintf(a->tmp, cap, "%s/.%s.tmp-XXXXXX", dir, basename(copy));
    ingot_free(copy);
    ingot_free(dir);
    a->fd = mkostemp(a->tmp, O_CLOEXEC);
    if (a->fd < 0) {
        const int e = errno;
        ingot_free(a->tmp);
        a->tmp = NULL;
        return ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "cannot create a temporary file beside it: %s",
                             strerror(e));
    }
    a->slot = ingot_cleanup_register(a->tmp);
    fchmod(a->fd, 0644);
    return INGOT_OK;
}

ingot_status ingot_ct_atomic_create(ingot_ct_atomic *a, const char *target, bool force, uint64_t size,
                                    ingot_err *err) {
    *a = (ingot_ct_atomic){.fd = -1, .slot = -1};
    struct stat st;
    if (!force && lstat(target, &st) == 0)
        return ingot_ct_fail(err, INGOT_E_IO, target, NULL, -1, "already exists (pass force to replace it)");
    a->target = ingot_strdup(target);
    if (!a->target) return ingot_ct_fail(err, INGOT_E_NOMEM, target, NULL, -1, "out of memory");
    ingot_status s = atomic_make_tmp(a, err);
    if (s != INGOT_OK) {
        ingot_ct_atomic_abort(a);
        return s;
    }
    if (size > (uint64_t)INT64_MAX) s = ingot_ct_fail(err, INGOT_E_LIMIT, target, NULL, -1, "file too large");
    // fallocate reserves the blocks so ENOSPC shows now, not hours later.
    const int r = s == INGOT_OK && size ? posix_fallocate(a->fd, 0, (off_t)size) : 0;
    if (s == INGOT_OK && r == ENOSPC)
        s = ingot_ct_fail(err, INGOT_E_IO, target, NULL, -1, "out of disk space: %llu bytes needed",
                          (unsigned long long)size);
    if (s == INGOT_OK && r != 0 && ftruncate(a->fd, (off_t)size) != 0)
        s = ingot_ct_fail(err, INGOT_E_IO, target, NULL, -1, "cannot size the temporary file to %llu bytes: %s",
                          (unsigned long long)size, strerror(errno));
    if (s != INGOT_OK) ingot_ct_atomic_abort(a);
    return s;
}

static ingot_status atomic_rename(ingot_ct_atomic *a, bool force, ingot_err *err) {
    if (!force) {
        // RENAME_NOREPLACE closes the race with a target created meanwhile.
        if (renameat2(AT_FDCWD, a->tmp, AT_FDCWD, a->target, RENAME_NOREPLACE) == 0) return INGOT_OK;
        if (errno == EEXIST)
            return ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "already exists (pass force to replace it)");
        if (errno != EINVAL && errno != ENOSYS)
            return ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "cannot rename the temporary file: %s",
                                 strerror(errno));
        struct stat st;
        if (lstat(a->target, &st) == 0)
            return ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "already exists (pass force to replace it)");
    }
    if (rename(a->tmp, a->target) != 0)
        return ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "cannot rename the temporary file: %s",
                             strerror(errno));
    return INGOT_OK;
}

ingot_status ingot_ct_atomic_commit(ingot_ct_atomic *a, bool force, ingot_err *err) {
    ingot_status s = INGOT_OK;
    if (fsync(a->fd) != 0)
        s = ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "fsync failed: %s", strerror(errno));
    if (s == INGOT_OK && close(a->fd) != 0)
        s = ingot_ct_fail(err, INGOT_E_IO, a->target, NULL, -1, "close failed: %s", strerror(errno));
    a->fd = -1;
    if (s == INGOT_OK) s = atomic_rename(a, force, err);
    if (s != INGOT_OK) {
        ingot_ct_atomic_abort(a);
        return s;
    }
    ingot_cleanup_unregister(a->slot);
    a->slot = -1;
    ingot_free(a->tmp);
    a->tmp = NULL;
    // The rename is durable only once the folder itself is synced.
    char *dir = dir_of(a->target);
    const int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    ingot_free(dir);
    return INGOT_OK;
}

void ingot_ct_atomic_abort(ingot_ct_atomic *a) {
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    if (a->tmp) unlink(a->tmp);
    ingot_cleanup_unregister(a->slot);
    a->slot = -1;
    ingot_free(a->tmp);
    a->tmp = NULL;
    ingot_free(a->target);
    a->target = NULL;
}

// ---- writer ---------------------------------------------------------------
#define WRITER_MAGIC 0x57544e49u // "INTW"

typedef enum writer_state { WS_BUILD, WS_PLANNED, WS_FINISHED, WS_FAILED } writer_state;

typedef struct writer_blob {
    char *name;
    uint8_t *data;
    size_t n;
    uint64_t off, xxh3;
} writer_blob;

typedef struct writer_region {
    ingot_region_info info;
    uint32_t first_tensor, n_tensors;
} writer_region;

struct ingot_writer {
    uint32_t magic;
    writer_state state;
    unsigned flags;
    char *path;            // target, NULL when planning only
    ingot_ct_atomic af;
    char *meta;            // JSON text, NUL-terminated
    size_t meta_n;
    writer_blob *blobs;
    size_t n_blobs, cap_blobs;
    writer_region *regions;
    size_t n_regions, cap_regions;
    bool region_explicit;  // the current region came from begin_region
    ingot_tensor_info *tensors; // names owned
    size_t n_tensors, cap_tensors;
    uint32_t *name_set;    // open addressing: tensor index + 1, 0 empty
    size_t set_cap;        // power of two
    _Atomic uint64_t *written; // bytes written per tensor
    uint8_t *head;         // header … metadata, built at plan
    uint64_t head_size, file_size;
};

static const char *wpath(const ingot_writer *w) { return w->path ? w->path : "(plan)"; }

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = ingot_realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

ingot_status ingot_writer_create(const char *path, unsigned flags, ingot_writer **out, ingot_err *err) {
    *out = NULL;
    INGOT_FAIL_IF(flags & ~INGOT_WRITER_FORCE, err, INGOT_E_ARG, "unknown writer flags 0x%x", flags);
    struct stat st;
    if (path && !(flags & INGOT_WRITER_FORCE) && lstat(path, &st) == 0)
        return ingot_ct_fail(err, INGOT_E_IO, path, NULL, -1, "already exists (pass force to replace it)");
    ingot_writer *w = ingot_calloc(1, sizeof *w);
    INGOT_FAIL_IF(!w, err, INGOT_E_NOMEM, "out of memory creating a writer");
    w->magic = WRITER_MAGIC;
    w->flags = flags;
    w->af = (ingot_ct_atomic){.fd = -1, .slot = -1};
    w->path = path ? ingot_strdup(path) : NULL;
    w->regions = ingot_calloc(1, sizeof *w->regions);
    if ((path && !w->path) || !w->regions) {
        ingot_writer_free(w);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory creating a writer");
    }
    w->cap_regions = 1;
    w->n_regions = 1;
    w->regions[0].info = (ingot_region_info){.kind = INGOT_REGION_DENSE, .layer = -1};
    *out = w;
    return INGOT_OK;
}

static ingot_status check_building(const ingot_writer *w, ingot_err *err) {
    INGOT_FAIL_IF(!w || w->magic != WRITER_MAGIC, err, INGOT_E_ARG, "not a writer");
    INGOT_FAIL_IF(w->state != WS_BUILD, err, INGOT_E_STATE, "%s: the writer is already planned", wpath(w));
    return INGOT_OK;
}

ingot_status ingot_writer_set_metadata(ingot_writer *w, const char *json, size_t n, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_building(w, err));
    INGOT_FAIL_IF(!json, err, INGOT_E_ARG, "metadata is NULL");
    INGOT_FAIL_IF(n > INGOT_CT_MAX_META, err, INGOT_E_LIMIT, "%s: metadata of %zu bytes exceeds %llu", wpath(w), n,
                  (unsigned long long)INGOT_CT_MAX_META);
    INGOT_FAIL_IF(memchr(json, 0, n) != NULL, err, INGOT_E_ARG, "%s: metadata contains a NUL byte", wpath(w));
    cJSON *root = cJSON_ParseWithLength(json, n);
    const bool is_obj = root && cJSON_IsObject(root);
    cJSON_Delete(root);
    INGOT_FAIL_IF(!is_obj, err, INGOT_E_ARG, "%s: metadata is not a JSON object", wpath(w));
    char *copy = ingot_malloc(n + 1);
    INGOT_FAIL_IF(!copy, err, INGOT_E_NOMEM, "%s: out of memory copying metadata", wpath(w));
    memcpy(copy, json, n);
    copy[n] = 0;
    ingot_free(w->meta);
    w->meta = copy;
    w->meta_n = n;
    return INGOT_OK;
}

static ingot_status check_name(const ingot_writer *w, const char *what, const char *name, ingot_err *err) {
    INGOT_FAIL_IF(!name, err, INGOT_E_ARG, "%s: %s name is NULL", wpath(w), what);
    const size_t len = strlen(name);
    INGOT_FAIL_IF(len == 0, err, INGOT_E_ARG, "%s: empty %s name", wpath(w), what);
    INGOT_FAIL_IF(len > INGOT_CT_MAX_NAME, err, INGOT_E_LIMIT, "%s: %s name of %zu bytes exceeds %u", wpath(w), what,
                  len, INGOT_CT_MAX_NAME);
    return INGOT_OK;
}

ingot_status ingot_writer_add_blob(ingot_writer *w, const char *name, const void *data, size_t n, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_building(w, err));
    INGOT_FORWARD_IF_ERROR(check_name(w, "blob", name, err));
    INGOT_FAIL_IF(!data && n, err, INGOT_E_ARG, "%s: blob '%s' has no data", wpath(w), name);
    INGOT_FAIL_IF(w->n_blobs >= INGOT_CT_MAX_BLOBS, err, INGOT_E_LIMIT, "%s: more than %u blobs", wpath(w),
                  INGOT_CT_MAX_BLOBS);
    for (size_t i = 0; i < w->n_blobs; i++)
        INGOT_FAIL_IF(!strcmp(w->blobs[i].name, name), err, INGOT_E_ARG, "%s: duplicate blob '%s'", wpath(w), name);
    INGOT_FAIL_IF(!grow((void **)&w->blobs, &w->cap_blobs, w->n_blobs + 1, sizeof *w->blobs), err, INGOT_E_NOMEM,
                  "%s: out of memory", wpath(w));
    writer_blob b = {.name = ingot_strdup(name), .data = ingot_malloc(n), .n = n};
    if (!b.name || !b.data) {
        ingot_free(b.name);
        ingot_free(b.data);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory copying blob '%s'", wpath(w), name);
    }
    if (n) memcpy(b.data, data, n);
    b.xxh3 = XXH3_64bits(b.data, n);
    w->blobs[w->n_blobs++] = b;
    return INGOT_OK;
}

ingot_status ingot_writer_begin_region(ingot_writer *w, ingot_region_kind kind, int32_t layer, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_building(w, err));
    INGOT_FAIL_IF((int)kind < 0 || kind >= INGOT_REGION_COUNT, err, INGOT_E_ARG, "%s: unknown region kind %d",
                  wpath(w), (int)kind);
    INGOT_FAIL_IF(layer < -1, err, INGOT_E_ARG, "%s: region layer %d is below -1", wpath(w), (int)layer);
    writer_region *cur = &w->regions[w->n_regions - 1];
    // The implicit first region is replaced when nothing went into it.
    if (!w->region_explicit && w->n_regions == 1 && cur->n_tensors == 0) {
        cur->info.kind = kind;
        cur->info.layer = layer;
        w->region_explicit = true;
        return INGOT_OK;
    }
    INGOT_FAIL_IF(w->n_regions >= INGOT_CT_MAX_REGIONS, err, INGOT_E_LIMIT, "%s: more than %u regions", wpath(w),
                  INGOT_CT_MAX_REGIONS);
    INGOT_FAIL_IF(!grow((void **)&w->regions, &w->cap_regions, w->n_regions + 1, sizeof *w->regions), err,
                  INGOT_E_NOMEM, "%s: out of memory", wpath(w));
    w->regions[w->n_regions++] = (writer_region){
        .info = {.kind = kind, .layer = layer},
        .first_tensor = (uint32_t)w->n_tensors,
    };
    w->region_explicit = true;
    return INGOT_OK;
}

// ---- name set (uniqueness at declaration time) ---------------------------
static size_t name_slot(const ingot_writer *w, const char *name, size_t len) {
    size_t h = (size_t)XXH3_64bits(name, len) & (w->set_cap - 1);
    while (w->name_set[h] && strcmp(w->tensors[w->name_set[h] - 1].name, name) != 0) h = (h + 1) & (w->set_cap - 1);
    return h;
}

static bool name_set_grow(ingot_writer *w) {
    if ((w->n_tensors + 1) * 2 <= w->set_cap) return true;
    const size_t nc = w->set_cap ? w->set_cap * 2 : 64;
    uint32_t *old = w->name_set;
    const size_t old_cap = w->set_cap;
    w->name_set = ingot_calloc(nc, sizeof *w->name_set);
    if (!w->name_set) {
        w->name_set = old;
        return false;
    }
    w->set_cap = nc;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i]) continue;
        const char *nm = w->tensors[old[i] - 1].name;
        w->name_set[name_slot(w, nm, strlen(nm))] = old[i];
    }
    ingot_free(old);
    return true;
}

ingot_status ingot_writer_add_tensor(ingot_writer *w, const char *name, ingot_dtype dtype, uint32_t n_dims,
                                     const uint64_t *dims, size_t *index, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_building(w, err));
    INGOT_FORWARD_IF_ERROR(check_name(w, "tensor", name, err));
    INGOT_FAIL_IF(!ingot_dtype_valid((int)dtype), err, INGOT_E_ARG, "%s: tensor '%s': unknown dtype %d", wpath(w),
                  name, (int)dtype);
    INGOT_FAIL_IF(n_dims > INGOT_MAX_DIMS || (n_dims && !dims), err, INGOT_E_ARG,
                  "%s: tensor '%s': rank %u is above %u", wpath(w), name, n_dims, INGOT_MAX_DIMS);
    INGOT_FAIL_IF(w->n_tensors >= INGOT_CT_MAX_TENSORS, err, INGOT_E_LIMIT, "%s: more than %u tensors", wpath(w),
                  INGOT_CT_MAX_TENSORS);
    uint64_t size;
    const ingot_status sz = ingot_dtype_tensor_bytes(dtype, n_dims, dims, &size, err);
    if (sz != INGOT_OK) {
        ingot_err_prefix(err, "%s: tensor '%s'", wpath(w), name);
        return sz;
    }
    INGOT_FAIL_IF(!name_set_grow(w) || !grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors + 1,
                                             sizeof *w->tensors),
                  err, INGOT_E_NOMEM, "%s: out of memory", wpath(w));
    const size_t len = strlen(name);
    const size_t slot = name_slot(w, name, len);
    INGOT_FAIL_IF(w->name_set[slot], err, INGOT_E_ARG, "%s: duplicate tensor '%s'", wpath(w), name);
    ingot_tensor_info t = {.dtype = dtype, .n_dims = n_dims, .size = size,
                           .region = (uint32_t)(w->n_regions - 1)};
    for (uint32_t d = 0; d < n_dims; d++) t.dims[d] = dims[d];
    char *copy = ingot_strdup(name);
    INGOT_FAIL_IF(!copy, err, INGOT_E_NOMEM, "%s: out of memory", wpath(w));
    t.name = copy;
    w->tensors[w->n_tensors] = t;
    w->name_set[slot] = (uint32_t)(w->n_tensors + 1);
    w->regions[w->n_regions - 1].n_tensors++;
    if (index) *index = w->n_tensors;
    w->n_tensors++;
    return INGOT_OK;
}

// ---- plan -----------------------------------------------------------------
typedef struct head_layout {
    uint64_t region_off, blob_off, index_off, sorted_off, strtab_off, strtab_size, meta_off, head_size;
} head_layout;

static bool layout_head(const ingot_writer *w, head_layout *L) {
    uint64_t strtab = 0;
    for (size_t i = 0; i < w->n_tensors; i++) strtab += strlen(w->tensors[i].name) + 1;
    for (size_t i = 0; i < w->n_blobs; i++) strtab += strlen(w->blobs[i].name) + 1;
    const uint64_t A = INGOT_CT_TABLE_ALIGN;
    L->region_off = INGOT_CT_HEADER_SIZE;
    L->blob_off = L->region_off + 32 * (uint64_t)w->n_regions;
    L->index_off = L->blob_off + 32 * (uint64_t)w->n_blobs;
    L->sorted_off = L->index_off + 80 * (uint64_t)w->n_tensors;
    L->strtab_off = ingot_align_up(L->sorted_off + 4 * (uint64_t)w->n_tensors, A);
    L->strtab_size = strtab;
    L->meta_off = ingot_align_up(L->strtab_off + strtab, A);
    L->head_size = L->meta_off + w->meta_n + 1;
    return strtab <= INGOT_CT_MAX_STRTAB && L->head_size <= INGOT_CT_MAX_HEAD;
}

// Offsets of blobs (64-aligned after the head), then regions (page aligned)
// and their tensors (64-aligned), in declaration order.
static ingot_status layout_data(ingot_writer *w, uint64_t head_size, ingot_err *err) {
    uint64_t pos = head_size;
    for (size_t i = 0; i < w->n_blobs; i++) {
        w->blobs[i].off = ingot_align_up(pos, INGOT_TENSOR_ALIGN);
        pos = w->blobs[i].off + w->blobs[i].n;
    }
    for (size_t r = 0; r < w->n_regions; r++) {
        writer_region *R = &w->regions[r];
        R->info.off = ingot_align_up(pos, INGOT_REGION_ALIGN);
        pos = R->info.off;
        for (uint32_t k = 0; k < R->n_tensors; k++) {
            ingot_tensor_info *t = &w->tensors[R->first_tensor + k];
            t->off = ingot_align_up(pos, INGOT_TENSOR_ALIGN);
            INGOT_FAIL_IF(!ingot_add_u64(t->off, t->size, &pos) || pos > (uint64_t)INT64_MAX, err, INGOT_E_LIMIT,
                          "%s: tensor '%s': file size overflows", wpath(w), t->name);
        }
        R->info.size = pos - R->info.off;
    }
    w->file_size = pos;
    return INGOT_OK;
}

// Byte order of the names (strcmp compares as unsigned char): the reader
// binary-searches with the same order.
static int cmp_perm(const void *x, const void *y, void *ctx) {
    const ingot_tensor_info *t = ctx;
    return strcmp(t[*(const uint32_t *)x].name, t[*(const uint32_t *)y].name);
}

static void put_header(const ingot_writer *w, const head_layout *L, uint8_t *h) {
    memcpy(h, INGOT_CT_MAGIC, 8);
    ingot_ct_put_u32(h + offsetof(ingot_ct_disk_header, version), INGOT_CONTAINER_VERSION);
    ingot_ct_put_u32(h + offsetof(ingot_ct_disk_header, header_size), INGOT_CT_HEADER_SIZE);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, file_size), w->file_size);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, head_size), L->head_size);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, region_off), L->region_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, blob_off), L->blob_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, index_off), L->index_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, sorted_off), L->sorted_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, strtab_off), L->strtab_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, strtab_size), L->strtab_size);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, meta_off), L->meta_off);
    ingot_ct_put_u64(h + offsetof(ingot_ct_disk_header, meta_size), w->meta_n);
    ingot_ct_put_u32(h + offsetof(ingot_ct_disk_header, n_tensors), (uint32_t)w->n_tensors);
    ingot_ct_put_u32(h + offsetof(ingot_ct_disk_header, n_regions), (uint32_t)w->n_regions);
    ingot_ct_put_u32(h + offsetof(ingot_ct_disk_header, n_blobs), (uint32_t)w->n_blobs);
}

static void put_regions(const ingot_writer *w, uint8_t *p) {
    for (size_t r = 0; r < w->n_regions; r++, p += sizeof(ingot_ct_disk_region)) {
        const writer_region *R = &w->regions[r];
        ingot_ct_put_u32(p + offsetof(ingot_ct_disk_region, kind), (uint32_t)R->info.kind);
        ingot_ct_put_u32(p + offsetof(ingot_ct_disk_region, layer), (uint32_t)R->info.layer);
        ingot_ct_put_u32(p + offsetof(ingot_ct_disk_region, first_tensor), R->first_tensor);
        ingot_ct_put_u32(p + offsetof(ingot_ct_disk_region, n_tensors), R->n_tensors);
        ingot_ct_put_u64(p + offsetof(ingot_ct_disk_region, off), R->info.off);
        ingot_ct_put_u64(p + offsetof(ingot_ct_disk_region, size), R->info.size);
    }
}

// Tensor names go into the string table in sorted order (so a binary search
// ends among neighbouring bytes), then blob names; index entries are written
// here without checksums (finish fills those in).
static void put_names_and_entries(const ingot_writer *w, const head_layout *L, const uint32_t *perm,
                                  uint8_t *head) {
    uint64_t s = 0;
    uint8_t *strtab = head + L->strtab_off;
    for (size_t k = 0; k < w->n_tensors; k++) {
        const size_t i = perm[k];
        const ingot_tensor_info *t = &w->tensors[i];
        const size_t len = strlen(t->name);
        memcpy(strtab + s, t->name, len + 1);
        ingot_ct_put_u32(head + L->sorted_off + 4 * k, (uint32_t)i);
        uint8_t *e = head + L->index_off + 80 * i;
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_tensor, name_off), (uint32_t)s);
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_tensor, name_len), (uint32_t)len);
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_tensor, dtype), (uint32_t)t->dtype);
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_tensor, n_dims), t->n_dims);
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_tensor, region), t->region);
        for (uint32_t d = 0; d < INGOT_MAX_DIMS; d++)
            ingot_ct_put_u64(e + offsetof(ingot_ct_disk_tensor, dims) + 8 * d, t->dims[d]);
        ingot_ct_put_u64(e + offsetof(ingot_ct_disk_tensor, off), t->off);
        ingot_ct_put_u64(e + offsetof(ingot_ct_disk_tensor, size), t->size);
        s += len + 1;
    }
    for (size_t i = 0; i < w->n_blobs; i++) {
        const writer_blob *b = &w->blobs[i];
        const size_t len = strlen(b->name);
        memcpy(strtab + s, b->name, len + 1);
        uint8_t *e = head + L->blob_off + 32 * i;
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_blob, name_off), (uint32_t)s);
        ingot_ct_put_u32(e + offsetof(ingot_ct_disk_blob, name_len), (uint32_t)len);
        ingot_ct_put_u64(e + offsetof(ingot_ct_disk_blob, off), b->off);
        ingot_ct_put_u64(e + offsetof(ingot_ct_disk_blob, size), b->n);
        ingot_ct_put_u64(e + offsetof(ingot_ct_disk_blob, xxh3), b->xxh3);
        s += len + 1;
    }
}

// Sorted order of the tensor names (qsort_r: names are unique, so the order
// is fully determined).
static uint32_t *sort_names(const ingot_writer *w) {
    uint32_t *perm = ingot_malloc((w->n_tensors ? w->n_tensors : 1) * sizeof *perm);
    if (!perm) return NULL;
    for (size_t i = 0; i < w->n_tensors; i++) perm[i] = (uint32_t)i;
    qsort_r(perm, w->n_tensors, sizeof *perm, cmp_perm, w->tensors);
    return perm;
}

static ingot_status build_head(ingot_writer *w, ingot_err *err) {
    if (!w->meta) {
        w->meta = ingot_strdup("{}");
        INGOT_FAIL_IF(!w->meta, err, INGOT_E_NOMEM, "%s: out of memory", wpath(w));
        w->meta_n = 2;
    }
    head_layout L;
    INGOT_FAIL_IF(!layout_head(w, &L), err, INGOT_E_LIMIT, "%s: names and metadata exceed the head limit",
                  wpath(w));
    INGOT_FORWARD_IF_ERROR(layout_data(w, L.head_size, err));
    // Zeroed so padding is deterministic.
    w->head = ingot_calloc(1, (size_t)L.head_size);
    INGOT_FAIL_IF(!w->head, err, INGOT_E_NOMEM, "%s: out of memory for a head of %llu bytes", wpath(w),
                  (unsigned long long)L.head_size);
    w->head_size = L.head_size;
    put_header(w, &L, w->head);
    put_regions(w, w->head + L.region_off);
    uint32_t *perm = sort_names(w);
    INGOT_FAIL_IF(!perm, err, INGOT_E_NOMEM, "%s: out of memory sorting names", wpath(w));
    put_names_and_entries(w, &L, perm, w->head);
    ingot_free(perm);
    memcpy(w->head + L.meta_off, w->meta, w->meta_n + 1);
    return INGOT_OK;
}

ingot_status ingot_writer_plan(ingot_writer *w, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(check_building(w, err));
    ingot_status s = build_head(w, err);
    if (s == INGOT_OK && w->path) {
        w->written = ingot_calloc(w->n_tensors ? w->n_tensors : 1, sizeof *w->written);
        s = w->written ? INGOT_OK : ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", wpath(w));
        if (s == INGOT_OK)
            s = ingot_ct_atomic_create(&w->af, w->path, w->flags & INGOT_WRITER_FORCE, w->file_size, err);
    }
    w->state = s == INGOT_OK ? WS_PLANNED : WS_FAILED;
    return s;
}

uint64_t ingot_writer_file_size(const ingot_writer *w) { return w && w->state != WS_BUILD ? w->file_size : 0; }
size_t ingot_writer_n_tensors(const ingot_writer *w) { return w ? w->n_tensors : 0; }
const ingot_tensor_info *ingot_writer_tensor(const ingot_writer *w, size_t i) {
    return w && i < w->n_tensors ? &w->tensors[i] : NULL;
}

// ---- data -----------------------------------------------------------------
ingot_status ingot_writer_write(ingot_writer *w, size_t index, uint64_t off, const void *data, size_t n,
                                ingot_err *err) {
    INGOT_FAIL_IF(!w || w->magic != WRITER_MAGIC, err, INGOT_E_ARG, "not a writer");
    INGOT_FAIL_IF(w->state != WS_PLANNED || !w->path, err, INGOT_E_STATE, "%s: the writer is not planned for output",
                  wpath(w));
    INGOT_FAIL_IF(index >= w->n_tensors, err, INGOT_E_ARG, "%s: tensor index %zu out of range (%zu tensors)",
                  wpath(w), index, w->n_tensors);
    const ingot_tensor_info *t = &w->tensors[index];
    uint64_t end;
    if (!ingot_add_u64(off, n, &end) || end > t->size)
        return ingot_ct_fail(err, INGOT_E_ARG, w->path, t->name, (int64_t)t->off,
                             "tensor '%s': write of %zu bytes at %llu exceeds its size %llu", t->name, n,
                             (unsigned long long)off, (unsigned long long)t->size);
    INGOT_FAIL_IF(n && !data, err, INGOT_E_ARG, "%s: tensor '%s': data is NULL", wpath(w), t->name);
    const ingot_status s = ingot_ct_pwrite(w->af.fd, data, n, t->off + off, w->af.target, err);
    if (s != INGOT_OK) {
        ingot_err_prefix(err, "tensor '%s'", t->name);
        ingot_err_where(err, w->path, t->name, (int64_t)(t->off + off));
        return s;
    }
    atomic_fetch_add(&w->written[index], n);
    return INGOT_OK;
}

// ---- finish ---------------------------------------------------------------
typedef struct hash_job {
    int fd;
    const char *path;
    ingot_tensor_info *tensors;
    uint8_t **bufs;      // [n_threads] per-worker read buffers of HASH_CHUNK bytes
    ingot_status *st;    // [n_tensors]
    ingot_err *errs;     // [n_tensors]
} hash_job;

// Tensors are hashed by reading the file back (ingot_file_xxh3), so memory
// stays at one buffer per thread whatever the output size.
#define HASH_CHUNK (4u << 20)

static void hash_tensor(void *ctx, size_t i, int worker) {
    const hash_job *j = ctx;
    j->st[i] = ingot_file_xxh3(j->fd, j->tensors[i].off, j->tensors[i].size, j->bufs[worker], HASH_CHUNK,
                               &j->tensors[i].xxh3, j->path, &j->errs[i]);
}

static ingot_status check_complete(const ingot_writer *w, ingot_err *err) {
    for (size_t i = 0; i < w->n_tensors; i++) {
        const uint64_t got = atomic_load(&w->written[i]);
        const ingot_tensor_info *t = &w->tensors[i];
        if (got < t->size)
            return ingot_ct_fail(err, INGOT_E_STATE, w->path, t->name, (int64_t)t->off,
                                 "tensor '%s': only %llu of %llu bytes were written", t->name,
                                 (unsigned long long)got, (unsigned long long)t->size);
    }
    return INGOT_OK;
}

static ingot_status hash_tensors(ingot_writer *w, ingot_pool *pool, ingot_err *err) {
    if (w->n_tensors == 0) return INGOT_OK;
    const int nt = ingot_pool_n_threads(pool);
    hash_job job = {w->af.fd, w->path, w->tensors, ingot_calloc((size_t)nt, sizeof(uint8_t *)),
                    ingot_calloc(w->n_tensors, sizeof(ingot_status)), ingot_calloc(w->n_tensors, sizeof(ingot_err))};
    bool ok = job.bufs && job.st && job.errs;
    for (int k = 0; ok && k < nt; k++) ok = (job.bufs[k] = ingot_malloc(HASH_CHUNK)) != NULL;
    ingot_status s = ok ? INGOT_OK : ingot_ct_fail(err, INGOT_E_NOMEM, w->path, NULL, -1, "out of memory hashing tensors");
    if (s == INGOT_OK) ingot_pool_run(pool, w->n_tensors, hash_tensor, &job);
    for (size_t i = 0; s == INGOT_OK && i < w->n_tensors; i++)
        if (job.st[i] != INGOT_OK)
            s = ingot_ct_fail(err, INGOT_E_IO, w->path, w->tensors[i].name, (int64_t)w->tensors[i].off,
                              "reading tensor '%s' back for its checksum failed: %s", w->tensors[i].name,
                              job.errs[i].msg);
    for (int k = 0; job.bufs && k < nt; k++) ingot_free(job.bufs[k]);
    ingot_free(job.bufs);
    ingot_free(job.st);
    ingot_free(job.errs);
    if (s != INGOT_OK) return s;
    const uint8_t *hd = w->head;
    const uint64_t index_off = ingot_ct_get_u64(hd + offsetof(ingot_ct_disk_header, index_off));
    for (size_t i = 0; i < w->n_tensors; i++)
        ingot_ct_put_u64(w->head + index_off + 80 * i + offsetof(ingot_ct_disk_tensor, xxh3), w->tensors[i].xxh3);
    return INGOT_OK;
}

static ingot_status write_head_and_blobs(ingot_writer *w, ingot_err *err) {
    ingot_ct_put_u64(w->head + offsetof(ingot_ct_disk_header, head_xxh3),
                     ingot_ct_head_hash(w->head, (size_t)w->head_size));
    INGOT_FORWARD_IF_ERROR(ingot_ct_pwrite(w->af.fd, w->head, (size_t)w->head_size, 0, w->af.target, err));
    for (size_t i = 0; i < w->n_blobs; i++) {
        const writer_blob *b = &w->blobs[i];
        const ingot_status s = ingot_ct_pwrite(w->af.fd, b->data, b->n, b->off, w->af.target, err);
        if (s != INGOT_OK) {
            ingot_err_prefix(err, "blob '%s'", b->name);
            return s;
        }
    }
    return INGOT_OK;
}

ingot_status ingot_writer_finish(ingot_writer *w, ingot_pool *pool, ingot_err *err) {
    INGOT_FAIL_IF(!w || w->magic != WRITER_MAGIC, err, INGOT_E_ARG, "not a writer");
    INGOT_FAIL_IF(w->state != WS_PLANNED || !w->path, err, INGOT_E_STATE, "%s: the writer is not planned for output",
                  wpath(w));
    ingot_status s = check_complete(w, err);
    if (s == INGOT_OK) s = hash_tensors(w, pool, err);
    if (s == INGOT_OK) s = write_head_and_blobs(w, err);
    if (s == INGOT_OK) s = ingot_ct_atomic_commit(&w->af, w->flags & INGOT_WRITER_FORCE, err);
    if (s != INGOT_OK) ingot_ct_atomic_abort(&w->af);
    w->state = s == INGOT_OK ? WS_FINISHED : WS_FAILED;
    return s;
}

void ingot_writer_free(ingot_writer *w) {
    if (!w) return;
    ingot_ct_atomic_abort(&w->af);
    for (size_t i = 0; i < w->n_tensors; i++) ingot_free((void *)w->tensors[i].name);
    for (size_t i = 0; i < w->n_blobs; i++) {
        ingot_free(w->blobs[i].name);
        ingot_free(w->blobs[i].data);
    }
    ingot_free(w->tensors);
    ingot_free(w->blobs);
    ingot_free(w->regions);
    ingot_free(w->name_set);
    ingot_free((void *)w->written);
    ingot_free(w->head);
    ingot_free(w->meta);
    ingot_free(w->path);
    w->magic = 0;
    ingot_free(w);
}
