// quantize/: the per-tensor type policy used by `ingot convert` — presets
// (`--quant`), `REGEX=TYPE` overrides (`--type`), the block-size fallback
// chain, size-targeted allocation (`--target-size`, `--target-bpw`), the
// importance-matrix file, and the lines of a dry-run plan. The rules of every
// preset are written out in docs/QUANT.md.
//
// Call sequence (fixed preset):
//   1. ingot_policy_create("q4_k_m", overrides, n_overrides, &pol, &err)
//   2. for every output tensor: fill an ingot_policy_tensor (for instance
//      with ingot_policy_tensor_init) and call ingot_policy_choose()
//   3. ingot_policy_free(pol)
//
// Call sequence (size target):
//   1. as above, then optionally ingot_imatrix_open(path, &im, &err)
//   2. describe all tensors in one array, then
//      ingot_policy_target(pol, tensors, n, fill_rows, user, &opts, choices,
//      &report, &err): it streams tensor by tensor through fill_rows,
//      measures the error of every candidate type, and allocates the budget
//   3. ingot_imatrix_free(im); ingot_policy_free(pol)
//
// Dry-run plans: ingot_policy_plan_line() formats one tensor,
// ingot_policy_totals_add() / ingot_policy_totals_line() the totals.
#ifndef INGOT_QUANT_POLICY_H
#define INGOT_QUANT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- tensor description ---------------------------------------------------

// What a tensor does, as the policy sees it. Values are not stored in files.
typedef enum ingot_policy_role {
    INGOT_POLICY_ROLE_OTHER = 0,             // anything else (≥ 2-D: treated as the higher type)
    INGOT_POLICY_ROLE_TOKEN_EMBD = 1,        // token_embd.weight
    INGOT_POLICY_ROLE_OUTPUT = 2,            // output.weight (lm head)
    INGOT_POLICY_ROLE_ATTN = 3,              // attention projections, MLA a/b, attn_output
    INGOT_POLICY_ROLE_NORM = 4,              // any *_norm.weight
    INGOT_POLICY_ROLE_BIAS = 5,              // any .bias of a projection
    INGOT_POLICY_ROLE_ROUTER = 6,            // ffn_gate_inp, ffn_gate_inp_shexp
    INGOT_POLICY_ROLE_ROUTER_BIAS = 7,       // exp_probs_b (routing correction bias)
    INGOT_POLICY_ROLE_FFN_DENSE = 8,         // ffn_{gate,up,down} of a dense FFN
    INGOT_POLICY_ROLE_FFN_SHARED_EXPERT = 9, // ffn_{gate,up,down}_shexp
    INGOT_POLICY_ROLE_FFN_EXPERT = 10,       // blk.L.exp.E.ffn_{gate,up,down}
    INGOT_POLICY_ROLE_ENGRAM_TABLE = 11,     // Engram n-gram embedding table
    INGOT_POLICY_ROLE_ENGRAM_OTHER = 12,     // other blk.L.engram.* tensors
    INGOT_POLICY_ROLE_COUNT
} ingot_policy_role;

// Static lowercase name of a role ("routed expert"); "?" when out of range.
const char *ingot_policy_role_name(ingot_policy_role role);

// Role of a canonical tensor name (docs/MODEL.md). Engram tensors are
// `blk.L.engram.*`; among them a name containing "table", "embedding" or
// "embd" is a table. Callers that know better set the role themselves.
ingot_policy_role ingot_policy_role_from_name(const char *name);

// One output tensor as the policy sees it. Borrowed strings; nothing is kept
// after a call returns.
typedef struct ingot_policy_tensor {
    const char *name;        // canonical name, e.g. "blk.3.exp.7.ffn_up.weight"
    ingot_policy_role role;
    int32_t layer;           // block index, -1 for global tensors
    int32_t n_layer;         // blocks in the model (> 0)
    bool moe_model;          // the model has routed experts somewhere
    uint32_t n_dims;         // 0..4
    uint64_t dims[4];        // outermost first; the last dim is the row length
    ingot_dtype src_dtype;   // element type of the source bytes
    bool src_block_scaled;   // F8_E4M3 source with 128x128 block scales (keep → f8_e4m3_b128)
    float weight;            // importance multiplier for size targets (0 means 1), e.g.
                             // n_expert_used / n_expert for a routed expert without an imatrix
} ingot_policy_tensor;

