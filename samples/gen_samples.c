// ingot-samples: writes deterministic Hugging Face-layout checkpoints
// (config.json, tokenizer.json, generation_config.json, *.safetensors,
// sharded with model.safetensors.index.json when large) for the README's
// main job, tests and benchmarks. Nothing large is committed: samples are
// generated at build or run time.
//
// Weights are pseudo-random (splitmix64 + Box-Muller, seeded per tensor name,
// so any tensor can be regenerated alone) with the scale HF initialisers use;
// norms are near 1. Data is streamed in chunks, so a multi-GB checkpoint
// needs a few MB of memory.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingot/dtype.h"
#include "ingot/common.h"
#include "ingot/engram.h"

// ---- model description ----------------------------------------------------
typedef enum arch { ARCH_LLAMA, ARCH_QWEN3_MOE, ARCH_DEEPSEEK_V3 } arch;

typedef struct model_spec {
    const char *preset;
    arch arch;
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab;
    int n_expert, n_expert_used, n_ff_exp;
    int n_shared, n_dense_first;          // DeepSeek
    int q_lora, kv_lora, qk_nope, qk_rope, v_head;
    int n_group, topk_group;
    bool tie, fp8;
    ingot_dtype dtype;                     // BF16 or F32 for non-FP8 tensors
    bool engram;
    bool engram_v41;                       // DeepSeek-V4.1 Engram tensors (FP8 + E8M0) instead of the demo's
    int bpe_merges;                        // tokenizer merges to learn
    bool peaked;                           // head predicts each token's corpus successor (see below)
} model_spec;

static const model_spec k_presets[] = {
    {.preset = "llama-tiny", .arch = ARCH_LLAMA, .n_embd = 256, .n_layer = 4, .n_head = 8, .n_head_kv = 4,
     .head_dim = 32, .n_ff = 768, .n_vocab = 1024, .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700, .peaked = true},
    {.preset = "qwen3moe-tiny", .arch = ARCH_QWEN3_MOE, .n_embd = 256, .n_layer = 4, .n_head = 8, .n_head_kv = 4,
     .head_dim = 32, .n_ff = 768, .n_vocab = 1024, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256,
     .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700, .peaked = true},
    {.preset = "deepseek-v3-fp8", .arch = ARCH_DEEPSEEK_V3, .n_embd = 256, .n_layer = 3, .n_head = 4,
     .n_head_kv = 4, .n_ff = 768, .n_vocab = 1024, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256,
     .n_shared = 1, .n_dense_first = 1, .q_lora = 256, .kv_lora = 256, .qk_nope = 64, .qk_rope = 32,
     .v_head = 64, .n_group = 2, .topk_group = 1, .fp8 = true, .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700, .peaked = true},
    {.preset = "moe-engram", .arch = ARCH_QWEN3_MOE, .n_embd = 256, .n_layer = 4, .n_head = 8, .n_head_kv = 4,
     .head_dim = 32, .n_ff = 768, .n_vocab = 1024, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256,
     .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700, .peaked = true, .engram = true},
    {.preset = "moe-engram-v41", .arch = ARCH_QWEN3_MOE, .n_embd = 256, .n_layer = 4, .n_head = 8, .n_head_kv = 4,
     .head_dim = 32, .n_ff = 768, .n_vocab = 1024, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256,
     .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700, .peaked = true, .engram = true, .engram_v41 = true},
    {.preset = "qwen3moe-200m", .arch = ARCH_QWEN3_MOE, .n_embd = 768, .n_layer = 8, .n_head = 12,
     .n_head_kv = 4, .head_dim = 64, .n_ff = 2048, .n_vocab = 32000, .n_expert = 16, .n_expert_used = 2,
     .n_ff_exp = 512, .dtype = INGOT_DTYPE_BF16, .bpe_merges = 700},
};

// ---- deterministic random numbers -----------------------------------------
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform01(uint64_t *s) { return ((splitmix(s) >> 11) + 0.5) * 0x1p-53; }
static float gaussian(uint64_t *s) {
    double u = uniform01(s), v = uniform01(s);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
static uint64_t name_seed(const char *name, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

// ---- tensor list ----------------------------------------------------------
typedef enum init_kind { INIT_NORMAL, INIT_NORM, INIT_ZERO_BIAS, INIT_HEAD } init_kind;

typedef struct gen_tensor {
    char name[160];
    ingot_dtype dtype;
    int n_dims;
    uint64_t dims[3];
    init_kind init;
    float std;
    bool fp8;          // F8_E4M3 data; its scale tensor follows
    bool fp8_scale;    // F32 weight_scale_inv [ceil(r/128), ceil(c/128)] of the previous tensor
                       // (E8M0 [ceil(r/br), ceil(c/bc)] when the FP8 tensor set fp8_br)
    uint32_t fp8_br, fp8_bc; // FP8 with E8M0 scales per br×bc tile (V4.1: 1×32 rows, 32×32); 0: 128×128 f32
    const int64_t *i64; // I64 payload written as is (Engram offsets buffer)
    uint64_t size;
    uint64_t off;      // within its shard's data area
    int shard;
} gen_tensor;

typedef struct tensor_list {
    gen_tensor *v;
    size_t n, cap;
} tensor_list;

static gen_tensor *add(tensor_list *l, const char *name, ingot_dtype dt, int n_dims, uint64_t d0, uint64_t d1,
                       uint64_t d2, init_kind init, float std) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            fprintf(stderr, "ingot-samples: out of memory\n");
            exit(1);
        }
    }
    gen_tensor *t = &l->v[l->n++];
    memset(t, 0, sizeof *t);
    size_t len = strlen(name);
    if (len >= sizeof t->name) len = sizeof t->name - 1; // names are short; never reached
    memcpy(t->name, name, len);
    t->name[len] = 0;
    t->dtype = dt;
    t->n_dims = n_dims;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->dims[2] = d2;
    t->init = init;
    t->std = std;
    uint64_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= t->dims[i];
    t->size = n * ingot_dtype_get(dt)->type_size;
    return t;
}

