// End-to-end comparison: the runner evaluates the source weights and the
// converted file on the same tokens and the logits are compared position by
// position (KL-divergence, top-1, ΔPPL, RMS Δp), with a per-layer trace of
// the hidden states that shows where error enters. The source is run through
// a temporary `keep` conversion, which preserves its bytes exactly.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/runner.h"
#include "ingot/tokenizer.h"
#include "verify_internal.h"

ingot_status verify_tensors_against(const char *path, const char *src, const ingot_verify_opts *opts,
                                    ingot_verify_report *r, ingot_err *err);

// ---- tokens -----------------------------------------------------------------
// Tokens for the run: the text through the file's own tokenizer, repeated
// until long enough; pseudo-random ids when the file has no tokenizer.
static ingot_status make_tokens(const ingot_model *m, const ingot_verify_opts *opts, int want, int32_t *ids,
                                bool *from_text, ingot_err *err) {
    const ingot_model_config *cfg = ingot_model_get_config(m);
    const void *blob = NULL;
    size_t blob_n = 0;
    *from_text = false;
    char *text = NULL;
    size_t text_n = 0;
    if (opts && opts->text_path) {
        INGOT_FORWARD_IF_ERROR(ingot_file_read_all(opts->text_path, 64u << 20, &text, &text_n, err));
    }
    ingot_tokenizer *tok = NULL;
    if (ingot_container_find_blob(ingot_model_container(m), "tokenizer.json", &blob, &blob_n)) {
        ingot_err te = {0};
        if (ingot_tokenizer_create(blob, blob_n, &tok, &te) != INGOT_OK) tok = NULL;
    }
    int have = 0;
    if (tok) {
        const char *t = text ? text : ingot_builtin_text;
        size_t tn = text ? text_n : strlen(ingot_builtin_text);
        size_t cap = ingot_tokenizer_encode_bound(tok, tn);
        int32_t *buf = ingot_malloc(cap * sizeof *buf);
        size_t got = 0;
        if (buf && ingot_tokenizer_encode(tok, t, tn, false, buf, cap, &got, err) == INGOT_OK && got > 0) {
            size_t k = 0;
            for (size_t i = 0; i < got; i++) k += buf[i] >= 0 && buf[i] < cfg->n_vocab;
            if (k > 1) {
                while (have < want)
                    for (size_t i = 0; i < got && have < want; i++)
                        if (buf[i] >= 0 && buf[i] < cfg->n_vocab) ids[have++] = buf[i];
                *from_text = true;
            }
        }
        ingot_free(buf);
        ingot_tokenizer_free(tok);
    }
    ingot_free(text);
    if (!*from_text) {
        uint64_t s = 0x1234567887654321ull;
        for (int i = 0; i < want; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ids[i] = (int32_t)(s % (uint64_t)cfg->n_vocab);
        }
    }
    return INGOT_OK;
}

// ---- comparison of two runs ---------------------------------------------------
typedef struct trace_acc {
    double cos_sum, sig, noise;
    uint64_t n;
} trace_acc;

typedef struct run_buffers {
    float *logits_a, *logits_b;   // [n_ctx, n_vocab]
    float *hidden_a, *hidden_b;   // [n_layer + 1, n_ctx, n_embd]
} run_buffers;

static void trace_add(trace_acc *acc, const float *a, const float *b, int n_embd) {
    double aa = 0, bb = 0, ab = 0, dd = 0;
    for (int k = 0; k < n_embd; k++) {
        double x = a[k], y = b[k];
        aa += x * x;
        bb += y * y;
        ab += x * y;
        dd += (x - y) * (x - y);
    }
    acc->cos_sum += (aa > 0 && bb > 0) ? ab / sqrt(aa * bb) : (dd == 0 ? 1 : 0);
    acc->sig += aa;
    acc->noise += dd;
    acc->n++;
}

typedef struct e2e_ctx {
    const ingot_model *base, *test;    // base: source or NULL for reference logits
    ingot_state *sb, *st;
    int n_ctx, n_vocab, n_embd, n_layer;
    run_buffers buf;
    trace_acc *trace;                  // [n_layer + 1]
    ingot_metrics mt;
    float *scratch;
    double max_abs;
} e2e_ctx;

