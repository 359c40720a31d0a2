// Internal structures of the tokenizer (include/ingot/tokenizer.h): the
// parsed tokenizer.json, the hash tables behind vocab and merge lookups, the
// growable string lists the pipeline passes between stages, and the entry
// points of each stage.
//
// Pipeline of ingot_tokenizer_encode (same order as HF `tokenizers`):
//   added-token split → per segment: normalizers → pre-tokenizers → model
//   (BPE / WordLevel / WordPiece / Unigram) → post-processor template.
// Decode: id → token string → decoder chain → concatenation.
#ifndef INGOT_TOKENIZER_INTERNAL_H
#define INGOT_TOKENIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/status.h"
#include "ingot/tokenizer.h"

#define INGOT_TOKENIZER_MAGIC 0x6b6f7469u // "itok"
#define INGOT_TOK_HOLE UINT32_MAX         // vocab_len[] of an id without a string

// ---- growable string list ---------------------------------------------------
// Pieces are byte ranges of one arena. `first` marks a piece that starts at
// offset 0 of the original text (Metaspace prepend_scheme "first").
typedef struct ingot_tok_piece {
    size_t off;
    size_t len;
    bool first;
} ingot_tok_piece;

typedef struct ingot_tok_strlist {
    char *buf;
    size_t len, cap;
    ingot_tok_piece *p;
    size_t n, n_cap;
} ingot_tok_strlist;

void ingot_tok_strlist_reset(ingot_tok_strlist *l);
void ingot_tok_strlist_deinit(ingot_tok_strlist *l);
ingot_status ingot_tok_strlist_push(ingot_tok_strlist *l, const char *s, size_t n, bool first, ingot_err *err);
// Make room for `extra` more bytes in the arena (pointers into it move).
ingot_status ingot_tok_strlist_reserve(ingot_tok_strlist *l, size_t extra, ingot_err *err);
// Append bytes to the last piece (which must end at the arena's end).
ingot_status ingot_tok_strlist_append(ingot_tok_strlist *l, const char *s, size_t n, ingot_err *err);
// An empty arena has no buffer yet: its pieces are all "".
static inline const char *ingot_tok_strlist_at(const ingot_tok_strlist *l, size_t i) {
    return l->buf ? l->buf + l->p[i].off : "";
}

// ---- UTF-8 helpers ----------------------------------------------------------
// Length of the valid UTF-8 prefix of s[0..n) (== n when all valid).
size_t ingot_tok_utf8_valid_prefix(const char *s, size_t n);
// Decode one code point at s (valid UTF-8 assumed); returns its byte length.
size_t ingot_tok_utf8_decode(const char *s, size_t n, int32_t *cp);
size_t ingot_tok_utf8_encode(int32_t cp, char out[4]);
// Append bytes to l's last piece, replacing each maximal invalid UTF-8
// subsequence by U+FFFD (Rust String::from_utf8_lossy).
ingot_status ingot_tok_utf8_append_lossy(ingot_tok_strlist *l, const uint8_t *s, size_t n, ingot_err *err);
bool ingot_tok_is_whitespace(int32_t cp); // Rust char::is_whitespace

// ---- byte-level alphabet (GPT-2 bytes_to_unicode) ---------------------------
// byte → code point and the reverse (-1 for code points outside the map).
int32_t ingot_tok_byte_to_cp(uint8_t b);
int ingot_tok_cp_to_byte(int32_t cp);

// ---- vocab: string → id hash table over an id-indexed string table ----------
typedef struct ingot_tok_vocab {
    char *buf;            // all strings, back to back
    size_t buf_len, buf_cap;
    uint64_t *off;        // [n_ids] byte offset of id's string in buf
    uint32_t *len;        // [n_ids] its length, INGOT_TOK_HOLE for holes
    int32_t n_ids;        // 1 + largest id
    int32_t *slots;       // open addressing, id or -1
    size_t mask;          // n_slots - 1
    size_t max_len;       // longest string
} ingot_tok_vocab;

