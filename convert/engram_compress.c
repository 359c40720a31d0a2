// Engram tokenizer compression: raw token id → compressed id, built from
// tokenizer.json exactly as the official demo's CompressedTokenizer does it
// with the Hugging Face `tokenizers` normaliser chain (docs/ENGRAM.md):
//   key(id) = raw token string        if decode([id]) contains U+FFFD
//           = decode([id])            if normalize(decode) is empty
//           = normalize(decode([id])) otherwise
// and ids are numbered by first occurrence of their key in raw-id order.
//
// normalize = NFKC, NFD, strip marks (Mn/Mc/Me), per-code-point lowercase,
// runs of space/TAB/CR/LF → one space, a lone " " protected by U+E000,
// strip White_Space on both ends, U+E000 → " ".
//
// decode([id]) follows the tokenizers ByteLevel decoder: every character of
// the token maps back to one byte through the GPT-2 byte↔unicode table (a
// token with a character outside the table contributes its own UTF-8 bytes),
// then the bytes are read as UTF-8 with invalid sequences becoming U+FFFD.
// Tokenizers without a decoder decode to the token string itself.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "ingot/common.h"
#include "ingot/engram.h"

#define SENTINEL 0xE000

// ---- code point buffers -----------------------------------------------------

typedef struct cpbuf {
    utf8proc_int32_t *v;
    size_t n, cap;
} cpbuf;

static bool cp_push(cpbuf *b, utf8proc_int32_t c) {
    if (b->n == b->cap) {
        const size_t cap = b->cap ? 2 * b->cap : 64;
        utf8proc_int32_t *v = ingot_realloc(b->v, cap * sizeof *v);
        if (!v) return false;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = c;
    return true;
}

// Decode UTF-8 s[0, n) into code points; false on invalid UTF-8 (*bad set)
// or out of memory.
static bool cp_decode(const uint8_t *s, size_t n, cpbuf *out, bool *bad) {
    *bad = false;
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t c;
        const utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) {
            *bad = true;
            return false;
        }
        if (!cp_push(out, c)) return false;
        i += (size_t)k;
    }
    return true;
}

static char *cp_encode(const cpbuf *b, size_t *out_n) {
    char *s = ingot_malloc(b->n * 4 + 1);
    if (!s) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) n += (size_t)utf8proc_encode_char(b->v[i], (utf8proc_uint8_t *)s + n);
    s[n] = 0;
    *out_n = n;
    return s;
}

// One utf8proc normalisation pass (NFKC or NFD) over a possibly NUL-holding
// string of known length.
static ingot_status nf_pass(const char *s, size_t n, utf8proc_option_t opt, char **out, size_t *out_n,
                            ingot_err *err) {
    utf8proc_uint8_t *dst = NULL;
    const utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst, opt);
    if (r < 0) {
        free(dst);
        INGOT_FAIL_IF(r == UTF8PROC_ERROR_NOMEM, err, INGOT_E_NOMEM, "engram: out of memory normalising");
        return ingot_err_set(err, INGOT_E_FORMAT, "engram: cannot normalise token text: %s", utf8proc_errmsg(r));
    }
    // utf8proc allocates with malloc: copy into ingot's allocator.
    *out = ingot_malloc((size_t)r + 1);
    if (*out) {
        memcpy(*out, dst, (size_t)r + 1);
        *out_n = (size_t)r;
    }
    free(dst);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory normalising");
    return INGOT_OK;
}

