// Engram (DeepSeek "Conditional Memory via Scalable Lookup"): hashed n-gram
// embedding tables added to the residual stream of a few layers.
//
// The algorithm and its exact integer rules are described in docs/ENGRAM.md.
// Work is split between the two sides of ingot:
//   convert/ builds everything that needs the source (the tokenizer
//   compression map, the per-layer hash multipliers from numpy's generator,
//   the prime table sizes and row offsets) and stores it in the .ingot
//   metadata (`engram` object) and blobs (`engram.compress`);
//   runner/ only reads those numbers back, hashes token ids and runs the
//   Engram block. It recomputes nothing.
//
// Call sequence (convert side):
//   1. ingot_engram_config_parse(config.json)          → ingot_engram_config
//   2. ingot_engram_compress_build(tokenizer.json)     → lookup[V], V'
//   3. ingot_engram_params_build(config, V')           → ingot_engram_params
//   4. ingot_engram_params_to_json(params)             → metadata `engram`
// Call sequence (runner side):
//   1. ingot_engram_params_from_json(metadata `engram`) → ingot_engram_params
//   2. ingot_engram_compress_ids / ingot_engram_hash_rows per position
//   3. ingot_engram_state_create, then ingot_engram_forward per position
#ifndef INGOT_ENGRAM_H
#define INGOT_ENGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_ENGRAM_MAX_NGRAM 8   // N, largest n-gram order
#define INGOT_ENGRAM_MAX_COLS 64   // (N-1)·H, table columns per layer
#define INGOT_ENGRAM_MAX_LAYERS 16 // Engram layers per model
#define INGOT_ENGRAM_MAX_HC 16     // hyper-connection streams G

typedef enum ingot_engram_variant {
    INGOT_ENGRAM_DEMO = 0, // official demo / paper: biases, short conv, demo gate sign
    INGOT_ENGRAM_V41 = 1,  // DeepSeek-V4.1: fused wkv, no conv, sign(0) = +
} ingot_engram_variant;

// ---- source configuration (convert side) ----------------------------------
// Engram keys of a Hugging Face config.json, normalised over both dialects.
typedef struct ingot_engram_config {
    ingot_engram_variant variant;
    uint32_t n_layers;                          // number of Engram layers
    int32_t layer_ids[INGOT_ENGRAM_MAX_LAYERS]; // 0-based decoder layer ids, in config order
    uint32_t max_ngram;                         // N ≥ 2
    uint32_t n_head;                            // H, hash heads per order
    uint32_t d_h;                               // row width of every table
    uint64_t base[INGOT_ENGRAM_MAX_NGRAM];      // per-order base table size, index n-2
    uint32_t kernel_size;                       // short conv taps K (0: no conv)
    int64_t pad_id;                             // raw pad token id
    int64_t seed;                               // RNG seed (seed + 10007·L)
    int64_t compressed_vocab;                   // V' from the config, -1 when absent
    uint64_t num_embeddings[INGOT_ENGRAM_MAX_LAYERS]; // config's rows per layer, 0 when absent
    uint32_t hc_mult;                           // G
    uint32_t d_model;                           // backbone hidden size D
    double norm_eps;                            // backbone rms_norm_eps
} ingot_engram_config;

// Parse the Engram keys of config.json text (json[0, n)). *present is false
// (and OK returned) when the config has no Engram keys. Accepted key names are
// listed in docs/ENGRAM.md.
// @return INGOT_OK, INGOT_E_FORMAT (bad JSON or values), INGOT_E_LIMIT (over a
//         compile-time maximum above), INGOT_E_UNSUPPORTED.
ingot_status ingot_engram_config_parse(const char *json, size_t n, ingot_engram_config *out /* out */,
                                       bool *present /* out */, ingot_err *err);

// ---- derived parameters (stored in the metadata) ---------------------------
typedef struct ingot_engram_layer {
    int32_t layer;                              // decoder layer id
    uint64_t mult[INGOT_ENGRAM_MAX_NGRAM];      // odd multiplier per lag k = 0..N-1
    uint64_t prime[INGOT_ENGRAM_MAX_COLS];      // table size per column j = (n-2)·H + h
    uint64_t offset[INGOT_ENGRAM_MAX_COLS];     // exclusive prefix sum of prime
    uint64_t n_rows;                            // Σ prime
} ingot_engram_layer;

