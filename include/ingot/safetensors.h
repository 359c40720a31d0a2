// formats/: safetensors reader — one file, a sharded checkpoint through
// model.safetensors.index.json, or the same folder inside a .tar, .tar.gz,
// .tar.zst or .zip archive (streamed through libarchive, never extracted).
//
// Call sequence:
//   1. ingot_st_file_parse() validates one file's header from memory (used by
//      fuzzers and truncation tests), or
//   2. ingot_checkpoint_open(path) opens a folder, a .safetensors file or an
//      archive; it parses and cross-checks every header up front;
//   3. look tensors up with ingot_checkpoint_find() / ingot_checkpoint_tensor();
//   4. get bytes with ingot_checkpoint_tensor_data() (mapped sources) or stream
//      them in storage order with ingot_checkpoint_foreach() (any source);
//   5. ingot_checkpoint_close().
#ifndef INGOT_SAFETENSORS_H
#define INGOT_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_ST_HEADER_MAX 100000000ull // header length cap, bytes
#define INGOT_ST_MAX_DIMS 8

typedef struct ingot_st_tensor {
    const char *name;     // borrowed, NUL-terminated, valid until close
    ingot_dtype dtype;    // plain dtype (F32 … BOOL)
    uint32_t n_dims;      // 0..INGOT_ST_MAX_DIMS
    uint64_t dims[INGOT_ST_MAX_DIMS]; // outermost first
    uint64_t data_off;    // absolute byte offset of the data in its file
    uint64_t size;        // bytes
    uint32_t file_index;  // index into the checkpoint's shard list
} ingot_st_tensor;

// ---- one file, from memory ------------------------------------------------
typedef struct ingot_st_file ingot_st_file;

// Parse and validate the header of a safetensors file whose first bytes are
// buf[0, n). `file_size` is the full size of the file (n may be shorter when
// only the header is in memory, as for archive members); `name` is used in
// messages (copied). Every rule of the format is checked: header length cap
// and bounds, UTF-8 JSON, duplicate keys, dtype, shape × dtype = span, offsets
// inside the data area, no overlaps, no gaps, overflow, __metadata__ a
// string→string map, no NUL in tensor names. Leading JSON whitespace and
// trailing space padding are accepted; unknown fields inside a tensor entry
// are ignored (as the reference implementation does). The dtype "F8_E8M0"
// (the reference spelling) and "E8M0" both give INGOT_DTYPE_E8M0.
// Every rejection names `name`, the tensor and the byte offset in err->msg
// and err->path / err->tensor / err->off.
// @return INGOT_OK, INGOT_E_FORMAT, INGOT_E_LIMIT (header length over
//   INGOT_ST_HEADER_MAX), INGOT_E_UNSUPPORTED (a dtype of the format ingot
//   does not handle: F4, F6_*, C64, *FNUZ), INGOT_E_NOMEM, INGOT_E_ARG (the
//   header is longer than the n bytes given although the file holds it).
ingot_status ingot_st_file_parse(const uint8_t *buf, size_t n, uint64_t file_size, const char *name,
                                 ingot_st_file **out, ingot_err *err);
void ingot_st_file_free(ingot_st_file *f);
size_t ingot_st_file_n_tensors(const ingot_st_file *f);
// Tensors in data-offset order. Borrowed until free.
const ingot_st_tensor *ingot_st_file_tensor(const ingot_st_file *f, size_t i);
// Bytes from the file start to the first tensor byte (8 + header length).
uint64_t ingot_st_file_data_start(const ingot_st_file *f);
// __metadata__ entries (may be 0). Borrowed until free.
size_t ingot_st_file_n_meta(const ingot_st_file *f);
void ingot_st_file_meta(const ingot_st_file *f, size_t i, const char **key, const char **value);

// ---- a checkpoint (folder, file or archive) -------------------------------
typedef struct ingot_checkpoint ingot_checkpoint;

typedef enum ingot_checkpoint_kind {
    INGOT_CHECKPOINT_FILE = 0,    // one .safetensors file
    INGOT_CHECKPOINT_FOLDER = 1,  // a folder: single file or sharded with index
    INGOT_CHECKPOINT_ARCHIVE = 2, // .tar / .tar.gz / .tar.zst / .zip
} ingot_checkpoint_kind;