static ingot_status run_chunk(e2e_ctx *e, const int32_t *ids, int n, const float *ref_logits, ingot_err *err) {
    int rows = 0;
    ingot_state_reset(e->st);
    ingot_state_set_capture(e->st, e->buf.hidden_b, NULL, NULL);
    INGOT_FORWARD_IF_ERROR(ingot_model_forward(e->test, e->st, ids, n, 0, INGOT_FORWARD_ALL_LOGITS, err));
    memcpy(e->buf.logits_b, ingot_state_logits(e->st, &rows), (size_t)n * e->n_vocab * sizeof(float));
    const float *base = ref_logits;
    if (e->base) {
        ingot_state_reset(e->sb);
        ingot_state_set_capture(e->sb, e->buf.hidden_a, NULL, NULL);
        INGOT_FORWARD_IF_ERROR(ingot_model_forward(e->base, e->sb, ids, n, 0, INGOT_FORWARD_ALL_LOGITS, err));
        memcpy(e->buf.logits_a, ingot_state_logits(e->sb, &rows), (size_t)n * e->n_vocab * sizeof(float));
        base = e->buf.logits_a;
        for (int L = 0; L <= e->n_layer; L++)
            for (int t = 0; t < n; t++) {
                size_t o = ((size_t)L * n + t) * e->n_embd;
                trace_add(&e->trace[L], e->buf.hidden_a + o, e->buf.hidden_b + o, e->n_embd);
            }
    }
    for (int t = 0; t < n; t++) {
        const float *lb = base + (size_t)t * e->n_vocab, *lt = e->buf.logits_b + (size_t)t * e->n_vocab;
        for (int v = 0; v < e->n_vocab; v++) {
            double d = fabs((double)lb[v] - lt[v]);
            if (d > e->max_abs || d != d) e->max_abs = d != d ? INFINITY : d;
        }
        // the last position has no next token inside this chunk: top-1/KLD only
        int32_t target = t + 1 < n ? ids[t + 1] : -1;
        if (target >= 0) ingot_metrics_add(&e->mt, lt, lb, e->n_vocab, target, e->scratch);
    }
    return INGOT_OK;
}

static void e2e_free(e2e_ctx *e) {
    ingot_free(e->buf.logits_a);
    ingot_free(e->buf.logits_b);
    ingot_free(e->buf.hidden_a);
    ingot_free(e->buf.hidden_b);
    ingot_free(e->trace);
    ingot_free(e->mt.kld);
    ingot_free(e->mt.dp);
    ingot_free(e->scratch);
    ingot_state_free(e->sb);
    ingot_state_free(e->st);
}

static ingot_status e2e_alloc(e2e_ctx *e, int n_tokens, ingot_pool *pool, ingot_err *err) {
    const ingot_model_config *cfg = ingot_model_get_config(e->test);
    e->n_vocab = cfg->n_vocab;
    e->n_embd = cfg->n_embd;
    e->n_layer = cfg->n_layer;
    size_t lv = (size_t)e->n_ctx * e->n_vocab, hv = (size_t)(e->n_layer + 1) * e->n_ctx * e->n_embd;
    e->buf.logits_a = ingot_malloc(lv * sizeof(float));
    e->buf.logits_b = ingot_malloc(lv * sizeof(float));
    e->buf.hidden_a = ingot_malloc(hv * sizeof(float));
    e->buf.hidden_b = ingot_malloc(hv * sizeof(float));
    e->trace = ingot_calloc((size_t)e->n_layer + 1, sizeof *e->trace);
    e->mt.cap = (size_t)n_tokens;
    e->mt.kld = ingot_malloc((size_t)n_tokens * sizeof(float));
    e->mt.dp = ingot_malloc((size_t)n_tokens * sizeof(float));
    e->scratch = ingot_malloc((size_t)e->n_vocab * 2 * sizeof(float));
    if (!e->buf.logits_a || !e->buf.logits_b || !e->buf.hidden_a || !e->buf.hidden_b || !e->trace || !e->mt.kld ||
        !e->mt.dp || !e->scratch)
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory for the end-to-end comparison");
    INGOT_FORWARD_IF_ERROR(ingot_state_create(e->test, e->n_ctx, e->n_ctx, pool, &e->st, err));
    if (e->base) INGOT_FORWARD_IF_ERROR(ingot_state_create(e->base, e->n_ctx, e->n_ctx, pool, &e->sb, err));
    return INGOT_OK;
}

