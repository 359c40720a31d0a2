// quantize/ type policy: presets per role on synthetic dense and MoE model
// descriptions (expected types are the tables of docs/QUANT.md), expert-count
// independence, overrides, block fallback, size-targeted allocation and
// importance-matrix files.
#include <inttypes.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/quant_policy.h"
#include "ingot/quantize.h"
#include "ingot_test.h"

#define Q(x) INGOT_DTYPE_##x

// ---- helpers ----------------------------------------------------------------

// A tensor with a name kept in static storage (tests are single threaded).
static ingot_policy_tensor mk(const char *name, uint64_t rows, uint64_t cols, bool moe) {
    static char names[4096][64];
    static size_t next;
    char *s = names[next++ % 4096];
    snprintf(s, 64, "%s", name);
    ingot_policy_tensor t;
    const uint64_t dims[2] = {rows, cols};
    ingot_policy_tensor_init(&t, s, cols ? 2 : 1, cols ? dims : &rows, Q(BF16), 8, moe, NULL);
    return t;
}

static ingot_dtype pick(const ingot_policy *p, ingot_policy_tensor t) {
    ingot_policy_choice c;
    ingot_err err = {0};
    if (ingot_policy_choose(p, &t, &c, &err) != INGOT_OK) {
        fprintf(stderr, "choose %s: %s\n", t.name, err.msg);
        return (ingot_dtype)-1;
    }
    return c.dtype;
}

static ingot_policy *policy(const char *preset, const char *const *rules, size_t n) {
    ingot_policy *p = NULL;
    ingot_err err = {0};
    if (ingot_policy_create(preset, rules, n, &p, &err) != INGOT_OK) fprintf(stderr, "create: %s\n", err.msg);
    return p;
}

// Expected types per role, as documented in docs/QUANT.md.
typedef struct preset_row {
    const char *name;
    ingot_dtype expert, expert_edge, moe_hi, dense_base, dense_more, head, embd, engram;
} preset_row;

