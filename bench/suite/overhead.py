"""6. Enforcement overhead: bench/overhead's static workload (getpid loop, file-creation loop,
loopback TCP echo) inside a high cell (user namespace, seccomp, Landlock, capabilities, the
cgroup-BPF programs) against the same binary on the host, alternating which side goes first. The workload
times itself, so process start and cell entry are not in the numbers. The summary compares CPU
time per operation (user + system of the workload process), which waiting for a core on a
shared machine does not inflate; wall time per operation is kept in the raw results and the
row's detail. Goal: <= 3 % slower.

getpid also runs on the host under an allow-everything seccomp filter (bwrap --seccomp, no
other isolation): any attached filter sends every syscall through the kernel's seccomp entry
path, even one the filter cache allows without running the program, so that peer is the floor
a cell with a seccomp filter can reach (docs/PERFORMANCE.md, "Enforcement overhead")."""
import json
import os
import shlex
import shutil
import statistics
import struct

from common import BenchError, ScratchRoot, free_port, sh

WORKLOADS = ("getpid", "files", "tcp")


def run(ctx):
    reps = 3 if ctx.quick else 7  # per round of the suite
    n = {"getpid": 1_000_000, "files": 10_000, "tcp": 10_000}
    if not ctx.quick:
        n = {k: v * 3 for k, v in n.items()}
    binary = os.path.join(ctx.build, "bench/overhead/cells-bench-workload")
    sr = ScratchRoot(ctx, "overhead")
    cell_root = os.path.join(sr.dir, "cellroot")
    for d in ("bin", "tmp", "work"):
        os.makedirs(os.path.join(cell_root, d))
    os.chmod(os.path.join(cell_root, "tmp"), 0o1777)
    os.chmod(os.path.join(cell_root, "work"), 0o777)
    shutil.copy("/bin/busybox", os.path.join(cell_root, "bin/busybox"))
    shutil.copy(binary, os.path.join(cell_root, "bin/cells-bench-workload"))
    host_dir = os.path.join(sr.dir, "hostwork")
    os.makedirs(host_dir)
    cell_port, host_port = free_port(), free_port()
    created = False
    try:
        sr.cellctl("create", "-l", "high", "-r", str(cell_port), "-n", "overhead", cell_root)
        created = True

        def parse(out, mode):
            parts = out.split()
            if len(parts) != 3 or parts[0] != mode:
                raise BenchError(f"workload printed {out!r}")
            return float(parts[1]), float(parts[2])

        def host(mode):
            extra = {"getpid": [], "files": [host_dir], "tcp": [str(host_port)]}[mode]
            return parse(sh([binary, mode, str(n[mode]), *extra]).stdout, mode)

        def cell(mode):
            extra = {"getpid": [], "files": ["/tmp"], "tcp": [str(cell_port)]}[mode]
            return parse(sh([ctx.cellctl, "--root", sr.root, "exec", "overhead",
                             "/bin/cells-bench-workload", mode, str(n[mode]), *extra]).stdout, mode)

        # One instruction: SECCOMP_RET_ALLOW. Every syscall number is cached as allowed.
        allow_all = os.path.join(sr.dir, "allow-all.bpf")
        with open(allow_all, "wb") as f:
            f.write(struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000))

        def floor(mode):
            # The shell hands bwrap the program on fd 3.
            out = sh(f"bwrap --bind / / --seccomp 3 {shlex.quote(binary)} {mode} {n[mode]} "
                     f"3<{shlex.quote(allow_all)}").stdout
            return parse(out, mode)

        res = {m: {"cell": [], "host": []} for m in WORKLOADS}
        wall = {m: {"cell": [], "host": []} for m in WORKLOADS}
        res["getpid"]["seccomp"], wall["getpid"]["seccomp"] = [], []
        have_bwrap = shutil.which("bwrap") is not None
        for r in range(reps):
            for m in WORKLOADS:
                # Alternate which side goes first, so warm caches and load drift are shared.
                order = (("cell", cell), ("host", host)) if r % 2 == 0 else (("host", host), ("cell", cell))
                if m == "getpid" and have_bwrap:
                    order = order + (("seccomp", floor),)
                for side, fn in order:
                    w, c = fn(m)
                    wall[m][side].append(w)
                    res[m][side].append(c)
        with open(os.path.join(ctx.raw_dir, "overhead.json"), "w") as f:
            json.dump({"cpu_ns": res, "wall_ns": wall, "ops": n}, f, indent=1)
        titles = {"getpid": "getpid syscall", "files": "create+write+close+unlink a file",
                  "tcp": "loopback TCP echo round trip (64 B)"}
        for m in WORKLOADS:
            # The detail quotes every round so far, as the row does.
            wc, wh = (statistics.median(ctx.pool(("overhead", "wall", m, side), wall[m][side])[0])
                      for side in ("cell", "host"))
            detail = (f"{n[m]:,} ops per sample, {reps} per round; wall ns/op median "
                      f"{wc:,.0f} in the cell vs {wh:,.0f} on the host ({wc / wh:.2f}x)")
            floor_cpu = res[m].get("seccomp")
            if floor_cpu:
                cc, cf = (statistics.median(ctx.pool(("overhead", "cpu", m, side), res[m][side])[0])
                          for side in ("cell", "seccomp"))
                detail += (f"; host under an allow-all seccomp filter {cf:,.0f} CPU ns/op, "
                           f"the cell {cc / cf:.2f}x that floor")
            ctx.metric("overhead", m, f"enforcement overhead: {titles[m]}, high cell", "CPU ns/op",
                       res[m]["cell"], {"host": res[m]["host"]}, ratio_goal=1.03, detail=detail)
    finally:
        if created:
            sh([ctx.cellctl, "--root", sr.root, "destroy", "--force", "overhead"], check=False)
        sr.close()
