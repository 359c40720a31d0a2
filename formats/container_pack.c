// formats/: the .ingot.zst transport form (docs/FORMAT.md, "Transport
// form"). The file is cut into chunks; chunks of F32/F16/BF16 tensors are
// byte-plane split, and every chunk is an independent zstd frame, so both
// directions run on a thread pool with one zstd context per thread. Pack
// compresses a batch of chunks in parallel and appends the frames in chunk
// order (the output does not depend on the thread count); unpack decompresses
// every chunk straight to its offset in an atomic temporary file, then checks
// the whole-file hash and every tensor checksum before the rename.
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xxhash.h>
#include <zstd.h>

#include "container_internal.h"

#define PACK_CHUNK (4u << 20)       // default restored bytes per chunk
#define PACK_MIN_PLANE_TENSOR 4096u // smaller float tensors are not worth their own chunks
#define PACK_MAX_CHUNKS (1ull << 28)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- byte planes ----------------------------------------------------------
static uint32_t transform_elem(uint32_t tr) { return tr == INGOT_PK_PLANES4 ? 4 : tr == INGOT_PK_PLANES2 ? 2 : 1; }

// Element bytes are little-endian; plane 0 holds the most significant byte.
static void planes_split(const uint8_t *src, size_t n, uint32_t es, uint8_t *dst) {
    const size_t ne = n / es;
    for (uint32_t p = 0; p < es; p++) {
        const uint8_t *s = src + (es - 1 - p);
        uint8_t *d = dst + p * ne;
        for (size_t i = 0; i < ne; i++) d[i] = s[i * es];
    }
}

static void planes_join(const uint8_t *src, size_t n, uint32_t es, uint8_t *dst) {
    const size_t ne = n / es;
    for (uint32_t p = 0; p < es; p++) {
        const uint8_t *s = src + p * ne;
        uint8_t *d = dst + (es - 1 - p);
        for (size_t i = 0; i < ne; i++) d[i * es] = s[i];
    }
}

// ---- chunk plan -----------------------------------------------------------
typedef struct pk_chunk {
    uint64_t orig_off, comp_off;
    uint32_t orig_size, comp_size, transform;
} pk_chunk;

typedef struct chunk_list {
    pk_chunk *v;
    size_t n, cap;
} chunk_list;

static bool chunks_push(chunk_list *L, uint64_t off, uint64_t size, uint32_t tr) {
    for (uint64_t done = 0; done < size;) {
        const uint64_t left = size - done;
        const uint32_t k = left < PACK_CHUNK ? (uint32_t)left : PACK_CHUNK;
        if (L->n == L->cap) {
            const size_t nc = L->cap ? L->cap * 2 : 256;
            pk_chunk *q = ingot_realloc(L->v, nc * sizeof *q);
            if (!q) return false;
            L->v = q;
            L->cap = nc;
        }
        L->v[L->n++] = (pk_chunk){.orig_off = off + done, .orig_size = k, .transform = tr};
        done += k;
    }
    return true;
}

static uint32_t dtype_transform(ingot_dtype t) {
    if (t == INGOT_DTYPE_F32) return INGOT_PK_PLANES4;
    if (t == INGOT_DTYPE_F16 || t == INGOT_DTYPE_BF16) return INGOT_PK_PLANES2;
    return INGOT_PK_RAW;
}

// Float tensors of at least PACK_MIN_PLANE_TENSOR bytes become plane-split
// chunks; everything between them is chunked raw.
static ingot_status plan_chunks(const ingot_container *c, const char *path, chunk_list *L, ingot_err *err) {
    uint64_t raw_start = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < ingot_container_n_tensors(c); i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        const uint32_t tr = dtype_transform(t->dtype);
        if (tr == INGOT_PK_RAW || t->size < PACK_MIN_PLANE_TENSOR) continue;
        ok = chunks_push(L, raw_start, t->off - raw_start, INGOT_PK_RAW) && chunks_push(L, t->off, t->size, tr);
        raw_start = t->off + t->size;
    }
    if (ok) ok = chunks_push(L, raw_start, ingot_container_file_size(c) - raw_start, INGOT_PK_RAW);
    if (!ok) return ingot_ct_fail(err, INGOT_E_NOMEM, path, NULL, -1, "out of memory planning chunks");
    return INGOT_OK;
}

