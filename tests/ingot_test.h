// Tiny header-only test harness. One executable per module holds many
// `test_<module>_<behaviour>` functions; ctest runs each by name:
//   test_formats container_roundtrip
// Assertions print both values; INGOT_CHECK_OK also prints err.msg.
// A test skips by returning INGOT_TEST_SKIP (exit code 77 for ctest).
#ifndef INGOT_TEST_H
#define INGOT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingot/status.h"

#define INGOT_TEST_SKIP 77

typedef int (*ingot_test_fn)(void);
typedef struct ingot_test_case {
    const char *name;
    ingot_test_fn fn;
} ingot_test_case;

static int ingot_test_failures;

#define INGOT_FAILF(...)                                                                  \
    do {                                                                                  \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                   \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fprintf(stderr, "\n");                                                            \
        ingot_test_failures++;                                                            \
        return 1;                                                                         \
    } while (0)

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) INGOT_FAILF("check failed: %s", #cond);                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                              \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
            INGOT_FAILF(__VA_ARGS__);                                                     \
        }                                                                                 \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_) INGOT_FAILF("%s == %s: %lld != %lld", #a, #b, a_, b_);              \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                \
    do {                                                                                  \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);    \
        if (a_ != b_) INGOT_FAILF("%s == %s: %llu != %llu", #a, #b, a_, b_);              \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
    do {                                                                                  \
        double a_ = (double)(a), b_ = (double)(b);                                        \
        if (!(fabs(a_ - b_) <= (tol)))                                                    \
            INGOT_FAILF("%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                   \
    do {                                                                                  \
        const char *h_ = (hay), *n_ = (needle);                                           \
        if (!h_ || !strstr(h_, n_)) INGOT_FAILF("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_); \
    } while (0)

static inline const char *ingot_test_errmsg(const ingot_err *e) { return e ? e->msg : ""; }

// Expect a status; print the error message when it differs.
#define CHECK_STATUS(expr, expected, errp)                                                \
    do {                                                                                  \
        ingot_status s_ = (expr);                                                         \
        const ingot_err *e_ = (errp);                                                     \
        if (s_ != (expected))                                                             \
            INGOT_FAILF("%s: got %s, want %s (%s)", #expr, ingot_status_name(s_),         \
                        ingot_status_name(expected), ingot_test_errmsg(e_));              \
    } while (0)

#define CHECK_OK(expr, errp) CHECK_STATUS(expr, INGOT_OK, errp)

// Path of the shared fixtures folder, or NULL (tests then skip with a message).
static inline const char *ingot_test_fixtures(void) {
    const char *env = getenv("INGOT_FIXTURES");
    static const char *candidates[] = {
#ifdef INGOT_FIXTURES_DIR
        INGOT_FIXTURES_DIR,
#endif
        "../shared/fixtures",
        "../../shared/fixtures",
    };
    struct stat st;
    if (env && stat(env, &st) == 0 && S_ISDIR(st.st_mode)) return env;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode)) return candidates[i];
    return NULL;
}

#define SKIP_WITHOUT_FIXTURES(var)                                                        \
    const char *var = ingot_test_fixtures();                                              \
    do {                                                                                  \
        if (!var) {                                                                       \
            printf("skipped: ../shared/fixtures is absent (set INGOT_FIXTURES)\n");       \
            return INGOT_TEST_SKIP;                                                       \
        }                                                                                 \
    } while (0)

// A fresh temporary directory for the test; the test chdir()s into it.
static inline const char *ingot_test_tmpdir(void) {
    static char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ingot-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static inline int ingot_test_main(int argc, char **argv, const ingot_test_case *cases, size_t n) {
    int failed = 0, ran = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            int want = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], cases[i].name) == 0) want = 1;
            if (!want) continue;
        }
        int r = cases[i].fn();
        ran++;
        if (r == INGOT_TEST_SKIP) {
            skipped++;
            printf("SKIP %s\n", cases[i].name);
        } else if (r != 0) {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        } else {
            printf("ok   %s\n", cases[i].name);
        }
    }
    if (ran == 0) {
        fprintf(stderr, "no test matched\n");
        return 2;
    }
    if (failed) return 1;
    if (skipped == ran) return INGOT_TEST_SKIP;
    return 0;
}

#define INGOT_TEST_MAIN(...)                                                              \
    int main(int argc, char **argv) {                                                     \
        static const ingot_test_case cases_[] = {__VA_ARGS__};                            \
        return ingot_test_main(argc, argv, cases_, sizeof cases_ / sizeof *cases_);       \
    }
#define T(fn) {#fn, test_##fn}

#endif