static bool is_mark(utf8proc_int32_t c) {
    const utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

static bool is_collapsible(utf8proc_int32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Unicode White_Space (Rust char::is_whitespace).
static bool is_white_space(utf8proc_int32_t c) {
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// Steps after NFKC+NFD, on code points: marks, lowercase, collapse, the
// single-space rule, strip, sentinel back to a space.
static bool post_nfd(const cpbuf *in, cpbuf *out) {
    cpbuf t = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < in->n; i++) {
        const utf8proc_int32_t c = in->v[i];
        if (is_mark(c)) continue;
        const utf8proc_int32_t lc = utf8proc_tolower(c);
        if (is_collapsible(lc)) {
            if (t.n && t.v[t.n - 1] == ' ') continue; // every ' ' in t starts a collapsed run
            ok = cp_push(&t, ' ');
        } else {
            ok = cp_push(&t, lc);
        }
    }
    if (ok && t.n == 1 && t.v[0] == ' ') t.v[0] = SENTINEL;
    size_t a = 0, b = t.n;
    while (a < b && is_white_space(t.v[a])) a++;
    while (b > a && is_white_space(t.v[b - 1])) b--;
    for (size_t i = a; ok && i < b; i++) ok = cp_push(out, t.v[i] == SENTINEL ? ' ' : t.v[i]);
    ingot_free(t.v);
    return ok;
}

ingot_status ingot_engram_normalize(const char *s, size_t n, char **out, size_t *out_n, ingot_err *err) {
    INGOT_FAIL_IF(!s || !out || !out_n, err, INGOT_E_ARG, "engram normalize: NULL argument");
    *out = NULL;
    *out_n = 0;
    char *kc = NULL, *d = NULL;
    size_t kc_n = 0, d_n = 0;
    INGOT_FORWARD_IF_ERROR(nf_pass(s, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, &kc, &kc_n, err));
    ingot_status st = nf_pass(kc, kc_n, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &d, &d_n, err);
    ingot_free(kc);
    if (st != INGOT_OK) return st;
    cpbuf cps = {0}, res = {0};
    bool bad = false;
    bool ok = cp_decode((const uint8_t *)d, d_n, &cps, &bad) && post_nfd(&cps, &res);
    ingot_free(d);
    if (ok) *out = cp_encode(&res, out_n);
    ingot_free(cps.v);
    ingot_free(res.v);
    INGOT_FAIL_IF(bad, err, INGOT_E_FORMAT, "engram: invalid UTF-8 in token text");
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory normalising");
    return INGOT_OK;
}

static bool has_fffd(const char *s, size_t n) {
    for (size_t i = 0; i + 2 < n; i++)
        if ((uint8_t)s[i] == 0xef && (uint8_t)s[i + 1] == 0xbf && (uint8_t)s[i + 2] == 0xbd) return true;
    return false;
}

static char *dup_n(const char *s, size_t n) {
    char *d = ingot_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

ingot_status ingot_engram_token_key(const char *text, size_t text_n, const char *raw, size_t raw_n, char **out,
                                    size_t *out_n, ingot_err *err) {
    INGOT_FAIL_IF(!text || !raw || !out || !out_n, err, INGOT_E_ARG, "engram token key: NULL argument");
    if (has_fffd(text, text_n)) {
        *out = dup_n(raw, raw_n);
        *out_n = raw_n;
        INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
        return INGOT_OK;
    }
    INGOT_FORWARD_IF_ERROR(ingot_engram_normalize(text, text_n, out, out_n, err));
    if (*out_n) return INGOT_OK;
    ingot_free(*out);
    *out = dup_n(text, text_n);
    *out_n = text_n;
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
    return INGOT_OK;
}

// ---- ByteLevel decode -----------------------------------------------------------

// GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the other
// 68 bytes to U+0100 + k in byte order. Inverse: code point → byte, -1 if none.
static int byte_of_cp(utf8proc_int32_t c) {
    if (c < 0 || c >= 256 + 68) return -1;
    if (c < 256) {
        const bool printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff);
        return printable ? c : -1;
    }
    const int k = c - 256; // k-th non-printable byte: 0x00-0x20, 0x7f-0xa0, 0xad
    return k < 33 ? k : k < 67 ? 0x7f + (k - 33) : 0xad;
}

// Bytes of the ByteLevel decode of one token (before the lossy UTF-8 read).
static ingot_status bytelevel_bytes(const char *tok, size_t n, char **out, size_t *out_n, ingot_err *err) {
    cpbuf cps = {0};
    bool bad = false;
    if (!cp_decode((const uint8_t *)tok, n, &cps, &bad)) {
        ingot_free(cps.v);
        INGOT_FAIL_IF(bad, err, INGOT_E_FORMAT, "tokenizer.json: token is not valid UTF-8");
        return ingot_err_set(err, INGOT_E_NOMEM, "engram: out of memory");
    }
    bool all_mapped = true;
    for (size_t i = 0; i < cps.n; i++) all_mapped = all_mapped && byte_of_cp(cps.v[i]) >= 0;
    if (!all_mapped) {
        ingot_free(cps.v);
        *out = dup_n(tok, n);
        *out_n = n;
        INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
        return INGOT_OK;
    }
    *out = ingot_malloc(cps.n + 1);
    if (*out) {
        for (size_t i = 0; i < cps.n; i++) (*out)[i] = (char)byte_of_cp(cps.v[i]);
        (*out)[cps.n] = 0;
        *out_n = cps.n;
    }
    ingot_free(cps.v);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
    return INGOT_OK;
}

// Lossy UTF-8: if the bytes are not valid UTF-8 the text holds U+FFFD; only
// that fact matters for the key, so invalid input becomes exactly "\uFFFD".
static char *lossy_text(const char *b, size_t n, size_t *out_n) {
    cpbuf cps = {0};
    bool bad = false;
    const bool ok = cp_decode((const uint8_t *)b, n, &cps, &bad);
    ingot_free(cps.v);
    if (ok) {
        *out_n = n;
        return dup_n(b, n);
    }
    if (!bad) return NULL;
    *out_n = 3;
    return dup_n("\xef\xbf\xbd", 3);
}

// ---- tokenizer.json ----------------------------------------------------------

typedef struct vocab_tab {
    const char **tok; // [V] token string (borrowed from the cJSON tree)
    bool *added;      // [V] added token (decodes to its content)
    uint64_t n;
} vocab_tab;

static ingot_status tab_set(vocab_tab *t, uint64_t id, const char *s, bool added, ingot_err *err) {
    INGOT_FAIL_IF(id >= t->n, err, INGOT_E_FORMAT, "tokenizer.json: token id %llu out of range",
                  (unsigned long long)id);
    if (t->tok[id] && !added) return INGOT_OK; // added_tokens win over the model vocabulary
    t->tok[id] = s;
    t->added[id] = t->added[id] || added;
    return INGOT_OK;
}

static bool item_id(const cJSON *v, uint64_t *id) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9 &&
           (*id = (uint64_t)v->valuedouble, (double)*id == v->valuedouble);
}

static ingot_status vocab_size(const cJSON *vocab, const cJSON *added, uint64_t *n, ingot_err *err) {
    uint64_t max_id = 0, count = 0, id;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        INGOT_FAIL_IF(!item_id(it, &id), err, INGOT_E_FORMAT, "tokenizer.json: vocab entry has a bad id");
        max_id = id > max_id ? id : max_id;
        count++;
    }
    cJSON_ArrayForEach(it, added) {
        INGOT_FAIL_IF(!item_id(cJSON_GetObjectItemCaseSensitive(it, "id"), &id), err, INGOT_E_FORMAT,
                      "tokenizer.json: added token has a bad id");
        max_id = id > max_id ? id : max_id;
        count++;
    }
    INGOT_FAIL_IF(!count, err, INGOT_E_FORMAT, "tokenizer.json: empty vocabulary");
    // Dense ids need at least max_id + 1 entries; checked before the tables
    // are sized from max_id.
    INGOT_FAIL_IF(max_id >= count, err, INGOT_E_FORMAT,
                  "tokenizer.json: id %llu with only %llu tokens (ids must be dense)", (unsigned long long)max_id,
                  (unsigned long long)count);
    *n = max_id + 1;
    return INGOT_OK;
}

