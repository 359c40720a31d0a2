// Building blocks of the tokenizer: growable string lists, UTF-8 helpers,
// the GPT-2 byte-level alphabet, the vocab and merge hash tables (open
// addressing, xxh3) and a thin PCRE2 wrapper.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>
#include <xxhash.h>

#include "tokenizer_internal.h"

// ---- string list --------------------------------------------------------------

void ingot_tok_strlist_reset(ingot_tok_strlist *l) {
    l->len = 0;
    l->n = 0;
}

void ingot_tok_strlist_deinit(ingot_tok_strlist *l) {
    ingot_free(l->buf);
    ingot_free(l->p);
    memset(l, 0, sizeof *l);
}

ingot_status ingot_tok_strlist_reserve(ingot_tok_strlist *l, size_t extra, ingot_err *err) {
    INGOT_FAIL_IF(extra > SIZE_MAX / 4 - l->len, err, INGOT_E_LIMIT, "tokenizer: text too large");
    if (l->buf && l->len + extra <= l->cap) return INGOT_OK; // a buffer always exists after the first call
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + extra) cap *= 2;
    char *const buf = ingot_realloc(l->buf, cap);
    INGOT_FAIL_IF(!buf, err, INGOT_E_NOMEM, "tokenizer: out of memory (%zu bytes)", cap);
    l->buf = buf;
    l->cap = cap;
    return INGOT_OK;
}

ingot_status ingot_tok_strlist_push(ingot_tok_strlist *l, const char *s, size_t n, bool first, ingot_err *err) {
    if (l->n == l->n_cap) {
        const size_t cap = l->n_cap ? l->n_cap * 2 : 64;
        ingot_tok_piece *const p = ingot_realloc(l->p, cap * sizeof *p);
        INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "tokenizer: out of memory (%zu pieces)", cap);
        l->p = p;
        l->n_cap = cap;
    }
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_reserve(l, n, err));
    if (n) memcpy(l->buf + l->len, s, n);
    l->p[l->n++] = (ingot_tok_piece){.off = l->len, .len = n, .first = first};
    l->len += n;
    return INGOT_OK;
}

ingot_status ingot_tok_strlist_append(ingot_tok_strlist *l, const char *s, size_t n, ingot_err *err) {
    if (!INGOT_ALWAYS(l->n > 0)) return ingot_err_set(err, INGOT_E_STATE, "tokenizer: append to empty list");
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_reserve(l, n, err));
    if (n) memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->p[l->n - 1].len += n;
    return INGOT_OK;
}

// ---- UTF-8 ------------------------------------------------------------------------

// Length of a valid UTF-8 sequence at s (RFC 3629: no overlongs, no
// surrogates, ≤ U+10FFFF), 0 if invalid. For from_utf8_lossy, *good receives
// how many leading bytes form a valid prefix of some sequence.
static size_t utf8_seq_len(const uint8_t *s, size_t n, size_t *good) {
    const uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    *good = 0;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    *good = 1;
    for (size_t i = 1; i < need; i++) {
        if (i >= n) return 0;
        const uint8_t lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;
        if (s[i] < lo_i || s[i] > hi_i) return 0;
        *good = i + 1;
    }
    return need;
}

size_t ingot_tok_utf8_valid_prefix(const char *s, size_t n) {
    const uint8_t *const u = (const uint8_t *)s;
    size_t i = 0, good;
    while (i < n) {
        const size_t k = utf8_seq_len(u + i, n - i, &good);
        if (!k) return i;
        i += k;
    }
    return n;
}

size_t ingot_tok_utf8_decode(const char *s, size_t n, int32_t *cp) {
    const uint8_t *const u = (const uint8_t *)s;
    if (n == 0) {
        *cp = 0;
        return 0;
    }
    if (u[0] < 0x80 || n < 2) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xe0) {
        *cp = ((u[0] & 0x1f) << 6) | (u[1] & 0x3f);
        return 2;
    }
    if (u[0] < 0xf0 || n < 4) {
        if (n < 3) {
            *cp = u[0];
            return 1;
        }
        *cp = ((u[0] & 0x0f) << 12) | ((u[1] & 0x3f) << 6) | (u[2] & 0x3f);
        return 3;
    }
    *cp = ((u[0] & 0x07) << 18) | ((u[1] & 0x3f) << 12) | ((u[2] & 0x3f) << 6) | (u[3] & 0x3f);
    return 4;
}