// Fill `t` from a canonical name: role from ingot_policy_role_from_name,
// layer parsed from "blk.L." (-1 otherwise), weight 1. `name` is borrowed
// (t->name points at it); dims ([n_dims]) are copied.
// @return INGOT_OK, or INGOT_E_ARG for n_dims > 4 or a NULL name.
ingot_status ingot_policy_tensor_init(ingot_policy_tensor *t /* out */, const char *name, uint32_t n_dims,
                                      const uint64_t *dims, ingot_dtype src_dtype, int32_t n_layer,
                                      bool moe_model, ingot_err *err);

// Elements of the tensor (product of dims; 1 for rank 0). Saturates at
// UINT64_MAX on overflow.
uint64_t ingot_policy_tensor_n_elements(const ingot_policy_tensor *t);

// ---- policy ---------------------------------------------------------------

typedef struct ingot_policy ingot_policy;

// Preset names accepted by ingot_policy_create, in a fixed order; i in
// [0, ingot_policy_n_presets()). Static strings.
size_t ingot_policy_n_presets(void);
const char *ingot_policy_preset_name(size_t i);
// One-line description of a preset ("q4_k base, q6_k attention/shared/..."),
// static; NULL when i is out of range.
const char *ingot_policy_preset_summary(size_t i);

// Create a policy from a preset and `n_overrides` rules "REGEX=TYPE" (POSIX
// extended regex, searched anywhere in the canonical name; the text after
// the last '=' is the type: a dtype name such as "q8_0", "q4_k", "iq4_nl",
// "f16", or "keep" for the source type). Rules are tried in order and the
// first that matches wins. Strings are copied.
// @return INGOT_OK; INGOT_E_ARG for an unknown preset, a rule without '=',
//         a bad regex or a type that cannot be stored as a weight (the
//         message quotes the rule and its 1-based position); INGOT_E_NOMEM.
ingot_status ingot_policy_create(const char *preset, const char *const *overrides, size_t n_overrides,
                                 ingot_policy **out, ingot_err *err);
void ingot_policy_free(ingot_policy *p);
const char *ingot_policy_preset(const ingot_policy *p); // borrowed until free
size_t ingot_policy_n_overrides(const ingot_policy *p);

#define INGOT_POLICY_REASON_MAX 192

// The type chosen for one tensor and why.
typedef struct ingot_policy_choice {
    ingot_dtype dtype;                     // type to store
    int32_t rule;                          // 0-based override that decided, -1 for the preset
    bool fixed;                            // fixed by source or role (integer, keep, 1-D, norm, router, bias)
    bool fallback;                         // the wanted type did not fit the row length
    uint64_t bytes;                        // bytes of the tensor in `dtype`
    char reason[INGOT_POLICY_REASON_MAX];  // "preset q4_k_m: routed expert", ...
} ingot_policy_choice;

// Choose the type of tensor `t`. Order: integer sources and the `keep`
// preset take the source type; 1-D tensors, norms, biases, routers and
// routing biases are F32 (overrides do not apply to them); then the first
// matching override; then the preset's rule for the role. A preset type whose
// block does not divide the row length moves down the fallback chain (reason
// says so); an override type that does not fit is an error.
// @return INGOT_OK; INGOT_E_ARG (bad descriptor, override does not fit the
//         row: the message names the tensor and the rule); INGOT_E_LIMIT
//         (tensor bytes overflow).
ingot_status ingot_policy_choose(const ingot_policy *p, const ingot_policy_tensor *t,
                                 ingot_policy_choice *out /* out */, ingot_err *err);

