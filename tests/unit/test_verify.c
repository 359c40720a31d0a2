// verify/: verdicts on clean and corrupted files, against the source and
// against reference logits.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/verify.h"
#include "ingot_test.h"

static char g_dir[256];

static const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    if (!g_dir[0]) snprintf(g_dir, sizeof g_dir, "%s", ingot_test_tmpdir());
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", g_dir, name);
    return p;
}

static ingot_status convert_to(const char *src, const char *dst, const char *preset, ingot_err *err) {
    ingot_convert_opts o;
    memset(&o, 0, sizeof o);
    o.src = src;
    o.dst = dst;
    o.preset = preset;
    o.force = true;
    o.n_threads = 2;
    return ingot_convert(&o, NULL, err);
}

// A generated MoE sample (qwen3moe-tiny) under the test's temp dir.
static const char *sample_src(void) {
    static char path[512];
    if (path[0]) return path;
    snprintf(path, sizeof path, "%s", tmp_path("sample"));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/samples/ingot-samples --preset qwen3moe-tiny -o %s > /dev/null", INGOT_BINARY_DIR,
             path);
    if (system(cmd) != 0) path[0] = 0;
    return path;
}

static bool has_problem(const ingot_verify_report *r, const char *needle) {
    for (size_t i = 0; i < r->n_problems && i < r->cap_problems; i++)
        if (strstr(r->problems[i].msg, needle)) return true;
    return false;
}

static void opts_small(ingot_verify_opts *o) {
    ingot_verify_opts_init(o);
    o->n_threads = 2;
    o->n_tokens = 128;
    o->n_ctx = 64;
    o->work_dir = g_dir;
}

static int test_verify_keep_is_exact(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[512];
    snprintf(src, sizeof src, "%s/hf/qwen3_moe", fx);
    const char *out = tmp_path("keep.ingot");
    ingot_err err = {0};
    CHECK_OK(convert_to(src, out, "keep", &err), &err);
    ingot_verify_opts o;
    opts_small(&o);
    ingot_verify_report r;
    ingot_verify_report_init(&r);
    CHECK_OK(ingot_verify_structure(out, &o, &r, &err), &err);
    CHECK_EQ_INT(r.n_problems, 0);
    CHECK_OK(ingot_verify_against(out, src, &o, &r, &err), &err);
    CHECK(r.n_cmp > 0);
    CHECK_EQ_INT(r.n_bit_exact, r.n_cmp);
    CHECK(r.e2e_ran);
    CHECK_NEAR(r.kld_mean, 0, 0);
    CHECK_NEAR(r.top1, 1, 0);
    ingot_verify_verdict(&r, &o);
    CHECK_MSG(r.pass, "%s", r.reason);
    ingot_verify_report_deinit(&r);
    return 0;
}

static int run_against(const char *preset, const char *verdict_preset, ingot_verify_report *r) {
    const char *src = sample_src();
    if (!src[0]) {
        printf("skipped: ingot-samples is not built\n");
        return INGOT_TEST_SKIP;
    }
    char name[64];
    snprintf(name, sizeof name, "%s.ingot", preset);
    const char *out = tmp_path(name);
    ingot_err err = {0};
    CHECK_OK(convert_to(src, out, preset, &err), &err);
    ingot_verify_opts o;
    opts_small(&o);
    ingot_verify_report_init(r);
    CHECK_OK(ingot_verify_structure(out, &o, r, &err), &err);
    CHECK_EQ_INT(r->n_problems, 0);
    CHECK_OK(ingot_verify_against(out, src, &o, r, &err), &err);
    CHECK(r->e2e_ran && r->tensors_ran);
    if (verdict_preset) {
        CHECK(ingot_verify_thresholds(verdict_preset, &o.threshold_kld, &o.threshold_top1));
    }
    ingot_verify_verdict(r, &o);
    return 0;
}

static int test_verify_q8_0_passes(void) {
    ingot_verify_report r;
    int rc = run_against("q8_0", NULL, &r);
    if (rc) return rc;
    printf("q8_0: kld %.6f top1 %.4f\n", r.kld_mean, r.top1);
    CHECK(strcmp(r.preset, "q8_0") == 0);
    CHECK(r.kld_mean > 0); // quantized: not identical
    CHECK_MSG(r.pass, "%s", r.reason);
    ingot_verify_report_deinit(&r);
    return 0;
}

