// formats/: .ingot container tests — round trip, determinism across writer
// thread counts and write orders, truncation sweep, corrupt-file table,
// atomicity under simulated ENOSPC, lookup, allocation faults, and the
// .ingot.zst transport form.
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "container_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot_test.h"

// ---- a sample container ---------------------------------------------------
typedef struct sample_tensor {
    const char *name;
    ingot_dtype dtype;
    uint32_t n_dims;
    uint64_t dims[4];
    int region; // -1: stays in the first (dense) region; else index of k_regions
} sample_tensor;

typedef struct sample_region {
    ingot_region_kind kind;
    int32_t layer;
} sample_region;

static const sample_region k_regions[] = {
    {INGOT_REGION_EXPERTS, 0},
    {INGOT_REGION_EXPERTS, 1},
    {INGOT_REGION_ENGRAM, 1},
};

// Declared in plan order; region indices must be non-decreasing.
static const sample_tensor k_tensors[] = {
    {"token_embd.weight", INGOT_DTYPE_BF16, 2, {16, 8}, -1},
    {"output_norm.weight", INGOT_DTYPE_F32, 1, {8}, -1},
    {"blk.0.attn_q.weight", INGOT_DTYPE_Q8_0, 2, {3, 64}, -1},
    {"blk.0.scale", INGOT_DTYPE_F16, 0, {0}, -1},
    {"blk.0.empty", INGOT_DTYPE_U8, 1, {0}, -1},
    {"blk.0.ffn_gate.0.weight", INGOT_DTYPE_Q4_K, 2, {2, 256}, 0},
    {"blk.0.ffn_gate.1.weight", INGOT_DTYPE_F8_E4M3, 3, {2, 3, 5}, 0},
    {"blk.1.ffn_gate.0.weight", INGOT_DTYPE_I32, 4, {2, 1, 3, 2}, 1},
    {"blk.1.ffn_down.0.weight", INGOT_DTYPE_F16, 2, {5, 7}, 1},
    {"blk.1.engram.table", INGOT_DTYPE_F32, 2, {33, 4}, 2},
};
#define N_SAMPLE (sizeof k_tensors / sizeof *k_tensors)

static const char k_meta[] = "{\"format\":\"ingot\",\"arch\":\"llama\",\"hparams\":{\"n_layer\":2}}";
static const char k_tok[] = "{\"model\":{\"type\":\"BPE\"}}";
static const uint8_t k_map[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};

static uint8_t sample_byte(size_t t, uint64_t j) {
    uint64_t x = (t + 1) * 0x9e3779b97f4a7c15ull ^ (j * 0xbf58476d1ce4e5b9ull);
    x ^= x >> 29;
    x *= 0x94d049bb133111ebull;
    return (uint8_t)(x >> 32);
}

static uint64_t sample_size(size_t t) {
    uint64_t n = 0;
    ingot_dtype_tensor_bytes(k_tensors[t].dtype, k_tensors[t].n_dims, k_tensors[t].dims, &n, NULL);
    return n;
}

// Pieces of 7 bytes (odd on purpose) handed to threads in a shuffled order.
typedef struct piece {
    size_t t;
    uint64_t off, n;
} piece;

typedef struct write_job {
    ingot_writer *w;
    const piece *pieces;
    size_t n_pieces;
    int id, n_threads;
    ingot_status st;
    ingot_err err;
} write_job;

static void *write_thread(void *arg) {
    write_job *j = arg;
    uint8_t buf[7];
    for (size_t k = (size_t)j->id; k < j->n_pieces && j->st == INGOT_OK; k += (size_t)j->n_threads) {
        const piece *p = &j->pieces[k];
        for (uint64_t b = 0; b < p->n; b++) buf[b] = sample_byte(p->t, p->off + b);
        j->st = ingot_writer_write(j->w, p->t, p->off, buf, (size_t)p->n, &j->err);
    }
    return NULL;
}

static size_t make_pieces(piece *out, size_t cap, unsigned seed) {
    size_t n = 0;
    for (size_t t = 0; t < N_SAMPLE; t++)
        for (uint64_t off = 0; off < sample_size(t) && n < cap; off += 7) {
            const uint64_t left = sample_size(t) - off;
            out[n++] = (piece){t, off, left < 7 ? left : 7};
        }
    uint64_t x = seed * 2654435761u + 1;
    for (size_t i = n; seed && i > 1; i--) { // Fisher–Yates
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const size_t k = (size_t)(x % i);
        const piece tmp = out[i - 1];
        out[i - 1] = out[k];
        out[k] = tmp;
    }
    return n;
}

static ingot_status declare_sample(ingot_writer *w, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_writer_set_metadata(w, k_meta, strlen(k_meta), err));
    INGOT_FORWARD_IF_ERROR(ingot_writer_add_blob(w, "tokenizer.json", k_tok, strlen(k_tok), err));
    INGOT_FORWARD_IF_ERROR(ingot_writer_add_blob(w, "engram.compress.1", k_map, sizeof k_map, err));
    int region = -1;
    for (size_t t = 0; t < N_SAMPLE; t++) {
        while (region < k_tensors[t].region) {
            region++;
            INGOT_FORWARD_IF_ERROR(ingot_writer_begin_region(w, k_regions[region].kind, k_regions[region].layer, err));
        }
        size_t index;
        INGOT_FORWARD_IF_ERROR(ingot_writer_add_tensor(w, k_tensors[t].name, k_tensors[t].dtype, k_tensors[t].n_dims,
                                                       k_tensors[t].dims, &index, err));
        if (index != t) return ingot_err_set(err, INGOT_E_STATE, "index %zu for tensor %zu", index, t);
    }
    return INGOT_OK;
}

