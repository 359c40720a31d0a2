# `ingot inspect`: help, usage errors, a .ingot (text, --tensors, --json),
# a damaged file, and a checkpoint folder from the fixtures when present.
. "$CLI_LIB"

run inspect --help
expect_exit 0
expect_stdout "Usage: ingot inspect [OPTIONS] PATH"
expect_stdout "--tensors"
expect_stderr_empty

run inspect
expect_exit 2
expect_stdout_empty
expect_stderr "ingot inspect: expected one PATH"
expect_stderr "Try 'ingot inspect --help'."

run inspect --bogus x.ingot
expect_exit 2
expect_stderr "unknown option '--bogus'"

run inspect a.ingot b.ingot
expect_exit 2

run inspect does-not-exist
expect_exit 1
expect_stderr "ingot inspect: error:"
expect_stderr "does-not-exist"

"$MAKE_INGOT" m.ingot || { echo "cannot make a sample .ingot" >&2; exit 1; }

run inspect m.ingot
expect_exit 0
expect_stdout "kind:          .ingot (format version 1)"
expect_stdout "architecture:  qwen3_moe"
expect_stdout "layers:        2"
expect_stdout "experts:       4 (2 per token)"
expect_stdout "tensors:       7"
expect_stdout "bf16"
expect_stdout "largest tensors:"
expect_stdout "token_embd.weight"
expect_stdout "experts.1"
expect_stdout "tokenizer.json"
expect_stderr_empty

run inspect --tensors m.ingot
expect_exit 0
expect_stdout "all tensors:"
expect_stdout "blk.1.ffn_down_exps.3.weight"
expect_stdout "[64, 32]"

run inspect --json --tensors m.ingot
expect_exit 0
expect_stdout '"n_tensors":	7'
expect_stdout '"arch":	"qwen3_moe"'
expect_stdout '"format_version":	1'
expect_stdout '"tensors":'
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["tensors"]) == 7' "$CLI_TMP/.out" ||
        fail "--json output is not valid JSON with 7 tensors"
fi

head -c 1000 m.ingot >short.ingot
run inspect short.ingot
expect_exit 1
expect_stderr "ingot inspect: error: short.ingot: truncated"

"$INGOT" pack -q m.ingot -o m.ingot.zst
run inspect m.ingot.zst
expect_exit 1
expect_stderr "run 'ingot unpack' first"

if [ -d "${INGOT_FIXTURES:-}/hf/qwen3_moe" ]; then
    run inspect "$INGOT_FIXTURES/hf/qwen3_moe"
    expect_exit 0
    expect_stdout "Qwen3MoeForCausalLM (qwen3_moe)"
    expect_stdout "experts:       8 (2 per token)"
    expect_stdout "bits/weight:   32.000"
else
    echo "fixtures absent: checkpoint folder not inspected"
fi

finish
