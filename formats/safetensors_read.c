// The safetensors header parser: validates one file's header from memory.
//
// Layout (huggingface/safetensors README): u64 little-endian N, N bytes of
// UTF-8 JSON, then the data area that every data_offsets pair indexes.
// The JSON is read by a small strict parser rather than cJSON because the
// rules need things cJSON does not give: exact 64-bit integers (cJSON keeps
// doubles), duplicate-key detection, and the byte offset of every problem for
// messages. Validation follows SafeTensors::read_metadata and
// Metadata::validate of the reference implementation (tensor.rs): tensors
// sorted by offsets must start at 0, follow each other with no gap and no
// overlap, and end exactly at the end of the file.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "safetensors_internal.h"

#define ST_JSON_MAX_DEPTH 64

// ---- UTF-8 ------------------------------------------------------------------

size_t ingot_utf8_check(const uint8_t *buf, size_t n) {
    size_t i = 0;
    while (i < n) {
        // ASCII fast path, 8 bytes at a time
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, buf + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        const uint8_t c = buf[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t lo = 0x80, hi = 0xbf; // allowed range of the second byte
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0;       // overlong
            else if (c == 0xed) hi = 0x9f;  // surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90;       // overlong
            else if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
        } else {
            return i;
        }
        if (n - i < len) return i;
        if (buf[i + 1] < lo || buf[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if ((buf[i + k] & 0xc0) != 0x80) return i;
        i += len;
    }
    return n;
}

// ---- dtypes -----------------------------------------------------------------

// Dtypes of the format (tensor.rs enum Dtype) that ingot does not handle.
static const char *const k_st_unsupported[] = {"F4", "F6_E2M3", "F6_E3M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64"};

ingot_status ingot_st_dtype_lookup(const char *s, size_t n, ingot_dtype *out) {
    int t = ingot_dtype_from_st_name(s, n);
    // The reference implementation spells the scale type F8_E8M0.
    if (t < 0 && n == 7 && memcmp(s, "F8_E8M0", 7) == 0) t = INGOT_DTYPE_E8M0;
    if (t >= 0) {
        *out = (ingot_dtype)t;
        return INGOT_OK;
    }
    for (size_t i = 0; i < sizeof k_st_unsupported / sizeof *k_st_unsupported; i++)
        if (strlen(k_st_unsupported[i]) == n && memcmp(k_st_unsupported[i], s, n) == 0)
            return INGOT_E_UNSUPPORTED;
    return INGOT_E_FORMAT;
}

// ---- the parser ---------------------------------------------------------------

typedef struct st_parser {
    const uint8_t *js;     // the header JSON (file offset 8)
    size_t n;              // its length
    size_t pos;            // cursor into js
    size_t arena_used;
    size_t cap_entries;
    size_t cap_meta;
    ingot_st_file *f;
    ingot_err *err;
} st_parser;

// Fails with "<file>: [tensor 'x': ]<message> (byte <off>)" and fills the
// error's where-fields; `off` is a file offset.
static ingot_status st_fail(st_parser *ps, ingot_status code, const char *tensor, uint64_t off, const char *fmt,
                            ...) __attribute__((format(printf, 5, 6)));
static ingot_status st_fail(st_parser *ps, ingot_status code, const char *tensor, uint64_t off, const char *fmt,
                            ...) {
    if (!ps->err) return code;
    char what[INGOT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (tensor)
        ingot_err_set(ps->err, code, "%s: tensor '%.200s': %s (byte %llu)", ps->f->name, tensor, what,
                      (unsigned long long)off);
    else
        ingot_err_set(ps->err, code, "%s: %s (byte %llu)", ps->f->name, what, (unsigned long long)off);
    ingot_err_where(ps->err, ps->f->name, tensor, (int64_t)off);
    return code;
}

static uint64_t st_off(const st_parser *ps) { return 8 + (uint64_t)ps->pos; }

static void st_skip_ws(st_parser *ps) {
    while (ps->pos < ps->n) {
        const uint8_t c = ps->js[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ps->pos++;
    }
}

// Expects byte `c` after optional whitespace.
static ingot_status st_expect(st_parser *ps, uint8_t c, const char *tensor, const char *what) {
    st_skip_ws(ps);
    if (ps->pos >= ps->n)
        return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: header ends where %s was expected",
                       what);
    if (ps->js[ps->pos] != c)
        return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: expected %s, found '%c'", what,
                       ps->js[ps->pos] >= 0x20 && ps->js[ps->pos] < 0x7f ? ps->js[ps->pos] : '?');
    ps->pos++;
    return INGOT_OK;
}

static int st_hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool st_read_u16hex(st_parser *ps, size_t at, uint32_t *out) {
    if (ps->n - at < 4) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        const int h = st_hex(ps->js[at + (size_t)k]);
        if (h < 0) return false;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return true;
}

static size_t st_put_utf8(char *dst, uint32_t cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | cp >> 6);
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | cp >> 12);
        dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | cp >> 18);
    dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