// Writes the sample to `path` with n_threads writer threads (and a pool of
// the same size for checksums), pieces shuffled by `seed`.
static ingot_status write_sample(const char *path, int n_threads, unsigned seed, unsigned flags, ingot_err *err) {
    static piece pieces[4096];
    const size_t n_pieces = make_pieces(pieces, 4096, seed);
    ingot_writer *w = NULL;
    ingot_pool *pool = NULL;
    ingot_status s = ingot_writer_create(path, flags, &w, err);
    if (s == INGOT_OK) s = declare_sample(w, err);
    if (s == INGOT_OK) s = ingot_writer_plan(w, err);
    write_job jobs[8];
    pthread_t th[8];
    for (int i = 0; s == INGOT_OK && i < n_threads; i++) {
        jobs[i] = (write_job){.w = w, .pieces = pieces, .n_pieces = n_pieces, .id = i, .n_threads = n_threads};
        pthread_create(&th[i], NULL, write_thread, &jobs[i]);
    }
    for (int i = 0; s == INGOT_OK && i < n_threads; i++) pthread_join(th[i], NULL);
    for (int i = 0; s == INGOT_OK && i < n_threads; i++)
        if (jobs[i].st != INGOT_OK) {
            if (err) *err = jobs[i].err;
            s = jobs[i].st;
        }
    if (s == INGOT_OK) s = ingot_pool_create(n_threads, &pool, err);
    if (s == INGOT_OK) s = ingot_writer_finish(w, pool, err);
    ingot_pool_free(pool);
    ingot_writer_free(w);
    return s;
}

static uint8_t *read_file(const char *path, size_t *n) {
    char *buf = NULL;
    if (ingot_file_read_all(path, 1u << 30, &buf, n, NULL) != INGOT_OK) return NULL;
    return (uint8_t *)buf;
}

static int count_dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static const char *enter_tmpdir(void) {
    const char *dir = ingot_test_tmpdir();
    if (chdir(dir) != 0) return NULL;
    return dir;
}

// ---- round trip -----------------------------------------------------------
static int check_sample(const ingot_container *c) {
    CHECK_EQ_INT(ingot_container_version(c), INGOT_CONTAINER_VERSION);
    CHECK_EQ_U64(ingot_container_n_tensors(c), N_SAMPLE);
    CHECK_EQ_U64(ingot_container_n_regions(c), 4);
    for (size_t t = 0; t < N_SAMPLE; t++) {
        const ingot_tensor_info *ti = ingot_container_tensor(c, t);
        CHECK(ti != NULL);
        CHECK_STR_CONTAINS(ti->name, k_tensors[t].name);
        CHECK_EQ_INT(strlen(ti->name), strlen(k_tensors[t].name));
        CHECK_EQ_INT(ti->dtype, k_tensors[t].dtype);
        CHECK_EQ_INT(ti->n_dims, k_tensors[t].n_dims);
        for (int d = 0; d < 4; d++) CHECK_EQ_U64(ti->dims[d], d < (int)ti->n_dims ? k_tensors[t].dims[d] : 0);
        CHECK_EQ_U64(ti->size, sample_size(t));
        CHECK_EQ_U64(ti->off % INGOT_TENSOR_ALIGN, 0);
        CHECK_EQ_INT(ti->region, (uint32_t)(k_tensors[t].region + 1));
        const uint8_t *data = ingot_container_tensor_data(c, t);
        for (uint64_t j = 0; j < ti->size; j++)
            CHECK_MSG(data[j] == sample_byte(t, j), "tensor %s byte %llu", ti->name, (unsigned long long)j);
    }
    const ingot_region_info *r0 = ingot_container_region(c, 0);
    CHECK_EQ_INT(r0->kind, INGOT_REGION_DENSE);
    CHECK_EQ_INT(r0->layer, -1);
    for (size_t r = 1; r < 4; r++) {
        const ingot_region_info *R = ingot_container_region(c, r);
        CHECK_EQ_INT(R->kind, k_regions[r - 1].kind);
        CHECK_EQ_INT(R->layer, k_regions[r - 1].layer);
        CHECK_EQ_U64(R->off % INGOT_REGION_ALIGN, 0);
    }
    size_t n;
    const char *meta = ingot_container_metadata(c, &n);
    CHECK_EQ_U64(n, strlen(k_meta));
    CHECK(strcmp(meta, k_meta) == 0);
    const void *data;
    CHECK_EQ_U64(ingot_container_n_blobs(c), 2);
    CHECK(ingot_container_find_blob(c, "tokenizer.json", &data, &n));
    CHECK(n == strlen(k_tok) && memcmp(data, k_tok, n) == 0);
    CHECK(ingot_container_find_blob(c, "engram.compress.1", &data, &n));
    CHECK(n == sizeof k_map && memcmp(data, k_map, n) == 0);
    CHECK(!ingot_container_find_blob(c, "nope", &data, &n));
    return 0;
}

