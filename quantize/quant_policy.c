// Per-tensor type policy: presets, REGEX=TYPE overrides, the block-size
// fallback chain, role detection from canonical names, and plan lines.
// The rules implemented here are the ones docs/QUANT.md documents; the
// mixes follow llama.cpp's llama_tensor_get_type (use_more_bits layers for
// attn_v / ffn_down in dense models, a Q6_K output head) without its
// `n_expert == 8` special cases, and the MoE recipes that keep attention,
// shared experts and dense layers above the routed experts (Unsloth dynamic
// quants, EXL3 -hq).
#include <ctype.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingot/quant_policy.h"

// ---- presets --------------------------------------------------------------

typedef enum preset_kind {
    PRESET_KEEP = 0,  // source type, bit for bit
    PRESET_FLOAT = 1, // one float type for every weight
    PRESET_QUANT = 2, // a mix of block types
} preset_kind;

typedef struct preset {
    const char *name;
    preset_kind kind;
    ingot_dtype base; // routed experts; bulk of a dense model
    ingot_dtype more; // dense models: attn_v-like and ffn_down on use_more_bits layers
    ingot_dtype hi;   // MoE models: attention, shared experts, dense FFN layers, first/last layer experts
    ingot_dtype head; // output.weight
    ingot_dtype embd; // token_embd.weight
    ingot_dtype engram_table;
    const char *summary;
} preset;

#define F32 INGOT_DTYPE_F32
#define F16 INGOT_DTYPE_F16
#define BF16 INGOT_DTYPE_BF16
#define Q8_0 INGOT_DTYPE_Q8_0
#define Q2K INGOT_DTYPE_Q2_K
#define Q3K INGOT_DTYPE_Q3_K
#define Q4K INGOT_DTYPE_Q4_K
#define Q5K INGOT_DTYPE_Q5_K
#define Q6K INGOT_DTYPE_Q6_K