// The next type down the fallback chain for row lengths that `t` does not
// divide: k-quants (256) → 32-element types → q8_0 → f16 (bf16 for bf16
// sources). Returns `t` itself for plain float types.
ingot_dtype ingot_policy_fallback(ingot_dtype t, ingot_dtype src_dtype);

// True for the types a weight may be stored as (f32, f16, bf16, q8_0, q4_0,
// q4_1, q5_0, q5_1, q2_k … q6_k, iq4_nl, f8_e4m3_r32).
bool ingot_policy_type_storable(ingot_dtype t);

// ---- importance matrix ----------------------------------------------------
//
// File format: a safetensors file whose tensors are F32 vectors named by
// canonical tensor name: `[n_cols]` per tensor (the mean of the squared
// input activations of each column), and for routed experts either one
// vector per expert (`blk.L.exp.E.ffn_up.weight`) or one `[n_expert, n_cols]`
// matrix under the expert-less name (`blk.L.exp.ffn_up.weight`).

typedef struct ingot_imatrix ingot_imatrix;

// Parse an importance-matrix file held in buf[0, n). `name` is used in
// messages. Values are copied; buf may be freed afterwards.
// Untrusted input: header length, JSON, dtypes (F32 only), shapes (rank 1
// or 2), data offsets and values (finite, ≥ 0) are all checked.
// @return INGOT_OK, INGOT_E_FORMAT (message names the entry and byte
//         offset), INGOT_E_LIMIT (header over 100 MB), INGOT_E_NOMEM.
ingot_status ingot_imatrix_parse(const uint8_t *buf, size_t n, const char *name, ingot_imatrix **out,
                                 ingot_err *err);
// Map and parse a file. @return as ingot_imatrix_parse, plus INGOT_E_IO.
ingot_status ingot_imatrix_open(const char *path, ingot_imatrix **out, ingot_err *err);
void ingot_imatrix_free(ingot_imatrix *im);
size_t ingot_imatrix_n_entries(const ingot_imatrix *im);

// Per-column weights for tensor `name` with `n_cols` columns: the entry of
// that name, or row E of the stacked `blk.L.exp.<rest>` entry for
// `blk.L.exp.E.<rest>`. *out is NULL when there is none or when the vector
// is all zero (an expert never routed during calibration: uniform weights).
// *out is borrowed until ingot_imatrix_free. im may be NULL.
// @return INGOT_OK, INGOT_E_FORMAT (entry has a different column count or
//         too few expert rows).
ingot_status ingot_imatrix_find(const ingot_imatrix *im, const char *name, uint64_t n_cols,
                                const float **out /* out */, ingot_err *err);

// ---- size-targeted allocation ---------------------------------------------

// Fill dst ([n_rows, n_cols] f32, row-major, n_cols = last dim) with rows
// [row0, row0 + n_rows) of tensor `index` (an index into the array given to
// ingot_policy_target). A non-OK status stops the allocation and is returned.
typedef ingot_status (*ingot_policy_rows_fn)(void *user, size_t index, int64_t row0, int64_t n_rows, float *dst,
                                             ingot_err *err);

typedef struct ingot_policy_target_opts {
    uint64_t target_bytes;         // budget for the sum of all tensor bytes (0: use target_bpw)
    double target_bpw;             // 8 * bytes / elements over all tensors
    const ingot_dtype *candidates; // types to choose from (NULL: q2_k q3_k q4_k q5_k q6_k q8_0)
    size_t n_candidates;
    int64_t sample_rows;           // rows measured per tensor, in 8 evenly spaced runs
                                   // (≤ 0: enough rows for 131072 elements, at least 8)
    const ingot_imatrix *imatrix;  // per-column weights (NULL: uniform)
    ingot_pool *pool;              // measuring threads (NULL: serial)
} ingot_policy_target_opts;

