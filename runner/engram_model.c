// Engram on the runner side, part 3: bind a .ingot's Engram layers (the
// metadata `engram` object, the `engram.compress` blob, the blk.L.engram.*
// tensors) and run them for a batch of tokens, plus the call site the
// decoder layer uses (ingot_model.engram_forward).
//
// Tables stay in the mapping; only the rows a token needs are decoded.
// Norm weights, biases and conv taps (small) are decoded to f32 at open.
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ingot/container.h"
#include "ingot/engram.h"
#include "ingot/quantize.h"
#include "runner_internal.h"

// The prefetch helper: a ring of row addresses that one background thread
// advises (MADV_WILLNEED) and touches, so disk reads and the faults of first
// access happen off the decoding thread. A bitmap per table remembers the
// pages already touched (mapped in this process), so in the steady state a
// token costs neither a syscall nor a queue entry. Advisory throughout: a
// full ring drops, a page reclaimed later simply faults again on use.
#define PF_CAP 4096
#define PF_BATCH 64

typedef struct pf_ring {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const uint8_t *addr[PF_CAP];
    uint32_t len[PF_CAP];
    uint8_t layer[PF_CAP];
    size_t head, tail;          // head: next to take; tail: next free (mod PF_CAP)
    bool stop;
    bool running;               // thread started
    struct ingot_engram_model *m;
} pf_ring;

struct ingot_engram_model {
    const ingot_container *c;
    ingot_engram_params p;
    int32_t *lookup;                                // [V]
    ingot_engram_weights w[INGOT_ENGRAM_MAX_LAYERS];
    ingot_engram_state *st[INGOT_ENGRAM_MAX_LAYERS];   // forward state per layer
    ingot_engram_state *peek[INGOT_ENGRAM_MAX_LAYERS]; // window for ingot_engram_model_rows
    float *vec;                                     // decoded small vectors
    size_t vec_used, vec_cap;                       // floats
    uint64_t row_bytes[INGOT_ENGRAM_MAX_LAYERS];    // bytes of one table row
    _Atomic uint64_t *touched[INGOT_ENGRAM_MAX_LAYERS]; // bit per table page: touched by the helper
    uintptr_t page0[INGOT_ENGRAM_MAX_LAYERS];       // first page of each table
    uintptr_t page_size;
    bool disabled;
    pf_ring pf;
};

// ---- prefetch helper -------------------------------------------------------------

static bool page_touched(const ingot_engram_model *m, uint32_t li, uintptr_t pg) {
    const uint64_t k = (pg - m->page0[li]) / m->page_size;
    return atomic_load_explicit(&m->touched[li][k / 64], memory_order_relaxed) >> (k % 64) & 1;
}

static void page_mark(ingot_engram_model *m, uint32_t li, uintptr_t pg) {
    const uint64_t k = (pg - m->page0[li]) / m->page_size;
    atomic_fetch_or_explicit(&m->touched[li][k / 64], 1ull << (k % 64), memory_order_relaxed);
}

// First and one-past-last page of [a, a + n).
static void page_span(const ingot_engram_model *m, const uint8_t *a, uint32_t n, uintptr_t *lo, uintptr_t *hi) {
    *lo = (uintptr_t)a & ~(m->page_size - 1);
    *hi = ((uintptr_t)a + n + m->page_size - 1) & ~(m->page_size - 1);
}

// Advise every row of the batch first (the reads proceed in parallel), then
// touch each page so it is mapped before the decoding thread needs it.
static void pf_batch(ingot_engram_model *m, const uint8_t *const *addr, const uint32_t *len, const uint8_t *layer,
                     size_t n) {
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t lo, hi;
        page_span(m, addr[i], len[i], &lo, &hi);
        madvise((void *)lo, hi - lo, MADV_WILLNEED); // advisory: failure changes nothing
    }
    for (size_t i = 0; i < n; i++) {
        uintptr_t lo, hi;
        page_span(m, addr[i], len[i], &lo, &hi);
        for (uintptr_t pg = lo; pg < hi; pg += m->page_size) {
            sink ^= *(const volatile uint8_t *)(pg > (uintptr_t)addr[i] ? pg : (uintptr_t)addr[i]);
            page_mark(m, layer[i], pg);
        }
    }
    (void)sink;
}