// A linear weight [out, in]: FP8 + scales for DeepSeek FP8 samples.
static void add_linear(tensor_list *l, const model_spec *m, const char *name, uint64_t out, uint64_t in) {
    float std = 1.0f / sqrtf((float)in);
    if (m->fp8) {
        gen_tensor *t = add(l, name, INGOT_DTYPE_F8_E4M3, 2, out, in, 0, INIT_NORMAL, std);
        t->fp8 = true;
        char sname[200];
        snprintf(sname, sizeof sname, "%.*s_scale_inv", (int)(strlen(name)), name);
        gen_tensor *s = add(l, sname, INGOT_DTYPE_F32, 2, (out + 127) / 128, (in + 127) / 128, 0, INIT_NORMAL, std);
        s->fp8_scale = true;
    } else {
        add(l, name, m->dtype, 2, out, in, 0, INIT_NORMAL, std);
    }
}

static void build_tensors(const model_spec *m, tensor_list *l) {
    char nm[200];
    ingot_dtype dt = m->dtype;
    add(l, "model.embed_tokens.weight", dt, 2, m->n_vocab, m->n_embd, 0, INIT_NORMAL, m->peaked ? 1.0f : 0.5f);
    for (int L = 0; L < m->n_layer; L++) {
#define N(...) (snprintf(nm, sizeof nm, __VA_ARGS__), nm)
        add(l, N("model.layers.%d.input_layernorm.weight", L), dt, 1, m->n_embd, 0, 0, INIT_NORM, 0.05f);
        add(l, N("model.layers.%d.post_attention_layernorm.weight", L), dt, 1, m->n_embd, 0, 0, INIT_NORM, 0.05f);
        if (m->arch == ARCH_DEEPSEEK_V3) {
            int qk = m->qk_nope + m->qk_rope;
            add_linear(l, m, N("model.layers.%d.self_attn.q_a_proj.weight", L), m->q_lora, m->n_embd);
            add(l, N("model.layers.%d.self_attn.q_a_layernorm.weight", L), dt, 1, m->q_lora, 0, 0, INIT_NORM, 0.05f);
            add_linear(l, m, N("model.layers.%d.self_attn.q_b_proj.weight", L), (uint64_t)m->n_head * qk, m->q_lora);
            add_linear(l, m, N("model.layers.%d.self_attn.kv_a_proj_with_mqa.weight", L), m->kv_lora + m->qk_rope,
                       m->n_embd);
            add(l, N("model.layers.%d.self_attn.kv_a_layernorm.weight", L), dt, 1, m->kv_lora, 0, 0, INIT_NORM, 0.05f);
            add_linear(l, m, N("model.layers.%d.self_attn.kv_b_proj.weight", L),
                       (uint64_t)m->n_head * (m->qk_nope + m->v_head), m->kv_lora);
            add_linear(l, m, N("model.layers.%d.self_attn.o_proj.weight", L), m->n_embd,
                       (uint64_t)m->n_head * m->v_head);
        } else {
            add_linear(l, m, N("model.layers.%d.self_attn.q_proj.weight", L), (uint64_t)m->n_head * m->head_dim,
                       m->n_embd);
            add_linear(l, m, N("model.layers.%d.self_attn.k_proj.weight", L), (uint64_t)m->n_head_kv * m->head_dim,
                       m->n_embd);
            add_linear(l, m, N("model.layers.%d.self_attn.v_proj.weight", L), (uint64_t)m->n_head_kv * m->head_dim,
                       m->n_embd);
            add_linear(l, m, N("model.layers.%d.self_attn.o_proj.weight", L), m->n_embd,
                       (uint64_t)m->n_head * m->head_dim);
            if (m->arch == ARCH_QWEN3_MOE) {
                add(l, N("model.layers.%d.self_attn.q_norm.weight", L), dt, 1, m->head_dim, 0, 0, INIT_NORM, 0.05f);
                add(l, N("model.layers.%d.self_attn.k_norm.weight", L), dt, 1, m->head_dim, 0, 0, INIT_NORM, 0.05f);
            }
        }
        bool moe = m->n_expert > 0 && L >= m->n_dense_first;
        if (!moe) {
            add_linear(l, m, N("model.layers.%d.mlp.gate_proj.weight", L), m->n_ff, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.up_proj.weight", L), m->n_ff, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.down_proj.weight", L), m->n_embd, m->n_ff);
            continue;
        }
        // The router stays in high precision in every source format.
        add(l, N("model.layers.%d.mlp.gate.weight", L), m->fp8 ? INGOT_DTYPE_BF16 : dt, 2, m->n_expert, m->n_embd,
            0, INIT_NORMAL, 1.0f / sqrtf((float)m->n_embd));
        if (m->arch == ARCH_DEEPSEEK_V3)
            add(l, N("model.layers.%d.mlp.gate.e_score_correction_bias", L), INGOT_DTYPE_F32, 1, m->n_expert, 0, 0,
                INIT_NORMAL, 0.01f);
        for (int e = 0; e < m->n_expert; e++) {
            add_linear(l, m, N("model.layers.%d.mlp.experts.%d.gate_proj.weight", L, e), m->n_ff_exp, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.experts.%d.up_proj.weight", L, e), m->n_ff_exp, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.experts.%d.down_proj.weight", L, e), m->n_embd, m->n_ff_exp);
        }
        if (m->n_shared) {
            uint64_t ffs = (uint64_t)m->n_shared * m->n_ff_exp;
            add_linear(l, m, N("model.layers.%d.mlp.shared_experts.gate_proj.weight", L), ffs, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.shared_experts.up_proj.weight", L), ffs, m->n_embd);
            add_linear(l, m, N("model.layers.%d.mlp.shared_experts.down_proj.weight", L), m->n_embd, ffs);
        }
#undef N
    }
    add(l, "model.norm.weight", dt, 1, m->n_embd, 0, 0, INIT_NORM, 0.05f);
    if (!m->tie)
        add(l, "lm_head.weight", dt, 2, m->n_vocab, m->n_embd, 0, m->peaked ? INIT_HEAD : INIT_NORMAL,
            (m->peaked ? 0.5f : 1.0f) / sqrtf((float)m->n_embd));
}

