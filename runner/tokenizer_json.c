// tokenizer.json → ingot_tokenizer. One function per section: model (vocab,
// merges and options per model type), added_tokens, normalizer,
// pre_tokenizer, decoder, post_processor. The file is untrusted: every field
// is type-checked, ids and lengths are bounded, strings must be valid UTF-8,
// and nested Sequences are limited in depth. Field names and defaults follow
// the serde definitions of HF `tokenizers` 0.15–0.22.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

#define J_ERR(err, code, ...) ingot_err_set((err), (code), "tokenizer.json: " __VA_ARGS__)

// GPT-2 / ByteLevel(use_regex) split pattern (openai/gpt-2 encoder.py).
const char ingot_tok_gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// ---- typed field access -------------------------------------------------------------------

static const cJSON *j_get(const cJSON *obj, const char *key) {
    const cJSON *const v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static ingot_status j_bool(const cJSON *obj, const char *key, bool dflt, bool *out, ingot_err *err) {
    const cJSON *const v = j_get(obj, key);
    *out = dflt;
    if (!v) return INGOT_OK;
    if (!cJSON_IsBool(v)) return J_ERR(err, INGOT_E_FORMAT, "'%s' must be a boolean", key);
    *out = cJSON_IsTrue(v);
    return INGOT_OK;
}

static ingot_status j_int(const cJSON *v, const char *what, int64_t lo, int64_t hi, int64_t *out, ingot_err *err) {
    *out = 0; // zeroed on failure
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return J_ERR(err, INGOT_E_FORMAT, "%s must be an integer in [%lld, %lld]", what, (long long)lo, (long long)hi);
    *out = (int64_t)v->valuedouble;
    return INGOT_OK;
}

static ingot_status j_id(const cJSON *v, const char *what, int32_t *out, ingot_err *err) {
    int64_t x = 0;
    *out = 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= INGOT_TOKENIZER_MAX_VOCAB)
        return J_ERR(err, INGOT_E_LIMIT, "%s %.0f is over the limit of %u ids", what, v->valuedouble,
                     INGOT_TOKENIZER_MAX_VOCAB);
    INGOT_FORWARD_IF_ERROR(j_int(v, what, 0, INGOT_TOKENIZER_MAX_VOCAB - 1, &x, err));
    *out = (int32_t)x;
    return INGOT_OK;
}

// A string value: must be valid UTF-8 and within the piece limit.
static ingot_status j_str(const cJSON *v, const char *what, const char **s, size_t *n, ingot_err *err) {
    *s = NULL; // left empty on failure
    *n = 0;
    if (!cJSON_IsString(v) || !v->valuestring) return J_ERR(err, INGOT_E_FORMAT, "%s must be a string", what);
    const size_t len = strlen(v->valuestring);
    if (len > INGOT_TOKENIZER_MAX_PIECE_BYTES)
        return J_ERR(err, INGOT_E_LIMIT, "%s is %zu bytes, over the limit of %u", what, len,
                     INGOT_TOKENIZER_MAX_PIECE_BYTES);
    if (ingot_tok_utf8_valid_prefix(v->valuestring, len) != len)
        return J_ERR(err, INGOT_E_FORMAT, "%s is not valid UTF-8", what);
    *s = v->valuestring;
    *n = len;
    return INGOT_OK;
}

static ingot_status j_str_field(const cJSON *obj, const char *key, const char *dflt, const char **s, size_t *n,
                                ingot_err *err) {
    const cJSON *const v = j_get(obj, key);
    if (!v) {
        *s = dflt;
        *n = dflt ? strlen(dflt) : 0;
        return INGOT_OK;
    }
    return j_str(v, key, s, n, err);
}

static ingot_status dup_str(const char *s, size_t n, char **out, size_t *n_out, ingot_err *err) {
    *out = ingot_malloc(n + 1);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "tokenizer: out of memory");
    memcpy(*out, s, n);
    (*out)[n] = 0;
    if (n_out) *n_out = n;
    return INGOT_OK;
}

static const char *j_type(const cJSON *obj) {
    const cJSON *const t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) && t->valuestring ? t->valuestring : "";
}

// {"String": s} or {"Regex": r} → compiled pattern.
static ingot_status j_pattern(const cJSON *obj, ingot_tok_regex **re, ingot_err *err) {
    const cJSON *const p = j_get(obj, "pattern");
    if (!cJSON_IsObject(p)) return J_ERR(err, INGOT_E_FORMAT, "'pattern' must be an object with String or Regex");
    const cJSON *const lit = j_get(p, "String"), *const rx = j_get(p, "Regex");
    const char *s;
    size_t n;
    if (!lit && !rx) return J_ERR(err, INGOT_E_FORMAT, "'pattern' needs a String or Regex member");
    INGOT_FORWARD_IF_ERROR(j_str(lit ? lit : rx, "pattern", &s, &n, err));
    return ingot_tok_regex_compile(s, n, lit != NULL, re, err);
}

static ingot_status j_behavior(const cJSON *obj, ingot_tok_split_behavior dflt, ingot_tok_split_behavior *out,
                               ingot_err *err) {
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const cJSON *const v = j_get(obj, "behavior");
    *out = dflt;
    if (!v) return INGOT_OK;
    if (!cJSON_IsString(v)) return J_ERR(err, INGOT_E_FORMAT, "'behavior' must be a string");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = (ingot_tok_split_behavior)i;
            return INGOT_OK;
        }
    return J_ERR(err, INGOT_E_UNSUPPORTED, "split behavior '%.40s' is not supported", v->valuestring);
}

// Metaspace replacement + prepend scheme (new "prepend_scheme" or legacy
// "add_prefix_space").
static ingot_status j_metaspace(const cJSON *obj, char rep[8], size_t *rep_len, ingot_tok_prepend *prepend,
                                ingot_err *err) {
    const char *s;
    size_t n;
    INGOT_FORWARD_IF_ERROR(j_str_field(obj, "replacement", "\xe2\x96\x81", &s, &n, err));
    if (n == 0 || n > 4) return J_ERR(err, INGOT_E_FORMAT, "Metaspace replacement must be one character");
    memcpy(rep, s, n);
    *rep_len = n;
    const cJSON *const scheme = j_get(obj, "prepend_scheme");
    if (scheme) {
        if (!cJSON_IsString(scheme)) return J_ERR(err, INGOT_E_FORMAT, "'prepend_scheme' must be a string");
        if (strcmp(scheme->valuestring, "always") == 0) *prepend = INGOT_TOK_PREPEND_ALWAYS;
        else if (strcmp(scheme->valuestring, "first") == 0) *prepend = INGOT_TOK_PREPEND_FIRST;
        else if (strcmp(scheme->valuestring, "never") == 0) *prepend = INGOT_TOK_PREPEND_NEVER;
        else return J_ERR(err, INGOT_E_FORMAT, "unknown prepend_scheme '%.40s'", scheme->valuestring);
        return INGOT_OK;
    }
    bool add = true;
    INGOT_FORWARD_IF_ERROR(j_bool(obj, "add_prefix_space", true, &add, err));
    *prepend = add ? INGOT_TOK_PREPEND_ALWAYS : INGOT_TOK_PREPEND_NEVER;
    return INGOT_OK;
}

