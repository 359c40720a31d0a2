// Matrix multiplication against weights in place in the mmap, through
// quantize/'s row kernels: activations are quantized once per token row to
// the weight type's vec_dot_type, then each weight row is dotted with a tile
// of token rows while it is hot in L1. Work items (row chunk × token tile)
// are handed to the thread pool. f8_e4m3_b128 weights have no row kernel:
// each row is decoded to f32 into per-thread scratch and dotted in f32.
#include <string.h>

#include "runner_internal.h"

enum { MM_TOKEN_TILE = 32 };

typedef struct mm_job {
    ingot_state *s;
    const ingot_mat *w;
    const uint8_t *act;   // [n, act_stride] activations in vec_dot_type
    size_t act_stride;    // bytes between token rows
    int n;
    float *y;
    size_t ldy;
    int64_t row_chunk;
    int64_t n_row_items;
} mm_job;

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

static void mm_item(void *ctx, size_t i, int worker) {
    const mm_job *j = ctx;
    const ingot_mat *w = j->w;
    const int64_t r0 = (int64_t)(i % (size_t)j->n_row_items) * j->row_chunk;
    const int64_t r1 = r0 + j->row_chunk < w->rows ? r0 + j->row_chunk : w->rows;
    const int t0 = (int)(i / (size_t)j->n_row_items) * MM_TOKEN_TILE;
    const int t1 = t0 + MM_TOKEN_TILE < j->n ? t0 + MM_TOKEN_TILE : j->n;
    if (!w->qt) {
        float *row = j->s->scratch + (size_t)worker * j->s->scratch_per_thread;
        for (int64_t r = r0; r < r1; r++) {
            ingot_mat_row_f32(w, r, row);
            for (int t = t0; t < t1; t++)
                j->y[(size_t)t * j->ldy + (size_t)r] =
                    ingot_dot_f32(row, (const float *)(j->act + (size_t)t * j->act_stride), (int)w->cols);
        }
        return;
    }
    const ingot_vec_dot_fn dot = w->qt->vec_dot;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        for (int t = t0; t < t1; t++)
            dot(w->cols, &j->y[(size_t)t * j->ldy + (size_t)r], wr, j->act + (size_t)t * j->act_stride);
    }
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

void ingot_matmul(ingot_state *s, const ingot_mat *w, const float *x, size_t ldx, int n, float *y, size_t ldy) {
    mm_job j = {.s = s, .w = w, .n = n, .y = y, .ldy = ldy};
    const ingot_dtype vdt = w->qt ? w->qt->vec_dot_type : INGOT_DTYPE_F32;
    if (vdt == INGOT_DTYPE_F32) {
        j.act = (const uint8_t *)x;
        j.act_stride = ldx * sizeof(float);
    } else {
        const ingot_quant_traits *qv = ingot_quant_get(vdt);
        quant_job q = {qv, x, ldx, s->actq, s->actq_row, w->cols};
        ingot_pool_run(n > 4 ? s->pool : NULL, (size_t)n, quant_item, &q);
        j.act = s->actq;
        j.act_stride = s->actq_row;
    }
    // Enough row chunks to balance the threads, each at least 16 rows.
    const int64_t want = (int64_t)s->n_threads * (n > 1 ? 4 : 8);
    int64_t chunk = (w->rows + want - 1) / want;
    chunk = chunk < 16 ? 16 : chunk;
    j.row_chunk = chunk;
    j.n_row_items = (w->rows + chunk - 1) / chunk;
    const size_t n_tiles = (size_t)(n + MM_TOKEN_TILE - 1) / MM_TOKEN_TILE;
    ingot_pool_run(s->pool, (size_t)j.n_row_items * n_tiles, mm_item, &j);
}