// Decodes a \u escape whose backslash is at ps->pos into dst (NULL to only
// validate); lone surrogates are rejected as serde_json does.
static ingot_status st_unicode_escape(st_parser *ps, const char *tensor, char *dst, size_t *put) {
    uint32_t cp;
    const size_t at = ps->pos;
    if (!st_read_u16hex(ps, at + 2, &cp))
        return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + at, "invalid JSON: bad \\u escape");
    size_t used = 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        uint32_t lo;
        if (ps->n - at < 12 || ps->js[at + 6] != '\\' || ps->js[at + 7] != 'u' || !st_read_u16hex(ps, at + 8, &lo) ||
            lo < 0xdc00 || lo > 0xdfff)
            return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + at, "invalid JSON: lone surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        used = 12;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + at, "invalid JSON: lone surrogate in \\u escape");
    }
    char tmp[4];
    *put = st_put_utf8(dst ? dst : tmp, cp);
    ps->pos += used;
    return INGOT_OK;
}

// Parses a JSON string at ps->pos (after whitespace). With `store`, the
// decoded bytes go to the arena, NUL-terminated, and *out/*len describe them.
static ingot_status st_string(st_parser *ps, bool store, const char *tensor, const char **out, size_t *len) {
    INGOT_FORWARD_IF_ERROR(st_expect(ps, '"', tensor, "a string"));
    char *dst = store ? ps->f->arena + ps->arena_used : NULL;
    size_t k = 0;
    const size_t start = ps->pos - 1;
    for (;;) {
        // copy the run of plain characters
        size_t run = ps->pos;
        while (run < ps->n && ps->js[run] != '"' && ps->js[run] != '\\' && ps->js[run] >= 0x20) run++;
        if (dst) memcpy(dst + k, ps->js + ps->pos, run - ps->pos);
        k += run - ps->pos;
        ps->pos = run;
        if (ps->pos >= ps->n)
            return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "invalid JSON: unterminated string");
        const uint8_t c = ps->js[ps->pos];
        if (c == '"') break;
        if (c < 0x20)
            return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: control character 0x%02x in string",
                           c);
        if (ps->pos + 1 >= ps->n)
            return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "invalid JSON: unterminated string");
        static const char k_esc_in[] = "\"\\/bfnrt", k_esc_out[] = "\"\\/\b\f\n\r\t";
        const uint8_t e = ps->js[ps->pos + 1];
        const char *hit = e ? strchr(k_esc_in, e) : NULL;
        if (hit) {
            if (dst) dst[k] = k_esc_out[hit - k_esc_in];
            k++;
            ps->pos += 2;
        } else if (e == 'u') {
            size_t put = 0;
            INGOT_FORWARD_IF_ERROR(st_unicode_escape(ps, tensor, dst ? dst + k : NULL, &put));
            k += put;
        } else {
            return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: bad escape in string");
        }
    }
    ps->pos++; // closing quote
    if (dst) {
        dst[k] = 0;
        ps->arena_used += k + 1;
        *out = dst;
    }
    if (len) *len = k;
    return INGOT_OK;
}

