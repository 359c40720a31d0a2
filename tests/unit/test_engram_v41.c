// DeepSeek-V4.1 Engram conversion end to end. A V4.1-style checkpoint is
// built from the qwen3_moe_engram fixture's backbone and tokenizer: its demo
// Engram tensors are replaced by V4.1 ones (`layers.1.engram.*`, no `model.`
// prefix: an FP8 table with E8M0 row scales, an FP8 fused wkv with 32×32
// E8M0 tiles, q_weight / k_weight) and the config carries the V4.1 keys.
// Checked: keep stores the table as f8_e4m3_r32 byte for byte (the source
// bytes re-packed here), key/value are the decoded wkv slices exactly;
// q8_0 table rows stay within the q8_0 error budget; the runner's Engram
// block matches a float64 reference written here from the source bytes;
// `ingot verify --against` passes for keep.
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <ftw.h>

#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/engram.h"
#include "ingot/quantize.h"
#include "ingot/runner.h"
#include "ingot/safetensors.h"
#include "ingot/verify.h"
#include "ingot_test.h"
#include "ingot_test_rng.h"

#define FIX "/engram/qwen3_moe_engram"
enum { EG_L = 1, EG_N = 3, EG_H = 2, EG_DH = 32, EG_BASE = 1000, D = 128, G = 1, N_TOK = 7 };
enum { D_MEM = (EG_N - 1) * EG_H * EG_DH, WKV_ROWS = (G + 1) * D };

typedef struct v41_src {
    char dir[512];
    ingot_engram_params p;
    int32_t *lookup;
    uint64_t vocab;
    uint64_t n_rows;            // R_L
    uint8_t *table, *table_sc;  // [R, d_h] e4m3, [R, d_h/32] e8m0
    uint8_t wkv[WKV_ROWS * D_MEM], wkv_sc[(WKV_ROWS / 32) * (D_MEM / 32)];
    float qw[D], kw[D];         // bf16-exact norm weights
    double eps;
} v41_src;

static v41_src g;
static int g_ready; // 0: not built, 1: built, -1: fixture absent

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}
static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

// Box-Muller with the two uniforms drawn in a fixed order.
static double gauss_ordered(uint64_t *s) {
    const double u = rng_unit(s), v = rng_unit(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}
static uint8_t rand_e4m3(uint64_t *s) { return ingot_f32_to_e4m3((float)(gauss_ordered(s) * 32.0)); }

static double table_val(uint64_t r, uint32_t c) {
    return (double)ingot_e4m3_to_f32(g.table[r * EG_DH + c]) * ldexp(1.0, (int)g.table_sc[r * (EG_DH / 32) + c / 32] - 127);
}
static double wkv_val(uint64_t r, uint64_t c) {
    return (double)ingot_e4m3_to_f32(g.wkv[r * D_MEM + c]) *
           ldexp(1.0, (int)g.wkv_sc[(r / 32) * (D_MEM / 32) + c / 32] - 127);
}

// ---- building the checkpoint ---------------------------------------------

typedef struct st_out {
    cJSON *hdr;
    uint64_t off;
    const void *data[512];
    uint64_t size[512];
    int n;
} st_out;

static void st_add(st_out *o, const char *name, const char *dtype, int n_dims, const uint64_t *dims, const void *data,
                   uint64_t size) {
    cJSON *t = cJSON_AddObjectToObject(o->hdr, name);
    cJSON_AddStringToObject(t, "dtype", dtype);
    cJSON *sh = cJSON_AddArrayToObject(t, "shape");
    for (int i = 0; i < n_dims; i++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)dims[i]));
    cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)o->off));
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(o->off + size)));
    if (o->n == 512) return; // more than the fixture has: st_write then fails on the header
    o->data[o->n] = data;
    o->size[o->n++] = size;
    o->off += size;
}

