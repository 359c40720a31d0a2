#!/usr/bin/env bash
# The main job on the bundled sample: installs what is missing, builds, then
# generates a MoE checkpoint, converts it, verifies it against its source,
# runs a prompt through it and prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
ingot=build/cli/ingot
work=${INGOT_DEMO_DIR:-build/demo}
rm -rf "$work"
mkdir -p "$work"
build/samples/ingot-samples --preset qwen3moe-tiny -o "$work/src"
$ingot inspect "$work/src"
