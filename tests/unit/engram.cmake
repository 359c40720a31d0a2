ingot_add_test_exe(test_engram SOURCES test_engram.c LIBS ingot_convert ingot_runner ingot_formats ingot_quantize ingot_common PkgConfig::CJSON
  TESTS engram_rng_vectors engram_next_prime engram_v41_params engram_demo_primes engram_toy_hash
        engram_toy_compress engram_normalize_rules engram_metadata_roundtrip engram_lookup_check
        engram_forward_toy engram_fixture_compress engram_fixture_rows engram_fixture_forward engram_quantized_rows
        engram_decode_matches_tokenizer engram_alloc_failures engram_v41_gate_at_zero)
ingot_add_test_exe(test_engram_e2e SOURCES test_engram_e2e.c LIBS ingot_convert ingot_runner ingot_formats ingot_quantize ingot_common PkgConfig::CJSON
  TESTS engram_e2e_keep_logits engram_e2e_q8_0_logits engram_e2e_rows_and_layout engram_e2e_wrong_compressed_vocab)
ingot_add_test_exe(test_engram_v41 SOURCES test_engram_v41.c
  LIBS ingot_verify ingot_convert ingot_runner ingot_formats ingot_quantize ingot_common PkgConfig::CJSON PkgConfig::ARCHIVE
  TESTS engram_v41_keep_bytes engram_v41_q8_0_table engram_v41_forward_reference engram_v41_verify_keep engram_v41_model_runs
        engram_v41_sources_agree engram_v41_two_streams engram_v41_bad_scale)
