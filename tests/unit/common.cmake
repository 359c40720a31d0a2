ingot_add_test_exe(test_common SOURCES test_common.c LIBS ingot_common
  TESTS common_f16_roundtrip common_bf16_rounding common_fp8_decode common_e4m3_encode
        common_dtype_sizes common_checked_math common_pool_covers_all common_alloc_fault_injection
        common_err_context common_out_file_atomic)
