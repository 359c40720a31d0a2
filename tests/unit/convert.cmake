ingot_add_test_exe(test_convert SOURCES test_convert.c
  LIBS ingot_convert ingot_runner ingot_formats ingot_quantize ingot_common PkgConfig::CJSON PkgConfig::XXHASH
  TESTS convert_fixtures_keep convert_fixtures_q8_0 convert_packed_expert_slices convert_mixtral_layouts_agree convert_packed_logits_match_hf
        convert_config_dialects convert_config_layers convert_config_hostile_values convert_tied_head_dropped convert_tied_head_differs convert_metadata_provenance
        convert_archive_matches_folder convert_fp8_block_scales convert_error_missing_tensor
        convert_error_shape_mismatch convert_error_unexpected_tensor convert_error_nonfinite convert_error_no_space
        convert_error_unknown_arch convert_error_missing_arch_uses_model_type convert_error_truncated_archive
        convert_error_missing_shard convert_error_index_mismatch convert_force
        convert_dry_run convert_threads_identical convert_single_file_with_config convert_overrides_and_imatrix
        convert_alloc_failures
        convert_sigint_leaves_nothing)
