"""7. Memory: supervisor USS, and per-cell host memory with 100 idle cells, against 100 idle
bwrap sandboxes (the same `sleep` in each). Called by scaling.py while its 100-cell instance is
running, so the cells are started once for both benchmarks.

Per-cell memory is measured two ways, because other engineers' builds move the host's totals:
  pss   = the summed PSS of every process that belongs to the cells (supervisor, init, service)
          divided by the number of cells: user memory, shared pages split fairly;
  host  = the growth of MemTotal - MemAvailable from before the start to after it, divided by
          the number of cells: includes kernel memory (cgroups, namespaces, mounts, page tables)
          but also whatever else changed on the host meanwhile."""
import os
import signal
import subprocess
import time

from common import BenchError, instance_name, mem_kib, smaps_rollup


def used_kib():
    return mem_kib("MemTotal") - mem_kib("MemAvailable")


def children_map():
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def with_descendants(pids):
    kids = children_map()
    out, todo = set(), list(pids)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo.extend(kids.get(p, []))
    return out


def instance_pids(root):
    """Processes started for this --root: the supervisors carry CELLS_ROOT=<root> in their
    environment (as tests/controlplane's harness finds them); each cell's init and service sit
    in the instance's cgroup2 subtree /<instance>/<cell> (the init is re-parented to PID 1, so
    it is not a descendant of its supervisor)."""
    tops = []
    needle = f"CELLS_ROOT={root}\0".encode()
    prefix = f"0::/{instance_name(root)}/"
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                mine = needle in f.read()
            if not mine:
                with open(f"/proc/{pid}/cgroup") as f:
                    mine = any(line.startswith(prefix) for line in f)
        except OSError:
            continue
        if mine:
            tops.append(int(pid))
    return with_descendants(tops)


def title(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            total += smaps_rollup(p).get("Pss", 0)
        except OSError:
            pass  # exited meanwhile
    return total


def settle():
    time.sleep(3)


def measure_cells(ctx, root, n, used_before):
    settle()
    pids = instance_pids(root)
    if len(pids) < 2 * n:
        raise BenchError(f"found {len(pids)} processes for {n} running cells under {root}")
    pss = pss_kib(pids) / n
    host = (used_kib() - used_before) / n
    uss = []
    for p in pids:
        if title(p).startswith("cellctl supervise"):
            s = smaps_rollup(p)
            uss.append(s.get("Private_Clean", 0) + s.get("Private_Dirty", 0))
    if len(uss) != n:
        raise BenchError(f"found {len(uss)} supervisors for {n} cells")
    return {"pss": pss, "host": host, "uss": uss, "procs": len(pids)}


def measure_bwrap(ctx, n):
    before = used_kib()
    procs = [subprocess.Popen(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--share-net",
                               "--die-with-parent", "sleep", "100000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True) for _ in range(n)]
    try:
        settle()
        pids = with_descendants([p.pid for p in procs])
        return {"pss": pss_kib(pids) / n, "host": (used_kib() - before) / n, "procs": len(pids)}
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
        for p in procs:
            p.wait()


def record(ctx, root, n, used_before):
    c = measure_cells(ctx, root, n, used_before)
    b = measure_bwrap(ctx, n)
    ctx.log(f"  {n} cells: {c['procs']} processes; {n} bwrap: {b['procs']} processes")
    ctx.metric("memory", "cell-pss", f"memory per idle cell ({n} cells), PSS of its processes",
               "KiB", [c["pss"]], {"bwrap": [b["pss"]]}, better="lower",
               detail=f"supervisor + init + service (sleep), shared pages split; the host's "
                      f"MemTotal-MemAvailable grew by {c['host']:,.0f} KiB per cell (bwrap "
                      f"{b['host']:,.0f} KiB), which includes kernel memory and anything else "
                      f"that changed on the host meanwhile")
    uss = sorted(c["uss"])
    ctx.metric("memory", "supervisor-uss", f"supervisor USS, each of {n} supervisors", "KiB",
               uss, {}, goal=1024, detail=f"largest (the one paging in the static text) {uss[-1]} KiB")
