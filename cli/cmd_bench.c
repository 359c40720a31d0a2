// `ingot bench`: prompt-processing and generation speed of a .ingot, and
// the memory-bandwidth bound on generation: weight bytes read per decoded
// token divided by the read bandwidth measured in the same run.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"
#include "ingot/runner.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot bench [OPTIONS] FILE\n"
            "\n"
            "Measure prompt processing (one batch of -p tokens) and generation (-n tokens\n"
            "decoded one at a time from an empty cache), and compare generation with the\n"
            "memory-bandwidth bound.\n"
            "\n"
            "Options:\n"
            "  -p N           prompt tokens [default: 512]\n"
            "  -n N           generated tokens [default: 128]\n"
            "  -r, --reps N   repetitions, the best is reported [default: 3]\n"
            "  --threads N    threads [default: all cores]\n"
            "  -h, --help     show this help\n");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// CPU seconds used by the whole process (all threads): on a shared machine
// the ratio to wall time × threads says how much of the cores the run got.
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- read bandwidth -------------------------------------------------------------

enum { BW_CHUNK = 1 << 22 };

typedef struct bw_job {
    const uint64_t *buf;
    size_t words_per_chunk;
    uint64_t sums[1024];
} bw_job;

static void bw_item(void *ctx, size_t i, int worker) {
    bw_job *j = ctx;
    const uint64_t *p = j->buf + i * j->words_per_chunk;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t k = 0; k < j->words_per_chunk; k += 4) {
        a += p[k];
        b ^= p[k + 1];
        c += p[k + 2];
        d ^= p[k + 3];
    }
    j->sums[worker] += a + b + c + d;
}

// Bytes per second read by all threads from a buffer far larger than the caches.
static double measure_read_bw(ingot_pool *pool, size_t bytes) {
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0;
    memset(buf, 1, bytes);
    bw_job *j = calloc(1, sizeof *j);
    if (!j) {
        free(buf);
        return 0;
    }
    j->buf = buf;
    j->words_per_chunk = BW_CHUNK / sizeof(uint64_t);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double t0 = now_s();
        ingot_pool_run(pool, bytes / BW_CHUNK, bw_item, j);
        const double bw = (double)(bytes / BW_CHUNK * BW_CHUNK) / (now_s() - t0);
        best = bw > best ? bw : best;
    }
    volatile uint64_t sink = j->sums[0];
    (void)sink;
    free(j);
    free(buf);
    return best;
}

// ---- speed ------------------------------------------------------------------------

typedef struct bench_args {
    const char *file;
    uint64_t p, n, reps, threads;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        const int k = ingot_cli_arg_step("bench", argc, argv, i, &a->file, &v, usage);
        if (k == INGOT_CLI_ARG_FILE) continue;
        if (k != INGOT_CLI_ARG_OPTION) return k;
        uint64_t *dst = !strcmp(s, "-p") ? &a->p : !strcmp(s, "-n") ? &a->n
                        : !strcmp(s, "-r") || !strcmp(s, "--reps") ? &a->reps
                        : !strcmp(s, "--threads") ? &a->threads : NULL;
        if (!dst) return ingot_cli_usage_error("bench", "unknown option '%s'", s);
        if (!v || !ingot_cli_parse_u64(v, dst) || *dst > (1u << 20) || (dst != &a->n && *dst == 0))
            return ingot_cli_usage_error("bench", "%s: '%s' is not a valid count", s, v ? v : "");
        i++;
    }
    if (!a->file) return ingot_cli_usage_error("bench", "FILE is required");
    if (a->threads > 1024) return ingot_cli_usage_error("bench", "--threads must be at most 1024");
    return 0;
}

// Best prompt-processing and generation times over reps.
typedef struct bench_times {
    double pp, tg;          // best wall seconds
    double pp_cpu, tg_cpu;  // CPU seconds of those runs
} bench_times;

