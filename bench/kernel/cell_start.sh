#!/usr/bin/env bash
# Cell start benchmark (docs/PERFORMANCE.md, "## Cell start"). Needs root.
#
#   bench/kernel/cell_start.sh [BUILD_DIR] [RUNS] [OTHER_CELLCTL]   (defaults: build, 200)
#
# In one hyperfine run, so every command sees the same machine state:
#   exec-<profile>    cellctl exec <cell> /bin/true into an existing cell (busybox root)
#   cycle-<profile>   cellctl create + exec /bin/true + destroy (via /bin/sh -c, which adds
#                     the cost of one sh start, ~0.5 ms)
#   bwrap             bwrap --ro-bind / / --unshare-all --share-net true
#   unshare           unshare -pfmiu --mount-proc true
#   cellctl-help      cellctl --help: the launcher's own start-up cost, for reference
#   *-other           with OTHER_CELLCTL (e.g. a copy of an earlier build): its exec-<profile>
#                     and cellctl-help in the same run, for before/after comparisons
# Prints median and spread (p10..p90, ms) per command and the ratio to bwrap's median.
set -euo pipefail

build=${1:-build}
runs=${2:-200}
other=${3:-}
cellctl=$(realpath "$build/cli/cellctl/cellctl")
[[ -x $cellctl ]] || { echo "cell_start.sh: no cellctl at $cellctl (build it first)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "cell_start.sh: needs root" >&2; exit 1; }

scratch=$(mktemp -d /tmp/cells-bench-XXXXXX)
inst=$scratch/inst
root=$scratch/root
export CELLS_ROOT=$inst
cleanup() {
  for c in $("$cellctl" list -T -H 2>/dev/null | cut -f2); do "$cellctl" destroy --force "$c"; done
  # The instance's BPF pins (cellctl has no verb for this; cellmgr system reset will).
  inst_name=$(python3 -c "
h=2166136261
for c in b'$inst':
  h^=c; h=(h*16777619)&0xffffffff
print('cells-%08x'%h)")
  rm -rf "/sys/fs/bpf/$inst_name"
  rmdir "/sys/fs/cgroup/unified/$inst_name" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

mkdir -p "$root/bin"
cp /bin/busybox "$root/bin/busybox"
chroot "$root" /bin/busybox --install -s /bin

profiles=(low medium high)
for p in "${profiles[@]}"; do
  "$cellctl" create -l "$p" -n "bench-$p" "$root" >/dev/null
done

cmds=()
names=()
for p in "${profiles[@]}"; do
  names+=("exec-$p");  cmds+=("$cellctl exec bench-$p /bin/true")
done
for p in "${profiles[@]}"; do
  names+=("cycle-$p")
  cmds+=("/bin/sh -c '$cellctl create -l $p -n cyc-$p $root >/dev/null && $cellctl exec cyc-$p /bin/true && $cellctl destroy cyc-$p'")
done
# How much of an exec is cellctl's own process start (dynamic linking of 14 libraries, static
# initialisers) rather than the cell: the same binary doing no work.
names+=(cellctl-help bwrap unshare)
cmds+=("$cellctl --help")
cmds+=("bwrap --ro-bind / / --unshare-all --share-net true" "unshare -pfmiu --mount-proc true")
if [[ -n $other ]]; then
  for p in "${profiles[@]}"; do
    names+=("exec-$p-other");  cmds+=("$other exec bench-$p /bin/true")
  done
  names+=(cellctl-help-other); cmds+=("$other --help")
fi

args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 10 --runs "$runs" --export-json "$scratch/out.json" "${args[@]}" >/dev/null

python3 - "$scratch/out.json" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
def q(xs, f):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(f * len(xs)))]
base = next(r for r in res if r["command"] == "bwrap")
bmed = statistics.median(base["times"])
print(f"| command | median ms | p10..p90 ms | vs bwrap |")
print(f"|---|---|---|---|")
for r in res:
    t = r["times"]; m = statistics.median(t)
    print(f"| {r['command']} | {m*1e3:.2f} | {q(t,.1)*1e3:.2f}..{q(t,.9)*1e3:.2f} | {m/bmed:.2f}x |")
PY
