// Size-targeted type allocation (`--target-size`, `--target-bpw`).
//
// 1. The policy fixes what it always fixes (integers, 1-D, norms, routers,
//    biases) and what an override matches; every other tensor is a
//    candidate with a small menu of types (the candidate list, moved down
//    the fallback chain where the row length needs it).
// 2. Measure: one tensor at a time, a sample of rows (evenly spaced runs) is
//    read through the caller's callback and quantized + dequantized with
//    each menu type; the importance-weighted squared error is scaled to the
//    whole tensor. Memory: the sample plus two scratch rows per thread.
// 3. Allocate: the cheapest menu type everywhere, then upgrades in order of
//    error reduction per extra byte along each tensor's lower convex hull
//    (a max-heap of the next hull step of every tensor) while they fit;
//    then any single upgrade that still fits, best ratio first. This is the
//    classic greedy for the multiple-choice knapsack relaxation, the same
//    idea as EXL2/EXL3's measure-then-optimise and llama.cpp PR 15550.
// 4. Improve: exchanges among the most promising tensors while they lower
//    the total error and fit: one tensor down and another up, or one up
//    paid for by several one-item downgrades.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingot/quant_policy.h"
#include "ingot/quantize.h"

#define TARGET_MAX_TYPES 16
#define TARGET_SAMPLE_ELEMENTS 131072 // default sample: rows for about this many elements
#define TARGET_SAMPLE_MIN_ROWS 8
#define TARGET_RUNS 8

static const ingot_dtype default_candidates[] = {INGOT_DTYPE_Q2_K, INGOT_DTYPE_Q3_K, INGOT_DTYPE_Q4_K,
                                                 INGOT_DTYPE_Q5_K, INGOT_DTYPE_Q6_K, INGOT_DTYPE_Q8_0};

// ---- measuring ----------------------------------------------------------------

static bool is_plain_float(ingot_dtype t) {
    return t == INGOT_DTYPE_F32 || t == INGOT_DTYPE_F16 || t == INGOT_DTYPE_BF16;
}

static ingot_status kernels_check(ingot_dtype t, ingot_err *err) {
    if (is_plain_float(t)) return INGOT_OK;
    const ingot_quant_traits *q = ingot_quant_get(t);
    INGOT_FAIL_IF(!q || !q->quantize_row || !q->dequantize_row, err, INGOT_E_UNSUPPORTED,
                  "type %s has no quantize/dequantize kernels", ingot_dtype_name(t));
    return INGOT_OK;
}

static double row_error(const float *x, const float *y, int64_t n, const float *w) {
    double s = 0;
    for (int64_t j = 0; j < n; j++) {
        const double d = (double)x[j] - (double)y[j];
        s += (w ? (double)w[j] : 1.0) * d * d;
    }
    return s;
}

// Round-trip one row through a plain float type.
static void float_roundtrip(ingot_dtype t, const float *x, float *y, int64_t n) {
    for (int64_t j = 0; j < n; j++) {
        if (t == INGOT_DTYPE_F16) y[j] = ingot_f16_to_f32(ingot_f32_to_f16(x[j]));
        else if (t == INGOT_DTYPE_BF16) y[j] = ingot_bf16_to_f32(ingot_f32_to_bf16(x[j]));
        else y[j] = x[j];
    }
}

// Error of rows x with type t, using caller scratch q (row bytes) and y [n_cols].
static double rows_error(ingot_dtype t, const float *x, int64_t n_rows, int64_t n_cols, const float *w, void *q,
                         float *y) {
    const ingot_quant_traits *k = is_plain_float(t) ? NULL : ingot_quant_get(t);
    double s = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * n_cols;
        if (k) {
            k->quantize_row(xr, q, n_cols, w);
            k->dequantize_row(q, y, n_cols);
        } else {
            float_roundtrip(t, xr, y, n_cols);
        }
        s += row_error(xr, y, n_cols, w);
    }
    return s;
}

