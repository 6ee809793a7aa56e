"""4. Journal: durable one-entry operations per second and verify time (bench/store's
journal_bench) against write(2) + fsync(2) of an equally sized record on the same filesystem."""
import re
import statistics
import tempfile
import shutil
import os

from common import BenchError, sh


def run(ctx):
    reps, commits, entries = (3, 50, 100_000) if ctx.quick else (5, 200, 1_000_000)  # per round
    d = tempfile.mkdtemp(prefix="cells-bench-journal-", dir="/var/tmp")
    try:
        r = sh([os.path.join(ctx.build, "bench/store/journal_bench"), d, str(reps), str(commits),
                str(entries)], timeout=1800)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    with open(os.path.join(ctx.raw_dir, "journal.txt"), "w") as f:
        f.write(r.stdout)
    j = {1: [], 100: []}
    peer = {1: [], 100: []}
    verify = []
    for m in re.finditer(r"^sample batch=(\d+) journal=([\d.]+) peer=([\d.]+)$", r.stdout, re.M):
        b = int(m.group(1))
        j[b].append(float(m.group(2)))
        peer[b].append(float(m.group(3)))
    verify = [float(x) for x in re.findall(r"^sample verify=([\d.]+)$", r.stdout, re.M)]
    if len(j[1]) != reps or not verify:
        raise BenchError("journal_bench printed no samples (is it the current build?)")
    ctx.metric("journal", "ops", "journal: durable 1-entry operations/s", "ops/s", j[1],
               {"write+fsync": peer[1]}, better="higher",
               detail="one LMDB write txn per op, fsynced; peer appends a same-size record + fsync")
    ctx.metric("journal", "batch", "journal: entries/s in batches of 100", "entries/s", j[100],
               {"write+fsync": peer[100]}, better="higher")
    ctx.metric("journal", "verify", f"journal verify, {entries:,} entries", "s", verify, {},
               detail=f"{entries / statistics.median(ctx.pool(('journal', 'verify'), verify)[0]):,.0f} entries/s "
                      "(SHA-256 of every entry, chain, head)")
