// Fuzz target: ingot_unpack (the .ingot.zst transport-form reader) on
// arbitrary bytes. The input is the whole .ingot.zst; it is handed to
// ingot_unpack through a memfd (/proc/self/fd/N) and restored into a private
// temporary folder. Each input runs up to three times so mutations get past
// the checksums: as it is; with pack_size, the chunk table checksum and the
// header checksum patched to match; and with the chunk table's offsets also
// rewritten to tile the file (orig_size recomputed), which reaches the zstd
// frames and the plane join. A successful unpack must have written exactly
// orig_size bytes at the output; a failed one must leave nothing there. A
// variant identical to the one before it is skipped.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE // memfd_create
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "container_internal.h"
#include "ingot/container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Restored files above this are not attempted (keeps each run fast).
#define FZ_MAX_RESTORED (32ull << 20)

static char g_dir[64];
static char g_out[96];

static void cleanup(void) {
    unlink(g_out);
    rmdir(g_dir);
}

static bool setup(void) {
    if (g_dir[0]) return true;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/ingot-fuzz-zst-XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        g_dir[0] = 0;
        return false;
    }
    snprintf(g_out, sizeof g_out, "%s/out.ingot", g_dir);
    atexit(cleanup);
    return true;
}

static void run_unpack(const uint8_t *buf, size_t size) {
    const int fd = memfd_create("ingot-fuzz-zst", 0);
    if (fd < 0) return;
    size_t done = 0;
    while (done < size) {
        const ssize_t w = write(fd, buf + done, size - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    if (done == size) {
        char in[64];
        snprintf(in, sizeof in, "/proc/self/fd/%d", fd);
        ingot_pack_stats stats;
        ingot_err err = {0};
        const ingot_status s = ingot_unpack(in, g_out, 1, INGOT_WRITER_FORCE, &stats, &err);
        struct stat sb;
        const bool exists = stat(g_out, &sb) == 0;
        if (s == INGOT_OK) {
            if (!exists || (uint64_t)sb.st_size != stats.out_bytes || stats.in_bytes != size) abort();
        } else {
            if (exists || !memchr(err.msg, 0, sizeof err.msg) || !err.msg[0]) abort();
        }
        unlink(g_out);
    }
    close(fd);
}

// Patches pack_size and both checksums; false when the input cannot be made
// to pass them (too short, table past the end, restored size too large).
static bool patch_checksums(uint8_t *buf, size_t size) {
    if (size < INGOT_PK_HEADER_SIZE || memcmp(buf, INGOT_PK_MAGIC, 8)) return false;
    const uint64_t n_chunks = ingot_ct_get_u64(buf + offsetof(ingot_pk_disk_header, n_chunks));
    if (n_chunks > (size - INGOT_PK_HEADER_SIZE) / 32) return false;
    if (ingot_ct_get_u64(buf + offsetof(ingot_pk_disk_header, orig_size)) > FZ_MAX_RESTORED) return false;
    ingot_ct_put_u64(buf + offsetof(ingot_pk_disk_header, pack_size), size);
    ingot_ct_put_u64(buf + offsetof(ingot_pk_disk_header, table_xxh3),
                     XXH3_64bits(buf + INGOT_PK_HEADER_SIZE, (size_t)(32 * n_chunks)));
    ingot_ct_put_u64(buf + offsetof(ingot_pk_disk_header, head_xxh3), XXH3_64bits(buf, 56));
    return true;
}

// Rewrites orig_off and comp_off of every entry to follow on from the one
// before, and orig_size in the header to their sum.
static void patch_offsets(uint8_t *buf) {
    const uint64_t n_chunks = ingot_ct_get_u64(buf + offsetof(ingot_pk_disk_header, n_chunks));
    uint64_t orig = 0, comp = INGOT_PK_HEADER_SIZE + 32 * n_chunks;
    for (uint64_t i = 0; i < n_chunks; i++) {
        uint8_t *e = buf + INGOT_PK_HEADER_SIZE + 32 * i;
        ingot_ct_put_u64(e + offsetof(ingot_pk_disk_chunk, orig_off), orig);
        ingot_ct_put_u64(e + offsetof(ingot_pk_disk_chunk, comp_off), comp);
        orig += ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, orig_size));
        comp += ingot_ct_get_u32(e + offsetof(ingot_pk_disk_chunk, comp_size));
    }
    ingot_ct_put_u64(buf + offsetof(ingot_pk_disk_header, orig_size), orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!setup()) return 0;
    uint8_t *buf = calloc(1, size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    uint8_t *prev = malloc(size ? size : 1);
    run_unpack(buf, size);
    // A variant identical to the run before it is not run again.
    if (prev && size) memcpy(prev, buf, size);
    if (prev && patch_checksums(buf, size)) {
        if (memcmp(prev, buf, size)) run_unpack(buf, size);
        memcpy(prev, buf, size);
        patch_offsets(buf);
        if (patch_checksums(buf, size) && memcmp(prev, buf, size)) run_unpack(buf, size);
    }
    free(prev);
    free(buf);
    return 0;
}
