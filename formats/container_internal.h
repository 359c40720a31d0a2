// formats/: on-disk structures of the .ingot container and the transport
// form, little-endian accessors, hard limits, and the atomic-file helper
// shared by the writer, pack and unpack. Private to formats/ (tests and the
// fuzz target add this folder to their include path on purpose).
//
// The structs below document the layout and pin it with _Static_assert; the
// code never casts file bytes to them. Fields are read and written one by one
// through the ingot_ct_get_* / ingot_ct_put_* helpers at offsetof() positions.
#ifndef INGOT_CONTAINER_INTERNAL_H
#define INGOT_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/container.h"

// ---- little-endian accessors ----------------------------------------------
static inline uint16_t ingot_ct_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t ingot_ct_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ingot_ct_get_u64(const uint8_t *p) {
    return (uint64_t)ingot_ct_get_u32(p) | ((uint64_t)ingot_ct_get_u32(p + 4) << 32);
}
static inline void ingot_ct_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void ingot_ct_put_u64(uint8_t *p, uint64_t v) {
    ingot_ct_put_u32(p, (uint32_t)v);
    ingot_ct_put_u32(p + 4, (uint32_t)(v >> 32));
}

// ---- .ingot on-disk layout (docs/FORMAT.md) --------------------------------
#define INGOT_CT_MAGIC "\x89INGOT\r\n" // 8 bytes, no NUL stored
#define INGOT_CT_HEADER_SIZE 128u
#define INGOT_CT_TABLE_ALIGN 8u

// Hard limits a reader enforces before allocating anything.
#define INGOT_CT_MAX_TENSORS (1u << 24)
#define INGOT_CT_MAX_REGIONS (1u << 16)
#define INGOT_CT_MAX_BLOBS 1024u
#define INGOT_CT_MAX_NAME 1024u                       // bytes, without the NUL
#define INGOT_CT_MAX_META (1ull << 30)                // metadata JSON bytes
#define INGOT_CT_MAX_STRTAB (1ull << 30)              // string table bytes
#define INGOT_CT_MAX_HEAD (3ull << 30)                // header … metadata

typedef struct ingot_ct_disk_header {
    uint8_t magic[8];      // INGOT_CT_MAGIC
    uint32_t version;      // INGOT_CONTAINER_VERSION of the writer
    uint32_t header_size;  // 128
    uint64_t file_size;    // exact size of the file
    uint64_t head_size;    // bytes [0, head_size) are covered by head_xxh3
    uint64_t head_xxh3;    // xxh3-64 of [0, head_size) with these 8 bytes zero
    uint64_t region_off;   // region table: n_regions × 32 bytes
    uint64_t blob_off;     // blob table: n_blobs × 32 bytes
    uint64_t index_off;    // tensor index: n_tensors × 80 bytes, plan order
    uint64_t sorted_off;   // n_tensors × u32 tensor numbers, sorted by name
    uint64_t strtab_off;   // NUL-terminated names
    uint64_t strtab_size;  // bytes
    uint64_t meta_off;     // metadata JSON text, followed by one NUL
    uint64_t meta_size;    // bytes, without the NUL
    uint32_t n_tensors;
    uint32_t n_regions;
    uint32_t n_blobs;
    uint32_t flags;        // 0 in version 1
    uint64_t reserved;     // 0 in version 1
} ingot_ct_disk_header;
_Static_assert(sizeof(ingot_ct_disk_header) == INGOT_CT_HEADER_SIZE, "header size");
_Static_assert(offsetof(ingot_ct_disk_header, version) == 8, "version");
_Static_assert(offsetof(ingot_ct_disk_header, file_size) == 16, "file_size");
_Static_assert(offsetof(ingot_ct_disk_header, head_xxh3) == 32, "head_xxh3");
_Static_assert(offsetof(ingot_ct_disk_header, head_size) == 24, "head_size");
_Static_assert(offsetof(ingot_ct_disk_header, region_off) == 40, "region_off");
_Static_assert(offsetof(ingot_ct_disk_header, blob_off) == 48, "blob_off");
_Static_assert(offsetof(ingot_ct_disk_header, index_off) == 56, "index_off");
_Static_assert(offsetof(ingot_ct_disk_header, sorted_off) == 64, "sorted_off");
_Static_assert(offsetof(ingot_ct_disk_header, strtab_off) == 72, "strtab_off");
_Static_assert(offsetof(ingot_ct_disk_header, strtab_size) == 80, "strtab_size");
_Static_assert(offsetof(ingot_ct_disk_header, meta_off) == 88, "meta_off");
_Static_assert(offsetof(ingot_ct_disk_header, meta_size) == 96, "meta_size");
_Static_assert(offsetof(ingot_ct_disk_header, n_regions) == 108, "n_regions");
_Static_assert(offsetof(ingot_ct_disk_header, n_blobs) == 112, "n_blobs");
_Static_assert(offsetof(ingot_ct_disk_header, flags) == 116, "flags");
_Static_assert(offsetof(ingot_ct_disk_header, n_tensors) == 104, "n_tensors");
_Static_assert(offsetof(ingot_ct_disk_header, reserved) == 120, "reserved");

