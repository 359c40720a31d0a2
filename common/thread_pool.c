// A small persistent thread pool running parallel-for jobs. Workers sleep on
// a condition variable between jobs; items are claimed from an atomic counter
// so the caller thread works too.
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "ingot/common.h"

struct ingot_pool {
    int n_threads; // including the caller
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_start, cv_done;
    uint64_t generation;
    int n_running;
    bool quit;
    // current job
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

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    ingot_free(arg);
    ingot_pool *p = wa.pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->cv_start, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_items(p, wa.id);
        pthread_mutex_lock(&p->mu);
        if (--p->n_running == 0) pthread_cond_signal(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
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
    p->quit = true;
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->n_running = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    run_items(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->n_running > 0) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
