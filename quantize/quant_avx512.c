// AVX-512 (F, BW, VL, DQ) kernels, compiled per function with target
// attributes; installed into the AVX-512 dispatch table, which starts as a
// copy of the AVX2 one.
#include <string.h>

#include "quant_internal.h"

void ingot_quant_install_avx512(ingot_quant_traits *tab) { (void)tab; }
