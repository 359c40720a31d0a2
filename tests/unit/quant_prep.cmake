ingot_add_test_exe(test_quant_prep SOURCES test_quant_prep.c LIBS ingot_quantize ingot_common m
  TESTS quant_prep_table quant_prep_layout quant_prep_ref_equals_vec_dot_ref quant_prep_simd_matches_ref
        quant_prep_extremes quant_prep_rows_layout quant_prep_gemm)