// Build from (string, id) pairs already stored via ingot_tok_vocab_put.
ingot_status ingot_tok_vocab_init(ingot_tok_vocab *v, int32_t n_ids, ingot_err *err);
ingot_status ingot_tok_vocab_put(ingot_tok_vocab *v, const char *s, size_t n, int32_t id, ingot_err *err);
ingot_status ingot_tok_vocab_index(ingot_tok_vocab *v, ingot_err *err);
void ingot_tok_vocab_deinit(ingot_tok_vocab *v);
int32_t ingot_tok_vocab_find(const ingot_tok_vocab *v, const char *s, size_t n);

// ---- merges: (left id, right id) → (rank, merged id) ------------------------
typedef struct ingot_tok_merge_slot {
    uint64_t key;         // left << 32 | right; UINT64_MAX when empty
    uint32_t rank;
    int32_t id;
} ingot_tok_merge_slot;

typedef struct ingot_tok_merges {
    ingot_tok_merge_slot *slots;
    size_t mask;
    size_t n;
} ingot_tok_merges;

ingot_status ingot_tok_merges_init(ingot_tok_merges *m, size_t n_expected, ingot_err *err);
void ingot_tok_merges_deinit(ingot_tok_merges *m);
// Keeps the first (lowest) rank when a pair repeats.
void ingot_tok_merges_put(ingot_tok_merges *m, int32_t a, int32_t b, uint32_t rank, int32_t id);
const ingot_tok_merge_slot *ingot_tok_merges_find(const ingot_tok_merges *m, int32_t a, int32_t b);

// ---- regex (PCRE2, UTF + UCP, JIT when available) ---------------------------
typedef struct ingot_tok_regex ingot_tok_regex;
ingot_status ingot_tok_regex_compile(const char *pattern, size_t n, bool literal, ingot_tok_regex **out,
                                     ingot_err *err);
void ingot_tok_regex_free(ingot_tok_regex *re);
// Find the next match at or after `start` in s[0..n); returns 1 and sets
// [*m0, *m1) on a match, 0 on none, negative status on an error.
int ingot_tok_regex_next(const ingot_tok_regex *re, const char *s, size_t n, size_t start, void *match_data,
                         size_t *m0, size_t *m1, ingot_err *err);
void *ingot_tok_regex_match_data(const ingot_tok_regex *re);
void ingot_tok_regex_match_data_free(void *md);

// ---- normalizers --------------------------------------------------------------
typedef enum ingot_tok_norm_kind {
    INGOT_TOK_NORM_NFC,
    INGOT_TOK_NORM_NFD,
    INGOT_TOK_NORM_NFKC,
    INGOT_TOK_NORM_NFKD,
    INGOT_TOK_NORM_LOWERCASE,
    INGOT_TOK_NORM_STRIP,
    INGOT_TOK_NORM_STRIP_ACCENTS,
    INGOT_TOK_NORM_REPLACE,
    INGOT_TOK_NORM_PREPEND,
    INGOT_TOK_NORM_BERT,
} ingot_tok_norm_kind;

typedef struct ingot_tok_norm {
    ingot_tok_norm_kind kind;
    bool left, right;              // Strip
    ingot_tok_regex *re;           // Replace
    char *content;                 // Replace / Prepend (owned)
    size_t content_len;
    bool clean_text, chinese_chars, strip_accents, lowercase; // BertNormalizer
} ingot_tok_norm;

// ---- pre-tokenizers -----------------------------------------------------------
typedef enum ingot_tok_split_behavior {
    INGOT_TOK_SPLIT_REMOVED,
    INGOT_TOK_SPLIT_ISOLATED,
    INGOT_TOK_SPLIT_MERGED_WITH_PREVIOUS,
    INGOT_TOK_SPLIT_MERGED_WITH_NEXT,
    INGOT_TOK_SPLIT_CONTIGUOUS,
} ingot_tok_split_behavior;

typedef enum ingot_tok_pretok_kind {
    INGOT_TOK_PRETOK_SPLIT,       // regex/string split (also Digits, Punctuation, Whitespace…)
    INGOT_TOK_PRETOK_BYTELEVEL,
    INGOT_TOK_PRETOK_METASPACE,
} ingot_tok_pretok_kind;

typedef enum ingot_tok_prepend {
    INGOT_TOK_PREPEND_ALWAYS,
    INGOT_TOK_PREPEND_FIRST,
    INGOT_TOK_PREPEND_NEVER,
} ingot_tok_prepend;

