// runner/: the tokenizer. Reads a Hugging Face `tokenizer.json` (the blob
// embedded in a .ingot file, or a file on disk) and turns text into token ids
// and ids back into text, the way the `tokenizers` library does.
//
// Supported: models BPE (byte-level and SentencePiece-style with byte
// fallback, merges in "a b" or ["a","b"] form, ignore_merges), WordLevel,
// WordPiece and Unigram; added/special tokens (longest match first, lstrip,
// rstrip, single_word, normalized); normalizers NFC/NFD/NFKC/NFKD,
// Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer,
// Sequence; pre-tokenizers Split (PCRE2 regex or string, every split
// behaviour, invert), ByteLevel, Digits, Metaspace, Whitespace,
// WhitespaceSplit, Punctuation, CharDelimiterSplit, BertPreTokenizer,
// Sequence; decoders ByteLevel, Metaspace, Replace, ByteFallback, Fuse,
// Strip, WordPiece, BPEDecoder, Sequence; post-processors
// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel,
// Sequence. Anything else is INGOT_E_UNSUPPORTED naming the type.
// docs/TOKENIZER.md describes the pipeline and its limits.
//
// Call sequence:
//   1. ingot_tokenizer_create(json, n) or ingot_tokenizer_open(path)
//   2. ingot_tokenizer_encode_bound(n) → capacity; ingot_tokenizer_encode()
//   3. ingot_tokenizer_decode() for a whole sequence, or, while generating,
//      ingot_tokenizer_stream_create() + ingot_tokenizer_stream_push() per
//      token + ingot_tokenizer_stream_free()
//   4. ingot_tokenizer_free()
//
// A tokenizer is immutable after creation except for
// ingot_tokenizer_set_special_ids(); encode/decode may run concurrently from
// many threads on one tokenizer. A stream belongs to one thread.
#ifndef INGOT_TOKENIZER_H
#define INGOT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Hard limits applied to untrusted tokenizer.json input (INGOT_E_LIMIT).
#define INGOT_TOKENIZER_MAX_JSON_BYTES (512u << 20) // 512 MiB
#define INGOT_TOKENIZER_MAX_VOCAB (1u << 22)        // ids must be < 4,194,304
#define INGOT_TOKENIZER_MAX_PIECE_BYTES 65536u      // one token string
#define INGOT_TOKENIZER_MAX_DEPTH 8                 // nested Sequence levels

typedef struct ingot_tokenizer ingot_tokenizer;
typedef struct ingot_tokenizer_stream ingot_tokenizer_stream;

typedef enum ingot_tokenizer_model {
    INGOT_TOKENIZER_MODEL_BPE = 0,
    INGOT_TOKENIZER_MODEL_WORDLEVEL = 1,
    INGOT_TOKENIZER_MODEL_WORDPIECE = 2,
    INGOT_TOKENIZER_MODEL_UNIGRAM = 3,
    INGOT_TOKENIZER_MODEL_COUNT
} ingot_tokenizer_model;

// Parse a tokenizer.json held in memory.
//   json: UTF-8 JSON text, n bytes (need not be NUL-terminated)
//   out:  /* out */ the new tokenizer, NULL on failure
// @return INGOT_OK; INGOT_E_ARG (NULL pointers); INGOT_E_FORMAT (malformed
//   JSON, wrong field types, a merge whose parts or result are not in the
//   vocab, a regex that does not compile); INGOT_E_UNSUPPORTED (unknown
//   model, normalizer, pre-tokenizer, decoder or post-processor type, named
//   in the message); INGOT_E_LIMIT (over the limits above); INGOT_E_NOMEM.
// The bytes are copied where needed; `json` may be freed after the call.
// Untrusted input never crashes the parser.
ingot_status ingot_tokenizer_create(const char *json, size_t n, ingot_tokenizer **out, ingot_err *err);

// Read and parse a tokenizer.json file. Errors also carry the path.
ingot_status ingot_tokenizer_open(const char *path, ingot_tokenizer **out, ingot_err *err);

// Accepts NULL.
void ingot_tokenizer_free(ingot_tokenizer *tok);

// Which model the file declares.
ingot_tokenizer_model ingot_tokenizer_get_model(const ingot_tokenizer *tok);

// Number of ids: 1 + the largest id of the model vocab and the added tokens
// (HF `len(tokenizer)`). Ids in [0, n_vocab) without a string are holes:
// decode skips them, token_to_piece reports INGOT_E_ARG.
int32_t ingot_tokenizer_n_vocab(const ingot_tokenizer *tok);

// Special ids, -1 when unknown. bos comes from the post-processor template
// (its first special token) or, failing that, a well-known added token
// ("<s>", "<|begin_of_text|>", "<｜begin▁of▁sentence｜>", …); eos from the
// template's trailing special token or a well-known added token ("</s>",
// "<|endoftext|>", "<|im_end|>", "<|eot_id|>", …). The runner should prefer
// the ids in config.json and set them with ingot_tokenizer_set_special_ids.
int32_t ingot_tokenizer_bos_id(const ingot_tokenizer *tok);
int32_t ingot_tokenizer_eos_id(const ingot_tokenizer *tok);
// Override (-1 clears). Not thread-safe against concurrent readers of the ids.
void ingot_tokenizer_set_special_ids(ingot_tokenizer *tok, int32_t bos_id, int32_t eos_id);