static int st_write(st_out *o, const char *path) {
    char *h = cJSON_PrintUnformatted(o->hdr);
    size_t hn = strlen(h), pad = (8 - hn % 8) % 8;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t len = hn + pad;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(h, 1, hn, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    for (int i = 0; i < o->n; i++) fwrite(o->data[i], 1, (size_t)o->size[i], f);
    cJSON_free(h);
    return fclose(f);
}

static int copy_file(const char *from, const char *to) {
    char *text = NULL;
    size_t n = 0;
    if (ingot_file_read_all(from, 64u << 20, &text, &n, NULL) != INGOT_OK) return -1;
    FILE *f = fopen(to, "wb");
    const int ok = f && fwrite(text, 1, n, f) == n;
    if (f) fclose(f);
    ingot_free(text);
    return ok ? 0 : -1;
}

// V4.1 keys replace the demo ones; V' stays the fixture's (same tokenizer).
static cJSON *v41_config(const char *fix_dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", fix_dir);
    char *text = NULL;
    size_t n = 0;
    if (ingot_file_read_all(path, 1u << 20, &text, &n, NULL) != INGOT_OK) return NULL;
    cJSON *c = cJSON_ParseWithLength(text, n);
    ingot_free(text);
    const char *drop[] = {"engram_kernel_size", "engram_n_embed_per_ngram", "engram_n_head_per_ngram", "engram_num_embeddings",
                          "engram_pad_id", "engram_seed", "engram_variant", "engram_vocab_size", "engram_max_ngram_size"};
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++) cJSON_DeleteItemFromObject(c, drop[i]);
    cJSON_AddNumberToObject(c, "engram_max_ngram_size", EG_N);
    cJSON_AddNumberToObject(c, "engram_n_heads", EG_H);
    cJSON_AddNumberToObject(c, "engram_head_dim", EG_DH);
    cJSON_AddNumberToObject(c, "engram_vocab_size", EG_BASE);
    cJSON_AddNumberToObject(c, "engram_pad_token_id", 2);
    cJSON_AddStringToObject(c, "engram_variant", "v4.1");
    return c;
}

static int build_params(cJSON *cfg) {
    char path[1200], *tok = NULL;
    size_t tn = 0;
    snprintf(path, sizeof path, "%s/tokenizer.json", g.dir);
    ingot_err err = {0};
    uint64_t Vc = 0;
    if (ingot_file_read_all(path, 64u << 20, &tok, &tn, &err) != INGOT_OK) return -1;
    ingot_status st = ingot_engram_compress_build(tok, tn, &g.lookup, &g.vocab, &Vc, &err);
    ingot_free(tok);
    char *text = cJSON_PrintUnformatted(cfg);
    ingot_engram_config ec;
    bool present = false;
    if (st == INGOT_OK) st = ingot_engram_config_parse(text, strlen(text), &ec, &present, &err);
    cJSON_free(text);
    if (st == INGOT_OK) st = ingot_engram_params_build(&ec, g.vocab, Vc, (uint64_t)g.lookup[2], &g.p, &err);
    if (st != INGOT_OK || !present || g.p.variant != INGOT_ENGRAM_V41) {
        fprintf(stderr, "v41 params: %s\n", err.msg);
        return -1;
    }
    g.n_rows = g.p.layers[0].n_rows;
    g.eps = ec.norm_eps;
    return 0;
}

static void fill_weights(void) {
    uint64_t s = 41;
    g.table = ingot_malloc(g.n_rows * EG_DH);
    g.table_sc = ingot_malloc(g.n_rows * (EG_DH / 32));
    for (uint64_t i = 0; i < g.n_rows * EG_DH; i++) g.table[i] = rand_e4m3(&s);
    for (uint64_t i = 0; i < g.n_rows * (EG_DH / 32); i++) g.table_sc[i] = (uint8_t)(120 + rng_next(&s) % 6);
    for (size_t i = 0; i < sizeof g.wkv; i++) g.wkv[i] = rand_e4m3(&s);
    for (size_t i = 0; i < sizeof g.wkv_sc; i++) g.wkv_sc[i] = (uint8_t)(117 + rng_next(&s) % 3);
    for (int i = 0; i < D; i++) {
        g.qw[i] = ingot_bf16_to_f32(ingot_f32_to_bf16((float)(1.0 + 0.2 * gauss_ordered(&s))));
        g.kw[i] = ingot_bf16_to_f32(ingot_f32_to_bf16((float)(1.0 + 0.2 * gauss_ordered(&s))));
    }
}