// ---- model ------------------------------------------------------------------------------------

static ingot_status model_type(const cJSON *m, ingot_tokenizer_model *out, ingot_err *err) {
    static const char *const names[] = {"BPE", "WordLevel", "WordPiece", "Unigram"};
    const cJSON *const t = j_get(m, "type");
    if (!t) { // untagged, as serde accepts: infer from the fields
        const cJSON *const vocab = j_get(m, "vocab");
        *out = cJSON_IsArray(vocab)                    ? INGOT_TOKENIZER_MODEL_UNIGRAM
               : j_get(m, "merges")                    ? INGOT_TOKENIZER_MODEL_BPE
               : j_get(m, "max_input_chars_per_word") ? INGOT_TOKENIZER_MODEL_WORDPIECE
                                                       : INGOT_TOKENIZER_MODEL_WORDLEVEL;
        return INGOT_OK;
    }
    if (!cJSON_IsString(t)) return J_ERR(err, INGOT_E_FORMAT, "model 'type' must be a string");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(t->valuestring, names[i]) == 0) {
            *out = (ingot_tokenizer_model)i;
            return INGOT_OK;
        }
    return J_ERR(err, INGOT_E_UNSUPPORTED, "model type '%.40s' is not supported (BPE, WordLevel, WordPiece, Unigram)",
                 t->valuestring);
}

// Largest id used by the vocab (object: values; Unigram array: length - 1).
static ingot_status vocab_max_id(const cJSON *vocab, bool unigram, int32_t *max_id, ingot_err *err) {
    *max_id = -1;
    if (unigram) {
        if (!cJSON_IsArray(vocab)) return J_ERR(err, INGOT_E_FORMAT, "Unigram 'vocab' must be an array");
        const int n = cJSON_GetArraySize(vocab);
        if ((unsigned)n > INGOT_TOKENIZER_MAX_VOCAB)
            return J_ERR(err, INGOT_E_LIMIT, "vocab of %d entries is over the limit of %u", n, INGOT_TOKENIZER_MAX_VOCAB);
        *max_id = n - 1;
        return INGOT_OK;
    }
    if (!cJSON_IsObject(vocab)) return J_ERR(err, INGOT_E_FORMAT, "model 'vocab' must be an object");
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id;
        INGOT_FORWARD_IF_ERROR(j_id(e, "vocab id", &id, err));
        if (id > *max_id) *max_id = id;
    }
    return INGOT_OK;
}

static ingot_status vocab_fill(ingot_tokenizer *tok, const cJSON *vocab, ingot_err *err) {
    const bool unigram = tok->model == INGOT_TOKENIZER_MODEL_UNIGRAM;
    if (unigram) {
        tok->scores = ingot_calloc((size_t)tok->n_vocab + 1, sizeof *tok->scores);
        INGOT_FAIL_IF(!tok->scores, err, INGOT_E_NOMEM, "tokenizer: out of memory (scores)");
    }
    int32_t i = 0;
    double min_score = INFINITY;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        const char *s;
        size_t n;
        int32_t id = i++;
        if (unigram) {
            const cJSON *const piece = cJSON_GetArrayItem(e, 0), *const score = cJSON_GetArrayItem(e, 1);
            if (!cJSON_IsArray(e) || !cJSON_IsNumber(score) || !isfinite(score->valuedouble))
                return J_ERR(err, INGOT_E_FORMAT, "Unigram vocab entry %d must be [piece, score]", id);
            INGOT_FORWARD_IF_ERROR(j_str(piece, "Unigram piece", &s, &n, err));
            tok->scores[id] = score->valuedouble;
            if (score->valuedouble < min_score) min_score = score->valuedouble;
        } else {
            INGOT_FORWARD_IF_ERROR(j_id(e, "vocab id", &id, err));
            if (!e->string) return J_ERR(err, INGOT_E_FORMAT, "vocab key missing");
            n = strlen(e->string);
            s = e->string;
            if (n > INGOT_TOKENIZER_MAX_PIECE_BYTES || ingot_tok_utf8_valid_prefix(s, n) != n)
                return J_ERR(err, INGOT_E_FORMAT, "vocab entry %d is too long or not valid UTF-8", id);
        }
        INGOT_FORWARD_IF_ERROR(ingot_tok_vocab_put(&tok->vocab, s, n, id, err));
    }
    tok->unk_score = (isfinite(min_score) ? min_score : 0.0) - 10.0;
    return ingot_tok_vocab_index(&tok->vocab, err);
}

static ingot_status unk_from_token(ingot_tokenizer *tok, const cJSON *m, ingot_err *err) {
    const char *s;
    size_t n;
    INGOT_FORWARD_IF_ERROR(j_str_field(m, "unk_token", NULL, &s, &n, err));
    tok->unk_id = s ? ingot_tok_vocab_find(&tok->vocab, s, n) : -1;
    return INGOT_OK;
}

