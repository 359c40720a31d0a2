// `ingot inspect`: describe a checkpoint (folder, .safetensors file, archive)
// or a .ingot file — architecture, layer and expert counts, tensor count,
// bytes per dtype, largest tensors, total size, bits per weight; every tensor
// with --tensors; JSON with --json.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/safetensors.h"

#define INSPECT_TOP 10

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot inspect [OPTIONS] PATH\n"
            "\n"
            "Describes PATH: a Hugging Face checkpoint folder, one .safetensors file, an archive\n"
            "of a checkpoint (.tar, .tar.gz, .tar.zst, .zip), or a .ingot file. Prints the\n"
            "architecture, layer and expert counts, tensor count, bytes per dtype, the largest\n"
            "tensors, the total size and bits per weight.\n"
            "\n"
            "Options:\n"
            "  --tensors      list every tensor (name, dtype, shape, bytes, offset)\n"
            "  --json         print JSON on stdout instead of text\n"
            "  -h, --help     show this help\n"
            "\n"
            "Exit codes: 0 success, 1 failure (unreadable or invalid input), 2 usage.\n");
}

// ---- a source-independent description ---------------------------------------
typedef struct insp_tensor {
    const char *name;   // borrowed from the open source
    ingot_dtype dtype;
    uint32_t n_dims;
    uint64_t dims[INGOT_ST_MAX_DIMS];
    uint64_t size, off;
    const char *where;  // shard name or region label (borrowed)
} insp_tensor;

typedef struct insp {
    const char *path;
    const char *kind;         // "ingot", "safetensors file", …
    uint32_t version;         // .ingot format version, 0 otherwise
    char arch[128], model_type[64], preset[64];
    int64_t n_layer, n_expert, n_expert_used; // -1 when unknown / 0 experts for dense
    insp_tensor *t;
    size_t n;
    uint64_t file_bytes;
    const ingot_container *c; // for regions and blobs
    const ingot_checkpoint *ck;
    char (*region_labels)[32];
} insp;

static uint64_t n_elements(const insp_tensor *t) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++)
        if (!ingot_mul_u64(n, t->dims[d], &n)) return UINT64_MAX;
    return n;
}

static void fmt_shape(char *buf, size_t cap, const insp_tensor *t) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < t->n_dims && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%llu", i ? ", " : "", (unsigned long long)t->dims[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

// ---- model facts from JSON ----------------------------------------------------
static int64_t json_int(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static void copy_str(char *dst, size_t cap, const cJSON *v) {
    if (cJSON_IsString(v) && v->valuestring) snprintf(dst, cap, "%s", v->valuestring);
}

// config.json: architectures[0], model_type, num_hidden_layers and the
// expert-count spellings of the supported families.
static void facts_from_config(insp *s, const char *json, size_t n) {
    cJSON *root = json ? cJSON_ParseWithLength(json, n) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return;
    }
    const cJSON *cfg = root;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (cJSON_IsObject(text) && json_int(root, "num_hidden_layers") < 0) cfg = text;
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    copy_str(s->arch, sizeof s->arch, cJSON_IsArray(archs) ? cJSON_GetArrayItem(archs, 0) : NULL);
    copy_str(s->model_type, sizeof s->model_type, cJSON_GetObjectItemCaseSensitive(root, "model_type"));
    s->n_layer = json_int(cfg, "num_hidden_layers");
    static const char *expert_keys[] = {"num_local_experts", "num_experts", "n_routed_experts"};
    s->n_expert = 0;
    for (size_t i = 0; i < sizeof expert_keys / sizeof *expert_keys && s->n_expert <= 0; i++)
        s->n_expert = json_int(cfg, expert_keys[i]);
    if (s->n_expert < 0) s->n_expert = 0;
    s->n_expert_used = s->n_expert ? json_int(cfg, "num_experts_per_tok") : 0;
    cJSON_Delete(root);
}