static void e2e_report(e2e_ctx *e, ingot_verify_report *r, const char *base_name, bool with_trace) {
    ingot_metrics_summary s;
    ingot_metrics_summarize(&e->mt, &s);
    r->e2e_ran = true;
    snprintf(r->e2e_base, sizeof r->e2e_base, "%s", base_name);
    r->e2e_tokens = (int)e->mt.n_tokens;
    r->kld_mean = s.kld_mean;
    r->kld_p99 = s.kld_p99;
    r->kld_max = s.kld_max;
    r->top1 = s.same_top;
    r->ppl = s.ppl;
    r->ppl_base = s.ppl_base;
    r->delta_ppl = s.delta_ppl;
    r->rms_dp = s.rms_dp;
    r->max_abs_logit = e->max_abs;
    if (with_trace) {
        ingot_free(r->trace);
        r->n_trace = (size_t)e->n_layer + 1;
        r->trace = ingot_calloc(r->n_trace, sizeof *r->trace);
        if (!r->trace) r->n_trace = 0;
        for (size_t L = 0; L < r->n_trace; L++) {
            trace_acc *a = &e->trace[L];
            r->trace[L].cosine = a->n ? a->cos_sum / (double)a->n : 0;
            r->trace[L].sqnr_db = a->noise > 0 ? 10 * log10(a->sig / a->noise) : INFINITY;
        }
    }
}

static int choose_ctx(const ingot_model *m, const ingot_verify_opts *opts) {
    const ingot_model_config *cfg = ingot_model_get_config(m);
    int ctx = opts && opts->n_ctx > 0 ? opts->n_ctx : 512;
    if (cfg->max_pos > 0 && ctx > cfg->max_pos) ctx = cfg->max_pos;
    return ctx < 2 ? 2 : ctx;
}

static ingot_status e2e_against(const char *path, const char *src, const ingot_verify_opts *opts,
                                ingot_verify_report *r, ingot_err *err) {
    const char *dir = opts && opts->work_dir ? opts->work_dir : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/ingot-verify-%ld.ingot", dir, (long)getpid());
    ingot_convert_opts co;
    memset(&co, 0, sizeof co);
    co.src = src;
    co.dst = tmp;
    co.preset = "keep";
    co.n_threads = opts ? opts->n_threads : 0;
    co.force = true;
    co.command_line = "ingot verify --against (temporary keep conversion)";
    int slot = ingot_cleanup_register(tmp);
    ingot_status st = ingot_convert(&co, NULL, err);
    if (st != INGOT_OK) {
        ingot_err_prefix(err, "converting the source for the end-to-end run");
        ingot_cleanup_unregister(slot);
        return st;
    }
    ingot_model *base = NULL, *test = NULL;
    ingot_pool *pool = NULL;
    e2e_ctx e;
    memset(&e, 0, sizeof e);
    int32_t *ids = NULL;
    st = ingot_model_open(tmp, &base, err);
    if (st == INGOT_OK) st = ingot_model_open(path, &test, err);
    if (st == INGOT_OK) {
        const ingot_model_config *a = ingot_model_get_config(base), *b = ingot_model_get_config(test);
        if (a->n_vocab != b->n_vocab || a->n_embd != b->n_embd || a->n_layer != b->n_layer)
            st = ingot_err_set(err, INGOT_E_MISMATCH, "the file and the source describe different models");
    }
    if (st == INGOT_OK) st = ingot_pool_create(opts ? opts->n_threads : 0, &pool, err);
    int want = opts && opts->n_tokens > 0 ? opts->n_tokens : 512;
    if (st == INGOT_OK) {
        e.base = base;
        e.test = test;
        e.n_ctx = choose_ctx(test, opts);
        ids = ingot_malloc((size_t)want * sizeof *ids);
        if (!ids) st = ingot_err_set(err, INGOT_E_NOMEM, "out of memory for tokens");
    }
    if (st == INGOT_OK) st = make_tokens(test, opts, want, ids, &r->e2e_tokens_from_text, err);
    if (st == INGOT_OK) st = e2e_alloc(&e, want, pool, err);
    for (int off = 0; st == INGOT_OK && off < want; off += e.n_ctx) {
        int n = want - off < e.n_ctx ? want - off : e.n_ctx;
        if (n < 2) break;
        st = run_chunk(&e, ids + off, n, NULL, err);
    }
    if (st == INGOT_OK) e2e_report(&e, r, "source", true);
    e2e_free(&e);
    ingot_free(ids);
    ingot_pool_free(pool);
    ingot_model_close(base);
    ingot_model_close(test);
    unlink(tmp);
    ingot_cleanup_unregister(slot);
    return st;
}

