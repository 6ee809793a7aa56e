#!/usr/bin/env bash
# Builds and runs the cellui benchmark (needs root: real cells).
# Usage: bench/tui/run.sh [DIR] [REPS] [CELLS] [WINDOW_S]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target cellui cellmgr cellctl cells-init -j2 >/dev/null
exec python3 "$src/bench/tui/tui_bench.py" "$build" "${1:-/var/tmp}" "${2:-15}" "${3:-100}" "${4:-30}"