// One merge: "a b" or ["a", "b"] → (id a, id b) → id of a + b (b without the
// continuing-subword prefix).
static ingot_status merge_one(ingot_tokenizer *tok, const cJSON *e, uint32_t rank, char *buf, ingot_err *err) {
    const char *a, *b;
    size_t na, nb;
    if (cJSON_IsArray(e)) {
        if (cJSON_GetArraySize(e) != 2) return J_ERR(err, INGOT_E_FORMAT, "merge %u must have two parts", rank);
        INGOT_FORWARD_IF_ERROR(j_str(cJSON_GetArrayItem(e, 0), "merge part", &a, &na, err));
        INGOT_FORWARD_IF_ERROR(j_str(cJSON_GetArrayItem(e, 1), "merge part", &b, &nb, err));
    } else {
        size_t n;
        INGOT_FORWARD_IF_ERROR(j_str(e, "merge", &a, &n, err));
        const char *const sp = memchr(a, ' ', n);
        if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - a)))
            return J_ERR(err, INGOT_E_FORMAT, "merge %u '%.60s' is not two space-separated tokens", rank, a);
        na = (size_t)(sp - a);
        b = sp + 1;
        nb = n - na - 1;
    }
    const int32_t ia = ingot_tok_vocab_find(&tok->vocab, a, na), ib = ingot_tok_vocab_find(&tok->vocab, b, nb);
    if (ia < 0 || ib < 0)
        return J_ERR(err, INGOT_E_FORMAT, "merge %u: token '%.*s' is not in the vocab", rank,
                     (int)((ia < 0 ? na : nb) > 60 ? 60 : (ia < 0 ? na : nb)), ia < 0 ? a : b);
    const size_t skip = tok->subword_prefix_len <= nb ? tok->subword_prefix_len : nb;
    memcpy(buf, a, na);
    memcpy(buf + na, b + skip, nb - skip);
    const int32_t id = ingot_tok_vocab_find(&tok->vocab, buf, na + nb - skip);
    if (id < 0)
        return J_ERR(err, INGOT_E_FORMAT, "merge %u: result '%.*s' is not in the vocab", rank,
                     (int)(na + nb - skip > 60 ? 60 : na + nb - skip), buf);
    ingot_tok_merges_put(&tok->merges, ia, ib, rank, id);
    return INGOT_OK;
}

static ingot_status parse_merges(ingot_tokenizer *tok, const cJSON *m, ingot_err *err) {
    const cJSON *const merges = j_get(m, "merges");
    if (merges && !cJSON_IsArray(merges)) return J_ERR(err, INGOT_E_FORMAT, "'merges' must be an array");
    const int n = merges ? cJSON_GetArraySize(merges) : 0;
    INGOT_FORWARD_IF_ERROR(ingot_tok_merges_init(&tok->merges, (size_t)n, err));
    char *const buf = ingot_malloc(2 * INGOT_TOKENIZER_MAX_PIECE_BYTES + 1);
    INGOT_FAIL_IF(!buf, err, INGOT_E_NOMEM, "tokenizer: out of memory");
    ingot_status st = INGOT_OK;
    uint32_t rank = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, merges) {
        st = merge_one(tok, e, rank++, buf, err);
        if (st) break;
    }
    ingot_free(buf);
    return st;
}

static ingot_status parse_model_options(ingot_tokenizer *tok, const cJSON *m, ingot_err *err) {
    const char *s;
    size_t n;
    int64_t x;
    switch (tok->model) {
    case INGOT_TOKENIZER_MODEL_BPE:
        INGOT_FORWARD_IF_ERROR(unk_from_token(tok, m, err));
        INGOT_FORWARD_IF_ERROR(j_bool(m, "byte_fallback", false, &tok->byte_fallback, err));
        INGOT_FORWARD_IF_ERROR(j_bool(m, "ignore_merges", false, &tok->ignore_merges, err));
        INGOT_FORWARD_IF_ERROR(j_bool(m, "fuse_unk", false, &tok->fuse_unk, err));
        INGOT_FORWARD_IF_ERROR(j_str_field(m, "continuing_subword_prefix", NULL, &s, &n, err));
        if (s && n) INGOT_FORWARD_IF_ERROR(dup_str(s, n, &tok->subword_prefix, &tok->subword_prefix_len, err));
        INGOT_FORWARD_IF_ERROR(j_str_field(m, "end_of_word_suffix", NULL, &s, &n, err));
        if (s && n) INGOT_FORWARD_IF_ERROR(dup_str(s, n, &tok->word_suffix, &tok->word_suffix_len, err));
        return parse_merges(tok, m, err);
    case INGOT_TOKENIZER_MODEL_WORDLEVEL:
        return unk_from_token(tok, m, err);
    case INGOT_TOKENIZER_MODEL_WORDPIECE:
        INGOT_FORWARD_IF_ERROR(unk_from_token(tok, m, err));
        INGOT_FORWARD_IF_ERROR(j_str_field(m, "continuing_subword_prefix", "##", &s, &n, err));
        INGOT_FORWARD_IF_ERROR(dup_str(s, n, &tok->subword_prefix, &tok->subword_prefix_len, err));
        tok->max_input_chars = 100;
        if (j_get(m, "max_input_chars_per_word")) {
            INGOT_FORWARD_IF_ERROR(j_int(j_get(m, "max_input_chars_per_word"), "max_input_chars_per_word", 0,
                                         INT32_MAX, &x, err));
            tok->max_input_chars = (size_t)x;
        }
        return INGOT_OK;
    case INGOT_TOKENIZER_MODEL_UNIGRAM:
        tok->unk_id = -1;
        tok->fuse_unk = true;
        if (j_get(m, "unk_id")) {
            INGOT_FORWARD_IF_ERROR(j_id(j_get(m, "unk_id"), "unk_id", &tok->unk_id, err));
            if (tok->unk_id >= tok->vocab.n_ids) return J_ERR(err, INGOT_E_FORMAT, "unk_id is outside the vocab");
        }
        return j_bool(m, "byte_fallback", false, &tok->byte_fallback, err);
    default:
        return J_ERR(err, INGOT_E_STATE, "no model");
    }
}

static ingot_status parse_model(ingot_tokenizer *tok, const cJSON *root, int32_t max_added_id, ingot_err *err) {
    const cJSON *const m = j_get(root, "model");
    if (!cJSON_IsObject(m)) return J_ERR(err, INGOT_E_FORMAT, "'model' must be an object");
    INGOT_FORWARD_IF_ERROR(model_type(m, &tok->model, err));
    const cJSON *const vocab = j_get(m, "vocab");
    if (!vocab) return J_ERR(err, INGOT_E_FORMAT, "model has no 'vocab'");
    int32_t max_id;
    INGOT_FORWARD_IF_ERROR(vocab_max_id(vocab, tok->model == INGOT_TOKENIZER_MODEL_UNIGRAM, &max_id, err));
    tok->n_vocab = (max_id > max_added_id ? max_id : max_added_id) + 1;
    INGOT_FORWARD_IF_ERROR(ingot_tok_vocab_init(&tok->vocab, max_id + 1, err));
    INGOT_FORWARD_IF_ERROR(vocab_fill(tok, vocab, err));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        tok->byte_ids[b] = ingot_tok_vocab_find(&tok->vocab, name, 6);
    }
    return parse_model_options(tok, m, err);
}

// ---- added tokens -------------------------------------------------------------------------------

