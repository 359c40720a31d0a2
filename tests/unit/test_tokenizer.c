// runner/ tokenizer: pre-tokenizer splits of the known regexes, hand-derived
// ids for the fixture tokenizers (../shared/fixtures), round trips on varied
// UTF-8, added/special tokens, byte fallback, normalizers, merges forms,
// streaming decode, the HF per-token decode used by Engram, and hostile or
// malformed tokenizer.json input.
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/tokenizer.h"
#include "ingot_test.h"
#include "tokenizer_internal.h"

// ---- helpers ------------------------------------------------------------------------------

static ingot_tokenizer *load_fixture(const char *fx, const char *rel, ingot_err *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fx, rel);
    ingot_tokenizer *tok = NULL;
    if (ingot_tokenizer_open(path, &tok, err) != INGOT_OK) {
        fprintf(stderr, "%s: %s\n", path, err->msg);
        return NULL;
    }
    return tok;
}

static ingot_tokenizer *from_json(const char *json, ingot_err *err) {
    ingot_tokenizer *tok = NULL;
    if (ingot_tokenizer_create(json, strlen(json), &tok, err) != INGOT_OK) {
        fprintf(stderr, "create: %s\n", err->msg);
        return NULL;
    }
    return tok;
}

// Encode and compare with expected ids; prints both on mismatch.
static int expect_ids(const ingot_tokenizer *tok, const char *text, bool add_special, const int32_t *want,
                      size_t n_want) {
    ingot_err err = {0};
    int32_t ids[256];
    size_t n = 0;
    CHECK_OK(ingot_tokenizer_encode(tok, text, strlen(text), add_special, ids, 256, &n, &err), &err);
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        fprintf(stderr, "'%s': got", text);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, ", want");
        for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    CHECK(same);
    return 0;
}
#define EXPECT_IDS(tok, text, ...)                                                                        \
    do {                                                                                                  \
        const int32_t w_[] = {__VA_ARGS__};                                                               \
        if (expect_ids((tok), (text), false, w_, sizeof w_ / sizeof *w_)) return 1;                       \
    } while (0)

static int expect_decode(const ingot_tokenizer *tok, const int32_t *ids, size_t n, bool skip, const char *want) {
    ingot_err err = {0};
    char buf[4096];
    size_t len = 0;
    CHECK_OK(ingot_tokenizer_decode(tok, ids, n, skip, buf, sizeof buf, &len, &err), &err);
    CHECK_MSG(len == strlen(want) && memcmp(buf, want, len) == 0, "decoded '%.*s', want '%s'", (int)len, buf, want);
    return 0;
}

// decode(encode(text)) == want.
static int roundtrip(const ingot_tokenizer *tok, const char *name, const char *text, const char *want) {
    ingot_err err = {0};
    const size_t n = strlen(text), cap = ingot_tokenizer_encode_bound(tok, n);
    int32_t *const ids = malloc(cap * sizeof *ids);
    size_t n_ids = 0, len = 0;
    char buf[8192];
    CHECK(ids);
    const ingot_status st = ingot_tokenizer_encode(tok, text, n, false, ids, cap, &n_ids, &err);
    if (st == INGOT_OK) CHECK_OK(ingot_tokenizer_decode(tok, ids, n_ids, false, buf, sizeof buf, &len, &err), &err);
    free(ids);
    CHECK_MSG(st == INGOT_OK, "%s: encode '%s': %s", name, text, err.msg);
    CHECK_MSG(len == strlen(want) && memcmp(buf, want, len) == 0, "%s: '%s' came back as '%.*s'", name, want, (int)len,
              buf);
    return 0;
}

// Varied UTF-8: ASCII, accents (precomposed and combining), CJK, emoji with
// ZWJ and flags, digit runs, whitespace runs, tabs, CR/LF, contractions.
static const char *const texts[] = {
    "Hello, world!",
    "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 na\xc3\xafve caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9",
    "combining e\xcc\x81 a\xcc\x88o\xcc\x82 and \xe1\xba\xa1",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88 \xe4\xb8\xad\xe6\x96\x87 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
    "emoji \xf0\x9f\x98\x80\xf0\x9f\x8e\x89\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 flag \xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
    "digits 1 12 123 1234 12345 3.14159 1,000,000 \xd9\xa3\xd9\xa4",
    "spaces  two   three    four     end",
    "tabs\tand\nnewlines\n\n\r\nend\n",
    "don't I'm they're we've you'll he'd IT'S",
    "x",
};
#define N_TEXTS (sizeof texts / sizeof *texts)

static const char *const bytelevel_fixtures[] = {
    "thirdparty/neuralapi/tokenizers/tiny_bpe_bytelevel_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_digits_bytelevel_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_falcon_seq_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_cl100k_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_deepseek_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_o200k_harmony_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_o200k_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen35_ascii_tokenizer.json",
    "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen35_tokenizer.json",
    "engram/qwen3_moe_engram/tokenizer.json",
};

// ---- pre-tokenizer splits ------------------------------------------------------------------

static int split_check(const char *pattern, const char *text, const char *const *want, size_t n_want) {
    ingot_err err = {0};
    ingot_tok_regex *re = NULL;
    ingot_tok_strlist out = {0};
    CHECK_OK(ingot_tok_regex_compile(pattern, strlen(pattern), false, &re, &err), &err);
    const ingot_status st =
        ingot_tok_split_regex(re, INGOT_TOK_SPLIT_ISOLATED, false, text, strlen(text), true, &out, &err);
    ingot_tok_regex_free(re);
    int bad = st != INGOT_OK || out.n != n_want;
    for (size_t i = 0; !bad && i < n_want; i++)
        bad = out.p[i].len != strlen(want[i]) || memcmp(ingot_tok_strlist_at(&out, i), want[i], out.p[i].len) != 0;
    if (bad) {
        fprintf(stderr, "split of '%s':", text);
        for (size_t i = 0; i < out.n; i++) fprintf(stderr, " [%.*s]", (int)out.p[i].len, ingot_tok_strlist_at(&out, i));
        fprintf(stderr, "\n");
    }
    ingot_tok_strlist_deinit(&out);
    CHECK(!bad);
    return 0;
}
#define SPLIT(pattern, text, ...)                                                                         \
    do {                                                                                                  \
        static const char *const w_[] = {__VA_ARGS__};                                                    \
        if (split_check((pattern), (text), w_, sizeof w_ / sizeof *w_)) return 1;                         \
    } while (0)

