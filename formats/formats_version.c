// Versions of the libraries linked into formats/, for `ingot --version`.
#include <archive.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <xxhash.h>
#include <zstd.h>

#include "ingot/formats.h"

void ingot_formats_lib_versions(char *dst, size_t dst_cap) {
    unsigned xv = XXH_versionNumber();
    snprintf(dst, dst_cap, "zstd %s, xxHash %u.%u.%u, cJSON %s, %s", ZSTD_versionString(), xv / 10000,
             (xv / 100) % 100, xv % 100, cJSON_Version(), archive_version_string());
}