static void *pf_main(void *arg) {
    pf_ring *q = arg;
    const uint8_t *addr[PF_BATCH];
    uint32_t len[PF_BATCH];
    uint8_t layer[PF_BATCH];
    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        if (q->head == q->tail) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        size_t n = 0;
        for (; n < PF_BATCH && q->head != q->tail; n++, q->head++) {
            addr[n] = q->addr[q->head % PF_CAP];
            len[n] = q->len[q->head % PF_CAP];
            layer[n] = q->layer[q->head % PF_CAP];
        }
        pthread_mutex_unlock(&q->mu);
        pf_batch(q->m, addr, len, layer, n);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void pf_start(pf_ring *q) {
    if (pthread_mutex_init(&q->mu, NULL)) return;
    if (pthread_cond_init(&q->cv, NULL)) {
        pthread_mutex_destroy(&q->mu);
        return;
    }
    q->running = pthread_create(&q->th, NULL, pf_main, q) == 0;
    if (!q->running) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
    }
}

static void pf_stop(pf_ring *q) {
    if (!q->running) return;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    q->running = false;
}

typedef struct pf_visit {
    ingot_engram_model *m;
    uint32_t li;
} pf_visit;

// Queue one token's rows of one layer whose pages are not known to be
// mapped yet (called with the ring locked).
static void pf_enqueue(void *ctx, int i, const uint64_t *rows) {
    (void)i;
    const pf_visit *v = ctx;
    ingot_engram_model *m = v->m;
    const ingot_engram_weights *w = &m->w[v->li];
    const uint64_t rb = m->row_bytes[v->li];
    for (uint32_t j = 0; j < ingot_engram_n_cols(&m->p); j++) {
        if (m->pf.tail - m->pf.head >= PF_CAP) return;
        if (rows[j] >= w->table_rows) continue;
        const uint8_t *a = w->table + rows[j] * rb;
        uintptr_t lo, hi;
        page_span(m, a, (uint32_t)rb, &lo, &hi);
        bool all = true;
        for (uintptr_t pg = lo; all && pg < hi; pg += m->page_size) all = page_touched(m, v->li, pg);
        if (all) continue;
        m->pf.addr[m->pf.tail % PF_CAP] = a;
        m->pf.len[m->pf.tail % PF_CAP] = (uint32_t)rb;
        m->pf.layer[m->pf.tail % PF_CAP] = (uint8_t)v->li;
        m->pf.tail++;
    }
}

// ---- binding -------------------------------------------------------------------

static ingot_status find_tensor(const ingot_engram_model *m, const char *name, bool required, uint32_t n_dims,
                                const uint64_t *dims, const ingot_tensor_info **out, const void **data,
                                ingot_err *err) {
    *out = NULL;
    *data = NULL;
    const int64_t i = ingot_container_find_tensor(m->c, name);
    if (i < 0) {
        INGOT_FAIL_IF(required, err, INGOT_E_FORMAT, "engram: tensor '%s' is missing", name);
        return INGOT_OK;
    }
    const ingot_tensor_info *t = ingot_container_tensor(m->c, (size_t)i);
    bool ok = t->n_dims == n_dims;
    for (uint32_t d = 0; ok && d < n_dims; d++) ok = t->dims[d] == dims[d];
    if (!ok) {
        ingot_err_where(err, NULL, name, (int64_t)t->off);
        return ingot_err_set(err, INGOT_E_FORMAT, "engram: tensor '%s' has shape [%llu, %llu], want [%llu, %llu]",
                             name, (unsigned long long)t->dims[0], (unsigned long long)(t->n_dims > 1 ? t->dims[1] : 0),
                             (unsigned long long)dims[0], (unsigned long long)(n_dims > 1 ? dims[1] : 0));
    }
    *out = t;
    *data = ingot_container_tensor_data(m->c, (size_t)i);
    return INGOT_OK;
}

