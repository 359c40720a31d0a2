// Public tokenizer API (include/ingot/tokenizer.h): creation, the encode
// driver (added-token split, then normalize → pre-tokenize → model per
// segment, then the post-processor template), decode, HF per-token decode and
// streaming decode.
#include <string.h>
#include <utf8proc.h>

#include "tokenizer_internal.h"

#define STREAM_MAX_IDS 32 // pending ids kept by a stream before it forces output
#define STREAM_MAGIC 0x6d727473u

struct ingot_tokenizer_stream {
    uint32_t magic;
    const ingot_tokenizer *tok;
    bool skip_special;
    int32_t ids[STREAM_MAX_IDS];
    size_t n_ids;
    size_t prefix_index;          // ids[0..prefix_index) are already rendered context
    ingot_tok_strlist prefix;     // decode of ids[0..n_ids) when last emitted (one piece)
    ingot_tok_strlist text, t1, t2;
};

static bool tok_ok(const ingot_tokenizer *tok) { return tok && tok->magic == INGOT_TOKENIZER_MAGIC; }

// ---- lifecycle ------------------------------------------------------------------------------

ingot_status ingot_tokenizer_create(const char *json, size_t n, ingot_tokenizer **out, ingot_err *err) {
    INGOT_FAIL_IF(!out || (!json && n), err, INGOT_E_ARG, "tokenizer: NULL argument");
    *out = NULL;
    ingot_tokenizer *const tok = ingot_calloc(1, sizeof *tok);
    INGOT_FAIL_IF(!tok, err, INGOT_E_NOMEM, "tokenizer: out of memory");
    tok->unk_id = -1;
    const ingot_status st = ingot_tok_parse(tok, json ? json : "", n, err);
    if (st) {
        ingot_tok_deinit(tok);
        ingot_free(tok);
        return st;
    }
    tok->magic = INGOT_TOKENIZER_MAGIC;
    *out = tok;
    return INGOT_OK;
}

ingot_status ingot_tokenizer_open(const char *path, ingot_tokenizer **out, ingot_err *err) {
    INGOT_FAIL_IF(!path || !out, err, INGOT_E_ARG, "tokenizer: NULL argument");
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    INGOT_FORWARD_IF_ERROR(ingot_file_read_all(path, INGOT_TOKENIZER_MAX_JSON_BYTES, &buf, &n, err));
    const ingot_status st = ingot_tokenizer_create(buf, n, out, err);
    ingot_free(buf);
    if (st) {
        ingot_err_prefix(err, "%s", path);
        ingot_err_where(err, path, NULL, err ? err->off : -1);
    }
    return st;
}

void ingot_tokenizer_free(ingot_tokenizer *tok) {
    if (!tok) return;
    ingot_tok_deinit(tok);
    tok->magic = 0;
    ingot_free(tok);
}

// ---- getters --------------------------------------------------------------------------------

ingot_tokenizer_model ingot_tokenizer_get_model(const ingot_tokenizer *tok) {
    return tok_ok(tok) ? tok->model : INGOT_TOKENIZER_MODEL_COUNT;
}

int32_t ingot_tokenizer_n_vocab(const ingot_tokenizer *tok) { return tok_ok(tok) ? tok->n_vocab : 0; }
int32_t ingot_tokenizer_bos_id(const ingot_tokenizer *tok) { return tok_ok(tok) ? tok->bos_id : -1; }
int32_t ingot_tokenizer_eos_id(const ingot_tokenizer *tok) { return tok_ok(tok) ? tok->eos_id : -1; }

void ingot_tokenizer_set_special_ids(ingot_tokenizer *tok, int32_t bos_id, int32_t eos_id) {
    if (!tok_ok(tok)) return;
    tok->bos_id = bos_id >= 0 && bos_id < tok->n_vocab ? bos_id : -1;
    tok->eos_id = eos_id >= 0 && eos_id < tok->n_vocab ? eos_id : -1;
}

