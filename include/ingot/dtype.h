// Element and block types known to ingot, with one traits table that every
// module reads sizes from (formats/ never includes quantize/ headers).
//
// Shape convention everywhere in ingot: dims are listed outermost first, as in
// safetensors and numpy; a "row" is the last (innermost, contiguous) dim.
// Block types pack each row independently into row_len / blck blocks.
#ifndef INGOT_DTYPE_H
#define INGOT_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Values are stored in .ingot files: pinned, never reused.
typedef enum ingot_dtype {
    INGOT_DTYPE_F32 = 0,
    INGOT_DTYPE_F16 = 1,
    INGOT_DTYPE_BF16 = 2,
    INGOT_DTYPE_F64 = 3,
    INGOT_DTYPE_F8_E4M3 = 4,
    INGOT_DTYPE_F8_E5M2 = 5,
    INGOT_DTYPE_E8M0 = 6,
    INGOT_DTYPE_I64 = 7,
    INGOT_DTYPE_I32 = 8,
    INGOT_DTYPE_I16 = 9,
    INGOT_DTYPE_I8 = 10,
    INGOT_DTYPE_U64 = 11,
    INGOT_DTYPE_U32 = 12,
    INGOT_DTYPE_U16 = 13,
    INGOT_DTYPE_U8 = 14,
    INGOT_DTYPE_BOOL = 15,
    INGOT_DTYPE_Q8_0 = 16,   // GGML block_q8_0: f16 d, int8 qs[32]           (34 B / 32)
    INGOT_DTYPE_Q4_0 = 17,   // GGML block_q4_0: f16 d, nibbles[16]           (18 B / 32)
    INGOT_DTYPE_Q4_1 = 18,   // GGML block_q4_1: f16 d, f16 m, nibbles[16]    (20 B / 32)
    INGOT_DTYPE_Q5_0 = 19,   // GGML block_q5_0: f16 d, qh[4], nibbles[16]    (22 B / 32)
    INGOT_DTYPE_Q5_1 = 20,   // GGML block_q5_1: f16 d, f16 m, qh[4], qs[16]  (24 B / 32)
    INGOT_DTYPE_Q2_K = 21,   // GGML block_q2_K                               (84 B / 256)
    INGOT_DTYPE_Q3_K = 22,   // GGML block_q3_K                               (110 B / 256)
    INGOT_DTYPE_Q4_K = 23,   // GGML block_q4_K                               (144 B / 256)
    INGOT_DTYPE_Q5_K = 24,   // GGML block_q5_K                               (176 B / 256)
    INGOT_DTYPE_Q6_K = 25,   // GGML block_q6_K                               (210 B / 256)
    INGOT_DTYPE_IQ4_NL = 26, // GGML block_iq4_nl: f16 d, nibbles[16] into a non-linear grid (18 B / 32)
    INGOT_DTYPE_Q8_K = 27,   // GGML block_q8_K (activations): f32 d, int8[256], int16 bsums[16] (292 B / 256)
    INGOT_DTYPE_F8_E4M3_B128 = 28, // E4M3 [rows, cols] then f32 scales [ceil(rows/128), ceil(cols/128)]
    INGOT_DTYPE_F8_E4M3_R32 = 29,  // per 32 values: u8 E8M0 scale, 32 × E4M3   (33 B / 32)
    INGOT_DTYPE_COUNT
} ingot_dtype;

typedef struct ingot_dtype_traits {
    const char *name;        // lowercase canonical name ("q4_k", "bf16")
    const char *st_name;     // safetensors dtype string, NULL if not a safetensors dtype
    uint32_t blck;           // elements per block (1 for plain types)
    uint32_t type_size;      // bytes per block
    bool is_float;           // plain floating point element type
    bool is_int;             // plain integer / bool element type
    bool is_quant;           // block-quantized (GGML style or FP8 block)
} ingot_dtype_traits;

// Traits for a dtype; NULL when out of range.
const ingot_dtype_traits *ingot_dtype_get(ingot_dtype t);
static inline bool ingot_dtype_valid(int t) { return t >= 0 && t < INGOT_DTYPE_COUNT; }
const char *ingot_dtype_name(ingot_dtype t); // "?" when out of range
// Lookup by canonical name (case-insensitive); returns -1 when unknown.
int ingot_dtype_from_name(const char *name);
// Lookup by safetensors dtype string ("BF16", "F8_E4M3"…); -1 when unknown.
int ingot_dtype_from_st_name(const char *st, size_t n);

// Bytes of one row of `n_cols` elements. Fails with INGOT_E_FORMAT when
// n_cols is not a multiple of the block size, INGOT_E_UNSUPPORTED for the
// tile type F8_E4M3_B128 (which has no independent rows).
ingot_status ingot_dtype_row_bytes(ingot_dtype t, uint64_t n_cols, uint64_t *out, ingot_err *err);
// Bytes of a whole tensor (rank 0..4, dims outermost first), with overflow
// checks. Block types need rank ≥ 1 and the last dim a multiple of blck.
ingot_status ingot_dtype_tensor_bytes(ingot_dtype t, uint32_t n_dims, const uint64_t *dims, uint64_t *out, ingot_err *err);

// ---- scalar conversions ---------------------------------------------------
float ingot_f16_to_f32(uint16_t h);
uint16_t ingot_f32_to_f16(float f);      // round to nearest even, overflow → inf
float ingot_bf16_to_f32(uint16_t h);
uint16_t ingot_f32_to_bf16(float f);     // round to nearest even, NaN kept quiet
float ingot_e4m3_to_f32(uint8_t v);      // OCP E4M3 (fn): no inf, 0x7f/0xff NaN
float ingot_e5m2_to_f32(uint8_t v);      // OCP E5M2 (IEEE-like)
uint8_t ingot_f32_to_e4m3(float f);      // round to nearest even, saturate to ±448
float ingot_e8m0_to_f32(uint8_t v);      // 2^(v-127); 0xff NaN
uint8_t ingot_f32_to_e8m0_ceil(float f); // smallest 2^k ≥ f (f > 0)

// Decode n elements of a plain (non-block) dtype to f32. Integer types are
// converted by value. Returns false for block types.
bool ingot_dtype_decode_f32(ingot_dtype t, const void *src, size_t n, float *dst);

#ifdef __cplusplus
}
#endif
#endif
