// Matrix multiplication against weights in place in the mmap, through
// quantize/'s row kernels: activations are quantized once per token row to
// the weight type's vec_dot_type, then each weight row is dotted with a tile
// of token rows while it is hot in L1. Several independent products (q, k
// and v; gate and up; the selected experts of a decode step) go to the
// thread pool as one job, so a decode step pays few dispatches. Prompt work
// items are (row chunk × token tile) of one product.
//
// A decode step (one token) is bound by reading the weights, and each new
// run of addresses a thread starts costs it the memory latency again before
// the hardware prefetcher has caught up: split into many small pieces, a
// 1 MB job reached about 80% of the bandwidth that one contiguous half per
// thread reached. So a one-token job gives each thread one share: an equal
// part of its products' rows taken in order (q, k, v and each expert's gate
// and up lie one after another in the file, so a share is one run of
// addresses). The owner takes its share from the front in small chunks; a
// thread whose share is done moves the back half of the largest share left
// into its own and goes on there, so a thread that is late or descheduled
// holds up only the chunk it is on. Each thread also prefetches 4 KB
// ahead of the row it is on. Where the weight type has a prepared-activation
// kernel (Q8_0: ingot_quant_prep_get), the one-token activation is prepared
// once per product and every row's dot does only the weight's share of the
// work, leaving the core more room for loads in flight: with a dot that
// only loads the weights, a decode step reached its bandwidth bound; with
// vec_dot, three quarters of it. Prompt rows of such types are prepared
// too, in a compact layout (values and float scales: tiles re-read them
// for every weight row), for the type's multi-row kernel on prepared
// rows. f8_e4m3_b128 weights have no row kernel: each row is decoded to
// f32 into per-thread scratch.
#include <stdatomic.h>
#include <string.h>

#include "runner_internal.h"

enum { MM_TOKEN_TILE = 32, MM_MAX_OPS = 3 * INGOT_RUNNER_MAX_EXPERT_USED + 8, MM_MAX_SHARES = 64 };

void ingot_mat_row_f32(const ingot_mat *w, int64_t r, float *out) {
    if (w->dtype == INGOT_DTYPE_F8_E4M3_B128) {
        ingot_b128_dequantize_row(w->data, w->rows, w->cols, r, out);
        return;
    }
    const uint8_t *row = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
    if (w->dtype == INGOT_DTYPE_F32) {
        memcpy(out, row, (size_t)w->cols * sizeof *out);
    } else if (w->qt) {
        w->qt->dequantize_row(row, out, w->cols);
    } else {
        ingot_dtype_decode_f32(w->dtype, row, (size_t)w->cols, out);
    }
}

// One product prepared for the pool.
typedef struct mm_plan {
    const ingot_mm_op *op;
    const uint8_t *act;   // [n, act_stride] activations in vec_dot_type
    size_t act_stride;    // bytes between token rows
    ingot_gemm_fn gemm;   // multi-row kernel of the weight type, or NULL
    const ingot_prep_traits *prep; // kernels on prepared activation rows, or NULL
    const uint8_t *actp;  // the prepared rows (one token: prepare's layout; several: rows_prepare's)
    size_t actp_stride;
    int64_t row_chunk, n_row_items;
    size_t first_item;    // index of this product's first work item
} mm_plan;

// A one-token job's rows are numbered through its products in order
// ("job rows"); a share is the job rows [front, back) packed in one word.
typedef struct mm_share {
    _Alignas(64) _Atomic uint64_t fb; // front << 32 | back
} mm_share;

typedef struct mm_job {
    ingot_state *s;
    mm_plan plan[MM_MAX_OPS];
    int n_plan;
    // One-token jobs (shares != NULL): plan k holds job rows [base[k], base[k + 1]).
    mm_share *shares;
    int n_shares;
    int64_t base[MM_MAX_OPS + 1];
    size_t actp_used, actr_used; // prepared activation rows in use (one token; prompt rows)
} mm_job;

// One-token products read their weights this many bytes ahead of the row
// being dotted (software prefetch).
enum { MM_PREFETCH = 4096 };

