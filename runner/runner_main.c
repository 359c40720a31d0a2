// ingot-run: the runner on its own, for reading and running it without the
// rest of the toolchain (docs/RUNNER.md gives the one `cc` command that
// builds it). Greedy or sampled generation from a prompt or token ids.
//
//   ingot-run model.ingot "Once upon a time" [-n 64] [-t 0.8] [-s 1] [--threads 4]
//   ingot-run model.ingot --tokens 1,2,3
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/container.h"
#include "ingot/runner.h"
#include "ingot/tokenizer.h"

static int fail(const ingot_err *err) {
    fprintf(stderr, "ingot-run: error: %s\n", err->msg);
    return 1;
}

static int usage(void) {
    fprintf(stderr, "Usage: ingot-run MODEL.ingot (PROMPT | --tokens IDS) [-n N] [-t TEMP] [-s SEED] [--threads N]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *path = NULL, *prompt = NULL, *tokens = NULL;
    int n_gen = 64, threads = 0;
    ingot_sampler_params sp = {.temperature = 0, .top_k = 40, .top_p = 0.95f, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (!path) path = a;
            else prompt = a;
        } else if (!v) {
            return usage();
        } else {
            if (!strcmp(a, "--tokens")) tokens = v;
            else if (!strcmp(a, "-n")) n_gen = atoi(v);
            else if (!strcmp(a, "-t")) sp.temperature = (float)atof(v);
            else if (!strcmp(a, "-s")) sp.seed = strtoull(v, NULL, 10);
            else if (!strcmp(a, "--threads")) threads = atoi(v);
            else return usage();
            i++;
        }
    }
    if (!path || !prompt == !tokens || n_gen < 0) return usage();

    ingot_err err = {0};
    ingot_model *m = NULL;
    if (ingot_model_open(path, &m, &err)) return fail(&err);
    const ingot_model_config *c = ingot_model_get_config(m);
    ingot_tokenizer *tk = NULL;
    const void *blob;
    size_t blob_n;
    if (ingot_container_find_blob(ingot_model_container(m), "tokenizer.json", &blob, &blob_n) &&
        ingot_tokenizer_create(blob, blob_n, &tk, &err))
        return fail(&err);

    // prompt → ids
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokens) {
        if (ingot_tokens_parse(tokens, &ids, &n, &err)) return fail(&err);
    } else {
        if (!tk) return fprintf(stderr, "ingot-run: the model has no tokenizer; use --tokens\n"), 1;
        const size_t cap = ingot_tokenizer_encode_bound(tk, strlen(prompt));
        ids = malloc(cap * sizeof *ids);
        if (!ids || ingot_tokenizer_encode(tk, prompt, strlen(prompt), true, ids, cap, &n, &err)) return fail(&err);
    }

    // state, then prompt in one batch, then one token at a time
    ingot_pool *pool = NULL;
    ingot_state *s = NULL;
    ingot_sampler *smp = NULL;
    if (ingot_pool_create(threads, &pool, &err) || ingot_state_create(m, (int)n + n_gen, (int)n, pool, &s, &err) ||
        ingot_sampler_create(c->n_vocab, &sp, &smp, &err) ||
        ingot_model_forward(m, s, ids, (int)n, 0, 0, &err))
        return fail(&err);
    // The stream decoder keeps what a single token cannot print alone (a
    // partial UTF-8 sequence, a Metaspace word boundary) for the next one.
    ingot_tokenizer_stream *ts = NULL;
    char *text = NULL;
    size_t cap = 0;
    if (tk) {
        cap = ingot_tokenizer_stream_bound(tk);
        text = malloc(cap);
        if (!text || ingot_tokenizer_stream_create(tk, true, &ts, &err)) return fail(&err);
    }
    for (int i = 0; i < n_gen; i++) {
        int32_t next = ingot_sampler_sample(smp, ingot_state_logits(s, NULL));
        if (ingot_model_is_eos(m, next)) break;
        size_t len = 0;
        if (ts && !ingot_tokenizer_stream_push(ts, next, text, cap, &len, &err)) fwrite(text, 1, len, stdout);
        else if (!ts) printf("%d ", next);
        fflush(stdout);
        if (ingot_model_forward(m, s, &next, 1, (int)n + i, 0, &err)) return fail(&err);
    }
    size_t len = 0;
    if (ts && !ingot_tokenizer_stream_flush(ts, text, cap, &len, &err)) fwrite(text, 1, len, stdout);
    printf("\n");
    ingot_tokenizer_stream_free(ts);
    free(text);
    ingot_sampler_free(smp);
    ingot_state_free(s);
    ingot_pool_free(pool);
    ingot_tokenizer_free(tk);
    if (tokens) ingot_free(ids);
    else free(ids);
    ingot_model_close(m);
    return 0;
}
