// quantize/: block formats (GGML-compatible byte layouts), scalar reference
// kernels with AVX2 / AVX-512 twins chosen at run time, and the per-tensor
// type policy used by convert.
//
// Block layouts, bits per weight and the quantizer algorithms are described
// in docs/TYPES.md.
//
// Call sequence (kernels):
//   1. t = ingot_quant_get(INGOT_DTYPE_Q4_K)
//   2. t->quantize_row(x, dst, n, imatrix)   (n a multiple of t->blck)
//   3. t->dequantize_row(src, y, n)
//   4. activations: quantize the f32 row to t->vec_dot_type with that type's
//      quantize_row, then t->vec_dot(n, &s, weight_row, act_row)
// or, for whole matrices, ingot_quantize_rows (threads, input checks).
//
// Kernel contracts: kernels never fail and never allocate; n must be a
// multiple of blck (asserted only); input values must be finite (only
// ingot_quantize_rows checks); rows must start at an even address (a
// multiple of 4 for q8_k). The dispatched kernels give the same bytes as
// the _ref ones for quantize_row and dequantize_row; vec_dot agrees within
// float rounding. imatrix (per-column importance, e.g. mean squared
// activation) weights the error of the searched types (q2_k … q6_k,
// iq4_nl) and is ignored by the closed-form ones.
#ifndef INGOT_QUANTIZE_H
#define INGOT_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// x: [n] f32; y: row_bytes(n) bytes; imatrix: [n] per-column importance or NULL.
typedef void (*ingot_quantize_row_fn)(const float *x, void *y, int64_t n, const float *imatrix);
// x: row_bytes(n) bytes; y: [n] f32.
typedef void (*ingot_dequantize_row_fn)(const void *x, float *y, int64_t n);
// *s = dot(weight row x, activation row y); y is in the type's vec_dot_type.
typedef void (*ingot_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);

typedef struct ingot_quant_traits {
    ingot_dtype dtype;
    const char *name;
    uint32_t blck;                          // elements per block
    uint32_t type_size;                     // bytes per block
    ingot_quantize_row_fn quantize_row_ref; // scalar reference
    ingot_quantize_row_fn quantize_row;     // dispatched (may equal _ref)
    ingot_dequantize_row_fn dequantize_row_ref;
    ingot_dequantize_row_fn dequantize_row; // dispatched
    ingot_vec_dot_fn vec_dot_ref;
    ingot_vec_dot_fn vec_dot;               // dispatched
    ingot_dtype vec_dot_type;               // activation format vec_dot expects (F32, Q8_0 or Q8_K)
} ingot_quant_traits;

// Traits for a row type (F32, F16, BF16, Q*, IQ4_NL, Q8_K, F8_E4M3_R32) at
// the dispatch level in effect; NULL for types with no row kernels
// (integers, F8_E4M3_B128 — see below). The table is static: the pointer
// stays valid for the life of the process. Thread-safe.
const ingot_quant_traits *ingot_quant_get(ingot_dtype t);

typedef enum ingot_simd_level {
    INGOT_SIMD_SCALAR = 0,
    INGOT_SIMD_AVX2 = 1,
    INGOT_SIMD_AVX512 = 2,
} ingot_simd_level;
// Highest level this CPU supports (cpuid + xgetbv).
ingot_simd_level ingot_simd_detect(void);
// Force a dispatch level (clamped to what the CPU supports); returns the
// level in effect. Not thread-safe against running kernels.
ingot_simd_level ingot_simd_set(ingot_simd_level level);
// Level in effect: the highest the CPU supports, capped on first use by the
// environment variable INGOT_SIMD=scalar|avx2|avx512 when set (other values
// are ignored), unless ingot_simd_set chose one.
ingot_simd_level ingot_simd_get(void);

// Quantize a [n_rows, n_cols] f32 matrix to `dtype` (any type with
// traits, or F8_E4M3_B128), rows split across `pool` (NULL: serial).
// Byte-identical for any thread count. dst: dst_cap bytes, at least
// ingot_dtype_tensor_bytes of the shape. imatrix: [n_cols] or NULL.
// @return INGOT_OK; INGOT_E_FORMAT when n_cols is not a multiple of the
// block size or an input value is not finite (the message names row and
// column; dst is then partly written); INGOT_E_ARG for a bad dtype id,
// negative shape, NULL buffers or dst_cap too small; INGOT_E_UNSUPPORTED
// for a dtype without a quantizer (integers); INGOT_E_LIMIT on size overflow.
ingot_status ingot_quantize_rows(ingot_dtype dtype, const float *src, int64_t n_rows, int64_t n_cols,
                                 const float *imatrix, void *dst, size_t dst_cap, ingot_pool *pool,
                                 ingot_err *err);

