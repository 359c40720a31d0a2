// Engram end to end: the reference checkpoint
// ../shared/fixtures/engram/qwen3_moe_engram is converted (keep and q8_0),
// run by the CPU runner with its Engram layer, and compared with the
// reference logits and row indices computed by the official Engram module;
// a config whose engram_compressed_vocab_size disagrees with the tokenizer
// is rejected.
#include <cjson/cJSON.h>

#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/engram.h"
#include "ingot/runner.h"
#include "ingot_test.h"

#define FIX "/engram/qwen3_moe_engram"
enum { T_TOK = 48, VOCAB = 512 };

static char g_src[1024];

static int fixture_dir(void) {
    const char *fix = ingot_test_fixtures();
    if (!fix) return 0;
    snprintf(g_src, sizeof g_src, "%s" FIX, fix);
    struct stat sb;
    return stat(g_src, &sb) == 0 && S_ISDIR(sb.st_mode);
}

#define SKIP_WITHOUT_ENGRAM_FIXTURE()                                                     \
    do {                                                                                  \
        if (!fixture_dir()) {                                                             \
            printf("skipped: ../shared/fixtures/engram/qwen3_moe_engram is absent\n");    \
            return INGOT_TEST_SKIP;                                                       \
        }                                                                                 \
    } while (0)

static char *read_file(const char *name, size_t *n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_src, name);
    char *text = NULL;
    if (ingot_file_read_all(path, 64u << 20, &text, n, NULL) != INGOT_OK) return NULL;
    return text;
}

static ingot_status convert_to_with(const char *preset, const char *config, const char *dst,
                                    const char *const *overrides, size_t n_overrides, ingot_err *err) {
    ingot_convert_opts o = {0};
    o.overrides = overrides;
    o.n_overrides = n_overrides;
    o.src = g_src;
    o.dst = dst;
    o.preset = preset;
    o.config_path = config;
    o.n_threads = 2;
    o.force = true;
    return ingot_convert(&o, NULL, err);
}

static ingot_status convert_to(const char *preset, const char *config, const char *dst, ingot_err *err) {
    return convert_to_with(preset, config, dst, NULL, 0, err);
}

static int32_t *fixture_tokens(size_t *n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/tokens.json", g_src);
    int32_t *ids = NULL;
    if (ingot_tokens_parse(path, &ids, n, NULL) != INGOT_OK) return NULL;
    return ids;
}

// Run the converted file over the fixture tokens (one prompt batch, then the
// same tokens one at a time as decode steps) and report the worst logit
// difference against logits.f32 and the top-1 agreement.
typedef struct cmp_stats {
    double worst;    // max |diff|
    double rel_rms;  // rms(diff) / rms(reference logits)
    int top1;        // positions (of 2·48) whose argmax agrees
} cmp_stats;

static int run_and_compare(const char *path, double atol, cmp_stats *out) {
    ingot_err err = {0};
    ingot_model *m = NULL;
    CHECK_OK(ingot_model_open(path, &m, &err), &err);
    ingot_status st = INGOT_OK; // ingot_model_open attached the Engram layers
    size_t n = 0;
    int32_t *ids = fixture_tokens(&n);
    size_t ln = 0;
    float *ref = (float *)read_file("logits.f32", &ln);
    ingot_state *s = NULL;
    ingot_pool *pool = NULL; // two threads: the Engram projections are split across them too
    if (st == INGOT_OK) st = ingot_pool_create(2, &pool, &err);
    if (st == INGOT_OK) st = ingot_state_create(m, 64, T_TOK, pool, &s, &err);
    int r = st != INGOT_OK || !ids || n != T_TOK || !ref || ln != sizeof(float) * T_TOK * VOCAB || !ingot_engram_of(m);
    double worst = 0, d2 = 0, r2 = 0;
    int top1 = 0;
    // 1: whole prompt in one call; 2: one token per call (decode path, conv state carried over).
    for (int mode = 1; mode <= 2 && !r; mode++) {
        ingot_state_reset(s);
        for (int t0 = 0; t0 < T_TOK && !r; t0 += mode == 1 ? T_TOK : 1) {
            const int cnt = mode == 1 ? T_TOK : 1;
            if (ingot_model_forward(m, s, ids + t0, cnt, t0, INGOT_FORWARD_ALL_LOGITS, &err) != INGOT_OK) {
                r = 2;
                break;
            }
            int rows = 0;
            const float *lg = ingot_state_logits(s, &rows);
            for (int t = 0; t < cnt; t++) {
                const float *a = lg + (size_t)t * VOCAB, *b = ref + (size_t)(t0 + t) * VOCAB;
                for (int v = 0; v < VOCAB; v++) {
                    worst = fmax(worst, fabs((double)a[v] - b[v]));
                    d2 += ((double)a[v] - b[v]) * ((double)a[v] - b[v]);
                    r2 += (double)b[v] * b[v];
                }
                top1 += ingot_argmax(a, VOCAB) == ingot_argmax(b, VOCAB);
            }
        }
    }
    if (r) fprintf(stderr, "%s: %s\n", path, err.msg);
    ingot_state_free(s);
    ingot_pool_free(pool);
    ingot_model_close(m);
    ingot_free(ids);
    ingot_free(ref);
    CHECK_EQ_INT(r, 0);
    out->worst = worst;
    out->rel_rms = r2 > 0 ? sqrt(d2 / r2) : 0;
    out->top1 = top1;
    printf("%s: max |logit diff| %.3g, rms diff / rms logits %.3g, top-1 agreement %d/%d\n", path, worst,
           out->rel_rms, top1, 2 * T_TOK);
    CHECK_MSG(worst <= atol, "max |diff| %.3g > %.3g", worst, atol);
    return 0;
}

