ingot_add_test_exe(test_tokenizer SOURCES test_tokenizer.c
  LIBS ingot_runner ingot_common PkgConfig::CJSON
  TESTS tokenizer_pretok_qwen2 tokenizer_pretok_llama3 tokenizer_pretok_gpt2 tokenizer_pretok_deepseek tokenizer_split_behaviors
        tokenizer_ids_qwen2 tokenizer_ids_llama3 tokenizer_ids_metaspace_byte_fallback tokenizer_ids_wordpiece
        tokenizer_ids_unigram tokenizer_ids_wordlevel tokenizer_roundtrip_bytelevel tokenizer_roundtrip_metaspace
        tokenizer_added_in_text tokenizer_added_strip_single_word tokenizer_added_normalized tokenizer_bpe_merges_forms
        tokenizer_normalizers tokenizer_normalizers_prepend_bert tokenizer_byte_fallback
        tokenizer_decode_token_hf tokenizer_stream_decode tokenizer_encode_limits tokenizer_encode_bound
        tokenizer_unsupported tokenizer_malformed tokenizer_truncation_sweep tokenizer_alloc_failures tokenizer_concurrent_encode
        tokenizer_template)
target_include_directories(test_tokenizer PRIVATE ${PROJECT_SOURCE_DIR}/runner)
