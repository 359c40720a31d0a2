// Internal helpers shared by the verify/ sources.
#ifndef INGOT_VERIFY_INTERNAL_H
#define INGOT_VERIFY_INTERNAL_H

#include <cjson/cJSON.h>

#include "ingot/container.h"
#include "ingot/verify.h"

// Append a problem (formatted message). Never fails: on OOM the problem is
// counted but its text is dropped.
void verify_add_problem(ingot_verify_report *r, ingot_status code, const char *tensor, int64_t off,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// One tensor the architecture needs.
typedef struct verify_expect {
    char name[96];
    uint32_t n_dims;
    uint64_t dims[4];
    bool weight; // a matrix used by matmul (else a vector: norm, bias)
} verify_expect;

// Expected tensors from the metadata's arch / hparams / layers
// (docs/MODEL.md). *out is heap (ingot_free); problems with the metadata
// itself are added to the report.
size_t verify_expected_tensors(const cJSON *meta, ingot_verify_report *r, verify_expect **out);

// Engram consistency (table rows = Σ primes, map size = V', multipliers
// recomputed and equal). Adds problems; no-op without Engram metadata.
void verify_engram_consistency(const ingot_container *c, const cJSON *meta, ingot_verify_report *r);

#endif
