// convert/: every fixture checkpoint converts (keep bit-exact, q8_0 within
// its error bound), config dialects, expert layouts, tied heads, archives,
// FP8 block scales, each error path leaving nothing behind, atomicity under
// SIGINT, --force, --dry-run and thread-count determinism. Synthetic
// checkpoints are written by a small generator below (no Python).
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <xxhash.h>

#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/quantize.h"
#include "ingot/runner.h"
#include "ingot/safetensors.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

// ---- small file helpers ---------------------------------------------------

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int dir_count(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static bool write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    const bool ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    return fclose(f) == 0 && ok;
}

static char *read_file(const char *path, size_t *n) {
    char *buf = NULL;
    size_t len = 0;
    ingot_err err = {0};
    if (ingot_file_read_all(path, (size_t)1 << 31, &buf, &len, &err) != INGOT_OK) return NULL;
    if (n) *n = len;
    return buf;
}

static bool copy_file(const char *from, const char *to) {
    size_t n = 0;
    char *b = read_file(from, &n);
    if (!b) return false;
    FILE *f = fopen(to, "wb");
    bool ok = f && fwrite(b, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    ingot_free(b);
    return ok;
}

static bool files_equal(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    const bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    ingot_free(x);
    ingot_free(y);
    return eq;
}

// A fresh temporary folder, removed with its contents when the test exits.
static char g_tmpdirs[8][256];
static int g_n_tmpdirs;

static void remove_tmpdirs(void) {
    for (int i = 0; i < g_n_tmpdirs; i++) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%.250s'", g_tmpdirs[i]);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmpdirs[i]);
    }
}

static const char *test_tmpdir(void) {
    const char *d = ingot_test_tmpdir();
    if (g_n_tmpdirs == 0) atexit(remove_tmpdirs);
    if (g_n_tmpdirs < 8) snprintf(g_tmpdirs[g_n_tmpdirs++], sizeof g_tmpdirs[0], "%s", d);
    return d;
}

// ---- synthetic Llama checkpoints ------------------------------------------

typedef struct gen_opts {
    int n_embd, n_layer, n_head, n_kv, n_ff, n_vocab;
    ingot_dtype dt;           // BF16 or F32
    const char *skip;         // leave this tensor out
    const char *extra;        // add an unexpected [8] tensor with this name
    const char *nan_in;       // element 5 of this tensor is NaN
    int cfg_n_ff;             // intermediate_size written to config.json (0: n_ff)
    const char *arch_json;    // replaces the "architectures"/"model_type" pair
} gen_opts;

typedef struct gen_tensor {
    char name[128];
    uint32_t n_dims;
    uint64_t dims[2];
    bool norm;
} gen_tensor;

static int gen_list(const gen_opts *g, gen_tensor *t) {
    int n = 0;
    const uint64_t E = (uint64_t)g->n_embd, F = (uint64_t)g->n_ff, V = (uint64_t)g->n_vocab;
    const uint64_t KV = (uint64_t)g->n_kv * (uint64_t)(g->n_embd / g->n_head);
#define ADD(nm, d0, d1, isnorm)                                                                   \
    do {                                                                                          \
        snprintf(t[n].name, sizeof t[n].name, "%s", nm);                                          \
        t[n].n_dims = (d1) ? 2 : 1;                                                               \
        t[n].dims[0] = (d0);                                                                      \
        t[n].dims[1] = (d1);                                                                      \
        t[n].norm = (isnorm);                                                                     \
        if (!g->skip || strcmp(g->skip, t[n].name)) n++;                                          \
    } while (0)
    ADD("model.embed_tokens.weight", V, E, false);
    for (int l = 0; l < g->n_layer; l++) {
        char b[128];
        static const char *const names[] = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                                            "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
                                            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
        const uint64_t d0[] = {E, E, KV, KV, E, E, F, F, E}, d1[] = {0, E, E, E, E, 0, E, E, F};
        for (int i = 0; i < 9; i++) {
            snprintf(b, sizeof b, "model.layers.%d.%s.weight", l, names[i]);
            ADD(b, d0[i], d1[i], d1[i] == 0);
        }
    }
    ADD("model.norm.weight", E, 0, true);
    ADD("lm_head.weight", V, E, false);
    if (g->extra) ADD(g->extra, 8, 0, false);
#undef ADD
    return n;
}