static int test_container_roundtrip(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_sample("m.ingot", 2, 7, 0, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open("m.ingot", INGOT_OPEN_VERIFY, &c, &err), &err);
    const int r = check_sample(c);
    // The same bytes open from memory too.
    size_t n;
    uint8_t *bytes = read_file("m.ingot", &n);
    CHECK(bytes && n == ingot_container_file_size(c));
    ingot_container_close(c);
    CHECK_EQ_INT(r, 0);
    CHECK_OK(ingot_container_open_buffer(bytes, n, INGOT_OPEN_VERIFY, &c, &err), &err);
    const int r2 = check_sample(c);
    ingot_container_close(c);
    ingot_free(bytes);
    CHECK_EQ_INT(r2, 0);
    return 0;
}

// ---- determinism ----------------------------------------------------------
static int test_container_determinism(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    const int threads[3] = {1, 2, 4};
    uint8_t *ref = NULL;
    size_t ref_n = 0;
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%d.ingot", threads[i]);
        CHECK_OK(write_sample(name, threads[i], (unsigned)(11 * i), 0, &err), &err);
        size_t n;
        uint8_t *b = read_file(name, &n);
        CHECK(b != NULL);
        if (!ref) {
            ref = b;
            ref_n = n;
            continue;
        }
        const bool same = n == ref_n && memcmp(b, ref, n) == 0;
        ingot_free(b);
        CHECK_MSG(same, "%d writer threads gave a different file", threads[i]);
    }
    ingot_free(ref);
    return 0;
}

// ---- truncation sweep -----------------------------------------------------
static int test_container_truncation(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_sample("m.ingot", 1, 0, 0, &err), &err);
    size_t n;
    uint8_t *full = read_file("m.ingot", &n);
    CHECK(full != NULL);
    uint8_t *copy = ingot_malloc(n);
    CHECK(copy != NULL);
    const uint64_t head = ingot_ct_get_u64(full + offsetof(ingot_ct_disk_header, head_size));
    for (size_t k = 0; k < n; k++) {
        // Each prefix in its own buffer so ASan sees any read past its end.
        memcpy(copy, full, k);
        ingot_container *c = NULL;
        ingot_status s = ingot_container_open_buffer(k ? copy : NULL, k, 0, &c, &err);
        CHECK_MSG(s == INGOT_E_FORMAT || s == INGOT_E_IO, "prefix %zu: %s", k, ingot_status_name(s));
        CHECK(c == NULL);
        // Also a prefix whose header claims the shorter size, with a valid
        // head checksum, so the deeper bounds checks run.
        if (k >= head) {
            ingot_ct_put_u64(copy + offsetof(ingot_ct_disk_header, file_size), k);
            ingot_ct_put_u64(copy + offsetof(ingot_ct_disk_header, head_xxh3), ingot_ct_head_hash(copy, head));
            s = ingot_container_open_buffer(copy, k, 0, &c, &err);
            CHECK_MSG(s == INGOT_E_FORMAT, "re-sized prefix %zu: %s (%s)", k, ingot_status_name(s), err.msg);
        }
    }
    ingot_free(copy);
    ingot_free(full);
    return 0;
}

// ---- corrupt-file table ---------------------------------------------------
typedef enum defect {
    D_BAD_MAGIC,
    D_FUTURE_VERSION,
    D_OVERLAP,
    D_MISALIGNED,
    D_DUPLICATE_NAME,
    D_ABSURD_DIMS,
    D_UNKNOWN_DTYPE,
    D_HEAD_FLIP,
    D_TENSOR_FLIP,
    D_TRAILING,
    D_TOO_MANY_TENSORS,
    D_REGION_MISALIGNED,
    D_BLOB_FLIP,
    D_NAME_UNTERMINATED,
    D_COUNT
} defect;

typedef struct defect_case {
    defect d;
    const char *what;
    bool refix;        // recompute the head checksum after the change
    ingot_status want; // at open (D_TENSOR_FLIP: at verify)
    const char *msg;
} defect_case;

