// `ingot perplexity`: perplexity over a text in chunks of --ctx tokens (the
// second half of each chunk is scored, as llama.cpp's llama-perplexity
// does), and against a base run saved with --save-logits: KL-divergence
// mean / p99 / max, same top-1 rate, ΔPPL and RMS Δp (field-survey §E.1).
//
// Base file: "INGOTPPL" magic, u32 version 1, u32 n_vocab, u32 n_ctx,
// u32 n_positions, then n_positions × (i32 target, f32 logits[n_vocab]),
// little-endian.
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/container.h"
#include "ingot/runner.h"
#include "ingot/tokenizer.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot perplexity [OPTIONS] FILE (-f TEXT | --tokens IDS)\n"
            "\n"
            "Perplexity of a text; with --kld, divergence from a base model's saved logits.\n"
            "\n"
            "Options:\n"
            "  -f, --file TEXT      text file, encoded with the model's tokenizer\n"
            "  --tokens IDS         token ids instead (JSON file or comma list)\n"
            "  --ctx N              chunk length in tokens [default: 512]\n"
            "  --save-logits BASE   write the scored positions' logits (base run)\n"
            "  --kld BASE           compare with a base run: KLD mean/p99/max, same top-1,\n"
            "                       delta PPL, RMS delta p\n"
            "  --threads N          threads [default: all cores]\n"
            "  -h, --help           show this help\n");
}

typedef struct ppl_args {
    const char *file, *text, *tokens, *save, *kld;
    uint64_t ctx, threads;
} ppl_args;

static int parse_args(int argc, char **argv, ppl_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        const int k = ingot_cli_arg_step("perplexity", argc, argv, i, &a->file, &v, usage);
        if (k == INGOT_CLI_ARG_FILE) continue;
        if (k != INGOT_CLI_ARG_OPTION) return k;
        if (!v) return ingot_cli_usage_error("perplexity", "option %s needs a value, or is unknown", s);
        bool ok = true;
        if (!strcmp(s, "-f") || !strcmp(s, "--file")) a->text = v;
        else if (!strcmp(s, "--tokens")) a->tokens = v;
        else if (!strcmp(s, "--save-logits")) a->save = v;
        else if (!strcmp(s, "--kld")) a->kld = v;
        else if (!strcmp(s, "--ctx")) ok = ingot_cli_parse_u64(v, &a->ctx) && a->ctx >= 4 && a->ctx <= (1u << 20);
        else if (!strcmp(s, "--threads")) ok = ingot_cli_parse_u64(v, &a->threads) && a->threads > 0 && a->threads <= 1024;
        else return ingot_cli_usage_error("perplexity", "unknown option '%s'", s);
        if (!ok) return ingot_cli_usage_error("perplexity", "%s: '%s' is not a valid value", s, v);
        i++;
    }
    if (!a->file) return ingot_cli_usage_error("perplexity", "FILE is required");
    if (!a->text == !a->tokens) return ingot_cli_usage_error("perplexity", "give exactly one of -f TEXT and --tokens IDS");
    return 0;
}

static ingot_status text_ids(const ingot_model *m, const char *path, int32_t **ids, size_t *n, ingot_err *err) {
    const void *blob = NULL;
    size_t bn = 0;
    INGOT_FAIL_IF(!ingot_container_find_blob(ingot_model_container(m), "tokenizer.json", &blob, &bn), err,
                  INGOT_E_UNSUPPORTED, "the model has no tokenizer; give --tokens");
    ingot_tokenizer *tk = NULL;
    char *text = NULL;
    size_t len = 0;
    ingot_status st = ingot_tokenizer_create(blob, bn, &tk, err);
    if (!st) st = ingot_file_read_all(path, (size_t)1 << 30, &text, &len, err);
    if (!st) {
        const size_t cap = ingot_tokenizer_encode_bound(tk, len);
        *ids = ingot_malloc((cap ? cap : 1) * sizeof **ids);
        st = *ids ? ingot_tokenizer_encode(tk, text, len, false, *ids, cap, n, err)
                  : ingot_err_set(err, INGOT_E_NOMEM, "out of memory encoding %s", path);
    }
    ingot_free(text);
    ingot_tokenizer_free(tk);
    return st;
}