typedef struct ingot_ct_disk_tensor {
    uint32_t name_off;  // into the string table
    uint32_t name_len;  // bytes, without the NUL that follows
    uint32_t dtype;     // ingot_dtype
    uint32_t n_dims;    // 0..4
    uint32_t region;    // index into the region table
    uint32_t flags;     // 0 in version 1
    uint64_t dims[4];   // outermost first; unused entries 0
    uint64_t off;       // absolute, multiple of 64
    uint64_t size;      // bytes
    uint64_t xxh3;      // xxh3-64 of the bytes
} ingot_ct_disk_tensor;
_Static_assert(sizeof(ingot_ct_disk_tensor) == 80, "tensor entry size");
_Static_assert(offsetof(ingot_ct_disk_tensor, name_len) == 4, "name_len");
_Static_assert(offsetof(ingot_ct_disk_tensor, dtype) == 8, "dtype");
_Static_assert(offsetof(ingot_ct_disk_tensor, n_dims) == 12, "n_dims");
_Static_assert(offsetof(ingot_ct_disk_tensor, region) == 16, "region");
_Static_assert(offsetof(ingot_ct_disk_tensor, flags) == 20, "tensor flags");
_Static_assert(offsetof(ingot_ct_disk_tensor, dims) == 24, "dims");
_Static_assert(offsetof(ingot_ct_disk_tensor, off) == 56, "off");
_Static_assert(offsetof(ingot_ct_disk_tensor, size) == 64, "size");
_Static_assert(offsetof(ingot_ct_disk_tensor, xxh3) == 72, "xxh3");

typedef struct ingot_ct_disk_region {
    uint32_t kind;          // ingot_region_kind
    int32_t layer;          // -1 when not per layer
    uint32_t first_tensor;  // its tensors are [first_tensor, first_tensor + n_tensors)
    uint32_t n_tensors;
    uint64_t off;           // absolute, multiple of 4096
    uint64_t size;          // up to the end of its last tensor
} ingot_ct_disk_region;
_Static_assert(sizeof(ingot_ct_disk_region) == 32, "region entry size");
_Static_assert(offsetof(ingot_ct_disk_region, layer) == 4, "region layer");
_Static_assert(offsetof(ingot_ct_disk_region, first_tensor) == 8, "region first_tensor");
_Static_assert(offsetof(ingot_ct_disk_region, n_tensors) == 12, "region n_tensors");
_Static_assert(offsetof(ingot_ct_disk_region, off) == 16, "region off");
_Static_assert(offsetof(ingot_ct_disk_region, size) == 24, "region size");

typedef struct ingot_ct_disk_blob {
    uint32_t name_off;
    uint32_t name_len;
    uint64_t off;   // absolute, multiple of 64
    uint64_t size;  // bytes
    uint64_t xxh3;  // xxh3-64 of the bytes
} ingot_ct_disk_blob;
_Static_assert(sizeof(ingot_ct_disk_blob) == 32, "blob entry size");
_Static_assert(offsetof(ingot_ct_disk_blob, name_len) == 4, "blob name_len");
_Static_assert(offsetof(ingot_ct_disk_blob, off) == 8, "blob off");
_Static_assert(offsetof(ingot_ct_disk_blob, size) == 16, "blob size");
_Static_assert(offsetof(ingot_ct_disk_blob, xxh3) == 24, "blob xxh3");

// xxh3-64 of the head [0, n) with the head_xxh3 field read as zero. n ≥ 40.
uint64_t ingot_ct_head_hash(const uint8_t *head, size_t n);

// ---- transport form (.ingot.zst) ------------------------------------------
#define INGOT_PK_MAGIC "\x89INGOTZ\n" // 8 bytes
#define INGOT_PK_VERSION 1u
#define INGOT_PK_HEADER_SIZE 64u
#define INGOT_PK_CHUNK_MAX (8u << 20) // a chunk restores to at most this many bytes

