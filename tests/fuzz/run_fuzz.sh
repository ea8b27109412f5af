#!/bin/bash
# ctest driver for the importer fuzzer: configures and builds the clang +
# libFuzzer + ASan build in FUZZ_BUILD (incremental after the first time),
# seeds a corpus with small valid models, and fuzzes for a bounded time.
# Fails on any crash, leak, timeout or out-of-memory the fuzzer finds.
# Usage: run_fuzz.sh SOURCE_DIR FUZZ_BUILD [SECONDS]
set -euo pipefail
src=$1
build=$2
seconds=${3:-60}

if ! command -v clang++ >/dev/null; then
  echo "clang++ not found: cannot build the fuzzer" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
    -DWAFER_BUILD_FUZZ=ON -DWAFER_BUILD_TESTS=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
fi
cmake --build "$build" --target fuzz_importer -j2

seeds=$build/seeds
corpus=$build/corpus
mkdir -p "$seeds" "$corpus"
/usr/bin/python3 "$src/scripts/make_test_models.py" "$seeds"
cp "$src"/tests/fuzz/regressions/*.onnx "$seeds"/ 2>/dev/null || true  # inputs of fixed crashes

# Regression inputs first (each must import or fail cleanly), then fuzz.
"$build/tests/fuzz/fuzz_importer" -rss_limit_mb=2048 -timeout=10 "$seeds"/*
cd "$build"  # crash-* files land here
"$build/tests/fuzz/fuzz_importer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$corpus" "$seeds"