static const preset_row preset_rows[] = {
    {"f32", Q(F32), Q(F32), Q(F32), Q(F32), Q(F32), Q(F32), Q(F32), Q(F32)},
    {"f16", Q(F16), Q(F16), Q(F16), Q(F16), Q(F16), Q(F16), Q(F16), Q(F16)},
    {"bf16", Q(BF16), Q(BF16), Q(BF16), Q(BF16), Q(BF16), Q(BF16), Q(BF16), Q(BF16)},
    {"q8_0", Q(Q8_0), Q(Q8_0), Q(Q8_0), Q(Q8_0), Q(Q8_0), Q(Q8_0), Q(Q8_0), Q(Q8_0)},
    {"q6_k", Q(Q6_K), Q(Q8_0), Q(Q8_0), Q(Q6_K), Q(Q6_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
    {"q5_k_m", Q(Q5_K), Q(Q6_K), Q(Q6_K), Q(Q5_K), Q(Q6_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
    {"q4_k_m", Q(Q4_K), Q(Q6_K), Q(Q6_K), Q(Q4_K), Q(Q6_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
    {"q4_k_s", Q(Q4_K), Q(Q5_K), Q(Q5_K), Q(Q4_K), Q(Q5_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
    {"q3_k_m", Q(Q3_K), Q(Q5_K), Q(Q5_K), Q(Q3_K), Q(Q4_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
    {"q2_k", Q(Q2_K), Q(Q4_K), Q(Q4_K), Q(Q2_K), Q(Q3_K), Q(Q6_K), Q(Q6_K), Q(Q8_0)},
};

#define CHECK_TYPE(p, t, want)                                                                     \
    do {                                                                                           \
        ingot_policy_tensor t_ = (t);                                                              \
        const ingot_dtype got_ = pick((p), t_);                                                    \
        if (got_ != (want))                                                                        \
            INGOT_FAILF("%s: %s got %s, want %s", ingot_policy_preset(p), t_.name,                 \
                        ingot_dtype_name(got_), ingot_dtype_name(want));                           \
    } while (0)

// ---- presets ------------------------------------------------------------------

static int test_policy_role_from_name(void) {
    static const struct {
        const char *name;
        ingot_policy_role role;
    } cases[] = {
        {"token_embd.weight", INGOT_POLICY_ROLE_TOKEN_EMBD},
        {"output.weight", INGOT_POLICY_ROLE_OUTPUT},
        {"output_norm.weight", INGOT_POLICY_ROLE_NORM},
        {"blk.3.attn_q.weight", INGOT_POLICY_ROLE_ATTN},
        {"blk.3.attn_q.bias", INGOT_POLICY_ROLE_BIAS},
        {"blk.3.attn_kv_a_norm.weight", INGOT_POLICY_ROLE_NORM},
        {"blk.3.attn_kv_b.weight", INGOT_POLICY_ROLE_ATTN},
        {"blk.3.ffn_gate_inp.weight", INGOT_POLICY_ROLE_ROUTER},
        {"blk.3.ffn_gate_inp_shexp.weight", INGOT_POLICY_ROLE_ROUTER},
        {"blk.3.exp_probs_b.bias", INGOT_POLICY_ROLE_ROUTER_BIAS},
        {"blk.3.exp.7.ffn_up.weight", INGOT_POLICY_ROLE_FFN_EXPERT},
        {"blk.3.ffn_down_shexp.weight", INGOT_POLICY_ROLE_FFN_SHARED_EXPERT},
        {"blk.0.ffn_down.weight", INGOT_POLICY_ROLE_FFN_DENSE},
        {"blk.1.engram.embedding.weight", INGOT_POLICY_ROLE_ENGRAM_TABLE},
        {"blk.1.engram.table.weight", INGOT_POLICY_ROLE_ENGRAM_TABLE},
        {"blk.1.engram.table", INGOT_POLICY_ROLE_ENGRAM_TABLE},
        {"blk.1.engram.key.0.bias", INGOT_POLICY_ROLE_BIAS},
        {"blk.1.engram.value_proj.weight", INGOT_POLICY_ROLE_ENGRAM_OTHER},
        {"blk.1.engram.norm1.0.weight", INGOT_POLICY_ROLE_NORM},
        {"rope_freqs", INGOT_POLICY_ROLE_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_MSG(ingot_policy_role_from_name(cases[i].name) == cases[i].role, "%s -> %s", cases[i].name,
                  ingot_policy_role_name(ingot_policy_role_from_name(cases[i].name)));
    ingot_policy_tensor t;
    const uint64_t dims[2] = {16, 256};
    CHECK_OK(ingot_policy_tensor_init(&t, "blk.12.exp.3.ffn_up.weight", 2, dims, Q(BF16), 24, true, NULL), NULL);
    CHECK_EQ_INT(t.layer, 12);
    ingot_err err = {0};
    CHECK_STATUS(ingot_policy_tensor_init(&t, "x", 5, dims, Q(BF16), 24, true, &err), INGOT_E_ARG, &err);
    return 0;
}

// Every preset's choice for every role of a MoE model (8 layers, layer 0
// dense as in DeepSeek) and of a dense model.
static int test_policy_preset_roles(void) {
    for (size_t i = 0; i < sizeof preset_rows / sizeof *preset_rows; i++) {
        const preset_row *r = &preset_rows[i];
        ingot_policy *p = policy(r->name, NULL, 0);
        CHECK(p);
        // MoE model
        CHECK_TYPE(p, mk("blk.3.exp.5.ffn_up.weight", 64, 256, true), r->expert);
        CHECK_TYPE(p, mk("blk.3.exp.5.ffn_down.weight", 256, 64 * 4, true), r->expert);
        CHECK_TYPE(p, mk("blk.1.exp.0.ffn_gate.weight", 64, 256, true), r->expert);
        CHECK_TYPE(p, mk("blk.7.exp.5.ffn_up.weight", 64, 256, true), r->expert_edge);
        CHECK_TYPE(p, mk("blk.3.attn_q.weight", 256, 256, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.3.attn_v.weight", 256, 256, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.3.attn_output.weight", 256, 256, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.3.ffn_up_shexp.weight", 512, 256, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.0.ffn_down.weight", 256, 512, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.1.engram.value_proj.weight", 256, 256, true), r->moe_hi);
        CHECK_TYPE(p, mk("blk.1.engram.embedding.weight", 4096, 256, true), r->engram);
        CHECK_TYPE(p, mk("token_embd.weight", 1000, 256, true), r->embd);
        CHECK_TYPE(p, mk("output.weight", 1000, 256, true), r->head);
        CHECK_TYPE(p, mk("blk.3.ffn_gate_inp.weight", 64, 256, true), Q(F32));
        CHECK_TYPE(p, mk("blk.3.ffn_gate_inp_shexp.weight", 1, 256, true), Q(F32));
        CHECK_TYPE(p, mk("blk.3.exp_probs_b.bias", 64, 0, true), Q(F32));
        CHECK_TYPE(p, mk("blk.3.attn_norm.weight", 256, 0, true), Q(F32));
        CHECK_TYPE(p, mk("output_norm.weight", 256, 0, true), Q(F32));
        // dense model, 8 layers: use_more_bits = {0, 3, 6, 7}
        CHECK_TYPE(p, mk("blk.2.attn_q.weight", 256, 256, false), r->dense_base);
        CHECK_TYPE(p, mk("blk.0.attn_output.weight", 256, 256, false), r->dense_base);
        CHECK_TYPE(p, mk("blk.0.attn_v.weight", 64, 256, false), r->dense_more);
        CHECK_TYPE(p, mk("blk.3.attn_v.weight", 64, 256, false), r->dense_more);
        CHECK_TYPE(p, mk("blk.2.attn_v.weight", 64, 256, false), r->dense_base);
        CHECK_TYPE(p, mk("blk.6.ffn_down.weight", 256, 512, false), r->dense_more);
        CHECK_TYPE(p, mk("blk.7.ffn_down.weight", 256, 512, false), r->dense_more);
        CHECK_TYPE(p, mk("blk.4.ffn_down.weight", 256, 512, false), r->dense_base);
        CHECK_TYPE(p, mk("blk.7.ffn_up.weight", 512, 256, false), r->dense_base);
        CHECK_TYPE(p, mk("token_embd.weight", 1000, 256, false), r->embd);
        CHECK_TYPE(p, mk("output.weight", 1000, 256, false), r->head);
        CHECK_TYPE(p, mk("blk.2.attn_q.bias", 256, 0, false), Q(F32));
        ingot_policy_free(p);
    }
    return 0;
}

// keep: source types bit for bit, FP8 with block scales as f8_e4m3_b128.
static int test_policy_preset_keep(void) {
    ingot_policy *p = policy("keep", NULL, 0);
    CHECK(p);
    ingot_policy_tensor t = mk("blk.3.exp.5.ffn_up.weight", 64, 256, true);
    CHECK_TYPE(p, t, Q(BF16));
    t.src_dtype = Q(F8_E4M3);
    t.src_block_scaled = true;
    CHECK_TYPE(p, t, Q(F8_E4M3_B128));
    t.src_block_scaled = false;
    CHECK_TYPE(p, t, Q(F8_E4M3));
    ingot_policy_tensor n = mk("blk.3.attn_norm.weight", 256, 0, true);
    n.src_dtype = Q(F16);
    CHECK_TYPE(p, n, Q(F16));
    ingot_policy_free(p);
    // integer sources keep their type under every preset
    p = policy("q4_k_m", NULL, 0);
    ingot_policy_tensor i = mk("blk.1.engram.offsets", 24, 0, true);
    i.src_dtype = Q(I64);
    CHECK_TYPE(p, i, Q(I64));
    ingot_policy_free(p);
    return 0;
}

// The same role gets the same type whether the model has 8 or 128 experts.
static int test_policy_expert_count_independent(void) {
    static const char *const projs[] = {"ffn_gate", "ffn_up", "ffn_down"};
    for (size_t i = 0; i < sizeof preset_rows / sizeof *preset_rows; i++) {
        ingot_policy *p = policy(preset_rows[i].name, NULL, 0);
        CHECK(p);
        for (int layer = 0; layer < 8; layer++) {
            for (size_t k = 0; k < 3; k++) {
                ingot_dtype first = (ingot_dtype)-1;
                for (int n_expert = 8; n_expert <= 128; n_expert *= 16) {
                    for (int e = 0; e < n_expert; e++) {
                        char name[64];
                        snprintf(name, sizeof name, "blk.%d.exp.%d.%s.weight", layer, e, projs[k]);
                        // expert width shrinks as the count grows, as in real models
                        const ingot_dtype got = pick(p, mk(name, (uint64_t)(4096 / n_expert), 256, true));
                        if (first == (ingot_dtype)-1) first = got;
                        CHECK_MSG(got == first, "%s %s with %d experts: %s vs %s", preset_rows[i].name, name,
                                  n_expert, ingot_dtype_name(got), ingot_dtype_name(first));
                    }
                }
            }
        }
        ingot_policy_free(p);
    }
    return 0;
}

// ---- overrides ----------------------------------------------------------------

static int test_policy_override_first_match(void) {
    static const char *const rules[] = {"attn_v=q8_0", "attn_=q5_k", "blk\\.3\\.attn_v=f16"};
    ingot_policy *p = policy("q4_k_m", rules, 3);
    CHECK(p);
    CHECK_EQ_INT(ingot_policy_n_overrides(p), 3);
    ingot_policy_tensor t = mk("blk.3.attn_v.weight", 256, 256, false);
    ingot_policy_choice c;
    CHECK_OK(ingot_policy_choose(p, &t, &c, NULL), NULL);
    CHECK_EQ_INT(c.dtype, Q(Q8_0));
    CHECK_EQ_INT(c.rule, 0);
    CHECK_STR_CONTAINS(c.reason, "override #1 'attn_v=q8_0'");
    CHECK_TYPE(p, mk("blk.2.attn_q.weight", 256, 256, false), Q(Q5_K));
    CHECK_TYPE(p, mk("blk.2.ffn_up.weight", 256, 256, false), Q(Q4_K));
    // overrides never touch fixed f32 roles
    static const char *const all[] = {".*=q4_0"};
    ingot_policy *q = policy("q8_0", all, 1);
    CHECK(q);
    CHECK_TYPE(q, mk("blk.2.ffn_gate_inp.weight", 64, 256, true), Q(F32));
    CHECK_TYPE(q, mk("blk.2.ffn_norm.weight", 256, 0, true), Q(F32));
    CHECK_TYPE(q, mk("blk.2.ffn_up.weight", 64, 256, true), Q(Q4_0));
    ingot_policy_free(q);
    ingot_policy_free(p);
    return 0;
}

static int test_policy_override_single_expert(void) {
    static const char *const rules[] = {"blk\\.3\\.exp\\.([0-9]|1[0-5])\\.=q8_0"};
    ingot_policy *p = policy("q4_k_m", rules, 1);
    CHECK(p);
    for (int e = 0; e < 128; e++) {
        char name[64];
        snprintf(name, sizeof name, "blk.3.exp.%d.ffn_down.weight", e);
        CHECK_TYPE(p, mk(name, 64, 256, true), e < 16 ? Q(Q8_0) : Q(Q4_K));
        snprintf(name, sizeof name, "blk.13.exp.%d.ffn_down.weight", e);
        CHECK_TYPE(p, mk(name, 64, 256, true), Q(Q4_K));
    }
    ingot_policy_free(p);
    return 0;
}

static int test_policy_override_engram(void) {
    static const char *const rules[] = {"engram\\.(embedding|table)=q4_k", "engram=keep"};
    ingot_policy *p = policy("q6_k", rules, 2);
    CHECK(p);
    CHECK_TYPE(p, mk("blk.1.engram.embedding.weight", 4096, 256, false), Q(Q4_K));
    CHECK_TYPE(p, mk("blk.14.engram.embedding.weight", 4096, 256, false), Q(Q4_K));
    CHECK_TYPE(p, mk("blk.1.engram.value_proj.weight", 256, 256, false), Q(BF16));
    CHECK_TYPE(p, mk("blk.1.attn_q.weight", 256, 256, false), Q(Q6_K));
    ingot_policy_free(p);
    return 0;
}

static int test_policy_override_errors(void) {
    static const struct {
        const char *rule, *needle;
    } bad[] = {
        {"blk\\.(3=q8_0", "bad regex"}, {"attn=q9_9", "unknown type 'q9_9'"}, {"attn", "expected REGEX=TYPE"},
        {"=q8_0", "empty regex"},      {"attn=q8_k", "cannot store weights"}, {"attn=i32", "cannot store weights"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *rules[2] = {"ffn=q8_0", bad[i].rule};
        ingot_policy *p = (ingot_policy *)1;
        ingot_err err = {0};
        CHECK_STATUS(ingot_policy_create("q4_k_m", rules, 2, &p, &err), INGOT_E_ARG, &err);
        CHECK(p == NULL);
        CHECK_STR_CONTAINS(err.msg, bad[i].needle);
        CHECK_STR_CONTAINS(err.msg, "#2");
        CHECK_STR_CONTAINS(err.msg, bad[i].rule);
    }
    ingot_policy *p = NULL;
    ingot_err err = {0};
    CHECK_STATUS(ingot_policy_create("q4_k_xl", NULL, 0, &p, &err), INGOT_E_ARG, &err);
    CHECK_STR_CONTAINS(err.msg, "q4_k_xl");
    // An override whose block does not divide the row is an error naming the tensor.
    static const char *const rules[] = {"attn_q=q4_k"};
    p = policy("q8_0", rules, 1);
    CHECK(p);
    ingot_policy_tensor t = mk("blk.0.attn_q.weight", 64, 100, false);
    ingot_policy_choice c;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_ARG, &err);
    CHECK_STR_CONTAINS(err.msg, "blk.0.attn_q.weight");
    CHECK_STR_CONTAINS(err.msg, "100");
    CHECK_STR_CONTAINS(err.tensor, "blk.0.attn_q.weight");
    ingot_policy_free(p);
    return 0;
}

// Bad descriptors are argument errors, oversized ones limit errors; neither crashes.
static int test_policy_bad_descriptors(void) {
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    ingot_policy_choice c;
    ingot_err err = {0};
    ingot_policy_tensor t = mk("blk.0.attn_q.weight", 256, 256, false);
    t.dims[0] = t.dims[1] = 1ull << 40;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_LIMIT, &err);
    CHECK_STR_CONTAINS(err.msg, "blk.0.attn_q.weight");
    t = mk("blk.0.attn_q.weight", 256, 256, false);
    t.n_dims = 5;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_ARG, &err);
    t.n_dims = 2;
    t.role = (ingot_policy_role)99;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_ARG, &err);
    t.role = INGOT_POLICY_ROLE_ATTN;
    t.src_dtype = (ingot_dtype)200;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_ARG, &err);
    t.src_dtype = Q(F32);
    t.name = NULL;
    CHECK_STATUS(ingot_policy_choose(p, &t, &c, &err), INGOT_E_ARG, &err);
    // zero-sized tensors are fine
    t = mk("blk.0.attn_q.weight", 0, 256, false);
    CHECK_OK(ingot_policy_choose(p, &t, &c, &err), &err);
    CHECK_EQ_U64(c.bytes, 0);
    ingot_policy_free(p);
    return 0;
}

// ---- block fallback -----------------------------------------------------------

static int test_policy_fallback_100(void) {
    // 100 = 4 * 25: no 256- or 32-element type fits; the chain ends at a float.
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    CHECK(p);
    ingot_policy_tensor t = mk("blk.3.exp.1.ffn_up.weight", 64, 100, true);
    ingot_policy_choice c;
    CHECK_OK(ingot_policy_choose(p, &t, &c, NULL), NULL);
    CHECK_EQ_INT(c.dtype, Q(BF16)); // bf16 source: bf16 keeps it exactly
    CHECK(c.fallback);
    CHECK_STR_CONTAINS(c.reason, "row 100");
    CHECK_STR_CONTAINS(c.reason, "-> bf16");
    CHECK_EQ_U64(c.bytes, 64 * 100 * 2);
    t.src_dtype = Q(F32);
    CHECK_TYPE(p, t, Q(F16));
    ingot_policy_free(p);
    p = policy("q8_0", NULL, 0);
    CHECK_TYPE(p, t, Q(F16));
    ingot_policy_free(p);
    return 0;
}

static int test_policy_fallback_288(void) {
    // 288 = 9 * 32: k-quants (256) fall back to their 32-element neighbours.
    static const struct {
        const char *preset;
        ingot_dtype want;
    } cases[] = {{"q4_k_m", Q(Q5_0)}, {"q4_k_s", Q(Q5_0)}, {"q5_k_m", Q(Q5_1)},
                 {"q6_k", Q(Q8_0)},   {"q3_k_m", Q(IQ4_NL)}, {"q2_k", Q(IQ4_NL)}, {"q8_0", Q(Q8_0)}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ingot_policy *p = policy(cases[i].preset, NULL, 0);
        CHECK(p);
        ingot_policy_tensor t = mk("blk.3.exp.1.ffn_up.weight", 64, 288, true);
        ingot_policy_choice c;
        CHECK_OK(ingot_policy_choose(p, &t, &c, NULL), NULL);
        CHECK_MSG(c.dtype == cases[i].want, "%s: %s", cases[i].preset, ingot_dtype_name(c.dtype));
        CHECK_EQ_INT(c.fallback, cases[i].want != Q(Q8_0) || strcmp(cases[i].preset, "q6_k") == 0);
        if (c.fallback) CHECK_STR_CONTAINS(c.reason, "not a multiple of 256");
        ingot_policy_free(p);
    }
    CHECK_EQ_INT(ingot_policy_fallback(Q(Q8_0), Q(F32)), Q(F16));
    CHECK_EQ_INT(ingot_policy_fallback(Q(F16), Q(F32)), Q(F16));
    return 0;
}

// ---- plan lines ---------------------------------------------------------------

static int test_policy_plan_lines(void) {
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    CHECK(p);
    ingot_policy_totals tot;
    memset(&tot, 0, sizeof tot);
    const ingot_policy_tensor ts[] = {mk("blk.0.attn_q.weight", 256, 256, true), mk("blk.3.exp.0.ffn_up.weight", 512, 256, true),
                                      mk("blk.0.attn_norm.weight", 256, 0, true)};
    char line[512];
    for (size_t i = 0; i < 3; i++) {
        ingot_policy_choice c;
        CHECK_OK(ingot_policy_choose(p, &ts[i], &c, NULL), NULL);
        ingot_policy_totals_add(&tot, &ts[i], &c);
        const size_t n = ingot_policy_plan_line(&ts[i], &c, line, sizeof line);
        CHECK(n == strlen(line));
        CHECK_STR_CONTAINS(line, ts[i].name);
        CHECK_STR_CONTAINS(line, c.reason);
    }
    CHECK_STR_CONTAINS(line, "[256]");
    // q6_k 256x256 = 256 rows * 210 B; q4_k 512 rows * 144 B; f32 norm 1 KiB
    CHECK_EQ_U64(tot.bytes, 256 * 210 + 512 * 144 + 1024);
    CHECK_EQ_U64(tot.n_elements, 256 * 256 + 512 * 256 + 256);
    CHECK_EQ_U64(tot.bytes_by_type[Q(Q6_K)], 256 * 210);
    ingot_policy_totals_line(&tot, line, sizeof line);
    CHECK_STR_CONTAINS(line, "3 tensors");
    char bpw[32];
    snprintf(bpw, sizeof bpw, "%.2f bpw", 8.0 * (256 * 210 + 512 * 144 + 1024) / (256 * 256 + 512 * 256 + 256));
    CHECK_STR_CONTAINS(line, bpw);
    CHECK_STR_CONTAINS(line, "q4_k");
    // truncation follows snprintf rules
    char tiny[8];
    CHECK(ingot_policy_totals_line(&tot, tiny, sizeof tiny) > sizeof tiny);
    CHECK_EQ_INT(strlen(tiny), 7);
    ingot_policy_free(p);
    return 0;
}

// ---- size targets -------------------------------------------------------------

// Synthetic weights: tensor i has scale[i] and, for odd i, heavy tails.
typedef struct synth {
    const ingot_policy_tensor *ts;
    const float *scale;
    int64_t reads;   // rows handed out
} synth;

static float synth_value(size_t t, int64_t r, int64_t c, float scale) {
    uint64_t h = (uint64_t)t * 0x9E3779B97F4A7C15ull ^ (uint64_t)r * 0xBF58476D1CE4E5B9ull ^ (uint64_t)c * 0x94D049BB133111EBull;
    h ^= h >> 31;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    const double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0; // (0, 1)
    double v = (u - 0.5) * 3.4;
    if (t % 2 && (h & 63) == 0) v *= 8; // outliers
    return (float)(v * scale);
}

static ingot_status synth_fill(void *user, size_t index, int64_t row0, int64_t n_rows, float *dst, ingot_err *err) {
    (void)err;
    synth *s = user;
    const int64_t n_cols = (int64_t)s->ts[index].dims[s->ts[index].n_dims - 1];
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t c = 0; c < n_cols; c++) dst[r * n_cols + c] = synth_value(index, row0 + r, c, s->scale[index]);
    s->reads += n_rows;
    return INGOT_OK;
}

// Error of tensor i with dtype over all rows, computed directly.
static double direct_error(const synth *s, size_t i, ingot_dtype dt, const float *w) {
    const ingot_policy_tensor *t = &s->ts[i];
    const int64_t rows = (int64_t)t->dims[0], cols = (int64_t)t->dims[1];
    float *x = malloc((size_t)(rows * cols) * sizeof *x);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) x[r * cols + c] = synth_value(i, r, c, s->scale[i]);
    double e = -1;
    ingot_err err = {0};
    if (ingot_policy_measure_error(dt, x, rows, cols, w, &e, &err) != INGOT_OK) fprintf(stderr, "%s\n", err.msg);
    free(x);
    return e;
}

#define N_SYNTH 7

static void synth_model(ingot_policy_tensor *ts, float *scale) {
    static const float scales[N_SYNTH] = {0.05f, 0.2f, 1.0f, 3.0f, 0.5f, 8.0f, 1.0f};
    for (int i = 0; i < N_SYNTH - 1; i++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", i);
        ts[i] = mk(name, 32, 512, false);
        scale[i] = scales[i];
    }
    ts[N_SYNTH - 1] = mk("blk.0.ffn_norm.weight", 512, 0, false); // fixed f32
    scale[N_SYNTH - 1] = 1.0f;
}

static int test_policy_target_meets_budget(void) {
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    CHECK(p);
    // Uniform q4_k over the quantizable tensors: its size is the budget.
    double uniform_err = 0;
    uint64_t budget = 512 * 4; // the f32 norm
    for (int i = 0; i < N_SYNTH - 1; i++) {
        uniform_err += direct_error(&s, (size_t)i, Q(Q4_K), NULL);
        budget += 32 * 2 * 144;
    }
    ingot_policy_target_opts o = {0};
    o.target_bytes = budget;
    o.sample_rows = 32; // all rows: the estimate is exact
    ingot_policy_choice ch[N_SYNTH];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), &err);
    CHECK(rep.bytes <= budget);
    CHECK(rep.bytes + 32 * 2 * (272 - 210) > budget); // less than one upgrade left
    CHECK_EQ_U64(rep.budget_bytes, budget);
    CHECK_EQ_U64(rep.fixed_bytes, 512 * 4);
    CHECK_EQ_INT(rep.n_candidates, N_SYNTH - 1);
    uint64_t sum = 0;
    double err_sum = 0;
    for (int i = 0; i < N_SYNTH; i++) {
        sum += ch[i].bytes;
        if (i < N_SYNTH - 1) err_sum += direct_error(&s, (size_t)i, ch[i].dtype, NULL);
    }
    CHECK_EQ_U64(sum, rep.bytes);
    CHECK_EQ_INT(ch[N_SYNTH - 1].dtype, Q(F32));
    CHECK_NEAR(err_sum, rep.error, 1e-6 * err_sum);
    CHECK_MSG(rep.error < 0.8 * uniform_err, "target %.6g vs uniform q4_k %.6g", rep.error, uniform_err);
    // The most sensitive tensor gets more bits than the least.
    CHECK(ch[5].bytes > ch[0].bytes);
    CHECK_STR_CONTAINS(ch[5].reason, "target");
    // target_bpw gives the same budget
    o.target_bytes = 0;
    o.target_bpw = 8.0 * (double)budget / (double)rep.n_elements;
    ingot_policy_target_report rep2;
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep2, &err), &err);
    CHECK(rep2.bytes <= budget);
    CHECK(rep2.budget_bytes >= budget - 1 && rep2.budget_bytes <= budget);
    ingot_policy_free(p);
    return 0;
}

static int test_policy_target_sampled(void) {
    // Fewer sample rows than rows: bounded reads, still within budget.
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    ingot_policy_target_opts o = {0};
    o.target_bpw = 5.0;
    o.sample_rows = 8;
    ingot_policy_choice ch[N_SYNTH];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), &err);
    CHECK_EQ_INT(s.reads, 8 * (N_SYNTH - 1));
    CHECK(rep.bpw <= 5.0);
    CHECK(rep.bytes <= rep.budget_bytes);
    ingot_policy_free(p);
    return 0;
}

static int test_policy_target_infeasible(void) {
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    // smallest: q2_k everywhere (84 B per 256) plus the f32 norm
    const uint64_t min = (N_SYNTH - 1) * 32 * 2 * 84 + 512 * 4;
    ingot_policy_target_opts o = {0};
    o.target_bytes = min - 1;
    ingot_policy_choice ch[N_SYNTH];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    CHECK_STATUS(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), INGOT_E_LIMIT, &err);
    char want[64];
    snprintf(want, sizeof want, "smallest achievable %" PRIu64 " bytes", min);
    CHECK_STR_CONTAINS(err.msg, want);
    CHECK_EQ_INT(s.reads, 0); // refused before reading any data
    o.target_bytes = min;
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), &err);
    for (int i = 0; i < N_SYNTH - 1; i++) CHECK_EQ_INT(ch[i].dtype, Q(Q2_K));
    // keep cannot take a target; no budget is an argument error
    ingot_policy *k = policy("keep", NULL, 0);
    CHECK_STATUS(ingot_policy_target(k, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), INGOT_E_ARG, &err);
    ingot_policy_free(k);
    o.target_bytes = 0;
    CHECK_STATUS(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), INGOT_E_ARG, &err);
    ingot_policy_free(p);
    return 0;
}

