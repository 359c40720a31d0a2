// Throughput of every row type's quantize, dequantize and vec_dot, on one
// thread and on all threads, printed beside memcpy and read bandwidth
// measured in the same run.
//
//   bench_quantize [--types q4_k,q8_0,...] [--threads N] [--level scalar|avx2|avx512]
//                  [--rows R] [--min-time SECONDS]
//
// quantize/dequantize use a [rows, 4096] Gaussian matrix (default 2048
// rows, 32 MiB of f32); vec_dot runs a matrix-vector product over a matrix
// 8× larger (replicated rows), far larger than the caches, so its figure
// reads against memory bandwidth. Types with a prepared-activation decode
// kernel (ingot_quant_prep_get) get a second vec_dot line, " prepared".
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingot/common.h"
#include "ingot/quantize.h"

enum { N_COLS = 4096, DOT_REPEAT = 8, DOT_CHUNK = 256 };

// One-thread figures use the process CPU clock (only the caller runs), so
// other load on a shared machine does not deflate them; all-thread figures
// use the wall clock.
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double g_min_time = 0.3;

// Runs fn(ctx) until g_min_time has passed (at least twice); seconds per run.
static double time_it(void (*fn)(void *), void *ctx) {
    fn(ctx); // warm up: page faults, caches
    int runs = 0;
    const double t0 = now_s();
    double t;
    do {
        fn(ctx);
        runs++;
        t = now_s() - t0;
    } while (t < g_min_time || runs < 2);
    return t / runs;
}

static void use_clock(int all_threads) { g_clock = all_threads ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID; }

// ---- bandwidth baselines ------------------------------------------------------------------
typedef struct bw_ctx {
    uint8_t *a, *b;
    size_t n;
    ingot_pool *pool;
    volatile double sink;
} bw_ctx;

static void memcpy_item(void *vctx, size_t i, int worker) {
    (void)worker;
    bw_ctx *c = vctx;
    const size_t chunk = c->n / 64;
    memcpy(c->b + i * chunk, c->a + i * chunk, chunk);
}
static void run_memcpy(void *ctx) { ingot_pool_run(((bw_ctx *)ctx)->pool, 64, memcpy_item, ctx); }

__attribute__((target("avx2"))) static double read_sum(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    return (double)_mm256_extract_epi64(a0, 0);
}
// The same with 64-byte loads on CPUs that have them: the read baseline is
// the faster of the two, so no kernel's fraction of it is flattered.
__attribute__((target("avx512f"))) static double read_sum512(const uint8_t *p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        a0 = _mm512_add_epi64(a0, _mm512_loadu_si512((const void *)(p + i)));
        a1 = _mm512_add_epi64(a1, _mm512_loadu_si512((const void *)(p + i + 64)));
        a2 = _mm512_add_epi64(a2, _mm512_loadu_si512((const void *)(p + i + 128)));
        a3 = _mm512_add_epi64(a3, _mm512_loadu_si512((const void *)(p + i + 192)));
    }
    a0 = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
    return (double)_mm512_reduce_add_epi64(a0);
}
static int g_read512;
static void read_item(void *vctx, size_t i, int worker) {
    (void)worker;
    bw_ctx *c = vctx;
    const size_t chunk = c->n / 64;
    c->sink += g_read512 ? read_sum512(c->a + i * chunk, chunk) : read_sum(c->a + i * chunk, chunk);
}
static void run_read(void *ctx) { ingot_pool_run(((bw_ctx *)ctx)->pool, 64, read_item, ctx); }

// ---- kernels ---------------------------------------------------------------------------
typedef struct k_ctx {
    const ingot_quant_traits *qt;
    const float *x;
    int64_t rows;
    uint8_t *q;       // rows × row_bytes (DOT_REPEAT × for vec_dot)
    size_t row_bytes;
    float *y;         // dequantize output, rows × N_COLS
    const void *act;  // activation row in vec_dot_type
    const ingot_prep_traits *prep; // prepared-activation kernel being timed, or NULL: vec_dot
    const void *actp; // the prepared activation row
    float *out;       // vec_dot results
    ingot_pool *pool;
    ingot_dtype dtype;
} k_ctx;

static void run_quantize(void *vctx) {
    k_ctx *c = vctx;
    ingot_err err = {0};
    if (ingot_quantize_rows(c->dtype, c->x, c->rows, N_COLS, NULL, c->q, c->rows * c->row_bytes, c->pool, &err)) {
        fprintf(stderr, "bench_quantize: %s\n", err.msg);
        exit(1);
    }
}

