// Run state: every activation buffer, the KV cache and the per-thread
// scratch live in one arena sized from the config and (n_ctx, n_batch) up
// front, so the forward pass never allocates (llama2.c RunState).
#include <string.h>

#include "runner_internal.h"

static int imax(int a, int b) { return a > b ? a : b; }

// Carve n elements of size sz from the arena at *off (64-byte aligned). With
// base NULL it only counts.
static void *carve(uint8_t *base, size_t *off, size_t n, size_t sz) {
    const size_t at = (size_t)ingot_align_up(*off, 64);
    *off = at + n * sz;
    return base ? base + at : NULL;
}

// Bytes one activation row needs in any vec_dot_type (Q8_0 or Q8_K) for up
// to cols values.
static size_t actq_row_bytes(int cols) {
    const size_t q8_0 = (size_t)(cols + 31) / 32 * 34, q8_k = (size_t)(cols + 255) / 256 * 292;
    return (size_t)ingot_align_up(q8_0 > q8_k ? q8_0 : q8_k, 64);
}

static size_t state_layout(ingot_state *s, uint8_t *base) {
    const ingot_model *m = s->m;
    const ingot_model_config *c = &m->cfg;
    const size_t B = (size_t)s->n_batch, C = (size_t)s->n_ctx, E = (size_t)c->n_embd;
    const int qk = c->is_mla ? c->qk_nope_head_dim + c->qk_rope_head_dim : c->head_dim;
    const int vd = c->is_mla ? c->v_head_dim : c->head_dim;
    const int kd = imax(imax(c->n_head_kv * c->head_dim, c->kv_lora_rank + c->qk_rope_head_dim), c->q_lora_rank);
    const int ff = imax(imax(c->n_ff, c->n_ff_exp), c->n_ff_shexp);
    const int ne = imax(c->n_expert, 1), k = imax(c->n_expert_used, 1);
    s->kv_row = c->is_mla ? c->kv_lora_rank + c->qk_rope_head_dim : c->n_head_kv * c->head_dim;
    size_t off = 0;
    s->x = carve(base, &off, B * E, sizeof(float));
    s->xb = carve(base, &off, B * E, sizeof(float));
    s->xb2 = carve(base, &off, B * E, sizeof(float));
    s->q = carve(base, &off, B * (size_t)c->n_head * (size_t)qk, sizeof(float));
    s->k = carve(base, &off, B * (size_t)kd, sizeof(float));
    s->v = carve(base, &off, B * (size_t)c->n_head_kv * (size_t)c->head_dim, sizeof(float));
    s->att_out = carve(base, &off, B * (size_t)c->n_head * (size_t)vd, sizeof(float));
    // FFN hidden: a batch, or a decode step's k experts plus the shared one
    const size_t hbn = imax((int)B * ff, k * c->n_ff_exp + c->n_ff_shexp);
    s->hb = carve(base, &off, hbn, sizeof(float));
    s->hb2 = carve(base, &off, hbn, sizeof(float));
    s->kcache = carve(base, &off, (size_t)c->n_layer * C * (size_t)s->kv_row, sizeof(float));
    s->vcache = c->is_mla ? NULL : carve(base, &off, (size_t)c->n_layer * C * (size_t)s->kv_row, sizeof(float));
    s->kv_full = c->is_mla ? carve(base, &off, C * (size_t)c->n_head * (size_t)(c->qk_nope_head_dim + c->v_head_dim),
                                   sizeof(float))
                           : NULL;
    s->rope_cs = carve(base, &off, B * (size_t)m->rope.dim, sizeof(float));
    s->logits = carve(base, &off, B * (size_t)c->n_vocab, sizeof(float));
    s->actq_row = actq_row_bytes(imax(m->max_row_cols, c->n_embd));
    // Rows: a batch (several products may share one input), every cached
    // position for MLA's naive decompression, or a decode step's experts.
    s->actq_rows = 2 * B > (size_t)(3 * k + 4) ? 2 * B : (size_t)(3 * k + 4);
    if (c->is_mla && C > s->actq_rows) s->actq_rows = C;
    s->actq = carve(base, &off, s->actq_rows * s->actq_row, 1);
    // Prepared rows (ingot_prep_traits), when the model has such weights:
    // the distinct inputs of a decode step's job (its experts' gate/up
    // input and down inputs, or q/k/v's), and one batch of prompt rows.
    const size_t pairs = (size_t)(m->max_prep_cols + 63) / 64;
    s->actp_row = (size_t)ingot_align_up(pairs * INGOT_PREP_Q8_0_PAIR, 64);
    s->actp_rows = m->max_prep_cols ? (size_t)k + 4 : 0;
    s->actp = carve(base, &off, s->actp_rows * s->actp_row, 1);
    s->actr_row = (size_t)ingot_align_up(pairs * INGOT_PREP_Q8_0_ROWS_PAIR, 64);
    s->actr_rows = m->max_prep_cols && B > 1 ? B : 0;
    s->actr = carve(base, &off, s->actr_rows * s->actr_row, 1);
    s->scratch_per_thread = C + 3 * (size_t)imax(m->max_row_cols, c->kv_lora_rank) + 2 * (size_t)ne + 256 + 64;
    if (!c->is_mla && ingot_attend_tile_scratch(c->head_dim, (int)C) > s->scratch_per_thread)
        s->scratch_per_thread = ingot_attend_tile_scratch(c->head_dim, (int)C);
    s->scratch = carve(base, &off, (size_t)s->n_threads * s->scratch_per_thread, sizeof(float));
    s->router = carve(base, &off, B * (size_t)ne, sizeof(float));
    s->sel = carve(base, &off, B * (size_t)k, sizeof(int32_t));
    s->selw = carve(base, &off, B * (size_t)k, sizeof(float));
    s->exp_tok = carve(base, &off, B * (size_t)k, sizeof(int32_t));
    s->exp_w = carve(base, &off, B * (size_t)k, sizeof(float));
    s->exp_count = carve(base, &off, (size_t)ne + 1, sizeof(int32_t));
    s->xe = carve(base, &off, B * E, sizeof(float));
    s->ye = carve(base, &off, (B > (size_t)k + 1 ? B : (size_t)k + 1) * E, sizeof(float));
    return off;
}