// A JSON number that must be a non-negative integer fitting 64 bits.
static ingot_status st_uint(st_parser *ps, const char *tensor, const char *field, uint64_t *out) {
    st_skip_ws(ps);
    const size_t start = ps->pos;
    uint64_t v = 0;
    while (ps->pos < ps->n && ps->js[ps->pos] >= '0' && ps->js[ps->pos] <= '9') {
        if (!ingot_mul_u64(v, 10, &v) || !ingot_add_u64(v, (uint64_t)(ps->js[ps->pos] - '0'), &v))
            return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "%s: integer overflows 64 bits", field);
        ps->pos++;
    }
    const size_t nd = ps->pos - start;
    const bool more = ps->pos < ps->n && strchr("-+.eE", ps->js[ps->pos]) && ps->js[ps->pos];
    if (nd == 0 || more)
        return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "%s: expected a non-negative integer", field);
    if (nd > 1 && ps->js[start] == '0')
        return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "invalid JSON: number with a leading zero");
    *out = v;
    return INGOT_OK;
}

// Validates and skips any JSON number.
static ingot_status st_skip_number(st_parser *ps, const char *tensor) {
    const size_t start = ps->pos;
    if (ps->pos < ps->n && ps->js[ps->pos] == '-') ps->pos++;
    size_t d = ps->pos;
    while (ps->pos < ps->n && ps->js[ps->pos] >= '0' && ps->js[ps->pos] <= '9') ps->pos++;
    bool ok = ps->pos > d && !(ps->pos - d > 1 && ps->js[d] == '0');
    if (ok && ps->pos < ps->n && ps->js[ps->pos] == '.') {
        d = ++ps->pos;
        while (ps->pos < ps->n && ps->js[ps->pos] >= '0' && ps->js[ps->pos] <= '9') ps->pos++;
        ok = ps->pos > d;
    }
    if (ok && ps->pos < ps->n && (ps->js[ps->pos] == 'e' || ps->js[ps->pos] == 'E')) {
        ps->pos++;
        if (ps->pos < ps->n && (ps->js[ps->pos] == '+' || ps->js[ps->pos] == '-')) ps->pos++;
        d = ps->pos;
        while (ps->pos < ps->n && ps->js[ps->pos] >= '0' && ps->js[ps->pos] <= '9') ps->pos++;
        ok = ps->pos > d;
    }
    if (!ok) return st_fail(ps, INGOT_E_FORMAT, tensor, 8 + start, "invalid JSON: malformed number");
    return INGOT_OK;
}

static ingot_status st_skip_value(st_parser *ps, const char *tensor, int depth);

// Validates and skips an array or object whose opening bracket is at ps->pos.
static ingot_status st_skip_container(st_parser *ps, const char *tensor, int depth) {
    const bool obj = ps->js[ps->pos] == '{';
    const uint8_t close = obj ? '}' : ']';
    if (depth >= ST_JSON_MAX_DEPTH)
        return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "JSON nested deeper than %d", ST_JSON_MAX_DEPTH);
    ps->pos++;
    st_skip_ws(ps);
    if (ps->pos < ps->n && ps->js[ps->pos] == close) {
        ps->pos++;
        return INGOT_OK;
    }
    for (;;) {
        if (obj) {
            INGOT_FORWARD_IF_ERROR(st_string(ps, false, tensor, NULL, NULL));
            INGOT_FORWARD_IF_ERROR(st_expect(ps, ':', tensor, "':'"));
        }
        INGOT_FORWARD_IF_ERROR(st_skip_value(ps, tensor, depth + 1));
        st_skip_ws(ps);
        if (ps->pos < ps->n && ps->js[ps->pos] == ',') {
            ps->pos++;
            continue;
        }
        return st_expect(ps, close, tensor, obj ? "',' or '}'" : "',' or ']'");
    }
}

