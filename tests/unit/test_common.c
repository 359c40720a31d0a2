// common/: float conversions, dtype sizes, checked math, thread pool,
// allocator fault injection, error context.
#include <stdatomic.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot_test.h"

static int test_common_f16_roundtrip(void) {
    // Every finite f16 survives f16 → f32 → f16 exactly.
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 10) & 0x1f) == 0x1f) continue; // inf/nan
        float f = ingot_f16_to_f32((uint16_t)h);
        CHECK_EQ_INT(ingot_f32_to_f16(f), h);
    }
    CHECK_NEAR(ingot_f16_to_f32(0x3c00), 1.0, 0);
    CHECK_NEAR(ingot_f16_to_f32(0x0001), 5.960464477539063e-08, 0);
    CHECK_EQ_INT(ingot_f32_to_f16(65520.0f), 0x7c00); // rounds to inf
    CHECK_EQ_INT(ingot_f32_to_f16(65504.0f), 0x7bff);
    // ties to even: 1 + 2^-11 lies between 1 and 1+2^-10 → 1
    CHECK_EQ_INT(ingot_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    CHECK_EQ_INT(ingot_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    return 0;
}

static int test_common_bf16_rounding(void) {
    CHECK_EQ_INT(ingot_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(ingot_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);      // tie → even
    CHECK_EQ_INT(ingot_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);  // tie → even (up)
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 7) & 0xff) == 0xff) continue;
        CHECK_EQ_INT(ingot_f32_to_bf16(ingot_bf16_to_f32((uint16_t)h)), h);
    }
    return 0;
}

static int test_common_fp8_decode(void) {
    CHECK_NEAR(ingot_e4m3_to_f32(0x7e), 448.0, 0);
    CHECK_NEAR(ingot_e4m3_to_f32(0x01), 0x1p-9, 0);
    CHECK_NEAR(ingot_e4m3_to_f32(0x38), 1.0, 0);
    CHECK(isnan(ingot_e4m3_to_f32(0x7f)));
    CHECK_NEAR(ingot_e5m2_to_f32(0x7b), 57344.0, 0);
    CHECK_NEAR(ingot_e5m2_to_f32(0x3c), 1.0, 0);
    CHECK(isinf(ingot_e5m2_to_f32(0x7c)));
    CHECK_NEAR(ingot_e8m0_to_f32(127), 1.0, 0);
    CHECK_NEAR(ingot_e8m0_to_f32(130), 8.0, 0);
    return 0;
}

static int test_common_e4m3_encode(void) {
    // Every finite E4M3 value encodes back to itself.
    for (int v = 0; v < 256; v++) {
        if ((v & 0x7f) == 0x7f) continue;
        float f = ingot_e4m3_to_f32((uint8_t)v);
        uint8_t back = ingot_f32_to_e4m3(f);
        if (v == 0x80) CHECK(back == 0x80 || back == 0x00);
        else CHECK_EQ_INT(back, v);
    }
    CHECK_EQ_INT(ingot_f32_to_e4m3(1000.0f), 0x7e);  // saturates
    CHECK_EQ_INT(ingot_f32_to_e4m3(-1000.0f), 0xfe);
    CHECK_EQ_INT(ingot_f32_to_e8m0_ceil(1.0f), 127);
    CHECK_EQ_INT(ingot_f32_to_e8m0_ceil(1.5f), 128);
    return 0;
}

static int test_common_dtype_sizes(void) {
    ingot_err err = {0};
    uint64_t n;
    uint64_t d2[2] = {3, 256};
    CHECK_OK(ingot_dtype_tensor_bytes(INGOT_DTYPE_Q4_K, 2, d2, &n, &err), &err);
    CHECK_EQ_U64(n, 3 * 144);
    CHECK_OK(ingot_dtype_tensor_bytes(INGOT_DTYPE_BF16, 2, d2, &n, &err), &err);
    CHECK_EQ_U64(n, 3 * 256 * 2);
    uint64_t bad[2] = {3, 100};
    CHECK_STATUS(ingot_dtype_tensor_bytes(INGOT_DTYPE_Q8_0, 2, bad, &n, &err), INGOT_E_FORMAT, &err);
    CHECK_STR_CONTAINS(err.msg, "not a multiple of block 32");
    uint64_t tile[2] = {200, 300}; // ceil grid 2 × 3 tiles
    CHECK_OK(ingot_dtype_tensor_bytes(INGOT_DTYPE_F8_E4M3_B128, 2, tile, &n, &err), &err);
    CHECK_EQ_U64(n, 200 * 300 + 6 * 4);
    uint64_t huge[3] = {1ull << 40, 1ull << 40, 1ull << 40};
    CHECK_STATUS(ingot_dtype_tensor_bytes(INGOT_DTYPE_F32, 3, huge, &n, &err), INGOT_E_LIMIT, &err);
    CHECK_EQ_INT(ingot_dtype_from_name("Q4_K"), INGOT_DTYPE_Q4_K);
    CHECK_EQ_INT(ingot_dtype_from_st_name("F8_E4M3", 7), INGOT_DTYPE_F8_E4M3);
    CHECK_EQ_INT(ingot_dtype_from_st_name("F8_E4", 5), -1);
    return 0;
}