ingot_status ingot_verify_against(const char *path, const char *src, const ingot_verify_opts *opts,
                                  ingot_verify_report *r, ingot_err *err) {
    if (!opts || !opts->skip_tensors) INGOT_FORWARD_IF_ERROR(verify_tensors_against(path, src, opts, r, err));
    if (!opts || !opts->skip_e2e) INGOT_FORWARD_IF_ERROR(e2e_against(path, src, opts, r, err));
    return INGOT_OK;
}

// ---- reference logits ---------------------------------------------------------
static ingot_status read_tokens_json(const char *path, int32_t **ids, int *n, ingot_err *err) {
    char *text = NULL;
    size_t len = 0;
    INGOT_FORWARD_IF_ERROR(ingot_file_read_all(path, 64u << 20, &text, &len, err));
    cJSON *j = cJSON_ParseWithLength(text, len);
    ingot_free(text);
    const cJSON *arr = j;
    if (cJSON_IsObject(j)) {
        arr = cJSON_GetObjectItemCaseSensitive(j, "input_ids");
        if (!arr) arr = cJSON_GetObjectItemCaseSensitive(j, "tokens");
        if (cJSON_IsArray(arr) && cJSON_IsArray(cJSON_GetArrayItem(arr, 0))) arr = cJSON_GetArrayItem(arr, 0);
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1) {
        cJSON_Delete(j);
        return ingot_err_set(err, INGOT_E_FORMAT, "%s: expected an array of token ids or {\"input_ids\": [...]}", path);
    }
    int k = cJSON_GetArraySize(arr);
    *ids = ingot_malloc((size_t)k * sizeof **ids);
    if (!*ids) {
        cJSON_Delete(j);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory reading %s", path);
    }
    for (int i = 0; i < k; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 2147483647.0) {
            cJSON_Delete(j);
            ingot_free(*ids);
            *ids = NULL;
            return ingot_err_set(err, INGOT_E_FORMAT, "%s: entry %d is not a token id", path, i);
        }
        (*ids)[i] = (int32_t)v->valuedouble;
    }
    *n = k;
    cJSON_Delete(j);
    return INGOT_OK;
}

ingot_status ingot_verify_reference_logits(const char *path, const char *dir, const ingot_verify_opts *opts,
                                           ingot_verify_report *r, ingot_err *err) {
    char p[4096];
    int32_t *ids = NULL;
    int n = 0;
    snprintf(p, sizeof p, "%s/tokens.json", dir);
    INGOT_FORWARD_IF_ERROR(read_tokens_json(p, &ids, &n, err));
    ingot_model *test = NULL;
    ingot_pool *pool = NULL;
    ingot_file_map lm = {0};
    e2e_ctx e;
    memset(&e, 0, sizeof e);
    ingot_status st = ingot_model_open(path, &test, err);
    if (st == INGOT_OK) st = ingot_pool_create(opts ? opts->n_threads : 0, &pool, err);
    if (st == INGOT_OK) {
        const ingot_model_config *cfg = ingot_model_get_config(test);
        for (int i = 0; i < n && st == INGOT_OK; i++)
            if (ids[i] >= cfg->n_vocab)
                st = ingot_err_set(err, INGOT_E_FORMAT, "%s: token %d is %d, beyond the vocabulary of %d", p, i,
                                   ids[i], cfg->n_vocab);
        snprintf(p, sizeof p, "%s/logits.f32", dir);
        if (st == INGOT_OK) st = ingot_file_map_open(p, &lm, err);
        if (st == INGOT_OK && lm.size != (size_t)n * cfg->n_vocab * sizeof(float))
            st = ingot_err_set(err, INGOT_E_FORMAT, "%s: %zu bytes, expected [%d, %d] float32 = %zu", p, lm.size, n,
                               cfg->n_vocab, (size_t)n * cfg->n_vocab * sizeof(float));
    }
    if (st == INGOT_OK) {
        e.test = test;
        e.n_ctx = n;
        st = e2e_alloc(&e, n, pool, err);
    }
    float *ref = NULL;
    if (st == INGOT_OK) {
        ref = ingot_malloc(lm.size);
        if (!ref) st = ingot_err_set(err, INGOT_E_NOMEM, "out of memory for reference logits");
        else memcpy(ref, lm.data, lm.size);
    }
    if (st == INGOT_OK) st = run_chunk(&e, ids, n, ref, err);
    if (st == INGOT_OK) e2e_report(&e, r, "reference", false);
    ingot_free(ref);
    e2e_free(&e);
    ingot_file_map_close(&lm);
    ingot_pool_free(pool);
    ingot_model_close(test);
    ingot_free(ids);
    return st;
}