static const defect_case k_defects[] = {
    {D_BAD_MAGIC, "bad magic", false, INGOT_E_FORMAT, "bad magic"},
    {D_FUTURE_VERSION, "future version", false, INGOT_E_UNSUPPORTED,
     "file format version 2 is newer than this reader (1)"},
    {D_OVERLAP, "overlapping offsets", true, INGOT_E_FORMAT, "overlaps the previous tensor"},
    {D_MISALIGNED, "misaligned tensor", true, INGOT_E_FORMAT, "is not a multiple of 64"},
    {D_DUPLICATE_NAME, "duplicate name", true, INGOT_E_FORMAT, "duplicate tensor name"},
    {D_ABSURD_DIMS, "absurd dims", true, INGOT_E_FORMAT, "bad shape"},
    {D_UNKNOWN_DTYPE, "unknown dtype", true, INGOT_E_FORMAT, "unknown dtype id 999"},
    {D_HEAD_FLIP, "flipped byte under the header checksum", false, INGOT_E_CHECKSUM, "header checksum mismatch"},
    {D_TENSOR_FLIP, "flipped byte inside a tensor", false, INGOT_E_CHECKSUM, "checksum mismatch"},
    {D_TRAILING, "trailing bytes", false, INGOT_E_FORMAT, "after the end recorded"},
    {D_TOO_MANY_TENSORS, "tensor count over the limit", true, INGOT_E_LIMIT, "exceeds the limit"},
    {D_REGION_MISALIGNED, "misaligned region", true, INGOT_E_FORMAT, "region 1 at offset"},
    {D_BLOB_FLIP, "flipped byte in a blob", false, INGOT_E_CHECKSUM, "blob 'tokenizer.json'"},
    {D_NAME_UNTERMINATED, "name without its NUL", true, INGOT_E_FORMAT, "bad name reference"},
};

static uint8_t *entry(uint8_t *b, size_t i) {
    return b + ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, index_off)) + 80 * i;
}

static void apply_defect(uint8_t *b, size_t *n, defect d) {
    const uint64_t head = ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, head_size));
    const uint64_t sorted = ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, sorted_off));
    switch (d) {
    case D_BAD_MAGIC: b[1] ^= 0x20; break;
    case D_FUTURE_VERSION: ingot_ct_put_u32(b + 8, 2); break;
    case D_OVERLAP: // tensor 1 starts where tensor 0 does
        ingot_ct_put_u64(entry(b, 1) + 56, ingot_ct_get_u64(entry(b, 0) + 56));
        break;
    case D_MISALIGNED: ingot_ct_put_u64(entry(b, 1) + 56, ingot_ct_get_u64(entry(b, 1) + 56) + 8); break;
    case D_DUPLICATE_NAME: { // the name after the first in sorted order becomes the first
        const uint32_t a = ingot_ct_get_u32(b + sorted), c = ingot_ct_get_u32(b + sorted + 4);
        memcpy(entry(b, c), entry(b, a), 8);
        break;
    }
    case D_ABSURD_DIMS: ingot_ct_put_u64(entry(b, 0) + 24, 1ull << 62); break;
    case D_UNKNOWN_DTYPE: ingot_ct_put_u32(entry(b, 0) + 8, 999); break;
    case D_HEAD_FLIP: b[head - 3] ^= 1; break; // inside the metadata JSON
    case D_TENSOR_FLIP: b[ingot_ct_get_u64(entry(b, 1) + 56) + 2] ^= 0x10; break;
    case D_TRAILING: *n += 1; break;
    case D_TOO_MANY_TENSORS: ingot_ct_put_u32(b + offsetof(ingot_ct_disk_header, n_tensors), 1u << 25); break;
    case D_REGION_MISALIGNED: {
        uint8_t *r = b + ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, region_off)) + 32;
        ingot_ct_put_u64(r + 16, ingot_ct_get_u64(r + 16) + 64);
        break;
    }
    case D_BLOB_FLIP: {
        const uint8_t *e = b + ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, blob_off));
        b[ingot_ct_get_u64(e + 8)] ^= 1;
        break;
    }
    case D_NAME_UNTERMINATED: ingot_ct_put_u32(entry(b, 0) + 4, ingot_ct_get_u32(entry(b, 0) + 4) + 1); break;
    case D_COUNT: break;
    }
}