// ---- tensor data ----------------------------------------------------------
#define CHUNK (1u << 16)

static void put_elems(FILE *f, ingot_dtype dt, const float *x, size_t n) {
    static uint8_t buf[CHUNK * 4];
    if (dt == INGOT_DTYPE_F32) {
        memcpy(buf, x, n * 4);
        fwrite(buf, 4, n, f);
    } else if (dt == INGOT_DTYPE_BF16 || dt == INGOT_DTYPE_F16) {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = dt == INGOT_DTYPE_BF16 ? ingot_f32_to_bf16(x[i]) : ingot_f32_to_f16(x[i]);
            memcpy(buf + 2 * i, &h, 2);
        }
        fwrite(buf, 2, n, f);
    }
}

static float draw(const gen_tensor *t, uint64_t *s) {
    switch (t->init) {
    case INIT_NORM: return 1.0f + t->std * gaussian(s);
    case INIT_ZERO_BIAS: return 0.0f;
    default: return t->std * gaussian(s);
    }
}

// Scales of the most recent FP8 tensor, consumed by its scale tensor: f32
// scale_inv (amax / 448) per 128×128 tile, or E8M0 bytes (the power of two
// at or above amax / 448) per fp8_br × fp8_bc tile.
static float *g_scales;
static uint8_t *g_scale_bytes;
static size_t g_n_scales;

static void write_fp8(FILE *f, const gen_tensor *t, uint64_t seed) {
    uint64_t s = name_seed(t->name, seed);
    uint64_t rows = t->dims[0], cols = t->dims[1];
    const bool e8m0 = t->fp8_br > 0;
    const uint64_t br = e8m0 ? t->fp8_br : 128, bc = e8m0 ? t->fp8_bc : 128;
    uint64_t tr = (rows + br - 1) / br, tc = (cols + bc - 1) / bc;
    free(g_scales);
    free(g_scale_bytes);
    g_n_scales = tr * tc;
    g_scales = calloc(g_n_scales, sizeof(float));
    g_scale_bytes = calloc(g_n_scales, 1);
    float *band = malloc(br * cols * sizeof(float));
    uint8_t *out = malloc(br * cols);
    if (!g_scales || !g_scale_bytes || !band || !out) {
        fprintf(stderr, "ingot-samples: out of memory\n");
        exit(1);
    }
    for (uint64_t b = 0; b < tr; b++) {
        uint64_t r0 = b * br, nr = rows - r0 < br ? rows - r0 : br;
        for (uint64_t i = 0; i < nr * cols; i++) band[i] = draw(t, &s);
        for (uint64_t c = 0; c < tc; c++) {
            float amax = 0;
            for (uint64_t r = 0; r < nr; r++)
                for (uint64_t k = c * bc; k < cols && k < c * bc + bc; k++)
                    amax = fmaxf(amax, fabsf(band[r * cols + k]));
            float scale = amax > 0 ? amax / 448.0f : 1.0f;
            if (e8m0) {
                g_scale_bytes[b * tc + c] = amax > 0 ? ingot_f32_to_e8m0_ceil(scale) : 127;
                scale = ingot_e8m0_to_f32(g_scale_bytes[b * tc + c]);
            }
            g_scales[b * tc + c] = scale;
            for (uint64_t r = 0; r < nr; r++)
                for (uint64_t k = c * bc; k < cols && k < c * bc + bc; k++)
                    out[r * cols + k] = ingot_f32_to_e4m3(band[r * cols + k] / scale);
        }
        fwrite(out, 1, nr * cols, f);
    }
    free(band);
    free(out);
}

// Peaked head: a random model's output distribution is nearly flat, so its
// top-1 token flips under the smallest perturbation and agreement figures say
// nothing. Trained models are confident. The sample head therefore maps each
// token's embedding direction onto the token that most often follows it in
// the built-in corpus (about 8 nats above the rest for a hidden state
// along that embedding), which makes the model
// a small bigram predictor of that corpus: confident, and meaningful to
// compare before and after quantization.
static int32_t *g_succ;       // [n_vocab] most frequent successor, -1 for none
static const gen_tensor *g_embd;

static void write_head(FILE *f, const gen_tensor *t, uint64_t seed) {
    uint64_t V = t->dims[0], d = t->dims[1];
    float *E = malloc(V * d * sizeof(float)), *row = malloc(d * sizeof(float));
    if (!E || !row || !g_embd) {
        fprintf(stderr, "ingot-samples: out of memory\n");
        exit(1);
    }
    uint64_t se = name_seed(g_embd->name, seed);
    for (uint64_t i = 0; i < V * d; i++) E[i] = draw(g_embd, &se);
    if (g_embd->dtype == INGOT_DTYPE_BF16)
        for (uint64_t i = 0; i < V * d; i++) E[i] = ingot_bf16_to_f32(ingot_f32_to_bf16(E[i]));
    uint64_t s = name_seed(t->name, seed);
    float alpha = 8.0f / sqrtf((float)d);
    for (uint64_t v = 0; v < V; v++) {
        for (uint64_t k = 0; k < d; k++) row[k] = t->std * gaussian(&s);
        for (uint64_t u = 0; u < V; u++) {
            if (!g_succ || g_succ[u] != (int32_t)v) continue;
            double n2 = 0;
            for (uint64_t k = 0; k < d; k++) n2 += (double)E[u * d + k] * E[u * d + k];
            float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0;
            for (uint64_t k = 0; k < d; k++) row[k] += alpha * E[u * d + k] * inv;
        }
        put_elems(f, t->dtype, row, (size_t)d);
    }
    free(E);
    free(row);
}

