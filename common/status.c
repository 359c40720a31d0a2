// Status names and the error-context helpers.
#include "ingot/status.h"

#include <stdio.h>
#include <string.h>

const char *ingot_status_name(ingot_status st) {
    switch (st) {
    case INGOT_OK: return "INGOT_OK";
    case INGOT_E_IO: return "INGOT_E_IO";
    case INGOT_E_NOMEM: return "INGOT_E_NOMEM";
    case INGOT_E_FORMAT: return "INGOT_E_FORMAT";
    case INGOT_E_UNSUPPORTED: return "INGOT_E_UNSUPPORTED";
    case INGOT_E_LIMIT: return "INGOT_E_LIMIT";
    case INGOT_E_CHECKSUM: return "INGOT_E_CHECKSUM";
    case INGOT_E_ARG: return "INGOT_E_ARG";
    case INGOT_E_STATE: return "INGOT_E_STATE";
    case INGOT_E_INTERRUPTED: return "INGOT_E_INTERRUPTED";
    case INGOT_E_MISMATCH: return "INGOT_E_MISMATCH";
    }
    return "INGOT_E_UNKNOWN";
}

ingot_status ingot_err_setv(ingot_err *err, ingot_status code, const char *fmt, va_list ap) {
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

ingot_status ingot_err_set(ingot_err *err, ingot_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ingot_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void ingot_err_prefix(ingot_err *err, const char *fmt, ...) {
    if (!err) return;
    char pre[INGOT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    char old[INGOT_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(pre), no = strlen(old);
    size_t cap = sizeof err->msg - 1, k = 0;
    for (size_t i = 0; i < np && k < cap; i++) err->msg[k++] = pre[i];
    for (size_t i = 0; i < 2 && k < cap; i++) err->msg[k++] = ": "[i];
    for (size_t i = 0; i < no && k < cap; i++) err->msg[k++] = old[i];
    err->msg[k] = 0;
}

static void copy_field(char *dst, size_t cap, const char *src) {
    if (!src) return;
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

void ingot_err_where(ingot_err *err, const char *path, const char *tensor, int64_t off) {
    if (!err) return;
    copy_field(err->path, sizeof err->path, path);
    copy_field(err->tensor, sizeof err->tensor, tensor);
    err->off = off;
}