// Streams the tensors of `g` into dir/model.safetensors in 1 MiB chunks.
static int gen_safetensors(const char *path, const gen_opts *g, const gen_tensor *t, int n) {
    const uint32_t es = g->dt == INGOT_DTYPE_BF16 ? 2 : 4;
    size_t cap = 256 + (size_t)n * 200, used = 0;
    char *hdr = malloc(cap);
    uint64_t off = 0;
    used += (size_t)snprintf(hdr + used, cap - used, "{");
    for (int i = 0; i < n; i++) {
        const uint64_t bytes = t[i].dims[0] * (t[i].n_dims == 2 ? t[i].dims[1] : 1) * es;
        if (t[i].n_dims == 2)
            used += (size_t)snprintf(hdr + used, cap - used, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                                     i ? "," : "", t[i].name, es == 2 ? "BF16" : "F32", (unsigned long long)t[i].dims[0],
                                     (unsigned long long)t[i].dims[1], (unsigned long long)off, (unsigned long long)(off + bytes));
        else
            used += (size_t)snprintf(hdr + used, cap - used, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu],\"data_offsets\":[%llu,%llu]}",
                                     i ? "," : "", t[i].name, es == 2 ? "BF16" : "F32", (unsigned long long)t[i].dims[0],
                                     (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    used += (size_t)snprintf(hdr + used, cap - used, "}");
    while (used % 8) hdr[used++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    const uint64_t hlen = used;
    fwrite(&hlen, 8, 1, f);
    fwrite(hdr, 1, used, f);
    free(hdr);
    uint8_t *buf = malloc(1 << 20);
    for (int i = 0; i < n; i++) {
        const uint64_t cnt = t[i].dims[0] * (t[i].n_dims == 2 ? t[i].dims[1] : 1);
        uint64_t seed = XXH3_64bits(t[i].name, strlen(t[i].name));
        const bool nan_here = g->nan_in && !strcmp(g->nan_in, t[i].name);
        for (uint64_t e0 = 0; e0 < cnt;) {
            const uint64_t m = cnt - e0 < (1u << 20) / es ? cnt - e0 : (1u << 20) / es;
            for (uint64_t k = 0; k < m; k++) {
                float v = (float)((double)(rng_next(&seed) >> 11) * 0x1p-53 - 0.5) * 0.1f;
                if (t[i].norm) v += 1.0f;
                if (nan_here && e0 + k == 5) v = NAN;
                if (es == 2) {
                    const uint16_t h = ingot_f32_to_bf16(v);
                    memcpy(buf + 2 * k, &h, 2);
                } else {
                    memcpy(buf + 4 * k, &v, 4);
                }
            }
            fwrite(buf, es, m, f);
            e0 += m;
        }
    }
    free(buf);
    return fclose(f) == 0 ? 0 : 1;
}

static int gen_llama(const char *dir, const gen_opts *g) {
    mkdir(dir, 0755);
    char path[512], cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{%s, \"vocab_size\": %d, \"hidden_size\": %d, \"num_hidden_layers\": %d,"
             " \"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"intermediate_size\": %d,"
             " \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"max_position_embeddings\": 256,"
             " \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\", \"bos_token_id\": 1, \"eos_token_id\": 2}",
             g->arch_json ? g->arch_json : "\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\"",
             g->n_vocab, g->n_embd, g->n_layer, g->n_head, g->n_kv, g->cfg_n_ff ? g->cfg_n_ff : g->n_ff);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!write_text(path, cfg)) return 1;
    gen_tensor *t = calloc((size_t)(g->n_layer * 9 + 8), sizeof *t);
    const int n = gen_list(g, t);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const int rc = gen_safetensors(path, g, t, n);
    free(t);
    return rc;
}

static gen_opts small_llama(void) {
    gen_opts g = {.n_embd = 256, .n_layer = 2, .n_head = 4, .n_kv = 2, .n_ff = 512, .n_vocab = 512,
                  .dt = INGOT_DTYPE_BF16};
    return g;
}

static int gen_case(const gen_opts *g, char *dir, size_t dcap, char *out, size_t ocap) {
    const char *tmp = test_tmpdir();
    snprintf(dir, dcap, "%s/ck", tmp);
    char od[300];
    snprintf(od, sizeof od, "%.280s/out", tmp);
    mkdir(od, 0755);
    snprintf(out, ocap, "%s/x.ingot", od);
    return gen_llama(dir, g);
}

// ---- a minimal ustar writer (archives without external tools) -------------

static void tar_header(FILE *f, const char *name, uint64_t size) {
    unsigned char h[512];
    memset(h, 0, sizeof h);
    memcpy(h, name, strnlen(name, 99));
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    fwrite(h, 1, 512, f);
}

static bool tar_add(FILE *f, const char *member, const char *path) {
    size_t n = 0;
    char *b = read_file(path, &n);
    if (!b) return false;
    tar_header(f, member, n);
    fwrite(b, 1, n, f);
    static const char zero[512];
    if (n % 512) fwrite(zero, 1, 512 - n % 512, f);
    ingot_free(b);
    return true;
}

static bool tar_folder(const char *tar, const char *dir, const char *const *files, int n) {
    FILE *f = fopen(tar, "wb");
    if (!f) return false;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        char src[512], member[256];
        snprintf(src, sizeof src, "%s/%s", dir, files[i]);
        snprintf(member, sizeof member, "ckpt/%s", files[i]);
        ok = tar_add(f, member, src);
    }
    static const char zero[1024];
    fwrite(zero, 1, sizeof zero, f);
    return fclose(f) == 0 && ok;
}

// ---- conversion helpers -----------------------------------------------------

static ingot_status convert_to(const char *src, const char *dst, const char *preset, int threads,
                               ingot_convert_report *rep, ingot_err *err) {
    ingot_convert_opts o = {.src = src, .dst = dst, .preset = preset, .n_threads = threads};
    return ingot_convert(&o, rep, err);
}

// Compares every tensor of `out` with its source bytes (mapping from the
// description); non-keep types are checked against their error bound.
static int check_against_source(const char *src, const char *out, bool want_keep) {
    ingot_err err = {0};
    ingot_checkpoint *ck = NULL;
    ingot_model_desc *m = NULL;
    ingot_container *c = NULL;
    CHECK_OK(ingot_checkpoint_open(src, &ck, &err), &err);
    CHECK_OK(ingot_model_describe(ck, NULL, 0, 0, &m, &err), &err);
    CHECK_OK(ingot_container_open(out, INGOT_OPEN_VERIFY, &c, &err), &err);
    CHECK_EQ_U64(ingot_container_n_tensors(c), ingot_model_desc_n_tensors(m));
    for (size_t i = 0; i < ingot_model_desc_n_tensors(m); i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(m, i);
        const int64_t ci = ingot_container_find_tensor(c, mt->name);
        CHECK_MSG(ci >= 0, "%s missing from %s", mt->name, out);
        const ingot_tensor_info *ti = ingot_container_tensor(c, (size_t)ci);
        const uint8_t *got = ingot_container_tensor_data(c, (size_t)ci);
        const uint8_t *want = ingot_checkpoint_tensor_data(ck, mt->src) + mt->src_off;
        if (want_keep) {
            CHECK_MSG(ti->dtype == mt->src_dtype || ti->dtype == INGOT_DTYPE_F8_E4M3_B128, "%s: %s", mt->name,
                      ingot_dtype_name(ti->dtype));
            CHECK_MSG(memcmp(got, want, (size_t)mt->src_bytes) == 0, "%s differs from its source", mt->name);
            continue;
        }
        const uint64_t cols = mt->dims[mt->n_dims - 1], n = mt->src_bytes / ingot_dtype_get(mt->src_dtype)->type_size;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        CHECK(ingot_dtype_decode_f32(mt->src_dtype, want, n, x));
        if (ti->dtype == INGOT_DTYPE_Q8_0) {
            const ingot_quant_traits *q = ingot_quant_get(INGOT_DTYPE_Q8_0);
            for (uint64_t r = 0; r < n / cols; r++) q->dequantize_row(got + r * (cols / 32) * 34, y + r * cols, (int64_t)cols);
            // Per 32-block: d = amax/127 rounded to f16, |x - q d| <= d/2 plus
            // 127 * (f16 rounding of d) <= d * (0.5 + 127 * 2^-11).
            for (uint64_t b = 0; b < n / 32; b++) {
                float amax = 0;
                for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(x[b * 32 + k]));
                const double bound = amax / 127.0 * (0.5 + 127.0 / 2048.0) + 1e-12;
                for (int k = 0; k < 32; k++)
                    CHECK_MSG(fabs((double)x[b * 32 + k] - y[b * 32 + k]) <= bound, "%s element %llu: %g vs %g",
                              mt->name, (unsigned long long)(b * 32 + k), x[b * 32 + k], y[b * 32 + k]);
            }
        } else {
            CHECK_MSG(ingot_dtype_decode_f32(ti->dtype, got, n, y), "%s: type %s", mt->name, ingot_dtype_name(ti->dtype));
            for (uint64_t k = 0; k < n; k++) {
                // f32 exact; f16/bf16 round to nearest: relative 2^-11 / 2^-8.
                const double tol = ti->dtype == INGOT_DTYPE_F32 ? 0 : fabs(x[k]) * (ti->dtype == INGOT_DTYPE_F16 ? 0x1p-11 : 0x1p-8) + 1e-7;
                CHECK_MSG(fabs((double)x[k] - y[k]) <= tol, "%s element %llu: %g vs %g", mt->name, (unsigned long long)k,
                          x[k], y[k]);
            }
        }
        free(x);
        free(y);
    }
    ingot_container_close(c);
    ingot_model_desc_free(m);
    ingot_checkpoint_close(ck);
    return 0;
}

static const char *const k_fixtures[] = {
    "hf/llama", "hf/qwen3", "hf/qwen3_moe", "hf/mixtral", "hf/deepseek_v3",
    "hf/llama/bf16", "hf/qwen3/bf16", "hf/qwen3_moe/bf16", "hf/mixtral/bf16", "hf/deepseek_v3/bf16",
    "thirdparty/agilerl/tiny_qwen3_moe",
    "thirdparty/neuralapi/mixtral", "thirdparty/neuralapi/qwen3_moe", "thirdparty/neuralapi/deepseek_v2",
    "thirdparty/neuralapi/olmoe", "thirdparty/neuralapi/qwen3_moe_mixed", "thirdparty/neuralapi/qwen3_moe_window",
    "thirdparty/neuralapi/deepseek_v2_yarn", "thirdparty/neuralapi/dense_llama", "thirdparty/neuralapi/dense_qwen3",
    "thirdparty/neuralapi/dense_smollm2", "thirdparty/neuralapi/llama_sharded",
    "thirdparty/atenia/qwen_moe_tiny", "thirdparty/atenia/full_mixtral", "thirdparty/atenia/mixtral_classic",
    "thirdparty/atenia/gqa_mixtral", "thirdparty/atenia/mixtral_scale", "thirdparty/atenia/qwen_scale",
    "thirdparty/atenia/deepseek_full", "thirdparty/atenia/deepseek_scale", "thirdparty/atenia/deepseek_v2lite_mla0",
    "engram/qwen3_moe_engram",
};

