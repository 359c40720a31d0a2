ingot_add_test_exe(test_policy SOURCES test_policy.c LIBS ingot_quantize
  TESTS policy_role_from_name policy_preset_roles policy_preset_keep policy_expert_count_independent
        policy_override_first_match policy_override_single_expert policy_override_engram policy_override_errors policy_bad_descriptors
        policy_fallback_100 policy_fallback_288 policy_plan_lines
        policy_target_meets_budget policy_target_sampled policy_target_infeasible policy_target_respects_rules
        policy_target_threads policy_target_fill_error policy_target_near_optimal policy_plan_llama_sizes
        policy_imatrix_load policy_imatrix_bad policy_imatrix_changes_target policy_alloc_failures)
