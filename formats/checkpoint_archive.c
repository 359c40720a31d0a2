// Checkpoints inside .tar, .tar.gz, .tar.zst and .zip archives, read through
// libarchive as a stream: nothing is extracted to disk and nothing seeks.
//
// Pass 1 (open) walks every member once: it keeps the first 8 + N bytes of
// each .safetensors member (its header), the index and the side files, and
// learns every member's size. A single top-level folder shared by all members
// is treated as the checkpoint root. The headers are then parsed and
// cross-checked exactly as for a folder.
// Pass 2 (foreach, shard_hash) walks the archive again and streams tensor
// bytes, one tensor buffered at a time; each header is re-hashed so a member
// that changed between the passes is reported instead of misread.
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "safetensors_internal.h"

#define AR_BLOCK (1u << 16)

typedef enum ar_kind { AR_SAFETENSORS, AR_INDEX, AR_AUX } ar_kind;

// A member kept by pass 1.
typedef struct ar_member {
    char *path;       // member path without a leading "./"
    ar_kind kind;
    uint64_t size;    // bytes
    uint8_t *head;    // safetensors: up to 8 + N bytes; index/aux: the whole member (NULL when over its cap)
    size_t head_n;
    size_t order;     // position in the archive
} ar_member;

typedef struct ar_scan {
    ar_member *m;
    size_t n, cap;
    size_t n_regular;   // regular-file members seen
    char *top;          // first path component shared by every member so far, or NULL
    bool top_shared;    // every member so far lies under `top`
} ar_scan;

static const char *ar_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static size_t ar_depth(const char *path) {
    size_t d = 0;
    for (; *path; path++) d += *path == '/';
    return d;
}

static bool ar_ends_with(const char *s, const char *suffix) {
    const size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

bool ingot_ck_archive_sniff(const char *path) {
    if (ar_ends_with(path, ".safetensors")) return false;
    static const char *const k_ext[] = {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".zip"};
    for (size_t i = 0; i < sizeof k_ext / sizeof *k_ext; i++)
        if (ar_ends_with(path, k_ext[i])) return true;
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    uint8_t b[512] = {0};
    const size_t n = fread(b, 1, sizeof b, fp);
    fclose(fp);
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))) return true;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return true;                             // gzip
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return true; // zstd
    return n >= 262 && memcmp(b + 257, "ustar", 5) == 0;                                 // tar
}