static int test_engram_e2e_keep_logits(void) {
    SKIP_WITHOUT_ENGRAM_FIXTURE();
    const char *tmp = ingot_test_tmpdir();
    char dst[512];
    snprintf(dst, sizeof dst, "%s/keep.ingot", tmp);
    ingot_err err = {0};
    CHECK_OK(convert_to("keep", NULL, dst, &err), &err);
    cmp_stats cs;
    if (run_and_compare(dst, 1e-4, &cs)) return 1;
    CHECK_EQ_INT(cs.top1, 2 * T_TOK);
    return 0;
}

// The Engram layer at the q8_0 preset (projections q8_0; the table and the
// conv taps f16, since rows of 16 and 4 values are not whole q8_0 blocks),
// the backbone kept as is so that the difference is Engram's alone.
static int test_engram_e2e_q8_0_logits(void) {
    SKIP_WITHOUT_ENGRAM_FIXTURE();
    const char *tmp = ingot_test_tmpdir();
    char dst[512];
    snprintf(dst, sizeof dst, "%s/q8.ingot", tmp);
    static const char *const keep_backbone[] = {"^(token_embd|output)\\.|^blk\\.[0-9]+\\.(attn_|ffn_|exp\\.)=keep"};
    ingot_err err = {0};
    CHECK_OK(convert_to_with("q8_0", NULL, dst, keep_backbone, 1, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(dst, 0, &c, &err), &err);
    const int64_t vi = ingot_container_find_tensor(c, "blk.1.engram.value.weight");
    const int64_t ti = ingot_container_find_tensor(c, "blk.1.engram.table");
    const int vt = vi >= 0 ? (int)ingot_container_tensor(c, (size_t)vi)->dtype : -1;
    const int tt = ti >= 0 ? (int)ingot_container_tensor(c, (size_t)ti)->dtype : -1;
    ingot_container_close(c);
    CHECK_EQ_INT(vt, INGOT_DTYPE_Q8_0);
    CHECK_EQ_INT(tt, INGOT_DTYPE_F16);
    cmp_stats cs;
    if (run_and_compare(dst, INFINITY, &cs)) return 1;
    CHECK_MSG(cs.rel_rms <= 0.05, "rms diff / rms logits %.3g", cs.rel_rms);
    CHECK(cs.top1 >= 2 * T_TOK * 9 / 10);
    return 0;
}

// The converted file's own metadata and blob reproduce the reference rows,
// and every table is row-addressable in its own page-aligned ENGRAM region.
static int test_engram_e2e_rows_and_layout(void) {
    SKIP_WITHOUT_ENGRAM_FIXTURE();
    const char *tmp = ingot_test_tmpdir();
    char dst[512];
    snprintf(dst, sizeof dst, "%s/q8.ingot", tmp);
    ingot_err err = {0};
    CHECK_OK(convert_to("q8_0", NULL, dst, &err), &err);
    ingot_container *c = NULL;
    CHECK_OK(ingot_container_open(dst, INGOT_OPEN_VERIFY, &c, &err), &err);
    ingot_engram_model *em = NULL;
    ingot_status st = ingot_engram_model_open(c, &em, &err);
    size_t n = 0, rn = 0;
    int32_t *ids = fixture_tokens(&n);
    char *rows_text = read_file("engram_rows.json", &rn);
    cJSON *ref = rows_text ? cJSON_ParseWithLength(rows_text, rn) : NULL;
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, "layers"), "1"), "rows");
    int r = st != INGOT_OK || !em || !ids || !want;
    uint64_t rows[T_TOK * INGOT_ENGRAM_MAX_COLS];
    uint32_t cols = 0;
    if (!r) {
        cols = ingot_engram_n_cols(ingot_engram_model_params(em));
        r = ingot_engram_model_rows(em, 0, ids, (int)n, 0, rows, &err) != INGOT_OK ? 2 : 0;
    }
    for (size_t t = 0; !r && t < n; t++)
        for (uint32_t j = 0; j < cols; j++)
            if (rows[t * cols + j] != (uint64_t)cJSON_GetArrayItem(cJSON_GetArrayItem(want, (int)t), (int)j)->valuedouble)
                r = 3;
    // Layout: the table sits in an ENGRAM region of layer 1, page aligned,
    // stored as whole rows of d_h values.
    const int64_t ti = ingot_container_find_tensor(c, "blk.1.engram.table");
    if (!r && ti < 0) r = 4;
    if (!r) {
        const ingot_tensor_info *t = ingot_container_tensor(c, (size_t)ti);
        const ingot_region_info *reg = ingot_container_region(c, t->region);
        uint64_t rb = 0;
        if (reg->kind != INGOT_REGION_ENGRAM || reg->layer != 1 || reg->off % INGOT_REGION_ALIGN ||
            ingot_dtype_row_bytes(t->dtype, t->dims[1], &rb, NULL) != INGOT_OK || rb * t->dims[0] != t->size ||
            t->dims[0] != 8916)
            r = 5;
        // Nothing but Engram tensors after the first ENGRAM region.
        for (size_t i = 0; !r && i < ingot_container_n_tensors(c); i++) {
            const ingot_tensor_info *u = ingot_container_tensor(c, i);
            if (u->off > t->off && !strstr(u->name, ".engram.")) r = 6;
        }
    }
    cJSON_Delete(ref);
    ingot_free(rows_text);
    ingot_free(ids);
    ingot_engram_model_free(em);
    ingot_container_close(c);
    if (r) fprintf(stderr, "failure kind %d (%s)\n", r, err.msg);
    CHECK_EQ_INT(r, 0);
    return 0;
}

