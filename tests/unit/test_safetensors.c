// formats/ safetensors reader: hand-built files for every dtype, truncation
// sweep, corrupt-file table, the shared fixtures (single and sharded), index
// and shard mismatches, archives built here with libarchive's writer, and
// allocation fault injection.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/safetensors.h"
#include "ingot_test.h"

// ---- building files ---------------------------------------------------------------

typedef struct tb_tensor {
    const char *name;   // JSON-ready (already escaped)
    const char *dtype;
    uint32_t n_dims;
    uint64_t dims[8];
    const void *data;
    size_t size;
} tb_tensor;

typedef struct tb_buf {
    uint8_t *p;
    size_t n, cap;
} tb_buf;

static void tb_put(tb_buf *b, const void *src, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void tb_puts(tb_buf *b, const char *s) { tb_put(b, s, strlen(s)); }

// A file: 8-byte length, JSON (padded with spaces to a multiple of 8), data.
// `meta` is the inside of __metadata__ or NULL.
static uint8_t *tb_build(const tb_tensor *ts, size_t n, const char *meta, size_t *out_n) {
    tb_buf js = {0};
    tb_puts(&js, "{");
    if (meta) {
        tb_puts(&js, "\"__metadata__\":{");
        tb_puts(&js, meta);
        tb_puts(&js, "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i || meta ? "," : "", ts[i].name,
                 ts[i].dtype);
        tb_puts(&js, tmp);
        for (uint32_t d = 0; d < ts[i].n_dims; d++) {
            snprintf(tmp, sizeof tmp, "%s%llu", d ? "," : "", (unsigned long long)ts[i].dims[d]);
            tb_puts(&js, tmp);
        }
        snprintf(tmp, sizeof tmp, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + ts[i].size));
        tb_puts(&js, tmp);
        off += ts[i].size;
    }
    tb_puts(&js, "}");
    while (js.n % 8) tb_puts(&js, " ");
    tb_buf f = {0};
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)js.n >> (8 * i));
    tb_put(&f, len8, 8);
    tb_put(&f, js.p, js.n);
    for (size_t i = 0; i < n; i++) tb_put(&f, ts[i].data, ts[i].size);
    free(js.p);
    *out_n = f.n;
    return f.p;
}

// A file from raw JSON text and `data_n` data bytes (0x5a each).
static uint8_t *tb_raw(const char *json, size_t json_n, size_t data_n, size_t *out_n) {
    tb_buf f = {0};
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)json_n >> (8 * i));
    tb_put(&f, len8, 8);
    tb_put(&f, json, json_n);
    for (size_t i = 0; i < data_n; i++) tb_put(&f, "\x5a", 1);
    *out_n = f.n;
    return f.p;
}

