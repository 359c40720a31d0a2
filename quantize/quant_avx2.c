// AVX2 (+FMA, F16C) kernels, compiled per function with target attributes
// so the default build needs no -march flag; installed into the AVX2
// dispatch table when the CPU supports it.
#include <string.h>

#include "quant_internal.h"

void ingot_quant_install_avx2(ingot_quant_traits *tab) { (void)tab; }