static ingot_status st_skip_value(st_parser *ps, const char *tensor, int depth) {
    st_skip_ws(ps);
    if (ps->pos >= ps->n)
        return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: header ends where a value was expected");
    const uint8_t c = ps->js[ps->pos];
    if (c == '"') return st_string(ps, false, tensor, NULL, NULL);
    if (c == '{' || c == '[') return st_skip_container(ps, tensor, depth);
    if (c == '-' || (c >= '0' && c <= '9')) return st_skip_number(ps, tensor);
    static const char *const k_lit[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        const size_t l = strlen(k_lit[i]);
        if (ps->n - ps->pos >= l && memcmp(ps->js + ps->pos, k_lit[i], l) == 0) {
            ps->pos += l;
            return INGOT_OK;
        }
    }
    return st_fail(ps, INGOT_E_FORMAT, tensor, st_off(ps), "invalid JSON: unexpected character");
}

// Reads ',' (true: another member follows) or the closing bracket.
static ingot_status st_next(st_parser *ps, uint8_t close, const char *tensor, bool *more) {
    st_skip_ws(ps);
    if (ps->pos < ps->n && ps->js[ps->pos] == ',') {
        ps->pos++;
        *more = true;
        return INGOT_OK;
    }
    *more = false;
    return st_expect(ps, close, tensor, close == '}' ? "',' or '}'" : "',' or ']'");
}

// ---- tensor entries ---------------------------------------------------------

static ingot_status st_shape(st_parser *ps, ingot_st_tensor *t) {
    INGOT_FORWARD_IF_ERROR(st_expect(ps, '[', t->name, "'[' opening shape"));
    t->n_dims = 0;
    st_skip_ws(ps);
    if (ps->pos < ps->n && ps->js[ps->pos] == ']') {
        ps->pos++;
        return INGOT_OK;
    }
    for (bool more = true; more;) {
        if (t->n_dims == INGOT_ST_MAX_DIMS)
            return st_fail(ps, INGOT_E_FORMAT, t->name, st_off(ps), "rank exceeds the maximum of %d dims",
                           INGOT_ST_MAX_DIMS);
        INGOT_FORWARD_IF_ERROR(st_uint(ps, t->name, "shape", &t->dims[t->n_dims]));
        t->n_dims++;
        INGOT_FORWARD_IF_ERROR(st_next(ps, ']', t->name, &more));
    }
    return INGOT_OK;
}

static ingot_status st_offsets(st_parser *ps, ingot_st_entry *e) {
    INGOT_FORWARD_IF_ERROR(st_expect(ps, '[', e->t.name, "'[' opening data_offsets"));
    INGOT_FORWARD_IF_ERROR(st_uint(ps, e->t.name, "data_offsets", &e->begin));
    INGOT_FORWARD_IF_ERROR(st_expect(ps, ',', e->t.name, "',' (data_offsets holds two integers)"));
    INGOT_FORWARD_IF_ERROR(st_uint(ps, e->t.name, "data_offsets", &e->end));
    return st_expect(ps, ']', e->t.name, "']' (data_offsets holds two integers)");
}

static ingot_status st_dtype(st_parser *ps, ingot_st_tensor *t) {
    st_skip_ws(ps);
    const uint64_t at = st_off(ps);
    const char *s;
    size_t n;
    const size_t mark = ps->arena_used; // the dtype string is not kept
    INGOT_FORWARD_IF_ERROR(st_string(ps, true, t->name, &s, &n));
    ps->arena_used = mark;
    ingot_dtype d = INGOT_DTYPE_F32;
    const ingot_status st = ingot_st_dtype_lookup(s, n, &d);
    if (st == INGOT_E_UNSUPPORTED)
        return st_fail(ps, st, t->name, at, "dtype '%.32s' is not supported", s);
    if (st != INGOT_OK) return st_fail(ps, st, t->name, at, "unknown dtype '%.32s'", s);
    t->dtype = d;
    return INGOT_OK;
}

