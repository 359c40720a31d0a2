// Fuzz target: ingot_tokenizer_create on arbitrary bytes (the whole input is
// a tokenizer.json). When a tokenizer comes out, it must encode and decode
// fixed probe texts within its advertised bounds, produce only ids inside
// its vocab, and stream-decode without overrunning a whole decode.
// An input starting with byte 0x01 is instead text (the rest) for a few
// built-in tokenizers covering each model type and pipeline stage.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {
    "Hello world's  12345\n\n  foo!!\nbar",
    "caf\xc3\xa9 e\xcc\x81 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\t\r\n",
    "<s>a</s> <|endoftext|><|im_end|>[CLS] x",
    "",
};

static void probe(const ingot_tokenizer *tok, const char *text) {
    ingot_err err = {0};
    const size_t n = strlen(text), cap = ingot_tokenizer_encode_bound(tok, n);
    int32_t *const ids = malloc((cap ? cap : 1) * sizeof *ids);
    size_t n_ids = 0, len = 0;
    if (!ids) abort();
    const ingot_status st = ingot_tokenizer_encode(tok, text, n, true, ids, cap, &n_ids, &err);
    if (st == INGOT_E_LIMIT) abort(); // the bound must hold
    if (st != INGOT_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg)) abort();
        free(ids);
        return;
    }
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= ingot_tokenizer_n_vocab(tok)) abort();
    ingot_tokenizer_decode(tok, ids, n_ids, false, NULL, 0, &len, &err); // length query
    char *const text_out = malloc(len + 1);
    if (!text_out || ingot_tokenizer_decode(tok, ids, n_ids, false, text_out, len + 1, &len, &err) != INGOT_OK) abort();
    ingot_tokenizer_stream *st_dec = NULL;
    if (ingot_tokenizer_stream_create(tok, false, &st_dec, &err) == INGOT_OK) {
        const size_t bound = ingot_tokenizer_stream_bound(tok);
        char *const piece = bound < (64u << 20) ? malloc(bound) : NULL;
        size_t at = 0, k = 0;
        bool same = piece != NULL;
        for (size_t i = 0; same && i < n_ids; i++) {
            same = ingot_tokenizer_stream_push(st_dec, ids[i], piece, bound, &k, &err) == INGOT_OK && at + k <= len &&
                   memcmp(text_out + at, piece, k) == 0;
            at += k;
        }
        if (same) same = ingot_tokenizer_stream_flush(st_dec, piece, bound, &k, &err) == INGOT_OK;
        // Streaming equals a whole decode except where a decoder looks at more
        // context than the stream keeps; it must never overrun the text.
        if (same && at + k > len) abort();
        free(piece);
        ingot_tokenizer_stream_free(st_dec);
    }
    free(text_out);
    free(ids);
}

static const char *const builtin[] = {
    "{\"added_tokens\":[{\"id\":6,\"content\":\"<|endoftext|>\",\"special\":true},{\"id\":7,\"content\":\"ab\",\"single_word\":true,"
    "\"lstrip\":true,\"rstrip\":true}],\"normalizer\":{\"type\":\"NFC\"},\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
    "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
    "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
    "\"use_regex\":false}]},\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"H\":0,\"e\":1,"
    "\"l\":2,\"o\":3,\"ll\":4,\"\\u0120\":5,\"He\":8},\"merges\":[\"l l\",[\"H\",\"e\"]]}}",
    "{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Lowercase\"},{\"type\":\"Prepend\","
    "\"prepend\":\"\\u2581\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]},\"decoder\":{\"type\":"
    "\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\\u2581\"},\"content\":\" \"},{\"type\":"
    "\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},\"model\":{\"type\":"
    "\"BPE\",\"unk_token\":\"<unk>\",\"byte_fallback\":true,\"fuse_unk\":true,\"vocab\":{\"<unk>\":0,\"<0xC3>\":1,\"<0xA9>\":2,"
    "\"\\u2581\":3,\"a\":4,\"\\u2581a\":5},\"merges\":[\"\\u2581 a\"]}}",
    "{\"normalizer\":{\"type\":\"BertNormalizer\"},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"decoder\":{\"type\":"
    "\"WordPiece\"},\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",2],\"cls\":[\"[CLS]\",1]},\"model\":{"
    "\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,\"he\":3,\"##llo\":4,\"!\":5}}}",
    "{\"pre_tokenizer\":{\"type\":\"Metaspace\",\"prepend_scheme\":\"first\"},\"decoder\":{\"type\":\"Metaspace\"},\"model\":{"
    "\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],[\"\\u2581\",-1.5],[\"a\",-2],[\"\\u2581a\",-1],[\"b\",-3]]}}",
    "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Whitespace\"},{\"type\":\"Digits\"},{\"type\":"
    "\"Punctuation\",\"behavior\":\"MergedWithPrevious\"}]},\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,"
    "\"a\":1}}}",
};

static void fuzz_text(const char *text, size_t n) {
    static ingot_tokenizer *toks[sizeof builtin / sizeof *builtin];
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) {
        ingot_err err = {0};
        if (!toks[i] && ingot_tokenizer_create(builtin[i], strlen(builtin[i]), &toks[i], &err) != INGOT_OK) abort();
        const size_t cap = ingot_tokenizer_encode_bound(toks[i], n);
        int32_t *const ids = malloc((cap ? cap : 1) * sizeof *ids);
        size_t n_ids = 0, len = 0;
        if (!ids) abort();
        const ingot_status st = ingot_tokenizer_encode(toks[i], text, n, true, ids, cap, &n_ids, &err);
        if (st == INGOT_OK) {
            for (size_t k = 0; k < n_ids; k++)
                if (ids[k] < 0 || ids[k] >= ingot_tokenizer_n_vocab(toks[i])) abort();
            ingot_tokenizer_decode(toks[i], ids, n_ids, false, NULL, 0, &len, &err);
        } else if (st != INGOT_E_FORMAT) { // only invalid UTF-8 may be refused
            abort();
        }
        free(ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ingot_tokenizer *tok = NULL;
    ingot_err err = {0};
    if (size > 0 && data[0] == 1) {
        fuzz_text((const char *)data + 1, size - 1);
        return 0;
    }
    if (ingot_tokenizer_create((const char *)data, size, &tok, &err) != INGOT_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg) || tok) abort();
        return 0;
    }
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) probe(tok, probes[i]);
    for (int32_t id = 0; id < ingot_tokenizer_n_vocab(tok) && id < 512; id++) {
        char buf[64];
        size_t len = 0;
        const ingot_status st = ingot_tokenizer_decode_token_hf(tok, id, buf, sizeof buf, &len, &err);
        if (st != INGOT_OK && st != INGOT_E_LIMIT) abort();
    }
    ingot_tokenizer_free(tok);
    return 0;
}