static void dequant_item(void *vctx, size_t i, int worker) {
    (void)worker;
    k_ctx *c = vctx;
    for (int64_t r = (int64_t)i * 16; r < (int64_t)(i + 1) * 16 && r < c->rows; r++)
        c->qt->dequantize_row(c->q + r * c->row_bytes, c->y + r * N_COLS, N_COLS);
}
static void run_dequant(void *vctx) {
    k_ctx *c = vctx;
    ingot_pool_run(c->pool, (size_t)(c->rows + 15) / 16, dequant_item, c);
}

static void dot_item(void *vctx, size_t i, int worker) {
    (void)worker;
    k_ctx *c = vctx;
    const ingot_vec_dot_fn dot = c->prep ? c->prep->dot : c->qt->vec_dot;
    const void *act = c->prep ? c->actp : c->act;
    for (int64_t r = (int64_t)i * DOT_CHUNK; r < (int64_t)(i + 1) * DOT_CHUNK && r < c->rows * DOT_REPEAT; r++)
        dot(N_COLS, &c->out[r], c->q + r * c->row_bytes, act);
}
static void run_dot(void *vctx) {
    k_ctx *c = vctx;
    ingot_pool_run(c->pool, (size_t)(c->rows * DOT_REPEAT + DOT_CHUNK - 1) / DOT_CHUNK, dot_item, c);
}

