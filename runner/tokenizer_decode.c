// Decoders: the chain that turns token strings back into text. Each stage
// maps a list of strings to a list of strings, as HF `tokenizers`
// Decoder::decode_chain does (src/decoders/); the caller concatenates the
// final list.
#include <string.h>

#include "tokenizer_internal.h"

typedef ingot_status (*dec_fn)(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                               ingot_err *err);

static ingot_status push_empty(ingot_tok_strlist *out, ingot_err *err) {
    return ingot_tok_strlist_push(out, "", 0, false, err);
}

// ByteLevel: every character of the alphabet back to its byte (a token with a
// character outside the alphabet contributes its UTF-8 bytes unchanged), all
// tokens joined, then invalid UTF-8 → U+FFFD.
ingot_status ingot_tok_bytelevel_append(ingot_tok_strlist *bytes, const char *s, size_t n, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_reserve(bytes, n, err)); // never more bytes than characters' bytes
    uint8_t *const dst = (uint8_t *)bytes->buf + bytes->len;
    size_t k = 0;
    bool mapped = true;
    for (size_t j = 0; j < n && mapped;) {
        int32_t cp;
        j += ingot_tok_utf8_decode(s + j, n - j, &cp);
        const int b = ingot_tok_cp_to_byte(cp);
        mapped = b >= 0;
        dst[k++] = (uint8_t)b;
    }
    if (!mapped) memcpy(dst, s, k = n);
    bytes->len += k;
    bytes->p[bytes->n - 1].len += k;
    return INGOT_OK;
}

static ingot_status dec_bytelevel(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                  ingot_err *err) {
    (void)d;
    ingot_tok_strlist bytes = {0};
    ingot_status st = push_empty(&bytes, err);
    for (size_t i = 0; i < in->n && !st; i++)
        st = ingot_tok_bytelevel_append(&bytes, ingot_tok_strlist_at(in, i), in->p[i].len, err);
    if (!st) st = push_empty(out, err);
    if (!st) st = ingot_tok_utf8_append_lossy(out, (const uint8_t *)bytes.buf, bytes.p[0].len, err);
    ingot_tok_strlist_deinit(&bytes);
    return st;
}

// Metaspace: ▁ → ' '; in the first token every ▁ is dropped unless the
// prepend scheme is "never".
static ingot_status dec_metaspace(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                  ingot_err *err) {
    for (size_t i = 0; i < in->n; i++) {
        const char *const s = ingot_tok_strlist_at(in, i);
        const size_t n = in->p[i].len;
        const bool drop = i == 0 && d->prepend != INGOT_TOK_PREPEND_NEVER;
        INGOT_FORWARD_IF_ERROR(push_empty(out, err));
        for (size_t j = 0; j < n;) {
            const bool rep = d->replacement_len && n - j >= d->replacement_len &&
                             memcmp(s + j, d->replacement, d->replacement_len) == 0;
            if (rep) {
                if (!drop) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, " ", 1, err));
                j += d->replacement_len;
            } else {
                INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, s + j, 1, err));
                j++;
            }
        }
    }
    return INGOT_OK;
}

static ingot_status dec_replace(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                ingot_err *err) {
    void *const md = ingot_tok_regex_match_data(d->re);
    INGOT_FAIL_IF(!md, err, INGOT_E_NOMEM, "tokenizer: out of memory (match data)");
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < in->n && !st; i++) {
        const char *const s = ingot_tok_strlist_at(in, i);
        const size_t n = in->p[i].len;
        st = push_empty(out, err);
        size_t pos = 0;
        while (!st && pos < n) {
            size_t m0, m1;
            const int r = ingot_tok_regex_next(d->re, s, n, pos, md, &m0, &m1, err);
            if (r < 0) st = (ingot_status)r;
            if (r <= 0 || m1 == m0) break; // empty matches replace nothing
            st = ingot_tok_strlist_append(out, s + pos, m0 - pos, err);
            if (!st) st = ingot_tok_strlist_append(out, d->content, d->content_len, err);
            pos = m1;
        }
        if (!st) st = ingot_tok_strlist_append(out, s + pos, n - pos, err);
    }
    ingot_tok_regex_match_data_free(md);
    return st;
}

static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (size_t i = 3; i < 5; i++) {
        const char c = s[i];
        const int x = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (x < 0) return -1;
        v = v * 16 + x;
    }
    return v;
}

// A run of <0xNN> tokens becomes one string when it is valid UTF-8, else one
// U+FFFD per byte token.
static ingot_status flush_bytes(const uint8_t *b, size_t n, ingot_tok_strlist *out, ingot_err *err) {
    static const char fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};
    if (!n) return INGOT_OK;
    if (ingot_tok_utf8_valid_prefix((const char *)b, n) == n) return ingot_tok_strlist_push(out, (const char *)b, n, false, err);
    for (size_t i = 0; i < n; i++) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, fffd, 3, false, err));
    return INGOT_OK;
}

static ingot_status dec_byte_fallback(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                      ingot_err *err) {
    (void)d;
    uint8_t run[256];
    size_t n_run = 0;
    for (size_t i = 0; i < in->n; i++) {
        const int b = byte_token(ingot_tok_strlist_at(in, i), in->p[i].len);
        if (b >= 0 && n_run < sizeof run) {
            run[n_run++] = (uint8_t)b;
            continue;
        }
        INGOT_FORWARD_IF_ERROR(flush_bytes(run, n_run, out, err));
        n_run = 0;
        if (b >= 0) {
            run[n_run++] = (uint8_t)b;
            continue;
        }
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, ingot_tok_strlist_at(in, i), in->p[i].len, false, err));
    }
    return flush_bytes(run, n_run, out, err);
}