// Checks prod(shape) × element size against the span of data_offsets.
static ingot_status st_check_size(st_parser *ps, ingot_st_entry *e) {
    ingot_st_tensor *t = &e->t;
    uint64_t n = 1;
    for (uint32_t i = 0; i < t->n_dims; i++)
        if (!ingot_mul_u64(n, t->dims[i], &n))
            return st_fail(ps, INGOT_E_FORMAT, t->name, e->key_off, "element count of the shape overflows 64 bits");
    uint64_t bytes;
    if (!ingot_mul_u64(n, ingot_dtype_get(t->dtype)->type_size, &bytes))
        return st_fail(ps, INGOT_E_FORMAT, t->name, e->key_off, "byte size of the shape overflows 64 bits");
    if (e->end < e->begin)
        return st_fail(ps, INGOT_E_FORMAT, t->name, e->key_off, "data_offsets [%llu, %llu] end before they begin",
                       (unsigned long long)e->begin, (unsigned long long)e->end);
    if (bytes != e->end - e->begin)
        return st_fail(ps, INGOT_E_FORMAT, t->name, e->key_off,
                       "shape and dtype %s give %llu bytes but data_offsets [%llu, %llu] span %llu",
                       ingot_dtype_get(t->dtype)->st_name, (unsigned long long)bytes, (unsigned long long)e->begin,
                       (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
    t->size = bytes;
    return INGOT_OK;
}

// Field bits for the tensor object.
enum { ST_HAS_DTYPE = 1, ST_HAS_SHAPE = 2, ST_HAS_OFFSETS = 4 };

static ingot_status st_tensor_field(st_parser *ps, ingot_st_entry *e, unsigned *have) {
    st_skip_ws(ps);
    const uint64_t at = st_off(ps);
    const char *key;
    size_t n;
    // Field names are short; decode into the arena and give the bytes back.
    const size_t mark = ps->arena_used;
    INGOT_FORWARD_IF_ERROR(st_string(ps, true, e->t.name, &key, &n));
    unsigned bit = 0;
    if (n == 5 && memcmp(key, "dtype", 5) == 0) bit = ST_HAS_DTYPE;
    else if (n == 5 && memcmp(key, "shape", 5) == 0) bit = ST_HAS_SHAPE;
    else if (n == 12 && memcmp(key, "data_offsets", 12) == 0) bit = ST_HAS_OFFSETS;
    ps->arena_used = mark;
    if (bit & *have) return st_fail(ps, INGOT_E_FORMAT, e->t.name, at, "duplicate key '%s'", key);
    *have |= bit;
    INGOT_FORWARD_IF_ERROR(st_expect(ps, ':', e->t.name, "':'"));
    if (bit == ST_HAS_DTYPE) return st_dtype(ps, &e->t);
    if (bit == ST_HAS_SHAPE) return st_shape(ps, &e->t);
    if (bit == ST_HAS_OFFSETS) return st_offsets(ps, e);
    return st_skip_value(ps, e->t.name, 1); // unknown fields are ignored, as serde does
}

static ingot_status st_tensor(st_parser *ps, const char *name, uint64_t key_off) {
    ingot_st_file *f = ps->f;
    if (f->n_entries == ps->cap_entries) {
        const size_t cap = ps->cap_entries ? ps->cap_entries * 2 : 64;
        ingot_st_entry *p = ingot_realloc(f->entries, cap * sizeof *p);
        if (!p) return st_fail(ps, INGOT_E_NOMEM, name, key_off, "out of memory for %zu tensors", cap);
        f->entries = p;
        ps->cap_entries = cap;
    }
    ingot_st_entry *e = &f->entries[f->n_entries];
    memset(e, 0, sizeof *e);
    e->t.name = name;
    e->key_off = key_off;
    INGOT_FORWARD_IF_ERROR(st_expect(ps, '{', name, "'{' opening a tensor entry"));
    unsigned have = 0;
    st_skip_ws(ps);
    bool more = !(ps->pos < ps->n && ps->js[ps->pos] == '}');
    if (!more) ps->pos++;
    while (more) {
        INGOT_FORWARD_IF_ERROR(st_tensor_field(ps, e, &have));
        INGOT_FORWARD_IF_ERROR(st_next(ps, '}', name, &more));
    }
    if (have != (ST_HAS_DTYPE | ST_HAS_SHAPE | ST_HAS_OFFSETS))
        return st_fail(ps, INGOT_E_FORMAT, name, key_off, "entry lacks '%s'",
                       !(have & ST_HAS_DTYPE) ? "dtype" : !(have & ST_HAS_SHAPE) ? "shape" : "data_offsets");
    INGOT_FORWARD_IF_ERROR(st_check_size(ps, e));
    f->n_entries++;
    return INGOT_OK;
}

// ---- __metadata__ -------------------------------------------------------------

static ingot_status st_metadata(st_parser *ps, uint64_t key_off) {
    ingot_st_file *f = ps->f;
    st_skip_ws(ps);
    if (ps->pos >= ps->n || ps->js[ps->pos] != '{')
        return st_fail(ps, INGOT_E_FORMAT, NULL, st_off(ps), "__metadata__ must be an object of strings");
    ps->pos++;
    st_skip_ws(ps);
    bool more = !(ps->pos < ps->n && ps->js[ps->pos] == '}');
    if (!more) ps->pos++;
    while (more) {
        if (f->n_meta == ps->cap_meta) {
            const size_t cap = ps->cap_meta ? ps->cap_meta * 2 : 8;
            ingot_st_meta *p = ingot_realloc(f->meta, cap * sizeof *p);
            if (!p) return st_fail(ps, INGOT_E_NOMEM, NULL, key_off, "out of memory for __metadata__");
            f->meta = p;
            ps->cap_meta = cap;
        }
        ingot_st_meta *m = &f->meta[f->n_meta];
        INGOT_FORWARD_IF_ERROR(st_string(ps, true, NULL, &m->key, NULL));
        INGOT_FORWARD_IF_ERROR(st_expect(ps, ':', NULL, "':'"));
        st_skip_ws(ps);
        if (ps->pos >= ps->n || ps->js[ps->pos] != '"')
            return st_fail(ps, INGOT_E_FORMAT, NULL, st_off(ps), "__metadata__ value of '%.100s' is not a string",
                           m->key);
        INGOT_FORWARD_IF_ERROR(st_string(ps, true, NULL, &m->value, NULL));
        for (size_t i = 0; i < f->n_meta; i++) // metadata maps are small
            if (strcmp(f->meta[i].key, m->key) == 0)
                return st_fail(ps, INGOT_E_FORMAT, NULL, key_off, "duplicate key '%.100s' in __metadata__", m->key);
        f->n_meta++;
        INGOT_FORWARD_IF_ERROR(st_next(ps, '}', NULL, &more));
    }
    return INGOT_OK;
}

// ---- the top-level object -----------------------------------------------------

static ingot_status st_members(st_parser *ps) {
    INGOT_FORWARD_IF_ERROR(st_expect(ps, '{', NULL, "'{' opening the header"));
    st_skip_ws(ps);
    bool more = !(ps->pos < ps->n && ps->js[ps->pos] == '}');
    if (!more) ps->pos++;
    bool seen_meta = false;
    while (more) {
        st_skip_ws(ps);
        const uint64_t key_off = st_off(ps);
        const char *key;
        size_t n;
        INGOT_FORWARD_IF_ERROR(st_string(ps, true, NULL, &key, &n));
        INGOT_FORWARD_IF_ERROR(st_expect(ps, ':', key, "':'"));
        if (n == 12 && memcmp(key, "__metadata__", 12) == 0) {
            if (seen_meta) return st_fail(ps, INGOT_E_FORMAT, NULL, key_off, "duplicate key '__metadata__'");
            seen_meta = true;
            INGOT_FORWARD_IF_ERROR(st_metadata(ps, key_off));
        } else {
            if (strlen(key) != n)
                return st_fail(ps, INGOT_E_FORMAT, key, key_off, "tensor name contains a NUL character");
            INGOT_FORWARD_IF_ERROR(st_tensor(ps, key, key_off));
        }
        INGOT_FORWARD_IF_ERROR(st_next(ps, '}', NULL, &more));
    }
    st_skip_ws(ps); // trailing padding
    if (ps->pos != ps->n)
        return st_fail(ps, INGOT_E_FORMAT, NULL, st_off(ps), "invalid JSON: trailing bytes after the header object");
    return INGOT_OK;
}

// Duplicate tensor names through an open-addressing hash set of indices.
static ingot_status st_check_unique(st_parser *ps) {
    const ingot_st_file *f = ps->f;
    if (f->n_entries < 2) return INGOT_OK;
    size_t cap = 16;
    while (cap < f->n_entries * 2) cap *= 2;
    uint32_t *slots = ingot_calloc(cap, sizeof *slots);
    if (!slots) return st_fail(ps, INGOT_E_NOMEM, NULL, 8, "out of memory checking %zu names", f->n_entries);
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < f->n_entries && st == INGOT_OK; i++) {
        const char *name = f->entries[i].t.name;
        size_t h = (size_t)XXH3_64bits(name, strlen(name)) & (cap - 1);
        for (; slots[h]; h = (h + 1) & (cap - 1)) {
            const ingot_st_entry *o = &f->entries[slots[h] - 1];
            if (strcmp(o->t.name, name) == 0) {
                st = st_fail(ps, INGOT_E_FORMAT, name, f->entries[i].key_off, "duplicate key (first at byte %llu)",
                             (unsigned long long)o->key_off);
                break;
            }
        }
        slots[h] = (uint32_t)(i + 1);
    }
    ingot_free(slots);
    return st;
}

static int st_cmp_offsets(const void *a, const void *b) {
    const ingot_st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->t.name, y->t.name);
}

