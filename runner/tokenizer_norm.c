// Normalizers of the tokenizer, applied in order to each text segment
// between added tokens: Unicode normal forms (utf8proc), Lowercase (Rust
// char::to_lowercase: per code point, no final-sigma rule), Strip,
// StripAccents (drops Mn/Mc/Me), Replace (string or regex), Prepend and the
// BERT normalizer. Semantics follow HF `tokenizers` src/normalizers/.
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer_internal.h"

typedef ingot_status (*norm_fn)(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                ingot_err *err);

static ingot_status put_cp(ingot_tok_strlist *out, int32_t cp, ingot_err *err) {
    char b[4];
    return ingot_tok_strlist_append(out, b, ingot_tok_utf8_encode(cp, b), err);
}

static ingot_status norm_unicode(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                 ingot_err *err) {
    static const utf8proc_option_t forms[] = {
        [INGOT_TOK_NORM_NFC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE,
        [INGOT_TOK_NORM_NFD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE,
        [INGOT_TOK_NORM_NFKC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
        [INGOT_TOK_NORM_NFKD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
    };
    if (n == 0) return INGOT_OK;
    INGOT_FAIL_IF(n > (size_t)INT32_MAX, err, INGOT_E_LIMIT, "tokenizer: segment of %zu bytes too large", n);
    utf8proc_uint8_t *dst = NULL;
    const utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst, forms[nm->kind]);
    if (r < 0) {
        free(dst);
        return ingot_err_set(err, r == UTF8PROC_ERROR_NOMEM ? INGOT_E_NOMEM : INGOT_E_FORMAT,
                             "tokenizer: unicode normalization failed: %s", utf8proc_errmsg(r));
    }
    const ingot_status st = ingot_tok_strlist_append(out, (const char *)dst, (size_t)r, err);
    free(dst);
    return st;
}

static ingot_status lowercase_cp(ingot_tok_strlist *out, int32_t cp, ingot_err *err) {
    if (cp == 0x130) { // İ: the one unconditional multi-character lowercase mapping
        INGOT_FORWARD_IF_ERROR(put_cp(out, 'i', err));
        return put_cp(out, 0x307, err);
    }
    return put_cp(out, utf8proc_tolower(cp), err);
}

static ingot_status norm_lowercase(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                   ingot_err *err) {
    (void)nm;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += ingot_tok_utf8_decode(s + i, n - i, &cp);
        INGOT_FORWARD_IF_ERROR(lowercase_cp(out, cp, err));
    }
    return INGOT_OK;
}

static ingot_status norm_strip(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                               ingot_err *err) {
    size_t a = 0, b = n;
    while (nm->left && a < b) {
        int32_t cp;
        const size_t k = ingot_tok_utf8_decode(s + a, b - a, &cp);
        if (!ingot_tok_is_whitespace(cp)) break;
        a += k;
    }
    while (nm->right && b > a) {
        size_t k = 1;
        while (k < b - a && ((uint8_t)s[b - k] & 0xc0) == 0x80) k++;
        int32_t cp;
        ingot_tok_utf8_decode(s + b - k, k, &cp);
        if (!ingot_tok_is_whitespace(cp)) break;
        b -= k;
    }
    return ingot_tok_strlist_append(out, s + a, b - a, err);
}

static bool is_mark(int32_t cp) {
    const utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

static ingot_status norm_strip_accents(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                       ingot_err *err) {
    (void)nm;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        const size_t k = ingot_tok_utf8_decode(s + i, n - i, &cp);
        if (!is_mark(cp)) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, s + i, k, err));
        i += k;
    }
    return INGOT_OK;
}

static ingot_status norm_replace(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                 ingot_err *err) {
    void *const md = ingot_tok_regex_match_data(nm->re);
    INGOT_FAIL_IF(!md, err, INGOT_E_NOMEM, "tokenizer: out of memory (match data)");
    ingot_status st = INGOT_OK;
    size_t pos = 0, copied = 0;
    while (pos <= n) {
        size_t m0, m1;
        const int r = ingot_tok_regex_next(nm->re, s, n, pos, md, &m0, &m1, err);
        if (r <= 0) {
            st = (ingot_status)r;
            break;
        }
        st = ingot_tok_strlist_append(out, s + copied, m0 - copied, err);
        if (!st) st = ingot_tok_strlist_append(out, nm->content, nm->content_len, err);
        if (st) break;
        copied = m1;
        if (m1 > m0) {
            pos = m1;
            continue;
        }
        // Empty match: step over one character.
        if (m1 >= n) break;
        int32_t cp;
        const size_t k = ingot_tok_utf8_decode(s + m1, n - m1, &cp);
        st = ingot_tok_strlist_append(out, s + m1, k, err);
        if (st) break;
        copied = pos = m1 + k;
    }
    ingot_tok_regex_match_data_free(md);
    if (st) return st;
    return ingot_tok_strlist_append(out, s + copied, n - copied, err);
}