static int fixtures_convert(const char *preset, bool keep) {
    SKIP_WITHOUT_FIXTURES(fx);
    const char *tmp = test_tmpdir();
    int done = 0;
    for (size_t i = 0; i < sizeof k_fixtures / sizeof *k_fixtures; i++) {
        char src[1024], out[1024];
        snprintf(src, sizeof src, "%s/%s", fx, k_fixtures[i]);
        if (!file_exists(src)) continue;
        snprintf(out, sizeof out, "%s/f%zu.ingot", tmp, i);
        ingot_err err = {0};
        ingot_convert_report rep;
        CHECK_MSG(convert_to(src, out, preset, 2, &rep, &err) == INGOT_OK, "%s: %s", k_fixtures[i], err.msg);
        CHECK(rep.n_tensors > 0 && rep.out_bytes > 0);
        ingot_convert_report_free(&rep);
        if (check_against_source(src, out, keep)) INGOT_FAILF("fixture %s", k_fixtures[i]);
        unlink(out);
        done++;
    }
    printf("%d fixture checkpoints converted with %s\n", done, preset);
    rmdir(tmp);
    return 0;
}

static int test_convert_fixtures_keep(void) { return fixtures_convert("keep", true); }
static int test_convert_fixtures_q8_0(void) { return fixtures_convert("q8_0", false); }

// ---- expert layouts -------------------------------------------------------

// Packed transformers-5 experts: gate = rows [0, I) of gate_up_proj[e], up =
// rows [I, 2I), down = down_proj[e]; offsets computed here from the shapes.
static int test_convert_packed_expert_slices(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[1024], out[1024];
    snprintf(src, sizeof src, "%s/thirdparty/atenia/qwen_moe_tiny", fx);
    const char *tmp = test_tmpdir();
    snprintf(out, sizeof out, "%s/p.ingot", tmp);
    ingot_err err = {0};
    CHECK_OK(convert_to(src, out, "keep", 1, NULL, &err), &err);
    ingot_checkpoint *ck = NULL;
    ingot_container *c = NULL;
    CHECK_OK(ingot_checkpoint_open(src, &ck, &err), &err);
    CHECK_OK(ingot_container_open(out, 0, &c, &err), &err);
    const int64_t gu = ingot_checkpoint_find(ck, "model.layers.1.mlp.experts.gate_up_proj");
    const int64_t dn = ingot_checkpoint_find(ck, "model.layers.1.mlp.experts.down_proj");
    CHECK(gu >= 0 && dn >= 0);
    const ingot_st_tensor *tg = ingot_checkpoint_tensor(ck, (size_t)gu);
    const uint64_t E = tg->dims[0], I = tg->dims[1] / 2, H = tg->dims[2];
    CHECK_EQ_U64(I, 16);
    CHECK_EQ_U64(H, 32);
    for (uint64_t e = 0; e < E; e++) {
        static const char *const names[] = {"ffn_gate", "ffn_up", "ffn_down"};
        for (int p = 0; p < 3; p++) {
            char name[128];
            snprintf(name, sizeof name, "blk.1.exp.%llu.%s.weight", (unsigned long long)e, names[p]);
            const int64_t ci = ingot_container_find_tensor(c, name);
            CHECK_MSG(ci >= 0, "%s missing", name);
            const ingot_tensor_info *ti = ingot_container_tensor(c, (size_t)ci);
            const uint8_t *want = p < 2 ? ingot_checkpoint_tensor_data(ck, (size_t)gu) + (e * 2 * I + (uint64_t)p * I) * H * 4
                                        : ingot_checkpoint_tensor_data(ck, (size_t)dn) + e * H * I * 4;
            CHECK_EQ_U64(ti->size, I * H * 4);
            CHECK_EQ_U64(ti->dims[0], p < 2 ? I : H);
            CHECK(memcmp(ingot_container_tensor_data(c, (size_t)ci), want, (size_t)ti->size) == 0);
        }
    }
    // One region per MoE layer, one expert's three tensors contiguous.
    const int64_t g0 = ingot_container_find_tensor(c, "blk.1.exp.2.ffn_gate.weight");
    const int64_t u0 = ingot_container_find_tensor(c, "blk.1.exp.2.ffn_up.weight");
    const int64_t d0 = ingot_container_find_tensor(c, "blk.1.exp.2.ffn_down.weight");
    CHECK(u0 == g0 + 1 && d0 == g0 + 2);
    const ingot_region_info *reg = ingot_container_region(c, ingot_container_tensor(c, (size_t)g0)->region);
    CHECK_EQ_INT(reg->kind, INGOT_REGION_EXPERTS);
    CHECK_EQ_INT(reg->layer, 1);
    ingot_container_close(c);
    ingot_checkpoint_close(ck);
    unlink(out);
    rmdir(tmp);
    return 0;
}

// The same Mixtral weights stored per expert (w1/w3/w2) and packed
// (gate_up_proj/down_proj) convert to identical expert tensors.
static int test_convert_mixtral_layouts_agree(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char a[1024], b[1024], oa[1024], ob[1024];
    snprintf(a, sizeof a, "%s/thirdparty/atenia/mixtral_classic", fx);
    snprintf(b, sizeof b, "%s/thirdparty/atenia/full_mixtral", fx);
    const char *tmp = test_tmpdir();
    snprintf(oa, sizeof oa, "%s/a.ingot", tmp);
    snprintf(ob, sizeof ob, "%s/b.ingot", tmp);
    ingot_err err = {0};
    CHECK_OK(convert_to(a, oa, "keep", 2, NULL, &err), &err);
    CHECK_OK(convert_to(b, ob, "keep", 2, NULL, &err), &err);
    ingot_container *ca = NULL, *cb = NULL;
    CHECK_OK(ingot_container_open(oa, 0, &ca, &err), &err);
    CHECK_OK(ingot_container_open(ob, 0, &cb, &err), &err);
    CHECK_EQ_U64(ingot_container_n_tensors(ca), ingot_container_n_tensors(cb));
    int n_exp = 0;
    for (size_t i = 0; i < ingot_container_n_tensors(ca); i++) {
        const ingot_tensor_info *ta = ingot_container_tensor(ca, i);
        const int64_t j = ingot_container_find_tensor(cb, ta->name);
        CHECK_MSG(j >= 0, "%s missing", ta->name);
        CHECK_EQ_U64(ingot_container_tensor(cb, (size_t)j)->xxh3, ta->xxh3);
        if (strstr(ta->name, ".exp.")) n_exp++;
    }
    CHECK_EQ_INT(n_exp, 2 * 4 * 3);
    ingot_container_close(ca);
    ingot_container_close(cb);
    unlink(oa);
    unlink(ob);
    rmdir(tmp);
    return 0;
}