static const preset presets[] = {
    {"keep", PRESET_KEEP, F32, F32, F32, F32, F32, F32, "every tensor in its source type, bit for bit"},
    {"f32", PRESET_FLOAT, F32, F32, F32, F32, F32, F32, "every tensor f32"},
    {"f16", PRESET_FLOAT, F16, F16, F16, F16, F16, F16, "weights f16; norms, routers, biases f32"},
    {"bf16", PRESET_FLOAT, BF16, BF16, BF16, BF16, BF16, BF16, "weights bf16; norms, routers, biases f32"},
    {"q8_0", PRESET_QUANT, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, "weights q8_0; norms, routers, biases f32"},
    {"q6_k", PRESET_QUANT, Q6K, Q6K, Q8_0, Q6K, Q6K, Q8_0,
     "q6_k; moe attention/shared/dense layers q8_0; engram tables q8_0"},
    {"q5_k_m", PRESET_QUANT, Q5K, Q6K, Q6K, Q6K, Q6K, Q8_0,
     "q5_k; q6_k head, embedding, attn_v/ffn_down on more-bits layers, moe attention/shared/dense"},
    {"q4_k_m", PRESET_QUANT, Q4K, Q6K, Q6K, Q6K, Q6K, Q8_0,
     "q4_k; q6_k head, embedding, attn_v/ffn_down on more-bits layers, moe attention/shared/dense"},
    {"q4_k_s", PRESET_QUANT, Q4K, Q5K, Q5K, Q6K, Q6K, Q8_0,
     "q4_k; q6_k head and embedding; q5_k attn_v/ffn_down on more-bits layers, moe attention/shared/dense"},
    {"q3_k_m", PRESET_QUANT, Q3K, Q4K, Q5K, Q6K, Q6K, Q8_0,
     "q3_k; q6_k head and embedding; q4_k attn_v/ffn_down on more-bits layers; q5_k moe attention/shared/dense"},
    {"q2_k", PRESET_QUANT, Q2K, Q3K, Q4K, Q6K, Q6K, Q8_0,
     "q2_k; q6_k head and embedding; q3_k attn_v/ffn_down on more-bits layers; q4_k moe attention/shared/dense"},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

size_t ingot_policy_n_presets(void) { return N_PRESETS; }
const char *ingot_policy_preset_name(size_t i) { return i < N_PRESETS ? presets[i].name : NULL; }
const char *ingot_policy_preset_summary(size_t i) { return i < N_PRESETS ? presets[i].summary : NULL; }

static const preset *preset_find(const char *name) {
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcasecmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

// ---- roles ----------------------------------------------------------------

static const char *const role_names[INGOT_POLICY_ROLE_COUNT] = {
    [INGOT_POLICY_ROLE_OTHER] = "other",
    [INGOT_POLICY_ROLE_TOKEN_EMBD] = "token embedding",
    [INGOT_POLICY_ROLE_OUTPUT] = "output head",
    [INGOT_POLICY_ROLE_ATTN] = "attention",
    [INGOT_POLICY_ROLE_NORM] = "norm",
    [INGOT_POLICY_ROLE_BIAS] = "bias",
    [INGOT_POLICY_ROLE_ROUTER] = "router",
    [INGOT_POLICY_ROLE_ROUTER_BIAS] = "routing bias",
    [INGOT_POLICY_ROLE_FFN_DENSE] = "dense ffn",
    [INGOT_POLICY_ROLE_FFN_SHARED_EXPERT] = "shared expert",
    [INGOT_POLICY_ROLE_FFN_EXPERT] = "routed expert",
    [INGOT_POLICY_ROLE_ENGRAM_TABLE] = "engram table",
    [INGOT_POLICY_ROLE_ENGRAM_OTHER] = "engram",
};

const char *ingot_policy_role_name(ingot_policy_role role) {
    return (int)role >= 0 && role < INGOT_POLICY_ROLE_COUNT ? role_names[role] : "?";
}

static bool ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

// The name's component after "blk.L." (or the whole name for globals).
static const char *name_local_part(const char *name) {
    if (strncmp(name, "blk.", 4) != 0) return name;
    const char *p = name + 4;
    while (isdigit((unsigned char)*p)) p++;
    return *p == '.' ? p + 1 : name;
}

ingot_policy_role ingot_policy_role_from_name(const char *name) {
    if (!name) return INGOT_POLICY_ROLE_OTHER;
    const char *local = name_local_part(name);
    if (strncmp(local, "exp_probs_b", 11) == 0) return INGOT_POLICY_ROLE_ROUTER_BIAS;
    if (ends_with(name, ".bias")) return INGOT_POLICY_ROLE_BIAS;
    if (strncmp(local, "ffn_gate_inp", 12) == 0) return INGOT_POLICY_ROLE_ROUTER;
    if (strstr(local, "norm")) return INGOT_POLICY_ROLE_NORM;
    if (strcmp(name, "token_embd.weight") == 0) return INGOT_POLICY_ROLE_TOKEN_EMBD;
    if (strcmp(name, "output.weight") == 0) return INGOT_POLICY_ROLE_OUTPUT;
    if (strncmp(local, "engram.", 7) == 0) {
        if (strstr(local, "table") || strstr(local, "embedding") || strstr(local, "embd"))
            return INGOT_POLICY_ROLE_ENGRAM_TABLE;
        return INGOT_POLICY_ROLE_ENGRAM_OTHER;
    }
    if (strncmp(local, "exp.", 4) == 0) return INGOT_POLICY_ROLE_FFN_EXPERT;
    if (strstr(local, "_shexp")) return INGOT_POLICY_ROLE_FFN_SHARED_EXPERT;
    if (strncmp(local, "attn_", 5) == 0) return INGOT_POLICY_ROLE_ATTN;
    if (strncmp(local, "ffn_", 4) == 0) return INGOT_POLICY_ROLE_FFN_DENSE;
    return INGOT_POLICY_ROLE_OTHER;
}

static int32_t layer_from_name(const char *name) {
    if (strncmp(name, "blk.", 4) != 0 || !isdigit((unsigned char)name[4])) return -1;
    long v = 0;
    const char *p = name + 4;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > INT32_MAX) return -1;
    }
    return *p == '.' ? (int32_t)v : -1;
}