// .ingot metadata (docs/MODEL.md): arch, hparams.n_layer, hparams.moe.
static void facts_from_metadata(insp *s, const char *json, size_t n) {
    cJSON *root = json ? cJSON_ParseWithLength(json, n) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return;
    }
    copy_str(s->arch, sizeof s->arch, cJSON_GetObjectItemCaseSensitive(root, "arch"));
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(root, "hparams");
    s->n_layer = json_int(hp, "n_layer");
    const cJSON *moe = cJSON_GetObjectItemCaseSensitive(hp, "moe");
    s->n_expert = cJSON_IsObject(moe) ? json_int(moe, "n_expert") : 0;
    s->n_expert_used = cJSON_IsObject(moe) ? json_int(moe, "n_expert_used") : 0;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quantization");
    copy_str(s->preset, sizeof s->preset, cJSON_GetObjectItemCaseSensitive(q, "preset"));
    cJSON_Delete(root);
}

// ---- loading ------------------------------------------------------------------
static const char *k_region_kind[INGOT_REGION_COUNT] = {"dense", "experts", "engram"};

static ingot_status load_container(insp *s, ingot_container *c, ingot_err *err) {
    s->kind = "ingot";
    s->c = c;
    s->version = ingot_container_version(c);
    s->file_bytes = ingot_container_file_size(c);
    s->n = ingot_container_n_tensors(c);
    s->t = calloc(s->n ? s->n : 1, sizeof *s->t);
    s->region_labels = calloc(ingot_container_n_regions(c) + 1, sizeof *s->region_labels);
    INGOT_FAIL_IF(!s->t || !s->region_labels, err, INGOT_E_NOMEM, "out of memory");
    for (size_t r = 0; r < ingot_container_n_regions(c); r++) {
        const ingot_region_info *R = ingot_container_region(c, r);
        if (R->layer < 0) snprintf(s->region_labels[r], 32, "%s", k_region_kind[R->kind]);
        else snprintf(s->region_labels[r], 32, "%s.%d", k_region_kind[R->kind], (int)R->layer);
    }
    for (size_t i = 0; i < s->n; i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        insp_tensor *o = &s->t[i];
        *o = (insp_tensor){t->name, t->dtype, t->n_dims, {0}, t->size, t->off, s->region_labels[t->region]};
        memcpy(o->dims, t->dims, sizeof t->dims);
    }
    size_t mn;
    const char *meta = ingot_container_metadata(c, &mn);
    facts_from_metadata(s, meta, mn);
    return INGOT_OK;
}

static ingot_status load_checkpoint(insp *s, const ingot_checkpoint *ck, ingot_err *err) {
    static const char *kinds[] = {"safetensors file", "checkpoint folder", "checkpoint archive"};
    const ingot_checkpoint_kind k = ingot_checkpoint_get_kind(ck);
    s->kind = (unsigned)k < 3 ? kinds[k] : "checkpoint";
    s->ck = ck;
    s->n = ingot_checkpoint_n_tensors(ck);
    s->t = calloc(s->n ? s->n : 1, sizeof *s->t);
    INGOT_FAIL_IF(!s->t, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < ingot_checkpoint_n_shards(ck); i++) s->file_bytes += ingot_checkpoint_shard_get(ck, i)->size;
    for (size_t i = 0; i < s->n; i++) {
        const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, i);
        const ingot_checkpoint_shard *sh = ingot_checkpoint_shard_get(ck, t->file_index);
        insp_tensor *o = &s->t[i];
        *o = (insp_tensor){t->name, t->dtype, t->n_dims, {0}, t->size, t->data_off, sh ? sh->name : ""};
        memcpy(o->dims, t->dims, sizeof t->dims);
    }
    size_t cn = 0;
    const char *cfg = ingot_checkpoint_aux(ck, "config.json", &cn);
    facts_from_config(s, cfg, cn);
    return INGOT_OK;
}

// ---- summary figures ----------------------------------------------------------
typedef struct insp_totals {
    uint64_t bytes, elements;
    uint64_t dt_bytes[INGOT_DTYPE_COUNT], dt_elements[INGOT_DTYPE_COUNT];
    size_t dt_count[INGOT_DTYPE_COUNT];
    size_t top[INSPECT_TOP], n_top;
} insp_totals;

