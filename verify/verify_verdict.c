// The verdict: figures against thresholds chosen by the file's quantization
// preset (docs/VERIFY.md explains each row), and the JSON report.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "verify_internal.h"

// Mean KL-divergence ceiling and top-1 agreement floor per preset. The field's
// measurements (llama.cpp on Llama-3-8B, docs/VERIFY.md): Q8_0 KLD 0.0014 /
// top-1 97.7 %, Q6_K 0.0055 / 96.0 %, Q4_K_M 0.031 / 91.9 %, Q3_K_M 0.10,
// Q2_K 0.45 / 71.1 %. Ceilings sit about 4–7× above those means so a
// healthy conversion of any model passes while a file one grade worse fails.
typedef struct threshold_row {
    const char *preset;
    double kld, top1;
} threshold_row;

static const threshold_row k_rows[] = {
    {"keep", 1e-6, 0.999}, {"f32", 1e-6, 0.999},  {"f16", 2e-3, 0.98},    {"bf16", 2e-3, 0.98},
    {"q8_0", 0.01, 0.94},  {"q6_k", 0.02, 0.92},  {"q5_k_m", 0.04, 0.90}, {"q4_k_m", 0.12, 0.85},
    {"q4_k_s", 0.15, 0.83}, {"q3_k_m", 0.35, 0.72}, {"q2_k", 1.0, 0.55},
};

bool ingot_verify_thresholds(const char *preset, double *kld, double *top1) {
    for (size_t i = 0; i < sizeof k_rows / sizeof *k_rows; i++)
        if (preset && strcasecmp(preset, k_rows[i].preset) == 0) {
            *kld = k_rows[i].kld;
            *top1 = k_rows[i].top1;
            return true;
        }
    const threshold_row *last = &k_rows[sizeof k_rows / sizeof *k_rows - 1];
    *kld = last->kld;
    *top1 = last->top1;
    return false;
}

void ingot_verify_verdict(ingot_verify_report *r, const ingot_verify_opts *opts) {
    r->verdict_ran = true;
    double kld, top1;
    ingot_verify_thresholds(r->preset[0] ? r->preset : NULL, &kld, &top1);
    if (opts && opts->threshold_kld >= 0) kld = opts->threshold_kld;
    if (opts && opts->threshold_top1 >= 0) top1 = opts->threshold_top1;
    r->threshold_kld = kld;
    r->threshold_top1 = top1;
    r->pass = true;
    r->reason[0] = 0;
    size_t used = 0;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        r->pass = false;                                                                           \
        if (used < sizeof r->reason)                                                               \
            used += (size_t)snprintf(r->reason + used, sizeof r->reason - used, "%s", used ? "; " : ""); \
        if (used < sizeof r->reason) used += (size_t)snprintf(r->reason + used, sizeof r->reason - used, __VA_ARGS__); \
    } while (0)
    if (r->n_problems) FAIL("%zu structural problem%s", r->n_problems, r->n_problems == 1 ? "" : "s");
    if (r->tensors_ran && strcasecmp(r->preset, "keep") == 0 && r->n_bit_exact < r->n_cmp)
        FAIL("%zu of %zu tensors differ from the source under keep", r->n_cmp - r->n_bit_exact, r->n_cmp);
    if (r->e2e_ran) {
        if (!(r->kld_mean <= kld)) FAIL("mean KLD %.6g > %.6g", r->kld_mean, kld);
        if (!(r->top1 >= top1)) FAIL("top-1 agreement %.2f%% < %.2f%%", 100 * r->top1, 100 * top1);
    }
#undef FAIL
    if (r->pass) snprintf(r->reason, sizeof r->reason, "all checks within thresholds");
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

