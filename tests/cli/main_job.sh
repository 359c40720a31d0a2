# The README's main job end to end: generate the MoE + Engram sample, convert
# it with q4_k_m, verify it against the source (verdict and exit code), run a
# prompt through it; then the verdict's failure exit codes and verify's
# usage and unreadable-file codes.
. "$CLI_LIB"
: "${SAMPLES:?SAMPLES must name the ingot-samples binary}"

"$SAMPLES" --preset moe-engram -o src >/dev/null || { echo "cannot generate the sample" >&2; exit 1; }

run convert src -o model.ingot --quant q4_k_m -q
expect_exit 0
expect_file model.ingot
expect_no_temp

run verify model.ingot --against src --tokens 256 --ctx 128
expect_exit 0
expect_stdout "structure: qwen3_moe"
expect_stdout "tensors vs source: 144 compared"
expect_stdout "positions of text)"
expect_stdout "verdict: PASS"
expect_stdout "thresholds: mean KLD <= 0.12, top-1 >= 85.0%"

run verify model.ingot --against src --tokens 256 --ctx 128 --json
expect_exit 0
expect_stdout '"pass":	true'
expect_stdout '"kld_mean":'

run run model.ingot -p "The river ran past the old mill," -n 16 --temp 0
expect_exit 0
expect_stderr "generation: 16 tokens"
expect_stderr "tok/s"

# A q2_k file judged by q8_0-grade thresholds fails with exit 3.
run convert src -o small.ingot --quant q2_k -q
expect_exit 0
run verify small.ingot --against src --tokens 256 --ctx 128 --threshold-kld 0.01 --threshold-top1 0.94
expect_exit 3
expect_stdout "verdict: FAIL"

# A flipped byte inside a tensor: exit 3 with the tensor named.
cp model.ingot flipped.ingot
off=$("$INGOT" inspect model.ingot --tensors | grep '^ *blk.2.ffn_gate_inp.weight ' | grep -o '@[0-9]*' | tr -d '@')
[ -n "$off" ] || { echo "cannot find the tensor offset" >&2; exit 1; }
printf '\x5a' | dd of=flipped.ingot bs=1 seek=$((off + 3)) conv=notrunc status=none
run verify flipped.ingot
expect_exit 3
expect_stdout "checksum mismatch"

# Usage and unreadable files.
run verify
expect_exit 2
expect_stderr "Try 'ingot verify --help'."
run verify --threshold-top1 2 model.ingot
expect_exit 2
run verify does-not-exist.ingot
expect_exit 1
expect_stderr "ingot verify: error:"
finish
