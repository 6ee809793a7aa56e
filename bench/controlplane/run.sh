#!/usr/bin/env bash
# Builds and runs the control-plane read benchmark. Usage: bench/controlplane/run.sh [DIR] [REPS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target controlplane_reads_bench cellmgr -j2 >/dev/null
dir=$(mktemp -d "${1:-/var/tmp}/cp-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/bench/controlplane/controlplane_reads_bench" "$build/cli/cellmgr/cellmgr" "$dir" "${2:-15}"