static void fill_gauss(float *x, int64_t n) {
    uint64_t s = 12345;
    for (int64_t i = 0; i < n; i += 2) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const double u1 = ((double)(s >> 11) + 0.5) * 0x1p-53;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const double u2 = ((double)(s >> 11) + 0.5) * 0x1p-53;
        const double r = 0.02 * sqrt(-2 * log(u1));
        x[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

static const ingot_dtype k_types[] = {
    INGOT_DTYPE_F32,  INGOT_DTYPE_F16,  INGOT_DTYPE_BF16, INGOT_DTYPE_Q8_0,   INGOT_DTYPE_Q4_0,
    INGOT_DTYPE_Q4_1, INGOT_DTYPE_Q5_0, INGOT_DTYPE_Q5_1, INGOT_DTYPE_IQ4_NL, INGOT_DTYPE_Q2_K,
    INGOT_DTYPE_Q3_K, INGOT_DTYPE_Q4_K, INGOT_DTYPE_Q5_K, INGOT_DTYPE_Q6_K,   INGOT_DTYPE_Q8_K,
    INGOT_DTYPE_F8_E4M3_R32,
};

static int wanted(const char *list, const char *name) {
    if (!list) return 1;
    const size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *types = NULL;
    int threads = ingot_cpu_count();
    int64_t rows = 2048;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--types") && i + 1 < argc) types = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--min-time") && i + 1 < argc) g_min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--level") && i + 1 < argc) {
            const char *l = argv[++i];
            ingot_simd_set(!strcmp(l, "scalar") ? INGOT_SIMD_SCALAR : !strcmp(l, "avx2") ? INGOT_SIMD_AVX2 : INGOT_SIMD_AVX512);
        } else {
            fprintf(stderr, "usage: bench_quantize [--types a,b] [--threads N] [--rows R] [--level L] [--min-time S]\n");
            return 2;
        }
    }
    static const char *lvl_names[] = {"scalar", "avx2", "avx512"};
    ingot_err err = {0};
    ingot_pool *p1 = NULL, *pn = NULL;
    if (ingot_pool_create(1, &p1, &err) || ingot_pool_create(threads, &pn, &err)) {
        fprintf(stderr, "bench_quantize: %s\n", err.msg);
        return 1;
    }
    double load[3] = {0};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(lf);
    }
    printf("load average %.2f on %d CPUs (1-thread figures use CPU time, all-thread figures wall time)\n", load[0],
           ingot_cpu_count());
    printf("simd level %s (detected %s), threads 1 and %d, matrix [%lld, %d], vec_dot over %d× that\n",
           lvl_names[ingot_simd_get()], lvl_names[ingot_simd_detect()], threads, (long long)rows, N_COLS, DOT_REPEAT);

    // Bandwidth over 512 MiB.
    bw_ctx bw = {.n = (size_t)512 << 20};
    bw.a = malloc(bw.n);
    bw.b = malloc(bw.n);
    memset(bw.a, 1, bw.n);
    memset(bw.b, 2, bw.n);
    double cp[2], rd[2];
    for (int t = 0; t < 2; t++) {
        bw.pool = t ? pn : p1;
        use_clock(t);
        cp[t] = (double)bw.n / time_it(run_memcpy, &bw) / 1e9;
        g_read512 = 0;
        rd[t] = (double)bw.n / time_it(run_read, &bw) / 1e9;
        if (__builtin_cpu_supports("avx512f")) {
            g_read512 = 1;
            const double r512 = (double)bw.n / time_it(run_read, &bw) / 1e9;
            rd[t] = r512 > rd[t] ? r512 : rd[t];
        }
    }
    printf("memcpy  %.2f GB/s (1 thread)  %.2f GB/s (%d threads)   [bytes copied per second]\n", cp[0], cp[1], threads);
    printf("read    %.2f GB/s (1 thread)  %.2f GB/s (%d threads)\n\n", rd[0], rd[1], threads);
    free(bw.b);

    const int64_t n = rows * N_COLS;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    fill_gauss(x, n);
    float *act_f = malloc(sizeof(float) * N_COLS), *out = malloc(sizeof(float) * (size_t)(rows * DOT_REPEAT));
    fill_gauss(act_f, N_COLS);
    void *act = aligned_alloc(64, 4 * N_COLS + 4096); // line-aligned, as the runner's activation rows are

    printf("%-12s | %-28s | %-28s | %-44s\n", "type", "quantize M w/s (1T / NT)", "dequantize M w/s (1T / NT)",
           "vec_dot M w/s (1T / NT) [GB/s read, % of read bw]");
    for (size_t ti = 0; ti < sizeof k_types / sizeof *k_types; ti++) {
        const ingot_quant_traits *qt = ingot_quant_get(k_types[ti]);
        if (!wanted(types, qt->name)) continue;
        k_ctx c = {.qt = qt, .x = x, .rows = rows, .y = y, .act = act, .out = out, .dtype = qt->dtype};
        c.row_bytes = (size_t)(N_COLS / qt->blck) * qt->type_size;
        c.q = malloc(c.row_bytes * (size_t)(rows * DOT_REPEAT));
        ingot_quant_get(qt->vec_dot_type)->quantize_row(act_f, act, N_COLS, NULL);
        double qs[2], ds[2], vs[2];
        for (int t = 0; t < 2; t++) {
            c.pool = t ? pn : p1;
            use_clock(t);
            qs[t] = (double)n / time_it(run_quantize, &c) / 1e6;
            ds[t] = (double)n / time_it(run_dequant, &c) / 1e6;
        }
        for (int r = 1; r < DOT_REPEAT; r++) memcpy(c.q + r * rows * c.row_bytes, c.q, rows * c.row_bytes);
        for (int t = 0; t < 2; t++) {
            c.pool = t ? pn : p1;
            use_clock(t);
            vs[t] = (double)(n * DOT_REPEAT) / time_it(run_dot, &c) / 1e6;
        }
        const double bpw = 8.0 * qt->type_size / qt->blck;
        const double g0 = vs[0] * bpw / 8 / 1e3, g1 = vs[1] * bpw / 8 / 1e3;
        printf("%-12s | %8.1f / %8.1f (%5.2f GB/s) | %8.1f / %8.1f           | %8.1f / %8.1f [%5.2f %3.0f%% / %5.2f %3.0f%%]\n",
               qt->name, qs[0], qs[1], qs[0] * 4 / 1e3, ds[0], ds[1], vs[0], vs[1], g0, 100 * g0 / rd[0], g1,
               100 * g1 / rd[1]);
        c.prep = ingot_quant_prep_get(qt->dtype);
        if (c.prep) { // the decode kernel on a prepared activation row (runner's one-token products)
            void *actp = aligned_alloc(64, ingot_align_up(c.prep->bytes(N_COLS), 64));
            c.prep->prepare(act, actp, N_COLS);
            c.actp = actp;
            for (int t = 0; t < 2; t++) {
                c.pool = t ? pn : p1;
                use_clock(t);
                vs[t] = (double)(n * DOT_REPEAT) / time_it(run_dot, &c) / 1e6;
            }
            const double p0 = vs[0] * bpw / 8 / 1e3, p1r = vs[1] * bpw / 8 / 1e3;
            printf("%-12s | %-28s | %-28s | %8.1f / %8.1f [%5.2f %3.0f%% / %5.2f %3.0f%%]\n", " prepared", "", "",
                   vs[0], vs[1], p0, 100 * p0 / rd[0], p1r, 100 * p1r / rd[1]);
            free(actp);
        }
        fflush(stdout);
        free(c.q);
    }
    printf("\nquantize GB/s = f32 input read per second on one thread; vec_dot GB/s = quantized weight bytes read.\n");
    free(x), free(y), free(act_f), free(out), free(act), free(bw.a);
    ingot_pool_free(p1);
    ingot_pool_free(pn);
    return 0;
}
