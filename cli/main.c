// The `ingot` binary: dispatches to one subcommand per file (cli/cmd_*.c).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "cli_internal.h"
#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/formats.h"

static const ingot_cmd k_cmds[] = {
    // A NULL function hides a command that this build does not have yet.
    {"convert", ingot_cmd_convert, "convert a Hugging Face checkpoint to one .ingot file"},
    {"inspect", ingot_cmd_inspect, "describe a checkpoint (folder, file, archive) or a .ingot file"},
    {"verify", ingot_cmd_verify, "check a .ingot file, alone or against its source, and give a verdict"},
    {"run", ingot_cmd_run, "generate text from a prompt"},
    {"logits", ingot_cmd_logits, "write float32 logits (and hidden states) for given token ids"},
    {"perplexity", ingot_cmd_perplexity, "perplexity and KL-divergence over a text"},
    {"bench", ingot_cmd_bench, "prompt and generation speed, with the memory-bandwidth bound"},
    {"engram", ingot_cmd_engram, "show Engram compressed ids and row indices for token ids"},
    {"pack", ingot_cmd_pack, "compress a .ingot to the .ingot.zst transport form"},
    {"unpack", ingot_cmd_unpack, "restore a .ingot from its .ingot.zst transport form"},
};

static void print_help(FILE *out) {
    fprintf(out,
            "Usage: ingot <command> [OPTIONS] ...\n"
            "\n"
            "ingot turns Hugging Face checkpoints into one quantized, mmap-able,\n"
            "self-verifying .ingot file, and runs it to prove it still computes\n"
            "what the source computed.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof k_cmds / sizeof *k_cmds; i++)
        if (k_cmds[i].fn) fprintf(out, "  %-12s %s\n", k_cmds[i].name, k_cmds[i].summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -h, --help     show this help\n"
            "  --version      show versions of ingot, the file format and linked libraries\n"
            "\n"
            "Run 'ingot <command> --help' for a command's options.\n"
            "Exit codes: 0 success, 1 runtime failure, 2 usage error, 3 verification mismatch.\n");
}

static void print_version(void) {
    char libs[256];
    ingot_formats_lib_versions(libs, sizeof libs);
    printf("ingot %s (container format %u)\n", INGOT_VERSION_STRING, INGOT_CONTAINER_VERSION);
    printf("libraries: %s, utf8proc %s, PCRE2 %d.%d\n", libs, utf8proc_version(), PCRE2_MAJOR, PCRE2_MINOR);
}

static char g_cmdline[8192];

int main(int argc, char **argv) {
    size_t used = 0;
    for (int i = 0; i < argc && used + 2 < sizeof g_cmdline; i++) {
        int w = snprintf(g_cmdline + used, sizeof g_cmdline - used, "%s%s", i ? " " : "", argv[i]);
        if (w < 0) break;
        used += (size_t)w;
        if (used >= sizeof g_cmdline) used = sizeof g_cmdline - 1;
    }
    ingot_cli_command_line = g_cmdline;
    if (argc < 2) {
        print_help(stderr);
        return INGOT_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        print_help(stdout);
        return INGOT_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        print_version();
        return INGOT_EXIT_OK;
    }
    // Every command that writes registers its temporary files; SIGINT and
    // SIGTERM remove them, so no partial output is ever left behind.
    ingot_cleanup_install_signals();
    for (size_t i = 0; i < sizeof k_cmds / sizeof *k_cmds; i++)
        if (k_cmds[i].fn && !strcmp(name, k_cmds[i].name)) return k_cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ingot: unknown command '%s'\nRun 'ingot --help' for the list of commands.\n", name);
    return INGOT_EXIT_USAGE;
}