bool ingot_tokenizer_is_special(const ingot_tokenizer *tok, int32_t id) {
    return tok_ok(tok) && id >= 0 && id < tok->n_vocab && tok->added_kind[id] == 2;
}

int32_t ingot_tokenizer_find(const ingot_tokenizer *tok, const char *piece, size_t n) {
    if (!tok || !piece) return -1;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == n && memcmp(tok->added[i].content, piece, n) == 0) return tok->added[i].id;
    return ingot_tok_vocab_find(&tok->vocab, piece, n);
}

// The string of an id: added content first (HF id_to_token), then the vocab.
static bool id_piece(const ingot_tokenizer *tok, int32_t id, const char **s, size_t *n) {
    if (id < 0 || id >= tok->n_vocab) return false;
    if (tok->added_kind[id]) {
        const ingot_tok_added *const a = &tok->added[tok->added_of_id[id]];
        *s = a->content;
        *n = a->len;
        return true;
    }
    if (id >= tok->vocab.n_ids || tok->vocab.len[id] == INGOT_TOK_HOLE) return false;
    *s = tok->vocab.buf + tok->vocab.off[id];
    *n = tok->vocab.len[id];
    return true;
}

ingot_status ingot_tokenizer_token_to_piece(const ingot_tokenizer *tok, int32_t id, const char **piece, size_t *n,
                                            ingot_err *err) {
    INGOT_FAIL_IF(!tok_ok(tok) || !piece || !n, err, INGOT_E_ARG, "tokenizer: NULL argument");
    *piece = NULL;
    *n = 0;
    INGOT_FAIL_IF(!id_piece(tok, id, piece, n), err, INGOT_E_ARG, "tokenizer: id %d has no token (vocab of %d)", id,
                  tok->n_vocab);
    return INGOT_OK;
}

size_t ingot_tokenizer_encode_bound(const ingot_tokenizer *tok, size_t n) {
    if (!tok_ok(tok)) return 0;
    uint64_t a, b, total;
    if (!ingot_mul_u64(n, tok->expand_mul, &a) || !ingot_mul_u64((uint64_t)n + 1, tok->expand_add, &b) ||
        !ingot_add_u64(a, b, &total) || !ingot_add_u64(total, tok->n_prefix + tok->n_suffix + 1, &total) ||
        total > SIZE_MAX / sizeof(int32_t))
        return SIZE_MAX / sizeof(int32_t);
    return (size_t)total;
}

// ---- encode -------------------------------------------------------------------------------------

typedef struct enc_ctx {
    const ingot_tokenizer *tok;
    ingot_tok_strlist text, tmp;     // the normalized segment
    ingot_tok_pretok_run run;
    ingot_tok_scratch scratch;
    ingot_tok_emit emit;
} enc_ctx;

static ingot_status encode_word(void *ctx, const char *w, size_t n, bool first, ingot_err *err) {
    enc_ctx *const c = ctx;
    (void)first;
    return ingot_tok_model_tokenize(c->tok, w, n, &c->scratch, &c->emit, err);
}

static bool is_word_char(int32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
    const utf8proc_category_t k = utf8proc_category(cp);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO) || k == UTF8PROC_CATEGORY_PC; // L*, M*, N*, Pc
}

static int32_t cp_before(const char *s, size_t at) {
    size_t k = 1;
    while (k < at && ((uint8_t)s[at - k] & 0xc0) == 0x80) k++;
    int32_t cp;
    ingot_tok_utf8_decode(s + at - k, k, &cp);
    return cp;
}