static ingot_status dec_fuse(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                             ingot_err *err) {
    (void)d;
    INGOT_FORWARD_IF_ERROR(push_empty(out, err));
    for (size_t i = 0; i < in->n; i++)
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, ingot_tok_strlist_at(in, i), in->p[i].len, err));
    return INGOT_OK;
}

static ingot_status dec_strip(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                              ingot_err *err) {
    for (size_t i = 0; i < in->n; i++) {
        const char *const s = ingot_tok_strlist_at(in, i);
        size_t a = 0, b = in->p[i].len;
        for (uint32_t k = 0; k < d->start && a < b; k++) {
            int32_t cp;
            const size_t m = ingot_tok_utf8_decode(s + a, b - a, &cp);
            if (cp != d->strip_cp) break;
            a += m;
        }
        for (uint32_t k = 0; k < d->stop && b > a; k++) {
            size_t m = 1;
            while (m < b - a && ((uint8_t)s[b - m] & 0xc0) == 0x80) m++;
            int32_t cp;
            ingot_tok_utf8_decode(s + b - m, m, &cp);
            if (cp != d->strip_cp) break;
            b -= m;
        }
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_push(out, s + a, b - a, false, err));
    }
    return INGOT_OK;
}

// WordPiece: "##" continuations glue to the previous token, others get a
// space; `cleanup` undoes BERT's spacing around punctuation and contractions.
static ingot_status wordpiece_cleanup(ingot_tok_strlist *out, size_t from, ingot_err *err) {
    static const char *const pairs[][2] = {
        {" .", "."},       {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},   {" n't", "n't"},
        {" 'm", "'m"},     {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    char *const s = out->buf + from;
    size_t n = out->len - from;
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        const size_t pl = strlen(pairs[k][0]), rl = strlen(pairs[k][1]);
        size_t w = 0;
        for (size_t r = 0; r < n;) {
            if (n - r >= pl && memcmp(s + r, pairs[k][0], pl) == 0) {
                memmove(s + w, pairs[k][1], rl); // rl ≤ pl and w ≤ r: stays in place
                w += rl;
                r += pl;
            } else {
                s[w++] = s[r++];
            }
        }
        n = w;
    }
    out->p[out->n - 1].len = n;
    out->len = from + n;
    (void)err;
    return INGOT_OK;
}

static ingot_status dec_wordpiece(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                                  ingot_err *err) {
    for (size_t i = 0; i < in->n; i++) {
        const char *s = ingot_tok_strlist_at(in, i);
        size_t n = in->p[i].len;
        INGOT_FORWARD_IF_ERROR(push_empty(out, err));
        const size_t from = out->len;
        if (i != 0) {
            if (n >= d->content_len && memcmp(s, d->content, d->content_len) == 0) {
                s += d->content_len;
                n -= d->content_len;
            } else {
                INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, " ", 1, err));
            }
        }
        INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, s, n, err));
        if (d->cleanup) INGOT_FORWARD_IF_ERROR(wordpiece_cleanup(out, from, err));
    }
    return INGOT_OK;
}

// BPEDecoder: the end-of-word suffix becomes a space, except in the last token.
static ingot_status dec_bpe(const ingot_tok_dec *d, const ingot_tok_strlist *in, ingot_tok_strlist *out,
                            ingot_err *err) {
    for (size_t i = 0; i < in->n; i++) {
        const char *const s = ingot_tok_strlist_at(in, i);
        const size_t n = in->p[i].len;
        INGOT_FORWARD_IF_ERROR(push_empty(out, err));
        for (size_t j = 0; j < n;) {
            if (d->content_len && n - j >= d->content_len && memcmp(s + j, d->content, d->content_len) == 0) {
                if (i + 1 != in->n) INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, " ", 1, err));
                j += d->content_len;
            } else {
                INGOT_FORWARD_IF_ERROR(ingot_tok_strlist_append(out, s + j++, 1, err));
            }
        }
    }
    return INGOT_OK;
}

static const dec_fn dec_fns[] = {
    [INGOT_TOK_DEC_BYTELEVEL] = dec_bytelevel, [INGOT_TOK_DEC_METASPACE] = dec_metaspace,
    [INGOT_TOK_DEC_REPLACE] = dec_replace,     [INGOT_TOK_DEC_BYTE_FALLBACK] = dec_byte_fallback,
    [INGOT_TOK_DEC_FUSE] = dec_fuse,           [INGOT_TOK_DEC_STRIP] = dec_strip,
    [INGOT_TOK_DEC_WORDPIECE] = dec_wordpiece, [INGOT_TOK_DEC_BPE] = dec_bpe,
};

void ingot_tok_dec_deinit(ingot_tok_dec *d) {
    ingot_tok_regex_free(d->re);
    ingot_free(d->content);
    memset(d, 0, sizeof *d);
}

ingot_status ingot_tok_decode_chain(const ingot_tokenizer *tok, size_t from, ingot_tok_strlist *toks,
                                    ingot_tok_strlist *tmp, ingot_err *err) {
    for (size_t i = from; i < tok->n_decs; i++) {
        ingot_tok_strlist_reset(tmp);
        INGOT_FORWARD_IF_ERROR(dec_fns[tok->decs[i].kind](&tok->decs[i], toks, tmp, err));
        const ingot_tok_strlist swap = *toks;
        *toks = *tmp;
        *tmp = swap;
    }
    return INGOT_OK;
}