static int test_container_corrupt(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_sample("m.ingot", 1, 0, 0, &err), &err);
    size_t n;
    uint8_t *full = read_file("m.ingot", &n);
    CHECK(full != NULL);
    CHECK_EQ_INT(sizeof k_defects / sizeof *k_defects, D_COUNT);
    for (size_t i = 0; i < D_COUNT; i++) {
        const defect_case *dc = &k_defects[i];
        uint8_t *b = ingot_calloc(1, n + 1);
        CHECK(b != NULL);
        memcpy(b, full, n);
        size_t bn = n;
        apply_defect(b, &bn, dc->d);
        const uint64_t head = ingot_ct_get_u64(b + offsetof(ingot_ct_disk_header, head_size));
        if (dc->refix) ingot_ct_put_u64(b + 32, ingot_ct_head_hash(b, head));
        ingot_container *c = NULL;
        err = (ingot_err){0};
        ingot_status s = ingot_container_open_buffer(b, bn, 0, &c, &err);
        if (dc->d == D_TENSOR_FLIP) {
            CHECK_MSG(s == INGOT_OK, "%s: open without verify: %s", dc->what, err.msg);
            s = ingot_container_verify_tensor(c, 1, &err);
            CHECK_STR_CONTAINS(err.tensor, k_tensors[1].name);
            CHECK_EQ_U64(err.off, ingot_container_tensor(c, 1)->off);
            ingot_container_close(c);
            c = NULL;
            CHECK_STATUS(ingot_container_open_buffer(b, bn, INGOT_OPEN_VERIFY, &c, &err), INGOT_E_CHECKSUM, &err);
        }
        ingot_container_close(c);
        ingot_free(b);
        CHECK_MSG(s == dc->want, "%s: got %s, want %s (%s)", dc->what, ingot_status_name(s),
                  ingot_status_name(dc->want), err.msg);
        CHECK_STR_CONTAINS(err.msg, dc->msg);
        CHECK_STR_CONTAINS(err.msg, "(buffer)");
    }
    // Errors from a file name the file and the tensor.
    uint8_t *b = ingot_malloc(n);
    CHECK(b != NULL);
    memcpy(b, full, n);
    apply_defect(b, &n, D_MISALIGNED);
    ingot_ct_put_u64(b + 32, ingot_ct_head_hash(b, ingot_ct_get_u64(b + 24)));
    FILE *f = fopen("bad.ingot", "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    fclose(f);
    ingot_free(b);
    ingot_free(full);
    ingot_container *c = NULL;
    CHECK_STATUS(ingot_container_open("bad.ingot", 0, &c, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "bad.ingot: tensor 'output_norm.weight': offset");
    CHECK_STR_CONTAINS(err.path, "bad.ingot");
    CHECK_STR_CONTAINS(err.tensor, "output_norm.weight");
    CHECK(err.off > 0);
    return 0;
}

// ---- atomicity ------------------------------------------------------------
static int test_container_atomic_enospc(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    // Budgets doubling from 1 byte until the write fits: failures land in
    // the tensor data, then in the head and blobs written by finish.
    int failures = 0;
    for (uint64_t budget = 1;; budget = budget * 2 + 1) {
        ingot_writer_fail_after(budget);
        const ingot_status s = write_sample("m.ingot", 2, (unsigned)failures, 0, &err);
        ingot_writer_fail_after(0);
        if (s == INGOT_OK) break;
        failures++;
        CHECK_MSG(s == INGOT_E_IO, "budget %llu: %s", (unsigned long long)budget, ingot_status_name(s));
        CHECK_STR_CONTAINS(err.msg, "out of disk space");
        CHECK_MSG(count_dir_entries(".") == 0, "budget %llu left a file behind", (unsigned long long)budget);
    }
    CHECK(failures >= 10);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open("m.ingot", INGOT_OPEN_VERIFY, &c, &err), &err);
    ingot_container_close(c);
    CHECK(unlink("m.ingot") == 0);
    // Freed before finish: nothing at the target, no temporary file.
    ingot_writer *w = NULL;
    CHECK_OK(ingot_writer_create("m.ingot", 0, &w, &err), &err);
    CHECK_OK(declare_sample(w, &err), &err);
    CHECK_OK(ingot_writer_plan(w, &err), &err);
    CHECK_EQ_INT(count_dir_entries("."), 1); // the temporary file
    ingot_writer_free(w);
    CHECK_EQ_INT(count_dir_entries("."), 0);
    // A tensor left incomplete fails finish and leaves nothing.
    CHECK_OK(ingot_writer_create("m.ingot", 0, &w, &err), &err);
    CHECK_OK(declare_sample(w, &err), &err);
    CHECK_OK(ingot_writer_plan(w, &err), &err);
    CHECK_STATUS(ingot_writer_finish(w, NULL, &err), INGOT_E_STATE, &err);
    CHECK_STR_CONTAINS(err.msg, "token_embd.weight");
    ingot_writer_free(w);
    CHECK_EQ_INT(count_dir_entries("."), 0);
    return 0;
}

static int test_container_refuse_existing(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    FILE *f = fopen("m.ingot", "wb");
    CHECK(f && fputs("precious", f) >= 0);
    fclose(f);
    CHECK_STATUS(write_sample("m.ingot", 1, 0, 0, &err), INGOT_E_IO, &err);
    CHECK_STR_CONTAINS(err.msg, "already exists");
    size_t n;
    uint8_t *b = read_file("m.ingot", &n);
    CHECK(b && n == 8 && memcmp(b, "precious", 8) == 0);
    ingot_free(b);
    CHECK_EQ_INT(count_dir_entries("."), 1);
    CHECK_OK(write_sample("m.ingot", 1, 0, INGOT_WRITER_FORCE, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open("m.ingot", INGOT_OPEN_VERIFY, &c, &err), &err);
    ingot_container_close(c);
    CHECK_EQ_INT(count_dir_entries("."), 1);
    return 0;
}

// SIGTERM while a plan is half written: the handler removes the temporary
// file, and nothing appears at the target.
static int test_container_signal_cleanup(void) {
    CHECK(enter_tmpdir());
    fflush(NULL);
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        ingot_cleanup_install_signals();
        ingot_writer *w = NULL;
        ingot_err err = {0};
        if (ingot_writer_create("m.ingot", 0, &w, &err) != INGOT_OK || declare_sample(w, &err) != INGOT_OK ||
            ingot_writer_plan(w, &err) != INGOT_OK || count_dir_entries(".") != 1)
            _exit(3);
        const uint8_t b[4] = {1, 2, 3, 4};
        ingot_writer_write(w, 0, 0, b, sizeof b, &err);
        raise(SIGTERM);
        _exit(4); // not reached
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "child status 0x%x", status);
    CHECK_EQ_INT(count_dir_entries("."), 0);
    return 0;
}