// Longest added token at s[i] that respects single_word, among those with
// the given `normalized` flag; its index or -1.
static int32_t added_at(const ingot_tokenizer *tok, const char *s, size_t n, size_t i, bool normalized) {
    const uint8_t b = (uint8_t)s[i];
    for (uint32_t k = tok->added_first[b]; k < tok->added_first[b + 1]; k++) {
        const ingot_tok_added *const a = &tok->added[tok->added_order[k]];
        if (a->normalized != normalized || a->len > n - i || memcmp(s + i, a->content, a->len) != 0) continue;
        if (a->single_word) {
            int32_t after = 0;
            if (i + a->len < n) ingot_tok_utf8_decode(s + i + a->len, n - i - a->len, &after);
            if ((i > 0 && is_word_char(cp_before(s, i))) || (i + a->len < n && is_word_char(after))) continue;
        }
        return (int32_t)tok->added_order[k];
    }
    return -1;
}

// Next added-token match at or after pos: [*m0, *m1) including whitespace
// absorbed by lstrip/rstrip. Returns the added index or -1.
static int32_t next_added(const ingot_tokenizer *tok, const char *s, size_t n, size_t pos, bool normalized, size_t *m0,
                          size_t *m1) {
    if (!tok->n_added) return -1;
    for (size_t i = pos; i < n; i++) {
        if (((uint8_t)s[i] & 0xc0) == 0x80) continue;
        const int32_t k = added_at(tok, s, n, i, normalized);
        if (k < 0) continue;
        const ingot_tok_added *const a = &tok->added[k];
        size_t a0 = i, a1 = i + a->len;
        while (a->lstrip && a0 > pos && ingot_tok_is_whitespace(cp_before(s, a0))) {
            size_t w = 1;
            while (w < a0 && ((uint8_t)s[a0 - w] & 0xc0) == 0x80) w++;
            a0 -= w;
        }
        while (a->rstrip && a1 < n) {
            int32_t cp;
            const size_t w = ingot_tok_utf8_decode(s + a1, n - a1, &cp);
            if (!ingot_tok_is_whitespace(cp)) break;
            a1 += w;
        }
        *m0 = a0;
        *m1 = a1;
        return k;
    }
    return -1;
}

// Split `text` at added tokens with the given `normalized` flag: the pieces
// between go to `fn`, the tokens to the output. `first`: text starts the input.
typedef ingot_status (*segment_fn)(enc_ctx *c, const char *s, size_t n, bool first, ingot_err *err);

static ingot_status split_added(enc_ctx *c, const char *text, size_t n, bool first, bool normalized, segment_fn fn,
                                ingot_err *err) {
    size_t pos = 0;
    for (;;) {
        size_t m0 = n, m1 = n;
        const int32_t k = next_added(c->tok, text, n, pos, normalized, &m0, &m1);
        const size_t end = k >= 0 ? m0 : n;
        if (end > pos) INGOT_FORWARD_IF_ERROR(fn(c, text + pos, end - pos, first && pos == 0, err));
        if (k < 0) return INGOT_OK;
        ingot_tok_emit_id(&c->emit, c->tok->added[k].id);
        pos = m1;
    }
}

static ingot_status pretokenize_piece(enc_ctx *c, const char *s, size_t n, bool first, ingot_err *err) {
    return ingot_tok_pretokenize(&c->run, s, n, first, err);
}

// HF AddedVocabulary: tokens with normalized=false are cut from the raw text,
// those with normalized=true from each segment after normalization.
static ingot_status encode_segment(enc_ctx *c, const char *s, size_t n, bool first, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_tok_normalize(c->tok, s, n, &c->text, &c->tmp, err));
    return split_added(c, ingot_tok_strlist_at(&c->text, 0), c->text.p[0].len, first, true, pretokenize_piece, err);
}

static ingot_status encode_text(enc_ctx *c, const char *text, size_t n, ingot_err *err) {
    return split_added(c, text, n, true, false, encode_segment, err);
}

