// formats/: umbrella header for the readers and writers, plus the versions
// of the libraries this module links.
#ifndef INGOT_FORMATS_H
#define INGOT_FORMATS_H

#include <stddef.h>

#include "ingot/container.h"
#include "ingot/safetensors.h"

// Writes "zstd X, xxHash Y, cJSON Z, libarchive W" into dst (NUL-terminated).
void ingot_formats_lib_versions(char *dst, size_t dst_cap);

#endif