static int cmp_size_desc(const void *a, const void *b, void *ctx) {
    const insp *s = ctx;
    const insp_tensor *x = &s->t[*(const size_t *)a], *y = &s->t[*(const size_t *)b];
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return strcmp(x->name, y->name);
}

static bool totals_compute(const insp *s, insp_totals *T) {
    memset(T, 0, sizeof *T);
    for (size_t i = 0; i < s->n; i++) {
        const insp_tensor *t = &s->t[i];
        const uint64_t ne = n_elements(t);
        T->bytes += t->size;
        T->elements += ne;
        if (ingot_dtype_valid((int)t->dtype)) {
            T->dt_bytes[t->dtype] += t->size;
            T->dt_elements[t->dtype] += ne;
            T->dt_count[t->dtype]++;
        }
    }
    size_t *order = malloc((s->n ? s->n : 1) * sizeof *order);
    if (!order) return false;
    for (size_t i = 0; i < s->n; i++) order[i] = i;
    qsort_r(order, s->n, sizeof *order, cmp_size_desc, (void *)s);
    T->n_top = s->n < INSPECT_TOP ? s->n : INSPECT_TOP;
    memcpy(T->top, order, T->n_top * sizeof *order);
    free(order);
    return true;
}

static double bpw(uint64_t bytes, uint64_t elements) { return elements ? 8.0 * (double)bytes / (double)elements : 0; }

// ---- text output ----------------------------------------------------------------
static void print_count(const char *label, int64_t v) {
    if (v >= 0) printf("%-14s %lld\n", label, (long long)v);
    else printf("%-14s unknown\n", label);
}

static void print_tensor_line(const insp *s, const insp_tensor *t) {
    char shape[128], b[32];
    fmt_shape(shape, sizeof shape, t);
    const bool where = t->where && t->where[0] && !(s->ck && ingot_checkpoint_n_shards(s->ck) < 2);
    printf("  %-48s %-8s %-24s %12s  @%llu%s%s\n", t->name, ingot_dtype_name(t->dtype), shape,
           ingot_cli_fmt_bytes(t->size, b, sizeof b), (unsigned long long)t->off, where ? "  " : "",
           where ? t->where : "");
}

static void print_text(const insp *s, const insp_totals *T, bool all) {
    char a[32], b[32];
    printf("%-14s %s\n", "path:", s->path);
    if (s->version) printf("%-14s .ingot (format version %u)\n", "kind:", s->version);
    else printf("%-14s %s\n", "kind:", s->kind);
    printf("%-14s %s%s%s%s\n", "architecture:", s->arch[0] ? s->arch : "unknown", s->model_type[0] ? " (" : "",
           s->model_type, s->model_type[0] ? ")" : "");
    if (s->preset[0]) printf("%-14s %s\n", "quantization:", s->preset);
    print_count("layers:", s->n_layer);
    if (s->n_expert > 0) printf("%-14s %lld (%lld per token)\n", "experts:", (long long)s->n_expert,
                                (long long)s->n_expert_used);
    else printf("%-14s none (dense)\n", "experts:");
    printf("%-14s %zu\n", "tensors:", s->n);
    printf("%-14s %llu\n", "weights:", (unsigned long long)T->elements);
    printf("%-14s %s\n", "tensor bytes:", ingot_cli_fmt_bytes(T->bytes, a, sizeof a));
    printf("%-14s %s (%llu bytes)\n", "total size:", ingot_cli_fmt_bytes(s->file_bytes, b, sizeof b),
           (unsigned long long)s->file_bytes);
    printf("%-14s %.3f\n", "bits/weight:", bpw(T->bytes, T->elements));
    printf("dtypes:\n");
    for (int d = 0; d < INGOT_DTYPE_COUNT; d++)
        if (T->dt_count[d])
            printf("  %-14s %6zu tensors %12s %8.3f bpw\n", ingot_dtype_name((ingot_dtype)d), T->dt_count[d],
                   ingot_cli_fmt_bytes(T->dt_bytes[d], a, sizeof a), bpw(T->dt_bytes[d], T->dt_elements[d]));
    printf("largest tensors:\n");
    for (size_t i = 0; i < T->n_top; i++) print_tensor_line(s, &s->t[T->top[i]]);
    if (s->c) {
        printf("regions:\n");
        for (size_t r = 0; r < ingot_container_n_regions(s->c); r++) {
            const ingot_region_info *R = ingot_container_region(s->c, r);
            printf("  %-14s @%-12llu %12s\n", s->region_labels[r], (unsigned long long)R->off,
                   ingot_cli_fmt_bytes(R->size, a, sizeof a));
        }
        printf("blobs:%s\n", ingot_container_n_blobs(s->c) ? "" : "         none");
        for (size_t i = 0; i < ingot_container_n_blobs(s->c); i++) {
            const char *name;
            size_t n;
            ingot_container_blob(s->c, i, &name, NULL, &n);
            printf("  %-30s %12s\n", name, ingot_cli_fmt_bytes(n, a, sizeof a));
        }
    }
    if (all) {
        printf("all tensors:\n");
        for (size_t i = 0; i < s->n; i++) print_tensor_line(s, &s->t[i]);
    }
}