ingot_status ingot_policy_measure_error(ingot_dtype dtype, const float *x, int64_t n_rows, int64_t n_cols,
                                        const float *imatrix, double *out, ingot_err *err) {
    *out = 0;
    INGOT_FAIL_IF(n_rows < 0 || n_cols <= 0 || (n_rows && !x), err, INGOT_E_ARG, "bad matrix [%" PRId64 ", %" PRId64 "]",
                  n_rows, n_cols);
    INGOT_FORWARD_IF_ERROR(kernels_check(dtype, err));
    uint64_t rb;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(dtype, (uint64_t)n_cols, &rb, err));
    void *q = ingot_malloc((size_t)rb);
    float *y = ingot_malloc((size_t)n_cols * sizeof *y);
    if (!q || !y) {
        ingot_free(q);
        ingot_free(y);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    }
    *out = rows_error(dtype, x, n_rows, n_cols, imatrix, q, y);
    ingot_free(q);
    ingot_free(y);
    return INGOT_OK;
}

// ---- per-tensor menus ---------------------------------------------------------

typedef struct menu_item {
    ingot_dtype dtype;
    bool fallback;  // reached through the fallback chain
    uint64_t bytes;
    double error;   // weighted, scaled to the whole tensor
} menu_item;

typedef struct cand {
    size_t index;                        // into the caller's tensor array
    menu_item items[TARGET_MAX_TYPES];   // sorted by bytes, dominated items removed after measuring
    uint8_t n_items;
    uint8_t n_measured;                  // menu size before pruning
    uint8_t hull[TARGET_MAX_TYPES];      // indices into items on the lower convex hull
    uint8_t n_hull;
    uint8_t cur;                         // current item
    uint8_t hull_pos;                    // position of cur in hull while on it
} cand;

static double type_bpw(ingot_dtype t) {
    const ingot_dtype_traits *tr = ingot_dtype_get(t);
    return 8.0 * tr->type_size / tr->blck;
}

static bool row_fits(ingot_dtype t, uint64_t n_cols) { return n_cols % ingot_dtype_get(t)->blck == 0; }

static int item_cmp(const void *a, const void *b) {
    const menu_item *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? -1 : 1;
    return (int)x->dtype - (int)y->dtype;
}

// Build the menu of tensor t from the candidate list.
static ingot_status menu_build(const ingot_policy_tensor *t, const ingot_dtype *types, size_t n_types, cand *c,
                               ingot_err *err) {
    const uint64_t n_cols = t->dims[t->n_dims - 1];
    const bool head = t->role == INGOT_POLICY_ROLE_TOKEN_EMBD || t->role == INGOT_POLICY_ROLE_OUTPUT;
    bool any_high = false;
    for (size_t k = 0; k < n_types; k++) any_high |= type_bpw(types[k]) >= 6.5;
    c->n_items = 0;
    for (size_t k = 0; k < n_types; k++) {
        if (head && any_high && type_bpw(types[k]) < 6.5) continue;
        ingot_dtype d = types[k];
        while (!row_fits(d, n_cols) && ingot_policy_fallback(d, t->src_dtype) != d)
            d = ingot_policy_fallback(d, t->src_dtype);
        bool dup = false;
        for (uint8_t i = 0; i < c->n_items; i++) {
            if (c->items[i].dtype != d) continue;
            dup = true;
            c->items[i].fallback &= d != types[k]; // also a candidate in its own right
        }
        if (dup) continue;
        menu_item *m = &c->items[c->n_items++];
        m->dtype = d;
        m->fallback = d != types[k];
        m->error = 0;
        const ingot_status st = ingot_dtype_tensor_bytes(d, t->n_dims, t->dims, &m->bytes, err);
        if (st != INGOT_OK) {
            ingot_err_prefix(err, "tensor '%s'", t->name);
            return st;
        }
    }
    qsort(c->items, c->n_items, sizeof *c->items, item_cmp);
    return INGOT_OK;
}

// ---- measuring one tensor -----------------------------------------------------

// One job per (menu item, sample row), so every thread has work even when
// the menu is short; per-worker scratch; errors summed in a fixed order.
typedef struct measure_job {
    const cand *c;
    const float *x;       // [n_rows, n_cols] sample
    int64_t n_rows, n_cols;
    const float *w;       // imatrix [n_cols] or NULL
    uint8_t *scratch;     // per worker: y row + quantized row
    size_t scratch_step;
    double *errors;       // [n_items, n_rows]
} measure_job;