// A small tensor decoded to f32 into the vector arena (NULL when absent and
// not required).
static ingot_status bind_vec(ingot_engram_model *m, const char *name, bool required, uint64_t d0, uint64_t d1,
                             const float **out, ingot_err *err) {
    const ingot_tensor_info *t;
    const void *data;
    const uint64_t dims[2] = {d0, d1};
    *out = NULL;
    INGOT_FORWARD_IF_ERROR(find_tensor(m, name, required, d1 ? 2 : 1, dims, &t, &data, err));
    if (!t) return INGOT_OK;
    const uint64_t n = d0 * (d1 ? d1 : 1);
    INGOT_FAIL_IF(m->vec_used + n > m->vec_cap, err, INGOT_E_FORMAT, "engram: vector arena overflow at '%s'", name);
    float *dst = m->vec + m->vec_used;
    INGOT_FAIL_IF(!ingot_dtype_decode_f32(t->dtype, data, n, dst), err, INGOT_E_UNSUPPORTED,
                  "engram: tensor '%s' has dtype %s, want a plain float type", name, ingot_dtype_name(t->dtype));
    m->vec_used += n;
    *out = dst;
    return INGOT_OK;
}

static bool has_row_kernels(ingot_dtype t) {
    if (t == INGOT_DTYPE_F32) return true;
    const ingot_quant_traits *qt = ingot_quant_get(t);
    return qt && qt->vec_dot && qt->dequantize_row;
}

static ingot_status bind_linear(ingot_engram_model *m, const char *base, uint32_t rows, uint32_t cols,
                                ingot_engram_linear *L, ingot_err *err) {
    char name[160];
    const ingot_tensor_info *t;
    const void *data;
    const uint64_t dims[2] = {rows, cols};
    snprintf(name, sizeof name, "%s.weight", base);
    INGOT_FORWARD_IF_ERROR(find_tensor(m, name, true, 2, dims, &t, &data, err));
    INGOT_FAIL_IF(!has_row_kernels(t->dtype), err, INGOT_E_UNSUPPORTED, "engram: tensor '%s' dtype %s has no kernels",
                  name, ingot_dtype_name(t->dtype));
    *L = (ingot_engram_linear){t->dtype, data, NULL, rows, cols};
    snprintf(name, sizeof name, "%s.bias", base);
    return bind_vec(m, name, false, rows, 0, &L->b, err);
}

static ingot_status bind_layer(ingot_engram_model *m, uint32_t li, ingot_err *err) {
    const ingot_engram_params *p = &m->p;
    const ingot_engram_layer *L = &p->layers[li];
    ingot_engram_weights *w = &m->w[li];
    const uint32_t D = p->d_model, d_mem = ingot_engram_n_cols(p) * p->d_h;
    char name[160], base[128];
    snprintf(name, sizeof name, "blk.%d.engram.table", L->layer);
    const ingot_tensor_info *t;
    const void *data;
    const uint64_t tdims[2] = {L->n_rows, p->d_h};
    INGOT_FORWARD_IF_ERROR(find_tensor(m, name, true, 2, tdims, &t, &data, err));
    const bool plain = t->dtype == INGOT_DTYPE_F16 || t->dtype == INGOT_DTYPE_BF16;
    INGOT_FAIL_IF(!plain && !has_row_kernels(t->dtype), err,
                  INGOT_E_UNSUPPORTED, "engram: table '%s' dtype %s has no row decoder", name,
                  ingot_dtype_name(t->dtype));
    w->table_dtype = t->dtype;
    w->table = data;
    w->table_rows = L->n_rows;
    snprintf(base, sizeof base, "blk.%d.engram.value", L->layer);
    INGOT_FORWARD_IF_ERROR(bind_linear(m, base, D, d_mem, &w->value, err));
    for (uint32_t g = 0; g < p->hc_mult; g++) {
        snprintf(base, sizeof base, "blk.%d.engram.key.%u", L->layer, g);
        INGOT_FORWARD_IF_ERROR(bind_linear(m, base, D, d_mem, &w->key[g], err));
        snprintf(name, sizeof name, "blk.%d.engram.key_norm.%u.weight", L->layer, g);
        INGOT_FORWARD_IF_ERROR(bind_vec(m, name, true, D, 0, &w->key_norm[g], err));
        snprintf(name, sizeof name, "blk.%d.engram.query_norm.%u.weight", L->layer, g);
        INGOT_FORWARD_IF_ERROR(bind_vec(m, name, true, D, 0, &w->query_norm[g], err));
        if (!p->kernel_size) continue;
        snprintf(name, sizeof name, "blk.%d.engram.conv_norm.%u.weight", L->layer, g);
        INGOT_FORWARD_IF_ERROR(bind_vec(m, name, true, D, 0, &w->conv_norm[g], err));
    }
    if (!p->kernel_size) return INGOT_OK;
    snprintf(name, sizeof name, "blk.%d.engram.conv.weight", L->layer);
    return bind_vec(m, name, true, (uint64_t)p->hc_mult * D, p->kernel_size, &w->conv_w, err);
}