// Sorted by offsets, the tensors must tile [0, data size) exactly.
static ingot_status st_check_layout(st_parser *ps) {
    ingot_st_file *f = ps->f;
    bool sorted = true;
    for (size_t i = 1; i < f->n_entries && sorted; i++)
        sorted = st_cmp_offsets(&f->entries[i - 1], &f->entries[i]) <= 0;
    if (!sorted) qsort(f->entries, f->n_entries, sizeof *f->entries, st_cmp_offsets);
    const uint64_t data_start = 8 + f->header_len;
    const uint64_t data_size = f->file_size - data_start;
    uint64_t at = 0;
    for (size_t i = 0; i < f->n_entries; i++) {
        ingot_st_entry *e = &f->entries[i];
        if (e->begin > data_size)
            return st_fail(ps, INGOT_E_FORMAT, e->t.name, e->key_off,
                           "data_offsets [%llu, %llu] lie past the end of the %llu-byte data area",
                           (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)data_size);
        if (e->begin < at)
            return st_fail(ps, INGOT_E_FORMAT, e->t.name, e->key_off,
                           "data_offsets [%llu, %llu] overlap the previous tensor, which ends at %llu",
                           (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)at);
        if (e->begin > at)
            return st_fail(ps, INGOT_E_FORMAT, e->t.name, e->key_off,
                           "gap in the data area: data_offsets begin at %llu but the previous tensor ends at %llu",
                           (unsigned long long)e->begin, (unsigned long long)at);
        if (e->end > data_size)
            return st_fail(ps, INGOT_E_FORMAT, e->t.name, e->key_off,
                           "data_offsets [%llu, %llu] lie past the end of the %llu-byte data area",
                           (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)data_size);
        at = e->end;
        e->t.data_off = data_start + e->begin;
    }
    if (at != data_size)
        return st_fail(ps, INGOT_E_FORMAT, NULL, data_start + at,
                       "tensors cover %llu of the %llu bytes of the data area (unindexed trailing bytes)",
                       (unsigned long long)at, (unsigned long long)data_size);
    return INGOT_OK;
}

