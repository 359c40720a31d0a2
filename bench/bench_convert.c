// bench_convert: wall time, source MB/s and peak RSS of `ingot convert` for
// several presets, next to a plain `cp` of the same files in the same run.
// Each measurement runs in its own child process (peak RSS from wait4), with
// the source in the page cache (one warm-up read first).
//
//   ingot-samples --preset qwen3moe-200m -o /tmp/q3m200
//   bench_convert /tmp/q3m200 [--presets keep,q8_0,q4_k_m] [--threads N] [--out DIR] [--repeat K]
//
// "cp+sync" also fsyncs the copy, as ingot convert does with its output.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/convert.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct result {
    double seconds;
    double cpu_seconds; // user + system of the child
    long max_rss_kb;
    int status;
} result;

// Run fn(arg) in a child; wall time and the child's peak RSS.
static result measure(int (*fn)(void *), void *arg) {
    result r = {0, 0, 0, -1};
    const double t0 = now_s();
    const pid_t pid = fork();
    if (pid == 0) _exit(fn(arg));
    struct rusage ru;
    int status = 0;
    if (pid > 0 && wait4(pid, &status, 0, &ru) == pid) {
        r.seconds = now_s() - t0;
        r.max_rss_kb = ru.ru_maxrss;
        r.cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
                        ru.ru_stime.tv_usec * 1e-6;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return r;
}

typedef struct job {
    const char *src, *out_dir, *preset;
    int threads;
} job;

static int run_cp(void *arg) {
    const job *j = arg;
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/cp-copy", j->out_dir);
    mkdir(dst, 0755);
    execlp("cp", "cp", "-r", "-T", j->src, dst, (char *)NULL);
    return 127;
}

static void log_phases(ingot_log_level level, const char *msg, void *user) {
    (void)user;
    if (level <= INGOT_LOG_WARN || getenv("BENCH_CONVERT_PHASES")) fprintf(stderr, "  %s\n", msg);
}

// cp, then fsync of what it wrote (ingot convert fsyncs its output).
static int run_cp_sync(void *arg) {
    const job *j = arg;
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cp -r -T '%s' '%s/cp-copy' && sync -f '%s/cp-copy'", j->src, j->out_dir, j->out_dir);
    execlp("sh", "sh", "-c", cmd, (char *)NULL);
    return 127;
}

static int run_convert(void *arg) {
    const job *j = arg;
    ingot_log_set(log_phases, NULL);
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/bench-%s.ingot", j->out_dir, j->preset);
    ingot_convert_opts o = {.src = j->src, .dst = dst, .preset = j->preset, .n_threads = j->threads, .force = true};
    ingot_err err = {0};
    const ingot_status st = ingot_convert(&o, NULL, &err);
    if (st != INGOT_OK) fprintf(stderr, "bench_convert: %s\n", err.msg);
    return st == INGOT_OK ? 0 : 1;
}

static uint64_t tree_bytes(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (uint64_t)st.st_size;
    uint64_t sum = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        sum += tree_bytes(p);
    }
    if (d) closedir(d);
    return sum;
}

static void warm(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            warm(p);
        }
        if (d) closedir(d);
        return;
    }
    const int fd = open(path, O_RDONLY);
    static char buf[1 << 20];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
    }
    if (fd >= 0) close(fd);
}

static void report(const char *name, const result *r, uint64_t src_bytes, uint64_t out_bytes) {
    printf("%-8s %8.2f s %8.2f s %9.0f MB/s %9.1f MiB %10.1f MiB  %s\n", name, r->seconds, r->cpu_seconds,
           r->seconds > 0 ? (double)src_bytes / r->seconds / 1e6 : 0, r->max_rss_kb / 1024.0, out_bytes / 1048576.0,
           r->status == 0 ? "" : "FAILED");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_convert SRC [--presets a,b,c] [--threads N] [--out DIR] [--repeat K]\n");
        return 2;
    }
    job j = {.src = argv[1], .out_dir = "/tmp", .threads = 0};
    char presets[256] = "keep,q8_0,q4_k_m";
    int repeat = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--presets")) snprintf(presets, sizeof presets, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) j.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--out")) j.out_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
    }
    const uint64_t src_bytes = tree_bytes(j.src);
    warm(j.src);
    printf("source %s: %.1f MB, %d threads\n", j.src, src_bytes / 1e6,
           j.threads > 0 ? j.threads : ingot_cpu_count());
    double load[1] = {0};
    if (getloadavg(load, 1) == 1) printf("load average %.2f (wall times are only meaningful on an idle machine)\n", load[0]);
    printf("%-8s %10s %10s %14s %13s %14s\n", "what", "wall", "cpu", "source read", "peak RSS", "output");
    char cp_dir[4096];
    snprintf(cp_dir, sizeof cp_dir, "%s/cp-copy", j.out_dir);
    for (int k = 0; k < repeat; k++) {
        const result r = measure(run_cp, &j);
        report("cp", &r, src_bytes, tree_bytes(cp_dir));
        char rm[4200];
        snprintf(rm, sizeof rm, "rm -rf '%s'", cp_dir);
        if (system(rm) != 0) return 1;
        const result rs = measure(run_cp_sync, &j);
        report("cp+sync", &rs, src_bytes, tree_bytes(cp_dir));
        char list[256];
        snprintf(list, sizeof list, "%s", presets);
        for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            j.preset = p;
            const result c = measure(run_convert, &j);
            char out[4096];
            snprintf(out, sizeof out, "%s/bench-%s.ingot", j.out_dir, p);
            report(p, &c, src_bytes, tree_bytes(out));
            unlink(out);
        }
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cp_dir);
    return system(cmd) == 0 ? 0 : 1;
}