static int tb_write(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    const size_t w = fwrite(p, 1, n, fp);
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

static int tb_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void tb_rmtree(const char *dir) { nftw(dir, tb_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static char *tb_path(const char *dir, const char *name) {
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

// ---- one file ---------------------------------------------------------------------

// One tensor of every plain dtype, with values whose f32 decodings are known.
static int test_st_roundtrip_all_dtypes(void) {
    const double f64[3] = {1.5, -2.25, 1e10};
    const float f32[3] = {0.5f, -1.0f, 3.0e-5f};
    const uint16_t f16[3] = {0x3c00, 0xc000, 0x3800};        // 1, -2, 0.5
    const uint16_t bf16[3] = {0x3f80, 0xc040, 0x4120};       // 1, -3, 10
    const uint8_t e4m3[3] = {0x38, 0xb8, 0x7e};              // 1, -1, 448
    const uint8_t e5m2[3] = {0x3c, 0x40, 0xbc};              // 1, 2, -1
    const uint8_t e8m0[3] = {127, 128, 120};                 // 1, 2, 2^-7
    const int64_t i64[3] = {-5, 7, 1 << 20};
    const int32_t i32[3] = {-6, 8, 100000};
    const int16_t i16[3] = {-7, 9, 30000};
    const int8_t i8[3] = {-8, 10, 127};
    const uint64_t u64[3] = {5, 7, 1u << 30};
    const uint32_t u32[3] = {6, 8, 4000000000u};
    const uint16_t u16[3] = {7, 9, 65535};
    const uint8_t u8[3] = {8, 10, 255};
    const uint8_t bl[3] = {1, 0, 1};
    static const float want[16][3] = {
        {1.5f, -2.25f, 1e10f}, {0.5f, -1.0f, 3.0e-5f}, {1, -2, 0.5f}, {1, -3, 10}, {1, -1, 448}, {1, 2, -1},
        {1, 2, 0x1p-7f}, {-5, 7, 1 << 20}, {-6, 8, 100000}, {-7, 9, 30000}, {-8, 10, 127}, {5, 7, 1u << 30},
        {6, 8, 4000000000.0f}, {7, 9, 65535}, {8, 10, 255}, {1, 0, 1},
    };
    const ingot_dtype want_dt[16] = {INGOT_DTYPE_F64, INGOT_DTYPE_F32, INGOT_DTYPE_F16, INGOT_DTYPE_BF16,
                                     INGOT_DTYPE_F8_E4M3, INGOT_DTYPE_F8_E5M2, INGOT_DTYPE_E8M0, INGOT_DTYPE_I64,
                                     INGOT_DTYPE_I32, INGOT_DTYPE_I16, INGOT_DTYPE_I8, INGOT_DTYPE_U64,
                                     INGOT_DTYPE_U32, INGOT_DTYPE_U16, INGOT_DTYPE_U8, INGOT_DTYPE_BOOL};
    const tb_tensor ts[16] = {
        {"t00_f64", "F64", 1, {3}, f64, sizeof f64},       {"t01_f32", "F32", 2, {1, 3}, f32, sizeof f32},
        {"t02_f16", "F16", 1, {3}, f16, sizeof f16},       {"t03_bf16", "BF16", 3, {3, 1, 1}, bf16, sizeof bf16},
        {"t04_e4m3", "F8_E4M3", 1, {3}, e4m3, 3},          {"t05_e5m2", "F8_E5M2", 1, {3}, e5m2, 3},
        {"t06_e8m0", "F8_E8M0", 1, {3}, e8m0, 3},          {"t07_i64", "I64", 1, {3}, i64, sizeof i64},
        {"t08_i32", "I32", 1, {3}, i32, sizeof i32},       {"t09_i16", "I16", 1, {3}, i16, sizeof i16},
        {"t10_i8", "I8", 1, {3}, i8, 3},                   {"t11_u64", "U64", 1, {3}, u64, sizeof u64},
        {"t12_u32", "U32", 1, {3}, u32, sizeof u32},       {"t13_u16", "U16", 1, {3}, u16, sizeof u16},
        {"t14_u8", "U8", 1, {3}, u8, 3},                   {"t15_bool", "BOOL", 1, {3}, bl, 3},
    };
    size_t n;
    uint8_t *file = tb_build(ts, 16, "\"format\":\"pt\"", &n);
    const char *dir = ingot_test_tmpdir();
    CHECK(tb_write(tb_path(dir, "model.safetensors"), file, n) == 0);
    ingot_err err = {0};
    ingot_checkpoint *ck;
    CHECK_OK(ingot_checkpoint_open(tb_path(dir, "model.safetensors"), &ck, &err), &err);
    CHECK_EQ_INT(ingot_checkpoint_get_kind(ck), INGOT_CHECKPOINT_FILE);
    CHECK_EQ_U64(ingot_checkpoint_n_tensors(ck), 16);
    for (int i = 0; i < 16; i++) {
        const int64_t k = ingot_checkpoint_find(ck, ts[i].name);
        CHECK_EQ_INT(k, i); // names sort in table order
        const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, (size_t)k);
        CHECK_EQ_INT(t->dtype, want_dt[i]);
        CHECK_EQ_INT(t->n_dims, ts[i].n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) CHECK_EQ_U64(t->dims[d], ts[i].dims[d]);
        CHECK_EQ_U64(t->size, ts[i].size);
        const uint8_t *data = ingot_checkpoint_tensor_data(ck, (size_t)k);
        CHECK(memcmp(data, ts[i].data, ts[i].size) == 0);
        float got[3];
        CHECK(ingot_dtype_decode_f32(t->dtype, data, 3, got));
        for (int j = 0; j < 3; j++) CHECK_NEAR(got[j], want[i][j], 0);
    }
    CHECK_EQ_INT(ingot_checkpoint_find(ck, "nope"), -1);
    ingot_checkpoint_close(ck);
    // from memory, with the metadata
    ingot_st_file *f;
    CHECK_OK(ingot_st_file_parse(file, n, n, "mem", &f, &err), &err);
    CHECK_EQ_U64(ingot_st_file_n_meta(f), 1);
    const char *key, *value;
    ingot_st_file_meta(f, 0, &key, &value);
    CHECK(strcmp(key, "format") == 0 && strcmp(value, "pt") == 0);
    CHECK_EQ_U64(ingot_st_file_data_start(f) % 8, 0);
    ingot_st_file_free(f);
    free(file);
    tb_rmtree(dir);
    return 0;
}

#define TE(dt, shape, b, e) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

// Accepted variations: leading whitespace, padding, unknown fields, escapes,
// empty and rank-0 tensors, an empty header.
static int test_st_accepts_valid_variants(void) {
    static const struct {
        const char *json;
        size_t data_n;
        size_t n_tensors;
        const char *first_name;
    } k_cases[] = {
        {"  \n{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}   ", 4, 1, "a"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, 2, "a"},
        {"{\"x\\u00e9\\ud83d\\ude00\\n\":{\"extra\":[1,{\"k\":null}],\"dtype\":\"I8\",\"shape\":[1],"
         "\"data_offsets\":[0,1]}}", 1, 1, "x\xc3\xa9\xf0\x9f\x98\x80\n"},
        {"{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":" TE("U8", "[2]", 0, 2) "}", 2, 1, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"{}", 0, 0, NULL},
        {"{\"__metadata__\":{}}", 0, 0, NULL},
    };
    for (size_t c = 0; c < sizeof k_cases / sizeof *k_cases; c++) {
        size_t n;
        uint8_t *file = tb_raw(k_cases[c].json, strlen(k_cases[c].json), k_cases[c].data_n, &n);
        ingot_err err = {0};
        ingot_st_file *f = NULL;
        CHECK_OK(ingot_st_file_parse(file, n, n, "ok.safetensors", &f, &err), &err);
        CHECK_EQ_U64(ingot_st_file_n_tensors(f), k_cases[c].n_tensors);
        if (k_cases[c].first_name) CHECK(strcmp(ingot_st_file_tensor(f, 0)->name, k_cases[c].first_name) == 0);
        ingot_st_file_free(f);
        free(file);
    }
    return 0;
}

// Every F8 value of the fixture decodes bit for bit to the F32 reference.
static int test_st_fp8_fixture_decode(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const char *const k_pairs[2][2] = {{"tiny_e4m3", "tiny_e4m3_ref_f32"}, {"tiny_e5m2", "tiny_e5m2_ref_f32"}};
    for (int p = 0; p < 2; p++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/thirdparty/atenia/fp8_single_tensors/%s.safetensors", fx, k_pairs[p][0]);
        snprintf(b, sizeof b, "%s/thirdparty/atenia/fp8_single_tensors/%s.safetensors", fx, k_pairs[p][1]);
        ingot_err err = {0};
        ingot_checkpoint *q, *r;
        CHECK_OK(ingot_checkpoint_open(a, &q, &err), &err);
        CHECK_OK(ingot_checkpoint_open(b, &r, &err), &err);
        CHECK_EQ_U64(ingot_checkpoint_n_tensors(q), 1);
        const ingot_st_tensor *tq = ingot_checkpoint_tensor(q, 0), *tr = ingot_checkpoint_tensor(r, 0);
        CHECK(strcmp(tq->name, tr->name) == 0);
        CHECK_EQ_INT(tq->dtype, p == 0 ? INGOT_DTYPE_F8_E4M3 : INGOT_DTYPE_F8_E5M2);
        CHECK_EQ_INT(tr->dtype, INGOT_DTYPE_F32);
        CHECK_EQ_U64(tq->size * 4, tr->size);
        float got[64];
        CHECK(tq->size <= 64);
        CHECK(ingot_dtype_decode_f32(tq->dtype, ingot_checkpoint_tensor_data(q, 0), tq->size, got));
        CHECK(memcmp(got, ingot_checkpoint_tensor_data(r, 0), tr->size) == 0);
        ingot_checkpoint_close(q);
        ingot_checkpoint_close(r);
    }
    return 0;
}

static uint8_t *tb_sample(size_t *n) {
    static const float w[6] = {1, 2, 3, 4, 5, 6};
    static const uint16_t h[4] = {0x3c00, 0x4000, 0x4200, 0x4400};
    const tb_tensor ts[3] = {{"a.weight", "F32", 2, {2, 3}, w, sizeof w},
                             {"b.bias", "BF16", 1, {4}, h, sizeof h},
                             {"c.scalar", "U8", 0, {0}, "\x07", 1}};
    return tb_build(ts, 3, "\"format\":\"pt\",\"k\":\"v\"", n);
}

// Every prefix of a valid file fails cleanly.
static int test_st_truncation_sweep(void) {
    size_t n;
    uint8_t *file = tb_sample(&n);
    ingot_err err = {0};
    ingot_st_file *f;
    CHECK_OK(ingot_st_file_parse(file, n, n, "full", &f, &err), &err);
    ingot_st_file_free(f);
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1); // exact size, so ASan sees any over-read
        memcpy(copy, file, k);
        f = NULL;
        const ingot_status st = ingot_st_file_parse(copy, k, k, "cut", &f, &err);
        free(copy);
        CHECK_MSG(st == INGOT_E_FORMAT || st == INGOT_E_IO, "prefix %zu: %s (%s)", k, ingot_status_name(st), err.msg);
        CHECK(f == NULL);
    }
    // the same through files, for a handful of cut points
    const char *dir = ingot_test_tmpdir();
    const size_t cuts[] = {0, 5, 8, 20, n - 40, n - 1};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        CHECK(tb_write(tb_path(dir, "cut.safetensors"), file, cuts[c]) == 0);
        ingot_checkpoint *ck = NULL;
        const ingot_status st = ingot_checkpoint_open(tb_path(dir, "cut.safetensors"), &ck, &err);
        CHECK_MSG(st == INGOT_E_FORMAT || st == INGOT_E_IO, "cut %zu: %s", cuts[c], ingot_status_name(st));
        CHECK(ck == NULL);
    }
    free(file);
    tb_rmtree(dir);
    return 0;
}