static ingot_status added_max_id(const cJSON *root, int32_t *max_id, ingot_err *err) {
    const cJSON *const arr = j_get(root, "added_tokens");
    *max_id = -1;
    if (!arr) return INGOT_OK;
    if (!cJSON_IsArray(arr)) return J_ERR(err, INGOT_E_FORMAT, "'added_tokens' must be an array");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        int32_t id;
        INGOT_FORWARD_IF_ERROR(j_id(j_get(e, "id"), "added token id", &id, err));
        if (id > *max_id) *max_id = id;
    }
    return INGOT_OK;
}

static ingot_status parse_added_one(const cJSON *e, ingot_tok_added *a, ingot_err *err) {
    const char *s;
    size_t n;
    INGOT_FORWARD_IF_ERROR(j_id(j_get(e, "id"), "added token id", &a->id, err));
    INGOT_FORWARD_IF_ERROR(j_str(j_get(e, "content"), "added token content", &s, &n, err));
    if (n == 0) return J_ERR(err, INGOT_E_FORMAT, "added token %d has empty content", a->id);
    INGOT_FORWARD_IF_ERROR(dup_str(s, n, &a->content, &a->len, err));
    INGOT_FORWARD_IF_ERROR(j_bool(e, "special", false, &a->special, err));
    INGOT_FORWARD_IF_ERROR(j_bool(e, "lstrip", false, &a->lstrip, err));
    INGOT_FORWARD_IF_ERROR(j_bool(e, "rstrip", false, &a->rstrip, err));
    INGOT_FORWARD_IF_ERROR(j_bool(e, "single_word", false, &a->single_word, err));
    return j_bool(e, "normalized", !a->special, &a->normalized, err);
}

typedef struct added_key {
    uint8_t first;
    size_t len;
    int32_t id;
    uint32_t idx;
} added_key;

static int added_cmp(const void *x, const void *y) {
    const added_key *const a = x, *const b = y;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

// Index for matching: order by first byte, longest first (leftmost-longest).
static ingot_status added_index(ingot_tokenizer *tok, ingot_err *err) {
    const size_t n = tok->n_added, nv = (size_t)tok->n_vocab;
    tok->added_order = ingot_malloc((n ? n : 1) * sizeof *tok->added_order);
    tok->added_kind = ingot_calloc(nv ? nv : 1, 1);
    tok->added_of_id = ingot_calloc(nv ? nv : 1, sizeof *tok->added_of_id);
    INGOT_FAIL_IF(!tok->added_order || !tok->added_kind || !tok->added_of_id, err, INGOT_E_NOMEM,
                  "tokenizer: out of memory (added tokens)");
    for (size_t i = 0; i < n; i++) {
        tok->added_order[i] = (uint32_t)i;
        const ingot_tok_added *const a = &tok->added[i];
        tok->added_kind[a->id] = a->special ? 2 : 1;
        tok->added_of_id[a->id] = (uint32_t)i;
        if (a->len > tok->max_piece_len) tok->max_piece_len = a->len;
    }
    added_key *const keys = ingot_malloc((n ? n : 1) * sizeof *keys);
    INGOT_FAIL_IF(!keys, err, INGOT_E_NOMEM, "tokenizer: out of memory (added tokens)");
    for (size_t i = 0; i < n; i++)
        keys[i] = (added_key){(uint8_t)tok->added[i].content[0], tok->added[i].len, tok->added[i].id, (uint32_t)i};
    if (n > 1) qsort(keys, n, sizeof *keys, added_cmp);
    for (size_t i = 0; i < n; i++) tok->added_order[i] = keys[i].idx;
    ingot_free(keys);
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        tok->added_first[b] = (uint32_t)k;
        while (k < n && (uint8_t)tok->added[tok->added_order[k]].content[0] == b) k++;
    }
    tok->added_first[256] = (uint32_t)n;
    return INGOT_OK;
}

static ingot_status parse_added(ingot_tokenizer *tok, const cJSON *root, ingot_err *err) {
    const cJSON *const arr = j_get(root, "added_tokens");
    const int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n > 0) {
        tok->added = ingot_calloc((size_t)n, sizeof *tok->added);
        INGOT_FAIL_IF(!tok->added, err, INGOT_E_NOMEM, "tokenizer: out of memory (added tokens)");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) { // counted first, so a half-parsed entry is freed too
        ingot_tok_added *const a = &tok->added[tok->n_added++];
        INGOT_FORWARD_IF_ERROR(parse_added_one(e, a, err));
    }
    return added_index(tok, err);
}

// ---- normalizer -------------------------------------------------------------------------------

static ingot_status norm_add(ingot_tokenizer *tok, ingot_tok_norm **out, ingot_err *err) {
    if (tok->n_norms == INGOT_TOK_MAX_STAGES)
        return J_ERR(err, INGOT_E_LIMIT, "more than %d normalizers", INGOT_TOK_MAX_STAGES);
    *out = &tok->norms[tok->n_norms++];
    return INGOT_OK;
}

static ingot_status parse_norm(ingot_tokenizer *tok, const cJSON *nj, int depth, ingot_err *err);

static ingot_status parse_norm_seq(ingot_tokenizer *tok, const cJSON *nj, int depth, ingot_err *err) {
    const cJSON *const list = j_get(nj, "normalizers");
    if (!cJSON_IsArray(list)) return J_ERR(err, INGOT_E_FORMAT, "normalizer Sequence needs 'normalizers' array");
    const cJSON *e;
    cJSON_ArrayForEach(e, list) INGOT_FORWARD_IF_ERROR(parse_norm(tok, e, depth + 1, err));
    return INGOT_OK;
}

static ingot_status parse_norm_bert(ingot_tok_norm *nm, const cJSON *nj, ingot_err *err) {
    nm->kind = INGOT_TOK_NORM_BERT;
    INGOT_FORWARD_IF_ERROR(j_bool(nj, "clean_text", true, &nm->clean_text, err));
    INGOT_FORWARD_IF_ERROR(j_bool(nj, "handle_chinese_chars", true, &nm->chinese_chars, err));
    INGOT_FORWARD_IF_ERROR(j_bool(nj, "lowercase", true, &nm->lowercase, err));
    return j_bool(nj, "strip_accents", nm->lowercase, &nm->strip_accents, err); // null follows lowercase
}