// Overrides and the head floor shape the candidate set.
static int test_policy_target_respects_rules(void) {
    static const char *const rules[] = {"blk\\.1\\.=q8_0"};
    ingot_policy *p = policy("q4_k_m", rules, 1);
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    ts[0] = mk("output.weight", 32, 512, false);
    synth s = {ts, scale, 0};
    ingot_policy_target_opts o = {0};
    o.target_bpw = 3.0;
    ingot_policy_choice ch[N_SYNTH];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    // 3 bpw is below q8_0 (fixed) + q6_k head + q2_k: infeasible
    CHECK_STATUS(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), INGOT_E_LIMIT, &err);
    o.target_bpw = 6.0;
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), &err);
    CHECK_EQ_INT(ch[1].dtype, Q(Q8_0));
    CHECK_EQ_INT(ch[1].rule, 0);
    CHECK(ch[0].dtype == Q(Q6_K) || ch[0].dtype == Q(Q8_0));
    ingot_policy_free(p);
    return 0;
}

// On small problems the greedy allocation is compared with the exhaustive
// optimum over all type combinations that fit the same budget.
static int test_policy_target_near_optimal(void) {
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    static const ingot_dtype types[] = {Q(Q2_K), Q(Q3_K), Q(Q4_K), Q(Q5_K), Q(Q6_K), Q(Q8_0)};
    enum { NT = 6, NQ = N_SYNTH - 1 };
    double e[NQ][NT];
    uint64_t b[NQ][NT];
    for (int i = 0; i < NQ; i++)
        for (int k = 0; k < NT; k++) {
            e[i][k] = direct_error(&s, (size_t)i, types[k], NULL);
            CHECK_OK(ingot_dtype_tensor_bytes(types[k], 2, ts[i].dims, &b[i][k], NULL), NULL);
        }
    double worst = 1.0;
    for (double bpw = 3.0; bpw <= 8.0; bpw += 0.25) {
        ingot_policy_target_opts o = {0};
        o.target_bpw = bpw;
        o.sample_rows = 32;
        ingot_policy_choice ch[N_SYNTH];
        ingot_policy_target_report rep;
        ingot_err err = {0};
        CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, ch, &rep, &err), &err);
        const uint64_t avail = rep.budget_bytes - rep.fixed_bytes;
        double best = INFINITY;
        int idx[NQ] = {0};
        for (;;) {
            uint64_t bytes = 0;
            double err_sum = 0;
            for (int i = 0; i < NQ; i++) {
                bytes += b[i][idx[i]];
                err_sum += e[i][idx[i]];
            }
            if (bytes <= avail && err_sum < best) best = err_sum;
            int i = 0;
            while (i < NQ && ++idx[i] == NT) idx[i++] = 0;
            if (i == NQ) break;
        }
        CHECK(rep.error >= best * (1 - 1e-9));
        if (rep.error / best > worst) worst = rep.error / best;
    }
    printf("greedy / optimal error, worst over budgets 3..8 bpw: %.4f\n", worst);
    CHECK(worst < 1.01);
    ingot_policy_free(p);
    return 0;
}