static ingot_status norm_prepend(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                 ingot_err *err) {
    if (n) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, nm->content, nm->content_len, err));
    return ingot_tok_strlist_append(out, s, n, err);
}

// ---- BertNormalizer (HF src/normalizers/bert.rs) ----------------------------------------

static bool bert_is_chinese(int32_t cp) {
    return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
           (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) ||
           (cp >= 0x2b920 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

static bool bert_is_control(int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    const utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CN ||
           c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CS;
}

static ingot_status bert_clean_chinese(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                                       ingot_err *err) {
    for (size_t i = 0; i < n;) {
        int32_t cp;
        const size_t k = ingot_tok_utf8_decode(s + i, n - i, &cp);
        i += k;
        if (nm->clean_text) {
            if (cp == 0 || cp == 0xfffd || bert_is_control(cp)) continue;
            if (cp == '\t' || cp == '\n' || cp == '\r' || ingot_tok_is_whitespace(cp)) cp = ' ';
        }
        const bool pad = nm->chinese_chars && bert_is_chinese(cp);
        if (pad) INGOT_FORWARD_IF_ERROR(put_cp(out, ' ', err));
        INGOT_FORWARD_IF_ERROR(put_cp(out, cp, err));
        if (pad) INGOT_FORWARD_IF_ERROR(put_cp(out, ' ', err));
    }
    return INGOT_OK;
}

// One stage from `in` (a single piece) to `out` (reset, a single piece).
static ingot_status norm_stage(const ingot_tok_norm *nm, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                               ingot_tok_strlist *tmp, ingot_err *err);

static ingot_status norm_bert(const ingot_tok_norm *nm, const char *s, size_t n, ingot_tok_strlist *out,
                              ingot_err *err) {
    ingot_tok_strlist a = {0}, b = {0};
    ingot_tok_strlist *cur = &a, *oth = &b;
    const ingot_tok_norm stages[3] = {{.kind = INGOT_TOK_NORM_NFD}, {.kind = INGOT_TOK_NORM_STRIP_ACCENTS},
                                      {.kind = INGOT_TOK_NORM_LOWERCASE}};
    const bool use[3] = {nm->strip_accents, nm->strip_accents, nm->lowercase};
    ingot_status st = ingot_tok_strlist_push(&a, "", 0, true, err);
    if (!st) st = bert_clean_chinese(nm, s, n, &a, err);
    for (size_t i = 0; i < 3 && !st; i++) {
        if (!use[i]) continue;
        st = norm_stage(&stages[i], cur, oth, NULL, err);
        ingot_tok_strlist *const t = cur;
        cur = oth;
        oth = t;
    }
    if (!st) st = ingot_tok_strlist_append(out, ingot_tok_strlist_at(cur, 0), cur->p[0].len, err);
    ingot_tok_strlist_deinit(&a);
    ingot_tok_strlist_deinit(&b);
    return st;
}

static const norm_fn norm_fns[] = {
    [INGOT_TOK_NORM_NFC] = norm_unicode,
    [INGOT_TOK_NORM_NFD] = norm_unicode,
    [INGOT_TOK_NORM_NFKC] = norm_unicode,
    [INGOT_TOK_NORM_NFKD] = norm_unicode,
    [INGOT_TOK_NORM_LOWERCASE] = norm_lowercase,
    [INGOT_TOK_NORM_STRIP] = norm_strip,
    [INGOT_TOK_NORM_STRIP_ACCENTS] = norm_strip_accents,
    [INGOT_TOK_NORM_REPLACE] = norm_replace,
    [INGOT_TOK_NORM_PREPEND] = norm_prepend,
    [INGOT_TOK_NORM_BERT] = norm_bert,
};

static ingot_status norm_stage(const ingot_tok_norm *nm, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                               ingot_tok_strlist *tmp, ingot_err *err) {
    (void)tmp;
    ingot_tok_strlist_reset(out);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, "", 0, in->p[0].first, err));
    return norm_fns[nm->kind](nm, ingot_tok_strlist_at(in, 0), in->p[0].len, out, err);
}

void ingot_tok_norm_deinit(ingot_tok_norm *nm) {
    ingot_tok_regex_free(nm->re);
    ingot_free(nm->content);
    memset(nm, 0, sizeof *nm);
}

ingot_status ingot_tok_normalize(const ingot_tokenizer *tok, const char *s, size_t n, ingot_tok_strlist *out,
                                 ingot_tok_strlist *tmp, ingot_err *err) {
    ingot_tok_strlist_reset(out);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, s, n, true, err));
    for (size_t i = 0; i < tok->n_norms; i++) {
        INGOT_FORWARD_IF_ERROR(norm_stage(&tok->norms[i], out, tmp, NULL, err));
        ingot_tok_strlist swap = *out;
        *out = *tmp;
        *tmp = swap;
    }
    return INGOT_OK;
}