// ---- per-thread scratch ---------------------------------------------------
typedef struct pk_worker {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    uint8_t *plane; // PACK chunk-sized scratch
    uint8_t *out;   // unpack: decompressed bytes before the planes are joined
    ingot_err err;
    ingot_status st;
} pk_worker;

static void workers_free(pk_worker *w, int n) {
    for (int i = 0; w && i < n; i++) {
        ZSTD_freeCCtx(w[i].cctx);
        ZSTD_freeDCtx(w[i].dctx);
        ingot_free(w[i].plane);
        ingot_free(w[i].out);
    }
    ingot_free(w);
}

static pk_worker *workers_create(int n, bool compress, int level) {
    pk_worker *w = ingot_calloc((size_t)n, sizeof *w);
    if (!w) return NULL;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        if (compress) {
            w[i].cctx = ZSTD_createCCtx();
            ok = w[i].cctx && !ZSTD_isError(ZSTD_CCtx_setParameter(w[i].cctx, ZSTD_c_compressionLevel, level));
        } else {
            w[i].dctx = ZSTD_createDCtx();
            w[i].out = ingot_malloc(INGOT_PK_CHUNK_MAX);
            ok = w[i].dctx && w[i].out;
        }
        w[i].plane = ingot_malloc(INGOT_PK_CHUNK_MAX);
        ok = ok && w[i].plane;
    }
    if (!ok) {
        workers_free(w, n);
        return NULL;
    }
    return w;
}

// ---- pack -----------------------------------------------------------------
typedef struct pack_job {
    const uint8_t *src;
    pk_chunk *chunks;  // this batch
    uint8_t **dst;     // one output buffer per chunk of the batch
    size_t dst_cap;
    pk_worker *workers;
} pack_job;

static void pack_one(void *ctx, size_t i, int worker) {
    pack_job *j = ctx;
    pk_worker *w = &j->workers[worker];
    pk_chunk *ch = &j->chunks[i];
    const uint8_t *in = j->src + ch->orig_off;
    if (ch->transform != INGOT_PK_RAW) {
        planes_split(in, ch->orig_size, transform_elem(ch->transform), w->plane);
        in = w->plane;
    }
    const size_t r = ZSTD_compress2(w->cctx, j->dst[i], j->dst_cap, in, ch->orig_size);
    if (ZSTD_isError(r)) {
        w->st = ingot_err_set(&w->err, INGOT_E_IO, "zstd: %s", ZSTD_getErrorName(r));
        ch->comp_size = 0;
        return;
    }
    ch->comp_size = (uint32_t)r;
}

static void put_pack_header(uint8_t *h, uint64_t orig_size, uint64_t orig_xxh3, uint64_t n_chunks,
                            uint64_t pack_size, uint64_t table_xxh3) {
    memset(h, 0, INGOT_PK_HEADER_SIZE);
    memcpy(h, INGOT_PK_MAGIC, 8);
    ingot_ct_put_u32(h + offsetof(ingot_pk_disk_header, version), INGOT_PK_VERSION);
    ingot_ct_put_u32(h + offsetof(ingot_pk_disk_header, header_size), INGOT_PK_HEADER_SIZE);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, orig_size), orig_size);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, orig_xxh3), orig_xxh3);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, n_chunks), n_chunks);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, pack_size), pack_size);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, table_xxh3), table_xxh3);
    ingot_ct_put_u64(h + offsetof(ingot_pk_disk_header, head_xxh3), XXH3_64bits(h, 56));
}

static uint8_t *table_bytes(const chunk_list *L) {
    uint8_t *t = ingot_calloc(L->n ? L->n : 1, sizeof(ingot_pk_disk_chunk));
    for (size_t i = 0; t && i < L->n; i++) {
        uint8_t *e = t + 32 * i;
        ingot_ct_put_u64(e + offsetof(ingot_pk_disk_chunk, orig_off), L->v[i].orig_off);
        ingot_ct_put_u64(e + offsetof(ingot_pk_disk_chunk, comp_off), L->v[i].comp_off);
        ingot_ct_put_u32(e + offsetof(ingot_pk_disk_chunk, orig_size), L->v[i].orig_size);
        ingot_ct_put_u32(e + offsetof(ingot_pk_disk_chunk, comp_size), L->v[i].comp_size);
        ingot_ct_put_u32(e + offsetof(ingot_pk_disk_chunk, transform), L->v[i].transform);
    }
    return t;
}