typedef struct ingot_engram_params {
    ingot_engram_variant variant;
    uint32_t max_ngram;        // N
    uint32_t n_head;           // H
    uint32_t d_h;              // row width
    uint32_t d_model;          // D
    uint32_t hc_mult;          // G
    uint32_t kernel_size;      // K (0: no conv)
    uint32_t dilation;         // conv dilation (= N)
    uint64_t vocab;            // V, raw tokenizer length (size of the compression map)
    uint64_t compressed_vocab; // V'
    int64_t pad_id;            // raw pad id
    uint64_t pad_compressed;   // lookup[pad_id]
    float gate_eps;            // RMSNorm eps of the gate (key and query norms)
    float conv_eps;            // RMSNorm eps of the conv branch
    bool sign_zero_positive;   // signed sqrt treats 0 as + (V4.1)
    int64_t seed;              // RNG seed the multipliers came from (-1: not recorded)
    uint64_t base[INGOT_ENGRAM_MAX_NGRAM]; // per-order base table size the primes started from (index n-2)
    uint32_t n_layers;
    ingot_engram_layer layers[INGOT_ENGRAM_MAX_LAYERS];
} ingot_engram_params;

// Columns per layer, (N-1)·H.
static inline uint32_t ingot_engram_n_cols(const ingot_engram_params *p) {
    return (p->max_ngram - 1) * p->n_head;
}

// numpy: default_rng(seed).integers(0, high, size=n, dtype=int64), high ≥ 1,
// seed < 2^64. out: [n].
void ingot_engram_numpy_integers(uint64_t seed, uint64_t high, size_t n, uint64_t *out);
// Internals exposed for test vectors: SeedSequence(seed).generate_state as 4
// u64 words, and the PCG64 state and increment after seeding (hi, lo halves).
void ingot_engram_seed_sequence(uint64_t seed, uint64_t words[4]);
void ingot_engram_pcg64_seeded(uint64_t seed, uint64_t state[2], uint64_t inc[2], uint64_t first[4]);
// Smallest prime > start; exact for start < 2^63.
uint64_t ingot_engram_next_prime(uint64_t start);

// Build every derived number: multipliers (numpy RNG, seed + 10007·L), prime
// sizes (one shared `seen` set over layers, orders, heads) and offsets.
// `vocab` is V (compression map size), `compressed_vocab` V', `pad_compressed`
// lookup[pad_id]. Checks config->num_embeddings when given.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_MISMATCH (num_embeddings disagree).
ingot_status ingot_engram_params_build(const ingot_engram_config *cfg, uint64_t vocab, uint64_t compressed_vocab,
                                       uint64_t pad_compressed, ingot_engram_params *out /* out */,
                                       ingot_err *err);

// Serialise params as the metadata `engram` object (docs/ENGRAM.md). *out is
// a NUL-terminated heap string, free with ingot_free.
// @return INGOT_OK, INGOT_E_NOMEM.
ingot_status ingot_engram_params_to_json(const ingot_engram_params *p, char **out /* out */, ingot_err *err);
// Read the metadata `engram` object (json[0, n) is that object's text).
// Validates every number (counts, primes > 0, offsets = prefix sums,
// multipliers odd and small enough that m·x' < 2^63).
// @return INGOT_OK, INGOT_E_FORMAT, INGOT_E_LIMIT.
ingot_status ingot_engram_params_from_json(const char *json, size_t n, ingot_engram_params *out /* out */,
                                           ingot_err *err);

// ---- tokenizer compression (convert side) ----------------------------------
// The normaliser: NFKC, NFD, strip marks, lowercase, collapse runs of space /
// TAB / CR / LF, the single-space rule, strip White_Space. s is UTF-8 of n
// bytes; *out a NUL-terminated heap string (ingot_free), *out_n its length.
// @return INGOT_OK, INGOT_E_FORMAT (invalid UTF-8), INGOT_E_NOMEM.
ingot_status ingot_engram_normalize(const char *s, size_t n, char **out /* out */, size_t *out_n /* out */,
                                    ingot_err *err);