static ingot_status parse_norm(ingot_tokenizer *tok, const cJSON *nj, int depth, ingot_err *err) {
    static const struct { const char *name; ingot_tok_norm_kind kind; } simple[] = {
        {"NFC", INGOT_TOK_NORM_NFC},           {"NFD", INGOT_TOK_NORM_NFD},
        {"NFKC", INGOT_TOK_NORM_NFKC},         {"NFKD", INGOT_TOK_NORM_NFKD},
        {"Lowercase", INGOT_TOK_NORM_LOWERCASE}, {"StripAccents", INGOT_TOK_NORM_STRIP_ACCENTS},
    };
    if (depth > INGOT_TOKENIZER_MAX_DEPTH) return J_ERR(err, INGOT_E_LIMIT, "normalizers nested too deeply");
    if (!nj) return INGOT_OK;
    if (!cJSON_IsObject(nj)) return J_ERR(err, INGOT_E_FORMAT, "normalizer must be an object");
    const char *const type = j_type(nj);
    if (strcmp(type, "Sequence") == 0) return parse_norm_seq(tok, nj, depth, err);
    ingot_tok_norm *nm = NULL;
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (strcmp(type, simple[i].name) == 0) {
            INGOT_FORWARD_IF_ERROR(norm_add(tok, &nm, err));
            nm->kind = simple[i].kind;
            return INGOT_OK;
        }
    const char *s;
    size_t n;
    if (strcmp(type, "Strip") == 0) {
        INGOT_FORWARD_IF_ERROR(norm_add(tok, &nm, err));
        nm->kind = INGOT_TOK_NORM_STRIP;
        INGOT_FORWARD_IF_ERROR(j_bool(nj, "strip_left", true, &nm->left, err));
        return j_bool(nj, "strip_right", true, &nm->right, err);
    }
    if (strcmp(type, "Replace") == 0) {
        INGOT_FORWARD_IF_ERROR(norm_add(tok, &nm, err));
        nm->kind = INGOT_TOK_NORM_REPLACE;
        INGOT_FORWARD_IF_ERROR(j_pattern(nj, &nm->re, err));
        INGOT_FORWARD_IF_ERROR(j_str(j_get(nj, "content"), "Replace content", &s, &n, err));
        return dup_str(s, n, &nm->content, &nm->content_len, err);
    }
    if (strcmp(type, "Prepend") == 0) {
        INGOT_FORWARD_IF_ERROR(norm_add(tok, &nm, err));
        nm->kind = INGOT_TOK_NORM_PREPEND;
        INGOT_FORWARD_IF_ERROR(j_str(j_get(nj, "prepend"), "Prepend prepend", &s, &n, err));
        return dup_str(s, n, &nm->content, &nm->content_len, err);
    }
    if (strcmp(type, "BertNormalizer") == 0) {
        INGOT_FORWARD_IF_ERROR(norm_add(tok, &nm, err));
        return parse_norm_bert(nm, nj, err);
    }
    return J_ERR(err, INGOT_E_UNSUPPORTED, "normalizer type '%.40s' is not supported", type);
}

// ---- pre-tokenizer ---------------------------------------------------------------------------

static ingot_status pretok_add(ingot_tokenizer *tok, ingot_tok_pretok **out, ingot_err *err) {
    if (tok->n_pretoks == INGOT_TOK_MAX_STAGES)
        return J_ERR(err, INGOT_E_LIMIT, "more than %d pre-tokenizers", INGOT_TOK_MAX_STAGES);
    *out = &tok->pretoks[tok->n_pretoks++];
    return INGOT_OK;
}

// A splitting pre-tokenizer from a fixed pattern.
static ingot_status pretok_fixed(ingot_tokenizer *tok, const char *pattern, ingot_tok_split_behavior behavior,
                                 bool invert, ingot_err *err) {
    ingot_tok_pretok *pt = NULL;
    INGOT_FORWARD_IF_ERROR(pretok_add(tok, &pt, err));
    pt->kind = INGOT_TOK_PRETOK_SPLIT;
    pt->behavior = behavior;
    pt->invert = invert;
    return ingot_tok_regex_compile(pattern, strlen(pattern), false, &pt->re, err);
}

// Rust char::is_whitespace and HF's BERT punctuation (ASCII punctuation or
// Unicode P*).
#define WS_CLASS "[\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
#define PUNCT_CLASS "[\\p{P}!-/:-@\\[-`{-~]"

static ingot_status parse_pretok(ingot_tokenizer *tok, const cJSON *pj, int depth, ingot_err *err);

static ingot_status parse_pretok_split(ingot_tokenizer *tok, const cJSON *pj, ingot_err *err) {
    ingot_tok_pretok *pt = NULL;
    INGOT_FORWARD_IF_ERROR(pretok_add(tok, &pt, err));
    pt->kind = INGOT_TOK_PRETOK_SPLIT;
    INGOT_FORWARD_IF_ERROR(j_behavior(pj, INGOT_TOK_SPLIT_REMOVED, &pt->behavior, err));
    INGOT_FORWARD_IF_ERROR(j_bool(pj, "invert", false, &pt->invert, err));
    return j_pattern(pj, &pt->re, err);
}

static ingot_status parse_pretok_bytelevel(ingot_tokenizer *tok, const cJSON *pj, ingot_err *err) {
    ingot_tok_pretok *pt = NULL;
    bool use_regex;
    INGOT_FORWARD_IF_ERROR(pretok_add(tok, &pt, err));
    pt->kind = INGOT_TOK_PRETOK_BYTELEVEL;
    INGOT_FORWARD_IF_ERROR(j_bool(pj, "add_prefix_space", true, &pt->add_prefix_space, err));
    INGOT_FORWARD_IF_ERROR(j_bool(pj, "use_regex", true, &use_regex, err));
    if (!use_regex) return INGOT_OK;
    return ingot_tok_regex_compile(ingot_tok_gpt2_pattern, strlen(ingot_tok_gpt2_pattern), false, &pt->re, err);
}

static ingot_status parse_pretok_metaspace(ingot_tokenizer *tok, const cJSON *pj, ingot_err *err) {
    ingot_tok_pretok *pt = NULL;
    INGOT_FORWARD_IF_ERROR(pretok_add(tok, &pt, err));
    pt->kind = INGOT_TOK_PRETOK_METASPACE;
    INGOT_FORWARD_IF_ERROR(j_metaspace(pj, pt->replacement, &pt->replacement_len, &pt->prepend, err));
    INGOT_FORWARD_IF_ERROR(j_bool(pj, "split", true, &pt->split, err));
    return ingot_tok_regex_compile(pt->replacement, pt->replacement_len, true, &pt->re, err);
}