static int write_model(const char *fix_dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", fix_dir);
    ingot_checkpoint *ck = NULL;
    if (ingot_checkpoint_open(path, &ck, NULL) != INGOT_OK) return -1;
    st_out o = {.hdr = cJSON_CreateObject()};
    for (size_t i = 0; i < ingot_checkpoint_n_tensors(ck); i++) {
        const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, i);
        if (strstr(t->name, ".engram.")) continue;
        st_add(&o, t->name, ingot_dtype_get(t->dtype)->st_name, (int)t->n_dims, t->dims,
               ingot_checkpoint_tensor_data(ck, i), t->size);
    }
    static uint16_t qb[D], kb[D];
    for (int i = 0; i < D; i++) {
        qb[i] = ingot_f32_to_bf16(g.qw[i]);
        kb[i] = ingot_f32_to_bf16(g.kw[i]);
    }
    const uint64_t tab[2] = {g.n_rows, EG_DH}, tsc[2] = {g.n_rows, EG_DH / 32}, wkv[2] = {WKV_ROWS, D_MEM},
                   wsc[2] = {WKV_ROWS / 32, D_MEM / 32}, nw[2] = {G, D};
    st_add(&o, "layers.1.engram.embed.weight", "F8_E4M3", 2, tab, g.table, g.n_rows * EG_DH);
    st_add(&o, "layers.1.engram.embed.scale", "F8_E8M0", 2, tsc, g.table_sc, g.n_rows * (EG_DH / 32));
    st_add(&o, "layers.1.engram.wkv.weight", "F8_E4M3", 2, wkv, g.wkv, sizeof g.wkv);
    st_add(&o, "layers.1.engram.wkv.scale", "F8_E8M0", 2, wsc, g.wkv_sc, sizeof g.wkv_sc);
    st_add(&o, "layers.1.engram.q_weight", "BF16", 2, nw, qb, sizeof qb);
    st_add(&o, "layers.1.engram.k_weight", "BF16", 2, nw, kb, sizeof kb);
    snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
    const int rc = st_write(&o, path);
    cJSON_Delete(o.hdr);
    ingot_checkpoint_close(ck);
    return rc;
}

