// Importance-matrix files: a safetensors file of F32 per-column weights named
// by canonical tensor name (format in include/ingot/quant_policy.h and
// docs/QUANT.md). quantize/ links only common/, so the safetensors header is
// read here with a small JSON reader that understands exactly what the
// format needs: one object of tensor entries {dtype, shape, data_offsets},
// and `__metadata__`, which is skipped. Everything is bounds-checked; values
// are copied out so the caller's buffer can go.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/quant_policy.h"

#define IMATRIX_HEADER_MAX 100000000ull
#define JSON_DEPTH_MAX 64

typedef struct imatrix_entry {
    char *name;
    uint64_t n_rows;  // 1 for a vector
    uint64_t n_cols;
    float *data;      // [n_rows, n_cols]
} imatrix_entry;

struct ingot_imatrix {
    imatrix_entry *entries; // sorted by name
    size_t n;
};

// ---- a minimal JSON reader --------------------------------------------------

typedef struct json_reader {
    const char *s;
    size_t n, i;
    const char *file; // for messages
} json_reader;

static void json_ws(json_reader *j) {
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static ingot_status json_fail(json_reader *j, ingot_err *err, const char *what) {
    ingot_err_where(err, j->file, NULL, (int64_t)(8 + j->i));
    return ingot_err_set(err, INGOT_E_FORMAT, "%s: header json: %s at byte %zu", j->file, what, 8 + j->i);
}

static ingot_status json_expect(json_reader *j, char c, ingot_err *err) {
    json_ws(j);
    if (j->i >= j->n || j->s[j->i] != c) {
        char what[32];
        snprintf(what, sizeof what, "expected '%c'", c);
        return json_fail(j, err, what);
    }
    j->i++;
    return INGOT_OK;
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool json_hex4(json_reader *j, uint32_t *out) {
    if (j->n - j->i < 4) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        const int h = hex_val(j->s[j->i + (size_t)k]);
        if (h < 0) return false;
        v = v * 16 + (uint32_t)h;
    }
    j->i += 4;
    *out = v;
    return true;
}

static size_t utf8_put(char *dst, uint32_t cp) {
    if (cp < 0x80) { dst[0] = (char)cp; return 1; }
    if (cp < 0x800) { dst[0] = (char)(0xc0 | (cp >> 6)); dst[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | (cp >> 12)); dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (cp >> 18)); dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

// One \-escape after the backslash; appends UTF-8 to dst (≥ 4 bytes free).
static bool json_escape(json_reader *j, char *dst, size_t *len) {
    if (j->i >= j->n) return false;
    const char c = j->s[j->i++];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = strchr(from, c);
    if (c && k) {
        dst[(*len)++] = to[k - from];
        return true;
    }
    if (c != 'u') return false;
    uint32_t cp;
    if (!json_hex4(j, &cp)) return false;
    if (cp >= 0xd800 && cp < 0xdc00) {
        uint32_t lo;
        if (j->n - j->i < 2 || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u') return false;
        j->i += 2;
        if (!json_hex4(j, &lo) || lo < 0xdc00 || lo >= 0xe000) return false;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp < 0xe000) {
        return false;
    }
    *len += utf8_put(dst + *len, cp);
    return true;
}

// A string; *out is heap (NUL-terminated) or NULL to skip it.
static ingot_status json_string(json_reader *j, char **out, ingot_err *err) {
    if (out) *out = NULL;
    INGOT_FORWARD_IF_ERROR(json_expect(j, '"', err));
    const size_t start = j->i;
    size_t end = start;
    while (end < j->n && j->s[end] != '"') end += j->s[end] == '\\' ? 2 : 1;
    if (end >= j->n) return json_fail(j, err, "unterminated string");
    // Decoded text is never longer than the escaped text (\uXXXX: 6 bytes → ≤ 4).
    char *buf = ingot_malloc(end - start + 4);
    INGOT_FAIL_IF(!buf, err, INGOT_E_NOMEM, "out of memory");
    size_t len = 0;
    while (j->i < end) {
        const unsigned char c = (unsigned char)j->s[j->i];
        if (c < 0x20) {
            ingot_free(buf);
            return json_fail(j, err, "control character in string");
        }
        j->i++;
        if (c != '\\') {
            buf[len++] = (char)c;
        } else if (!json_escape(j, buf, &len) || j->i > end) {
            ingot_free(buf);
            return json_fail(j, err, "bad escape in string");
        }
    }
    j->i = end + 1;
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
        ingot_free(buf);
        return json_fail(j, err, "NUL in string");
    }
    if (out) *out = buf;
    else ingot_free(buf);
    return INGOT_OK;
}

static ingot_status json_u64(json_reader *j, uint64_t *out, ingot_err *err) {
    json_ws(j);
    uint64_t v = 0;
    const size_t start = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') {
        if (!ingot_mul_u64(v, 10, &v) || !ingot_add_u64(v, (uint64_t)(j->s[j->i] - '0'), &v))
            return json_fail(j, err, "integer overflow");
        j->i++;
    }
    if (j->i == start) return json_fail(j, err, "expected a non-negative integer");
    if (j->i < j->n && (j->s[j->i] == '.' || j->s[j->i] == 'e' || j->s[j->i] == 'E'))
        return json_fail(j, err, "expected an integer");
    *out = v;
    return INGOT_OK;
}

static ingot_status json_skip(json_reader *j, int depth, ingot_err *err);

// Skip the members of an array or object after its opening bracket.
static ingot_status json_skip_items(json_reader *j, char close, int depth, ingot_err *err) {
    json_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        return INGOT_OK;
    }
    for (;;) {
        if (close == '}') {
            INGOT_FORWARD_IF_ERROR(json_string(j, NULL, err));
            INGOT_FORWARD_IF_ERROR(json_expect(j, ':', err));
        }
        INGOT_FORWARD_IF_ERROR(json_skip(j, depth + 1, err));
        json_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        return json_expect(j, close, err);
    }
}