// ---- lookup ---------------------------------------------------------------
static int test_container_lookup(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_sample("m.ingot", 1, 0, 0, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open("m.ingot", 0, &c, &err), &err);
    for (size_t t = 0; t < N_SAMPLE; t++) CHECK_EQ_INT(ingot_container_find_tensor(c, k_tensors[t].name), t);
    static const char *absent[] = {"", "blk", "blk.0", "token_embd.weight.", "a", "zzz", "output_norm.weigh"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) CHECK_EQ_INT(ingot_container_find_tensor(c, absent[i]), -1);
    ingot_container_close(c);
    // Many names, declared in an order unrelated to their byte order.
    ingot_writer *w = NULL;
    CHECK_OK(ingot_writer_create("many.ingot", 0, &w, &err), &err);
    const size_t n = 3000;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%zu.w%zu", (i * 7919) % n, i % 13);
        const uint64_t dims[1] = {i % 5};
        CHECK_OK(ingot_writer_add_tensor(w, name, INGOT_DTYPE_U8, 1, dims, NULL, &err), &err);
    }
    const uint64_t dims1[1] = {1};
    CHECK_STATUS(ingot_writer_add_tensor(w, "blk.0.w0", INGOT_DTYPE_U8, 1, dims1, NULL, &err), INGOT_E_ARG, &err);
    CHECK_STR_CONTAINS(err.msg, "duplicate tensor 'blk.0.w0'");
    CHECK_OK(ingot_writer_plan(w, &err), &err);
    const uint8_t zeros[8] = {0};
    for (size_t i = 0; i < n; i++) CHECK_OK(ingot_writer_write(w, i, 0, zeros, i % 5, &err), &err);
    CHECK_OK(ingot_writer_finish(w, NULL, &err), &err);
    ingot_writer_free(w);
    CHECK_OK(ingot_container_open("many.ingot", INGOT_OPEN_VERIFY, &c, &err), &err);
    for (size_t i = 0; i < n; i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        CHECK_EQ_INT(ingot_container_find_tensor(c, t->name), i);
        // Just above and just below each name: absent (each blk number
        // appears once, since 7919 and n are coprime).
        char probe[80];
        snprintf(probe, sizeof probe, "%s!", t->name);
        CHECK_EQ_INT(ingot_container_find_tensor(c, probe), -1);
        snprintf(probe, sizeof probe, "%s", t->name);
        probe[strlen(probe) - 1]--;
        CHECK_EQ_INT(ingot_container_find_tensor(c, probe), -1);
    }
    ingot_container_close(c);
    return 0;
}

// ---- plan only and API misuse -------------------------------------------
static int test_container_plan_only(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    ingot_writer *w = NULL;
    CHECK_OK(ingot_writer_create(NULL, 0, &w, &err), &err);
    CHECK_OK(declare_sample(w, &err), &err);
    CHECK_STATUS(ingot_writer_set_metadata(w, "[1]", 3, &err), INGOT_E_ARG, &err);
    CHECK_OK(ingot_writer_plan(w, &err), &err);
    CHECK_EQ_U64(ingot_writer_n_tensors(w), N_SAMPLE);
    uint64_t prev_end = 0;
    for (size_t t = 0; t < N_SAMPLE; t++) {
        const ingot_tensor_info *ti = ingot_writer_tensor(w, t);
        CHECK(ti->off >= prev_end && ti->off % 64 == 0);
        prev_end = ti->off + ti->size;
    }
    CHECK_EQ_U64(ingot_writer_file_size(w), prev_end);
    CHECK_STATUS(ingot_writer_write(w, 0, 0, "x", 1, &err), INGOT_E_STATE, &err);
    CHECK_STATUS(ingot_writer_add_tensor(w, "late", INGOT_DTYPE_U8, 0, NULL, NULL, &err), INGOT_E_STATE, &err);
    ingot_writer_free(w);
    CHECK_EQ_INT(count_dir_entries("."), 0);
    // The planned size equals the written size.
    CHECK_OK(write_sample("m.ingot", 1, 0, 0, &err), &err);
    struct stat st;
    CHECK(stat("m.ingot", &st) == 0 && (uint64_t)st.st_size == prev_end);
    return 0;
}

// ---- allocation faults ----------------------------------------------------
static int test_container_alloc_faults(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_sample("m.ingot", 1, 0, 0, &err), &err);
    const int64_t live = ingot_alloc_live();
    bool opened = false;
    for (uint64_t nth = 1; nth < 100 && !opened; nth++) {
        for (int persistent = 0; persistent < 2; persistent++) {
            ingot_container *c = NULL;
            ingot_alloc_fail_at(nth, persistent);
            const ingot_status s = ingot_container_open("m.ingot", INGOT_OPEN_VERIFY, &c, &err);
            ingot_alloc_fail_at(0, false);
            if (s == INGOT_OK) {
                opened = true;
                CHECK_EQ_INT(check_sample(c), 0);
                ingot_container_close(c);
            } else {
                CHECK_MSG(s == INGOT_E_NOMEM, "allocation %llu: %s (%s)", (unsigned long long)nth,
                          ingot_status_name(s), err.msg);
                CHECK(c == NULL);
            }
            CHECK_EQ_INT(ingot_alloc_live(), live);
        }
    }
    CHECK(opened);
    return 0;
}