// Packed transformers-5 expert layouts and MLA without q_lora, converted with
// keep and run by the runner, give the logits the HF code computed
// (reference_*.json: input_ids, hf_logits [seq * vocab]).
static int test_convert_packed_logits_match_hf(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const char *const names[] = {"qwen_moe_tiny", "full_mixtral", "gqa_mixtral", "deepseek_full"};
    const char *tmp = test_tmpdir();
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char src[1024], ref[1100], out[600];
        snprintf(src, sizeof src, "%s/thirdparty/atenia/%s", fx, names[i]);
        snprintf(ref, sizeof ref, "%s/reference_%s.json", src, names[i]);
        snprintf(out, sizeof out, "%s/r.ingot", tmp);
        ingot_err err = {0};
        ingot_convert_opts o = {.src = src, .dst = out, .preset = "keep", .force = true};
        CHECK_OK(ingot_convert(&o, NULL, &err), &err);
        char *txt = read_file(ref, NULL);
        CHECK(txt);
        cJSON *j = cJSON_Parse(txt);
        ingot_free(txt);
        const cJSON *ids = cJSON_GetObjectItem(j, "input_ids"), *want = cJSON_GetObjectItem(j, "hf_logits");
        const int n = cJSON_GetArraySize(ids);
        CHECK(n > 0 && n <= 64);
        int32_t tok[64];
        for (int k = 0; k < n; k++) tok[k] = (int32_t)cJSON_GetArrayItem(ids, k)->valuedouble;
        ingot_model *m = NULL;
        ingot_state *st = NULL;
        CHECK_OK(ingot_model_open(out, &m, &err), &err);
        CHECK_OK(ingot_state_create(m, 64, 64, NULL, &st, &err), &err);
        CHECK_OK(ingot_model_forward(m, st, tok, n, 0, INGOT_FORWARD_ALL_LOGITS, &err), &err);
        int rows = 0;
        const float *lg = ingot_state_logits(st, &rows);
        CHECK_EQ_INT(rows, n);
        const int total = cJSON_GetArraySize(want);
        double worst = 0;
        for (int k = 0; k < total; k++) worst = fmax(worst, fabs(lg[k] - cJSON_GetArrayItem(want, k)->valuedouble));
        CHECK_MSG(worst < 2e-3, "%s: max |logit - hf| = %g", names[i], worst);
        printf("%-16s max |logit - hf| = %.3g over %d values\n", names[i], worst, total);
        ingot_state_free(st);
        ingot_model_close(m);
        cJSON_Delete(j);
        unlink(out);
    }
    rmdir(tmp);
    return 0;
}

// ---- config -----------------------------------------------------------------

static char *describe_json(ingot_checkpoint *ck, const char *cfg, ingot_err *err) {
    ingot_model_desc *m = NULL;
    if (ingot_model_describe(ck, cfg, strlen(cfg), 0, &m, err) != INGOT_OK) return NULL;
    char *s = strdup(ingot_model_desc_json(m));
    ingot_model_desc_free(m);
    return s;
}

// transformers 4 keys, transformers 5 keys and a config without
// `architectures` describe the same model.
static int test_convert_config_dialects(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[1024];
    snprintf(src, sizeof src, "%s/hf/qwen3_moe", fx);
    ingot_err err = {0};
    ingot_checkpoint *ck = NULL;
    CHECK_OK(ingot_checkpoint_open(src, &ck, &err), &err);
    size_t n = 0;
    const char *orig = ingot_checkpoint_aux(ck, "config.json", &n);
    CHECK(orig != NULL);
    cJSON *v5 = cJSON_Parse(orig);
    const cJSON *ne = cJSON_GetObjectItem(v5, "num_experts");
    const cJSON *rt = cJSON_GetObjectItem(v5, "rope_theta");
    CHECK(cJSON_IsNumber(ne) && cJSON_IsNumber(rt));
    cJSON_AddNumberToObject(v5, "num_local_experts", ne->valuedouble);
    cJSON *rp = cJSON_AddObjectToObject(v5, "rope_parameters");
    cJSON_AddNumberToObject(rp, "rope_theta", rt->valuedouble);
    cJSON_AddStringToObject(rp, "rope_type", "default");
    cJSON_DeleteItemFromObject(v5, "num_experts");
    cJSON_DeleteItemFromObject(v5, "rope_theta");
    cJSON_DeleteItemFromObject(v5, "torch_dtype");
    cJSON_AddStringToObject(v5, "dtype", "float32");
    char *t5 = cJSON_PrintUnformatted(v5);
    cJSON_DeleteItemFromObject(v5, "architectures");
    char *t5na = cJSON_PrintUnformatted(v5);
    cJSON_Delete(v5);
    char *j4 = describe_json(ck, orig, &err);
    CHECK_MSG(j4, "%s", err.msg);
    char *j5 = describe_json(ck, t5, &err);
    CHECK_MSG(j5, "%s", err.msg);
    char *jna = describe_json(ck, t5na, &err);
    CHECK_MSG(jna, "%s", err.msg);
    CHECK_MSG(!strcmp(j4, j5), "%s\nvs\n%s", j4, j5);
    CHECK_MSG(!strcmp(j4, jna), "%s\nvs\n%s", j4, jna);
    CHECK_STR_CONTAINS(j4, "\"n_expert\":8");
    CHECK_STR_CONTAINS(j4, "\"rope_theta\":");
    free(j4);
    free(j5);
    free(jna);
    cJSON_free(t5);
    cJSON_free(t5na);
    ingot_checkpoint_close(ck);
    return 0;
}

static char g_last_warning[512];
static void capture_warning(ingot_log_level level, const char *msg, void *user) {
    (void)user;
    if (level == INGOT_LOG_WARN) snprintf(g_last_warning, sizeof g_last_warning, "%s", msg);
}

// Every config key replaced by a hostile value: a status, never a crash.
static int test_convert_config_hostile_values(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const char *const dirs[] = {"hf/deepseek_v3", "hf/qwen3_moe", "thirdparty/neuralapi/qwen3_moe_window",
                                       "thirdparty/neuralapi/deepseek_v2_yarn"};
    static const char *const bad[] = {"null", "-1", "0", "1e12", "4294967296", "0.5", "\"x\"", "[]", "{}", "[1e9]",
                                      "true"};
    int n_calls = 0, n_ok = 0;
    ingot_log_set(capture_warning, NULL); // keep the expected warnings off the console
    for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/%s", fx, dirs[d]);
        ingot_err err = {0};
        ingot_checkpoint *ck = NULL;
        CHECK_OK(ingot_checkpoint_open(src, &ck, &err), &err);
        size_t n = 0;
        cJSON *cfg = cJSON_Parse(ingot_checkpoint_aux(ck, "config.json", &n));
        CHECK(cfg);
        for (int k = 0; k < cJSON_GetArraySize(cfg); k++) {
            const char *key = cJSON_GetArrayItem(cfg, k)->string;
            for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
                cJSON *c = cJSON_Duplicate(cfg, 1);
                cJSON_ReplaceItemInObject(c, key, cJSON_Parse(bad[b]));
                char *txt = cJSON_PrintUnformatted(c);
                ingot_model_desc *m = NULL;
                const ingot_status st = ingot_model_describe(ck, txt, strlen(txt), 0, &m, &err);
                CHECK_MSG(st == INGOT_OK || err.msg[0], "%s=%s: failed without a message", key, bad[b]);
                n_ok += st == INGOT_OK;
                n_calls++;
                ingot_model_desc_free(m);
                cJSON_free(txt);
                cJSON_Delete(c);
            }
        }
        cJSON_Delete(cfg);
        ingot_checkpoint_close(ck);
    }
    ingot_log_set(NULL, NULL);
    printf("%d hostile configs, %d still described\n", n_calls, n_ok);
    return 0;
}

