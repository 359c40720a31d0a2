// Pre-tokenizers: split one normalized segment into words for the model.
// Every splitting pre-tokenizer (Split, Digits, Punctuation, Whitespace,
// WhitespaceSplit, CharDelimiterSplit, BertPreTokenizer) reduces to a PCRE2
// pattern plus one of HF's five split behaviours; ByteLevel and Metaspace
// also rewrite the text. Semantics follow HF `tokenizers`
// src/tokenizer/normalizer.rs (split behaviours), src/tokenizer/pattern.rs
// (match spans) and src/pre_tokenizers/.
//
// HF applies each stage to every piece of the previous stage independently,
// so the stages run depth-first here: each piece flows through the remaining
// stages and reaches the model before the next piece is cut. Nothing grows
// with the segment length except the segment itself.
#include <string.h>

#include "tokenizer_internal.h"

// ---- split behaviours ---------------------------------------------------------
// The matcher yields contiguous spans (a, b, is_match) covering the text; the
// behaviour decides how spans become pieces. Only the last piece can still
// grow (MergedWithPrevious, Contiguous), so it is held back until the next
// one starts. Empty pieces are dropped, as HF does.

typedef struct split_state {
    const char *s;
    ingot_tok_split_behavior behavior;
    bool first;                  // the text starts at original offset 0
    bool prev_match;
    bool has_last;               // a piece was started
    size_t last_a, last_b;       // the held-back piece
    bool pending;                // MergedWithNext: a match waiting for the next span
    size_t pending_a, pending_b;
    ingot_tok_piece_fn fn;
    void *ctx;
} split_state;

static ingot_status split_flush(split_state *ss, ingot_err *err) {
    if (!ss->has_last || ss->last_b == ss->last_a) return INGOT_OK;
    return ss->fn(ss->ctx, ss->s + ss->last_a, ss->last_b - ss->last_a, ss->first && ss->last_a == 0, err);
}

static ingot_status split_push(split_state *ss, size_t a, size_t b, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(split_flush(ss, err));
    ss->has_last = true;
    ss->last_a = a;
    ss->last_b = b;
    return INGOT_OK;
}

static ingot_status split_span(split_state *ss, size_t a, size_t b, bool is_match, ingot_err *err) {
    ingot_status st = INGOT_OK;
    switch (ss->behavior) {
    case INGOT_TOK_SPLIT_REMOVED:
        if (!is_match) st = split_push(ss, a, b, err);
        break;
    case INGOT_TOK_SPLIT_ISOLATED:
        st = split_push(ss, a, b, err);
        break;
    case INGOT_TOK_SPLIT_MERGED_WITH_PREVIOUS:
        if (is_match && !ss->prev_match && ss->has_last) ss->last_b = b;
        else st = split_push(ss, a, b, err);
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
        if (is_match == ss->prev_match && ss->has_last) ss->last_b = b;
        else st = split_push(ss, a, b, err);
        break;
    }
    ss->prev_match = is_match;
    return st;
}

// Match spans like rust-onig's find_iter: an empty match right where the
// previous match ended is skipped by stepping one character.
static ingot_status split_scan(const ingot_tok_regex *re, void *md, bool invert, const char *s, size_t n,
                               split_state *ss, ingot_err *err) {
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

ingot_status ingot_tok_split_each(const ingot_tok_regex *re, void *md, ingot_tok_split_behavior behavior, bool invert,
                                  const char *s, size_t n, bool first, ingot_tok_piece_fn fn, void *ctx,
                                  ingot_err *err) {
    split_state ss = {.s = s, .behavior = behavior, .first = first, .fn = fn, .ctx = ctx};
    if (n == 0) return INGOT_OK; // an empty text yields no piece (filtered as empty)
    INGOT_FORWARD_IF_ERROR(split_scan(re, md, invert, s, n, &ss, err));
    if (ss.pending) INGOT_FORWARD_IF_ERROR(split_push(&ss, ss.pending_a, ss.pending_b, err));
    return split_flush(&ss, err);
}

static ingot_status push_piece(void *ctx, const char *s, size_t n, bool first, ingot_err *err) {
    return ingot_tok_strlist_push(ctx, s, n, first, err);
}

ingot_status ingot_tok_split_regex(const ingot_tok_regex *re, ingot_tok_split_behavior behavior, bool invert,
                                   const char *s, size_t n, bool first, ingot_tok_strlist *out, ingot_err *err) {
    void *const md = ingot_tok_regex_match_data(re);
    INGOT_FAIL_IF(!md, err, INGOT_E_NOMEM, "tokenizer: out of memory (match data)");
    const ingot_status st = ingot_tok_split_each(re, md, behavior, invert, s, n, first, push_piece, out, err);
    ingot_tok_regex_match_data_free(md);
    return st;
}

// ---- depth-first stage driver ----------------------------------------------------------

// One stage applied to one piece; `run` owns two scratch buffers and one
// match data per stage.
typedef struct stage_call {
    ingot_tok_pretok_run *run;
    size_t stage;
} stage_call;

static ingot_status run_stage(ingot_tok_pretok_run *run, size_t i, const char *s, size_t n, bool first,
                              ingot_err *err);

static ingot_status next_stage(void *ctx, const char *s, size_t n, bool first, ingot_err *err) {
    const stage_call *const c = ctx;
    return run_stage(c->run, c->stage + 1, s, n, first, err);
}

static ingot_status stage_md(ingot_tok_pretok_run *run, size_t i, const ingot_tok_regex *re, void **md,
                             ingot_err *err) {
    if (!run->md[i]) run->md[i] = ingot_tok_regex_match_data(re);
    INGOT_FAIL_IF(!run->md[i], err, INGOT_E_NOMEM, "tokenizer: out of memory (match data)");
    *md = run->md[i];
    return INGOT_OK;
}

// ByteLevel, after its regex split: bytes → the GPT-2 alphabet.
static ingot_status bytelevel_map(void *ctx, const char *s, size_t n, bool first, ingot_err *err) {
    const stage_call *const c = ctx;
    ingot_tok_strlist *const out = &c->run->bufs[2 * c->stage + 1];
    ingot_tok_strlist_reset(out);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, "", 0, first, err));
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_reserve(out, 2 * n, err));
    char *const dst = out->buf + out->len;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ingot_tok_utf8_encode(ingot_tok_byte_to_cp((uint8_t)s[i]), dst + k);
    out->len += k;
    out->p[0].len = k;
    return run_stage(c->run, c->stage + 1, dst, k, first, err);
}

