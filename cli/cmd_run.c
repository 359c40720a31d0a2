// `ingot run`: generate text from a prompt with the .ingot's embedded
// tokenizer (or from raw token ids), streaming tokens to stdout, and report
// prompt and generation speed on stderr.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"
#include "ingot/container.h"
#include "ingot/runner.h"
#include "ingot/tokenizer.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot run [OPTIONS] FILE -p PROMPT\n"
            "\n"
            "Generate text; tokens stream to stdout, speeds go to stderr.\n"
            "\n"
            "Options:\n"
            "  -p, --prompt TEXT  prompt, encoded with the file's tokenizer\n"
            "  --tokens IDS       prompt as token ids instead (JSON file or comma list)\n"
            "  -n N               tokens to generate [default: 128]\n"
            "  --temp T           temperature, 0 = greedy [default: 0.8]\n"
            "  --top-k K          keep the K most likely tokens, 0 = off [default: 40]\n"
            "  --top-p P          nucleus threshold, 1 = off [default: 0.95]\n"
            "  --seed S           sampling seed [default: time]\n"
            "  --ctx N            context length [default: prompt + n]\n"
            "  --threads N        threads [default: all cores]\n"
            "  -h, --help         show this help\n");
}

typedef struct run_args {
    const char *file, *prompt, *tokens;
    uint64_t n_gen, top_k, seed, ctx, threads;
    double temp, top_p;
} run_args;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    const double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, run_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        const int k = ingot_cli_arg_step("run", argc, argv, i, &a->file, &v, usage);
        if (k == INGOT_CLI_ARG_FILE) continue;
        if (k != INGOT_CLI_ARG_OPTION) return k;
        if (!v) return ingot_cli_usage_error("run", "option %s needs a value, or is unknown", s);
        bool ok = true;
        if (!strcmp(s, "-p") || !strcmp(s, "--prompt")) a->prompt = v;
        else if (!strcmp(s, "--tokens")) a->tokens = v;
        else if (!strcmp(s, "-n")) ok = ingot_cli_parse_u64(v, &a->n_gen) && a->n_gen <= (1u << 20);
        else if (!strcmp(s, "--temp")) ok = parse_double(v, 0, 100, &a->temp);
        else if (!strcmp(s, "--top-k")) ok = ingot_cli_parse_u64(v, &a->top_k) && a->top_k < (1u << 30);
        else if (!strcmp(s, "--top-p")) ok = parse_double(v, 0, 1, &a->top_p);
        else if (!strcmp(s, "--seed")) ok = ingot_cli_parse_u64(v, &a->seed);
        else if (!strcmp(s, "--ctx")) ok = ingot_cli_parse_u64(v, &a->ctx) && a->ctx > 0 && a->ctx <= (1u << 24);
        else if (!strcmp(s, "--threads")) ok = ingot_cli_parse_u64(v, &a->threads) && a->threads > 0 && a->threads <= 1024;
        else return ingot_cli_usage_error("run", "unknown option '%s'", s);
        if (!ok) return ingot_cli_usage_error("run", "%s: '%s' is not a valid value", s, v);
        i++;
    }
    if (!a->file) return ingot_cli_usage_error("run", "FILE is required");
    if (!a->prompt == !a->tokens) return ingot_cli_usage_error("run", "give exactly one of -p PROMPT and --tokens IDS");
    return 0;
}

// The prompt as ids: --tokens, or -p encoded with the embedded tokenizer.
static ingot_status prompt_ids(const run_args *a, const ingot_tokenizer *tk, int32_t **ids, size_t *n,
                               ingot_err *err) {
    if (a->tokens) return ingot_tokens_parse(a->tokens, ids, n, err);
    INGOT_FAIL_IF(!tk, err, INGOT_E_UNSUPPORTED, "%s has no tokenizer; give --tokens", a->file);
    const size_t len = strlen(a->prompt), cap = ingot_tokenizer_encode_bound(tk, len);
    *ids = ingot_malloc((cap ? cap : 1) * sizeof **ids);
    INGOT_FAIL_IF(!*ids, err, INGOT_E_NOMEM, "out of memory encoding the prompt");
    INGOT_FORWARD_IF_ERROR(ingot_tokenizer_encode(tk, a->prompt, len, true, *ids, cap, n, err));
    INGOT_FAIL_IF(*n == 0, err, INGOT_E_ARG, "the prompt encodes to no tokens");
    return INGOT_OK;
}

static ingot_status open_tokenizer(const ingot_model *m, ingot_tokenizer **tk, ingot_err *err) {
    const void *blob = NULL;
    size_t n = 0;
    *tk = NULL;
    if (!ingot_container_find_blob(ingot_model_container(m), "tokenizer.json", &blob, &n)) return INGOT_OK;
    INGOT_FORWARD_IF_ERROR(ingot_tokenizer_create(blob, n, tk, err));
    const ingot_model_config *c = ingot_model_get_config(m);
    ingot_tokenizer_set_special_ids(*tk, c->n_bos, c->n_eos > 0 ? c->eos[0] : -1);
    return INGOT_OK;
}