ingot_status ingot_policy_tensor_init(ingot_policy_tensor *t, const char *name, uint32_t n_dims, const uint64_t *dims,
                                      ingot_dtype src_dtype, int32_t n_layer, bool moe_model, ingot_err *err) {
    memset(t, 0, sizeof *t);
    INGOT_FAIL_IF(!name, err, INGOT_E_ARG, "tensor description without a name");
    INGOT_FAIL_IF(n_dims > 4 || (n_dims > 0 && !dims), err, INGOT_E_ARG, "tensor '%s': rank %u, at most 4", name,
                  n_dims);
    t->name = name;
    t->role = ingot_policy_role_from_name(name);
    t->layer = layer_from_name(name);
    t->n_layer = n_layer;
    t->moe_model = moe_model;
    t->n_dims = n_dims;
    for (uint32_t i = 0; i < n_dims; i++) t->dims[i] = dims[i];
    t->src_dtype = src_dtype;
    t->weight = 1.0f;
    return INGOT_OK;
}

uint64_t ingot_policy_tensor_n_elements(const ingot_policy_tensor *t) {
    uint64_t n = 1;
    for (uint32_t i = 0; i < t->n_dims && i < 4; i++)
        if (!ingot_mul_u64(n, t->dims[i], &n)) return UINT64_MAX;
    return n;
}

// ---- types and the fallback chain -----------------------------------------

bool ingot_policy_type_storable(ingot_dtype t) {
    switch (t) {
    case INGOT_DTYPE_F32: case INGOT_DTYPE_F16: case INGOT_DTYPE_BF16: case INGOT_DTYPE_Q8_0:
    case INGOT_DTYPE_Q4_0: case INGOT_DTYPE_Q4_1: case INGOT_DTYPE_Q5_0: case INGOT_DTYPE_Q5_1:
    case INGOT_DTYPE_Q2_K: case INGOT_DTYPE_Q3_K: case INGOT_DTYPE_Q4_K: case INGOT_DTYPE_Q5_K:
    case INGOT_DTYPE_Q6_K: case INGOT_DTYPE_IQ4_NL: case INGOT_DTYPE_F8_E4M3_R32:
        return true;
    default:
        return false;
    }
}

// k-quants fall to the 32-element type of the nearest size at or above
// their own bits (llama.cpp tensor_type_fallback, with iq4_nl instead of
// q4_0 for the low types: same 4.5 bpw, lower error); 32-element types fall
// to q8_0 and then to a plain float that keeps the source exactly where it
// can.
ingot_dtype ingot_policy_fallback(ingot_dtype t, ingot_dtype src_dtype) {
    const ingot_dtype flt = src_dtype == INGOT_DTYPE_BF16 ? INGOT_DTYPE_BF16 : INGOT_DTYPE_F16;
    switch (t) {
    case INGOT_DTYPE_Q2_K: case INGOT_DTYPE_Q3_K: return INGOT_DTYPE_IQ4_NL;
    case INGOT_DTYPE_Q4_K: return INGOT_DTYPE_Q5_0;
    case INGOT_DTYPE_Q5_K: return INGOT_DTYPE_Q5_1;
    case INGOT_DTYPE_Q6_K: return INGOT_DTYPE_Q8_0;
    case INGOT_DTYPE_Q4_0: case INGOT_DTYPE_Q4_1: case INGOT_DTYPE_Q5_0: case INGOT_DTYPE_Q5_1:
    case INGOT_DTYPE_IQ4_NL: case INGOT_DTYPE_F8_E4M3_R32: return INGOT_DTYPE_Q8_0;
    case INGOT_DTYPE_Q8_0: return flt;
    default: return t;
    }
}