static int test_common_checked_math(void) {
    uint64_t r;
    CHECK(ingot_mul_u64(1ull << 32, 1ull << 31, &r));
    CHECK(!ingot_mul_u64(1ull << 32, 1ull << 32, &r));
    CHECK(!ingot_add_u64(UINT64_MAX, 1, &r));
    CHECK_EQ_U64(ingot_align_up(65, 64), 128);
    return 0;
}

typedef struct pool_ctx {
    _Atomic int hits[1000];
} pool_ctx;
static void pool_fn(void *ctx, size_t i, int worker) {
    (void)worker;
    atomic_fetch_add(&((pool_ctx *)ctx)->hits[i], 1);
}

static int test_common_pool_covers_all(void) {
    ingot_err err = {0};
    ingot_pool *pool;
    CHECK_OK(ingot_pool_create(4, &pool, &err), &err);
    static pool_ctx ctx;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 1000; i++) atomic_store(&ctx.hits[i], 0);
        ingot_pool_run(pool, 1000, pool_fn, &ctx);
        for (int i = 0; i < 1000; i++) CHECK_EQ_INT(atomic_load(&ctx.hits[i]), 1);
    }
    ingot_pool_free(pool);
    return 0;
}

static int test_common_alloc_fault_injection(void) {
    int64_t live = ingot_alloc_live();
    ingot_alloc_fail_at(2, false);
    void *a = ingot_malloc(10);
    void *b = ingot_malloc(10);
    void *c = ingot_malloc(10);
    ingot_alloc_fail_at(0, false);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    ingot_free(a);
    ingot_free(c);
    CHECK_EQ_INT(ingot_alloc_live(), live);
    // Pool creation under every failure point: clean error, no leak.
    for (uint64_t k = 1; k < 10; k++) {
        ingot_err err = {0};
        ingot_pool *pool = NULL;
        ingot_alloc_fail_at(k, true);
        ingot_status st = ingot_pool_create(3, &pool, &err);
        ingot_alloc_fail_at(0, false);
        if (st == INGOT_OK) ingot_pool_free(pool);
        else CHECK_EQ_INT(st, INGOT_E_NOMEM);
        CHECK_EQ_INT(ingot_alloc_live(), live);
    }
    return 0;
}

static int test_common_err_context(void) {
    ingot_err err = {0};
    CHECK_EQ_INT(ingot_err_set(&err, INGOT_E_FORMAT, "tensor '%s': bad", "w"), INGOT_E_FORMAT);
    ingot_err_prefix(&err, "%s", "model.safetensors");
    CHECK(strcmp(err.msg, "model.safetensors: tensor 'w': bad") == 0);
    CHECK(strcmp(ingot_status_name(INGOT_E_CHECKSUM), "INGOT_E_CHECKSUM") == 0);
    CHECK_EQ_INT(ingot_err_set(NULL, INGOT_E_IO, "x"), INGOT_E_IO);
    return 0;
}

static int test_common_out_file_atomic(void) {
    const char *dir = ingot_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    ingot_err err = {0};
    ingot_out_file o;
    CHECK_OK(ingot_out_file_open(&o, path, &err), &err);
    fputs("partial", o.f);
    fflush(o.f);
    CHECK(access(path, F_OK) != 0); // nothing at the target while writing
    ingot_out_file_abort(&o);
    CHECK(access(path, F_OK) != 0);
    CHECK(access(o.tmp, F_OK) != 0 || o.tmp[0] == 0);
    CHECK_OK(ingot_out_file_open(&o, path, &err), &err);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", o.tmp);
    fputs("complete", o.f);
    CHECK_OK(ingot_out_file_commit(&o, &err), &err);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char buf[16] = {0};
    CHECK(fread(buf, 1, sizeof buf, f) == 8);
    fclose(f);
    CHECK(strcmp(buf, "complete") == 0);
    CHECK(access(tmp, F_OK) != 0); // the temporary name is gone
    unlink(path);
    rmdir(dir);
    return 0;
}

INGOT_TEST_MAIN(T(common_f16_roundtrip), T(common_bf16_rounding), T(common_fp8_decode), T(common_e4m3_encode),
                T(common_dtype_sizes), T(common_checked_math), T(common_pool_covers_all),
                T(common_alloc_fault_injection), T(common_err_context), T(common_out_file_atomic))
