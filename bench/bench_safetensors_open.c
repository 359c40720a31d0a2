// Parse + validate time of a large safetensors header: builds in memory a
// file with N tensors (default 100,000, names shaped like a real MoE
// checkpoint, bf16 data area left unwritten beyond the header), then times
// ingot_st_file_parse over several runs and prints the median.
//   bench_safetensors_open [n_tensors] [runs]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingot/safetensors.h"

// Wall time and this thread's CPU time: on a shared, loaded machine the CPU
// time is the figure that does not depend on the neighbours.
static double now_ms(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Header JSON for n tensors of shape [64, 128] bf16, contiguous.
static char *build_header(size_t n, size_t *len, unsigned long long *data_bytes) {
    size_t cap = n * 160 + 64, k = 0;
    char *js = malloc(cap);
    if (!js) return NULL;
    k += (size_t)snprintf(js + k, cap - k, "{\"__metadata__\":{\"format\":\"pt\"}");
    unsigned long long off = 0;
    const unsigned long long size = 64 * 128 * 2;
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(js + k, cap - k,
                              ",\"model.layers.%zu.mlp.experts.%zu.gate_proj.weight\":{\"dtype\":\"BF16\","
                              "\"shape\":[64,128],\"data_offsets\":[%llu,%llu]}",
                              i / 256, i % 256, off, off + size);
        off += size;
    }
    k += (size_t)snprintf(js + k, cap - k, "}");
    while (k % 8) js[k++] = ' ';
    *len = k;
    *data_bytes = off;
    return js;
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    const int runs = argc > 2 ? atoi(argv[2]) : 9;
    if (runs < 1 || runs > 1000) return 2;
    size_t hlen;
    unsigned long long data_bytes;
    char *js = build_header(n, &hlen, &data_bytes);
    uint8_t *buf = js ? malloc(8 + hlen) : NULL;
    if (!buf) return 1;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((unsigned long long)hlen >> (8 * i));
    memcpy(buf + 8, js, hlen);
    free(js);
    const uint64_t file_size = 8 + hlen + data_bytes; // only the header is in memory
    double t[1000], c[1000];
    for (int r = 0; r < runs; r++) {
        ingot_err err = {0};
        ingot_st_file *f;
        const double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
        const ingot_status st = ingot_st_file_parse(buf, 8 + hlen, file_size, "bench.safetensors", &f, &err);
        t[r] = now_ms(CLOCK_MONOTONIC) - t0;
        c[r] = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (st != INGOT_OK) {
            fprintf(stderr, "parse failed: %s\n", err.msg);
            return 1;
        }
        if (ingot_st_file_n_tensors(f) != n) return 1;
        ingot_st_file_free(f);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    qsort(c, (size_t)runs, sizeof *c, cmp_double);
    printf("safetensors header: %zu tensors, %.1f MB JSON, %d runs\n", n, hlen / 1e6, runs);
    printf("parse+validate wall: median %.2f ms (min %.2f, max %.2f)\n", t[runs / 2], t[0], t[runs - 1]);
    printf("parse+validate cpu:  median %.2f ms (min %.2f, max %.2f), %.0f MB/s, %.0f ns/tensor\n", c[runs / 2],
           c[0], c[runs - 1], hlen / 1e3 / c[runs / 2], c[runs / 2] * 1e6 / (double)(n ? n : 1));
    free(buf);
    return 0;
}