static ingot_status fill_fails(void *user, size_t index, int64_t row0, int64_t n_rows, float *dst, ingot_err *err) {
    (void)user, (void)row0, (void)n_rows, (void)dst;
    return ingot_err_set(err, INGOT_E_IO, "cannot read tensor %zu", index);
}

// A failing row source stops the allocation with its status; nothing leaks.
static int test_policy_target_fill_error(void) {
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    ingot_policy_target_opts o = {0};
    o.target_bpw = 5.0;
    ingot_policy_choice ch[N_SYNTH];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    const int64_t live = ingot_alloc_live();
    CHECK_STATUS(ingot_policy_target(p, ts, N_SYNTH, fill_fails, NULL, &o, ch, &rep, &err), INGOT_E_IO, &err);
    CHECK_STR_CONTAINS(err.msg, "cannot read tensor 0");
    CHECK_EQ_INT(ingot_alloc_live(), live);
    CHECK_EQ_U64(ch[0].bytes, 0);
    ingot_policy_free(p);
    return 0;
}

// Any thread count gives the same choices and the same error estimate.
static int test_policy_target_threads(void) {
    ingot_policy_tensor ts[N_SYNTH];
    float scale[N_SYNTH];
    synth_model(ts, scale);
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    ingot_pool *pool = NULL;
    ingot_err err = {0};
    CHECK_OK(ingot_pool_create(4, &pool, &err), &err);
    ingot_policy_target_opts o = {0};
    o.target_bpw = 4.5;
    o.sample_rows = 12;
    ingot_policy_choice a[N_SYNTH], b[N_SYNTH];
    ingot_policy_target_report ra, rb;
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, a, &ra, &err), &err);
    o.pool = pool;
    CHECK_OK(ingot_policy_target(p, ts, N_SYNTH, synth_fill, &s, &o, b, &rb, &err), &err);
    CHECK_EQ_U64(ra.bytes, rb.bytes);
    CHECK(ra.error == rb.error);
    for (int i = 0; i < N_SYNTH; i++) CHECK_EQ_INT(a[i].dtype, b[i].dtype);
    ingot_pool_free(pool);
    ingot_policy_free(p);
    return 0;
}

