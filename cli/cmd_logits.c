// `ingot logits`: run given token ids through a .ingot and write float32
// logits [T, vocab], optionally the residual stream per layer (the layout of
// HF output_hidden_states) and the MoE expert choices as JSON.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/runner.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot logits [OPTIONS] FILE --tokens IDS -o OUT.f32\n"
            "\n"
            "Run token ids (positions 0..T-1) and write float32 logits [T, vocab], little-endian.\n"
            "\n"
            "Options:\n"
            "  --tokens IDS       JSON file (array, or {\"input_ids\": [...]}) or comma list\n"
            "  -o, --output F     logits file\n"
            "  --hidden F         residual stream [n_layer+1, T, n_embd] float32: embeddings,\n"
            "                     after each layer but the last, then the final-norm output\n"
            "  --routing F        MoE expert choices and weights per layer and token (JSON)\n"
            "  --threads N        threads [default: all cores]\n"
            "  -h, --help         show this help\n");
}

// Outputs appear only when complete (temporary file, fsync, rename), so an
// interrupted run leaves nothing half-written at the path.
static bool write_file(const char *path, const void *data, size_t n, ingot_err *err) {
    ingot_out_file o;
    if (ingot_out_file_open(&o, path, err) != INGOT_OK) return false;
    if (fwrite(data, 1, n, o.f) != n) {
        ingot_out_file_abort(&o);
        return !ingot_err_set(err, INGOT_E_IO, "%s: cannot write %zu bytes", path, n);
    }
    return ingot_out_file_commit(&o, err) == INGOT_OK;
}

static bool write_routing(const char *path, const ingot_model_config *c, const int32_t *tok, int n,
                          const int32_t *experts, const float *weights, ingot_err *err) {
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray();
    cJSON_AddItemToObject(root, "tokens", cJSON_CreateIntArray(tok, n));
    cJSON_AddItemToObject(root, "layers", layers);
    const int k = c->n_expert_used;
    for (int l = 0; l < c->n_layer && k > 0; l++) {
        if (experts[(size_t)l * n * k] < 0) continue; // dense layer
        cJSON *lo = cJSON_CreateObject(), *ex = cJSON_CreateArray(), *we = cJSON_CreateArray();
        cJSON_AddNumberToObject(lo, "layer", l);
        for (int t = 0; t < n; t++) {
            cJSON_AddItemToArray(ex, cJSON_CreateIntArray(experts + ((size_t)l * n + t) * k, k));
            cJSON_AddItemToArray(we, cJSON_CreateFloatArray(weights + ((size_t)l * n + t) * k, k));
        }
        cJSON_AddItemToObject(lo, "experts", ex);
        cJSON_AddItemToObject(lo, "weights", we);
        cJSON_AddItemToArray(layers, lo);
    }
    char *text = cJSON_PrintUnformatted(root);
    const bool ok = text && write_file(path, text, strlen(text), err);
    cJSON_free(text);
    cJSON_Delete(root);
    return ok;
}

typedef struct logits_args {
    const char *file, *tokens, *out, *hidden, *routing;
    int threads;
} logits_args;

static int parse_args(int argc, char **argv, logits_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            usage(stdout);
            return -1;
        }
        const char **dst = !strcmp(s, "--tokens") ? &a->tokens
                           : !strcmp(s, "-o") || !strcmp(s, "--output") ? &a->out
                           : !strcmp(s, "--hidden") ? &a->hidden
                           : !strcmp(s, "--routing") ? &a->routing
                                                      : NULL;
        if (dst || !strcmp(s, "--threads")) {
            if (!v) return ingot_cli_usage_error("logits", "option %s needs a value", s);
            uint64_t t = 0;
            if (dst) *dst = v;
            else if (!ingot_cli_parse_u64(v, &t) || t == 0 || t > 1024)
                return ingot_cli_usage_error("logits", "--threads: '%s' is not in 1..1024", v);
            else a->threads = (int)t;
            i++;
        } else if (s[0] == '-') {
            return ingot_cli_usage_error("logits", "unknown option '%s'", s);
        } else if (!a->file) {
            a->file = s;
        } else {
            return ingot_cli_usage_error("logits", "unexpected argument '%s'", s);
        }
    }
    if (!a->file || !a->tokens || !a->out) return ingot_cli_usage_error("logits", "FILE, --tokens and -o are required");
    return 0;
}

int ingot_cmd_logits(int argc, char **argv) {
    logits_args a = {0};
    const int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? INGOT_EXIT_OK : rc;
    ingot_err err = {0};
    int32_t *tok = NULL;
    size_t n = 0;
    ingot_model *m = NULL;
    ingot_pool *pool = NULL;
    ingot_state *s = NULL;
    float *hidden = NULL, *weights = NULL;
    int32_t *experts = NULL;
    int ret = INGOT_EXIT_FAILURE;
    if (ingot_tokens_parse(a.tokens, &tok, &n, &err) || ingot_model_open(a.file, &m, &err) ||
        ingot_pool_create(a.threads, &pool, &err) || ingot_state_create(m, (int)n, (int)n, pool, &s, &err))
        goto done;
    const ingot_model_config *c = ingot_model_get_config(m);
    const size_t k = c->n_expert_used > 0 ? (size_t)c->n_expert_used : 1;
    if (a.hidden) hidden = malloc((size_t)(c->n_layer + 1) * n * (size_t)c->n_embd * sizeof(float));
    if (a.routing) {
        experts = malloc((size_t)c->n_layer * n * k * sizeof(int32_t));
        weights = malloc((size_t)c->n_layer * n * k * sizeof(float));
    }
    if ((a.hidden && !hidden) || (a.routing && (!experts || !weights))) {
        ingot_err_set(&err, INGOT_E_NOMEM, "out of memory for the capture buffers");
        goto done;
    }
    ingot_state_set_capture(s, hidden, experts, weights);
    if (ingot_model_forward(m, s, tok, (int)n, 0, INGOT_FORWARD_ALL_LOGITS, &err)) goto done;
    if (!write_file(a.out, ingot_state_logits(s, NULL), n * (size_t)c->n_vocab * sizeof(float), &err)) goto done;
    if (hidden && !write_file(a.hidden, hidden, (size_t)(c->n_layer + 1) * n * (size_t)c->n_embd * sizeof(float), &err))
        goto done;
    if (a.routing && !write_routing(a.routing, c, tok, (int)n, experts, weights, &err)) goto done;
    ret = INGOT_EXIT_OK;
done:
    if (ret) ingot_cli_fail("logits", &err);
    free(hidden);
    free(experts);
    free(weights);
    ingot_state_free(s);
    ingot_pool_free(pool);
    ingot_model_close(m);
    ingot_free(tok);
    return ret;
}