// Key of one token: `text` is the HF decode of the id (lossy UTF-8), `raw`
// the token string. Implements the U+FFFD and empty-normalisation rules.
ingot_status ingot_engram_token_key(const char *text, size_t text_n, const char *raw, size_t raw_n,
                                    char **out /* out */, size_t *out_n /* out */, ingot_err *err);
// Build lookup[V] from tokenizer.json text. *lookup is a heap array of V
// int32 (ingot_free); *vocab = V, *compressed_vocab = V'.
// @return INGOT_OK, INGOT_E_FORMAT (bad tokenizer.json), INGOT_E_UNSUPPORTED
//         (not a byte-level BPE / WordLevel vocabulary), INGOT_E_NOMEM.
ingot_status ingot_engram_compress_build(const char *tokenizer_json, size_t n, int32_t **lookup /* out */,
                                         uint64_t *vocab /* out */, uint64_t *compressed_vocab /* out */,
                                         ingot_err *err);

// ---- hashing (runner side) -------------------------------------------------
// Raw id → compressed id. Ids outside [0, V) are clipped to [0, V-1] (the
// demo would fail on them; its later variant clips).
static inline uint64_t ingot_engram_compress_id(const int32_t *lookup, uint64_t vocab, int64_t id) {
    if (id < 0) id = 0;
    if ((uint64_t)id >= vocab) id = (int64_t)vocab - 1;
    return (uint64_t)lookup[id];
}
// Validate a compression map blob (int32 LE [V], every value < V').
// @return INGOT_OK, INGOT_E_FORMAT.
ingot_status ingot_engram_lookup_check(const void *blob, size_t n, const ingot_engram_params *p, ingot_err *err);

// Rows of one position for one layer. window[k] = x'[t-k] (compressed, with
// pad_compressed for t-k < 0), k = 0..N-1. rows: [(N-1)·H] global row
// indices in column order j = (n-2)·H + h.
void ingot_engram_hash_rows(const ingot_engram_params *p, const ingot_engram_layer *layer, const uint64_t *window,
                            uint64_t *rows);

// ---- forward (runner side) -------------------------------------------------
// One linear map y = W x (+ b) with W [rows, cols] of any row type, used for
// the key / value projections. Views into the mapping; never owned.
typedef struct ingot_engram_linear {
    ingot_dtype dtype;
    const void *w;     // [rows, cols] row-major rows of `dtype`
    const float *b;    // [rows] f32 or NULL
    uint32_t rows, cols;
} ingot_engram_linear;

// The weights of one Engram layer (views, never owned; f32 vectors).
typedef struct ingot_engram_weights {
    ingot_dtype table_dtype;      // F32, F16, BF16, Q8_0, Q6_K, Q4_K or F8_E4M3_R32
    const uint8_t *table;         // [n_rows, d_h] rows of table_dtype (mmap)
    uint64_t table_rows;          // must equal layer->n_rows
    ingot_engram_linear value;    // [D, d_mem]
    ingot_engram_linear key[INGOT_ENGRAM_MAX_HC]; // [D, d_mem] per stream (demo); V4.1 uses `value` only + key
    const float *key_norm[INGOT_ENGRAM_MAX_HC];   // [D] RMSNorm of the key (norm1 / k_weight)
    const float *query_norm[INGOT_ENGRAM_MAX_HC]; // [D] RMSNorm of the query stream (norm2 / q_weight)
    const float *conv_norm[INGOT_ENGRAM_MAX_HC];  // [D] demo conv-branch norm, NULL without conv
    const float *conv_w;          // [G·D, K] depthwise conv taps (f32), NULL without conv
} ingot_engram_weights;

// Per-sequence state of one Engram layer: the last N-1 compressed ids and the
// conv history ((K-1)·dilation past normalised values per channel), plus
// scratch. Allocated once; the forward does no allocation.
typedef struct ingot_engram_state ingot_engram_state;

// @return INGOT_OK, INGOT_E_NOMEM, INGOT_E_ARG.
ingot_status ingot_engram_state_create(const ingot_engram_params *p, ingot_engram_state **out /* out */,
                                       ingot_err *err);
void ingot_engram_state_free(ingot_engram_state *st);
// Split the projections' rows across `pool` (borrowed; NULL: serial).
// Results are identical either way.
void ingot_engram_state_set_pool(ingot_engram_state *st, ingot_pool *pool);
// Forget the sequence (position 0 next).
void ingot_engram_state_reset(ingot_engram_state *st);