typedef struct ingot_tok_pretok {
    ingot_tok_pretok_kind kind;
    ingot_tok_regex *re;             // Split (owned); ByteLevel with use_regex
    ingot_tok_split_behavior behavior;
    bool invert;
    bool add_prefix_space;           // ByteLevel
    char replacement[8];             // Metaspace, UTF-8
    size_t replacement_len;
    ingot_tok_prepend prepend;       // Metaspace
    bool split;                      // Metaspace
} ingot_tok_pretok;

// ---- decoders -----------------------------------------------------------------
typedef enum ingot_tok_dec_kind {
    INGOT_TOK_DEC_BYTELEVEL,
    INGOT_TOK_DEC_METASPACE,
    INGOT_TOK_DEC_REPLACE,
    INGOT_TOK_DEC_BYTE_FALLBACK,
    INGOT_TOK_DEC_FUSE,
    INGOT_TOK_DEC_STRIP,
    INGOT_TOK_DEC_WORDPIECE,
    INGOT_TOK_DEC_BPE,
} ingot_tok_dec_kind;

typedef struct ingot_tok_dec {
    ingot_tok_dec_kind kind;
    ingot_tok_regex *re;             // Replace
    char *content;                   // Replace content, WordPiece prefix, BPE suffix (owned)
    size_t content_len;
    int32_t strip_cp;                // Strip content character
    char replacement[8];             // Metaspace
    size_t replacement_len;
    ingot_tok_prepend prepend;
    uint32_t start, stop;            // Strip
    bool cleanup;                    // WordPiece
} ingot_tok_dec;

// ---- added tokens -------------------------------------------------------------
typedef struct ingot_tok_added {
    int32_t id;
    char *content;                   // owned
    size_t len;
    bool special, lstrip, rstrip, single_word, normalized;
} ingot_tok_added;

// ---- the tokenizer --------------------------------------------------------------
#define INGOT_TOK_MAX_STAGES 64

struct ingot_tokenizer {
    uint32_t magic;
    ingot_tokenizer_model model;

    ingot_tok_vocab vocab;           // model vocab
    int32_t n_vocab;                 // 1 + largest id over vocab and added tokens
    size_t max_piece_len;            // longest token string (vocab or added)

    // BPE / WordPiece / WordLevel / Unigram options
    ingot_tok_merges merges;
    int32_t unk_id;                  // -1: none
    bool byte_fallback, ignore_merges, fuse_unk;
    char *subword_prefix;            // BPE continuing_subword_prefix / WordPiece "##" (owned, may be NULL)
    size_t subword_prefix_len;
    char *word_suffix;               // BPE end_of_word_suffix (owned, may be NULL)
    size_t word_suffix_len;
    int32_t byte_ids[256];           // id of "<0xNN>", -1 when absent
    size_t max_input_chars;          // WordPiece
    double *scores;                  // Unigram [n_vocab]
    double unk_score;                // Unigram: min score - 10

    ingot_tok_added *added;          // [n_added]
    size_t n_added;
    uint32_t *added_order;           // [n_added] indices sorted by (first byte, length desc)
    uint32_t added_first[257];       // added_order range per first byte
    uint8_t *added_kind;             // [n_vocab] 0 none, 1 added, 2 added + special
    uint32_t *added_of_id;           // [n_vocab] index into added (valid when added_kind != 0)

    ingot_tok_norm norms[INGOT_TOK_MAX_STAGES];
    size_t n_norms;
    ingot_tok_pretok pretoks[INGOT_TOK_MAX_STAGES];
    size_t n_pretoks;
    ingot_tok_dec decs[INGOT_TOK_MAX_STAGES];
    size_t n_decs;
    bool has_decoder;

    int32_t *prefix_ids, *suffix_ids; // post-processor template (single sequence)
    size_t n_prefix, n_suffix;
    bool has_template_bos, has_template_eos;

    int32_t bos_id, eos_id;
    uint64_t expand_mul, expand_add; // encode_bound: ids ≤ n·mul + (n+1)·add + specials
};