static void measure_item(void *ctx, size_t i, int worker) {
    measure_job *j = ctx;
    const size_t item = i / (size_t)j->n_rows, row = i % (size_t)j->n_rows;
    uint8_t *s = j->scratch + (size_t)worker * j->scratch_step;
    float *y = (float *)(void *)s;
    void *q = s + ingot_align_up((size_t)j->n_cols * sizeof(float), 64);
    j->errors[i] = rows_error(j->c->items[item].dtype, j->x + row * (size_t)j->n_cols, 1, j->n_cols, j->w, q, y);
}

// Read the sample of tensor t into x ([n_s, n_cols]) in TARGET_RUNS runs.
static ingot_status sample_read(ingot_policy_rows_fn fill, void *user, size_t index, int64_t n_rows, int64_t n_cols,
                                int64_t n_s, float *x, ingot_err *err) {
    const int64_t runs = n_s == n_rows ? 1 : (n_s < TARGET_RUNS ? n_s : TARGET_RUNS);
    int64_t at = 0;
    for (int64_t r = 0; r < runs; r++) {
        const int64_t len = n_s / runs + (r < n_s % runs ? 1 : 0);
        int64_t start = r * (n_rows / runs);
        if (start + len > n_rows) start = n_rows - len;
        INGOT_FORWARD_IF_ERROR(fill(user, index, start, len, x + at * n_cols, err));
        at += len;
    }
    return INGOT_OK;
}

typedef struct target_ctx {
    const ingot_policy_tensor *tensors;
    ingot_policy_rows_fn fill;
    void *user;
    const ingot_policy_target_opts *opts;
    int64_t sample_rows;  // ≤ 0: about TARGET_SAMPLE_ELEMENTS per tensor
    float *x;             // sample buffer, grown as needed
    size_t x_cap;         // floats
    uint8_t *scratch;
    size_t scratch_cap;   // bytes
} target_ctx;

static ingot_status grow(void **buf, size_t *cap, size_t need, ingot_err *err) {
    if (need <= *cap) return INGOT_OK;
    ingot_free(*buf);
    *buf = ingot_malloc(need);
    *cap = *buf ? need : 0;
    INGOT_FAIL_IF(!*buf, err, INGOT_E_NOMEM, "out of memory (%zu bytes of sample)", need);
    return INGOT_OK;
}

static ingot_status measure_tensor(target_ctx *tc, cand *c, ingot_err *err) {
    const ingot_policy_tensor *t = &tc->tensors[c->index];
    const uint64_t cols = t->dims[t->n_dims - 1], n_el = ingot_policy_tensor_n_elements(t);
    if (cols == 0 || n_el == 0) return INGOT_OK;
    INGOT_FAIL_IF(cols > INT32_MAX || n_el == UINT64_MAX || n_el / cols > INT64_MAX, err, INGOT_E_LIMIT,
                  "tensor '%s': shape too large to measure", t->name);
    const int64_t n_cols = (int64_t)cols, n_rows = (int64_t)(n_el / cols);
    int64_t want = tc->sample_rows;
    if (want <= 0) {
        want = (int64_t)(TARGET_SAMPLE_ELEMENTS / cols);
        if (want < TARGET_SAMPLE_MIN_ROWS) want = TARGET_SAMPLE_MIN_ROWS;
    }
    const int64_t n_s = n_rows < want ? n_rows : want;
    uint64_t need;
    INGOT_FAIL_IF(!ingot_mul_u64((uint64_t)n_s, cols * sizeof(float), &need) || need > SIZE_MAX, err,
                  INGOT_E_LIMIT, "tensor '%s': sample of %" PRId64 " rows too large", t->name, n_s);
    size_t x_bytes = tc->x_cap * sizeof(float);
    INGOT_FORWARD_IF_ERROR(grow((void **)&tc->x, &x_bytes, (size_t)need, err));
    tc->x_cap = x_bytes / sizeof(float);
    INGOT_FORWARD_IF_ERROR(sample_read(tc->fill, tc->user, c->index, n_rows, n_cols, n_s, tc->x, err));
    const float *w = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_imatrix_find(tc->opts->imatrix, t->name, (uint64_t)n_cols, &w, err));
    // y row, then the quantized row (never more than 4 bytes per element).
    const size_t step = 2 * ingot_align_up((size_t)n_cols * sizeof(float), 64) + 64;
    const size_t n_workers = (size_t)ingot_pool_n_threads(tc->opts->pool), n_jobs = (size_t)n_s * c->n_items;
    INGOT_FORWARD_IF_ERROR(grow((void **)&tc->scratch, &tc->scratch_cap, step * n_workers, err));
    double *errors = ingot_malloc(n_jobs * sizeof *errors);
    INGOT_FAIL_IF(!errors, err, INGOT_E_NOMEM, "out of memory");
    measure_job job = {c, tc->x, n_s, n_cols, w, tc->scratch, step, errors};
    ingot_pool_run(tc->opts->pool, n_jobs, measure_item, &job);
    const double scale = (double)n_rows / (double)n_s * (t->weight > 0 ? (double)t->weight : 1.0);
    for (uint8_t i = 0; i < c->n_items; i++) {
        double sum = 0;
        for (int64_t r = 0; r < n_s; r++) sum += errors[(size_t)i * (size_t)n_s + (size_t)r];
        c->items[i].error = sum * scale;
    }
    ingot_free(errors);
    return INGOT_OK;
}