ingot_status ingot_tokenizer_encode(const ingot_tokenizer *tok, const char *text, size_t n, bool add_special,
                                    int32_t *ids, size_t ids_cap, size_t *n_ids, ingot_err *err) {
    INGOT_FAIL_IF(!tok_ok(tok) || (!text && n) || !n_ids || (!ids && ids_cap), err, INGOT_E_ARG,
                  "tokenizer: NULL argument");
    *n_ids = 0;
    const size_t valid = ingot_tok_utf8_valid_prefix(text, n);
    INGOT_FAIL_IF(valid != n, err, INGOT_E_FORMAT, "tokenizer: text is not valid UTF-8 at byte %zu", valid);
    enc_ctx c = {.tok = tok, .emit = {.ids = ids, .cap = ids_cap}};
    c.run.tok = tok;
    c.run.word_fn = encode_word;
    c.run.word_ctx = &c;
    if (add_special)
        for (size_t i = 0; i < tok->n_prefix; i++) ingot_tok_emit_id(&c.emit, tok->prefix_ids[i]);
    ingot_status st = encode_text(&c, text ? text : "", n, err);
    if (add_special)
        for (size_t i = 0; i < tok->n_suffix; i++) ingot_tok_emit_id(&c.emit, tok->suffix_ids[i]);
    ingot_tok_strlist_deinit(&c.text);
    ingot_tok_strlist_deinit(&c.tmp);
    ingot_tok_pretok_run_deinit(&c.run);
    ingot_tok_scratch_deinit(&c.scratch);
    if (st) return st;
    *n_ids = c.emit.n;
    INGOT_FAIL_IF(c.emit.n > ids_cap, err, INGOT_E_LIMIT, "tokenizer: %zu ids do not fit in a capacity of %zu",
                  c.emit.n, ids_cap);
    return INGOT_OK;
}

// ---- decode ---------------------------------------------------------------------------------------

// Token strings of ids into t1 (one piece each), skipping holes and, when
// asked, special tokens. With a leading ByteLevel decoder the strings go
// straight through its byte mapping into one piece instead.
static ingot_status collect_pieces(const ingot_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special,
                                   bool bytelevel, ingot_tok_strlist *t1, ingot_tok_strlist *t2, ingot_err *err) {
    ingot_tok_strlist_reset(t1);
    ingot_tok_strlist_reset(t2);
    if (bytelevel) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(t2, "", 0, false, err));
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (!id_piece(tok, ids[i], &s, &len)) continue;
        if (skip_special && tok->added_kind[ids[i]] == 2) continue;
        INGOT_FORWARD_IF_ERROR(bytelevel ? ingot_tok_bytelevel_append(t2, s, len, err)
                                         : ingot_tok_strlist_push(t1, s, len, false, err));
    }
    if (!bytelevel) return INGOT_OK;
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(t1, "", 0, false, err));
    return ingot_tok_utf8_append_lossy(t1, (const uint8_t *)t2->buf, t2->p[0].len, err);
}

// Decode ids into `out` as one piece; t1/t2 are scratch.
static ingot_status decode_list(const ingot_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special,
                                ingot_tok_strlist *out, ingot_tok_strlist *t1, ingot_tok_strlist *t2,
                                ingot_err *err) {
    const bool bytelevel = tok->n_decs > 0 && tok->decs[0].kind == INGOT_TOK_DEC_BYTELEVEL;
    INGOT_FORWARD_IF_ERROR(collect_pieces(tok, ids, n, skip_special, bytelevel, t1, t2, err));
    if (tok->has_decoder) INGOT_FORWARD_IF_ERROR(ingot_tok_decode_chain(tok, bytelevel ? 1 : 0, t1, t2, err));
    ingot_tok_strlist_reset(out);
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, "", 0, false, err));
    for (size_t i = 0; i < t1->n; i++) {
        if (!tok->has_decoder && i) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, " ", 1, err));
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, ingot_tok_strlist_at(t1, i), t1->p[i].len, err));
    }
    return INGOT_OK;
}