typedef struct pack_state {
    const ingot_container *c;
    const char *out_path;
    ingot_ct_atomic af;
    chunk_list chunks;
    ingot_pool *pool;
    pk_worker *workers;
    int n_workers;
    uint8_t **bufs;
    size_t batch, buf_cap;
    uint64_t pos;           // next frame offset in the output
    XXH3_state_t *hash;     // whole-file hash of the source
} pack_state;

static ingot_status pack_batches(pack_state *ps, ingot_err *err) {
    const uint8_t *src = ingot_container_base(ps->c);
    for (size_t b0 = 0; b0 < ps->chunks.n; b0 += ps->batch) {
        INGOT_FAIL_IF(ingot_interrupted(), err, INGOT_E_INTERRUPTED, "%s: interrupted", ps->out_path);
        const size_t nb = ps->chunks.n - b0 < ps->batch ? ps->chunks.n - b0 : ps->batch;
        pack_job job = {src, ps->chunks.v + b0, ps->bufs, ps->buf_cap, ps->workers};
        ingot_pool_run(ps->pool, nb, pack_one, &job);
        for (int w = 0; w < ps->n_workers; w++)
            if (ps->workers[w].st != INGOT_OK)
                return ingot_ct_fail(err, ps->workers[w].st, ps->out_path, NULL, -1, "%s", ps->workers[w].err.msg);
        for (size_t i = 0; i < nb; i++) {
            pk_chunk *ch = &ps->chunks.v[b0 + i];
            XXH3_64bits_update(ps->hash, src + ch->orig_off, ch->orig_size);
            ch->comp_off = ps->pos;
            INGOT_FORWARD_IF_ERROR(ingot_ct_pwrite(ps->af.fd, ps->bufs[i], ch->comp_size, ps->pos, ps->out_path, err));
            ps->pos += ch->comp_size;
        }
    }
    return INGOT_OK;
}

static ingot_status pack_finish(pack_state *ps, unsigned flags, ingot_err *err) {
    uint8_t *table = table_bytes(&ps->chunks);
    INGOT_FAIL_IF(!table, err, INGOT_E_NOMEM, "%s: out of memory", ps->out_path);
    const size_t table_n = 32 * ps->chunks.n;
    uint8_t head[INGOT_PK_HEADER_SIZE];
    put_pack_header(head, ingot_container_file_size(ps->c), XXH3_64bits_digest(ps->hash), ps->chunks.n, ps->pos,
                    XXH3_64bits(table, table_n));
    ingot_status s = ingot_ct_pwrite(ps->af.fd, table, table_n, INGOT_PK_HEADER_SIZE, ps->out_path, err);
    ingot_free(table);
    if (s == INGOT_OK) s = ingot_ct_pwrite(ps->af.fd, head, sizeof head, 0, ps->out_path, err);
    if (s == INGOT_OK) s = ingot_ct_atomic_commit(&ps->af, flags & INGOT_WRITER_FORCE, err);
    return s;
}

static ingot_status pack_setup(pack_state *ps, int level, int n_threads, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_pool_create(n_threads, &ps->pool, err));
    ps->n_workers = ingot_pool_n_threads(ps->pool);
    ps->workers = workers_create(ps->n_workers, true, level);
    ps->batch = 2 * (size_t)ps->n_workers;
    ps->buf_cap = ZSTD_compressBound(PACK_CHUNK);
    ps->bufs = ingot_calloc(ps->batch, sizeof *ps->bufs);
    ps->hash = XXH3_createState();
    bool ok = ps->workers && ps->bufs && ps->hash;
    for (size_t i = 0; ok && i < ps->batch; i++) ok = (ps->bufs[i] = ingot_malloc(ps->buf_cap)) != NULL;
    INGOT_FAIL_IF(!ok, err, INGOT_E_NOMEM, "%s: out of memory for %d compression threads", ps->out_path,
                  ps->n_workers);
    XXH3_64bits_reset(ps->hash);
    return INGOT_OK;
}