// ---- base logits file ---------------------------------------------------------------

typedef struct base_file {
    FILE *f;
    uint32_t n_vocab, n_ctx, n_pos;
    ingot_out_file out; // write mode: appears at its path only when complete
} base_file;

static ingot_status base_open_write(base_file *b, const char *path, uint32_t n_vocab, uint32_t n_ctx, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(ingot_out_file_open(&b->out, path, err));
    b->f = b->out.f;
    const uint32_t hdr[4] = {1, n_vocab, n_ctx, 0}; // n_pos patched at the end
    INGOT_FAIL_IF(fwrite("INGOTPPL", 1, 8, b->f) != 8 || fwrite(hdr, 4, 4, b->f) != 4, err, INGOT_E_IO,
                  "%s: write failed", path);
    b->n_vocab = n_vocab;
    b->n_ctx = n_ctx;
    b->n_pos = 0;
    return INGOT_OK;
}

static ingot_status base_open_read(base_file *b, const char *path, uint32_t n_vocab, uint32_t n_ctx, ingot_err *err) {
    b->f = fopen(path, "rb");
    INGOT_FAIL_IF(!b->f, err, INGOT_E_IO, "%s: cannot open", path);
    char magic[8];
    uint32_t hdr[4];
    INGOT_FAIL_IF(fread(magic, 1, 8, b->f) != 8 || memcmp(magic, "INGOTPPL", 8) || fread(hdr, 4, 4, b->f) != 4 ||
                      hdr[0] != 1,
                  err, INGOT_E_FORMAT, "%s: not an ingot perplexity base file", path);
    INGOT_FAIL_IF(hdr[1] != n_vocab || hdr[2] != n_ctx, err, INGOT_E_FORMAT,
                  "%s: base has n_vocab %u, ctx %u; this run has %u, %u", path, hdr[1], hdr[2], n_vocab, n_ctx);
    b->n_vocab = hdr[1];
    b->n_ctx = hdr[2];
    b->n_pos = hdr[3];
    return INGOT_OK;
}

// ---- the run ------------------------------------------------------------------------

typedef struct ppl_run {
    const ingot_model *m;
    ingot_state *s;
    base_file save, base;
    float *base_logits, *scratch;
    ingot_metrics mt;
} ppl_run;

static ingot_status score_chunk(ppl_run *r, const int32_t *ids, int n, ingot_err *err) {
    const int V = ingot_model_get_config(r->m)->n_vocab;
    ingot_state_reset(r->s);
    INGOT_FORWARD_IF_ERROR(ingot_model_forward(r->m, r->s, ids, n, 0, INGOT_FORWARD_ALL_LOGITS, err));
    const float *logits = ingot_state_logits(r->s, NULL);
    for (int j = n / 2; j < n - 1; j++) {
        const float *lg = logits + (size_t)j * V;
        int32_t target = ids[j + 1];
        if (r->save.f) {
            INGOT_FAIL_IF(fwrite(&target, 4, 1, r->save.f) != 1 || fwrite(lg, 4, (size_t)V, r->save.f) != (size_t)V,
                          err, INGOT_E_IO, "writing the base logits failed");
            r->save.n_pos++;
        }
        const float *bl = NULL;
        if (r->base.f) {
            int32_t bt = -1;
            INGOT_FAIL_IF(r->mt.n_tokens >= r->base.n_pos || fread(&bt, 4, 1, r->base.f) != 1 ||
                              fread(r->base_logits, 4, (size_t)V, r->base.f) != (size_t)V,
                          err, INGOT_E_FORMAT, "base file ends after %u positions", r->base.n_pos);
            INGOT_FAIL_IF(bt != target, err, INGOT_E_FORMAT, "base file position %llu scores token %d, this run %d",
                          (unsigned long long)r->mt.n_tokens, bt, target);
            bl = r->base_logits;
        }
        ingot_metrics_add(&r->mt, lg, bl, V, target, r->scratch);
    }
    return INGOT_OK;
}