// Drop items that cost more bytes without lowering the error, then find the
// lower convex hull (slopes of error per byte strictly flattening).
static void menu_prune(cand *c) {
    c->n_measured = c->n_items;
    uint8_t k = 0;
    for (uint8_t i = 0; i < c->n_items; i++) {
        if (k && c->items[i].error >= c->items[k - 1].error) continue;
        if (k && c->items[i].bytes == c->items[k - 1].bytes) k--;
        c->items[k++] = c->items[i];
    }
    c->n_items = k;
    c->n_hull = 0;
    for (uint8_t i = 0; i < c->n_items; i++) {
        while (c->n_hull >= 2) {
            const menu_item *a = &c->items[c->hull[c->n_hull - 2]], *b = &c->items[c->hull[c->n_hull - 1]];
            const menu_item *d = &c->items[i];
            // b is not on the hull when a→d gives at least a→b's gain per byte.
            const double s_ab = (a->error - b->error) / (double)(b->bytes - a->bytes);
            const double s_ad = (a->error - d->error) / (double)(d->bytes - a->bytes);
            if (s_ad < s_ab) break;
            c->n_hull--;
        }
        c->hull[c->n_hull++] = i;
    }
    c->cur = 0;
    c->hull_pos = 0;
}

// ---- allocating ---------------------------------------------------------------

typedef struct heap_item {
    double ratio;  // error reduction per byte of the next hull step
    size_t cand;
} heap_item;

static void heap_push(heap_item *h, size_t *n, heap_item v) {
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].ratio < v.ratio) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static heap_item heap_pop(heap_item *h, size_t *n) {
    const heap_item top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= *n) break;
        if (k + 1 < *n && h[k + 1].ratio > h[k].ratio) k++;
        if (h[k].ratio <= last.ratio) break;
        h[i] = h[k];
        i = k;
    }
    if (*n) h[i] = last;
    return top;
}

static bool hull_next(const cand *c, heap_item *out, size_t ci) {
    if (c->hull_pos + 1 >= c->n_hull) return false;
    const menu_item *a = &c->items[c->hull[c->hull_pos]], *b = &c->items[c->hull[c->hull_pos + 1]];
    out->ratio = (a->error - b->error) / (double)(b->bytes - a->bytes);
    out->cand = ci;
    return true;
}

typedef struct upgrade {
    double ratio;
    size_t cand;
    uint8_t item;
} upgrade;

static int upgrade_cmp(const void *a, const void *b) {
    const upgrade *x = a, *y = b;
    if (x->ratio != y->ratio) return x->ratio > y->ratio ? -1 : 1;
    if (x->cand != y->cand) return x->cand < y->cand ? -1 : 1;
    return (int)x->item - (int)y->item;
}