static void pack_cleanup(pack_state *ps) {
    ingot_ct_atomic_abort(&ps->af);
    for (size_t i = 0; ps->bufs && i < ps->batch; i++) ingot_free(ps->bufs[i]);
    ingot_free(ps->bufs);
    workers_free(ps->workers, ps->n_workers);
    ingot_pool_free(ps->pool);
    ingot_free(ps->chunks.v);
    if (ps->hash) XXH3_freeState(ps->hash);
}

ingot_status ingot_pack(const char *in_path, const char *out_path, int level, int n_threads, unsigned flags,
                        ingot_pack_stats *stats, ingot_err *err) {
    INGOT_FAIL_IF(!in_path || !out_path, err, INGOT_E_ARG, "input or output path is NULL");
    INGOT_FAIL_IF(level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0, err, INGOT_E_ARG,
                  "zstd level %d is outside %d..%d (0 excluded)", level, ZSTD_minCLevel(), ZSTD_maxCLevel());
    INGOT_FAIL_IF(flags & ~INGOT_WRITER_FORCE, err, INGOT_E_ARG, "unknown pack flags 0x%x", flags);
    if (stats) *stats = (ingot_pack_stats){0};
    const double t0 = now_s();
    ingot_container *c = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_container_open(in_path, INGOT_OPEN_VERIFY, &c, err));
    pack_state ps = {.c = c, .out_path = out_path, .af = {.fd = -1, .slot = -1}};
    ingot_status s = plan_chunks(c, in_path, &ps.chunks, err);
    if (s == INGOT_OK) s = pack_setup(&ps, level, n_threads, err);
    if (s == INGOT_OK) s = ingot_ct_atomic_create(&ps.af, out_path, flags & INGOT_WRITER_FORCE, 0, err);
    ps.pos = INGOT_PK_HEADER_SIZE + 32ull * ps.chunks.n;
    if (s == INGOT_OK) s = pack_batches(&ps, err);
    if (s == INGOT_OK) s = pack_finish(&ps, flags, err);
    if (s == INGOT_OK && stats)
        *stats = (ingot_pack_stats){ingot_container_file_size(c), ps.pos, now_s() - t0};
    pack_cleanup(&ps);
    ingot_container_close(c);
    return s;
}

// ---- unpack ---------------------------------------------------------------
typedef struct pk_file {
    const char *path;
    const uint8_t *p;
    uint64_t size;
    uint64_t orig_size, orig_xxh3, n_chunks;
} pk_file;

static ingot_status check_pack_header(pk_file *f, ingot_err *err) {
    const uint8_t *h = f->p;
    const size_t m = f->size < 8 ? (size_t)f->size : 8;
    if (m == 0 || memcmp(h, INGOT_PK_MAGIC, m) != 0)
        return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, 0, "not an .ingot.zst file (bad magic)");
    if (f->size >= 12 && ingot_ct_get_u32(h + 8) > INGOT_PK_VERSION)
        return ingot_ct_fail(err, INGOT_E_UNSUPPORTED, f->path, NULL, 8,
                             "transport format version %u is newer than this reader (%u)", ingot_ct_get_u32(h + 8),
                             INGOT_PK_VERSION);
    if (f->size < INGOT_PK_HEADER_SIZE)
        return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, (int64_t)f->size, "truncated: %llu bytes",
                             (unsigned long long)f->size);
    if (XXH3_64bits(h, 56) != ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, head_xxh3)))
        return ingot_ct_fail(err, INGOT_E_CHECKSUM, f->path, NULL, 56, "header checksum mismatch");
    const uint32_t version = ingot_ct_get_u32(h + offsetof(ingot_pk_disk_header, version));
    const uint32_t hsize = ingot_ct_get_u32(h + offsetof(ingot_pk_disk_header, header_size));
    const uint64_t pack_size = ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, pack_size));
    f->orig_size = ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, orig_size));
    f->orig_xxh3 = ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, orig_xxh3));
    f->n_chunks = ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, n_chunks));
    if (version == 0 || hsize != INGOT_PK_HEADER_SIZE || pack_size != f->size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, 8,
                             "bad header: version %u, header size %u, %llu bytes recorded for a %llu-byte file",
                             version, hsize, (unsigned long long)pack_size, (unsigned long long)f->size);
    if (f->n_chunks > PACK_MAX_CHUNKS || f->n_chunks > (f->size - INGOT_PK_HEADER_SIZE) / 32)
        return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, 32, "%llu chunks do not fit the file",
                             (unsigned long long)f->n_chunks);
    const uint8_t *table = h + INGOT_PK_HEADER_SIZE;
    if (XXH3_64bits(table, (size_t)(32 * f->n_chunks)) != ingot_ct_get_u64(h + offsetof(ingot_pk_disk_header, table_xxh3)))
        return ingot_ct_fail(err, INGOT_E_CHECKSUM, f->path, NULL, INGOT_PK_HEADER_SIZE, "chunk table checksum mismatch");
    return INGOT_OK;
}