static void mm_run(const ingot_state *s, const mm_plan *p, int64_t r0, int64_t r1, int t0, int t1, int worker) {
    const ingot_mm_op *op = p->op;
    const ingot_mat *w = op->w;
    if (!w->qt) {
        float *row = s->scratch + (size_t)worker * s->scratch_per_thread;
        for (int64_t r = r0; r < r1; r++) {
            ingot_mat_row_f32(w, r, row);
            for (int t = t0; t < t1; t++)
                op->y[(size_t)t * op->ldy + (size_t)r] =
                    ingot_dot_f32(row, (const float *)(p->act + (size_t)t * p->act_stride), (int)w->cols);
        }
        return;
    }
    if (p->gemm && t1 - t0 > 1) { // each weight block decoded once per group of tokens
        const ingot_gemm_fn gemm = p->prep ? p->prep->gemm : p->gemm;
        const uint8_t *act = p->prep ? p->actp : p->act;
        const size_t stride = p->prep ? p->actp_stride : p->act_stride;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
            for (int t = t0; t < t1; t += INGOT_GEMM_MAX_ROWS) {
                const int nr = t1 - t < INGOT_GEMM_MAX_ROWS ? t1 - t : INGOT_GEMM_MAX_ROWS;
                gemm(w->cols, &op->y[(size_t)t * op->ldy + (size_t)r], op->ldy, wr, act + (size_t)t * stride, stride,
                     nr);
            }
        }
        return;
    }
    if (t1 - t0 == 1 && op->n == 1) { // one token (decoding): everything the loop needs in locals
        const ingot_vec_dot_fn dot = p->prep ? p->prep->dot : w->qt->vec_dot;
        const int64_t cols = w->cols;
        const size_t rb = w->row_bytes;
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r0 * rb;
        const uint8_t *act = p->prep ? p->actp : p->act + (size_t)t0 * p->act_stride;
        float *y = op->y + (size_t)t0 * op->ldy;
        const uint8_t *pf = wr, *pf_end = (const uint8_t *)w->data + (size_t)w->rows * rb;
        for (int64_t r = r0; r < r1; r++, wr += rb) {
            for (; pf < wr + MM_PREFETCH + rb && pf < pf_end; pf += 64) __builtin_prefetch(pf);
            dot(cols, y + r, wr, act);
        }
        return;
    }
    if (p->prep) { // prompt rows in the compact layout, one token left in a tile
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
            for (int t = t0; t < t1; t++)
                p->prep->gemm(w->cols, &op->y[(size_t)t * op->ldy + (size_t)r], 0, wr,
                              p->actp + (size_t)t * p->actp_stride, 0, 1);
        }
        return;
    }
    const ingot_vec_dot_fn dot = w->qt->vec_dot;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        for (int t = t0; t < t1; t++)
            dot(w->cols, &op->y[(size_t)t * op->ldy + (size_t)r], wr, p->act + (size_t)t * p->act_stride);
    }
}

// Job rows [a, b) of a one-token job, through the products they cover.
static void mm_run_rows(const mm_job *j, int64_t a, int64_t b, int worker) {
    int k = 0;
    while (j->base[k + 1] <= a) k++;
    for (; a < b; k++) {
        const int64_t e = b < j->base[k + 1] ? b : j->base[k + 1];
        mm_run(j->s, &j->plan[k], a - j->base[k], e - j->base[k], 0, 1, worker);
        a = e;
    }
}

// An owner claims about this many multiply-adds of its share at a time.
enum { MM_CHUNK_MACS = 1 << 15 };

// Job rows from `a` that make up about MM_CHUNK_MACS multiply-adds (at least one row).
static int64_t mm_chunk_end(const mm_job *j, int64_t a, int64_t back) {
    int k = 0;
    while (j->base[k + 1] <= a) k++;
    const int64_t cols = j->plan[k].op->w->cols > 0 ? j->plan[k].op->w->cols : 1;
    const int64_t rows = MM_CHUNK_MACS / cols > 1 ? MM_CHUNK_MACS / cols : 1;
    return back - a < rows ? back : a + rows;
}