static ingot_status parse_pretok_simple(ingot_tokenizer *tok, const cJSON *pj, const char *type, bool *done,
                                        ingot_err *err) {
    *done = true;
    if (strcmp(type, "Whitespace") == 0) return pretok_fixed(tok, "\\w+|[^\\w\\s]+", INGOT_TOK_SPLIT_REMOVED, true, err);
    if (strcmp(type, "WhitespaceSplit") == 0) return pretok_fixed(tok, WS_CLASS, INGOT_TOK_SPLIT_REMOVED, false, err);
    if (strcmp(type, "BertPreTokenizer") == 0) {
        INGOT_FORWARD_IF_ERROR(pretok_fixed(tok, WS_CLASS, INGOT_TOK_SPLIT_REMOVED, false, err));
        return pretok_fixed(tok, PUNCT_CLASS, INGOT_TOK_SPLIT_ISOLATED, false, err);
    }
    if (strcmp(type, "Digits") == 0) {
        bool individual;
        INGOT_FORWARD_IF_ERROR(j_bool(pj, "individual_digits", false, &individual, err));
        return pretok_fixed(tok, "\\p{N}", individual ? INGOT_TOK_SPLIT_ISOLATED : INGOT_TOK_SPLIT_CONTIGUOUS, false,
                            err);
    }
    if (strcmp(type, "Punctuation") == 0) {
        ingot_tok_split_behavior b;
        INGOT_FORWARD_IF_ERROR(j_behavior(pj, INGOT_TOK_SPLIT_ISOLATED, &b, err));
        return pretok_fixed(tok, PUNCT_CLASS, b, false, err);
    }
    if (strcmp(type, "CharDelimiterSplit") == 0) {
        const char *s;
        size_t n;
        ingot_tok_pretok *pt = NULL;
        INGOT_FORWARD_IF_ERROR(j_str(j_get(pj, "delimiter"), "delimiter", &s, &n, err));
        INGOT_FORWARD_IF_ERROR(pretok_add(tok, &pt, err));
        pt->kind = INGOT_TOK_PRETOK_SPLIT;
        pt->behavior = INGOT_TOK_SPLIT_REMOVED;
        return ingot_tok_regex_compile(s, n, true, &pt->re, err);
    }
    *done = false;
    return INGOT_OK;
}

static ingot_status parse_pretok(ingot_tokenizer *tok, const cJSON *pj, int depth, ingot_err *err) {
    if (depth > INGOT_TOKENIZER_MAX_DEPTH) return J_ERR(err, INGOT_E_LIMIT, "pre-tokenizers nested too deeply");
    if (!pj) return INGOT_OK;
    if (!cJSON_IsObject(pj)) return J_ERR(err, INGOT_E_FORMAT, "pre_tokenizer must be an object");
    const char *const type = j_type(pj);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *const list = j_get(pj, "pretokenizers");
        if (!cJSON_IsArray(list)) return J_ERR(err, INGOT_E_FORMAT, "pre_tokenizer Sequence needs 'pretokenizers'");
        const cJSON *e;
        cJSON_ArrayForEach(e, list) INGOT_FORWARD_IF_ERROR(parse_pretok(tok, e, depth + 1, err));
        return INGOT_OK;
    }
    if (strcmp(type, "Split") == 0) return parse_pretok_split(tok, pj, err);
    if (strcmp(type, "ByteLevel") == 0) return parse_pretok_bytelevel(tok, pj, err);
    if (strcmp(type, "Metaspace") == 0) return parse_pretok_metaspace(tok, pj, err);
    bool done;
    INGOT_FORWARD_IF_ERROR(parse_pretok_simple(tok, pj, type, &done, err));
    if (done) return INGOT_OK;
    return J_ERR(err, INGOT_E_UNSUPPORTED, "pre_tokenizer type '%.40s' is not supported", type);
}

// ---- decoder ------------------------------------------------------------------------------------

static ingot_status dec_add(ingot_tokenizer *tok, ingot_tok_dec_kind kind, ingot_tok_dec **out, ingot_err *err) {
    if (tok->n_decs == INGOT_TOK_MAX_STAGES)
        return J_ERR(err, INGOT_E_LIMIT, "more than %d decoders", INGOT_TOK_MAX_STAGES);
    *out = &tok->decs[tok->n_decs++];
    (*out)->kind = kind;
    return INGOT_OK;
}

static ingot_status parse_dec(ingot_tokenizer *tok, const cJSON *dj, int depth, ingot_err *err);

static ingot_status parse_dec_with_args(ingot_tokenizer *tok, const cJSON *dj, const char *type, ingot_err *err) {
    ingot_tok_dec *d = NULL;
    const char *s;
    size_t n;
    int64_t x;
    if (strcmp(type, "Metaspace") == 0) {
        INGOT_FORWARD_IF_ERROR(dec_add(tok, INGOT_TOK_DEC_METASPACE, &d, err));
        return j_metaspace(dj, d->replacement, &d->replacement_len, &d->prepend, err);
    }
    if (strcmp(type, "Replace") == 0) {
        INGOT_FORWARD_IF_ERROR(dec_add(tok, INGOT_TOK_DEC_REPLACE, &d, err));
        INGOT_FORWARD_IF_ERROR(j_pattern(dj, &d->re, err));
        INGOT_FORWARD_IF_ERROR(j_str(j_get(dj, "content"), "Replace content", &s, &n, err));
        return dup_str(s, n, &d->content, &d->content_len, err);
    }
    if (strcmp(type, "Strip") == 0) {
        INGOT_FORWARD_IF_ERROR(dec_add(tok, INGOT_TOK_DEC_STRIP, &d, err));
        INGOT_FORWARD_IF_ERROR(j_str(j_get(dj, "content"), "Strip content", &s, &n, err));
        if (n == 0) return J_ERR(err, INGOT_E_FORMAT, "Strip content must be one character");
        ingot_tok_utf8_decode(s, n, &d->strip_cp);
        INGOT_FORWARD_IF_ERROR(j_int(j_get(dj, "start"), "Strip start", 0, UINT32_MAX, &x, err));
        d->start = (uint32_t)x;
        INGOT_FORWARD_IF_ERROR(j_int(j_get(dj, "stop"), "Strip stop", 0, UINT32_MAX, &x, err));
        d->stop = (uint32_t)x;
        return INGOT_OK;
    }
    if (strcmp(type, "WordPiece") == 0) {
        INGOT_FORWARD_IF_ERROR(dec_add(tok, INGOT_TOK_DEC_WORDPIECE, &d, err));
        INGOT_FORWARD_IF_ERROR(j_str_field(dj, "prefix", "##", &s, &n, err));
        INGOT_FORWARD_IF_ERROR(dup_str(s, n, &d->content, &d->content_len, err));
        return j_bool(dj, "cleanup", true, &d->cleanup, err);
    }
    if (strcmp(type, "BPEDecoder") == 0) {
        INGOT_FORWARD_IF_ERROR(dec_add(tok, INGOT_TOK_DEC_BPE, &d, err));
        INGOT_FORWARD_IF_ERROR(j_str_field(dj, "suffix", "</w>", &s, &n, err));
        return dup_str(s, n, &d->content, &d->content_len, err);
    }
    return J_ERR(err, INGOT_E_UNSUPPORTED, "decoder type '%.40s' is not supported", type);
}

