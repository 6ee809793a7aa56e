"""5. Backup and restore throughput (bench/backup's backup_bench in suite mode) at 10 MiB,
100 MiB and 1 GiB (--quick: 10 and 100 MiB) against tar|zstd, restic and borg, all on the same
generated tree in the same run. Throughput = MiB of file data / wall seconds."""
import os

from common import sh

BACKUP_PEERS = ["tar|zstd", "tar|zstd+sync", "restic", "borg"]
RESTORE_PEERS = ["zstd|tar", "zstd|tar+sync+swap", "restic", "borg"]


def run(ctx):
    sizes, reps = ([10, 100], 2) if ctx.quick else ([10, 100, 1024], 2)  # per round
    per = {}
    for mib in sizes:
        raw = os.path.join(ctx.raw_dir, f"backup-{mib}.tsv")
        r = sh([os.path.join(ctx.build, "bench/backup/backup_bench"),
                f"/var/tmp/cells-bench-backup-{os.getpid()}", str(mib), str(reps), raw],
               timeout=3600)
        ctx.log(r.stdout.rstrip())
        series = {}
        with open(raw) as f:
            for line in f:
                name, secs, data = line.rstrip("\n").split("\t")
                series.setdefault(name, []).append(float(data) / float(secs))
        per[mib] = series
    top = sizes[-1]
    label = f"{top} MiB" if top < 1024 else f"{top // 1024} GiB"
    s = per[top]
    ctx.metric("backup", "backup", f"backup throughput, {label} tree", "MiB/s", s["cells-backup"],
               {p: s.get(p + "-backup", []) for p in BACKUP_PEERS}, better="higher",
               ratio_goal=1.0, detail="cells: journaled, zstd -3, fsync + rename")
    ctx.metric("backup", "restore", f"restore throughput, {label} tree", "MiB/s", s["cells-restore"],
               {p: s.get(p + "-restore", []) for p in RESTORE_PEERS}, better="higher",
               ratio_goal=1.0, detail="cells: journaled, staged, verified, syncfs, swap, old tree removed")
    for kind, peers in (("backup", BACKUP_PEERS), ("restore", RESTORE_PEERS)):
        lines = {"cells": [(m, per[m][f"cells-{kind}"]) for m in sizes]}
        for p in peers:
            if per[sizes[0]].get(f"{p}-{kind}"):
                lines[p] = [(m, per[m][f"{p}-{kind}"]) for m in sizes]
        ctx.curve(f"{kind}_throughput", f"{kind.capitalize()} throughput (MiB/s, median and p10..p90)",
                  "tree size (MiB)", "MiB/s", lines, logx=True)