static uint64_t fb_pack(int64_t front, int64_t back) { return (uint64_t)front << 32 | (uint64_t)back; }

// Share i's owner: chunks from the front of its share; when it is empty,
// the back half of the largest share left (whole when under two chunks)
// becomes its share. Returns when no share has rows left.
static void mm_share_item(const mm_job *j, size_t i, int worker) {
    mm_share *own = &j->shares[i];
    for (;;) {
        uint64_t w = atomic_load_explicit(&own->fb, memory_order_relaxed);
        const int64_t f = (int64_t)(w >> 32), b = (int64_t)(uint32_t)w;
        if (f < b) {
            const int64_t e = mm_chunk_end(j, f, b);
            if (atomic_compare_exchange_weak_explicit(&own->fb, &w, fb_pack(e, b), memory_order_relaxed,
                                                      memory_order_relaxed))
                mm_run_rows(j, f, e, worker);
            continue;
        }
        int victim = -1;
        int64_t most = 0;
        for (int v = 0; v < j->n_shares; v++) {
            const uint64_t x = atomic_load_explicit(&j->shares[v].fb, memory_order_relaxed);
            const int64_t left = (int64_t)(uint32_t)x - (int64_t)(x >> 32);
            if (left > most) most = left, victim = v;
        }
        if (victim < 0) return;
        uint64_t x = atomic_load_explicit(&j->shares[victim].fb, memory_order_relaxed);
        const int64_t vf = (int64_t)(x >> 32), vb = (int64_t)(uint32_t)x;
        if (vf >= vb) continue;
        // Take the back half, or all of it when the front chunk would be most of it.
        int64_t cut = vf + (vb - vf) / 2;
        if (mm_chunk_end(j, vf, vb) >= cut) cut = vf;
        if (!atomic_compare_exchange_weak_explicit(&j->shares[victim].fb, &x, fb_pack(vf, cut), memory_order_relaxed,
                                                   memory_order_relaxed))
            continue;
        atomic_store_explicit(&own->fb, fb_pack(cut, vb), memory_order_relaxed);
    }
}

static void mm_item(void *ctx, size_t i, int worker) {
    const mm_job *j = ctx;
    if (j->shares) {
        mm_share_item(j, i, worker);
        return;
    }
    int k = 0;
    while (k + 1 < j->n_plan && i >= j->plan[k + 1].first_item) k++;
    const mm_plan *p = &j->plan[k];
    const size_t item = i - p->first_item;
    const int64_t r0 = (int64_t)(item % (size_t)p->n_row_items) * p->row_chunk;
    const int64_t r1 = r0 + p->row_chunk < p->op->w->rows ? r0 + p->row_chunk : p->op->w->rows;
    const int t0 = (int)(item / (size_t)p->n_row_items) * MM_TOKEN_TILE;
    mm_run(j->s, p, r0, r1, t0, t0 + MM_TOKEN_TILE < p->op->n ? t0 + MM_TOKEN_TILE : p->op->n, worker);
}

// Shares of a one-token job: job rows cut where the multiply-adds before
// them reach t/n of the job's. Returns false when the job rows do not fit
// the packed word.
static bool mm_make_shares(mm_job *j, int n_threads, mm_share *shares) {
    uint64_t total = 0;
    j->base[0] = 0;
    for (int k = 0; k < j->n_plan; k++) {
        const ingot_mat *w = j->plan[k].op->w;
        j->base[k + 1] = j->base[k] + w->rows;
        total += (uint64_t)w->rows * (uint64_t)w->cols;
    }
    if (j->base[j->n_plan] >= (int64_t)1 << 31) return false;
    j->n_shares = n_threads < MM_MAX_SHARES ? n_threads : MM_MAX_SHARES;
    int k = 0;
    int64_t front = 0;
    uint64_t before = 0; // multiply-adds of the plans before plan k
    for (int t = 0; t < j->n_shares; t++) {
        const uint64_t want = total * (uint64_t)(t + 1) / (uint64_t)j->n_shares;
        int64_t back = j->base[j->n_plan];
        if (t + 1 < j->n_shares) {
            for (;;) {
                const ingot_mat *w = j->plan[k].op->w;
                const uint64_t cols = w->cols > 0 ? (uint64_t)w->cols : 1, macs = (uint64_t)w->rows * cols;
                if (before + macs >= want || k + 1 == j->n_plan) {
                    int64_t r = (int64_t)((want - before + cols - 1) / cols);
                    back = j->base[k] + (r < w->rows ? r : w->rows);
                    break;
                }
                before += macs;
                k++;
            }
            back = back < front ? front : back;
        }
        atomic_init(&shares[t].fb, fb_pack(front, back));
        front = back;
    }
    j->shares = shares;
    return true;
}