static ingot_status ar_begin(const char *path, struct archive **out, ingot_err *err) {
    struct archive *a = archive_read_new();
    INGOT_FAIL_IF(!a, err, INGOT_E_NOMEM, "%s: out of memory", path);
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip_streamable(a);
    if (archive_read_open_filename(a, path, AR_BLOCK) != ARCHIVE_OK) {
        ingot_err_where(err, path, NULL, -1);
        ingot_err_set(err, INGOT_E_IO, "%s: cannot read archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return INGOT_E_IO;
    }
    *out = a;
    return INGOT_OK;
}

static ingot_status ar_fail(struct archive *a, const char *path, const char *member, ingot_err *err) {
    ingot_err_where(err, path, NULL, -1);
    const char *why = archive_error_string(a);
    if (member) return ingot_err_set(err, INGOT_E_IO, "%s: member '%s': %s", path, member, why ? why : "read error");
    return ingot_err_set(err, INGOT_E_IO, "%s: %s", path, why ? why : "read error");
}

// Reads up to n bytes of the current member; *got < n only at its end.
static ingot_status ar_read(struct archive *a, uint8_t *dst, size_t n, size_t *got, const char *path,
                            const char *member, ingot_err *err) {
    *got = 0;
    while (*got < n) {
        const la_ssize_t r = archive_read_data(a, dst + *got, n - *got);
        if (r < 0) return ar_fail(a, path, member, err);
        if (r == 0) break;
        *got += (size_t)r;
    }
    return INGOT_OK;
}

// Counts the rest of the member (for entries whose size is not trusted).
static ingot_status ar_drain(struct archive *a, uint64_t *count, const char *path, const char *member,
                             ingot_err *err) {
    uint8_t *scratch = ingot_malloc(AR_BLOCK);
    INGOT_FAIL_IF(!scratch, err, INGOT_E_NOMEM, "%s: out of memory", path);
    ingot_status st = INGOT_OK;
    for (size_t got = AR_BLOCK; st == INGOT_OK && got == AR_BLOCK; *count += got)
        st = ar_read(a, scratch, AR_BLOCK, &got, path, member, err);
    ingot_free(scratch);
    return st;
}

// ---- pass 1 -----------------------------------------------------------------------

static bool ar_kind_of(const char *path, ar_kind *kind) {
    const char *base = ar_base(path);
    const size_t depth = ar_depth(path);
    if (ar_ends_with(base, ".safetensors")) *kind = AR_SAFETENSORS;
    else if (depth <= 1 && ar_ends_with(base, ".safetensors.index.json")) *kind = AR_INDEX;
    else if (depth <= 1 && ingot_checkpoint_aux_cap(base)) *kind = AR_AUX;
    else return false;
    return true;
}

// Tracks whether every member shares one top-level folder.
static ingot_status ar_track_top(ar_scan *sc, const char *path) {
    const char *slash = strchr(path, '/');
    const size_t len = slash ? (size_t)(slash - path) : 0;
    if (sc->n_regular++ == 0) {
        sc->top_shared = slash != NULL;
        if (!slash) return INGOT_OK;
        sc->top = ingot_malloc(len + 1);
        if (!sc->top) return INGOT_E_NOMEM;
        memcpy(sc->top, path, len);
        sc->top[len] = 0;
        return INGOT_OK;
    }
    if (sc->top_shared && (!slash || strlen(sc->top) != len || memcmp(sc->top, path, len) != 0))
        sc->top_shared = false;
    return INGOT_OK;
}

// Reads a whole small member (`size` bytes, or up to cap + 1 when the size is
// unknown) into m->head, NUL-terminated.
static ingot_status ar_read_small(struct archive *a, size_t size, size_t cap, ar_member *m, const char *apath,
                                  ingot_err *err) {
    size_t alloc = size ? size + 1 : AR_BLOCK;
    for (;;) {
        uint8_t *p = ingot_realloc(m->head, alloc);
        INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "%s: out of memory reading '%s'", apath, m->path);
        m->head = p;
        const size_t limit = (size ? size : cap + 1) - m->head_n;
        const size_t room = alloc - 1 - m->head_n;
        size_t got;
        INGOT_FORWARD_IF_ERROR(ar_read(a, m->head + m->head_n, room < limit ? room : limit, &got, apath, m->path, err));
        m->head_n += got;
        m->head[m->head_n] = 0;
        if (got < room || m->head_n >= (size ? size : cap + 1)) break;
        alloc *= 2;
    }
    if (m->head_n > cap) m->size = m->head_n; // a lower bound that marks it as over the cap
    return INGOT_OK;
}

// Keeps the interesting part of the current member.
static ingot_status ar_keep(struct archive *a, struct archive_entry *e, ar_member *m, const char *apath,
                            ingot_err *err) {
    // Zip members written with data descriptors may announce size 0 in
    // their local header, so only tar sizes are trusted; zip members are
    // measured by reading them.
    const bool tar = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
    const bool sized = tar && archive_entry_size_is_set(e);
    m->size = sized ? (uint64_t)archive_entry_size(e) : 0;
    size_t want;
    if (m->kind == AR_SAFETENSORS) {
        uint8_t len8[8];
        size_t got;
        INGOT_FORWARD_IF_ERROR(ar_read(a, len8, 8, &got, apath, m->path, err));
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | (got == 8 ? len8[i] : 0);
        want = got == 8 && h <= INGOT_ST_HEADER_MAX ? 8 + (size_t)h : got;
        m->head = ingot_malloc(want ? want : 1);
        INGOT_FAIL_IF(!m->head, err, INGOT_E_NOMEM, "%s: out of memory for the header of '%s'", apath, m->path);
        memcpy(m->head, len8, got);
        size_t more = 0;
        if (want > got) INGOT_FORWARD_IF_ERROR(ar_read(a, m->head + got, want - got, &more, apath, m->path, err));
        m->head_n = got + more;
        if (m->head_n < want) { // a truncated member: keep only what is there
            uint8_t *p = ingot_realloc(m->head, m->head_n ? m->head_n : 1);
            if (p) m->head = p;
        }
    } else {
        const size_t cap = m->kind == AR_INDEX ? INGOT_ST_INDEX_MAX : ingot_checkpoint_aux_cap(ar_base(m->path));
        if (sized && m->size > cap) return INGOT_OK; // over the cap: reported only if the file is used
        INGOT_FORWARD_IF_ERROR(ar_read_small(a, sized ? (size_t)m->size : 0, cap, m, apath, err));
    }
    if (!sized) {
        uint64_t rest = 0;
        INGOT_FORWARD_IF_ERROR(ar_drain(a, &rest, apath, m->path, err));
        m->size = m->head_n + rest;
    }
    return INGOT_OK;
}