// Layer patterns and windows come out of the config as HF computes them.
static int test_convert_config_layers(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    static const struct {
        const char *dir;
        const char *want[2];
    } cases[] = {
        {"thirdparty/neuralapi/qwen3_moe_mixed", {"\"ffn\":\"dense\"", "\"ffn\":\"moe\""}},
        {"thirdparty/neuralapi/qwen3_moe_window", {"\"sliding_window\":3", "\"ffn\":\"moe\""}},
        {"thirdparty/neuralapi/deepseek_v2_yarn", {"\"type\":\"yarn\"", "\"rope_interleave\":true"}},
        {"hf/deepseek_v3", {"\"topk_method\":\"noaux_tc\"", "\"scoring\":\"sigmoid\""}},
        {"thirdparty/neuralapi/olmoe", {"\"attn_qk_norm\":\"full\"", "\"n_expert_used\":2"}},
        {"thirdparty/atenia/qwen_moe_tiny", {"\"shared_expert_gate\":true", "\"attn_qkv_bias\":true"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/%s", fx, cases[i].dir);
        ingot_err err = {0};
        ingot_checkpoint *ck = NULL;
        ingot_model_desc *m = NULL;
        CHECK_OK(ingot_checkpoint_open(src, &ck, &err), &err);
        CHECK_OK(ingot_model_describe(ck, NULL, 0, 0, &m, &err), &err);
        for (int k = 0; k < 2; k++) CHECK_STR_CONTAINS(ingot_model_desc_json(m), cases[i].want[k]);
        if (i == 0) {
            // decoder_sparse_step 2: layer 0 dense, layer 1 MoE
            CHECK(!ingot_model_desc_layer(m, 0)->moe && ingot_model_desc_layer(m, 1)->moe);
        }
        ingot_model_desc_free(m);
        ingot_checkpoint_close(ck);
    }
    return 0;
}

static int test_convert_tied_head_dropped(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[1024], out[1024];
    snprintf(src, sizeof src, "%s/thirdparty/neuralapi/dense_qwen3", fx);
    const char *tmp = test_tmpdir();
    snprintf(out, sizeof out, "%s/t.ingot", tmp);
    ingot_err err = {0};
    ingot_convert_report rep;
    CHECK_OK(convert_to(src, out, "keep", 1, &rep, &err), &err);
    CHECK_EQ_U64(rep.n_extra, 0);
    ingot_convert_report_free(&rep);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(out, 0, &c, &err), &err);
    CHECK(ingot_container_find_tensor(c, "output.weight") < 0);
    CHECK(ingot_container_find_tensor(c, "token_embd.weight") >= 0);
    CHECK_STR_CONTAINS(ingot_container_metadata(c, NULL), "\"tie_embeddings\":true");
    ingot_container_close(c);
    unlink(out);
    rmdir(tmp);
    return 0;
}

// tie_word_embeddings with a stored lm_head that differs from the
// embedding: not converted (transformers ignores it), with a warning.
static int test_convert_tied_head_differs(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512], cfg[600];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    char *txt = read_file(cfg, NULL);
    CHECK(txt);
    char *at = strstr(txt, "\"tie_word_embeddings\": false");
    CHECK(at);
    memcpy(at, "\"tie_word_embeddings\": true ", 28);
    CHECK(write_text(cfg, txt));
    ingot_free(txt);
    g_last_warning[0] = 0;
    ingot_log_set(capture_warning, NULL);
    ingot_err err = {0};
    const ingot_status st = convert_to(dir, out, "keep", 1, NULL, &err);
    ingot_log_set(NULL, NULL);
    CHECK_OK(st, &err);
    CHECK_STR_CONTAINS(g_last_warning, "it differs from the embedding");
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(out, 0, &c, &err), &err);
    CHECK(ingot_container_find_tensor(c, "output.weight") < 0);
    ingot_container_close(c);
    return 0;
}

// Metadata: provenance hashes are the files' xxh3; tokenizer and generation
// defaults are carried over.
static int test_convert_metadata_provenance(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[1024], out[1024], st[1100];
    snprintf(src, sizeof src, "%s/thirdparty/agilerl/tiny_qwen3_moe", fx);
    snprintf(st, sizeof st, "%s/model.safetensors", src);
    const char *tmp = test_tmpdir();
    snprintf(out, sizeof out, "%s/m.ingot", tmp);
    ingot_err err = {0};
    ingot_convert_opts o = {.src = src, .dst = out, .preset = "q8_0", .command_line = "ingot convert x -o y"};
    CHECK_OK(ingot_convert(&o, NULL, &err), &err);
    size_t n = 0;
    char *bytes = read_file(st, &n);
    CHECK(bytes);
    char hex[32];
    snprintf(hex, sizeof hex, "\"%016llx\"", (unsigned long long)XXH3_64bits(bytes, n));
    ingot_free(bytes);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(out, 0, &c, &err), &err);
    const char *meta = ingot_container_metadata(c, NULL);
    CHECK_STR_CONTAINS(meta, hex);
    CHECK_STR_CONTAINS(meta, "\"command\":\"ingot convert x -o y\"");
    CHECK_STR_CONTAINS(meta, "\"eos_token_ids\":[6]");
    CHECK_STR_CONTAINS(meta, "\"preset\":\"q8_0\"");
    CHECK_STR_CONTAINS(meta, "\"tokenizer\":\"tokenizer.json\"");
    const void *blob;
    size_t bn;
    CHECK(ingot_container_find_blob(c, "tokenizer.json", &blob, &bn) && bn > 0);
    ingot_container_close(c);
    unlink(out);
    rmdir(tmp);
    return 0;
}

// ---- archives ---------------------------------------------------------------

static int test_convert_archive_matches_folder(void) {
    const char *tmp = test_tmpdir();
    char dir[512], tar[512], oa[512], ob[512];
    snprintf(dir, sizeof dir, "%s/ck", tmp);
    snprintf(tar, sizeof tar, "%s/ck.tar", tmp);
    snprintf(oa, sizeof oa, "%s/a.ingot", tmp);
    snprintf(ob, sizeof ob, "%s/b.ingot", tmp);
    const gen_opts g = small_llama();
    CHECK_EQ_INT(gen_llama(dir, &g), 0);
    static const char *const files[] = {"config.json", "model.safetensors"};
    CHECK(tar_folder(tar, dir, files, 2));
    ingot_err err = {0};
    CHECK_OK(convert_to(dir, oa, "q8_0", 2, NULL, &err), &err);
    CHECK_OK(convert_to(tar, ob, "q8_0", 2, NULL, &err), &err);
    ingot_container *ca = NULL, *cb = NULL;
    CHECK_OK(ingot_container_open(oa, 0, &ca, &err), &err);
    CHECK_OK(ingot_container_open(ob, 0, &cb, &err), &err);
    CHECK_EQ_U64(ingot_container_n_tensors(ca), ingot_container_n_tensors(cb));
    for (size_t i = 0; i < ingot_container_n_tensors(ca); i++) {
        const ingot_tensor_info *a = ingot_container_tensor(ca, i), *b = ingot_container_tensor(cb, i);
        CHECK(!strcmp(a->name, b->name));
        CHECK_EQ_U64(a->xxh3, b->xxh3);
    }
    ingot_container_close(ca);
    ingot_container_close(cb);
    return 0;
}

// ---- FP8 with block scales (needs the samples generator) ---------------------

