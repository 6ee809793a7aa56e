"""3. Scaling curves: `cellmgr cell list`, `cellctl stats -P`, a no-op `cellmgr apply` and a
one-cell-change apply with N RUNNING cells (autostart, medium profile, `sleep`), N = 1, 10, 100,
1,000 (--quick: 1, 10, 100). Peers in the same hyperfine run: `cat` of the N manifests (what
any reader of the desired state pays), `ps -e` (what a scrape without a snapshot pays at the
least), and the list as the peer of a no-op apply. The one-cell change rewrites one manifest's
command before every run (hyperfine --prepare) so every apply restarts exactly one cell.

The one-cell change is reported twice: whole, and as its cost over the no-op apply at the same
N, which is the part that must not grow with N. That cost is measured in interleaved pairs: a
no-op apply, then a one-cell change apply, back to back, and the difference of the two. (A
block of no-op runs and a later block of change runs drift apart on a shared machine by as much
as the cost itself: session 7 saw no-op medians of 61 and 74 ms in the first rounds of two runs
of the same code.)

Growth is described by the slope of log(median) over log(N) between N = 10 and the largest N
(at N = 1 the fixed cost of a process start dominates): 1 = linear, 0 = flat."""
import json
import math
import os
import statistics
import time

import memory
from common import ScratchRoot, hyperfine, timed

MANIFEST = """name = "{name}"
command = "sleep {arg}"
autostart = true
profile = "medium"
reserved_ports = []
depends_on = []
"""


def write_manifests(etc, n):
    for i in range(n):
        with open(os.path.join(etc, f"c{i}.cell"), "w") as f:
            f.write(MANIFEST.format(name=f"c{i}", arg=100000))


def toggle_command(path):
    """Flips the manifest's `sleep` argument, so that the next apply restarts exactly that cell."""
    with open(path) as f:
        text = f.read()
    if "sleep 100000" in text:
        text = text.replace("100000", "100001")
    else:
        text = text.replace("100001", "100000")
    with open(path, "w") as f:
        f.write(text)


def paired_change_cost(cmd, manifest, pairs):
    """PAIRS times: a no-op apply, then one manifest rewritten and a one-cell change apply, timed
    back to back. Returns the differences (ms). Both applies of a pair see the same machine
    state, so drift over the run cancels out of each difference."""
    out = []
    for _ in range(pairs):
        noop = timed(cmd)
        toggle_command(manifest)
        out.append((timed(cmd) - noop) * 1000)
    return out