static ingot_status bench_speed(const ingot_model *m, ingot_state *s, const bench_args *a, bench_times *bt,
                                ingot_err *err) {
    const int n_vocab = ingot_model_get_config(m)->n_vocab;
    int32_t *ids = malloc((size_t)a->p * sizeof *ids);
    INGOT_FAIL_IF(!ids, err, INGOT_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < a->p; i++) ids[i] = (int32_t)((i * 7919 + 13) % (uint64_t)n_vocab);
    bt->pp = bt->tg = 1e30;
    ingot_status st = INGOT_OK;
    for (uint64_t r = 0; r <= a->reps && !st; r++) { // rep 0 warms the page cache
        ingot_state_reset(s);
        double t0 = now_s(), c0 = cpu_s();
        st = ingot_model_forward(m, s, ids, (int)a->p, 0, 0, err);
        const double pp = now_s() - t0, pp_cpu = cpu_s() - c0;
        ingot_state_reset(s);
        int32_t tok = ids[0];
        t0 = now_s(), c0 = cpu_s();
        for (uint64_t i = 0; i < a->n && !st; i++) {
            st = ingot_model_forward(m, s, &tok, 1, (int)i, 0, err);
            tok = ingot_argmax(ingot_state_logits(s, NULL), n_vocab);
        }
        const double tg = now_s() - t0, tg_cpu = cpu_s() - c0;
        if (r == 0) continue;
        if (pp < bt->pp) bt->pp = pp, bt->pp_cpu = pp_cpu;
        if (tg < bt->tg) bt->tg = tg, bt->tg_cpu = tg_cpu;
    }
    free(ids);
    return st;
}

int ingot_cmd_bench(int argc, char **argv) {
    bench_args a = {.p = 512, .n = 128, .reps = 3};
    const int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? INGOT_EXIT_OK : rc;
    ingot_err err = {0};
    ingot_model *m = NULL;
    ingot_pool *pool = NULL;
    ingot_state *s = NULL;
    int ret = INGOT_EXIT_FAILURE;
    bench_times bt = {0};
    if (ingot_model_open(a.file, &m, &err) || ingot_pool_create((int)a.threads, &pool, &err) ||
        ingot_state_create(m, (int)(a.p > a.n ? a.p : a.n), (int)a.p, pool, &s, &err))
        goto done;
    // Bandwidth before and after the speed runs, the higher kept: on a shared
    // machine one measurement can land in a busy moment and inflate the fraction.
    const double bw0 = measure_read_bw(pool, (size_t)1 << 30);
    if (bench_speed(m, s, &a, &bt, &err)) goto done;
    const double bw1 = measure_read_bw(pool, (size_t)1 << 30), bw = bw0 > bw1 ? bw0 : bw1;
    const uint64_t bytes = ingot_model_decode_bytes(m);
    const int nt = ingot_pool_n_threads(pool);
    const double tg_rate = a.n ? (double)a.n / bt.tg : 0, bound = bytes ? bw / (double)bytes : 0;
    char b1[32];
    printf("model        %s (%s)\n", a.file, ingot_model_get_config(m)->arch);
    printf("threads      %d\n", nt);
    printf("pp%-4llu      %.1f tok/s (%.1f tok per CPU-second; cores busy %.0f%%)\n", (unsigned long long)a.p,
           (double)a.p / bt.pp, (double)a.p / bt.pp_cpu, 100 * bt.pp_cpu / (bt.pp * nt));
    printf("tg%-4llu      %.1f tok/s (%.1f tok per CPU-second; cores busy %.0f%%)\n", (unsigned long long)a.n,
           tg_rate, (double)a.n / bt.tg_cpu, 100 * bt.tg_cpu / (bt.tg * nt));
    printf("read bw      %.2f GB/s\n", bw / 1e9);
    printf("bytes/token  %s\n", ingot_cli_fmt_bytes(bytes, b1, sizeof b1));
    printf("tg bound     %.1f tok/s (achieved %.0f%%)\n", bound, bound > 0 ? 100 * tg_rate / bound : 0);
    ret = INGOT_EXIT_OK;
done:
    if (ret) ingot_cli_fail("bench", &err);
    ingot_state_free(s);
    ingot_pool_free(pool);
    ingot_model_close(m);
    return ret;
}
