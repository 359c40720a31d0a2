// Engram on the runner side, part 2: the per-sequence state (last N-1
// compressed ids, the conv history) and the forward of one position:
//
//   e   = concat_j table[row_j]                      rows from the hash, j = (n-2)·H + h
//   v   = W_V e + b_V                                shared by all streams
//   k_m = W_K[m] e + b_K[m]
//   α_m = sigmoid(ssqrt(<RMSNorm(k_m), RMSNorm(x_m)> / sqrt(D)))
//   g_m = α_m · v
//   demo:  y_m = g_m + SiLU(conv_m(RMSNorm(g_m)))    depthwise, causal, dilation δ
//   V4.1:  y_m = g_m
//   x_m += y_m
//
// ssqrt(z) = sign(z)·sqrt(max(|z|, 1e-6)); sign(0) is 0 in the demo and + in
// V4.1. The conv's last tap multiplies the current position; taps reach
// back (K-1-j)·δ positions with zeros before the sequence start.
//
// Rows are gathered straight from the mapping and only those rows are
// dequantized. Rows of upcoming tokens can be computed without touching the
// state (ingot_engram_state_rows_ahead) so that their pages are read in while
// the layers before Engram compute (runner/engram_model.c does that on a
// helper thread); push() only adds cache-line prefetches.
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/engram.h"
#include "ingot/quantize.h"

struct ingot_engram_state {
    uint32_t n_hist;          // N-1
    uint64_t hist[INGOT_ENGRAM_MAX_NGRAM]; // hist[k] = x'[t-1-k]
    int64_t pos;              // positions pushed so far
    bool have_rows;           // rows[] belong to the current position
    uint64_t rows[INGOT_ENGRAM_MAX_COLS];
    uint32_t conv_len;        // (K-1)·δ past positions kept per channel
    float *conv_hist;         // [conv_len, G·D] normalised conv inputs, ring by position
    float *emb;               // [d_mem]
    float *value;             // [D]
    float *key;               // [G, D] one key per stream
    float *tmp;               // [D]
    float *u;                 // [D]
    float *y;                 // [G, D] module output
    float *gate;              // [G]
    uint8_t *actq;            // [1 + G, actq_cap] activation quantized per projection
    size_t actq_cap;          // bytes per projection
    ingot_pool *pool;         // borrowed; projections' rows are split across it (NULL: serial)
};

