// Pre-tokenizers: split one normalized segment into words for the model.
// Every splitting pre-tokenizer (Split, Digits, Punctuation, Whitespace,
// WhitespaceSplit, CharDelimiterSplit, BertPreTokenizer) reduces to a PCRE2
// pattern plus one of HF's five split behaviours; ByteLevel and Metaspace
// also rewrite the text. Semantics follow HF `tokenizers`
// src/tokenizer/normalizer.rs (split behaviours), src/tokenizer/pattern.rs
// (match spans) and src/pre_tokenizers/.
#include <string.h>

#include "tokenizer_internal.h"

// ---- split behaviours ---------------------------------------------------------
// The matcher yields contiguous spans (a, b, is_match) covering the text; the
// behaviour decides how spans become pieces. Empty pieces are dropped at the
// end, as HF does.

typedef struct split_state {
    ingot_tok_strlist *out;
    const char *s;
    size_t start_n;              // out->n when this text started
    ingot_tok_split_behavior behavior;
    bool first;                  // the text starts at original offset 0
    bool prev_match;
    bool pending;                // MergedWithNext: a match waiting for the next span
    size_t pending_a, pending_b;
} split_state;

static ingot_status split_push(split_state *ss, size_t a, size_t b, ingot_err *err) {
    return ingot_tok_strlist_push(ss->out, ss->s + a, b - a, ss->first && a == 0, err);
}

static ingot_status split_extend(split_state *ss, size_t a, size_t b, ingot_err *err) {
    return ingot_tok_strlist_append(ss->out, ss->s + a, b - a, err);
}

static ingot_status split_span(split_state *ss, size_t a, size_t b, bool is_match, ingot_err *err) {
    const bool has_last = ss->out->n > ss->start_n;
    ingot_status st = INGOT_OK;
    switch (ss->behavior) {
    case INGOT_TOK_SPLIT_REMOVED:
        if (!is_match) st = split_push(ss, a, b, err);
        break;
    case INGOT_TOK_SPLIT_ISOLATED:
        st = split_push(ss, a, b, err);
        break;
    case INGOT_TOK_SPLIT_MERGED_WITH_PREVIOUS:
        st = is_match && !ss->prev_match && has_last ? split_extend(ss, a, b, err) : split_push(ss, a, b, err);
        break;
    case INGOT_TOK_SPLIT_MERGED_WITH_NEXT:
        if (is_match) {
            if (ss->pending) st = split_push(ss, ss->pending_a, ss->pending_b, err);
            ss->pending = true;
            ss->pending_a = a;
            ss->pending_b = b;
        } else if (ss->pending) {
            ss->pending = false;
            st = split_push(ss, ss->pending_a, b, err);
        } else {
            st = split_push(ss, a, b, err);
        }
        break;
    case INGOT_TOK_SPLIT_CONTIGUOUS:
        st = is_match == ss->prev_match && has_last ? split_extend(ss, a, b, err) : split_push(ss, a, b, err);
        break;
    }
    ss->prev_match = is_match;
    return st;
}

static void drop_empty(ingot_tok_strlist *out, size_t start_n) {
    size_t k = start_n;
    for (size_t i = start_n; i < out->n; i++)
        if (out->p[i].len) out->p[k++] = out->p[i];
    out->n = k;
}

// Match spans like rust-onig's find_iter: an empty match right where the
// previous match ended is skipped by stepping one character.
static ingot_status split_scan(const ingot_tok_regex *re, bool invert, const char *s, size_t n, split_state *ss,
                               void *md, ingot_err *err) {
    size_t pos = 0, prev = 0, last_match_end = SIZE_MAX;
    while (pos <= n) {
        size_t m0, m1;
        const int r = ingot_tok_regex_next(re, s, n, pos, md, &m0, &m1, err);
        if (r < 0) return (ingot_status)r;
        if (r == 0) break;
        if (m0 == m1 && m1 == last_match_end) {
            if (pos >= n) break;
            int32_t cp;
            pos += ingot_tok_utf8_decode(s + pos, n - pos, &cp);
            continue;
        }
        if (prev != m0) INGOT_FORWARD_IF_ERROR(split_span(ss, prev, m0, invert, err));
        INGOT_FORWARD_IF_ERROR(split_span(ss, m0, m1, !invert, err));
        prev = pos = last_match_end = m1;
    }
    if (prev != n) INGOT_FORWARD_IF_ERROR(split_span(ss, prev, n, invert, err));
    return INGOT_OK;
}

ingot_status ingot_tok_split_regex(const ingot_tok_regex *re, ingot_tok_split_behavior behavior, bool invert,
                                   const char *s, size_t n, bool first, ingot_tok_strlist *out, ingot_err *err) {
    split_state ss = {.out = out, .s = s, .start_n = out->n, .behavior = behavior, .first = first};
    if (n == 0) return INGOT_OK; // an empty text yields no piece (filtered as empty)
    void *const md = ingot_tok_regex_match_data(re);
    INGOT_FAIL_IF(!md, err, INGOT_E_NOMEM, "tokenizer: out of memory (match data)");
    ingot_status st = split_scan(re, invert, s, n, &ss, md, err);
    ingot_tok_regex_match_data_free(md);
    if (!st && ss.pending) st = split_push(&ss, ss.pending_a, ss.pending_b, err);
    drop_empty(out, ss.start_n);
    return st;
}

