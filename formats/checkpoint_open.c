// Opening a checkpoint: one .safetensors file, a folder (single file or
// sharded through model.safetensors.index.json) or an archive (delegated to
// checkpoint_archive.c). Every header is parsed and cross-checked at open;
// mapped sources then give random access to tensor bytes.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "safetensors_internal.h"

#define CK_INDEX_NAME "model.safetensors.index.json"

static const struct {
    const char *name;
    size_t cap;
} k_aux_files[] = {
    {"config.json", 4u << 20},
    {"tokenizer.json", 64u << 20},
    {"tokenizer_config.json", 16u << 20},
    {"generation_config.json", 1u << 20},
    {"special_tokens_map.json", 4u << 20},
};

size_t ingot_checkpoint_aux_cap(const char *basename) {
    for (size_t i = 0; i < sizeof k_aux_files / sizeof *k_aux_files; i++)
        if (strcmp(k_aux_files[i].name, basename) == 0) return k_aux_files[i].cap;
    return 0;
}

static char *ck_join(const char *dir, const char *name) {
    const size_t a = strlen(dir), b = strlen(name);
    char *p = ingot_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

static bool ck_ends_with(const char *s, const char *suffix) {
    const size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

ingot_status ingot_ck_aux_add(ingot_checkpoint *ck, const char *basename, char *data, size_t n, ingot_err *err) {
    ingot_ck_aux *p = ingot_realloc(ck->aux, (ck->n_aux + 1) * sizeof *p);
    char *name = p ? ingot_strdup(basename) : NULL;
    if (!name) {
        if (p) ck->aux = p;
        ingot_free(data);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory loading %s", ck->path, basename);
    }
    ck->aux = p;
    ck->aux[ck->n_aux++] = (ingot_ck_aux){name, data, n};
    return INGOT_OK;
}

// ---- merging shards ---------------------------------------------------------

typedef struct ck_item {
    const ingot_st_tensor *t;
    uint32_t file;
    size_t pos; // storage position
} ck_item;

static int ck_cmp_item(const void *a, const void *b) {
    const ck_item *x = a, *y = b;
    const int c = strcmp(x->t->name, y->t->name);
    if (c) return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static ingot_status ck_fail_tensor(const char *where, const char *tensor, ingot_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ingot_status ck_fail_tensor(const char *where, const char *tensor, ingot_err *err, const char *fmt, ...) {
    if (!err) return INGOT_E_FORMAT;
    char what[INGOT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ingot_err_where(err, where, tensor, -1);
    return ingot_err_set(err, INGOT_E_FORMAT, "%s: tensor '%.200s': %s", where, tensor, what);
}

// Walks the name-sorted tensors and index entries side by side.
static ingot_status ck_check_index(const ingot_checkpoint *ck, const ingot_st_index *ix, const char *label,
                                   ingot_err *err) {
    size_t i = 0, j = 0;
    while (i < ck->n_tensors || j < ix->n) {
        const ingot_st_tensor *t = i < ck->n_tensors ? &ck->tensors[i] : NULL;
        const int c = !t ? 1 : j >= ix->n ? -1 : strcmp(t->name, ix->tensor[j]);
        if (c < 0)
            return ck_fail_tensor(label, t->name, err, "found in shard '%s' but not listed in the index",
                                  ck->shards[t->file_index].name);
        if (c > 0)
            return ck_fail_tensor(label, ix->tensor[j], err, "the index puts it in shard '%s', which does not contain it",
                                  ix->shards[ix->shard[j]]);
        const char *want = ix->shards[ix->shard[j]];
        if (strcmp(want, ck->shards[t->file_index].name) != 0)
            return ck_fail_tensor(label, t->name, err, "the index puts it in shard '%s' but it is in shard '%s'", want,
                                  ck->shards[t->file_index].name);
        i++;
        j++;
    }
    uint64_t total = 0;
    for (size_t k = 0; k < ck->n_tensors; k++) total += ck->tensors[k].size;
    if (ix->has_total_size && ix->total_size != total)
        ingot_log(INGOT_LOG_WARN, "%s: metadata.total_size is %llu but the tensors hold %llu bytes", label,
                  (unsigned long long)ix->total_size, (unsigned long long)total);
    return INGOT_OK;
}

// Sorted items into ck->tensors and ck->storage; rejects cross-shard duplicates.
static ingot_status ck_take_items(ingot_checkpoint *ck, const ck_item *items, size_t n, ingot_err *err) {
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(items[i - 1].t->name, items[i].t->name) == 0) {
            const ingot_ck_shard *a = &ck->shards[items[i - 1].file], *b = &ck->shards[items[i].file];
            if (a == b) // a single file's duplicates are caught by its parser already
                return ck_fail_tensor(a->label, items[i].t->name, err, "listed twice");
            return ck_fail_tensor(b->label, items[i].t->name, err, "present in two shards: '%s' and '%s'", a->name,
                                  b->name);
        }
        ck->tensors[i] = *items[i].t;
        ck->tensors[i].file_index = items[i].file;
        ck->storage[items[i].pos] = i;
    }
    return INGOT_OK;
}

ingot_status ingot_ck_finish(ingot_checkpoint *ck, const ingot_st_index *ix, const char *index_label,
                             ingot_err *err) {
    size_t n = 0;
    for (size_t s = 0; s < ck->n_shards; s++) n += ingot_st_file_n_tensors(ck->shards[s].st);
    ck->tensors = ingot_calloc(n ? n : 1, sizeof *ck->tensors);
    ck->storage = ingot_calloc(n ? n : 1, sizeof *ck->storage);
    ck_item *items = ingot_malloc((n ? n : 1) * sizeof *items);
    if (!ck->tensors || !ck->storage || !items) {
        ingot_free(items);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory for %zu tensors", ck->path, n);
    }
    size_t k = 0;
    for (size_t s = 0; s < ck->n_shards; s++)
        for (size_t i = 0; i < ingot_st_file_n_tensors(ck->shards[s].st); i++, k++)
            items[k] = (ck_item){ingot_st_file_tensor(ck->shards[s].st, i), (uint32_t)s, k};
    qsort(items, n, sizeof *items, ck_cmp_item);
    ingot_status st = ck_take_items(ck, items, n, err);
    ingot_free(items);
    if (st != INGOT_OK) return st;
    ck->n_tensors = n;
    return ix ? ck_check_index(ck, ix, index_label, err) : INGOT_OK;
}

// ---- folders and single files -------------------------------------------------

// Maps and parses one shard file `name` inside `dir`.
static ingot_status ck_shard_open(ingot_checkpoint *ck, const char *dir, const char *name, ingot_err *err) {
    ingot_ck_shard *s = &ck->shards[ck->n_shards];
    memset(s, 0, sizeof *s);
    s->name = ingot_strdup(name);
    s->label = ck_join(dir, name);
    if (!s->name || !s->label) {
        ingot_free(s->name);
        ingot_free(s->label);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
    }
    ck->n_shards++;
    s->pub.name = s->name;
    INGOT_FORWARD_IF_ERROR(ingot_file_map_open(s->label, &s->map, err));
    s->pub.size = s->map.size;
    return ingot_st_file_parse(s->map.data, s->map.size, s->map.size, s->label, &s->st, err);
}

// Loads the side files present in dir.
static ingot_status ck_aux_load(ingot_checkpoint *ck, const char *dir, ingot_err *err) {
    for (size_t i = 0; i < sizeof k_aux_files / sizeof *k_aux_files; i++) {
        char *path = ck_join(dir, k_aux_files[i].name);
        INGOT_FAIL_IF(!path, err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
        struct stat sb;
        const bool present = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
        char *data = NULL;
        size_t n = 0;
        const ingot_status st = present ? ingot_file_read_all(path, k_aux_files[i].cap, &data, &n, err) : INGOT_OK;
        if (st != INGOT_OK) ingot_err_where(err, path, NULL, -1);
        ingot_free(path);
        INGOT_FORWARD_IF_ERROR(st);
        if (present) INGOT_FORWARD_IF_ERROR(ingot_ck_aux_add(ck, k_aux_files[i].name, data, n, err));
    }
    return INGOT_OK;
}

// The one directory entry ending with `suffix` (preferring `preferred`);
// *found = NULL when none, INGOT_E_FORMAT when several.
static ingot_status ck_find_one(const char *dir, const char *preferred, const char *suffix, char **found,
                                ingot_err *err) {
    *found = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        ingot_err_where(err, dir, NULL, -1);
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    }
    size_t count = 0;
    char first[256] = "";
    bool has_preferred = false;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!ck_ends_with(e->d_name, suffix) || strlen(e->d_name) >= sizeof first) continue;
        if (strcmp(e->d_name, preferred) == 0) has_preferred = true;
        if (count++ == 0) memcpy(first, e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    if (has_preferred) first[0] = 0;
    const char *pick = has_preferred ? preferred : first;
    if (!has_preferred && count > 1)
        return ingot_err_set(err, INGOT_E_FORMAT, "%s: %zu files end with '%s' and none is '%s'", dir, count, suffix,
                             preferred);
    if (!has_preferred && count == 0) return INGOT_OK;
    *found = ingot_strdup(pick);
    INGOT_FAIL_IF(!*found, err, INGOT_E_NOMEM, "%s: out of memory", dir);
    return INGOT_OK;
}

static int ck_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ingot_status ck_open_indexed(ingot_checkpoint *ck, const char *dir, const char *index_name,
                                    ingot_err *err) {
    char *ipath = ck_join(dir, index_name);
    INGOT_FAIL_IF(!ipath, err, INGOT_E_NOMEM, "%s: out of memory", dir);
    char *text = NULL;
    size_t n = 0;
    ingot_st_index ix;
    ingot_status st = ingot_file_read_all(ipath, INGOT_ST_INDEX_MAX, &text, &n, err);
    if (st == INGOT_OK) st = ingot_st_index_parse((const uint8_t *)text, n, ipath, &ix, err);
    ingot_free(text);
    if (st != INGOT_OK) {
        ingot_free(ipath);
        return st;
    }
    // shards are opened (and later streamed) in name order
    const char **order = ingot_malloc((ix.n_shards ? ix.n_shards : 1) * sizeof *order);
    ck->shards = ingot_calloc(ix.n_shards ? ix.n_shards : 1, sizeof *ck->shards);
    if (!ck->shards || !order) st = ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", dir);
    if (order) {
        memcpy(order, ix.shards, ix.n_shards * sizeof *order);
        qsort(order, ix.n_shards, sizeof *order, ck_cmp_str);
    }
    for (size_t i = 0; i < ix.n_shards && st == INGOT_OK; i++) {
        st = ck_shard_open(ck, dir, order[i], err);
        if (st == INGOT_E_IO) ingot_err_prefix(err, "%s: shard '%s' named by the index", ipath, order[i]);
    }
    ingot_free(order);
    if (st == INGOT_OK) st = ingot_ck_finish(ck, &ix, ipath, err);
    ingot_st_index_deinit(&ix);
    ingot_free(ipath);
    return st;
}

static ingot_status ck_open_folder(ingot_checkpoint *ck, const char *dir, const char *index_name, ingot_err *err) {
    char *found = NULL;
    if (!index_name) {
        INGOT_FORWARD_IF_ERROR(ck_find_one(dir, CK_INDEX_NAME, ".safetensors.index.json", &found, err));
        index_name = found;
    }
    ingot_status st;
    if (index_name) {
        st = ck_open_indexed(ck, dir, index_name, err);
    } else {
        st = ck_find_one(dir, "model.safetensors", ".safetensors", &found, err);
        if (st == INGOT_OK && !found)
            st = ingot_err_set(err, INGOT_E_FORMAT, "%s: no .safetensors file and no index", dir);
        if (st == INGOT_OK) {
            ck->shards = ingot_calloc(1, sizeof *ck->shards);
            st = ck->shards ? ck_shard_open(ck, dir, found, err)
                            : ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", dir);
        }
        if (st == INGOT_OK) st = ingot_ck_finish(ck, NULL, NULL, err);
    }
    ingot_free(found);
    if (st == INGOT_OK) st = ck_aux_load(ck, dir, err);
    return st;
}

// A path naming a file: an archive, an index file, or one .safetensors file.
static ingot_status ck_open_file(ingot_checkpoint *ck, const char *path, ingot_err *err) {
    if (ingot_ck_archive_sniff(path)) {
        ck->kind = INGOT_CHECKPOINT_ARCHIVE;
        return ingot_ck_archive_open(ck, err);
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? ingot_malloc((size_t)(slash - path) + 2) : ingot_strdup(".");
    INGOT_FAIL_IF(!dir, err, INGOT_E_NOMEM, "%s: out of memory", path);
    if (slash) {
        const size_t len = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    ingot_status st;
    if (ck_ends_with(base, ".index.json")) {
        ck->kind = INGOT_CHECKPOINT_FOLDER;
        st = ck_open_folder(ck, dir, base, err);
    } else {
        ck->kind = INGOT_CHECKPOINT_FILE;
        ck->shards = ingot_calloc(1, sizeof *ck->shards);
        st = ck->shards ? ck_shard_open(ck, dir, base, err) : ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", path);
        if (st == INGOT_OK) st = ingot_ck_finish(ck, NULL, NULL, err);
        if (st == INGOT_OK) st = ck_aux_load(ck, dir, err);
    }
    ingot_free(dir);
    return st;
}

ingot_status ingot_checkpoint_open(const char *path, ingot_checkpoint **out, ingot_err *err) {
    INGOT_FAIL_IF(!path || !out, err, INGOT_E_ARG, "ingot_checkpoint_open: bad arguments");
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ingot_err_where(err, path, NULL, -1);
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
        ingot_err_where(err, path, NULL, -1);
        return ingot_err_set(err, INGOT_E_IO, "%s: neither a folder nor a regular file", path);
    }
    ingot_checkpoint *ck = ingot_calloc(1, sizeof *ck);
    INGOT_FAIL_IF(!ck, err, INGOT_E_NOMEM, "%s: out of memory", path);
    ck->path = ingot_strdup(path);
    ingot_status st;
    if (!ck->path) st = ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", path);
    else if (S_ISDIR(sb.st_mode)) {
        ck->kind = INGOT_CHECKPOINT_FOLDER;
        st = ck_open_folder(ck, path, NULL, err);
    } else {
        st = ck_open_file(ck, path, err);
    }
    if (st != INGOT_OK) {
        ingot_checkpoint_close(ck);
        return st;
    }
    *out = ck;
    return INGOT_OK;
}

void ingot_checkpoint_close(ingot_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->n_shards; i++) {
        ingot_ck_shard *s = &ck->shards[i];
        ingot_st_file_free(s->st);
        ingot_file_map_close(&s->map);
        ingot_free(s->name);
        ingot_free(s->label);
        ingot_free(s->member);
    }
    for (size_t i = 0; i < ck->n_aux; i++) {
        ingot_free(ck->aux[i].name);
        ingot_free(ck->aux[i].data);
    }
    ingot_free(ck->aux);
    ingot_free(ck->shards);
    ingot_free(ck->tensors);
    ingot_free(ck->storage);
    ingot_free(ck->path);
    ingot_free(ck);
}

// ---- accessors ----------------------------------------------------------------

ingot_checkpoint_kind ingot_checkpoint_get_kind(const ingot_checkpoint *ck) { return ck->kind; }
const char *ingot_checkpoint_path(const ingot_checkpoint *ck) { return ck ? ck->path : NULL; }
size_t ingot_checkpoint_n_tensors(const ingot_checkpoint *ck) { return ck ? ck->n_tensors : 0; }

const ingot_st_tensor *ingot_checkpoint_tensor(const ingot_checkpoint *ck, size_t i) {
    return ck && i < ck->n_tensors ? &ck->tensors[i] : NULL;
}

int64_t ingot_checkpoint_find(const ingot_checkpoint *ck, const char *name) {
    if (!ck || !name) return -1;
    size_t lo = 0, hi = ck->n_tensors;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(ck->tensors[mid].name, name);
        if (c == 0) return (int64_t)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

size_t ingot_checkpoint_n_shards(const ingot_checkpoint *ck) { return ck ? ck->n_shards : 0; }

const ingot_checkpoint_shard *ingot_checkpoint_shard_get(const ingot_checkpoint *ck, size_t i) {
    return ck && i < ck->n_shards ? &ck->shards[i].pub : NULL;
}

const char *ingot_checkpoint_aux(const ingot_checkpoint *ck, const char *basename, size_t *n) {
    if (n) *n = 0;
    if (!ck || !basename) return NULL;
    for (size_t i = 0; i < ck->n_aux; i++)
        if (strcmp(ck->aux[i].name, basename) == 0) {
            if (n) *n = ck->aux[i].n;
            return ck->aux[i].data;
        }
    return NULL;
}

bool ingot_checkpoint_is_mapped(const ingot_checkpoint *ck) { return ck && ck->kind != INGOT_CHECKPOINT_ARCHIVE; }

const uint8_t *ingot_checkpoint_tensor_data(const ingot_checkpoint *ck, size_t i) {
    if (!ingot_checkpoint_is_mapped(ck) || i >= ck->n_tensors) return NULL;
    const ingot_st_tensor *t = &ck->tensors[i];
    return ck->shards[t->file_index].map.data + t->data_off;
}

ingot_status ingot_checkpoint_shard_hash(ingot_checkpoint *ck, size_t shard, uint64_t *out, ingot_err *err) {
    INGOT_FAIL_IF(!ck || !out || shard >= ck->n_shards, err, INGOT_E_ARG, "ingot_checkpoint_shard_hash: bad arguments");
    if (!ingot_checkpoint_is_mapped(ck)) return ingot_ck_archive_shard_hash(ck, shard, out, err);
    // Read the file rather than hashing the mapping: see ingot_file_xxh3.
    const ingot_ck_shard *sh = &ck->shards[shard];
    const int fd = open(sh->label, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ingot_err_where(err, sh->label, NULL, -1);
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot open: %s", sh->label, strerror(errno));
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    const size_t cap = 4u << 20;
    void *buf = ingot_malloc(cap);
    ingot_status st = buf ? ingot_file_xxh3(fd, 0, sh->map.size, buf, cap, out, sh->label, err)
                          : ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory hashing", sh->label);
    ingot_free(buf);
    close(fd);
    return st;
}

ingot_status ingot_checkpoint_foreach(ingot_checkpoint *ck, ingot_checkpoint_tensor_fn fn, void *ctx,
                                      ingot_err *err) {
    INGOT_FAIL_IF(!ck || !fn, err, INGOT_E_ARG, "ingot_checkpoint_foreach: bad arguments");
    if (!ingot_checkpoint_is_mapped(ck)) return ingot_ck_archive_foreach(ck, fn, ctx, err);
    for (size_t k = 0; k < ck->n_tensors; k++) {
        INGOT_FAIL_IF(ingot_interrupted(), err, INGOT_E_INTERRUPTED, "%s: interrupted", ck->path);
        const size_t i = ck->storage[k];
        INGOT_FORWARD_IF_ERROR(fn(ctx, i, ingot_checkpoint_tensor_data(ck, i), err));
    }
    return INGOT_OK;
}
