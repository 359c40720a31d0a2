// Matrix multiplication against weights in place in the mmap, through
// quantize/'s row kernels: activations are quantized once per token row to
// the weight type's vec_dot_type, then each weight row is dotted with a tile
// of token rows while it is hot in L1. Several independent products (q, k
// and v; gate and up; the selected experts of a decode step) go to the
// thread pool as one job, so a decode step pays few dispatches. Work items
// are (row chunk × token tile) of one product. A decode step's items are
// guided: contiguous row ranges whose size shrinks with the work left in
// the job, so the threads start on long runs of rows and finish together
// on short ones. f8_e4m3_b128 weights have no row kernel: each row is
// decoded to f32 into per-thread scratch.
#include <string.h>

#include "runner_internal.h"

enum { MM_TOKEN_TILE = 32, MM_MAX_OPS = 3 * INGOT_RUNNER_MAX_EXPERT_USED + 8, MM_MAX_GUIDED = 512 };

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
    int64_t row_chunk, n_row_items;
    size_t first_item;    // index of this product's first work item
} mm_plan;

// A guided item: rows [r0, r1) of plan `plan`, every token.
typedef struct mm_range {
    int32_t plan;
    int64_t r0, r1;
} mm_range;

typedef struct mm_job {
    ingot_state *s;
    mm_plan plan[MM_MAX_OPS];
    int n_plan;
    mm_range *range; // guided items, or NULL: (row chunk × token tile) items
} mm_job;

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
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
            for (int t = t0; t < t1; t += INGOT_GEMM_MAX_ROWS) {
                const int nr = t1 - t < INGOT_GEMM_MAX_ROWS ? t1 - t : INGOT_GEMM_MAX_ROWS;
                p->gemm(w->cols, &op->y[(size_t)t * op->ldy + (size_t)r], op->ldy, wr,
                        p->act + (size_t)t * p->act_stride, p->act_stride, nr);
            }
        }
        return;
    }
    const ingot_vec_dot_fn dot = w->qt->vec_dot;
    if (t1 - t0 == 1) { // one token (decoding): everything the loop needs in locals
        const int64_t cols = w->cols;
        const size_t rb = w->row_bytes;
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r0 * rb, *act = p->act + (size_t)t0 * p->act_stride;
        float *y = op->y + (size_t)t0 * op->ldy;
        for (int64_t r = r0; r < r1; r++, wr += rb) dot(cols, y + r, wr, act);
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        for (int t = t0; t < t1; t++)
            dot(w->cols, &op->y[(size_t)t * op->ldy + (size_t)r], wr, p->act + (size_t)t * p->act_stride);
    }
}

static void mm_item(void *ctx, size_t i, int worker) {
    const mm_job *j = ctx;
    if (j->range) {
        const mm_range *g = &j->range[i];
        mm_run(j->s, &j->plan[g->plan], g->r0, g->r1, 0, j->plan[g->plan].op->n, worker);
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

// Guided split of a job whose products each have one token: walking the
// products in order, each item takes work left / (2 × threads) weight
// values (at least MM_MIN_ITEM, and at least 16 rows), cut at product
// boundaries. Returns the item count, 0 when they do not fit in `out`.
enum { MM_MIN_ITEM = 1 << 16 };

static size_t mm_guided(const mm_job *j, int n_threads, mm_range *out) {
    uint64_t left = 0;
    for (int k = 0; k < j->n_plan; k++) left += (uint64_t)j->plan[k].op->w->rows * (uint64_t)j->plan[k].op->w->cols;
    size_t n = 0;
    for (int k = 0; k < j->n_plan; k++) {
        const ingot_mat *w = j->plan[k].op->w;
        const uint64_t cols = w->cols > 0 ? (uint64_t)w->cols : 1;
        for (int64_t r = 0; r < w->rows;) {
            uint64_t want = left / (2 * (uint64_t)n_threads);
            want = want > MM_MIN_ITEM ? want : MM_MIN_ITEM;
            int64_t rows = (int64_t)((want + cols - 1) / cols);
            rows = rows < 16 ? 16 : rows;
            rows = rows < w->rows - r ? rows : w->rows - r;
            if (n == MM_MAX_GUIDED) return 0;
            out[n++] = (mm_range){k, r, r + rows};
            r += rows;
            left -= (uint64_t)rows * cols < left ? (uint64_t)rows * cols : left;
        }
    }
    return n;
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

// Activations of op k: reuse an earlier product's when it has the same
// input and format, else quantize into the next free rows of actq.
// Returns false when actq is full.
static bool mm_prepare_act(ingot_state *s, mm_job *j, int k, size_t *actq_used) {
    mm_plan *p = &j->plan[k];
    const ingot_mm_op *op = p->op;
    const ingot_dtype vdt = op->w->qt ? op->w->qt->vec_dot_type : INGOT_DTYPE_F32;
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
    return true;
}

// Jobs smaller than this many multiply-adds run on the caller: waking the
// pool costs more than the work (a router, a tiny model's projections).
enum { MM_SERIAL_MACS = 1 << 16 };

static void mm_flush(mm_job *j, size_t *n_items, size_t *actq_used, uint64_t *macs) {
    ingot_pool *pool = *macs < MM_SERIAL_MACS ? NULL : j->s->pool;
    mm_range range[MM_MAX_GUIDED];
    bool one_token = true;
    for (int k = 0; k < j->n_plan; k++) one_token = one_token && j->plan[k].op->n == 1;
    const size_t n_guided = pool && one_token ? mm_guided(j, ingot_pool_n_threads(pool), range) : 0;
    j->range = n_guided ? range : NULL;
    ingot_pool_run(pool, n_guided ? n_guided : *n_items, mm_item, j);
    j->range = NULL;
    *macs = 0;
    j->n_plan = 0;
    *n_items = *actq_used = 0;
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