static size_t page_size(void) {
    static size_t ps;
    if (!ps) {
        const long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

ingot_status ingot_engram_state_create(const ingot_engram_params *p, ingot_engram_state **out, ingot_err *err) {
    INGOT_FAIL_IF(!p || !out, err, INGOT_E_ARG, "engram state: NULL argument");
    *out = NULL;
    const size_t D = p->d_model, G = p->hc_mult, d_mem = (size_t)ingot_engram_n_cols(p) * p->d_h;
    ingot_engram_state *st = ingot_calloc(1, sizeof *st);
    INGOT_FAIL_IF(!st, err, INGOT_E_NOMEM, "engram: out of memory");
    st->n_hist = p->max_ngram - 1;
    st->conv_len = p->kernel_size ? (p->kernel_size - 1) * p->dilation : 0;
    const size_t n_floats = (size_t)st->conv_len * G * D + d_mem + 3 * D + 2 * G * D + G;
    float *f = ingot_calloc(n_floats ? n_floats : 1, sizeof *f);
    st->actq_cap = 2 * (d_mem > D ? d_mem : D) + 512;
    st->actq = ingot_malloc((1 + G) * st->actq_cap);
    if (!f || !st->actq) {
        ingot_free(f);
        ingot_free(st->actq);
        ingot_free(st);
        return ingot_err_set(err, INGOT_E_NOMEM, "engram: out of memory");
    }
    st->conv_hist = f;
    f += (size_t)st->conv_len * G * D;
    st->emb = f, f += d_mem;
    st->value = f, f += D;
    st->key = f, f += G * D;
    st->tmp = f, f += D;
    st->u = f, f += D;
    st->y = f, f += G * D;
    st->gate = f;
    ingot_engram_state_reset(st);
    *out = st;
    return INGOT_OK;
}

void ingot_engram_state_free(ingot_engram_state *st) {
    if (!st) return;
    ingot_free(st->conv_hist);
    ingot_free(st->actq);
    ingot_free(st);
}

void ingot_engram_state_set_pool(ingot_engram_state *st, ingot_pool *pool) {
    if (st) st->pool = pool;
}

void ingot_engram_state_reset(ingot_engram_state *st) {
    if (!st) return;
    st->pos = 0;
    st->have_rows = false;
}

// ---- rows -------------------------------------------------------------------

// advise: also madvise(MADV_WILLNEED) the pages (a syscall per row; worth it
// only ahead of use).
static void prefetch_rows(const ingot_engram_weights *w, const uint64_t *rows, uint32_t n_cols, uint64_t row_bytes,
                          bool advise) {
    if (!w || !w->table || !row_bytes) return;
    const size_t ps = page_size();
    for (uint32_t j = 0; j < n_cols; j++) {
        if (rows[j] >= w->table_rows) continue;
        const uint8_t *a = w->table + rows[j] * row_bytes;
        if (advise) {
            const uintptr_t lo = (uintptr_t)a & ~(uintptr_t)(ps - 1);
            const uintptr_t hi = ((uintptr_t)a + row_bytes + ps - 1) & ~(uintptr_t)(ps - 1);
            madvise((void *)lo, hi - lo, MADV_WILLNEED); // advisory: failure changes nothing
        }
        for (uint64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(a + b);
    }
}

void ingot_engram_state_push(ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_layer *layer,
                             const int32_t *lookup, const ingot_engram_weights *w, int64_t raw_id,
                             uint64_t *rows_out) {
    uint64_t window[INGOT_ENGRAM_MAX_NGRAM];
    window[0] = ingot_engram_compress_id(lookup, p->vocab, raw_id);
    for (uint32_t k = 1; k < p->max_ngram; k++)
        window[k] = (int64_t)k <= st->pos ? st->hist[k - 1] : p->pad_compressed;
    ingot_engram_hash_rows(p, layer, window, st->rows);
    for (uint32_t k = st->n_hist; k > 1; k--) st->hist[k - 1] = st->hist[k - 2];
    st->hist[0] = window[0];
    st->pos++;
    st->have_rows = true;
    const uint32_t n_cols = ingot_engram_n_cols(p);
    if (rows_out) memcpy(rows_out, st->rows, n_cols * sizeof *rows_out);
    uint64_t rb = 0;
    if (w && ingot_dtype_row_bytes(w->table_dtype, p->d_h, &rb, NULL) == INGOT_OK)
        prefetch_rows(w, st->rows, n_cols, rb, false);
}

// Hash the next n raw ids after the state's window without changing it;
// visit(ctx, i, rows) receives each token's rows.
static void rows_ahead(const ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_layer *layer,
                       const int32_t *lookup, const int32_t *raw_ids, int n, ingot_engram_rows_fn visit, void *ctx) {
    const uint32_t N = p->max_ngram;
    uint64_t hist[INGOT_ENGRAM_MAX_NGRAM + 1];
    for (uint32_t k = 0; k + 1 < N; k++) hist[k] = (int64_t)k < st->pos ? st->hist[k] : p->pad_compressed;
    for (int i = 0; i < n; i++) {
        uint64_t window[INGOT_ENGRAM_MAX_NGRAM], rows[INGOT_ENGRAM_MAX_COLS];
        window[0] = ingot_engram_compress_id(lookup, p->vocab, raw_ids[i]);
        for (uint32_t k = 1; k < N; k++) window[k] = hist[k - 1];
        ingot_engram_hash_rows(p, layer, window, rows);
        visit(ctx, i, rows);
        for (uint32_t k = N - 1; k > 1; k--) hist[k - 1] = hist[k - 2];
        hist[0] = window[0];
    }
}

void ingot_engram_state_rows_ahead(const ingot_engram_state *st, const ingot_engram_params *p,
                                   const ingot_engram_layer *layer, const int32_t *lookup, const int32_t *raw_ids, int n,
                                   ingot_engram_rows_fn fn, void *ctx) {
    rows_ahead(st, p, layer, lookup, raw_ids, n, fn, ctx);
}

typedef struct ahead_advise {
    const ingot_engram_weights *w;
    uint32_t cols;
    uint64_t row_bytes;
} ahead_advise;

static void visit_advise(void *ctx, int i, const uint64_t *rows) {
    (void)i;
    const ahead_advise *a = ctx;
    prefetch_rows(a->w, rows, a->cols, a->row_bytes, true);
}

void ingot_engram_state_prefetch(const ingot_engram_state *st, const ingot_engram_params *p,
                                 const ingot_engram_layer *layer, const int32_t *lookup, const ingot_engram_weights *w,
                                 const int32_t *raw_ids, int n) {
    ahead_advise a = {w, ingot_engram_n_cols(p), 0};
    if (!w || ingot_dtype_row_bytes(w->table_dtype, p->d_h, &a.row_bytes, NULL) != INGOT_OK) return;
    rows_ahead(st, p, layer, lookup, raw_ids, n, visit_advise, &a);
}

int64_t ingot_engram_state_pos(const ingot_engram_state *st) { return st ? st->pos : 0; }

// Decode one table row of d_h values.
static ingot_status table_row(const ingot_engram_weights *w, uint32_t d_h, uint64_t row, float *out,
                              ingot_err *err) {
    uint64_t rb = 0;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(w->table_dtype, d_h, &rb, err));
    INGOT_FAIL_IF(row >= w->table_rows, err, INGOT_E_FORMAT, "engram table: row %llu outside %llu rows",
                  (unsigned long long)row, (unsigned long long)w->table_rows);
    const uint8_t *src = w->table + row * rb;
    if (w->table_dtype == INGOT_DTYPE_F32) {
        memcpy(out, src, d_h * sizeof *out);
        return INGOT_OK;
    }
    if (ingot_dtype_decode_f32(w->table_dtype, src, d_h, out)) return INGOT_OK;
    const ingot_quant_traits *qt = ingot_quant_get(w->table_dtype);
    INGOT_FAIL_IF(!qt || !qt->dequantize_row, err, INGOT_E_UNSUPPORTED, "engram table: dtype %s has no row decoder",
                  ingot_dtype_name(w->table_dtype));
    qt->dequantize_row(src, out, d_h);
    return INGOT_OK;
}

ingot_status ingot_engram_state_gather(const ingot_engram_state *st, const ingot_engram_params *p,
                                       const ingot_engram_weights *w, float *emb, ingot_err *err) {
    INGOT_FAIL_IF(!st || !p || !w || !emb, err, INGOT_E_ARG, "engram gather: NULL argument");
    INGOT_FAIL_IF(!st->pos, err, INGOT_E_STATE, "engram gather: no token pushed");
    for (uint32_t j = 0; j < ingot_engram_n_cols(p); j++)
        INGOT_FORWARD_IF_ERROR(table_row(w, p->d_h, st->rows[j], emb + (size_t)j * p->d_h, err));
    return INGOT_OK;
}

// ---- math --------------------------------------------------------------------

// One projection of a parallel job: y = W act (+ b).
typedef struct proj_mat {
    const ingot_engram_linear *L;
    const ingot_quant_traits *qt; // NULL for F32 weights
    const void *act;              // x, or x quantized to qt->vec_dot_type
    uint64_t row_bytes;
    float *y;                     // [L->rows]
} proj_mat;

typedef struct proj_job {
    proj_mat mat[1 + INGOT_ENGRAM_MAX_HC];
    uint32_t n_mat;
    uint32_t chunk;               // rows per work item
    uint32_t per_mat;             // work items per projection
} proj_job;

// Check a projection's kernels and prepare its activation (actbuf: actq_cap bytes).
static ingot_status proj_prepare(const ingot_engram_linear *L, const float *x, uint8_t *actbuf, size_t actq_cap,
                                 float *y, proj_mat *pm, ingot_err *err) {
    INGOT_FAIL_IF(!L->w, err, INGOT_E_FORMAT, "engram: projection weight missing");
    *pm = (proj_mat){L, NULL, x, 0, y};
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(L->dtype, L->cols, &pm->row_bytes, err));
    if (L->dtype == INGOT_DTYPE_F32) return INGOT_OK;
    pm->qt = ingot_quant_get(L->dtype);
    INGOT_FAIL_IF(!pm->qt || !pm->qt->vec_dot, err, INGOT_E_UNSUPPORTED, "engram: no kernel for projection dtype %s",
                  ingot_dtype_name(L->dtype));
    if (pm->qt->vec_dot_type == INGOT_DTYPE_F32) return INGOT_OK;
    const ingot_quant_traits *at = ingot_quant_get(pm->qt->vec_dot_type);
    uint64_t ab = 0;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(pm->qt->vec_dot_type, L->cols, &ab, err));
    INGOT_FAIL_IF(!at || ab > actq_cap, err, INGOT_E_UNSUPPORTED, "engram: cannot quantize activations to %s",
                  ingot_dtype_name(pm->qt->vec_dot_type));
    at->quantize_row(x, actbuf, L->cols, NULL);
    pm->act = actbuf;
    return INGOT_OK;
}

