// Tokenizer throughput: parse time of a tokenizer.json, encode and decode
// speed on multilingual text, streaming decode per token, and the worst case
// of one very long word (BPE merging is O(n log n) in the word length).
//
//   bench_tokenizer [tokenizer.json] [text-file]
//
// Defaults: the Qwen2-pattern fixture tokenizer from ../shared/fixtures and a
// built-in multilingual paragraph repeated to 4 MiB.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingot/common.h"
#include "ingot/tokenizer.h"

// Process CPU time: the figures stay meaningful on a machine shared with
// other jobs (the tokenizer is single-threaded).
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char paragraph[] =
    "The quick brown fox jumps over the lazy dog; she sells seashells by the seashore. It's 2026 and "
    "they're counting 1234567 tokens, don't they? Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 "
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87\xe7\xab\xa0\xe3\x80\x82 \xf0\x9f\x98\x80\n"
    "    def f(x):\n        return x ** 2  # indented code\n\n";

static char *make_text(size_t target, size_t *n) {
    const size_t pn = sizeof paragraph - 1;
    char *const t = malloc(target + pn + 1);
    if (!t) return NULL;
    size_t at = 0;
    while (at < target) {
        memcpy(t + at, paragraph, pn);
        at += pn;
    }
    t[at] = 0;
    *n = at;
    return t;
}

static int fail(const char *what, const ingot_err *err) {
    fprintf(stderr, "bench_tokenizer: %s: %s\n", what, err->msg);
    return 1;
}

static int bench_encode_decode(const ingot_tokenizer *tok, const char *text, size_t n) {
    ingot_err err = {0};
    const size_t cap = ingot_tokenizer_encode_bound(tok, n);
    int32_t *const ids = malloc(cap * sizeof *ids);
    char *const out = malloc(4 * n + 64);
    if (!ids || !out) return 1;
    size_t n_ids = 0, len = 0;
    double t0 = now_s();
    if (ingot_tokenizer_encode(tok, text, n, false, ids, cap, &n_ids, &err)) return fail("encode", &err);
    const double t_enc = now_s() - t0;
    t0 = now_s();
    if (ingot_tokenizer_decode(tok, ids, n_ids, false, out, 4 * n + 64, &len, &err)) return fail("decode", &err);
    const double t_dec = now_s() - t0;
    printf("encode: %.2f MiB in %.3f s = %.2f MiB/s, %zu ids = %.2f M ids/s (%.2f bytes/id)\n", n / 1048576.0, t_enc,
           n / 1048576.0 / t_enc, n_ids, n_ids / 1e6 / t_enc, (double)n / (double)n_ids);
    printf("decode: %.3f s = %.2f MiB/s, round trip %s\n", t_dec, len / 1048576.0 / t_dec,
           len == n && memcmp(out, text, n) == 0 ? "exact" : "differs");
    ingot_tokenizer_stream *st = NULL;
    if (ingot_tokenizer_stream_create(tok, false, &st, &err)) return fail("stream", &err);
    const size_t bound = ingot_tokenizer_stream_bound(tok), n_stream = n_ids < 200000 ? n_ids : 200000;
    char *const piece = malloc(bound);
    if (!piece) return 1;
    t0 = now_s();
    for (size_t i = 0; i < n_stream; i++)
        if (ingot_tokenizer_stream_push(st, ids[i], piece, bound, &len, &err)) return fail("stream push", &err);
    const double t_st = now_s() - t0;
    printf("stream decode: %zu ids in %.3f s = %.2f us/id\n", n_stream, t_st, 1e6 * t_st / (double)n_stream);
    ingot_tokenizer_stream_free(st);
    free(piece);
    free(ids);
    free(out);
    return 0;
}

// One word of n letters with no split point: every merge goes through the heap.
static int bench_long_word(const ingot_tokenizer *tok) {
    ingot_err err = {0};
    for (size_t n = 1u << 14; n <= 1u << 20; n <<= 3) {
        char *const w = malloc(n);
        int32_t *const ids = malloc(ingot_tokenizer_encode_bound(tok, n) * sizeof *ids);
        if (!w || !ids) return 1;
        for (size_t i = 0; i < n; i++) w[i] = "thesellsea"[i % 10];
        size_t n_ids = 0;
        const double t0 = now_s();
        if (ingot_tokenizer_encode(tok, w, n, false, ids, ingot_tokenizer_encode_bound(tok, n), &n_ids, &err))
            return fail("encode long word", &err);
        const double t = now_s() - t0;
        printf("one word of %7zu bytes: %.4f s (%.1f ns/byte), %zu ids\n", n, t, 1e9 * t / (double)n, n_ids);
        free(w);
        free(ids);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *const fx = getenv("INGOT_FIXTURES") ? getenv("INGOT_FIXTURES") : "../shared/fixtures";
    char def[1024];
    snprintf(def, sizeof def, "%s/thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json", fx);
    const char *const path = argc > 1 ? argv[1] : def;
    ingot_err err = {0};
    char *json = NULL;
    size_t json_n = 0;
    if (ingot_file_read_all(path, INGOT_TOKENIZER_MAX_JSON_BYTES, &json, &json_n, &err)) return fail(path, &err);
    ingot_tokenizer *tok = NULL;
    const double t0 = now_s();
    if (ingot_tokenizer_create(json, json_n, &tok, &err)) return fail(path, &err);
    printf("%s: %zu bytes, vocab %d, parsed in %.1f ms\n", path, json_n, ingot_tokenizer_n_vocab(tok),
           1e3 * (now_s() - t0));
    ingot_free(json);
    size_t n = 0;
    char *text = NULL;
    if (argc > 2) {
        if (ingot_file_read_all(argv[2], SIZE_MAX / 8, &text, &n, &err)) return fail(argv[2], &err);
    } else {
        text = make_text(4u << 20, &n);
    }
    if (!text) return 1;
    int rc = bench_encode_decode(tok, text, n);
    if (!rc) rc = bench_long_word(tok);
    if (argc > 2) ingot_free(text);
    else free(text);
    ingot_tokenizer_free(tok);
    return rc;
}
