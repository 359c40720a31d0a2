// formats/: the .ingot container — writer (plan, then stream data to known
// offsets from any number of threads; atomic temp-file + fsync + rename) and
// reader (mmap, O(log n) lookup by name, zero-copy tensor views, checksums).
//
// Byte-level layout (full specification: docs/FORMAT.md). All integers are
// little-endian; offsets are absolute from the start of the file.
//   1. Header, 128 bytes at offset 0:
//        0 magic "\x89INGOT\r\n" (8)   8 u32 version   12 u32 header_size (128)
//       16 u64 file_size   24 u64 head_size   32 u64 head_xxh3
//       40 u64 region_off  48 u64 blob_off    56 u64 index_off   64 u64 sorted_off
//       72 u64 strtab_off  80 u64 strtab_size 88 u64 meta_off    96 u64 meta_size
//      104 u32 n_tensors  108 u32 n_regions  112 u32 n_blobs  116 u32 flags (0)
//      120 u64 reserved (0)
//   2. Region table: n_regions × 32 bytes {u32 kind, i32 layer, u32 first_tensor,
//      u32 n_tensors, u64 off, u64 size}.
//   3. Blob table: n_blobs × 32 bytes {u32 name_off, u32 name_len, u64 off,
//      u64 size, u64 xxh3}.
//   4. Tensor index, plan order: n_tensors × 80 bytes {u32 name_off, u32 name_len,
//      u32 dtype, u32 n_dims, u32 region, u32 flags (0), u64 dims[4], u64 off,
//      u64 size, u64 xxh3}.
//   5. Sorted names: n_tensors × u32 tensor numbers in byte order of the names
//      (binary search; strictly increasing, so names are unique).
//   6. String table: tensor names in sorted order, then blob names, each + NUL.
//   7. Metadata: JSON object text (meta_size bytes) and one NUL; ends at head_size.
//      Tables 2–7 appear in this order, 8-byte aligned, without overlap.
//      head_xxh3 = xxh3-64 of bytes [0, head_size) with bytes 32..39 read as 0.
//   8. Blob data, each blob 64-byte aligned, before the first region.
//   9. Regions (DENSE, per-layer EXPERTS, ENGRAM), each 4096-byte aligned; the
//      tensors of region r are index entries [first_tensor, +n_tensors), each
//      64-byte aligned, at increasing offsets; padding bytes are zero.
//      file_size ends at the last byte of the last region.
// A reader refuses a version above INGOT_CONTAINER_VERSION with
// INGOT_E_UNSUPPORTED ("file format version N is newer than this reader (M)").
//
// Writer call sequence:
//   1. ingot_writer_create(path, flags)   (path NULL: plan only, for --dry-run)
//   2. ingot_writer_set_metadata(json), ingot_writer_add_blob(name, bytes)…
//   3. for each region: ingot_writer_begin_region(kind, layer), then
//      ingot_writer_add_tensor(name, dtype, dims) for its tensors
//   4. ingot_writer_plan()  — every offset is now known
//   5. ingot_writer_write(index, off, bytes) from any thread, any order
//   6. ingot_writer_finish() — checksums, header, index, fsync, rename
//   7. ingot_writer_free()   — removes the temporary file unless finished
//
// Reader call sequence:
//   1. ingot_container_open(path) or ingot_container_open_buffer(buf, n)
//   2. ingot_container_find_tensor(name) → index; ingot_container_tensor(i),
//      ingot_container_tensor_data(i)
//   3. ingot_container_close()
#ifndef INGOT_CONTAINER_H
#define INGOT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/dtype.h"
#include "ingot/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_CONTAINER_VERSION 1u  // this reader reads versions ≤ this
#define INGOT_TENSOR_ALIGN 64u      // every tensor's offset is a multiple of this
#define INGOT_REGION_ALIGN 4096u    // every region's offset is a multiple of this
#define INGOT_MAX_DIMS 4u

typedef enum ingot_region_kind {
    INGOT_REGION_DENSE = 0,   // non-expert weights (layer = -1 for one global region)
    INGOT_REGION_EXPERTS = 1, // routed experts of one layer
    INGOT_REGION_ENGRAM = 2,  // Engram tables of one layer
    INGOT_REGION_COUNT
} ingot_region_kind;

typedef struct ingot_tensor_info {
    const char *name;        // borrowed, valid until close/free
    ingot_dtype dtype;
    uint32_t n_dims;         // 0..4 (0: a scalar)
    uint64_t dims[INGOT_MAX_DIMS]; // outermost first; unused entries 0
    uint64_t off;            // absolute file offset, multiple of 64
    uint64_t size;           // bytes
    uint64_t xxh3;           // xxh3-64 of the bytes (0 in the writer until finish)
    uint32_t region;         // index into the region table
} ingot_tensor_info;