static ingot_status copy_out(const char *s, size_t n, char *dst, size_t dst_cap, size_t *len, ingot_err *err) {
    *len = n;
    INGOT_FAIL_IF(n > dst_cap, err, INGOT_E_LIMIT, "tokenizer: %zu bytes of text do not fit in %zu", n, dst_cap);
    if (n) memcpy(dst, s, n);
    if (n < dst_cap) dst[n] = 0;
    return INGOT_OK;
}

ingot_status ingot_tokenizer_decode(const ingot_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special,
                                    char *dst, size_t dst_cap, size_t *len, ingot_err *err) {
    INGOT_FAIL_IF(!tok_ok(tok) || (!ids && n) || !len || (!dst && dst_cap), err, INGOT_E_ARG,
                  "tokenizer: NULL argument");
    *len = 0;
    ingot_tok_strlist out = {0}, t1 = {0}, t2 = {0};
    ingot_status st = decode_list(tok, ids, n, skip_special, &out, &t1, &t2, err);
    if (!st) st = copy_out(out.buf, out.p[0].len, dst, dst_cap, len, err);
    ingot_tok_strlist_deinit(&out);
    ingot_tok_strlist_deinit(&t1);
    ingot_tok_strlist_deinit(&t2);
    return st;
}

ingot_status ingot_tokenizer_decode_token_hf(const ingot_tokenizer *tok, int32_t id, char *dst, size_t dst_cap,
                                             size_t *len, ingot_err *err) {
    INGOT_FAIL_IF(!tok_ok(tok) || !len, err, INGOT_E_ARG, "tokenizer: NULL argument");
    *len = 0;
    INGOT_FAIL_IF(id < 0 || id >= tok->n_vocab, err, INGOT_E_ARG, "tokenizer: id %d outside the vocab of %d", id,
                  tok->n_vocab);
    return ingot_tokenizer_decode(tok, &id, 1, false, dst, dst_cap, len, err);
}

// ---- streaming decode -------------------------------------------------------------------------------
// HF DecodeStream: keep a short window of ids, decode it whole, and emit what
// goes beyond the previously rendered prefix once it no longer ends in an
// incomplete character (U+FFFD). Decoding the window, not single tokens,
// keeps context-dependent decoders (Metaspace's first-token rule, WordPiece
// spacing) identical to a full decode.

static bool ends_with_fffd(const char *s, size_t n) {
    return n >= 3 && (uint8_t)s[n - 3] == 0xef && (uint8_t)s[n - 2] == 0xbf && (uint8_t)s[n - 1] == 0xbd;
}

ingot_status ingot_tokenizer_stream_create(const ingot_tokenizer *tok, bool skip_special,
                                           ingot_tokenizer_stream **out, ingot_err *err) {
    INGOT_FAIL_IF(!tok_ok(tok) || !out, err, INGOT_E_ARG, "tokenizer: NULL argument");
    *out = ingot_calloc(1, sizeof **out);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "tokenizer: out of memory (stream)");
    (*out)->magic = STREAM_MAGIC;
    (*out)->tok = tok;
    (*out)->skip_special = skip_special;
    return INGOT_OK;
}

void ingot_tokenizer_stream_free(ingot_tokenizer_stream *st) {
    if (!st) return;
    ingot_tok_strlist_deinit(&st->prefix);
    ingot_tok_strlist_deinit(&st->text);
    ingot_tok_strlist_deinit(&st->t1);
    ingot_tok_strlist_deinit(&st->t2);
    st->magic = 0;
    ingot_free(st);
}

size_t ingot_tokenizer_stream_bound(const ingot_tokenizer *tok) {
    if (!tok_ok(tok)) return 0;
    uint64_t per = 3 * (uint64_t)tok->max_piece_len + 8, total;
    for (size_t i = 0; i < tok->n_decs; i++)
        if (tok->decs[i].kind == INGOT_TOK_DEC_REPLACE && !ingot_mul_u64(per, 1 + tok->decs[i].content_len, &per))
            return SIZE_MAX;
    return ingot_mul_u64(per, STREAM_MAX_IDS, &total) && total < SIZE_MAX ? (size_t)total : SIZE_MAX;
}

