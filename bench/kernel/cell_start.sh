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
# With CELL_START_PEERS=all (tools/bench sets it) two more peers join the same run, on a copy of
# the same busybox root:
#   nspawn            systemd-nspawn --register=no --keep-unit -q -D ROOT /bin/true (no systemd
#                     as PID 1 here, so no bus: --keep-unit stops it asking for a scope unit)
#   crun              crun run of an OCI bundle (`crun spec`, args /bin/true, no terminal). crun
#                     refuses the hybrid cgroup layout, so it runs in a private mount namespace
#                     with a cgroup2 mount on /sys/fs/cgroup (kernel-probe.md section 5); that
#                     unshare + mount + sh is part of its time
# CELL_START_JSON=FILE keeps hyperfine's JSON (every sample) for tools/bench.
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
  # The seed mount namespace the first create pinned (kernel/seed_ns.h), and its private dir.
  umount -l "$inst/run/cellmgr/ns/mnt-seed" "$inst/run/cellmgr/ns" 2>/dev/null || true
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
if [[ ${CELL_START_PEERS:-} == all ]]; then
  # nspawn wants an OS tree (/usr and an os-release); crun wants a bundle around a rootfs.
  nsroot=$scratch/nspawn-root
  cp -a "$root" "$nsroot"
  mkdir -p "$nsroot/usr/lib" "$nsroot/etc"
  echo ID=busybox >"$nsroot/usr/lib/os-release"
  cp "$nsroot/usr/lib/os-release" "$nsroot/etc/os-release"
  bundle=$scratch/bundle
  mkdir -p "$bundle"
  cp -a "$root" "$bundle/rootfs"
  (cd "$bundle" && crun spec)
  python3 - "$bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(sys.argv[1], "w"))
PY
  names+=(nspawn crun)
  cmds+=("systemd-nspawn --register=no --keep-unit -q -D $nsroot /bin/true")
  cmds+=("unshare -m --propagation private /bin/sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec crun --cgroup-manager=disabled run --bundle $bundle cells-bench-$$'")
fi
if [[ -n $other ]]; then
  for p in "${profiles[@]}"; do
    names+=("exec-$p-other");  cmds+=("$other exec bench-$p /bin/true")
  done
  names+=(cellctl-help-other); cmds+=("$other --help")
fi

args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 10 --runs "$runs" --export-json "$scratch/out.json" "${args[@]}" >/dev/null
[[ -n ${CELL_START_JSON:-} ]] && cp "$scratch/out.json" "$CELL_START_JSON"

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