static ingot_status stage_bytelevel(ingot_tok_pretok_run *run, size_t i, const char *s, size_t n, bool first,
                                    ingot_err *err) {
    const ingot_tok_pretok *const pt = &run->tok->pretoks[i];
    ingot_tok_strlist *const text = &run->bufs[2 * i];
    ingot_tok_strlist_reset(text);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(text, "", 0, first, err));
    if (pt->add_prefix_space && (n == 0 || s[0] != ' ')) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(text, " ", 1, err));
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(text, s, n, err));
    stage_call c = {run, i};
    const char *const t = ingot_tok_strlist_at(text, 0);
    const size_t tn = text->p[0].len;
    if (!pt->re) return tn ? bytelevel_map(&c, t, tn, first, err) : INGOT_OK;
    void *md = NULL;
    INGOT_FORWARD_IF_ERROR(stage_md(run, i, pt->re, &md, err));
    return ingot_tok_split_each(pt->re, md, INGOT_TOK_SPLIT_ISOLATED, false, t, tn, first, bytelevel_map, &c, err);
}

// Metaspace: ' ' → ▁, optional prepend, then a split before each ▁.
static ingot_status stage_metaspace(ingot_tok_pretok_run *run, size_t i, const char *s, size_t n, bool first,
                                    ingot_err *err) {
    const ingot_tok_pretok *const pt = &run->tok->pretoks[i];
    ingot_tok_strlist *const text = &run->bufs[2 * i];
    ingot_tok_strlist_reset(text);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(text, "", 0, first, err));
    const bool starts = n >= pt->replacement_len && memcmp(s, pt->replacement, pt->replacement_len) == 0;
    const bool prepend = pt->prepend == INGOT_TOK_PREPEND_ALWAYS || (pt->prepend == INGOT_TOK_PREPEND_FIRST && first);
    if (prepend && !starts && !(n > 0 && s[0] == ' '))
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(text, pt->replacement, pt->replacement_len, err));
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && s[b] != ' ') b++;
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(text, s + a, b - a, err));
        if (b < n) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(text, pt->replacement, pt->replacement_len, err));
        a = b + 1;
    }
    const char *const t = ingot_tok_strlist_at(text, 0);
    const size_t tn = text->p[0].len;
    stage_call c = {run, i};
    if (!pt->split || !pt->re) return tn ? next_stage(&c, t, tn, first, err) : INGOT_OK;
    void *md = NULL;
    INGOT_FORWARD_IF_ERROR(stage_md(run, i, pt->re, &md, err));
    return ingot_tok_split_each(pt->re, md, INGOT_TOK_SPLIT_MERGED_WITH_NEXT, false, t, tn, first, next_stage, &c, err);
}

static ingot_status run_stage(ingot_tok_pretok_run *run, size_t i, const char *s, size_t n, bool first,
                              ingot_err *err) {
    if (i == run->tok->n_pretoks) return n ? run->word_fn(run->word_ctx, s, n, first, err) : INGOT_OK;
    const ingot_tok_pretok *const pt = &run->tok->pretoks[i];
    switch (pt->kind) {
    case INGOT_TOK_PRETOK_BYTELEVEL:
        return stage_bytelevel(run, i, s, n, first, err);
    case INGOT_TOK_PRETOK_METASPACE:
        return stage_metaspace(run, i, s, n, first, err);
    default: {
        stage_call c = {run, i};
        void *md = NULL;
        INGOT_FORWARD_IF_ERROR(stage_md(run, i, pt->re, &md, err));
        return ingot_tok_split_each(pt->re, md, pt->behavior, pt->invert, s, n, first, next_stage, &c, err);
    }
    }
}

ingot_status ingot_tok_pretokenize(ingot_tok_pretok_run *run, const char *s, size_t n, bool first, ingot_err *err) {
    return run_stage(run, 0, s, n, first, err);
}

void ingot_tok_pretok_run_deinit(ingot_tok_pretok_run *run) {
    for (size_t i = 0; i < 2 * INGOT_TOK_MAX_STAGES; i++) ingot_tok_strlist_deinit(&run->bufs[i]);
    for (size_t i = 0; i < INGOT_TOK_MAX_STAGES; i++) ingot_tok_regex_match_data_free(run->md[i]);
    memset(run->bufs, 0, sizeof run->bufs);
    memset(run->md, 0, sizeof run->md);
}

void ingot_tok_pretok_deinit(ingot_tok_pretok *pt) {
    ingot_tok_regex_free(pt->re);
    memset(pt, 0, sizeof *pt);
}
