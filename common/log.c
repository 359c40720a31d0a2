// The settable log sink. Library code never prints; it logs here.
#include <stdarg.h>
#include <stdio.h>

#include "ingot/common.h"

static ingot_log_fn g_fn;
static void *g_user;

void ingot_log_set(ingot_log_fn fn, void *user) {
    g_fn = fn;
    g_user = user;
}

void ingot_log(ingot_log_level level, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_fn) {
        g_fn(level, buf, g_user);
        return;
    }
    if (level <= INGOT_LOG_WARN)
        fprintf(stderr, "ingot: %s: %s\n", level == INGOT_LOG_ERROR ? "error" : "warning", buf);
}