typedef struct quant_job {
    const ingot_quant_traits *qv;
    const float *x;
    size_t ldx;
    uint8_t *dst;
    size_t stride;
    int64_t cols;
} quant_job;

static void quant_item(void *ctx, size_t i, int worker) {
    (void)worker;
    const quant_job *j = ctx;
    j->qv->quantize_row(j->x + i * j->ldx, j->dst + i * j->stride, j->cols, NULL);
}

typedef struct prep_job {
    void (*prepare)(const void *y, void *p, int64_t n);
    const uint8_t *act;
    size_t act_stride;
    uint8_t *dst;
    size_t dst_stride;
    int64_t cols;
} prep_job;

static void prep_item(void *ctx, size_t i, int worker) {
    (void)worker;
    const prep_job *j = ctx;
    j->prepare(j->act + i * j->act_stride, j->dst + i * j->dst_stride, j->cols);
}

// A product whose weight type has prepared-activation kernels: prepare
// its activation rows once (one token: the decode layout; several: the
// compact one), or take an earlier product's; without room left in the
// prepared rows it keeps vec_dot / the plain multi-row kernel.
static void mm_prepare_prep(ingot_state *s, mm_job *j, int k, int same_as) {
    mm_plan *p = &j->plan[k];
    const ingot_mm_op *op = p->op;
    p->prep = ingot_quant_prep_get(op->w->dtype);
    if (!p->prep) return;
    const mm_plan *e = same_as >= 0 ? &j->plan[same_as] : NULL;
    if (e && e->prep == p->prep && (e->op->n == 1) == (op->n == 1)) {
        p->actp = e->actp;
        p->actp_stride = e->actp_stride;
        return;
    }
    const bool one = op->n == 1;
    const size_t bytes = one ? p->prep->bytes(op->w->cols) : p->prep->rows_bytes(op->w->cols);
    const size_t row = one ? s->actp_row : s->actr_row, rows = one ? s->actp_rows : s->actr_rows;
    size_t *used = one ? &j->actp_used : &j->actr_used;
    if (*used + (size_t)op->n > rows || bytes > row) {
        p->prep = NULL;
        return;
    }
    prep_job pj = {one ? p->prep->prepare : p->prep->rows_prepare, p->act, p->act_stride,
                   (one ? s->actp : s->actr) + *used * row, row, op->w->cols};
    ingot_pool_run(op->n > 4 ? s->pool : NULL, (size_t)op->n, prep_item, &pj);
    p->actp = pj.dst;
    p->actp_stride = row;
    *used += (size_t)op->n;
}

