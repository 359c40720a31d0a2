// The tensors an architecture needs, derived independently from the
// metadata (docs/MODEL.md), so verify can say which one is missing or
// misshapen without trusting the file's own index.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verify_internal.h"

typedef struct expect_list {
    verify_expect *v;
    size_t n, cap;
    bool oom;
} expect_list;

static void want(expect_list *l, bool weight, uint32_t n_dims, uint64_t d0, uint64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void want(expect_list *l, bool weight, uint32_t n_dims, uint64_t d0, uint64_t d1, const char *fmt, ...) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        verify_expect *v = ingot_realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    verify_expect *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    e->weight = weight;
    e->n_dims = n_dims;
    e->dims[0] = d0;
    e->dims[1] = d1;
}

static double num(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? 1 : 0;
    return dflt;
}

static bool flag(const cJSON *o, const char *k) { return num(o, k, 0) != 0; }

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

size_t verify_expected_tensors(const cJSON *meta, ingot_verify_report *r, verify_expect **out) {
    *out = NULL;
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(meta, "hparams");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(meta, "layers");
    if (!cJSON_IsObject(hp)) {
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "metadata has no 'hparams' object");
        return 0;
    }
    uint64_t n_vocab = (uint64_t)num(hp, "n_vocab", 0), n_embd = (uint64_t)num(hp, "n_embd", 0);
    int64_t n_layer = (int64_t)num(hp, "n_layer", 0);
    uint64_t n_head = (uint64_t)num(hp, "n_head", 0), n_head_kv = (uint64_t)num(hp, "n_head_kv", (double)n_head);
    uint64_t head_dim = (uint64_t)num(hp, "head_dim", n_head ? (double)(n_embd / n_head) : 0);
    uint64_t n_ff = (uint64_t)num(hp, "n_ff", 0);
    if (!n_vocab || !n_embd || n_layer <= 0 || n_layer > 100000 || !n_head) {
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1,
                           "metadata hparams are incomplete (n_vocab, n_embd, n_layer, n_head needed)");
        return 0;
    }
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) != n_layer)
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "metadata 'layers' has %d entries, n_layer is %lld",
                           cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : -1, (long long)n_layer);
    const cJSON *mla = cJSON_GetObjectItemCaseSensitive(hp, "mla");
    const cJSON *moe = cJSON_GetObjectItemCaseSensitive(hp, "moe");
    if (!cJSON_IsObject(mla)) mla = NULL;
    if (!cJSON_IsObject(moe)) moe = NULL;
    const cJSON *qkn = cJSON_GetObjectItemCaseSensitive(hp, "attn_qk_norm");
    bool qk_full = cJSON_IsString(qkn) && strcmp(qkn->valuestring, "full") == 0;
    bool qk_head = !qk_full && (cJSON_IsTrue(qkn) || (cJSON_IsString(qkn) && strcmp(qkn->valuestring, "head") == 0) ||
                                (cJSON_IsNumber(qkn) && qkn->valuedouble == 1));
    if (cJSON_IsNumber(qkn) && qkn->valuedouble == 2) qk_full = true;
    bool qkv_bias = flag(hp, "attn_qkv_bias"), out_bias = flag(hp, "attn_out_bias");

    expect_list l = {0};
    want(&l, true, 2, n_vocab, n_embd, "token_embd.weight");
    want(&l, false, 1, n_embd, 0, "output_norm.weight");
    if (!flag(hp, "tie_embeddings")) want(&l, true, 2, n_vocab, n_embd, "output.weight");
    for (int64_t L = 0; L < n_layer; L++) {
        const cJSON *ly = cJSON_IsArray(layers) ? cJSON_GetArrayItem(layers, (int)L) : NULL;
        want(&l, false, 1, n_embd, 0, "blk.%lld.attn_norm.weight", (long long)L);
        want(&l, false, 1, n_embd, 0, "blk.%lld.ffn_norm.weight", (long long)L);
        if (mla) {
            uint64_t q_lora = (uint64_t)num(mla, "q_lora_rank", 0), kv_lora = (uint64_t)num(mla, "kv_lora_rank", 0);
            uint64_t nope = (uint64_t)num(mla, "qk_nope_head_dim", 0), rope = (uint64_t)num(mla, "qk_rope_head_dim", 0);
            uint64_t vd = (uint64_t)num(mla, "v_head_dim", 0);
            if (q_lora) {
                want(&l, true, 2, q_lora, n_embd, "blk.%lld.attn_q_a.weight", (long long)L);
                want(&l, false, 1, q_lora, 0, "blk.%lld.attn_q_a_norm.weight", (long long)L);
                want(&l, true, 2, n_head * (nope + rope), q_lora, "blk.%lld.attn_q_b.weight", (long long)L);
            } else {
                want(&l, true, 2, n_head * (nope + rope), n_embd, "blk.%lld.attn_q.weight", (long long)L);
            }
            want(&l, true, 2, kv_lora + rope, n_embd, "blk.%lld.attn_kv_a_mqa.weight", (long long)L);
            want(&l, false, 1, kv_lora, 0, "blk.%lld.attn_kv_a_norm.weight", (long long)L);
            want(&l, true, 2, n_head * (nope + vd), kv_lora, "blk.%lld.attn_kv_b.weight", (long long)L);
            want(&l, true, 2, n_embd, n_head * vd, "blk.%lld.attn_output.weight", (long long)L);
        } else {
            uint64_t nq = n_head * head_dim, nkv = n_head_kv * head_dim;
            want(&l, true, 2, nq, n_embd, "blk.%lld.attn_q.weight", (long long)L);
            want(&l, true, 2, nkv, n_embd, "blk.%lld.attn_k.weight", (long long)L);
            want(&l, true, 2, nkv, n_embd, "blk.%lld.attn_v.weight", (long long)L);
            want(&l, true, 2, n_embd, nq, "blk.%lld.attn_output.weight", (long long)L);
            if (qkv_bias) {
                want(&l, false, 1, nq, 0, "blk.%lld.attn_q.bias", (long long)L);
                want(&l, false, 1, nkv, 0, "blk.%lld.attn_k.bias", (long long)L);
                want(&l, false, 1, nkv, 0, "blk.%lld.attn_v.bias", (long long)L);
            }
            if (out_bias) want(&l, false, 1, n_embd, 0, "blk.%lld.attn_output.bias", (long long)L);
            if (qk_head || qk_full) {
                want(&l, false, 1, qk_full ? nq : head_dim, 0, "blk.%lld.attn_q_norm.weight", (long long)L);
                want(&l, false, 1, qk_full ? nkv : head_dim, 0, "blk.%lld.attn_k_norm.weight", (long long)L);
            }
        }
        const char *ffn = str(ly, "ffn");
        bool is_moe = moe && ffn && strcmp(ffn, "moe") == 0;
        if (!is_moe) {
            want(&l, true, 2, n_ff, n_embd, "blk.%lld.ffn_gate.weight", (long long)L);
            want(&l, true, 2, n_ff, n_embd, "blk.%lld.ffn_up.weight", (long long)L);
            want(&l, true, 2, n_embd, n_ff, "blk.%lld.ffn_down.weight", (long long)L);
            continue;
        }
        uint64_t n_expert = (uint64_t)num(moe, "n_expert", 0), n_ff_exp = (uint64_t)num(moe, "n_ff_exp", 0);
        uint64_t n_shexp = (uint64_t)num(moe, "n_shared_expert", 0), n_ff_shexp = (uint64_t)num(moe, "n_ff_shexp", 0);
        if (n_expert > 1u << 20) {
            verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "metadata n_expert %llu is absurd",
                               (unsigned long long)n_expert);
            break;
        }
        want(&l, true, 2, n_expert, n_embd, "blk.%lld.ffn_gate_inp.weight", (long long)L);
        const char *method = str(moe, "topk_method");
        if (method && strcmp(method, "noaux_tc") == 0)
            want(&l, false, 1, n_expert, 0, "blk.%lld.exp_probs_b.bias", (long long)L);
        for (uint64_t e = 0; e < n_expert; e++) {
            want(&l, true, 2, n_ff_exp, n_embd, "blk.%lld.exp.%llu.ffn_gate.weight", (long long)L, (unsigned long long)e);
            want(&l, true, 2, n_ff_exp, n_embd, "blk.%lld.exp.%llu.ffn_up.weight", (long long)L, (unsigned long long)e);
            want(&l, true, 2, n_embd, n_ff_exp, "blk.%lld.exp.%llu.ffn_down.weight", (long long)L, (unsigned long long)e);
        }
        if (n_shexp > 0 && n_ff_shexp > 0) {
            want(&l, true, 2, n_ff_shexp, n_embd, "blk.%lld.ffn_gate_shexp.weight", (long long)L);
            want(&l, true, 2, n_ff_shexp, n_embd, "blk.%lld.ffn_up_shexp.weight", (long long)L);
            want(&l, true, 2, n_embd, n_ff_shexp, "blk.%lld.ffn_down_shexp.weight", (long long)L);
        }
        if (flag(moe, "shared_expert_gate"))
            want(&l, true, 2, 1, n_embd, "blk.%lld.ffn_gate_inp_shexp.weight", (long long)L);
    }
    if (l.oom) verify_add_problem(r, INGOT_E_NOMEM, NULL, -1, "out of memory listing the expected tensors");
    *out = l.v;
    return l.n;
}
