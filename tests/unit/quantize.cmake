ingot_add_test_exe(test_quantize SOURCES test_quantize.c LIBS ingot_quantize ingot_common m
  TESTS quantize_simd_env quantize_traits_table quantize_ggml_layout quantize_q8_0_closed_form quantize_budget_gaussian
        quantize_budget_heavy_tailed quantize_search_beats_rtn quantize_imatrix_lowers_weighted_error
        quantize_fp8_fixture_decode quantize_b128_ragged quantize_simd_matches_ref
        quantize_simd_matches_ref_edges quantize_f8_dot_all_codes
        quantize_rows_thread_determinism quantize_rows_rejects_bad_input quantize_simd_set_clamps)
# The round-to-nearest baselines and block structs live in the private header.
target_include_directories(test_quantize PRIVATE ${PROJECT_SOURCE_DIR}/quantize)