// ---- multi-row dot products (prompt processing) ------------------------------
// s[j * lds] = dot(weight row x, activation row y + j * ldy bytes) for
// j < nr, 1 <= nr <= INGOT_GEMM_MAX_ROWS; activation rows are in the
// type's vec_dot_type. Each weight block is decoded once and reused for
// all nr rows. Same contracts as vec_dot (never fail, never allocate, n a
// multiple of blck); the _ref kernels give vec_dot_ref's result exactly,
// the SIMD ones agree within float rounding.
#define INGOT_GEMM_MAX_ROWS 8
typedef void (*ingot_gemm_fn)(int64_t n, float *s, size_t lds, const void *x, const void *y, size_t ldy, int nr);
// Kernel for weight type t at the dispatch level in effect; NULL for types
// without one (callers loop vec_dot). Covers F32, F16, BF16, Q8_0, Q4_0,
// Q4_K, Q5_K, Q6_K. Thread-safe.
ingot_gemm_fn ingot_quant_gemm_get(ingot_dtype t);
// Kernel at a given level (SCALAR gives the _ref kernel); NULL as above or
// when the CPU lacks the level.
ingot_gemm_fn ingot_quant_gemm_get_level(ingot_dtype t, ingot_simd_level level);

// ---- one activation row against many weight rows (decoding) ------------------
// A one-token product dots every weight row with the same activation row.
// For the weight types below, that row (already in the type's
// vec_dot_type) is prepared once into a layout that takes the work on the
// activation out of the per-row kernel. Q8_0: per pair of blocks (64
// values, INGOT_PREP_Q8_0_PAIR bytes), the 64 int8 values, then 16 int32
// lanes holding −128 × the sum of values 4l..4l+3 (what offsetting the
// signed weights to unsigned adds), then 16 float scales (lanes 0–7 the
// first block's d, 8–15 the second's); an odd last block is paired with a
// zero block. dot(n, &s, weight row, prepared row) has vec_dot's
// contracts; the _ref kernel gives vec_dot_ref's result exactly, the SIMD
// one agrees within float rounding.
//
// Several token rows (prompts) are re-read for every weight row, so there
// the layout is compact: per pair of blocks the 64 int8 values, then the
// two scales as floats (INGOT_PREP_Q8_0_ROWS_PAIR bytes); gemm(n, s, lds,
// x, p, ldp, nr) sets s[j * lds] = dot(weight row x, prepared row
// p + j * ldp bytes) for j < nr, 1 <= nr <= INGOT_GEMM_MAX_ROWS. Activation
// values must lie in [-127, 127], as quantize_row makes them.
#define INGOT_PREP_Q8_0_PAIR 192
#define INGOT_PREP_Q8_0_ROWS_PAIR 72
typedef struct ingot_prep_traits {
    size_t (*bytes)(int64_t n);                         // prepared bytes for a row of n values
    void (*prepare)(const void *y, void *p, int64_t n); // y: n values in vec_dot_type
    ingot_vec_dot_fn dot;                               // *s = dot(weight row x, prepared row p)
    size_t (*rows_bytes)(int64_t n);                    // compact layout, for gemm
    void (*rows_prepare)(const void *y, void *p, int64_t n);
    ingot_gemm_fn gemm;
} ingot_prep_traits;
// Kernel set for weight type t at the dispatch level in effect; NULL where
// there is none (callers use vec_dot). Covers Q8_0 (SCALAR: _ref; AVX-512
// with VNNI). Thread-safe.
const ingot_prep_traits *ingot_quant_prep_get(ingot_dtype t);
// At a given level (SCALAR gives the _ref set); NULL as above or when the
// CPU lacks the level.
const ingot_prep_traits *ingot_quant_prep_get_level(ingot_dtype t, ingot_simd_level level);

// f8_e4m3_b128: E4M3 [rows, cols] followed by f32 scales
// [ceil(rows/128), ceil(cols/128)] (DeepSeek weight_scale_inv: value = e4m3 *
// scale). Decode row r of such a tensor.
void ingot_b128_dequantize_row(const void *tensor, int64_t n_rows, int64_t n_cols, int64_t r, float *y);
// Encode a [n_rows, n_cols] f32 matrix as f8_e4m3_b128 into `tensor`
// (ingot_dtype_tensor_bytes bytes): per 128×128 tile scale = max|x| / 448
// (1 for an all-zero tile), value = e4m3(x / scale), round to nearest even.
void ingot_b128_quantize(const float *x, int64_t n_rows, int64_t n_cols, void *tensor);

#ifdef __cplusplus
}
#endif
#endif