ingot_status ingot_state_create(const ingot_model *m, int n_ctx, int n_batch, ingot_pool *pool,
                                ingot_state **out, ingot_err *err) {
    *out = NULL;
    INGOT_FAIL_IF(!m, err, INGOT_E_ARG, "no model");
    INGOT_FAIL_IF(n_ctx <= 0 || n_batch <= 0, err, INGOT_E_ARG, "n_ctx %d and n_batch %d must be positive", n_ctx,
                  n_batch);
    INGOT_FAIL_IF(n_ctx > (1 << 24) || n_batch > (1 << 20), err, INGOT_E_LIMIT, "n_ctx %d or n_batch %d is too large",
                  n_ctx, n_batch);
    ingot_state *s = ingot_calloc(1, sizeof *s);
    INGOT_FAIL_IF(!s, err, INGOT_E_NOMEM, "out of memory for the run state");
    s->m = m;
    s->pool = pool;
    s->n_threads = ingot_pool_n_threads(pool);
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->arena_bytes = state_layout(s, NULL);
    s->arena = ingot_malloc_aligned(64, s->arena_bytes);
    if (!s->arena) {
        const size_t need = s->arena_bytes;
        ingot_free(s);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory: the run state needs %zu bytes (n_ctx %d)", need,
                             n_ctx);
    }
    memset(s->arena, 0, s->arena_bytes);
    state_layout(s, s->arena);
    *out = s;
    return INGOT_OK;
}

void ingot_state_free(ingot_state *s) {
    if (!s) return;
    ingot_free_aligned(s->arena);
    ingot_free(s);
}

void ingot_state_reset(ingot_state *s) { s->n_past = 0; }

void ingot_state_set_mla_mode(ingot_state *s, ingot_mla_mode mode) { s->mla_mode = mode; }

void ingot_state_set_capture(ingot_state *s, float *hidden, int32_t *experts, float *weights) {
    s->cap_hidden = hidden;
    s->cap_experts = experts;
    s->cap_weights = weights;
}

const float *ingot_state_logits(const ingot_state *s, int *n_rows) {
    if (n_rows) *n_rows = s->n_logits;
    return s->logits;
}