size_t ingot_tok_utf8_encode(int32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

ingot_status ingot_tok_utf8_append_lossy(ingot_tok_strlist *l, const uint8_t *s, size_t n, ingot_err *err) {
    static const char fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};
    size_t i = 0;
    while (i < n) {
        size_t j = i, good = 0;
        while (j < n) {
            const size_t k = utf8_seq_len(s + j, n - j, &good);
            if (!k) break;
            j += k;
        }
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(l, (const char *)s + i, j - i, err));
        if (j == n) break;
        // One U+FFFD per maximal subpart: the valid prefix of a sequence, or
        // one byte when even the lead byte is invalid.
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(l, fffd, 3, err));
        i = j + (good ? good : 1);
    }
    return INGOT_OK;
}

bool ingot_tok_is_whitespace(int32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

// ---- GPT-2 byte-level alphabet ------------------------------------------------------
// Printable bytes 33..126, 161..172, 174..255 map to themselves; the other 68
// bytes map, in increasing order, to U+0100.. U+0143 (openai/gpt-2 encoder.py
// bytes_to_unicode).

int32_t ingot_tok_byte_to_cp(uint8_t b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256 + b;
    if (b >= 127 && b <= 160) return 256 + 33 + (b - 127);
    return 256 + 33 + 34; // 173
}

int ingot_tok_cp_to_byte(int32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return cp;
    if (cp >= 256 && cp <= 288) return cp - 256;
    if (cp >= 289 && cp <= 322) return cp - 289 + 127;
    if (cp == 323) return 173;
    return -1;
}

// ---- vocab ---------------------------------------------------------------------------

ingot_status ingot_tok_vocab_init(ingot_tok_vocab *v, int32_t n_ids, ingot_err *err) {
    memset(v, 0, sizeof *v);
    const size_t n = n_ids > 0 ? (size_t)n_ids : 1;
    v->off = ingot_calloc(n, sizeof *v->off);
    v->len = ingot_malloc(n * sizeof *v->len);
    INGOT_FAIL_IF(!v->off || !v->len, err, INGOT_E_NOMEM, "tokenizer: out of memory (vocab of %zu)", n);
    for (size_t i = 0; i < n; i++) v->len[i] = INGOT_TOK_HOLE;
    v->n_ids = n_ids;
    return INGOT_OK;
}

ingot_status ingot_tok_vocab_put(ingot_tok_vocab *v, const char *s, size_t n, int32_t id, ingot_err *err) {
    if (!INGOT_ALWAYS(id >= 0 && id < v->n_ids)) return ingot_err_set(err, INGOT_E_STATE, "tokenizer: bad id");
    if (!v->buf || v->buf_len + n > v->buf_cap) { // allocated even for "": no NULL + 0 later
        size_t cap = v->buf_cap ? v->buf_cap : 4096;
        while (cap < v->buf_len + n) cap *= 2;
        char *const buf = ingot_realloc(v->buf, cap);
        INGOT_FAIL_IF(!buf, err, INGOT_E_NOMEM, "tokenizer: out of memory (vocab strings)");
        v->buf = buf;
        v->buf_cap = cap;
    }
    if (n) memcpy(v->buf + v->buf_len, s, n);
    v->off[id] = v->buf_len;
    v->len[id] = (uint32_t)n;
    v->buf_len += n;
    if (n > v->max_len) v->max_len = n;
    return INGOT_OK;
}

static size_t vocab_hash(const char *s, size_t n) { return (size_t)XXH3_64bits(s, n); }

ingot_status ingot_tok_vocab_index(ingot_tok_vocab *v, ingot_err *err) {
    size_t n_slots = 16;
    while (n_slots < (size_t)v->n_ids * 2) n_slots *= 2;
    ingot_free(v->slots);
    v->slots = ingot_malloc(n_slots * sizeof *v->slots);
    INGOT_FAIL_IF(!v->slots, err, INGOT_E_NOMEM, "tokenizer: out of memory (vocab index)");
    for (size_t i = 0; i < n_slots; i++) v->slots[i] = -1;
    v->mask = n_slots - 1;
    for (int32_t id = 0; id < v->n_ids; id++) {
        if (v->len[id] == INGOT_TOK_HOLE) continue;
        const char *const s = v->buf + v->off[id];
        if (ingot_tok_vocab_find(v, s, v->len[id]) >= 0) continue; // duplicate string: first id wins
        size_t h = vocab_hash(s, v->len[id]) & v->mask;
        while (v->slots[h] >= 0) h = (h + 1) & v->mask;
        v->slots[h] = id;
    }
    return INGOT_OK;
}

int32_t ingot_tok_vocab_find(const ingot_tok_vocab *v, const char *s, size_t n) {
    if (!v->slots) return -1;
    size_t h = vocab_hash(s, n) & v->mask;
    for (;;) {
        const int32_t id = v->slots[h];
        if (id < 0) return -1;
        if (v->len[id] == n && memcmp(v->buf + v->off[id], s, n) == 0) return id;
        h = (h + 1) & v->mask;
    }
}

void ingot_tok_vocab_deinit(ingot_tok_vocab *v) {
    ingot_free(v->buf);
    ingot_free(v->off);
    ingot_free(v->len);
    ingot_free(v->slots);
    memset(v, 0, sizeof *v);
}

// ---- merges --------------------------------------------------------------------------

ingot_status ingot_tok_merges_init(ingot_tok_merges *m, size_t n_expected, ingot_err *err) {
    size_t n_slots = 16;
    while (n_slots < n_expected * 2) n_slots *= 2;
    m->slots = ingot_malloc(n_slots * sizeof *m->slots);
    INGOT_FAIL_IF(!m->slots, err, INGOT_E_NOMEM, "tokenizer: out of memory (%zu merges)", n_expected);
    for (size_t i = 0; i < n_slots; i++) m->slots[i].key = UINT64_MAX;
    m->mask = n_slots - 1;
    m->n = 0;
    return INGOT_OK;
}

void ingot_tok_merges_deinit(ingot_tok_merges *m) {
    ingot_free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t merge_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key;
}

void ingot_tok_merges_put(ingot_tok_merges *m, int32_t a, int32_t b, uint32_t rank, int32_t id) {
    const uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t h = merge_hash(key) & m->mask;
    while (m->slots[h].key != UINT64_MAX) {
        if (m->slots[h].key == key) return;
        h = (h + 1) & m->mask;
    }
    m->slots[h] = (ingot_tok_merge_slot){.key = key, .rank = rank, .id = id};
    m->n++;
}

const ingot_tok_merge_slot *ingot_tok_merges_find(const ingot_tok_merges *m, int32_t a, int32_t b) {
    if (!m->slots) return NULL;
    const uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t h = merge_hash(key) & m->mask;
    while (m->slots[h].key != UINT64_MAX) {
        if (m->slots[h].key == key) return &m->slots[h];
        h = (h + 1) & m->mask;
    }
    return NULL;
}

// ---- regex -------------------------------------------------------------------------------
// Patterns follow Oniguruma's Ruby syntax in HF `tokenizers`; PCRE2 agrees on
// everything the known split patterns use. `^`/`$` are line anchors there, so
// PCRE2_MULTILINE is set. A match limit bounds catastrophic backtracking.

struct ingot_tok_regex {
    pcre2_code *code;
    pcre2_match_context *mctx;
    bool jit;
};

ingot_status ingot_tok_regex_compile(const char *pattern, size_t n, bool literal, ingot_tok_regex **out,
                                     ingot_err *err) {
    *out = NULL;
    ingot_tok_regex *const re = ingot_calloc(1, sizeof *re);
    INGOT_FAIL_IF(!re, err, INGOT_E_NOMEM, "tokenizer: out of memory (regex)");
    int code = 0;
    PCRE2_SIZE at = 0;
    const uint32_t opts = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
    re->code = pcre2_compile((PCRE2_SPTR)pattern, n, opts, &code, &at, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        ingot_free(re);
        return ingot_err_set(err, INGOT_E_FORMAT, "tokenizer.json: regex '%.*s' does not compile at offset %zu: %s",
                             (int)(n > 120 ? 120 : n), pattern, (size_t)at, (const char *)msg);
    }
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->mctx) {
        ingot_tok_regex_free(re);
        return ingot_err_set(err, INGOT_E_NOMEM, "tokenizer: out of memory (regex context)");
    }
    pcre2_set_match_limit(re->mctx, 10u * 1000u * 1000u);
    pcre2_set_depth_limit(re->mctx, 100u * 1000u);
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    *out = re;
    return INGOT_OK;
}

void ingot_tok_regex_free(ingot_tok_regex *re) {
    if (!re) return;
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    ingot_free(re);
}

void *ingot_tok_regex_match_data(const ingot_tok_regex *re) {
    return pcre2_match_data_create_from_pattern(re->code, NULL);
}

void ingot_tok_regex_match_data_free(void *md) {
    if (md) pcre2_match_data_free(md);
}

int ingot_tok_regex_next(const ingot_tok_regex *re, const char *s, size_t n, size_t start, void *match_data,
                         size_t *m0, size_t *m1, ingot_err *err) {
    pcre2_match_data *const md = match_data;
    // Subjects are valid UTF-8 (checked on entry and preserved by every stage).
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, md, re->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, re->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return ingot_err_set(err, rc == PCRE2_ERROR_NOMEMORY ? INGOT_E_NOMEM : INGOT_E_LIMIT,
                             "tokenizer: regex match failed at byte %zu: %s", start, (const char *)msg);
    }
    const PCRE2_SIZE *const ov = pcre2_get_ovector_pointer(md);
    *m0 = ov[0];
    *m1 = ov[1];
    if (*m1 < *m0) *m1 = *m0; // \K can produce this; treat as empty
    return 1;
}
