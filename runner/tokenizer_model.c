// Tokenizer models: turn one pre-tokenized word into ids.
//   BPE       — characters (or <0xNN> byte tokens, or unk) then merges applied
//               lowest rank first, leftmost first on ties, with a binary
//               min-heap over (rank, position) and lazy invalidation; O(n log n)
//               per word (HF src/models/bpe/word.rs merge_all).
//   WordLevel — whole-word lookup, unk otherwise.
//   WordPiece — greedy longest match with the "##" continuation prefix.
//   Unigram   — Viterbi best segmentation by piece log-probabilities, unknown
//               characters scored min_score − 10 and fused
//               (HF src/models/unigram/model.rs encode_optimized).
#include <string.h>

#include "tokenizer_internal.h"

typedef struct bpe_sym {
    int32_t id;
    int32_t prev, next;   // neighbour indices, -1 at the ends
    uint32_t len;         // bytes of the word covered; 0 once merged away
} bpe_sym;

typedef struct bpe_merge {
    uint32_t rank;
    uint32_t pos;
    int32_t id;
} bpe_merge;

static ingot_status scratch_grow(void **p, size_t *cap, size_t need, size_t elem, ingot_err *err) {
    if (need <= *cap) return INGOT_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *const q = ingot_realloc(*p, n * elem);
    INGOT_FAIL_IF(!q, err, INGOT_E_NOMEM, "tokenizer: out of memory (%zu work items)", n);
    *p = q;
    *cap = n;
    return INGOT_OK;
}

void ingot_tok_scratch_deinit(ingot_tok_scratch *s) {
    ingot_free(s->sym);
    ingot_free(s->heap);
    ingot_free(s->best);
    ingot_free(s->best_id);
    ingot_free(s->best_from);
    ingot_free(s->buf);
    memset(s, 0, sizeof *s);
}

// ---- BPE ------------------------------------------------------------------------------

