ingot_add_test_exe(test_quant_kdot SOURCES test_quant_kdot.c LIBS ingot_quantize ingot_common m
  TESTS quant_kdot_raw_blocks quant_kdot_extremes)
