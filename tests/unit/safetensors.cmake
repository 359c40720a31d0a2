ingot_add_test_exe(test_safetensors SOURCES test_safetensors.c LIBS ingot_formats PkgConfig::ARCHIVE
  TESTS st_roundtrip_all_dtypes st_accepts_valid_variants st_fp8_fixture_decode st_truncation_sweep
        st_corrupt_table st_corrupt_prefix st_fixtures_open_all st_fixture_sharded st_index_mismatch
        st_folder_without_index st_archive_tar st_archive_tar_gz st_archive_tar_zst st_archive_zip st_archive_zip_stream
        st_archive_mismatch st_alloc_fault_injection)