// Allocation failures anywhere in the writer (and its pool) give
// INGOT_E_NOMEM, leak nothing and leave no file behind.
static int test_container_writer_alloc_faults(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    const int64_t live = ingot_alloc_live();
    bool written = false;
    for (uint64_t nth = 1; nth < 400 && !written; nth++) {
        ingot_alloc_fail_at(nth, false);
        const ingot_status s = write_sample("m.ingot", 1, 0, 0, &err);
        ingot_alloc_fail_at(0, false);
        CHECK_EQ_INT(ingot_alloc_live(), live);
        if (s == INGOT_OK) {
            written = true;
            CHECK_MSG(nth > 20, "only %llu allocations were exercised", (unsigned long long)nth);
            break;
        }
        CHECK_MSG(s == INGOT_E_NOMEM, "allocation %llu: %s (%s)", (unsigned long long)nth, ingot_status_name(s),
                  err.msg);
        CHECK_MSG(count_dir_entries(".") == 0, "allocation %llu left a file", (unsigned long long)nth);
    }
    CHECK(written);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open("m.ingot", INGOT_OPEN_VERIFY, &c, &err), &err);
    const int r = check_sample(c);
    ingot_container_close(c);
    CHECK_EQ_INT(r, 0);
    return 0;
}

// ---- transport form -------------------------------------------------------
// Float tensors large enough for plane splitting (one spans two chunks), an
// odd-sized F16 tensor, and small and non-float tensors between them.
static ingot_status write_float_model(const char *path, ingot_err *err) {
    static const sample_tensor k_big[] = {
        {"token_embd.weight", INGOT_DTYPE_BF16, 2, {1100, 2048}, -1},
        {"blk.0.attn_norm.weight", INGOT_DTYPE_F32, 1, {64}, -1},
        {"blk.0.attn_q.weight", INGOT_DTYPE_F32, 2, {300, 100}, -1},
        {"blk.0.attn_k.weight", INGOT_DTYPE_Q8_0, 2, {16, 64}, -1},
        {"blk.0.ffn_up.0.weight", INGOT_DTYPE_F16, 2, {3, 4097}, 0},
        {"blk.0.ffn_up.1.weight", INGOT_DTYPE_BF16, 2, {128, 128}, 0},
    };
    ingot_writer *w = NULL;
    ingot_status s = ingot_writer_create(path, 0, &w, err);
    if (s == INGOT_OK) s = ingot_writer_set_metadata(w, k_meta, strlen(k_meta), err);
    if (s == INGOT_OK) s = ingot_writer_add_blob(w, "tokenizer.json", k_tok, strlen(k_tok), err);
    for (size_t t = 0; s == INGOT_OK && t < sizeof k_big / sizeof *k_big; t++) {
        if (t == 4) s = ingot_writer_begin_region(w, INGOT_REGION_EXPERTS, 0, err);
        if (s == INGOT_OK)
            s = ingot_writer_add_tensor(w, k_big[t].name, k_big[t].dtype, k_big[t].n_dims, k_big[t].dims, NULL, err);
    }
    if (s == INGOT_OK) s = ingot_writer_plan(w, err);
    uint64_t x = 88172645463325252ull;
    for (size_t t = 0; s == INGOT_OK && t < ingot_writer_n_tensors(w); t++) {
        const ingot_tensor_info *ti = ingot_writer_tensor(w, t);
        uint8_t *buf = ingot_malloc((size_t)ti->size + 1);
        if (!buf) s = ingot_err_set(err, INGOT_E_NOMEM, "test: out of memory");
        // Gaussian-ish values (sum of uniforms) in the tensor's own dtype.
        const size_t es = ti->dtype == INGOT_DTYPE_F32 ? 4 : 2;
        for (uint64_t i = 0; buf && i < ti->size / es; i++) {
            float g = 0;
            for (int k = 0; k < 4; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                g += (float)(x >> 40) / (float)(1u << 24) - 0.5f;
            }
            g *= 0.05f;
            if (ti->dtype == INGOT_DTYPE_F32) memcpy(buf + 4 * i, &g, 4);
            else {
                const uint16_t h = ti->dtype == INGOT_DTYPE_F16 ? ingot_f32_to_f16(g) : ingot_f32_to_bf16(g);
                buf[2 * i] = (uint8_t)h, buf[2 * i + 1] = (uint8_t)(h >> 8);
            }
        }
        if (buf && ti->dtype == INGOT_DTYPE_Q8_0)
            for (uint64_t i = 0; i < ti->size; i++) buf[i] = sample_byte(t, i);
        if (s == INGOT_OK) s = ingot_writer_write(w, t, 0, buf, (size_t)ti->size, err);
        ingot_free(buf);
    }
    if (s == INGOT_OK) s = ingot_writer_finish(w, NULL, err);
    ingot_writer_free(w);
    return s;
}

static bool same_file(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *x = read_file(a, &na), *y = read_file(b, &nb);
    const bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    ingot_free(x);
    ingot_free(y);
    return same;
}

