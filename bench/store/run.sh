#!/usr/bin/env bash
# Builds and runs the store benchmarks. Usage: bench/store/run.sh [DIR] [REPS] [COMMITS] [N]
# DIR (default /var/tmp) must be on the filesystem whose durability you want to measure.
# The journal benchmark takes REPS, COMMITS and N (entries to verify); the generation
# benchmark commits one-cell changes at 1 and at 1,000 cells.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target journal_bench generation_bench -j2 >/dev/null
dir=$(mktemp -d "${1:-/var/tmp}/journal-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/bench/store/journal_bench" "$dir" "${2:-5}" "${3:-200}" "${4:-1000000}"
"$build/bench/store/generation_bench" "$dir/generations" 1000