// Hand-made defects, each with its status and a message substring.
static int test_st_corrupt_table(void) {
    static const struct {
        const char *what;
        const char *json;
        size_t data_n;
        ingot_status want;
        const char *msg;
    } k_cases[] = {
        {"invalid JSON", "{\"a\":" TE("F32", "[1]", 0, 4) ",}", 4, INGOT_E_FORMAT, "invalid JSON"},
        {"not an object", "[1]", 0, INGOT_E_FORMAT, "invalid JSON"},
        {"trailing bytes", "{}x", 0, INGOT_E_FORMAT, "trailing"},
        {"unterminated", "{\"a", 0, INGOT_E_FORMAT, "unterminated string"},
        {"duplicate tensor", "{\"a\":" TE("U8", "[1]", 0, 1) ",\"a\":" TE("U8", "[1]", 1, 2) "}", 2, INGOT_E_FORMAT,
         "duplicate key"},
        {"duplicate field", "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         INGOT_E_FORMAT, "duplicate key 'dtype'"},
        {"duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, INGOT_E_FORMAT, "duplicate key"},
        {"duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, INGOT_E_FORMAT, "duplicate key"},
        {"unknown dtype", "{\"a\":" TE("F33", "[1]", 0, 4) "}", 4, INGOT_E_FORMAT, "unknown dtype 'F33'"},
        {"unsupported dtype", "{\"a\":" TE("C64", "[1]", 0, 8) "}", 8, INGOT_E_UNSUPPORTED, "not supported"},
        {"shape/span mismatch", "{\"a\":" TE("F32", "[2,3]", 0, 20) "}", 20, INGOT_E_FORMAT, "span 20"},
        {"overlap", "{\"a\":" TE("U8", "[4]", 0, 4) ",\"b\":" TE("U8", "[4]", 2, 6) "}", 6, INGOT_E_FORMAT, "overlap"},
        {"gap", "{\"a\":" TE("U8", "[2]", 0, 2) ",\"b\":" TE("U8", "[2]", 4, 6) "}", 6, INGOT_E_FORMAT, "gap"},
        {"not at 0", "{\"a\":" TE("U8", "[2]", 2, 4) "}", 4, INGOT_E_FORMAT, "gap"},
        {"past end", "{\"a\":" TE("U8", "[8]", 0, 8) "}", 4, INGOT_E_FORMAT, "past the end"},
        {"unindexed tail", "{\"a\":" TE("U8", "[2]", 0, 2) "}", 3, INGOT_E_FORMAT, "unindexed"},
        {"end before begin", "{\"a\":" TE("U8", "[0]", 4, 2) "}", 4, INGOT_E_FORMAT, "end before"},
        {"dims overflow", "{\"a\":" TE("U8", "[4294967296,4294967296]", 0, 0) "}", 0, INGOT_E_FORMAT, "overflows"},
        {"bytes overflow", "{\"a\":" TE("F64", "[4611686018427387904]", 0, 0) "}", 0, INGOT_E_FORMAT, "overflows"},
        {"integer overflow", "{\"a\":" TE("U8", "[18446744073709551616]", 0, 0) "}", 0, INGOT_E_FORMAT, "overflows"},
        {"rank 9", "{\"a\":" TE("U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1, INGOT_E_FORMAT, "rank"},
        {"negative dim", "{\"a\":" TE("U8", "[-1]", 0, 0) "}", 0, INGOT_E_FORMAT, "non-negative integer"},
        {"fractional dim", "{\"a\":" TE("U8", "[1.5]", 0, 0) "}", 0, INGOT_E_FORMAT, "non-negative integer"},
        {"leading zero", "{\"a\":" TE("U8", "[01]", 0, 1) "}", 1, INGOT_E_FORMAT, "leading zero"},
        {"one offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, INGOT_E_FORMAT,
         "two integers"},
        {"missing field", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, INGOT_E_FORMAT, "lacks 'data_offsets'"},
        {"metadata number", "{\"__metadata__\":{\"k\":1}}", 0, INGOT_E_FORMAT, "not a string"},
        {"metadata array", "{\"__metadata__\":[\"k\"]}", 0, INGOT_E_FORMAT, "must be an object"},
        {"NUL in name", "{\"a\\u0000b\":" TE("U8", "[1]", 0, 1) "}", 1, INGOT_E_FORMAT, "NUL"},
        {"lone surrogate", "{\"\\ud800\":" TE("U8", "[1]", 0, 1) "}", 1, INGOT_E_FORMAT, "surrogate"},
        {"bad escape", "{\"\\q\":" TE("U8", "[1]", 0, 1) "}", 1, INGOT_E_FORMAT, "bad escape"},
        {"control char", "{\"a\tb\":" TE("U8", "[1]", 0, 1) "}", 1, INGOT_E_FORMAT, "control character"},
        {"deep nesting", "{\"a\":{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
                         "\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
         1, INGOT_E_FORMAT, "nested deeper"},
        {"tensor not an object", "{\"a\":[]}", 0, INGOT_E_FORMAT, "opening a tensor entry"},
    };
    for (size_t c = 0; c < sizeof k_cases / sizeof *k_cases; c++) {
        size_t n;
        uint8_t *file = tb_raw(k_cases[c].json, strlen(k_cases[c].json), k_cases[c].data_n, &n);
        ingot_err err = {0};
        err.off = -1;
        ingot_st_file *f = NULL;
        const ingot_status st = ingot_st_file_parse(file, n, n, "bad.safetensors", &f, &err);
        free(file);
        CHECK_MSG(st == k_cases[c].want, "%s: got %s want %s (%s)", k_cases[c].what, ingot_status_name(st),
                  ingot_status_name(k_cases[c].want), err.msg);
        CHECK_MSG(strstr(err.msg, k_cases[c].msg) != NULL, "%s: '%s' lacks '%s'", k_cases[c].what, err.msg,
                  k_cases[c].msg);
        CHECK_STR_CONTAINS(err.msg, "bad.safetensors: ");
        CHECK(strcmp(err.path, "bad.safetensors") == 0);
        CHECK_MSG(err.off >= 0 && (uint64_t)err.off <= n, "%s: offset %lld", k_cases[c].what, (long long)err.off);
        CHECK(f == NULL);
    }
    return 0;
}

// Defects in the 8-byte prefix and in the UTF-8 of the header.
static int test_st_corrupt_prefix(void) {
    ingot_err err = {0};
    ingot_st_file *f = NULL;
    const uint8_t short4[4] = {1, 0, 0, 0};
    CHECK_STATUS(ingot_st_file_parse(short4, 4, 4, "s", &f, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "too short");
    uint8_t huge[16] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'}; // 100,000,001
    CHECK_STATUS(ingot_st_file_parse(huge, 16, 16, "h", &f, &err), INGOT_E_LIMIT, &err);
    CHECK_STR_CONTAINS(err.msg, "exceeds the limit");
    uint8_t beyond[10] = {20, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK_STATUS(ingot_st_file_parse(beyond, 10, 10, "b", &f, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "runs past the end");
    const char bad_utf8[] = "{\"a\xc3\x28\":{}}"; // invalid continuation byte
    size_t n;
    uint8_t *file = tb_raw(bad_utf8, strlen(bad_utf8), 0, &n);
    CHECK_STATUS(ingot_st_file_parse(file, n, n, "u", &f, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "not valid UTF-8");
    CHECK_EQ_INT(err.off, 8 + 3);
    free(file);
    const char overlong[] = "{\"\xc0\xaf\":{}}";
    file = tb_raw(overlong, strlen(overlong), 0, &n);
    CHECK_STATUS(ingot_st_file_parse(file, n, n, "o", &f, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "not valid UTF-8");
    free(file);
    const char surrogate[] = "{\"\xed\xa0\x80\":{}}";
    file = tb_raw(surrogate, strlen(surrogate), 0, &n);
    CHECK_STATUS(ingot_st_file_parse(file, n, n, "o", &f, &err), INGOT_E_FORMAT, &err);
    free(file);
    CHECK(f == NULL);
    return 0;
}

// ---- fixtures -----------------------------------------------------------------------

typedef struct walk_ctx {
    size_t n_files;
    int failures;
} walk_ctx;

static walk_ctx g_walk;

typedef struct sum_ctx {
    const ingot_checkpoint *ck;
    uint64_t bytes;
    size_t calls;
    int mismatches;
} sum_ctx;

static ingot_status sum_fn(void *ctx, size_t i, const uint8_t *data, ingot_err *err) {
    (void)err;
    sum_ctx *s = ctx;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(s->ck, i);
    s->bytes += t->size;
    s->calls++;
    const uint8_t *direct = ingot_checkpoint_tensor_data(s->ck, i);
    if (direct && t->size && memcmp(direct, data, t->size) != 0) s->mismatches++;
    return INGOT_OK;
}

static int walk_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)ftw;
    const size_t l = strlen(p);
    if (flag != FTW_F || l < 12 || strcmp(p + l - 12, ".safetensors") != 0) return 0;
    ingot_err err = {0};
    ingot_checkpoint *ck;
    if (ingot_checkpoint_open(p, &ck, &err) != INGOT_OK) {
        fprintf(stderr, "%s: %s\n", p, err.msg);
        g_walk.failures++;
        return 0;
    }
    sum_ctx s = {ck, 0, 0, 0};
    const ingot_status st = ingot_checkpoint_foreach(ck, sum_fn, &s, &err);
    if (st != INGOT_OK || s.calls != ingot_checkpoint_n_tensors(ck) || s.calls == 0 || s.mismatches ||
        ingot_checkpoint_shard_get(ck, 0)->size != (uint64_t)sb->st_size) {
        fprintf(stderr, "%s: foreach %s, %zu calls, %d mismatches\n", p, ingot_status_name(st), s.calls,
                s.mismatches);
        g_walk.failures++;
    }
    g_walk.n_files++;
    ingot_checkpoint_close(ck);
    return 0;
}

// Every .safetensors file of the shared fixtures opens, validates and streams.
static int test_st_fixtures_open_all(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    memset(&g_walk, 0, sizeof g_walk);
    CHECK(nftw(fx, walk_one, 16, FTW_PHYS) == 0);
    CHECK_EQ_INT(g_walk.failures, 0);
    CHECK(g_walk.n_files >= 30);
    printf("validated %zu fixture files\n", g_walk.n_files);
    return 0;
}

static int test_st_fixture_sharded(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/thirdparty/neuralapi/llama_sharded", fx);
    ingot_err err = {0};
    ingot_checkpoint *ck;
    CHECK_OK(ingot_checkpoint_open(dir, &ck, &err), &err);
    CHECK_EQ_INT(ingot_checkpoint_get_kind(ck), INGOT_CHECKPOINT_FOLDER);
    CHECK_EQ_U64(ingot_checkpoint_n_shards(ck), 2);
    CHECK(strcmp(ingot_checkpoint_shard_get(ck, 0)->name, "tiny_llama-00001-of-00002.safetensors") == 0);
    const int64_t lm = ingot_checkpoint_find(ck, "lm_head.weight");
    CHECK(lm >= 0);
    CHECK_EQ_INT(ingot_checkpoint_tensor(ck, (size_t)lm)->file_index, 1);
    CHECK(ingot_checkpoint_find(ck, "model.embed_tokens.weight") >= 0);
    for (size_t i = 1; i < ingot_checkpoint_n_tensors(ck); i++)
        CHECK(strcmp(ingot_checkpoint_tensor(ck, i - 1)->name, ingot_checkpoint_tensor(ck, i)->name) < 0);
    size_t n;
    const char *cfg = ingot_checkpoint_aux(ck, "config.json", &n);
    CHECK(cfg && n == strlen(cfg) && strstr(cfg, "\"hidden_size\""));
    CHECK(ingot_checkpoint_aux(ck, "tokenizer.json", &n) == NULL);
    sum_ctx s = {ck, 0, 0, 0};
    CHECK_OK(ingot_checkpoint_foreach(ck, sum_fn, &s, &err), &err);
    CHECK_EQ_U64(s.calls, ingot_checkpoint_n_tensors(ck));
    CHECK_EQ_U64(s.bytes, 4712); // metadata.total_size of the index
    ingot_checkpoint_close(ck);
    return 0;
}

// ---- sharded checkpoints built here -------------------------------------------------------

static const float g_w1[4] = {1, 2, 3, 4}, g_w2[2] = {5, 6}, g_w3[2] = {7, 8};

// Writes shard-1 (a, b), shard-2 (c) and the given index into dir.
static int tb_sharded(const char *dir, const char *index_json, const char *extra_in_shard2) {
    const tb_tensor s1[2] = {{"a", "F32", 2, {2, 2}, g_w1, 16}, {"b", "F32", 1, {2}, g_w2, 8}};
    tb_tensor s2[2] = {{"c", "F32", 1, {2}, g_w3, 8}, {extra_in_shard2, "F32", 1, {2}, g_w2, 8}};
    size_t n;
    uint8_t *f = tb_build(s1, 2, NULL, &n);
    int rc = tb_write(tb_path(dir, "m-1.safetensors"), f, n);
    free(f);
    f = tb_build(s2, extra_in_shard2 ? 2 : 1, NULL, &n);
    rc |= tb_write(tb_path(dir, "m-2.safetensors"), f, n);
    free(f);
    return rc | tb_write(tb_path(dir, "model.safetensors.index.json"), index_json, strlen(index_json));
}

#define IX(map) "{\"metadata\":{\"total_size\":32},\"weight_map\":{" map "}}"

static int test_st_index_mismatch(void) {
    static const struct {
        const char *what;
        const char *index;
        const char *extra;
        ingot_status want;
        const char *msg;
    } k_cases[] = {
        {"consistent", IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), NULL,
         INGOT_OK, ""},
        {"wrong shard", IX("\"a\":\"m-1.safetensors\",\"b\":\"m-2.safetensors\",\"c\":\"m-2.safetensors\""), NULL,
         INGOT_E_FORMAT, "puts it in shard 'm-2.safetensors' but it is in shard 'm-1.safetensors'"},
        {"missing shard file", IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-3.safetensors\""),
         NULL, INGOT_E_IO, "shard 'm-3.safetensors' named by the index"},
        {"in two shards", IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), "b",
         INGOT_E_FORMAT, "present in two shards"},
        {"not in index", IX("\"a\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), NULL, INGOT_E_FORMAT,
         "tensor 'b': found in shard 'm-1.safetensors' but not listed"},
        {"absent tensor",
         IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\",\"d\":\"m-2.safetensors\""),
         NULL, INGOT_E_FORMAT, "tensor 'd': the index puts it in shard 'm-2.safetensors', which does not contain it"},
        {"duplicate key",
         IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\",\"a\":\"m-1.safetensors\""),
         NULL, INGOT_E_FORMAT, "duplicate key 'a'"},
        {"unsafe path", IX("\"a\":\"../m-1.safetensors\""), NULL, INGOT_E_FORMAT, "not a plain relative path"},
        {"not a string", IX("\"a\":1"), NULL, INGOT_E_FORMAT, "is not a string"},
        {"no weight_map", "{\"metadata\":{}}", NULL, INGOT_E_FORMAT, "'weight_map' is missing"},
        {"bad JSON", "{\"weight_map\":{\"a\":}", NULL, INGOT_E_FORMAT, "invalid JSON"},
    };
    for (size_t c = 0; c < sizeof k_cases / sizeof *k_cases; c++) {
        const char *dir = ingot_test_tmpdir();
        CHECK(tb_sharded(dir, k_cases[c].index, k_cases[c].extra) == 0);
        ingot_err err = {0};
        ingot_checkpoint *ck = NULL;
        const ingot_status st = ingot_checkpoint_open(dir, &ck, &err);
        CHECK_MSG(st == k_cases[c].want, "%s: got %s want %s (%s)", k_cases[c].what, ingot_status_name(st),
                  ingot_status_name(k_cases[c].want), err.msg);
        CHECK_MSG(strstr(err.msg, k_cases[c].msg) != NULL, "%s: '%s' lacks '%s'", k_cases[c].what, err.msg,
                  k_cases[c].msg);
        if (st == INGOT_OK) {
            CHECK_EQ_U64(ingot_checkpoint_n_tensors(ck), 3);
            CHECK_EQ_U64(ingot_checkpoint_n_shards(ck), 2);
            const int64_t c_ix = ingot_checkpoint_find(ck, "c");
            CHECK(memcmp(ingot_checkpoint_tensor_data(ck, (size_t)c_ix), g_w3, 8) == 0);
        }
        ingot_checkpoint_close(ck);
        tb_rmtree(dir);
    }
    return 0;
}

// A folder of several .safetensors files without an index is ambiguous.
static int test_st_folder_without_index(void) {
    const char *dir = ingot_test_tmpdir();
    CHECK(tb_sharded(dir, "{}", NULL) == 0);
    remove(tb_path(dir, "model.safetensors.index.json"));
    ingot_err err = {0};
    ingot_checkpoint *ck = NULL;
    CHECK_STATUS(ingot_checkpoint_open(dir, &ck, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "2 files end with '.safetensors'");
    remove(tb_path(dir, "m-2.safetensors"));
    CHECK_OK(ingot_checkpoint_open(dir, &ck, &err), &err);
    CHECK_EQ_U64(ingot_checkpoint_n_tensors(ck), 2);
    ingot_checkpoint_close(ck);
    CHECK_STATUS(ingot_checkpoint_open(tb_path(dir, "absent"), &ck, &err), INGOT_E_IO, &err);
    CHECK_STATUS(ingot_checkpoint_open("/dev/null", &ck, &err), INGOT_E_IO, &err);
    CHECK_STR_CONTAINS(err.msg, "neither a folder nor a regular file");
    CHECK(tb_write(tb_path(dir, "empty.safetensors"), "", 0) == 0);
    CHECK_STATUS(ingot_checkpoint_open(tb_path(dir, "empty.safetensors"), &ck, &err), INGOT_E_FORMAT, &err);
    tb_rmtree(dir);
    return 0;
}

// ---- archives -----------------------------------------------------------------------------

// AR_ZIP_STREAM leaves member sizes out of the local headers (data
// descriptors), so the reader must learn them by reading.
typedef enum ar_fmt { AR_TAR, AR_TAR_GZ, AR_TAR_ZST, AR_ZIP, AR_ZIP_STREAM } ar_fmt;

// Packs every regular file of `src` into `out` under `prefix` ("" or "dir/").
static int tb_archive(const char *src, const char *out, ar_fmt fmt, const char *prefix) {
    struct archive *a = archive_write_new();
    if (fmt == AR_ZIP || fmt == AR_ZIP_STREAM) archive_write_set_format_zip(a);
    else archive_write_set_format_pax_restricted(a);
    if (fmt == AR_TAR_GZ) archive_write_add_filter_gzip(a);
    if (fmt == AR_TAR_ZST && archive_write_add_filter_zstd(a) != ARCHIVE_OK) return -1;
    if (archive_write_open_filename(a, out) != ARCHIVE_OK) return -1;
    DIR *d = opendir(src);
    if (!d) return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && rc == 0;) {
        char path[2048], name[1024];
        snprintf(path, sizeof path, "%s/%s", src, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        FILE *fp = fopen(path, "rb");
        uint8_t *buf = malloc((size_t)sb.st_size + 1);
        rc = fp && buf && fread(buf, 1, (size_t)sb.st_size, fp) == (size_t)sb.st_size ? 0 : -1;
        if (fp) fclose(fp);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, name);
        if (fmt != AR_ZIP_STREAM) archive_entry_set_size(ae, sb.st_size);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        if (rc == 0 && archive_write_header(a, ae) != ARCHIVE_OK) rc = -1;
        if (rc == 0 && archive_write_data(a, buf, (size_t)sb.st_size) != sb.st_size) rc = -1;
        archive_entry_free(ae);
        free(buf);
    }
    closedir(d);
    if (archive_write_close(a) != ARCHIVE_OK) rc = -1;
    archive_write_free(a);
    return rc;
}

typedef struct cmp_ctx {
    const ingot_checkpoint *ref; // mapped folder
    const ingot_checkpoint *ck;  // archive
    size_t calls;
    uint64_t last_key;           // (file_index, data_off) must increase
    int bad;
} cmp_ctx;

static ingot_status cmp_fn(void *ctx, size_t i, const uint8_t *data, ingot_err *err) {
    (void)err;
    cmp_ctx *c = ctx;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(c->ck, i);
    const int64_t r = ingot_checkpoint_find(c->ref, t->name);
    const uint64_t key = (uint64_t)t->file_index << 48 | t->data_off;
    if (r < 0 || (c->calls && key <= c->last_key)) c->bad++;
    else if (t->size && memcmp(ingot_checkpoint_tensor_data(c->ref, (size_t)r), data, t->size) != 0) c->bad++;
    c->last_key = key;
    c->calls++;
    return INGOT_OK;
}

static int check_archive(ar_fmt fmt, const char *ext, const char *prefix) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[1024];
    snprintf(src, sizeof src, "%s/thirdparty/neuralapi/llama_sharded", fx);
    const char *dir = ingot_test_tmpdir();
    char out[1024];
    snprintf(out, sizeof out, "%s/ckpt%s", dir, ext);
    CHECK(tb_archive(src, out, fmt, prefix) == 0);
    ingot_err err = {0};
    ingot_checkpoint *ref, *ck;
    CHECK_OK(ingot_checkpoint_open(src, &ref, &err), &err);
    CHECK_OK(ingot_checkpoint_open(out, &ck, &err), &err);
    CHECK_EQ_INT(ingot_checkpoint_get_kind(ck), INGOT_CHECKPOINT_ARCHIVE);
    CHECK(!ingot_checkpoint_is_mapped(ck));
    CHECK(ingot_checkpoint_tensor_data(ck, 0) == NULL);
    CHECK_EQ_U64(ingot_checkpoint_n_tensors(ck), ingot_checkpoint_n_tensors(ref));
    CHECK_EQ_U64(ingot_checkpoint_n_shards(ck), 2);
    for (size_t i = 0; i < ingot_checkpoint_n_tensors(ck); i++) {
        const ingot_st_tensor *a = ingot_checkpoint_tensor(ck, i), *b = ingot_checkpoint_tensor(ref, i);
        CHECK(strcmp(a->name, b->name) == 0);
        CHECK(a->dtype == b->dtype && a->n_dims == b->n_dims && a->size == b->size && a->data_off == b->data_off);
        CHECK(memcmp(a->dims, b->dims, sizeof a->dims) == 0);
        CHECK(strcmp(ingot_checkpoint_shard_get(ck, a->file_index)->name,
                     ingot_checkpoint_shard_get(ref, b->file_index)->name) == 0);
    }
    cmp_ctx c = {ref, ck, 0, 0, 0};
    CHECK_OK(ingot_checkpoint_foreach(ck, cmp_fn, &c, &err), &err);
    CHECK_EQ_U64(c.calls, ingot_checkpoint_n_tensors(ck));
    CHECK_EQ_INT(c.bad, 0);
    size_t na, nb;
    const char *ca = ingot_checkpoint_aux(ck, "config.json", &na), *cb = ingot_checkpoint_aux(ref, "config.json", &nb);
    CHECK(ca && cb && na == nb && memcmp(ca, cb, na) == 0);
    for (size_t s = 0; s < 2; s++) {
        const ingot_checkpoint_shard *sa = ingot_checkpoint_shard_get(ck, s);
        size_t r = 0;
        while (strcmp(ingot_checkpoint_shard_get(ref, r)->name, sa->name) != 0) r++;
        CHECK_EQ_U64(sa->size, ingot_checkpoint_shard_get(ref, r)->size);
        uint64_t ha, hb;
        CHECK_OK(ingot_checkpoint_shard_hash(ck, s, &ha, &err), &err);
        CHECK_OK(ingot_checkpoint_shard_hash(ref, r, &hb, &err), &err);
        CHECK_EQ_U64(ha, hb);
    }
    ingot_checkpoint_close(ck);
    // detected by content when the name says nothing
    char bare[1024];
    snprintf(bare, sizeof bare, "%s/ckpt", dir);
    CHECK(rename(out, bare) == 0);
    CHECK_OK(ingot_checkpoint_open(bare, &ck, &err), &err);
    CHECK_EQ_INT(ingot_checkpoint_get_kind(ck), INGOT_CHECKPOINT_ARCHIVE);
    CHECK_EQ_U64(ingot_checkpoint_n_tensors(ck), ingot_checkpoint_n_tensors(ref));
    ingot_checkpoint_close(ck);
    ingot_checkpoint_close(ref);
    tb_rmtree(dir);
    return 0;
}

static int test_st_archive_tar(void) { return check_archive(AR_TAR, ".tar", "llama_sharded/"); }
static int test_st_archive_tar_gz(void) { return check_archive(AR_TAR_GZ, ".tar.gz", "./"); }
static int test_st_archive_tar_zst(void) { return check_archive(AR_TAR_ZST, ".tar.zst", "top/"); }
static int test_st_archive_zip(void) { return check_archive(AR_ZIP, ".zip", ""); }
static int test_st_archive_zip_stream(void) { return check_archive(AR_ZIP_STREAM, ".zip", "dir/"); }

// An archive whose index names a member that is not there, and a tensor that
// sits in the wrong shard, are rejected like their folder forms.
static int test_st_archive_mismatch(void) {
    const char *dir = ingot_test_tmpdir();
    char src[1024], out[1024];
    snprintf(src, sizeof src, "%s/src", dir);
    CHECK(mkdir(src, 0755) == 0);
    CHECK(tb_sharded(src, IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-3.safetensors\""), NULL) ==
          0);
    snprintf(out, sizeof out, "%s/bad.tar", dir);
    CHECK(tb_archive(src, out, AR_TAR, "") == 0);
    ingot_err err = {0};
    ingot_checkpoint *ck = NULL;
    CHECK_STATUS(ingot_checkpoint_open(out, &ck, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "shard 'm-3.safetensors' named by the index is not in the archive");
    CHECK(tb_sharded(src, IX("\"a\":\"m-2.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), NULL) ==
          0);
    CHECK(tb_archive(src, out, AR_TAR, "") == 0);
    CHECK_STATUS(ingot_checkpoint_open(out, &ck, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "tensor 'a': the index puts it in shard 'm-2.safetensors'");
    // a truncated archive fails cleanly
    CHECK(tb_sharded(src, IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), NULL) ==
          0);
    CHECK(tb_archive(src, out, AR_TAR, "") == 0);
    CHECK(truncate(out, 1500) == 0);
    const ingot_status st = ingot_checkpoint_open(out, &ck, &err);
    CHECK_MSG(st == INGOT_E_IO || st == INGOT_E_FORMAT, "%s (%s)", ingot_status_name(st), err.msg);
    CHECK(ck == NULL);
    tb_rmtree(dir);
    return 0;
}

// ---- fault injection --------------------------------------------------------------------

static int test_st_alloc_fault_injection(void) {
    // many tensors, so the entry array grows several times
    enum { N = 300 };
    static uint8_t bytes[N];
    static tb_tensor ts[N];
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "t%03d", i);
        ts[i] = (tb_tensor){names[i], "U8", 1, {1}, &bytes[i], 1};
    }
    size_t n;
    uint8_t *file = tb_build(ts, N, "\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\","
                                    "\"g\":\"7\",\"h\":\"8\",\"i\":\"9\"",
                             &n);
    const int64_t live = ingot_alloc_live();
    bool succeeded = false;
    for (uint64_t k = 1; k < 200 && !succeeded; k++) {
        ingot_err err = {0};
        ingot_st_file *f = NULL;
        ingot_alloc_fail_at(k, true);
        const ingot_status st = ingot_st_file_parse(file, n, n, "fi", &f, &err);
        ingot_alloc_fail_at(0, false);
        if (st == INGOT_OK) {
            CHECK_EQ_U64(ingot_st_file_n_tensors(f), N);
            succeeded = true;
        } else {
            CHECK_MSG(st == INGOT_E_NOMEM, "k=%llu: %s (%s)", (unsigned long long)k, ingot_status_name(st), err.msg);
            CHECK(f == NULL);
        }
        ingot_st_file_free(f);
        CHECK_EQ_INT(ingot_alloc_live(), live);
    }
    CHECK(succeeded);
    free(file);
    // and a sharded folder open (index, merge, side files)
    const char *dir = ingot_test_tmpdir();
    CHECK(tb_sharded(dir, IX("\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\""), NULL) ==
          0);
    CHECK(tb_write(tb_path(dir, "config.json"), "{}", 2) == 0);
    succeeded = false;
    for (uint64_t k = 1; k < 200 && !succeeded; k++) {
        ingot_err err = {0};
        ingot_checkpoint *ck = NULL;
        ingot_alloc_fail_at(k, true);
        const ingot_status st = ingot_checkpoint_open(dir, &ck, &err);
        ingot_alloc_fail_at(0, false);
        if (st == INGOT_OK) succeeded = ingot_checkpoint_aux(ck, "config.json", NULL) != NULL;
        else CHECK_MSG(st == INGOT_E_NOMEM, "k=%llu: %s (%s)", (unsigned long long)k, ingot_status_name(st), err.msg);
        ingot_checkpoint_close(ck);
        CHECK_EQ_INT(ingot_alloc_live(), live);
    }
    CHECK(succeeded);
    // and the same folder as a tar archive, opened and streamed
    char tar[1024];
    snprintf(tar, sizeof tar, "%s.tar", dir);
    CHECK(tb_archive(dir, tar, AR_TAR, "top/") == 0);
    succeeded = false;
    for (uint64_t k = 1; k < 400 && !succeeded; k++) {
        ingot_err err = {0};
        ingot_checkpoint *ck = NULL;
        sum_ctx s = {0};
        ingot_alloc_fail_at(k, true);
        ingot_status st = ingot_checkpoint_open(tar, &ck, &err);
        if (st == INGOT_OK) {
            s.ck = ck;
            st = ingot_checkpoint_foreach(ck, sum_fn, &s, &err);
        }
        ingot_alloc_fail_at(0, false);
        if (st == INGOT_OK) succeeded = s.calls == 3 && ingot_checkpoint_aux(ck, "config.json", NULL) != NULL;
        else CHECK_MSG(st == INGOT_E_NOMEM, "k=%llu: %s (%s)", (unsigned long long)k, ingot_status_name(st), err.msg);
        ingot_checkpoint_close(ck);
        CHECK_EQ_INT(ingot_alloc_live(), live);
    }
    CHECK(succeeded);
    remove(tar);
    tb_rmtree(dir);
    return 0;
}

INGOT_TEST_MAIN(T(st_roundtrip_all_dtypes), T(st_accepts_valid_variants), T(st_fp8_fixture_decode),
                T(st_truncation_sweep), T(st_corrupt_table), T(st_corrupt_prefix), T(st_fixtures_open_all),
                T(st_fixture_sharded), T(st_index_mismatch), T(st_folder_without_index), T(st_archive_tar),
                T(st_archive_tar_gz), T(st_archive_tar_zst), T(st_archive_zip), T(st_archive_zip_stream), T(st_archive_mismatch),
                T(st_alloc_fault_injection))