static ingot_status parse_dec(ingot_tokenizer *tok, const cJSON *dj, int depth, ingot_err *err) {
    if (depth > INGOT_TOKENIZER_MAX_DEPTH) return J_ERR(err, INGOT_E_LIMIT, "decoders nested too deeply");
    if (!dj) return INGOT_OK;
    if (!cJSON_IsObject(dj)) return J_ERR(err, INGOT_E_FORMAT, "decoder must be an object");
    tok->has_decoder = true;
    const char *const type = j_type(dj);
    ingot_tok_dec *d = NULL;
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *const list = j_get(dj, "decoders");
        if (!cJSON_IsArray(list)) return J_ERR(err, INGOT_E_FORMAT, "decoder Sequence needs 'decoders'");
        const cJSON *e;
        cJSON_ArrayForEach(e, list) INGOT_FORWARD_IF_ERROR(parse_dec(tok, e, depth + 1, err));
        return INGOT_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) return dec_add(tok, INGOT_TOK_DEC_BYTELEVEL, &d, err);
    if (strcmp(type, "ByteFallback") == 0) return dec_add(tok, INGOT_TOK_DEC_BYTE_FALLBACK, &d, err);
    if (strcmp(type, "Fuse") == 0) return dec_add(tok, INGOT_TOK_DEC_FUSE, &d, err);
    return parse_dec_with_args(tok, dj, type, err);
}

// ---- post-processor -------------------------------------------------------------------------------

static ingot_status ids_append(int32_t **ids, size_t *n, int32_t id, ingot_err *err) {
    if (*n >= 64) return J_ERR(err, INGOT_E_LIMIT, "post-processor adds more than 64 tokens");
    int32_t *const p = ingot_realloc(*ids, (*n + 1) * sizeof *p);
    INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "tokenizer: out of memory");
    p[(*n)++] = id;
    *ids = p;
    return INGOT_OK;
}

// One template piece {"SpecialToken": {"id": name}}: append its ids.
static ingot_status template_special(ingot_tokenizer *tok, const cJSON *specials, const cJSON *item, bool after,
                                     ingot_err *err) {
    const char *name;
    size_t n;
    INGOT_FORWARD_IF_ERROR(j_str(j_get(item, "id"), "template special token", &name, &n, err));
    const cJSON *const sp = cJSON_GetObjectItemCaseSensitive(specials, name);
    const cJSON *const ids = sp ? j_get(sp, "ids") : NULL;
    if (!cJSON_IsArray(ids)) return J_ERR(err, INGOT_E_FORMAT, "template special token '%.60s' is not defined", name);
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) {
        int32_t id;
        INGOT_FORWARD_IF_ERROR(j_id(e, "template special id", &id, err));
        INGOT_FORWARD_IF_ERROR(after ? ids_append(&tok->suffix_ids, &tok->n_suffix, id, err)
                                     : ids_append(&tok->prefix_ids, &tok->n_prefix, id, err));
    }
    return INGOT_OK;
}

static ingot_status parse_template(ingot_tokenizer *tok, const cJSON *pj, ingot_err *err) {
    const cJSON *const single = j_get(pj, "single"), *const specials = j_get(pj, "special_tokens");
    if (!cJSON_IsArray(single)) return J_ERR(err, INGOT_E_FORMAT, "TemplateProcessing needs a 'single' array");
    bool after = false;
    const cJSON *item;
    cJSON_ArrayForEach(item, single) {
        const cJSON *const sp = j_get(item, "SpecialToken");
        if (j_get(item, "Sequence")) after = true;
        else if (sp) INGOT_FORWARD_IF_ERROR(template_special(tok, specials, sp, after, err));
        else return J_ERR(err, INGOT_E_FORMAT, "template piece must be Sequence or SpecialToken");
    }
    return INGOT_OK;
}

// BertProcessing / RobertaProcessing: cls … sep, each given as [token, id].
static ingot_status parse_cls_sep(ingot_tokenizer *tok, const cJSON *pj, ingot_err *err) {
    int32_t cls, sep;
    const cJSON *const c = j_get(pj, "cls"), *const s = j_get(pj, "sep");
    if (!cJSON_IsArray(c) || !cJSON_IsArray(s)) return J_ERR(err, INGOT_E_FORMAT, "post-processor needs cls and sep");
    INGOT_FORWARD_IF_ERROR(j_id(cJSON_GetArrayItem(c, 1), "cls id", &cls, err));
    INGOT_FORWARD_IF_ERROR(j_id(cJSON_GetArrayItem(s, 1), "sep id", &sep, err));
    INGOT_FORWARD_IF_ERROR(ids_append(&tok->prefix_ids, &tok->n_prefix, cls, err));
    return ids_append(&tok->suffix_ids, &tok->n_suffix, sep, err);
}

static ingot_status parse_post(ingot_tokenizer *tok, const cJSON *pj, int depth, ingot_err *err) {
    if (depth > INGOT_TOKENIZER_MAX_DEPTH) return J_ERR(err, INGOT_E_LIMIT, "post-processors nested too deeply");
    if (!pj) return INGOT_OK;
    if (!cJSON_IsObject(pj)) return J_ERR(err, INGOT_E_FORMAT, "post_processor must be an object");
    const char *const type = j_type(pj);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *const list = j_get(pj, "processors");
        if (!cJSON_IsArray(list)) return J_ERR(err, INGOT_E_FORMAT, "post_processor Sequence needs 'processors'");
        const cJSON *e;
        cJSON_ArrayForEach(e, list) INGOT_FORWARD_IF_ERROR(parse_post(tok, e, depth + 1, err));
        return INGOT_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) return INGOT_OK; // offsets only
    if (strcmp(type, "TemplateProcessing") == 0) return parse_template(tok, pj, err);
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0)
        return parse_cls_sep(tok, pj, err);
    return J_ERR(err, INGOT_E_UNSUPPORTED, "post_processor type '%.40s' is not supported", type);
}

// ---- special ids and bounds -----------------------------------------------------------------------

static int32_t find_any(const ingot_tokenizer *tok, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const int32_t id = ingot_tokenizer_find(tok, names[i], strlen(names[i]));
        if (id >= 0) return id;
    }
    return -1;
}

