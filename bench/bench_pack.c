// Transport-form throughput and ratio: generates a BF16 model of Gaussian-ish
// weights (default 256 MiB; per-tensor scales vary like real layers), writes
// it as a .ingot, then times ingot_pack and ingot_unpack and, in the same
// run, the zstd command-line tool at level 3 on the same file.
//   bench_pack [size_mib] [threads] [level]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/container.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// CPU seconds (user + system) of this process's threads or of its waited-for
// children: on a shared machine these do not depend on the neighbours.
static double cpu_s(int who) {
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

// Approximately normal: the sum of four uniforms, scaled.
static void fill_bf16(uint8_t *dst, size_t n, float scale, uint64_t *x) {
    for (size_t i = 0; i < n; i++) {
        float g = 0;
        for (int k = 0; k < 4; k++) {
            *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
            g += (float)(*x >> 40) * (1.0f / 16777216.0f) - 0.5f;
        }
        const uint16_t h = ingot_f32_to_bf16(g * scale * 1.7320508f);
        dst[2 * i] = (uint8_t)h;
        dst[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

static ingot_status write_model(const char *path, uint64_t size_mib, ingot_err *err) {
    const uint64_t rows = 2048, cols = 4096; // 16 MiB per tensor
    const size_t n_tensors = (size_t)((size_mib + 15) / 16);
    ingot_writer *w = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_writer_create(path, INGOT_WRITER_FORCE, &w, err));
    ingot_status s = ingot_writer_set_metadata(w, "{\"format\":\"ingot\",\"arch\":\"llama\"}", 33, err);
    char name[64];
    const uint64_t dims[2] = {rows, cols};
    for (size_t i = 0; s == INGOT_OK && i < n_tensors; i++) {
        snprintf(name, sizeof name, "blk.%zu.ffn_up.weight", i);
        s = ingot_writer_add_tensor(w, name, INGOT_DTYPE_BF16, 2, dims, NULL, err);
    }
    if (s == INGOT_OK) s = ingot_writer_plan(w, err);
    uint8_t *buf = malloc(rows * cols * 2);
    if (!buf && s == INGOT_OK) s = ingot_err_set(err, INGOT_E_NOMEM, "out of memory");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; s == INGOT_OK && i < n_tensors; i++) {
        const float scale = 0.02f * (1.0f + 0.5f * sinf((float)i));
        fill_bf16(buf, rows * cols, scale, &x);
        s = ingot_writer_write(w, i, 0, buf, rows * cols * 2, err);
    }
    free(buf);
    if (s == INGOT_OK) s = ingot_writer_finish(w, NULL, err);
    ingot_writer_free(w);
    return s;
}

int main(int argc, char **argv) {
    const uint64_t size_mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
    const int threads = argc > 2 ? atoi(argv[2]) : 0;
    const int level = argc > 3 ? atoi(argv[3]) : 3;
    if (size_mib == 0 || size_mib > (1u << 20) || threads < 0 || level < 1 || level > 22) {
        fprintf(stderr, "usage: bench_pack [size_mib] [threads (0: all cores)] [level]\n");
        return 2;
    }
    char dir[] = "/tmp/ingot-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char src[64], packed[64], restored[64], zst[64], cmd[512];
    snprintf(src, sizeof src, "%s/m.ingot", dir);
    snprintf(packed, sizeof packed, "%s/m.ingot.zst", dir);
    snprintf(restored, sizeof restored, "%s/r.ingot", dir);
    snprintf(zst, sizeof zst, "%s/plain.zst", dir);
    ingot_err err = {0};
    if (write_model(src, size_mib, &err) != INGOT_OK) {
        fprintf(stderr, "bench_pack: %s\n", err.msg);
        return 1;
    }
    ingot_pack_stats ps, us;
    const double c0 = cpu_s(RUSAGE_SELF);
    if (ingot_pack(src, packed, level, threads, 0, &ps, &err) != INGOT_OK) {
        fprintf(stderr, "bench_pack: %s\n", err.msg);
        return 1;
    }
    const double c1 = cpu_s(RUSAGE_SELF);
    if (ingot_unpack(packed, restored, threads, 0, &us, &err) != INGOT_OK) {
        fprintf(stderr, "bench_pack: %s\n", err.msg);
        return 1;
    }
    const double c2 = cpu_s(RUSAGE_SELF);
    const int nt = threads > 0 ? threads : ingot_cpu_count();
    snprintf(cmd, sizeof cmd, "zstd -q -f -%d -T%d '%s' -o '%s'", level, nt, src, zst);
    const double z0 = now_s(), zc0 = cpu_s(RUSAGE_CHILDREN);
    const int zrc = system(cmd);
    const double zs = now_s() - z0, zcpu = cpu_s(RUSAGE_CHILDREN) - zc0;
    const uint64_t in = ps.in_bytes, zout = zrc == 0 ? file_size(zst) : 0;
    printf("bench_pack: BF16 Gaussian-ish weights, %.1f MiB .ingot, zstd level %d, %d threads\n",
           (double)in / 1048576.0, level, nt);
    printf("  %-26s %10s %7s %7s %9s %13s\n", "", "bytes", "ratio", "saved", "MB/s", "MB per cpu-s");
    printf("  %-26s %10llu %7.3f %6.1f%% %9.0f %13.0f\n", "ingot pack (byte planes)",
           (unsigned long long)ps.out_bytes, (double)in / (double)ps.out_bytes,
           100.0 * (1.0 - (double)ps.out_bytes / (double)in), (double)in / ps.seconds / 1e6,
           (double)in / (c1 - c0) / 1e6);
    printf("  %-26s %10s %7s %7s %9.0f %13.0f\n", "ingot unpack (+ verify)", "", "", "",
           (double)us.out_bytes / us.seconds / 1e6, (double)us.out_bytes / (c2 - c1) / 1e6);
    if (zout)
        printf("  %-26s %10llu %7.3f %6.1f%% %9.0f %13.0f\n", "zstd CLI, same level", (unsigned long long)zout,
               (double)in / (double)zout, 100.0 * (1.0 - (double)zout / (double)in), (double)in / zs / 1e6,
               (double)in / zcpu / 1e6);
    else
        printf("  zstd CLI: not available (exit %d)\n", zrc);
    printf("  (pack and unpack include fsync and the checksum passes; MB are 10^6 bytes of .ingot)\n");
    unlink(src);
    unlink(packed);
    unlink(restored);
    unlink(zst);
    rmdir(dir);
    return 0;
}
