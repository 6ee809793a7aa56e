#!/usr/bin/env bash
# Builds and runs the journal benchmark. Usage: bench/store/run.sh [DIR] [REPS] [COMMITS] [N]
# DIR (default /var/tmp) must be on the filesystem whose durability you want to measure.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target journal_bench -j2 >/dev/null
dir=$(mktemp -d "${1:-/var/tmp}/journal-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/bench/store/journal_bench" "$dir" "${2:-5}" "${3:-200}" "${4:-1000000}"