// Plan totals on Llama-3.1-8B shapes reproduce the file sizes llama.cpp
// publishes for the presets whose mix is the same (tools/quantize/README.md:
// F16 16.0005, Q8_0 8.5008, Q6_K 6.5633 bpw over 8030261248 elements).
static int test_policy_plan_llama_sizes(void) {
    static const struct {
        const char *preset;
        double bpw;
    } cases[] = {{"f16", 16.0005}, {"q8_0", 8.5008}, {"q6_k", 6.5633}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ingot_policy *p = policy(cases[k].preset, NULL, 0);
        ingot_policy_totals tot;
        memset(&tot, 0, sizeof tot);
        ingot_policy_choice c;
        ingot_policy_tensor t;
        char name[64];
#define ADD(rows, cols, ...)                                                                        \
    do {                                                                                            \
        snprintf(name, sizeof name, __VA_ARGS__);                                                   \
        const uint64_t d_[2] = {(rows), (cols)};                                                    \
        CHECK_OK(ingot_policy_tensor_init(&t, name, (cols) ? 2 : 1, d_, Q(BF16), 32, false, NULL), NULL); \
        CHECK_OK(ingot_policy_choose(p, &t, &c, NULL), NULL);                                       \
        ingot_policy_totals_add(&tot, &t, &c);                                                      \
    } while (0)
        ADD(128256, 4096, "token_embd.weight");
        ADD(128256, 4096, "output.weight");
        ADD(4096, 0, "output_norm.weight");
        for (int l = 0; l < 32; l++) {
            ADD(4096, 0, "blk.%d.attn_norm.weight", l);
            ADD(4096, 0, "blk.%d.ffn_norm.weight", l);
            ADD(4096, 4096, "blk.%d.attn_q.weight", l);
            ADD(1024, 4096, "blk.%d.attn_k.weight", l);
            ADD(1024, 4096, "blk.%d.attn_v.weight", l);
            ADD(4096, 4096, "blk.%d.attn_output.weight", l);
            ADD(14336, 4096, "blk.%d.ffn_gate.weight", l);
            ADD(14336, 4096, "blk.%d.ffn_up.weight", l);
            ADD(4096, 14336, "blk.%d.ffn_down.weight", l);
        }
#undef ADD
        CHECK_EQ_U64(tot.n_elements, 8030261248ull);
        const double bpw = 8.0 * (double)tot.bytes / (double)tot.n_elements;
        CHECK_MSG(fabs(bpw - cases[k].bpw) < 0.0006, "%s: %.4f bpw, llama.cpp %.4f", cases[k].preset, bpw,
                  cases[k].bpw);
        ingot_policy_free(p);
    }
    return 0;
}

