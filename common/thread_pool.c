// A small persistent thread pool running parallel-for jobs. Items are
// claimed from an atomic counter so the caller thread works too.
//
// Waking sleeping threads costs tens of microseconds, and a decode step of
// the runner issues dozens of jobs back to back, so both sides spin briefly
// (a few microseconds to ~100 µs, with a pause hint) before they sleep on a
// condition variable. The generation counter and the running count are
// written under the mutex on the sleeping paths, so no wake-up is lost.
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
    _Atomic int n_running;
    _Atomic bool quit;
    // current job (published before generation is bumped)
    ingot_pool_fn fn;
    void *ctx;
    size_t n;
    _Atomic size_t next;
};

typedef struct worker_arg {
    ingot_pool *pool;
    int id;
} worker_arg;

static void run_items(ingot_pool *p, int worker) {
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        p->fn(p->ctx, i, worker);
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
        run_items(p, wa.id);
        if (atomic_fetch_sub(&p->n_running, 1) == 1) {
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

void ingot_pool_run(ingot_pool *p, size_t n, ingot_pool_fn fn, void *ctx) {
    if (!p || p->n_threads == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    atomic_store(&p->n_running, p->n_threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    run_items(p, 0);
    for (int k = 0; k < POOL_SPIN && atomic_load_explicit(&p->n_running, memory_order_acquire) > 0; k++)
        POOL_PAUSE();
    if (atomic_load_explicit(&p->n_running, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->n_running) > 0) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
