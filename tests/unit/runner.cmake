ingot_add_test_exe(test_runner SOURCES test_runner.c
  LIBS ingot_runner ingot_convert ingot_formats ingot_quantize ingot_common PkgConfig::CJSON m
  TESTS runner_matmul_decode_split runner_matmul_prompt_rows runner_rope_neox runner_rope_interleave runner_rope_yarn runner_rope_linear_llama3
        runner_attention_naive runner_attention_tile runner_attention_group runner_argmax runner_swiglu runner_rmsnorm_long runner_rmsnorm runner_moe_softmax_topk runner_moe_deepseek_v3
        runner_moe_deepseek_v2_groups runner_sampler runner_sampler_distribution runner_metrics
        runner_tiny_llama_golden runner_open_rejects
        runner_hf_llama runner_hf_llama_bf16 runner_hf_qwen3 runner_hf_qwen3_bf16
        runner_hf_qwen3_moe runner_hf_qwen3_moe_bf16 runner_hf_mixtral runner_hf_mixtral_bf16
        runner_hf_deepseek_v3 runner_hf_deepseek_v3_bf16
        runner_tp_dense_llama runner_tp_dense_qwen3 runner_tp_dense_smollm2 runner_tp_llama_sharded
        runner_tp_mixtral runner_tp_olmoe runner_tp_qwen3_moe runner_tp_qwen3_moe_mixed
        runner_tp_qwen3_moe_window runner_tp_deepseek_v2 runner_tp_deepseek_v2_yarn
        runner_tp_qwen_moe_tiny runner_tp_qwen_scale runner_tp_full_mixtral runner_tp_gqa_mixtral
        runner_tp_mixtral_scale runner_tp_deepseek_full runner_tp_deepseek_scale
        runner_tp_deepseek_v2lite_mla0 runner_tp_greedy_decode
        runner_kv_cache runner_mla_absorbed runner_q8_0_top1)
target_include_directories(test_runner PRIVATE ${PROJECT_SOURCE_DIR}/runner)