static ingot_status json_skip(json_reader *j, int depth, ingot_err *err) {
    if (depth > JSON_DEPTH_MAX) return json_fail(j, err, "nesting too deep");
    json_ws(j);
    if (j->i >= j->n) return json_fail(j, err, "unexpected end");
    const char c = j->s[j->i];
    if (c == '"') return json_string(j, NULL, err);
    if (c == '{' || c == '[') {
        j->i++;
        return json_skip_items(j, c == '{' ? '}' : ']', depth, err);
    }
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        const size_t m = strlen(words[k]);
        if (j->n - j->i >= m && memcmp(j->s + j->i, words[k], m) == 0) {
            j->i += m;
            return INGOT_OK;
        }
    }
    const size_t start = j->i;
    while (j->i < j->n && strchr("+-0123456789.eE", j->s[j->i])) j->i++;
    if (j->i == start) return json_fail(j, err, "unexpected character");
    return INGOT_OK;
}

// [a, b, ...] of up to `cap` integers.
static ingot_status json_u64_array(json_reader *j, uint64_t *v, size_t cap, size_t *n, ingot_err *err) {
    *n = 0;
    INGOT_FORWARD_IF_ERROR(json_expect(j, '[', err));
    json_ws(j);
    if (j->i < j->n && j->s[j->i] == ']') {
        j->i++;
        return INGOT_OK;
    }
    for (;;) {
        if (*n >= cap) return json_fail(j, err, "array too long");
        INGOT_FORWARD_IF_ERROR(json_u64(j, &v[(*n)++], err));
        json_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        return json_expect(j, ']', err);
    }
}

// ---- entries ----------------------------------------------------------------

typedef struct entry_info {
    char *dtype;
    uint64_t shape[8];
    size_t n_shape;
    uint64_t off[2];
    size_t n_off;
    bool has_shape;
} entry_info;

static ingot_status entry_parse_field(json_reader *j, const char *key, entry_info *e, ingot_err *err) {
    if (strcmp(key, "dtype") == 0) {
        ingot_free(e->dtype);
        return json_string(j, &e->dtype, err);
    }
    if (strcmp(key, "shape") == 0) {
        e->has_shape = true;
        return json_u64_array(j, e->shape, 8, &e->n_shape, err);
    }
    if (strcmp(key, "data_offsets") == 0) return json_u64_array(j, e->off, 2, &e->n_off, err);
    return json_skip(j, 1, err);
}