// Push the next raw token id into the window and compute its rows (and
// prefetch them: madvise + cache prefetch). Call as soon as the token is
// known; ingot_engram_forward then uses these rows. rows_out (may be NULL):
// [(N-1)·H].
void ingot_engram_state_push(ingot_engram_state *st, const ingot_engram_params *p, const ingot_engram_layer *layer,
                             const int32_t *lookup, const ingot_engram_weights *w, int64_t raw_id,
                             uint64_t *rows_out);

// Rows of the next n raw ids (positions after the last push) without
// changing the state: fn(ctx, i, rows[(N-1)·H]) for i = 0..n-1 (rows are
// ephemeral).
typedef void (*ingot_engram_rows_fn)(void *ctx, int i, const uint64_t *rows);
void ingot_engram_state_rows_ahead(const ingot_engram_state *st, const ingot_engram_params *p,
                                   const ingot_engram_layer *layer, const int32_t *lookup, const int32_t *raw_ids, int n,
                                   ingot_engram_rows_fn fn, void *ctx);
// Prefetch (madvise WILLNEED + cache hints, on the calling thread) the rows
// of the next n raw ids without changing the state.
void ingot_engram_state_prefetch(const ingot_engram_state *st, const ingot_engram_params *p,
                                 const ingot_engram_layer *layer, const int32_t *lookup, const ingot_engram_weights *w,
                                 const int32_t *raw_ids, int n);
// Decode the rows of the last push into emb [(N-1)·H·d_h] (no projection).
// @return INGOT_OK, INGOT_E_STATE (nothing pushed), INGOT_E_FORMAT, INGOT_E_UNSUPPORTED.
ingot_status ingot_engram_state_gather(const ingot_engram_state *st, const ingot_engram_params *p,
                                       const ingot_engram_weights *w, float *emb, ingot_err *err);
// Positions pushed since the last reset.
int64_t ingot_engram_state_pos(const ingot_engram_state *st);

// Intermediates of one position (optional, for tests): any pointer may be NULL.
typedef struct ingot_engram_trace {
    float *emb;          // [d_mem]
    float *value;        // [D]
    float *gate;         // [G]
    float *gated_value;  // [G, D]
    float *conv_out;     // [G, D] (zeros without conv)
    float *out;          // [G, D] module output Y (before the residual add)
} ingot_engram_trace;

// One position: x is the residual stream [G, D], updated in place
// (x += Y). Uses the rows from the last ingot_engram_state_push.
// @return INGOT_OK, INGOT_E_FORMAT (table shorter than a row index),
//         INGOT_E_UNSUPPORTED (a dtype without row kernels), INGOT_E_STATE
//         (no push before forward).
ingot_status ingot_engram_forward(ingot_engram_state *st, const ingot_engram_params *p,
                                  const ingot_engram_weights *w, float *x, ingot_engram_trace *trace,
                                  ingot_err *err);

// ---- a model's Engram layers bound from a .ingot (runner side) ---------------
// Tensor names and the metadata are docs/ENGRAM.md. One sequence at a time:
// the per-layer state (window, conv history) follows the positions passed in.
typedef struct ingot_engram_model ingot_engram_model;
struct ingot_container;

// Bind the Engram layers of an opened container: the metadata `engram`
// object, the `engram.compress` blob and every blk.L.engram.* tensor (dtype
// and dims checked). *out is NULL (and OK returned) when the file has no
// Engram. The container is borrowed and must outlive the handle.
// @return INGOT_OK, INGOT_E_FORMAT (missing / misshapen tensor or blob, bad
//         metadata), INGOT_E_UNSUPPORTED (a dtype without row kernels),
//         INGOT_E_NOMEM.
ingot_status ingot_engram_model_open(const struct ingot_container *c, ingot_engram_model **out /* out */,
                                     ingot_err *err);