static void proj_item(void *ctx, size_t i, int worker) {
    (void)worker;
    const proj_job *job = ctx;
    const proj_mat *pm = &job->mat[i / job->per_mat];
    const ingot_engram_linear *L = pm->L;
    const uint32_t r0 = (uint32_t)(i % job->per_mat) * job->chunk;
    const uint32_t r1 = r0 + job->chunk < L->rows ? r0 + job->chunk : L->rows;
    const uint8_t *w = L->w;
    for (uint32_t r = r0; r < r1; r++) {
        float s = 0;
        if (!pm->qt) {
            const float *row = (const float *)(w + r * pm->row_bytes), *x = pm->act;
            for (uint32_t c = 0; c < L->cols; c++) s += row[c] * x[c];
        } else {
            pm->qt->vec_dot(L->cols, &s, w + r * pm->row_bytes, pm->act);
        }
        pm->y[r] = s + (L->b ? L->b[r] : 0.0f);
    }
}

// The shared value and every stream's key from e, rows split across the pool.
static ingot_status projections(ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_weights *w,
                                ingot_err *err) {
    proj_job job = {.n_mat = 1 + p->hc_mult, .chunk = 64};
    INGOT_FORWARD_IF_ERROR(proj_prepare(&w->value, st->emb, st->actq, st->actq_cap, st->value, &job.mat[0], err));
    for (uint32_t m = 0; m < p->hc_mult; m++)
        INGOT_FORWARD_IF_ERROR(proj_prepare(&w->key[m], st->emb, st->actq + (m + 1) * st->actq_cap, st->actq_cap,
                                            st->key + (size_t)m * p->d_model, &job.mat[m + 1], err));
    for (uint32_t k = 0; k < job.n_mat; k++)
        INGOT_FAIL_IF(job.mat[k].L->rows != p->d_model, err, INGOT_E_FORMAT, "engram: projection has %u rows, want %u",
                      job.mat[k].L->rows, p->d_model);
    job.per_mat = (p->d_model + job.chunk - 1) / job.chunk;
    ingot_pool_run(st->pool, (size_t)job.n_mat * job.per_mat, proj_item, &job);
    return INGOT_OK;
}

