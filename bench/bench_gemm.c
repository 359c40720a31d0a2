// Throughput of the multi-row dot kernels (ingot_gemm_fn) as prompt
// processing uses them: a [rows, cols] weight against a tile of token rows,
// each weight row dotted with INGOT_GEMM_MAX_ROWS tokens per call, on one
// thread (process CPU clock, so other load on the machine does not deflate
// the figure). Printed beside the vec_dot loop over the same tile, and for
// types with prepared-activation kernels (ingot_quant_prep_get) beside the
// multi-row kernel on prepared rows, which the runner uses for prompts.
//
//   bench_gemm [--types q4_k,q6_k,...] [--rows R] [--cols C] [--tokens T]
//              [--level scalar|avx2|avx512] [--min-time SECONDS]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingot/common.h"
#include "ingot/quantize.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct gemm_ctx {
    const ingot_quant_traits *qt;
    ingot_gemm_fn gemm;
    const uint8_t *w, *act;
    size_t w_row, act_row;
    int64_t rows, cols;
    int tokens;
    float *out; // [tokens, rows]
} gemm_ctx;

static void run_gemm(const gemm_ctx *c) {
    for (int64_t r = 0; r < c->rows; r++)
        for (int t = 0; t < c->tokens; t += INGOT_GEMM_MAX_ROWS) {
            const int nr = c->tokens - t < INGOT_GEMM_MAX_ROWS ? c->tokens - t : INGOT_GEMM_MAX_ROWS;
            c->gemm(c->cols, c->out + (size_t)t * (size_t)c->rows + (size_t)r, (size_t)c->rows,
                    c->w + (size_t)r * c->w_row, c->act + (size_t)t * c->act_row, c->act_row, nr);
        }
}

static void run_vec_dot(const gemm_ctx *c) {
    for (int64_t r = 0; r < c->rows; r++)
        for (int t = 0; t < c->tokens; t++)
            c->qt->vec_dot(c->cols, c->out + (size_t)t * (size_t)c->rows + (size_t)r, c->w + (size_t)r * c->w_row,
                           c->act + (size_t)t * c->act_row);
}

// Seconds per call of fn, run until min_time has passed (at least twice).
static double time_it(void (*fn)(const gemm_ctx *), const gemm_ctx *c, double min_time) {
    fn(c);
    int runs = 0;
    const double t0 = cpu_now();
    double t;
    do {
        fn(c);
        runs++;
        t = cpu_now() - t0;
    } while (t < min_time || runs < 2);
    return t / runs;
}