// ---- ByteLevel: optional prefix space, GPT-2 regex, bytes → alphabet --------------------

static ingot_status bytelevel_map(const char *s, size_t n, bool first, ingot_tok_strlist *out, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, "", 0, first, err));
    for (size_t i = 0; i < n; i++) {
        char b[4];
        const size_t k = ingot_tok_utf8_encode(ingot_tok_byte_to_cp((uint8_t)s[i]), b);
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, b, k, err));
    }
    return INGOT_OK;
}

static ingot_status pretok_bytelevel(const ingot_tok_pretok *pt, const char *s, size_t n, bool first,
                                     ingot_tok_strlist *out, ingot_tok_strlist *scratch, ingot_tok_strlist *parts,
                                     ingot_err *err) {
    ingot_tok_strlist_reset(scratch);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(scratch, "", 0, first, err));
    if (pt->add_prefix_space && (n == 0 || s[0] != ' '))
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(scratch, " ", 1, err));
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(scratch, s, n, err));
    const char *const t = ingot_tok_strlist_at(scratch, 0);
    const size_t tn = scratch->p[0].len;
    if (!pt->re) return tn ? bytelevel_map(t, tn, first, out, err) : INGOT_OK;
    ingot_tok_strlist_reset(parts);
    INGOT_FORWARD_IF_ERROR(ingot_tok_split_regex(pt->re, INGOT_TOK_SPLIT_ISOLATED, false, t, tn, first, parts, err));
    for (size_t i = 0; i < parts->n; i++)
        INGOT_FORWARD_IF_ERROR(
            bytelevel_map(ingot_tok_strlist_at(parts, i), parts->p[i].len, parts->p[i].first, out, err));
    return INGOT_OK;
}

// ---- Metaspace: ' ' → ▁, optional prepend, split before each ▁ ----------------------

static ingot_status pretok_metaspace(const ingot_tok_pretok *pt, const char *s, size_t n, bool first,
                                     ingot_tok_strlist *out, ingot_tok_strlist *scratch, ingot_err *err) {
    ingot_tok_strlist_reset(scratch);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(scratch, "", 0, first, err));
    const bool starts = n >= pt->replacement_len && memcmp(s, pt->replacement, pt->replacement_len) == 0;
    const bool prepend = pt->prepend == INGOT_TOK_PREPEND_ALWAYS || (pt->prepend == INGOT_TOK_PREPEND_FIRST && first);
    if (prepend && !starts && !(n > 0 && s[0] == ' '))
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(scratch, pt->replacement, pt->replacement_len, err));
    for (size_t i = 0; i < n; i++) {
        const bool sp = s[i] == ' ';
        INGOT_FORWARD_IF_ERROR(
            ingot_tok_strlist_append(scratch, sp ? pt->replacement : s + i, sp ? pt->replacement_len : 1, err));
    }
    const char *const t = ingot_tok_strlist_at(scratch, 0);
    const size_t tn = scratch->p[0].len;
    if (!pt->split || !pt->re) return tn ? ingot_tok_strlist_push(out, t, tn, first, err) : INGOT_OK;
    return ingot_tok_split_regex(pt->re, INGOT_TOK_SPLIT_MERGED_WITH_NEXT, false, t, tn, first, out, err);
}

// ---- driver -------------------------------------------------------------------------------

void ingot_tok_pretok_deinit(ingot_tok_pretok *pt) {
    ingot_tok_regex_free(pt->re);
    memset(pt, 0, sizeof *pt);
}

static ingot_status pretok_stage(const ingot_tok_pretok *pt, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                 ingot_tok_strlist *scratch, ingot_tok_strlist *parts, ingot_err *err) {
    ingot_tok_strlist_reset(out);
    for (size_t i = 0; i < in->n; i++) {
        const char *const s = ingot_tok_strlist_at(in, i);
        const size_t n = in->p[i].len;
        const bool first = in->p[i].first;
        ingot_status st;
        switch (pt->kind) {
        case INGOT_TOK_PRETOK_BYTELEVEL:
            st = pretok_bytelevel(pt, s, n, first, out, scratch, parts, err);
            break;
        case INGOT_TOK_PRETOK_METASPACE:
            st = pretok_metaspace(pt, s, n, first, out, scratch, err);
            break;
        default:
            st = ingot_tok_split_regex(pt->re, pt->behavior, pt->invert, s, n, first, out, err);
            break;
        }
        INGOT_FORWARD_IF_ERROR(st);
    }
    return INGOT_OK;
}

ingot_status ingot_tok_pretokenize(const ingot_tokenizer *tok, ingot_tok_strlist *words, ingot_tok_strlist *tmp,
                                   ingot_err *err) {
    ingot_tok_strlist scratch = {0}, parts = {0};
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < tok->n_pretoks && !st; i++) {
        st = pretok_stage(&tok->pretoks[i], words, tmp, &scratch, &parts, err);
        const ingot_tok_strlist swap = *words;
        *words = *tmp;
        *tmp = swap;
    }
    ingot_tok_strlist_deinit(&scratch);
    ingot_tok_strlist_deinit(&parts);
    return st;
}