static ingot_status vocab_fill(const cJSON *root, vocab_tab *t, ingot_err *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    INGOT_FAIL_IF(!cJSON_IsObject(vocab), err, INGOT_E_UNSUPPORTED,
                  "tokenizer.json: model.vocab is not a token→id map (only BPE / WordLevel vocabularies)");
    INGOT_FORWARD_IF_ERROR(vocab_size(vocab, added, &t->n, err));
    t->tok = ingot_calloc(t->n, sizeof *t->tok);
    t->added = ingot_calloc(t->n, sizeof *t->added);
    INGOT_FAIL_IF(!t->tok || !t->added, err, INGOT_E_NOMEM, "engram: out of memory");
    const cJSON *it;
    uint64_t id = 0;
    cJSON_ArrayForEach(it, vocab) {
        item_id(it, &id);
        INGOT_FORWARD_IF_ERROR(tab_set(t, id, it->string, false, err));
    }
    cJSON_ArrayForEach(it, added) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        INGOT_FAIL_IF(!cJSON_IsString(content), err, INGOT_E_FORMAT, "tokenizer.json: added token without content");
        item_id(cJSON_GetObjectItemCaseSensitive(it, "id"), &id);
        INGOT_FORWARD_IF_ERROR(tab_set(t, id, content->valuestring, true, err));
    }
    for (uint64_t i = 0; i < t->n; i++)
        INGOT_FAIL_IF(!t->tok[i], err, INGOT_E_FORMAT, "tokenizer.json: no token has id %llu (ids must be dense)",
                      (unsigned long long)i);
    return INGOT_OK;
}

// Decoder kind: 1 ByteLevel, 0 none (identity). Anything else is unsupported.
static ingot_status decoder_kind(const cJSON *root, int *kind, ingot_err *err) {
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    *kind = 0;
    if (!dec || cJSON_IsNull(dec)) return INGOT_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(dec, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "ByteLevel")) {
        *kind = 1;
        return INGOT_OK;
    }
    return ingot_err_set(err, INGOT_E_UNSUPPORTED, "tokenizer.json: decoder '%s' is not supported for Engram "
                         "compression (ByteLevel or none)", cJSON_IsString(type) ? type->valuestring : "?");
}