static size_t prefix_len(const ingot_tokenizer_stream *st) { return st->prefix.n ? st->prefix.p[0].len : 0; }

// Emit text[prefix..] and keep ids[prefix_index..] as the new context.
static ingot_status stream_emit(ingot_tokenizer_stream *st, char *dst, size_t dst_cap, size_t *len, ingot_err *err) {
    const size_t pl = prefix_len(st), tl = st->text.p[0].len;
    const size_t common = pl && pl <= tl && memcmp(st->text.buf, st->prefix.buf, pl) == 0 ? pl : 0;
    INGOT_FORWARD_IF_ERROR(copy_out(st->text.buf + common, tl - common, dst, dst_cap, len, err));
    const size_t keep_from = st->prefix_index;
    memmove(st->ids, st->ids + keep_from, (st->n_ids - keep_from) * sizeof *st->ids);
    st->n_ids -= keep_from;
    st->prefix_index = st->n_ids;
    return decode_list(st->tok, st->ids, st->n_ids, st->skip_special, &st->prefix, &st->t1, &st->t2, err);
}

ingot_status ingot_tokenizer_stream_push(ingot_tokenizer_stream *st, int32_t id, char *dst, size_t dst_cap,
                                         size_t *len, ingot_err *err) {
    INGOT_FAIL_IF(!st || st->magic != STREAM_MAGIC || !len || (!dst && dst_cap), err, INGOT_E_ARG,
                  "tokenizer: bad stream argument");
    *len = 0;
    if (dst_cap) dst[0] = 0;
    if (st->n_ids == STREAM_MAX_IDS) { // drop context we no longer need
        memmove(st->ids, st->ids + st->prefix_index, (st->n_ids - st->prefix_index) * sizeof *st->ids);
        st->n_ids -= st->prefix_index;
        st->prefix_index = 0;
        if (st->n_ids == STREAM_MAX_IDS) st->n_ids = 0; // a window that rendered nothing at all
        INGOT_FORWARD_IF_ERROR(decode_list(st->tok, st->ids, 0, st->skip_special, &st->prefix, &st->t1, &st->t2, err));
    }
    st->ids[st->n_ids++] = id;
    INGOT_FORWARD_IF_ERROR(decode_list(st->tok, st->ids, st->n_ids, st->skip_special, &st->text, &st->t1, &st->t2, err));
    const size_t tl = st->text.p[0].len;
    const bool pending = ends_with_fffd(st->text.buf, tl) && st->n_ids < STREAM_MAX_IDS;
    if (tl <= prefix_len(st) || pending) return INGOT_OK;
    const ingot_status s = stream_emit(st, dst, dst_cap, len, err);
    if (s == INGOT_E_LIMIT) st->n_ids--; // nothing consumed
    return s;
}

ingot_status ingot_tokenizer_stream_flush(ingot_tokenizer_stream *st, char *dst, size_t dst_cap, size_t *len,
                                          ingot_err *err) {
    INGOT_FAIL_IF(!st || st->magic != STREAM_MAGIC || !len || (!dst && dst_cap), err, INGOT_E_ARG,
                  "tokenizer: bad stream argument");
    *len = 0;
    if (dst_cap) dst[0] = 0;
    INGOT_FORWARD_IF_ERROR(decode_list(st->tok, st->ids, st->n_ids, st->skip_special, &st->text, &st->t1, &st->t2, err));
    const size_t pl = prefix_len(st), tl = st->text.p[0].len;
    if (tl > pl) INGOT_FORWARD_IF_ERROR(copy_out(st->text.buf + pl, tl - pl, dst, dst_cap, len, err));
    st->n_ids = 0;
    st->prefix_index = 0;
    ingot_tok_strlist_reset(&st->prefix);
    return INGOT_OK;
}