// Patterns as published in the Qwen2 and Llama-3 tokenizer.json files.
static const char qwen2_re[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char llama3_re[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Expected splits worked through alternative by alternative: a run of two
// spaces before a non-space yields " " from \s+(?!\S) then " " from \s+
// (the second space cannot take the digit/letter: ?\p{L}+ needs a letter,
// \p{N} takes no space); "\n\n  foo": \s*[\r\n]+ backtracks to "\n\n".
static int test_tokenizer_pretok_qwen2(void) {
    const char *const s = "Hello world's  12345\n\n  foo!!\nbar";
    SPLIT(qwen2_re, s, "Hello", " world", "'s", " ", " ", "1", "2", "3", "4", "5", "\n\n", " ", " foo", "!!\n", "bar");
    SPLIT(qwen2_re, "I'M they're WE'LL", "I", "'M", " they", "'re", " WE", "'LL");   // (?i:) contractions
    SPLIT(qwen2_re, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "caf\xc3\xa9", " \xe6\x97\xa5\xe6\x9c\xac"); // \p{L}
    SPLIT(qwen2_re, "a...\r\nb", "a", "...\r\n", "b");
    return 0;
}

static int test_tokenizer_pretok_llama3(void) {
    // \p{N}{1,3}: digit runs in threes from the left.
    SPLIT(llama3_re, "12345 1234567", "123", "45", " ", "123", "456", "7");
    SPLIT(llama3_re, "Hello world's  12345\n\n  foo!!\nbar", "Hello", " world", "'s", " ", " ", "123", "45", "\n\n",
          " ", " foo", "!!\n", "bar");
    SPLIT(llama3_re, "x   \n y", "x", "   \n", " y");
    return 0;
}

// GPT-2 (ByteLevel use_regex): case-sensitive contractions, optional space
// before letters/digits/punctuation, \s+(?!\S) leaves the last space for the
// next word.
static int test_tokenizer_pretok_gpt2(void) {
    SPLIT(ingot_tok_gpt2_pattern, "Hello world's  12345\n\n  foo!!\nbar", "Hello", " world", "'s", " ", " 12345",
          "\n\n ", " foo", "!!", "\n", "bar");
    SPLIT(ingot_tok_gpt2_pattern, "I'M don't", "I", "'", "M", " don", "'t");
    SPLIT(ingot_tok_gpt2_pattern, "   x", "  ", " x");
    return 0;
}

static ingot_status collect_word(void *ctx, const char *s, size_t n, bool first, ingot_err *err) {
    return ingot_tok_strlist_push(ctx, s, n, first, err);
}

// DeepSeek's pre-tokenizer from the fixture, run whole: Split [\r\n] → Split
// Latin-letter runs with an optional leading space → punctuation runs →
// \s+$ → CJK runs → Digits(individual) → ByteLevel without regex.
//   "Hello 世界 123": letters split off "Hello", leaving " 世界 123"; the CJK
//   split cuts "世界" out of it (" ", "世界", " 123"); Digits isolates 1, 2, 3.
//   ByteLevel maps bytes: ' ' → Ġ; 世 E4 B8 96 → ä ¸ ĸ; 界 E7 95 8C → ç ķ Į.
static int test_tokenizer_pretok_deepseek(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_split_deepseek_tokenizer.json", &err);
    CHECK(tok);
    ingot_tok_strlist words = {0};
    ingot_tok_pretok_run run = {.tok = tok, .word_fn = collect_word, .word_ctx = &words};
    const char *const text = "Hello \xe4\xb8\x96\xe7\x95\x8c 123";
    CHECK_OK(ingot_tok_pretokenize(&run, text, strlen(text), true, &err), &err);
    static const char *const want[] = {"Hello", "\xc4\xa0", "\xc3\xa4\xc2\xb8\xc4\xb8\xc3\xa7\xc4\xb7\xc4\xae", "\xc4\xa0", "1", "2", "3"};
    CHECK_EQ_U64(words.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < words.n; i++)
        CHECK_MSG(words.p[i].len == strlen(want[i]) && memcmp(ingot_tok_strlist_at(&words, i), want[i], words.p[i].len) == 0,
                  "word %zu: '%.*s' want '%s'", i, (int)words.p[i].len, ingot_tok_strlist_at(&words, i), want[i]);
    ingot_tok_pretok_run_deinit(&run);
    ingot_tok_strlist_deinit(&words);
    ingot_tokenizer_free(tok);
    return 0;
}

// Split behaviours on one pattern (HF normalizer.rs split docs example
// "the-final--countdown" with '-').
static int test_tokenizer_split_behaviors(void) {
    static const struct {
        ingot_tok_split_behavior b;
        const char *want[8];
        size_t n;
    } cases[] = {
        {INGOT_TOK_SPLIT_REMOVED, {"the", "final", "countdown"}, 3},
        {INGOT_TOK_SPLIT_ISOLATED, {"the", "-", "final", "-", "-", "countdown"}, 6},
        {INGOT_TOK_SPLIT_MERGED_WITH_PREVIOUS, {"the-", "final-", "-", "countdown"}, 4},
        {INGOT_TOK_SPLIT_MERGED_WITH_NEXT, {"the", "-final", "-", "-countdown"}, 4},
        {INGOT_TOK_SPLIT_CONTIGUOUS, {"the", "-", "final", "--", "countdown"}, 5},
    };
    ingot_err err = {0};
    ingot_tok_regex *re = NULL;
    CHECK_OK(ingot_tok_regex_compile("-", 1, true, &re, &err), &err);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        ingot_tok_strlist out = {0};
        const char *const s = "the-final--countdown";
        CHECK_OK(ingot_tok_split_regex(re, cases[c].b, false, s, strlen(s), true, &out, &err), &err);
        CHECK_EQ_U64(out.n, cases[c].n);
        for (size_t i = 0; i < out.n; i++)
            CHECK_MSG(out.p[i].len == strlen(cases[c].want[i]) &&
                          memcmp(ingot_tok_strlist_at(&out, i), cases[c].want[i], out.p[i].len) == 0,
                      "behavior %zu piece %zu: '%.*s'", c, i, (int)out.p[i].len, ingot_tok_strlist_at(&out, i));
        ingot_tok_strlist_deinit(&out);
    }
    // invert: the pattern marks what to keep.
    ingot_tok_strlist out = {0};
    CHECK_OK(ingot_tok_split_regex(re, INGOT_TOK_SPLIT_REMOVED, true, "a-b", 3, true, &out, &err), &err);
    CHECK_EQ_U64(out.n, 1);
    CHECK(out.p[0].len == 1 && ingot_tok_strlist_at(&out, 0)[0] == '-');
    ingot_tok_strlist_deinit(&out);
    ingot_tok_regex_free(re);
    return 0;
}

// ---- hand-derived ids for the fixtures -------------------------------------------------------

// tiny_bpe_split_qwen2 (merge ranks are 0-based positions in model.merges):
//   "Hello world" → regex "Hello" | " world" → byte-level "Hello", "Ġworld".
//     "Hello": H e l l o; the only ranked pair is (l,l)#9 → H e ll o
//       = H 41, e 70, ll 267, o 80.
//     "Ġworld": (Ġ,w)#20 and (o,r)#25 apply in that order, nothing else
//       pairs → Ġw 278, or 283, l 77, d 69.
//   "they're" → "they" | "'re". "they": (h,e)#0 → t he y; (t,he)#101 → the y;
//       no (the,y) merge → the 359, y 90. "'re": (r,e)#3 → ' 8, re 261.
//   "12345" → \p{N} isolates each digit: 1 18, 2 19, 3 20, 4 21, 5 22.
//   "<|im_end|>x" → added token 1, then x (89).
static int test_tokenizer_ids_qwen2(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json", &err);
    CHECK(tok);
    EXPECT_IDS(tok, "Hello world", 41, 70, 267, 80, 278, 283, 77, 69);
    EXPECT_IDS(tok, "they're", 359, 90, 8, 261);
    EXPECT_IDS(tok, "12345", 18, 19, 20, 21, 22);
    EXPECT_IDS(tok, "<|im_end|>x", 1, 89);
    ingot_tokenizer_free(tok);
    return 0;
}

// tiny_bpe_split_cl100k (the Llama-3 pattern):
//   "12345" → \p{N}{1,3}: "123" | "45". "123": (1,2)#61 → 12 319, 3 20.
//     "45": no (4,5) merge → 4 21, 5 22.
static int test_tokenizer_ids_llama3(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_split_cl100k_tokenizer.json", &err);
    CHECK(tok);
    EXPECT_IDS(tok, "12345", 319, 20, 21, 22);
    ingot_tokenizer_free(tok);
    return 0;
}

// tiny_bpe_metaspace_pretok (Metaspace prepend "first", BPE byte_fallback):
//   "Hello" → "▁Hello": ▁ H e l l o; only (l,l)#9 ranks → ▁ 305, H 274,
//     e 283, ll 315, o 293.
//   "é" → "▁é": é is not in the vocab → its UTF-8 bytes C3 A9 as <0xC3> 198,
//     <0xA9> 172 (no merge touches byte tokens) → 305 198 172.
//   "Hi there" → "▁Hi" | "▁there". "▁Hi": no merge pairs ▁, H, i → 305 274
//     287. "▁there": (h,e)#0, (▁,t)#1, (▁t,he)#3, (r,e)#4, (▁the,re)#146 →
//     ▁there 452.
//   "<s>Hi there": the segment after <s> (1) does not start the text, so no
//     ▁ is prepended: "Hi" | "▁there" → 1 274 287 452.
static int test_tokenizer_ids_metaspace_byte_fallback(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok =
        load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_metaspace_pretok_tokenizer.json", &err);
    CHECK(tok);
    EXPECT_IDS(tok, "Hello", 305, 274, 283, 315, 293);
    EXPECT_IDS(tok, "\xc3\xa9", 305, 198, 172);
    EXPECT_IDS(tok, "Hi there", 305, 274, 287, 452);
    EXPECT_IDS(tok, "<s>Hi there", 1, 274, 287, 452);
    const int32_t ids[] = {305, 198, 172};
    if (expect_decode(tok, ids, 3, false, "\xc3\xa9")) return 1;
    const int32_t half[] = {305, 198}; // a lone lead byte decodes to U+FFFD
    if (expect_decode(tok, half, 2, false, "\xef\xbf\xbd")) return 1;
    CHECK_EQ_INT(ingot_tokenizer_bos_id(tok), 1); // "<s>"
    CHECK_EQ_INT(ingot_tokenizer_eos_id(tok), 2); // "</s>"
    ingot_tokenizer_free(tok);
    return 0;
}

// tiny_wordpiece (BertNormalizer lowercase + strip accents, BertPreTokenizer,
// greedy longest match with "##"):
//   "They sat on the mat." → they 197, sat 101, on 99, the 76, mat 149, . 8.
//   "Crêpe souffles!" → "crepe souffles!" → crepe 227; "souffles": longest
//     prefix in the vocab is "souffle" 252, rest "##s" 61; ! 5.
//   "日" → padded as a CJK word, not in the vocab → [UNK] 1.
static int test_tokenizer_ids_wordpiece(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_wordpiece_tokenizer.json", &err);
    CHECK(tok);
    CHECK_EQ_INT(ingot_tokenizer_get_model(tok), INGOT_TOKENIZER_MODEL_WORDPIECE);
    EXPECT_IDS(tok, "They sat on the mat.", 197, 101, 99, 76, 149, 8);
    EXPECT_IDS(tok, "Cr\xc3\xaape souffles!", 227, 252, 61, 5);
    EXPECT_IDS(tok, "\xe6\x97\xa5", 1);
    const int32_t ids[] = {197, 101, 99, 76, 149, 8};
    if (expect_decode(tok, ids, 6, false, "they sat on the mat.")) return 1;
    const int32_t ids2[] = {227, 252, 61, 5};
    if (expect_decode(tok, ids2, 4, false, "crepe souffles!")) return 1;
    ingot_tokenizer_free(tok);
    return 0;
}

// tiny_unigram (Metaspace prepend "always"; scores are log-probabilities):
//   "▁the": ▁the alone −2.630 beats ▁+the −8.478 and ▁t+he −13.618 → 5.
//   "▁cat": ▁c+at −6.420 beats ▁+c+at −9.461 and ▁c+a+t −10.088 → 13 7.
//   "▁rat": ▁ra+t −7.780 beats ▁r+at −8.388 and ▁+r+at −8.546 → 24 11.
//   "▁kqz": k, q, z are in no piece → ▁ 3, then three unknowns fused into
//     one <unk> 0.
static int test_tokenizer_ids_unigram(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_unigram_tokenizer.json", &err);
    CHECK(tok);
    EXPECT_IDS(tok, "the cat rat", 5, 13, 7, 24, 11);
    EXPECT_IDS(tok, "kqz", 3, 0);
    if (roundtrip(tok, "unigram", "the cat rat", "the cat rat")) return 1;
    ingot_tokenizer_free(tok);
    return 0;
}

// agilerl tiny_qwen3_moe: WordLevel over single characters (Split on the
// empty string isolates each character), unk "[PAD]" 5, no decoder (tokens
// joined with spaces).
static int test_tokenizer_ids_wordlevel(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/agilerl/tiny_qwen3_moe/tokenizer.json", &err);
    CHECK(tok);
    CHECK_EQ_INT(ingot_tokenizer_get_model(tok), INGOT_TOKENIZER_MODEL_WORDLEVEL);
    CHECK_EQ_INT(ingot_tokenizer_n_vocab(tok), 7);
    EXPECT_IDS(tok, "01234", 0, 1, 2, 3, 4);
    EXPECT_IDS(tok, "0[EOS]1", 0, 6, 1);
    EXPECT_IDS(tok, "9", 5);
    const int32_t ids[] = {0, 1, 2};
    if (expect_decode(tok, ids, 3, false, "0 1 2")) return 1;
    CHECK_EQ_INT(ingot_tokenizer_eos_id(tok), 6);
    ingot_tokenizer_free(tok);
    return 0;
}

// ---- round trips ------------------------------------------------------------------------------

static int test_tokenizer_roundtrip_bytelevel(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    for (size_t f = 0; f < sizeof bytelevel_fixtures / sizeof *bytelevel_fixtures; f++) {
        ingot_err err = {0};
        ingot_tokenizer *const tok = load_fixture(fx, bytelevel_fixtures[f], &err);
        CHECK(tok);
        for (size_t i = 0; i < N_TEXTS; i++)
            if (roundtrip(tok, bytelevel_fixtures[f], texts[i], texts[i])) return 1;
        ingot_tokenizer_free(tok);
    }
    // add_prefix_space: every segment gains a leading space (HF does the same).
    ingot_err err = {0};
    ingot_tokenizer *const tok =
        load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_bytelevel_noregex_tokenizer.json", &err);
    CHECK(tok);
    char want[1024];
    for (size_t i = 0; i < N_TEXTS; i++) {
        snprintf(want, sizeof want, "%s%s", texts[i][0] == ' ' ? "" : " ", texts[i]);
        if (roundtrip(tok, "noregex", texts[i], want)) return 1;
    }
    ingot_tokenizer_free(tok);
    return 0;
}

static int test_tokenizer_roundtrip_metaspace(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const char *const files[] = {
        "thirdparty/neuralapi/tokenizers/tiny_bpe_metaspace_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_metaspace_pretok_tokenizer.json",
    };
    for (size_t f = 0; f < 2; f++) {
        ingot_err err = {0};
        ingot_tokenizer *const tok = load_fixture(fx, files[f], &err);
        CHECK(tok);
        for (size_t i = 0; i < N_TEXTS; i++)
            if (roundtrip(tok, files[f], texts[i], texts[i])) return 1;
        // Leading spaces survive the legacy Prepend+Replace+Strip chain.
        if (f == 0 && roundtrip(tok, files[f], "  two leading", "  two leading")) return 1;
        ingot_tokenizer_free(tok);
    }
    return 0;
}

// Special tokens inside text are matched before pre-tokenization and decode
// to their content.
static int test_tokenizer_added_in_text(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json", &err);
    CHECK(tok);
    const char *const s = "a<|im_end|>\n<|endoftext|><|endoftext|>b <|im_end|>";
    if (roundtrip(tok, "qwen2", s, s)) return 1;
    int32_t ids[64];
    size_t n = 0;
    CHECK_OK(ingot_tokenizer_encode(tok, s, strlen(s), false, ids, 64, &n, &err), &err);
    size_t n_special = 0;
    for (size_t i = 0; i < n; i++) n_special += ingot_tokenizer_is_special(tok, ids[i]);
    CHECK_EQ_U64(n_special, 4);
    if (expect_decode(tok, ids, n, true, "a\nb ")) return 1; // skip_special drops them
    // An unfinished special token is plain text: regex "<|" | "im" | "_end";
    // "<|" and "im" have no merges → < 29, | 93, i 74, m 78; "_end": (n,d)#17
    // ranks before (e,n)#35, leaving _ 64, e 70, nd 275.
    EXPECT_IDS(tok, "<|im_end", 29, 93, 74, 78, 64, 70, 275);
    ingot_tokenizer_free(tok);
    return 0;
}

// lstrip / rstrip / single_word / longest match, on a synthetic tokenizer
// whose pre-tokenizer keeps spaces as tokens so absorbed spaces show.
static const char added_json[] =
    "{\"added_tokens\":["
    "{\"id\":4,\"content\":\"<L>\",\"lstrip\":true,\"special\":true},"
    "{\"id\":5,\"content\":\"<R>\",\"rstrip\":true,\"special\":true},"
    "{\"id\":6,\"content\":\"cat\",\"single_word\":true},"
    "{\"id\":7,\"content\":\"<long>\",\"special\":true},"
    "{\"id\":8,\"content\":\"<lo\"}],"
    "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Isolated\"},"
    "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"a\":1,\"b\":2,\"concat\":3,\" \":9},"
    "\"unk_token\":\"[UNK]\"}}";

static int test_tokenizer_added_strip_single_word(void) {
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(added_json, &err);
    CHECK(tok);
    EXPECT_IDS(tok, "a <L> b", 1, 4, 9, 2);     // lstrip absorbed the space before <L>
    EXPECT_IDS(tok, "a <R> b", 1, 9, 5, 2);     // rstrip absorbed the space after <R>
    EXPECT_IDS(tok, "a cat b", 1, 9, 6, 9, 2);  // a whole word
    EXPECT_IDS(tok, "concat", 3);               // inside a word: not the added token
    EXPECT_IDS(tok, "<long><lo", 7, 8);         // longest match first
    CHECK_EQ_INT(ingot_tokenizer_find(tok, "<R>", 3), 5);
    CHECK_EQ_INT(ingot_tokenizer_find(tok, "concat", 6), 3);
    CHECK_EQ_INT(ingot_tokenizer_find(tok, "dog", 3), -1);
    ingot_tokenizer_free(tok);
    return 0;
}

// Added tokens with normalized=true are matched after the normalizer, the
// others on the raw text (HF AddedVocabulary).
static int test_tokenizer_added_normalized(void) {
    static const char json[] =
        "{\"added_tokens\":[{\"id\":3,\"content\":\"hello\",\"normalized\":true},"
        "{\"id\":4,\"content\":\"WORLD\",\"normalized\":false}],"
        "\"normalizer\":{\"type\":\"Lowercase\"},\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
        "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"?\":0,\"world\":1,\"x\":2},\"unk_token\":\"?\"}}";
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(json, &err);
    CHECK(tok);
    EXPECT_IDS(tok, "HELLO WORLD x", 3, 4, 2); // "HELLO" lowercases into the token
    EXPECT_IDS(tok, "world Hello", 1, 3);       // "world" is not the raw "WORLD"
    EXPECT_IDS(tok, "xHELLOx", 2, 3, 2);
    ingot_tokenizer_free(tok);
    return 0;
}

// ---- BPE options and merges forms ----------------------------------------------------------------

#define BPE_JSON(merges, extra)                                                                           \
    "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"abc\":4,\"bc\":5}," extra \
    "\"merges\":" merges "}}"

// "abc": with ranks a b < ab c < b c, (a,b) merges first, then (ab,c) → abc.
// With b c ranked first, (b,c) → a bc, and (a,bc) is no merge → a, bc.
static int test_tokenizer_bpe_merges_forms(void) {
    ingot_err err = {0};
    ingot_tokenizer *t1 = from_json(BPE_JSON("[\"a b\",\"ab c\",\"b c\"]", ""), &err);
    ingot_tokenizer *t2 = from_json(BPE_JSON("[[\"a\",\"b\"],[\"ab\",\"c\"],[\"b\",\"c\"]]", ""), &err);
    ingot_tokenizer *t3 = from_json(BPE_JSON("[\"b c\",\"a b\",\"ab c\"]", ""), &err);
    ingot_tokenizer *t4 = from_json(BPE_JSON("[\"b c\",\"a b\",\"ab c\"]", "\"ignore_merges\":true,"), &err);
    CHECK(t1 && t2 && t3 && t4);
    EXPECT_IDS(t1, "abc", 4);
    EXPECT_IDS(t2, "abc", 4);
    EXPECT_IDS(t3, "abc", 0, 5);
    EXPECT_IDS(t4, "abc", 4); // the whole word is in the vocab
    EXPECT_IDS(t4, "abcab", 0, 5, 3);
    EXPECT_IDS(t1, "cab", 2, 3);
    ingot_tokenizer_free(t1);
    ingot_tokenizer_free(t2);
    ingot_tokenizer_free(t3);
    ingot_tokenizer_free(t4);
    return 0;
}

// ---- normalizers ------------------------------------------------------------------------------------

static int test_tokenizer_normalizers(void) {
    static const char json[] =
        "{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":["
        "{\"type\":\"NFKC\"},{\"type\":\"NFD\"},{\"type\":\"StripAccents\"},{\"type\":\"Lowercase\"},"
        "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[ \\t]+\"},\"content\":\" \"},"
        "{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true}]},"
        "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
        "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"cafe\":1,\"fish\":2,\"12\":3,\"ix\":4},"
        "\"unk_token\":\"[UNK]\"}}";
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(json, &err);
    CHECK(tok);
    EXPECT_IDS(tok, "  CAF\xc3\x89 \t caf\xc3\xa9  ", 1, 1);  // precomposed É/é
    EXPECT_IDS(tok, "Cafe\xcc\x81", 1);                       // combining acute
    EXPECT_IDS(tok, "\xef\xac\x81sh \xef\xbc\x91\xef\xbc\x92", 2, 3); // ﬁ ligature, fullwidth digits
    EXPECT_IDS(tok, "\xc4\xb0X", 4); // NFD: İ → I + U+0307, StripAccents drops the mark, then "ix"
    ingot_tokenizer_free(tok);
    return 0;
}

// Prepend + Replace (Llama-2 style) and the Bert normalizer's CJK padding.
static int test_tokenizer_normalizers_prepend_bert(void) {
    static const char json[] =
        "{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":["
        "{\"type\":\"Prepend\",\"prepend\":\"_\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"_\"}]},"
        "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"_\"},\"behavior\":\"MergedWithNext\"},"
        "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"?\":0,\"_a\":1,\"_b\":2,\"_\":3},\"unk_token\":\"?\"}}";
    static const char bert[] =
        "{\"normalizer\":{\"type\":\"BertNormalizer\"},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
        "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"?\":0,\"a\":1,\"\\u65e5\":2,\"\\u672c\":3,\"!\":4},\"unk_token\":\"?\"}}";
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(json, &err);
    ingot_tokenizer *const tb = from_json(bert, &err);
    CHECK(tok && tb);
    EXPECT_IDS(tok, "a b", 1, 2);
    EXPECT_IDS(tok, "a  b", 1, 3, 2);
    EXPECT_IDS(tb, "A\xe6\x97\xa5\xe6\x9c\xac!", 1, 2, 3, 4); // "a 日  本 !" after padding
    EXPECT_IDS(tb, "\xc3\x81\x01", 1);                          // Á → a; control char removed
    ingot_tokenizer_free(tok);
    ingot_tokenizer_free(tb);
    return 0;
}

// ---- byte fallback, decode details ----------------------------------------------------------------

// Characters missing from the vocab fall back to <0xNN> tokens; without
// byte_fallback they become unk (fused when fuse_unk).
static int test_tokenizer_byte_fallback(void) {
    static const char json[] =
        "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":%s,\"fuse_unk\":true,\"unk_token\":\"<unk>\","
        "\"vocab\":{\"<unk>\":0,\"a\":1,\"<0xC3>\":2,\"<0xA9>\":3,\"<0xE2>\":4,\"<0x82>\":5,\"<0xAC>\":6},\"merges\":[]},"
        "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}}";
    char buf[1024];
    ingot_err err = {0};
    snprintf(buf, sizeof buf, json, "true");
    ingot_tokenizer *const tb = from_json(buf, &err);
    snprintf(buf, sizeof buf, json, "false");
    ingot_tokenizer *const tu = from_json(buf, &err);
    CHECK(tb && tu);
    EXPECT_IDS(tb, "a\xc3\xa9\xe2\x82\xac", 1, 2, 3, 4, 5, 6); // a é €
    EXPECT_IDS(tu, "a\xc3\xa9\xe2\x82\xac" "a", 1, 0, 1);       // é€ fused into one unk
    EXPECT_IDS(tb, "\xe6\x97\xa5", 0);                           // bytes missing too → unk
    const int32_t ids[] = {1, 2, 3, 4, 5, 6};
    if (expect_decode(tb, ids, 6, false, "a\xc3\xa9\xe2\x82\xac")) return 1;
    const int32_t bad[] = {4, 5, 1}; // an incomplete sequence: one U+FFFD per byte token
    if (expect_decode(tb, bad, 3, false, "\xef\xbf\xbd\xef\xbf\xbd" "a")) return 1;
    ingot_tokenizer_free(tb);
    ingot_tokenizer_free(tu);
    return 0;
}

// ---- HF per-token decode (Engram §2) ------------------------------------------------------------

static cJSON *read_json(const char *path) {
    char *buf = NULL;
    size_t n = 0;
    ingot_err err = {0};
    if (ingot_file_read_all(path, 64u << 20, &buf, &n, &err) != INGOT_OK) return NULL;
    cJSON *const j = cJSON_ParseWithLength(buf, n);
    ingot_free(buf);
    return j;
}

// tokens.json holds HF decode([id]) of 48 ids (decoded_pieces); the
// compressed lookup marks every id whose decode has U+FFFD as "raw_token".
static int test_tokenizer_decode_token_hf(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char path[1024];
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "engram/qwen3_moe_engram/tokenizer.json", &err);
    CHECK(tok);
    snprintf(path, sizeof path, "%s/engram/qwen3_moe_engram/tokens.json", fx);
    cJSON *const tj = read_json(path);
    snprintf(path, sizeof path, "%s/engram/qwen3_moe_engram/compressed_lookup.json", fx);
    cJSON *const lj = read_json(path);
    CHECK(tj && lj);
    const cJSON *const ids = cJSON_GetObjectItem(tj, "input_ids"), *const pieces = cJSON_GetObjectItem(tj, "decoded_pieces");
    CHECK(cJSON_GetArraySize(ids) == 48 && cJSON_GetArraySize(pieces) == 48);
    char buf[256];
    size_t len;
    for (int i = 0; i < 48; i++) {
        const int32_t id = (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
        const char *const want = cJSON_GetArrayItem(pieces, i)->valuestring;
        CHECK_OK(ingot_tokenizer_decode_token_hf(tok, id, buf, sizeof buf, &len, &err), &err);
        CHECK_MSG(len == strlen(want) && memcmp(buf, want, len) == 0, "id %d: '%.*s' want '%s'", id, (int)len, buf, want);
    }
    const cJSON *const kinds = cJSON_GetObjectItem(lj, "key_kind"), *const keys = cJSON_GetObjectItem(lj, "keys");
    CHECK_EQ_INT(cJSON_GetArraySize(kinds), ingot_tokenizer_n_vocab(tok));
    const cJSON *const lookup = cJSON_GetObjectItem(lj, "lookup");
    for (int id = 0; id < ingot_tokenizer_n_vocab(tok); id++) {
        CHECK_OK(ingot_tokenizer_decode_token_hf(tok, id, buf, sizeof buf, &len, &err), &err);
        const char *const kind = cJSON_GetArrayItem(kinds, id)->valuestring;
        const bool fffd = memmem(buf, len, "\xef\xbf\xbd", 3) != NULL;
        CHECK_MSG(fffd == (strcmp(kind, "raw_token") == 0), "id %d: '%.*s' is %s", id, (int)len, buf, kind);
        const int k = (int)cJSON_GetArrayItem(lookup, id)->valuedouble;
        const char *const key = cJSON_GetArrayItem(keys, k)->valuestring;
        if (strcmp(kind, "unnormalized_text") == 0)
            CHECK_MSG(len == strlen(key) && memcmp(buf, key, len) == 0, "id %d: '%.*s' want key '%s'", id, (int)len, buf, key);
        if (strcmp(kind, "raw_token") == 0) { // the key is the raw token string
            const char *p;
            size_t pn;
            CHECK_OK(ingot_tokenizer_token_to_piece(tok, id, &p, &pn, &err), &err);
            CHECK(pn == strlen(key) && memcmp(p, key, pn) == 0);
        }
    }
    cJSON_Delete(tj);
    cJSON_Delete(lj);
    ingot_tokenizer_free(tok);
    return 0;
}

// ---- streaming decode --------------------------------------------------------------------------------

static int stream_check(const ingot_tokenizer *tok, const char *text) {
    ingot_err err = {0};
    int32_t ids[512];
    size_t n = 0, len = 0, total = 0;
    char full[4096], acc[4096];
    CHECK_OK(ingot_tokenizer_encode(tok, text, strlen(text), false, ids, 512, &n, &err), &err);
    CHECK_OK(ingot_tokenizer_decode(tok, ids, n, false, full, sizeof full, &len, &err), &err);
    ingot_tokenizer_stream *st = NULL;
    CHECK_OK(ingot_tokenizer_stream_create(tok, false, &st, &err), &err);
    const size_t cap = ingot_tokenizer_stream_bound(tok);
    char *const piece = malloc(cap);
    CHECK(piece);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        CHECK_OK(ingot_tokenizer_stream_push(st, ids[i], piece, cap, &k, &err), &err);
        CHECK_MSG(ingot_tok_utf8_valid_prefix(piece, k) == k, "chunk %zu is not valid UTF-8", i);
        CHECK(total + k < sizeof acc);
        memcpy(acc + total, piece, k);
        total += k;
    }
    size_t k = 0;
    CHECK_OK(ingot_tokenizer_stream_flush(st, piece, cap, &k, &err), &err);
    memcpy(acc + total, piece, k);
    total += k;
    free(piece);
    ingot_tokenizer_stream_free(st);
    CHECK_MSG(total == len && memcmp(acc, full, len) == 0, "stream '%.*s' vs decode '%.*s'", (int)total, acc, (int)len,
              full);
    return 0;
}

static int test_tokenizer_stream_decode(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const char *const files[] = {
        "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_metaspace_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_metaspace_pretok_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_wordpiece_tokenizer.json",
    };
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        ingot_err err = {0};
        ingot_tokenizer *const tok = load_fixture(fx, files[f], &err);
        CHECK(tok);
        for (size_t i = 0; i < N_TEXTS; i++)
            if (stream_check(tok, texts[i])) return 1;
        ingot_tokenizer_free(tok);
    }
    return 0;
}

// ---- API contracts and errors --------------------------------------------------------------------

static int test_tokenizer_encode_limits(void) {
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(BPE_JSON("[]", ""), &err);
    CHECK(tok);
    int32_t ids[2];
    size_t n = 0;
    CHECK_STATUS(ingot_tokenizer_encode(tok, "abcab", 5, false, ids, 2, &n, &err), INGOT_E_LIMIT, &err);
    CHECK_EQ_U64(n, 5); // the count needed
    CHECK_STATUS(ingot_tokenizer_encode(tok, "a\xff", 2, false, ids, 2, &n, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "UTF-8");
    CHECK_STATUS(ingot_tokenizer_encode(tok, "\xed\xa0\x80", 3, false, ids, 2, &n, &err), INGOT_E_FORMAT, &err);
    CHECK_OK(ingot_tokenizer_encode(tok, "", 0, false, NULL, 0, &n, &err), &err);
    CHECK_EQ_U64(n, 0);
    char out[2];
    size_t len;
    const int32_t three[] = {0, 1, 2};
    CHECK_STATUS(ingot_tokenizer_decode(tok, three, 3, false, out, 2, &len, &err), INGOT_E_LIMIT, &err);
    CHECK_EQ_U64(len, 5); // "a b c" without a decoder: joined with spaces
    const char *p;
    CHECK_STATUS(ingot_tokenizer_token_to_piece(tok, 99, &p, &len, &err), INGOT_E_ARG, &err);
    CHECK_STATUS(ingot_tokenizer_encode(NULL, "a", 1, false, ids, 2, &n, &err), INGOT_E_ARG, &err);
    ingot_tokenizer_free(tok);
    ingot_tokenizer_free(NULL);
    return 0;
}

// encode_bound covers NFKC's worst expansion: U+FDFA (3 bytes) becomes 18
// code points, 33 bytes, each one byte-fallback id.
static int test_tokenizer_encode_bound(void) {
    char json[16384] = "{\"normalizer\":{\"type\":\"NFKC\"},\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{";
    for (int b = 0; b < 256; b++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"<0x%02X>\":%d", b ? "," : "", b, b);
    strcat(json, "},\"merges\":[]}}");
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(json, &err);
    CHECK(tok);
    size_t n = 0;
    CHECK_STATUS(ingot_tokenizer_encode(tok, "\xef\xb7\xba", 3, false, NULL, 0, &n, &err), INGOT_E_LIMIT, &err);
    CHECK_EQ_U64(n, 33);
    CHECK(ingot_tokenizer_encode_bound(tok, 3) >= n);
    ingot_tokenizer_free(tok);
    return 0;
}

static int test_tokenizer_unsupported(void) {
    static const struct {
        const char *json;
        const char *name;
    } cases[] = {
        {"{\"model\":{\"type\":\"Foo\",\"vocab\":{}}}", "Foo"},
        {"{\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         "Precompiled"},
        {"{\"pre_tokenizer\":{\"type\":\"UnicodeScripts\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", "UnicodeScripts"},
        {"{\"decoder\":{\"type\":\"CTC\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", "CTC"},
        {"{\"post_processor\":{\"type\":\"Fancy\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", "Fancy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ingot_err err = {0};
        ingot_tokenizer *tok = NULL;
        CHECK_STATUS(ingot_tokenizer_create(cases[i].json, strlen(cases[i].json), &tok, &err), INGOT_E_UNSUPPORTED, &err);
        CHECK(tok == NULL);
        CHECK_STR_CONTAINS(err.msg, cases[i].name);
    }
    return 0;
}

static int test_tokenizer_malformed(void) {
    static const struct {
        const char *json;
        ingot_status want;
        const char *msg;
    } cases[] = {
        {"", INGOT_E_FORMAT, "malformed"},
        {"{\"model\":", INGOT_E_FORMAT, "malformed"},
        {"[]", INGOT_E_FORMAT, "object"},
        {"{}", INGOT_E_FORMAT, "model"},
        {"{\"model\":{\"type\":\"BPE\"}}", INGOT_E_FORMAT, "vocab"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1}}}", INGOT_E_FORMAT, "vocab id"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1.5}}}", INGOT_E_FORMAT, "vocab id"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"}}}", INGOT_E_FORMAT, "vocab id"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":4000000000}}}", INGOT_E_LIMIT, "limit"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}", INGOT_E_FORMAT, "'b'"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", INGOT_E_FORMAT, "'ab'"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}", INGOT_E_FORMAT, "merge 0"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[\"a\"]]}}", INGOT_E_FORMAT, "two parts"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":{}}}", INGOT_E_FORMAT, "merges"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xff\":0}}}", INGOT_E_FORMAT, "UTF-8"},
        {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\"]]}}", INGOT_E_FORMAT, "[piece, score]"},
        {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0]],\"unk_id\":5}}", INGOT_E_FORMAT, "unk_id"},
        {"{\"added_tokens\":[{\"id\":0,\"content\":\"\"}],\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", INGOT_E_FORMAT,
         "empty"},
        {"{\"added_tokens\":{},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", INGOT_E_FORMAT, "added_tokens"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"}},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         INGOT_E_FORMAT, "regex"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Odd\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         INGOT_E_UNSUPPORTED, "Odd"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":\"x\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         INGOT_E_FORMAT, "pattern"},
        {"{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],"
         "\"special_tokens\":{}},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         INGOT_E_FORMAT, "<s>"},
        {"{\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"x\",9],\"cls\":[\"y\",0]},"
         "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}}}",
         INGOT_E_FORMAT, "outside the vocab"},
        {"{\"decoder\":{\"type\":\"Strip\",\"content\":\" \",\"start\":-1,\"stop\":0},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
         INGOT_E_FORMAT, "Strip start"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ingot_err err = {0};
        ingot_tokenizer *tok = NULL;
        const ingot_status st = ingot_tokenizer_create(cases[i].json, strlen(cases[i].json), &tok, &err);
        CHECK_MSG(st == cases[i].want, "case %zu: got %s (%s)", i, ingot_status_name(st), err.msg);
        CHECK(tok == NULL);
        CHECK_STR_CONTAINS(err.msg, cases[i].msg);
    }
    // Deeply nested Sequences are refused, not recursed into.
    char deep[4096] = "{\"normalizer\":";
    for (int i = 0; i < 20; i++) strcat(deep, "{\"type\":\"Sequence\",\"normalizers\":[");
    for (int i = 0; i < 20; i++) strcat(deep, "]}");
    strcat(deep, ",\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}");
    ingot_err err = {0};
    ingot_tokenizer *tok = NULL;
    CHECK_STATUS(ingot_tokenizer_create(deep, strlen(deep), &tok, &err), INGOT_E_LIMIT, &err);
    return 0;
}

// Every proper prefix of a valid file fails cleanly.
static int test_tokenizer_truncation_sweep(void) {
    const size_t n = strlen(added_json);
    for (size_t k = 0; k < n; k++) {
        ingot_err err = {0};
        ingot_tokenizer *tok = NULL;
        CHECK_STATUS(ingot_tokenizer_create(added_json, k, &tok, &err), INGOT_E_FORMAT, &err);
        CHECK(tok == NULL);
    }
    return 0;
}

// Allocation failure at every step of create + encode + decode: NOMEM or
// success, never a leak or a crash.
static int test_tokenizer_alloc_failures(void) {
    const int64_t base = ingot_alloc_live();
    int n_nomem = 0;
    for (uint64_t nth = 1; nth < 400; nth++) {
        ingot_err err = {0};
        ingot_tokenizer *tok = NULL;
        ingot_alloc_fail_at(nth, false);
        ingot_status st = ingot_tokenizer_create(added_json, strlen(added_json), &tok, &err);
        if (st == INGOT_OK) {
            int32_t ids[32];
            size_t n = 0, len = 0;
            char buf[64];
            st = ingot_tokenizer_encode(tok, "a <L> b cat <long>", 18, true, ids, 32, &n, &err);
            if (st == INGOT_OK) st = ingot_tokenizer_decode(tok, ids, n, false, buf, sizeof buf, &len, &err);
        }
        ingot_alloc_fail_at(0, false);
        ingot_tokenizer_free(tok);
        CHECK_MSG(st == INGOT_OK || st == INGOT_E_NOMEM, "nth %llu: %s (%s)", (unsigned long long)nth,
                  ingot_status_name(st), err.msg);
        n_nomem += st == INGOT_E_NOMEM;
        CHECK_EQ_INT(ingot_alloc_live(), base);
    }
    CHECK(n_nomem > 10);
    return 0;
}

// One tokenizer shared by several threads gives each the same ids as a
// lone caller (no hidden mutable state; PCRE2 code and JIT are shared
// read-only).
typedef struct conc_ctx {
    const ingot_tokenizer *tok;
    const int32_t *want;   // [N_TEXTS][256]
    const size_t *n_want;  // [N_TEXTS]
    atomic_int bad;        // set on a mismatch
} conc_ctx;

static void conc_one(void *ctx, size_t i, int worker) {
    conc_ctx *const c = ctx;
    (void)worker;
    const size_t t = i % N_TEXTS;
    int32_t ids[256];
    size_t n = 0;
    ingot_err err = {0};
    if (ingot_tokenizer_encode(c->tok, texts[t], strlen(texts[t]), true, ids, 256, &n, &err) != INGOT_OK ||
        n != c->n_want[t] || memcmp(ids, c->want + 256 * t, n * sizeof *ids) != 0)
        atomic_store(&c->bad, 1);
}

static int test_tokenizer_concurrent_encode(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    ingot_err err = {0};
    ingot_tokenizer *const tok = load_fixture(fx, "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json", &err);
    CHECK(tok);
    static int32_t want[N_TEXTS * 256];
    size_t n_want[N_TEXTS];
    for (size_t t = 0; t < N_TEXTS; t++)
        CHECK_OK(ingot_tokenizer_encode(tok, texts[t], strlen(texts[t]), true, want + 256 * t, 256, &n_want[t], &err),
                 &err);
    ingot_pool *pool = NULL;
    CHECK_OK(ingot_pool_create(4, &pool, &err), &err);
    conc_ctx c = {.tok = tok, .want = want, .n_want = n_want};
    ingot_pool_run(pool, 400, conc_one, &c);
    ingot_pool_free(pool);
    ingot_tokenizer_free(tok);
    CHECK(!atomic_load(&c.bad));
    return 0;
}

// Template post-processor: add_special wraps the ids.
static int test_tokenizer_template(void) {
    static const char json[] =
        "{\"added_tokens\":[{\"id\":3,\"content\":\"<s>\",\"special\":true},{\"id\":4,\"content\":\"</s>\",\"special\":true}],"
        "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
        "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
        "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[3],\"tokens\":[\"<s>\"]},"
        "\"</s>\":{\"id\":\"</s>\",\"ids\":[4],\"tokens\":[\"</s>\"]}}},"
        "\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
        "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"?\":0,\"hi\":1,\"there\":2},\"unk_token\":\"?\"}}";
    ingot_err err = {0};
    ingot_tokenizer *const tok = from_json(json, &err);
    CHECK(tok);
    const int32_t want[] = {3, 1, 2, 4};
    if (expect_ids(tok, "hi there", true, want, 4)) return 1;
    EXPECT_IDS(tok, "hi there", 1, 2);
    CHECK_EQ_INT(ingot_tokenizer_bos_id(tok), 3);
    CHECK_EQ_INT(ingot_tokenizer_eos_id(tok), 4);
    ingot_tokenizer_set_special_ids(tok, 2, 1);
    CHECK_EQ_INT(ingot_tokenizer_bos_id(tok), 2);
    CHECK_EQ_INT(ingot_tokenizer_eos_id(tok), 1);
    ingot_tokenizer_free(tok);
    return 0;
}

INGOT_TEST_MAIN(T(tokenizer_pretok_qwen2), T(tokenizer_pretok_llama3), T(tokenizer_pretok_gpt2), T(tokenizer_pretok_deepseek),
                T(tokenizer_split_behaviors), T(tokenizer_ids_qwen2), T(tokenizer_ids_llama3),
                T(tokenizer_ids_metaspace_byte_fallback), T(tokenizer_ids_wordpiece), T(tokenizer_ids_unigram),
                T(tokenizer_ids_wordlevel), T(tokenizer_roundtrip_bytelevel), T(tokenizer_roundtrip_metaspace),
                T(tokenizer_added_in_text), T(tokenizer_added_strip_single_word), T(tokenizer_added_normalized), T(tokenizer_bpe_merges_forms),
                T(tokenizer_normalizers), T(tokenizer_normalizers_prepend_bert), T(tokenizer_byte_fallback),
                T(tokenizer_decode_token_hf), T(tokenizer_stream_decode), T(tokenizer_encode_limits),
                T(tokenizer_encode_bound), T(tokenizer_unsupported), T(tokenizer_malformed),
                T(tokenizer_truncation_sweep), T(tokenizer_alloc_failures), T(tokenizer_concurrent_encode),
                T(tokenizer_template))
