// The dtype traits table and size arithmetic shared by every module.
#include "ingot/dtype.h"

#include <strings.h>
#include <string.h>

#include "ingot/common.h"

static const ingot_dtype_traits k_traits[INGOT_DTYPE_COUNT] = {
    [INGOT_DTYPE_F32] = {"f32", "F32", 1, 4, true, false, false},
    [INGOT_DTYPE_F16] = {"f16", "F16", 1, 2, true, false, false},
    [INGOT_DTYPE_BF16] = {"bf16", "BF16", 1, 2, true, false, false},
    [INGOT_DTYPE_F64] = {"f64", "F64", 1, 8, true, false, false},
    [INGOT_DTYPE_F8_E4M3] = {"f8_e4m3", "F8_E4M3", 1, 1, true, false, false},
    [INGOT_DTYPE_F8_E5M2] = {"f8_e5m2", "F8_E5M2", 1, 1, true, false, false},
    [INGOT_DTYPE_E8M0] = {"e8m0", "E8M0", 1, 1, true, false, false},
    [INGOT_DTYPE_I64] = {"i64", "I64", 1, 8, false, true, false},
    [INGOT_DTYPE_I32] = {"i32", "I32", 1, 4, false, true, false},
    [INGOT_DTYPE_I16] = {"i16", "I16", 1, 2, false, true, false},
    [INGOT_DTYPE_I8] = {"i8", "I8", 1, 1, false, true, false},
    [INGOT_DTYPE_U64] = {"u64", "U64", 1, 8, false, true, false},
    [INGOT_DTYPE_U32] = {"u32", "U32", 1, 4, false, true, false},
    [INGOT_DTYPE_U16] = {"u16", "U16", 1, 2, false, true, false},
    [INGOT_DTYPE_U8] = {"u8", "U8", 1, 1, false, true, false},
    [INGOT_DTYPE_BOOL] = {"bool", "BOOL", 1, 1, false, true, false},
    [INGOT_DTYPE_Q8_0] = {"q8_0", NULL, 32, 34, false, false, true},
    [INGOT_DTYPE_Q4_0] = {"q4_0", NULL, 32, 18, false, false, true},
    [INGOT_DTYPE_Q4_1] = {"q4_1", NULL, 32, 20, false, false, true},
    [INGOT_DTYPE_Q5_0] = {"q5_0", NULL, 32, 22, false, false, true},
    [INGOT_DTYPE_Q5_1] = {"q5_1", NULL, 32, 24, false, false, true},
    [INGOT_DTYPE_Q2_K] = {"q2_k", NULL, 256, 84, false, false, true},
    [INGOT_DTYPE_Q3_K] = {"q3_k", NULL, 256, 110, false, false, true},
    [INGOT_DTYPE_Q4_K] = {"q4_k", NULL, 256, 144, false, false, true},
    [INGOT_DTYPE_Q5_K] = {"q5_k", NULL, 256, 176, false, false, true},
    [INGOT_DTYPE_Q6_K] = {"q6_k", NULL, 256, 210, false, false, true},
    [INGOT_DTYPE_IQ4_NL] = {"iq4_nl", NULL, 32, 18, false, false, true},
    [INGOT_DTYPE_Q8_K] = {"q8_k", NULL, 256, 292, false, false, true},
    [INGOT_DTYPE_F8_E4M3_B128] = {"f8_e4m3_b128", NULL, 1, 1, false, false, true},
    [INGOT_DTYPE_F8_E4M3_R32] = {"f8_e4m3_r32", NULL, 32, 33, false, false, true},
};

const ingot_dtype_traits *ingot_dtype_get(ingot_dtype t) {
    return ingot_dtype_valid((int)t) ? &k_traits[t] : NULL;
}

const char *ingot_dtype_name(ingot_dtype t) {
    return ingot_dtype_valid((int)t) ? k_traits[t].name : "?";
}

int ingot_dtype_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < INGOT_DTYPE_COUNT; i++)
        if (strcasecmp(name, k_traits[i].name) == 0) return i;
    return -1;
}

int ingot_dtype_from_st_name(const char *st, size_t n) {
    if (!st) return -1;
    for (int i = 0; i < INGOT_DTYPE_COUNT; i++) {
        const char *s = k_traits[i].st_name;
        if (s && strlen(s) == n && memcmp(s, st, n) == 0) return i;
    }
    return -1;
}

ingot_status ingot_dtype_row_bytes(ingot_dtype t, uint64_t n_cols, uint64_t *out, ingot_err *err) {
    *out = 0;
    const ingot_dtype_traits *tr = ingot_dtype_get(t);
    INGOT_FAIL_IF(!tr, err, INGOT_E_FORMAT, "dtype id %d is out of range", (int)t);
    INGOT_FAIL_IF(t == INGOT_DTYPE_F8_E4M3_B128, err, INGOT_E_UNSUPPORTED,
                  "f8_e4m3_b128 stores 128x128 tiles and has no independent rows");
    INGOT_FAIL_IF(n_cols % tr->blck != 0, err, INGOT_E_FORMAT,
                  "row length %llu is not a multiple of block %u of %s", (unsigned long long)n_cols,
                  tr->blck, tr->name);
    INGOT_FAIL_IF(!ingot_mul_u64(n_cols / tr->blck, tr->type_size, out), err, INGOT_E_LIMIT,
                  "row size overflows");
    return INGOT_OK;
}

ingot_status ingot_dtype_tensor_bytes(ingot_dtype t, uint32_t n_dims, const uint64_t *dims, uint64_t *out,
                                      ingot_err *err) {
    *out = 0;
    const ingot_dtype_traits *tr = ingot_dtype_get(t);
    INGOT_FAIL_IF(!tr, err, INGOT_E_FORMAT, "dtype id %d is out of range", (int)t);
    INGOT_FAIL_IF(n_dims > 4, err, INGOT_E_FORMAT, "rank %u exceeds the maximum of 4", n_dims);
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++)
        INGOT_FAIL_IF(!ingot_mul_u64(n, dims[i], &n), err, INGOT_E_LIMIT, "element count overflows");
    if (t == INGOT_DTYPE_F8_E4M3_B128) {
        INGOT_FAIL_IF(n_dims != 2, err, INGOT_E_FORMAT, "f8_e4m3_b128 needs a 2-d tensor, got rank %u", n_dims);
        uint64_t tiles = ((dims[0] + 127) / 128) * ((dims[1] + 127) / 128);
        uint64_t total;
        INGOT_FAIL_IF(!ingot_mul_u64(tiles, 4, &tiles) || !ingot_add_u64(n, tiles, &total), err,
                      INGOT_E_LIMIT, "tensor size overflows");
        *out = total;
        return INGOT_OK;
    }
    if (tr->blck == 1) {
        INGOT_FAIL_IF(!ingot_mul_u64(n, tr->type_size, out), err, INGOT_E_LIMIT, "tensor size overflows");
        return INGOT_OK;
    }
    INGOT_FAIL_IF(n_dims == 0, err, INGOT_E_FORMAT, "block type %s needs rank >= 1", tr->name);
    uint64_t row;
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(t, dims[n_dims - 1], &row, err));
    uint64_t rows = dims[n_dims - 1] ? n / dims[n_dims - 1] : 0;
    INGOT_FAIL_IF(!ingot_mul_u64(rows, row, out), err, INGOT_E_LIMIT, "tensor size overflows");
    return INGOT_OK;
}