static int test_verify_q2_k_fails_q8_0_grade(void) {
    ingot_verify_report r;
    int rc = run_against("q2_k", "q8_0", &r);
    if (rc) return rc;
    printf("q2_k: kld %.6f top1 %.4f (%s)\n", r.kld_mean, r.top1, r.reason);
    CHECK(!r.pass);
    CHECK_STR_CONTAINS(r.reason, "KLD");
    ingot_verify_report_deinit(&r);
    return 0;
}

// ---- corruptions --------------------------------------------------------------
static const char *keep_fixture(const char *model, const char *name) {
    const char *fx = ingot_test_fixtures();
    if (!fx) return NULL;
    char src[512];
    snprintf(src, sizeof src, "%s/hf/%s", fx, model);
    const char *out = tmp_path(name);
    ingot_err err = {0};
    if (convert_to(src, out, "keep", &err) != INGOT_OK) {
        fprintf(stderr, "convert %s: %s\n", src, err.msg);
        return NULL;
    }
    return out;
}

static int copy_file(const char *from, const char *to, long flip_at, long truncate_to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) return -1;
    long i = 0;
    int c;
    while ((c = fgetc(a)) != EOF) {
        if (truncate_to >= 0 && i >= truncate_to) break;
        if (i == flip_at) c ^= 0x40;
        fputc(c, b);
        i++;
    }
    fclose(a);
    fclose(b);
    return 0;
}

static int test_verify_flipped_byte(void) {
    const char *good = keep_fixture("llama", "flip-src.ingot");
    if (!good) {
        printf("skipped: fixtures absent\n");
        return INGOT_TEST_SKIP;
    }
    ingot_container *c;
    ingot_err err = {0};
    CHECK_OK(ingot_container_open(good, 0, &c, &err), &err);
    int64_t k = ingot_container_find_tensor(c, "blk.1.ffn_up.weight");
    CHECK(k >= 0);
    const ingot_tensor_info *t = ingot_container_tensor(c, (size_t)k);
    long at = (long)(t->off + t->size / 2);
    ingot_container_close(c);
    const char *bad = tmp_path("flipped.ingot");
    CHECK(copy_file(good, bad, at, -1) == 0);
    ingot_verify_opts o;
    opts_small(&o);
    ingot_verify_report r;
    ingot_verify_report_init(&r);
    CHECK_OK(ingot_verify_structure(bad, &o, &r, &err), &err);
    CHECK_EQ_INT(r.n_problems, 1);
    CHECK_EQ_INT(r.problems[0].code, INGOT_E_CHECKSUM);
    CHECK(strcmp(r.problems[0].tensor, "blk.1.ffn_up.weight") == 0);
    CHECK_STR_CONTAINS(r.problems[0].msg, "blk.1.ffn_up.weight");
    ingot_verify_verdict(&r, &o);
    CHECK(!r.pass);
    ingot_verify_report_deinit(&r);
    return 0;
}

static int test_verify_truncated(void) {
    const char *good = keep_fixture("llama", "trunc-src.ingot");
    if (!good) {
        printf("skipped: fixtures absent\n");
        return INGOT_TEST_SKIP;
    }
    struct stat st;
    CHECK(stat(good, &st) == 0);
    const char *bad = tmp_path("truncated.ingot");
    CHECK(copy_file(good, bad, -1, (long)st.st_size - 1000) == 0);
    ingot_verify_opts o;
    opts_small(&o);
    ingot_verify_report r;
    ingot_verify_report_init(&r);
    ingot_err err = {0};
    CHECK_OK(ingot_verify_structure(bad, &o, &r, &err), &err);
    CHECK(!r.readable);
    CHECK_EQ_INT(r.n_problems, 1);
    printf("truncated: %s\n", r.problems[0].msg);
    CHECK(r.problems[0].msg[0] != 0);
    ingot_verify_verdict(&r, &o);
    CHECK(!r.pass);
    ingot_verify_report_deinit(&r);
    return 0;
}

// Rewrite a container through the writer with a transformation: names of two
// tensors swapped, one tensor dropped, or the metadata replaced. The result
// is a well-formed file with consistent checksums whose content is wrong, the
// hardest kind of corruption to notice.
typedef struct rewrite_spec {
    const char *swap_a, *swap_b;
    const char *drop;
    char *(*meta_fn)(const char *meta);
} rewrite_spec;

