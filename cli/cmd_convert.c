// `ingot convert`: a Hugging Face checkpoint (folder, archive, or one
// .safetensors file with --config) to one .ingot file.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/convert.h"
#include "ingot/quant_policy.h"

#define MAX_OVERRIDES 256

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot convert [OPTIONS] SRC -o OUT.ingot\n"
            "\n"
            "Converts a Hugging Face checkpoint to one quantized, mmap-able .ingot file in bounded\n"
            "memory. SRC is a model folder (config.json, *.safetensors, sharded or not), an archive\n"
            "of one (.tar, .tar.gz, .tar.zst, .zip; read without extracting), or one .safetensors\n"
            "file together with --config.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE      the .ingot to write (required unless --dry-run)\n"
            "  --quant PRESET         type preset [default: q8_0]\n"
            "  --type REGEX=TYPE      type for tensors whose canonical name matches; repeatable,\n"
            "                         the first matching rule wins (TYPE may be 'keep')\n"
            "  --target-size S        choose types to fit S bytes of tensors (K/M/G/T suffixes)\n"
            "  --target-bpw X         choose types to fit X bits per weight\n"
            "  --imatrix FILE         importance matrix for the quantizers\n"
            "  --threads N            worker threads [default: all cores]\n"
            "  --config FILE          config.json to use instead of the source's\n"
            "  --dry-run              print the plan (type, bytes, bits per weight per tensor), write nothing\n"
            "  --force                replace OUT if it exists\n"
            "  --strict               unexpected source tensors are an error, not a warning\n"
            "  --allow-nonfinite      convert weights holding NaN/Inf (a warning instead of an error)\n"
            "  --json                 print the summary as JSON on stdout\n"
            "  -q, --quiet            no progress and no summary line\n"
            "  -v, --verbose          notes (-v) and phase timings (-vv) on stderr\n"
            "  -h, --help             show this help\n"
            "\n"
            "Presets:\n");
    for (size_t i = 0; i < ingot_policy_n_presets(); i++)
        fprintf(out, "  %-10s %s\n", ingot_policy_preset_name(i), ingot_policy_preset_summary(i));
    fprintf(out, "\nExit codes: 0 success, 1 failure (nothing is left at OUT), 2 usage.\n");
}

// ---- progress ---------------------------------------------------------------

typedef struct progress_state {
    double last;
    bool drawn;
} progress_state;

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_progress(const ingot_convert_progress *p, void *user) {
    progress_state *s = user;
    const double t = wall_now();
    if (p->n_done != p->n_total && t - s->last < 0.1) return;
    s->last = t;
    char a[32], b[32];
    const double rate = p->seconds > 0 ? (double)p->bytes_done / p->seconds : 0;
    const double eta = rate > 0 ? (double)(p->bytes_total - p->bytes_done) / rate : 0;
    fprintf(stderr, "\r%zu/%zu tensors, %s / %s, %.0f MB/s, ETA %.0f s   ", p->n_done, p->n_total,
            ingot_cli_fmt_bytes(p->bytes_done, a, sizeof a), ingot_cli_fmt_bytes(p->bytes_total, b, sizeof b),
            rate / 1e6, eta);
    s->drawn = true;
}

// ---- output -------------------------------------------------------------------