// True when `t` can store tensor `d` (row length a multiple of the block).
static bool type_fits(ingot_dtype t, const ingot_policy_tensor *d) {
    if (t == INGOT_DTYPE_F8_E4M3_B128) return d->n_dims == 2;
    const ingot_dtype_traits *tr = ingot_dtype_get(t);
    if (!tr) return false;
    if (tr->blck == 1) return true;
    return d->n_dims >= 1 && d->dims[d->n_dims - 1] % tr->blck == 0;
}

static uint64_t row_len(const ingot_policy_tensor *d) { return d->n_dims ? d->dims[d->n_dims - 1] : 1; }

static ingot_dtype keep_type(const ingot_policy_tensor *d) {
    if (d->src_block_scaled && d->src_dtype == INGOT_DTYPE_F8_E4M3) return INGOT_DTYPE_F8_E4M3_B128;
    return d->src_dtype;
}

// ---- policy object ----------------------------------------------------------

typedef struct override_rule {
    char *text;    // "REGEX=TYPE" as given
    regex_t re;
    bool keep;     // TYPE was "keep"
    ingot_dtype type;
} override_rule;

struct ingot_policy {
    const preset *pre;
    override_rule *rules;
    size_t n_rules;
};

void ingot_policy_free(ingot_policy *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_rules; i++) {
        regfree(&p->rules[i].re);
        ingot_free(p->rules[i].text);
    }
    ingot_free(p->rules);
    ingot_free(p);
}

const char *ingot_policy_preset(const ingot_policy *p) { return p->pre->name; }
size_t ingot_policy_n_overrides(const ingot_policy *p) { return p->n_rules; }

// Compile rule `i` (0-based) into r. On failure r owns nothing.
static ingot_status rule_compile(override_rule *r, const char *text, size_t i, ingot_err *err) {
    memset(r, 0, sizeof *r);
    const char *eq = strrchr(text, '=');
    INGOT_FAIL_IF(!eq, err, INGOT_E_ARG, "--type #%zu '%s': expected REGEX=TYPE", i + 1, text);
    INGOT_FAIL_IF(eq == text, err, INGOT_E_ARG, "--type #%zu '%s': empty regex", i + 1, text);
    const char *type = eq + 1;
    if (strcasecmp(type, "keep") == 0) {
        r->keep = true;
    } else {
        const int t = ingot_dtype_from_name(type);
        INGOT_FAIL_IF(t < 0, err, INGOT_E_ARG, "--type #%zu '%s': unknown type '%s'", i + 1, text, type);
        INGOT_FAIL_IF(!ingot_policy_type_storable((ingot_dtype)t), err, INGOT_E_ARG,
                      "--type #%zu '%s': type '%s' cannot store weights", i + 1, text, type);
        r->type = (ingot_dtype)t;
    }
    const size_t n = (size_t)(eq - text);
    char *pattern = ingot_malloc(n + 1);
    INGOT_FAIL_IF(!pattern, err, INGOT_E_NOMEM, "out of memory");
    memcpy(pattern, text, n);
    pattern[n] = 0;
    const int rc = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB);
    ingot_free(pattern);
    if (rc != 0) {
        char why[128];
        regerror(rc, &r->re, why, sizeof why);
        return ingot_err_set(err, INGOT_E_ARG, "--type #%zu '%s': bad regex: %s", i + 1, text, why);
    }
    r->text = ingot_strdup(text);
    if (!r->text) {
        regfree(&r->re);
        return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    }
    return INGOT_OK;
}