static int rewrite(const char *from, const char *to, const rewrite_spec *sp) {
    ingot_container *c;
    ingot_err err = {0};
    CHECK_OK(ingot_container_open(from, 0, &c, &err), &err);
    ingot_writer *w;
    CHECK_OK(ingot_writer_create(to, INGOT_WRITER_FORCE, &w, &err), &err);
    size_t mn;
    const char *meta = ingot_container_metadata(c, &mn);
    char *m2 = sp->meta_fn ? sp->meta_fn(meta) : NULL;
    CHECK_OK(ingot_writer_set_metadata(w, m2 ? m2 : meta, m2 ? strlen(m2) : mn, &err), &err);
    free(m2);
    for (size_t b = 0; b < ingot_container_n_blobs(c); b++) {
        const char *name;
        const void *data;
        size_t n;
        ingot_container_blob(c, b, &name, &data, &n);
        CHECK_OK(ingot_writer_add_blob(w, name, data, n, &err), &err);
    }
    size_t n = ingot_container_n_tensors(c);
    size_t *map = calloc(n, sizeof *map);
    size_t k = 0;
    uint32_t region = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        if (sp->drop && strcmp(t->name, sp->drop) == 0) continue;
        if (t->region != region) {
            const ingot_region_info *ri = ingot_container_region(c, t->region);
            CHECK_OK(ingot_writer_begin_region(w, ri->kind, ri->layer, &err), &err);
            region = t->region;
        }
        const char *name = t->name;
        if (sp->swap_a && strcmp(name, sp->swap_a) == 0) name = sp->swap_b;
        else if (sp->swap_b && strcmp(name, sp->swap_b) == 0) name = sp->swap_a;
        size_t idx;
        CHECK_OK(ingot_writer_add_tensor(w, name, t->dtype, t->n_dims, t->dims, &idx, &err), &err);
        map[k++] = i;
    }
    CHECK_OK(ingot_writer_plan(w, &err), &err);
    for (size_t j = 0; j < k; j++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, map[j]);
        CHECK_OK(ingot_writer_write(w, j, 0, ingot_container_tensor_data(c, map[j]), t->size, &err), &err);
    }
    CHECK_OK(ingot_writer_finish(w, NULL, &err), &err);
    ingot_writer_free(w);
    free(map);
    ingot_container_close(c);
    return 0;
}

static int verify_expect_problem(const char *path, const char *needle) {
    ingot_verify_opts o;
    opts_small(&o);
    ingot_verify_report r;
    ingot_verify_report_init(&r);
    ingot_err err = {0};
    CHECK_OK(ingot_verify_structure(path, &o, &r, &err), &err);
    for (size_t i = 0; i < r.n_problems; i++) printf("problem: %s\n", r.problems[i].msg);
    CHECK_MSG(has_problem(&r, needle), "no problem mentions '%s'", needle);
    ingot_verify_verdict(&r, &o);
    CHECK(!r.pass);
    ingot_verify_report_deinit(&r);
    return 0;
}

static int test_verify_swapped_names(void) {
    const char *good = keep_fixture("llama", "swap-src.ingot");
    if (!good) {
        printf("skipped: fixtures absent\n");
        return INGOT_TEST_SKIP;
    }
    const char *bad = tmp_path("swapped.ingot");
    rewrite_spec sp = {.swap_a = "blk.0.attn_q.weight", .swap_b = "blk.0.attn_k.weight"};
    if (rewrite(good, bad, &sp)) return 1;
    return verify_expect_problem(bad, "blk.0.attn_k.weight' has shape");
}

static int test_verify_missing_expert(void) {
    const char *good = keep_fixture("qwen3_moe", "drop-src.ingot");
    if (!good) {
        printf("skipped: fixtures absent\n");
        return INGOT_TEST_SKIP;
    }
    const char *bad = tmp_path("dropped.ingot");
    rewrite_spec sp = {.drop = "blk.1.exp.5.ffn_down.weight"};
    if (rewrite(good, bad, &sp)) return 1;
    return verify_expect_problem(bad, "'blk.1.exp.5.ffn_down.weight' required by the architecture is missing");
}

