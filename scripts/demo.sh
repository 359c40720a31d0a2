#!/usr/bin/env bash
# The main job on the bundled sample: installs what is missing, builds, then
# generates a MoE + Engram checkpoint, converts it with q4_k_m, verifies it
# against its source (verdict), runs a prompt through it and prints the
# figures: size before and after, the verdict's numbers, tokens/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
echo "== building ingot" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
ingot=build/cli/ingot
work=${INGOT_DEMO_DIR:-build/demo}
rm -rf "$work"
mkdir -p "$work"

echo "== 1. generating the sample: Qwen3-MoE (8 experts, top-2) with an Engram layer, BF16"
build/samples/ingot-samples --preset moe-engram -o "$work/src"
$ingot inspect "$work/src"

echo
echo "== 2. converting with q4_k_m"
$ingot convert "$work/src" -o "$work/model.ingot" --quant q4_k_m --force

echo
echo "== 3. verifying against the source"
set +e
$ingot verify "$work/model.ingot" --against "$work/src" --worst 5
verdict=$?
set -e

echo
echo "== 4. running a prompt"
$ingot run "$work/model.ingot" -p "The river ran past the old mill," -n 48 --temp 0
echo

src_bytes=$(du -cb "$work"/src/*.safetensors | tail -1 | cut -f1)
out_bytes=$(stat -c %s "$work/model.ingot")
echo "== summary"
awk -v a="$src_bytes" -v b="$out_bytes" 'BEGIN { printf "size: %.1f MB (BF16 safetensors) -> %.1f MB (.ingot, q4_k_m): %.2fx smaller\n", a/1e6, b/1e6, a/b }'
echo "verdict exit code: $verdict (0 pass, 3 fail)"
exit $verdict