static void write_tensor(FILE *f, const gen_tensor *t, uint64_t seed) {
    if (t->init == INIT_HEAD) {
        write_head(f, t, seed);
        return;
    }
    if (t->fp8) {
        write_fp8(f, t, seed);
        return;
    }
    if (t->fp8_scale) {
        if (t->dtype == INGOT_DTYPE_E8M0) fwrite(g_scale_bytes, 1, g_n_scales, f);
        else fwrite(g_scales, sizeof(float), g_n_scales, f);
        return;
    }
    if (t->i64) {
        fwrite(t->i64, sizeof(int64_t), t->size / sizeof(int64_t), f);
        return;
    }
    uint64_t s = name_seed(t->name, seed);
    uint64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->dims[i];
    static float x[CHUNK];
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
        for (size_t i = 0; i < k; i++) x[i] = draw(t, &s);
        put_elems(f, t->dtype, x, k);
        done += k;
    }
}

// ---- safetensors writing --------------------------------------------------
static char *st_header(const tensor_list *l, int shard, size_t *len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    for (size_t i = 0; i < l->n; i++) {
        const gen_tensor *t = &l->v[i];
        if (t->shard != shard) continue;
        cJSON *o = cJSON_AddObjectToObject(root, t->name);
        cJSON_AddStringToObject(o, "dtype", ingot_dtype_get(t->dtype)->st_name);
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[d]));
        cJSON *offs = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)t->off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(t->off + t->size)));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t n = strlen(s), padded = (n + 7) / 8 * 8;
    s = realloc(s, padded + 1);
    memset(s + n, ' ', padded - n);
    s[padded] = 0;
    *len = padded;
    return s;
}

static int write_json(const char *dir, const char *name, cJSON *j) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = cJSON_Print(j);
    FILE *f = fopen(path, "wb");
    if (!f || fputs(s, f) < 0 || fputc('\n', f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "ingot-samples: cannot write %s: %s\n", path, strerror(errno));
        free(s);
        return 1;
    }
    free(s);
    return 0;
}

static int write_weights(const char *dir, tensor_list *l, uint64_t shard_bytes, uint64_t seed) {
    int n_shard = 1;
    uint64_t used = 0;
    for (size_t i = 0; i < l->n; i++) {
        gen_tensor *t = &l->v[i];
        // a tensor and its FP8 scales stay together
        if (used > 0 && used + t->size > shard_bytes && !t->fp8_scale) {
            n_shard++;
            used = 0;
        }
        t->shard = n_shard - 1;
        t->off = used;
        used += t->size;
    }
    cJSON *wmap = n_shard > 1 ? cJSON_CreateObject() : NULL;
    uint64_t total = 0;
    for (int sh = 0; sh < n_shard; sh++) {
        char fname[128], path[4096];
        if (n_shard == 1) snprintf(fname, sizeof fname, "model.safetensors");
        else snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", sh + 1, n_shard);
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        FILE *f = fopen(path, "wb");
        if (!f) {
            fprintf(stderr, "ingot-samples: cannot create %s: %s\n", path, strerror(errno));
            return 1;
        }
        size_t hlen;
        char *h = st_header(l, sh, &hlen);
        uint64_t hl = hlen;
        fwrite(&hl, 8, 1, f);
        fwrite(h, 1, hlen, f);
        free(h);
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i].shard == sh) {
                write_tensor(f, &l->v[i], seed);
                total += l->v[i].size;
                if (wmap) cJSON_AddStringToObject(wmap, l->v[i].name, fname);
            }
        if (ferror(f) || fclose(f) != 0) {
            fprintf(stderr, "ingot-samples: write failed for %s\n", path);
            return 1;
        }
    }
    if (wmap) {
        cJSON *idx = cJSON_CreateObject();
        cJSON *meta = cJSON_AddObjectToObject(idx, "metadata");
        cJSON_AddNumberToObject(meta, "total_size", (double)total);
        cJSON_AddItemToObject(idx, "weight_map", wmap);
        int r = write_json(dir, "model.safetensors.index.json", idx);
        cJSON_Delete(idx);
        if (r) return r;
    }
    return 0;
}

// ---- tokenizer: byte-level BPE trained on the built-in corpus -------------
// GPT-2's byte → unicode map: printable bytes map to themselves, the rest to
// U+0100 onwards, so every byte is a visible character in vocab and merges.
static void byte_to_unicode(int b, char out[8]) {
    static int map[256], init;
    if (!init) {
        int n = 0;
        for (int i = 0; i < 256; i++) {
            bool keep = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
            map[i] = keep ? i : 256 + n++;
        }
        init = 1;
    }
    int cp = map[b];
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = 0;
    }
}

// A word is a sequence of symbol ids; symbols are strings (byte-mapped).
typedef struct bpe_state {
    char **sym;     // symbol strings
    int n_sym, cap_sym;
    int **words;    // symbol ids per pre-token occurrence
    int *word_len;
    int n_words;
} bpe_state;

static int sym_add(bpe_state *b, const char *s) {
    if (b->n_sym == b->cap_sym) {
        b->cap_sym = b->cap_sym ? b->cap_sym * 2 : 1024;
        b->sym = realloc(b->sym, (size_t)b->cap_sym * sizeof *b->sym);
    }
    b->sym[b->n_sym] = strdup(s);
    return b->n_sym++;
}

static const char *k_gpt2_split =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static void bpe_collect_words(bpe_state *b) {
    int errc;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)k_gpt2_split, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &errc,
                                   &erroff, NULL);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    const char *text = ingot_builtin_text;
    size_t n = strlen(text), pos = 0;
    while (pos < n && pcre2_match(re, (PCRE2_SPTR)text, n, pos, 0, md, NULL) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e == s) break;
        b->words = realloc(b->words, (size_t)(b->n_words + 1) * sizeof *b->words);
        b->word_len = realloc(b->word_len, (size_t)(b->n_words + 1) * sizeof *b->word_len);
        int *w = malloc((e - s) * sizeof(int));
        for (size_t i = s; i < e; i++) w[i - s] = 3 + (uint8_t)text[i]; // ids 0..2 are specials
        b->words[b->n_words] = w;
        b->word_len[b->n_words++] = (int)(e - s);
        pos = e;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