def slope(points):
    """Least-squares slope of log(y) over log(x)."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def run(ctx):
    sizes = [1, 10, 100] if ctx.quick else [1, 10, 100, 1000]
    # Per round: run.py repeats the benchmark in rounds spread over the run.
    runs = 5 if ctx.quick else 10
    change_runs = 5 if ctx.quick else 10
    names = ["cell list", "cat manifests", "stats -P", "ps -e", "noop apply", "one-cell change apply"]
    data = {k: {} for k in names}
    cpu_data = {k: {} for k in names}
    marginal = {}  # n -> [change - no-op, ms], from interleaved pairs
    start_s = {}
    for n in sizes:
        ctx.log(f"  -- {n} running cells")
        sr = ScratchRoot(ctx, f"scale{n}")
        try:
            sr.bootstrap()
            write_manifests(sr.etc, n)
            used_before = memory.used_kib()
            # Starting N cells is one apply: recorded as a curve of its own (one sample per N).
            start_s[n] = timed([ctx.cellmgr, "--root", sr.root, "apply"], timeout=3600)
            ctx.log(f"  apply starting {n} cells: {start_s[n]:.1f} s")
            if n == 100:
                memory.record(ctx, sr.root, n, used_before)
            cpu = {}
            res = hyperfine([
                ("cell list", sr.cellmgr_cmd("cell", "list")),
                ("cat manifests", f"/bin/sh -c 'cat {sr.etc}/*.cell'"),
                ("stats -P", sr.cellctl_cmd("stats", "-P")),
                ("ps -e", "ps -e -o pid,vsz,rss,time"),
                ("noop apply", sr.cellmgr_cmd("apply")),
            ], runs, 2, os.path.join(ctx.raw_dir, f"scaling-{n}.json"), cpu=cpu)
            f0 = os.path.join(sr.etc, "c0.cell")
            toggle = (f"/bin/sh -c 'if grep -q \"sleep 100000\" {f0}; then "
                      f"sed -i s/100000/100001/ {f0}; else sed -i s/100001/100000/ {f0}; fi'")
            res.update(hyperfine([("one-cell change apply", sr.cellmgr_cmd("apply"))],
                                 change_runs, 1, os.path.join(ctx.raw_dir, f"scaling-change-{n}.json"),
                                 prepare=toggle, cpu=cpu))
            for k in names:
                data[k][n] = [t * 1000 for t in res[k]]
                cpu_data[k][n] = [t * 1000 for t in cpu[k]]
            marginal[n] = paired_change_cost([ctx.cellmgr, "--root", sr.root, "apply"], f0,
                                             change_runs)
            with open(os.path.join(ctx.raw_dir, f"scaling-pairs-{n}.json"), "w") as f:
                json.dump({"change_minus_noop_ms": marginal[n]}, f)
        finally:
            sr.close()
    top = sizes[-1]
    # The notes and the growth describe every round so far; the rows and plots pool by themselves.
    med = {k: {n: statistics.median(ctx.pool(("scaling", "wall", k, n), v)[0])
               for n, v in data[k].items()} for k in names}
    cmed = {k: {n: statistics.median(ctx.pool(("scaling", "cpu", k, n), v)[0])
                for n, v in cpu_data[k].items()} for k in names}
    growth = {k: slope([(n, med[k][n]) for n in sizes if n >= 10]) for k in names}
    cpu_growth = {k: slope([(n, max(cmed[k][n], 0.01)) for n in sizes if n >= 10]) for k in names}
    for k in names:
        ctx.note("scaling", f"scaling: {k}: wall {med[k][sizes[0]]:.1f} ms at {sizes[0]} cells, "
                 f"{med[k][top]:.1f} ms at {top} (N^{growth[k]:.2f} from 10); CPU "
                 f"{cmed[k][sizes[0]]:.1f} -> {cmed[k][top]:.1f} ms (N^{cpu_growth[k]:.2f})")
    ctx.metric("scaling", "list", f"cellmgr cell list, {top} running cells", "ms",
               data["cell list"][top], {"cat manifests": data["cat manifests"][top]}, goal=50,
               detail=f"growth N^{growth['cell list']:.2f}")
    ctx.metric("scaling", "stats", f"cellctl stats -P, {top} running cells", "ms",
               data["stats -P"][top], {"ps -e": data["ps -e"][top]}, goal=10,
               detail=f"growth N^{growth['stats -P']:.2f}")
    ctx.metric("scaling", "noop-apply", f"no-op apply, {top} running cells", "ms",
               data["noop apply"][top], {"cell list": data["cell list"][top]}, goal=100,
               detail=f"growth N^{growth['noop apply']:.2f}")
    ctx.metric("scaling", "change-apply", f"one-cell change apply, {top} running cells", "ms",
               data["one-cell change apply"][top], {"no-op apply": data["noop apply"][top]},
               detail=f"growth N^{growth['one-cell change apply']:.2f}; the scan of all N cells "
                      "is the no-op apply's, which grows linearly at most")
    # What the change itself costs, from the interleaved pairs (the apply compares every
    # declared cell either way). This part must not grow with N.
    mmed = {n: statistics.median(ctx.pool(("scaling", "marginal", n), v)[0])
            for n, v in marginal.items()}
    ctx.metric("scaling", "change-marginal",
               f"one-cell change, cost over the no-op apply, {top} vs 1 running cells", "ms",
               marginal[top], {"same change, 1 cell": marginal[sizes[0]]}, ratio_goal=1.5,
               detail="change apply - the no-op apply run just before it, in interleaved pairs; "
                      + ", ".join(f"{mmed[n]:.1f} ms at {n}" for n in sizes) + "; must not grow with N")
    lines = {k: [(n, data[k][n]) for n in sizes] for k in names}
    ctx.curve("scaling", "Control plane cost vs running cells (ms, median and p10..p90)",
              "running cells", "ms", lines, logx=True)
    ctx.curve("scaling_cpu", "Control plane CPU time (user+system, mean per run) vs running cells (ms)",
              "running cells", "ms CPU", {k: [(n, cpu_data[k][n]) for n in sizes] for k in names},
              logx=True)
    ctx.curve("scaling_start", "One apply starting N cells (s, one sample per N)", "cells", "s",
              {"apply (starts N cells)": [(n, [start_s[n]]) for n in sizes]}, logx=True)
    ctx.growth = {"wall": growth, "cpu": cpu_growth}
