// Prepared-activation decode kernels (ingot_prep_traits) shared by
// quant_prep*.c. Private to the quantize target.
#ifndef INGOT_QUANT_PREP_INTERNAL_H
#define INGOT_QUANT_PREP_INTERNAL_H

#include "quant_internal.h"

size_t ingot_q8_0_prep_bytes(int64_t n);
void ingot_q8_0_prepare(const void *y, void *p, int64_t n);
size_t ingot_q8_0_rows_bytes(int64_t n);
void ingot_q8_0_rows_prepare(const void *y, void *p, int64_t n);
void ingot_quant_prep_install_avx512(const ingot_prep_traits **tab);

#endif