static ingot_status read_chunk_table(const pk_file *f, pk_chunk *v, ingot_err *err) {
    uint64_t orig = 0, comp = INGOT_PK_HEADER_SIZE + 32 * f->n_chunks;
    for (uint64_t i = 0; i < f->n_chunks; i++) {
        const uint8_t *e = f->p + INGOT_PK_HEADER_SIZE + 32 * i;
        pk_chunk *ch = &v[i];
        ch->orig_off = ingot_ct_get_u64(e + offsetof(ingot_pk_disk_chunk, orig_off));
        ch->comp_off = ingot_ct_get_u64(e + offsetof(ingot_pk_disk_chunk, comp_off));
        ch->orig_size = ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, orig_size));
        ch->comp_size = ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, comp_size));
        ch->transform = ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, transform));
        const bool ok = ch->orig_off == orig && ch->comp_off == comp && ch->orig_size >= 1 &&
                        ch->orig_size <= INGOT_PK_CHUNK_MAX && ch->transform < INGOT_PK_TRANSFORM_COUNT &&
                        ch->orig_size % transform_elem(ch->transform) == 0 && ch->comp_size >= 1 &&
                        ch->comp_size <= f->size - comp &&
                        !ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, reserved));
        if (!ok)
            return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, (int64_t)(INGOT_PK_HEADER_SIZE + 32 * i),
                                 "chunk %llu: entry out of order, out of bounds or invalid", (unsigned long long)i);
        orig += ch->orig_size;
        comp += ch->comp_size;
    }
    if (orig != f->orig_size || comp != f->size)
        return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, INGOT_PK_HEADER_SIZE,
                             "chunks restore %llu bytes and end at %llu; the header says %llu and %llu",
                             (unsigned long long)orig, (unsigned long long)comp, (unsigned long long)f->orig_size,
                             (unsigned long long)f->size);
    return INGOT_OK;
}

typedef struct unpack_job {
    const pk_file *f;
    const pk_chunk *chunks;
    pk_worker *workers;
    int fd;
    const char *out_path;
    _Atomic bool failed;
} unpack_job;

static void unpack_one(void *ctx, size_t i, int worker) {
    unpack_job *j = ctx;
    pk_worker *w = &j->workers[worker];
    if (atomic_load(&j->failed) || ingot_interrupted()) return;
    const pk_chunk *ch = &j->chunks[i];
    uint8_t *dst = ch->transform == INGOT_PK_RAW ? w->out : w->plane;
    const size_t r = ZSTD_decompressDCtx(w->dctx, dst, INGOT_PK_CHUNK_MAX, j->f->p + ch->comp_off, ch->comp_size);
    if (ZSTD_isError(r) || r != ch->orig_size) {
        w->st = ingot_ct_fail(&w->err, INGOT_E_FORMAT, j->f->path, NULL, (int64_t)ch->comp_off,
                              "chunk %zu at offset %llu: %s", i, (unsigned long long)ch->comp_off,
                              ZSTD_isError(r) ? ZSTD_getErrorName(r) : "restores the wrong number of bytes");
        atomic_store(&j->failed, true);
        return;
    }
    if (ch->transform != INGOT_PK_RAW) planes_join(w->plane, ch->orig_size, transform_elem(ch->transform), w->out);
    w->st = ingot_ct_pwrite(j->fd, w->out, ch->orig_size, ch->orig_off, j->out_path, &w->err);
    if (w->st != INGOT_OK) atomic_store(&j->failed, true);
}

