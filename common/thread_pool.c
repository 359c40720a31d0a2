// A small persistent thread pool running parallel-for jobs. Items are
// claimed from an atomic counter so the caller thread works too.
//
// Waking sleeping threads costs tens of microseconds, and a decode step of
// the runner issues dozens of jobs back to back, so both sides spin briefly
// (a few microseconds to ~100 µs, with a pause hint) before they sleep on a
// condition variable. The generation counter and the completed-item count
// are written under the mutex on the sleeping paths, so no wake-up is lost.
//
// Items are claimed from one word holding (item count, next index) by
// compare-and-swap: a worker that wakes late either finds the word used up
// or claims a real item of the job published in it, and reads the job's
// function and context only after its claim (they cannot change while one
// of their items is unfinished). The caller waits for the job's items to
// be finished, not for every worker to check in: a worker that is
// descheduled (a busy machine) and claimed nothing costs the caller nothing.
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "ingot/common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POOL_PAUSE() _mm_pause()
#else
#define POOL_PAUSE() ((void)0)
#endif

enum { POOL_SPIN = 2000 };

struct ingot_pool {
    int n_threads; // including the caller
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_start, cv_done;
    _Atomic uint64_t generation;
    _Atomic bool quit;
    // current job (published before generation is bumped)
    ingot_pool_fn fn;
    void *ctx;
    _Atomic uint64_t claim; // item count << 32 | next item
    _Atomic size_t done;    // items finished
};

typedef struct worker_arg {
    ingot_pool *pool;
    int id;
} worker_arg;

// Claim and run items until the claim word is used up. Returns true when
// this thread finished the last item of a job.
static bool run_items(ingot_pool *p, int worker) {
    bool last = false;
    for (;;) {
        uint64_t w = atomic_load(&p->claim);
        const size_t n = (size_t)(w >> 32), i = (size_t)(uint32_t)w;
        if (i >= n) return last;
        if (!atomic_compare_exchange_weak(&p->claim, &w, w + 1)) continue;
        p->fn(p->ctx, i, worker);
        last = atomic_fetch_add(&p->done, 1) + 1 == n;
    }
}

// Wait until the generation moves past `seen` (or quit); returns the new one.
static uint64_t wait_generation(ingot_pool *p, uint64_t seen) {
    for (int k = 0; k < POOL_SPIN; k++) {
        uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load(&p->quit)) return g;
        POOL_PAUSE();
    }
    pthread_mutex_lock(&p->mu);
    while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->cv_start, &p->mu);
    uint64_t g = atomic_load(&p->generation);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    ingot_free(arg);
    ingot_pool *p = wa.pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_generation(p, seen);
        if (atomic_load(&p->quit)) break;
        if (run_items(p, wa.id)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int ingot_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

ingot_status ingot_pool_create(int n_threads, ingot_pool **out, ingot_err *err) {
    *out = NULL;
    if (n_threads <= 0) n_threads = ingot_cpu_count();
    INGOT_FAIL_IF(n_threads > 1024, err, INGOT_E_ARG, "thread count %d exceeds 1024", n_threads);
    ingot_pool *p = ingot_calloc(1, sizeof *p);
    INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "out of memory creating a thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n_threads > 1) {
        p->threads = ingot_calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            p->n_threads = 1;
            ingot_pool_free(p);
            return ingot_err_set(err, INGOT_E_NOMEM, "out of memory creating a thread pool");
        }
        for (int i = 0; i < n_threads - 1; i++) {
            worker_arg *wa = ingot_malloc(sizeof *wa);
            if (wa) *wa = (worker_arg){p, i + 1};
            if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
                ingot_free(wa);
                p->n_threads = i + 1;
                ingot_pool_free(p);
                return ingot_err_set(err, INGOT_E_NOMEM, "cannot start worker thread %d", i);
            }
        }
    }
    *out = p;
    return INGOT_OK;
}

void ingot_pool_free(ingot_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; p->threads && i < p->n_threads - 1; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_start);
    pthread_cond_destroy(&p->cv_done);
    ingot_free(p->threads);
    ingot_free(p);
}

int ingot_pool_n_threads(const ingot_pool *p) { return p ? p->n_threads : 1; }

// Jobs of more items than a claim word indexes run as several jobs.
typedef struct pool_slice {
    ingot_pool_fn fn;
    void *ctx;
    size_t base;
} pool_slice;

static void slice_item(void *ctx, size_t i, int worker) {
    const pool_slice *sl = ctx;
    sl->fn(sl->ctx, sl->base + i, worker);
}

void ingot_pool_run(ingot_pool *p, size_t n, ingot_pool_fn fn, void *ctx) {
    if (!p || p->n_threads == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    if (n > UINT32_MAX) {
        for (size_t base = 0; base < n; base += UINT32_MAX) {
            pool_slice sl = {fn, ctx, base};
            ingot_pool_run(p, n - base < UINT32_MAX ? n - base : UINT32_MAX, slice_item, &sl);
        }
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    atomic_store(&p->claim, (uint64_t)n << 32);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    run_items(p, 0);
    for (int k = 0; k < POOL_SPIN && atomic_load_explicit(&p->done, memory_order_acquire) < n; k++) POOL_PAUSE();
    if (atomic_load_explicit(&p->done, memory_order_acquire) < n) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->done) < n) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