static ingot_status load_params(ingot_engram_model *m, bool *present, ingot_err *err) {
    size_t n = 0;
    const char *text = ingot_container_metadata(m->c, &n);
    *present = false;
    cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;
    INGOT_FAIL_IF(!root, err, INGOT_E_FORMAT, "metadata is not valid JSON");
    const cJSON *eg = cJSON_GetObjectItemCaseSensitive(root, "engram");
    ingot_status st = INGOT_OK;
    if (eg && !cJSON_IsNull(eg)) {
        *present = true;
        char *sub = cJSON_PrintUnformatted(eg);
        st = sub ? ingot_engram_params_from_json(sub, strlen(sub), &m->p, err)
                 : ingot_err_set(err, INGOT_E_NOMEM, "engram: out of memory");
        cJSON_free(sub);
    }
    cJSON_Delete(root);
    return st;
}

static ingot_status load_lookup(ingot_engram_model *m, ingot_err *err) {
    const void *blob = NULL;
    size_t n = 0;
    INGOT_FAIL_IF(!ingot_container_find_blob(m->c, "engram.compress", &blob, &n), err, INGOT_E_FORMAT,
                  "engram: blob 'engram.compress' is missing");
    INGOT_FORWARD_IF_ERROR(ingot_engram_lookup_check(blob, n, &m->p, err));
    m->lookup = ingot_malloc(n);
    INGOT_FAIL_IF(!m->lookup, err, INGOT_E_NOMEM, "engram: out of memory");
    const uint8_t *b = blob;
    for (uint64_t i = 0; i < m->p.vocab; i++)
        m->lookup[i] = (int32_t)((uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                                 (uint32_t)b[4 * i + 3] << 24);
    return INGOT_OK;
}

static ingot_status open_all(ingot_engram_model *m, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(load_lookup(m, err));
    const ingot_engram_params *p = &m->p;
    const long ps = sysconf(_SC_PAGESIZE);
    m->page_size = ps > 0 ? (uintptr_t)ps : 4096;
    // value bias + per stream (key bias, 3 norms) + conv taps, per layer
    const size_t per_layer = p->d_model + (size_t)p->hc_mult * p->d_model * (4 + p->kernel_size);
    m->vec_cap = per_layer * p->n_layers;
    m->vec = ingot_malloc((m->vec_cap ? m->vec_cap : 1) * sizeof *m->vec);
    INGOT_FAIL_IF(!m->vec, err, INGOT_E_NOMEM, "engram: out of memory");
    for (uint32_t li = 0; li < p->n_layers; li++) {
        INGOT_FORWARD_IF_ERROR(bind_layer(m, li, err));
        INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(m->w[li].table_dtype, p->d_h, &m->row_bytes[li], err));
        // Page bitmap of the table for the prefetch helper.
        m->page0[li] = (uintptr_t)m->w[li].table & ~(m->page_size - 1);
        const uint64_t end = (uintptr_t)m->w[li].table + m->row_bytes[li] * m->w[li].table_rows;
        const uint64_t n_pages = (end - m->page0[li] + m->page_size - 1) / m->page_size;
        m->touched[li] = ingot_calloc(n_pages / 64 + 1, sizeof *m->touched[li]);
        INGOT_FAIL_IF(!m->touched[li], err, INGOT_E_NOMEM, "engram: out of memory for the page map");
        // Rows are read at random: no readahead around a faulting row.
        madvise((void *)m->page0[li], n_pages * m->page_size, MADV_RANDOM); // advisory
        INGOT_FORWARD_IF_ERROR(ingot_engram_state_create(p, &m->st[li], err));
        INGOT_FORWARD_IF_ERROR(ingot_engram_state_create(p, &m->peek[li], err));
    }
    return INGOT_OK;
}