// Spend what the hull steps left with single upgrades, best ratio first.
static ingot_status allocate_rest(cand *cs, size_t n, uint64_t *spent, uint64_t budget, ingot_err *err) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += cs[i].n_items;
    upgrade *u = ingot_malloc((m ? m : 1) * sizeof *u);
    INGOT_FAIL_IF(!u, err, INGOT_E_NOMEM, "out of memory");
    m = 0;
    for (size_t i = 0; i < n; i++) {
        const menu_item *cur = &cs[i].items[cs[i].cur];
        for (uint8_t k = cs[i].cur + 1; k < cs[i].n_items; k++)
            u[m++] = (upgrade){(cur->error - cs[i].items[k].error) / (double)(cs[i].items[k].bytes - cur->bytes), i, k};
    }
    qsort(u, m, sizeof *u, upgrade_cmp);
    for (size_t k = 0; k < m; k++) {
        cand *c = &cs[u[k].cand];
        if (u[k].item <= c->cur) continue;
        const uint64_t extra = c->items[u[k].item].bytes - c->items[c->cur].bytes;
        if (*spent + extra > budget) continue;
        *spent += extra;
        c->cur = u[k].item;
    }
    ingot_free(u);
    return INGOT_OK;
}

// ---- local search after the greedy ------------------------------------------
//
// The greedy can strand bytes: the last step it could not afford may have
// been worth more than a cheaper one it took. Exchanges fix most of that:
// downgrade tensor i to any cheaper item and upgrade tensor j to any dearer
// one when the pair fits and lowers the total error. Only the EXCHANGE_K
// tensors that lose least per byte freed and the EXCHANGE_K that gain most
// per byte spent are paired, so one round costs O(K² · items²).

#define EXCHANGE_K 32
#define EXCHANGE_ROUNDS 256

typedef struct ranked {
    double ratio;
    size_t cand;
} ranked;

static int ranked_cmp(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->ratio != y->ratio) return x->ratio < y->ratio ? -1 : 1;
    return x->cand < y->cand ? -1 : x->cand > y->cand;
}

// The K best-ranked candidates by `down` (error lost per byte freed by the
// next cheaper item, ascending) or by upgrade (−gain per byte, ascending).
static size_t exchange_rank(const cand *cs, size_t n, bool down, ranked *r) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cand *c = &cs[i];
        const menu_item *cur = &c->items[c->cur];
        if (down && c->cur > 0) {
            const menu_item *lo = &c->items[c->cur - 1];
            r[m++] = (ranked){(lo->error - cur->error) / (double)(cur->bytes - lo->bytes), i};
        } else if (!down && c->cur + 1 < c->n_items) {
            const menu_item *hi = &c->items[c->cur + 1];
            r[m++] = (ranked){-(cur->error - hi->error) / (double)(hi->bytes - cur->bytes), i};
        }
    }
    qsort(r, m, sizeof *r, ranked_cmp);
    return m < EXCHANGE_K ? m : EXCHANGE_K;
}

typedef struct exchange {
    double gain;
    size_t i, j;
    uint8_t a, u;
} exchange;

// Best exchange lowering tensor i to item a and raising j to item u.
static void exchange_pair(const cand *cs, size_t i, size_t j, uint64_t left, exchange *best) {
    const cand *ci = &cs[i], *cj = &cs[j];
    for (uint8_t a = 0; a < ci->cur; a++) {
        const uint64_t freed = ci->items[ci->cur].bytes - ci->items[a].bytes;
        const double loss = ci->items[a].error - ci->items[ci->cur].error;
        for (uint8_t u = cj->cur + 1; u < cj->n_items; u++) {
            const uint64_t cost = cj->items[u].bytes - cj->items[cj->cur].bytes;
            const double gain = cj->items[cj->cur].error - cj->items[u].error - loss;
            if (cost <= left + freed && gain > best->gain) *best = (exchange){gain, i, j, a, u};
        }
    }
}