// Activations of op k: reuse an earlier product's when it has the same
// input and format, else quantize into the next free rows of actq.
// Returns false when actq is full.
static bool mm_prepare_act(ingot_state *s, mm_job *j, int k, size_t *actq_used) {
    mm_plan *p = &j->plan[k];
    const ingot_mm_op *op = p->op;
    const ingot_dtype vdt = op->w->qt ? op->w->qt->vec_dot_type : INGOT_DTYPE_F32;
    p->prep = NULL;
    if (vdt == INGOT_DTYPE_F32) {
        p->act = (const uint8_t *)op->x;
        p->act_stride = op->ldx * sizeof(float);
        return true;
    }
    for (int e = 0; e < k; e++) {
        const ingot_mm_op *o = j->plan[e].op;
        if (o->x == op->x && o->ldx == op->ldx && o->n >= op->n && o->w->cols == op->w->cols && o->w->qt &&
            o->w->qt->vec_dot_type == vdt) {
            p->act = j->plan[e].act;
            p->act_stride = j->plan[e].act_stride;
            mm_prepare_prep(s, j, k, e);
            return true;
        }
    }
    if (*actq_used + (size_t)op->n > s->actq_rows) return false;
    quant_job q = {ingot_quant_get(vdt), op->x, op->ldx, s->actq + *actq_used * s->actq_row, s->actq_row,
                   op->w->cols};
    ingot_pool_run(op->n > 4 ? s->pool : NULL, (size_t)op->n, quant_item, &q);
    p->act = q.dst;
    p->act_stride = s->actq_row;
    *actq_used += (size_t)op->n;
    mm_prepare_prep(s, j, k, -1);
    return true;
}

// Jobs smaller than this many multiply-adds run on the caller: waking the
// pool costs more than the work (a router, a tiny model's projections).
enum { MM_SERIAL_MACS = 1 << 16 };

static void mm_flush(mm_job *j, size_t *n_items, size_t *actq_used, uint64_t *macs) {
    ingot_pool *pool = *macs < MM_SERIAL_MACS ? NULL : j->s->pool;
    mm_share shares[MM_MAX_SHARES];
    bool one_token = true;
    for (int k = 0; k < j->n_plan; k++) one_token = one_token && j->plan[k].op->n == 1;
    if (one_token && mm_make_shares(j, ingot_pool_n_threads(pool), shares))
        ingot_pool_run(pool, (size_t)j->n_shares, mm_item, j);
    else
        ingot_pool_run(pool, *n_items, mm_item, j);
    j->shares = NULL;
    *macs = 0;
    j->n_plan = 0;
    *n_items = *actq_used = 0;
    j->actp_used = j->actr_used = 0;
}

void ingot_matmul_ops(ingot_state *s, const ingot_mm_op *ops, int n_ops) {
    mm_job j = {.s = s};
    size_t actq_used = 0, n_items = 0;
    uint64_t macs = 0;
    for (int k = 0; k < n_ops; k++) {
        if (j.n_plan == MM_MAX_OPS) mm_flush(&j, &n_items, &actq_used, &macs);
        j.plan[j.n_plan].op = &ops[k];
        if (!mm_prepare_act(s, &j, j.n_plan, &actq_used)) { // actq full: run what is planned first
            mm_flush(&j, &n_items, &actq_used, &macs);
            j.plan[0].op = &ops[k];
            mm_prepare_act(s, &j, 0, &actq_used); // one product always fits (state sizing)
        }
        mm_plan *p = &j.plan[j.n_plan++];
        const ingot_mat *w = ops[k].w;
        p->gemm = w->qt && ops[k].n > 1 ? ingot_quant_gemm_get(w->dtype) : NULL;
        // Enough row chunks to balance the threads, each at least 16 rows.
        const int64_t want = (int64_t)s->n_threads * (ops[k].n > 1 ? 4 : 8);
        const int64_t chunk = (w->rows + want - 1) / want;
        p->row_chunk = chunk < 16 ? 16 : chunk;
        p->n_row_items = (w->rows + p->row_chunk - 1) / p->row_chunk;
        p->first_item = n_items;
        n_items += (size_t)p->n_row_items * (size_t)((ops[k].n + MM_TOKEN_TILE - 1) / MM_TOKEN_TILE);
        macs += (uint64_t)w->rows * (uint64_t)w->cols * (uint64_t)ops[k].n;
    }
    if (n_items) mm_flush(&j, &n_items, &actq_used, &macs);
}

void ingot_matmul(ingot_state *s, const ingot_mat *w, const float *x, size_t ldx, int n, float *y, size_t ldy) {
    const ingot_mm_op op = {w, x, ldx, n, y, ldy};
    ingot_matmul_ops(s, &op, 1);
}