static ingot_status entry_parse(json_reader *j, entry_info *e, ingot_err *err) {
    memset(e, 0, sizeof *e);
    INGOT_FORWARD_IF_ERROR(json_expect(j, '{', err));
    json_ws(j);
    if (j->i < j->n && j->s[j->i] == '}') {
        j->i++;
        return INGOT_OK;
    }
    for (;;) {
        char *key = NULL;
        INGOT_FORWARD_IF_ERROR(json_string(j, &key, err));
        ingot_status st = json_expect(j, ':', err);
        if (st == INGOT_OK) st = entry_parse_field(j, key, e, err);
        ingot_free(key);
        INGOT_FORWARD_IF_ERROR(st);
        json_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        return json_expect(j, '}', err);
    }
}

// Check an entry against the data area and copy its values. *bad_off is set
// to the file offset of a rejected value.
static ingot_status entry_load(const char *file, const char *name, const entry_info *e, const uint8_t *data,
                               uint64_t data_size, uint64_t data_start, imatrix_entry *out, int64_t *bad_off,
                               ingot_err *err) {
    INGOT_FAIL_IF(!e->dtype || !e->has_shape || e->n_off != 2, err, INGOT_E_FORMAT,
                  "%s: entry '%s' lacks dtype, shape or data_offsets", file, name);
    INGOT_FAIL_IF(strcmp(e->dtype, "F32") != 0, err, INGOT_E_FORMAT, "%s: entry '%s' has dtype %s, want F32", file,
                  name, e->dtype);
    INGOT_FAIL_IF(e->n_shape < 1 || e->n_shape > 2, err, INGOT_E_FORMAT,
                  "%s: entry '%s' has rank %zu, want 1 ([n_cols]) or 2 ([n_expert, n_cols])", file, name, e->n_shape);
    const uint64_t rows = e->n_shape == 2 ? e->shape[0] : 1, cols = e->shape[e->n_shape - 1];
    uint64_t count, bytes;
    INGOT_FAIL_IF(!ingot_mul_u64(rows, cols, &count) || !ingot_mul_u64(count, 4, &bytes) || count > SIZE_MAX / 4,
                  err, INGOT_E_FORMAT, "%s: entry '%s': shape overflows", file, name);
    INGOT_FAIL_IF(e->off[0] > e->off[1] || e->off[1] > data_size, err, INGOT_E_FORMAT,
                  "%s: entry '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] outside the %" PRIu64 "-byte data area",
                  file, name, e->off[0], e->off[1], data_size);
    INGOT_FAIL_IF(e->off[1] - e->off[0] != bytes, err, INGOT_E_FORMAT,
                  "%s: entry '%s': %" PRIu64 " data bytes for a shape that needs %" PRIu64, file, name,
                  e->off[1] - e->off[0], bytes);
    out->n_rows = rows;
    out->n_cols = cols;
    out->data = ingot_malloc(count ? (size_t)bytes : 1);
    INGOT_FAIL_IF(!out->data, err, INGOT_E_NOMEM, "out of memory");
    for (uint64_t k = 0; k < count; k++) {
        const uint8_t *b = data + e->off[0] + 4 * k;
        const uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f) || f < 0) {
            const uint64_t at = data_start + e->off[0] + 4 * k;
            *bad_off = (int64_t)at;
            return ingot_err_set(err, INGOT_E_FORMAT, "%s: entry '%s': value %g at byte %" PRIu64
                                 " is not a finite non-negative number", file, name, (double)f, at);
        }
        out->data[k] = f;
    }
    return INGOT_OK;
}

void ingot_imatrix_free(ingot_imatrix *im) {
    if (!im) return;
    for (size_t i = 0; i < im->n; i++) {
        ingot_free(im->entries[i].name);
        ingot_free(im->entries[i].data);
    }
    ingot_free(im->entries);
    ingot_free(im);
}

