// `ingot unpack`: restore a .ingot from its .ingot.zst transport form, bit for
// bit, verifying the whole-file hash and every tensor checksum before the
// file appears at its destination.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot unpack [OPTIONS] FILE.ingot.zst [-o FILE.ingot]\n"
            "\n"
            "Restores the .ingot packed by 'ingot pack', bit for bit. The restored file is\n"
            "checked (whole-file hash, every tensor checksum) before it is renamed into place.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE   the .ingot to write [default: the input without '.zst']\n"
            "  --threads N         decompression threads, 1..1024 [default: all cores]\n"
            "  --force             replace the output if it exists\n"
            "  -q, --quiet         no summary line\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit codes: 0 success, 1 failure (nothing is left at the output), 2 usage.\n");
}

typedef struct unpack_opts {
    const char *in, *out;
    int threads;
    bool force, quiet;
} unpack_opts;

static int parse_args(int argc, char **argv, unpack_opts *o) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 'j'},
        {"force", no_argument, 0, 'f'},        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    uint64_t v;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': o->out = optarg; break;
        case 'j':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return ingot_cli_usage_error("unpack", "--threads must be in [1, 1024]");
            o->threads = (int)v;
            break;
        case 'f': o->force = true; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); return -1;
        default: return ingot_cli_usage_error("unpack", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return ingot_cli_usage_error("unpack", "expected one FILE.ingot.zst");
    o->in = argv[optind];
    return 0;
}

int ingot_cmd_unpack(int argc, char **argv) {
    unpack_opts o = {0};
    const int pr = parse_args(argc, argv, &o);
    if (pr < 0) return INGOT_EXIT_OK;
    if (pr > 0) return pr;
    char *def = NULL;
    if (!o.out) {
        const size_t n = strlen(o.in);
        if (n <= 4 || strcmp(o.in + n - 4, ".zst") != 0)
            return ingot_cli_usage_error("unpack", "the input does not end in '.zst': name the output with -o");
        def = strdup(o.in);
        if (!def) return ingot_cli_fail("unpack", NULL);
        def[n - 4] = 0;
        o.out = def;
    }
    ingot_cleanup_install_signals();
    ingot_pack_stats st;
    ingot_err err = {0};
    const ingot_status s = ingot_unpack(o.in, o.out, o.threads, o.force ? INGOT_WRITER_FORCE : 0, &st, &err);
    if (s != INGOT_OK) {
        free(def);
        return ingot_cli_fail("unpack", &err);
    }
    if (!o.quiet) {
        char a[32], b[32];
        printf("ingot unpack: %s (%s) -> %s (%s), verified, %.2f s, %.0f MB/s\n", o.in,
               ingot_cli_fmt_bytes(st.in_bytes, a, sizeof a), o.out, ingot_cli_fmt_bytes(st.out_bytes, b, sizeof b),
               st.seconds, st.seconds > 0 ? (double)st.out_bytes / st.seconds / 1e6 : 0);
    }
    free(def);
    return INGOT_EXIT_OK;
}
