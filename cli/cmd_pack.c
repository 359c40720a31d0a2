// `ingot pack`: compress a .ingot to the .ingot.zst transport form (byte-plane
// split float tensors, chunked zstd on all cores) and report the ratio.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"

#define PACK_LEVEL_DEFAULT 3
#define PACK_LEVEL_MAX 22

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot pack [OPTIONS] FILE.ingot [-o FILE.ingot.zst]\n"
            "\n"
            "Compresses a .ingot for transfer. F32/F16/BF16 tensors are split into byte planes\n"
            "(high bytes, then low bytes) before zstd, which shrinks float weights far more than\n"
            "plain zstd. The input is verified first; 'ingot unpack' restores it bit for bit.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE   the .ingot.zst to write [default: FILE.ingot.zst]\n"
            "  --level N           zstd level, 1..%d [default: %d]\n"
            "  --threads N         compression threads, 1..1024 [default: all cores]\n"
            "  --force             replace the output if it exists\n"
            "  -q, --quiet         no summary line\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit codes: 0 success, 1 failure (nothing is left at the output), 2 usage.\n",
            PACK_LEVEL_MAX, PACK_LEVEL_DEFAULT);
}

typedef struct pack_opts {
    const char *in, *out;
    int level, threads;
    bool force, quiet;
} pack_opts;

static int parse_args(int argc, char **argv, pack_opts *o) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"level", required_argument, 0, 'L'},
        {"threads", required_argument, 0, 'j'}, {"force", no_argument, 0, 'f'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    uint64_t v;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': o->out = optarg; break;
        case 'L':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 1 || v > PACK_LEVEL_MAX)
                return ingot_cli_usage_error("pack", "--level must be in [1, %d]", PACK_LEVEL_MAX);
            o->level = (int)v;
            break;
        case 'j':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return ingot_cli_usage_error("pack", "--threads must be in [1, 1024]");
            o->threads = (int)v;
            break;
        case 'f': o->force = true; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); return -1;
        default: return ingot_cli_usage_error("pack", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return ingot_cli_usage_error("pack", "expected one FILE.ingot");
    o->in = argv[optind];
    return 0;
}

int ingot_cmd_pack(int argc, char **argv) {
    pack_opts o = {.level = PACK_LEVEL_DEFAULT};
    const int pr = parse_args(argc, argv, &o);
    if (pr < 0) return INGOT_EXIT_OK;
    if (pr > 0) return pr;
    char *def = NULL;
    if (!o.out) {
        const size_t n = strlen(o.in) + 5;
        def = malloc(n);
        if (!def) return ingot_cli_fail("pack", NULL);
        snprintf(def, n, "%s.zst", o.in);
        o.out = def;
    }
    ingot_cleanup_install_signals();
    ingot_pack_stats st;
    ingot_err err = {0};
    const ingot_status s = ingot_pack(o.in, o.out, o.level, o.threads, o.force ? INGOT_WRITER_FORCE : 0, &st, &err);
    if (s != INGOT_OK) {
        free(def);
        return ingot_cli_fail("pack", &err);
    }
    if (!o.quiet) {
        char a[32], b[32];
        printf("ingot pack: %s (%s) -> %s (%s), ratio %.3f (%.1f%% smaller), %.2f s, %.0f MB/s\n", o.in,
               ingot_cli_fmt_bytes(st.in_bytes, a, sizeof a), o.out, ingot_cli_fmt_bytes(st.out_bytes, b, sizeof b),
               st.out_bytes ? (double)st.in_bytes / (double)st.out_bytes : 0,
               st.in_bytes ? 100.0 * (1.0 - (double)st.out_bytes / (double)st.in_bytes) : 0, st.seconds,
               st.seconds > 0 ? (double)st.in_bytes / st.seconds / 1e6 : 0);
    }
    free(def);
    return INGOT_EXIT_OK;
}