ingot_status ingot_policy_create(const char *preset_name, const char *const *overrides, size_t n_overrides,
                                 ingot_policy **out, ingot_err *err) {
    *out = NULL;
    INGOT_FAIL_IF(!preset_name, err, INGOT_E_ARG, "no preset given");
    const preset *pre = preset_find(preset_name);
    INGOT_FAIL_IF(!pre, err, INGOT_E_ARG,
                  "--quant '%s': unknown preset (keep, f32, f16, bf16, q8_0, q6_k, q5_k_m, q4_k_m, q4_k_s, "
                  "q3_k_m, q2_k)",
                  preset_name);
    INGOT_FAIL_IF(n_overrides && !overrides, err, INGOT_E_ARG, "overrides list is NULL");
    ingot_policy *p = ingot_calloc(1, sizeof *p);
    INGOT_FAIL_IF(!p, err, INGOT_E_NOMEM, "out of memory");
    p->pre = pre;
    if (n_overrides) {
        p->rules = ingot_calloc(n_overrides, sizeof *p->rules);
        if (!p->rules) {
            ingot_policy_free(p);
            return ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n_overrides; i++) {
        const ingot_status st = overrides[i] ? rule_compile(&p->rules[i], overrides[i], i, err)
                                             : ingot_err_set(err, INGOT_E_ARG, "--type #%zu is NULL", i + 1);
        if (st != INGOT_OK) {
            ingot_policy_free(p);
            return st;
        }
        p->n_rules++;
    }
    *out = p;
    return INGOT_OK;
}

// ---- choosing ---------------------------------------------------------------

// llama.cpp use_more_bits: first and last eighth of the layers and every
// third layer in between.
static bool use_more_bits(int32_t i, int32_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static bool is_edge_layer(const ingot_policy_tensor *d) {
    return d->layer == 0 || (d->n_layer > 0 && d->layer == d->n_layer - 1);
}

// attn_v-like tensors: llama.cpp treats fused qkv and MLA kv_b like attn_v.
static bool is_v_like(const char *local) {
    return strncmp(local, "attn_v.", 7) == 0 || strncmp(local, "attn_kv_b.", 10) == 0 ||
           strncmp(local, "attn_qkv.", 9) == 0;
}

// The preset's type for a quantizable tensor, with a short reason.
static ingot_dtype preset_type(const preset *pre, const ingot_policy_tensor *d, const char **why) {
    const char *local = name_local_part(d->name);
    const bool more = d->layer >= 0 && d->n_layer > 0 && use_more_bits(d->layer, d->n_layer);
    switch (d->role) {
    case INGOT_POLICY_ROLE_TOKEN_EMBD: *why = "token embedding"; return pre->embd;
    case INGOT_POLICY_ROLE_OUTPUT: *why = "output head"; return pre->head;
    case INGOT_POLICY_ROLE_ENGRAM_TABLE: *why = "engram table"; return pre->engram_table;
    case INGOT_POLICY_ROLE_FFN_EXPERT:
        if (is_edge_layer(d)) {
            *why = "routed expert, first/last layer";
            return pre->hi;
        }
        *why = "routed expert";
        return pre->base;
    case INGOT_POLICY_ROLE_FFN_SHARED_EXPERT: *why = "shared expert"; return pre->hi;
    case INGOT_POLICY_ROLE_ENGRAM_OTHER: *why = "engram projection"; return pre->hi;
    case INGOT_POLICY_ROLE_ATTN:
        if (d->moe_model) {
            *why = "attention (moe model)";
            return pre->hi;
        }
        if (is_v_like(local) && more) {
            *why = "attn_v-like, more-bits layer";
            return pre->more;
        }
        *why = "attention";
        return pre->base;
    case INGOT_POLICY_ROLE_FFN_DENSE:
        if (d->moe_model) {
            *why = "dense ffn layer (moe model)";
            return pre->hi;
        }
        if (strncmp(local, "ffn_down", 8) == 0 && more) {
            *why = "ffn_down, more-bits layer";
            return pre->more;
        }
        *why = "dense ffn";
        return pre->base;
    default: *why = "other weight"; return pre->hi;
    }
}

static bool role_fixed_f32(ingot_policy_role r) {
    return r == INGOT_POLICY_ROLE_NORM || r == INGOT_POLICY_ROLE_BIAS || r == INGOT_POLICY_ROLE_ROUTER ||
           r == INGOT_POLICY_ROLE_ROUTER_BIAS;
}

// Fixed decisions that neither overrides nor size targets change. Returns
// true and fills `c` when the tensor is fixed.
static bool choose_fixed(const preset *pre, const ingot_policy_tensor *d, ingot_policy_choice *c) {
    const ingot_dtype_traits *tr = ingot_dtype_get(d->src_dtype);
    if (tr && tr->is_int) {
        c->dtype = d->src_dtype;
        c->fixed = true;
        snprintf(c->reason, sizeof c->reason, "integer source keeps %s", tr->name);
        return true;
    }
    if (pre->kind == PRESET_KEEP) {
        c->dtype = keep_type(d);
        c->fixed = true;
        snprintf(c->reason, sizeof c->reason, "preset keep: source type");
        return true;
    }
    if (d->n_dims <= 1 || role_fixed_f32(d->role)) {
        c->dtype = INGOT_DTYPE_F32;
        c->fixed = true;
        snprintf(c->reason, sizeof c->reason, "fixed f32: %s", d->n_dims <= 1 ? "1-d tensor" : role_names[d->role]);
        return true;
    }
    return false;
}

static ingot_status check_tensor(const ingot_policy_tensor *d, ingot_err *err) {
    INGOT_FAIL_IF(!d || !d->name, err, INGOT_E_ARG, "tensor description without a name");
    INGOT_FAIL_IF(d->n_dims > 4, err, INGOT_E_ARG, "tensor '%s': rank %u, at most 4", d->name, d->n_dims);
    INGOT_FAIL_IF((int)d->role < 0 || d->role >= INGOT_POLICY_ROLE_COUNT, err, INGOT_E_ARG,
                  "tensor '%s': role %d out of range", d->name, (int)d->role);
    INGOT_FAIL_IF(!ingot_dtype_valid((int)d->src_dtype), err, INGOT_E_ARG, "tensor '%s': source dtype %d out of range",
                  d->name, (int)d->src_dtype);
    return INGOT_OK;
}

static ingot_status choice_bytes(const ingot_policy_tensor *d, ingot_policy_choice *c, ingot_err *err) {
    const ingot_status st = ingot_dtype_tensor_bytes(c->dtype, d->n_dims, d->dims, &c->bytes, err);
    if (st != INGOT_OK) {
        ingot_err_prefix(err, "tensor '%s'", d->name);
        ingot_err_where(err, NULL, d->name, -1);
    }
    return st;
}

// Walk the fallback chain from `want` until a type fits; note it in the reason.
static void apply_fallback(const ingot_policy_tensor *d, ingot_dtype want, ingot_policy_choice *c) {
    ingot_dtype t = want;
    while (!type_fits(t, d)) {
        const ingot_dtype next = ingot_policy_fallback(t, d->src_dtype);
        if (next == t) break;
        t = next;
    }
    c->dtype = t;
    if (t != want) {
        c->fallback = true;
        const size_t len = strlen(c->reason);
        snprintf(c->reason + len, sizeof c->reason - len, "; row %" PRIu64 " not a multiple of %u (%s) -> %s",
                 row_len(d), ingot_dtype_get(want)->blck, ingot_dtype_name(want), ingot_dtype_name(t));
    }
}

// First matching override, or -1.
static int32_t rule_match(const ingot_policy *p, const char *name) {
    for (size_t i = 0; i < p->n_rules; i++)
        if (regexec(&p->rules[i].re, name, 0, NULL, 0) == 0) return (int32_t)i;
    return -1;
}

ingot_status ingot_policy_choose(const ingot_policy *p, const ingot_policy_tensor *d, ingot_policy_choice *c,
                                 ingot_err *err) {
    memset(c, 0, sizeof *c);
    c->rule = -1;
    INGOT_FAIL_IF(!p, err, INGOT_E_ARG, "no policy");
    INGOT_FORWARD_IF_ERROR(check_tensor(d, err));
    if (choose_fixed(p->pre, d, c)) return choice_bytes(d, c, err);
    const int32_t k = rule_match(p, d->name);
    if (k >= 0) {
        const override_rule *r = &p->rules[k];
        const ingot_dtype want = r->keep ? keep_type(d) : r->type;
        if (!type_fits(want, d)) {
            c->rule = -1;
            ingot_err_where(err, NULL, d->name, -1);
            return ingot_err_set(err, INGOT_E_ARG,
                                 "tensor '%s': --type #%d '%s': row length %" PRIu64 " is not a multiple of the %s block",
                                 d->name, (int)k + 1, r->text, row_len(d), ingot_dtype_name(want));
        }
        c->rule = k;
        c->dtype = want;
        snprintf(c->reason, sizeof c->reason, "override #%d '%s'", (int)k + 1, r->text);
        return choice_bytes(d, c, err);
    }
    const char *why = "";
    const ingot_dtype want = p->pre->kind == PRESET_FLOAT ? p->pre->base : preset_type(p->pre, d, &why);
    if (p->pre->kind == PRESET_FLOAT) why = ingot_policy_role_name(d->role);
    snprintf(c->reason, sizeof c->reason, "preset %s: %s", p->pre->name, why);
    apply_fallback(d, want, c);
    return choice_bytes(d, c, err);
}

// ---- plan lines -------------------------------------------------------------

void ingot_policy_totals_add(ingot_policy_totals *tot, const ingot_policy_tensor *t, const ingot_policy_choice *c) {
    tot->n_tensors++;
    tot->n_elements += ingot_policy_tensor_n_elements(t);
    tot->bytes += c->bytes;
    if (ingot_dtype_valid((int)c->dtype)) tot->bytes_by_type[c->dtype] += c->bytes;
}

static double bpw_of(uint64_t bytes, uint64_t n) { return n ? 8.0 * (double)bytes / (double)n : 0.0; }

size_t ingot_policy_plan_line(const ingot_policy_tensor *t, const ingot_policy_choice *c, char *dst, size_t dst_cap) {
    char shape[96] = "[";
    size_t len = 1;
    for (uint32_t i = 0; i < t->n_dims && i < 4; i++)
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%" PRIu64, i ? ", " : "", t->dims[i]);
    snprintf(shape + len, sizeof shape - len, "]");
    const int n = snprintf(dst, dst_cap, "%-40s %-22s %6s -> %-12s %10.2f MiB %6.2f bpw  %s", t->name, shape,
                           ingot_dtype_name(t->src_dtype), ingot_dtype_name(c->dtype),
                           (double)c->bytes / (1024.0 * 1024.0), bpw_of(c->bytes, ingot_policy_tensor_n_elements(t)),
                           c->reason);
    return n < 0 ? 0 : (size_t)n;
}

size_t ingot_policy_totals_line(const ingot_policy_totals *tot, char *dst, size_t dst_cap) {
    char buf[1024];
    int len = snprintf(buf, sizeof buf, "total: %" PRIu64 " tensors, %" PRIu64 " elements, %.2f GiB, %.2f bpw",
                       tot->n_tensors, tot->n_elements, (double)tot->bytes / (1024.0 * 1024.0 * 1024.0),
                       bpw_of(tot->bytes, tot->n_elements));
    const char *sep = " (";
    for (int t = 0; t < INGOT_DTYPE_COUNT && len > 0 && (size_t)len < sizeof buf; t++) {
        if (!tot->bytes_by_type[t]) continue;
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s %.2f GiB", sep, ingot_dtype_name((ingot_dtype)t),
                        (double)tot->bytes_by_type[t] / (1024.0 * 1024.0 * 1024.0));
        sep = ", ";
    }
    if (len > 0 && (size_t)len < sizeof buf && sep[0] == ',') len += snprintf(buf + len, sizeof buf - (size_t)len, ")");
    const int n = snprintf(dst, dst_cap, "%s", buf);
    return n < 0 ? 0 : (size_t)n;
}