// ---- JSON output ------------------------------------------------------------------
static cJSON *tensor_json(const insp_tensor *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", ingot_dtype_name(t->dtype));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    for (uint32_t d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[d]));
    cJSON_AddNumberToObject(o, "bytes", (double)t->size);
    cJSON_AddNumberToObject(o, "offset", (double)t->off);
    cJSON_AddStringToObject(o, "where", t->where ? t->where : "");
    return o;
}

static void json_extras(cJSON *o, const insp *s) {
    if (s->c) {
        cJSON *regs = cJSON_AddArrayToObject(o, "regions");
        for (size_t r = 0; r < ingot_container_n_regions(s->c); r++) {
            const ingot_region_info *R = ingot_container_region(s->c, r);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "kind", k_region_kind[R->kind]);
            cJSON_AddNumberToObject(e, "layer", R->layer);
            cJSON_AddNumberToObject(e, "offset", (double)R->off);
            cJSON_AddNumberToObject(e, "bytes", (double)R->size);
            cJSON_AddItemToArray(regs, e);
        }
        cJSON *blobs = cJSON_AddArrayToObject(o, "blobs");
        for (size_t i = 0; i < ingot_container_n_blobs(s->c); i++) {
            const char *name;
            size_t n;
            ingot_container_blob(s->c, i, &name, NULL, &n);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", name);
            cJSON_AddNumberToObject(e, "bytes", (double)n);
            cJSON_AddItemToArray(blobs, e);
        }
    }
    if (s->ck) {
        cJSON *sh = cJSON_AddArrayToObject(o, "shards");
        for (size_t i = 0; i < ingot_checkpoint_n_shards(s->ck); i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", ingot_checkpoint_shard_get(s->ck, i)->name);
            cJSON_AddNumberToObject(e, "bytes", (double)ingot_checkpoint_shard_get(s->ck, i)->size);
            cJSON_AddItemToArray(sh, e);
        }
    }
}

static int print_json(const insp *s, const insp_totals *T, bool all) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", s->path);
    cJSON_AddStringToObject(o, "kind", s->kind);
    if (s->version) cJSON_AddNumberToObject(o, "format_version", s->version);
    cJSON_AddStringToObject(o, "arch", s->arch);
    if (s->model_type[0]) cJSON_AddStringToObject(o, "model_type", s->model_type);
    if (s->preset[0]) cJSON_AddStringToObject(o, "quantization", s->preset);
    cJSON_AddNumberToObject(o, "n_layer", (double)s->n_layer);
    cJSON_AddNumberToObject(o, "n_expert", (double)s->n_expert);
    cJSON_AddNumberToObject(o, "n_expert_used", (double)s->n_expert_used);
    cJSON_AddNumberToObject(o, "n_tensors", (double)s->n);
    cJSON_AddNumberToObject(o, "n_weights", (double)T->elements);
    cJSON_AddNumberToObject(o, "tensor_bytes", (double)T->bytes);
    cJSON_AddNumberToObject(o, "file_bytes", (double)s->file_bytes);
    cJSON_AddNumberToObject(o, "bpw", bpw(T->bytes, T->elements));
    cJSON *dts = cJSON_AddArrayToObject(o, "dtypes");
    for (int d = 0; d < INGOT_DTYPE_COUNT; d++) {
        if (!T->dt_count[d]) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "dtype", ingot_dtype_name((ingot_dtype)d));
        cJSON_AddNumberToObject(e, "n_tensors", (double)T->dt_count[d]);
        cJSON_AddNumberToObject(e, "bytes", (double)T->dt_bytes[d]);
        cJSON_AddNumberToObject(e, "n_weights", (double)T->dt_elements[d]);
        cJSON_AddItemToArray(dts, e);
    }
    cJSON *top = cJSON_AddArrayToObject(o, "largest");
    for (size_t i = 0; i < T->n_top; i++) cJSON_AddItemToArray(top, tensor_json(&s->t[T->top[i]]));
    json_extras(o, s);
    if (all) {
        cJSON *arr = cJSON_AddArrayToObject(o, "tensors");
        for (size_t i = 0; i < s->n; i++) cJSON_AddItemToArray(arr, tensor_json(&s->t[i]));
    }
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) return ingot_cli_fail("inspect", NULL);
    printf("%s\n", txt);
    cJSON_free(txt);
    return INGOT_EXIT_OK;
}

