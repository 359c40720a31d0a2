// Fuzz target: ingot_tokens_parse, the `--tokens` argument of `ingot logits`
// and `ingot run`. The input is used twice: as the text of a JSON file (an
// array of ids, or an object with "input_ids" / "tokens") handed over as
// /proc/self/fd/N of a memfd, and, when it holds no NUL and names no existing
// file, as a comma-separated list. Promises checked on success: at least one
// id, none negative.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/runner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *spec) {
    int32_t *ids = NULL;
    size_t n = 0;
    ingot_err err = {0};
    if (ingot_tokens_parse(spec, &ids, &n, &err) != INGOT_OK) {
        if (ids || !memchr(err.msg, 0, sizeof err.msg) || !err.msg[0]) abort();
        return;
    }
    if (!ids || n < 1) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0) abort();
    ingot_free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int fd = memfd_create("ingot-fuzz-tokens", 0);
    if (fd >= 0) {
        size_t done = 0;
        while (done < size) {
            const ssize_t w = write(fd, data + done, size - done);
            if (w <= 0) break;
            done += (size_t)w;
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (done == size) check(path);
        close(fd);
    }
    if (size && memchr(data, 0, size)) return 0;
    char *spec = malloc(size + 1);
    if (!spec) return 0;
    memcpy(spec, data, size);
    spec[size] = 0;
    struct stat st;
    if (stat(spec, &st) != 0) check(spec);
    free(spec);
    return 0;
}
