// common/: allocator wrapper, log sink, checked size math, thread pool,
// file mapping and interrupt-safe cleanup of temporary files.
#ifndef INGOT_COMMON_H
#define INGOT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- allocation -----------------------------------------------------------
// All library allocation goes through these so tests can inject failures.
void *ingot_malloc(size_t n);
void *ingot_calloc(size_t count, size_t size);
void *ingot_realloc(void *p, size_t n);
void ingot_free(void *p);
char *ingot_strdup(const char *s);
// Aligned allocation (alignment a power of two ≥ sizeof(void*)); free with
// ingot_free_aligned.
void *ingot_malloc_aligned(size_t alignment, size_t n);
void ingot_free_aligned(void *p);

// Fault injection: the `nth` allocation from now on (1-based) fails, and with
// `persistent` every one after it too. nth = 0 disables injection.
void ingot_alloc_fail_at(uint64_t nth, bool persistent);
// Number of successful allocations not yet freed (for leak checks in tests;
// counts ingot_malloc/calloc/realloc/strdup/aligned).
int64_t ingot_alloc_live(void);

// ---- logging --------------------------------------------------------------
typedef enum ingot_log_level {
    INGOT_LOG_ERROR = 0,
    INGOT_LOG_WARN = 1,
    INGOT_LOG_INFO = 2,
    INGOT_LOG_DEBUG = 3,
} ingot_log_level;

typedef void (*ingot_log_fn)(ingot_log_level level, const char *msg, void *user);
// Install a sink (NULL restores the default: warnings and errors to stderr).
void ingot_log_set(ingot_log_fn fn, void *user);
void ingot_log(ingot_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// ---- checked integer math (return false on overflow) ----------------------
static inline bool ingot_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool ingot_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline uint64_t ingot_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// ---- thread pool ----------------------------------------------------------
typedef struct ingot_pool ingot_pool;
// A parallel-for: fn(ctx, i, worker) is called once for each i in [0, n);
// `worker` in [0, n_threads) identifies the calling thread (for per-thread
// scratch). Items are handed out in order from a shared counter.
typedef void (*ingot_pool_fn)(void *ctx, size_t i, int worker);

// n_threads ≤ 0 means the number of online CPUs.
ingot_status ingot_pool_create(int n_threads, ingot_pool **out, ingot_err *err);
void ingot_pool_free(ingot_pool *pool);
int ingot_pool_n_threads(const ingot_pool *pool);
// Runs fn over [0, n) on the pool's threads plus the caller; returns when all
// are done. A NULL pool runs serially on the caller.
void ingot_pool_run(ingot_pool *pool, size_t n, ingot_pool_fn fn, void *ctx);
int ingot_cpu_count(void);

// ---- files ----------------------------------------------------------------
// A read-only mapping of a whole file. An empty file maps to data = NULL,
// size = 0.
typedef struct ingot_file_map {
    const uint8_t *data;
    size_t size;
} ingot_file_map;
ingot_status ingot_file_map_open(const char *path, ingot_file_map *out, ingot_err *err);
void ingot_file_map_close(ingot_file_map *map);
// Read a whole (small) file into a NUL-terminated heap buffer.
ingot_status ingot_file_read_all(const char *path, size_t max_bytes, char **out, size_t *n, ingot_err *err);
// xxh3-64 of `size` bytes of fd starting at `off`, read with pread through
// buf[0, buf_cap) (caller-owned, so a pool can give each thread its own).
// Reading is preferred to hashing a mapping: memory stays at one buffer, and
// on virtual machines the kernel's copy out of the page cache is two to three
// times faster than faulting pages in. `path` is used in messages.
// @return INGOT_OK, INGOT_E_IO (read error or end of file before off + size).
ingot_status ingot_file_xxh3(int fd, uint64_t off, uint64_t size, void *buf, size_t buf_cap, uint64_t *out,
                             const char *path, ingot_err *err);
// Write all bytes at an offset, retrying short writes; ENOSPC is reported.
ingot_status ingot_file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off, const char *path, ingot_err *err);

// ---- atomic output files ------------------------------------------------------
// A stdio output that appears at its path only when complete: written to a
// temporary file beside the target (removed on SIGINT/SIGTERM once
// ingot_cleanup_install_signals ran), then fsync'd and renamed over it.
typedef struct ingot_out_file {
    FILE *f;        // write through this
    char tmp[4096]; // temporary path
    char path[4096]; // final path
    int slot;       // cleanup registry slot
} ingot_out_file;
// Open a temporary file for `path`. @return INGOT_OK, INGOT_E_IO, INGOT_E_ARG (path too long).
ingot_status ingot_out_file_open(ingot_out_file *o, const char *path, ingot_err *err);
// Flush, fsync, close and rename into place. On failure the temporary file is
// removed and nothing appears at the path (ENOSPC is reported as such).
ingot_status ingot_out_file_commit(ingot_out_file *o, ingot_err *err);
// Close and remove the temporary file (safe after a failed commit, and on a
// zeroed struct).
void ingot_out_file_abort(ingot_out_file *o);

// ---- built-in text ----------------------------------------------------------
// About 600 words of plain prose (NUL-terminated): the sample tokenizer's
// corpus and verify's default end-to-end text.
extern const char ingot_builtin_text[];

// ---- interrupt-safe cleanup -----------------------------------------------
// Paths registered here are unlinked if the process receives SIGINT/SIGTERM
// (after ingot_cleanup_install_signals). Up to 16 at once.
void ingot_cleanup_install_signals(void);
int ingot_cleanup_register(const char *path);   // returns a slot or -1
void ingot_cleanup_unregister(int slot);
// True once SIGINT/SIGTERM was received (handlers installed above).
bool ingot_interrupted(void);

#ifdef __cplusplus
}
#endif
#endif
