#!/usr/bin/env bash
# Builds ingot and runs every test: the normal build with warnings as errors
# (the end-to-end tests once more at the AVX2 and scalar levels), then an
# ASan+UBSan build running the whole suite again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINGOT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure
# End to end at the lower dispatch levels too (CPUs without AVX-512 run
# these kernels): the runner, verifier and Engram tests against their
# references with the level capped.
for level in avx2 scalar; do
  INGOT_SIMD=$level ctest --test-dir build -j"$jobs" --output-on-failure -R '^(runner|verify|engram)_'
done
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DINGOT_WERROR=ON -DINGOT_SANITIZE='address;undefined' \
      -DINGOT_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure -E '_slow$'