static void fmt_shape(char *buf, size_t cap, const ingot_convert_plan_item *p) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < p->n_dims && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%llu", i ? ", " : "", (unsigned long long)p->dims[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static void print_plan(const ingot_convert_report *r) {
    uint64_t by_type[INGOT_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < r->n_tensors; i++) {
        const ingot_convert_plan_item *p = &r->plan[i];
        char shape[96], bytes[32];
        fmt_shape(shape, sizeof shape, p);
        const double bpw = p->n_elements ? 8.0 * (double)p->bytes / (double)p->n_elements : 0;
        printf("%-40s %-22s %-12s -> %-12s %12s %6.2f bpw  %s\n", p->name, shape, ingot_dtype_name(p->src_type),
               ingot_dtype_name(p->type), ingot_cli_fmt_bytes(p->bytes, bytes, sizeof bytes), bpw, p->reason);
        if (ingot_dtype_valid((int)p->type)) by_type[p->type] += p->bytes;
    }
    char a[32], b[32];
    printf("total: %zu tensors, %llu weights, %s of tensors (file %s), %.2f bpw\n", r->n_tensors,
           (unsigned long long)r->n_params, ingot_cli_fmt_bytes(r->tensor_bytes, a, sizeof a),
           ingot_cli_fmt_bytes(r->out_bytes, b, sizeof b), r->bpw);
    for (int t = 0; t < INGOT_DTYPE_COUNT; t++)
        if (by_type[t]) printf("  %-14s %s\n", ingot_dtype_name((ingot_dtype)t), ingot_cli_fmt_bytes(by_type[t], a, sizeof a));
}

static void print_json(const char *src, const char *dst, const ingot_convert_report *r, bool dry_run) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", src);
    if (dst) cJSON_AddStringToObject(o, "output", dst);
    cJSON_AddBoolToObject(o, "dry_run", dry_run);
    cJSON_AddStringToObject(o, "arch", r->arch);
    cJSON_AddNumberToObject(o, "n_tensors", (double)r->n_tensors);
    cJSON_AddNumberToObject(o, "n_params", (double)r->n_params);
    cJSON_AddNumberToObject(o, "source_bytes", (double)r->src_bytes);
    cJSON_AddNumberToObject(o, "tensor_bytes", (double)r->tensor_bytes);
    cJSON_AddNumberToObject(o, "output_bytes", (double)r->out_bytes);
    cJSON_AddNumberToObject(o, "bpw", r->bpw);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "source_mb_per_s", r->seconds > 0 ? (double)r->src_bytes / r->seconds / 1e6 : 0);
    cJSON_AddNumberToObject(o, "nonfinite", (double)r->n_nonfinite);
    cJSON_AddNumberToObject(o, "unexpected_tensors", (double)r->n_extra);
    if (dry_run) {
        cJSON *plan = cJSON_AddArrayToObject(o, "plan");
        for (size_t i = 0; i < r->n_tensors; i++) {
            const ingot_convert_plan_item *p = &r->plan[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", p->name);
            cJSON_AddStringToObject(e, "source", p->source);
            cJSON_AddStringToObject(e, "source_type", ingot_dtype_name(p->src_type));
            cJSON_AddStringToObject(e, "type", ingot_dtype_name(p->type));
            cJSON_AddNumberToObject(e, "bytes", (double)p->bytes);
            cJSON_AddNumberToObject(e, "bpw", p->n_elements ? 8.0 * (double)p->bytes / (double)p->n_elements : 0);
            cJSON_AddStringToObject(e, "reason", p->reason);
            cJSON_AddItemToArray(plan, e);
        }
    }
    char *txt = cJSON_Print(o);
    if (txt) printf("%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(o);
}

// ---- options --------------------------------------------------------------------

typedef struct cli_opts {
    ingot_convert_opts o;
    const char *overrides[MAX_OVERRIDES];
    bool quiet, json;
    int verbose;
} cli_opts;

static void log_sink(ingot_log_level level, const char *msg, void *user) {
    const int verbose = *(const int *)user;
    static const char *const names[] = {"error", "warning", "note", "debug"};
    if ((int)level <= INGOT_LOG_WARN + verbose) fprintf(stderr, "ingot convert: %s: %s\n", names[level & 3], msg);
}

static int parse_args(int argc, char **argv, cli_opts *c) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},  {"quant", required_argument, 0, 'Q'},
        {"type", required_argument, 0, 'T'},    {"target-size", required_argument, 0, 'S'},
        {"target-bpw", required_argument, 0, 'B'}, {"imatrix", required_argument, 0, 'I'},
        {"threads", required_argument, 0, 'j'}, {"config", required_argument, 0, 'C'},
        {"dry-run", no_argument, 0, 'n'},       {"force", no_argument, 0, 'f'},
        {"strict", no_argument, 0, 's'},        {"allow-nonfinite", no_argument, 0, 'N'},
        {"json", no_argument, 0, 'J'},          {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},          {"verbose", no_argument, 0, 'v'},
        {0, 0, 0, 0},
    };
    uint64_t v;
    char *end;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': c->o.dst = optarg; break;
        case 'Q': c->o.preset = optarg; break;
        case 'T':
            if (c->o.n_overrides == MAX_OVERRIDES) return ingot_cli_usage_error("convert", "too many --type rules");
            c->overrides[c->o.n_overrides++] = optarg;
            break;
        case 'S':
            if (!ingot_cli_parse_size(optarg, &c->o.target_size) || !c->o.target_size)
                return ingot_cli_usage_error("convert", "--target-size must be a positive size (e.g. 4G)");
            break;
        case 'B':
            c->o.target_bpw = strtod(optarg, &end);
            if (*end || !(c->o.target_bpw > 0 && c->o.target_bpw <= 32))
                return ingot_cli_usage_error("convert", "--target-bpw must be in (0, 32]");
            break;
        case 'I': c->o.imatrix_path = optarg; break;
        case 'j':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return ingot_cli_usage_error("convert", "--threads must be in [1, 1024]");
            c->o.n_threads = (int)v;
            break;
        case 'C': c->o.config_path = optarg; break;
        case 'n': c->o.dry_run = true; break;
        case 'f': c->o.force = true; break;
        case 's': c->o.strict = true; break;
        case 'N': c->o.allow_nonfinite = true; break;
        case 'J': c->json = true; break;
        case 'q': c->quiet = true; break;
        case 'v': c->verbose++; break;
        case 'h': usage(stdout); return -1;
        default: return ingot_cli_usage_error("convert", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return ingot_cli_usage_error("convert", "expected one SRC");
    if (c->o.target_size && c->o.target_bpw > 0)
        return ingot_cli_usage_error("convert", "--target-size and --target-bpw exclude each other");
    c->o.src = argv[optind];
    if (!c->o.dst && !c->o.dry_run) return ingot_cli_usage_error("convert", "-o OUT.ingot is required");
    c->o.overrides = c->overrides;
    return 0;
}