static void rmsnorm(float *out, const float *x, const float *w, uint32_t n, float eps) {
    double ss = 0;
    for (uint32_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    const float inv = (float)(1.0 / sqrt(ss / n + eps));
    for (uint32_t i = 0; i < n; i++) out[i] = x[i] * inv * (w ? w[i] : 1.0f);
}

static float gate_of(float s, bool sign_zero_positive) {
    const float mag = sqrtf(fmaxf(fabsf(s), 1e-6f));
    float z = s > 0 ? mag : s < 0 ? -mag : 0.0f;
    if (s == 0 && sign_zero_positive) z = mag;
    return 1.0f / (1.0f + expf(-z));
}

// Gates and gated values for every stream; st->y[m] = α_m v.
static void gates(ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_weights *w,
                  const float *x) {
    const uint32_t D = p->d_model;
    for (uint32_t m = 0; m < p->hc_mult; m++) {
        float *key = st->key + (size_t)m * D;
        rmsnorm(key, key, w->key_norm[m], D, p->gate_eps);
        rmsnorm(st->tmp, x + (size_t)m * D, w->query_norm[m], D, p->gate_eps);
        double s = 0;
        for (uint32_t d = 0; d < D; d++) s += (double)key[d] * st->tmp[d];
        st->gate[m] = gate_of((float)(s / sqrt((double)D)), p->sign_zero_positive);
        float *y = st->y + (size_t)m * D;
        for (uint32_t d = 0; d < D; d++) y[d] = st->gate[m] * st->value[d];
    }
}

// Conv of stream m at the current position (st->pos - 1); adds SiLU(conv)
// to st->y[m] and records u in the history. conv_out (may be NULL): [D].
static void conv_stream(ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_weights *w,
                        uint32_t m, float *conv_out) {
    const uint32_t D = p->d_model, K = p->kernel_size, G = p->hc_mult;
    float *y = st->y + (size_t)m * D;
    rmsnorm(st->u, y, w->conv_norm[m], D, p->conv_eps);
    const int64_t t = st->pos - 1;
    for (uint32_t d = 0; d < D; d++) {
        const size_t c = (size_t)m * D + d;
        const float *wc = w->conv_w + c * K;
        float acc = wc[K - 1] * st->u[d];
        for (uint32_t j = 0; j + 1 < K; j++) {
            const int64_t lag = (int64_t)(K - 1 - j) * p->dilation;
            if (t - lag < 0) continue;
            const size_t slot = (size_t)((t - lag) % st->conv_len);
            acc += wc[j] * st->conv_hist[slot * G * D + c];
        }
        const float silu = acc / (1.0f + expf(-acc));
        if (conv_out) conv_out[d] = silu;
        y[d] += silu;
    }
    if (!st->conv_len) return;
    const size_t slot = (size_t)(t % st->conv_len);
    memcpy(st->conv_hist + slot * G * D + (size_t)m * D, st->u, D * sizeof *st->u);
}

static void trace_copy(float *dst, const float *src, size_t n) {
    if (dst) memcpy(dst, src, n * sizeof *src);
}

ingot_status ingot_engram_forward(ingot_engram_state *st, const ingot_engram_params *p,
                                  const ingot_engram_weights *w, float *x, ingot_engram_trace *tr, ingot_err *err) {
    INGOT_FAIL_IF(!st || !p || !w || !x, err, INGOT_E_ARG, "engram forward: NULL argument");
    INGOT_FAIL_IF(!st->have_rows, err, INGOT_E_STATE, "engram forward: no token pushed for this position");
    const uint32_t D = p->d_model, G = p->hc_mult, n_cols = ingot_engram_n_cols(p);
    INGOT_FAIL_IF(p->kernel_size && !w->conv_w, err, INGOT_E_FORMAT,
                  "engram: conv weights missing");
    for (uint32_t j = 0; j < n_cols; j++)
        INGOT_FORWARD_IF_ERROR(table_row(w, p->d_h, st->rows[j], st->emb + (size_t)j * p->d_h, err));
    INGOT_FORWARD_IF_ERROR(projections(st, p, w, err));
    gates(st, p, w, x);
    if (tr) {
        trace_copy(tr->emb, st->emb, (size_t)n_cols * p->d_h);
        trace_copy(tr->value, st->value, D);
        trace_copy(tr->gate, st->gate, G);
        trace_copy(tr->gated_value, st->y, (size_t)G * D);
        if (tr->conv_out) memset(tr->conv_out, 0, (size_t)G * D * sizeof *tr->conv_out);
    }
    for (uint32_t m = 0; p->kernel_size && m < G; m++)
        conv_stream(st, p, w, m, tr && tr->conv_out ? tr->conv_out + (size_t)m * D : NULL);
    if (tr) trace_copy(tr->out, st->y, (size_t)G * D);
    for (size_t i = 0; i < (size_t)G * D; i++) x[i] += st->y[i];
    st->have_rows = false;
    return INGOT_OK;
}