// The restored bytes must hash to orig_xxh3 and open as a container whose
// every tensor checksum holds.
static ingot_status verify_restored(const pk_file *f, int fd, const char *out_path, ingot_err *err) {
    if (f->orig_size == 0) return ingot_ct_fail(err, INGOT_E_FORMAT, f->path, NULL, 16, "restores an empty file");
    void *map = mmap(NULL, (size_t)f->orig_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return ingot_ct_fail(err, INGOT_E_IO, out_path, NULL, -1, "cannot map the restored file: %s", strerror(errno));
    ingot_status s = INGOT_OK;
    if (XXH3_64bits(map, (size_t)f->orig_size) != f->orig_xxh3)
        s = ingot_ct_fail(err, INGOT_E_CHECKSUM, f->path, NULL, 24, "the restored file does not match its hash");
    ingot_container *c = NULL;
    if (s == INGOT_OK) s = ingot_container_open_buffer(map, (size_t)f->orig_size, INGOT_OPEN_VERIFY, &c, err);
    ingot_container_close(c);
    munmap(map, (size_t)f->orig_size);
    return s;
}

static ingot_status unpack_run(const pk_file *f, const char *out_path, int n_threads, unsigned flags,
                               ingot_err *err) {
    pk_chunk *chunks = ingot_calloc(f->n_chunks ? (size_t)f->n_chunks : 1, sizeof *chunks);
    INGOT_FAIL_IF(!chunks, err, INGOT_E_NOMEM, "%s: out of memory for %llu chunks", f->path,
                  (unsigned long long)f->n_chunks);
    ingot_pool *pool = NULL;
    pk_worker *workers = NULL;
    ingot_ct_atomic af = {.fd = -1, .slot = -1};
    ingot_status s = read_chunk_table(f, chunks, err);
    if (s == INGOT_OK) s = ingot_pool_create(n_threads, &pool, err);
    if (s == INGOT_OK && !(workers = workers_create(ingot_pool_n_threads(pool), false, 0)))
        s = ingot_ct_fail(err, INGOT_E_NOMEM, out_path, NULL, -1, "out of memory for decompression threads");
    if (s == INGOT_OK) s = ingot_ct_atomic_create(&af, out_path, flags & INGOT_WRITER_FORCE, f->orig_size, err);
    if (s == INGOT_OK) {
        unpack_job job = {.f = f, .chunks = chunks, .workers = workers, .fd = af.fd, .out_path = out_path};
        ingot_pool_run(pool, (size_t)f->n_chunks, unpack_one, &job);
        for (int w = 0; s == INGOT_OK && w < ingot_pool_n_threads(pool); w++)
            if (workers[w].st != INGOT_OK) {
                s = workers[w].st;
                if (err) *err = workers[w].err;
            }
        if (s == INGOT_OK && ingot_interrupted())
            s = ingot_ct_fail(err, INGOT_E_INTERRUPTED, out_path, NULL, -1, "interrupted");
    }
    if (s == INGOT_OK) {
        s = verify_restored(f, af.fd, out_path, err);
        if (s != INGOT_OK) ingot_err_prefix(err, "%s: restored file fails verification", out_path);
    }
    if (s == INGOT_OK) s = ingot_ct_atomic_commit(&af, flags & INGOT_WRITER_FORCE, err);
    ingot_ct_atomic_abort(&af);
    if (pool) workers_free(workers, ingot_pool_n_threads(pool));
    ingot_pool_free(pool);
    ingot_free(chunks);
    return s;
}

ingot_status ingot_unpack(const char *in_path, const char *out_path, int n_threads, unsigned flags,
                          ingot_pack_stats *stats, ingot_err *err) {
    INGOT_FAIL_IF(!in_path || !out_path, err, INGOT_E_ARG, "input or output path is NULL");
    INGOT_FAIL_IF(flags & ~INGOT_WRITER_FORCE, err, INGOT_E_ARG, "unknown unpack flags 0x%x", flags);
    if (stats) *stats = (ingot_pack_stats){0};
    const double t0 = now_s();
    ingot_file_map map;
    INGOT_FORWARD_IF_ERROR(ingot_file_map_open(in_path, &map, err));
    pk_file f = {.path = in_path, .p = map.data, .size = map.size};
    ingot_status s = check_pack_header(&f, err);
    if (s == INGOT_OK) s = unpack_run(&f, out_path, n_threads, flags, err);
    if (s == INGOT_OK && stats) *stats = (ingot_pack_stats){f.size, f.orig_size, now_s() - t0};
    ingot_file_map_close(&map);
    return s;
}