// ---- main ---------------------------------------------------------------------------
typedef struct inspect_opts {
    const char *path;
    bool tensors, json;
} inspect_opts;

static int parse_args(int argc, char **argv, inspect_opts *o) {
    static const struct option longopts[] = {
        {"tensors", no_argument, 0, 't'}, {"json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},    {0, 0, 0, 0},
    };
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 't': o->tensors = true; break;
        case 'J': o->json = true; break;
        case 'h': usage(stdout); return -1;
        default: return ingot_cli_usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return ingot_cli_usage_error("inspect", "expected one PATH");
    o->path = argv[optind];
    return 0;
}

// First bytes of a regular file, to tell .ingot and .ingot.zst from the rest.
static int sniff(const char *path) {
    uint8_t m[8] = {0};
    FILE *f = fopen(path, "rb");
    const size_t n = f ? fread(m, 1, sizeof m, f) : 0;
    if (f) fclose(f);
    if (n == 8 && !memcmp(m, "\x89INGOT\r\n", 8)) return 1;
    if (n == 8 && !memcmp(m, "\x89INGOTZ\n", 8)) return 2;
    return 0;
}

static int run(const inspect_opts *o, insp *s, ingot_err *err) {
    ingot_container *c = NULL;
    ingot_checkpoint *ck = NULL;
    const int kind = sniff(o->path);
    ingot_status st = INGOT_E_ARG;
    if (kind == 2)
        st = ingot_err_set(err, INGOT_E_UNSUPPORTED, "%s: a packed .ingot.zst; run 'ingot unpack' first", o->path);
    else if (kind == 1 && (st = ingot_container_open(o->path, 0, &c, err)) == INGOT_OK)
        st = load_container(s, c, err);
    else if (kind == 0 && (st = ingot_checkpoint_open(o->path, &ck, err)) == INGOT_OK)
        st = load_checkpoint(s, ck, err);
    int rc = INGOT_EXIT_FAILURE;
    insp_totals *T = calloc(1, sizeof *T);
    if (st == INGOT_OK && (!T || !totals_compute(s, T))) st = ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    if (st != INGOT_OK) rc = ingot_cli_fail("inspect", err);
    else if (o->json) rc = print_json(s, T, o->tensors);
    else {
        print_text(s, T, o->tensors);
        rc = INGOT_EXIT_OK;
    }
    free(T);
    free(s->t);
    free(s->region_labels);
    ingot_container_close(c);
    ingot_checkpoint_close(ck);
    return rc;
}

int ingot_cmd_inspect(int argc, char **argv) {
    inspect_opts o = {0};
    const int pr = parse_args(argc, argv, &o);
    if (pr < 0) return INGOT_EXIT_OK;
    if (pr > 0) return pr;
    insp s = {.path = o.path, .n_layer = -1, .n_expert = -1, .n_expert_used = -1};
    ingot_err err = {0};
    return run(&o, &s, &err);
}
