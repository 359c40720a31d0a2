// Multi-row dot kernels (ingot_gemm_fn) shared by quant_gemm*.c: the
// per-level tables are filled by quant_gemm.c, the SIMD files install their
// kernels into them. Private to the quantize target.
#ifndef INGOT_QUANT_GEMM_INTERNAL_H
#define INGOT_QUANT_GEMM_INTERNAL_H

#include "quant_internal.h"

void ingot_quant_gemm_install_avx2(ingot_gemm_fn *tab);
void ingot_quant_gemm_install_avx512(ingot_gemm_fn *tab);

#endif