// ---- key dictionary (open addressing, FNV-1a) ----------------------------------

typedef struct key_dict {
    char **key;      // [cap] owned, NULL when empty
    size_t *len;     // [cap]
    int32_t *id;     // [cap]
    size_t cap, n;
} key_dict;

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

// Id of key (taking ownership of it); a new key gets the next id.
static int32_t dict_intern(key_dict *d, char *key, size_t n) {
    size_t i = (size_t)fnv1a(key, n) & (d->cap - 1);
    while (d->key[i]) {
        if (d->len[i] == n && !memcmp(d->key[i], key, n)) {
            ingot_free(key);
            return d->id[i];
        }
        i = (i + 1) & (d->cap - 1);
    }
    d->key[i] = key;
    d->len[i] = n;
    d->id[i] = (int32_t)d->n++;
    return d->id[i];
}

static void dict_free(key_dict *d) {
    for (size_t i = 0; d->key && i < d->cap; i++) ingot_free(d->key[i]);
    ingot_free(d->key);
    ingot_free(d->len);
    ingot_free(d->id);
}

static ingot_status token_text(const vocab_tab *t, uint64_t id, int kind, char **out, size_t *out_n,
                               ingot_err *err) {
    const char *tok = t->tok[id];
    const size_t n = strlen(tok);
    if (kind == 0) {
        *out = dup_n(tok, n);
        *out_n = n;
        INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
        return INGOT_OK;
    }
    char *bytes = NULL;
    size_t nb = 0;
    INGOT_FORWARD_IF_ERROR(bytelevel_bytes(tok, n, &bytes, &nb, err));
    *out = lossy_text(bytes, nb, out_n);
    ingot_free(bytes);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory");
    return INGOT_OK;
}

static ingot_status build_lookup(const vocab_tab *t, int kind, key_dict *d, int32_t *lookup, ingot_err *err) {
    for (uint64_t id = 0; id < t->n; id++) {
        char *text = NULL, *key = NULL;
        size_t text_n = 0, key_n = 0;
        INGOT_FORWARD_IF_ERROR(token_text(t, id, kind, &text, &text_n, err));
        const ingot_status st = ingot_engram_token_key(text, text_n, t->tok[id], strlen(t->tok[id]), &key, &key_n, err);
        ingot_free(text);
        if (st != INGOT_OK) {
            ingot_err_prefix(err, "tokenizer.json: token %llu", (unsigned long long)id);
            return st;
        }
        lookup[id] = dict_intern(d, key, key_n);
    }
    return INGOT_OK;
}

ingot_status ingot_engram_compress_build(const char *json, size_t n, int32_t **lookup, uint64_t *vocab,
                                         uint64_t *compressed_vocab, ingot_err *err) {
    INGOT_FAIL_IF(!json || !lookup || !vocab || !compressed_vocab, err, INGOT_E_ARG, "engram: NULL argument");
    *lookup = NULL;
    *vocab = *compressed_vocab = 0;
    cJSON *root = cJSON_ParseWithLength(json, n);
    INGOT_FAIL_IF(!root, err, INGOT_E_FORMAT, "tokenizer.json: not valid JSON");
    vocab_tab t = {0};
    key_dict d = {0};
    int32_t *lk = NULL;
    int kind = 0;
    ingot_status st = decoder_kind(root, &kind, err);
    if (st == INGOT_OK) st = vocab_fill(root, &t, err);
    if (st == INGOT_OK) {
        d.cap = 64;
        while (d.cap < 2 * t.n) d.cap *= 2;
        d.key = ingot_calloc(d.cap, sizeof *d.key);
        d.len = ingot_calloc(d.cap, sizeof *d.len);
        d.id = ingot_calloc(d.cap, sizeof *d.id);
        lk = ingot_malloc(t.n * sizeof *lk);
        st = d.key && d.len && d.id && lk ? INGOT_OK : ingot_err_set(err, INGOT_E_NOMEM, "engram: out of memory");
    }
    if (st == INGOT_OK) st = build_lookup(&t, kind, &d, lk, err);
    if (st == INGOT_OK) {
        *lookup = lk;
        *vocab = t.n;
        *compressed_vocab = d.n;
        lk = NULL;
    }
    ingot_free(lk);
    dict_free(&d);
    ingot_free(t.tok);
    ingot_free(t.added);
    cJSON_Delete(root);
    return st;
}