// Learn up to n_merges merges (most frequent adjacent pair, ties broken by
// the lower pair ids for determinism); returns the merge list as "a b".
static cJSON *bpe_train(bpe_state *b, int n_merges) {
    cJSON *merges = cJSON_CreateArray();
    for (int m = 0; m < n_merges; m++) {
        // count pairs (quadratic in symbols is fine at this size: use a hash-free scan)
        int best_a = -1, best_b = -1, best_c = 1;
        int n = b->n_sym;
        int *counts = calloc((size_t)n * (size_t)n, sizeof(int));
        for (int w = 0; w < b->n_words; w++)
            for (int i = 0; i + 1 < b->word_len[w]; i++) counts[(size_t)b->words[w][i] * n + b->words[w][i + 1]]++;
        for (int x = 0; x < n; x++)
            for (int y = 0; y < n; y++) {
                int c = counts[(size_t)x * n + y];
                if (c > best_c) {
                    best_c = c;
                    best_a = x;
                    best_b = y;
                }
            }
        free(counts);
        if (best_a < 0) break;
        char buf[512];
        snprintf(buf, sizeof buf, "%s%s", b->sym[best_a], b->sym[best_b]);
        int id = -1;
        for (int k = 0; k < b->n_sym && id < 0; k++)
            if (strcmp(b->sym[k], buf) == 0) id = k; // the merged string may exist already
        if (id < 0) id = sym_add(b, buf);
        snprintf(buf, sizeof buf, "%s %s", b->sym[best_a], b->sym[best_b]);
        cJSON_AddItemToArray(merges, cJSON_CreateString(buf));
        for (int w = 0; w < b->n_words; w++) {
            int *v = b->words[w], k = 0;
            for (int i = 0; i < b->word_len[w]; i++) {
                if (i + 1 < b->word_len[w] && v[i] == best_a && v[i + 1] == best_b) {
                    v[k++] = id;
                    i++;
                } else {
                    v[k++] = v[i];
                }
            }
            b->word_len[w] = k;
        }
    }
    return merges;
}

static const char *k_specials[3] = {"<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"};

// Most frequent successor of each token in the tokenized corpus.
static void corpus_successors(const bpe_state *b, int n_vocab) {
    free(g_succ);
    g_succ = malloc((size_t)n_vocab * sizeof *g_succ);
    int *cnt = calloc((size_t)b->n_sym * (size_t)b->n_sym, sizeof(int));
    if (!g_succ || !cnt) {
        fprintf(stderr, "ingot-samples: out of memory\n");
        exit(1);
    }
    int prev = -1;
    for (int w = 0; w < b->n_words; w++)
        for (int i = 0; i < b->word_len[w]; i++) {
            int cur = b->words[w][i];
            if (prev >= 0) cnt[(size_t)prev * b->n_sym + cur]++;
            prev = cur;
        }
    for (int u = 0; u < n_vocab; u++) {
        g_succ[u] = -1;
        if (u >= b->n_sym) continue;
        int best = 0;
        for (int v = 0; v < b->n_sym; v++)
            if (cnt[(size_t)u * b->n_sym + v] > best) {
                best = cnt[(size_t)u * b->n_sym + v];
                g_succ[u] = v;
            }
    }
    free(cnt);
}

