ingot_add_test_exe(test_verify SOURCES test_verify.c
  LIBS ingot_verify ingot_convert ingot_runner ingot_formats ingot_quantize ingot_common PkgConfig::CJSON
  TESTS verify_keep_is_exact verify_q8_0_passes verify_q2_k_fails_q8_0_grade verify_flipped_byte
        verify_truncated verify_swapped_names verify_missing_expert verify_wrong_engram_prime
        verify_reference_logits_hf verify_thresholds_table)