typedef struct ingot_region_info {
    ingot_region_kind kind;
    int32_t layer;           // -1 when not per layer
    uint64_t off;            // absolute, multiple of 4096
    uint64_t size;           // bytes, up to the end of its last tensor
} ingot_region_info;

// ---- writer ---------------------------------------------------------------
typedef struct ingot_writer ingot_writer;

#define INGOT_WRITER_FORCE 1u // replace an existing target

// Create a writer for `path` (copied). Without INGOT_WRITER_FORCE an existing
// target is refused (INGOT_E_IO) before any work. path NULL plans only
// (write and finish then return INGOT_E_STATE).
// @return INGOT_OK, INGOT_E_IO, INGOT_E_ARG, INGOT_E_NOMEM.
ingot_status ingot_writer_create(const char *path, unsigned flags, ingot_writer **out, ingot_err *err);
// Metadata JSON text (copied; must parse as a JSON object, no NUL; ≤ 1 GiB).
// Without a call the metadata is "{}". Declaration calls (metadata, blobs,
// regions, tensors) are valid only before plan (INGOT_E_STATE after).
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_LIMIT, INGOT_E_STATE, INGOT_E_NOMEM.
ingot_status ingot_writer_set_metadata(ingot_writer *w, const char *json, size_t n, ingot_err *err);
// A named blob section (copied), e.g. "tokenizer.json", "engram.compress".
// Names are unique, 1..1024 bytes; at most 1024 blobs.
ingot_status ingot_writer_add_blob(ingot_writer *w, const char *name, const void *data, size_t n, ingot_err *err);
// Start a new page-aligned region; tensors added afterwards go into it. A
// writer starts in a DENSE region with layer -1; when nothing was declared in
// it yet, the first begin_region replaces it instead of leaving it empty.
ingot_status ingot_writer_begin_region(ingot_writer *w, ingot_region_kind kind, int32_t layer, ingot_err *err);
// Declare a tensor (name copied; unique, 1..1024 bytes; dims outermost first,
// n_dims 0..4; its byte size comes from the dtype traits). *index (may be
// NULL) receives its index, which is the order of declaration and the order
// of the data in the file.
// @return INGOT_OK, INGOT_E_ARG (duplicate name, bad dtype or rank),
//         INGOT_E_FORMAT / INGOT_E_LIMIT (shape), INGOT_E_STATE, INGOT_E_NOMEM.
ingot_status ingot_writer_add_tensor(ingot_writer *w, const char *name, ingot_dtype dtype, uint32_t n_dims,
                                     const uint64_t *dims, size_t *index /* out */, ingot_err *err);
// Freeze the layout: every offset and the file size are known afterwards. The
// temporary file is created and sized here (ENOSPC is detected up front when
// the filesystem supports fallocate).
// @return INGOT_OK, INGOT_E_IO, INGOT_E_LIMIT, INGOT_E_STATE, INGOT_E_NOMEM.
ingot_status ingot_writer_plan(ingot_writer *w, ingot_err *err);
// After plan: the planned file size (0 before), the tensors with their
// offsets (borrowed until free; xxh3 is 0 until finish).
uint64_t ingot_writer_file_size(const ingot_writer *w);
size_t ingot_writer_n_tensors(const ingot_writer *w);
const ingot_tensor_info *ingot_writer_tensor(const ingot_writer *w, size_t i);
// Write `n` bytes of tensor `index` at byte `off` inside it. Thread-safe; any
// order; each byte should be written once. Bounds are checked.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_STATE, INGOT_E_IO (ENOSPC names the offset).
ingot_status ingot_writer_write(ingot_writer *w, size_t index, uint64_t off, const void *data, size_t n,
                                ingot_err *err);
// Compute checksums (on `pool`, may be NULL), write header, metadata, string
// table, index and blobs, fsync, rename over the target, fsync the folder.
// Every byte of every tensor must have been written (INGOT_E_STATE naming the
// first incomplete tensor otherwise). On any failure the temporary file is
// removed and nothing exists at the target.
// @return INGOT_OK, INGOT_E_IO (ENOSPC, rename), INGOT_E_STATE, INGOT_E_ARG.
ingot_status ingot_writer_finish(ingot_writer *w, ingot_pool *pool, ingot_err *err);
// Frees the writer; removes the temporary file if finish did not succeed.
void ingot_writer_free(ingot_writer *w);
// Test hook: make the writer's pwrite fail with ENOSPC after `bytes` more
// bytes (0 disables). Process-wide; also applies to pack and unpack output.
void ingot_writer_fail_after(uint64_t bytes);