static cJSON *build_tokenizer(int n_merges, int n_vocab) {
    bpe_state b = {0};
    for (int i = 0; i < 3; i++) sym_add(&b, k_specials[i]);
    for (int i = 0; i < 256; i++) {
        char s[8];
        byte_to_unicode(i, s);
        sym_add(&b, s);
    }
    bpe_collect_words(&b);
    cJSON *merges = bpe_train(&b, n_merges);
    corpus_successors(&b, n_vocab);

    cJSON *tok = cJSON_CreateObject();
    cJSON_AddStringToObject(tok, "version", "1.0");
    cJSON_AddNullToObject(tok, "truncation");
    cJSON_AddNullToObject(tok, "padding");
    cJSON *added = cJSON_AddArrayToObject(tok, "added_tokens");
    for (int i = 0; i < 3; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", i);
        cJSON_AddStringToObject(a, "content", k_specials[i]);
        cJSON_AddBoolToObject(a, "single_word", 0);
        cJSON_AddBoolToObject(a, "lstrip", 0);
        cJSON_AddBoolToObject(a, "rstrip", 0);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(tok, "normalizer");
    cJSON *pre = cJSON_AddObjectToObject(tok, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", 0);
    cJSON_AddBoolToObject(pre, "trim_offsets", 1);
    cJSON_AddBoolToObject(pre, "use_regex", 1);
    cJSON_AddNullToObject(tok, "post_processor");
    cJSON *dec = cJSON_AddObjectToObject(tok, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON_AddBoolToObject(dec, "add_prefix_space", 1);
    cJSON_AddBoolToObject(dec, "trim_offsets", 1);
    cJSON_AddBoolToObject(dec, "use_regex", 1);
    cJSON *model = cJSON_AddObjectToObject(tok, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddNullToObject(model, "continuing_subword_prefix");
    cJSON_AddNullToObject(model, "end_of_word_suffix");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int i = 0; i < b.n_sym; i++) cJSON_AddNumberToObject(vocab, b.sym[i], i);
    cJSON_AddItemToObject(model, "merges", merges);
    for (int i = 0; i < b.n_sym; i++) free(b.sym[i]);
    for (int w = 0; w < b.n_words; w++) free(b.words[w]);
    free(b.sym);
    free(b.words);
    free(b.word_len);
    return tok;
}

// ---- config.json ----------------------------------------------------------
static cJSON *build_config(const model_spec *m) {
    cJSON *c = cJSON_CreateObject();
    const char *arch_name = m->arch == ARCH_LLAMA        ? "LlamaForCausalLM"
                            : m->arch == ARCH_QWEN3_MOE ? "Qwen3MoeForCausalLM"
                                                        : "DeepseekV3ForCausalLM";
    const char *model_type = m->arch == ARCH_LLAMA ? "llama" : m->arch == ARCH_QWEN3_MOE ? "qwen3_moe" : "deepseek_v3";
    cJSON *archs = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(archs, cJSON_CreateString(arch_name));
    cJSON_AddStringToObject(c, "model_type", model_type);
    cJSON_AddNumberToObject(c, "vocab_size", m->n_vocab);
    cJSON_AddNumberToObject(c, "hidden_size", m->n_embd);
    cJSON_AddNumberToObject(c, "intermediate_size", m->n_ff);
    cJSON_AddNumberToObject(c, "num_hidden_layers", m->n_layer);
    cJSON_AddNumberToObject(c, "num_attention_heads", m->n_head);
    cJSON_AddNumberToObject(c, "num_key_value_heads", m->n_head_kv);
    if (m->head_dim) cJSON_AddNumberToObject(c, "head_dim", m->head_dim);
    cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-6);
    cJSON_AddNumberToObject(c, "rope_theta", m->arch == ARCH_LLAMA ? 500000.0 : 1000000.0);
    cJSON_AddNumberToObject(c, "max_position_embeddings", 4096);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", m->tie);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "bos_token_id", 0);
    cJSON_AddNumberToObject(c, "eos_token_id", 1);
    cJSON_AddStringToObject(c, "torch_dtype", m->dtype == INGOT_DTYPE_F32 ? "float32" : "bfloat16");
    cJSON_AddBoolToObject(c, "attention_bias", 0);
    if (m->arch == ARCH_QWEN3_MOE) {
        cJSON_AddNumberToObject(c, "num_experts", m->n_expert);
        cJSON_AddNumberToObject(c, "num_experts_per_tok", m->n_expert_used);
        cJSON_AddNumberToObject(c, "moe_intermediate_size", m->n_ff_exp);
        cJSON_AddBoolToObject(c, "norm_topk_prob", 1);
        cJSON_AddNumberToObject(c, "decoder_sparse_step", 1);
        cJSON_AddArrayToObject(c, "mlp_only_layers");
        cJSON_AddBoolToObject(c, "use_sliding_window", 0);
        cJSON_AddNullToObject(c, "sliding_window");
        cJSON_AddNullToObject(c, "rope_scaling");
    }
    if (m->arch == ARCH_DEEPSEEK_V3) {
        cJSON_AddNumberToObject(c, "n_routed_experts", m->n_expert);
        cJSON_AddNumberToObject(c, "num_experts_per_tok", m->n_expert_used);
        cJSON_AddNumberToObject(c, "moe_intermediate_size", m->n_ff_exp);
        cJSON_AddNumberToObject(c, "n_shared_experts", m->n_shared);
        cJSON_AddNumberToObject(c, "first_k_dense_replace", m->n_dense_first);
        cJSON_AddNumberToObject(c, "moe_layer_freq", 1);
        cJSON_AddNumberToObject(c, "q_lora_rank", m->q_lora);
        cJSON_AddNumberToObject(c, "kv_lora_rank", m->kv_lora);
        cJSON_AddNumberToObject(c, "qk_nope_head_dim", m->qk_nope);
        cJSON_AddNumberToObject(c, "qk_rope_head_dim", m->qk_rope);
        cJSON_AddNumberToObject(c, "v_head_dim", m->v_head);
        cJSON_AddNumberToObject(c, "n_group", m->n_group);
        cJSON_AddNumberToObject(c, "topk_group", m->topk_group);
        cJSON_AddStringToObject(c, "topk_method", "noaux_tc");
        cJSON_AddStringToObject(c, "scoring_func", "sigmoid");
        cJSON_AddBoolToObject(c, "norm_topk_prob", 1);
        cJSON_AddNumberToObject(c, "routed_scaling_factor", 2.5);
        cJSON_AddBoolToObject(c, "rope_interleave", 1);
        cJSON_AddNullToObject(c, "rope_scaling");
        if (m->fp8) {
            cJSON *q = cJSON_AddObjectToObject(c, "quantization_config");
            cJSON_AddStringToObject(q, "quant_method", "fp8");
            cJSON_AddStringToObject(q, "fmt", "e4m3");
            cJSON_AddStringToObject(q, "activation_scheme", "dynamic");
            cJSON *wbs = cJSON_AddArrayToObject(q, "weight_block_size");
            cJSON_AddItemToArray(wbs, cJSON_CreateNumber(128));
            cJSON_AddItemToArray(wbs, cJSON_CreateNumber(128));
        }
    }
    return c;
}

static cJSON *build_generation_config(void) {
    cJSON *g = cJSON_CreateObject();
    cJSON_AddNumberToObject(g, "bos_token_id", 0);
    cJSON_AddNumberToObject(g, "eos_token_id", 1);
    cJSON_AddBoolToObject(g, "do_sample", 0);
    cJSON_AddNumberToObject(g, "temperature", 0.7);
    cJSON_AddNumberToObject(g, "top_p", 0.9);
    return g;
}

// ---- Engram (demo variant) --------------------------------------------------
// Engram keys of the sample: one Engram layer (1), orders 2..3, 4 hash heads,
// rows of 256 values (so every row type applies), a short conv of 4 taps.
// The table sizes are the primes the Engram algorithm derives; they are
// computed with ingot's own implementation from the sample's tokenizer, as
// the official module would compute them at model creation.
enum { EG_LAYER = 1, EG_N = 3, EG_H = 4, EG_DH = 256, EG_K = 4, EG_PAD = 2 };
static const uint64_t k_eg_base[EG_N - 1] = {3000, 4000};
static int64_t g_eg_offsets[(EG_N - 1) * EG_H];

// DeepSeek-V4.1 spelling: heads and row width directly, one base size for
// every order, no conv, no seed key.
static void add_engram_v41_config(cJSON *c) {
    cJSON *ids = cJSON_AddArrayToObject(c, "engram_layer_ids");
    cJSON_AddItemToArray(ids, cJSON_CreateNumber(EG_LAYER));
    cJSON_AddNumberToObject(c, "engram_max_ngram_size", EG_N);
    cJSON_AddNumberToObject(c, "engram_n_heads", EG_H);
    cJSON_AddNumberToObject(c, "engram_head_dim", EG_DH);
    cJSON_AddNumberToObject(c, "engram_vocab_size", (double)k_eg_base[0]);
    cJSON_AddNumberToObject(c, "engram_pad_token_id", EG_PAD);
    cJSON_AddNumberToObject(c, "hc_mult", 1);
    cJSON_AddStringToObject(c, "engram_variant", "v4.1");
}

// V4.1 tensors (layers.L.engram.*, as V4.1 checkpoints spell them): the FP8
// table with one E8M0 scale per 32 values of a row, the fused FP8 wkv
// ([key; value] rows) with E8M0 scales per 32×32 tile, bf16 q/k norm weights.
static void add_engram_v41_tensors(tensor_list *l, uint64_t n_rows, uint64_t D) {
    const uint64_t dmem = (uint64_t)(EG_N - 1) * EG_H * EG_DH;
    char nm[200];
#define N(x) (snprintf(nm, sizeof nm, "layers.%d.engram.%s", EG_LAYER, x), nm)
    gen_tensor *t = add(l, N("embed.weight"), INGOT_DTYPE_F8_E4M3, 2, n_rows, EG_DH, 0, INIT_NORMAL, 0.5f);
    t->fp8 = true;
    t->fp8_br = 1;
    t->fp8_bc = 32;
    add(l, N("embed.scale"), INGOT_DTYPE_E8M0, 2, n_rows, EG_DH / 32, 0, INIT_NORMAL, 0)->fp8_scale = true;
    t = add(l, N("wkv.weight"), INGOT_DTYPE_F8_E4M3, 2, 2 * D, dmem, 0, INIT_NORMAL, 1.0f / sqrtf((float)dmem));
    t->fp8 = true;
    t->fp8_br = 32;
    t->fp8_bc = 32;
    add(l, N("wkv.scale"), INGOT_DTYPE_E8M0, 2, (2 * D + 31) / 32, (dmem + 31) / 32, 0, INIT_NORMAL, 0)->fp8_scale = true;
    add(l, N("q_weight"), INGOT_DTYPE_BF16, 2, 1, D, 0, INIT_NORM, 0.05f);
    add(l, N("k_weight"), INGOT_DTYPE_BF16, 2, 1, D, 0, INIT_NORM, 0.05f);
#undef N
}

static void add_engram_config(cJSON *c, uint64_t compressed_vocab, uint64_t n_rows) {
    cJSON *ids = cJSON_AddArrayToObject(c, "engram_layer_ids");
    cJSON_AddItemToArray(ids, cJSON_CreateNumber(EG_LAYER));
    cJSON_AddNumberToObject(c, "engram_max_ngram_size", EG_N);
    cJSON_AddNumberToObject(c, "engram_n_head_per_ngram", EG_H);
    cJSON_AddNumberToObject(c, "engram_n_embed_per_ngram", EG_H * EG_DH);
    cJSON *vs = cJSON_AddArrayToObject(c, "engram_vocab_size");
    for (int i = 0; i < EG_N - 1; i++) cJSON_AddItemToArray(vs, cJSON_CreateNumber((double)k_eg_base[i]));
    cJSON_AddNumberToObject(c, "engram_kernel_size", EG_K);
    cJSON_AddNumberToObject(c, "engram_pad_id", EG_PAD);
    cJSON_AddNumberToObject(c, "engram_seed", 0);
    if (compressed_vocab) cJSON_AddNumberToObject(c, "engram_compressed_vocab_size", (double)compressed_vocab);
    if (n_rows) {
        cJSON *ne = cJSON_AddArrayToObject(c, "engram_num_embeddings");
        cJSON_AddItemToArray(ne, cJSON_CreateNumber((double)n_rows));
    }
    cJSON_AddNumberToObject(c, "hc_mult", 1);
    cJSON_AddStringToObject(c, "engram_variant", "demo");
    cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "architectures");
    if (a) cJSON_ReplaceItemInArray(a, 0, cJSON_CreateString("Qwen3MoeEngramForCausalLM"));
}

// Derive V' and the table rows from the tokenizer and the Engram keys, then
// complete the config and add the Engram tensors.
static int add_engram(const model_spec *m, cJSON *cfg, const char *tokenizer_json, tensor_list *l) {
    ingot_err err = {0};
    int32_t *lookup = NULL;
    uint64_t V = 0, Vc = 0;
    if (ingot_engram_compress_build(tokenizer_json, strlen(tokenizer_json), &lookup, &V, &Vc, &err) != INGOT_OK) {
        fprintf(stderr, "ingot-samples: engram compression map: %s\n", err.msg);
        return 1;
    }
    if (m->engram_v41) add_engram_v41_config(cfg);
    else add_engram_config(cfg, 0, 0);
    char *text = cJSON_PrintUnformatted(cfg);
    ingot_engram_config ec;
    bool present = false;
    ingot_engram_params p;
    ingot_status st = ingot_engram_config_parse(text, strlen(text), &ec, &present, &err);
    free(text);
    if (st == INGOT_OK) st = ingot_engram_params_build(&ec, V, Vc, (uint64_t)lookup[EG_PAD], &p, &err);
    ingot_free(lookup);
    if (st != INGOT_OK || !present) {
        fprintf(stderr, "ingot-samples: engram parameters: %s\n", err.msg);
        return 1;
    }
    cJSON_DeleteItemFromObject(cfg, "engram_compressed_vocab_size");
    cJSON_AddNumberToObject(cfg, "engram_compressed_vocab_size", (double)Vc);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cfg, "engram_num_embeddings"), cJSON_CreateNumber((double)p.layers[0].n_rows));
    for (int j = 0; j < (EG_N - 1) * EG_H; j++) g_eg_offsets[j] = (int64_t)p.layers[0].offset[j];
    if (m->engram_v41) {
        add_engram_v41_tensors(l, p.layers[0].n_rows, (uint64_t)m->n_embd);
        return 0;
    }
    char nm[200];
    uint64_t D = (uint64_t)m->n_embd, dmem = (uint64_t)(EG_N - 1) * EG_H * EG_DH;
    ingot_dtype dt = m->dtype;