typedef enum ingot_pk_transform {
    INGOT_PK_RAW = 0,     // bytes as they are
    INGOT_PK_PLANES2 = 1, // 2-byte elements split into 2 byte planes, high byte first
    INGOT_PK_PLANES4 = 2, // 4-byte elements split into 4 byte planes, high byte first
    INGOT_PK_TRANSFORM_COUNT
} ingot_pk_transform;

typedef struct ingot_pk_disk_header {
    uint8_t magic[8];      // INGOT_PK_MAGIC
    uint32_t version;      // INGOT_PK_VERSION
    uint32_t header_size;  // 64
    uint64_t orig_size;    // size of the restored .ingot
    uint64_t orig_xxh3;    // xxh3-64 of the whole restored .ingot
    uint64_t n_chunks;     // entries in the chunk table after this header
    uint64_t pack_size;    // exact size of the .ingot.zst file
    uint64_t table_xxh3;   // xxh3-64 of the chunk table
    uint64_t head_xxh3;    // xxh3-64 of bytes [0, 56) of this header
} ingot_pk_disk_header;
_Static_assert(sizeof(ingot_pk_disk_header) == INGOT_PK_HEADER_SIZE, "pack header size");
_Static_assert(offsetof(ingot_pk_disk_header, orig_size) == 16, "pack orig_size");
_Static_assert(offsetof(ingot_pk_disk_header, orig_xxh3) == 24, "pack orig_xxh3");
_Static_assert(offsetof(ingot_pk_disk_header, n_chunks) == 32, "pack n_chunks");
_Static_assert(offsetof(ingot_pk_disk_header, pack_size) == 40, "pack pack_size");
_Static_assert(offsetof(ingot_pk_disk_header, table_xxh3) == 48, "pack table_xxh3");
_Static_assert(offsetof(ingot_pk_disk_header, head_xxh3) == 56, "pack head_xxh3");

typedef struct ingot_pk_disk_chunk {
    uint64_t orig_off;   // where the restored bytes go; chunks tile [0, orig_size) in order
    uint64_t comp_off;   // absolute offset of the zstd frame in the .ingot.zst
    uint32_t orig_size;  // restored bytes, ≤ INGOT_PK_CHUNK_MAX, multiple of the element size
    uint32_t comp_size;  // bytes of the zstd frame
    uint32_t transform;  // ingot_pk_transform
    uint32_t reserved;   // 0
} ingot_pk_disk_chunk;
_Static_assert(sizeof(ingot_pk_disk_chunk) == 32, "pack chunk entry size");
_Static_assert(offsetof(ingot_pk_disk_chunk, comp_off) == 8, "pack comp_off");
_Static_assert(offsetof(ingot_pk_disk_chunk, orig_size) == 16, "pack orig_size");
_Static_assert(offsetof(ingot_pk_disk_chunk, comp_size) == 20, "pack comp_size");
_Static_assert(offsetof(ingot_pk_disk_chunk, transform) == 24, "pack transform");

// ---- atomic output file ---------------------------------------------------
// A temporary file beside `target` (same folder, unique name), registered for
// removal on SIGINT/SIGTERM, sized up front (posix_fallocate where supported
// so ENOSPC shows early), then fsync + rename + fsync of the folder.
typedef struct ingot_ct_atomic {
    char *target;  // owned copy
    char *tmp;     // owned; NULL once renamed or removed
    int fd;        // -1 when closed
    int slot;      // cleanup registry slot, -1 when none
} ingot_ct_atomic;

// Refuses an existing target unless `force`. On failure nothing is left behind.
ingot_status ingot_ct_atomic_create(ingot_ct_atomic *a, const char *target, bool force, uint64_t size,
                                    ingot_err *err);
// fsync, rename over the target (refusing one that appeared meanwhile unless
// `force`), fsync the folder. On failure the temporary file is removed.
ingot_status ingot_ct_atomic_commit(ingot_ct_atomic *a, bool force, ingot_err *err);
// Close and remove the temporary file (if any) and free the strings. Safe to
// call after commit and on a zeroed struct with fd = -1.
void ingot_ct_atomic_abort(ingot_ct_atomic *a);
// pwrite through the ingot_writer_fail_after hook (simulated ENOSPC).
ingot_status ingot_ct_pwrite(int fd, const void *buf, size_t n, uint64_t off, const char *path, ingot_err *err);

// Fill err with "path: msg" and record the location (tensor may be NULL, off -1).
ingot_status ingot_ct_fail(ingot_err *err, ingot_status code, const char *path, const char *tensor, int64_t off,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