static ingot_status ar_scan_member(struct archive *a, struct archive_entry *e, ar_scan *sc, const char *apath,
                                   ingot_err *err) {
    const char *path = archive_entry_pathname(e);
    if (archive_entry_filetype(e) != AE_IFREG || !path) return INGOT_OK;
    while (path[0] == '.' && path[1] == '/') path += 2;
    INGOT_FAIL_IF(ar_track_top(sc, path) != INGOT_OK, err, INGOT_E_NOMEM, "%s: out of memory", apath);
    ar_kind kind;
    if (!ar_kind_of(path, &kind)) return INGOT_OK;
    for (size_t i = 0; i < sc->n; i++)
        INGOT_FAIL_IF(strcmp(sc->m[i].path, path) == 0, err, INGOT_E_FORMAT, "%s: member '%s' appears twice", apath,
                      path);
    if (sc->n == sc->cap) {
        const size_t cap = sc->cap ? sc->cap * 2 : 16;
        ar_member *p = ingot_realloc(sc->m, cap * sizeof *p);
        INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "%s: out of memory", apath);
        sc->m = p;
        sc->cap = cap;
    }
    ar_member *m = &sc->m[sc->n];
    memset(m, 0, sizeof *m);
    m->path = ingot_strdup(path);
    INGOT_FAIL_IF(!m->path, err, INGOT_E_NOMEM, "%s: out of memory", apath);
    m->kind = kind;
    m->order = sc->n++;
    return ar_keep(a, e, m, apath, err);
}

static ingot_status ar_scan_all(const char *apath, ar_scan *sc, ingot_err *err) {
    struct archive *a;
    INGOT_FORWARD_IF_ERROR(ar_begin(apath, &a, err));
    ingot_status st = INGOT_OK;
    for (;;) {
        struct archive_entry *e;
        const int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            st = ar_fail(a, apath, NULL, err);
            break;
        }
        st = ar_scan_member(a, e, sc, apath, err);
        if (st != INGOT_OK) break;
    }
    archive_read_free(a);
    return st;
}

static void ar_scan_deinit(ar_scan *sc) {
    for (size_t i = 0; i < sc->n; i++) {
        ingot_free(sc->m[i].path);
        ingot_free(sc->m[i].head);
    }
    ingot_free(sc->m);
    ingot_free(sc->top);
}

// ---- choosing the members ------------------------------------------------------------

// The member `prefix + name`, or NULL.
static const ar_member *ar_lookup(const ar_scan *sc, const char *prefix, const char *name) {
    const size_t pl = strlen(prefix);
    for (size_t i = 0; i < sc->n; i++)
        if (strncmp(sc->m[i].path, prefix, pl) == 0 && strcmp(sc->m[i].path + pl, name) == 0) return &sc->m[i];
    return NULL;
}

// The one member of `kind` directly under prefix (preferring `preferred`).
static ingot_status ar_pick(const ar_scan *sc, const char *prefix, ar_kind kind, const char *preferred,
                            const char *apath, const ar_member **out, ingot_err *err) {
    *out = ar_lookup(sc, prefix, preferred);
    if (*out) return INGOT_OK;
    const size_t pl = strlen(prefix);
    size_t count = 0;
    for (size_t i = 0; i < sc->n; i++) {
        const char *p = sc->m[i].path;
        if (sc->m[i].kind != kind || strncmp(p, prefix, pl) != 0 || strchr(p + pl, '/')) continue;
        if (count++ == 0) *out = &sc->m[i];
    }
    if (count > 1) {
        *out = NULL;
        return ingot_err_set(err, INGOT_E_FORMAT, "%s: %zu candidate %s members and none is '%s%s'", apath, count,
                             kind == AR_INDEX ? "index" : ".safetensors", prefix, preferred);
    }
    return INGOT_OK;
}