#define N(x) (snprintf(nm, sizeof nm, "model.layers.%d.engram.%s", EG_LAYER, x), nm)
    add(l, N("multi_head_embedding.embedding.weight"), dt, 2, p.layers[0].n_rows, EG_DH, 0, INIT_NORMAL, 0.5f);
    gen_tensor *off = add(l, N("multi_head_embedding.offsets"), INGOT_DTYPE_I64, 1, (EG_N - 1) * EG_H, 0, 0,
                          INIT_NORMAL, 0);
    off->i64 = g_eg_offsets;
    add(l, N("value_proj.weight"), dt, 2, D, dmem, 0, INIT_NORMAL, 1.0f / sqrtf((float)dmem));
    add(l, N("value_proj.bias"), dt, 1, D, 0, 0, INIT_NORMAL, 0.02f);
    add(l, N("key_projs.0.weight"), dt, 2, D, dmem, 0, INIT_NORMAL, 1.0f / sqrtf((float)dmem));
    add(l, N("key_projs.0.bias"), dt, 1, D, 0, 0, INIT_NORMAL, 0.02f);
    add(l, N("norm1.0.weight"), dt, 1, D, 0, 0, INIT_NORM, 0.05f);
    add(l, N("norm2.0.weight"), dt, 1, D, 0, 0, INIT_NORM, 0.05f);
    add(l, N("short_conv.norms.0.weight"), dt, 1, D, 0, 0, INIT_NORM, 0.05f);
    add(l, N("short_conv.conv.weight"), dt, 3, D, 1, EG_K, INIT_NORMAL, 0.5f);
