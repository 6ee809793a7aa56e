#!/usr/bin/env bash
# Private memory (USS = Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) of the only
# running supervisor of a cells-supervise binary, against the peer /bin/sleep, in the same run.
#
#   bench/supervise/uss.sh CELLCTL REPS SUPERVISE_BINARY...
#
# Each binary is measured REPS times, round-robin (CELLS_SUPERVISE_PROGRAM selects it; cellctl
# execs it as `cellctl supervise cell=... cid=...`). Each round: a low-profile busybox cell on a
# scratch --root, `cellctl supervise <cell> /bin/sleep 1000`, 2 s to settle (start-up log lines
# sent), read smaps_rollup, stop, destroy. Prints one line per round and a median/min/max summary.
# Root only. "The only supervisor": no other process may map the same binary, so copy it to a
# fresh path first if others might run it (the script runs its own copy under the scratch dir).
set -euo pipefail
ctl=$1; reps=$2; shift 2
scratch=$(mktemp -d /var/tmp/cells-uss.XXXXXX)
cleanup() {
  "$ctl" --root "$scratch/install" supervise --stop ussbench >/dev/null 2>&1 || true
  "$ctl" --root "$scratch/install" destroy ussbench >/dev/null 2>&1 || true
  [[ -n ${peer:-} ]] && kill "$peer" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
root=$scratch/cellroot
mkdir -p "$root"/{bin,proc,dev,tmp,var,run,etc}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sleep"

kib() {  # PID FIELD
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"
}
declare -A results
for ((i = 0; i < reps; i++)); do
  n=0
  for bin in "$@"; do
    n=$((n + 1))
    copy=$scratch/sup$n
    cp "$bin" "$copy"
    sync "$copy"  # written back: its page cache pages count as clean, as for an installed binary
    CELLS_SUPERVISE_PROGRAM=$copy "$ctl" --root "$scratch/install" create -l low -n ussbench "$root" >/dev/null
    CELLS_SUPERVISE_PROGRAM=$copy "$ctl" --root "$scratch/install" supervise ussbench /bin/sleep 1000 >/dev/null
    sleep 2
    read -r sup _ < "$scratch/install/run/cellmgr/supervise/ussbench.pid"
    /bin/sleep 1000 & peer=$!
    sleep 0.3
    sc=$(kib "$sup" Private_Clean); sd=$(kib "$sup" Private_Dirty)
    pc=$(kib "$peer" Private_Clean); pd=$(kib "$peer" Private_Dirty)
    kill "$peer"; wait "$peer" 2>/dev/null || true; peer=
    "$ctl" --root "$scratch/install" supervise --stop ussbench >/dev/null
    "$ctl" --root "$scratch/install" destroy ussbench >/dev/null
    rm -f "$copy"
    echo "round $i $(basename "$bin") ($(stat -c %s "$bin") bytes): supervisor USS $((sc + sd)) KiB (clean $sc, dirty $sd); /bin/sleep USS $((pc + pd)) KiB (clean $pc, dirty $pd)"
    results[$n]+="$((sc + sd)) "
    results[p$n]+="$((pc + pd)) "
  done
done
summary() {  # VALUES...
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %d [%d..%d]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
n=0
for bin in "$@"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  echo "$bin: supervisor USS KiB $(summary ${results[$n]}); /bin/sleep peer $(summary ${results[p$n]})"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