static int test_convert_fp8_block_scales(void) {
    char gen[1024], cmd[2048], dir[512], ok[512], oq[512];
    snprintf(gen, sizeof gen, "%s/samples/ingot-samples", INGOT_BINARY_DIR);
    if (!file_exists(gen)) {
        printf("skipped: %s is not built\n", gen);
        return INGOT_TEST_SKIP;
    }
    const char *tmp = test_tmpdir();
    snprintf(dir, sizeof dir, "%s/fp8", tmp);
    snprintf(cmd, sizeof cmd, "%s --preset deepseek-v3-fp8 -o %s >/dev/null", gen, dir);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(ok, sizeof ok, "%s/k.ingot", tmp);
    snprintf(oq, sizeof oq, "%s/q.ingot", tmp);
    ingot_err err = {0};
    CHECK_OK(convert_to(dir, ok, "keep", 2, NULL, &err), &err);
    CHECK_OK(convert_to(dir, oq, "q8_0", 2, NULL, &err), &err);
    // keep: E4M3 bytes then the scales as f32, bit for bit.
    ingot_checkpoint *ck = NULL;
    ingot_model_desc *m = NULL;
    ingot_container *c = NULL;
    CHECK_OK(ingot_checkpoint_open(dir, &ck, &err), &err);
    CHECK_OK(ingot_model_describe(ck, NULL, 0, 0, &m, &err), &err);
    CHECK_OK(ingot_container_open(ok, INGOT_OPEN_VERIFY, &c, &err), &err);
    int n_fp8 = 0;
    for (size_t i = 0; i < ingot_model_desc_n_tensors(m); i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(m, i);
        if (mt->src_scale < 0) continue;
        n_fp8++;
        const int64_t ci = ingot_container_find_tensor(c, mt->name);
        CHECK(ci >= 0);
        const ingot_tensor_info *ti = ingot_container_tensor(c, (size_t)ci);
        CHECK_EQ_INT(ti->dtype, INGOT_DTYPE_F8_E4M3_B128);
        const uint8_t *got = ingot_container_tensor_data(c, (size_t)ci);
        CHECK(memcmp(got, ingot_checkpoint_tensor_data(ck, mt->src), (size_t)mt->src_bytes) == 0);
        const ingot_st_tensor *s = ingot_checkpoint_tensor(ck, (size_t)mt->src_scale);
        const uint64_t ns = s->dims[0] * s->dims[1];
        const uint8_t *sp = ingot_checkpoint_tensor_data(ck, (size_t)mt->src_scale);
        for (uint64_t k = 0; k < ns; k++) {
            float want, have;
            if (s->dtype == INGOT_DTYPE_F32) memcpy(&want, sp + 4 * k, 4);
            else {
                uint16_t h;
                memcpy(&h, sp + 2 * k, 2);
                want = ingot_bf16_to_f32(h);
            }
            memcpy(&have, got + mt->src_bytes + 4 * k, 4);
            CHECK(memcmp(&have, &want, 4) == 0);
        }
    }
    CHECK(n_fp8 > 0);
    ingot_container_close(c);
    // q8_0 from FP8: within the q8_0 bound of the decoded value e4m3 * scale.
    CHECK_OK(ingot_container_open(oq, 0, &c, &err), &err);
    const ingot_quant_traits *q = ingot_quant_get(INGOT_DTYPE_Q8_0);
    for (size_t i = 0; i < ingot_model_desc_n_tensors(m); i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(m, i);
        if (mt->src_scale < 0) continue;
        const int64_t ci = ingot_container_find_tensor(c, mt->name);
        CHECK(ci >= 0);
        const ingot_tensor_info *ti = ingot_container_tensor(c, (size_t)ci);
        CHECK_EQ_INT(ti->dtype, INGOT_DTYPE_Q8_0);
        const uint8_t *qd = ingot_container_tensor_data(c, (size_t)ci);
        const uint64_t rows = mt->dims[0], cols = mt->dims[1];
        const ingot_st_tensor *s = ingot_checkpoint_tensor(ck, (size_t)mt->src_scale);
        float *y = malloc(cols * sizeof *y), *x = malloc(cols * sizeof *x);
        const uint8_t *w = ingot_checkpoint_tensor_data(ck, mt->src);
        const uint8_t *sp = ingot_checkpoint_tensor_data(ck, (size_t)mt->src_scale);
        for (uint64_t r = 0; r < rows; r++) {
            q->dequantize_row(qd + r * (cols / 32) * 34, y, (int64_t)cols);
            for (uint64_t k = 0; k < cols; k++) {
                float sc;
                if (s->dtype == INGOT_DTYPE_F32) memcpy(&sc, sp + 4 * ((r / 128) * s->dims[1] + k / 128), 4);
                else {
                    uint16_t h;
                    memcpy(&h, sp + 2 * ((r / 128) * s->dims[1] + k / 128), 2);
                    sc = ingot_bf16_to_f32(h);
                }
                x[k] = ingot_e4m3_to_f32(w[r * cols + k]) * sc;
            }
            for (uint64_t b = 0; b < cols / 32; b++) {
                float amax = 0;
                for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(x[b * 32 + k]));
                for (int k = 0; k < 32; k++)
                    CHECK(fabs((double)x[b * 32 + k] - y[b * 32 + k]) <= amax / 127.0 * (0.5 + 127.0 / 2048.0) + 1e-12);
            }
        }
        free(x);
        free(y);
    }
    ingot_container_close(c);
    ingot_model_desc_free(m);
    ingot_checkpoint_close(ck);
    // The same checkpoint streamed from an archive (weights and scales
    // paired while streaming) gives the same tensors.
    char tar[600], oa[600];
    snprintf(tar, sizeof tar, "%s/fp8.tar", tmp);
    snprintf(oa, sizeof oa, "%s/a.ingot", tmp);
    static const char *const files[] = {"config.json", "model.safetensors"};
    CHECK(tar_folder(tar, dir, files, 2));
    CHECK_OK(convert_to(tar, oa, "keep", 2, NULL, &err), &err);
    ingot_container *ca = NULL;
    CHECK_OK(ingot_container_open(ok, 0, &c, &err), &err);
    CHECK_OK(ingot_container_open(oa, 0, &ca, &err), &err);
    CHECK_EQ_U64(ingot_container_n_tensors(c), ingot_container_n_tensors(ca));
    for (size_t i = 0; i < ingot_container_n_tensors(c); i++)
        CHECK_EQ_U64(ingot_container_tensor(c, i)->xxh3, ingot_container_tensor(ca, i)->xxh3);
    ingot_container_close(ca);
    ingot_container_close(c);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK_EQ_INT(system(cmd), 0);
    return 0;
}

// ---- errors: message and nothing at the target --------------------------------

static int expect_failure(const char *src, const char *out, const ingot_convert_opts *base, ingot_status want,
                          const char *needle) {
    ingot_convert_opts o = base ? *base : (ingot_convert_opts){0};
    o.src = src;
    o.dst = out;
    if (!o.preset) o.preset = "q8_0";
    ingot_err err = {0};
    CHECK_STATUS(ingot_convert(&o, NULL, &err), want, &err);
    CHECK_STR_CONTAINS(err.msg, needle);
    CHECK_MSG(!file_exists(out), "%s exists after a failed conversion", out);
    // No temporary file is left beside the target either.
    char dir[512];
    snprintf(dir, sizeof dir, "%s", out);
    *strrchr(dir, '/') = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) CHECK_MSG(!strstr(e->d_name, ".ingot"), "left behind: %s", e->d_name);
    if (d) closedir(d);
    return 0;
}


static int test_convert_error_missing_tensor(void) {
    gen_opts g = small_llama();
    g.skip = "model.layers.1.mlp.up_proj.weight";
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    return expect_failure(dir, out, NULL, INGOT_E_FORMAT, "tensor 'model.layers.1.mlp.up_proj.weight' [512, 256] needed by llama is missing");
}

static int test_convert_error_shape_mismatch(void) {
    gen_opts g = small_llama();
    g.cfg_n_ff = 1024;
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    return expect_failure(dir, out, NULL, INGOT_E_FORMAT, "shape [512, 256] is inconsistent with config.json (expected [1024, 256])");
}

static int test_convert_error_unexpected_tensor(void) {
    gen_opts g = small_llama();
    g.extra = "model.layers.0.mlp.mystery.weight";
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    // Default: a warning, the tensor is skipped.
    ingot_err err = {0};
    ingot_convert_report rep;
    CHECK_OK(convert_to(dir, out, "q8_0", 1, &rep, &err), &err);
    CHECK_EQ_U64(rep.n_extra, 1);
    ingot_convert_report_free(&rep);
    unlink(out);
    const ingot_convert_opts strict = {.strict = true};
    return expect_failure(dir, out, &strict, INGOT_E_FORMAT, "unexpected tensor 'model.layers.0.mlp.mystery.weight'");
}

static int test_convert_error_nonfinite(void) {
    gen_opts g = small_llama();
    g.nan_in = "model.layers.0.self_attn.q_proj.weight";
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    if (expect_failure(dir, out, NULL, INGOT_E_FORMAT,
                       "1 NaN/Inf weights; first in model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' element [0, 5]"))
        return 1;
    // keep scans the raw bytes too
    const ingot_convert_opts keep = {.preset = "keep"};
    if (expect_failure(dir, out, &keep, INGOT_E_FORMAT, "element [0, 5]")) return 1;
    ingot_convert_opts o = {.src = dir, .dst = out, .preset = "q8_0", .allow_nonfinite = true};
    ingot_convert_report rep;
    ingot_err err = {0};
    CHECK_OK(ingot_convert(&o, &rep, &err), &err);
    CHECK_EQ_U64(rep.n_nonfinite, 1);
    ingot_convert_report_free(&rep);
    return 0;
}

