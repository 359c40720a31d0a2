// Helpers shared by the subcommands: error printing, strict number parsing.
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

const char *ingot_cli_command_line = "";

int ingot_cli_fail(const char *cmd, const ingot_err *err) {
    fprintf(stderr, "ingot %s: error: %s\n", cmd, err && err->msg[0] ? err->msg : "failed");
    return INGOT_EXIT_FAILURE;
}

int ingot_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "ingot %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ingot %s --help'.\n", cmd);
    return INGOT_EXIT_USAGE;
}

int ingot_cli_arg_step(const char *cmd, int argc, char **argv, int i, const char **file, const char **val,
                       void (*usage)(FILE *)) {
    const char *s = argv[i];
    *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
        usage(stdout);
        return -1;
    }
    if (s[0] == '-') return INGOT_CLI_ARG_OPTION;
    if (*file) return ingot_cli_usage_error(cmd, "unexpected argument '%s'", s);
    *file = s;
    return INGOT_CLI_ARG_FILE;
}

bool ingot_cli_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool ingot_cli_parse_size(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return false;
    double mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1024.0; break;
        case 'm': case 'M': mul = 1024.0 * 1024; break;
        case 'g': case 'G': mul = 1024.0 * 1024 * 1024; break;
        case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; break;
        default: return false;
        }
        end++;
        if (*end == 'i' || *end == 'I') end++;
        if (*end == 'b' || *end == 'B') end++;
        if (*end) return false;
    }
    double r = v * mul;
    if (r >= 18446744073709551615.0) return false;
    *out = (uint64_t)r;
    return true;
}

const char *ingot_cli_fmt_bytes(uint64_t n, char *buf, size_t cap) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else snprintf(buf, cap, "%.2f %s", v, units[u]);
    return buf;
}