// Upgrade j to item u and pay for it by lowering the down-ranked tensors one
// item at a time, cheapest loss per freed byte first. Returns the net gain
// (−inf when the bytes cannot be found); `steps` gets the new items of the
// down list.
static double exchange_multi(const cand *cs, const ranked *down, size_t nd, size_t j, uint8_t u, uint64_t left,
                             uint8_t *steps) {
    const cand *cj = &cs[j];
    const uint64_t cost = cj->items[u].bytes - cj->items[cj->cur].bytes;
    double gain = cj->items[cj->cur].error - cj->items[u].error;
    uint64_t freed = left;
    for (size_t x = 0; x < nd; x++) steps[x] = cs[down[x].cand].cur;
    while (freed < cost) {
        size_t pick = nd;
        double pick_ratio = INFINITY;
        for (size_t x = 0; x < nd; x++) {
            const cand *c = &cs[down[x].cand];
            if (down[x].cand == j || steps[x] == 0) continue;
            const menu_item *a = &c->items[steps[x]], *b = &c->items[steps[x] - 1];
            const double r = (b->error - a->error) / (double)(a->bytes - b->bytes);
            if (r < pick_ratio) {
                pick_ratio = r;
                pick = x;
            }
        }
        if (pick == nd) return -INFINITY;
        const cand *c = &cs[down[pick].cand];
        freed += c->items[steps[pick]].bytes - c->items[steps[pick] - 1].bytes;
        gain -= c->items[steps[pick] - 1].error - c->items[steps[pick]].error;
        steps[pick]--;
    }
    return gain;
}

// One round of multi-downgrade exchanges; true when one was applied.
static bool exchange_multi_round(cand *cs, const ranked *down, size_t nd, const ranked *up, size_t nu, double min_gain,
                                 uint64_t *spent, uint64_t budget) {
    uint8_t steps[EXCHANGE_K], best_steps[EXCHANGE_K];
    double best = min_gain;
    size_t best_j = SIZE_MAX;
    uint8_t best_u = 0;
    for (size_t y = 0; y < nu; y++) {
        const cand *cj = &cs[up[y].cand];
        for (uint8_t u = cj->cur + 1; u < cj->n_items; u++) {
            const double g = exchange_multi(cs, down, nd, up[y].cand, u, budget - *spent, steps);
            if (g > best) {
                best = g;
                best_j = up[y].cand;
                best_u = u;
                memcpy(best_steps, steps, nd);
            }
        }
    }
    if (best_j == SIZE_MAX) return false;
    for (size_t x = 0; x < nd; x++) {
        cand *c = &cs[down[x].cand];
        *spent -= c->items[c->cur].bytes - c->items[best_steps[x]].bytes;
        c->cur = best_steps[x];
    }
    cand *cj = &cs[best_j];
    *spent += cj->items[best_u].bytes - cj->items[cj->cur].bytes;
    cj->cur = best_u;
    return true;
}

static ingot_status allocate_exchange(cand *cs, size_t n, uint64_t *spent, uint64_t budget, ingot_err *err) {
    ranked *down = ingot_malloc((n ? n : 1) * sizeof *down), *up = ingot_malloc((n ? n : 1) * sizeof *up);
    if (!down || !up) {
        ingot_free(down);
        ingot_free(up);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    }
    for (int round = 0; round < EXCHANGE_ROUNDS; round++) {
        const size_t nd = exchange_rank(cs, n, true, down), nu = exchange_rank(cs, n, false, up);
        exchange best = {0};
        double total = 0;
        for (size_t i = 0; i < n; i++) total += cs[i].items[cs[i].cur].error;
        best.gain = 1e-12 * total; // demand a real improvement
        for (size_t x = 0; x < nd; x++)
            for (size_t y = 0; y < nu; y++)
                if (down[x].cand != up[y].cand) exchange_pair(cs, down[x].cand, up[y].cand, budget - *spent, &best);
        if (best.i == best.j) {
            if (!exchange_multi_round(cs, down, nd, up, nu, best.gain, spent, budget)) break;
            continue;
        }
        *spent = *spent - (cs[best.i].items[cs[best.i].cur].bytes - cs[best.i].items[best.a].bytes) +
                 (cs[best.j].items[best.u].bytes - cs[best.j].items[cs[best.j].cur].bytes);
        cs[best.i].cur = best.a;
        cs[best.j].cur = best.u;
    }
    ingot_free(down);
    ingot_free(up);
    return allocate_rest(cs, n, spent, budget, err);
}