void ingot_engram_model_free(ingot_engram_model *m);
// Borrowed until free.
const ingot_engram_params *ingot_engram_model_params(const ingot_engram_model *m);
const int32_t *ingot_engram_model_lookup(const ingot_engram_model *m); // [V]
// Index into params.layers of decoder layer `layer`, or -1.
int ingot_engram_model_find(const ingot_engram_model *m, int layer);
// Rows of n tokens at positions pos.. for Engram layer index li, without
// running the layer (for inspection): rows [n, (N-1)·H]. Position 0 starts a
// new window; otherwise the window continues from the previous call.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_STATE (pos does not continue).
ingot_status ingot_engram_model_rows(ingot_engram_model *m, int li, const int32_t *tokens, int n, int pos,
                                     uint64_t *rows, ingot_err *err);
// Rows of n tokens (as ingot_engram_model_rows, same window) gathered from
// the table and decoded: emb [n, (N-1)·H·d_h]. For inspection and benchmarks.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_STATE, INGOT_E_FORMAT.
ingot_status ingot_engram_model_gather(ingot_engram_model *m, int li, const int32_t *tokens, int n, int pos,
                                       float *emb, ingot_err *err);
// Prefetch the rows of n tokens at the next positions of every Engram layer:
// their addresses go to a helper thread that madvise(WILLNEED)s and touches
// each row's pages, so disk reads and page-table faults happen while the
// layers before Engram compute. Returns at once; changes no state.
void ingot_engram_model_prefetch(ingot_engram_model *m, const int32_t *tokens, int n);
// Run Engram layer `layer` for n tokens at positions pos..pos+n-1:
// x [n, G·D] += Engram(x, tokens). pos 0 starts a new sequence; any other pos
// must continue the previous call for this layer.
// @return INGOT_OK, INGOT_E_ARG (layer has no Engram), INGOT_E_STATE (pos
//         does not continue the sequence), and ingot_engram_forward's codes.
ingot_status ingot_engram_model_forward(ingot_engram_model *m, int layer, float *x, const int32_t *tokens, int n,
                                        int pos, ingot_err *err);
// Run the projections on `pool` (borrowed, may be NULL) from now on.
void ingot_engram_model_set_pool(ingot_engram_model *m, ingot_pool *pool);
// Disable every Engram layer (the forward becomes a no-op); for benchmarks
// that compare a model with and without its Engram.
void ingot_engram_model_set_enabled(ingot_engram_model *m, bool enabled);

// The decoder's call site (runner/): bind the Engram layers of an opened
// runner model and install its per-layer hook; a model without Engram is
// left unchanged. Called by ingot_model_open_container.
// @return INGOT_OK, ingot_engram_model_open's codes, INGOT_E_UNSUPPORTED
//         (hc_mult > 1: the decoder carries one residual stream).
struct ingot_model;
ingot_status ingot_engram_attach(struct ingot_model *m, ingot_err *err);
void ingot_engram_detach(struct ingot_model *m);
// The Engram layers of a runner model, or NULL. Borrowed until model close.
ingot_engram_model *ingot_engram_of(const struct ingot_model *m);

// ---- conversion hooks (convert/engram_map.c) ---------------------------------
// Called by the model description when config.json has engram_layer_ids:
//   1. ingot_engram_desc_build (config and tokenizer.json → params, map; a
//      compressed vocabulary that disagrees with engram_compressed_vocab_size
//      is INGOT_E_FORMAT), stored in the description;
//   2. ingot_engram_desc_map (blk.L.engram.* tensors, ENGRAM regions; checks
//      the table row count and the stored offsets buffer);
//   3. ingot_engram_desc_json (adds `engram` to the description JSON);
//   4. ingot_engram_desc_add_blobs (the `engram.compress` blob);
//   5. ingot_engram_desc_free.
struct ingot_model_desc;
struct ingot_writer;
struct ingot_engram_desc;
ingot_status ingot_engram_desc_build(struct ingot_model_desc *m, const char *config_json, size_t n, ingot_err *err);
ingot_status ingot_engram_desc_map(struct ingot_model_desc *m, ingot_err *err);
ingot_status ingot_engram_desc_json(struct ingot_model_desc *m, ingot_err *err);
ingot_status ingot_engram_desc_add_blobs(const struct ingot_model_desc *m, struct ingot_writer *w, ingot_err *err);
void ingot_engram_desc_free(struct ingot_engram_desc *d);

#ifdef __cplusplus
}
#endif
#endif