static int v41_ready(void) {
    if (g_ready) return g_ready;
    const char *fix = ingot_test_fixtures();
    char fix_dir[1024], from[1200], to[1200];
    struct stat sb;
    snprintf(fix_dir, sizeof fix_dir, "%s" FIX, fix ? fix : "");
    if (!fix || stat(fix_dir, &sb) != 0) return g_ready = -1;
    snprintf(g.dir, sizeof g.dir, "%s", ingot_test_tmpdir());
    const char *copy[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                          "special_tokens_map.json"};
    for (size_t i = 0; i < sizeof copy / sizeof *copy; i++) {
        snprintf(from, sizeof from, "%s/%s", fix_dir, copy[i]);
        snprintf(to, sizeof to, "%s/%s", g.dir, copy[i]);
        if (stat(from, &sb) == 0 && copy_file(from, to) != 0) return g_ready = -2;
    }
    cJSON *cfg = v41_config(fix_dir);
    if (!cfg || build_params(cfg) != 0) return g_ready = -2;
    char *text = cJSON_Print(cfg);
    snprintf(to, sizeof to, "%s/config.json", g.dir);
    FILE *f = fopen(to, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    cJSON_free(text);
    cJSON_Delete(cfg);
    fill_weights();
    if (!f || write_model(fix_dir) != 0) return g_ready = -2;
    return g_ready = 1;
}

#define V41_READY()                                                                                   \
    do {                                                                                              \
        const int r_ = v41_ready();                                                                   \
        if (r_ == -1) {                                                                               \
            printf("skipped: ../shared/fixtures/engram/qwen3_moe_engram is absent\n");                \
            return INGOT_TEST_SKIP;                                                                   \
        }                                                                                             \
        CHECK_MSG(r_ == 1, "building the V4.1 checkpoint failed");                                    \
    } while (0)

static ingot_status convert_v41(const char *preset, const char *dst, ingot_err *err) {
    ingot_convert_opts o = {0};
    o.src = g.dir;
    o.dst = dst;
    o.preset = preset;
    o.n_threads = 2;
    o.force = true;
    return ingot_convert(&o, NULL, err);
}

static const ingot_tensor_info *find(const ingot_container *c, const char *name, const uint8_t **data) {
    const int64_t i = ingot_container_find_tensor(c, name);
    if (i < 0) return NULL;
    *data = ingot_container_tensor_data(c, (size_t)i);
    return ingot_container_tensor(c, (size_t)i);
}

// ---- tests ------------------------------------------------------------------

static int test_engram_v41_keep_bytes(void) {
    V41_READY();
    char dst[1200];
    snprintf(dst, sizeof dst, "%s/keep.ingot", g.dir);
    ingot_err err = {0};
    CHECK_OK(convert_v41("keep", dst, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(dst, INGOT_OPEN_VERIFY, &c, &err), &err);
    const uint8_t *d = NULL;
    const ingot_tensor_info *t = find(c, "blk.1.engram.table", &d);
    CHECK(t && t->dtype == INGOT_DTYPE_F8_E4M3_R32 && t->dims[0] == g.n_rows && t->dims[1] == EG_DH);
    CHECK_EQ_U64(t->size, g.n_rows * (EG_DH / 32) * 33);
    int bad = 0;
    for (uint64_t r = 0; r < g.n_rows && !bad; r++)
        for (uint32_t b = 0; b < EG_DH / 32; b++) {
            const uint8_t *blk = d + (r * (EG_DH / 32) + b) * 33;
            bad |= blk[0] != g.table_sc[r * (EG_DH / 32) + b] || memcmp(blk + 1, g.table + r * EG_DH + b * 32, 32);
        }
    CHECK_MSG(!bad, "f8_e4m3_r32 table differs from the re-packed source bytes");
    // key.0 = wkv rows [0, D), value = rows [D, 2D), decoded exactly to bf16
    const char *names[2] = {"blk.1.engram.key.0.weight", "blk.1.engram.value.weight"};
    for (int k = 0; k < 2; k++) {
        t = find(c, names[k], &d);
        CHECK_MSG(t && t->dtype == INGOT_DTYPE_BF16 && t->dims[0] == D && t->dims[1] == D_MEM, "%s", names[k]);
        for (uint64_t i = 0; i < (uint64_t)D * D_MEM; i++) {
            uint16_t h;
            memcpy(&h, d + 2 * i, 2);
            if ((double)ingot_bf16_to_f32(h) != wkv_val(k * D + i / D_MEM, i % D_MEM))
                INGOT_FAILF("%s[%llu] = %g, source %g", names[k], (unsigned long long)i, ingot_bf16_to_f32(h),
                            wkv_val(k * D + i / D_MEM, i % D_MEM));
        }
    }
    t = find(c, "blk.1.engram.query_norm.0.weight", &d);
    CHECK(t && t->dims[0] == D);
    float q[D];
    CHECK(ingot_dtype_decode_f32(t->dtype, d, D, q));
    CHECK(memcmp(q, g.qw, sizeof q) == 0);
    CHECK(ingot_container_find_tensor(c, "blk.1.engram.conv.weight") < 0);
    ingot_container_close(c);
    return 0;
}

static int test_engram_v41_q8_0_table(void) {
    V41_READY();
    char dst[1200];
    snprintf(dst, sizeof dst, "%s/q8.ingot", g.dir);
    ingot_err err = {0};
    CHECK_OK(convert_v41("q8_0", dst, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(dst, 0, &c, &err), &err);
    const uint8_t *d = NULL;
    const ingot_tensor_info *t = find(c, "blk.1.engram.table", &d);
    CHECK(t && t->dtype == INGOT_DTYPE_Q8_0);
    uint64_t rb = 0;
    CHECK_OK(ingot_dtype_row_bytes(INGOT_DTYPE_Q8_0, EG_DH, &rb, &err), &err);
    float row[EG_DH];
    double worst = 0; // error / (block amax / 127): q8_0 rounds to half a step
    for (uint64_t r = 0; r < g.n_rows; r++) {
        ingot_quant_get(INGOT_DTYPE_Q8_0)->dequantize_row(d + r * rb, row, EG_DH);
        double amax = 0;
        for (uint32_t j = 0; j < EG_DH; j++) amax = fmax(amax, fabs(table_val(r, j)));
        for (uint32_t j = 0; j < EG_DH; j++)
            if (amax > 0) worst = fmax(worst, fabs(row[j] - table_val(r, j)) / (amax / 127));
    }
    printf("q8_0 table: worst error %.3f steps of amax/127\n", worst);
    CHECK(worst <= 0.51);
    ingot_container_close(c);
    return 0;
}

// float64 reference of the V4.1 block (docs/ENGRAM.md "Runtime", no conv,
// sign(0) = +, gate eps = rms_norm_eps) for one position.
static void ref_position(const uint64_t *window, const double *x, double *y) {
    const ingot_engram_layer *L = &g.p.layers[0];
    double e[D_MEM], k[D], v[D];
    uint64_t mix = 0;
    int j = 0;
    for (int n = 2; n <= EG_N; n++) {
        mix = n == 2 ? (window[0] * L->mult[0]) ^ (window[1] * L->mult[1]) : mix ^ (window[n - 1] * L->mult[n - 1]);
        for (int h = 0; h < EG_H; h++, j++) {
            const uint64_t r = mix % L->prime[j] + L->offset[j];
            for (int c = 0; c < EG_DH; c++) e[j * EG_DH + c] = table_val(r, (uint32_t)c);
        }
    }
    for (int o = 0; o < D; o++) {
        double sk = 0, sv = 0;
        for (int c = 0; c < D_MEM; c++) {
            sk += wkv_val((uint64_t)o, (uint64_t)c) * e[c];
            sv += wkv_val((uint64_t)(D + o), (uint64_t)c) * e[c];
        }
        k[o] = sk;
        v[o] = sv;
    }
    double kk = 0, xx = 0, dot = 0;
    for (int o = 0; o < D; o++) kk += k[o] * k[o], xx += x[o] * x[o];
    const double rk = 1 / sqrt(kk / D + g.eps), rx = 1 / sqrt(xx / D + g.eps);
    for (int o = 0; o < D; o++) dot += (k[o] * rk * g.kw[o]) * (x[o] * rx * g.qw[o]);
    const double s = dot / sqrt((double)D);
    const double ss = (s < 0 ? -1 : 1) * sqrt(fmax(fabs(s), 1e-6));
    const double a = 1 / (1 + exp(-ss));
    for (int o = 0; o < D; o++) y[o] = a * v[o];
}

static int forward_vs_reference(const char *path, double tol) {
    ingot_err err = {0};
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(path, 0, &c, &err), &err);
    ingot_engram_model *em = NULL;
    CHECK_OK(ingot_engram_model_open(c, &em, &err), &err);
    CHECK(em && ingot_engram_model_params(em)->variant == INGOT_ENGRAM_V41);
    const int32_t toks[N_TOK] = {5, 77, 300, 77, 5, 2, 411};
    static float x[N_TOK * D];
    static double x0[N_TOK * D];
    uint64_t s = 7;
    for (int i = 0; i < N_TOK * D; i++) x[i] = (float)(x0[i] = (double)(float)gauss_ordered(&s));
    x[D + 3] = 0; // some variety: one token whose stream is almost zero
    x0[D + 3] = 0;
    CHECK_OK(ingot_engram_model_forward(em, EG_L, x, toks, N_TOK, 0, &err), &err);
    double worst = 0, vmax = 0;
    for (int t = 0; t < N_TOK; t++) {
        uint64_t w[EG_N];
        for (int k = 0; k < EG_N; k++)
            w[k] = t - k >= 0 ? (uint64_t)g.lookup[toks[t - k]] : (uint64_t)g.lookup[2];
        double y[D];
        ref_position(w, x0 + t * D, y);
        for (int o = 0; o < D; o++) {
            worst = fmax(worst, fabs((double)x[t * D + o] - (x0[t * D + o] + y[o])));
            vmax = fmax(vmax, fabs(y[o]));
        }
    }
    printf("%s: Engram output max |runner - float64 reference| = %.3g (max |Y| %.3g)\n", path, worst, vmax);
    CHECK(vmax > 1e-3);
    CHECK_MSG(worst <= tol * vmax, "worst %g > %g", worst, tol * vmax);
    ingot_engram_model_free(em);
    ingot_container_close(c);
    return 0;
}

static int test_engram_v41_forward_reference(void) {
    V41_READY();
    char keep[1200], q8[1200];
    snprintf(keep, sizeof keep, "%s/fwd_keep.ingot", g.dir);
    snprintf(q8, sizeof q8, "%s/fwd_q8.ingot", g.dir);
    ingot_err err = {0};
    CHECK_OK(convert_v41("keep", keep, &err), &err);
    CHECK_OK(convert_v41("q8_0", q8, &err), &err);
    if (forward_vs_reference(keep, 1e-5)) return 1;
    return forward_vs_reference(q8, 2e-2);
}

static int test_engram_v41_verify_keep(void) {
    V41_READY();
    char dst[1200];
    snprintf(dst, sizeof dst, "%s/verify.ingot", g.dir);
    ingot_err err = {0};
    CHECK_OK(convert_v41("keep", dst, &err), &err);
    ingot_verify_opts o;
    ingot_verify_opts_init(&o);
    o.n_threads = 2;
    o.n_tokens = 64;
    o.work_dir = g.dir;
    ingot_verify_report rep;
    ingot_verify_report_init(&rep);
    CHECK_OK(ingot_verify_against(dst, g.dir, &o, &rep, &err), &err);
    ingot_verify_verdict(&rep, &o);
    printf("verify --against: %zu/%zu tensors exact, pass %d (%s)\n", rep.n_bit_exact, rep.n_cmp, rep.pass, rep.reason);
    const int ok = rep.pass && rep.n_bit_exact == rep.n_cmp && rep.n_cmp > 0;
    ingot_verify_report_deinit(&rep);
    CHECK(ok);
    return 0;
}

// The whole model (qwen3_moe backbone + V4.1 Engram at layer 1) runs from the
// keep file: logits are finite, Engram changes them, and the prompt in one
// call gives the logits of the same tokens fed one by one.
static int test_engram_v41_model_runs(void) {
    V41_READY();
    char dst[1200];
    snprintf(dst, sizeof dst, "%s/model.ingot", g.dir);
    ingot_err err = {0};
    CHECK_OK(convert_v41("keep", dst, &err), &err);
    ingot_model *m = NULL;
    CHECK_OK(ingot_model_open(dst, &m, &err), &err);
    ingot_state *s = NULL;
    ingot_status st = ingot_state_create(m, 32, N_TOK, NULL, &s, &err);
    const int32_t toks[N_TOK] = {5, 77, 300, 77, 5, 2, 411};
    enum { V = 512 };
    static float on[N_TOK * V], step[N_TOK * V], off[N_TOK * V];
    int rows = 0;
    if (st == INGOT_OK) st = ingot_model_forward(m, s, toks, N_TOK, 0, INGOT_FORWARD_ALL_LOGITS, &err);
    if (st == INGOT_OK) memcpy(on, ingot_state_logits(s, &rows), sizeof on);
    ingot_state_reset(s);
    for (int t = 0; t < N_TOK && st == INGOT_OK; t++) {
        st = ingot_model_forward(m, s, toks + t, 1, t, INGOT_FORWARD_ALL_LOGITS, &err);
        if (st == INGOT_OK) memcpy(step + t * V, ingot_state_logits(s, &rows), V * sizeof(float));
    }
    ingot_state_reset(s);
    ingot_engram_model_set_enabled(ingot_engram_of(m), false);
    if (st == INGOT_OK) st = ingot_model_forward(m, s, toks, N_TOK, 0, INGOT_FORWARD_ALL_LOGITS, &err);
    if (st == INGOT_OK) memcpy(off, ingot_state_logits(s, &rows), sizeof off);
    ingot_state_free(s);
    ingot_model_close(m);
    CHECK_OK(st, &err);
    double d_engram = 0, d_step = 0;
    int finite = 1;
    for (int i = 0; i < N_TOK * V; i++) {
        finite &= isfinite(on[i]) != 0;
        d_engram = fmax(d_engram, fabs((double)on[i] - off[i]));
        d_step = fmax(d_step, fabs((double)on[i] - step[i]));
    }
    printf("logits: max |Engram on - off| %.3g, max |prompt - token by token| %.3g\n", d_engram, d_step);
    CHECK(finite);
    CHECK(d_engram > 1e-3);
    CHECK(d_step <= 1e-4);
    return 0;
}

// Every tensor of file a has the same dtype and bytes in file b.
static int same_tensors(const char *a, const char *b) {
    ingot_err err = {0};
    ingot_container *ca = NULL, *cb = NULL;
    CHECK_OK(ingot_container_open(a, 0, &ca, &err), &err);
    CHECK_OK(ingot_container_open(b, 0, &cb, &err), &err);
    int diff = ingot_container_n_tensors(ca) != ingot_container_n_tensors(cb);
    for (size_t i = 0; i < ingot_container_n_tensors(ca) && !diff; i++) {
        const ingot_tensor_info *ta = ingot_container_tensor(ca, i);
        const uint8_t *db = NULL;
        const ingot_tensor_info *tb = find(cb, ta->name, &db);
        diff = !tb || tb->dtype != ta->dtype || tb->size != ta->size ||
               memcmp(ingot_container_tensor_data(ca, i), db, (size_t)ta->size) != 0;
        if (diff) fprintf(stderr, "tensor '%s' differs between %s and %s\n", ta->name, a, b);
    }
    ingot_container_close(ca);
    ingot_container_close(cb);
    CHECK(!diff);
    return 0;
}

// The checkpoint's files packed into one tar (streamed by the converter).
static int pack_tar(const char *out) {
    const char *names[] = {"config.json", "tokenizer.json", "model.safetensors"};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int rc = archive_write_open_filename(a, out) == ARCHIVE_OK ? 0 : -1;
    for (size_t i = 0; i < sizeof names / sizeof *names && rc == 0; i++) {
        char path[1200], *buf = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/%s", g.dir, names[i]);
        rc = ingot_file_read_all(path, 256u << 20, &buf, &n, NULL) == INGOT_OK ? 0 : -1;
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, names[i]);
        archive_entry_set_size(ae, (la_int64_t)n);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        if (rc == 0 && archive_write_header(a, ae) != ARCHIVE_OK) rc = -1;
        if (rc == 0 && archive_write_data(a, buf, n) != (la_ssize_t)n) rc = -1;
        archive_entry_free(ae);
        ingot_free(buf);
    }
    if (archive_write_close(a) != ARCHIVE_OK) rc = -1;
    archive_write_free(a);
    return rc;
}

// Same tensors from the folder (pread bands), from a tar (streamed, FP8
// data and scales paired in memory) and with one thread instead of two.
static int test_engram_v41_sources_agree(void) {
    V41_READY();
    char tar[1200], a[1200], b[1200];
    snprintf(tar, sizeof tar, "%s/ckpt.tar", g.dir);
    CHECK(pack_tar(tar) == 0);
    ingot_err err = {0};
    const char *presets[2] = {"keep", "q8_0"};
    for (int k = 0; k < 2; k++) {
        snprintf(a, sizeof a, "%s/dir_%s.ingot", g.dir, presets[k]);
        snprintf(b, sizeof b, "%s/tar_%s.ingot", g.dir, presets[k]);
        CHECK_OK(convert_v41(presets[k], a, &err), &err);
        ingot_convert_opts o = {0};
        o.src = tar;
        o.dst = b;
        o.preset = presets[k];
        o.n_threads = k == 0 ? 2 : 1;
        o.force = true;
        CHECK_OK(ingot_convert(&o, NULL, &err), &err);
        if (same_tensors(a, b)) return 1;
    }
    return 0;
}

// hc_mult = 2 (the runner refuses it, the converter does not): wkv rows
// [0, D) are key.0, [D, 2D) key.1, [2D, 3D) the value; q/k_weight row m is
// stream m's norm.
static int test_engram_v41_two_streams(void) {
    V41_READY();
    enum { G2 = 2, ROWS2 = (G2 + 1) * D };
    char dir[600], path[1200], from[1200];
    snprintf(dir, sizeof dir, "%s", ingot_test_tmpdir());
    static uint8_t wkv[ROWS2 * D_MEM], wsc[(ROWS2 / 32) * (D_MEM / 32)];
    static uint16_t qk[G2 * D];
    uint64_t rs = 99;
    for (size_t i = 0; i < sizeof wkv; i++) wkv[i] = rand_e4m3(&rs);
    for (size_t i = 0; i < sizeof wsc; i++) wsc[i] = (uint8_t)(110 + rng_next(&rs) % 20);
    for (int i = 0; i < G2 * D; i++) qk[i] = ingot_f32_to_bf16((float)(1.0 + 0.1 * gauss_ordered(&rs)));
    ingot_checkpoint *ck = NULL;
    ingot_err err = {0};
    snprintf(from, sizeof from, "%s/model.safetensors", g.dir);
    CHECK_OK(ingot_checkpoint_open(from, &ck, &err), &err);
    st_out o = {.hdr = cJSON_CreateObject()};
    const uint64_t wd[2] = {ROWS2, D_MEM}, sd[2] = {ROWS2 / 32, D_MEM / 32}, nd[2] = {G2, D};
    for (size_t i = 0; i < ingot_checkpoint_n_tensors(ck); i++) {
        const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, i);
        if (strstr(t->name, ".wkv.") || strstr(t->name, "_weight")) continue;
        st_add(&o, t->name, ingot_dtype_get(t->dtype)->st_name, (int)t->n_dims, t->dims,
               ingot_checkpoint_tensor_data(ck, i), t->size);
    }
    st_add(&o, "model.layers.1.engram.wkv.weight", "F8_E4M3", 2, wd, wkv, sizeof wkv); // `model.` spelling
    st_add(&o, "model.layers.1.engram.wkv.scale", "F8_E8M0", 2, sd, wsc, sizeof wsc);
    st_add(&o, "layers.1.engram.q_weight", "BF16", 2, nd, qk, sizeof qk);
    st_add(&o, "layers.1.engram.k_weight", "BF16", 2, nd, qk, sizeof qk);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = st_write(&o, path);
    cJSON_Delete(o.hdr);
    ingot_checkpoint_close(ck);
    snprintf(from, sizeof from, "%s/tokenizer.json", g.dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    rc |= copy_file(from, path);
    snprintf(from, sizeof from, "%s/config.json", g.dir);
    char *text = NULL;
    size_t n = 0;
    CHECK_OK(ingot_file_read_all(from, 1u << 20, &text, &n, &err), &err);
    cJSON *cfg = cJSON_ParseWithLength(text, n);
    ingot_free(text);
    cJSON_ReplaceItemInObject(cfg, "hc_mult", cJSON_CreateNumber(G2));
    text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "wb");
    rc |= !f || fputs(text, f) < 0;
    if (f) fclose(f);
    cJSON_free(text);
    CHECK(rc == 0);
    ingot_convert_opts co = {0};
    co.src = dir;
    snprintf(path, sizeof path, "%s/g2.ingot", dir);
    co.dst = path;
    co.preset = "keep";
    co.n_threads = 2;
    CHECK_OK(ingot_convert(&co, NULL, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(path, 0, &c, &err), &err);
    int bad = 0;
    for (int k = 0; k <= G2 && !bad; k++) {
        char name[96];
        if (k < G2) snprintf(name, sizeof name, "blk.1.engram.key.%d.weight", k);
        else snprintf(name, sizeof name, "blk.1.engram.value.weight");
        const uint8_t *d = NULL;
        const ingot_tensor_info *t = find(c, name, &d);
        bad = !t || t->dtype != INGOT_DTYPE_BF16;
        for (uint64_t i = 0; !bad && i < (uint64_t)D * D_MEM; i++) {
            const uint64_t r = (uint64_t)k * D + i / D_MEM, col = i % D_MEM;
            uint16_t h;
            memcpy(&h, d + 2 * i, 2);
            const double want = (double)ingot_e4m3_to_f32(wkv[r * D_MEM + col]) *
                                ldexp(1.0, (int)wsc[(r / 32) * (D_MEM / 32) + col / 32] - 127);
            bad = (double)ingot_bf16_to_f32(h) != want;
            if (bad) fprintf(stderr, "%s[%llu]: %g, source %g\n", name, (unsigned long long)i, ingot_bf16_to_f32(h), want);
        }
    }
    for (int m = 0; m < G2 && !bad; m++) {
        char name[96];
        snprintf(name, sizeof name, "blk.1.engram.query_norm.%d.weight", m);
        const uint8_t *d = NULL;
        const ingot_tensor_info *t = find(c, name, &d);
        float v[D];
        bad = !t || !ingot_dtype_decode_f32(t->dtype, d, D, v);
        for (int i = 0; !bad && i < D; i++) bad = v[i] != ingot_bf16_to_f32(qk[m * D + i]);
    }
    ingot_container_close(c);
    rm_tree(dir);
    CHECK(!bad);
    return 0;
}

static int test_engram_v41_bad_scale(void) {
    V41_READY();
    // A table scale tensor of the wrong shape is refused, naming the tensor.
    char dir[600], path[1200];
    snprintf(dir, sizeof dir, "%s", ingot_test_tmpdir());
    ingot_checkpoint *ck = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
    ingot_err err = {0};
    CHECK_OK(ingot_checkpoint_open(path, &ck, &err), &err);
    st_out o = {.hdr = cJSON_CreateObject()};
    for (size_t i = 0; i < ingot_checkpoint_n_tensors(ck); i++) {
        const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, i);
        uint64_t dims[2] = {t->dims[0], t->n_dims > 1 ? t->dims[1] : 0};
        if (!strcmp(t->name, "layers.1.engram.embed.scale")) dims[0] -= 1;
        const uint64_t size = !strcmp(t->name, "layers.1.engram.embed.scale") ? t->size - dims[1] : t->size;
        st_add(&o, t->name, ingot_dtype_get(t->dtype)->st_name, (int)t->n_dims, dims, ingot_checkpoint_tensor_data(ck, i),
               size);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_write(&o, path) == 0);
    cJSON_Delete(o.hdr);
    const char *copy[] = {"tokenizer.json", "config.json"};
    for (int i = 0; i < 2; i++) {
        char from[1200], to[1200];
        snprintf(from, sizeof from, "%s/%s", g.dir, copy[i]);
        snprintf(to, sizeof to, "%s/%s", dir, copy[i]);
        CHECK(copy_file(from, to) == 0);
    }
    ingot_checkpoint_close(ck);
    ingot_convert_opts co = {0};
    co.src = dir;
    snprintf(path, sizeof path, "%s/bad.ingot", dir);
    co.dst = path;
    co.preset = "keep";
    co.n_threads = 1;
    const ingot_status st = ingot_convert(&co, NULL, &err);
    rm_tree(dir);
    CHECK_STATUS(st, INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "embed.scale");
    return 0;
}

int main(int argc, char **argv) {
    static const ingot_test_case cases[] = {
        {"engram_v41_keep_bytes", test_engram_v41_keep_bytes},
        {"engram_v41_q8_0_table", test_engram_v41_q8_0_table},
        {"engram_v41_forward_reference", test_engram_v41_forward_reference},
        {"engram_v41_verify_keep", test_engram_v41_verify_keep},
        {"engram_v41_model_runs", test_engram_v41_model_runs},
        {"engram_v41_sources_agree", test_engram_v41_sources_agree},
        {"engram_v41_two_streams", test_engram_v41_two_streams},
        {"engram_v41_bad_scale", test_engram_v41_bad_scale},
    };
    const int rc = ingot_test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    if (g_ready != 0 && g.dir[0]) rm_tree(g.dir);
    ingot_free(g.table);
    ingot_free(g.table_sc);
    ingot_free(g.lookup);
    return rc;
}