static void print_summary(ppl_run *r) {
    ingot_metrics_summary sm;
    ingot_metrics_summarize(&r->mt, &sm);
    printf("positions     %llu\n", (unsigned long long)r->mt.n_tokens);
    printf("perplexity    %.4f\n", sm.ppl);
    if (!r->base.f) return;
    printf("base ppl      %.4f\n", sm.ppl_base);
    printf("delta ppl     %+.4f\n", sm.delta_ppl);
    printf("kld mean      %.6f\n", sm.kld_mean);
    printf("kld p99       %.6f\n", sm.kld_p99);
    printf("kld max       %.6f\n", sm.kld_max);
    printf("same top-1    %.2f%%\n", 100 * sm.same_top);
    printf("rms delta p   %.3f%%\n", 100 * sm.rms_dp);
}

static ingot_status run_all(ppl_run *r, const ppl_args *a, const int32_t *ids, size_t n, ingot_err *err) {
    const ingot_model_config *c = ingot_model_get_config(r->m);
    const int ctx = (int)a->ctx;
    INGOT_FAIL_IF(n < (size_t)ctx, err, INGOT_E_ARG, "the text has %zu tokens, fewer than --ctx %d", n, ctx);
    if (a->save) INGOT_FORWARD_IF_ERROR(base_open_write(&r->save, a->save, (uint32_t)c->n_vocab, (uint32_t)ctx, err));
    if (a->kld) INGOT_FORWARD_IF_ERROR(base_open_read(&r->base, a->kld, (uint32_t)c->n_vocab, (uint32_t)ctx, err));
    const size_t n_pos_max = n / (size_t)ctx * (size_t)ctx;
    r->scratch = malloc(2 * (size_t)c->n_vocab * sizeof(float));
    r->base_logits = malloc((size_t)c->n_vocab * sizeof(float));
    r->mt.cap = n_pos_max;
    r->mt.kld = malloc((n_pos_max ? n_pos_max : 1) * sizeof(float));
    r->mt.dp = malloc((n_pos_max ? n_pos_max : 1) * sizeof(float));
    INGOT_FAIL_IF(!r->scratch || !r->base_logits || !r->mt.kld || !r->mt.dp, err, INGOT_E_NOMEM, "out of memory");
    for (size_t at = 0; at + (size_t)ctx <= n; at += (size_t)ctx) {
        INGOT_FORWARD_IF_ERROR(score_chunk(r, ids + at, ctx, err));
        fprintf(stderr, "\rchunk %zu/%zu", at / (size_t)ctx + 1, n / (size_t)ctx);
    }
    fprintf(stderr, "\n");
    if (r->save.f) {
        INGOT_FAIL_IF(fseek(r->save.f, 20, SEEK_SET) || fwrite(&r->save.n_pos, 4, 1, r->save.f) != 1, err,
                      INGOT_E_IO, "%s: write failed", a->save);
    }
    print_summary(r);
    return INGOT_OK;
}

int ingot_cmd_perplexity(int argc, char **argv) {
    ppl_args a = {.ctx = 512};
    const int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? INGOT_EXIT_OK : rc;
    ingot_err err = {0};
    ingot_model *m = NULL;
    ingot_pool *pool = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    ppl_run r = {0};
    int ret = INGOT_EXIT_FAILURE;
    if (ingot_model_open(a.file, &m, &err) ||
        (a.tokens ? ingot_tokens_parse(a.tokens, &ids, &n, &err) : text_ids(m, a.text, &ids, &n, &err)) ||
        ingot_pool_create((int)a.threads, &pool, &err) ||
        ingot_state_create(m, (int)a.ctx, (int)a.ctx, pool, &r.s, &err))
        goto done;
    r.m = m;
    if (run_all(&r, &a, ids, n, &err)) goto done;
    ret = INGOT_EXIT_OK;
done:
    if (r.save.f && !ret && ingot_out_file_commit(&r.save.out, &err) != INGOT_OK) ret = INGOT_EXIT_FAILURE;
    if (r.save.f) ingot_out_file_abort(&r.save.out); // no-op after a commit
    if (r.base.f) fclose(r.base.f);
    if (ret) ingot_cli_fail("perplexity", &err);
    free(r.scratch);
    free(r.base_logits);
    free(r.mt.kld);
    free(r.mt.dp);
    ingot_state_free(r.s);
    ingot_pool_free(pool);
    ingot_model_close(m);
    ingot_free(ids);
    return ret;
}