// GPT-2 split pattern used by ByteLevel(use_regex: true).
extern const char ingot_tok_gpt2_pattern[];

// tokenizer_json.c: fill tok from JSON (tok zeroed, magic unset).
ingot_status ingot_tok_parse(ingot_tokenizer *tok, const char *json, size_t n, ingot_err *err);
void ingot_tok_deinit(ingot_tokenizer *tok);

// tokenizer_norm.c: normalize s[0..n) into out (reset first, one piece);
// tmp is scratch.
ingot_status ingot_tok_normalize(const ingot_tokenizer *tok, const char *s, size_t n, ingot_tok_strlist *out,
                                 ingot_tok_strlist *tmp, ingot_err *err);
void ingot_tok_norm_deinit(ingot_tok_norm *nm);

// tokenizer_pretok.c: split one normalized segment into words, handing
// each word to run->word_fn as soon as it is cut (depth-first through the
// pre-tokenizer stages). Words are ephemeral: valid during the callback.
typedef ingot_status (*ingot_tok_piece_fn)(void *ctx, const char *s, size_t n, bool first, ingot_err *err);

typedef struct ingot_tok_pretok_run {
    const ingot_tokenizer *tok;
    ingot_tok_piece_fn word_fn;
    void *word_ctx;
    ingot_tok_strlist bufs[2 * INGOT_TOK_MAX_STAGES]; // two scratch texts per stage
    void *md[INGOT_TOK_MAX_STAGES];                   // match data per stage, made on first use
} ingot_tok_pretok_run;

ingot_status ingot_tok_pretokenize(ingot_tok_pretok_run *run, const char *s, size_t n, bool first, ingot_err *err);
void ingot_tok_pretok_run_deinit(ingot_tok_pretok_run *run);
void ingot_tok_pretok_deinit(ingot_tok_pretok *pt);
// Split with a regex and a behaviour, calling fn for each non-empty piece.
ingot_status ingot_tok_split_each(const ingot_tok_regex *re, void *md, ingot_tok_split_behavior behavior, bool invert,
                                  const char *s, size_t n, bool first, ingot_tok_piece_fn fn, void *ctx,
                                  ingot_err *err);
// The same, appending the pieces to out.
ingot_status ingot_tok_split_regex(const ingot_tok_regex *re, ingot_tok_split_behavior behavior, bool invert,
                                   const char *s, size_t n, bool first, ingot_tok_strlist *out, ingot_err *err);

// tokenizer_model.c: tokenize one word, appending ids through `emit`.
typedef struct ingot_tok_emit {
    int32_t *ids;
    size_t cap;
    size_t n;                        // count so far (may exceed cap: then only counted)
} ingot_tok_emit;

static inline void ingot_tok_emit_id(ingot_tok_emit *e, int32_t id) {
    if (e->n < e->cap) e->ids[e->n] = id;
    e->n++;
}

typedef struct ingot_tok_scratch {
    void *sym;                        // BPE symbols
    size_t sym_cap;
    void *heap;                       // BPE merge heap
    size_t heap_cap;
    double *best;                     // Unigram
    int32_t *best_id;
    size_t *best_from;
    size_t best_cap;
    char *buf;                        // one affixed character / WordPiece candidate
    size_t buf_cap;
} ingot_tok_scratch;

void ingot_tok_scratch_deinit(ingot_tok_scratch *s);
ingot_status ingot_tok_model_tokenize(const ingot_tokenizer *tok, const char *w, size_t n, ingot_tok_scratch *s,
                                      ingot_tok_emit *e, ingot_err *err);

// tokenizer_decode.c: apply decoders [from, n_decs) to token strings in
// place (list → list); the caller concatenates.
ingot_status ingot_tok_decode_chain(const ingot_tokenizer *tok, size_t from, ingot_tok_strlist *toks,
                                    ingot_tok_strlist *tmp, ingot_err *err);
// The ByteLevel decoder's byte mapping of one token, appended to the last
// piece of `bytes` (UTF-8 repair is left to the caller).
ingot_status ingot_tok_bytelevel_append(ingot_tok_strlist *bytes, const char *s, size_t n, ingot_err *err);
void ingot_tok_dec_deinit(ingot_tok_dec *d);

#endif