typedef struct ingot_checkpoint_shard {
    const char *name;  // file name as in the folder / archive member path (borrowed)
    uint64_t size;     // bytes
} ingot_checkpoint_shard;

// Open and validate. `path` is a folder, a .safetensors file, an
// index file (*.safetensors.index.json: its folder is opened with it) or an
// archive (.tar, .tar.gz, .tar.zst, .zip; recognised by content, then by
// extension). A folder uses model.safetensors.index.json, else the single
// *.safetensors.index.json, else model.safetensors, else the single
// *.safetensors. In an archive, a single top-level folder shared by every
// member is the checkpoint root.
// With an index, the index is cross-checked against the shards: every indexed
// tensor must be in the shard it names, every shard tensor must be indexed,
// no tensor may be in two shards, and every shard named must exist.
// Small JSON side files (config.json, tokenizer.json, tokenizer_config.json,
// generation_config.json, special_tokens_map.json) are loaded at open from
// the checkpoint folder (for a single file: the file's folder), with size
// caps (tokenizer.json 64 MiB, tokenizer_config.json 16 MiB, others 4 MiB
// or less).
// @return INGOT_OK, INGOT_E_IO (missing file or shard, read failure),
//   INGOT_E_FORMAT, INGOT_E_LIMIT, INGOT_E_UNSUPPORTED, INGOT_E_NOMEM,
//   INGOT_E_ARG.
ingot_status ingot_checkpoint_open(const char *path, ingot_checkpoint **out, ingot_err *err);
void ingot_checkpoint_close(ingot_checkpoint *ck);

ingot_checkpoint_kind ingot_checkpoint_get_kind(const ingot_checkpoint *ck);
const char *ingot_checkpoint_path(const ingot_checkpoint *ck);
size_t ingot_checkpoint_n_tensors(const ingot_checkpoint *ck);
// Tensors sorted by name. Borrowed until close.
const ingot_st_tensor *ingot_checkpoint_tensor(const ingot_checkpoint *ck, size_t i);
// Index of the tensor with this name (O(log n)), or -1.
int64_t ingot_checkpoint_find(const ingot_checkpoint *ck, const char *name);
// Shards in storage order (see foreach).
size_t ingot_checkpoint_n_shards(const ingot_checkpoint *ck);
const ingot_checkpoint_shard *ingot_checkpoint_shard_get(const ingot_checkpoint *ck, size_t i);
// A side file by base name ("config.json"); NULL when absent. The bytes are
// NUL-terminated; *n excludes the NUL. Borrowed until close.
const char *ingot_checkpoint_aux(const ingot_checkpoint *ck, const char *basename, size_t *n);

// Mapped sources (file, folder) give random access: a pointer to the tensor's
// bytes valid until close. Archives return NULL (use foreach).
bool ingot_checkpoint_is_mapped(const ingot_checkpoint *ck);
const uint8_t *ingot_checkpoint_tensor_data(const ingot_checkpoint *ck, size_t i);

// xxh3-64 of a whole shard file (reads it; for archives, of the member bytes).
ingot_status ingot_checkpoint_shard_hash(ingot_checkpoint *ck, size_t shard, uint64_t *out, ingot_err *err);

// Stream every tensor in storage order (shard by shard, data offset order;
// shards in name order for folders, in member order for archives).
// `tensor_index` indexes ingot_checkpoint_tensor(). `data` is valid only
// during the call (ephemeral) and not necessarily aligned; for archives one
// tensor is buffered at a time and each shard header is re-checked against
// the one validated at open. A non-OK return from fn stops the walk and is
// returned; INGOT_E_INTERRUPTED after SIGINT/SIGTERM (ingot_interrupted()).
typedef ingot_status (*ingot_checkpoint_tensor_fn)(void *ctx, size_t tensor_index, const uint8_t *data,
                                                   ingot_err *err);
ingot_status ingot_checkpoint_foreach(ingot_checkpoint *ck, ingot_checkpoint_tensor_fn fn, void *ctx,
                                      ingot_err *err);

#ifdef __cplusplus
}
#endif
#endif