static void pick_special_ids(ingot_tokenizer *tok) {
    // DeepSeek's "<｜begin▁of▁sentence｜>" / "<｜end▁of▁sentence｜>" in octal escapes.
    static const char *const bos[] = {"<s>", "<|begin_of_text|>", "<\357\275\234begin\342\226\201of\342\226\201sentence\357\275\234>",
                                      "<|begin_of_sentence|>", "<bos>", "<|startoftext|>", "[CLS]"};
    static const char *const eos[] = {"</s>", "<|eot_id|>", "<|im_end|>", "<|end_of_text|>", "<|endoftext|>",
                                      "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>",
                                      "<|end_of_sentence|>", "<eos>", "[EOS]", "[SEP]"};
    tok->bos_id = tok->n_prefix ? tok->prefix_ids[0] : find_any(tok, bos, sizeof bos / sizeof *bos);
    tok->eos_id = tok->n_suffix ? tok->suffix_ids[tok->n_suffix - 1] : find_any(tok, eos, sizeof eos / sizeof *eos);
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    return ingot_mul_u64(a, b, &r) && r < (UINT64_C(1) << 48) ? r : (UINT64_C(1) << 48);
}

// Bytes the pipeline can grow text to, per input byte (mul) and per segment
// (add); the model then yields at most one id per byte.
static void compute_expansion(ingot_tokenizer *tok) {
    uint64_t mul = 1, add = 0;
    for (size_t i = 0; i < tok->n_norms; i++) {
        const ingot_tok_norm *const nm = &tok->norms[i];
        switch (nm->kind) {
        case INGOT_TOK_NORM_NFKC: case INGOT_TOK_NORM_NFKD: case INGOT_TOK_NORM_BERT: mul = sat_mul(mul, 18); break;
        case INGOT_TOK_NORM_NFC: case INGOT_TOK_NORM_NFD: mul = sat_mul(mul, 3); break;
        case INGOT_TOK_NORM_LOWERCASE: mul = sat_mul(mul, 2); break;
        case INGOT_TOK_NORM_REPLACE: mul = sat_mul(mul, 1 + nm->content_len); add += nm->content_len; break;
        case INGOT_TOK_NORM_PREPEND: add += nm->content_len; break;
        default: break;
        }
    }
    for (size_t i = 0; i < tok->n_pretoks; i++) {
        if (tok->pretoks[i].kind == INGOT_TOK_PRETOK_BYTELEVEL) mul = sat_mul(mul, 4);
        if (tok->pretoks[i].kind == INGOT_TOK_PRETOK_METASPACE) {
            mul = sat_mul(mul, 1 + tok->pretoks[i].replacement_len);
            add += tok->pretoks[i].replacement_len;
        }
    }
    if (tok->byte_fallback) mul = sat_mul(mul, 1 + tok->subword_prefix_len + tok->word_suffix_len);
    tok->expand_mul = mul;
    tok->expand_add = add;
}

// ---- entry --------------------------------------------------------------------------------------------

static ingot_status parse_root(ingot_tokenizer *tok, const cJSON *root, ingot_err *err) {
    if (!cJSON_IsObject(root)) return J_ERR(err, INGOT_E_FORMAT, "top level must be an object");
    int32_t max_added;
    INGOT_FORWARD_IF_ERROR(added_max_id(root, &max_added, err));
    INGOT_FORWARD_IF_ERROR(parse_model(tok, root, max_added, err));
    tok->max_piece_len = tok->vocab.max_len;
    INGOT_FORWARD_IF_ERROR(parse_added(tok, root, err));
    INGOT_FORWARD_IF_ERROR(parse_norm(tok, j_get(root, "normalizer"), 0, err));
    INGOT_FORWARD_IF_ERROR(parse_pretok(tok, j_get(root, "pre_tokenizer"), 0, err));
    INGOT_FORWARD_IF_ERROR(parse_dec(tok, j_get(root, "decoder"), 0, err));
    INGOT_FORWARD_IF_ERROR(parse_post(tok, j_get(root, "post_processor"), 0, err));
    for (size_t i = 0; i < tok->n_prefix + tok->n_suffix; i++) {
        const int32_t id = i < tok->n_prefix ? tok->prefix_ids[i] : tok->suffix_ids[i - tok->n_prefix];
        if (id >= tok->n_vocab)
            return J_ERR(err, INGOT_E_FORMAT, "post-processor id %d is outside the vocab of %d", id, tok->n_vocab);
    }
    pick_special_ids(tok);
    compute_expansion(tok);
    return INGOT_OK;
}

ingot_status ingot_tok_parse(ingot_tokenizer *tok, const char *json, size_t n, ingot_err *err) {
    if (n > INGOT_TOKENIZER_MAX_JSON_BYTES)
        return J_ERR(err, INGOT_E_LIMIT, "%zu bytes is over the limit of %u", n, INGOT_TOKENIZER_MAX_JSON_BYTES);
    cJSON *const root = cJSON_ParseWithLength(json, n);
    if (!root) {
        const char *const at = cJSON_GetErrorPtr();
        const size_t off = at && at >= json && at <= json + n ? (size_t)(at - json) : 0;
        ingot_err_set(err, INGOT_E_FORMAT, "tokenizer.json: malformed JSON near byte %zu", off);
        ingot_err_where(err, NULL, NULL, (int64_t)off);
        return INGOT_E_FORMAT;
    }
    const ingot_status st = parse_root(tok, root, err);
    cJSON_Delete(root);
    return st;
}

void ingot_tok_deinit(ingot_tokenizer *tok) {
    ingot_tok_vocab_deinit(&tok->vocab);
    ingot_tok_merges_deinit(&tok->merges);
    ingot_free(tok->subword_prefix);
    ingot_free(tok->word_suffix);
    ingot_free(tok->scores);
    for (size_t i = 0; i < tok->n_added; i++) ingot_free(tok->added[i].content);
    ingot_free(tok->added);
    ingot_free(tok->added_order);
    ingot_free(tok->added_kind);
    ingot_free(tok->added_of_id);
    for (size_t i = 0; i < tok->n_norms; i++) ingot_tok_norm_deinit(&tok->norms[i]);
    for (size_t i = 0; i < tok->n_pretoks; i++) ingot_tok_pretok_deinit(&tok->pretoks[i]);
    for (size_t i = 0; i < tok->n_decs; i++) ingot_tok_dec_deinit(&tok->decs[i]);
    ingot_free(tok->prefix_ids);
    ingot_free(tok->suffix_ids);
}
