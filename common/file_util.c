// File helpers: read-only mappings, whole-file reads, positioned writes, and
// the registry of temporary files removed on SIGINT/SIGTERM.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY // XXH3_state_t on the stack
#include <xxhash.h>

#include "ingot/common.h"

ingot_status ingot_file_map_open(const char *path, ingot_file_map *out, ingot_err *err) {
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ingot_err_where(err, path, NULL, -1);
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        return ingot_err_set(err, INGOT_E_IO, "%s: not a regular file%s%s", path, e ? ": " : "",
                             e ? strerror(e) : "");
    }
    if (st.st_size == 0) {
        close(fd);
        return INGOT_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return ingot_err_set(err, INGOT_E_IO, "%s: cannot mmap: %s", path, strerror(e));
    out->data = p;
    out->size = (size_t)st.st_size;
    return INGOT_OK;
}

void ingot_file_map_close(ingot_file_map *map) {
    if (!map) return;
    if (map->data) munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}

ingot_status ingot_file_read_all(const char *path, size_t max_bytes, char **out, size_t *n, ingot_err *err) {
    *out = NULL;
    if (n) *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ingot_err_set(err, INGOT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return ingot_err_set(err, INGOT_E_LIMIT, "%s: %lld bytes exceeds the limit of %zu", path,
                             (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    char *buf = ingot_malloc(size + 1);
    if (!buf) {
        close(fd);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            ingot_free(buf);
            return ingot_err_set(err, INGOT_E_IO, "%s: read failed at offset %zu: %s", path, got,
                                 r == 0 ? "unexpected end of file" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = 0;
    *out = buf;
    if (n) *n = size;
    return INGOT_OK;
}

ingot_status ingot_file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off, const char *path,
                                   ingot_err *err) {
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            ingot_err_where(err, path, NULL, (int64_t)off);
            if (e == ENOSPC)
                return ingot_err_set(err, INGOT_E_IO, "%s: out of disk space writing %zu bytes at offset %llu",
                                     path, n, (unsigned long long)off);
            return ingot_err_set(err, INGOT_E_IO, "%s: write failed at offset %llu: %s", path,
                                 (unsigned long long)off, strerror(e));
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return INGOT_OK;
}

ingot_status ingot_file_xxh3(int fd, uint64_t off, uint64_t size, void *buf, size_t buf_cap, uint64_t *out,
                             const char *path, ingot_err *err) {
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    for (uint64_t done = 0; done < size;) {
        const size_t want = size - done < buf_cap ? (size_t)(size - done) : buf_cap;
        const ssize_t r = pread(fd, buf, want, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ingot_err_where(err, path, NULL, (int64_t)(off + done));
            return ingot_err_set(err, INGOT_E_IO, "%s: read failed at offset %llu: %s", path,
                                 (unsigned long long)(off + done), r < 0 ? strerror(errno) : "unexpected end of file");
        }
        XXH3_64bits_update(&st, buf, (size_t)r);
        done += (uint64_t)r;
    }
    *out = XXH3_64bits_digest(&st);
    return INGOT_OK;
}

// ---- atomic output files --------------------------------------------------
ingot_status ingot_out_file_open(ingot_out_file *o, const char *path, ingot_err *err) {
    memset(o, 0, sizeof *o);
    o->slot = -1;
    size_t n = strlen(path);
    INGOT_FAIL_IF(n == 0 || n + 16 >= sizeof o->path, err, INGOT_E_ARG, "output path is empty or too long");
    memcpy(o->path, path, n + 1);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        o->tmp[0] = 0;
        return ingot_err_set(err, INGOT_E_IO, "%s: cannot create a temporary file beside it: %s", path,
                             strerror(errno));
    }
    fchmod(fd, 0644);
    o->slot = ingot_cleanup_register(o->tmp);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        ingot_out_file_abort(o);
        return ingot_err_set(err, INGOT_E_IO, "%s: %s", path, strerror(e));
    }
    return INGOT_OK;
}

ingot_status ingot_out_file_commit(ingot_out_file *o, ingot_err *err) {
    INGOT_FAIL_IF(!o->f, err, INGOT_E_STATE, "output file is not open");
    int e = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(o->f)) != 0) e = errno;
    if (fclose(o->f) != 0 && !e) e = errno ? errno : EIO;
    o->f = NULL;
    if (!e && rename(o->tmp, o->path) != 0) e = errno;
    if (e) {
        ingot_out_file_abort(o);
        if (e == ENOSPC) return ingot_err_set(err, INGOT_E_IO, "%s: out of disk space", o->path);
        return ingot_err_set(err, INGOT_E_IO, "%s: write failed: %s", o->path, strerror(e));
    }
    ingot_cleanup_unregister(o->slot);
    o->slot = -1;
    o->tmp[0] = 0;
    return INGOT_OK;
}

void ingot_out_file_abort(ingot_out_file *o) {
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    o->tmp[0] = 0;
    if (o->slot >= 0) ingot_cleanup_unregister(o->slot);
    o->slot = -1;
}

// ---- cleanup registry -----------------------------------------------------
// Fixed slots so the signal handler touches no allocator and no lock.
#define CLEANUP_SLOTS 16
static char g_paths[CLEANUP_SLOTS][4096];
static _Atomic int g_used[CLEANUP_SLOTS];
static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig) {
    g_interrupted = 1;
    for (int i = 0; i < CLEANUP_SLOTS; i++)
        if (atomic_load(&g_used[i]) == 1) unlink(g_paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void ingot_cleanup_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int ingot_cleanup_register(const char *path) {
    size_t n = strlen(path);
    if (n >= sizeof g_paths[0]) return -1;
    for (int i = 0; i < CLEANUP_SLOTS; i++) {
        int expected = 0;
        // 0 free, 2 being filled (ignored by the handler), 1 armed
        if (atomic_compare_exchange_strong(&g_used[i], &expected, 2)) {
            memcpy(g_paths[i], path, n + 1);
            atomic_store(&g_used[i], 1);
            return i;
        }
    }
    return -1;
}

void ingot_cleanup_unregister(int slot) {
    if (slot >= 0 && slot < CLEANUP_SLOTS) atomic_store(&g_used[slot], 0);
}

bool ingot_interrupted(void) { return g_interrupted != 0; }