// Header length, cap and bounds; returns N in *hlen.
static ingot_status st_check_prefix(st_parser *ps, const uint8_t *buf, size_t n, uint64_t file_size,
                                    uint64_t *hlen) {
    if (n < 8 || file_size < 8)
        return st_fail(ps, INGOT_E_FORMAT, NULL, 0, "file is %llu bytes, too short for the 8-byte header length",
                       (unsigned long long)(file_size < n ? file_size : n));
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | buf[i];
    if (h > INGOT_ST_HEADER_MAX)
        return st_fail(ps, INGOT_E_LIMIT, NULL, 0, "header length %llu exceeds the limit of %llu bytes",
                       (unsigned long long)h, (unsigned long long)INGOT_ST_HEADER_MAX);
    if (h < 2)
        return st_fail(ps, INGOT_E_FORMAT, NULL, 0, "header length %llu is too small for a JSON object",
                       (unsigned long long)h);
    if (8 + h > file_size)
        return st_fail(ps, INGOT_E_FORMAT, NULL, 0, "header length %llu runs past the end of the %llu-byte file",
                       (unsigned long long)h, (unsigned long long)file_size);
    if (8 + h > n)
        return st_fail(ps, INGOT_E_ARG, NULL, 0, "only %zu bytes in memory, the header needs %llu", n,
                       (unsigned long long)(8 + h));
    const size_t bad = ingot_utf8_check(buf + 8, (size_t)h);
    if (bad != h) return st_fail(ps, INGOT_E_FORMAT, NULL, 8 + (uint64_t)bad, "header is not valid UTF-8");
    *hlen = h;
    return INGOT_OK;
}