// A config whose compressed vocabulary size disagrees with tokenizer.json is
// refused before anything is written.
static int test_engram_e2e_wrong_compressed_vocab(void) {
    SKIP_WITHOUT_ENGRAM_FIXTURE();
    const char *tmp = ingot_test_tmpdir();
    size_t n = 0;
    char *cfg = read_file("config.json", &n);
    CHECK(cfg);
    cJSON *j = cJSON_ParseWithLength(cfg, n);
    ingot_free(cfg);
    CHECK(j);
    cJSON_ReplaceItemInObject(j, "engram_compressed_vocab_size", cJSON_CreateNumber(329));
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char cpath[512], dst[512];
    snprintf(cpath, sizeof cpath, "%s/config.json", tmp);
    snprintf(dst, sizeof dst, "%s/bad.ingot", tmp);
    FILE *f = fopen(cpath, "w");
    CHECK(f && txt);
    fputs(txt, f);
    fclose(f);
    cJSON_free(txt);
    ingot_err err = {0};
    CHECK_STATUS(convert_to("keep", cpath, dst, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "tokenizer and checkpoint disagree");
    CHECK_STR_CONTAINS(err.msg, "328");
    struct stat sb;
    CHECK(stat(dst, &sb) != 0);
    return 0;
}

INGOT_TEST_MAIN(T(engram_e2e_keep_logits), T(engram_e2e_q8_0_logits), T(engram_e2e_rows_and_layout),
                T(engram_e2e_wrong_compressed_vocab))
