// Allocator wrapper with fault injection (SQLite style) and a live count for
// leak checks in tests.
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/common.h"

static _Atomic uint64_t g_fail_at;      // 0: off
static _Atomic bool g_fail_persistent;
static _Atomic uint64_t g_counter;
static _Atomic int64_t g_live;

void ingot_alloc_fail_at(uint64_t nth, bool persistent) {
    atomic_store(&g_counter, 0);
    atomic_store(&g_fail_persistent, persistent);
    atomic_store(&g_fail_at, nth);
}

int64_t ingot_alloc_live(void) { return atomic_load(&g_live); }

static bool should_fail(void) {
    uint64_t at = atomic_load(&g_fail_at);
    if (!at) return false;
    uint64_t k = atomic_fetch_add(&g_counter, 1) + 1;
    if (k == at) return true;
    return k > at && atomic_load(&g_fail_persistent);
}

void *ingot_malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add(&g_live, 1);
    return p;
}

void *ingot_calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p) atomic_fetch_add(&g_live, 1);
    return p;
}

void *ingot_realloc(void *p, size_t n) {
    if (should_fail()) return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q && !p) atomic_fetch_add(&g_live, 1);
    return q;
}

void ingot_free(void *p) {
    if (!p) return;
    atomic_fetch_sub(&g_live, 1);
    free(p);
}

char *ingot_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ingot_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *ingot_malloc_aligned(size_t alignment, size_t n) {
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment, n ? n : alignment) != 0) return NULL;
    atomic_fetch_add(&g_live, 1);
    return p;
}

void ingot_free_aligned(void *p) { ingot_free(p); }