ingot_status ingot_engram_model_open(const ingot_container *c, ingot_engram_model **out, ingot_err *err) {
    INGOT_FAIL_IF(!c || !out, err, INGOT_E_ARG, "engram: NULL argument");
    *out = NULL;
    ingot_engram_model *m = ingot_calloc(1, sizeof *m);
    INGOT_FAIL_IF(!m, err, INGOT_E_NOMEM, "engram: out of memory");
    m->c = c;
    bool present = false;
    ingot_status st = load_params(m, &present, err);
    if (st == INGOT_OK && present) st = open_all(m, err);
    if (st != INGOT_OK || !present) {
        ingot_engram_model_free(m);
        return st;
    }
    m->pf.m = m;
    pf_start(&m->pf); // without the helper, prefetches run on the caller
    *out = m;
    return INGOT_OK;
}

void ingot_engram_model_free(ingot_engram_model *m) {
    if (!m) return;
    pf_stop(&m->pf);
    for (uint32_t i = 0; i < INGOT_ENGRAM_MAX_LAYERS; i++) {
        ingot_engram_state_free(m->st[i]);
        ingot_engram_state_free(m->peek[i]);
        ingot_free((void *)m->touched[i]);
    }
    ingot_free(m->lookup);
    ingot_free(m->vec);
    ingot_free(m);
}

const ingot_engram_params *ingot_engram_model_params(const ingot_engram_model *m) { return &m->p; }
const int32_t *ingot_engram_model_lookup(const ingot_engram_model *m) { return m->lookup; }

int ingot_engram_model_find(const ingot_engram_model *m, int layer) {
    for (uint32_t i = 0; m && i < m->p.n_layers; i++)
        if (m->p.layers[i].layer == layer) return (int)i;
    return -1;
}

void ingot_engram_model_set_pool(ingot_engram_model *m, ingot_pool *pool) {
    for (uint32_t i = 0; m && i < m->p.n_layers; i++) ingot_engram_state_set_pool(m->st[i], pool);
}

void ingot_engram_model_set_enabled(ingot_engram_model *m, bool enabled) {
    if (m) m->disabled = !enabled;
}

// ---- running -------------------------------------------------------------------

static ingot_status follow(ingot_engram_state *st, int pos, int layer, ingot_err *err) {
    if (pos == 0) ingot_engram_state_reset(st);
    INGOT_FAIL_IF(ingot_engram_state_pos(st) != pos, err, INGOT_E_STATE,
                  "engram layer %d: position %d does not continue the sequence (next is %lld)", layer, pos,
                  (long long)ingot_engram_state_pos(st));
    return INGOT_OK;
}

ingot_status ingot_engram_model_rows(ingot_engram_model *m, int li, const int32_t *tokens, int n, int pos,
                                     uint64_t *rows, ingot_err *err) {
    INGOT_FAIL_IF(!m || li < 0 || (uint32_t)li >= m->p.n_layers || !tokens || !rows || n < 0, err, INGOT_E_ARG,
                  "engram rows: bad arguments");
    const ingot_engram_layer *L = &m->p.layers[li];
    INGOT_FORWARD_IF_ERROR(follow(m->peek[li], pos, L->layer, err));
    const uint32_t cols = ingot_engram_n_cols(&m->p);
    for (int t = 0; t < n; t++)
        ingot_engram_state_push(m->peek[li], &m->p, L, m->lookup, NULL, tokens[t], rows + (size_t)t * cols);
    return INGOT_OK;
}

ingot_status ingot_engram_model_gather(ingot_engram_model *m, int li, const int32_t *tokens, int n, int pos,
                                       float *emb, ingot_err *err) {
    INGOT_FAIL_IF(!m || li < 0 || (uint32_t)li >= m->p.n_layers || !tokens || !emb || n < 0, err, INGOT_E_ARG,
                  "engram gather: bad arguments");
    const ingot_engram_layer *L = &m->p.layers[li];
    INGOT_FORWARD_IF_ERROR(follow(m->peek[li], pos, L->layer, err));
    const size_t d_mem = (size_t)ingot_engram_n_cols(&m->p) * m->p.d_h;
    for (int t = 0; t < n; t++) {
        ingot_engram_state_push(m->peek[li], &m->p, L, m->lookup, NULL, tokens[t], NULL);
        INGOT_FORWARD_IF_ERROR(ingot_engram_state_gather(m->peek[li], &m->p, &m->w[li], emb + (size_t)t * d_mem, err));
    }
    return INGOT_OK;
}

