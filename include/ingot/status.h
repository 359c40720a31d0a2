// Status codes and the caller-owned error context used by every fallible
// ingot function.
//
// Call sequence:
//   1. declare `ingot_err err = {0};`
//   2. pass `&err` as the last argument of any fallible call (NULL is allowed)
//   3. on a non-zero return, `err.msg` says what failed, naming the file,
//      tensor and byte offset where they are known.
#ifndef INGOT_STATUS_H
#define INGOT_STATUS_H

#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Values are pinned and never reused.
typedef enum ingot_status {
    INGOT_OK = 0,
    INGOT_E_IO = -1,          // read/write/open/mmap failed, ENOSPC
    INGOT_E_NOMEM = -2,       // allocation failed
    INGOT_E_FORMAT = -3,      // malformed input
    INGOT_E_UNSUPPORTED = -4, // valid but not handled (dtype, architecture)
    INGOT_E_LIMIT = -5,       // over a configured bound
    INGOT_E_CHECKSUM = -6,    // checksum mismatch
    INGOT_E_ARG = -7,         // caller passed bad arguments
    INGOT_E_STATE = -8,       // API call in the wrong state
    INGOT_E_INTERRUPTED = -9, // cancelled by a signal or the caller
    INGOT_E_MISMATCH = -10,   // verification ran and found a difference
} ingot_status;

#define INGOT_ERR_MSG_MAX 512

// Caller-owned error context. Filled by the failing function; untouched on
// success. `path`, `tensor` are copies (may be empty); `off` is a byte
// offset into `path` or -1 when unknown.
typedef struct ingot_err {
    ingot_status code;
    char msg[INGOT_ERR_MSG_MAX];   // lowercase, no trailing period
    char path[256];
    char tensor[256];
    int64_t off;
} ingot_err;

// Static name of a status ("INGOT_E_FORMAT"); never NULL.
const char *ingot_status_name(ingot_status st);

// Fill `err` (may be NULL) and return `code`. The message is formatted with
// printf rules. Does not touch path/tensor/off.
ingot_status ingot_err_set(ingot_err *err, ingot_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
ingot_status ingot_err_setv(ingot_err *err, ingot_status code, const char *fmt, va_list ap);

// Prefix the existing message with "prefix: " (used to add a file name as an
// error travels up). No-op when err is NULL.
void ingot_err_prefix(ingot_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Record where the error is (copied). Any argument may be NULL / -1.
void ingot_err_where(ingot_err *err, const char *path, const char *tensor, int64_t off);

// One-line checks for library code. They fill err and return.
#define INGOT_FAIL_IF(cond, err, code, ...)                                     \
    do {                                                                        \
        if (cond) return ingot_err_set((err), (code), __VA_ARGS__);             \
    } while (0)

#define INGOT_FORWARD_IF_ERROR(expr)                                            \
    do {                                                                        \
        ingot_status ingot_st_ = (expr);                                        \
        if (ingot_st_ != INGOT_OK) return ingot_st_;                            \
    } while (0)

// Defensive "can't happen" checks (SQLite style): true in release, asserted
// in debug builds.
#ifdef NDEBUG
#define INGOT_ALWAYS(x) (x)
#define INGOT_NEVER(x) (x)
#else
#include <assert.h>
#define INGOT_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define INGOT_NEVER(x) ((x) ? (assert(0 && #x), 1) : 0)
#endif

#ifdef __cplusplus
}
#endif
#endif