// Parses a kept .safetensors member into the next shard of ck.
static ingot_status ar_shard_add(ingot_checkpoint *ck, const ar_member *m, const char *prefix, ingot_err *err) {
    ingot_ck_shard *s = &ck->shards[ck->n_shards];
    memset(s, 0, sizeof *s);
    const size_t ln = strlen(ck->path) + strlen(m->path) + 2;
    s->name = ingot_strdup(m->path + strlen(prefix));
    s->member = ingot_strdup(m->path);
    s->label = ingot_malloc(ln);
    if (!s->name || !s->member || !s->label) {
        ingot_free(s->name);
        ingot_free(s->member);
        ingot_free(s->label);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
    }
    snprintf(s->label, ln, "%s:%s", ck->path, m->path);
    ck->n_shards++;
    s->pub.name = s->name;
    s->pub.size = m->size;
    s->header_hash = XXH3_64bits(m->head, m->head_n);
    return ingot_st_file_parse(m->head, m->head_n, m->size, s->label, &s->st, err);
}

static int ar_cmp_order(const void *a, const void *b) {
    const ar_member *x = *(const ar_member *const *)a, *y = *(const ar_member *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

// Shards named by the index, in archive order.
static ingot_status ar_open_indexed(ingot_checkpoint *ck, const ar_scan *sc, const char *prefix,
                                    const ar_member *im, ingot_err *err) {
    const size_t ln = strlen(ck->path) + strlen(im->path) + 2;
    char *label = ingot_malloc(ln);
    INGOT_FAIL_IF(!label, err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
    snprintf(label, ln, "%s:%s", ck->path, im->path);
    ingot_st_index ix;
    ingot_status st = im->head ? ingot_st_index_parse(im->head, im->head_n, label, &ix, err)
                               : ingot_err_set(err, INGOT_E_LIMIT, "%s: over the size limit", label);
    if (st != INGOT_OK) {
        ingot_free(label);
        return st;
    }
    const ar_member **use = ingot_calloc(ix.n_shards ? ix.n_shards : 1, sizeof *use);
    ck->shards = ingot_calloc(ix.n_shards ? ix.n_shards : 1, sizeof *ck->shards);
    if (!use || !ck->shards) st = ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
    for (size_t i = 0; i < ix.n_shards && st == INGOT_OK; i++) {
        use[i] = ar_lookup(sc, prefix, ix.shards[i]);
        if (!use[i] || use[i]->kind != AR_SAFETENSORS)
            st = ingot_err_set(err, INGOT_E_FORMAT, "%s: shard '%s' named by the index is not in the archive", label,
                               ix.shards[i]);
    }
    if (st == INGOT_OK) qsort(use, ix.n_shards, sizeof *use, ar_cmp_order);
    for (size_t i = 0; i < ix.n_shards && st == INGOT_OK; i++) st = ar_shard_add(ck, use[i], prefix, err);
    if (st == INGOT_OK) st = ingot_ck_finish(ck, &ix, label, err);
    ingot_free(use);
    ingot_st_index_deinit(&ix);
    ingot_free(label);
    return st;
}

static ingot_status ar_load_aux(ingot_checkpoint *ck, ar_scan *sc, const char *prefix, ingot_err *err) {
    for (size_t i = 0; i < sc->n; i++) {
        ar_member *m = &sc->m[i];
        const size_t pl = strlen(prefix);
        if (m->kind != AR_AUX || strncmp(m->path, prefix, pl) != 0 || strchr(m->path + pl, '/')) continue;
        const size_t cap = ingot_checkpoint_aux_cap(m->path + pl);
        if (!m->head || m->size > cap) {
            ingot_err_where(err, ck->path, NULL, -1);
            return ingot_err_set(err, INGOT_E_LIMIT, "%s: member '%s' is over the %zu-byte limit", ck->path, m->path,
                                 cap);
        }
        char *data = (char *)m->head;
        m->head = NULL; // ownership moves to ck
        INGOT_FORWARD_IF_ERROR(ingot_ck_aux_add(ck, m->path + pl, data, m->head_n, err));
    }
    return INGOT_OK;
}

static ingot_status ar_open_scanned(ingot_checkpoint *ck, ar_scan *sc, ingot_err *err) {
    char prefix[512] = "";
    if (sc->top_shared && sc->top && strlen(sc->top) + 2 <= sizeof prefix)
        snprintf(prefix, sizeof prefix, "%s/", sc->top);
    const ar_member *im = NULL;
    INGOT_FORWARD_IF_ERROR(ar_pick(sc, prefix, AR_INDEX, "model.safetensors.index.json", ck->path, &im, err));
    if (im) INGOT_FORWARD_IF_ERROR(ar_open_indexed(ck, sc, prefix, im, err));
    else {
        const ar_member *m = NULL;
        INGOT_FORWARD_IF_ERROR(ar_pick(sc, prefix, AR_SAFETENSORS, "model.safetensors", ck->path, &m, err));
        INGOT_FAIL_IF(!m, err, INGOT_E_FORMAT, "%s: no .safetensors member and no index%s%s", ck->path,
                      prefix[0] ? " under " : "", prefix);
        ck->shards = ingot_calloc(1, sizeof *ck->shards);
        INGOT_FAIL_IF(!ck->shards, err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
        INGOT_FORWARD_IF_ERROR(ar_shard_add(ck, m, prefix, err));
        INGOT_FORWARD_IF_ERROR(ingot_ck_finish(ck, NULL, NULL, err));
    }
    return ar_load_aux(ck, sc, prefix, err);
}

ingot_status ingot_ck_archive_open(ingot_checkpoint *ck, ingot_err *err) {
    ar_scan sc = {0};
    ingot_status st = ar_scan_all(ck->path, &sc, err);
    if (st == INGOT_OK) st = ar_open_scanned(ck, &sc, err);
    ar_scan_deinit(&sc);
    return st;
}

// ---- pass 2 -----------------------------------------------------------------------

typedef struct ar_stream {
    ingot_checkpoint *ck;
    ingot_checkpoint_tensor_fn fn;  // NULL: hash shard `hash_shard` instead
    void *ctx;
    size_t hash_shard;
    uint64_t hash;
    uint8_t *buf;                   // one tensor (or one block when hashing)
    size_t buf_cap;
} ar_stream;

static ingot_status ar_grow(ar_stream *as, uint64_t n, ingot_err *err) {
    if (n <= as->buf_cap) return INGOT_OK;
    INGOT_FAIL_IF(n > SIZE_MAX, err, INGOT_E_LIMIT, "%s: a %llu-byte tensor does not fit in memory", as->ck->path,
                  (unsigned long long)n);
    uint8_t *p = ingot_realloc(as->buf, (size_t)n);
    INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "%s: out of memory for a %llu-byte tensor", as->ck->path,
                  (unsigned long long)n);
    as->buf = p;
    as->buf_cap = (size_t)n;
    return INGOT_OK;
}

// Streams the tensors of shard s, whose member is current.
static ingot_status ar_stream_tensors(ar_stream *as, struct archive *a, size_t s, const size_t *first,
                                      ingot_err *err) {
    ingot_checkpoint *ck = as->ck;
    const ingot_ck_shard *sh = &ck->shards[s];
    const uint64_t head = ingot_st_file_data_start(sh->st);
    INGOT_FORWARD_IF_ERROR(ar_grow(as, head, err));
    size_t got;
    INGOT_FORWARD_IF_ERROR(ar_read(a, as->buf, (size_t)head, &got, ck->path, sh->member, err));
    if (got != head || XXH3_64bits(as->buf, got) != sh->header_hash) {
        ingot_err_where(err, sh->label, NULL, 0);
        return ingot_err_set(err, INGOT_E_IO, "%s: header changed since the archive was opened", sh->label);
    }
    for (size_t k = first[s]; k < first[s + 1]; k++) {
        INGOT_FAIL_IF(ingot_interrupted(), err, INGOT_E_INTERRUPTED, "%s: interrupted", ck->path);
        const size_t i = ck->storage[k];
        const ingot_st_tensor *t = &ck->tensors[i];
        INGOT_FORWARD_IF_ERROR(ar_grow(as, t->size, err));
        INGOT_FORWARD_IF_ERROR(ar_read(a, as->buf, (size_t)t->size, &got, ck->path, sh->member, err));
        if (got != t->size) {
            ingot_err_where(err, sh->label, t->name, (int64_t)(t->data_off + got));
            return ingot_err_set(err, INGOT_E_IO, "%s: tensor '%s': member ends after %zu of %llu bytes (byte %llu)",
                                 sh->label, t->name, got, (unsigned long long)t->size,
                                 (unsigned long long)(t->data_off + got));
        }
        INGOT_FORWARD_IF_ERROR(as->fn(as->ctx, i, as->buf, err));
    }
    return INGOT_OK;
}

static ingot_status ar_stream_hash(ar_stream *as, struct archive *a, size_t s, ingot_err *err) {
    XXH3_state_t *state = XXH3_createState();
    INGOT_FAIL_IF(!state, err, INGOT_E_NOMEM, "%s: out of memory", as->ck->path);
    XXH3_64bits_reset(state);
    ingot_status st = ar_grow(as, AR_BLOCK, err);
    for (size_t got = AR_BLOCK; st == INGOT_OK && got == AR_BLOCK;) {
        st = ar_read(a, as->buf, AR_BLOCK, &got, as->ck->path, as->ck->shards[s].member, err);
        if (st == INGOT_OK) XXH3_64bits_update(state, as->buf, got);
    }
    as->hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return st;
}

// Walks the archive; for each member that is a wanted shard, streams it.
static ingot_status ar_walk(ar_stream *as, const size_t *first, ingot_err *err) {
    ingot_checkpoint *ck = as->ck;
    struct archive *a;
    INGOT_FORWARD_IF_ERROR(ar_begin(ck->path, &a, err));
    size_t next = as->fn ? 0 : as->hash_shard; // shards come in archive order
    const size_t last = as->fn ? ck->n_shards : as->hash_shard + 1;
    ingot_status st = INGOT_OK;
    while (st == INGOT_OK && next < last) {
        struct archive_entry *e;
        const int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            st = ar_fail(a, ck->path, NULL, err);
            break;
        }
        const char *path = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !path) continue;
        while (path[0] == '.' && path[1] == '/') path += 2;
        if (strcmp(path, ck->shards[next].member) != 0) continue;
        st = as->fn ? ar_stream_tensors(as, a, next, first, err) : ar_stream_hash(as, a, next, err);
        next++;
    }
    archive_read_free(a);
    if (st == INGOT_OK && next < last) {
        ingot_err_where(err, ck->path, NULL, -1);
        st = ingot_err_set(err, INGOT_E_IO, "%s: member '%s' is no longer in the archive", ck->path,
                           ck->shards[next].member);
    }
    return st;
}

ingot_status ingot_ck_archive_foreach(ingot_checkpoint *ck, ingot_checkpoint_tensor_fn fn, void *ctx,
                                      ingot_err *err) {
    // first[s]: storage position of shard s's first tensor
    size_t *first = ingot_calloc(ck->n_shards + 1, sizeof *first);
    INGOT_FAIL_IF(!first, err, INGOT_E_NOMEM, "%s: out of memory", ck->path);
    for (size_t s = 0; s < ck->n_shards; s++) first[s + 1] = first[s] + ingot_st_file_n_tensors(ck->shards[s].st);
    ar_stream as = {.ck = ck, .fn = fn, .ctx = ctx};
    const ingot_status st = ar_walk(&as, first, err);
    ingot_free(as.buf);
    ingot_free(first);
    return st;
}

ingot_status ingot_ck_archive_shard_hash(ingot_checkpoint *ck, size_t shard, uint64_t *out, ingot_err *err) {
    ar_stream as = {.ck = ck, .hash_shard = shard};
    const ingot_status st = ar_walk(&as, NULL, err);
    ingot_free(as.buf);
    if (st == INGOT_OK) *out = as.hash;
    return st;
}
