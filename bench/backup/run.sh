#!/usr/bin/env bash
# Builds and runs the backup benchmark: bench/backup/run.sh [WORKDIR] [SIZE_MIB] [REPS]
set -euo pipefail
build=${BUILD_DIR:-build}
cmake --build "$build" --target backup_bench >/dev/null
exec "$build/bench/backup/backup_bench" "${1:-/var/tmp/cells-backup-bench}" "${2:-256}" "${3:-5}"
