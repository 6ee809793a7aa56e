#!/usr/bin/env bash
# The journal's share of a real `cellmgr apply`: the same applies with the store (LMDB journal
# and records, <root>/var/lib/cellmgr/state) on the disk, as in production, and on a tmpfs,
# where its fsyncs cost nothing; everything else (cell roots, overlays, plans) stays on disk.
# The difference of the medians is what the journal's durability costs an apply.
#
#   bench/apply/journal_share.sh BUILD_DIR REPS      (root; scratch --root per run)
#
# Per run: bootstrap, declare one medium cell serving a page with busybox httpd and its plan,
# then time (1) the first apply (create the kernel cell, run the plan, start the service,
# healthcheck) and (2) an apply after editing the plan (stop, snapshot, re-run the plan,
# restart, healthcheck). The two store placements alternate which goes first.
set -euo pipefail
build=$1; reps=$2
cellmgr=$build/cli/cellmgr/cellmgr
out=$(mktemp /tmp/cells-journal-share.XXXXXX)
root=
cleanup() {
  [[ -z $root ]] && return
  "$cellmgr" --root "$root" system reset --yes >/dev/null 2>&1 || true
  umount "$root/var/lib/cellmgr/state" 2>/dev/null || true
  # The instance's BPF pins (system reset keeps them): unpinning the links detaches them.
  inst=$(python3 -c 'import sys
h=2166136261
for c in sys.argv[1].encode(): h=((h^c)*16777619)&0xffffffff
print("cells-%08x"%h)' "$root")
  rm -rf "/sys/fs/bpf/$inst"
  rm -rf "$root"
  root=
}
trap 'cleanup; rm -f "$out"' EXIT

now() { date +%s.%N; }
one_run() {  # MODE (disk|tmpfs)
  root=$(mktemp -d /var/tmp/cells-jshare.XXXXXX)
  if [[ $1 == tmpfs ]]; then
    mkdir -p "$root/var/lib/cellmgr/state"
    mount -t tmpfs -o mode=0700 tmpfs "$root/var/lib/cellmgr/state"
  fi
  "$cellmgr" --root "$root" system bootstrap >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$cellmgr" --root "$root" cell create s --autostart YES --profile medium --reserved-ports "$port" \
    --cmd "busybox httpd -f -p $port -h /var/www/s" --healthcheck "test -f /var/www/s/ok" \
    --scope desired >/dev/null
  printf 'FILE_BEGIN /var/www/s/index.html\nHello\nFILE_END\nFILE_BEGIN /var/www/s/ok\nyes\nFILE_END\n' \
    >"$root/etc/cellmgr/s.apply"
  t0=$(now); "$cellmgr" --root "$root" apply >/dev/null; t1=$(now)
  sed -i 's/Hello/Hello again/' "$root/etc/cellmgr/s.apply"
  t2=$(now); "$cellmgr" --root "$root" apply >/dev/null; t3=$(now)
  curl -fsS "http://127.0.0.1:$port/" | grep -q "Hello again"
  entries=$("$cellmgr" --root "$root" journal list 2>/dev/null | wc -l || echo 0)
  echo "$1 $(echo "$t1 - $t0" | bc) $(echo "$t3 - $t2" | bc) $entries" >>"$out"
  cleanup
}
for ((i = 0; i < reps; i++)); do
  if ((i % 2 == 0)); then one_run disk; one_run tmpfs; else one_run tmpfs; one_run disk; fi
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def col(mode, k): return [float(r[k]) for r in rows if r[0] == mode]
for k, what in ((1, "first apply (create, plan, start, healthcheck)"),
                (2, "apply after a plan edit (stop, snapshot, plan, restart, healthcheck)")):
    d, t = col("disk", k), col("tmpfs", k)
    md, mt = statistics.median(d), statistics.median(t)
    print(f"{what}: store on disk {md*1000:.0f} ms [{min(d)*1000:.0f}..{max(d)*1000:.0f}], "
          f"on tmpfs {mt*1000:.0f} ms [{min(t)*1000:.0f}..{max(t)*1000:.0f}], "
          f"journal share {(md-mt)/md*100:.0f}% ({(md-mt)*1000:.0f} ms)")
print("journal lines after both applies (cellmgr journal list):",
      sorted(set(r[3] for r in rows)))
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