// ---- importance matrix --------------------------------------------------------

typedef struct im_entry {
    const char *name;
    const char *dtype;
    uint64_t rows, cols; // rows 0: a vector
    const float *data;
} im_entry;

// Build an imatrix safetensors file in memory (caller frees).
static uint8_t *im_build(const im_entry *e, size_t n, size_t *out_n) {
    char hdr[4096];
    size_t len = (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"source\":\"test\"}");
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const uint64_t cnt = (e[i].rows ? e[i].rows : 1) * e[i].cols;
        if (e[i].rows)
            len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                    ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%" PRIu64 ",%" PRIu64
                                    "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
                                    e[i].name, e[i].dtype, e[i].rows, e[i].cols, off, off + 4 * cnt);
        else
            len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                    ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%" PRIu64 "],\"data_offsets\":[%" PRIu64
                                    ",%" PRIu64 "]}",
                                    e[i].name, e[i].dtype, e[i].cols, off, off + 4 * cnt);
        off += 4 * cnt;
    }
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    while (len % 8) hdr[len++] = ' ';
    uint8_t *buf = malloc(8 + len + off);
    for (int k = 0; k < 8; k++) buf[k] = (uint8_t)((uint64_t)len >> (8 * k));
    memcpy(buf + 8, hdr, len);
    uint64_t at = 8 + len;
    for (size_t i = 0; i < n; i++) {
        const uint64_t cnt = (e[i].rows ? e[i].rows : 1) * e[i].cols;
        memcpy(buf + at, e[i].data, 4 * cnt);
        at += 4 * cnt;
    }
    *out_n = (size_t)at;
    return buf;
}