// Print one generated token: text through the stream, else its id.
static void emit(ingot_tokenizer_stream *ts, int32_t id, char *buf, size_t cap) {
    size_t len = 0;
    ingot_err err = {0};
    if (!ts) printf("%d ", id);
    else if (!ingot_tokenizer_stream_push(ts, id, buf, cap, &len, &err)) fwrite(buf, 1, len, stdout);
    fflush(stdout);
}

typedef struct gen_ctx {
    const ingot_model *m;
    ingot_state *s;
    ingot_sampler *smp;
    ingot_tokenizer_stream *ts;
    char *buf;
    size_t buf_cap;
    int batch; // prompt tokens per forward call (the state's n_batch)
} gen_ctx;

static ingot_status generate(gen_ctx *g, const int32_t *ids, size_t n, const run_args *a, ingot_err *err) {
    const double t0 = now_s();
    const int batch = g->batch;
    for (size_t at = 0; at < n; at += batch) {
        const int cnt = (int)(n - at < (size_t)batch ? n - at : (size_t)batch);
        INGOT_FORWARD_IF_ERROR(ingot_model_forward(g->m, g->s, ids + at, cnt, (int)at, 0, err));
    }
    const double t1 = now_s();
    int pos = (int)n, made = 0;
    for (; made < (int)a->n_gen; made++) {
        int32_t next = ingot_sampler_sample(g->smp, ingot_state_logits(g->s, NULL));
        if (ingot_model_is_eos(g->m, next)) break;
        emit(g->ts, next, g->buf, g->buf_cap);
        if (made + 1 == (int)a->n_gen) {
            made++;
            break;
        }
        INGOT_FORWARD_IF_ERROR(ingot_model_forward(g->m, g->s, &next, 1, pos++, 0, err));
    }
    const double t2 = now_s();
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "prompt: %zu tokens, %.1f tok/s; generation: %d tokens, %.1f tok/s\n", n,
            (double)n / (t1 - t0), made, made > 1 ? (made - 1) / (t2 - t1) : 0.0);
    return INGOT_OK;
}

int ingot_cmd_run(int argc, char **argv) {
    run_args a = {.n_gen = 128, .temp = 0.8, .top_k = 40, .top_p = 0.95, .seed = (uint64_t)time(NULL)};
    const int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? INGOT_EXIT_OK : rc;
    ingot_err err = {0};
    gen_ctx g = {0};
    ingot_model *m = NULL;
    ingot_pool *pool = NULL;
    ingot_tokenizer *tk = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int ret = INGOT_EXIT_FAILURE;
    if (ingot_model_open(a.file, &m, &err) || open_tokenizer(m, &tk, &err) || prompt_ids(&a, tk, &ids, &n, &err) ||
        ingot_pool_create((int)a.threads, &pool, &err))
        goto done;
    const ingot_model_config *c = ingot_model_get_config(m);
    const int ctx = a.ctx ? (int)a.ctx : (int)(n + a.n_gen);
    if ((size_t)ctx < n + a.n_gen) {
        ingot_err_set(&err, INGOT_E_ARG, "--ctx %d is shorter than the prompt (%zu) plus -n", ctx, n);
        goto done;
    }
    const ingot_sampler_params sp = {(float)a.temp, (int)a.top_k, (float)a.top_p, a.seed};
    g.m = m;
    // Batch: the prompt's chunks (a decode step needs one row; a larger
    // batch only costs memory: logits alone take batch × vocab floats).
    g.batch = n < 512 ? (int)(n > 0 ? n : 1) : 512;
    if (ingot_state_create(m, ctx, g.batch, pool, &g.s, &err) || ingot_sampler_create(c->n_vocab, &sp, &g.smp, &err))
        goto done;
    if (tk) {
        g.buf_cap = ingot_tokenizer_stream_bound(tk);
        g.buf = malloc(g.buf_cap);
        if (!g.buf || ingot_tokenizer_stream_create(tk, true, &g.ts, &err)) goto done;
    }
    if (generate(&g, ids, n, &a, &err)) goto done;
    ret = INGOT_EXIT_OK;
done:
    if (ret) ingot_cli_fail("run", &err);
    ingot_tokenizer_stream_free(g.ts);
    free(g.buf);
    ingot_sampler_free(g.smp);
    ingot_state_free(g.s);
    ingot_tokenizer_free(tk);
    ingot_pool_free(pool);
    ingot_model_close(m);
    ingot_free(ids);
    return ret;
}