// True when `id` is an added token marked "special" (e.g. <|im_end|>).
bool ingot_tokenizer_is_special(const ingot_tokenizer *tok, int32_t id);

// Id of an exact token string (model vocab or added token), or -1.
int32_t ingot_tokenizer_find(const ingot_tokenizer *tok, const char *piece, size_t n);

// The raw token string of `id` as stored in the vocab (byte-level form, e.g.
// "Ġthe"; HF convert_ids_to_tokens), borrowed: valid until
// ingot_tokenizer_free. *n receives its length in bytes.
// @return INGOT_OK; INGOT_E_ARG (id out of range or a hole).
ingot_status ingot_tokenizer_token_to_piece(const ingot_tokenizer *tok, int32_t id, const char **piece,
                                            size_t *n, ingot_err *err);

// Upper bound on the number of ids ingot_tokenizer_encode can produce for n
// bytes of text (add_special included).
size_t ingot_tokenizer_encode_bound(const ingot_tokenizer *tok, size_t n);

// Encode UTF-8 text to ids.
//   text, n:      input bytes; must be valid UTF-8
//   add_special:  apply the post-processor template (e.g. prepend BOS)
//   ids, ids_cap: caller-owned output; ingot_tokenizer_encode_bound(n)
//                 entries always suffice
//   n_ids:        /* out */ number of ids written
// @return INGOT_OK; INGOT_E_ARG (NULL pointers); INGOT_E_FORMAT (text is
//   not valid UTF-8, or a word has no unknown token to fall back on where
//   the model needs one); INGOT_E_LIMIT (ids_cap too small: *n_ids then
//   holds the count needed; or, with *n_ids 0, a split regex exceeded its
//   backtracking limit); INGOT_E_NOMEM.
ingot_status ingot_tokenizer_encode(const ingot_tokenizer *tok, const char *text, size_t n, bool add_special,
                                    int32_t *ids, size_t ids_cap, size_t *n_ids, ingot_err *err);

// Decode ids to UTF-8 text, as HF `tokenizer.decode(ids,
// skip_special_tokens=skip_special)` does (decoder chain applied; invalid
// UTF-8 from byte tokens becomes U+FFFD). Ids outside the vocab are skipped.
//   dst, dst_cap: caller-owned output (a NUL is written when it fits)
//   len:          /* out */ bytes of text (without the NUL)
// @return INGOT_OK; INGOT_E_LIMIT (dst_cap too small: *len holds the length
//   needed, plus one for the NUL is advised); INGOT_E_NOMEM; INGOT_E_ARG.
ingot_status ingot_tokenizer_decode(const ingot_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special,
                                    char *dst, size_t dst_cap, size_t *len, ingot_err *err);

// The text HF `tokenizer.decode([id], skip_special_tokens=False)` gives for
// one id: byte-level tokens become bytes, then invalid UTF-8 is replaced by
// U+FFFD per maximal invalid subsequence (Rust String::from_utf8_lossy);
// added tokens give their content. This is the key used by the Engram
// compressed-vocab map (docs/engram.md §2). Output as for decode.
ingot_status ingot_tokenizer_decode_token_hf(const ingot_tokenizer *tok, int32_t id, char *dst, size_t dst_cap,
                                             size_t *len, ingot_err *err);

// Streaming decode for generation: push one id at a time, get the newly
// completed text (possibly empty while a multi-byte character is pending).
// Concatenating the outputs equals ingot_tokenizer_decode of all the ids.
ingot_status ingot_tokenizer_stream_create(const ingot_tokenizer *tok, bool skip_special,
                                           ingot_tokenizer_stream **out, ingot_err *err);
// dst, dst_cap: caller-owned output for the new text;
//   ingot_tokenizer_stream_bound(tok) bytes always suffice.
// len: /* out */ new bytes written (a NUL follows when it fits).
// @return INGOT_OK; INGOT_E_LIMIT (dst_cap too small, nothing consumed);
//   INGOT_E_NOMEM; INGOT_E_ARG.
ingot_status ingot_tokenizer_stream_push(ingot_tokenizer_stream *st, int32_t id, char *dst, size_t dst_cap,
                                         size_t *len, ingot_err *err);
// Text still held back (an incomplete character at the end), as decode would
// render it (with U+FFFD); resets the stream.
ingot_status ingot_tokenizer_stream_flush(ingot_tokenizer_stream *st, char *dst, size_t dst_cap, size_t *len,
                                          ingot_err *err);
size_t ingot_tokenizer_stream_bound(const ingot_tokenizer *tok);
void ingot_tokenizer_stream_free(ingot_tokenizer_stream *st);

#ifdef __cplusplus
}
#endif
#endif