static int test_convert_error_no_space(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    ingot_writer_fail_after(100000);
    const int r = expect_failure(dir, out, NULL, INGOT_E_IO, "out of disk space");
    ingot_writer_fail_after(0);
    return r;
}

static int test_convert_error_unknown_arch(void) {
    gen_opts g = small_llama();
    g.arch_json = "\"architectures\": [\"FooForCausalLM\"], \"model_type\": \"foo\"";
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    return expect_failure(dir, out, NULL, INGOT_E_UNSUPPORTED,
                          "unsupported architecture 'FooForCausalLM' (model_type 'foo'); supported: llama, mistral");
}

static int test_convert_error_missing_arch_uses_model_type(void) {
    gen_opts g = small_llama();
    g.arch_json = "\"model_type\": \"llama\"";
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    ingot_err err = {0};
    CHECK_OK(convert_to(dir, out, "keep", 1, NULL, &err), &err);
    CHECK(file_exists(out));
    return 0;
}

static int test_convert_error_truncated_archive(void) {
    const char *tmp = test_tmpdir();
    char dir[512], tar[512], out[512], od[512];
    snprintf(dir, sizeof dir, "%s/ck", tmp);
    snprintf(tar, sizeof tar, "%s/ck.tar", tmp);
    snprintf(od, sizeof od, "%.280s/out", tmp);
    mkdir(od, 0755);
    snprintf(out, sizeof out, "%.400s/x.ingot", od);
    const gen_opts g = small_llama();
    CHECK_EQ_INT(gen_llama(dir, &g), 0);
    static const char *const files[] = {"config.json", "model.safetensors"};
    CHECK(tar_folder(tar, dir, files, 2));
    struct stat st;
    CHECK(stat(tar, &st) == 0);
    CHECK_EQ_INT(truncate(tar, st.st_size / 2), 0);
    return expect_failure(tar, out, NULL, INGOT_E_IO, "ck.tar: Truncated input");
}

static int copy_sharded(const char *fx, const char *dir) {
    static const char *const files[] = {"config.json", "model.safetensors.index.json",
                                        "tiny_llama-00001-of-00002.safetensors", "tiny_llama-00002-of-00002.safetensors"};
    mkdir(dir, 0755);
    for (int i = 0; i < 4; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/thirdparty/neuralapi/llama_sharded/%s", fx, files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        if (!copy_file(a, b)) return 1;
    }
    return 0;
}

static int test_convert_error_missing_shard(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    const char *tmp = test_tmpdir();
    char dir[512], out[512], od[512], shard[600];
    snprintf(dir, sizeof dir, "%s/ck", tmp);
    snprintf(od, sizeof od, "%.280s/out", tmp);
    mkdir(od, 0755);
    snprintf(out, sizeof out, "%.400s/x.ingot", od);
    CHECK_EQ_INT(copy_sharded(fx, dir), 0);
    snprintf(shard, sizeof shard, "%s/tiny_llama-00002-of-00002.safetensors", dir);
    CHECK_EQ_INT(unlink(shard), 0);
    return expect_failure(dir, out, NULL, INGOT_E_IO, "tiny_llama-00002-of-00002.safetensors");
}

static int test_convert_error_index_mismatch(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    const char *tmp = test_tmpdir();
    char dir[512], out[512], od[512], index[600];
    snprintf(dir, sizeof dir, "%s/ck", tmp);
    snprintf(od, sizeof od, "%.280s/out", tmp);
    mkdir(od, 0755);
    snprintf(out, sizeof out, "%.400s/x.ingot", od);
    CHECK_EQ_INT(copy_sharded(fx, dir), 0);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    char *txt = read_file(index, NULL);
    CHECK(txt);
    cJSON *j = cJSON_Parse(txt);
    ingot_free(txt);
    cJSON *wm = cJSON_GetObjectItem(j, "weight_map");
    // Point the embedding at the shard that does not hold it.
    const cJSON *cur = cJSON_GetObjectItem(wm, "model.embed_tokens.weight");
    CHECK(cJSON_IsString(cur));
    const bool first = strstr(cur->valuestring, "00001") != NULL;
    cJSON_ReplaceItemInObject(wm, "model.embed_tokens.weight",
                              cJSON_CreateString(first ? "tiny_llama-00002-of-00002.safetensors"
                                                       : "tiny_llama-00001-of-00002.safetensors"));
    char *t2 = cJSON_Print(j);
    CHECK(write_text(index, t2));
    cJSON_free(t2);
    cJSON_Delete(j);
    return expect_failure(dir, out, NULL, INGOT_E_FORMAT, "model.embed_tokens.weight");
}

// ---- behaviour ------------------------------------------------------------------