static int test_policy_imatrix_load(void) {
    float v[8], m[3 * 8];
    for (int i = 0; i < 8; i++) v[i] = (float)i + 0.5f;
    for (int i = 0; i < 24; i++) m[i] = i < 8 ? 0.0f : (float)i; // expert 0 never routed
    const im_entry es[] = {{"blk.0.ffn_up.weight", "F32", 0, 8, v}, {"blk.2.exp.ffn_up.weight", "F32", 3, 8, m},
                           {"blk.2.exp.7.ffn_down.weight", "F32", 0, 8, v}};
    size_t n;
    uint8_t *buf = im_build(es, 3, &n);
    ingot_imatrix *im = NULL;
    ingot_err err = {0};
    CHECK_OK(ingot_imatrix_parse(buf, n, "test.imatrix", &im, &err), &err);
    free(buf); // values were copied
    CHECK_EQ_INT(ingot_imatrix_n_entries(im), 3);
    const float *w = NULL;
    CHECK_OK(ingot_imatrix_find(im, "blk.0.ffn_up.weight", 8, &w, &err), &err);
    CHECK(w && w[3] == 3.5f);
    CHECK_OK(ingot_imatrix_find(im, "blk.2.exp.2.ffn_up.weight", 8, &w, &err), &err);
    CHECK(w && w[0] == 16.0f && w[7] == 23.0f);
    CHECK_OK(ingot_imatrix_find(im, "blk.2.exp.0.ffn_up.weight", 8, &w, &err), &err);
    CHECK(w == NULL); // all-zero row: uniform weights
    CHECK_OK(ingot_imatrix_find(im, "blk.2.exp.7.ffn_down.weight", 8, &w, &err), &err);
    CHECK(w && w[1] == 1.5f);
    CHECK_OK(ingot_imatrix_find(im, "blk.5.attn_q.weight", 8, &w, &err), &err);
    CHECK(w == NULL);
    CHECK_STATUS(ingot_imatrix_find(im, "blk.2.exp.3.ffn_up.weight", 8, &w, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "3 expert rows");
    CHECK_STATUS(ingot_imatrix_find(im, "blk.0.ffn_up.weight", 16, &w, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "8 columns");
    ingot_imatrix_free(im);
    // through a file
    const char *dir = ingot_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/im.safetensors", dir);
    buf = im_build(es, 1, &n);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    fclose(f);
    free(buf);
    CHECK_OK(ingot_imatrix_open(path, &im, &err), &err);
    CHECK_EQ_INT(ingot_imatrix_n_entries(im), 1);
    ingot_imatrix_free(im);
    unlink(path);
    rmdir(dir);
    return 0;
}

static int test_policy_imatrix_bad(void) {
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n;
    ingot_imatrix *im = NULL;
    ingot_err err = {0};
    const im_entry f16[] = {{"a.weight", "F16", 0, 8, v}};
    uint8_t *buf = im_build(f16, 1, &n);
    CHECK_STATUS(ingot_imatrix_parse(buf, n, "x", &im, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "want F32");
    free(buf);
    v[5] = NAN;
    const im_entry nan[] = {{"a.weight", "F32", 0, 8, v}};
    buf = im_build(nan, 1, &n);
    CHECK_STATUS(ingot_imatrix_parse(buf, n, "x", &im, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "'a.weight'");
    CHECK_EQ_INT(err.off, (int64_t)(n - 3 * 4));
    v[5] = -1.0f;
    free(buf);
    buf = im_build(nan, 1, &n);
    CHECK_STATUS(ingot_imatrix_parse(buf, n, "x", &im, &err), INGOT_E_FORMAT, &err);
    v[5] = 6.0f;
    free(buf);
    // every truncation of a valid file fails cleanly
    buf = im_build(nan, 1, &n);
    CHECK_OK(ingot_imatrix_parse(buf, n, "x", &im, &err), &err);
    ingot_imatrix_free(im);
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, buf, k);
        const ingot_status st = ingot_imatrix_parse(cut, k, "x", &im, &err);
        CHECK_MSG(st == INGOT_E_FORMAT, "prefix %zu: %s", k, ingot_status_name(st));
        CHECK(im == NULL);
        free(cut);
    }
    // corrupt header bytes never crash
    for (size_t k = 8; k < n - 32; k++) {
        for (int bit = 0; bit < 8; bit += 3) {
            buf[k] ^= (uint8_t)(1u << bit);
            const ingot_status st = ingot_imatrix_parse(buf, n, "x", &im, &err);
            if (st == INGOT_OK) ingot_imatrix_free(im);
            buf[k] ^= (uint8_t)(1u << bit);
        }
    }
    free(buf);
    static const char *const bad_json[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2,2],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x",
        "{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"__metadata__\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        const size_t len = strlen(bad_json[i]);
        uint8_t *b = calloc(1, 8 + len + 8);
        b[0] = (uint8_t)len;
        memcpy(b + 8, bad_json[i], len);
        CHECK_MSG(ingot_imatrix_parse(b, 8 + len + 8, "x", &im, &err) == INGOT_E_FORMAT, "case %zu", i);
        free(b);
    }
    CHECK_STATUS(ingot_imatrix_open("/nonexistent/im.safetensors", &im, &err), INGOT_E_IO, &err);
    return 0;
}

// Importance weights steer the allocation: the tensor whose columns matter
// more gets the bits.
static int test_policy_imatrix_changes_target(void) {
    ingot_policy_tensor ts[2] = {mk("blk.0.ffn_up.weight", 32, 512, false), mk("blk.1.ffn_up.weight", 32, 512, false)};
    float scale[2] = {1.0f, 1.0f};
    synth s = {ts, scale, 0};
    ingot_policy *p = policy("q4_k_m", NULL, 0);
    ingot_policy_target_opts o = {0};
    o.target_bytes = 32 * 2 * (144 + 84); // one q4_k + one q2_k, or equivalent
    ingot_policy_choice plain[2], weighted[2];
    ingot_policy_target_report rep;
    ingot_err err = {0};
    CHECK_OK(ingot_policy_target(p, ts, 2, synth_fill, &s, &o, plain, &rep, &err), &err);
    // Tensor 1 has outliers and, unweighted, the larger error: it gets the bits.
    CHECK_MSG(plain[1].bytes >= plain[0].bytes, "plain: %s vs %s", ingot_dtype_name(plain[0].dtype),
              ingot_dtype_name(plain[1].dtype));
    // Now tensor 0's columns matter a thousand times more.
    float w0[512], w1[512];
    for (int i = 0; i < 512; i++) {
        w0[i] = 1.0f + (float)(i % 7);
        w1[i] = 0.001f;
    }
    const im_entry es[] = {{"blk.0.ffn_up.weight", "F32", 0, 512, w0}, {"blk.1.ffn_up.weight", "F32", 0, 512, w1}};
    size_t n;
    uint8_t *buf = im_build(es, 2, &n);
    ingot_imatrix *im = NULL;
    CHECK_OK(ingot_imatrix_parse(buf, n, "im", &im, &err), &err);
    free(buf);
    o.imatrix = im;
    CHECK_OK(ingot_policy_target(p, ts, 2, synth_fill, &s, &o, weighted, &rep, &err), &err);
    CHECK_MSG(weighted[0].bytes > weighted[1].bytes, "weighted: %s vs %s", ingot_dtype_name(weighted[0].dtype),
              ingot_dtype_name(weighted[1].dtype));
    // the weights enter the measured error
    float x[512];
    for (int i = 0; i < 512; i++) x[i] = synth_value(1, 0, i, 1.0f);
    double e_plain, e_w;
    CHECK_OK(ingot_policy_measure_error(Q(Q4_K), x, 1, 512, NULL, &e_plain, &err), &err);
    CHECK_OK(ingot_policy_measure_error(Q(Q4_K), x, 1, 512, w0, &e_w, &err), &err);
    CHECK(e_w > 1.5 * e_plain);
    ingot_imatrix_free(im);
    ingot_policy_free(p);
    return 0;
}

static int test_policy_alloc_failures(void) {
    static const char *const rules[] = {"attn=q8_0", "exp=q4_0"};
    for (uint64_t nth = 1; nth < 64; nth++) {
        const int64_t live = ingot_alloc_live();
        ingot_alloc_fail_at(nth, false);
        ingot_policy *p = NULL;
        ingot_err err = {0};
        const ingot_status st = ingot_policy_create("q4_k_m", rules, 2, &p, &err);
        ingot_alloc_fail_at(0, false);
        CHECK(st == INGOT_OK || st == INGOT_E_NOMEM);
        ingot_policy_free(p);
        CHECK_EQ_INT(ingot_alloc_live(), live);
        if (st == INGOT_OK) break;
    }
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const im_entry es[] = {{"a.weight", "F32", 0, 8, v}, {"b.weight", "F32", 0, 8, v}};
    size_t n;
    uint8_t *buf = im_build(es, 2, &n);
    for (uint64_t nth = 1; nth < 64; nth++) {
        const int64_t live = ingot_alloc_live();
        ingot_alloc_fail_at(nth, false);
        ingot_imatrix *im = NULL;
        ingot_err err = {0};
        const ingot_status st = ingot_imatrix_parse(buf, n, "x", &im, &err);
        ingot_alloc_fail_at(0, false);
        CHECK(st == INGOT_OK || st == INGOT_E_NOMEM);
        ingot_imatrix_free(im);
        CHECK_EQ_INT(ingot_alloc_live(), live);
        if (st == INGOT_OK) break;
    }
    free(buf);
    return 0;
}

INGOT_TEST_MAIN(T(policy_role_from_name), T(policy_preset_roles), T(policy_preset_keep),
                T(policy_expert_count_independent), T(policy_override_first_match),
                T(policy_override_single_expert), T(policy_override_engram), T(policy_override_errors), T(policy_bad_descriptors),
                T(policy_fallback_100), T(policy_fallback_288), T(policy_plan_lines),
                T(policy_target_meets_budget), T(policy_target_sampled), T(policy_target_infeasible),
                T(policy_target_respects_rules), T(policy_target_threads), T(policy_target_fill_error), T(policy_target_near_optimal), T(policy_plan_llama_sizes), T(policy_imatrix_load), T(policy_imatrix_bad),
                T(policy_imatrix_changes_target), T(policy_alloc_failures))