int ingot_cmd_convert(int argc, char **argv) {
    cli_opts c;
    memset(&c, 0, sizeof c);
    const int pr = parse_args(argc, argv, &c);
    if (pr < 0) return INGOT_EXIT_OK;
    if (pr > 0) return pr;
    progress_state ps = {0, false};
    if (!c.quiet && !c.json && !c.o.dry_run && isatty(STDERR_FILENO)) {
        c.o.progress = on_progress;
        c.o.progress_user = &ps;
    }
    c.o.command_line = ingot_cli_command_line;
    ingot_log_set(log_sink, &c.verbose);
    ingot_cleanup_install_signals();
    ingot_convert_report r;
    ingot_err err = {0};
    const ingot_status st = ingot_convert(&c.o, &r, &err);
    if (ps.drawn) fprintf(stderr, "\n");
    ingot_log_set(NULL, NULL);
    if (st != INGOT_OK) return ingot_cli_fail("convert", &err);
    if (c.o.dry_run && !c.json) print_plan(&r);
    if (c.json) {
        print_json(c.o.src, c.o.dry_run ? NULL : c.o.dst, &r, c.o.dry_run);
    } else if (!c.quiet && !c.o.dry_run) {
        char a[32], b[32];
        printf("ingot convert: %s (%s) -> %s (%s), %.2f bits per weight, %zu tensors, %.2f s\n", c.o.src,
               ingot_cli_fmt_bytes(r.src_bytes, a, sizeof a), c.o.dst, ingot_cli_fmt_bytes(r.out_bytes, b, sizeof b),
               r.bpw, r.n_tensors, r.seconds);
    }
    ingot_convert_report_free(&r);
    return INGOT_EXIT_OK;
}