static ingot_status allocate(cand *cs, size_t n, uint64_t *spent, uint64_t budget, ingot_err *err) {
    heap_item *h = ingot_malloc((n ? n : 1) * sizeof *h);
    INGOT_FAIL_IF(!h, err, INGOT_E_NOMEM, "out of memory");
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        heap_item v;
        if (hull_next(&cs[i], &v, i)) heap_push(h, &nh, v);
    }
    while (nh) {
        const heap_item top = heap_pop(h, &nh);
        cand *c = &cs[top.cand];
        const uint8_t next = c->hull[c->hull_pos + 1];
        const uint64_t extra = c->items[next].bytes - c->items[c->cur].bytes;
        if (*spent + extra > budget) continue; // this tensor's later steps are larger still
        *spent += extra;
        c->cur = next;
        c->hull_pos++;
        heap_item v;
        if (hull_next(c, &v, top.cand)) heap_push(h, &nh, v);
    }
    ingot_free(h);
    INGOT_FORWARD_IF_ERROR(allocate_rest(cs, n, spent, budget, err));
    return allocate_exchange(cs, n, spent, budget, err);
}

// ---- entry point --------------------------------------------------------------

static ingot_status opts_check(const ingot_policy *p, const ingot_policy_target_opts *o, const ingot_dtype **types,
                               size_t *n_types, ingot_err *err) {
    INGOT_FAIL_IF(!p || !o, err, INGOT_E_ARG, "no policy or options");
    INGOT_FAIL_IF(strcmp(ingot_policy_preset(p), "keep") == 0, err, INGOT_E_ARG,
                  "preset keep cannot be combined with a size target");
    INGOT_FAIL_IF(!o->target_bytes && !(o->target_bpw > 0 && isfinite(o->target_bpw)), err, INGOT_E_ARG,
                  "no size target: set target bytes or a positive bits-per-weight");
    *types = o->candidates ? o->candidates : default_candidates;
    *n_types = o->candidates ? o->n_candidates : sizeof default_candidates / sizeof *default_candidates;
    INGOT_FAIL_IF(*n_types == 0 || *n_types > TARGET_MAX_TYPES, err, INGOT_E_ARG, "%zu candidate types, want 1..%d",
                  *n_types, TARGET_MAX_TYPES);
    for (size_t k = 0; k < *n_types; k++) {
        const ingot_dtype t = (*types)[k];
        INGOT_FAIL_IF(!ingot_dtype_valid((int)t) || !ingot_policy_type_storable(t), err, INGOT_E_ARG,
                      "candidate type %s cannot store weights", ingot_dtype_name(t));
        for (ingot_dtype d = t;; d = ingot_policy_fallback(d, INGOT_DTYPE_F32)) {
            INGOT_FORWARD_IF_ERROR(kernels_check(d, err));
            if (ingot_policy_fallback(d, INGOT_DTYPE_F32) == d) break;
        }
    }
    return INGOT_OK;
}

// The preset's choice for every tensor; menus for the candidates. Returns
// the candidates in *out (heap) and fills the report's fixed part.
static ingot_status plan_fixed(const ingot_policy *p, const ingot_policy_tensor *ts, size_t n, const ingot_dtype *types,
                               size_t n_types, ingot_policy_choice *choices, cand **out, size_t *n_out,
                               ingot_policy_target_report *rep, ingot_err *err) {
    cand *cs = ingot_calloc(n ? n : 1, sizeof *cs);
    INGOT_FAIL_IF(!cs, err, INGOT_E_NOMEM, "out of memory");
    size_t nc = 0;
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < n && st == INGOT_OK; i++) {
        st = ingot_policy_choose(p, &ts[i], &choices[i], err);
        if (st != INGOT_OK) break;
        rep->n_elements += ingot_policy_tensor_n_elements(&ts[i]);
        if (choices[i].fixed || choices[i].rule >= 0) {
            rep->fixed_bytes += choices[i].bytes;
            continue;
        }
        cs[nc].index = i;
        st = menu_build(&ts[i], types, n_types, &cs[nc], err);
        if (st == INGOT_OK && cs[nc].n_items) rep->min_bytes += cs[nc].items[0].bytes;
        nc += st == INGOT_OK && cs[nc].n_items ? 1 : 0;
    }
    if (st != INGOT_OK) {
        ingot_free(cs);
        return st;
    }
    rep->min_bytes += rep->fixed_bytes;
    *out = cs;
    *n_out = nc;
    return INGOT_OK;
}

