// `ingot engram`: for given token ids, print the Engram compressed id of
// each token and the table row it hashes to in every Engram layer, order
// and head (docs/ENGRAM.md), straight from a converted .ingot.
#include <cjson/cJSON.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/engram.h"
#include "ingot/runner.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot engram [OPTIONS] FILE.ingot --tokens IDS\n"
            "\n"
            "Show the Engram compressed id of each token and its row index in every\n"
            "Engram layer (columns: order n = 2..N, head h = 0..H-1; global rows of the\n"
            "layer's table, blk.L.engram.table).\n"
            "\n"
            "Options:\n"
            "  --tokens IDS   JSON file (array, or {\"input_ids\": [...]}) or comma list\n"
            "  --json         print JSON on stdout instead of a table\n"
            "  -h, --help     show this help\n");
}

typedef struct engram_args {
    const char *file, *tokens;
    bool json;
} engram_args;

static int parse_args(int argc, char **argv, engram_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--tokens")) {
            if (i + 1 >= argc) return ingot_cli_usage_error("engram", "option --tokens needs a value");
            a->tokens = argv[++i];
        } else if (!strncmp(s, "--tokens=", 9)) {
            a->tokens = s + 9;
        } else if (s[0] == '-' && s[1]) {
            return ingot_cli_usage_error("engram", "unknown option '%s'", s);
        } else if (!a->file) {
            a->file = s;
        } else {
            return ingot_cli_usage_error("engram", "unexpected argument '%s'", s);
        }
    }
    if (!a->file) return ingot_cli_usage_error("engram", "no .ingot file given");
    if (!a->tokens) return ingot_cli_usage_error("engram", "--tokens is required");
    return 0;
}

static void print_table(const ingot_engram_params *p, const int32_t *lookup, const int32_t *ids, size_t n,
                        const uint64_t *rows) {
    const uint32_t cols = ingot_engram_n_cols(p);
    printf("# V=%llu V'=%llu pad=%lld (compressed %llu), N=%u, H=%u, d_h=%u\n", (unsigned long long)p->vocab,
           (unsigned long long)p->compressed_vocab, (long long)p->pad_id, (unsigned long long)p->pad_compressed,
           p->max_ngram, p->n_head, p->d_h);
    for (uint32_t li = 0; li < p->n_layers; li++) {
        printf("layer %d (%llu rows)\n%5s %8s %8s", p->layers[li].layer, (unsigned long long)p->layers[li].n_rows,
               "pos", "id", "cid");
        for (uint32_t j = 0; j < cols; j++) printf("  %dg.h%u", (int)(j / p->n_head) + 2, j % p->n_head);
        printf("\n");
        for (size_t t = 0; t < n; t++) {
            printf("%5zu %8d %8llu", t, ids[t], (unsigned long long)ingot_engram_compress_id(lookup, p->vocab, ids[t]));
            for (uint32_t j = 0; j < cols; j++)
                printf(" %7llu", (unsigned long long)rows[((size_t)li * n + t) * cols + j]);
            printf("\n");
        }
    }
}

static int print_json(const ingot_engram_params *p, const int32_t *lookup, const int32_t *ids, size_t n,
                      const uint64_t *rows) {
    const uint32_t cols = ingot_engram_n_cols(p);
    cJSON *root = cJSON_CreateObject();
    cJSON *cid = cJSON_AddArrayToObject(root, "compressed_ids");
    for (size_t t = 0; t < n; t++)
        cJSON_AddItemToArray(cid, cJSON_CreateNumber((double)ingot_engram_compress_id(lookup, p->vocab, ids[t])));
    cJSON_AddNumberToObject(root, "pad_id_compressed", (double)p->pad_compressed);
    cJSON *layers = cJSON_AddObjectToObject(root, "layers");
    for (uint32_t li = 0; li < p->n_layers; li++) {
        char key[16];
        snprintf(key, sizeof key, "%d", p->layers[li].layer);
        cJSON *lo = cJSON_AddObjectToObject(layers, key);
        cJSON *ra = cJSON_AddArrayToObject(lo, "rows");
        for (size_t t = 0; t < n; t++) {
            cJSON *r = cJSON_CreateArray();
            for (uint32_t j = 0; j < cols; j++)
                cJSON_AddItemToArray(r, cJSON_CreateNumber((double)rows[((size_t)li * n + t) * cols + j]));
            cJSON_AddItemToArray(ra, r);
        }
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        ingot_err e = {0};
        ingot_err_set(&e, INGOT_E_NOMEM, "out of memory");
        return ingot_cli_fail("engram", &e);
    }
    printf("%s\n", text);
    cJSON_free(text);
    return INGOT_EXIT_OK;
}

int ingot_cmd_engram(int argc, char **argv) {
    engram_args a = {0};
    const int pr = parse_args(argc, argv, &a);
    if (pr) return pr < 0 ? INGOT_EXIT_OK : pr;
    ingot_err err = {0};
    ingot_container *c = NULL;
    ingot_engram_model *em = NULL;
    int32_t *ids = NULL;
    uint64_t *rows = NULL;
    size_t n = 0;
    ingot_status st = ingot_tokens_parse(a.tokens, &ids, &n, &err);
    if (st == INGOT_OK) st = ingot_container_open(a.file, 0, &c, &err);
    if (st == INGOT_OK) st = ingot_engram_model_open(c, &em, &err);
    if (st == INGOT_OK && !em) st = ingot_err_set(&err, INGOT_E_FORMAT, "%s: the file has no Engram layers", a.file);
    const ingot_engram_params *p = st == INGOT_OK ? ingot_engram_model_params(em) : NULL;
    if (st == INGOT_OK) {
        rows = ingot_malloc((size_t)p->n_layers * n * ingot_engram_n_cols(p) * sizeof *rows + 1);
        if (!rows) st = ingot_err_set(&err, INGOT_E_NOMEM, "out of memory");
    }
    for (uint32_t li = 0; st == INGOT_OK && li < p->n_layers; li++)
        st = ingot_engram_model_rows(em, (int)li, ids, (int)n, 0, rows + (size_t)li * n * ingot_engram_n_cols(p), &err);
    int rc = INGOT_EXIT_OK;
    if (st != INGOT_OK)
        rc = ingot_cli_fail("engram", &err);
    else if (a.json)
        rc = print_json(p, ingot_engram_model_lookup(em), ids, n, rows);
    else
        print_table(p, ingot_engram_model_lookup(em), ids, n, rows);
    ingot_free(rows);
    ingot_free(ids);
    ingot_engram_model_free(em);
    ingot_container_close(c);
    return rc;
}