typedef struct ingot_policy_target_report {
    uint64_t budget_bytes;    // the budget in bytes
    uint64_t bytes;           // achieved total bytes (≤ budget)
    uint64_t min_bytes;       // smallest achievable total
    uint64_t fixed_bytes;     // bytes of tensors that were not candidates
    uint64_t n_elements;      // elements of all tensors
    double bpw;               // 8 * bytes / n_elements
    double error;             // estimated total weighted squared error of the choice
    size_t n_candidates;      // tensors whose type was chosen by the allocator
} ingot_policy_target_report;

// Choose a type for every tensor so that the total bytes fit the budget
// while the total importance-weighted error Σ weight·Σ_ij imatrix_j (w_ij −
// ŵ_ij)² is as small as the greedy allocation finds (cheapest type
// everywhere, then the upgrade with the best error reduction per byte, along
// each tensor's lower convex hull, until the budget is spent; then single
// upgrades that still fit; then exchanges between tensors that lower the
// error within the budget). Tensors the preset fixes (integer sources, 1-D,
// norms, routers, biases) and tensors an override matches are not
// candidates; the token embedding and the output head only take candidates
// of at least 6.5 bits per weight when there are any. `keep` cannot be
// combined with a target. Rows are read through `fill` one tensor at a time
// (memory: the sample plus two rows per thread). choices: [n], filled on success.
// @return INGOT_OK; INGOT_E_ARG (no budget, bad candidates, `keep`);
//         INGOT_E_LIMIT (budget below the minimum: the message gives the
//         minimum achievable size); INGOT_E_UNSUPPORTED (a candidate type has
//         no kernels); INGOT_E_FORMAT (imatrix entry of the wrong shape);
//         whatever `fill` returns; INGOT_E_NOMEM.
ingot_status ingot_policy_target(const ingot_policy *p, const ingot_policy_tensor *tensors, size_t n,
                                 ingot_policy_rows_fn fill, void *user, const ingot_policy_target_opts *opts,
                                 ingot_policy_choice *choices /* out */, ingot_policy_target_report *report /* out */,
                                 ingot_err *err);

// Weighted squared error of storing rows x ([n_rows, n_cols] f32) as `dtype`:
// Σ_ij w_j (x_ij − dequant(quant(x))_ij)², w = imatrix ([n_cols], NULL: 1).
// n_cols must be a multiple of the type's block.
// @return INGOT_OK, INGOT_E_ARG (row length), INGOT_E_UNSUPPORTED (no
//         kernels for dtype), INGOT_E_NOMEM.
ingot_status ingot_policy_measure_error(ingot_dtype dtype, const float *x, int64_t n_rows, int64_t n_cols,
                                        const float *imatrix, double *out /* out */, ingot_err *err);

// ---- plan lines ---------------------------------------------------------

// Running totals of a plan.
typedef struct ingot_policy_totals {
    uint64_t n_tensors;
    uint64_t n_elements;
    uint64_t bytes;
    uint64_t bytes_by_type[INGOT_DTYPE_COUNT];
} ingot_policy_totals;

void ingot_policy_totals_add(ingot_policy_totals *tot, const ingot_policy_tensor *t, const ingot_policy_choice *c);

// One plan line, NUL-terminated, truncated to dst_cap:
//   "blk.0.attn_q.weight  [4096, 4096]  bf16 -> q6_k  13.78 MiB  6.56 bpw  preset q4_k_m: attention"
// Returns the length the full line needs (snprintf rules).
size_t ingot_policy_plan_line(const ingot_policy_tensor *t, const ingot_policy_choice *c, char *dst, size_t dst_cap);
// "total: 291 tensors, 8030261248 elements, 4.58 GiB, 4.89 bpw (q4_k 3.90 GiB, q6_k ...)"
size_t ingot_policy_totals_line(const ingot_policy_totals *tot, char *dst, size_t dst_cap);

#ifdef __cplusplus
}
#endif
#endif