static int test_convert_force(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    CHECK(write_text(out, "precious"));
    ingot_err err = {0};
    CHECK_STATUS(convert_to(dir, out, "q8_0", 1, NULL, &err), INGOT_E_IO, &err);
    CHECK_STR_CONTAINS(err.msg, "already exists (use --force to replace it)");
    size_t n = 0;
    char *txt = read_file(out, &n);
    CHECK(txt && n == 8 && !memcmp(txt, "precious", 8));
    ingot_free(txt);
    ingot_convert_opts o = {.src = dir, .dst = out, .preset = "q8_0", .force = true};
    CHECK_OK(ingot_convert(&o, NULL, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(out, INGOT_OPEN_VERIFY, &c, &err), &err);
    ingot_container_close(c);
    return 0;
}

static int test_convert_dry_run(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    ingot_convert_opts o = {.src = dir, .dst = out, .preset = "q4_k_m", .dry_run = true};
    ingot_convert_report rep;
    ingot_err err = {0};
    CHECK_OK(ingot_convert(&o, &rep, &err), &err);
    CHECK(!file_exists(out));
    char od[512];
    snprintf(od, sizeof od, "%s", out);
    *strrchr(od, '/') = 0;
    CHECK_EQ_INT(dir_count(od), 0);
    CHECK_EQ_U64(rep.n_tensors, 3 + 2 * 9);
    uint64_t sum = 0;
    bool any_q4k = false;
    for (size_t i = 0; i < rep.n_tensors; i++) {
        sum += rep.plan[i].bytes;
        any_q4k |= rep.plan[i].type == INGOT_DTYPE_Q4_K;
    }
    CHECK_EQ_U64(sum, rep.tensor_bytes);
    CHECK(any_q4k);
    CHECK(rep.out_bytes > rep.tensor_bytes);
    ingot_convert_report_free(&rep);
    return 0;
}

static int test_convert_threads_identical(void) {
    gen_opts g = small_llama();
    g.n_layer = 3;
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    static const char *const presets[] = {"q4_k_m", "keep"};
    for (int p = 0; p < 2; p++) {
        char o1[600], o2[600], o4[600];
        snprintf(o1, sizeof o1, "%s.t1", out);
        snprintf(o2, sizeof o2, "%s.t2", out);
        snprintf(o4, sizeof o4, "%s.t4", out);
        ingot_err err = {0};
        CHECK_OK(convert_to(dir, o1, presets[p], 1, NULL, &err), &err);
        CHECK_OK(convert_to(dir, o2, presets[p], 2, NULL, &err), &err);
        CHECK_OK(convert_to(dir, o4, presets[p], 4, NULL, &err), &err);
        CHECK_MSG(files_equal(o1, o2), "%s: 1 vs 2 threads differ", presets[p]);
        CHECK_MSG(files_equal(o1, o4), "%s: 1 vs 4 threads differ", presets[p]);
        unlink(o1);
        unlink(o2);
        unlink(o4);
    }
    return 0;
}

// --type overrides reach the plan; --imatrix reaches the quantizer (a
// tensor with an entry changes, one without stays the same).
static int test_convert_overrides_and_imatrix(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512], im[600], o2[600];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    snprintf(im, sizeof im, "%s/../imatrix.safetensors", dir);
    snprintf(o2, sizeof o2, "%s.im", out);
    gen_tensor t = {.name = "blk.1.attn_k.weight", .n_dims = 1, .dims = {256, 0}, .norm = true};
    const gen_opts gi = {.dt = INGOT_DTYPE_F32};
    CHECK_EQ_INT(gen_safetensors(im, &gi, &t, 1), 0);
    const char *rules[] = {"blk\\.0\\.attn_q\\.=q8_0"};
    ingot_convert_opts o = {.src = dir, .dst = out, .preset = "q4_k_m", .overrides = rules, .n_overrides = 1};
    ingot_err err = {0};
    CHECK_OK(ingot_convert(&o, NULL, &err), &err);
    o.dst = o2;
    o.imatrix_path = im;
    CHECK_OK(ingot_convert(&o, NULL, &err), &err);
    ingot_container *a = NULL, *b = NULL;
    CHECK_OK(ingot_container_open(out, 0, &a, &err), &err);
    CHECK_OK(ingot_container_open(o2, 0, &b, &err), &err);
    const ingot_tensor_info *q0 = ingot_container_tensor(a, (size_t)ingot_container_find_tensor(a, "blk.0.attn_q.weight"));
    const ingot_tensor_info *q1 = ingot_container_tensor(a, (size_t)ingot_container_find_tensor(a, "blk.1.attn_q.weight"));
    CHECK_EQ_INT(q0->dtype, INGOT_DTYPE_Q8_0);
    CHECK(q1->dtype != INGOT_DTYPE_Q8_0);
    const ingot_tensor_info *ka = ingot_container_tensor(a, (size_t)ingot_container_find_tensor(a, "blk.1.attn_k.weight"));
    const ingot_tensor_info *kb = ingot_container_tensor(b, (size_t)ingot_container_find_tensor(b, "blk.1.attn_k.weight"));
    const ingot_tensor_info *ua = ingot_container_tensor(a, (size_t)ingot_container_find_tensor(a, "blk.1.ffn_up.weight"));
    const ingot_tensor_info *ub = ingot_container_tensor(b, (size_t)ingot_container_find_tensor(b, "blk.1.ffn_up.weight"));
    CHECK(ka->dtype == kb->dtype && ingot_dtype_get(ka->dtype)->is_quant);
    CHECK_MSG(ka->xxh3 != kb->xxh3, "the importance matrix did not change %s", ingot_dtype_name(ka->dtype));
    CHECK_EQ_U64(ua->xxh3, ub->xxh3);
    CHECK_STR_CONTAINS(ingot_container_metadata(b, NULL), "\"imatrix\":\"imatrix.safetensors\"");
    ingot_container_close(a);
    ingot_container_close(b);
    return 0;
}

// One .safetensors file: needs --config; with it, converts.
static int test_convert_single_file_with_config(void) {
    const gen_opts g = small_llama();
    char dir[512], out[512], lone[560], cfg[640], file[640];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    snprintf(lone, sizeof lone, "%.520s/../lone", dir);
    mkdir(lone, 0755);
    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    snprintf(cfg, sizeof cfg, "%s/weights.safetensors", lone);
    CHECK_EQ_INT(rename(file, cfg), 0);
    if (expect_failure(cfg, out, NULL, INGOT_E_FORMAT, "config.json is missing (give one with --config)")) return 1;
    snprintf(file, sizeof file, "%s/config.json", dir);
    ingot_convert_opts o = {.src = cfg, .dst = out, .preset = "q8_0", .config_path = file};
    ingot_err err = {0};
    ingot_convert_report rep;
    CHECK_OK(ingot_convert(&o, &rep, &err), &err);
    CHECK_EQ_U64(rep.n_tensors, 3 + 2 * 9);
    ingot_convert_report_free(&rep);
    return 0;
}

// Allocation failures anywhere: INGOT_E_NOMEM (or success when the failing
// allocation was optional), never a crash, a leak or a file left behind.
static int test_convert_alloc_failures(void) {
    gen_opts g = small_llama();
    g.n_layer = 1;
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    const int64_t live0 = ingot_alloc_live();
    int n_fail = 0, n_nomem = 0;
    for (uint64_t nth = 1; nth < 4000; nth++) {
        ingot_err err = {0};
        ingot_alloc_fail_at(nth, false);
        const ingot_status st = convert_to(dir, out, "q8_0", 2, NULL, &err);
        ingot_alloc_fail_at(0, false);
        CHECK_MSG(st == INGOT_OK || st == INGOT_E_NOMEM, "allocation %llu: %s (%s)", (unsigned long long)nth,
                  ingot_status_name(st), err.msg);
        CHECK_EQ_INT(ingot_alloc_live(), live0);
        if (st == INGOT_OK) {
            unlink(out);
            if (++n_fail > 3) break; // past the last allocation
        } else {
            n_nomem++;
            CHECK(!file_exists(out));
        }
    }
    printf("%d injected failures reported INGOT_E_NOMEM\n", n_nomem);
    CHECK(n_nomem > 50);
    return 0;
}

// SIGINT while a ~330 MB conversion runs: the process dies, nothing is left
// in the output folder.
static int test_convert_sigint_leaves_nothing(void) {
    gen_opts g = {.n_embd = 1024, .n_layer = 6, .n_head = 8, .n_kv = 4, .n_ff = 4096, .n_vocab = 32000,
                  .dt = INGOT_DTYPE_BF16};
    char dir[512], out[512];
    CHECK_EQ_INT(gen_case(&g, dir, sizeof dir, out, sizeof out), 0);
    char od[512];
    snprintf(od, sizeof od, "%s", out);
    *strrchr(od, '/') = 0;
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        ingot_cleanup_install_signals();
        ingot_err err = {0};
        const ingot_status st = convert_to(dir, out, "q4_k_m", 1, NULL, &err); // one thread: seconds of work
        _exit(st == INGOT_OK ? 0 : 3);
    }
    // Wait for the temporary file, then interrupt.
    bool seen = false;
    for (int i = 0; i < 2000 && !seen; i++) {
        seen = dir_count(od) > 0;
        if (!seen) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    CHECK_MSG(seen, "no temporary file appeared");
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "child status %d", status);
    CHECK_EQ_INT(dir_count(od), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    return 0;
}

INGOT_TEST_MAIN(T(convert_fixtures_keep), T(convert_fixtures_q8_0), T(convert_packed_expert_slices),
                T(convert_mixtral_layouts_agree), T(convert_packed_logits_match_hf), T(convert_config_dialects),
                T(convert_config_layers), T(convert_config_hostile_values),
                T(convert_tied_head_dropped), T(convert_tied_head_differs), T(convert_metadata_provenance), T(convert_archive_matches_folder),
                T(convert_fp8_block_scales), T(convert_error_missing_tensor), T(convert_error_shape_mismatch),
                T(convert_error_unexpected_tensor), T(convert_error_nonfinite), T(convert_error_no_space),
                T(convert_error_unknown_arch), T(convert_error_missing_arch_uses_model_type),
                T(convert_error_truncated_archive), T(convert_error_missing_shard), T(convert_error_index_mismatch),
                T(convert_force), T(convert_dry_run),
                T(convert_threads_identical), T(convert_single_file_with_config), T(convert_overrides_and_imatrix), T(convert_alloc_failures),
                T(convert_sigint_leaves_nothing))
