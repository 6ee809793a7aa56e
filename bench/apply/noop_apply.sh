#!/usr/bin/env bash
# No-op `cellmgr apply` with N declared cells (autostart NO, so nothing runs; what is measured
# is loading and validating N manifests, the generation comparison, drift per cell and the
# journal entries of one operation), against `cellmgr cell list` over the same N manifests as
# the peer (a pure read of the same desired state). hyperfine repeats and reports median/spread.
#   bench/apply/noop_apply.sh [BUILD_DIR]   (root; uses a scratch --root)
set -euo pipefail
build=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
cellmgr=$build/cli/cellmgr/cellmgr
for n in 10 100 1000; do
  root=$(mktemp -d /tmp/cells-bench-apply-XXXXXX)
  "$cellmgr" --root "$root" system bootstrap >/dev/null
  for i in $(seq 1 "$n"); do
    printf 'name = "c%d"\ncommand = "sleep 1000"\nprofile = "medium"\n' "$i" >"$root/etc/cellmgr/c$i.cell"
  done
  "$cellmgr" --root "$root" apply >/dev/null  # commits the generation once
  echo "== $n declared cells"
  hyperfine -N -w 2 -r 15 --export-json "/tmp/bench-apply-$n.json" \
    "$cellmgr --root $root apply" "$cellmgr --root $root cell list" 2>&1 | grep -E "Time|±|faster|apply|list" || true
  python3 - "$n" <<'PY'
import json, statistics, sys
n = sys.argv[1]
r = json.load(open(f"/tmp/bench-apply-{n}.json"))["results"]
for x in r:
    t = x["times"]
    print(f"{n:>5} {x['command'].split()[-1]:>6} median {statistics.median(t)*1000:.1f} ms  spread {(max(t)-min(t))*1000:.1f} ms")
print(f"{n:>5} ratio apply/list {statistics.median(r[0]['times'])/statistics.median(r[1]['times']):.2f}")
PY
  # The bootstrap loaded this scratch instance's BPF programs; the reset unloads their pins.
  "$cellmgr" --root "$root" system reset --yes >/dev/null
  rm -rf "$root"
done
