// Shared declarations of the `ingot` subcommands and small CLI helpers.
#ifndef INGOT_CLI_INTERNAL_H
#define INGOT_CLI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ingot/status.h"

// Exit codes (documented in README.md and docs/CLI.md).
enum {
    INGOT_EXIT_OK = 0,
    INGOT_EXIT_FAILURE = 1,
    INGOT_EXIT_USAGE = 2,
    INGOT_EXIT_MISMATCH = 3,
};

typedef int (*ingot_cmd_fn)(int argc, char **argv);
typedef struct ingot_cmd {
    const char *name;
    ingot_cmd_fn fn;
    const char *summary;
} ingot_cmd;

// Subcommands (one file each: cli/cmd_<name>.c). argv[0] is the command name.
int ingot_cmd_inspect(int argc, char **argv);
int ingot_cmd_pack(int argc, char **argv);
int ingot_cmd_unpack(int argc, char **argv);
int ingot_cmd_convert(int argc, char **argv);
int ingot_cmd_verify(int argc, char **argv);
int ingot_cmd_run(int argc, char **argv);
int ingot_cmd_logits(int argc, char **argv);
int ingot_cmd_perplexity(int argc, char **argv);
int ingot_cmd_bench(int argc, char **argv);
int ingot_cmd_engram(int argc, char **argv);

// "ingot <cmd>: error: <msg>" on stderr; returns INGOT_EXIT_FAILURE.
int ingot_cli_fail(const char *cmd, const ingot_err *err);
// Usage error: "ingot <cmd>: <msg>" + "Try 'ingot <cmd> --help'." on stderr;
// returns INGOT_EXIT_USAGE.
int ingot_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// One step of a subcommand's argument loop, for argv[i]: -h/--help prints
// usage to stdout and returns -1; a word not starting with '-' is the
// command's one FILE, stored in *file (INGOT_CLI_ARG_FILE; a second one is a
// usage error, INGOT_EXIT_USAGE); anything else is an option
// (INGOT_CLI_ARG_OPTION) whose value, the next argument, is put in *val (NULL
// when there is none).
enum { INGOT_CLI_ARG_OPTION = 0, INGOT_CLI_ARG_FILE = 1 };
int ingot_cli_arg_step(const char *cmd, int argc, char **argv, int i, const char **file, const char **val,
                       void (*usage)(FILE *));
// Parse a non-negative integer option strictly ("12", "4k" not accepted);
// false on garbage or overflow.
bool ingot_cli_parse_u64(const char *s, uint64_t *out);
// Parse a size with optional K/M/G/T suffix (powers of 1024) or plain bytes.
bool ingot_cli_parse_size(const char *s, uint64_t *out);
// Human-readable byte count ("1.23 GiB") into buf.
const char *ingot_cli_fmt_bytes(uint64_t n, char *buf, size_t cap);
// The full command line (for provenance), set by main.
extern const char *ingot_cli_command_line;

#endif