// Replace the first prime of the first Engram layer with the next odd
// number and keep the offsets and row count consistent with it, so only
// recomputing the primes from the seed can tell.
static char *bump_prime(const char *meta) {
    cJSON *j = cJSON_Parse(meta);
    cJSON *eg = cJSON_GetObjectItemCaseSensitive(j, "engram");
    cJSON *layers = eg ? cJSON_GetObjectItemCaseSensitive(eg, "layers") : NULL;
    cJSON *l0 = layers ? cJSON_GetArrayItem(layers, 0) : NULL;
    cJSON *primes = l0 ? cJSON_GetObjectItemCaseSensitive(l0, "primes") : NULL;
    cJSON *offs = l0 ? cJSON_GetObjectItemCaseSensitive(l0, "offsets") : NULL;
    cJSON *nrows = l0 ? cJSON_GetObjectItemCaseSensitive(l0, "n_rows") : NULL;
    cJSON *p0 = primes ? cJSON_GetArrayItem(primes, 0) : NULL;
    if (p0 && cJSON_IsNumber(p0)) {
        cJSON_SetNumberValue(p0, p0->valuedouble + 2);
        for (int k = 1; k < cJSON_GetArraySize(offs); k++) {
            cJSON *o = cJSON_GetArrayItem(offs, k);
            cJSON_SetNumberValue(o, o->valuedouble + 2);
        }
        if (nrows) cJSON_SetNumberValue(nrows, nrows->valuedouble + 2);
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static int test_verify_wrong_engram_prime(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    char src[512];
    snprintf(src, sizeof src, "%s/engram/qwen3_moe_engram", fx);
    const char *good = tmp_path("engram.ingot");
    ingot_err err = {0};
    ingot_status st = convert_to(src, good, "keep", &err);
    if (st == INGOT_E_UNSUPPORTED) {
        printf("skipped: %s\n", err.msg);
        return INGOT_TEST_SKIP;
    }
    CHECK_OK(st, &err);
    const char *bad = tmp_path("engram-bad.ingot");
    rewrite_spec sp = {.meta_fn = bump_prime};
    if (rewrite(good, bad, &sp)) return 1;
    return verify_expect_problem(bad, "recomputed");
}

static int test_verify_reference_logits_hf(void) {
    SKIP_WITHOUT_FIXTURES(fx);
    const char *models[] = {"llama", "qwen3", "qwen3_moe", "mixtral", "deepseek_v3"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char src[512];
        snprintf(src, sizeof src, "%s/hf/%s", fx, models[i]);
        const char *out = tmp_path("ref.ingot");
        ingot_err err = {0};
        CHECK_OK(convert_to(src, out, "keep", &err), &err);
        ingot_verify_opts o;
        opts_small(&o);
        ingot_verify_report r;
        ingot_verify_report_init(&r);
        CHECK_OK(ingot_verify_structure(out, &o, &r, &err), &err);
        CHECK_OK(ingot_verify_reference_logits(out, src, &o, &r, &err), &err);
        ingot_verify_verdict(&r, &o);
        printf("%s: kld %.3g top1 %.4f max|dlogit| %.3g\n", models[i], r.kld_mean, r.top1, r.max_abs_logit);
        CHECK_MSG(r.pass, "%s: %s", models[i], r.reason);
        CHECK(r.max_abs_logit <= 1e-3);
        ingot_verify_report_deinit(&r);
    }
    return 0;
}

static int test_verify_thresholds_table(void) {
    double k8, t8, k4, t4, k2, t2;
    CHECK(ingot_verify_thresholds("q8_0", &k8, &t8));
    CHECK(ingot_verify_thresholds("q4_k_m", &k4, &t4));
    CHECK(ingot_verify_thresholds("q2_k", &k2, &t2));
    CHECK(k8 < k4 && k4 < k2);
    CHECK(t8 > t4 && t4 > t2);
    // The field's Q8_0 mean KLD on Llama-3-8B (0.0014) and Q4_K_M (0.031)
    // pass their own rows; Q4_K_M's would fail the Q8_0 row.
    CHECK(0.0014 <= k8 && 0.031 <= k4 && 0.031 > k8);
    CHECK(!ingot_verify_thresholds("nonsense", &k8, &t8));
    return 0;
}

INGOT_TEST_MAIN(T(verify_keep_is_exact), T(verify_q8_0_passes), T(verify_q2_k_fails_q8_0_grade),
                T(verify_flipped_byte), T(verify_truncated), T(verify_swapped_names), T(verify_missing_expert),
                T(verify_wrong_engram_prime), T(verify_reference_logits_hf), T(verify_thresholds_table))
