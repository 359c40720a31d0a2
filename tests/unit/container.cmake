ingot_add_test_exe(test_container SOURCES test_container.c LIBS ingot_formats ingot_common
  TESTS container_roundtrip container_determinism container_truncation container_corrupt
        container_atomic_enospc container_signal_cleanup container_refuse_existing container_lookup container_plan_only
        container_alloc_faults container_writer_alloc_faults container_pack_roundtrip container_pack_corrupt)
# The tests craft defective files, so they read the on-disk layout directly.
target_include_directories(test_container PRIVATE ${PROJECT_SOURCE_DIR}/formats)