static void fill_gauss(float *x, size_t n, unsigned *seed) {
    for (size_t i = 0; i < n; i++) {
        double u1 = (rand_r(seed) + 1.0) / ((double)RAND_MAX + 2.0), u2 = rand_r(seed) / (double)RAND_MAX;
        x[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

static int bench_type(ingot_dtype t, int64_t rows, int64_t cols, int tokens, double min_time) {
    const ingot_quant_traits *qt = ingot_quant_get(t), *qa = qt ? ingot_quant_get(qt->vec_dot_type) : NULL;
    ingot_gemm_fn gemm = ingot_quant_gemm_get(t);
    if (!qt || !qa || !gemm || cols % qt->blck || cols % qa->blck) {
        printf("%-8s no gemm kernel or cols %lld not a multiple of the block\n", qt ? qt->name : "?", (long long)cols);
        return 0;
    }
    gemm_ctx c = {.qt = qt, .gemm = gemm, .rows = rows, .cols = cols, .tokens = tokens};
    c.w_row = (size_t)(cols / qt->blck) * qt->type_size;
    c.act_row = (size_t)(cols / qa->blck) * qa->type_size;
    float *src = malloc((size_t)(rows > tokens ? rows : tokens) * (size_t)cols * sizeof *src);
    uint8_t *w = malloc((size_t)rows * c.w_row), *act = malloc((size_t)tokens * c.act_row);
    c.out = malloc((size_t)rows * (size_t)tokens * sizeof *c.out);
    int rc = 1;
    if (src && w && act && c.out) {
        unsigned seed = 1234;
        fill_gauss(src, (size_t)rows * (size_t)cols, &seed);
        for (int64_t r = 0; r < rows; r++) qt->quantize_row(src + r * cols, w + (size_t)r * c.w_row, cols, NULL);
        fill_gauss(src, (size_t)tokens * (size_t)cols, &seed);
        for (int j = 0; j < tokens; j++)
            qa->quantize_row(src + (size_t)j * cols, act + (size_t)j * c.act_row, cols, NULL);
        c.w = w, c.act = act;
        const double macs = (double)rows * (double)cols * tokens;
        const double tg = time_it(run_gemm, &c, min_time), tv = time_it(run_vec_dot, &c, min_time);
        printf("%-8s rows %lld cols %lld tokens %d: gemm %7.2f GMAC/s   vec_dot loop %7.2f GMAC/s   (x%.2f)\n",
               qt->name, (long long)rows, (long long)cols, tokens, macs / tg * 1e-9, macs / tv * 1e-9, tv / tg);
        rc = 0;
        const ingot_prep_traits *pt = ingot_quant_prep_get(t);
        uint8_t *rows_p = pt ? malloc((size_t)tokens * pt->rows_bytes(cols)) : NULL;
        if (rows_p) { // the runner's prompt path for this type: prepared rows, the type's gemm on them
            for (int j = 0; j < tokens; j++)
                pt->rows_prepare(act + (size_t)j * c.act_row, rows_p + (size_t)j * pt->rows_bytes(cols), cols);
            gemm_ctx cp = c;
            cp.gemm = pt->gemm;
            cp.act = rows_p;
            cp.act_row = pt->rows_bytes(cols);
            const double tp = time_it(run_gemm, &cp, min_time);
            printf("%-8s prepared rows:  gemm %7.2f GMAC/s   (x%.2f of the plain gemm)\n", qt->name, macs / tp * 1e-9,
                   tg / tp);
            free(rows_p);
        }
    }
    free(src);
    free(w);
    free(act);
    free(c.out);
    return rc;
}

int main(int argc, char **argv) {
    const char *types = "q4_k,q6_k,q8_0,q5_k,q4_0";
    int64_t rows = 512, cols = 768;
    int tokens = 32;
    double min_time = 0.3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "usage: bench_gemm [--types LIST] [--rows R] [--cols C] [--tokens T] "
                            "[--level scalar|avx2|avx512] [--min-time S]\n");
            return 2;
        }
        if (!strcmp(a, "--types")) types = v;
        else if (!strcmp(a, "--rows")) rows = atoll(v);
        else if (!strcmp(a, "--cols")) cols = atoll(v);
        else if (!strcmp(a, "--tokens")) tokens = atoi(v);
        else if (!strcmp(a, "--min-time")) min_time = atof(v);
        else if (!strcmp(a, "--level"))
            ingot_simd_set(!strcmp(v, "scalar") ? INGOT_SIMD_SCALAR : !strcmp(v, "avx2") ? INGOT_SIMD_AVX2
                                                                                          : INGOT_SIMD_AVX512);
        else {
            fprintf(stderr, "bench_gemm: unknown option '%s'\n", a);
            return 2;
        }
        i++;
    }
    if (rows < 1 || cols < 1 || tokens < 1 || tokens > 4096) {
        fprintf(stderr, "bench_gemm: bad sizes\n");
        return 2;
    }
    static const char *lvl[] = {"scalar", "avx2", "avx512"};
    printf("level %s, one thread (CPU time)\n", lvl[ingot_simd_get()]);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", types);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const int t = ingot_dtype_from_name(tok);
        if (t < 0) {
            fprintf(stderr, "bench_gemm: unknown type '%s'\n", tok);
            return 2;
        }
        rc |= bench_type((ingot_dtype)t, rows, cols, tokens, min_time);
    }
    return rc;
}