size_t ingot_imatrix_n_entries(const ingot_imatrix *im) { return im ? im->n : 0; }

static ingot_status imatrix_push(ingot_imatrix *im, size_t *cap, ingot_err *err) {
    if (im->n < *cap) return INGOT_OK;
    const size_t ncap = *cap ? *cap * 2 : 16;
    imatrix_entry *e = ingot_realloc(im->entries, ncap * sizeof *e);
    INGOT_FAIL_IF(!e, err, INGOT_E_NOMEM, "out of memory");
    im->entries = e;
    *cap = ncap;
    return INGOT_OK;
}

// One "name": {...} member of the top-level object.
static ingot_status imatrix_member(json_reader *j, ingot_imatrix *im, size_t *cap, const uint8_t *data,
                                   uint64_t data_size, uint64_t data_start, ingot_err *err) {
    char *name = NULL;
    INGOT_FORWARD_IF_ERROR(json_string(j, &name, err));
    ingot_status st = json_expect(j, ':', err);
    if (st == INGOT_OK && strcmp(name, "__metadata__") == 0) {
        ingot_free(name);
        return json_skip(j, 1, err);
    }
    entry_info e = {0};
    if (st == INGOT_OK) st = entry_parse(j, &e, err);
    if (st == INGOT_OK) st = imatrix_push(im, cap, err);
    if (st == INGOT_OK) {
        imatrix_entry *out = &im->entries[im->n];
        memset(out, 0, sizeof *out);
        int64_t bad_off = -1;
        st = entry_load(j->file, name, &e, data, data_size, data_start, out, &bad_off, err);
        if (st != INGOT_OK) ingot_err_where(err, j->file, name, bad_off);
        out->name = name;
        im->n++; // owned by im from here, freed with it on any later failure
        name = NULL;
    }
    ingot_free(e.dtype);
    ingot_free(name);
    return st;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const imatrix_entry *)a)->name, ((const imatrix_entry *)b)->name);
}

static ingot_status imatrix_header(json_reader *j, ingot_imatrix *im, const uint8_t *data, uint64_t data_size,
                                   uint64_t data_start, ingot_err *err) {
    size_t cap = 0;
    INGOT_FORWARD_IF_ERROR(json_expect(j, '{', err));
    json_ws(j);
    if (j->i < j->n && j->s[j->i] == '}') {
        j->i++;
    } else {
        for (;;) {
            INGOT_FORWARD_IF_ERROR(imatrix_member(j, im, &cap, data, data_size, data_start, err));
            json_ws(j);
            if (j->i < j->n && j->s[j->i] == ',') {
                j->i++;
                continue;
            }
            INGOT_FORWARD_IF_ERROR(json_expect(j, '}', err));
            break;
        }
    }
    json_ws(j);
    if (j->i != j->n) return json_fail(j, err, "trailing bytes after the header object");
    if (im->n) qsort(im->entries, im->n, sizeof *im->entries, entry_cmp);
    for (size_t i = 1; i < im->n; i++)
        INGOT_FAIL_IF(strcmp(im->entries[i - 1].name, im->entries[i].name) == 0, err, INGOT_E_FORMAT,
                      "%s: entry '%s' appears twice", j->file, im->entries[i].name);
    return INGOT_OK;
}

ingot_status ingot_imatrix_parse(const uint8_t *buf, size_t n, const char *name, ingot_imatrix **out, ingot_err *err) {
    *out = NULL;
    const char *file = name ? name : "imatrix";
    INGOT_FAIL_IF(!buf && n, err, INGOT_E_ARG, "%s: NULL buffer", file);
    INGOT_FAIL_IF(n < 8, err, INGOT_E_FORMAT, "%s: %zu bytes, too short for a safetensors header", file, n);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = hlen << 8 | buf[k];
    INGOT_FAIL_IF(hlen > IMATRIX_HEADER_MAX, err, INGOT_E_LIMIT, "%s: header length %" PRIu64 " over the %llu cap",
                  file, hlen, IMATRIX_HEADER_MAX);
    INGOT_FAIL_IF(hlen > n - 8, err, INGOT_E_FORMAT, "%s: header length %" PRIu64 " runs past the %zu-byte file", file,
                  hlen, n);
    ingot_imatrix *im = ingot_calloc(1, sizeof *im);
    INGOT_FAIL_IF(!im, err, INGOT_E_NOMEM, "out of memory");
    json_reader j = {(const char *)buf + 8, (size_t)hlen, 0, file};
    const ingot_status st = imatrix_header(&j, im, buf + 8 + hlen, n - 8 - hlen, 8 + hlen, err);
    if (st != INGOT_OK) {
        ingot_imatrix_free(im);
        return st;
    }
    *out = im;
    return INGOT_OK;
}