static int test_container_pack_roundtrip(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_float_model("m.ingot", &err), &err);
    ingot_pack_stats st;
    CHECK_OK(ingot_pack("m.ingot", "m1.ingot.zst", 3, 1, 0, &st, &err), &err);
    struct stat sb;
    CHECK(stat("m.ingot", &sb) == 0);
    CHECK_EQ_U64(st.in_bytes, (uint64_t)sb.st_size);
    CHECK(st.out_bytes < st.in_bytes);
    CHECK_OK(ingot_pack("m.ingot", "m3.ingot.zst", 3, 3, 0, &st, &err), &err);
    CHECK_MSG(same_file("m1.ingot.zst", "m3.ingot.zst"), "pack output depends on the thread count");
    CHECK_OK(ingot_unpack("m3.ingot.zst", "r.ingot", 3, 0, &st, &err), &err);
    CHECK_MSG(same_file("m.ingot", "r.ingot"), "unpack did not restore the file bit for bit");
    // Existing targets are refused, then replaced with FORCE.
    CHECK_STATUS(ingot_unpack("m3.ingot.zst", "r.ingot", 1, 0, NULL, &err), INGOT_E_IO, &err);
    CHECK_STR_CONTAINS(err.msg, "already exists");
    CHECK_STATUS(ingot_pack("m.ingot", "m1.ingot.zst", 3, 1, 0, NULL, &err), INGOT_E_IO, &err);
    CHECK_OK(ingot_unpack("m1.ingot.zst", "r.ingot", 2, INGOT_WRITER_FORCE, NULL, &err), &err);
    CHECK(same_file("m.ingot", "r.ingot"));
    CHECK_STATUS(ingot_pack("m.ingot", "x.zst", 0, 1, 0, NULL, &err), INGOT_E_ARG, &err);
    CHECK_STATUS(ingot_unpack("m.ingot", "x.ingot", 1, 0, NULL, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "bad magic");
    CHECK_EQ_INT(count_dir_entries("."), 4);
    return 0;
}

static int test_container_pack_corrupt(void) {
    CHECK(enter_tmpdir());
    ingot_err err = {0};
    CHECK_OK(write_float_model("m.ingot", &err), &err);
    CHECK_OK(ingot_pack("m.ingot", "m.ingot.zst", 1, 2, 0, NULL, &err), &err);
    size_t n;
    uint8_t *b = read_file("m.ingot.zst", &n);
    CHECK(b != NULL);
    const uint64_t n_chunks = ingot_ct_get_u64(b + offsetof(ingot_pk_disk_header, n_chunks));
    const uint64_t frames = INGOT_PK_HEADER_SIZE + 32 * n_chunks;
    // (offset to flip, expected status): header, table, inside a frame.
    const struct {
        uint64_t off;
        ingot_status want;
    } flips[] = {{20, INGOT_E_CHECKSUM}, {INGOT_PK_HEADER_SIZE + 3, INGOT_E_CHECKSUM},
                 {frames + (n - frames) / 2, INGOT_E_FORMAT}, {n - 5, INGOT_E_FORMAT}};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        b[flips[i].off] ^= 0x5a;
        FILE *f = fopen("bad.zst", "wb");
        CHECK(f && fwrite(b, 1, n, f) == n);
        fclose(f);
        b[flips[i].off] ^= 0x5a;
        const ingot_status s = ingot_unpack("bad.zst", "r.ingot", 2, 0, NULL, &err);
        // A flip inside a frame is caught by zstd or, failing that, by the
        // whole-file hash.
        CHECK_MSG(s == flips[i].want || (flips[i].want == INGOT_E_FORMAT && s == INGOT_E_CHECKSUM),
                  "flip at %llu: %s (%s)", (unsigned long long)flips[i].off, ingot_status_name(s), err.msg);
        CHECK_EQ_INT(count_dir_entries("."), 3); // m.ingot, m.ingot.zst, bad.zst
    }
    // Every prefix fails cleanly.
    for (size_t k = 0; k < n; k += k < 256 ? 1 : n / 61) {
        FILE *f = fopen("bad.zst", "wb");
        CHECK(f && fwrite(b, 1, k, f) == k);
        fclose(f);
        const ingot_status s = ingot_unpack("bad.zst", "r.ingot", 1, 0, NULL, &err);
        CHECK_MSG(s == INGOT_E_FORMAT || s == INGOT_E_IO, "prefix %zu: %s", k, ingot_status_name(s));
    }
    ingot_free(b);
    // Simulated ENOSPC while unpacking leaves nothing behind.
    ingot_writer_fail_after(1u << 20);
    const ingot_status s = ingot_unpack("m.ingot.zst", "r.ingot", 2, 0, NULL, &err);
    ingot_writer_fail_after(0);
    CHECK_STATUS(s, INGOT_E_IO, &err);
    CHECK_EQ_INT(count_dir_entries("."), 3);
    return 0;
}

INGOT_TEST_MAIN(T(container_roundtrip), T(container_determinism), T(container_truncation), T(container_corrupt),
                T(container_atomic_enospc), T(container_signal_cleanup), T(container_refuse_existing), T(container_lookup),
                T(container_plan_only), T(container_alloc_faults), T(container_writer_alloc_faults),
                T(container_pack_roundtrip),
                T(container_pack_corrupt))