ingot_status ingot_st_file_parse(const uint8_t *buf, size_t n, uint64_t file_size, const char *name,
                                 ingot_st_file **out, ingot_err *err) {
    INGOT_FAIL_IF(!out || (!buf && n), err, INGOT_E_ARG, "ingot_st_file_parse: bad arguments");
    *out = NULL;
    ingot_st_file *f = ingot_calloc(1, sizeof *f);
    INGOT_FAIL_IF(!f, err, INGOT_E_NOMEM, "%s: out of memory", name ? name : "safetensors");
    f->name = ingot_strdup(name ? name : "safetensors");
    if (!f->name) {
        ingot_free(f);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory", name ? name : "safetensors");
    }
    st_parser ps = {.f = f, .err = err};
    f->file_size = file_size;
    ingot_status st = st_check_prefix(&ps, buf, n, file_size, &f->header_len);
    if (st == INGOT_OK) {
        ps.js = buf + 8;
        ps.n = (size_t)f->header_len;
        f->arena = ingot_malloc(ps.n + 1);
        if (!f->arena) st = st_fail(&ps, INGOT_E_NOMEM, NULL, 8, "out of memory for a %zu-byte header", ps.n);
    }
    if (st == INGOT_OK) st = st_members(&ps);
    if (st == INGOT_OK) st = st_check_unique(&ps);
    if (st == INGOT_OK) st = st_check_layout(&ps);
    if (st != INGOT_OK) {
        ingot_st_file_free(f);
        return st;
    }
    *out = f;
    return INGOT_OK;
}

void ingot_st_file_free(ingot_st_file *f) {
    if (!f) return;
    ingot_free(f->name);
    ingot_free(f->arena);
    ingot_free(f->entries);
    ingot_free(f->meta);
    ingot_free(f);
}

size_t ingot_st_file_n_tensors(const ingot_st_file *f) { return f ? f->n_entries : 0; }

const ingot_st_tensor *ingot_st_file_tensor(const ingot_st_file *f, size_t i) {
    return f && i < f->n_entries ? &f->entries[i].t : NULL;
}

uint64_t ingot_st_file_data_start(const ingot_st_file *f) { return f ? 8 + f->header_len : 0; }

size_t ingot_st_file_n_meta(const ingot_st_file *f) { return f ? f->n_meta : 0; }

void ingot_st_file_meta(const ingot_st_file *f, size_t i, const char **key, const char **value) {
    const bool ok = f && i < f->n_meta;
    if (key) *key = ok ? f->meta[i].key : NULL;
    if (value) *value = ok ? f->meta[i].value : NULL;
}