#undef N
    return 0;
}

// ---- main -----------------------------------------------------------------
static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot-samples --preset NAME -o DIR [OPTIONS]\n"
            "\n"
            "Writes a deterministic Hugging Face-layout checkpoint.\n"
            "\n"
            "Options:\n"
            "  --preset NAME      one of:");
    for (size_t i = 0; i < sizeof k_presets / sizeof *k_presets; i++) fprintf(out, " %s", k_presets[i].preset);
    fprintf(out,
            "\n"
            "  -o DIR             output folder (created)\n"
            "  --scale K          multiply the layer count by K (multi-GB benchmark checkpoints) [default: 1]\n"
            "  --dtype T          bf16 or f32 for non-FP8 tensors [default: the preset's]\n"
            "  --seed N           random seed [default: 1]\n"
            "  --shard-size BYTES shard when the weights exceed this [default: 2147483648]\n"
            "  -h, --help         show this help\n");
}

int main(int argc, char **argv) {
    const char *preset = NULL, *out = NULL, *dtype = NULL;
    double scale = 1;
    uint64_t seed = 1, shard = 2147483648ull;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "ingot-samples: %s needs a value or is unknown\n", a);
            return 2;
        }
        if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--scale")) scale = atof(v);
        else if (!strcmp(a, "--dtype")) dtype = v;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--shard-size")) shard = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "ingot-samples: unknown option '%s'\n", a);
            return 2;
        }
        i++;
    }
    if (!preset || !out) {
        usage(stderr);
        return 2;
    }
    model_spec m;
    bool found = false;
    for (size_t i = 0; i < sizeof k_presets / sizeof *k_presets; i++)
        if (!strcmp(k_presets[i].preset, preset)) {
            m = k_presets[i];
            found = true;
        }
    if (!found) {
        fprintf(stderr, "ingot-samples: unknown preset '%s'\n", preset);
        usage(stderr);
        return 2;
    }
    if (!(scale >= 1 && scale <= 1000) || shard < 1024) {
        fprintf(stderr, "ingot-samples: --scale must be in [1, 1000] and --shard-size at least 1024\n");
        return 2;
    }
    m.n_layer = (int)lround(m.n_layer * scale);
    if (dtype) {
        int t = ingot_dtype_from_name(dtype);
        if (t != INGOT_DTYPE_BF16 && t != INGOT_DTYPE_F32) {
            fprintf(stderr, "ingot-samples: --dtype must be bf16 or f32\n");
            return 2;
        }
        m.dtype = (ingot_dtype)t;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ingot-samples: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    tensor_list l = {0};
    build_tensors(&m, &l);
    g_embd = &l.v[0]; // model.embed_tokens.weight is always first
    cJSON *cfg = build_config(&m), *gen = build_generation_config(), *tok = build_tokenizer(m.bpe_merges, m.n_vocab);
    if (m.engram) {
        char *tj = cJSON_PrintUnformatted(tok);
        int erc = add_engram(&m, cfg, tj, &l);
        free(tj);
        if (erc) return 1;
        g_embd = &l.v[0]; // the list may have moved
    }
    int rc = write_json(out, "config.json", cfg) || write_json(out, "generation_config.json", gen) ||
             write_json(out, "tokenizer.json", tok) || write_weights(out, &l, shard, seed);
    cJSON_Delete(cfg);
    cJSON_Delete(gen);
    cJSON_Delete(tok);
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++) total += l.v[i].size;
    free(l.v);
    free(g_scales);
    free(g_scale_bytes);
    free(g_succ);
    if (rc) return 1;
    printf("%s: %s, %zu tensors, %.1f MB of weights\n", out, preset, l.n, total / 1e6);
    return 0;
}
