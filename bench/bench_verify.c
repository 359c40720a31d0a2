// Checksum throughput of `ingot verify`: writes a .ingot of S MiB (default
// 1024) of pseudo-random U8 tensors, reads it once so it is in the page
// cache, then over several runs measures, and prints the medians of:
//   - ingot_verify_structure (all tensor checksums, all threads)
//   - xxh3 over an in-memory buffer of the same size (one thread)
//   - memcpy of that buffer (one thread)
// so the checksum rate reads as a fraction of the machine's memory bandwidth
// measured in the same run.
//   bench_verify [size_mib] [runs]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ingot/container.h"
#include "ingot/verify.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv) {
    const size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    const int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (mib < 16 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_verify [size_mib >= 16] [runs 1..100]\n");
        return 2;
    }
    const size_t tensor = 16u << 20, n_tensors = mib / 16, bytes = n_tensors * tensor;
    char path[256];
    snprintf(path, sizeof path, "%s/ingot-bench-verify-%ld.ingot", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    uint8_t *buf = malloc(tensor), *big = malloc(bytes), *dst = malloc(bytes);
    if (!buf || !big || !dst) return 1;
    uint64_t s = 42;
    for (size_t i = 0; i < bytes; i++) big[i] = (uint8_t)((s = s * 6364136223846793005ull + 1) >> 56);
    ingot_err err = {0};
    ingot_writer *w = NULL;
    ingot_status st = ingot_writer_create(path, INGOT_WRITER_FORCE, &w, &err);
    const char *meta = "{\"format\":\"ingot\"}";
    if (st == INGOT_OK) st = ingot_writer_set_metadata(w, meta, strlen(meta), &err);
    for (size_t i = 0; st == INGOT_OK && i < n_tensors; i++) {
        char name[32];
        snprintf(name, sizeof name, "t.%zu", i);
        const uint64_t dims[1] = {tensor};
        size_t idx;
        st = ingot_writer_add_tensor(w, name, INGOT_DTYPE_U8, 1, dims, &idx, &err);
    }
    if (st == INGOT_OK) st = ingot_writer_plan(w, &err);
    for (size_t i = 0; st == INGOT_OK && i < n_tensors; i++)
        st = ingot_writer_write(w, i, 0, big + i * tensor, tensor, &err);
    if (st == INGOT_OK) st = ingot_writer_finish(w, NULL, &err);
    ingot_writer_free(w);
    if (st != INGOT_OK) {
        fprintf(stderr, "bench_verify: %s\n", err.msg);
        return 1;
    }
    double *t_verify = calloc((size_t)runs, sizeof(double)), *t_hash = calloc((size_t)runs, sizeof(double)),
           *t_copy = calloc((size_t)runs, sizeof(double));
    uint64_t sink = 0;
    for (int r = 0; r < runs; r++) {
        FILE *f = fopen(path, "rb"); // into the page cache right before the timed run
        while (f && fread(buf, 1, tensor, f) == tensor) {
        }
        if (f) fclose(f);
        ingot_verify_opts o;
        ingot_verify_opts_init(&o);
        ingot_verify_report rep;
        ingot_verify_report_init(&rep);
        if (ingot_verify_structure(path, &o, &rep, &err) != INGOT_OK || rep.n_tensors != n_tensors) {
            fprintf(stderr, "bench_verify: verify failed: %s\n", err.msg);
            return 1;
        }
        t_verify[r] = rep.hash_seconds;
        ingot_verify_report_deinit(&rep);
        double t0 = now_s();
        sink ^= XXH3_64bits(big, bytes);
        double t1 = now_s();
        memcpy(dst, big, bytes);
        double t2 = now_s();
        sink ^= dst[bytes / 2];
        t_hash[r] = t1 - t0;
        t_copy[r] = t2 - t1;
    }
    const double gb = (double)bytes / 1e9, v = median(t_verify, runs), h = median(t_hash, runs),
                 c = median(t_copy, runs);
    printf("bench_verify: %zu MiB in %zu tensors, %d runs (medians), %d cores\n", mib, n_tensors, runs,
           ingot_cpu_count());
    printf("  verify checksums (page cache, all threads): %7.2f GB/s  %.3f s\n", gb / v, v);
    printf("  xxh3 of memory (1 thread):                  %7.2f GB/s\n", gb / h);
    printf("  memcpy (1 thread):                          %7.2f GB/s\n", gb / c);
    printf("  verify / memcpy: %.2f   xxh3 / memcpy: %.2f   (sink %llx)\n", c / v, c / h, (unsigned long long)sink);
    unlink(path);
    free(buf);
    free(big);
    free(dst);
    free(t_verify);
    free(t_hash);
    free(t_copy);
    return 0;
}