static ingot_status budget_of(const ingot_policy_target_opts *o, ingot_policy_target_report *rep, ingot_err *err) {
    if (o->target_bytes) {
        rep->budget_bytes = o->target_bytes;
    } else {
        const double b = o->target_bpw * (double)rep->n_elements / 8.0;
        rep->budget_bytes = b >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)b;
    }
    const double n = rep->n_elements ? (double)rep->n_elements : 1.0;
    INGOT_FAIL_IF(rep->budget_bytes < rep->min_bytes, err, INGOT_E_LIMIT,
                  "size target %" PRIu64 " bytes (%.3f bpw) is below the smallest achievable %" PRIu64
                  " bytes (%.3f bpw)",
                  rep->budget_bytes, 8.0 * (double)rep->budget_bytes / n, rep->min_bytes,
                  8.0 * (double)rep->min_bytes / n);
    return INGOT_OK;
}

static void choice_from_cand(const cand *c, const ingot_policy_tensor *t, ingot_policy_choice *ch) {
    const menu_item *m = &c->items[c->cur];
    ch->dtype = m->dtype;
    ch->bytes = m->bytes;
    ch->fallback = m->fallback;
    ch->rule = -1;
    ch->fixed = false;
    const double bpw = 8.0 * (double)m->bytes / (double)ingot_policy_tensor_n_elements(t);
    snprintf(ch->reason, sizeof ch->reason, "target: %s of %u measured, %.2f bpw, weighted error %.4g%s",
             ingot_dtype_name(m->dtype), (unsigned)c->n_measured, bpw, m->error,
             m->fallback ? " (fallback: row length)" : "");
}

ingot_status ingot_policy_target(const ingot_policy *p, const ingot_policy_tensor *ts, size_t n,
                                 ingot_policy_rows_fn fill, void *user, const ingot_policy_target_opts *o,
                                 ingot_policy_choice *choices, ingot_policy_target_report *rep, ingot_err *err) {
    memset(rep, 0, sizeof *rep);
    const ingot_dtype *types = NULL;
    size_t n_types = 0;
    INGOT_FORWARD_IF_ERROR(opts_check(p, o, &types, &n_types, err));
    INGOT_FAIL_IF(n && (!ts || !choices || !fill), err, INGOT_E_ARG, "NULL tensors, choices or row callback");
    cand *cs = NULL;
    size_t nc = 0;
    INGOT_FORWARD_IF_ERROR(plan_fixed(p, ts, n, types, n_types, choices, &cs, &nc, rep, err));
    ingot_status st = budget_of(o, rep, err);
    target_ctx tc = {ts, fill, user, o, o->sample_rows, NULL, 0, NULL, 0};
    for (size_t i = 0; i < nc && st == INGOT_OK; i++) {
        st = measure_tensor(&tc, &cs[i], err);
        if (st == INGOT_OK) menu_prune(&cs[i]);
    }
    ingot_free(tc.x);
    ingot_free(tc.scratch);
    uint64_t spent = rep->min_bytes;
    if (st == INGOT_OK) st = allocate(cs, nc, &spent, rep->budget_bytes, err);
    if (st == INGOT_OK) {
        for (size_t i = 0; i < nc; i++) {
            choice_from_cand(&cs[i], &ts[cs[i].index], &choices[cs[i].index]);
            rep->error += cs[i].items[cs[i].cur].error;
        }
        rep->n_candidates = nc;
        rep->bytes = spent;
        rep->bpw = rep->n_elements ? 8.0 * (double)spent / (double)rep->n_elements : 0;
    }
    ingot_free(cs);
    if (st != INGOT_OK) memset(choices, 0, n * sizeof *choices);
    return st;
}
