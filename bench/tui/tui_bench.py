#!/usr/bin/env python3
"""cellui benchmark (not a test): see run.sh and docs/PERFORMANCE.md "## cellui".

1. Redraw latency: a cell is stopped (and started) with `cellmgr cell stop|start`; from the
   moment that command returns, the time until cellui's screen (tmux capture-pane, polled every
   few ms) shows the new state. Peer, in the same run: the time one `cellmgr cell list` process
   takes to print the same fact, started at the same moment (what a CLI user waits for).
2. Idle CPU: cellui showing N running cells, nothing pressed, over WINDOW seconds, from
   /proc/<pid>/stat (utime+stime). Peers in the same window: the bridge (`cellmgr serve`) and
   the reference's refresh model, `cellmgr cell list` every 4 s (its CPU per second).

  tui_bench.py BUILD_DIR SCRATCH_PARENT REPS CELLS WINDOW_S
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

build, parent, reps, ncells, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
cellui = os.path.join(build, "tui", "cellui")
cellmgr_bin = os.path.join(build, "cli", "cellmgr", "cellmgr")
cellctl = os.path.join(build, "cli", "cellctl", "cellctl")
root = tempfile.mkdtemp(prefix="tui-bench-", dir=parent)
env = dict(os.environ, CELLS_CELLCTL=cellctl)
sock = os.path.join(root, "tmux.sock")
conf = os.path.join(root, "tmux.conf")
with open(conf, "w") as f:
    f.write("set -g default-terminal tmux-256color\nset -g status off\n")
TICK = os.sysconf("SC_CLK_TCK")


def run(*argv, check=True):
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, env=env)


def cellmgr(*args, check=True):
    return run(cellmgr_bin, "--root", root, *args, check=check)


def tmux(*args, check=True):
    return run("tmux", "-S", sock, *args, check=check)


def screen():
    return tmux("capture-pane", "-p").stdout


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def summary(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[0], xs[-1]


def wait_screen(text, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in screen():
            return time.monotonic()
    raise SystemExit("bench: screen never showed %r" % text)


try:
    cellmgr("system", "bootstrap")
    names = ["c%03d" % i for i in range(ncells)]
    for n in names:
        cellmgr("cell", "create", n, "--profile", "medium", "--cmd", "busybox sleep 100000",
                "--scope", "desired")
    for n in names:
        cellmgr("cell", "start", n)
    home = os.path.join(root, "home")
    os.mkdir(home)
    cmd = "exec env HOME=%s CELLS_CELLCTL=%s %s --cellmgr %s --root %s" % (home, cellctl, cellui, cellmgr_bin, root)
    tmux("-f", conf, "new-session", "-d", "-x", "120", "-y", "40", cmd)
    wait_screen("running: %d" % ncells)
    ui_pid = int(tmux("display", "-p", "#{pane_pid}").stdout)
    with open("/proc/%d/task/%d/children" % (ui_pid, ui_pid)) as f:
        bridge_pid = int(f.read().split()[0])

    # 1. Latency: alternate stop and start of c000; cellui first, then the peer, each rep.
    ui_ms, peer_ms, cmd_ms = [], [], []
    for r in range(reps):
        for verb, shown in (("stop", "running: %d" % (ncells - 1)), ("start", "running: %d" % ncells)):
            t0 = time.monotonic()
            cellmgr("cell", verb, "c000")
            t1 = time.monotonic()
            t2 = wait_screen(shown)
            t3 = time.monotonic()
            out = cellmgr("cell", "list", "-T", "-H", "-o", "name,running").stdout
            t4 = time.monotonic()
            want = "c000\t%d" % (1 if verb == "start" else 0)
            if want not in out:
                raise SystemExit("bench: cell list disagrees: %r" % out[:80])
            ui_ms.append((t2 - t1) * 1000)
            peer_ms.append((t4 - t3) * 1000)
            cmd_ms.append((t1 - t0) * 1000)
    m, lo, hi = summary(ui_ms)
    pm, plo, phi = summary(peer_ms)
    cm, clo, chi = summary(cmd_ms)
    print("latency  cellui redraw after the command returned: %.1f ms (%.1f-%.1f), n=%d" % (m, lo, hi, len(ui_ms)))
    print("latency  peer `cellmgr cell list` (one process):   %.1f ms (%.1f-%.1f)" % (pm, plo, phi))
    print("latency  ratio cellui/peer: %.2f" % (m / pm))
    print("latency  (the stop/start command itself: %.1f ms (%.1f-%.1f))" % (cm, clo, chi))

    # 2. Idle CPU over WINDOW seconds, in consecutive slices so a spread can be given.
    slices = 5
    per = window / slices
    ui_pct, bridge_pct, poll_pct = [], [], []
    for s in range(slices):
        a_ui, a_br = cpu_ticks(ui_pid), cpu_ticks(bridge_pid)
        t0 = time.monotonic()
        time.sleep(per)
        dt = time.monotonic() - t0
        ui_pct.append(100.0 * (cpu_ticks(ui_pid) - a_ui) / TICK / dt)
        bridge_pct.append(100.0 * (cpu_ticks(bridge_pid) - a_br) / TICK / dt)
    # The peer: what polling `cellmgr cell list` every 4 s costs (children's CPU per second).
    polls = max(2, int(window / 4))
    before = os.times()
    for _ in range(polls):
        cellmgr("cell", "list")
    after = os.times()
    poll_cpu = (after.children_user + after.children_system - before.children_user - before.children_system) / polls / 4 * 100
    um, ulo, uhi = summary(ui_pct)
    bm, blo, bhi = summary(bridge_pct)
    print("idle     cellui CPU with %d running cells: %.2f %% (%.2f-%.2f) over %.0f s" % (ncells, um, ulo, uhi, window))
    print("idle     bridge (cellmgr serve) CPU:        %.2f %% (%.2f-%.2f)" % (bm, blo, bhi))
    print("idle     peer `cellmgr cell list` every 4 s: %.2f %%" % poll_cpu)
    # cellui alone rounds to zero ticks; the honest comparison is cellui and its bridge together.
    print("idle     ratio (cellui + bridge)/peer: %.2f" % ((um + bm) / poll_cpu if poll_cpu else float("nan")))
finally:
    tmux("kill-server", check=False)
    time.sleep(0.5)
    subprocess.run([cellmgr_bin, "--root", root, "system", "reset", "--yes"], env=env, capture_output=True)
    with open("/proc/self/mounts") as m:
        if not any(l.split()[1].startswith(root + "/") for l in m):
            subprocess.run(["rm", "-rf", root])
