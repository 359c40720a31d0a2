// verify/: a verdict a user can trust that a .ingot is still the model.
//
// Three checks, each filling an ingot_verify_report:
//   - structure: every rule the reader enforces, the header checksum, every
//     tensor checksum, every tensor the architecture needs present with the
//     right shape and a type the runner executes, Engram parameters
//     consistent. Every problem is reported, not only the first.
//   - against the source: each tensor dequantized and compared with the
//     source tensor (bit-exact for `keep`; RMSE, max error, cosine, SQNR), and
//     an end-to-end run of source and converted weights on the same tokens
//     (KL-divergence, top-1 agreement, ΔPPL, RMS Δp, per-layer hidden-state
//     cosine/SQNR).
//   - against reference logits computed elsewhere (tokens.json + logits.f32).
// The verdict compares the figures with thresholds chosen by the file's
// quantization preset (docs/VERIFY.md), overridable.
//
// Call sequence:
//   1. ingot_verify_report_init(&rep)
//   2. ingot_verify_structure(path, &opts, &rep, &err)
//   3. optionally ingot_verify_against(path, src, &opts, &rep, &err) and/or
//      ingot_verify_reference_logits(path, dir, &opts, &rep, &err)
//   4. ingot_verify_verdict(&rep, &opts) → rep.pass
//   5. ingot_verify_report_json(&rep) / print, ingot_verify_report_deinit(&rep)
#ifndef INGOT_VERIFY_H
#define INGOT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ingot_verify_opts {
    int n_threads;              // ≤ 0: all cores
    const char *text_path;      // end-to-end text (NULL: the built-in text)
    int n_tokens;               // end-to-end tokens (≤ 0: 512)
    int n_ctx;                  // evaluation window (≤ 0: min(512, max_pos))
    double threshold_kld;       // < 0: by preset
    double threshold_top1;      // < 0: by preset
    const char *work_dir;       // where the source's temporary keep conversion goes (NULL: $TMPDIR or /tmp)
    bool skip_tensors;          // --against: skip the per-tensor comparison
    bool skip_e2e;              // --against: skip the end-to-end run
} ingot_verify_opts;

void ingot_verify_opts_init(ingot_verify_opts *o);

typedef struct ingot_verify_problem {
    ingot_status code;          // INGOT_E_CHECKSUM, INGOT_E_FORMAT, …
    char tensor[128];           // empty when not about one tensor
    int64_t off;                // byte offset in the file, -1 when unknown
    char msg[384];
} ingot_verify_problem;

typedef struct ingot_verify_tensor_cmp {
    char name[128];
    ingot_dtype type;           // type in the .ingot
    ingot_dtype src_type;
    uint64_t n;                 // elements compared
    bool bit_exact;             // bytes identical to the source (keep)
    double rmse, max_abs, cosine, sqnr_db;
} ingot_verify_tensor_cmp;

typedef struct ingot_verify_layer_trace {
    double cosine;              // mean over tokens of cos(hidden_src, hidden_file)
    double sqnr_db;             // 10 log10(Σ src² / Σ (src − file)²)
} ingot_verify_layer_trace;

typedef struct ingot_verify_report {
    // structure
    bool structure_ran;
    bool readable;              // the container opened (else the file is unreadable or corrupt)
    size_t n_tensors;
    uint64_t bytes_hashed;
    double hash_seconds;
    char arch[32];
    char preset[32];            // quantization.preset from the metadata ("" when absent)
    ingot_verify_problem *problems;
    size_t n_problems, cap_problems;
    // per tensor against the source
    bool tensors_ran;
    ingot_verify_tensor_cmp *cmp;
    size_t n_cmp;
    size_t n_bit_exact;
    // end to end (against the source or reference logits)
    bool e2e_ran;
    char e2e_base[32];          // "source" or "reference"
    int e2e_tokens;             // positions scored
    bool e2e_tokens_from_text;  // false: pseudo-random ids (no tokenizer)
    double kld_mean, kld_p99, kld_max, top1, ppl, ppl_base, delta_ppl, rms_dp;
    double max_abs_logit;       // max |logit − base logit|
    ingot_verify_layer_trace *trace; // [n_trace] embeddings, each layer, final norm
    size_t n_trace;
    // verdict
    bool verdict_ran;
    double threshold_kld, threshold_top1;
    bool pass;
    char reason[512];
} ingot_verify_report;

void ingot_verify_report_init(ingot_verify_report *r);
void ingot_verify_report_deinit(ingot_verify_report *r);

// Structural verification of a .ingot. Problems go into the report; the
// return value is INGOT_OK when the check ran (even with problems), or the
// error that stopped it (INGOT_E_IO: unreadable).
ingot_status ingot_verify_structure(const char *path, const ingot_verify_opts *opts, ingot_verify_report *rep,
                                    ingot_err *err);

// Compare a .ingot with the checkpoint it came from: per tensor, then end to
// end. Streams tensor by tensor; the end-to-end run converts the source with
// `keep` into opts->work_dir (removed afterwards).
ingot_status ingot_verify_against(const char *path, const char *src, const ingot_verify_opts *opts,
                                  ingot_verify_report *rep, ingot_err *err);

// Compare with logits computed elsewhere: dir holds tokens.json (an array of
// ids, or an object with "input_ids"/"tokens") and logits.f32 (float32 LE
// [T, n_vocab]).
ingot_status ingot_verify_reference_logits(const char *path, const char *dir, const ingot_verify_opts *opts,
                                           ingot_verify_report *rep, ingot_err *err);

// Decide pass/fail from what ran, with thresholds from the preset or opts.
void ingot_verify_verdict(ingot_verify_report *rep, const ingot_verify_opts *opts);
// Thresholds for a preset name ("q8_0", "keep", …; unknown → the loosest
// quantized row); false when the preset is unknown.
bool ingot_verify_thresholds(const char *preset, double *kld, double *top1);

// The report as JSON text (heap; free with ingot_free).
char *ingot_verify_report_json(const ingot_verify_report *rep);

#ifdef __cplusplus
}
#endif
#endif
