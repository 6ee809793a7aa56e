#!/usr/bin/env python3
"""What N idle cells cost the host they run on, and what that does to a small apply there.

Run as root:  bench/telemetry/host_load.py [--cellmgr PATH] [--cells N] [--pairs P]

1. A 1-cell root on the otherwise idle host: the one-cell change's cost over a no-op apply
   timed just before it, in P interleaved pairs (the suite's scaling row, decision 76).
2. An N-cell root (`sleep`, profile medium) is started next to it, and after it settles:
   - the busy share of all CPUs from /proc/stat, three 5 s windows;
   - the CPU time of that root's cells-sampler per one-second round (utime + stime over 10 s);
3. the same pairs on the 1-cell root again, now on a host that carries N cells.
Both roots are reset at the end. Compare step 3 with step 1: what running cells add to an
apply that has nothing to do with them (DECISIONS 78).
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

MANIFEST = ('name = "c{i}"\ncommand = "sleep 100000"\nautostart = true\nprofile = "medium"\n'
            'reserved_ports = []\ndepends_on = []\n')


def default_cellmgr():
    for build in ("build-bench", "build-perf", "build"):
        p = os.path.join(REPO, build, "cli/cellmgr/cellmgr")
        if os.access(p, os.X_OK):
            return p
    raise SystemExit("no cellmgr built; pass --cellmgr")


def cellmgr(bin_, root, *args):
    subprocess.run([bin_, "--root", root, *args], check=True, stdout=subprocess.DEVNULL)


def make_root(bin_, n):
    root = tempfile.mkdtemp(prefix="cells-bench-hostload-", dir="/var/tmp")
    cellmgr(bin_, root, "system", "bootstrap")
    for i in range(n):
        with open(f"{root}/etc/cellmgr/c{i}.cell", "w") as f:
            f.write(MANIFEST.format(i=i))
    cellmgr(bin_, root, "apply")
    return root


def pairs(bin_, root, count):
    """Medians of (no-op apply, change - no-op) in ms over COUNT interleaved pairs."""
    path = f"{root}/etc/cellmgr/c0.cell"

    def apply_ms():
        t = time.perf_counter()
        cellmgr(bin_, root, "apply")
        return (time.perf_counter() - t) * 1000

    def toggle():
        text = open(path).read()
        a, b = "sleep 100000", "sleep 100001"
        open(path, "w").write(text.replace(a, b) if a in text else text.replace(b, a))

    apply_ms()
    noops, deltas = [], []
    for _ in range(count):
        noop = apply_ms()
        toggle()
        deltas.append(apply_ms() - noop)
        noops.append(noop)
    return noops, deltas


def busy_share(seconds):
    def read():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return sum(f), f[3] + f[4]
    t1, i1 = read()
    time.sleep(seconds)
    t2, i2 = read()
    return 100.0 * ((t2 - t1) - (i2 - i1)) / (t2 - t1)


def sampler_pid(root):
    want = b"cells-sampler\0--root\0" + root.encode() + b"\0"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/cmdline", "rb").read() == want:
                return int(pid)
        except OSError:
            pass
    return None


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (1/100 s)


def spread(xs):
    xs = sorted(xs)
    return f"{statistics.median(xs):.1f} [{xs[len(xs) // 10]:.1f}..{xs[len(xs) * 9 // 10]:.1f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cellmgr", default=None)
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=15)
    args = ap.parse_args()
    bin_ = args.cellmgr or default_cellmgr()
    small = big = None
    try:
        small = make_root(bin_, 1)
        noop_empty, change_empty = pairs(bin_, small, args.pairs)
        idle_empty = [busy_share(5) for _ in range(3)]
        t = time.perf_counter()
        big = make_root(bin_, args.cells)
        start_s = time.perf_counter() - t
        time.sleep(5)
        idle_loaded = [busy_share(5) for _ in range(3)]
        pid = sampler_pid(big)
        round_ms = None
        if pid:
            before = cpu_ticks(pid)
            time.sleep(10)
            # 10 rounds in 10 s; a tick is 10 ms, so ticks / 10 rounds * 10 ms = ticks.
            round_ms = float(cpu_ticks(pid) - before)
        noop_loaded, change_loaded = pairs(bin_, small, args.pairs)
        print(f"cellmgr: {bin_}; {args.cells} cells started in {start_s:.1f} s; "
              f"{args.pairs} pairs per row; median [p10..p90]")
        print("| | empty host | host with %d idle cells |" % args.cells)
        print("|---|---|---|")
        print(f"| busy share of all CPUs, % | {spread(idle_empty)} | {spread(idle_loaded)} |")
        print(f"| 1-cell root: no-op apply, ms | {spread(noop_empty)} | {spread(noop_loaded)} |")
        print(f"| 1-cell root: change over no-op, ms | {spread(change_empty)} | "
              f"{spread(change_loaded)} |")
        print(f"| sampler CPU per round, ms | - | "
              f"{'%.0f' % round_ms if round_ms is not None else 'no sampler found'} |")
    finally:
        for root in (big, small):
            if root:
                subprocess.run([bin_, "--root", root, "system", "reset", "--yes"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