char *ingot_verify_report_json(const ingot_verify_report *r) {
    cJSON *j = cJSON_CreateObject();
    if (r->structure_ran) {
        cJSON *s = cJSON_AddObjectToObject(j, "structure");
        cJSON_AddBoolToObject(s, "readable", r->readable);
        cJSON_AddStringToObject(s, "arch", r->arch);
        cJSON_AddStringToObject(s, "preset", r->preset);
        cJSON_AddNumberToObject(s, "tensors", (double)r->n_tensors);
        cJSON_AddNumberToObject(s, "bytes_hashed", (double)r->bytes_hashed);
        cJSON_AddItemToObject(s, "hash_gb_per_s",
                              num_or_null(r->hash_seconds > 0 ? r->bytes_hashed / r->hash_seconds / 1e9 : NAN));
    }
    cJSON *probs = cJSON_AddArrayToObject(j, "problems");
    for (size_t i = 0; i < r->n_problems && i < r->cap_problems; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "status", ingot_status_name(r->problems[i].code));
        if (r->problems[i].tensor[0]) cJSON_AddStringToObject(p, "tensor", r->problems[i].tensor);
        if (r->problems[i].off >= 0) cJSON_AddNumberToObject(p, "offset", (double)r->problems[i].off);
        cJSON_AddStringToObject(p, "message", r->problems[i].msg);
        cJSON_AddItemToArray(probs, p);
    }
    if (r->tensors_ran) {
        cJSON *t = cJSON_AddObjectToObject(j, "tensors");
        cJSON_AddNumberToObject(t, "compared", (double)r->n_cmp);
        cJSON_AddNumberToObject(t, "bit_exact", (double)r->n_bit_exact);
        cJSON *arr = cJSON_AddArrayToObject(t, "by_sqnr");
        for (size_t i = 0; i < r->n_cmp; i++) {
            const ingot_verify_tensor_cmp *c = &r->cmp[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", c->name);
            cJSON_AddStringToObject(o, "type", ingot_dtype_name(c->type));
            cJSON_AddStringToObject(o, "source_type", ingot_dtype_name(c->src_type));
            cJSON_AddBoolToObject(o, "bit_exact", c->bit_exact);
            cJSON_AddItemToObject(o, "rmse", num_or_null(c->rmse));
            cJSON_AddItemToObject(o, "max_abs", num_or_null(c->max_abs));
            cJSON_AddItemToObject(o, "cosine", num_or_null(c->cosine));
            cJSON_AddItemToObject(o, "sqnr_db", num_or_null(c->sqnr_db));
            cJSON_AddItemToArray(arr, o);
        }
    }
    if (r->e2e_ran) {
        cJSON *e = cJSON_AddObjectToObject(j, "end_to_end");
        cJSON_AddStringToObject(e, "base", r->e2e_base);
        cJSON_AddNumberToObject(e, "positions", r->e2e_tokens);
        cJSON_AddBoolToObject(e, "tokens_from_text", r->e2e_tokens_from_text);
        cJSON_AddItemToObject(e, "kld_mean", num_or_null(r->kld_mean));
        cJSON_AddItemToObject(e, "kld_p99", num_or_null(r->kld_p99));
        cJSON_AddItemToObject(e, "kld_max", num_or_null(r->kld_max));
        cJSON_AddItemToObject(e, "top1_agreement", num_or_null(r->top1));
        cJSON_AddItemToObject(e, "ppl", num_or_null(r->ppl));
        cJSON_AddItemToObject(e, "ppl_base", num_or_null(r->ppl_base));
        cJSON_AddItemToObject(e, "delta_ppl", num_or_null(r->delta_ppl));
        cJSON_AddItemToObject(e, "rms_delta_p", num_or_null(r->rms_dp));
        cJSON_AddItemToObject(e, "max_abs_logit_diff", num_or_null(r->max_abs_logit));
        cJSON *tr = cJSON_AddArrayToObject(e, "layers");
        for (size_t i = 0; i < r->n_trace; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", (double)i);
            cJSON_AddItemToObject(o, "cosine", num_or_null(r->trace[i].cosine));
            cJSON_AddItemToObject(o, "sqnr_db", num_or_null(r->trace[i].sqnr_db));
            cJSON_AddItemToArray(tr, o);
        }
    }
    if (r->verdict_ran) {
        cJSON *v = cJSON_AddObjectToObject(j, "verdict");
        cJSON_AddBoolToObject(v, "pass", r->pass);
        cJSON_AddNumberToObject(v, "threshold_kld", r->threshold_kld);
        cJSON_AddNumberToObject(v, "threshold_top1", r->threshold_top1);
        cJSON_AddStringToObject(v, "reason", r->reason);
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return NULL;
    char *out = ingot_strdup(s);
    cJSON_free(s);
    return out;
}