static bool merge_less(const bpe_merge *a, const bpe_merge *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(bpe_merge *h, size_t *n, bpe_merge m) {
    size_t i = (*n)++;
    h[i] = m;
    while (i > 0) {
        const size_t parent = (i - 1) / 2;
        if (!merge_less(&h[i], &h[parent])) break;
        const bpe_merge t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static bpe_merge heap_pop(bpe_merge *h, size_t *n) {
    const bpe_merge top = h[0];
    h[0] = h[--(*n)];
    for (size_t i = 0;;) {
        const size_t l = 2 * i + 1, r = l + 1;
        size_t m = i;
        if (l < *n && merge_less(&h[l], &h[m])) m = l;
        if (r < *n && merge_less(&h[r], &h[m])) m = r;
        if (m == i) break;
        const bpe_merge t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

static void bpe_add(bpe_sym *sym, size_t *n, int32_t id, uint32_t len) {
    const int32_t i = (int32_t)*n;
    sym[i] = (bpe_sym){.id = id, .prev = i - 1, .next = -1, .len = len};
    if (i > 0) sym[i - 1].next = i;
    (*n)++;
}

static void bpe_try_push(const ingot_tokenizer *tok, const bpe_sym *sym, bpe_merge *h, size_t *nh, int32_t pos) {
    if (pos < 0 || sym[pos].next < 0) return;
    const ingot_tok_merge_slot *const m = ingot_tok_merges_find(&tok->merges, sym[pos].id, sym[sym[pos].next].id);
    if (m) heap_push(h, nh, (bpe_merge){.rank = m->rank, .pos = (uint32_t)pos, .id = m->id});
}

static void bpe_merge_all(const ingot_tokenizer *tok, bpe_sym *sym, size_t n, bpe_merge *h) {
    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++) bpe_try_push(tok, sym, h, &nh, (int32_t)i);
    while (nh) {
        const bpe_merge top = heap_pop(h, &nh);
        bpe_sym *const cur = &sym[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        bpe_sym *const right = &sym[cur->next];
        const ingot_tok_merge_slot *const m = ingot_tok_merges_find(&tok->merges, cur->id, right->id);
        if (!m || m->id != top.id) continue; // stale entry
        cur->id = top.id;
        cur->len += right->len;
        cur->next = right->next;
        right->len = 0;
        if (cur->next >= 0) sym[cur->next].prev = (int32_t)top.pos;
        bpe_try_push(tok, sym, h, &nh, cur->prev);
        bpe_try_push(tok, sym, h, &nh, (int32_t)top.pos);
    }
}

// Symbol for one character: vocab hit, else byte tokens, else (fused) unk;
// dropped when there is no unk token (as HF does).
static void bpe_char(const ingot_tokenizer *tok, const char *s, size_t k, uint32_t byte_len, bpe_sym *sym,
                     size_t *n, bool *unk_pending, uint32_t *unk_len) {
    const int32_t id = ingot_tok_vocab_find(&tok->vocab, s, k);
    if (id >= 0) {
        if (*unk_pending) bpe_add(sym, n, tok->unk_id, *unk_len);
        *unk_pending = false;
        bpe_add(sym, n, id, byte_len);
        return;
    }
    if (tok->byte_fallback) {
        bool all = true;
        for (size_t b = 0; b < k; b++) all = all && tok->byte_ids[(uint8_t)s[b]] >= 0;
        if (all) {
            if (*unk_pending) bpe_add(sym, n, tok->unk_id, *unk_len);
            *unk_pending = false;
            for (size_t b = 0; b < k; b++) bpe_add(sym, n, tok->byte_ids[(uint8_t)s[b]], 1);
            return;
        }
    }
    if (tok->unk_id < 0) return;
    if (*unk_pending && tok->fuse_unk) {
        *unk_len += byte_len;
        return;
    }
    if (*unk_pending) bpe_add(sym, n, tok->unk_id, *unk_len);
    *unk_pending = true;
    *unk_len = byte_len;
}

static ingot_status bpe_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s,
                                 ingot_tok_emit *e, ingot_err *err) {
    if (tok->ignore_merges) {
        const int32_t id = ingot_tok_vocab_find(&tok->vocab, w, n);
        if (id >= 0) {
            ingot_tok_emit_id(e, id);
            return INGOT_OK;
        }
    }
    // Every byte may become a symbol (byte fallback); merges push ≤ 3n entries.
    INGOT_FORWARD_IF_ERROR(scratch_grow(&s->sym, &s->sym_cap, n + 1, sizeof(bpe_sym), err));
    INGOT_FORWARD_IF_ERROR(scratch_grow(&s->heap, &s->heap_cap, 3 * n + 4, sizeof(bpe_merge), err));
    INGOT_FORWARD_IF_ERROR(
        scratch_grow((void **)&s->buf, &s->buf_cap, tok->subword_prefix_len + tok->word_suffix_len + 8, 1, err));
    bpe_sym *const sym = s->sym;
    size_t n_sym = 0;
    bool unk_pending = false;
    uint32_t unk_len = 0;
    char *const buf = s->buf; // prefix + one character + suffix
    for (size_t i = 0; i < n;) {
        int32_t cp;
        const size_t k = ingot_tok_utf8_decode(w + i, n - i, &cp);
        const bool affix = (i > 0 && tok->subword_prefix) || (i + k == n && tok->word_suffix);
        if (!affix) {
            bpe_char(tok, w + i, k, (uint32_t)k, sym, &n_sym, &unk_pending, &unk_len);
        } else {
            size_t m = 0;
            if (i > 0 && tok->subword_prefix) memcpy(buf, tok->subword_prefix, m = tok->subword_prefix_len);
            memcpy(buf + m, w + i, k);
            m += k;
            if (i + k == n && tok->word_suffix) {
                memcpy(buf + m, tok->word_suffix, tok->word_suffix_len);
                m += tok->word_suffix_len;
            }
            bpe_char(tok, buf, m, (uint32_t)k, sym, &n_sym, &unk_pending, &unk_len);
        }
        i += k;
    }
    if (unk_pending) bpe_add(sym, &n_sym, tok->unk_id, unk_len);
    bpe_merge_all(tok, sym, n_sym, s->heap);
    for (int32_t i = n_sym ? 0 : -1; i >= 0; i = sym[i].next) ingot_tok_emit_id(e, sym[i].id);
    return INGOT_OK;
}

// ---- WordLevel / WordPiece -----------------------------------------------------------------

static ingot_status need_unk(const ingot_tokenizer *tok, const char *w, size_t n, ingot_err *err) {
    INGOT_FAIL_IF(tok->unk_id < 0, err, INGOT_E_FORMAT,
                  "tokenizer: word '%.*s' is not in the vocab and the model has no unk token",
                  (int)(n > 40 ? 40 : n), w);
    return INGOT_OK;
}

static ingot_status wordlevel_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_emit *e,
                                       ingot_err *err) {
    const int32_t id = ingot_tok_vocab_find(&tok->vocab, w, n);
    if (id < 0) INGOT_FORWARD_IF_ERROR(need_unk(tok, w, n, err));
    ingot_tok_emit_id(e, id >= 0 ? id : tok->unk_id);
    return INGOT_OK;
}

static ingot_status wordpiece_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s,
                                       ingot_tok_emit *e, ingot_err *err) {
    size_t n_chars = 0;
    for (size_t i = 0; i < n; i++) n_chars += ((uint8_t)w[i] & 0xc0) != 0x80;
    const size_t mark = e->n;
    const size_t plen = tok->subword_prefix_len, maxl = tok->vocab.max_len;
    INGOT_FORWARD_IF_ERROR(scratch_grow((void **)&s->buf, &s->buf_cap, plen + maxl + 8, 1, err));
    char *const buf = s->buf;
    for (size_t start = 0; n_chars <= tok->max_input_chars && start < n;) {
        const size_t pre = start > 0 ? plen : 0;
        const size_t room = maxl > pre ? maxl - pre : 0; // longer candidates cannot be in the vocab
        size_t end = n;
        if (end - start > room) {
            end = start + room;
            while (end > start && ((uint8_t)w[end] & 0xc0) == 0x80) end--;
        }
        int32_t id = -1;
        while (end > start) {
            if (pre) memcpy(buf, tok->subword_prefix, pre);
            memcpy(buf + pre, w + start, end - start);
            id = ingot_tok_vocab_find(&tok->vocab, buf, pre + end - start);
            if (id >= 0) break;
            do end--;
            while (end > start && ((uint8_t)w[end] & 0xc0) == 0x80);
        }
        if (id < 0) {
            e->n = mark; // the whole word becomes unk
            n_chars = SIZE_MAX;
            break;
        }
        ingot_tok_emit_id(e, id);
        start = end;
    }
    if (n_chars > tok->max_input_chars) {
        e->n = mark;
        INGOT_FORWARD_IF_ERROR(need_unk(tok, w, n, err));
        ingot_tok_emit_id(e, tok->unk_id);
    }
    return INGOT_OK;
}

// ---- Unigram ---------------------------------------------------------------------------------

static ingot_status unigram_emit_piece(const ingot_tokenizer *tok, const char *p, size_t k, int32_t id,
                                       ingot_tok_emit *e, ingot_err *err) {
    if (id < 0) id = ingot_tok_vocab_find(&tok->vocab, p, k);
    if (id >= 0) {
        ingot_tok_emit_id(e, id);
        return INGOT_OK;
    }
    bool all = tok->byte_fallback;
    for (size_t b = 0; all && b < k; b++) all = tok->byte_ids[(uint8_t)p[b]] >= 0;
    if (all) {
        for (size_t b = 0; b < k; b++) ingot_tok_emit_id(e, tok->byte_ids[(uint8_t)p[b]]);
        return INGOT_OK;
    }
    INGOT_FORWARD_IF_ERROR(need_unk(tok, p, k, err));
    ingot_tok_emit_id(e, tok->unk_id);
    return INGOT_OK;
}

static void unigram_viterbi(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s) {
    for (size_t i = 0; i <= n; i++) s->best_from[i] = SIZE_MAX;
    s->best[0] = 0;
    s->best_from[0] = 0;
    for (size_t at = 0; at < n;) {
        int32_t cp;
        const size_t mblen = ingot_tok_utf8_decode(w + at, n - at, &cp);
        if (s->best_from[at] != SIZE_MAX) {
            bool single = false;
            const size_t lim = n - at < tok->vocab.max_len ? n - at : tok->vocab.max_len;
            for (size_t len = 1; len <= lim; len++) {
                if (at + len < n && ((uint8_t)w[at + len] & 0xc0) == 0x80) continue;
                const int32_t id = ingot_tok_vocab_find(&tok->vocab, w + at, len);
                if (id < 0) continue;
                const double cand = s->best[at] + tok->scores[id];
                if (s->best_from[at + len] == SIZE_MAX || cand > s->best[at + len]) {
                    s->best[at + len] = cand;
                    s->best_from[at + len] = at;
                    s->best_id[at + len] = id;
                }
                single = single || len == mblen;
            }
            const double cand = s->best[at] + tok->unk_score;
            if (!single && (s->best_from[at + mblen] == SIZE_MAX || cand > s->best[at + mblen])) {
                s->best[at + mblen] = cand;
                s->best_from[at + mblen] = at;
                s->best_id[at + mblen] = -1; // unknown
            }
        }
        at += mblen;
    }
}

static ingot_status unigram_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s,
                                     ingot_tok_emit *e, ingot_err *err) {
    if (n + 1 > s->best_cap) {
        ingot_free(s->best);
        ingot_free(s->best_id);
        ingot_free(s->best_from);
        s->best = ingot_malloc(2 * (n + 1) * sizeof *s->best); // doubles as the backtrack stack
        s->best_id = ingot_malloc((n + 1) * sizeof *s->best_id);
        s->best_from = ingot_malloc((n + 1) * sizeof *s->best_from);
        s->best_cap = s->best && s->best_id && s->best_from ? n + 1 : 0;
        INGOT_FAIL_IF(!s->best_cap, err, INGOT_E_NOMEM, "tokenizer: out of memory (lattice of %zu)", n + 1);
    }
    unigram_viterbi(tok, w, n, s);
    // Walk back from the end, pushing (end, start) of each piece on a stack
    // kept in `best` (scores are no longer needed; ≤ n pieces).
    size_t n_pieces = 0;
    for (size_t end = n; end > 0;) {
        const size_t from = s->best_from[end];
        if (!INGOT_ALWAYS(from < end)) return ingot_err_set(err, INGOT_E_STATE, "tokenizer: broken lattice");
        // Fuse consecutive unknowns: extend while the previous piece is also unknown.
        size_t a = from;
        if (s->best_id[end] < 0 && tok->fuse_unk)
            while (a > 0 && s->best_id[a] < 0) a = s->best_from[a];
        s->best[n_pieces++] = (double)end; // exact: offsets < 2^53
        s->best[n_pieces++] = (double)a;
        end = a;
    }
    while (n_pieces) {
        const size_t a = (size_t)s->best[--n_pieces];
        const size_t b = (size_t)s->best[--n_pieces];
        const bool unknown = s->best_id[b] < 0;
        INGOT_FORWARD_IF_ERROR(unigram_emit_piece(tok, w + a, b - a, unknown ? -2 : s->best_id[b], e, err));
    }
    return INGOT_OK;
}

// ---- dispatch -----------------------------------------------------------------------------------

ingot_status ingot_tok_model_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s,
                                      ingot_tok_emit *e, ingot_err *err) {
    if (n == 0) return INGOT_OK;
    switch (tok->model) {
    case INGOT_TOKENIZER_MODEL_BPE:
        return bpe_tokenize(tok, w, n, s, e, err);
    case INGOT_TOKENIZER_MODEL_WORDLEVEL:
        return wordlevel_tokenize(tok, w, n, e, err);
    case INGOT_TOKENIZER_MODEL_WORDPIECE:
        return wordpiece_tokenize(tok, w, n, s, e, err);
    case INGOT_TOKENIZER_MODEL_UNIGRAM:
        return unigram_tokenize(tok, w, n, s, e, err);
    default:
        return ingot_err_set(err, INGOT_E_STATE, "tokenizer: no model");
    }
}
