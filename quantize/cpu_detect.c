// Runtime CPU feature detection and the dispatch level. The default build
// never uses -march=native: SIMD code is compiled per function with target
// attributes and chosen here.
#include <stdlib.h>
#include <string.h>

#include "ingot/quantize.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// F16C through CPUID leaf 1: clang before 15 rejects "f16c" in
// __builtin_cpu_supports.
static bool cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

static ingot_simd_level g_level = (ingot_simd_level)-1;

ingot_simd_level ingot_simd_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    // The AVX-512 level builds on the AVX2 one (its table starts as a copy).
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return INGOT_SIMD_AVX512;
    if (avx2) return INGOT_SIMD_AVX2;
#endif
    return INGOT_SIMD_SCALAR;
}

// The environment variable INGOT_SIMD (scalar, avx2 or avx512) caps the
// level for a whole process: a user can compare results or speed across
// levels, or run as on an older CPU. Other values are ignored.
static ingot_simd_level env_cap(ingot_simd_level level) {
    const char *e = getenv("INGOT_SIMD");
    if (!e) return level;
    const ingot_simd_level want = !strcmp(e, "scalar") ? INGOT_SIMD_SCALAR
                                  : !strcmp(e, "avx2") ? INGOT_SIMD_AVX2
                                  : !strcmp(e, "avx512") ? INGOT_SIMD_AVX512
                                                         : level;
    return want < level ? want : level;
}

ingot_simd_level ingot_simd_get(void) {
    if ((int)g_level < 0) g_level = env_cap(ingot_simd_detect());
    return g_level;
}

ingot_simd_level ingot_simd_set(ingot_simd_level level) {
    ingot_simd_level max = ingot_simd_detect();
    g_level = level > max ? max : level;
    return g_level;
}