// ---- reader ---------------------------------------------------------------
typedef struct ingot_container ingot_container;

#define INGOT_OPEN_VERIFY 1u // verify every tensor checksum at open

// Open a file by path (mmap) or a buffer (borrowed; must outlive the handle).
// Validates magic, version (a newer file is INGOT_E_UNSUPPORTED with a clear
// message), header checksum, every index entry (dtype, dims, size, alignment,
// bounds, overlaps, unique names).
// @return INGOT_OK, INGOT_E_IO, INGOT_E_FORMAT, INGOT_E_UNSUPPORTED,
//         INGOT_E_CHECKSUM, INGOT_E_LIMIT, INGOT_E_NOMEM.
ingot_status ingot_container_open(const char *path, unsigned flags, ingot_container **out, ingot_err *err);
ingot_status ingot_container_open_buffer(const void *buf, size_t n, unsigned flags, ingot_container **out,
                                         ingot_err *err);
// Accepts NULL.
void ingot_container_close(ingot_container *c);
// Accessors accept NULL / out-of-range i (NULL, 0 or -1). Every pointer they
// return is borrowed until close: names and data point into the mapping.

uint32_t ingot_container_version(const ingot_container *c);
uint64_t ingot_container_file_size(const ingot_container *c);
const uint8_t *ingot_container_base(const ingot_container *c); // start of the mapping
size_t ingot_container_n_tensors(const ingot_container *c);
const ingot_tensor_info *ingot_container_tensor(const ingot_container *c, size_t i);
// Index of the tensor named `name`, or -1. O(log n), no scan of the index.
int64_t ingot_container_find_tensor(const ingot_container *c, const char *name);
// Zero-copy view of tensor i's bytes; valid until close.
const void *ingot_container_tensor_data(const ingot_container *c, size_t i);
size_t ingot_container_n_regions(const ingot_container *c);
const ingot_region_info *ingot_container_region(const ingot_container *c, size_t i);
// Metadata JSON text, NUL-terminated; borrowed until close.
const char *ingot_container_metadata(const ingot_container *c, size_t *n);
size_t ingot_container_n_blobs(const ingot_container *c);
void ingot_container_blob(const ingot_container *c, size_t i, const char **name, const void **data, size_t *n);
// Find a blob by name; false when absent.
bool ingot_container_find_blob(const ingot_container *c, const char *name, const void **data, size_t *n);
// Check one tensor's xxh3 (INGOT_E_CHECKSUM with name and offset on mismatch).
ingot_status ingot_container_verify_tensor(const ingot_container *c, size_t i, ingot_err *err);

// ---- transport form (.ingot.zst) ------------------------------------------
// Layout in docs/FORMAT.md ("Transport form"): chunks of at most 4 MiB, each
// an independent zstd frame compressed on a thread pool (one ZSTD_CCtx per
// thread), frames written in chunk order so the output does not depend on the
// thread count.
typedef struct ingot_pack_stats {
    uint64_t in_bytes, out_bytes; // bytes read and written
    double seconds;               // wall time of the whole call
} ingot_pack_stats;
// Compress a .ingot to the transport form with byte-plane splitting of
// F32/F16/BF16 tensors. The input is opened with INGOT_OPEN_VERIFY first.
// `level` is the zstd level (1..ZSTD_maxCLevel(), negative fast levels too);
// n_threads ≤ 0 = all cores; flags: INGOT_WRITER_FORCE replaces an existing
// output. The output is written atomically, like the writer's.
// @return INGOT_OK, INGOT_E_ARG, INGOT_E_IO, INGOT_E_FORMAT, INGOT_E_UNSUPPORTED,
//         INGOT_E_CHECKSUM, INGOT_E_NOMEM, INGOT_E_INTERRUPTED.
ingot_status ingot_pack(const char *in_path, const char *out_path, int level, int n_threads, unsigned flags,
                        ingot_pack_stats *stats, ingot_err *err);
// Restore the .ingot bit for bit. Before the rename, the whole-file xxh3 is
// compared and the result is opened with INGOT_OPEN_VERIFY; on any failure
// nothing is left at out_path. Flags as for ingot_pack.
// @return as ingot_pack.
ingot_status ingot_unpack(const char *in_path, const char *out_path, int n_threads, unsigned flags,
                          ingot_pack_stats *stats, ingot_err *err);

#ifdef __cplusplus
}
#endif
#endif