void ingot_engram_model_prefetch(ingot_engram_model *m, const int32_t *tokens, int n) {
    if (!m || m->disabled || !tokens || n <= 0) return;
    if (!m->pf.running) {
        for (uint32_t li = 0; li < m->p.n_layers; li++)
            ingot_engram_state_prefetch(m->st[li], &m->p, &m->p.layers[li], m->lookup, &m->w[li], tokens, n);
        return;
    }
    pthread_mutex_lock(&m->pf.mu);
    const size_t tail0 = m->pf.tail;
    for (uint32_t li = 0; li < m->p.n_layers; li++) {
        pf_visit v = {m, li};
        ingot_engram_state_rows_ahead(m->st[li], &m->p, &m->p.layers[li], m->lookup, tokens, n, pf_enqueue, &v);
    }
    if (m->pf.tail != tail0) pthread_cond_signal(&m->pf.cv); // steady state: every page mapped, no wake-up
    pthread_mutex_unlock(&m->pf.mu);
}

ingot_status ingot_engram_model_forward(ingot_engram_model *m, int layer, float *x, const int32_t *tokens, int n,
                                        int pos, ingot_err *err) {
    const int li = ingot_engram_model_find(m, layer);
    INGOT_FAIL_IF(li < 0 || !x || !tokens || n < 0, err, INGOT_E_ARG, "engram: layer %d has no Engram module", layer);
    if (m->disabled) return INGOT_OK;
    ingot_engram_state *st = m->st[li];
    INGOT_FORWARD_IF_ERROR(follow(st, pos, layer, err));
    const size_t stride = (size_t)m->p.hc_mult * m->p.d_model;
    for (int t = 0; t < n; t++) {
        ingot_engram_state_push(st, &m->p, &m->p.layers[li], m->lookup, &m->w[li], tokens[t], NULL);
        const ingot_status s = ingot_engram_forward(st, &m->p, &m->w[li], x + (size_t)t * stride, NULL, err);
        if (s != INGOT_OK) {
            ingot_err_prefix(err, "engram layer %d, position %d", layer, pos + t);
            return s;
        }
    }
    return INGOT_OK;
}

// ---- the decoder layer's call site -----------------------------------------------

static ingot_status runner_hook(const ingot_model *m, ingot_state *s, int layer, float *h, const int32_t *tokens,
                                int n, int pos, ingot_err *err) {
    ingot_engram_model_set_pool(m->engram_ctx, s->pool);
    return ingot_engram_model_forward(m->engram_ctx, layer, h, tokens, n, pos, err);
}

ingot_status ingot_engram_attach(ingot_model *m, ingot_err *err) {
    INGOT_FAIL_IF(!m, err, INGOT_E_ARG, "engram attach: NULL model");
    if (m->engram_ctx) return INGOT_OK; // already attached
    ingot_engram_model *em = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_engram_model_open(m->c, &em, err));
    if (!em) return INGOT_OK;
    const ingot_engram_params *p = &em->p;
    const bool ok = p->hc_mult == 1 && (int)p->d_model == m->cfg.n_embd;
    for (uint32_t i = 0; ok && i < p->n_layers; i++) {
        const int l = p->layers[i].layer;
        if (l < 0 || l >= m->cfg.n_layer || !m->layers[l].has_engram) {
            ingot_engram_model_free(em);
            return ingot_err_set(err, INGOT_E_FORMAT, "engram: layer %d is not marked as an Engram layer", l);
        }
    }
    if (!ok) {
        ingot_engram_model_free(em);
        return ingot_err_set(err, INGOT_E_UNSUPPORTED,
                             "engram: hc_mult %u / d_model %u not runnable (the decoder has one stream of %d)",
                             p->hc_mult, p->d_model, m->cfg.n_embd);
    }
    m->engram_ctx = em;
    m->engram_forward = runner_hook;
    return INGOT_OK;
}

void ingot_engram_detach(ingot_model *m) {
    if (!m) return;
    ingot_engram_model_free(m->engram_ctx);
    m->engram_ctx = NULL;
    m->engram_forward = NULL;
}

ingot_engram_model *ingot_engram_of(const ingot_model *m) { return m ? m->engram_ctx : NULL; }