ingot_status ingot_imatrix_open(const char *path, ingot_imatrix **out, ingot_err *err) {
    *out = NULL;
    ingot_file_map map;
    INGOT_FORWARD_IF_ERROR(ingot_file_map_open(path, &map, err));
    const ingot_status st = ingot_imatrix_parse(map.data, map.size, path, out, err);
    ingot_file_map_close(&map);
    return st;
}

// ---- lookup -----------------------------------------------------------------

static const imatrix_entry *entry_find(const ingot_imatrix *im, const char *name) {
    size_t lo = 0, hi = im->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(im->entries[mid].name, name);
        if (c == 0) return &im->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

// "blk.L.exp.E.rest" → "blk.L.exp.rest" and E; false for other names.
static bool expert_stack_name(const char *name, char *dst, size_t dst_cap, uint64_t *expert) {
    const char *p = strstr(name, ".exp.");
    if (strncmp(name, "blk.", 4) != 0 || !p) return false;
    const char *q = p + 5;
    uint64_t e = 0;
    const char *d = q;
    while (*d >= '0' && *d <= '9') {
        if (!ingot_mul_u64(e, 10, &e) || !ingot_add_u64(e, (uint64_t)(*d - '0'), &e)) return false;
        d++;
    }
    if (d == q || *d != '.') return false;
    const size_t head = (size_t)(q - name);
    if (head + strlen(d + 1) + 1 > dst_cap) return false;
    memcpy(dst, name, head);
    strcpy(dst + head, d + 1);
    *expert = e;
    return true;
}

static const float *nonzero_or_null(const float *v, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (v[i] != 0.0f) return v;
    return NULL;
}

static ingot_status imatrix_find(const ingot_imatrix *im, const char *name, uint64_t n_cols, const float **out,
                                 ingot_err *err) {
    const imatrix_entry *e = entry_find(im, name);
    uint64_t row = 0;
    char stacked[512];
    if (e) {
        INGOT_FAIL_IF(e->n_rows != 1, err, INGOT_E_FORMAT,
                      "imatrix entry '%s' has %" PRIu64 " rows, want a vector", name, e->n_rows);
    } else if (expert_stack_name(name, stacked, sizeof stacked, &row)) {
        e = entry_find(im, stacked);
        if (!e) return INGOT_OK;
        INGOT_FAIL_IF(row >= e->n_rows, err, INGOT_E_FORMAT,
                      "imatrix entry '%s' has %" PRIu64 " expert rows, tensor '%s' needs row %" PRIu64, stacked,
                      e->n_rows, name, row);
    } else {
        return INGOT_OK;
    }
    INGOT_FAIL_IF(e->n_cols != n_cols, err, INGOT_E_FORMAT,
                  "imatrix entry '%s' has %" PRIu64 " columns, tensor '%s' has %" PRIu64, e->name, e->n_cols, name,
                  n_cols);
    *out = nonzero_or_null(e->data + row * e->n_cols, n_cols);
    return INGOT_OK;
}

ingot_status ingot_imatrix_find(const ingot_imatrix *im, const char *name, uint64_t n_cols, const float **out,
                                ingot_err *err) {
    *out = NULL;
    if (!im || !name) return INGOT_OK;
    const ingot_status st = imatrix_find(im, name, n_cols, out, err);
    if (st != INGOT_OK) ingot_err_where(err, NULL, name, -1);
    return st;
}
