// Open time and lookup time of a .ingot with many tensors: writes a file with
// N tensors (default 100,000; names shaped like a large MoE model, 64 bytes
// of data each) into a temporary folder, then over several runs times
// ingot_container_open (no checksum pass) and a lookup of every name in
// shuffled order, and prints the medians.
//   bench_container_open [n_tensors] [runs]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/container.h"

static double now_ms(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void tensor_name(char *buf, size_t cap, size_t i) {
    static const char *parts[] = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"};
    snprintf(buf, cap, "blk.%zu.%s.%zu.weight", i / 768, parts[i % 3], (i / 3) % 256);
}

static ingot_status write_file(const char *path, size_t n, ingot_err *err) {
    ingot_writer *w = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_writer_create(path, INGOT_WRITER_FORCE, &w, err));
    ingot_status s = INGOT_OK;
    const uint64_t dims[2] = {4, 8};
    char name[96];
    for (size_t i = 0; s == INGOT_OK && i < n; i++) {
        if (i % 768 == 0) s = ingot_writer_begin_region(w, INGOT_REGION_EXPERTS, (int32_t)(i / 768), err);
        tensor_name(name, sizeof name, i);
        if (s == INGOT_OK) s = ingot_writer_add_tensor(w, name, INGOT_DTYPE_BF16, 2, dims, NULL, err);
    }
    if (s == INGOT_OK) s = ingot_writer_plan(w, err);
    uint8_t data[64];
    for (size_t i = 0; s == INGOT_OK && i < n; i++) {
        memset(data, (int)(i & 0xff), sizeof data);
        s = ingot_writer_write(w, i, 0, data, sizeof data, err);
    }
    if (s == INGOT_OK) s = ingot_writer_finish(w, NULL, err);
    ingot_writer_free(w);
    return s;
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    const int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (n == 0 || runs <= 0 || runs > 1000) {
        fprintf(stderr, "usage: bench_container_open [n_tensors] [runs]\n");
        return 2;
    }
    char dir[] = "/tmp/ingot-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/many.ingot", dir);
    ingot_err err = {0};
    double t0 = now_ms(CLOCK_MONOTONIC);
    if (write_file(path, n, &err) != INGOT_OK) {
        fprintf(stderr, "bench_container_open: %s\n", err.msg);
        return 1;
    }
    const double write_ms = now_ms(CLOCK_MONOTONIC) - t0;
    // Names to look up, in an order unrelated to the file's.
    char **names = malloc(n * sizeof *names);
    for (size_t i = 0; names && i < n; i++) {
        char buf[96];
        tensor_name(buf, sizeof buf, (i * 7919) % n);
        names[i] = strdup(buf);
    }
    double *open_ms = calloc((size_t)runs, sizeof *open_ms), *find_ms = calloc((size_t)runs, sizeof *find_ms);
    double *open_cpu = calloc((size_t)runs, sizeof *open_cpu), *find_cpu = calloc((size_t)runs, sizeof *find_cpu);
    uint64_t file_size = 0;
    size_t missing = 0;
    for (int r = 0; r < runs && names && open_ms && find_ms && open_cpu && find_cpu; r++) {
        ingot_container *c = NULL;
        const double a = now_ms(CLOCK_MONOTONIC), ac = now_ms(CLOCK_THREAD_CPUTIME_ID);
        if (ingot_container_open(path, 0, &c, &err) != INGOT_OK) {
            fprintf(stderr, "bench_container_open: %s\n", err.msg);
            return 1;
        }
        const double b = now_ms(CLOCK_MONOTONIC), bc = now_ms(CLOCK_THREAD_CPUTIME_ID);
        open_cpu[r] = bc - ac;
        for (size_t i = 0; i < n; i++) missing += ingot_container_find_tensor(c, names[i]) < 0;
        find_ms[r] = now_ms(CLOCK_MONOTONIC) - b;
        find_cpu[r] = now_ms(CLOCK_THREAD_CPUTIME_ID) - bc;
        open_ms[r] = b - a;
        file_size = ingot_container_file_size(c);
        ingot_container_close(c);
    }
    if (missing) {
        fprintf(stderr, "bench_container_open: %zu lookups failed\n", missing);
        return 1;
    }
    qsort(open_ms, (size_t)runs, sizeof *open_ms, cmp_double);
    qsort(open_cpu, (size_t)runs, sizeof *open_cpu, cmp_double);
    qsort(find_ms, (size_t)runs, sizeof *find_ms, cmp_double);
    qsort(find_cpu, (size_t)runs, sizeof *find_cpu, cmp_double);
    printf("bench_container_open: %zu tensors, file %.1f MiB, %d runs (medians)\n", n,
           (double)file_size / (1024.0 * 1024.0), runs);
    printf("  write (plan, data, finish incl. fsync): %8.1f ms\n", write_ms);
    printf("  open + validate:                        %8.2f ms wall, %.2f ms cpu\n", open_ms[runs / 2],
           open_cpu[runs / 2]);
    printf("  find every name:                        %8.2f ms wall, %.2f ms cpu (%.0f ns per lookup)\n",
           find_ms[runs / 2], find_cpu[runs / 2], find_ms[runs / 2] * 1e6 / (double)n);
    printf("  open + find every name:                 %8.2f ms wall, %.2f ms cpu\n", open_ms[runs / 2] + find_ms[runs / 2],
           open_cpu[runs / 2] + find_cpu[runs / 2]);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(open_ms);
    free(find_ms);
    free(open_cpu);
    free(find_cpu);
    unlink(path);
    rmdir(dir);
    return 0;
}
