// Internals of the safetensors reader shared by safetensors_read.c,
// checkpoint_open.c and checkpoint_archive.c (private to formats/).
#ifndef INGOT_SAFETENSORS_INTERNAL_H
#define INGOT_SAFETENSORS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/safetensors.h"

// ---- parsed file ------------------------------------------------------------
typedef struct ingot_st_entry {
    ingot_st_tensor t;  // public view; t.name points into the file's string arena
    uint64_t begin;     // data_offsets[0], relative to the data area
    uint64_t end;       // data_offsets[1], one past
    uint64_t key_off;   // byte offset of the tensor's key in the file (for messages)
} ingot_st_entry;

typedef struct ingot_st_meta {
    const char *key;    // into the string arena
    const char *value;
} ingot_st_meta;

struct ingot_st_file {
    char *name;               // copy of the name given to parse (for messages)
    char *arena;              // decoded strings, NUL-terminated, header_len + 1 bytes
    ingot_st_entry *entries;  // [n_entries], sorted by (begin, end) after validation
    size_t n_entries;
    ingot_st_meta *meta;      // [n_meta], in header order
    size_t n_meta;
    uint64_t header_len;      // N, the JSON length
    uint64_t file_size;       // 8 + N + data size
};

// ---- shared helpers ---------------------------------------------------------
// Returns the offset of the first byte that is not part of valid UTF-8 (no
// overlongs, no surrogates, nothing above U+10FFFF), or n when all is valid.
size_t ingot_utf8_check(const uint8_t *buf, size_t n);

// Safetensors dtype string to an ingot dtype: INGOT_OK, INGOT_E_UNSUPPORTED for
// dtypes of the format ingot does not handle (F4, F6_*, C64, *FNUZ) and
// INGOT_E_FORMAT for strings that are no dtype at all.
ingot_status ingot_st_dtype_lookup(const char *s, size_t n, ingot_dtype *out);

// Parses a model.safetensors.index.json from memory into (tensor, shard)
// pairs sorted by tensor name; shard names are deduplicated into `shards`.
// Duplicate tensor names, non-string shard names and unsafe shard paths
// (absolute, "..") are INGOT_E_FORMAT.
typedef struct ingot_st_index {
    char **tensor;        // [n], sorted by strcmp
    uint32_t *shard;      // [n], index into shards
    size_t n;
    char **shards;        // [n_shards], in order of first appearance
    size_t n_shards;
    bool has_total_size;
    uint64_t total_size;  // metadata.total_size when present
} ingot_st_index;

ingot_status ingot_st_index_parse(const uint8_t *buf, size_t n, const char *name, ingot_st_index *out,
                                  ingot_err *err);
void ingot_st_index_deinit(ingot_st_index *ix);

// Cap for model.safetensors.index.json and the side files.
#define INGOT_ST_INDEX_MAX (64ull << 20)

// Size cap for a side file by base name, 0 when the name is no side file.
size_t ingot_checkpoint_aux_cap(const char *basename);

// ---- checkpoints ----------------------------------------------------------------
typedef struct ingot_ck_shard {
    ingot_checkpoint_shard pub; // pub.name points at `name`
    char *name;                 // file name in the folder, or member path in the archive (prefix stripped)
    char *label;                // full path (or "archive:member") used in messages
    ingot_file_map map;         // mapped sources only
    ingot_st_file *st;          // parsed and validated header
    char *member;               // archives: full member path (with prefix)
    uint64_t header_hash;       // archives: xxh3-64 of the first 8 + N bytes, rechecked when streaming
} ingot_ck_shard;

typedef struct ingot_ck_aux {
    char *name;  // base name ("config.json")
    char *data;  // NUL-terminated
    size_t n;    // bytes, without the NUL
} ingot_ck_aux;

struct ingot_checkpoint {
    ingot_checkpoint_kind kind;
    char *path;                // as given to open
    ingot_ck_shard *shards;    // [n_shards], sorted by name
    size_t n_shards;
    ingot_st_tensor *tensors;  // [n_tensors], sorted by name; names borrowed from the shards
    size_t n_tensors;
    size_t *storage;           // [n_tensors] tensor indices in (file_index, data_off) order
    ingot_ck_aux *aux;         // [n_aux]
    size_t n_aux;
};

// Merges the shards' tensors, sorts them by name, rejects a tensor present in
// two shards and, when `ix` is given, cross-checks it against the shards.
// `index_label` names the index in messages.
ingot_status ingot_ck_finish(ingot_checkpoint *ck, const ingot_st_index *ix, const char *index_label,
                             ingot_err *err);
// Adds a side file (takes ownership of data on success and on failure).
ingot_status ingot_ck_aux_add(ingot_checkpoint *ck, const char *basename, char *data, size_t n, ingot_err *err);
// True when the path should be read as an archive (magic bytes, then the
// file extension).
bool ingot_ck_archive_sniff(const char *path);
// Archive pass 1: every header, the index and the side files; fills ck.
ingot_status ingot_ck_archive_open(ingot_checkpoint *ck, ingot_err *err);
// Archive pass 2: streams the members and calls fn for each tensor.
ingot_status ingot_ck_archive_foreach(ingot_checkpoint *ck, ingot_checkpoint_tensor_fn fn, void *ctx,
                                      ingot_err *err);
ingot_status ingot_ck_archive_shard_hash(ingot_checkpoint *ck, size_t shard, uint64_t *out, ingot_err *err);

#endif
